/*
 * test_witness.c - witness/: zb_witness_handle's rules (witness.h) on a
 * real LMDB store, with heads signed by a real aggregator-like identity
 * over real Merkle trees (common/merkle), and every cosignature returned
 * checked with zb_cosig_verify; evidence kinds, and records of release 1
 * (without a kind) read back. The ZAP handler (wzap.h) on real loopback
 * sockets: an unknown CURVE key is refused, a log's own key admitted with
 * its User-Id, a log added while it runs admitted at once. The daemon's
 * loop is tests/system/witness_crash.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "merkle.h"
#include "store.h"
#include "treehead.h"
#include "witness.h"
#include "wstore.h"
#include "wzap.h"
#include "zhibao.pb-c.h"

#define MAX_LEAVES 64
#define T0         1760000000 /* 2025-10-09, witness clock in the tests */

typedef uint8_t hash_t[ZB_HASH_LEN];

/* An aggregator's log, in memory: its key and its leaves. */
typedef struct {
    zb_identity id;
    hash_t leaves[MAX_LEAVES];
} agg_log;

typedef struct {
    char dir[512];
    zb_witness *w;
    uint8_t wpk[ZB_PK_LEN];
    agg_log agg, fork; /* fork: same key, leaves from 4 on differ */
} fixture;

static void log_init(agg_log *l, const zb_identity *id, uint8_t salt, size_t diverge_at)
{
    l->id = *id;
    for (size_t i = 0; i < MAX_LEAVES; i++) {
        uint8_t entry[9] = {(uint8_t)i, (uint8_t)(i >> 8), 0x5a};
        entry[8] = i >= diverge_at ? salt : 0;
        zb_merkle_leaf_hash(entry, sizeof entry, l->leaves[i]);
    }
}

static void head_of(const agg_log *l, uint64_t size, zb_tree_head *h)
{
    h->size = size;
    h->timestamp = T0 - 100 + (int64_t)size;
    zb_merkle_root_of_leaves((const hash_t *)l->leaves, size, h->root);
}

/* A packed WitnessRequest for l's head at size, with PROOF(old, size)
 * when old > 0 (old == size: the empty proof), signed by sign_with
 * (the log's key unless a test forges), root bytes root_len long. */
static uint8_t *request_ex(const agg_log *l, uint64_t size, uint64_t old, bool with_proof,
                           const zb_identity *sign_with, size_t root_len, bool add_cosig,
                           size_t *len)
{
    zb_tree_head h;
    head_of(l, size, &h);
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    uint8_t root[ZB_HASH_LEN + 1] = {0};
    memcpy(root, h.root, ZB_HASH_LEN);
    th.size = size;
    th.root = (ProtobufCBinaryData){root_len, root};
    th.timestamp = h.timestamp;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)l->id.pk};
    uint8_t thb[256], sig[ZB_SIG_LEN];
    size_t thn = zb__tree_head__pack(&th, thb);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, thb, thn, sign_with, sig), 0);
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){thn, thb};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    Zb__Cosignature junk = ZB__COSIGNATURE__INIT, *junkp = &junk;
    uint8_t zeros[ZB_SIG_LEN] = {0};
    if (add_cosig) { /* the witness must ignore it, and not keep it */
        junk.witness = (ProtobufCBinaryData){ZB_PK_LEN, zeros};
        junk.signature = (ProtobufCBinaryData){ZB_SIG_LEN, zeros};
        sth.n_cosignatures = 1;
        sth.cosignatures = &junkp;
    }
    Zb__WitnessRequest req = ZB__WITNESS_REQUEST__INIT;
    req.tree_head = &sth;
    Zb__ConsistencyProof cp = ZB__CONSISTENCY_PROOF__INIT;
    hash_t proof[ZB_MERKLE_MAX_PROOF];
    ProtobufCBinaryData path[ZB_MERKLE_MAX_PROOF];
    if (with_proof) {
        size_t n = 0;
        if (old > 0 && old <= size)
            assert_int_equal(
                zb_merkle_consistency_proof((const hash_t *)l->leaves, size, old, proof, &n), 0);
        for (size_t i = 0; i < n; i++)
            path[i] = (ProtobufCBinaryData){ZB_HASH_LEN, proof[i]};
        cp.old_size = old;
        cp.new_size = size;
        cp.n_path = n;
        cp.path = path;
        req.consistency = &cp;
    }
    *len = zb__witness_request__get_packed_size(&req);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    zb__witness_request__pack(&req, buf);
    return buf;
}

static uint8_t *request(const agg_log *l, uint64_t size, uint64_t old, size_t *len)
{
    return request_ex(l, size, old, old > 0, &l->id, ZB_HASH_LEN, false, len);
}

/* Send bytes; the decoded response (free with zb__witness_response__free_unpacked). */
static Zb__WitnessResponse *send_bytes(fixture *f, const uint8_t *req, size_t len, int64_t now)
{
    uint8_t *resp;
    size_t resp_len;
    zb_witness_outcome o;
    assert_int_equal(zb_witness_handle(f->w, req, len, now, &resp, &resp_len, &o), 0);
    Zb__WitnessResponse *r = zb__witness_response__unpack(NULL, resp_len, resp);
    free(resp);
    assert_non_null(r);
    assert_int_equal((int)r->status, o.status);
    return r;
}

static Zb__WitnessResponse *send_req(fixture *f, const agg_log *l, uint64_t size, uint64_t old,
                                     int64_t now)
{
    size_t len;
    uint8_t *req = request(l, size, old, &len);
    Zb__WitnessResponse *r = send_bytes(f, req, len, now);
    free(req);
    return r;
}

/* The response must be COSIGNED with a cosignature by this witness that
 * verifies for l's head at size; returns its timestamp. */
