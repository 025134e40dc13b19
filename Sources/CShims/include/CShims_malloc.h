// glibc's malloc tuning for the executable (mallopt, M_ARENA_MAX, M_MMAP_THRESHOLD): the Swift module map of
// Glibc does not include <malloc.h>.
#ifndef CSHIMS_MALLOC_H
#define CSHIMS_MALLOC_H
#include <malloc.h>
#endif
