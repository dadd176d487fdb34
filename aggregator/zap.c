/* zap.c - see zap.h. */
#include "zap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zmq.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "lograte.h"
#include "zaprep.h"

#define MONITOR_ENDPOINT "inproc://zhibao-agg-monitor"
#define ADDR_MAX 64
#define LOG_SLOTS 256   /* (kind, address) pairs remembered for the log's rate limit */
#define LOG_EVERY_S 60  /* one line per (kind, address) per minute at most */

/* The User-Id an admitted key gets: "CODE:" and the hex of the CURVE key
 * it authenticated with (zap.h ZB_ZAP_USER_ID_LEN). */
#define USER_ID_LEN ZB_ZAP_USER_ID_LEN

typedef struct {
    uint8_t key[32];
    char county[USER_ID_LEN];
} zap_entry;

/* A connection the server accepted (handler thread only). explained: its
 * handshake is known to have ended otherwise than by a silent failure. */
typedef struct {
    int fd;
    bool explained;
    char addr[ADDR_MAX];
} conn;

struct zb_zap {
    void *sock, *mon;
    pthread_t thread;
    atomic_int stop;
    atomic_uint_least64_t refused[ZB_CONN_KINDS];
    zb_agg *agg;
    /* readers: the handler's read transactions; writer: the server thread
     * around what may remap the map */
    pthread_rwlock_t store_lock;
    /* the admitted keys, sorted, as of keys generation gen: written by
     * zb_zap_start, then by the handler thread only */
    zap_entry *entries;
    size_t n;
    uint64_t gen;
    /* the monitor's view (handler thread only): accepted connections, the
     * handshakes known to have ended (succeeded, or refused by ZAP) that
     * could not be tied to one of them yet, and a failure libzmq reported
     * for the connection whose DISCONNECTED comes next */
    conn *conns;
    size_t n_conns, cap_conns, n_unexplained, unattributed;
    int pending; /* a zb_conn_refusal, -1: none */
    zb_lograte_slot logs[LOG_SLOTS]; /* handler thread only */
};

static const char *const kind_names[ZB_CONN_KINDS] = {
    "UNENROLLED_CONNECTION", "BAD_MECHANISM", "CURVE_FAILED", "HANDSHAKE_FAILED"};
static const char *const kind_why[ZB_CONN_KINDS] = {
    "client key not enrolled (or revoked)",
    "not a CurveZMQ client (NULL or PLAIN mechanism)",
    "CurveZMQ handshake does not decrypt (the client has another aggregator key?)",
    "no ZeroMQ handshake (not ZMTP 3, a malformed command, or closed before it ended)"};

const char *zb_zap_refusal_name(zb_conn_refusal kind)
{
    return (unsigned)kind < ZB_CONN_KINDS ? kind_names[kind] : "UNKNOWN";
}

uint64_t zb_zap_refused(const zb_zap *z, zb_conn_refusal kind)
{
    return (unsigned)kind < ZB_CONN_KINDS ? atomic_load(&((zb_zap *)z)->refused[kind]) : 0;
}

void zb_zap_exclusive(zb_zap *z, int hold)
{
    if (hold)
        pthread_rwlock_wrlock(&z->store_lock);
    else
        pthread_rwlock_unlock(&z->store_lock);
}

/* Count one refused connection attempt (not ZAP's: see handle). */
static void refuse(zb_zap *z, int kind, const char *addr)
{
    atomic_fetch_add(&z->refused[kind], 1);
    uint64_t left_out;
    if (zb_lograte_due(z->logs, LOG_SLOTS, LOG_EVERY_S, kind, addr, &left_out))
        ZB_WARN("ZB-AGG-CONN-REFUSED",
                "connection from %s refused: %s: %s (%" PRIu64 " more from there since the "
                "last such line)",
                strcmp(addr, "?") ? addr : "an unknown address (gone before it was read)",
                kind_names[kind], kind_why[kind], left_out);
}

/* ---------------------------------------------------------------- admitted keys */

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(((const zap_entry *)a)->key, ((const zap_entry *)b)->key, 32);
}

