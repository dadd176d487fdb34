/*
 * test_audit_witness.c - the auditor and the witnesses (issue 14): bundle
 * version 4 from a real aggregator (zb_agg_ingest, zb_dispatch_deadline,
 * zb_agg_export) whose heads carry cosignatures of a real witness identity
 * (zb_cosig_sign at chosen witness times, stored with
 * zb_tlog_add_cosignature), checked with zb_audit_verify --witness-key
 * style options and judged with zb_timeliness_judge:
 *
 *   - valid cosignatures verify, the witnessed size is reported, entries
 *     after it are counted and are not a finding;
 *   - a listed witness's corrupted cosignature is a finding (an unlisted
 *     one is not checked), a quorum the witnesses do not reach is a
 *     finding, a witnessed head whose root is not the log's (re-signed by
 *     the aggregator's own key) is a split view, witnessed heads out of
 *     order or in a version 3 bundle are findings;
 *   - timeliness proves an on-time report (a quorum cosigned a head
 *     covering it before the deadline), does not prove one the county
 *     dates on time but that the witnesses saw only after the deadline,
 *     proves it once a Deadline message moves the deadline past the
 *     witnesses' time, reports a county without a report as missing, and
 *     judges nothing from a bundle that does not verify;
 *   - the command line (ZB_BIN): usage errors, verify --json, timeliness
 *     --json and its human table.
 *
 * (The version 4 fuzz seeds, with fixed keys, are written by
 * tests/unit/test_audit.c.)
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <sys/wait.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "audit.h"
#include "bundle.pb-c.h"
#include "cosig.h"
#include "crypto.h"
#include "dispatch.h"
#include "envelope.h"
#include "err.h"
#include "export.h"
#include "log.h"
#include "timefmt.h"
#include "timeliness.h"
#include "tlog.h"

#define N_COUNTIES 3
static const char *const CODES[N_COUNTIES] = {"222401", "222402", "222403"};
#define DAY 86400

typedef struct {
    char dir[512];
    char path[600];
    zb_agg *agg;
    zb_identity county[N_COUNTIES];
    uint8_t prev[N_COUNTIES][ZB_SHA256_LEN];
    uint64_t seq[N_COUNTIES];
    zb_identity w1, w2;              /* witnesses: w2 never cosigns */
    uint8_t witness_keys[2][ZB_PK_LEN]; /* w1, w2: as --witness-key lists them */
    int year, month;
    char period[8];
    int64_t deadline;                /* the period's default deadline */
} fixture;

static fixture F;

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_audit_witness", ZB_LOG_ERROR, false);
    const char *base = getenv("TMPDIR");
    snprintf(F.dir, sizeof F.dir, "%s/zb-test-audit-witness-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.path, sizeof F.path, "%s/bundle", F.dir);
    char pk_hex[2 * ZB_PK_LEN + 1];
    if (zb_agg_create(F.dir, pk_hex) != ZB_OK || zb_agg_open(&F.agg, F.dir, false) != ZB_OK)
        return -1;
    for (int i = 0; i < N_COUNTIES; i++) {
        zb_identity_generate(&F.county[i]);
        bool was_new;
        uint64_t first;
        uint8_t prev[ZB_SHA256_LEN];
        if (zb_agg_enroll_identity(F.agg, CODES[i], &F.county[i], &was_new, &first, prev) != 0)
            return -1;
    }
    zb_identity_generate(&F.w1);
    zb_identity_generate(&F.w2);
    memcpy(F.witness_keys[0], F.w1.pk, ZB_PK_LEN);
    memcpy(F.witness_keys[1], F.w2.pk, ZB_PK_LEN);
    /* a period whose deadline lies ahead of the enrolments' wall-clock
     * leaf times: every time below is after them */
    zb_period_of((int64_t)time(NULL) + 40 * DAY, &F.year, &F.month);
    zb_period_format(F.year, F.month, F.period, sizeof F.period);
    F.deadline = zb_period_deadline(F.year, F.month);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zb_agg_close(&F.agg);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ building the log */

/* County ci's next monthly report of the period, created at created_at,
 * ingested as the server does at received_at, a head signed then.
 * Returns its log index. */
static uint64_t file_report(int ci, int64_t created_at, int64_t received_at)
{
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    m.period = F.period;
    Zb__Report r = ZB__REPORT__INIT;
    r.version = 1;
    r.county = (char *)CODES[ci];
    r.seq = ++F.seq[ci];
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, F.prev[ci]};
    r.created_at = created_at;
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    r.monthly = &m;
    size_t rlen = zb__report__get_packed_size(&r);
    uint8_t *rbuf = malloc(rlen), *ebuf = NULL;
    assert_non_null(rbuf);
    zb__report__pack(&r, rbuf);
    size_t elen;
    assert_int_equal(zb_envelope_seal(rbuf, rlen, &F.county[ci], &ebuf, &elen), ZB_OK);
    zb_report_hash(rbuf, rlen, F.prev[ci]);
    free(rbuf);
    Zb__Envelope *env = zb__envelope__unpack(NULL, elen, ebuf);
    assert_non_null(env);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), false, &txn), ZB_OK);
    assert_int_equal(zb_tlog_leaf_time(zb_agg_tlog(F.agg), txn, received_at, &received_at),
                     ZB_OK);
    zb_county_rec rec;
    assert_int_equal(zb_agg_county_get(F.agg, txn, CODES[ci], &rec), ZB_OK);
    zb_ingest_out out;
    assert_int_equal(zb_agg_ingest(F.agg, txn, &rec, env, received_at, -1, &out), ZB_OK);
    if (out.result != ZB_INGEST_STORED)
        fail_msg("county %s seq %" PRIu64 ": %s", CODES[ci], r.seq, out.reason);
    assert_int_equal(zb_astore_county_put(zb_agg_store(F.agg), txn, &rec), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_sign_head(zb_agg_tlog(F.agg), txn, received_at, &sth), ZB_OK);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    uint64_t size;
    assert_int_equal(zb_tlog_size(zb_agg_tlog(F.agg), txn, &size), ZB_OK);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    zb__envelope__free_unpacked(env, NULL);
    free(ebuf);
    return size - 1;
}

