/*
 * test_rules.c - an accident's statistics (rules.h, zb_accident_stats_of) at
 * each rule's boundary: the 7/30-day window judged by as_of (day 7 vs 8, 30
 * vs 31), the missing counted as dead once the window closed, the highest
 * grade kept when the figures fall, revision 0's own clocks, corrected
 * times, follow-ups overdue at 24 h / 12 h, closing and write-off, and the
 * clock-trust flags; the road-accident story of issue 11 end to end; the
 * monthly clock flags and timeliness on an untrusted clock, and both against
 * a moved deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rules.h"
#include "timefmt.h"

/* 2026-10-14T08:30:00+08:00 */
#define T0 1791937800
#define HOUR 3600
#define DAY 86400

/* A construction accident at T0, notified 20 min later, initial report 30
 * min after that, received a minute later; 1 dead, 2 seriously injured. */
static zb_accident_rev rev0(void)
{
    zb_accident_rev r = {0};
    r.revision = 0;
    r.seq = 1;
    r.occurred_at = T0;
    r.county_notified_at = T0 + 20 * 60;
    r.created_at = T0 + 50 * 60;
    r.received_at = r.created_at + 60;
    r.as_of = r.created_at;
    r.industry = ZB__INDUSTRY__CONSTRUCTION;
    r.category = ZB__CATEGORY__OBJECT_STRIKE;
    r.stage = ZB__STAGE__INITIAL;
    r.deaths = 1;
    r.serious_injuries = 2;
    r.direct_loss_yuan = 100000;
    return r;
}

/* The next revision, filed and true at t. */
static zb_accident_rev next(const zb_accident_rev *p, int64_t t)
{
    zb_accident_rev r = *p;
    r.revision = p->revision + 1;
    r.seq = p->seq + 1;
    r.created_at = t;
    r.received_at = t > INT64_MAX - 60 ? INT64_MAX : t + 60;
    r.as_of = t;
    r.category = 0; /* later revisions inherit it */
    r.stage = ZB__STAGE__SUPPLEMENT;
    return r;
}

static zb_accident_stats stats(const zb_accident_rev *revs, size_t n, int64_t now)
{
    zb_accident_stats s;
    zb_accident_stats_of(revs, n, now, &s);
    return s;
}

static void test_flag_names(void **state)
{
    (void)state;
    static const char *const want[] = {"initial_report_late", "unit_notice_late",
                                       "times_corrected", "change_after_window",
                                       "supplement_overdue", "grade_rose",
                                       "created_after_received", "received_long_after_created",
                                       "created_before_previous"};
    for (unsigned i = 0; i < ZB_FLAG_COUNT; i++)
        assert_string_equal(zb_accident_flag_name(i), want[i]);
    assert_null(zb_accident_flag_name(ZB_FLAG_COUNT));
    assert_int_equal(zb_accident_stage_of(0, 0), ZB__STAGE__INITIAL);
    assert_int_equal(zb_accident_stage_of(3, 0), ZB__STAGE__SUPPLEMENT);
    assert_int_equal(zb_accident_stage_of(3, ZB__STAGE__CLOSING), ZB__STAGE__CLOSING);
}

/* Issue 11: a road accident, 3 dead on day 0, 4 on day 5, 10 on day 35:
 * 较大 with 4 counted; the day-35 change recorded, not counted. */
static void test_road_story(void **state)
{
    (void)state;
    zb_accident_rev r[3];
    r[0] = rev0();
    r[0].industry = ZB__INDUSTRY__ROAD_TRAFFIC;
    r[0].category = ZB__CATEGORY__VEHICLE_INJURY;
    r[0].deaths = 3;
    r[1] = next(&r[0], T0 + 5 * DAY);
    r[1].deaths = 4;
    r[2] = next(&r[1], T0 + 35 * DAY);
    r[2].deaths = 10;
    zb_accident_stats s = stats(r, 3, T0 + 40 * DAY);
    assert_int_equal(s.counted_deaths, 4);
    assert_int_equal(s.grade, ZB_GRADE_LARGER);
    assert_int_equal(s.max_grade, ZB_GRADE_LARGER);
    assert_string_equal(zb_grade_report_to(s.max_grade), "province");
    assert_true(s.flags & ZB_FLAG_CHANGE_AFTER_WINDOW);
    assert_true(s.flags & ZB_FLAG_GRADE_ROSE); /* as filed, 10 > 3 */
    assert_true(s.window_closed);
    assert_int_equal(s.window_end, T0 + 7 * DAY);
    assert_false(s.has_next_due); /* past the window */
    assert_false(s.flags & ZB_FLAG_SUPPLEMENT_OVERDUE);
    assert_false(s.excluded);
}

