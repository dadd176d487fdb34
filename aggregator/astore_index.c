/*
 * astore_index.c - the aggregator store's indexes (layout in astore.h):
 * written with each envelope, read by the reports, rebuilt and checked
 * from the envelopes. The same code writes them at ingest, at reindex and
 * into the scratch store `check` compares with, so the three cannot drift.
 */
#include "astore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "relay.h"
#include "rules.h"
#include "timefmt.h"

int zb_astore_index_add_(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         int64_t received_at, const Zb__Report *r);
/* in astore.c: meta "leaf_v2_from", set once */
int zb_astore_leaf_v2_mark_(zb_store *s, MDB_txn *txn);
/* in astore_down.c */
int zb_astore_down_reindex_(zb_store *s, MDB_txn *read_txn, MDB_txn *write_txn, MDB_dbi reviews,
                            MDB_dbi deadlines);

/* The index databases of one environment (the store's, or check's scratch). */
typedef struct {
    MDB_dbi monthly, acc_revs, acc_state, acc_time, chain, reviews, deadlines;
    MDB_dbi relay_county, relay_keys, relay_env, relay_state, summary;
} idx_dbs;

#define IDX_DBS 12

static idx_dbs dbs_of(zb_store *s)
{
    return (idx_dbs){zb_store_dbi(s, AGG_DB_IDX_MONTHLY), zb_store_dbi(s, AGG_DB_IDX_ACC_REVS),
                     zb_store_dbi(s, AGG_DB_IDX_ACC_STATE), zb_store_dbi(s, AGG_DB_IDX_ACC_TIME),
                     zb_store_dbi(s, AGG_DB_IDX_CHAIN), zb_store_dbi(s, AGG_DB_IDX_REVIEWS),
                     zb_store_dbi(s, AGG_DB_IDX_DEADLINES), zb_store_dbi(s, AGG_DB_IDX_RELAY_COUNTY),
                     zb_store_dbi(s, AGG_DB_IDX_RELAY_KEYS), zb_store_dbi(s, AGG_DB_IDX_RELAY_ENV),
                     zb_store_dbi(s, AGG_DB_IDX_RELAY_STATE), zb_store_dbi(s, AGG_DB_IDX_SUMMARY)};
}

/* The databases of d in one array, in the order of check's names. */
static void dbs_list(const idx_dbs *d, MDB_dbi out[IDX_DBS])
{
    MDB_dbi all[IDX_DBS] = {d->monthly,      d->acc_revs,   d->acc_state, d->acc_time,
                            d->chain,        d->reviews,    d->deadlines, d->relay_county,
                            d->relay_keys,   d->relay_env,  d->relay_state, d->summary};
    memcpy(out, all, sizeof all);
}

/* signed time -> unsigned key in the same order */
static uint64_t time_key(int64_t t) { return (uint64_t)t ^ (UINT64_C(1) << 63); }
static int64_t time_of_key(uint64_t k) { return (int64_t)(k ^ (UINT64_C(1) << 63)); }

#define MONTHLY_KEY_LEN (ZB_COUNTY_LEN + 4 + 8)
#define IDX_LAYOUT 2 /* the version byte of every index record */
#define MONTHLY_VAL_LEN (1 + 8 + 8 + 1)
#define REV_VAL_LEN (1 + 4 + 8 * 5 + 4 * 4 + 8 + 3)
#define STATE_VAL_LEN (1 + 4 + 4 + 8 + 8 + 1 + 1)
#define FLAG_CREATED_BEFORE_PREVIOUS 0x1
#define ACC_KEY_MAX (ZB_COUNTY_LEN + ZB_ACCIDENT_ID_MAX + 1 + 8)
#define TIME_KEY_MAX (8 + ZB_COUNTY_LEN + ZB_ACCIDENT_ID_MAX)

/* county || id: the accident's key (acc_state), length returned */
static size_t acc_key(uint8_t *k, const char *county, const char *id, size_t id_len)
{
    memcpy(k, county, ZB_COUNTY_LEN);
    memcpy(k + ZB_COUNTY_LEN, id, id_len);
    return ZB_COUNTY_LEN + id_len;
}

static size_t time_key_make(uint8_t *k, int64_t occurred_at, const uint8_t *acc, size_t acc_len)
{
    zb_be64_put(k, time_key(occurred_at));
    memcpy(k + 8, acc, acc_len);
    return 8 + acc_len;
}

typedef struct {
    uint32_t revisions, revision;
    uint64_t seq;
    int64_t occurred_at;
    uint8_t highest_grade, stage;
} acc_state;

static int state_get(MDB_txn *txn, MDB_dbi dbi, const uint8_t *k, size_t klen, acc_state *st)
{
    MDB_val kk = {klen, (void *)k}, v;
    int rc = zb_mdb_err(mdb_get(txn, dbi, &kk, &v));
    if (rc)
        return rc;
    const uint8_t *p = v.mv_data;
    if (v.mv_size != STATE_VAL_LEN || p[0] != IDX_LAYOUT)
        return ZB_EDECODE;
    st->revisions = zb_be32_get(p + 1);
    st->revision = zb_be32_get(p + 5);
    st->seq = zb_be64_get(p + 9);
    st->occurred_at = (int64_t)zb_be64_get(p + 17);
    st->highest_grade = p[25];
    st->stage = p[26];
    return ZB_OK;
}

static int state_put(MDB_txn *txn, MDB_dbi dbi, const uint8_t *k, size_t klen, const acc_state *st)
{
    uint8_t b[STATE_VAL_LEN];
    b[0] = IDX_LAYOUT;
    zb_be32_put(b + 1, st->revisions);
    zb_be32_put(b + 5, st->revision);
    zb_be64_put(b + 9, st->seq);
    zb_be64_put(b + 17, (uint64_t)st->occurred_at);
    b[25] = st->highest_grade;
    b[26] = st->stage;
    MDB_val kk = {klen, (void *)k}, v = {sizeof b, b};
    return zb_mdb_err(mdb_put(txn, dbi, &kk, &v, 0));
}

