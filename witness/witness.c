/* witness.c - see witness.h. */
#include "witness.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cosig.h"
#include "err.h"
#include "log.h"
#include "treehead.h"
#include "zhibao.pb-c.h"

struct zb_witness {
    zb_wstore *store;
    zb_identity id; /* sk zeroed when readonly */
    bool readonly;
};

/* ------------------------------------------------------------ lifecycle */

static int put_key(void *ctx, MDB_txn *txn)
{
    void **a = ctx;
    return zb_wstore_witness_key_put(a[0], txn, a[1]);
}

int zb_witness_create(const char *dir, uint8_t pk[ZB_PK_LEN])
{
    char kp[4096];
    if (snprintf(kp, sizeof kp, "%s/" ZB_IDENTITY_FILE, dir) >= (int)sizeof kp)
        return ZB_EINVAL;
    struct stat st;
    if (stat(kp, &st) == 0)
        return ZB_EEXIST;
    zb_wstore *s = NULL;
    int rc = zb_wstore_open(&s, dir, true, false);
    if (rc)
        return rc;
    zb_identity id;
    zb_identity_generate(&id);
    MDB_txn *txn;
    if ((rc = zb_wstore_read_begin(s, &txn)) == 0) { /* a key recorded: not ours to replace */
        uint8_t old[ZB_PK_LEN];
        rc = zb_wstore_witness_key_get(s, txn, old) == 0 ? ZB_EEXIST : 0;
        mdb_txn_abort(txn);
    }
    /* the key file first, then the store's record of it: a crash between
     * leaves a file init refuses to overwrite, never a store whose key is lost */
    if (rc == 0)
        rc = zb_identity_save(kp, &id);
    if (rc == 0) {
        void *ctx[2] = {s, id.pk};
        if ((rc = zb_wstore_write(s, put_key, ctx)))
            unlink(kp);
    }
    if (rc == 0)
        memcpy(pk, id.pk, ZB_PK_LEN);
    zb_identity_wipe(&id);
    zb_wstore_close(&s);
    return rc;
}

int zb_witness_open(zb_witness **out, const char *dir, bool readonly)
{
    *out = NULL;
    zb_witness *w = calloc(1, sizeof *w);
    if (!w)
        return ZB_ENOMEM;
    w->readonly = readonly;
    int rc = zb_wstore_open(&w->store, dir, false, readonly);
    MDB_txn *txn;
    if (rc == 0 && (rc = zb_wstore_read_begin(w->store, &txn)) == 0) {
        rc = zb_wstore_witness_key_get(w->store, txn, w->id.pk);
        mdb_txn_abort(txn);
        if (rc)
            rc = ZB_ECONFIG;
    }
    if (rc == 0 && !readonly) {
        uint8_t pk[ZB_PK_LEN];
        memcpy(pk, w->id.pk, ZB_PK_LEN);
        rc = zb_identity_load_dir(dir, pk, &w->id);
    }
    if (rc) {
        zb_witness_close(&w);
        return rc;
    }
    *out = w;
    return ZB_OK;
}

void zb_witness_close(zb_witness **wp)
{
    if (!wp || !*wp)
        return;
    zb_wstore_close(&(*wp)->store);
    zb_identity_wipe(&(*wp)->id);
    free(*wp);
    *wp = NULL;
}

const uint8_t *zb_witness_key(const zb_witness *w)
{
    return w->id.pk;
}
const zb_identity *zb_witness_identity(const zb_witness *w)
{
    return w->readonly ? NULL : &w->id;
}
zb_wstore *zb_witness_store(zb_witness *w)
{
    return w->store;
}

typedef struct {
    zb_wstore *s;
    const uint8_t *key;
    const char *name;
    bool was_new;
} add_ctx;

static int add_log(void *ctx, MDB_txn *txn)
{
    add_ctx *a = ctx;
    return zb_wstore_log_add(a->s, txn, a->key, a->name, &a->was_new);
}

int zb_witness_add_log(zb_witness *w, const uint8_t agg[ZB_PK_LEN], const char *name, bool *was_new)
{
    if (strlen(name) > ZB_WLOG_NAME_MAX)
        return ZB_EINVAL;
    add_ctx a = {w->store, agg, name, false};
    int rc = zb_wstore_write(w->store, add_log, &a);
    *was_new = a.was_new;
    return rc;
}

/* ------------------------------------------------------------ requests */

/* A request that passed rule a, and the decision taken on it inside the
 * write transaction (redone from scratch when the transaction is retried). */
