/*
 * test_consolidate.c - the prefecture consolidation reports: monthly
 * timeliness at the deadline edges (in +08:00 and in UTC), each accident
 * flag at its boundary, grade escalation across revisions, and the monthly
 * and accident reports built from a real LMDB store of hand-made envelopes
 * (a county that never filed, an on-time and a late county, a corrected
 * report), printed in json, csv and table; the indicators' window, target
 * progress, death rates, figures-file validation and the indicators report
 * from a store with loaded figures; the prefecture's reviews of the monthly
 * reports (the latest version's, with comment and reviewer) and a moved
 * deadline turning a late report on time in the monthly report and the
 * matrix.
 *
 * Every expected Unix time was computed independently (Python's datetime)
 * and is hard-coded. The store is a real aggregator store written through
 * astore.h, so the reports read the same indexes they read in production.
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

#include "agg.h"
#include "consolidate.h"
#include "crypto.h"
#include "display.h"
#include "domain.h"
#include "downstream.h"
#include "err.h"
#include "figures.h"
#include "render.h"
#include "rules.h"
#include "timefmt.h"

/* 2026-11-05T23:59:59+08:00 = 2026-11-05T15:59:59Z: the 2026-10 deadline */
#define DL_2026_10 1793894399
/* 2026-10-14T08:30:00+08:00 */
#define T0 1791937800
#define HOUR 3600
#define DAY 86400

/* ------------------------------------------------------------ timeliness */

static zb_filing filing_at(const char *created, int year, int month)
{
    int64_t t;
    assert_int_equal(zb_time_parse(created, &t, NULL), 0);
    return zb_filing_status(true, t, zb_period_deadline(year, month));
}

static void test_deadline_edges(void **state)
{
    (void)state;
    assert_int_equal(zb_filing_status(true, DL_2026_10, DL_2026_10), ZB_FILING_ON_TIME);
    assert_int_equal(zb_filing_status(true, DL_2026_10 + 1, DL_2026_10), ZB_FILING_LATE);
    assert_int_equal(filing_at("2026-11-05T23:59:59+08:00", 2026, 10), ZB_FILING_ON_TIME);
    assert_int_equal(filing_at("2026-11-06T00:00:00+08:00", 2026, 10), ZB_FILING_LATE);
    /* the same instants written in UTC */
    assert_int_equal(filing_at("2026-11-05T15:59:59Z", 2026, 10), ZB_FILING_ON_TIME);
    assert_int_equal(filing_at("2026-11-05T16:00:00Z", 2026, 10), ZB_FILING_LATE);
    /* filed during the month itself is on time */
    assert_int_equal(filing_at("2026-10-01T00:00:00+08:00", 2026, 10), ZB_FILING_ON_TIME);
    /* December's deadline is in the next year: 2027-01-05T23:59:59+08:00 = 1799164799 */
    assert_int_equal(zb_filing_status(true, 1799164799, zb_period_deadline(2026, 12)),
                     ZB_FILING_ON_TIME);
    assert_int_equal(zb_filing_status(true, 1799164800, zb_period_deadline(2026, 12)),
                     ZB_FILING_LATE);
    /* never filed */
    assert_int_equal(zb_filing_status(false, 0, DL_2026_10), ZB_FILING_MISSING);
    assert_string_equal(zb_filing_name(ZB_FILING_ON_TIME), "on_time");
    assert_string_equal(zb_filing_name(ZB_FILING_LATE), "late");
    assert_string_equal(zb_filing_name(ZB_FILING_MISSING), "missing");
}

/* The accident rules (window, counted figures, grades, flags) are tested at
 * their boundaries in test_rules.c. */

static void test_display_width(void **state)
{
    (void)state;
    assert_int_equal(zb_display_width(""), 0);
    assert_int_equal(zb_display_width("abc"), 3);
    assert_int_equal(zb_display_width("延吉市"), 6);
    assert_int_equal(zb_display_width("A延1"), 4);
    assert_int_equal(zb_display_width("e\xcc\x81"), 1);  /* a combining mark: none */
    assert_int_equal(zb_display_width("\xef\xbc\xa1"), 2); /* fullwidth A */
    assert_int_equal(zb_format_parse(NULL), ZB_FORMAT_TABLE);
    assert_int_equal(zb_format_parse("csv"), ZB_FORMAT_CSV);
    assert_int_equal(zb_format_parse("json"), ZB_FORMAT_JSON);
    assert_int_equal(zb_format_parse("xml"), -1);
}

/* ------------------------------------------------------------ from a store */

/* The store under test: a real aggregator store (astore.h), written
 * through the store module so that its indexes are maintained. */
static zb_store *g_store;

typedef struct {
    char root[512];
    zb_store *store;
} fixture;

static int setup_store(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/zb-test-cons-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->root) || zb_astore_open(&f->store, f->root, true, false)) {
        free(f);
        return -1;
    }
    g_store = f->store;
    *state = f;
    return 0;
}

static int teardown_store(void **state)
{
    fixture *f = *state;
    zb_store_close(&f->store);
    char p[700];
    snprintf(p, sizeof p, "%s/data.mdb", f->root);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", f->root);
    unlink(p);
    int rc = rmdir(f->root);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void put_county(MDB_txn *txn, MDB_dbi dbi, const char *county)
{
    (void)dbi;
    zb_county_rec rec = {0};
    memcpy(rec.county, county, ZB_COUNTY_LEN);
    assert_int_equal(zb_astore_county_put(g_store, txn, &rec), 0);
}

/* Store r as county's report seq, received at received_at, in an envelope
 * with a dummy signature (the reports do not verify signatures). */
static void put_report(MDB_txn *txn, MDB_dbi dbi, Zb__Report *r, int64_t received_at)
{
    uint8_t zero[64] = {0};
    r->version = 1;
    r->prev_hash.data = zero;
    r->prev_hash.len = 32;
    size_t rlen = zb__report__get_packed_size(r);
    uint8_t *rb = malloc(rlen);
    assert_non_null(rb);
    zb__report__pack(r, rb);
    Zb__Envelope env = ZB__ENVELOPE__INIT;
    env.report.data = rb;
    env.report.len = rlen;
    env.signer.data = zero;
    env.signer.len = 32;
    env.signature.data = zero;
    env.signature.len = 64;
    (void)dbi;
    zb_stored_env stored;
    assert_int_equal(
        zb_astore_envelope_put(g_store, txn, r->county, r->seq, received_at, &env, r, &stored), 0);
    free(rb);
}

static void put_monthly(MDB_txn *txn, MDB_dbi dbi, const char *county, uint64_t seq,
                        const char *period, int64_t created_at, int64_t received_at,
                        uint64_t inspections, unsigned n_done)
{
    Zb__Report r = ZB__REPORT__INIT;
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    Zb__MonthlyStats s = ZB__MONTHLY_STATS__INIT;
    Zb__TaskEntry tasks[25], *tp[25];
    for (unsigned i = 0; i < n_done; i++) {
        Zb__TaskEntry t = ZB__TASK_ENTRY__INIT;
        t.task = 3 + i;
        t.status = ZB__TASK_STATUS__DONE;
        tasks[i] = t;
        tp[i] = &tasks[i];
    }
    m.period = (char *)period;
    m.n_tasks = n_done;
    m.tasks = tp;
    s.has_inspections = 1;
    s.inspections = inspections;
    m.stats = &s;
    r.county = (char *)county;
    r.seq = seq;
    r.created_at = created_at;
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    r.monthly = &m;
    put_report(txn, dbi, &r, received_at);
}

static void put_accident(MDB_txn *txn, MDB_dbi dbi, const char *county, uint64_t seq,
                         const char *id, uint32_t revision, int64_t created_at, uint32_t deaths,
                         uint32_t missing)
{
    Zb__Report r = ZB__REPORT__INIT;
    Zb__AccidentReport a = ZB__ACCIDENT_REPORT__INIT;
    Zb__Time occ = ZB__TIME__INIT, notified = ZB__TIME__INIT;
    Zb__Unit unit = ZB__UNIT__INIT;
    occ.unix = T0;
    occ.offset_min = 480;
    notified.unix = T0 + 20 * 60;
    notified.offset_min = 480;
    unit.name = "单位, \"甲\"";
    a.accident_id = (char *)id;
    a.revision = revision;
    a.occurred_at = &occ;
    a.county_notified_at = &notified;
    a.place = "地点";
    a.unit = &unit;
    a.industry = ZB__INDUSTRY__CONSTRUCTION;
    a.summary = "摘要";
    a.deaths = deaths;
    a.missing = missing;
    r.county = (char *)county;
    r.seq = seq;
    r.created_at = created_at;
    r.content_case = ZB__REPORT__CONTENT_ACCIDENT;
    r.accident = &a;
    put_report(txn, dbi, &r, created_at + 5);
}

/* Print doc in fmt into a malloc'd string. */
static char *printed(const char *kind, const json_t *doc, zb_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(zb_render_print(f, kind, doc, fmt), 0);
    fclose(f);
    return buf;
}

static const char *row_str(const json_t *rows, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(rows, i), key));
}

