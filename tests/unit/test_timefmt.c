/*
 * test_timefmt.c - RFC 3339 parse/format, periods and the monthly deadline.
 * Every expected Unix time below was computed independently (GNU date and
 * Python's datetime) and is hard-coded, never derived from the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "timefmt.h"

/* Parse s, which must succeed, and check the result. */
static void expect_time(const char *s, int64_t unix_s, int32_t offset_min)
{
    int64_t t = 0;
    int32_t off = -9999;
    assert_int_equal(zb_time_parse(s, &t, &off), 0);
    assert_int_equal(t, unix_s);
    assert_int_equal(off, offset_min);
}

static void expect_bad_time(const char *s)
{
    int64_t t = 12345;
    int32_t off = 777;
    assert_int_equal(zb_time_parse(s, &t, &off), ZB_EINVAL);
    assert_int_equal(t, 12345); /* outputs untouched on failure */
    assert_int_equal(off, 777);
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(zb_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(zb_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(zb_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(zb_days_from_civil(1900, 3, 1), -25508);
    assert_int_equal(zb_days_from_civil(1600, 2, 29), -135081);
    assert_int_equal(zb_days_from_civil(1, 1, 1), -719162);
    assert_int_equal(zb_days_from_civil(0, 3, 1), -719468);
    assert_int_equal(zb_days_from_civil(2026, 10, 14), 20740);
    assert_int_equal(zb_days_from_civil(9999, 12, 31), 2932896);
}

static void test_parse_offsets(void **state)
{
    (void)state;
    expect_time("2026-10-14T08:30:00+08:00", 1791937800, 480);
    expect_time("2026-10-14T00:30:00Z", 1791937800, 0); /* same instant */
    expect_time("2026-10-14T00:30:00z", 1791937800, 0);
    expect_time("2026-10-14T00:00:00Z", 1791936000, 0);
    expect_time("2026-10-14T08:30:00-05:30", 1791986400, -330);
    expect_time("2026-10-14T08:30:00+05:45", 1791945900, 345);
    expect_time("2026-10-14T08:30:00-00:00", 1791966600, 0);
    expect_time("2026-10-14T23:59:59+23:59", 1791936059, 1439);
    expect_time("2026-10-14T00:00:00-23:59", 1792022340, -1439);
    /* No offset: the prefecture's +08:00. */
    expect_time("2026-10-14T08:30:00", 1791937800, 480);
    /* 't' and ' ' for 'T'. */
    expect_time("2026-10-14t08:30:00+08:00", 1791937800, 480);
    expect_time("2026-10-14 08:30:00+08:00", 1791937800, 480);
    /* Epoch edges: 1970-01-01 at +08:00 is before the Unix epoch. */
    expect_time("1970-01-01T08:00:00+08:00", 0, 480);
    expect_time("1970-01-01T00:00:00+08:00", -28800, 480);
    expect_time("9999-12-31T23:59:59Z", 253402300799, 0);
}

static void test_parse_fraction_and_leap(void **state)
{
    (void)state;
    expect_time("2026-10-14T08:30:00.999+08:00", 1791937800, 480); /* truncated */
    expect_time("2026-10-14T08:30:00.5Z", 1791966600, 0);
    expect_time("2026-10-14T08:30:00.123456789", 1791937800, 480);
    expect_bad_time("2026-10-14T08:30:00.Z");
    expect_bad_time("2026-10-14T08:30:00.");
    expect_bad_time("2026-10-14T08:30:00.5x");
    /* Leap second folded to :59. */
    expect_time("2016-12-31T23:59:60Z", 1483228799, 0);
    expect_bad_time("2016-12-31T23:59:61Z");
    /* Leap days. */
    expect_time("2024-02-29T12:00:00Z", 1709208000, 0);
    expect_time("2024-02-29T00:00:00+08:00", 1709136000, 480);
    expect_time("2000-02-29T00:00:00+08:00", 951753600, 480); /* 400-year rule */
    expect_bad_time("2026-02-29T00:00:00+08:00");
    expect_bad_time("2100-02-29T00:00:00+08:00"); /* 100-year rule */
    expect_bad_time("2024-02-30T00:00:00+08:00");
    expect_bad_time("2026-04-31T00:00:00+08:00");
}

static void test_parse_rejects(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(zb_time_parse(NULL, &t, NULL), ZB_EINVAL);
    assert_int_equal(zb_time_parse("2026-10-14T08:30:00Z", NULL, NULL), ZB_EINVAL);
    /* offset_min_out is optional. */
    assert_int_equal(zb_time_parse("2026-10-14T08:30:00Z", &t, NULL), 0);
    assert_int_equal(t, 1791966600);

    expect_bad_time("");
    expect_bad_time("2026-10-14");
    expect_bad_time("2026-10-14T08:30");
    expect_bad_time("2026-10-14T08:30:00+08:00 ");      /* trailing garbage */
    expect_bad_time("2026-10-14T08:30:00+08:00x");
    expect_bad_time("2026-10-14T08:30:00Zx");
    expect_bad_time("2026-10-14T08:30:00 ");
    expect_bad_time("2026-10-14T08:30:00+0800");         /* wrong widths */
    expect_bad_time("2026-10-14T08:30:00+08");
    expect_bad_time("2026-10-14T08:30:00+8:00");
    expect_bad_time("2026-10-14T8:30:00+08:00");
    expect_bad_time("2026-10-4T08:30:00+08:00");
    expect_bad_time("26-10-14T08:30:00+08:00");
    expect_bad_time("20261-10-14T08:30:00+08:00");
    expect_bad_time("2026/10/14T08:30:00+08:00");
    expect_bad_time("2026-10-14X08:30:00+08:00");
    expect_bad_time("2026-13-01T00:00:00+08:00");        /* ranges */
    expect_bad_time("2026-00-01T00:00:00+08:00");
    expect_bad_time("2026-10-00T00:00:00+08:00");
    expect_bad_time("2026-10-32T00:00:00+08:00");
    expect_bad_time("2026-10-14T24:00:00+08:00");
    expect_bad_time("2026-10-14T23:60:00+08:00");
    expect_bad_time("2026-10-14T08:30:00+24:00");        /* offsets beyond 23:59 */
    expect_bad_time("2026-10-14T08:30:00-24:00");
    expect_bad_time("2026-10-14T08:30:00+08:60");
    expect_bad_time("1969-12-31T23:59:59Z");             /* years 1970..9999 */
    expect_bad_time("+2026-10-14T08:30:00Z");
    expect_bad_time("-026-10-14T08:30:00Z");
    expect_bad_time("2026-1a-14T08:30:00Z");
}

static void test_date_parse(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(zb_date_parse("2026-10-14", &t), 0);
    assert_int_equal(t, 1791907200); /* 2026-10-13T16:00:00Z */
    assert_int_equal(zb_date_parse("2024-02-29", &t), 0);
    assert_int_equal(t, 1709136000);
    assert_int_equal(zb_date_parse("2026-02-29", &t), ZB_EINVAL);
    assert_int_equal(zb_date_parse("2026-10-14T00:00:00", &t), ZB_EINVAL);
    assert_int_equal(zb_date_parse("2026-10-1", &t), ZB_EINVAL);
    assert_int_equal(zb_date_parse("", &t), ZB_EINVAL);
    assert_int_equal(zb_date_parse(NULL, &t), ZB_EINVAL);
    assert_int_equal(zb_date_parse("2026-10-14", NULL), ZB_EINVAL);
}

static void test_format(void **state)
{
    (void)state;
    char buf[26];
    assert_int_equal(zb_time_format(1791937800, 480, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-10-14T08:30:00+08:00");
    assert_int_equal(zb_time_format(1791937800, 0, 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-10-14T00:30:00Z");
    assert_int_equal(zb_time_format(1791937800, 0, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-10-14T00:30:00+00:00");
    assert_int_equal(zb_time_format(1791937800, 480, 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-10-14T08:30:00+08:00"); /* use_z only for offset 0 */
    assert_int_equal(zb_time_format(1791937800, -240, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-10-13T20:30:00-04:00");
    assert_int_equal(zb_time_format(1791986400, -330, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-10-14T08:30:00-05:30");
    assert_int_equal(zb_time_format(0, -300, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "1969-12-31T19:00:00-05:00"); /* negative local day */
    assert_int_equal(zb_time_format(-28800, 480, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00+08:00");
    assert_int_equal(zb_time_format(1709136000, 480, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "2024-02-29T00:00:00+08:00");

    char small[25];
    assert_int_equal(zb_time_format(1791937800, 480, 0, small, sizeof small), ZB_EINVAL);
    assert_int_equal(zb_time_format(1791937800, 480, 0, NULL, 26), ZB_EINVAL);
    assert_int_equal(zb_time_format(1791937800, 1440, 0, buf, sizeof buf), ZB_EINVAL);
    assert_int_equal(zb_time_format(1791937800, -1440, 0, buf, sizeof buf), ZB_EINVAL);
    assert_int_equal(zb_time_format(253402300800, 0, 1, buf, sizeof buf), ZB_EINVAL);
    assert_int_equal(zb_time_format(INT64_MAX, 480, 0, buf, sizeof buf), ZB_EINVAL);
    assert_int_equal(zb_time_format(INT64_MIN, -480, 0, buf, sizeof buf), ZB_EINVAL);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "2026-10-14T08:30:00+08:00", "2026-10-14T00:30:00Z",      "2026-10-14T08:30:00-05:30",
        "2024-02-29T23:59:59+08:00", "2026-12-31T23:59:59+08:00", "1970-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59Z",      "2026-11-05T23:59:59+08:00", "2000-02-29T12:34:56-23:59",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        int64_t t;
        int32_t off;
        char buf[32];
        assert_int_equal(zb_time_parse(inputs[i], &t, &off), 0);
        assert_int_equal(zb_time_format(t, off, 1, buf, sizeof buf), 0);
        assert_string_equal(buf, inputs[i]);
    }
}

static void test_period_parse_format(void **state)
{
    (void)state;
    int y = 0, m = 0;
    char buf[8];
    assert_int_equal(zb_period_parse("2026-10", &y, &m), 0);
    assert_int_equal(y, 2026);
    assert_int_equal(m, 10);
    assert_int_equal(zb_period_parse("1970-01", &y, &m), 0);
    assert_int_equal(zb_period_parse("9999-12", &y, &m), 0);
    assert_int_equal(zb_period_parse("2026-13", &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse("2026-00", &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse("2026-1", &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse("2026-10-01", &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse("2026-10 ", &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse("1969-12", &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse("", &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse(NULL, &y, &m), ZB_EINVAL);
    assert_int_equal(zb_period_parse("2026-10", NULL, &m), ZB_EINVAL);

    assert_int_equal(zb_period_format(2026, 10, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-10");
    assert_int_equal(zb_period_format(2027, 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "2027-01");
    assert_int_equal(zb_period_format(2026, 13, buf, sizeof buf), ZB_EINVAL);
    assert_int_equal(zb_period_format(2026, 0, buf, sizeof buf), ZB_EINVAL);
    assert_int_equal(zb_period_format(10000, 1, buf, sizeof buf), ZB_EINVAL);
    assert_int_equal(zb_period_format(2026, 10, buf, 7), ZB_EINVAL);
    assert_int_equal(zb_period_format(2026, 10, NULL, 8), ZB_EINVAL);

    assert_int_equal(zb_period_ordinal(2026, 10), 2026 * 12 + 9);
    assert_int_equal(zb_period_ordinal(2027, 1) - zb_period_ordinal(2026, 12), 1);
}

static void test_deadline(void **state)
{
    (void)state;
    int64_t t;
    /* 2026-10 is due by 2026-11-05T23:59:59+08:00 == 2026-11-05T15:59:59Z. */
    assert_int_equal(zb_period_deadline(2026, 10), 1793894399);
    assert_int_equal(zb_time_parse("2026-11-05T23:59:59+08:00", &t, NULL), 0);
    assert_true(t <= zb_period_deadline(2026, 10));
    assert_int_equal(zb_time_parse("2026-11-05T15:59:59Z", &t, NULL), 0);
    assert_true(t <= zb_period_deadline(2026, 10));
    assert_int_equal(zb_time_parse("2026-11-05T23:59:59.999+08:00", &t, NULL), 0);
    assert_true(t <= zb_period_deadline(2026, 10));
    assert_int_equal(zb_time_parse("2026-11-06T00:00:00+08:00", &t, NULL), 0);
    assert_true(t > zb_period_deadline(2026, 10));
    assert_int_equal(zb_time_parse("2026-11-05T16:00:00Z", &t, NULL), 0);
    assert_true(t > zb_period_deadline(2026, 10));
    /* The same wall time in a western zone is later, hence late. */
    assert_int_equal(zb_time_parse("2026-11-05T23:59:59-05:00", &t, NULL), 0);
    assert_true(t > zb_period_deadline(2026, 10));

    /* December -> January 5th of the next year. */
    assert_int_equal(zb_period_deadline(2026, 12), 1799164799); /* 2027-01-05T23:59:59+08:00 */
    assert_int_equal(zb_period_deadline(2025, 12), 1767628799); /* 2026-01-05T23:59:59+08:00 */
    /* January -> February; across a leap February nothing special. */
    assert_int_equal(zb_period_deadline(2024, 2), 1709654399); /* 2024-03-05T23:59:59+08:00 */
}

static void test_period_bounds(void **state)
{
    (void)state;
    int64_t start = 0, end = 0;
    zb_period_bounds(2026, 10, &start, &end);
    assert_int_equal(start, 1790784000); /* 2026-10-01T00:00:00+08:00 */
    assert_int_equal(end, 1793462400);   /* 2026-11-01T00:00:00+08:00 */
    zb_period_bounds(2026, 12, &start, &end);
    assert_int_equal(start, 1796054400); /* 2026-12-01T00:00:00+08:00 */
    assert_int_equal(end, 1798732800);   /* 2027-01-01T00:00:00+08:00 */
    zb_period_bounds(2024, 2, &start, &end);
    assert_int_equal(start, 1706716800); /* 2024-02-01T00:00:00+08:00 */
    assert_int_equal(end, 1709222400);   /* 2024-03-01T00:00:00+08:00 */
    zb_period_bounds(2026, 1, &start, NULL);
    assert_int_equal(start, 1767196800); /* 2026-01-01T00:00:00+08:00 */
}

static void expect_period(int64_t t, int year, int month)
{
    int y = 0, m = 0;
    zb_period_of(t, &y, &m);
    assert_int_equal(y, year);
    assert_int_equal(m, month);
}

static void test_period_of(void **state)
{
    (void)state;
    expect_period(1793462399, 2026, 10); /* 2026-10-31T15:59:59Z = 23:59:59+08:00 */
    expect_period(1793462400, 2026, 11); /* 2026-10-31T16:00:00Z = 11-01T00:00+08:00 */
    expect_period(1790784000, 2026, 10); /* 2026-10-01T00:00:00+08:00 */
    expect_period(1790783999, 2026, 9);
    expect_period(1798732799, 2026, 12); /* 2026-12-31T23:59:59+08:00 */
    expect_period(1798732800, 2027, 1);  /* 2026-12-31T16:00:00Z */
    expect_period(1709136000, 2024, 2);  /* 2024-02-29T00:00:00+08:00 */
    expect_period(0, 1970, 1);
    expect_period(-28800, 1970, 1);      /* 1970-01-01T00:00:00+08:00 */
    expect_period(-28801, 1969, 12);     /* floor division before the epoch */
    expect_period(INT64_MAX, 9999, 12);  /* clamped, no overflow */
    expect_period(INT64_MIN, 0, 1);

    /* period_of and period_bounds agree. */
    int64_t start, end;
    zb_period_bounds(2026, 11, &start, &end);
    expect_period(start, 2026, 11);
    expect_period(end - 1, 2026, 11);
    expect_period(end, 2026, 12);
}

/* zb_json_time_at: zb_time_format's string, or JSON null out of range;
 * zb_json_time: at +08:00. */
static void expect_json_time(json_t *j, const char *want)
{
    assert_non_null(j);
    if (want) {
        assert_true(json_is_string(j));
        assert_string_equal(json_string_value(j), want);
    } else {
        assert_true(json_is_null(j));
    }
    json_decref(j);
}

static void test_json_time(void **state)
{
    (void)state;
    expect_json_time(zb_json_time(1791937800), "2026-10-14T08:30:00+08:00");
    expect_json_time(zb_json_time_at(1791937800, 480), "2026-10-14T08:30:00+08:00");
    expect_json_time(zb_json_time_at(1791937800, 0), "2026-10-14T00:30:00+00:00"); /* never Z */
    expect_json_time(zb_json_time_at(1791937800, -240), "2026-10-13T20:30:00-04:00");
    expect_json_time(zb_json_time(INT64_MAX), NULL);
    expect_json_time(zb_json_time_at(1791937800, 1440), NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_fraction_and_leap),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_period_parse_format),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_period_bounds),
        cmocka_unit_test(test_period_of),
        cmocka_unit_test(test_json_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
