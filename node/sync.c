/* sync.c - see sync.h. */
#include "sync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "wire.h"
#include "zmqmon.h"

volatile sig_atomic_t zb_sync_stop = 0;

/* Timings, in milliseconds. */
#define HELLO_RETRY_MIN_MS 250
#define HELLO_RETRY_MAX_MS 30000
#define STALL_MS 5000          /* no answer while reports are in flight: resync */
/* all acknowledged: how often to look whether every report also has its
 * receipt, and how quiet the link must be before asking for the missing
 * ones (a new Hello): a --once run ends as soon as they are in */
#define RECEIPT_CHECK_MS 100
/* With a witness quorum (node.h), receipts whose tree head no witness has
 * cosigned yet: ask again (a new Hello brings the newest witnessed head)
 * every WITNESS_ASK_MS, at most WITNESS_ASKS_ONCE times in a --once run
 * (witnesses answer within a second; a witness that is down must not hold
 * a clerk's sync for long), every WITNESS_ASK_DAEMON_MS in a daemon. */
#define WITNESS_ASK_MS 1000
#define WITNESS_ASKS_ONCE 5
#define WITNESS_ASK_DAEMON_MS 30000
#define IDLE_POLL_MS 1         /* how often to look for new reports: an urgent accident
                                  report leaves within a millisecond of its submit (one
                                  LMDB read transaction per poll costs microseconds) */
#define HEARTBEAT_IVL_MS 2000
#define HEARTBEAT_TIMEOUT_MS 6000
#define DENIED_FINAL_MS 2000   /* --once gives up when the key is refused this long */
#define DENIED_RETRY_MS 400    /* --once: try a refused handshake again after this */
/* The aggregator does not hold the key given at init: it cannot open our
 * CURVE HELLO and drops the connection, which ZeroMQ reconnects (100 ms,
 * doubling to 5 s). Taken as a key mismatch after this many failed
 * handshakes in a row with none succeeding; --once gives up when it has
 * lasted DENIED_FINAL_MS; a daemon logs it again every KEY_LOG_MS. */
#define KEY_FAILS_MIN 3
#define KEY_LOG_MS 60000
/* SERVER_ERROR refusals come every Hello cycle (about 0.5 s) while the
 * aggregator's store fails: logged at the first, then at most this often */
#define SERVER_ERROR_LOG_MS 60000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    zb_node *node;
    const zb_sync_opts *opts;
    const char *endpoint;  /* borrowed from opts or from status */
    void *zctx;
    void *sock;
    void *mon;             /* handshake monitor (PAIR), NULL when unavailable */
    char county[16];
    uint8_t node_key[ZB_PK_LEN];
    bool streaming;        /* a Welcome was received for the current session */
    uint64_t stored;       /* last_seq in the local store */
    uint64_t acked;        /* highest seq the aggregator acknowledged */
    uint64_t next;         /* next seq to send */
    uint64_t credit;       /* max reports in flight (window * max_batch) */
    uint32_t max_batch;
    int64_t last_heard;    /* ms */
    int64_t hello_due;     /* ms */
    int hello_backoff_ms;
    int64_t deadline;      /* ms: with opts->once, give up then */
    int64_t last_refresh;  /* ms: last look at the store's last_seq */
    int64_t last_receipt_check; /* ms */
    /* asking again for missing receipts: the interval doubles (up to
     * HELLO_RETRY_MAX_MS) while a Hello brings no new one, so a receipt the
     * aggregator cannot give does not turn into a Hello every 100 ms */
    int64_t receipt_ask_ms;
    uint64_t receipt_asked_at; /* receipted seq when we last asked */
    int64_t denied_since;  /* ms: first refused handshake of a run of them (0: none) */
    int64_t reconnect_at;  /* ms: reconnect after a refused handshake (0: not due) */
    int64_t key_fail_since; /* ms: first failed handshake of a run of them (0: none) */
    int key_fails;          /* failed handshakes in that run */
    int64_t key_logged_at;  /* ms: last ZB-SYNC-PEERKEY line (0: none in this run) */
    uint64_t down_last;     /* highest downstream number the aggregator said it holds */
    uint64_t server_errors; /* SERVER_ERROR refusals in this run */
    uint64_t shown_acked, shown_stored; /* what opts->progress was last told */
    bool shown;
    int64_t server_error_logged_at; /* ms: last line about them (0: none) */
    int64_t witness_asked_at; /* ms: last Hello asking for cosignatures (0: none) */
    int witness_asks;         /* how many in this run */
} sync_state;

