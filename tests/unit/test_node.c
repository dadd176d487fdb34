/*
 * test_node.c - the county node's store (node/node.h) on real LMDB
 * directories: submitting (one report, bulk all-or-nothing, accident
 * revisions, monthly versions), acknowledgements and receipts, and the
 * re-verification of a clean store.
 *
 * Receipts and tree heads are built here from common/ code alone, as an
 * aggregator would: a log whose leaves are the node's stored envelopes, a
 * head signed with an aggregator key the node was created with, a
 * statement over the Merkle root of the reports' hashes and one inclusion
 * proof per report. Every test gets its own node under a fresh mkdtemp
 * directory, removed afterwards, so tests run in any order.
 *
 * Also (issue 17): tree heads dated backwards (accepted, logged
 * ZB-SYNC-CLOCK, a finding of verify_all), the persisted count of
 * SERVER_ERROR refusals, the one-sync lock, and the identity file's mode.
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
#include "log.h"
#include "logleaf.h"
#include "merkle.h"
#include "node.h"
#include "report.h"
#include "timefmt.h"
#include "treehead.h"

#define COUNTY "222401"
#define NOW 1800000000 /* 2027-01-15: the reports' periods and times are before it */
#define MAX_REPORTS 16

typedef struct {
    char root[512];     /* mkdtemp directory */
    char dir[600];      /* root/node */
    zb_identity agg;    /* the aggregator the node was created for */
    zb_node *node;
} fixture;

/* ------------------------------------------------------------ fixture */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/zb-test-node-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/node", f->root);
    zb_identity_generate(&f->agg);
    char agg_hex[2 * ZB_PK_LEN + 1], node_hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(f->agg.pk, ZB_PK_LEN, agg_hex);
    *state = f;
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

/* ------------------------------------------------------------ reports */

static Zb__Report *from_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    zb_problems problems = {0}, warnings = {0};
    Zb__Report *r = zb_report_from_json(j, "", &problems, &warnings);
    if (!r)
        fail_msg("test report refused: %s", problems.n ? problems.lines[0] : "?");
    assert_int_equal(warnings.n, 0);
    json_decref(j);
    zb_problems_free(&problems);
    zb_problems_free(&warnings);
    return r;
}

static Zb__Report *monthly(const char *period)
{
    char text[300];
    snprintf(text, sizeof text,
             "{\"type\": \"monthly\", \"period\": \"%s\", \"tasks\": [{\"task\": 3, "
             "\"status\": \"in_progress\", \"progress\": \"p\"}], \"stats\": {\"inspections\": 2}}",
             period);
    return from_json(text);
}

static Zb__Report *accident(const char *id, unsigned revision)
{
    char text[700];
    snprintf(text, sizeof text,
             "{\"type\": \"accident\", \"accident_id\": \"%s\", \"revision\": %u, "
             "\"occurred_at\": \"2026-10-14T08:30:00+08:00\", "
             "\"county_notified_at\": \"2026-10-14T08:50:00+08:00\", \"place\": \"p\", "
             "\"unit\": {\"name\": \"u\"}, \"industry\": \"construction\", "
             "\"category\": \"lifting_injury\", \"summary\": \"s\", "
             "\"deaths\": 0, \"missing\": 0, \"serious_injuries\": 1, \"minor_injuries\": 0, "
             "\"direct_loss_yuan\": 1000}",
             id, revision);
    return from_json(text);
}

/* Submit reports[0..n) (freed here) with problems collected in *p (freed
 * by the caller). */
static int submit(fixture *f, Zb__Report **reports, size_t n, zb_problems *p, uint64_t *first,
                  uint64_t *last)
{
    int rc = zb_node_submit(f->node, reports, n, NOW, n > 1, p, first, last);
    for (size_t i = 0; i < n; i++)
        zb__report__free_unpacked(reports[i], NULL);
    return rc;
}

static void submit_ok(fixture *f, Zb__Report *r, uint64_t expect_seq)
{
    zb_problems p = {0};
    uint64_t first = 0, last = 0;
    int rc = submit(f, &r, 1, &p, &first, &last);
    if (rc)
        fail_msg("submit: %s (%s)", zb_strerror(rc), p.n ? p.lines[0] : "");
    assert_int_equal(first, expect_seq);
    assert_int_equal(last, expect_seq);
    zb_problems_free(&p);
}

static zb_node_status status(fixture *f)
{
    zb_node_status st;
    assert_int_equal(zb_node_get_status(f->node, &st), ZB_OK);
    return st;
}

/* A stored report, opened: what zb_node_get_report handed over, copied. */
typedef struct {
    uint64_t seq;
    zb_node_sync_state sync;
    int64_t received_at;
    Zb__Report *report;
    uint8_t report_hash[ZB_SHA256_LEN];
} opened;

