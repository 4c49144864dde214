#ifndef KETENZICHT_CPREFETCH_H
#define KETENZICHT_CPREFETCH_H

/// Asks the CPU to start loading the cache line at `address` for reading, and returns at once.
/// Swift has no prefetch of its own. A hint only: it never faults, even on a stale address, and
/// changes no result.
static inline void ketenzicht_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
