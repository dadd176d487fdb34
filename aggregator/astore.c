/* astore.c - the aggregator store's records (see astore.h); the indexes
 * are in astore_index.c. */
#include "astore.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "relay.h"
#include "report.h"

/* in astore_index.c: the index entries of one stored report */
int zb_astore_index_add_(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         int64_t received_at, const Zb__Report *r);

static const char *const agg_dbs[AGG_DB_COUNT] = {
    "meta",        "counties",    "envelopes",     "evidence",    "refusals",   "log_nodes",
    "log_entries", "env_log",     "tree_heads",    "keys",        "curve_keys", "figures",
    "idx_monthly", "idx_acc_revs", "idx_acc_state", "idx_acc_time", "idx_chain",  "down",
    "down_state",  "idx_reviews", "idx_deadlines", "leaves",     "key_events", "cosigs", "witnesses",
    "idx_relay_county", "idx_relay_keys", "idx_relay_env", "idx_relay_state", "idx_summary"};

/* the aggregator holds years of reports: start with a large sparse map */
#define AGG_MAP_SIZE ((size_t)16 << 30)

static MDB_dbi dbi(zb_store *s, int which) { return zb_store_dbi(s, (size_t)which); }

/* ------------------------------------------------------------ environment */

typedef enum { INDEX_CURRENT, INDEX_UNMARKED, INDEX_STALE } index_state;

/* Where the store's indexes stand, into *st; a store error (readers
 * full, I/O) is returned as such, never taken for indexes to rebuild. */
static int index_state_of(zb_store *s, index_state *st)
{
    MDB_txn *txn;
    int rc = zb_store_begin(s, true, &txn);
    if (rc)
        return rc;
    uint64_t v = 0;
    rc = zb_store_get_u64(txn, dbi(s, AGG_DB_META), "index_version", &v, 0);
    MDB_stat ms;
    int mrc = mdb_stat(txn, dbi(s, AGG_DB_ENVELOPES), &ms);
    mdb_txn_abort(txn);
    if ((rc && rc != ZB_ENOTFOUND) || mrc)
        return rc && rc != ZB_ENOTFOUND ? rc : zb_mdb_err(mrc);
    if (v == ZB_ASTORE_INDEX_VERSION)
        *st = INDEX_CURRENT;
    else /* a new, empty store has nothing to index: it only needs the mark */
        *st = ms.ms_entries == 0 && v == 0 ? INDEX_UNMARKED : INDEX_STALE;
    return ZB_OK;
}

/* meta "leaf_v2_from", once: the log's size when this release first
 * opened the store (0 for a new one); leaves from there on are LogLeafs. */
int zb_astore_leaf_v2_mark_(zb_store *s, MDB_txn *txn)
{
    uint64_t v;
    int rc = zb_store_get_u64(txn, dbi(s, AGG_DB_META), "leaf_v2_from", &v, 0);
    if (rc != ZB_ENOTFOUND)
        return rc;
    MDB_stat st;
    if ((rc = zb_mdb_err(mdb_stat(txn, dbi(s, AGG_DB_LOG_ENTRIES), &st))))
        return rc;
    return zb_store_put_u64(txn, dbi(s, AGG_DB_META), "leaf_v2_from", st.ms_entries);
}

static int index_mark(zb_store *s)
{
    MDB_txn *txn;
    int rc = zb_store_begin(s, false, &txn);
    if (rc)
        return rc;
    if ((rc = zb_store_put_u64(txn, dbi(s, AGG_DB_META), "index_version",
                               ZB_ASTORE_INDEX_VERSION)) ||
        (rc = zb_astore_leaf_v2_mark_(s, txn))) {
        mdb_txn_abort(txn);
        return rc;
    }
    return zb_store_commit(txn);
}

