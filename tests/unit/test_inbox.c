/*
 * test_inbox.c - the county node's store of the prefecture's messages
 * (node/node.h, "the prefecture's messages"; node/inbox.c) on real LMDB
 * directories: a Deliver's messages stored in number order with no gap,
 * resends ignored, a gap or a message that does not verify (another
 * signer, another county) stopping the walk; the reviews they carry seen
 * through ZB_NODE_WITH_REVIEW (the latest stands); the next deadline with
 * moved deadlines and filed periods; read marks and counts; a stored
 * message that no longer verifies listed as such.
 *
 * The messages are sealed here with common/downstream.h by a test
 * aggregator identity, the one the node was created for, and unpacked into
 * SignedDownstream as a Deliver carries them. Every test gets its own node
 * under a fresh mkdtemp directory, removed afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "downstream.h"
#include "err.h"
#include "log.h"
#include "node.h"
#include "report.h"
#include "store.h"
#include "timefmt.h"

#define COUNTY "222401"
/* 2026-11-03T12:00:00+08:00: reports are created then, messages too */
#define NOW INT64_C(1793678400)
/* default deadlines (the 5th 23:59:59 +08:00 of the next month) */
#define DUE_2026_10 INT64_C(1793894399) /* 2026-11-05T23:59:59+08:00 */
#define DUE_2026_11 INT64_C(1796486399) /* 2026-12-05T23:59:59+08:00 */
#define DUE_2026_12 INT64_C(1799164799) /* 2027-01-05T23:59:59+08:00 */
/* moved deadlines */
#define MOVED_2026_09 INT64_C(1793782800) /* 2026-11-04T18:00:00+09:00 */
#define MOVED_2026_10 INT64_C(1794326399) /* 2026-11-10T23:59:59+08:00 */

typedef struct {
    char root[512];    /* mkdtemp directory */
    char dir[600];     /* root/node */
    zb_identity agg;   /* the aggregator the node was created for */
    zb_identity other; /* an aggregator it was not */
    zb_node *node;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    const char *base = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/zb-test-inbox-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/node", f->root);
    zb_identity_generate(&f->agg);
    zb_identity_generate(&f->other);
    char agg_hex[2 * ZB_PK_LEN + 1], node_hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(f->agg.pk, ZB_PK_LEN, agg_hex);
    if (zb_node_create(f->dir, COUNTY, "tcp://127.0.0.1:1", agg_hex, node_hex) != ZB_OK)
        return -1;
    return zb_node_open(&f->node, f->dir, false) == ZB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    zb_node_close(&f->node);
    zb_identity_wipe(&f->agg);
    zb_identity_wipe(&f->other);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}

/* ------------------------------------------------------------ messages */

/* A message with all its storage inside; one body set by the helpers. */
typedef struct {
    Zb__Downstream d;
    Zb__Review review;
    Zb__Reminder reminder;
    Zb__Deadline deadline;
    Zb__Time deadline_at;
    Zb__Notice notice;
} msg;

/* A message from f's aggregator to COUNTY, without a body yet. */
static void msg_init(msg *m, const fixture *f, uint64_t number)
{
    memset(m, 0, sizeof *m);
    m->d = (Zb__Downstream)ZB__DOWNSTREAM__INIT;
    m->review = (Zb__Review)ZB__REVIEW__INIT;
    m->reminder = (Zb__Reminder)ZB__REMINDER__INIT;
    m->deadline = (Zb__Deadline)ZB__DEADLINE__INIT;
    m->deadline_at = (Zb__Time)ZB__TIME__INIT;
    m->notice = (Zb__Notice)ZB__NOTICE__INIT;
    m->d.version = ZB_DOWN_VERSION;
    m->d.county = (char *)COUNTY;
    m->d.number = number;
    m->d.created_at = NOW;
    m->d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)f->agg.pk};
}

static void set_review(msg *m, uint64_t seq, Zb__ReviewDecision decision, const char *comment)
{
    m->review.seq = seq;
    m->review.decision = decision;
    m->review.comment = (char *)comment;
    m->review.reviewer = (char *)"张明";
    m->d.body_case = ZB__DOWNSTREAM__BODY_REVIEW;
    m->d.review = &m->review;
}

