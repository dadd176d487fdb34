/*
 * test_witness.c - witness/: zb_witness_handle's rules (witness.h) on a
 * real LMDB store, with heads signed by a real aggregator-like identity
 * over real Merkle trees (common/merkle), and every cosignature returned
 * checked with zb_cosig_verify. No sockets: the daemon's loop is
 * tests/system/witness_crash.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "merkle.h"
#include "store.h"
#include "treehead.h"
#include "witness.h"
#include "wstore.h"
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

static void read_state(fixture *f, const uint8_t key[ZB_PK_LEN], state_copy *st, uint64_t *refused,
                       uint64_t *evidence)
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
    assert_int_equal(zb_wstore_counts(s, txn, refused, evidence), 0);
    mdb_txn_abort(txn);
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

static void test_smaller_refused(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 6, 0, T0), &f->agg, 6, NULL);
    state_copy before, after;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &before, &refused, &evidence);
    expect_status(send_req(f, &f->agg, 4, 0, T0 + 1), ZB__WITNESS_STATUS__REFUSED, 6);
    read_state(f, f->agg.id.pk, &after, &refused, &evidence);
    assert_int_equal(refused, 1);
    assert_int_equal(evidence, 1);
    /* the same head again: counted, kept once */
    expect_status(send_req(f, &f->agg, 4, 0, T0 + 2), ZB__WITNESS_STATUS__REFUSED, 6);
    read_state(f, f->agg.id.pk, &after, &refused, &evidence);
    assert_int_equal(refused, 2);
    assert_int_equal(evidence, 1);
    assert_int_equal(after.size, 6);
    assert_memory_equal(after.sig, before.sig, ZB_SIG_LEN);
}

typedef struct {
    size_t n;
    zb_wevidence last;
    uint8_t held_sth[512];
    size_t held_len;
} ev_list;

static int collect_ev(void *ctx, const zb_wevidence *ev)
{
    ev_list *l = ctx;
    l->n++;
    l->last = *ev;
    l->held_len = ev->held_sth_len;
    if (ev->held_sth_len <= sizeof l->held_sth && ev->held_sth_len)
        memcpy(l->held_sth, ev->held_sth, ev->held_sth_len);
    l->last.request = NULL, l->last.held_sth = NULL, l->last.reason = NULL; /* borrowed */
    return 0;
}

static void test_same_size_fork_refused(void **state)
{
    fixture *f = *state;
    expect_cosigned(f, send_req(f, &f->agg, 6, 0, T0), &f->agg, 6, NULL);
    expect_status(send_req(f, &f->fork, 6, 0, T0 + 1), ZB__WITNESS_STATUS__REFUSED, 6);
    /* the evidence: the fork's head, and the head held */
    ev_list l = {0};
    zb_wstore *s = zb_witness_store(f->w);
    MDB_txn *txn;
    assert_int_equal(zb_wstore_read_begin(s, &txn), 0);
    assert_int_equal(zb_wstore_evidence(s, txn, collect_ev, &l), 0);
    mdb_txn_abort(txn);
    assert_int_equal(l.n, 1);
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
    read_state(f, f->agg.id.pk, &after, &refused, &evidence);
    assert_int_equal(refused, 2);
    assert_int_equal(evidence, 2);
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
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    assert_false(st.cosigned);
    assert_int_equal(evidence, 1);
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
    expect_status(send_req(f, &f->agg, 9, 0, T0), ZB__WITNESS_STATUS__REFUSED, 12);
    state_copy st;
    uint64_t refused, evidence;
    read_state(f, f->agg.id.pk, &st, &refused, &evidence);
    assert_int_equal(st.size, 12);
    assert_int_equal(refused, 2);
    assert_int_equal(evidence, 2);
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
    size_t cosigned = 0, refused = 0;
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
        } else {
            assert_int_equal(r->status, ZB__WITNESS_STATUS__REFUSED);
            assert_true(size < held || (held > 4 && l != on));
            zb__witness_response__free_unpacked(r, NULL);
            refused++;
        }
    }
    assert_true(cosigned > 3 && refused > 3);
}

int main(void)
{
    if (zb_crypto_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_then_larger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_head_same_cosignature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smaller_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_size_fork_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_proof_refused_then_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_old_size_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_log_and_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_tree_other_root_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