static int index_monthly(MDB_txn *txn, const idx_dbs *d, const char *county, uint64_t seq,
                         int64_t received_at, const Zb__Report *r, uint8_t flags)
{
    int y, m;
    if (!r->monthly || !r->monthly->period || zb_period_parse(r->monthly->period, &y, &m) != 0)
        return ZB_OK; /* not a period the reports can ask for */
    uint8_t k[MONTHLY_KEY_LEN], v[MONTHLY_VAL_LEN];
    memcpy(k, county, ZB_COUNTY_LEN);
    zb_be32_put(k + ZB_COUNTY_LEN, (uint32_t)zb_period_ordinal(y, m));
    zb_be64_put(k + ZB_COUNTY_LEN + 4, seq);
    v[0] = IDX_LAYOUT;
    zb_be64_put(v + 1, (uint64_t)r->created_at);
    zb_be64_put(v + 9, (uint64_t)received_at);
    v[17] = flags;
    MDB_val kk = {sizeof k, k}, vv = {sizeof v, v};
    return zb_mdb_err(mdb_put(txn, d->monthly, &kk, &vv, 0));
}

static int index_accident(MDB_txn *txn, const idx_dbs *d, const char *county, uint64_t seq,
                          int64_t received_at, const Zb__Report *r, uint8_t flags)
{
    const Zb__AccidentReport *a = r->accident;
    if (!a || !a->accident_id || !a->occurred_at || !a->county_notified_at)
        return ZB_OK; /* validation refuses these: nothing a report could show */
    size_t id_len = strlen(a->accident_id);
    if (id_len == 0 || id_len > ZB_ACCIDENT_ID_MAX) {
        ZB_WARN("ZB-REPORT-BADID", "county %s seq %" PRIu64 ": accident id length %zu, "
                "not indexed", county, seq, id_len);
        return ZB_OK;
    }
    /* every revision */
    uint8_t k[ACC_KEY_MAX], v[REV_VAL_LEN];
    size_t alen = acc_key(k, county, a->accident_id, id_len);
    k[alen] = 0;
    zb_be64_put(k + alen + 1, seq);
    zb_accident_rev e;
    zb_accident_rev_of(r, seq, received_at, &e);
    uint8_t stage = (uint8_t)e.stage;
    uint8_t *p = v;
    *p++ = IDX_LAYOUT;
    zb_be32_put(p, e.revision), p += 4;
    zb_be64_put(p, (uint64_t)e.created_at), p += 8;
    zb_be64_put(p, (uint64_t)e.received_at), p += 8;
    zb_be64_put(p, (uint64_t)e.occurred_at), p += 8;
    zb_be64_put(p, (uint64_t)e.county_notified_at), p += 8;
    zb_be64_put(p, (uint64_t)e.as_of), p += 8;
    zb_be32_put(p, (uint32_t)e.industry), p += 4;
    zb_be32_put(p, e.deaths), p += 4;
    zb_be32_put(p, e.missing), p += 4;
    zb_be32_put(p, e.serious_injuries), p += 4;
    zb_be64_put(p, e.direct_loss_yuan), p += 8;
    *p++ = (uint8_t)e.category;
    *p++ = stage;
    *p = flags;
    MDB_val kk = {alen + 1 + 8, k}, vv = {sizeof v, v};
    int rc = zb_mdb_err(mdb_put(txn, d->acc_revs, &kk, &vv, 0));
    if (rc)
        return rc;
    /* the accident's state: revision in force, highest grade, occurrence */
    acc_state st = {0}, old;
    bool had = false;
    rc = state_get(txn, d->acc_state, k, alen, &old);
    if (rc == 0) {
        st = old;
        had = true;
    } else if (rc != ZB_ENOTFOUND) {
        return rc;
    }
    uint8_t grade = (uint8_t)zb_grade_compute(a->deaths, a->missing, a->serious_injuries,
                                              a->direct_loss_yuan, ZB_MISSING_COUNT_AS_DEAD);
    st.revisions++;
    if (!had || grade > st.highest_grade)
        st.highest_grade = grade;
    bool in_force = !had || a->revision > old.revision ||
                    (a->revision == old.revision && seq > old.seq);
    if (in_force) {
        st.revision = a->revision;
        st.seq = seq;
        st.stage = stage;
        st.occurred_at = a->occurred_at->unix;
        if (!had || old.occurred_at != st.occurred_at) {
            uint8_t tk[TIME_KEY_MAX];
            if (had) {
                MDB_val ok = {time_key_make(tk, old.occurred_at, k, alen), tk};
                rc = mdb_del(txn, d->acc_time, &ok, NULL);
                if (rc && rc != MDB_NOTFOUND)
                    return zb_mdb_err(rc);
            }
            MDB_val nk = {time_key_make(tk, st.occurred_at, k, alen), tk}, nv = {0, NULL};
            if ((rc = zb_mdb_err(mdb_put(txn, d->acc_time, &nk, &nv, 0))))
                return rc;
        }
    }
    return state_put(txn, d->acc_state, k, alen, &st);
}

/* The county's chain of signed times: whether r was signed before the
 * county's previous report (reports are indexed in seq order per county,
 * at ingest and at reindex alike), and r's time recorded for the next. */
static int chain_step(MDB_txn *txn, const idx_dbs *d, const char *county, const Zb__Report *r,
                      uint8_t *flags)
{
    MDB_val k = {ZB_COUNTY_LEN, (void *)county}, v;
    int rc = mdb_get(txn, d->chain, &k, &v);
    if (rc == 0 && v.mv_size == 8 && r->created_at < (int64_t)zb_be64_get(v.mv_data))
        *flags |= FLAG_CREATED_BEFORE_PREVIOUS;
    else if (rc != 0 && rc != MDB_NOTFOUND)
        return zb_mdb_err(rc);
    uint8_t b[8];
    zb_be64_put(b, (uint64_t)r->created_at);
    MDB_val nv = {sizeof b, b};
    return zb_mdb_err(mdb_put(txn, d->chain, &k, &nv, 0));
}

/* ---- relays (at a province): layouts in astore.h */

#define RELAY_ENV_VAL_LEN (1 + ZB_COUNTY_LEN + 8 + 4 + 8 + 8 + ZB_SHA256_LEN)
#define RELAY_KEY_VAL_LEN (1 + ZB_PK_LEN + 8 + 1 + 8)
#define RELAY_STATE_VAL_LEN (1 + 8 * 4 + ZB_HASH_LEN)
#define SUMMARY_KEY_LEN (ZB_COUNTY_LEN + 4 + 8)
#define SUMMARY_VAL_LEN (1 + 8 + 8)