/* The aggregator's log size now. */
static uint64_t log_size(void)
{
    MDB_txn *txn;
    uint64_t size;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), true, &txn), ZB_OK);
    assert_int_equal(zb_tlog_size(zb_agg_tlog(F.agg), txn, &size), ZB_OK);
    mdb_txn_abort(txn);
    return size;
}

/* witness cosigns the stored head of size at its time at; stored as the
 * aggregator stores a witness's answer. */
static void cosign(uint64_t size, const zb_identity *witness, int64_t at)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), false, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_head(zb_agg_tlog(F.agg), txn, size, &sth), ZB_OK);
    const uint8_t *agg_pk = zb_agg_identity(F.agg)->pk;
    zb_tree_head head;
    assert_int_equal(zb_tree_head_verify(sth, agg_pk, &head), ZB_OK);
    uint8_t sig[ZB_SIG_LEN];
    assert_int_equal(zb_cosig_sign(witness, agg_pk, &head, at, sig), ZB_OK);
    Zb__Cosignature c = ZB__COSIGNATURE__INIT;
    c.witness = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)witness->pk};
    c.timestamp = at;
    c.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    assert_int_equal(zb_tlog_add_cosignature(zb_agg_tlog(F.agg), txn, agg_pk, size, &c), ZB_OK);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    zb__signed_tree_head__free_unpacked(sth, NULL);
}

/* The scenario most tests start from: county 0 files 3 days before the
 * deadline, witnessed 2 days before it; county 1 dates its report one day
 * before the deadline and the aggregator logs it then, but the witness
 * cosigns the head covering it only 2 days after the deadline; county 2
 * files nothing. idx[]: the two reports' log indexes; the log ends with
 * county 1's report, its head cosigned. */
static void scenario(uint64_t idx[2])
{
    idx[0] = file_report(0, F.deadline - 3 * DAY, F.deadline - 3 * DAY + 60);
    cosign(idx[0] + 1, &F.w1, F.deadline - 2 * DAY);
    idx[1] = file_report(1, F.deadline - DAY, F.deadline - DAY + 60);
    cosign(idx[1] + 1, &F.w1, F.deadline + 2 * DAY);
    assert_int_equal(log_size(), idx[1] + 1);
}

static void export_bundle(void)
{
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, NULL, NULL, &st), ZB_OK);
}