static int64_t expect_cosigned(const fixture *f, Zb__WitnessResponse *r, const agg_log *l,
                               uint64_t size, uint8_t sig_out[ZB_SIG_LEN])
{
    assert_int_equal(r->status, ZB__WITNESS_STATUS__COSIGNED);
    assert_non_null(r->cosignature);
    assert_memory_equal(r->cosignature->witness.data, f->wpk, ZB_PK_LEN);
    zb_tree_head h;
    head_of(l, size, &h);
    assert_int_equal(zb_cosig_verify(r->cosignature, l->id.pk, &h), 0);
    /* and it is bound to this head: another size or root does not verify */
    zb_tree_head other = h;
    other.root[0] ^= 1;
    assert_int_equal(zb_cosig_verify(r->cosignature, l->id.pk, &other), ZB_EBADSIG);
    if (sig_out)
        memcpy(sig_out, r->cosignature->signature.data, ZB_SIG_LEN);
    int64_t ts = r->cosignature->timestamp;
    zb__witness_response__free_unpacked(r, NULL);
    return ts;
}

static void expect_status(Zb__WitnessResponse *r, int status, int64_t size)
{
    assert_int_equal(r->status, status);
    assert_null(r->cosignature);
    if (size >= 0) {
        assert_true(r->has_size);
        assert_int_equal(r->size, (uint64_t)size);
    }
    if (status == ZB__WITNESS_STATUS__REFUSED || status == ZB__WITNESS_STATUS__BAD_REQUEST)
        assert_true(r->reason && r->reason[0]);
    zb__witness_response__free_unpacked(r, NULL);
}

typedef struct {
    uint64_t size;
    hash_t root;
    bool cosigned;
    int64_t at;
    uint8_t sig[ZB_SIG_LEN];
    uint8_t sth[512];
    size_t sth_len;
} state_copy;

static void read_state_forks(fixture *f, const uint8_t key[ZB_PK_LEN], state_copy *st,
                             uint64_t *refused, uint64_t *evidence, uint64_t *forks)
{
    zb_wstore *s = zb_witness_store(f->w);
    MDB_txn *txn;
    assert_int_equal(zb_wstore_read_begin(s, &txn), 0);
    zb_wlog log;
    assert_int_equal(zb_wstore_log_get(s, txn, key, &log), 0);
    memset(st, 0, sizeof *st);
    st->size = log.size;
    memcpy(st->root, log.root, ZB_HASH_LEN);
    st->cosigned = log.cosigned;
    st->at = log.cosigned_at;
    memcpy(st->sig, log.signature, ZB_SIG_LEN);
    assert_true(log.sth_len <= sizeof st->sth);
    if (log.sth_len)
        memcpy(st->sth, log.sth, log.sth_len);
    st->sth_len = log.sth_len;
    assert_int_equal(zb_wstore_counts(s, txn, refused, evidence, forks), 0);
    mdb_txn_abort(txn);
}

static void read_state(fixture *f, const uint8_t key[ZB_PK_LEN], state_copy *st, uint64_t *refused,
                       uint64_t *evidence)
{
    uint64_t forks;
    read_state_forks(f, key, st, refused, evidence, &forks);
}

/* ------------------------------------------------------------ fixture */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/zb-test-witness-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    memcpy(f->dir + strlen(f->dir), "/w", 3); /* created by zb_witness_create */
    if (zb_witness_create(f->dir, f->wpk) != 0 || zb_witness_open(&f->w, f->dir, false) != 0)
        return -1;
    zb_identity id;
    zb_identity_generate(&id);
    log_init(&f->agg, &id, 0, MAX_LEAVES);
    log_init(&f->fork, &id, 0xee, 4);
    zb_identity_wipe(&id);
    bool was_new;
    if (zb_witness_add_log(f->w, f->agg.id.pk, "prefecture", &was_new) != 0 || !was_new)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    zb_witness_close(&f->w);
    zb_witness_close(&f->w); /* idempotent */
    const char *files[] = {"data.mdb", "lock.mdb", ZB_IDENTITY_FILE};
    char p[700];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    *strrchr(f->dir, '/') = '\0';
    int rc = rmdir(f->dir);
    free(f);
    return rc;
}

/* ------------------------------------------------------------ tests */

static void test_create_open(void **state)
{
    fixture *f = *state;
    uint8_t pk[ZB_PK_LEN];
    assert_int_equal(zb_witness_create(f->dir, pk), ZB_EEXIST);
    assert_memory_equal(zb_witness_key(f->w), f->wpk, ZB_PK_LEN);
    char p[700];
    snprintf(p, sizeof p, "%s/" ZB_IDENTITY_FILE, f->dir);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* readonly: reads, never answers */
    zb_witness *ro;
    assert_int_equal(zb_witness_open(&ro, f->dir, true), 0);
    assert_null(zb_witness_identity(ro));
    size_t len;
    uint8_t *req = request(&f->agg, 3, 0, &len), *resp;
    size_t resp_len;
    assert_int_equal(zb_witness_handle(ro, req, len, T0, &resp, &resp_len, NULL), ZB_EINVAL);
    free(req);
    zb_witness_close(&ro);
    assert_null(ro);
    /* no witness there */
    snprintf(p, sizeof p, "%s/nothing", f->dir);
    assert_int_equal(zb_witness_open(&ro, p, true), ZB_ENOTFOUND);
    /* add-log again: renamed, not reset */
    bool was_new;
    assert_int_equal(zb_witness_add_log(f->w, f->agg.id.pk, "renamed", &was_new), 0);
    assert_false(was_new);
    char long_name[ZB_WLOG_NAME_MAX + 2];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(zb_witness_add_log(f->w, f->agg.id.pk, long_name, &was_new), ZB_EINVAL);
}

