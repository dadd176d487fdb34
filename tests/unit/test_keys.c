/*
 * test_keys.c - the county node's keys (node/node.h, "the county's keys";
 * node/keys.c) on real LMDB directories: the key request init writes,
 * rotate-key (refused with reports pending or beside a running sync; the
 * identity, the store and the consenting request after it; an interrupted
 * rotation finished on open), the key events of Welcomes judged against
 * the node's own keys (its enrolment, a foreign enrolment, a revocation
 * without consent, its own consented rotation, proofs that do not hold,
 * heads it did not accept, events that do not verify), and the tree-head
 * file of `zhibao-node tree-head`.
 *
 * The prefecture's log is built here from common/ code alone, as an
 * aggregator would: LogLeafs (common/logleaf.h) holding key events and
 * filler envelopes, a Merkle tree over them (common/merkle.h), a tree head
 * signed by the test aggregator identity the node was created for, and
 * an RFC 6962 inclusion proof per key event. Every test gets its own node
 * under a fresh mkdtemp directory, removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "logleaf.h"
#include "merkle.h"
#include "node.h"
#include "report.h"
#include "treehead.h"

#define COUNTY     "222401"
#define NOW        1800000000 /* 2027-01-15 */
#define MAX_LEAVES 32

typedef struct {
    char root[512];  /* mkdtemp directory */
    char dir[600];   /* root/node */
    zb_identity agg; /* the aggregator the node was created for */
    zb_node *node;
    uint64_t head_size; /* the last head a Welcome brought (0: none yet) */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    const char *base = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/zb-test-keys-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/node", f->root);
    zb_identity_generate(&f->agg);
    char agg_hex[2 * ZB_PK_LEN + 1], node_hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(f->agg.pk, ZB_PK_LEN, agg_hex);
    if (zb_node_create(f->dir, COUNTY, "tcp://127.0.0.1:1", agg_hex, node_hex) != ZB_OK)
        return -1;
    return zb_node_open(&f->node, f->dir, false) == ZB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    zb_node_close(&f->node);
    zb_identity_wipe(&f->agg);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}

/* ------------------------------------------------------------ helpers */

static zb_node_status status(fixture *f)
{
    zb_node_status st;
    assert_int_equal(zb_node_get_status(f->node, &st), ZB_OK);
    return st;
}

static zb_node_keys keys(fixture *f)
{
    zb_node_keys k;
    assert_int_equal(zb_node_key_status(f->node, &k), ZB_OK);
    return k;
}

/* The whole file (malloc'd), its length in *len. */
static uint8_t *slurp(const char *path, size_t *len)
{
    int err = 0;
    char *text = zb_read_file(path, 1u << 20, len, &err);
    if (!text)
        fail_msg("cannot read %s (%d)", path, err);
    return (uint8_t *)text;
}

static void path_in(const fixture *f, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", f->dir, name);
}

static void submit_monthly(fixture *f, uint64_t expect_seq)
{
    json_error_t err;
    json_t *j = json_loads("{\"type\": \"monthly\", \"period\": \"2026-10\", \"tasks\": "
                           "[{\"task\": 3, \"status\": \"in_progress\", \"progress\": \"p\"}]}",
                           0, &err);
    assert_non_null(j);
    zb_problems p = {0}, w = {0};
    Zb__Report *r = zb_report_from_json(j, "", &p, &w);
    json_decref(j);
    assert_non_null(r);
    uint64_t first = 0, last = 0;
    int rc = zb_node_submit(f->node, &r, 1, NOW, false, &p, &first, &last);
    if (rc)
        fail_msg("submit: %s (%s)", zb_strerror(rc), p.n ? p.lines[0] : "");
    assert_int_equal(first, expect_seq);
    zb__report__free_unpacked(r, NULL);
    zb_problems_free(&p);
    zb_problems_free(&w);
}

/* Every stored report acknowledged (no receipt, no head). */
static void ack_all(fixture *f)
{
    uint64_t stored = status(f).stored;
    assert_int_equal(zb_node_record_ack(f->node, stored, NULL, 0, NULL, NULL), ZB_OK);
    assert_int_equal(status(f).acked, stored);
}

typedef struct {
    uint8_t hash[ZB_SHA256_LEN];
    uint8_t signer[ZB_PK_LEN];
} report_seen;

static int see_report(void *ctx, const zb_node_report *r)
{
    report_seen *s = ctx;
    Zb__Envelope *env = zb__envelope__unpack(NULL, r->envelope_len, r->envelope);
    assert_non_null(env);
    zb_report_hash(env->report.data, env->report.len, s->hash);
    assert_int_equal(env->signer.len, ZB_PK_LEN);
    memcpy(s->signer, env->signer.data, ZB_PK_LEN);
    zb__envelope__free_unpacked(env, NULL);
    return 0;
}

