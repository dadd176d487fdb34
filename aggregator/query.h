/*
 * query.h - the one parser and checker of report queries, shared by
 * `zhibao-agg report KIND --period ... --format ...` (main.c) and the
 * dashboard's API `/api/KIND?period=...` (web.c), as curl's
 * tool_getparam parses what tool_operate then runs.
 *
 * A query is a report kind and named text values, read through a lookup
 * function: the command line maps its options to bare names ("--period"
 * -> "period"), the API hands over its query parameters. The parser checks
 * them in a fixed order and either fills a zb_query or adds problems, one
 * line "FIELD: reason" each, in the order the checks run:
 *
 *   kind        parameters (all text)            checks
 *   (all)       format   (CLI only)              table | csv | json | xlsx; absent = table.
 *                                                A bad format is the only problem
 *                                                reported (nothing else is checked)
 *   monthly     period   YYYY-MM                 present, a valid period
 *   accidents   from, to YYYY-MM-DD              each present and a valid date;
 *                                                then to >= from
 *   matrix      from, to YYYY-MM                 each present and a valid period;
 *                                                then 1..ZB_MATRIX_MAX_PERIODS months
 *   indicators  year     YYYY                    four digits, ZB_FIGURES_YEAR_MIN ..
 *                                                the current year at +08:00
 *
 * The two callers word a few problems differently; both wordings are kept
 * byte for byte (scripts and the dashboard read them), so the dialect picks:
 *
 *   problem                 ZB_QUERY_CLI                    ZB_QUERY_API
 *   field names             "--period: ..."                 "period: ..."
 *   monthly period          + " (YYYY-MM, e.g. 2026-10)"    -
 *   accidents to < from     "--to: must not be before       "to: must not be before
 *                            --from"                         from"
 *   matrix range            "--to: must be from --from to   "to: must be from 'from'
 *                            239 months after it"            to 239 months after it"
 *   year out of range       "... from 2000 to 2026"         "... from 2000 to now"
 *   year missing            "--year: missing (YYYY, e.g.    "year: missing"
 *                            2026)"
 *   format                  checked                         not read: the API answers JSON
 *
 * The caller adds its own frame: the CLI prints "error: " + line for
 * every problem, the API answers 400 {"error": first line}.
 * No global state; all functions are thread-safe.
 */
#ifndef ZB_QUERY_H
#define ZB_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "render.h"
#include "report.h"

#define ZB_MATRIX_MAX_PERIODS 240 /* months in one matrix: 20 years */

typedef enum {
    ZB_QUERY_MONTHLY = 0,
    ZB_QUERY_ACCIDENTS = 1,
    ZB_QUERY_MATRIX = 2,
    ZB_QUERY_INDICATORS = 3
} zb_query_kind;

typedef enum { ZB_QUERY_CLI = 0, ZB_QUERY_API = 1 } zb_query_dialect;

/* The value of parameter name ("period", "from", "to", "now", "year", "format"),
 * or NULL when it was not given. The string must stay valid until
 * zb_query_parse returns (the query keeps copies of what it needs). */
typedef const char *(*zb_query_lookup)(void *ctx, const char *name);

/* A checked query. Only the members of its kind are set; others are 0. */
typedef struct {
    zb_query_kind kind;
    zb_format format;          /* the API: always ZB_FORMAT_JSON */
    int year, month;           /* monthly: the period; matrix: from; indicators: year (month 0) */
    int to_year, to_month;     /* matrix: the last period, inclusive */
    int64_t from, to_end;      /* accidents: [from, to_end), Unix s: from's 00:00 to the
                                  00:00 after to, at +08:00 */
    char from_s[16], to_s[16]; /* accidents and matrix: the texts as given */
    bool has_now;              /* accidents: "now" given (RFC 3339): overdue follow-ups and */
    int64_t now;               /* closed windows are judged at that time */
} zb_query;

/* "monthly", "accidents", "matrix", "indicators". */
const char *zb_query_kind_name(zb_query_kind k);

/* Parse and check a query of report kind ("monthly", "accidents", "matrix",
 * "indicators"; NULL or anything else is the problem "report: missing
 * report kind (...)" / "report: unknown report (...)") whose parameters
 * lookup(ctx, name) gives (lookup NULL: none given), as dialect words it
 * (table above). now (Unix s) decides the current year. Returns 0 with
 * *out filled, or ZB_EVALIDATION with at least one line added to p (unless
 * memory ran out while adding it) and *out zeroed. */
int zb_query_parse(const char *kind, zb_query_lookup lookup, void *ctx, zb_query_dialect dialect,
                   int64_t now, zb_query *out, zb_problems *p);

/* The API's check of one accident's address, /api/accidents/[COUNTY/]ID:
 * county NULL (not given) or six digits, then id 1..ZB_ACCIDENT_ID_MAX of
 * A-Z a-z 0-9 _ -. 0, or ZB_EVALIDATION with the first failing check's
 * problem added to p ("county: must be a 6-digit county code" or
 * "accident id: must be 1 to 64 of A-Z a-z 0-9 _ -"). */
int zb_query_accident(const char *county, const char *id, zb_problems *p);

#endif
