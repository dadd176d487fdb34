/*
 * astore.h - the aggregator's store: the one module that knows how its
 * records are laid out in LMDB. Everyone else (acceptance rules, server,
 * reports, dashboard, export, status) asks it; nobody else decodes its
 * records. The transparency log (tlog.h) and the yearly figures
 * (figures.h) own their own databases of the same environment and are
 * handed their database handles.
 *
 * An aggregator directory holds identity.key (the aggregator's Ed25519
 * seed, 0600) and one LMDB environment with these databases:
 *   meta         "agg_key" (32 bytes), "keys_gen" (u64 BE: bumped by every
 *                enrol and revoke), "index_version" (u64 BE), "log_size"
 *   counties     county code (6) -> county record (ver 1, below)
 *   envelopes    county (6) || seq (u64 BE) -> received_at (i64 BE, Unix s)
 *                || packed Envelope (canonical: exactly the log leaf)
 *   evidence     county || seq || SHA-256(report) -> packed Envelope of a
 *                refused equivocating report (kept, signed, for auditors)
 *   refusals     reason name -> count (u64 BE)
 *   keys         county || enrolment number (u32 BE) -> key history record
 *   curve_keys   X25519 key (the node key as CurveZMQ presents it) ->
 *                county (an active key) or county || 0x01 (a revoked one:
 *                admitted to learn that it was revoked)
 *   leaves       log index (u64 BE) -> the leaf bytes of a key event or of
 *                evidence (the other leaves are rebuilt from their records)
 *   key_events   county || log index (u64 BE) -> (empty): the county's key
 *                events in the log
 *   (meta "leaf_v2_from" (u64 BE): the first log index whose leaves are
 *   LogLeafs (logleaf.h); the leaves before it are bare envelopes, written
 *   by a release before log version 2)
 *   log_*, env_log, tree_heads   the transparency log's (tlog.h)
 *   figures      the yearly figures' (figures.h)
 *   down         county || number (u64 BE) -> created_at (i64 BE) ||
 *                log index (u64 BE) || packed SignedDownstream: the
 *                prefecture's messages to the county (downstream.h), each
 *                also a leaf of the log
 *   down_state   county -> last number (u64 BE) || delivered (u64 BE:
 *                every number <= it is stored by the county's node) ||
 *                delivered_at (i64 BE, 0: never)
 *   (meta "down_gen" (u64 BE) is bumped by every message written: a
 *   running serve polls it to push new messages)
 *   witnesses    witness key (32) -> added_at (i64 BE) || endpoint (text):
 *                the witnesses serve sends each new tree head to
 *                (zhibao-agg witness; meta "witness_gen" (u64 BE) is bumped
 *                by every change, so a running serve picks it up)
 *   cosigs       the transparency log's (tlog.h): witnesses' cosignatures
 * and these indexes, written in the same transaction as each envelope (or
 * downstream message) and rebuildable from the envelopes (and the down
 * records) alone (zb_astore_reindex):
 *   idx_reviews  county || seq (u64 BE) -> decision (u8) || number (u64)
 *                || created_at (i64): the latest review of a report
 *   idx_deadlines period (u32 BE, ordinal) -> deadline (i64) || offset
 *                minutes (i32): a period's moved deadline
 *   idx_monthly  county || period (u32 BE: year*12 + month-1) || seq ->
 *                ver 2 || created_at || received_at (i64 BE) || flags (u8:
 *                1 = signed before the county's previous report)
 *   idx_acc_revs county || accident_id || 0x00 || seq -> ver 2 ||
 *                revision (u32) || created_at || received_at || occurred_at
 *                || county_notified_at || as_of (i64) || industry || deaths
 *                || missing || serious_injuries (u32) || direct_loss_yuan
 *                (u64) || category || stage || flags (u8 each), all
 *                big-endian: every revision, as the reports need it,
 *                without decoding the envelope (as_of and stage with their
 *                defaults applied)
 *   idx_acc_state county || accident_id -> ver 2 || revisions (u32) ||
 *                in-force revision (u32) || in-force seq (u64) ||
 *                in-force occurred_at (i64) || highest grade reached (u8)
 *                || in-force stage (u8)
 *   idx_chain    county -> the created_at (i64 BE) of its latest report: a
 *                report signed before it is flagged (clock trust)
 *   idx_acc_time occurred_at of the revision in force (i64 BE, sign bit
 *                flipped so that byte order is time order) || county ||
 *                accident_id -> (empty)
 * At a province (meta "level" = "province", "code" its GB/T 2260 code:
 * zhibao-agg init --level --code), whose enrolled members are prefecture
 * aggregators sending relay and summary reports (protocol.md §14), the
 * counties inside their relays are indexed too, in the same transaction:
 *   idx_relay_county county -> prefecture (6): which prefecture relays the
 *                county (the first to relay one of its key events)
 *   idx_relay_keys county || epoch (u32 BE) -> ver 1 || key (32) ||
 *                first_seq (u64) || revoked (u8) || last_seq (u64): the
 *                county's keys as its key events say
 *   idx_relay_env county || seq (u64 BE) -> ver 1 || prefecture (6) ||
 *                outer seq (u64: the prefecture's report holding it) ||
 *                leaf position (u32) || prefecture log index (u64) ||
 *                leaf time (i64) || SHA-256(report) (32): every county
 *                envelope relayed, indexed once (its accident or monthly
 *                report also goes into idx_acc_* / idx_monthly under the
 *                county, received at the leaf time)
 *   idx_relay_state prefecture -> ver 1 || envelopes (each (county, seq) once) || key events ||
 *                other leaves || newest relay head's size (u64 each) ||
 *                its root (32): the head the next relay must extend
 *   idx_summary  prefecture || period (u32 BE) || outer seq (u64) -> ver 1
 *                || created_at || received_at (i64): the summaries of a
 *                period, the latest standing
 * The revision in force of an accident is its highest (revision, seq).
 * accident_id is 1..64 of [A-Za-z0-9_-]: the 0x00 after it keeps one
 * accident's revisions together and in seq order.
 *
 * Every function works inside the caller's transaction (values it hands
 * out are borrowed until that transaction ends, as LMDB's are) and returns
 * 0 or a negative ZB_E*: ZB_ENOTFOUND for an absent record, ZB_EDECODE
 * for a record of an unknown layout, ZB_ESTORE / ZB_EMAPFULL from LMDB (a
 * write transaction must then be aborted), ZB_ENOMEM. Iterators call fn
 * once per record in key order; a non-zero return from fn stops the walk
 * and is returned.
 */
