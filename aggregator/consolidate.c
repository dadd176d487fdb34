/* consolidate.c - see consolidate.h. */
#include "consolidate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "timefmt.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#define DAY_S 86400
#define TASKS_TOTAL (ZB_TASK_MAX - ZB_TASK_MIN + 1) /* 25 reportable tasks */
#define ACCIDENT_ID_MAX 64

/* ------------------------------------------------------------ pure rules */

const char *zb_filing_name(zb_filing f)
{
    switch (f) {
    case ZB_FILING_ON_TIME: return "on_time";
    case ZB_FILING_LATE: return "late";
    default: return "missing";
    }
}

zb_filing zb_filing_status(bool filed, int64_t first_created_at, int year, int month)
{
    if (!filed)
        return ZB_FILING_MISSING;
    return first_created_at <= zb_period_deadline(year, month) ? ZB_FILING_ON_TIME : ZB_FILING_LATE;
}

static const char *const flag_names[ZB_FLAG_COUNT] = {
    "initial_report_late", "unit_notice_late", "casualty_change_outside_window", "grade_rose"};

const char *zb_accident_flag_name(unsigned i)
{
    return i < ZB_FLAG_COUNT ? flag_names[i] : NULL;
}

static int rev_cmp(const void *pa, const void *pb)
{
    const zb_accident_rev *a = pa, *b = pb;
    if (a->revision != b->revision)
        return a->revision < b->revision ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void zb_accident_revs_sort(zb_accident_rev *revs, size_t n)
{
    if (n > 1)
        qsort(revs, n, sizeof *revs, rev_cmp);
}

/* a + b for b >= 0, saturating: signed times come from outside and may be
 * anything a county's key signed. */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static zb_grade rev_grade(const zb_accident_rev *r)
{
    return zb_grade_compute(r->deaths, r->missing, r->serious_injuries, r->direct_loss_yuan,
                            ZB_MISSING_COUNT_AS_DEAD);
}

unsigned zb_accident_flags(const zb_accident_rev *revs, size_t n)
{
    if (n == 0)
        return 0;
    const zb_accident_rev *first = &revs[0], *cur = &revs[n - 1];
    unsigned flags = 0;
    if (first->created_at > add_sat(cur->county_notified_at, ZB_UPWARD_REPORT_LIMIT_S))
        flags |= ZB_FLAG_INITIAL_REPORT_LATE;
    if (cur->county_notified_at > add_sat(cur->occurred_at, ZB_UNIT_NOTICE_LIMIT_S))
        flags |= ZB_FLAG_UNIT_NOTICE_LATE;
    int64_t window_end = add_sat(
        cur->occurred_at, (int64_t)zb_industry_casualty_window_days(cur->industry) * DAY_S);
    for (size_t i = 1; i < n; i++) {
        const zb_accident_rev *p = &revs[i - 1], *r = &revs[i];
        bool changed = r->deaths != p->deaths || r->missing != p->missing ||
                       r->serious_injuries != p->serious_injuries;
        if (changed && r->created_at > window_end)
            flags |= ZB_FLAG_CASUALTY_OUTSIDE_WINDOW;
    }
    if (rev_grade(cur) > rev_grade(first))
        flags |= ZB_FLAG_GRADE_ROSE;
    return flags;
}

int zb_format_parse(const char *s)
{
    if (!s || strcmp(s, "table") == 0)
        return ZB_FORMAT_TABLE;
    if (strcmp(s, "csv") == 0)
        return ZB_FORMAT_CSV;
    if (strcmp(s, "json") == 0)
        return ZB_FORMAT_JSON;
    return -1;
}

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
static int scan_envelopes(MDB_txn *txn, MDB_dbi dbi, visit_fn fn, void *ctx)
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
        Zb__Envelope *env =
            zb__envelope__unpack(NULL, v.mv_size - 8, (const uint8_t *)v.mv_data + 8);
        Zb__Report *r = NULL;
        if (!env || zb_report_decode(env->report.data, env->report.len, &r) != 0) {
            ZB_WARN("ZB-REPORT-UNDECODABLE", "county %s seq %" PRIu64 ": stored report skipped",
                    county, seq);
            if (env)
                zb__envelope__free_unpacked(env, NULL);
            continue;
        }
        rc = fn(ctx, county, seq, received_at, r);
        zb__report__free_unpacked(r, NULL);
        zb__envelope__free_unpacked(env, NULL);
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

static json_t *time_json(int64_t t)
{
    char buf[40];
    if (zb_time_format(t, ZB_CST_OFFSET_MIN, 0, buf, sizeof buf) != 0)
        return json_null();
    return json_string(buf);
}

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
    rc |= put(row, "created_at", filed ? time_json(c->cur_created_at) : json_null());
    rc |= put(row, "received_at", filed ? time_json(c->cur_received_at) : json_null());
    rc |= put(row, "clock_suspect", json_boolean(filed && c->cur_created_at > c->cur_received_at));
    rc |= put(row, "first_created_at", filed ? time_json(c->first_created_at) : json_null());
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
    if ((rc = scan_envelopes(txn, envelopes, monthly_visit, &ctx)))
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
    char id[ACCIDENT_ID_MAX + 1];
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
    if (id_len > ACCIDENT_ID_MAX) {
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
    it->rev.revision = a->revision;
    it->rev.seq = seq;
    it->rev.created_at = r->created_at;
    it->rev.occurred_at = a->occurred_at->unix;
    it->rev.county_notified_at = a->county_notified_at->unix;
    it->rev.industry = (int)a->industry;
    it->rev.deaths = a->deaths;
    it->rev.missing = a->missing;
    it->rev.serious_injuries = a->serious_injuries;
    it->rev.direct_loss_yuan = a->direct_loss_yuan;
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
    return rev_cmp(&a->rev, &b->rev);
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
    zb_grade g = rev_grade(r);
    const char *ind = zb_industry_name(r->industry);
    json_t *flags = json_array();
    int rc = flags ? 0 : ZB_ENOMEM;
    for (unsigned i = 0; flags && i < ZB_FLAG_COUNT; i++)
        if (o->flags & (1u << i))
            rc |= json_array_append_new(flags, json_string(flag_names[i])) ? ZB_ENOMEM : 0;
    rc |= put(row, "county", json_string(it->county));
    rc |= put(row, "name", json_string(county_name(it->county)));
    rc |= put(row, "accident_id", json_string(it->id));
    rc |= put(row, "revision", json_integer(r->revision));
    rc |= put(row, "revisions", json_integer((json_int_t)o->revisions));
    rc |= put(row, "occurred_at", time_json(r->occurred_at));
    rc |= put(row, "industry", ind ? json_string(ind) : json_null());
    rc |= put(row, "grade", json_string(zb_grade_name(g)));
    rc |= put(row, "deaths", json_integer(r->deaths));
    rc |= put(row, "missing", json_integer(r->missing));
    rc |= put(row, "serious_injuries", json_integer(r->serious_injuries));
    rc |= put(row, "direct_loss_yuan", json_integer((json_int_t)r->direct_loss_yuan));
    rc |= put(row, "report_to", json_string(zb_grade_report_to(g)));
    rc |= put(row, "flags", flags);
    rc |= put(row, "county_notified_at", time_json(r->county_notified_at));
    rc |= put(row, "created_at", time_json(r->created_at));
    rc |= put(row, "received_at", time_json(it->received_at));
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
        (rc = scan_envelopes(txn, envelopes, accident_visit, &ctx)))
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
            total_add(by_grade, zb_grade_name(rev_grade(r)), r))
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
    if ((rc = scan_envelopes(txn, envelopes, matrix_visit, &ctx)))
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

