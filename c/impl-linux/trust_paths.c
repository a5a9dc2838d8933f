/* trust_paths.c — see trust_paths.h. */
#define _GNU_SOURCE
#include "trust_paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The distributions' bundle files, in the order OpenSSL builds and
 * distribution packages make them likeliest; the first readable one wins. */
static const char *const bundles[] = {
    "/etc/ssl/certs/ca-certificates.crt",                  /* Debian, Ubuntu, Alpine, Arch, Gentoo */
    "/etc/pki/tls/certs/ca-bundle.crt",                    /* Fedora, RHEL */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",   /* RHEL 7+ */
    "/etc/ssl/ca-bundle.pem",                              /* openSUSE */
    "/etc/ssl/cert.pem",                                   /* Alpine, Void */
    "/usr/lib/ssl/cert.pem",                               /* OpenSSL's own default on Debian */
};

static void copy_env(char *dst, size_t cap, const char *name)
{
    const char *v = getenv(name);
    snprintf(dst, cap, "%s", v ? v : "");
}

void trust_paths_find(struct trust_paths *t)
{
    copy_env(t->env_file, sizeof t->env_file, "SSL_CERT_FILE");
    copy_env(t->env_dir, sizeof t->env_dir, "SSL_CERT_DIR");
    t->bundle[0] = '\0';
    for (size_t i = 0; i < sizeof bundles / sizeof bundles[0]; i++)
        if (access(bundles[i], R_OK) == 0) {
            snprintf(t->bundle, sizeof t->bundle, "%s", bundles[i]);
            break;
        }
    snprintf(t->default_dir, sizeof t->default_dir, "%s",
             access("/etc/ssl/certs", R_OK) == 0 ? "/etc/ssl/certs" : "");
}

const char *trust_paths_file(const struct trust_paths *t)
{
    return t->env_file[0] ? t->env_file : t->bundle[0] ? t->bundle : NULL;
}