#ifndef ZB_ASTORE_H
#define ZB_ASTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "merkle.h"
#include "rules.h"
#include "store.h"
#include "zhibao.pb-c.h"

enum { AGG_DB_META, AGG_DB_COUNTIES, AGG_DB_ENVELOPES, AGG_DB_EVIDENCE, AGG_DB_REFUSALS,
       AGG_DB_LOG_NODES, AGG_DB_LOG_ENTRIES, AGG_DB_ENV_LOG, AGG_DB_TREE_HEADS, AGG_DB_KEYS,
       AGG_DB_CURVE_KEYS, AGG_DB_FIGURES, AGG_DB_IDX_MONTHLY, AGG_DB_IDX_ACC_REVS,
       AGG_DB_IDX_ACC_STATE, AGG_DB_IDX_ACC_TIME, AGG_DB_IDX_CHAIN, AGG_DB_DOWN,
       AGG_DB_DOWN_STATE, AGG_DB_IDX_REVIEWS, AGG_DB_IDX_DEADLINES, AGG_DB_LEAVES,
       AGG_DB_KEY_EVENTS, AGG_DB_COSIGS, AGG_DB_WITNESSES, AGG_DB_IDX_RELAY_COUNTY,
       AGG_DB_IDX_RELAY_KEYS, AGG_DB_IDX_RELAY_ENV, AGG_DB_IDX_RELAY_STATE, AGG_DB_IDX_SUMMARY,
       AGG_DB_COUNT };

