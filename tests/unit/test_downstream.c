/*
 * test_downstream.c - the prefecture's signed messages to a county
 * (common/downstream.h): seal and open for every kind, every refusal of
 * zb_down_open (signature, signer, strict encoding, content rules, size),
 * the leaf test, the validation messages and the JSON.
 *
 * Expectations come from outside the code under test: the wire bytes are
 * spelled out from proto/zhibao.proto, signatures checked with libsodium
 * directly over "zhibao/downstream/v1\0" || downstream, non-canonical and
 * unknown-field encodings built by hand and signed properly, so only the
 * strict decoding can refuse them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "report.h"

#define COUNTY "222401"
/* 2026-11-05T23:59:59+08:00 */
#define CREATED_AT INT64_C(1793894399)
/* 2026-11-08T23:59:59+08:00: a moved deadline */
#define MOVED_DEADLINE INT64_C(1794153599)

/* The domain tag with its NUL: 21 bytes, spelled out independently. */
static const uint8_t down_tag[21] = {'z', 'h', 'i', 'b', 'a', 'o', '/', 'd', 'o', 'w', 'n',
                                     's', 't', 'r', 'e', 'a', 'm', '/', 'v', '1', 0};

static zb_identity agg, other;

static int setup(void **state)
{
    (void)state;
    if (zb_crypto_init() != 0)
        return -1;
    zb_identity_generate(&agg);
    zb_identity_generate(&other);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zb_identity_wipe(&agg);
    zb_identity_wipe(&other);
    return 0;
}

/* ------------------------------------------------------------ fixtures */

/* A message with all storage inside; one body set through the helpers. */
typedef struct {
    Zb__Downstream d;
    Zb__Review review;
    Zb__Reminder reminder;
    Zb__Deadline deadline;
    Zb__Time deadline_at;
    Zb__Notice notice;
} msg;

static void msg_init(msg *m, uint64_t number)
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
    m->d.created_at = CREATED_AT;
    m->d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, agg.pk};
}

static void set_review(msg *m, uint64_t seq, Zb__ReviewDecision decision, const char *comment,
                       const char *reviewer)
{
    m->review.seq = seq;
    m->review.decision = decision;
    m->review.comment = (char *)comment;
    m->review.reviewer = (char *)reviewer;
    m->d.body_case = ZB__DOWNSTREAM__BODY_REVIEW;
    m->d.review = &m->review;
}

static void set_missing(msg *m, const char *period, int64_t due_at)
{
    m->reminder.kind = ZB__REMINDER_KIND__MONTHLY_MISSING;
    m->reminder.period = (char *)period;
    m->reminder.has_due_at = 1;
    m->reminder.due_at = due_at;
    m->d.body_case = ZB__DOWNSTREAM__BODY_REMINDER;
    m->d.reminder = &m->reminder;
}