static int jitter(int ms)
{
    /* +-25 %: many counties reconnecting after one outage must not do so in lockstep */
    return ms - ms / 4 + (int)(random() % (ms / 2 + 1));
}

static void schedule_hello(sync_state *s, int64_t now, bool backoff)
{
    s->streaming = false;
    if (backoff) {
        s->hello_backoff_ms *= 2;
        if (s->hello_backoff_ms > HELLO_RETRY_MAX_MS)
            s->hello_backoff_ms = HELLO_RETRY_MAX_MS;
    }
    s->hello_due = now + jitter(s->hello_backoff_ms);
}

static int send_hello(sync_state *s)
{
    Zb__Hello h = ZB__HELLO__INIT;
    h.protocol = ZB_PROTOCOL_VERSION;
    h.county = s->county;
    h.node_key = (ProtobufCBinaryData){ZB_PK_LEN, s->node_key};
    zb_node_status st;
    if (zb_node_get_status(s->node, &st) == 0) {
        h.has_receipted_seq = 1;
        h.receipted_seq = st.receipts;
        h.has_tree_size = 1;
        h.tree_size = st.tree_size;
        h.has_inbox_number = 1;
        h.inbox_number = st.inbox;
        uint32_t quorum = zb_node_witness_quorum(s->node);
        if (quorum) {
            h.has_witness_quorum = 1;
            h.witness_quorum = quorum;
        }
    }
    Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
    m.msg_case = ZB__SYNC_MSG__MSG_HELLO;
    m.hello = &h;
    return zb_wire_send(s->sock, NULL, 0, &m);
}

static int refresh_stored(sync_state *s)
{
    zb_node_status st;
    int rc = zb_node_get_status(s->node, &st);
    if (rc)
        return rc;
    s->stored = st.stored;
    return ZB_OK;
}

/* Store a Deliver's messages (verified first), then say what we hold. */
static int take_delivery(sync_state *s, const Zb__Deliver *d)
{
    if (d->last > s->down_last)
        s->down_last = d->last;
    uint64_t held = 0;
    int rc = zb_node_store_downstream(s->node, d->messages, d->n_messages, &held);
    if (rc) {
        /* not acknowledged: the aggregator sends them again */
        ZB_ERR("ZB-SYNC-INBOX", "county %s: cannot store the prefecture's messages: %s",
               s->county, zb_strerror(rc));
        return rc == ZB_ENOMEM ? rc : ZB_OK;
    }
    Zb__DeliverAck da = ZB__DELIVER_ACK__INIT;
    da.county = s->county;
    da.number = held;
    Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
    m.msg_case = ZB__SYNC_MSG__MSG_DELIVER_ACK;
    m.deliver_ack = &da;
    rc = zb_wire_send(s->sock, NULL, 0, &m);
    return rc == ZB_ETIMEOUT ? ZB_OK : rc; /* lost: resent after a while, or at the next Hello */
}

/* The envelopes of one batch, collected by zb_node_each_report. */
typedef struct {
    Zb__Envelope **envs;
    size_t n;
    uint64_t first, count;
    size_t bytes; /* packed envelopes so far, with framing */
} batch_fill;

#define BATCH_FULL 1 /* fill_batch's "stop: the batch is full" */

static int fill_batch(void *ctx, const zb_node_report *r)
{
    batch_fill *b = ctx;
    if (r->seq != b->first + b->n)
        return ZB_ENOTFOUND; /* a hole in the store */
    /* unpacking copies: the envelopes outlive the walk's transaction */
    if (b->n > 0 && b->bytes + r->envelope_len + 16 > ZB_BATCH_BYTES_MAX)
        return BATCH_FULL; /* large envelopes (relay reports): fewer per frame */
    b->envs[b->n] = zb__envelope__unpack(NULL, r->envelope_len, r->envelope);
    if (!b->envs[b->n])
        return ZB_EDECODE;
    b->bytes += r->envelope_len + 16;
    return ++b->n < b->count ? 0 : BATCH_FULL;
}

