/*
 * tlog.h - the aggregator's transparency log (RFC 6962 / RFC 9162 2.1),
 * kept in the aggregator's LMDB store.
 *
 * Every leaf is a canonical LogLeaf (logleaf.h): an accepted envelope with
 * its receive time, a message the prefecture sent a county, a key event,
 * equivocation evidence (a store begun before log version 2 starts with
 * bare envelopes). The log hashes whatever entry it is given; what the
 * entry is, is recorded beside it (log_entries). Perfect subtree
 * hashes are stored as they complete (amortised O(1) per append), so a
 * root, an inclusion proof or a consistency proof costs O(log^2 n) lookups
 * whatever the size. After each commit the aggregator signs a tree head
 * (size, root, time) and keeps every head it signed.
 *
 * The log owns five databases of the aggregator's LMDB environment, handed
 * to zb_tlog_open (astore.h names them):
 *   log_nodes   level (1 byte) || index (u64 BE) -> 32-byte hash of the
 *               perfect subtree of 2^level leaves (level 0: leaf hashes)
 *   log_entries log index (u64 BE) -> county || seq (14 bytes): which
 *               envelope a leaf is; or kind (zb_leaf_kind, 1 byte) ||
 *               county || number (15 bytes): which downstream message, key
 *               event or evidence (one record per leaf: the log's size is
 *               their count)
 *   env_log     county || seq -> log index (u64 BE)
 *   tree_heads  tree size (u64 BE) -> packed SignedTreeHead (one per commit)
 *   cosigs      tree size (u64 BE) || witness key (32) -> packed Cosignature:
 *               witnesses' cosignatures of the stored head of that size
 *               (cosig.h), each verified before it is stored
 * All functions work inside the caller's transaction and return 0 or a
 * negative ZB_E*: ZB_ENOTFOUND (no such leaf, node or head), ZB_EDECODE (a
 * record of the wrong size), ZB_EINVAL (sizes out of range; signing with a
 * log opened without a key), ZB_ENOMEM, ZB_ESTORE / ZB_EMAPFULL from LMDB
 * (a write transaction must then be aborted).
 */
#ifndef ZB_TLOG_H
#define ZB_TLOG_H

#include <stdint.h>

#include <lmdb.h>

#include "astore.h"
#include "crypto.h"
#include "merkle.h"
#include "zhibao.pb-c.h"

typedef struct zb_tlog zb_tlog;

/* A log over the given databases. signer (borrowed, must outlive the log)
 * signs tree heads; NULL for a log that is only read. Errors: ZB_ENOMEM. */
int zb_tlog_open(zb_tlog **out, MDB_dbi nodes, MDB_dbi entries, MDB_dbi env_log, MDB_dbi heads,
                 MDB_dbi cosigs, const zb_identity *signer);
/* NULL-safe, idempotent; clears *t. */
void zb_tlog_close(zb_tlog **t);

/* Number of leaves. Errors: ZB_ESTORE. */
int zb_tlog_size(zb_tlog *t, MDB_txn *txn, uint64_t *size);

/* What a leaf is. */
typedef enum {
    ZB_LEAF_ENVELOPE = 0,   /* seq: the county's report seq */
    ZB_LEAF_DOWNSTREAM = 1, /* seq: the message's number */
    ZB_LEAF_KEY_EVENT = 2,  /* seq: the key's epoch */
    ZB_LEAF_EVIDENCE = 3    /* seq: the report seq it contradicts */
} zb_leaf_kind;

/* Append entry as leaf number *index (= the old size): county's envelope
 * seq, or its downstream message number seq; updates stored subtrees and
 * the size. Errors: ZB_ESTORE / ZB_EMAPFULL (abort the transaction),
 * ZB_ENOTFOUND / ZB_EDECODE (a stored subtree missing or damaged). */
int zb_tlog_append(zb_tlog *t, MDB_txn *txn, const uint8_t *entry, size_t len, zb_leaf_kind kind,
                   const char county[ZB_COUNTY_LEN], uint64_t seq, uint64_t *index);

