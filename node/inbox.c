/* inbox.c - the node's store of the prefecture's messages (node.h, "the
 * prefecture's messages"): stored only once verified, in number order with
 * no gap; the reviews and deadlines they carry kept beside them for the
 * listings. */
#include "node.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "downstream.h"
#include "err.h"
#include "log.h"
#include "timefmt.h"

#define FLAG_READ 0x01u

static MDB_dbi db(zb_node *n, int which) { return zb_store_dbi(zb_node_store(n), (size_t)which); }

/* The reviews and deadlines a message carries, into their databases. */
static int index_message(zb_node *n, MDB_txn *txn, const Zb__Downstream *d)
{
    if (d->body_case == ZB__DOWNSTREAM__BODY_REVIEW) {
        uint8_t k[8], v[9];
        zb_be64_put(k, d->review->seq);
        v[0] = (uint8_t)d->review->decision;
        zb_be64_put(v + 1, d->number);
        MDB_val key = {sizeof k, k}, val = {sizeof v, v};
        return zb_mdb_err(mdb_put(txn, db(n, NODE_DB_REVIEWS), &key, &val, 0));
    }
    if (d->body_case == ZB__DOWNSTREAM__BODY_DEADLINE) {
        uint8_t v[12];
        zb_be64_put(v, (uint64_t)d->deadline->deadline->unix);
        zb_be32_put(v + 8, (uint32_t)d->deadline->deadline->offset_min);
        MDB_val key = {strlen(d->deadline->period), d->deadline->period},
                val = {sizeof v, v};
        return zb_mdb_err(mdb_put(txn, db(n, NODE_DB_DEADLINES), &key, &val, 0));
    }
    return ZB_OK;
}

/* A message number already held comes again: the same bytes (a resend)
 * are nothing; a different message signed under the same number is the
 * prefecture saying two things (or an aggregator restored from an old
 * backup): kept as evidence (inbox_evidence: number || SHA-256 -> packed
 * SignedDownstream) and logged, the stored one stays. */
static int check_resend(zb_node *n, MDB_txn *txn, uint64_t number, const uint8_t *packed,
                        size_t len)
{
    uint8_t key[8 + ZB_SHA256_LEN];
    zb_be64_put(key, number);
    MDB_val k = {8, key}, v;
    int rc = zb_mdb_err(mdb_get(txn, db(n, NODE_DB_INBOX), &k, &v));
    if (rc)
        return rc;
    if (v.mv_size == 1 + len && memcmp((const uint8_t *)v.mv_data + 1, packed, len) == 0)
        return ZB_OK;
    zb_sha256(packed, len, key + 8);
    ZB_ERR("ZB-SYNC-DOWN-EQUIVOCATION", "county %s: the prefecture signed two different messages "
           "numbered %" PRIu64 ": the second is kept as evidence (zhibao-node inbox shows the "
           "first); tell the auditors", zb_node_county_(n), number);
    MDB_val ek = {sizeof key, key}, ev = {len, (void *)packed};
    return zb_mdb_err(mdb_put(txn, db(n, NODE_DB_INBOX_EVIDENCE), &ek, &ev, 0));
}

