/* tlog.c - see tlog.h. */
#include "tlog.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cosig.h"
#include "err.h"
#include "log.h"
#include "treehead.h"

struct zb_tlog {
    MDB_dbi nodes, entries, env_log, heads, cosigs;
    const zb_identity *signer; /* borrowed; NULL: cannot sign */
    int64_t clock_warned_at;   /* monotonic s of the last ZB-AGG-CLOCK line (0: none) */
};

#define CLOCK_WARN_EVERY_S 60

/* Hashes of subtrees that are not perfect (the log's right edge), kept
 * while the proofs of one receipt are built: the reports of a round sit
 * side by side, so their proofs share most of the right edge, which costs
 * O(log n) hashes per subtree to recompute. Direct-mapped; it lives for
 * one call, inside one transaction, so it never outlives the leaves. */
#define MEMO_SLOTS 1024

typedef struct {
    uint64_t start, size; /* size 0: empty */
    uint8_t hash[ZB_HASH_LEN];
} memo_slot;

typedef struct {
    zb_tlog *log;
    MDB_txn *txn;
    memo_slot *memo; /* NULL: none */
} tlog_ctx;

int zb_tlog_open(zb_tlog **out, MDB_dbi nodes, MDB_dbi entries, MDB_dbi env_log, MDB_dbi heads,
                 MDB_dbi cosigs, const zb_identity *signer)
{
    *out = NULL;
    zb_tlog *t = calloc(1, sizeof *t);
    if (!t)
        return ZB_ENOMEM;
    *t = (zb_tlog){nodes, entries, env_log, heads, cosigs, signer, 0};
    *out = t;
    return ZB_OK;
}

void zb_tlog_close(zb_tlog **t)
{
    if (!t || !*t)
        return;
    free(*t);
    *t = NULL;
}

static void node_key(uint8_t key[9], unsigned level, uint64_t index)
{
    key[0] = (uint8_t)level;
    zb_be64_put(key + 1, index);
}

static int get_node(zb_tlog *t, MDB_txn *txn, unsigned level, uint64_t index,
                    uint8_t out[ZB_HASH_LEN])
{
    uint8_t key[9];
    node_key(key, level, index);
    MDB_val k = {sizeof key, key}, v;
    int rc = zb_mdb_err(mdb_get(txn, t->nodes, &k, &v));
    if (rc)
        return rc;
    if (v.mv_size != ZB_HASH_LEN)
        return ZB_EDECODE;
    memcpy(out, v.mv_data, ZB_HASH_LEN);
    return ZB_OK;
}

static int put_node(zb_tlog *t, MDB_txn *txn, unsigned level, uint64_t index,
                    const uint8_t h[ZB_HASH_LEN])
{
    uint8_t key[9];
    node_key(key, level, index);
    MDB_val k = {sizeof key, key}, v = {ZB_HASH_LEN, (void *)h};
    return zb_mdb_err(mdb_put(txn, t->nodes, &k, &v, 0));
}

static int perfect(void *ctx, unsigned level, uint64_t index, uint8_t out[ZB_HASH_LEN])
{
    tlog_ctx *c = ctx;
    return get_node(c->log, c->txn, level, index, out);
}

static int subtree(void *ctx, uint64_t start, uint64_t size, uint8_t out[ZB_HASH_LEN])
{
    tlog_ctx *c = ctx;
    bool is_perfect = (size & (size - 1)) == 0 && start % size == 0;
    if (!c->memo || is_perfect)
        return zb_merkle_subtree_from_perfect(perfect, ctx, start, size, out);
    memo_slot *m = &c->memo[(start * 0x9E3779B97F4A7C15ull ^ size) % MEMO_SLOTS];
    if (m->size == size && m->start == start) {
        memcpy(out, m->hash, ZB_HASH_LEN);
        return ZB_OK;
    }
    int rc = zb_merkle_subtree_from_perfect(perfect, ctx, start, size, out);
    if (rc == 0) {
        m->start = start;
        m->size = size;
        memcpy(m->hash, out, ZB_HASH_LEN);
    }
    return rc;
}

int zb_tlog_size(zb_tlog *t, MDB_txn *txn, uint64_t *size)
{
    /* one log_entries record per leaf: O(1) */
    *size = 0;
    MDB_stat st;
    int rc = mdb_stat(txn, t->entries, &st);
    if (rc)
        return zb_mdb_err(rc);
    *size = st.ms_entries;
    return ZB_OK;
}

