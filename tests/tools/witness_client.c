/*
 * zb-witness-client - an aggregator-like client of zhibao-witness for
 * tests/system/witness_crash.sh, and the writer of fuzz_witness's seeds.
 *
 *   zb-witness-client keygen KEYFILE
 *       a fresh aggregator identity into KEYFILE (0600); prints its key
 *   zb-witness-client run ENDPOINT WITNESSKEY KEYFILE STOPFILE OUTDIR
 *       grows a Merkle tree in memory (1-4 leaves a head), signs each head
 *       with KEYFILE's key and sends it to the witness over CurveZMQ, as
 *       the aggregator does: with KEYFILE's key in its X25519 form as the
 *       client key (the witness admits only the logs' own keys) and the
 *       consistency proof from the size it believes the witness holds,
 *       until the head is cosigned (a request unanswered in 300 ms is sent
 *       again on a new connection: the witness may have been killed).
 *       Every 16th head it also sends a forked head (alternately the same
 *       size as the witness holds with another last leaf -- evidence of
 *       kind fork -- and a larger head of a tree that differs from there,
 *       with that tree's proof -- kind unproven_extension).
 *       It stops after the first head cosigned once STOPFILE exists.
 *       OUTDIR/cosigned: "size root timestamp" per cosignature received;
 *       OUTDIR/forks: "size root kind" per forked head sent. Checks as it
 *       goes and at the end: each cosignature is by WITNESSKEY and
 *       verifies, timestamps never go back, no fork is cosigned, an honest
 *       head is never refused, every cosigned (size, root) is a head of its
 *       own tree. Prints one JSON line (counts, the last size and root) and
 *       exits 0 when every check held, 1 otherwise, 2 on usage.
 *   zb-witness-client probe ENDPOINT WITNESSKEY SIGNKEY CURVEKEY SIZE
 *       one request: a head of SIZE random leaves signed with SIGNKEY's
 *       key, no proof, over a connection with CURVEKEY's key (converted)
 *       as the client key. Prints the answer ("STATUS SIZE", the size the
 *       witness holds or -) and exits 0, or prints "no_answer" and exits 3
 *       when none came in 3 s (the witness's ZAP refused the key).
 *   zb-witness-client seeds DIR
 *       writes tests/fuzz/corpus/fuzz_witness seeds (format: fuzz_witness.c)
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "merkle.h"
#include "store.h"
#include "treehead.h"
#include "zhibao.pb-c.h"

typedef uint8_t hash_t[ZB_HASH_LEN];

#define FORK_EVERY 16
#define REPLY_MS   300
#define GIVE_UP_S  120 /* no answer at all for this long: the witness is gone */

/* ------------------------------------------------------------ the tree */

/* Perfect subtrees by level: level[0] the leaves, level[k][i] the hash of
 * leaves [i << k, (i + 1) << k), kept as soon as complete: a root or a
 * proof costs O(log^2 n), whatever the size. */
#define LEVELS 48
typedef struct {
    hash_t *level[LEVELS];
    uint64_t n[LEVELS], cap[LEVELS];
} tree;

static void push(tree *t, unsigned k, const hash_t h)
{
    if (t->n[k] == t->cap[k]) {
        t->cap[k] = t->cap[k] ? 2 * t->cap[k] : 1024;
        t->level[k] = realloc(t->level[k], t->cap[k] * sizeof(hash_t));
        if (!t->level[k])
            abort();
    }
    memcpy(t->level[k][t->n[k]++], h, ZB_HASH_LEN);
}

static void tree_append(tree *t, const hash_t leaf)
{
    push(t, 0, leaf);
    for (unsigned k = 0; k + 1 < LEVELS && t->n[k] % 2 == 0; k++) {
        hash_t h;
        zb_merkle_node_hash(t->level[k][t->n[k] - 2], t->level[k][t->n[k] - 1], h);
        push(t, k + 1, h);
    }
}

