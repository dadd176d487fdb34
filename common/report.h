/*
 * report.h - report content: JSON in (the county clerk's contract), JSON
 * out, and the validation rules node and aggregator share (one code path,
 * so the node never accepts what the prefecture would refuse).
 *
 * Problems are collected, one line per problem, each naming the field path
 * and the reason: "tasks[2].status: must be one of not_started, in_progress, done".
 */
#ifndef ZB_REPORT_H
#define ZB_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "zhibao.pb-c.h"

/* Text limits, in characters (Unicode code points). */
#define ZB_TEXT_SHORT 200  /* place, unit name */
#define ZB_TEXT_LONG 4000  /* summary, progress, measures ... */
#define ZB_COUNT_MAX 1000000u             /* any casualty or statistics count */
#define ZB_YUAN_MAX 10000000000000ull     /* 10^13 yuan */
#define ZB_REVISION_MAX 100000u
#define ZB_CLOCK_SKEW_S 600               /* tolerated future skew of entered times */
#define ZB_TIME_MAX 253402300799LL        /* 9999-12-31T23:59:59Z: the latest time accepted */

typedef struct {
    char **lines;
    size_t n, cap;
} zb_problems;

void zb_problems_add(zb_problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zb_problems_free(zb_problems *p);

/* Build a Report from one JSON object. Header fields (county, seq,
 * prev_hash, created_at) are left for the caller. prefix is prepended to
 * every field path ("" or "[3]."). Unknown JSON fields are reported as
 * warnings (not problems) so a newer client's optional fields pass.
 * Returns the Report (free with zb__report__free_unpacked(r, NULL)) or NULL
 * when problems were added. */
Zb__Report *zb_report_from_json(const json_t *obj, const char *prefix, zb_problems *problems,
                                zb_problems *warnings);

/* Content rules that need no stored state: ranges, codes, text limits,
 * times against the signed creation time (period not in the future,
 * accident times not after creation). Adds one problem per violation. */
void zb_report_validate(const Zb__Report *r, const char *prefix, zb_problems *problems);

/* The report as JSON in the input contract's field names, plus header
 * fields ("county", "seq", "created_at", "prev_hash") and, for an
 * accident, the computed "grade" and "report_to". New reference. */
json_t *zb_report_to_json(const Zb__Report *r);

/* "monthly" / "accident" / "unknown". */
const char *zb_report_type_name(const Zb__Report *r);

/* Count Unicode code points in a valid UTF-8 string. */
size_t zb_utf8_chars(const char *s);

#endif