static int relay_state_bump(MDB_txn *txn, const idx_dbs *d, const char *prefecture,
                            uint64_t envelopes, uint64_t key_events, uint64_t other,
                            uint64_t head_size, const uint8_t root[ZB_HASH_LEN])
{
    MDB_val k = {ZB_COUNTY_LEN, (void *)prefecture}, v;
    uint64_t f[4] = {0};
    uint8_t b[RELAY_STATE_VAL_LEN] = {0};
    int rc = mdb_get(txn, d->relay_state, &k, &v);
    if (rc == 0 && v.mv_size == RELAY_STATE_VAL_LEN) {
        memcpy(b, v.mv_data, RELAY_STATE_VAL_LEN);
        for (int i = 0; i < 4; i++)
            f[i] = zb_be64_get(b + 1 + 8 * i);
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return zb_mdb_err(rc);
    }
    f[0] += envelopes, f[1] += key_events, f[2] += other;
    if (head_size > f[3] || f[3] == 0) { /* heads only grow (acceptance) */
        f[3] = head_size;
        memcpy(b + 1 + 8 * 4, root, ZB_HASH_LEN);
    }
    b[0] = 1;
    for (int i = 0; i < 4; i++)
        zb_be64_put(b + 1 + 8 * i, f[i]);
    MDB_val nv = {sizeof b, b};
    return zb_mdb_err(mdb_put(txn, d->relay_state, &k, &nv, 0));
}

static int relay_key_event(MDB_txn *txn, const idx_dbs *d, const char *prefecture,
                           const Zb__KeyEvent *e)
{
    MDB_val ck = {ZB_COUNTY_LEN, (void *)e->county}, cv;
    int rc = mdb_get(txn, d->relay_county, &ck, &cv);
    if (rc == MDB_NOTFOUND) {
        MDB_val pv = {ZB_COUNTY_LEN, (void *)prefecture};
        if ((rc = zb_mdb_err(mdb_put(txn, d->relay_county, &ck, &pv, 0))))
            return rc;
    } else if (rc) {
        return zb_mdb_err(rc);
    } else if (cv.mv_size != ZB_COUNTY_LEN || memcmp(cv.mv_data, prefecture, ZB_COUNTY_LEN)) {
        return ZB_OK; /* another prefecture's county: acceptance refuses that */
    }
    uint8_t k[ZB_COUNTY_LEN + 4], v[RELAY_KEY_VAL_LEN];
    memcpy(k, e->county, ZB_COUNTY_LEN);
    zb_be32_put(k + ZB_COUNTY_LEN, e->epoch);
    MDB_val kk = {sizeof k, k}, old;
    rc = mdb_get(txn, d->relay_keys, &kk, &old);
    if (rc && rc != MDB_NOTFOUND)
        return zb_mdb_err(rc);
    if (e->kind == ZB__KEY_EVENT_KIND__ENROLLED) {
        if (rc == 0)
            return ZB_OK; /* known: relayed again */
        v[0] = 1;
        memcpy(v + 1, e->key.data, ZB_PK_LEN);
        zb_be64_put(v + 1 + ZB_PK_LEN, e->seq);
        v[1 + ZB_PK_LEN + 8] = 0;
        zb_be64_put(v + 1 + ZB_PK_LEN + 9, 0);
    } else {
        if (rc != 0 || old.mv_size != RELAY_KEY_VAL_LEN)
            return ZB_OK; /* a revocation of a key never relayed: acceptance refuses that */
        if (((const uint8_t *)old.mv_data)[1 + ZB_PK_LEN + 8])
            return ZB_OK; /* revoked already: its last seq never moves */
        memcpy(v, old.mv_data, RELAY_KEY_VAL_LEN);
        v[1 + ZB_PK_LEN + 8] = 1;
        zb_be64_put(v + 1 + ZB_PK_LEN + 9, e->seq);
    }
    MDB_val vv = {sizeof v, v};
    return zb_mdb_err(mdb_put(txn, d->relay_keys, &kk, &vv, 0));
}

static int index_add(MDB_txn *txn, const idx_dbs *d, const char *county, uint64_t seq,
                     int64_t received_at, const Zb__Report *r);

/* A county envelope relayed by prefecture, indexed once under its county
 * (*added says whether it was new). */
static int relay_envelope(MDB_txn *txn, const idx_dbs *d, const char *prefecture,
                          uint64_t outer_seq, uint32_t position, const zb_relayed *l,
                          int64_t outer_received_at, bool *added)
{
    *added = false;
    const uint8_t *rep;
    size_t rep_len;
    Zb__Report *r = NULL;
    if (zb_envelope_report_view(l->envelope, l->envelope_len, &rep, &rep_len) != 0 ||
        zb_report_decode(rep, rep_len, &r) != 0) {
        ZB_WARN("ZB-RELAY-UNDECODABLE", "prefecture %s seq %" PRIu64 ": relayed envelope at "
                "log index %" PRIu64 " not indexed", prefecture, outer_seq, l->log_index);
        return ZB_OK;
    }
    uint8_t k[ZB_COUNTY_LEN + 8], v[RELAY_ENV_VAL_LEN];
    int rc = ZB_OK;
    if (!zb_county_code_valid(r->county))
        goto done;
    memcpy(k, r->county, ZB_COUNTY_LEN);
    zb_be64_put(k + ZB_COUNTY_LEN, r->seq);
    MDB_val kk = {sizeof k, k}, old;
    rc = mdb_get(txn, d->relay_env, &kk, &old);
    if (rc == 0) {
        rc = ZB_OK; /* relayed again: indexed once */
        goto done;
    }
    if (rc != MDB_NOTFOUND) {
        rc = zb_mdb_err(rc);
        goto done;
    }
    uint8_t *p = v;
    *p++ = 1;
    memcpy(p, prefecture, ZB_COUNTY_LEN), p += ZB_COUNTY_LEN;
    zb_be64_put(p, outer_seq), p += 8;
    zb_be32_put(p, position), p += 4;
    zb_be64_put(p, l->log_index), p += 8;
    zb_be64_put(p, (uint64_t)l->leaf_time), p += 8;
    zb_report_hash(rep, rep_len, p);
    MDB_val vv = {sizeof v, v};
    if ((rc = zb_mdb_err(mdb_put(txn, d->relay_env, &kk, &vv, 0))))
        goto done;
    *added = true;
    /* the county's own report, received when it entered the prefecture's log */
    int64_t received = l->leaf_time ? l->leaf_time : outer_received_at;
    if (r->content_case == ZB__REPORT__CONTENT_MONTHLY)
        rc = index_monthly(txn, d, r->county, r->seq, received, r, 0);
    else if (r->content_case == ZB__REPORT__CONTENT_ACCIDENT)
        rc = index_accident(txn, d, r->county, r->seq, received, r, 0);
done:
    zb__report__free_unpacked(r, NULL);
    return rc;
}