typedef struct {
    zb_witness *w;
    const uint8_t *req; /* as received */
    size_t req_len;
    const Zb__WitnessRequest *msg;
    const uint8_t *sth; /* the head packed without cosignatures */
    size_t sth_len;
    zb_tree_head head;
    const uint8_t *agg;
    int64_t now;
    /* out */
    zb_witness_outcome *o;
    int64_t cosig_time;
    uint8_t cosig[ZB_SIG_LEN];
} decide_ctx;

/* Rules b-g, in one write transaction. */
static int decide(void *vctx, MDB_txn *txn)
{
    decide_ctx *c = vctx;
    zb_witness_outcome *o = c->o;
    zb_wstore *s = c->w->store;
    o->fresh = o->new_evidence = o->have_log = false;
    o->evidence_kind = 0;
    o->reason[0] = '\0';
    zb_wlog log;
    int rc = zb_wstore_log_get(s, txn, c->agg, &log);
    if (rc == ZB_ENOTFOUND) { /* b */
        o->status = ZB__WITNESS_STATUS__UNKNOWN_LOG;
        return ZB_OK;
    }
    if (rc)
        return rc;
    o->have_log = true;
    o->held_size = log.size;
    const zb_tree_head *h = &c->head;
    const Zb__ConsistencyProof *p = c->msg->consistency;
    bool cosign = false;
    int kind = ZB_WEVIDENCE_UNPROVEN_EXTENSION;
    if (h->size < log.size) { /* c: behind, or replayed; proves nothing */
        o->status = ZB__WITNESS_STATUS__CONFLICT;
        snprintf(o->reason, sizeof o->reason,
                 "smaller than the head this witness cosigned (size %" PRIu64 ")", log.size);
        return ZB_OK;
    } else if (h->size == log.size) { /* d */
        if (memcmp(h->root, log.root, ZB_HASH_LEN) != 0) {
            kind = ZB_WEVIDENCE_FORK;
            snprintf(o->reason, sizeof o->reason,
                     "same size as the head this witness cosigned, different root");
        } else if (log.cosigned) {
            o->status = ZB__WITNESS_STATUS__COSIGNED;
            c->cosig_time = o->timestamp = log.cosigned_at;
            memcpy(c->cosig, log.signature, ZB_SIG_LEN);
            return ZB_OK;
        } else {
            cosign = true; /* the empty tree, first time */
        }
    } else if (log.size == 0) { /* e: nothing held, nothing to be consistent with */
        cosign = true;
    } else if (!p || p->old_size != log.size || p->new_size != h->size) {
        o->status = ZB__WITNESS_STATUS__CONFLICT;
        if (!p)
            snprintf(o->reason, sizeof o->reason,
                     "no consistency proof: this witness holds size %" PRIu64, log.size);
        else
            snprintf(o->reason, sizeof o->reason,
                     "proof from size %" PRIu64 " to %" PRIu64 ": this witness holds size %" PRIu64
                     ", the head has %" PRIu64,
                     p->old_size, p->new_size, log.size, h->size);
        return ZB_OK;
    } else {
        zb_tree_head held = {.size = log.size, .timestamp = 0};
        memcpy(held.root, log.root, ZB_HASH_LEN);
        if (zb_consistency_verify_pb(p, &held, h) == 0)
            cosign = true;
        else
            snprintf(o->reason, sizeof o->reason,
                     "the consistency proof from size %" PRIu64 " does not verify", log.size);
    }

    if (!cosign) { /* REFUSED: evidence (once per head), and counted */
        o->status = ZB__WITNESS_STATUS__REFUSED;
        o->evidence_kind = kind;
        zb_wevidence ev = {.kind = kind,
                           .size = h->size,
                           .head_time = h->timestamp,
                           .held_size = log.size,
                           .at = c->now,
                           .reason = o->reason,
                           .request = c->req,
                           .request_len = c->req_len,
                           .held_sth = log.sth,
                           .held_sth_len = log.sth_len};
        memcpy(ev.key, c->agg, ZB_PK_LEN);
        memcpy(ev.root, h->root, ZB_HASH_LEN);
        memcpy(ev.held_root, log.root, ZB_HASH_LEN);
        return zb_wstore_refusal_put(s, txn, &ev, &o->new_evidence);
    }

    /* f: never earlier than what this witness gave this log before */
    int64_t ts = c->now;
    if (log.cosigned && log.cosigned_at > ts)
        ts = log.cosigned_at;
    if ((rc = zb_cosig_sign(&c->w->id, c->agg, h, ts, c->cosig)))
        return rc;
    zb_wlog next = log;
    next.size = h->size;
    memcpy(next.root, h->root, ZB_HASH_LEN);
    next.cosigned = true;
    next.cosigned_at = ts;
    memcpy(next.signature, c->cosig, ZB_SIG_LEN);
    next.sth = c->sth;
    next.sth_len = c->sth_len;
    if ((rc = zb_wstore_log_put_state(s, txn, &next)))
        return rc;
    o->status = ZB__WITNESS_STATUS__COSIGNED;
    o->fresh = true;
    c->cosig_time = o->timestamp = ts;
    return ZB_OK;
}

