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

/* Timeliness of a county's monthly report for period (year, month).
 * first_created_at is the signed creation time (Unix s) of the FIRST
 * version filed for the period (lowest seq): a later correction does not
 * make an on-time report late, and a late report does not become on time
 * by being corrected. filed false -> ZB_FILING_MISSING.
 * On time <=> first_created_at <= zb_period_deadline(year, month). */
zb_filing zb_filing_status(bool filed, int64_t first_created_at, int year, int month);

/* ---- accidents: revisions, grade and flags ---- */

/* One stored revision of an accident, as the flags need it. */
typedef struct {
    uint32_t revision;
    uint64_t seq;       /* the county's report seq: breaks revision ties */
    int64_t created_at; /* signed creation time, Unix s */
    int64_t occurred_at, county_notified_at;
    int industry;
    uint32_t deaths, missing, serious_injuries;
    uint64_t direct_loss_yuan;
} zb_accident_rev;

/* The revision carried by r, the county's report seq: r must be an
 * accident report with accident, occurred_at and county_notified_at set
 * (the caller checks; a report that lacks them is not an accident to count). */
void zb_accident_rev_of(const Zb__Report *r, uint64_t seq, zb_accident_rev *out);

/* Revision order: revision, then seq. <0, 0, >0 as strcmp. */
int zb_accident_rev_cmp(const zb_accident_rev *a, const zb_accident_rev *b);

/* Sort revs[0..n) into revision order (zb_accident_rev_cmp) in place. The
 * last one is then the revision in force, the first the initial report. */
void zb_accident_revs_sort(zb_accident_rev *revs, size_t n);

/* Decree 493 grade (事故等级) of one revision, counting the missing with the
 * dead (ZB_MISSING_COUNT_AS_DEAD), as every report states in "grade_rule". */
zb_grade zb_accident_rev_grade(const zb_accident_rev *r);

/* Accident flags (bits). */
#define ZB_FLAG_INITIAL_REPORT_LATE     0x1u /* initial created_at > notified + 2 h */
#define ZB_FLAG_UNIT_NOTICE_LATE        0x2u /* notified > occurred + 1 h */
#define ZB_FLAG_CASUALTY_OUTSIDE_WINDOW 0x4u /* casualty change after 7/30 days */
#define ZB_FLAG_GRADE_ROSE              0x8u /* latest grade > initial grade */
#define ZB_FLAG_COUNT                   4
/* Name of flag bit i (0..ZB_FLAG_COUNT-1): "initial_report_late", ...;
 * NULL for i >= ZB_FLAG_COUNT. */
const char *zb_accident_flag_name(unsigned i);

/* Flags of one accident from its revisions, sorted by
 * zb_accident_revs_sort, n >= 1 (0 for n == 0). The rules, all in Unix seconds:
 *  - initial_report_late: revs[0].created_at > T_notified + 2 h
 *  - unit_notice_late: T_notified > T_occurred + 1 h
 *  - casualty_change_outside_window: some revs[i] (i >= 1) whose deaths,
 *    missing or serious_injuries differ from revs[i-1] has created_at >
 *    T_occurred + window days (7 for road_traffic and fire, else 30,
 *    by the industry in force)
 *  - grade_rose: zb_accident_rev_grade(revs[n-1]) > that of revs[0]
 * T_occurred and T_notified are those of the revision in force (the
 * current truth: a supplement may correct them). Sums saturate: signed
 * times come from outside and may be anything a county's key signed. */
unsigned zb_accident_flags(const zb_accident_rev *revs, size_t n);

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
