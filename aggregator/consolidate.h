/*
 * consolidate.h - the prefecture's consolidation reports, rebuilt from the
 * stored signed envelopes on every run (nothing is cached, so the figures
 * can always be re-derived by an auditor from the envelopes alone).
 *
 *   monthly    one row per enrolled county for one period: on_time / late /
 *              missing, the version in force, task status counts, the
 *              statistics and a prefecture total row
 *   accidents  the latest revision of every accident in a date range, its
 *              Decree 493 grade, where it must be reported, and flags for the
 *              statutory clocks; totals by county, industry and grade
 *   matrix     counties x months of on_time / late / missing
 *   indicators deaths year to date against the same period of the previous
 *              year and against the 2015 base (the -20 % target), and the
 *              four 2030 death rates where the yearly denominators are
 *              loaded (`zhibao-agg load-figures`); per county and in total
 *
 * The indicators' denominators (GDP, workers, vehicles, coal output) and
 * the 2015 base deaths do not come from the counties' signed reports (the
 * system starts in 2026): the prefecture loads them from the statistics
 * bureau's yearbook into the "figures" database (zb_figures_*).
 * Every report is built as one JSON document (the json format prints it
 * as is); csv and table render the document's rows. The store is read in
 * one read-only LMDB transaction, so reports run beside a running `serve`.
 * Signatures are not re-verified here: the aggregator verified each one on
 * ingest, and `zhibao-agg check` re-verifies the whole store.
 *
 * Times: every boundary is at +08:00 (Asia/Shanghai); output times are
 * RFC 3339 with +08:00. No global state; all functions are thread-safe.
 */
#ifndef ZB_CONSOLIDATE_H
#define ZB_CONSOLIDATE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "report.h"
#include "store.h"
#include "zhibao.pb-c.h"

/* ---- pure rules (unit-tested) ---- */

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

/* Accident flags (bits). */
#define ZB_FLAG_INITIAL_REPORT_LATE 0x1u     /* initial created_at > notified + 2 h */
#define ZB_FLAG_UNIT_NOTICE_LATE 0x2u        /* notified > occurred + 1 h */
#define ZB_FLAG_CASUALTY_OUTSIDE_WINDOW 0x4u /* casualty change after 7/30 days */
#define ZB_FLAG_GRADE_ROSE 0x8u              /* latest grade > initial grade */
#define ZB_FLAG_COUNT 4
/* Name of flag bit i (0..ZB_FLAG_COUNT-1): "initial_report_late", ... */
const char *zb_accident_flag_name(unsigned i);

/* Sort revs[0..n) into revision order (revision, then seq) in place. The
 * last one is then the revision in force, the first the initial report. */
void zb_accident_revs_sort(zb_accident_rev *revs, size_t n);

/* Flags of one accident from its revisions, sorted by
 * zb_accident_revs_sort, n >= 1. The rules, all in Unix seconds:
 *  - initial_report_late: revs[0].created_at > T_notified + 2 h
 *  - unit_notice_late: T_notified > T_occurred + 1 h
 *  - casualty_change_outside_window: some revs[i] (i >= 1) whose deaths,
 *    missing or serious_injuries differ from revs[i-1] has created_at >
 *    T_occurred + window days (7 for road_traffic and fire, else 30,
 *    by the industry in force)
 *  - grade_rose: grade(revs[n-1]) > grade(revs[0])
 * T_occurred and T_notified are those of the revision in force (the
 * current truth: a supplement may correct them). Grades count the missing
 * with the dead (ZB_MISSING_COUNT_AS_DEAD). */
unsigned zb_accident_flags(const zb_accident_rev *revs, size_t n);

/* ---- indicators (pure rules, unit-tested) ---- */

#define ZB_BASE_YEAR 2015              /* the -20 % target is against this year's deaths */
#define ZB_TARGET_REDUCTION_PCT 20     /* deaths down 20 % against the base (item 二) */

/* The window of `report indicators` for year at now (Unix s), at +08:00:
 *   [from, to)            year to date: from 1 January 00:00 of year to
 *                         now, or to the end of the year once it is over
 *                         (to == from when now is before the year)
 *   [prev_from, prev_to)  the same period of the previous year: prev_to is
 *                         to's local date and time one year earlier (29
 *                         February maps to 1 March); a year that is over
 *                         compares with the whole previous year
 *   elapsed               (to - from) / the year's length in seconds,
 *                         0..1: the share of the year the base is prorated by */
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

/* ---- yearly figures (the "figures" database) ---- */

/* Fields present in a zb_figures (bits of .present). */
#define ZB_FIG_GDP 0x1u      /* gdp_100m_yuan */
#define ZB_FIG_WORKERS 0x2u  /* workers_industry_mining_commerce */
#define ZB_FIG_VEHICLES 0x4u /* motor_vehicles */
#define ZB_FIG_COAL 0x8u     /* coal_output_tonnes */

