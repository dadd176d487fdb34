/*
 * fuzz_query.c - the one parser of report queries (query.h) that both
 * `zhibao-agg report` and the dashboard's API feed from outside. Input:
 *
 *   byte 0      bits 0-2: the kind asked for (monthly, accidents, matrix,
 *               indicators, none, "", "bogus", "Monthly"); bit 3: the API
 *               dialect (else the CLI's); bits 4-6: "now", one of eight
 *               instants (2026-10-14, either side of the +08:00 new year
 *               2027, 0, -1, INT64_MAX, INT64_MIN, 2000-01-01)
 *   bytes 1..   name=value pairs joined by '&' ("period=2026-10&format=csv";
 *               the first of a name wins), as a query string would give them
 *
 * Invariants besides "no crash, no leak, no UB": a query that parses has
 * its kind's fields in range and consistent with the text given (a period
 * formats back to it, a date parses back to the same instant, a matrix
 * spans 1..240 months, a year lies in 2000..the current year at +08:00)
 * and no problem; one that does not has at least one "FIELD: reason"
 * problem and a zeroed query. The pairs "county" and "id", when given,
 * also go through zb_query_accident: 0, or exactly one problem.
 *
 * The query module comes from the zb_agg library (instrumented in this
 * build). Seeds (corpus/fuzz_query/): one good and one bad query of each
 * kind, text after the selector byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "figures.h"
#include "fuzz.h"
#include "query.h"
#include "report.h"
#include "timefmt.h"

#define FUZZ_QUERY_MAX 4096u /* a URL's query is short */
#define PAIRS_MAX 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

typedef struct {
    const char *name[PAIRS_MAX], *value[PAIRS_MAX];
    size_t n;
} pairs;

static const char *lookup(void *ctx, const char *name)
{
    const pairs *p = ctx;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

/* Split text (modified in place) at '&' and '='. */
static void split(char *text, pairs *p)
{
    p->n = 0;
    for (char *s = text; s && p->n < PAIRS_MAX;) {
        char *amp = strchr(s, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(s, '=');
        if (eq) {
            *eq = '\0';
            p->name[p->n] = s;
            p->value[p->n++] = eq + 1;
        }
        s = amp ? amp + 1 : NULL;
    }
}

static void check_ok(const zb_query *q, const char *kind, zb_query_dialect d, int64_t now,
                     const pairs *p)
{
    FUZZ_CHECK(kind != NULL && strcmp(zb_query_kind_name(q->kind), kind) == 0);
    if (d == ZB_QUERY_API)
        FUZZ_CHECK(q->format == ZB_FORMAT_JSON);
    else
        FUZZ_CHECK((int)q->format == zb_format_parse(lookup((void *)p, "format")));
    char buf[16];
    switch (q->kind) {
    case ZB_QUERY_MONTHLY:
        FUZZ_CHECK(q->month >= 1 && q->month <= 12);
        FUZZ_CHECK(zb_period_format(q->year, q->month, buf, sizeof buf) == 0);
        FUZZ_CHECK(strcmp(buf, lookup((void *)p, "period")) == 0);
        break;
    case ZB_QUERY_ACCIDENTS: {
        int64_t from, to;
        FUZZ_CHECK(strcmp(q->from_s, lookup((void *)p, "from")) == 0);
        FUZZ_CHECK(strcmp(q->to_s, lookup((void *)p, "to")) == 0);
        FUZZ_CHECK(zb_date_parse(q->from_s, &from) == 0 && from == q->from);
        FUZZ_CHECK(zb_date_parse(q->to_s, &to) == 0 && to + 86400 == q->to_end);
        FUZZ_CHECK(q->from < q->to_end);
        break;
    }
    case ZB_QUERY_MATRIX: {
        int n = zb_period_ordinal(q->to_year, q->to_month) - zb_period_ordinal(q->year, q->month);
        FUZZ_CHECK(n >= 0 && n < ZB_MATRIX_MAX_PERIODS);
        FUZZ_CHECK(zb_period_format(q->year, q->month, buf, sizeof buf) == 0);
        FUZZ_CHECK(strcmp(buf, q->from_s) == 0 && strcmp(q->from_s, lookup((void *)p, "from")) == 0);
        FUZZ_CHECK(zb_period_format(q->to_year, q->to_month, buf, sizeof buf) == 0);
        FUZZ_CHECK(strcmp(buf, q->to_s) == 0 && strcmp(q->to_s, lookup((void *)p, "to")) == 0);
        break;
    }
    case ZB_QUERY_INDICATORS: {
        int cur_year;
        zb_period_of(now, &cur_year, NULL);
        FUZZ_CHECK(q->year >= ZB_FIGURES_YEAR_MIN && q->year <= cur_year && q->month == 0);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const kinds[8] = {"monthly", "accidents", "matrix", "indicators",
                                         NULL,      "",          "bogus",  "Monthly"};
    static const int64_t nows[8] = {1791937800, 1798732799, 1798732800, 0,
                                    -1,         INT64_MAX,  INT64_MIN,  946656000};
    if (size < 1 || size > FUZZ_QUERY_MAX)
        return -1;
    const char *kind = kinds[data[0] & 7];
    zb_query_dialect d = (data[0] & 8) ? ZB_QUERY_API : ZB_QUERY_CLI;
    int64_t now = nows[(data[0] >> 4) & 7];
    char *text = malloc(size);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0'; /* a NUL inside ends the text early, as in a C string */
    pairs p;
    split(text, &p);

    zb_problems pr = {0};
    zb_query q;
    memset(&q, 0xA5, sizeof q);
    int rc = zb_query_parse(kind, lookup, &p, d, now, &q, &pr);
    if (rc == ZB_OK) {
        FUZZ_CHECK(pr.n == 0);
        check_ok(&q, kind, d, now, &p);
    } else {
        FUZZ_CHECK(rc == ZB_EVALIDATION && pr.n >= 1);
        FUZZ_CHECK(q.kind == 0 && q.format == 0 && q.year == 0 && q.month == 0 &&
                   q.to_year == 0 && q.to_month == 0 && q.from == 0 && q.to_end == 0 &&
                   q.from_s[0] == '\0' && q.to_s[0] == '\0');
        for (size_t i = 0; i < pr.n; i++)
            FUZZ_CHECK(strstr(pr.lines[i], ": ") != NULL);
    }
    zb_problems_free(&pr);

    const char *id = lookup(&p, "id");
    if (id) {
        rc = zb_query_accident(lookup(&p, "county"), id, &pr);
        FUZZ_CHECK(rc == ZB_OK ? pr.n == 0 : rc == ZB_EVALIDATION && pr.n == 1);
        zb_problems_free(&pr);
    }
    free(text);
    return 0;
}
