/* consolidate.c - see consolidate.h. */
#include "consolidate.h"
#include "province.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "domain.h"
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "figures.h"
#include "log.h"
#include "render.h"
#include "rules.h"
#include "timefmt.h"

#define TASKS_TOTAL (ZB_TASK_MAX - ZB_TASK_MIN + 1) /* 25 reportable tasks */

/* ------------------------------------------------------------ reading the store */

/* Every report reads the store's indexes (astore.h) and decodes only the
 * rows it shows: the cost follows the rows returned, not the store. */

typedef char county_code[ZB_COUNTY_LEN + 1];

/* The enrolled counties, in code order. */
typedef struct {
    county_code *codes;
    size_t n, cap;
} county_list;

static void county_list_free(county_list *l)
{
    free(l->codes);
    memset(l, 0, sizeof *l);
}

static int county_list_add(void *ctx, const zb_county_rec *rec)
{
    county_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        county_code *c = realloc(l->codes, cap * sizeof *c);
        if (!c)
            return ZB_ENOMEM;
        l->codes = c;
        l->cap = cap;
    }
    memcpy(l->codes[l->n++], rec->county, ZB_COUNTY_LEN + 1);
    return 0;
}

static int county_list_add_code(void *ctx, const char *county, const char *prefecture)
{
    (void)prefecture;
    zb_county_rec rec = {0};
    memcpy(rec.county, county, ZB_COUNTY_LEN + 1);
    return county_list_add(ctx, &rec);
}

/* The counties the reports are about: a prefecture's enrolled counties; a
 * province's are its prefectures' counties, as their relays made them
 * known (its enrolled members are prefectures, not counties). */
static int county_list_read(zb_store *s, MDB_txn *txn, county_list *l)
{
    memset(l, 0, sizeof *l);
    zb_level level;
    char code[ZB_COUNTY_LEN + 1];
    int rc = zb_astore_office_get(s, txn, &level, code);
    if (rc == 0)
        rc = level == ZB_LEVEL_PROVINCE ? zb_astore_relay_counties(s, txn, county_list_add_code, l)
                                        : zb_astore_counties(s, txn, county_list_add, l);
    if (rc)
        county_list_free(l);
    return rc;
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

/* One accident as the reports show it: the revision in force, revision 0,
 * and its statistics (rules.h) from all its revisions. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    char id[ZB_ACCIDENT_ID_MAX + 1];
    zb_accident_rev rev;   /* the revision in force */
    zb_accident_rev first; /* revision 0 (the first in revision order) */
    size_t revisions;
    zb_accident_stats st;
    char *write_off_reason; /* malloc'd, written-off accidents only */
    char prefecture[ZB_COUNTY_LEN + 1]; /* at a province: who relays the county ("": none) */
} accident_item;

typedef struct {
    zb_store *s;
    MDB_txn *txn;
    int64_t now; /* the statistics' "now": closed windows, overdue follow-ups */
    accident_item *items;
    size_t n, cap;
} accident_list;

static void accident_list_free(accident_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].write_off_reason);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

/* The reason given in the written-off revision (seq) of county. */
static int write_off_reason(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                            char **out)
{
    Zb__Report *r;
    int rc = zb_astore_report_get(s, txn, county, seq, &r);
    if (rc)
        return rc;
    const char *why = r->accident ? r->accident->write_off_reason : NULL;
    *out = strdup(why ? why : "");
    zb__report__free_unpacked(r, NULL);
    return *out ? ZB_OK : ZB_ENOMEM;
}

static int accident_add(void *ctx, const char *county, const char *id)
{
    accident_list *l = ctx;
    zb_accident_rev *revs; /* the index keeps what the statistics read */
    size_t n;
    int rc = zb_astore_accident_revisions(l->s, l->txn, county, id, &revs, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? ZB_EDECODE : rc; /* indexed, so it has revisions */
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        accident_item *p = realloc(l->items, cap * sizeof *p);
        if (!p) {
            free(revs);
            return ZB_ENOMEM;
        }
        l->items = p;
        l->cap = cap;
    }
    zb_accident_revs_sort(revs, n);
    accident_item *it = &l->items[l->n];
    memset(it, 0, sizeof *it);
    memcpy(it->county, county, ZB_COUNTY_LEN + 1);
    snprintf(it->id, sizeof it->id, "%s", id);
    it->rev = revs[n - 1];
    it->first = revs[0];
    it->revisions = n;
    zb_accident_stats_of(revs, n, l->now, &it->st);
    free(revs);
    if ((rc = zb_astore_relay_county_get(l->s, l->txn, county, it->prefecture)) &&
        rc != ZB_ENOTFOUND)
        return rc;
    if (it->st.written_off &&
        (rc = write_off_reason(l->s, l->txn, county, it->rev.seq, &it->write_off_reason)))
        return rc;
    l->n++;
    return 0;
}

