/* witcli.c - see witcli.h. */
#include "witcli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "astore.h"
#include "cosig.h"
#include "err.h"
#include "log.h"
#include "render.h"
#include "tlog.h"
#include "treehead.h"
#include "zmqmon.h"

#define TICK_MS         100  /* how often the newest head is looked at */
#define CONFIG_CHECK_MS 1000 /* how often the witness list is looked at */

typedef struct {
    uint8_t key[ZB_PK_LEN];
    char hex[2 * ZB_PK_LEN + 1];
    char endpoint[ZB_WITNESS_ENDPOINT_MAX + 1];
    void *sock;
    void *mon;                 /* sock's handshake monitor (PAIR), NULL when none */
    int64_t refused_logged_at; /* ms: last line about a refused handshake (0: none) */
    uint64_t size;             /* the size it cosigned last, as far as we know (0: none) */
    bool in_flight;
    zb_tree_head flight; /* the head asked for */
    int64_t sent_ms;
    bool refused; /* refused_head was refused: never sent to it again */
    zb_tree_head refused_head;
    uint64_t ahead_logged; /* the larger size last logged as ZB-AGG-WITNESS-AHEAD */
    int64_t retry_at;      /* nothing sent before (monotonic ms) */
} witness;

struct zb_witcli {
    void *ctx;
    zb_agg *agg;
    zb_zap *zap;
    uint8_t agg_pk[ZB_PK_LEN];
    witness w[ZB_WITNESS_MAX];
    size_t n;
    uint64_t gen;
    bool loaded;
    int64_t config_at, tick_at;
};

static void close_socket(witness *w)
{
    if (w->mon)
        zmq_close(w->mon);
    if (w->sock) {
        (void)zmq_socket_monitor(w->sock, NULL, 0);
        zmq_close(w->sock);
    }
    w->sock = w->mon = NULL;
    w->in_flight = false;
}

/* Watch sock's handshakes: a witness that refuses this aggregator (its
 * ZAP admits only the logs it follows) or holds another key would else
 * only make ZeroMQ reconnect quietly, and no cosignature would ever come. */
static void watch_socket(zb_witcli *c, witness *w)
{
    char ep[80];
    static unsigned serial; /* a distinct inproc name per monitor in this process */
    snprintf(ep, sizeof ep, "inproc://zb-witcli-mon-%u-%p", ++serial, (void *)w);
    if (zmq_socket_monitor(w->sock, ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        return;
    void *mon = zmq_socket(c->ctx, ZMQ_PAIR);
    int zero = 0;
    if (mon && zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero) == 0 &&
        zmq_connect(mon, ep) == 0) {
        w->mon = mon;
        return;
    }
    if (mon)
        zmq_close(mon);
    (void)zmq_socket_monitor(w->sock, NULL, 0);
}

/* What the handshakes with w said since the last call, once a minute. */
static void read_monitor(zb_witcli *c, witness *w, int64_t now)
{
    uint32_t value;
    for (int event; w->mon && (event = zb_zmq_monitor_event(w->mon, &value)) != 0;) {
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            w->refused_logged_at = 0;
            continue;
        }
        if (w->refused_logged_at && now - w->refused_logged_at < 60000)
            continue;
        w->refused_logged_at = now;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            char agg[2 * ZB_PK_LEN + 1];
            zb_hex_encode(c->agg_pk, ZB_PK_LEN, agg);
            ZB_WARN("ZB-AGG-WITNESS-DENIED",
                    "witness %.16s... at %s refuses this aggregator's connection (ZAP %u): it "
                    "does not follow this log; its operator runs zhibao-witness add-log --key %s",
                    w->hex, w->endpoint, value, agg);
        } else {
            ZB_WARN("ZB-AGG-WITNESS-DENIED",
                    "CURVE handshake with the witness at %s failed: it does not hold the key "
                    "%.16s... given with zhibao-agg witness --add (check the key and endpoint)",
                    w->endpoint, w->hex);
        }
    }
}

/* A DEALER socket to the witness: CurveZMQ with the witness's key in its
 * X25519 form; never queues a request while not connected. */
