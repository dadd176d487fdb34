/* consolidate.c - see consolidate.h. */
#include "consolidate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "report.h"
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
        int viewed = zb_envelope_report_view((const uint8_t *)v.mv_data + 8, v.mv_size - 8, &rep,
                                             &rep_len);
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

/* ------------------------------------------------------------ indicators: pure rules */

#define CST_S (8 * 3600) /* +08:00 */

/* 1 January 00:00:00 +08:00 of year, Unix s. */
static int64_t year_start(int year)
{
    return zb_days_from_civil(year, 1, 1) * DAY_S - CST_S;
}

void zb_indicator_window_of(int year, int64_t now, zb_indicator_window *w)
{
    int64_t start = year_start(year), end = year_start(year + 1);
    int64_t to = now < start ? start : now > end ? end : now;
    w->from = start;
    w->to = to;
    w->prev_from = year_start(year - 1);
    if (to == end) {
        w->prev_to = start;
    } else {
        /* to's local date and time, one year earlier */
        int64_t local = to + CST_S;
        int64_t days = local / DAY_S, sod = local % DAY_S; /* local >= 0 for years >= 1970 */
        int month = 12;
        while (month > 1 && days < zb_days_from_civil(year, month, 1))
            month--;
        int day = (int)(days - zb_days_from_civil(year, month, 1)) + 1;
        /* 29 February of a common year is 1 March: zb_days_from_civil is arithmetic */
        int64_t prev = zb_days_from_civil(year - 1, month, day) * DAY_S + sod - CST_S;
        w->prev_to = prev > start ? start : prev;
    }
    w->elapsed = (double)(to - start) / (double)(end - start);
}

void zb_target_progress_of(uint64_t deaths, uint64_t base_deaths, double elapsed,
                           zb_target_progress *out)
{
    const double keep = (double)(100 - ZB_TARGET_REDUCTION_PCT) / 100.0;
    out->base_prorated = (double)base_deaths * elapsed;
    out->target = (double)base_deaths * keep;
    out->target_prorated = out->base_prorated * keep;
    out->has_change = out->base_prorated > 0;
    out->change_pct = out->has_change
                          ? ((double)deaths - out->base_prorated) / out->base_prorated * 100.0
                          : 0;
    out->progress_pct = out->has_change ? -out->change_pct / ZB_TARGET_REDUCTION_PCT * 100.0 : 0;
    out->on_track = (double)deaths <= out->target_prorated;
}

bool zb_death_rate(uint64_t deaths, double denominator, double scale, double *rate)
{
    if (!(denominator > 0))
        return false;
    *rate = (double)deaths / denominator * scale;
    return true;
}

enum {
    IND_COAL_MINE = 1,
    IND_ROAD_TRAFFIC = 7,
    IND_FIRE = 8,
    IND_WATER_TRAFFIC = 10,
    IND_RAILWAY = 11,
    IND_CIVIL_AVIATION = 12,
    IND_AGRICULTURAL_MACHINERY = 13,
    IND_FISHING_VESSEL = 14,
};

bool zb_industry_mining_commerce(int industry)
{
    if (industry < ZB_INDUSTRY_MIN || industry > ZB_INDUSTRY_MAX)
        return false;
    switch (industry) {
    case IND_ROAD_TRAFFIC:
    case IND_FIRE:
    case IND_WATER_TRAFFIC:
    case IND_RAILWAY:
    case IND_CIVIL_AVIATION:
    case IND_AGRICULTURAL_MACHINERY:
    case IND_FISHING_VESSEL: return false;
    default: return true;
    }
}

/* ------------------------------------------------------------ figures file */

void zb_figures_file_free(zb_figures_file *f)
{
    if (!f)
        return;
    free(f->figures);
    free(f->base);
    memset(f, 0, sizeof *f);
}

/* A county code at obj.county into out; false (problem added) when bad. */
static bool fig_county(const json_t *obj, const char *path, char out[7], zb_problems *p)
{
    const json_t *v = json_object_get(obj, "county");
    const char *s = json_string_value(v);
    if (!v) {
        zb_problems_add(p, "%s.county: missing", path);
        return false;
    }
    if (!s || !zb_county_code_valid(s)) {
        zb_problems_add(p, "%s.county: must be a 6-digit county code (e.g. \"222401\"; "
                           "\"222400\" for the prefecture)", path);
        return false;
    }
    memcpy(out, s, 7);
    return true;
}

