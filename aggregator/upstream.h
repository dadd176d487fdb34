/*
 * upstream.h - the prefecture's side of the upward relay (protocol.md §14).
 *
 * A prefecture reports to its province the way a county reports to it:
 * DIR/upstream is a zhibao-node store (node.h) -- the outbox -- whose
 * "county" is the prefecture's code and whose key is the aggregator's own,
 * and node/sync.c carries it to the province (one sync implementation:
 * offline-first, exactly once, resumable, CurveZMQ). What goes into it:
 *  - relay reports: leaves of the prefecture's own log, each with its
 *    inclusion path against a head the prefecture signed. Every key event
 *    (the province learns the counties' keys from them), and every
 *    revision of every accident whose highest grade (rules.h max_grade, the
 *    missing counted as dead, within the statistical window) reached 较大
 *    or above: from the revision that made it so -- with the revisions
 *    before it -- on. With forward "all", every leaf of the log.
 *  - period summaries: after a period's deadline (moved or default), the
 *    consolidated monthly report per county; again whenever it changes (a
 *    county filing late).
 * The decision is a function of the log alone, so it is taken again the
 * same way after any crash: the relay resumes after the last head it
 * relayed (read back from the outbox), and nothing is relayed twice.
 *
 * `zhibao-agg serve` runs `zhibao-agg relay` as a child process while an
 * upstream is configured: its own LMDB handles (read-only on the
 * aggregator's store), its own ZeroMQ context, nothing shared with the
 * serve loop. Threads: the relay has none; serve's supervisor of it
 * (zb_relay_supervisor_start) runs one thread, which only spawns and waits.
 */
#ifndef ZB_UPSTREAM_H
#define ZB_UPSTREAM_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "agg.h"

#define ZB_UPSTREAM_DIR "upstream"
/* Decree 493 Art. 10: each level reports upward within 2 hours. */
#define ZB_FORWARD_LIMIT_S (2 * 3600)

typedef enum {
    ZB_FORWARD_STATUTORY = 0,
    ZB_FORWARD_ALL = 1,
    ZB_FORWARD_KEEP = 2 /* zb_upstream_configure: leave the mode as it is */
} zb_forward;
const char *zb_forward_name(zb_forward f); /* "statutory" / "all" */
/* 0 and *f, or ZB_EINVAL. */
int zb_forward_parse(const char *s, zb_forward *f);

/* Configure the upstream of the aggregator in dir (opened writable as a):
 * create dir/upstream (the province at endpoint, its key prov_key_hex), or
 * when it exists with the same province key, change its endpoint; record
 * the forward mode (ZB_FORWARD_KEEP: statutory for a new upstream, else
 * unchanged). A running relay takes a new mode at its next pass, for the
 * leaves it has not decided yet: leaves passed over under statutory are
 * not sent again. *created says which. Errors: ZB_EINVAL (a bad key or
 * endpoint; or a province: a province has no upstream), ZB_EEXIST (an
 * upstream to another province key exists: remove dir/upstream only once
 * everything in it is acknowledged), ZB_EIO, ZB_ESTORE. */
int zb_upstream_configure(zb_agg *a, const char *dir, const char *endpoint,
                          const char *prov_key_hex, zb_forward forward, bool *created);

/* The first enrolled county whose key has no key event in the log (its
 * enrolment predates log version 2) into county ("" when every county has
 * one): the province could not verify that county's reports, so
 * `zhibao-agg upstream` refuses to start relaying. 0 or ZB_ESTORE. */
int zb_upstream_unkeyed_county(zb_agg *a, char county[ZB_COUNTY_LEN + 1]);

/* Where the upstream stands, for status: configured false when there is
 * none. */
typedef struct {
    bool configured;
    char endpoint[256];
    char province_key[2 * ZB_PK_LEN + 1];
    zb_forward forward;
    uint64_t stored, acked, receipted;
} zb_upstream_info;
int zb_upstream_info_get(zb_agg *a, const char *dir, zb_upstream_info *out);

/* Run the relay of the aggregator in dir (a: opened read-only) until
 * *stop is set: a relay pass whenever the log grows (and at least once a
 * minute, for deadlines passing), and the upstream node synced whenever
 * it holds reports the province has not acknowledged. once: one pass, then
 * sync until everything is acknowledged or timeout_s passed.
 * Returns 0, ZB_SYNC_PENDING-like 3 (once: reports still unacknowledged),
 * or a negative ZB_E* (ZB_ENOTFOUND: no upstream configured; ZB_ELOCKED:
 * another relay runs). */
int zb_relay_run(zb_agg *a, const char *dir, bool once, double timeout_s);

/* serve's relay child (a prefecture's `zhibao-agg serve`): ONE thread of
 * its own, which starts `zhibao-agg relay --dir dir` (this very program,
 * /proc/self/exe) whenever dir/upstream exists, waits for it, and starts
 * it again 5 s after it ended; the child logs at this process's level
 * (and to syslog with use_syslog). The thread touches nothing but the
 * child. stop: SIGTERM to the child, then the thread is joined;
 * NULL-safe, clears *s. 0 or ZB_ENOMEM / ZB_EIO (no thread). */
typedef struct zb_relay_supervisor zb_relay_supervisor;
int zb_relay_supervisor_start(zb_relay_supervisor **out, const char *dir, bool use_syslog);
void zb_relay_supervisor_stop(zb_relay_supervisor **s);

/* In the relay child (`relay` without --once): ask for SIGTERM when its
 * parent dies (PR_SET_PDEATHSIG) and say whether the serve that started
 * it is gone already (then the child should end). A relay not started by
 * serve (no ZB_RELAY_PARENT in its environment) is never "gone". */
bool zb_relay_parent_gone(void);

/* One relay pass only (what zb_relay_run does each turn): *appended gets
 * the number of reports added to the outbox. */
int zb_relay_pass_once(zb_agg *a, const char *dir, int64_t now, size_t *appended);

/* What the prefecture's `report accidents` adds to each accident row when
 * an upstream is configured: "forward_required" (its highest grade reached
 * 较大), "forward_required_at" (the receive time of the revision that
 * required it), "forwarded_at" (when the province acknowledged the report
 * carrying that revision: its receipt's receive time; null while not) and
 * "forward_late" (more than ZB_FORWARD_LIMIT_S between the two, or that
 * long passed at now without an acknowledgement). doc is the document of
 * zb_consolidate_accidents; txn a read transaction on a's store. Nothing
 * is added when no upstream is configured. */
int zb_relay_annotate_accidents(zb_agg *a, MDB_txn *txn, const char *dir, int64_t now, json_t *doc);

#endif
