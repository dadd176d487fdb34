/*
 * tlog.h - the aggregator's transparency log (RFC 6962 / RFC 9162 2.1),
 * kept in the aggregator's LMDB store.
 *
 * Every accepted envelope is appended as a leaf whose entry is the
 * envelope's canonical encoding (exactly the bytes stored). Perfect subtree
 * hashes are stored as they complete (amortised O(1) per append), so a
 * root, an inclusion proof or a consistency proof costs O(log^2 n) lookups
 * whatever the size. After each commit the aggregator signs a tree head
 * (size, root, time) and keeps every head it signed.
 * All functions work inside the caller's transaction.
 */
#ifndef ZB_TLOG_H
#define ZB_TLOG_H

#include <stdint.h>

#include "agg.h"
#include "merkle.h"

/* Number of leaves. */
int zb_tlog_size(zb_agg *a, MDB_txn *txn, uint64_t *size);

/* Append entry as leaf number *index (= the old size) for envelope key
 * county||seq; updates stored subtrees and the size. */
int zb_tlog_append(zb_agg *a, MDB_txn *txn, const uint8_t *entry, size_t len,
                   const char county[ZB_COUNTY_LEN], uint64_t seq, uint64_t *index);

/* Root of the first n leaves (n <= size). */
int zb_tlog_root(zb_agg *a, MDB_txn *txn, uint64_t n, uint8_t root[ZB_HASH_LEN]);

/* PATH(m, D[n]) and PROOF(m, D[n]) over the stored log. */
int zb_tlog_inclusion(zb_agg *a, MDB_txn *txn, uint64_t n, uint64_t m,
                      uint8_t (*proof)[ZB_HASH_LEN], size_t *count);
int zb_tlog_consistency(zb_agg *a, MDB_txn *txn, uint64_t n, uint64_t m,
                        uint8_t (*proof)[ZB_HASH_LEN], size_t *count);

/* Log index of county's seq; ZB_ENOTFOUND when not in the log. */
int zb_tlog_index_of(zb_agg *a, MDB_txn *txn, const char county[ZB_COUNTY_LEN], uint64_t seq,
                     uint64_t *index);

/* Sign the head of the current log at time now and store it (write txn).
 * *out is heap-built (free with zb__signed_tree_head__free_unpacked). */
int zb_tlog_sign_head(zb_agg *a, MDB_txn *txn, int64_t now, Zb__SignedTreeHead **out);

/* The newest stored signed tree head (heap-built), ZB_ENOTFOUND if none. */
int zb_tlog_latest_head(zb_agg *a, MDB_txn *txn, Zb__SignedTreeHead **out);

/* Heap-built InclusionProof for the report seq at leaf index, against a
 * tree of n leaves. */
int zb_tlog_make_inclusion(zb_agg *a, MDB_txn *txn, uint64_t n, uint64_t seq, uint64_t index,
                           Zb__InclusionProof **out);
/* Heap-built ConsistencyProof old_size -> new_size (0 < old <= new). */
int zb_tlog_make_consistency(zb_agg *a, MDB_txn *txn, uint64_t old_size, uint64_t new_size,
                             Zb__ConsistencyProof **out);

#endif