static bool fig_year(const json_t *obj, const char *path, int lo, int hi, int *out,
                     zb_problems *p)
{
    const json_t *v = json_object_get(obj, "year");
    if (!v) {
        zb_problems_add(p, "%s.year: missing", path);
        return false;
    }
    json_int_t y = json_is_integer(v) ? json_integer_value(v) : -1;
    if (y < lo || y > hi) {
        if (lo == hi)
            zb_problems_add(p, "%s.year: must be %d (the base year of the target)", path, lo);
        else
            zb_problems_add(p, "%s.year: must be an integer %d..%d", path, lo, hi);
        return false;
    }
    *out = (int)y;
    return true;
}

/* An optional count obj.key (absent or null: not known). */
static bool fig_count(const json_t *obj, const char *path, const char *key, uint64_t max,
                      bool required, uint64_t *out, bool *present, zb_problems *p)
{
    const json_t *v = json_object_get(obj, key);
    *present = false;
    if (!v || json_is_null(v)) {
        if (required) {
            zb_problems_add(p, "%s.%s: missing", path, key);
            return false;
        }
        return true;
    }
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (n < 0 || (uint64_t)n > max) {
        zb_problems_add(p, "%s.%s: must be an integer 0..%" PRIu64 "%s", path, key, max,
                        required ? "" : " or null");
        return false;
    }
    *out = (uint64_t)n;
    *present = true;
    return true;
}

static bool fig_unknown_keys(const json_t *obj, const char *path, const char *const *known,
                             zb_problems *p)
{
    bool ok = true;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found) {
            zb_problems_add(p, "%s.%s: unknown field", path, key);
            ok = false;
        }
    }
    return ok;
}

static bool parse_figures_entry(const json_t *e, const char *path, zb_figures *f, zb_problems *p)
{
    static const char *const known[] = {"county",
                                        "year",
                                        "gdp_100m_yuan",
                                        "workers_industry_mining_commerce",
                                        "motor_vehicles",
                                        "coal_output_tonnes",
                                        NULL};
    if (!json_is_object(e)) {
        zb_problems_add(p, "%s: must be an object", path);
        return false;
    }
    memset(f, 0, sizeof *f);
    bool ok = fig_unknown_keys(e, path, known, p);
    ok &= fig_county(e, path, f->county, p);
    ok &= fig_year(e, path, ZB_FIGURES_YEAR_MIN, ZB_FIGURES_YEAR_MAX, &f->year, p);
    const json_t *gdp = json_object_get(e, "gdp_100m_yuan");
    if (gdp && !json_is_null(gdp)) {
        double g = json_is_number(gdp) ? json_number_value(gdp) : -1;
        if (!(g >= 0 && g <= ZB_FIGURE_GDP_MAX)) {
            zb_problems_add(p, "%s.gdp_100m_yuan: must be a number 0..%.0f (100 million yuan) "
                               "or null", path, ZB_FIGURE_GDP_MAX);
            ok = false;
        } else {
            f->gdp_100m_yuan = g;
            f->present |= ZB_FIG_GDP;
        }
    }
    static const struct {
        const char *key;
        unsigned bit;
        size_t off;
    } counts[] = {
        {"workers_industry_mining_commerce", ZB_FIG_WORKERS, offsetof(zb_figures, workers)},
        {"motor_vehicles", ZB_FIG_VEHICLES, offsetof(zb_figures, vehicles)},
        {"coal_output_tonnes", ZB_FIG_COAL, offsetof(zb_figures, coal_tonnes)}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        bool present;
        uint64_t *dst = (uint64_t *)((char *)f + counts[i].off);
        ok &= fig_count(e, path, counts[i].key, ZB_FIGURE_COUNT_MAX, false, dst, &present, p);
        if (present)
            f->present |= counts[i].bit;
    }
    return ok;
}

