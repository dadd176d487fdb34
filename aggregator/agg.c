/* agg.c - see agg.h. */
#include "agg.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "merkle.h"
#include "report.h"
#include "tlog.h"

struct zb_agg {
    zb_store *store;
    zb_identity id;
    bool has_identity;
};

static const char *const agg_dbs[AGG_DB_COUNT] = {
    "meta",    "counties",    "envelopes", "evidence",   "refusals",
    "log_nodes", "log_entries", "env_log", "tree_heads", "keys", "curve_keys",
    "figures"};

/* county record layout v1: ver(1) key(32) acked(8) last_hash(32) reports(8)
 * last_received(8) enrolled_at(8), integers big-endian */
#define REC_V1_LEN (1 + 32 + 8 + 32 + 8 + 8 + 8)

int zb_agg_create(const char *dir, char pk_hex[2 * ZB_PK_LEN + 1])
{
    char kp[4096];
    if (snprintf(kp, sizeof kp, "%s/" ZB_IDENTITY_FILE, dir) >= (int)sizeof kp)
        return ZB_EINVAL;
    struct stat st;
    if (stat(kp, &st) == 0)
        return ZB_EEXIST;
    zb_store *s = NULL;
    int rc = zb_store_open(&s, dir, agg_dbs, AGG_DB_COUNT, 0, true, false);
    if (rc)
        return rc;
    zb_identity id;
    zb_identity_generate(&id);
    MDB_txn *txn;
    if ((rc = zb_store_begin(s, false, &txn)))
        goto done;
    uint8_t existing[ZB_PK_LEN];
    if (zb_store_get_bin(txn, zb_store_dbi(s, AGG_DB_META), "agg_key", existing, ZB_PK_LEN) == 0) {
        mdb_txn_abort(txn);
        rc = ZB_EEXIST;
        goto done;
    }
    if ((rc = zb_store_put_bin(txn, zb_store_dbi(s, AGG_DB_META), "agg_key", id.pk, ZB_PK_LEN)) ||
        (rc = zb_identity_save(kp, &id))) {
        mdb_txn_abort(txn);
        goto done;
    }
    if ((rc = zb_store_commit(txn))) {
        unlink(kp);
        goto done;
    }
    zb_hex_encode(id.pk, ZB_PK_LEN, pk_hex);
done:
    zb_identity_wipe(&id);
    zb_store_close(&s);
    return rc;
}

int zb_agg_open(zb_agg **out, const char *dir, bool readonly)
{
    *out = NULL;
    zb_agg *a = calloc(1, sizeof *a);
    if (!a)
        return ZB_ENOMEM;
    /* the aggregator holds years of reports: start with a large sparse map */
    int rc = zb_store_open(&a->store, dir, agg_dbs, AGG_DB_COUNT, (size_t)16 << 30, false, readonly);
    if (rc)
        goto fail;
    MDB_txn *txn;
    if ((rc = zb_store_begin(a->store, true, &txn)))
        goto fail;
    uint8_t pk[ZB_PK_LEN];
    rc = zb_store_get_bin(txn, zb_store_dbi(a->store, AGG_DB_META), "agg_key", pk, ZB_PK_LEN);
    mdb_txn_abort(txn);
    if (rc) {
        rc = ZB_ECONFIG;
        goto fail;
    }
    memcpy(a->id.pk, pk, ZB_PK_LEN);
    if (!readonly) {
        if ((rc = zb_identity_load_dir(dir, pk, &a->id)))
            goto fail;
        a->has_identity = true;
    }
    *out = a;
    return ZB_OK;
fail:
    zb_agg_close(&a);
    return rc;
}

void zb_agg_close(zb_agg **ap)
{
    if (!ap || !*ap)
        return;
    zb_store_close(&(*ap)->store);
    zb_identity_wipe(&(*ap)->id);
    free(*ap);
    *ap = NULL;
}

zb_store *zb_agg_store(zb_agg *a) { return a->store; }
const zb_identity *zb_agg_identity(const zb_agg *a) { return &a->id; }

