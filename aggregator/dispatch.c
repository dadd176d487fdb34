/* dispatch.c - see dispatch.h. */
#include "dispatch.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "downstream.h"
#include "err.h"
#include "logleaf.h"
#include "log.h"
#include "rules.h"
#include "timefmt.h"

/* The messages of one act, built in a write transaction. The transaction
 * may run again (a grown map): everything is rebuilt from the act's
 * arguments each time, and what was sent is known only after the commit. */
typedef struct act act;
struct act {
    zb_agg *a;
    int64_t now;
    /* fills d's body for county; 0, a positive value to skip the county, or a ZB_E* */
    int (*plan)(act *x, MDB_txn *txn, zb_dispatched *sent, Zb__Downstream *d, void *body);
    /* the counties: one, or every enrolled one (NULL) */
    const char *county;
    /* the act's arguments */
    uint64_t seq;
    bool accept;
    const char *comment, *reviewer, *title, *text;
    int year, month;
    int64_t at;
    int32_t offset_min;
    int64_t remind_day; /* > 0: record it as the day of the automatic reminders */
    /* supplement reminders: the overdue accidents found (county, id, due) */
    zb_dispatched *found;
    size_t n_found, found_i; /* found_i: the one plan_supplement builds */
    /* what was sent (valid after the commit) */
    zb_dispatched *sent;
    size_t n_sent, cap_sent;
};

static int sent_add(act *x, const zb_dispatched *d)
{
    if (x->n_sent == x->cap_sent) {
        size_t cap = x->cap_sent ? 2 * x->cap_sent : 16;
        zb_dispatched *p = realloc(x->sent, cap * sizeof *p);
        if (!p)
            return ZB_ENOMEM;
        x->sent = p;
        x->cap_sent = cap;
    }
    x->sent[x->n_sent++] = *d;
    return ZB_OK;
}

/* Number, sign, log and store d (its body set) for county. */
static int send_one(act *x, MDB_txn *txn, zb_dispatched *sent, Zb__Downstream *d)
{
    zb_store *s = zb_agg_store(x->a);
    const zb_identity *id = zb_agg_identity(x->a);
    if (!id)
        return ZB_EINVAL; /* opened read-only: nothing signs */
    zb_down_state st;
    int rc = zb_astore_down_state(s, txn, sent->county, &st);
    if (rc)
        return rc;
    d->version = ZB_DOWN_VERSION;
    d->county = sent->county;
    d->number = st.last + 1;
    d->created_at = x->now;
    d->aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)id->pk};
    zb_problems p = {0};
    zb_down_validate(d, &p);
    bool valid = p.n == 0;
    for (size_t i = 0; i < p.n; i++)
        ZB_ERR("ZB-AGG-DISPATCH", "county %s: message not valid: %s", sent->county, p.lines[i]);
    zb_problems_free(&p);
    if (!valid)
        return ZB_EVALIDATION; /* the callers validate first: a bug if it happens */
    uint8_t *buf;
    size_t len;
    uint64_t index;
    if ((rc = zb_down_seal(d, id, &buf, &len)))
        return rc;
    uint8_t *leaf = NULL;
    size_t leaf_len = 0;
    rc = zb_leaf_of_downstream(x->now, buf, len, &leaf, &leaf_len);
    if (rc == 0)
        rc = zb_tlog_append(zb_agg_tlog(x->a), txn, leaf, leaf_len, ZB_LEAF_DOWNSTREAM,
                            sent->county, d->number, &index);
    free(leaf);
    if (rc == 0)
        rc = zb_astore_down_put(s, txn, sent->county, d->number, x->now, index, buf, len, d);
    free(buf);
    if (rc == 0) {
        sent->number = d->number;
        rc = sent_add(x, sent);
    }
    return rc;
}

typedef struct {
    act *x;
    MDB_txn *txn;
} each_ctx;

/* The bodies every kind may need, on the stack of one call. */
typedef struct {
    Zb__Review review;
    Zb__Reminder reminder;
    Zb__Deadline deadline;
    Zb__Time time;
    Zb__Notice notice;
    char period[8];
} bodies;

static int plan_and_send(act *x, MDB_txn *txn, const char *county)
{
    zb_dispatched sent = {0};
    snprintf(sent.county, sizeof sent.county, "%s", county);
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    bodies b;
    int rc = x->plan(x, txn, &sent, &d, &b);
    if (rc > 0)
        return ZB_OK; /* nothing for this county */
    return rc ? rc : send_one(x, txn, &sent, &d);
}

static int each_county(void *ctx, const zb_county_rec *rec)
{
    each_ctx *c = ctx;
    return plan_and_send(c->x, c->txn, rec->county);
}

