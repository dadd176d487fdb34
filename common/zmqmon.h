/*
 * zmqmon.h - reading a ZeroMQ socket monitor (zmq_socket_monitor): the
 * handshake events that tell a client why a peer would not talk to it
 * (a CURVE key the server refuses, a server holding another key), which
 * ZeroMQ otherwise only answers by reconnecting quietly.
 */
#ifndef ZB_ZMQMON_H
#define ZB_ZMQMON_H

#include <stdint.h>

/* The next event waiting on monitor socket mon (ZMQ_EVENT_*, with its
 * value), without blocking; 0 when none. Reads the whole event (both
 * frames). */
int zb_zmq_monitor_event(void *mon, uint32_t *value);

#endif
