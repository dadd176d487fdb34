/*
 * merkle.h - RFC 6962 / RFC 9162 section 2.1 Merkle tree hashing, inclusion
 * and consistency proofs.
 *
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of 2 < n
 *
 * The generators here take all leaf hashes in memory and are O(n): they are
 * the reference used by tests and by small batches (receipts). The
 * aggregator's log keeps stored subtree hashes for O(log n) proofs.
 * The verifiers are the iterative algorithms of RFC 9162 2.1.3.2 / 2.1.4.2.
 * Pure functions, thread-safe.
 */
#ifndef ZB_MERKLE_H
#define ZB_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define ZB_HASH_LEN 32
#define ZB_MERKLE_MAX_PROOF 64 /* hashes; enough for 2^64 leaves */

void zb_merkle_leaf_hash(const uint8_t *entry, size_t len, uint8_t out[ZB_HASH_LEN]);
void zb_merkle_node_hash(const uint8_t left[ZB_HASH_LEN], const uint8_t right[ZB_HASH_LEN],
                         uint8_t out[ZB_HASH_LEN]);

/* Root of the tree whose leaf hashes are leaves[0..n) (n may be 0). */
void zb_merkle_root_of_leaves(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t n,
                              uint8_t out[ZB_HASH_LEN]);

/* Inclusion proof PATH(m, D[0:n]) from leaf hashes leaves[0..n), m < n.
 * Writes up to ZB_MERKLE_MAX_PROOF hashes to proof, their count to *count.
 * Returns 0 or ZB_EINVAL (m >= n). */
int zb_merkle_inclusion_proof(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t n, uint64_t m,
                              uint8_t (*proof)[ZB_HASH_LEN], size_t *count);

/* Consistency proof PROOF(m, D[0:n]), 0 < m <= n (empty proof when m == n).
 * Returns 0, ZB_EINVAL, or ZB_ETOOBIG for n > 2^63 (the proof could exceed
 * ZB_MERKLE_MAX_PROOF hashes). */
int zb_merkle_consistency_proof(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t n, uint64_t m,
                                uint8_t (*proof)[ZB_HASH_LEN], size_t *count);

/* Stored trees: a source of subtree hashes, MTH(D[start:start+size]),
 * size >= 1. Returns 0 or a ZB_E* code, which the generators pass on. */
typedef int (*zb_merkle_subtree_fn)(void *ctx, uint64_t start, uint64_t size,
                                    uint8_t out[ZB_HASH_LEN]);
/* The hash of the perfect subtree at level (2^level leaves) and index
 * (covering leaves [index << level, (index + 1) << level)). */
typedef int (*zb_merkle_perfect_fn)(void *ctx, unsigned level, uint64_t index,
                                    uint8_t out[ZB_HASH_LEN]);

/* The generators above over any source: with a source backed by stored
 * perfect subtrees (zb_merkle_subtree_from_perfect) a proof costs
 * O(log^2 n) stored lookups and hashes, independent of n's leaves. */
int zb_merkle_inclusion_proof_src(zb_merkle_subtree_fn fn, void *ctx, uint64_t n, uint64_t m,
                                  uint8_t (*proof)[ZB_HASH_LEN], size_t *count);
int zb_merkle_consistency_proof_src(zb_merkle_subtree_fn fn, void *ctx, uint64_t n, uint64_t m,
                                    uint8_t (*proof)[ZB_HASH_LEN], size_t *count);
/* MTH(D[start:start+size]) from perfect subtrees: splits the range the
 * RFC's way until every part is a perfect, aligned subtree. */
int zb_merkle_subtree_from_perfect(zb_merkle_perfect_fn perfect, void *ctx, uint64_t start,
                                   uint64_t size, uint8_t out[ZB_HASH_LEN]);

/* Verify that leaf_hash is leaf index of a tree of tree_size with root.
 * Returns 0 when it holds, ZB_EBADSIG otherwise (including a proof too long
 * or too short for (index, tree_size)); ZB_EINVAL for index >= tree_size or
 * count > ZB_MERKLE_MAX_PROOF. */
__attribute__((warn_unused_result)) int
zb_merkle_verify_inclusion(const uint8_t leaf_hash[ZB_HASH_LEN], uint64_t index,
                           uint64_t tree_size, const uint8_t (*proof)[ZB_HASH_LEN], size_t count,
                           const uint8_t root[ZB_HASH_LEN]);

/* Verify that the tree of size2 with root2 extends the tree of size1 with
 * root1 (RFC 9162 2.1.4.2). size1 == size2 requires an empty proof and
 * equal roots; size1 == 0 is always consistent with an empty proof.
 * Returns 0 when it holds, ZB_EBADSIG otherwise (including a proof of the
 * wrong length), ZB_EINVAL for size1 > size2 or count > ZB_MERKLE_MAX_PROOF. */
__attribute__((warn_unused_result)) int
zb_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[ZB_HASH_LEN],
                             const uint8_t root2[ZB_HASH_LEN],
                             const uint8_t (*proof)[ZB_HASH_LEN], size_t count);

#endif