int zb_agg_county_get(zb_agg *a, MDB_txn *txn, const char *county, zb_county_rec *rec)
{
    MDB_val k = {strlen(county), (void *)county}, v;
    int rc = mdb_get(txn, zb_store_dbi(a->store, AGG_DB_COUNTIES), &k, &v);
    if (rc)
        return zb_mdb_err(rc);
    const uint8_t *p = v.mv_data;
    if (v.mv_size != REC_V1_LEN || p[0] != 1 || k.mv_size != ZB_COUNTY_LEN)
        return ZB_EDECODE;
    memset(rec, 0, sizeof *rec);
    memcpy(rec->county, county, ZB_COUNTY_LEN);
    p++;
    memcpy(rec->key, p, 32), p += 32;
    rec->acked_seq = zb_be64_get(p), p += 8;
    memcpy(rec->last_hash, p, 32), p += 32;
    rec->reports = zb_be64_get(p), p += 8;
    rec->last_received_at = (int64_t)zb_be64_get(p), p += 8;
    rec->enrolled_at = (int64_t)zb_be64_get(p);
    return ZB_OK;
}

int zb_agg_county_put(zb_agg *a, MDB_txn *txn, const zb_county_rec *rec)
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
    return zb_mdb_err(mdb_put(txn, zb_store_dbi(a->store, AGG_DB_COUNTIES), &k, &v, 0));
}

/* keys value layout v1: ver(1) key(32) enrolled_at(8) first_seq(8)
 * revoked_at(8) last_seq(8), integers big-endian */
#define KEY_V1_LEN (1 + 32 + 8 + 8 + 8 + 8)

static int key_put(zb_agg *a, MDB_txn *txn, const char *county, const zb_key_epoch *e)
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
    return zb_mdb_err(mdb_put(txn, zb_store_dbi(a->store, AGG_DB_KEYS), &kk, &vv, 0));
}

int zb_agg_key_history(zb_agg *a, MDB_txn *txn, const char *county,
                       int (*fn)(void *ctx, const zb_key_epoch *e), void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(a->store, AGG_DB_KEYS), &cur));
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

static int keep_last(void *ctx, const zb_key_epoch *e)
{
    *(zb_key_epoch *)ctx = *e;
    return 0;
}

static int same_key(void *ctx, const zb_key_epoch *e)
{
    return memcmp(ctx, e->key, ZB_PK_LEN) == 0;
}

static const uint8_t no_key[ZB_PK_LEN];

/* The X25519 key CurveZMQ will present for an Ed25519 node key. */
static int curve_index_put(zb_agg *a, MDB_txn *txn, const uint8_t key[ZB_PK_LEN],
                           const char *county, bool remove)
{
    uint8_t x[32];
    if (crypto_sign_ed25519_pk_to_curve25519(x, key) != 0)
        return ZB_EINVAL;
    MDB_val k = {sizeof x, x}, v = {ZB_COUNTY_LEN, (void *)county};
    int rc = remove ? mdb_del(txn, zb_store_dbi(a->store, AGG_DB_CURVE_KEYS), &k, NULL)
                    : mdb_put(txn, zb_store_dbi(a->store, AGG_DB_CURVE_KEYS), &k, &v, 0);
    return rc == MDB_NOTFOUND ? ZB_OK : zb_mdb_err(rc);
}

int zb_agg_curve_keys(zb_agg *a, MDB_txn *txn,
                      int (*fn)(void *ctx, const uint8_t curve_pk[32], const char *county),
                      void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(a->store, AGG_DB_CURVE_KEYS), &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 32 || v.mv_size != ZB_COUNTY_LEN)
            continue;
        char county[ZB_COUNTY_LEN + 1];
        memcpy(county, v.mv_data, ZB_COUNTY_LEN);
        county[ZB_COUNTY_LEN] = '\0';
        rc = fn(ctx, k.mv_data, county);
    }
    mdb_cursor_close(cur);
    return rc;
}

uint64_t zb_agg_keys_generation(zb_agg *a, MDB_txn *txn)
{
    uint64_t gen = 0;
    (void)zb_store_get_u64(txn, zb_store_dbi(a->store, AGG_DB_META), "keys_gen", &gen, 0);
    return gen;
}

static int bump_keys_generation(zb_agg *a, MDB_txn *txn)
{
    return zb_store_put_u64(txn, zb_store_dbi(a->store, AGG_DB_META), "keys_gen",
                            zb_agg_keys_generation(a, txn) + 1);
}

