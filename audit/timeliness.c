/* timeliness.c - see timeliness.h; the rules are in docs/bundle.md §7. */
#include "timeliness.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "display.h"
#include "domain.h"
#include "err.h"
#include "i18n.h"
#include "timefmt.h"

/* A leaf the verdict needs, as the verifier reported it: a monthly report
 * of the period (seq, t1 its created_at, t2 its leaf time) or a Deadline
 * message of the period (t1 the deadline). */
typedef struct {
    char county[ZB_AUDIT_COUNTY_LEN + 1];
    uint64_t log_index;
    uint64_t seq;
    int64_t t1, t2;
} leaf_item;

/* A head of the bundle's log with a quorum of valid cosignatures. */
typedef struct {
    zb_tree_head head;
    zb_cosig_tally tally;
    int64_t quorum_at; /* the quorum-th earliest valid cosignature */
} quorum_head;

typedef struct {
    char period[8]; /* "YYYY-MM" */
    size_t quorum;
    char (*codes)[ZB_AUDIT_COUNTY_LEN + 1]; /* counties with a key event (repeats) */
    size_t n_codes, cap_codes;
    leaf_item *monthly;
    size_t n_monthly, cap_monthly;
    leaf_item *deadlines;
    size_t n_deadlines, cap_deadlines;
    quorum_head *heads;
    size_t n_heads, cap_heads;
    bool oom;
} judge_ctx;

/* Room for one more element in *arr (n used of *cap); false when out of
 * memory (then ctx->oom). */
static bool grow(judge_ctx *j, void **arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? 2 * *cap : 16;
    void *a = realloc(*arr, c * elem);
    if (!a) {
        j->oom = true;
        return false;
    }
    *arr = a;
    *cap = c;
    return true;
}

static void on_key_event(void *ctx, const zb_audit_key_event *e)
{
    judge_ctx *j = ctx;
    if (j->n_codes && strcmp(j->codes[j->n_codes - 1], e->county) == 0)
        return;
    if (!grow(j, (void **)&j->codes, j->n_codes, &j->cap_codes, sizeof *j->codes))
        return;
    snprintf(j->codes[j->n_codes++], sizeof *j->codes, "%s", e->county);
}

static void on_report(void *ctx, const Zb__Report *r, uint64_t log_index, int64_t time)
{
    judge_ctx *j = ctx;
    if (r->content_case != ZB__REPORT__CONTENT_MONTHLY || !r->monthly->period ||
        strcmp(r->monthly->period, j->period) != 0 || !zb_county_code_valid(r->county))
        return;
    if (!grow(j, (void **)&j->monthly, j->n_monthly, &j->cap_monthly, sizeof *j->monthly))
        return;
    leaf_item *m = &j->monthly[j->n_monthly++];
    snprintf(m->county, sizeof m->county, "%s", r->county);
    m->log_index = log_index;
    m->seq = r->seq;
    m->t1 = r->created_at;
    m->t2 = time;
}

static void on_downstream(void *ctx, const Zb__Downstream *d, uint64_t log_index, int64_t time)
{
    (void)time;
    judge_ctx *j = ctx;
    if (d->body_case != ZB__DOWNSTREAM__BODY_DEADLINE ||
        strcmp(d->deadline->period, j->period) != 0)
        return;
    if (!grow(j, (void **)&j->deadlines, j->n_deadlines, &j->cap_deadlines, sizeof *j->deadlines))
        return;
    leaf_item *m = &j->deadlines[j->n_deadlines++];
    memset(m, 0, sizeof *m);
    snprintf(m->county, sizeof m->county, "%s", d->county);
    m->log_index = log_index;
    m->t1 = d->deadline->deadline->unix;
}

static void on_head(void *ctx, const zb_audit_cosigned_head *h)
{
    judge_ctx *j = ctx;
    int64_t at;
    if (!h->of_log || zb_cosig_quorum_time(&h->tally, j->quorum, &at) != 0)
        return;
    if (!grow(j, (void **)&j->heads, j->n_heads, &j->cap_heads, sizeof *j->heads))
        return;
    j->heads[j->n_heads++] = (quorum_head){h->head, h->tally, at};
}

