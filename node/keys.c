/* keys.c - the county's keys as this node knows them (node.h, "the
 * county's keys"): the keys it has held (own_keys), the key requests it
 * makes (init, rotate-key), and the key events of the prefecture's log it
 * proved against the tree heads it accepted (key_events), judged against
 * its own keys: a key event it did not make raises an alarm that stays.
 * The records of own_keys, key_events and meta key_request / key_alarm
 * are written and read here only. */
#include "node.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "log.h"
#include "logleaf.h"
#include "merkle.h"

static MDB_dbi db(zb_node *n, int which)
{
    return zb_store_dbi(zb_node_store(n), (size_t)which);
}

const char *zb_node_alarm_name(zb_node_alarm a)
{
    switch (a) {
    case ZB_NODE_ALARM_ENROLLED: return "enrolled";
    case ZB_NODE_ALARM_REVOKED: return "revoked";
    case ZB_NODE_ALARM_INVALID: return "invalid";
    default: return NULL;
    }
}

/* ---------------------------------------------------------------- own keys */

/* own_keys[pk] = since (i64 BE); an entry already there is kept when
 * keep is true. */
static int own_key_put(MDB_txn *txn, MDB_dbi own, const uint8_t pk[ZB_PK_LEN], int64_t since,
                       bool keep)
{
    uint8_t v[8];
    zb_be64_put(v, (uint64_t)since);
    MDB_val k = {ZB_PK_LEN, (void *)pk}, val = {sizeof v, v};
    int rc = mdb_put(txn, own, &k, &val, keep ? MDB_NOOVERWRITE : 0);
    return rc == MDB_KEYEXIST ? ZB_OK : zb_mdb_err(rc);
}

/* key is one this node has held: the current one, or one in own_keys. */
static bool own_key_is(MDB_txn *txn, MDB_dbi own, const uint8_t current[ZB_PK_LEN],
                       const uint8_t key[ZB_PK_LEN])
{
    if (memcmp(key, current, ZB_PK_LEN) == 0)
        return true;
    MDB_val k = {ZB_PK_LEN, (void *)key}, v;
    return mdb_get(txn, own, &k, &v) == 0;
}

/* The key request stored in meta (a copy, malloc'd), ZB_ENOTFOUND when none. */
static int request_get(MDB_txn *txn, MDB_dbi meta, uint8_t **buf, size_t *len)
{
    MDB_val k = {sizeof "key_request" - 1, (void *)"key_request"}, v;
    int rc = zb_mdb_err(mdb_get(txn, meta, &k, &v));
    if (rc)
        return rc;
    if (v.mv_size == 0 || v.mv_size > ZB_KEYREQ_MAX)
        return ZB_EDECODE;
    if (!(*buf = malloc(v.mv_size)))
        return ZB_ENOMEM;
    memcpy(*buf, v.mv_data, v.mv_size);
    *len = v.mv_size;
    return ZB_OK;
}

static int request_put(MDB_txn *txn, MDB_dbi meta, const uint8_t *buf, size_t len)
{
    MDB_val k = {sizeof "key_request" - 1, (void *)"key_request"}, v = {len, (void *)buf};
    return zb_mdb_err(mdb_put(txn, meta, &k, &v, 0));
}

static int request_path(const char *dir, char *buf, size_t len)
{
    return snprintf(buf, len, "%s/" ZB_NODE_KEY_REQUEST_FILE, dir) >= (int)len ? ZB_EINVAL : ZB_OK;
}

int zb_node_keys_create_(zb_store *s, MDB_txn *txn, const char *dir, const char *county,
                         const zb_identity *id, int64_t now)
{
    char path[4096];
    int rc = request_path(dir, path, sizeof path);
    if (rc)
        return rc;
    if ((rc = own_key_put(txn, zb_store_dbi(s, NODE_DB_OWN_KEYS), id->pk, now, false)))
        return rc;
    static const uint8_t no_hash[ZB_SHA256_LEN] = {0};
    uint8_t *req;
    size_t len;
    if ((rc = zb_keyreq_make(county, id, NULL, 0, no_hash, now, &req, &len)))
        return rc;
    rc = request_put(txn, zb_store_dbi(s, NODE_DB_META), req, len);
    if (rc == 0)
        rc = zb_write_file_atomic(path, req, len, 0600);
    free(req);
    return rc;
}

