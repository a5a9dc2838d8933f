/* ostls's Linux stand-in: sysctlbyname, as macOS has it (glibc has none). */
#ifndef OSTLS_STANDIN_SYSCTL_H
#define OSTLS_STANDIN_SYSCTL_H
#include <stddef.h>
int sysctlbyname(const char *name, void *old, size_t *oldlen, void *newp, size_t newlen);
#endif
