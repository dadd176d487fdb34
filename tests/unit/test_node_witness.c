/*
 * test_node_witness.c - the node's witness quorum (node/node.h,
 * "witnesses"; node/witness.c) on a real node store:
 *
 *   - quorum 0: every head is final, take_witnessed records nothing;
 *   - quorum 1: a head cosigned by a configured witness becomes final with
 *     the heads on its chain of admission below it (and only those); a
 *     cosignature by an unconfigured witness, a forged one or one of
 *     another head does not count; a head the node did not accept is not
 *     taken;
 *   - quorum 2: the same witness twice is one witness;
 *   - an older witnessed head with PROOF(witnessed, head): ignored when the
 *     proof's sizes do not match the heads or it does not verify; with a
 *     valid proof it makes final exactly the chain heads of size <= its
 *     size;
 *   - zb_node_witness_pending, zb_node_set_witnesses (resets finality,
 *     refuses a quorum above the number of keys).
 *
 * The aggregator's log is built here from common/ code alone: leaf hashes
 * over a Merkle tree (common/merkle.h), heads signed with the aggregator
 * identity the node was created for, consistency proofs between them, fed
 * to the node as a Welcome is (zb_node_record_ack with a head and its
 * proof). Witness cosignatures are made with zb_cosig_sign. Every test
 * gets its own node under a fresh mkdtemp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "merkle.h"
#include "node.h"
#include "treehead.h"

#define COUNTY      "222401"
#define NOW         1800000000 /* 2027-01-15 */
#define MAX_LEAVES  32
#define N_WITNESSES 3

typedef struct {
    char root[512]; /* mkdtemp directory */
    char dir[600];  /* root/node */
    zb_identity agg;
    zb_identity w[N_WITNESSES]; /* w[0], w[1] configured (when set); w[2] never */
    zb_node *node;
    uint8_t leaves[MAX_LEAVES][ZB_HASH_LEN];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_node_witness", ZB_LOG_ERROR, false);
    const char *base = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/zb-test-node-witness-XXXXXX",
             base && *base ? base : "/tmp");
    if (!mkdtemp(f->root))
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/node", f->root);
    zb_identity_generate(&f->agg);
    for (int i = 0; i < N_WITNESSES; i++)
        zb_identity_generate(&f->w[i]);
    for (uint32_t i = 0; i < MAX_LEAVES; i++) {
        uint8_t entry[8];
        zb_be64_put(entry, i);
        zb_merkle_leaf_hash(entry, sizeof entry, f->leaves[i]);
    }
    char agg_hex[2 * ZB_PK_LEN + 1], node_hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(f->agg.pk, ZB_PK_LEN, agg_hex);
    if (zb_node_create(f->dir, COUNTY, "tcp://127.0.0.1:1", agg_hex, node_hex) != ZB_OK)
        return -1;
    return zb_node_open(&f->node, f->dir, false) == ZB_OK ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    zb_node_close(&f->node);
    zb_identity_wipe(&f->agg);
    for (int i = 0; i < N_WITNESSES; i++)
        zb_identity_wipe(&f->w[i]);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
    int rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}

/* ------------------------------------------------------------ the log */

static ProtobufCMessage *heap_copy(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *c = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    assert_non_null(c);
    free(buf);
    return c;
}

/* The decoded head of the first size leaves, dated NOW + size. */
static zb_tree_head head_of(const fixture *f, uint64_t size)
{
    zb_tree_head h;
    h.size = size;
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])f->leaves, size, h.root);
    h.timestamp = NOW + (int64_t)size;
    return h;
}

/* One cosignature to put on a head: by `signer`, naming `claimed` (NULL:
 * the signer), for the head of size `for_size` (0: the head it is on). */
typedef struct {
    const zb_identity *signer;
    const uint8_t *claimed;
    int64_t at;
    uint64_t for_size;
} cosig_spec;

/* The head of size signed by the aggregator, with cosignatures made per
 * specs[0..n). Heap-built. */
