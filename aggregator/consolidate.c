/* consolidate.c - see consolidate.h. */
#include "consolidate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "figures.h"
#include "log.h"
#include "render.h"
#include "rules.h"
#include "timefmt.h"

#define TASKS_TOTAL (ZB_TASK_MAX - ZB_TASK_MIN + 1) /* 25 reportable tasks */

/* ------------------------------------------------------------ reading the store */

typedef char county_code[ZB_COUNTY_LEN + 1];

/* The enrolled counties, in code order (LMDB key order). */
typedef struct {
    county_code *codes;
    size_t n;
} county_list;

static void county_list_free(county_list *l)
{
    free(l->codes);
    l->codes = NULL;
    l->n = 0;
}

static int county_list_read(MDB_txn *txn, MDB_dbi dbi, county_list *l)
{
    l->codes = NULL;
    l->n = 0;
    MDB_stat st;
    int rc = mdb_stat(txn, dbi, &st);
    if (rc)
        return zb_mdb_err(rc);
    l->codes = calloc(st.ms_entries ? st.ms_entries : 1, sizeof *l->codes);
    if (!l->codes)
        return ZB_ENOMEM;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, dbi, &cur))) {
        county_list_free(l);
        return zb_mdb_err(rc);
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && l->n < st.ms_entries;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != ZB_COUNTY_LEN)
            continue;
        memcpy(l->codes[l->n], k.mv_data, ZB_COUNTY_LEN);
        l->codes[l->n][ZB_COUNTY_LEN] = '\0';
        l->n++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        county_list_free(l);
        return zb_mdb_err(rc);
    }
    return ZB_OK;
}

static int code_cmp(const void *key, const void *elem)
{
    return strcmp(key, (const char *)elem);
}

/* Index of county in l, or -1. */
static long county_index(const county_list *l, const char *county)
{
    if (l->n == 0)
        return -1;
    const county_code *c = bsearch(county, l->codes, l->n, sizeof *l->codes, code_cmp);
    return c ? (long)(c - l->codes) : -1;
}

/* Called once per stored report, in key order (county, then seq). The
 * report is borrowed for the call. Nonzero return stops the scan. */
typedef int (*visit_fn)(void *ctx, const char *county, uint64_t seq, int64_t received_at,
                        const Zb__Report *r);

/* One read pass over the envelopes database. An entry that does not
 * decode is logged and skipped (the store verified it on ingest; `check`
 * is the tool that reports damage). */
/* want: the content kind the visitor reads (others are skipped before
 * unpacking), or 0 for every report. */
static int scan_envelopes(MDB_txn *txn, MDB_dbi dbi, int want, visit_fn fn, void *ctx)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return zb_mdb_err(rc);
    MDB_val k, v;
    int mrc, out = ZB_OK;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != ZB_COUNTY_LEN + 8 || v.mv_size <= 8) {
            ZB_WARN("ZB-REPORT-BADKEY", "envelopes: entry with a %zu-byte key skipped", k.mv_size);
            continue;
        }
        char county[ZB_COUNTY_LEN + 1];
        memcpy(county, k.mv_data, ZB_COUNTY_LEN);
        county[ZB_COUNTY_LEN] = '\0';
        uint64_t seq = zb_be64_get((const uint8_t *)k.mv_data + ZB_COUNTY_LEN);
        int64_t received_at = (int64_t)zb_be64_get(v.mv_data);
        /* the store holds what ingest verified, canonical: read the report
         * bytes in place and unpack them once (no envelope copy, no
         * re-encoding check: `zhibao-agg check` re-verifies everything) */
        const uint8_t *rep;
        size_t rep_len;
        Zb__Report *r = NULL;
        int viewed =
            zb_envelope_report_view((const uint8_t *)v.mv_data + 8, v.mv_size - 8, &rep, &rep_len);
        if (viewed == 0 && want) {
            int kind = zb_report_content_kind(rep, rep_len);
            if (kind != 0 && kind != want)
                continue; /* the other kind: not needed here */
        }
        if (viewed != 0 || (r = zb__report__unpack(NULL, rep_len, rep)) == NULL ||
            r->content_case == ZB__REPORT__CONTENT__NOT_SET) {
            ZB_WARN("ZB-REPORT-UNDECODABLE", "county %s seq %" PRIu64 ": stored report skipped",
                    county, seq);
            if (r)
                zb__report__free_unpacked(r, NULL);
            continue;
        }
        rc = fn(ctx, county, seq, received_at, r);
        zb__report__free_unpacked(r, NULL);
        if (rc) {
            out = rc;
            break;
        }
    }
    mdb_cursor_close(cur);
    if (out == ZB_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        out = zb_mdb_err(mrc);
    return out;
}

/* ------------------------------------------------------------ JSON helpers */

static const char *county_name(const char *code)
{
    const zb_county *c = zb_county_find(code);
    return c ? c->name : "";
}

/* json_object_set_new that reports allocation failure. */
static int put(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        return ZB_ENOMEM;
    return ZB_OK;
}

