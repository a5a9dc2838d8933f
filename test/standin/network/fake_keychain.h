/*
 * fake_keychain.h — the script side of the stand-in keychain
 * (fake_keychain.c): a driver puts identities and internet passwords in it
 * and reads back which password searches were made, and on which thread.
 * Without a script the keychain is empty, as before.
 */
#ifndef OSTLS_STANDIN_FAKE_KEYCHAIN_H
#define OSTLS_STANDIN_FAKE_KEYCHAIN_H
#include <pthread.h>
#include <stddef.h>

/* An identity: label, kSecAttrTokenID (NULL: a software key; "com.apple.setoken"
 * is the Secure Enclave), and its certificate's bytes (the stand-in never
 * parses them). */
void fk_add_identity(const char *label, const char *token_id, const unsigned char *der, size_t len);
/* An internet password item: server, port, protocol ("htpx" HTTP proxy,
 * "htsx" HTTPS proxy: Apple's values), account and password. */
void fk_add_password(const char *server, int port, const char *protocol, const char *account, const char *password);
/* Make the next searches fail with status (0: answer normally again). */
void fk_fail_with(int status);
/* Empty the keychain and the search log. */
void fk_reset(void);

/* Every internet password search so far, one line each:
 * "<protocol> <server>:<port> <thread>", thread "host" when it ran on
 * fk_host_thread, else "worker". */
const char *fk_password_searches(void);
extern pthread_t fk_host_thread;

/* fake_cfnetwork.c: the Secure Web Proxy the OS settings name for every URL
 * (host NULL: none, the default). */
void fcn_script_proxy(const char *host, int port);
#endif
