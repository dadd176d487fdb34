/* zmqmon.c - see zmqmon.h. */
#include "zmqmon.h"

#include <string.h>

#include <zmq.h>

int zb_zmq_monitor_event(void *mon, uint32_t *value)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    int event = 0;
    *value = 0;
    if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&m) >= 6) {
        /* uint16 event, uint32 value, in host order */
        uint16_t ev;
        memcpy(&ev, zmq_msg_data(&m), sizeof ev);
        memcpy(value, (const uint8_t *)zmq_msg_data(&m) + 2, sizeof *value);
        event = ev;
    }
    int more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    while (more) { /* the endpoint frame */
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0)
            more = 0;
        else
            more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    return event;
}