static int open_socket(zb_witcli *c, witness *w)
{
    uint8_t server_pk[32], my_pk[32], my_sk[32];
    if (crypto_sign_ed25519_pk_to_curve25519(server_pk, w->key) != 0 ||
        crypto_sign_ed25519_pk_to_curve25519(my_pk, zb_agg_identity(c->agg)->pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(my_sk, zb_agg_identity(c->agg)->sk) != 0) {
        ZB_ERR("ZB-AGG-WITNESS", "witness %.16s...: not a usable Ed25519 key", w->hex);
        return ZB_EINVAL;
    }
    void *s = zmq_socket(c->ctx, ZMQ_DEALER);
    if (!s) {
        sodium_memzero(my_sk, sizeof my_sk);
        return ZB_ENET;
    }
    int zero = 0, one = 1, hwm = 4, ivl_max = 5000;
    int64_t maxmsg = ZB_WITNESS_FRAME_MAX;
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_pk, sizeof server_pk);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, my_pk, sizeof my_pk);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, my_sk, sizeof my_sk);
    sodium_memzero(my_sk, sizeof my_sk);
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    w->sock = s;
    watch_socket(c, w);
    if (zmq_connect(s, w->endpoint) != 0) {
        ZB_ERR("ZB-AGG-WITNESS", "witness %.16s...: cannot connect to %s: %s", w->hex, w->endpoint,
               zmq_strerror(errno));
        close_socket(w);
        return ZB_ENET;
    }
    return ZB_OK;
}

static int load_one(void *ctx, const uint8_t key[ZB_PK_LEN], const char *endpoint, int64_t added_at)
{
    (void)added_at;
    zb_witcli *c = ctx;
    if (c->n == ZB_WITNESS_MAX)
        return 0;
    witness *w = &c->w[c->n];
    memset(w, 0, sizeof *w);
    memcpy(w->key, key, ZB_PK_LEN);
    zb_hex_encode(key, ZB_PK_LEN, w->hex);
    snprintf(w->endpoint, sizeof w->endpoint, "%s", endpoint);
    c->n++;
    return 0;
}

/* The size of the newest stored head this witness cosigned (0: none we
 * hold): where its consistency proofs start until it says otherwise. */
static uint64_t cosigned_size(zb_witcli *c, MDB_txn *txn, const witness *w)
{
    uint64_t size = 0;
    int64_t at;
    return zb_tlog_cosigned_by(zb_agg_tlog(c->agg), txn, w->key, &size, &at) == 0 ? size : 0;
}

/* (Re)read the witness list; sockets of witnesses that stay are kept. */
static void load_config(zb_witcli *c, MDB_txn *txn)
{
    witness old[ZB_WITNESS_MAX];
    size_t n_old = c->n;
    memcpy(old, c->w, sizeof old);
    c->n = 0;
    if (zb_astore_witnesses(zb_agg_store(c->agg), txn, load_one, c) != 0) {
        ZB_ERR("ZB-AGG-WITNESS", "cannot read the witness list: witnesses left as they were");
        memcpy(c->w, old, sizeof old);
        c->n = n_old;
        return;
    }
    for (size_t i = 0; i < c->n; i++) {
        witness *w = &c->w[i];
        size_t j = 0;
        while (j < n_old && (memcmp(old[j].key, w->key, ZB_PK_LEN) != 0 ||
                             strcmp(old[j].endpoint, w->endpoint) != 0))
            j++;
        if (j < n_old) { /* unchanged: keep its state and socket */
            *w = old[j];
            old[j].sock = old[j].mon = NULL; /* they are w's now */
            continue;
        }
        w->size = cosigned_size(c, txn, w);
        if (open_socket(c, w) != 0)
            w->retry_at = INT64_MAX; /* a bad endpoint: until the list changes */
        else
            ZB_INFO("ZB-AGG-WITNESS",
                    "witness %.16s... at %s (it cosigned size %" PRIu64
                    " as far as this store knows)",
                    w->hex, w->endpoint, w->size);
    }
    for (size_t j = 0; j < n_old; j++)
        close_socket(&old[j]);
}