/* Root of the first n leaves (n <= size). Errors: ZB_ENOTFOUND (n beyond
 * the log), ZB_EDECODE, ZB_ESTORE. */
int zb_tlog_root(zb_tlog *t, MDB_txn *txn, uint64_t n, uint8_t root[ZB_HASH_LEN]);

/* PATH(m, D[n]) and PROOF(m, D[n]) over the stored log. Errors: ZB_EINVAL
 * (m, n out of range), ZB_ENOTFOUND, ZB_EDECODE, ZB_ESTORE. */
int zb_tlog_inclusion(zb_tlog *t, MDB_txn *txn, uint64_t n, uint64_t m,
                      uint8_t (*proof)[ZB_HASH_LEN], size_t *count);
int zb_tlog_consistency(zb_tlog *t, MDB_txn *txn, uint64_t n, uint64_t m,
                        uint8_t (*proof)[ZB_HASH_LEN], size_t *count);

/* The stored hash of leaf index (SHA-256(0x00 || entry)). ZB_ENOTFOUND,
 * ZB_EDECODE, ZB_ESTORE. */
int zb_tlog_leaf_hash(zb_tlog *t, MDB_txn *txn, uint64_t index, uint8_t out[ZB_HASH_LEN]);

/* Log index of county's envelope seq; ZB_ENOTFOUND when not in the log. */
int zb_tlog_index_of(zb_tlog *t, MDB_txn *txn, const char county[ZB_COUNTY_LEN], uint64_t seq,
                     uint64_t *index);

/* Sign the head of the current log at time now and store it (write txn).
 * Tree head timestamps never decrease: the head is signed at
 * zb_tlog_head_time(newest stored head's timestamp, now), and a clock
 * behind the newest head is logged (ZB-AGG-CLOCK, warn, at most once a
 * minute per log). *out is heap-built (free with
 * zb__signed_tree_head__free_unpacked). Errors: ZB_EINVAL (a log opened
 * without a signer), ZB_ENOMEM, ZB_ESTORE / ZB_EMAPFULL (abort). */
int zb_tlog_sign_head(zb_tlog *t, MDB_txn *txn, int64_t now, Zb__SignedTreeHead **out);

/* The time a leaf appended now gets, and the head signed over it: now, or
 * the newest head's timestamp when the clock is behind it, so that leaf
 * times never decrease along the log and no head is older than its
 * leaves. Errors: ZB_EDECODE, ZB_ESTORE. */
int zb_tlog_leaf_time(zb_tlog *t, MDB_txn *txn, int64_t now, int64_t *at);

/* The timestamp a head signed at now gets after one signed at previous
 * (Unix s): the later of the two. */
int64_t zb_tlog_head_time(int64_t previous, int64_t now);

/* What leaf index is: its kind, county (7 bytes with the NUL) and seq
 * (an envelope's) or number (a downstream message's).
 * Errors: ZB_ENOTFOUND (no such leaf), ZB_EDECODE, ZB_ESTORE. */
int zb_tlog_entry(zb_tlog *t, MDB_txn *txn, uint64_t index, zb_leaf_kind *kind,
                  char county[ZB_COUNTY_LEN + 1], uint64_t *seq);

/* The stored signed tree head of size n (heap-built), with every
 * cosignature stored for it. Errors: ZB_ENOTFOUND (none of that size),
 * ZB_EDECODE, ZB_ESTORE. */
int zb_tlog_head(zb_tlog *t, MDB_txn *txn, uint64_t n, Zb__SignedTreeHead **out);

/* The stored signed tree head a bounded pass over the log proves against:
 * the largest stored head of a size in (above, upto], or when there is
 * none the smallest one larger than above (heap-built, with its
 * cosignatures). ZB_ENOTFOUND when no stored head is larger than above. */
int zb_tlog_head_after(zb_tlog *t, MDB_txn *txn, uint64_t above, uint64_t upto,
                       Zb__SignedTreeHead **out);