static Zb__SignedTreeHead *signed_head(const fixture *f, uint64_t size, const cosig_spec *specs,
                                       size_t n)
{
    zb_tree_head h = head_of(f, size);
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = h.size;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, h.root};
    th.timestamp = h.timestamp;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)f->agg.pk};
    size_t len = zb__tree_head__get_packed_size(&th);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    zb__tree_head__pack(&th, buf);
    uint8_t sig[ZB_SIG_LEN];
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, buf, len, &f->agg, sig), ZB_OK);
    Zb__Cosignature cs[8], *ptrs[8];
    uint8_t csig[8][ZB_SIG_LEN];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        zb_tree_head target = specs[i].for_size ? head_of(f, specs[i].for_size) : h;
        assert_int_equal(zb_cosig_sign(specs[i].signer, f->agg.pk, &target, specs[i].at, csig[i]),
                         ZB_OK);
        zb__cosignature__init(&cs[i]);
        cs[i].witness = (ProtobufCBinaryData){
            ZB_PK_LEN, (uint8_t *)(specs[i].claimed ? specs[i].claimed : specs[i].signer->pk)};
        cs[i].timestamp = specs[i].at;
        cs[i].signature = (ProtobufCBinaryData){ZB_SIG_LEN, csig[i]};
        ptrs[i] = &cs[i];
    }
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){len, buf};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    sth.n_cosignatures = n;
    sth.cosignatures = ptrs;
    Zb__SignedTreeHead *out = (Zb__SignedTreeHead *)heap_copy(&sth.base);
    free(buf);
    return out;
}

/* PROOF(old_size, new_size) over the log. Heap-built. */
static Zb__ConsistencyProof *proof_of(const fixture *f, uint64_t old_size, uint64_t new_size)
{
    Zb__ConsistencyProof *cp;
    assert_int_equal(zb_consistency_proof_of_leaves((const uint8_t(*)[ZB_HASH_LEN])f->leaves,
                                                    old_size, new_size, &cp),
                     ZB_OK);
    return cp;
}

/* Whether the node holds the head of size (as accepted). */
static bool accepted(fixture *f, uint64_t size)
{
    zb_tree_head h = head_of(f, size);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_node_store(f->node), true, &txn), ZB_OK);
    bool yes = zb_node_head_accepted_(f->node, txn, &h);
    mdb_txn_abort(txn);
    return yes;
}

/* The node accepts the head of size, proven from the accepted head of
 * old_size (0: the node's first head, on trust). */
static void accept(fixture *f, uint64_t old_size, uint64_t size)
{
    Zb__SignedTreeHead *h = signed_head(f, size, NULL, 0);
    Zb__ConsistencyProof *cp = old_size ? proof_of(f, old_size, size) : NULL;
    assert_int_equal(zb_node_record_ack(f->node, 0, NULL, 0, h, cp), ZB_OK);
    assert_true(accepted(f, size));
    if (cp)
        zb__consistency_proof__free_unpacked(cp, NULL);
    zb__signed_tree_head__free_unpacked(h, NULL);
}

static bool final(fixture *f, uint64_t size)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_node_store(f->node), true, &txn), ZB_OK);
    bool yes = zb_node_head_final(f->node, txn, size);
    mdb_txn_abort(txn);
    return yes;
}

static zb_node_witnessing witnessing(fixture *f)
{
    MDB_txn *txn;
    zb_node_witnessing w;
    assert_int_equal(zb_store_begin(zb_node_store(f->node), true, &txn), ZB_OK);
    assert_int_equal(zb_node_witnessing_get(f->node, txn, &w), ZB_OK);
    mdb_txn_abort(txn);
    return w;
}

static bool pending(fixture *f)
{
    bool p = true;
    assert_int_equal(zb_node_witness_pending(f->node, &p), ZB_OK);
    return p;
}