/* Reindex (and create any database an older release did not have). */
static int upgrade(const char *dir)
{
    zb_store *s = NULL;
    int rc = zb_store_open(&s, dir, agg_dbs, AGG_DB_COUNT, AGG_MAP_SIZE, false, false);
    if (rc)
        return rc;
    index_state ist = INDEX_STALE;
    if ((rc = index_state_of(s, &ist)) == 0 && ist == INDEX_STALE) {
        uint64_t n = 0;
        if ((rc = zb_astore_rebuild(s, NULL, NULL, &n)) == 0)
            ZB_INFO("ZB-AGG-REINDEX", "store %s: indexes rebuilt from %" PRIu64 " envelopes", dir,
                    n);
    }
    zb_store_close(&s);
    return rc;
}

int zb_astore_open(zb_store **out, const char *dir, bool create, bool readonly)
{
    *out = NULL;
    zb_store *s = NULL;
    int rc = zb_store_open(&s, dir, agg_dbs, AGG_DB_COUNT, AGG_MAP_SIZE, create, readonly);
    index_state ist = INDEX_STALE;
    if (rc == 0)
        rc = index_state_of(s, &ist);
    if (rc == 0 && ist == INDEX_UNMARKED && !readonly)
        rc = index_mark(s);
    if (rc == 0 && ist != INDEX_STALE) {
        *out = s;
        return rc;
    }
    zb_store_close(&s);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    /* a store of an older release: a database missing (read-only opens
     * cannot create it) or indexes to rebuild */
    char path[4096];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path ||
        stat(path, &st) != 0)
        return ZB_ENOTFOUND;
    if (access(dir, W_OK) != 0) {
        ZB_ERR("ZB-AGG-REINDEX", "store %s was written by an older release and must be "
               "reindexed, but this process cannot write there (run zhibao-agg reindex)", dir);
        return ZB_EIO;
    }
    if ((rc = upgrade(dir)))
        return rc;
    return zb_store_open(out, dir, agg_dbs, AGG_DB_COUNT, AGG_MAP_SIZE, false, readonly);
}

int zb_astore_agg_key_get(zb_store *s, MDB_txn *txn, uint8_t pk[ZB_PK_LEN])
{
    return zb_store_get_bin(txn, dbi(s, AGG_DB_META), "agg_key", pk, ZB_PK_LEN);
}

int zb_astore_agg_key_put(zb_store *s, MDB_txn *txn, const uint8_t pk[ZB_PK_LEN])
{
    return zb_store_put_bin(txn, dbi(s, AGG_DB_META), "agg_key", pk, ZB_PK_LEN);
}

/* ------------------------------------------------------------ counties */

/* county record layout v1: ver(1) key(32) acked(8) last_hash(32) reports(8)
 * last_received(8) enrolled_at(8), integers big-endian */
#define REC_V1_LEN (1 + 32 + 8 + 32 + 8 + 8 + 8)

static int county_decode(const MDB_val *k, const MDB_val *v, zb_county_rec *rec)
{
    const uint8_t *p = v->mv_data;
    if (k->mv_size != ZB_COUNTY_LEN || v->mv_size != REC_V1_LEN || p[0] != 1)
        return ZB_EDECODE;
    memset(rec, 0, sizeof *rec);
    memcpy(rec->county, k->mv_data, ZB_COUNTY_LEN);
    p++;
    memcpy(rec->key, p, 32), p += 32;
    rec->acked_seq = zb_be64_get(p), p += 8;
    memcpy(rec->last_hash, p, 32), p += 32;
    rec->reports = zb_be64_get(p), p += 8;
    rec->last_received_at = (int64_t)zb_be64_get(p), p += 8;
    rec->enrolled_at = (int64_t)zb_be64_get(p);
    return ZB_OK;
}

int zb_astore_county_get(zb_store *s, MDB_txn *txn, const char *county, zb_county_rec *rec)
{
    if (strlen(county) != ZB_COUNTY_LEN)
        return ZB_ENOTFOUND;
    MDB_val k = {ZB_COUNTY_LEN, (void *)county}, v;
    int rc = mdb_get(txn, dbi(s, AGG_DB_COUNTIES), &k, &v);
    if (rc)
        return zb_mdb_err(rc);
    return county_decode(&k, &v, rec);
}