static bool parse_base_entry(const json_t *e, const char *path, zb_base_deaths *b, zb_problems *p)
{
    static const char *const known[] = {"county", "year", "deaths", NULL};
    if (!json_is_object(e)) {
        zb_problems_add(p, "%s: must be an object", path);
        return false;
    }
    memset(b, 0, sizeof *b);
    bool present;
    bool ok = fig_unknown_keys(e, path, known, p);
    ok &= fig_county(e, path, b->county, p);
    ok &= fig_year(e, path, ZB_BASE_YEAR, ZB_BASE_YEAR, &b->year, p);
    ok &= fig_count(e, path, "deaths", ZB_COUNT_MAX, true, &b->deaths, &present, p);
    return ok;
}

/* (county, year, index) of one entry, to find the same county and year twice. */
typedef struct {
    char county[7];
    int year;
    size_t index;
} fig_key;

static int fig_key_cmp(const void *pa, const void *pb)
{
    const fig_key *a = pa, *b = pb;
    int c = strcmp(a->county, b->county);
    if (c)
        return c;
    if (a->year != b->year)
        return a->year < b->year ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Problems for any county and year given twice in list name. */
static int fig_duplicates(fig_key *keys, size_t n, const char *name, zb_problems *p)
{
    if (n > 1)
        qsort(keys, n, sizeof *keys, fig_key_cmp);
    int dups = 0;
    for (size_t i = 1; i < n; i++)
        if (strcmp(keys[i].county, keys[i - 1].county) == 0 && keys[i].year == keys[i - 1].year) {
            size_t first = i - 1;
            while (first > 0 && strcmp(keys[first - 1].county, keys[i].county) == 0 &&
                   keys[first - 1].year == keys[i].year)
                first--;
            zb_problems_add(p, "%s[%zu]: county %s year %d given twice (first at %s[%zu])", name,
                            keys[i].index, keys[i].county, keys[i].year, name, keys[first].index);
            dups++;
        }
    return dups;
}

int zb_figures_parse(const json_t *doc, zb_figures_file *out, zb_problems *p)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc)) {
        zb_problems_add(p, "(input): must be a JSON object with \"figures\" and/or \"base\"");
        return ZB_EVALIDATION;
    }
    static const char *const known[] = {"figures", "base", NULL};
    size_t before = p->n;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found)
            zb_problems_add(p, "%s: unknown field (expected \"figures\" and/or \"base\")", key);
    }
    const json_t *figs = json_object_get(doc, "figures"), *base = json_object_get(doc, "base");
    if (!figs && !base)
        zb_problems_add(p, "(input): neither \"figures\" nor \"base\" given");
    const struct {
        const char *name;
        const json_t *arr;
    } lists[] = {{"figures", figs}, {"base", base}};
    bool lists_ok = true;
    for (size_t l = 0; l < 2; l++) {
        if (lists[l].arr && (!json_is_array(lists[l].arr) ||
                             json_array_size(lists[l].arr) > ZB_FIGURES_MAX_ENTRIES)) {
            zb_problems_add(p, "%s: must be a list of at most %d entries", lists[l].name,
                            ZB_FIGURES_MAX_ENTRIES);
            lists_ok = false;
        }
    }
    if (!lists_ok)
        return ZB_EVALIDATION;
    size_t nf = json_array_size(figs), nb = json_array_size(base);
    out->figures = calloc(nf ? nf : 1, sizeof *out->figures);
    out->base = calloc(nb ? nb : 1, sizeof *out->base);
    fig_key *keys = calloc((nf > nb ? nf : nb) + 1, sizeof *keys);
    if (!out->figures || !out->base || !keys) {
        free(keys);
        zb_figures_file_free(out);
        return ZB_ENOMEM;
    }
    char path[64];
    size_t nk = 0;
    for (size_t i = 0; i < nf; i++) {
        snprintf(path, sizeof path, "figures[%zu]", i);
        zb_figures *f = &out->figures[i];
        if (parse_figures_entry(json_array_get(figs, i), path, f, p)) {
            memcpy(keys[nk].county, f->county, 7);
            keys[nk].year = f->year;
            keys[nk++].index = i;
        }
    }
    fig_duplicates(keys, nk, "figures", p);
    nk = 0;
    for (size_t i = 0; i < nb; i++) {
        snprintf(path, sizeof path, "base[%zu]", i);
        zb_base_deaths *b = &out->base[i];
        if (parse_base_entry(json_array_get(base, i), path, b, p)) {
            memcpy(keys[nk].county, b->county, 7);
            keys[nk].year = b->year;
            keys[nk++].index = i;
        }
    }
    fig_duplicates(keys, nk, "base", p);
    free(keys);
    if (p->n > before) {
        zb_figures_file_free(out);
        return ZB_EVALIDATION;
    }
    out->n_figures = nf;
    out->n_base = nb;
    return ZB_OK;
}

