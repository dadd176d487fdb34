/* zaprep.c - see zaprep.h. */
#include "zaprep.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int zb_zaprep_read(void *sock, zb_zaprep_request *req)
{
    req->n = 0;
    req->problem = NULL;
    req->client_key = NULL;
    snprintf(req->addr, sizeof req->addr, "?");
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (req->n < ZB_ZAPREP_FRAMES + 1)
            req->frames[req->n++] = part; /* moved */
        else
            zmq_msg_close(&part);
    }
    zmq_msg_t *f = req->frames;
    if (req->n < 2) { /* cannot even answer */
        for (int i = 0; i < req->n; i++)
            zmq_msg_close(&f[i]);
        req->n = 0;
        return -1;
    }
    if (req->n >= 4) {
        size_t l =
            zmq_msg_size(&f[3]) < sizeof req->addr - 1 ? zmq_msg_size(&f[3]) : sizeof req->addr - 1;
        memcpy(req->addr, zmq_msg_data(&f[3]), l);
        req->addr[l] = '\0';
    }
    bool whole = req->n == ZB_ZAPREP_FRAMES;
    if (whole && zmq_msg_size(&f[6]) == 32)
        req->client_key = zmq_msg_data(&f[6]);
    if (!whole || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0)
        req->problem = "malformed ZAP request";
    else if (zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0)
        req->problem = "only CURVE is accepted";
    else if (!req->client_key)
        req->problem = "bad client key";
    return 0;
}

void zb_zaprep_reply(void *sock, zb_zaprep_request *req, const char *code, const char *text,
                     const char *user_id)
{
    zmq_msg_t *request_id = &req->frames[1];
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0); /* no metadata */
    for (int i = 0; i < req->n; i++)
        zmq_msg_close(&req->frames[i]);
    req->n = 0;
    req->client_key = NULL;
}

int zb_zaprep_bind(void *ctx, void **out)
{
    int zero = 0;
    void *sock = zmq_socket(ctx, ZMQ_REP);
    *out = NULL;
    if (!sock)
        return ZB_ENET;
    if (zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(sock, ZB_ZAPREP_ENDPOINT) != 0) {
        int saved = errno;
        zmq_close(sock);
        errno = saved;
        return ZB_ENET;
    }
    *out = sock;
    return ZB_OK;
}
