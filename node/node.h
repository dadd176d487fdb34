/*
 * node.h - the county node's store: identity, configuration, the outbox of
 * signed reports, the aggregator's acknowledgements and receipts.
 *
 * A node directory holds identity.key (Ed25519 seed, 0600) and an LMDB
 * store (data.mdb) with these databases:
 *   meta       county, aggregator endpoint/key, last_seq, last_hash, acked_seq
 *   reports    seq (u64 BE) -> packed Envelope
 *   receipts   first_seq (u64 BE) -> packed BatchReceipt (covers first..last)
 *   accidents  accident_id -> last revision (u64 BE); once a closing or
 *              write_off revision is stored, that revision + its stage (1 byte)
 *   periods    "YYYY-MM" -> number of versions filed (u64 BE)
 *   tree_heads tree size (u64 BE) -> packed SignedTreeHead the node accepted:
 *              the first one on trust, every later one only with a verified
 *              consistency proof from an earlier accepted one
 *   head_proofs tree size (u64 BE) -> packed ConsistencyProof that admitted it
 *   inbox      number (u64 BE) -> flags (u8: 1 = read) || packed
 *              SignedDownstream: the prefecture's messages, verified before
 *              they were stored, numbers 1..inbox_last with no gap
 *   reviews    seq (u64 BE) -> decision (u8) || message number (u64 BE): the
 *              latest review of a report
 *   deadlines  "YYYY-MM" -> deadline (i64 BE) || offset minutes (i32 BE): a
 *              period's deadline as the prefecture moved it
 *   inbox_evidence number (u64 BE) || SHA-256 -> packed SignedDownstream: a
 *              second, different message the prefecture signed under a
 *              number already held (ZB-SYNC-DOWN-EQUIVOCATION)
 *   (meta also counts server_errors: SERVER_ERROR refusals, kept across
 *   runs; and holds inbox_last)
 * and sync.lock, flock'ed by the one running `sync` (its pid inside).
 * Submitting is one write transaction: a report is stored whole or not at all.
 *
 * Write errors: a full file system (or quota) is ZB_ENOSPC, from a commit
 * that failed with ENOSPC/EDQUOT, or with EIO (LMDB's short write) while
 * under 1 MiB is free; the transaction is then gone: nothing was written.
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
       NODE_DB_HEADS, NODE_DB_HEAD_PROOFS, NODE_DB_INBOX, NODE_DB_REVIEWS, NODE_DB_DEADLINES,
       NODE_DB_INBOX_EVIDENCE, NODE_DB_COUNT };

typedef struct zb_node zb_node;

typedef struct {
    char county[16];
    char endpoint[256];
    uint8_t agg_key[ZB_PK_LEN];
    uint8_t node_key[ZB_PK_LEN];
    uint64_t stored; /* last_seq */
    uint64_t acked;
    uint64_t receipts; /* reports 1..receipts covered by verified receipts */
    uint64_t tree_size; /* size of the newest accepted tree head (0: none) */
    uint64_t server_errors; /* SERVER_ERROR refusals met by every sync so far */
    uint64_t inbox; /* downstream messages 1..inbox stored */
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

/* The accidents of a replacement node's predecessor, from the resume file
 * `zhibao-agg revoke` wrote (export.h zb_agg_export_resume): each accident's
 * last revision and whether it was closed or written off, so that this node
 * goes on refusing a revision that does not follow, or follows an end.
 * Call right after zb_node_resume, before any submit. The file's county and
 * after_seq must be this node's and its resume point. All or nothing.
 * Errors: ZB_EVALIDATION (one line per problem in p, nothing stored),
 * ZB_EEXIST (the node already holds reports of its own), ZB_EIO (cannot
 * read path), ZB_ESTORE, ZB_ENOMEM. */
int zb_node_import_accidents(const char *dir, const char *path, zb_problems *p);

/* Open an existing node. readonly: no identity loaded, no writes. */
int zb_node_open(zb_node **out, const char *dir, bool readonly);
void zb_node_close(zb_node **n);

zb_store *zb_node_store(zb_node *n);
/* The node's identity (opened writable) or NULL (read-only); borrowed. */
const zb_identity *zb_node_identity(const zb_node *n);
/* The aggregator's Ed25519 public key given at init; borrowed. */
const uint8_t *zb_node_aggregator_key(const zb_node *n);
/* Fill *st from one read transaction. 0 or ZB_ESTORE (the store cannot
 * be read); fields the store lacks are left 0. */