#define ZB_COUNTY_LEN 6
#define ZB_ACCIDENT_ID_MAX 64
/* The index layout this code writes; a store with another (or none: made
 * by a release before the indexes) is reindexed when opened. */
#define ZB_ASTORE_INDEX_VERSION 5u

/* ---- the environment */

/* Open the aggregator store in dir: create (the directory and every
 * database), or open an existing one. An existing store whose indexes are
 * missing or of another version is reindexed first (a writable open in
 * this process, even when readonly is asked: that needs write access to
 * the directory; ZB_EIO when there is none). Errors: ZB_ENOTFOUND (no
 * store there), ZB_EIO, ZB_ESTORE. */
int zb_astore_open(zb_store **out, const char *dir, bool create, bool readonly);

/* meta "agg_key": the aggregator's public key. */
int zb_astore_agg_key_get(zb_store *s, MDB_txn *txn, uint8_t pk[ZB_PK_LEN]);
int zb_astore_agg_key_put(zb_store *s, MDB_txn *txn, const uint8_t pk[ZB_PK_LEN]);

/* ---- counties and their keys */

typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    uint8_t key[ZB_PK_LEN]; /* active key; all zero when revoked */
    uint64_t acked_seq;
    uint8_t last_hash[ZB_SHA256_LEN];
    uint64_t reports;
    int64_t last_received_at;
    int64_t enrolled_at;
} zb_county_rec;

/* get: ZB_ENOTFOUND when the county is not enrolled. */
int zb_astore_county_get(zb_store *s, MDB_txn *txn, const char *county, zb_county_rec *rec);
int zb_astore_county_put(zb_store *s, MDB_txn *txn, const zb_county_rec *rec);
/* Every enrolled county in code order. */
int zb_astore_counties(zb_store *s, MDB_txn *txn, int (*fn)(void *ctx, const zb_county_rec *rec),
                       void *ctx);
/* Number of enrolled counties. */
uint64_t zb_astore_county_count(zb_store *s, MDB_txn *txn);

/* One enrolment of a key for a county. A key signs the county's seqs
 * first_seq..last_seq (last_seq 0 while it is active). */
typedef struct {
    uint32_t epoch; /* 0, 1, 2 ... per county */
    uint8_t key[ZB_PK_LEN];
    int64_t enrolled_at; /* Unix s */
    uint64_t first_seq;  /* first seq this key may sign */
    int64_t revoked_at;  /* 0: active */
    uint64_t last_seq;   /* when revoked: the last seq it signed (0: none) */
} zb_key_epoch;

int zb_astore_key_put(zb_store *s, MDB_txn *txn, const char *county, const zb_key_epoch *e);
/* Every enrolment of county, in order. */
int zb_astore_key_history(zb_store *s, MDB_txn *txn, const char *county,
                          int (*fn)(void *ctx, const zb_key_epoch *e), void *ctx);

/* The key enrolled for county's seq (first_seq <= seq, and seq <=
 * last_seq when revoked) into key. ZB_ENOTFOUND when none signs it. */
int zb_astore_key_for_seq(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                          uint8_t key[ZB_PK_LEN]);

/* The CurveZMQ index: county's node key as active, or as revoked. */
int zb_astore_curve_key_set(zb_store *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN],
                            const char *county, bool active);
/* Every enrolled key (active or revoked) as CurveZMQ presents it
 * (X25519), in key order. */
int zb_astore_curve_keys(zb_store *s, MDB_txn *txn,
                         int (*fn)(void *ctx, const uint8_t curve_pk[32], const char *county,
                                   bool revoked),
                         void *ctx);
