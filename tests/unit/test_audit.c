/*
 * test_audit.c - the audit bundle end to end in one process: an aggregator
 * store filled through zb_agg_ingest (the server's acceptance path),
 * exported with zb_agg_export and checked with zb_audit_verify; then every
 * single-byte change, every truncation and every dropped, duplicated or
 * swapped record of a small bundle must give a finding; equivocation kept
 * as evidence is reported; tree-head and proof files prove consistency; the
 * aggregator's own key history (a rotation, a lost machine, a replacement)
 * verifies with its county records.
 *
 * The audit module is linked as the zb_audit library and tested through
 * audit.h alone; its streaming Merkle root is checked against
 * zb_merkle_root_of_leaves through zb_audit_opts.prefixes.
 *
 * Bundles with the prefecture's downstream messages among the log's leaves
 * (version 2), and version 3 bundles (LogLeafs with their times, key events
 * with real key requests, evidence in the log), are written here record by
 * record, with a tree head and end hash over exactly the leaves given and
 * keys from fixed seeds: each broken rule is then the one finding of its
 * bundle, and the attack of issue 13 (a forged revocation and enrolment) is
 * caught by the county's pinned key and, rewritten, by the county's head.
 * The command line is run from ctest (ZB_BIN): --key required, the human
 * and --json outputs. With ZB_AUDIT_SEEDS=DIR the version 3 bundles are
 * written to DIR as fuzz seeds (test_write_fuzz_seeds).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
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
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "export.h"
#include "log.h"
#include "logleaf.h"
#include "timefmt.h"
#include "merkle.h"
#include "tlog.h"

#define COUNTY "222401"
#define COUNTY2 "222402"
#define N_REPORTS 5
#define LOG_SIZE (N_REPORTS + 1) /* the enrolment's key event, then the reports */

typedef struct {
    char dir[512];
    char path[600];
    zb_agg *agg;
    zb_identity node;
    uint8_t prev[ZB_SHA256_LEN];
    uint64_t seq;
    /* the times the aggregator's log is given, after the enrolment's key
     * event (logged at the wall clock): leaf times never decrease */
    int64_t t0;
} fixture;

static fixture F;

/* A monthly report of county, sealed by id: the packed envelope (malloc'd). */
static uint8_t *seal_report(const char *county, const zb_identity *id, uint64_t seq,
                            const uint8_t prev[32], const char *period, size_t *len)
{
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    m.period = (char *)period;
    Zb__Report r = ZB__REPORT__INIT;
    r.version = 1;
    r.county = (char *)county;
    r.seq = seq;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, (uint8_t *)prev};
    r.created_at = 1764000000;
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    r.monthly = &m;
    size_t rlen = zb__report__get_packed_size(&r);
    uint8_t *rbuf = malloc(rlen);
    assert_non_null(rbuf);
    zb__report__pack(&r, rbuf);
    uint8_t *ebuf = NULL;
    assert_int_equal(zb_envelope_seal(rbuf, rlen, id, &ebuf, len), ZB_OK);
    free(rbuf);
    return ebuf;
}

static uint8_t *seal_monthly(const zb_identity *id, uint64_t seq, const uint8_t prev[32],
                             const char *period, size_t *len)
{
    return seal_report(COUNTY, id, seq, prev, period, len);
}

/* Ingest one envelope as the server does, received at received_at,
 * signing a head at head_at when it was stored. */
static zb_ingest_result ingest_at(const uint8_t *ebuf, size_t elen, int64_t received_at,
                                  int64_t head_at)
{
    Zb__Envelope *env = zb__envelope__unpack(NULL, elen, ebuf);
    assert_non_null(env);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), false, &txn), ZB_OK);
    /* as the server does: a round's time is floored at the newest head's */
    assert_int_equal(zb_tlog_leaf_time(zb_agg_tlog(F.agg), txn, received_at, &received_at),
                     ZB_OK);
    zb_county_rec rec;
    assert_int_equal(zb_agg_county_get(F.agg, txn, COUNTY, &rec), ZB_OK);
    zb_ingest_out out;
    assert_int_equal(zb_agg_ingest(F.agg, txn, &rec, env, received_at, -1, &out), ZB_OK);
    /* the log grew: a report stored, or evidence of equivocation logged */
    if (out.result == ZB_INGEST_STORED || out.code == ZB__ERROR_CODE__EQUIVOCATION) {
        Zb__SignedTreeHead *sth = NULL;
        assert_int_equal(zb_astore_county_put(zb_agg_store(F.agg), txn, &rec), ZB_OK);
        assert_int_equal(zb_tlog_sign_head(zb_agg_tlog(F.agg), txn, head_at, &sth), ZB_OK);
        zb__signed_tree_head__free_unpacked(sth, NULL);
    }
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    zb__envelope__free_unpacked(env, NULL);
    return out.result;
}

static zb_ingest_result ingest(const uint8_t *ebuf, size_t elen)
{
    return ingest_at(ebuf, elen, F.t0 + 100, F.t0 + 100);
}

static void add_report(const char *period)
{
    size_t len;
    uint8_t *e = seal_monthly(&F.node, ++F.seq, F.prev, period, &len);
    assert_int_equal(ingest(e, len), ZB_INGEST_STORED);
    Zb__Envelope *env = zb__envelope__unpack(NULL, len, e);
    zb_report_hash(env->report.data, env->report.len, F.prev);
    zb__envelope__free_unpacked(env, NULL);
    free(e);
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_audit", ZB_LOG_ERROR, false);
    const char *base = getenv("TMPDIR");
    snprintf(F.dir, sizeof F.dir, "%s/zb-test-audit-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(F.dir))
        return -1;
    snprintf(F.path, sizeof F.path, "%s/bundle", F.dir);
    char pk_hex[2 * ZB_PK_LEN + 1];
    if (zb_agg_create(F.dir, pk_hex) != ZB_OK || zb_agg_open(&F.agg, F.dir, false) != ZB_OK)
        return -1;
    zb_identity_generate(&F.node);
    bool was_new;
    uint64_t first;
    uint8_t prev[32];
    if (zb_agg_enroll_identity(F.agg, COUNTY, &F.node, &was_new, &first, prev) != ZB_OK)
        return -1;
    F.t0 = (int64_t)time(NULL) + 3600;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zb_agg_close(&F.agg);
    zb_identity_wipe(&F.node);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ helpers */

typedef struct {
    char lines[16][400];
    size_t n;
} findings;

static void collect(void *ctx, const char *line)
{
    findings *f = ctx;
    if (f->n < 16)
        snprintf(f->lines[f->n], sizeof f->lines[0], "%s", line);
    f->n++;
}

static long verify_bytes(const uint8_t *buf, size_t len, findings *f, zb_audit_summary *s)
{
    FILE *fp = fmemopen((void *)buf, len ? len : 1, "rb");
    assert_non_null(fp);
    if (len == 0)
        fgetc(fp); /* an empty stream: fmemopen wants a size of at least 1 */
    zb_audit_opts o = {0};
    long n = zb_audit_verify(fp, &o, collect, f, s);
    fclose(fp);
    return n;
}

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

/* Record boundaries after the magic: offsets of each record's length. */
static size_t record_offsets(const uint8_t *b, size_t len, size_t *off, size_t max)
{
    size_t n = 0, p = strlen(ZB_AUDIT_BUNDLE_MAGIC);
    while (p + 4 <= len && n < max) {
        off[n++] = p;
        p += 4 + ((size_t)b[p] << 24 | (size_t)b[p + 1] << 16 | (size_t)b[p + 2] << 8 | b[p + 3]);
    }
    off[n] = len;
    return n;
}

/* ------------------------------------------------------------ tests */

/* The verifier's streaming Merkle root (O(log n) memory) against the
 * reference zb_merkle_root_of_leaves, for every tree shape up to 70 leaves:
 * a bundle of bare entry records (the findings about everything missing
 * do not matter here) verified with prefix_size k gives the root of its
 * first k entries. */
static void test_streaming_root(void **state)
{
    (void)state;
    enum { N = 70 };
    uint8_t leaves[N][ZB_HASH_LEN];
    size_t mlen = strlen(ZB_AUDIT_BUNDLE_MAGIC), cap = mlen + N * 64, len = mlen;
    uint8_t *bundle = malloc(cap);
    assert_non_null(bundle);
    memcpy(bundle, ZB_AUDIT_BUNDLE_MAGIC, mlen);
    for (uint64_t i = 0; i < N; i++) {
        uint8_t entry_bytes[8];
        zb_be64_put(entry_bytes, i);
        zb_envelope_leaf_hash(entry_bytes, sizeof entry_bytes, leaves[i]);
        Zb__BundleEntry e = ZB__BUNDLE_ENTRY__INIT;
        e.log_index = i;
        e.envelope = (ProtobufCBinaryData){sizeof entry_bytes, entry_bytes};
        Zb__BundleRecord rec = ZB__BUNDLE_RECORD__INIT;
        rec.record_case = ZB__BUNDLE_RECORD__RECORD_ENTRY;
        rec.entry = &e;
        size_t rl = zb__bundle_record__get_packed_size(&rec);
        assert_true(len + 4 + rl <= cap);
        for (int b = 0; b < 4; b++)
            bundle[len + (size_t)b] = (uint8_t)(rl >> (24 - 8 * b));
        zb__bundle_record__pack(&rec, bundle + len + 4);
        len += 4 + rl;
    }
    for (uint64_t k = 1; k <= N; k++) {
        FILE *fp = fmemopen(bundle, len, "rb");
        assert_non_null(fp);
        findings f = {0};
        zb_audit_summary s;
        /* k, and k again, 1 and N + 1 (never there) in one pass, out of order */
        zb_audit_prefix p[4] = {{.size = k}, {.size = N + 1}, {.size = 1}, {.size = k}};
        zb_audit_opts o = {.prefixes = p, .n_prefixes = 4};
        assert_true(zb_audit_verify(fp, &o, collect, &f, &s) > 0); /* no header, head, end */
        fclose(fp);
        assert_int_equal(s.entries, N);
        assert_true(p[0].found && p[2].found && p[3].found);
        assert_false(p[1].found);
        uint8_t want[ZB_HASH_LEN];
        zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])leaves, k, want);
        assert_memory_equal(p[0].root, want, ZB_HASH_LEN);
        assert_memory_equal(p[3].root, want, ZB_HASH_LEN);
        assert_memory_equal(p[2].root, leaves[0], ZB_HASH_LEN);
    }
    free(bundle);
}

static void test_empty_bundle(void **state)
{
    (void)state;
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, NULL, NULL, &st), ZB_OK);
    size_t len;
    uint8_t *b = slurp(F.path, &len);
    findings f = {0};
    zb_audit_summary s;
    long n = verify_bytes(b, len, &f, &s);
    if (n)
        fail_msg("finding: %s", f.lines[0]);
    assert_int_equal(s.counties, 1);
    assert_int_equal(s.entries, 1); /* the enrolment: a key event */
    assert_int_equal(s.key_events, 1);
    free(b);
}

static void test_honest_bundle(void **state)
{
    (void)state;
    for (int i = 0; i < N_REPORTS; i++)
        add_report("2025-10");
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, NULL, NULL, &st), ZB_OK);
    assert_int_equal(st.entries, LOG_SIZE);
    assert_int_equal(access(F.path, F_OK), 0);
    size_t len;
    uint8_t *b = slurp(F.path, &len);
    findings f = {0};
    zb_audit_summary s;
    long n = verify_bytes(b, len, &f, &s);
    if (n)
        fail_msg("finding: %s", f.lines[0]);
    assert_true(s.head_ok);
    assert_int_equal(s.head.size, LOG_SIZE);
    assert_int_equal(s.reports, N_REPORTS);
    assert_int_equal(s.key_events, 1);
    assert_memory_equal(s.head.root, st.root, ZB_HASH_LEN);
    assert_memory_equal(s.agg_key, zb_agg_identity(F.agg)->pk, ZB_PK_LEN);
    free(b);
}

/* Any single changed byte, any truncation: at least one finding, no crash. */
static void test_every_byte_and_cut(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = slurp(F.path, &len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 7) {
            b[i] ^= (uint8_t)(1u << bit);
            findings f = {0};
            zb_audit_summary s;
            if (verify_bytes(b, len, &f, &s) <= 0)
                fail_msg("flipping bit %u of byte %zu of %zu went unnoticed", bit, i, len);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t cut = 0; cut < len; cut++) {
        findings f = {0};
        zb_audit_summary s;
        if (verify_bytes(b, cut, &f, &s) <= 0)
            fail_msg("a bundle cut to %zu of %zu bytes went unnoticed", cut, len);
    }
    free(b);
}

/* Drop, duplicate or swap whole records: each named. */
static void test_record_edits(void **state)
{
    (void)state;
    size_t len;
    uint8_t *b = slurp(F.path, &len);
    size_t off[64];
    size_t n = record_offsets(b, len, off, 63);
    assert_true(n >= 4);
    uint8_t *out = malloc(2 * len);
    assert_non_null(out);
    size_t mlen = strlen(ZB_AUDIT_BUNDLE_MAGIC);
    for (size_t i = 0; i < n; i++) {
        for (int kind = 0; kind < 3; kind++) {
            if (kind == 2 && i + 1 >= n)
                continue;
            size_t o = 0;
            memcpy(out, b, mlen), o = mlen;
            for (size_t r = 0; r < n; r++) {
                size_t src = r;
                if (kind == 2 && r == i)
                    src = i + 1;
                else if (kind == 2 && r == i + 1)
                    src = i;
                if (kind == 0 && r == i)
                    continue; /* drop */
                size_t rl = off[src + 1] - off[src];
                memcpy(out + o, b + off[src], rl), o += rl;
                if (kind == 1 && r == i)
                    memcpy(out + o, b + off[src], rl), o += rl; /* duplicate */
            }
            findings f = {0};
            zb_audit_summary s;
            if (verify_bytes(out, o, &f, &s) <= 0)
                fail_msg("%s record %zu of %zu went unnoticed",
                         kind == 0 ? "dropping" : kind == 1 ? "duplicating" : "swapping", i, n);
        }
    }
    free(out);
    free(b);
}

static void test_consistency_files(void **state)
{
    (void)state;
    char th_old[700], th_new[700], proof[700];
    snprintf(th_old, sizeof th_old, "%s/th_old", F.dir);
    snprintf(th_new, sizeof th_new, "%s/th_new", F.dir);
    snprintf(proof, sizeof proof, "%s/proof", F.dir);
    uint64_t got;
    assert_int_equal(zb_agg_export_tree_head(F.agg, 2, th_old, &got), ZB_OK);
    assert_int_equal(got, 2);
    assert_int_equal(zb_agg_export_tree_head(F.agg, 0, th_new, &got), ZB_OK);
    assert_int_equal(got, LOG_SIZE);
    assert_int_equal(zb_agg_export_tree_head(F.agg, 99, th_new, &got), ZB_ENOTFOUND);
    assert_int_equal(zb_agg_export_consistency(F.agg, 2, LOG_SIZE, proof), ZB_OK);
    assert_int_equal(zb_agg_export_consistency(F.agg, 0, 2, proof), ZB_EINVAL);
    assert_int_equal(zb_agg_export_consistency(F.agg, 2, 99, proof), ZB_EINVAL);
    const uint8_t *key = zb_agg_identity(F.agg)->pk;
    char msg[300];
    FILE *o = fopen(th_old, "rb"), *n = fopen(th_new, "rb"), *p = fopen(proof, "rb");
    assert_int_equal(zb_audit_consistency(o, n, p, key, msg, sizeof msg), ZB_OK);
    rewind(o), rewind(n), rewind(p);
    /* swapped heads: the log would have shrunk */
    assert_int_equal(zb_audit_consistency(n, o, p, key, msg, sizeof msg), ZB_EBADSIG);
    rewind(o), rewind(n), rewind(p);
    uint8_t other[ZB_PK_LEN] = {1};
    assert_int_equal(zb_audit_consistency(o, n, p, other, msg, sizeof msg), ZB_EBADSIG);
    rewind(o), rewind(n);
    assert_int_equal(zb_audit_consistency(o, n, NULL, key, msg, sizeof msg), ZB_EINVAL);
    fclose(o), fclose(n), fclose(p);
    /* a bundle as the new side: its entries prove it */
    o = fopen(th_old, "rb"), n = fopen(F.path, "rb");
    assert_int_equal(zb_audit_consistency(o, n, NULL, key, msg, sizeof msg), ZB_OK);
    fclose(o), fclose(n);
}

static void test_equivocation_reported(void **state)
{
    (void)state;
    uint8_t zero[32] = {0};
    size_t len;
    uint8_t *e = seal_monthly(&F.node, 1, zero, "2025-09", &len); /* a different seq 1 */
    assert_int_equal(ingest(e, len), ZB_INGEST_REFUSED);
    free(e);
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, NULL, NULL, &st), ZB_OK);
    assert_int_equal(st.evidence, 1);
    uint8_t *b = slurp(F.path, &len);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(verify_bytes(b, len, &f, &s), 1);
    assert_string_equal(f.lines[0], "equivocation: county 222401 seq 1: two different signed reports");
    assert_int_equal(s.equivocations, 1);
    assert_true(s.head_ok);
    free(b);
}