/* The newest stored signed tree head (heap-built), with its cosignatures.
 * Errors: ZB_ENOTFOUND (the log never grew), ZB_EDECODE, ZB_ESTORE. */
int zb_tlog_latest_head(zb_tlog *t, MDB_txn *txn, Zb__SignedTreeHead **out);

/* ---- witnesses' cosignatures (cosig.h) */

/* Store a witness's cosignature of the stored head of size: it must verify
 * for that head under agg_pk (the log's key). A witness's later
 * cosignature of the same head replaces its earlier one only when it is
 * earlier in time (the earliest proof of when the head was seen is kept).
 * Errors: ZB_ENOTFOUND (no head of that size), ZB_EBADSIG (does not verify
 * for it), ZB_EDECODE, ZB_ESTORE / ZB_EMAPFULL (abort). */
int zb_tlog_add_cosignature(zb_tlog *t, MDB_txn *txn, const uint8_t agg_pk[ZB_PK_LEN],
                            uint64_t size, const Zb__Cosignature *c);

/* The newest stored head of size <= max_size that has at least one
 * cosignature (heap-built, with them). ZB_ENOTFOUND when none. */
int zb_tlog_witnessed_head(zb_tlog *t, MDB_txn *txn, uint64_t max_size,
                           Zb__SignedTreeHead **out);

/* The newest stored head of size <= max_size with at least min_cosigs
 * cosignatures (heap-built, with them); looks back over at most 4,096
 * stored cosignatures. ZB_ENOTFOUND when none. */
int zb_tlog_witnessed_head_min(zb_tlog *t, MDB_txn *txn, uint64_t max_size, size_t min_cosigs,
                               Zb__SignedTreeHead **out);

/* Every head with cosignatures, ascending size: fn(ctx, head) with a head
 * (and its cosignatures) valid only during the call; a non-zero return
 * stops the walk and is returned. */
int zb_tlog_witnessed_heads(zb_tlog *t, MDB_txn *txn,
                            int (*fn)(void *ctx, const Zb__SignedTreeHead *head), void *ctx);

/* The newest head witness cosigned: its size and the cosignature's time.
 * ZB_ENOTFOUND when none is stored. Walks back from the newest. */
int zb_tlog_cosigned_by(zb_tlog *t, MDB_txn *txn, const uint8_t witness[ZB_PK_LEN],
                        uint64_t *size, int64_t *at);

/* Number of heads that have cosignatures, and the size of the newest one
 * (0 when none): from the cosignatures' keys alone, nothing decoded. */
int zb_tlog_witnessed_count(zb_tlog *t, MDB_txn *txn, uint64_t *heads, uint64_t *newest);

/* Heap-built InclusionProof for the report seq at leaf index, against a
 * tree of n leaves. Errors: as zb_tlog_inclusion, and ZB_ENOMEM. */
int zb_tlog_make_inclusion(zb_tlog *t, MDB_txn *txn, uint64_t n, uint64_t seq, uint64_t index,
                           Zb__InclusionProof **out);
/* The same for count reports at once (seqs[i] at leaf indices[i]), into
 * out[0..count): the subtree hashes their paths share are computed once.
 * *made counts the proofs built (out[0..*made) are set, each to be freed
 * with zb__inclusion_proof__free_unpacked) when an error stops it. */
int zb_tlog_make_inclusions(zb_tlog *t, MDB_txn *txn, uint64_t n, const uint64_t *seqs,
                            const uint64_t *indices, size_t count, Zb__InclusionProof **out,
                            size_t *made);
/* Heap-built ConsistencyProof old_size -> new_size (0 < old <= new).
 * Errors: as zb_tlog_consistency, and ZB_ENOMEM. */
int zb_tlog_make_consistency(zb_tlog *t, MDB_txn *txn, uint64_t old_size, uint64_t new_size,
                             Zb__ConsistencyProof **out);

#endif
