/* wzap.c - see wzap.h. */
#include "wzap.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "crypto.h"
#include "err.h"
#include "log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES   7 /* version, request id, domain, address, identity, mechanism, key */
#define ADDR_MAX     64
#define LOG_SLOTS    64 /* peer addresses remembered for the log's rate limit */
#define LOG_EVERY_S  60 /* one ZB-WIT-ZAP-DENIED line per address per minute at most */

/* One admitted client: the X25519 key it must present, the log's key. */
typedef struct {
    uint8_t curve[32];
    uint8_t log[ZB_PK_LEN];
} admitted;

typedef struct {
    bool used;
    char addr[ADDR_MAX];
    int64_t logged_at; /* monotonic s */
    uint64_t left_out; /* refusals from there since that line */
} log_slot;

struct zb_wzap {
    void *sock;
    pthread_t thread;
    atomic_int stop;
    atomic_uint_least64_t refused;
    zb_wstore *store;
    /* the admitted keys, sorted by curve key, as of logs generation gen:
     * written by zb_wzap_start, then by the handler thread only */
    admitted *keys;
    size_t n;
    uint64_t gen;
    log_slot logs[LOG_SLOTS]; /* handler thread only */
};

uint64_t zb_wzap_refused(const zb_wzap *z)
{
    return atomic_load(&((zb_wzap *)z)->refused);
}

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

/* Whether a refusal from addr is logged now: once per minute per address;
 * *left_out gets the refusals not logged since the last line. With more
 * addresses than slots the one logged longest ago is forgotten. */
static bool log_due(zb_wzap *z, const char *addr, uint64_t *left_out)
{
    int64_t now = mono_s();
    log_slot *slot = NULL;
    for (size_t i = 0; i < LOG_SLOTS; i++) {
        log_slot *s = &z->logs[i];
        if (s->used && strcmp(s->addr, addr) == 0) {
            if (now - s->logged_at < LOG_EVERY_S) {
                s->left_out++;
                return false;
            }
            *left_out = s->left_out;
            s->left_out = 0;
            s->logged_at = now;
            return true;
        }
        if (!slot || (slot->used && (!s->used || s->logged_at < slot->logged_at)))
            slot = s;
    }
    *slot = (log_slot){.used = true, .logged_at = now};
    snprintf(slot->addr, sizeof slot->addr, "%s", addr);
    *left_out = 0;
    return true;
}

/* ---------------------------------------------------------------- admitted keys */

static int cmp_admitted(const void *a, const void *b)
{
    return memcmp(((const admitted *)a)->curve, ((const admitted *)b)->curve, 32);
}

typedef struct {
    admitted *v;
    size_t n, cap;
} key_list;

static int collect(void *ctx, const uint8_t key[ZB_PK_LEN])
{
    key_list *l = ctx;
    uint8_t curve[32];
    if (crypto_sign_ed25519_pk_to_curve25519(curve, key) != 0)
        return 0; /* not a usable Ed25519 key: no aggregator can present it */
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        admitted *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return ZB_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    memcpy(l->v[l->n].curve, curve, 32);
    memcpy(l->v[l->n].log, key, ZB_PK_LEN);
    l->n++;
    return 0;
}

/* Re-read the followed keys when the store's logs generation moved. A
 * failure keeps the snapshot. */
static int refresh(zb_wzap *z)
{
    key_list l = {0};
    bool changed;
    int rc = zb_wstore_log_keys(z->store, &z->gen, &changed, collect, &l);
    if (rc || !changed) {
        free(l.v);
        return rc;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_admitted);
    free(z->keys);
    z->keys = l.v;
    z->n = l.n;
    ZB_DEBUG("ZB-WIT-ZAP-KEYS", "%zu log key(s) admitted (logs generation %" PRIu64 ")", l.n,
             z->gen);
    return ZB_OK;
}

static const admitted *lookup(const zb_wzap *z, const uint8_t curve[32])
{
    admitted probe;
    memcpy(probe.curve, curve, 32);
    return z->n ? bsearch(&probe, z->keys, z->n, sizeof probe, cmp_admitted) : NULL;
}

/* ---------------------------------------------------------------- ZAP */