/* Configure f->w[0..n_keys) at quorum. */
static void set_witnesses(fixture *f, size_t n_keys, uint64_t quorum)
{
    uint8_t keys[N_WITNESSES][ZB_PK_LEN];
    for (size_t i = 0; i < n_keys; i++)
        memcpy(keys[i], f->w[i].pk, ZB_PK_LEN);
    assert_int_equal(
        zb_node_set_witnesses(f->node, (const uint8_t(*)[ZB_PK_LEN])keys, n_keys, quorum), ZB_OK);
}

/* take_witnessed with the head of size carrying specs[0..n), no older
 * witnessed head. */
static void take_head(fixture *f, uint64_t size, const cosig_spec *specs, size_t n)
{
    Zb__SignedTreeHead *h = signed_head(f, size, specs, n);
    assert_int_equal(zb_node_take_witnessed(f->node, h, NULL, NULL), ZB_OK);
    zb__signed_tree_head__free_unpacked(h, NULL);
}

/* Heads 3 <- 6 <- 10 (each admitted from the one before). */
static void chain_3_6_10(fixture *f)
{
    accept(f, 0, 3);
    accept(f, 3, 6);
    accept(f, 6, 10);
}

/* ------------------------------------------------------------ tests */

/* Quorum 0 (the default, and with keys set): every size is final, and a
 * validly cosigned head records nothing. */
static void test_quorum_zero(void **state)
{
    fixture *f = *state;
    chain_3_6_10(f);
    assert_int_equal(zb_node_witness_quorum(f->node), 0);
    assert_true(final(f, 3));
    assert_true(final(f, 10));
    assert_true(final(f, 7)); /* not even a head: still "final" */
    assert_false(pending(f));

    set_witnesses(f, 2, 0);
    zb_node_witnessing w = witnessing(f);
    assert_int_equal(w.n_keys, 2);
    assert_int_equal(w.quorum, 0);
    cosig_spec by_w0 = {&f->w[0], NULL, NOW + 100, 0};
    take_head(f, 10, &by_w0, 1);
    w = witnessing(f);
    assert_int_equal(w.witnessed_size, 0);
    assert_true(final(f, 10));
    assert_false(pending(f));
    uint64_t unwitnessed = 99;
    assert_int_equal(zb_node_witness_summary(f->node, &w, &unwitnessed), ZB_OK);
    assert_int_equal(unwitnessed, 0);
}

/* Quorum 1 of {w0, w1}: a head cosigned by w1 becomes final, and so do
 * the heads below it on its chain of admission. */
static void test_quorum_one_chain(void **state)
{
    fixture *f = *state;
    set_witnesses(f, 2, 1);
    assert_int_equal(zb_node_witness_quorum(f->node), 1);
    assert_false(pending(f)); /* no head yet */
    chain_3_6_10(f);
    assert_false(final(f, 3));
    assert_false(final(f, 6));
    assert_false(final(f, 10));
    assert_true(pending(f));

    /* no cosignature: nothing */
    take_head(f, 10, NULL, 0);
    assert_false(final(f, 10));
    assert_int_equal(witnessing(f).witnessed_size, 0);

    cosig_spec by_w1 = {&f->w[1], NULL, NOW + 100, 0};
    take_head(f, 10, &by_w1, 1);
    assert_true(final(f, 10));
    assert_true(final(f, 6));
    assert_true(final(f, 3));
    assert_false(final(f, 7)); /* not a head */
    assert_int_equal(witnessing(f).witnessed_size, 10);
    assert_false(pending(f));

    /* a newer head, not cosigned: pending again, the older stay final */
    accept(f, 10, 13);
    assert_true(pending(f));
    assert_false(final(f, 13));
    assert_true(final(f, 10));
}

/* Only heads on the witnessed head's chain of admission: 10 admitted from
 * 3 makes 3 final, not 6 (admitted from 3 too, but not below 10). */
static void test_chain_of_admission_only(void **state)
{
    fixture *f = *state;
    set_witnesses(f, 1, 1);
    accept(f, 0, 3);
    accept(f, 3, 6);
    accept(f, 3, 10);
    cosig_spec by_w0 = {&f->w[0], NULL, NOW + 100, 0};
    take_head(f, 10, &by_w0, 1);
    assert_true(final(f, 10));
    assert_true(final(f, 3));
    assert_false(final(f, 6));
}

