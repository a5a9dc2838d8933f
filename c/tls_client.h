/*
 * tls_client.h — the one C interface every ostls backend implements.
 *
 * One plain C dynamic library per platform implements this header:
 *   c/impl-linux  the system's OpenSSL (libssl loaded at run time)
 *   c/impl-win    SSPI Schannel over Winsock
 *   c/impl-mac    Apple's Security / Network frameworks
 * Hosts (ostls's TypeScript layer binds it with koffi) see only this file.
 *
 * Conventions
 *   - Every function except tls_free returns 1 on success and 0 on failure.
 *   - On failure *err is one of the TLS_* code strings below (static storage,
 *     never freed; compare with strcmp) and *errmsg is a human-readable message.
 *     err and errmsg may be NULL when the caller does not want them.
 *   - *errmsg is owned by the library. For calls on a connection it stays valid
 *     until the next call on that same connection or tls_free. For calls without
 *     a connection (tls_init, a tls_connect that fails, tls_info(NULL, ...)) it is
 *     per thread and stays valid until that thread's next such call.
 *   - Nothing waits: no call waits on the network, on DNS or on internal locks,
 *     except tls_wait. tls_init and a connection's handshake steps may read local
 *     files (the library, the trust store).
 *   - The TCP connection is the library's: callers never see a socket, only an
 *     opaque OS handle to wait on (see tls_pollhandle).
 *   - A connection may be used from any thread, but by one thread at a time.
 *     Different connections are independent.
 *   - A connection handle is valid from tls_connect until tls_free. Using it after
 *     tls_free is undefined behaviour: the host must make that impossible.
 */
#ifndef OSTLS_TLS_CLIENT_H
#define OSTLS_TLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define TLS_API __declspec(dllexport)
#else
#  define TLS_API __attribute__((visibility("default")))
#endif

/* Bumped when a signature or a documented behaviour changes incompatibly.
 * tls_info(NULL, "api_version") reports the library's value. */
#define TLS_CLIENT_API_VERSION 1

/* ---- Error codes: the same list, with the same meaning, on every platform ---- */
#define TLS_LIBRARY_NOT_FOUND      "TLS_LIBRARY_NOT_FOUND"      /* the OS TLS library could not be loaded; the message names what was tried */
#define TLS_INVALID_ARGUMENT       "TLS_INVALID_ARGUMENT"       /* bad argument, unknown option key or value, call out of order; the message names which */
#define TLS_DNS_FAILED             "TLS_DNS_FAILED"             /* the host name did not resolve */
#define TLS_CONNECT_FAILED         "TLS_CONNECT_FAILED"         /* no address accepted the TCP connection (refused, unreachable) */
#define TLS_CONNECTION_RESET       "TLS_CONNECTION_RESET"       /* the peer reset or dropped the connection */
#define TLS_TIMEOUT                "TLS_TIMEOUT"                /* tls_wait ran out of time (the connection itself is unaffected) */
#define TLS_HANDSHAKE_FAILED       "TLS_HANDSHAKE_FAILED"       /* the handshake failed for a reason not listed below (no shared cipher, alert, ...) */
#define TLS_PROTOCOL_VERSION       "TLS_PROTOCOL_VERSION"       /* no TLS version both sides accept (ostls requires TLS 1.2 or newer) */
#define TLS_CERT_UNTRUSTED         "TLS_CERT_UNTRUSTED"         /* the chain does not lead to a trusted root (self-signed, unknown issuer, bad signature) */
#define TLS_CERT_EXPIRED           "TLS_CERT_EXPIRED"           /* a certificate in the chain is outside its validity period */
#define TLS_CERT_HOSTNAME_MISMATCH "TLS_CERT_HOSTNAME_MISMATCH" /* the certificate is not valid for the requested name */
#define TLS_CERT_REVOKED           "TLS_CERT_REVOKED"           /* a certificate in the chain is revoked, or (revocation "require") its status is unknown: see verify_result */
#define TLS_PROTOCOL_ERROR         "TLS_PROTOCOL_ERROR"         /* the peer broke the TLS protocol after the handshake (bad record, bad MAC) */
#define TLS_CLOSED                 "TLS_CLOSED"                 /* the stream has ended: the peer finished sending (read), or the connection was shut down / closed (write) */
#define TLS_OUT_OF_MEMORY          "TLS_OUT_OF_MEMORY"          /* an allocation failed */
#define TLS_INTERNAL_ERROR         "TLS_INTERNAL_ERROR"         /* the OS TLS library failed in a way not covered above; the message has its words */
#define TLS_PROXY_FAILED           "TLS_PROXY_FAILED"           /* the proxy (option proxy) refused or broke the CONNECT tunnel: its status and reason, or that it closed, sent something that is not HTTP, or a header over 16 KiB */
#define TLS_PROXY_AUTH_REQUIRED    "TLS_PROXY_AUTH_REQUIRED"    /* the proxy answered 407: it wants (other) credentials */

