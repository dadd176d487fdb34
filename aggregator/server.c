/* server.c - see server.h. */
#include "server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "dispatch.h"
#include "err.h"
#include "log.h"
#include "merkle.h"
#include "cosig.h"
#include "tlog.h"
#include "witcli.h"
#include "zap.h"

#include <sodium.h>
#include "wire.h"

volatile sig_atomic_t zb_server_stop = 0;

#define ROUND_MAX_MSGS 256   /* messages applied per commit */
/* A round also ends after this many envelopes: one county's backlog must
 * not hold another county's urgent report for more than a short round.
 * The ROUTER fair-queues its peers, so small batches + a capped round serve
 * every connected county in every round. */
#define ROUND_MAX_ENVELOPES 512

#define ROUTING_ID_MAX 256

typedef struct {
    uint8_t id[ROUTING_ID_MAX];
    size_t id_len;
    Zb__SyncMsg *msg;
    uint64_t receipted_seq, tree_size; /* a Hello's, for its Welcome */
    uint64_t inbox_number;             /* a Hello's: downstream messages the node holds */
    uint32_t witness_quorum;           /* a Hello's: cosignatures its node needs on a head */
    bool downstream;                   /* a Hello's: the node takes downstream messages */
    uint8_t node_key[ZB_PK_LEN];       /* a Hello's: the enrolled key it spoke with */
    char user_id[ZB_ZAP_USER_ID_LEN];  /* what the ZAP handler authenticated:
                                          "CODE:" || hex(CURVE key) (zap.h) */
    bool revoked;                      /* a Hello's Welcome for a revoked key */
    int8_t *verdicts;                  /* a Batch's signature checks, done in parallel */
} inbound;

/* What one round did for one county: the range newly stored (for the
 * receipt) and where to send the Ack. */
typedef struct {
    zb_county_rec rec;
    uint8_t reply_to[ROUTING_ID_MAX];
    size_t reply_len;
    uint64_t first_new; /* 0: nothing new */
    uint8_t (*leaves)[ZB_HASH_LEN];
    uint64_t *log_index; /* parallel to leaves */
    size_t n_leaves, cap_leaves;
    uint64_t node_tree_size; /* newest tree head the node has verified (from its Batch) */
    bool dirty;
    bool had_batch; /* a county that only said hello needs no Ack */
} county_round;

/* The tree head last sent to a county in an Ack. A batch sent before the
 * node had read that Ack names an older head (or none); the next Ack's
 * consistency proof starts from the newer of the two, so the node can
 * check the new head at once instead of deferring its receipts. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    uint64_t size;
} sent_head;

/* A county's node that said Hello, for downstream delivery: where it is
 * and what it holds. One Deliver is in flight per county at a time. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    uint8_t id[ROUTING_ID_MAX];
    size_t id_len;
    uint64_t acked;     /* every number <= it is stored by the node */
    uint64_t sent_upto; /* highest number sent (> acked: a Deliver in flight) */
    int64_t sent_at;    /* ms, monotonic */
    uint8_t key[ZB_PK_LEN]; /* the key it said Hello with: delivered to while it is active */
    bool touched;       /* a Hello or DeliverAck in this round: deliver after it */
} live_county;

typedef struct {
    zb_agg *agg;
    zb_zap *zap;
    void *sock;
    live_county *live; /* across rounds */
    size_t n_live, cap_live;
    uint64_t down_gen; /* the store's down_gen at the last poll */
    uint64_t keys_gen; /* and its keys generation (enrol, revoke) */
    sent_head *sent; /* across rounds; one per county that was acknowledged */
    size_t n_sent, cap_sent;
    Zb__SignedTreeHead *head; /* signed in this round, NULL when the log did not grow */
    int64_t round_time;       /* the round's clock: its envelopes' receive time */
    uint64_t head_size;
    county_round *counties;
    size_t n_counties, cap_counties;
    /* refusals and welcomes are answered after the commit too */
    Zb__SyncMsg **replies;
    inbound *reply_to;
    size_t n_replies, cap_replies;
} round_state;

static int send_to(void *sock, const uint8_t *id, size_t id_len, const Zb__SyncMsg *m)
{
    int rc = zb_wire_send(sock, id, id_len, m);
    if (rc)
        ZB_DEBUG("ZB-AGG-SEND", "reply dropped: %s", zb_strerror(rc));
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every transaction of the server thread begins here: beginning one may
 * remap the LMDB map (a size another process set), which must not happen
 * while the ZAP handler reads the keys (zap.h). */
static int store_begin(zb_agg *a, zb_zap *zap, bool readonly, MDB_txn **txn)
{
    zb_zap_exclusive(zap, 1);
    int rc = zb_store_begin(zb_agg_store(a), readonly, txn);
    zb_zap_exclusive(zap, 0);
    return rc;
}

static county_round *round_county(round_state *rs, MDB_txn *txn, const char *county, int *err)
{
    for (size_t i = 0; i < rs->n_counties; i++)
        if (strcmp(rs->counties[i].rec.county, county) == 0)
            return &rs->counties[i];
    *err = 0;
    zb_county_rec rec;
    if (strlen(county) != ZB_COUNTY_LEN) {
        *err = ZB_ENOTFOUND;
        return NULL;
    }
    int rc = zb_agg_county_get(rs->agg, txn, county, &rec);
    if (rc) {
        *err = rc;
        return NULL;
    }
    if (rs->n_counties == rs->cap_counties) {
        size_t cap = rs->cap_counties ? rs->cap_counties * 2 : 16;
        county_round *c = realloc(rs->counties, cap * sizeof *c);
        if (!c) {
            *err = ZB_ENOMEM;
            return NULL;
        }
        rs->counties = c;
        rs->cap_counties = cap;
    }
    county_round *c = &rs->counties[rs->n_counties++];
    memset(c, 0, sizeof *c);
    c->rec = rec;
    return c;
}

/* Queue a message to be sent after the commit; takes ownership of m. */
static void queue_reply(round_state *rs, const inbound *to, Zb__SyncMsg *m)
{
    if (rs->n_replies == rs->cap_replies) {
        size_t cap = rs->cap_replies ? rs->cap_replies * 2 : 16;
        Zb__SyncMsg **r = realloc(rs->replies, cap * sizeof *r);
        inbound *t = r ? realloc(rs->reply_to, cap * sizeof *t) : NULL;
        if (r)
            rs->replies = r;
        if (!r || !t) {
            zb__sync_msg__free_unpacked(m, NULL);
            return;
        }
        rs->reply_to = t;
        rs->cap_replies = cap;
    }
    rs->replies[rs->n_replies] = m;
    rs->reply_to[rs->n_replies] = *to;
    rs->reply_to[rs->n_replies].msg = NULL; /* not owned here */
    rs->n_replies++;
}

/* Heap-built replies are freed with protobuf-c's free_unpacked, so every
 * part is malloc'd. */
static Zb__SyncMsg *make_refusal(const char *county, Zb__ErrorCode code, uint64_t seq,
                                 uint64_t acked, const char *reason)
{
    Zb__SyncMsg *m = malloc(sizeof *m);
    Zb__Refusal *r = malloc(sizeof *r);
    char *c = strdup(county ? county : ""), *why = strdup(reason);
    if (!m || !r || !c || !why) {
        free(m), free(r), free(c), free(why);
        return NULL;
    }
    zb__sync_msg__init(m);
    zb__refusal__init(r);
    r->county = c;
    r->code = code;
    r->seq = seq;
    r->acked_seq = acked;
    r->reason = why;
    m->msg_case = ZB__SYNC_MSG__MSG_REFUSAL;
    m->refusal = r;
    return m;
}

static Zb__SyncMsg *make_welcome(const zb_county_rec *rec)
{
    Zb__SyncMsg *m = malloc(sizeof *m);
    Zb__Welcome *w = malloc(sizeof *w);
    char *c = strdup(rec->county);
    if (!m || !w || !c) {
        free(m), free(w), free(c);
        return NULL;
    }
    zb__sync_msg__init(m);
    zb__welcome__init(w);
    w->county = c;
    w->acked_seq = rec->acked_seq;
    w->window = ZB_SERVER_WINDOW;
    w->max_batch = ZB_SERVER_MAX_BATCH;
    m->msg_case = ZB__SYNC_MSG__MSG_WELCOME;
    m->welcome = w;
    return m;
}

static void refuse(round_state *rs, MDB_txn *txn, const inbound *in, const char *county,
                   Zb__ErrorCode code, uint64_t seq, uint64_t acked, const char *reason)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(&zb__error_code__descriptor,
                                                                        (int)code);
    ZB_WARN("ZB-AGG-REFUSED", "county %.16s seq %" PRIu64 ": %s: %s", county ? county : "?", seq,
            ev ? ev->name : "?", reason);
    if (txn && (code == ZB__ERROR_CODE__BAD_MESSAGE || code == ZB__ERROR_CODE__NOT_ENROLLED ||
                code == ZB__ERROR_CODE__UNSUPPORTED))
        (void)zb_agg_count_refusal(rs->agg, txn, ev ? ev->name : "UNKNOWN");
    Zb__SyncMsg *m = make_refusal(county, code, seq, acked, reason);
    if (m)
        queue_reply(rs, in, m);
}