int zb_agg_enroll(zb_agg *a, const char *county, const uint8_t key[ZB_PK_LEN], bool *was_new,
                  uint64_t *first_seq, uint8_t prev_hash[ZB_SHA256_LEN])
{
    *was_new = false;
    *first_seq = 1;
    memset(prev_hash, 0, ZB_SHA256_LEN);
    if (!zb_county_code_valid(county) || memcmp(key, no_key, ZB_PK_LEN) == 0)
        return ZB_EINVAL;
    MDB_txn *txn;
    int rc = zb_store_begin(a->store, false, &txn);
    if (rc)
        return rc;
    zb_county_rec rec;
    zb_key_epoch last = {.epoch = UINT32_MAX};
    rc = zb_agg_county_get(a, txn, county, &rec);
    if (rc == 0 && (rc = zb_agg_key_history(a, txn, county, keep_last, &last)) == 0) {
        if (memcmp(rec.key, key, ZB_PK_LEN) == 0) {
            *first_seq = last.epoch == UINT32_MAX ? 1 : last.first_seq;
            mdb_txn_abort(txn);
            return ZB_OK; /* idempotent (first_seq/prev_hash: see the first enrolment) */
        }
        if (memcmp(rec.key, no_key, ZB_PK_LEN) != 0) {
            mdb_txn_abort(txn);
            return ZB_EEXIST; /* another key is active */
        }
        /* a once-revoked key never comes back */
        if (zb_agg_key_history(a, txn, county, same_key, (void *)key) != 0) {
            mdb_txn_abort(txn);
            return ZB_EEXIST;
        }
    } else if (rc == ZB_ENOTFOUND) {
        memset(&rec, 0, sizeof rec);
        memcpy(rec.county, county, ZB_COUNTY_LEN);
        rec.enrolled_at = (int64_t)time(NULL);
        rc = ZB_OK;
    }
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    zb_key_epoch e = {.epoch = last.epoch == UINT32_MAX ? 0 : last.epoch + 1,
                      .enrolled_at = (int64_t)time(NULL),
                      .first_seq = rec.acked_seq + 1};
    memcpy(e.key, key, ZB_PK_LEN);
    memcpy(rec.key, key, ZB_PK_LEN);
    if ((rc = key_put(a, txn, county, &e)) || (rc = zb_agg_county_put(a, txn, &rec)) ||
        (rc = curve_index_put(a, txn, key, county, false)) ||
        (rc = bump_keys_generation(a, txn))) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = zb_store_commit(txn);
    if (rc == 0) {
        *was_new = true;
        *first_seq = e.first_seq;
        memcpy(prev_hash, rec.last_hash, ZB_SHA256_LEN);
        ZB_INFO("ZB-AGG-ENROLL", "county %s: key enrolled (epoch %u) from seq %" PRIu64, county,
                e.epoch, e.first_seq);
    }
    return rc;
}

int zb_agg_revoke(zb_agg *a, const char *county, zb_key_epoch *revoked,
                  uint8_t last_hash[ZB_SHA256_LEN])
{
    MDB_txn *txn;
    int rc = zb_store_begin(a->store, false, &txn);
    if (rc)
        return rc;
    zb_county_rec rec;
    zb_key_epoch last = {.epoch = UINT32_MAX};
    if ((rc = zb_agg_county_get(a, txn, county, &rec)) ||
        (rc = zb_agg_key_history(a, txn, county, keep_last, &last)))
        goto fail;
    if (last.epoch == UINT32_MAX || last.revoked_at != 0 ||
        memcmp(rec.key, no_key, ZB_PK_LEN) == 0) {
        rc = ZB_EINVAL;
        goto fail;
    }
    last.revoked_at = (int64_t)time(NULL);
    last.last_seq = rec.acked_seq;
    memcpy(rec.key, no_key, ZB_PK_LEN);
    if ((rc = key_put(a, txn, county, &last)) || (rc = zb_agg_county_put(a, txn, &rec)) ||
        (rc = curve_index_put(a, txn, last.key, county, true)) ||
        (rc = bump_keys_generation(a, txn)))
        goto fail;
    if ((rc = zb_store_commit(txn)) == 0) {
        *revoked = last;
        memcpy(last_hash, rec.last_hash, ZB_SHA256_LEN);
        ZB_WARN("ZB-AGG-REVOKE", "county %s: key of epoch %u revoked after seq %" PRIu64, county,
                last.epoch, last.last_seq);
    }
    return rc;
fail:
    mdb_txn_abort(txn);
    return rc;
}