/* Send batches while credit allows. */
static int pump(sync_state *s)
{
    while (s->streaming && s->next <= s->stored && s->next - 1 - s->acked < s->credit) {
        uint64_t room = s->credit - (s->next - 1 - s->acked);
        uint64_t count = s->stored - s->next + 1;
        if (count > s->max_batch)
            count = s->max_batch;
        if (count > room)
            count = room;
        zb_node_status st;
        int rc = zb_node_get_status(s->node, &st);
        if (rc)
            return rc;
        batch_fill b = {.envs = calloc(count, sizeof *b.envs), .first = s->next, .count = count};
        rc = b.envs ? zb_node_each_report(s->node, s->next, 0, fill_batch, &b) : ZB_ENOMEM;
        if (rc == BATCH_FULL)
            rc = ZB_OK;
        else if (rc == 0)
            rc = ZB_ENOTFOUND; /* fewer stored than last_seq says */
        size_t n = b.n;
        if (rc == 0) {
            Zb__Batch batch = ZB__BATCH__INIT;
            batch.county = s->county;
            batch.has_tree_size = 1;
            batch.tree_size = st.tree_size;
            batch.n_envelopes = n;
            batch.envelopes = b.envs;
            Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
            m.msg_case = ZB__SYNC_MSG__MSG_BATCH;
            m.batch = &batch;
            rc = zb_wire_send(s->sock, NULL, 0, &m);
        }
        for (size_t i = 0; i < n; i++)
            zb__envelope__free_unpacked(b.envs[i], NULL);
        free(b.envs);
        if (rc == ZB_ETIMEOUT)
            return ZB_OK; /* send buffer full or link down: try again later */
        if (rc) {
            ZB_ERR("ZB-SYNC-READ", "county %s: cannot send from seq %" PRIu64 ": %s", s->county,
                   s->next, zb_strerror(rc));
            return rc;
        }
        ZB_DEBUG("ZB-SYNC-SEND", "county %s: sent seq %" PRIu64 "..%" PRIu64, s->county, s->next,
                 s->next + n - 1);
        s->next += n;
    }
    return ZB_OK;
}

