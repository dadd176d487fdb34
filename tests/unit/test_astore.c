/*
 * test_astore.c - the aggregator store's indexes on a real LMDB store:
 * what each query returns, the revision in force moving an accident in
 * the occurrence index, the highest grade kept when figures fall, `check`
 * catching an index that disagrees with the envelopes, reindex repairing
 * it, and a store of the release before the indexes (no index databases)
 * opened read-only: reindexed on open, same answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "astore.h"
#include "domain.h"
#include "err.h"
#include "timefmt.h"

/* 2026-10-14T08:30:00+08:00 */
#define T0 1791937800
#define DAY 86400

typedef struct {
    char root[512];
    zb_store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/zb-test-astore-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->root) || zb_astore_open(&f->s, f->root, true, false) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    zb_store_close(&f->s);
    char p[700];
    snprintf(p, sizeof p, "%s/data.mdb", f->root);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", f->root);
    unlink(p);
    int rc = rmdir(f->root);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Store r under (r->county, r->seq) in an envelope with a dummy signature
 * (the indexes never look at signatures). */
static void put(zb_store *s, MDB_txn *txn, Zb__Report *r, int64_t received_at)
{
    uint8_t zero[64] = {0};
    r->version = 1;
    r->prev_hash = (ProtobufCBinaryData){32, zero};
    size_t rlen = zb__report__get_packed_size(r);
    uint8_t *rb = malloc(rlen);
    assert_non_null(rb);
    zb__report__pack(r, rb);
    Zb__Envelope env = ZB__ENVELOPE__INIT;
    env.report = (ProtobufCBinaryData){rlen, rb};
    env.signer = (ProtobufCBinaryData){32, zero};
    env.signature = (ProtobufCBinaryData){64, zero};
    zb_stored_env out;
    assert_int_equal(zb_astore_envelope_put(s, txn, r->county, r->seq, received_at, &env, r, &out),
                     ZB_OK);
    assert_int_equal(out.seq, r->seq);
    assert_int_equal(out.received_at, received_at);
    /* the same (county, seq) twice is refused, not overwritten */
    assert_int_equal(zb_astore_envelope_put(s, txn, r->county, r->seq, received_at, &env, r, &out),
                     ZB_EEXIST);
    free(rb);
}

static void put_monthly(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                        const char *period, int64_t created_at)
{
    Zb__Report r = ZB__REPORT__INIT;
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    m.period = (char *)period;
    r.county = (char *)county;
    r.seq = seq;
    r.created_at = created_at;
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    r.monthly = &m;
    put(s, txn, &r, created_at + 10);
}

static void put_accident(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                         const char *id, uint32_t revision, int64_t occurred_at, uint32_t deaths)
{
    Zb__Report r = ZB__REPORT__INIT;
    Zb__AccidentReport a = ZB__ACCIDENT_REPORT__INIT;
    Zb__Time occ = ZB__TIME__INIT, notified = ZB__TIME__INIT;
    occ.unix = occurred_at;
    occ.offset_min = 480;
    notified.unix = occurred_at + 600;
    notified.offset_min = 480;
    Zb__Unit unit = ZB__UNIT__INIT;
    unit.name = "单位";
    a.place = "地点";
    a.unit = &unit;
    a.summary = "摘要";
    a.accident_id = (char *)id;
    a.revision = revision;
    a.occurred_at = &occ;
    a.county_notified_at = &notified;
    a.industry = ZB__INDUSTRY__CONSTRUCTION;
    a.deaths = deaths;
    a.serious_injuries = 1;
    a.direct_loss_yuan = 1000;
    r.county = (char *)county;
    r.seq = seq;
    r.created_at = occurred_at + 1800 + seq;
    r.content_case = ZB__REPORT__CONTENT_ACCIDENT;
    r.accident = &a;
    put(s, txn, &r, r.created_at + 5);
}

/* A store of two counties: monthly versions over two periods, accidents
 * whose revisions move and fall. */
