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
 *
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

/* Print a document built above (kind "monthly", "accidents", "matrix") in
 * format fmt to f. 0 or ZB_EIO / ZB_ENOMEM. */
int zb_consolidate_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt);

/* Display width of UTF-8 text in a terminal: East Asian wide and
 * fullwidth characters count 2 columns, others 1. */
size_t zb_display_width(const char *s);

/* ---- the command ---- */

typedef struct {
    const char *kind;      /* "monthly", "accidents", "matrix" */
    const char *period;    /* monthly: "YYYY-MM" */
    const char *from, *to; /* accidents: "YYYY-MM-DD"; matrix: "YYYY-MM" */
    const char *format;    /* NULL = table */
} zb_report_opts;

/* `zhibao-agg report KIND ...` on the aggregator's store s (opened
 * read-only by the caller; the envelopes and counties databases at the
 * indexes of agg.h): check the options (messages on stderr), build the
 * report in one read transaction and print it on stdout.
 * Returns a process exit code: 0, 1 (runtime error) or 2 (bad usage). */
int zb_report_command(zb_store *s, const zb_report_opts *o);

#endif
