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

zb_filing zb_filing_status(bool filed, int64_t first_created_at, int64_t deadline)
{
    if (!filed)
        return ZB_FILING_MISSING;
    return first_created_at <= deadline ? ZB_FILING_ON_TIME : ZB_FILING_LATE;
}

/* ------------------------------------------------------------ accidents */

static const char *const flag_names[ZB_FLAG_COUNT] = {
    "initial_report_late",    "unit_notice_late",       "times_corrected",
    "change_after_window",    "supplement_overdue",     "grade_rose",
    "created_after_received", "received_long_after_created", "created_before_previous"};

const char *zb_accident_flag_name(unsigned i)
{
    return i < ZB_FLAG_COUNT ? flag_names[i] : NULL;
}

int zb_accident_stage_of(uint32_t revision, int stated)
{
    if (stated != ZB__STAGE__STAGE_UNSPECIFIED)
        return stated;
    return revision == 0 ? ZB__STAGE__INITIAL : ZB__STAGE__SUPPLEMENT;
}

void zb_accident_rev_of(const Zb__Report *r, uint64_t seq, int64_t received_at,
                        zb_accident_rev *out)
{
    const Zb__AccidentReport *a = r->accident;
    *out = (zb_accident_rev){0};
    out->revision = a->revision;
    out->seq = seq;
    out->created_at = r->created_at;
    out->received_at = received_at;
    out->occurred_at = a->occurred_at->unix;
    out->county_notified_at = a->county_notified_at->unix;
    out->as_of = a->as_of ? a->as_of->unix : r->created_at;
    out->industry = (int)a->industry;
    out->category = a->has_category ? (int)a->category : 0;
    out->stage = zb_accident_stage_of(a->revision, a->has_stage ? (int)a->stage : 0);
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

/* a + b for b >= 0, saturating: signed times come from outside and may be
 * anything a county's key signed. */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int zb_accident_window_days(int industry, int category)
{
    if (category == ZB__CATEGORY__CATEGORY_FIRE)
        return 7;
    return zb_industry_casualty_window_days(industry);
}

static bool figures_differ(const zb_accident_rev *a, const zb_accident_rev *b)
{
    return a->deaths != b->deaths || a->missing != b->missing ||
           a->serious_injuries != b->serious_injuries || a->direct_loss_yuan != b->direct_loss_yuan;
}

void zb_accident_stats_of(const zb_accident_rev *revs, size_t n, int64_t now,
                          zb_accident_stats *out)
{
    *out = (zb_accident_stats){0};
    if (n == 0)
        return;
    const zb_accident_rev *first = &revs[0], *cur = &revs[n - 1];
    for (size_t i = 0; i < n && !out->category; i++)
        out->category = revs[i].category;
    out->stage = cur->stage;
    out->closed = cur->stage == ZB__STAGE__CLOSING;
    out->written_off = cur->stage == ZB__STAGE__WRITE_OFF;
    out->window_end = add_sat(cur->occurred_at,
                              (int64_t)zb_accident_window_days(cur->industry, out->category) *
                                  DAY_S);
    out->window_closed = now > out->window_end;
    out->first_reported_at = first->created_at;

    /* the figures counted: the last revision true inside the window */
    const zb_accident_rev *counted = first;
    zb_grade max_grade = zb_accident_rev_grade(first);
    bool any_inside = false;
    for (size_t i = 0; i < n; i++) {
        const zb_accident_rev *r = &revs[i];
        if (r->as_of > out->window_end)
            continue;
        zb_grade g = zb_accident_rev_grade(r);
        if (!any_inside || g > max_grade)
            max_grade = g;
        any_inside = true;
        counted = r;
    }
    out->counted_deaths = counted->deaths;
    out->counted_missing = counted->missing;
    out->counted_serious_injuries = counted->serious_injuries;
    out->counted_direct_loss_yuan = counted->direct_loss_yuan;
    if (out->window_closed) {
        /* still missing when the window closed: counted as dead */
        uint64_t d = (uint64_t)out->counted_deaths + out->counted_missing;
        out->counted_deaths = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        out->counted_missing = 0;
    }
    out->grade = zb_grade_compute(out->counted_deaths, out->counted_missing,
                                  out->counted_serious_injuries, out->counted_direct_loss_yuan,
                                  ZB_MISSING_COUNT_AS_DEAD);
    out->max_grade = max_grade > out->grade ? max_grade : out->grade;

    unsigned f = 0;
    int64_t initial_due = add_sat(first->county_notified_at, ZB_UPWARD_REPORT_LIMIT_S);
    if (first->created_at > initial_due)
        f |= ZB_FLAG_INITIAL_REPORT_LATE;
    if (first->industry != ZB__INDUSTRY__ROAD_TRAFFIC && first->industry != ZB__INDUSTRY__FIRE &&
        first->county_notified_at > add_sat(first->occurred_at, ZB_UNIT_NOTICE_LIMIT_S))
        f |= ZB_FLAG_UNIT_NOTICE_LATE;
    for (size_t i = 1; i < n; i++) {
        const zb_accident_rev *p = &revs[i - 1], *r = &revs[i];
        if (r->occurred_at != p->occurred_at || r->county_notified_at != p->county_notified_at)
            f |= ZB_FLAG_TIMES_CORRECTED;
        if (r->as_of > out->window_end && figures_differ(r, p))
            f |= ZB_FLAG_CHANGE_AFTER_WINDOW;
    }
    if (zb_accident_rev_grade(cur) > zb_accident_rev_grade(first))
        f |= ZB_FLAG_GRADE_ROSE;
    for (size_t i = 0; i < n; i++) {
        const zb_accident_rev *r = &revs[i];
        if (r->received_at && r->created_at > add_sat(r->received_at, ZB_CLOCK_SLACK_S))
            f |= ZB_FLAG_CREATED_AFTER_RECEIVED;
        if (r->created_before_previous)
            f |= ZB_FLAG_CREATED_BEFORE_PREVIOUS;
    }
    if (first->received_at && first->created_at <= initial_due &&
        first->received_at > initial_due &&
        first->received_at > add_sat(first->created_at, ZB_CLOCK_LONG_DELAY_S))
        f |= ZB_FLAG_RECEIVED_LONG_AFTER_CREATED;
    bool open = !out->closed && !out->written_off && !out->window_closed;
    if (open) {
        int64_t every = out->max_grade >= ZB_GRADE_SERIOUS ? ZB_SUPPLEMENT_EVERY_SERIOUS_S
                                                           : ZB_SUPPLEMENT_EVERY_S;
        out->has_next_due = true;
        out->next_supplement_due = add_sat(cur->created_at, every);
        if (now > out->next_supplement_due)
            f |= ZB_FLAG_SUPPLEMENT_OVERDUE;
    }
    out->flags = f;
    out->excluded = out->written_off || (f & ZB_FLAG_CREATED_AFTER_RECEIVED);
}

unsigned zb_monthly_clock_flags(int64_t created_at, int64_t received_at,
                                bool created_before_previous, int64_t deadline)
{
    unsigned f = 0;
    if (received_at && created_at > add_sat(received_at, ZB_CLOCK_SLACK_S))
        f |= ZB_MCLOCK_CREATED_AFTER_RECEIVED;
    if (received_at && created_at <= deadline && received_at > deadline &&
        received_at > add_sat(created_at, ZB_CLOCK_LONG_DELAY_S))
        f |= ZB_MCLOCK_RECEIVED_LONG_AFTER_CREATED;
    if (created_before_previous)
        f |= ZB_MCLOCK_CREATED_BEFORE_PREVIOUS;
    return f;
}

zb_filing zb_filing_status_trusted(bool filed, int64_t first_created_at,
                                   int64_t first_received_at, int64_t deadline)
{
    bool credible = !first_received_at ||
                    first_created_at <= add_sat(first_received_at, ZB_CLOCK_SLACK_S);
    return zb_filing_status(filed, credible ? first_created_at : first_received_at, deadline);
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