/* ------------------------------------------------------------ output */

static uint32_t utf8_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t c = *p++;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra)
        c &= (uint32_t)(0x3F >> extra);
    for (; extra > 0 && (*p & 0xC0) == 0x80; extra--)
        c = c << 6 | (*p++ & 0x3F);
    *pp = p;
    return c;
}

size_t zb_display_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = utf8_next(&p);
        bool wide = (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
                    (c >= 0x3041 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3) ||
                    (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
                    (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) ||
                    (c >= 0x20000 && c <= 0x3FFFD);
        w += wide ? 2 : 1;
    }
    return w;
}

typedef struct {
    const char *key;  /* JSON member of a row; CSV header */
    const char *head; /* table header */
    bool right;       /* numbers: right-aligned in the table */
} column;

static const column monthly_cols[] = {
    {"county", "COUNTY", false},
    {"name", "NAME", false},
    {"status", "STATUS", false},
    {"created_at", "CREATED", false},
    {"received_at", "RECEIVED", false},
    {"clock_suspect", "CLOCK?", false},
    {"version", "VER", true},
    {"tasks_done", "DONE", true},
    {"tasks_in_progress", "IN-PROG", true},
    {"tasks_not_started", "NOT-START", true},
    {"tasks_not_reported", "NOT-REP", true},
    {"inspections", "INSPECT", true},
    {"hazards_found", "HAZ-FOUND", true},
    {"hazards_fixed", "HAZ-FIXED", true},
    {"major_hazards_listed", "MAJOR-HAZ", true},
    {"enterprises_standardized", "STANDARD", true},
    {"penalties_yuan", "PENALTIES", true},
    {"training_sessions", "TRAINING", true},
    {"accidents", "ACCID", true},
    {"accident_deaths", "DEATHS", true},
    {"accident_serious_injuries", "SER-INJ", true},
    {"accident_direct_loss_yuan", "LOSS-YUAN", true},
};

