/*
 * ostls's Linux stand-in for the part of <CoreFoundation/CoreFoundation.h>
 * the macOS engines use (test/standin/network: network.c run on Linux).
 * Written for ostls from Apple's documented C API; objects are the stand-in's
 * own reference-counted records (fake.c), not CoreFoundation's.
 */
#ifndef OSTLS_STANDIN_CF_H
#define OSTLS_STANDIN_CF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef long CFIndex;
typedef unsigned long CFTypeID;
typedef unsigned char Boolean;
typedef int32_t OSStatus;
typedef uint32_t CFStringEncoding;
typedef uint8_t UInt8;
typedef unsigned long CFOptionFlags;
#define kCFStringEncodingUTF8 0x08000100u
enum { noErr = 0 };

typedef const void *CFTypeRef;
typedef const struct standin_cf *CFStringRef;
typedef const struct standin_cf *CFArrayRef;
typedef struct standin_cf *CFMutableArrayRef;
typedef const struct standin_cf *CFDataRef;
typedef const struct standin_cf *CFDictionaryRef;
typedef struct standin_cf *CFMutableDictionaryRef;
typedef const struct standin_cf *CFURLRef;
typedef const struct standin_cf *CFNumberRef;
typedef const struct standin_cf *CFBooleanRef;
typedef struct standin_cf *CFErrorRef;
typedef const struct standin_cf *CFAllocatorRef;
typedef const struct standin_cf *CFBundleRef;

typedef struct { int unused; } CFArrayCallBacks;
typedef struct { int unused; } CFDictionaryKeyCallBacks;
typedef struct { int unused; } CFDictionaryValueCallBacks;
extern const CFArrayCallBacks kCFTypeArrayCallBacks;
extern const CFDictionaryKeyCallBacks kCFTypeDictionaryKeyCallBacks;
extern const CFDictionaryValueCallBacks kCFTypeDictionaryValueCallBacks;
extern const CFStringRef kCFBundleVersionKey;
extern const CFBooleanRef kCFBooleanTrue;

CFTypeRef CFRetain(CFTypeRef cf);
void CFRelease(CFTypeRef cf);
Boolean CFEqual(CFTypeRef a, CFTypeRef b);
CFTypeID CFGetTypeID(CFTypeRef cf);
CFTypeID CFStringGetTypeID(void);
CFTypeID CFArrayGetTypeID(void);
CFTypeID CFDictionaryGetTypeID(void);
CFTypeID CFDataGetTypeID(void);
CFTypeID CFNumberGetTypeID(void);

CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char *s, CFStringEncoding enc);
CFStringRef CFStringCreateWithBytes(CFAllocatorRef alloc, const uint8_t *bytes, CFIndex n, CFStringEncoding enc,
                                    Boolean external);
/* CFSTR as Apple's header spells it without the compiler's constant strings. */
CFStringRef __CFStringMakeConstantString(const char *cStr);
#define CFSTR(cStr) __CFStringMakeConstantString("" cStr "")
Boolean CFStringGetCString(CFStringRef s, char *buf, CFIndex cap, CFStringEncoding enc);

CFArrayRef CFArrayCreate(CFAllocatorRef alloc, const void **values, CFIndex n, const CFArrayCallBacks *cb);
CFMutableArrayRef CFArrayCreateMutable(CFAllocatorRef alloc, CFIndex cap, const CFArrayCallBacks *cb);
CFArrayRef CFArrayCreateCopy(CFAllocatorRef alloc, CFArrayRef from);
CFMutableArrayRef CFArrayCreateMutableCopy(CFAllocatorRef alloc, CFIndex cap, CFArrayRef from);
void CFArrayAppendValue(CFMutableArrayRef a, const void *v);
void CFArrayRemoveValueAtIndex(CFMutableArrayRef a, CFIndex i);
CFIndex CFArrayGetCount(CFArrayRef a);
const void *CFArrayGetValueAtIndex(CFArrayRef a, CFIndex i);

CFDataRef CFDataCreate(CFAllocatorRef alloc, const uint8_t *bytes, CFIndex n);
const uint8_t *CFDataGetBytePtr(CFDataRef d);
CFIndex CFDataGetLength(CFDataRef d);

CFDictionaryRef CFDictionaryCreate(CFAllocatorRef alloc, const void **keys, const void **values, CFIndex n,
                                   const CFDictionaryKeyCallBacks *kcb, const CFDictionaryValueCallBacks *vcb);
CFMutableDictionaryRef CFDictionaryCreateMutable(CFAllocatorRef alloc, CFIndex cap,
                                                 const CFDictionaryKeyCallBacks *kcb,
                                                 const CFDictionaryValueCallBacks *vcb);
const void *CFDictionaryGetValue(CFDictionaryRef d, const void *key);
void CFDictionarySetValue(CFMutableDictionaryRef d, const void *key, const void *value);

typedef CFIndex CFNumberType;
enum { kCFNumberIntType = 9 };
Boolean CFNumberGetValue(CFNumberRef number, CFNumberType type, void *value);
CFNumberRef CFNumberCreate(CFAllocatorRef alloc, CFNumberType type, const void *value);

CFURLRef CFURLCreateWithBytes(CFAllocatorRef alloc, const UInt8 *bytes, CFIndex n, CFStringEncoding enc,
                              CFURLRef base);
CFStringRef CFURLGetString(CFURLRef url);

typedef double CFTimeInterval;
typedef CFTimeInterval CFAbsoluteTime;
CFAbsoluteTime CFAbsoluteTimeGetCurrent(void);

/* CFRunLoop.h */
typedef struct standin_cf *CFRunLoopRef;
typedef struct standin_cf *CFRunLoopSourceRef;
typedef CFStringRef CFRunLoopMode;
typedef int32_t CFRunLoopRunResult;
enum { kCFRunLoopRunFinished = 1, kCFRunLoopRunStopped = 2, kCFRunLoopRunTimedOut = 3,
       kCFRunLoopRunHandledSource = 4 };
CFRunLoopRef CFRunLoopGetCurrent(void);
CFRunLoopRunResult CFRunLoopRunInMode(CFRunLoopMode mode, CFTimeInterval seconds, Boolean returnAfterSourceHandled);
void CFRunLoopStop(CFRunLoopRef rl);
void CFRunLoopAddSource(CFRunLoopRef rl, CFRunLoopSourceRef source, CFRunLoopMode mode);
void CFRunLoopRemoveSource(CFRunLoopRef rl, CFRunLoopSourceRef source, CFRunLoopMode mode);
void CFRunLoopSourceInvalidate(CFRunLoopSourceRef source);

/* CFStream.h */
typedef struct {
    CFIndex version;
    void *info;
    void *(*retain)(void *info);
    void (*release)(void *info);
    CFStringRef (*copyDescription)(void *info);
} CFStreamClientContext;

CFIndex CFErrorGetCode(CFErrorRef e);
CFStringRef CFErrorCopyDescription(CFErrorRef e);

CFBundleRef CFBundleGetBundleWithIdentifier(CFStringRef id);
CFTypeRef CFBundleGetValueForInfoDictionaryKey(CFBundleRef b, CFStringRef key);
#endif