static void set_deadline(msg *m, const char *period, int64_t at, int32_t offset_min)
{
    m->deadline.period = (char *)period;
    m->deadline_at.unix = at;
    m->deadline_at.offset_min = offset_min;
    m->deadline.deadline = &m->deadline_at;
    m->d.body_case = ZB__DOWNSTREAM__BODY_DEADLINE;
    m->d.deadline = &m->deadline;
}

static void set_notice(msg *m, const char *title)
{
    m->notice.title = (char *)title;
    m->notice.text = (char *)"请按时报送。\n第二行";
    m->d.body_case = ZB__DOWNSTREAM__BODY_NOTICE;
    m->d.notice = &m->notice;
}

static void set_missing(msg *m, const char *period)
{
    m->reminder.kind = ZB__REMINDER_KIND__MONTHLY_MISSING;
    m->reminder.period = (char *)period;
    m->reminder.has_due_at = 1;
    m->reminder.due_at = DUE_2026_10;
    m->d.body_case = ZB__DOWNSTREAM__BODY_REMINDER;
    m->d.reminder = &m->reminder;
}

/* Seal m with signer and unpack it as a Deliver carries it (free with
 * zb__signed_downstream__free_unpacked). */
static Zb__SignedDownstream *sealed_by(const msg *m, const zb_identity *signer)
{
    zb_problems p = {0};
    zb_down_validate(&m->d, &p);
    if (p.n)
        fail_msg("test message breaks the rules: %s", p.lines[0]);
    zb_problems_free(&p);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(zb_down_seal(&m->d, signer, &buf, &len), ZB_OK);
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, len, buf);
    assert_non_null(sd);
    free(buf);
    return sd;
}

static Zb__SignedDownstream *sealed(const fixture *f, const msg *m)
{
    return sealed_by(m, &f->agg);
}

/* A notice numbered number, sealed by f's aggregator. */
static Zb__SignedDownstream *notice(const fixture *f, uint64_t number)
{
    msg m;
    char title[32];
    snprintf(title, sizeof title, "通知 %llu", (unsigned long long)number);
    msg_init(&m, f, number);
    set_notice(&m, title);
    return sealed(f, &m);
}

/* Hand msgs[0..n) to the node as one Deliver, free them; returns what
 * zb_node_store_downstream returned, the inbox_last it gave in *last. */
static int deliver(fixture *f, Zb__SignedDownstream **msgs, size_t n, uint64_t *last)
{
    *last = 12345; /* must be overwritten */
    int rc = zb_node_store_downstream(f->node, msgs, n, last);
    for (size_t i = 0; i < n; i++)
        zb__signed_downstream__free_unpacked(msgs[i], NULL);
    return rc;
}

/* Deliver msgs and expect rc 0 and inbox_last want. */
static void deliver_expect(fixture *f, Zb__SignedDownstream **msgs, size_t n, uint64_t want)
{
    uint64_t last;
    assert_int_equal(deliver(f, msgs, n, &last), ZB_OK);
    assert_int_equal(last, want);
}

/* ------------------------------------------------------------ the inbox as seen */

#define MAX_SEEN 32

typedef struct {
    size_t n;
    uint64_t number[MAX_SEEN];
    bool read[MAX_SEEN];
    int verify[MAX_SEEN];
    Zb__Downstream__BodyCase kind[MAX_SEEN];
    char text[MAX_SEEN][64]; /* title, comment or period */
} seen;