/* Every accident whose revision in force occurred in [from, to_end). */
static int accidents_read(zb_store *s, MDB_txn *txn, int64_t from, int64_t to_end, int64_t now,
                          accident_list *l)
{
    memset(l, 0, sizeof *l);
    l->s = s;
    l->txn = txn;
    l->now = now;
    int rc = zb_astore_accidents_occurred(s, txn, from, to_end, accident_add, l);
    if (rc)
        accident_list_free(l);
    return rc;
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
    int64_t first_received_at;
    bool first_before_previous;
    unsigned clock;             /* ZB_MCLOCK_* of the first version */
    bool cur_untrusted;         /* the version in force signed after it was received */
    unsigned accidents_direct; /* direct-reported, not written off, occurred in the period */
    /* the latest review of the version in force (astore.h idx_reviews) */
    bool reviewed;
    zb_review_state review;
    char *review_comment, *reviewer; /* malloc'd; NULL: none given (or not reviewed) */
} monthly_county;

static void monthly_county_free(monthly_county *c)
{
    free(c->review_comment);
    free(c->reviewer);
    c->review_comment = c->reviewer = NULL;
}

static const ProtobufCMessageDescriptor *stats_desc(void)
{
    return &zb__monthly_stats__descriptor;
}

static int monthly_version(void *ctx, const zb_monthly_version *v)
{
    monthly_county *c = ctx;
    if (c->versions == 0) { /* seq order: the first is the first filed */
        c->first_seq = v->seq;
        c->first_created_at = v->created_at;
        c->first_received_at = v->received_at;
        c->first_before_previous = v->created_before_previous;
    }
    c->versions++;
    c->cur_seq = v->seq;
    c->cur_created_at = v->created_at;
    c->cur_received_at = v->received_at;
    return 0;
}

/* The aggregator key the stored downstream messages are signed with, read
 * once per report (only when a review is shown). */
typedef struct {
    bool have;
    uint8_t pk[ZB_PK_LEN];
} agg_key_cache;

/* Dup text unless NULL or empty (then *out NULL). */
static int dup_text(const char *text, char **out)
{
    *out = NULL;
    if (!text || !*text)
        return ZB_OK;
    return (*out = strdup(text)) ? ZB_OK : ZB_ENOMEM;
}

/* The latest review of county's report seq (c->review), and its comment
 * and reviewer from the stored message (its signature checked as any
 * downstream message's: downstream.h). Not reviewed: c->reviewed false. */
static int review_read(zb_store *s, MDB_txn *txn, const char *county, uint64_t seq,
                       agg_key_cache *key, monthly_county *c)
{
    int rc = zb_astore_review_get(s, txn, county, seq, &c->review);
    if (rc == ZB_ENOTFOUND)
        return ZB_OK;
    if (rc)
        return rc;
    c->reviewed = true;
    if (!key->have) {
        if ((rc = zb_astore_agg_key_get(s, txn, key->pk)))
            return rc;
        key->have = true;
    }
    /* a stored message that cannot be read back as this review (damaged:
     * `check` finds it) leaves the row with the index's decision and no
     * comment, rather than failing the whole report */
    zb_stored_down m;
    Zb__Downstream *d = NULL;
    rc = zb_astore_down_get(s, txn, county, c->review.number, &m);
    if (rc == 0)
        rc = zb_down_open(m.msg, m.len, key->pk, &d);
    if (rc == 0 && (d->body_case != ZB__DOWNSTREAM__BODY_REVIEW || !d->review ||
                    d->review->seq != seq || strcmp(d->county, county) != 0))
        rc = ZB_EDECODE;
    if (rc == ZB_ENOMEM || rc == ZB_ESTORE) {
        if (d)
            zb__downstream__free_unpacked(d, NULL);
        return rc;
    }
    if (rc) {
        ZB_WARN("ZB-REPORT-REVIEW", "county %s seq %" PRIu64 ": review message %" PRIu64
                " cannot be read back (%s): shown without its comment (zhibao-agg check)",
                county, seq, c->review.number, zb_strerror(rc));
        if (d)
            zb__downstream__free_unpacked(d, NULL);
        return ZB_OK;
    }
    rc = dup_text(d->review->comment, &c->review_comment);
    if (rc == 0)
        rc = dup_text(d->review->reviewer, &c->reviewer);
    zb__downstream__free_unpacked(d, NULL);
    return rc;
}