static int index_relay(MDB_txn *txn, const idx_dbs *d, const char *prefecture, uint64_t seq,
                       int64_t received_at, const Zb__Relay *relay)
{
    zb_relayed *l = NULL;
    size_t n = 0;
    if (zb_relay_decode(relay, &l, &n) != 0) {
        ZB_WARN("ZB-RELAY-UNDECODABLE", "prefecture %s seq %" PRIu64 ": relay not indexed",
                prefecture, seq);
        return ZB_OK;
    }
    uint64_t envs = 0, keys = 0, other = 0, head_size = 0;
    int rc = ZB_OK;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        switch (l[i].kind) {
        case ZB_RELAYED_KEY_EVENT:
            keys++;
            rc = relay_key_event(txn, d, prefecture, l[i].key_event);
            break;
        case ZB_RELAYED_ENVELOPE: {
            bool added;
            rc = relay_envelope(txn, d, prefecture, seq, (uint32_t)i, &l[i], received_at, &added);
            envs += added; /* a (county, seq) relayed again counts once */
            break;
        }
        default: other++; break;
        }
    }
    zb_relayed_free(l, n);
    /* the size of the prefecture's log the relay proves against (its head
     * was verified when the relay was accepted) */
    Zb__TreeHead *th = relay->tree_head ? zb__tree_head__unpack(NULL, relay->tree_head->tree_head.len,
                                                                relay->tree_head->tree_head.data)
                                        : NULL;
    uint8_t root[ZB_HASH_LEN] = {0};
    if (th && th->root.len == ZB_HASH_LEN) {
        head_size = th->size;
        memcpy(root, th->root.data, ZB_HASH_LEN);
    }
    if (th)
        zb__tree_head__free_unpacked(th, NULL);
    return rc ? rc : relay_state_bump(txn, d, prefecture, envs, keys, other, head_size, root);
}

static int index_summary(MDB_txn *txn, const idx_dbs *d, const char *prefecture, uint64_t seq,
                         int64_t received_at, const Zb__Report *r)
{
    int y, m;
    if (!r->summary->period || zb_period_parse(r->summary->period, &y, &m) != 0)
        return ZB_OK;
    uint8_t k[SUMMARY_KEY_LEN], v[SUMMARY_VAL_LEN];
    memcpy(k, prefecture, ZB_COUNTY_LEN);
    zb_be32_put(k + ZB_COUNTY_LEN, (uint32_t)zb_period_ordinal(y, m));
    zb_be64_put(k + ZB_COUNTY_LEN + 4, seq);
    v[0] = 1;
    zb_be64_put(v + 1, (uint64_t)r->created_at);
    zb_be64_put(v + 9, (uint64_t)received_at);
    MDB_val kk = {sizeof k, k}, vv = {sizeof v, v};
    return zb_mdb_err(mdb_put(txn, d->summary, &kk, &vv, 0));
}

static int index_add(MDB_txn *txn, const idx_dbs *d, const char *county, uint64_t seq,
                     int64_t received_at, const Zb__Report *r)
{
    uint8_t flags = 0;
    int rc = chain_step(txn, d, county, r, &flags);
    if (rc)
        return rc;
    switch (r->content_case) {
    case ZB__REPORT__CONTENT_MONTHLY:
        return index_monthly(txn, d, county, seq, received_at, r, flags);
    case ZB__REPORT__CONTENT_ACCIDENT:
        return index_accident(txn, d, county, seq, received_at, r, flags);
    case ZB__REPORT__CONTENT_RELAY:
        return index_relay(txn, d, county, seq, received_at, r->relay);
    case ZB__REPORT__CONTENT_SUMMARY:
        return index_summary(txn, d, county, seq, received_at, r);
    default: return ZB_OK;
    }
}

int zb_astore_index_add_(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         int64_t received_at, const Zb__Report *r)
{
    idx_dbs d = dbs_of(s);
    return index_add(txn, &d, county, seq, received_at, r);
}

/* ------------------------------------------------------------ queries */

int zb_astore_relay_county_get(zb_store *s, MDB_txn *txn, const char *county,
                               char prefecture[ZB_COUNTY_LEN + 1])
{
    if (!zb_county_code_valid(county))
        return ZB_ENOTFOUND;
    MDB_val k = {ZB_COUNTY_LEN, (void *)county}, v;
    int rc = mdb_get(txn, zb_store_dbi(s, AGG_DB_IDX_RELAY_COUNTY), &k, &v);
    if (rc)
        return zb_mdb_err(rc);
    if (v.mv_size != ZB_COUNTY_LEN)
        return ZB_EDECODE;
    memcpy(prefecture, v.mv_data, ZB_COUNTY_LEN);
    prefecture[ZB_COUNTY_LEN] = '\0';
    return ZB_OK;
}

/* Walk dbi from the first key with prefix (len plen; NULL: all) while the
 * prefix holds. fn gets each record; its non-zero return stops the walk. */
static int walk_prefix(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen,
                       int (*fn)(void *ctx, const MDB_val *k, const MDB_val *v), void *ctx)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return zb_mdb_err(rc);
    MDB_val k = {plen, (void *)prefix}, v;
    rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        if ((rc = fn(ctx, &k, &v)) != 0) {
            mdb_cursor_close(cur);
            return rc;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? ZB_OK : zb_mdb_err(rc);
}

typedef struct {
    void *fn;
    void *ctx;
} walk_cb;

static int relay_county_rec(void *vctx, const MDB_val *k, const MDB_val *v)
{
    walk_cb *w = vctx;
    if (k->mv_size != ZB_COUNTY_LEN || v->mv_size != ZB_COUNTY_LEN)
        return ZB_EDECODE;
    char county[ZB_COUNTY_LEN + 1], pref[ZB_COUNTY_LEN + 1];
    memcpy(county, k->mv_data, ZB_COUNTY_LEN);
    memcpy(pref, v->mv_data, ZB_COUNTY_LEN);
    county[ZB_COUNTY_LEN] = pref[ZB_COUNTY_LEN] = '\0';
    return ((int (*)(void *, const char *, const char *))w->fn)(w->ctx, county, pref);
}

int zb_astore_relay_counties(zb_store *s, MDB_txn *txn,
                             int (*fn)(void *ctx, const char *county, const char *prefecture),
                             void *ctx)
{
    walk_cb w = {(void *)fn, ctx};
    return walk_prefix(txn, zb_store_dbi(s, AGG_DB_IDX_RELAY_COUNTY), NULL, 0, relay_county_rec,
                       &w);
}