static int perfect(void *ctx, unsigned level, uint64_t index, uint8_t out[ZB_HASH_LEN])
{
    tree *t = ctx;
    if (level >= LEVELS || index >= t->n[level])
        return ZB_EINVAL;
    memcpy(out, t->level[level][index], ZB_HASH_LEN);
    return 0;
}

static int subtree(void *ctx, uint64_t start, uint64_t size, uint8_t out[ZB_HASH_LEN])
{
    return zb_merkle_subtree_from_perfect(perfect, ctx, start, size, out);
}

static void tree_root(tree *t, uint64_t size, hash_t out)
{
    if (size == 0)
        zb_sha256("", 0, out);
    else if (subtree(t, 0, size, out) != 0)
        abort();
}

/* ------------------------------------------------------------ requests */

typedef struct {
    uint64_t size;
    hash_t root;
    int64_t timestamp;
} head;

/* A packed WitnessRequest for h signed by agg, with proof[0..n) from
 * old_size when has_proof. Caller frees. */
static uint8_t *make_request(const zb_identity *agg, const head *h, bool has_proof,
                             uint64_t old_size, hash_t *proof, size_t n, size_t *len)
{
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = h->size;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, (uint8_t *)h->root};
    th.timestamp = h->timestamp;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    uint8_t thb[256], sig[ZB_SIG_LEN];
    size_t thn = zb__tree_head__pack(&th, thb);
    if (zb_sign_tagged(ZB_TAG_TREE_HEAD, thb, thn, agg, sig) != 0)
        abort();
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){thn, thb};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    Zb__WitnessRequest req = ZB__WITNESS_REQUEST__INIT;
    req.tree_head = &sth;
    Zb__ConsistencyProof cp = ZB__CONSISTENCY_PROOF__INIT;
    ProtobufCBinaryData path[ZB_MERKLE_MAX_PROOF];
    if (has_proof) {
        for (size_t i = 0; i < n; i++)
            path[i] = (ProtobufCBinaryData){ZB_HASH_LEN, proof[i]};
        cp.old_size = old_size;
        cp.new_size = h->size;
        cp.n_path = n;
        cp.path = path;
        req.consistency = &cp;
    }
    *len = zb__witness_request__get_packed_size(&req);
    uint8_t *buf = malloc(*len);
    if (!buf)
        abort();
    zb__witness_request__pack(&req, buf);
    return buf;
}

/* ------------------------------------------------------------ the link */

typedef struct {
    void *ctx, *sock;
    const char *endpoint;
    uint8_t server[32];
    const zb_identity *client; /* its key, converted, is the CURVE client key */
    uint64_t retries;
} link_t;

static void link_open(link_t *l)
{
    l->sock = zmq_socket(l->ctx, ZMQ_DEALER);
    uint8_t pk[32], sk[32];
    if (crypto_sign_ed25519_pk_to_curve25519(pk, l->client->pk) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(sk, l->client->sk) != 0) {
        fprintf(stderr, "error: the client key has no X25519 form\n");
        exit(1);
    }
    int zero = 0, ivl = 50;
    zmq_setsockopt(l->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(l->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(l->sock, ZMQ_CURVE_SERVERKEY, l->server, 32);
    zmq_setsockopt(l->sock, ZMQ_CURVE_PUBLICKEY, pk, 32);
    zmq_setsockopt(l->sock, ZMQ_CURVE_SECRETKEY, sk, 32);
    sodium_memzero(sk, sizeof sk);
    if (zmq_connect(l->sock, l->endpoint) != 0) {
        fprintf(stderr, "error: cannot connect to %s: %s\n", l->endpoint, zmq_strerror(errno));
        exit(1);
    }
}

/* Send req until an answer comes (a new connection after each silence:
 * no stale answer can arrive); the decoded response. */
static Zb__WitnessResponse *exchange(link_t *l, const uint8_t *req, size_t len)
{
    time_t start = time(NULL);
    for (;;) {
        if (zmq_send(l->sock, req, len, ZMQ_DONTWAIT) >= 0) {
            zmq_pollitem_t it = {l->sock, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, REPLY_MS) == 1) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, l->sock, 0) >= 0) {
                    Zb__WitnessResponse *r =
                        zb__witness_response__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
                    zmq_msg_close(&m);
                    if (!r) {
                        fprintf(stderr, "error: undecodable answer\n");
                        exit(1);
                    }
                    return r;
                }
                zmq_msg_close(&m);
            }
        } else {
            usleep(REPLY_MS * 1000); /* not connected yet: the pipe is full */
        }
        if (time(NULL) - start > GIVE_UP_S) {
            fprintf(stderr, "error: no answer from the witness for %d s\n", GIVE_UP_S);
            exit(1);
        }
        zmq_close(l->sock);
        link_open(l);
        l->retries++;
    }
}