/* Directions, used both for what the host wants to do (tls_wait, tls_pollhandle)
 * and for what the OS handle must be watched for (tls_pollhandle's *events). */
#define TLS_WANT_READ   1   /* host: I want to read application data.  events: watch for readable */
#define TLS_WANT_WRITE  2   /* host: I want to write application data. events: watch for writable */
#define TLS_POLL_NOW    4   /* events only: progress is possible without waiting; call again now */

typedef struct tls_conn tls_conn;

/* ============================ Core API ============================ */

/* Load and initialise the OS TLS library. Later calls return the first call's
 * result. Fails with TLS_LIBRARY_NOT_FOUND. Optional before tls_connect: a
 * connection made before it has run starts it on a background thread and waits
 * for it behind its poll handle (tls_info "state" is "starting"); its failure is
 * then that connection's error, and later tls_connect calls fail with it. */
TLS_API int tls_init(const char **err, const char **errmsg);

/* Create a connection to host:port (a name, an IPv4 or an IPv6 address) and start it:
 * name resolution runs in the background, then the addresses are raced (Happy
 * Eyeballs, RFC 8305: families interleaved, IPv6 first; the next address is
 * tried when the previous attempt fails or has not connected within 250 ms,
 * earlier attempts going on; the first to connect wins), then the TLS
 * handshake. When every address fails: TLS_CONNECT_FAILED naming each one,
 * with the last OS error as tls_info "os_error". Returns at once with *tlsout
 * set; connection and handshake errors are reported by the calls that drive
 * the connection (tls_handshake, tls_read, tls_write, tls_isopen, tls_wait,
 * tls_bytesavailable). Fails only for bad arguments (a host that is neither an
 * address nor a plausible DNS name: control characters, spaces, empty labels),
 * lack of memory, or a tls_init that has already failed, and then *tlsout is NULL.
 * Test hook: a name under the reserved ".test" domain (RFC 6761) listed in the
 * environment variable OSTLS_TEST_HOSTS ("a.test=::1,127.0.0.1;b.test=...")
 * resolves to those addresses, loopback ones only; it cannot redirect any
 * other name, nor any name off the machine. */
TLS_API int tls_connect(const char *host, int port, tls_conn **tlsout,
                        const char **err, const char **errmsg);

/* Close the connection: send close_notify if the handshake completed (without
 * waiting for it to be delivered) and close the OS connection. The handle stays
 * valid, reports closed, and must still be released with tls_free. Closing an
 * already closed connection succeeds and does nothing. */
TLS_API int tls_close(tls_conn *tls, const char **err, const char **errmsg);

/* *isopen = 1 while the connection is being set up or is established and has not
 * been closed, shut down or ended by the peer; 0 otherwise. Drives the connection
 * like tls_handshake; fails with the connection's error if setting it up failed. */
TLS_API int tls_isopen(tls_conn *tls, int *isopen, const char **err, const char **errmsg);

/* Encrypt and send up to len bytes; *written is how many were accepted, possibly 0
 * (the OS buffer is full, or the handshake has not finished). After a partial or
 * zero write, wait for TLS_WANT_WRITE and call again starting with the bytes not
 * accepted (the same bytes, or those bytes followed by more): the OS libraries may
 * hold part of them. Fails with TLS_CLOSED after tls_shutdown or tls_close. */
TLS_API int tls_write(tls_conn *tls, const void *buf, size_t len, size_t *written,
                      const char **err, const char **errmsg);

/* *n = bytes that tls_read can return right now without waiting. Reads what has
 * already arrived from the OS but never waits for more. */
TLS_API int tls_bytesavailable(tls_conn *tls, size_t *n, const char **err, const char **errmsg);

/* Read up to len decrypted bytes. *nread > 0: data. *nread == 0: nothing yet
 * (wait for TLS_WANT_READ). Fails with TLS_CLOSED once the peer has finished
 * sending (close_notify or end of TCP stream) and every byte has been read. */
TLS_API int tls_read(tls_conn *tls, void *buf, size_t len, size_t *nread,
                     const char **err, const char **errmsg);