/* One pass over msgs in a write transaction: *last is inbox_last after it. */
static int store_pass(zb_node *n, MDB_txn *txn, Zb__SignedDownstream *const *msgs, size_t count,
                      uint64_t *last, size_t *stored)
{
    MDB_dbi meta = db(n, NODE_DB_META);
    int rc = zb_store_get_u64(txn, meta, "inbox_last", last, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    rc = ZB_OK; /* none yet: 0 (a Deliver that stores nothing must not fail) */
    uint64_t was = *last;
    *stored = 0;
    for (size_t i = 0; i < count; i++) {
        Zb__Downstream *d = NULL;
        uint8_t *packed = NULL;
        size_t len = 0;
        int vr = zb_down_open_signed(msgs[i], zb_node_aggregator_key(n), &d, &packed, &len);
        if (vr == ZB_ENOMEM)
            return vr;
        if (vr == 0 && strcmp(d->county, zb_node_county_(n)) != 0)
            vr = ZB_EINVAL;
        if (vr) {
            ZB_ERR("ZB-SYNC-DOWN", "county %s: a message from the aggregator was refused "
                   "(%s): not stored, asked again", zb_node_county_(n),
                   vr == ZB_EINVAL ? "addressed to another county" : zb_strerror(vr));
            if (d)
                zb__downstream__free_unpacked(d, NULL);
            free(packed);
            break;
        }
        uint64_t number = d->number;
        if (number <= *last) { /* held already: a resend, unless the bytes differ */
            rc = check_resend(n, txn, number, packed, len);
            zb__downstream__free_unpacked(d, NULL);
            free(packed);
            if (rc)
                return rc;
            continue;
        }
        if (number != *last + 1) {
            ZB_WARN("ZB-SYNC-DOWN", "county %s: message %" PRIu64 " does not follow %" PRIu64
                    ": asked again", zb_node_county_(n), number, *last);
            zb__downstream__free_unpacked(d, NULL);
            free(packed);
            break;
        }
        uint8_t key[8];
        zb_be64_put(key, number);
        MDB_val k = {sizeof key, key}, v = {1 + len, NULL};
        rc = zb_mdb_err(mdb_put(txn, db(n, NODE_DB_INBOX), &k, &v, MDB_RESERVE));
        if (rc == 0) {
            ((uint8_t *)v.mv_data)[0] = 0;
            memcpy((uint8_t *)v.mv_data + 1, packed, len);
            rc = index_message(n, txn, d);
        }
        zb__downstream__free_unpacked(d, NULL);
        free(packed);
        if (rc)
            return rc;
        *last = number;
        ++*stored;
    }
    if (*last != was)
        rc = zb_store_put_u64(txn, meta, "inbox_last", *last);
    return rc;
}

int zb_node_store_downstream(zb_node *n, Zb__SignedDownstream *const *msgs, size_t count,
                             uint64_t *inbox_last)
{
    for (int attempt = 0;; attempt++) {
        MDB_txn *txn;
        int rc = zb_store_begin(zb_node_store(n), false, &txn);
        if (rc)
            return rc;
        size_t stored = 0;
        uint64_t last = 0;
        rc = store_pass(n, txn, msgs, count, &last, &stored);
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = zb_node_commit_(n, txn); /* durable before the DeliverAck */
        if (rc == 0)
            *inbox_last = last;
        if (rc == 0 && stored)
            ZB_INFO("ZB-SYNC-INBOX", "county %s: %zu message(s) from the prefecture stored (up "
                    "to %" PRIu64 ")", zb_node_county_(n), stored, *inbox_last);
        if (rc != ZB_EMAPFULL || attempt >= 8)
            return rc;
        if ((rc = zb_store_grow(zb_node_store(n))))
            return rc;
    }
}

int zb_node_review_in_(zb_node *n, MDB_txn *txn, uint64_t seq)
{
    uint8_t key[8];
    zb_be64_put(key, seq);
    MDB_val k = {sizeof key, key}, v;
    if (mdb_get(txn, db(n, NODE_DB_REVIEWS), &k, &v) != 0 || v.mv_size < 1)
        return 0;
    return ((const uint8_t *)v.mv_data)[0];
}

int zb_node_each_inbox(zb_node *n, bool unread_only, zb_node_inbox_fn fn, void *ctx)
{
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), true, &txn);
    if (rc)
        return rc;
    MDB_cursor *cur;
    if ((rc = zb_mdb_err(mdb_cursor_open(txn, db(n, NODE_DB_INBOX), &cur)))) {
        mdb_txn_abort(txn);
        return rc;
    }
    MDB_val k, v;
    int r;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || v.mv_size < 1) {
            rc = ZB_ESTORE; /* not a record we write */
            break;
        }
        const uint8_t *p = v.mv_data;
        zb_node_inbox_msg m = {.number = zb_be64_get(k.mv_data), .read = p[0] & FLAG_READ};
        if (unread_only && m.read)
            continue;
        Zb__Downstream *d = NULL;
        m.verify = zb_down_open(p + 1, v.mv_size - 1, zb_node_aggregator_key(n), &d);
        if (m.verify == 0 && (d->number != m.number || strcmp(d->county, zb_node_county_(n)) != 0))
            m.verify = ZB_EBADSIG; /* a valid message stored under another number */
        m.msg = m.verify == 0 ? d : NULL;
        rc = fn(ctx, &m);
        if (d)
            zb__downstream__free_unpacked(d, NULL);
    }
    if (rc == 0 && r != MDB_NOTFOUND)
        rc = zb_mdb_err(r);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int zb_node_inbox_mark_read(zb_node *n, uint64_t number)
{
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), false, &txn);
    if (rc)
        return rc;
    uint8_t key[8];
    zb_be64_put(key, number);
    MDB_val k = {sizeof key, key}, v;
    rc = zb_mdb_err(mdb_get(txn, db(n, NODE_DB_INBOX), &k, &v));
    if (rc == 0 && v.mv_size < 1)
        rc = ZB_ESTORE;
    if (rc == 0 && !(((const uint8_t *)v.mv_data)[0] & FLAG_READ)) {
        /* a copy: the value must not be written in place in the map */
        uint8_t *copy = malloc(v.mv_size);
        if (!copy) {
            rc = ZB_ENOMEM;
        } else {
            memcpy(copy, v.mv_data, v.mv_size);
            copy[0] |= FLAG_READ;
            MDB_val nv = {v.mv_size, copy};
            rc = zb_mdb_err(mdb_put(txn, db(n, NODE_DB_INBOX), &k, &nv, 0));
            free(copy);
        }
        if (rc == 0)
            return zb_node_commit_(n, txn);
    }
    mdb_txn_abort(txn);
    return rc;
}