/* ------------------------------------------------------------ bundle files */

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_bytes(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Edit a bundle's records: edit(ctx, recs, &n) may change, drop or add
 * records (at most 64 in all; the end record is rewritten after them). */
#define RECS_MAX 64
typedef void (*edit_fn)(void *ctx, Zb__BundleRecord **recs, size_t *n);

static void append(uint8_t **buf, size_t *len, const Zb__BundleRecord *rec)
{
    size_t rl = zb__bundle_record__get_packed_size(rec);
    *buf = realloc(*buf, *len + 4 + rl);
    assert_non_null(*buf);
    for (int b = 0; b < 4; b++)
        (*buf)[*len + (size_t)b] = (uint8_t)(rl >> (24 - 8 * b));
    zb__bundle_record__pack(rec, *buf + *len + 4);
    *len += 4 + rl;
}

static void rewrite_bundle(const char *path, edit_fn edit, void *ctx)
{
    size_t len, p = strlen(ZB_AUDIT_BUNDLE_MAGIC), n = 0;
    uint8_t *in = slurp(path, &len);
    Zb__BundleRecord *recs[RECS_MAX];
    while (p + 4 <= len) {
        size_t rl = (size_t)in[p] << 24 | (size_t)in[p + 1] << 16 | (size_t)in[p + 2] << 8 |
                    in[p + 3];
        assert_true(n < RECS_MAX);
        recs[n] = zb__bundle_record__unpack(NULL, rl, in + p + 4);
        assert_non_null(recs[n]);
        p += 4 + rl;
        if (recs[n]->record_case == ZB__BUNDLE_RECORD__RECORD_END)
            zb__bundle_record__free_unpacked(recs[n], NULL); /* rewritten below */
        else
            n++;
    }
    edit(ctx, recs, &n);
    size_t out_len = strlen(ZB_AUDIT_BUNDLE_MAGIC);
    uint8_t *out = malloc(out_len);
    assert_non_null(out);
    memcpy(out, ZB_AUDIT_BUNDLE_MAGIC, out_len);
    for (size_t i = 0; i < n; i++)
        append(&out, &out_len, recs[i]);
    uint8_t digest[ZB_SHA256_LEN];
    zb_sha256(out, out_len, digest);
    Zb__BundleEnd end = ZB__BUNDLE_END__INIT;
    end.record_count = n;
    end.sha256 = (ProtobufCBinaryData){ZB_SHA256_LEN, digest};
    Zb__BundleRecord er = ZB__BUNDLE_RECORD__INIT;
    er.record_case = ZB__BUNDLE_RECORD__RECORD_END;
    er.end = &end;
    append(&out, &out_len, &er);
    write_bytes(path, out, out_len);
    for (size_t i = 0; i < n; i++)
        zb__bundle_record__free_unpacked(recs[i], NULL);
    free(out);
    free(in);
}

/* The first witnessed_head record's index in recs, or n. */
static size_t first_witnessed(Zb__BundleRecord **recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i]->record_case == ZB__BUNDLE_RECORD__RECORD_WITNESSED_HEAD)
            return i;
    return n;
}

/* ------------------------------------------------------------ verifying */

typedef struct {
    char lines[16][512];
    size_t n;
} findings;

static void collect(void *ctx, const char *line)
{
    findings *f = ctx;
    if (f->n < 16)
        snprintf(f->lines[f->n], sizeof f->lines[0], "%s", line);
    f->n++;
}

static void print_findings(const findings *f)
{
    for (size_t i = 0; i < f->n && i < 16; i++)
        print_message("finding: %s\n", f->lines[i]);
}

/* The options of `--key AGG --witness-key ...`: the first n of w1, w2
 * (none: n 0). */
static zb_audit_opts opts_with(size_t n, size_t quorum)
{
    return (zb_audit_opts){.pinned_key = zb_agg_identity(F.agg)->pk,
                           .witness_keys = n ? (const uint8_t(*)[ZB_PK_LEN])F.witness_keys : NULL,
                           .n_witness_keys = n,
                           .witness_quorum = quorum};
}

static long verify_file(const zb_audit_opts *o, findings *f, zb_audit_summary *s)
{
    FILE *fp = fopen(F.path, "rb");
    assert_non_null(fp);
    long n = zb_audit_verify(fp, o, collect, f, s);
    fclose(fp);
    return n;
}

static long judge_file(const zb_audit_opts *o, findings *f, zb_timeliness *t)
{
    FILE *fp = fopen(F.path, "rb");
    assert_non_null(fp);
    long n = zb_timeliness_judge(fp, o, F.year, F.month, collect, f, t);
    fclose(fp);
    return n;
}