/* The User-Id of an admitted key: copies it to county (USER_ID_LEN
 * bytes); 0 or -1. */
static int lookup(const zb_zap *z, const uint8_t key[32], char county[USER_ID_LEN])
{
    zap_entry probe;
    memcpy(probe.key, key, 32);
    const zap_entry *e = z->n ? bsearch(&probe, z->entries, z->n, sizeof *e, cmp_entry) : NULL;
    if (e)
        memcpy(county, e->county, USER_ID_LEN);
    return e ? 0 : -1;
}

typedef struct {
    zap_entry *v;
    size_t n, cap;
} entry_list;

/* Revoked keys are admitted too: such a node learns from its Welcome's key
 * events that its key was revoked, and nothing else (server.c tells the
 * active key from a revoked one by the key in the User-Id). */
static int collect(void *ctx, const uint8_t curve_pk[32], const char *county, bool revoked)
{
    (void)revoked;
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
    char hex[65];
    zb_hex_encode(curve_pk, 32, hex);
    snprintf(l->v[l->n].county, sizeof l->v[l->n].county, "%.6s:%s", county, hex);
    l->n++;
    return 0;
}

/* Re-read the enrolled keys in txn when the keys generation is not the
 * snapshot's (force: always). */
static int reload(zb_zap *z, MDB_txn *txn, bool force)
{
    zb_store *s = zb_agg_store(z->agg);
    uint64_t gen = zb_astore_keys_generation(s, txn);
    if (!force && gen == z->gen)
        return ZB_OK;
    entry_list l = {0};
    int rc = zb_astore_curve_keys(s, txn, collect, &l);
    if (rc) {
        free(l.v);
        return rc;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, cmp_entry); /* LMDB order already; cheap insurance */
    free(z->entries);
    z->entries = l.v;
    z->n = l.n;
    z->gen = gen;
    ZB_DEBUG("ZB-AGG-ZAP-KEYS", "%zu enrolled key(s) admitted (keys generation %" PRIu64 ")",
             l.n, gen);
    return ZB_OK;
}

/* The handler thread: the snapshot as of the store now. A failure keeps
 * the snapshot (a map another process grew is adopted by the server
 * thread's next transaction). */
static void refresh(zb_zap *z)
{
    pthread_rwlock_rdlock(&z->store_lock);
    MDB_txn *txn;
    int rc = mdb_txn_begin(zb_store_env(zb_agg_store(z->agg)), NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        rc = reload(z, txn, false);
        mdb_txn_abort(txn);
    } else {
        rc = zb_mdb_err(rc);
    }
    pthread_rwlock_unlock(&z->store_lock);
    if (rc)
        ZB_DEBUG("ZB-AGG-ZAP-KEYS", "enrolled keys not re-read: %s", zb_strerror(rc));
}

/* ---------------------------------------------------------------- ZAP */

/* Read one ZAP request and answer it. */
static void handle(zb_zap *z)
{
    zb_zaprep_request req;
    if (zb_zaprep_read(z->sock, &req) != 0)
        return;
    char county[USER_ID_LEN] = "";
    const char *why = req.problem;
    if (!why) {
        /* the snapshot follows the store's keys generation, checked now: a
         * key enrolled a moment ago is admitted, a revoked one refused */
        refresh(z);
        if (lookup(z, req.client_key, county) != 0)
            why = "client key not enrolled (or revoked)";
    }
    uint64_t left_out;
    if (why) {
        atomic_fetch_add(&z->refused[ZB_CONN_UNENROLLED], 1);
        char key[17] = "";
        if (req.client_key)
            zb_hex_encode(req.client_key, 8, key);
        if (zb_lograte_due(z->logs, LOG_SLOTS, LOG_EVERY_S, ZB_CONN_UNENROLLED, req.addr,
                           &left_out))
            ZB_WARN("ZB-AGG-ZAP-DENIED",
                    "connection from %s refused: %s (client key %s...; %" PRIu64
                    " more from there since the last such line)",
                    req.addr, why, key, left_out);
        zb_zaprep_reply(z->sock, &req, "400", why, "");
    } else {
        ZB_DEBUG("ZB-AGG-ZAP-OK", "connection from %s admitted for county %s", req.addr, county);
        zb_zaprep_reply(z->sock, &req, "200", "OK", county);
    }
}

