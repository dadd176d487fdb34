/*
 * wstore.h - the witness's LMDB store: the logs it follows, what it last
 * cosigned for each, and the evidence of the heads it refused.
 *
 * A witness directory holds identity.key (the witness's Ed25519 seed) and
 * this store. Records (this module is the only one that reads their bytes):
 *
 *   meta     "version" (u64), "witness_key" (32 bytes), "refused" (u64:
 *            every REFUSED answer, repeats included), "logs_gen" (u64:
 *            bumped each time a log is followed, absent before the first)
 *   logs     aggregator key (32) -> the log's state (zb_wlog): name, last
 *            cosigned size and root, the SignedTreeHead cosigned and the
 *            cosignature given (its timestamp is the latest this witness
 *            gave for the log: timestamps never go back)
 *   evidence aggregator key (32) || size (u64 BE) || root (32) -> one
 *            refused head (zb_wevidence) and its kind, kept once however
 *            often it is sent again. Records written before kinds existed
 *            (version 1) are read with the kind their sizes give: the same
 *            size as the head held is a fork, another size an unproven
 *            extension (so is a smaller head, which witnesses refused then:
 *            it proves nothing either).
 *
 * Writers run inside zb_wstore_write (one LMDB write transaction, grown
 * and retried when the map is full, committed with LMDB's two fsyncs), so
 * a state change is durable before anyone is told about it. Readers use
 * zb_wstore_read_begin / mdb_txn_abort. One writer at a time across
 * processes (LMDB's lock): status and evidence run beside a serving
 * witness.
 *
 * Threads: one thread uses the handle for everything; ONE other thread
 * (the ZAP handler, wzap.h) may call zb_wstore_log_keys at the same time.
 * An rwlock keeps that thread's read transaction apart from anything that
 * may remap the map: zb_wstore_write holds it exclusively throughout, and
 * zb_wstore_read_begin while it begins. While the other thread runs, the
 * handle's thread keeps no read transaction open across a zb_wstore_write.
 */
#ifndef ZB_WSTORE_H
#define ZB_WSTORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "merkle.h"

typedef struct zb_wstore zb_wstore;

#define ZB_WLOG_NAME_MAX 128 /* bytes of a log's display name */

/* One followed log. Pointers are borrowed from the transaction that read
 * the record and stay valid until it ends. */
typedef struct {
    uint8_t key[ZB_PK_LEN];          /* the aggregator's Ed25519 key */
    char name[ZB_WLOG_NAME_MAX + 1]; /* operator's label, may be "" */
    uint64_t size;                   /* last cosigned size S (0: none yet) */
    uint8_t root[ZB_HASH_LEN];       /* its root R (SHA-256("") before any) */
    bool cosigned;                   /* a cosignature is held (always when size > 0) */
    int64_t cosigned_at;             /* its timestamp (Unix s, witness clock) */
    uint8_t signature[ZB_SIG_LEN];   /* the cosignature given for (size, root, cosigned_at) */
    const uint8_t *sth;              /* packed SignedTreeHead cosigned (NULL when none) */
    size_t sth_len;
} zb_wlog;

/* What a refused head proves (witness.h, rule g). */
typedef enum {
    /* the same size as the head held, another root: two heads signed by
     * the same aggregator key that cannot both be true (the size-0 root
     * is SHA-256("") by definition: one signed head suffices there) -- a
     * proof by the prefecture's own signatures that its log forked */
    ZB_WEVIDENCE_FORK = 1,
    /* a larger head whose consistency proof from the head held does not
     * verify: the signed head does not extend what the witness cosigned
     * as far as the given proof shows. Whoever holds both signed heads
     * asks the prefecture for PROOF(held, refused) (zhibao-agg
     * consistency-proof): if it cannot give one, its log forked */
    ZB_WEVIDENCE_UNPROVEN_EXTENSION = 2,
} zb_wevidence_kind;

/* "fork", "unproven_extension" ("unknown" for anything else). */
const char *zb_wevidence_kind_name(int kind);

/* One refused head. Pointers borrowed as in zb_wlog. */
typedef struct {
    int kind; /* a zb_wevidence_kind */
    uint8_t key[ZB_PK_LEN];
    uint64_t size; /* the refused head's */
    uint8_t root[ZB_HASH_LEN];
    int64_t head_time;  /* its TreeHead.timestamp (aggregator clock) */
    uint64_t held_size; /* what the witness held then */
    uint8_t held_root[ZB_HASH_LEN];
    int64_t at;             /* witness clock when refused (first time) */
    const char *reason;     /* NUL-terminated, one line */
    const uint8_t *request; /* the packed WitnessRequest as received */
    size_t request_len;
    const uint8_t *held_sth; /* packed SignedTreeHead the witness held (may be NULL) */
    size_t held_sth_len;
} zb_wevidence;