/* The one finding of the bundle with o is want. */
static void expect_one(const zb_audit_opts *o, const char *want)
{
    findings f = {0};
    zb_audit_summary s;
    long n = verify_file(o, &f, &s);
    if (n != 1 || strcmp(f.lines[0], want) != 0)
        print_findings(&f);
    assert_int_equal(n, 1);
    assert_string_equal(f.lines[0], want);
}

/* ------------------------------------------------------------ tests */

/* Valid cosignatures: the bundle verifies (with the witness, without, and
 * with another witness's key besides it at quorum 1); the witnessed size
 * is the largest head a quorum cosigned; entries after it are counted. */
static void test_witnessed_bundle(void **state)
{
    (void)state;
    uint64_t idx[2];
    scenario(idx);
    export_bundle();
    findings f = {0};
    zb_audit_summary s;
    zb_audit_opts o = opts_with(1, 1);
    long n = verify_file(&o, &f, &s);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(s.version, 4);
    assert_int_equal(s.witnessed_heads, 2);
    /* each head's one cosignature, and the latest head's again on the tree head */
    assert_int_equal(s.cosignatures, 3);
    assert_int_equal(s.cosignatures_unlisted, 0);
    assert_int_equal(s.witness_quorum, 1);
    assert_int_equal(s.witnessed_size, idx[1] + 1);
    assert_int_equal(s.unwitnessed_entries, 0);

    /* another witness listed at quorum 1: w1 is enough */
    o = opts_with(2, 1);
    memset(&f, 0, sizeof f);
    assert_int_equal(verify_file(&o, &f, &s), 0);
    assert_int_equal(s.witnessed_size, idx[1] + 1);

    /* without witness keys: nothing required, the cosignatures counted */
    o = opts_with(0, 0);
    memset(&f, 0, sizeof f);
    assert_int_equal(verify_file(&o, &f, &s), 0);
    assert_int_equal(s.witness_quorum, 0);
    assert_int_equal(s.witnessed_heads, 2);
    assert_int_equal(s.cosignatures_unlisted, 3);

    /* the log grows past the witnessed head: reported, not a finding */
    uint64_t more = file_report(0, F.deadline + DAY, F.deadline + DAY + 60);
    export_bundle();
    o = opts_with(1, 1);
    memset(&f, 0, sizeof f);
    n = verify_file(&o, &f, &s);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(s.witnessed_size, idx[1] + 1);
    assert_int_equal(s.unwitnessed_entries, more + 1 - (idx[1] + 1));
    assert_int_equal(s.cosignatures, 2); /* the tree head has none now */
}

/* A listed witness's cosignature that does not verify is a finding, named
 * by the witness; the same cosignature of a witness not listed is only
 * counted. */
static void flip_cosignature(void *ctx, Zb__BundleRecord **recs, size_t *n)
{
    (void)ctx;
    size_t i = first_witnessed(recs, *n);
    assert_true(i < *n);
    Zb__SignedTreeHead *h = recs[i]->witnessed_head;
    assert_int_equal(h->n_cosignatures, 1);
    h->cosignatures[0]->signature.data[5] ^= 0x40;
}

static void test_corrupted_cosignature(void **state)
{
    (void)state;
    uint64_t idx[2];
    scenario(idx);
    export_bundle();
    rewrite_bundle(F.path, flip_cosignature, NULL);
    char want[512], w1[17];
    zb_hex_encode(F.w1.pk, 8, w1);
    snprintf(want, sizeof want, "witnessed head (size %" PRIu64 "): the cosignature of witness "
             "%s… (--witness-key), dated %" PRId64 ", does not verify (not its signature of this "
             "head of this log at that time)", idx[0] + 1, w1, F.deadline - 2 * DAY);
    zb_audit_opts o = opts_with(1, 1);
    expect_one(&o, want);
    /* not listed: not checked */
    o = opts_with(0, 0);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(verify_file(&o, &f, &s), 0);
    /* and timeliness judges nothing from it */
    o = opts_with(1, 1);
    zb_timeliness t;
    memset(&f, 0, sizeof f);
    assert_int_equal(judge_file(&o, &f, &t), 1);
    assert_int_equal(t.n_rows, 0);
    zb_timeliness_free(&t);
}