static int relay_key_rec(void *vctx, const MDB_val *k, const MDB_val *v)
{
    walk_cb *w = vctx;
    const uint8_t *b = v->mv_data;
    if (k->mv_size != ZB_COUNTY_LEN + 4 || v->mv_size != RELAY_KEY_VAL_LEN || b[0] != 1)
        return ZB_EDECODE;
    zb_relay_key rk;
    rk.epoch = zb_be32_get((const uint8_t *)k->mv_data + ZB_COUNTY_LEN);
    memcpy(rk.key, b + 1, ZB_PK_LEN);
    rk.first_seq = zb_be64_get(b + 1 + ZB_PK_LEN);
    rk.revoked = b[1 + ZB_PK_LEN + 8] != 0;
    rk.last_seq = zb_be64_get(b + 1 + ZB_PK_LEN + 9);
    return ((int (*)(void *, const zb_relay_key *))w->fn)(w->ctx, &rk);
}

int zb_astore_relay_keys(zb_store *s, MDB_txn *txn, const char *county,
                         int (*fn)(void *ctx, const zb_relay_key *k), void *ctx)
{
    if (!zb_county_code_valid(county))
        return ZB_OK;
    walk_cb w = {(void *)fn, ctx};
    return walk_prefix(txn, zb_store_dbi(s, AGG_DB_IDX_RELAY_KEYS), county, ZB_COUNTY_LEN,
                       relay_key_rec, &w);
}

static int relay_env_decode(const MDB_val *k, const MDB_val *v, zb_relay_env *e)
{
    const uint8_t *b = v->mv_data;
    if (k->mv_size != ZB_COUNTY_LEN + 8 || v->mv_size != RELAY_ENV_VAL_LEN || b[0] != 1)
        return ZB_EDECODE;
    memcpy(e->county, k->mv_data, ZB_COUNTY_LEN);
    e->county[ZB_COUNTY_LEN] = '\0';
    e->seq = zb_be64_get((const uint8_t *)k->mv_data + ZB_COUNTY_LEN);
    b++;
    memcpy(e->prefecture, b, ZB_COUNTY_LEN), b += ZB_COUNTY_LEN;
    e->prefecture[ZB_COUNTY_LEN] = '\0';
    e->outer_seq = zb_be64_get(b), b += 8;
    e->position = zb_be32_get(b), b += 4;
    e->log_index = zb_be64_get(b), b += 8;
    e->leaf_time = (int64_t)zb_be64_get(b), b += 8;
    memcpy(e->report_hash, b, ZB_SHA256_LEN);
    return ZB_OK;
}

int zb_astore_relay_env_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                            zb_relay_env *out)
{
    if (!zb_county_code_valid(county))
        return ZB_ENOTFOUND;
    uint8_t kb[ZB_COUNTY_LEN + 8];
    memcpy(kb, county, ZB_COUNTY_LEN);
    zb_be64_put(kb + ZB_COUNTY_LEN, seq);
    MDB_val k = {sizeof kb, kb}, v;
    int rc = mdb_get(txn, zb_store_dbi(s, AGG_DB_IDX_RELAY_ENV), &k, &v);
    if (rc)
        return zb_mdb_err(rc);
    return relay_env_decode(&k, &v, out);
}

static int relay_env_rec(void *vctx, const MDB_val *k, const MDB_val *v)
{
    walk_cb *w = vctx;
    zb_relay_env e;
    int rc = relay_env_decode(k, v, &e);
    return rc ? rc : ((int (*)(void *, const zb_relay_env *))w->fn)(w->ctx, &e);
}

int zb_astore_relay_envs(zb_store *s, MDB_txn *txn, const char *county,
                         int (*fn)(void *ctx, const zb_relay_env *e), void *ctx)
{
    walk_cb w = {(void *)fn, ctx};
    return walk_prefix(txn, zb_store_dbi(s, AGG_DB_IDX_RELAY_ENV), county,
                       county ? ZB_COUNTY_LEN : 0, relay_env_rec, &w);
}

int zb_astore_relay_state(zb_store *s, MDB_txn *txn, const char *prefecture, zb_relay_state *out)
{
    memset(out, 0, sizeof *out);
    if (!zb_county_code_valid(prefecture))
        return ZB_OK;
    MDB_val k = {ZB_COUNTY_LEN, (void *)prefecture}, v;
    int rc = mdb_get(txn, zb_store_dbi(s, AGG_DB_IDX_RELAY_STATE), &k, &v);
    if (rc == MDB_NOTFOUND)
        return ZB_OK;
    if (rc)
        return zb_mdb_err(rc);
    const uint8_t *b = v.mv_data;
    if (v.mv_size != RELAY_STATE_VAL_LEN || b[0] != 1)
        return ZB_EDECODE;
    out->envelopes = zb_be64_get(b + 1);
    out->key_events = zb_be64_get(b + 9);
    out->other = zb_be64_get(b + 17);
    out->head_size = zb_be64_get(b + 25);
    memcpy(out->head_root, b + 33, ZB_HASH_LEN);
    return ZB_OK;
}

int zb_astore_relay_last_seq(zb_store *s, MDB_txn *txn, const char *county, uint64_t *seq)
{
    *seq = 0;
    if (!zb_county_code_valid(county))
        return ZB_OK;
    MDB_cursor *cur;
    int mrc = mdb_cursor_open(txn, zb_store_dbi(s, AGG_DB_IDX_RELAY_ENV), &cur);
    if (mrc)
        return zb_mdb_err(mrc);
    /* the last record at or before county || UINT64_MAX */
    uint8_t kb[ZB_COUNTY_LEN + 8];
    memcpy(kb, county, ZB_COUNTY_LEN);
    memset(kb + ZB_COUNTY_LEN, 0xff, 8);
    MDB_val k = {sizeof kb, kb}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (mrc == 0 && !(k.mv_size == sizeof kb && memcmp(k.mv_data, kb, sizeof kb) == 0))
        mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV); /* past it: one back */
    else if (mrc == MDB_NOTFOUND)
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST); /* nothing after: the last */
    int rc = ZB_OK;
    if (mrc == 0 && k.mv_size == ZB_COUNTY_LEN + 8 &&
        memcmp(k.mv_data, county, ZB_COUNTY_LEN) == 0) {
        zb_relay_env e;
        if ((rc = relay_env_decode(&k, &v, &e)) == 0)
            *seq = e.seq;
    } else if (mrc != 0 && mrc != MDB_NOTFOUND) {
        rc = zb_mdb_err(mrc);
    }
    mdb_cursor_close(cur);
    return rc;
}

