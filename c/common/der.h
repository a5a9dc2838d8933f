/*
 * der.h — the little DER reading ostls does itself: stepping over elements,
 * and a certificate's notAfter (engines whose library does not expose it,
 * for the session cache's expiry).
 */
#ifndef OSTLS_DER_H
#define OSTLS_DER_H

#include <stddef.h>
#include <time.h>

/* One element at *p (before end): its tag, contents and length; *p moves
 * past it. 0 when it is malformed or runs past end. Lengths up to 3 bytes. */
int der_next(const unsigned char **p, const unsigned char *end, int *tag,
             const unsigned char **val, size_t *len);

/* The size of the whole element (header included) at the start of p[0..avail),
 * or 0 when there is none. */
size_t der_element_size(const unsigned char *p, size_t avail);

/* The notAfter of an X.509 certificate in DER, or 0 when it cannot be read. */
time_t der_cert_not_after(const unsigned char *cert, size_t len);

#endif
