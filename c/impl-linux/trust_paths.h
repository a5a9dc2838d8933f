/*
 * trust_paths.h — where OpenSSL finds the system's trust anchors on Linux,
 * for the engines whose library has no trust store of its own (Mbed TLS,
 * s2n): SSL_CERT_FILE and SSL_CERT_DIR when set, else the distribution's
 * bundle and OpenSSL's default directory. One list of distribution paths,
 * so SSL_CERT_FILE trust works the same on every Linux engine.
 */
#ifndef OSTLS_TRUST_PATHS_H
#define OSTLS_TRUST_PATHS_H

#include <limits.h>

struct trust_paths {
    char env_file[PATH_MAX];      /* SSL_CERT_FILE, "" when unset or empty */
    char env_dir[PATH_MAX];       /* SSL_CERT_DIR as set (may be a ':' list), "" when unset or empty */
    char bundle[PATH_MAX];        /* the first readable distribution bundle, "" when none */
    char default_dir[PATH_MAX];   /* /etc/ssl/certs when readable (OpenSSL's default directory
                                     on these distributions), "" when not */
};

/* Reads the environment and looks for the bundle and the directory now. */
void trust_paths_find(struct trust_paths *t);

/* The file OpenSSL would read: SSL_CERT_FILE, else the bundle; NULL when neither. */
const char *trust_paths_file(const struct trust_paths *t);

#endif