/* meta "keys_gen": 0 when never set. bump adds one. */
uint64_t zb_astore_keys_generation(zb_store *s, MDB_txn *txn);
int zb_astore_keys_generation_bump(zb_store *s, MDB_txn *txn);

/* ---- refusals and evidence */

/* Count one refusal under reason (a Zb__ErrorCode name, or a connection
 * refusal) by n. */
int zb_astore_refusal_add(zb_store *s, MDB_txn *txn, const char *reason, uint64_t n);

/* ---- witnesses (zhibao-agg witness) */

#define ZB_WITNESS_ENDPOINT_MAX 255

/* Add (or change the endpoint of) a witness; bumps witness_gen.
 * ZB_EINVAL for an endpoint longer than ZB_WITNESS_ENDPOINT_MAX. */
int zb_astore_witness_put(zb_store *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN],
                          const char *endpoint, int64_t now);
/* Remove a witness (its cosignatures stay); bumps witness_gen.
 * ZB_ENOTFOUND when it was not configured. */
int zb_astore_witness_del(zb_store *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN]);
/* Every configured witness in key order; endpoint is NUL-terminated and
 * valid during the call. */
int zb_astore_witnesses(zb_store *s, MDB_txn *txn,
                        int (*fn)(void *ctx, const uint8_t key[ZB_PK_LEN], const char *endpoint,
                                  int64_t added_at),
                        void *ctx);
/* meta "witness_gen" (0 when never changed). */
uint64_t zb_astore_witness_gen(zb_store *s, MDB_txn *txn);
int zb_astore_refusals(zb_store *s, MDB_txn *txn,
                       int (*fn)(void *ctx, const char *reason, uint64_t count), void *ctx);

/* Keep env (a signed report refused as equivocation) as evidence.
 * ZB_EEXIST when this very report is kept already (nothing written). */
int zb_astore_evidence_put(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                           const Zb__Envelope *env);
/* Every evidence record: the packed envelope, borrowed. */
int zb_astore_evidence(zb_store *s, MDB_txn *txn,
                       int (*fn)(void *ctx, const char *county, uint64_t seq,
                                 const uint8_t *env, size_t len),
                       void *ctx);
uint64_t zb_astore_evidence_count(zb_store *s, MDB_txn *txn);

/* ---- envelopes */

/* A stored envelope: its receive time and its packed bytes, borrowed
 * until the transaction ends. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    uint64_t seq;
    int64_t received_at;
    const uint8_t *env;
    size_t len;
} zb_stored_env;

/* Store env for (county, seq) received at received_at, and its index
 * entries; report is env's report, already decoded by the caller. The
 * stored bytes (the canonical encoding: the log leaf) come back in *out.
 * ZB_EEXIST when (county, seq) is stored already. */
int zb_astore_envelope_put(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                           int64_t received_at, const Zb__Envelope *env, const Zb__Report *report,
                           zb_stored_env *out);
int zb_astore_envelope_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                           zb_stored_env *out);
/* Every stored envelope in (county, seq) order; county NULL: all. */
int zb_astore_envelopes(zb_store *s, MDB_txn *txn, const char *county,
                        int (*fn)(void *ctx, const zb_stored_env *e), void *ctx);
/* The report of a stored envelope, decoded (caller frees with
 * zb__report__free_unpacked). ZB_ENOTFOUND, ZB_EDECODE. */
int zb_astore_report_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         Zb__Report **out);

/* At a province: the canonical envelope of a county's relayed report
 * (county, seq), copied out of the prefecture's relay that carried it
 * (malloc'd, caller frees). zb_astore_report_get falls back to it.
 * ZB_ENOTFOUND (never relayed), ZB_EDECODE, ZB_ENOMEM. */
int zb_astore_relayed_envelope_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                                   uint8_t **out, size_t *len);

/* ---- indexes: what the reports read */

