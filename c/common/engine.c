/*
 * engine.c — choosing the engine at tls_init, and the library-wide info that
 * says what was chosen and why. The platform's list (tls_engines[]) is the
 * only place that knows which engines exist; this file only walks it.
 */
#define _POSIX_C_SOURCE 200809L
#include "engine.h"
#include "../tls_client.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct tls_engine *tls_engine;

/* What happened to each engine of the list, for tls_info "engines". Written
 * only inside tls_init's once-guard, read after it. */
#define ENGINES_MAX 16
static struct {
    const char *status;      /* NULL: not tried */
    char why[512];
} outcome[ENGINES_MAX];

/* The engine the library-wide keys describe: the chosen one, else the one
 * OSTLS_BACKEND named, else the first of the list (so a failed tls_init
 * still says what was tried). */
static const struct tls_engine *described;

static size_t engine_count(void)
{
    size_t n = 0;
    while (tls_engines[n] && n < ENGINES_MAX)
        n++;
    return n;
}

static void names_of_build(char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < engine_count(); i++)
        text_append(buf, cap, "%s%s", i ? ", " : "", tls_engines[i]->name);
}

static const char *try_engine(size_t i, char *msg, size_t msgcap)
{
    const char *code = tls_engines[i]->global_init(msg, msgcap);
    outcome[i].status = code ? "failed" : "loaded";
    if (code)
        snprintf(outcome[i].why, sizeof outcome[i].why, "%s: %s", code, msg);
    return code;
}

/* OSTLS_BACKEND, else the platform's older name for it; *var says which. */
static const char *requested(const char **var)
{
    const char *v = getenv("OSTLS_BACKEND");
    *var = "OSTLS_BACKEND";
    if ((!v || !*v) && tls_engine_env_alias) {
        v = getenv(tls_engine_env_alias);
        *var = tls_engine_env_alias;
    }
    return v && *v ? v : NULL;
}

static const char *select_named(const char *var, const char *name, char *msg, size_t msgcap)
{
    char names[256];
    names_of_build(names, sizeof names);
    for (size_t i = 0; i < engine_count(); i++) {
        if (strcmp(tls_engines[i]->name, name) != 0)
            continue;
        described = tls_engines[i];
        char why[1024];
        const char *code = try_engine(i, why, sizeof why);
        if (!code) {
            tls_engine = tls_engines[i];
            snprintf(outcome[i].why, sizeof outcome[i].why, "chosen by %s", var);
            return NULL;
        }
        snprintf(msg, msgcap, "%s=%s: the %s engine did not load: %s (engines in this build: %s)",
                 var, name, name, why, names);
        return code;
    }
    snprintf(msg, msgcap, "%s=%.64s names no engine in this build; nothing was tried (engines in this build: %s)",
             var, name, names);
    return TLS_LIBRARY_NOT_FOUND;
}

static const char *select_first(char *msg, size_t msgcap)
{
    const char *first_code = NULL;
    int others = 0;   /* engines after the first that were tried and failed */
    described = tls_engines[0];
    for (size_t i = 0; i < engine_count(); i++) {
        if (tls_engines[i]->by_name_only) {
            outcome[i].status = "not tried";
            snprintf(outcome[i].why, sizeof outcome[i].why, "used only when OSTLS_BACKEND=%s",
                     tls_engines[i]->name);
            continue;
        }
        char why[1024];
        const char *code = try_engine(i, why, sizeof why);
        if (!code) {
            tls_engine = tls_engines[i];
            snprintf(outcome[i].why, sizeof outcome[i].why, "%s",
                     i ? "the first engine of this build's list that loaded" : "the first engine of this build's list");
            return NULL;
        }
        /* The first engine's words lead: it is the platform's usual one. */
        if (!first_code) {
            first_code = code;
            snprintf(msg, msgcap, "%s", why);
        } else {
            text_append(msg, msgcap, "%s%s: %s", !others++ ? " (no other engine loaded either: " : "; ",
                        tls_engines[i]->name, why);
        }
    }
    if (others)
        text_append(msg, msgcap, ")");
    if (!first_code)
        snprintf(msg, msgcap, "this build has no TLS engine");
    return first_code ? first_code : TLS_LIBRARY_NOT_FOUND;
}

const char *engine_select(char *msg, size_t msgcap)
{
    const char *var;
    const char *name = requested(&var);
    msg[0] = '\0';
    return name ? select_named(var, name, msg, msgcap) : select_first(msg, msgcap);
}

/* One line per engine: name TAB status TAB why ("loaded", "failed" or "not
 * tried"; only an engine that was tried has a why). */
static void engines_text(char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < engine_count(); i++)
        text_append(buf, cap, "%s%s\t%s\t%s", i ? "\n" : "", tls_engines[i]->name,
                    outcome[i].status ? outcome[i].status : "not tried",
                    outcome[i].status ? outcome[i].why : "");
}

int engine_library_info(const char *key, char *buf, size_t cap, const char **value)
{
    const struct tls_engine *e = tls_engine ? tls_engine : described;
    if (strcmp(key, "backend") == 0) {
        *value = e ? e->name : "";
        return 1;
    }
    if (strcmp(key, "engines") == 0) {
        engines_text(buf, cap);
        *value = buf;
        return 1;
    }
    if (!e && strcmp(key, "install_hint") == 0) {
        /* OSTLS_BACKEND named no engine: no library to install, a name to fix. */
        char names[256];
        const char *var;
        names_of_build(names, sizeof names);
        requested(&var);
        snprintf(buf, cap, "*\t%s names no engine of this build: unset it, or set it to one of %s", var, names);
        *value = buf;
        return 1;
    }
    if (!e)
        e = tls_engines[0];
    return e && e->library_info(key, buf, cap, value);
}