static int act_txn(void *ctx, MDB_txn *txn)
{
    act *x = ctx;
    x->n_sent = 0; /* a retry starts over */
    int rc = zb_tlog_leaf_time(zb_agg_tlog(x->a), txn, x->now, &x->now);
    if (rc)
        return rc;
    if (x->found) {
        rc = ZB_OK;
        for (size_t i = 0; i < x->n_found && rc == 0; i++) {
            x->found_i = i;
            rc = plan_and_send(x, txn, x->found[i].county);
        }
    } else if (x->county) {
        rc = plan_and_send(x, txn, x->county);
    } else {
        each_ctx c = {x, txn};
        rc = zb_astore_counties(zb_agg_store(x->a), txn, each_county, &c);
    }
    if (rc == 0 && x->remind_day > 0)
        rc = zb_astore_auto_remind_day_put(zb_agg_store(x->a), txn, x->remind_day);
    if (rc == 0 && x->n_sent > 0) {
        /* the log grew: a head covers it, as after every round of serve */
        Zb__SignedTreeHead *head = NULL;
        rc = zb_tlog_sign_head(zb_agg_tlog(x->a), txn, x->now, &head);
        if (head)
            zb__signed_tree_head__free_unpacked(head, NULL);
    }
    return rc;
}

static int act_run(act *x, zb_dispatched **out, size_t *n)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    int rc = zb_store_write(zb_agg_store(x->a), act_txn, x);
    if (rc == 0) {
        for (size_t i = 0; i < x->n_sent; i++)
            ZB_INFO("ZB-AGG-DISPATCH", "county %s: message %" PRIu64 " stored for delivery",
                    x->sent[i].county, x->sent[i].number);
        if (out) {
            *out = x->sent;
            x->sent = NULL;
        }
        if (n)
            *n = x->n_sent;
    }
    free(x->sent);
    free(x->found);
    return rc;
}

/* ------------------------------------------------------------ review */

static int plan_review(act *x, MDB_txn *txn, zb_dispatched *sent, Zb__Downstream *d, void *body)
{
    (void)txn;
    (void)sent;
    bodies *b = body;
    zb__review__init(&b->review);
    b->review.seq = x->seq;
    b->review.decision = x->accept ? ZB__REVIEW_DECISION__ACCEPTED : ZB__REVIEW_DECISION__RETURNED;
    b->review.comment = (char *)x->comment;
    b->review.reviewer = (char *)x->reviewer;
    d->body_case = ZB__DOWNSTREAM__BODY_REVIEW;
    d->review = &b->review;
    return ZB_OK;
}

/* The content rules of a body alone, with the act's own field names. */
static void validate_body(Zb__Downstream *d, zb_problems *p)
{
    static const uint8_t zero_key[ZB_PK_LEN];
    d->version = ZB_DOWN_VERSION;
    d->county = "000000";
    d->number = 1;
    d->aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)zero_key};
    zb_down_validate(d, p);
}

int zb_dispatch_review(zb_agg *a, const char *county, uint64_t seq, bool accept,
                       const char *comment, const char *reviewer, int64_t now, zb_problems *p,
                       zb_dispatched **out, size_t *n)
{
    act x = {.a = a, .now = now, .plan = plan_review, .county = county, .seq = seq,
             .accept = accept, .comment = comment, .reviewer = reviewer};
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    bodies b;
    plan_review(&x, NULL, NULL, &d, &b);
    size_t before = p->n;
    if (seq < 1)
        zb_problems_add(p, "seq: must be 1 or more");
    else
        validate_body(&d, p);
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    zb_county_rec rec;
    zb_stored_env e;
    if (zb_agg_county_get(a, txn, county, &rec) != 0)
        zb_problems_add(p, "county: %s is not enrolled", county);
    else if (seq >= 1 && zb_astore_envelope_get(zb_agg_store(a), txn, county, seq, &e) != 0)
        zb_problems_add(p, "seq: county %s has no report %" PRIu64 " here", county, seq);
    mdb_txn_abort(txn);
    if (p->n > before)
        return ZB_EVALIDATION;
    return act_run(&x, out, n);
}

/* ------------------------------------------------------------ reminders */

static int count_version(void *ctx, const zb_monthly_version *v)
{
    (void)v;
    ++*(size_t *)ctx;
    return 0;
}

