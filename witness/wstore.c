/* wstore.c - see wstore.h. */
#include "wstore.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "store.h"

struct zb_wstore {
    zb_store *store;
    /* readers: zb_wstore_log_keys (the other thread); writer: whatever may
     * remap the map in the handle's thread (wstore.h, Threads) */
    pthread_rwlock_t map_lock;
};

static const char *const wstore_dbs[] = {"meta", "logs", "evidence"};
enum { DB_META, DB_LOGS, DB_EVIDENCE };

#define WSTORE_VERSION   1
#define RECORD_VERSION   1 /* logs */
#define EVIDENCE_VERSION 2 /* 1: without the kind byte */
#define EVIDENCE_KEY_LEN (ZB_PK_LEN + 8 + ZB_HASH_LEN)

/* ------------------------------------------------------------ byte records */

typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} wbuf;

static void put_bytes(wbuf *b, const void *v, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, v, n);
    b->len += n;
}
static void put_u8(wbuf *b, uint8_t v)
{
    put_bytes(b, &v, 1);
}
static void put_u16(wbuf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(b, x, 2);
}
static void put_u32(wbuf *b, uint32_t v)
{
    uint8_t x[4];
    zb_be32_put(x, v);
    put_bytes(b, x, 4);
}
static void put_u64(wbuf *b, uint64_t v)
{
    uint8_t x[8];
    zb_be64_put(x, v);
    put_bytes(b, x, 8);
}

typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} rbuf;

static const uint8_t *get_bytes(rbuf *r, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *v = r->p;
    r->p += n, r->left -= n;
    return v;
}
static uint8_t get_u8(rbuf *r)
{
    const uint8_t *v = get_bytes(r, 1);
    return v ? v[0] : 0;
}
static uint16_t get_u16(rbuf *r)
{
    const uint8_t *v = get_bytes(r, 2);
    return v ? (uint16_t)(v[0] << 8 | v[1]) : 0;
}
static uint32_t get_u32(rbuf *r)
{
    const uint8_t *v = get_bytes(r, 4);
    return v ? zb_be32_get(v) : 0;
}
static uint64_t get_u64(rbuf *r)
{
    const uint8_t *v = get_bytes(r, 8);
    return v ? zb_be64_get(v) : 0;
}
static void get_copy(rbuf *r, void *out, size_t n)
{
    const uint8_t *v = get_bytes(r, n);
    if (v)
        memcpy(out, v, n);
    else
        memset(out, 0, n);
}

/* ------------------------------------------------------------ open, close */

int zb_wstore_open(zb_wstore **out, const char *dir, bool create, bool readonly)
{
    *out = NULL;
    zb_wstore *s = calloc(1, sizeof *s);
    if (!s)
        return ZB_ENOMEM;
    if (pthread_rwlock_init(&s->map_lock, NULL) != 0) {
        free(s);
        return ZB_ENOMEM;
    }
    /* the state is a few records per log: 64 MiB is ample, and grows */
    int rc = zb_store_open(&s->store, dir, wstore_dbs, sizeof wstore_dbs / sizeof wstore_dbs[0],
                           64u << 20, create, readonly);
    if (rc == 0 && create && !readonly) {
        MDB_txn *txn;
        if ((rc = zb_store_begin(s->store, false, &txn)) == 0) {
            uint64_t v;
            if (zb_store_get_u64(txn, zb_store_dbi(s->store, DB_META), "version", &v, 0) ==
                ZB_ENOTFOUND)
                rc = zb_store_put_u64(txn, zb_store_dbi(s->store, DB_META), "version",
                                      WSTORE_VERSION);
            if (rc)
                mdb_txn_abort(txn);
            else
                rc = zb_store_commit(txn);
        }
    }
    if (rc) {
        zb_wstore_close(&s);
        return rc;
    }
    *out = s;
    return ZB_OK;
}

void zb_wstore_close(zb_wstore **sp)
{
    if (!sp || !*sp)
        return;
    zb_store_close(&(*sp)->store);
    pthread_rwlock_destroy(&(*sp)->map_lock);
    free(*sp);
    *sp = NULL;
}

/* zb_store_write may adopt a size another process set, or grow the map:
 * neither while the other thread's read transaction is open */