/* ---------------------------------------------------------------- the monitor
 *
 * libzmq's events carry no connection but ACCEPTED's and DISCONNECTED's
 * (the fd). A handshake that fails with an error reports it (NO_DETAIL,
 * PROTOCOL) right before that connection's DISCONNECTED, in one call on
 * the I/O thread: the DISCONNECTED that follows tells whose it was. A peer
 * that is not ZMTP 3 at all is dropped with no handshake event: a
 * connection that closes before any outcome was reported for it. A
 * handshake that ended otherwise (SUCCEEDED, or AUTH: refused by ZAP,
 * counted there) names no connection: it is tied to the only one still
 * shaking hands, else held as a token that the next such connection to
 * close uses up. */

static conn *conn_find(zb_zap *z, int fd)
{
    for (size_t i = 0; i < z->n_conns; i++)
        if (z->conns[i].fd == fd)
            return &z->conns[i];
    return NULL;
}

static void conn_remove(zb_zap *z, conn *c)
{
    if (!c->explained)
        z->n_unexplained--;
    *c = z->conns[--z->n_conns];
}

/* Every connection still shaking hands has ended as the tokens say. */
static void settle(zb_zap *z)
{
    if (z->unattributed == 0 || z->unattributed < z->n_unexplained)
        return;
    for (size_t i = 0; i < z->n_conns; i++)
        z->conns[i].explained = true;
    z->n_unexplained = 0;
    z->unattributed = 0;
}

static void on_accepted(zb_zap *z, int fd)
{
    conn *c = conn_find(z, fd); /* a DISCONNECTED we never saw: reuse */
    if (c)
        conn_remove(z, c);
    if (z->n_conns == z->cap_conns) {
        size_t cap = z->cap_conns ? 2 * z->cap_conns : 64;
        conn *v = realloc(z->conns, cap * sizeof *v);
        if (!v)
            return; /* not watched: at worst not counted */
        z->conns = v;
        z->cap_conns = cap;
    }
    c = &z->conns[z->n_conns++];
    c->fd = fd;
    c->explained = false;
    z->n_unexplained++;
    snprintf(c->addr, sizeof c->addr, "?");
    /* the peer's address now, while the fd is surely still this connection */
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->addr, sizeof c->addr);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->addr, sizeof c->addr);
}

/* A handshake ended, for a connection the event does not name. */
static void on_outcome(zb_zap *z)
{
    if (z->n_unexplained == 1) {
        for (size_t i = 0; i < z->n_conns; i++)
            if (!z->conns[i].explained) {
                z->conns[i].explained = true;
                z->n_unexplained = 0;
                break;
            }
        return;
    }
    z->unattributed++;
    settle(z);
}

static void on_failure(zb_zap *z, int kind)
{
    if (z->pending >= 0) /* its DISCONNECTED never came: count it unplaced */
        refuse(z, z->pending, "?");
    z->pending = kind;
}

static void on_disconnected(zb_zap *z, int fd)
{
    conn *c = conn_find(z, fd);
    const char *addr = c ? c->addr : "?";
    if (z->pending >= 0) {
        refuse(z, z->pending, addr);
        z->pending = -1;
    } else if (c && !c->explained) {
        if (z->unattributed > 0)
            z->unattributed--; /* it was one of the handshakes that ended */
        else
            refuse(z, ZB_CONN_HANDSHAKE, addr); /* dropped without a handshake event */
    }
    if (c)
        conn_remove(z, c);
    settle(z);
}

