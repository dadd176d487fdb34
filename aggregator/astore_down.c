/* astore_down.c - the aggregator store's downstream messages, their
 * delivery state and the two indexes they feed (reviews, deadlines): see
 * astore.h. */
#include "astore.h"

#include <string.h>

#include "err.h"
#include "timefmt.h"

/* in astore_index.c's reindex and check: the index entries of one message */
int zb_astore_down_index_add_(MDB_txn *txn, MDB_dbi reviews, MDB_dbi deadlines,
                              const char *county, uint64_t number, int64_t created_at,
                              const Zb__Downstream *d);
int zb_astore_down_reindex_(zb_store *s, MDB_txn *read_txn, MDB_txn *write_txn, MDB_dbi reviews,
                            MDB_dbi deadlines);

#define DOWN_HDR (8 + 8)          /* created_at || log index */
#define STATE_LEN (8 + 8 + 8)     /* last || delivered || delivered_at */
#define REVIEW_LEN (1 + 8 + 8)    /* decision || number || created_at */
#define DEADLINE_LEN (8 + 4)      /* unix || offset */

static MDB_dbi dbi(zb_store *s, int which) { return zb_store_dbi(s, (size_t)which); }

static bool county_ok(const char *county)
{
    return county && strlen(county) == ZB_COUNTY_LEN;
}

static size_t county_num_key(uint8_t k[ZB_COUNTY_LEN + 8], const char *county, uint64_t n)
{
    memcpy(k, county, ZB_COUNTY_LEN);
    zb_be64_put(k + ZB_COUNTY_LEN, n);
    return ZB_COUNTY_LEN + 8;
}

int zb_astore_down_state(zb_store *s, MDB_txn *txn, const char *county, zb_down_state *out)
{
    memset(out, 0, sizeof *out);
    if (!county_ok(county))
        return ZB_EINVAL;
    MDB_val k = {ZB_COUNTY_LEN, (void *)county}, v;
    int rc = zb_mdb_err(mdb_get(txn, dbi(s, AGG_DB_DOWN_STATE), &k, &v));
    if (rc == ZB_ENOTFOUND)
        return ZB_OK;
    if (rc)
        return rc;
    if (v.mv_size != STATE_LEN)
        return ZB_EDECODE;
    const uint8_t *p = v.mv_data;
    out->last = zb_be64_get(p);
    out->delivered = zb_be64_get(p + 8);
    out->delivered_at = (int64_t)zb_be64_get(p + 16);
    return ZB_OK;
}

static int state_put(zb_store *s, MDB_txn *txn, const char *county, const zb_down_state *st)
{
    uint8_t v[STATE_LEN];
    zb_be64_put(v, st->last);
    zb_be64_put(v + 8, st->delivered);
    zb_be64_put(v + 16, (uint64_t)st->delivered_at);
    MDB_val k = {ZB_COUNTY_LEN, (void *)county}, val = {sizeof v, v};
    return zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_DOWN_STATE), &k, &val, 0));
}

int zb_astore_down_index_add_(MDB_txn *txn, MDB_dbi reviews, MDB_dbi deadlines,
                              const char *county, uint64_t number, int64_t created_at,
                              const Zb__Downstream *d)
{
    if (d->body_case == ZB__DOWNSTREAM__BODY_REVIEW) {
        uint8_t k[ZB_COUNTY_LEN + 8], v[REVIEW_LEN];
        county_num_key(k, county, d->review->seq);
        v[0] = (uint8_t)d->review->decision;
        zb_be64_put(v + 1, number);
        zb_be64_put(v + 9, (uint64_t)created_at);
        MDB_val key = {sizeof k, k}, val = {sizeof v, v};
        return zb_mdb_err(mdb_put(txn, reviews, &key, &val, 0)); /* the latest stands */
    }
    if (d->body_case == ZB__DOWNSTREAM__BODY_DEADLINE) {
        int y, m;
        if (zb_period_parse(d->deadline->period, &y, &m) != 0 || !d->deadline->deadline)
            return ZB_EDECODE;
        uint8_t k[4], v[DEADLINE_LEN];
        zb_be32_put(k, (uint32_t)zb_period_ordinal(y, m));
        zb_be64_put(v, (uint64_t)d->deadline->deadline->unix);
        zb_be32_put(v + 8, (uint32_t)d->deadline->deadline->offset_min);
        MDB_val key = {sizeof k, k}, val = {sizeof v, v};
        return zb_mdb_err(mdb_put(txn, deadlines, &key, &val, 0));
    }
    return ZB_OK;
}