int zb_astore_county_put(zb_store *s, MDB_txn *txn, const zb_county_rec *rec)
{
    uint8_t buf[REC_V1_LEN], *p = buf;
    *p++ = 1;
    memcpy(p, rec->key, 32), p += 32;
    zb_be64_put(p, rec->acked_seq), p += 8;
    memcpy(p, rec->last_hash, 32), p += 32;
    zb_be64_put(p, rec->reports), p += 8;
    zb_be64_put(p, (uint64_t)rec->last_received_at), p += 8;
    zb_be64_put(p, (uint64_t)rec->enrolled_at);
    MDB_val k = {ZB_COUNTY_LEN, (void *)rec->county}, v = {sizeof buf, buf};
    return zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_COUNTIES), &k, &v, 0));
}

int zb_astore_counties(zb_store *s, MDB_txn *txn, int (*fn)(void *ctx, const zb_county_rec *rec),
                       void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_COUNTIES), &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    int m;
    for (m = mdb_cursor_get(cur, &k, &v, MDB_FIRST); m == 0 && rc == 0;
         m = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        zb_county_rec rec;
        if ((rc = county_decode(&k, &v, &rec)) == 0)
            rc = fn(ctx, &rec);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && m != MDB_NOTFOUND)
        rc = zb_mdb_err(m);
    return rc;
}

static uint64_t db_entries(zb_store *s, MDB_txn *txn, int which)
{
    MDB_stat st;
    return mdb_stat(txn, dbi(s, which), &st) == 0 ? (uint64_t)st.ms_entries : 0;
}

uint64_t zb_astore_county_count(zb_store *s, MDB_txn *txn)
{
    return db_entries(s, txn, AGG_DB_COUNTIES);
}

/* ------------------------------------------------------------ keys */

/* keys value layout v1: ver(1) key(32) enrolled_at(8) first_seq(8)
 * revoked_at(8) last_seq(8), integers big-endian */
#define KEY_V1_LEN (1 + 32 + 8 + 8 + 8 + 8)

int zb_astore_key_put(zb_store *s, MDB_txn *txn, const char *county, const zb_key_epoch *e)
{
    uint8_t k[ZB_COUNTY_LEN + 4], v[KEY_V1_LEN], *p = v;
    memcpy(k, county, ZB_COUNTY_LEN);
    for (int i = 0; i < 4; i++)
        k[ZB_COUNTY_LEN + i] = (uint8_t)(e->epoch >> (24 - 8 * i));
    *p++ = 1;
    memcpy(p, e->key, 32), p += 32;
    zb_be64_put(p, (uint64_t)e->enrolled_at), p += 8;
    zb_be64_put(p, e->first_seq), p += 8;
    zb_be64_put(p, (uint64_t)e->revoked_at), p += 8;
    zb_be64_put(p, e->last_seq);
    MDB_val kk = {sizeof k, k}, vv = {sizeof v, v};
    return zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_KEYS), &kk, &vv, 0));
}

