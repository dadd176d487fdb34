/*
 * agg.h - the prefecture aggregator: its key, its store (astore.h) and its
 * transparency log (tlog.h) under one handle, and the rules for accepting
 * envelopes.
 *
 * Acceptance (zb_agg_ingest), all inside the caller's write transaction:
 *   seq <= acked, same bytes      duplicate: acknowledged again, nothing stored
 *   seq <= acked, other bytes     equivocation: refused, kept as evidence
 *   seq >  acked + 1              gap: refused
 *   seq == acked + 1              signature by the enrolled key, chain
 *                                 (prev_hash = hash of stored seq - 1) and
 *                                 the shared validation rules must hold;
 *                                 an accident closed or written off takes
 *                                 no further revision (the store's index).
 */
#ifndef ZB_AGG_H
#define ZB_AGG_H

#include <stdbool.h>
#include <stdint.h>

#include "astore.h"
#include "crypto.h"
#include "store.h"
#include "tlog.h"
#include "zhibao.pb-c.h"

typedef struct zb_agg zb_agg;

/* Create the aggregator in dir (created if absent); writes its public key
 * (hex) to pk_hex.
 * Errors: ZB_EEXIST (an aggregator lives there), ZB_EINVAL (path too long),
 * ZB_EIO (cannot create the directory or write identity.key), ZB_ESTORE. */
int zb_agg_create(const char *dir, char pk_hex[2 * ZB_PK_LEN + 1]);
/* zb_agg_create for an office of level with its GB/T 2260 code (6 digits;
 * zb_agg_create: a prefecture, 222400). ZB_EINVAL for a bad code. */
int zb_agg_create_at(const char *dir, zb_level level, const char *code,
                     char pk_hex[2 * ZB_PK_LEN + 1]);
/* Open an existing aggregator. readonly: no key loaded, no writes (a
 * store of an older release is still reindexed first: astore.h).
 * Errors: ZB_ENOTFOUND (no store in dir), ZB_ECONFIG (a store without an
 * aggregator key, or an identity.key that is not the key the store was
 * created with), ZB_EIO (identity.key missing or unreadable), ZB_EINVAL (a
 * malformed identity.key), ZB_ESTORE, ZB_ENOMEM. */
int zb_agg_open(zb_agg **out, const char *dir, bool readonly);
/* NULL-safe, idempotent; wipes the key and clears *a. */
void zb_agg_close(zb_agg **a);
/* The handle's parts, borrowed for the handle's life. */
zb_store *zb_agg_store(zb_agg *a);
zb_tlog *zb_agg_tlog(zb_agg *a);
const zb_identity *zb_agg_identity(const zb_agg *a);
/* The office: prefecture or province, and its code (as read at open). */
zb_level zb_agg_level(const zb_agg *a);
const char *zb_agg_code(const zb_agg *a);

/* Enrol the key of request -- a packed SignedKeyRequest (logleaf.h) signed
 * by that key: proof of possession -- for its county (county, when not
 * NULL, must be the request's). A new county starts at seq 1; a county
 * whose key was revoked continues at acked_seq + 1 with the new key
 * (*first_seq says where and prev_hash is the hash of the report before
 * it: the replacement node is created with zhibao-node init --resume
 * SEQ:HASH). A rotation request (zhibao-node rotate-key: signed by the
 * active key too) revokes the active key -- consented, carrying the
 * request -- and enrols the new one in the same transaction (*rotated);
 * its after_seq and after_hash must be the county's acked seq and last
 * hash. Every change is a KeyEvent leaf of the log, under a new signed
 * tree head. ZB_OK also when already enrolled with this very key
 * (*was_new false).
 * Errors: ZB_EBADSIG / ZB_EDECODE (the request does not verify),
 * ZB_EEXIST (another key is active: revoke it first, or rotate; or this
 * key was revoked once: it never comes back), ZB_EINVAL (another county
 * than asked, a rotation that does not match the county's state),
 * ZB_ESTORE / ZB_EMAPFULL (nothing changed). */
int zb_agg_enroll(zb_agg *a, const char *county, const uint8_t *request, size_t request_len,
                  bool *was_new, uint64_t *first_seq, uint8_t prev_hash[ZB_SHA256_LEN],
                  bool *rotated);

/* At a province: enrol a prefecture's aggregator key (its code is its
 * member code), from the key alone -- the operator vouches for it, the
 * KeyEvent is logged vouched (protocol.md §14.2). The prefecture's relay
 * reports are then its reports seq 1, 2, ... Idempotent as zb_agg_enroll.
 * Errors: ZB_EINVAL (a bad code or key, or a is not a province),
 * ZB_EEXIST (another key is active, or this key was revoked), ZB_ESTORE /
 * ZB_EMAPFULL. */
int zb_agg_enroll_vouched(zb_agg *a, const char *code, const uint8_t key[ZB_PK_LEN],
                          bool *was_new, uint64_t *first_seq);

/* zb_agg_enroll with a plain request made here for node (whose secret key
 * the caller holds: tests, the benchmark's simulated nodes). */
int zb_agg_enroll_identity(zb_agg *a, const char *county, const zb_identity *node, bool *was_new,
                           uint64_t *first_seq, uint8_t prev_hash[ZB_SHA256_LEN]);

/* Revoke county's active key now (a lost machine: logged as a KeyEvent
 * REVOKED, consented false, under a new signed tree head): reports it
 * signed up to the county's acked seq stay valid; anything later signed
 * with it is refused.
 * last_hash receives the hash of that last report: with revoked->last_seq
 * it is where the replacement node resumes (zhibao-node init --resume).
 * Errors: ZB_ENOTFOUND (not enrolled), ZB_EINVAL (no active key),
 * ZB_ESTORE / ZB_EMAPFULL (nothing changed). */