/* Handle one message; returns ZB_E* only for fatal conditions. */
static int handle(sync_state *s, const Zb__SyncMsg *m, int64_t now)
{
    s->last_heard = now;
    switch (m->msg_case) {
    case ZB__SYNC_MSG__MSG_WELCOME: {
        const Zb__Welcome *w = m->welcome;
        if (strcmp(w->county, s->county) != 0)
            return ZB_OK;
        s->hello_backoff_ms = HELLO_RETRY_MIN_MS;
        uint64_t agg = w->acked_seq;
        if (agg > s->stored) {
            ZB_ERR("ZB-SYNC-AHEAD",
                   "county %s: aggregator holds seq %" PRIu64 " but this node stored only %" PRIu64
                   " (node store replaced?)",
                   s->county, agg, s->stored);
            agg = s->stored;
        }
        if (agg < s->acked)
            ZB_WARN("ZB-SYNC-BEHIND",
                    "county %s: aggregator acknowledges only up to %" PRIu64
                    " (we had %" PRIu64 " acknowledged): resending",
                    s->county, agg, s->acked);
        int rc = zb_node_record_ack(s->node, agg, w->receipts, w->n_receipts, w->tree_head,
                                    w->consistency);
        if (rc)
            return rc;
        /* what witnesses cosigned, against the head just accepted */
        if ((rc = zb_node_take_witnessed(s->node, w->tree_head, w->witnessed,
                                         w->witnessed_consistency)))
            return rc;
        /* the county's key events, against the head just accepted (or
         * not trusted at all) */
        if ((rc = zb_node_take_key_events(s->node, w->tree_head, w->key_events,
                                          w->n_key_events)))
            return rc;
        zb_node_keys keys;
        if (zb_node_key_status(s->node, &keys) == 0 && keys.state == ZB_NODE_KEY_REVOKED) {
            /* admitted only to learn it: every batch would be refused */
            ZB_ERR("ZB-SYNC-DENIED", "county %s: the prefecture's log revokes this node's key "
                   "(log index %" PRIu64 ", %s): this node can no longer file reports",
                   s->county, keys.revocation.log_index,
                   keys.revocation.consented ? "consented" : "not consented");
            if (s->opts->once)
                return ZB_ENOTENROLLED;
            /* a daemon asks again now and then: only a new enrolment of
             * this key in the log would change it */
            s->hello_backoff_ms = HELLO_RETRY_MAX_MS;
            schedule_hello(s, now, false);
            return ZB_OK;
        }
        s->acked = agg;
        s->next = agg + 1;
        s->down_last = w->has_downstream_last ? w->downstream_last : 0;
        zb_node_status ns;
        if (w->has_downstream_last && zb_node_get_status(s->node, &ns) == 0 &&
            ns.inbox > s->down_last)
            ZB_ERR("ZB-SYNC-AHEAD", "county %s: the aggregator says it holds %" PRIu64
                   " message(s) for this county, this node stored %" PRIu64 " from it "
                   "(aggregator restored from a backup?)", s->county, s->down_last, ns.inbox);
        s->max_batch = w->max_batch ? w->max_batch : 1;
        if (s->max_batch > ZB_BATCH_MAX_ENVELOPES)
            s->max_batch = ZB_BATCH_MAX_ENVELOPES;
        uint64_t window = w->window ? w->window : 1;
        s->credit = window * s->max_batch;
        s->streaming = true;
        ZB_INFO("ZB-SYNC-WELCOME", "county %s: aggregator has up to seq %" PRIu64 ", %" PRIu64
                " stored here", s->county, agg, s->stored);
        return ZB_OK;
    }
    case ZB__SYNC_MSG__MSG_ACK: {
        const Zb__Ack *a = m->ack;
        if (strcmp(a->county, s->county) != 0)
            return ZB_OK;
        int rc = zb_node_record_ack(s->node, a->acked_seq, a->receipts, a->n_receipts, NULL,
                                    a->consistency);
        if (rc)
            return rc;
        if (a->acked_seq > s->acked && a->acked_seq <= s->stored)
            s->acked = a->acked_seq;
        if (s->next <= s->acked)
            s->next = s->acked + 1;
        return ZB_OK;
    }
    case ZB__SYNC_MSG__MSG_DELIVER:
        if (strcmp(m->deliver->county, s->county) != 0)
            return ZB_OK;
        return take_delivery(s, m->deliver);
    case ZB__SYNC_MSG__MSG_REFUSAL: {
        const Zb__Refusal *r = m->refusal;
        if (r->code == ZB__ERROR_CODE__SEQ_GAP) {
            /* expected after a reconnect: what was in flight was lost */
            ZB_INFO("ZB-SYNC-GAP", "county %s: %s: resyncing", s->county, r->reason);
            schedule_hello(s, now, false);
            return ZB_OK;
        }
        if (r->code == ZB__ERROR_CODE__SERVER_ERROR) {
            /* the prefecture's commit failed (its disk is full, say):
             * nothing was stored there; our reports wait here, safe */
            s->server_errors++;
            if (s->opts->stats)
                s->opts->stats->server_errors = s->server_errors;
            if (!s->server_error_logged_at ||
                now - s->server_error_logged_at >= SERVER_ERROR_LOG_MS) {
                s->server_error_logged_at = now;
                ZB_WARN("ZB-SYNC-REFUSED",
                        "county %s: the aggregator's store failed (SERVER_ERROR): it will be "
                        "retried (%" PRIu64 " time(s) in this run)",
                        s->county, s->server_errors);
            }
            int cr = zb_node_count_server_error(s->node);
            if (cr)
                ZB_WARN("ZB-NODE-STORE", "county %s: cannot count the refusal in this node's "
                        "store: %s", s->county, zb_strerror(cr));
            schedule_hello(s, now, true);
            return ZB_OK;
        }
        ZB_ERR("ZB-SYNC-REFUSED", "county %s: aggregator refused seq %" PRIu64 ": %s (code %d)",
               s->county, r->seq, r->reason, (int)r->code);
        switch (r->code) {
        case ZB__ERROR_CODE__NOT_ENROLLED: return ZB_ENOTENROLLED;
        case ZB__ERROR_CODE__BAD_SIGNATURE: return ZB_EBADSIG;
        case ZB__ERROR_CODE__BAD_CHAIN: return ZB_ECHAIN;
        case ZB__ERROR_CODE__EQUIVOCATION: return ZB_EEQUIVOCATION;
        case ZB__ERROR_CODE__INVALID_REPORT: return ZB_EVALIDATION;
        default: schedule_hello(s, now, true); return ZB_OK;
        }
    }
    default: return ZB_OK; /* not for a node: ignore */
    }
}