int zb_astore_key_history(zb_store *s, MDB_txn *txn, const char *county,
                          int (*fn)(void *ctx, const zb_key_epoch *e), void *ctx)
{
    if (strlen(county) != ZB_COUNTY_LEN)
        return ZB_OK;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_KEYS), &cur));
    if (rc)
        return rc;
    uint8_t start[ZB_COUNTY_LEN + 4] = {0};
    memcpy(start, county, ZB_COUNTY_LEN);
    MDB_val k = {sizeof start, start}, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); r == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data, *p = v.mv_data;
        if (k.mv_size != ZB_COUNTY_LEN + 4 || memcmp(kp, county, ZB_COUNTY_LEN) != 0)
            break;
        if (v.mv_size != KEY_V1_LEN || p[0] != 1) {
            rc = ZB_EDECODE;
            break;
        }
        zb_key_epoch e;
        e.epoch = (uint32_t)kp[6] << 24 | (uint32_t)kp[7] << 16 | (uint32_t)kp[8] << 8 | kp[9];
        p++;
        memcpy(e.key, p, 32), p += 32;
        e.enrolled_at = (int64_t)zb_be64_get(p), p += 8;
        e.first_seq = zb_be64_get(p), p += 8;
        e.revoked_at = (int64_t)zb_be64_get(p), p += 8;
        e.last_seq = zb_be64_get(p);
        if ((rc = fn(ctx, &e)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc;
}

int zb_astore_curve_key_set(zb_store *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN],
                            const char *county, bool active)
{
    uint8_t x[32];
    if (crypto_sign_ed25519_pk_to_curve25519(x, key) != 0)
        return ZB_EINVAL;
    uint8_t val[ZB_COUNTY_LEN + 1];
    memcpy(val, county, ZB_COUNTY_LEN);
    val[ZB_COUNTY_LEN] = 0x01; /* revoked */
    MDB_val k = {sizeof x, x}, v = {active ? ZB_COUNTY_LEN : ZB_COUNTY_LEN + 1u, val};
    return zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_CURVE_KEYS), &k, &v, 0));
}

int zb_astore_curve_keys(zb_store *s, MDB_txn *txn,
                         int (*fn)(void *ctx, const uint8_t curve_pk[32], const char *county,
                                   bool revoked),
                         void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_CURVE_KEYS), &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 32 || (v.mv_size != ZB_COUNTY_LEN && v.mv_size != ZB_COUNTY_LEN + 1))
            continue;
        char county[ZB_COUNTY_LEN + 1];
        memcpy(county, v.mv_data, ZB_COUNTY_LEN);
        county[ZB_COUNTY_LEN] = '\0';
        rc = fn(ctx, k.mv_data, county, v.mv_size == ZB_COUNTY_LEN + 1);
    }
    mdb_cursor_close(cur);
    return rc;
}

uint64_t zb_astore_keys_generation(zb_store *s, MDB_txn *txn)
{
    uint64_t gen = 0;
    (void)zb_store_get_u64(txn, dbi(s, AGG_DB_META), "keys_gen", &gen, 0);
    return gen;
}

int zb_astore_keys_generation_bump(zb_store *s, MDB_txn *txn)
{
    return zb_store_put_u64(txn, dbi(s, AGG_DB_META), "keys_gen",
                            zb_astore_keys_generation(s, txn) + 1);
}

/* ------------------------------------------------------------ refusals, evidence */

int zb_astore_refusal_add(zb_store *s, MDB_txn *txn, const char *reason, uint64_t n)
{
    uint64_t count;
    int rc = zb_store_get_u64(txn, dbi(s, AGG_DB_REFUSALS), reason, &count, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    return zb_store_put_u64(txn, dbi(s, AGG_DB_REFUSALS), reason, count + n);
}

/* ------------------------------------------------------------ witnesses */

static int witness_gen_bump(zb_store *s, MDB_txn *txn)
{
    return zb_store_put_u64(txn, dbi(s, AGG_DB_META), "witness_gen",
                            zb_astore_witness_gen(s, txn) + 1);
}

uint64_t zb_astore_witness_gen(zb_store *s, MDB_txn *txn)
{
    uint64_t gen = 0;
    (void)zb_store_get_u64(txn, dbi(s, AGG_DB_META), "witness_gen", &gen, 0);
    return gen;
}

int zb_astore_witness_put(zb_store *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN],
                          const char *endpoint, int64_t now)
{
    size_t len = strlen(endpoint);
    if (len == 0 || len > ZB_WITNESS_ENDPOINT_MAX)
        return ZB_EINVAL;
    uint8_t rec[8 + ZB_WITNESS_ENDPOINT_MAX];
    zb_be64_put(rec, (uint64_t)now);
    memcpy(rec + 8, endpoint, len);
    MDB_val k = {ZB_PK_LEN, (void *)key}, v = {8 + len, rec};
    int rc = zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_WITNESSES), &k, &v, 0));
    return rc ? rc : witness_gen_bump(s, txn);
}