static void set_overdue(msg *m, const char *accident_id)
{
    m->reminder.kind = ZB__REMINDER_KIND__SUPPLEMENT_OVERDUE;
    m->reminder.accident_id = (char *)accident_id;
    m->d.body_case = ZB__DOWNSTREAM__BODY_REMINDER;
    m->d.reminder = &m->reminder;
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

static void set_notice(msg *m, const char *title, const char *text)
{
    m->notice.title = (char *)title;
    m->notice.text = (char *)text;
    m->d.body_case = ZB__DOWNSTREAM__BODY_NOTICE;
    m->d.notice = &m->notice;
}

static uint8_t *seal(const msg *m, const zb_identity *id, size_t *len)
{
    uint8_t *buf = NULL;
    assert_int_equal(zb_down_seal(&m->d, id, &buf, len), ZB_OK);
    assert_non_null(buf);
    return buf;
}

/* A SignedDownstream around any inner bytes, signed properly by id: what
 * is refused then is refused for the bytes, not the signature. */
static uint8_t *wrap(const uint8_t *inner, size_t inner_len, const zb_identity *id, size_t *len)
{
    uint8_t sig[ZB_SIG_LEN];
    assert_int_equal(zb_sign_tagged(ZB_TAG_DOWNSTREAM, inner, inner_len, id, sig), ZB_OK);
    Zb__SignedDownstream sd = ZB__SIGNED_DOWNSTREAM__INIT;
    sd.downstream = (ProtobufCBinaryData){inner_len, (uint8_t *)inner};
    sd.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    *len = zb__signed_downstream__get_packed_size(&sd);
    uint8_t *buf = malloc(*len);
    assert_non_null(buf);
    zb__signed_downstream__pack(&sd, buf);
    return buf;
}

/* m packed, with extra bytes appended (may be NULL), signed and wrapped. */
static uint8_t *wrap_packed(const msg *m, const uint8_t *extra, size_t extra_len, size_t *len)
{
    size_t n = zb__downstream__get_packed_size(&m->d);
    uint8_t *inner = malloc(n + extra_len);
    assert_non_null(inner);
    zb__downstream__pack(&m->d, inner);
    if (extra_len)
        memcpy(inner + n, extra, extra_len);
    uint8_t *out = wrap(inner, n + extra_len, &agg, len);
    free(inner);
    return out;
}

/* Seal m and open it again with the aggregator key: the decoded message. */
static Zb__Downstream *round_trip(const msg *m)
{
    size_t len;
    uint8_t *buf = seal(m, &agg, &len);
    assert_true(zb_down_is_leaf(buf, len));
    Zb__Downstream *d = NULL;
    assert_int_equal(zb_down_open(buf, len, agg.pk, &d), ZB_OK);
    assert_non_null(d);
    assert_int_equal(d->version, ZB_DOWN_VERSION);
    assert_string_equal(d->county, COUNTY);
    assert_int_equal(d->number, m->d.number);
    assert_int_equal(d->created_at, CREATED_AT);
    assert_int_equal(d->aggregator.len, ZB_PK_LEN);
    assert_memory_equal(d->aggregator.data, agg.pk, ZB_PK_LEN);
    assert_int_equal(d->body_case, m->d.body_case);
    /* the unpacked path gives back the same leaf bytes */
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, len, buf);
    assert_non_null(sd);
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    assert_int_equal(zb_down_open_signed(sd, agg.pk, NULL, &packed, &packed_len), ZB_OK);
    assert_int_equal(packed_len, len);
    assert_memory_equal(packed, buf, len);
    free(packed);
    zb__signed_downstream__free_unpacked(sd, NULL);
    free(buf);
    return d;
}

static int open_rc(const uint8_t *buf, size_t len, const uint8_t *key)
{
    Zb__Downstream *d = (Zb__Downstream *)&d; /* not NULL: open must clear it on failure */
    int rc = zb_down_open(buf, len, key, &d);
    if (rc)
        assert_null(d);
    else
        zb__downstream__free_unpacked(d, NULL);
    return rc;
}