int zb_tlog_append(zb_tlog *t, MDB_txn *txn, const uint8_t *entry, size_t len, zb_leaf_kind kind,
                   const char county[ZB_COUNTY_LEN], uint64_t seq, uint64_t *index)
{
    uint64_t n;
    int rc = zb_tlog_size(t, txn, &n);
    if (rc)
        return rc;
    uint8_t h[ZB_HASH_LEN];
    zb_merkle_leaf_hash(entry, len, h);
    if ((rc = put_node(t, txn, 0, n, h)))
        return rc;
    /* complete every perfect subtree this leaf closes: while the node is a
     * right child, hash it with its left sibling one level up */
    uint64_t idx = n;
    for (unsigned level = 0; idx & 1; level++, idx >>= 1) {
        uint8_t left[ZB_HASH_LEN];
        if ((rc = get_node(t, txn, level, idx - 1, left)))
            return rc;
        zb_merkle_node_hash(left, h, h);
        if ((rc = put_node(t, txn, level + 1, idx >> 1, h)))
            return rc;
    }
    /* an envelope's record is county || seq; a downstream message's has
     * its kind in front */
    uint8_t rec[1 + ZB_COUNTY_LEN + 8], ik[8];
    uint8_t *ek = rec + 1;
    rec[0] = (uint8_t)kind;
    memcpy(ek, county, ZB_COUNTY_LEN);
    zb_be64_put(ek + ZB_COUNTY_LEN, seq);
    zb_be64_put(ik, n);
    bool envelope = kind == ZB_LEAF_ENVELOPE;
    MDB_val k1 = {8, ik}, v1 = {envelope ? sizeof rec - 1 : sizeof rec, envelope ? ek : rec};
    MDB_val k2 = {ZB_COUNTY_LEN + 8, ek}, v2 = {8, ik};
    if ((rc = zb_mdb_err(mdb_put(txn, t->entries, &k1, &v1, MDB_APPEND))) ||
        (envelope && (rc = zb_mdb_err(mdb_put(txn, t->env_log, &k2, &v2, 0)))))
        return rc;
    *index = n;
    return ZB_OK;
}

int zb_tlog_root(zb_tlog *t, MDB_txn *txn, uint64_t n, uint8_t root[ZB_HASH_LEN])
{
    if (n == 0) {
        zb_sha256("", 0, root);
        return ZB_OK;
    }
    tlog_ctx c = {t, txn, NULL};
    return subtree(&c, 0, n, root);
}

int zb_tlog_inclusion(zb_tlog *t, MDB_txn *txn, uint64_t n, uint64_t m,
                      uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    tlog_ctx c = {t, txn, NULL};
    return zb_merkle_inclusion_proof_src(subtree, &c, n, m, proof, count);
}

int zb_tlog_consistency(zb_tlog *t, MDB_txn *txn, uint64_t n, uint64_t m,
                        uint8_t (*proof)[ZB_HASH_LEN], size_t *count)
{
    tlog_ctx c = {t, txn, NULL};
    return zb_merkle_consistency_proof_src(subtree, &c, n, m, proof, count);
}

int zb_tlog_leaf_hash(zb_tlog *t, MDB_txn *txn, uint64_t index, uint8_t out[ZB_HASH_LEN])
{
    return get_node(t, txn, 0, index, out);
}

int zb_tlog_index_of(zb_tlog *t, MDB_txn *txn, const char county[ZB_COUNTY_LEN], uint64_t seq,
                     uint64_t *index)
{
    uint8_t ek[ZB_COUNTY_LEN + 8];
    memcpy(ek, county, ZB_COUNTY_LEN);
    zb_be64_put(ek + ZB_COUNTY_LEN, seq);
    MDB_val k = {sizeof ek, ek}, v;
    int rc = zb_mdb_err(mdb_get(txn, t->env_log, &k, &v));
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return ZB_EDECODE;
    *index = zb_be64_get(v.mv_data);
    return ZB_OK;
}

int64_t zb_tlog_head_time(int64_t previous, int64_t now)
{
    return now > previous ? now : previous;
}

/* The timestamp of the next head: never before the newest head's, whose
 * signer may have had a clock ahead of this one (logged once a minute). */