/* A quorum of 2 when one of the two witnesses cosigned: a finding. */
static void test_quorum_not_reached(void **state)
{
    (void)state;
    uint64_t idx[2];
    scenario(idx);
    export_bundle();
    zb_audit_opts o = opts_with(2, 2);
    expect_one(&o, "witnesses: no tree head carries a quorum of 2 cosignatures of the given "
                   "witnesses (--witness-key)");
    /* w2 cosigns the first head too: that head reaches the quorum */
    cosign(idx[0] + 1, &F.w2, F.deadline - DAY);
    export_bundle();
    findings f = {0};
    zb_audit_summary s;
    long n = verify_file(&o, &f, &s);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(s.witnessed_size, idx[0] + 1);
    assert_int_equal(s.unwitnessed_entries, 1);
    /* timeliness at quorum 2: county 0's time is w2's, the later of the two */
    zb_timeliness t;
    memset(&f, 0, sizeof f);
    assert_int_equal(judge_file(&o, &f, &t), 0);
    assert_int_equal(t.n_rows, 3);
    assert_true(t.rows[0].logged);
    assert_int_equal(t.rows[0].witnessed_at, F.deadline - DAY);
    assert_int_equal(t.rows[0].n_witnesses, 2);
    assert_memory_equal(t.rows[0].witnesses[0], F.w1.pk, ZB_PK_LEN);
    assert_memory_equal(t.rows[0].witnesses[1], F.w2.pk, ZB_PK_LEN);
    assert_false(t.rows[1].logged); /* no head after it has two */
    zb_timeliness_free(&t);
}

/* A witnessed head re-signed by the aggregator's own key over another
 * root, cosigned by the witness: the witnesses saw another log. */
static void wrong_root(void *ctx, Zb__BundleRecord **recs, size_t *n)
{
    const zb_identity *w = ctx;
    size_t i = first_witnessed(recs, *n);
    assert_true(i < *n);
    Zb__SignedTreeHead *h = recs[i]->witnessed_head;
    const zb_identity *agg = zb_agg_identity(F.agg);
    zb_tree_head head;
    assert_int_equal(zb_tree_head_verify(h, agg->pk, &head), ZB_OK);
    head.root[0] ^= 0x01;
    static uint8_t th_buf[256], sig[ZB_SIG_LEN], cosig[ZB_SIG_LEN];
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = head.size;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, head.root};
    th.timestamp = head.timestamp;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    size_t th_len = zb__tree_head__get_packed_size(&th);
    assert_true(th_len <= sizeof th_buf);
    zb__tree_head__pack(&th, th_buf);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, th_buf, th_len, agg, sig), ZB_OK);
    /* the record's own buffers are big enough: same lengths */
    assert_int_equal(h->tree_head.len, th_len);
    memcpy(h->tree_head.data, th_buf, th_len);
    memcpy(h->signature.data, sig, ZB_SIG_LEN);
    assert_int_equal(zb_cosig_sign(w, agg->pk, &head, h->cosignatures[0]->timestamp, cosig),
                     ZB_OK);
    memcpy(h->cosignatures[0]->signature.data, cosig, ZB_SIG_LEN);
}

static void test_split_view(void **state)
{
    (void)state;
    uint64_t idx[2];
    scenario(idx);
    export_bundle();
    rewrite_bundle(F.path, wrong_root, &F.w1);
    char want[512];
    snprintf(want, sizeof want, "witnessed head (size %" PRIu64 "): the root of the bundle's "
             "first %" PRIu64 " entries is not this head's root: the witnesses cosigned a "
             "different log of this aggregator key than the bundle's (a split view or a "
             "rewritten log)", idx[0] + 1, idx[0] + 1);
    zb_audit_opts o = opts_with(1, 1);
    expect_one(&o, want);
    /* without witness keys too: witnessed heads are checked against the log */
    o = opts_with(0, 0);
    expect_one(&o, want);
}

/* Witnessed heads out of order, after the entries, in a version 3 bundle. */
static void duplicate_witnessed(void *ctx, Zb__BundleRecord **recs, size_t *n)
{
    (void)ctx;
    size_t i = first_witnessed(recs, *n);
    assert_true(i + 1 < *n && *n < RECS_MAX);
    /* the first again after the second */
    uint8_t buf[4096];
    size_t len = zb__bundle_record__pack(recs[i], buf);
    memmove(recs + i + 3, recs + i + 2, (*n - i - 2) * sizeof *recs);
    recs[i + 2] = zb__bundle_record__unpack(NULL, len, buf);
    assert_non_null(recs[i + 2]);
    (*n)++;
}

