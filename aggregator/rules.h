/*
 * rules.h - the pure rules behind the prefecture's consolidation reports:
 * timeliness of a monthly report, the flags and grade of an accident's
 * revisions, the indicators' window, the progress against the 2015 base,
 * death rates and which industries count toward 工矿商贸.
 *
 * Nothing here reads the store, allocates or keeps state: consolidate.c
 * (the reports) and web.c (one accident's history) apply the same rules
 * through these functions, and test_consolidate.c checks each at its
 * boundaries. All functions are thread-safe.
 *
 * Times: Unix seconds; period and year boundaries at +08:00 (Asia/Shanghai).
 */
#ifndef ZB_RULES_H
#define ZB_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "zhibao.pb-c.h"

#define ZB_ACCIDENT_ID_MAX 64 /* ids are [A-Za-z0-9_-]{1,64}, as the report contract */

/* ---- monthly reports: timeliness ---- */

typedef enum { ZB_FILING_MISSING = 0, ZB_FILING_ON_TIME = 1, ZB_FILING_LATE = 2 } zb_filing;

/* "missing" / "on_time" / "late". */
const char *zb_filing_name(zb_filing f);

/* Timeliness of a county's monthly report for a period whose deadline
 * (Unix s, the last second still on time) is deadline: the period's
 * deadline as the store holds it (astore.h zb_astore_deadline_get: moved
 * by `zhibao-agg deadline`, or the default zb_period_deadline, the 5th
 * 23:59:59 +08:00 of the next month). first_created_at is the signed
 * creation time (Unix s) of the FIRST version filed for the period (lowest
 * seq): a later correction does not make an on-time report late, and a
 * late report does not become on time by being corrected. filed false ->
 * ZB_FILING_MISSING. On time <=> first_created_at <= deadline. */
zb_filing zb_filing_status(bool filed, int64_t first_created_at, int64_t deadline);

/* ---- accidents: revisions, grade and flags ---- */

/* One stored revision of an accident, as the statistics need it. */
typedef struct {
    uint32_t revision;
    uint64_t seq;       /* the county's report seq: breaks revision ties */
    int64_t created_at; /* signed creation time, Unix s */
    int64_t received_at; /* the aggregator's receive time (0: not known) */
    int64_t occurred_at, county_notified_at;
    int64_t as_of;      /* when these figures became true (created_at when not given) */
    int industry;       /* Zb__Industry */
    int category;       /* Zb__Category, 0 when not given (inherited from revision 0) */
    int stage;          /* Zb__Stage, resolved: initial / supplement / closing / write_off */
    uint32_t deaths, missing, serious_injuries;
    uint64_t direct_loss_yuan;
    bool created_before_previous; /* signed earlier than the county's previous report */
} zb_accident_rev;

/* The revision carried by r, the county's report seq, received at
 * received_at: r must be an accident report with accident, occurred_at
 * and county_notified_at set (the caller checks; a report that lacks them
 * is not an accident to count). The stage and as_of defaults are applied. */
void zb_accident_rev_of(const Zb__Report *r, uint64_t seq, int64_t received_at,
                        zb_accident_rev *out);

/* A revision's stage as stated, or its default: initial for revision 0,
 * supplement after. */
int zb_accident_stage_of(uint32_t revision, int stated);

/* Revision order: revision, then seq. <0, 0, >0 as strcmp. */
int zb_accident_rev_cmp(const zb_accident_rev *a, const zb_accident_rev *b);

/* Sort revs[0..n) into revision order (zb_accident_rev_cmp) in place. The
 * last one is then the revision in force, the first the initial report. */
void zb_accident_revs_sort(zb_accident_rev *revs, size_t n);

/* Decree 493 grade (事故等级) of one revision as filed, counting the missing
 * with the dead (ZB_MISSING_COUNT_AS_DEAD), as every report states in
 * "grade_rule". */
zb_grade zb_accident_rev_grade(const zb_accident_rev *r);