static int head_time(zb_tlog *t, MDB_txn *txn, int64_t now, int64_t *at)
{
    Zb__SignedTreeHead *last = NULL;
    int rc = zb_tlog_latest_head(t, txn, &last);
    *at = now;
    if (rc == ZB_ENOTFOUND)
        return ZB_OK;
    if (rc)
        return rc;
    Zb__TreeHead *th = zb__tree_head__unpack(NULL, last->tree_head.len, last->tree_head.data);
    zb__signed_tree_head__free_unpacked(last, NULL);
    if (!th)
        return ZB_EDECODE;
    int64_t previous = th->timestamp;
    uint64_t size = th->size;
    zb__tree_head__free_unpacked(th, NULL);
    *at = zb_tlog_head_time(previous, now);
    if (now < previous) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t mono = (int64_t)ts.tv_sec;
        if (t->clock_warned_at == 0 || mono - t->clock_warned_at >= CLOCK_WARN_EVERY_S) {
            t->clock_warned_at = mono;
            ZB_WARN("ZB-AGG-CLOCK",
                    "the clock (%" PRId64 ") is %" PRId64 " s behind the newest tree head "
                    "(size %" PRIu64 ", signed at %" PRId64 "): heads keep that time until the "
                    "clock catches up; check the time service",
                    now, previous - now, size, previous);
        }
    }
    return ZB_OK;
}

int zb_tlog_leaf_time(zb_tlog *t, MDB_txn *txn, int64_t now, int64_t *at)
{
    return head_time(t, txn, now, at);
}

int zb_tlog_sign_head(zb_tlog *t, MDB_txn *txn, int64_t now, Zb__SignedTreeHead **out)
{
    *out = NULL;
    uint64_t n = 0;
    uint8_t root[ZB_HASH_LEN];
    int rc = zb_tlog_size(t, txn, &n);
    if (rc || (rc = zb_tlog_root(t, txn, n, root)))
        return rc;
    const zb_identity *id = t->signer;
    if (!id)
        return ZB_EINVAL;
    int64_t at = now;
    if ((rc = head_time(t, txn, now, &at)))
        return rc;
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = n;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = at;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)id->pk};
    size_t len = zb__tree_head__get_packed_size(&th);
    Zb__SignedTreeHead *sth = malloc(sizeof *sth);
    uint8_t *buf = malloc(len), *sig = malloc(ZB_SIG_LEN);
    if (!sth || !buf || !sig) {
        free(sth), free(buf), free(sig);
        return ZB_ENOMEM;
    }
    zb__tree_head__pack(&th, buf);
    if ((rc = zb_sign_tagged(ZB_TAG_TREE_HEAD, buf, len, id, sig))) {
        free(sth), free(buf), free(sig);
        return rc;
    }
    zb__signed_tree_head__init(sth);
    sth->tree_head = (ProtobufCBinaryData){len, buf};
    sth->signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    /* keep every head signed: auditors and nodes ask for proofs between them */
    uint8_t key[8];
    zb_be64_put(key, n);
    size_t plen = zb__signed_tree_head__get_packed_size(sth);
    MDB_val k = {8, key}, v = {plen, NULL};
    rc = zb_mdb_err(
        mdb_put(txn, t->heads, &k, &v, MDB_RESERVE));
    if (rc) {
        zb__signed_tree_head__free_unpacked(sth, NULL);
        return rc;
    }
    zb__signed_tree_head__pack(sth, v.mv_data);
    *out = sth;
    return ZB_OK;
}

int zb_tlog_entry(zb_tlog *t, MDB_txn *txn, uint64_t index, zb_leaf_kind *kind,
                  char county[ZB_COUNTY_LEN + 1], uint64_t *seq)
{
    uint8_t ik[8];
    zb_be64_put(ik, index);
    MDB_val k = {8, ik}, v;
    int rc = zb_mdb_err(mdb_get(txn, t->entries, &k, &v));
    if (rc)
        return rc;
    const uint8_t *p = v.mv_data;
    if (v.mv_size == ZB_COUNTY_LEN + 8) {
        *kind = ZB_LEAF_ENVELOPE;
    } else if (v.mv_size == 1 + ZB_COUNTY_LEN + 8 && p[0] >= ZB_LEAF_DOWNSTREAM &&
               p[0] <= ZB_LEAF_EVIDENCE) {
        *kind = (zb_leaf_kind)p[0];
        p++;
    } else {
        return ZB_EDECODE;
    }
    memcpy(county, p, ZB_COUNTY_LEN);
    county[ZB_COUNTY_LEN] = '\0';
    *seq = zb_be64_get(p + ZB_COUNTY_LEN);
    return ZB_OK;
}

