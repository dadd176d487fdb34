/*
 * fuzz_merkle_verify.c - Merkle proofs as an auditor or a node receives
 * them (tree sizes, indices and hashes all from outside), through
 * zb_merkle_verify_inclusion and zb_merkle_verify_consistency.
 *
 * Input: byte 0 picks the mode.
 *   0: index u64le, tree_size u64le, leaf hash, root, proof hashes...
 *   1: size1 u64le, size2 u64le, root1, root2, proof hashes...
 *   2: n u16le, m u16le, m1 u16le, flip u16le, leaf bytes...: a real tree of
 *      1..MAX_LEAVES leaves; the generated inclusion proof of leaf m and
 *      consistency proof from m1 leaves must verify, and must fail with one
 *      bit flipped, one hash dropped or one hash added.
 * Modes 0 and 1 must only ever return 0, ZB_EBADSIG or ZB_EINVAL; a proof
 * longer than ZB_MERKLE_MAX_PROOF hashes is passed as it came.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "merkle.h"

#define MAX_LEAVES 200
/* Room for a proof over the limit, to reach the count check. */
#define FUZZ_MERKLE_MAX ((size_t)1 + 16 + 2 * ZB_HASH_LEN + (ZB_MERKLE_MAX_PROOF + 2) * ZB_HASH_LEN)

typedef uint8_t hash_t[ZB_HASH_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static unsigned get_u16(const uint8_t *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

/* A copy of the proof hashes in their own allocation, so ASan sees any
 * read past the last one. NULL when count is 0. */
static hash_t *copy_proof(const uint8_t *p, size_t count)
{
    if (count == 0)
        return NULL;
    hash_t *proof = malloc(count * sizeof *proof);
    FUZZ_CHECK(proof != NULL);
    memcpy(proof, p, count * sizeof *proof);
    return proof;
}

static void raw_verify(int consistency, const uint8_t *data, size_t size)
{
    const size_t head = 16 + 2 * ZB_HASH_LEN;
    if (size < head)
        return;
    uint64_t a = get_u64(data), b = get_u64(data + 8);
    hash_t h1, h2;
    memcpy(h1, data + 16, ZB_HASH_LEN);
    memcpy(h2, data + 16 + ZB_HASH_LEN, ZB_HASH_LEN);
    size_t count = (size - head) / ZB_HASH_LEN;
    hash_t *proof = copy_proof(data + head, count);
    int rc = consistency ? zb_merkle_verify_consistency(a, b, h1, h2, (const hash_t *)proof, count)
                         : zb_merkle_verify_inclusion(h1, a, b, (const hash_t *)proof, count, h2);
    FUZZ_CHECK(rc == 0 || rc == ZB_EBADSIG || rc == ZB_EINVAL);
    if (count > ZB_MERKLE_MAX_PROOF)
        FUZZ_CHECK(rc == ZB_EINVAL);
    if (!consistency && a >= b)
        FUZZ_CHECK(rc == ZB_EINVAL);
    if (consistency && a > b)
        FUZZ_CHECK(rc == ZB_EINVAL);
    free(proof);
}

/* Proof of count hashes in a buffer with room for one more. */
static int verify_incl(const hash_t leaf, uint64_t m, uint64_t n, const hash_t *proof,
                       size_t count, const hash_t root)
{
    hash_t *copy = copy_proof((const uint8_t *)proof, count);
    int rc = zb_merkle_verify_inclusion(leaf, m, n, (const hash_t *)copy, count, root);
    free(copy);
    return rc;
}

static int verify_cons(uint64_t m, uint64_t n, const hash_t r1, const hash_t r2,
                       const hash_t *proof, size_t count)
{
    hash_t *copy = copy_proof((const uint8_t *)proof, count);
    int rc = zb_merkle_verify_consistency(m, n, r1, r2, (const hash_t *)copy, count);
    free(copy);
    return rc;
}

static void real_tree(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    uint64_t n = 1 + get_u16(data) % MAX_LEAVES;
    uint64_t m = get_u16(data + 2) % n;
    uint64_t m1 = 1 + get_u16(data + 4) % n;
    unsigned flip = get_u16(data + 6);
    data += 8;
    size -= 8;

    static hash_t leaves[MAX_LEAVES];
    for (uint64_t i = 0; i < n; i++) {
        uint8_t entry[64] = {0};
        size_t len = size < sizeof entry - 8 ? size : sizeof entry - 8;
        memcpy(entry, &i, 8);
        memcpy(entry + 8, data, len);
        zb_merkle_leaf_hash(entry, 8 + len, leaves[i]);
    }
    hash_t root, root1;
    zb_merkle_root_of_leaves((const hash_t *)leaves, n, root);
    zb_merkle_root_of_leaves((const hash_t *)leaves, m1, root1);

    hash_t proof[ZB_MERKLE_MAX_PROOF + 1];
    size_t count;
    FUZZ_CHECK(zb_merkle_inclusion_proof((const hash_t *)leaves, n, m, proof, &count) == 0);
    FUZZ_CHECK(count < ZB_MERKLE_MAX_PROOF);
    FUZZ_CHECK(verify_incl(leaves[m], m, n, (const hash_t *)proof, count, root) == 0);
    if (count > 0) {
        FUZZ_CHECK(verify_incl(leaves[m], m, n, (const hash_t *)proof, count - 1, root) != 0);
        size_t j = (flip >> 8) % count;
        proof[j][(flip >> 3) % ZB_HASH_LEN] ^= (uint8_t)(1u << (flip & 7));
        FUZZ_CHECK(verify_incl(leaves[m], m, n, (const hash_t *)proof, count, root) != 0);
        proof[j][(flip >> 3) % ZB_HASH_LEN] ^= (uint8_t)(1u << (flip & 7));
    }
    memcpy(proof[count], root, ZB_HASH_LEN);
    FUZZ_CHECK(verify_incl(leaves[m], m, n, (const hash_t *)proof, count + 1, root) != 0);

    FUZZ_CHECK(zb_merkle_consistency_proof((const hash_t *)leaves, n, m1, proof, &count) == 0);
    FUZZ_CHECK(count < ZB_MERKLE_MAX_PROOF);
    FUZZ_CHECK(verify_cons(m1, n, root1, root, (const hash_t *)proof, count) == 0);
    if (count > 0) {
        FUZZ_CHECK(verify_cons(m1, n, root1, root, (const hash_t *)proof, count - 1) != 0);
        size_t j = (flip >> 8) % count;
        proof[j][(flip >> 3) % ZB_HASH_LEN] ^= (uint8_t)(1u << (flip & 7));
        FUZZ_CHECK(verify_cons(m1, n, root1, root, (const hash_t *)proof, count) != 0);
        proof[j][(flip >> 3) % ZB_HASH_LEN] ^= (uint8_t)(1u << (flip & 7));
    }
    memcpy(proof[count], root, ZB_HASH_LEN);
    FUZZ_CHECK(verify_cons(m1, n, root1, root, (const hash_t *)proof, count + 1) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_MERKLE_MAX)
        return -1;
    switch (data[0] % 3) {
    case 0: raw_verify(0, data + 1, size - 1); break;
    case 1: raw_verify(1, data + 1, size - 1); break;
    default: real_tree(data + 1, size - 1); break;
    }
    return 0;
}