static json_int_t row_int(const json_t *rows, size_t i, const char *key)
{
    return json_integer_value(json_object_get(json_array_get(rows, i), key));
}

static void test_monthly_from_store(void **state)
{
    fixture *f = *state;
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(f->store, false, &txn), 0);
    MDB_dbi cty = zb_store_dbi(f->store, AGG_DB_COUNTIES), env = zb_store_dbi(f->store, AGG_DB_ENVELOPES);
    put_county(txn, cty, "222401");
    put_county(txn, cty, "222402");
    put_county(txn, cty, "222403");
    put_county(txn, cty, "222404");
    /* 222401: on time at the last second; corrected after the deadline
     * (still on time: the first version decides), 3 then 4 tasks done */
    put_monthly(txn, env, "222401", 1, "2026-10", DL_2026_10, DL_2026_10 + 100, 10, 3);
    put_monthly(txn, env, "222401", 2, "2026-10", DL_2026_10 + 50, DL_2026_10 + 60, 11, 4);
    /* 222402: one second late; its clock ran ahead of the aggregator's */
    put_monthly(txn, env, "222402", 1, "2026-10", DL_2026_10 + 1, DL_2026_10 - 100, 5, 0);
    /* 222403: only September's report: missing for October */
    put_monthly(txn, env, "222403", 1, "2026-09", DL_2026_10 - 40 * DAY, DL_2026_10 - 40 * DAY, 7,
                1);
    /* 222404: never filed */
    assert_int_equal(zb_store_commit(txn), 0);

    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    json_t *doc = NULL;
    assert_int_equal(zb_consolidate_monthly(f->store, txn, 2026, 10, DL_2026_10 + 1, &doc), 0);
    mdb_txn_abort(txn);
    assert_string_equal(json_string_value(json_object_get(doc, "period")), "2026-10");
    assert_string_equal(json_string_value(json_object_get(doc, "deadline")),
                        "2026-11-05T23:59:59+08:00");
    assert_true(json_is_false(json_object_get(doc, "deadline_moved")));
    assert_true(json_is_true(json_object_get(doc, "deadline_passed")));
    const json_t *rows = json_object_get(doc, "rows");
    assert_int_equal(json_array_size(rows), 4);
    assert_string_equal(row_str(rows, 0, "county"), "222401");
    assert_string_equal(row_str(rows, 0, "name"), "延吉市");
    assert_string_equal(row_str(rows, 0, "status"), "on_time");
    assert_int_equal(row_int(rows, 0, "version"), 2);
    assert_int_equal(row_int(rows, 0, "inspections"), 11);
    assert_int_equal(row_int(rows, 0, "tasks_done"), 4);
    assert_int_equal(row_int(rows, 0, "tasks_not_reported"), 21);
    /* the version in force: created 2026-11-06T00:00:49+08:00 */
    assert_string_equal(row_str(rows, 0, "created_at"), "2026-11-06T00:00:49+08:00");
    assert_string_equal(row_str(rows, 0, "first_created_at"), "2026-11-05T23:59:59+08:00");
    assert_true(json_is_false(json_object_get(json_array_get(rows, 0), "clock_suspect")));
    assert_string_equal(row_str(rows, 1, "status"), "late");
    assert_true(json_is_true(json_object_get(json_array_get(rows, 1), "clock_suspect")));
    assert_string_equal(row_str(rows, 2, "status"), "missing");
    assert_true(json_is_null(json_object_get(json_array_get(rows, 2), "inspections")));
    assert_int_equal(row_int(rows, 2, "tasks_not_reported"), 25);
    assert_string_equal(row_str(rows, 3, "status"), "missing");
    /* no review yet: the filed are unreviewed, the missing have none */
    assert_string_equal(row_str(rows, 0, "review"), "unreviewed");
    assert_string_equal(row_str(rows, 1, "review"), "unreviewed");
    assert_true(json_is_null(json_object_get(json_array_get(rows, 2), "review")));
    assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "review_comment")));
    assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "reviewer")));
    assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "reviewed_at")));
    const json_t *total = json_object_get(doc, "total");
    assert_int_equal(json_integer_value(json_object_get(total, "inspections")), 16);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(total, "counties_reporting"), "inspections")),
                     2);
    assert_true(json_is_null(json_object_get(total, "hazards_found")));
    assert_int_equal(json_integer_value(json_object_get(total, "on_time")), 1);
    assert_int_equal(json_integer_value(json_object_get(total, "late")), 1);
    assert_int_equal(json_integer_value(json_object_get(total, "missing")), 2);
    /* 2 filing counties x 25 tasks - 4 reported */
    assert_int_equal(json_integer_value(json_object_get(total, "tasks_not_reported")), 46);

    char *csv = printed("monthly", doc, ZB_FORMAT_CSV);
    assert_non_null(strstr(csv, "county,name,status,created_at,"));
    assert_non_null(strstr(csv, "\r\n222401,延吉市,on_time,2026-11-06T00:00:49+08:00,"
                                "2026-11-06T00:00:59+08:00,false,2,4,0,0,21,11,,"));
    assert_non_null(strstr(csv, "\r\n222404,珲春市,missing,,,false,0,0,0,0,25,,"));
    assert_non_null(strstr(csv, "\r\ntotal,,,,,,3,"));
    /* review: the last column, the ones before it in their places */
    assert_non_null(strstr(csv, ",accident_direct_loss_yuan,review\r\n"));
    assert_non_null(strstr(csv, ",unreviewed\r\n222402,"));
    assert_non_null(strstr(csv, "\r\n222404,珲春市,missing,,,false,0,0,0,0,25,,,,,,,,,,,,\r\n"));
    free(csv);
    char *table = printed("monthly", doc, ZB_FORMAT_TABLE);
    /* COUNTY is as wide as "reporting" (9); the 3-character names take 6
     * display columns, wider than "NAME"; STATUS as wide as "on_time",
     * REVIEW (after it) as "unreviewed" */
    static const char head[] = "COUNTY     NAME    STATUS   REVIEW      CREATED";
    assert_int_equal(strncmp(table, head, sizeof head - 1), 0);
    assert_non_null(strstr(table, "\n222401     延吉市  on_time  unreviewed  "));
    assert_non_null(strstr(table, "\n222402     图们市  late     unreviewed  "));
    assert_non_null(strstr(table, "\n222403     敦化市  missing  -           "));
    assert_non_null(strstr(table, "period 2026-10, deadline 2026-11-05T23:59:59+08:00: "));
    free(table);
    char *js = printed("monthly", doc, ZB_FORMAT_JSON);
    json_t *back = json_loads(js, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(back, doc));
    json_decref(back);
    free(js);
    json_decref(doc);

    /* matrix September..October */
    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    assert_int_equal(zb_consolidate_matrix(f->store, txn, 2026, 9, 2026, 10, &doc), 0);
    mdb_txn_abort(txn);
    rows = json_object_get(doc, "rows");
    assert_string_equal(row_str(rows, 0, "2026-09"), "missing");
    assert_string_equal(row_str(rows, 0, "2026-10"), "on_time");
    assert_string_equal(row_str(rows, 1, "2026-10"), "late");
    assert_string_equal(row_str(rows, 2, "2026-09"), "on_time");
    assert_string_equal(row_str(rows, 2, "2026-10"), "missing");
    json_decref(doc);
    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    assert_int_equal(zb_consolidate_matrix(f->store, txn, 2026, 10, 2026, 9, &doc), ZB_EINVAL);
    mdb_txn_abort(txn);
}

