// OpenSSL SSL_* macros used by the HTTP server's TLS listener.
#ifndef CSHIMS_TLS_H
#define CSHIMS_TLS_H
#include <openssl/ssl.h>

static inline long cshim_SSL_CTX_set_min_proto_version(SSL_CTX *c, int v) { return SSL_CTX_set_min_proto_version(c, v); }
static inline long cshim_SSL_CTX_set_mode(SSL_CTX *c, long m) { return SSL_CTX_set_mode(c, m); }
#endif
