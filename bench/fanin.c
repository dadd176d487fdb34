/*
 * fanin.c - fan-in: many simulated county nodes in ONE process against one
 * aggregator, each with its own Ed25519 key, county code, DEALER socket and
 * TCP connection, speaking the sync protocol (docs/protocol.md §6):
 * Hello -> Welcome -> one Batch of all its reports -> Ack.
 *
 *   zb-bench-fanin enroll --agg-dir A --nodes N
 *       enrol the N simulated counties (run before `zhibao-agg serve`)
 *   zb-bench-fanin run --endpoint E --agg-key HEX --nodes N [--reports R]
 *                      [--timeout S] [--curve 0|1]
 *       pre-sign R reports per node (not timed), connect all, sync all.
 *       Prints one JSON object.
 *
 * Node i has county 300000 + i and the key derived from the seed
 * SHA-256("zb-bench-fanin/" i), so both commands agree without files.
 * Reports are minimal monthly reports (period 2026-10) built as protobuf
 * directly and sealed with zb_envelope_seal. --curve (default: env
 * ZB_BENCH_CURVE, else 1) sets the CurveZMQ client options the reference
 * node sets: the aggregator's and the node's Ed25519 keys in X25519 form.
 */
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "agg.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "wire.h"

#define HELLO_RETRY_MS 5000 /* no Welcome / Ack for this long: Hello again */

typedef enum { ST_HELLO_DUE, ST_AWAIT_WELCOME, ST_AWAIT_ACK, ST_DONE } node_state;

typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    zb_identity id;
    void *sock;
    uint8_t *hello, *batch; /* packed SyncMsg frames */
    size_t hello_len, batch_len;
    node_state st;
    double due_ms;  /* ST_HELLO_DUE: when to send; otherwise when to give up waiting */
    double done_ms; /* completion time since start */
    uint64_t acked;
} sim_node;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void node_identity(size_t i, char county[ZB_COUNTY_LEN + 1], zb_identity *id)
{
    char label[64];
    int len = snprintf(label, sizeof label, "zb-bench-fanin/%zu", i);
    uint8_t seed[crypto_sign_SEEDBYTES];
    crypto_hash_sha256(seed, (const unsigned char *)label, (unsigned long long)len);
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
    sodium_memzero(seed, sizeof seed);
    snprintf(county, ZB_COUNTY_LEN + 1, "%06zu", 300000 + i);
}