/* The window by as_of, both edges: day 7 counts, day 7 + 1 s does not
 * (road, fire by industry or by category); 30 days otherwise. */
static void test_window_edges(void **state)
{
    (void)state;
    struct {
        int industry, category, days;
    } cases[] = {{ZB__INDUSTRY__ROAD_TRAFFIC, 0, 7},
                 {ZB__INDUSTRY__FIRE, 0, 7},
                 {ZB__INDUSTRY__CONSTRUCTION, ZB__CATEGORY__CATEGORY_FIRE, 7},
                 {ZB__INDUSTRY__CONSTRUCTION, ZB__CATEGORY__COLLAPSE, 30},
                 {ZB__INDUSTRY__COAL_MINE, 0, 30}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zb_accident_rev r[2];
        r[0] = rev0();
        r[0].industry = cases[i].industry;
        r[0].category = cases[i].category;
        r[1] = next(&r[0], T0 + (int64_t)cases[i].days * DAY);
        r[1].deaths = 2;
        assert_int_equal(zb_accident_window_days(cases[i].industry, cases[i].category),
                         cases[i].days);
        zb_accident_stats s = stats(r, 2, T0 + 60 * DAY);
        assert_int_equal(s.counted_deaths, 2); /* on the last day: counted */
        assert_false(s.flags & ZB_FLAG_CHANGE_AFTER_WINDOW);
        r[1].as_of += 1;
        r[1].created_at += 1;
        s = stats(r, 2, T0 + 60 * DAY);
        assert_int_equal(s.counted_deaths, 1); /* one second later: recorded only */
        assert_true(s.flags & ZB_FLAG_CHANGE_AFTER_WINDOW);
        /* as_of decides, not when it was filed: filed late, true on day 3 */
        r[1].as_of = T0 + 3 * DAY;
        s = stats(r, 2, T0 + 60 * DAY);
        assert_int_equal(s.counted_deaths, 2);
        assert_false(s.flags & ZB_FLAG_CHANGE_AFTER_WINDOW);
    }
}

/* The missing: apart while the window is open, dead once it closed. */
static void test_missing_at_close(void **state)
{
    (void)state;
    zb_accident_rev r = rev0();
    r.deaths = 2;
    r.missing = 1;
    zb_accident_stats s = stats(&r, 1, T0 + 30 * DAY); /* the last second of the window */
    assert_false(s.window_closed);
    assert_int_equal(s.counted_deaths, 2);
    assert_int_equal(s.counted_missing, 1);
    assert_int_equal(s.grade, ZB_GRADE_LARGER); /* graded with the missing as dead */
    s = stats(&r, 1, T0 + 30 * DAY + 1);
    assert_true(s.window_closed);
    assert_int_equal(s.counted_deaths, 3);
    assert_int_equal(s.counted_missing, 0);
    assert_int_equal(s.grade, ZB_GRADE_LARGER);
}

/* The highest grade stays when the figures fall; the statistical grade
 * follows the counted figures. */
