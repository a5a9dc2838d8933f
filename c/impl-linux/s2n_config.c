/*
 * s2n_config.c — the s2n engine's configurations, which carry trust: one
 * that verifies nothing, one shared verifying one that reads the system
 * store (the paths OpenSSL uses: trust_paths.h), and one per option ca (the
 * system store plus those anchors), cached and counted.
 */
#define _GNU_SOURCE
#include "../common/options.h"
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
 * shared by every connection naming the same PEM and kept for the next few:
 * counted, freed when the cache and its last connection let go. The lock is
 * only tried on the host's thread, so no call waits for the worker. */
struct ca_config {
    struct s2n_config *cfg;
    int refs;
};
#define CA_CONFIGS 8
static struct {
    char *pem;
    struct ca_config *shared;
    unsigned long used;
} ca_cache[CA_CONFIGS];
static unsigned long ca_clock;
static pthread_mutex_t ca_lock = PTHREAD_MUTEX_INITIALIZER;

static void ca_config_release_locked(struct ca_config *cc)
{
    if (cc && --cc->refs == 0) {
        s2n.s2n_config_free(cc->cfg);
        free(cc);
    }
}

/* A counted reference to the cached config for pem, or NULL. */
static struct ca_config *ca_config_find(const char *pem, int wait)
{
    struct ca_config *found = NULL;
    if ((wait ? pthread_mutex_lock(&ca_lock) : pthread_mutex_trylock(&ca_lock)) != 0)
        return NULL;
    for (int i = 0; i < CA_CONFIGS && !found; i++)
        if (ca_cache[i].pem && strcmp(ca_cache[i].pem, pem) == 0) {
            found = ca_cache[i].shared;
            found->refs++;
            ca_cache[i].used = ++ca_clock;
        }
    pthread_mutex_unlock(&ca_lock);
    return found;
}

/* Builds a config for pem; NULL with why filled. The caller holds the one reference. */
static struct ca_config *ca_config_build(const char *pem, int *invalid, char *why, size_t cap)
{
    *invalid = 0;
    struct ca_config *cc = calloc(1, sizeof *cc);
    if (cc && shared_verify_config())
        cc->cfg = new_config(1);
    if (!cc || !cc->cfg) {
        free(cc);
        snprintf(why, cap, "could not create an s2n configuration");
        return NULL;
    }
    cc->refs = 1;
    if (s2n.s2n_config_add_pem_to_trust_store(cc->cfg, pem) < 0) {
        *invalid = 1;
        snprintf(why, cap, "option ca could not be used: %s (%s)", s2n.s2n_strerror(s2n_err(), "EN"),
                 s2n.s2n_strerror_name(s2n_err()));
        s2n.s2n_config_free(cc->cfg);
        free(cc);
        return NULL;
    }
    return cc;
}

/* The cache takes its own reference to cc (the least recently used entry
 * makes room). */
static void ca_config_add(const char *pem, struct ca_config *cc, int wait)
{
    char *key = strdup(pem);
    if (!key || (wait ? pthread_mutex_lock(&ca_lock) : pthread_mutex_trylock(&ca_lock)) != 0) {
        free(key);
        return;
    }
    int slot = 0;
    for (int i = 0; i < CA_CONFIGS; i++) {
        if (ca_cache[i].pem && strcmp(ca_cache[i].pem, pem) == 0) {
            slot = -1;   /* another thread got there first */
            break;
        }
        if (!ca_cache[i].pem || ca_cache[i].used < ca_cache[slot].used)
            slot = i;
        if (!ca_cache[i].pem)
            break;
    }
    if (slot >= 0) {
        free(ca_cache[slot].pem);
        ca_config_release_locked(ca_cache[slot].shared);
        cc->refs++;
        ca_cache[slot].pem = key;
        ca_cache[slot].shared = cc;
        ca_cache[slot].used = ++ca_clock;
        key = NULL;
    }
    pthread_mutex_unlock(&ca_lock);
    free(key);
}

void s2n_cfg_release(struct ca_config *cc)
{
    if (!cc)
        return;
    pthread_mutex_lock(&ca_lock);   /* held only for list updates: never long */
    ca_config_release_locked(cc);
    pthread_mutex_unlock(&ca_lock);
}

/* 1 when the cache holds a config for pem; never waits for the lock (then 0:
 * the caller runs trust_prepare first, which finds it). */
static int ca_config_cached(const char *pem)
{
    int found = 0;
    if (pthread_mutex_trylock(&ca_lock) != 0)
        return 0;
    for (int i = 0; i < CA_CONFIGS && !found; i++)
        found = ca_cache[i].pem && strcmp(ca_cache[i].pem, pem) == 0;
    pthread_mutex_unlock(&ca_lock);
    return found;
}

int s2n_cfg_trust_ready(const struct tls_options *o)
{
    if (!o->verify_peer)
        return 1;
    if (!atomic_load_explicit(&verify_ready, memory_order_acquire))
        return 0;
    return !o->ca || ca_config_cached(o->ca);
}

void s2n_cfg_trust_prepare(const char *ca)
{
    shared_verify_config();
    if (!ca)
        return;
    struct ca_config *cc = ca_config_find(ca, 1);
    if (!cc) {
        char why[256];
        int invalid;
        cc = ca_config_build(ca, &invalid, why, sizeof why);
        if (cc)
            ca_config_add(ca, cc, 1);
    }
    s2n_cfg_release(cc);   /* the cache keeps it */
}

struct s2n_config *s2n_cfg_for(const struct tls_options *o, struct ca_config **ref, int *invalid,
                               char *why, size_t cap)
{
    struct s2n_config *cfg = o->verify_peer ? shared_verify_config() : config_noverify;
    *invalid = 0;
    if (o->verify_peer && o->ca) {
        *ref = ca_config_find(o->ca, 0);
        if (!*ref) {
            *ref = ca_config_build(o->ca, invalid, why, cap);
            if (!*ref)
                return NULL;
            ca_config_add(o->ca, *ref, 0);
        }
        cfg = (*ref)->cfg;
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
