/* agg.c - see agg.h. */
#include "agg.h"

#include <inttypes.h>
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
#include "report.h"

struct zb_agg {
    zb_store *store;
    zb_identity id;
    bool has_identity;
};

static const char *const agg_dbs[AGG_DB_COUNT] = {"meta", "counties", "envelopes", "evidence",
                                                   "refusals"};

/* county record layout v1: ver(1) key(32) acked(8) last_hash(32) reports(8)
 * last_received(8) enrolled_at(8), integers big-endian */
#define REC_V1_LEN (1 + 32 + 8 + 32 + 8 + 8 + 8)

int zb_agg_create(const char *dir, char pk_hex[2 * ZB_PK_LEN + 1])
{
    char kp[4096];
    if (snprintf(kp, sizeof kp, "%s/identity.key", dir) >= (int)sizeof kp)
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
        goto out;
    uint8_t existing[ZB_PK_LEN];
    if (zb_store_get_bin(txn, zb_store_dbi(s, AGG_DB_META), "agg_key", existing, ZB_PK_LEN) == 0) {
        mdb_txn_abort(txn);
        rc = ZB_EEXIST;
        goto out;
    }
    if ((rc = zb_store_put_bin(txn, zb_store_dbi(s, AGG_DB_META), "agg_key", id.pk, ZB_PK_LEN)) ||
        (rc = zb_identity_save(kp, &id))) {
        mdb_txn_abort(txn);
        goto out;
    }
    if ((rc = zb_store_commit(txn))) {
        unlink(kp);
        goto out;
    }
    zb_hex_encode(id.pk, ZB_PK_LEN, pk_hex);
out:
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
        char kp[4096];
        snprintf(kp, sizeof kp, "%s/identity.key", dir);
        if ((rc = zb_identity_load(kp, &a->id)))
            goto fail;
        if (memcmp(a->id.pk, pk, ZB_PK_LEN) != 0) {
            ZB_ERR("ZB-AGG-KEY", "%s does not match this aggregator's key", kp);
            rc = ZB_ECONFIG;
            goto fail;
        }
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

int zb_agg_enroll(zb_agg *a, const char *county, const uint8_t key[ZB_PK_LEN], bool *was_new)
{
    *was_new = false;
    if (!zb_county_code_valid(county))
        return ZB_EINVAL;
    MDB_txn *txn;
    int rc = zb_store_begin(a->store, false, &txn);
    if (rc)
        return rc;
    zb_county_rec rec;
    rc = zb_agg_county_get(a, txn, county, &rec);
    if (rc == 0) {
        mdb_txn_abort(txn);
        return memcmp(rec.key, key, ZB_PK_LEN) == 0 ? ZB_OK : ZB_EEXIST;
    }
    if (rc != ZB_ENOTFOUND) {
        mdb_txn_abort(txn);
        return rc;
    }
    memset(&rec, 0, sizeof rec);
    memcpy(rec.county, county, ZB_COUNTY_LEN);
    memcpy(rec.key, key, ZB_PK_LEN);
    rec.enrolled_at = (int64_t)time(NULL);
    if ((rc = zb_agg_county_put(a, txn, &rec))) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = zb_store_commit(txn);
    if (rc == 0)
        *was_new = true;
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
        *result = ZB_INGEST_REFUSED;                                                               \
        *code = (c);                                                                               \
        snprintf(reason, len, __VA_ARGS__);                                                        \
        rc = ZB_OK;                                                                                \
        goto out;                                                                                  \
    } while (0)

int zb_agg_ingest(zb_agg *a, MDB_txn *txn, zb_county_rec *rec, const Zb__Envelope *env,
                  int64_t now, zb_ingest_result *result, Zb__ErrorCode *code, char *reason,
                  size_t len, uint8_t report_hash[ZB_SHA256_LEN])
{
    int rc = ZB_OK;
    Zb__Report *r = NULL;
    zb_problems problems = {0};
    *result = ZB_INGEST_STORED;
    reason[0] = '\0';

    if (env->report.len > ZB_REPORT_MAX || env->signer.len != ZB_PK_LEN ||
        env->signature.len != ZB_SIG_LEN)
        REFUSE(ZB__ERROR_CODE__BAD_MESSAGE, "malformed envelope");
    /* a report carries its seq inside the signed bytes: decode first (cheap),
     * verify only what needs it */
    Zb__Report *peek;
    if (zb_report_decode(env->report.data, env->report.len, &peek) != 0)
        REFUSE(ZB__ERROR_CODE__BAD_MESSAGE, "undecodable report");
    r = peek;
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
        if ((rc = zb_mdb_err(mdb_get(txn, envs, &k, &v))))
            goto out; /* acked but absent: store damaged */
        Zb__Envelope *stored = zb__envelope__unpack(NULL, v.mv_size - 8, (uint8_t *)v.mv_data + 8);
        int same = stored && stored->report.len == env->report.len &&
                   memcmp(stored->report.data, env->report.data, env->report.len) == 0;
        if (stored)
            zb__envelope__free_unpacked(stored, NULL);
        if (same) {
            *result = ZB_INGEST_DUPLICATE;
            goto out;
        }
        /* different bytes for a stored (county, seq): keep it as evidence
         * only if the county's key really signed it */
        if (zb_verify_tagged(ZB_TAG_REPORT, env->report.data, env->report.len,
                             env->signature.data, env->signer.data) != 0)
            REFUSE(ZB__ERROR_CODE__BAD_SIGNATURE, "seq %" PRIu64 ": signature does not verify",
                   r->seq);
        uint8_t ekey[ZB_COUNTY_LEN + 8 + ZB_SHA256_LEN];
        memcpy(ekey, key, sizeof key);
        zb_report_hash(env->report.data, env->report.len, ekey + sizeof key);
        size_t plen = zb__envelope__get_packed_size(env);
        MDB_val ek = {sizeof ekey, ekey}, ev = {plen, NULL};
        if ((rc = zb_mdb_err(mdb_put(txn, zb_store_dbi(a->store, AGG_DB_EVIDENCE), &ek, &ev,
                                     MDB_RESERVE))))
            goto out;
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
    if (zb_verify_tagged(ZB_TAG_REPORT, env->report.data, env->report.len, env->signature.data,
                         env->signer.data) != 0)
        REFUSE(ZB__ERROR_CODE__BAD_SIGNATURE, "seq %" PRIu64 ": signature does not verify", r->seq);
    zb_report_validate(r, "", &problems);
    if (problems.n)
        REFUSE(ZB__ERROR_CODE__INVALID_REPORT, "seq %" PRIu64 ": %s", r->seq, problems.lines[0]);

    /* store: received_at || packed envelope, written in place */
    size_t plen = zb__envelope__get_packed_size(env);
    MDB_val k = {sizeof key, key}, v = {8 + plen, NULL};
    if ((rc = zb_mdb_err(mdb_put(txn, envs, &k, &v, MDB_RESERVE))))
        goto out;
    zb_be64_put(v.mv_data, (uint64_t)now);
    zb__envelope__pack(env, (uint8_t *)v.mv_data + 8);
    zb_report_hash(env->report.data, env->report.len, report_hash);
    memcpy(rec->last_hash, report_hash, ZB_SHA256_LEN);
    rec->acked_seq = r->seq;
    rec->reports++;
    rec->last_received_at = now;
out:
    if (rc == 0 && *result == ZB_INGEST_REFUSED)
        rc = zb_agg_count_refusal(a, txn, protobuf_c_enum_descriptor_get_value(
                                              &zb__error_code__descriptor, (int)*code)
                                              ? protobuf_c_enum_descriptor_get_value(
                                                    &zb__error_code__descriptor, (int)*code)
                                                    ->name
                                              : "UNKNOWN");
    zb_problems_free(&problems);
    if (r)
        zb__report__free_unpacked(r, NULL);
    return rc;
}