int zb_node_get_status(zb_node *n, zb_node_status *st);

/* Add one to the stored count of SERVER_ERROR refusals (status's
 * server_errors). 0, ZB_ENOSPC or another store error. */
int zb_node_count_server_error(zb_node *n);

/* The lock file of the one `sync` allowed per node directory. */
#define ZB_NODE_SYNC_LOCK "sync.lock"

/* Take DIR/sync.lock (flock, exclusive, not waiting) for the life of n:
 * released by zb_node_close or when the process dies, however it dies.
 * Submits do not take it. ZB_ELOCKED when another process holds it, with
 * its pid in *holder_pid (0 when unknown); ZB_EIO when the file cannot
 * be opened (logged). Idempotent. */
int zb_node_lock_sync(zb_node *n, long *holder_pid);

/* Assign seq, chain, sign and store reports[0..count) (content only; the
 * header is filled here) in one transaction, created_at = now. Validates
 * each (shared rules + this node's state: accident revisions follow the
 * last one stored, and none follows a closing or write_off revision). All
 * or nothing: on ZB_EVALIDATION problems holds one line per problem and
 * nothing is stored. prefix_index: when true the field paths are prefixed
 * with "[i]." (bulk input). Store failures, with nothing stored either:
 * ZB_ENOSPC (disk full), ZB_EMAPFULL (the map could not grow), ZB_EIO,
 * ZB_ESTORE, ZB_ENOMEM, ZB_EDECODE (a damaged accidents record). */
int zb_node_submit(zb_node *n, Zb__Report **reports, size_t count, int64_t now, bool prefix_index,
                   zb_problems *problems, uint64_t *first_seq, uint64_t *last_seq);

/* Where a stored report stands with the aggregator. */
typedef enum {
    ZB_NODE_PENDING,        /* not acknowledged yet */
    ZB_NODE_ACKED,          /* acknowledged; no stored receipt covers it */
    ZB_NODE_RECEIPTED,      /* the stored receipt covering it verifies */
    ZB_NODE_RECEIPT_INVALID /* the stored receipt covering it does not verify */
} zb_node_sync_state;

/* One stored report, as the walks below hand it to their callback. */
typedef struct {
    uint64_t seq;
    /* the packed Envelope exactly as stored: borrowed from the store's read
     * transaction, valid only until the callback returns (copy to keep) */
    const uint8_t *envelope;
    size_t envelope_len;
    zb_node_sync_state sync; /* with ZB_NODE_WITH_SYNC_STATE; else ZB_NODE_PENDING */
    int64_t received_at;     /* ZB_NODE_RECEIPTED: the receipt's receive time (Unix s); else 0 */
    int review;              /* with ZB_NODE_WITH_REVIEW: the latest review's
                                Zb__ReviewDecision, 0 when none; else 0 */
} zb_node_report;

/* A walk's callback: 0 goes on; any other value stops the walk, which then
 * returns it (use a positive value to tell it from the walk's own ZB_E*).
 * It runs inside the walk's read transaction: it must not call other
 * zb_node_* functions on the same node (one read transaction per thread). */
typedef int (*zb_node_report_fn)(void *ctx, const zb_node_report *r);

/* Flags of zb_node_each_report and zb_node_get_report. */
enum {
    /* start after acked_seq (read in the walk's own transaction) if that is
     * later than from_seq: the reports still pending */
    ZB_NODE_FROM_UNACKED = 1u << 0,
    /* fill sync and received_at: for an acknowledged report this finds and
     * verifies the receipt covering it (a batch root over that receipt's
     * reports, per report: for listings, not for bulk work) */
    ZB_NODE_WITH_SYNC_STATE = 1u << 1,
    /* fill review: the prefecture's latest decision on the report */
    ZB_NODE_WITH_REVIEW = 1u << 2,
};

/* Call fn for every stored report with seq >= from_seq, in seq order, in
 * one read transaction (a consistent snapshot: reports submitted meanwhile
 * are not seen). Returns 0 when every report was visited, fn's non-zero
 * value when it stopped the walk, or ZB_ESTORE (the store cannot be read). */
int zb_node_each_report(zb_node *n, uint64_t from_seq, unsigned flags, zb_node_report_fn fn,
                        void *ctx);

