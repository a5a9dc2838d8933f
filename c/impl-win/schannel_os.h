/*
 * schannel_os.h — what the Schannel engine needs to know about the Windows it
 * runs on, asked once in global_init (schannel_os.c). Its own file so that the
 * SSPI stand-in (test/sspi/) can link a scripted Windows 11 in its place.
 */
#ifndef OSTLS_SCHANNEL_OS_H
#define OSTLS_SCHANNEL_OS_H

#include <windows.h>

struct sch_os {
    DWORD major, minor, build;   /* RtlGetVersion; build 0 when unknown */
    int wine;                    /* running under Wine (ntdll exports wine_get_version) */
};

void sch_os_probe(struct sch_os *os);

#endif
