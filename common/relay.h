/*
 * relay.h - what a prefecture's relay report proves on its own
 * (docs/protocol.md §14): the leaves of the prefecture's transparency log it
 * carries, each with its inclusion path against a tree head signed by the
 * prefecture's key (the key that also signs the report). Shared by the
 * province (acceptance, indexes, check) and the fuzz target, so every
 * party opens a relay the same way (zhibao-audit does not open relays yet:
 * it verifies the province's own log and signatures).
 *
 * What it does not check is the counties' signatures on the envelopes
 * inside: that needs the counties' keys, which arrive as relayed key events
 * (an earlier leaf of the same log) and are the caller's to keep.
 */
#ifndef ZB_RELAY_H
#define ZB_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "treehead.h"
#include "zhibao.pb-c.h"

/* What one relayed leaf holds. */
typedef enum {
    ZB_RELAYED_ENVELOPE = 0,   /* a county's envelope (a LogLeaf, or a log version 1 bare leaf) */
    ZB_RELAYED_DOWNSTREAM = 1, /* a prefecture's message to a county */
    ZB_RELAYED_KEY_EVENT = 2,  /* a county key enrolled or revoked */
    ZB_RELAYED_EVIDENCE = 3    /* equivocation evidence */
} zb_relayed_kind;

/* One leaf of a relay, opened. The decoded LogLeaf is owned by the array;
 * envelope and key_event point into it (valid until zb_relayed_free), or,
 * for a bare envelope leaf, envelope points into the Relay's own bytes
 * (valid while the Relay lives). */
typedef struct {
    uint64_t log_index; /* its index in the prefecture's log */
    zb_relayed_kind kind;
    int64_t leaf_time;       /* LogLeaf.timestamp: when it entered the prefecture's log; 0
                                for a bare envelope leaf (no time in the log) */
    const uint8_t *envelope; /* ZB_RELAYED_ENVELOPE: the county's canonical Envelope bytes */
    size_t envelope_len;
    const Zb__KeyEvent *key_event; /* ZB_RELAYED_KEY_EVENT (inside leaf) */
    Zb__LogLeaf *leaf;             /* the decoded LogLeaf; NULL for a bare envelope leaf */
} zb_relayed;

/* Open relay r, signed (as a report) by prefecture_key: the tree head
 * verifies under that key (*head gets it), the leaves are 1..
 * ZB_RELAY_LEAVES_MAX with strictly ascending indexes below the head's
 * size, each leaf's inclusion path verifies against the head, and each
 * leaf decodes strictly (logleaf.h zb_leaf_decode; a bare envelope leaf
 * only below the first LogLeaf's index is not known here and is taken
 * when its first byte says so). A key event leaf passes zb_key_event_check.
 * *out: a malloc'd array of *n (free with zb_relayed_free). why (may be
 * NULL) gets one line naming the leaf and the reason.
 * Errors: ZB_EBADSIG (the head's signature, an inclusion path or a key
 * event's request), ZB_EDECODE (anything malformed), ZB_ENOMEM. */
__attribute__((warn_unused_result)) int zb_relay_open(const Zb__Relay *r,
                                                      const uint8_t prefecture_key[ZB_PK_LEN],
                                                      zb_tree_head *head, zb_relayed **out,
                                                      size_t *n, char *why, size_t why_len);
/* The leaves alone, decoded as zb_relay_open does, without the head or
 * the paths: for readers of a relay accepted (and so proven) before.
 * ZB_EDECODE, ZB_EBADSIG (a key event's request), ZB_ENOMEM. */
__attribute__((warn_unused_result)) int zb_relay_decode(const Zb__Relay *r, zb_relayed **out,
                                                        size_t *n);
/* NULL-safe. */
void zb_relayed_free(zb_relayed *l, size_t n);

#endif