/* s repeated until it holds n characters (s is one character). */
static char *repeat(const char *s, size_t n)
{
    size_t w = strlen(s);
    char *out = malloc(n * w + 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        memcpy(out + i * w, s, w);
    out[n * w] = '\0';
    return out;
}

/* ------------------------------------------------------------ wire */

/* The bytes of a small notice, spelled out from proto/zhibao.proto, and
 * the signature checked with libsodium over the tag and those bytes. */
static void test_wire_bytes(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 1);
    set_notice(&m, "T", "x");
    uint8_t want[64] = {
        0x08, 0x01,                               /* 1: version = 1 */
        0x12, 0x06, '2', '2', '2', '4', '0', '1', /* 2: county */
        0x18, 0x01,                               /* 3: number = 1 */
        0x20, 0xff, 0xcf, 0xb2, 0xd7, 0x06,       /* 4: created_at varint */
        0x2a, 0x20,                               /* 5: aggregator, 32 bytes (below) */
    };
    size_t n = 20;
    memcpy(want + n, agg.pk, ZB_PK_LEN), n += ZB_PK_LEN;
    static const uint8_t notice[] = {0x6a, 0x06, 0x0a, 0x01, 'T', 0x12, 0x01, 'x'}; /* 13 */
    memcpy(want + n, notice, sizeof notice), n += sizeof notice;
    assert_int_equal(zb__downstream__get_packed_size(&m.d), n);
    uint8_t got[64];
    zb__downstream__pack(&m.d, got);
    assert_memory_equal(got, want, n);

    size_t len;
    uint8_t *buf = seal(&m, &agg, &len);
    /* SignedDownstream: field 16 (0x82 0x01), n bytes; field 17 (0x8a 0x01), 64 bytes */
    assert_int_equal(len, 3 + n + 3 + ZB_SIG_LEN);
    static const uint8_t head[] = {0x82, 0x01};
    assert_memory_equal(buf, head, 2);
    assert_int_equal(buf[2], n);
    assert_memory_equal(buf + 3, want, n);
    assert_int_equal(buf[3 + n], 0x8a);
    assert_int_equal(buf[4 + n], 0x01);
    assert_int_equal(buf[5 + n], ZB_SIG_LEN);
    uint8_t signed_msg[sizeof down_tag + 64];
    memcpy(signed_msg, down_tag, sizeof down_tag);
    memcpy(signed_msg + sizeof down_tag, want, n);
    assert_int_equal(
        crypto_sign_verify_detached(buf + 6 + n, signed_msg, sizeof down_tag + n, agg.pk), 0);
    free(buf);
}

/* ------------------------------------------------------------ round trips */

static void test_round_trip_review(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 1);
    set_review(&m, 7, ZB__REVIEW_DECISION__RETURNED, "第3项数据有误，请核实后重新报送。",
               "王科长");
    Zb__Downstream *d = round_trip(&m);
    assert_int_equal(d->review->seq, 7);
    assert_int_equal(d->review->decision, ZB__REVIEW_DECISION__RETURNED);
    assert_string_equal(d->review->comment, "第3项数据有误，请核实后重新报送。");
    assert_string_equal(d->review->reviewer, "王科长");
    zb__downstream__free_unpacked(d, NULL);

    /* accepted, nothing optional */
    msg_init(&m, 2);
    set_review(&m, 8, ZB__REVIEW_DECISION__ACCEPTED, NULL, NULL);
    d = round_trip(&m);
    assert_int_equal(d->review->decision, ZB__REVIEW_DECISION__ACCEPTED);
    assert_null(d->review->comment);
    assert_null(d->review->reviewer);
    zb__downstream__free_unpacked(d, NULL);
}

static void test_round_trip_reminder(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 3);
    set_missing(&m, "2026-10", CREATED_AT);
    Zb__Downstream *d = round_trip(&m);
    assert_int_equal(d->reminder->kind, ZB__REMINDER_KIND__MONTHLY_MISSING);
    assert_string_equal(d->reminder->period, "2026-10");
    assert_true(d->reminder->has_due_at);
    assert_int_equal(d->reminder->due_at, CREATED_AT);
    assert_null(d->reminder->accident_id);
    zb__downstream__free_unpacked(d, NULL);

    msg_init(&m, 4);
    set_overdue(&m, "YJ-2026-0042");
    d = round_trip(&m);
    assert_int_equal(d->reminder->kind, ZB__REMINDER_KIND__SUPPLEMENT_OVERDUE);
    assert_string_equal(d->reminder->accident_id, "YJ-2026-0042");
    assert_null(d->reminder->period);
    assert_false(d->reminder->has_due_at);
    zb__downstream__free_unpacked(d, NULL);
}

static void test_round_trip_deadline(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 5);
    set_deadline(&m, "2026-10", MOVED_DEADLINE, 480);
    Zb__Downstream *d = round_trip(&m);
    assert_string_equal(d->deadline->period, "2026-10");
    assert_non_null(d->deadline->deadline);
    assert_int_equal(d->deadline->deadline->unix, MOVED_DEADLINE);
    assert_int_equal(d->deadline->deadline->offset_min, 480);
    zb__downstream__free_unpacked(d, NULL);
}