/* The connection's authenticated county must be the one it speaks for. */
static bool speaks_for(const inbound *in, const char *county)
{
    return strlen(county) == ZB_COUNTY_LEN && strncmp(in->user_id, county, ZB_COUNTY_LEN) == 0 &&
           in->user_id[ZB_COUNTY_LEN] == ':';
}

/* Whether the connection authenticated with the Ed25519 key's CURVE form. */
static bool authenticated_as(const inbound *in, const uint8_t key[ZB_PK_LEN])
{
    uint8_t x[32], have[32];
    return crypto_sign_ed25519_pk_to_curve25519(x, key) == 0 &&
           strlen(in->user_id) == ZB_ZAP_USER_ID_LEN - 1 &&
           zb_hex_decode(in->user_id + ZB_COUNTY_LEN + 1, have, sizeof have) == 0 &&
           sodium_memcmp(x, have, sizeof x) == 0;
}

/* Queue the Welcome answering Hello h (sent after the commit, with rec's
 * state): for the county's active key, a downstream session when the node
 * takes messages (a node of an earlier release sends no inbox_number and
 * refuses what it does not know); for a revoked key, none. */
static void queue_welcome(round_state *rs, const inbound *in, const Zb__Hello *h,
                          const zb_county_rec *rec, bool revoked)
{
    Zb__SyncMsg *m = make_welcome(rec);
    if (!m)
        return;
    inbound to = *in;
    to.receipted_seq = h->has_receipted_seq ? h->receipted_seq : 0;
    to.tree_size = h->has_tree_size ? h->tree_size : 0;
    to.inbox_number = h->has_inbox_number ? h->inbox_number : 0;
    to.witness_quorum = h->has_witness_quorum ? h->witness_quorum : 0;
    to.downstream = !revoked && h->has_inbox_number;
    to.revoked = revoked;
    memcpy(to.node_key, h->node_key.data, ZB_PK_LEN);
    queue_reply(rs, &to, m);
}

/* The epoch of a revoked key (found by the key its Hello names, which
 * must be a revoked key of the county). */
typedef struct {
    const uint8_t *key;
    zb_key_epoch found;
    bool ok;
} revoked_find;

static int find_revoked(void *ctx, const zb_key_epoch *e)
{
    revoked_find *f = ctx;
    if (memcmp(f->key, e->key, ZB_PK_LEN) == 0 && e->revoked_at != 0) {
        f->found = *e;
        f->ok = true;
        return 1;
    }
    return 0;
}

/* A revoked key's Hello: a Welcome that tells it -- its key events --
 * with the county's state as that key left it (acknowledged up to the
 * last seq it signed: what came after is another key's), no downstream
 * session; its batches are refused (the connection speaks for nobody). */
static int welcome_revoked(round_state *rs, MDB_txn *txn, const inbound *in, const Zb__Hello *h)
{
    zb_county_rec rec;
    int rc = zb_agg_county_get(rs->agg, txn, h->county, &rec);
    revoked_find f = {.key = h->node_key.len == ZB_PK_LEN ? h->node_key.data : NULL};
    if (rc == 0 && f.key)
        rc = zb_astore_key_history(zb_agg_store(rs->agg), txn, h->county, find_revoked, &f);
    if (rc < 0 && rc != ZB_ENOTFOUND)
        return rc;
    if (!f.ok) {
        refuse(rs, txn, in, h->county, ZB__ERROR_CODE__NOT_ENROLLED, 0, 0,
               "this key is not enrolled for this county");
        return ZB_OK;
    }
    ZB_INFO("ZB-AGG-REVOKED-HELLO", "county %s: hello from the key of epoch %u, revoked: "
            "welcomed to learn it", h->county, f.found.epoch);
    rec.acked_seq = f.found.last_seq;
    queue_welcome(rs, in, h, &rec, true);
    return ZB_OK;
}

static int apply_hello(round_state *rs, MDB_txn *txn, const inbound *in, const Zb__Hello *h)
{
    if (!speaks_for(in, h->county)) {
        refuse(rs, txn, in, h->county, ZB__ERROR_CODE__NOT_ENROLLED, 0, 0,
               "this connection is authenticated for another county");
        return ZB_OK;
    }
    if (h->protocol != ZB_PROTOCOL_VERSION) {
        refuse(rs, txn, in, h->county, ZB__ERROR_CODE__UNSUPPORTED, 0, 0,
               "unsupported protocol version");
        return ZB_OK;
    }
    int err;
    county_round *c = round_county(rs, txn, h->county, &err);
    if (!c && err != ZB_ENOTFOUND)
        return err;
    /* the Hello names the key the connection authenticated with (zap.h);
     * a revoked one is told its key events, nothing more */
    if (c && h->node_key.len == ZB_PK_LEN && authenticated_as(in, h->node_key.data) &&
        memcmp(h->node_key.data, c->rec.key, ZB_PK_LEN) != 0)
        return welcome_revoked(rs, txn, in, h);
    if (!c || h->node_key.len != ZB_PK_LEN || !authenticated_as(in, h->node_key.data) ||
        memcmp(h->node_key.data, c->rec.key, ZB_PK_LEN) != 0) {
        ZB_WARN("ZB-AGG-UNENROLLED", "hello from a key not enrolled for county %.16s", h->county);
        refuse(rs, txn, in, h->county, ZB__ERROR_CODE__NOT_ENROLLED, 0, 0,
               "this key is not enrolled for this county");
        return ZB_OK;
    }
    /* what the node holds of its messages is delivered */
    uint64_t inbox = h->has_inbox_number ? h->inbox_number : 0;
    int rc = zb_astore_down_delivered(zb_agg_store(rs->agg), txn, h->county, inbox,
                                      (int64_t)time(NULL));
    if (rc)
        return rc;
    /* answered after the commit, with the county's state as committed */
    memcpy(c->reply_to, in->id, in->id_len);
    c->reply_len = in->id_len;
    queue_welcome(rs, in, h, &c->rec, false);
    return ZB_OK;
}