/* ---------------------------------------------------------------- alarms */

/* meta key_alarm: alarm (u8) || log_index (u64 BE) || time (i64 BE) ||
 * epoch (u32 BE) || has_key (u8) || key (32) || consented (u8). */
#define ALARM_REC_LEN (1 + 8 + 8 + 4 + 1 + ZB_PK_LEN + 1)

static int alarm_get(MDB_txn *txn, MDB_dbi meta, zb_node_alarm *a, zb_node_key_event *e)
{
    uint8_t rec[ALARM_REC_LEN];
    int rc = zb_store_get_bin(txn, meta, "key_alarm", rec, sizeof rec);
    if (rc)
        return rc;
    if (rec[0] < ZB_NODE_ALARM_ENROLLED || rec[0] > ZB_NODE_ALARM_INVALID)
        return ZB_EDECODE;
    *a = (zb_node_alarm)rec[0];
    memset(e, 0, sizeof *e);
    e->log_index = zb_be64_get(rec + 1);
    e->time = (int64_t)zb_be64_get(rec + 9);
    e->epoch = zb_be32_get(rec + 17);
    e->has_key = rec[21] != 0;
    memcpy(e->key, rec + 22, ZB_PK_LEN);
    e->consented = rec[22 + ZB_PK_LEN] != 0;
    return ZB_OK;
}

static int alarm_put(MDB_txn *txn, MDB_dbi meta, zb_node_alarm a, const zb_node_key_event *e)
{
    uint8_t rec[ALARM_REC_LEN] = {0};
    rec[0] = (uint8_t)a;
    zb_be64_put(rec + 1, e->log_index);
    zb_be64_put(rec + 9, (uint64_t)e->time);
    zb_be32_put(rec + 17, e->epoch);
    rec[21] = e->has_key;
    if (e->has_key)
        memcpy(rec + 22, e->key, ZB_PK_LEN);
    rec[22 + ZB_PK_LEN] = e->consented;
    return zb_store_put_bin(txn, meta, "key_alarm", rec, sizeof rec);
}

/* ---------------------------------------------------------------- judging */

/* One held key event, decoded and checked. */
typedef struct {
    zb_node_key_event ev;
    bool valid;    /* a key event of this county that passes zb_key_event_check */
    bool enrolled; /* kind ENROLLED (else REVOKED), when valid */
    bool own;      /* its key is one this node has held */
    char why[160]; /* when not valid */
} held_event;

static void parse_event(MDB_txn *txn, MDB_dbi own, const char *county,
                        const uint8_t current[ZB_PK_LEN], uint64_t index, const uint8_t *leaf,
                        size_t len, held_event *h)
{
    memset(h, 0, sizeof *h);
    h->ev.log_index = index;
    Zb__LogLeaf *l = NULL;
    int rc = zb_leaf_decode(leaf, len, &l);
    if (rc) {
        snprintf(h->why, sizeof h->why, "not a log leaf (%s)", zb_strerror(rc));
        return;
    }
    h->ev.time = l->timestamp;
    if (l->entry_case != ZB__LOG_LEAF__ENTRY_KEY_EVENT) {
        snprintf(h->why, sizeof h->why, "a log leaf that is not a key event");
        zb__log_leaf__free_unpacked(l, NULL);
        return;
    }
    const Zb__KeyEvent *e = l->key_event;
    h->ev.epoch = e->epoch;
    h->ev.has_key = true; /* zb_leaf_decode checked its length */
    memcpy(h->ev.key, e->key.data, ZB_PK_LEN);
    h->ev.consented = e->has_consented && e->consented;
    h->enrolled = e->kind == ZB__KEY_EVENT_KIND__ENROLLED;
    h->own = own_key_is(txn, own, current, h->ev.key);
    if (strcmp(e->county, county) != 0)
        snprintf(h->why, sizeof h->why, "a key event of county %s, not this node's", e->county);
    else if (zb_key_event_check(e, h->why, sizeof h->why) == 0)
        h->valid = true;
    zb__log_leaf__free_unpacked(l, NULL);
}