static void test_first_then_larger(void **state)
{
    fixture *f = *state;
    /* first head: no proof needed */
    int64_t t1 = expect_cosigned(f, send_req(f, &f->agg, 3, 0, T0), &f->agg, 3, NULL);
    assert_int_equal(t1, T0);
    state_copy st;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    assert_int_equal(st.size, 3);
    assert_true(st.cosigned);
    /* a larger consistent head, the witness clock gone back: never earlier */
    int64_t t2 = expect_cosigned(f, send_req(f, &f->agg, 7, 3, T0 - 3600), &f->agg, 7, NULL);
    assert_int_equal(t2, T0);
    /* and forward again */
    int64_t t3 = expect_cosigned(f, send_req(f, &f->agg, 8, 7, T0 + 5), &f->agg, 8, NULL);
    assert_int_equal(t3, T0 + 5);
    int64_t t4 = expect_cosigned(f, send_req(f, &f->agg, 20, 8, T0 + 4), &f->agg, 20, NULL);
    assert_int_equal(t4, T0 + 5);
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    assert_int_equal(st.size, 20);
    assert_int_equal(st.at, T0 + 5);
    assert_int_equal(refused, 0);
    assert_int_equal(evidence, 0);
}

static void test_same_head_same_cosignature(void **state)
{
    fixture *f = *state;
    uint8_t s1[ZB_SIG_LEN], s2[ZB_SIG_LEN];
    expect_cosigned(f, send_req(f, &f->agg, 3, 0, T0), &f->agg, 3, NULL);
    int64_t t1 = expect_cosigned(f, send_req(f, &f->agg, 5, 3, T0 + 10), &f->agg, 5, s1);
    /* the same head, later, with or without a proof: the same bytes */
    int64_t t2 = expect_cosigned(f, send_req(f, &f->agg, 5, 3, T0 + 99), &f->agg, 5, s2);
    assert_int_equal(t1, t2);
    assert_memory_equal(s1, s2, ZB_SIG_LEN);
    t2 = expect_cosigned(f, send_req(f, &f->agg, 5, 0, T0 + 100), &f->agg, 5, s2);
    assert_int_equal(t1, t2);
    assert_memory_equal(s1, s2, ZB_SIG_LEN);
    /* the cosignatures a sender attaches are ignored and not kept */
    size_t len;
    uint8_t *req = request_ex(&f->agg, 9, 5, true, &f->agg.id, ZB_HASH_LEN, true, &len);
    expect_cosigned(f, send_bytes(f, req, len, T0 + 200), &f->agg, 9, NULL);
    free(req);
    state_copy st;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    Zb__SignedTreeHead *held = zb__signed_tree_head__unpack(NULL, st.sth_len, st.sth);
    assert_non_null(held);
    assert_int_equal(held->n_cosignatures, 0);
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(held, f->agg.id.pk, &h), 0);
    assert_int_equal(h.size, 9);
    zb__signed_tree_head__free_unpacked(held, NULL);
}

static void test_smaller_conflict(void **state)
{
    fixture *f = *state;
    /* a real head of size 4, signed and cosigned, then the log grows */
    size_t old_len;
    uint8_t *old_head = request(&f->agg, 4, 0, &old_len);
    expect_cosigned(f, send_bytes(f, old_head, old_len, T0), &f->agg, 4, NULL);
    expect_cosigned(f, send_req(f, &f->agg, 6, 4, T0), &f->agg, 6, NULL);
    state_copy before, after;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &before, &refused, &evidence);
    /* smaller: the sender is behind; never cosigned, nothing kept or counted */
    expect_status(send_req(f, &f->agg, 4, 0, T0 + 1), ZB__WITNESS_STATUS__CONFLICT, 6);
    expect_status(send_req(f, &f->agg, 2, 4, T0 + 1), ZB__WITNESS_STATUS__CONFLICT, 6);
    /* the old signed head replayed as it was sent: harmless */
    expect_status(send_bytes(f, old_head, old_len, T0 + 2), ZB__WITNESS_STATUS__CONFLICT, 6);
    free(old_head);
    /* and a smaller head of a fork: still only "you are behind" */
    expect_status(send_req(f, &f->fork, 5, 0, T0 + 2), ZB__WITNESS_STATUS__CONFLICT, 6);
    read_state(f, f->agg.id.pk, &after, &refused, &evidence);
    assert_int_equal(refused, 0);
    assert_int_equal(evidence, 0);
    assert_int_equal(after.size, 6);
    assert_memory_equal(after.root, before.root, ZB_HASH_LEN);
    assert_int_equal(after.at, before.at);
    assert_memory_equal(after.sig, before.sig, ZB_SIG_LEN);
}

typedef struct {
    size_t n;
    zb_wevidence last;
    uint8_t held_sth[512];
    size_t held_len;
    int kinds[8];
} ev_list;

static int collect_ev(void *ctx, const zb_wevidence *ev)
{
    ev_list *l = ctx;
    if (l->n < 8)
        l->kinds[l->n] = ev->kind;
    l->n++;
    l->last = *ev;
    l->held_len = ev->held_sth_len;
    if (ev->held_sth_len <= sizeof l->held_sth && ev->held_sth_len)
        memcpy(l->held_sth, ev->held_sth, ev->held_sth_len);
    l->last.request = NULL, l->last.held_sth = NULL, l->last.reason = NULL; /* borrowed */
    return 0;
}

/* Every evidence record the witness holds, in key order. */
static ev_list read_evidence(fixture *f)
{
    ev_list l = {0};
    zb_wstore *s = zb_witness_store(f->w);
    MDB_txn *txn;
    assert_int_equal(zb_wstore_read_begin(s, &txn), 0);
    assert_int_equal(zb_wstore_evidence(s, txn, collect_ev, &l), 0);
    mdb_txn_abort(txn);
    return l;
}