int zb_astore_down_put(zb_store *s, MDB_txn *txn, const char *county, uint64_t number,
                       int64_t created_at, uint64_t log_index, const uint8_t *msg, size_t len,
                       const Zb__Downstream *d)
{
    zb_down_state st;
    int rc = zb_astore_down_state(s, txn, county, &st);
    if (rc)
        return rc;
    if (number != st.last + 1)
        return ZB_EINVAL;
    uint8_t k[ZB_COUNTY_LEN + 8];
    county_num_key(k, county, number);
    MDB_val key = {sizeof k, k}, val = {DOWN_HDR + len, NULL};
    if ((rc = zb_mdb_err(mdb_put(txn, dbi(s, AGG_DB_DOWN), &key, &val, MDB_RESERVE))))
        return rc;
    uint8_t *p = val.mv_data;
    zb_be64_put(p, (uint64_t)created_at);
    zb_be64_put(p + 8, log_index);
    memcpy(p + DOWN_HDR, msg, len);
    st.last = number;
    uint64_t gen = zb_astore_down_generation(s, txn);
    if ((rc = state_put(s, txn, county, &st)) ||
        (rc = zb_store_put_u64(txn, dbi(s, AGG_DB_META), "down_gen", gen + 1)))
        return rc;
    return zb_astore_down_index_add_(txn, dbi(s, AGG_DB_IDX_REVIEWS),
                                     dbi(s, AGG_DB_IDX_DEADLINES), county, number, created_at, d);
}

static int down_decode(const MDB_val *k, const MDB_val *v, zb_stored_down *out)
{
    if (k->mv_size != ZB_COUNTY_LEN + 8 || v->mv_size <= DOWN_HDR)
        return ZB_EDECODE;
    memcpy(out->county, k->mv_data, ZB_COUNTY_LEN);
    out->county[ZB_COUNTY_LEN] = '\0';
    out->number = zb_be64_get((const uint8_t *)k->mv_data + ZB_COUNTY_LEN);
    const uint8_t *p = v->mv_data;
    out->created_at = (int64_t)zb_be64_get(p);
    out->log_index = zb_be64_get(p + 8);
    out->msg = p + DOWN_HDR;
    out->len = v->mv_size - DOWN_HDR;
    return ZB_OK;
}

int zb_astore_down_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t number,
                       zb_stored_down *out)
{
    if (!county_ok(county))
        return ZB_EINVAL;
    uint8_t k[ZB_COUNTY_LEN + 8];
    county_num_key(k, county, number);
    MDB_val key = {sizeof k, k}, v;
    int rc = zb_mdb_err(mdb_get(txn, dbi(s, AGG_DB_DOWN), &key, &v));
    return rc ? rc : down_decode(&key, &v, out);
}

int zb_astore_downs(zb_store *s, MDB_txn *txn, const char *county, uint64_t from,
                    int (*fn)(void *ctx, const zb_stored_down *m), void *ctx)
{
    if (county && !county_ok(county))
        return ZB_EINVAL;
    MDB_cursor *c;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_DOWN), &c));
    if (rc)
        return rc;
    uint8_t k[ZB_COUNTY_LEN + 8];
    MDB_val key = {0, NULL}, v;
    int mrc;
    if (county) {
        county_num_key(k, county, from);
        key = (MDB_val){sizeof k, k};
        mrc = mdb_cursor_get(c, &key, &v, MDB_SET_RANGE);
    } else {
        mrc = mdb_cursor_get(c, &key, &v, MDB_FIRST);
    }
    for (; mrc == 0; mrc = mdb_cursor_get(c, &key, &v, MDB_NEXT)) {
        zb_stored_down m;
        if ((rc = down_decode(&key, &v, &m)))
            break;
        if (county && memcmp(m.county, county, ZB_COUNTY_LEN) != 0)
            break;
        if (m.number < from)
            continue;
        if ((rc = fn(ctx, &m)))
            break;
    }
    mdb_cursor_close(c);
    if (rc)
        return rc;
    return mrc == MDB_NOTFOUND || mrc == 0 ? ZB_OK : zb_mdb_err(mrc);
}

int zb_astore_down_delivered(zb_store *s, MDB_txn *txn, const char *county, uint64_t number,
                             int64_t now)
{
    zb_down_state st;
    int rc = zb_astore_down_state(s, txn, county, &st);
    if (rc)
        return rc;
    if (number > st.last)
        number = st.last;
    if (number <= st.delivered)
        return ZB_OK;
    st.delivered = number;
    st.delivered_at = now;
    return state_put(s, txn, county, &st);
}

uint64_t zb_astore_down_generation(zb_store *s, MDB_txn *txn)
{
    uint64_t g = 0;
    (void)zb_store_get_u64(txn, dbi(s, AGG_DB_META), "down_gen", &g, 0);
    return g;
}