static const char *opt(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static int cmd_enroll(const char *dir, size_t nodes)
{
    zb_agg *a = NULL;
    int rc = zb_agg_open(&a, dir, false);
    if (rc != 0) {
        fprintf(stderr, "fanin: cannot open aggregator %s: %s\n", dir, zb_strerror(rc));
        return 1;
    }
    size_t fresh = 0;
    for (size_t i = 0; i < nodes && rc == 0; i++) {
        char county[ZB_COUNTY_LEN + 1];
        zb_identity id;
        node_identity(i, county, &id);
        bool was_new = false;
        uint64_t first_seq = 0;
        uint8_t prev_hash[ZB_SHA256_LEN];
        rc = zb_agg_enroll_identity(a, county, &id, &was_new, &first_seq, prev_hash);
        zb_identity_wipe(&id);
        fresh += was_new;
        if (rc != 0)
            fprintf(stderr, "fanin: enroll %s: %s\n", county, zb_strerror(rc));
    }
    zb_agg_close(&a);
    if (rc == 0)
        printf("{\"enrolled\": %zu, \"new\": %zu}\n", nodes, fresh);
    return rc == 0 ? 0 : 1;
}

/* Sign reports 1..count for node n and pack its Hello and its one Batch. */
static int presign(sim_node *n, size_t count, int64_t now)
{
    Zb__Envelope **envs = calloc(count, sizeof *envs);
    if (!envs)
        return ZB_ENOMEM;
    uint8_t prev[ZB_SHA256_LEN] = {0};
    int rc = 0;
    for (size_t s = 0; s < count && rc == 0; s++) {
        Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
        m.period = "2026-10";
        Zb__Report r = ZB__REPORT__INIT;
        r.version = 1;
        r.county = n->county;
        r.seq = s + 1;
        r.prev_hash.data = prev;
        r.prev_hash.len = sizeof prev;
        r.created_at = now;
        r.content_case = ZB__REPORT__CONTENT_MONTHLY;
        r.monthly = &m;
        uint8_t buf[512];
        size_t len = zb__report__get_packed_size(&r);
        if (len > sizeof buf)
            return ZB_ETOOBIG;
        zb__report__pack(&r, buf);
        zb_report_hash(buf, len, prev);
        uint8_t *env = NULL;
        size_t env_len = 0;
        if ((rc = zb_envelope_seal(buf, len, &n->id, &env, &env_len)) == 0) {
            envs[s] = zb__envelope__unpack(NULL, env_len, env);
            if (!envs[s])
                rc = ZB_EDECODE;
        }
        free(env);
    }
    if (rc == 0) {
        Zb__Batch b = ZB__BATCH__INIT;
        b.county = n->county;
        b.n_envelopes = count;
        b.envelopes = envs;
        Zb__SyncMsg msg = ZB__SYNC_MSG__INIT;
        msg.msg_case = ZB__SYNC_MSG__MSG_BATCH;
        msg.batch = &b;
        rc = zb_wire_pack(&msg, &n->batch, &n->batch_len);
    }
    if (rc == 0) {
        Zb__Hello h = ZB__HELLO__INIT;
        h.protocol = ZB_PROTOCOL_VERSION;
        h.county = n->county;
        h.node_key.data = n->id.pk;
        h.node_key.len = ZB_PK_LEN;
        h.has_receipted_seq = 1;
        h.receipted_seq = 0;
        Zb__SyncMsg msg = ZB__SYNC_MSG__INIT;
        msg.msg_case = ZB__SYNC_MSG__MSG_HELLO;
        msg.hello = &h;
        rc = zb_wire_pack(&msg, &n->hello, &n->hello_len);
    }
    for (size_t s = 0; s < count; s++)
        if (envs[s])
            zb__envelope__free_unpacked(envs[s], NULL);
    free(envs);
    return rc;
}

static int open_socket(void *ctx, sim_node *n, const char *endpoint, bool curve,
                       const uint8_t agg_pk[ZB_PK_LEN])
{
    n->sock = zmq_socket(ctx, ZMQ_DEALER);
    if (!n->sock) {
        fprintf(stderr, "fanin: zmq_socket: %s\n", zmq_strerror(errno));
        return ZB_ENET;
    }
    int zero = 0, one = 1, hb_ivl = 2000, hb_to = 6000, rivl = 100, rmax = 5000;
    int64_t maxmsg = ZB_FRAME_MAX;
    zmq_setsockopt(n->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(n->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(n->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(n->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to);
    zmq_setsockopt(n->sock, ZMQ_RECONNECT_IVL, &rivl, sizeof rivl);
    zmq_setsockopt(n->sock, ZMQ_RECONNECT_IVL_MAX, &rmax, sizeof rmax);
    zmq_setsockopt(n->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (curve) {
        uint8_t server_pk[32], my_pk[32], my_sk[32];
        if (crypto_sign_ed25519_pk_to_curve25519(server_pk, agg_pk) != 0 ||
            crypto_sign_ed25519_pk_to_curve25519(my_pk, n->id.pk) != 0 ||
            crypto_sign_ed25519_sk_to_curve25519(my_sk, n->id.sk) != 0) {
            fprintf(stderr, "fanin: cannot derive CurveZMQ keys\n");
            return ZB_ECONFIG;
        }
        zmq_setsockopt(n->sock, ZMQ_CURVE_SERVERKEY, server_pk, sizeof server_pk);
        zmq_setsockopt(n->sock, ZMQ_CURVE_PUBLICKEY, my_pk, sizeof my_pk);
        zmq_setsockopt(n->sock, ZMQ_CURVE_SECRETKEY, my_sk, sizeof my_sk);
        sodium_memzero(my_sk, sizeof my_sk);
    }
    if (zmq_connect(n->sock, endpoint) != 0) {
        fprintf(stderr, "fanin: connect %s: %s\n", endpoint, zmq_strerror(errno));
        return ZB_ENET;
    }
    return 0;
}

typedef struct {
    size_t acked_nodes, refusals, hellos, batches, bad_frames;
} fanin_stats;

/* Handle one frame that arrived for node n at time t (ms since start). */
static void on_frame(sim_node *n, const uint8_t *buf, size_t len, size_t reports, double t,
                     double now, fanin_stats *fs)
{
    Zb__SyncMsg *m = NULL;
    if (zb_wire_unpack(buf, len, &m) != 0) {
        fs->bad_frames++;
        return;
    }
    switch (m->msg_case) {
    case ZB__SYNC_MSG__MSG_WELCOME:
        if (strcmp(m->welcome->county, n->county) != 0 || n->st == ST_DONE)
            break;
        if (m->welcome->acked_seq >= reports) {
            n->acked = m->welcome->acked_seq;
            n->st = ST_DONE;
            n->done_ms = t;
            fs->acked_nodes++;
        } else if (zmq_send(n->sock, n->batch, n->batch_len, ZMQ_DONTWAIT) >= 0) {
            /* resending the whole batch is safe: stored seqs are duplicates */
            n->st = ST_AWAIT_ACK;
            n->due_ms = now + HELLO_RETRY_MS;
            fs->batches++;
        } else {
            n->st = ST_HELLO_DUE;
            n->due_ms = now + 250;
        }
        break;
    case ZB__SYNC_MSG__MSG_ACK:
        if (strcmp(m->ack->county, n->county) != 0 || n->st == ST_DONE)
            break;
        n->acked = m->ack->acked_seq;
        if (n->acked >= reports) {
            n->st = ST_DONE;
            n->done_ms = t;
            fs->acked_nodes++;
        } else {
            n->st = ST_HELLO_DUE;
            n->due_ms = now;
        }
        break;
    case ZB__SYNC_MSG__MSG_REFUSAL:
        fs->refusals++;
        if (fs->refusals <= 5)
            fprintf(stderr, "fanin: %s refused: code %d: %s\n", n->county, m->refusal->code,
                    m->refusal->reason);
        if (n->st != ST_DONE) {
            n->st = ST_HELLO_DUE;
            n->due_ms = now + 250;
        }
        break;
    default:
        fs->bad_frames++;
        break;
    }
    zb__sync_msg__free_unpacked(m, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int cmd_run(const char *endpoint, const char *agg_key_hex, size_t nodes, size_t reports,
                   double timeout_s, bool curve)
{
    uint8_t agg_pk[ZB_PK_LEN];
    if (zb_hex_decode(agg_key_hex, agg_pk, sizeof agg_pk) != 0) {
        fprintf(stderr, "fanin: --agg-key: 64 hex digits\n");
        return 2;
    }
    sim_node *ns = calloc(nodes, sizeof *ns);
    zmq_pollitem_t *items = calloc(nodes, sizeof *items);
    double *done = calloc(nodes, sizeof *done);
    void *ctx = zmq_ctx_new();
    int rc = (ns && items && done && ctx) ? 0 : ZB_ENOMEM;
    /* preparation, not timed: keys and signed reports */
    double t_sign = now_ms();
    int64_t created = (int64_t)time(NULL);
    for (size_t i = 0; i < nodes && rc == 0; i++) {
        node_identity(i, ns[i].county, &ns[i].id);
        rc = presign(&ns[i], reports, created);
    }
    t_sign = now_ms() - t_sign;
    if (rc == 0 && (zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, (int)nodes + 1024) != 0)) {
        fprintf(stderr, "fanin: ZMQ_MAX_SOCKETS: %s\n", zmq_strerror(errno));
        rc = ZB_ENET;
    }
    fanin_stats fs = {0};
    double start = now_ms(), elapsed = 0;
    for (size_t i = 0; i < nodes && rc == 0; i++) {
        rc = open_socket(ctx, &ns[i], endpoint, curve, agg_pk);
        items[i] = (zmq_pollitem_t){ns[i].sock, 0, ZMQ_POLLIN, 0};
        ns[i].st = ST_HELLO_DUE;
        ns[i].due_ms = start;
    }
    double connected = now_ms() - start;
    static uint8_t frame[1 << 16];
    while (rc == 0 && fs.acked_nodes < nodes) {
        double now = now_ms();
        if (now - start > timeout_s * 1000) {
            fprintf(stderr, "fanin: timeout: %zu of %zu nodes acknowledged\n", fs.acked_nodes,
                    nodes);
            break;
        }
        for (size_t i = 0; i < nodes; i++) {
            sim_node *n = &ns[i];
            if (n->st == ST_HELLO_DUE && now >= n->due_ms) {
                /* with ZMQ_IMMEDIATE a send before the connection is up
                 * would block: try again next round */
                if (zmq_send(n->sock, n->hello, n->hello_len, ZMQ_DONTWAIT) >= 0) {
                    n->st = ST_AWAIT_WELCOME;
                    n->due_ms = now + HELLO_RETRY_MS;
                    fs.hellos++;
                }
            } else if ((n->st == ST_AWAIT_WELCOME || n->st == ST_AWAIT_ACK) && now >= n->due_ms) {
                n->st = ST_HELLO_DUE;
                n->due_ms = now;
            }
        }
        int pr = zmq_poll(items, (int)nodes, 10);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "fanin: zmq_poll: %s\n", zmq_strerror(errno));
            rc = ZB_ENET;
            break;
        }
        now = now_ms();
        for (size_t i = 0; pr > 0 && i < nodes; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            int len;
            while ((len = zmq_recv(ns[i].sock, frame, sizeof frame, ZMQ_DONTWAIT)) >= 0) {
                if ((size_t)len > sizeof frame) {
                    fs.bad_frames++;
                    continue;
                }
                on_frame(&ns[i], frame, (size_t)len, reports, now - start, now, &fs);
            }
        }
    }
    elapsed = now_ms() - start;
    size_t finished = 0;
    uint64_t acked_reports = 0;
    for (size_t i = 0; i < nodes; i++) {
        acked_reports += ns[i].acked < reports ? ns[i].acked : reports;
        if (ns[i].st == ST_DONE)
            done[finished++] = ns[i].done_ms;
    }
    qsort(done, finished, sizeof *done, cmp_double);
    if (rc == 0)
        printf("{\"fanin_nodes\": %zu, \"reports_per_node\": %zu, \"fanin_expected\": %zu, "
               "\"fanin_acked\": %llu, \"nodes_done\": %zu, \"seconds\": %.3f, "
               "\"connect_ms\": %.1f, \"node_done_p50_ms\": %.1f, \"node_done_p99_ms\": %.1f, "
               "\"hellos\": %zu, \"batches\": %zu, \"refusals\": %zu, \"bad_frames\": %zu, "
               "\"presign_s\": %.3f, \"curve\": %s}\n",
               nodes, reports, nodes * reports, (unsigned long long)acked_reports, finished,
               elapsed / 1000, connected, finished ? done[finished / 2] : 0.0,
               finished ? done[(size_t)((double)(finished - 1) * 0.99)] : 0.0, fs.hellos,
               fs.batches, fs.refusals, fs.bad_frames, t_sign / 1000, curve ? "true" : "false");
    for (size_t i = 0; ns && i < nodes; i++) {
        if (ns[i].sock)
            zmq_close(ns[i].sock);
        free(ns[i].hello);
        free(ns[i].batch);
        zb_identity_wipe(&ns[i].id);
    }
    if (ctx)
        zmq_ctx_term(ctx);
    free(ns);
    free(items);
    free(done);
    if (rc != 0)
        fprintf(stderr, "fanin: %s\n", zb_strerror(rc));
    return rc != 0 ? 1 : (finished == nodes ? 0 : 3);
}

int main(int argc, char **argv)
{
    zb_log_init("zb-bench-fanin", ZB_LOG_WARN, false);
    if (argc < 2 || zb_crypto_init() != 0)
        goto usage;
    long nodes = atol(opt(argc, argv, "--nodes", "3000"));
    if (nodes < 1 || nodes > 600000)
        goto usage;
    if (strcmp(argv[1], "enroll") == 0) {
        const char *dir = opt(argc, argv, "--agg-dir", NULL);
        if (!dir)
            goto usage;
        return cmd_enroll(dir, (size_t)nodes);
    }
    if (strcmp(argv[1], "run") == 0) {
        const char *endpoint = opt(argc, argv, "--endpoint", NULL);
        const char *key = opt(argc, argv, "--agg-key", NULL);
        const char *env_curve = getenv("ZB_BENCH_CURVE");
        bool curve = atoi(opt(argc, argv, "--curve", env_curve ? env_curve : "1")) != 0;
        long reports = atol(opt(argc, argv, "--reports", "10"));
        double timeout_s = atof(opt(argc, argv, "--timeout", "600"));
        if (!endpoint || !key || reports < 1 || reports > ZB_BATCH_MAX_ENVELOPES ||
            timeout_s <= 0)
            goto usage;
        return cmd_run(endpoint, key, (size_t)nodes, (size_t)reports, timeout_s, curve);
    }
usage:
    fprintf(stderr, "usage: zb-bench-fanin enroll --agg-dir A --nodes N\n"
                    "       zb-bench-fanin run --endpoint E --agg-key HEX --nodes N "
                    "[--reports R] [--timeout S] [--curve 0|1]\n");
    return 2;
}
