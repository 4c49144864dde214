// CPrefetch is header-only (static inline); SwiftPM wants a source file in a C target.
#include "CPrefetch.h"
