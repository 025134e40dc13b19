// libpq: nothing needed yet (PG_DIAG_SQLSTATE is a character literal; Swift passes it as Int32).
#ifndef CSHIMS_PQ_H
#define CSHIMS_PQ_H
#include <libpq-fe.h>
#endif
