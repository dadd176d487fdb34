/*
 * test_merkle.c - common/merkle against the published RFC 6962 vectors, the corruptions a
 * verifier must refuse, and a property sweep over every small tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <sodium.h>

#include "err.h"
#include "merkle.h"
#include "treehead.h"

typedef uint8_t hash_t[ZB_HASH_LEN];

/* Test data from transparency-dev/merkle, proof/verify_test.go (variables leaves, roots,
 * inclusionProofs, consistencyProofs; the same data as Trillian's merkle/log_verifier_test.go).
 * That file numbers leaves from 1; the indices below are 0-based. */
static const char *const vec_leaves[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

/* vec_roots[n] is the root of the tree of the first n leaves; [0] is SHA-256(""). */
static const char *const vec_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* sha256SomeHash of the same file: an arbitrary hash that is no root. */
static const char *const some_hash =
    "abacaba000000000000000000000000000000000000000000060061e00123456";

typedef struct {
    uint64_t index, size;
    size_t count;
    const char *proof[3];
} inclusion_vec;

static const inclusion_vec inclusion_vecs[] = {
    {0, 1, 0, {NULL}},
    {0, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8, 3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5, 3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

typedef struct {
    uint64_t size1, size2;
    size_t count;
    const char *proof[3];
} consistency_vec;

static const consistency_vec consistency_vecs[] = {
    {1, 1, 0, {NULL}},
    {1, 8, 3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5, 2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7, 3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Decodes hex into out (at most cap bytes); returns the byte count. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = 0;

    assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &len, NULL), 0);
    return len;
}

static void unhex_hash(const char *hex, hash_t out)
{
    assert_int_equal(unhex(hex, out, ZB_HASH_LEN), ZB_HASH_LEN);
}

/* Leaf hashes and roots (index = tree size) of the published 8-leaf tree. */
static void load_tree(hash_t leaves[8], hash_t roots[9])
{
    uint8_t entry[16];

    for (size_t i = 0; i < 8; i++)
        zb_merkle_leaf_hash(entry, unhex(vec_leaves[i], entry, sizeof(entry)), leaves[i]);
    for (size_t i = 0; i < 9; i++)
        unhex_hash(vec_roots[i], roots[i]);
}

/* ---- roots ---- */

static void test_empty_root(void **state)
{
    hash_t root, want;

    (void)state;
    unhex_hash(vec_roots[0], want);
    zb_merkle_root_of_leaves(NULL, 0, root);
    assert_memory_equal(root, want, ZB_HASH_LEN);
}

static void test_published_roots(void **state)
{
    hash_t leaves[8], roots[9], root;

    (void)state;
    load_tree(leaves, roots);
    for (uint64_t n = 1; n <= 8; n++) {
        zb_merkle_root_of_leaves((const hash_t *)leaves, n, root);
        assert_memory_equal(root, roots[n], ZB_HASH_LEN);
    }
}

/* ---- inclusion ---- */

static int verify_incl(const hash_t leaf, uint64_t index, uint64_t size, const hash_t *proof,
                       size_t count, const hash_t root)
{
    return zb_merkle_verify_inclusion(leaf, index, size, proof, count, root);
}

/* The corruptions of transparency-dev's corruptInclusionProof, each of which must fail. */
static void check_inclusion_rejects(const hash_t leaf, uint64_t index, uint64_t size,
                                    const hash_t *proof, size_t count, const hash_t root)
{
    hash_t bad[ZB_MERKLE_MAX_PROOF + 1], other, empty_root;

    unhex_hash(some_hash, other);
    unhex_hash(vec_roots[0], empty_root);
    assert_true(count < ZB_MERKLE_MAX_PROOF);
    if (count > 0)
        memcpy(bad, proof, count * ZB_HASH_LEN);

    /* Wrong index (index - 1 wraps to UINT64_MAX for index 0: out of range). */
    assert_int_not_equal(verify_incl(leaf, index - 1, size, proof, count, root), 0);
    assert_int_not_equal(verify_incl(leaf, index + 1, size, proof, count, root), 0);
    assert_int_not_equal(verify_incl(leaf, index ^ 2, size, proof, count, root), 0);
    /* Wrong tree size. */
    assert_int_not_equal(verify_incl(leaf, index, size * 2, proof, count, root), 0);
    assert_int_not_equal(verify_incl(leaf, index, size / 2, proof, count, root), 0);
    /* Wrong leaf or root. */
    assert_int_equal(verify_incl(other, index, size, proof, count, root), ZB_EBADSIG);
    assert_int_equal(verify_incl(leaf, index, size, proof, count, empty_root), ZB_EBADSIG);
    assert_int_equal(verify_incl(leaf, index, size, proof, count, other), ZB_EBADSIG);
    /* Extended at the end, then at the front. */
    memcpy(bad[count], root, ZB_HASH_LEN);
    assert_int_equal(verify_incl(leaf, index, size, (const hash_t *)bad, count + 1, root),
                     ZB_EBADSIG);
    memcpy(bad[0], root, ZB_HASH_LEN);
    if (count > 0)
        memcpy(bad[1], proof, count * ZB_HASH_LEN);
    assert_int_equal(verify_incl(leaf, index, size, (const hash_t *)bad, count + 1, root),
                     ZB_EBADSIG);
    if (count == 0)
        return;
    /* Truncated. */
    assert_int_equal(verify_incl(leaf, index, size, proof, count - 1, root), ZB_EBADSIG);
    /* One bit flipped in each hash. */
    for (size_t i = 0; i < count; i++) {
        memcpy(bad, proof, count * ZB_HASH_LEN);
        bad[i][0] ^= 8;
        assert_int_equal(verify_incl(leaf, index, size, (const hash_t *)bad, count, root),
                         ZB_EBADSIG);
    }
}

static void test_inclusion_vectors(void **state)
{
    hash_t leaves[8], roots[9], want[3], got[ZB_MERKLE_MAX_PROOF];

    (void)state;
    load_tree(leaves, roots);
    for (size_t v = 0; v < N_ELEMS(inclusion_vecs); v++) {
        const inclusion_vec *iv = &inclusion_vecs[v];
        size_t count = 99;

        for (size_t i = 0; i < iv->count; i++)
            unhex_hash(iv->proof[i], want[i]);
        assert_int_equal(
            zb_merkle_inclusion_proof((const hash_t *)leaves, iv->size, iv->index, got, &count),
            0);
        assert_int_equal(count, iv->count);
        if (count > 0)
            assert_memory_equal(got, want, count * ZB_HASH_LEN);
        assert_int_equal(verify_incl(leaves[iv->index], iv->index, iv->size,
                                     (const hash_t *)want, iv->count, roots[iv->size]),
                         0);
        check_inclusion_rejects(leaves[iv->index], iv->index, iv->size, (const hash_t *)want,
                                iv->count, roots[iv->size]);
    }
}

/* Edge cases of transparency-dev's TestVerifyInclusion and TestVerifyInclusionSingleEntry. */
static void test_inclusion_edges(void **state)
{
    hash_t leaf, other, proof[ZB_MERKLE_MAX_PROOF + 1];
    size_t count = 99;

    (void)state;
    zb_merkle_leaf_hash((const uint8_t *)"data", 4, leaf);
    unhex_hash(some_hash, other);
    /* One-leaf tree: the root is the leaf hash and the proof is empty. */
    assert_int_equal(verify_incl(leaf, 0, 1, NULL, 0, leaf), 0);
    assert_int_equal(verify_incl(leaf, 0, 1, NULL, 0, other), ZB_EBADSIG);
    assert_int_equal(verify_incl(other, 0, 1, NULL, 0, leaf), ZB_EBADSIG);
    /* Index out of range, including the empty tree. */
    assert_int_equal(verify_incl(leaf, 0, 0, NULL, 0, leaf), ZB_EINVAL);
    assert_int_equal(verify_incl(leaf, 1, 0, NULL, 0, leaf), ZB_EINVAL);
    assert_int_equal(verify_incl(leaf, 2, 1, NULL, 0, leaf), ZB_EINVAL);
    /* More hashes than any tree needs. */
    memset(proof, 0, sizeof(proof));
    assert_int_equal(verify_incl(leaf, 0, UINT64_MAX, (const hash_t *)proof,
                                 ZB_MERKLE_MAX_PROOF + 1, leaf),
                     ZB_EINVAL);
    /* Generator: m >= n. */
    assert_int_equal(zb_merkle_inclusion_proof((const hash_t *)&leaf, 0, 0, proof, &count),
                     ZB_EINVAL);
    assert_int_equal(zb_merkle_inclusion_proof((const hash_t *)&leaf, 1, 1, proof, &count),
                     ZB_EINVAL);
    assert_int_equal(count, 0);
}

/* ---- consistency ---- */

static int verify_cons(uint64_t size1, uint64_t size2, const hash_t root1, const hash_t root2,
                       const hash_t *proof, size_t count)
{
    return zb_merkle_verify_consistency(size1, size2, root1, root2, proof, count);
}

/* The corruptions of transparency-dev's corruptConsistencyProof (non-empty proofs). */
static void check_consistency_rejects(uint64_t s1, uint64_t s2, const hash_t r1, const hash_t r2,
                                      const hash_t *proof, size_t count)
{
    hash_t bad[ZB_MERKLE_MAX_PROOF + 1], other;
    const uint8_t *extra[] = {r1, r2, proof[0]};

    assert_true(count > 0 && count < ZB_MERKLE_MAX_PROOF);
    unhex_hash(some_hash, other);
    /* Wrong sizes (size2 / 2 may fall below size1: ZB_EINVAL). */
    assert_int_not_equal(verify_cons(s1 - 1, s2, r1, r2, proof, count), 0);
    assert_int_not_equal(verify_cons(s1 + 1, s2, r1, r2, proof, count), 0);
    assert_int_not_equal(verify_cons(s1 ^ 2, s2, r1, r2, proof, count), 0);
    assert_int_not_equal(verify_cons(s1, s2 * 2, r1, r2, proof, count), 0);
    assert_int_not_equal(verify_cons(s1, s2 / 2, r1, r2, proof, count), 0);
    /* Wrong or swapped roots. */
    assert_int_equal(verify_cons(s1, s2, other, r2, proof, count), ZB_EBADSIG);
    assert_int_equal(verify_cons(s1, s2, r1, other, proof, count), ZB_EBADSIG);
    assert_int_equal(verify_cons(s1, s2, r2, r1, proof, count), ZB_EBADSIG);
    /* Empty and truncated. */
    assert_int_equal(verify_cons(s1, s2, r1, r2, NULL, 0), ZB_EBADSIG);
    assert_int_equal(verify_cons(s1, s2, r1, r2, proof, count - 1), ZB_EBADSIG);
    /* Extended at the end and at the front, by root1, root2 and proof[0]. */
    for (size_t e = 0; e < N_ELEMS(extra); e++) {
        memcpy(bad, proof, count * ZB_HASH_LEN);
        memcpy(bad[count], extra[e], ZB_HASH_LEN);
        assert_int_equal(verify_cons(s1, s2, r1, r2, (const hash_t *)bad, count + 1),
                         ZB_EBADSIG);
        memcpy(bad[1], proof, count * ZB_HASH_LEN);
        memcpy(bad[0], extra[e], ZB_HASH_LEN);
        assert_int_equal(verify_cons(s1, s2, r1, r2, (const hash_t *)bad, count + 1),
                         ZB_EBADSIG);
    }
    /* One bit flipped in each hash. */
    for (size_t i = 0; i < count; i++) {
        memcpy(bad, proof, count * ZB_HASH_LEN);
        bad[i][0] ^= 16;
        assert_int_equal(verify_cons(s1, s2, r1, r2, (const hash_t *)bad, count), ZB_EBADSIG);
    }
}

static void test_consistency_vectors(void **state)
{
    hash_t leaves[8], roots[9], want[3], got[ZB_MERKLE_MAX_PROOF];

    (void)state;
    load_tree(leaves, roots);
    for (size_t v = 0; v < N_ELEMS(consistency_vecs); v++) {
        const consistency_vec *cv = &consistency_vecs[v];
        size_t count = 99;

        for (size_t i = 0; i < cv->count; i++)
            unhex_hash(cv->proof[i], want[i]);
        assert_int_equal(zb_merkle_consistency_proof((const hash_t *)leaves, cv->size2,
                                                     cv->size1, got, &count),
                         0);
        assert_int_equal(count, cv->count);
        if (count > 0)
            assert_memory_equal(got, want, count * ZB_HASH_LEN);
        assert_int_equal(verify_cons(cv->size1, cv->size2, roots[cv->size1], roots[cv->size2],
                                     (const hash_t *)want, cv->count),
                         0);
        if (cv->count > 0)
            check_consistency_rejects(cv->size1, cv->size2, roots[cv->size1], roots[cv->size2],
                                      (const hash_t *)want, cv->count);
    }
}

/* The table of transparency-dev's TestVerifyConsistency: trivial sizes and time travel. */
static void test_consistency_edges(void **state)
{
    hash_t r1, r2, empty, leaves[2], proof[ZB_MERKLE_MAX_PROOF + 1];
    const hash_t *one_empty = (const hash_t *)&empty; /* the proof [SHA-256("")] */
    size_t count = 99;

    (void)state;
    zb_merkle_leaf_hash((const uint8_t *)"1", 1, r1);
    zb_merkle_leaf_hash((const uint8_t *)"2", 1, r2);
    unhex_hash(vec_roots[0], empty);

    assert_int_equal(verify_cons(0, 0, r1, r2, NULL, 0), ZB_EBADSIG);
    assert_int_equal(verify_cons(1, 1, r1, r2, NULL, 0), ZB_EBADSIG);
    assert_int_equal(verify_cons(0, 0, r1, r1, NULL, 0), 0);
    assert_int_equal(verify_cons(0, 1, r1, r2, NULL, 0), 0);
    assert_int_equal(verify_cons(1, 1, r2, r2, NULL, 0), 0);
    assert_int_equal(verify_cons(1, 0, r1, r2, NULL, 0), ZB_EINVAL);
    assert_int_equal(verify_cons(2, 1, r1, r2, NULL, 0), ZB_EINVAL);
    assert_int_equal(verify_cons(1, 2, r1, r2, NULL, 0), ZB_EBADSIG);
    assert_int_equal(verify_cons(0, 0, empty, r2, NULL, 0), ZB_EBADSIG);
    assert_int_equal(verify_cons(1, 1, empty, r2, NULL, 0), ZB_EBADSIG);
    /* Roots match but the proof is not empty. */
    assert_int_equal(verify_cons(0, 0, empty, empty, one_empty, 1), ZB_EBADSIG);
    assert_int_equal(verify_cons(0, 1, empty, empty, one_empty, 1), ZB_EBADSIG);
    assert_int_equal(verify_cons(1, 1, empty, empty, one_empty, 1), ZB_EBADSIG);
    /* More hashes than any tree needs. */
    memset(proof, 0, sizeof(proof));
    assert_int_equal(verify_cons(1, UINT64_MAX, r1, r2, (const hash_t *)proof,
                                 ZB_MERKLE_MAX_PROOF + 1),
                     ZB_EINVAL);
    /* Generator: 0 < m <= n. */
    memcpy(leaves[0], r1, ZB_HASH_LEN);
    memcpy(leaves[1], r2, ZB_HASH_LEN);
    assert_int_equal(zb_merkle_consistency_proof((const hash_t *)leaves, 2, 0, proof, &count),
                     ZB_EINVAL);
    assert_int_equal(zb_merkle_consistency_proof((const hash_t *)leaves, 1, 2, proof, &count),
                     ZB_EINVAL);
    assert_int_equal(zb_merkle_consistency_proof((const hash_t *)leaves, 2, 2, proof, &count), 0);
    assert_int_equal(count, 0);
}

/* ---- property sweep ---- */

enum { SWEEP_MAX = 64 };

/* For every tree of 1..64 leaves: every inclusion proof and every consistency proof from
 * every smaller (or equal) tree verifies, and each one with a flipped bit, one hash fewer or
 * one hash more does not. */
static void test_property_sweep(void **state)
{
    hash_t leaves[SWEEP_MAX], roots[SWEEP_MAX + 1], proof[ZB_MERKLE_MAX_PROOF + 1];
    size_t count;

    (void)state;
    for (size_t i = 0; i < SWEEP_MAX; i++) {
        uint8_t entry[2] = {(uint8_t)i, (uint8_t)(i * 7u)};
        zb_merkle_leaf_hash(entry, sizeof(entry), leaves[i]);
    }
    for (uint64_t n = 0; n <= SWEEP_MAX; n++)
        zb_merkle_root_of_leaves((const hash_t *)leaves, n, roots[n]);

    for (uint64_t n = 1; n <= SWEEP_MAX; n++) {
        for (uint64_t m = 0; m < n; m++) {
            const hash_t *p = (const hash_t *)proof;

            assert_int_equal(zb_merkle_inclusion_proof((const hash_t *)leaves, n, m, proof,
                                                       &count),
                             0);
            assert_int_equal(verify_incl(leaves[m], m, n, p, count, roots[n]), 0);
            memcpy(proof[count], roots[n], ZB_HASH_LEN);
            assert_int_equal(verify_incl(leaves[m], m, n, p, count + 1, roots[n]), ZB_EBADSIG);
            if (count == 0) {
                assert_int_equal(verify_incl(leaves[1], m, n, p, 0, roots[n]), ZB_EBADSIG);
                continue;
            }
            assert_int_equal(verify_incl(leaves[m], m, n, p, count - 1, roots[n]), ZB_EBADSIG);
            for (size_t i = 0; i < count; i++) {
                proof[i][i % ZB_HASH_LEN] ^= 1;
                assert_int_equal(verify_incl(leaves[m], m, n, p, count, roots[n]), ZB_EBADSIG);
                proof[i][i % ZB_HASH_LEN] ^= 1;
            }
        }
        for (uint64_t m = 1; m <= n; m++) {
            const hash_t *p = (const hash_t *)proof;

            assert_int_equal(zb_merkle_consistency_proof((const hash_t *)leaves, n, m, proof,
                                                         &count),
                             0);
            assert_int_equal(verify_cons(m, n, roots[m], roots[n], p, count), 0);
            memcpy(proof[count], roots[n], ZB_HASH_LEN);
            assert_int_equal(verify_cons(m, n, roots[m], roots[n], p, count + 1), ZB_EBADSIG);
            if (m == n) {
                assert_int_equal(count, 0);
                continue;
            }
            assert_int_equal(verify_cons(m, n, roots[m], roots[n], p, count - 1), ZB_EBADSIG);
            for (size_t i = 0; i < count; i++) {
                proof[i][i % ZB_HASH_LEN] ^= 1;
                assert_int_equal(verify_cons(m, n, roots[m], roots[n], p, count), ZB_EBADSIG);
                proof[i][i % ZB_HASH_LEN] ^= 1;
            }
        }
    }
}

/* A stored tree as the aggregator keeps it: perfect subtree hashes by
 * (level, index), built bottom-up from the leaves. */
#define STORED_MAX 100
typedef struct {
    uint8_t h[8][STORED_MAX][ZB_HASH_LEN];
    uint64_t n;
    int lookups;
} stored_tree;

static int stored_perfect(void *ctx, unsigned level, uint64_t index, uint8_t out[ZB_HASH_LEN])
{
    stored_tree *t = ctx;
    if (level >= 8 || ((index + 1) << level) > t->n)
        return ZB_EINVAL; /* only complete subtrees exist */
    memcpy(out, t->h[level][index], ZB_HASH_LEN);
    t->lookups++;
    return 0;
}

static int stored_subtree(void *ctx, uint64_t start, uint64_t size, uint8_t out[ZB_HASH_LEN])
{
    return zb_merkle_subtree_from_perfect(stored_perfect, ctx, start, size, out);
}

/* Proofs from stored perfect subtrees equal the reference proofs from all
 * leaves, for every tree size and index up to 100. */
static void test_stored_source(void **state)
{
    (void)state;
    static stored_tree t;
    uint8_t leaves[STORED_MAX][ZB_HASH_LEN];
    for (uint64_t i = 0; i < STORED_MAX; i++) {
        uint8_t b = (uint8_t)i;
        zb_merkle_leaf_hash(&b, 1, leaves[i]);
    }
    for (uint64_t n = 1; n <= STORED_MAX; n++) {
        memset(&t, 0, sizeof t);
        t.n = n;
        for (uint64_t i = 0; i < n; i++)
            memcpy(t.h[0][i], leaves[i], ZB_HASH_LEN);
        for (unsigned l = 1; l < 8; l++)
            for (uint64_t i = 0; ((i + 1) << l) <= n; i++)
                zb_merkle_node_hash(t.h[l - 1][2 * i], t.h[l - 1][2 * i + 1], t.h[l][i]);
        uint8_t want[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN], got[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
        size_t wc, gc;
        for (uint64_t m = 0; m < n; m++) {
            assert_int_equal(zb_merkle_inclusion_proof((const uint8_t(*)[ZB_HASH_LEN])leaves, n, m,
                                                       want, &wc), 0);
            assert_int_equal(zb_merkle_inclusion_proof_src(stored_subtree, &t, n, m, got, &gc), 0);
            assert_int_equal(gc, wc);
            assert_memory_equal(got, want, wc * ZB_HASH_LEN);
        }
        for (uint64_t m = 1; m <= n; m++) {
            assert_int_equal(zb_merkle_consistency_proof((const uint8_t(*)[ZB_HASH_LEN])leaves, n,
                                                         m, want, &wc), 0);
            assert_int_equal(zb_merkle_consistency_proof_src(stored_subtree, &t, n, m, got, &gc),
                             0);
            assert_int_equal(gc, wc);
            assert_memory_equal(got, want, wc * ZB_HASH_LEN);
        }
        uint8_t r1[ZB_HASH_LEN], r2[ZB_HASH_LEN];
        zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])leaves, n, r1);
        assert_int_equal(stored_subtree(&t, 0, n, r2), 0);
        assert_memory_equal(r1, r2, ZB_HASH_LEN);
    }
    /* a proof in a tree of 100 reads a handful of stored hashes, not 100 leaves */
    t.lookups = 0;
    size_t gc;
    uint8_t got[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    assert_int_equal(zb_merkle_inclusion_proof_src(stored_subtree, &t, 100, 37, got, &gc), 0);
    assert_true(t.lookups <= 2 * 7 * 7);
}

/* zb_inclusion_verify_many_pb against one verification per proof: every
 * run of neighbouring leaves (a receipt) and scattered ones, in trees of
 * many shapes; a proof altered anywhere (below or above the node where it
 * joins an earlier proof's path) or a wrong leaf is refused. */
typedef struct {
    Zb__InclusionProof pb;
    ProtobufCBinaryData path[ZB_MERKLE_MAX_PROOF];
    hash_t hashes[ZB_MERKLE_MAX_PROOF];
} proof_buf;

static void make_proof(const hash_t *leaves, uint64_t n, uint64_t m, proof_buf *b)
{
    size_t count;
    assert_int_equal(zb_merkle_inclusion_proof(leaves, n, m, b->hashes, &count), 0);
    zb__inclusion_proof__init(&b->pb);
    b->pb.log_index = m;
    b->pb.seq = m + 1;
    b->pb.n_path = count;
    b->pb.path = b->path;
    for (size_t i = 0; i < count; i++)
        b->path[i] = (ProtobufCBinaryData){ZB_HASH_LEN, b->hashes[i]};
}

static int verify_run(const hash_t *leaves, uint64_t n, const uint64_t *idx, size_t k,
                      proof_buf *bufs, const zb_tree_head *head)
{
    Zb__InclusionProof *ptrs[16];
    hash_t lv[16];
    for (size_t i = 0; i < k; i++) {
        ptrs[i] = &bufs[i].pb;
        memcpy(lv[i], leaves[idx[i]], ZB_HASH_LEN);
    }
    (void)n;
    return zb_inclusion_verify_many_pb(ptrs, (const hash_t *)lv, k, head);
}

static void test_verify_many(void **state)
{
    (void)state;
    static hash_t leaves[130];
    for (unsigned i = 0; i < 130; i++) {
        uint8_t d[4] = {(uint8_t)i, (uint8_t)(i >> 8), 7, 9};
        zb_merkle_leaf_hash(d, sizeof d, leaves[i]);
    }
    static proof_buf bufs[16];
    const uint64_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 64, 65, 100, 129};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        uint64_t n = sizes[si];
        zb_tree_head head = {.size = n};
        zb_merkle_root_of_leaves((const hash_t *)leaves, n, head.root);
        for (uint64_t first = 0; first < n; first++) {
            size_t k = n - first < 9 ? (size_t)(n - first) : 9;
            uint64_t idx[16];
            for (size_t i = 0; i < k; i++) {
                idx[i] = first + i;
                make_proof((const hash_t *)leaves, n, idx[i], &bufs[i]);
            }
            assert_int_equal(verify_run((const hash_t *)leaves, n, idx, k, bufs, &head), 0);
            /* each proof altered at each element: refused, wherever it is */
            for (size_t j = 0; j < k; j++)
                for (size_t e = 0; e < bufs[j].pb.n_path; e++) {
                    bufs[j].hashes[e][e % ZB_HASH_LEN] ^= 0x40;
                    assert_int_equal(verify_run((const hash_t *)leaves, n, idx, k, bufs, &head),
                                     ZB_EBADSIG);
                    bufs[j].hashes[e][e % ZB_HASH_LEN] ^= 0x40;
                }
            /* the right proof for the wrong leaf */
            if (k > 1) {
                uint64_t swapped[16];
                memcpy(swapped, idx, sizeof swapped);
                swapped[k - 1] = idx[0];
                assert_int_equal(
                    verify_run((const hash_t *)leaves, n, swapped, k, bufs, &head), ZB_EBADSIG);
                /* a proof cut short after the first, which joined its path */
                size_t saved = bufs[k - 1].pb.n_path;
                if (saved > 0) {
                    bufs[k - 1].pb.n_path = saved - 1;
                    assert_int_equal(verify_run((const hash_t *)leaves, n, idx, k, bufs, &head),
                                     ZB_EBADSIG);
                    bufs[k - 1].pb.n_path = saved;
                }
            }
        }
        /* scattered leaves, last to first */
        uint64_t idx[16];
        size_t k = 0;
        for (uint64_t m = n - 1;; m -= 7) {
            idx[k] = m;
            make_proof((const hash_t *)leaves, n, m, &bufs[k++]);
            if (m < 7 || k == 16)
                break;
        }
        assert_int_equal(verify_run((const hash_t *)leaves, n, idx, k, bufs, &head), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_root),
        cmocka_unit_test(test_published_roots),
        cmocka_unit_test(test_inclusion_vectors),
        cmocka_unit_test(test_inclusion_edges),
        cmocka_unit_test(test_consistency_vectors),
        cmocka_unit_test(test_consistency_edges),
        cmocka_unit_test(test_property_sweep),
        cmocka_unit_test(test_stored_source),
        cmocka_unit_test(test_verify_many),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