/* Block until the connection can make progress: during set-up, until the next
 * set-up step can run; afterwards, until reading (TLS_WANT_READ) and/or writing
 * (TLS_WANT_WRITE), as given in want, can proceed. timeout_ms < 0 waits without
 * limit. Fails with TLS_TIMEOUT when the time runs out (the connection is
 * unaffected). The only call that blocks. */
TLS_API int tls_wait(tls_conn *tls, int want, int timeout_ms, const char **err, const char **errmsg);

/* ===================== Extensions for real hosts ===================== */

/* Release a connection (closing it first, abortively, if still open). tls may be
 * NULL. After this call the handle must never be passed to the library again. */
TLS_API void tls_free(tls_conn *tls);

/* Set a per-connection option. Allowed between tls_connect and the first call
 * that drives the connection (any call above except tls_close/tls_free, or
 * tls_handshake/tls_pollhandle/tls_shutdown), except socket options, which may
 * be set at any time before close. An unknown key or a value this backend cannot
 * honour fails with TLS_INVALID_ARGUMENT naming the key; nothing is ignored.
 *   servername  name for SNI and certificate verification (default: host, when it
 *               is a name; an address host is verified against IP SANs)
 *   ca          extra trust anchors, PEM (one or more certificates). Added to the
 *               OS trust store for this connection only; never replaces it.
 *   verify      "full" (default): chain and name checked by the OS policy.
 *               "none": no verification; the result is still reported by
 *               tls_info "verify_result".
 *   alpn        comma-separated protocol list in preference order, e.g. "http/1.1"
 *   min_version "TLSv1.2" (default) or "TLSv1.3"
 *   max_version "TLSv1.2" or "TLSv1.3" (default: the newest the OS offers)
 *   proxy       "http[s]://[user:password@]host[:port]" (port 80 by default; user and
 *               password %-encoded, sent as Basic): connect to the proxy instead
 *               (its addresses raced as above), tunnel with "CONNECT host:port",
 *               then handshake with host through the tunnel, verifying host's
 *               certificate as without a proxy. A refusal is TLS_PROXY_FAILED
 *               (TLS_PROXY_AUTH_REQUIRED for 407; on macOS a 407 offering Basic
 *               when the URL had no user:password first makes the library look
 *               up the keychain's password for that proxy, on a worker thread,
 *               and tunnel once more with it). While tunnelling, tls_info
 *               "state" is "handshaking" and remote_address is the proxy's.
 *               "https://…" (port 443 by default): the same through a TLS
 *               connection to the proxy, made and verified (against the
 *               proxy's name, by the OS, with the ca option's anchors too) like
 *               any other; a failure there is that connection's code, with
 *               "TLS to proxy <host> failed" in the message. tls_shutdown sends
 *               the origin's close_notify through the tunnel and leaves the
 *               proxy connection open until tls_close.
 *               Engines that make their own connections (Network.framework)
 *               fail set-up with TLS_INVALID_ARGUMENT.
 *               "system": the proxy the OS would use for https://host:port/ —
 *               Windows: the user's WinHTTP/Internet Options settings (fixed
 *               proxy and bypass list, <local>; automatic detection (WPAD) and
 *               PAC scripts, run by WinHTTP); macOS: CFNetwork's settings
 *               (exceptions list, PAC scripts); Linux: none (direct). Looked up
 *               on a worker thread (set-up waits on its handle like on name
 *               resolution) and cached per process for 30 s. A proxy it names
 *               is used as above; a URL ostls cannot use is TLS_PROXY_FAILED.
 *               tls_info "proxy_source" / "proxy_reason" say what was chosen.
 *   session_cache "1" (default) or "0": resume a session cached under this
 *               connection's key (every option above, host and port), and
 *               cache the one it makes; "0" does neither
 *   cert        the client certificate chain, PEM, leaf first (needs key)
 *   key         its private key, PEM (PKCS#8 or traditional; encrypted needs passphrase)
 *   pfx         the client certificate and key as PKCS#12, base64-encoded
 *   passphrase  decrypts key or pfx
 *               The identity is loaded when set-up starts, before any TCP
 *               connection: a bad file or passphrase, a key that is not the
 *               certificate's, both pfx and cert/key, or a form this backend
 *               does not take fails then with TLS_INVALID_ARGUMENT.
 *   client_cert_store  instead of a file: "CurrentUser\\<store>" or
 *               "LocalMachine\\<store>" (Windows), or "keychain" (macOS), the
 *               certificate with its private key that matches every one given
 *               of client_cert_thumbprint (SHA-1, 40 hex digits; Windows),
 *               client_cert_label (the keychain item's label; macOS),
 *               client_cert_subject and client_cert_issuer (text in the name)
 *   client_cert_auto  "1": no identity named; when the server asks for a
 *               certificate, the first OS store identity (Windows:
 *               CurrentUser\\My, then LocalMachine\\My) whose chain reaches a CA
 *               the server names; none is sent unasked, and none when no
 *               identity fits. Backends without an OS identity store (OpenSSL
 *               on Linux) fail with TLS_INVALID_ARGUMENT
 *   revocation  "os" (default: the OS library's own behaviour), "require" (a
 *               server certificate whose revocation status cannot be
 *               established fails with TLS_CERT_REVOKED, verify_result naming
 *               why, e.g. OCSP_NO_RESPONSE), "off" (no revocation checking);
 *               a backend that cannot honour a value fails with TLS_INVALID_ARGUMENT
 * Socket options (any time; except that an engine which fixes them when it
 * creates the connection, Network.framework, fails a later change of value
 * with TLS_INVALID_ARGUMENT once set-up has started):
 *   nodelay     "1" or "0": TCP_NODELAY (default "1")
 *   keepalive   seconds of idle before TCP keep-alive probes; "0" turns it off
 */