/* ------------------------------------------------------------ figures database */

#define FIG_KEY_LEN (1 + ZB_COUNTY_LEN + 4)
#define FIG_F_LEN (1 + 1 + 8 * 4 + 8)
#define FIG_B_LEN (1 + 8 + 8)

static void fig_key_make(uint8_t key[FIG_KEY_LEN], char kind, const char *county, int year)
{
    key[0] = (uint8_t)kind;
    memcpy(key + 1, county, ZB_COUNTY_LEN);
    uint32_t y = (uint32_t)year;
    key[7] = (uint8_t)(y >> 24);
    key[8] = (uint8_t)(y >> 16);
    key[9] = (uint8_t)(y >> 8);
    key[10] = (uint8_t)y;
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

int zb_figures_put(MDB_txn *txn, MDB_dbi dbi, const zb_figures_file *f, int64_t loaded_at)
{
    uint8_t key[FIG_KEY_LEN], val[FIG_F_LEN];
    for (size_t i = 0; i < f->n_figures; i++) {
        const zb_figures *g = &f->figures[i];
        fig_key_make(key, 'F', g->county, g->year);
        val[0] = 1;
        val[1] = (uint8_t)g->present;
        zb_be64_put(val + 2, double_bits(g->gdp_100m_yuan));
        zb_be64_put(val + 10, g->workers);
        zb_be64_put(val + 18, g->vehicles);
        zb_be64_put(val + 26, g->coal_tonnes);
        zb_be64_put(val + 34, (uint64_t)loaded_at);
        MDB_val k = {sizeof key, key}, v = {FIG_F_LEN, val};
        int rc = mdb_put(txn, dbi, &k, &v, 0);
        if (rc)
            return zb_mdb_err(rc);
    }
    for (size_t i = 0; i < f->n_base; i++) {
        const zb_base_deaths *b = &f->base[i];
        fig_key_make(key, 'B', b->county, b->year);
        val[0] = 1;
        zb_be64_put(val + 1, b->deaths);
        zb_be64_put(val + 9, (uint64_t)loaded_at);
        MDB_val k = {sizeof key, key}, v = {FIG_B_LEN, val};
        int rc = mdb_put(txn, dbi, &k, &v, 0);
        if (rc)
            return zb_mdb_err(rc);
    }
    return ZB_OK;
}

static int fig_read(MDB_txn *txn, MDB_dbi dbi, char kind, const char *county, int year,
                    size_t len, const uint8_t **val)
{
    uint8_t key[FIG_KEY_LEN];
    if (strlen(county) != ZB_COUNTY_LEN)
        return ZB_ENOTFOUND;
    fig_key_make(key, kind, county, year);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ZB_ENOTFOUND;
    if (rc)
        return zb_mdb_err(rc);
    if (v.mv_size != len || ((const uint8_t *)v.mv_data)[0] != 1)
        return ZB_EDECODE;
    *val = v.mv_data;
    return ZB_OK;
}

int zb_figures_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year, zb_figures *out)
{
    const uint8_t *v = NULL;
    int rc = fig_read(txn, dbi, 'F', county, year, FIG_F_LEN, &v);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    memcpy(out->county, county, ZB_COUNTY_LEN);
    out->year = year;
    out->present = v[1] & (ZB_FIG_GDP | ZB_FIG_WORKERS | ZB_FIG_VEHICLES | ZB_FIG_COAL);
    out->gdp_100m_yuan = bits_double(zb_be64_get(v + 2));
    out->workers = zb_be64_get(v + 10);
    out->vehicles = zb_be64_get(v + 18);
    out->coal_tonnes = zb_be64_get(v + 26);
    return ZB_OK;
}

