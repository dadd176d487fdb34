/*
 * logleaf.h - what the transparency log holds (log version 2) and the key
 * requests its key events carry; docs/protocol.md §7.
 *
 * Every leaf of a version-2 log is a canonical LogLeaf: the time it
 * entered the log (so receive times are covered by the signed root, as in
 * RFC 6962's TimestampedEntry) and one entry: a county's envelope, a
 * prefecture's downstream message, a key event (a county key enrolled or
 * revoked) or equivocation evidence. A log begun before version 2 starts
 * with bare envelopes (the envelope's canonical encoding). The first bytes
 * tell them apart: 0x0a a bare envelope, 0x90 0x01 a LogLeaf.
 *
 * A key is enrolled only with a SignedKeyRequest signed by it (proof of
 * possession: zhibao-node init writes one); a rotation (zhibao-node
 * rotate-key) names the key it replaces and is signed by that key too: the
 * old key's consent, which its REVOKED event carries (consented true). A
 * revocation without it (a lost machine) is logged consented false.
 */
#ifndef ZB_LOGLEAF_H
#define ZB_LOGLEAF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "merkle.h"
#include "zhibao.pb-c.h"


/* The largest leaf: at a province, a prefecture's relay report (an
 * envelope of up to ZB_ENVELOPE_MAX, envelope.h) plus the LogLeaf's own
 * fields; at a prefecture a downstream message or an evidence envelope. */
#define ZB_LEAF_MAX (320u * 1024u)
/* One packed SignedKeyRequest. */
#define ZB_KEYREQ_MAX 1024u

/* True when a leaf entry is a LogLeaf (first bytes 0x90 0x01); false for a
 * bare envelope (0x0a) or anything else. */
bool zb_leaf_is_logleaf(const uint8_t *entry, size_t len);

/* Pack leaf canonically into *out (malloc'd, caller frees). 0, ZB_ETOOBIG
 * (over ZB_LEAF_MAX) or ZB_ENOMEM. */
int zb_leaf_pack(const Zb__LogLeaf *leaf, uint8_t **out, size_t *len);

/* The leaf of a county's envelope (env: its canonical bytes) or of a
 * downstream message (msg: its canonical SignedDownstream) entered at t. */
int zb_leaf_of_envelope(int64_t t, const uint8_t *env, size_t len, uint8_t **out, size_t *out_len);
int zb_leaf_of_downstream(int64_t t, const uint8_t *msg, size_t len, uint8_t **out,
                          size_t *out_len);

/* The RFC 6962 leaf hash of an envelope's leaf: a LogLeaf entered at t
 * when timed, else the bare envelope (a log version 1 leaf). 0 or
 * ZB_ENOMEM / ZB_ETOOBIG. */
int zb_leaf_hash_envelope(const uint8_t *env, size_t len, bool timed, int64_t t,
                          uint8_t out[ZB_HASH_LEN]);

/* Decode a LogLeaf strictly: size, no unknown fields, canonical, exactly
 * one entry, a KeyEvent or Evidence with its required fields well formed
 * (county 6 digits, keys 32 bytes). Does not open the envelope or message
 * inside. *out: free with zb__log_leaf__free_unpacked. ZB_ETOOBIG,
 * ZB_EDECODE. */
__attribute__((warn_unused_result)) int zb_leaf_decode(const uint8_t *buf, size_t len,
                                                       Zb__LogLeaf **out);

/* Build a key request for county: signed by key (and, for a rotation, by
 * previous: its consent, with the last seq it signed and that report's
 * hash; previous NULL for an enrolment). *out: the packed
 * SignedKeyRequest (malloc'd). 0, ZB_ENOMEM. */
int zb_keyreq_make(const char *county, const zb_identity *key, const zb_identity *previous,
                   uint64_t after_seq, const uint8_t after_hash[ZB_SHA256_LEN], int64_t now,
                   uint8_t **out, size_t *len);

/* Open a packed SignedKeyRequest: strict decoding of both layers, the
 * signature by request.key, and for a rotation (previous_key set: then
 * after_seq and a 32-byte after_hash too) the signature by previous_key.
 * *req (if not NULL) gets the KeyRequest (free with
 * zb__key_request__free_unpacked). ZB_ETOOBIG, ZB_EDECODE, ZB_EBADSIG. */
__attribute__((warn_unused_result)) int zb_keyreq_open(const uint8_t *buf, size_t len,
                                                       Zb__KeyRequest **req);

/* Check a logged KeyEvent on its own: an ENROLLED event's request opens,
 * names the event's county and key, and (a rotation) its after_seq + 1 is
 * the event's seq; a REVOKED event is consented exactly when it carries a
 * rotation request whose previous_key is the revoked key, its after_seq
 * the event's seq. An ENROLLED event without a request must say vouched
 * (a prefecture's aggregator key enrolled at the province by its
 * operator, from the key alone: §14.2). 0, or ZB_EBADSIG / ZB_EDECODE with a one-line reason
 * in why (may be NULL). */
int zb_key_event_check(const Zb__KeyEvent *e, char *why, size_t why_len);

#endif