/* Call fn once for the stored report seq (flags: 0, ZB_NODE_WITH_SYNC_STATE,
 * ZB_NODE_WITH_REVIEW).
 * Returns what fn returned, ZB_ENOTFOUND (no report seq here) or ZB_ESTORE. */
int zb_node_get_report(zb_node *n, uint64_t seq, unsigned flags, zb_node_report_fn fn,
                       void *ctx);

/* One stored receipt, as zb_node_each_receipt hands it to its callback. */
typedef struct {
    /* the packed BatchReceipt exactly as stored: borrowed from the walk's
     * read transaction, valid only until the callback returns */
    const uint8_t *receipt;
    size_t receipt_len;
    int verify; /* 0, or what zb_node_verify_receipt gave (ZB_EBADSIG, ZB_EDECODE, ...) */
    /* from the signed statement when verify is 0; else 0 */
    uint64_t first_seq, last_seq;
    int64_t received_at; /* Unix s */
    bool has_signature;  /* the receipt decodes and carries a signature of ZB_SIG_LEN */
    uint8_t signature[ZB_SIG_LEN];
} zb_node_receipt;

/* Same contract as zb_node_report_fn. */
typedef int (*zb_node_receipt_fn)(void *ctx, const zb_node_receipt *r);

/* Call fn for every stored receipt in first_seq order, each re-verified as
 * zb_node_verify_receipt does (its result in verify, never returned), in
 * one read transaction. Returns 0, fn's non-zero value when it stopped the
 * walk, or ZB_ESTORE. */
int zb_node_each_receipt(zb_node *n, zb_node_receipt_fn fn, void *ctx);

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

/* ---- the prefecture's messages (inbox.c; downstream.h) */

/* Store the messages of one Deliver: each is verified (zb_down_open_signed
 * with the aggregator key given at init, addressed to this county); those
 * numbered inbox_last + 1, + 2 ... are stored in order, with the reviews
 * and deadlines they carry, in one transaction, committed before this
 * returns. Numbers already held are skipped (a resend); the first message
 * that does not verify or does not follow stops the walk there (logged
 * ZB-SYNC-DOWN: the aggregator sends it again from inbox_last + 1). A
 * verified message under a number already held whose bytes differ is kept
 * in inbox_evidence (ZB-SYNC-DOWN-EQUIVOCATION).
 * *inbox_last gets what is now held: what the DeliverAck says.
 * Errors: store errors (nothing stored), ZB_ENOSPC, ZB_ENOMEM. */
int zb_node_store_downstream(zb_node *n, Zb__SignedDownstream *const *msgs, size_t count,
                             uint64_t *inbox_last);

/* One stored message, as zb_node_each_inbox hands it out. */
typedef struct {
    uint64_t number;
    bool read;
    int verify;                /* 0, or what zb_down_open gave now (ZB_EBADSIG, ...) */
    const Zb__Downstream *msg; /* decoded when verify is 0 (else NULL): borrowed for the call */
} zb_node_inbox_msg;

/* Same contract as zb_node_report_fn. */
typedef int (*zb_node_inbox_fn)(void *ctx, const zb_node_inbox_msg *m);

/* Every stored message in number order (only the unread ones with
 * unread_only), each verified again against the aggregator key. Returns
 * 0, fn's non-zero value, or ZB_ESTORE. */
int zb_node_each_inbox(zb_node *n, bool unread_only, zb_node_inbox_fn fn, void *ctx);

/* Mark message number read (local only; idempotent). ZB_ENOTFOUND when
 * there is none; store errors. */
int zb_node_inbox_mark_read(zb_node *n, uint64_t number);

/* Messages held (1..*last) and how many of them are unread. */
int zb_node_inbox_counts(zb_node *n, uint64_t *last, uint64_t *unread);

/* The deadline this county files for next at now: of the periods from
 * three months back to the current one, those not filed yet whose deadline
 * (moved by the prefecture, or the default 5th 23:59:59 +08:00 of the next
 * month) is still ahead, the earliest. period gets "YYYY-MM". 0 or
 * ZB_ESTORE. */
int zb_node_next_deadline(zb_node *n, int64_t now, char period[8], int64_t *deadline,
                          int32_t *offset_min);

/* ---- for the node module's own files */
const char *zb_node_county_(const zb_node *n);
/* The latest review of seq in txn (Zb__ReviewDecision), 0 when none. */
int zb_node_review_in_(zb_node *n, MDB_txn *txn, uint64_t seq);
int zb_node_commit_(zb_node *n, MDB_txn *txn);

#endif