static live_county *live_find(round_state *rs, const char *county)
{
    for (size_t i = 0; i < rs->n_live; i++)
        if (strcmp(rs->live[i].county, county) == 0)
            return &rs->live[i];
    return NULL;
}

/* The node of county is at routing id (a new Hello: a new session),
 * holding every message up to inbox. */
static void live_hello(round_state *rs, const char *county, const inbound *to)
{
    live_county *l = live_find(rs, county);
    if (!l) {
        if (rs->n_live == rs->cap_live) {
            size_t cap = rs->cap_live ? 2 * rs->cap_live : 16;
            live_county *p = realloc(rs->live, cap * sizeof *p);
            if (!p)
                return; /* delivered at the next Hello instead */
            rs->live = p;
            rs->cap_live = cap;
        }
        l = &rs->live[rs->n_live++];
    }
    memset(l, 0, sizeof *l);
    snprintf(l->county, sizeof l->county, "%s", county);
    memcpy(l->id, to->id, to->id_len);
    l->id_len = to->id_len;
    memcpy(l->key, to->node_key, ZB_PK_LEN);
    l->acked = l->sent_upto = to->inbox_number;
    l->touched = true;
}

/* Whether l's node still holds the county's active key (a revoke while it
 * is connected ends its deliveries: they wait for the replacement). */
static bool live_active(round_state *rs, MDB_txn *txn, const live_county *l)
{
    zb_county_rec rec;
    return zb_agg_county_get(rs->agg, txn, l->county, &rec) == 0 &&
           memcmp(rec.key, l->key, ZB_PK_LEN) == 0;
}

static void live_drop(round_state *rs, live_county *l)
{
    *l = rs->live[--rs->n_live];
}

/* A node says it stores every message up to number. */
static int apply_deliver_ack(round_state *rs, MDB_txn *txn, const inbound *in,
                             const Zb__DeliverAck *da)
{
    if (!speaks_for(in, da->county)) {
        refuse(rs, txn, in, da->county, ZB__ERROR_CODE__NOT_ENROLLED, 0, 0,
               "this connection is authenticated for another county");
        return ZB_OK;
    }
    /* counted only from the session its Welcome opened, with the key
     * still active: a revoked node's acknowledgement is not a delivery */
    live_county *l = live_find(rs, da->county);
    if (!l || l->id_len != in->id_len || memcmp(l->id, in->id, in->id_len) != 0 ||
        !live_active(rs, txn, l)) {
        if (l && !live_active(rs, txn, l))
            live_drop(rs, l);
        refuse(rs, txn, in, da->county, ZB__ERROR_CODE__NOT_ENROLLED, 0, 0,
               "no session of the county's active key on this connection: say Hello");
        return ZB_OK;
    }
    int rc = zb_astore_down_delivered(zb_agg_store(rs->agg), txn, da->county, da->number,
                                      (int64_t)time(NULL));
    if (rc)
        return rc;
    if (da->number > l->acked)
        l->acked = da->number;
    /* an Ack short of what was sent (the node refused a message) is
     * resent when ZB_DELIVER_RESEND_MS have passed, not at once */
    if (l->sent_upto < l->acked)
        l->sent_upto = l->acked;
    l->touched = true;
    return ZB_OK;
}

/* Collects the messages of one Deliver. */
typedef struct {
    Zb__SignedDownstream **msgs;
    size_t n, bytes;
    uint64_t next;
} deliver_fill;

static int fill_deliver(void *ctx, const zb_stored_down *m)
{
    deliver_fill *f = ctx;
    if (m->number != f->next || f->n == ZB_DELIVER_MAX_MESSAGES ||
        (f->n > 0 && f->bytes + m->len > ZB_DELIVER_MAX_BYTES))
        return 1; /* full (or a hole, which cannot be: numbers have none) */
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, m->len, m->msg);
    if (!sd) {
        ZB_ERR("ZB-AGG-DOWN", "county %s: stored message %" PRIu64 " is damaged", m->county,
               m->number);
        return 1;
    }
    f->msgs[f->n++] = sd;
    f->bytes += m->len;
    f->next++;
    return 0;
}

/* Send l's node the messages after what it holds, unless a Deliver is in
 * flight and not yet due for resending. */
static void deliver_to(round_state *rs, MDB_txn *txn, live_county *l, int64_t now)
{
    if (!live_active(rs, txn, l)) {
        ZB_INFO("ZB-AGG-DELIVER", "county %s: the connected node's key was revoked: its "
                "messages wait for the replacement", l->county);
        live_drop(rs, l);
        return;
    }
    zb_down_state st;
    if (zb_astore_down_state(zb_agg_store(rs->agg), txn, l->county, &st) != 0 ||
        st.last <= l->acked)
        return;
    if (l->sent_upto > l->acked && now - l->sent_at < ZB_DELIVER_RESEND_MS)
        return;
    Zb__SignedDownstream *msgs[ZB_DELIVER_MAX_MESSAGES];
    deliver_fill f = {msgs, 0, 0, l->acked + 1};
    int rc = zb_astore_downs(zb_agg_store(rs->agg), txn, l->county, l->acked + 1, fill_deliver, &f);
    if (rc < 0)
        ZB_ERR("ZB-AGG-DOWN", "county %s: cannot read its messages: %s", l->county,
               zb_strerror(rc));
    if (f.n > 0) {
        Zb__Deliver d = ZB__DELIVER__INIT;
        d.county = l->county;
        d.messages = msgs;
        d.n_messages = f.n;
        d.last = st.last;
        Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
        m.msg_case = ZB__SYNC_MSG__MSG_DELIVER;
        m.deliver = &d;
        if (send_to(rs->sock, l->id, l->id_len, &m) == 0) {
            ZB_DEBUG("ZB-AGG-DELIVER", "county %s: messages %" PRIu64 "..%" PRIu64 " sent",
                     l->county, l->acked + 1, l->acked + f.n);
            l->sent_upto = l->acked + f.n;
            l->sent_at = now;
        } else {
            live_drop(rs, l); /* gone: its next Hello brings it back */
        }
    }
    for (size_t i = 0; i < f.n; i++)
        zb__signed_downstream__free_unpacked(msgs[i], NULL);
}

/* Deliver to every connected node whatever waits for it: after a round
 * (its DeliverAcks and Hellos), and on the poll timer, which also catches
 * messages other processes stored (zhibao-agg review, notice ...). */
static void deliver_all(round_state *rs, bool polled)
{
    bool touched = false;
    for (size_t i = 0; !polled && !touched && i < rs->n_live; i++)
        touched = rs->live[i].touched;
    if (rs->n_live == 0 || (!polled && !touched))
        return; /* a round of reports only: no transaction to open */
    MDB_txn *txn;
    if (store_begin(rs->agg, rs->zap, true, &txn) != 0)
        return;
    int64_t now = mono_ms();
    uint64_t gen = zb_astore_down_generation(zb_agg_store(rs->agg), txn);
    /* after a round: the counties it touched; on the timer: all of them,
     * when a message was stored (by any process: the generation moved)
     * or a Deliver is due for resending; a revoke is noticed there too,
     * as the keys generation moves */
    bool all = polled && gen != rs->down_gen;
    for (size_t i = 0; polled && !all && i < rs->n_live; i++)
        all = rs->live[i].sent_upto > rs->live[i].acked &&
              now - rs->live[i].sent_at >= ZB_DELIVER_RESEND_MS;
    if (polled) {
        uint64_t keys_gen = zb_astore_keys_generation(zb_agg_store(rs->agg), txn);
        all |= keys_gen != rs->keys_gen;
        rs->keys_gen = keys_gen;
        rs->down_gen = gen;
    }
    for (size_t i = rs->n_live; i-- > 0;) {
        if (!all && !rs->live[i].touched)
            continue;
        rs->live[i].touched = false;
        deliver_to(rs, txn, &rs->live[i], now);
    }
    mdb_txn_abort(txn);
}