int zb_node_inbox_counts(zb_node *n, uint64_t *last, uint64_t *unread)
{
    *last = *unread = 0;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), true, &txn);
    if (rc)
        return rc;
    (void)zb_store_get_u64(txn, db(n, NODE_DB_META), "inbox_last", last, 0);
    MDB_cursor *cur;
    if ((rc = zb_mdb_err(mdb_cursor_open(txn, db(n, NODE_DB_INBOX), &cur))) == 0) {
        MDB_val k, v;
        int r;
        for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
             r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            if (v.mv_size >= 1 && !(((const uint8_t *)v.mv_data)[0] & FLAG_READ))
                ++*unread;
        if (r != MDB_NOTFOUND)
            rc = zb_mdb_err(r);
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    return rc;
}

int zb_node_next_deadline(zb_node *n, int64_t now, char period[8], int64_t *deadline,
                          int32_t *offset_min)
{
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), true, &txn);
    if (rc)
        return rc;
    int year, month;
    zb_period_of(now, &year, &month);
    int current = zb_period_ordinal(year, month);
    bool found = false;
    for (int ord = current - 3; ord <= current; ord++) {
        char p[8];
        int y = ord / 12, m = ord % 12 + 1;
        zb_period_format(y, m, p, sizeof p);
        MDB_val k = {strlen(p), p}, v;
        if (mdb_get(txn, db(n, NODE_DB_PERIODS), &k, &v) == 0)
            continue; /* filed */
        int64_t dl = zb_period_deadline(y, m);
        int32_t off = ZB_CST_OFFSET_MIN;
        if (mdb_get(txn, db(n, NODE_DB_DEADLINES), &k, &v) == 0 && v.mv_size == 12) {
            const uint8_t *b = v.mv_data;
            dl = (int64_t)zb_be64_get(b);
            off = (int32_t)zb_be32_get(b + 8);
        }
        if (dl < now || (found && dl >= *deadline))
            continue;
        found = true;
        memcpy(period, p, sizeof p);
        *deadline = dl;
        *offset_min = off;
    }
    mdb_txn_abort(txn);
    if (!found) { /* every recent period filed: the next month's */
        int y = (current + 1) / 12, m = (current + 1) % 12 + 1;
        zb_period_format(y, m, period, 8);
        *deadline = zb_period_deadline(y, m);
        *offset_min = ZB_CST_OFFSET_MIN;
    }
    return ZB_OK;
}