static int summary_rec(void *vctx, const MDB_val *k, const MDB_val *v)
{
    walk_cb *w = vctx;
    const uint8_t *b = v->mv_data;
    if (k->mv_size != SUMMARY_KEY_LEN || v->mv_size != SUMMARY_VAL_LEN || b[0] != 1)
        return ZB_EDECODE;
    zb_summary_version sv = {zb_be64_get((const uint8_t *)k->mv_data + ZB_COUNTY_LEN + 4),
                             (int64_t)zb_be64_get(b + 1), (int64_t)zb_be64_get(b + 9)};
    return ((int (*)(void *, const zb_summary_version *))w->fn)(w->ctx, &sv);
}

int zb_astore_summaries(zb_store *s, MDB_txn *txn, const char *prefecture, int period,
                        int (*fn)(void *ctx, const zb_summary_version *v), void *ctx)
{
    if (!zb_county_code_valid(prefecture))
        return ZB_OK;
    uint8_t p[ZB_COUNTY_LEN + 4];
    memcpy(p, prefecture, ZB_COUNTY_LEN);
    zb_be32_put(p + ZB_COUNTY_LEN, (uint32_t)period);
    walk_cb w = {(void *)fn, ctx};
    return walk_prefix(txn, zb_store_dbi(s, AGG_DB_IDX_SUMMARY), p, sizeof p, summary_rec, &w);
}

int zb_astore_monthly_versions(zb_store *s, MDB_txn *txn, const char *county, int first, int last,
                               int (*fn)(void *ctx, const zb_monthly_version *v), void *ctx)
{
    if (strlen(county) != ZB_COUNTY_LEN || first < 0 || last < first)
        return ZB_OK;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(s, AGG_DB_IDX_MONTHLY), &cur));
    if (rc)
        return rc;
    uint8_t start[MONTHLY_KEY_LEN] = {0};
    memcpy(start, county, ZB_COUNTY_LEN);
    zb_be32_put(start + ZB_COUNTY_LEN, (uint32_t)first);
    MDB_val k = {sizeof start, start}, v;
    int m;
    for (m = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); m == 0 && rc == 0;
         m = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data, *vp = v.mv_data;
        if (k.mv_size != MONTHLY_KEY_LEN || memcmp(kp, county, ZB_COUNTY_LEN) != 0)
            break;
        zb_monthly_version mv = {.period = (int)zb_be32_get(kp + ZB_COUNTY_LEN),
                                 .seq = zb_be64_get(kp + ZB_COUNTY_LEN + 4)};
        if (mv.period > last)
            break;
        if (v.mv_size != MONTHLY_VAL_LEN || vp[0] != IDX_LAYOUT) {
            rc = ZB_EDECODE;
            break;
        }
        mv.created_at = (int64_t)zb_be64_get(vp + 1);
        mv.received_at = (int64_t)zb_be64_get(vp + 9);
        mv.created_before_previous = vp[17] & FLAG_CREATED_BEFORE_PREVIOUS;
        rc = fn(ctx, &mv);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = zb_mdb_err(m);
    return rc;
}

int zb_astore_accidents_occurred(zb_store *s, MDB_txn *txn, int64_t from, int64_t to_end,
                                 int (*fn)(void *ctx, const char *county, const char *id),
                                 void *ctx)
{
    if (to_end <= from)
        return ZB_OK;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(s, AGG_DB_IDX_ACC_TIME), &cur));
    if (rc)
        return rc;
    uint8_t start[8];
    zb_be64_put(start, time_key(from));
    MDB_val k = {sizeof start, start}, v;
    int m;
    for (m = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); m == 0 && rc == 0;
         m = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size < 8 + ZB_COUNTY_LEN + 1 || k.mv_size > TIME_KEY_MAX) {
            rc = ZB_EDECODE;
            break;
        }
        if (time_of_key(zb_be64_get(kp)) >= to_end)
            break;
        char county[ZB_COUNTY_LEN + 1], id[ZB_ACCIDENT_ID_MAX + 1];
        memcpy(county, kp + 8, ZB_COUNTY_LEN);
        county[ZB_COUNTY_LEN] = '\0';
        size_t id_len = k.mv_size - 8 - ZB_COUNTY_LEN;
        memcpy(id, kp + 8 + ZB_COUNTY_LEN, id_len);
        id[id_len] = '\0';
        rc = fn(ctx, county, id);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = zb_mdb_err(m);
    return rc;
}

static int rev_decode(const MDB_val *k, const MDB_val *v, zb_accident_entry *e)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size != REV_VAL_LEN || p[0] != IDX_LAYOUT || k->mv_size < 8)
        return ZB_EDECODE;
    e->seq = zb_be64_get((const uint8_t *)k->mv_data + k->mv_size - 8);
    p++;
    e->revision = zb_be32_get(p), p += 4;
    e->created_at = (int64_t)zb_be64_get(p), p += 8;
    e->received_at = (int64_t)zb_be64_get(p), p += 8;
    e->occurred_at = (int64_t)zb_be64_get(p), p += 8;
    e->county_notified_at = (int64_t)zb_be64_get(p), p += 8;
    e->as_of = (int64_t)zb_be64_get(p), p += 8;
    e->industry = (int)zb_be32_get(p), p += 4;
    e->deaths = zb_be32_get(p), p += 4;
    e->missing = zb_be32_get(p), p += 4;
    e->serious_injuries = zb_be32_get(p), p += 4;
    e->direct_loss_yuan = zb_be64_get(p), p += 8;
    e->category = p[0];
    e->stage = p[1];
    e->created_before_previous = p[2] & FLAG_CREATED_BEFORE_PREVIOUS;
    return ZB_OK;
}

static bool acc_args_ok(const char *county, const char *id, size_t *id_len)
{
    *id_len = strlen(id);
    return strlen(county) == ZB_COUNTY_LEN && *id_len > 0 && *id_len <= ZB_ACCIDENT_ID_MAX;
}