static int see(void *ctx, const zb_node_inbox_msg *m)
{
    seen *s = ctx;
    assert_true(s->n < MAX_SEEN);
    size_t i = s->n++;
    s->number[i] = m->number;
    s->read[i] = m->read;
    s->verify[i] = m->verify;
    s->kind[i] = ZB__DOWNSTREAM__BODY__NOT_SET;
    s->text[i][0] = 0;
    if (m->verify != 0) {
        assert_null(m->msg);
        return 0;
    }
    assert_non_null(m->msg);
    assert_int_equal(m->msg->number, m->number);
    assert_string_equal(m->msg->county, COUNTY);
    s->kind[i] = m->msg->body_case;
    const char *t = m->msg->body_case == ZB__DOWNSTREAM__BODY_NOTICE     ? m->msg->notice->title
                    : m->msg->body_case == ZB__DOWNSTREAM__BODY_REVIEW   ? m->msg->review->comment
                    : m->msg->body_case == ZB__DOWNSTREAM__BODY_DEADLINE ? m->msg->deadline->period
                    : m->msg->body_case == ZB__DOWNSTREAM__BODY_REMINDER ? m->msg->reminder->period
                                                                         : NULL;
    snprintf(s->text[i], sizeof s->text[i], "%s", t ? t : "");
    return 0;
}

static seen inbox(fixture *f, bool unread_only)
{
    seen s = {0};
    assert_int_equal(zb_node_each_inbox(f->node, unread_only, see, &s), ZB_OK);
    return s;
}

/* The inbox holds exactly the messages 1..want, all verified. */
static void expect_held(fixture *f, uint64_t want)
{
    seen s = inbox(f, false);
    assert_int_equal(s.n, want);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.number[i], i + 1);
        assert_int_equal(s.verify[i], 0);
    }
    uint64_t last, unread;
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(last, want);
    zb_node_status st;
    assert_int_equal(zb_node_get_status(f->node, &st), ZB_OK);
    assert_int_equal(st.inbox, want);
}

/* Messages 1..3: a review, a reminder, a notice. */
static void deliver_three(fixture *f)
{
    msg m1, m2, m3;
    msg_init(&m1, f, 1);
    set_review(&m1, 1, ZB__REVIEW_DECISION__RETURNED, "第3项任务进展描述不完整");
    msg_init(&m2, f, 2);
    set_missing(&m2, "2026-10");
    msg_init(&m3, f, 3);
    set_notice(&m3, "年终安全生产检查");
    Zb__SignedDownstream *msgs[] = {sealed(f, &m1), sealed(f, &m2), sealed(f, &m3)};
    deliver_expect(f, msgs, 3, 3);
}

/* ------------------------------------------------------------ reports */

static void submit_json(fixture *f, const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    zb_problems problems = {0}, warnings = {0};
    Zb__Report *r = zb_report_from_json(j, "", &problems, &warnings);
    json_decref(j);
    if (!r)
        fail_msg("test report refused: %s", problems.n ? problems.lines[0] : "?");
    uint64_t first, last;
    int rc = zb_node_submit(f->node, &r, 1, NOW, false, &problems, &first, &last);
    if (rc)
        fail_msg("submit: %s %s", zb_strerror(rc), problems.n ? problems.lines[0] : "");
    zb__report__free_unpacked(r, NULL);
    zb_problems_free(&problems);
    zb_problems_free(&warnings);
}

static void submit_monthly(fixture *f, const char *period)
{
    char text[300];
    snprintf(text, sizeof text,
             "{\"type\": \"monthly\", \"period\": \"%s\", \"tasks\": [{\"task\": 3, "
             "\"status\": \"in_progress\", \"progress\": \"p\"}]}",
             period);
    submit_json(f, text);
}

static void submit_accident(fixture *f)
{
    submit_json(f, "{\"type\": \"accident\", \"accident_id\": \"YJ-1\", \"revision\": 0, "
                   "\"occurred_at\": \"2026-10-14T08:30:00+08:00\", "
                   "\"county_notified_at\": \"2026-10-14T08:50:00+08:00\", \"place\": \"p\", "
                   "\"unit\": {\"name\": \"u\"}, \"industry\": \"construction\", "
                   "\"category\": \"lifting_injury\", \"summary\": \"s\", "
                   "\"deaths\": 0, \"missing\": 0, \"serious_injuries\": 1, "
                   "\"minor_injuries\": 0, \"direct_loss_yuan\": 1000}");
}