/* ------------------------------------------------------------ run */

typedef struct {
    tree t;
    zb_identity agg;
    uint8_t witness[ZB_PK_LEN];
    link_t link;
    uint64_t held; /* the size the witness holds, as far as we know */
    int64_t last_ts;
    head *cosigned;
    size_t n_cosigned, cap_cosigned;
    FILE *out, *forks;
    uint64_t n_forks, same_size_forks, forks_refused, conflicts, failures;
} run_state;

static void failure(run_state *s, const char *what, uint64_t size)
{
    fprintf(stderr, "FAILURE: %s (size %" PRIu64 ")\n", what, size);
    s->failures++;
}

/* Check a COSIGNED answer for h: by our witness, verifies, not earlier. */
static void check_cosig(run_state *s, const Zb__WitnessResponse *r, const head *h)
{
    zb_tree_head th = {.size = h->size, .timestamp = h->timestamp};
    memcpy(th.root, h->root, ZB_HASH_LEN);
    if (!r->cosignature || r->cosignature->witness.len != ZB_PK_LEN ||
        memcmp(r->cosignature->witness.data, s->witness, ZB_PK_LEN) != 0)
        failure(s, "cosignature missing or not by the witness asked", h->size);
    else if (zb_cosig_verify(r->cosignature, s->agg.pk, &th) != 0)
        failure(s, "cosignature does not verify", h->size);
    else if (r->cosignature->timestamp < s->last_ts)
        failure(s, "cosignature timestamp went back", h->size);
    else
        s->last_ts = r->cosignature->timestamp;
}

/* Send a head of our tree until it is cosigned. */
static void send_honest(run_state *s, const head *h)
{
    for (;;) {
        hash_t proof[ZB_MERKLE_MAX_PROOF];
        size_t n = 0;
        bool has_proof = s->held > 0;
        if (has_proof &&
            zb_merkle_consistency_proof_src(subtree, &s->t, h->size, s->held, proof, &n) != 0)
            abort();
        size_t len;
        uint8_t *req = make_request(&s->agg, h, has_proof, s->held, proof, n, &len);
        Zb__WitnessResponse *r = exchange(&s->link, req, len);
        free(req);
        int status = r->status;
        uint64_t size = r->has_size ? r->size : UINT64_MAX;
        if (status == ZB__WITNESS_STATUS__COSIGNED)
            check_cosig(s, r, h);
        zb__witness_response__free_unpacked(r, NULL);
        if (status == ZB__WITNESS_STATUS__COSIGNED) {
            if (s->n_cosigned == s->cap_cosigned) {
                s->cap_cosigned = s->cap_cosigned ? 2 * s->cap_cosigned : 1024;
                s->cosigned = realloc(s->cosigned, s->cap_cosigned * sizeof *s->cosigned);
                if (!s->cosigned)
                    abort();
            }
            s->cosigned[s->n_cosigned++] = *h;
            char hex[2 * ZB_HASH_LEN + 1];
            zb_hex_encode(h->root, ZB_HASH_LEN, hex);
            fprintf(s->out, "%" PRIu64 " %s %" PRId64 "\n", h->size, hex, s->last_ts);
            fflush(s->out);
            s->held = h->size;
            return;
        }
        if (status == ZB__WITNESS_STATUS__CONFLICT && size <= h->size) {
            s->conflicts++; /* it holds another size than we thought: prove from there */
            s->held = size;
            continue;
        }
        failure(s, "an honest head was not cosigned", h->size);
        exit(1);
    }
}