static report_seen report(fixture *f, uint64_t seq)
{
    report_seen s;
    assert_int_equal(zb_node_get_report(f->node, seq, 0, see_report, &s), ZB_OK);
    return s;
}

/* What the code under test logs meanwhile (stderr to a temporary file). */
typedef struct {
    int saved_fd;
    FILE *tmp;
} capture;

static capture capture_begin(void)
{
    capture c = {.saved_fd = dup(2), .tmp = tmpfile()};
    assert_true(c.saved_fd >= 0);
    assert_non_null(c.tmp);
    fflush(stderr);
    assert_true(dup2(fileno(c.tmp), 2) >= 0);
    zb_log_init("test_keys", ZB_LOG_WARN, false);
    return c;
}

static char *capture_end(capture *c)
{
    fflush(stderr);
    zb_log_init("test_keys", ZB_LOG_ERROR, false);
    assert_true(dup2(c->saved_fd, 2) >= 0);
    close(c->saved_fd);
    long len = ftell(c->tmp);
    assert_true(len >= 0);
    char *text = calloc(1, (size_t)len + 1);
    assert_non_null(text);
    rewind(c->tmp);
    assert_int_equal(fread(text, 1, (size_t)len, c->tmp), (size_t)len);
    fclose(c->tmp);
    return text;
}

/* ------------------------------------------------------------ a prefecture's log */

typedef struct {
    uint8_t *leaf[MAX_LEAVES]; /* owned */
    size_t len[MAX_LEAVES];
    uint8_t hash[MAX_LEAVES][ZB_HASH_LEN];
    bool key_event[MAX_LEAVES]; /* sent with the Welcome as a KeyEventProof */
    size_t n;
} test_log;

static uint64_t log_add(test_log *l, uint8_t *leaf, size_t len, bool key_event)
{
    assert_true(l->n < MAX_LEAVES);
    l->leaf[l->n] = leaf;
    l->len[l->n] = len;
    l->key_event[l->n] = key_event;
    zb_merkle_leaf_hash(leaf, len, l->hash[l->n]);
    return l->n++;
}

static void log_free(test_log *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->leaf[i]);
    memset(l, 0, sizeof *l);
}

/* A report of some county, as the log holds it (its bytes do not matter). */
static void add_filler(test_log *l)
{
    static const uint8_t env[] = {0x0a, 0x01, 0x00};
    uint8_t *leaf;
    size_t len;
    assert_int_equal(zb_leaf_of_envelope(NOW, env, sizeof env, &leaf, &len), ZB_OK);
    log_add(l, leaf, len, false);
}

/* A leaf holding e, as key event (sent with proofs) or not. */
static uint64_t add_event(test_log *l, const Zb__KeyEvent *e, bool send)
{
    Zb__LogLeaf leaf = ZB__LOG_LEAF__INIT;
    leaf.timestamp = NOW + (int64_t)l->n;
    leaf.entry_case = ZB__LOG_LEAF__ENTRY_KEY_EVENT;
    leaf.key_event = (Zb__KeyEvent *)e;
    uint8_t *buf;
    size_t len;
    assert_int_equal(zb_leaf_pack(&leaf, &buf, &len), ZB_OK);
    return log_add(l, buf, len, send);
}

/* ENROLLED: key for county at epoch, first seq `seq` after prev_hash,
 * with its request (request_len 0: none, which does not verify). */
static uint64_t add_enrolled(test_log *l, const char *county, uint32_t epoch,
                             const uint8_t key[ZB_PK_LEN], uint64_t seq,
                             const uint8_t prev_hash[ZB_SHA256_LEN], const uint8_t *request,
                             size_t request_len)
{
    static const uint8_t zero[ZB_SHA256_LEN] = {0};
    Zb__KeyEvent e = ZB__KEY_EVENT__INIT;
    e.county = (char *)county;
    e.epoch = epoch;
    e.kind = ZB__KEY_EVENT_KIND__ENROLLED;
    e.key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)key};
    e.seq = seq;
    e.has_prev_hash = 1;
    e.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, (uint8_t *)(prev_hash ? prev_hash : zero)};
    if (request_len) {
        e.has_request = 1;
        e.request = (ProtobufCBinaryData){request_len, (uint8_t *)request};
    }
    return add_event(l, &e, true);
}

/* REVOKED: key of county after seq; consented with its rotation request. */
static uint64_t add_revoked(test_log *l, uint32_t epoch, const uint8_t key[ZB_PK_LEN], uint64_t seq,
                            const uint8_t *request, size_t request_len)
{
    Zb__KeyEvent e = ZB__KEY_EVENT__INIT;
    e.county = (char *)COUNTY;
    e.epoch = epoch;
    e.kind = ZB__KEY_EVENT_KIND__REVOKED;
    e.key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)key};
    e.seq = seq;
    e.has_consented = 1;
    e.consented = request_len > 0;
    if (request_len) {
        e.has_request = 1;
        e.request = (ProtobufCBinaryData){request_len, (uint8_t *)request};
    }
    return add_event(l, &e, true);
}