/* Create the DEALER socket (CurveZMQ keys, heartbeats, a handshake
 * monitor) and connect it. s is filled from st; on failure what was
 * created stays in s for sync_teardown. */
static int sync_setup(sync_state *s, zb_node *n, const zb_sync_opts *opts,
                      const zb_node_status *st)
{
    *s = (sync_state){.node = n, .opts = opts, .stored = st->stored, .acked = st->acked,
                      .next = st->acked + 1, .hello_backoff_ms = HELLO_RETRY_MIN_MS,
                      .max_batch = 1, .credit = 1};
    s->endpoint = opts->endpoint ? opts->endpoint : st->endpoint;
    snprintf(s->county, sizeof s->county, "%s", st->county);
    memcpy(s->node_key, st->node_key, ZB_PK_LEN);
    srandom((unsigned)(now_ms() ^ (int64_t)getpid()));

    s->zctx = zmq_ctx_new();
    s->sock = s->zctx ? zmq_socket(s->zctx, ZMQ_DEALER) : NULL;
    if (!s->sock) {
        ZB_ERR("ZB-SYNC-ZMQ", "cannot create socket: %s", zmq_strerror(errno));
        return ZB_ENET;
    }
    int zero = 0, one = 1, hb_ivl = HEARTBEAT_IVL_MS, hb_to = HEARTBEAT_TIMEOUT_MS;
    int rivl = 100, rmax = 5000;
    int64_t maxmsg = ZB_FRAME_MAX;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    /* queue nothing for a peer that is not connected: a report is in
     * flight only when the aggregator can see it */
    zmq_setsockopt(s->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to);
    zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL, &rivl, sizeof rivl);
    zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL_MAX, &rmax, sizeof rmax);
    zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    /* CurveZMQ: the link is encrypted and both ends authenticated with the
     * X25519 forms of the Ed25519 keys exchanged at enrolment */
    const zb_identity *id = zb_node_identity(n);
    uint8_t server_pk[32], my_pk[32], my_sk[32];
    if (!id || crypto_sign_ed25519_pk_to_curve25519(server_pk, zb_node_aggregator_key(n)) != 0 ||
        crypto_sign_ed25519_pk_to_curve25519(my_pk, id->pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(my_sk, id->sk) != 0) {
        ZB_ERR("ZB-SYNC-CURVE", "cannot derive CurveZMQ keys");
        return ZB_ECONFIG;
    }
    zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, server_pk, sizeof server_pk);
    zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, my_pk, sizeof my_pk);
    zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, my_sk, sizeof my_sk);
    sodium_memzero(my_sk, sizeof my_sk);
    /* watch the handshake: an aggregator that refuses our key (not
     * enrolled, or revoked), or that holds another key than the one given
     * at init, looks like silence on the data socket */
    char mon_ep[64];
    snprintf(mon_ep, sizeof mon_ep, "inproc://zb-sync-monitor-%p", (void *)s);
    if (zmq_socket_monitor(s->sock, mon_ep,
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) == 0) {
        s->mon = zmq_socket(s->zctx, ZMQ_PAIR);
        if (s->mon && zmq_connect(s->mon, mon_ep) != 0) {
            zmq_close(s->mon);
            s->mon = NULL;
        }
    }
    if (zmq_connect(s->sock, s->endpoint) != 0) {
        ZB_ERR("ZB-SYNC-CONNECT", "cannot connect to %s: %s", s->endpoint, zmq_strerror(errno));
        return ZB_ENET;
    }
    ZB_INFO("ZB-SYNC-START", "county %s: syncing with %s (%" PRIu64 " stored, %" PRIu64
            " acknowledged)", s->county, s->endpoint, s->stored, s->acked);
    int64_t start = now_ms();
    s->deadline = start + (int64_t)((opts->timeout_s > 0 ? opts->timeout_s : 30) * 1000);
    s->hello_due = start;
    return ZB_OK;
}