static void test_same_size_fork_refused(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 6, 0, T0), &f->agg, 6, NULL);
    expect_status(send_req(f, &f->fork, 6, 0, T0 + 1), ZB__WITNESS_STATUS__REFUSED, 6);
    /* the evidence: the fork's head, and the head held */
    ev_list l = read_evidence(f);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.last.kind, ZB_WEVIDENCE_FORK);
    state_copy st;
    uint64_t refused, evidence, forks;
    read_state_forks(f, f->agg.id.pk, &st, &refused, &evidence, &forks);
    assert_int_equal(refused, 1);
    assert_int_equal(evidence, 1);
    assert_int_equal(forks, 1);
    zb_tree_head fh, gh;
    head_of(&f->fork, 6, &fh);
    head_of(&f->agg, 6, &gh);
    assert_memory_equal(l.last.key, f->agg.id.pk, ZB_PK_LEN);
    assert_int_equal(l.last.size, 6);
    assert_memory_equal(l.last.root, fh.root, ZB_HASH_LEN);
    assert_int_equal(l.last.head_time, fh.timestamp);
    assert_int_equal(l.last.held_size, 6);
    assert_memory_equal(l.last.held_root, gh.root, ZB_HASH_LEN);
    assert_int_equal(l.last.at, T0 + 1);
    Zb__SignedTreeHead *held = zb__signed_tree_head__unpack(NULL, l.held_len, l.held_sth);
    assert_non_null(held);
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(held, f->agg.id.pk, &h), 0);
    assert_memory_equal(h.root, gh.root, ZB_HASH_LEN);
    zb__signed_tree_head__free_unpacked(held, NULL);
    /* the honest head is still answered with what was given */
    expect_cosigned(f, send_req(f, &f->agg, 6, 0, T0 + 2), &f->agg, 6, NULL);
}

static void test_bad_proof_refused_then_good(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 5, 0, T0), &f->agg, 5, NULL);
    state_copy before, after;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &before, &refused, &evidence);
    /* the fork from 4 on: a real proof from 5 of the fork's tree does not
     * take the witness's root at 5 to the fork's root at 9 */
    expect_status(send_req(f, &f->fork, 9, 5, T0 + 1), ZB__WITNESS_STATUS__REFUSED, 5);
    /* an honest head with one proof hash flipped */
    size_t len;
    uint8_t *req = request(&f->agg, 10, 5, &len);
    Zb__WitnessRequest *m = zb__witness_request__unpack(NULL, len, req);
    assert_non_null(m);
    assert_true(m->consistency->n_path > 0);
    m->consistency->path[0].data[3] ^= 0x40;
    uint8_t bad[1024];
    size_t bad_len = zb__witness_request__pack(m, bad);
    zb__witness_request__free_unpacked(m, NULL);
    free(req);
    expect_status(send_bytes(f, bad, bad_len, T0 + 2), ZB__WITNESS_STATUS__REFUSED, 5);
    uint64_t forks;
    read_state_forks(f, f->agg.id.pk, &after, &refused, &evidence, &forks);
    assert_int_equal(refused, 2);
    assert_int_equal(evidence, 2);
    assert_int_equal(forks, 0); /* a bad proof proves nothing by itself */
    ev_list l = read_evidence(f);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.kinds[0], ZB_WEVIDENCE_UNPROVEN_EXTENSION);
    assert_int_equal(l.kinds[1], ZB_WEVIDENCE_UNPROVEN_EXTENSION);
    assert_int_equal(after.size, 5);
    assert_memory_equal(after.root, before.root, ZB_HASH_LEN);
    assert_memory_equal(after.sig, before.sig, ZB_SIG_LEN);
    /* a good head later: cosigned from the old state */
    expect_cosigned(f, send_req(f, &f->agg, 10, 5, T0 + 3), &f->agg, 10, NULL);
    read_state(f, f->agg.id.pk, &after, &refused, &evidence);
    assert_int_equal(after.size, 10);
    /* the fork is refused from there too */
    expect_status(send_req(f, &f->fork, 12, 10, T0 + 4), ZB__WITNESS_STATUS__REFUSED, 10);
}

static void test_wrong_old_size_conflict(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 5, 0, T0), &f->agg, 5, NULL);
    expect_status(send_req(f, &f->agg, 9, 3, T0), ZB__WITNESS_STATUS__CONFLICT, 5);
    /* no proof at all */
    size_t len;
    uint8_t *req = request_ex(&f->agg, 9, 0, false, &f->agg.id, ZB_HASH_LEN, false, &len);
    expect_status(send_bytes(f, req, len, T0), ZB__WITNESS_STATUS__CONFLICT, 5);
    free(req);
    /* new_size not the head's */
    req = request(&f->agg, 9, 5, &len);
    Zb__WitnessRequest *m = zb__witness_request__unpack(NULL, len, req);
    m->consistency->new_size = 8;
    uint8_t buf[1024];
    size_t n = zb__witness_request__pack(m, buf);
    zb__witness_request__free_unpacked(m, NULL);
    free(req);
    expect_status(send_bytes(f, buf, n, T0), ZB__WITNESS_STATUS__CONFLICT, 5);
    state_copy st;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    assert_int_equal(st.size, 5);
    assert_int_equal(refused, 0);
    assert_int_equal(evidence, 0);
    /* retried with the size given: cosigned */
    expect_cosigned(f, send_req(f, &f->agg, 9, 5, T0), &f->agg, 9, NULL);
}