int zb_base_deaths_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year, uint64_t *deaths)
{
    const uint8_t *v = NULL;
    int rc = fig_read(txn, dbi, 'B', county, year, FIG_B_LEN, &v);
    if (rc)
        return rc;
    *deaths = zb_be64_get(v + 1);
    return ZB_OK;
}

/* ------------------------------------------------------------ indicators */

typedef struct {
    uint64_t accidents, deaths, missing, prev_deaths;
    uint64_t imc_deaths, road_deaths, coal_deaths;
    bool has_figures, has_base;
    zb_figures fig;
    uint64_t base;
} ind_row;

/* x rounded to 6 decimal places (half away from zero); x as is when too
 * large for that to matter. */
static double round6(double x)
{
    if (!(x > -1e12 && x < 1e12))
        return x;
    double s = x * 1e6;
    long long k = (long long)(s < 0 ? s - 0.5 : s + 0.5);
    return (double)k / 1e6;
}

static json_t *real_json(double x)
{
    return json_real(round6(x));
}

static json_t *u64_json(uint64_t v)
{
    return json_integer((json_int_t)v);
}

static json_t *rate_json(uint64_t deaths, bool known, double denominator, double scale)
{
    double r;
    return known && zb_death_rate(deaths, denominator, scale, &r) ? real_json(r) : json_null();
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
              c->prev_deaths ? real_json(((double)c->deaths - (double)c->prev_deaths) /
                                         (double)c->prev_deaths * 100.0)
                             : json_null());
    zb_target_progress t;
    zb_target_progress_of(c->deaths, c->base, elapsed, &t);
    bool hb = c->has_base, hc = hb && t.has_change;
    rc |= put(row, "base_deaths", hb ? u64_json(c->base) : json_null());
    rc |= put(row, "base_deaths_prorated", hb ? real_json(t.base_prorated) : json_null());
    rc |= put(row, "target_deaths", hb ? real_json(t.target) : json_null());
    rc |= put(row, "target_deaths_prorated", hb ? real_json(t.target_prorated) : json_null());
    rc |= put(row, "change_vs_base_pct", hc ? real_json(t.change_pct) : json_null());
    rc |= put(row, "target_progress_pct", hc ? real_json(t.progress_pct) : json_null());
    rc |= put(row, "on_track", hb ? json_boolean(t.on_track) : json_null());
    rc |= put(row, "deaths_industry_mining_commerce", u64_json(c->imc_deaths));
    rc |= put(row, "deaths_road_traffic", u64_json(c->road_deaths));
    rc |= put(row, "deaths_coal_mine", u64_json(c->coal_deaths));
    const zb_figures *f = &c->fig;
    unsigned pr = c->has_figures ? f->present : 0;
    rc |= put(row, "gdp_100m_yuan", pr & ZB_FIG_GDP ? real_json(f->gdp_100m_yuan) : json_null());
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
static int indicator_load(MDB_txn *txn, MDB_dbi figures, const char *county, int year,
                          ind_row *row)
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
    json_t *doc = json_object(), *rows = json_array(), *total = json_object(),
           *imc = json_array();
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
        if (r->industry == IND_ROAD_TRAFFIC)
            c->road_deaths += r->deaths;
        if (r->industry == IND_COAL_MINE)
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
    e |= put(doc, "from", time_json(w.from));
    e |= put(doc, "to", time_json(w.to));
    e |= put(doc, "previous_from", time_json(w.prev_from));
    e |= put(doc, "previous_to", time_json(w.prev_to));
    e |= put(doc, "elapsed_fraction", real_json(w.elapsed));
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
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
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

