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
 *   own_keys   Ed25519 public key (32 bytes) -> when it became this node's
 *              key (i64 BE, Unix s; 0 unknown): every key the node has held
 *              (keys.c; a store of an older release lists none: its
 *              node_key is its own key all the same)
 *   key_events log index (u64 BE) -> the LogLeaf bytes of a key event of
 *              this county, proven included under a tree head the node
 *              accepted (keys.c): what the prefecture's log says about the
 *              county's keys, kept as evidence
 *   final_heads tree size (u64 BE) -> (empty): an accepted head proven a
 *              prefix of a head that carries the node's witness quorum
 *              (witness.c; only with --witness-quorum)
 *   witnessed  tree size (u64 BE) -> packed SignedTreeHead with the
 *              cosignatures that made it count: the witnessed heads taken
 *   (meta witness_keys: the witnesses' keys, 32 bytes each, witness_quorum
 *   (u64 BE, 0: heads are accepted without witnesses), witnessed_size)
 *   (meta also counts server_errors: SERVER_ERROR refusals, kept across
 *   runs; holds inbox_last; key_request: the packed SignedKeyRequest last
 *   made for node_key (init or rotate-key); key_alarm: the first key alarm,
 *   kept for good)
 * and sync.lock, flock'ed by the one running `sync` (its pid inside), and
 * key-request: the packed SignedKeyRequest for the prefecture (init and
 * rotate-key write it; `zhibao-agg enroll --request` reads it).
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

#include "cosig.h"
#include "crypto.h"
#include "report.h"
#include "store.h"
#include "treehead.h"
#include "zhibao.pb-c.h"

enum { NODE_DB_META, NODE_DB_REPORTS, NODE_DB_RECEIPTS, NODE_DB_ACCIDENTS, NODE_DB_PERIODS,
       NODE_DB_HEADS, NODE_DB_HEAD_PROOFS, NODE_DB_INBOX, NODE_DB_REVIEWS, NODE_DB_DEADLINES,
       NODE_DB_INBOX_EVIDENCE, NODE_DB_OWN_KEYS, NODE_DB_KEY_EVENTS, NODE_DB_FINAL_HEADS,
       NODE_DB_WITNESSED, NODE_DB_COUNT };

/* The key request init writes into the node directory (0600). */
#define ZB_NODE_KEY_REQUEST_FILE "key-request"
/* The tree-head file format of `zhibao-node tree-head`, as `zhibao-agg
 * tree-head` writes it and zhibao-audit reads it: this magic, then one
 * record: its length (u32 BE) and the packed SignedTreeHead. */
#define ZB_NODE_STH_MAGIC ZB_STH_FILE_MAGIC

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
 * already lives there). Writes the node's public key hex to pk_hex, and
 * DIR/key-request (ZB_NODE_KEY_REQUEST_FILE, 0600, written atomically):
 * the packed SignedKeyRequest, signed by the new key, that the prefecture
 * enrols it with (zb_keyreq_make, no previous key). */
int zb_node_create(const char *dir, const char *county, const char *endpoint,
                   const char *agg_key_hex, char pk_hex[2 * ZB_PK_LEN + 1]);

/* zb_node_create with a given identity (copied; the caller keeps and
 * wipes its own): a prefecture's upstream node signs with the
 * aggregator's own key (protocol.md §14.2). */
int zb_node_create_as(const char *dir, const char *county, const char *endpoint,
                      const char *agg_key_hex, const zb_identity *id,
                      char pk_hex[2 * ZB_PK_LEN + 1]);

/* Change the endpoint stored at init (the aggregator moved): one write
 * transaction. ZB_EINVAL (empty or too long), ZB_ENOTFOUND, ZB_ESTORE. */
int zb_node_set_endpoint(const char *dir, const char *endpoint);

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
    uint64_t head_size;  /* the size of the tree head its proofs are against (0: none) */
    bool witnessed;      /* that head is final (zb_node_head_final): always without a quorum */
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

/* Write the newest tree head this node accepted to path in the tree-head
 * file format (ZB_NODE_STH_MAGIC; byte for byte what `zhibao-agg
 * tree-head` writes for that head), atomically (path.tmp, fsync, rename;
 * mode 0644: a tree head is public). *size gets its tree size.
 * ZB_ENOTFOUND when the node has accepted no head yet; ZB_EIO, ZB_ESTORE. */
int zb_node_write_tree_head(zb_node *n, const char *path, uint64_t *size);

