// Umbrella header. Each subsystem keeps its one-line wrappers in its own header so that
// parallel work on curl, OpenSSL and libpq never touches the same file.
#ifndef CSHIMS_H
#define CSHIMS_H
#include "CShims_curl.h"
#include "CShims_openssl.h"
#include "CShims_tls.h"
#include "CShims_pq.h"
#include "CShims_signal.h"
#include "CShims_malloc.h"
#endif