/* Cosignatures that must not count at quorum 1 of {w0, w1}: by w2 (not
 * configured), forged in w0's name (signed by w2), w0's for another head,
 * and any cosignature on a head the node never accepted. */
static void test_cosignatures_that_do_not_count(void **state)
{
    fixture *f = *state;
    set_witnesses(f, 2, 1);
    chain_3_6_10(f);
    cosig_spec unlisted = {&f->w[2], NULL, NOW + 100, 0};
    take_head(f, 10, &unlisted, 1);
    assert_false(final(f, 10));
    cosig_spec forged = {&f->w[2], f->w[0].pk, NOW + 100, 0};
    take_head(f, 10, &forged, 1);
    assert_false(final(f, 10));
    cosig_spec other_head = {&f->w[0], NULL, NOW + 100, 6};
    take_head(f, 10, &other_head, 1);
    assert_false(final(f, 10));
    assert_false(final(f, 6));
    cosig_spec all_three[3] = {unlisted, forged, other_head};
    take_head(f, 10, all_three, 3);
    assert_false(final(f, 10));
    assert_false(final(f, 3));
    assert_int_equal(witnessing(f).witnessed_size, 0);
    assert_true(pending(f));

    /* a head the node did not accept (no proof from one it holds), validly
     * cosigned: not taken, and nothing below it becomes final */
    cosig_spec by_w0 = {&f->w[0], NULL, NOW + 100, 0};
    Zb__SignedTreeHead *h = signed_head(f, 12, NULL, 0);
    assert_int_equal(zb_node_record_ack(f->node, 0, NULL, 0, h, NULL), ZB_OK);
    zb__signed_tree_head__free_unpacked(h, NULL);
    assert_false(accepted(f, 12));
    take_head(f, 12, &by_w0, 1);
    assert_false(final(f, 12));
    assert_false(final(f, 10));
    assert_int_equal(witnessing(f).witnessed_size, 0);

    /* the control: the same cosignature on the accepted head counts */
    take_head(f, 10, &by_w0, 1);
    assert_true(final(f, 10));
}

/* Quorum 2 of {w0, w1}: w0 twice is one witness; w0 and w1 are two. */
static void test_quorum_two_same_witness(void **state)
{
    fixture *f = *state;
    set_witnesses(f, 2, 2);
    chain_3_6_10(f);
    cosig_spec twice[2] = {{&f->w[0], NULL, NOW + 100, 0}, {&f->w[0], NULL, NOW + 200, 0}};
    take_head(f, 10, twice, 2);
    assert_false(final(f, 10));
    cosig_spec one_and_unlisted[2] = {{&f->w[0], NULL, NOW + 100, 0},
                                      {&f->w[2], NULL, NOW + 200, 0}};
    take_head(f, 10, one_and_unlisted, 2);
    assert_false(final(f, 10));
    assert_int_equal(witnessing(f).witnessed_size, 0);
    cosig_spec both[2] = {{&f->w[0], NULL, NOW + 100, 0}, {&f->w[1], NULL, NOW + 200, 0}};
    take_head(f, 10, both, 2);
    assert_true(final(f, 10));
    assert_true(final(f, 3));
}

/* The node's head 14 has no cosignature; an older head comes with a
 * quorum and PROOF(older, 14). Heads accepted: 3 <- 6 <- 10 <- 14. */
static void take_older(fixture *f, uint64_t witnessed_size, const Zb__ConsistencyProof *cp)
{
    cosig_spec by_w0 = {&f->w[0], NULL, NOW + 100, 0};
    Zb__SignedTreeHead *head = signed_head(f, 14, NULL, 0);
    Zb__SignedTreeHead *wit = signed_head(f, witnessed_size, &by_w0, 1);
    assert_int_equal(zb_node_take_witnessed(f->node, head, wit, cp), ZB_OK);
    zb__signed_tree_head__free_unpacked(wit, NULL);
    zb__signed_tree_head__free_unpacked(head, NULL);
}

