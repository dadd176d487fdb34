/*
 * test_audit.c - the audit bundle end to end in one process: an aggregator
 * store filled through zb_agg_ingest (the server's acceptance path),
 * exported with zb_agg_export and checked with zb_audit_verify; then every
 * single-byte change, every truncation and every dropped, duplicated or
 * swapped record of a small bundle must give a finding; equivocation kept
 * as evidence is reported; tree-head and proof files prove consistency.
 *
 * The audit module is linked as the zb_audit library and tested through
 * audit.h alone; its streaming Merkle root is checked against
 * zb_merkle_root_of_leaves through zb_audit_opts.prefix_size.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "audit.h"
#include "bundle.pb-c.h"
#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "export.h"
#include "log.h"
#include "merkle.h"
#include "tlog.h"

#define COUNTY "222401"
#define N_REPORTS 5

typedef struct {
    char dir[512];
    char path[600];
    zb_agg *agg;
    zb_identity node;
    uint8_t prev[ZB_SHA256_LEN];
    uint64_t seq;
} fixture;

static fixture F;

static uint8_t *seal_monthly(const zb_identity *id, uint64_t seq, const uint8_t prev[32],
                             const char *period, size_t *len)
{
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    m.period = (char *)period;
    Zb__Report r = ZB__REPORT__INIT;
    r.version = 1;
    r.county = (char *)COUNTY;
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

/* Ingest one envelope as the server does, received at received_at,
 * signing a head at head_at when it was stored. */
static zb_ingest_result ingest_at(const uint8_t *ebuf, size_t elen, int64_t received_at,
                                  int64_t head_at)
{
    Zb__Envelope *env = zb__envelope__unpack(NULL, elen, ebuf);
    assert_non_null(env);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), false, &txn), ZB_OK);
    zb_county_rec rec;
    assert_int_equal(zb_agg_county_get(F.agg, txn, COUNTY, &rec), ZB_OK);
    zb_ingest_out out;
    assert_int_equal(zb_agg_ingest(F.agg, txn, &rec, env, received_at, -1, &out), ZB_OK);
    if (out.result == ZB_INGEST_STORED) {
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
    return ingest_at(ebuf, elen, 1764000100, 1764000100);
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
    return zb_agg_enroll(F.agg, COUNTY, F.node.pk, &was_new, &first, prev) == ZB_OK ? 0 : -1;
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
        zb_audit_opts o = {.prefix_size = k};
        assert_true(zb_audit_verify(fp, &o, collect, &f, &s) > 0); /* no header, head, end */
        fclose(fp);
        assert_int_equal(s.entries, N);
        assert_true(s.has_prefix_root);
        uint8_t want[ZB_HASH_LEN];
        zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])leaves, k, want);
        assert_memory_equal(s.prefix_root, want, ZB_HASH_LEN);
    }
    free(bundle);
}

static void test_empty_bundle(void **state)
{
    (void)state;
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, &st), ZB_OK);
    size_t len;
    uint8_t *b = slurp(F.path, &len);
    findings f = {0};
    zb_audit_summary s;
    assert_int_equal(verify_bytes(b, len, &f, &s), 0);
    assert_int_equal(s.counties, 1);
    assert_int_equal(s.entries, 0);
    free(b);
}

static void test_honest_bundle(void **state)
{
    (void)state;
    for (int i = 0; i < N_REPORTS; i++)
        add_report("2025-10");
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, &st), ZB_OK);
    assert_int_equal(st.entries, N_REPORTS);
    assert_int_equal(access(F.path, F_OK), 0);
    size_t len;
    uint8_t *b = slurp(F.path, &len);
    findings f = {0};
    zb_audit_summary s;
    long n = verify_bytes(b, len, &f, &s);
    if (n)
        fail_msg("finding: %s", f.lines[0]);
    assert_true(s.head_ok);
    assert_int_equal(s.head.size, N_REPORTS);
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
    assert_int_equal(got, N_REPORTS);
    assert_int_equal(zb_agg_export_tree_head(F.agg, 99, th_new, &got), ZB_ENOTFOUND);
    assert_int_equal(zb_agg_export_consistency(F.agg, 2, N_REPORTS, proof), ZB_OK);
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
    assert_int_equal(zb_agg_export(F.agg, F.path, &st), ZB_OK);
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
    static const int64_t clocks[] = {1764000000, 1763000000, 1764000100, 1764000200};
    static const int64_t expect[] = {1764000100, 1764000100, 1764000100, 1764000200};
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
    assert_int_equal(zb_agg_export(F.agg, F.path, &st), ZB_OK);
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
    assert_int_equal(ingest_at(e, len, 1764003700, 1764000100), ZB_INGEST_STORED);
    free(e);
    zb_export_stats st;
    assert_int_equal(zb_agg_export(F.agg, F.path, &st), ZB_OK);
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