#define MAX_REPORTS 8

typedef struct {
    size_t n;
    uint64_t seq[MAX_REPORTS];
    int review[MAX_REPORTS];
} reviews;

static int see_review(void *ctx, const zb_node_report *r)
{
    reviews *v = ctx;
    assert_true(v->n < MAX_REPORTS);
    v->seq[v->n] = r->seq;
    v->review[v->n++] = r->review;
    return 0;
}

static reviews reviews_of(fixture *f, unsigned flags)
{
    reviews v = {0};
    assert_int_equal(zb_node_each_report(f->node, 1, flags, see_review, &v), ZB_OK);
    return v;
}

/* ------------------------------------------------------------ tests */

static void test_store_in_order(void **state)
{
    fixture *f = *state;
    expect_held(f, 0);
    deliver_three(f);
    expect_held(f, 3);
    seen s = inbox(f, false);
    assert_int_equal(s.kind[0], ZB__DOWNSTREAM__BODY_REVIEW);
    assert_string_equal(s.text[0], "第3项任务进展描述不完整");
    assert_int_equal(s.kind[1], ZB__DOWNSTREAM__BODY_REMINDER);
    assert_string_equal(s.text[1], "2026-10");
    assert_int_equal(s.kind[2], ZB__DOWNSTREAM__BODY_NOTICE);
    assert_string_equal(s.text[2], "年终安全生产检查");
    for (size_t i = 0; i < 3; i++)
        assert_false(s.read[i]);

    /* one more, in a Deliver of its own */
    Zb__SignedDownstream *next[] = {notice(f, 4)};
    deliver_expect(f, next, 1, 4);
    expect_held(f, 4);

    /* committed: a read-only open (as `inbox` beside a running sync) sees them */
    zb_node *ro = NULL;
    assert_int_equal(zb_node_open(&ro, f->dir, true), ZB_OK);
    seen r = {0};
    assert_int_equal(zb_node_each_inbox(ro, false, see, &r), ZB_OK);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.number[3], 4);
    zb_node_close(&ro);
    assert_null(ro);
}

static void test_empty_deliver(void **state)
{
    fixture *f = *state;
    uint64_t last = 99;
    assert_int_equal(zb_node_store_downstream(f->node, NULL, 0, &last), ZB_OK);
    assert_int_equal(last, 0);
    deliver_three(f);
    assert_int_equal(zb_node_store_downstream(f->node, NULL, 0, &last), ZB_OK);
    assert_int_equal(last, 3);
}

/* A fresh node (no inbox_last recorded yet) whose first Deliver stores
 * nothing: 0 and inbox_last 0, so that the DeliverAck says 0. */
static void test_fresh_node_stores_nothing(void **state)
{
    fixture *f = *state;
    Zb__SignedDownstream *gap[] = {notice(f, 2)};
    deliver_expect(f, gap, 1, 0);
    msg m;
    msg_init(&m, f, 1);
    set_notice(&m, "伪造");
    Zb__SignedDownstream *forged[] = {sealed_by(&m, &f->other), notice(f, 2)};
    deliver_expect(f, forged, 2, 0);
    expect_held(f, 0);
    Zb__SignedDownstream *first[] = {notice(f, 1)};
    deliver_expect(f, first, 1, 1);
    expect_held(f, 1);
}

static void test_resend_stores_nothing(void **state)
{
    fixture *f = *state;
    deliver_three(f);
    Zb__SignedDownstream *again[] = {notice(f, 1), notice(f, 2), notice(f, 3)};
    deliver_expect(f, again, 3, 3);
    expect_held(f, 3);
    /* what is held did not change: the first delivery's messages stand */
    seen s = inbox(f, false);
    assert_int_equal(s.kind[0], ZB__DOWNSTREAM__BODY_REVIEW);
    assert_int_equal(s.kind[1], ZB__DOWNSTREAM__BODY_REMINDER);
    assert_string_equal(s.text[2], "年终安全生产检查");

    /* overlapping: 2..5 stores 4 and 5 only */
    Zb__SignedDownstream *overlap[] = {notice(f, 2), notice(f, 3), notice(f, 4), notice(f, 5)};
    deliver_expect(f, overlap, 4, 5);
    expect_held(f, 5);
    s = inbox(f, false);
    assert_string_equal(s.text[3], "通知 4");
    assert_string_equal(s.text[4], "通知 5");
}