int zb_astore_witness_del(zb_store *s, MDB_txn *txn, const uint8_t key[ZB_PK_LEN])
{
    MDB_val k = {ZB_PK_LEN, (void *)key};
    int rc = zb_mdb_err(mdb_del(txn, dbi(s, AGG_DB_WITNESSES), &k, NULL));
    return rc ? rc : witness_gen_bump(s, txn);
}

int zb_astore_witnesses(zb_store *s, MDB_txn *txn,
                        int (*fn)(void *ctx, const uint8_t key[ZB_PK_LEN], const char *endpoint,
                                  int64_t added_at),
                        void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_WITNESSES), &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != ZB_PK_LEN || v.mv_size <= 8 || v.mv_size > 8 + ZB_WITNESS_ENDPOINT_MAX) {
            rc = ZB_EDECODE;
            break;
        }
        char endpoint[ZB_WITNESS_ENDPOINT_MAX + 1];
        memcpy(endpoint, (const uint8_t *)v.mv_data + 8, v.mv_size - 8);
        endpoint[v.mv_size - 8] = '\0';
        rc = fn(ctx, k.mv_data, endpoint, (int64_t)zb_be64_get(v.mv_data));
    }
    mdb_cursor_close(cur);
    return rc;
}

int zb_astore_refusals(zb_store *s, MDB_txn *txn,
                       int (*fn)(void *ctx, const char *reason, uint64_t count), void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_REFUSALS), &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[64];
        if (v.mv_size != 8 || k.mv_size >= sizeof name)
            continue;
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        rc = fn(ctx, name, zb_be64_get(v.mv_data));
    }
    mdb_cursor_close(cur);
    return rc;
}

int zb_astore_evidence_put(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                           const Zb__Envelope *env)
{
    uint8_t key[ZB_COUNTY_LEN + 8 + ZB_SHA256_LEN];
    memcpy(key, county, ZB_COUNTY_LEN);
    zb_be64_put(key + ZB_COUNTY_LEN, seq);
    zb_report_hash(env->report.data, env->report.len, key + ZB_COUNTY_LEN + 8);
    size_t plen = zb__envelope__get_packed_size(env);
    MDB_val k = {sizeof key, key}, v = {plen, NULL};
    int rc = mdb_put(txn, dbi(s, AGG_DB_EVIDENCE), &k, &v, MDB_RESERVE | MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        return ZB_EEXIST;
    if (rc == 0)
        zb__envelope__pack(env, v.mv_data);
    return zb_mdb_err(rc);
}

int zb_astore_evidence(zb_store *s, MDB_txn *txn,
                       int (*fn)(void *ctx, const char *county, uint64_t seq,
                                 const uint8_t *env, size_t len),
                       void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_EVIDENCE), &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != ZB_COUNTY_LEN + 8 + ZB_SHA256_LEN) {
            rc = ZB_EDECODE;
            break;
        }
        char code[ZB_COUNTY_LEN + 1];
        memcpy(code, k.mv_data, ZB_COUNTY_LEN);
        code[ZB_COUNTY_LEN] = '\0';
        rc = fn(ctx, code, zb_be64_get((const uint8_t *)k.mv_data + ZB_COUNTY_LEN), v.mv_data,
                v.mv_size);
    }
    mdb_cursor_close(cur);
    return rc;
}

uint64_t zb_astore_evidence_count(zb_store *s, MDB_txn *txn)
{
    return db_entries(s, txn, AGG_DB_EVIDENCE);
}