static void fill(zb_store *s)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(s, false, &txn), ZB_OK);
    put_monthly(s, txn, "222401", 1, "2026-09", T0 - 20 * DAY);
    put_monthly(s, txn, "222401", 2, "2026-10", T0);
    put_monthly(s, txn, "222401", 3, "2026-10", T0 + 100); /* a second version */
    put_accident(s, txn, "222401", 4, "A-1", 0, T0, 1);
    put_accident(s, txn, "222401", 5, "A-1", 1, T0, 4);     /* 较大 */
    put_accident(s, txn, "222401", 6, "A-1", 2, T0, 2);     /* falls back to 一般 */
    put_accident(s, txn, "222401", 7, "A-10", 0, T0 - 40 * DAY, 0);
    /* "A" and "A-1" and "A-10" share prefixes: their revisions must not mix */
    put_accident(s, txn, "222401", 8, "A", 0, T0 + DAY, 0);
    put_monthly(s, txn, "222402", 1, "2026-10", T0 + 9 * DAY);
    put_accident(s, txn, "222402", 2, "B-1", 0, T0 + 2 * DAY, 0);
    /* a correction moves the occurrence time out of October */
    put_accident(s, txn, "222402", 3, "B-1", 1, T0 + 30 * DAY, 0);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
}

typedef struct {
    char keys[16][80];
    size_t n;
} seen;

static int see_version(void *ctx, const zb_monthly_version *v)
{
    seen *x = ctx;
    snprintf(x->keys[x->n++], sizeof x->keys[0], "%d/%llu/%lld", v->period,
             (unsigned long long)v->seq, (long long)v->created_at);
    return 0;
}

static int see_accident(void *ctx, const char *county, const char *id)
{
    seen *x = ctx;
    snprintf(x->keys[x->n++], sizeof x->keys[0], "%s/%s", county, id);
    return 0;
}