static void test_unknown_log_and_bad_requests(void **state)
{
    fixture *f = *state;
    agg_log other;
    zb_identity id;
    zb_identity_generate(&id);
    log_init(&other, &id, 0, MAX_LEAVES);
    expect_status(send_req(f, &other, 3, 0, T0), ZB__WITNESS_STATUS__UNKNOWN_LOG, -1);
    /* signed by another key than the head names */
    size_t len;
    uint8_t *req = request_ex(&f->agg, 3, 0, false, &id, ZB_HASH_LEN, false, &len);
    expect_status(send_bytes(f, req, len, T0), ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    free(req);
    zb_identity_wipe(&id);
    /* one bit flipped in the signed bytes */
    req = request(&f->agg, 3, 0, &len);
    Zb__WitnessRequest *m = zb__witness_request__unpack(NULL, len, req);
    m->tree_head->signature.data[10] ^= 1;
    uint8_t buf[1024];
    size_t n = zb__witness_request__pack(m, buf);
    zb__witness_request__free_unpacked(m, NULL);
    free(req);
    expect_status(send_bytes(f, buf, n, T0), ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    /* a root of 33 bytes, properly signed */
    req = request_ex(&f->agg, 3, 0, false, &f->agg.id, ZB_HASH_LEN + 1, false, &len);
    expect_status(send_bytes(f, req, len, T0), ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    free(req);
    /* a proof hash of 31 bytes */
    expect_cosigned(f, send_req(f, &f->agg, 3, 0, T0), &f->agg, 3, NULL);
    req = request(&f->agg, 9, 3, &len);
    m = zb__witness_request__unpack(NULL, len, req);
    m->consistency->path[0].len = 31;
    n = zb__witness_request__pack(m, buf);
    zb__witness_request__free_unpacked(m, NULL);
    free(req);
    expect_status(send_bytes(f, buf, n, T0), ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    /* garbage, empty, over the cap */
    static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0x01, 0x02};
    expect_status(send_bytes(f, junk, sizeof junk, T0), ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    expect_status(send_bytes(f, junk, 0, T0), ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    uint8_t *big = calloc(1, ZB_WITNESS_REQUEST_MAX + 1);
    assert_non_null(big);
    expect_status(send_bytes(f, big, ZB_WITNESS_REQUEST_MAX + 1, T0),
                  ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    free(big);
    /* none of these changed anything or counted */
    state_copy st;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    assert_int_equal(st.size, 3);
    assert_int_equal(refused, 0);
    assert_int_equal(evidence, 0);
}

static void test_empty_tree(void **state)
{
    fixture *f = *state;
    uint8_t s1[ZB_SIG_LEN], s2[ZB_SIG_LEN];
    /* size 0, root SHA-256(""): cosigned, and kept */
    int64_t t1 = expect_cosigned(f, send_req(f, &f->agg, 0, 0, T0), &f->agg, 0, s1);
    int64_t t2 = expect_cosigned(f, send_req(f, &f->agg, 0, 0, T0 + 9), &f->agg, 0, s2);
    assert_int_equal(t1, t2);
    assert_memory_equal(s1, s2, ZB_SIG_LEN);
    /* from the empty tree no proof is needed; the clock never goes back */
    int64_t t3 = expect_cosigned(f, send_req(f, &f->agg, 2, 0, T0 - 50), &f->agg, 2, NULL);
    assert_int_equal(t3, T0);
}

static void test_empty_tree_other_root_refused(void **state)
{
    fixture *f = *state;
    /* a size-0 head whose root is not SHA-256(""): the root of size 1 */
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    hash_t root;
    zb_merkle_root_of_leaves((const hash_t *)f->agg.leaves, 1, root);
    th.size = 0;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = T0;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, f->agg.id.pk};
    uint8_t thb[256], sig[ZB_SIG_LEN], buf[512];
    size_t thn = zb__tree_head__pack(&th, thb);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, thb, thn, &f->agg.id, sig), 0);
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){thn, thb};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    Zb__WitnessRequest req = ZB__WITNESS_REQUEST__INIT;
    req.tree_head = &sth;
    size_t n = zb__witness_request__pack(&req, buf);
    expect_status(send_bytes(f, buf, n, T0), ZB__WITNESS_STATUS__REFUSED, 0);
    state_copy st;
    uint64_t refused, evidence, forks;
    read_state_forks(f, f->agg.id.pk, &st, &refused, &evidence, &forks);
    assert_false(st.cosigned);
    assert_int_equal(evidence, 1);
    assert_int_equal(forks, 1); /* the empty tree has one root: this head is false on its own */
}

static void test_survives_reopen(void **state)
{
    fixture *f = *state;
    uint8_t s1[ZB_SIG_LEN], s2[ZB_SIG_LEN];
    int64_t t1 = expect_cosigned(f, send_req(f, &f->agg, 11, 0, T0 + 500), &f->agg, 11, s1);
    expect_status(send_req(f, &f->fork, 11, 0, T0), ZB__WITNESS_STATUS__REFUSED, 11);
    zb_witness_close(&f->w);
    assert_null(f->w);
    assert_int_equal(zb_witness_open(&f->w, f->dir, false), 0);
    assert_memory_equal(zb_witness_key(f->w), f->wpk, ZB_PK_LEN);
    int64_t t2 = expect_cosigned(f, send_req(f, &f->agg, 11, 0, T0), &f->agg, 11, s2);
    assert_int_equal(t1, t2);
    assert_memory_equal(s1, s2, ZB_SIG_LEN);
    /* the last timestamp given is remembered across the restart */
    int64_t t3 = expect_cosigned(f, send_req(f, &f->agg, 12, 11, T0), &f->agg, 12, NULL);
    assert_int_equal(t3, T0 + 500);
    expect_status(send_req(f, &f->agg, 9, 0, T0), ZB__WITNESS_STATUS__CONFLICT, 12);
    state_copy st;
    uint64_t refused, evidence, forks;
    read_state_forks(f, f->agg.id.pk, &st, &refused, &evidence, &forks);
    assert_int_equal(st.size, 12);
    assert_int_equal(refused, 1);
    assert_int_equal(evidence, 1);
    assert_int_equal(forks, 1);
}

/* Sizes in a scrambled order from the honest tree and, every fifth
 * request, from the fork (which shares the first 4 leaves), each with the
 * proof from the size held: every head cosigned must be consistent with
 * every one before it, and every refusal justified. */
static void test_sweep(void **state)
{
    fixture *f = *state;
    uint64_t held = 0;
    int64_t last = 0;
    const agg_log *on = NULL; /* the tree of the heads held, once past the shared prefix */
    size_t cosigned = 0, refused = 0, behind = 0;
    for (uint64_t step = 1; step < 60; step++) {
        uint64_t size = (step * 7) % 41;
        const agg_log *l = (step % 5 == 0) ? &f->fork : &f->agg;
        Zb__WitnessResponse *r = send_req(f, l, size, held, T0 + (int64_t)((step * 13) % 17));
        if (r->status == ZB__WITNESS_STATUS__COSIGNED) {
            assert_true(size >= held);
            if (size > 4) {
                assert_true(on == NULL || on == l);
                on = l;
            }
            int64_t ts = expect_cosigned(f, r, l, size, NULL);
            assert_true(ts >= last);
            last = ts;
            held = size;
            cosigned++;
        } else if (r->status == ZB__WITNESS_STATUS__CONFLICT) {
            assert_true(size < held); /* the proof is always from the size held */
            assert_int_equal(r->size, held);
            zb__witness_response__free_unpacked(r, NULL);
            behind++;
        } else {
            assert_int_equal(r->status, ZB__WITNESS_STATUS__REFUSED);
            assert_true(size >= held && held > 4 && l != on);
            zb__witness_response__free_unpacked(r, NULL);
            refused++;
        }
    }
    assert_true(cosigned > 3 && refused > 0 && behind > 3);
}

/* A head refused as an unproven extension, refused again once the witness
 * cosigned another head of its size: now a fork, and the record says so
 * (the held head in it is the one of the same size). */
static void test_unproven_becomes_fork(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 5, 0, T0), &f->agg, 5, NULL);
    expect_status(send_req(f, &f->fork, 9, 5, T0 + 1), ZB__WITNESS_STATUS__REFUSED, 5);
    expect_cosigned(f, send_req(f, &f->agg, 9, 5, T0 + 2), &f->agg, 9, NULL);
    size_t len;
    uint8_t *req = request(&f->fork, 9, 0, &len), *resp;
    size_t resp_len;
    zb_witness_outcome o;
    assert_int_equal(zb_witness_handle(f->w, req, len, T0 + 3, &resp, &resp_len, &o), 0);
    free(resp);
    assert_int_equal(o.status, ZB__WITNESS_STATUS__REFUSED);
    assert_int_equal(o.evidence_kind, ZB_WEVIDENCE_FORK);
    assert_true(o.new_evidence);
    /* again: kept already */
    assert_int_equal(zb_witness_handle(f->w, req, len, T0 + 4, &resp, &resp_len, &o), 0);
    free(resp);
    free(req);
    assert_false(o.new_evidence);
    state_copy st;
    uint64_t refused, evidence, forks;
    read_state_forks(f, f->agg.id.pk, &st, &refused, &evidence, &forks);
    assert_int_equal(refused, 3);
    assert_int_equal(evidence, 1);
    assert_int_equal(forks, 1);
    ev_list l = read_evidence(f);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.last.kind, ZB_WEVIDENCE_FORK);
    assert_int_equal(l.last.held_size, 9);
    assert_int_equal(l.last.at, T0 + 3);
}

