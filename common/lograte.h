/*
 * lograte.h - at most one log line per (kind, peer address) per interval,
 * for events a peer can cause at will (a refused connection): the line
 * that is written says how many were left out since the last one, so
 * nothing is hidden and a flood does not fill the log.
 *
 * The caller owns the table (a fixed array of slots, zeroed) and the
 * thread that uses it; no state here, no locking. With more (kind,
 * address) pairs than slots, the pair logged longest ago is forgotten.
 */
#ifndef ZB_LOGRATE_H
#define ZB_LOGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZB_LOGRATE_ADDR_MAX 64

typedef struct {
    bool used;
    int kind; /* the caller's kinds of event; 0 when it has one */
    char addr[ZB_LOGRATE_ADDR_MAX];
    int64_t logged_at; /* monotonic s */
    uint64_t left_out; /* events from there since that line */
} zb_lograte_slot;

/* Whether an event of kind from addr is logged now (at most once per
 * every_s seconds per pair, by the monotonic clock): true with *left_out
 * the events of the pair not logged since its last line; false (counted
 * as left out) otherwise. */
bool zb_lograte_due(zb_lograte_slot *slots, size_t n_slots, int64_t every_s, int kind,
                    const char *addr, uint64_t *left_out);

#endif