static void test_round_trip_notice(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 6);
    /* at both limits, in characters: 200 and 20000 three-byte ones */
    char *title = repeat("通", ZB_DOWN_TITLE_MAX);
    char *text = repeat("知", ZB_DOWN_TEXT_MAX);
    set_notice(&m, title, text);
    Zb__Downstream *d = round_trip(&m);
    assert_string_equal(d->notice->title, title);
    assert_string_equal(d->notice->text, text);
    zb__downstream__free_unpacked(d, NULL);
    free(title);
    free(text);
}

/* The comment's limit counts characters, not bytes. */
static void test_comment_limit_in_characters(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 1);
    char *comment = repeat("改", ZB_DOWN_COMMENT_MAX); /* 12000 bytes */
    set_review(&m, 1, ZB__REVIEW_DECISION__RETURNED, comment, NULL);
    Zb__Downstream *d = round_trip(&m);
    zb__downstream__free_unpacked(d, NULL);
    free(comment);
}

/* ------------------------------------------------------------ refusals */

static void test_refuses_flipped_signature(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 1);
    set_review(&m, 1, ZB__REVIEW_DECISION__ACCEPTED, NULL, NULL);
    size_t len;
    uint8_t *buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_OK);
    for (size_t i = len - ZB_SIG_LEN; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(open_rc(buf, len, agg.pk), ZB_EBADSIG);
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    /* a changed byte of the signed message (the number) */
    size_t number_at = 3 + 10 + 1; /* after the field-16 header, version, county, number tag */
    assert_int_equal(buf[number_at - 1], 0x18);
    buf[number_at] ^= 0x02;
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EBADSIG);
    free(buf);
}

static void test_refuses_other_key(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 1);
    set_notice(&m, "通知", "正文");
    size_t len;
    uint8_t *buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, other.pk), ZB_EBADSIG); /* opened with another key */
    free(buf);
    /* signed by another key that claims to be the aggregator */
    buf = seal(&m, &other, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EBADSIG);
    free(buf);
    /* signed by the aggregator, naming another signer */
    m.d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, other.pk};
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EBADSIG);
    assert_int_equal(open_rc(buf, len, other.pk), ZB_EBADSIG);
    free(buf);
}