/* Tree head timestamps never decrease: a head signed with a clock behind
 * the newest head keeps the newest head's time (ZB-AGG-CLOCK). */
static void test_head_time_never_decreases(void **state)
{
    (void)state;
    assert_int_equal(zb_tlog_head_time(1000, 900), 1000);
    assert_int_equal(zb_tlog_head_time(1000, 1000), 1000);
    assert_int_equal(zb_tlog_head_time(1000, 1100), 1100);
    assert_int_equal(zb_tlog_head_time(0, -5), 0);
    const uint8_t *key = zb_agg_identity(F.agg)->pk;
    const int64_t clocks[] = {F.t0, F.t0 - 1000000, F.t0 + 100, F.t0 + 200};
    const int64_t expect[] = {F.t0 + 100, F.t0 + 100, F.t0 + 100, F.t0 + 200};
    for (size_t i = 0; i < 4; i++) {
        MDB_txn *txn;
        assert_int_equal(zb_store_begin(zb_agg_store(F.agg), false, &txn), ZB_OK);
        Zb__SignedTreeHead *sth = NULL;
        assert_int_equal(zb_tlog_sign_head(zb_agg_tlog(F.agg), txn, clocks[i], &sth), ZB_OK);
        zb_tree_head h;
        assert_int_equal(zb_tree_head_verify(sth, key, &h), ZB_OK);
        assert_int_equal(h.timestamp, expect[i]);
        zb__signed_tree_head__free_unpacked(sth, NULL);
        mdb_txn_abort(txn); /* the store keeps its heads as they were */
    }
}

/* A tree-head file (ZBSTH1) holding sth. */
static void write_head_file(const char *path, const Zb__SignedTreeHead *sth)
{
    size_t len = zb__signed_tree_head__get_packed_size(sth);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    zb__signed_tree_head__pack(sth, buf);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    assert_int_equal(fwrite(ZB_AUDIT_STH_MAGIC, 1, strlen(ZB_AUDIT_STH_MAGIC), f),
                     strlen(ZB_AUDIT_STH_MAGIC));
    assert_int_equal(fwrite(hdr, 1, 4, f), 4);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(buf);
}

/* consistency OLD NEW: a NEW head signed before OLD is a finding, even
 * over the same log (the aggregator never signs so: a forged or replayed
 * head, or a clock set back by hand). */
static void test_consistency_time_backwards(void **state)
{
    (void)state;
    char th_real[700], th_early[700], proof[700];
    snprintf(th_real, sizeof th_real, "%s/th_real", F.dir);
    snprintf(th_early, sizeof th_early, "%s/th_early", F.dir);
    snprintf(proof, sizeof proof, "%s/proof_same", F.dir);
    uint64_t size;
    assert_int_equal(zb_agg_export_tree_head(F.agg, 0, th_real, &size), ZB_OK);
    assert_int_equal(zb_agg_export_consistency(F.agg, size, size, proof), ZB_OK);
    FILE *f = fopen(th_real, "rb");
    Zb__SignedTreeHead *real = NULL;
    assert_int_equal(zb_audit_read_tree_head(f, &real), ZB_OK);
    fclose(f);
    const zb_identity *id = zb_agg_identity(F.agg);
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(real, id->pk, &h), ZB_OK);
    /* the same log, signed 100 s earlier */
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = h.size;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, h.root};
    th.timestamp = h.timestamp - 100;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)id->pk};
    uint8_t buf[256], sig[ZB_SIG_LEN];
    size_t len = zb__tree_head__get_packed_size(&th);
    assert_true(len <= sizeof buf);
    zb__tree_head__pack(&th, buf);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, buf, len, id, sig), ZB_OK);
    Zb__SignedTreeHead early = ZB__SIGNED_TREE_HEAD__INIT;
    early.tree_head = (ProtobufCBinaryData){len, buf};
    early.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    write_head_file(th_early, &early);
    zb__signed_tree_head__free_unpacked(real, NULL);

    char msg[300];
    FILE *o = fopen(th_early, "rb"), *n = fopen(th_real, "rb"), *p = fopen(proof, "rb");
    assert_int_equal(zb_audit_consistency(o, n, p, id->pk, msg, sizeof msg), ZB_OK);
    fclose(o), fclose(n), fclose(p);
    o = fopen(th_real, "rb"), n = fopen(th_early, "rb"), p = fopen(proof, "rb");
    assert_int_equal(zb_audit_consistency(o, n, p, id->pk, msg, sizeof msg), ZB_EBADSIG);
    assert_non_null(strstr(msg, "tree head timestamps go backwards"));
    fclose(o), fclose(n), fclose(p);
    /* a bundle as NEW whose head is older than OLD: the same finding */
    zb_export_stats st;
    char th_late[700];
    snprintf(th_late, sizeof th_late, "%s/th_late", F.dir);
    th.timestamp = h.timestamp + 100;
    zb__tree_head__pack(&th, buf);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, buf, len, id, sig), ZB_OK);
    write_head_file(th_late, &early);
    assert_int_equal(zb_agg_export(F.agg, F.path, NULL, NULL, &st), ZB_OK);
    o = fopen(th_late, "rb"), n = fopen(F.path, "rb");
    assert_int_equal(zb_audit_consistency(o, n, NULL, id->pk, msg, sizeof msg), ZB_EBADSIG);
    assert_non_null(strstr(msg, "tree head timestamps go backwards"));
    fclose(o), fclose(n);
}

/* verify: the bundle's head signed before an entry it covers was received
 * (only a clock that went backwards, before heads kept their time, or a
 * doctored store can do that). Runs last: it adds such an entry. */
static void test_bundle_head_before_entry(void **state)
{
    (void)state;
    size_t len;
    uint8_t *e = seal_monthly(&F.node, ++F.seq, F.prev, "2025-10", &len);
    /* received an hour after the head that now covers it */
    assert_int_equal(ingest_at(e, len, F.t0 + 3700, F.t0 + 100), ZB_INGEST_STORED);
    free(e);
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, NULL, NULL, &st), ZB_OK);
    uint8_t *b = slurp(F.path, &len);
    findings f = {0};
    zb_audit_summary s;
    long n = verify_bytes(b, len, &f, &s);
    bool seen = false;
    assert_true(n >= 1);
    for (size_t i = 0; i < f.n && i < sizeof f.lines / sizeof f.lines[0]; i++)
        seen |= strstr(f.lines[i], "the aggregator's clock went backwards") != NULL;
    assert_true(seen);
    free(b);
}

/* ------------------------------------------------------------ downstream leaves */

#define DOWN_T0 INT64_C(1764000000) /* the first leaf's time; one leaf a minute after */

/* The keys of a hand-written bundle: the aggregator's, and the two
 * counties' (COUNTY: F.node, enrolled by setup; COUNTY2: one more). */
static zb_identity down_agg, down_node2;

/* An identity from a fixed seed (every byte fill): the same keys, and so
 * the same hand-written bundles, on every run (the fuzz seeds are some). */
static void seeded_identity(uint8_t fill, zb_identity *id)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, fill, sizeof seed);
    assert_int_equal(crypto_sign_seed_keypair(id->pk, id->sk, seed), 0);
}

static void down_keys(void)
{
    seeded_identity(0xa1, &down_agg);
    seeded_identity(0xa2, &down_node2);
}

/* One log leaf as it goes into a bundle: entry bytes (owned) and received_at. */
typedef struct {
    uint8_t *bytes;
    size_t len;
    int64_t received_at;
} leaf;

typedef struct {
    leaf l[16];
    size_t n;
    uint64_t seq;                  /* COUNTY's reports so far */
    uint8_t prev[ZB_SHA256_LEN];   /* ... and the hash of its last one */
} log_build;

static void log_free(log_build *lb)
{
    for (size_t i = 0; i < lb->n; i++)
        free(lb->l[i].bytes);
    lb->n = 0;
}

static void log_push(log_build *lb, uint8_t *bytes, size_t len, int64_t received_at)
{
    assert_true(lb->n < sizeof lb->l / sizeof lb->l[0]);
    lb->l[lb->n++] = (leaf){bytes, len, received_at};
}

/* COUNTY's next report, chained. */
static void log_report(log_build *lb)
{
    size_t len;
    uint8_t *e = seal_monthly(&F.node, ++lb->seq, lb->prev, "2025-10", &len);
    Zb__Envelope *env = zb__envelope__unpack(NULL, len, e);
    assert_non_null(env);
    zb_report_hash(env->report.data, env->report.len, lb->prev);
    zb__envelope__free_unpacked(env, NULL);
    log_push(lb, e, len, DOWN_T0 + 60 * (int64_t)lb->n);
}

/* A downstream message with every field in place; one body set by the
 * caller through the members below. */
typedef struct {
    Zb__Downstream d;
    Zb__Review review;
    Zb__Reminder reminder;
    Zb__Deadline deadline;
    Zb__Time deadline_at;
    Zb__Notice notice;
} down_msg;

static void down_init(down_msg *m, const char *county, uint64_t number, int64_t created_at)
{
    memset(m, 0, sizeof *m);
    m->d = (Zb__Downstream)ZB__DOWNSTREAM__INIT;
    m->review = (Zb__Review)ZB__REVIEW__INIT;
    m->reminder = (Zb__Reminder)ZB__REMINDER__INIT;
    m->deadline = (Zb__Deadline)ZB__DEADLINE__INIT;
    m->deadline_at = (Zb__Time)ZB__TIME__INIT;
    m->notice = (Zb__Notice)ZB__NOTICE__INIT;
    m->d.version = ZB_DOWN_VERSION;
    m->d.county = (char *)county;
    m->d.number = number;
    m->d.created_at = created_at;
    m->d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, down_agg.pk};
}

static void down_review(down_msg *m, uint64_t seq, Zb__ReviewDecision decision,
                        const char *comment)
{
    m->review.seq = seq;
    m->review.decision = decision;
    m->review.comment = (char *)comment;
    m->review.reviewer = (char *)"王科长";
    m->d.body_case = ZB__DOWNSTREAM__BODY_REVIEW;
    m->d.review = &m->review;
}

static void down_reminder(down_msg *m, const char *period)
{
    m->reminder.kind = ZB__REMINDER_KIND__MONTHLY_MISSING;
    m->reminder.period = (char *)period;
    m->reminder.has_due_at = 1;
    m->reminder.due_at = 1762358399; /* 2025-11-05T23:59:59+08:00 */
    m->d.body_case = ZB__DOWNSTREAM__BODY_REMINDER;
    m->d.reminder = &m->reminder;
}

static void down_deadline(down_msg *m, const char *period, int64_t at)
{
    m->deadline.period = (char *)period;
    m->deadline_at.unix = at;
    m->deadline_at.offset_min = 480;
    m->deadline.deadline = &m->deadline_at;
    m->d.body_case = ZB__DOWNSTREAM__BODY_DEADLINE;
    m->d.deadline = &m->deadline;
}

static void down_notice(down_msg *m, const char *title, const char *text)
{
    m->notice.title = (char *)title;
    m->notice.text = (char *)text;
    m->d.body_case = ZB__DOWNSTREAM__BODY_NOTICE;
    m->d.notice = &m->notice;
}

/* Seal m with signer and append it, received at its created_at. */
static void log_down(log_build *lb, const down_msg *m, const zb_identity *signer)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(zb_down_seal(&m->d, signer, &buf, &len), ZB_OK);
    assert_true(zb_down_is_leaf(buf, len));
    log_push(lb, buf, len, m->d.created_at);
}

/* The time the next leaf gets. */
static int64_t log_now(const log_build *lb)
{
    return DOWN_T0 + 60 * (int64_t)lb->n;
}

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    uint64_t records;
} bundle_w;

static void bw_record(bundle_w *w, const Zb__BundleRecord *rec)
{
    size_t rl = zb__bundle_record__get_packed_size(rec);
    if (w->len + 4 + rl > w->cap) {
        w->cap = 2 * (w->len + 4 + rl);
        w->buf = realloc(w->buf, w->cap);
        assert_non_null(w->buf);
    }
    for (int b = 0; b < 4; b++)
        w->buf[w->len + (size_t)b] = (uint8_t)(rl >> (24 - 8 * b));
    zb__bundle_record__pack(rec, w->buf + w->len + 4);
    w->len += 4 + rl;
    w->records++;
}

/* A tree head over the first k leaves, signed by agg at t: *sth (heap,
 * free with zb__signed_tree_head__free_unpacked). */
static Zb__SignedTreeHead *head_over(const leaf *l, size_t k, int64_t t, const zb_identity *agg)
{
    uint8_t(*hashes)[ZB_HASH_LEN] = calloc(k ? k : 1, ZB_HASH_LEN);
    assert_non_null(hashes);
    for (size_t i = 0; i < k; i++)
        zb_merkle_leaf_hash(l[i].bytes, l[i].len, hashes[i]);
    uint8_t root[ZB_HASH_LEN], th_buf[256], sig[ZB_SIG_LEN], sth_buf[512];
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])hashes, k, root);
    free(hashes);
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = k;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = t;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    size_t th_len = zb__tree_head__get_packed_size(&th);
    assert_true(th_len <= sizeof th_buf);
    zb__tree_head__pack(&th, th_buf);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, th_buf, th_len, agg, sig), ZB_OK);
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){th_len, th_buf};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    size_t n = zb__signed_tree_head__get_packed_size(&sth);
    assert_true(n <= sizeof sth_buf);
    zb__signed_tree_head__pack(&sth, sth_buf);
    Zb__SignedTreeHead *out = zb__signed_tree_head__unpack(NULL, n, sth_buf);
    assert_non_null(out);
    return out;
}

/* What a hand-written bundle holds. */
typedef struct {
    uint32_t version;
    const leaf *l;
    size_t n;
    Zb__BundleCounty **counties;
    size_t n_counties;
    Zb__BundleEvidence **evidence; /* records (versions 1, 2) */
    size_t n_evidence;
    const zb_identity *agg;
    int64_t head_time;             /* the tree head's timestamp */
    Zb__SignedTreeHead **witnessed; /* version 4: witnessed_head records, before the entries */
    size_t n_witnessed;
    Zb__SignedTreeHead *(*cosign_head)(Zb__SignedTreeHead *sth); /* the tree head's (may be NULL) */
} bundle_spec;

/* A whole bundle (docs/bundle.md): header, the county records, the
 * evidence records, the entries, a tree head signed by the aggregator
 * over exactly those leaves, the end record. */
static uint8_t *bundle_write(const bundle_spec *b, size_t *len)
{
    bundle_w w = {0};
    w.cap = 4096;
    w.buf = malloc(w.cap);
    assert_non_null(w.buf);
    w.len = strlen(ZB_AUDIT_BUNDLE_MAGIC);
    memcpy(w.buf, ZB_AUDIT_BUNDLE_MAGIC, w.len);

    Zb__BundleRecord rec = ZB__BUNDLE_RECORD__INIT;
    Zb__BundleHeader h = ZB__BUNDLE_HEADER__INIT;
    h.version = b->version;
    h.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)b->agg->pk};
    h.created_at = DOWN_T0 + 86400;
    h.county_count = b->n_counties;
    h.entry_count = b->n;
    if (b->n_evidence) {
        h.has_evidence_count = 1;
        h.evidence_count = b->n_evidence;
    }
    rec.record_case = ZB__BUNDLE_RECORD__RECORD_HEADER;
    rec.header = &h;
    bw_record(&w, &rec);
    for (size_t i = 0; i < b->n_counties; i++) {
        rec.record_case = ZB__BUNDLE_RECORD__RECORD_COUNTY;
        rec.county = b->counties[i];
        bw_record(&w, &rec);
    }
    for (size_t i = 0; i < b->n_evidence; i++) {
        rec.record_case = ZB__BUNDLE_RECORD__RECORD_EVIDENCE;
        rec.evidence = b->evidence[i];
        bw_record(&w, &rec);
    }
    for (size_t i = 0; i < b->n_witnessed; i++) {
        rec.record_case = ZB__BUNDLE_RECORD__RECORD_WITNESSED_HEAD;
        rec.witnessed_head = b->witnessed[i];
        bw_record(&w, &rec);
    }
    for (size_t i = 0; i < b->n; i++) {
        Zb__BundleEntry e = ZB__BUNDLE_ENTRY__INIT;
        e.log_index = i;
        e.received_at = b->l[i].received_at;
        e.envelope = (ProtobufCBinaryData){b->l[i].len, b->l[i].bytes};
        rec.record_case = ZB__BUNDLE_RECORD__RECORD_ENTRY;
        rec.entry = &e;
        bw_record(&w, &rec);
    }
    Zb__SignedTreeHead *sth = head_over(b->l, b->n, b->head_time, b->agg);
    if (b->cosign_head)
        sth = b->cosign_head(sth);
    rec.record_case = ZB__BUNDLE_RECORD__RECORD_TREE_HEAD;
    rec.tree_head = sth;
    bw_record(&w, &rec);
    zb__signed_tree_head__free_unpacked(sth, NULL);

    uint8_t digest[ZB_SHA256_LEN];
    zb_sha256(w.buf, w.len, digest);
    Zb__BundleEnd end = ZB__BUNDLE_END__INIT;
    end.record_count = w.records;
    end.sha256 = (ProtobufCBinaryData){ZB_SHA256_LEN, digest};
    rec.record_case = ZB__BUNDLE_RECORD__RECORD_END;
    rec.end = &end;
    bw_record(&w, &rec);
    *len = w.len;
    return w.buf;
}

