/*
 * test_query.c - the one parser of report queries (query.h), as the CLI
 * and the API call it: every kind good, missing, malformed and out of
 * range; the matrix at 240 and 241 periods; the indicators' year at the
 * +08:00 year boundary and in the future; a bad format stopping the
 * check; and each problem's exact wording in both dialects (scripts and
 * the dashboard read them, so they are pinned byte for byte).
 *
 * Expected Unix times were computed independently (Python's datetime).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "query.h"
#include "report.h"

#define NOW_2026 1791937800        /* 2026-10-14T08:30:00+08:00 */
#define JAN1_2027 1798732800       /* 2027-01-01T00:00:00+08:00 */
#define OCT1_2026 1790784000       /* 2026-10-01T00:00:00+08:00 */
#define OCT31_2026 1793376000      /* 2026-10-31T00:00:00+08:00 */
#define NOV1_2026 1793462400       /* 2026-11-01T00:00:00+08:00 */

/* Parameters as name=value pairs, NULL-terminated. */
typedef struct {
    const char *const *pairs;
} params;

static const char *lookup(void *ctx, const char *name)
{
    const params *p = ctx;
    for (size_t i = 0; p->pairs[i]; i += 2)
        if (strcmp(p->pairs[i], name) == 0)
            return p->pairs[i + 1];
    return NULL;
}

/* Parse kind with the given pairs in dialect d at now; the problems
 * joined by '\n' into text (empty when none). Returns the parser's code. */
static int parse(const char *kind, zb_query_dialect d, int64_t now, zb_query *q, char *text,
                 size_t len, const char *const *pairs)
{
    params p = {pairs};
    zb_problems pr = {0};
    int rc = zb_query_parse(kind, lookup, &p, d, now, q, &pr);
    text[0] = '\0';
    for (size_t i = 0; i < pr.n; i++) {
        if (i)
            strncat(text, "\n", len - strlen(text) - 1);
        strncat(text, pr.lines[i], len - strlen(text) - 1);
    }
    assert_true(rc == ZB_OK ? pr.n == 0 : pr.n >= 1);
    zb_problems_free(&pr);
    return rc;
}

#define PAIRS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

/* One failing query: the code and the exact problem text. */
static void expect_problem(const char *kind, zb_query_dialect d, int64_t now,
                           const char *const *pairs, const char *want)
{
    zb_query q;
    char text[1024];
    assert_int_equal(parse(kind, d, now, &q, text, sizeof text, pairs), ZB_EVALIDATION);
    assert_string_equal(text, want);
    /* nothing half-filled */
    assert_int_equal(q.year, 0);
    assert_int_equal(q.from, 0);
}

/* ------------------------------------------------------------ monthly */

static void test_monthly(void **state)
{
    (void)state;
    zb_query q;
    char text[1024];
    assert_int_equal(parse("monthly", ZB_QUERY_CLI, NOW_2026, &q, text, sizeof text,
                           PAIRS("period", "2026-10")),
                     ZB_OK);
    assert_int_equal(q.kind, ZB_QUERY_MONTHLY);
    assert_int_equal(q.year, 2026);
    assert_int_equal(q.month, 10);
    assert_int_equal(q.format, ZB_FORMAT_TABLE);
    assert_string_equal(zb_query_kind_name(q.kind), "monthly");
    /* a period in the future is a report that is not due yet, not an error */
    assert_int_equal(parse("monthly", ZB_QUERY_API, NOW_2026, &q, text, sizeof text,
                           PAIRS("period", "2030-01")),
                     ZB_OK);
    assert_int_equal(q.format, ZB_FORMAT_JSON);

    expect_problem("monthly", ZB_QUERY_CLI, NOW_2026, NONE,
                   "--period: missing (YYYY-MM, e.g. 2026-10)");
    expect_problem("monthly", ZB_QUERY_API, NOW_2026, NONE, "period: missing");
    static const char *const bad[] = {"2026-13", "2026-00", "26-10", "2026-1", "2026-10-01",
                                      "",        "abcd-ef", "1969-12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_problem("monthly", ZB_QUERY_CLI, NOW_2026, PAIRS("period", bad[i]),
                       "--period: must be YYYY-MM (YYYY-MM, e.g. 2026-10)");
        expect_problem("monthly", ZB_QUERY_API, NOW_2026, PAIRS("period", bad[i]),
                       "period: must be YYYY-MM");
    }
}

