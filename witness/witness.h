/*
 * witness.h - a witness of the aggregators' transparency logs: cosigns a
 * signed tree head only when it extends every head of the same log this
 * witness cosigned before, dated by the witness's own clock (cosig.h).
 *
 * zb_witness_handle answers one WitnessRequest with one WitnessResponse
 * (proto/zhibao.proto, "witnesses"); it knows nothing of sockets. The log
 * is the head's TreeHead.aggregator; its state is what wstore.h keeps: the
 * last cosigned size S and root R (0 and SHA-256("") at first), the signed
 * head and the cosignature given. The rules, applied in this order:
 *
 *   a. over ZB_WITNESS_REQUEST_MAX bytes, undecodable, a field of the wrong
 *      size (signature 64, root 32, aggregator 32, proof hashes 32, at
 *      most 64 of them), or the head's signature does not verify under
 *      its own aggregator key, or (zb_witness_handle_from) the head is of
 *      another log than the one the connection authenticated as
 *                                          -> BAD_REQUEST (reason); nothing kept
 *   b. the aggregator key is not followed  -> UNKNOWN_LOG
 *   c. size < S                            -> CONFLICT, size = S: the sender is
 *                                             behind (a store restored from a
 *                                             backup, or an old head replayed);
 *                                             never cosigned, nothing kept,
 *                                             not counted
 *   d. size == S, root == R                -> COSIGNED with the cosignature
 *                                             held (the same bytes: an answer
 *                                             lost to a crash is given again)
 *      size == S == 0 and nothing cosigned yet, root == SHA-256("")
 *                                          -> COSIGNED (a new cosignature, kept)
 *      size == S, root != R                -> REFUSED, size = S; evidence of
 *                                             kind fork
 *   e. size > S, S > 0, and the consistency proof absent or not from S to
 *      size                                -> CONFLICT, size = S (retry with
 *                                             PROOF(S, size)); nothing kept
 *      size > S, S > 0, the proof does not take (S, R) to (size, root)
 *                                          -> REFUSED, size = S; evidence of
 *                                             kind unproven_extension
 *      size > S, S == 0                    -> no proof needed (one sent is ignored)
 *   f. otherwise COSIGNED: timestamp = max(now, the timestamp of the
 *      cosignature held), so a log's cosignatures never go back in time;
 *      the new state (S, R, the signed head without its cosignatures, the
 *      cosignature) is committed durably in one write transaction, with
 *      the decision read in that same transaction, before the function
 *      returns: a crash can lose an answer, never cosign two heads that
 *      are not consistent.
 *   g. evidence is keyed by (log, size, root): the same refused head sent
 *      again is kept once (but a fork replaces the unproven extension of
 *      the same head: it proves more); every REFUSED answer is counted
 *      (wstore.h).
 *
 * What evidence proves (zb_wevidence_kind). A fork is two heads of one
 * size with different roots, both signed by the aggregator's key (the
 * size-0 root is fixed, so there one head suffices): proof, by the
 * prefecture's own signatures, that its log forked; replaying an old head
 * cannot make one. An unproven extension proves less: the consistency
 * proof is not signed, so a bad one may be the sender's mistake or a
 * forgery by whoever sent it; whoever holds both signed heads (the
 * evidence keeps them, and the request as received) asks the prefecture
 * for PROOF(held, refused): if it cannot give one, its log forked. Only a
 * log's own aggregator can connect to a serving witness (wzap.h), and only
 * with heads of its own log, so nobody else can cause either kind.
 *
 * Threads: a handle is used by one thread; the serve loop's ZAP thread
 * reads the followed keys from the same store (wstore.h, Threads; wzap.h).
 * No global state.
 */
#ifndef ZB_WITNESS_H
#define ZB_WITNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cosig.h"
#include "crypto.h"
#include "wstore.h"

typedef struct zb_witness zb_witness;

/* Largest request answered (bytes): the witness frame cap both sides use
 * (cosig.h; a head and a proof of 64 hashes need under 3 KiB). Also the
 * serve socket's ZMQ_MAXMSGSIZE. */