int zb_astore_accident_revisions(zb_store *s, MDB_txn *txn, const char *county, const char *id,
                                 zb_accident_entry **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t id_len;
    if (!acc_args_ok(county, id, &id_len))
        return ZB_ENOTFOUND;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(s, AGG_DB_IDX_ACC_REVS), &cur));
    if (rc)
        return rc;
    uint8_t prefix[ACC_KEY_MAX];
    size_t plen = acc_key(prefix, county, id, id_len);
    prefix[plen++] = 0;
    MDB_val k = {plen, prefix}, v;
    zb_accident_entry *arr = NULL;
    size_t count = 0, cap = 0;
    int m;
    for (m = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); m == 0;
         m = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 8 || memcmp(k.mv_data, prefix, plen) != 0)
            break;
        if (count == cap) {
            cap = cap ? 2 * cap : 4;
            zb_accident_entry *p = realloc(arr, cap * sizeof *p);
            if (!p) {
                rc = ZB_ENOMEM;
                break;
            }
            arr = p;
        }
        if ((rc = rev_decode(&k, &v, &arr[count])))
            break;
        count++;
    }
    mdb_cursor_close(cur);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = zb_mdb_err(m);
    if (rc == 0 && count == 0)
        rc = ZB_ENOTFOUND;
    if (rc) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = count;
    return ZB_OK;
}

int zb_astore_accident_state(zb_store *s, MDB_txn *txn, const char *county, const char *id,
                             int *highest_grade, int *stage)
{
    size_t id_len;
    if (!acc_args_ok(county, id, &id_len))
        return ZB_ENOTFOUND;
    uint8_t k[ACC_KEY_MAX];
    size_t klen = acc_key(k, county, id, id_len);
    acc_state st;
    int rc = state_get(txn, zb_store_dbi(s, AGG_DB_IDX_ACC_STATE), k, klen, &st);
    if (rc == 0) {
        *highest_grade = st.highest_grade;
        *stage = st.stage;
    }
    return rc;
}

int zb_astore_accident_states(zb_store *s, MDB_txn *txn, const char *county,
                              int (*fn)(void *ctx, const char *id, uint32_t revision, int stage),
                              void *ctx)
{
    if (strlen(county) != ZB_COUNTY_LEN)
        return ZB_OK;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(s, AGG_DB_IDX_ACC_STATE), &cur));
    if (rc)
        return rc;
    MDB_val k = {ZB_COUNTY_LEN, (void *)county}, v;
    int m;
    for (m = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); m == 0 && rc == 0;
         m = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size <= ZB_COUNTY_LEN || memcmp(k.mv_data, county, ZB_COUNTY_LEN) != 0)
            break;
        size_t id_len = k.mv_size - ZB_COUNTY_LEN;
        acc_state st;
        if (id_len > ZB_ACCIDENT_ID_MAX) {
            rc = ZB_EDECODE;
            break;
        }
        if ((rc = state_get(txn, zb_store_dbi(s, AGG_DB_IDX_ACC_STATE), k.mv_data, k.mv_size,
                            &st)))
            break;
        char id[ZB_ACCIDENT_ID_MAX + 1];
        memcpy(id, (const uint8_t *)k.mv_data + ZB_COUNTY_LEN, id_len);
        id[id_len] = '\0';
        rc = fn(ctx, id, st.revision, st.stage);
    }
    mdb_cursor_close(cur);
    if (rc == 0 && m != 0 && m != MDB_NOTFOUND)
        rc = zb_mdb_err(m);
    return rc;
}

/* ------------------------------------------------------------ rebuild */

typedef struct {
    MDB_txn *txn;
    const idx_dbs *d;
    uint64_t count;
    void (*progress)(void *ctx, uint64_t done, uint64_t total); /* NULL: none */
    void *progress_ctx;
    uint64_t total; /* envelopes stored, for progress */
} rebuild_ctx;

static int rebuild_one(void *vctx, const zb_stored_env *e)
{
    rebuild_ctx *c = vctx;
    const uint8_t *rep;
    size_t rep_len;
    Zb__Report *r = NULL;
    c->count++;
    if (c->progress)
        c->progress(c->progress_ctx, c->count, c->total);
    if (zb_envelope_report_view(e->env, e->len, &rep, &rep_len) != 0 ||
        (r = zb__report__unpack(NULL, rep_len, rep)) == NULL) {
        ZB_WARN("ZB-REPORT-UNDECODABLE", "county %s seq %" PRIu64 ": stored report not indexed",
                e->county, e->seq);
        return 0;
    }
    int rc = index_add(c->txn, c->d, e->county, e->seq, e->received_at, r);
    zb__report__free_unpacked(r, NULL);
    return rc;
}

int zb_astore_reindex(zb_store *s, MDB_txn *txn,
                      void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                      uint64_t *envelopes)
{
    idx_dbs d = dbs_of(s);
    *envelopes = 0;
    MDB_dbi all[IDX_DBS];
    dbs_list(&d, all);
    for (size_t i = 0; i < IDX_DBS; i++) {
        int rc = zb_mdb_err(mdb_drop(txn, all[i], 0));
        if (rc)
            return rc;
    }
    rebuild_ctx c = {txn, &d, 0, progress, ctx, progress ? zb_astore_envelope_count(s, txn) : 0};
    if (progress)
        progress(ctx, 0, c.total);
    int rc = zb_astore_envelopes(s, txn, NULL, rebuild_one, &c);
    if (rc == 0)
        rc = zb_astore_down_reindex_(s, txn, txn, d.reviews, d.deadlines);
    if (rc)
        return rc;
    *envelopes = c.count;
    if ((rc = zb_astore_leaf_v2_mark_(s, txn)))
        return rc;
    return zb_store_put_u64(txn, zb_store_dbi(s, AGG_DB_META), "index_version",
                            ZB_ASTORE_INDEX_VERSION);
}

typedef struct {
    zb_store *s;
    uint64_t n;
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *ctx;
} rebuild_job;

static int rebuild_fn(void *ctx, MDB_txn *txn)
{
    rebuild_job *j = ctx;
    return zb_astore_reindex(j->s, txn, j->progress, j->ctx, &j->n);
}

int zb_astore_rebuild(zb_store *s, void (*progress)(void *ctx, uint64_t done, uint64_t total),
                      void *ctx, uint64_t *envelopes)
{
    rebuild_job j = {s, 0, progress, ctx};
    int rc = zb_store_write(s, rebuild_fn, &j);
    *envelopes = rc == 0 ? j.n : 0;
    return rc;
}

/* ------------------------------------------------------------ check */

#define FINDINGS_PER_INDEX 5

