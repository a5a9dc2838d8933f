/*
 * compat.h — the few compiler/platform spellings c/common needs, in one place,
 * so a Windows (MSVC) or macOS build only has to touch this file and the
 * platform's sock_*.c / resolve_*.c.
 */
#ifndef OSTLS_COMPAT_H
#define OSTLS_COMPAT_H

#if defined(_MSC_VER)
#  define TLS_THREAD_LOCAL __declspec(thread)
#  define TLS_PRINTF(fmt_index, first_arg)
#else
#  define TLS_THREAD_LOCAL _Thread_local
#  define TLS_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#endif

#define TLS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(_WIN32) && !defined(EAI_SYSTEM)
/* Winsock's getaddrinfo has no EAI_SYSTEM (its errors are WSA codes); this
 * value is never returned there, so the POSIX-only branch stays dead. */
#  define EAI_SYSTEM (-11)
#endif

#endif