int zb_agg_revoke(zb_agg *a, const char *county, zb_key_epoch *revoked,
                  uint8_t last_hash[ZB_SHA256_LEN]);

/* The county record (astore.h): ZB_ENOTFOUND when not enrolled. */
int zb_agg_county_get(zb_agg *a, MDB_txn *txn, const char *county, zb_county_rec *rec);

/* Count one refusal under reason (a Zb__ErrorCode name) inside txn.
 * Errors: ZB_ESTORE / ZB_EMAPFULL (abort the transaction). */
int zb_agg_count_refusal(zb_agg *a, MDB_txn *txn, const char *reason);

/* Outcome of one envelope. */
typedef enum {
    ZB_INGEST_STORED,
    ZB_INGEST_DUPLICATE,
    ZB_INGEST_REFUSED
} zb_ingest_result;

typedef struct {
    zb_ingest_result result;
    Zb__ErrorCode code;        /* when refused */
    uint64_t seq;              /* the report's seq (0 if undecodable) */
    uint64_t log_index;        /* when stored: its leaf in the transparency log */
    uint8_t report_hash[ZB_SHA256_LEN]; /* when stored */
    char reason[256];          /* when refused: one line */
} zb_ingest_out;

/* Apply the acceptance rules to env for county record rec (updated in
 * place when stored) inside txn, received at now; a stored envelope is also
 * appended to the transparency log. sig_verdict is the signature check
 * already done elsewhere (1 valid, 0 invalid: zb_agg_signature_verdict) or -1
 * to check it here. Returns a negative ZB_E* only for store failures (the
 * transaction must then be aborted); the outcome is in *out. */
int zb_agg_ingest(zb_agg *a, MDB_txn *txn, zb_county_rec *rec, const Zb__Envelope *env,
                  int64_t now, int sig_verdict, zb_ingest_out *out);

/* The signature check of zb_agg_ingest on its own (no store access; any
 * thread): 1 when env's signature by env->signer verifies, else 0. */
int zb_agg_signature_verdict(const Zb__Envelope *env);

/* Build and sign the receipt for county's seqs first..last with the given
 * Merkle root (over SHA-256 of each report) and receive time. *out is
 * heap-built: free with zb__batch_receipt__free_unpacked(*out, NULL).
 * Errors: ZB_ENOMEM, ZB_EINVAL (an aggregator opened read-only has no key). */
int zb_agg_sign_receipt(zb_agg *a, const char *county, uint64_t first, uint64_t last,
                        int64_t received_at, const uint8_t root[ZB_SHA256_LEN],
                        Zb__BatchReceipt **out);

#define ZB_REISSUE_CHUNK 4096u /* reports per re-issued receipt */
/* receipts per Welcome: with one ~700-byte inclusion proof per report this
 * keeps a Welcome near 6 MB, well under ZB_FRAME_MAX; a node missing more
 * asks again (each Hello re-issues the next 8,192) */
#define ZB_REISSUE_MAX 2u

/* Re-issue receipts for county's stored seqs from..to from the stored
 * envelopes, in chunks of ZB_REISSUE_CHUNK (at most ZB_REISSUE_MAX); *out
 * is a malloc'd array of heap-built receipts (free each, then the array);
 * nothing (0 receipts) for an empty or bad range.
 * Errors: ZB_ENOTFOUND (a seq in the range is not stored), ZB_EDECODE (a
 * stored envelope is damaged), ZB_ENOMEM, ZB_ESTORE; then *out is NULL. */
int zb_agg_reissue_receipts(zb_agg *a, MDB_txn *txn, const char *county, uint64_t from,
                            uint64_t to, Zb__BatchReceipt ***out, size_t *n_out);

/* The exact bytes of leaf index, rebuilt from the record it holds (an
 * envelope with its receive time, a downstream message) or as stored (a
 * key event, evidence): what export writes and the log hashed. */
typedef struct {
    zb_leaf_kind kind;
    char county[ZB_COUNTY_LEN + 1];
    uint64_t seq;         /* as zb_tlog_entry gives it */
    int64_t time;         /* the leaf's time (a bare envelope: its receive time) */
    const uint8_t *bytes; /* the leaf: valid until the transaction ends or zb_agg_leaf_free */
    size_t len;
    uint8_t *owned;       /* what bytes points into when it was built here */
} zb_agg_leaf;
/* Errors: ZB_ENOTFOUND / ZB_EDECODE (a record missing or damaged),
 * ZB_ESTORE, ZB_ENOMEM. Free with zb_agg_leaf_free (also after an error). */
int zb_agg_leaf_get(zb_agg *a, MDB_txn *txn, uint64_t index, zb_agg_leaf *out);
void zb_agg_leaf_free(zb_agg_leaf *l);

/* Re-verify the whole store from the stored envelopes alone: every
 * signature against the county's enrolled key, seqs 1..N without gaps,
 * every prev_hash against its predecessor, the county records' counts,
 * every downstream message (signature by the aggregator key, numbers 1..N
 * per county, its log entry, the delivery state), every leaf of the log
 * (rebuilt from its record, it hashes to what the log holds; a key event
 * passes zb_key_event_check), and
 * the indexes the reports read (zb_astore_index_check: rebuilt from the
 * envelopes in a scratch store under $TMPDIR and compared). Calls finding()
 * once per problem (one line, no newline, in the chosen language: i18n.h),
 * and progress (NULL: none) with the envelopes verified so far of those
 * stored, both in this thread with ctx. Returns the number of findings
 * (0 = intact) or a negative ZB_E*: ZB_ESTORE, ZB_EIO (no scratch
 * directory), ZB_ENOMEM. */
long zb_agg_check(zb_agg *a, void (*finding)(void *ctx, const char *line),
                  void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx);

#endif