static int plan_missing(act *x, MDB_txn *txn, zb_dispatched *sent, Zb__Downstream *d, void *body)
{
    bodies *b = body;
    zb_store *s = zb_agg_store(x->a);
    int ord = zb_period_ordinal(x->year, x->month);
    size_t versions = 0;
    int rc = zb_astore_monthly_versions(s, txn, sent->county, ord, ord, count_version, &versions);
    if (rc)
        return rc;
    if (versions > 0)
        return 1; /* filed: no reminder */
    int64_t due;
    if ((rc = zb_astore_deadline_get(s, txn, ord, &due, NULL, NULL)))
        return rc;
    zb_period_format(x->year, x->month, b->period, sizeof b->period);
    zb__reminder__init(&b->reminder);
    b->reminder.kind = ZB__REMINDER_KIND__MONTHLY_MISSING;
    b->reminder.period = b->period;
    b->reminder.has_due_at = 1;
    b->reminder.due_at = due;
    sent->due_at = due;
    d->body_case = ZB__DOWNSTREAM__BODY_REMINDER;
    d->reminder = &b->reminder;
    return ZB_OK;
}

int zb_dispatch_remind_period(zb_agg *a, int year, int month, int64_t now, zb_problems *p,
                              zb_dispatched **out, size_t *n)
{
    (void)p;
    act x = {.a = a, .now = now, .plan = plan_missing, .year = year, .month = month};
    return act_run(&x, out, n);
}

static int plan_supplement(act *x, MDB_txn *txn, zb_dispatched *sent, Zb__Downstream *d,
                           void *body)
{
    (void)txn;
    bodies *b = body;
    const zb_dispatched *f = &x->found[x->found_i];
    *sent = *f;
    zb__reminder__init(&b->reminder);
    b->reminder.kind = ZB__REMINDER_KIND__SUPPLEMENT_OVERDUE;
    b->reminder.accident_id = (char *)f->accident_id;
    b->reminder.has_due_at = 1;
    b->reminder.due_at = f->due_at;
    d->body_case = ZB__DOWNSTREAM__BODY_REMINDER;
    d->reminder = &b->reminder;
    return ZB_OK;
}

/* Finding the overdue accidents (a read transaction before the write). */
typedef struct {
    zb_agg *a;
    MDB_txn *txn;
    const char *county;
    int64_t now;
    zb_dispatched *found;
    size_t n, cap;
} overdue_scan;

static int overdue_accident(void *ctx, const char *id, uint32_t revision, int stage)
{
    (void)revision;
    overdue_scan *o = ctx;
    if (stage == ZB__STAGE__CLOSING || stage == ZB__STAGE__WRITE_OFF)
        return 0;
    zb_accident_entry *revs = NULL;
    size_t n = 0;
    int rc = zb_astore_accident_revisions(zb_agg_store(o->a), o->txn, o->county, id, &revs, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? 0 : rc;
    zb_accident_revs_sort(revs, n);
    zb_accident_stats st;
    zb_accident_stats_of(revs, n, o->now, &st);
    free(revs);
    if (!(st.flags & ZB_FLAG_SUPPLEMENT_OVERDUE) || !st.has_next_due)
        return 0;
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        zb_dispatched *f = realloc(o->found, cap * sizeof *f);
        if (!f)
            return ZB_ENOMEM;
        o->found = f;
        o->cap = cap;
    }
    zb_dispatched *f = &o->found[o->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->county, sizeof f->county, "%s", o->county);
    snprintf(f->accident_id, sizeof f->accident_id, "%s", id);
    f->due_at = st.next_supplement_due;
    return 0;
}

static int overdue_county(void *ctx, const zb_county_rec *rec)
{
    overdue_scan *o = ctx;
    o->county = rec->county;
    return zb_astore_accident_states(zb_agg_store(o->a), o->txn, rec->county, overdue_accident, o);
}

int zb_dispatch_remind_supplements(zb_agg *a, int64_t now, zb_problems *p, zb_dispatched **out,
                                   size_t *n)
{
    (void)p;
    overdue_scan o = {.a = a, .now = now};
    int rc = zb_store_begin(zb_agg_store(a), true, &o.txn);
    if (rc)
        return rc;
    rc = zb_astore_counties(zb_agg_store(a), o.txn, overdue_county, &o);
    mdb_txn_abort(o.txn);
    if (rc || o.n == 0) {
        free(o.found);
        if (out)
            *out = NULL;
        if (n)
            *n = 0;
        return rc;
    }
    act x = {.a = a, .now = now, .plan = plan_supplement, .found = o.found, .n_found = o.n};
    return act_run(&x, out, n);
}

/* ------------------------------------------------------------ deadline */