/* A connection admitted for one log (zb_witness_handle_from's peer) may
 * not speak for another: a followed prefecture cannot cause evidence
 * against another's public head. */
static void test_connection_speaks_for_its_log(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 5, 0, T0), &f->agg, 5, NULL);
    zb_identity other;
    zb_identity_generate(&other);
    bool was_new;
    assert_int_equal(zb_witness_add_log(f->w, other.pk, "another prefecture", &was_new), 0);
    /* the fork's larger head with its own (for the witness: bad) proof */
    size_t len;
    uint8_t *req = request(&f->fork, 9, 5, &len), *resp;
    size_t resp_len;
    zb_witness_outcome o;
    assert_int_equal(zb_witness_handle_from(f->w, other.pk, req, len, T0, &resp, &resp_len, &o), 0);
    Zb__WitnessResponse *r = zb__witness_response__unpack(NULL, resp_len, resp);
    free(resp);
    assert_non_null(r);
    assert_non_null(strstr(r->reason, "authenticated as log"));
    expect_status(r, ZB__WITNESS_STATUS__BAD_REQUEST, -1);
    state_copy st;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    assert_int_equal(refused, 0);
    assert_int_equal(evidence, 0);
    /* from its own log's connection it is decided as usual */
    assert_int_equal(zb_witness_handle_from(f->w, f->agg.id.pk, req, len, T0, &resp, &resp_len, &o),
                     0);
    r = zb__witness_response__unpack(NULL, resp_len, resp);
    free(resp);
    assert_non_null(r);
    expect_status(r, ZB__WITNESS_STATUS__REFUSED, 5);
    assert_int_equal(o.evidence_kind, ZB_WEVIDENCE_UNPROVEN_EXTENSION);
    free(req);
    req = request(&f->agg, 9, 5, &len);
    assert_int_equal(zb_witness_handle_from(f->w, f->agg.id.pk, req, len, T0, &resp, &resp_len, &o),
                     0);
    r = zb__witness_response__unpack(NULL, resp_len, resp);
    free(resp);
    free(req);
    expect_cosigned(f, r, &f->agg, 9, NULL);
    zb_identity_wipe(&other);
}

/* Evidence written before kinds (record version 1: no kind byte) reads
 * with the kind its sizes give: the same size a fork, another size
 * (larger, or smaller: refused then, CONFLICT now) an unproven extension. */
