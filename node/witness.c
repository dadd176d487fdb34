/*
 * witness.c - the node's witness quorum (node.h, "witnesses"): which
 * accepted tree heads are final because witnesses the county trusts
 * cosigned a head they are a prefix of.
 *
 * Why a chain walk: the node accepts each head with a consistency proof
 * from an earlier accepted one (head_proofs), so every head on the chain
 * of admission below an accepted head A is a prefix of A. A witnessed head
 * W proven a prefix of A (or A itself) therefore has, as its own prefixes,
 * exactly the heads on A's chain of size <= W's size.
 */
#include "node.h"

#include <inttypes.h>
#include <string.h>

#include "err.h"
#include "log.h"

static MDB_dbi db(zb_node *n, int which)
{
    return zb_store_dbi(zb_node_store(n), (size_t)which);
}

int zb_node_witnessing_get(zb_node *n, MDB_txn *txn, zb_node_witnessing *w)
{
    memset(w, 0, sizeof *w);
    MDB_dbi meta = db(n, NODE_DB_META);
    MDB_val k = {strlen("witness_keys"), "witness_keys"}, v;
    int rc = mdb_get(txn, meta, &k, &v);
    if (rc == 0) {
        if (v.mv_size % ZB_PK_LEN || v.mv_size / ZB_PK_LEN > ZB_WITNESS_MAX)
            return ZB_EDECODE;
        w->n_keys = v.mv_size / ZB_PK_LEN;
        memcpy(w->keys, v.mv_data, v.mv_size);
    } else if (rc != MDB_NOTFOUND) {
        return zb_mdb_err(rc);
    }
    /* absent: 0; a record that cannot be read is an error, never quorum 0
     * (that would take every head as final) */
    if ((rc = zb_store_get_u64(txn, meta, "witness_quorum", &w->quorum, 0)) && rc != ZB_ENOTFOUND)
        return rc;
    if ((rc = zb_store_get_u64(txn, meta, "witnessed_size", &w->witnessed_size, 0)) &&
        rc != ZB_ENOTFOUND)
        return rc;
    if (w->quorum > w->n_keys)
        return ZB_EDECODE;
    return ZB_OK;
}

int zb_node_set_witnesses(zb_node *n, const uint8_t (*keys)[ZB_PK_LEN], size_t n_keys,
                          uint64_t quorum)
{
    if (n_keys > ZB_WITNESS_MAX || quorum > n_keys)
        return ZB_EINVAL;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), false, &txn);
    if (rc)
        return rc;
    MDB_dbi meta = db(n, NODE_DB_META);
    MDB_val k = {strlen("witness_keys"), "witness_keys"}, v = {n_keys * ZB_PK_LEN, (void *)keys};
    rc = zb_mdb_err(n_keys ? mdb_put(txn, meta, &k, &v, 0) : mdb_del(txn, meta, &k, NULL));
    if (rc == ZB_ENOTFOUND)
        rc = ZB_OK;
    /* other witnesses, another quorum: what was final under the old ones
     * is judged again from the next sync on */
    if (rc == 0)
        rc = zb_mdb_err(mdb_drop(txn, db(n, NODE_DB_FINAL_HEADS), 0));
    if (rc == 0)
        rc = zb_store_put_u64(txn, meta, "witnessed_size", 0);
    if (rc == 0)
        rc = zb_store_put_u64(txn, meta, "witness_quorum", quorum);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return zb_node_commit_(n, txn);
}

