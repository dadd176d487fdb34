/*
 * node.h - the county node's store: identity, configuration, the outbox of
 * signed reports, the aggregator's acknowledgements and receipts.
 *
 * A node directory holds identity.key (Ed25519 seed, 0600) and an LMDB
 * store (data.mdb) with these databases:
 *   meta       county, aggregator endpoint/key, last_seq, last_hash, acked_seq
 *   reports    seq (u64 BE) -> packed Envelope
 *   receipts   first_seq (u64 BE) -> packed BatchReceipt (covers first..last)
 *   accidents  accident_id -> last revision (u64 BE)
 *   periods    "YYYY-MM" -> number of versions filed (u64 BE)
 *   tree_heads tree size (u64 BE) -> packed SignedTreeHead the node accepted:
 *              the first one on trust, every later one only with a verified
 *              consistency proof from an earlier accepted one
 *   head_proofs tree size (u64 BE) -> packed ConsistencyProof that admitted it
 * Submitting is one write transaction: a report is stored whole or not at all.
 */
#ifndef ZB_NODE_H
#define ZB_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "report.h"
#include "store.h"
#include "zhibao.pb-c.h"

enum { NODE_DB_META, NODE_DB_REPORTS, NODE_DB_RECEIPTS, NODE_DB_ACCIDENTS, NODE_DB_PERIODS,
       NODE_DB_HEADS, NODE_DB_HEAD_PROOFS, NODE_DB_COUNT };

typedef struct zb_node zb_node;

typedef struct {
    char county[16];
    char endpoint[256];
    uint8_t agg_key[ZB_PK_LEN];
    uint8_t node_key[ZB_PK_LEN];
    uint64_t stored; /* last_seq */
    uint64_t acked;
    uint64_t receipts; /* reports 1..receipts covered by verified receipts */
} zb_node_status;

/* Create a node in dir (created if absent; refuses ZB_EEXIST when a node
 * already lives there). Writes the node's public key hex to pk_hex. */
int zb_node_create(const char *dir, const char *county, const char *endpoint,
                   const char *agg_key_hex, char pk_hex[2 * ZB_PK_LEN + 1]);

/* A replacement node (its predecessor's key was revoked): continue the
 * county's chain after resume_seq whose report hash is resume_hash, as
 * `zhibao-agg enroll` printed. Call right after zb_node_create, before any
 * submit. ZB_EEXIST when the node already holds reports. */
int zb_node_resume(const char *dir, uint64_t resume_seq, const uint8_t resume_hash[ZB_SHA256_LEN]);

/* Open an existing node. readonly: no identity loaded, no writes. */
int zb_node_open(zb_node **out, const char *dir, bool readonly);
void zb_node_close(zb_node **n);

zb_store *zb_node_store(zb_node *n);
/* The node's identity (opened writable) or NULL (read-only); borrowed. */
const zb_identity *zb_node_identity(const zb_node *n);
/* The aggregator's Ed25519 public key given at init; borrowed. */
const uint8_t *zb_node_aggregator_key(const zb_node *n);
int zb_node_get_status(zb_node *n, zb_node_status *st);

/* Assign seq, chain, sign and store reports[0..count) (content only; the
 * header is filled here) in one transaction, created_at = now. Validates
 * each (shared rules + this node's state: accident revisions follow the
 * last one stored). All or nothing: on ZB_EVALIDATION problems holds one
 * line per problem and nothing is stored. prefix_index: when true the
 * field paths are prefixed with "[i]." (bulk input). */
int zb_node_submit(zb_node *n, Zb__Report **reports, size_t count, int64_t now, bool prefix_index,
                   zb_problems *problems, uint64_t *first_seq, uint64_t *last_seq);

/* Copy the packed envelope for seq (malloc'd, caller frees). */
int zb_node_get_envelope(zb_node *n, MDB_txn *txn, uint64_t seq, uint8_t **buf, size_t *len);

/* Record an acknowledgement: acked_seq (monotonic: a lower value is
 * ignored) and the receipts, each verified against the aggregator key and
 * the stored reports before it is kept (unverifiable ones are logged and
 * dropped). Returns 0 or a store error. */
int zb_node_record_ack(zb_node *n, uint64_t acked_seq, Zb__BatchReceipt *const *receipts,
                       size_t n_receipts, const Zb__SignedTreeHead *head,
                       const Zb__ConsistencyProof *consistency);

/* Size of the newest accepted tree head (0 when none). */
uint64_t zb_node_tree_size(zb_node *n, MDB_txn *txn);

/* Re-verify every accepted tree head (signature, and each one's
 * consistency proof from its predecessor) and every stored receipt
 * (signature, batch root, its head accepted, one inclusion proof per report
 * against it). Calls finding() once per problem. Returns the number of
 * findings or a negative ZB_E*; *receipts, *reports, *newest_size report
 * what was checked. */
long zb_node_verify_all(zb_node *n, void (*finding)(void *ctx, const char *line), void *ctx,
                        uint64_t *receipts, uint64_t *reports, uint64_t *newest_size);

/* Verify one receipt against the aggregator key and this node's stored
 * reports (txn: any open transaction), including its inclusion proofs
 * against a tree head this node accepted. Fills *first, *last from the
 * statement. 0, ZB_EBADSIG (signature, root or county wrong), ZB_EDECODE. */
__attribute__((warn_unused_result)) int zb_node_verify_receipt(zb_node *n, MDB_txn *txn,
                                                              const uint8_t *receipt, size_t len,
                                                              uint64_t *first, uint64_t *last,
                                                              int64_t *received_at);

/* The highest seq such that every seq <= it is covered by a stored
 * receipt (receipts are verified before they are stored). */
uint64_t zb_node_receipted_seq(zb_node *n, MDB_txn *txn);

/* Find the stored receipt covering seq: copies it (malloc'd) to *buf.
 * ZB_ENOTFOUND when none. */
int zb_node_find_receipt(zb_node *n, MDB_txn *txn, uint64_t seq, uint8_t **buf, size_t *len);

#endif