/* ------------------------------------------------------------ reviews and deadlines */

/* Store a downstream message to county (numbered after its last), signed
 * by agg, with body already set in d, as dispatch.c stores one. */
static void put_down(MDB_txn *txn, const zb_identity *agg, const char *county,
                     int64_t created_at, Zb__Downstream *d)
{
    zb_down_state st;
    assert_int_equal(zb_astore_down_state(g_store, txn, county, &st), 0);
    d->version = ZB_DOWN_VERSION;
    d->county = (char *)county;
    d->number = st.last + 1;
    d->created_at = created_at;
    d->aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    zb_problems p = {0};
    zb_down_validate(d, &p);
    assert_int_equal(p.n, 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(zb_down_seal(d, agg, &buf, &len), 0);
    assert_int_equal(zb_astore_down_put(g_store, txn, county, d->number, created_at, 0, buf, len, d),
                     0);
    free(buf);
}

static void put_review(MDB_txn *txn, const zb_identity *agg, const char *county, uint64_t seq,
                       bool accept, const char *comment, const char *reviewer, int64_t at)
{
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    Zb__Review r = ZB__REVIEW__INIT;
    r.seq = seq;
    r.decision = accept ? ZB__REVIEW_DECISION__ACCEPTED : ZB__REVIEW_DECISION__RETURNED;
    r.comment = (char *)comment;
    r.reviewer = (char *)reviewer;
    d.body_case = ZB__DOWNSTREAM__BODY_REVIEW;
    d.review = &r;
    put_down(txn, agg, county, at, &d);
}

static json_t *monthly_doc(int64_t now)
{
    MDB_txn *txn;
    json_t *doc = NULL;
    assert_int_equal(zb_store_begin(g_store, true, &txn), 0);
    assert_int_equal(zb_consolidate_monthly(g_store, txn, 2026, 10, now, &doc), 0);
    mdb_txn_abort(txn);
    return doc;
}

static const char *row_of(const json_t *doc, size_t i, const char *key)
{
    return row_str(json_object_get(doc, "rows"), i, key);
}

static bool row_null(const json_t *doc, size_t i, const char *key)
{
    return json_is_null(json_object_get(json_array_get(json_object_get(doc, "rows"), i), key));
}

static void test_monthly_reviews(void **state)
{
    fixture *f = *state;
    assert_int_equal(zb_crypto_init(), 0);
    zb_identity agg;
    zb_identity_generate(&agg);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(f->store, false, &txn), 0);
    MDB_dbi cty = zb_store_dbi(f->store, AGG_DB_COUNTIES), env = zb_store_dbi(f->store, AGG_DB_ENVELOPES);
    assert_int_equal(zb_astore_agg_key_put(g_store, txn, agg.pk), 0);
    put_county(txn, cty, "222401");
    put_county(txn, cty, "222402");
    put_county(txn, cty, "222403");
    put_county(txn, cty, "222404");
    /* 222401: on time, returned with a comment, filed again (seq 2) */
    put_monthly(txn, env, "222401", 1, "2026-10", DL_2026_10 - DAY, DL_2026_10 - DAY + 5, 10, 3);
    put_review(txn, &agg, "222401", 1, false, "第5项任务进展未填写，请补充后重报。", "王科长",
               DL_2026_10 + HOUR);
    put_monthly(txn, env, "222401", 2, "2026-10", DL_2026_10 + DAY, DL_2026_10 + DAY + 5, 11, 4);
    /* 222402: filed on the 7th (late by the default deadline), returned */
    put_monthly(txn, env, "222402", 1, "2026-10", DL_2026_10 + 2 * DAY, DL_2026_10 + 2 * DAY + 5,
                5, 0);
    put_review(txn, &agg, "222402", 1, false, "统计数据有误", "李四", DL_2026_10 + 3 * DAY);
    /* 222403: filed on time, accepted without a comment or reviewer */
    put_monthly(txn, env, "222403", 1, "2026-10", DL_2026_10 - 2 * DAY, DL_2026_10 - 2 * DAY, 7, 1);
    put_review(txn, &agg, "222403", 1, true, NULL, NULL, DL_2026_10 + 2 * HOUR);
    /* 222404: never filed */
    assert_int_equal(zb_store_commit(txn), 0);

    json_t *doc = monthly_doc(DL_2026_10 + 5 * DAY);
    /* the version in force of 222401 (seq 2) is not reviewed yet: the
     * return of seq 1 does not carry over */
    assert_string_equal(row_of(doc, 0, "status"), "on_time");
    assert_string_equal(row_of(doc, 0, "review"), "unreviewed");
    assert_true(row_null(doc, 0, "review_comment"));
    assert_true(row_null(doc, 0, "reviewed_at"));
    assert_string_equal(row_of(doc, 1, "status"), "late");
    assert_string_equal(row_of(doc, 1, "review"), "returned");
    assert_string_equal(row_of(doc, 1, "review_comment"), "统计数据有误");
    assert_string_equal(row_of(doc, 1, "reviewer"), "李四");
    assert_string_equal(row_of(doc, 1, "reviewed_at"), "2026-11-08T23:59:59+08:00");
    assert_string_equal(row_of(doc, 2, "review"), "accepted");
    assert_true(row_null(doc, 2, "review_comment"));
    assert_true(row_null(doc, 2, "reviewer"));
    assert_string_equal(row_of(doc, 2, "reviewed_at"), "2026-11-06T01:59:59+08:00");
    assert_string_equal(row_of(doc, 3, "status"), "missing");
    assert_true(row_null(doc, 3, "review"));
    assert_true(row_null(doc, 3, "reviewer"));
    assert_true(json_is_false(json_object_get(doc, "deadline_moved")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "total"), "late")), 1);
    json_decref(doc);

    /* the prefecture accepts 222401's new version; the deadline moves to
     * the 9th 23:59:59: 222402's report of the 7th is on time */
    assert_int_equal(zb_store_begin(f->store, false, &txn), 0);
    put_review(txn, &agg, "222401", 2, true, "已签收", "王科长", DL_2026_10 + 2 * DAY);
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    Zb__Deadline dl = ZB__DEADLINE__INIT;
    Zb__Time at = ZB__TIME__INIT;
    at.unix = DL_2026_10 + 4 * DAY;
    at.offset_min = 480;
    dl.period = "2026-10";
    dl.deadline = &at;
    d.body_case = ZB__DOWNSTREAM__BODY_DEADLINE;
    d.deadline = &dl;
    put_down(txn, &agg, "222402", DL_2026_10 - 10 * DAY, &d);
    assert_int_equal(zb_store_commit(txn), 0);

    doc = monthly_doc(DL_2026_10 + 3 * DAY);
    assert_string_equal(json_string_value(json_object_get(doc, "deadline")),
                        "2026-11-09T23:59:59+08:00");
    assert_true(json_is_true(json_object_get(doc, "deadline_moved")));
    assert_true(json_is_false(json_object_get(doc, "deadline_passed")));
    assert_string_equal(row_of(doc, 0, "review"), "accepted");
    assert_string_equal(row_of(doc, 0, "review_comment"), "已签收");
    assert_string_equal(row_of(doc, 0, "reviewer"), "王科长");
    assert_string_equal(row_of(doc, 1, "status"), "on_time"); /* late before the move */
    assert_string_equal(row_of(doc, 1, "review"), "returned");
    const json_t *total = json_object_get(doc, "total");
    assert_int_equal(json_integer_value(json_object_get(total, "on_time")), 3);
    assert_int_equal(json_integer_value(json_object_get(total, "late")), 0);
    assert_int_equal(json_integer_value(json_object_get(total, "missing")), 1);
    char *table = printed("monthly", doc, ZB_FORMAT_TABLE);
    assert_non_null(strstr(table, "\n222402     图们市  on_time  returned  20"));
    assert_non_null(strstr(table, "period 2026-10, deadline 2026-11-09T23:59:59+08:00 (moved) "
                                  "(not yet passed): 3 on time, 0 late, 1 missing of 4"));
    free(table);
    char *csv = printed("monthly", doc, ZB_FORMAT_CSV);
    assert_non_null(strstr(csv, ",accepted\r\n222402,图们市,on_time,"));
    assert_non_null(strstr(csv, ",returned\r\n222403,"));
    free(csv);
    json_decref(doc);

    /* the matrix judges October against its moved deadline, September
     * against its default */
    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    assert_int_equal(zb_consolidate_matrix(f->store, txn, 2026, 9, 2026, 10, &doc), 0);
    mdb_txn_abort(txn);
    const json_t *rows = json_object_get(doc, "rows");
    assert_string_equal(row_str(rows, 1, "2026-10"), "on_time");
    assert_string_equal(row_str(rows, 1, "2026-09"), "missing");
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(doc, "totals"), "2026-10"), "on_time")),
                     3);
    json_decref(doc);
    zb_identity_wipe(&agg);
}