uint64_t zb_astore_envelope_count(zb_store *s, MDB_txn *txn)
{
    return db_entries(s, txn, AGG_DB_ENVELOPES);
}

/* ------------------------------------------------------------ envelopes */

static void env_key(uint8_t key[ZB_COUNTY_LEN + 8], const char *county, uint64_t seq)
{
    memcpy(key, county, ZB_COUNTY_LEN);
    zb_be64_put(key + ZB_COUNTY_LEN, seq);
}

static int env_decode(const MDB_val *k, const MDB_val *v, zb_stored_env *out)
{
    if (k->mv_size != ZB_COUNTY_LEN + 8 || v->mv_size <= 8)
        return ZB_EDECODE;
    memcpy(out->county, k->mv_data, ZB_COUNTY_LEN);
    out->county[ZB_COUNTY_LEN] = '\0';
    out->seq = zb_be64_get((const uint8_t *)k->mv_data + ZB_COUNTY_LEN);
    out->received_at = (int64_t)zb_be64_get(v->mv_data);
    out->env = (const uint8_t *)v->mv_data + 8;
    out->len = v->mv_size - 8;
    return ZB_OK;
}

int zb_astore_envelope_put(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                           int64_t received_at, const Zb__Envelope *env, const Zb__Report *report,
                           zb_stored_env *out)
{
    if (strlen(county) != ZB_COUNTY_LEN)
        return ZB_EINVAL;
    uint8_t key[ZB_COUNTY_LEN + 8];
    env_key(key, county, seq);
    size_t plen = zb__envelope__get_packed_size(env);
    MDB_val k = {sizeof key, key}, v = {8 + plen, NULL};
    int rc = zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_ENVELOPES), &k, &v,
                                MDB_RESERVE | MDB_NOOVERWRITE));
    if (rc)
        return rc;
    /* received_at || packed envelope, written in place */
    zb_be64_put(v.mv_data, (uint64_t)received_at);
    zb__envelope__pack(env, (uint8_t *)v.mv_data + 8);
    if ((rc = env_decode(&k, &v, out)))
        return rc;
    return zb_astore_index_add_(s, txn, county, seq, received_at, report);
}

int zb_astore_envelope_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                           zb_stored_env *out)
{
    if (strlen(county) != ZB_COUNTY_LEN)
        return ZB_ENOTFOUND;
    uint8_t key[ZB_COUNTY_LEN + 8];
    env_key(key, county, seq);
    MDB_val k = {sizeof key, key}, v;
    int rc = zb_mdb_err(mdb_get(txn, dbi(s, AGG_DB_ENVELOPES), &k, &v));
    if (rc)
        return rc;
    return env_decode(&k, &v, out);
}

int zb_astore_envelopes(zb_store *s, MDB_txn *txn, const char *county,
                        int (*fn)(void *ctx, const zb_stored_env *e), void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_ENVELOPES), &cur));
    if (rc)
        return rc;
    uint8_t start[ZB_COUNTY_LEN + 8] = {0};
    MDB_val k = {0, NULL}, v;
    int m;
    if (county) {
        if (strlen(county) != ZB_COUNTY_LEN) {
            mdb_cursor_close(cur);
            return ZB_OK;
        }
        env_key(start, county, 0);
        k = (MDB_val){sizeof start, start};
        m = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        m = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    for (; m == 0 && rc == 0; m = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (county && (k.mv_size < ZB_COUNTY_LEN || memcmp(k.mv_data, county, ZB_COUNTY_LEN)))
            break;
        zb_stored_env e;
        if (env_decode(&k, &v, &e) != 0) {
            /* `check` reports it; every reader skips it alike */
            ZB_WARN("ZB-AGG-BADRECORD", "envelopes: a malformed record (%zu-byte key) skipped",
                    k.mv_size);
            continue;
        }
        rc = fn(ctx, &e);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = zb_mdb_err(m);
    return rc;
}

int zb_astore_report_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         Zb__Report **out)
{
    *out = NULL;
    zb_stored_env e;
    uint8_t *relayed = NULL;
    int rc = zb_astore_envelope_get(s, txn, county, seq, &e);
    if (rc == ZB_ENOTFOUND) { /* at a province: a county's report inside a relay */
        if ((rc = zb_astore_relayed_envelope_get(s, txn, county, seq, &relayed, &e.len)))
            return rc;
        e.env = relayed;
    } else if (rc) {
        return rc;
    }
    const uint8_t *rep;
    size_t rep_len;
    Zb__Report *r = NULL;
    if (zb_envelope_report_view(e.env, e.len, &rep, &rep_len) == 0)
        r = zb__report__unpack(NULL, rep_len, rep);
    free(relayed);
    if (!r)
        return ZB_EDECODE;
    *out = r;
    return ZB_OK;
}

