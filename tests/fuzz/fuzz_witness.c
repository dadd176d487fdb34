/*
 * fuzz_witness.c - the witness's request handler (witness/witness.h) on a
 * real LMDB store, fed a sequence of requests from one input:
 *
 *   byte 0: mode (low bit): 0 the requests as given; 1 every request that
 *           decodes has its tree head re-signed here with the fixed
 *           aggregator key, so a fuzzer that cannot forge signatures still
 *           reaches the rules past the signature check
 *   then up to 8 chunks: i8 clock step (x 1000 s, may go back), u16 BE
 *           length, that many bytes: one request
 *
 * The witness is new for each input (a fresh store following only the
 * fixed key: seed bytes 0x22, as make_seeds.c's aggregator), so a crash
 * replays from its input alone. Invariants checked after every request,
 * against the state read from the store before and after it, and with the
 * Merkle verifier called here, not the witness's own path:
 *   - only the documented answers, always a decodable response;
 *   - COSIGNED: the head verifies under the fixed key, the cosignature by
 *     the witness verifies for it, its timestamp is not before the one
 *     held, and the head is consistent with the state held: a larger size
 *     only with PROOF(S, size) that takes (S, R) to (size, root) (any
 *     size when S == 0), the same size only with the same root, never a
 *     smaller one; the state is then exactly that head and cosignature;
 *   - anything else leaves the state as it was; REFUSED and CONFLICT name
 *     the size held; only REFUSED adds to the counts, by one refusal;
 *   - a head (validly signed, of the followed log) smaller than the one
 *     held is CONFLICT (or BAD_REQUEST for a malformed proof): never
 *     cosigned, never refused, nothing kept;
 *   - REFUSED keeps (once per head) evidence of kind fork exactly when the
 *     size is the one held, unproven_extension when larger (a fork
 *     replaces the unproven extension of the same head): the record read
 *     back has that kind, and the fork count moves with it.
 * Seeds: zb-witness-client seeds (tests/tools/witness_client.c).
 */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "fuzz.h"
#include "log.h"
#include "merkle.h"
#include "treehead.h"
#include "witness.h"
#include "wstore.h"
#include "zhibao.pb-c.h"

#define MAX_CHUNKS 8
#define T0         1760000000

static zb_identity agg;
static char dir[512];

static void remove_witness(void);
static void remove_dir(void)
{
    remove_witness();
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    zb_log_init("fuzz_witness", ZB_LOG_ERROR, false);
    fuzz_identity(0x22, &agg);
    /* tmpfs when there is one: a store per input, synced on every commit */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/zb-fuzz-witness-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        abort();
    atexit(remove_dir);
    return 0;
}

static void remove_witness(void)
{
    const char *files[] = {"data.mdb", "lock.mdb", ZB_IDENTITY_FILE};
    char p[600];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/w/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/w", dir);
    rmdir(p);
}

typedef struct {
    uint64_t size;
    uint8_t root[ZB_HASH_LEN];
    bool cosigned;
    int64_t at;
    uint8_t sig[ZB_SIG_LEN];
    uint64_t refused, evidence, forks;
} state;

static void read_state(zb_witness *w, state *st)
{
    zb_wstore *s = zb_witness_store(w);
    MDB_txn *txn;
    FUZZ_CHECK(zb_wstore_read_begin(s, &txn) == 0);
    zb_wlog log;
    FUZZ_CHECK(zb_wstore_log_get(s, txn, agg.pk, &log) == 0);
    st->size = log.size;
    memcpy(st->root, log.root, ZB_HASH_LEN);
    st->cosigned = log.cosigned;
    st->at = log.cosigned_at;
    memcpy(st->sig, log.signature, ZB_SIG_LEN);
    FUZZ_CHECK(zb_wstore_counts(s, txn, &st->refused, &st->evidence, &st->forks) == 0);
    mdb_txn_abort(txn);
}

static bool same_state(const state *a, const state *b)
{
    return a->size == b->size && memcmp(a->root, b->root, ZB_HASH_LEN) == 0 &&
           a->cosigned == b->cosigned && a->at == b->at && memcmp(a->sig, b->sig, ZB_SIG_LEN) == 0;
}