/* ------------------------------------------------------------ monthly */

#define STATS_MAX 16 /* >= fields of MonthlyStats */

typedef struct {
    unsigned versions;
    uint64_t first_seq, cur_seq;
    int64_t first_created_at, cur_created_at, cur_received_at;
    unsigned tasks[4]; /* by zb_task_status; [0] unused */
    unsigned tasks_reported;
    bool has_stat[STATS_MAX];
    uint64_t stat[STATS_MAX];
} monthly_county;

typedef struct {
    const county_list *counties;
    int ordinal; /* zb_period_ordinal of the period wanted */
    monthly_county *rows;
} monthly_ctx;

static const ProtobufCMessageDescriptor *stats_desc(void)
{
    return &zb__monthly_stats__descriptor;
}

static int monthly_visit(void *vctx, const char *county, uint64_t seq, int64_t received_at,
                         const Zb__Report *r)
{
    monthly_ctx *ctx = vctx;
    int y, m;
    if (r->content_case != ZB__REPORT__CONTENT_MONTHLY || !r->monthly ||
        zb_period_parse(r->monthly->period, &y, &m) != 0 || zb_period_ordinal(y, m) != ctx->ordinal)
        return 0;
    long i = county_index(ctx->counties, county);
    if (i < 0)
        return 0;
    monthly_county *c = &ctx->rows[i];
    if (c->versions == 0 || seq < c->first_seq) {
        c->first_seq = seq;
        c->first_created_at = r->created_at;
    }
    c->versions++;
    if (c->versions > 1 && seq < c->cur_seq)
        return 0; /* an older version: only its timeliness counts */
    c->cur_seq = seq;
    c->cur_created_at = r->created_at;
    c->cur_received_at = received_at;
    memset(c->tasks, 0, sizeof c->tasks);
    c->tasks_reported = 0;
    for (size_t t = 0; t < r->monthly->n_tasks; t++) {
        unsigned st = (unsigned)r->monthly->tasks[t]->status;
        if (st < 4)
            c->tasks[st]++;
        c->tasks_reported++;
    }
    memset(c->has_stat, 0, sizeof c->has_stat);
    const Zb__MonthlyStats *s = r->monthly->stats;
    const ProtobufCMessageDescriptor *d = stats_desc();
    for (unsigned f = 0; s && f < d->n_fields && f < STATS_MAX; f++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[f];
        const char *base = (const char *)s;
        if (*(const protobuf_c_boolean *)(base + fd->quantifier_offset)) {
            c->has_stat[f] = true;
            c->stat[f] = *(const uint64_t *)(base + fd->offset);
        }
    }
    return 0;
}

static int monthly_row(json_t *row, const char *code, const monthly_county *c, zb_filing f)
{
    int rc = 0;
    rc |= put(row, "county", json_string(code));
    rc |= put(row, "name", json_string(county_name(code)));
    rc |= put(row, "status", json_string(zb_filing_name(f)));
    bool filed = c->versions > 0;
    rc |= put(row, "created_at", filed ? zb_json_time(c->cur_created_at) : json_null());
    rc |= put(row, "received_at", filed ? zb_json_time(c->cur_received_at) : json_null());
    rc |= put(row, "clock_suspect", json_boolean(filed && c->cur_created_at > c->cur_received_at));
    rc |= put(row, "first_created_at", filed ? zb_json_time(c->first_created_at) : json_null());
    rc |= put(row, "version", json_integer(c->versions));
    rc |= put(row, "seq", filed ? json_integer((json_int_t)c->cur_seq) : json_null());
    rc |= put(row, "tasks_done", json_integer(c->tasks[ZB_TASK_DONE]));
    rc |= put(row, "tasks_in_progress", json_integer(c->tasks[ZB_TASK_IN_PROGRESS]));
    rc |= put(row, "tasks_not_started", json_integer(c->tasks[ZB_TASK_NOT_STARTED]));
    rc |= put(row, "tasks_not_reported",
              json_integer(c->tasks_reported < TASKS_TOTAL ? TASKS_TOTAL - c->tasks_reported : 0));
    const ProtobufCMessageDescriptor *d = stats_desc();
    for (unsigned s = 0; s < d->n_fields && s < STATS_MAX; s++)
        rc |= put(row, d->fields[s].name,
                  c->has_stat[s] ? json_integer((json_int_t)c->stat[s]) : json_null());
    return rc ? ZB_ENOMEM : ZB_OK;
}