int zb_agg_count_refusal(zb_agg *a, MDB_txn *txn, const char *reason)
{
    MDB_dbi dbi = zb_store_dbi(a->store, AGG_DB_REFUSALS);
    uint64_t n;
    int rc = zb_store_get_u64(txn, dbi, reason, &n, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    return zb_store_put_u64(txn, dbi, reason, n + 1);
}

static void env_key(uint8_t key[ZB_COUNTY_LEN + 8], const char *county, uint64_t seq)
{
    memcpy(key, county, ZB_COUNTY_LEN);
    zb_be64_put(key + ZB_COUNTY_LEN, seq);
}

#define REFUSE(c, ...)                                                                             \
    do {                                                                                           \
        out->result = ZB_INGEST_REFUSED;                                                           \
        out->code = (c);                                                                           \
        snprintf(out->reason, sizeof out->reason, __VA_ARGS__);                                    \
        rc = ZB_OK;                                                                                \
        goto done;                                                                                  \
    } while (0)

int zb_agg_signature_verdict(const Zb__Envelope *env)
{
    if (env->report.len > ZB_REPORT_MAX || env->signer.len != ZB_PK_LEN ||
        env->signature.len != ZB_SIG_LEN)
        return 0;
    return zb_verify_tagged(ZB_TAG_REPORT, env->report.data, env->report.len, env->signature.data,
                            env->signer.data) == 0;
}

int zb_agg_ingest(zb_agg *a, MDB_txn *txn, zb_county_rec *rec, const Zb__Envelope *env,
                  int64_t now, int sig_verdict, zb_ingest_out *out)
{
    int rc = ZB_OK;
    Zb__Report *r = NULL;
    zb_problems problems = {0};
    memset(out, 0, sizeof *out);
    out->result = ZB_INGEST_STORED;

    if (env->report.len > ZB_REPORT_MAX || env->signer.len != ZB_PK_LEN ||
        env->signature.len != ZB_SIG_LEN)
        REFUSE(ZB__ERROR_CODE__BAD_MESSAGE, "malformed envelope");
    /* a report carries its seq inside the signed bytes: decode first (cheap),
     * verify only what needs it */
    Zb__Report *peek;
    if (zb_report_decode(env->report.data, env->report.len, &peek) != 0)
        REFUSE(ZB__ERROR_CODE__BAD_MESSAGE, "undecodable report");
    r = peek;
    out->seq = r->seq;
    if (r->seq == 0)
        REFUSE(ZB__ERROR_CODE__BAD_MESSAGE, "seq 0: sequence numbers start at 1");
    if (strcmp(r->county, rec->county) != 0)
        REFUSE(ZB__ERROR_CODE__NOT_ENROLLED, "report is for county %.16s, batch for %s", r->county,
               rec->county);
    if (memcmp(env->signer.data, rec->key, ZB_PK_LEN) != 0)
        REFUSE(ZB__ERROR_CODE__NOT_ENROLLED, "seq %" PRIu64 ": signer is not the key enrolled for %s",
               r->seq, rec->county);

    uint8_t key[ZB_COUNTY_LEN + 8];
    env_key(key, rec->county, r->seq);
    MDB_dbi envs = zb_store_dbi(a->store, AGG_DB_ENVELOPES);
    if (r->seq <= rec->acked_seq) {
        MDB_val k = {sizeof key, key}, v;
        if ((rc = zb_mdb_err(mdb_get(txn, envs, &k, &v)))) {
            ZB_ERR("ZB-AGG-DAMAGED", "county %s seq %" PRIu64 " acknowledged but not stored",
                   rec->county, r->seq);
            goto done; /* store damaged: fail the round, acknowledge nothing */
        }
        Zb__Envelope *stored = zb__envelope__unpack(NULL, v.mv_size - 8, (uint8_t *)v.mv_data + 8);
        int same = stored && stored->report.len == env->report.len &&
                   memcmp(stored->report.data, env->report.data, env->report.len) == 0;
        if (stored)
            zb__envelope__free_unpacked(stored, NULL);
        if (same) {
            out->result = ZB_INGEST_DUPLICATE;
            goto done;
        }
        /* different bytes for a stored (county, seq): keep it as evidence
         * only if the county's key really signed it */
        if (!(sig_verdict >= 0 ? sig_verdict : zb_agg_signature_verdict(env)))
            REFUSE(ZB__ERROR_CODE__BAD_SIGNATURE, "seq %" PRIu64 ": signature does not verify",
                   r->seq);
        uint8_t ekey[ZB_COUNTY_LEN + 8 + ZB_SHA256_LEN];
        memcpy(ekey, key, sizeof key);
        zb_report_hash(env->report.data, env->report.len, ekey + sizeof key);
        size_t plen = zb__envelope__get_packed_size(env);
        MDB_val ek = {sizeof ekey, ekey}, ev = {plen, NULL};
        if ((rc = zb_mdb_err(mdb_put(txn, zb_store_dbi(a->store, AGG_DB_EVIDENCE), &ek, &ev,
                                     MDB_RESERVE))))
            goto done;
        zb__envelope__pack(env, ev.mv_data);
        ZB_WARN("ZB-AGG-EQUIVOCATION", "county %s seq %" PRIu64 ": a second, different signed "
                "report: refused and kept as evidence", rec->county, r->seq);
        REFUSE(ZB__ERROR_CODE__EQUIVOCATION,
               "seq %" PRIu64 " is already stored with different content", r->seq);
    }
    if (r->seq > rec->acked_seq + 1)
        REFUSE(ZB__ERROR_CODE__SEQ_GAP, "seq %" PRIu64 " does not follow %" PRIu64, r->seq,
               rec->acked_seq);
    if (memcmp(r->prev_hash.data, rec->last_hash, ZB_SHA256_LEN) != 0)
        REFUSE(ZB__ERROR_CODE__BAD_CHAIN,
               "seq %" PRIu64 ": prev_hash is not the hash of seq %" PRIu64, r->seq,
               rec->acked_seq);
    if (!(sig_verdict >= 0 ? sig_verdict : zb_agg_signature_verdict(env)))
        REFUSE(ZB__ERROR_CODE__BAD_SIGNATURE, "seq %" PRIu64 ": signature does not verify", r->seq);
    zb_report_validate(r, "", &problems);
    if (problems.n)
        REFUSE(ZB__ERROR_CODE__INVALID_REPORT, "seq %" PRIu64 ": %s", r->seq, problems.lines[0]);

    /* store: received_at || packed envelope, written in place */
    size_t plen = zb__envelope__get_packed_size(env);
    MDB_val k = {sizeof key, key}, v = {8 + plen, NULL};
    if ((rc = zb_mdb_err(mdb_put(txn, envs, &k, &v, MDB_RESERVE))))
        goto done;
    zb_be64_put(v.mv_data, (uint64_t)now);
    zb__envelope__pack(env, (uint8_t *)v.mv_data + 8);
    /* the log leaf is exactly the stored (canonical) envelope encoding */
    if ((rc = zb_tlog_append(a, txn, (uint8_t *)v.mv_data + 8, plen, rec->county, r->seq,
                             &out->log_index)))
        goto done;
    zb_report_hash(env->report.data, env->report.len, out->report_hash);
    memcpy(rec->last_hash, out->report_hash, ZB_SHA256_LEN);
    rec->acked_seq = r->seq;
    rec->reports++;
    rec->last_received_at = now;
done:
    if (rc == 0 && out->result == ZB_INGEST_REFUSED) {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(&zb__error_code__descriptor, (int)out->code);
        rc = zb_agg_count_refusal(a, txn, ev ? ev->name : "UNKNOWN");
    }
    zb_problems_free(&problems);
    if (r)
        zb__report__free_unpacked(r, NULL);
    return rc;
}

#define FINDING(...)                                                                               \
    do {                                                                                           \
        char line_[320];                                                                           \
        snprintf(line_, sizeof line_, __VA_ARGS__);                                                \
        finding(ctx, line_);                                                                       \
        findings++;                                                                                \
    } while (0)

typedef struct {
    uint64_t seq;
    bool found;
    uint8_t key[ZB_PK_LEN];
} key_for_seq;

/* The key enrolled for q->seq: first_seq <= seq, and seq <= last_seq if revoked. */
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

long zb_agg_check(zb_agg *a, void (*finding)(void *ctx, const char *line), void *ctx)
{
    MDB_txn *txn;
    int rc = zb_store_begin(a->store, true, &txn);
    if (rc)
        return rc;
    long findings = 0;
    MDB_cursor *cur;
    if ((rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(a->store, AGG_DB_ENVELOPES), &cur)))) {
        mdb_txn_abort(txn);
        return rc;
    }
    zb_county_rec rec = {0};
    bool have_rec = false;
    uint64_t expect = 0, count = 0;
    uint8_t prev[ZB_SHA256_LEN];
    MDB_val k, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (;;) {
        char county[ZB_COUNTY_LEN + 1] = "";
        if (r == 0 && k.mv_size == ZB_COUNTY_LEN + 8)
            memcpy(county, k.mv_data, ZB_COUNTY_LEN);
        /* county boundary (or end): close the previous county */
        if (have_rec && (r != 0 || strcmp(county, rec.county) != 0)) {
            if (count != rec.reports || expect - 1 != rec.acked_seq)
                FINDING("county %s: record says %" PRIu64 " reports up to seq %" PRIu64
                        ", store holds %" PRIu64 " up to seq %" PRIu64,
                        rec.county, rec.reports, rec.acked_seq, count, expect - 1);
            else if (memcmp(prev, rec.last_hash, ZB_SHA256_LEN) != 0)
                FINDING("county %s: record's last hash is not the hash of seq %" PRIu64,
                        rec.county, rec.acked_seq);
            have_rec = false;
        }
        if (r != 0)
            break;
        if (k.mv_size != ZB_COUNTY_LEN + 8 || v.mv_size < 8) {
            FINDING("malformed envelope key or value");
            r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        if (!have_rec) {
            if (zb_agg_county_get(a, txn, county, &rec) != 0) {
                FINDING("county %s: envelopes stored but the county is not enrolled", county);
                memset(&rec, 0, sizeof rec);
                memcpy(rec.county, county, ZB_COUNTY_LEN);
            }
            have_rec = true;
            expect = 1;
            count = 0;
            memset(prev, 0, sizeof prev);
        }
        uint64_t seq = zb_be64_get((uint8_t *)k.mv_data + ZB_COUNTY_LEN);
        Zb__Envelope *env = NULL;
        Zb__Report *rep = NULL;
        int vr = zb_envelope_open((uint8_t *)v.mv_data + 8, v.mv_size - 8, &env, &rep);
        if (vr) {
            FINDING("county %s seq %" PRIu64 ": envelope does not verify: %s", county, seq,
                    zb_strerror(vr));
        } else {
            key_for_seq q = {.seq = seq};
            if (zb_agg_key_history(a, txn, county, find_key_for_seq, &q) < 0 || !q.found ||
                memcmp(env->signer.data, q.key, ZB_PK_LEN) != 0)
                FINDING("county %s seq %" PRIu64 ": not signed by the key enrolled for that seq",
                        county, seq);
            if (strcmp(rep->county, county) != 0 || rep->seq != seq)
                FINDING("county %s seq %" PRIu64 ": stored under the wrong key (report says %.16s/%" PRIu64 ")",
                        county, seq, rep->county, rep->seq);
            if (seq != expect)
                FINDING("county %s: seq %" PRIu64 " follows %" PRIu64 " (gap)", county, seq,
                        expect - 1);
            if (memcmp(rep->prev_hash.data, prev, ZB_SHA256_LEN) != 0)
                FINDING("county %s seq %" PRIu64 ": hash chain broken", county, seq);
            zb_report_hash(env->report.data, env->report.len, prev);
        }
        if (rep)
            zb__report__free_unpacked(rep, NULL);
        if (env)
            zb__envelope__free_unpacked(env, NULL);
        expect = seq + 1;
        count++;
        r = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return findings;
}

int zb_agg_sign_receipt(zb_agg *a, const char *county, uint64_t first, uint64_t last,
                        int64_t received_at, const uint8_t root[ZB_SHA256_LEN],
                        Zb__BatchReceipt **out)
{
    *out = NULL;
    Zb__ReceiptStatement s = ZB__RECEIPT_STATEMENT__INIT;
    s.county = (char *)county;
    s.first_seq = first;
    s.last_seq = last;
    s.received_at = received_at;
    s.batch_root = (ProtobufCBinaryData){ZB_SHA256_LEN, (uint8_t *)root};
    s.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, a->id.pk};
    size_t len = zb__receipt_statement__get_packed_size(&s);
    Zb__BatchReceipt *br = malloc(sizeof *br);
    uint8_t *stmt = malloc(len), *sig = malloc(ZB_SIG_LEN);
    if (!br || !stmt || !sig) {
        free(br), free(stmt), free(sig);
        return ZB_ENOMEM;
    }
    zb__receipt_statement__pack(&s, stmt);
    int rc = zb_sign_tagged(ZB_TAG_RECEIPT, stmt, len, &a->id, sig);
    if (rc) {
        free(br), free(stmt), free(sig);
        return rc;
    }
    zb__batch_receipt__init(br);
    br->statement = (ProtobufCBinaryData){len, stmt};
    br->signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    *out = br;
    return ZB_OK;
}