static void reply(void *sock, zmq_msg_t *request_id, const char *code, const char *text,
                  const char *user_id)
{
    zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sock, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0); /* no metadata */
}

/* Read one ZAP request (all its frames) and answer it. */
static void handle(zb_wzap *z)
{
    zmq_msg_t f[ZAP_FRAMES + 1];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, z->sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < ZAP_FRAMES + 1)
            f[n++] = part; /* moved */
        else
            zmq_msg_close(&part);
    }
    if (n < 2) { /* cannot even answer: libzmq's own requests are always complete */
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
        return;
    }
    char addr[ADDR_MAX] = "?";
    if (n >= 4) {
        size_t l = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        memcpy(addr, zmq_msg_data(&f[3]), l);
        addr[l] = '\0';
    }
    const char *why = NULL;
    const admitted *a = NULL;
    if (n != ZAP_FRAMES || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0)
        why = "malformed ZAP request";
    else if (zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0)
        why = "only CURVE is accepted";
    else if (zmq_msg_size(&f[6]) != 32)
        why = "bad client key";
    else {
        /* the logs as of now: one followed a moment ago is admitted */
        int rc = refresh(z);
        if (rc)
            ZB_DEBUG("ZB-WIT-ZAP-KEYS", "log keys not re-read (the last ones are used): %s",
                     zb_strerror(rc));
        if (!(a = lookup(z, zmq_msg_data(&f[6]))))
            why = "client key is not the key of a log this witness follows";
    }
    if (why) {
        atomic_fetch_add(&z->refused, 1);
        uint64_t left_out;
        char key[17] = "-";
        if (n == ZAP_FRAMES && zmq_msg_size(&f[6]) == 32)
            zb_hex_encode(zmq_msg_data(&f[6]), 8, key);
        if (log_due(z, addr, &left_out))
            ZB_WARN("ZB-WIT-ZAP-DENIED",
                    "connection from %s refused: %s (CURVE key %s...; %" PRIu64
                    " more refused from there since the last such line)",
                    addr, why, key, left_out);
        reply(z->sock, &f[1], "400", why, "");
    } else {
        char user_id[2 * ZB_PK_LEN + 1];
        zb_hex_encode(a->log, ZB_PK_LEN, user_id);
        ZB_DEBUG("ZB-WIT-ZAP-OK", "connection from %s admitted for log %.16s", addr, user_id);
        reply(z->sock, &f[1], "200", "OK", user_id);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

/* ---------------------------------------------------------------- lifecycle */

static void *run(void *arg)
{
    zb_wzap *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t item = {z->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 100);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (item.revents & ZMQ_POLLIN))
            handle(z);
    }
    zmq_close(z->sock);
    return NULL;
}

static void wzap_free(zb_wzap *z)
{
    if (z->sock)
        zmq_close(z->sock);
    free(z->keys);
    free(z);
}

int zb_wzap_start(zb_wzap **out, void *ctx, zb_wstore *store)
{
    *out = NULL;
    zb_wzap *z = calloc(1, sizeof *z);
    if (!z)
        return ZB_ENOMEM;
    z->store = store;
    z->gen = ZB_WSTORE_GEN_NONE;
    int rc = refresh(z); /* the keys as of now, before any connection can ask */
    if (rc) {
        ZB_ERR("ZB-WIT-ZAP", "cannot read the followed logs: %s", zb_strerror(rc));
        wzap_free(z);
        return rc;
    }
    int zero = 0;
    z->sock = zmq_socket(ctx, ZMQ_REP);
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        ZB_ERR("ZB-WIT-ZAP", "cannot bind the ZAP handler: %s", zmq_strerror(errno));
        wzap_free(z);
        return ZB_ENET;
    }
    /* the socket moves to the thread: pthread_create is the memory barrier */
    if (pthread_create(&z->thread, NULL, run, z) != 0) {
        wzap_free(z);
        return ZB_ENOMEM;
    }
    *out = z;
    return ZB_OK;
}

void zb_wzap_stop(zb_wzap **zp)
{
    if (!zp || !*zp)
        return;
    zb_wzap *z = *zp;
    atomic_store(&z->stop, 1);
    pthread_join(z->thread, NULL);
    z->sock = NULL; /* closed by the thread */
    wzap_free(z);
    *zp = NULL;
}