/* Pack a message built on the stack and unpack it: heap-built. */
static ProtobufCMessage *heap_copy(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *c = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    assert_non_null(c);
    free(buf);
    return c;
}

/* The head of the whole log, signed by signer. Heap-built. */
static Zb__SignedTreeHead *sign_head(const test_log *l, const zb_identity *signer)
{
    uint8_t root[ZB_HASH_LEN];
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])l->hash, l->n, root);
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = l->n;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = NOW + 100;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)signer->pk};
    size_t len = zb__tree_head__get_packed_size(&th);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    zb__tree_head__pack(&th, buf);
    uint8_t sig[ZB_SIG_LEN];
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, buf, len, signer, sig), ZB_OK);
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){len, buf};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    Zb__SignedTreeHead *out = (Zb__SignedTreeHead *)heap_copy(&sth.base);
    free(buf);
    return out;
}

/* How a Welcome is spoiled. */
typedef enum {
    WELCOME_GOOD,
    WELCOME_BAD_PATH,      /* the first key event's path has a flipped bit */
    WELCOME_WRONG_INDEX,   /* the first key event claims the next index */
    WELCOME_OTHER_SIGNER,  /* the head is not signed by the node's aggregator */
    WELCOME_NO_CONSISTENCY /* no consistency proof from the head the node holds */
} welcome_kind;

/* Feed a Welcome of the whole log as sync.c does: zb_node_record_ack with
 * its head (and a consistency proof from the last head), then its key
 * events. Returns what was logged (malloc'd). */
static char *welcome(fixture *f, const test_log *l, welcome_kind kind)
{
    zb_identity other;
    zb_identity_generate(&other);
    Zb__SignedTreeHead *head = sign_head(l, kind == WELCOME_OTHER_SIGNER ? &other : &f->agg);
    zb_identity_wipe(&other);
    Zb__ConsistencyProof *cp = NULL;
    if (f->head_size && f->head_size < l->n && kind != WELCOME_NO_CONSISTENCY) {
        assert_int_equal(zb_consistency_proof_of_leaves((const uint8_t(*)[ZB_HASH_LEN])l->hash,
                                                        f->head_size, l->n, &cp),
                         ZB_OK);
    }
    /* the key events with their paths */
    Zb__KeyEventProof proofs[MAX_LEAVES], *ptrs[MAX_LEAVES];
    uint8_t paths[MAX_LEAVES][ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    ProtobufCBinaryData bins[MAX_LEAVES][ZB_MERKLE_MAX_PROOF];
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->key_event[i])
            continue;
        size_t count;
        assert_int_equal(zb_merkle_inclusion_proof((const uint8_t(*)[ZB_HASH_LEN])l->hash, l->n, i,
                                                   paths[n], &count),
                         ZB_OK);
        for (size_t k = 0; k < count; k++)
            bins[n][k] = (ProtobufCBinaryData){ZB_HASH_LEN, paths[n][k]};
        zb__key_event_proof__init(&proofs[n]);
        proofs[n].log_index = i;
        proofs[n].leaf = (ProtobufCBinaryData){l->len[i], l->leaf[i]};
        proofs[n].n_path = count;
        proofs[n].path = bins[n];
        ptrs[n] = &proofs[n];
        n++;
    }
    if (n && kind == WELCOME_BAD_PATH) {
        assert_true(proofs[0].n_path > 0);
        paths[0][0][5] ^= 0x10;
    }
    if (n && kind == WELCOME_WRONG_INDEX)
        proofs[0].log_index++;
    capture c = capture_begin();
    int rc = zb_node_record_ack(f->node, status(f).acked, NULL, 0, head, cp);
    if (rc == 0)
        rc = zb_node_take_key_events(f->node, head, ptrs, n);
    char *logged = capture_end(&c);
    assert_int_equal(rc, ZB_OK);
    if (kind == WELCOME_GOOD || kind == WELCOME_BAD_PATH || kind == WELCOME_WRONG_INDEX)
        f->head_size = l->n; /* accepted */
    if (cp)
        zb__consistency_proof__free_unpacked(cp, NULL);
    zb__signed_tree_head__free_unpacked(head, NULL);
    return logged;
}

static void welcome_quiet(fixture *f, const test_log *l)
{
    free(welcome(f, l, WELCOME_GOOD));
}

/* The request init wrote (malloc'd). */
static uint8_t *init_request(fixture *f, size_t *len)
{
    char path[700];
    path_in(f, ZB_NODE_KEY_REQUEST_FILE, path, sizeof path);
    return slurp(path, len);
}

