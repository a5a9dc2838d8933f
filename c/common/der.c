/* der.c — see der.h. */
#include "der.h"

#include <string.h>

int der_next(const unsigned char **p, const unsigned char *end, int *tag,
             const unsigned char **val, size_t *len)
{
    const unsigned char *q = *p;
    if (end - q < 2)
        return 0;
    *tag = *q++;
    size_t n = *q++;
    if (n & 0x80) {
        int bytes = n & 0x7f;
        if (bytes < 1 || bytes > 3 || end - q < bytes)
            return 0;
        for (n = 0; bytes-- > 0;)
            n = (n << 8) | *q++;
    }
    if ((size_t)(end - q) < n)
        return 0;
    *val = q;
    *len = n;
    *p = q + n;
    return 1;
}

size_t der_element_size(const unsigned char *p, size_t avail)
{
    const unsigned char *q = p, *val;
    size_t len;
    int tag;
    return der_next(&q, p + avail, &tag, &val, &len) ? (size_t)(q - p) : 0;
}

static int digits(const unsigned char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; timegm without the locale). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* UTCTime YYMMDDHHMMSSZ (RFC 5280: 50-99 are 19xx) or GeneralizedTime YYYYMMDDHHMMSSZ. */
static time_t der_time(int tag, const unsigned char *v, size_t n)
{
    int year;
    if (tag == 0x17 && n == 13 && v[12] == 'Z') {
        year = digits(v, 2);
        year += year < 50 ? 2000 : 1900;
        v += 2;
    } else if (tag == 0x18 && n == 15 && v[14] == 'Z') {
        year = digits(v, 4);
        v += 4;
    } else {
        return 0;
    }
    int mon = digits(v, 2), day = digits(v + 2, 2), hour = digits(v + 4, 2);
    int min = digits(v + 6, 2), sec = digits(v + 8, 2);
    if (year < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || min < 0 || sec < 0)
        return 0;
    return (time_t)(days_from_civil(year, mon, day) * 86400L + hour * 3600L + min * 60L + sec);
}

time_t der_cert_not_after(const unsigned char *cert, size_t len)
{
    const unsigned char *p = cert, *end = cert + len, *v;
    size_t n;
    int tag;
    /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
     * serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter } ... */
    if (!der_next(&p, end, &tag, &v, &n) || tag != 0x30)
        return 0;
    p = v;
    end = v + n;
    if (!der_next(&p, end, &tag, &v, &n) || tag != 0x30)
        return 0;
    p = v;
    end = v + n;
    if (!der_next(&p, end, &tag, &v, &n))
        return 0;
    if (tag == 0xa0 && !der_next(&p, end, &tag, &v, &n))   /* version: then the serial */
        return 0;
    for (int i = 0; i < 3; i++)   /* signature, issuer, validity */
        if (!der_next(&p, end, &tag, &v, &n))
            return 0;
    if (tag != 0x30)
        return 0;
    p = v;
    end = v + n;
    if (!der_next(&p, end, &tag, &v, &n) || !der_next(&p, end, &tag, &v, &n))
        return 0;
    return der_time(tag, v, n);
}
