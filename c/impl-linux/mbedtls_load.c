/*
 * mbedtls_load.c — find and bind Mbed TLS 2.28 at run time, and read the
 * system trust store for it (Mbed TLS has none of its own).
 *
 * Only the SONAMEs the engine was compiled for are accepted: Mbed TLS's
 * structs are allocated by the caller, so their size is ABI, and 2.28's
 * differ from 3.x's. Node exports no mbedtls_* symbols, so nothing of Node's
 * own OpenSSL can be bound in its place (RTLD_LOCAL keeps ours to ourselves).
 */
#define _GNU_SOURCE
#include "mbedtls_have.h"
#if OSTLS_HAVE_MBEDTLS   /* else mbedtls_absent.c stands in */
#include "mbedtls_api.h"
#include "trust_paths.h"

#include "../common/strbuf.h"

#include <dirent.h>
#include <dlfcn.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct mbed_api mb;
char mbed_library_path[PATH_MAX];
char mbed_library_tried[256];
char mbed_version[64];
char mbed_trust_text[1024];
mbedtls_x509_crt mbed_system_ca;

/* Other libmbedtls SONAMEs on the machine, for the "wrong version" message. */
static void find_other_sonames(char *out, size_t cap)
{
    static const char *const patterns[] = {
        "/usr/lib/*/libmbedtls.so.*", "/usr/lib/libmbedtls.so.*", "/usr/lib64/libmbedtls.so.*",
        "/lib/*/libmbedtls.so.*", "/usr/local/lib/libmbedtls.so.*", "/usr/local/lib64/libmbedtls.so.*"
    };
    out[0] = '\0';
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        glob_t g;
        if (glob(patterns[i], 0, NULL, &g) != 0)
            continue;
        for (size_t j = 0; j < g.gl_pathc; j++) {
            const char *base = strrchr(g.gl_pathv[j], '/') + 1;
            const char *num = base + strlen("libmbedtls.so.");
            if (strspn(num, "0123456789") == strlen(num) && strcmp(base, MBED_SONAME_TLS) != 0 &&
                !strstr(out, base))   /* another SONAME */
                text_append(out, cap, "%s%s", out[0] ? ", " : "", g.gl_pathv[j]);
        }
        globfree(&g);
    }
}

int mbed_load(char *msg, size_t msgcap)
{
    const char *override = getenv("OSTLS_LIBMBEDTLS");
    const char *name = (override && *override) ? override : MBED_SONAME_TLS;
    snprintf(mbed_library_tried, sizeof mbed_library_tried, "%s", name);
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        char others[512];
        find_other_sonames(others, sizeof others);
        snprintf(msg, msgcap, "could not load Mbed TLS 2.28 (%s, with %s and %s): %s", name,
                 MBED_SONAME_X509, MBED_SONAME_CRYPTO, why ? why : "not found");
        if (others[0])
            text_append(msg, msgcap, "; installed is another Mbed TLS version (%s), whose structures "
                        "differ: this engine is built for %s", others, MBED_SONAME_TLS);
        return 0;
    }
    /* Every name resolves through libmbedtls's own dependency tree. */
#define MBED_BIND(fn)                                                             \
    if (!(mb.fn = (__typeof__(mb.fn))dlsym(h, "mbedtls_" #fn))) {                 \
        snprintf(msg, msgcap, "%s: no symbol mbedtls_%s", name, #fn);             \
        goto fail;                                                                \
    }
    MBED_FUNCTIONS(MBED_BIND)
#undef MBED_BIND
    unsigned v = mb.version_get_number();
    if ((v >> 16) != (MBEDTLS_VERSION_NUMBER >> 16)) {
        snprintf(msg, msgcap, "%s is Mbed TLS %u.%u.%u; this engine is built for Mbed TLS %d.%d",
                 name, v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, MBEDTLS_VERSION_MAJOR,
                 MBEDTLS_VERSION_MINOR);
        goto fail;
    }
    mb.version_get_string_full(mbed_version);   /* "mbed TLS 2.28.3": at most 18 bytes */
    struct link_map *map = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name) {
        char real[PATH_MAX];
        snprintf(mbed_library_path, sizeof mbed_library_path, "%s",
                 realpath(map->l_name, real) ? real : map->l_name);
    }
    return 1;   /* never dlclose'd: connections use it until exit */
fail:
    dlclose(h);
    memset(&mb, 0, sizeof mb);
    return 0;
}

/* -------------------------------------------------------------- trust */

static int count_anchors(void)
{
    int n = 0;
    for (mbedtls_x509_crt *c = &mbed_system_ca; c && c->raw.p; c = c->next)
        n++;
    return n;
}

static void load_file(const char *path, const char *from)
{
    int before = count_anchors();
    int rc = mb.x509_crt_parse_file(&mbed_system_ca, path);
    text_append(mbed_trust_text, sizeof mbed_trust_text, "%sfile %s (%s, %d certificates%s)",
                mbed_trust_text[0] ? "; " : "", path, from, count_anchors() - before,
                rc < 0 ? ", unreadable" : rc > 0 ? ", some unparsable" : "");
}

/* The files OpenSSL reads from a CA directory: the hash-named ones
 * (c_rehash / update-ca-certificates: 8 hex digits, '.', a number). The
 * other files there (the *.pem they link to, the bundle itself) are the
 * same certificates again. */
static void load_dir(const char *dir)
{
    int before = count_anchors();
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strlen(name) < 10 || strspn(name, "0123456789abcdef") != 8 || name[8] != '.' ||
            strspn(name + 9, "0123456789") != strlen(name + 9))
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path)
            mb.x509_crt_parse_file(&mbed_system_ca, path);
    }
    if (d)
        closedir(d);
    text_append(mbed_trust_text, sizeof mbed_trust_text, "%sdir %s (from SSL_CERT_DIR, %d certificates%s)",
                mbed_trust_text[0] ? "; " : "", dir, count_anchors() - before, d ? "" : ", unreadable");
}

/* What OpenSSL reads (trust_paths.h): SSL_CERT_FILE (else the distribution's
 * bundle) and SSL_CERT_DIR (else its default directory, which on these
 * systems holds the bundle's certificates: the bundle stands in for it). */
void mbed_load_trust(void)
{
    struct trust_paths *t = calloc(1, sizeof *t);
    mb.x509_crt_init(&mbed_system_ca);
    if (!t) {
        snprintf(mbed_trust_text, sizeof mbed_trust_text, "none (out of memory)");
        return;
    }
    trust_paths_find(t);
    if (t->env_file[0])
        load_file(t->env_file, "from SSL_CERT_FILE");
    else if (t->bundle[0])
        load_file(t->bundle, "the distribution's bundle");
    if (t->env_dir[0]) {
        char *save = NULL;
        for (char *d = strtok_r(t->env_dir, ":", &save); d; d = strtok_r(NULL, ":", &save))
            load_dir(d);
    } else if (t->env_file[0] && t->bundle[0]) {
        load_file(t->bundle, "the distribution's bundle, standing in for OpenSSL's default directory");
    }
    if (!mbed_trust_text[0])
        snprintf(mbed_trust_text, sizeof mbed_trust_text, "none found (no SSL_CERT_FILE, SSL_CERT_DIR or bundle)");
    free(t);
}
#endif /* OSTLS_HAVE_MBEDTLS */