int zb_witcli_open(zb_witcli **out, void *zmq_ctx, zb_agg *a, zb_zap *zap)
{
    *out = NULL;
    zb_witcli *c = calloc(1, sizeof *c);
    if (!c)
        return ZB_ENOMEM;
    c->ctx = zmq_ctx;
    c->agg = a;
    c->zap = zap;
    memcpy(c->agg_pk, zb_agg_identity(a)->pk, ZB_PK_LEN);
    c->config_at = INT64_MIN / 2;
    c->tick_at = INT64_MIN / 2;
    *out = c;
    return ZB_OK;
}

void zb_witcli_close(zb_witcli **cp)
{
    if (!cp || !*cp)
        return;
    for (size_t i = 0; i < (*cp)->n; i++)
        close_socket(&(*cp)->w[i]);
    free(*cp);
    *cp = NULL;
}

size_t zb_witcli_pollitems(zb_witcli *c, zmq_pollitem_t *items, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; c && i < c->n && k < max; i++)
        if (c->w[i].sock && c->w[i].in_flight)
            items[k++] = (zmq_pollitem_t){c->w[i].sock, 0, ZMQ_POLLIN, 0};
    return k;
}

static int begin(zb_witcli *c, bool readonly, MDB_txn **txn)
{
    zb_zap_exclusive(c->zap, 1);
    int rc = zb_store_begin(zb_agg_store(c->agg), readonly, txn);
    zb_zap_exclusive(c->zap, 0);
    return rc;
}

/* Store a verified cosignature (growing the map when full, as
 * zb_store_write does, but with the map lock taken only around what may
 * remap: a begin and a grow). Every failure is logged (before, a grow
 * that failed, or tries running out, dropped the cosignature silently):
 * that head then lacks this witness's cosignature; the next head it
 * cosigns is stored as usual. */
static void store_cosignature(zb_witcli *c, witness *w, const Zb__Cosignature *cs)
{
    int rc = ZB_OK;
    for (int attempt = 1;; attempt++) {
        MDB_txn *txn;
        if ((rc = begin(c, false, &txn)) == 0) {
            rc = zb_tlog_add_cosignature(zb_agg_tlog(c->agg), txn, c->agg_pk, w->flight.size, cs);
            if (rc == 0)
                rc = zb_store_commit(txn);
            else
                mdb_txn_abort(txn);
        }
        if (rc != ZB_EMAPFULL || attempt >= ZB_STORE_WRITE_TRIES)
            break;
        zb_zap_exclusive(c->zap, 1);
        int grc = zb_store_grow(zb_agg_store(c->agg));
        zb_zap_exclusive(c->zap, 0);
        if (grc)
            break; /* rc stays ZB_EMAPFULL */
    }
    if (rc == 0)
        ZB_DEBUG("ZB-AGG-WITNESS-COSIGNED", "witness %.16s... cosigned tree head of size %" PRIu64,
                 w->hex, w->flight.size);
    else
        ZB_ERR("ZB-AGG-WITNESS",
               "cosignature of witness %.16s... for size %" PRIu64 " not stored: %s", w->hex,
               w->flight.size, zb_strerror(rc));
}