int zb_astore_relayed_envelope_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                                   uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    zb_relay_env re;
    int rc = zb_astore_relay_env_get(s, txn, county, seq, &re);
    if (rc)
        return rc;
    Zb__Report *outer = NULL;
    zb_stored_env e;
    const uint8_t *rep;
    size_t rep_len;
    if ((rc = zb_astore_envelope_get(s, txn, re.prefecture, re.outer_seq, &e)))
        return rc == ZB_ENOTFOUND ? ZB_EDECODE : rc; /* indexed, so stored */
    if (zb_envelope_report_view(e.env, e.len, &rep, &rep_len) != 0 ||
        !(outer = zb__report__unpack(NULL, rep_len, rep)))
        return ZB_EDECODE;
    zb_relayed *l = NULL;
    size_t n = 0;
    rc = ZB_EDECODE;
    if (outer->content_case == ZB__REPORT__CONTENT_RELAY &&
        zb_relay_decode(outer->relay, &l, &n) == 0 && re.position < n &&
        l[re.position].kind == ZB_RELAYED_ENVELOPE) {
        const zb_relayed *x = &l[re.position];
        rc = (*out = malloc(x->envelope_len ? x->envelope_len : 1)) ? ZB_OK : ZB_ENOMEM;
        if (rc == 0) {
            memcpy(*out, x->envelope, x->envelope_len);
            *len = x->envelope_len;
        }
    }
    zb_relayed_free(l, n);
    zb__report__free_unpacked(outer, NULL);
    return rc;
}

/* ------------------------------------------------------------ leaves */

int zb_astore_leaf_v2_from(zb_store *s, MDB_txn *txn, uint64_t *from)
{
    return zb_store_get_u64(txn, dbi(s, AGG_DB_META), "leaf_v2_from", from, 0);
}

int zb_astore_leaf_put(zb_store *s, MDB_txn *txn, uint64_t index, const uint8_t *leaf,
                       size_t len)
{
    uint8_t k[8];
    zb_be64_put(k, index);
    MDB_val key = {sizeof k, k}, val = {len, (void *)leaf};
    return zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_LEAVES), &key, &val, 0));
}

int zb_astore_leaf_get(zb_store *s, MDB_txn *txn, uint64_t index, const uint8_t **leaf,
                       size_t *len)
{
    uint8_t k[8];
    zb_be64_put(k, index);
    MDB_val key = {sizeof k, k}, val;
    int rc = zb_mdb_err(mdb_get(txn, dbi(s, AGG_DB_LEAVES), &key, &val));
    if (rc)
        return rc;
    *leaf = val.mv_data;
    *len = val.mv_size;
    return ZB_OK;
}

int zb_astore_key_event_add(zb_store *s, MDB_txn *txn, const char *county, uint64_t index)
{
    uint8_t k[ZB_COUNTY_LEN + 8];
    memcpy(k, county, ZB_COUNTY_LEN);
    zb_be64_put(k + ZB_COUNTY_LEN, index);
    MDB_val key = {sizeof k, k}, val = {0, NULL};
    return zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_KEY_EVENTS), &key, &val, 0));
}