static const column indicator_cols[] = {
    {"county", "COUNTY", false},
    {"name", "NAME", false},
    {"accidents", "ACCID", true},
    {"deaths", "DEATHS", true},
    {"missing", "MISSING", true},
    {"previous_deaths", "PREV", true},
    {"change_vs_previous", "CHG", true},
    {"change_vs_previous_pct", "CHG%", true},
    {"base_deaths", "BASE-2015", true},
    {"base_deaths_prorated", "BASE-TO-DATE", true},
    {"target_deaths", "TARGET", true},
    {"target_deaths_prorated", "TARGET-TO-DATE", true},
    {"change_vs_base_pct", "VS-BASE%", true},
    {"target_progress_pct", "PROGRESS%", true},
    {"on_track", "ON-TRACK", false},
    {"deaths_industry_mining_commerce", "D-IMC", true},
    {"deaths_road_traffic", "D-ROAD", true},
    {"deaths_coal_mine", "D-COAL", true},
    {"gdp_100m_yuan", "GDP-100M", true},
    {"workers_industry_mining_commerce", "WORKERS", true},
    {"motor_vehicles", "VEHICLES", true},
    {"coal_output_tonnes", "COAL-T", true},
    {"deaths_per_100m_yuan_gdp", "/100M-GDP", true},
    {"deaths_per_100k_workers", "/100K-WORK", true},
    {"road_deaths_per_10k_vehicles", "ROAD/10K-VEH", true},
    {"coal_deaths_per_million_tonnes", "COAL/MT", true},
};

/* The table leaves the denominators to csv and json (it is wide enough). */
static bool indicator_table_col(const column *c)
{
    return strcmp(c->key, "gdp_100m_yuan") != 0 &&
           strcmp(c->key, "workers_industry_mining_commerce") != 0 &&
           strcmp(c->key, "motor_vehicles") != 0 && strcmp(c->key, "coal_output_tonnes") != 0;
}

static int print_indicators(FILE *f, const json_t *doc, zb_format fmt)
{
    json_t *total = json_object_get(doc, "total");
    if (fmt != ZB_FORMAT_TABLE)
        return print_doc_rows(f, indicator_cols, sizeof indicator_cols / sizeof indicator_cols[0],
                              json_object_get(doc, "rows"), total, NULL, fmt);
    column cols[sizeof indicator_cols / sizeof indicator_cols[0]];
    size_t n_cols = 0;
    for (size_t i = 0; i < sizeof indicator_cols / sizeof indicator_cols[0]; i++)
        if (indicator_table_col(&indicator_cols[i]))
            cols[n_cols++] = indicator_cols[i];
    /* on_track false reads "no" in the table (a blank would read "unknown") */
    json_t *rows = json_deep_copy(json_object_get(doc, "rows")), *tot = json_deep_copy(total);
    int rc = rows && tot ? ZB_OK : ZB_ENOMEM;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (json_is_false(json_object_get(row, "on_track")))
            rc |= put(row, "on_track", json_string("no"));
    }
    if (tot && json_is_false(json_object_get(tot, "on_track")))
        rc |= put(tot, "on_track", json_string("no"));
    if (rc == ZB_OK)
        rc = print_doc_rows(f, cols, n_cols, rows, tot, NULL, fmt);
    json_decref(rows);
    json_decref(tot);
    if (rc)
        return rc;
    const char *fs = json_string_value(json_object_get(total, "figures_source"));
    const char *bs = json_string_value(json_object_get(total, "base_source"));
    fprintf(f,
            "year %" JSON_INTEGER_FORMAT " to date: %s to %s (%.1f %% of the year), "
            "against %s to %s;\n"
            "deaths are confirmed deaths (the missing are shown apart); the %" JSON_INTEGER_FORMAT
            " base is its full-year deaths prorated by the share of the year elapsed; target "
            "-%" JSON_INTEGER_FORMAT " %%; PROGRESS%% = share of that reduction achieved;\n"
            "rates: deaths to date / the year's figures (csv and json also give the figures); "
            "total's figures: %s, base: %s\n",
            json_integer_value(json_object_get(doc, "year")),
            json_string_value(json_object_get(doc, "from")),
            json_string_value(json_object_get(doc, "to")),
            json_real_value(json_object_get(doc, "elapsed_fraction")) * 100,
            json_string_value(json_object_get(doc, "previous_from")),
            json_string_value(json_object_get(doc, "previous_to")),
            json_integer_value(json_object_get(doc, "base_year")),
            json_integer_value(json_object_get(doc, "target_reduction_pct")),
            fs ? fs : "not loaded", bs ? bs : "not loaded");
    return ZB_OK;
}