/* Told of every alarm the judging finds, in log order. */
typedef void (*alarm_fn)(void *ctx, zb_node_alarm a, const zb_node_key_event *e, const char *why);

/* Judge every held key event (node.h, "the county's keys") in txn: fills
 * out (alarm: the stored one, else the first found now) and tells on_alarm
 * (may be NULL) of each alarm found. *found: the first alarm found now
 * (ZB_NODE_ALARM_NONE: none), with its event in *found_ev. */
static int judge(zb_node *n, MDB_txn *txn, zb_node_keys *out, alarm_fn on_alarm, void *ctx,
                 zb_node_alarm *found, zb_node_key_event *found_ev)
{
    memset(out, 0, sizeof *out);
    *found = ZB_NODE_ALARM_NONE;
    MDB_dbi meta = db(n, NODE_DB_META), own = db(n, NODE_DB_OWN_KEYS);
    uint8_t current[ZB_PK_LEN];
    int rc = zb_store_get_bin(txn, meta, "node_key", current, sizeof current);
    if (rc)
        return rc;
    MDB_cursor *cur;
    if ((rc = zb_mdb_err(mdb_cursor_open(txn, db(n, NODE_DB_KEY_EVENTS), &cur))))
        return rc;
    held_event *held = NULL;
    size_t count = 0, cap = 0;
    MDB_val k, v;
    int r;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) {
            rc = ZB_ESTORE; /* not a record we write */
            break;
        }
        if (count == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            held_event *nh = realloc(held, ncap * sizeof *nh);
            if (!nh) {
                rc = ZB_ENOMEM;
                break;
            }
            held = nh;
            cap = ncap;
        }
        parse_event(txn, own, zb_node_county_(n), current, zb_be64_get(k.mv_data), v.mv_data,
                    v.mv_size, &held[count++]);
    }
    if (rc == 0 && r != MDB_NOTFOUND)
        rc = zb_mdb_err(r);
    mdb_cursor_close(cur);
    if (rc) {
        free(held);
        return rc;
    }
    out->events = count;
    /* where this node's own history begins: the enrolment of its first own
     * key, by its position in the log (not by the epoch number, which the
     * prefecture writes) */
    bool has_own = false;
    uint64_t own_index = 0;
    for (size_t i = 0; i < count && !has_own; i++)
        if (held[i].valid && held[i].enrolled && held[i].own) {
            has_own = true;
            own_index = held[i].ev.log_index;
        }
    for (size_t i = 0; i < count; i++) {
        const held_event *h = &held[i];
        zb_node_alarm a = ZB_NODE_ALARM_NONE;
        if (!h->valid)
            a = ZB_NODE_ALARM_INVALID;
        else if (h->enrolled && !h->own && has_own && h->ev.log_index > own_index)
            a = ZB_NODE_ALARM_ENROLLED;
        else if (!h->enrolled && h->own && !h->ev.consented)
            a = ZB_NODE_ALARM_REVOKED;
        if (h->valid && memcmp(h->ev.key, current, ZB_PK_LEN) == 0) {
            out->state = h->enrolled ? ZB_NODE_KEY_ACTIVE : ZB_NODE_KEY_REVOKED;
            if (h->enrolled)
                memset(&out->revocation, 0, sizeof out->revocation);
            else
                out->revocation = h->ev;
        }
        if (a == ZB_NODE_ALARM_NONE)
            continue;
        if (*found == ZB_NODE_ALARM_NONE) {
            *found = a;
            *found_ev = h->ev;
        }
        if (on_alarm)
            on_alarm(ctx, a, &h->ev, h->why);
    }
    free(held);
    if (alarm_get(txn, meta, &out->alarm, &out->alarm_event) != 0) {
        out->alarm = *found;
        if (*found)
            out->alarm_event = *found_ev;
    }
    /* a rotation waits while its key is not seen enrolled (nor revoked) */
    uint8_t *req = NULL;
    size_t req_len = 0;
    Zb__KeyRequest *kr = NULL;
    if (out->state == ZB_NODE_KEY_UNKNOWN && request_get(txn, meta, &req, &req_len) == 0 &&
        zb_keyreq_open(req, req_len, &kr) == 0) {
        out->rotation_waiting = kr->has_previous_key && kr->key.len == ZB_PK_LEN &&
                                memcmp(kr->key.data, current, ZB_PK_LEN) == 0;
        zb__key_request__free_unpacked(kr, NULL);
    }
    free(req);
    return ZB_OK;
}

