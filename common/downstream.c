/* downstream.c - see downstream.h. */
#include "downstream.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "err.h"
#include "timefmt.h"

/* A control character (C0, DEL, C1) other than those allowed. s is valid UTF-8. */
static bool has_control(const char *s, bool lines)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c < 0x20 && !(lines && (*c == '\n' || *c == '\t'))) || *c == 0x7f)
            return true;
        if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f) /* U+0080..U+009F */
            return true;
    }
    return false;
}

/* lines: a text of lines (comment, notice text) may hold newlines and
 * tabs; a one-line field (reviewer, title) no control character at all. */
static void check_text(zb_problems *p, const char *field, const char *s, bool required,
                       size_t max, bool lines)
{
    if (!s) {
        if (required)
            zb_problems_add(p, "%s: missing", field);
        return;
    }
    if (!zb_utf8_valid(s)) {
        zb_problems_add(p, "%s: not valid UTF-8", field);
        return;
    }
    if (has_control(s, lines))
        zb_problems_add(p, lines ? "%s: control characters other than newline and tab"
                                 : "%s: control characters (one line of text)",
                        field);
    size_t n = zb_utf8_chars(s);
    if (required && n == 0)
        zb_problems_add(p, "%s: must not be empty", field);
    if (n > max)
        zb_problems_add(p, "%s: text over its limit (%zu characters, at most %zu)", field, n, max);
}