static int open_one(void *ctx, const zb_node_report *r)
{
    opened *o = ctx;
    Zb__Envelope *env = NULL;
    o->seq = r->seq;
    o->sync = r->sync;
    o->received_at = r->received_at;
    if (zb_envelope_open(r->envelope, r->envelope_len, &env, &o->report) != 0)
        return 1; /* stop: the test fails on it */
    zb_report_hash(env->report.data, env->report.len, o->report_hash);
    zb__envelope__free_unpacked(env, NULL);
    return 0;
}

static opened get_report(fixture *f, uint64_t seq, unsigned flags)
{
    opened o = {0};
    assert_int_equal(zb_node_get_report(f->node, seq, flags, open_one, &o), ZB_OK);
    assert_non_null(o.report);
    assert_int_equal(o.seq, seq);
    return o;
}

/* Seqs a walk visited, with their sync states. */
typedef struct {
    uint64_t seq[MAX_REPORTS];
    zb_node_sync_state sync[MAX_REPORTS];
    size_t n;
} walked;

static int walk_one(void *ctx, const zb_node_report *r)
{
    walked *w = ctx;
    assert_true(w->n < MAX_REPORTS);
    assert_true(r->envelope_len > 0);
    w->seq[w->n] = r->seq;
    w->sync[w->n++] = r->sync;
    return 0;
}

static walked walk(fixture *f, uint64_t from, unsigned flags)
{
    walked w = {0};
    assert_int_equal(zb_node_each_report(f->node, from, flags, walk_one, &w), ZB_OK);
    return w;
}

/* ------------------------------------------------------------ an aggregator's log */

/* The log an aggregator holds after storing this node's reports 1..n:
 * leaf i is the envelope of seq i + 1; report_leaves are the leaves of a
 * receipt's batch root (over SHA-256 of each report). */
typedef struct {
    uint8_t leaves[MAX_REPORTS][ZB_HASH_LEN];
    uint8_t report_leaves[MAX_REPORTS][ZB_HASH_LEN];
    uint64_t n;
    /* a version-2 log: each envelope in a LogLeaf entered at leaf_time
     * (the receipt's proofs say proof_time); else bare envelopes */
    bool timed;
    int64_t leaf_time, proof_time;
} node_log;

static int log_one(void *ctx, const zb_node_report *r)
{
    node_log *l = ctx;
    assert_true(l->n < MAX_REPORTS);
    if (l->timed)
        assert_int_equal(zb_leaf_hash_envelope(r->envelope, r->envelope_len, true, l->leaf_time,
                                               l->leaves[l->n]),
                         ZB_OK);
    else
        zb_envelope_leaf_hash(r->envelope, r->envelope_len, l->leaves[l->n]);
    Zb__Envelope *env = zb__envelope__unpack(NULL, r->envelope_len, r->envelope);
    assert_non_null(env);
    uint8_t h[ZB_SHA256_LEN];
    zb_report_hash(env->report.data, env->report.len, h);
    zb_merkle_leaf_hash(h, sizeof h, l->report_leaves[l->n++]);
    zb__envelope__free_unpacked(env, NULL);
    return 0;
}

static node_log log_of(fixture *f)
{
    node_log l = {0};
    assert_int_equal(zb_node_each_report(f->node, 1, 0, log_one, &l), ZB_OK);
    return l;
}

/* Pack a message built on the stack and unpack it: heap-built, freed with
 * its free_unpacked. */
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

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    return buf;
}

/* The tree head of the whole log, signed by f->agg at time `at`. */
static Zb__SignedTreeHead *sign_head_at(fixture *f, const node_log *l, int64_t at)
{
    uint8_t root[ZB_HASH_LEN];
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])l->leaves, l->n, root);
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = l->n;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = at;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, f->agg.pk};
    size_t len;
    uint8_t *buf = pack(&th.base, &len);
    uint8_t sig[ZB_SIG_LEN];
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, buf, len, &f->agg, sig), ZB_OK);
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){len, buf};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    Zb__SignedTreeHead *out = (Zb__SignedTreeHead *)heap_copy(&sth.base);
    free(buf);
    return out;
}

static Zb__SignedTreeHead *sign_head(fixture *f, const node_log *l)
{
    return sign_head_at(f, l, NOW);
}

typedef enum { RECEIPT_GOOD, RECEIPT_WRONG_ROOT, RECEIPT_OTHER_SIGNER } receipt_kind;

/* A receipt for first..last with its head and inclusion proofs, as an
 * aggregator sends it; kind spoils it in one way. Heap-built. */