int zb_consolidate_monthly(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, int year, int month,
                           int64_t now, json_t **out)
{
    *out = NULL;
    county_list cl;
    int rc = county_list_read(txn, counties, &cl);
    if (rc)
        return rc;
    monthly_ctx ctx = {&cl, zb_period_ordinal(year, month),
                       calloc(cl.n ? cl.n : 1, sizeof(monthly_county))};
    json_t *doc = json_object(), *rows = json_array(), *total = json_object(),
           *reporting = json_object();
    if (!ctx.rows || !doc || !rows || !total || !reporting) {
        rc = ZB_ENOMEM;
        goto fail;
    }
    if ((rc = scan_envelopes(txn, envelopes, ZB__REPORT__CONTENT_MONTHLY, monthly_visit, &ctx)))
        goto fail;

    const ProtobufCMessageDescriptor *d = stats_desc();
    monthly_county sum = {0};
    unsigned n_stat[STATS_MAX] = {0}, by_status[3] = {0};
    for (size_t i = 0; i < cl.n; i++) {
        const monthly_county *c = &ctx.rows[i];
        zb_filing f = zb_filing_status(c->versions > 0, c->first_created_at, year, month);
        by_status[f]++;
        json_t *row = json_object();
        if (!row || monthly_row(row, cl.codes[i], c, f) || json_array_append_new(rows, row)) {
            rc = ZB_ENOMEM;
            goto fail;
        }
        sum.versions += c->versions;
        for (int t = 0; t < 4; t++)
            sum.tasks[t] += c->tasks[t];
        sum.tasks_reported += c->tasks_reported;
        for (unsigned s = 0; s < d->n_fields && s < STATS_MAX; s++)
            if (c->has_stat[s]) {
                sum.has_stat[s] = true;
                sum.stat[s] += c->stat[s];
                n_stat[s]++;
            }
    }
    char period[16], deadline[40];
    int64_t dl = zb_period_deadline(year, month);
    if (zb_period_format(year, month, period, sizeof period) ||
        zb_time_format(dl, ZB_CST_OFFSET_MIN, 0, deadline, sizeof deadline)) {
        rc = ZB_EINVAL;
        goto fail;
    }
    rc = 0;
    rc |= put(total, "county", json_string("total"));
    rc |= put(total, "name", json_string(""));
    rc |= put(total, "counties", json_integer((json_int_t)cl.n));
    rc |= put(total, "on_time", json_integer(by_status[ZB_FILING_ON_TIME]));
    rc |= put(total, "late", json_integer(by_status[ZB_FILING_LATE]));
    rc |= put(total, "missing", json_integer(by_status[ZB_FILING_MISSING]));
    rc |= put(total, "version", json_integer(sum.versions));
    rc |= put(total, "tasks_done", json_integer(sum.tasks[ZB_TASK_DONE]));
    rc |= put(total, "tasks_in_progress", json_integer(sum.tasks[ZB_TASK_IN_PROGRESS]));
    rc |= put(total, "tasks_not_started", json_integer(sum.tasks[ZB_TASK_NOT_STARTED]));
    rc |= put(total, "tasks_not_reported",
              json_integer((json_int_t)(cl.n - by_status[ZB_FILING_MISSING]) * TASKS_TOTAL -
                           (json_int_t)sum.tasks_reported));
    for (unsigned s = 0; s < d->n_fields && s < STATS_MAX; s++) {
        rc |= put(total, d->fields[s].name,
                  sum.has_stat[s] ? json_integer((json_int_t)sum.stat[s]) : json_null());
        rc |= put(reporting, d->fields[s].name, json_integer(n_stat[s]));
    }
    rc |= put(total, "counties_reporting", reporting);
    reporting = NULL;
    rc |= put(doc, "period", json_string(period));
    rc |= put(doc, "deadline", json_string(deadline));
    rc |= put(doc, "deadline_passed", json_boolean(now > dl));
    rc |= put(doc, "timeliness_rule", json_string("first_version_created_at"));
    rc |= put(doc, "rows", rows);
    rows = NULL;
    rc |= put(doc, "total", total);
    total = NULL;
    if (rc) {
        rc = ZB_ENOMEM;
        goto fail;
    }
    free(ctx.rows);
    county_list_free(&cl);
    *out = doc;
    return ZB_OK;
fail:
    json_decref(doc);
    json_decref(rows);
    json_decref(total);
    json_decref(reporting);
    free(ctx.rows);
    county_list_free(&cl);
    return rc;
}

/* ------------------------------------------------------------ accidents */

typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    char id[ZB_ACCIDENT_ID_MAX + 1];
    int64_t received_at;
    zb_accident_rev rev;
} accident_item;

typedef struct {
    accident_item *items;
    size_t n, cap;
} accident_ctx;

static int accident_visit(void *vctx, const char *county, uint64_t seq, int64_t received_at,
                          const Zb__Report *r)
{
    accident_ctx *ctx = vctx;
    const Zb__AccidentReport *a = r->accident;
    if (r->content_case != ZB__REPORT__CONTENT_ACCIDENT || !a || !a->accident_id ||
        !a->occurred_at || !a->county_notified_at)
        return 0;
    size_t id_len = strlen(a->accident_id);
    if (id_len > ZB_ACCIDENT_ID_MAX) {
        ZB_WARN("ZB-REPORT-BADID", "county %s seq %" PRIu64 ": accident id too long, skipped",
                county, seq);
        return 0;
    }
    if (ctx->n == ctx->cap) {
        size_t cap = ctx->cap ? 2 * ctx->cap : 256;
        accident_item *p = realloc(ctx->items, cap * sizeof *p);
        if (!p)
            return ZB_ENOMEM;
        ctx->items = p;
        ctx->cap = cap;
    }
    accident_item *it = &ctx->items[ctx->n++];
    memset(it, 0, sizeof *it);
    memcpy(it->county, county, ZB_COUNTY_LEN + 1);
    memcpy(it->id, a->accident_id, id_len + 1); /* length checked above */
    it->received_at = received_at;
    zb_accident_rev_of(r, seq, &it->rev);
    return 0;
}