/* The first witnessed head moved after the first entry: [w2, e0, w1, ...]. */
static void witnessed_after_entry(void *ctx, Zb__BundleRecord **recs, size_t *n)
{
    (void)ctx;
    size_t i = first_witnessed(recs, *n);
    assert_true(i + 3 < *n);
    Zb__BundleRecord *w = recs[i];
    memmove(recs + i, recs + i + 1, 2 * sizeof *recs);
    recs[i + 2] = w;
}

static void version_3(void *ctx, Zb__BundleRecord **recs, size_t *n)
{
    (void)ctx;
    (void)n;
    recs[0]->header->version = 3;
}

static void test_witnessed_order(void **state)
{
    (void)state;
    uint64_t idx[2];
    scenario(idx);
    export_bundle();
    rewrite_bundle(F.path, duplicate_witnessed, NULL);
    char want[512];
    snprintf(want, sizeof want, "witnessed head (size %" PRIu64 "): after the witnessed head of "
             "size %" PRIu64 " (witnessed heads come in strictly ascending size)", idx[0] + 1,
             idx[1] + 1);
    zb_audit_opts o = opts_with(0, 0);
    expect_one(&o, want);

    export_bundle();
    rewrite_bundle(F.path, version_3, NULL);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(verify_file(&o, &f, &s), 2);
    assert_string_equal(f.lines[0], "record 5: a witnessed head record in a version 3 bundle "
                                    "(whose heads carry no cosignatures)");
    assert_string_equal(f.lines[1], "record 6: a witnessed head record in a version 3 bundle "
                                    "(whose heads carry no cosignatures)");

    export_bundle();
    rewrite_bundle(F.path, witnessed_after_entry, NULL);
    expect_one(&o, "record 7: witnessed head record out of place (after a entry record)");
}

/* The case that matters: county 1 dates its report before the deadline
 * and the aggregator logs it then, but the witnesses saw it in the log
 * only after the deadline: "on_time", not proven. County 0 is proven;
 * county 2 is missing. A moved deadline (a Deadline message in the log)
 * past the witnesses' time proves county 1. */