/* Log: a filler, then the node's own enrolment at epoch 0, seq 1. */
static void log_own_enrolment(fixture *f, test_log *l)
{
    size_t len;
    uint8_t *req = init_request(f, &len);
    add_filler(l);
    add_enrolled(l, COUNTY, 0, status(f).node_key, 1, NULL, req, len);
    free(req);
}

/* ------------------------------------------------------------ init */

static void test_init_key_request(void **state)
{
    fixture *f = *state;
    char path[700];
    path_in(f, ZB_NODE_KEY_REQUEST_FILE, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t len;
    uint8_t *buf = init_request(f, &len);
    Zb__KeyRequest *req = NULL;
    assert_int_equal(zb_keyreq_open(buf, len, &req), ZB_OK);
    assert_string_equal(req->county, COUNTY);
    assert_int_equal(req->key.len, ZB_PK_LEN);
    assert_memory_equal(req->key.data, status(f).node_key, ZB_PK_LEN);
    assert_false(req->has_previous_key);
    assert_false(req->has_after_seq);
    zb__key_request__free_unpacked(req, NULL);
    /* signed by the node's key: a flipped bit does not open */
    buf[len - 1] ^= 1;
    assert_int_not_equal(zb_keyreq_open(buf, len, NULL), ZB_OK);
    free(buf);
    zb_node_keys k = keys(f);
    assert_int_equal(k.state, ZB_NODE_KEY_UNKNOWN);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_NONE);
    assert_false(k.rotation_waiting);
    assert_int_equal(k.events, 0);
}

/* ------------------------------------------------------------ rotate-key */