/* Attach the cosignatures stored for head size n to sth (heap-built: freed
 * with it). */
static int attach_cosigs(zb_tlog *t, MDB_txn *txn, uint64_t n, Zb__SignedTreeHead *sth)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, t->cosigs, &cur));
    if (rc)
        return rc;
    uint8_t key[8];
    zb_be64_put(key, n);
    MDB_val k = {8, key}, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; r == 0 && k.mv_size == 8 + ZB_PK_LEN && memcmp(k.mv_data, key, 8) == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        Zb__Cosignature *c = zb__cosignature__unpack(NULL, v.mv_size, v.mv_data);
        if (!c) {
            rc = ZB_EDECODE;
            break;
        }
        Zb__Cosignature **grown =
            realloc(sth->cosignatures, (sth->n_cosignatures + 1) * sizeof *grown);
        if (!grown) {
            zb__cosignature__free_unpacked(c, NULL);
            rc = ZB_ENOMEM;
            break;
        }
        sth->cosignatures = grown;
        sth->cosignatures[sth->n_cosignatures++] = c;
    }
    if (rc == 0 && r != 0 && r != MDB_NOTFOUND)
        rc = zb_mdb_err(r);
    mdb_cursor_close(cur);
    return rc;
}

/* Unpack a stored head (stored without cosignatures) and attach its own. */
static int head_of_record(zb_tlog *t, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                          Zb__SignedTreeHead **out)
{
    *out = zb__signed_tree_head__unpack(NULL, v->mv_size, v->mv_data);
    if (!*out || k->mv_size != 8) {
        if (*out)
            zb__signed_tree_head__free_unpacked(*out, NULL);
        *out = NULL;
        return ZB_EDECODE;
    }
    int rc = attach_cosigs(t, txn, zb_be64_get(k->mv_data), *out);
    if (rc) {
        zb__signed_tree_head__free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}

int zb_tlog_head(zb_tlog *t, MDB_txn *txn, uint64_t n, Zb__SignedTreeHead **out)
{
    *out = NULL;
    uint8_t key[8];
    zb_be64_put(key, n);
    MDB_val k = {8, key}, v;
    int rc = zb_mdb_err(mdb_get(txn, t->heads, &k, &v));
    if (rc)
        return rc;
    return head_of_record(t, txn, &k, &v, out);
}

int zb_tlog_head_after(zb_tlog *t, MDB_txn *txn, uint64_t above, uint64_t upto,
                       Zb__SignedTreeHead **out)
{
    *out = NULL;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, t->heads, &cur));
    if (rc)
        return rc;
    uint8_t key[8];
    MDB_val k = {8, key}, v;
    /* the largest size <= upto */
    int mrc;
    if (upto == UINT64_MAX) {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    } else {
        zb_be64_put(key, upto + 1);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        mrc = mdb_cursor_get(cur, &k, &v, mrc == 0 ? MDB_PREV : MDB_LAST);
    }
    if (mrc == 0 && k.mv_size == 8 && zb_be64_get(k.mv_data) > above) {
        rc = head_of_record(t, txn, &k, &v, out);
    } else if (mrc == 0 || mrc == MDB_NOTFOUND) {
        /* none in (above, upto]: the smallest above it */
        if (above == UINT64_MAX) {
            rc = ZB_ENOTFOUND;
        } else {
            zb_be64_put(key, above + 1);
            k = (MDB_val){8, key};
            mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            rc = mrc == 0 ? head_of_record(t, txn, &k, &v, out) : zb_mdb_err(mrc);
        }
    } else {
        rc = zb_mdb_err(mrc);
    }
    mdb_cursor_close(cur);
    return rc;
}

int zb_tlog_latest_head(zb_tlog *t, MDB_txn *txn, Zb__SignedTreeHead **out)
{
    *out = NULL;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, t->heads, &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    rc = zb_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_LAST));
    if (rc == 0)
        rc = head_of_record(t, txn, &k, &v, out);
    mdb_cursor_close(cur);
    return rc;
}