int zb_node_key_status(zb_node *n, zb_node_keys *out)
{
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), true, &txn);
    if (rc)
        return rc;
    zb_node_alarm found;
    zb_node_key_event found_ev;
    rc = judge(n, txn, out, NULL, NULL, &found, &found_ev);
    mdb_txn_abort(txn);
    return rc;
}

/* ---------------------------------------------------------------- a Welcome's events */

/* RFC 6962 inclusion of the proof's leaf at its index under head. */
static bool proof_holds(const Zb__KeyEventProof *p, const zb_tree_head *head)
{
    if (!p || p->leaf.len == 0 || p->leaf.len > ZB_LEAF_MAX || p->log_index >= head->size ||
        p->n_path > ZB_MERKLE_MAX_PROOF)
        return false;
    uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    for (size_t i = 0; i < p->n_path; i++) {
        if (p->path[i].len != ZB_HASH_LEN)
            return false;
        memcpy(path[i], p->path[i].data, ZB_HASH_LEN);
    }
    uint8_t leaf[ZB_HASH_LEN];
    zb_merkle_leaf_hash(p->leaf.data, p->leaf.len, leaf);
    return zb_merkle_verify_inclusion(leaf, p->log_index, head->size,
                                      (const uint8_t(*)[ZB_HASH_LEN])path, p->n_path,
                                      head->root) == 0;
}

/* Keep one proven leaf: 1 when it is new here, 0 when held already (the
 * same bytes; different ones are logged, the first kept), or a ZB_E*. */
static int keep_leaf(zb_node *n, MDB_txn *txn, const Zb__KeyEventProof *p)
{
    uint8_t key[8];
    zb_be64_put(key, p->log_index);
    MDB_val k = {sizeof key, key}, v = {p->leaf.len, p->leaf.data};
    int rc = mdb_put(txn, db(n, NODE_DB_KEY_EVENTS), &k, &v, MDB_NOOVERWRITE);
    if (rc == 0)
        return 1;
    if (rc != MDB_KEYEXIST)
        return zb_mdb_err(rc);
    /* v is the held leaf now */
    if (v.mv_size != p->leaf.len || memcmp(v.mv_data, p->leaf.data, p->leaf.len) != 0)
        ZB_ERR("ZB-SYNC-KEY",
               "county %s: two different leaves proven at log index %" PRIu64
               " of the prefecture's log (the log was rewritten): the first is kept; keep "
               "this node's store as evidence",
               zb_node_county_(n), p->log_index);
    return 0;
}

/* The alarms among the events new in this Welcome, logged once the
 * transaction holding them is committed. */
typedef struct {
    const uint64_t *fresh; /* log indexes stored now */
    size_t n_fresh;
    struct {
        zb_node_alarm alarm;
        zb_node_key_event ev;
        char why[160];
    } * list;
    size_t n, cap;
    bool nomem;
} new_alarms;

static void collect_alarm(void *ctx, zb_node_alarm a, const zb_node_key_event *e, const char *why)
{
    new_alarms *na = ctx;
    bool fresh = false;
    for (size_t i = 0; i < na->n_fresh && !fresh; i++)
        fresh = na->fresh[i] == e->log_index;
    if (!fresh)
        return;
    if (na->n == na->cap) {
        size_t cap = na->cap ? 2 * na->cap : 4;
        void *nl = realloc(na->list, cap * sizeof *na->list);
        if (!nl) {
            na->nomem = true;
            return;
        }
        na->list = nl;
        na->cap = cap;
    }
    na->list[na->n].alarm = a;
    na->list[na->n].ev = *e;
    snprintf(na->list[na->n].why, sizeof na->list[na->n].why, "%s", why ? why : "");
    na->n++;
}