static int add_leaf(county_round *c, const uint8_t report_hash[ZB_SHA256_LEN], uint64_t log_index)
{
    if (c->n_leaves == c->cap_leaves) {
        size_t cap = c->cap_leaves ? c->cap_leaves * 2 : 64;
        uint8_t(*l)[ZB_HASH_LEN] = realloc(c->leaves, cap * ZB_HASH_LEN);
        if (l)
            c->leaves = l;
        uint64_t *li = l ? realloc(c->log_index, cap * sizeof *li) : NULL;
        if (!li)
            return ZB_ENOMEM;
        c->log_index = li;
        c->cap_leaves = cap;
    }
    c->log_index[c->n_leaves] = log_index;
    zb_merkle_leaf_hash(report_hash, ZB_SHA256_LEN, c->leaves[c->n_leaves++]);
    return ZB_OK;
}

static int apply_batch(round_state *rs, MDB_txn *txn, const inbound *in, const Zb__Batch *b,
                       int64_t now)
{
    if (!speaks_for(in, b->county)) {
        refuse(rs, txn, in, b->county, ZB__ERROR_CODE__NOT_ENROLLED, 0, 0,
               "this connection is authenticated for another county");
        return ZB_OK;
    }
    int err;
    county_round *c = round_county(rs, txn, b->county, &err);
    if (!c) {
        if (err != ZB_ENOTFOUND)
            return err;
        refuse(rs, txn, in, b->county, ZB__ERROR_CODE__NOT_ENROLLED, 0, 0,
               "county is not enrolled");
        return ZB_OK;
    }
    memcpy(c->reply_to, in->id, in->id_len);
    c->reply_len = in->id_len;
    c->had_batch = true;
    if (b->n_envelopes > ZB_BATCH_MAX_ENVELOPES) {
        refuse(rs, txn, in, b->county, ZB__ERROR_CODE__BAD_MESSAGE, 0, c->rec.acked_seq,
               "batch too large");
        return ZB_OK;
    }
    if (b->has_tree_size)
        c->node_tree_size = b->tree_size;
    for (size_t i = 0; i < b->n_envelopes; i++) {
        zb_ingest_out res;
        int rc = zb_agg_ingest(rs->agg, txn, &c->rec, b->envelopes[i], now,
                               in->verdicts ? in->verdicts[i] : -1, &res);
        if (rc)
            return rc;
        if (res.result == ZB_INGEST_REFUSED) {
            /* the rest of the batch cannot follow a refused report */
            refuse(rs, NULL, in, b->county, res.code, res.seq, c->rec.acked_seq, res.reason);
            break;
        }
        if (res.result == ZB_INGEST_STORED) {
            if (!c->first_new)
                c->first_new = c->rec.acked_seq;
            c->dirty = true;
            if ((rc = add_leaf(c, res.report_hash, res.log_index)))
                return rc;
        }
    }
    return ZB_OK;
}

/* A heap copy of a signed tree head (each receipt owns its own). */
static Zb__SignedTreeHead *copy_head(const Zb__SignedTreeHead *h)
{
    size_t len = zb__signed_tree_head__get_packed_size(h);
    uint8_t *buf = malloc(len);
    if (!buf)
        return NULL;
    zb__signed_tree_head__pack(h, buf);
    Zb__SignedTreeHead *c = zb__signed_tree_head__unpack(NULL, len, buf);
    free(buf);
    return c;
}

/* Attach the round's tree head and one inclusion proof per report. */
static void attach_proofs(round_state *rs, MDB_txn *txn, county_round *c, Zb__BatchReceipt *br)
{
    if (!rs->head || !txn)
        return;
    br->tree_head = copy_head(rs->head);
    br->proofs = calloc(c->n_leaves, sizeof *br->proofs);
    uint64_t *seqs = malloc(c->n_leaves * sizeof *seqs);
    if (br->tree_head && br->proofs && seqs) {
        for (size_t j = 0; j < c->n_leaves; j++)
            seqs[j] = c->first_new + j;
        /* a proof that cannot be built is left out: the node asks again */
        (void)zb_tlog_make_inclusions(zb_agg_tlog(rs->agg), txn, rs->head_size, seqs,
                                      c->log_index, c->n_leaves, br->proofs, &br->n_proofs);
        /* the leaves of this round entered the log at its time (a store
         * whose marker cannot be read: no leaf time, the node asks again) */
        uint64_t v2_from = UINT64_MAX;
        (void)zb_astore_leaf_v2_from(zb_agg_store(rs->agg), txn, &v2_from);
        for (size_t j = 0; j < br->n_proofs; j++)
            if (br->proofs[j]->log_index >= v2_from) {
                br->proofs[j]->has_leaf_time = 1;
                br->proofs[j]->leaf_time = rs->round_time;
            }
    }
    free(seqs);
}

static sent_head *sent_head_of(round_state *rs, const char *county)
{
    for (size_t i = 0; i < rs->n_sent; i++)
        if (strcmp(rs->sent[i].county, county) == 0)
            return &rs->sent[i];
    if (rs->n_sent == rs->cap_sent) {
        size_t cap = rs->cap_sent ? 2 * rs->cap_sent : 16;
        sent_head *p = realloc(rs->sent, cap * sizeof *p);
        if (!p)
            return NULL;
        rs->sent = p;
        rs->cap_sent = cap;
    }
    sent_head *h = &rs->sent[rs->n_sent++];
    snprintf(h->county, sizeof h->county, "%s", county);
    h->size = 0;
    return h;
}

/* After the commit: one Ack per county touched by a Batch, with a receipt
 * over the range stored in this round, inclusion proofs against the
 * round's signed tree head, and a consistency proof from the newest head
 * the node said it holds. */
static void send_acks(round_state *rs, int64_t now)
{
    MDB_txn *txn = NULL;
    if (rs->head && store_begin(rs->agg, rs->zap, true, &txn) != 0)
        txn = NULL;
    for (size_t i = 0; i < rs->n_counties; i++) {
        county_round *c = &rs->counties[i];
        if (!c->had_batch)
            continue;
        Zb__Ack ack = ZB__ACK__INIT;
        ack.county = c->rec.county;
        ack.acked_seq = c->rec.acked_seq;
        Zb__BatchReceipt *br = NULL;
        Zb__ConsistencyProof *cp = NULL;
        if (c->first_new) {
            uint8_t root[ZB_HASH_LEN];
            zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])c->leaves, c->n_leaves, root);
            if (zb_agg_sign_receipt(rs->agg, c->rec.county, c->first_new, c->rec.acked_seq, now,
                                    root, &br) == 0) {
                attach_proofs(rs, txn, c, br);
                ack.n_receipts = 1;
                ack.receipts = &br;
            }
            sent_head *sh = rs->head ? sent_head_of(rs, c->rec.county) : NULL;
            uint64_t from = c->node_tree_size;
            if (sh && sh->size > from && sh->size <= rs->head_size)
                from = sh->size;
            if (txn && from > 0 && from <= rs->head_size &&
                zb_tlog_make_consistency(zb_agg_tlog(rs->agg), txn, from, rs->head_size, &cp) == 0)
                ack.consistency = cp;
            if (sh && br && br->tree_head)
                sh->size = rs->head_size;
        }
        Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
        m.msg_case = ZB__SYNC_MSG__MSG_ACK;
        m.ack = &ack;
        send_to(rs->sock, c->reply_to, c->reply_len, &m);
        if (br)
            zb__batch_receipt__free_unpacked(br, NULL);
        if (cp)
            zb__consistency_proof__free_unpacked(cp, NULL);
    }
    if (txn)
        mdb_txn_abort(txn);
}