static int cmp_code(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int cmp_item(const void *a, const void *b)
{
    const leaf_item *x = a, *y = b;
    int c = strcmp(x->county, y->county);
    if (c)
        return c;
    return x->log_index < y->log_index ? -1 : x->log_index > y->log_index;
}

static int cmp_head(const void *a, const void *b)
{
    const quorum_head *x = a, *y = b;
    return x->head.size < y->head.size ? -1 : x->head.size > y->head.size;
}

/* The first of items[0..n) (sorted by cmp_item) of county, or n. */
static size_t first_of(const leaf_item *items, size_t n, const char *county)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(items[mid].county, county) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(items[lo].county, county) == 0 ? lo : n;
}

/* best[i]: the head of heads[i..n) (by size) whose quorum time is the
 * earliest, the smallest of those on a tie. */
static void earliest_from(const quorum_head *heads, size_t n, size_t *best)
{
    for (size_t i = n; i-- > 0;)
        best[i] = i + 1 < n && heads[best[i + 1]].quorum_at < heads[i].quorum_at ? best[i + 1] : i;
}

/* The first head (by size) of size > log_index, or n. */
static size_t heads_after(const quorum_head *heads, size_t n, uint64_t log_index)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (heads[mid].head.size <= log_index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void judge_free(judge_ctx *j)
{
    free(j->codes);
    free(j->monthly);
    free(j->deadlines);
    free(j->heads);
}

/* Each county's row from what the verifier reported. */
static int judge(judge_ctx *j, zb_timeliness *out)
{
    size_t n = 0;
    if (j->n_codes) {
        qsort(j->codes, j->n_codes, sizeof *j->codes, cmp_code);
        for (size_t i = 0; i < j->n_codes; i++)
            if (n == 0 || strcmp(j->codes[n - 1], j->codes[i]) != 0)
                memmove(j->codes[n++], j->codes[i], sizeof *j->codes);
    }
    if (j->n_monthly)
        qsort(j->monthly, j->n_monthly, sizeof *j->monthly, cmp_item);
    if (j->n_deadlines)
        qsort(j->deadlines, j->n_deadlines, sizeof *j->deadlines, cmp_item);
    if (j->n_heads)
        qsort(j->heads, j->n_heads, sizeof *j->heads, cmp_head);
    size_t *best = j->n_heads ? calloc(j->n_heads, sizeof *best) : NULL;
    out->rows = n ? calloc(n, sizeof *out->rows) : NULL;
    if ((j->n_heads && !best) || (n && !out->rows)) {
        free(best);
        return ZB_ENOMEM;
    }
    earliest_from(j->heads, j->n_heads, best);
    int64_t default_deadline = zb_period_deadline(out->year, out->month);
    for (size_t i = 0; i < n; i++) {
        zb_timeliness_row *r = &out->rows[out->n_rows++];
        snprintf(r->county, sizeof r->county, "%s", j->codes[i]);
        r->deadline = default_deadline;
        /* the latest Deadline message to the county for the period */
        size_t d = first_of(j->deadlines, j->n_deadlines, r->county);
        for (; d < j->n_deadlines && strcmp(j->deadlines[d].county, r->county) == 0; d++) {
            r->deadline = j->deadlines[d].t1;
            r->deadline_moved = true;
        }
        size_t m = first_of(j->monthly, j->n_monthly, r->county);
        if (m == j->n_monthly) {
            r->status = ZB_TIMELINESS_MISSING;
            continue;
        }
        const leaf_item *rep = &j->monthly[m]; /* the first version, in log order */
        r->seq = rep->seq;
        r->log_index = rep->log_index;
        r->created_at = rep->t1;
        r->received_at = rep->t2;
        r->status = r->created_at <= r->deadline ? ZB_TIMELINESS_ON_TIME : ZB_TIMELINESS_LATE;
        size_t h = heads_after(j->heads, j->n_heads, rep->log_index);
        if (h == j->n_heads)
            continue;
        const quorum_head *by = &j->heads[best[h]];
        r->logged = true;
        r->logged_size = by->head.size;
        r->witnessed_at = by->quorum_at;
        r->n_witnesses = by->tally.valid;
        memcpy(r->witnesses, by->tally.witnesses, by->tally.valid * ZB_PK_LEN);
        r->on_time_proven = r->witnessed_at <= r->deadline;
        if (r->on_time_proven)
            out->proven++;
    }
    free(best);
    return ZB_OK;
}

long zb_timeliness_judge(FILE *f, const zb_audit_opts *opts, int year, int month,
                         zb_audit_finding_fn finding, void *ctx, zb_timeliness *out)
{
    memset(out, 0, sizeof *out);
    if (!opts->pinned_key || opts->n_witness_keys == 0 || opts->n_witness_keys > ZB_WITNESS_MAX)
        return ZB_EINVAL;
    judge_ctx j = {.quorum = opts->witness_quorum ? opts->witness_quorum : 1};
    if (zb_period_format(year, month, j.period, sizeof j.period) != 0)
        return ZB_EINVAL;
    zb_audit_opts o = *opts;
    o.key_event = on_key_event;
    o.key_event_ctx = &j;
    o.report = on_report;
    o.downstream = on_downstream;
    o.cosigned_head = on_head;
    o.observe_ctx = &j;
    zb_audit_summary sum;
    long n = zb_audit_verify(f, &o, finding, ctx, &sum);
    if (n == 0 && j.oom)
        n = ZB_ENOMEM;
    if (n == 0) {
        out->year = year;
        out->month = month;
        memcpy(out->aggregator, opts->pinned_key, ZB_PK_LEN);
        out->quorum = j.quorum;
        int rc = judge(&j, out);
        if (rc) {
            zb_timeliness_free(out);
            n = rc;
        }
    }
    judge_free(&j);
    return n;
}

void zb_timeliness_free(zb_timeliness *t)
{
    free(t->rows);
    t->rows = NULL;
    t->n_rows = 0;
}

/* ---------------------------------------------------------------- output */

static const char *status_name(zb_timeliness_status s)
{
    switch (s) {
    case ZB_TIMELINESS_ON_TIME: return "on_time";
    case ZB_TIMELINESS_LATE: return "late";
    default: return "missing";
    }
}

static json_t *key_json(const uint8_t key[ZB_PK_LEN])
{
    char hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(key, ZB_PK_LEN, hex);
    return json_string(hex);
}

static json_t *row_json(const zb_timeliness_row *r)
{
    bool filed = r->status != ZB_TIMELINESS_MISSING;
    json_t *by = json_null();
    if (r->logged) {
        json_t *w = json_array();
        for (size_t i = 0; w && i < r->n_witnesses; i++)
            json_array_append_new(w, key_json(r->witnesses[i]));
        by = json_pack("{s:I, s:o, s:o?}", "tree_size", (json_int_t)r->logged_size, "witnessed_at",
                       zb_json_time(r->witnessed_at), "witnesses", w);
    }
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o?, s:b}", "county", r->county, "status",
        status_name(r->status), "seq", filed ? json_integer((json_int_t)r->seq) : json_null(),
        "log_index", filed ? json_integer((json_int_t)r->log_index) : json_null(), "created_at",
        filed ? zb_json_time(r->created_at) : json_null(), "received_at",
        filed ? zb_json_time(r->received_at) : json_null(), "deadline", zb_json_time(r->deadline),
        "logged_by", by, "on_time_proven", r->on_time_proven);
}