static void log_alarm(zb_node *n, zb_node_alarm a, const zb_node_key_event *e, const char *why,
                      const uint8_t current[ZB_PK_LEN])
{
    const char *county = zb_node_county_(n);
    switch (a) {
    case ZB_NODE_ALARM_INVALID:
        ZB_ERR("ZB-SYNC-KEY",
               "county %s: the prefecture sent a key event that does not verify "
               "(log index %" PRIu64 ": %s): keep this node's store as evidence and tell the "
               "county office (zhibao-node status)",
               county, e->log_index, why);
        break;
    case ZB_NODE_ALARM_ENROLLED:
        ZB_ERR("ZB-SYNC-KEY",
               "county %s: the prefecture's log enrols a key this node never "
               "held for this county (log index %" PRIu64 ", epoch %" PRIu32 "): someone else "
               "can sign this county's reports; keep this node's store as evidence and tell "
               "the county office (zhibao-node status)",
               county, e->log_index, e->epoch);
        break;
    case ZB_NODE_ALARM_REVOKED:
        ZB_ERR("ZB-SYNC-KEY",
               "county %s: the prefecture's log revokes %s key without its "
               "consent (log index %" PRIu64 "): keep this node's store as evidence and tell "
               "the county office (zhibao-node status)",
               county, memcmp(e->key, current, ZB_PK_LEN) == 0 ? "this node's" : "a former",
               e->log_index);
        break;
    default: break;
    }
}

/* One pass in a write transaction; *fresh / *n_fresh: the indexes stored. */
static int take_pass(zb_node *n, MDB_txn *txn, const zb_tree_head *head,
                     Zb__KeyEventProof *const *proofs, size_t count, uint64_t *fresh,
                     size_t *n_fresh, new_alarms *na)
{
    *n_fresh = 0;
    for (size_t i = 0; i < count; i++) {
        const Zb__KeyEventProof *p = proofs[i];
        if (!proof_holds(p, head)) {
            ZB_WARN("ZB-SYNC-KEY",
                    "county %s: a key event (log index %" PRIu64 ") whose "
                    "inclusion proof does not verify against the tree head of size %" PRIu64
                    ": not trusted",
                    zb_node_county_(n), p ? p->log_index : 0, head->size);
            continue;
        }
        int rc = keep_leaf(n, txn, p);
        if (rc < 0)
            return rc;
        if (rc == 1)
            fresh[(*n_fresh)++] = p->log_index;
    }
    na->fresh = fresh;
    na->n_fresh = *n_fresh;
    na->n = 0;
    zb_node_keys keys;
    zb_node_alarm found;
    zb_node_key_event found_ev;
    int rc = judge(n, txn, &keys, collect_alarm, na, &found, &found_ev);
    if (rc)
        return rc;
    if (na->nomem)
        return ZB_ENOMEM;
    MDB_dbi meta = db(n, NODE_DB_META);
    zb_node_alarm stored;
    zb_node_key_event stored_ev;
    rc = alarm_get(txn, meta, &stored, &stored_ev);
    if (rc == ZB_ENOTFOUND && found != ZB_NODE_ALARM_NONE)
        return alarm_put(txn, meta, found, &found_ev); /* the first, for good */
    return rc == ZB_ENOTFOUND || rc == ZB_EDECODE ? ZB_OK : rc;
}

