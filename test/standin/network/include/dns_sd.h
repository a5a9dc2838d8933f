/* ostls's Linux stand-in: the one dns_sd.h constant network.c names. */
#ifndef OSTLS_STANDIN_DNS_SD_H
#define OSTLS_STANDIN_DNS_SD_H
enum { kDNSServiceErr_NoSuchRecord = -65554, kDNSServiceErr_Timeout = -65568 };
#endif