/* A forked head: same size as held with another last leaf (kind 0), or a
 * tree that differs from leaf held-1 on, 3 leaves larger, with its proof. */
static void send_fork(run_state *s, int kind)
{
    uint64_t held = s->held, size = kind == 0 ? held : held + 3;
    hash_t *leaves = malloc(size * sizeof(hash_t));
    if (!leaves)
        abort();
    memcpy(leaves, s->t.level[0], (held - 1) * sizeof(hash_t));
    for (uint64_t i = held - 1; i < size; i++) {
        uint8_t entry[16];
        randombytes_buf(entry, sizeof entry);
        zb_merkle_leaf_hash(entry, sizeof entry, leaves[i]);
    }
    head h = {.size = size, .timestamp = (int64_t)time(NULL)};
    zb_merkle_root_of_leaves((const hash_t *)leaves, size, h.root);
    hash_t proof[ZB_MERKLE_MAX_PROOF];
    size_t n = 0;
    if (kind == 1 && zb_merkle_consistency_proof((const hash_t *)leaves, size, held, proof, &n))
        abort();
    free(leaves);
    char hex[2 * ZB_HASH_LEN + 1];
    zb_hex_encode(h.root, ZB_HASH_LEN, hex);
    fprintf(s->forks, "%" PRIu64 " %s %s\n", h.size, hex,
            kind == 0 ? "fork" : "unproven_extension");
    fflush(s->forks);
    s->n_forks++;
    if (kind == 0)
        s->same_size_forks++;
    size_t len;
    uint8_t *req = make_request(&s->agg, &h, kind == 1, held, proof, n, &len);
    Zb__WitnessResponse *r = exchange(&s->link, req, len);
    free(req);
    if (r->status == ZB__WITNESS_STATUS__REFUSED && r->has_size && r->size == held)
        s->forks_refused++;
    else if (r->status == ZB__WITNESS_STATUS__COSIGNED)
        failure(s, "a forked head was cosigned", size);
    else
        failure(s, "a forked head was not refused", size);
    zb__witness_response__free_unpacked(r, NULL);
}

static FILE *open_out(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) {
        fprintf(stderr, "error: cannot write %s: %s\n", p, strerror(errno));
        exit(1);
    }
    return f;
}