/* County's versions for the period (an ordinal) from the index, the tasks
 * and statistics of the version in force (the only report decoded) and
 * that version's latest review. */
static int monthly_read(zb_store *s, MDB_txn *txn, const char *county, int ordinal,
                        agg_key_cache *key, monthly_county *c)
{
    int rc = zb_astore_monthly_versions(s, txn, county, ordinal, ordinal, monthly_version, c);
    if (rc || c->versions == 0)
        return rc;
    if ((rc = review_read(s, txn, county, c->cur_seq, key, c)))
        return rc;
    Zb__Report *r;
    if ((rc = zb_astore_report_get(s, txn, county, c->cur_seq, &r)))
        return rc;
    if (r->content_case != ZB__REPORT__CONTENT_MONTHLY || !r->monthly) {
        zb__report__free_unpacked(r, NULL);
        return ZB_EDECODE; /* the index says otherwise: `check` tells */
    }
    for (size_t t = 0; t < r->monthly->n_tasks; t++) {
        unsigned st = (unsigned)r->monthly->tasks[t]->status;
        if (st < 4)
            c->tasks[st]++;
        c->tasks_reported++;
    }
    const Zb__MonthlyStats *ms = r->monthly->stats;
    const ProtobufCMessageDescriptor *d = stats_desc();
    for (unsigned f = 0; ms && f < d->n_fields && f < STATS_MAX; f++)
        c->has_stat[f] = zb_stats_get(ms, f, &c->stat[f]);
    zb__report__free_unpacked(r, NULL);
    return ZB_OK;
}

/* The MonthlyStats field a county's accident count is filed in. */
static int accidents_stat_index(void)
{
    const ProtobufCMessageDescriptor *d = stats_desc();
    for (unsigned f = 0; f < d->n_fields && f < STATS_MAX; f++)
        if (strcmp(d->fields[f].name, "accidents") == 0)
            return (int)f;
    return -1;
}

static const char *const mclock_names[] = {"created_after_received", "received_long_after_created",
                                           "created_before_previous"};

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
    /* the county's own accident count (0: a zero report) against its
     * direct reports of the month */
    int ai = accidents_stat_index();
    bool given = filed && ai >= 0 && c->has_stat[ai];
    rc |= put(row, "accidents_direct", json_integer(c->accidents_direct));
    rc |= put(row, "accidents_mismatch",
              json_boolean(given && c->stat[ai] != c->accidents_direct));
    json_t *clock = json_array();
    rc |= clock ? 0 : ZB_ENOMEM;
    for (unsigned i = 0; clock && i < 3; i++)
        if (c->clock & (1u << i))
            rc |= json_array_append_new(clock, json_string(mclock_names[i])) ? ZB_ENOMEM : 0;
    rc |= put(row, "clock_flags", clock);
    /* the review of the version in force: null for a missing county */
    rc |= put(row, "review", !filed        ? json_null()
                             : c->reviewed ? json_string(zb_down_decision_name(
                                                 (Zb__ReviewDecision)c->review.decision))
                                           : json_string("unreviewed"));
    rc |= put(row, "review_comment", c->review_comment ? json_string(c->review_comment)
                                                       : json_null());
    rc |= put(row, "reviewer", c->reviewer ? json_string(c->reviewer) : json_null());
    rc |= put(row, "reviewed_at", c->reviewed ? zb_json_time(c->review.created_at) : json_null());
    return rc ? ZB_ENOMEM : ZB_OK;
}

/* 00:00 +08:00 on the first of (year, month), Unix s. */
static int64_t period_start(int year, int month)
{
    return zb_days_from_civil(year, month, 1) * 86400 - 8 * 3600;
}

