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
 *
 * Bundles with the prefecture's downstream messages among the log's leaves
 * (version 2) are written here record by record, with a tree head and end
 * hash over exactly the leaves given: each broken rule is then the one
 * finding of its bundle.
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
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "export.h"
#include "log.h"
#include "merkle.h"
#include "tlog.h"

#define COUNTY "222401"
#define COUNTY2 "222402"
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
    return zb_agg_enroll_identity(F.agg, COUNTY, &F.node, &was_new, &first, prev) == ZB_OK ? 0 : -1;
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

/* ------------------------------------------------------------ downstream leaves */

#define DOWN_T0 INT64_C(1764000000) /* the first leaf's time; one leaf a minute after */

/* The keys of a hand-written bundle: the aggregator's, and the two
 * counties' (COUNTY: F.node, enrolled by setup; COUNTY2: one more). */
static zb_identity down_agg, down_node2;

static void down_keys(void)
{
    static bool made;
    if (made)
        return;
    zb_identity_generate(&down_agg);
    zb_identity_generate(&down_node2);
    made = true;
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

    /* a version this verifier does not know */
    expect_one_finding(&lb, 4, "header: bundle version 4 (this verifier reads versions 1 to 3)");
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