static void test_gap_stores_nothing(void **state)
{
    fixture *f = *state;
    deliver_three(f);
    Zb__SignedDownstream *gap[] = {notice(f, 5)};
    deliver_expect(f, gap, 1, 3);
    expect_held(f, 3);
    /* a gap in the middle: what comes before it is stored, nothing after */
    Zb__SignedDownstream *middle[] = {notice(f, 4), notice(f, 6), notice(f, 7)};
    deliver_expect(f, middle, 3, 4);
    expect_held(f, 4);
    /* out of order within one Deliver */
    Zb__SignedDownstream *swapped[] = {notice(f, 6), notice(f, 5)};
    deliver_expect(f, swapped, 2, 4);
    expect_held(f, 4);
    Zb__SignedDownstream *fill[] = {notice(f, 5), notice(f, 6)};
    deliver_expect(f, fill, 2, 6);
    expect_held(f, 6);
}

static void test_other_signer_refused(void **state)
{
    fixture *f = *state;
    deliver_three(f);

    /* a consistent message from another aggregator (its own key inside) */
    msg m;
    msg_init(&m, f, 4);
    m.d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, f->other.pk};
    set_notice(&m, "伪造");
    Zb__SignedDownstream *foreign[] = {sealed_by(&m, &f->other), notice(f, 5)};
    deliver_expect(f, foreign, 2, 3);
    expect_held(f, 3);

    /* naming this node's aggregator, signed by another key */
    msg_init(&m, f, 4);
    set_notice(&m, "伪造");
    Zb__SignedDownstream *forged[] = {sealed_by(&m, &f->other), notice(f, 5)};
    deliver_expect(f, forged, 2, 3);
    expect_held(f, 3);

    /* a bad message after a good one: the good one is stored, the walk stops */
    msg_init(&m, f, 5);
    set_notice(&m, "伪造");
    Zb__SignedDownstream *mixed[] = {notice(f, 4), sealed_by(&m, &f->other), notice(f, 6)};
    deliver_expect(f, mixed, 3, 4);
    expect_held(f, 4);

    /* a signature altered in flight */
    Zb__SignedDownstream *bent = notice(f, 5);
    bent->signature.data[0] ^= 0x01;
    Zb__SignedDownstream *altered[] = {bent, notice(f, 6)};
    deliver_expect(f, altered, 2, 4);
    expect_held(f, 4);
}

static void test_other_county_refused(void **state)
{
    fixture *f = *state;
    deliver_three(f);
    msg m;
    msg_init(&m, f, 4);
    m.d.county = (char *)"222402"; /* Tumen's message, properly signed */
    set_notice(&m, "图们市");
    Zb__SignedDownstream *wrong[] = {sealed(f, &m), notice(f, 5)};
    deliver_expect(f, wrong, 2, 3);
    expect_held(f, 3);
    seen s = inbox(f, false);
    for (size_t i = 0; i < s.n; i++)
        assert_string_not_equal(s.text[i], "图们市");
    /* and the right one still goes in afterwards */
    Zb__SignedDownstream *right[] = {notice(f, 4)};
    deliver_expect(f, right, 1, 4);
}