static const column accident_cols[] = {
    {"county", "COUNTY", false},
    {"name", "NAME", false},
    {"accident_id", "ACCIDENT", false},
    {"revision", "REV", true},
    {"occurred_at", "OCCURRED", false},
    {"industry", "INDUSTRY", false},
    {"grade", "GRADE", false},
    {"deaths", "DEATHS", true},
    {"missing", "MISSING", true},
    {"serious_injuries", "SER-INJ", true},
    {"direct_loss_yuan", "LOSS-YUAN", true},
    {"report_to", "REPORT-TO", false},
    {"flags", "FLAGS", false},
};

/* Text of one cell; malloc'd, caller frees. NULL on allocation failure. */
static char *cell_text(const json_t *v, zb_format fmt)
{
    char buf[32];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? (fmt == ZB_FORMAT_CSV ? "true" : "yes")
                                      : (fmt == ZB_FORMAT_CSV ? "false" : ""));
    if (json_is_array(v)) {
        size_t len = 1, i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *t = json_string_value(e);
            len += (t ? strlen(t) : 0) + 1;
        }
        char *s = calloc(1, len), *p = s;
        if (!s)
            return NULL;
        json_array_foreach(v, i, e)
        {
            const char *t = json_string_value(e) ? json_string_value(e) : "";
            if (i)
                *p++ = ',';
            size_t n = strlen(t);
            memcpy(p, t, n);
            p += n;
        }
        *p = '\0';
        return s;
    }
    return strdup(fmt == ZB_FORMAT_CSV ? "" : "-"); /* null: unknown */
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Print rows (JSON objects; NULL entries skipped) under cols. */
static int print_rows(FILE *f, const column *cols, size_t n_cols, json_t *const *rows,
                      size_t n_rows, zb_format fmt)
{
    int rc = ZB_OK;
    char **cells = calloc(n_rows * n_cols + 1, sizeof *cells);
    size_t *width = calloc(n_cols, sizeof *width);
    if (!cells || !width) {
        rc = ZB_ENOMEM;
        goto out;
    }
    for (size_t c = 0; c < n_cols; c++)
        width[c] = zb_display_width(fmt == ZB_FORMAT_CSV ? cols[c].key : cols[c].head);
    for (size_t r = 0; r < n_rows; r++)
        for (size_t c = 0; c < n_cols; c++) {
            char *t = cell_text(json_object_get(rows[r], cols[c].key), fmt);
            if (!t) {
                rc = ZB_ENOMEM;
                goto out;
            }
            cells[r * n_cols + c] = t;
            size_t w = zb_display_width(t);
            if (w > width[c])
                width[c] = w;
        }
    if (fmt == ZB_FORMAT_CSV) {
        for (size_t c = 0; c < n_cols; c++) {
            if (c)
                fputc(',', f);
            csv_field(f, cols[c].key);
        }
        fputs("\r\n", f);
        for (size_t r = 0; r < n_rows; r++) {
            for (size_t c = 0; c < n_cols; c++) {
                if (c)
                    fputc(',', f);
                csv_field(f, cells[r * n_cols + c]);
            }
            fputs("\r\n", f);
        }
    } else {
        for (size_t r = 0; r <= n_rows; r++) {
            for (size_t c = 0; c < n_cols; c++) {
                const char *t = r == 0 ? cols[c].head : cells[(r - 1) * n_cols + c];
                size_t pad = width[c] - zb_display_width(t);
                bool last = c + 1 == n_cols;
                if (cols[c].right)
                    fprintf(f, "%*s%s", (int)pad, "", t);
                else
                    fprintf(f, "%s%*s", t, last ? 0 : (int)pad, "");
                if (!last)
                    fputs("  ", f);
            }
            fputc('\n', f);
        }
    }
out:
    if (cells)
        for (size_t i = 0; i < n_rows * n_cols; i++)
            free(cells[i]);
    free(cells);
    free(width);
    return rc;
}