/* A whole bundle of the given version over lb's leaves: COUNTY and
 * COUNTY2 with one key each, a tree head at the latest leaf's time. */
static uint8_t *bundle_of(const log_build *lb, uint32_t version, size_t *len)
{
    const char *codes[2] = {COUNTY, COUNTY2};
    const zb_identity *keys[2] = {&F.node, &down_node2};
    Zb__KeyEpoch ep[2];
    Zb__KeyEpoch *eps[2][1];
    Zb__BundleCounty c[2];
    Zb__BundleCounty *cs[2];
    for (int i = 0; i < 2; i++) {
        ep[i] = (Zb__KeyEpoch)ZB__KEY_EPOCH__INIT;
        ep[i].key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)keys[i]->pk};
        ep[i].enrolled_at = DOWN_T0 - 86400;
        ep[i].first_seq = 1;
        eps[i][0] = &ep[i];
        c[i] = (Zb__BundleCounty)ZB__BUNDLE_COUNTY__INIT;
        c[i].code = (char *)codes[i];
        c[i].epochs = eps[i];
        c[i].n_epochs = 1;
        cs[i] = &c[i];
    }
    int64_t latest = 0;
    for (size_t i = 0; i < lb->n; i++)
        latest = lb->l[i].received_at > latest ? lb->l[i].received_at : latest;
    bundle_spec b = {.version = version,
                     .l = lb->l,
                     .n = lb->n,
                     .counties = cs,
                     .n_counties = 2,
                     .agg = &down_agg,
                     .head_time = latest};
    return bundle_write(&b, len);
}

/* Verify lb as a bundle of version; the findings in f. */
static long verify_log(const log_build *lb, uint32_t version, findings *f, zb_audit_summary *s)
{
    size_t len;
    uint8_t *b = bundle_of(lb, version, &len);
    long n = verify_bytes(b, len, f, s);
    free(b);
    return n;
}

/* lb as a bundle has exactly one finding, want. */
static void expect_one_finding(const log_build *lb, uint32_t version, const char *want)
{
    findings f = {0};
    zb_audit_summary s;
    long n = verify_log(lb, version, &f, &s);
    if (n != 1 || strcmp(f.lines[0], want) != 0)
        for (size_t i = 0; i < f.n && i < 16; i++)
            print_message("finding: %s\n", f.lines[i]);
    assert_int_equal(n, 1);
    assert_string_equal(f.lines[0], want);
}

/* The loop of issue 12 in one log: reports, a return with a Chinese
 * comment, a later acceptance, reminders, a moved deadline, notices to
 * both counties; numbers per county interleaved in log order. */
static void clean_log(log_build *lb)
{
    memset(lb, 0, sizeof *lb);
    down_keys();
    down_msg m;
    log_report(lb);                                    /* 0: COUNTY seq 1 */
    log_report(lb);                                    /* 1: seq 2 */
    down_init(&m, COUNTY, 1, log_now(lb));             /* 2: return seq 1 */
    down_review(&m, 1, ZB__REVIEW_DECISION__RETURNED, "第3项整改进度数据有误，请核实后重新报送。");
    log_down(lb, &m, &down_agg);
    down_init(&m, COUNTY2, 1, log_now(lb));            /* 3: COUNTY2's first */
    down_reminder(&m, "2025-10");
    log_down(lb, &m, &down_agg);
    log_report(lb);                                    /* 4: seq 3, the new version */
    down_init(&m, COUNTY, 2, log_now(lb));             /* 5: accept seq 3 */
    down_review(&m, 3, ZB__REVIEW_DECISION__ACCEPTED, NULL);
    log_down(lb, &m, &down_agg);
    down_init(&m, COUNTY, 3, log_now(lb));             /* 6 */
    down_deadline(&m, "2025-11", 1765209599); /* 2025-12-08T23:59:59+08:00 */
    log_down(lb, &m, &down_agg);
    down_init(&m, COUNTY2, 2, log_now(lb));            /* 7 */
    down_notice(&m, "关于元旦假期值班的通知", "请各县（市）安委办做好值班安排。");
    log_down(lb, &m, &down_agg);
    down_init(&m, COUNTY, 4, log_now(lb));             /* 8 */
    down_notice(&m, "关于元旦假期值班的通知", "请各县（市）安委办做好值班安排。");
    log_down(lb, &m, &down_agg);
}

static void test_downstream_clean(void **state)
{
    (void)state;
    log_build lb;
    clean_log(&lb);
    findings f = {0};
    zb_audit_summary s;
    long n = verify_log(&lb, 2, &f, &s);
    if (n)
        fail_msg("finding: %s", f.lines[0]);
    assert_true(s.head_ok);
    assert_int_equal(s.entries, 9);
    assert_int_equal(s.head.size, 9);
    assert_int_equal(s.reports, 3);
    assert_int_equal(s.downstream, 6);
    assert_int_equal(s.reviews, 2);
    assert_int_equal(s.reminders, 1);
    assert_int_equal(s.deadlines, 1);
    assert_int_equal(s.notices, 2);
    /* pinned: the same key holds; another key is the header's one finding */
    size_t len;
    uint8_t *b = bundle_of(&lb, 2, &len);
    FILE *fp = fmemopen(b, len, "rb");
    assert_non_null(fp);
    zb_audit_opts o = {.pinned_key = down_agg.pk};
    findings f2 = {0};
    assert_int_equal(zb_audit_verify(fp, &o, collect, &f2, &s), 0);
    fclose(fp);
    /* every single flipped bit of it is found */
    for (size_t i = 0; i < len; i++) {
        b[i] ^= 0x01;
        findings f3 = {0};
        if (verify_bytes(b, len, &f3, &s) <= 0)
            fail_msg("flipping byte %zu of %zu went unnoticed", i, len);
        b[i] ^= 0x01;
    }
    free(b);
    log_free(&lb);
}

static void test_downstream_forged_signature(void **state)
{
    (void)state;
    log_build lb;
    clean_log(&lb);
    leaf *l = &lb.l[5]; /* the acceptance: its signature is the entry's last 64 bytes */
    l->bytes[l->len - 1] ^= 0x01;
    /* what does not verify has no number: the county's next one follows a gap */
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(verify_log(&lb, 2, &f, &s), 2);
    assert_string_equal(f.lines[0], "log entry 5: downstream message does not verify: signature "
                                    "does not verify with the aggregator key");
    assert_string_equal(f.lines[1], "county 222401: downstream number 3 follows 1 (gap)");
    assert_int_equal(s.downstream, 6);
    assert_int_equal(s.reviews, 1); /* by kind: only what opens */
    log_free(&lb);

    /* signed by someone else's key, naming the aggregator */
    clean_log(&lb);
    zb_identity other;
    zb_identity_generate(&other);
    down_msg m;
    down_init(&m, COUNTY, 5, log_now(&lb));
    down_review(&m, 1, ZB__REVIEW_DECISION__ACCEPTED, NULL);
    log_down(&lb, &m, &other);
    expect_one_finding(&lb, 2,
                       "log entry 9: downstream message does not verify: signature does not "
                       "verify with the aggregator key");
    zb_identity_wipe(&other);
    log_free(&lb);
}

static void test_downstream_wrong_aggregator_field(void **state)
{
    (void)state;
    log_build lb;
    clean_log(&lb);
    zb_identity other;
    zb_identity_generate(&other);
    down_msg m;
    down_init(&m, COUNTY, 5, log_now(&lb));
    down_notice(&m, "通知", "正文");
    m.d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, other.pk}; /* signed by down_agg */
    log_down(&lb, &m, &down_agg);
    expect_one_finding(&lb, 2,
                       "log entry 9: downstream message does not verify: its aggregator field "
                       "is not the aggregator key");
    zb_identity_wipe(&other);
    log_free(&lb);
}

static void test_downstream_number_gap(void **state)
{
    (void)state;
    log_build lb;
    clean_log(&lb);
    down_msg m;
    down_init(&m, COUNTY, 6, log_now(&lb)); /* COUNTY's last was 4 */
    down_notice(&m, "通知", "正文");
    log_down(&lb, &m, &down_agg);
    expect_one_finding(&lb, 2, "county 222401: downstream number 6 follows 4 (gap)");
    log_free(&lb);

    /* a number again: the first message repeated as a new leaf */
    clean_log(&lb);
    down_init(&m, COUNTY2, 1, log_now(&lb));
    down_reminder(&m, "2025-10");
    log_down(&lb, &m, &down_agg);
    expect_one_finding(&lb, 2,
                       "county 222402 downstream number 1: appears again (log entry 9) or out "
                       "of order");
    log_free(&lb);

    /* a county's numbers start at 1 */
    memset(&lb, 0, sizeof lb);
    down_init(&m, COUNTY2, 2, log_now(&lb));
    down_notice(&m, "通知", "正文");
    log_down(&lb, &m, &down_agg);
    expect_one_finding(&lb, 2, "county 222402: downstream number 2 follows 0 (gap)");
    log_free(&lb);
}

static void test_downstream_review_before_report(void **state)
{
    (void)state;
    log_build lb;
    clean_log(&lb);
    down_msg m;
    down_init(&m, COUNTY, 5, log_now(&lb)); /* seq 4 is not logged yet */
    down_review(&m, 4, ZB__REVIEW_DECISION__ACCEPTED, NULL);
    log_down(&lb, &m, &down_agg);
    log_report(&lb); /* ... it comes after */
    expect_one_finding(&lb, 2,
                       "county 222401 downstream number 5 (log entry 9): review of seq 4, "
                       "which is not logged before it");
    log_free(&lb);

    /* a review of the other county's report names a seq COUNTY2 never filed */
    clean_log(&lb);
    down_init(&m, COUNTY2, 3, log_now(&lb));
    down_review(&m, 1, ZB__REVIEW_DECISION__RETURNED, "请补充");
    log_down(&lb, &m, &down_agg);
    expect_one_finding(&lb, 2,
                       "county 222402 downstream number 3 (log entry 9): review of seq 1, "
                       "which is not logged before it");
    log_free(&lb);
}

static void test_downstream_in_version1(void **state)
{
    (void)state;
    log_build lb;
    clean_log(&lb);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(verify_log(&lb, 1, &f, &s), 6);
    static const size_t down_at[6] = {2, 3, 5, 6, 7, 8};
    for (size_t i = 0; i < 6; i++) {
        char want[200];
        snprintf(want, sizeof want,
                 "log entry %zu: a downstream message in a version 1 bundle (whose log holds "
                 "county reports only)", down_at[i]);
        assert_string_equal(f.lines[i], want);
    }
    log_free(&lb);

    /* envelopes only: version 1 still reads */
    memset(&lb, 0, sizeof lb);
    log_report(&lb);
    log_report(&lb);
    memset(&f, 0, sizeof f);
    long n = verify_log(&lb, 1, &f, &s);
    if (n)
        fail_msg("finding: %s", f.lines[0]);
    assert_int_equal(s.reports, 2);
    assert_int_equal(s.downstream, 0);

    /* a version this verifier does not know (read by the newest rules:
     * COUNTY2's key, enrolled in no KeyEvent, is a finding too) */
    memset(&f, 0, sizeof f);
    assert_int_equal(verify_log(&lb, 5, &f, &s), 2);
    assert_string_equal(f.lines[0], "header: bundle version 5 (this verifier reads versions 1 to 4)");
    log_free(&lb);
}

/* The other rules of a downstream leaf: content, recipient, received_at. */
static void test_downstream_other_rules(void **state)
{
    (void)state;
    log_build lb;
    down_msg m;
    /* signed, but the comment is over its limit */
    clean_log(&lb);
    char *comment = malloc(ZB_DOWN_COMMENT_MAX + 2);
    assert_non_null(comment);
    memset(comment, 'x', ZB_DOWN_COMMENT_MAX + 1);
    comment[ZB_DOWN_COMMENT_MAX + 1] = '\0';
    down_init(&m, COUNTY, 5, log_now(&lb));
    down_review(&m, 1, ZB__REVIEW_DECISION__RETURNED, comment);
    log_down(&lb, &m, &down_agg);
    free(comment);
    expect_one_finding(&lb, 2,
                       "log entry 9: downstream message does not verify: breaks the content "
                       "rules: comment: text over its limit (4001 characters, at most 4000)");
    log_free(&lb);

    /* to a county the bundle does not list */
    clean_log(&lb);
    down_init(&m, "222403", 1, log_now(&lb));
    down_notice(&m, "通知", "正文");
    log_down(&lb, &m, &down_agg);
    expect_one_finding(&lb, 2,
                       "log entry 9: downstream message to county 222403 number 1: county not "
                       "in the bundle");
    log_free(&lb);

    /* received_at is the message's created_at */
    clean_log(&lb);
    lb.l[7].received_at += 1;
    expect_one_finding(&lb, 2,
                       "log entry 7: received_at 1764000421 is not the downstream message's "
                       "created_at 1764000420");
    log_free(&lb);

    /* not a strict encoding: a byte appended inside the signed layer's
     * length would break the signature, so append a second signature
     * field to the outer message */
    clean_log(&lb);
    leaf *l = &lb.l[8];
    uint8_t *grown = realloc(l->bytes, l->len + 2 + 2 + ZB_SIG_LEN);
    assert_non_null(grown);
    l->bytes = grown;
    grown[l->len] = 0x8a; /* field 17, wire type 2 */
    grown[l->len + 1] = 0x01;
    grown[l->len + 2] = ZB_SIG_LEN;
    memcpy(grown + l->len + 3, grown + l->len - ZB_SIG_LEN, ZB_SIG_LEN);
    l->len += 3 + ZB_SIG_LEN;
    expect_one_finding(&lb, 2,
                       "log entry 8: downstream message does not verify: not a strictly "
                       "decodable, canonically encoded message");
    log_free(&lb);
}

/* ------------------------------------------------------------ version 3: LogLeafs */

/* Version-3 logs written leaf by leaf as the aggregator of log version 2
 * writes them (LogLeaf entries with their times; key events with real
 * key requests; evidence in the log), with the county records an honest
 * export derives from them; each broken rule is then the finding of its
 * bundle. */

#define V3_MAX 64
#define V3_EPOCHS 8

typedef struct {
    const char *code;
    zb_identity key;                   /* the key the county signs with now */
    uint32_t epoch;                    /* ... its epoch */
    uint64_t seq;                      /* reports logged */
    uint8_t prev[ZB_SHA256_LEN];       /* hash of the last */
    uint8_t hash[V3_MAX][ZB_SHA256_LEN]; /* hash[s]: report seq s */
    uint64_t number;                   /* downstream messages logged */
    /* the county record an honest export writes */
    Zb__KeyEpoch ep[V3_EPOCHS];
    uint8_t ep_key[V3_EPOCHS][ZB_PK_LEN];
    size_t n_ep;
} v3_county;

typedef struct {
    leaf l[V3_MAX];
    size_t n;
    int64_t now;                       /* the last leaf's time */
    v3_county c[2];                    /* COUNTY, COUNTY2 */
    /* the records as written: tests edit them */
    Zb__KeyEpoch *eps[2][V3_EPOCHS];
    Zb__BundleCounty rec[2];
    Zb__BundleCounty *recs[2];
    size_t n_recs;
} v3_log;

/* COUNTY's keys k[0..2], COUNTY2's m, the prefecture's forger (fixed seeds,
 * tests/fuzz/fuzz_bundle.c knows them). */
static zb_identity v3_k[3], v3_m, v3_forger;

static void v3_keys(void)
{
    for (int i = 0; i < 3; i++)
        seeded_identity((uint8_t)(0xb0 + i), &v3_k[i]);
    seeded_identity(0xb8, &v3_m);
    seeded_identity(0xbf, &v3_forger);
    down_keys();
}

static void v3_init(v3_log *g)
{
    v3_keys();
    memset(g, 0, sizeof *g);
    g->now = DOWN_T0;
    g->c[0].code = COUNTY;
    g->c[1].code = COUNTY2;
}

static void v3_free(v3_log *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->l[i].bytes);
    g->n = 0;
}

static int64_t v3_tick(v3_log *g)
{
    return g->now += 60;
}

static void v3_push(v3_log *g, const Zb__LogLeaf *ll)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(zb_leaf_pack(ll, &buf, &len), ZB_OK);
    assert_true(g->n < V3_MAX);
    g->l[g->n++] = (leaf){buf, len, ll->timestamp};
}

/* A KeyEvent leaf at time t; request and prev_hash may be NULL,
 * consented < 0: absent. */
