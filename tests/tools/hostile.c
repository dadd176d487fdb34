/*
 * zb-hostile - feeds an aggregator the hostile inputs of issue 5 while
 * honest nodes sync (tests/system/hostile.sh).
 *
 *   zb-hostile ENDPOINT NODE_DIR OTHER_NODE_DIR ROUNDS
 *
 * NODE_DIR is an enrolled node whose reports 1..N are already at the
 * aggregator (the attacker holds its key: a compromised county);
 * OTHER_NODE_DIR is another county's node (its key signs for the wrong
 * county). Each round sends, on CURVE connections: random bytes, truncated
 * and oversized frames, valid protobuf of the wrong type, a wrong
 * signature, a signer enrolled for another county, a batch for another
 * county, a replayed old envelope, a sequence gap and an equivocating
 * report; and connects once with an unenrolled key and once without CURVE.
 * Prints one line per kind; exits 0 when everything was sent.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "node.h"
#include "wire.h"

static void *ctx;
static const char *endpoint;
static uint8_t agg_pk[ZB_PK_LEN];

static void *connect_as(const zb_identity *id)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (id) {
        uint8_t server[32], pk[32], sk[32];
        if (crypto_sign_ed25519_pk_to_curve25519(server, agg_pk) != 0 ||
            crypto_sign_ed25519_pk_to_curve25519(pk, id->pk) != 0 ||
            crypto_sign_ed25519_sk_to_curve25519(sk, id->sk) != 0)
            exit(1);
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, 32);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pk, 32);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sk, 32);
    }
    zmq_connect(s, endpoint);
    return s;
}

/* Read and drop whatever comes back within ms; returns messages seen. */
static int drain(void *s, int ms)
{
    int n = 0;
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&it, 1, ms) > 0) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) >= 0)
            n++;
        zmq_msg_close(&m);
        ms = 50;
    }
    return n;
}

static void send_raw(void *s, const void *buf, size_t len) { zmq_send(s, buf, len, ZMQ_DONTWAIT); }

static void send_batch(void *s, const char *county, Zb__Envelope *env)
{
    Zb__Batch b = ZB__BATCH__INIT;
    b.county = (char *)county;
    b.n_envelopes = 1;
    b.envelopes = &env;
    Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
    m.msg_case = ZB__SYNC_MSG__MSG_BATCH;
    m.batch = &b;
    (void)zb_wire_send(s, NULL, 0, &m);
}

