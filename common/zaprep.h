/*
 * zaprep.h - the ZeroMQ authentication protocol (ZAP, RFC 27) as a
 * handler speaks it: one request read from the handler's REP socket into
 * a plain struct, checked for what every zhibao handler requires (ZAP
 * version 1.0, the CURVE mechanism, a 32-byte client key), and the reply
 * sent. Whom to admit, the threads and the logging stay with each handler
 * (aggregator/zap.h admits enrolled county keys, witness/wzap.h the
 * followed logs' keys).
 *
 * No state, no threads: the functions run on the handler's thread and
 * touch only the socket and the request they are given.
 */
#ifndef ZB_ZAPREP_H
#define ZB_ZAPREP_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

/* Where libzmq asks (one handler per context). */
#define ZB_ZAPREP_ENDPOINT "inproc://zeromq.zap.01"

/* version, request id, domain, address, identity, mechanism, client key */
#define ZB_ZAPREP_FRAMES   7
#define ZB_ZAPREP_ADDR_MAX 64

/* One ZAP request, as read. Plain data; frames owned by the struct until
 * zb_zaprep_reply releases them. */
typedef struct {
    zmq_msg_t frames[ZB_ZAPREP_FRAMES + 1]; /* one more: too many is told */
    int n;                                  /* frames kept */
    char addr[ZB_ZAPREP_ADDR_MAX];          /* the peer's address; "?" when the request has none */
    /* NULL for a request every zhibao handler may consider (ZAP 1.0,
     * CURVE, a 32-byte key), else why it is refused, for the 400 reply:
     * "malformed ZAP request", "only CURVE is accepted", "bad client key" */
    const char *problem;
    /* the client's CURVE public key (32 bytes, in frames) when the request
     * has seven frames and a 32-byte last one, even with a problem (to
     * name it in a log line); else NULL */
    const uint8_t *client_key;
} zb_zaprep_request;

/* Read one whole request (all its frames) from sock, a REP socket bound
 * at ZB_ZAPREP_ENDPOINT (blocking; call when it polled readable). 0, or
 * -1 when not even a request id came (nothing to answer, nothing held:
 * libzmq's own requests are always complete). */
int zb_zaprep_read(void *sock, zb_zaprep_request *req);

/* Answer req on sock: status code ("200", "400"), its text, the User-Id
 * for an admitted connection ("" otherwise), no metadata; then release
 * req's frames. */
void zb_zaprep_reply(void *sock, zb_zaprep_request *req, const char *code, const char *text,
                     const char *user_id);

/* A REP socket in ctx bound at ZB_ZAPREP_ENDPOINT, linger 0, into *out.
 * 0 or ZB_ENET (errno set by libzmq; nothing left open). */
int zb_zaprep_bind(void *ctx, void **out);

#endif
