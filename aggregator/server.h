/*
 * server.h - the aggregator's serve loop: one ROUTER socket, zmq_poll,
 * group commit.
 *
 * Each round drains what has arrived (up to a bound), applies every Batch
 * inside ONE LMDB write transaction, commits durably, and only then answers:
 * one Ack per county per round carrying the highest contiguous seq and a
 * receipt (one aggregator signature over the county's newly stored range).
 * Nothing is acknowledged that is not on disk.
 *
 * Pipelined: while the writer applies and commits one drain of the socket,
 * the signatures of the next drain are checked on the other cores; the
 * writer then helps finish them. So the serial writer phase (apply, commit,
 * sign, send) overlaps the verification that bounds ingest.
 *
 * Threads: the loop and the one writer are the calling thread; a pool of
 * (cores - 1) verification threads, started and joined by zb_server_run,
 * touches nothing but the envelopes it is handed and their verdicts; the
 * ZAP handler runs on a thread of its own (zap.h), which also reads the
 * ROUTER's socket monitor and counts every refused connection attempt; the
 * loop writes those counts to the store in batches, once per turn.
 * Every transaction the loop begins, and every growth of the map, is
 * taken under zb_zap_exclusive (the handler reads the enrolled keys).
 */
#ifndef ZB_SERVER_H
#define ZB_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "agg.h"

/* What a Welcome grants: batches in flight and envelopes per batch. Small
 * batches and a round capped in envelopes keep every connected county
 * served in every round (an urgent report never waits behind a backlog). */
#define ZB_SERVER_WINDOW 32
#define ZB_SERVER_MAX_BATCH 64

/* Set (to 1) from a signal handler to stop zb_server_run. */
extern volatile sig_atomic_t zb_server_stop;

/* Downstream delivery: messages per Deliver (and at most
 * ZB_DELIVER_MAX_BYTES of them), how often the store is polled for
 * messages other processes wrote (ms), and after how long a Deliver
 * without its DeliverAck is sent again (ms). */
#define ZB_DELIVER_MAX_MESSAGES 64
#define ZB_DELIVER_MAX_BYTES (1u << 20)
#define ZB_DELIVER_POLL_MS 500
#define ZB_DELIVER_RESEND_MS 5000

typedef struct {
    /* serve --remind-days: days of the month (1..31) on which the
     * missing-report reminders go out by themselves at 09:00 +08:00
     * (dispatch.h zb_dispatch_auto_remind); none when n_remind_days is 0 */
    const int *remind_days;
    size_t n_remind_days;
} zb_server_opts;

/* Serve on endpoint (e.g. "tcp://0.0.0.0:7400") until zb_server_stop is
 * set; opts may be NULL (all defaults). Returns 0, ZB_ENET (cannot listen,
 * or the socket failed) or ZB_ENOMEM; a failed round (store error) is
 * answered with SERVER_ERROR and logged, and serving goes on. */
int zb_server_run(zb_agg *a, const char *endpoint, const zb_server_opts *opts);

#endif