/* Close what sync_setup created (any part of it). */
static void sync_teardown(sync_state *s)
{
    if (s->mon)
        zmq_close(s->mon);
    if (s->sock) {
        /* a moment for what was just queued (the last DeliverAck of a
         * --once run) to leave; nothing depends on it: lost, it is
         * replaced by the next Hello's inbox_number */
        int linger = 200;
        zmq_setsockopt(s->sock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(s->sock);
    }
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    s->mon = s->sock = s->zctx = NULL;
}

/* The timers of one tick, before waiting: new reports, completion, the
 * deadline, Hello, a stalled link; then send what credit allows. Returns
 * false when the run is over, with its result in *result. */
static bool sync_before_wait(sync_state *s, int64_t now, int *result)
{
    const zb_sync_opts *opts = s->opts;
    int rc;
    if (now - s->last_refresh >= IDLE_POLL_MS) {
        if ((rc = refresh_stored(s))) {
            *result = rc;
            return false;
        }
        s->last_refresh = now;
    }
    /* everything acknowledged: done once every report also has its
     * receipt; receipts deferred or lost come back after a new Hello */
    if (s->streaming && s->acked >= s->stored && now - s->last_receipt_check >= RECEIPT_CHECK_MS) {
        s->last_receipt_check = now;
        /* one read of the store: receipts, and the prefecture's messages */
        zb_node_status st;
        if (zb_node_get_status(s->node, &st) != 0)
            st.receipts = st.inbox = 0;
        uint64_t have = st.receipts;
        bool wpending = false;
        if (have >= s->stored && zb_node_witness_pending(s->node, &wpending) == 0 && wpending &&
            (!opts->once || s->witness_asks < WITNESS_ASKS_ONCE)) {
            /* every receipt is in, not every one witnessed yet */
            if (now - s->witness_asked_at >=
                (opts->once ? WITNESS_ASK_MS : WITNESS_ASK_DAEMON_MS)) {
                s->witness_asked_at = now;
                s->witness_asks++;
                schedule_hello(s, now, false);
                s->hello_due = now;
            }
        } else if (have >= s->stored) {
            /* done once every message the aggregator said it holds is here too */
            if (opts->once && st.inbox >= s->down_last) {
                *result = ZB_SYNC_DONE;
                return false;
            }
        } else if (now - s->last_heard > (s->receipt_ask_ms ? s->receipt_ask_ms
                                                             : RECEIPT_CHECK_MS)) {
            s->receipt_ask_ms = have > s->receipt_asked_at || !s->receipt_ask_ms
                                    ? RECEIPT_CHECK_MS
                                    : (s->receipt_ask_ms * 2 > HELLO_RETRY_MAX_MS
                                           ? HELLO_RETRY_MAX_MS
                                           : s->receipt_ask_ms * 2);
            s->receipt_asked_at = have;
            schedule_hello(s, now, false);
            s->hello_due = now;
        }
    }
    if (opts->once && now >= s->deadline) {
        if (s->stored > s->acked)
            ZB_WARN("ZB-SYNC-TIMEOUT", "county %s: %" PRIu64 " report(s) not acknowledged",
                    s->county, s->stored - s->acked);
        else
            ZB_WARN("ZB-SYNC-TIMEOUT", "county %s: the prefecture's messages could not all be "
                    "fetched", s->county);
        *result = ZB_SYNC_PENDING;
        return false;
    }
    if (!s->streaming && now >= s->hello_due) {
        int hr = send_hello(s);
        if (hr != 0 && hr != ZB_ETIMEOUT) {
            *result = hr;
            return false;
        }
        /* no answer by the next due time: try again, backing off */
        schedule_hello(s, now, true);
    }
    if (s->streaming && s->next - 1 > s->acked && now - s->last_heard > STALL_MS) {
        ZB_WARN("ZB-SYNC-STALL", "county %s: no answer for %d ms with %" PRIu64
                " in flight: resyncing", s->county, STALL_MS, s->next - 1 - s->acked);
        s->hello_backoff_ms = HELLO_RETRY_MIN_MS;
        schedule_hello(s, now, false);
    }
    if (s->streaming && (rc = pump(s))) {
        *result = rc;
        return false;
    }
    return true;
}

/* A handshake event from the monitor (0: none, just the timers), with
 * its value, at time t (ms): a refused key is retried (ZeroMQ does not),
 * and final for --once once it lasts; so is an aggregator that holds
 * another key. Returns false when the run is over, with its result in
 * *result. */
static bool sync_handshake(sync_state *s, int event, uint32_t value, int64_t t, int *result)
{
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
        (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
         value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)) {
        /* the TCP connection was up but the CURVE handshake failed: an
         * aggregator holding another key cannot open our HELLO and drops
         * the connection without a word (no ZAP answer, unlike a refused
         * node key); one failure alone may be a restart mid-handshake */
        if (!s->key_fail_since)
            s->key_fail_since = t;
        s->key_fails++;
        ZB_DEBUG("ZB-SYNC-HANDSHAKE", "county %s: CURVE handshake with %s failed (event 0x%x, "
                 "value 0x%x)", s->county, s->endpoint, (unsigned)event, (unsigned)value);
        if (s->key_fails >= KEY_FAILS_MIN &&
            (!s->key_logged_at || t - s->key_logged_at >= KEY_LOG_MS)) {
            s->key_logged_at = t;
            ZB_ERR("ZB-SYNC-PEERKEY", "county %s: the aggregator at %s does not hold the key given "
                   "at init (--aggregator-key): check it (%d CURVE handshakes failed)",
                   s->county, s->endpoint, s->key_fails);
        }
        if (!s->opts->once && s->key_fails >= KEY_FAILS_MIN && !s->reconnect_at) {
            /* ZeroMQ would try again every 100 ms: a daemon waits as
             * after a refused key, then tries once more */
            zmq_disconnect(s->sock, s->endpoint);
            s->reconnect_at = t + jitter(HELLO_RETRY_MAX_MS);
        }
    } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        ZB_WARN("ZB-SYNC-HANDSHAKE", "county %s: handshake with %s failed (ZMTP protocol error "
                "0x%x): is a zhibao aggregator listening there?", s->county, s->endpoint,
                (unsigned)value);
    }
    if (s->opts->once && s->key_fail_since && s->key_fails >= KEY_FAILS_MIN &&
        t - s->key_fail_since >= DENIED_FINAL_MS) {
        *result = ZB_EPEERKEY;
        return false;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        s->key_fail_since = 0;
        s->key_fails = 0;
        s->key_logged_at = 0;
        s->denied_since = 0;
        /* the link is up: say Hello now, not at the next backoff step (a
         * Hello sent before the handshake was refused by ZMQ_IMMEDIATE);
         * also after a reconnect while streaming: a restarted aggregator
         * knows nothing of this session (what was in flight is resent,
         * and it learns where to deliver the prefecture's messages) */
        schedule_hello(s, t, false);
        s->hello_due = t;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        /* ZeroMQ does not retry a refused handshake: we do, because a
         * key enrolled a moment ago may not be admitted yet; only a
         * refusal that lasts is final */
        if (!s->denied_since)
            s->denied_since = t;
        ZB_WARN("ZB-SYNC-DENIED", "county %s: the aggregator refused this node's key "
                "(not enrolled, or revoked): ask the prefecture to enroll it", s->county);
        s->reconnect_at = t + (s->opts->once ? DENIED_RETRY_MS : jitter(HELLO_RETRY_MAX_MS));
    }
    if (s->opts->once && s->denied_since && t - s->denied_since >= DENIED_FINAL_MS) {
        *result = ZB_ENOTENROLLED;
        return false;
    }
    if (s->reconnect_at && t >= s->reconnect_at) {
        s->reconnect_at = 0;
        zmq_disconnect(s->sock, s->endpoint);
        zmq_connect(s->sock, s->endpoint);
        schedule_hello(s, t, false);
    }
    return true;
}