int zb_wstore_write(zb_wstore *s, int (*fn)(void *ctx, MDB_txn *txn), void *ctx)
{
    pthread_rwlock_wrlock(&s->map_lock);
    int rc = zb_store_write(s->store, fn, ctx);
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

int zb_wstore_read_begin(zb_wstore *s, MDB_txn **txn)
{
    pthread_rwlock_wrlock(&s->map_lock); /* the begin may adopt a new map size */
    int rc = zb_store_begin(s->store, true, txn);
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

int zb_wstore_witness_key_get(zb_wstore *s, MDB_txn *txn, uint8_t pk[ZB_PK_LEN])
{
    return zb_store_get_bin(txn, zb_store_dbi(s->store, DB_META), "witness_key", pk, ZB_PK_LEN);
}

int zb_wstore_witness_key_put(zb_wstore *s, MDB_txn *txn, const uint8_t pk[ZB_PK_LEN])
{
    uint8_t old[ZB_PK_LEN];
    int rc = zb_wstore_witness_key_get(s, txn, old);
    if (rc == 0)
        return ZB_EEXIST;
    if (rc != ZB_ENOTFOUND)
        return rc;
    return zb_store_put_bin(txn, zb_store_dbi(s->store, DB_META), "witness_key", pk, ZB_PK_LEN);
}

/* ------------------------------------------------------------ logs */

static int log_decode(const MDB_val *k, const MDB_val *v, zb_wlog *out)
{
    memset(out, 0, sizeof *out);
    if (k->mv_size != ZB_PK_LEN)
        return ZB_EDECODE;
    memcpy(out->key, k->mv_data, ZB_PK_LEN);
    rbuf r = {v->mv_data, v->mv_size, false};
    if (get_u8(&r) != RECORD_VERSION)
        return ZB_EDECODE;
    size_t name_len = get_u8(&r);
    if (name_len > ZB_WLOG_NAME_MAX)
        return ZB_EDECODE;
    get_copy(&r, out->name, name_len);
    out->name[name_len] = '\0';
    out->size = get_u64(&r);
    get_copy(&r, out->root, ZB_HASH_LEN);
    out->cosigned = get_u8(&r) != 0;
    out->cosigned_at = (int64_t)get_u64(&r);
    get_copy(&r, out->signature, ZB_SIG_LEN);
    out->sth_len = get_u32(&r);
    out->sth = out->sth_len ? get_bytes(&r, out->sth_len) : NULL;
    if (r.bad || r.left != 0 || (out->size > 0 && !out->cosigned))
        return ZB_EDECODE;
    return ZB_OK;
}

static int log_put(zb_wstore *s, MDB_txn *txn, const zb_wlog *log)
{
    size_t name_len = strlen(log->name);
    if (name_len > ZB_WLOG_NAME_MAX || log->sth_len > UINT32_MAX)
        return ZB_EINVAL;
    wbuf b = {0};
    put_u8(&b, RECORD_VERSION);
    put_u8(&b, (uint8_t)name_len);
    put_bytes(&b, log->name, name_len);
    put_u64(&b, log->size);
    put_bytes(&b, log->root, ZB_HASH_LEN);
    put_u8(&b, log->cosigned ? 1 : 0);
    put_u64(&b, (uint64_t)log->cosigned_at);
    put_bytes(&b, log->signature, ZB_SIG_LEN);
    put_u32(&b, (uint32_t)log->sth_len);
    put_bytes(&b, log->sth, log->sth_len);
    if (b.failed) {
        free(b.p);
        return ZB_ENOMEM;
    }
    MDB_val k = {ZB_PK_LEN, (void *)log->key}, v = {b.len, b.p};
    int rc = zb_mdb_err(mdb_put(txn, zb_store_dbi(s->store, DB_LOGS), &k, &v, 0));
    free(b.p);
    return rc;
}

int zb_wstore_log_get(zb_wstore *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN], zb_wlog *out)
{
    MDB_val k = {ZB_PK_LEN, (void *)key}, v;
    int rc = mdb_get(txn, zb_store_dbi(s->store, DB_LOGS), &k, &v);
    if (rc)
        return zb_mdb_err(rc);
    return log_decode(&k, &v, out);
}

int zb_wstore_log_add(zb_wstore *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN], const char *name,
                      bool *was_new)
{
    if (strlen(name) > ZB_WLOG_NAME_MAX)
        return ZB_EINVAL;
    zb_wlog log;
    int rc = zb_wstore_log_get(s, txn, key, &log);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    *was_new = rc == ZB_ENOTFOUND;
    if (*was_new) {
        memset(&log, 0, sizeof log);
        memcpy(log.key, key, ZB_PK_LEN);
        zb_sha256("", 0, log.root); /* MTH({}) */
    }
    /* the name is the only field changed: copy it in (log.sth stays
     * borrowed from this transaction until the put) */
    memcpy(log.name, name, strlen(name) + 1);
    if ((rc = log_put(s, txn, &log)) || !*was_new)
        return rc;
    /* the ZAP handler of a serving witness admits the new key from now on */
    MDB_dbi meta = zb_store_dbi(s->store, DB_META);
    uint64_t gen;
    rc = zb_store_get_u64(txn, meta, "logs_gen", &gen, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    return zb_store_put_u64(txn, meta, "logs_gen", gen + 1);
}

int zb_wstore_log_put_state(zb_wstore *s, MDB_txn *txn, const zb_wlog *log)
{
    zb_wlog cur;
    int rc = zb_wstore_log_get(s, txn, log->key, &cur);
    if (rc)
        return rc;
    zb_wlog next = *log;
    memcpy(next.name, cur.name, sizeof next.name);
    return log_put(s, txn, &next);
}

int zb_wstore_logs(zb_wstore *s, MDB_txn *txn, int (*fn)(void *ctx, const zb_wlog *log), void *ctx)
{
    MDB_cursor *c;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(s->store, DB_LOGS), &c));
    if (rc)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (mrc == 0 && rc == 0) {
        zb_wlog log;
        rc = log_decode(&k, &v, &log);
        if (rc == 0)
            rc = fn(ctx, &log);
        if (rc == 0)
            mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = zb_mdb_err(mrc);
    return rc;
}

