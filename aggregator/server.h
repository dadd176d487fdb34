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
 * Threads: the loop and the one writer are the calling thread; each round
 * first checks the signatures of all its envelopes on every core (short-
 * lived worker threads that touch nothing but the envelopes), and the ZAP
 * handler runs on a thread of its own (zap.h).
 */
#ifndef ZB_SERVER_H
#define ZB_SERVER_H

#include "agg.h"

/* What a Welcome grants: batches in flight and envelopes per batch. Small
 * batches and a round capped in envelopes keep every connected county
 * served in every round (an urgent report never waits behind a backlog). */
#define ZB_SERVER_WINDOW 16
#define ZB_SERVER_MAX_BATCH 64

extern volatile int zb_server_stop;

/* Serve on endpoint (e.g. "tcp://0.0.0.0:7400") until zb_server_stop is
 * set. Returns 0 or a ZB_E* code (bind failure, store failure). */
int zb_server_run(zb_agg *a, const char *endpoint);

#endif