static void test_refuses_non_canonical(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 1);
    set_review(&m, 1, ZB__REVIEW_DECISION__ACCEPTED, NULL, NULL);
    size_t len;
    uint8_t *buf = wrap_packed(&m, NULL, 0, &len); /* the control: hand-wrapped, opens */
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_OK);
    free(buf);

    /* inner: a field repeated (number = 1 twice; protobuf keeps the last) */
    static const uint8_t dup_number[] = {0x18, 0x01};
    buf = wrap_packed(&m, dup_number, sizeof dup_number, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EDECODE);
    free(buf);
    /* inner: a trailing unknown field (100, varint) */
    static const uint8_t unknown[] = {0xa0, 0x06, 0x01};
    buf = wrap_packed(&m, unknown, sizeof unknown, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EDECODE);
    free(buf);
    /* inner: the body given twice (protobuf-c merges; the bytes are not canonical) */
    static const uint8_t review_again[] = {0x52, 0x04, 0x08, 0x01, 0x10, 0x01};
    buf = wrap_packed(&m, review_again, sizeof review_again, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EDECODE);
    free(buf);

    /* outer: the signature field twice, or an unknown field after it */
    uint8_t *good = seal(&m, &agg, &len);
    uint8_t *big = malloc(len + 3 + ZB_SIG_LEN);
    assert_non_null(big);
    memcpy(big, good, len);
    memcpy(big + len, good + len - 3 - ZB_SIG_LEN, 3 + ZB_SIG_LEN);
    assert_int_equal(open_rc(big, len + 3 + ZB_SIG_LEN, agg.pk), ZB_EDECODE);
    memcpy(big + len, unknown, sizeof unknown);
    assert_int_equal(open_rc(big, len + sizeof unknown, agg.pk), ZB_EDECODE);
    /* outer: the fields swapped (valid protobuf, not canonical, not a leaf) */
    size_t inner_len = len - 3 - 3 - ZB_SIG_LEN;
    memcpy(big, good + 3 + inner_len, 3 + ZB_SIG_LEN);
    memcpy(big + 3 + ZB_SIG_LEN, good, 3 + inner_len);
    assert_int_equal(open_rc(big, len, agg.pk), ZB_EDECODE);
    /* outer: a 63-byte signature */
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, len, good);
    assert_non_null(sd);
    sd->signature.len = ZB_SIG_LEN - 1;
    size_t short_len = zb__signed_downstream__get_packed_size(sd);
    zb__signed_downstream__pack(sd, big);
    assert_int_equal(open_rc(big, short_len, agg.pk), ZB_EDECODE);
    sd->signature.len = ZB_SIG_LEN;
    zb__signed_downstream__free_unpacked(sd, NULL);
    free(big);
    free(good);

    /* not a message at all */
    static const uint8_t junk[] = {0x82, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(open_rc(junk, sizeof junk, agg.pk), ZB_EDECODE);
    assert_int_equal(open_rc(junk, 0, agg.pk), ZB_EDECODE);
    assert_int_equal(open_rc(junk, 1, agg.pk), ZB_EDECODE);
    assert_int_equal(open_rc(junk, 2, agg.pk), ZB_EDECODE);
}

static void test_refuses_over_limits(void **state)
{
    (void)state;
    msg m;
    msg_init(&m, 1);
    char *comment = repeat("x", ZB_DOWN_COMMENT_MAX + 1);
    set_review(&m, 1, ZB__REVIEW_DECISION__RETURNED, comment, NULL);
    size_t len;
    uint8_t *buf = seal(&m, &agg, &len); /* seal checks nothing: signed, then refused */
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    free(comment);

    char *reviewer = repeat("王", ZB_DOWN_REVIEWER_MAX + 1);
    set_review(&m, 1, ZB__REVIEW_DECISION__RETURNED, NULL, reviewer);
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    free(reviewer);

    char *title = repeat("通", ZB_DOWN_TITLE_MAX + 1);
    set_notice(&m, title, "正文");
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    free(title);

    char *text = repeat("知", ZB_DOWN_TEXT_MAX + 1);
    set_notice(&m, "通知", text);
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    free(text);

    /* bytes over ZB_DOWN_MAX: refused by seal and, unread, by open */
    char *huge = repeat("x", ZB_DOWN_MAX);
    set_notice(&m, "通知", huge);
    uint8_t *none = (uint8_t *)&none;
    assert_int_equal(zb_down_seal(&m.d, &agg, &none, &len), ZB_ETOOBIG);
    assert_null(none);
    assert_int_equal(open_rc((const uint8_t *)huge, ZB_DOWN_MAX + 1, agg.pk), ZB_ETOOBIG);
    free(huge);
}