/* Each county's direct-reported accidents of the period, not written off. */
static int monthly_direct_counts(zb_store *s, MDB_txn *txn, const county_list *cl, int year,
                                 int month, int64_t now, monthly_county *rows)
{
    accident_list al;
    int ny = month == 12 ? year + 1 : year, nm = month == 12 ? 1 : month + 1;
    int rc = accidents_read(s, txn, period_start(year, month), period_start(ny, nm), now, &al);
    if (rc)
        return rc;
    for (size_t i = 0; i < al.n; i++) {
        long ci = county_index(cl, al.items[i].county);
        if (ci >= 0 && !al.items[i].st.written_off)
            rows[ci].accidents_direct++;
    }
    accident_list_free(&al);
    return ZB_OK;
}

int zb_consolidate_monthly(zb_store *s, MDB_txn *txn, int year, int month, int64_t now,
                           json_t **out)
{
    *out = NULL;
    county_list cl;
    int rc = county_list_read(s, txn, &cl);
    if (rc)
        return rc;
    struct {
        monthly_county *rows;
    } ctx = {calloc(cl.n ? cl.n : 1, sizeof(monthly_county))};
    json_t *doc = json_object(), *rows = json_array(), *total = json_object(),
           *reporting = json_object();
    if (!ctx.rows || !doc || !rows || !total || !reporting) {
        rc = ZB_ENOMEM;
        goto fail;
    }
    /* the period's deadline: moved by `zhibao-agg deadline`, or the default */
    int64_t dl;
    bool dl_moved;
    if ((rc = zb_astore_deadline_get(s, txn, zb_period_ordinal(year, month), &dl, NULL,
                                     &dl_moved)))
        goto fail;
    agg_key_cache key = {0};
    for (size_t i = 0; i < cl.n; i++)
        if ((rc = monthly_read(s, txn, cl.codes[i], zb_period_ordinal(year, month), &key,
                               &ctx.rows[i])))
            goto fail;
    if ((rc = monthly_direct_counts(s, txn, &cl, year, month, now, ctx.rows)))
        goto fail;

    const ProtobufCMessageDescriptor *d = stats_desc();
    monthly_county sum = {0};
    unsigned n_stat[STATS_MAX] = {0}, by_status[3] = {0}, untrusted = 0;
    for (size_t i = 0; i < cl.n; i++) {
        monthly_county *c = &ctx.rows[i];
        if (c->versions) {
            c->clock = zb_monthly_clock_flags(c->first_created_at, c->first_received_at,
                                              c->first_before_previous, dl);
            c->cur_untrusted = c->cur_created_at > c->cur_received_at + ZB_CLOCK_SLACK_S;
        }
        /* on the receive time when the signed time is not credible */
        zb_filing f = zb_filing_status_trusted(c->versions > 0, c->first_created_at,
                                               c->first_received_at, dl);
        by_status[f]++;
        json_t *row = json_object();
        if (!row || monthly_row(row, cl.codes[i], c, f)) {
            json_decref(row);
            rc = ZB_ENOMEM;
            goto fail;
        }
        if (json_array_append_new(rows, row)) { /* it took row even so */
            rc = ZB_ENOMEM;
            goto fail;
        }
        sum.versions += c->versions;
        if (c->cur_untrusted) {
            untrusted++;
            continue; /* listed; its figures stay out of the totals */
        }
        for (int t = 0; t < 4; t++)
            sum.tasks[t] += c->tasks[t];
        sum.tasks_reported += c->tasks_reported;
        for (unsigned k = 0; k < d->n_fields && k < STATS_MAX; k++)
            if (c->has_stat[k]) {
                sum.has_stat[k] = true;
                sum.stat[k] += c->stat[k];
                n_stat[k]++;
            }
    }
    char period[16], deadline[40];
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
              json_integer((json_int_t)(cl.n - by_status[ZB_FILING_MISSING] - untrusted) *
                               TASKS_TOTAL -
                           (json_int_t)sum.tasks_reported));
    for (unsigned f = 0; f < d->n_fields && f < STATS_MAX; f++) {
        rc |= put(total, d->fields[f].name,
                  sum.has_stat[f] ? json_integer((json_int_t)sum.stat[f]) : json_null());
        rc |= put(reporting, d->fields[f].name, json_integer(n_stat[f]));
    }
    rc |= put(total, "counties_reporting", reporting);
    reporting = NULL;
    rc |= put(doc, "period", json_string(period));
    rc |= put(doc, "deadline", json_string(deadline));
    rc |= put(doc, "deadline_moved", json_boolean(dl_moved));
    rc |= put(doc, "deadline_passed", json_boolean(now > dl));
    rc |= put(doc, "timeliness_rule", json_string("first_version_created_at"));
    rc |= put(doc, "clock_rule", json_string("received_at_when_created_after_received"));
    rc |= put(doc, "rows", rows);
    rows = NULL;
    rc |= put(doc, "total", total);
    total = NULL;
    if (rc) {
        rc = ZB_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < cl.n; i++)
        monthly_county_free(&ctx.rows[i]);
    free(ctx.rows);
    county_list_free(&cl);
    *out = doc;
    return ZB_OK;