static void v3_key_event(v3_log *g, int ci, Zb__KeyEventKind kind, const uint8_t *key,
                         uint32_t epoch_no, uint64_t seq, const uint8_t *prev_hash,
                         const uint8_t *req, size_t req_len, int consented, int64_t t)
{
    Zb__KeyEvent e = ZB__KEY_EVENT__INIT;
    e.county = (char *)g->c[ci].code;
    e.epoch = epoch_no;
    e.kind = kind;
    e.key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)key};
    e.seq = seq;
    if (prev_hash) {
        e.has_prev_hash = 1;
        e.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, (uint8_t *)prev_hash};
    }
    if (req) {
        e.has_request = 1;
        e.request = (ProtobufCBinaryData){req_len, (uint8_t *)req};
    }
    if (consented >= 0) {
        e.has_consented = 1;
        e.consented = consented != 0;
    }
    Zb__LogLeaf ll = ZB__LOG_LEAF__INIT;
    ll.timestamp = t;
    ll.entry_case = ZB__LOG_LEAF__ENTRY_KEY_EVENT;
    ll.key_event = &e;
    v3_push(g, &ll);
}

/* The county record's entries, as an honest export derives them. */
static void v3_record_enrol(v3_county *c, const uint8_t *key, uint64_t first_seq, int64_t t)
{
    assert_true(c->n_ep < V3_EPOCHS);
    Zb__KeyEpoch *ep = &c->ep[c->n_ep];
    *ep = (Zb__KeyEpoch)ZB__KEY_EPOCH__INIT;
    memcpy(c->ep_key[c->n_ep], key, ZB_PK_LEN);
    ep->key = (ProtobufCBinaryData){ZB_PK_LEN, c->ep_key[c->n_ep]};
    ep->enrolled_at = t;
    ep->first_seq = first_seq;
    c->n_ep++;
}

static void v3_record_revoke(v3_county *c, uint64_t last_seq, int64_t t)
{
    assert_true(c->n_ep > 0);
    c->ep[c->n_ep - 1].revoked_at = t;
    c->ep[c->n_ep - 1].last_seq = last_seq;
}

/* Enrol key for county ci with its signed request (proof of possession). */
static void v3_enrol(v3_log *g, int ci, const zb_identity *key)
{
    v3_county *c = &g->c[ci];
    int64_t t = v3_tick(g);
    uint8_t *req;
    size_t len;
    assert_int_equal(zb_keyreq_make(c->code, key, NULL, 0, NULL, t, &req, &len), ZB_OK);
    uint32_t e = (uint32_t)c->n_ep;
    v3_key_event(g, ci, ZB__KEY_EVENT_KIND__ENROLLED, key->pk, e, c->seq + 1, c->prev, req, len,
                 -1, t);
    free(req);
    v3_record_enrol(c, key->pk, c->seq + 1, t);
    c->key = *key;
    c->epoch = e;
}

/* A voluntary rotation (zhibao-node rotate-key, then zhibao-agg enroll
 * --request): REVOKED consented and ENROLLED, one request, one time. */
static void v3_rotate(v3_log *g, int ci, const zb_identity *key)
{
    v3_county *c = &g->c[ci];
    int64_t t = v3_tick(g);
    uint8_t *req;
    size_t len;
    assert_int_equal(zb_keyreq_make(c->code, key, &c->key, c->seq, c->prev, t, &req, &len), ZB_OK);
    v3_key_event(g, ci, ZB__KEY_EVENT_KIND__REVOKED, c->key.pk, c->epoch, c->seq, NULL, req, len,
                 1, t);
    v3_record_revoke(c, c->seq, t);
    v3_key_event(g, ci, ZB__KEY_EVENT_KIND__ENROLLED, key->pk, c->epoch + 1, c->seq + 1, c->prev,
                 req, len, -1, t);
    free(req);
    v3_record_enrol(c, key->pk, c->seq + 1, t);
    c->key = *key;
    c->epoch++;
}

/* A lost machine: zhibao-agg revoke, no consent. */
static void v3_revoke(v3_log *g, int ci)
{
    v3_county *c = &g->c[ci];
    int64_t t = v3_tick(g);
    v3_key_event(g, ci, ZB__KEY_EVENT_KIND__REVOKED, c->key.pk, c->epoch, c->seq, NULL, NULL, 0, 0,
                 t);
    v3_record_revoke(c, c->seq, t);
}

/* County ci's next report, signed by signer (its key: NULL), in a LogLeaf. */
static void v3_report_by(v3_log *g, int ci, const zb_identity *signer)
{
    v3_county *c = &g->c[ci];
    size_t len;
    uint8_t *env = seal_report(c->code, signer ? signer : &c->key, ++c->seq, c->prev, "2025-10",
                               &len);
    Zb__LogLeaf ll = ZB__LOG_LEAF__INIT;
    ll.timestamp = v3_tick(g);
    ll.entry_case = ZB__LOG_LEAF__ENTRY_ENVELOPE;
    ll.envelope = (ProtobufCBinaryData){len, env};
    v3_push(g, &ll);
    const uint8_t *rep;
    size_t rl;
    assert_int_equal(zb_envelope_report_view(env, len, &rep, &rl), ZB_OK);
    zb_report_hash(rep, rl, c->prev);
    assert_true(c->seq < V3_MAX);
    memcpy(c->hash[c->seq], c->prev, ZB_SHA256_LEN);
    free(env);
}

static void v3_report(v3_log *g, int ci)
{
    v3_report_by(g, ci, NULL);
}

/* A downstream message to county ci in a LogLeaf entered at its created_at. */
static void v3_notice(v3_log *g, int ci)
{
    down_msg m;
    down_init(&m, g->c[ci].code, ++g->c[ci].number, v3_tick(g));
    down_notice(&m, "关于元旦假期值班的通知", "请各县（市）安委办做好值班安排。");
    uint8_t *buf;
    size_t len;
    assert_int_equal(zb_down_seal(&m.d, &down_agg, &buf, &len), ZB_OK);
    Zb__LogLeaf ll = ZB__LOG_LEAF__INIT;
    ll.timestamp = m.d.created_at;
    ll.entry_case = ZB__LOG_LEAF__ENTRY_DOWNSTREAM;
    ll.downstream = (ProtobufCBinaryData){len, buf};
    v3_push(g, &ll);
    free(buf);
}

static void v3_review(v3_log *g, int ci, uint64_t seq)
{
    down_msg m;
    down_init(&m, g->c[ci].code, ++g->c[ci].number, v3_tick(g));
    down_review(&m, seq, ZB__REVIEW_DECISION__ACCEPTED, NULL);
    uint8_t *buf;
    size_t len;
    assert_int_equal(zb_down_seal(&m.d, &down_agg, &buf, &len), ZB_OK);
    Zb__LogLeaf ll = ZB__LOG_LEAF__INIT;
    ll.timestamp = m.d.created_at;
    ll.entry_case = ZB__LOG_LEAF__ENTRY_DOWNSTREAM;
    ll.downstream = (ProtobufCBinaryData){len, buf};
    v3_push(g, &ll);
    free(buf);
}

/* An Evidence leaf for county ci's seq holding env (owned by the caller). */
static void v3_evidence_env(v3_log *g, int ci, uint64_t seq, const uint8_t *env, size_t len)
{
    Zb__Evidence ev = ZB__EVIDENCE__INIT;
    ev.county = (char *)g->c[ci].code;
    ev.seq = seq;
    ev.envelope = (ProtobufCBinaryData){len, (uint8_t *)env};
    Zb__LogLeaf ll = ZB__LOG_LEAF__INIT;
    ll.timestamp = v3_tick(g);
    ll.entry_case = ZB__LOG_LEAF__ENTRY_EVIDENCE;
    ll.evidence = &ev;
    v3_push(g, &ll);
}

/* Evidence: a second, different report for seq (continuing the same
 * chain), signed by signer (the county's key: NULL). */
static void v3_evidence(v3_log *g, int ci, uint64_t seq, const zb_identity *signer)
{
    v3_county *c = &g->c[ci];
    size_t len;
    uint8_t zero[ZB_SHA256_LEN] = {0};
    uint8_t *env = seal_report(c->code, signer ? signer : &c->key, seq,
                               seq > 1 && seq <= c->seq ? c->hash[seq - 1] : zero, "2025-09", &len);
    v3_evidence_env(g, ci, seq, env, len);
    free(env);
}

/* The county records: every county with a key, as the log made them. */
static void v3_records(v3_log *g)
{
    g->n_recs = 0;
    for (int i = 0; i < 2; i++) {
        v3_county *c = &g->c[i];
        if (!c->n_ep)
            continue;
        for (size_t k = 0; k < c->n_ep; k++)
            g->eps[i][k] = &c->ep[k];
        g->rec[i] = (Zb__BundleCounty)ZB__BUNDLE_COUNTY__INIT;
        g->rec[i].code = (char *)c->code;
        g->rec[i].epochs = g->eps[i];
        g->rec[i].n_epochs = c->n_ep;
        g->recs[g->n_recs++] = &g->rec[i];
    }
}

/* The bundle of g's first n leaves, its head signed at head_time; the
 * county records as g->recs holds them (v3_records first). */
static uint8_t *v3_bundle_n(const v3_log *g, uint32_t version, size_t n, int64_t head_time,
                            size_t *len)
{
    bundle_spec b = {.version = version,
                     .l = g->l,
                     .n = n,
                     .counties = (Zb__BundleCounty **)g->recs,
                     .n_counties = g->n_recs,
                     .agg = &down_agg,
                     .head_time = head_time};
    return bundle_write(&b, len);
}

/* Key event lines, as zhibao-audit prints them. */
typedef struct {
    char lines[16][300];
    size_t n;
} key_lines;

static void collect_key_line(void *ctx, const zb_audit_key_event *e)
{
    key_lines *k = ctx;
    if (k->n < 16)
        zb_audit_key_event_line(e, k->lines[k->n], sizeof k->lines[0]);
    k->n++;
}

/* Verify bytes with the aggregator key pinned and opts' pins and heads;
 * key event lines into k (may be NULL). */
static long v3_verify_bytes(const uint8_t *b, size_t len, zb_audit_opts *o, findings *f,
                            zb_audit_summary *s, key_lines *k)
{
    FILE *fp = fmemopen((void *)b, len, "rb");
    assert_non_null(fp);
    zb_audit_opts none = {0};
    if (!o)
        o = &none;
    o->pinned_key = down_agg.pk;
    o->key_event = k ? collect_key_line : NULL;
    o->key_event_ctx = k;
    long n = zb_audit_verify(fp, o, collect, f, s);
    fclose(fp);
    return n;
}

/* g (all its leaves, records as the log made them, head at the last
 * leaf's time) verified: the number of findings. */
static long v3_verify(v3_log *g, zb_audit_opts *o, findings *f, zb_audit_summary *s,
                      key_lines *k)
{
    if (!g->n_recs)
        v3_records(g);
    size_t len;
    uint8_t *b = v3_bundle_n(g, 3, g->n, g->now, &len);
    long n = v3_verify_bytes(b, len, o, f, s, k);
    free(b);
    return n;
}

static void print_findings(const findings *f)
{
    for (size_t i = 0; i < f->n && i < 16; i++)
        print_message("finding: %s\n", f->lines[i]);
}

/* g as a bundle has exactly the findings want[0..n). */
static void v3_expect(v3_log *g, zb_audit_opts *o, size_t n, const char *const *want)
{
    findings f = {0};
    zb_audit_summary s;
    long got = v3_verify(g, o, &f, &s, NULL);
    bool ok = got == (long)n;
    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(f.lines[i], want[i]) == 0;
    if (!ok) {
        print_findings(&f);
        for (size_t i = 0; i < n; i++)
            print_message("wanted:  %s\n", want[i]);
    }
    assert_true(ok);
}

static void v3_expect_one(v3_log *g, zb_audit_opts *o, const char *want)
{
    v3_expect(g, o, 1, &want);
}

/* The first 16 hex digits of a key. */
static const char *hex16(const uint8_t *key, char out[17])
{
    zb_hex_encode(key, 8, out);
    return out;
}

static const char *when(int64_t t, char out[40])
{
    assert_int_equal(zb_time_format(t, ZB_CST_OFFSET_MIN, 0, out, 40), ZB_OK);
    return out;
}

/* COUNTY: a first key, three reports, a voluntary rotation, a report,
 * a lost machine revoked without consent, a replacement key, a report;
 * COUNTY2: a key, a report, a review of it and a notice. */
static void v3_clean_log(v3_log *g)
{
    v3_init(g);
    v3_enrol(g, 0, &v3_k[0]);  /* 0 */
    v3_enrol(g, 1, &v3_m);     /* 1 */
    v3_report(g, 0);           /* 2: seq 1 */
    v3_report(g, 0);           /* 3: seq 2 */
    v3_report(g, 1);           /* 4: COUNTY2 seq 1 */
    v3_review(g, 1, 1);        /* 5 */
    v3_rotate(g, 0, &v3_k[1]); /* 6, 7: epoch 0 revoked consented, epoch 1 from seq 3 */
    v3_report(g, 0);           /* 8: seq 3 */
    v3_notice(g, 1);           /* 9 */
    v3_revoke(g, 0);           /* 10: epoch 1 revoked after seq 3, not consented */
    v3_enrol(g, 0, &v3_k[2]);  /* 11: epoch 2 from seq 4 */
    v3_report(g, 0);           /* 12: seq 4 */
}

static void test_v3_clean(void **state)
{
    (void)state;
    v3_log g;
    v3_clean_log(&g);
    v3_records(&g);
    /* the heads two county nodes accepted: after leaf 5, and the latest */
    Zb__SignedTreeHead *h1 = head_over(g.l, 6, g.l[5].received_at, &down_agg);
    Zb__SignedTreeHead *h2 = head_over(g.l, g.n, g.now, &down_agg);
    zb_audit_head heads[2] = {{"yanji.sth", h1}, {"tumen.sth", h2}};
    zb_audit_pin pins[2] = {{COUNTY, {0}}, {COUNTY2, {0}}};
    memcpy(pins[0].key, v3_k[2].pk, ZB_PK_LEN);
    memcpy(pins[1].key, v3_m.pk, ZB_PK_LEN);
    zb_audit_opts o = {.heads = heads, .n_heads = 2, .pins = pins, .n_pins = 2};
    findings f = {0};
    zb_audit_summary s;
    key_lines k = {0};
    long n = v3_verify(&g, &o, &f, &s, &k);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_true(s.head_ok);
    assert_int_equal(s.version, 3);
    assert_int_equal(s.entries, 13);
    assert_int_equal(s.reports, 5);
    assert_int_equal(s.downstream, 2);
    assert_int_equal(s.reviews, 1);
    assert_int_equal(s.notices, 1);
    assert_int_equal(s.key_events, 6);
    assert_int_equal(s.rotations, 1);
    assert_int_equal(s.revocations_unconsented, 1);
    assert_int_equal(s.heads_extended, 2);
    assert_int_equal(s.pins_active, 2);
    assert_int_equal(s.evidence, 0);
    /* the rotation and the lost machine told apart */
    assert_int_equal(k.n, 6);
    char k0[17], k1[17], k2[17], m[17], t[40], want[300];
    hex16(v3_k[0].pk, k0), hex16(v3_k[1].pk, k1), hex16(v3_k[2].pk, k2), hex16(v3_m.pk, m);
    snprintf(want, sizeof want, "key 222401 epoch 0 enrolled %s…  from seq 1  (first key)  "
             "[log entry 0, 2025-11-25T00:01:00+08:00]", k0);
    assert_string_equal(k.lines[0], want);
    snprintf(want, sizeof want, "key 222402 epoch 0 enrolled %s…  from seq 1  (first key)  "
             "[log entry 1, 2025-11-25T00:02:00+08:00]", m);
    assert_string_equal(k.lines[1], want);
    snprintf(want, sizeof want, "key 222401 epoch 0 revoked after seq 2  consented (rotation)  "
             "[log entry 6, %s]", when(g.l[6].received_at, t));
    assert_string_equal(k.lines[2], want);
    snprintf(want, sizeof want, "key 222401 epoch 1 enrolled %s…  from seq 3  (rotation, "
             "consented by epoch 0)  [log entry 7, %s]", k1, when(g.l[7].received_at, t));
    assert_string_equal(k.lines[3], want);
    snprintf(want, sizeof want, "key 222401 epoch 1 revoked after seq 3  NOT consented (lost "
             "machine?)  [log entry 10, %s]", when(g.l[10].received_at, t));
    assert_string_equal(k.lines[4], want);
    snprintf(want, sizeof want, "key 222401 epoch 2 enrolled %s…  from seq 4  (replacement, NOT "
             "consented by epoch 1)  [log entry 11, %s]", k2, when(g.l[11].received_at, t));
    assert_string_equal(k.lines[5], want);

    /* every flipped bit, every cut and every dropped record is found */
    size_t len;
    uint8_t *b = v3_bundle_n(&g, 3, g.n, g.now, &len);
    for (size_t i = 0; i < len; i++) {
        b[i] ^= 0x01;
        findings f2 = {0};
        if (v3_verify_bytes(b, len, NULL, &f2, &s, NULL) <= 0)
            fail_msg("flipping byte %zu of %zu went unnoticed", i, len);
        b[i] ^= 0x01;
    }
    for (size_t cut = strlen(ZB_AUDIT_BUNDLE_MAGIC); cut < len; cut += 7) {
        findings f2 = {0};
        if (v3_verify_bytes(b, cut, NULL, &f2, &s, NULL) <= 0)
            fail_msg("a bundle cut to %zu of %zu bytes went unnoticed", cut, len);
    }
    free(b);
    zb__signed_tree_head__free_unpacked(h1, NULL);
    zb__signed_tree_head__free_unpacked(h2, NULL);
    v3_free(&g);
}

