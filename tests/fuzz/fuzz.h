/*
 * fuzz.h - what every libFuzzer target here shares: the two entry points
 * libFuzzer calls (declared so -Wmissing-prototypes stays quiet) and a check
 * that aborts, so a broken invariant is a crash libFuzzer saves.
 */
#ifndef ZB_FUZZ_H
#define ZB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test; not assert(), which NDEBUG removes. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