static int item_cmp(const void *pa, const void *pb)
{
    const accident_item *a = pa, *b = pb;
    int c = strcmp(a->county, b->county);
    if (c)
        return c;
    if ((c = strcmp(a->id, b->id)))
        return c;
    return zb_accident_rev_cmp(&a->rev, &b->rev);
}

/* One accident in force: its last item and its flags. */
typedef struct {
    const accident_item *cur;
    size_t revisions;
    unsigned flags;
} accident_out;

static int out_cmp(const void *pa, const void *pb)
{
    const accident_out *a = pa, *b = pb;
    if (a->cur->rev.occurred_at != b->cur->rev.occurred_at)
        return a->cur->rev.occurred_at > b->cur->rev.occurred_at ? -1 : 1; /* newest first */
    int c = strcmp(a->cur->county, b->cur->county);
    return c ? c : strcmp(a->cur->id, b->cur->id);
}

/* Add one accident to totals[key] = {"accidents", "deaths", "missing"}. */
static int total_add(json_t *totals, const char *key, const zb_accident_rev *r)
{
    json_t *t = json_object_get(totals, key);
    if (!t) {
        t = json_object();
        if (!t || json_object_set_new(totals, key, t))
            return ZB_ENOMEM;
        json_object_set_new(t, "accidents", json_integer(0));
        json_object_set_new(t, "deaths", json_integer(0));
        json_object_set_new(t, "missing", json_integer(0));
        if (!r)
            return ZB_OK;
    }
    if (!r)
        return ZB_OK;
    json_object_set_new(t, "accidents",
                        json_integer(json_integer_value(json_object_get(t, "accidents")) + 1));
    json_object_set_new(t, "deaths",
                        json_integer(json_integer_value(json_object_get(t, "deaths")) + r->deaths));
    json_object_set_new(
        t, "missing", json_integer(json_integer_value(json_object_get(t, "missing")) + r->missing));
    return ZB_OK;
}

static int accident_row(json_t *row, const accident_out *o)
{
    const accident_item *it = o->cur;
    const zb_accident_rev *r = &it->rev;
    zb_grade g = zb_accident_rev_grade(r);
    const char *ind = zb_industry_name(r->industry);
    json_t *flags = json_array();
    int rc = flags ? 0 : ZB_ENOMEM;
    for (unsigned i = 0; flags && i < ZB_FLAG_COUNT; i++)
        if (o->flags & (1u << i))
            rc |=
                json_array_append_new(flags, json_string(zb_accident_flag_name(i))) ? ZB_ENOMEM : 0;
    rc |= put(row, "county", json_string(it->county));
    rc |= put(row, "name", json_string(county_name(it->county)));
    rc |= put(row, "accident_id", json_string(it->id));
    rc |= put(row, "revision", json_integer(r->revision));
    rc |= put(row, "revisions", json_integer((json_int_t)o->revisions));
    rc |= put(row, "occurred_at", zb_json_time(r->occurred_at));
    rc |= put(row, "industry", ind ? json_string(ind) : json_null());
    rc |= put(row, "grade", json_string(zb_grade_name(g)));
    rc |= put(row, "deaths", json_integer(r->deaths));
    rc |= put(row, "missing", json_integer(r->missing));
    rc |= put(row, "serious_injuries", json_integer(r->serious_injuries));
    rc |= put(row, "direct_loss_yuan", json_integer((json_int_t)r->direct_loss_yuan));
    rc |= put(row, "report_to", json_string(zb_grade_report_to(g)));
    rc |= put(row, "flags", flags);
    rc |= put(row, "county_notified_at", zb_json_time(r->county_notified_at));
    rc |= put(row, "created_at", zb_json_time(r->created_at));
    rc |= put(row, "received_at", zb_json_time(it->received_at));
    rc |= put(row, "clock_suspect", json_boolean(r->created_at > it->received_at));
    rc |= put(row, "seq", json_integer((json_int_t)r->seq));
    return rc ? ZB_ENOMEM : ZB_OK;
}