/* An enrolment without proof of possession, or with someone else's. */
static void test_v3_enrol_without_request(void **state)
{
    (void)state;
    v3_log g;
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_revoke(&g, 0);
    /* epoch 1 with no request at all */
    int64_t t = v3_tick(&g);
    v3_key_event(&g, 0, ZB__KEY_EVENT_KIND__ENROLLED, v3_k[1].pk, 1, 2, g.c[0].prev, NULL, 0, -1,
                 t);
    v3_record_enrol(&g.c[0], v3_k[1].pk, 2, t);
    g.c[0].key = v3_k[1];
    g.c[0].epoch = 1;
    v3_report(&g, 0);
    v3_expect_one(&g, NULL, "county 222401 epoch 1 (log entry 3): key event does not verify: an "
                            "enrolment without the key's signed request (no proof of possession)");
    v3_free(&g);

    /* epoch 1 with a request the key did not sign: another key's */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_revoke(&g, 0);
    t = v3_tick(&g);
    uint8_t *req;
    size_t len;
    assert_int_equal(zb_keyreq_make(COUNTY, &v3_forger, NULL, 0, NULL, t, &req, &len), ZB_OK);
    v3_key_event(&g, 0, ZB__KEY_EVENT_KIND__ENROLLED, v3_k[1].pk, 1, 2, g.c[0].prev, req, len, -1,
                 t);
    v3_record_enrol(&g.c[0], v3_k[1].pk, 2, t);
    g.c[0].key = v3_k[1];
    g.c[0].epoch = 1;
    v3_expect_one(&g, NULL, "county 222401 epoch 1 (log entry 3): key event does not verify: its "
                            "key request is for another county or key");
    /* ... or one whose signature was altered */
    v3_free(&g);
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    req[len - 1] ^= 0x01; /* the request's signature: its last byte */
    t = v3_tick(&g);
    v3_key_event(&g, 1, ZB__KEY_EVENT_KIND__ENROLLED, v3_forger.pk, 0, 1, g.c[1].prev, req, len,
                 -1, t);
    v3_record_enrol(&g.c[1], v3_forger.pk, 1, t);
    free(req);
    v3_expect_one(&g, NULL, "county 222402 epoch 0 (log entry 1): key event does not verify: its "
                            "key request does not verify (signature or proof does not verify)");
    v3_free(&g);
}

/* Every report is signed by the key active at its place in the log. */
static void test_v3_report_wrong_key(void **state)
{
    (void)state;
    v3_log g;
    char a[17], b[17], want[300];
    /* after a rotation, the old key signs on */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_rotate(&g, 0, &v3_k[1]);
    v3_report_by(&g, 0, &v3_k[0]); /* 4: seq 2 */
    snprintf(want, sizeof want, "county 222401 seq 2 (log entry 4): signed by %s…, not by the "
             "county's active key (epoch 1, %s…)", hex16(v3_k[0].pk, a), hex16(v3_k[1].pk, b));
    v3_expect_one(&g, NULL, want);
    v3_free(&g);

    /* after a revocation, before a new key: nobody may sign */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_revoke(&g, 0);
    v3_report(&g, 0);             /* 3: seq 2, by the revoked key */
    v3_expect_one(&g, NULL, "county 222401 seq 2 (log entry 3): no key of the county is active at "
                            "that point of the log (epoch 0 was revoked at log entry 2)");
    v3_free(&g);

    /* a county's report before its first key */
    v3_init(&g);
    g.c[1].key = v3_m;
    v3_report(&g, 1);             /* 0 */
    v3_enrol(&g, 1, &v3_m);       /* 1: from seq 2 */
    v3_report(&g, 1);
    v3_expect_one(&g, NULL, "county 222402 seq 1 (log entry 0): no key of the county was enrolled "
                            "before it in the log");
    v3_free(&g);
}

/* The attack of issue 13: a forged revocation of a county's key (no
 * consent), the prefecture's own key enrolled (with a valid request: it
 * holds that key), reports signed by it, the head re-signed. Internally
 * valid; what catches it is the county office's own statement of its key,
 * and the node's head when the forger rewrites instead of appending. */
static void test_v3_forged_revocation(void **state)
{
    (void)state;
    v3_log g;
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_enrol(&g, 1, &v3_m);
    v3_report(&g, 0);
    v3_report(&g, 0);
    v3_report(&g, 1);
    v3_report(&g, 0); /* 5: seq 3 */
    size_t honest = g.n;
    Zb__SignedTreeHead *node_head = head_over(g.l, honest, g.now, &down_agg);
    v3_revoke(&g, 0);              /* 6 */
    v3_enrol(&g, 0, &v3_forger);   /* 7 */
    v3_report(&g, 0);              /* seq 4, forged */
    v3_report(&g, 0);              /* seq 5, forged */

    /* on its own, the bundle holds: the history says a key was lost ... */
    findings f = {0};
    zb_audit_summary s;
    key_lines k = {0};
    zb_audit_head heads[1] = {{"yanji.sth", node_head}};
    zb_audit_opts o = {.heads = heads, .n_heads = 1};
    assert_int_equal(v3_verify(&g, &o, &f, &s, &k), 0);
    assert_int_equal(s.heads_extended, 1); /* appended: the node's head is extended */
    assert_int_equal(k.n, 4);
    char t[40], want[300], kf[17], k0[17];
    snprintf(want, sizeof want, "key 222401 epoch 0 revoked after seq 3  NOT consented (lost "
             "machine?)  [log entry 6, %s]", when(g.l[6].received_at, t));
    assert_string_equal(k.lines[2], want);
    snprintf(want, sizeof want, "key 222401 epoch 1 enrolled %s…  from seq 4  (replacement, NOT "
             "consented by epoch 0)  [log entry 7, %s]", hex16(v3_forger.pk, kf),
             when(g.l[7].received_at, t));
    assert_string_equal(k.lines[3], want);

    /* ... which the county office denies: its key is still k[0]: the
     * prefecture's key enrolled after it, and k[0] revoked without consent */
    zb_audit_pin pins[1] = {{COUNTY, {0}}};
    memcpy(pins[0].key, v3_k[0].pk, ZB_PK_LEN);
    zb_audit_opts o2 = {.pins = pins, .n_pins = 1, .heads = heads, .n_heads = 1};
    char want2[300];
    snprintf(want2, sizeof want2, "county 222401 epoch 1 (log entry 7): enrols %s…, which is not "
             "one of the county's own keys (--county-key), after its own key %s… (log entry 0); "
             "it replaces epoch 0 (%s…), revoked at log entry 6 (NOT consented)", kf,
             hex16(v3_k[0].pk, k0), k0);
    snprintf(want, sizeof want, "county 222401: its own key %s… (--county-key) is epoch 0, revoked "
             "at log entry 6 (NOT consented); the active key is epoch 1 (%s…, enrolled at log "
             "entry 7)", k0, kf);
    const char *w2[2] = {want2, want};
    v3_expect(&g, &o2, 2, w2);

    /* a pin the log never saw */
    memcpy(pins[0].key, v3_k[2].pk, ZB_PK_LEN);
    snprintf(want, sizeof want, "county 222401: its own key %s… (--county-key) was never enrolled "
             "in the log; the active key is epoch 1 (%s…, enrolled at log entry 7)",
             hex16(v3_k[2].pk, k0), kf);
    v3_expect_one(&g, &o2, want);
    v3_free(&g);

    /* rewriting instead: the forger's key from the start, every report
     * re-signed; the node's head is then not extended */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_forger);
    v3_enrol(&g, 1, &v3_m);
    for (int i = 0; i < 3; i++)
        v3_report(&g, 0);
    v3_report(&g, 1);
    v3_report(&g, 0);
    snprintf(want, sizeof want, "head yanji.sth (size %zu): the root of the bundle's first %zu "
             "entries is not this head's root: the bundle does not extend it (history rewritten)",
             honest, honest);
    v3_expect_one(&g, &o, want);
    v3_free(&g);
    zb__signed_tree_head__free_unpacked(node_head, NULL);
}

/* The request bytes of the ENROLLED event at leaf i (a malloc'd copy):
 * what anyone reading the log can replay. */
static uint8_t *v3_logged_request(const v3_log *g, size_t i, size_t *len)
{
    Zb__LogLeaf *ll;
    assert_int_equal(zb_leaf_decode(g->l[i].bytes, g->l[i].len, &ll), ZB_OK);
    assert_int_equal(ll->entry_case, ZB__LOG_LEAF__ENTRY_KEY_EVENT);
    assert_true(ll->key_event->has_request);
    *len = ll->key_event->request.len;
    uint8_t *r = malloc(*len);
    assert_non_null(r);
    memcpy(r, ll->key_event->request.data, *len);
    zb__log_leaf__free_unpacked(ll, NULL);
    return r;
}

/* Enrol key for county ci with the request bytes given (a replay). */
static void v3_enrol_with(v3_log *g, int ci, const zb_identity *key, const uint8_t *req,
                          size_t len)
{
    v3_county *c = &g->c[ci];
    int64_t t = v3_tick(g);
    uint32_t e = (uint32_t)c->n_ep;
    v3_key_event(g, ci, ZB__KEY_EVENT_KIND__ENROLLED, key->pk, e, c->seq + 1, c->prev, req, len,
                 -1, t);
    v3_record_enrol(c, key->pk, c->seq + 1, t);
    c->key = *key;
    c->epoch = e;
}

/* The replay found in review: a key's enrolment request is in the log, so
 * the prefecture can log it again. K0 revoked without consent, its own key
 * Kp enrolled, reports forged with Kp, Kp revoked, K0 enrolled again with
 * its epoch-0 request: the log ends with K0 active, as the county office
 * says, and it extends the county's head. A key is enrolled once; the
 * office's key was revoked without consent and a key not its own came
 * after it; the county's honest reports for the forged seqs, refused and
 * logged as evidence, are two keys' reports for one seq, not K0's
 * equivocation. */
static void test_v3_replayed_enrolment(void **state)
{
    (void)state;
    v3_log g;
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]); /* 0 */
    v3_enrol(&g, 1, &v3_m);    /* 1 */
    for (int i = 0; i < 3; i++)
        v3_report(&g, 0);      /* 2..4: seq 1..3 */
    Zb__SignedTreeHead *node_head = head_over(g.l, g.n, g.now, &down_agg);
    v3_revoke(&g, 0);            /* 5 */
    v3_enrol(&g, 0, &v3_forger); /* 6: epoch 1 */
    v3_report(&g, 0);            /* 7: seq 4, forged */
    v3_report(&g, 0);            /* 8: seq 5, forged */
    v3_revoke(&g, 0);            /* 9 */
    size_t rlen;
    uint8_t *replay = v3_logged_request(&g, 0, &rlen);
    v3_enrol_with(&g, 0, &v3_k[0], replay, rlen); /* 10: epoch 2, K0 again */
    free(replay);
    v3_evidence(&g, 0, 4, NULL); /* 11: the county's own seq 4 (read again) */
    v3_evidence(&g, 0, 5, NULL); /* 12: ... and seq 5 (the latest: matched on the way) */

    char k0[17], kf[17], want[6][300];
    hex16(v3_k[0].pk, k0);
    hex16(v3_forger.pk, kf);
    snprintf(want[0], sizeof want[0], "county 222401 epoch 1 (log entry 6): enrols %s…, which is "
             "not one of the county's own keys (--county-key), after its own key %s… (log entry "
             "0); it replaces epoch 0 (%s…), revoked at log entry 5 (NOT consented)", kf, k0, k0);
    snprintf(want[1], sizeof want[1], "county 222401 epoch 2 (log entry 10): enrols %s… again, "
             "enrolled before at log entry 0 (a key is enrolled once: a replayed request)", k0);
    snprintf(want[2], sizeof want[2], "evidence county 222401 seq 4 (log entry 11): the logged "
             "report was signed by %s…, this one by %s…: two keys signed for the same seq (a "
             "key-history conflict)", kf, k0);
    snprintf(want[3], sizeof want[3], "evidence county 222401 seq 5 (log entry 12): the logged "
             "report was signed by %s…, this one by %s…: two keys signed for the same seq (a "
             "key-history conflict)", kf, k0);
    snprintf(want[4], sizeof want[4], "county 222401: its own key %s… (--county-key) is epoch 0, "
             "revoked at log entry 5 (NOT consented); the active key is epoch 2 (%s…, enrolled at "
             "log entry 10)", k0, k0);

    /* with the county's head only: the replay, and no equivocation */
    zb_audit_head heads[1] = {{"yanji.sth", node_head}};
    zb_audit_opts o = {.heads = heads, .n_heads = 1};
    const char *w3[3] = {want[1], want[2], want[3]};
    v3_expect(&g, &o, 3, w3);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(v3_verify(&g, &o, &f, &s, NULL), 3);
    assert_int_equal(s.heads_extended, 1);
    assert_int_equal(s.evidence, 2);
    assert_int_equal(s.equivocations, 0);

    /* with K0 pinned: also the pin's findings; K0 is active at the end */
    zb_audit_pin pin = {COUNTY, {0}};
    memcpy(pin.key, v3_k[0].pk, ZB_PK_LEN);
    o.pins = &pin;
    o.n_pins = 1;
    const char *w5[5] = {want[0], want[1], want[2], want[3], want[4]};
    v3_expect(&g, &o, 5, w5);
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify(&g, &o, &f, &s, NULL), 5);
    assert_int_equal(s.pins_active, 1);
    v3_free(&g);

    /* a key enrolled for two counties */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_enrol(&g, 1, &v3_k[0]);
    snprintf(want[0], sizeof want[0], "county 222402 epoch 0 (log entry 1): enrols %s… again, "
             "enrolled before for county 222401 at log entry 0 (a key is enrolled once, for one "
             "county)", k0);
    v3_expect_one(&g, NULL, want[0]);
    v3_free(&g);
    zb__signed_tree_head__free_unpacked(node_head, NULL);
}

/* --county-key given several times for a county: the office's list of its
 * keys. A lost machine replaced (K0 revoked without consent, K1) holds
 * with both listed; a key of the prefecture's between them does not. */
static void test_v3_pin_list(void **state)
{
    (void)state;
    v3_log g;
    char k0[17], k1[17], k2[17], kf[17], want[2][300];
    hex16(v3_k[0].pk, k0), hex16(v3_k[1].pk, k1), hex16(v3_k[2].pk, k2);
    hex16(v3_forger.pk, kf);
    zb_audit_pin pins[4] = {{COUNTY, {0}}, {COUNTY, {0}}, {COUNTY, {0}}, {COUNTY2, {0}}};
    zb_audit_opts o = {.pins = pins};
    findings f = {0};
    zb_audit_summary s;

    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]); /* 0 */
    v3_enrol(&g, 1, &v3_m);    /* 1 */
    v3_report(&g, 0);          /* 2 */
    v3_report(&g, 0);          /* 3 */
    v3_revoke(&g, 0);          /* 4: the machine was lost */
    v3_enrol(&g, 0, &v3_k[1]); /* 5 */
    v3_report(&g, 0);          /* 6 */
    /* K1, K0 (in any order), and COUNTY2's key: clean */
    memcpy(pins[0].key, v3_k[1].pk, ZB_PK_LEN);
    memcpy(pins[1].key, v3_k[0].pk, ZB_PK_LEN);
    memcpy(pins[2].key, v3_k[1].pk, ZB_PK_LEN); /* the same pin twice: no matter */
    memcpy(pins[3].key, v3_m.pk, ZB_PK_LEN);
    o.n_pins = 4;
    long n = v3_verify(&g, &o, &f, &s, NULL);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(s.pins_active, 2);
    assert_int_equal(s.pin_counties, 2);
    /* K1 alone: clean too */
    o.n_pins = 1;
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify(&g, &o, &f, &s, NULL), 0);
    /* K0 alone: the office says K0 is its key; K1 is not its own */
    memcpy(pins[0].key, v3_k[0].pk, ZB_PK_LEN);
    snprintf(want[0], sizeof want[0], "county 222401 epoch 1 (log entry 5): enrols %s…, which is "
             "not one of the county's own keys (--county-key), after its own key %s… (log entry "
             "0); it replaces epoch 0 (%s…), revoked at log entry 4 (NOT consented)", k1, k0, k0);
    snprintf(want[1], sizeof want[1], "county 222401: its own key %s… (--county-key) is epoch 0, "
             "revoked at log entry 4 (NOT consented); the active key is epoch 1 (%s…, enrolled at "
             "log entry 5)", k0, k1);
    const char *w[2] = {want[0], want[1]};
    v3_expect(&g, &o, 2, w);
    /* K0, K1 and a K2 the log never enrolled */
    memcpy(pins[1].key, v3_k[1].pk, ZB_PK_LEN);
    memcpy(pins[2].key, v3_k[2].pk, ZB_PK_LEN);
    o.n_pins = 3;
    snprintf(want[0], sizeof want[0], "county 222401: its own key %s… (--county-key) was never "
             "enrolled in the log; the active key is epoch 1 (%s…, enrolled at log entry 5)", k2,
             k1);
    v3_expect_one(&g, &o, want[0]);
    v3_free(&g);

    /* the prefecture's key Kp between K0's revocation and K1's enrolment */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);   /* 0 */
    v3_report(&g, 0);            /* 1 */
    v3_report(&g, 0);            /* 2 */
    v3_revoke(&g, 0);            /* 3 */
    v3_enrol(&g, 0, &v3_forger); /* 4 */
    v3_report(&g, 0);            /* 5: seq 3, forged */
    v3_revoke(&g, 0);            /* 6 */
    v3_enrol(&g, 0, &v3_k[1]);   /* 7 */
    v3_report(&g, 0);            /* 8 */
    /* without pins, or with K1 alone (Kp comes before it), nothing shows */
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify(&g, NULL, &f, &s, NULL), 0);
    memcpy(pins[0].key, v3_k[1].pk, ZB_PK_LEN);
    o.n_pins = 1;
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify(&g, &o, &f, &s, NULL), 0);
    /* with K0 and K1, the office's whole list: Kp is named */
    memcpy(pins[1].key, v3_k[0].pk, ZB_PK_LEN);
    o.n_pins = 2;
    snprintf(want[0], sizeof want[0], "county 222401 epoch 1 (log entry 4): enrols %s…, which is "
             "not one of the county's own keys (--county-key), after its own key %s… (log entry "
             "0); it replaces epoch 0 (%s…), revoked at log entry 3 (NOT consented)", kf, k0, k0);
    v3_expect_one(&g, &o, want[0]);
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify(&g, &o, &f, &s, NULL), 1);
    assert_int_equal(s.pins_active, 1);
    v3_free(&g);
}