static Zb__BatchReceipt *make_receipt(fixture *f, const node_log *l, uint64_t first,
                                      uint64_t last, const Zb__SignedTreeHead *head,
                                      receipt_kind kind)
{
    uint8_t root[ZB_HASH_LEN];
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])l->report_leaves + (first - 1),
                             last - first + 1, root);
    if (kind == RECEIPT_WRONG_ROOT)
        root[0] ^= 1;
    Zb__ReceiptStatement st = ZB__RECEIPT_STATEMENT__INIT;
    st.county = (char *)COUNTY;
    st.first_seq = first;
    st.last_seq = last;
    st.received_at = NOW + 1;
    st.batch_root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    st.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, f->agg.pk};
    size_t len;
    uint8_t *buf = pack(&st.base, &len);
    zb_identity other;
    zb_identity_generate(&other);
    uint8_t sig[ZB_SIG_LEN];
    assert_int_equal(zb_sign_tagged(ZB_TAG_RECEIPT, buf, len,
                                    kind == RECEIPT_OTHER_SIGNER ? &other : &f->agg, sig),
                     ZB_OK);
    zb_identity_wipe(&other);

    Zb__InclusionProof proofs[MAX_REPORTS], *proof_ptrs[MAX_REPORTS];
    uint8_t paths[MAX_REPORTS][ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    ProtobufCBinaryData path_bins[MAX_REPORTS][ZB_MERKLE_MAX_PROOF];
    size_t n = (size_t)(last - first + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = first + i;
        size_t count;
        assert_int_equal(zb_merkle_inclusion_proof((const uint8_t(*)[ZB_HASH_LEN])l->leaves,
                                                   l->n, seq - 1, paths[i], &count),
                         ZB_OK);
        for (size_t k = 0; k < count; k++)
            path_bins[i][k] = (ProtobufCBinaryData){ZB_HASH_LEN, paths[i][k]};
        zb__inclusion_proof__init(&proofs[i]);
        proofs[i].seq = seq;
        proofs[i].log_index = seq - 1;
        proofs[i].has_leaf_time = l->timed;
        proofs[i].leaf_time = l->proof_time;
        proofs[i].n_path = count;
        proofs[i].path = path_bins[i];
        proof_ptrs[i] = &proofs[i];
    }
    Zb__BatchReceipt br = ZB__BATCH_RECEIPT__INIT;
    br.statement = (ProtobufCBinaryData){len, buf};
    br.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    br.tree_head = (Zb__SignedTreeHead *)head;
    br.n_proofs = n;
    br.proofs = proof_ptrs;
    Zb__BatchReceipt *out = (Zb__BatchReceipt *)heap_copy(&br.base);
    free(buf);
    return out;
}

/* Acknowledge everything stored with one receipt of the given kind. */
static void ack_with_receipt(fixture *f, receipt_kind kind, bool tamper_statement)
{
    node_log l = log_of(f);
    Zb__SignedTreeHead *head = sign_head(f, &l);
    Zb__BatchReceipt *r = make_receipt(f, &l, 1, l.n, head, kind);
    if (tamper_statement)
        r->statement.data[r->statement.len - 1] ^= 1; /* after it was signed */
    assert_int_equal(zb_node_record_ack(f->node, l.n, &r, 1, head, NULL), ZB_OK);
    zb__batch_receipt__free_unpacked(r, NULL);
    zb__signed_tree_head__free_unpacked(head, NULL);
}

typedef struct {
    size_t n;
    zb_node_receipt last;
} receipts_seen;

static int receipt_one(void *ctx, const zb_node_receipt *r)
{
    receipts_seen *s = ctx;
    s->n++;
    s->last = *r;
    s->last.receipt = NULL; /* borrowed: gone after the walk */
    return 0;
}

static receipts_seen stored_receipts(fixture *f)
{
    receipts_seen s = {0};
    assert_int_equal(zb_node_each_receipt(f->node, receipt_one, &s), ZB_OK);
    return s;
}

/* ------------------------------------------------------------ submit */

static void test_submit_single(void **state)
{
    fixture *f = *state;
    submit_ok(f, monthly("2026-10"), 1);
    zb_node_status st = status(f);
    assert_int_equal(st.stored, 1);
    assert_int_equal(st.acked, 0);
    assert_string_equal(st.county, COUNTY);

    /* the header was filled by the node: county, seq 1, the zero hash before it */
    opened o = get_report(f, 1, ZB_NODE_WITH_SYNC_STATE);
    assert_string_equal(o.report->county, COUNTY);
    assert_int_equal(o.report->seq, 1);
    assert_int_equal(o.report->created_at, NOW);
    uint8_t zero[ZB_SHA256_LEN] = {0};
    assert_int_equal(o.report->prev_hash.len, ZB_SHA256_LEN);
    assert_memory_equal(o.report->prev_hash.data, zero, ZB_SHA256_LEN);
    assert_int_equal(o.sync, ZB_NODE_PENDING);
    zb__report__free_unpacked(o.report, NULL);

    opened none = {0};
    assert_int_equal(zb_node_get_report(f->node, 2, 0, open_one, &none), ZB_ENOTFOUND);
    assert_null(none.report);
}