static void test_max_grade_falls(void **state)
{
    (void)state;
    zb_accident_rev r[2];
    r[0] = rev0();
    r[0].deaths = 3; /* larger */
    r[1] = next(&r[0], T0 + DAY);
    r[1].deaths = 2; /* one was not a death after all: general */
    zb_accident_stats s = stats(r, 2, T0 + DAY + HOUR);
    assert_int_equal(s.grade, ZB_GRADE_GENERAL);
    assert_int_equal(s.max_grade, ZB_GRADE_LARGER);
    assert_string_equal(zb_grade_report_to(s.max_grade), "province");
    assert_false(s.flags & ZB_FLAG_GRADE_ROSE);
    /* a revision past the window never raises the highest grade */
    r[1] = next(&r[0], T0 + 31 * DAY);
    r[1].deaths = 12;
    s = stats(r, 2, T0 + 32 * DAY);
    assert_int_equal(s.max_grade, ZB_GRADE_LARGER);
    assert_int_equal(s.grade, ZB_GRADE_LARGER);
}

/* Clocks on revision 0's own times; corrections are flagged, not re-judged. */
static void test_clocks_and_corrections(void **state)
{
    (void)state;
    zb_accident_rev r[2];
    r[0] = rev0();
    r[0].created_at = r[0].county_notified_at + 2 * HOUR; /* exactly 2 h: in time */
    r[0].as_of = r[0].created_at;
    r[0].received_at = r[0].created_at + 60;
    assert_int_equal(stats(r, 1, T0 + 3 * HOUR).flags, 0);
    r[0].created_at += 1;
    r[0].as_of += 1;
    assert_int_equal(stats(r, 1, T0 + 3 * HOUR).flags, ZB_FLAG_INITIAL_REPORT_LATE);
    /* a supplement that moves the notification later does not cure it */
    r[1] = next(&r[0], T0 + 4 * HOUR);
    r[1].county_notified_at = T0 + 2 * HOUR;
    unsigned f = stats(r, 2, T0 + 5 * HOUR).flags;
    assert_true(f & ZB_FLAG_INITIAL_REPORT_LATE);
    assert_true(f & ZB_FLAG_TIMES_CORRECTED);
    /* unit notice: 1 h, on revision 0's times */
    r[0] = rev0();
    r[0].county_notified_at = T0 + HOUR;
    r[0].created_at = r[0].as_of = T0 + HOUR + 60;
    r[0].received_at = r[0].created_at + 60;
    assert_false(stats(r, 1, T0 + 2 * HOUR).flags & ZB_FLAG_UNIT_NOTICE_LATE);
    r[0].county_notified_at = T0 + HOUR + 1;
    assert_true(stats(r, 1, T0 + 2 * HOUR).flags & ZB_FLAG_UNIT_NOTICE_LATE);
    /* not for road traffic and fire, which reach the office otherwise */
    r[0].industry = ZB__INDUSTRY__ROAD_TRAFFIC;
    assert_false(stats(r, 1, T0 + 2 * HOUR).flags & ZB_FLAG_UNIT_NOTICE_LATE);
    r[0].industry = ZB__INDUSTRY__FIRE;
    assert_false(stats(r, 1, T0 + 2 * HOUR).flags & ZB_FLAG_UNIT_NOTICE_LATE);
    /* the occurrence corrected by a supplement */
    r[0] = rev0();
    r[1] = next(&r[0], T0 + HOUR);
    r[1].occurred_at = T0 - 600;
    assert_true(stats(r, 2, T0 + 2 * HOUR).flags & ZB_FLAG_TIMES_CORRECTED);
}

/* Follow-ups: 24 h for general and larger, 12 h for serious and above,
 * while open and inside the window. */
