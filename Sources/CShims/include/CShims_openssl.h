// OpenSSL function-like macros that Swift cannot import (crypto layer).
#ifndef CSHIMS_OPENSSL_H
#define CSHIMS_OPENSSL_H
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

static inline long cshim_BIO_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline void cshim_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline int cshim_sk_X509_num(const STACK_OF(X509) *s) { return sk_X509_num(s); }
static inline X509 *cshim_sk_X509_value(const STACK_OF(X509) *s, int i) { return sk_X509_value(s, i); }
static inline STACK_OF(X509) *cshim_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int cshim_sk_X509_push(STACK_OF(X509) *s, X509 *x) { return sk_X509_push(s, x); }
static inline void cshim_sk_X509_free(STACK_OF(X509) *s) { sk_X509_free(s); }
static inline unsigned long cshim_XN_FLAG_RFC2253(void) { return XN_FLAG_RFC2253; }
#endif
