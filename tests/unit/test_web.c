/*
 * test_web.c - the dashboard's routing and answers (zb_web_answer, which
 * knows nothing of HTTP) on a real aggregator store: zb_agg_create in a
 * mkdtemp directory, one county enrolled, opened read-only as `zhibao-agg
 * web` opens it. Status codes, content types and the JSON error bodies
 * (the bytes `report ... --format json` would print), the token, and the
 * accident address checks; the monthly report of a county filed late,
 * returned by the prefecture with a comment and on time by the deadline it
 * then moved (dispatch.h). Every test only reads the store (the setup
 * writes it), so they pass in any order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "crypto.h"
#include "dispatch.h"
#include "envelope.h"
#include "err.h"
#include "timefmt.h"
#include "web.h"

#define COUNTY "222401"
#define JSON_TYPE "application/json; charset=utf-8"

static struct {
    char dir[512];
    zb_agg *agg;
} F;

static void remove_dir(const char *dir)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", ZB_IDENTITY_FILE};
    char p[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* 2025-11-25T00:00:00+08:00: after the 2025-10 default deadline (the 5th) */
#define FILED_AT 1764000000
#define COMMENT "第5项任务进展未填写，请补充后重报。"

/* Store COUNTY's report seq 1, the monthly report of 2025-10 signed by node
 * at FILED_AT, through the acceptance rules (agg.h) as serve stores one. */
static int store_monthly(zb_agg *w, const zb_identity *node)
{
    static const uint8_t prev[ZB_SHA256_LEN];
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    m.period = "2025-10";
    Zb__Report r = ZB__REPORT__INIT;
    r.version = 1;
    r.county = COUNTY;
    r.seq = 1;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, (uint8_t *)prev};
    r.created_at = FILED_AT;
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    r.monthly = &m;
    uint8_t rbuf[256], *ebuf = NULL;
    size_t rlen = zb__report__get_packed_size(&r), elen;
    if (rlen > sizeof rbuf)
        return -1;
    zb__report__pack(&r, rbuf);
    if (zb_envelope_seal(rbuf, rlen, node, &ebuf, &elen) != ZB_OK)
        return -1;
    Zb__Envelope *env = zb__envelope__unpack(NULL, elen, ebuf);
    free(ebuf);
    MDB_txn *txn;
    if (!env || zb_store_begin(zb_agg_store(w), false, &txn) != ZB_OK) {
        zb__envelope__free_unpacked(env, NULL);
        return -1;
    }
    zb_county_rec rec;
    zb_ingest_out out;
    int rc = zb_agg_county_get(w, txn, COUNTY, &rec);
    if (rc == ZB_OK)
        rc = zb_agg_ingest(w, txn, &rec, env, FILED_AT + 60, -1, &out);
    if (rc == ZB_OK && out.result != ZB_INGEST_STORED)
        rc = ZB_EINVAL;
    if (rc == ZB_OK)
        rc = zb_astore_county_put(zb_agg_store(w), txn, &rec);
    zb__envelope__free_unpacked(env, NULL);
    if (rc != ZB_OK) {
        mdb_txn_abort(txn);
        return -1;
    }
    return zb_store_commit(txn) == ZB_OK ? 0 : -1;
}

/* The prefecture returns that report and moves 2025-10's deadline to the
 * 30th 23:59:59 +08:00 (after FILED_AT). */