static void test_rotate_refused_with_pending(void **state)
{
    fixture *f = *state;
    uint8_t before[ZB_PK_LEN];
    memcpy(before, status(f).node_key, ZB_PK_LEN);
    size_t len0, len1;
    uint8_t *req0 = init_request(f, &len0);
    submit_monthly(f, 1);
    submit_monthly(f, 2);
    ack_all(f);
    submit_monthly(f, 3);
    zb_node_rotation r;
    assert_int_equal(zb_node_rotate_key(f->node, NULL, NOW, &r), ZB_EINVAL);
    assert_int_equal(r.pending, 1);
    /* nothing changed: the key, the request file, no staged key left */
    assert_memory_equal(status(f).node_key, before, ZB_PK_LEN);
    assert_memory_equal(zb_node_identity(f->node)->pk, before, ZB_PK_LEN);
    uint8_t *req1 = init_request(f, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(req0, req1, len0);
    free(req0);
    free(req1);
    char staged[700];
    path_in(f, "identity.key.new", staged, sizeof staged);
    assert_int_not_equal(access(staged, F_OK), 0);
    assert_false(keys(f).rotation_waiting);
}

static void test_rotate_refused_beside_sync(void **state)
{
    fixture *f = *state;
    zb_node *syncing = NULL;
    assert_int_equal(zb_node_open(&syncing, f->dir, false), ZB_OK);
    long holder = 0;
    assert_int_equal(zb_node_lock_sync(syncing, &holder), ZB_OK);
    zb_node_rotation r;
    uint8_t before[ZB_PK_LEN];
    memcpy(before, status(f).node_key, ZB_PK_LEN);
    assert_int_equal(zb_node_rotate_key(f->node, NULL, NOW, &r), ZB_ELOCKED);
    assert_int_equal(r.lock_holder, (long)getpid());
    assert_memory_equal(status(f).node_key, before, ZB_PK_LEN);
    zb_node_close(&syncing);
}

static void test_rotate(void **state)
{
    fixture *f = *state;
    submit_monthly(f, 1);
    submit_monthly(f, 2);
    ack_all(f);
    uint8_t old[ZB_PK_LEN];
    memcpy(old, status(f).node_key, ZB_PK_LEN);
    report_seen last = report(f, 2);
    char out[700];
    snprintf(out, sizeof out, "%s/rotation.req", f->root);

    /* only a key seen enrolled in the log can consent to its replacement */
    zb_node_rotation r;
    assert_int_equal(zb_node_rotate_key(f->node, out, NOW, &r), ZB_ENOTFOUND);
    test_log l = {0};
    log_own_enrolment(f, &l);
    welcome_quiet(f, &l);
    log_free(&l);
    assert_int_equal(zb_node_rotate_key(f->node, out, NOW, &r), ZB_OK);
    assert_false(r.rewritten);
    assert_true(r.request_written);
    assert_int_equal(r.after_seq, 2);
    assert_memory_equal(r.old_key, old, ZB_PK_LEN);
    assert_memory_not_equal(r.new_key, old, ZB_PK_LEN);
    /* the node is the new key: in memory, in the store, in identity.key */
    assert_memory_equal(zb_node_identity(f->node)->pk, r.new_key, ZB_PK_LEN);
    assert_memory_equal(status(f).node_key, r.new_key, ZB_PK_LEN);
    zb_node_close(&f->node);
    assert_int_equal(zb_node_open(&f->node, f->dir, false), ZB_OK);
    assert_memory_equal(zb_node_identity(f->node)->pk, r.new_key, ZB_PK_LEN);

    /* the request: the new key, consented by the old, after seq 2 */
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t len;
    uint8_t *buf = slurp(out, &len);
    Zb__KeyRequest *req = NULL;
    assert_int_equal(zb_keyreq_open(buf, len, &req), ZB_OK);
    assert_string_equal(req->county, COUNTY);
    assert_memory_equal(req->key.data, r.new_key, ZB_PK_LEN);
    assert_true(req->has_previous_key);
    assert_memory_equal(req->previous_key.data, old, ZB_PK_LEN);
    assert_int_equal(req->after_seq, 2);
    assert_memory_equal(req->after_hash.data, last.hash, ZB_SHA256_LEN);
    zb__key_request__free_unpacked(req, NULL);

    zb_node_keys k = keys(f);
    assert_int_equal(k.state, ZB_NODE_KEY_UNKNOWN);
    assert_true(k.rotation_waiting);

    /* again before the prefecture applied it: the same request, nothing else */
    char out2[700];
    snprintf(out2, sizeof out2, "%s/again.req", f->root);
    zb_node_rotation again;
    assert_int_equal(zb_node_rotate_key(f->node, out2, NOW + 5, &again), ZB_OK);
    assert_true(again.rewritten);
    assert_true(again.request_written);
    assert_memory_equal(again.new_key, r.new_key, ZB_PK_LEN);
    assert_memory_equal(again.old_key, old, ZB_PK_LEN);
    assert_int_equal(again.after_seq, 2);
    assert_memory_equal(zb_node_identity(f->node)->pk, r.new_key, ZB_PK_LEN);
    size_t len2;
    uint8_t *buf2 = slurp(out2, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    free(buf);
    free(buf2);

    /* reports from now on are signed by the new key */
    submit_monthly(f, 3);
    assert_memory_equal(report(f, 3).signer, r.new_key, ZB_PK_LEN);
    assert_memory_equal(report(f, 2).signer, old, ZB_PK_LEN);
}

/* A crash between the rotation's commit and the rename of its key: the
 * store names the staged key; the next writable open finishes it. */
static void test_rotation_finished_on_open(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    log_own_enrolment(f, &l);
    welcome_quiet(f, &l);
    log_free(&l);
    zb_node_rotation r;
    assert_int_equal(zb_node_rotate_key(f->node, NULL, NOW, &r), ZB_OK);
    zb_node_close(&f->node);
    char kp[700], staged[700];
    path_in(f, ZB_IDENTITY_FILE, kp, sizeof kp);
    path_in(f, "identity.key.new", staged, sizeof staged);
    assert_int_equal(rename(kp, staged), 0);
    zb_identity stale;
    zb_identity_generate(&stale); /* the key identity.key held before */
    assert_int_equal(zb_identity_save(kp, &stale), ZB_OK);
    zb_identity_wipe(&stale);
    capture c = capture_begin();
    int rc = zb_node_open(&f->node, f->dir, false);
    free(capture_end(&c));
    assert_int_equal(rc, ZB_OK);
    assert_memory_equal(zb_node_identity(f->node)->pk, r.new_key, ZB_PK_LEN);
    assert_int_not_equal(access(staged, F_OK), 0);

    /* a staged key the store does not name (a rotation that never
     * committed) is left alone, and the node opens with its own */
    zb_node_close(&f->node);
    zb_identity never;
    zb_identity_generate(&never);
    assert_int_equal(zb_identity_save(staged, &never), ZB_OK);
    zb_identity_wipe(&never);
    assert_int_equal(zb_node_open(&f->node, f->dir, false), ZB_OK);
    assert_memory_equal(zb_node_identity(f->node)->pk, r.new_key, ZB_PK_LEN);
    assert_int_equal(access(staged, F_OK), 0);
}

/* ------------------------------------------------------------ key monitoring */

static void test_own_enrolment_active(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    log_own_enrolment(f, &l);
    add_filler(&l);
    char *logged = welcome(f, &l, WELCOME_GOOD);
    assert_null(strstr(logged, "ZB-SYNC-KEY"));
    free(logged);
    zb_node_keys k = keys(f);
    assert_int_equal(k.state, ZB_NODE_KEY_ACTIVE);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_NONE);
    assert_int_equal(k.events, 1);
    assert_false(k.rotation_waiting);
    /* the same again (every Welcome sends them all): nothing new */
    logged = welcome(f, &l, WELCOME_GOOD);
    assert_null(strstr(logged, "ZB-SYNC-KEY"));
    free(logged);
    assert_int_equal(keys(f).events, 1);
    log_free(&l);
}

static void test_foreign_enrolment_alarm(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    log_own_enrolment(f, &l);
    welcome_quiet(f, &l);
    /* the prefecture enrols a key of its own for the county */
    zb_identity forger;
    zb_identity_generate(&forger);
    static const uint8_t no_hash[ZB_SHA256_LEN] = {0};
    uint8_t *req;
    size_t len;
    assert_int_equal(zb_keyreq_make(COUNTY, &forger, NULL, 0, no_hash, NOW, &req, &len), ZB_OK);
    add_filler(&l);
    uint64_t at = add_enrolled(&l, COUNTY, 1, forger.pk, 1, NULL, req, len);
    free(req);
    char *logged = welcome(f, &l, WELCOME_GOOD);
    if (!strstr(logged, "ERROR ZB-SYNC-KEY") || !strstr(logged, "never held"))
        fail_msg("no ZB-SYNC-KEY error for a foreign enrolment: %s", logged);
    free(logged);
    zb_node_keys k = keys(f);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_ENROLLED);
    assert_string_equal(zb_node_alarm_name(k.alarm), "enrolled");
    assert_int_equal(k.alarm_event.log_index, at);
    assert_true(k.alarm_event.has_key);
    assert_memory_equal(k.alarm_event.key, forger.pk, ZB_PK_LEN);
    assert_int_equal(k.state, ZB_NODE_KEY_ACTIVE); /* its own was not revoked */
    assert_int_equal(k.events, 2);
    /* the alarm stays, and is logged once */
    add_filler(&l);
    logged = welcome(f, &l, WELCOME_GOOD);
    assert_null(strstr(logged, "ZB-SYNC-KEY"));
    free(logged);
    zb_node_close(&f->node);
    assert_int_equal(zb_node_open(&f->node, f->dir, true), ZB_OK);
    assert_int_equal(keys(f).alarm, ZB_NODE_ALARM_ENROLLED);
    zb_identity_wipe(&forger);
    log_free(&l);
}

