/*
 * sync.h - the node's side of the sync protocol (docs/protocol.md).
 *
 * One DEALER socket to the aggregator. Hello -> Welcome gives the
 * aggregator's high-water mark (and the county's key events, which the
 * node checks against its own keys: node.h, "the county's keys"); envelopes from there on go out in batches
 * with a credit window of reports in flight; every Ack moves acked_seq and
 * brings receipts, which are verified and stored. Anything lost in flight
 * (aggregator restart, dead link) is detected by silence and resumed with a
 * new Hello: resending is always safe, the aggregator stores a (county,
 * seq) exactly once. No threads.
 */
#ifndef ZB_SYNC_H
#define ZB_SYNC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "node.h"

/* What one run met, for the caller's last line. */
typedef struct {
    uint64_t server_errors; /* SERVER_ERROR refusals (the aggregator's store failed) */
} zb_sync_stats;

typedef struct {
    bool once;             /* stop when everything is acknowledged */
    double timeout_s;      /* with once: give up after this long (0 = 30 s) */
    const char *endpoint;  /* NULL: the one stored at init */
    zb_sync_stats *stats;  /* out, may be NULL: filled as the run goes */
    /* may be NULL: called from zb_sync_run's loop (its own thread) whenever
     * the highest acknowledged seq or the store's last seq changed since
     * the last call, and once at the start: for a progress display */
    void (*progress)(void *ctx, uint64_t acked, uint64_t stored);
    void *progress_ctx;
} zb_sync_opts;

/* Exit-style results of zb_sync_run besides ZB_E* codes. */
#define ZB_SYNC_DONE 0
#define ZB_SYNC_PENDING 3 /* timeout passed with reports not acknowledged */

/* Run the sync loop. Returns ZB_SYNC_DONE, ZB_SYNC_PENDING (once only; the
 * pending count is logged) or a negative ZB_E* code; a daemon (once false)
 * returns only on SIGINT/SIGTERM (0) or a fatal error. Fatal for --once
 * only, after they last DENIED_FINAL_MS (2 s): the aggregator refuses this
 * node's key (ZB_ENOTENROLLED, logged ZB-SYNC-DENIED), or the aggregator
 * does not hold the key given at init: every CURVE handshake fails on the
 * client side (ZB_EPEERKEY, logged ZB-SYNC-KEY); a daemon logs both and
 * keeps trying. Every Welcome's key events are taken
 * (zb_node_take_key_events); when they show this node's key revoked, a
 * --once run ends with ZB_ENOTENROLLED (logged ZB-SYNC-DENIED, nothing
 * sent) and a daemon logs it and asks again every HELLO_RETRY_MAX_MS (30 s).
 * A SERVER_ERROR refusal is logged ZB-SYNC-REFUSED, counted
 * (zb_node_count_server_error, opts->stats) and retried. The caller should
 * hold the node's sync lock (zb_node_lock_sync); a node whose store names
 * another key than the one n loaded (rotate-key ran meanwhile) is refused
 * with ZB_ECONFIG before anything is sent. */
int zb_sync_run(zb_node *n, const zb_sync_opts *opts);

/* Set (to 1) by a signal handler to ask zb_sync_run to stop; the loop
 * reads it every turn (a turn waits at most a few milliseconds). */
extern volatile sig_atomic_t zb_sync_stop;

#endif