int zb_agg_reissue_receipts(zb_agg *a, MDB_txn *txn, const char *county, uint64_t from,
                            uint64_t to, Zb__BatchReceipt ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (from == 0 || to < from || strlen(county) != ZB_COUNTY_LEN)
        return ZB_OK;
    uint64_t chunks = (to - from) / ZB_REISSUE_CHUNK + 1;
    if (chunks > ZB_REISSUE_MAX) {
        chunks = ZB_REISSUE_MAX;
        to = from + chunks * ZB_REISSUE_CHUNK - 1;
    }
    Zb__BatchReceipt **arr = calloc(chunks, sizeof *arr);
    uint8_t(*leaves)[ZB_HASH_LEN] = malloc(ZB_REISSUE_CHUNK * ZB_HASH_LEN);
    int rc = arr && leaves ? ZB_OK : ZB_ENOMEM;
    size_t n = 0;
    MDB_dbi envs = zb_store_dbi(a->store, AGG_DB_ENVELOPES);
    for (uint64_t first = from; rc == 0 && first <= to; first += ZB_REISSUE_CHUNK) {
        uint64_t last = to - first >= ZB_REISSUE_CHUNK ? first + ZB_REISSUE_CHUNK - 1 : to;
        int64_t latest = 0;
        for (uint64_t seq = first; rc == 0 && seq <= last; seq++) {
            uint8_t key[ZB_COUNTY_LEN + 8];
            env_key(key, county, seq);
            MDB_val k = {sizeof key, key}, v;
            if ((rc = zb_mdb_err(mdb_get(txn, envs, &k, &v))))
                break;
            int64_t at = (int64_t)zb_be64_get(v.mv_data);
            if (at > latest)
                latest = at;
            Zb__Envelope *env = zb__envelope__unpack(NULL, v.mv_size - 8, (uint8_t *)v.mv_data + 8);
            if (!env) {
                rc = ZB_EDECODE;
                break;
            }
            uint8_t h[ZB_SHA256_LEN];
            zb_report_hash(env->report.data, env->report.len, h);
            zb_merkle_leaf_hash(h, sizeof h, leaves[seq - first]);
            zb__envelope__free_unpacked(env, NULL);
        }
        if (rc)
            break;
        uint8_t root[ZB_HASH_LEN];
        zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])leaves, last - first + 1, root);
        rc = zb_agg_sign_receipt(a, county, first, last, latest, root, &arr[n]);
        if (rc == 0)
            n++;
    }
    free(leaves);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            zb__batch_receipt__free_unpacked(arr[i], NULL);
        free(arr);
        return rc;
    }
    *out = arr;
    *n_out = n;
    return ZB_OK;
}