static void round_reset(round_state *rs)
{
    if (rs->head)
        zb__signed_tree_head__free_unpacked(rs->head, NULL);
    rs->head = NULL;
    rs->head_size = 0;
    for (size_t i = 0; i < rs->n_counties; i++) {
        free(rs->counties[i].leaves);
        free(rs->counties[i].log_index);
    }
    rs->n_counties = 0;
    for (size_t i = 0; i < rs->n_replies; i++)
        zb__sync_msg__free_unpacked(rs->replies[i], NULL);
    rs->n_replies = 0;
}

/* Receive one routed message: [routing id][payload]. 1 when one was read. */
static int recv_one(void *sock, inbound *in)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&part);
        return 0;
    }
    size_t n = zmq_msg_size(&part);
    in->id_len = n < ROUTING_ID_MAX ? n : ROUTING_ID_MAX;
    memcpy(in->id, zmq_msg_data(&part), in->id_len);
    in->msg = NULL;
    in->verdicts = NULL;
    int more = zmq_msg_more(&part);
    zmq_msg_close(&part);
    int frames = 0;
    /* read every remaining frame; only a single payload frame is valid */
    while (more) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            zmq_msg_close(&part);
            break;
        }
        frames++;
        if (frames == 1) {
            if (zb_wire_unpack(zmq_msg_data(&part), zmq_msg_size(&part), &in->msg) != 0)
                in->msg = NULL;
            const char *uid = zmq_msg_gets(&part, "User-Id");
            snprintf(in->user_id, sizeof in->user_id, "%s", uid ? uid : "");
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    if (frames != 1 && in->msg) {
        zb__sync_msg__free_unpacked(in->msg, NULL);
        in->msg = NULL;
    }
    return 1;
}

/* Each proof of a re-issued receipt gets its leaf's time: the envelope's
 * receive time (a LogLeaf), or none (a bare envelope leaf). */
static void set_leaf_times(round_state *rs, MDB_txn *txn, const char *county,
                           Zb__BatchReceipt *br)
{
    uint64_t v2_from = UINT64_MAX;
    (void)zb_astore_leaf_v2_from(zb_agg_store(rs->agg), txn, &v2_from);
    for (size_t j = 0; j < br->n_proofs; j++) {
        Zb__InclusionProof *p = br->proofs[j];
        zb_stored_env e;
        if (p->log_index >= v2_from &&
            zb_astore_envelope_get(zb_agg_store(rs->agg), txn, county, p->seq, &e) == 0) {
            p->has_leaf_time = 1;
            p->leaf_time = e.received_at;
        }
    }
}

/* The county's key events, each with its proof against the head of size
 * size, into w (heap-built: freed with the message). */
typedef struct {
    round_state *rs;
    MDB_txn *txn;
    Zb__Welcome *w;
    uint64_t size;
} key_event_fill;

static int add_key_event(void *ctx, uint64_t index)
{
    key_event_fill *f = ctx;
    if (index >= f->size)
        return 0; /* logged after the head: the next Welcome */
    const uint8_t *leaf;
    size_t len;
    int rc = zb_astore_leaf_get(zb_agg_store(f->rs->agg), f->txn, index, &leaf, &len);
    if (rc)
        return rc;
    uint8_t path[64][ZB_HASH_LEN];
    size_t n = 0;
    if ((rc = zb_tlog_inclusion(zb_agg_tlog(f->rs->agg), f->txn, f->size, index, path, &n)))
        return rc;
    Zb__KeyEventProof *p = malloc(sizeof *p);
    Zb__KeyEventProof **grown = realloc(f->w->key_events,
                                        (f->w->n_key_events + 1) * sizeof *grown);
    uint8_t *copy = malloc(len);
    ProtobufCBinaryData *hashes = n ? calloc(n, sizeof *hashes) : NULL;
    if (grown)
        f->w->key_events = grown;
    if (!p || !grown || !copy || (n && !hashes)) {
        free(p), free(copy), free(hashes);
        return ZB_ENOMEM;
    }
    zb__key_event_proof__init(p);
    p->log_index = index;
    memcpy(copy, leaf, len);
    p->leaf = (ProtobufCBinaryData){len, copy};
    for (size_t i = 0; i < n; i++) {
        hashes[i].data = malloc(ZB_HASH_LEN);
        if (!hashes[i].data) {
            p->path = hashes;
            p->n_path = i;
            zb__key_event_proof__free_unpacked(p, NULL);
            return ZB_ENOMEM;
        }
        memcpy(hashes[i].data, path[i], ZB_HASH_LEN);
        hashes[i].len = ZB_HASH_LEN;
    }
    p->path = hashes;
    p->n_path = n;
    f->w->key_events[f->w->n_key_events++] = p;
    return 0;
}

static void attach_key_events(round_state *rs, MDB_txn *txn, Zb__Welcome *w, uint64_t size)
{
    key_event_fill f = {rs, txn, w, size};
    int rc = zb_astore_key_events(zb_agg_store(rs->agg), txn, w->county, add_key_event, &f);
    if (rc) {
        /* all or none: a partial list would look like a history without
         * its later events */
        ZB_ERR("ZB-AGG-KEYS", "county %s: key events not sent: %s", w->county, zb_strerror(rc));
        for (size_t i = 0; i < w->n_key_events; i++)
            zb__key_event_proof__free_unpacked(w->key_events[i], NULL);
        free(w->key_events);
        w->key_events = NULL;
        w->n_key_events = 0;
    }
}

/* The newest head witnesses cosigned, when the Welcome's head (of size)
 * has fewer cosignatures than the node needs (its Hello's witness_quorum,
 * at least 1): with a proof that it is a prefix of that head, so the node
 * can count it (protocol.md section 13.4). */
static void attach_witnessed(round_state *rs, MDB_txn *txn, Zb__Welcome *w, uint64_t size,
                             uint32_t quorum)
{
    if (quorum < 1)
        quorum = 1;
    if (w->tree_head->n_cosignatures >= quorum)
        return;
    Zb__SignedTreeHead *wh;
    if (zb_tlog_witnessed_head_min(zb_agg_tlog(rs->agg), txn, size, quorum, &wh) != 0)
        return;
    Zb__TreeHead *th = zb__tree_head__unpack(NULL, wh->tree_head.len, wh->tree_head.data);
    uint64_t wsize = th ? th->size : 0;
    if (th)
        zb__tree_head__free_unpacked(th, NULL);
    if (wsize == 0 || wsize >= size ||
        zb_tlog_make_consistency(zb_agg_tlog(rs->agg), txn, wsize, size,
                                 &w->witnessed_consistency) != 0) {
        zb__signed_tree_head__free_unpacked(wh, NULL);
        return;
    }
    w->witnessed = wh; /* freed with the message */
}