static void test_evidence_of_release_1(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 6, 0, T0), &f->agg, 6, NULL);
    expect_status(send_req(f, &f->fork, 6, 0, T0 + 1), ZB__WITNESS_STATUS__REFUSED, 6);
    expect_status(send_req(f, &f->fork, 9, 6, T0 + 2), ZB__WITNESS_STATUS__REFUSED, 6);
    zb_witness_close(&f->w);
    /* rewrite every record as release 1 wrote it: version 1, no kind byte
     * (version 2 is version 1 with the kind after the version byte) */
    static const char *const dbs[] = {"meta", "logs", "evidence"};
    zb_store *raw;
    assert_int_equal(zb_store_open(&raw, f->dir, dbs, 3, 64u << 20, false, false), 0);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(raw, false, &txn), 0);
    MDB_dbi dbi = zb_store_dbi(raw, 2);
    uint8_t keys[2][ZB_PK_LEN + 8 + ZB_HASH_LEN], vals[2][4096];
    size_t n = 0, val_len[2];
    MDB_cursor *c;
    assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
    MDB_val k, v;
    for (int mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        assert_true(n < 2 && k.mv_size == sizeof keys[0] && v.mv_size <= sizeof vals[0]);
        const uint8_t *p = v.mv_data;
        assert_int_equal(p[0], 2);
        memcpy(keys[n], k.mv_data, k.mv_size);
        vals[n][0] = 1;
        memcpy(vals[n] + 1, p + 2, v.mv_size - 2);
        val_len[n++] = v.mv_size - 1;
    }
    mdb_cursor_close(c);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        MDB_val nk = {sizeof keys[i], keys[i]}, nv = {val_len[i], vals[i]};
        assert_int_equal(mdb_put(txn, dbi, &nk, &nv, 0), 0);
    }
    /* and a smaller head refused by release 1 (held 6): keyed at size 3 */
    uint8_t small_key[sizeof keys[0]];
    memcpy(small_key, keys[0], sizeof small_key);
    zb_be64_put(small_key + ZB_PK_LEN, 3);
    MDB_val sk = {sizeof small_key, small_key}, sv = {val_len[0], vals[0]};
    assert_int_equal(mdb_put(txn, dbi, &sk, &sv, 0), 0);
    assert_int_equal(zb_store_commit(txn), 0);
    zb_store_close(&raw);

    assert_int_equal(zb_witness_open(&f->w, f->dir, false), 0);
    ev_list l = {0};
    zb_wstore *s = zb_witness_store(f->w);
    assert_int_equal(zb_wstore_read_begin(s, &txn), 0);
    assert_int_equal(zb_wstore_evidence(s, txn, collect_ev, &l), 0);
    uint64_t refused, evidence, forks;
    assert_int_equal(zb_wstore_counts(s, txn, &refused, &evidence, &forks), 0);
    mdb_txn_abort(txn);
    /* key order: size 3, then 6, then 9 */
    assert_int_equal(l.n, 3);
    assert_int_equal(l.kinds[0], ZB_WEVIDENCE_UNPROVEN_EXTENSION);
    assert_int_equal(l.kinds[1], ZB_WEVIDENCE_FORK);
    assert_int_equal(l.kinds[2], ZB_WEVIDENCE_UNPROVEN_EXTENSION);
    assert_int_equal(evidence, 3);
    assert_int_equal(forks, 1);
    assert_string_equal(zb_wevidence_kind_name(ZB_WEVIDENCE_FORK), "fork");
    assert_string_equal(zb_wevidence_kind_name(ZB_WEVIDENCE_UNPROVEN_EXTENSION),
                        "unproven_extension");
    /* new evidence beside them is written with its kind */
    expect_status(send_req(f, &f->fork, 10, 6, T0 + 3), ZB__WITNESS_STATUS__REFUSED, 6);
}

/* A fork refused again where the evidence record of that head cannot be
 * read: the fork is kept in its place (not dropped as "kept already"). */
static void test_unreadable_evidence_replaced_by_fork(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 6, 0, T0), &f->agg, 6, NULL);
    expect_status(send_req(f, &f->fork, 6, 0, T0 + 1), ZB__WITNESS_STATUS__REFUSED, 6);
    zb_witness_close(&f->w);
    /* spoil the one evidence record: a version no release wrote */
    static const char *const dbs[] = {"meta", "logs", "evidence"};
    zb_store *raw;
    assert_int_equal(zb_store_open(&raw, f->dir, dbs, 3, 64u << 20, false, false), 0);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(raw, false, &txn), 0);
    MDB_cursor *c;
    assert_int_equal(mdb_cursor_open(txn, zb_store_dbi(raw, 2), &c), 0);
    MDB_val k, v;
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    uint8_t junk = 9;
    MDB_val jv = {1, &junk};
    assert_int_equal(mdb_cursor_put(c, &k, &jv, MDB_CURRENT), 0);
    mdb_cursor_close(c);
    assert_int_equal(zb_store_commit(txn), 0);
    zb_store_close(&raw);

    assert_int_equal(zb_witness_open(&f->w, f->dir, false), 0);
    size_t len, resp_len;
    uint8_t *req = request(&f->fork, 6, 0, &len), *resp;
    zb_witness_outcome o;
    assert_int_equal(zb_witness_handle(f->w, req, len, T0 + 2, &resp, &resp_len, &o), 0);
    free(resp);
    free(req);
    assert_int_equal(o.status, ZB__WITNESS_STATUS__REFUSED);
    assert_int_equal(o.evidence_kind, ZB_WEVIDENCE_FORK);
    assert_true(o.new_evidence);
    ev_list l = read_evidence(f);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.last.kind, ZB_WEVIDENCE_FORK);
    assert_int_equal(l.last.at, T0 + 2);
}

typedef struct {
    size_t n;
    uint8_t keys[4][ZB_PK_LEN];
} key_set;

static int collect_key(void *ctx, const uint8_t key[ZB_PK_LEN])
{
    key_set *k = ctx;
    if (k->n < 4)
        memcpy(k->keys[k->n], key, ZB_PK_LEN);
    k->n++;
    return 0;
}