/* A COSIGNED answer to req: checked from scratch against the state held. */
static void check_cosigned(zb_witness *w, const uint8_t *req, size_t len,
                           const Zb__WitnessResponse *r, const state *before, const state *after)
{
    Zb__WitnessRequest *m = zb__witness_request__unpack(NULL, len, req);
    FUZZ_CHECK(m != NULL);
    zb_tree_head h;
    FUZZ_CHECK(zb_tree_head_verify(m->tree_head, agg.pk, &h) == 0);
    FUZZ_CHECK(r->cosignature != NULL);
    FUZZ_CHECK(r->cosignature->witness.len == ZB_PK_LEN &&
               memcmp(r->cosignature->witness.data, zb_witness_key(w), ZB_PK_LEN) == 0);
    FUZZ_CHECK(zb_cosig_verify(r->cosignature, agg.pk, &h) == 0);
    FUZZ_CHECK(!before->cosigned || r->cosignature->timestamp >= before->at);
    /* consistent with what was held */
    FUZZ_CHECK(h.size >= before->size);
    if (h.size == before->size) {
        FUZZ_CHECK(memcmp(h.root, before->root, ZB_HASH_LEN) == 0);
    } else if (before->size > 0) {
        const Zb__ConsistencyProof *p = m->consistency;
        FUZZ_CHECK(p && p->old_size == before->size && p->new_size == h.size);
        FUZZ_CHECK(p->n_path <= ZB_MERKLE_MAX_PROOF);
        uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
        for (size_t i = 0; i < p->n_path; i++) {
            FUZZ_CHECK(p->path[i].len == ZB_HASH_LEN);
            memcpy(path[i], p->path[i].data, ZB_HASH_LEN);
        }
        FUZZ_CHECK(zb_merkle_verify_consistency(before->size, h.size, before->root, h.root,
                                                (const uint8_t(*)[ZB_HASH_LEN])path,
                                                p->n_path) == 0);
    }
    /* and now held, with this cosignature */
    FUZZ_CHECK(after->size == h.size && memcmp(after->root, h.root, ZB_HASH_LEN) == 0);
    FUZZ_CHECK(after->cosigned && after->at == r->cosignature->timestamp);
    FUZZ_CHECK(r->cosignature->signature.len == ZB_SIG_LEN &&
               memcmp(after->sig, r->cosignature->signature.data, ZB_SIG_LEN) == 0);
    FUZZ_CHECK(after->refused == before->refused && after->evidence == before->evidence);
    zb__witness_request__free_unpacked(m, NULL);
}

/* The head of req when it decodes and its signature verifies under the
 * fixed key (rule a's other checks aside). */
static bool signed_head(const uint8_t *req, size_t len, zb_tree_head *h)
{
    Zb__WitnessRequest *m = zb__witness_request__unpack(NULL, len, req);
    if (!m)
        return false;
    bool ok = m->tree_head->signature.len == ZB_SIG_LEN &&
              zb_tree_head_verify(m->tree_head, agg.pk, h) == 0;
    zb__witness_request__free_unpacked(m, NULL);
    return ok;
}

typedef struct {
    const zb_tree_head *h;
    int kind; /* of the record for h; 0: none */
} find_evidence;

static int find_kind(void *ctx, const zb_wevidence *ev)
{
    find_evidence *fe = ctx;
    if (ev->size == fe->h->size && memcmp(ev->root, fe->h->root, ZB_HASH_LEN) == 0)
        fe->kind = ev->kind;
    return 0;
}

/* The kind of the evidence kept for h (0: none). */
static int evidence_kind_of(zb_witness *w, const zb_tree_head *h)
{
    zb_wstore *s = zb_witness_store(w);
    MDB_txn *txn;
    FUZZ_CHECK(zb_wstore_read_begin(s, &txn) == 0);
    find_evidence fe = {h, 0};
    FUZZ_CHECK(zb_wstore_evidence(s, txn, find_kind, &fe) == 0);
    mdb_txn_abort(txn);
    return fe.kind;
}

