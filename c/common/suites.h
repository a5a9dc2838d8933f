/*
 * suites.h — IANA names of TLS cipher suites by registry number, for engines
 * whose OS library reports only the number.
 */
#ifndef OSTLS_SUITES_H
#define OSTLS_SUITES_H

/* The IANA name ("TLS_AES_128_GCM_SHA256"), or NULL for a suite not listed. */
const char *suite_name(unsigned id);

#endif