static void test_refuses_bad_content(void **state)
{
    (void)state;
    msg m;
    size_t len;
    uint8_t *buf;
    /* invalid UTF-8: a lone continuation byte, an overlong '/', a surrogate */
    static const char *const bad_utf8[] = {"ab\x80", "\xc0\xaf", "\xed\xa0\x80"};
    for (size_t i = 0; i < 3; i++) {
        msg_init(&m, 1);
        set_review(&m, 1, ZB__REVIEW_DECISION__RETURNED, bad_utf8[i], NULL);
        buf = seal(&m, &agg, &len);
        assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
        free(buf);
        msg_init(&m, 1);
        set_notice(&m, bad_utf8[i], "正文");
        buf = seal(&m, &agg, &len);
        assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
        free(buf);
    }
    /* no body */
    msg_init(&m, 1);
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    /* header rules: number 0, a 5-digit county, version 2 */
    msg_init(&m, 0);
    set_notice(&m, "通知", "正文");
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    msg_init(&m, 1);
    set_notice(&m, "通知", "正文");
    m.d.county = (char *)"22240";
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    msg_init(&m, 1);
    set_notice(&m, "通知", "正文");
    m.d.version = 2;
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    /* a reminder without its period; a deadline that is no period */
    msg_init(&m, 1);
    set_missing(&m, NULL, CREATED_AT);
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
    msg_init(&m, 1);
    set_deadline(&m, "2026-13", MOVED_DEADLINE, 480);
    buf = seal(&m, &agg, &len);
    assert_int_equal(open_rc(buf, len, agg.pk), ZB_EVALIDATION);
    free(buf);
}

/* ------------------------------------------------------------ leaves */

static void test_is_leaf(void **state)
{
    (void)state;
    /* an Envelope's packed bytes: field 1 first (0x0a) */
    static const uint8_t report[] = {0x08, 0x01};
    uint8_t *env = NULL;
    size_t env_len;
    assert_int_equal(zb_envelope_seal(report, sizeof report, &agg, &env, &env_len), ZB_OK);
    assert_int_equal(env[0], 0x0a);
    assert_false(zb_down_is_leaf(env, env_len));
    free(env);

    msg m;
    msg_init(&m, 1);
    set_notice(&m, "通知", "正文");
    size_t len;
    uint8_t *buf = seal(&m, &agg, &len);
    assert_true(zb_down_is_leaf(buf, len));
    assert_false(zb_down_is_leaf(buf, 1));
    assert_false(zb_down_is_leaf(buf, 0));
    free(buf);
    static const uint8_t field17[] = {0x8a, 0x01, 0x00};
    static const uint8_t field16_varint[] = {0x80, 0x01, 0x00};
    assert_false(zb_down_is_leaf(field17, sizeof field17));
    assert_false(zb_down_is_leaf(field16_varint, sizeof field16_varint));
}

/* ------------------------------------------------------------ validation */

/* Every line of p starts with "FIELD: " for one of the fields, and each
 * field is named. */
static void expect_fields(const zb_problems *p, const char *const *fields, size_t n)
{
    if (p->n != n)
        for (size_t i = 0; i < p->n; i++)
            print_message("problem: %s\n", p->lines[i]);
    assert_int_equal(p->n, n);
    for (size_t i = 0; i < n; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: ", fields[i]);
        if (strncmp(p->lines[i], prefix, strlen(prefix)) != 0)
            fail_msg("problem %zu \"%s\" does not name %s", i, p->lines[i], fields[i]);
    }
}