int zb_consolidate_accidents(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, int64_t from,
                             int64_t to_end, const char *from_s, const char *to_s, json_t **out)
{
    *out = NULL;
    county_list cl = {0};
    accident_ctx ctx = {0};
    accident_out *outs = NULL;
    zb_accident_rev *revs = NULL;
    size_t n_out = 0;
    json_t *doc = json_object(), *list = json_array(), *totals = json_object(),
           *by_county = json_object(), *by_industry = json_object(), *by_grade = json_object();
    int rc = ZB_ENOMEM;
    if (!doc || !list || !totals || !by_county || !by_industry || !by_grade)
        goto fail;
    if ((rc = county_list_read(txn, counties, &cl)) ||
        (rc = scan_envelopes(txn, envelopes, ZB__REPORT__CONTENT_ACCIDENT, accident_visit, &ctx)))
        goto fail;
    rc = ZB_ENOMEM;
    if (ctx.n > 1)
        qsort(ctx.items, ctx.n, sizeof *ctx.items, item_cmp);
    outs = calloc(ctx.n ? ctx.n : 1, sizeof *outs);
    revs = calloc(ctx.n ? ctx.n : 1, sizeof *revs);
    if (!outs || !revs)
        goto fail;
    for (size_t i = 0; i < ctx.n;) {
        size_t j = i;
        while (j < ctx.n && strcmp(ctx.items[j].county, ctx.items[i].county) == 0 &&
               strcmp(ctx.items[j].id, ctx.items[i].id) == 0) {
            revs[j - i] = ctx.items[j].rev;
            j++;
        }
        const accident_item *cur = &ctx.items[j - 1];
        if (cur->rev.occurred_at >= from && cur->rev.occurred_at < to_end) {
            outs[n_out].cur = cur;
            outs[n_out].revisions = j - i;
            outs[n_out].flags = zb_accident_flags(revs, j - i);
            n_out++;
        }
        i = j;
    }
    if (n_out > 1)
        qsort(outs, n_out, sizeof *outs, out_cmp);

    /* every enrolled county and every grade appears in the totals, with zeros */
    for (size_t i = 0; i < cl.n; i++)
        if (total_add(by_county, cl.codes[i], NULL))
            goto fail;
    for (int g = ZB_GRADE_GENERAL; g <= ZB_GRADE_ESPECIALLY_SERIOUS; g++)
        if (total_add(by_grade, zb_grade_name((zb_grade)g), NULL))
            goto fail;
    for (size_t i = 0; i < n_out; i++) {
        const zb_accident_rev *r = &outs[i].cur->rev;
        const char *ind = zb_industry_name(r->industry);
        json_t *row = json_object();
        if (!row || accident_row(row, &outs[i]) || json_array_append_new(list, row) ||
            total_add(by_county, outs[i].cur->county, r) ||
            total_add(by_industry, ind ? ind : "unknown", r) ||
            total_add(by_grade, zb_grade_name(zb_accident_rev_grade(r)), r))
            goto fail;
    }
    int e = 0;
    e |= put(totals, "by_county", by_county);
    by_county = NULL;
    e |= put(totals, "by_industry", by_industry);
    by_industry = NULL;
    e |= put(totals, "by_grade", by_grade);
    by_grade = NULL;
    e |= put(totals, "accidents", json_integer((json_int_t)n_out));
    e |= put(doc, "from", json_string(from_s));
    e |= put(doc, "to", json_string(to_s));
    e |= put(doc, "grade_rule", json_string(zb_missing_rule_name(ZB_MISSING_COUNT_AS_DEAD)));
    e |= put(doc, "accidents", list);
    list = NULL;
    e |= put(doc, "totals", totals);
    totals = NULL;
    if (e)
        goto fail;
    free(outs);
    free(revs);
    free(ctx.items);
    county_list_free(&cl);
    *out = doc;
    return ZB_OK;
fail:
    json_decref(doc);
    json_decref(list);
    json_decref(totals);
    json_decref(by_county);
    json_decref(by_industry);
    json_decref(by_grade);
    free(outs);
    free(revs);
    free(ctx.items);
    county_list_free(&cl);
    return rc ? rc : ZB_ENOMEM;
}

/* ------------------------------------------------------------ matrix */

typedef struct {
    bool filed;
    uint64_t first_seq;
    int64_t first_created_at;
} matrix_cell;

typedef struct {
    const county_list *counties;
    int first, n_periods; /* period ordinals first .. first + n_periods - 1 */
    matrix_cell *cells;   /* county-major */
} matrix_ctx;

static int matrix_visit(void *vctx, const char *county, uint64_t seq, int64_t received_at,
                        const Zb__Report *r)
{
    (void)received_at;
    matrix_ctx *ctx = vctx;
    int y, m;
    if (r->content_case != ZB__REPORT__CONTENT_MONTHLY || !r->monthly ||
        zb_period_parse(r->monthly->period, &y, &m) != 0)
        return 0;
    int p = zb_period_ordinal(y, m) - ctx->first;
    long i = county_index(ctx->counties, county);
    if (p < 0 || p >= ctx->n_periods || i < 0)
        return 0;
    matrix_cell *c = &ctx->cells[(size_t)i * (size_t)ctx->n_periods + (size_t)p];
    if (!c->filed || seq < c->first_seq) {
        c->filed = true;
        c->first_seq = seq;
        c->first_created_at = r->created_at;
    }
    return 0;
}