static void take_answer(zb_witcli *c, witness *w, const uint8_t *bytes, size_t len, int64_t now)
{
    zb_witness_answer ans;
    int rc = zb_witness_answer_open(bytes, len, w->key, c->agg_pk, &w->flight, &ans);
    w->in_flight = false;
    if (rc) {
        ZB_WARN("ZB-AGG-WITNESS",
                "witness %.16s... answered with something that does not "
                "verify (status %d): tried again in %d s",
                w->hex, (int)ans.status, ZB_WITCLI_RETRY_MS / 1000);
        w->retry_at = now + ZB_WITCLI_RETRY_MS;
        return;
    }
    switch (ans.status) {
    case ZB__WITNESS_STATUS__COSIGNED:
        store_cosignature(c, w, ans.cosignature);
        w->size = w->flight.size;
        zb__cosignature__free_unpacked(ans.cosignature, NULL);
        break;
    case ZB__WITNESS_STATUS__CONFLICT:
        /* it holds another size than we thought: the next request proves
         * from there */
        ZB_DEBUG("ZB-AGG-WITNESS",
                 "witness %.16s... holds size %" PRIu64 " (we thought %" PRIu64 ")", w->hex,
                 ans.size, w->size);
        w->size = ans.size;
        break;
    case ZB__WITNESS_STATUS__REFUSED:
        ZB_ERR("ZB-AGG-WITNESS-REFUSED",
               "witness %.16s... REFUSED this log's tree head of size %" PRIu64
               " (it cosigned size %" PRIu64 " of this key before): %s -- the log this store "
               "holds is not the one the witness saw; keep the store and investigate",
               w->hex, w->flight.size, ans.size, ans.reason[0] ? ans.reason : "no reason given");
        w->refused = true;
        w->refused_head = w->flight;
        if (ans.size)
            w->size = ans.size;
        break;
    case ZB__WITNESS_STATUS__UNKNOWN_LOG:
        ZB_WARN("ZB-AGG-WITNESS",
                "witness %.16s... does not follow this aggregator's key (its "
                "operator runs zhibao-witness add-log with it): tried again in %d s",
                w->hex, ZB_WITCLI_RETRY_MS / 1000);
        w->retry_at = now + ZB_WITCLI_RETRY_MS;
        break;
    default: /* BAD_REQUEST */
        ZB_ERR("ZB-AGG-WITNESS", "witness %.16s... refused the request as malformed: %s", w->hex,
               ans.reason[0] ? ans.reason : "no reason given");
        w->retry_at = now + ZB_WITCLI_RETRY_MS;
    }
}

static void receive(zb_witcli *c, witness *w, int64_t now)
{
    while (w->sock) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, w->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        bool more = zmq_msg_more(&m);
        if (w->in_flight && !more)
            take_answer(c, w, zmq_msg_data(&m), zmq_msg_size(&m), now);
        zmq_msg_close(&m);
        if (more) { /* not one frame: not a witness answer; drop the rest */
            int again = 1;
            while (again) {
                zmq_msg_init(&m);
                again = zmq_msg_recv(&m, w->sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m);
                zmq_msg_close(&m);
            }
        }
    }
}

/* Send the newest head (sth, decoded as head) to w, with its proof. */
static void send_head(zb_witcli *c, witness *w, MDB_txn *txn, const Zb__SignedTreeHead *sth,
                      const zb_tree_head *head, int64_t now)
{
    Zb__SignedTreeHead bare = *sth; /* the aggregator's signature only */
    bare.n_cosignatures = 0;
    bare.cosignatures = NULL;
    Zb__WitnessRequest req = ZB__WITNESS_REQUEST__INIT;
    req.tree_head = &bare;
    Zb__ConsistencyProof *cp = NULL;
    if (w->size > 0 &&
        zb_tlog_make_consistency(zb_agg_tlog(c->agg), txn, w->size, head->size, &cp) != 0) {
        ZB_ERR("ZB-AGG-WITNESS",
               "no consistency proof from size %" PRIu64 " to %" PRIu64 " for witness %.16s...",
               w->size, head->size, w->hex);
        w->retry_at = now + ZB_WITCLI_RETRY_MS;
        return;
    }
    req.consistency = cp;
    size_t len = zb__witness_request__get_packed_size(&req);
    uint8_t *buf = len <= ZB_WITNESS_FRAME_MAX ? malloc(len) : NULL;
    if (buf) {
        zb__witness_request__pack(&req, buf);
        if (zmq_send(w->sock, buf, len, ZMQ_DONTWAIT) == (int)len) {
            w->in_flight = true;
            w->flight = *head;
            w->sent_ms = now;
        } /* else not connected (ZMQ_IMMEDIATE): the next tick tries again */
    }
    free(buf);
    if (cp)
        zb__consistency_proof__free_unpacked(cp, NULL);
}

/* A request in flight to w has had no answer for too long. */
static bool timed_out(const witness *w, int64_t now)
{
    return now - w->sent_ms >= ZB_WITCLI_TIMEOUT_MS;
}