static void finish_welcome(round_state *rs, const inbound *to, Zb__Welcome *w)
{
    for (size_t j = 0; !to->revoked && j < rs->n_counties; j++)
        if (strcmp(rs->counties[j].rec.county, w->county) == 0)
            w->acked_seq = rs->counties[j].rec.acked_seq;
    MDB_txn *txn;
    if (store_begin(rs->agg, rs->zap, true, &txn) != 0)
        return;
    zb_down_state ds;
    if (to->downstream && zb_astore_down_state(zb_agg_store(rs->agg), txn, w->county, &ds) == 0 &&
        ds.last > 0) {
        w->has_downstream_last = 1;
        w->downstream_last = ds.last;
    }
    Zb__SignedTreeHead *head = NULL;
    uint64_t size = 0;
    if (zb_tlog_latest_head(zb_agg_tlog(rs->agg), txn, &head) == 0) {
        Zb__TreeHead *th = zb__tree_head__unpack(NULL, head->tree_head.len, head->tree_head.data);
        size = th ? th->size : 0;
        if (th)
            zb__tree_head__free_unpacked(th, NULL);
        w->tree_head = head; /* freed with the message */
        if (to->tree_size > 0 && to->tree_size <= size)
            (void)zb_tlog_make_consistency(zb_agg_tlog(rs->agg), txn, to->tree_size, size, &w->consistency);
        attach_witnessed(rs, txn, w, size, to->witness_quorum);
    }
    if (head)
        attach_key_events(rs, txn, w, size);
    uint64_t receipted = to->receipted_seq;
    Zb__BatchReceipt **r;
    size_t n;
    if (receipted < w->acked_seq &&
        zb_agg_reissue_receipts(rs->agg, txn, w->county, receipted + 1, w->acked_seq, &r, &n) == 0) {
        w->receipts = r; /* freed with the message */
        w->n_receipts = n;
        for (size_t i = 0; head && i < n; i++) {
            Zb__ReceiptStatement *s = zb__receipt_statement__unpack(NULL, r[i]->statement.len,
                                                                     r[i]->statement.data);
            if (!s)
                continue;
            size_t count = (size_t)(s->last_seq - s->first_seq + 1), found = 0;
            r[i]->tree_head = copy_head(head);
            r[i]->proofs = calloc(count, sizeof *r[i]->proofs);
            uint64_t *seqs = malloc(count * sizeof *seqs), *idx = malloc(count * sizeof *idx);
            for (; r[i]->proofs && seqs && idx && found < count; found++) {
                seqs[found] = s->first_seq + found;
                if (zb_tlog_index_of(zb_agg_tlog(rs->agg), txn, w->county, seqs[found],
                                     &idx[found]) != 0)
                    break;
            }
            /* proofs for the reports found in the log, in order; the rest
             * come with the next Hello */
            if (r[i]->proofs && found)
                (void)zb_tlog_make_inclusions(zb_agg_tlog(rs->agg), txn, size, seqs, idx, found,
                                              r[i]->proofs, &r[i]->n_proofs);
            set_leaf_times(rs, txn, w->county, r[i]);
            free(seqs);
            free(idx);
            zb__receipt_statement__free_unpacked(s, NULL);
        }
        if (n)
            ZB_INFO("ZB-AGG-REISSUE", "county %s: receipts re-issued for seq %" PRIu64 "..%" PRIu64,
                    w->county, receipted + 1, w->acked_seq);
    }
    mdb_txn_abort(txn);
}

/* ---- signature checks on every core, pipelined with the writer
 *
 * The writer (apply, commit, sign the head and receipts, send) is serial.
 * While it runs round N, the pool's threads check round N+1's signatures;
 * when it is done the calling thread helps finish them. Results go to each
 * inbound's verdicts; nothing else is touched off the calling thread. */

typedef struct {
    const Zb__Envelope **envs;
    int8_t **out;
    size_t n;
    atomic_size_t next;
} verify_job;

#define POOL_MAX 16

typedef struct {
    pthread_t tid[POOL_MAX];
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    verify_job *job; /* the job workers may join, NULL between jobs */
    uint64_t gen;    /* bumped per job: a worker joins each job once */
    int active;      /* workers inside the current job */
    bool stop;
} verify_pool;

static void verify_run(verify_job *j)
{
    for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->n;)
        *j->out[i] = (int8_t)zb_agg_signature_verdict(j->envs[i]);
}

static void *pool_worker(void *arg)
{
    verify_pool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && (p->gen == seen || !p->job))
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        verify_job *j = p->job;
        p->active++;
        pthread_mutex_unlock(&p->mu);
        verify_run(j);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0)
            pthread_cond_signal(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* threads - 1 workers: the calling thread is the last core. */
static void pool_start(verify_pool *p, int threads)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    for (int t = 1; t < threads && p->n_threads < POOL_MAX; t++)
        if (pthread_create(&p->tid[p->n_threads], NULL, pool_worker, p) == 0)
            p->n_threads++;
}

static void pool_stop(verify_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < p->n_threads; t++)
        pthread_join(p->tid[t], NULL);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
}

static void pool_submit(verify_pool *p, verify_job *j)
{
    pthread_mutex_lock(&p->mu);
    p->job = j;
    p->gen++;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
}

/* Help with j until every check is claimed, then wait for the workers. */
static void pool_finish(verify_pool *p, verify_job *j)
{
    verify_run(j);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0)
        pthread_cond_wait(&p->idle, &p->mu);
    p->job = NULL;
    pthread_mutex_unlock(&p->mu);
}

#define PARALLEL_MIN 32 /* fewer signatures are checked inline by the writer */

/* Prepare the checks of every envelope of every Batch in msgs (results to
 * each inbound's verdicts). false: nothing worth the pool (the writer then
 * checks inline). */
static bool job_prepare(verify_job *w, inbound *msgs, size_t n)
{
    size_t total = 0;
    memset(w, 0, sizeof *w);
    for (size_t i = 0; i < n; i++)
        if (msgs[i].msg && msgs[i].msg->msg_case == ZB__SYNC_MSG__MSG_BATCH)
            total += msgs[i].msg->batch->n_envelopes;
    if (total < PARALLEL_MIN)
        return false;
    w->envs = malloc(total * sizeof *w->envs);
    w->out = malloc(total * sizeof *w->out);
    if (!w->envs || !w->out)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].msg || msgs[i].msg->msg_case != ZB__SYNC_MSG__MSG_BATCH)
            continue;
        const Zb__Batch *b = msgs[i].msg->batch;
        if (b->n_envelopes == 0 || !(msgs[i].verdicts = malloc(b->n_envelopes)))
            continue;
        for (size_t j = 0; j < b->n_envelopes; j++) {
            w->envs[w->n] = b->envelopes[j];
            w->out[w->n++] = &msgs[i].verdicts[j];
        }
    }
    atomic_init(&w->next, 0);
    return true;
fail:
    free(w->envs);
    free(w->out);
    memset(w, 0, sizeof *w);
    return false;
}

static void job_free(verify_job *w)
{
    free(w->envs);
    free(w->out);
    memset(w, 0, sizeof *w);
}