int zb_node_take_key_events(zb_node *n, const Zb__SignedTreeHead *head,
                            Zb__KeyEventProof *const *proofs, size_t count)
{
    zb_tree_head th;
    if (!head || zb_tree_head_verify(head, zb_node_aggregator_key(n), &th) != 0) {
        if (count)
            ZB_DEBUG("ZB-SYNC-KEY",
                     "county %s: %zu key event(s) without a tree head that "
                     "verifies: not trusted",
                     zb_node_county_(n), count);
        return ZB_OK;
    }
    uint64_t *fresh = malloc((count ? count : 1) * sizeof *fresh);
    if (!fresh)
        return ZB_ENOMEM;
    new_alarms na = {0};
    int rc;
    for (int attempt = 0;; attempt++) {
        MDB_txn *txn;
        if ((rc = zb_store_begin(zb_node_store(n), false, &txn)))
            break;
        if (!zb_node_head_accepted_(n, txn, &th)) {
            mdb_txn_abort(txn);
            if (count)
                ZB_DEBUG("ZB-SYNC-KEY",
                         "county %s: %zu key event(s) against a tree head of "
                         "size %" PRIu64 " this node has not accepted: not trusted",
                         zb_node_county_(n), count, th.size);
            rc = ZB_OK;
            break;
        }
        size_t n_fresh = 0;
        uint8_t current[ZB_PK_LEN];
        rc = zb_store_get_bin(txn, db(n, NODE_DB_META), "node_key", current, sizeof current);
        if (rc == 0)
            rc = take_pass(n, txn, &th, proofs, count, fresh, &n_fresh, &na);
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = zb_node_commit_(n, txn);
        if (rc == 0) {
            for (size_t i = 0; i < na.n; i++)
                log_alarm(n, na.list[i].alarm, &na.list[i].ev, na.list[i].why, current);
            if (n_fresh)
                ZB_INFO("ZB-SYNC-KEY-EVENTS",
                        "county %s: %zu new key event(s) of the county "
                        "proven against the tree head of size %" PRIu64,
                        zb_node_county_(n), n_fresh, th.size);
        }
        if (rc != ZB_EMAPFULL || attempt >= 8)
            break;
        if ((rc = zb_store_grow(zb_node_store(n))))
            break;
    }
    free(na.list);
    free(fresh);
    return rc;
}

/* ---------------------------------------------------------------- rotation */

/* A rotation still waiting for the prefecture: its stored request again
 * to path. */
static int rewrite_request(zb_node *n, MDB_txn *txn, const char *path, zb_node_rotation *r)
{
    uint8_t *req = NULL;
    size_t len = 0;
    Zb__KeyRequest *kr = NULL;
    int rc = request_get(txn, db(n, NODE_DB_META), &req, &len);
    mdb_txn_abort(txn);
    if (rc == 0 && (rc = zb_keyreq_open(req, len, &kr)) == 0) {
        r->rewritten = true;
        memcpy(r->new_key, kr->key.data, ZB_PK_LEN);
        memcpy(r->old_key, kr->previous_key.data, ZB_PK_LEN);
        r->after_seq = kr->after_seq;
        zb__key_request__free_unpacked(kr, NULL);
        rc = zb_write_file_atomic(path, req, len, 0600);
        r->request_written = rc == 0;
    }
    free(req);
    return rc;
}

/* The rotation's write transaction: ZB_EINVAL with r->pending,
 * ZB_ENOTENROLLED, ZB_EIO (the staged key), or a store error, the
 * transaction then aborted and nothing staged; 1: a rotation waits, its
 * request rewritten (the transaction gone); 0: committed with the new key
 * staged (zb_node_identity_stage_), *req the request (malloc'd). */