int zb_tlog_add_cosignature(zb_tlog *t, MDB_txn *txn, const uint8_t agg_pk[ZB_PK_LEN],
                            uint64_t size, const Zb__Cosignature *c)
{
    uint8_t key[8 + ZB_PK_LEN];
    zb_be64_put(key, size);
    MDB_val k = {8, key}, v;
    int rc = zb_mdb_err(mdb_get(txn, t->heads, &k, &v));
    if (rc)
        return rc;
    Zb__SignedTreeHead *sth = zb__signed_tree_head__unpack(NULL, v.mv_size, v.mv_data);
    if (!sth)
        return ZB_EDECODE;
    zb_tree_head head;
    rc = zb_tree_head_verify(sth, agg_pk, &head);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    if (rc)
        return rc == ZB_EBADSIG ? ZB_EDECODE : rc; /* our own head: damaged */
    if ((rc = zb_cosig_verify(c, agg_pk, &head)))
        return rc;
    memcpy(key + 8, c->witness.data, ZB_PK_LEN);
    k = (MDB_val){sizeof key, key};
    if (mdb_get(txn, t->cosigs, &k, &v) == 0) {
        Zb__Cosignature *held = zb__cosignature__unpack(NULL, v.mv_size, v.mv_data);
        bool keep = held && held->timestamp <= c->timestamp;
        if (held)
            zb__cosignature__free_unpacked(held, NULL);
        if (keep)
            return ZB_OK;
    }
    size_t len = zb__cosignature__get_packed_size(c);
    v = (MDB_val){len, NULL};
    rc = zb_mdb_err(mdb_put(txn, t->cosigs, &k, &v, MDB_RESERVE));
    if (rc == 0)
        zb__cosignature__pack(c, v.mv_data);
    return rc;
}

int zb_tlog_witnessed_head_min(zb_tlog *t, MDB_txn *txn, uint64_t max_size, size_t min_cosigs,
                               Zb__SignedTreeHead **out)
{
    *out = NULL;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, t->cosigs, &cur));
    if (rc)
        return rc;
    /* from the last cosignature of a size <= max_size, backwards: the
     * cosignatures of one size are side by side */
    uint8_t key[8];
    zb_be64_put(key, max_size == UINT64_MAX ? max_size : max_size + 1);
    MDB_val k = {8, key}, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    r = r == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
    uint64_t size = UINT64_MAX, found = 0;
    bool have = false;
    size_t count = 0;
    for (int seen = 0; r == 0 && seen < 4096; seen++, r = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (k.mv_size != 8 + ZB_PK_LEN)
            continue;
        uint64_t s = zb_be64_get(k.mv_data);
        if (s > max_size)
            continue;
        count = s == size ? count + 1 : 1;
        size = s;
        if (count >= min_cosigs) { /* min_cosigs 0 or 1: the first one */
            found = s;
            have = true;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (r != 0 && r != MDB_NOTFOUND)
        return zb_mdb_err(r);
    if (!have)
        return ZB_ENOTFOUND;
    return zb_tlog_head(t, txn, found, out);
}

int zb_tlog_witnessed_head(zb_tlog *t, MDB_txn *txn, uint64_t max_size,
                           Zb__SignedTreeHead **out)
{
    return zb_tlog_witnessed_head_min(t, txn, max_size, 1, out);
}

int zb_tlog_witnessed_heads(zb_tlog *t, MDB_txn *txn,
                            int (*fn)(void *ctx, const Zb__SignedTreeHead *head), void *ctx)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, t->cosigs, &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    uint64_t last = UINT64_MAX;
    int r;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 + ZB_PK_LEN) {
            rc = ZB_EDECODE;
            break;
        }
        uint64_t size = zb_be64_get(k.mv_data);
        if (size == last)
            continue;
        last = size;
        Zb__SignedTreeHead *sth;
        if ((rc = zb_tlog_head(t, txn, size, &sth)))
            break;
        rc = fn(ctx, sth);
        zb__signed_tree_head__free_unpacked(sth, NULL);
    }
    if (rc == 0 && r != 0 && r != MDB_NOTFOUND)
        rc = zb_mdb_err(r);
    mdb_cursor_close(cur);
    return rc;
}

int zb_tlog_cosigned_by(zb_tlog *t, MDB_txn *txn, const uint8_t witness[ZB_PK_LEN],
                        uint64_t *size, int64_t *at)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, t->cosigs, &cur));
    if (rc)
        return rc;
    MDB_val k, v;
    int r;
    rc = ZB_ENOTFOUND;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_LAST); r == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (k.mv_size != 8 + ZB_PK_LEN ||
            memcmp((const uint8_t *)k.mv_data + 8, witness, ZB_PK_LEN) != 0)
            continue;
        Zb__Cosignature *c = zb__cosignature__unpack(NULL, v.mv_size, v.mv_data);
        if (!c) {
            rc = ZB_EDECODE;
            break;
        }
        *size = zb_be64_get(k.mv_data);
        *at = c->timestamp;
        zb__cosignature__free_unpacked(c, NULL);
        rc = ZB_OK;
        break;
    }
    if (r != 0 && r != MDB_NOTFOUND)
        rc = zb_mdb_err(r);
    mdb_cursor_close(cur);
    return rc;
}