static int run_round(round_state *rs, inbound *msgs, size_t n)
{
    MDB_txn *txn;
    int rc = store_begin(rs->agg, rs->zap, false, &txn);
    if (rc)
        return rc;
    /* the round's time: its envelopes' receive time and their leaves'
     * (never before the newest head's: leaf times do not decrease) */
    int64_t now = (int64_t)time(NULL);
    rc = zb_tlog_leaf_time(zb_agg_tlog(rs->agg), txn, now, &now);
    rs->round_time = now;
    uint64_t size_before = 0;
    if (rc == 0)
        rc = zb_tlog_size(zb_agg_tlog(rs->agg), txn, &size_before);
    for (size_t i = 0; i < n && rc == 0; i++) {
        inbound *in = &msgs[i];
        if (!in->msg) {
            refuse(rs, txn, in, "", ZB__ERROR_CODE__BAD_MESSAGE, 0, 0, "undecodable message");
            continue;
        }
        switch (in->msg->msg_case) {
        case ZB__SYNC_MSG__MSG_HELLO: rc = apply_hello(rs, txn, in, in->msg->hello); break;
        case ZB__SYNC_MSG__MSG_BATCH: rc = apply_batch(rs, txn, in, in->msg->batch, now); break;
        case ZB__SYNC_MSG__MSG_DELIVER_ACK:
            rc = apply_deliver_ack(rs, txn, in, in->msg->deliver_ack);
            break;
        default:
            refuse(rs, txn, in, "", ZB__ERROR_CODE__BAD_MESSAGE, 0, 0,
                   "unexpected message type");
            break;
        }
    }
    for (size_t i = 0; i < rs->n_counties && rc == 0; i++)
        if (rs->counties[i].dirty)
            rc = zb_astore_county_put(zb_agg_store(rs->agg), txn, &rs->counties[i].rec);
    /* reports stored, or evidence logged */
    uint64_t size_after = size_before;
    if (rc == 0)
        rc = zb_tlog_size(zb_agg_tlog(rs->agg), txn, &size_after);
    bool grew = size_after != size_before;
    /* one signed tree head per commit that grew the log */
    if (rc == 0 && grew && (rc = zb_tlog_sign_head(zb_agg_tlog(rs->agg), txn, now, &rs->head)) == 0)
        rc = zb_tlog_size(zb_agg_tlog(rs->agg), txn, &rs->head_size);
    if (rc) {
        mdb_txn_abort(txn);
    } else {
        rc = zb_store_commit(txn); /* durable before any answer */
    }
    if (rc) {
        /* nothing was stored: tell every sender to come back */
        ZB_ERR("ZB-AGG-STORE", "round of %zu messages not stored: %s", n, zb_strerror(rc));
        for (size_t i = 0; i < n; i++) {
            Zb__SyncMsg *m = make_refusal("", ZB__ERROR_CODE__SERVER_ERROR, 0, 0,
                                          "aggregator store error; retry later");
            if (m) {
                send_to(rs->sock, msgs[i].id, msgs[i].id_len, m);
                zb__sync_msg__free_unpacked(m, NULL);
            }
        }
        return rc;
    }
    for (size_t i = 0; i < rs->n_replies; i++) {
        Zb__SyncMsg *m = rs->replies[i];
        const inbound *to = &rs->reply_to[i];
        if (m->msg_case == ZB__SYNC_MSG__MSG_WELCOME)
            finish_welcome(rs, to, m->welcome);
        if (send_to(rs->sock, to->id, to->id_len, m) == 0 &&
            m->msg_case == ZB__SYNC_MSG__MSG_WELCOME) {
            /* a Hello starts a new session; one without inbox_number (a
             * node of the previous release) ends any the county had */
            live_county *l = live_find(rs, m->welcome->county);
            if (to->downstream)
                live_hello(rs, m->welcome->county, to);
            else if (l)
                live_drop(rs, l);
        }
    }
    send_acks(rs, now);
    deliver_all(rs, false);
    return ZB_OK;
}

/* Express lane: a Batch of at most EXPRESS_MAX envelopes that is the only
 * message of its connection in this drain (so reordering cannot put a
 * county's later batch before an earlier one) is an urgent report, not a
 * backlog. */
#define EXPRESS_MAX 8

static bool small_batch(const inbound *in)
{
    return in->msg && in->msg->msg_case == ZB__SYNC_MSG__MSG_BATCH &&
           in->msg->batch->n_envelopes <= EXPRESS_MAX;
}

/* Whether msgs[0..n) hold a message of in's connection, other than skip. */
static bool has_connection(const inbound *msgs, size_t n, const inbound *in, const inbound *skip)
{
    for (size_t j = 0; j < n; j++)
        if (&msgs[j] != skip && msgs[j].id_len == in->id_len &&
            memcmp(msgs[j].id, in->id, in->id_len) == 0)
            return true;
    return false;
}

/* Moves the express messages of a drain to its front, stable; returns how
 * many (0 when that is all there is: an express round only pays off in
 * front of real work). */
static size_t express_first(inbound *msgs, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!small_batch(&msgs[i]) || has_connection(msgs, n, &msgs[i], &msgs[i]))
            continue;
        inbound tmp = msgs[i]; /* stable: shift the others right */
        memmove(&msgs[k + 1], &msgs[k], (i - k) * sizeof *msgs);
        msgs[k++] = tmp;
    }
    return k < n ? k : 0;
}

/* What one drain of the socket read: written as one or two rounds. */
typedef struct {
    inbound *msgs; /* ROUND_MAX_MSGS */
    size_t n;
    verify_job job;
} drain;

/* Read what has arrived, up to a round's bounds. */
static void drain_recv(void *sock, drain *d)
{
    size_t envelopes = 0;
    d->n = 0;
    while (d->n < ROUND_MAX_MSGS && envelopes < ROUND_MAX_ENVELOPES && recv_one(sock, &d->msgs[d->n])) {
        const Zb__SyncMsg *m = d->msgs[d->n].msg;
        if (m && m->msg_case == ZB__SYNC_MSG__MSG_BATCH)
            envelopes += m->batch->n_envelopes;
        d->n++;
    }
}

static void drain_free(drain *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->msgs[i].msg)
            zb__sync_msg__free_unpacked(d->msgs[i].msg, NULL);
        free(d->msgs[i].verdicts);
        d->msgs[i].verdicts = NULL;
        d->msgs[i].msg = NULL;
    }
    d->n = 0;
}

/* The express lane across drains: while cur waits to be written (its
 * signatures checked), an urgent report that has just arrived in next -- a
 * small Batch, its connection's only message in both drains, so nothing of
 * its county is reordered -- is moved to urgent, to be written first in a
 * round of its own. Without this it would wait for two rounds. */
static void take_express(drain *next, const drain *cur, drain *urgent)
{
    urgent->n = 0;
    if (cur->n == 0)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < next->n; i++) {
        inbound *in = &next->msgs[i];
        if (small_batch(in) && !has_connection(next->msgs, next->n, in, in) &&
            !has_connection(cur->msgs, cur->n, in, NULL))
            urgent->msgs[urgent->n++] = *in;
        else
            next->msgs[kept++] = *in;
    }
    next->n = kept;
}

/* The writer: apply, commit and answer a drain whose signatures are
 * checked. An urgent report jumps the backlogs: small lone batches first,
 * committed and acknowledged in a round of their own. */
static void write_drain(round_state *rs, drain *d)
{
    size_t n_express = express_first(d->msgs, d->n);
    for (int part = 0; part < 2; part++) {
        inbound *slice = part == 0 ? d->msgs : d->msgs + n_express;
        size_t count = part == 0 ? n_express : d->n - n_express;
        if (count == 0)
            continue;
        int rr = run_round(rs, slice, count);
        if (rr == ZB_EMAPFULL) {
            zb_zap_exclusive(rs->zap, 1); /* the map is remapped */
            if (zb_store_grow(zb_agg_store(rs->agg)) == 0)
                rr = 0; /* the senders retry into the larger map */
            zb_zap_exclusive(rs->zap, 0);
        }
        if (rr && rr != ZB_EMAPFULL)
            ZB_ERR("ZB-AGG-ROUND", "round failed: %s", zb_strerror(rr));
        round_reset(rs);
    }
}