json_t *zb_timeliness_json(const zb_timeliness *t, const uint8_t (*keys)[ZB_PK_LEN], size_t n_keys)
{
    char period[8];
    json_t *witnesses = json_array(), *counties = json_array();
    if (!witnesses || !counties || zb_period_format(t->year, t->month, period, sizeof period)) {
        json_decref(witnesses);
        json_decref(counties);
        return NULL;
    }
    for (size_t i = 0; i < n_keys; i++)
        json_array_append_new(witnesses, key_json(keys[i]));
    for (size_t i = 0; i < t->n_rows; i++) {
        json_t *r = row_json(&t->rows[i]);
        if (!r || json_array_append_new(counties, r) != 0) {
            json_decref(witnesses);
            json_decref(counties);
            return NULL;
        }
    }
    return json_pack("{s:s, s:o, s:I, s:o, s:o}", "period", period, "aggregator",
                     key_json(t->aggregator), "witness_quorum", (json_int_t)t->quorum, "witnesses",
                     witnesses, "counties", counties);
}

enum { COLS = 10, CELL = 64 };

static void cell_time(char *cell, int64_t t)
{
    if (zb_time_format(t, ZB_CST_OFFSET_MIN, 0, cell, CELL) != 0)
        snprintf(cell, CELL, "%" PRId64, t);
}