/* An earlier key of the county (a predecessor node's) is no alarm. */
static void test_predecessor_no_alarm(void **state)
{
    fixture *f = *state;
    zb_identity before;
    zb_identity_generate(&before);
    static const uint8_t no_hash[ZB_SHA256_LEN] = {0};
    uint8_t *req;
    size_t len;
    assert_int_equal(zb_keyreq_make(COUNTY, &before, NULL, 0, no_hash, NOW, &req, &len), ZB_OK);
    test_log l = {0};
    add_enrolled(&l, COUNTY, 0, before.pk, 1, NULL, req, len);
    add_revoked(&l, 0, before.pk, 0, NULL, 0); /* a lost machine */
    free(req);
    req = init_request(f, &len);
    add_enrolled(&l, COUNTY, 1, status(f).node_key, 1, NULL, req, len);
    free(req);
    char *logged = welcome(f, &l, WELCOME_GOOD);
    assert_null(strstr(logged, "ZB-SYNC-KEY"));
    free(logged);
    zb_node_keys k = keys(f);
    assert_int_equal(k.state, ZB_NODE_KEY_ACTIVE);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_NONE);
    assert_int_equal(k.events, 3);
    zb_identity_wipe(&before);
    log_free(&l);
}

static void test_revoked_without_consent(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    log_own_enrolment(f, &l);
    welcome_quiet(f, &l);
    add_filler(&l);
    uint64_t at = add_revoked(&l, 0, status(f).node_key, 0, NULL, 0);
    char *logged = welcome(f, &l, WELCOME_GOOD);
    if (!strstr(logged, "ERROR ZB-SYNC-KEY") || !strstr(logged, "without its consent"))
        fail_msg("no ZB-SYNC-KEY error for a revocation without consent: %s", logged);
    free(logged);
    zb_node_keys k = keys(f);
    assert_int_equal(k.state, ZB_NODE_KEY_REVOKED);
    assert_int_equal(k.revocation.log_index, at);
    assert_false(k.revocation.consented);
    assert_int_equal(k.revocation.time, NOW + (int64_t)at);
    assert_memory_equal(k.revocation.key, status(f).node_key, ZB_PK_LEN);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_REVOKED);
    assert_int_equal(k.alarm_event.log_index, at);
    /* the prefecture's own key follows: the first alarm stays */
    zb_identity forger;
    zb_identity_generate(&forger);
    static const uint8_t no_hash[ZB_SHA256_LEN] = {0};
    uint8_t *req;
    size_t len;
    assert_int_equal(zb_keyreq_make(COUNTY, &forger, NULL, 0, no_hash, NOW, &req, &len), ZB_OK);
    add_enrolled(&l, COUNTY, 1, forger.pk, 1, NULL, req, len);
    free(req);
    logged = welcome(f, &l, WELCOME_GOOD);
    assert_non_null(strstr(logged, "never held")); /* logged, but not the first */
    free(logged);
    k = keys(f);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_REVOKED);
    assert_int_equal(k.alarm_event.log_index, at);
    assert_int_equal(k.state, ZB_NODE_KEY_REVOKED);
    /* a revoked key cannot consent to a rotation */
    zb_node_rotation r;
    assert_int_equal(zb_node_rotate_key(f->node, NULL, NOW, &r), ZB_ENOTENROLLED);
    zb_identity_wipe(&forger);
    log_free(&l);
}