fail:
    json_decref(doc);
    json_decref(rows);
    json_decref(total);
    json_decref(reporting);
    for (size_t i = 0; ctx.rows && i < cl.n; i++)
        monthly_county_free(&ctx.rows[i]);
    free(ctx.rows);
    county_list_free(&cl);
    return rc;
}

/* ------------------------------------------------------------ accidents */

static int out_cmp(const void *pa, const void *pb)
{
    const accident_item *a = pa, *b = pb;
    if (a->rev.occurred_at != b->rev.occurred_at)
        return a->rev.occurred_at > b->rev.occurred_at ? -1 : 1; /* newest first */
    int c = strcmp(a->county, b->county);
    return c ? c : strcmp(a->id, b->id);
}

/* Add one accident's counted figures to totals[key] = {"accidents",
 * "deaths", "missing"} (st NULL: only make sure the key is there). */
static int total_add(json_t *totals, const char *key, const zb_accident_stats *r)
{
    json_t *t = json_object_get(totals, key);
    if (!t) {
        t = json_object();
        if (!t || json_object_set_new(totals, key, t) || put(t, "accidents", json_integer(0)) ||
            put(t, "deaths", json_integer(0)) || put(t, "missing", json_integer(0)))
            return ZB_ENOMEM;
    }
    if (!r)
        return ZB_OK;
    if (put(t, "accidents", json_integer(json_integer_value(json_object_get(t, "accidents")) + 1)) ||
        put(t, "deaths", json_integer(json_integer_value(json_object_get(t, "deaths")) +
                                      r->counted_deaths)) ||
        put(t, "missing", json_integer(json_integer_value(json_object_get(t, "missing")) +
                                       r->counted_missing)))
        return ZB_ENOMEM;
    return ZB_OK;
}

static json_t *name_or_null(const char *name)
{
    return name ? json_string(name) : json_null();
}