static int cmd_run(char **argv)
{
    run_state s = {.last_ts = INT64_MIN};
    uint8_t wpk[ZB_PK_LEN];
    if (zb_hex_decode(argv[1], wpk, sizeof wpk) != 0) {
        fprintf(stderr, "error: WITNESSKEY: must be 64 hex digits\n");
        return 2;
    }
    memcpy(s.witness, wpk, ZB_PK_LEN);
    if (zb_identity_load(argv[2], &s.agg) != 0) {
        fprintf(stderr, "error: KEYFILE: cannot read %s\n", argv[2]);
        return 2;
    }
    const char *stop_file = argv[3];
    s.out = open_out(argv[4], "cosigned");
    s.forks = open_out(argv[4], "forks");
    s.link.ctx = zmq_ctx_new();
    s.link.endpoint = argv[0];
    s.link.client = &s.agg;
    if (crypto_sign_ed25519_pk_to_curve25519(s.link.server, wpk) != 0) {
        fprintf(stderr, "error: WITNESSKEY: not a valid Ed25519 key\n");
        return 2;
    }
    link_open(&s.link);
    uint64_t heads = 0;
    for (bool stop = false; !stop;) {
        stop = access(stop_file, F_OK) == 0;
        if (heads % FORK_EVERY == FORK_EVERY - 1 && s.held > 0)
            send_fork(&s, (int)(heads / FORK_EVERY) % 2);
        for (uint32_t i = 1 + randombytes_uniform(4); i > 0; i--) {
            uint8_t entry[16];
            randombytes_buf(entry, sizeof entry);
            hash_t leaf;
            zb_merkle_leaf_hash(entry, sizeof entry, leaf);
            tree_append(&s.t, leaf);
        }
        head h = {.size = s.t.n[0], .timestamp = (int64_t)time(NULL)};
        tree_root(&s.t, h.size, h.root);
        send_honest(&s, &h);
        heads++;
    }
    /* every head cosigned is a head of our tree: mutually consistent */
    for (size_t i = 0; i < s.n_cosigned; i++) {
        hash_t r;
        tree_root(&s.t, s.cosigned[i].size, r);
        if (memcmp(r, s.cosigned[i].root, ZB_HASH_LEN) != 0)
            failure(&s, "a cosigned head is not a head of the tree", s.cosigned[i].size);
        if (i > 0 && s.cosigned[i].size < s.cosigned[i - 1].size)
            failure(&s, "cosigned sizes went back", s.cosigned[i].size);
    }
    char hex[2 * ZB_HASH_LEN + 1];
    zb_hex_encode(s.cosigned[s.n_cosigned - 1].root, ZB_HASH_LEN, hex);
    printf("{\"heads\": %" PRIu64 ", \"cosignatures\": %zu, \"max_size\": %" PRIu64
           ", \"root\": \"%s\", \"forks\": %" PRIu64 ", \"same_size_forks\": %" PRIu64
           ", \"forks_refused\": %" PRIu64 ", \"conflicts\": %" PRIu64 ", \"resends\": %" PRIu64
           ", \"failures\": %" PRIu64 "}\n",
           heads, s.n_cosigned, s.cosigned[s.n_cosigned - 1].size, hex, s.n_forks,
           s.same_size_forks, s.forks_refused, s.conflicts, s.link.retries, s.failures);
    fclose(s.out);
    fclose(s.forks);
    zmq_close(s.link.sock);
    zmq_ctx_term(s.link.ctx);
    for (unsigned k = 0; k < LEVELS; k++)
        free(s.t.level[k]);
    free(s.cosigned);
    zb_identity_wipe(&s.agg);
    return s.failures ? 1 : 0;
}

/* ------------------------------------------------------------ probe */

