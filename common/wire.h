/*
 * wire.h - framing of sync messages on a ZeroMQ socket.
 *
 * Every message is one ZeroMQ frame holding one serialized SyncMsg (the
 * ROUTER side sees the peer's routing id frame before it). Sizes are capped
 * before unpacking: protobuf-c has no limit of its own.
 */
#ifndef ZB_WIRE_H
#define ZB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "zhibao.pb-c.h"

#define ZB_PROTOCOL_VERSION 1
#define ZB_BATCH_MAX_ENVELOPES 256 /* envelopes per Batch */
/* One frame: a full batch of maximum-size county envelopes plus framing.
 * Also the ZMQ_MAXMSGSIZE of both sockets. A batch of larger envelopes (a
 * prefecture's relay reports, up to ZB_ENVELOPE_MAX each) holds fewer:
 * the sender stops filling a batch at ZB_BATCH_BYTES_MAX. */
#define ZB_FRAME_MAX                                                                               \
    ((int64_t)ZB_BATCH_MAX_ENVELOPES * (ZB_COUNTY_REPORT_MAX + 256 + 16) + 4096)
#define ZB_BATCH_BYTES_MAX ((size_t)ZB_FRAME_MAX - ZB_ENVELOPE_MAX - 65536)

/* Pack msg into a malloc'd buffer. 0 or ZB_ENOMEM. */
int zb_wire_pack(const Zb__SyncMsg *msg, uint8_t **out, size_t *len);

/* Unpack one frame: size cap, unpack, no unknown fields, a oneof set.
 * Free with zb__sync_msg__free_unpacked(m, NULL). ZB_ETOOBIG or ZB_EDECODE. */
__attribute__((warn_unused_result)) int zb_wire_unpack(const uint8_t *buf, size_t len,
                                                       Zb__SyncMsg **out);

/* Send a packed SyncMsg on socket (non-blocking, ZMQ_DONTWAIT). For a
 * ROUTER pass the peer's routing id; else NULL. 0, ZB_ETIMEOUT (would
 * block / no peer) or ZB_ENET. */
int zb_wire_send(void *socket, const uint8_t *routing_id, size_t id_len, const Zb__SyncMsg *msg);

#endif