static int answer_it(zb_agg *w)
{
    zb_problems p = {0};
    int64_t now = (int64_t)time(NULL), at;
    int rc = zb_dispatch_review(w, COUNTY, 1, false, COMMENT, "王科长", now, &p, NULL, NULL);
    if (rc == ZB_OK && zb_time_parse("2025-11-30T23:59:59+08:00", &at, NULL) == ZB_OK)
        rc = zb_dispatch_deadline(w, 2025, 10, at, ZB_CST_OFFSET_MIN, now, &p, NULL, NULL);
    for (size_t i = 0; i < p.n; i++)
        fprintf(stderr, "answer_it: %s\n", p.lines[i]);
    zb_problems_free(&p);
    return rc == ZB_OK ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (zb_crypto_init() != ZB_OK)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(F.dir, sizeof F.dir, "%s/zb-test-web-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(F.dir))
        return -1;
    char pk_hex[2 * ZB_PK_LEN + 1];
    zb_agg *w = NULL;
    if (zb_agg_create(F.dir, pk_hex) != ZB_OK || zb_agg_open(&w, F.dir, false) != ZB_OK)
        return -1;
    zb_identity node;
    zb_identity_generate(&node);
    bool was_new;
    uint64_t first_seq;
    uint8_t prev[ZB_SHA256_LEN];
    int rc = zb_agg_enroll_identity(w, COUNTY, &node, &was_new, &first_seq, prev);
    if (rc == ZB_OK)
        rc = store_monthly(w, &node) || answer_it(w) ? -1 : ZB_OK;
    zb_identity_wipe(&node);
    zb_agg_close(&w); /* one LMDB environment per process at a time */
    if (rc != ZB_OK)
        return -1;
    return zb_agg_open(&F.agg, F.dir, true) == ZB_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    zb_agg_close(&F.agg);
    remove_dir(F.dir);
    return 0;
}

/* Query parameters: name=value pairs, NULL-terminated. */
static const char *lookup(void *ctx, const char *name)
{
    const char *const *pairs = ctx;
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        if (strcmp(pairs[i], name) == 0)
            return pairs[i + 1];
    return NULL;
}

typedef struct {
    unsigned status;
    const char *type;
    char *body; /* NUL-terminated copy */
} reply;

static reply ask(const char *token, const char *method, const char *path,
                 const char *const *pairs, const char *authorization)
{
    reply r = {0};
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(zb_web_answer(F.agg, token, method, path, lookup, (void *)pairs,
                                   authorization, &r.status, &r.type, &body, &len),
                     ZB_OK);
    r.body = malloc(len + 1);
    assert_non_null(r.body);
    memcpy(r.body, body, len);
    r.body[len] = '\0';
    free(body);
    return r;
}

#define PAIRS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* status and a JSON error body exactly as `report --format json` prints it. */
static void expect_error(reply r, unsigned status, const char *msg)
{
    char want[512];
    snprintf(want, sizeof want, "{\n  \"error\": \"%s\"\n}\n", msg);
    assert_int_equal(r.status, status);
    assert_string_equal(r.type, JSON_TYPE);
    assert_string_equal(r.body, want);
    free(r.body);
}

/* ------------------------------------------------------------ tests */

static void test_status(void **state)
{
    (void)state;
    reply r = ask(NULL, "GET", "/api/status", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, JSON_TYPE);
    json_error_t e;
    json_t *doc = json_loads(r.body, 0, &e);
    assert_non_null(doc);
    json_t *counties = json_object_get(doc, "counties");
    assert_int_equal(json_array_size(counties), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(counties, 0), "county")),
                        COUNTY);
    assert_int_equal(json_integer_value(json_object_get(doc, "reports")), 1);
    assert_true(json_is_string(json_object_get(doc, "current_period")));
    json_decref(doc);
    free(r.body);
    /* HEAD is answered like GET */
    r = ask(NULL, "HEAD", "/api/status", NULL, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_reports(void **state)
{
    (void)state;
    reply r = ask(NULL, "GET", "/api/monthly", PAIRS("period", "2026-10"), NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, JSON_TYPE);
    assert_non_null(strstr(r.body, "\"period\": \"2026-10\""));
    assert_non_null(strstr(r.body, "\"county\": \"222401\""));
    free(r.body);
    r = ask(NULL, "GET", "/api/matrix", PAIRS("from", "2026-01", "to", "2026-10"), NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    r = ask(NULL, "GET", "/api/accidents", PAIRS("from", "2026-01-01", "to", "2026-10-31"), NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"accidents\": []"));
    free(r.body);
    r = ask(NULL, "GET", "/api/indicators", PAIRS("year", "2026"), NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
}

/* The monthly report as the dashboard reads it: the review of the
 * county's latest version with its comment and reviewer, and the moved
 * deadline it was judged against. */
static void test_review_and_deadline(void **state)
{
    (void)state;
    reply r = ask(NULL, "GET", "/api/monthly", PAIRS("period", "2025-10"), NULL);
    assert_int_equal(r.status, 200);
    json_t *doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(doc, "deadline")),
                        "2025-11-30T23:59:59+08:00");
    assert_true(json_is_true(json_object_get(doc, "deadline_moved")));
    json_t *row = json_array_get(json_object_get(doc, "rows"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "county")), COUNTY);
    /* filed on the 25th: late by the default deadline, on time by the moved one */
    assert_string_equal(json_string_value(json_object_get(row, "status")), "on_time");
    assert_string_equal(json_string_value(json_object_get(row, "review")), "returned");
    assert_string_equal(json_string_value(json_object_get(row, "review_comment")), COMMENT);
    assert_string_equal(json_string_value(json_object_get(row, "reviewer")), "王科长");
    assert_true(json_is_string(json_object_get(row, "reviewed_at")));
    json_decref(doc);
    /* another period: the default deadline, not moved; the county missing */
    r = ask(NULL, "GET", "/api/monthly", PAIRS("period", "2025-09"), NULL);
    assert_int_equal(r.status, 200);
    doc = json_loads(r.body, 0, NULL);
    assert_non_null(doc);
    free(r.body);
    assert_string_equal(json_string_value(json_object_get(doc, "deadline")),
                        "2025-10-05T23:59:59+08:00");
    assert_true(json_is_false(json_object_get(doc, "deadline_moved")));
    row = json_array_get(json_object_get(doc, "rows"), 0);
    assert_true(json_is_null(json_object_get(row, "review")));
    json_decref(doc);
    /* the matrix judges 2025-10 against its moved deadline */
    r = ask(NULL, "GET", "/api/matrix", PAIRS("from", "2025-09", "to", "2025-10"), NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"2025-09\": \"missing\",\n      \"2025-10\": \"on_time\""));
    free(r.body);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    expect_error(ask(NULL, "GET", "/api/monthly", PAIRS("period", "2026-13"), NULL), 400,
                 "period: must be YYYY-MM");
    expect_error(ask(NULL, "GET", "/api/monthly", NULL, NULL), 400, "period: missing");
    expect_error(ask(NULL, "GET", "/api/matrix", PAIRS("from", "2026-10", "to", "2026-01"), NULL),
                 400, "to: must be from 'from' to 239 months after it");
    expect_error(ask(NULL, "GET", "/api/accidents", PAIRS("from", "2026-10-01", "to", "nope"),
                     NULL),
                 400, "to: must be YYYY-MM-DD");
    /* the first problem only */
    expect_error(ask(NULL, "GET", "/api/accidents", NULL, NULL), 400, "from: missing");
    expect_error(ask(NULL, "GET", "/api/indicators", PAIRS("year", "1999"), NULL), 400,
                 "year: must be a year YYYY from 2000 to now");
    expect_error(ask(NULL, "GET", "/api/indicators", PAIRS("year", "9999"), NULL), 400,
                 "year: must be a year YYYY from 2000 to now");
}