/* One version of a county's monthly report. */
typedef struct {
    int period; /* year*12 + month-1 (zb_period_ordinal) */
    uint64_t seq;
    int64_t created_at, received_at;
    bool created_before_previous; /* signed before the county's previous report */
} zb_monthly_version;

/* Every version of county's monthly reports for periods first..last
 * (ordinals, inclusive), in (period, seq) order. */
int zb_astore_monthly_versions(zb_store *s, MDB_txn *txn, const char *county, int first, int last,
                               int (*fn)(void *ctx, const zb_monthly_version *v), void *ctx);

/* One stored revision of an accident, as the index keeps it: exactly what
 * the statistics read (rules.h zb_accident_rev, built by zb_accident_rev_of
 * when the report is stored, so a report need not be decoded to count it). */
typedef zb_accident_rev zb_accident_entry;

/* Every accident whose revision in force occurred in [from, to_end)
 * (Unix s), in occurrence order, then county and id. */
int zb_astore_accidents_occurred(zb_store *s, MDB_txn *txn, int64_t from, int64_t to_end,
                                 int (*fn)(void *ctx, const char *county, const char *id),
                                 void *ctx);
/* Every revision of county's accident id in seq order, into a malloc'd
 * array (caller frees; NULL and 0 when there is none: ZB_ENOTFOUND). */
int zb_astore_accident_revisions(zb_store *s, MDB_txn *txn, const char *county, const char *id,
                                 zb_accident_entry **out, size_t *n);
/* The highest grade (zb_grade, missing counted as dead) any revision of
 * the accident reached, and the stage of its revision in force
 * (Zb__Stage). ZB_ENOTFOUND for an accident never reported. */
int zb_astore_accident_state(zb_store *s, MDB_txn *txn, const char *county, const char *id,
                             int *highest_grade, int *stage);

/* Every accident of county, in id order: its id, the revision in force
 * and that revision's stage (Zb__Stage) -- what a replacement node needs to
 * go on checking its accidents' revisions (zhibao-agg revoke). */
int zb_astore_accident_states(zb_store *s, MDB_txn *txn, const char *county,
                              int (*fn)(void *ctx, const char *id, uint32_t revision, int stage),
                              void *ctx);

/* ---- downstream messages: the prefecture's answers (dispatch.h) */

/* A stored message: borrowed until the transaction ends. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    uint64_t number;
    int64_t created_at;
    uint64_t log_index;
    const uint8_t *msg; /* packed SignedDownstream: exactly the leaf entry */
    size_t len;
} zb_stored_down;

/* Where a county's messages stand. */
typedef struct {
    uint64_t last;        /* highest number written (0: none) */
    uint64_t delivered;   /* every number <= it is stored by the county's node */
    int64_t delivered_at; /* when delivered last grew, Unix s (0: never) */
} zb_down_state;

/* A county's state; all zero (and 0 returned) when it never had one. */
int zb_astore_down_state(zb_store *s, MDB_txn *txn, const char *county, zb_down_state *out);
/* Store the message number of county (it must be last + 1: ZB_EINVAL
 * otherwise), created at created_at, at leaf log_index; d is msg's
 * decoded Downstream (for the review and deadline indexes). Bumps
 * down_gen. */
int zb_astore_down_put(zb_store *s, MDB_txn *txn, const char *county, uint64_t number,
                       int64_t created_at, uint64_t log_index, const uint8_t *msg, size_t len,
                       const Zb__Downstream *d);
/* ZB_ENOTFOUND when county has no message number. */
int zb_astore_down_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t number,
                       zb_stored_down *out);
/* Every message of county (NULL: of every county) numbered from on, in
 * (county, number) order. */
int zb_astore_downs(zb_store *s, MDB_txn *txn, const char *county, uint64_t from,
                    int (*fn)(void *ctx, const zb_stored_down *m), void *ctx);
/* The county's node stores every message up to number, at now: delivered
 * only grows (a lower number changes nothing); a number beyond last is
 * taken as last. */