int zb_consolidate_matrix(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, int y0, int m0, int y1,
                          int m1, json_t **out)
{
    *out = NULL;
    int first = zb_period_ordinal(y0, m0), n = zb_period_ordinal(y1, m1) - first + 1;
    if (n < 1 || n > ZB_MATRIX_MAX_PERIODS)
        return ZB_EINVAL;
    county_list cl;
    int rc = county_list_read(txn, counties, &cl);
    if (rc)
        return rc;
    matrix_ctx ctx = {&cl, first, n, calloc((cl.n ? cl.n : 1) * (size_t)n, sizeof(matrix_cell))};
    json_t *doc = json_object(), *periods = json_array(), *rows = json_array(),
           *totals = json_object();
    rc = ZB_ENOMEM;
    if (!ctx.cells || !doc || !periods || !rows || !totals)
        goto fail;
    if ((rc = scan_envelopes(txn, envelopes, ZB__REPORT__CONTENT_MONTHLY, matrix_visit, &ctx)))
        goto fail;
    rc = ZB_ENOMEM;
    char names[ZB_MATRIX_MAX_PERIODS][16];
    for (int p = 0; p < n; p++) {
        int ord = first + p;
        if (zb_period_format(ord / 12, ord % 12 + 1, names[p], sizeof names[p]) ||
            json_array_append_new(periods, json_string(names[p])))
            goto fail;
        json_t *t = json_object();
        if (!t || json_object_set_new(totals, names[p], t) || put(t, "on_time", json_integer(0)) ||
            put(t, "late", json_integer(0)) || put(t, "missing", json_integer(0)))
            goto fail;
    }
    for (size_t i = 0; i < cl.n; i++) {
        json_t *row = json_object();
        if (!row || json_array_append_new(rows, row) ||
            put(row, "county", json_string(cl.codes[i])) ||
            put(row, "name", json_string(county_name(cl.codes[i]))))
            goto fail;
        for (int p = 0; p < n; p++) {
            const matrix_cell *c = &ctx.cells[i * (size_t)n + (size_t)p];
            int ord = first + p;
            zb_filing f = zb_filing_status(c->filed, c->first_created_at, ord / 12, ord % 12 + 1);
            const char *fname = zb_filing_name(f);
            json_t *t = json_object_get(totals, names[p]);
            if (put(row, names[p], json_string(fname)) ||
                put(t, fname, json_integer(json_integer_value(json_object_get(t, fname)) + 1)))
                goto fail;
        }
    }
    int e = 0;
    e |= put(doc, "from", json_string(names[0]));
    e |= put(doc, "to", json_string(names[n - 1]));
    e |= put(doc, "timeliness_rule", json_string("first_version_created_at"));
    e |= put(doc, "periods", periods);
    periods = NULL;
    e |= put(doc, "rows", rows);
    rows = NULL;
    e |= put(doc, "totals", totals);
    totals = NULL;
    if (e)
        goto fail;
    free(ctx.cells);
    county_list_free(&cl);
    *out = doc;
    return ZB_OK;
fail:
    json_decref(doc);
    json_decref(periods);
    json_decref(rows);
    json_decref(totals);
    free(ctx.cells);
    county_list_free(&cl);
    return rc;
}

/* ------------------------------------------------------------ indicators */

typedef struct {
    uint64_t accidents, deaths, missing, prev_deaths;
    uint64_t imc_deaths, road_deaths, coal_deaths;
    bool has_figures, has_base;
    zb_figures fig;
    uint64_t base;
} ind_row;

