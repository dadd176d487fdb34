/* wire.c - see wire.h. */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

#include "err.h"

int zb_wire_pack(const Zb__SyncMsg *msg, uint8_t **out, size_t *len)
{
    size_t n = zb__sync_msg__get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return ZB_ENOMEM;
    zb__sync_msg__pack(msg, buf);
    *out = buf;
    *len = n;
    return ZB_OK;
}

int zb_wire_unpack(const uint8_t *buf, size_t len, Zb__SyncMsg **out)
{
    *out = NULL;
    if (len > (size_t)ZB_FRAME_MAX)
        return ZB_ETOOBIG;
    Zb__SyncMsg *m = zb__sync_msg__unpack(NULL, len, buf);
    if (!m)
        return ZB_EDECODE;
    if (m->msg_case == ZB__SYNC_MSG__MSG__NOT_SET || zb_pb_has_unknown_fields(&m->base)) {
        zb__sync_msg__free_unpacked(m, NULL);
        return ZB_EDECODE;
    }
    *out = m;
    return ZB_OK;
}

static void free_buf(void *data, void *hint)
{
    (void)hint;
    free(data);
}

int zb_wire_send(void *socket, const uint8_t *routing_id, size_t id_len, const Zb__SyncMsg *msg)
{
    uint8_t *buf;
    size_t len;
    int rc = zb_wire_pack(msg, &buf, &len);
    if (rc)
        return rc;
    if (routing_id && zmq_send(socket, routing_id, id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        free(buf);
        return errno == EAGAIN || errno == EHOSTUNREACH ? ZB_ETIMEOUT : ZB_ENET;
    }
    /* zero-copy: ZeroMQ frees the buffer when it is done with it */
    zmq_msg_t zm;
    if (zmq_msg_init_data(&zm, buf, len, free_buf, NULL) != 0) {
        free(buf);
        return ZB_ENOMEM;
    }
    if (zmq_msg_send(&zm, socket, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&zm);
        return e == EAGAIN || e == EHOSTUNREACH ? ZB_ETIMEOUT : ZB_ENET;
    }
    return ZB_OK;
}