/* One county's (or the prefecture's, county "222400") denominators for one
 * year. A field whose bit is clear in present is not known. */
typedef struct {
    char county[7];
    int year;
    unsigned present;
    double gdp_100m_yuan;       /* GDP, 亿元 (100 million yuan) */
    uint64_t workers;           /* employed in industry, mining, commerce and trade */
    uint64_t vehicles;          /* motor vehicles (机动车保有量) */
    uint64_t coal_tonnes;       /* raw coal output, tonnes */
} zb_figures;

/* Deaths from production-safety accidents in a base year (2015), as the
 * yearbook gives them. */
typedef struct {
    char county[7];
    int year;
    uint64_t deaths;
} zb_base_deaths;

typedef struct {
    zb_figures *figures;
    size_t n_figures;
    zb_base_deaths *base;
    size_t n_base;
} zb_figures_file;

#define ZB_FIGURES_MAX_ENTRIES 10000           /* per list in one file */
#define ZB_FIGURES_YEAR_MIN 2000
#define ZB_FIGURES_YEAR_MAX 9999
#define ZB_FIGURE_COUNT_MAX 1000000000000ull   /* 10^12: workers, vehicles, tonnes */
#define ZB_FIGURE_GDP_MAX 1e9                  /* 100 million yuan */
#define ZB_FIGURES_FILE_MAX (16u << 20)        /* bytes */

/* Parse and validate a figures file (`zhibao-agg load-figures`):
 *   {"figures": [{"county": "222401", "year": 2026,
 *                 "gdp_100m_yuan": 812.5,                (number >= 0)
 *                 "workers_industry_mining_commerce": 153000,
 *                 "motor_vehicles": 210000,
 *                 "coal_output_tonnes": 0}, ...],        (integers >= 0)
 *    "base": [{"county": "222401", "year": 2015, "deaths": 14}, ...]}
 * Either list may be absent, not both. county: six digits (the prefecture
 * itself as "222400" gives the total row's figures; without it the total
 * is the sum over the enrolled counties). year: 2000..9999 in figures,
 * 2015 in base. A denominator that is absent or null is not known (its
 * rate is null); deaths is required. Unknown fields, a county and year
 * given twice in one list, reals where integers belong and values out of
 * range are problems: one line each in p, naming the field path
 * ("figures[2].motor_vehicles: ..."). Returns 0 with *out filled (free
 * with zb_figures_file_free), ZB_EVALIDATION (problems in p, *out empty)
 * or ZB_ENOMEM. */
int zb_figures_parse(const json_t *doc, zb_figures_file *out, zb_problems *p);
void zb_figures_file_free(zb_figures_file *f);

/* Store every entry of f inside txn (the "figures" database dbi): each
 * replaces whatever was stored for its county and year (a figures entry
 * replaces all four denominators, a base entry the deaths). Layout:
 *   'F' || county (6) || year (u32 BE) -> ver 1 (1) || present (1) ||
 *        gdp (IEEE 754 double, 8 BE) || workers || vehicles || coal_tonnes
 *        (u64 BE each) || loaded_at (i64 BE, Unix s)
 *   'B' || county (6) || year (u32 BE) -> ver 1 (1) || deaths (u64 BE) ||
 *        loaded_at (i64 BE)
 * 0 or ZB_ESTORE / ZB_EMAPFULL (abort the transaction). */
int zb_figures_put(MDB_txn *txn, MDB_dbi dbi, const zb_figures_file *f, int64_t loaded_at);

/* Read back one county's figures / base deaths for year: 0, ZB_ENOTFOUND,
 * or ZB_ESTORE / ZB_EDECODE (a record of an unknown layout). */
int zb_figures_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year, zb_figures *out);
int zb_base_deaths_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year,
                       uint64_t *deaths);

/* ---- building the reports ---- */

typedef enum { ZB_FORMAT_TABLE = 0, ZB_FORMAT_CSV = 1, ZB_FORMAT_JSON = 2 } zb_format;
/* "table" / "csv" / "json" -> format; -1 when unknown. */
int zb_format_parse(const char *s);

/* Build the monthly report for period (year, month) from the store read in
 * txn (envelopes and counties databases). *out: new JSON reference
 *   {"period", "deadline", "deadline_passed", "rows": [...], "total": {...}}
 * (caller decrefs). now (Unix s) only decides deadline_passed. */
int zb_consolidate_monthly(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, int year, int month,
                           int64_t now, json_t **out);

/* The accidents whose occurred_at (of the revision in force) lies in
 * [from, to_end) (Unix s). *out: {"from", "to", "grade_rule", "accidents":
 * [...] newest first, "totals": {"by_county", "by_industry", "by_grade"}}.
 * from_s/to_s are the dates as given, echoed in the output. */
