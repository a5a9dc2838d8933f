/* ostls's Linux stand-in for the part of <Security/SecureTransport.h> the
 * SecureTransport engine uses (test/standin/securetransport). Written for
 * ostls from Apple's documented C API; status values are Apple's. */
#ifndef OSTLS_STANDIN_SECURETRANSPORT_H
#define OSTLS_STANDIN_SECURETRANSPORT_H
#include "Security.h"
typedef struct standin_ssl *SSLContextRef;
typedef const void *SSLConnectionRef;
typedef uint16_t SSLCipherSuite;
typedef enum { kSSLProtocolUnknown = 0, kTLSProtocol1 = 4, kTLSProtocol11 = 7, kTLSProtocol12 = 8,
               kTLSProtocol13 = 10 } SSLProtocol;
typedef enum { kSSLServerSide, kSSLClientSide } SSLProtocolSide;
typedef enum { kSSLStreamType, kSSLDatagramType } SSLConnectionType;
typedef enum { kSSLSessionOptionBreakOnServerAuth = 0 } SSLSessionOption;
enum { errSSLPeerAuthCompleted = -9841 };
typedef OSStatus (*SSLReadFunc)(SSLConnectionRef connection, void *data, size_t *dataLength);
typedef OSStatus (*SSLWriteFunc)(SSLConnectionRef connection, const void *data, size_t *dataLength);
SSLContextRef SSLCreateContext(CFAllocatorRef alloc, SSLProtocolSide side, SSLConnectionType type);
OSStatus SSLSetIOFuncs(SSLContextRef ctx, SSLReadFunc read, SSLWriteFunc write);
OSStatus SSLSetConnection(SSLContextRef ctx, SSLConnectionRef connection);
OSStatus SSLSetProtocolVersionMin(SSLContextRef ctx, SSLProtocol v);
OSStatus SSLSetProtocolVersionMax(SSLContextRef ctx, SSLProtocol v);
OSStatus SSLSetSessionOption(SSLContextRef ctx, SSLSessionOption option, Boolean value);
OSStatus SSLSetPeerDomainName(SSLContextRef ctx, const char *name, size_t len);
OSStatus SSLSetPeerID(SSLContextRef ctx, const void *id, size_t len);
OSStatus SSLSetCertificate(SSLContextRef ctx, CFArrayRef certs);
OSStatus SSLSetALPNProtocols(SSLContextRef ctx, CFArrayRef protocols);
OSStatus SSLCopyALPNProtocols(SSLContextRef ctx, CFArrayRef *protocols);
OSStatus SSLHandshake(SSLContextRef ctx);
OSStatus SSLCopyPeerTrust(SSLContextRef ctx, SecTrustRef *trust);
OSStatus SSLCopyPeerCertificates(SSLContextRef ctx, CFArrayRef *certs);
OSStatus SSLRead(SSLContextRef ctx, void *data, size_t len, size_t *processed);
OSStatus SSLWrite(SSLContextRef ctx, const void *data, size_t len, size_t *processed);
OSStatus SSLClose(SSLContextRef ctx);
OSStatus SSLGetBufferedReadSize(SSLContextRef ctx, size_t *size);
OSStatus SSLGetNegotiatedProtocolVersion(SSLContextRef ctx, SSLProtocol *v);
OSStatus SSLGetNegotiatedCipher(SSLContextRef ctx, SSLCipherSuite *suite);
#endif
