/*
 * store.h - a thin, honest wrapper around one LMDB environment.
 *
 * A store is a directory holding data.mdb and lock.mdb with a fixed list of
 * named databases. Callers use LMDB transactions directly (the values they
 * read are valid until the transaction ends); this module owns opening,
 * map-size growth, reader-side resize handling and error translation.
 *
 * One writer at a time across processes, any number of readers: read-only
 * commands run beside a running server. Durability is LMDB's default (two
 * fsyncs per commit): nothing is acknowledged before its commit returns.
 */
#ifndef ZB_STORE_H
#define ZB_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zb_store zb_store;

#define ZB_STORE_MAX_DBS 32

/* Open (creating when create is true) the store in directory dir with the
 * named databases dbs[0..n_dbs). map_size in bytes (0 = 1 GiB); it only
 * grows. readonly opens without write access (the databases must exist).
 * Errors: ZB_ENOTFOUND (no store there), ZB_EIO, ZB_ESTORE. */
int zb_store_open(zb_store **out, const char *dir, const char *const *dbs, size_t n_dbs,
                  size_t map_size, bool create, bool readonly);
/* Close and clear *s. NULL-safe, idempotent. No transaction may be open. */
void zb_store_close(zb_store **s);

MDB_env *zb_store_env(zb_store *s);
MDB_dbi zb_store_dbi(const zb_store *s, size_t index);

/* Begin a transaction (handles MDB_MAP_RESIZED by adopting the new size).
 * ZB_ESTORE on failure. */
int zb_store_begin(zb_store *s, bool readonly, MDB_txn **txn);
/* Commit; the transaction is gone either way. ZB_EMAPFULL or ZB_ESTORE. */
int zb_store_commit(MDB_txn *txn);
/* Double the map size (up to 1 TiB). Call with no transaction open in this
 * process, after a write failed with ZB_EMAPFULL, then retry the write: the
 * retried commit records the new size in the file, so it survives reopening
 * (a crash before that commit only costs one more grow). */
int zb_store_grow(zb_store *s);

/* Run fn(ctx, txn) in one write transaction and commit it: all or
 * nothing. When the map is full (fn or the commit says ZB_EMAPFULL) the map
 * is grown (zb_store_grow) and fn runs again in a new transaction, at most
 * ZB_STORE_WRITE_TRIES times in all. fn returns 0 or a ZB_E*, which is
 * returned (the transaction is then aborted). No transaction may be open in
 * this process. */
#define ZB_STORE_WRITE_TRIES 4
int zb_store_write(zb_store *s, int (*fn)(void *ctx, MDB_txn *txn), void *ctx);

/* Translate an MDB_* code (0, MDB_NOTFOUND, MDB_MAP_FULL, ...) to ZB_E*. */
int zb_mdb_err(int rc);

/* Big-endian u64 keys so LMDB's byte order is numeric order. */
static inline void zb_be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}
static inline void zb_be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}
static inline uint32_t zb_be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t zb_be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* meta-style helpers: u64 values stored as 8 big-endian bytes.
 * get returns ZB_ENOTFOUND when absent (and sets *v = dflt). */
int zb_store_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v, uint64_t dflt);
int zb_store_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v);
/* NUL-terminated string values. get copies into buf (ZB_ETOOBIG if it does not fit). */
int zb_store_get_str(MDB_txn *txn, MDB_dbi dbi, const char *key, char *buf, size_t len);
int zb_store_put_str(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *v);
/* Fixed-length binary values: ZB_EDECODE when the stored length differs. */
int zb_store_get_bin(MDB_txn *txn, MDB_dbi dbi, const char *key, uint8_t *buf, size_t len);
int zb_store_put_bin(MDB_txn *txn, MDB_dbi dbi, const char *key, const uint8_t *v, size_t len);

#endif
