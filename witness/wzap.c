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
#include <zmq.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "lograte.h"
#include "zaprep.h"

#define LOG_SLOTS   64 /* peer addresses remembered for the log's rate limit */
#define LOG_EVERY_S 60 /* one ZB-WIT-ZAP-DENIED line per address per minute at most */

/* One admitted client: the X25519 key it must present, the log's key. */
typedef struct {
    uint8_t curve[32];
    uint8_t log[ZB_PK_LEN];
} admitted;

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
    zb_lograte_slot logs[LOG_SLOTS]; /* handler thread only */
};

uint64_t zb_wzap_refused(const zb_wzap *z)
{
    return atomic_load(&((zb_wzap *)z)->refused);
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

/* Read one ZAP request and answer it. */
static void handle(zb_wzap *z)
{
    zb_zaprep_request req;
    if (zb_zaprep_read(z->sock, &req) != 0)
        return;
    const char *why = req.problem;
    const admitted *a = NULL;
    if (!why) {
        /* the logs as of now: one followed a moment ago is admitted */
        int rc = refresh(z);
        if (rc)
            ZB_DEBUG("ZB-WIT-ZAP-KEYS", "log keys not re-read (the last ones are used): %s",
                     zb_strerror(rc));
        if (!(a = lookup(z, req.client_key)))
            why = "client key is not the key of a log this witness follows";
    }
    if (why) {
        atomic_fetch_add(&z->refused, 1);
        uint64_t left_out;
        char key[17] = "-";
        if (req.client_key)
            zb_hex_encode(req.client_key, 8, key);
        if (zb_lograte_due(z->logs, LOG_SLOTS, LOG_EVERY_S, 0, req.addr, &left_out))
            ZB_WARN("ZB-WIT-ZAP-DENIED",
                    "connection from %s refused: %s (CURVE key %s...; %" PRIu64
                    " more refused from there since the last such line)",
                    req.addr, why, key, left_out);
        zb_zaprep_reply(z->sock, &req, "400", why, "");
    } else {
        char user_id[2 * ZB_PK_LEN + 1];
        zb_hex_encode(a->log, ZB_PK_LEN, user_id);
        ZB_DEBUG("ZB-WIT-ZAP-OK", "connection from %s admitted for log %.16s", req.addr, user_id);
        zb_zaprep_reply(z->sock, &req, "200", "OK", user_id);
    }
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
    if (zb_zaprep_bind(ctx, &z->sock) != 0) {
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