TLS_API int tls_set_option(tls_conn *tls, const char *key, const char *value,
                           const char **err, const char **errmsg);

/* Drive set-up (resolve, connect, handshake) as far as it goes without waiting.
 * *done = 1 once the handshake has completed; 0 means wait (tls_pollhandle or
 * tls_wait) and call again. Fails with the set-up error, which it keeps
 * reporting on every later call. */
TLS_API int tls_handshake(tls_conn *tls, int *done, const char **err, const char **errmsg);

/* The OS handle the host can watch in its own event loop, and what to watch it
 * for. want is TLS_WANT_READ and/or TLS_WANT_WRITE: what the host means to do
 * next. *handle is a file descriptor (POSIX) or a SOCKET (Windows), or -1 when
 * this backend has none; the host then uses tls_wait. *events is a mask of
 * TLS_WANT_READ (watch for readable), TLS_WANT_WRITE (watch for writable) and
 * TLS_POLL_NOW (do not wait: call again at once); 0 means nothing to wait for.
 *
 * Handle lifetime: during set-up the handle may change (resolver, then the newest
 * of the connection attempts in flight; see tls_polltimeout for the others).
 * The library closes a handle it has reported only inside
 * tls_handshake, tls_isopen, tls_read, tls_write, tls_bytesavailable, tls_wait
 * while set-up is still going on, and inside tls_close and tls_free. A host that
 * watches the handle must stop watching it before such a call, and ask again
 * afterwards. Once tls_handshake has reported done, the handle stays the same
 * until tls_close or tls_free. */
TLS_API int tls_pollhandle(tls_conn *tls, int want, int64_t *handle, int *events,
                           const char **err, const char **errmsg);

/* Half-close: send close_notify and end the sending side (TCP FIN), keep
 * receiving. *done = 0 means the alert could not all be sent yet: wait for
 * TLS_WANT_WRITE and call again. Later tls_write calls fail with TLS_CLOSED. */
TLS_API int tls_shutdown(tls_conn *tls, int *done, const char **err, const char **errmsg);