static void test_validate_names_fields(void **state)
{
    (void)state;
    msg m;
    zb_problems p = {0};

    msg_init(&m, 1);
    set_notice(&m, "通知", "正文");
    zb_down_validate(&m.d, &p);
    assert_int_equal(p.n, 0);

    /* the header, and no body */
    msg_init(&m, 0);
    m.d.version = 9;
    m.d.county = (char *)"2224O1";
    m.d.aggregator.len = 31;
    zb_down_validate(&m.d, &p);
    static const char *const header[] = {"version", "county", "number", "aggregator", "body"};
    expect_fields(&p, header, 5);
    zb_problems_free(&p);

    /* a review */
    msg_init(&m, 1);
    char *comment = repeat("x", ZB_DOWN_COMMENT_MAX + 1);
    set_review(&m, 0, ZB__REVIEW_DECISION__REVIEW_DECISION_UNSPECIFIED, comment, "\xff");
    zb_down_validate(&m.d, &p);
    static const char *const review[] = {"seq", "decision", "comment", "reviewer"};
    expect_fields(&p, review, 4);
    assert_string_equal(p.lines[2], "comment: text over its limit (4001 characters, at most 4000)");
    assert_string_equal(p.lines[3], "reviewer: not valid UTF-8");
    zb_problems_free(&p);
    free(comment);

    /* control characters: none in one-line fields, newline and tab only in texts */
    msg_init(&m, 1);
    set_review(&m, 3, ZB__REVIEW_DECISION__RETURNED, "第一行\n\t第二行", "张\x1b[31m明");
    zb_down_validate(&m.d, &p);
    static const char *const reviewer_only[] = {"reviewer"};
    expect_fields(&p, reviewer_only, 1);
    assert_string_equal(p.lines[0], "reviewer: control characters (one line of text)");
    zb_problems_free(&p);
    set_review(&m, 3, ZB__REVIEW_DECISION__RETURNED, "a\rb", "x\xc2\x85y"); /* CR; U+0085 */
    zb_down_validate(&m.d, &p);
    static const char *const both[] = {"comment", "reviewer"};
    expect_fields(&p, both, 2);
    zb_problems_free(&p);
    msg_init(&m, 1);
    set_notice(&m, "标题\n第二行", "正文\n第二段\x7f");
    zb_down_validate(&m.d, &p);
    static const char *const title_text[] = {"title", "text"};
    expect_fields(&p, title_text, 2);
    zb_problems_free(&p);

    /* reminders */
    msg_init(&m, 1);
    set_missing(&m, "2026-1", CREATED_AT);
    zb_down_validate(&m.d, &p);
    static const char *const period[] = {"period"};
    expect_fields(&p, period, 1);
    zb_problems_free(&p);
    set_overdue(&m, "no spaces allowed");
    zb_down_validate(&m.d, &p);
    static const char *const accident[] = {"accident_id"};
    expect_fields(&p, accident, 1);
    zb_problems_free(&p);
    m.reminder.kind = ZB__REMINDER_KIND__REMINDER_KIND_UNSPECIFIED;
    zb_down_validate(&m.d, &p);
    static const char *const kind[] = {"kind"};
    expect_fields(&p, kind, 1);
    zb_problems_free(&p);

    /* a deadline out of range */
    msg_init(&m, 1);
    set_deadline(&m, "2026-10", ZB_TIME_MAX + 1, 480);
    zb_down_validate(&m.d, &p);
    static const char *const deadline[] = {"deadline"};
    expect_fields(&p, deadline, 1);
    zb_problems_free(&p);
    set_deadline(&m, "2026-10", MOVED_DEADLINE, 1440);
    zb_down_validate(&m.d, &p);
    expect_fields(&p, deadline, 1);
    zb_problems_free(&p);

    /* a notice: empty title, text over its limit */
    msg_init(&m, 1);
    char *text = repeat("知", ZB_DOWN_TEXT_MAX + 1);
    set_notice(&m, "", text);
    zb_down_validate(&m.d, &p);
    static const char *const notice[] = {"title", "text"};
    expect_fields(&p, notice, 2);
    assert_string_equal(p.lines[0], "title: must not be empty");
    zb_problems_free(&p);
    free(text);
    set_notice(&m, "通知", NULL);
    zb_down_validate(&m.d, &p);
    static const char *const text_missing[] = {"text"};
    expect_fields(&p, text_missing, 1);
    assert_string_equal(p.lines[0], "text: missing");
    zb_problems_free(&p);
}

/* ------------------------------------------------------------ JSON */

/* The opened message's JSON has exactly these keys (besides the four
 * every kind has). */
static json_t *json_of(const msg *m, const char *const *keys, size_t n)
{
    Zb__Downstream *d = round_trip(m);
    json_t *j = zb_down_to_json(d);
    zb__downstream__free_unpacked(d, NULL);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 4 + n);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), m->d.number);
    assert_string_equal(json_string_value(json_object_get(j, "county")), COUNTY);
    assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                        "2026-11-05T23:59:59+08:00");
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(j, keys[i]))
            fail_msg("no \"%s\" in the JSON", keys[i]);
    return j;
}