static bool county_valid(const char *c)
{
    if (!c || strlen(c) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (c[i] < '0' || c[i] > '9')
            return false;
    return true;
}

static void check_period(zb_problems *p, const char *period)
{
    int y, m;
    if (!period)
        zb_problems_add(p, "period: missing");
    else if (zb_period_parse(period, &y, &m) != 0)
        zb_problems_add(p, "period: not a period (YYYY-MM)");
}

void zb_down_validate(const Zb__Downstream *d, zb_problems *p)
{
    if (d->version != ZB_DOWN_VERSION)
        zb_problems_add(p, "version: must be %d", ZB_DOWN_VERSION);
    if (!county_valid(d->county))
        zb_problems_add(p, "county: must be a 6-digit code");
    if (d->number < 1)
        zb_problems_add(p, "number: must be 1 or more");
    if (d->aggregator.len != ZB_PK_LEN)
        zb_problems_add(p, "aggregator: must be a 32-byte key");
    switch (d->body_case) {
    case ZB__DOWNSTREAM__BODY_REVIEW: {
        const Zb__Review *r = d->review;
        if (r->seq < 1)
            zb_problems_add(p, "seq: must be 1 or more");
        if (r->decision != ZB__REVIEW_DECISION__ACCEPTED &&
            r->decision != ZB__REVIEW_DECISION__RETURNED)
            zb_problems_add(p, "decision: must be accepted or returned");
        check_text(p, "comment", r->comment, false, ZB_DOWN_COMMENT_MAX, true);
        check_text(p, "reviewer", r->reviewer, false, ZB_DOWN_REVIEWER_MAX, false);
        break;
    }
    case ZB__DOWNSTREAM__BODY_REMINDER: {
        const Zb__Reminder *r = d->reminder;
        if (r->kind == ZB__REMINDER_KIND__MONTHLY_MISSING) {
            check_period(p, r->period);
        } else if (r->kind == ZB__REMINDER_KIND__SUPPLEMENT_OVERDUE) {
            if (!r->accident_id || !zb_accident_id_valid(r->accident_id))
                zb_problems_add(p, "accident_id: must be 1-64 of A-Z a-z 0-9 - _");
        } else {
            zb_problems_add(p, "kind: must be monthly_missing or supplement_overdue");
        }
        break;
    }
    case ZB__DOWNSTREAM__BODY_DEADLINE: {
        const Zb__Deadline *dl = d->deadline;
        check_period(p, dl->period);
        char buf[40];
        if (!dl->deadline ||
            zb_time_format(dl->deadline->unix, dl->deadline->offset_min, 0, buf, sizeof buf) != 0 ||
            dl->deadline->unix < 0 || dl->deadline->unix > ZB_TIME_MAX ||
            dl->deadline->offset_min < -1439 || dl->deadline->offset_min > 1439)
            zb_problems_add(p, "deadline: not a time zhibao can hold");
        break;
    }
    case ZB__DOWNSTREAM__BODY_NOTICE:
        check_text(p, "title", d->notice->title, true, ZB_DOWN_TITLE_MAX, false);
        check_text(p, "text", d->notice->text, true, ZB_DOWN_TEXT_MAX, true);
        break;
    default: zb_problems_add(p, "body: missing (review, reminder, deadline or notice)"); break;
    }
}

int zb_down_seal(const Zb__Downstream *d, const zb_identity *id, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t dn = zb__downstream__get_packed_size(d);
    if (dn > ZB_DOWN_MAX)
        return ZB_ETOOBIG;
    uint8_t *body = malloc(dn ? dn : 1);
    if (!body)
        return ZB_ENOMEM;
    zb__downstream__pack(d, body);
    uint8_t sig[ZB_SIG_LEN];
    int rc = zb_sign_tagged(ZB_TAG_DOWNSTREAM, body, dn, id, sig);
    if (rc) {
        free(body);
        return rc;
    }
    Zb__SignedDownstream sd = ZB__SIGNED_DOWNSTREAM__INIT;
    sd.downstream = (ProtobufCBinaryData){dn, body};
    sd.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    size_t n = zb__signed_downstream__get_packed_size(&sd);
    uint8_t *buf = n <= ZB_DOWN_MAX ? malloc(n) : NULL;
    if (!buf) {
        free(body);
        return n > ZB_DOWN_MAX ? ZB_ETOOBIG : ZB_ENOMEM;
    }
    zb__signed_downstream__pack(&sd, buf);
    free(body);
    *out = buf;
    *len = n;
    return ZB_OK;
}

/* The inner layer: signature, strict decoding, signer, content. */
static int open_body(const uint8_t *body, size_t body_len, const uint8_t *sig, size_t sig_len,
                     const uint8_t agg_key[ZB_PK_LEN], Zb__Downstream **out)
{
    if (sig_len != ZB_SIG_LEN)
        return ZB_EDECODE;
    if (zb_verify_tagged(ZB_TAG_DOWNSTREAM, body, body_len, sig, agg_key) != 0)
        return ZB_EBADSIG;
    Zb__Downstream *d = zb__downstream__unpack(NULL, body_len, body);
    if (!d)
        return ZB_EDECODE;
    if (zb_pb_has_unknown_fields(&d->base) || !zb_pb_canonical(&d->base, body, body_len)) {
        zb__downstream__free_unpacked(d, NULL);
        return ZB_EDECODE;
    }
    if (d->aggregator.len != ZB_PK_LEN || memcmp(d->aggregator.data, agg_key, ZB_PK_LEN) != 0) {
        zb__downstream__free_unpacked(d, NULL);
        return ZB_EBADSIG;
    }
    zb_problems p = {0};
    zb_down_validate(d, &p);
    bool ok = p.n == 0;
    zb_problems_free(&p);
    if (!ok) {
        zb__downstream__free_unpacked(d, NULL);
        return ZB_EVALIDATION;
    }
    if (out)
        *out = d;
    else
        zb__downstream__free_unpacked(d, NULL);
    return ZB_OK;
}

int zb_down_open(const uint8_t *buf, size_t len, const uint8_t agg_key[ZB_PK_LEN],
                 Zb__Downstream **out)
{
    if (out)
        *out = NULL;
    if (len > ZB_DOWN_MAX)
        return ZB_ETOOBIG;
    if (!zb_down_is_leaf(buf, len))
        return ZB_EDECODE;
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, len, buf);
    if (!sd)
        return ZB_EDECODE;
    int rc = zb_pb_has_unknown_fields(&sd->base) || !zb_pb_canonical(&sd->base, buf, len)
                 ? ZB_EDECODE
                 : open_body(sd->downstream.data, sd->downstream.len, sd->signature.data,
                             sd->signature.len, agg_key, out);
    zb__signed_downstream__free_unpacked(sd, NULL);
    return rc;
}