static void assert_none_final(fixture *f)
{
    assert_false(final(f, 3));
    assert_false(final(f, 6));
    assert_false(final(f, 10));
    assert_false(final(f, 14));
    assert_int_equal(witnessing(f).witnessed_size, 0);
}

static void test_older_witnessed_bad_proofs(void **state)
{
    fixture *f = *state;
    set_witnesses(f, 1, 1);
    chain_3_6_10(f);
    accept(f, 10, 14);

    /* no proof */
    take_older(f, 8, NULL);
    assert_none_final(f);
    /* a valid proof, but from another size (7 -> 14) */
    Zb__ConsistencyProof *cp = proof_of(f, 7, 14);
    take_older(f, 8, cp);
    assert_none_final(f);
    zb__consistency_proof__free_unpacked(cp, NULL);
    /* a valid proof 8 -> 13, to another size than the head's */
    cp = proof_of(f, 8, 13);
    take_older(f, 8, cp);
    assert_none_final(f);
    zb__consistency_proof__free_unpacked(cp, NULL);
    /* PROOF(8, 14) relabelled with the right sizes... for 9 -> 14 */
    cp = proof_of(f, 8, 14);
    cp->old_size = 9;
    take_older(f, 9, cp);
    assert_none_final(f);
    zb__consistency_proof__free_unpacked(cp, NULL);
    /* the right sizes, a flipped bit in the path */
    cp = proof_of(f, 8, 14);
    assert_true(cp->n_path > 0);
    cp->path[cp->n_path - 1].data[0] ^= 0x20;
    take_older(f, 8, cp);
    assert_none_final(f);
    zb__consistency_proof__free_unpacked(cp, NULL);
    /* a path one hash short */
    cp = proof_of(f, 8, 14);
    cp->n_path--;
    take_older(f, 8, cp);
    cp->n_path++;
    assert_none_final(f);
    zb__consistency_proof__free_unpacked(cp, NULL);
    assert_true(pending(f));
}

/* With a valid proof, an older witnessed head of size 8 (one the node
 * never held) makes final exactly 3 and 6; 10 and 14 stay not final. A
 * witnessed head of size 10 then adds 10; the head 14 itself cosigned
 * adds 14. An older witnessed head after that changes nothing. */
static void test_older_witnessed_valid(void **state)
{
    fixture *f = *state;
    set_witnesses(f, 1, 1);
    chain_3_6_10(f);
    accept(f, 10, 14);

    Zb__ConsistencyProof *cp = proof_of(f, 8, 14);
    take_older(f, 8, cp);
    zb__consistency_proof__free_unpacked(cp, NULL);
    assert_true(final(f, 3));
    assert_true(final(f, 6));
    assert_false(final(f, 10));
    assert_false(final(f, 14));
    assert_false(final(f, 8)); /* not a head the node holds */
    assert_int_equal(witnessing(f).witnessed_size, 8);
    assert_true(pending(f));

    cp = proof_of(f, 10, 14);
    take_older(f, 10, cp);
    zb__consistency_proof__free_unpacked(cp, NULL);
    assert_true(final(f, 10));
    assert_false(final(f, 14));
    assert_int_equal(witnessing(f).witnessed_size, 10);
    assert_true(pending(f));

    cosig_spec by_w0 = {&f->w[0], NULL, NOW + 300, 0};
    take_head(f, 14, &by_w0, 1);
    assert_true(final(f, 14));
    assert_int_equal(witnessing(f).witnessed_size, 14);
    assert_false(pending(f));

    cp = proof_of(f, 5, 14);
    take_older(f, 5, cp);
    zb__consistency_proof__free_unpacked(cp, NULL);
    assert_int_equal(witnessing(f).witnessed_size, 14);
}

/* A witness quorum the store holds but cannot read (a record of the wrong
 * length) is an error, never quorum 0: no head is taken as final. */