/* Record the connection attempts refused since the last call (zap.h: the
 * ZAP handler's and those libzmq refused before it), in one write
 * transaction for all of them. */
static void count_refused(zb_agg *a, zb_zap *zap, uint64_t counted[ZB_CONN_KINDS])
{
    uint64_t now[ZB_CONN_KINDS];
    bool any = false;
    for (int k = 0; k < ZB_CONN_KINDS; k++) {
        now[k] = zb_zap_refused(zap, (zb_conn_refusal)k);
        any |= now[k] != counted[k];
    }
    if (!any)
        return;
    MDB_txn *txn;
    if (store_begin(a, zap, false, &txn) != 0)
        return;
    int rc = 0;
    for (int k = 0; k < ZB_CONN_KINDS && rc == 0; k++)
        if (now[k] != counted[k])
            rc = zb_astore_refusal_add(zb_agg_store(a), txn, zb_zap_refusal_name((zb_conn_refusal)k),
                                       now[k] - counted[k]);
    if (rc == 0 && zb_store_commit(txn) == 0)
        memcpy(counted, now, sizeof now);
    else if (rc)
        mdb_txn_abort(txn);
}

/* serve --remind-days: at most once a minute, whether today's reminders
 * are due (dispatch.h). Under the ZAP lock: the write may grow the map. */
static void auto_remind(zb_agg *a, zb_zap *zap, const zb_server_opts *opts)
{
    bool ran = false;
    zb_dispatched *sent = NULL;
    size_t n = 0;
    zb_zap_exclusive(zap, 1);
    int rc = zb_dispatch_auto_remind(a, opts->remind_days, opts->n_remind_days,
                                     (int64_t)time(NULL), &ran, &sent, &n);
    zb_zap_exclusive(zap, 0);
    if (rc)
        ZB_ERR("ZB-AGG-REMIND", "automatic reminders not sent: %s (tried again in a minute)",
               zb_strerror(rc));
    else if (ran)
        ZB_INFO("ZB-AGG-REMIND", "automatic reminders: %zu county(ies) without last month's "
                "report reminded", n);
    free(sent);
}

int zb_server_run(zb_agg *a, const char *endpoint, const zb_server_opts *opts)
{
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return ZB_ENET;
    /* the ZAP handler first: a CURVE socket bound without one admits anyone */
    zb_zap *zap = NULL;
    if (zb_zap_start(&zap, ctx, a) != 0) {
        zmq_ctx_term(ctx);
        return ZB_ENET;
    }
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    if (!sock) {
        zb_zap_stop(&zap);
        zmq_ctx_term(ctx);
        return ZB_ENET;
    }
    /* CurveZMQ server: the aggregator's Ed25519 key in its X25519 form,
     * which is what nodes derive from the key they were given at init */
    uint8_t curve_sk[32];
    crypto_sign_ed25519_sk_to_curve25519(curve_sk, zb_agg_identity(a)->sk);
    int on = 1;
    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, curve_sk, sizeof curve_sk);
    sodium_memzero(curve_sk, sizeof curve_sk);
    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "zhibao", 6);
    int zero = 0, one = 1, hwm = 100000, hb_ivl = 2000, hb_to = 6000;
    int64_t maxmsg = ZB_FRAME_MAX;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    /* an unroutable reply is an error we see, not a silent drop */
    zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to);
    /* connections refused before ZAP runs are seen by the monitor only */
    if (zb_zap_watch(zap, sock) != 0 || zmq_bind(sock, endpoint) != 0) {
        ZB_ERR("ZB-AGG-BIND", "cannot listen on %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(sock);
        zb_zap_stop(&zap);
        zmq_ctx_term(ctx);
        return ZB_ENET;
    }
    uint64_t refused_counted[ZB_CONN_KINDS] = {0};
    zb_witcli *witnesses = NULL; /* the tree heads go to the witnesses from this loop */
    if (zb_witcli_open(&witnesses, ctx, a, zap) != 0) {
        zmq_close(sock);
        zb_zap_stop(&zap);
        zmq_ctx_term(ctx);
        return ZB_ENOMEM;
    }
    ZB_INFO("ZB-AGG-START", "serving on %s", endpoint);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    verify_pool pool;
    pool_start(&pool, cores > 1 ? (int)cores : 1);
    round_state rs = {.agg = a, .zap = zap, .sock = sock};
    /* two drains: one being written (cur) while the next one's signatures
     * are checked (next) */
    drain d[2] = {{.msgs = calloc(ROUND_MAX_MSGS, sizeof(inbound))},
                  {.msgs = calloc(ROUND_MAX_MSGS, sizeof(inbound))}};
    drain urgent = {.msgs = calloc(ROUND_MAX_MSGS, sizeof(inbound))};
    drain *cur = &d[0], *next = &d[1];
    int64_t last_deliver_poll = 0, last_remind_check = INT64_MIN / 2;
    int rc = d[0].msgs && d[1].msgs && urgent.msgs ? ZB_OK : ZB_ENOMEM;
    while (rc == 0 && !zb_server_stop) {
        /* wait only when nothing is ready to be written */
        zmq_pollitem_t items[1 + ZB_WITNESS_MAX] = {{sock, 0, ZMQ_POLLIN, 0}};
        size_t n_items = 1 + zb_witcli_pollitems(witnesses, items + 1, ZB_WITNESS_MAX);
        if (zmq_poll(items, (int)n_items, cur->n ? 0 : 200) < 0) {
            if (errno == EINTR)
                continue;
            rc = ZB_ENET;
            break;
        }
        count_refused(a, zap, refused_counted);
        int64_t tnow = mono_ms();
        zb_witcli_tick(witnesses, tnow);
        if (tnow - last_deliver_poll >= ZB_DELIVER_POLL_MS) {
            last_deliver_poll = tnow;
            deliver_all(&rs, true);
        }
        if (opts && opts->n_remind_days && tnow - last_remind_check >= 60000) {
            last_remind_check = tnow;
            auto_remind(a, zap, opts);
        }
        drain_recv(sock, next);
        take_express(next, cur, &urgent);
        if (urgent.n) {
            write_drain(&rs, &urgent); /* few envelopes: checked inline */
            drain_free(&urgent);
        }
        bool pooled = next->n && job_prepare(&next->job, next->msgs, next->n);
        if (pooled)
            pool_submit(&pool, &next->job);
        if (cur->n) {
            write_drain(&rs, cur);
            drain_free(cur);
        }
        if (pooled)
            pool_finish(&pool, &next->job);
        job_free(&next->job);
        drain *t = cur;
        cur = next;
        next = t;
    }
    if (cur->n) /* stopping: what was read is answered, not dropped */
        write_drain(&rs, cur);
    drain_free(cur);
    drain_free(next);
    free(d[0].msgs);
    free(d[1].msgs);
    free(urgent.msgs);
    pool_stop(&pool);
    round_reset(&rs);
    free(rs.sent);
    free(rs.live);
    free(rs.counties);
    free(rs.replies);
    free(rs.reply_to);
    zb_witcli_close(&witnesses);
    zmq_close(sock);
    count_refused(a, zap, refused_counted);
    zb_zap_stop(&zap);
    zmq_ctx_term(ctx);
    ZB_INFO("ZB-AGG-STOP", "stopped");
    return rc;
}