/* Handle every message that has arrived. 0, or the fatal ZB_E* of one. */
static int sync_drain(sync_state *s)
{
    for (;;) {
        zmq_msg_t zm;
        zmq_msg_init(&zm);
        if (zmq_msg_recv(&zm, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&zm);
            return ZB_OK;
        }
        Zb__SyncMsg *m;
        int ur = zb_wire_unpack(zmq_msg_data(&zm), zmq_msg_size(&zm), &m);
        zmq_msg_close(&zm);
        if (ur) {
            ZB_WARN("ZB-SYNC-BADMSG", "county %s: undecodable message from aggregator",
                    s->county);
            continue;
        }
        int hr = handle(s, m, now_ms());
        zb__sync_msg__free_unpacked(m, NULL);
        if (hr)
            return hr;
    }
}

/* Tell opts->progress when acknowledgements or new reports moved. */
static void report_progress(sync_state *s)
{
    if (!s->opts->progress ||
        (s->shown && s->acked == s->shown_acked && s->stored == s->shown_stored))
        return;
    s->shown = true;
    s->shown_acked = s->acked;
    s->shown_stored = s->stored;
    s->opts->progress(s->opts->progress_ctx, s->acked, s->stored);
}

/* One turn of the loop: timers and sending, a wait of at most
 * IDLE_POLL_MS for the socket or the monitor, then everything received.
 * Returns false when the run is over, with its result in *result. */