static void test_accidents_from_store(void **state)
{
    fixture *f = *state;
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(f->store, false, &txn), 0);
    MDB_dbi cty = zb_store_dbi(f->store, AGG_DB_COUNTIES), env = zb_store_dbi(f->store, AGG_DB_ENVELOPES);
    put_county(txn, cty, "222401");
    put_county(txn, cty, "222402");
    /* X: 2 dead (general) then 2 dead + 1 missing (larger) on day 2 */
    put_accident(txn, env, "222401", 1, "X", 0, T0 + HOUR, 2, 0);
    put_accident(txn, env, "222401", 2, "X", 1, T0 + DAY, 2, 1);
    /* the same id in another county is another accident: general, 3 h
     * after notification (initial_report_late) */
    put_accident(txn, env, "222402", 1, "X", 0, T0 + 20 * 60 + 3 * HOUR, 0, 0);
    assert_int_equal(zb_store_commit(txn), 0);

    int64_t from, to;
    assert_int_equal(zb_date_parse("2026-10-14", &from), 0);
    assert_int_equal(zb_date_parse("2026-10-14", &to), 0);
    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    json_t *doc = NULL;
    /* a day and an hour after the accident: every window open, no follow-up due yet */
    assert_int_equal(zb_consolidate_accidents(f->store, txn, from, to + DAY, "2026-10-14",
                                              "2026-10-14", T0 + DAY + HOUR, &doc),
                     0);
    mdb_txn_abort(txn);
    assert_string_equal(json_string_value(json_object_get(doc, "grade_rule")),
                        "missing_counted_as_dead");
    const json_t *acc = json_object_get(doc, "accidents");
    assert_int_equal(json_array_size(acc), 2);
    /* same occurred_at: county order */
    assert_string_equal(row_str(acc, 0, "county"), "222401");
    assert_int_equal(row_int(acc, 0, "revision"), 1);
    assert_string_equal(row_str(acc, 0, "grade"), "larger");
    assert_string_equal(row_str(acc, 0, "report_to"), "province");
    const json_t *fl = json_object_get(json_array_get(acc, 0), "flags");
    assert_int_equal(json_array_size(fl), 1);
    assert_string_equal(json_string_value(json_array_get(fl, 0)), "grade_rose");
    assert_string_equal(row_str(acc, 1, "grade"), "general");
    assert_string_equal(row_str(acc, 1, "report_to"), "prefecture");
    fl = json_object_get(json_array_get(acc, 1), "flags");
    assert_int_equal(json_array_size(fl), 1);
    assert_string_equal(json_string_value(json_array_get(fl, 0)), "initial_report_late");
    const json_t *by_grade = json_object_get(json_object_get(doc, "totals"), "by_grade");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(by_grade, "larger"), "deaths")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(by_grade, "general"), "accidents")), 1);

    char *csv = printed("accidents", doc, ZB_FORMAT_CSV);
    /* counted: 2 dead and 1 missing (the window is open), graded with the
     * missing counted as dead: larger */
    assert_non_null(strstr(csv, "\r\n222401,延吉市,X,1,2026-10-14T08:30:00+08:00,construction,"
                                ",supplement,larger,larger,2,1,0,0,province,true,grade_rose\r\n"));
    free(csv);
    char *table = printed("accidents", doc, ZB_FORMAT_TABLE);
    assert_non_null(strstr(table, "by grade:"));
    free(table);
    json_decref(doc);

    /* the day before: nothing */
    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    assert_int_equal(zb_consolidate_accidents(f->store, txn, from - DAY, from, "2026-10-13",
                                              "2026-10-13", T0 + DAY + HOUR, &doc),
                     0);
    mdb_txn_abort(txn);
    assert_int_equal(json_array_size(json_object_get(doc, "accidents")), 0);
    json_decref(doc);
}

/* A month's accident count filed in the monthly report (0: a zero report)
 * against the county's direct reports of the month, written-offs left out;
 * and a monthly report signed after the aggregator received it: judged on
 * its receive time, flagged, its figures out of the totals. */