/* Accident flags (bits; names in this order). */
#define ZB_FLAG_INITIAL_REPORT_LATE        0x001u
#define ZB_FLAG_UNIT_NOTICE_LATE           0x002u
#define ZB_FLAG_TIMES_CORRECTED            0x004u
#define ZB_FLAG_CHANGE_AFTER_WINDOW        0x008u
#define ZB_FLAG_SUPPLEMENT_OVERDUE         0x010u
#define ZB_FLAG_GRADE_ROSE                 0x020u
#define ZB_FLAG_CREATED_AFTER_RECEIVED     0x040u
#define ZB_FLAG_RECEIVED_LONG_AFTER_CREATED 0x080u
#define ZB_FLAG_CREATED_BEFORE_PREVIOUS    0x100u
#define ZB_FLAG_COUNT                      9
/* Name of flag bit i (0..ZB_FLAG_COUNT-1): "initial_report_late", ...;
 * NULL for i >= ZB_FLAG_COUNT. */
const char *zb_accident_flag_name(unsigned i);

/* Clock trust (seconds). */
#define ZB_CLOCK_SLACK_S      (5 * 60)    /* created_at may lead received_at by this much */
#define ZB_CLOCK_LONG_DELAY_S (72 * 3600) /* signed on time, received this long after */
/* Follow-ups (续报, Order 21 Art. 13): at least one a day for 一般/较大,
 * two a day for 重大/特别重大, while the accident is open in its window. */
#define ZB_SUPPLEMENT_EVERY_S        (24 * 3600)
#define ZB_SUPPLEMENT_EVERY_SERIOUS_S (12 * 3600)

/* One accident's statistics (统计口径, domain.md "Statistical basis"),
 * from its revisions in revision order (zb_accident_revs_sort), at now:
 *  - the window: from occurred_at of the revision in force, 7 days for
 *    industry road_traffic or fire or category fire, else 30; a revision
 *    is inside it when its as_of <= occurred_at + the window;
 *  - counted_*: the figures of the last revision inside the window (the
 *    initial report's when none is); once the window has closed (now past
 *    it) the persons still missing are counted as dead (counted_missing 0);
 *  - grade: the statistical grade of the counted figures; max_grade: the
 *    highest grade of any revision inside the window (the initial
 *    report's when none is), never below grade; report_to follows
 *    max_grade;
 *  - flags: initial_report_late (revision 0 created more than 2 h after
 *    its county_notified_at) and unit_notice_late (revision 0's
 *    county_notified_at more than 1 h after its occurred_at; not for
 *    road_traffic and fire, which reach the office through the police and
 *    fire service) on revision 0's own times; times_corrected (a revision
 *    changes occurred_at or county_notified_at); change_after_window (a
 *    revision past the window changes deaths, missing, serious injuries or
 *    the loss); supplement_overdue (open -- not closed or written off --,
 *    inside its window at now, and the last revision created more than
 *    24 h, or 12 h for max_grade serious and above, before now);
 *    grade_rose (the revision in force's grade above revision 0's, as
 *    filed); created_after_received (a revision signed more than 5 min
 *    after the aggregator received it); received_long_after_created
 *    (revision 0 on time by its signed time but received after that 2 h
 *    deadline and more than 72 h after it was signed);
 *    created_before_previous (a revision signed before the county's
 *    previous report);
 *  - next_supplement_due: the last revision's creation + 24 h / 12 h while
 *    open and inside the window (has_next_due false otherwise);
 *  - excluded: written off, or created_after_received: listed, left out of
 *    every total and indicator. n >= 1. */
typedef struct {
    unsigned flags;
    int64_t window_end;
    bool window_closed;
    int stage, category; /* the revision in force's stage; revision 0's category (or the first given) */
    bool closed, written_off, excluded;
    uint32_t counted_deaths, counted_missing, counted_serious_injuries;
    uint64_t counted_direct_loss_yuan;
    zb_grade grade, max_grade;
    int64_t first_reported_at; /* revision 0's created_at */
    bool has_next_due;
    int64_t next_supplement_due;
} zb_accident_stats;
void zb_accident_stats_of(const zb_accident_rev *revs, size_t n, int64_t now,
                          zb_accident_stats *out);

/* The window of an accident in days: 7 for road_traffic, fire (industry)
 * or fire (category), else 30. */
int zb_accident_window_days(int industry, int category);