#define ZB_WITNESS_REQUEST_MAX ZB_WITNESS_FRAME_MAX

/* Create a witness in dir (made 0700 when absent): a new identity in
 * dir/identity.key (0600) and the store. pk receives the public key.
 * ZB_EEXIST when dir holds a witness already (identity.key or a store with
 * a key); ZB_EIO, ZB_ESTORE. */
int zb_witness_create(const char *dir, uint8_t pk[ZB_PK_LEN]);

/* Open the witness in dir. readonly: for status and evidence, beside a
 * serving witness (the secret key is not loaded: zb_witness_handle is
 * then ZB_EINVAL). ZB_ENOTFOUND (no witness there), ZB_ECONFIG (store
 * without a key, or identity.key is not the key it recorded), ZB_EKEYPERM,
 * ZB_EIO, ZB_ESTORE. */
int zb_witness_open(zb_witness **out, const char *dir, bool readonly);
/* Close and clear *w (the secret key wiped). NULL-safe, idempotent. */
void zb_witness_close(zb_witness **w);

/* The witness's public key; its identity (NULL when opened readonly),
 * borrowed for the handle's life. */
const uint8_t *zb_witness_key(const zb_witness *w);
const zb_identity *zb_witness_identity(const zb_witness *w);
/* The store, borrowed, for reading (status, evidence). */
zb_wstore *zb_witness_store(zb_witness *w);

/* Follow the log of aggregator key agg (or rename it: its state is kept).
 * name at most ZB_WLOG_NAME_MAX bytes (ZB_EINVAL). */
int zb_witness_add_log(zb_witness *w, const uint8_t agg[ZB_PK_LEN], const char *name,
                       bool *was_new);

/* What one request came to, for the caller's log line. */
typedef struct {
    int status;        /* a Zb__WitnessStatus value */
    bool fresh;        /* COSIGNED: a new cosignature (false: the one held) */
    bool new_evidence; /* REFUSED: evidence written (a head not refused before, or
                        * a fork replacing the unproven extension of that head) */
    int evidence_kind; /* REFUSED: a zb_wevidence_kind */
    bool have_log;     /* log and the sizes below are known (rules b-g) */
    uint8_t log[ZB_PK_LEN];
    uint64_t size, held_size; /* the head's size; S before the request */
    int64_t timestamp;        /* COSIGNED: the cosignature's */
    char reason[160];         /* REFUSED, BAD_REQUEST, CONFLICT: one line */
} zb_witness_outcome;

/* Answer the request req[0..len) received at now (Unix s, witness clock):
 * *resp receives a packed WitnessResponse (malloc'd, caller frees),
 * *resp_len its length; outcome (may be NULL) what happened. Every answer
 * in the rules above is a 0 return. A nonzero return (ZB_ESTORE, ZB_EIO,
 * ZB_EMAPFULL after growing failed, ZB_ENOMEM, ZB_EINVAL when opened
 * readonly) means no answer: nothing was changed, the sender retries. */
int zb_witness_handle(zb_witness *w, const uint8_t *req, size_t len, int64_t now, uint8_t **resp,
                      size_t *resp_len, zb_witness_outcome *outcome);
/* The same for a request received on a connection authenticated as the
 * aggregator key peer (the serve loop, from the ZAP handler's User-Id): a
 * head of any other log is BAD_REQUEST (rule a). */
int zb_witness_handle_from(zb_witness *w, const uint8_t peer[ZB_PK_LEN], const uint8_t *req,
                           size_t len, int64_t now, uint8_t **resp, size_t *resp_len,
                           zb_witness_outcome *outcome);

/* Log one outcome: ZB-WIT-COSIGN (info when fresh, debug when repeated),
 * ZB-WIT-REFUSED (error, with the evidence kind), ZB-WIT-CONFLICT (info;
 * warn when the head is smaller than the one held), ZB-WIT-UNKNOWN and
 * ZB-WIT-BADREQ (warn), with the log key's first 16 hex digits and sizes. */
void zb_witness_log_outcome(const zb_witness_outcome *o);

#endif