int zb_down_open_signed(const Zb__SignedDownstream *sd, const uint8_t agg_key[ZB_PK_LEN],
                        Zb__Downstream **out, uint8_t **packed, size_t *packed_len)
{
    if (out)
        *out = NULL;
    if (packed)
        *packed = NULL;
    if (zb_pb_has_unknown_fields(&sd->base))
        return ZB_EDECODE;
    size_t n = zb__signed_downstream__get_packed_size(sd);
    if (n > ZB_DOWN_MAX)
        return ZB_ETOOBIG;
    Zb__Downstream *d = NULL;
    int rc = open_body(sd->downstream.data, sd->downstream.len, sd->signature.data,
                       sd->signature.len, agg_key, &d);
    if (rc)
        return rc;
    if (packed) {
        /* the fields are bytes: packing the unpacked message gives back
         * exactly the canonical encoding the aggregator logged */
        *packed = malloc(n);
        if (!*packed) {
            zb__downstream__free_unpacked(d, NULL);
            return ZB_ENOMEM;
        }
        zb__signed_downstream__pack(sd, *packed);
        *packed_len = n;
    }
    if (out)
        *out = d;
    else
        zb__downstream__free_unpacked(d, NULL);
    return ZB_OK;
}

bool zb_down_is_leaf(const uint8_t *entry, size_t len)
{
    /* field 16, wire type 2: tag varint (16 << 3 | 2) = 0x82 0x01 */
    return len >= 2 && entry[0] == 0x82 && entry[1] == 0x01;
}

const char *zb_down_kind_name(const Zb__Downstream *d)
{
    switch (d->body_case) {
    case ZB__DOWNSTREAM__BODY_REVIEW: return "review";
    case ZB__DOWNSTREAM__BODY_REMINDER: return "reminder";
    case ZB__DOWNSTREAM__BODY_DEADLINE: return "deadline";
    case ZB__DOWNSTREAM__BODY_NOTICE: return "notice";
    default: return "unknown";
    }
}

const char *zb_down_decision_name(Zb__ReviewDecision d)
{
    switch (d) {
    case ZB__REVIEW_DECISION__ACCEPTED: return "accepted";
    case ZB__REVIEW_DECISION__RETURNED: return "returned";
    default: return "unknown";
    }
}

const char *zb_down_reminder_name(Zb__ReminderKind k)
{
    switch (k) {
    case ZB__REMINDER_KIND__MONTHLY_MISSING: return "monthly_missing";
    case ZB__REMINDER_KIND__SUPPLEMENT_OVERDUE: return "supplement_overdue";
    default: return "unknown";
    }
}

/* A time as RFC 3339 (null when it cannot be shown). */
static json_t *opt_string(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *zb_down_to_json(const Zb__Downstream *d)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer((json_int_t)d->number));
    json_object_set_new(o, "county", json_string(d->county));
    json_object_set_new(o, "kind", json_string(zb_down_kind_name(d)));
    json_object_set_new(o, "created_at", zb_json_time(d->created_at));
    switch (d->body_case) {
    case ZB__DOWNSTREAM__BODY_REVIEW:
        json_object_set_new(o, "seq", json_integer((json_int_t)d->review->seq));
        json_object_set_new(o, "decision",
                            json_string(zb_down_decision_name(d->review->decision)));
        json_object_set_new(o, "comment", opt_string(d->review->comment));
        json_object_set_new(o, "reviewer", opt_string(d->review->reviewer));
        break;
    case ZB__DOWNSTREAM__BODY_REMINDER:
        json_object_set_new(o, "reminder", json_string(zb_down_reminder_name(d->reminder->kind)));
        json_object_set_new(o, "period", opt_string(d->reminder->period));
        json_object_set_new(o, "accident_id", opt_string(d->reminder->accident_id));
        json_object_set_new(o, "due_at", d->reminder->has_due_at
                                             ? zb_json_time(d->reminder->due_at)
                                             : json_null());
        break;
    case ZB__DOWNSTREAM__BODY_DEADLINE:
        json_object_set_new(o, "period", json_string(d->deadline->period));
        json_object_set_new(o, "deadline", zb_json_time_at(d->deadline->deadline->unix,
                                                     d->deadline->deadline->offset_min));
        break;
    case ZB__DOWNSTREAM__BODY_NOTICE:
        json_object_set_new(o, "title", json_string(d->notice->title));
        json_object_set_new(o, "text", json_string(d->notice->text));
        break;
    default: break;
    }
    return o;
}