/* ---- the county's keys (keys.c)
 *
 * Every key event of the county (docs/protocol.md §7) comes with each
 * Welcome, proven against the Welcome's tree head. The node keeps those it
 * could prove against a head it accepted and judges them against the keys
 * it has held itself (own_keys, and node_key):
 *   - own_epoch: the epoch of the ENROLLED event of its first own key in
 *     log order;
 *   - alarm "enrolled": an ENROLLED event with epoch > own_epoch of a key
 *     this node never held (someone else may sign the county's reports);
 *   - alarm "revoked": a REVOKED event of an own key without consent;
 *   - alarm "invalid": a leaf proven in the log as this county's key event
 *     that does not decode, is not a key event of this county, or fails
 *     zb_key_event_check (the prefecture's log holds a forgery);
 *   - state: "revoked" when the last event of the current key revokes it,
 *     "active" when it enrols it, "unknown" before either is seen.
 * The first alarm is kept (meta key_alarm) and never cleared: it is
 * evidence. Each new alarm is logged ZB-SYNC-KEY (error). */

typedef enum { ZB_NODE_KEY_UNKNOWN, ZB_NODE_KEY_ACTIVE, ZB_NODE_KEY_REVOKED } zb_node_key_state;

typedef enum {
    ZB_NODE_ALARM_NONE = 0,
    ZB_NODE_ALARM_ENROLLED, /* a key this node never held enrolled for the county */
    ZB_NODE_ALARM_REVOKED,  /* a key of this node revoked without its consent */
    ZB_NODE_ALARM_INVALID   /* a logged key event that does not verify */
} zb_node_alarm;

/* One logged key event, as the node saw it. */
typedef struct {
    uint64_t log_index;
    int64_t time;   /* the leaf's timestamp: when it entered the log (Unix s) */
    uint32_t epoch;
    bool has_key;   /* false: an invalid leaf with no key to show */
    uint8_t key[ZB_PK_LEN];
    bool consented; /* a revocation the key consented to (a rotation) */
} zb_node_key_event;

typedef struct {
    zb_node_key_state state;
    zb_node_key_event revocation; /* state REVOKED: the event that revoked the current key */
    zb_node_alarm alarm;          /* the first alarm, ZB_NODE_ALARM_NONE when none */
    zb_node_key_event alarm_event;
    uint64_t events;              /* key events held */
    /* the current key came from rotate-key and is not seen enrolled yet:
     * the prefecture has not applied its rotation request (as far as this
     * node knows) */
    bool rotation_waiting;
} zb_node_keys;

/* "enrolled", "revoked", "invalid" (NULL for ZB_NODE_ALARM_NONE). */
const char *zb_node_alarm_name(zb_node_alarm a);

/* The county's key state as this node knows it, from one read
 * transaction. 0 or ZB_ESTORE. */
int zb_node_key_status(zb_node *n, zb_node_keys *out);

/* Take the key events of a Welcome: head is the Welcome's tree head
 * (already passed to zb_node_record_ack). Unless this node accepted that
 * very head (signature, and stored as accepted: same size and root), none
 * is trusted (logged at debug level) and nothing changes. Each proof is
 * checked: RFC 6962 inclusion of SHA-256(0x00 || leaf) at log_index under
 * the head; one that fails is ignored (ZB-SYNC-KEY warning). Those
 * included are kept in key_events (a different leaf at an index held is
 * logged, the first kept), then every held event is judged as above, in
 * one write transaction committed before this returns. 0, or store errors
 * (ZB_ENOSPC, ZB_EMAPFULL, ZB_ESTORE), ZB_ENOMEM. */
int zb_node_take_key_events(zb_node *n, const Zb__SignedTreeHead *head,
                            Zb__KeyEventProof *const *proofs, size_t count);

/* What zb_node_rotate_key did, or why it did not. */
typedef struct {
    uint8_t old_key[ZB_PK_LEN];
    uint8_t new_key[ZB_PK_LEN];
    uint64_t after_seq;  /* the last seq the old key signed */
    uint64_t pending;    /* ZB_EINVAL: reports not acknowledged yet */
    long lock_holder;    /* ZB_ELOCKED: the pid holding sync.lock (0 unknown) */
    /* a rotation made earlier still waits for the prefecture (its key is
     * not seen enrolled): its request was written to out again, nothing
     * else changed (new_key is that rotation's key) */
    bool rewritten;
    bool request_written; /* false: rotated, but out could not be written (run again) */
} zb_node_rotation;

/* zhibao-node rotate-key: replace the node's key with a new one, as a
 * rotation the old key consents to. Takes the sync lock (zb_node_lock_sync)
 * for the rest of n's life, so no sync runs with the old key meanwhile.
 * Only when every stored report is acknowledged. Makes a new identity and
 * the rotation request (zb_keyreq_make: after_seq = last_seq, after_hash =
 * its report hash, signed by the new key and the old), then in one write
 * transaction: meta node_key and key_request, own_keys[new] = now;
 * identity.key is replaced after that commit (identity.key.new renamed
 * over it: an interrupted rotation is finished by the next writable
 * zb_node_open); then the request is written to out (NULL: DIR/key-request;
 * 0600, atomically). n signs with the new key from then on. Until the
 * prefecture applies the request (zhibao-agg enroll --request) the
 * aggregator refuses the new key.
 * Errors (nothing changed): ZB_EINVAL (r->pending reports not
 * acknowledged), ZB_ELOCKED (a sync runs: r->lock_holder), ZB_ENOTENROLLED
 * (the node's key is revoked in the prefecture's log: a replacement node
 * is made with init --resume), ZB_EIO (the key file), store errors. After
 * the commit it returns 0 even when out cannot be written
 * (r->request_written false: running it again writes it, r->rewritten). */