static void test_timeliness(void **state)
{
    (void)state;
    uint64_t idx[2];
    scenario(idx);
    /* a later version of county 0's report: the first is judged */
    file_report(0, F.deadline + 5 * DAY, F.deadline + 5 * DAY + 60);
    export_bundle();
    zb_audit_opts o = opts_with(1, 1);
    findings f = {0};
    zb_timeliness t;
    long n = judge_file(&o, &f, &t);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(t.n_rows, 3);
    assert_int_equal(t.quorum, 1);
    const zb_timeliness_row *r = t.rows;
    assert_string_equal(r[0].county, CODES[0]);
    assert_int_equal(r[0].status, ZB_TIMELINESS_ON_TIME);
    assert_int_equal(r[0].seq, 1);
    assert_int_equal(r[0].log_index, idx[0]);
    assert_int_equal(r[0].created_at, F.deadline - 3 * DAY);
    assert_int_equal(r[0].received_at, F.deadline - 3 * DAY + 60);
    assert_int_equal(r[0].deadline, F.deadline);
    assert_false(r[0].deadline_moved);
    assert_true(r[0].logged);
    assert_int_equal(r[0].logged_size, idx[0] + 1);
    assert_int_equal(r[0].witnessed_at, F.deadline - 2 * DAY);
    assert_int_equal(r[0].n_witnesses, 1);
    assert_memory_equal(r[0].witnesses[0], F.w1.pk, ZB_PK_LEN);
    assert_true(r[0].on_time_proven);

    assert_string_equal(r[1].county, CODES[1]);
    assert_int_equal(r[1].status, ZB_TIMELINESS_ON_TIME); /* what the county claims */
    assert_int_equal(r[1].log_index, idx[1]);
    assert_true(r[1].logged);
    assert_int_equal(r[1].logged_size, idx[1] + 1);
    assert_int_equal(r[1].witnessed_at, F.deadline + 2 * DAY);
    assert_false(r[1].on_time_proven);                    /* what the witnesses cannot confirm */

    assert_string_equal(r[2].county, CODES[2]);
    assert_int_equal(r[2].status, ZB_TIMELINESS_MISSING);
    assert_false(r[2].logged);
    assert_false(r[2].on_time_proven);
    assert_int_equal(t.proven, 1);

    /* as JSON */
    json_t *j = zb_timeliness_json(&t, (const uint8_t(*)[ZB_PK_LEN])F.witness_keys, 1);
    assert_non_null(j);
    char period[8], dl[40], w1[2 * ZB_PK_LEN + 1];
    zb_period_format(F.year, F.month, period, sizeof period);
    zb_time_format(F.deadline, ZB_CST_OFFSET_MIN, 0, dl, sizeof dl);
    zb_hex_encode(F.w1.pk, ZB_PK_LEN, w1);
    assert_string_equal(json_string_value(json_object_get(j, "period")), period);
    assert_int_equal(json_integer_value(json_object_get(j, "witness_quorum")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "witnesses"), 0)),
                        w1);
    json_t *cs = json_object_get(j, "counties");
    assert_int_equal(json_array_size(cs), 3);
    json_t *c0 = json_array_get(cs, 0), *c1 = json_array_get(cs, 1), *c2 = json_array_get(cs, 2);
    assert_string_equal(json_string_value(json_object_get(c0, "status")), "on_time");
    assert_string_equal(json_string_value(json_object_get(c0, "deadline")), dl);
    assert_true(json_is_true(json_object_get(c0, "on_time_proven")));
    json_t *by = json_object_get(c0, "logged_by");
    assert_int_equal(json_integer_value(json_object_get(by, "tree_size")), idx[0] + 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(by, "witnesses"), 0)),
                        w1);
    assert_true(json_is_false(json_object_get(c1, "on_time_proven")));
    assert_string_equal(json_string_value(json_object_get(c2, "status")), "missing");
    assert_true(json_is_null(json_object_get(c2, "seq")));
    assert_true(json_is_null(json_object_get(c2, "created_at")));
    assert_true(json_is_null(json_object_get(c2, "logged_by")));
    assert_true(json_is_false(json_object_get(c2, "on_time_proven")));
    json_decref(j);
    zb_timeliness_free(&t);

    /* the prefecture moves the deadline 3 days on (a Deadline message to
     * every county, in the log): county 1's witnessed time is within it */
    zb_problems p = {0};
    zb_dispatched *sent = NULL;
    size_t n_sent = 0;
    assert_int_equal(zb_dispatch_deadline(F.agg, F.year, F.month, F.deadline + 3 * DAY,
                                          ZB_CST_OFFSET_MIN, F.deadline + 5 * DAY + 120, &p,
                                          &sent, &n_sent),
                     ZB_OK);
    assert_int_equal(n_sent, 3);
    free(sent);
    zb_problems_free(&p);
    export_bundle();
    memset(&f, 0, sizeof f);
    n = judge_file(&o, &f, &t);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(t.rows[1].deadline, F.deadline + 3 * DAY);
    assert_true(t.rows[1].deadline_moved);
    assert_true(t.rows[1].on_time_proven);
    assert_int_equal(t.proven, 2);
    zb_timeliness_free(&t);
}

/* ------------------------------------------------------------ the command line */

