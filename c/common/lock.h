/*
 * lock.h — the one mutex c/common's process-wide tables use (session_cache.c,
 * sysproxy.c, trust_cache.c): statically initialised, so no table needs an
 * init call or a destructor, and never held across anything slow.
 * SRWLOCK on Windows, a pthread mutex elsewhere.
 */
#ifndef OSTLS_LOCK_H
#define OSTLS_LOCK_H

#ifdef _WIN32
#  include <windows.h>
typedef SRWLOCK ostls_lock;
#  define OSTLS_LOCK_INIT SRWLOCK_INIT
static inline void lock_take(ostls_lock *l) { AcquireSRWLockExclusive(l); }
/* 1 when taken; 0 when another thread holds it (the caller does without). */
static inline int lock_try(ostls_lock *l) { return TryAcquireSRWLockExclusive(l) != 0; }
static inline void lock_give(ostls_lock *l) { ReleaseSRWLockExclusive(l); }
#else
#  include <pthread.h>
typedef pthread_mutex_t ostls_lock;
#  define OSTLS_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
static inline void lock_take(ostls_lock *l) { pthread_mutex_lock(l); }
static inline int lock_try(ostls_lock *l) { return pthread_mutex_trylock(l) == 0; }
static inline void lock_give(ostls_lock *l) { pthread_mutex_unlock(l); }
#endif

#endif