static void test_log_keys_generation(void **state)
{
    fixture *f = *state;
    zb_wstore *s = zb_witness_store(f->w);
    uint64_t gen = ZB_WSTORE_GEN_NONE;
    bool changed;
    key_set k = {0};
    assert_int_equal(zb_wstore_log_keys(s, &gen, &changed, collect_key, &k), 0);
    assert_true(changed);
    assert_int_equal(k.n, 1);
    assert_memory_equal(k.keys[0], f->agg.id.pk, ZB_PK_LEN);
    uint64_t first = gen;
    k.n = 0;
    assert_int_equal(zb_wstore_log_keys(s, &gen, &changed, collect_key, &k), 0);
    assert_false(changed);
    assert_int_equal(k.n, 0);
    /* a rename admits nobody new */
    bool was_new;
    assert_int_equal(zb_witness_add_log(f->w, f->agg.id.pk, "renamed", &was_new), 0);
    assert_int_equal(zb_wstore_log_keys(s, &gen, &changed, collect_key, &k), 0);
    assert_false(changed);
    zb_identity other;
    zb_identity_generate(&other);
    assert_int_equal(zb_witness_add_log(f->w, other.pk, "other", &was_new), 0);
    assert_int_equal(zb_wstore_log_keys(s, &gen, &changed, collect_key, &k), 0);
    assert_true(changed);
    assert_true(gen != first);
    assert_int_equal(k.n, 2);
    zb_identity_wipe(&other);
}

/* ------------------------------------------------------------ ZAP, on real sockets */

/* A DEALER to endpoint with the X25519 forms of id as its CURVE keys;
 * sends one frame. */
static void *zap_client(void *ctx, const char *endpoint, const uint8_t server[32],
                        const zb_identity *id)
{
    void *c = zmq_socket(ctx, ZMQ_DEALER);
    assert_non_null(c);
    uint8_t pk[32], sk[32];
    assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(pk, id->pk), 0);
    assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(sk, id->sk), 0);
    int zero = 0;
    zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c, ZMQ_CURVE_SERVERKEY, server, 32);
    zmq_setsockopt(c, ZMQ_CURVE_PUBLICKEY, pk, 32);
    zmq_setsockopt(c, ZMQ_CURVE_SECRETKEY, sk, 32);
    sodium_memzero(sk, sizeof sk);
    assert_int_equal(zmq_connect(c, endpoint), 0);
    assert_int_equal(zmq_send(c, "ping", 4, 0), 4);
    return c;
}

/* The User-Id of the next request the server receives within ms, into
 * user_id; false when none came. */
static bool zap_received(void *srv, int ms, char user_id[2 * ZB_PK_LEN + 1])
{
    zmq_pollitem_t it = {srv, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, ms) != 1)
        return false;
    zmq_msg_t m;
    int more = 1;
    user_id[0] = '\0';
    while (more) { /* routing id, then the request */
        zmq_msg_init(&m);
        assert_true(zmq_msg_recv(&m, srv, 0) >= 0);
        more = zmq_msg_more(&m);
        if (!more) {
            const char *uid = zmq_msg_gets(&m, "User-Id");
            snprintf(user_id, 2 * ZB_PK_LEN + 1, "%s", uid ? uid : "");
        }
        zmq_msg_close(&m);
    }
    return true;
}

static void test_zap_sockets(void **state)
{
    fixture *f = *state;
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    zb_wzap *z;
    assert_int_equal(zb_wzap_start(&z, ctx, zb_witness_store(f->w)), 0);
    void *srv = zmq_socket(ctx, ZMQ_ROUTER);
    uint8_t spk[32], ssk[32];
    crypto_box_keypair(spk, ssk);
    int on = 1, zero = 0;
    zmq_setsockopt(srv, ZMQ_ZAP_DOMAIN, "zhibao-witness", 14);
    zmq_setsockopt(srv, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt(srv, ZMQ_CURVE_SECRETKEY, ssk, 32);
    zmq_setsockopt(srv, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(srv, "tcp://127.0.0.1:*"), 0);
    char ep[128];
    size_t ep_len = sizeof ep;
    assert_int_equal(zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, ep, &ep_len), 0);
    char uid[2 * ZB_PK_LEN + 1], want[2 * ZB_PK_LEN + 1];

    /* a key that is no log's: refused by ZAP, nothing reaches the socket */
    zb_identity stranger, late;
    zb_identity_generate(&stranger);
    zb_identity_generate(&late);
    void *c1 = zap_client(ctx, ep, spk, &stranger);
    assert_false(zap_received(srv, 700, uid));
    for (int i = 0; i < 50 && zb_wzap_refused(z) == 0; i++)
        usleep(20000);
    assert_true(zb_wzap_refused(z) >= 1);
    /* the log's own key: admitted, named by its Ed25519 key */
    void *c2 = zap_client(ctx, ep, spk, &f->agg.id);
    assert_true(zap_received(srv, 3000, uid));
    zb_hex_encode(f->agg.id.pk, ZB_PK_LEN, want);
    assert_string_equal(uid, want);
    /* a log followed while the handler runs: admitted on its first try */
    bool was_new;
    assert_int_equal(zb_witness_add_log(f->w, late.pk, "added while serving", &was_new), 0);
    void *c3 = zap_client(ctx, ep, spk, &late);
    assert_true(zap_received(srv, 3000, uid));
    zb_hex_encode(late.pk, ZB_PK_LEN, want);
    assert_string_equal(uid, want);
    /* the stranger is still out */
    assert_false(zap_received(srv, 300, uid));

    zmq_close(c1);
    zmq_close(c2);
    zmq_close(c3);
    zmq_close(srv);
    zb_wzap_stop(&z);
    assert_null(z);
    zb_wzap_stop(&z); /* idempotent */
    assert_int_equal(zmq_ctx_term(ctx), 0);
    zb_identity_wipe(&stranger);
    zb_identity_wipe(&late);
    sodium_memzero(ssk, sizeof ssk);
}

int main(void)
{
    if (zb_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_then_larger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_head_same_cosignature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smaller_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_size_fork_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_proof_refused_then_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_old_size_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_log_and_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_tree_other_root_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unproven_becomes_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_speaks_for_its_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_of_release_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_evidence_replaced_by_fork, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_keys_generation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zap_sockets, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