/* The other thread's read: a plain read transaction (never adopting a map
 * size, which only the handle's thread may do), under the rwlock. */
int zb_wstore_log_keys(zb_wstore *s, uint64_t *gen, bool *changed,
                       int (*fn)(void *ctx, const uint8_t key[ZB_PK_LEN]), void *ctx)
{
    *changed = false;
    pthread_rwlock_rdlock(&s->map_lock);
    MDB_txn *txn;
    int rc = zb_mdb_err(mdb_txn_begin(zb_store_env(s->store), NULL, MDB_RDONLY, &txn));
    if (rc) {
        pthread_rwlock_unlock(&s->map_lock);
        return rc;
    }
    uint64_t now_gen;
    rc = zb_store_get_u64(txn, zb_store_dbi(s->store, DB_META), "logs_gen", &now_gen, 0);
    if (rc == ZB_ENOTFOUND)
        rc = ZB_OK; /* no log followed yet, or a store from before the counter */
    MDB_cursor *c = NULL;
    if (rc == 0 && now_gen != *gen)
        rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(s->store, DB_LOGS), &c));
    if (c) {
        MDB_val k, v;
        int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        for (; mrc == 0 && rc == 0; mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            rc = k.mv_size == ZB_PK_LEN ? fn(ctx, k.mv_data) : ZB_EDECODE;
        if (rc == 0 && mrc != MDB_NOTFOUND)
            rc = zb_mdb_err(mrc);
        mdb_cursor_close(c);
        if (rc == 0) {
            *gen = now_gen;
            *changed = true;
        }
    }
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

/* ------------------------------------------------------------ evidence */

const char *zb_wevidence_kind_name(int kind)
{
    switch (kind) {
    case ZB_WEVIDENCE_FORK: return "fork";
    case ZB_WEVIDENCE_UNPROVEN_EXTENSION: return "unproven_extension";
    default: return "unknown";
    }
}

static void evidence_key(const zb_wevidence *ev, uint8_t out[EVIDENCE_KEY_LEN])
{
    memcpy(out, ev->key, ZB_PK_LEN);
    zb_be64_put(out + ZB_PK_LEN, ev->size);
    memcpy(out + ZB_PK_LEN + 8, ev->root, ZB_HASH_LEN);
}

static int evidence_decode(const MDB_val *k, const MDB_val *v, zb_wevidence *out)
{
    memset(out, 0, sizeof *out);
    if (k->mv_size != EVIDENCE_KEY_LEN)
        return ZB_EDECODE;
    const uint8_t *kp = k->mv_data;
    memcpy(out->key, kp, ZB_PK_LEN);
    out->size = zb_be64_get(kp + ZB_PK_LEN);
    memcpy(out->root, kp + ZB_PK_LEN + 8, ZB_HASH_LEN);
    rbuf r = {v->mv_data, v->mv_size, false};
    uint8_t version = get_u8(&r);
    if (version == EVIDENCE_VERSION) {
        out->kind = get_u8(&r);
        if (out->kind != ZB_WEVIDENCE_FORK && out->kind != ZB_WEVIDENCE_UNPROVEN_EXTENSION)
            return ZB_EDECODE;
    } else if (version != 1) {
        return ZB_EDECODE;
    }
    out->head_time = (int64_t)get_u64(&r);
    out->held_size = get_u64(&r);
    get_copy(&r, out->held_root, ZB_HASH_LEN);
    out->at = (int64_t)get_u64(&r);
    size_t reason_len = get_u16(&r); /* with its NUL */
    const uint8_t *reason = get_bytes(&r, reason_len);
    out->request_len = get_u32(&r);
    out->request = get_bytes(&r, out->request_len);
    out->held_sth_len = get_u32(&r);
    out->held_sth = out->held_sth_len ? get_bytes(&r, out->held_sth_len) : NULL;
    if (r.bad || r.left != 0 || reason_len == 0 || reason[reason_len - 1] != '\0' ||
        memchr(reason, '\0', reason_len) != reason + reason_len - 1)
        return ZB_EDECODE;
    out->reason = (const char *)reason;
    if (version == 1) /* before kinds: what the sizes say (wstore.h) */
        out->kind =
            out->size == out->held_size ? ZB_WEVIDENCE_FORK : ZB_WEVIDENCE_UNPROVEN_EXTENSION;
    return ZB_OK;
}

int zb_wstore_refusal_put(zb_wstore *s, MDB_txn *txn, const zb_wevidence *ev, bool *was_new)
{
    size_t reason_len = strlen(ev->reason) + 1;
    if (reason_len > UINT16_MAX || ev->request_len > UINT32_MAX || ev->held_sth_len > UINT32_MAX ||
        (ev->kind != ZB_WEVIDENCE_FORK && ev->kind != ZB_WEVIDENCE_UNPROVEN_EXTENSION))
        return ZB_EINVAL;
    MDB_dbi meta = zb_store_dbi(s->store, DB_META);
    uint64_t refused;
    int rc = zb_store_get_u64(txn, meta, "refused", &refused, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    if ((rc = zb_store_put_u64(txn, meta, "refused", refused + 1)))
        return rc;
    wbuf b = {0};
    put_u8(&b, EVIDENCE_VERSION);
    put_u8(&b, (uint8_t)ev->kind);
    put_u64(&b, (uint64_t)ev->head_time);
    put_u64(&b, ev->held_size);
    put_bytes(&b, ev->held_root, ZB_HASH_LEN);
    put_u64(&b, (uint64_t)ev->at);
    put_u16(&b, (uint16_t)reason_len);
    put_bytes(&b, ev->reason, reason_len);
    put_u32(&b, (uint32_t)ev->request_len);
    put_bytes(&b, ev->request, ev->request_len);
    put_u32(&b, (uint32_t)ev->held_sth_len);
    put_bytes(&b, ev->held_sth, ev->held_sth_len);
    if (b.failed) {
        free(b.p);
        return ZB_ENOMEM;
    }
    uint8_t key[EVIDENCE_KEY_LEN];
    evidence_key(ev, key);
    MDB_dbi dbi = zb_store_dbi(s->store, DB_EVIDENCE);
    MDB_val k = {sizeof key, key}, v = {b.len, b.p}, old;
    /* kept once per head; but a head first refused as an unproven
     * extension and now as a fork (the witness has since cosigned another
     * head of its size) proves more now: the record is replaced */
    unsigned flags = MDB_NOOVERWRITE;
    if (ev->kind == ZB_WEVIDENCE_FORK) {
        int grc = mdb_get(txn, dbi, &k, &old);
        if (grc != 0 && grc != MDB_NOTFOUND) {
            free(b.p);
            return zb_mdb_err(grc);
        }
        /* a record that cannot be read proves nothing: the fork replaces
         * it too, rather than being dropped as "kept already" */
        zb_wevidence cur;
        if (grc == 0 && (evidence_decode(&k, &old, &cur) != 0 || cur.kind != ZB_WEVIDENCE_FORK))
            flags = 0;
    }
    rc = mdb_put(txn, dbi, &k, &v, flags);
    free(b.p);
    *was_new = rc == 0;
    return rc == MDB_KEYEXIST ? ZB_OK : zb_mdb_err(rc);
}

int zb_wstore_evidence(zb_wstore *s, MDB_txn *txn, int (*fn)(void *ctx, const zb_wevidence *ev),
                       void *ctx)
{
    MDB_cursor *c;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(s->store, DB_EVIDENCE), &c));
    if (rc)
        return rc;
    MDB_val k, v;
    int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    while (mrc == 0 && rc == 0) {
        zb_wevidence ev;
        rc = evidence_decode(&k, &v, &ev);
        if (rc == 0)
            rc = fn(ctx, &ev);
        if (rc == 0)
            mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = zb_mdb_err(mrc);
    return rc;
}

static int count_fork(void *ctx, const zb_wevidence *ev)
{
    if (ev->kind == ZB_WEVIDENCE_FORK)
        (*(uint64_t *)ctx)++;
    return 0;
}

int zb_wstore_counts(zb_wstore *s, MDB_txn *txn, uint64_t *refused, uint64_t *evidence,
                     uint64_t *forks)
{
    int rc = zb_store_get_u64(txn, zb_store_dbi(s->store, DB_META), "refused", refused, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    MDB_stat st;
    rc = mdb_stat(txn, zb_store_dbi(s->store, DB_EVIDENCE), &st);
    if (rc)
        return zb_mdb_err(rc);
    *evidence = st.ms_entries;
    /* records of release 1 carry no kind: counted from what they hold (a
     * handful of records: evidence is kept once per distinct head) */
    *forks = 0;
    return zb_wstore_evidence(s, txn, count_fork, forks);
}