static void test_monthly_accident_count(void **state)
{
    fixture *f = *state;
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(f->store, false, &txn), 0);
    MDB_dbi cty = zb_store_dbi(f->store, AGG_DB_COUNTIES),
            env = zb_store_dbi(f->store, AGG_DB_ENVELOPES);
    put_county(txn, cty, "222401");
    put_county(txn, cty, "222402");
    put_county(txn, cty, "222403");
    /* 222401: one accident on 2026-10-14 (T0), and a zero report: mismatch */
    put_accident(txn, env, "222401", 1, "X", 0, T0 + HOUR, 1, 0);
    /* 222402: an accident written off, and a zero report: they agree */
    put_accident(txn, env, "222402", 1, "Y", 0, T0 + HOUR, 1, 0);
    {
        Zb__Report r = ZB__REPORT__INIT;
        Zb__AccidentReport a = ZB__ACCIDENT_REPORT__INIT;
        Zb__Time occ = ZB__TIME__INIT, notified = ZB__TIME__INIT;
        Zb__Unit unit = ZB__UNIT__INIT;
        occ.unix = T0;
        occ.offset_min = notified.offset_min = 480;
        notified.unix = T0 + 20 * 60;
        unit.name = "单位";
        a.accident_id = "Y";
        a.revision = 1;
        a.occurred_at = &occ;
        a.county_notified_at = &notified;
        a.place = "地点";
        a.unit = &unit;
        a.industry = ZB__INDUSTRY__CONSTRUCTION;
        a.summary = "摘要";
        a.deaths = 1;
        a.has_stage = 1;
        a.stage = ZB__STAGE__WRITE_OFF;
        a.write_off_reason = "自然灾害";
        r.county = "222402";
        r.seq = 2;
        r.created_at = T0 + DAY;
        r.content_case = ZB__REPORT__CONTENT_ACCIDENT;
        r.accident = &a;
        put_report(txn, env, &r, T0 + DAY + 5);
    }
    Zb__Report m = ZB__REPORT__INIT;
    Zb__MonthlyReport mr = ZB__MONTHLY_REPORT__INIT;
    Zb__MonthlyStats st = ZB__MONTHLY_STATS__INIT;
    st.has_accidents = 1;
    st.accidents = 0;
    mr.period = "2026-10";
    mr.stats = &st;
    m.content_case = ZB__REPORT__CONTENT_MONTHLY;
    m.monthly = &mr;
    const char *counties[] = {"222401", "222402"};
    for (int i = 0; i < 2; i++) {
        m.county = (char *)counties[i];
        m.seq = 3;
        m.created_at = DL_2026_10 - DAY;
        put_report(txn, env, &m, DL_2026_10 - DAY + 60);
    }
    /* 222403 signed "two days after" it was received: its clock ran ahead;
     * received after the deadline, so late, whatever it signed */
    m.county = "222403";
    m.seq = 1;
    st.accidents = 4;
    m.created_at = DL_2026_10 + 3 * DAY;
    put_report(txn, env, &m, DL_2026_10 + DAY);
    assert_int_equal(zb_store_commit(txn), 0);

    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    json_t *doc = NULL;
    assert_int_equal(zb_consolidate_monthly(f->store, txn, 2026, 10, DL_2026_10 + 5 * DAY, &doc),
                     0);
    mdb_txn_abort(txn);
    const json_t *rows = json_object_get(doc, "rows");
    assert_int_equal(row_int(rows, 0, "accidents_direct"), 1);
    assert_true(json_is_true(json_object_get(json_array_get(rows, 0), "accidents_mismatch")));
    assert_int_equal(row_int(rows, 1, "accidents_direct"), 0);
    assert_true(json_is_false(json_object_get(json_array_get(rows, 1), "accidents_mismatch")));
    assert_string_equal(row_str(rows, 2, "status"), "late");
    const json_t *cf = json_object_get(json_array_get(rows, 2), "clock_flags");
    assert_int_equal(json_array_size(cf), 1);
    assert_string_equal(json_string_value(json_array_get(cf, 0)), "created_after_received");
    /* 222403's figures stay out of the total: 0 + 0, not 4 */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(doc, "total"), "accidents")), 0);
    json_decref(doc);
}

static void test_csv_quoting(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:[{s:s, s:s, s:s, s:[s,s]}]}", "rows", "county", "a,b", "name",
                            "say \"hi\"", "2026-10", "line\nbreak", "unused", "x", "y");
    assert_non_null(doc);
    json_object_set_new(doc, "periods", json_pack("[s]", "2026-10"));
    char *csv = printed("matrix", doc, ZB_FORMAT_CSV);
    assert_string_equal(csv,
                        "county,name,2026-10\r\n\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\"\r\n");
    free(csv);
    json_decref(doc);
}

/* ------------------------------------------------------------ indicators */

/* 1 January 00:00:00 +08:00 (Python datetime) */
#define JAN1_2024 1704038400
#define JAN1_2025 1735660800
#define JAN1_2026 1767196800
#define JAN1_2027 1798732800
#define JAN1_2028 1830268800
#define JAN1_2029 1861891200

static void test_indicator_window(void **state)
{
    (void)state;
    zb_indicator_window w;
    /* a year that is over: the whole year against the whole previous year */
    zb_indicator_window_of(2025, JAN1_2026 + 150 * DAY, &w);
    assert_int_equal(w.from, JAN1_2025);
    assert_int_equal(w.to, JAN1_2026);
    assert_int_equal(w.prev_from, JAN1_2024);
    assert_int_equal(w.prev_to, JAN1_2025);
    assert_true(w.elapsed == 1.0);
    /* the last second of the year is still in it */
    zb_indicator_window_of(2025, JAN1_2026 - 1, &w);
    assert_int_equal(w.to, JAN1_2026 - 1);
    assert_int_equal(w.prev_to, JAN1_2025 - 1);
    /* 2026-07-02T12:00:00+08:00 = 1782964800: 182.5 of 365 days; the
     * previous year to 2025-07-02T12:00:00+08:00 = 1751428800 */
    zb_indicator_window_of(2026, 1782964800, &w);
    assert_int_equal(w.from, JAN1_2026);
    assert_int_equal(w.to, 1782964800);
    assert_int_equal(w.prev_from, JAN1_2025);
    assert_int_equal(w.prev_to, 1751428800);
    assert_true(w.elapsed == 0.5);
    /* leap day 2028-02-29T12:00:00+08:00 = 1835409600 -> 2027-03-01T12:00:00+08:00
     * = 1803873600; 59.5 of 366 days */
    zb_indicator_window_of(2028, 1835409600, &w);
    assert_int_equal(w.from, JAN1_2028);
    assert_int_equal(w.prev_from, JAN1_2027);
    assert_int_equal(w.prev_to, 1803873600);
    assert_float_equal(w.elapsed, 59.5 / 366, 1e-15);
    /* before the year starts: an empty window */
    zb_indicator_window_of(2028, JAN1_2028 - 1, &w);
    assert_int_equal(w.to, JAN1_2028);
    assert_int_equal(w.prev_to, JAN1_2027);
    assert_true(w.elapsed == 0.0);
    (void)JAN1_2029;
}