static void test_submit_bulk_all_or_nothing(void **state)
{
    fixture *f = *state;
    Zb__Report *r[3] = {monthly("2026-10"), monthly("2999-01") /* in the future */,
                        accident("A-1", 0)};
    zb_problems p = {0};
    uint64_t first = 0, last = 0;
    assert_int_equal(submit(f, r, 3, &p, &first, &last), ZB_EVALIDATION);
    assert_true(p.n >= 1);
    for (size_t i = 0; i < p.n; i++)
        if (strncmp(p.lines[i], "[1].", 4) != 0)
            fail_msg("a problem not about report [1]: %s", p.lines[i]);
    zb_problems_free(&p);
    assert_int_equal(status(f).stored, 0);
    assert_int_equal(walk(f, 1, 0).n, 0);

    /* nothing was consumed: not the seqs, not accident A-1's revision 0 */
    Zb__Report *good[2] = {monthly("2026-10"), accident("A-1", 0)};
    assert_int_equal(submit(f, good, 2, &p, &first, &last), ZB_OK);
    assert_int_equal(p.n, 0);
    assert_int_equal(first, 1);
    assert_int_equal(last, 2);
    walked w = walk(f, 1, 0);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.seq[0], 1);
    assert_int_equal(w.seq[1], 2);
}

static void test_accident_revision_must_follow(void **state)
{
    fixture *f = *state;
    zb_problems p = {0};
    uint64_t first, last;

    Zb__Report *r = accident("A-7", 1);
    assert_int_equal(submit(f, &r, 1, &p, &first, &last), ZB_EVALIDATION);
    assert_int_equal(p.n, 1);
    assert_non_null(strstr(p.lines[0], "no initial report"));
    zb_problems_free(&p);

    submit_ok(f, accident("A-7", 0), 1);
    r = accident("A-7", 2); /* skips 1 */
    assert_int_equal(submit(f, &r, 1, &p, &first, &last), ZB_EVALIDATION);
    assert_int_equal(p.n, 1);
    assert_non_null(strstr(p.lines[0], "does not follow"));
    zb_problems_free(&p);
    r = accident("A-7", 0); /* again */
    assert_int_equal(submit(f, &r, 1, &p, &first, &last), ZB_EVALIDATION);
    zb_problems_free(&p);

    submit_ok(f, accident("A-7", 1), 2);
    /* within one bulk submit, each revision follows the one before it */
    Zb__Report *bulk[2] = {accident("B-1", 0), accident("B-1", 1)};
    assert_int_equal(submit(f, bulk, 2, &p, &first, &last), ZB_OK);
    assert_int_equal(first, 3);
    assert_int_equal(last, 4);
    assert_int_equal(status(f).stored, 4);
}

/* An accident's revision r with the given stage (and, for a write-off, its
 * reason). */
static Zb__Report *accident_at(const char *id, unsigned revision, Zb__Stage stage)
{
    Zb__Report *r = accident(id, revision);
    r->accident->has_stage = 1;
    r->accident->stage = stage;
    if (stage == ZB__STAGE__WRITE_OFF) {
        r->accident->write_off_reason = strdup("不属于生产安全事故");
        assert_non_null(r->accident->write_off_reason);
    }
    return r;
}

/* Expect submitting r (freed) to be refused with exactly one problem that
 * equals want, and nothing stored. */
static void expect_refused_one(fixture *f, Zb__Report **r, size_t n, const char *want)
{
    zb_problems p = {0};
    uint64_t first, last, stored = status(f).stored;
    assert_int_equal(submit(f, r, n, &p, &first, &last), ZB_EVALIDATION);
    if (p.n != 1 || strcmp(p.lines[0], want) != 0)
        fail_msg("want the one problem \"%s\", got %zu (%s)", want, p.n, p.n ? p.lines[0] : "");
    zb_problems_free(&p);
    assert_int_equal(status(f).stored, stored);
}

/* Issue 11: a closing (结案) or a write-off (核销) ends an accident; the
 * node remembers it across runs and refuses any revision after it. */