int zb_consolidate_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt)
{
    int rc;
    if (fmt == ZB_FORMAT_JSON) {
        /* 15 significant digits: the reals were rounded to 6 decimals */
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
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
    } else if (strcmp(kind, "indicators") == 0) {
        rc = print_indicators(f, doc, fmt);
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
    } else if (strcmp(kind, "indicators") == 0) {
        int cur_year;
        zb_period_of((int64_t)time(NULL), &cur_year, NULL);
        char *end = NULL;
        long y = o->year ? strtol(o->year, &end, 10) : 0;
        if (!o->year || end == o->year || *end || strlen(o->year) != 4 ||
            y < ZB_FIGURES_YEAR_MIN || y > cur_year) {
            if (o->year)
                fprintf(stderr, "error: --year: must be a year YYYY from %d to %d\n",
                        ZB_FIGURES_YEAR_MIN, cur_year);
            else
                fprintf(stderr, "error: --year: missing (YYYY, e.g. %d)\n", cur_year);
            return EXIT_USAGE;
        }
        y0 = (int)y;
    } else {
        fprintf(stderr, "error: report: %s (monthly, accidents, matrix or indicators)\n",
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
    else if (strcmp(kind, "indicators") == 0)
        rc = zb_consolidate_indicators(txn, env, cty, zb_store_dbi(s, AGG_DB_FIGURES), y0,
                                       (int64_t)time(NULL), &doc);
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

/* ------------------------------------------------------------ load-figures */

int zb_load_figures_command(zb_store *s, const char *path)
{
    size_t len = 0;
    int rerr;
    char *text = zb_read_file(path, ZB_FIGURES_FILE_MAX, &len, &rerr);
    if (!text) {
        if (rerr == ZB_ETOOBIG)
            fprintf(stderr, "error: FILE: %s is over %u bytes\n", path, ZB_FIGURES_FILE_MAX);
        else
            fprintf(stderr, "error: FILE: cannot read %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!doc) {
        fprintf(stderr, "error: (input): not valid JSON at line %d column %d: %s\n", jerr.line,
                jerr.column, jerr.text);
        return EXIT_USAGE;
    }
    zb_problems p = {0};
    zb_figures_file ff;
    int rc = zb_figures_parse(doc, &ff, &p);
    json_decref(doc);
    if (rc == ZB_EVALIDATION) {
        for (size_t i = 0; i < p.n; i++)
            fprintf(stderr, "error: %s\n", p.lines[i]);
        fprintf(stderr, "error: %zu problem(s) in %s: nothing stored\n", p.n, path);
        zb_problems_free(&p);
        return EXIT_USAGE;
    }
    zb_problems_free(&p);
    if (rc) {
        fprintf(stderr, "error: load-figures: %s\n", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    /* all or nothing: one write transaction; grow the map once if full */
    for (int attempt = 0;; attempt++) {
        MDB_txn *txn;
        if ((rc = zb_store_begin(s, false, &txn)))
            break;
        rc = zb_figures_put(txn, zb_store_dbi(s, AGG_DB_FIGURES), &ff, (int64_t)time(NULL));
        if (rc) {
            mdb_txn_abort(txn);
        } else {
            rc = zb_store_commit(txn);
        }
        if (rc != ZB_EMAPFULL || attempt > 0 || zb_store_grow(s) != 0)
            break;
    }
    if (rc) {
        fprintf(stderr, "error: load-figures: nothing stored: %s\n", zb_strerror(rc));
        zb_figures_file_free(&ff);
        return EXIT_RUNTIME;
    }
    printf("loaded %zu figures record(s) and %zu base record(s) from %s "
           "(each replaces what was stored for its county and year)\n",
           ff.n_figures, ff.n_base, path);
    ZB_INFO("ZB-FIGURES-LOADED", "%zu figures, %zu base record(s) loaded", ff.n_figures,
            ff.n_base);
    zb_figures_file_free(&ff);
    return 0;
}