static void test_reviews_latest_stands(void **state)
{
    fixture *f = *state;
    submit_monthly(f, "2026-10");
    submit_accident(f);
    submit_monthly(f, "2026-09");

    /* before any review, and without the flag */
    reviews v = reviews_of(f, ZB_NODE_WITH_REVIEW);
    assert_int_equal(v.n, 3);
    for (size_t i = 0; i < v.n; i++)
        assert_int_equal(v.review[i], 0);

    msg m1, m2, m3;
    msg_init(&m1, f, 1);
    set_review(&m1, 1, ZB__REVIEW_DECISION__RETURNED, "请补充整改措施");
    msg_init(&m2, f, 2);
    set_review(&m2, 2, ZB__REVIEW_DECISION__RETURNED, NULL);
    msg_init(&m3, f, 3);
    set_review(&m3, 1, ZB__REVIEW_DECISION__ACCEPTED, NULL);
    Zb__SignedDownstream *first[] = {sealed(f, &m1), sealed(f, &m2)};
    deliver_expect(f, first, 2, 2);
    v = reviews_of(f, ZB_NODE_WITH_REVIEW);
    assert_int_equal(v.review[0], ZB__REVIEW_DECISION__RETURNED);
    assert_int_equal(v.review[1], ZB__REVIEW_DECISION__RETURNED);
    assert_int_equal(v.review[2], 0);

    /* accepted after returned: the latest stands */
    Zb__SignedDownstream *second[] = {sealed(f, &m3)};
    deliver_expect(f, second, 1, 3);
    v = reviews_of(f, ZB_NODE_WITH_REVIEW | ZB_NODE_WITH_SYNC_STATE);
    assert_int_equal(v.seq[0], 1);
    assert_int_equal(v.review[0], ZB__REVIEW_DECISION__ACCEPTED);
    assert_int_equal(v.review[1], ZB__REVIEW_DECISION__RETURNED);
    assert_int_equal(v.review[2], 0);

    /* a resend of the old return does not bring it back */
    Zb__SignedDownstream *resend[] = {sealed(f, &m1), sealed(f, &m2), sealed(f, &m3)};
    deliver_expect(f, resend, 3, 3);
    v = reviews_of(f, ZB_NODE_WITH_REVIEW);
    assert_int_equal(v.review[0], ZB__REVIEW_DECISION__ACCEPTED);

    /* without the flag, nothing is filled */
    v = reviews_of(f, 0);
    for (size_t i = 0; i < v.n; i++)
        assert_int_equal(v.review[i], 0);
    /* one report, with the flag */
    reviews one = {0};
    assert_int_equal(zb_node_get_report(f->node, 2, ZB_NODE_WITH_REVIEW, see_review, &one), ZB_OK);
    assert_int_equal(one.n, 1);
    assert_int_equal(one.review[0], ZB__REVIEW_DECISION__RETURNED);
    /* from a read-only open */
    zb_node *ro = NULL;
    assert_int_equal(zb_node_open(&ro, f->dir, true), ZB_OK);
    reviews r = {0};
    assert_int_equal(zb_node_each_report(ro, 1, ZB_NODE_WITH_REVIEW, see_review, &r), ZB_OK);
    assert_int_equal(r.review[0], ZB__REVIEW_DECISION__ACCEPTED);
    zb_node_close(&ro);
}

static void expect_next(fixture *f, const char *period, int64_t deadline, int32_t offset)
{
    char p[8] = "";
    int64_t dl = 0;
    int32_t off = 0;
    assert_int_equal(zb_node_next_deadline(f->node, NOW, p, &dl, &off), ZB_OK);
    assert_string_equal(p, period);
    assert_int_equal(dl, deadline);
    assert_int_equal(off, offset);
}