static int cmd_probe(char **argv)
{
    uint8_t wpk[ZB_PK_LEN];
    zb_identity sign_id, curve_id;
    char *end;
    unsigned long long size = strtoull(argv[4], &end, 10);
    if (zb_hex_decode(argv[1], wpk, sizeof wpk) != 0 || zb_identity_load(argv[2], &sign_id) != 0 ||
        zb_identity_load(argv[3], &curve_id) != 0 || *end || size > 1000000) {
        fprintf(stderr, "error: probe: bad WITNESSKEY, SIGNKEY, CURVEKEY or SIZE\n");
        return 2;
    }
    tree t = {0};
    for (unsigned long long i = 0; i < size; i++) {
        uint8_t entry[16];
        randombytes_buf(entry, sizeof entry);
        hash_t leaf;
        zb_merkle_leaf_hash(entry, sizeof entry, leaf);
        tree_append(&t, leaf);
    }
    head h = {.size = size, .timestamp = (int64_t)time(NULL)};
    tree_root(&t, h.size, h.root);
    size_t len;
    uint8_t *req = make_request(&sign_id, &h, false, 0, NULL, 0, &len);
    link_t l = {.ctx = zmq_ctx_new(), .endpoint = argv[0], .client = &curve_id};
    if (crypto_sign_ed25519_pk_to_curve25519(l.server, wpk) != 0) {
        fprintf(stderr, "error: WITNESSKEY: not a valid Ed25519 key\n");
        return 2;
    }
    link_open(&l);
    int rc = 3;
    zmq_pollitem_t it = {l.sock, 0, ZMQ_POLLIN, 0};
    /* queued until the handshake ends: never, when ZAP refuses the key */
    if (zmq_send(l.sock, req, len, 0) >= 0 && zmq_poll(&it, 1, 3000) == 1) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, l.sock, 0) >= 0) {
            Zb__WitnessResponse *r =
                zb__witness_response__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
            if (r) {
                static const char *const names[] = {"?",       "COSIGNED",    "CONFLICT",
                                                    "REFUSED", "UNKNOWN_LOG", "BAD_REQUEST"};
                unsigned st = (unsigned)r->status < 6 ? (unsigned)r->status : 0;
                if (r->has_size)
                    printf("%s %" PRIu64 "\n", names[st], r->size);
                else
                    printf("%s -\n", names[st]);
                zb__witness_response__free_unpacked(r, NULL);
                rc = 0;
            }
        }
        zmq_msg_close(&m);
    }
    if (rc == 3)
        printf("no_answer\n");
    free(req);
    zmq_close(l.sock);
    zmq_ctx_term(l.ctx);
    for (unsigned k = 0; k < LEVELS; k++)
        free(t.level[k]);
    zb_identity_wipe(&sign_id);
    zb_identity_wipe(&curve_id);
    return rc;
}

/* ------------------------------------------------------------ fuzz seeds */

/* fuzz_witness input: mode byte, then chunks of (i8 clock step in units of
 * 1000 s, u16 BE length, request). The aggregator key is the fixed one
 * fuzz_witness follows: seed bytes 0x22 (as make_seeds.c's aggregator). */
typedef struct {
    uint8_t buf[16384];
    size_t len;
} seed;

static void seed_chunk(seed *sd, int8_t step, uint8_t *req, size_t len)
{
    if (sd->len + 3 + len > sizeof sd->buf)
        abort();
    sd->buf[sd->len++] = (uint8_t)step;
    sd->buf[sd->len++] = (uint8_t)(len >> 8);
    sd->buf[sd->len++] = (uint8_t)len;
    memcpy(sd->buf + sd->len, req, len);
    sd->len += len;
    free(req);
}

static uint8_t *seed_req(const zb_identity *agg, const hash_t *leaves, uint64_t size, uint64_t old,
                         size_t *len)
{
    head h = {.size = size, .timestamp = 1760000000 + (int64_t)size};
    zb_merkle_root_of_leaves(leaves, size, h.root);
    hash_t proof[ZB_MERKLE_MAX_PROOF];
    size_t n = 0;
    if (old > 0 && old <= size && zb_merkle_consistency_proof(leaves, size, old, proof, &n))
        abort();
    return make_request(agg, &h, old > 0, old, proof, n, len);
}

/* One chunk: the head of leaves at size with PROOF(old, size) (none when old is 0). */
static void seed_add(seed *sd, int8_t step, const zb_identity *agg, const hash_t *leaves,
                     uint64_t size, uint64_t old)
{
    size_t len;
    uint8_t *req = seed_req(agg, leaves, size, old, &len);
    seed_chunk(sd, step, req, len);
}

static int write_seed(const char *dir, const char *name, const seed *sd)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(sd->buf, 1, sd->len, f) != sd->len || fclose(f) != 0) {
        fprintf(stderr, "error: cannot write %s\n", p);
        return 1;
    }
    return 0;
}

