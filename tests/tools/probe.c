/*
 * zb-probe - connection attempts an aggregator must refuse before any
 * message is read (tests/system/agg_hardening.sh).
 *
 *   zb-probe ENDPOINT AGGKEY KIND N
 *
 * KIND: garbage (plain TCP, bytes that are not ZMTP), null and plain (a
 * ZMTP 3.0 greeting offering the NULL or PLAIN mechanism), wrongkey (a
 * ZeroMQ CURVE client with a server key that is not AGGKEY's). Each of the
 * N attempts is one TCP connection, closed once the aggregator has ended
 * it (or after 5 s): the probe never hangs up first, so the aggregator
 * always sees the whole attempt (a libzmq NULL client would close on
 * seeing CURVE in the server's greeting, racing the server's own check).
 * Exits 0 when the aggregator ended every one, 1 otherwise, 2 on usage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define WAIT_MS 5000

/* Send payload on a plain TCP connection to endpoint (tcp://HOST:PORT,
 * numeric IPv4 only: what the tests use), then read until the aggregator
 * closes it. 0 when it did. */
static int raw_attempt(const char *endpoint, const void *payload, size_t len)
{
    char host[64];
    int port;
    if (sscanf(endpoint, "tcp://%63[^:]:%d", host, &port) != 2)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    int ended = -1;
    if (send(s, payload, len, 0) == (ssize_t)len) {
        char buf[256];
        struct pollfd p = {s, POLLIN, 0};
        /* the aggregator closes: EOF (or a reset) */
        while (poll(&p, 1, WAIT_MS) == 1) {
            ssize_t n = recv(s, buf, sizeof buf, 0);
            if (n <= 0) {
                ended = 0;
                break;
            }
        }
    }
    close(s);
    return ended;
}

static const char junk[] = "GET / HTTP/1.0\r\nHost: zhibao\r\n\r\n";

/* A ZMTP 3.0 greeting (64 bytes) offering mechanism, as a client. */
static int greeting(const char *endpoint, const char *mechanism)
{
    uint8_t g[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0};
    memcpy(g + 12, mechanism, strlen(mechanism)); /* 20 bytes, NUL-padded */
    g[32] = 0;                                    /* as-server: no */
    return raw_attempt(endpoint, g, sizeof g);
}

static int zmq_attempt(void *ctx, const char *endpoint, const char *kind, const uint8_t agg_pk[32],
                       int i)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, never = -1;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &never, sizeof never); /* one connection only */
    if (strcmp(kind, "wrongkey") == 0) {
        uint8_t server[32], pk[32], sk[32], other_pk[32], other_sk[64];
        crypto_sign_keypair(other_pk, other_sk); /* not the aggregator */
        (void)agg_pk;
        if (crypto_sign_ed25519_pk_to_curve25519(server, other_pk) != 0)
            return -1;
        crypto_box_keypair(pk, sk);
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 32);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pk, 32);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, 32);
    }
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://probe-%d", i);
    zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                      ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                      ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    void *mon = zmq_socket(ctx, ZMQ_PAIR);
    zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(mon, mon_ep);
    int ended = -1;
    if (zmq_connect(s, endpoint) == 0) {
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, WAIT_MS) == 1)
            ended = 0;
    }
    zmq_close(s);
    zmq_close(mon);
    return ended;
}

int main(int argc, char **argv)
{
    if (argc != 5 || atoi(argv[4]) <= 0) {
        fprintf(stderr, "usage: zb-probe ENDPOINT AGGKEY garbage|null|plain|wrongkey N\n");
        return 2;
    }
    const char *endpoint = argv[1], *kind = argv[3];
    int n = atoi(argv[4]);
    uint8_t agg_pk[32];
    if (sodium_init() < 0 ||
        sodium_hex2bin(agg_pk, sizeof agg_pk, argv[2], strlen(argv[2]), NULL, NULL, NULL) != 0)
        return 2;
    void *ctx = zmq_ctx_new();
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int rc;
        if (strcmp(kind, "garbage") == 0)
            rc = raw_attempt(endpoint, junk, sizeof junk - 1);
        else if (!strcmp(kind, "null") || !strcmp(kind, "plain"))
            rc = greeting(endpoint, kind[0] == 'n' ? "NULL" : "PLAIN");
        else if (!strcmp(kind, "wrongkey"))
            rc = zmq_attempt(ctx, endpoint, kind, agg_pk, i);
        else
            return 2;
        if (rc != 0) {
            fprintf(stderr, "zb-probe: %s attempt %d was not ended by the aggregator\n", kind, i + 1);
            failed = 1;
        }
    }
    zmq_ctx_term(ctx);
    return failed;
}
