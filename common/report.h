/*
 * report.h - report content: JSON in (the county clerk's contract), JSON
 * out, and the validation rules node and aggregator share (one code path,
 * so the node never accepts what the prefecture would refuse).
 *
 * Problems are collected, one line per problem, each naming the field path
 * and the reason: "tasks[2].status: must be one of not_started, in_progress, done".
 * Every format given to zb_problems_add is a msgid (xgettext
 * --keyword=zb_problems_add:2 --keyword=PROBLEM:2), translated only for a
 * zb_problems with localize set.
 */
#ifndef ZB_REPORT_H
#define ZB_REPORT_H

#include <jansson.h>
#include <stdbool.h>
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
#define ZB_AS_OF_SKEW_S 300               /* an accident's as_of may be 5 min after created_at */

/* Report.version: what zb_report_from_json writes, and the oldest still
 * read. Version 2 added the accident's category, cause, stage, as_of and
 * write_off_reason (AccidentReport fields 16-20); a version 1 report keeps
 * the version 1 rules and may not carry them. */
#define ZB_REPORT_VERSION 2
#define ZB_REPORT_VERSION_MIN 1
/* Version 3: a prefecture's relay or period summary toward its province
 * (Report fields 12, 13; protocol.md §14). Only those, and only in it. */
#define ZB_REPORT_VERSION_RELAY 3
#define ZB_RELAY_LEAVES_MAX 64u      /* leaves per relay report */
/* one relayed leaf: what a prefecture's log holds -- a county envelope or
 * equivocation evidence (a report of at most ZB_COUNTY_REPORT_MAX: a
 * prefecture refuses a larger one before it keeps anything), a downstream
 * message (at most ZB_DOWN_MAX), a key event -- with room to spare */
#define ZB_RELAY_LEAF_MAX (192u * 1024u)
#define ZB_SUMMARY_COUNTIES_MAX 512u /* counties per period summary */

typedef struct {
    char **lines;
    size_t n, cap;
    /* Set by a caller that shows the lines to a person: each line is then
     * added in the chosen language (i18n.h; the format strings are the
     * msgids, po/zh_CN/report.po), the field path kept as it is. Zero (the
     * default) keeps them English: logs, refusals on the wire. */
    bool localize;
} zb_problems;

void zb_problems_add(zb_problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zb_problems_free(zb_problems *p);

/* Build a Report from one JSON object, version ZB_REPORT_VERSION. Header
 * fields (county, seq, prev_hash, created_at) are left for the caller. An
 * accident's stage and as_of are recorded as given: absent stays absent
 * (their defaults are zb_report_accident_stage and zb_report_accident_as_of).
 * prefix is prepended to every field path ("" or "[3]."). Unknown JSON
 * fields are reported as warnings (not problems) so a newer client's
 * optional fields pass. Returns the Report (free with
 * zb__report__free_unpacked(r, NULL)) or NULL when problems were added. */
Zb__Report *zb_report_from_json(const json_t *obj, const char *prefix, zb_problems *problems,
                                zb_problems *warnings);

/* An accident_id as reports carry it: 1-64 of A-Z a-z 0-9 '-' '_'. */
bool zb_accident_id_valid(const char *s);

/* Content rules that need no stored state: version 1 or 2, ranges, codes,
 * text limits, times against the signed creation time (period not in the
 * future, accident times not after creation). For an accident of version 2:
 * category required on revision 0 (optional after, recorded as given);
 * stage initial only on revision 0, supplement/closing/write_off only on
 * revision >= 1; as_of not before occurred_at nor more than
 * ZB_AS_OF_SKEW_S after created_at; write_off_reason required with
 * write_off and refused otherwise. A version 1 report carrying any of those
 * five fields is refused. The packed report must be within
 * zb_report_size_max. Adds one problem per violation. What needs the
 * accident's history (revisions in order, nothing after closing or
 * write_off) is the node's to check. */
void zb_report_validate(const Zb__Report *r, const char *prefix, zb_problems *problems);

/* MonthlyStats by field: every figure of the schema is an optional
 * uint64, so the reports, the summaries and the validation walk them by
 * their descriptor (zb__monthly_stats__descriptor.fields[i], i < n_fields)
 * instead of naming each. get: whether figure i is given, and its value;
 * set: gives figure i the value v. s must be initialised. */
bool zb_stats_get(const Zb__MonthlyStats *s, unsigned i, uint64_t *v);
void zb_stats_set(Zb__MonthlyStats *s, unsigned i, uint64_t v);

/* The largest packed size r may have: ZB_COUNTY_REPORT_MAX for a county's
 * monthly or accident report, ZB_REPORT_MAX for a relay or summary. */
unsigned zb_report_size_max(const Zb__Report *r);

/* The report as JSON in the input contract's field names, plus header
 * fields ("county", "seq", "created_at", "prev_hash") and, for an
 * accident, the computed "grade" and "report_to". An accident of version 2
 * always shows "stage" and "as_of" (the defaults when absent); "category",
 * "cause" and "write_off_reason" appear when present. New reference. */
json_t *zb_report_to_json(const Zb__Report *r);

/* An accident's stage: as given, or when absent (every version 1 report)
 * initial on revision 0 and supplement after. A stage outside the enum (a
 * report that fails validation) is returned as it is. */
Zb__Stage zb_report_accident_stage(const Zb__AccidentReport *a);

/* When an accident report's figures became true, in Unix seconds: as_of
 * when given, else the signed creation time. *offset_min (if not NULL)
 * gets the offset to show it with: as_of's own, or +08:00 (480).
 * r must hold an accident. */
int64_t zb_report_accident_as_of(const Zb__Report *r, int32_t *offset_min);

/* "monthly" / "accident" / "unknown". */
const char *zb_report_type_name(const Zb__Report *r);

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
bool zb_utf8_valid(const char *s);

/* Count Unicode code points in a valid UTF-8 string. */
size_t zb_utf8_chars(const char *s);

#endif
