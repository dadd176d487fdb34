/*
 * merkle.c - RFC 6962 section 2.1 Merkle tree hashes and proofs.
 *
 * The generators follow the recursive definitions MTH, PATH and PROOF/SUBPROOF of RFC 6962
 * 2.1 over an in-memory array of leaf hashes; the verifiers are the iterative algorithms of
 * RFC 9162 2.1.3.2 and 2.1.4.2, which never trust a proof's length and need no tree.
 * Every hash compared here (roots, leaf hashes) is public, so memcmp is fine.
 */
#include "merkle.h"

#include <assert.h>
#include <string.h>

#include <sodium.h>

#include "err.h"

/* Domain-separation prefixes (RFC 6962 2.1): a leaf can never collide with a node. */
enum { LEAF_PREFIX = 0x00, NODE_PREFIX = 0x01 };

void zb_merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[ZB_HASH_LEN])
{
    const uint8_t prefix = LEAF_PREFIX;
    crypto_hash_sha256_state st;

    assert(entry != NULL || len == 0);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    if (len > 0)
        crypto_hash_sha256_update(&st, entry, len);
    crypto_hash_sha256_final(&st, out);
}

void zb_merkle_node_hash(const uint8_t left[ZB_HASH_LEN], const uint8_t right[ZB_HASH_LEN],
                         uint8_t out[ZB_HASH_LEN])
{
    const uint8_t prefix = NODE_PREFIX;
    crypto_hash_sha256_state st;

    /* Hashing into a state first lets out alias left or right (the verifiers rely on it). */
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    crypto_hash_sha256_update(&st, left, ZB_HASH_LEN);
    crypto_hash_sha256_update(&st, right, ZB_HASH_LEN);
    crypto_hash_sha256_final(&st, out);
}

/* Largest power of two strictly below n (n >= 2). Written as k < n - k so that k never
 * overflows, even for n > 2^63. */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;

    assert(n >= 2);
    while (k < n - k)
        k <<= 1;
    return k;
}

void zb_merkle_root_of_leaves(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t n,
                              uint8_t out[ZB_HASH_LEN])
{
    uint8_t left[ZB_HASH_LEN], right[ZB_HASH_LEN];
    uint64_t k;

    if (n == 0) {
        crypto_hash_sha256(out, NULL, 0);
        return;
    }
    assert(leaves != NULL);
    if (n == 1) {
        memcpy(out, leaves[0], ZB_HASH_LEN);
        return;
    }
    /* Recursion depth is log2(n): at most 64 frames. */
    k = split_point(n);
    zb_merkle_root_of_leaves(leaves, k, left);
    zb_merkle_root_of_leaves(leaves + k, n - k, right);
    zb_merkle_node_hash(left, right, out);
}

/* A source of subtree hashes: MTH(D[start:start+size]). The proof
 * generators below only ever ask for ranges the RFC recursion produces. */
typedef struct {
    zb_merkle_subtree_fn fn;
    void *ctx;
} source;

/* Appends MTH(D[start:start+n]) to the proof. Callers bound *count beforehand. */
static int append_root(const source *src, uint64_t start, uint64_t n,
                       uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    assert(*count < ZB_MERKLE_MAX_PROOF);
    int rc = src->fn(src->ctx, start, n, proof[*count]);
    if (rc == 0)
        (*count)++;
    return rc;
}

/* PATH(m, D[start:start+n]). The recursive call comes before the append so that the hashes
 * come out in RFC order, from the leaf's sibling up to the root's child. Each level adds one
 * hash, and a tree of at most 2^64 leaves has at most 64 levels. */
static int inclusion_path(const source *src, uint64_t start, uint64_t n, uint64_t m,
                          uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    if (n <= 1)
        return ZB_OK;
    uint64_t k = split_point(n);
    int rc;
    if (m < k) {
        if ((rc = inclusion_path(src, start, k, m, proof, count)))
            return rc;
        return append_root(src, start + k, n - k, proof, count);
    }
    if ((rc = inclusion_path(src, start + k, n - k, m - k, proof, count)))
        return rc;
    return append_root(src, start, k, proof, count);
}

/* SUBPROOF(m, D[start:start+n], b). have_root (the RFC's b) is true while the range is still
 * a prefix of the whole tree: the verifier then already knows MTH(D[0:m]) as the old root, so
 * it is left out when the recursion reaches m == n. */
static int consistency_subproof(const source *src, uint64_t start, uint64_t n, uint64_t m,
                                int have_root, uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    if (m == n)
        return have_root ? ZB_OK : append_root(src, start, n, proof, count);
    uint64_t k = split_point(n);
    int rc;
    if (m <= k) {
        if ((rc = consistency_subproof(src, start, k, m, have_root, proof, count)))
            return rc;
        return append_root(src, start + k, n - k, proof, count);
    }
    if ((rc = consistency_subproof(src, start + k, n - k, m - k, 0, proof, count)))
        return rc;
    return append_root(src, start, k, proof, count);
}

int zb_merkle_inclusion_proof_src(zb_merkle_subtree_fn fn, void *ctx, uint64_t n, uint64_t m,
                                  uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    assert(count != NULL);
    *count = 0;
    if (m >= n)
        return ZB_EINVAL;
    assert(proof != NULL);
    source src = {fn, ctx};
    int rc = inclusion_path(&src, 0, n, m, proof, count);
    if (rc)
        *count = 0;
    return rc;
}