static int accident_row(json_t *row, const accident_item *it)
{
    const zb_accident_rev *r = &it->rev;
    const zb_accident_stats *st = &it->st;
    const char *ind = zb_industry_name(r->industry);
    json_t *flags = json_array();
    int rc = flags ? 0 : ZB_ENOMEM;
    for (unsigned i = 0; flags && i < ZB_FLAG_COUNT; i++)
        if (st->flags & (1u << i))
            rc |=
                json_array_append_new(flags, json_string(zb_accident_flag_name(i))) ? ZB_ENOMEM : 0;
    rc |= put(row, "county", json_string(it->county));
    rc |= put(row, "name", json_string(county_name(it->county)));
    /* at a province: the prefecture that relayed the county's reports */
    rc |= put(row, "prefecture", it->prefecture[0] ? json_string(it->prefecture) : json_null());
    rc |= put(row, "accident_id", json_string(it->id));
    rc |= put(row, "revision", json_integer(r->revision));
    rc |= put(row, "revisions", json_integer((json_int_t)it->revisions));
    rc |= put(row, "occurred_at", zb_json_time(r->occurred_at));
    rc |= put(row, "industry", ind ? json_string(ind) : json_null());
    rc |= put(row, "category", name_or_null(zb_category_name(st->category)));
    rc |= put(row, "stage", name_or_null(zb_stage_name(st->stage)));
    rc |= put(row, "grade", json_string(zb_grade_name(st->grade)));
    rc |= put(row, "max_grade", json_string(zb_grade_name(st->max_grade)));
    rc |= put(row, "deaths", json_integer(r->deaths));
    rc |= put(row, "missing", json_integer(r->missing));
    rc |= put(row, "serious_injuries", json_integer(r->serious_injuries));
    rc |= put(row, "direct_loss_yuan", json_integer((json_int_t)r->direct_loss_yuan));
    rc |= put(row, "counted_deaths", json_integer(st->counted_deaths));
    rc |= put(row, "counted_missing", json_integer(st->counted_missing));
    rc |= put(row, "counted_serious_injuries", json_integer(st->counted_serious_injuries));
    rc |= put(row, "counted_direct_loss_yuan",
              json_integer((json_int_t)st->counted_direct_loss_yuan));
    rc |= put(row, "window_end", zb_json_time(st->window_end));
    rc |= put(row, "window_closed", json_boolean(st->window_closed));
    rc |= put(row, "report_to", json_string(zb_grade_report_to(st->max_grade)));
    rc |= put(row, "flags", flags);
    rc |= put(row, "county_notified_at", zb_json_time(r->county_notified_at));
    rc |= put(row, "first_reported_at", zb_json_time(st->first_reported_at));
    rc |= put(row, "as_of", zb_json_time(r->as_of));
    rc |= put(row, "next_supplement_due",
              st->has_next_due ? zb_json_time(st->next_supplement_due) : json_null());
    rc |= put(row, "written_off", json_boolean(st->written_off));
    rc |= put(row, "write_off_reason",
              it->write_off_reason ? json_string(it->write_off_reason) : json_null());
    rc |= put(row, "counted", json_boolean(!st->excluded));
    rc |= put(row, "created_at", zb_json_time(r->created_at));
    rc |= put(row, "received_at", zb_json_time(r->received_at));
    rc |= put(row, "clock_suspect", json_boolean(r->created_at > r->received_at));
    rc |= put(row, "seq", json_integer((json_int_t)r->seq));
    return rc ? ZB_ENOMEM : ZB_OK;
}

int zb_consolidate_accidents(zb_store *s, MDB_txn *txn, int64_t from, int64_t to_end,
                             const char *from_s, const char *to_s, int64_t now, json_t **out)
{
    *out = NULL;
    county_list cl = {0};
    accident_list al = {0};
    json_t *doc = json_object(), *list = json_array(), *totals = json_object(),
           *by_county = json_object(), *by_industry = json_object(), *by_grade = json_object();
    int rc = ZB_ENOMEM;
    if (!doc || !list || !totals || !by_county || !by_industry || !by_grade)
        goto fail;
    if ((rc = county_list_read(s, txn, &cl)) ||
        (rc = accidents_read(s, txn, from, to_end, now, &al)))
        goto fail;
    rc = ZB_ENOMEM;
    if (al.n > 1)
        qsort(al.items, al.n, sizeof *al.items, out_cmp);

    /* every enrolled county and every grade appears in the totals, with zeros */
    for (size_t i = 0; i < cl.n; i++)
        if (total_add(by_county, cl.codes[i], NULL))
            goto fail;
    for (int g = ZB_GRADE_GENERAL; g <= ZB_GRADE_ESPECIALLY_SERIOUS; g++)
        if (total_add(by_grade, zb_grade_name((zb_grade)g), NULL))
            goto fail;
    size_t counted = 0;
    for (size_t i = 0; i < al.n; i++) {
        const accident_item *it = &al.items[i];
        const char *ind = zb_industry_name(it->rev.industry);
        json_t *row = json_object();
        if (!row || accident_row(row, it)) {
            json_decref(row);
            goto fail;
        }
        if (json_array_append_new(list, row)) /* it took row even so */
            goto fail;
        if (it->st.excluded) /* listed, not counted: written off, or an untrusted clock */
            continue;
        counted++;
        if (total_add(by_county, it->county, &it->st) ||
            total_add(by_industry, ind ? ind : "unknown", &it->st) ||
            total_add(by_grade, zb_grade_name(it->st.grade), &it->st))
            goto fail;
    }
    int e = 0;
    e |= put(totals, "by_county", by_county);
    by_county = NULL;
    e |= put(totals, "by_industry", by_industry);
    by_industry = NULL;
    e |= put(totals, "by_grade", by_grade);
    by_grade = NULL;
    e |= put(totals, "accidents", json_integer((json_int_t)counted));
    e |= put(totals, "listed", json_integer((json_int_t)al.n));
    e |= put(doc, "from", json_string(from_s));
    e |= put(doc, "to", json_string(to_s));
    e |= put(doc, "grade_rule", json_string(zb_missing_rule_name(ZB_MISSING_COUNT_AS_DEAD)));
    e |= put(doc, "counting_rule", json_string("statistical_window"));
    e |= put(doc, "now", zb_json_time(now));
    e |= put(doc, "accidents", list);
    list = NULL;
    e |= put(doc, "totals", totals);
    totals = NULL;
    if (e)
        goto fail;
    accident_list_free(&al);
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
    accident_list_free(&al);
    county_list_free(&cl);
    return rc ? rc : ZB_ENOMEM;
}