static json_t *u64_json(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *rate_json(uint64_t deaths, bool known, double denominator, double scale)
{
    double r;
    return known && zb_death_rate(deaths, denominator, scale, &r) ? zb_json_real6(r) : json_null();
}

static int indicator_row(json_t *row, const char *code, const char *name, const ind_row *c,
                         double elapsed)
{
    int rc = 0;
    rc |= put(row, "county", json_string(code));
    rc |= put(row, "name", json_string(name));
    rc |= put(row, "accidents", u64_json(c->accidents));
    rc |= put(row, "deaths", u64_json(c->deaths));
    rc |= put(row, "missing", u64_json(c->missing));
    rc |= put(row, "previous_deaths", u64_json(c->prev_deaths));
    rc |= put(row, "change_vs_previous",
              json_integer((json_int_t)c->deaths - (json_int_t)c->prev_deaths));
    rc |= put(row, "change_vs_previous_pct",
              c->prev_deaths ? zb_json_real6(((double)c->deaths - (double)c->prev_deaths) /
                                             (double)c->prev_deaths * 100.0)
                             : json_null());
    zb_target_progress t;
    zb_target_progress_of(c->deaths, c->base, elapsed, &t);
    bool hb = c->has_base, hc = hb && t.has_change;
    rc |= put(row, "base_deaths", hb ? u64_json(c->base) : json_null());
    rc |= put(row, "base_deaths_prorated", hb ? zb_json_real6(t.base_prorated) : json_null());
    rc |= put(row, "target_deaths", hb ? zb_json_real6(t.target) : json_null());
    rc |= put(row, "target_deaths_prorated", hb ? zb_json_real6(t.target_prorated) : json_null());
    rc |= put(row, "change_vs_base_pct", hc ? zb_json_real6(t.change_pct) : json_null());
    rc |= put(row, "target_progress_pct", hc ? zb_json_real6(t.progress_pct) : json_null());
    rc |= put(row, "on_track", hb ? json_boolean(t.on_track) : json_null());
    rc |= put(row, "deaths_industry_mining_commerce", u64_json(c->imc_deaths));
    rc |= put(row, "deaths_road_traffic", u64_json(c->road_deaths));
    rc |= put(row, "deaths_coal_mine", u64_json(c->coal_deaths));
    const zb_figures *f = &c->fig;
    unsigned pr = c->has_figures ? f->present : 0;
    rc |=
        put(row, "gdp_100m_yuan", pr & ZB_FIG_GDP ? zb_json_real6(f->gdp_100m_yuan) : json_null());
    rc |= put(row, "workers_industry_mining_commerce",
              pr & ZB_FIG_WORKERS ? u64_json(f->workers) : json_null());
    rc |= put(row, "motor_vehicles", pr & ZB_FIG_VEHICLES ? u64_json(f->vehicles) : json_null());
    rc |= put(row, "coal_output_tonnes", pr & ZB_FIG_COAL ? u64_json(f->coal_tonnes) : json_null());
    rc |= put(row, "deaths_per_100m_yuan_gdp",
              rate_json(c->deaths, pr & ZB_FIG_GDP, f->gdp_100m_yuan, 1.0));
    rc |= put(row, "deaths_per_100k_workers",
              rate_json(c->imc_deaths, pr & ZB_FIG_WORKERS, (double)f->workers, 1e5));
    rc |= put(row, "road_deaths_per_10k_vehicles",
              rate_json(c->road_deaths, pr & ZB_FIG_VEHICLES, (double)f->vehicles, 1e4));
    rc |= put(row, "coal_deaths_per_million_tonnes",
              rate_json(c->coal_deaths, pr & ZB_FIG_COAL, (double)f->coal_tonnes, 1e6));
    return rc ? ZB_ENOMEM : ZB_OK;
}

/* row's figures and base from the figures database; ZB_ENOTFOUND is not
 * an error (not loaded). */
static int indicator_load(MDB_txn *txn, MDB_dbi figures, const char *county, int year, ind_row *row)
{
    int rc = zb_figures_get(txn, figures, county, year, &row->fig);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    row->has_figures = rc == 0;
    rc = zb_base_deaths_get(txn, figures, county, ZB_BASE_YEAR, &row->base);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    row->has_base = rc == 0;
    return ZB_OK;
}

int zb_consolidate_indicators(MDB_txn *txn, MDB_dbi envelopes, MDB_dbi counties, MDB_dbi figures,
                              int year, int64_t now, json_t **out)
{
    *out = NULL;
    county_list cl = {0};
    accident_ctx ctx = {0};
    ind_row *rows_acc = NULL;
    json_t *doc = json_object(), *rows = json_array(), *total = json_object(), *imc = json_array();
    int rc = ZB_ENOMEM;
    if (!doc || !rows || !total || !imc)
        goto fail;
    if ((rc = county_list_read(txn, counties, &cl)) ||
        (rc = scan_envelopes(txn, envelopes, ZB__REPORT__CONTENT_ACCIDENT, accident_visit, &ctx)))
        goto fail;
    rc = ZB_ENOMEM;
    rows_acc = calloc(cl.n + 1, sizeof *rows_acc); /* [cl.n]: the total */
    if (!rows_acc)
        goto fail;
    zb_indicator_window w;
    zb_indicator_window_of(year, now, &w);
    if (ctx.n > 1)
        qsort(ctx.items, ctx.n, sizeof *ctx.items, item_cmp);
    /* the revision in force of each accident: the last of its group */
    for (size_t i = 0; i < ctx.n; i++) {
        if (i + 1 < ctx.n && strcmp(ctx.items[i + 1].county, ctx.items[i].county) == 0 &&
            strcmp(ctx.items[i + 1].id, ctx.items[i].id) == 0)
            continue;
        const zb_accident_rev *r = &ctx.items[i].rev;
        long ci = county_index(&cl, ctx.items[i].county);
        if (ci < 0)
            continue;
        ind_row *c = &rows_acc[ci];
        if (r->occurred_at >= w.prev_from && r->occurred_at < w.prev_to)
            c->prev_deaths += r->deaths;
        if (r->occurred_at < w.from || r->occurred_at >= w.to)
            continue;
        c->accidents++;
        c->deaths += r->deaths;
        c->missing += r->missing;
        if (zb_industry_mining_commerce(r->industry))
            c->imc_deaths += r->deaths;
        if (r->industry == ZB__INDUSTRY__ROAD_TRAFFIC)
            c->road_deaths += r->deaths;
        if (r->industry == ZB__INDUSTRY__COAL_MINE)
            c->coal_deaths += r->deaths;
    }

    ind_row *t = &rows_acc[cl.n];
    unsigned fig_all = cl.n ? ZB_FIG_GDP | ZB_FIG_WORKERS | ZB_FIG_VEHICLES | ZB_FIG_COAL : 0;
    bool base_all = cl.n > 0;
    for (size_t i = 0; i < cl.n; i++) {
        ind_row *c = &rows_acc[i];
        if ((rc = indicator_load(txn, figures, cl.codes[i], year, c)))
            goto fail;
        rc = ZB_ENOMEM;
        t->accidents += c->accidents;
        t->deaths += c->deaths;
        t->missing += c->missing;
        t->prev_deaths += c->prev_deaths;
        t->imc_deaths += c->imc_deaths;
        t->road_deaths += c->road_deaths;
        t->coal_deaths += c->coal_deaths;
        fig_all &= c->has_figures ? c->fig.present : 0;
        base_all &= c->has_base;
        t->fig.gdp_100m_yuan += c->fig.gdp_100m_yuan;
        t->fig.workers += c->fig.workers;
        t->fig.vehicles += c->fig.vehicles;
        t->fig.coal_tonnes += c->fig.coal_tonnes;
        t->base += c->base;
        json_t *row = json_object();
        if (!row || indicator_row(row, cl.codes[i], county_name(cl.codes[i]), c, w.elapsed) ||
            json_array_append_new(rows, row))
            goto fail;
    }
    /* the total's denominators and base: the prefecture's own when loaded,
     * else the sum over the counties when every county has them */
    ind_row pref = {0};
    if ((rc = indicator_load(txn, figures, ZB_PREFECTURE_CODE, year, &pref)))
        goto fail;
    rc = ZB_ENOMEM;
    const char *fig_src = NULL, *base_src = NULL;
    if (pref.has_figures) {
        t->fig = pref.fig;
        t->has_figures = true;
        fig_src = "prefecture";
    } else if (fig_all) {
        t->fig.present = fig_all;
        t->has_figures = true;
        fig_src = "sum_of_counties";
    }
    if (pref.has_base) {
        t->base = pref.base;
        t->has_base = true;
        base_src = "prefecture";
    } else if (base_all) {
        t->has_base = true;
        base_src = "sum_of_counties";
    }
    if (indicator_row(total, "total", "", t, w.elapsed) ||
        put(total, "figures_source", fig_src ? json_string(fig_src) : json_null()) ||
        put(total, "base_source", base_src ? json_string(base_src) : json_null()))
        goto fail;
    for (int i = ZB_INDUSTRY_MIN; i <= ZB_INDUSTRY_MAX; i++)
        if (zb_industry_mining_commerce(i) &&
            json_array_append_new(imc, json_string(zb_industry_name(i))))
            goto fail;
    int e = 0;
    e |= put(doc, "year", json_integer(year));
    e |= put(doc, "from", zb_json_time(w.from));
    e |= put(doc, "to", zb_json_time(w.to));
    e |= put(doc, "previous_from", zb_json_time(w.prev_from));
    e |= put(doc, "previous_to", zb_json_time(w.prev_to));
    e |= put(doc, "elapsed_fraction", zb_json_real6(w.elapsed));
    e |= put(doc, "base_year", json_integer(ZB_BASE_YEAR));
    e |= put(doc, "target_reduction_pct", json_integer(ZB_TARGET_REDUCTION_PCT));
    e |= put(doc, "deaths_rule", json_string("confirmed_deaths_only"));
    e |= put(doc, "industry_mining_commerce", imc);
    imc = NULL;
    e |= put(doc, "rows", rows);
    rows = NULL;
    e |= put(doc, "total", total);
    total = NULL;
    if (e)
        goto fail;
    free(rows_acc);
    free(ctx.items);
    county_list_free(&cl);
    *out = doc;
    return ZB_OK;
fail:
    json_decref(doc);
    json_decref(rows);
    json_decref(total);
    json_decref(imc);
    free(rows_acc);
    free(ctx.items);
    county_list_free(&cl);
    return rc ? rc : ZB_ENOMEM;
}

/* ------------------------------------------------------------ one query */

int zb_consolidate_query(MDB_txn *txn, zb_store *s, const zb_query *q, int64_t now, json_t **out)
{
    MDB_dbi env = zb_store_dbi(s, AGG_DB_ENVELOPES), cty = zb_store_dbi(s, AGG_DB_COUNTIES);
    switch (q->kind) {
    case ZB_QUERY_MONTHLY:
        return zb_consolidate_monthly(txn, env, cty, q->year, q->month, now, out);
    case ZB_QUERY_ACCIDENTS:
        return zb_consolidate_accidents(txn, env, cty, q->from, q->to_end, q->from_s, q->to_s, out);
    case ZB_QUERY_MATRIX:
        return zb_consolidate_matrix(txn, env, cty, q->year, q->month, q->to_year, q->to_month,
                                     out);
    case ZB_QUERY_INDICATORS:
        return zb_consolidate_indicators(txn, env, cty, zb_store_dbi(s, AGG_DB_FIGURES), q->year,
                                         now, out);
    }
    *out = NULL;
    return ZB_EINVAL;
}