/* Rule a: 0 with the request's parts filled in, or a reason. */
static int check_request(const Zb__WitnessRequest *m, Zb__TreeHead **th, zb_tree_head *head,
                         char *reason, size_t rlen)
{
    const Zb__SignedTreeHead *sth = m->tree_head;
    if (sth->signature.len != ZB_SIG_LEN) {
        snprintf(reason, rlen, "tree head signature is %zu bytes, not %d", sth->signature.len,
                 ZB_SIG_LEN);
        return ZB_EDECODE;
    }
    *th = zb__tree_head__unpack(NULL, sth->tree_head.len, sth->tree_head.data);
    if (!*th) {
        snprintf(reason, rlen, "undecodable TreeHead");
        return ZB_EDECODE;
    }
    if ((*th)->aggregator.len != ZB_PK_LEN || (*th)->root.len != ZB_HASH_LEN) {
        snprintf(reason, rlen, "tree head %s is %zu bytes, not %d",
                 (*th)->root.len != ZB_HASH_LEN ? "root" : "aggregator key",
                 (*th)->root.len != ZB_HASH_LEN ? (*th)->root.len : (*th)->aggregator.len, 32);
        return ZB_EDECODE;
    }
    if (zb_tree_head_verify(sth, (*th)->aggregator.data, head) != 0) {
        snprintf(reason, rlen,
                 "the tree head's signature does not verify under its "
                 "aggregator key");
        return ZB_EBADSIG;
    }
    const Zb__ConsistencyProof *p = m->consistency;
    if (p) {
        if (p->n_path > ZB_MERKLE_MAX_PROOF) {
            snprintf(reason, rlen, "consistency proof of %zu hashes (at most %d)", p->n_path,
                     ZB_MERKLE_MAX_PROOF);
            return ZB_EDECODE;
        }
        for (size_t i = 0; i < p->n_path; i++)
            if (p->path[i].len != ZB_HASH_LEN) {
                snprintf(reason, rlen, "consistency proof hash %zu is %zu bytes, not 32", i,
                         p->path[i].len);
                return ZB_EDECODE;
            }
    }
    return ZB_OK;
}

/* The response for o, packed. */
static int respond(const zb_witness *w, const zb_witness_outcome *o, const decide_ctx *c,
                   uint8_t **resp, size_t *resp_len)
{
    Zb__WitnessResponse r = ZB__WITNESS_RESPONSE__INIT;
    Zb__Cosignature cs = ZB__COSIGNATURE__INIT;
    r.status = (Zb__WitnessStatus)o->status;
    if (o->status == ZB__WITNESS_STATUS__COSIGNED) {
        cs.witness = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)w->id.pk};
        cs.timestamp = c->cosig_time;
        cs.signature = (ProtobufCBinaryData){ZB_SIG_LEN, (uint8_t *)c->cosig};
        r.cosignature = &cs;
    }
    if (o->status == ZB__WITNESS_STATUS__CONFLICT || o->status == ZB__WITNESS_STATUS__REFUSED) {
        r.has_size = 1;
        r.size = o->held_size;
    }
    if (o->reason[0])
        r.reason = (char *)o->reason;
    size_t n = zb__witness_response__get_packed_size(&r);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return ZB_ENOMEM;
    *resp_len = zb__witness_response__pack(&r, buf);
    *resp = buf;
    return ZB_OK;
}

int zb_witness_handle(zb_witness *w, const uint8_t *req, size_t len, int64_t now, uint8_t **resp,
                      size_t *resp_len, zb_witness_outcome *outcome)
{
    return zb_witness_handle_from(w, NULL, req, len, now, resp, resp_len, outcome);
}