int zb_tlog_witnessed_count(zb_tlog *t, MDB_txn *txn, uint64_t *heads, uint64_t *newest)
{
    *heads = 0;
    *newest = 0;
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, t->cosigs, &cur));
    if (rc)
        return rc;
    /* the keys say it all: size || witness, a head's cosignatures side by
     * side, ascending size */
    MDB_val k, v;
    int r;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 + ZB_PK_LEN) {
            rc = ZB_EDECODE;
            break;
        }
        uint64_t size = zb_be64_get(k.mv_data);
        if (*heads == 0 || size != *newest)
            ++*heads;
        *newest = size;
    }
    if (rc == 0 && r != MDB_NOTFOUND)
        rc = zb_mdb_err(r);
    mdb_cursor_close(cur);
    return rc;
}

/* A heap-built list of proof hashes as protobuf bytes fields. */
static int path_to_pb(uint8_t (*proof)[ZB_HASH_LEN], size_t count, ProtobufCBinaryData **out,
                      size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (count == 0)
        return ZB_OK;
    ProtobufCBinaryData *p = calloc(count, sizeof *p);
    if (!p)
        return ZB_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        p[i].data = malloc(ZB_HASH_LEN);
        if (!p[i].data) {
            for (size_t j = 0; j < i; j++)
                free(p[j].data);
            free(p);
            return ZB_ENOMEM;
        }
        memcpy(p[i].data, proof[i], ZB_HASH_LEN);
        p[i].len = ZB_HASH_LEN;
    }
    *out = p;
    *n_out = count;
    return ZB_OK;
}

static int make_inclusion(tlog_ctx *c, uint64_t n, uint64_t seq, uint64_t index,
                          Zb__InclusionProof **out)
{
    *out = NULL;
    uint8_t proof[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    size_t count;
    int rc = zb_merkle_inclusion_proof_src(subtree, c, n, index, proof, &count);
    if (rc)
        return rc;
    Zb__InclusionProof *p = malloc(sizeof *p);
    if (!p)
        return ZB_ENOMEM;
    zb__inclusion_proof__init(p);
    p->seq = seq;
    p->log_index = index;
    if ((rc = path_to_pb(proof, count, &p->path, &p->n_path))) {
        free(p);
        return rc;
    }
    *out = p;
    return ZB_OK;
}

int zb_tlog_make_inclusion(zb_tlog *t, MDB_txn *txn, uint64_t n, uint64_t seq, uint64_t index,
                           Zb__InclusionProof **out)
{
    tlog_ctx c = {t, txn, NULL};
    return make_inclusion(&c, n, seq, index, out);
}

int zb_tlog_make_inclusions(zb_tlog *t, MDB_txn *txn, uint64_t n, const uint64_t *seqs,
                            const uint64_t *indices, size_t count, Zb__InclusionProof **out,
                            size_t *made)
{
    *made = 0;
    tlog_ctx c = {t, txn, calloc(MEMO_SLOTS, sizeof(memo_slot))};
    if (!c.memo)
        return ZB_ENOMEM;
    int rc = ZB_OK;
    for (size_t i = 0; i < count && rc == 0; i++)
        if ((rc = make_inclusion(&c, n, seqs[i], indices[i], &out[i])) == 0)
            (*made)++;
    free(c.memo);
    return rc;
}

int zb_tlog_make_consistency(zb_tlog *t, MDB_txn *txn, uint64_t old_size, uint64_t new_size,
                             Zb__ConsistencyProof **out)
{
    *out = NULL;
    uint8_t proof[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    size_t count;
    int rc = zb_tlog_consistency(t, txn, new_size, old_size, proof, &count);
    if (rc)
        return rc;
    Zb__ConsistencyProof *p = malloc(sizeof *p);
    if (!p)
        return ZB_ENOMEM;
    zb__consistency_proof__init(p);
    p->old_size = old_size;
    p->new_size = new_size;
    if ((rc = path_to_pb(proof, count, &p->path, &p->n_path))) {
        free(p);
        return rc;
    }
    *out = p;
    return ZB_OK;
}