/* ------------------------------------------------------------ accidents */

static void test_accidents(void **state)
{
    (void)state;
    zb_query q;
    char text[1024];
    assert_int_equal(parse("accidents", ZB_QUERY_CLI, NOW_2026, &q, text, sizeof text,
                           PAIRS("from", "2026-10-01", "to", "2026-10-31")),
                     ZB_OK);
    assert_int_equal(q.kind, ZB_QUERY_ACCIDENTS);
    assert_int_equal(q.from, OCT1_2026);
    assert_int_equal(q.to_end, NOV1_2026); /* to is inclusive */
    assert_string_equal(q.from_s, "2026-10-01");
    assert_string_equal(q.to_s, "2026-10-31");
    /* one day */
    assert_int_equal(parse("accidents", ZB_QUERY_API, NOW_2026, &q, text, sizeof text,
                           PAIRS("from", "2026-10-31", "to", "2026-10-31")),
                     ZB_OK);
    assert_int_equal(q.from, OCT31_2026);
    assert_int_equal(q.to_end, NOV1_2026);

    expect_problem("accidents", ZB_QUERY_CLI, NOW_2026, NONE, "--from: missing\n--to: missing");
    expect_problem("accidents", ZB_QUERY_API, NOW_2026, NONE, "from: missing\nto: missing");
    expect_problem("accidents", ZB_QUERY_CLI, NOW_2026, PAIRS("from", "2026-10-01"),
                   "--to: missing");
    expect_problem("accidents", ZB_QUERY_CLI, NOW_2026, PAIRS("from", "x", "to", "2026-02-30"),
                   "--from: must be YYYY-MM-DD\n--to: must be YYYY-MM-DD");
    expect_problem("accidents", ZB_QUERY_API, NOW_2026, PAIRS("from", "2026-10", "to", "nope"),
                   "from: must be YYYY-MM-DD\nto: must be YYYY-MM-DD");
    expect_problem("accidents", ZB_QUERY_CLI, NOW_2026,
                   PAIRS("from", "2026-10-02", "to", "2026-10-01"),
                   "--to: must not be before --from");
    expect_problem("accidents", ZB_QUERY_API, NOW_2026,
                   PAIRS("from", "2026-10-02", "to", "2026-10-01"), "to: must not be before from");
}

/* ------------------------------------------------------------ matrix */