int zb_consolidate_accidents(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, int64_t from,
                             int64_t to_end, const char *from_s, const char *to_s, json_t **out);

/* Counties x periods from (y0, m0) to (y1, m1) inclusive, at most
 * ZB_MATRIX_MAX_PERIODS. *out: {"from", "to", "periods": [...], "rows":
 * [{"county", "name", "<period>": status...}], "totals": {"<period>":
 * {"on_time", "late", "missing"}}}. ZB_EINVAL for a bad range. */
#define ZB_MATRIX_MAX_PERIODS 240
int zb_consolidate_matrix(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, int y0, int m0, int y1,
                          int m1, json_t **out);

/* The indicators for year as of now (Unix s) from the envelopes, counties
 * and figures databases. Deaths are those of the revision in force of each
 * accident whose occurred_at (of that revision) lies in the window; the
 * missing are NOT counted as deaths here (they are reported beside them,
 * as "missing"): the indicators count confirmed deaths. Rates divide the
 * deaths year to date by the whole year's denominators (not annualised).
 * One row per enrolled county, and a total: the sum of the rows; its
 * denominators are those loaded for county "222400" when any are (the
 * loaded record is used as is), else each the sum over the rows when
 * every row has it, else null; its base likewise.
 * *out (caller decrefs):
 *   {"year", "from", "to", "previous_from", "previous_to" (RFC 3339 +08:00,
 *    "to" exclusive), "elapsed_fraction", "base_year": 2015,
 *    "target_reduction_pct": 20, "deaths_rule": "confirmed_deaths_only",
 *    "industry_mining_commerce": [industry names counted],
 *    "rows": [row...], "total": row + {"figures_source", "base_source":
 *    "prefecture" | "sum_of_counties" | null}}
 * where a row is
 *   {"county", "name", "accidents", "deaths", "missing",
 *    "previous_deaths", "change_vs_previous", "change_vs_previous_pct"
 *    (null when previous_deaths is 0),
 *    "base_deaths" (2015, full year), "base_deaths_prorated",
 *    "target_deaths" (full year), "target_deaths_prorated",
 *    "change_vs_base_pct", "target_progress_pct", "on_track"
 *    (see zb_target_progress; null when the base is not loaded or 0),
 *    "deaths_industry_mining_commerce", "deaths_road_traffic",
 *    "deaths_coal_mine",
 *    "gdp_100m_yuan", "workers_industry_mining_commerce", "motor_vehicles",
 *    "coal_output_tonnes" (the year's denominators, null when not loaded),
 *    "deaths_per_100m_yuan_gdp" (deaths / gdp_100m_yuan),
 *    "deaths_per_100k_workers" (deaths_industry_mining_commerce / workers
 *    x 100000), "road_deaths_per_10k_vehicles" (deaths_road_traffic /
 *    motor_vehicles x 10000), "coal_deaths_per_million_tonnes"
 *    (deaths_coal_mine / coal_output_tonnes x 1000000): null where the
 *    denominator is not loaded or 0}
 * Every real is rounded to 6 decimal places. */
int zb_consolidate_indicators(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, MDB_dbi figures,
                              int year, int64_t now, json_t **out);

/* Print a document built above (kind "monthly", "accidents", "matrix",
 * "indicators") in
 * format fmt to f. 0 or ZB_EIO / ZB_ENOMEM. */
int zb_consolidate_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt);

/* Display width of UTF-8 text in a terminal: East Asian wide and
 * fullwidth characters count 2 columns, others 1. */
size_t zb_display_width(const char *s);

/* ---- the command ---- */

typedef struct {
    const char *kind;      /* "monthly", "accidents", "matrix", "indicators" */
    const char *period;    /* monthly: "YYYY-MM" */
    const char *from, *to; /* accidents: "YYYY-MM-DD"; matrix: "YYYY-MM" */
    const char *format;    /* NULL = table */
    const char *year;      /* indicators: "YYYY", 2000 .. the current year */
} zb_report_opts;

/* `zhibao-agg report KIND ...` on the aggregator's store s (opened
 * read-only by the caller; the envelopes, counties and figures databases
 * at the indexes of agg.h): check the options (messages on stderr), build
 * the report in one read transaction and print it on stdout.
 * Returns a process exit code: 0, 1 (runtime error) or 2 (bad usage). */
int zb_report_command(zb_store *s, const zb_report_opts *o);

/* `zhibao-agg load-figures --dir A FILE` on the aggregator's store s
 * (opened for writing): read FILE ("-" = standard input, at most
 * ZB_FIGURES_FILE_MAX bytes), validate it (zb_figures_parse: every problem
 * on stderr as "error: PATH: ..."), and store all of it in one write
 * transaction, or nothing. Returns a process exit code: 0, 1 (runtime
 * error) or 2 (unreadable or invalid file: nothing stored). */
int zb_load_figures_command(zb_store *s, const char *path);

#endif