static int cmd_seeds(const char *dir)
{
    zb_identity agg, other;
    uint8_t s22[crypto_sign_SEEDBYTES], s33[crypto_sign_SEEDBYTES];
    memset(s22, 0x22, sizeof s22);
    memset(s33, 0x33, sizeof s33);
    crypto_sign_seed_keypair(agg.pk, agg.sk, s22);
    crypto_sign_seed_keypair(other.pk, other.sk, s33);
    hash_t good[16], fork[16];
    for (int i = 0; i < 16; i++) {
        uint8_t e[2] = {(uint8_t)i, 0};
        zb_merkle_leaf_hash(e, sizeof e, good[i]);
        e[1] = i >= 5 ? 1 : 0; /* the fork differs from leaf 5 on */
        zb_merkle_leaf_hash(e, sizeof e, fork[i]);
    }
    int rc = 0;
    seed sd;
    for (uint8_t mode = 0; mode < 2; mode++) { /* as signed; re-signed by the target */
        sd.len = 0;
        sd.buf[sd.len++] = mode;
        seed_add(&sd, 0, &agg, (const hash_t *)good, 3, 0);  /* first */
        seed_add(&sd, 1, &agg, (const hash_t *)good, 7, 3);  /* consistent */
        seed_add(&sd, -2, &agg, (const hash_t *)good, 7, 3); /* again */
        seed_add(&sd, 1, &agg, (const hash_t *)good, 2, 0);  /* smaller: CONFLICT */
        seed_add(&sd, 0, &agg, (const hash_t *)fork, 7, 0);  /* same size: a fork */
        seed_add(&sd, 1, &agg, (const hash_t *)fork, 12, 7); /* larger, unproven */
        seed_add(&sd, 1, &agg, (const hash_t *)good, 12, 7); /* good again */
        rc |= write_seed(dir, mode ? "resigned-sequence" : "signed-sequence", &sd);
    }
    sd.len = 0;
    sd.buf[sd.len++] = 0;
    seed_add(&sd, 0, &agg, (const hash_t *)good, 4, 0);
    seed_add(&sd, 0, &agg, (const hash_t *)good, 9, 2); /* conflict */
    seed_add(&sd, 0, &agg, (const hash_t *)good, 9, 0); /* no proof: conflict */
    seed_add(&sd, 0, &agg, (const hash_t *)good, 9, 4);
    rc |= write_seed(dir, "conflict", &sd);
    sd.len = 0;
    sd.buf[sd.len++] = 0;
    seed_add(&sd, 0, &agg, (const hash_t *)good, 0, 0); /* the empty tree */
    seed_add(&sd, 0, &agg, (const hash_t *)good, 0, 0);
    seed_add(&sd, -1, &agg, (const hash_t *)good, 5, 0);
    seed_add(&sd, 0, &other, (const hash_t *)good, 5, 0); /* not followed */
    rc |= write_seed(dir, "empty-and-unknown", &sd);
    zb_identity_wipe(&agg);
    zb_identity_wipe(&other);
    return rc;
}

int main(int argc, char **argv)
{
    if (zb_crypto_init() != 0)
        return 1;
    if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
        zb_identity id;
        zb_identity_generate(&id);
        int rc = zb_identity_save(argv[2], &id);
        char hex[2 * ZB_PK_LEN + 1];
        zb_hex_encode(id.pk, ZB_PK_LEN, hex);
        zb_identity_wipe(&id);
        if (rc)
            return 1;
        printf("%s\n", hex);
        return 0;
    }
    if (argc == 7 && strcmp(argv[1], "run") == 0)
        return cmd_run(argv + 2);
    if (argc == 7 && strcmp(argv[1], "probe") == 0)
        return cmd_probe(argv + 2);
    if (argc == 3 && strcmp(argv[1], "seeds") == 0)
        return cmd_seeds(argv[2]);
    fprintf(stderr, "usage: zb-witness-client keygen KEYFILE\n"
                    "       zb-witness-client run ENDPOINT WITNESSKEY KEYFILE STOPFILE OUTDIR\n"
                    "       zb-witness-client probe ENDPOINT WITNESSKEY SIGNKEY CURVEKEY SIZE\n"
                    "       zb-witness-client seeds DIR\n");
    return 2;
}