static void test_no_revision_after_closing(void **state)
{
    fixture *f = *state;
    submit_ok(f, accident("C-1", 0), 1);
    submit_ok(f, accident("C-1", 1), 2);                        /* an open record */
    submit_ok(f, accident_at("C-1", 2, ZB__STAGE__CLOSING), 3); /* read from 8 bytes */
    Zb__Report *r = accident("C-1", 3);
    expect_refused_one(f, &r, 1,
                       "revision: accident C-1 was closed at revision 2: no revision may follow");
    /* not even a write-off, nor the same revision again */
    r = accident_at("C-1", 3, ZB__STAGE__WRITE_OFF);
    expect_refused_one(f, &r, 1,
                       "revision: accident C-1 was closed at revision 2: no revision may follow");
    r = accident_at("C-1", 2, ZB__STAGE__CLOSING);
    expect_refused_one(f, &r, 1,
                       "revision: accident C-1 was closed at revision 2: no revision may follow");

    /* a write-off within one bulk submit: what follows it is refused, the
     * whole submit with it */
    Zb__Report *bulk[3] = {accident("W-1", 0), accident_at("W-1", 1, ZB__STAGE__WRITE_OFF),
                           accident("W-1", 2)};
    expect_refused_one(f, bulk, 3,
                       "[2].revision: accident W-1 was written off at revision 1: no revision "
                       "may follow");
    Zb__Report *ok[2] = {accident("W-1", 0), accident_at("W-1", 1, ZB__STAGE__WRITE_OFF)};
    zb_problems p = {0};
    uint64_t first, last;
    assert_int_equal(submit(f, ok, 2, &p, &first, &last), ZB_OK);
    assert_int_equal(first, 4);
    assert_int_equal(last, 5);

    /* remembered across a close and reopen */
    zb_node_close(&f->node);
    assert_int_equal(zb_node_open(&f->node, f->dir, false), ZB_OK);
    r = accident("W-1", 2);
    expect_refused_one(f, &r, 1,
                       "revision: accident W-1 was written off at revision 1: no revision may "
                       "follow");
    r = accident("C-1", 3);
    expect_refused_one(f, &r, 1,
                       "revision: accident C-1 was closed at revision 2: no revision may follow");
    /* other accidents go on */
    submit_ok(f, accident("C-2", 0), 6);
    submit_ok(f, accident_at("C-2", 1, ZB__STAGE__SUPPLEMENT), 7);
    submit_ok(f, accident("C-2", 2), 8);

    /* a damaged record is an error, not a verdict */
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_node_store(f->node), false, &txn), ZB_OK);
    static const uint8_t bad[9] = {0, 0, 0, 0, 0, 0, 0, 1, ZB__STAGE__SUPPLEMENT};
    assert_int_equal(zb_store_put_bin(txn, zb_store_dbi(zb_node_store(f->node), NODE_DB_ACCIDENTS),
                                      "C-2", bad, sizeof bad),
                     ZB_OK);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    r = accident("C-2", 3);
    assert_int_equal(submit(f, &r, 1, &p, &first, &last), ZB_EDECODE);
    assert_int_equal(status(f).stored, 8);
    zb_problems_free(&p);
}