/* Diagnostics as key/value strings. *value stays valid until the next call on
 * the same connection or tls_free (tls == NULL: until this thread's next
 * tls_info(NULL, ...) call). Unknown keys fail with TLS_INVALID_ARGUMENT;
 * a known key with nothing to report yet gives "".
 * Library-wide (tls == NULL):
 *   api_version      TLS_CLIENT_API_VERSION of the library
 *   backend          the engine in use: "openssl", "schannel", "securetransport",
 *                    "network" (OSTLS_BACKEND names one of the build's engines)
 *   engines          every engine of this build, one line each, in order of
 *                    preference: "name\tstatus\twhy", status "loaded" (the one
 *                    in use), "failed" or "not tried" (then why is empty)
 *   backend_version  version of the OS TLS library in use
 *   library_path     path of the OS TLS library actually loaded
 *   library_tried    every name or path tried while loading, in order, ';'-separated
 *   trust_store      where the OS trust anchors come from
 *   install_hint     how to get the engine's OS library, one line per OS family:
 *                    "<os-release IDs>\t<advice>", "*" any other, "+" always said
 *   handles          number of connections not yet freed
 *   identities       the OS's client identities (macOS: the keychain's,
 *                    SecItemCopyMatching kSecClassIdentity), for `ostls
 *                    identities`: per identity a line "identity\t<label>\t<key
 *                    storage>" (storage "keychain", "Secure Enclave" or "token
 *                    <kSecAttrTokenID>", a smart card), then its certificate
 *                    as PEM; a line "error\t<why>" if the search failed; ""
 *                    when there are none. Other platforms' engines do not
 *                    know the key (TLS_INVALID_ARGUMENT)
 * Per connection:
 *   state            "starting" (tls_init running, see tls_init), "resolving", "connecting", "handshaking", "open", "closed", "failed"
 *   protocol         "TLSv1.2", "TLSv1.3"
 *   cipher           IANA cipher suite name, e.g. "TLS_AES_128_GCM_SHA256"
 *   alpn             the protocol the server selected, or ""
 *   peer_cert        the server's certificate, PEM
 *   peer_chain       the chain the server sent (leaf first), PEM
 *   trust_anchor     the root the verified chain ended at, PEM; "" when
 *                    verification failed or the engine does not say
 *   session_reused   "1" when the handshake resumed a cached session, else "0"
 *   verify_result    "ok", or the verification failure named as OpenSSL / Node do
 *                    (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT,
 *                    SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
 *                    UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_NOT_YET_VALID,
 *                    CERT_REVOKED, ERR_TLS_CERT_ALTNAME_INVALID, ...)
 *   verify_message   the OS's words for verify_result
 *   os_error         symbolic OS error behind the last failure (ECONNREFUSED, ...), or ""
 *   remote_address, remote_port, local_address, local_port
 *   summary          what a host reads once the handshake is done, in one call:
 *                    verify_result, protocol, session_reused, cipher,
 *                    remote_address, remote_port, local_address, local_port,
 *                    in that order, each followed by "\n", then alpn (last:
 *                    the only one whose bytes the caller chose)
 *   proxy_source     how option proxy was resolved: "option" (a URL), or for
 *                    "system": "static" (the OS's fixed proxy), "pac" (a PAC
 *                    script from a configured URL), "wpad" (one found by
 *                    auto-detection), "bypass" (the OS's bypass list exempts
 *                    host), "direct" (the OS names no proxy), "none" (this OS
 *                    has no setting ostls reads), "engine" (left to an engine
 *                    that makes its own connections); "" without the option or
 *                    while the OS is still being asked
 *   proxy_reason     the same in words, e.g. "PAC script http://wpad/p.pac said
 *                    proxy:3128" or "Windows proxy bypass list entry <local>"
 *   proxy_url        for "system": the proxy URL the OS chose and the tunnel
 *                    goes through ("http://proxy:3128"), without any
 *                    user:password; "" when direct, and for a URL option
 */
TLS_API int tls_info(tls_conn *tls, const char *key, const char **value,
                     const char **err, const char **errmsg);

/* ---- Hot path for hosts where every out-parameter costs (FFI: koffi) ----
 * The same operations as tls_read, tls_write and tls_pollhandle, reporting
 * through the return value instead of out-parameters. -1 means the full call
 * would fail: the host makes the full call, which reports the same condition
 * with its code and message (end of stream: tls_read's TLS_CLOSED).
 *
 * tls_read_fast: bytes read (>= 0, as tls_read's *nread). *waitfor (may be
 *   NULL) is set to 0, or, when the read stopped because nothing more can be
 *   read without waiting, to the events to wait for (as tls_pollhandle's
 *   *events for TLS_WANT_READ): the host may wait at once instead of calling
 *   again first.
 * tls_write_fast: bytes accepted (>= 0, as tls_write's *written).
 * tls_pollevents: tls_pollhandle's *events for want. Once tls_handshake has
 *   reported done the handle is fixed, so a host that kept it needs only this. */
TLS_API int64_t tls_read_fast(tls_conn *tls, void *buf, size_t len, int32_t *waitfor);
TLS_API int64_t tls_write_fast(tls_conn *tls, const void *buf, size_t len);
TLS_API int tls_pollevents(tls_conn *tls, int want);

/* Milliseconds after which the host must drive the connection again (any
 * driving call, e.g. tls_handshake) even if the handle tls_pollhandle gave has
 * not become ready; -1: no limit. Ask after every call that drives the
 * connection and arm a timer with it: while set-up races several addresses
 * (see tls_connect), the library starts the next attempt and looks at older
 * ones, which are not the watched handle, only when driven. On Windows,
 * while the handle is a worker's (start-up, name resolution, the system
 * proxy lookup, trust loading), it is 1000: should the worker's wake-up
 * datagram be lost, this re-check still ends the wait. tls_wait honours it
 * by itself. tls may be NULL (-1). */
TLS_API int tls_polltimeout(tls_conn *tls);

#ifdef __cplusplus
}
#endif
#endif /* OSTLS_TLS_CLIENT_H */