void zb_witcli_tick(zb_witcli *c, int64_t now)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        receive(c, &c->w[i], now);
        read_monitor(c, &c->w[i], now);
    }
    bool config_due = now - c->config_at >= CONFIG_CHECK_MS;
    if (!config_due && now - c->tick_at < TICK_MS)
        return;
    c->tick_at = now;
    MDB_txn *txn;
    if (begin(c, true, &txn) != 0)
        return;
    if (config_due) {
        c->config_at = now;
        uint64_t gen = zb_astore_witness_gen(zb_agg_store(c->agg), txn);
        if (!c->loaded || gen != c->gen) {
            c->gen = gen;
            c->loaded = true;
            load_config(c, txn);
        }
    }
    /* the heads are read (and their signatures checked) only when some
     * witness could be sent one: not on every tick while all wait (a
     * witness with a bad endpoint waits for ever: retry_at INT64_MAX) */
    bool any_due = false;
    for (size_t i = 0; i < c->n && !any_due; i++) {
        const witness *w = &c->w[i];
        any_due = w->in_flight ? timed_out(w, now) : now >= w->retry_at;
    }
    Zb__SignedTreeHead *sth = NULL;
    zb_tree_head head = {0};
    if (!any_due || zb_tlog_latest_head(zb_agg_tlog(c->agg), txn, &sth) != 0 ||
        zb_tree_head_verify(sth, c->agg_pk, &head) != 0) {
        if (sth)
            zb__signed_tree_head__free_unpacked(sth, NULL);
        mdb_txn_abort(txn);
        return;
    }
    /* the newest head some witness already cosigned: a witness behind it
     * is sent that one rather than the newest, so that several witnesses
     * come to cosign the same head (a node's quorum of K needs K
     * cosignatures on one head) even while new heads keep coming */
    Zb__SignedTreeHead *lead = NULL;
    zb_tree_head lead_head = {0};
    if (c->n > 1 && zb_tlog_witnessed_head(zb_agg_tlog(c->agg), txn, head.size, &lead) == 0 &&
        zb_tree_head_verify(lead, c->agg_pk, &lead_head) != 0) {
        zb__signed_tree_head__free_unpacked(lead, NULL);
        lead = NULL;
    }
    for (size_t i = 0; i < c->n; i++) {
        witness *w = &c->w[i];
        if (w->in_flight && timed_out(w, now)) {
            /* no answer: a fresh socket, so a late answer is not taken
             * for the next request's */
            ZB_DEBUG("ZB-AGG-WITNESS", "witness %.16s... did not answer in %d s: asking again",
                     w->hex, ZB_WITCLI_TIMEOUT_MS / 1000);
            close_socket(w);
            if (open_socket(c, w) != 0)
                w->retry_at = now + ZB_WITCLI_RETRY_MS;
        }
        if (!w->sock && w->retry_at != INT64_MAX && now >= w->retry_at &&
            open_socket(c, w) != 0) /* a socket lost after a timeout: try again later */
            w->retry_at = now + ZB_WITCLI_RETRY_MS;
        if (w->in_flight || !w->sock || now < w->retry_at)
            continue;
        if (w->size > head.size && w->ahead_logged != w->size) {
            w->ahead_logged = w->size;
            ZB_ERR("ZB-AGG-WITNESS-AHEAD",
                   "witness %.16s... cosigned a head of size %" PRIu64 " of this aggregator's "
                   "key, larger than this store's log (%" PRIu64 "): this store was rolled back "
                   "or is a copy; nothing is sent to it until the log is larger",
                   w->hex, w->size, head.size);
        }
        if (head.size <= w->size)
            continue; /* cosigned already, or it is ahead of us */
        const Zb__SignedTreeHead *target = sth;
        const zb_tree_head *th = &head;
        /* a witness that refused this log once is sent only the newest
         * heads (each once), never the lead: it holds another history, and
         * alternating the two would resend refused heads forever */
        if (lead && !w->refused && lead_head.size > w->size && lead_head.size < head.size) {
            target = lead;
            th = &lead_head;
        }
        if (w->refused && w->refused_head.size == th->size &&
            memcmp(w->refused_head.root, th->root, ZB_HASH_LEN) == 0)
            continue;
        send_head(c, w, txn, target, th, now);
    }
    if (lead)
        zb__signed_tree_head__free_unpacked(lead, NULL);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    mdb_txn_abort(txn);
}

/* ---- the list */

/* One change of the list: add or re-point key (endpoint set), or remove
 * it (endpoint NULL). Run by zb_store_write: redone from scratch when the
 * map was grown. */