static void test_supplement_overdue(void **state)
{
    (void)state;
    zb_accident_rev r = rev0();
    zb_accident_stats s = stats(&r, 1, r.created_at + 24 * HOUR);
    assert_true(s.has_next_due);
    assert_int_equal(s.next_supplement_due, r.created_at + 24 * HOUR);
    assert_false(s.flags & ZB_FLAG_SUPPLEMENT_OVERDUE);
    s = stats(&r, 1, r.created_at + 24 * HOUR + 1);
    assert_true(s.flags & ZB_FLAG_SUPPLEMENT_OVERDUE);
    r.deaths = 10; /* serious */
    s = stats(&r, 1, r.created_at + 12 * HOUR);
    assert_int_equal(s.next_supplement_due, r.created_at + 12 * HOUR);
    assert_false(s.flags & ZB_FLAG_SUPPLEMENT_OVERDUE);
    s = stats(&r, 1, r.created_at + 12 * HOUR + 1);
    assert_true(s.flags & ZB_FLAG_SUPPLEMENT_OVERDUE);
    /* closed: nothing due */
    zb_accident_rev c[2] = {rev0(), rev0()};
    c[1] = next(&c[0], T0 + DAY);
    c[1].stage = ZB__STAGE__CLOSING;
    s = stats(c, 2, T0 + 5 * DAY);
    assert_true(s.closed);
    assert_false(s.has_next_due);
    assert_false(s.flags & ZB_FLAG_SUPPLEMENT_OVERDUE);
    assert_false(s.excluded);
    /* past the window: nothing due either */
    s = stats(&c[0], 1, T0 + 31 * DAY);
    assert_false(s.has_next_due);
    assert_false(s.flags & ZB_FLAG_SUPPLEMENT_OVERDUE);
}

/* A write-off leaves the totals (excluded) but keeps its figures. */
static void test_write_off(void **state)
{
    (void)state;
    zb_accident_rev r[2];
    r[0] = rev0();
    r[1] = next(&r[0], T0 + 2 * DAY);
    r[1].stage = ZB__STAGE__WRITE_OFF;
    zb_accident_stats s = stats(r, 2, T0 + 3 * DAY);
    assert_true(s.written_off);
    assert_true(s.excluded);
    assert_int_equal(s.stage, ZB__STAGE__WRITE_OFF);
    assert_int_equal(s.counted_deaths, 1);
    assert_false(s.has_next_due);
    assert_int_equal(s.category, ZB__CATEGORY__OBJECT_STRIKE); /* inherited from revision 0 */
}

/* Clock trust: a report signed after it was received (beyond 5 min) is
 * listed, not counted; on time by its signature but received more than
 * 72 h later and after the 2 h deadline is flagged; a revision signed
 * before the county's previous report is flagged. */
static void test_clock_trust(void **state)
{
    (void)state;
    zb_accident_rev r = rev0();
    r.created_at = r.received_at + 5 * 60; /* 5 min ahead: tolerated */
    r.as_of = r.created_at;
    r.county_notified_at = r.created_at;
    zb_accident_stats s = stats(&r, 1, r.created_at + HOUR);
    assert_false(s.flags & ZB_FLAG_CREATED_AFTER_RECEIVED);
    r.created_at += 1;
    s = stats(&r, 1, r.created_at + HOUR);
    assert_true(s.flags & ZB_FLAG_CREATED_AFTER_RECEIVED);
    assert_true(s.excluded);
    /* a clock set back: "on time" by the signature, received days later */
    r = rev0();
    r.received_at = r.created_at + 72 * HOUR;
    assert_false(stats(&r, 1, r.received_at).flags & ZB_FLAG_RECEIVED_LONG_AFTER_CREATED);
    r.received_at += 1;
    assert_true(stats(&r, 1, r.received_at).flags & ZB_FLAG_RECEIVED_LONG_AFTER_CREATED);
    r.created_before_previous = true;
    assert_true(stats(&r, 1, r.received_at).flags & ZB_FLAG_CREATED_BEFORE_PREVIOUS);
}

/* Signed times are whatever a county's key signed: times near the end of
 * int64 must not overflow (UBSan aborts this test if they do). */
static void test_extreme_times(void **state)
{
    (void)state;
    zb_accident_rev r[2] = {rev0(), rev0()};
    r[0].occurred_at = INT64_MAX - 10;
    r[0].county_notified_at = INT64_MAX - 5;
    r[0].created_at = r[0].received_at = r[0].as_of = INT64_MAX;
    r[1] = next(&r[0], INT64_MAX);
    r[1].received_at = INT64_MAX;
    r[1].deaths = 5;
    zb_accident_stats s = stats(r, 2, INT64_MAX);
    assert_true(s.flags & ZB_FLAG_GRADE_ROSE);
    assert_int_equal(s.counted_deaths, 5);
}