/* The answers fill() must give, from whatever store s is. */
static void expect_answers(zb_store *s)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);
    int oct = zb_period_ordinal(2026, 10), sep = zb_period_ordinal(2026, 9);
    seen v = {0};
    assert_int_equal(zb_astore_monthly_versions(s, txn, "222401", oct, oct, see_version, &v), 0);
    assert_int_equal(v.n, 2);
    char want[80];
    snprintf(want, sizeof want, "%d/2/%d", oct, T0);
    assert_string_equal(v.keys[0], want);
    snprintf(want, sizeof want, "%d/3/%d", oct, T0 + 100);
    assert_string_equal(v.keys[1], want);
    v.n = 0;
    assert_int_equal(zb_astore_monthly_versions(s, txn, "222401", sep, oct, see_version, &v), 0);
    assert_int_equal(v.n, 3);
    v.n = 0;
    assert_int_equal(zb_astore_monthly_versions(s, txn, "222403", sep, oct, see_version, &v), 0);
    assert_int_equal(v.n, 0);

    /* October 2026 at +08:00: A-1 (14th), A (15th), B-1 moved to November */
    int64_t from, to;
    assert_int_equal(zb_date_parse("2026-10-01", &from), 0);
    assert_int_equal(zb_date_parse("2026-11-01", &to), 0);
    seen a = {0};
    assert_int_equal(zb_astore_accidents_occurred(s, txn, from, to, see_accident, &a), 0);
    assert_int_equal(a.n, 2);
    assert_string_equal(a.keys[0], "222401/A-1");
    assert_string_equal(a.keys[1], "222401/A");
    a.n = 0;
    assert_int_equal(zb_astore_accidents_occurred(s, txn, to, to + 30 * DAY, see_accident, &a), 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.keys[0], "222402/B-1");
    /* an empty or reversed range */
    a.n = 0;
    assert_int_equal(zb_astore_accidents_occurred(s, txn, to, from, see_accident, &a), 0);
    assert_int_equal(a.n, 0);

    zb_accident_entry *revs;
    size_t n;
    assert_int_equal(zb_astore_accident_revisions(s, txn, "222401", "A-1", &revs, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(revs[0].seq, 4);
    assert_int_equal(revs[2].seq, 6);
    assert_int_equal(revs[1].revision, 1);
    assert_int_equal(revs[1].deaths, 4);
    assert_int_equal(revs[2].occurred_at, T0);
    assert_int_equal(revs[2].county_notified_at, T0 + 600);
    assert_int_equal(revs[2].created_at, T0 + 1800 + 6);
    assert_int_equal(revs[2].received_at, T0 + 1800 + 6 + 5);
    assert_int_equal(revs[2].industry, ZB__INDUSTRY__CONSTRUCTION);
    assert_int_equal(revs[2].direct_loss_yuan, 1000);
    free(revs);
    assert_int_equal(zb_astore_accident_revisions(s, txn, "222401", "A", &revs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(revs[0].seq, 8);
    free(revs);
    assert_int_equal(zb_astore_accident_revisions(s, txn, "222401", "A-", &revs, &n),
                     ZB_ENOTFOUND);
    assert_null(revs);
    assert_int_equal(zb_astore_accident_revisions(s, txn, "2224", "A", &revs, &n), ZB_ENOTFOUND);

    /* the highest grade reached stays when the figures fall */
    int g = -1, stage = -1;
    assert_int_equal(zb_astore_accident_state(s, txn, "222401", "A-1", &g, &stage), 0);
    assert_int_equal(g, ZB_GRADE_LARGER);
    assert_int_equal(stage, ZB__STAGE__SUPPLEMENT); /* revision 2, stage not stated */
    assert_int_equal(zb_astore_accident_state(s, txn, "222401", "A", &g, &stage), 0);
    assert_int_equal(g, ZB_GRADE_GENERAL);
    assert_int_equal(stage, ZB__STAGE__INITIAL);
    mdb_txn_abort(txn);
}

static void count_finding(void *ctx, const char *line)
{
    (void)line;
    (*(int *)ctx)++;
}

static long check(zb_store *s, int *lines)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);
    long n = zb_astore_index_check(s, txn, NULL, count_finding, lines);
    mdb_txn_abort(txn);
    return n;
}

static void test_queries(void **state)
{
    fixture *f = *state;
    fill(f->s);
    expect_answers(f->s);
    int lines = 0;
    assert_int_equal(check(f->s, &lines), 0);
    assert_int_equal(lines, 0);
}

static void test_check_and_reindex(void **state)
{
    fixture *f = *state;
    fill(f->s);
    /* damage the occurrence index behind the store's back */
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(f->s, false, &txn), ZB_OK);
    MDB_dbi t = zb_store_dbi(f->s, AGG_DB_IDX_ACC_TIME), st = zb_store_dbi(f->s,
                                                                          AGG_DB_IDX_ACC_STATE);
    MDB_cursor *cur;
    MDB_val k, v;
    assert_int_equal(mdb_cursor_open(txn, t, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    assert_int_equal(mdb_cursor_del(cur, 0), 0);
    mdb_cursor_close(cur);
    /* and change a state record's value */
    assert_int_equal(mdb_cursor_open(txn, st, &cur), 0);
    assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
    uint8_t buf[64];
    assert_true(v.mv_size <= sizeof buf);
    memcpy(buf, v.mv_data, v.mv_size);
    buf[v.mv_size - 1] ^= 1;
    MDB_val nv = {v.mv_size, buf};
    assert_int_equal(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
    mdb_cursor_close(cur);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    int lines = 0;
    assert_int_equal(check(f->s, &lines), 2);
    assert_int_equal(lines, 2);

    uint64_t envs = 0;
    assert_int_equal(zb_store_begin(f->s, false, &txn), ZB_OK);
    assert_int_equal(zb_astore_reindex(f->s, txn, NULL, NULL, &envs), 0);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    assert_int_equal(envs, 11);
    lines = 0;
    assert_int_equal(check(f->s, &lines), 0);
    expect_answers(f->s);
}

/* A release before the indexes: the same store without the index
 * databases and without index_version. */
static void test_old_store_upgrade(void **state)
{
    fixture *f = *state;
    fill(f->s);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(f->s, false, &txn), ZB_OK);
    for (int d = AGG_DB_IDX_MONTHLY; d <= AGG_DB_IDX_ACC_TIME; d++)
        assert_int_equal(mdb_drop(txn, zb_store_dbi(f->s, (size_t)d), 1), 0);
    MDB_val k = {13, "index_version"};
    assert_int_equal(mdb_del(txn, zb_store_dbi(f->s, AGG_DB_META), &k, NULL), 0);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    zb_store_close(&f->s);

    /* a read-only open (what `report` does) upgrades it first */
    assert_int_equal(zb_astore_open(&f->s, f->root, false, true), ZB_OK);
    expect_answers(f->s);
    int lines = 0;
    assert_int_equal(check(f->s, &lines), 0);
    zb_store_close(&f->s);
    assert_int_equal(zb_astore_open(&f->s, f->root, false, false), ZB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_and_reindex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_store_upgrade, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