int zb_astore_down_delivered(zb_store *s, MDB_txn *txn, const char *county, uint64_t number,
                             int64_t now);
/* meta "down_gen": 0 when no message was ever written. */
uint64_t zb_astore_down_generation(zb_store *s, MDB_txn *txn);

/* meta "auto_remind_day": the day (days since 1970-01-01 at +08:00) serve
 * last sent its automatic reminders; 0 when never. */
int64_t zb_astore_auto_remind_day(zb_store *s, MDB_txn *txn);
int zb_astore_auto_remind_day_put(zb_store *s, MDB_txn *txn, int64_t day);

/* The latest review of county's report seq: decision (Zb__ReviewDecision),
 * the message number and its time. ZB_ENOTFOUND: never reviewed. */
typedef struct {
    int decision;
    uint64_t number;
    int64_t created_at;
} zb_review_state;
int zb_astore_review_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         zb_review_state *out);

/* The deadline of period (ordinal: zb_period_ordinal): the moved one
 * (*moved true) or the default, the 5th 23:59:59 +08:00 of the next month
 * (timefmt.h zb_period_deadline). offset_min and moved may be NULL. */
int zb_astore_deadline_get(zb_store *s, MDB_txn *txn, int period, int64_t *deadline,
                           int32_t *offset_min, bool *moved);
/* Every moved deadline in period order. */
int zb_astore_deadlines(zb_store *s, MDB_txn *txn,
                        int (*fn)(void *ctx, int period, int64_t deadline, int32_t offset_min),
                        void *ctx);

/* ---- the log's leaves that are not rebuilt from other records */

/* meta "leaf_v2_from" into *from: 0 for a store begun with log version 2.
 * ZB_ENOTFOUND for a store not opened by this release yet (astore_open
 * sets it), ZB_ESTORE. */
int zb_astore_leaf_v2_from(zb_store *s, MDB_txn *txn, uint64_t *from);
/* The leaf bytes of a key event or evidence at log index. */
int zb_astore_leaf_put(zb_store *s, MDB_txn *txn, uint64_t index, const uint8_t *leaf,
                       size_t len);
int zb_astore_leaf_get(zb_store *s, MDB_txn *txn, uint64_t index, const uint8_t **leaf,
                       size_t *len);
/* County's key events: record one (its log index), walk them in log order. */
int zb_astore_key_event_add(zb_store *s, MDB_txn *txn, const char *county, uint64_t index);
int zb_astore_key_events(zb_store *s, MDB_txn *txn, const char *county,
                         int (*fn)(void *ctx, uint64_t index), void *ctx);

/* ---- levels and relays (protocol.md §14) */

/* What an aggregator is: a prefecture (its members are counties) or a
 * province (its members are prefectures' aggregators). */
typedef enum { ZB_LEVEL_PREFECTURE = 0, ZB_LEVEL_PROVINCE = 1 } zb_level;
#define ZB_OFFICE_CODE_DEFAULT "222400"
/* meta "level" and "code": the default (prefecture, 222400) for a store
 * made before levels. */
int zb_astore_office_get(zb_store *s, MDB_txn *txn, zb_level *level, char code[ZB_COUNTY_LEN + 1]);
int zb_astore_office_put(zb_store *s, MDB_txn *txn, zb_level level, const char *code);
const char *zb_level_name(zb_level l); /* "prefecture" / "province" */
/* meta "forward": what a prefecture relays upward (upstream.h zb_forward:
 * 0 statutory, the default; 1 all). */
int zb_astore_forward_get(zb_store *s, MDB_txn *txn, int *forward);
int zb_astore_forward_put(zb_store *s, MDB_txn *txn, int forward);

