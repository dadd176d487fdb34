/* query.c - see query.h. */
#include "query.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "err.h"
#include "figures.h"
#include "rules.h"
#include "timefmt.h"

#define DAY_S 86400

static const char *const kind_names[] = {"monthly", "accidents", "matrix", "indicators"};
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

const char *zb_query_kind_name(zb_query_kind k)
{
    return (unsigned)k < KIND_COUNT ? kind_names[k] : "";
}

static const char *get(zb_query_lookup lookup, void *ctx, const char *name)
{
    return lookup ? lookup(ctx, name) : NULL;
}

/* How a field is named in a problem: "--from" on the command line, "from"
 * in the API. */
static const char *prefix(zb_query_dialect d)
{
    return d == ZB_QUERY_CLI ? "--" : "";
}

/* s is exactly n ASCII digits. */
static bool digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool check_monthly(zb_query *q, zb_query_lookup lookup, void *ctx, zb_query_dialect d,
                          zb_problems *p)
{
    const char *period = get(lookup, ctx, "period");
    if (period && zb_period_parse(period, &q->year, &q->month) == 0)
        return true;
    /* whole sentences, each a msgid (report.h): the CLI shows them translated */
    if (d == ZB_QUERY_CLI)
        zb_problems_add(p, period ? "--period: must be YYYY-MM (YYYY-MM, e.g. 2026-10)"
                                  : "--period: missing (YYYY-MM, e.g. 2026-10)");
    else
        zb_problems_add(p, period ? "period: must be YYYY-MM" : "period: missing");
    return false;
}

/* The text of field name as given into buf (it parsed, so it is short). */
static void keep(char *buf, size_t len, const char *s)
{
    snprintf(buf, len, "%s", s);
}

static bool check_accidents(zb_query *q, zb_query_lookup lookup, void *ctx, zb_query_dialect d,
                            zb_problems *p)
{
    const char *from = get(lookup, ctx, "from"), *to = get(lookup, ctx, "to");
    int64_t to_start = 0;
    bool ok = true;
    if (!from || zb_date_parse(from, &q->from) != 0) {
        if (from)
            zb_problems_add(p, "%sfrom: must be YYYY-MM-DD", prefix(d));
        else
            zb_problems_add(p, "%sfrom: missing", prefix(d));
        ok = false;
    }
    if (!to || zb_date_parse(to, &to_start) != 0) {
        if (to)
            zb_problems_add(p, "%sto: must be YYYY-MM-DD", prefix(d));
        else
            zb_problems_add(p, "%sto: missing", prefix(d));
        ok = false;
    }
    if (ok && to_start < q->from) {
        zb_problems_add(p, "%sto: must not be before %sfrom", prefix(d), prefix(d));
        ok = false;
    }
    const char *at = get(lookup, ctx, "now");
    if (at && zb_time_parse(at, &q->now, NULL) != 0) {
        zb_problems_add(p, "%snow: must be an RFC 3339 time (e.g. 2026-11-01T08:00:00+08:00)",
                        prefix(d));
        ok = false;
    }
    q->has_now = at != NULL;
    if (ok) {
        q->to_end = to_start + DAY_S; /* to is inclusive: up to the next midnight */
        keep(q->from_s, sizeof q->from_s, from);
        keep(q->to_s, sizeof q->to_s, to);
    }
    return ok;
}

static bool check_matrix(zb_query *q, zb_query_lookup lookup, void *ctx, zb_query_dialect d,
                         zb_problems *p)
{
    const char *from = get(lookup, ctx, "from"), *to = get(lookup, ctx, "to");
    bool ok = true;
    if (!from || zb_period_parse(from, &q->year, &q->month) != 0) {
        if (from)
            zb_problems_add(p, "%sfrom: must be YYYY-MM", prefix(d));
        else
            zb_problems_add(p, "%sfrom: missing", prefix(d));
        ok = false;
    }
    if (!to || zb_period_parse(to, &q->to_year, &q->to_month) != 0) {
        if (to)
            zb_problems_add(p, "%sto: must be YYYY-MM", prefix(d));
        else
            zb_problems_add(p, "%sto: missing", prefix(d));
        ok = false;
    }
    if (!ok)
        return false;
    int n = zb_period_ordinal(q->to_year, q->to_month) - zb_period_ordinal(q->year, q->month) + 1;
    if (n < 1 || n > ZB_MATRIX_MAX_PERIODS) {
        zb_problems_add(p, "%sto: must be from %s to %d months after it", prefix(d),
                        d == ZB_QUERY_CLI ? "--from" : "'from'", ZB_MATRIX_MAX_PERIODS - 1);
        return false;
    }
    keep(q->from_s, sizeof q->from_s, from);
    keep(q->to_s, sizeof q->to_s, to);
    return true;
}