static int plan_deadline(act *x, MDB_txn *txn, zb_dispatched *sent, Zb__Downstream *d,
                         void *body)
{
    (void)txn;
    (void)sent;
    bodies *b = body;
    zb_period_format(x->year, x->month, b->period, sizeof b->period);
    zb__time__init(&b->time);
    b->time.unix = x->at;
    b->time.offset_min = x->offset_min;
    zb__deadline__init(&b->deadline);
    b->deadline.period = b->period;
    b->deadline.deadline = &b->time;
    d->body_case = ZB__DOWNSTREAM__BODY_DEADLINE;
    d->deadline = &b->deadline;
    return ZB_OK;
}

int zb_dispatch_deadline(zb_agg *a, int year, int month, int64_t at, int32_t offset_min,
                         int64_t now, zb_problems *p, zb_dispatched **out, size_t *n)
{
    act x = {.a = a, .now = now, .plan = plan_deadline, .year = year, .month = month, .at = at,
             .offset_min = offset_min};
    int64_t dflt = zb_period_deadline(year, month);
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    bodies b;
    plan_deadline(&x, NULL, NULL, &d, &b);
    size_t before = p->n;
    zb_problems body = {0};
    validate_body(&d, &body);
    if (body.n) /* a time beyond what zhibao holds: the flag is --at */
        zb_problems_add(p, "at: not a time zhibao can hold (at most 9999-12-31T23:59:59Z)");
    zb_problems_free(&body);
    if (p->n > before)
        return ZB_EVALIDATION;
    if (at < dflt) {
        char buf[40];
        zb_time_format(dflt, ZB_CST_OFFSET_MIN, 0, buf, sizeof buf);
        zb_problems_add(p, "at: before the period's default deadline %s (a deadline is only "
                        "moved later)", buf);
        return ZB_EVALIDATION;
    }
    return act_run(&x, out, n);
}

/* ------------------------------------------------------------ notice */

static int plan_notice(act *x, MDB_txn *txn, zb_dispatched *sent, Zb__Downstream *d, void *body)
{
    (void)txn;
    (void)sent;
    bodies *b = body;
    zb__notice__init(&b->notice);
    b->notice.title = (char *)x->title;
    b->notice.text = (char *)x->text;
    d->body_case = ZB__DOWNSTREAM__BODY_NOTICE;
    d->notice = &b->notice;
    return ZB_OK;
}

int zb_dispatch_notice(zb_agg *a, const char *county, const char *title, const char *text,
                       int64_t now, zb_problems *p, zb_dispatched **out, size_t *n)
{
    act x = {.a = a, .now = now, .plan = plan_notice, .county = county, .title = title,
             .text = text};
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    bodies b;
    plan_notice(&x, NULL, NULL, &d, &b);
    size_t before = p->n;
    validate_body(&d, p);
    if (county) {
        MDB_txn *txn;
        int rc = zb_store_begin(zb_agg_store(a), true, &txn);
        if (rc)
            return rc;
        zb_county_rec rec;
        if (zb_agg_county_get(a, txn, county, &rec) != 0)
            zb_problems_add(p, "county: %s is not enrolled", county);
        mdb_txn_abort(txn);
    }
    if (p->n > before)
        return ZB_EVALIDATION;
    return act_run(&x, out, n);
}

/* ------------------------------------------------------------ serve --remind-days */

#define DAY_S 86400
#define CST_S (ZB_CST_OFFSET_MIN * 60)

int zb_dispatch_auto_remind(zb_agg *a, const int *days, size_t n_days, int64_t now, bool *ran,
                            zb_dispatched **out, size_t *n)
{
    *ran = false;
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    int64_t local = now + CST_S;
    int64_t day = local / DAY_S; /* days since 1970-01-01 at +08:00 (now > 0) */
    int64_t second = local % DAY_S;
    int year, month;
    zb_period_of(now, &year, &month);
    int64_t month_start, month_end;
    zb_period_bounds(year, month, &month_start, &month_end);
    int mday = (int)((now - month_start) / DAY_S) + 1;
    bool today = false;
    for (size_t i = 0; i < n_days; i++)
        today |= days[i] == mday;
    if (!today || second < 9 * 3600)
        return ZB_OK;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    int64_t done = zb_astore_auto_remind_day(zb_agg_store(a), txn);
    mdb_txn_abort(txn);
    if (done == day)
        return ZB_OK;
    /* the period reported this month: the previous one; the day is
     * recorded in the same transaction as the reminders */
    int py = month == 1 ? year - 1 : year, pm = month == 1 ? 12 : month - 1;
    act x = {.a = a, .now = now, .plan = plan_missing, .year = py, .month = pm,
             .remind_day = day};
    if ((rc = act_run(&x, out, n)) == 0)
        *ran = true;
    return rc;
}
