/*
 * fuzz.h - what every libFuzzer target here shares: the two entry points
 * libFuzzer calls (declared so -Wmissing-prototypes stays quiet), a check
 * that aborts, so a broken invariant is a crash libFuzzer saves, and the
 * fixed keys the targets sign with.
 */
#ifndef ZB_FUZZ_H
#define ZB_FUZZ_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

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

/* A fixed Ed25519 identity: the key pair of a seed of 32 bytes fill (the
 * seeds in corpus/ are signed with the same ones, make_seeds.c). */
static inline void fuzz_identity(uint8_t fill, zb_identity *id)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, fill, sizeof seed);
    if (crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0)
        abort();
}

#endif