/* Rows of doc[member] plus optional extra rows, as an array of pointers. */
static int print_doc_rows(FILE *f, const column *cols, size_t n_cols, const json_t *arr,
                          json_t *extra1, json_t *extra2, zb_format fmt)
{
    size_t n = json_array_size(arr), k = 0;
    json_t **rows = calloc(n + 2, sizeof *rows);
    if (!rows)
        return ZB_ENOMEM;
    for (size_t i = 0; i < n; i++)
        rows[k++] = json_array_get(arr, i);
    if (extra1)
        rows[k++] = extra1;
    if (extra2)
        rows[k++] = extra2;
    int rc = print_rows(f, cols, n_cols, rows, k, fmt);
    free(rows);
    return rc;
}

static int print_monthly(FILE *f, const json_t *doc, zb_format fmt)
{
    json_t *total = json_object_get(doc, "total");
    /* the counties that reported each statistic, as a row under the total */
    json_t *reporting = json_deep_copy(json_object_get(total, "counties_reporting"));
    if (!reporting)
        return ZB_ENOMEM;
    json_object_set_new(reporting, "county", json_string("reporting"));
    json_object_set_new(reporting, "name", json_string(""));
    int rc = print_doc_rows(f, monthly_cols, sizeof monthly_cols / sizeof monthly_cols[0],
                            json_object_get(doc, "rows"), total, reporting, fmt);
    json_decref(reporting);
    if (rc == 0 && fmt == ZB_FORMAT_TABLE)
        fprintf(f,
                "period %s, deadline %s%s: %" JSON_INTEGER_FORMAT " on time, %" JSON_INTEGER_FORMAT
                " late, %" JSON_INTEGER_FORMAT " missing of %" JSON_INTEGER_FORMAT
                " counties (timeliness by the first version's signed creation time; "
                "\"reporting\" = counties that reported each statistic)\n",
                json_string_value(json_object_get(doc, "period")),
                json_string_value(json_object_get(doc, "deadline")),
                json_is_true(json_object_get(doc, "deadline_passed")) ? "" : " (not yet passed)",
                json_integer_value(json_object_get(total, "on_time")),
                json_integer_value(json_object_get(total, "late")),
                json_integer_value(json_object_get(total, "missing")),
                json_integer_value(json_object_get(total, "counties")));
    return rc;
}

static int print_totals_table(FILE *f, const char *title, const json_t *totals)
{
    static const column cols[] = {{"key", "", false},
                                  {"accidents", "ACCIDENTS", true},
                                  {"deaths", "DEATHS", true},
                                  {"missing", "MISSING", true}};
    size_t n = json_object_size(totals), k = 0;
    json_t **rows = calloc(n + 1, sizeof *rows);
    if (!rows)
        return ZB_ENOMEM;
    const char *key;
    json_t *v;
    int rc = ZB_OK;
    json_object_foreach((json_t *)totals, key, v)
    {
        json_t *row = json_deep_copy(v);
        if (!row) {
            rc = ZB_ENOMEM;
            break;
        }
        json_object_set_new(row, "key", json_string(key));
        rows[k++] = row;
    }
    if (rc == 0) {
        fprintf(f, "\nby %s:\n", title);
        rc = print_rows(f, cols, sizeof cols / sizeof cols[0], rows, k, ZB_FORMAT_TABLE);
    }
    for (size_t i = 0; i < k; i++)
        json_decref(rows[i]);
    free(rows);
    return rc;
}

static int print_accidents(FILE *f, const json_t *doc, zb_format fmt)
{
    int rc = print_doc_rows(f, accident_cols, sizeof accident_cols / sizeof accident_cols[0],
                            json_object_get(doc, "accidents"), NULL, NULL, fmt);
    if (rc || fmt != ZB_FORMAT_TABLE)
        return rc;
    const json_t *t = json_object_get(doc, "totals");
    fprintf(f, "%" JSON_INTEGER_FORMAT " accident(s) from %s to %s (+08:00); grade rule: %s\n",
            json_integer_value(json_object_get(t, "accidents")),
            json_string_value(json_object_get(doc, "from")),
            json_string_value(json_object_get(doc, "to")),
            json_string_value(json_object_get(doc, "grade_rule")));
    if ((rc = print_totals_table(f, "county", json_object_get(t, "by_county"))) ||
        (rc = print_totals_table(f, "industry", json_object_get(t, "by_industry"))) ||
        (rc = print_totals_table(f, "grade", json_object_get(t, "by_grade"))))
        return rc;
    return ZB_OK;
}

static int print_matrix(FILE *f, const json_t *doc, zb_format fmt)
{
    const json_t *periods = json_object_get(doc, "periods");
    size_t n = json_array_size(periods);
    column *cols = calloc(n + 2, sizeof *cols);
    if (!cols)
        return ZB_ENOMEM;
    cols[0] = (column){"county", "COUNTY", false};
    cols[1] = (column){"name", "NAME", false};
    for (size_t i = 0; i < n; i++) {
        const char *p = json_string_value(json_array_get(periods, i));
        cols[i + 2] = (column){p, p, false};
    }
    int rc = print_doc_rows(f, cols, n + 2, json_object_get(doc, "rows"), NULL, NULL, fmt);
    free(cols);
    return rc;
}