static void test_target_progress(void **state)
{
    (void)state;
    zb_target_progress t;
    /* half of the base: 50 % fewer, 2.5 times the 20 % asked for */
    zb_target_progress_of(5, 10, 1.0, &t);
    assert_float_equal(t.base_prorated, 10, 1e-12);
    assert_float_equal(t.target, 8, 1e-12);
    assert_float_equal(t.target_prorated, 8, 1e-12);
    assert_true(t.has_change);
    assert_float_equal(t.change_pct, -50, 1e-9);
    assert_float_equal(t.progress_pct, 250, 1e-9);
    assert_true(t.on_track);
    /* exactly the base: no progress, not on track (2 > 1.6) */
    zb_target_progress_of(2, 2, 1.0, &t);
    assert_float_equal(t.target, 1.6, 1e-12);
    assert_float_equal(t.change_pct, 0, 1e-12);
    assert_float_equal(t.progress_pct, 0, 1e-12);
    assert_false(t.on_track);
    /* half the year: the base of 12 prorates to 6, the target to 4.8 */
    zb_target_progress_of(4, 12, 0.5, &t);
    assert_float_equal(t.base_prorated, 6, 1e-12);
    assert_float_equal(t.target, 9.6, 1e-12);
    assert_float_equal(t.target_prorated, 4.8, 1e-12);
    assert_float_equal(t.change_pct, -100.0 / 3, 1e-9);
    assert_float_equal(t.progress_pct, 500.0 / 3, 1e-9);
    assert_true(t.on_track);
    /* exactly on the prorated target: 16 x 0.5 x 0.8 = 6.4; 7 is above */
    zb_target_progress_of(6, 16, 0.5, &t);
    assert_float_equal(t.progress_pct, 125, 1e-9);
    assert_true(t.on_track);
    zb_target_progress_of(4, 5, 1.0, &t);
    assert_float_equal(t.progress_pct, 100, 1e-9); /* 4 = 5 x 0.8: target met exactly */
    assert_true(t.on_track);
    /* more deaths than the base: negative progress */
    zb_target_progress_of(12, 10, 1.0, &t);
    assert_float_equal(t.change_pct, 20, 1e-9);
    assert_float_equal(t.progress_pct, -100, 1e-9);
    assert_false(t.on_track);
    /* a base of 0, or nothing elapsed: no change to speak of */
    zb_target_progress_of(0, 0, 1.0, &t);
    assert_false(t.has_change);
    assert_true(t.on_track);
    zb_target_progress_of(0, 10, 0.0, &t);
    assert_false(t.has_change);
}

static void test_death_rates(void **state)
{
    (void)state;
    double r;
    assert_true(zb_death_rate(5, 812.5, 1, &r));
    assert_float_equal(r, 0.006153846153846154, 1e-15);
    assert_true(zb_death_rate(1, 153000, 1e5, &r));
    assert_float_equal(r, 0.6535947712418301, 1e-13);
    assert_true(zb_death_rate(3, 210000, 1e4, &r));
    assert_float_equal(r, 0.14285714285714285, 1e-14);
    assert_true(zb_death_rate(1, 500000, 1e6, &r));
    assert_float_equal(r, 2.0, 1e-12);
    assert_true(zb_death_rate(0, 10, 1, &r));
    assert_float_equal(r, 0.0, 0);
    /* no denominator: no rate */
    assert_false(zb_death_rate(1, 0, 1e6, &r));
    assert_false(zb_death_rate(1, -3, 1, &r));
}

static void test_industry_mining_commerce(void **state)
{
    (void)state;
    static const char *const counted[] = {"coal_mine",    "non_coal_mine",  "hazardous_chemicals",
                                          "fireworks",    "construction",   "metallurgy_trade",
                                          "special_equipment", "other"};
    static const char *const apart[] = {"road_traffic", "fire", "water_traffic", "railway",
                                        "civil_aviation", "agricultural_machinery",
                                        "fishing_vessel"};
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++)
        assert_true(zb_industry_mining_commerce(zb_industry_parse(counted[i])));
    for (size_t i = 0; i < sizeof apart / sizeof apart[0]; i++)
        assert_false(zb_industry_mining_commerce(zb_industry_parse(apart[i])));
    assert_false(zb_industry_mining_commerce(0));
    assert_false(zb_industry_mining_commerce(16));
}

static bool has_line(const zb_problems *p, const char *line)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->lines[i], line) == 0)
            return true;
    return false;
}

static void test_figures_parse(void **state)
{
    (void)state;
    json_t *doc = json_loads(
        "{\"figures\": [{\"county\": \"222401\", \"year\": 2026, \"gdp_100m_yuan\": 812.5,"
        " \"workers_industry_mining_commerce\": 153000, \"motor_vehicles\": null},"
        " {\"county\": \"222400\", \"year\": 2026, \"coal_output_tonnes\": 0}],"
        " \"base\": [{\"county\": \"222401\", \"year\": 2015, \"deaths\": 14}]}",
        0, NULL);
    assert_non_null(doc);
    zb_problems p = {0};
    zb_figures_file ff;
    assert_int_equal(zb_figures_parse(doc, &ff, &p), 0);
    assert_int_equal(p.n, 0);
    assert_int_equal(ff.n_figures, 2);
    assert_string_equal(ff.figures[0].county, "222401");
    assert_int_equal(ff.figures[0].year, 2026);
    assert_int_equal(ff.figures[0].present, ZB_FIG_GDP | ZB_FIG_WORKERS);
    assert_true(ff.figures[0].gdp_100m_yuan == 812.5);
    assert_int_equal(ff.figures[0].workers, 153000);
    assert_int_equal(ff.figures[1].present, ZB_FIG_COAL);
    assert_int_equal(ff.n_base, 1);
    assert_int_equal(ff.base[0].deaths, 14);
    zb_figures_file_free(&ff);
    json_decref(doc);

    doc = json_loads(
        "{\"figures\": [{\"county\": \"22240\", \"year\": 1999, \"gdp_100m_yuan\": -1,"
        " \"motor_vehicles\": 1.5, \"motor_vehicle\": 3},"
        " {\"county\": \"222401\", \"year\": 2026}, 7, {\"county\": \"222401\", \"year\": 2026,"
        " \"coal_output_tonnes\": \"0\"}],"
        " \"base\": [{\"county\": \"222401\", \"year\": 2016, \"deaths\": 3},"
        " {\"county\": \"222402\", \"year\": 2015}], \"bases\": []}",
        0, NULL);
    assert_non_null(doc);
    assert_int_equal(zb_figures_parse(doc, &ff, &p), ZB_EVALIDATION);
    assert_null(ff.figures);
    assert_int_equal(ff.n_figures, 0);
    assert_true(has_line(&p, "bases: unknown field (expected \"figures\" and/or \"base\")"));
    assert_true(has_line(&p, "figures[0].motor_vehicle: unknown field"));
    assert_true(has_line(&p, "figures[0].county: must be a 6-digit county code (e.g. \"222401\"; "
                             "\"222400\" for the prefecture)"));
    assert_true(has_line(&p, "figures[0].year: must be an integer 2000..9999"));
    assert_true(has_line(&p, "figures[0].gdp_100m_yuan: must be a number 0..1000000000 "
                             "(100 million yuan) or null"));
    assert_true(has_line(&p, "figures[0].motor_vehicles: must be an integer 0..1000000000000 "
                             "or null"));
    assert_true(has_line(&p, "figures[2]: must be an object"));
    assert_true(has_line(&p, "figures[3].coal_output_tonnes: must be an integer "
                             "0..1000000000000 or null"));
    assert_true(has_line(&p, "base[0].year: must be 2015 (the base year of the target)"));
    assert_true(has_line(&p, "base[1].deaths: missing"));
    assert_int_equal(p.n, 10);
    zb_problems_free(&p);
    json_decref(doc);

    /* the same county and year twice in one list */
    doc = json_loads("{\"figures\": [{\"county\": \"222401\", \"year\": 2026},"
                     " {\"county\": \"222402\", \"year\": 2026},"
                     " {\"county\": \"222401\", \"year\": 2026}]}",
                     0, NULL);
    assert_int_equal(zb_figures_parse(doc, &ff, &p), ZB_EVALIDATION);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.lines[0], "figures[2]: county 222401 year 2026 given twice "
                                    "(first at figures[0])");
    zb_problems_free(&p);
    json_decref(doc);
    doc = json_loads("{}", 0, NULL);
    assert_int_equal(zb_figures_parse(doc, &ff, &p), ZB_EVALIDATION);
    assert_string_equal(p.lines[0], "(input): neither \"figures\" nor \"base\" given");
    zb_problems_free(&p);
    json_decref(doc);
}