/* One row, each cell padded to its column's width in terminal columns
 * (the last not). */
static void print_row(FILE *out, const char *const *cells, const size_t *width)
{
    for (int k = 0; k + 1 < COLS; k++) {
        size_t w = zb_display_width(cells[k]);
        fprintf(out, "%s%*s  ", cells[k], (int)(width[k] > w ? width[k] - w : 0), "");
    }
    fprintf(out, "%s\n", cells[COLS - 1]);
}

void zb_timeliness_print(FILE *out, const zb_timeliness *t)
{
    const char *const head[COLS] = {
        zb_trc("timeliness", "county"),     zb_trc("timeliness", "status"),
        zb_trc("timeliness", "seq"),        zb_trc("timeliness", "log_index"),
        zb_trc("timeliness", "created_at"), zb_trc("timeliness", "received_at"),
        zb_trc("timeliness", "deadline"),   zb_trc("timeliness", "witnessed_at"),
        zb_trc("timeliness", "tree_size"),  zb_trc("timeliness", "on_time_proven")};
    size_t width[COLS];
    for (int c = 0; c < COLS; c++)
        width[c] = zb_display_width(head[c]);
    char(*cells)[COLS][CELL] = t->n_rows ? calloc(t->n_rows, sizeof *cells) : NULL;
    if (t->n_rows && !cells) {
        fprintf(out, "%s\n", _("out of memory"));
        return;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        const zb_timeliness_row *r = &t->rows[i];
        char(*c)[CELL] = cells[i];
        bool filed = r->status != ZB_TIMELINESS_MISSING;
        snprintf(c[0], CELL, "%s", r->county);
        snprintf(c[1], CELL, "%s", zb_label(status_name(r->status))); /* 按时/迟报/未报 */
        if (filed) {
            snprintf(c[2], CELL, "%" PRIu64, r->seq);
            snprintf(c[3], CELL, "%" PRIu64, r->log_index);
            cell_time(c[4], r->created_at);
            cell_time(c[5], r->received_at);
        } else {
            for (int k = 2; k <= 5; k++)
                snprintf(c[k], CELL, "-");
        }
        cell_time(c[6], r->deadline);
        if (r->deadline_moved)
            snprintf(c[6] + strlen(c[6]), CELL - strlen(c[6]), "%s", _(" (moved)"));
        if (r->logged) {
            cell_time(c[7], r->witnessed_at);
            snprintf(c[8], CELL, "%" PRIu64, r->logged_size);
        } else {
            snprintf(c[7], CELL, "-");
            snprintf(c[8], CELL, "-");
        }
        snprintf(c[9], CELL, "%s",
                 r->on_time_proven ? zb_trc("timeliness", "yes") : zb_trc("timeliness", "no"));
        for (int k = 0; k < COLS; k++) {
            size_t w = zb_display_width(c[k]);
            width[k] = w > width[k] ? w : width[k];
        }
    }
    print_row(out, head, width);
    for (size_t i = 0; i < t->n_rows; i++) {
        const char *row[COLS];
        for (int k = 0; k < COLS; k++)
            row[k] = cells[i][k];
        print_row(out, row, width);
    }
    fprintf(out, _("proven on time: %zu of %zu counties\n"), t->proven, t->n_rows);
    free(cells);
}