static void test_accident_address(void **state)
{
    (void)state;
    expect_error(ask(NULL, "GET", "/api/accidents/XX bad", NULL, NULL), 400,
                 "accident id: must be 1 to 64 of A-Z a-z 0-9 _ -");
    expect_error(ask(NULL, "GET", "/api/accidents/222401/bad id", NULL, NULL), 400,
                 "accident id: must be 1 to 64 of A-Z a-z 0-9 _ -");
    expect_error(ask(NULL, "GET", "/api/accidents/2224x1/XX", NULL, NULL), 400,
                 "county: must be a 6-digit county code");
    expect_error(ask(NULL, "GET", "/api/accidents/XX", PAIRS("county", "22240"), NULL), 400,
                 "county: must be a 6-digit county code");
    /* well formed, not stored */
    expect_error(ask(NULL, "GET", "/api/accidents/XX", NULL, NULL), 404, "no such accident");
    expect_error(ask(NULL, "GET", "/api/accidents/222401/XX", NULL, NULL), 404,
                 "no such accident");
}

static void test_unknown_paths(void **state)
{
    (void)state;
    expect_error(ask(NULL, "GET", "/api/nothing", NULL, NULL), 404, "no such path");
    expect_error(ask(NULL, "GET", "/etc/passwd", NULL, NULL), 404, "no such path");
    expect_error(ask(NULL, "GET", "/api/accidents/222401/XX/y", NULL, NULL), 404, "no such path");
    expect_error(ask(NULL, "GET", "/api/accidents/", NULL, NULL), 404, "no such path");
    expect_error(ask(NULL, "GET", "/api/monthly/2026-10", NULL, NULL), 404, "no such path");
    /* the dashboard itself */
    reply r = ask(NULL, "GET", "/", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.type, "text/html; charset=utf-8");
    free(r.body);
}

static void test_methods(void **state)
{
    (void)state;
    expect_error(ask(NULL, "POST", "/api/status", NULL, NULL), 405,
                 "method not allowed: GET or HEAD only");
    expect_error(ask(NULL, "DELETE", "/", NULL, NULL), 405, "method not allowed: GET or HEAD only");
}

static void test_token(void **state)
{
    (void)state;
    static const char unauth[] = "token required: Authorization: Bearer TOKEN or ?token=";
    expect_error(ask("s3cret", "GET", "/api/status", NULL, NULL), 401, unauth);
    expect_error(ask("s3cret", "GET", "/api/status", NULL, "Bearer wrong"), 401, unauth);
    expect_error(ask("s3cret", "GET", "/api/status", NULL, "Bearer s3cre"), 401, unauth);
    expect_error(ask("s3cret", "GET", "/api/status", PAIRS("token", "s3cret!"), NULL), 401,
                 unauth);
    /* the token guards /api/ before the parameters are looked at */
    expect_error(ask("s3cret", "GET", "/api/monthly", PAIRS("period", "2026-13"), NULL), 401,
                 unauth);
    reply r = ask("s3cret", "GET", "/api/status", NULL, "Bearer s3cret");
    assert_int_equal(r.status, 200);
    free(r.body);
    r = ask("s3cret", "GET", "/api/status", NULL, "bearer s3cret"); /* any case (RFC 7235) */
    assert_int_equal(r.status, 200);
    free(r.body);
    r = ask("s3cret", "GET", "/api/status", PAIRS("token", "s3cret"), NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* the static files hold no data: no token needed */
    r = ask("s3cret", "GET", "/", NULL, NULL);
    assert_int_equal(r.status, 200);
    free(r.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status),         cmocka_unit_test(test_reports),
        cmocka_unit_test(test_review_and_deadline),
        cmocka_unit_test(test_bad_parameters), cmocka_unit_test(test_accident_address),
        cmocka_unit_test(test_unknown_paths),  cmocka_unit_test(test_methods),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
