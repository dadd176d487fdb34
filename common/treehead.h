/*
 * treehead.h - checking what the aggregator's transparency log signs and
 * proves: signed tree heads, inclusion proofs and consistency proofs in
 * their protobuf form. Shared by the node (receipts), the audit tool and
 * tests, so every party checks the same way.
 */
#ifndef ZB_TREEHEAD_H
#define ZB_TREEHEAD_H

#include <stdint.h>

#include "crypto.h"
#include "merkle.h"
#include "zhibao.pb-c.h"

/* A tree-head file (zhibao-agg tree-head, zhibao-node tree-head; read by
 * zhibao-audit): this magic, then one record (u32 BE length, packed
 * SignedTreeHead). */
#define ZB_STH_FILE_MAGIC "ZBSTH1\n"

typedef struct {
    uint64_t size;
    uint8_t root[ZB_HASH_LEN];
    int64_t timestamp;
} zb_tree_head;

/* Verify a signed tree head against the aggregator's key and decode it.
 * 0, ZB_EBADSIG or ZB_EDECODE. */
__attribute__((warn_unused_result)) int zb_tree_head_verify(const Zb__SignedTreeHead *sth,
                                                            const uint8_t agg_pk[ZB_PK_LEN],
                                                            zb_tree_head *out);

/* Leaf hash of an envelope as the log holds it: SHA-256(0x00 || canonical
 * envelope encoding). env_bytes must be the canonical encoding. */
void zb_envelope_leaf_hash(const uint8_t *env_bytes, size_t len, uint8_t out[ZB_HASH_LEN]);

/* Verify an InclusionProof for leaf_hash against head. 0 or ZB_EBADSIG. */
__attribute__((warn_unused_result)) int zb_inclusion_verify_pb(const Zb__InclusionProof *p,
                                                               const uint8_t leaf[ZB_HASH_LEN],
                                                               const zb_tree_head *head);

/* Verify proofs[0..n) for leaves[0..n), all against head: 0 when every one
 * verifies, else ZB_EBADSIG (or ZB_ENOMEM). The same answer as
 * zb_inclusion_verify_pb on each, at a fraction of the hashing when the
 * leaves sit side by side (a receipt's reports): a proof is proven where it
 * reaches a node an earlier one led to the root through, with the same hash
 * and the very same siblings above it. The proofs must stay unchanged
 * during the call. */
__attribute__((warn_unused_result)) int zb_inclusion_verify_many_pb(
    Zb__InclusionProof *const *proofs, const uint8_t (*leaves)[ZB_HASH_LEN], size_t n,
    const zb_tree_head *head);

/* Verify a ConsistencyProof between two heads (p's sizes must match them).
 * 0 or ZB_EBADSIG. */
__attribute__((warn_unused_result)) int zb_consistency_verify_pb(const Zb__ConsistencyProof *p,
                                                                 const zb_tree_head *old_head,
                                                                 const zb_tree_head *new_head);

/* Heap-built ConsistencyProof PROOF(old_size, D[new_size]) over leaf hashes
 * leaves[0..new_size), 0 < old_size <= new_size (free with
 * zb__consistency_proof__free_unpacked): for a log held in memory (tests,
 * tools; the aggregator's stored log has zb_tlog_make_consistency).
 * 0, ZB_EINVAL, ZB_ETOOBIG or ZB_ENOMEM. */
int zb_consistency_proof_of_leaves(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t old_size,
                                   uint64_t new_size, Zb__ConsistencyProof **out);

#endif