static void test_matrix(void **state)
{
    (void)state;
    zb_query q;
    char text[1024];
    assert_int_equal(parse("matrix", ZB_QUERY_CLI, NOW_2026, &q, text, sizeof text,
                           PAIRS("from", "2025-11", "to", "2026-02", "format", "csv")),
                     ZB_OK);
    assert_int_equal(q.kind, ZB_QUERY_MATRIX);
    assert_int_equal(q.format, ZB_FORMAT_CSV);
    assert_int_equal(q.year, 2025);
    assert_int_equal(q.month, 11);
    assert_int_equal(q.to_year, 2026);
    assert_int_equal(q.to_month, 2);
    assert_string_equal(q.from_s, "2025-11");
    assert_string_equal(q.to_s, "2026-02");
    /* one period, and the most: 240 (20 years) */
    assert_int_equal(parse("matrix", ZB_QUERY_API, NOW_2026, &q, text, sizeof text,
                           PAIRS("from", "2026-10", "to", "2026-10")),
                     ZB_OK);
    assert_int_equal(parse("matrix", ZB_QUERY_API, NOW_2026, &q, text, sizeof text,
                           PAIRS("from", "2006-01", "to", "2025-12")),
                     ZB_OK);
    assert_int_equal(ZB_MATRIX_MAX_PERIODS, 240);

    /* 241 periods, and a range that runs backwards */
    expect_problem("matrix", ZB_QUERY_CLI, NOW_2026, PAIRS("from", "2006-01", "to", "2026-01"),
                   "--to: must be from --from to 239 months after it");
    expect_problem("matrix", ZB_QUERY_API, NOW_2026, PAIRS("from", "2006-01", "to", "2026-01"),
                   "to: must be from 'from' to 239 months after it");
    expect_problem("matrix", ZB_QUERY_CLI, NOW_2026, PAIRS("from", "2026-02", "to", "2026-01"),
                   "--to: must be from --from to 239 months after it");
    expect_problem("matrix", ZB_QUERY_CLI, NOW_2026, NONE, "--from: missing\n--to: missing");
    expect_problem("matrix", ZB_QUERY_API, NOW_2026, PAIRS("from", "2026-01"), "to: missing");
    /* a malformed bound: no range problem on top */
    expect_problem("matrix", ZB_QUERY_CLI, NOW_2026, PAIRS("from", "2026-01-01", "to", "2026-13"),
                   "--from: must be YYYY-MM\n--to: must be YYYY-MM");
    expect_problem("matrix", ZB_QUERY_API, NOW_2026, PAIRS("from", "x", "to", "2026-01"),
                   "from: must be YYYY-MM");
}

/* ------------------------------------------------------------ indicators */

static void test_indicators(void **state)
{
    (void)state;
    zb_query q;
    char text[1024];
    assert_int_equal(parse("indicators", ZB_QUERY_CLI, NOW_2026, &q, text, sizeof text,
                           PAIRS("year", "2026")),
                     ZB_OK);
    assert_int_equal(q.kind, ZB_QUERY_INDICATORS);
    assert_int_equal(q.year, 2026);
    assert_int_equal(q.month, 0);
    assert_int_equal(parse("indicators", ZB_QUERY_API, NOW_2026, &q, text, sizeof text,
                           PAIRS("year", "2000")),
                     ZB_OK);
    assert_int_equal(q.year, 2000);

    /* the current year is the one at +08:00: 2027 starts at 16:00 UTC */
    expect_problem("indicators", ZB_QUERY_CLI, JAN1_2027 - 1, PAIRS("year", "2027"),
                   "--year: must be a year YYYY from 2000 to 2026");
    assert_int_equal(parse("indicators", ZB_QUERY_CLI, JAN1_2027, &q, text, sizeof text,
                           PAIRS("year", "2027")),
                     ZB_OK);

    /* in the future, before the first, not four digits */
    static const char *const bad[] = {"2027", "9999", "1999", "0000", "20x6",
                                      "02026", " 2026", "+202", "",     "2026 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_problem("indicators", ZB_QUERY_CLI, NOW_2026, PAIRS("year", bad[i]),
                       "--year: must be a year YYYY from 2000 to 2026");
        expect_problem("indicators", ZB_QUERY_API, NOW_2026, PAIRS("year", bad[i]),
                       "year: must be a year YYYY from 2000 to now");
    }
    expect_problem("indicators", ZB_QUERY_CLI, NOW_2026, NONE,
                   "--year: missing (YYYY, e.g. 2026)");
    expect_problem("indicators", ZB_QUERY_API, NOW_2026, NONE, "year: missing");
}

/* ------------------------------------------------------------ format and kind */