static void one_request(zb_witness *w, const uint8_t *req, size_t len, int64_t now)
{
    state before, after;
    read_state(w, &before);
    uint8_t *resp;
    size_t resp_len;
    zb_witness_outcome o;
    FUZZ_CHECK(zb_witness_handle(w, req, len, now, &resp, &resp_len, &o) == 0);
    Zb__WitnessResponse *r = zb__witness_response__unpack(NULL, resp_len, resp);
    free(resp);
    FUZZ_CHECK(r != NULL && (int)r->status == o.status);
    read_state(w, &after);
    zb_tree_head h;
    bool valid = signed_head(req, len, &h);
    if (valid && h.size < before.size) /* behind, or replayed: proves nothing */
        FUZZ_CHECK(r->status == ZB__WITNESS_STATUS__CONFLICT ||
                   r->status == ZB__WITNESS_STATUS__BAD_REQUEST);
    switch (r->status) {
    case ZB__WITNESS_STATUS__COSIGNED:
        check_cosigned(w, req, len, r, &before, &after);
        if (o.fresh)
            FUZZ_CHECK(r->cosignature->timestamp ==
                       (before.cosigned && before.at > now ? before.at : now));
        else
            FUZZ_CHECK(same_state(&before, &after));
        break;
    case ZB__WITNESS_STATUS__REFUSED:
        FUZZ_CHECK(same_state(&before, &after));
        FUZZ_CHECK(r->has_size && r->size == before.size && r->reason && r->reason[0]);
        FUZZ_CHECK(after.refused == before.refused + 1);
        FUZZ_CHECK(valid && h.size >= before.size);
        /* one record more for a head not refused before; as many when a
         * fork replaced the unproven extension of the same head */
        if (after.evidence == before.evidence + 1)
            FUZZ_CHECK(o.new_evidence);
        else
            FUZZ_CHECK(after.evidence == before.evidence &&
                       (!o.new_evidence || h.size == before.size));
        {
            int kind = h.size == before.size ? ZB_WEVIDENCE_FORK : ZB_WEVIDENCE_UNPROVEN_EXTENSION;
            FUZZ_CHECK(o.evidence_kind == kind);
            /* the record kept (now or when first refused) says the same */
            FUZZ_CHECK(evidence_kind_of(w, &h) == kind);
            FUZZ_CHECK(after.forks ==
                       before.forks + (o.new_evidence && kind == ZB_WEVIDENCE_FORK ? 1 : 0));
        }
        break;
    case ZB__WITNESS_STATUS__CONFLICT:
        FUZZ_CHECK(r->has_size && r->size == before.size && before.size > 0);
        /* fall through */
    case ZB__WITNESS_STATUS__UNKNOWN_LOG:
    case ZB__WITNESS_STATUS__BAD_REQUEST:
        FUZZ_CHECK(same_state(&before, &after));
        FUZZ_CHECK(after.refused == before.refused && after.evidence == before.evidence &&
                   after.forks == before.forks);
        FUZZ_CHECK(r->cosignature == NULL);
        break;
    default: FUZZ_CHECK(!"an undocumented status");
    }
    zb__witness_response__free_unpacked(r, NULL);
}

/* Mode 1: the request with its tree head signed by the fixed key (NULL
 * when it does not decode: sent as is). Caller frees. */
static uint8_t *resign(const uint8_t *req, size_t len, size_t *out_len)
{
    Zb__WitnessRequest *m = zb__witness_request__unpack(NULL, len, req);
    if (!m)
        return NULL;
    uint8_t sig[ZB_SIG_LEN];
    FUZZ_CHECK(zb_sign_tagged(ZB_TAG_TREE_HEAD, m->tree_head->tree_head.data,
                              m->tree_head->tree_head.len, &agg, sig) == 0);
    ProtobufCBinaryData keep = m->tree_head->signature;
    m->tree_head->signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    *out_len = zb__witness_request__get_packed_size(m);
    uint8_t *buf = malloc(*out_len ? *out_len : 1);
    FUZZ_CHECK(buf != NULL);
    zb__witness_request__pack(m, buf);
    m->tree_head->signature = keep; /* freed with the message */
    zb__witness_request__free_unpacked(m, NULL);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4 * ZB_WITNESS_REQUEST_MAX)
        return 0;
    char wdir[600];
    snprintf(wdir, sizeof wdir, "%s/w", dir);
    remove_witness();
    uint8_t wpk[ZB_PK_LEN];
    zb_witness *w;
    bool was_new;
    FUZZ_CHECK(zb_witness_create(wdir, wpk) == 0);
    FUZZ_CHECK(zb_witness_open(&w, wdir, false) == 0);
    FUZZ_CHECK(zb_witness_add_log(w, agg.pk, "fuzz", &was_new) == 0 && was_new);
    bool resigning = data[0] & 1;
    size_t at = 1;
    int64_t now = T0;
    for (int i = 0; i < MAX_CHUNKS && at + 3 <= size; i++) {
        now += (int8_t)data[at] * 1000;
        size_t len = (size_t)data[at + 1] << 8 | data[at + 2];
        at += 3;
        if (len > size - at)
            len = size - at;
        const uint8_t *req = data + at;
        at += len;
        size_t signed_len;
        uint8_t *signed_req = resigning ? resign(req, len, &signed_len) : NULL;
        if (signed_req)
            one_request(w, signed_req, signed_len, now);
        else
            one_request(w, req, len, now);
        free(signed_req);
    }
    zb_witness_close(&w);
    remove_witness();
    return 0;
}