static void test_own_rotation_no_alarm(void **state)
{
    fixture *f = *state;
    submit_monthly(f, 1);
    ack_all(f);
    report_seen first = report(f, 1);
    test_log l = {0};
    log_own_enrolment(f, &l);
    add_filler(&l);
    welcome_quiet(f, &l);
    assert_int_equal(keys(f).state, ZB_NODE_KEY_ACTIVE);

    uint8_t old[ZB_PK_LEN];
    memcpy(old, status(f).node_key, ZB_PK_LEN);
    char out[700];
    snprintf(out, sizeof out, "%s/rotation.req", f->root);
    zb_node_rotation r;
    assert_int_equal(zb_node_rotate_key(f->node, out, NOW, &r), ZB_OK);
    zb_node_keys k = keys(f);
    assert_int_equal(k.state, ZB_NODE_KEY_UNKNOWN); /* the new key: not seen yet */
    assert_true(k.rotation_waiting);

    /* the prefecture applies it: the old key revoked with consent, the
     * new one enrolled, both carrying the rotation request */
    size_t len;
    uint8_t *req = slurp(out, &len);
    add_revoked(&l, 0, old, 1, req, len);
    uint64_t at = add_enrolled(&l, COUNTY, 1, r.new_key, 2, first.hash, req, len);
    free(req);
    char *logged = welcome(f, &l, WELCOME_GOOD);
    assert_null(strstr(logged, "ZB-SYNC-KEY"));
    free(logged);
    k = keys(f);
    assert_int_equal(k.state, ZB_NODE_KEY_ACTIVE);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_NONE);
    assert_false(k.rotation_waiting);
    assert_int_equal(k.events, 3);
    assert_int_equal(at, 4);
    log_free(&l);
}

static void test_bad_inclusion_not_trusted(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    add_filler(&l);
    add_filler(&l);
    add_revoked(&l, 0, status(f).node_key, 0, NULL, 0); /* would alarm, if trusted */
    add_filler(&l);
    char *logged = welcome(f, &l, WELCOME_BAD_PATH);
    if (!strstr(logged, "WARN ZB-SYNC-KEY") || !strstr(logged, "not trusted"))
        fail_msg("a proof that does not hold is not logged: %s", logged);
    free(logged);
    zb_node_keys k = keys(f);
    assert_int_equal(k.events, 0);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_NONE);
    assert_int_equal(k.state, ZB_NODE_KEY_UNKNOWN);
    /* nor a leaf claimed at another index */
    free(welcome(f, &l, WELCOME_WRONG_INDEX));
    assert_int_equal(keys(f).events, 0);
    /* the same, proven: trusted */
    free(welcome(f, &l, WELCOME_GOOD));
    k = keys(f);
    assert_int_equal(k.events, 1);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_REVOKED);
    log_free(&l);
}

static void test_head_not_accepted_not_trusted(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    add_filler(&l);
    add_revoked(&l, 0, status(f).node_key, 0, NULL, 0);
    /* signed by another aggregator */
    free(welcome(f, &l, WELCOME_OTHER_SIGNER));
    assert_int_equal(keys(f).events, 0);
    assert_int_equal(status(f).tree_size, 0);
    /* a head the node holds, then a larger one without a consistency proof */
    test_log small = {0};
    add_filler(&small);
    welcome_quiet(f, &small);
    assert_int_equal(status(f).tree_size, 1);
    free(welcome(f, &l, WELCOME_NO_CONSISTENCY));
    assert_int_equal(status(f).tree_size, 1);
    zb_node_keys k = keys(f);
    assert_int_equal(k.events, 0);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_NONE);
    log_free(&small);
    log_free(&l);
}

