/* zap.c - see zap.h. */
#include "zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "crypto.h"
#include "err.h"
#include "log.h"

typedef struct {
    uint8_t key[32];
    char county[8];
} zap_entry;

struct zb_zap {
    void *sock;
    pthread_t thread;
    atomic_int stop;
    atomic_uint_least64_t denied;
    /* the admitted keys: a sorted snapshot the main thread installs; the
     * handler thread never touches the store (LMDB's map may be resized
     * by the main thread, which needs no other transaction open) */
    pthread_mutex_t lock;
    zap_entry *entries;
    size_t n;
};

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const zap_entry *)a)->key, ((const zap_entry *)b)->key, 32);
}

/* The county of an admitted key: copies it to county (8 bytes); 0 or -1. */
static int lookup(zb_zap *z, const uint8_t key[32], char county[8])
{
    zap_entry probe;
    memcpy(probe.key, key, 32);
    pthread_mutex_lock(&z->lock);
    const zap_entry *e = z->n ? bsearch(&probe, z->entries, z->n, sizeof *e, cmp_entry) : NULL;
    if (e)
        memcpy(county, e->county, 8);
    pthread_mutex_unlock(&z->lock);
    return e ? 0 : -1;
}

typedef struct {
    zap_entry *v;
    size_t n, cap;
} entry_list;

static int collect(void *ctx, const uint8_t curve_pk[32], const char *county)
{
    entry_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        zap_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return ZB_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    memcpy(l->v[l->n].key, curve_pk, 32);
    snprintf(l->v[l->n].county, sizeof l->v[l->n].county, "%s", county);
    l->n++;
    return 0;
}

int zb_zap_reload(zb_zap *z, zb_agg *a, MDB_txn *txn)
{
    entry_list l = {0};
    int rc = zb_astore_curve_keys(zb_agg_store(a), txn, collect, &l);
    if (rc) {
        free(l.v);
        return rc;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_entry); /* LMDB order already; cheap insurance */
    pthread_mutex_lock(&z->lock);
    zap_entry *old = z->entries;
    z->entries = l.v;
    z->n = l.n;
    pthread_mutex_unlock(&z->lock);
    free(old);
    ZB_DEBUG("ZB-AGG-ZAP-KEYS", "%zu enrolled key(s) admitted", l.n);
    return ZB_OK;
}

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7 /* version, request id, domain, address, identity, mechanism, key */

static int send_frame(void *sock, const void *data, size_t len, int more)
{
    return zmq_send(sock, data, len, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

static void reply(void *sock, const zmq_msg_t *request_id, const char *code, const char *text,
                  const char *user_id)
{
    send_frame(sock, "1.0", 3, 1);
    send_frame(sock, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id), 1);
    send_frame(sock, code, strlen(code), 1);
    send_frame(sock, text, strlen(text), 1);
    send_frame(sock, user_id, strlen(user_id), 1);
    send_frame(sock, "", 0, 0);
}

/* Read one ZAP request (all its frames) and answer it. */
static void handle(zb_zap *z)
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
    if (n < 2) { /* cannot even answer: libzmq's own request is always complete */
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
        return;
    }
    char county[8] = "";
    const char *why = NULL;
    char addr[64] = "?";
    if (n >= 4) {
        size_t l = zmq_msg_size(&f[3]) < sizeof addr - 1 ? zmq_msg_size(&f[3]) : sizeof addr - 1;
        memcpy(addr, zmq_msg_data(&f[3]), l);
        addr[l] = '\0';
    }
    if (n != ZAP_FRAMES || zmq_msg_size(&f[0]) != 3 || memcmp(zmq_msg_data(&f[0]), "1.0", 3) != 0)
        why = "malformed ZAP request";
    else if (zmq_msg_size(&f[5]) != 5 || memcmp(zmq_msg_data(&f[5]), "CURVE", 5) != 0)
        why = "only CURVE is accepted";
    else if (zmq_msg_size(&f[6]) != 32)
        why = "bad client key";
    else if (lookup(z, zmq_msg_data(&f[6]), county) != 0)
        why = "client key not enrolled (or revoked)";
    if (why) {
        atomic_fetch_add(&z->denied, 1);
        char key[17] = "";
        if (n == ZAP_FRAMES && zmq_msg_size(&f[6]) == 32)
            zb_hex_encode(zmq_msg_data(&f[6]), 8, key);
        ZB_WARN("ZB-AGG-ZAP-DENIED", "connection from %s refused: %s (client key %s...)", addr,
                why, key);
        reply(z->sock, &f[1], "400", why, "");
    } else {
        ZB_DEBUG("ZB-AGG-ZAP-OK", "connection from %s admitted for county %s", addr, county);
        reply(z->sock, &f[1], "200", "OK", county);
    }
    for (int i = 0; i < n; i++)
        zmq_msg_close(&f[i]);
}

static void *run(void *arg)
{
    zb_zap *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t item = {z->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, 100);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0)
            handle(z);
    }
    zmq_close(z->sock);
    return NULL;
}

int zb_zap_start(zb_zap **out, void *ctx)
{
    *out = NULL;
    zb_zap *z = calloc(1, sizeof *z);
    if (!z)
        return ZB_ENOMEM;
    pthread_mutex_init(&z->lock, NULL);
    z->sock = zmq_socket(ctx, ZMQ_REP);
    int zero = 0;
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) != 0) {
        ZB_ERR("ZB-AGG-ZAP", "cannot bind the ZAP handler: %s", zmq_strerror(errno));
        if (z->sock)
            zmq_close(z->sock);
        free(z);
        return ZB_ENET;
    }
    /* the socket moves to the thread: pthread_create is the memory barrier */
    if (pthread_create(&z->thread, NULL, run, z) != 0) {
        zmq_close(z->sock);
        free(z);
        return ZB_ENOMEM;
    }
    *out = z;
    return ZB_OK;
}

void zb_zap_stop(zb_zap **zp)
{
    if (!zp || !*zp)
        return;
    atomic_store(&(*zp)->stop, 1);
    pthread_join((*zp)->thread, NULL);
    pthread_mutex_destroy(&(*zp)->lock);
    free((*zp)->entries);
    free(*zp);
    *zp = NULL;
}

uint64_t zb_zap_denied(const zb_zap *z) { return atomic_load(&((zb_zap *)z)->denied); }