/* Monthly reports: the clock flags, and timeliness on the receive time when
 * the signed time is not credible. */
static void test_monthly_clock(void **state)
{
    (void)state;
    int64_t dl = zb_period_deadline(2026, 10);
    assert_int_equal(zb_monthly_clock_flags(dl, dl + 10, false, dl), 0);
    assert_int_equal(zb_monthly_clock_flags(dl - 26 * DAY, dl + DAY, false, dl),
                     ZB_MCLOCK_RECEIVED_LONG_AFTER_CREATED);
    assert_int_equal(zb_monthly_clock_flags(dl + 400, dl, true, dl),
                     ZB_MCLOCK_CREATED_AFTER_RECEIVED | ZB_MCLOCK_CREATED_BEFORE_PREVIOUS);
    /* signed on time offline, received later: on time (the signature
     * decides, as for every office that files without a link) */
    assert_int_equal(zb_filing_status_trusted(true, dl, dl + 2 * DAY, dl), ZB_FILING_ON_TIME);
    /* a time signed "in the future" is not credible: the receive time decides */
    assert_int_equal(zb_filing_status_trusted(true, dl, dl - 60, dl), ZB_FILING_ON_TIME);
    assert_int_equal(zb_filing_status_trusted(true, dl + 10 * DAY, dl - DAY, dl),
                     ZB_FILING_ON_TIME);
    assert_int_equal(zb_filing_status_trusted(false, 0, 0, dl), ZB_FILING_MISSING);
}

/* A moved deadline (zhibao-agg deadline): timeliness and the clock flags
 * are judged against the deadline given, to the second. */
static void test_moved_deadline(void **state)
{
    (void)state;
    int64_t dl = zb_period_deadline(2026, 10); /* 2026-11-05T23:59:59+08:00 */
    int64_t moved;                             /* 2026-11-09T23:59:59+08:00 */
    assert_int_equal(zb_time_parse("2026-11-09T23:59:59+08:00", &moved, NULL), 0);
    assert_int_equal(moved, dl + 4 * DAY);
    /* filed on the 7th: late by the default, on time by the moved one */
    int64_t t = dl + 2 * DAY;
    assert_int_equal(zb_filing_status(true, t, dl), ZB_FILING_LATE);
    assert_int_equal(zb_filing_status(true, t, moved), ZB_FILING_ON_TIME);
    assert_int_equal(zb_filing_status_trusted(true, t, t + 60, moved), ZB_FILING_ON_TIME);
    /* the moved deadline's edge */
    assert_int_equal(zb_filing_status(true, moved, moved), ZB_FILING_ON_TIME);
    assert_int_equal(zb_filing_status(true, moved + 1, moved), ZB_FILING_LATE);
    assert_int_equal(zb_filing_status(false, 0, moved), ZB_FILING_MISSING);
    /* received long after it was signed: judged on the deadline in force.
     * Signed on the 7th, received on the 12th (> 72 h later): past the
     * moved deadline, so flagged; signed on the 1st and received on the
     * 7th: inside the moved deadline, so not */
    assert_int_equal(zb_monthly_clock_flags(t, dl + 7 * DAY, false, moved),
                     ZB_MCLOCK_RECEIVED_LONG_AFTER_CREATED);
    assert_int_equal(zb_monthly_clock_flags(dl - 4 * DAY, t, false, dl),
                     ZB_MCLOCK_RECEIVED_LONG_AFTER_CREATED);
    assert_int_equal(zb_monthly_clock_flags(dl - 4 * DAY, t, false, moved), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flag_names),
        cmocka_unit_test(test_road_story),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_missing_at_close),
        cmocka_unit_test(test_max_grade_falls),
        cmocka_unit_test(test_clocks_and_corrections),
        cmocka_unit_test(test_supplement_overdue),
        cmocka_unit_test(test_write_off),
        cmocka_unit_test(test_clock_trust),
        cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_monthly_clock),
        cmocka_unit_test(test_moved_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