static void test_next_deadline(void **state)
{
    fixture *f = *state;
    /* nothing filed on 2026-11-03: 2026-09 is past its deadline (10-05),
     * 2026-10's (11-05) is the earliest ahead */
    expect_next(f, "2026-10", DUE_2026_10, ZB_CST_OFFSET_MIN);

    /* the prefecture gives 2026-09 until 11-04 18:00 +09:00 */
    msg m1;
    msg_init(&m1, f, 1);
    set_deadline(&m1, "2026-09", MOVED_2026_09, 540);
    Zb__SignedDownstream *moved9[] = {sealed(f, &m1)};
    deliver_expect(f, moved9, 1, 1);
    expect_next(f, "2026-09", MOVED_2026_09, 540);

    /* filed: skipped */
    submit_monthly(f, "2026-09");
    expect_next(f, "2026-10", DUE_2026_10, ZB_CST_OFFSET_MIN);

    /* 2026-10 moved to 11-10 */
    msg m2;
    msg_init(&m2, f, 2);
    set_deadline(&m2, "2026-10", MOVED_2026_10, ZB_CST_OFFSET_MIN);
    Zb__SignedDownstream *moved10[] = {sealed(f, &m2)};
    deliver_expect(f, moved10, 1, 2);
    expect_next(f, "2026-10", MOVED_2026_10, ZB_CST_OFFSET_MIN);

    /* a later message moves it again: the latest stands */
    msg m3;
    msg_init(&m3, f, 3);
    set_deadline(&m3, "2026-10", MOVED_2026_10 + 86400, ZB_CST_OFFSET_MIN);
    Zb__SignedDownstream *again[] = {sealed(f, &m3)};
    deliver_expect(f, again, 1, 3);
    expect_next(f, "2026-10", MOVED_2026_10 + 86400, ZB_CST_OFFSET_MIN);

    /* 2026-10 filed: the current month's */
    submit_monthly(f, "2026-10");
    expect_next(f, "2026-11", DUE_2026_11, ZB_CST_OFFSET_MIN);

    /* every recent period filed: the next month's */
    submit_monthly(f, "2026-08");
    submit_monthly(f, "2026-11");
    expect_next(f, "2026-12", DUE_2026_12, ZB_CST_OFFSET_MIN);
}

static void test_mark_read_and_counts(void **state)
{
    fixture *f = *state;
    uint64_t last = 9, unread = 9;
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(last, 0);
    assert_int_equal(unread, 0);
    assert_int_equal(zb_node_inbox_mark_read(f->node, 1), ZB_ENOTFOUND);

    deliver_three(f);
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(last, 3);
    assert_int_equal(unread, 3);

    assert_int_equal(zb_node_inbox_mark_read(f->node, 2), ZB_OK);
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(last, 3);
    assert_int_equal(unread, 2);
    /* idempotent */
    assert_int_equal(zb_node_inbox_mark_read(f->node, 2), ZB_OK);
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(unread, 2);
    assert_int_equal(zb_node_inbox_mark_read(f->node, 4), ZB_ENOTFOUND);
    assert_int_equal(zb_node_inbox_mark_read(f->node, 0), ZB_ENOTFOUND);

    seen s = inbox(f, false);
    assert_int_equal(s.n, 3);
    assert_false(s.read[0]);
    assert_true(s.read[1]);
    assert_false(s.read[2]);
    /* the message is still whole and verifies after its flag changed */
    assert_int_equal(s.verify[1], 0);
    assert_int_equal(s.kind[1], ZB__DOWNSTREAM__BODY_REMINDER);

    s = inbox(f, true);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.number[0], 1);
    assert_int_equal(s.number[1], 3);

    /* a resend does not make a read message unread */
    Zb__SignedDownstream *again[] = {notice(f, 2), notice(f, 4)};
    deliver_expect(f, again, 2, 4);
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(last, 4);
    assert_int_equal(unread, 3);

    for (uint64_t i = 1; i <= 4; i++)
        assert_int_equal(zb_node_inbox_mark_read(f->node, i), ZB_OK);
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(unread, 0);
    s = inbox(f, true);
    assert_int_equal(s.n, 0);
}

