/*
 * s2n_config.c — the s2n engine's configurations, which carry trust: one
 * that verifies nothing, one shared verifying one that reads the system
 * store (the paths OpenSSL uses: trust_paths.h), and one per option ca (the
 * system store plus those anchors), cached and counted.
 */
#define _GNU_SOURCE
#include "../common/options.h"
#include "../common/trust_cache.h"
#include "s2n_api.h"
#include "s2n_resume.h"
#include "trust_paths.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct s2n_config *config_verify, *config_noverify;
static char trust_file[PATH_MAX], trust_dir[PATH_MAX];

/* The bundle file and directory OpenSSL would read: SSL_CERT_FILE /
 * SSL_CERT_DIR when set (a ':' list of directories is not one s2n can take),
 * else the distribution's bundle and OpenSSL's default directory. */
static void find_trust_paths(void)
{
    struct trust_paths *t = calloc(1, sizeof *t);
    trust_file[0] = trust_dir[0] = '\0';
    if (!t)
        return;
    trust_paths_find(t);
    const char *file = trust_paths_file(t);
    snprintf(trust_file, sizeof trust_file, "%s", file ? file : "");
    if (t->env_dir[0])
        snprintf(trust_dir, sizeof trust_dir, "%s", strchr(t->env_dir, ':') ? "" : t->env_dir);
    else
        snprintf(trust_dir, sizeof trust_dir, "%s", t->default_dir);
    free(t);
}

/* A config trusting the system store (missing parts leave it emptier:
 * verification then fails per connection as untrusted, as on OpenSSL). */
static struct s2n_config *new_config(int verify)
{
    struct s2n_config *cfg = s2n.s2n_config_new_minimal();
    if (!cfg)
        return NULL;
    if (s2n.s2n_config_set_cipher_preferences(cfg, POLICY_DEFAULT) < 0) {
        s2n.s2n_config_free(cfg);
        return NULL;
    }
    s2n_resume_config(&s2n, cfg);
    if (!verify) {
        s2n.s2n_config_disable_x509_verification(cfg);
        return cfg;
    }
    const char *file = trust_file[0] ? trust_file : NULL;
    const char *dir = trust_dir[0] ? trust_dir : NULL;
    if ((file || dir) && s2n.s2n_config_set_verification_ca_location(cfg, file, dir) < 0 &&
        file && dir)
        s2n.s2n_config_set_verification_ca_location(cfg, NULL, dir);
    return cfg;
}

int s2n_cfg_init(void)
{
    find_trust_paths();
    config_noverify = new_config(0);   /* reads no trust store */
    return config_noverify != NULL;
}

/* The verifying config reads the system bundle (20-60 ms): once per
 * process, on c/common's worker (trust_prepare), never in tls_init. */
static pthread_once_t verify_once = PTHREAD_ONCE_INIT;
static atomic_int verify_ready;

static void load_verify_config(void)
{
    config_verify = new_config(1);
    atomic_store_explicit(&verify_ready, 1, memory_order_release);
}

static struct s2n_config *shared_verify_config(void)
{
    pthread_once(&verify_once, load_verify_config);
    return config_verify;
}

/* A config for a `ca` (the system store read again, plus those anchors) is
 * shared by every connection naming the same PEM and kept for the next few,
 * through c/common's trust cache: counted, freed when the cache and its last
 * connection let go. */
static void *ca_config_build(const char *pem, int *invalid, char *why, size_t cap)
{
    *invalid = 0;
    struct s2n_config *cfg = shared_verify_config() ? new_config(1) : NULL;
    if (!cfg) {
        snprintf(why, cap, "could not create an s2n configuration");
        return NULL;
    }
    if (s2n.s2n_config_add_pem_to_trust_store(cfg, pem) < 0) {
        *invalid = 1;
        snprintf(why, cap, "option ca could not be used: %s (%s)", s2n.s2n_strerror(s2n_err(), "EN"),
                 s2n.s2n_strerror_name(s2n_err()));
        s2n.s2n_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static void ca_config_free(void *cfg)
{
    s2n.s2n_config_free(cfg);
}

static const struct trust_cache_ops ca_config_ops = { ca_config_build, ca_config_free };
static struct trust_cache ca_cache = TRUST_CACHE_INIT(&ca_config_ops);

void s2n_cfg_release(struct trust_ref *ref)
{
    trust_cache_put(&ca_cache, ref);
}

int s2n_cfg_trust_ready(const struct tls_options *o)
{
    if (!o->verify_peer)
        return 1;
    if (!atomic_load_explicit(&verify_ready, memory_order_acquire))
        return 0;
    return !o->ca || trust_cache_contains(&ca_cache, o->ca);
}

void s2n_cfg_trust_prepare(const char *ca)
{
    shared_verify_config();
    if (ca)
        trust_cache_prepare(&ca_cache, ca);
}

struct s2n_config *s2n_cfg_for(const struct tls_options *o, struct trust_ref **ref, int *invalid,
                               char *why, size_t cap)
{
    struct s2n_config *cfg = o->verify_peer ? shared_verify_config() : config_noverify;
    *invalid = 0;
    if (o->verify_peer && o->ca) {
        *ref = trust_cache_get(&ca_cache, o->ca, invalid, why, cap);
        if (!*ref)
            return NULL;
        cfg = (*ref)->object;
    }
    if (!cfg)
        snprintf(why, cap, "could not create an s2n configuration");
    return cfg;
}

void s2n_cfg_trust_text(char *buf, size_t cap)
{
    snprintf(buf, cap, "file %s; dir %s", trust_file[0] ? trust_file : "(none)",
             trust_dir[0] ? trust_dir : "(none)");
}
