/*
 * tap.h — the one TAP reporter the stand-in drivers share (network and
 * SecureTransport): a numbered "ok"/"not ok" line per check, flushed at once
 * so a crash still leaves every earlier result in the output.
 */
#ifndef OSTLS_STANDIN_TAP_H
#define OSTLS_STANDIN_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tests, failed;

static void ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", cond ? "" : "not ", ++tests);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!cond)
        failed++;
    fflush(stdout);
}

#endif