/* A relayed county's key, as its relayed key events say. */
typedef struct {
    uint32_t epoch;
    uint8_t key[ZB_PK_LEN];
    uint64_t first_seq;
    bool revoked;
    uint64_t last_seq; /* revoked: the last seq it signed (0: none) */
} zb_relay_key;
/* The highest seq of county relayed so far (0: none). */
int zb_astore_relay_last_seq(zb_store *s, MDB_txn *txn, const char *county, uint64_t *seq);
/* The prefecture that relays county: ZB_ENOTFOUND when none does. */
int zb_astore_relay_county_get(zb_store *s, MDB_txn *txn, const char *county,
                               char prefecture[ZB_COUNTY_LEN + 1]);
/* Every relayed county in code order, with its prefecture. */
int zb_astore_relay_counties(zb_store *s, MDB_txn *txn,
                             int (*fn)(void *ctx, const char *county, const char *prefecture),
                             void *ctx);
/* Every key of county, in epoch order. */
int zb_astore_relay_keys(zb_store *s, MDB_txn *txn, const char *county,
                         int (*fn)(void *ctx, const zb_relay_key *k), void *ctx);
/* One relayed envelope, as indexed. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    uint64_t seq;
    char prefecture[ZB_COUNTY_LEN + 1];
    uint64_t outer_seq;  /* the prefecture's report (its seq at the province) */
    uint32_t position;   /* the leaf's place in that report's relay */
    uint64_t log_index;  /* in the prefecture's log */
    int64_t leaf_time;   /* when it entered the prefecture's log */
    uint8_t report_hash[ZB_SHA256_LEN];
} zb_relay_env;
int zb_astore_relay_env_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                            zb_relay_env *out);
/* Every relayed envelope of county (NULL: of all), in (county, seq) order. */
int zb_astore_relay_envs(zb_store *s, MDB_txn *txn, const char *county,
                         int (*fn)(void *ctx, const zb_relay_env *e), void *ctx);
/* What a prefecture relayed so far; all zero when nothing. */
typedef struct {
    uint64_t envelopes, key_events, other;
    uint64_t head_size;          /* the newest relay's head (0: none yet) */
    uint8_t head_root[ZB_HASH_LEN];
} zb_relay_state;
int zb_astore_relay_state(zb_store *s, MDB_txn *txn, const char *prefecture, zb_relay_state *out);
/* The summaries a prefecture relayed for period (ordinal), in seq order. */
typedef struct {
    uint64_t outer_seq;
    int64_t created_at, received_at;
} zb_summary_version;
int zb_astore_summaries(zb_store *s, MDB_txn *txn, const char *prefecture, int period,
                        int (*fn)(void *ctx, const zb_summary_version *v), void *ctx);

/* ---- maintenance */

/* Rebuild every index from the stored envelopes (and downstream
 * messages) in one write transaction (txn) and record
 * ZB_ASTORE_INDEX_VERSION; *envelopes counts the envelopes read. An
 * undecodable envelope is skipped and logged (`check` reports it).
 * progress (NULL: none) is called in this thread after each envelope with
 * the envelopes indexed so far of the total stored (ctx passed through);
 * it must not touch the store. */
int zb_astore_reindex(zb_store *s, MDB_txn *txn,
                      void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                      uint64_t *envelopes);

/* zb_astore_reindex in a write transaction of its own, committed (the map
 * grown as needed: progress may then start again from 0). */
int zb_astore_rebuild(zb_store *s, void (*progress)(void *ctx, uint64_t done, uint64_t total),
                      void *ctx, uint64_t *envelopes);

/* Number of stored envelopes (the totals of reindex's and check's progress). */
uint64_t zb_astore_envelope_count(zb_store *s, MDB_txn *txn);

/* Check that the indexes are exactly what the envelopes give: rebuilds
 * them into a scratch store under tmpdir (NULL: $TMPDIR or /tmp, removed
 * afterwards) and compares record by record. Calls finding() once per
 * difference (at most a few per index, then a count). Returns the number
 * of findings or a negative ZB_E*. */
long zb_astore_index_check(zb_store *s, MDB_txn *txn, const char *tmpdir,
                           void (*finding)(void *ctx, const char *line), void *ctx);

#endif