int zb_node_rotate_key(zb_node *n, const char *out, int64_t now, zb_node_rotation *r);

/* ---- witnesses (witness.c; docs/protocol.md section 13)
 *
 * With a quorum K > 0 the node treats a tree head as final only when it is
 * proven a prefix of a head that K of its witnesses cosigned: a receipt
 * whose head is not final is reported by verify-receipts and counted in
 * status. The aggregator cannot show such a node a log the witnesses have
 * not seen (a split view) without the node noticing: its receipts stay
 * unwitnessed. Heads are still accepted as before (their consistency is
 * what lets a later witnessed head make them final). */

/* Set the witness keys (at most ZB_WITNESS_MAX, no repeats) and quorum
 * (0..n_keys) of a node, replacing what was set. One write transaction.
 * ZB_EINVAL for a quorum above the number of keys; store errors. */
int zb_node_set_witnesses(zb_node *n, const uint8_t (*keys)[ZB_PK_LEN], size_t n_keys,
                          uint64_t quorum);

typedef struct {
    size_t n_keys;
    uint8_t keys[ZB_WITNESS_MAX][ZB_PK_LEN];
    uint64_t quorum;         /* 0: witnesses not required */
    uint64_t witnessed_size; /* the largest head proven witnessed (0: none) */
} zb_node_witnessing;

/* The node's witness settings and progress, in txn. */
int zb_node_witnessing_get(zb_node *n, MDB_txn *txn, zb_node_witnessing *w);

/* Take what a Welcome (or an Ack's receipt head) says about witnesses:
 * head is the head just offered (accepted, or not: then nothing happens);
 * witnessed/proof (may be NULL) an older head with cosignatures and its
 * proof PROOF(witnessed.size, head.size). A head with the node's quorum of
 * valid cosignatures, proven a prefix of an accepted head A, makes final
 * every accepted head of size <= its size on A's chain of admission
 * (each admitted by a consistency proof from the one before). Quorum 0:
 * nothing is done. One write transaction. 0 or store errors; heads that do
 * not verify or lack the quorum are ignored (logged at debug level). */
int zb_node_take_witnessed(zb_node *n, const Zb__SignedTreeHead *head,
                           const Zb__SignedTreeHead *witnessed, const Zb__ConsistencyProof *proof);

/* The witness settings and progress, and how many stored receipts have a
 * head that is not final (0 with quorum 0), in one read transaction. */
int zb_node_witness_summary(zb_node *n, zb_node_witnessing *w, uint64_t *unwitnessed_receipts);

/* The node's witness quorum (0: none set, or the store cannot be read). */
uint32_t zb_node_witness_quorum(zb_node *n);

/* Whether the node waits for witnesses: a quorum is set and the newest
 * accepted head is not witnessed yet (a receipt against it is not final).
 * 0 or a store error. */
int zb_node_witness_pending(zb_node *n, bool *pending);

/* Whether the accepted head of size is final (always with quorum 0; never
 * when the stored quorum cannot be read: a damaged store takes nothing as
 * witnessed). */
bool zb_node_head_final(zb_node *n, MDB_txn *txn, uint64_t size);

/* ---- for the node module's own files */
const char *zb_node_county_(const zb_node *n);
const char *zb_node_dir_(const zb_node *n);
/* Whether head (verified) is a head this node accepted, in txn. */
bool zb_node_head_accepted_(zb_node *n, MDB_txn *txn, const zb_tree_head *head);
/* The node's key rotation, around the commit that records it: stage
 * writes the new identity to DIR/identity.key.new (0600, fsync'ed; a stale
 * one is removed first); unstage removes it (the commit failed); adopt
 * renames it over identity.key, fsyncs the directory and makes it n's
 * identity. 0 or ZB_EIO. */
int zb_node_identity_stage_(zb_node *n, const zb_identity *id);
void zb_node_identity_unstage_(zb_node *n);
int zb_node_identity_adopt_(zb_node *n, const zb_identity *id);
/* keys.c's part of zb_node_create, inside its transaction: own_keys, the
 * key request in meta and in DIR/key-request. */
int zb_node_keys_create_(zb_store *s, MDB_txn *txn, const char *dir, const char *county,
                         const zb_identity *id, int64_t now);
/* The latest review of seq in txn (Zb__ReviewDecision), 0 when none. */
int zb_node_review_in_(zb_node *n, MDB_txn *txn, uint64_t seq);
int zb_node_commit_(zb_node *n, MDB_txn *txn);

#endif