typedef struct {
    zb_agg *agg;
    const uint8_t *key;
    const char *endpoint;
    bool found;
    size_t count;
} change_ctx;

static int find_one(void *ctx, const uint8_t key[ZB_PK_LEN], const char *endpoint, int64_t added_at)
{
    (void)endpoint;
    (void)added_at;
    change_ctx *f = ctx;
    f->count++;
    if (memcmp(key, f->key, ZB_PK_LEN) == 0)
        f->found = true;
    return 0;
}

static int change_one(void *ctx, MDB_txn *txn)
{
    change_ctx *f = ctx;
    zb_store *s = zb_agg_store(f->agg);
    f->found = false;
    f->count = 0;
    int rc = zb_astore_witnesses(s, txn, find_one, f);
    if (rc)
        return rc;
    if (!f->endpoint)
        return f->found ? zb_astore_witness_del(s, txn, f->key) : ZB_ENOTFOUND;
    if (!f->found && f->count >= ZB_WITNESS_MAX)
        return ZB_ETOOBIG;
    return zb_astore_witness_put(s, txn, f->key, f->endpoint, (int64_t)time(NULL));
}

static int change_list(zb_agg *a, const uint8_t key[ZB_PK_LEN], const char *endpoint, bool *was_new)
{
    change_ctx f = {a, key, endpoint, false, 0};
    int rc = zb_store_write(zb_agg_store(a), change_one, &f);
    *was_new = !f.found;
    return rc;
}

int zb_witcli_add(zb_agg *a, const uint8_t key[ZB_PK_LEN], const char *endpoint, bool *was_new)
{
    if (!endpoint[0] || strlen(endpoint) > ZB_WITNESS_ENDPOINT_MAX)
        return ZB_EINVAL;
    return change_list(a, key, endpoint, was_new);
}

int zb_witcli_remove(zb_agg *a, const uint8_t key[ZB_PK_LEN])
{
    bool unused;
    return change_list(a, key, NULL, &unused);
}

typedef struct {
    zb_agg *agg;
    MDB_txn *txn;
    json_t *rows;
} list_ctx;

static int list_one(void *ctx, const uint8_t key[ZB_PK_LEN], const char *endpoint, int64_t added_at)
{
    list_ctx *l = ctx;
    char hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(key, ZB_PK_LEN, hex);
    uint64_t size = 0;
    int64_t at = 0;
    int rc = zb_tlog_cosigned_by(zb_agg_tlog(l->agg), l->txn, key, &size, &at);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    json_t *row = json_object();
    if (!row || json_array_append_new(l->rows, row) ||
        json_object_set_new(row, "key", json_string(hex)) ||
        json_object_set_new(row, "endpoint", json_string(endpoint)) ||
        json_object_set_new(row, "added_at", zb_json_time(added_at)) ||
        json_object_set_new(row, "cosigned_size",
                            rc == 0 ? json_integer((json_int_t)size) : json_null()) ||
        json_object_set_new(row, "cosigned_at", rc == 0 ? zb_json_time(at) : json_null()))
        return ZB_ENOMEM;
    return 0;
}

int zb_witcli_list(zb_agg *a, json_t **out)
{
    *out = NULL;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    json_t *doc = json_object(), *rows = json_array();
    list_ctx l = {a, txn, rows};
    uint64_t log_size = 0, heads = 0, newest = 0;
    rc = doc && rows ? zb_astore_witnesses(zb_agg_store(a), txn, list_one, &l) : ZB_ENOMEM;
    if (rc == 0)
        rc = zb_tlog_size(zb_agg_tlog(a), txn, &log_size);
    if (rc == 0)
        rc = zb_tlog_witnessed_count(zb_agg_tlog(a), txn, &heads, &newest);
    mdb_txn_abort(txn);
    if (rc == 0 && (json_object_set_new(doc, "witnesses", rows) ||
                    json_object_set_new(doc, "log_size", json_integer((json_int_t)log_size)) ||
                    json_object_set_new(doc, "witnessed_size", json_integer((json_int_t)newest)) ||
                    json_object_set_new(doc, "witnessed_heads", json_integer((json_int_t)heads))))
        rc = ZB_ENOMEM;
    else if (rc)
        json_decref(rows);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return ZB_OK;
}