int64_t zb_astore_auto_remind_day(zb_store *s, MDB_txn *txn)
{
    uint64_t d = 0;
    (void)zb_store_get_u64(txn, dbi(s, AGG_DB_META), "auto_remind_day", &d, 0);
    return (int64_t)d;
}

int zb_astore_auto_remind_day_put(zb_store *s, MDB_txn *txn, int64_t day)
{
    return zb_store_put_u64(txn, dbi(s, AGG_DB_META), "auto_remind_day", (uint64_t)day);
}

int zb_astore_review_get(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         zb_review_state *out)
{
    memset(out, 0, sizeof *out);
    if (!county_ok(county))
        return ZB_EINVAL;
    uint8_t k[ZB_COUNTY_LEN + 8];
    county_num_key(k, county, seq);
    MDB_val key = {sizeof k, k}, v;
    int rc = zb_mdb_err(mdb_get(txn, dbi(s, AGG_DB_IDX_REVIEWS), &key, &v));
    if (rc)
        return rc;
    if (v.mv_size != REVIEW_LEN)
        return ZB_EDECODE;
    const uint8_t *p = v.mv_data;
    out->decision = p[0];
    out->number = zb_be64_get(p + 1);
    out->created_at = (int64_t)zb_be64_get(p + 9);
    return ZB_OK;
}

static int deadline_decode(const MDB_val *v, int64_t *deadline, int32_t *offset_min)
{
    if (v->mv_size != DEADLINE_LEN)
        return ZB_EDECODE;
    const uint8_t *p = v->mv_data;
    *deadline = (int64_t)zb_be64_get(p);
    *offset_min = (int32_t)zb_be32_get(p + 8);
    return ZB_OK;
}

int zb_astore_deadline_get(zb_store *s, MDB_txn *txn, int period, int64_t *deadline,
                           int32_t *offset_min, bool *moved)
{
    uint8_t k[4];
    zb_be32_put(k, (uint32_t)period);
    MDB_val key = {sizeof k, k}, v;
    int32_t off = ZB_CST_OFFSET_MIN;
    bool mv = false;
    int rc = zb_mdb_err(mdb_get(txn, dbi(s, AGG_DB_IDX_DEADLINES), &key, &v));
    if (rc == 0) {
        if ((rc = deadline_decode(&v, deadline, &off)))
            return rc;
        mv = true;
    } else if (rc == ZB_ENOTFOUND) {
        *deadline = zb_period_deadline(period / 12, period % 12 + 1);
        rc = ZB_OK;
    } else {
        return rc;
    }
    if (offset_min)
        *offset_min = off;
    if (moved)
        *moved = mv;
    return ZB_OK;
}

int zb_astore_deadlines(zb_store *s, MDB_txn *txn,
                        int (*fn)(void *ctx, int period, int64_t deadline, int32_t offset_min),
                        void *ctx)
{
    MDB_cursor *c;
    int rc = zb_mdb_err(mdb_cursor_open(txn, dbi(s, AGG_DB_IDX_DEADLINES), &c));
    if (rc)
        return rc;
    MDB_val k, v;
    int mrc;
    for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        int64_t dl;
        int32_t off;
        if (k.mv_size != 4 || (rc = deadline_decode(&v, &dl, &off))) {
            rc = rc ? rc : ZB_EDECODE;
            break;
        }
        int period = (int)zb_be32_get(k.mv_data);
        if ((rc = fn(ctx, period, dl, off)))
            break;
    }
    mdb_cursor_close(c);
    if (rc)
        return rc;
    return mrc == MDB_NOTFOUND || mrc == 0 ? ZB_OK : zb_mdb_err(mrc);
}

/* ---- reindex: the reviews and deadlines from the stored messages */

typedef struct {
    MDB_txn *write_txn;
    MDB_dbi reviews, deadlines;
} down_reindex;

static int reindex_one(void *ctx, const zb_stored_down *m)
{
    down_reindex *r = ctx;
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, m->len, m->msg);
    Zb__Downstream *d = sd ? zb__downstream__unpack(NULL, sd->downstream.len,
                                                    sd->downstream.data)
                           : NULL;
    int rc = d ? zb_astore_down_index_add_(r->write_txn, r->reviews, r->deadlines, m->county,
                                           m->number, m->created_at, d)
               : ZB_EDECODE;
    if (d)
        zb__downstream__free_unpacked(d, NULL);
    if (sd)
        zb__signed_downstream__free_unpacked(sd, NULL);
    return rc;
}

int zb_astore_down_reindex_(zb_store *s, MDB_txn *read_txn, MDB_txn *write_txn, MDB_dbi reviews,
                            MDB_dbi deadlines)
{
    down_reindex r = {write_txn, reviews, deadlines};
    return zb_astore_downs(s, read_txn, NULL, 0, reindex_one, &r);
}