/* Every event the monitor has queued. */
static void on_monitor(zb_zap *z)
{
    for (;;) {
        zmq_msg_t ev, ep;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, z->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        bool two = zmq_msg_more(&ev);
        zmq_msg_init(&ep);
        if (two)
            (void)zmq_msg_recv(&ep, z->mon, 0); /* the bound endpoint: not the peer */
        zmq_msg_close(&ep);
        if (zmq_msg_size(&ev) != 6) {
            zmq_msg_close(&ev);
            continue;
        }
        uint16_t event;
        uint32_t value;
        memcpy(&event, zmq_msg_data(&ev), 2);
        memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2, 4);
        zmq_msg_close(&ev);
        ZB_DEBUG("ZB-AGG-CONN-EVENT", "socket event 0x%x value 0x%x (%zu connection(s), %zu "
                 "shaking hands, %zu handshake(s) unplaced)",
                 (unsigned)event, (unsigned)value, z->n_conns, z->n_unexplained, z->unattributed);
        switch (event) {
        case ZMQ_EVENT_ACCEPTED: on_accepted(z, (int)value); break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: on_outcome(z); break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
            on_failure(z, value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? ZB_CONN_MECHANISM
                          : value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC   ? ZB_CONN_CURVE
                                                                            : ZB_CONN_HANDSHAKE);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: on_failure(z, ZB_CONN_HANDSHAKE); break;
        case ZMQ_EVENT_DISCONNECTED: on_disconnected(z, (int)value); break;
        default: break;
        }
    }
}

/* ---------------------------------------------------------------- lifecycle */

static void *run(void *arg)
{
    zb_zap *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t items[2] = {{z->sock, 0, ZMQ_POLLIN, 0}, {z->mon, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 2, 100);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN))
            on_monitor(z);
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            handle(z);
    }
    if (z->pending >= 0)
        refuse(z, z->pending, "?");
    zmq_close(z->sock);
    zmq_close(z->mon);
    return NULL;
}

static void zap_free(zb_zap *z)
{
    if (z->sock)
        zmq_close(z->sock);
    if (z->mon)
        zmq_close(z->mon);
    pthread_rwlock_destroy(&z->store_lock);
    free(z->entries);
    free(z->conns);
    free(z);
}

int zb_zap_start(zb_zap **out, void *ctx, zb_agg *a)
{
    *out = NULL;
    zb_zap *z = calloc(1, sizeof *z);
    if (!z)
        return ZB_ENOMEM;
    pthread_rwlock_init(&z->store_lock, NULL);
    z->agg = a;
    z->pending = -1;
    /* the keys as of now, before any connection can ask */
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc == 0) {
        rc = reload(z, txn, true);
        mdb_txn_abort(txn);
    }
    if (rc) {
        ZB_ERR("ZB-AGG-ZAP", "cannot read the enrolled keys: %s", zb_strerror(rc));
        zap_free(z);
        return rc;
    }
    int zero = 0, hwm = 100000;
    if (zb_zaprep_bind(ctx, &z->sock) != 0 || !(z->mon = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(z->mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(z->mon, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_connect(z->mon, MONITOR_ENDPOINT) != 0) { /* inproc: before the bind is fine */
        ZB_ERR("ZB-AGG-ZAP", "cannot bind the ZAP handler: %s", zmq_strerror(errno));
        zap_free(z);
        return ZB_ENET;
    }
    /* the sockets move to the thread: pthread_create is the memory barrier */
    if (pthread_create(&z->thread, NULL, run, z) != 0) {
        zap_free(z);
        return ZB_ENOMEM;
    }
    *out = z;
    return ZB_OK;
}

int zb_zap_watch(zb_zap *z, void *router)
{
    (void)z;
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(router, MONITOR_ENDPOINT, events) != 0) {
        ZB_ERR("ZB-AGG-ZAP", "cannot watch the server socket: %s", zmq_strerror(errno));
        return ZB_ENET;
    }
    return ZB_OK;
}

void zb_zap_stop(zb_zap **zp)
{
    if (!zp || !*zp)
        return;
    zb_zap *z = *zp;
    atomic_store(&z->stop, 1);
    pthread_join(z->thread, NULL);
    z->sock = z->mon = NULL; /* closed by the thread */
    zap_free(z);
    *zp = NULL;
}