static bool sync_tick(sync_state *s, int *result)
{
    int64_t now = now_ms();
    if (zb_sync_stop) {
        *result = ZB_SYNC_DONE;
        return false;
    }
    if (!sync_before_wait(s, now, result))
        return false;
    int64_t wait = IDLE_POLL_MS;
    if (!s->streaming && s->hello_due - now < wait)
        wait = s->hello_due - now > 0 ? s->hello_due - now : 0;
    zmq_pollitem_t items[2] = {{s->sock, 0, ZMQ_POLLIN, 0}, {s->mon, 0, ZMQ_POLLIN, 0}};
    int pr = zmq_poll(items, s->mon ? 2 : 1, (long)wait);
    if (pr < 0) {
        if (errno == EINTR)
            return true;
        *result = ZB_ENET;
        return false;
    }
    if (s->mon && (items[1].revents & ZMQ_POLLIN)) {
        uint32_t value;
        for (int event; (event = zb_zmq_monitor_event(s->mon, &value)) != 0;)
            if (!sync_handshake(s, event, value, now_ms(), result))
                return false;
    }
    if (!sync_handshake(s, 0, 0, now_ms(), result)) /* the timers */
        return false;
    int rc = sync_drain(s);
    if (rc) {
        *result = rc;
        return false;
    }
    report_progress(s);
    return true;
}

int zb_sync_run(zb_node *n, const zb_sync_opts *opts)
{
    zb_node_status st;
    int rc = zb_node_get_status(n, &st);
    if (rc)
        return rc;
    const zb_identity *id = zb_node_identity(n);
    if (id && memcmp(id->pk, st.node_key, ZB_PK_LEN) != 0) {
        /* rotate-key ran between this process's open and its sync lock:
         * never go on with the key it replaced */
        ZB_ERR("ZB-NODE-KEY", "county %s: the node's key was rotated since this process "
               "opened it: run it again", st.county);
        return ZB_ECONFIG;
    }
    if (opts->once && st.acked == st.stored && st.receipts == st.stored)
        /* still said Hello: the prefecture may have messages for us */
        ZB_INFO("ZB-SYNC-NOTHING", "county %s: all %" PRIu64 " report(s) acknowledged and "
                "receipted: nothing to send; asking for the prefecture's messages", st.county,
                st.stored);
    sync_state s;
    rc = sync_setup(&s, n, opts, &st);
    if (rc == ZB_OK)
        while (sync_tick(&s, &rc))
            ;
    sync_teardown(&s);
    return rc;
}
