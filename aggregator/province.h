/*
 * province.h - the province's side of the upward relay (protocol.md §14):
 * what it accepts from a prefecture, how it re-verifies what it holds, and
 * its consolidated views (accidents by prefecture and county, the
 * prefectures' monthly summaries).
 *
 * A province is an aggregator whose members are prefectures' aggregators
 * (astore.h "level"). A member's reports are relays -- leaves of its own
 * transparency log, each proven against a head it signed -- and period
 * summaries. The counties inside are known only through the leaves: a
 * county's keys from its relayed key events (checked with
 * zb_key_event_check, proven in the prefecture's log), its envelopes
 * verified against them. The indexes (astore.h idx_relay_*, idx_summary)
 * are written with the prefecture's report by astore_index.c; this module
 * reads them. No state, no threads.
 */
#ifndef ZB_PROVINCE_H
#define ZB_PROVINCE_H

#include <jansson.h>
#include <stdint.h>

#include "astore.h"
#include "zhibao.pb-c.h"

/* Whether prefecture rec's report r (a relay or a summary, already decoded,
 * signed by rec's key, its chain checked) may be stored, inside txn:
 *  - relay: zb_relay_open under rec's key; its head extends the head of
 *    the prefecture's previous relay (the same, or larger with a verified
 *    consistency proof: BAD_CHAIN otherwise); a county is one of this
 *    prefecture's by its code (domain.h zb_county_in_prefecture) and is
 *    claimed by its first relayed key event; a county's key events keep
 *    its history (epoch 0 from seq 1, each key from the seq after the one
 *    before was revoked at, no key twice, a revocation of the active key
 *    no lower than anything relayed, a repeat identical); an envelope
 *    verifies and passes zb_report_validate, its signer is the county's key
 *    for its seq (a key event earlier in the same relay counts), and a
 *    (county, seq) relayed before, or earlier in this relay, has the same
 *    bytes;
 *  - summary: every county in it is this prefecture's.
 * Returns 0 (accept), 1 (refuse: *code and one line in why) or a negative
 * ZB_E* (a store failure). */
__attribute__((warn_unused_result)) int zb_province_accept(zb_store *s, MDB_txn *txn,
                                                           const zb_county_rec *rec,
                                                           const Zb__Report *r, Zb__ErrorCode *code,
                                                           char *why, size_t why_len);

/* Re-verify every relayed county envelope from the stored prefecture
 * reports: the prefecture's signature on each relay's head and every
 * inclusion path (zb_relay_open under the prefecture's enrolled key for
 * that seq), and each county's signature against the county's key for its
 * seq. finding() once per problem. Returns the number of findings or a
 * negative ZB_E*. */
long zb_province_check(zb_store *s, MDB_txn *txn, void (*finding)(void *ctx, const char *line),
                       void *ctx);

/* The province's monthly view of period (year, month) at now: per
 * enrolled prefecture, its summary received on time / late / missing
 * (the province's receive time of its first summary against the period's
 * deadline at the province plus ZB_SUMMARY_GRACE_S: the counties'
 * deadline, then the prefecture's days to consolidate) and, from its
 * latest summary, each county's status.
 * *out: {"period", "level": "province", "deadline", "summary_deadline",
 *  "prefectures": [{"prefecture", "status", "created_at", "received_at",
 *  "summaries", "counties", "on_time", "late", "missing"}],
 *  "rows": [{"prefecture", "county", "status", "versions", "seq",
 *  "first_created_at", "tasks_done", "tasks_in_progress",
 *  "tasks_not_started", stats...}]} (caller decrefs). */
#define ZB_SUMMARY_GRACE_S (5 * 86400)
int zb_province_monthly(zb_store *s, MDB_txn *txn, int year, int month, int64_t now, json_t **out);

/* Per prefecture: the counties it relays with, per county, the envelopes
 * the province holds. *out: {"prefectures": [{"prefecture", "envelopes",
 * "key_events", "other_leaves", "head_size", "counties": [{"county",
 * "reports"}]}]}. */
int zb_province_status(zb_store *s, MDB_txn *txn, json_t **out);

#endif
