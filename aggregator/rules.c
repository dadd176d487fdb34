/* rules.c - see rules.h. */
#include "rules.h"

#include <stdlib.h>

#include "timefmt.h"

#define DAY_S 86400
#define CST_S (8 * 3600) /* +08:00 */

/* ------------------------------------------------------------ monthly */

const char *zb_filing_name(zb_filing f)
{
    switch (f) {
    case ZB_FILING_ON_TIME: return "on_time";
    case ZB_FILING_LATE: return "late";
    default: return "missing";
    }
}

zb_filing zb_filing_status(bool filed, int64_t first_created_at, int year, int month)
{
    if (!filed)
        return ZB_FILING_MISSING;
    return first_created_at <= zb_period_deadline(year, month) ? ZB_FILING_ON_TIME : ZB_FILING_LATE;
}

/* ------------------------------------------------------------ accidents */

static const char *const flag_names[ZB_FLAG_COUNT] = {
    "initial_report_late", "unit_notice_late", "casualty_change_outside_window", "grade_rose"};

const char *zb_accident_flag_name(unsigned i)
{
    return i < ZB_FLAG_COUNT ? flag_names[i] : NULL;
}

void zb_accident_rev_of(const Zb__Report *r, uint64_t seq, zb_accident_rev *out)
{
    const Zb__AccidentReport *a = r->accident;
    *out = (zb_accident_rev){0};
    out->revision = a->revision;
    out->seq = seq;
    out->created_at = r->created_at;
    out->occurred_at = a->occurred_at->unix;
    out->county_notified_at = a->county_notified_at->unix;
    out->industry = (int)a->industry;
    out->deaths = a->deaths;
    out->missing = a->missing;
    out->serious_injuries = a->serious_injuries;
    out->direct_loss_yuan = a->direct_loss_yuan;
}

int zb_accident_rev_cmp(const zb_accident_rev *a, const zb_accident_rev *b)
{
    if (a->revision != b->revision)
        return a->revision < b->revision ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int rev_qsort_cmp(const void *a, const void *b)
{
    return zb_accident_rev_cmp(a, b);
}

void zb_accident_revs_sort(zb_accident_rev *revs, size_t n)
{
    if (n > 1)
        qsort(revs, n, sizeof *revs, rev_qsort_cmp);
}

zb_grade zb_accident_rev_grade(const zb_accident_rev *r)
{
    return zb_grade_compute(r->deaths, r->missing, r->serious_injuries, r->direct_loss_yuan,
                            ZB_MISSING_COUNT_AS_DEAD);
}

/* a + b for b >= 0, saturating. */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

unsigned zb_accident_flags(const zb_accident_rev *revs, size_t n)
{
    if (n == 0)
        return 0;
    const zb_accident_rev *first = &revs[0], *cur = &revs[n - 1];
    unsigned flags = 0;
    if (first->created_at > add_sat(cur->county_notified_at, ZB_UPWARD_REPORT_LIMIT_S))
        flags |= ZB_FLAG_INITIAL_REPORT_LATE;
    if (cur->county_notified_at > add_sat(cur->occurred_at, ZB_UNIT_NOTICE_LIMIT_S))
        flags |= ZB_FLAG_UNIT_NOTICE_LATE;
    int64_t window_end =
        add_sat(cur->occurred_at, (int64_t)zb_industry_casualty_window_days(cur->industry) * DAY_S);
    for (size_t i = 1; i < n; i++) {
        const zb_accident_rev *p = &revs[i - 1], *r = &revs[i];
        bool changed = r->deaths != p->deaths || r->missing != p->missing ||
                       r->serious_injuries != p->serious_injuries;
        if (changed && r->created_at > window_end)
            flags |= ZB_FLAG_CASUALTY_OUTSIDE_WINDOW;
    }
    if (zb_accident_rev_grade(cur) > zb_accident_rev_grade(first))
        flags |= ZB_FLAG_GRADE_ROSE;
    return flags;
}

/* ------------------------------------------------------------ indicators */

/* 1 January 00:00:00 +08:00 of year, Unix s. */
static int64_t year_start(int year)
{
    return zb_days_from_civil(year, 1, 1) * DAY_S - CST_S;
}

void zb_indicator_window_of(int year, int64_t now, zb_indicator_window *w)
{
    int64_t start = year_start(year), end = year_start(year + 1);
    int64_t to = now < start ? start : now > end ? end : now;
    w->from = start;
    w->to = to;
    w->prev_from = year_start(year - 1);
    if (to == end) {
        w->prev_to = start;
    } else {
        /* to's local date and time, one year earlier */
        int64_t local = to + CST_S;
        int64_t days = local / DAY_S, sod = local % DAY_S; /* local >= 0 for years >= 1970 */
        int month = 12;
        while (month > 1 && days < zb_days_from_civil(year, month, 1))
            month--;
        int day = (int)(days - zb_days_from_civil(year, month, 1)) + 1;
        /* 29 February of a common year is 1 March: zb_days_from_civil is arithmetic */
        int64_t prev = zb_days_from_civil(year - 1, month, day) * DAY_S + sod - CST_S;
        w->prev_to = prev > start ? start : prev;
    }
    w->elapsed = (double)(to - start) / (double)(end - start);
}

void zb_target_progress_of(uint64_t deaths, uint64_t base_deaths, double elapsed,
                           zb_target_progress *out)
{
    const double keep = (double)(100 - ZB_TARGET_REDUCTION_PCT) / 100.0;
    out->base_prorated = (double)base_deaths * elapsed;
    out->target = (double)base_deaths * keep;
    out->target_prorated = out->base_prorated * keep;
    out->has_change = out->base_prorated > 0;
    out->change_pct =
        out->has_change ? ((double)deaths - out->base_prorated) / out->base_prorated * 100.0 : 0;
    out->progress_pct = out->has_change ? -out->change_pct / ZB_TARGET_REDUCTION_PCT * 100.0 : 0;
    out->on_track = (double)deaths <= out->target_prorated;
}

bool zb_death_rate(uint64_t deaths, double denominator, double scale, double *rate)
{
    if (!(denominator > 0))
        return false;
    *rate = (double)deaths / denominator * scale;
    return true;
}

bool zb_industry_mining_commerce(int industry)
{
    if (industry < ZB_INDUSTRY_MIN || industry > ZB_INDUSTRY_MAX)
        return false;
    switch (industry) {
    case ZB__INDUSTRY__ROAD_TRAFFIC:
    case ZB__INDUSTRY__FIRE:
    case ZB__INDUSTRY__WATER_TRAFFIC:
    case ZB__INDUSTRY__RAILWAY:
    case ZB__INDUSTRY__CIVIL_AVIATION:
    case ZB__INDUSTRY__AGRICULTURAL_MACHINERY:
    case ZB__INDUSTRY__FISHING_VESSEL: return false;
    default: return true;
    }
}
