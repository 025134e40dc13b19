// All shims are static inline in include/; SwiftPM needs one source file per C target.
#include "CShims.h"