static bool check_indicators(zb_query *q, zb_query_lookup lookup, void *ctx, zb_query_dialect d,
                             int64_t now, zb_problems *p)
{
    const char *year = get(lookup, ctx, "year");
    int cur_year;
    zb_period_of(now, &cur_year, NULL);
    if (year && digits(year, 4)) {
        int y =
            (year[0] - '0') * 1000 + (year[1] - '0') * 100 + (year[2] - '0') * 10 + (year[3] - '0');
        if (y >= ZB_FIGURES_YEAR_MIN && y <= cur_year) {
            q->year = y;
            return true;
        }
    }
    if (d == ZB_QUERY_API && year)
        zb_problems_add(p, "year: must be a year YYYY from %d to now", ZB_FIGURES_YEAR_MIN);
    else if (d == ZB_QUERY_API)
        zb_problems_add(p, "year: missing");
    else if (year)
        zb_problems_add(p, "--year: must be a year YYYY from %d to %d", ZB_FIGURES_YEAR_MIN,
                        cur_year);
    else
        zb_problems_add(p, "--year: missing (YYYY, e.g. %d)", cur_year);
    return false;
}

int zb_query_parse(const char *kind, zb_query_lookup lookup, void *ctx, zb_query_dialect dialect,
                   int64_t now, zb_query *out, zb_problems *p)
{
    zb_query q = {0};
    if (dialect == ZB_QUERY_CLI) {
        int fmt = zb_format_parse(get(lookup, ctx, "format"));
        if (fmt < 0) {
            zb_problems_add(p, "--format: must be table, csv, json or xlsx");
            *out = (zb_query){0};
            return ZB_EVALIDATION;
        }
        q.format = (zb_format)fmt;
    } else {
        q.format = ZB_FORMAT_JSON;
    }
    size_t k = 0;
    while (kind && k < KIND_COUNT && strcmp(kind, kind_names[k]) != 0)
        k++;
    bool ok;
    if (!kind || k == KIND_COUNT) {
        if (kind && *kind)
            zb_problems_add(p, "report: unknown report (monthly, accidents, matrix or indicators)");
        else
            zb_problems_add(p, "report: missing report kind (monthly, accidents, matrix or "
                            "indicators)");
        ok = false;
    } else {
        q.kind = (zb_query_kind)k;
        switch (q.kind) {
        case ZB_QUERY_MONTHLY: ok = check_monthly(&q, lookup, ctx, dialect, p); break;
        case ZB_QUERY_ACCIDENTS: ok = check_accidents(&q, lookup, ctx, dialect, p); break;
        case ZB_QUERY_MATRIX: ok = check_matrix(&q, lookup, ctx, dialect, p); break;
        default: ok = check_indicators(&q, lookup, ctx, dialect, now, p); break;
        }
    }
    *out = ok ? q : (zb_query){0};
    return ok ? ZB_OK : ZB_EVALIDATION;
}

int zb_query_accident(const char *county, const char *id, zb_problems *p)
{
    if (county && !zb_county_code_valid(county)) {
        zb_problems_add(p, "county: must be a 6-digit county code");
        return ZB_EVALIDATION;
    }
    size_t n = strlen(id);
    bool ok = n >= 1 && n <= ZB_ACCIDENT_ID_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = id[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    }
    if (!ok) {
        zb_problems_add(p, "accident id: must be 1 to %d of A-Z a-z 0-9 _ -", ZB_ACCIDENT_ID_MAX);
        return ZB_EVALIDATION;
    }
    return ZB_OK;
}