/* A signed envelope for (county, seq, prev) with a small monthly report. */
static Zb__Envelope *forge(const zb_identity *id, const char *county, uint64_t seq,
                           const uint8_t prev[32], const char *progress, int break_sig)
{
    Zb__TaskEntry t = ZB__TASK_ENTRY__INIT;
    t.task = 3;
    t.status = ZB__TASK_STATUS__IN_PROGRESS;
    t.progress = (char *)progress;
    Zb__TaskEntry *tp = &t;
    Zb__MonthlyReport mr = ZB__MONTHLY_REPORT__INIT;
    mr.period = "2026-10";
    mr.n_tasks = 1;
    mr.tasks = &tp;
    Zb__Report r = ZB__REPORT__INIT;
    r.version = 1;
    r.county = (char *)county;
    r.seq = seq;
    r.prev_hash = (ProtobufCBinaryData){32, (uint8_t *)prev};
    r.created_at = (int64_t)time(NULL);
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    r.monthly = &mr;
    size_t len = zb__report__get_packed_size(&r);
    uint8_t *buf = malloc(len), *env = NULL;
    size_t env_len;
    zb__report__pack(&r, buf);
    if (zb_envelope_seal(buf, len, id, &env, &env_len) != 0)
        exit(1);
    free(buf);
    Zb__Envelope *e = zb__envelope__unpack(NULL, env_len, env);
    free(env);
    if (break_sig)
        e->signature.data[7] ^= 0x40;
    return e;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: zb-hostile ENDPOINT NODE_DIR OTHER_NODE_DIR ROUNDS\n");
        return 2;
    }
    zb_crypto_init();
    zb_log_init("zb-hostile", ZB_LOG_ERROR, false);
    endpoint = argv[1];
    int rounds = atoi(argv[4]);
    zb_node *h = NULL, *o = NULL;
    if (zb_node_open(&h, argv[2], false) || zb_node_open(&o, argv[3], false)) {
        fprintf(stderr, "zb-hostile: cannot open the node dirs\n");
        return 1;
    }
    memcpy(agg_pk, zb_node_aggregator_key(h), ZB_PK_LEN);
    zb_node_status hs, os;
    zb_node_get_status(h, &hs);
    zb_node_get_status(o, &os);
    const zb_identity *hid = zb_node_identity(h), *oid = zb_node_identity(o);
    /* the attacker's view of its own chain: the stored envelopes */
    MDB_txn *txn;
    zb_store_begin(zb_node_store(h), true, &txn);
    uint8_t *e1b, *elb;
    size_t e1l, ell;
    if (hs.stored < 3 || zb_node_get_envelope(h, txn, 1, &e1b, &e1l) ||
        zb_node_get_envelope(h, txn, hs.stored, &elb, &ell)) {
        fprintf(stderr, "zb-hostile: NODE_DIR needs at least 3 synced reports\n");
        return 1;
    }
    mdb_txn_abort(txn);
    Zb__Envelope *e1 = zb__envelope__unpack(NULL, e1l, e1b), *elast = zb__envelope__unpack(NULL, ell, elb);
    uint8_t last_hash[32], zero[32] = {0};
    zb_report_hash(elast->report.data, elast->report.len, last_hash);
    ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 4096);

    for (int round = 0; round < rounds; round++) {
        void *s = connect_as(hid);
        uint8_t junk[4096];
        /* random bytes */
        for (int i = 0; i < 20; i++) {
            size_t n = 1 + randombytes_uniform(sizeof junk);
            randombytes_buf(junk, n);
            send_raw(s, junk, n);
        }
        /* truncated frames: a real batch cut short */
        {
            Zb__Batch b = ZB__BATCH__INIT;
            b.county = hs.county;
            b.n_envelopes = 1;
            b.envelopes = &e1;
            Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
            m.msg_case = ZB__SYNC_MSG__MSG_BATCH;
            m.batch = &b;
            uint8_t *buf;
            size_t len;
            zb_wire_pack(&m, &buf, &len);
            for (int i = 0; i < 20; i++)
                send_raw(s, buf, randombytes_uniform((uint32_t)len));
            free(buf);
        }
        /* valid protobuf of the wrong type: a Welcome sent to the server,
         * and a Batch whose envelope bytes are an Ack */
        {
            Zb__Welcome w = ZB__WELCOME__INIT;
            w.county = hs.county;
            Zb__SyncMsg m = ZB__SYNC_MSG__INIT;
            m.msg_case = ZB__SYNC_MSG__MSG_WELCOME;
            m.welcome = &w;
            (void)zb_wire_send(s, NULL, 0, &m);
            Zb__Envelope wrong = ZB__ENVELOPE__INIT;
            uint8_t ackbuf[64];
            Zb__Ack a = ZB__ACK__INIT;
            a.county = hs.county;
            a.acked_seq = 99;
            size_t al = zb__ack__pack(&a, ackbuf);
            wrong.report = (ProtobufCBinaryData){al, ackbuf};
            wrong.signer = e1->signer;
            wrong.signature = e1->signature;
            send_batch(s, hs.county, &wrong);
        }
        /* wrong signature, signer of another county, batch for another county */
        Zb__Envelope *bad = forge(hid, hs.county, hs.stored + 1, last_hash, "bad signature", 1);
        send_batch(s, hs.county, bad);
        Zb__Envelope *foreign = forge(oid, hs.county, hs.stored + 1, last_hash, "foreign key", 0);
        send_batch(s, hs.county, foreign);
        Zb__Envelope *other_county = forge(hid, os.county, os.stored + 1, zero, "wrong county", 0);
        send_batch(s, os.county, other_county);
        /* replay, gap, equivocation */
        send_batch(s, hs.county, e1);
        Zb__Envelope *gap = forge(hid, hs.county, hs.stored + 5, last_hash, "gap", 0);
        send_batch(s, hs.county, gap);
        Zb__Envelope *equiv = forge(hid, hs.county, 2, zero, "equivocation", 0);
        send_batch(s, hs.county, equiv);
        zb__envelope__free_unpacked(bad, NULL);
        zb__envelope__free_unpacked(foreign, NULL);
        zb__envelope__free_unpacked(other_county, NULL);
        zb__envelope__free_unpacked(gap, NULL);
        zb__envelope__free_unpacked(equiv, NULL);
        drain(s, 300);
        /* oversized frame: the aggregator's ZMQ_MAXMSGSIZE drops the connection */
        size_t big = (size_t)ZB_FRAME_MAX + 1024;
        uint8_t *huge = calloc(1, big);
        send_raw(s, huge, big);
        free(huge);
        drain(s, 200);
        zmq_close(s);
        /* an unenrolled key and a plaintext client: never admitted */
        zb_identity stranger;
        zb_identity_generate(&stranger);
        void *u = connect_as(&stranger);
        send_batch(u, hs.county, e1);
        int got = drain(u, 300);
        zmq_close(u);
        void *p = connect_as(NULL);
        send_batch(p, hs.county, e1);
        got += drain(p, 300);
        zmq_close(p);
        if (got) {
            fprintf(stderr, "zb-hostile: an unauthenticated client got %d answer(s)\n", got);
            return 1;
        }
    }
    printf("sent %d round(s): random, truncated, oversized, wrong-type, bad-signature, "
           "foreign-signer, other-county, replay, gap, equivocation, unenrolled, plaintext\n",
           rounds);
    zb__envelope__free_unpacked(e1, NULL);
    zb__envelope__free_unpacked(elast, NULL);
    free(e1b);
    free(elb);
    zb_node_close(&h);
    zb_node_close(&o);
    zmq_ctx_term(ctx);
    return 0;
}