/* An accident of industry at occurred (RFC 3339), filed at occurred + 1 h. */
static void put_accident_at(MDB_txn *txn, MDB_dbi dbi, const char *county, uint64_t seq,
                            const char *id, uint32_t revision, const char *occurred,
                            Zb__Industry industry, uint32_t deaths, uint32_t missing)
{
    Zb__Report r = ZB__REPORT__INIT;
    Zb__AccidentReport a = ZB__ACCIDENT_REPORT__INIT;
    Zb__Time occ = ZB__TIME__INIT, notified = ZB__TIME__INIT;
    Zb__Unit unit = ZB__UNIT__INIT;
    int64_t t;
    assert_int_equal(zb_time_parse(occurred, &t, NULL), 0);
    occ.unix = t;
    occ.offset_min = 480;
    notified.unix = t + 600;
    notified.offset_min = 480;
    unit.name = "单位";
    a.accident_id = (char *)id;
    a.revision = revision;
    a.occurred_at = &occ;
    a.county_notified_at = &notified;
    a.place = "地点";
    a.unit = &unit;
    a.industry = industry;
    a.summary = "摘要";
    a.deaths = deaths;
    a.missing = missing;
    r.county = (char *)county;
    r.seq = seq;
    r.created_at = t + HOUR;
    r.content_case = ZB__REPORT__CONTENT_ACCIDENT;
    r.accident = &a;
    put_report(txn, dbi, &r, t + HOUR);
}

static double row_real(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    assert_true(json_is_real(v));
    return json_real_value(v);
}

