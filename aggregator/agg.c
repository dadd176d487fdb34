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
#include "downstream.h"
#include "logleaf.h"
#include "cosig.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "merkle.h"
#include "province.h"
#include "report.h"
#include "tlog.h"

struct zb_agg {
    zb_store *store;
    zb_tlog *log;
    zb_identity id;
    bool has_identity;
    zb_level level;
    char code[ZB_COUNTY_LEN + 1];
};

int zb_agg_create(const char *dir, char pk_hex[2 * ZB_PK_LEN + 1])
{
    return zb_agg_create_at(dir, ZB_LEVEL_PREFECTURE, ZB_OFFICE_CODE_DEFAULT, pk_hex);
}

int zb_agg_create_at(const char *dir, zb_level level, const char *code,
                     char pk_hex[2 * ZB_PK_LEN + 1])
{
    if (!zb_county_code_valid(code))
        return ZB_EINVAL;
    char kp[4096];
    if (snprintf(kp, sizeof kp, "%s/" ZB_IDENTITY_FILE, dir) >= (int)sizeof kp)
        return ZB_EINVAL;
    struct stat st;
    if (stat(kp, &st) == 0)
        return ZB_EEXIST;
    zb_store *s = NULL;
    int rc = zb_astore_open(&s, dir, true, false);
    if (rc)
        return rc;
    zb_identity id;
    zb_identity_generate(&id);
    MDB_txn *txn;
    if ((rc = zb_store_begin(s, false, &txn)))
        goto done;
    uint8_t existing[ZB_PK_LEN];
    if (zb_astore_agg_key_get(s, txn, existing) == 0) {
        mdb_txn_abort(txn);
        rc = ZB_EEXIST;
        goto done;
    }
    if ((rc = zb_astore_agg_key_put(s, txn, id.pk)) ||
        (rc = zb_astore_office_put(s, txn, level, code)) || (rc = zb_identity_save(kp, &id))) {
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
    int rc = zb_astore_open(&a->store, dir, false, readonly);
    if (rc)
        goto fail;
    MDB_txn *txn;
    if ((rc = zb_store_begin(a->store, true, &txn)))
        goto fail;
    uint8_t pk[ZB_PK_LEN];
    rc = zb_astore_agg_key_get(a->store, txn, pk);
    if (rc == 0 && (rc = zb_astore_office_get(a->store, txn, &a->level, a->code)))
        rc = ZB_ENOTFOUND; /* read as "not an aggregator store" below */
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
    zb_store *s = a->store;
    if ((rc = zb_tlog_open(&a->log, zb_store_dbi(s, AGG_DB_LOG_NODES),
                           zb_store_dbi(s, AGG_DB_LOG_ENTRIES), zb_store_dbi(s, AGG_DB_ENV_LOG),
                           zb_store_dbi(s, AGG_DB_TREE_HEADS), zb_store_dbi(s, AGG_DB_COSIGS),
                           a->has_identity ? &a->id : NULL)))
        goto fail;
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
    zb_tlog_close(&(*ap)->log);
    zb_store_close(&(*ap)->store);
    zb_identity_wipe(&(*ap)->id);
    free(*ap);
    *ap = NULL;
}

zb_store *zb_agg_store(zb_agg *a) { return a->store; }
zb_tlog *zb_agg_tlog(zb_agg *a) { return a->log; }
const zb_identity *zb_agg_identity(const zb_agg *a) { return &a->id; }
zb_level zb_agg_level(const zb_agg *a) { return a->level; }
const char *zb_agg_code(const zb_agg *a) { return a->code; }

int zb_agg_county_get(zb_agg *a, MDB_txn *txn, const char *county, zb_county_rec *rec)
{
    return zb_astore_county_get(a->store, txn, county, rec);
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

/* Append the key event e (its county, epoch, kind ... filled) to the log
 * at now, record where, inside txn. */
static int log_key_event(zb_agg *a, MDB_txn *txn, Zb__KeyEvent *e, int64_t now)
{
    Zb__LogLeaf leaf = ZB__LOG_LEAF__INIT;
    leaf.timestamp = now;
    leaf.entry_case = ZB__LOG_LEAF__ENTRY_KEY_EVENT;
    leaf.key_event = e;
    uint8_t *buf;
    size_t len;
    uint64_t index;
    int rc = zb_leaf_pack(&leaf, &buf, &len);
    if (rc)
        return rc;
    if ((rc = zb_tlog_append(a->log, txn, buf, len, ZB_LEAF_KEY_EVENT, e->county, e->epoch,
                             &index)) == 0 &&
        (rc = zb_astore_leaf_put(a->store, txn, index, buf, len)) == 0)
        rc = zb_astore_key_event_add(a->store, txn, e->county, index);
    free(buf);
    return rc;
}

/* The key events of one act are covered by a head signed in their
 * transaction, as after every round of serve. */
static int sign_head(zb_agg *a, MDB_txn *txn, int64_t now)
{
    Zb__SignedTreeHead *head = NULL;
    int rc = zb_tlog_sign_head(a->log, txn, now, &head);
    if (head)
        zb__signed_tree_head__free_unpacked(head, NULL);
    return rc;
}

/* Revoke county's active key (epoch last, record rec) inside txn at now;
 * request: the rotation that consents to it, or NULL (not consented). */
static int revoke_in(zb_agg *a, MDB_txn *txn, zb_county_rec *rec, zb_key_epoch *last,
                     const uint8_t *request, size_t request_len, int64_t now)
{
    last->revoked_at = now;
    last->last_seq = rec->acked_seq;
    Zb__KeyEvent e = ZB__KEY_EVENT__INIT;
    e.county = rec->county;
    e.epoch = last->epoch;
    e.kind = ZB__KEY_EVENT_KIND__REVOKED;
    e.key = (ProtobufCBinaryData){ZB_PK_LEN, last->key};
    e.seq = last->last_seq;
    e.has_consented = 1;
    e.consented = request != NULL;
    if (request) {
        e.has_request = 1;
        e.request = (ProtobufCBinaryData){request_len, (uint8_t *)request};
    }
    uint8_t key[ZB_PK_LEN];
    memcpy(key, rec->key, ZB_PK_LEN);
    memcpy(rec->key, no_key, ZB_PK_LEN);
    int rc;
    if ((rc = zb_astore_key_put(a->store, txn, rec->county, last)) ||
        (rc = zb_astore_county_put(a->store, txn, rec)) ||
        (rc = zb_astore_curve_key_set(a->store, txn, key, rec->county, false)) ||
        (rc = zb_astore_keys_generation_bump(a->store, txn)))
        return rc;
    return log_key_event(a, txn, &e, now);
}

static int enroll_key(zb_agg *a, const char *county, const uint8_t *key, const Zb__KeyRequest *req,
                      const uint8_t *request, size_t request_len, bool *was_new,
                      uint64_t *first_seq, uint8_t prev_hash[ZB_SHA256_LEN], bool *rotated);

int zb_agg_enroll(zb_agg *a, const char *county, const uint8_t *request, size_t request_len,
                  bool *was_new, uint64_t *first_seq, uint8_t prev_hash[ZB_SHA256_LEN],
                  bool *rotated)
{
    *was_new = *rotated = false;
    *first_seq = 1;
    memset(prev_hash, 0, ZB_SHA256_LEN);
    Zb__KeyRequest *req = NULL;
    int rc = zb_keyreq_open(request, request_len, &req);
    if (rc)
        return rc == ZB_ETOOBIG ? ZB_EDECODE : rc;
    const uint8_t *key = req->key.data;
    if ((county && strcmp(county, req->county) != 0) || !zb_county_code_valid(req->county) ||
        memcmp(key, no_key, ZB_PK_LEN) == 0) {
        zb__key_request__free_unpacked(req, NULL);
        return ZB_EINVAL;
    }
    rc = enroll_key(a, req->county, key, req, request, request_len, was_new, first_seq, prev_hash,
                    rotated);
    zb__key_request__free_unpacked(req, NULL);
    return rc;
}

int zb_agg_enroll_vouched(zb_agg *a, const char *code, const uint8_t key[ZB_PK_LEN],
                          bool *was_new, uint64_t *first_seq)
{
    uint8_t prev_hash[ZB_SHA256_LEN];
    bool rotated;
    *was_new = false;
    *first_seq = 1;
    /* a county is enrolled only with its signed request; a member is a
     * prefecture-level code (NNMM00, MM not 00) */
    if (a->level != ZB_LEVEL_PROVINCE || !zb_county_code_valid(code) ||
        memcmp(code + 4, "00", 2) != 0 || memcmp(code + 2, "00", 2) == 0 ||
        memcmp(key, no_key, ZB_PK_LEN) == 0)
        return ZB_EINVAL;
    return enroll_key(a, code, key, NULL, NULL, 0, was_new, first_seq, prev_hash, &rotated);
}

/* Enrol key for county inside a transaction of its own: req is the
 * opened request (its packed bytes request/request_len, logged with the
 * event), or NULL for a vouched enrolment (a prefecture's key at a
 * province: logged vouched, never a rotation). */
static int enroll_key(zb_agg *a, const char *county, const uint8_t *key, const Zb__KeyRequest *req,
                      const uint8_t *request, size_t request_len, bool *was_new,
                      uint64_t *first_seq, uint8_t prev_hash[ZB_SHA256_LEN], bool *rotated)
{
    *was_new = *rotated = false;
    *first_seq = 1;
    memset(prev_hash, 0, ZB_SHA256_LEN);
    MDB_txn *txn;
    int rc;
    if ((rc = zb_store_begin(a->store, false, &txn)))
        return rc;
    int64_t now = (int64_t)time(NULL);
    zb_county_rec rec;
    zb_key_epoch last = {.epoch = UINT32_MAX};
    if ((rc = zb_tlog_leaf_time(a->log, txn, now, &now)))
        goto fail;
    rc = zb_astore_county_get(a->store, txn, county, &rec);
    if (rc == 0 && (rc = zb_astore_key_history(a->store, txn, county, keep_last, &last)) == 0) {
        if (memcmp(rec.key, key, ZB_PK_LEN) == 0) {
            *first_seq = last.epoch == UINT32_MAX ? 1 : last.first_seq;
            rc = ZB_OK; /* idempotent (first_seq/prev_hash: see the first enrolment) */
            goto fail;
        }
        /* a once-revoked key never comes back */
        if (zb_astore_key_history(a->store, txn, county, same_key, (void *)key) != 0) {
            rc = ZB_EEXIST;
            goto fail;
        }
        if (req && req->has_previous_key) {
            /* a rotation: the active key consents to its own end, after the
             * last report it signed, which must be stored here */
            if (memcmp(rec.key, req->previous_key.data, ZB_PK_LEN) != 0 ||
                req->after_seq != rec.acked_seq ||
                memcmp(req->after_hash.data, rec.last_hash, ZB_SHA256_LEN) != 0) {
                rc = ZB_EINVAL;
                goto fail;
            }
            if ((rc = revoke_in(a, txn, &rec, &last, request, request_len, now)))
                goto fail;
            *rotated = true;
        } else if (memcmp(rec.key, no_key, ZB_PK_LEN) != 0) {
            rc = ZB_EEXIST; /* another key is active */
            goto fail;
        }
    } else if (rc == ZB_ENOTFOUND) {
        if (req && req->has_previous_key) {
            rc = ZB_EINVAL; /* a rotation of a county never enrolled */
            goto fail;
        }
        memset(&rec, 0, sizeof rec);
        memcpy(rec.county, county, ZB_COUNTY_LEN);
        rec.enrolled_at = now;
        rc = ZB_OK;
    }
    if (rc)
        goto fail;
    zb_key_epoch e = {.epoch = last.epoch == UINT32_MAX ? 0 : last.epoch + 1,
                      .enrolled_at = now,
                      .first_seq = rec.acked_seq + 1};
    memcpy(e.key, key, ZB_PK_LEN);
    memcpy(rec.key, key, ZB_PK_LEN);
    Zb__KeyEvent ev = ZB__KEY_EVENT__INIT;
    ev.county = rec.county;
    ev.epoch = e.epoch;
    ev.kind = ZB__KEY_EVENT_KIND__ENROLLED;
    ev.key = (ProtobufCBinaryData){ZB_PK_LEN, e.key};
    ev.seq = e.first_seq;
    ev.has_prev_hash = 1;
    ev.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, rec.last_hash};
    if (req) {
        ev.has_request = 1;
        ev.request = (ProtobufCBinaryData){request_len, (uint8_t *)request};
    } else {
        ev.has_vouched = ev.vouched = 1;
    }
    if ((rc = zb_astore_key_put(a->store, txn, county, &e)) ||
        (rc = zb_astore_county_put(a->store, txn, &rec)) ||
        (rc = zb_astore_curve_key_set(a->store, txn, key, county, true)) ||
        (rc = zb_astore_keys_generation_bump(a->store, txn)) ||
        (rc = log_key_event(a, txn, &ev, now)) || (rc = sign_head(a, txn, now)))
        goto fail;
    rc = zb_store_commit(txn);
    if (rc == 0) {
        *was_new = true;
        *first_seq = e.first_seq;
        memcpy(prev_hash, rec.last_hash, ZB_SHA256_LEN);
        ZB_INFO("ZB-AGG-ENROLL", "%s %s: key enrolled (epoch %u) from seq %" PRIu64 "%s",
                req ? "county" : "prefecture", county, e.epoch, e.first_seq,
                *rotated ? " (a rotation, consented)" : req ? "" : " (vouched)");
    }
    return rc;
fail:
    mdb_txn_abort(txn);
    return rc;
}

int zb_agg_enroll_identity(zb_agg *a, const char *county, const zb_identity *node, bool *was_new,
                           uint64_t *first_seq, uint8_t prev_hash[ZB_SHA256_LEN])
{
    uint8_t *req;
    size_t len;
    int rc = zb_keyreq_make(county, node, NULL, 0, NULL, (int64_t)time(NULL), &req, &len);
    if (rc)
        return rc;
    bool rotated;
    rc = zb_agg_enroll(a, county, req, len, was_new, first_seq, prev_hash, &rotated);
    free(req);
    return rc;
}

int zb_agg_revoke(zb_agg *a, const char *county, zb_key_epoch *revoked,
                  uint8_t last_hash[ZB_SHA256_LEN])
{
    MDB_txn *txn;
    int rc = zb_store_begin(a->store, false, &txn);
    if (rc)
        return rc;
    int64_t now = (int64_t)time(NULL);
    zb_county_rec rec;
    zb_key_epoch last = {.epoch = UINT32_MAX};
    if ((rc = zb_tlog_leaf_time(a->log, txn, now, &now)) ||
        (rc = zb_astore_county_get(a->store, txn, county, &rec)) ||
        (rc = zb_astore_key_history(a->store, txn, county, keep_last, &last)))
        goto fail;
    if (last.epoch == UINT32_MAX || last.revoked_at != 0 ||
        memcmp(rec.key, no_key, ZB_PK_LEN) == 0) {
        rc = ZB_EINVAL;
        goto fail;
    }
    if ((rc = revoke_in(a, txn, &rec, &last, NULL, 0, now)) || (rc = sign_head(a, txn, now)))
        goto fail;
    if ((rc = zb_store_commit(txn)) == 0) {
        *revoked = last;
        memcpy(last_hash, rec.last_hash, ZB_SHA256_LEN);
        ZB_WARN("ZB-AGG-REVOKE", "county %s: key of epoch %u revoked after seq %" PRIu64
                " (not consented: no rotation request)", county, last.epoch, last.last_seq);
    }
    return rc;
fail:
    mdb_txn_abort(txn);
    return rc;
}

int zb_agg_count_refusal(zb_agg *a, MDB_txn *txn, const char *reason)
{
    return zb_astore_refusal_add(a->store, txn, reason, 1);
}

/* Log the equivocating report env of county's seq as evidence at now. */
static int log_evidence(zb_agg *a, MDB_txn *txn, const char *county, uint64_t seq,
                        const Zb__Envelope *env, int64_t now)
{
    size_t n = zb__envelope__get_packed_size(env);
    uint8_t *packed = malloc(n);
    if (!packed)
        return ZB_ENOMEM;
    zb__envelope__pack(env, packed);
    Zb__Evidence ev = ZB__EVIDENCE__INIT;
    ev.county = (char *)county;
    ev.seq = seq;
    ev.envelope = (ProtobufCBinaryData){n, packed};
    Zb__LogLeaf leaf = ZB__LOG_LEAF__INIT;
    leaf.timestamp = now;
    leaf.entry_case = ZB__LOG_LEAF__ENTRY_EVIDENCE;
    leaf.evidence = &ev;
    uint8_t *buf;
    size_t len;
    uint64_t index;
    int rc = zb_leaf_pack(&leaf, &buf, &len);
    free(packed);
    if (rc)
        return rc;
    if ((rc = zb_tlog_append(a->log, txn, buf, len, ZB_LEAF_EVIDENCE, county, seq, &index)) == 0)
        rc = zb_astore_leaf_put(a->store, txn, index, buf, len);
    free(buf);
    return rc;
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

    /* a county's report is at most ZB_COUNTY_REPORT_MAX, a prefecture's
     * relay at most ZB_REPORT_MAX: checked before anything is kept, even
     * as evidence (so a prefecture's leaves stay within ZB_RELAY_LEAF_MAX) */
    if (env->report.len > (a->level == ZB_LEVEL_PROVINCE ? ZB_REPORT_MAX : ZB_COUNTY_REPORT_MAX) ||
        env->signer.len != ZB_PK_LEN || env->signature.len != ZB_SIG_LEN)
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

    if (r->seq <= rec->acked_seq) {
        zb_stored_env stored;
        if ((rc = zb_astore_envelope_get(a->store, txn, rec->county, r->seq, &stored))) {
            ZB_ERR("ZB-AGG-DAMAGED", "county %s seq %" PRIu64 " acknowledged but not stored",
                   rec->county, r->seq);
            goto done; /* store damaged: fail the round, acknowledge nothing */
        }
        const uint8_t *stored_rep;
        size_t stored_len;
        if (zb_envelope_report_view(stored.env, stored.len, &stored_rep, &stored_len) == 0 &&
            stored_len == env->report.len &&
            memcmp(stored_rep, env->report.data, env->report.len) == 0) {
            out->result = ZB_INGEST_DUPLICATE;
            goto done;
        }
        /* different bytes for a stored (county, seq): keep it as evidence
         * only if the county's key really signed it */
        if (!(sig_verdict >= 0 ? sig_verdict : zb_agg_signature_verdict(env)))
            REFUSE(ZB__ERROR_CODE__BAD_SIGNATURE, "seq %" PRIu64 ": signature does not verify",
                   r->seq);
        rc = zb_astore_evidence_put(a->store, txn, rec->county, r->seq, env);
        if (rc == 0)
            rc = log_evidence(a, txn, rec->county, r->seq, env, now);
        if (rc && rc != ZB_EEXIST) /* EEXIST: this very report is logged already */
            goto done;
        rc = ZB_OK;
        ZB_WARN("ZB-AGG-EQUIVOCATION", "county %s seq %" PRIu64 ": a second, different signed "
                "report: refused, kept as evidence and logged", rec->county, r->seq);
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
    /* the rule that needs the store: nothing follows a closing or a write-off */
    if (r->content_case == ZB__REPORT__CONTENT_ACCIDENT && r->accident->accident_id) {
        int grade, stage;
        int sr = zb_astore_accident_state(a->store, txn, rec->county, r->accident->accident_id,
                                          &grade, &stage);
        if (sr != 0 && sr != ZB_ENOTFOUND) {
            rc = sr;
            goto done;
        }
        if (sr == 0 && (stage == ZB__STAGE__CLOSING || stage == ZB__STAGE__WRITE_OFF))
            REFUSE(ZB__ERROR_CODE__INVALID_REPORT,
                   "seq %" PRIu64 ": revision: accident %s was %s: no revision may follow",
                   r->seq, r->accident->accident_id,
                   stage == ZB__STAGE__CLOSING ? "closed" : "written off");
    }

    /* a province takes its prefectures' relays and summaries, a prefecture
     * its counties' reports: nothing else (protocol.md §14) */
    bool upward = r->content_case == ZB__REPORT__CONTENT_RELAY ||
                  r->content_case == ZB__REPORT__CONTENT_SUMMARY;
    if (upward != (a->level == ZB_LEVEL_PROVINCE))
        REFUSE(ZB__ERROR_CODE__INVALID_REPORT,
               "seq %" PRIu64 ": a %s takes %s, not a %s report", r->seq, zb_level_name(a->level),
               a->level == ZB_LEVEL_PROVINCE ? "relays and summaries from its prefectures"
                                             : "monthly and accident reports from its counties",
               zb_report_type_name(r));
    if (upward) {
        char why[200];
        Zb__ErrorCode code;
        int pr = zb_province_accept(a->store, txn, rec, r, &code, why, sizeof why);
        if (pr < 0) {
            rc = pr;
            goto done;
        }
        if (pr > 0)
            REFUSE(code, "seq %" PRIu64 ": %s", r->seq, why);
    }

    /* the envelope, its index entries and its log leaf (exactly the stored
     * canonical bytes), all in the round's transaction */
    zb_stored_env stored;
    uint8_t *leaf = NULL;
    size_t leaf_len = 0;
    if ((rc = zb_astore_envelope_put(a->store, txn, rec->county, r->seq, now, env, r, &stored)) ||
        (rc = zb_leaf_of_envelope(now, stored.env, stored.len, &leaf, &leaf_len)))
        goto done;
    rc = zb_tlog_append(a->log, txn, leaf, leaf_len, ZB_LEAF_ENVELOPE, rec->county, r->seq,
                        &out->log_index);
    free(leaf);
    if (rc)
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

/* One pass over the stored envelopes, county by county. */
typedef struct {
    zb_agg *agg;
    MDB_txn *txn;
    void (*finding)(void *ctx, const char *line);
    void (*progress)(void *ctx, uint64_t done, uint64_t total); /* NULL: none */
    void *ctx;
    long findings;
    uint64_t verified, total; /* envelopes and log entries checked, for progress */
    zb_county_rec rec;
    bool have_rec;
    uint64_t expect, count;
    uint8_t prev[ZB_SHA256_LEN];
} check_ctx;

#define CFINDING(c, ...)                                                                           \
    do {                                                                                           \
        char line_[320];                                                                           \
        snprintf(line_, sizeof line_, __VA_ARGS__);                                                \
        (c)->finding((c)->ctx, line_);                                                             \
        (c)->findings++;                                                                           \
    } while (0)

/* The county record must say what the envelopes hold. */
static void check_close_county(check_ctx *c)
{
    if (!c->have_rec)
        return;
    if (c->count != c->rec.reports || c->expect - 1 != c->rec.acked_seq)
        CFINDING(c,
                 _("county %s: record says %" PRIu64 " reports up to seq %" PRIu64
                   ", store holds %" PRIu64 " up to seq %" PRIu64),
                 c->rec.county, c->rec.reports, c->rec.acked_seq, c->count, c->expect - 1);
    else if (memcmp(c->prev, c->rec.last_hash, ZB_SHA256_LEN) != 0)
        CFINDING(c, _("county %s: record's last hash is not the hash of seq %" PRIu64),
                 c->rec.county, c->rec.acked_seq);
    c->have_rec = false;
}

static int check_one(void *vctx, const zb_stored_env *e)
{
    check_ctx *c = vctx;
    if (c->have_rec && strcmp(e->county, c->rec.county) != 0)
        check_close_county(c);
    if (!c->have_rec) {
        if (zb_astore_county_get(c->agg->store, c->txn, e->county, &c->rec) != 0) {
            CFINDING(c, _("county %s: envelopes stored but the county is not enrolled"), e->county);
            memset(&c->rec, 0, sizeof c->rec);
            memcpy(c->rec.county, e->county, ZB_COUNTY_LEN);
        }
        c->have_rec = true;
        c->expect = 1;
        c->count = 0;
        memset(c->prev, 0, sizeof c->prev);
    }
    Zb__Envelope *env = NULL;
    Zb__Report *rep = NULL;
    int vr = zb_envelope_open(e->env, e->len, &env, &rep);
    if (vr) {
        CFINDING(c, _("county %s seq %" PRIu64 ": envelope does not verify: %s"), e->county, e->seq,
                 zb_strerror(vr));
    } else {
        uint8_t key[ZB_PK_LEN];
        if (zb_astore_key_for_seq(c->agg->store, c->txn, e->county, e->seq, key) != 0 ||
            memcmp(env->signer.data, key, ZB_PK_LEN) != 0)
            CFINDING(c, _("county %s seq %" PRIu64 ": not signed by the key enrolled for that seq"),
                     e->county, e->seq);
        if (strcmp(rep->county, e->county) != 0 || rep->seq != e->seq)
            CFINDING(c,
                     _("county %s seq %" PRIu64 ": stored under the wrong key (report says "
                       "%.16s/%" PRIu64 ")"),
                     e->county, e->seq, rep->county, rep->seq);
        if (e->seq != c->expect)
            CFINDING(c, _("county %s: seq %" PRIu64 " follows %" PRIu64 " (gap)"), e->county,
                     e->seq, c->expect - 1);
        if (memcmp(rep->prev_hash.data, c->prev, ZB_SHA256_LEN) != 0)
            CFINDING(c, _("county %s seq %" PRIu64 ": hash chain broken"), e->county, e->seq);
        zb_report_hash(env->report.data, env->report.len, c->prev);
    }
    if (rep)
        zb__report__free_unpacked(rep, NULL);
    if (env)
        zb__envelope__free_unpacked(env, NULL);
    c->expect = e->seq + 1;
    c->count++;
    if (c->progress)
        c->progress(c->ctx, ++c->verified, c->total);
    return 0;
}

/* The prefecture's messages: each verifies with the aggregator key, is
 * stored under its own county and number (1, 2, 3... per county), and is
 * the log leaf its record names. */
typedef struct {
    check_ctx *c;
    uint8_t key[ZB_PK_LEN];
    char county[ZB_COUNTY_LEN + 1];
    uint64_t expect;
} down_check;

static void down_check_close(down_check *d)
{
    if (!d->county[0])
        return;
    zb_down_state st;
    if (zb_astore_down_state(d->c->agg->store, d->c->txn, d->county, &st) != 0 ||
        st.last != d->expect - 1 || st.delivered > st.last)
        CFINDING(d->c,
                 _("county %s: message state says last %" PRIu64 " delivered %" PRIu64
                   ", store holds 1..%" PRIu64),
                 d->county, st.last, st.delivered, d->expect - 1);
}

static int check_down(void *ctx, const zb_stored_down *m)
{
    down_check *d = ctx;
    check_ctx *c = d->c;
    if (strcmp(d->county, m->county) != 0) {
        down_check_close(d);
        snprintf(d->county, sizeof d->county, "%s", m->county);
        d->expect = 1;
    }
    Zb__Downstream *msg = NULL;
    int vr = zb_down_open(m->msg, m->len, d->key, &msg);
    if (vr)
        CFINDING(c, _("county %s message %" PRIu64 ": does not verify: %s"), m->county, m->number,
                 zb_strerror(vr));
    else if (strcmp(msg->county, m->county) != 0 || msg->number != m->number)
        CFINDING(
            c,
            _("county %s message %" PRIu64 ": stored under the wrong key (it says %s/%" PRIu64 ")"),
            m->county, m->number, msg->county, msg->number);
    if (msg)
        zb__downstream__free_unpacked(msg, NULL);
    if (m->number != d->expect)
        CFINDING(c, _("county %s: message %" PRIu64 " follows %" PRIu64 " (gap)"), m->county,
                 m->number, d->expect - 1);
    zb_leaf_kind kind;
    char county[ZB_COUNTY_LEN + 1];
    uint64_t number;
    if (zb_tlog_entry(c->agg->log, c->txn, m->log_index, &kind, county, &number) != 0 ||
        kind != ZB_LEAF_DOWNSTREAM || strcmp(county, m->county) != 0 || number != m->number)
        CFINDING(c, _("county %s message %" PRIu64 ": log entry %" PRIu64 " is not this message"),
                 m->county, m->number, m->log_index);
    d->expect = m->number + 1;
    return 0;
}

int zb_agg_leaf_get(zb_agg *a, MDB_txn *txn, uint64_t index, zb_agg_leaf *out)
{
    memset(out, 0, sizeof *out);
    int rc = zb_tlog_entry(a->log, txn, index, &out->kind, out->county, &out->seq);
    if (rc)
        return rc;
    zb_stored_env e;
    zb_stored_down d;
    switch (out->kind) {
    case ZB_LEAF_ENVELOPE:
        if ((rc = zb_astore_envelope_get(a->store, txn, out->county, out->seq, &e)))
            return rc;
        out->time = e.received_at;
        uint64_t v2_from;
        if ((rc = zb_astore_leaf_v2_from(a->store, txn, &v2_from)))
            return rc;
        if (index < v2_from) { /* a bare envelope */
            out->bytes = e.env;
            out->len = e.len;
            return ZB_OK;
        }
        rc = zb_leaf_of_envelope(e.received_at, e.env, e.len, &out->owned, &out->len);
        break;
    case ZB_LEAF_DOWNSTREAM:
        if ((rc = zb_astore_down_get(a->store, txn, out->county, out->seq, &d)))
            return rc;
        out->time = d.created_at; /* a message enters the log when it is made */
        rc = zb_leaf_of_downstream(d.created_at, d.msg, d.len, &out->owned, &out->len);
        break;
    default: {
        Zb__LogLeaf *l = NULL;
        if ((rc = zb_astore_leaf_get(a->store, txn, index, &out->bytes, &out->len)) ||
            (rc = zb_leaf_decode(out->bytes, out->len, &l)))
            return rc;
        out->time = l->timestamp;
        zb__log_leaf__free_unpacked(l, NULL);
        return ZB_OK;
    }
    }
    out->bytes = out->owned;
    return rc;
}

void zb_agg_leaf_free(zb_agg_leaf *l)
{
    free(l->owned);
    l->owned = NULL;
    l->bytes = NULL;
}

/* Every leaf of the log rebuilt from its record hashes to what the log
 * holds; a key event checks out on its own. */
static void check_log(check_ctx *c)
{
    uint64_t n;
    if (zb_tlog_size(c->agg->log, c->txn, &n) != 0) {
        CFINDING(c, _("log: its size cannot be read"));
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        zb_agg_leaf l;
        uint8_t want[ZB_HASH_LEN], have[ZB_HASH_LEN];
        int rc = zb_agg_leaf_get(c->agg, c->txn, i, &l);
        if (rc == 0)
            rc = zb_tlog_leaf_hash(c->agg->log, c->txn, i, have);
        if (rc) {
            CFINDING(c, _("log entry %" PRIu64 ": cannot be rebuilt (%s)"), i, zb_strerror(rc));
            zb_agg_leaf_free(&l);
            continue;
        }
        if (c->progress)
            c->progress(c->ctx, ++c->verified, c->total);
        zb_merkle_leaf_hash(l.bytes, l.len, want);
        if (memcmp(want, have, ZB_HASH_LEN) != 0)
            CFINDING(c,
                     _("log entry %" PRIu64 " (county %s): its record does not hash to the "
                       "logged leaf"),
                     i, l.county);
        if (l.kind == ZB_LEAF_KEY_EVENT) {
            Zb__LogLeaf *leaf = NULL;
            char why[160];
            if (zb_leaf_decode(l.bytes, l.len, &leaf) != 0 ||
                leaf->entry_case != ZB__LOG_LEAF__ENTRY_KEY_EVENT ||
                zb_key_event_check(leaf->key_event, why, sizeof why) != 0)
                CFINDING(c, _("log entry %" PRIu64 ": key event of county %s does not check: %s"),
                         i, l.county, leaf ? why : "undecodable");
            if (leaf)
                zb__log_leaf__free_unpacked(leaf, NULL);
        }
        zb_agg_leaf_free(&l);
    }
}

/* Every stored cosignature verifies for the head it is stored with, and
 * that head is the log's own prefix (its root rebuilt from the log). */
static int check_witnessed(void *ctx, const Zb__SignedTreeHead *sth)
{
    check_ctx *c = ctx;
    zb_tree_head h;
    uint8_t root[ZB_HASH_LEN];
    if (zb_tree_head_verify(sth, c->agg->id.pk, &h) != 0) {
        CFINDING(c, _("a witnessed tree head does not verify under the aggregator key"));
        return 0;
    }
    if (zb_tlog_root(c->agg->log, c->txn, h.size, root) != 0 ||
        memcmp(root, h.root, ZB_HASH_LEN) != 0)
        CFINDING(c, _("witnessed tree head %" PRIu64 ": its root is not the log's"), h.size);
    for (size_t i = 0; i < sth->n_cosignatures; i++)
        if (zb_cosig_verify(sth->cosignatures[i], c->agg->id.pk, &h) != 0)
            CFINDING(c, _("tree head %" PRIu64 ": cosignature %zu does not verify"), h.size, i + 1);
    return 0;
}

static void check_forward(void *ctx, const char *line)
{
    check_ctx *c = ctx;
    c->finding(c->ctx, line);
}

long zb_agg_check(zb_agg *a, void (*finding)(void *ctx, const char *line),
                  void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx)
{
    MDB_txn *txn;
    int rc = zb_store_begin(a->store, true, &txn);
    if (rc)
        return rc;
    check_ctx c = {.agg = a, .txn = txn, .finding = finding, .progress = progress, .ctx = ctx};
    if (progress) { /* the signature pass, then the log pass (the index pass is not counted) */
        uint64_t log_size = 0;
        (void)zb_tlog_size(a->log, txn, &log_size);
        c.total = zb_astore_envelope_count(a->store, txn) + log_size;
        progress(ctx, 0, c.total);
    }
    rc = zb_astore_envelopes(a->store, txn, NULL, check_one, &c);
    if (rc == 0)
        check_close_county(&c);
    if (rc == 0)
        check_log(&c);
    down_check dc = {.c = &c};
    if (rc == 0 && (rc = zb_astore_agg_key_get(a->store, txn, dc.key)) == 0 &&
        (rc = zb_astore_downs(a->store, txn, NULL, 0, check_down, &dc)) == 0)
        down_check_close(&dc);
    if (rc == 0)
        rc = zb_tlog_witnessed_heads(a->log, txn, check_witnessed, &c);
    long idx = rc ? 0 : zb_astore_index_check(a->store, txn, NULL, check_forward, &c);
    /* a province: every relay's head and paths under its prefecture's key,
     * every county signature inside */
    long relayed = rc || idx < 0 || a->level != ZB_LEVEL_PROVINCE
                       ? 0
                       : zb_province_check(a->store, txn, check_forward, &c);
    mdb_txn_abort(txn);
    if (rc)
        return rc;
    if (idx < 0)
        return idx;
    if (relayed < 0)
        return relayed;
    return c.findings + idx + relayed;
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
    for (uint64_t first = from; rc == 0 && first <= to; first += ZB_REISSUE_CHUNK) {
        uint64_t last = to - first >= ZB_REISSUE_CHUNK ? first + ZB_REISSUE_CHUNK - 1 : to;
        int64_t latest = 0;
        for (uint64_t seq = first; rc == 0 && seq <= last; seq++) {
            zb_stored_env e;
            const uint8_t *rep;
            size_t rep_len;
            if ((rc = zb_astore_envelope_get(a->store, txn, county, seq, &e)))
                break;
            if (e.received_at > latest)
                latest = e.received_at;
            if (zb_envelope_report_view(e.env, e.len, &rep, &rep_len) != 0) {
                rc = ZB_EDECODE;
                break;
            }
            uint8_t h[ZB_SHA256_LEN];
            zb_report_hash(rep, rep_len, h);
            zb_merkle_leaf_hash(h, sizeof h, leaves[seq - first]);
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