/* Monthly reports: clock trust of the version timeliness is judged on. */
#define ZB_MCLOCK_CREATED_AFTER_RECEIVED      0x1u
#define ZB_MCLOCK_RECEIVED_LONG_AFTER_CREATED 0x2u
#define ZB_MCLOCK_CREATED_BEFORE_PREVIOUS     0x4u
/* Flags of a monthly version created and received at those times, for a
 * period whose deadline is deadline (Unix s, as zb_filing_status);
 * created_before_previous from the store's chain. The names are the
 * accident flags' ("created_after_received", ...). */
unsigned zb_monthly_clock_flags(int64_t created_at, int64_t received_at,
                                bool created_before_previous, int64_t deadline);
/* Timeliness judged as zb_filing_status, but on received_at when the signed
 * time is not credible (created_after_received): never credited with a
 * time the county's own clock claims after the prefecture had the report. */
zb_filing zb_filing_status_trusted(bool filed, int64_t first_created_at,
                                   int64_t first_received_at, int64_t deadline);

/* ---- indicators ---- */

#define ZB_BASE_YEAR            2015 /* the -20 % target is against this year's deaths */
#define ZB_TARGET_REDUCTION_PCT 20   /* deaths down 20 % against the base (item 二) */

/* The window of `report indicators` for year at now (Unix s), at +08:00:
 *   [from, to)            year to date: from 1 January 00:00 of year to
 *                         now, or to the end of the year once it is over
 *                         (to == from when now is before the year)
 *   [prev_from, prev_to)  the same period of the previous year: prev_to is
 *                         to's local date and time one year earlier (29
 *                         February maps to 1 March); a year that is over
 *                         compares with the whole previous year
 *   elapsed               (to - from) / the year's length in seconds,
 *                         0..1: the share of the year the base is prorated by
 * year: 1971..9999 (query.h allows ZB_FIGURES_YEAR_MIN .. the current year). */
typedef struct {
    int64_t from, to, prev_from, prev_to;
    double elapsed;
} zb_indicator_window;
void zb_indicator_window_of(int year, int64_t now, zb_indicator_window *w);

/* Deaths against the 2015 base. The base year has no monthly breakdown,
 * so the year to date is compared with the base year's full-year deaths
 * prorated by the elapsed share of the year:
 *   base_prorated    = base x elapsed
 *   target           = base x (100 - 20) / 100          (full year)
 *   target_prorated  = base_prorated x (100 - 20) / 100
 *   change_pct       = (deaths - base_prorated) / base_prorated x 100
 *   progress_pct     = -change_pct / 20 x 100: the share of the 20 %
 *                      reduction achieved (100 = exactly on target, above
 *                      100 = beyond it, negative = more deaths than the base)
 *   on_track         = deaths <= target_prorated
 * has_change is false (change_pct, progress_pct meaningless) when
 * base_prorated is 0. */
typedef struct {
    double base_prorated, target, target_prorated;
    bool has_change;
    double change_pct, progress_pct;
    bool on_track;
} zb_target_progress;
void zb_target_progress_of(uint64_t deaths, uint64_t base_deaths, double elapsed,
                           zb_target_progress *out);

/* deaths / denominator x scale into *rate; false (no rate: JSON null) when
 * the denominator is not positive. Scales: 1 for deaths per 100 million
 * yuan GDP (denominator in 100 million yuan), 100000 per workers, 10000 per
 * motor vehicles, 1000000 per tonnes of coal. */
bool zb_death_rate(uint64_t deaths, double denominator, double scale, double *rate);

/* Whether an accident of industry (Zb__Industry value) counts toward
 * 工矿商贸 (industry, mining, commerce and trade) for the deaths per
 * 100,000 workers: every known industry except the transport, fire and
 * farming ones the national bulletins count under their own indicators:
 * road_traffic, fire, water_traffic, railway, civil_aviation,
 * agricultural_machinery, fishing_vessel. So coal_mine, non_coal_mine,
 * hazardous_chemicals, fireworks, construction, metallurgy_trade,
 * special_equipment and other count; an unknown value does not. */
bool zb_industry_mining_commerce(int industry);

#endif