static int rotate_txn(zb_node *n, const zb_identity *fresh, int64_t now, const char *path,
                      zb_node_rotation *r, uint8_t **req, size_t *req_len)
{
    const zb_identity *old = zb_node_identity(n);
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), false, &txn);
    if (rc)
        return rc;
    MDB_dbi meta = db(n, NODE_DB_META);
    uint64_t last = 0, acked = 0;
    uint8_t last_hash[ZB_SHA256_LEN], current[ZB_PK_LEN];
    if ((rc = zb_store_get_u64(txn, meta, "last_seq", &last, 0)) ||
        (rc = zb_store_get_u64(txn, meta, "acked_seq", &acked, 0)) ||
        (rc = zb_store_get_bin(txn, meta, "last_hash", last_hash, sizeof last_hash)) ||
        (rc = zb_store_get_bin(txn, meta, "node_key", current, sizeof current)))
        goto fail;
    if (memcmp(current, old->pk, ZB_PK_LEN) != 0) {
        rc = ZB_ECONFIG; /* another rotation since n was opened */
        goto fail;
    }
    if (last > acked) {
        r->pending = last - acked;
        rc = ZB_EINVAL;
        goto fail;
    }
    zb_node_keys keys;
    zb_node_alarm found;
    zb_node_key_event found_ev;
    if ((rc = judge(n, txn, &keys, NULL, NULL, &found, &found_ev)))
        goto fail;
    if (keys.state == ZB_NODE_KEY_REVOKED) {
        rc = ZB_ENOTENROLLED;
        goto fail;
    }
    if (keys.rotation_waiting) {
        rc = rewrite_request(n, txn, path, r);
        return rc ? rc : 1;
    }
    /* the key to replace must be seen enrolled in the log first: a
     * rotation of a key the prefecture never enrolled can never apply */
    if (keys.state != ZB_NODE_KEY_ACTIVE) {
        rc = ZB_ENOTFOUND;
        goto fail;
    }
    r->after_seq = last;
    if ((rc = zb_keyreq_make(zb_node_county_(n), fresh, old, last, last_hash, now, req, req_len)))
        goto fail;
    MDB_dbi own = db(n, NODE_DB_OWN_KEYS);
    if ((rc = own_key_put(txn, own, old->pk, 0, true)) || /* a store of an older release */
        (rc = own_key_put(txn, own, fresh->pk, now, false)) ||
        (rc = zb_store_put_bin(txn, meta, "node_key", fresh->pk, ZB_PK_LEN)) ||
        (rc = request_put(txn, meta, *req, *req_len)))
        goto fail;
    /* staged before the commit that names it: a crash after that commit
     * leaves the key where zb_node_open finds it */
    if ((rc = zb_node_identity_stage_(n, fresh)))
        goto fail;
    if ((rc = zb_node_commit_(n, txn)) == 0)
        return ZB_OK;
    zb_node_identity_unstage_(n);
    txn = NULL;
fail:
    if (txn)
        mdb_txn_abort(txn);
    free(*req);
    *req = NULL;
    return rc;
}

int zb_node_rotate_key(zb_node *n, const char *out, int64_t now, zb_node_rotation *r)
{
    memset(r, 0, sizeof *r);
    const zb_identity *old = zb_node_identity(n);
    if (!old)
        return ZB_EINVAL; /* opened read-only */
    char path[4096];
    if (out) {
        if (snprintf(path, sizeof path, "%s", out) >= (int)sizeof path)
            return ZB_EINVAL;
    } else if (request_path(zb_node_dir_(n), path, sizeof path)) {
        return ZB_EINVAL;
    }
    int rc = zb_node_lock_sync(n, &r->lock_holder);
    if (rc)
        return rc;
    memcpy(r->old_key, old->pk, ZB_PK_LEN);
    zb_identity fresh;
    zb_identity_generate(&fresh);
    uint8_t *req = NULL;
    size_t req_len = 0;
    for (int attempt = 0;; attempt++) {
        rc = rotate_txn(n, &fresh, now, path, r, &req, &req_len);
        if (rc == 1) { /* a rotation waits: its request written again */
            rc = ZB_OK;
            break;
        }
        if (rc == 0) {
            memcpy(r->new_key, fresh.pk, ZB_PK_LEN);
            (void)zb_node_identity_adopt_(n, &fresh); /* failing, the next open finishes it */
            ZB_INFO("ZB-NODE-KEY",
                    "county %s: key rotated after seq %" PRIu64 ": the "
                    "rotation request waits for the prefecture",
                    zb_node_county_(n), r->after_seq);
            r->request_written = zb_write_file_atomic(path, req, req_len, 0600) == 0;
            break;
        }
        if (rc != ZB_EMAPFULL || attempt >= 8)
            break;
        if ((rc = zb_store_grow(zb_node_store(n))))
            break;
    }
    free(req);
    zb_identity_wipe(&fresh);
    return rc;
}
