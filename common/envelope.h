/*
 * envelope.h - signed envelopes: a Report's exact bytes, the signer's
 * Ed25519 public key and a detached signature over "zhibao/report/v1\0" ||
 * report bytes (docs/protocol.md).
 *
 * Both sides sign and verify the bytes as carried, never a re-encoding
 * (protobuf encoding is not canonical). Decoders refuse unknown fields so a
 * signed report cannot smuggle content the reader cannot see.
 */
#ifndef ZB_ENVELOPE_H
#define ZB_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "zhibao.pb-c.h"

/* Size limits for bytes from outside (checked before unpacking). */
/* one serialized Report: a prefecture's relay report (protocol.md §14)
 * carries whole leaves of its log (up to ZB_RELAY_LEAF_MAX, report.h)
 * with their proofs */
#define ZB_REPORT_MAX (256u * 1024u)
/* a county's monthly or accident report (zb_report_validate refuses more) */
#define ZB_COUNTY_REPORT_MAX (64u * 1024u)
#define ZB_ENVELOPE_MAX (ZB_REPORT_MAX + 256u) /* one serialized Envelope */

/* Sign report bytes with id; *out (malloc'd, caller frees) gets the packed
 * Envelope. 0, ZB_ETOOBIG or ZB_ENOMEM. */
int zb_envelope_seal(const uint8_t *report, size_t report_len, const zb_identity *id,
                     uint8_t **out, size_t *out_len);

/* Check an unpacked Envelope: key and signature lengths, report size,
 * signature (against env->signer), then decode the Report strictly (no
 * unknown fields, version 1). On success *report_out is the decoded Report
 * (free with zb__report__free_unpacked(r, NULL)). Does NOT check that the
 * signer is enrolled: the caller decides who may sign for a county.
 * Errors: ZB_EDECODE, ZB_ETOOBIG, ZB_EBADSIG. */
__attribute__((warn_unused_result)) int zb_envelope_verify(const Zb__Envelope *env,
                                                           Zb__Report **report_out);

/* As zb_envelope_verify on packed Envelope bytes; *env_out (if not NULL)
 * receives the unpacked Envelope (free with zb__envelope__free_unpacked). */
__attribute__((warn_unused_result)) int zb_envelope_open(const uint8_t *buf, size_t len,
                                                         Zb__Envelope **env_out,
                                                         Zb__Report **report_out);

/* Decode a Report without any signature check (for reading back our own
 * stored reports). Strict like zb_envelope_verify: no unknown fields, and
 * the bytes must be the canonical encoding of what they decode to (fields
 * in number order, each once, minimal lengths, no NUL inside a string). */
__attribute__((warn_unused_result)) int zb_report_decode(const uint8_t *buf, size_t len,
                                                         Zb__Report **out);

/* The report bytes inside a stored canonical envelope encoding (field 1
 * first: 0x0A, varint length, report), without unpacking or copying: for
 * readers of the aggregator's own store, whose envelopes were verified and
 * stored canonical at ingest. *report points into env (borrowed).
 * 0 or ZB_EDECODE. */
int zb_envelope_report_view(const uint8_t *env, size_t len, const uint8_t **report,
                            size_t *report_len);

/* Which content a serialized Report carries, read from its top-level
 * fields without unpacking: ZB__REPORT__CONTENT_MONTHLY,
 * ZB__REPORT__CONTENT_ACCIDENT, _RELAY, _SUMMARY, or 0 when unknown or
 * malformed. Lets a
 * reader of stored reports skip the ones it does not need. */
int zb_report_content_kind(const uint8_t *report, size_t len);

/* True when msg or any message inside it carries unknown fields. */
int zb_pb_has_unknown_fields(const ProtobufCMessage *msg);

/* True when buf is exactly what msg (decoded from it) packs to. Signed
 * bytes must be: this refuses text hidden after a NUL in a string (C
 * readers stop at the NUL, protobuf-c keeps the rest), duplicated or
 * reordered fields and any other encoding in which what a reader sees is
 * not all that was signed. False also when out of memory. */
bool zb_pb_canonical(const ProtobufCMessage *msg, const uint8_t *buf, size_t len);

/* SHA-256 of the report bytes: what the next report's prev_hash holds and
 * what receipts cover. */
static inline void zb_report_hash(const uint8_t *report, size_t len, uint8_t out[ZB_SHA256_LEN])
{
    zb_sha256(report, len, out);
}

#endif