static void test_unreadable_quorum(void **state)
{
    fixture *f = *state;
    chain_3_6_10(f);
    set_witnesses(f, 2, 1);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_node_store(f->node), false, &txn), ZB_OK);
    MDB_val k = {strlen("witness_quorum"), "witness_quorum"}, v = {3, "\0\0\0"};
    assert_int_equal(mdb_put(txn, zb_store_dbi(zb_node_store(f->node), NODE_DB_META), &k, &v, 0),
                     0);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    zb_node_witnessing w;
    assert_int_equal(zb_store_begin(zb_node_store(f->node), true, &txn), ZB_OK);
    assert_int_equal(zb_node_witnessing_get(f->node, txn, &w), ZB_EDECODE);
    mdb_txn_abort(txn);
    assert_false(final(f, 3));
    assert_false(final(f, 10));
}

/* set_witnesses: a change judges finality again from scratch; a quorum
 * above the number of keys (or too many keys) is refused and changes
 * nothing. */
static void test_set_witnesses(void **state)
{
    fixture *f = *state;
    set_witnesses(f, 2, 1);
    chain_3_6_10(f);
    cosig_spec by_w0 = {&f->w[0], NULL, NOW + 100, 0};
    take_head(f, 10, &by_w0, 1);
    assert_true(final(f, 10));
    assert_false(pending(f));

    set_witnesses(f, 2, 1); /* even the same settings */
    assert_false(final(f, 10));
    assert_false(final(f, 3));
    assert_int_equal(witnessing(f).witnessed_size, 0);
    assert_true(pending(f));

    take_head(f, 10, &by_w0, 1);
    assert_true(final(f, 10));

    uint8_t keys[ZB_WITNESS_MAX + 1][ZB_PK_LEN];
    memset(keys, 0, sizeof keys);
    for (size_t i = 0; i <= ZB_WITNESS_MAX; i++)
        keys[i][0] = (uint8_t)(i + 1);
    assert_int_equal(zb_node_set_witnesses(f->node, (const uint8_t(*)[ZB_PK_LEN])keys, 2, 3),
                     ZB_EINVAL);
    assert_int_equal(zb_node_set_witnesses(f->node, (const uint8_t(*)[ZB_PK_LEN])keys, 0, 1),
                     ZB_EINVAL);
    assert_int_equal(
        zb_node_set_witnesses(f->node, (const uint8_t(*)[ZB_PK_LEN])keys, ZB_WITNESS_MAX + 1, 1),
        ZB_EINVAL);
    zb_node_witnessing w = witnessing(f);
    assert_int_equal(w.n_keys, 2);
    assert_int_equal(w.quorum, 1);
    assert_memory_equal(w.keys[0], f->w[0].pk, ZB_PK_LEN);
    assert_memory_equal(w.keys[1], f->w[1].pk, ZB_PK_LEN);
    assert_int_equal(w.witnessed_size, 10);
    assert_true(final(f, 10)); /* a refused change resets nothing */

    /* all ZB_WITNESS_MAX keys at quorum ZB_WITNESS_MAX: allowed */
    assert_int_equal(zb_node_set_witnesses(f->node, (const uint8_t(*)[ZB_PK_LEN])keys,
                                           ZB_WITNESS_MAX, ZB_WITNESS_MAX),
                     ZB_OK);
    assert_int_equal(zb_node_witness_quorum(f->node), ZB_WITNESS_MAX);
    assert_false(final(f, 10));

    /* back to no witnesses: everything final again */
    assert_int_equal(zb_node_set_witnesses(f->node, NULL, 0, 0), ZB_OK);
    w = witnessing(f);
    assert_int_equal(w.n_keys, 0);
    assert_int_equal(w.quorum, 0);
    assert_true(final(f, 10));
    assert_false(pending(f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quorum_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quorum_one_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_of_admission_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cosignatures_that_do_not_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quorum_two_same_witness, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_witnessed_bad_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_older_witnessed_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_witnesses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_quorum, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