int zb_astore_key_events(zb_store *s, MDB_txn *txn, const char *county,
                         int (*fn)(void *ctx, uint64_t index), void *ctx)
{
    if (!county || strlen(county) != ZB_COUNTY_LEN)
        return ZB_EINVAL;
    MDB_cursor *c;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_KEY_EVENTS), &c));
    if (rc)
        return rc;
    uint8_t k[ZB_COUNTY_LEN + 8] = {0};
    memcpy(k, county, ZB_COUNTY_LEN);
    MDB_val key = {sizeof k, k}, val;
    int mrc;
    for (mrc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
        if (key.mv_size != sizeof k || memcmp(key.mv_data, county, ZB_COUNTY_LEN) != 0)
            break;
        if ((rc = fn(ctx, zb_be64_get((const uint8_t *)key.mv_data + ZB_COUNTY_LEN))))
            break;
    }
    mdb_cursor_close(c);
    if (rc)
        return rc;
    return mrc == 0 || mrc == MDB_NOTFOUND ? ZB_OK : zb_mdb_err(mrc);
}

/* ---- levels */

const char *zb_level_name(zb_level l)
{
    return l == ZB_LEVEL_PROVINCE ? "province" : "prefecture";
}

int zb_astore_office_get(zb_store *s, MDB_txn *txn, zb_level *level, char code[ZB_COUNTY_LEN + 1])
{
    char buf[16];
    int rc = zb_store_get_str(txn, dbi(s, AGG_DB_META), "level", buf, sizeof buf);
    if (rc == ZB_ENOTFOUND)
        *level = ZB_LEVEL_PREFECTURE;
    else if (rc)
        return rc;
    else
        *level = strcmp(buf, "province") == 0 ? ZB_LEVEL_PROVINCE : ZB_LEVEL_PREFECTURE;
    rc = zb_store_get_str(txn, dbi(s, AGG_DB_META), "code", code, ZB_COUNTY_LEN + 1);
    if (rc == ZB_ENOTFOUND) {
        snprintf(code, ZB_COUNTY_LEN + 1, "%s", ZB_OFFICE_CODE_DEFAULT);
        rc = ZB_OK;
    }
    return rc;
}

int zb_astore_office_put(zb_store *s, MDB_txn *txn, zb_level level, const char *code)
{
    int rc = zb_store_put_str(txn, dbi(s, AGG_DB_META), "level", zb_level_name(level));
    return rc ? rc : zb_store_put_str(txn, dbi(s, AGG_DB_META), "code", code);
}

int zb_astore_forward_get(zb_store *s, MDB_txn *txn, int *forward)
{
    uint64_t v = 0;
    int rc = zb_store_get_u64(txn, dbi(s, AGG_DB_META), "forward", &v, 0);
    *forward = (int)(v & 1);
    return rc == ZB_ENOTFOUND ? ZB_OK : rc;
}

int zb_astore_forward_put(zb_store *s, MDB_txn *txn, int forward)
{
    return zb_store_put_u64(txn, dbi(s, AGG_DB_META), "forward", (uint64_t)(forward & 1));
}

typedef struct {
    uint64_t seq;
    bool found;
    uint8_t *key;
} key_for_seq;

static int find_key_for_seq(void *ctx, const zb_key_epoch *e)
{
    key_for_seq *q = ctx;
    if (q->seq >= e->first_seq && (e->revoked_at == 0 || q->seq <= e->last_seq)) {
        q->found = true;
        memcpy(q->key, e->key, ZB_PK_LEN);
        return 1; /* stop */
    }
    return 0;
}

int zb_astore_key_for_seq(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                          uint8_t key[ZB_PK_LEN])
{
    key_for_seq q = {seq, false, key};
    int rc = zb_astore_key_history(s, txn, county, find_key_for_seq, &q);
    if (rc < 0)
        return rc;
    return q.found ? ZB_OK : ZB_ENOTFOUND;
}