/* Open the store in dir (create: make it, with dir, when absent).
 * ZB_ENOTFOUND (no store), ZB_EIO, ZB_ESTORE. */
int zb_wstore_open(zb_wstore **out, const char *dir, bool create, bool readonly);
/* Close and clear *s. NULL-safe, idempotent. */
void zb_wstore_close(zb_wstore **s);

/* Run fn(ctx, txn) in one write transaction, all or nothing, growing the
 * map and running fn again when it is full (zb_store_write). fn must redo
 * all its work each time it runs. */
int zb_wstore_write(zb_wstore *s, int (*fn)(void *ctx, MDB_txn *txn), void *ctx);
/* A read-only transaction; end it with mdb_txn_abort. ZB_ESTORE. */
int zb_wstore_read_begin(zb_wstore *s, MDB_txn **txn);

/* The witness key recorded at init. ZB_ENOTFOUND when none. */
int zb_wstore_witness_key_get(zb_wstore *s, MDB_txn *txn, uint8_t pk[ZB_PK_LEN]);
/* Record it (init only): ZB_EEXIST when one is recorded. */
int zb_wstore_witness_key_put(zb_wstore *s, MDB_txn *txn, const uint8_t pk[ZB_PK_LEN]);

/* Follow log key, or rename it when followed (its state is kept); a new
 * log bumps the logs generation (zb_wstore_log_keys).
 * name: NUL-terminated, at most ZB_WLOG_NAME_MAX bytes (ZB_EINVAL). */
int zb_wstore_log_add(zb_wstore *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN], const char *name,
                      bool *was_new);
/* The state of log key: 0, ZB_ENOTFOUND (not followed), ZB_EDECODE (bad record). */
__attribute__((warn_unused_result)) int
zb_wstore_log_get(zb_wstore *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN], zb_wlog *out);
/* Replace log->key's cosigned state by log's (size, root, cosigned,
 * cosigned_at, signature, sth); the name stored is kept. */
int zb_wstore_log_put_state(zb_wstore *s, MDB_txn *txn, const zb_wlog *log);
/* Call fn for each log in key order; a nonzero return stops and is returned. */
int zb_wstore_logs(zb_wstore *s, MDB_txn *txn, int (*fn)(void *ctx, const zb_wlog *log), void *ctx);

/* For the one other thread (see Threads): when the logs generation in the
 * store is not *gen, call fn(ctx, key) for the aggregator key of every log
 * followed, in key order, then set *gen to it and *changed to true (fn's
 * nonzero return stops and is returned, *gen unchanged); otherwise only
 * *changed = false. Start with *gen = ZB_WSTORE_GEN_NONE. Runs its own read
 * transaction under the rwlock. ZB_ESTORE when it cannot begin one (among
 * others, when another process grew the map: the handle's thread adopts
 * the new size at its next transaction), ZB_EDECODE. */
#define ZB_WSTORE_GEN_NONE UINT64_MAX
int zb_wstore_log_keys(zb_wstore *s, uint64_t *gen, bool *changed,
                       int (*fn)(void *ctx, const uint8_t key[ZB_PK_LEN]), void *ctx);

/* Keep ev unless evidence for (key, size, root) is kept already
 * (*was_new false then; the first one stays), and count one refusal
 * either way. Exception: a fork replaces the unproven extension kept for
 * the same head, or a record of it that cannot be read (*was_new true, the
 * number of records unchanged). */
int zb_wstore_refusal_put(zb_wstore *s, MDB_txn *txn, const zb_wevidence *ev, bool *was_new);
/* Call fn for each evidence record in key order (log, size, root). */
int zb_wstore_evidence(zb_wstore *s, MDB_txn *txn, int (*fn)(void *ctx, const zb_wevidence *ev),
                       void *ctx);
/* Refusals answered (all, repeats included), evidence records kept, and
 * how many of those are of kind ZB_WEVIDENCE_FORK. */
int zb_wstore_counts(zb_wstore *s, MDB_txn *txn, uint64_t *refused, uint64_t *evidence,
                     uint64_t *forks);

#endif