static void test_invalid_event_alarm(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    log_own_enrolment(f, &l);
    welcome_quiet(f, &l);
    /* an enrolment without the key's request (no proof of possession) */
    zb_identity forger;
    zb_identity_generate(&forger);
    uint64_t at = add_enrolled(&l, COUNTY, 1, forger.pk, 1, NULL, NULL, 0);
    char *logged = welcome(f, &l, WELCOME_GOOD);
    if (!strstr(logged, "the prefecture sent a key event that does not verify"))
        fail_msg("an invalid key event is not logged: %s", logged);
    free(logged);
    zb_node_keys k = keys(f);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_INVALID);
    assert_int_equal(k.alarm_event.log_index, at);
    assert_true(k.alarm_event.has_key);
    assert_memory_equal(k.alarm_event.key, forger.pk, ZB_PK_LEN);
    assert_int_equal(k.state, ZB_NODE_KEY_ACTIVE);
    zb_identity_wipe(&forger);
    log_free(&l);
}

/* Another county's event sent as this county's key event: proven in the
 * log, but not what it claims: an alarm. */
static void test_other_county_event_alarm(void **state)
{
    fixture *f = *state;
    test_log l = {0};
    log_own_enrolment(f, &l);
    zb_identity other;
    zb_identity_generate(&other);
    static const uint8_t no_hash[ZB_SHA256_LEN] = {0};
    uint8_t *req;
    size_t len;
    assert_int_equal(zb_keyreq_make("222402", &other, NULL, 0, no_hash, NOW, &req, &len), ZB_OK);
    uint64_t at = add_enrolled(&l, "222402", 0, other.pk, 1, NULL, req, len);
    free(req);
    char *logged = welcome(f, &l, WELCOME_GOOD);
    if (!strstr(logged, "county 222402"))
        fail_msg("another county's key event is not named: %s", logged);
    free(logged);
    zb_node_keys k = keys(f);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_INVALID);
    assert_int_equal(k.alarm_event.log_index, at);
    zb_identity_wipe(&other);
    log_free(&l);
}

/* A report's leaf sent as a key event: an alarm with no key to show. */
static void test_not_a_key_event_alarm(void **state)
{
    fixture *f = *state;
    test_log m = {0};
    add_filler(&m);
    m.key_event[0] = true;
    free(welcome(f, &m, WELCOME_GOOD));
    zb_node_keys k = keys(f);
    assert_int_equal(k.alarm, ZB_NODE_ALARM_INVALID);
    assert_int_equal(k.alarm_event.log_index, 0);
    assert_false(k.alarm_event.has_key);
    log_free(&m);
}

/* ------------------------------------------------------------ tree-head */

static void test_tree_head_file(void **state)
{
    fixture *f = *state;
    char out[700];
    snprintf(out, sizeof out, "%s/node.sth", f->root);
    uint64_t size = 99;
    assert_int_equal(zb_node_write_tree_head(f->node, out, &size), ZB_ENOTFOUND);
    assert_int_not_equal(access(out, F_OK), 0);

    test_log l = {0};
    add_filler(&l);
    add_filler(&l);
    welcome_quiet(f, &l);
    add_filler(&l);
    welcome_quiet(f, &l);
    Zb__SignedTreeHead *newest = sign_head(&l, &f->agg);
    assert_int_equal(zb_node_write_tree_head(f->node, out, &size), ZB_OK);
    assert_int_equal(size, 3);

    /* "ZBSTH1\n", the record's length (u32 BE), the packed SignedTreeHead */
    size_t len;
    uint8_t *buf = slurp(out, &len);
    const size_t magic = strlen("ZBSTH1\n");
    assert_true(len > magic + 4);
    assert_memory_equal(buf, "ZBSTH1\n", magic);
    uint32_t rec = zb_be32_get(buf + magic);
    assert_int_equal(len, magic + 4 + rec);
    size_t want_len = zb__signed_tree_head__get_packed_size(newest);
    uint8_t *want = malloc(want_len);
    assert_non_null(want);
    zb__signed_tree_head__pack(newest, want);
    assert_int_equal(rec, want_len);
    assert_memory_equal(buf + magic + 4, want, want_len);
    Zb__SignedTreeHead *sth = zb__signed_tree_head__unpack(NULL, rec, buf + magic + 4);
    assert_non_null(sth);
    zb_tree_head th;
    assert_int_equal(zb_tree_head_verify(sth, f->agg.pk, &th), ZB_OK);
    assert_int_equal(th.size, 3);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    free(want);
    free(buf);
    zb__signed_tree_head__free_unpacked(newest, NULL);
    log_free(&l);
}

int main(void)
{
    if (zb_crypto_init() != 0)
        return 1;
    zb_log_init("test_keys", ZB_LOG_ERROR, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_key_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_refused_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate_refused_beside_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_finished_on_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_enrolment_active, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_enrolment_alarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_predecessor_no_alarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_without_consent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_rotation_no_alarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inclusion_not_trusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_not_accepted_not_trusted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_event_alarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_county_event_alarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_key_event_alarm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tree_head_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
