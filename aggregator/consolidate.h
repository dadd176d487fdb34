/*
 * consolidate.h - the prefecture's consolidation reports, rebuilt from the
 * stored signed envelopes on every run (nothing is cached, so the figures
 * can always be re-derived by an auditor from the envelopes alone).
 *
 *   monthly    one row per enrolled county for one period: on_time / late /
 *              missing against the period's deadline (moved or default),
 *              the version in force and its review, task status counts,
 *              the statistics and a prefecture total row
 *   accidents  the latest revision of every accident in a date range, its
 *              Decree 493 grade, where it must be reported, and flags for the
 *              statutory clocks; totals by county, industry and grade
 *   matrix     counties x months of on_time / late / missing, each month
 *              against its own deadline
 *   indicators deaths year to date against the same period of the previous
 *              year and against the 2015 base (the -20 % target), and the
 *              four 2030 death rates where the yearly denominators are
 *              loaded (`zhibao-agg load-figures`, figures.h); per county and
 *              in total
 *
 * How the pieces fit (curl's tool_getparam / tool_operate / tool_writeout):
 * query.h parses and checks what was asked (the CLI's options or the API's
 * parameters), this module builds the report as one JSON document, and
 * render.h prints it (json as is; csv and table render the document's
 * rows). The rules applied (timeliness, flags, grades, the indicators'
 * window and target) are rules.h's.
 *
 * The store (the aggregator's, astore.h) is read in one read-only LMDB
 * transaction the caller holds, so reports run beside a running `serve`.
 * Every report reads the store's indexes and decodes only the rows it
 * shows (the monthly report: the version in force of each county, and the
 * prefecture's latest review of it), so its
 * cost follows the rows returned, not the size of the store. The counties'
 * signatures are not re-verified here: the aggregator verified each one on
 * ingest, and `zhibao-agg check` re-verifies the whole store. A review shown
 * is read from its stored message through downstream.h zb_down_open, which
 * checks the aggregator's own signature as it decodes.
 *
 * Times: every boundary is at +08:00 (Asia/Shanghai); output times are
 * RFC 3339 with +08:00. No global state; all functions are thread-safe.
 */
#ifndef ZB_CONSOLIDATE_H
#define ZB_CONSOLIDATE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

#include "query.h"
#include "store.h"

/* ---- building the reports ---- */

/* Build the monthly report for period (year, month) from the store s read
 * in txn. *out: new JSON reference
 *   {"period", "deadline", "deadline_moved", "deadline_passed", ...,
 *    "rows": [...], "total": {...}}
 * (caller decrefs). "deadline" is the period's deadline as the store holds
 * it (astore.h zb_astore_deadline_get: moved by `zhibao-agg deadline`,
 * "deadline_moved" true, or the default 5th 23:59:59 +08:00 of the next
 * month), and timeliness is judged against it. Each row ends with the
 * prefecture's latest review of the county's version in force: "review"
 * ("accepted" | "returned" | "unreviewed"; null for a missing county),
 * "review_comment", "reviewer" (null when not given) and "reviewed_at"
 * (null when unreviewed). now (Unix s) only decides deadline_passed. */
int zb_consolidate_monthly(zb_store *s, MDB_txn *txn, int year, int month, int64_t now,
                           json_t **out);

/* The accidents whose occurred_at (of the revision in force) lies in
 * [from, to_end) (Unix s), counted by the statistical basis (rules.h,
 * zb_accident_stats_of) at now. *out: {"from", "to", "grade_rule",
 * "counting_rule": "statistical_window", "now", "accidents": [...] newest
 * first, "totals": {"by_county", "by_industry", "by_grade", "accidents"
 * (counted), "listed"}}. Each accident: its revision in force as filed
 * ("deaths", "missing", ...), the "counted_*" figures, "grade" (of the
 * counted figures), "max_grade", "report_to" (by max_grade), "category",
 * "stage", "flags", "first_reported_at", "as_of", "window_end",
 * "window_closed", "next_supplement_due", "written_off",
 * "write_off_reason", "counted" (false: written off or an untrusted clock,
 * left out of the totals). Totals add the counted figures of the counted
 * accidents, by statistical grade. from_s/to_s are the dates as given. */
int zb_consolidate_accidents(zb_store *s, MDB_txn *txn, int64_t from, int64_t to_end,
                             const char *from_s, const char *to_s, int64_t now, json_t **out);

/* Counties x periods from (y0, m0) to (y1, m1) inclusive, at most
 * ZB_MATRIX_MAX_PERIODS (query.h). *out: {"from", "to", "periods": [...], "rows":
 * [{"county", "name", "<period>": status...}], "totals": {"<period>":
 * {"on_time", "late", "missing"}}}. ZB_EINVAL for a bad range. */
int zb_consolidate_matrix(zb_store *s, MDB_txn *txn, int y0, int m0, int y1, int m1,
                          json_t **out);

/* The indicators for year as of now (Unix s) from the store s (its
 * accidents, counties and the loaded figures). Deaths are each accident's
 * counted deaths (rules.h: the last figures within its 7/30-day window,
 * the missing counted as dead once the window closed; "missing" are those
 * still missing inside an open window), for accidents whose occurred_at (of
 * the revision in force) lies in the window; written-off accidents and
 * reports signed after they were received count nowhere. Rates divide the
 * deaths year to date by the whole year's denominators (not annualised).
 * One row per enrolled county, and a total: the sum of the rows; its
 * denominators are those loaded for county "222400" when any are (the
 * loaded record is used as is), else each the sum over the rows when
 * every row has it, else null; its base likewise.
 * *out (caller decrefs):
 *   {"year", "from", "to", "previous_from", "previous_to" (RFC 3339 +08:00,
 *    "to" exclusive), "elapsed_fraction", "base_year": 2015,
 *    "target_reduction_pct": 20, "deaths_rule": "counted_within_window_missing_as_dead_after",
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
int zb_consolidate_indicators(zb_store *s, MDB_txn *txn, int year, int64_t now, json_t **out);

/* The same with the year's window ending at to (Unix s; clamped to the
 * year) while the accidents are counted at now: a month's bulletin gives
 * the year to the end of that month (bulletin.h) with the figures as known
 * today, as `report accidents` counts them. zb_consolidate_indicators is
 * this with to = now. */
int zb_consolidate_indicators_to(zb_store *s, MDB_txn *txn, int year, int64_t to, int64_t now,
                                 json_t **out);

/* Build the report q asks for (checked by zb_query_parse) from the
 * aggregator's store s, read in txn (a read transaction of s the caller
 * begins and ends; the envelopes, counties and figures databases at the
 * indexes of agg.h). now (Unix s): monthly's deadline_passed, the
 * indicators' year to date. *out as the builder of q's kind gives it. */
int zb_consolidate_query(MDB_txn *txn, zb_store *s, const zb_query *q, int64_t now, json_t **out);

#endif