int zb_witness_handle_from(zb_witness *w, const uint8_t peer[ZB_PK_LEN], const uint8_t *req,
                           size_t len, int64_t now, uint8_t **resp, size_t *resp_len,
                           zb_witness_outcome *outcome)
{
    *resp = NULL;
    *resp_len = 0;
    if (w->readonly)
        return ZB_EINVAL;
    zb_witness_outcome local;
    zb_witness_outcome *o = outcome ? outcome : &local;
    memset(o, 0, sizeof *o);
    decide_ctx c = {.w = w, .req = req, .req_len = len, .now = now, .o = o};
    Zb__WitnessRequest *m = NULL;
    Zb__TreeHead *th = NULL;
    uint8_t *sth_buf = NULL;
    int rc = ZB_OK;
    o->status = ZB__WITNESS_STATUS__BAD_REQUEST;
    if (len > ZB_WITNESS_REQUEST_MAX) {
        snprintf(o->reason, sizeof o->reason, "request of %zu bytes (at most %u)", len,
                 (unsigned)ZB_WITNESS_REQUEST_MAX);
    } else if (!(m = zb__witness_request__unpack(NULL, len, req))) {
        snprintf(o->reason, sizeof o->reason, "undecodable WitnessRequest");
    } else if (check_request(m, &th, &c.head, o->reason, sizeof o->reason) != 0) {
        /* the reason is set */
    } else if (peer && memcmp(peer, th->aggregator.data, ZB_PK_LEN) != 0) {
        /* a followed log's aggregator speaks for its own log only: it
         * cannot attach a bad proof to another prefecture's public head */
        char head_key[2 * ZB_PK_LEN + 1], peer_key[2 * ZB_PK_LEN + 1];
        zb_hex_encode(th->aggregator.data, ZB_PK_LEN, head_key);
        zb_hex_encode(peer, ZB_PK_LEN, peer_key);
        snprintf(o->reason, sizeof o->reason,
                 "a head of log %.16s on a connection authenticated as log %.16s", head_key,
                 peer_key);
    } else {
        o->size = c.head.size;
        memcpy(o->log, th->aggregator.data, ZB_PK_LEN);
        c.agg = o->log;
        c.msg = m;
        /* what is kept is the head as the aggregator signed it: the
         * cosignatures the sender attached are not part of it */
        Zb__SignedTreeHead bare = ZB__SIGNED_TREE_HEAD__INIT;
        bare.tree_head = m->tree_head->tree_head;
        bare.signature = m->tree_head->signature;
        c.sth_len = zb__signed_tree_head__get_packed_size(&bare);
        if (!(sth_buf = malloc(c.sth_len))) {
            rc = ZB_ENOMEM;
            goto done;
        }
        zb__signed_tree_head__pack(&bare, sth_buf);
        c.sth = sth_buf;
        if ((rc = zb_wstore_write(w->store, decide, &c)))
            goto done;
    }
    rc = respond(w, o, &c, resp, resp_len);
done:
    free(sth_buf);
    if (th)
        zb__tree_head__free_unpacked(th, NULL);
    if (m)
        zb__witness_request__free_unpacked(m, NULL);
    return rc;
}

void zb_witness_log_outcome(const zb_witness_outcome *o)
{
    char key[2 * ZB_PK_LEN + 1];
    zb_hex_encode(o->log, ZB_PK_LEN, key);
    key[16] = '\0';
    switch (o->status) {
    case ZB__WITNESS_STATUS__COSIGNED:
        if (o->fresh)
            ZB_INFO("ZB-WIT-COSIGN",
                    "log %s: cosigned size %" PRIu64 " (held %" PRIu64 ") at %" PRId64, key,
                    o->size, o->held_size, o->timestamp);
        else
            ZB_DEBUG("ZB-WIT-COSIGN",
                     "log %s: size %" PRIu64 " cosigned before: the same "
                     "cosignature again",
                     key, o->size);
        break;
    case ZB__WITNESS_STATUS__REFUSED:
        ZB_ERR("ZB-WIT-REFUSED",
               "log %s: head of size %" PRIu64 " refused (held %" PRIu64 "): %s (evidence of kind "
               "%s %s)",
               key, o->size, o->held_size, o->reason, zb_wevidence_kind_name(o->evidence_kind),
               o->new_evidence ? "kept" : "already kept");
        break;
    case ZB__WITNESS_STATUS__CONFLICT:
        if (o->size < o->held_size)
            ZB_WARN("ZB-WIT-CONFLICT",
                    "log %s: head of size %" PRIu64 ": %s: the aggregator is behind (a restored "
                    "store?) or an old head was replayed; not cosigned",
                    key, o->size, o->reason);
        else
            ZB_INFO("ZB-WIT-CONFLICT", "log %s: head of size %" PRIu64 ": %s", key, o->size,
                    o->reason);
        break;
    case ZB__WITNESS_STATUS__UNKNOWN_LOG:
        ZB_WARN("ZB-WIT-UNKNOWN", "log %s: not followed (zhibao-witness add-log)", key);
        break;
    default: ZB_WARN("ZB-WIT-BADREQ", "bad request: %s", o->reason); break;
    }
}