bool zb_node_head_final(zb_node *n, MDB_txn *txn, uint64_t size)
{
    uint64_t quorum = 0;
    int rc = zb_store_get_u64(txn, db(n, NODE_DB_META), "witness_quorum", &quorum, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return false; /* the quorum cannot be read: nothing is taken as final */
    if (quorum == 0)
        return true;
    uint8_t key[8];
    zb_be64_put(key, size);
    MDB_val k = {8, key}, v;
    return mdb_get(txn, db(n, NODE_DB_FINAL_HEADS), &k, &v) == 0;
}

/* Whether sth, already verified and decoded as head, carries the quorum
 * of valid cosignatures of w's witnesses. */
static bool has_quorum(zb_node *n, const zb_node_witnessing *w, const Zb__SignedTreeHead *sth,
                       const zb_tree_head *head, size_t *valid)
{
    zb_cosig_tally t;
    zb_cosig_tally_head(sth, zb_node_aggregator_key(n), head, (const uint8_t(*)[ZB_PK_LEN])w->keys,
                        w->n_keys, &t);
    *valid = t.valid;
    if (t.invalid)
        ZB_WARN("ZB-SYNC-COSIG",
                "county %s: %zu cosignature(s) on tree head %" PRIu64
                " claim one of this node's witnesses and do not verify",
                zb_node_county_(n), t.invalid, head->size);
    return t.valid >= w->quorum;
}

/* Mark final every head on anchor's chain of admission of size <= upto. */
static int mark_final(zb_node *n, MDB_txn *txn, uint64_t anchor, uint64_t upto)
{
    uint64_t size = anchor;
    for (;;) {
        uint8_t key[8];
        zb_be64_put(key, size);
        MDB_val k = {8, key}, v;
        if (size <= upto) {
            if (mdb_get(txn, db(n, NODE_DB_FINAL_HEADS), &k, &v) == 0)
                return ZB_OK; /* and all below it on its chain, since */
            MDB_val empty = {0, NULL};
            int rc = zb_mdb_err(mdb_put(txn, db(n, NODE_DB_FINAL_HEADS), &k, &empty, 0));
            if (rc)
                return rc;
        }
        /* the head it was admitted from */
        if (mdb_get(txn, db(n, NODE_DB_HEAD_PROOFS), &k, &v) != 0)
            return ZB_OK; /* the first head: the chain ends */
        Zb__ConsistencyProof *cp = zb__consistency_proof__unpack(NULL, v.mv_size, v.mv_data);
        if (!cp)
            return ZB_EDECODE;
        uint64_t older = cp->old_size;
        zb__consistency_proof__free_unpacked(cp, NULL);
        if (older >= size)
            return ZB_EDECODE;
        size = older;
    }
}

int zb_node_take_witnessed(zb_node *n, const Zb__SignedTreeHead *head,
                           const Zb__SignedTreeHead *witnessed, const Zb__ConsistencyProof *proof)
{
    /* without a quorum there is nothing to do: no write transaction (it
     * would hold up a submit) on every Welcome */
    if (!head || zb_node_witness_quorum(n) == 0)
        return ZB_OK;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), false, &txn);
    if (rc)
        return rc;
    zb_node_witnessing w;
    zb_tree_head h, wh;
    size_t valid = 0;
    const Zb__SignedTreeHead *taken = NULL;
    if ((rc = zb_node_witnessing_get(n, txn, &w)) || w.quorum == 0 ||
        zb_tree_head_verify(head, zb_node_aggregator_key(n), &h) != 0 ||
        !zb_node_head_accepted_(n, txn, &h)) {
        mdb_txn_abort(txn);
        return rc;
    }
    if (has_quorum(n, &w, head, &h, &valid)) { /* h: verified above */
        taken = head;
        wh = h;
    } else if (witnessed && proof &&
               zb_tree_head_verify(witnessed, zb_node_aggregator_key(n), &wh) == 0 &&
               has_quorum(n, &w, witnessed, &wh, &valid)) {
        /* zb_consistency_verify_pb checks the proof's sizes are the heads' */
        if (wh.size >= h.size || zb_consistency_verify_pb(proof, &wh, &h) != 0) {
            ZB_WARN("ZB-SYNC-COSIG",
                    "county %s: witnessed head %" PRIu64 " is not proven a "
                    "prefix of the aggregator's head %" PRIu64 ": ignored",
                    zb_node_county_(n), wh.size, h.size);
        } else {
            taken = witnessed;
        }
    } else {
        ZB_DEBUG("ZB-SYNC-COSIG",
                 "county %s: no head with %" PRIu64 " cosignature(s) of this "
                 "node's witnesses yet (tree head %" PRIu64 ")",
                 zb_node_county_(n), w.quorum, h.size);
    }
    if (taken && wh.size > w.witnessed_size) {
        uint8_t key[8];
        zb_be64_put(key, wh.size);
        size_t len = zb__signed_tree_head__get_packed_size(taken);
        MDB_val k = {8, key}, v = {len, NULL};
        if ((rc = mark_final(n, txn, h.size, wh.size)) == 0 &&
            (rc = zb_mdb_err(mdb_put(txn, db(n, NODE_DB_WITNESSED), &k, &v, MDB_RESERVE))) == 0) {
            zb__signed_tree_head__pack(taken, v.mv_data);
            rc = zb_store_put_u64(txn, db(n, NODE_DB_META), "witnessed_size", wh.size);
        }
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
        ZB_INFO("ZB-SYNC-WITNESSED",
                "county %s: the log up to size %" PRIu64 " is witnessed "
                "(%zu cosignature(s), quorum %" PRIu64 ")",
                zb_node_county_(n), wh.size, valid, w.quorum);
        return zb_node_commit_(n, txn);
    }
    mdb_txn_abort(txn);
    return ZB_OK;
}

static int count_unwitnessed(void *ctx, const zb_node_receipt *r)
{
    if (r->verify == 0 && !r->witnessed)
        ++*(uint64_t *)ctx;
    return 0;
}

int zb_node_witness_summary(zb_node *n, zb_node_witnessing *w, uint64_t *unwitnessed_receipts)
{
    *unwitnessed_receipts = 0;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), true, &txn);
    if (rc)
        return rc;
    rc = zb_node_witnessing_get(n, txn, w);
    mdb_txn_abort(txn);
    if (rc == 0 && w->quorum > 0)
        rc = zb_node_each_receipt(n, count_unwitnessed, unwitnessed_receipts);
    return rc;
}

int zb_node_witness_pending(zb_node *n, bool *pending)
{
    *pending = false;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), true, &txn);
    if (rc)
        return rc;
    zb_node_witnessing w;
    if ((rc = zb_node_witnessing_get(n, txn, &w)) == 0 && w.quorum > 0) {
        uint64_t newest = zb_node_tree_size(n, txn);
        *pending = newest > 0 && !zb_node_head_final(n, txn, newest);
    }
    mdb_txn_abort(txn);
    return rc;
}

uint32_t zb_node_witness_quorum(zb_node *n)
{
    MDB_txn *txn;
    if (zb_store_begin(zb_node_store(n), true, &txn) != 0)
        return 0;
    zb_node_witnessing w;
    uint32_t q = zb_node_witnessing_get(n, txn, &w) == 0 ? (uint32_t)w.quorum : 0;
    mdb_txn_abort(txn);
    return q;
}