static const char *str(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    assert_non_null(s);
    return s;
}

static void test_to_json(void **state)
{
    (void)state;
    msg m;

    msg_init(&m, 1);
    set_review(&m, 7, ZB__REVIEW_DECISION__RETURNED, "请核实", NULL);
    static const char *const review[] = {"seq", "decision", "comment", "reviewer"};
    json_t *j = json_of(&m, review, 4);
    assert_string_equal(str(j, "kind"), "review");
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 7);
    assert_string_equal(str(j, "decision"), "returned");
    assert_string_equal(str(j, "comment"), "请核实");
    assert_true(json_is_null(json_object_get(j, "reviewer")));
    json_decref(j);

    msg_init(&m, 2);
    set_missing(&m, "2026-10", CREATED_AT);
    static const char *const reminder[] = {"reminder", "period", "accident_id", "due_at"};
    j = json_of(&m, reminder, 4);
    assert_string_equal(str(j, "kind"), "reminder");
    assert_string_equal(str(j, "reminder"), "monthly_missing");
    assert_string_equal(str(j, "period"), "2026-10");
    assert_true(json_is_null(json_object_get(j, "accident_id")));
    assert_string_equal(str(j, "due_at"), "2026-11-05T23:59:59+08:00");
    json_decref(j);

    msg_init(&m, 3);
    set_overdue(&m, "YJ-2026-0042");
    j = json_of(&m, reminder, 4);
    assert_string_equal(str(j, "reminder"), "supplement_overdue");
    assert_string_equal(str(j, "accident_id"), "YJ-2026-0042");
    assert_true(json_is_null(json_object_get(j, "period")));
    assert_true(json_is_null(json_object_get(j, "due_at")));
    json_decref(j);

    /* a deadline keeps the offset it was set with */
    msg_init(&m, 4);
    set_deadline(&m, "2026-10", MOVED_DEADLINE, 540);
    static const char *const deadline[] = {"period", "deadline"};
    j = json_of(&m, deadline, 2);
    assert_string_equal(str(j, "kind"), "deadline");
    assert_string_equal(str(j, "period"), "2026-10");
    assert_string_equal(str(j, "deadline"), "2026-11-09T00:59:59+09:00");
    json_decref(j);

    msg_init(&m, 5);
    set_notice(&m, "关于元旦值班的通知", "请做好值班安排。");
    static const char *const notice[] = {"title", "text"};
    j = json_of(&m, notice, 2);
    assert_string_equal(str(j, "kind"), "notice");
    assert_string_equal(str(j, "title"), "关于元旦值班的通知");
    assert_string_equal(str(j, "text"), "请做好值班安排。");
    json_decref(j);

    /* the names */
    assert_string_equal(zb_down_decision_name(ZB__REVIEW_DECISION__ACCEPTED), "accepted");
    assert_string_equal(zb_down_decision_name(ZB__REVIEW_DECISION__REVIEW_DECISION_UNSPECIFIED),
                        "unknown");
    assert_string_equal(zb_down_reminder_name(ZB__REMINDER_KIND__REMINDER_KIND_UNSPECIFIED),
                        "unknown");
    msg_init(&m, 6);
    assert_string_equal(zb_down_kind_name(&m.d), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wire_bytes),
        cmocka_unit_test(test_round_trip_review),
        cmocka_unit_test(test_round_trip_reminder),
        cmocka_unit_test(test_round_trip_deadline),
        cmocka_unit_test(test_round_trip_notice),
        cmocka_unit_test(test_comment_limit_in_characters),
        cmocka_unit_test(test_refuses_flipped_signature),
        cmocka_unit_test(test_refuses_other_key),
        cmocka_unit_test(test_refuses_non_canonical),
        cmocka_unit_test(test_refuses_over_limits),
        cmocka_unit_test(test_refuses_bad_content),
        cmocka_unit_test(test_is_leaf),
        cmocka_unit_test(test_validate_names_fields),
        cmocka_unit_test(test_to_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