int zb_merkle_consistency_proof_src(zb_merkle_subtree_fn fn, void *ctx, uint64_t n, uint64_t m,
                                    uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    assert(count != NULL);
    *count = 0;
    if (m == 0 || m > n)
        return ZB_EINVAL;
    /* The proof holds at most one hash per level plus the old subtree: 64 for n <= 2^63.
     * Larger trees cannot be held anywhere anyway. */
    if (n > (UINT64_C(1) << 63))
        return ZB_ETOOBIG;
    assert(proof != NULL);
    source src = {fn, ctx};
    int rc = consistency_subproof(&src, 0, n, m, 1, proof, count);
    if (rc)
        *count = 0;
    return rc;
}

int zb_merkle_subtree_from_perfect(zb_merkle_perfect_fn perfect, void *ctx, uint64_t start,
                                   uint64_t size, uint8_t out[ZB_HASH_LEN])
{
    if (size == 0)
        return ZB_EINVAL;
    if ((size & (size - 1)) == 0 && start % size == 0) {
        unsigned level = 0;
        while ((UINT64_C(1) << level) < size)
            level++;
        return perfect(ctx, level, start >> level, out);
    }
    uint64_t k = split_point(size);
    uint8_t left[ZB_HASH_LEN], right[ZB_HASH_LEN];
    int rc = zb_merkle_subtree_from_perfect(perfect, ctx, start, k, left);
    if (rc == 0)
        rc = zb_merkle_subtree_from_perfect(perfect, ctx, start + k, size - k, right);
    if (rc == 0)
        zb_merkle_node_hash(left, right, out);
    return rc;
}

/* The in-memory source: the leaf hashes themselves. */
static int array_subtree(void *ctx, uint64_t start, uint64_t size, uint8_t out[ZB_HASH_LEN])
{
    const uint8_t(*leaves)[ZB_HASH_LEN] = ctx;
    zb_merkle_root_of_leaves(leaves + start, size, out);
    return ZB_OK;
}

int zb_merkle_inclusion_proof(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t n, uint64_t m,
                              uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    if (m < n)
        assert(leaves != NULL);
    return zb_merkle_inclusion_proof_src(array_subtree, (void *)leaves, n, m, proof, count);
}

int zb_merkle_consistency_proof(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t n, uint64_t m,
                                uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    return zb_merkle_consistency_proof_src(array_subtree, (void *)leaves, n, m, proof, count);
}

int zb_merkle_verify_inclusion(const uint8_t leaf_hash[ZB_HASH_LEN], uint64_t index,
                               uint64_t tree_size, const uint8_t (*proof)[ZB_HASH_LEN],
                               size_t count, const uint8_t root[ZB_HASH_LEN])
{
    uint8_t r[ZB_HASH_LEN];
    uint64_t fn = index, sn;

    if (index >= tree_size || count > ZB_MERKLE_MAX_PROOF)
        return ZB_EINVAL;
    assert(proof != NULL || count == 0);
    sn = tree_size - 1;
    memcpy(r, leaf_hash, ZB_HASH_LEN);
    for (size_t i = 0; i < count; i++) {
        if (sn == 0) /* proof longer than the path */
            return ZB_EBADSIG;
        if ((fn & 1) || fn == sn) {
            /* r is a right child (or the last node of its level, promoted without a
             * sibling): skip the levels where it has no left sibling. */
            zb_merkle_node_hash(proof[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            zb_merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    /* sn != 0: proof shorter than the path. */
    return sn == 0 && memcmp(r, root, ZB_HASH_LEN) == 0 ? ZB_OK : ZB_EBADSIG;
}

int zb_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                 const uint8_t root1[ZB_HASH_LEN],
                                 const uint8_t root2[ZB_HASH_LEN],
                                 const uint8_t (*proof)[ZB_HASH_LEN], size_t count)
{
    uint8_t fr[ZB_HASH_LEN], sr[ZB_HASH_LEN];
    const uint8_t *seed;
    size_t next;
    uint64_t fn, sn;

    if (size1 > size2 || count > ZB_MERKLE_MAX_PROOF)
        return ZB_EINVAL;
    if (size1 == size2)
        return count == 0 && memcmp(root1, root2, ZB_HASH_LEN) == 0 ? ZB_OK : ZB_EBADSIG;
    if (size1 == 0) /* every tree extends the empty one */
        return count == 0 ? ZB_OK : ZB_EBADSIG;
    if (count == 0)
        return ZB_EBADSIG;
    assert(proof != NULL);

    /* When size1 is a power of two the old tree is a complete subtree whose hash (root1) the
     * proof omits; the RFC prepends root1 to the proof. Starting from seed without copying
     * the proof does the same. */
    if ((size1 & (size1 - 1)) == 0) {
        seed = root1;
        next = 0;
    } else {
        seed = proof[0];
        next = 1;
    }
    fn = size1 - 1;
    sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    memcpy(fr, seed, ZB_HASH_LEN);
    memcpy(sr, seed, ZB_HASH_LEN);
    for (size_t i = next; i < count; i++) {
        if (sn == 0) /* proof longer than needed */
            return ZB_EBADSIG;
        if ((fn & 1) || fn == sn) {
            /* A left sibling: part of both trees. */
            zb_merkle_node_hash(proof[i], fr, fr);
            zb_merkle_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            /* A right sibling: only in the new tree. */
            zb_merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(fr, root1, ZB_HASH_LEN) != 0 || memcmp(sr, root2, ZB_HASH_LEN) != 0)
        return ZB_EBADSIG;
    return ZB_OK;
}