static void hex_key(const MDB_val *k, char *out, size_t cap)
{
    /* printable bytes as they are, the rest as \xNN: keys mix codes and ids with numbers */
    size_t o = 0;
    const uint8_t *p = k->mv_data;
    for (size_t i = 0; i < k->mv_size && o + 5 < cap; i++) {
        if (p[i] >= 0x21 && p[i] < 0x7f && p[i] != '\\')
            out[o++] = (char)p[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
    }
    out[o] = '\0';
}

static long compare_db(MDB_txn *have_txn, MDB_dbi have, MDB_txn *want_txn, MDB_dbi want,
                       const char *name, void (*finding)(void *ctx, const char *line), void *ctx,
                       int *err)
{
    MDB_cursor *ch = NULL, *cw = NULL;
    *err = 0;
    if (mdb_cursor_open(have_txn, have, &ch) != 0 || mdb_cursor_open(want_txn, want, &cw) != 0) {
        if (ch)
            mdb_cursor_close(ch);
        *err = ZB_ESTORE;
        return 0;
    }
    long diffs = 0;
    MDB_val hk, hv, wk, wv;
    int rh = mdb_cursor_get(ch, &hk, &hv, MDB_FIRST), rw = mdb_cursor_get(cw, &wk, &wv, MDB_FIRST);
    while ((rh == 0 || rw == 0) && (rh == 0 || rh == MDB_NOTFOUND) &&
           (rw == 0 || rw == MDB_NOTFOUND)) {
        int c;
        if (rh != 0)
            c = 1; /* only the rebuilt one has more: missing in the store */
        else if (rw != 0)
            c = -1;
        else {
            size_t n = hk.mv_size < wk.mv_size ? hk.mv_size : wk.mv_size;
            c = memcmp(hk.mv_data, wk.mv_data, n);
            if (c == 0)
                c = hk.mv_size < wk.mv_size ? -1 : hk.mv_size > wk.mv_size;
        }
        const char *what = NULL;
        char key[200];
        if (c < 0) {
            what = N_("an entry the envelopes do not give");
            hex_key(&hk, key, sizeof key);
            rh = mdb_cursor_get(ch, &hk, &hv, MDB_NEXT);
        } else if (c > 0) {
            what = N_("missing an entry");
            hex_key(&wk, key, sizeof key);
            rw = mdb_cursor_get(cw, &wk, &wv, MDB_NEXT);
        } else {
            if (hv.mv_size != wv.mv_size || memcmp(hv.mv_data, wv.mv_data, hv.mv_size) != 0) {
                what = N_("an entry that differs from the envelopes");
                hex_key(&hk, key, sizeof key);
            }
            rh = mdb_cursor_get(ch, &hk, &hv, MDB_NEXT);
            rw = mdb_cursor_get(cw, &wk, &wv, MDB_NEXT);
        }
        if (what) {
            if (diffs < FINDINGS_PER_INDEX) {
                char line[320];
                snprintf(line, sizeof line, _("index %s: %s (key %s)"), name, zb_tr(what), key);
                finding(ctx, line);
            }
            diffs++;
        }
    }
    mdb_cursor_close(ch);
    mdb_cursor_close(cw);
    /* a cursor that failed (not merely ended) is a store error, not
     * differences */
    if ((rh != 0 && rh != MDB_NOTFOUND) || (rw != 0 && rw != MDB_NOTFOUND)) {
        *err = zb_mdb_err(rh != 0 && rh != MDB_NOTFOUND ? rh : rw);
        return diffs;
    }
    if (diffs > FINDINGS_PER_INDEX) {
        char line[320];
        snprintf(line, sizeof line,
                 _("index %s: %ld differences in all (zhibao-agg reindex rebuilds it from "
                   "the envelopes)"),
                 name, diffs);
        finding(ctx, line);
        return FINDINGS_PER_INDEX + 1;
    }
    return diffs;
}

long zb_astore_index_check(zb_store *s, MDB_txn *txn, const char *tmpdir,
                           void (*finding)(void *ctx, const char *line), void *ctx)
{
    const char *tmp = tmpdir ? tmpdir : getenv("TMPDIR");
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/zhibao-check-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
            (int)sizeof dir ||
        !mkdtemp(dir))
        return ZB_EIO;
    static const char *const names[IDX_DBS] = {
        "idx_monthly",      "idx_acc_revs",   "idx_acc_state", "idx_acc_time",
        "idx_chain",        "idx_reviews",    "idx_deadlines", "idx_relay_county",
        "idx_relay_keys",   "idx_relay_env",  "idx_relay_state", "idx_summary"};
    zb_store *scratch = NULL;
    MDB_txn *stx = NULL;
    long findings = 0;
    /* the scratch store never outgrows the real one: the same map size */
    MDB_envinfo info;
    mdb_env_info(zb_store_env(s), &info);
    int rc = zb_store_open(&scratch, dir, names, IDX_DBS, info.me_mapsize, true, false);
    if (rc == 0)
        rc = zb_store_begin(scratch, false, &stx);
    if (rc == 0) {
        idx_dbs d = {zb_store_dbi(scratch, 0),  zb_store_dbi(scratch, 1),
                     zb_store_dbi(scratch, 2),  zb_store_dbi(scratch, 3),
                     zb_store_dbi(scratch, 4),  zb_store_dbi(scratch, 5),
                     zb_store_dbi(scratch, 6),  zb_store_dbi(scratch, 7),
                     zb_store_dbi(scratch, 8),  zb_store_dbi(scratch, 9),
                     zb_store_dbi(scratch, 10), zb_store_dbi(scratch, 11)};
        /* read the store's envelopes in its transaction, write the scratch
         * store's indexes in the other environment's write transaction */
        rebuild_ctx c = {stx, &d, 0, NULL, NULL, 0};
        rc = zb_astore_envelopes(s, txn, NULL, rebuild_one, &c);
        if (rc == 0)
            rc = zb_astore_down_reindex_(s, txn, stx, d.reviews, d.deadlines);
        idx_dbs have = dbs_of(s);
        MDB_dbi h[IDX_DBS], w[IDX_DBS];
        dbs_list(&have, h);
        dbs_list(&d, w);
        for (int i = 0; rc == 0 && i < IDX_DBS; i++) {
            int err;
            findings += compare_db(txn, h[i], stx, w[i], names[i] + 4, finding, ctx, &err);
            rc = err;
        }
        uint64_t v = 0;
        (void)zb_store_get_u64(txn, zb_store_dbi(s, AGG_DB_META), "index_version", &v, 0);
        if (rc == 0 && v != ZB_ASTORE_INDEX_VERSION && c.count > 0) {
            char line[320];
            snprintf(line, sizeof line,
                     _("index: version %" PRIu64 ", this release writes %u (zhibao-agg "
                       "reindex)"),
                     v, ZB_ASTORE_INDEX_VERSION);
            finding(ctx, line);
            findings++;
        }
    }
    if (stx)
        mdb_txn_abort(stx);
    zb_store_close(&scratch);
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    return rc ? rc : findings;
}