/* --head: the bundle must extend every head given. */
static void test_v3_heads(void **state)
{
    (void)state;
    v3_log g;
    v3_clean_log(&g);
    v3_records(&g);
    size_t n = g.n;
    Zb__SignedTreeHead *full = head_over(g.l, n, g.now, &down_agg);
    Zb__SignedTreeHead *early = head_over(g.l, 5, g.l[4].received_at, &down_agg);
    zb_identity other;
    zb_identity_generate(&other);
    Zb__SignedTreeHead *forged = head_over(g.l, 5, g.l[4].received_at, &other);
    /* the log's first 5 leaves, signed later than the bundle's head */
    Zb__SignedTreeHead *late = head_over(g.l, 5, g.now + 600, &down_agg);
    findings f = {0};
    zb_audit_summary s;
    char want[3][300];

    /* a trimmed log: COUNTY's newest report dropped, the head re-signed */
    size_t len;
    uint8_t *b = v3_bundle_n(&g, 3, n - 1, g.l[n - 2].received_at, &len);
    zb_audit_head heads[4] = {{"tumen.sth", early}, {"yanji.sth", full}};
    zb_audit_opts o = {.heads = heads, .n_heads = 2};
    assert_int_equal(v3_verify_bytes(b, len, &o, &f, &s, NULL), 1);
    snprintf(want[0], sizeof want[0], "head yanji.sth (size %zu, signed at %" PRId64 "): the "
             "bundle's log has only %zu entries: it does not extend this head (a trimmed or stale "
             "log)", n, g.now, n - 1);
    assert_string_equal(f.lines[0], want[0]);
    assert_int_equal(s.heads_extended, 1); /* tumen's */
    free(b);

    /* the whole log extends both; a head signed by another key, and one
     * signed after the bundle's own head, are findings */
    heads[2] = (zb_audit_head){"forged.sth", forged};
    heads[3] = (zb_audit_head){"late.sth", late};
    o.n_heads = 4;
    snprintf(want[0], sizeof want[0], "head forged.sth: does not verify with the aggregator key: "
             "signature or proof does not verify");
    snprintf(want[1], sizeof want[1], "head late.sth (size 5): signed at %" PRId64 ", after the "
             "bundle's tree head (signed at %" PRId64 "): the bundle is older than a head the "
             "aggregator already gave out", g.now + 600, g.now);
    const char *w[2] = {want[0], want[1]};
    v3_expect(&g, &o, 2, w);
    memset(&f, 0, sizeof f);
    o.n_heads = 2;
    assert_int_equal(v3_verify(&g, &o, &f, &s, NULL), 0);
    assert_int_equal(s.heads_extended, 2);
    zb_identity_wipe(&other);
    zb__signed_tree_head__free_unpacked(full, NULL);
    zb__signed_tree_head__free_unpacked(early, NULL);
    zb__signed_tree_head__free_unpacked(forged, NULL);
    zb__signed_tree_head__free_unpacked(late, NULL);
    v3_free(&g);
}

/* Leaf times run forwards, are the entries' received_at, and the head is
 * not older than the last; no bare leaf after a LogLeaf. */
static void test_v3_times(void **state)
{
    (void)state;
    v3_log g;
    char want[300];
    /* a report's leaf time set back before the leaf before it */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_report(&g, 0);
    int64_t t2 = g.now;
    v3_report(&g, 0);
    g.now = t2 - 3600;  /* leaf 4's time */
    v3_report(&g, 0);
    g.now = t2 + 120;
    v3_report(&g, 0);   /* after leaf 3 again: one finding, not one per leaf */
    snprintf(want, sizeof want, "log entry 4: its time %" PRId64 " is before log entry 3's (%"
             PRId64 "): the log's times run backwards", t2 - 3600 + 60, t2 + 60);
    v3_expect_one(&g, NULL, want);
    v3_free(&g);

    /* received_at is the leaf's timestamp */
    v3_clean_log(&g);
    g.l[8].received_at += 5;
    snprintf(want, sizeof want, "log entry 8: received_at %" PRId64 " is not the leaf's timestamp %"
             PRId64, g.l[8].received_at, g.l[8].received_at - 5);
    v3_expect_one(&g, NULL, want);
    v3_free(&g);

    /* the tree head signed before the last leaf entered */
    v3_clean_log(&g);
    v3_records(&g);
    size_t len;
    uint8_t *b = v3_bundle_n(&g, 3, g.n, g.now - 1, &len);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(v3_verify_bytes(b, len, NULL, &f, &s, NULL), 1);
    snprintf(want, sizeof want, "tree head: signed at %" PRId64 ", before log entry 12 was received "
             "(received_at %" PRId64 "): the aggregator's clock went backwards", g.now - 1, g.now);
    assert_string_equal(f.lines[0], want);
    free(b);
    v3_free(&g);

    /* a bare envelope after the first LogLeaf */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    size_t elen;
    uint8_t *env = seal_report(COUNTY, &v3_k[0], ++g.c[0].seq, g.c[0].prev, "2025-10", &elen);
    g.l[g.n++] = (leaf){env, elen, v3_tick(&g)};
    v3_expect_one(&g, NULL, "log entry 2: a bare envelope after the log's first LogLeaf (log entry "
                            "0): once the log holds LogLeafs, every leaf is one");
    v3_free(&g);

    /* a downstream message whose created_at is not its leaf's time */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    down_msg m;
    down_init(&m, COUNTY, 1, v3_tick(&g));
    down_notice(&m, "通知", "正文");
    uint8_t *buf;
    assert_int_equal(zb_down_seal(&m.d, &down_agg, &buf, &len), ZB_OK);
    Zb__LogLeaf ll = ZB__LOG_LEAF__INIT;
    ll.timestamp = m.d.created_at + 30;
    ll.entry_case = ZB__LOG_LEAF__ENTRY_DOWNSTREAM;
    ll.downstream = (ProtobufCBinaryData){len, buf};
    v3_push(&g, &ll);
    free(buf);
    g.now += 30;
    snprintf(want, sizeof want, "log entry 1: the downstream message's created_at %" PRId64
             " is not the leaf's timestamp %" PRId64, m.d.created_at, m.d.created_at + 30);
    v3_expect_one(&g, NULL, want);
    v3_free(&g);
}

/* Evidence in the log: verified, for a report logged before it, and
 * different from it; else a finding saying why. */
static void test_v3_evidence(void **state)
{
    (void)state;
    v3_log g;
    char want[300], a[17], b[17];
    findings f = {0};
    zb_audit_summary s;
    /* seq 2 (not the latest: read again from the entries) and seq 3 */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    for (int i = 0; i < 3; i++)
        v3_report(&g, 0);
    v3_evidence(&g, 0, 2, NULL);
    v3_evidence(&g, 0, 3, NULL);
    v3_report(&g, 0);
    const char *w2[2] = {"equivocation: county 222401 seq 2: two different signed reports",
                         "equivocation: county 222401 seq 3: two different signed reports"};
    v3_expect(&g, NULL, 2, w2);
    assert_int_equal(v3_verify(&g, NULL, &f, &s, NULL), 2);
    assert_int_equal(s.evidence, 2);
    assert_int_equal(s.equivocations, 2);
    v3_free(&g);

    /* the logged report itself as "evidence" (an aggregator fabricating) */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_report(&g, 0);
    v3_report(&g, 0);
    Zb__LogLeaf *logged;
    assert_int_equal(zb_leaf_decode(g.l[2].bytes, g.l[2].len, &logged), ZB_OK);
    v3_evidence_env(&g, 0, 2, logged->envelope.data, logged->envelope.len);
    /* ... and an envelope altered after signing */
    uint8_t *bad = malloc(logged->envelope.len);
    assert_non_null(bad);
    memcpy(bad, logged->envelope.data, logged->envelope.len);
    bad[logged->envelope.len - 1] ^= 0x01;
    v3_evidence_env(&g, 0, 2, bad, logged->envelope.len);
    free(bad);
    zb__log_leaf__free_unpacked(logged, NULL);
    v3_evidence(&g, 0, 3, &v3_forger); /* signed by a key not the county's */
    v3_evidence(&g, 0, 9, NULL);       /* a seq the log does not hold */
    snprintf(want, sizeof want, "evidence county 222401 seq 3 (log entry 6): signed by %s…, not by "
             "the county's active key (epoch 0, %s…)", hex16(v3_forger.pk, a),
             hex16(v3_k[0].pk, b));
    const char *w4[4] = {
        "evidence county 222401 seq 2 (log entry 5): envelope does not verify: signature or proof "
        "does not verify",
        want,
        "evidence county 222401 seq 9 (log entry 7): no logged report for that (county, seq) "
        "before it to conflict with",
        "evidence county 222401 seq 2 (log entry 4): identical to the logged report (no "
        "conflict)"};
    v3_expect(&g, NULL, 4, w4);
    v3_free(&g);

    /* evidence signed by another key than the logged report (the key
     * rotated in between): two keys for one seq, not an equivocation */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    for (int i = 0; i < 3; i++)
        v3_report(&g, 0);          /* 1..3: seq 1..3 by K0 */
    v3_rotate(&g, 0, &v3_k[1]);    /* 4, 5 */
    v3_evidence(&g, 0, 2, NULL);   /* 6: by K1 (read again) */
    v3_evidence(&g, 0, 3, NULL);   /* 7: by K1 (the latest) */
    hex16(v3_k[0].pk, a), hex16(v3_k[1].pk, b);
    char want2[300];
    snprintf(want, sizeof want, "evidence county 222401 seq 2 (log entry 6): the logged report was "
             "signed by %s…, this one by %s…: two keys signed for the same seq (a key-history "
             "conflict)", a, b);
    snprintf(want2, sizeof want2, "evidence county 222401 seq 3 (log entry 7): the logged report "
             "was signed by %s…, this one by %s…: two keys signed for the same seq (a key-history "
             "conflict)", a, b);
    const char *wk[2] = {want, want2};
    v3_expect(&g, NULL, 2, wk);
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify(&g, NULL, &f, &s, NULL), 2);
    assert_int_equal(s.evidence, 2);
    assert_int_equal(s.equivocations, 0);
    v3_free(&g);
}

/* The key history's own rules, one broken at a time. */
static void test_v3_key_history_rules(void **state)
{
    (void)state;
    v3_log g;
    char want[2][300], a[17], b[17];
    uint8_t *req;
    size_t len;
    int64_t t;

    /* a second key enrolled with the first still active */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_enrol(&g, 0, &v3_k[1]);
    v3_report(&g, 0);
    snprintf(want[0], sizeof want[0], "county 222401: key epoch 0 is active but a later key was "
             "enrolled");
    snprintf(want[1], sizeof want[1], "county 222401 epoch 1 (log entry 2): enrolled while epoch 0 "
             "(%s…) is still active (no revocation before it)", hex16(v3_k[0].pk, a));
    const char *w[2] = {want[0], want[1]};
    v3_expect(&g, NULL, 2, w);
    v3_free(&g);

    /* an enrolment that does not take the county's next seq */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_report(&g, 0);
    v3_revoke(&g, 0);
    g.c[0].seq++; /* the new key's first seq: 4, where the log ends at 2 */
    v3_enrol(&g, 0, &v3_k[1]);
    g.c[0].seq--;
    v3_expect_one(&g, NULL, "county 222401 epoch 1 (log entry 4): enrolled from seq 4, but the "
                            "county's reports in the log end at seq 2");
    v3_free(&g);

    /* an enrolment whose prev_hash is not the chain's */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_revoke(&g, 0);
    uint8_t keep[ZB_SHA256_LEN];
    memcpy(keep, g.c[0].prev, ZB_SHA256_LEN);
    memset(g.c[0].prev, 0x5a, ZB_SHA256_LEN);
    v3_enrol(&g, 0, &v3_k[1]);
    memcpy(g.c[0].prev, keep, ZB_SHA256_LEN);
    v3_report(&g, 0);
    v3_expect_one(&g, NULL, "county 222401 epoch 1 (log entry 3): its prev_hash is not the hash of "
                            "the county's seq 1 in the log");
    v3_free(&g);

    /* a revocation that does not name the county's last seq */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_report(&g, 0);
    g.c[0].seq--;
    v3_revoke(&g, 0);
    g.c[0].seq++;
    v3_expect_one(&g, NULL, "county 222401 epoch 0 (log entry 3): revoked after seq 1, but the "
                            "county's reports in the log end at seq 2");
    v3_free(&g);

    /* epochs out of order: epoch 2 after epoch 0 */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_revoke(&g, 0);
    t = v3_tick(&g);
    assert_int_equal(zb_keyreq_make(COUNTY, &v3_k[1], NULL, 0, NULL, t, &req, &len), ZB_OK);
    v3_key_event(&g, 0, ZB__KEY_EVENT_KIND__ENROLLED, v3_k[1].pk, 2, 1, g.c[0].prev, req, len, -1,
                 t);
    free(req);
    v3_record_enrol(&g.c[0], v3_k[1].pk, 1, t);
    const char *w3[2] = {
        "county 222401 epoch 2 (log entry 2): out of order: the county's next key epoch is 1",
        "county 222401 epoch 2 (log entry 2): enrolled in the log, but the bundle's county record "
        "lists 2 key epoch(s)"};
    v3_expect(&g, NULL, 2, w3);
    v3_free(&g);

    /* a consented rotation to k[1], then k[2] enrolled instead */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    t = v3_tick(&g);
    assert_int_equal(zb_keyreq_make(COUNTY, &v3_k[1], &v3_k[0], 1, g.c[0].prev, t, &req, &len),
                     ZB_OK);
    v3_key_event(&g, 0, ZB__KEY_EVENT_KIND__REVOKED, v3_k[0].pk, 0, 1, NULL, req, len, 1, t);
    free(req);
    v3_record_revoke(&g.c[0], 1, t);
    v3_enrol(&g, 0, &v3_k[2]);
    snprintf(want[0], sizeof want[0], "county 222401 epoch 1 (log entry 3): enrols %s…, but the "
             "revocation of epoch 0 (log entry 2) consented to a rotation to %s…",
             hex16(v3_k[2].pk, a), hex16(v3_k[1].pk, b));
    v3_expect_one(&g, NULL, want[0]);
    v3_free(&g);

    /* a revoked key enrolled again */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_revoke(&g, 0);
    t = v3_tick(&g);
    assert_int_equal(zb_keyreq_make(COUNTY, &v3_k[0], NULL, 0, NULL, t, &req, &len), ZB_OK);
    v3_key_event(&g, 0, ZB__KEY_EVENT_KIND__ENROLLED, v3_k[0].pk, 1, 2, g.c[0].prev, req, len, -1,
                 t);
    free(req);
    v3_record_enrol(&g.c[0], v3_k[0].pk, 2, t);
    v3_expect_one(&g, NULL, "county 222401 epoch 1 (log entry 3): enrols again the key revoked at "
                            "log entry 2 (a revoked key never comes back)");
    v3_free(&g);

    /* a rotation's enrolment after a revocation logged as not consented */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_revoke(&g, 0);
    t = v3_tick(&g);
    assert_int_equal(zb_keyreq_make(COUNTY, &v3_k[1], &v3_k[0], 1, g.c[0].prev, t, &req, &len),
                     ZB_OK);
    v3_key_event(&g, 0, ZB__KEY_EVENT_KIND__ENROLLED, v3_k[1].pk, 1, 2, g.c[0].prev, req, len, -1,
                 t);
    free(req);
    v3_record_enrol(&g.c[0], v3_k[1].pk, 2, t);
    v3_expect_one(&g, NULL, "county 222401 epoch 1 (log entry 3): a rotation consented by epoch 0, "
                            "whose revocation (log entry 2) is logged as not consented");
    v3_free(&g);

    v3_free(&g);
}