static void test_format_and_kind(void **state)
{
    (void)state;
    zb_query q;
    char text[1024];
    assert_int_equal(parse("monthly", ZB_QUERY_CLI, NOW_2026, &q, text, sizeof text,
                           PAIRS("period", "2026-10", "format", "json")),
                     ZB_OK);
    assert_int_equal(q.format, ZB_FORMAT_JSON);
    assert_int_equal(parse("monthly", ZB_QUERY_CLI, NOW_2026, &q, text, sizeof text,
                           PAIRS("period", "2026-10", "format", "table")),
                     ZB_OK);
    assert_int_equal(q.format, ZB_FORMAT_TABLE);
    /* a bad format is the only problem reported, whatever else is wrong */
    expect_problem("monthly", ZB_QUERY_CLI, NOW_2026, PAIRS("format", "xml"),
                   "--format: must be table, csv, json or xlsx");
    expect_problem("bogus", ZB_QUERY_CLI, NOW_2026, PAIRS("format", ""),
                   "--format: must be table, csv, json or xlsx");
    /* the API answers JSON: it does not read a format parameter */
    assert_int_equal(parse("monthly", ZB_QUERY_API, NOW_2026, &q, text, sizeof text,
                           PAIRS("period", "2026-10", "format", "xml")),
                     ZB_OK);
    assert_int_equal(q.format, ZB_FORMAT_JSON);

    expect_problem(NULL, ZB_QUERY_CLI, NOW_2026, NONE,
                   "report: missing report kind (monthly, accidents, matrix or indicators)");
    expect_problem("", ZB_QUERY_CLI, NOW_2026, NONE,
                   "report: missing report kind (monthly, accidents, matrix or indicators)");
    expect_problem("Monthly", ZB_QUERY_CLI, NOW_2026, PAIRS("period", "2026-10"),
                   "report: unknown report (monthly, accidents, matrix or indicators)");

    /* no lookup at all: every parameter absent */
    zb_problems pr = {0};
    assert_int_equal(zb_query_parse("indicators", NULL, NULL, ZB_QUERY_API, NOW_2026, &q, &pr),
                     ZB_EVALIDATION);
    assert_int_equal(pr.n, 1);
    assert_string_equal(pr.lines[0], "year: missing");
    zb_problems_free(&pr);

    assert_string_equal(zb_query_kind_name(ZB_QUERY_ACCIDENTS), "accidents");
    assert_string_equal(zb_query_kind_name(ZB_QUERY_MATRIX), "matrix");
    assert_string_equal(zb_query_kind_name(ZB_QUERY_INDICATORS), "indicators");
}

/* ------------------------------------------------------------ one accident */

static void expect_accident(const char *county, const char *id, const char *want)
{
    zb_problems pr = {0};
    int rc = zb_query_accident(county, id, &pr);
    if (!want) {
        assert_int_equal(rc, ZB_OK);
        assert_int_equal(pr.n, 0);
    } else {
        assert_int_equal(rc, ZB_EVALIDATION);
        assert_int_equal(pr.n, 1);
        assert_string_equal(pr.lines[0], want);
    }
    zb_problems_free(&pr);
}

static void test_accident_address(void **state)
{
    (void)state;
    static const char id_bad[] = "accident id: must be 1 to 64 of A-Z a-z 0-9 _ -";
    static const char county_bad[] = "county: must be a 6-digit county code";
    char id64[65], id65[66];
    memset(id64, 'a', 64);
    id64[64] = '\0';
    memset(id65, 'b', 65);
    id65[65] = '\0';
    expect_accident("222402", "B-OCT_1", NULL);
    expect_accident(NULL, "XSS-1", NULL);
    expect_accident(NULL, id64, NULL);
    expect_accident(NULL, id65, id_bad);
    expect_accident(NULL, "", id_bad);
    expect_accident("222402", "bad id", id_bad);
    expect_accident("222402", "a/b", id_bad);
    expect_accident("222402", "事故", id_bad);
    expect_accident("22240", "B-OCT", county_bad);
    expect_accident("2224x2", "B-OCT", county_bad);
    /* the county is checked first */
    expect_accident("2224020", "bad id", county_bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monthly),
        cmocka_unit_test(test_accidents),
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_indicators),
        cmocka_unit_test(test_format_and_kind),
        cmocka_unit_test(test_accident_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
