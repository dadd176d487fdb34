/*
 * downstream.h - the prefecture's messages to one county: a review of one
 * of its reports, a reminder, a period's moved deadline, a notice
 * (docs/protocol.md "Downstream messages"). The aggregator builds and
 * signs them, the node and the audit tool verify and decode them; all
 * three use the one set of rules here.
 *
 * A message is a Downstream (recipient county, number 1, 2, 3... per
 * county, creation time, the signer's key, one body) signed with the
 * aggregator key over "zhibao/downstream/v1\0" || its bytes, and carried
 * as a SignedDownstream. The packed SignedDownstream is also the message's
 * leaf entry in the transparency log: its fields are numbered 16 and 17,
 * so its encoding starts 0x82 0x01 and never reads as an Envelope.
 */
#ifndef ZB_DOWNSTREAM_H
#define ZB_DOWNSTREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "report.h"
#include "zhibao.pb-c.h"

#define ZB_DOWN_VERSION 1
/* Text limits, in characters (Unicode code points). */
#define ZB_DOWN_COMMENT_MAX 4000
#define ZB_DOWN_REVIEWER_MAX 64
#define ZB_DOWN_TITLE_MAX 200
#define ZB_DOWN_TEXT_MAX 20000
/* One packed SignedDownstream (a notice at its limits is ~81 KB). */
#define ZB_DOWN_MAX (128u * 1024u)

/* Content rules, one problem line per violation naming the field as the
 * body calls it ("comment: text over its limit (...)"): version 1, a
 * 6-digit county, number >= 1, a 32-byte key, exactly one body; a review
 * of seq >= 1 with a decision, comment and reviewer within their limits;
 * a reminder of a known kind with its period (valid "YYYY-MM") or its
 * accident_id; a deadline with a valid period and a time in range; a
 * notice with a non-empty title and text within their limits. All text
 * well-formed UTF-8. */
void zb_down_validate(const Zb__Downstream *d, zb_problems *p);

/* Pack d (filled in full by the caller, aggregator = id->pk), sign it and
 * pack the SignedDownstream: *out (malloc'd, caller frees) is the leaf
 * entry and what is delivered. Checks nothing: validate first.
 * 0, ZB_ETOOBIG (over ZB_DOWN_MAX) or ZB_ENOMEM. */
int zb_down_seal(const Zb__Downstream *d, const zb_identity *id, uint8_t **out, size_t *len);

/* Verify a packed SignedDownstream: size, strict decoding of both layers
 * (no unknown fields, each the canonical encoding of what it decodes to),
 * the signature by agg_key, the Downstream's aggregator field equal to
 * agg_key, and the content rules. *out (if not NULL) gets the decoded
 * Downstream (free with zb__downstream__free_unpacked(d, NULL)).
 * Errors: ZB_ETOOBIG, ZB_EDECODE, ZB_EBADSIG, ZB_EVALIDATION (signed but
 * breaking the content rules). */
__attribute__((warn_unused_result)) int zb_down_open(const uint8_t *buf, size_t len,
                                                     const uint8_t agg_key[ZB_PK_LEN],
                                                     Zb__Downstream **out);

/* The same for an unpacked SignedDownstream (one of a Deliver's); *packed
 * (if not NULL, malloc'd, caller frees) gets its canonical encoding: what
 * is stored, and the leaf entry. */
__attribute__((warn_unused_result)) int zb_down_open_signed(const Zb__SignedDownstream *sd,
                                                            const uint8_t agg_key[ZB_PK_LEN],
                                                            Zb__Downstream **out,
                                                            uint8_t **packed, size_t *packed_len);

/* True when a log leaf entry is a downstream message (first bytes 0x82
 * 0x01), false for an Envelope (or anything else). */
bool zb_down_is_leaf(const uint8_t *entry, size_t len);

/* "review" / "reminder" / "deadline" / "notice" ("unknown" otherwise). */
const char *zb_down_kind_name(const Zb__Downstream *d);
/* "accepted" / "returned" ("unknown" otherwise). */
const char *zb_down_decision_name(Zb__ReviewDecision d);
/* "monthly_missing" / "supplement_overdue" ("unknown" otherwise). */
const char *zb_down_reminder_name(Zb__ReminderKind k);

/* The message as JSON: {"id" (its number), "county", "kind",
 * "created_at" (RFC 3339, +08:00)} and, as the kind has them: review
 * "seq", "decision", "comment", "reviewer"; reminder "reminder" (its kind
 * name), "period", "accident_id", "due_at"; deadline "period",
 * "deadline" (RFC 3339 with the offset it was set with); notice "title",
 * "text". Absent optional fields are null. New reference, NULL on ENOMEM. */
json_t *zb_down_to_json(const Zb__Downstream *d);

#endif