static void test_monthly_versions(void **state)
{
    fixture *f = *state;
    /* a month's report may be filed again: every version is kept, chained */
    for (uint64_t seq = 1; seq <= 3; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    uint8_t prev[ZB_SHA256_LEN] = {0};
    for (uint64_t seq = 1; seq <= 3; seq++) {
        opened o = get_report(f, seq, 0);
        assert_string_equal(o.report->monthly->period, "2026-10");
        assert_memory_equal(o.report->prev_hash.data, prev, ZB_SHA256_LEN);
        memcpy(prev, o.report_hash, ZB_SHA256_LEN);
        zb__report__free_unpacked(o.report, NULL);
    }
}

/* ------------------------------------------------------------ acknowledgements */

static void test_ack_monotonic(void **state)
{
    fixture *f = *state;
    for (uint64_t seq = 1; seq <= 5; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    assert_int_equal(zb_node_record_ack(f->node, 3, NULL, 0, NULL, NULL), ZB_OK);
    assert_int_equal(status(f).acked, 3);
    assert_int_equal(zb_node_record_ack(f->node, 2, NULL, 0, NULL, NULL), ZB_OK);
    assert_int_equal(status(f).acked, 3); /* a lower value is ignored */

    walked w = walk(f, 1, ZB_NODE_WITH_SYNC_STATE);
    assert_int_equal(w.n, 5);
    for (size_t i = 0; i < w.n; i++)
        assert_int_equal(w.sync[i], w.seq[i] <= 3 ? ZB_NODE_ACKED : ZB_NODE_PENDING);
    w = walk(f, 1, ZB_NODE_FROM_UNACKED);
    assert_int_equal(w.n, 2);
    assert_int_equal(w.seq[0], 4);

    /* more than was stored: held at what this node has */
    assert_int_equal(zb_node_record_ack(f->node, 9, NULL, 0, NULL, NULL), ZB_OK);
    zb_node_status st = status(f);
    assert_int_equal(st.acked, 5);
    assert_int_equal(st.receipts, 0);
    assert_int_equal(walk(f, 1, ZB_NODE_FROM_UNACKED).n, 0);
}

static void test_receipt_kept(void **state)
{
    fixture *f = *state;
    for (uint64_t seq = 1; seq <= 4; seq++)
        submit_ok(f, seq % 2 ? monthly("2026-10") : accident(seq == 2 ? "C-1" : "C-2", 0), seq);
    ack_with_receipt(f, RECEIPT_GOOD, false);
    zb_node_status st = status(f);
    assert_int_equal(st.acked, 4);
    assert_int_equal(st.receipts, 4);
    assert_int_equal(st.tree_size, 4);

    receipts_seen s = stored_receipts(f);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last.verify, ZB_OK);
    assert_int_equal(s.last.first_seq, 1);
    assert_int_equal(s.last.last_seq, 4);
    assert_int_equal(s.last.received_at, NOW + 1);
    assert_true(s.last.has_signature);

    walked w = walk(f, 1, ZB_NODE_WITH_SYNC_STATE);
    assert_int_equal(w.n, 4);
    for (size_t i = 0; i < w.n; i++)
        assert_int_equal(w.sync[i], ZB_NODE_RECEIPTED);
    opened o = get_report(f, 2, ZB_NODE_WITH_SYNC_STATE);
    assert_int_equal(o.sync, ZB_NODE_RECEIPTED);
    assert_int_equal(o.received_at, NOW + 1);
    zb__report__free_unpacked(o.report, NULL);
}

static void test_tampered_receipts_dropped(void **state)
{
    fixture *f = *state;
    for (uint64_t seq = 1; seq <= 3; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    ack_with_receipt(f, RECEIPT_WRONG_ROOT, false);   /* signed, but not over our reports */
    ack_with_receipt(f, RECEIPT_OTHER_SIGNER, false); /* not the aggregator's signature */
    ack_with_receipt(f, RECEIPT_GOOD, true);          /* statement changed after signing */
    zb_node_status st = status(f);
    assert_int_equal(st.acked, 3); /* the acknowledgement itself stands */
    assert_int_equal(st.receipts, 0);
    assert_int_equal(stored_receipts(f).n, 0);
    walked w = walk(f, 1, ZB_NODE_WITH_SYNC_STATE);
    for (size_t i = 0; i < w.n; i++)
        assert_int_equal(w.sync[i], ZB_NODE_ACKED);

    /* the honest one after them is kept */
    ack_with_receipt(f, RECEIPT_GOOD, false);
    assert_int_equal(status(f).receipts, 3);
    assert_int_equal(stored_receipts(f).n, 1);
}

/* ------------------------------------------------------------ verify_all */

typedef struct {
    long n;
    char lines[4][320]; /* the first ones */
} findings;

static void on_finding(void *ctx, const char *line)
{
    findings *fs = ctx;
    if (fs->n < 4)
        snprintf(fs->lines[fs->n], sizeof fs->lines[0], "%s", line);
    fs->n++;
}

static void test_verify_all_clean(void **state)
{
    fixture *f = *state;
    findings fs = {0};
    uint64_t receipts, reports, newest;
    assert_int_equal(zb_node_verify_all(f->node, on_finding, &fs, &receipts, &reports, &newest),
                     0); /* an empty store */
    assert_int_equal(receipts, 0);

    for (uint64_t seq = 1; seq <= 6; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    ack_with_receipt(f, RECEIPT_GOOD, false);
    long n = zb_node_verify_all(f->node, on_finding, &fs, &receipts, &reports, &newest);
    if (n != 0)
        fail_msg("%ld finding(s) on a clean store: %s", n, fs.lines[0]);
    assert_int_equal(fs.n, 0);
    assert_int_equal(receipts, 1);
    assert_int_equal(reports, 6);
    assert_int_equal(newest, 6);
}

/* Issue 13: in a version-2 log a report's leaf is a LogLeaf holding its
 * envelope and receive time; the receipt's proofs carry that time
 * (InclusionProof.leaf_time) and the node hashes the leaf from it. */
static void test_receipt_leaf_time(void **state)
{
    fixture *f = *state;
    for (uint64_t seq = 1; seq <= 3; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    node_log l = {.timed = true, .leaf_time = NOW + 1, .proof_time = NOW + 2};
    assert_int_equal(zb_node_each_report(f->node, 1, 0, log_one, &l), ZB_OK);
    Zb__SignedTreeHead *head = sign_head(f, &l);
    /* a proof that misstates the leaf's time does not reach the root */
    Zb__BatchReceipt *r = make_receipt(f, &l, 1, 3, head, RECEIPT_GOOD);
    assert_int_equal(zb_node_record_ack(f->node, 3, &r, 1, head, NULL), ZB_OK);
    zb__batch_receipt__free_unpacked(r, NULL);
    assert_int_equal(status(f).receipts, 0);
    /* nor one that says nothing of it (a bare-envelope leaf) */
    l.timed = false;
    r = make_receipt(f, &l, 1, 3, head, RECEIPT_GOOD);
    assert_int_equal(zb_node_record_ack(f->node, 3, &r, 1, head, NULL), ZB_OK);
    zb__batch_receipt__free_unpacked(r, NULL);
    assert_int_equal(status(f).receipts, 0);
    /* the time as logged: kept, and verified again by verify_all */
    l.timed = true;
    l.proof_time = NOW + 1;
    r = make_receipt(f, &l, 1, 3, head, RECEIPT_GOOD);
    assert_int_equal(zb_node_record_ack(f->node, 3, &r, 1, head, NULL), ZB_OK);
    zb__batch_receipt__free_unpacked(r, NULL);
    zb__signed_tree_head__free_unpacked(head, NULL);
    assert_int_equal(status(f).receipts, 3);
    walked w = walk(f, 1, ZB_NODE_WITH_SYNC_STATE);
    for (size_t i = 0; i < w.n; i++)
        assert_int_equal(w.sync[i], ZB_NODE_RECEIPTED);
    findings fs = {0};
    uint64_t receipts, reports, newest;
    assert_int_equal(zb_node_verify_all(f->node, on_finding, &fs, &receipts, &reports, &newest),
                     0);
    assert_int_equal(receipts, 1);
    assert_int_equal(reports, 3);
}


/* ------------------------------------------------------------ issue 17 */

/* What the code under test logs to stderr while `capture` is on: fd 2
 * goes to a temporary file, read back by capture_end (malloc'd text). */
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
    zb_log_init("test_node", ZB_LOG_WARN, false);
    return c;
}

static char *capture_end(capture *c)
{
    fflush(stderr);
    zb_log_init("test_node", ZB_LOG_ERROR, false);
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

/* The log's first `size` leaves signed at `at`; with a consistency proof
 * from old_size when old_size > 0 (heap-built, caller frees). */
static Zb__ConsistencyProof *consistency(const node_log *l, uint64_t old_size, uint64_t size)
{
    Zb__ConsistencyProof *cp;
    assert_int_equal(zb_consistency_proof_of_leaves((const uint8_t(*)[ZB_HASH_LEN])l->leaves,
                                                    old_size, size, &cp),
                     ZB_OK);
    return cp;
}

/* Acknowledge seq `size` (the log then holds reports 1..size) with a head
 * of that size signed at `at`, proven from the head of old_size; returns
 * what was logged meanwhile (malloc'd). */
static char *ack_head_at(fixture *f, uint64_t old_size, uint64_t size, int64_t at)
{
    node_log l = log_of(f);
    assert_true(size <= l.n);
    l.n = size; /* the log as it was when this head was signed */
    Zb__SignedTreeHead *head = sign_head_at(f, &l, at);
    Zb__BatchReceipt *r = make_receipt(f, &l, old_size + 1, size, head, RECEIPT_GOOD);
    Zb__ConsistencyProof *cp = old_size ? consistency(&l, old_size, size) : NULL;
    capture c = capture_begin();
    int rc = zb_node_record_ack(f->node, size, &r, 1, head, cp);
    char *logged = capture_end(&c);
    assert_int_equal(rc, ZB_OK);
    if (cp)
        zb__consistency_proof__free_unpacked(cp, NULL);
    zb__batch_receipt__free_unpacked(r, NULL);
    zb__signed_tree_head__free_unpacked(head, NULL);
    return logged;
}

/* An aggregator run with its clock 400 days ahead, then corrected: its
 * next head is dated before the one the node holds. The log is still
 * consistent: the head is accepted (receipts kept), logged ZB-SYNC-CLOCK,
 * and verify_all reports it once, naming both sizes and both times. */
static void test_head_dated_backwards(void **state)
{
    fixture *f = *state;
    for (uint64_t seq = 1; seq <= 3; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    const int64_t ahead = NOW + 400 * 86400;
    char *logged = ack_head_at(f, 0, 1, ahead); /* the first head, on trust */
    assert_null(strstr(logged, "ZB-SYNC-CLOCK"));
    free(logged);

    logged = ack_head_at(f, 1, 2, NOW); /* the clock was put right */
    if (!strstr(logged, "WARN ZB-SYNC-CLOCK") || !strstr(logged, "size 2") ||
        !strstr(logged, "size 1"))
        fail_msg("no ZB-SYNC-CLOCK warning naming both heads: %s", logged);
    free(logged);
    zb_node_status st = status(f);
    assert_int_equal(st.tree_size, 2); /* accepted: the log only grew */
    assert_int_equal(st.receipts, 2);

    logged = ack_head_at(f, 2, 3, NOW + 60); /* from here on the clock goes forward */
    assert_null(strstr(logged, "ZB-SYNC-CLOCK"));
    free(logged);
    assert_int_equal(status(f).receipts, 3);

    findings fs = {0};
    uint64_t receipts, reports, newest;
    long n = zb_node_verify_all(f->node, on_finding, &fs, &receipts, &reports, &newest);
    assert_int_equal(n, 1);
    assert_int_equal(fs.n, 1);
    char t_ahead[40], t_now[40];
    assert_int_equal(zb_time_format(ahead, 480, 0, t_ahead, sizeof t_ahead), 0);
    assert_int_equal(zb_time_format(NOW, 480, 0, t_now, sizeof t_now), 0);
    char want[320];
    snprintf(want, sizeof want, "tree head 2 is dated %s, before tree head 1 dated %s", t_now,
             t_ahead);
    if (!strstr(fs.lines[0], want))
        fail_msg("finding does not name both heads and times: %s (want: %s)", fs.lines[0], want);
    assert_int_equal(receipts, 3);
    assert_int_equal(reports, 3);
    assert_int_equal(newest, 3);
}

/* A head of a size between two the node holds (a late Ack), dated after
 * the larger one: logged too, against the head above it. */
static void test_head_dated_after_a_later_one(void **state)
{
    fixture *f = *state;
    for (uint64_t seq = 1; seq <= 3; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    free(ack_head_at(f, 0, 1, NOW));
    free(ack_head_at(f, 1, 3, NOW + 10));
    char *logged = ack_head_at(f, 1, 2, NOW + 20);
    if (!strstr(logged, "ZB-SYNC-CLOCK") || !strstr(logged, "size 3"))
        fail_msg("head 2 dated after head 3 not logged: %s", logged);
    free(logged);
    findings fs = {0};
    uint64_t receipts, reports, newest;
    assert_int_equal(zb_node_verify_all(f->node, on_finding, &fs, &receipts, &reports,
                                        &newest),
                     1);
    assert_non_null(strstr(fs.lines[0], "tree head 3 is dated"));
}

static void test_server_errors_persist(void **state)
{
    fixture *f = *state;
    assert_int_equal(status(f).server_errors, 0);
    assert_int_equal(zb_node_count_server_error(f->node), ZB_OK);
    assert_int_equal(zb_node_count_server_error(f->node), ZB_OK);
    assert_int_equal(status(f).server_errors, 2);
    zb_node_close(&f->node); /* across restarts */
    assert_int_equal(zb_node_open(&f->node, f->dir, true), ZB_OK);
    assert_int_equal(status(f).server_errors, 2);
}

static void test_sync_lock(void **state)
{
    fixture *f = *state;
    long holder = -1;
    assert_int_equal(zb_node_lock_sync(f->node, &holder), ZB_OK);
    assert_int_equal(zb_node_lock_sync(f->node, &holder), ZB_OK); /* idempotent */

    zb_node *second = NULL;
    assert_int_equal(zb_node_open(&second, f->dir, false), ZB_OK);
    assert_int_equal(zb_node_lock_sync(second, &holder), ZB_ELOCKED);
    assert_int_equal(holder, (long)getpid());
    /* a submit does not need the lock */
    zb_node *keep = f->node;
    f->node = second;
    submit_ok(f, monthly("2026-10"), 1);
    f->node = keep;

    zb_node_close(&f->node); /* the holder goes: the lock is free */
    assert_int_equal(zb_node_lock_sync(second, &holder), ZB_OK);
    f->node = second;
}

static void test_identity_mode_refused(void **state)
{
    fixture *f = *state;
    char key[700];
    snprintf(key, sizeof key, "%s/identity.key", f->dir);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* as init creates it */

    zb_node_close(&f->node);
    assert_int_equal(chmod(key, 0644), 0);
    capture c = capture_begin();
    int rc = zb_node_open(&f->node, f->dir, false);
    char *logged = capture_end(&c);
    assert_int_equal(rc, ZB_EKEYPERM);
    assert_null(f->node);
    if (!strstr(logged, "ZB-KEY-MODE") || !strstr(logged, key) || !strstr(logged, "0644") ||
        !strstr(logged, "chmod 600"))
        fail_msg("the refusal does not name the file, the mode and the fix: %s", logged);
    free(logged);
    assert_int_equal(chmod(key, 0640), 0); /* group-readable: refused too */
    assert_int_equal(zb_node_open(&f->node, f->dir, false), ZB_EKEYPERM);
    /* read-only commands do not load the key */
    assert_int_equal(zb_node_open(&f->node, f->dir, true), ZB_OK);
    zb_node_close(&f->node);
    assert_int_equal(chmod(key, 0600), 0);
    assert_int_equal(zb_node_open(&f->node, f->dir, false), ZB_OK);
}

/* A walk stops at the callback's first non-zero value and returns it. */
static int stop_at_two(void *ctx, const zb_node_report *r)
{
    (*(int *)ctx)++;
    return r->seq == 2 ? 42 : 0;
}

static void test_walk_stops(void **state)
{
    fixture *f = *state;
    for (uint64_t seq = 1; seq <= 3; seq++)
        submit_ok(f, monthly("2026-10"), seq);
    int calls = 0;
    assert_int_equal(zb_node_each_report(f->node, 1, 0, stop_at_two, &calls), 42);
    assert_int_equal(calls, 2);
    walked w = walk(f, 3, 0);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.seq[0], 3);
}

int main(void)
{
    if (zb_crypto_init() != 0)
        return 1;
    /* dropped receipts are logged (ZB-SYNC-BADRECEIPT): expected here */
    zb_log_init("test_node", ZB_LOG_ERROR, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_submit_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_bulk_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accident_revision_must_follow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_revision_after_closing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monthly_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_monotonic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipt_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_receipts_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_all_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipt_leaf_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_dated_backwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_dated_after_a_later_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_errors_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_mode_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