/* ------------------------------------------------------------ matrix */

typedef struct {
    bool filed;
    uint64_t first_seq;
    int64_t first_created_at, first_received_at;
} matrix_cell;

typedef struct {
    int first, n_periods; /* period ordinals first .. first + n_periods - 1 */
    matrix_cell *row;     /* one county's cells */
} matrix_ctx;

static int matrix_version(void *vctx, const zb_monthly_version *v)
{
    matrix_ctx *ctx = vctx;
    int p = v->period - ctx->first;
    if (p < 0 || p >= ctx->n_periods)
        return 0;
    matrix_cell *c = &ctx->row[p];
    if (!c->filed) { /* (period, seq) order: the first is the first filed */
        c->filed = true;
        c->first_seq = v->seq;
        c->first_created_at = v->created_at;
        c->first_received_at = v->received_at;
    }
    return 0;
}

int zb_consolidate_matrix(zb_store *s, MDB_txn *txn, int y0, int m0, int y1, int m1,
                          json_t **out)
{
    *out = NULL;
    int first = zb_period_ordinal(y0, m0), n = zb_period_ordinal(y1, m1) - first + 1;
    if (n < 1 || n > ZB_MATRIX_MAX_PERIODS)
        return ZB_EINVAL;
    county_list cl;
    int rc = county_list_read(s, txn, &cl);
    if (rc)
        return rc;
    struct {
        matrix_cell *cells; /* county-major */
    } ctx = {calloc((cl.n ? cl.n : 1) * (size_t)n, sizeof(matrix_cell))};
    json_t *doc = json_object(), *periods = json_array(), *rows = json_array(),
           *totals = json_object();
    rc = ZB_ENOMEM;
    if (!ctx.cells || !doc || !periods || !rows || !totals)
        goto fail;
    for (size_t i = 0; i < cl.n; i++) {
        matrix_ctx mc = {first, n, &ctx.cells[i * (size_t)n]};
        if ((rc = zb_astore_monthly_versions(s, txn, cl.codes[i], first, first + n - 1,
                                             matrix_version, &mc)))
            goto fail;
    }
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
    /* each period judged against its own deadline, moved or default */
    int64_t deadlines[ZB_MATRIX_MAX_PERIODS];
    for (int p = 0; p < n; p++)
        if ((rc = zb_astore_deadline_get(s, txn, first + p, &deadlines[p], NULL, NULL)))
            goto fail;
    rc = ZB_ENOMEM;
    for (size_t i = 0; i < cl.n; i++) {
        json_t *row = json_object();
        if (!row || json_array_append_new(rows, row) ||
            put(row, "county", json_string(cl.codes[i])) ||
            put(row, "name", json_string(county_name(cl.codes[i]))))
            goto fail;
        for (int p = 0; p < n; p++) {
            const matrix_cell *c = &ctx.cells[i * (size_t)n + (size_t)p];
            zb_filing f = zb_filing_status_trusted(c->filed, c->first_created_at,
                                                   c->first_received_at, deadlines[p]);
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

int zb_consolidate_indicators(zb_store *s, MDB_txn *txn, int year, int64_t now, json_t **out)
{
    return zb_consolidate_indicators_to(s, txn, year, now, now, out);
}

int zb_consolidate_indicators_to(zb_store *s, MDB_txn *txn, int year, int64_t to, int64_t now,
                                 json_t **out)
{
    *out = NULL;
    MDB_dbi figures = zb_store_dbi(s, AGG_DB_FIGURES);
    county_list cl = {0};
    accident_list al = {0};
    ind_row *rows_acc = NULL;
    json_t *doc = json_object(), *rows = json_array(), *total = json_object(), *imc = json_array();
    int rc = ZB_ENOMEM;
    if (!doc || !rows || !total || !imc)
        goto fail;
    zb_indicator_window w;
    zb_indicator_window_of(year, to, &w);
    /* the previous year's window ends where this year's begins or before */
    if ((rc = county_list_read(s, txn, &cl)) ||
        (rc = accidents_read(s, txn, w.prev_from, w.to, now, &al)))
        goto fail;
    rc = ZB_ENOMEM;
    rows_acc = calloc(cl.n + 1, sizeof *rows_acc); /* [cl.n]: the total */
    if (!rows_acc)
        goto fail;
    /* each accident by its revision in force, with its counted figures
     * (rules.h: the window; the missing counted as dead once it closed);
     * written-off and untrusted-clock accidents count nowhere */
    for (size_t i = 0; i < al.n; i++) {
        const zb_accident_rev *r = &al.items[i].rev;
        const zb_accident_stats *st = &al.items[i].st;
        long ci = county_index(&cl, al.items[i].county);
        if (ci < 0 || st->excluded)
            continue;
        ind_row *c = &rows_acc[ci];
        if (r->occurred_at >= w.prev_from && r->occurred_at < w.prev_to)
            c->prev_deaths += st->counted_deaths;
        if (r->occurred_at < w.from || r->occurred_at >= w.to)
            continue;
        c->accidents++;
        c->deaths += st->counted_deaths;
        c->missing += st->counted_missing;
        if (zb_industry_mining_commerce(r->industry))
            c->imc_deaths += st->counted_deaths;
        if (r->industry == ZB__INDUSTRY__ROAD_TRAFFIC)
            c->road_deaths += st->counted_deaths;
        if (r->industry == ZB__INDUSTRY__COAL_MINE)
            c->coal_deaths += st->counted_deaths;
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
        if (!row || indicator_row(row, cl.codes[i], county_name(cl.codes[i]), c, w.elapsed)) {
            json_decref(row);
            goto fail;
        }
        if (json_array_append_new(rows, row)) /* it took row even so */
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
    e |= put(doc, "deaths_rule", json_string("counted_within_window_missing_as_dead_after"));
    e |= put(doc, "industry_mining_commerce", imc);
    imc = NULL;
    e |= put(doc, "rows", rows);
    rows = NULL;
    e |= put(doc, "total", total);
    total = NULL;
    if (e)
        goto fail;
    free(rows_acc);
    accident_list_free(&al);
    county_list_free(&cl);
    *out = doc;
    return ZB_OK;
fail:
    json_decref(doc);
    json_decref(rows);
    json_decref(total);
    json_decref(imc);
    free(rows_acc);
    accident_list_free(&al);
    county_list_free(&cl);
    return rc ? rc : ZB_ENOMEM;
}

/* ------------------------------------------------------------ one query */

int zb_consolidate_query(MDB_txn *txn, zb_store *s, const zb_query *q, int64_t now, json_t **out)
{
    zb_level level;
    char code[ZB_COUNTY_LEN + 1];
    int rc = zb_astore_office_get(s, txn, &level, code);
    if (rc)
        return rc;
    switch (q->kind) {
    case ZB_QUERY_MONTHLY:
        /* a province's members file summaries, not monthly reports */
        if (level == ZB_LEVEL_PROVINCE)
            return zb_province_monthly(s, txn, q->year, q->month, now, out);
        return zb_consolidate_monthly(s, txn, q->year, q->month, now, out);
    case ZB_QUERY_ACCIDENTS:
        return zb_consolidate_accidents(s, txn, q->from, q->to_end, q->from_s, q->to_s,
                                        q->has_now ? q->now : now, out);
    case ZB_QUERY_MATRIX:
        return zb_consolidate_matrix(s, txn, q->year, q->month, q->to_year, q->to_month, out);
    case ZB_QUERY_INDICATORS: return zb_consolidate_indicators(s, txn, q->year, now, out);
    }
    *out = NULL;
    return ZB_EINVAL;
}