/* The county records: a convenience the verifier checks against the log. */
static void test_v3_county_records(void **state)
{
    (void)state;
    v3_log g;
    char want[2][300], a[17];
    /* an epoch's first seq that is not its ENROLLED event's */
    v3_clean_log(&g);
    v3_records(&g);
    g.c[0].ep[1].first_seq = 2;
    snprintf(want[0], sizeof want[0], "county 222401 epoch 1 (log entry 7): the bundle's county "
             "record disagrees with this ENROLLED event (it says key %s…, first seq 2, enrolled "
             "at %" PRId64 ")", hex16(v3_k[1].pk, a), g.l[7].received_at);
    v3_expect_one(&g, NULL, want[0]);
    v3_free(&g);

    /* a revocation time that is not its REVOKED event's */
    v3_clean_log(&g);
    v3_records(&g);
    g.c[0].ep[1].revoked_at += 3600;
    snprintf(want[0], sizeof want[0], "county 222401 epoch 1 (log entry 10): the bundle's county "
             "record disagrees with this REVOKED event (it says revoked at %" PRId64 " after seq "
             "3)", g.l[10].received_at + 3600);
    v3_expect_one(&g, NULL, want[0]);
    v3_free(&g);

    /* a key the record lists and no event enrolled (its epoch 0 revoked) */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_enrol(&g, 1, &v3_m);
    v3_report(&g, 0);
    v3_record_revoke(&g.c[0], 1, g.now);
    v3_record_enrol(&g.c[0], v3_forger.pk, 2, g.now);
    snprintf(want[0], sizeof want[0], "county 222401: the bundle's county record lists key epoch 1 "
             "(%s…), which no ENROLLED event in the log enrolls", hex16(v3_forger.pk, a));
    snprintf(want[1], sizeof want[1], "county 222401 epoch 0: the bundle's county record says it "
             "was revoked (at %" PRId64 "), the log has no REVOKED event for it", g.now);
    const char *w[2] = {want[0], want[1]};
    v3_expect(&g, NULL, 2, w);
    v3_free(&g);

    /* records out of code order */
    v3_clean_log(&g);
    v3_records(&g);
    Zb__BundleCounty *first = g.recs[0];
    g.recs[0] = g.recs[1];
    g.recs[1] = first;
    v3_expect_one(&g, NULL, "county 222401: listed after county 222402 (the county records are not "
                            "in code order)");
    v3_free(&g);

    /* a county in the log's key history with no record */
    v3_clean_log(&g);
    v3_records(&g);
    g.n_recs = 1;
    v3_expect_one(&g, NULL, "county 222402 (log entry 1): in the log's key history, but the bundle "
                            "has no county record for it");
    v3_free(&g);
}

/* What each bundle version may hold. */
static void test_v3_versions(void **state)
{
    (void)state;
    v3_log g;
    /* a bare downstream message in a version 3 bundle */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    down_msg m;
    down_init(&m, COUNTY, 1, v3_tick(&g));
    down_notice(&m, "通知", "正文");
    uint8_t *buf;
    size_t len;
    assert_int_equal(zb_down_seal(&m.d, &down_agg, &buf, &len), ZB_OK);
    g.l[g.n++] = (leaf){buf, len, m.d.created_at};
    v3_expect_one(&g, NULL, "log entry 1: a bare downstream message in a version 3 bundle (whose "
                            "downstream messages are LogLeafs)");
    v3_free(&g);

    /* LogLeafs in a version 2 bundle */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    v3_report(&g, 0);
    v3_records(&g);
    g.n_recs = 1;
    uint8_t *b = v3_bundle_n(&g, 2, g.n, g.now, &len);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(v3_verify_bytes(b, len, NULL, &f, &s, NULL), 2);
    assert_string_equal(f.lines[0], "log entry 0: a LogLeaf in a version 2 bundle (whose log has "
                                    "none)");
    assert_string_equal(f.lines[1], "log entry 1: a LogLeaf in a version 2 bundle (whose log has "
                                    "none)");
    free(b);

    /* an evidence record in a version 3 bundle */
    size_t elen;
    uint8_t zero[ZB_SHA256_LEN] = {0};
    uint8_t *env = seal_report(COUNTY, &v3_k[0], 1, zero, "2025-09", &elen);
    Zb__BundleEvidence ev = ZB__BUNDLE_EVIDENCE__INIT;
    ev.envelope = (ProtobufCBinaryData){elen, env};
    ev.county = (char *)COUNTY;
    ev.seq = 1;
    Zb__BundleEvidence *evs[1] = {&ev};
    bundle_spec spec = {.version = 3,
                        .l = g.l,
                        .n = g.n,
                        .counties = g.recs,
                        .n_counties = 1,
                        .evidence = evs,
                        .n_evidence = 1,
                        .agg = &down_agg,
                        .head_time = g.now};
    b = bundle_write(&spec, &len);
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify_bytes(b, len, NULL, &f, &s, NULL), 1);
    assert_string_equal(f.lines[0], "record 3: an evidence record in a version 3 bundle (whose "
                                    "evidence is in the log)");
    free(b);
    free(env);
    v3_free(&g);
}

/* A log begun before log version 2: bare envelopes, checked against the
 * county records, then LogLeafs that go on with the key that signed them
 * until a logged revocation. */
static void test_v3_migrated_log(void **state)
{
    (void)state;
    v3_log g;
    v3_init(&g);
    v3_county *c = &g.c[0];
    c->key = v3_k[0];
    v3_record_enrol(c, v3_k[0].pk, 1, DOWN_T0 - 86400);
    for (int i = 0; i < 2; i++) { /* bare: seq 1, 2 */
        size_t len;
        uint8_t *env = seal_report(COUNTY, &v3_k[0], ++c->seq, c->prev, "2025-10", &len);
        const uint8_t *rep;
        size_t rl;
        assert_int_equal(zb_envelope_report_view(env, len, &rep, &rl), ZB_OK);
        zb_report_hash(rep, rl, c->prev);
        g.l[g.n++] = (leaf){env, len, v3_tick(&g)};
    }
    v3_report(&g, 0);            /* 2: seq 3 in a LogLeaf, the same key */
    v3_rotate(&g, 0, &v3_k[1]);  /* 3, 4 */
    v3_report(&g, 0);            /* 5: seq 4 */
    v3_records(&g);
    g.n_recs = 1;
    zb_audit_pin pin = {COUNTY, {0}};
    memcpy(pin.key, v3_k[1].pk, ZB_PK_LEN);
    zb_audit_opts o = {.pins = &pin, .n_pins = 1};
    findings f = {0};
    zb_audit_summary s;
    key_lines k = {0};
    long n = v3_verify(&g, &o, &f, &s, &k);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(s.reports, 4);
    assert_int_equal(s.rotations, 1);
    assert_int_equal(s.pins_active, 1);
    assert_int_equal(k.n, 2);
    /* the office's list: the key of the bare prefix and its rotation */
    zb_audit_pin both[2] = {{COUNTY, {0}}, {COUNTY, {0}}};
    memcpy(both[0].key, v3_k[0].pk, ZB_PK_LEN);
    memcpy(both[1].key, v3_k[1].pk, ZB_PK_LEN);
    zb_audit_opts o2 = {.pins = both, .n_pins = 2};
    memset(&f, 0, sizeof f);
    n = v3_verify(&g, &o2, &f, &s, NULL);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    /* the key of the bare prefix enrolled by an event later: a key is
     * enrolled once */
    v3_revoke(&g, 0);            /* 6 */
    v3_enrol(&g, 0, &v3_k[0]);   /* 7 */
    char want[300], k0[17];
    snprintf(want, sizeof want, "county 222401 epoch 2 (log entry 7): enrols %s… again, the key of "
             "county 222401 from before the log recorded key events (it signed log entry 0) (a key "
             "is enrolled once)", hex16(v3_k[0].pk, k0));
    v3_records(&g);
    v3_expect_one(&g, NULL, want);
    v3_free(&g);
}

/* Write path: the one record of a tree-head (ZBSTH1) or proof (ZBCONS1) file. */
static void write_single(const char *path, const char *magic, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    assert_int_equal(fwrite(magic, 1, strlen(magic), f), strlen(magic));
    assert_int_equal(fwrite(hdr, 1, 4, f), 4);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    free(buf);
}

static void write_bytes(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* consistency OLD NEW with OLD a bundle: its head is the old head. */
static void test_v3_consistency_old_bundle(void **state)
{
    (void)state;
    v3_log g;
    v3_clean_log(&g);
    v3_records(&g);
    char old_b[700], new_b[700], new_th[700], proof[700], msg[300];
    snprintf(old_b, sizeof old_b, "%s/v3_old", F.dir);
    snprintf(new_b, sizeof new_b, "%s/v3_new", F.dir);
    snprintf(new_th, sizeof new_th, "%s/v3_new_th", F.dir);
    snprintf(proof, sizeof proof, "%s/v3_proof", F.dir);
    size_t len, k = 6;
    uint8_t *b = v3_bundle_n(&g, 3, k, g.l[k - 1].received_at, &len);
    write_bytes(old_b, b, len);
    free(b);
    b = v3_bundle_n(&g, 3, g.n, g.now, &len);
    write_bytes(new_b, b, len);
    free(b);
    Zb__SignedTreeHead *nh = head_over(g.l, g.n, g.now, &down_agg);
    write_single(new_th, ZB_AUDIT_STH_MAGIC, &nh->base);
    zb__signed_tree_head__free_unpacked(nh, NULL);
    uint8_t(*hashes)[ZB_HASH_LEN] = calloc(g.n, ZB_HASH_LEN);
    assert_non_null(hashes);
    for (size_t i = 0; i < g.n; i++)
        zb_merkle_leaf_hash(g.l[i].bytes, g.l[i].len, hashes[i]);
    uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    size_t count;
    assert_int_equal(zb_merkle_consistency_proof((const uint8_t(*)[ZB_HASH_LEN])hashes, g.n, k,
                                                 path, &count),
                     ZB_OK);
    free(hashes);
    ProtobufCBinaryData items[ZB_MERKLE_MAX_PROOF];
    for (size_t i = 0; i < count; i++)
        items[i] = (ProtobufCBinaryData){ZB_HASH_LEN, path[i]};
    Zb__ConsistencyProof cp = ZB__CONSISTENCY_PROOF__INIT;
    cp.old_size = k;
    cp.new_size = g.n;
    cp.n_path = count;
    cp.path = items;
    write_single(proof, ZB_AUDIT_CONSISTENCY_MAGIC, &cp.base);

    FILE *o = fopen(old_b, "rb"), *n = fopen(new_b, "rb"), *p = fopen(proof, "rb");
    FILE *nt = fopen(new_th, "rb");
    if (zb_audit_consistency(o, n, NULL, down_agg.pk, msg, sizeof msg) != ZB_OK)
        fail_msg("%s", msg);
    assert_string_equal(msg, "consistent: the log of size 13 extends the log of size 6");
    rewind(o);
    assert_int_equal(zb_audit_consistency(o, nt, p, down_agg.pk, msg, sizeof msg), ZB_OK);
    rewind(o), rewind(n);
    /* the other way round: the log would have shrunk */
    assert_int_equal(zb_audit_consistency(n, o, NULL, down_agg.pk, msg, sizeof msg), ZB_EBADSIG);
    assert_string_equal(msg, "old tree head has 13 entries, the new one only 6: the log shrank");
    fclose(o), fclose(n), fclose(p), fclose(nt);

    /* a rewritten history as NEW: the same counties enrolled in the
     * other order, and more reports */
    v3_log r;
    v3_init(&r);
    v3_enrol(&r, 1, &v3_m);
    v3_enrol(&r, 0, &v3_k[0]);
    for (int i = 0; i < 6; i++)
        v3_report(&r, i % 2);
    v3_records(&r);
    b = v3_bundle_n(&r, 3, r.n, r.now, &len);
    write_bytes(new_b, b, len);
    free(b);
    o = fopen(old_b, "rb"), n = fopen(new_b, "rb");
    assert_int_equal(zb_audit_consistency(o, n, NULL, down_agg.pk, msg, sizeof msg), ZB_EBADSIG);
    assert_string_equal(msg, "NOT consistent: the bundle's first 6 entries do not hash to the old "
                             "tree head's root (history rewritten)");
    fclose(o), fclose(n);
    v3_free(&r);
    v3_free(&g);
}

/* The command line: --key required; verify's human and --json output. */
static int run(const char *cmd, char *out, size_t out_len)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, out_len - 1, p);
    out[got] = '\0';
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
    v3_log g;
    v3_clean_log(&g);
    v3_records(&g);
    char path[700], cmd[4096], agg[2 * ZB_PK_LEN + 1], k0[2 * ZB_PK_LEN + 1],
        k2[2 * ZB_PK_LEN + 1];
    snprintf(path, sizeof path, "%s/v3_cli", F.dir);
    size_t len;
    uint8_t *b = v3_bundle_n(&g, 3, g.n, g.now, &len);
    write_bytes(path, b, len);
    free(b);
    zb_hex_encode(down_agg.pk, ZB_PK_LEN, agg);
    zb_hex_encode(v3_k[0].pk, ZB_PK_LEN, k0);
    zb_hex_encode(v3_k[2].pk, ZB_PK_LEN, k2);
    static char out[65536];

    snprintf(cmd, sizeof cmd, "'%s' verify '%s' 2>&1", exe, path);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_string_equal(out, "error: --key: required (the aggregator's public key, as the "
                             "prefecture published it)\n");
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --county-key 222401=%s 2>&1", exe, path,
             agg, k2);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "error: --county-key: 222401="));
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --head '%s/nonexistent' 2>&1", exe, path,
             agg, F.dir);
    assert_int_equal(run(cmd, out, sizeof out), 2);

    /* verified: the summary, then one line per key event */
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --county-key 222401:%s 2>/dev/null", exe,
             path, agg, k2);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, "bundle verified: 2 counties, 5 reports, tree size 13, "));
    assert_non_null(strstr(out, "6 key events (1 rotations, 1 revocations without consent), the "
                                "1 county keys given are active\n"));
    assert_non_null(strstr(out, "\nkey 222401 epoch 0 revoked after seq 2  consented (rotation)  "));
    assert_non_null(strstr(out, "\nkey 222401 epoch 1 revoked after seq 3  NOT consented (lost "
                                "machine?)  "));

    /* the office's list of its keys: k[1] (rotated to, then lost) and k[2] */
    char k1h[2 * ZB_PK_LEN + 1];
    zb_hex_encode(v3_k[1].pk, ZB_PK_LEN, k1h);
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --county-key 222401:%s --county-key "
             "222401:%s 2>/dev/null", exe, path, agg, k2, k1h);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    assert_non_null(strstr(out, ", the 2 county keys given hold for their 1 counties (each "
                                "county's last one active)\n"));
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --county-key 222401:%s --county-key "
             "222401:%s 2>&1", exe, path, agg, k2, k2);
    assert_int_equal(run(cmd, out, sizeof out), 2);
    assert_non_null(strstr(out, "error: --county-key: 222401:"));
    assert_non_null(strstr(out, " given twice\n"));

    /* a pin contradicted: the finding on stdout, the history on stderr */
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --county-key 222401:%s 2>/dev/null", exe,
             path, agg, k0);
    assert_int_equal(run(cmd, out, sizeof out), 1);
    assert_non_null(strstr(out, "county 222401: its own key "));
    assert_null(strstr(out, "\nkey "));

    /* --json: the key events with every field */
    snprintf(cmd, sizeof cmd, "'%s' verify '%s' --key %s --json", exe, path, agg);
    assert_int_equal(run(cmd, out, sizeof out), 0);
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "verified")));
    assert_int_equal(json_integer_value(json_object_get(j, "evidence")), 0);
    json_t *ev = json_object_get(j, "key_events");
    assert_int_equal(json_array_size(ev), 6);
    json_t *r1 = json_array_get(ev, 4); /* epoch 1 revoked, lost */
    assert_string_equal(json_string_value(json_object_get(r1, "county")), "222401");
    assert_int_equal(json_integer_value(json_object_get(r1, "epoch")), 1);
    assert_string_equal(json_string_value(json_object_get(r1, "event")), "revoked");
    assert_int_equal(json_integer_value(json_object_get(r1, "seq")), 3);
    assert_true(json_is_false(json_object_get(r1, "consented")));
    assert_int_equal(json_integer_value(json_object_get(r1, "log_index")), 10);
    char t[40];
    assert_string_equal(json_string_value(json_object_get(r1, "time")),
                        when(g.l[10].received_at, t));
    char k1[2 * ZB_PK_LEN + 1];
    zb_hex_encode(v3_k[1].pk, ZB_PK_LEN, k1);
    assert_string_equal(json_string_value(json_object_get(r1, "key")), k1);
    json_t *e1 = json_array_get(ev, 3); /* epoch 1 enrolled, a rotation */
    assert_string_equal(json_string_value(json_object_get(e1, "event")), "enrolled");
    assert_true(json_is_true(json_object_get(e1, "consented")));
    assert_true(json_is_null(json_object_get(json_array_get(ev, 0), "consented")));
    json_decref(j);
    v3_free(&g);
}