int zb_consolidate_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt)
{
    int rc;
    if (fmt == ZB_FORMAT_JSON) {
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
            return ZB_ENOMEM;
        fputs(s, f);
        fputc('\n', f);
        free(s);
        rc = ZB_OK;
    } else if (strcmp(kind, "monthly") == 0) {
        rc = print_monthly(f, doc, fmt);
    } else if (strcmp(kind, "accidents") == 0) {
        rc = print_accidents(f, doc, fmt);
    } else {
        rc = print_matrix(f, doc, fmt);
    }
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = ZB_EIO;
    return rc;
}

/* ------------------------------------------------------------ the command */

int zb_report_command(zb_store *s, const zb_report_opts *o)
{
    int fmt = zb_format_parse(o->format);
    if (fmt < 0) {
        fprintf(stderr, "error: --format: must be table, csv or json\n");
        return EXIT_USAGE;
    }
    const char *kind = o->kind ? o->kind : "";
    int y0 = 0, m0 = 0, y1 = 0, m1 = 0;
    int64_t from = 0, to = 0;
    if (strcmp(kind, "monthly") == 0) {
        if (!o->period || zb_period_parse(o->period, &y0, &m0) != 0) {
            fprintf(stderr, "error: --period: %s (YYYY-MM, e.g. 2026-10)\n",
                    o->period ? "must be YYYY-MM" : "missing");
            return EXIT_USAGE;
        }
    } else if (strcmp(kind, "accidents") == 0) {
        int bad = 0;
        if (!o->from || zb_date_parse(o->from, &from) != 0) {
            fprintf(stderr, "error: --from: %s\n", o->from ? "must be YYYY-MM-DD" : "missing");
            bad = 1;
        }
        if (!o->to || zb_date_parse(o->to, &to) != 0) {
            fprintf(stderr, "error: --to: %s\n", o->to ? "must be YYYY-MM-DD" : "missing");
            bad = 1;
        }
        if (!bad && to < from) {
            fprintf(stderr, "error: --to: must not be before --from\n");
            bad = 1;
        }
        if (bad)
            return EXIT_USAGE;
    } else if (strcmp(kind, "matrix") == 0) {
        int bad = 0;
        if (!o->from || zb_period_parse(o->from, &y0, &m0) != 0) {
            fprintf(stderr, "error: --from: %s\n", o->from ? "must be YYYY-MM" : "missing");
            bad = 1;
        }
        if (!o->to || zb_period_parse(o->to, &y1, &m1) != 0) {
            fprintf(stderr, "error: --to: %s\n", o->to ? "must be YYYY-MM" : "missing");
            bad = 1;
        }
        int n = bad ? 1 : zb_period_ordinal(y1, m1) - zb_period_ordinal(y0, m0) + 1;
        if (n < 1 || n > ZB_MATRIX_MAX_PERIODS) {
            fprintf(stderr, "error: --to: must be from --from to %d months after it\n",
                    ZB_MATRIX_MAX_PERIODS - 1);
            bad = 1;
        }
        if (bad)
            return EXIT_USAGE;
    } else {
        fprintf(stderr, "error: report: %s (monthly, accidents or matrix)\n",
                *kind ? "unknown report" : "missing report kind");
        return EXIT_USAGE;
    }

    MDB_txn *txn;
    int rc = zb_store_begin(s, true, &txn);
    if (rc) {
        fprintf(stderr, "error: report: %s\n", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    MDB_dbi env = zb_store_dbi(s, AGG_DB_ENVELOPES), cty = zb_store_dbi(s, AGG_DB_COUNTIES);
    json_t *doc = NULL;
    if (strcmp(kind, "monthly") == 0)
        rc = zb_consolidate_monthly(txn, env, cty, y0, m0, (int64_t)time(NULL), &doc);
    else if (strcmp(kind, "accidents") == 0)
        rc = zb_consolidate_accidents(txn, env, cty, from, to + DAY_S, o->from, o->to, &doc);
    else
        rc = zb_consolidate_matrix(txn, env, cty, y0, m0, y1, m1, &doc);
    mdb_txn_abort(txn);
    if (rc == 0)
        rc = zb_consolidate_print(stdout, kind, doc, (zb_format)fmt);
    json_decref(doc);
    if (rc) {
        fprintf(stderr, "error: report %s: %s\n", kind, zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}
