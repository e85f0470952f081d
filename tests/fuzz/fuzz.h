/* fuzz.h - what every fuzz target shares: the libFuzzer entry point (also
 * driven by replay.c) and an assertion that survives NDEBUG. */
#ifndef DANESCAN_FUZZ_H
#define DANESCAN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant is a crash the fuzzer records. */
#define FUZZ_ASSERT(cond)                                                  \
    do {                                                                   \
        if (!(cond))                                                       \
            abort();                                                       \
    } while (0)

#endif