/* The aggregator's own key history, end to end: enrolment, a voluntary
 * rotation (zb_agg_enroll with a rotation request), a lost machine revoked
 * (zb_agg_revoke), a replacement; exported and verified, the county
 * records agreeing with the KeyEvent leaves, the two told apart. */
static void test_agg_key_history(void **state)
{
    (void)state;
    char dir[600], path[700], pk_hex[2 * ZB_PK_LEN + 1];
    snprintf(dir, sizeof dir, "%s/keys-agg", F.dir);
    snprintf(path, sizeof path, "%s/keys-bundle", F.dir);
    v3_keys();
    zb_agg *a = NULL;
    assert_int_equal(zb_agg_create(dir, pk_hex), ZB_OK);
    assert_int_equal(zb_agg_open(&a, dir, false), ZB_OK);
    bool was_new, rotated;
    uint64_t first;
    uint8_t prev[ZB_SHA256_LEN], chain[ZB_SHA256_LEN] = {0};
    uint64_t seq = 0;
    assert_int_equal(zb_agg_enroll_identity(a, COUNTY, &v3_k[0], &was_new, &first, prev), ZB_OK);
    const zb_identity *signers[4] = {&v3_k[0], &v3_k[0], &v3_k[1], &v3_k[2]};
    for (int i = 0; i < 4; i++) {
        if (i == 2) { /* rotation to k[1] after seq 2 */
            uint8_t *req;
            size_t len;
            assert_int_equal(zb_keyreq_make(COUNTY, &v3_k[1], &v3_k[0], seq, chain,
                                            (int64_t)time(NULL), &req, &len),
                             ZB_OK);
            assert_int_equal(zb_agg_enroll(a, COUNTY, req, len, &was_new, &first, prev, &rotated),
                             ZB_OK);
            assert_true(rotated);
            free(req);
        } else if (i == 3) { /* k[1]'s machine lost: revoked, k[2] enrolled */
            zb_key_epoch revoked;
            assert_int_equal(zb_agg_revoke(a, COUNTY, &revoked, prev), ZB_OK);
            assert_int_equal(zb_agg_enroll_identity(a, COUNTY, &v3_k[2], &was_new, &first, prev),
                             ZB_OK);
            assert_int_equal(first, seq + 1);
        }
        size_t len;
        uint8_t *env = seal_report(COUNTY, signers[i], ++seq, chain, "2025-10", &len);
        Zb__Envelope *e = zb__envelope__unpack(NULL, len, env);
        assert_non_null(e);
        MDB_txn *txn;
        assert_int_equal(zb_store_begin(zb_agg_store(a), false, &txn), ZB_OK);
        int64_t now = (int64_t)time(NULL);
        assert_int_equal(zb_tlog_leaf_time(zb_agg_tlog(a), txn, now, &now), ZB_OK);
        zb_county_rec rec;
        assert_int_equal(zb_agg_county_get(a, txn, COUNTY, &rec), ZB_OK);
        zb_ingest_out out;
        assert_int_equal(zb_agg_ingest(a, txn, &rec, e, now, -1, &out), ZB_OK);
        if (out.result != ZB_INGEST_STORED)
            fail_msg("report %d: %s", i, out.reason);
        Zb__SignedTreeHead *sth = NULL;
        assert_int_equal(zb_astore_county_put(zb_agg_store(a), txn, &rec), ZB_OK);
        assert_int_equal(zb_tlog_sign_head(zb_agg_tlog(a), txn, now, &sth), ZB_OK);
        zb__signed_tree_head__free_unpacked(sth, NULL);
        assert_int_equal(zb_store_commit(txn), ZB_OK);
        zb_report_hash(e->report.data, e->report.len, chain);
        zb__envelope__free_unpacked(e, NULL);
        free(env);
    }
    zb_export_stats st;
    assert_int_equal(zb_agg_export(a, path, NULL, NULL, &st), ZB_OK);
    size_t len;
    uint8_t *b = slurp(path, &len);
    findings f = {0};
    zb_audit_summary s;
    key_lines k = {0};
    zb_audit_pin pin = {COUNTY, {0}};
    memcpy(pin.key, v3_k[2].pk, ZB_PK_LEN);
    zb_audit_opts o = {.pinned_key = zb_agg_identity(a)->pk,
                       .pins = &pin,
                       .n_pins = 1,
                       .key_event = collect_key_line,
                       .key_event_ctx = &k};
    FILE *fp = fmemopen(b, len, "rb");
    assert_non_null(fp);
    long n = zb_audit_verify(fp, &o, collect, &f, &s);
    fclose(fp);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(s.version, 4); /* zhibao-agg export: witnessed heads (none here) */
    assert_int_equal(s.witnessed_heads, 0);
    assert_int_equal(s.reports, 4);
    assert_int_equal(s.key_events, 5);
    assert_int_equal(s.rotations, 1);
    assert_int_equal(s.revocations_unconsented, 1);
    assert_int_equal(s.pins_active, 1);
    assert_int_equal(k.n, 5);
    assert_non_null(strstr(k.lines[1], "key 222401 epoch 0 revoked after seq 2  consented (rotation)"));
    assert_non_null(strstr(k.lines[2], "(rotation, consented by epoch 0)"));
    assert_non_null(strstr(k.lines[3], "key 222401 epoch 1 revoked after seq 3  NOT consented"));
    assert_non_null(strstr(k.lines[4], "(replacement, NOT consented by epoch 1)"));
    free(b);
    zb_agg_close(&a);
}

/* ------------------------------------------------------------ version 4: witnessed heads */

/* The seeds' witnesses (fixed seeds; tests/fuzz/fuzz_bundle.c lists 0xc1):
 * v4_w[0] listed, v4_w[1] another witness. */
static zb_identity v4_w[2];

/* sth (heap, freed) with a cosignature of v4_w[i] for i < n, each dated
 * 30 s after the head: a new heap head. */
static Zb__SignedTreeHead *v4_cosigned(Zb__SignedTreeHead *sth, size_t n)
{
    seeded_identity(0xc1, &v4_w[0]);
    seeded_identity(0xc2, &v4_w[1]);
    zb_tree_head head;
    assert_int_equal(zb_tree_head_verify(sth, down_agg.pk, &head), ZB_OK);
    Zb__Cosignature c[2], *cp[2];
    uint8_t sig[2][ZB_SIG_LEN], buf[1024];
    for (size_t i = 0; i < n && i < 2; i++) {
        int64_t at = head.timestamp + 30 * (int64_t)(i + 1);
        assert_int_equal(zb_cosig_sign(&v4_w[i], down_agg.pk, &head, at, sig[i]), ZB_OK);
        c[i] = (Zb__Cosignature)ZB__COSIGNATURE__INIT;
        c[i].witness = (ProtobufCBinaryData){ZB_PK_LEN, v4_w[i].pk};
        c[i].timestamp = at;
        c[i].signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig[i]};
        cp[i] = &c[i];
    }
    Zb__SignedTreeHead copy = *sth;
    copy.n_cosignatures = n;
    copy.cosignatures = cp;
    size_t len = zb__signed_tree_head__get_packed_size(&copy);
    assert_true(len <= sizeof buf);
    zb__signed_tree_head__pack(&copy, buf);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    Zb__SignedTreeHead *out = zb__signed_tree_head__unpack(NULL, len, buf);
    assert_non_null(out);
    return out;
}

static Zb__SignedTreeHead *v4_cosign_both(Zb__SignedTreeHead *sth)
{
    return v4_cosigned(sth, 2);
}

/* g as a version 4 bundle with witnessed heads of the given sizes (each
 * signed at its last leaf's time, cosigned by the listed witness and, for
 * the second, the other one too); split: the last one's root is that of
 * other leaves (a head of another log the witnesses cosigned). The tree
 * head is cosigned by both. */
static uint8_t *v4_bundle(const v3_log *g, const size_t *sizes, size_t n, bool split,
                          size_t *len)
{
    Zb__SignedTreeHead *w[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        const leaf *from = split && i + 1 == n ? g->l + 1 : g->l;
        w[i] = v4_cosigned(head_over(from, sizes[i], g->l[sizes[i] - 1].received_at, &down_agg),
                           i == 1 ? 2 : 1);
    }
    bundle_spec b = {.version = 4,
                     .l = g->l,
                     .n = g->n,
                     .counties = (Zb__BundleCounty **)g->recs,
                     .n_counties = g->n_recs,
                     .agg = &down_agg,
                     .head_time = g->now,
                     .witnessed = w,
                     .n_witnessed = n,
                     .cosign_head = v4_cosign_both};
    uint8_t *out = bundle_write(&b, len);
    for (size_t i = 0; i < n; i++)
        zb__signed_tree_head__free_unpacked(w[i], NULL);
    return out;
}

/* The seeds' version 4 bundles hold: with the listed witness at quorum 1
 * (the witnessed size is the log's), at quorum 2 with both, and the split
 * one is the one finding. */
static void test_v4_seeds(void **state)
{
    (void)state;
    v3_log g;
    v3_clean_log(&g);
    v3_records(&g);
    static const size_t sizes[3] = {3, 8, 13};
    size_t len;
    uint8_t *b = v4_bundle(&g, sizes, 3, false, &len);
    uint8_t keys[2][ZB_PK_LEN];
    memcpy(keys[0], v4_w[0].pk, ZB_PK_LEN);
    memcpy(keys[1], v4_w[1].pk, ZB_PK_LEN);
    zb_audit_opts o = {.witness_keys = (const uint8_t(*)[ZB_PK_LEN])keys, .n_witness_keys = 1};
    findings f = {0};
    zb_audit_summary s;
    long n = v3_verify_bytes(b, len, &o, &f, &s, NULL);
    if (n)
        print_findings(&f);
    assert_int_equal(n, 0);
    assert_int_equal(s.version, 4);
    assert_int_equal(s.witnessed_heads, 3);
    assert_int_equal(s.cosignatures, 6);
    assert_int_equal(s.cosignatures_unlisted, 2);
    assert_int_equal(s.witnessed_size, 13);
    o.n_witness_keys = 2;
    o.witness_quorum = 2;
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify_bytes(b, len, &o, &f, &s, NULL), 0);
    assert_int_equal(s.witnessed_size, 13);
    assert_int_equal(s.cosignatures_unlisted, 0);
    free(b);
    b = v4_bundle(&g, sizes, 2, true, &len);
    memset(&f, 0, sizeof f);
    assert_int_equal(v3_verify_bytes(b, len, &o, &f, &s, NULL), 1);
    assert_string_equal(f.lines[0], "witnessed head (size 8): the root of the bundle's first 8 "
                                    "entries is not this head's root: the witnesses cosigned a "
                                    "different log of this aggregator key than the bundle's (a "
                                    "split view or a rewritten log)");
    free(b);
    v3_free(&g);
}

/* Not a test: with ZB_AUDIT_SEEDS=DIR set, write version-3 bundles of
 * the logs above into DIR, the fuzz_bundle corpus (fixed keys and times:
 * a rerun writes the same bytes):
 *   ZB_AUDIT_SEEDS=tests/fuzz/corpus/fuzz_bundle ./build/tests/test_audit */
static void test_write_fuzz_seeds(void **state)
{
    (void)state;
    const char *dir = getenv("ZB_AUDIT_SEEDS");
    if (!dir || !*dir)
        skip();
    char path[4096];
    size_t len;
    uint8_t *b;
    v3_log g;
    /* a rotation, a lost machine, downstream messages */
    v3_clean_log(&g);
    v3_records(&g);
    b = v3_bundle_n(&g, 3, g.n, g.now, &len);
    snprintf(path, sizeof path, "%s/bundle-v3-keys", dir);
    write_bytes(path, b, len);
    free(b);
    v3_free(&g);
    /* evidence leaves: an equivocation (read again) and a fabricated one */
    v3_init(&g);
    v3_enrol(&g, 0, &v3_k[0]);
    for (int i = 0; i < 3; i++)
        v3_report(&g, 0);
    v3_evidence(&g, 0, 2, NULL);
    Zb__LogLeaf *logged;
    assert_int_equal(zb_leaf_decode(g.l[3].bytes, g.l[3].len, &logged), ZB_OK);
    v3_evidence_env(&g, 0, 3, logged->envelope.data, logged->envelope.len);
    zb__log_leaf__free_unpacked(logged, NULL);
    v3_records(&g);
    b = v3_bundle_n(&g, 3, g.n, g.now, &len);
    snprintf(path, sizeof path, "%s/bundle-v3-evidence", dir);
    write_bytes(path, b, len);
    free(b);
    v3_free(&g);
    /* a log begun before log version 2: bare envelopes, then LogLeafs */
    v3_init(&g);
    v3_county *c = &g.c[0];
    c->key = v3_k[0];
    v3_record_enrol(c, v3_k[0].pk, 1, DOWN_T0 - 86400);
    size_t elen;
    uint8_t *env = seal_report(COUNTY, &v3_k[0], ++c->seq, c->prev, "2025-10", &elen);
    const uint8_t *rep;
    size_t rl;
    assert_int_equal(zb_envelope_report_view(env, elen, &rep, &rl), ZB_OK);
    zb_report_hash(rep, rl, c->prev);
    g.l[g.n++] = (leaf){env, elen, v3_tick(&g)};
    v3_report(&g, 0);
    v3_rotate(&g, 0, &v3_k[1]);
    v3_report(&g, 0);
    v3_records(&g);
    b = v3_bundle_n(&g, 3, g.n, g.now, &len);
    snprintf(path, sizeof path, "%s/bundle-v3-migrated", dir);
    write_bytes(path, b, len);
    free(b);
    v3_free(&g);
    /* version 4: witnessed heads, cosigned by the listed witness (0xc1)
     * and another; and one head of another log (a split view) */
    static const size_t sizes[3] = {3, 8, 13};
    v3_clean_log(&g);
    v3_records(&g);
    b = v4_bundle(&g, sizes, 3, false, &len);
    snprintf(path, sizeof path, "%s/bundle-v4-witnessed", dir);
    write_bytes(path, b, len);
    free(b);
    b = v4_bundle(&g, sizes, 2, true, &len);
    snprintf(path, sizeof path, "%s/bundle-v4-split", dir);
    write_bytes(path, b, len);
    free(b);
    v3_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streaming_root),
        cmocka_unit_test(test_empty_bundle),
        cmocka_unit_test(test_honest_bundle),
        cmocka_unit_test(test_every_byte_and_cut),
        cmocka_unit_test(test_record_edits),
        cmocka_unit_test(test_consistency_files),
        cmocka_unit_test(test_equivocation_reported),
        cmocka_unit_test(test_head_time_never_decreases),
        cmocka_unit_test(test_consistency_time_backwards),
        cmocka_unit_test(test_bundle_head_before_entry),
        cmocka_unit_test(test_downstream_clean),
        cmocka_unit_test(test_downstream_forged_signature),
        cmocka_unit_test(test_downstream_wrong_aggregator_field),
        cmocka_unit_test(test_downstream_number_gap),
        cmocka_unit_test(test_downstream_review_before_report),
        cmocka_unit_test(test_downstream_in_version1),
        cmocka_unit_test(test_downstream_other_rules),
        cmocka_unit_test(test_v3_clean),
        cmocka_unit_test(test_v3_enrol_without_request),
        cmocka_unit_test(test_v3_report_wrong_key),
        cmocka_unit_test(test_v3_forged_revocation),
        cmocka_unit_test(test_v3_replayed_enrolment),
        cmocka_unit_test(test_v3_pin_list),
        cmocka_unit_test(test_v3_heads),
        cmocka_unit_test(test_v3_times),
        cmocka_unit_test(test_v3_evidence),
        cmocka_unit_test(test_v3_key_history_rules),
        cmocka_unit_test(test_v3_county_records),
        cmocka_unit_test(test_v3_versions),
        cmocka_unit_test(test_v3_migrated_log),
        cmocka_unit_test(test_v3_consistency_old_bundle),
        cmocka_unit_test(test_agg_key_history),
        cmocka_unit_test(test_v4_seeds),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_write_fuzz_seeds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