static json_int_t row_i(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_indicators_from_store(void **state)
{
    fixture *f = *state;
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(f->store, false, &txn), 0);
    MDB_dbi cty = zb_store_dbi(f->store, AGG_DB_COUNTIES), env = zb_store_dbi(f->store, AGG_DB_ENVELOPES),
            fig = zb_store_dbi(f->store, AGG_DB_FIGURES);
    put_county(txn, cty, "222401");
    put_county(txn, cty, "222402");
    /* 222401, year 2026 as of 2026-07-02T12:00:00+08:00 (elapsed 0.5):
     *   A road, 2 dead + 1 missing, revised to 3 dead: 3 deaths, 0 missing
     *   B coal mine at the first second of the year: 1 dead, 2 missing
     *   C construction at exactly "now": outside (the window is [from, to))
     *   D 2025-07-02T11:59:59+08:00: the same period of the previous year
     *   E 2025-07-02T12:00:00+08:00: after it */
    put_accident_at(txn, env, "222401", 1, "A", 0, "2026-03-10T08:00:00+08:00",
                    ZB__INDUSTRY__ROAD_TRAFFIC, 2, 1);
    put_accident_at(txn, env, "222401", 2, "A", 1, "2026-03-10T08:00:00+08:00",
                    ZB__INDUSTRY__ROAD_TRAFFIC, 3, 0);
    put_accident_at(txn, env, "222401", 3, "B", 0, "2025-12-31T16:00:00Z",
                    ZB__INDUSTRY__COAL_MINE, 1, 2);
    put_accident_at(txn, env, "222401", 4, "C", 0, "2026-07-02T12:00:00+08:00",
                    ZB__INDUSTRY__CONSTRUCTION, 9, 0);
    put_accident_at(txn, env, "222401", 5, "D", 0, "2025-07-02T11:59:59+08:00",
                    ZB__INDUSTRY__OTHER, 4, 0);
    put_accident_at(txn, env, "222401", 6, "E", 0, "2025-07-02T12:00:00+08:00",
                    ZB__INDUSTRY__OTHER, 6, 0);
    /* 222402: F construction, 2 dead */
    put_accident_at(txn, env, "222402", 1, "F", 0, "2026-06-01T10:00:00+08:00",
                    ZB__INDUSTRY__CONSTRUCTION, 2, 0);
    zb_figures_file ff = {0};
    zb_figures figs[2] = {
        {"222401", 2026, ZB_FIG_GDP | ZB_FIG_WORKERS | ZB_FIG_VEHICLES | ZB_FIG_COAL, 812.5,
         153000, 210000, 500000},
        {"222402", 2026, ZB_FIG_GDP | ZB_FIG_WORKERS, 250, 40000, 0, 0}};
    zb_base_deaths base[2] = {{"222401", 2015, 12}, {"222402", 2015, 4}};
    ff.figures = figs;
    ff.n_figures = 2;
    ff.base = base;
    ff.n_base = 2;
    assert_int_equal(zb_figures_put(txn, fig, &ff, 1782964800), 0);
    assert_int_equal(zb_store_commit(txn), 0);

    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    zb_figures back;
    assert_int_equal(zb_figures_get(txn, fig, "222402", 2026, &back), 0);
    assert_int_equal(back.present, ZB_FIG_GDP | ZB_FIG_WORKERS);
    assert_true(back.gdp_100m_yuan == 250);
    assert_int_equal(zb_figures_get(txn, fig, "222402", 2025, &back), ZB_ENOTFOUND);
    json_t *doc = NULL;
    assert_int_equal(zb_consolidate_indicators(f->store, txn, 2026, 1782964800, &doc), 0);
    mdb_txn_abort(txn);
    assert_string_equal(json_string_value(json_object_get(doc, "to")),
                        "2026-07-02T12:00:00+08:00");
    assert_string_equal(json_string_value(json_object_get(doc, "previous_to")),
                        "2025-07-02T12:00:00+08:00");
    assert_true(json_real_value(json_object_get(doc, "elapsed_fraction")) == 0.5);
    const json_t *rows = json_object_get(doc, "rows");
    assert_int_equal(json_array_size(rows), 2);
    const json_t *a = json_array_get(rows, 0), *b = json_array_get(rows, 1),
                 *t = json_object_get(doc, "total");
    /* 222401: A counts 3 dead; B's 2 missing were still missing when its
     * 30-day window closed (in January): counted as dead, so 1 + 2; so
     * deaths 6, missing 0; previous 4 (D) */
    assert_int_equal(row_i(a, "accidents"), 2);
    assert_int_equal(row_i(a, "deaths"), 6);
    assert_int_equal(row_i(a, "missing"), 0);
    assert_int_equal(row_i(a, "previous_deaths"), 4);
    assert_int_equal(row_i(a, "change_vs_previous"), 2);
    assert_true(row_real(a, "change_vs_previous_pct") == 50);
    assert_int_equal(row_i(a, "base_deaths"), 12);
    assert_true(row_real(a, "base_deaths_prorated") == 6);
    assert_true(row_real(a, "target_deaths") == 9.6);
    assert_true(row_real(a, "target_deaths_prorated") == 4.8);
    assert_true(row_real(a, "change_vs_base_pct") == 0);
    assert_true(row_real(a, "target_progress_pct") == 0);
    assert_true(json_is_false(json_object_get(a, "on_track")));
    assert_int_equal(row_i(a, "deaths_industry_mining_commerce"), 3); /* coal; road apart */
    assert_int_equal(row_i(a, "deaths_road_traffic"), 3);
    assert_int_equal(row_i(a, "deaths_coal_mine"), 3);
    assert_true(row_real(a, "deaths_per_100m_yuan_gdp") == 0.007385);     /* 6 / 812.5 */
    assert_true(row_real(a, "deaths_per_100k_workers") == 1.960784);      /* 3 / 153000 */
    assert_true(row_real(a, "road_deaths_per_10k_vehicles") == 0.142857); /* 3 / 210000 */
    assert_true(row_real(a, "coal_deaths_per_million_tonnes") == 6.0);    /* 3 / 500000 */
    /* 222402: no previous deaths, exactly its prorated base */
    assert_int_equal(row_i(b, "deaths"), 2);
    assert_true(json_is_null(json_object_get(b, "change_vs_previous_pct")));
    assert_true(row_real(b, "base_deaths_prorated") == 2);
    assert_true(row_real(b, "change_vs_base_pct") == 0);
    assert_true(json_is_false(json_object_get(b, "on_track")));
    assert_true(row_real(b, "deaths_per_100m_yuan_gdp") == 0.008);
    assert_true(row_real(b, "deaths_per_100k_workers") == 5.0);
    assert_true(json_is_null(json_object_get(b, "motor_vehicles")));
    assert_true(json_is_null(json_object_get(b, "road_deaths_per_10k_vehicles")));
    assert_true(json_is_null(json_object_get(b, "coal_deaths_per_million_tonnes")));
    /* total: the sum; GDP and workers summed (both counties have them),
     * vehicles and coal not (222402 lacks them); base 12 + 4 */
    assert_int_equal(row_i(t, "deaths"), 8);
    assert_int_equal(row_i(t, "previous_deaths"), 4);
    assert_true(row_real(t, "change_vs_previous_pct") == 100);
    assert_int_equal(row_i(t, "base_deaths"), 16);
    assert_true(row_real(t, "change_vs_base_pct") == 0);
    assert_true(row_real(t, "target_progress_pct") == 0);
    assert_true(json_is_false(json_object_get(t, "on_track")));
    assert_true(row_real(t, "gdp_100m_yuan") == 1062.5);
    assert_int_equal(row_i(t, "workers_industry_mining_commerce"), 193000);
    assert_true(row_real(t, "deaths_per_100m_yuan_gdp") == 0.007529); /* 8 / 1062.5 */
    assert_true(row_real(t, "deaths_per_100k_workers") == 2.590674); /* 5 / 193000 */
    assert_true(json_is_null(json_object_get(t, "motor_vehicles")));
    assert_true(json_is_null(json_object_get(t, "road_deaths_per_10k_vehicles")));
    assert_string_equal(json_string_value(json_object_get(t, "figures_source")),
                        "sum_of_counties");
    assert_string_equal(json_string_value(json_object_get(t, "base_source")), "sum_of_counties");

    char *csv = printed("indicators", doc, ZB_FORMAT_CSV);
    assert_non_null(strstr(csv, "county,name,accidents,deaths,missing,previous_deaths,"));
    assert_non_null(strstr(csv, "\r\n222401,延吉市,2,6,0,4,2,50,12,6,9.6,4.8,0,0,false,3,3,3,"
                                "812.5,153000,210000,500000,0.007385,1.960784,0.142857,6\r\n"));
    assert_non_null(strstr(csv, "\r\ntotal,,3,8,0,4,4,100,16,8,12.8,6.4,0,0,false,5,3,3,"
                                "1062.5,193000,,,0.007529,2.590674,,\r\n"));
    free(csv);
    char *table = printed("indicators", doc, ZB_FORMAT_TABLE);
    assert_non_null(strstr(table, "\n222401  延吉市 "));
    assert_non_null(strstr(table, "sum_of_counties"));
    free(table);
    char *js = printed("indicators", doc, ZB_FORMAT_JSON);
    assert_non_null(strstr(js, "\"change_vs_base_pct\": 0.0,"));
    json_t *again = json_loads(js, 0, NULL);
    assert_true(json_equal(again, doc));
    json_decref(again);
    free(js);
    json_decref(doc);

    /* the prefecture's own figures and base win over the sums; a figures
     * entry replaces the county and year's earlier one */
    assert_int_equal(zb_store_begin(f->store, false, &txn), 0);
    zb_figures pf[2] = {{"222400", 2026, ZB_FIG_VEHICLES, 0, 0, 400000, 0},
                        {"222402", 2026, ZB_FIG_VEHICLES, 0, 0, 100000, 0}};
    zb_base_deaths pb = {"222400", 2015, 20};
    ff.figures = pf;
    ff.n_figures = 2;
    ff.base = &pb;
    ff.n_base = 1;
    assert_int_equal(zb_figures_put(txn, fig, &ff, 1782964800), 0);
    assert_int_equal(zb_store_commit(txn), 0);
    assert_int_equal(zb_store_begin(f->store, true, &txn), 0);
    assert_int_equal(zb_consolidate_indicators(f->store, txn, 2026, 1782964800, &doc), 0);
    mdb_txn_abort(txn);
    b = json_array_get(json_object_get(doc, "rows"), 1);
    t = json_object_get(doc, "total");
    assert_true(json_is_null(json_object_get(b, "gdp_100m_yuan")));
    assert_int_equal(row_i(b, "motor_vehicles"), 100000);
    assert_true(row_real(b, "road_deaths_per_10k_vehicles") == 0);
    assert_string_equal(json_string_value(json_object_get(t, "figures_source")), "prefecture");
    assert_true(json_is_null(json_object_get(t, "gdp_100m_yuan")));
    assert_true(row_real(t, "road_deaths_per_10k_vehicles") == 0.075); /* 3 / 400000 */
    assert_int_equal(row_i(t, "base_deaths"), 20);
    assert_true(row_real(t, "change_vs_base_pct") == -20); /* 8 against 10 */
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_edges),
        cmocka_unit_test(test_display_width),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test_setup_teardown(test_monthly_from_store, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_monthly_reviews, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_accidents_from_store, setup_store, teardown_store),
        cmocka_unit_test_setup_teardown(test_monthly_accident_count, setup_store, teardown_store),
        cmocka_unit_test(test_indicator_window),
        cmocka_unit_test(test_target_progress),
        cmocka_unit_test(test_death_rates),
        cmocka_unit_test(test_industry_mining_commerce),
        cmocka_unit_test(test_figures_parse),
        cmocka_unit_test_setup_teardown(test_indicators_from_store, setup_store, teardown_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