static int run(const char *cmd, char *out, size_t out_len)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, out_len - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void **state)
{
    (void)state;
    const char *bin = getenv("ZB_BIN");
    char exe[600];
    snprintf(exe, sizeof exe, "%s/zhibao-audit", bin ? bin : "");
    if (!bin || access(exe, X_OK) != 0)
        skip(); /* run from ctest, after the build */
    uint64_t idx[2];
    scenario(idx);
    export_bundle();
    char agg[2 * ZB_PK_LEN + 1], w1[2 * ZB_PK_LEN + 1], w2[2 * ZB_PK_LEN + 1], cmd[4096];
    zb_hex_encode(zb_agg_identity(F.agg)->pk, ZB_PK_LEN, agg);
    zb_hex_encode(F.w1.pk, ZB_PK_LEN, w1);
    zb_hex_encode(F.w2.pk, ZB_PK_LEN, w2);
    static char out[65536];

    /* usage: one line per problem, naming the option */
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-quorum 1 2>&1", exe, F.path,
             agg);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_string_equal(out, "error: --witness-quorum: needs --witness-key (the witnesses whose "
                             "cosignatures count)\n");
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-key %s --witness-quorum 2 "
             "2>&1", exe, F.path, agg, w1);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_string_equal(out, "error: --witness-quorum: must be a number from 1 to 1 (the number "
                             "of --witness-key given)\n");
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-key %s --witness-quorum 0 "
             "2>&1", exe, F.path, agg, w1);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-key %s --witness-key %s 2>&1",
             exe, F.path, agg, w1, w1);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "error: --witness-key: "));
    assert_non_null(strstr(out, " given twice\n"));
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-key nothex 2>&1", exe, F.path,
             agg);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_string_equal(out, "error: --witness-key: 'nothex' is not a key (64 hex digits)\n");
    snprintf(cmd, sizeof cmd, "'%s' timeliness '%s' 2>&1", exe, F.path);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "error: --period: required (the month judged, YYYY-MM)\n"));
    assert_non_null(strstr(out, "error: --key: required"));
    assert_non_null(strstr(out, "error: --witness-key: required"));
    snprintf(cmd, sizeof cmd, "'%s' timeliness '%s' --key %s --witness-key %s --period 2025-13 "
             "2>&1", exe, F.path, agg, w1);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_string_equal(out, "error: --period: '2025-13' is not a month (YYYY-MM, e.g. "
                             "2025-10)\n");
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --period %s 2>&1", exe, F.path, agg,
             F.period);
    assert_int_equal(run(cmd, out, sizeof out), 2);

    /* verify: the witnessed line, and the JSON fields */
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-key %s --witness-key %s "
             "2>/dev/null", exe, F.path, agg, w1, w2);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    char want[300];
    snprintf(want, sizeof want, "\nwitnessed: size %" PRIu64 " cosigned by a quorum of 1 of the 2 "
             "witnesses given (2 witnessed heads)\n", idx[1] + 1);
    assert_non_null(strstr(out, want));
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-key %s --json", exe, F.path,
             agg, w1);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "witness_quorum")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "witnessed_size")), idx[1] + 1);
    assert_int_equal(json_integer_value(json_object_get(j, "witnessed_heads")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "unwitnessed_entries")), 0);
    json_decref(j);
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --json", exe, F.path, agg);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_null(json_object_get(j, "witness_quorum")));
    assert_true(json_is_null(json_object_get(j, "witnessed_size")));
    assert_int_equal(json_integer_value(json_object_get(j, "witnessed_heads")), 2);
    json_decref(j);
    /* quorum 2 of w1 and w2: a finding, exit 1 */
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --witness-key %s --witness-key %s "
             "--witness-quorum 2 2>/dev/null", exe, F.path, agg, w1, w2);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_string_equal(out, "witnesses: no tree head carries a quorum of 2 cosignatures of the "
                             "given witnesses (--witness-key)\n");

    /* timeliness: the JSON object, exactly its keys */
    snprintf(cmd, sizeof cmd, "'%s' timeliness '%s' --key %s --witness-key %s --period %s --json",
             exe, F.path, agg, w1, F.period);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 5);
    assert_string_equal(json_string_value(json_object_get(j, "aggregator")), agg);
    json_t *c1 = json_array_get(json_object_get(j, "counties"), 1);
    assert_int_equal(json_object_size(c1), 9);
    assert_string_equal(json_string_value(json_object_get(c1, "county")), CODES[1]);
    assert_string_equal(json_string_value(json_object_get(c1, "status")), "on_time");
    assert_int_equal(json_integer_value(json_object_get(c1, "seq")), 1);
    assert_int_equal(json_integer_value(json_object_get(c1, "log_index")), idx[1]);
    char at[40];
    zb_time_format(F.deadline + 2 * DAY, ZB_CST_OFFSET_MIN, 0, at, sizeof at);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c1, "logged_by"),
                                                          "witnessed_at")), at);
    assert_true(json_is_false(json_object_get(c1, "on_time_proven")));
    json_decref(j);
    /* the table */
    snprintf(cmd, sizeof cmd, "'%s' timeliness '%s' --key %s --witness-key %s --period %s", exe,
             F.path, agg, w1, F.period);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_true(strncmp(out, "county  status   seq  log_index  created_at", 42) == 0);
    assert_non_null(strstr(out, "\n222403  missing  -    -          -    "));
    assert_non_null(strstr(out, "\nproven on time: 1 of 3 counties\n"));
    /* a bundle with a finding: nothing judged, exit 1 */
    rewrite_bundle(F.path, flip_cosignature, NULL);
    snprintf(cmd, sizeof cmd, "'%s' timeliness '%s' --key %s --witness-key %s --period %s "
             "2>/dev/null", exe, F.path, agg, w1, F.period);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "does not verify"));
    assert_null(strstr(out, "proven on time"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_witnessed_bundle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted_cosignature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quorum_not_reached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witnessed_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeliness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