/* Overwrite the stored record of message number with value. */
static void put_raw(fixture *f, uint64_t number, const uint8_t *value, size_t len)
{
    zb_store *st = zb_node_store(f->node);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(st, false, &txn), ZB_OK);
    uint8_t key[8];
    zb_be64_put(key, number);
    MDB_val k = {sizeof key, key}, v = {len, (void *)value};
    assert_int_equal(mdb_put(txn, zb_store_dbi(st, NODE_DB_INBOX), &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* Copy the stored record of message number (malloc'd). */
static uint8_t *get_raw(fixture *f, uint64_t number, size_t *len)
{
    zb_store *st = zb_node_store(f->node);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(st, true, &txn), ZB_OK);
    uint8_t key[8];
    zb_be64_put(key, number);
    MDB_val k = {sizeof key, key}, v;
    assert_int_equal(mdb_get(txn, zb_store_dbi(st, NODE_DB_INBOX), &k, &v), 0);
    uint8_t *copy = malloc(v.mv_size);
    assert_non_null(copy);
    memcpy(copy, v.mv_data, v.mv_size);
    *len = v.mv_size;
    mdb_txn_abort(txn);
    return copy;
}

/* Records in inbox_evidence. */
static size_t evidence_count(fixture *f)
{
    zb_store *st = zb_node_store(f->node);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(st, true, &txn), ZB_OK);
    MDB_stat ms;
    assert_int_equal(mdb_stat(txn, zb_store_dbi(st, NODE_DB_INBOX_EVIDENCE), &ms), 0);
    mdb_txn_abort(txn);
    return ms.ms_entries;
}

/* A different message signed under a number already held: the first
 * stays, the second is kept as evidence; an identical resend is not. */
static void test_second_message_same_number_is_evidence(void **state)
{
    fixture *f = *state;
    deliver_three(f);
    Zb__SignedDownstream *again[] = {notice(f, 3)}; /* 3 was a notice with another title */
    deliver_expect(f, again, 1, 3);
    assert_int_equal(evidence_count(f), 1);
    seen s = inbox(f, false);
    assert_string_equal(s.text[2], "年终安全生产检查");
    msg m3;
    msg_init(&m3, f, 3);
    set_notice(&m3, "年终安全生产检查");
    Zb__SignedDownstream *same[] = {sealed(f, &m3)};
    deliver_expect(f, same, 1, 3);
    assert_int_equal(evidence_count(f), 1);
}

static void test_tampered_listed_unverified(void **state)
{
    fixture *f = *state;
    deliver_three(f);
    size_t len;
    uint8_t *rec = get_raw(f, 2, &len);
    rec[len - 1] ^= 0x01; /* the signature's last byte */
    put_raw(f, 2, rec, len);
    /* message 1's bytes stored under number 3 */
    size_t len1;
    uint8_t *rec1 = get_raw(f, 1, &len1);
    put_raw(f, 3, rec1, len1);

    seen s = inbox(f, false);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.verify[0], 0);
    assert_int_equal(s.verify[1], ZB_EBADSIG);
    assert_int_not_equal(s.verify[2], 0);
    assert_int_equal(s.number[2], 3);

    /* a record too short to hold a message, and garbage */
    const uint8_t flag_only[1] = {0};
    put_raw(f, 2, flag_only, sizeof flag_only);
    const uint8_t junk[] = {0, 0xff, 0xff, 0xff, 0x0a};
    put_raw(f, 3, junk, sizeof junk);
    s = inbox(f, false);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.verify[0], 0);
    assert_int_not_equal(s.verify[1], 0);
    assert_int_not_equal(s.verify[2], 0);
    /* still marked read and counted */
    assert_int_equal(zb_node_inbox_mark_read(f->node, 3), ZB_OK);
    uint64_t last, unread;
    assert_int_equal(zb_node_inbox_counts(f->node, &last, &unread), ZB_OK);
    assert_int_equal(unread, 2);
    free(rec);
    free(rec1);
}

static int stop_at_two(void *ctx, const zb_node_inbox_msg *m)
{
    ++*(int *)ctx;
    return m->number == 2 ? 7 : 0;
}

static void test_walk_stops(void **state)
{
    fixture *f = *state;
    deliver_three(f);
    int calls = 0;
    assert_int_equal(zb_node_each_inbox(f->node, false, stop_at_two, &calls), 7);
    assert_int_equal(calls, 2);
}

int main(void)
{
    if (zb_crypto_init() != 0)
        return 1;
    zb_log_init("test_inbox", ZB_LOG_ERROR, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_node_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_signer_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_county_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reviews_latest_stands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_read_and_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_message_same_number_is_evidence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tampered_listed_unverified, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_stops, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
