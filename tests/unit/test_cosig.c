/*
 * test_cosig.c - witness cosignatures (common/cosig.h) as pure functions:
 *
 *   - zb_cosig_sign / zb_cosig_verify: a cosignature is bound to the
 *     head's size and root, the aggregator's key and its own timestamp;
 *     fields of the wrong length are ZB_EDECODE;
 *   - zb_cosig_tally_head: valid / invalid / unlisted counts, a witness
 *     counted once at its earliest valid time, a forged cosignature
 *     naming a listed witness, times ascending, the cap on how many
 *     cosignatures are looked at;
 *   - zb_cosig_quorum_time, zb_cosig_parse_keys;
 *   - zb_witness_answer_open: what the aggregator accepts from a witness.
 *
 * Heads are plain zb_tree_head values and signed tree heads are built with
 * fresh identities: nothing here touches a store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "treehead.h"

#define T0 1800000000 /* 2027-01-15 */

static zb_identity AGG, W[ZB_WITNESS_MAX + 2];

static int setup_group(void **state)
{
    (void)state;
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_cosig", ZB_LOG_ERROR, false);
    zb_identity_generate(&AGG);
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++)
        zb_identity_generate(&W[i]);
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    zb_identity_wipe(&AGG);
    for (size_t i = 0; i < sizeof W / sizeof W[0]; i++)
        zb_identity_wipe(&W[i]);
    return 0;
}

/* ------------------------------------------------------------ helpers */

static zb_tree_head head_of(uint64_t size, uint8_t fill)
{
    zb_tree_head h;
    h.size = size;
    memset(h.root, fill, ZB_HASH_LEN);
    h.timestamp = T0;
    return h;
}

/* A cosignature held in its own storage (the protobuf points into it). */
typedef struct {
    uint8_t pk[ZB_PK_LEN];
    uint8_t sig[ZB_SIG_LEN];
    Zb__Cosignature c;
} cosig;

static void make_cosig(cosig *out, const zb_identity *witness, const uint8_t agg_pk[ZB_PK_LEN],
                       const zb_tree_head *head, int64_t at)
{
    memcpy(out->pk, witness->pk, ZB_PK_LEN);
    assert_int_equal(zb_cosig_sign(witness, agg_pk, head, at, out->sig), ZB_OK);
    zb__cosignature__init(&out->c);
    out->c.witness = (ProtobufCBinaryData){ZB_PK_LEN, out->pk};
    out->c.timestamp = at;
    out->c.signature = (ProtobufCBinaryData){ZB_SIG_LEN, out->sig};
}

/* keys[i] = W[first + i].pk for i < n. */
static void keys_of(uint8_t (*keys)[ZB_PK_LEN], size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(keys[i], W[first + i].pk, ZB_PK_LEN);
}

/* A SignedTreeHead carrying cosignatures cs[0..n) (the tree head itself is
 * not looked at by the tally: it is given the decoded head). */
static Zb__SignedTreeHead sth_with(cosig *cs, size_t n, Zb__Cosignature **ptrs)
{
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &cs[i].c;
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.n_cosignatures = n;
    sth.cosignatures = ptrs;
    return sth;
}

/* ------------------------------------------------------------ sign / verify */

static void test_sign_verify(void **state)
{
    (void)state;
    zb_tree_head h = head_of(42, 0xab);
    cosig c;
    make_cosig(&c, &W[0], AGG.pk, &h, T0 + 5);
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_OK);

    /* another size */
    zb_tree_head other = h;
    other.size = 43;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &other), ZB_EBADSIG);
    /* another root (one bit) */
    other = h;
    other.root[31] ^= 0x01;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &other), ZB_EBADSIG);
    /* another aggregator's log */
    zb_identity agg2;
    zb_identity_generate(&agg2);
    assert_int_equal(zb_cosig_verify(&c.c, agg2.pk, &h), ZB_EBADSIG);
    zb_identity_wipe(&agg2);
    /* the head's own timestamp is not signed: only the witness's */
    other = h;
    other.timestamp = T0 + 999;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &other), ZB_OK);
    /* another cosignature time */
    c.c.timestamp = T0 + 6;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_EBADSIG);
    c.c.timestamp = T0 + 5;
    /* another witness claimed */
    c.c.witness.data = W[1].pk;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_EBADSIG);
    c.c.witness.data = c.pk;
    /* a flipped signature bit */
    c.sig[10] ^= 0x04;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_EBADSIG);
    c.sig[10] ^= 0x04;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_OK);
}

static void test_verify_field_lengths(void **state)
{
    (void)state;
    zb_tree_head h = head_of(7, 0x11);
    cosig c;
    make_cosig(&c, &W[0], AGG.pk, &h, T0);
    c.c.witness.len = ZB_PK_LEN - 1;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_EDECODE);
    c.c.witness.len = ZB_PK_LEN + 1;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_EDECODE);
    c.c.witness.len = ZB_PK_LEN;
    c.c.signature.len = ZB_SIG_LEN - 1;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_EDECODE);
    c.c.signature.len = 0;
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_EDECODE);
    c.c.signature.len = ZB_SIG_LEN;
    assert_int_equal(zb_cosig_verify(NULL, AGG.pk, &h), ZB_EDECODE);
    assert_int_equal(zb_cosig_verify(&c.c, AGG.pk, &h), ZB_OK);
}

/* ------------------------------------------------------------ tally */

/* Listed W0..W2; cosignatures by W0 (valid), W1 (valid), W3 (unlisted),
 * W2 forged (signed by W4, claiming W2), W1 again for another head. */
static void test_tally_counts(void **state)
{
    (void)state;
    zb_tree_head h = head_of(100, 0x5a), h2 = head_of(101, 0x5a);
    uint8_t keys[3][ZB_PK_LEN];
    keys_of(keys, 0, 3);
    cosig cs[5];
    make_cosig(&cs[0], &W[0], AGG.pk, &h, T0 + 20);
    make_cosig(&cs[1], &W[1], AGG.pk, &h, T0 + 10);
    make_cosig(&cs[2], &W[3], AGG.pk, &h, T0 + 5);
    make_cosig(&cs[3], &W[4], AGG.pk, &h, T0 + 1);
    memcpy(cs[3].pk, W[2].pk, ZB_PK_LEN);           /* forged: claims W2 */
    make_cosig(&cs[4], &W[1], AGG.pk, &h2, T0 + 2); /* W1, for another head */
    Zb__Cosignature *ptrs[5];
    Zb__SignedTreeHead sth = sth_with(cs, 5, ptrs);
    zb_cosig_tally t;
    zb_cosig_tally_head(&sth, AGG.pk, &h, (const uint8_t(*)[ZB_PK_LEN])keys, 3, &t);
    assert_int_equal(t.valid, 2);
    assert_int_equal(t.invalid, 2); /* the forged W2 and W1's for h2 */
    assert_int_equal(t.unlisted, 1);
    assert_int_equal(t.times[0], T0 + 10);
    assert_memory_equal(t.witnesses[0], W[1].pk, ZB_PK_LEN);
    assert_int_equal(t.times[1], T0 + 20);
    assert_memory_equal(t.witnesses[1], W[0].pk, ZB_PK_LEN);

    /* with no keys listed every cosignature is unlisted, none checked */
    zb_cosig_tally_head(&sth, AGG.pk, &h, NULL, 0, &t);
    assert_int_equal(t.valid, 0);
    assert_int_equal(t.invalid, 0);
    assert_int_equal(t.unlisted, 5);

    /* a cosignature whose witness field has the wrong length is unlisted */
    cs[0].c.witness.len = 31;
    zb_cosig_tally_head(&sth, AGG.pk, &h, (const uint8_t(*)[ZB_PK_LEN])keys, 3, &t);
    assert_int_equal(t.valid, 1);
    assert_int_equal(t.unlisted, 2);
    assert_int_equal(t.invalid, 2);
}

/* The same witness twice counts once, at its earliest valid time, in
 * either order; a later invalid one by it does not disturb that. */
static void test_tally_same_witness_twice(void **state)
{
    (void)state;
    zb_tree_head h = head_of(9, 0x77);
    uint8_t keys[2][ZB_PK_LEN];
    keys_of(keys, 0, 2);
    cosig cs[4];
    make_cosig(&cs[0], &W[0], AGG.pk, &h, T0 + 50); /* W0 late */
    make_cosig(&cs[1], &W[1], AGG.pk, &h, T0 + 30); /* W1 */
    make_cosig(&cs[2], &W[0], AGG.pk, &h, T0 + 10); /* W0 early */
    make_cosig(&cs[3], &W[0], AGG.pk, &h, T0 + 70); /* W0 later still */
    Zb__Cosignature *ptrs[4];
    Zb__SignedTreeHead sth = sth_with(cs, 4, ptrs);
    zb_cosig_tally t;
    zb_cosig_tally_head(&sth, AGG.pk, &h, (const uint8_t(*)[ZB_PK_LEN])keys, 2, &t);
    assert_int_equal(t.valid, 2);
    assert_int_equal(t.invalid, 0);
    assert_int_equal(t.unlisted, 0);
    assert_int_equal(t.times[0], T0 + 10);
    assert_memory_equal(t.witnesses[0], W[0].pk, ZB_PK_LEN);
    assert_int_equal(t.times[1], T0 + 30);
    assert_memory_equal(t.witnesses[1], W[1].pk, ZB_PK_LEN);

    /* the earliest first, then the later one */
    ptrs[0] = &cs[2].c;
    ptrs[1] = &cs[0].c;
    sth.n_cosignatures = 2;
    zb_cosig_tally_head(&sth, AGG.pk, &h, (const uint8_t(*)[ZB_PK_LEN])keys, 2, &t);
    assert_int_equal(t.valid, 1);
    assert_int_equal(t.times[0], T0 + 10);

    /* only one witness, twice: a quorum of 2 is not reached */
    int64_t at = 0;
    assert_int_equal(zb_cosig_quorum_time(&t, 2, &at), ZB_ENOTFOUND);
    assert_int_equal(zb_cosig_quorum_time(&t, 1, &at), ZB_OK);
    assert_int_equal(at, T0 + 10);

    /* an earlier but forged one in W0's name does not move its time */
    cosig forged;
    make_cosig(&forged, &W[5], AGG.pk, &h, T0 + 1);
    memcpy(forged.pk, W[0].pk, ZB_PK_LEN);
    ptrs[2] = &forged.c;
    sth.n_cosignatures = 3;
    zb_cosig_tally_head(&sth, AGG.pk, &h, (const uint8_t(*)[ZB_PK_LEN])keys, 2, &t);
    assert_int_equal(t.valid, 1);
    assert_int_equal(t.invalid, 1);
    assert_int_equal(t.times[0], T0 + 10);
}

/* Times come out ascending whatever the order the cosignatures came in,
 * each with its witness. */
static void test_tally_ascending(void **state)
{
    (void)state;
    zb_tree_head h = head_of(1000, 0x01);
    enum { N = 6 };
    static const int64_t at[N] = {40, 10, 60, 20, 50, 30};
    uint8_t keys[N][ZB_PK_LEN];
    keys_of(keys, 0, N);
    cosig cs[N];
    for (size_t i = 0; i < N; i++)
        make_cosig(&cs[i], &W[i], AGG.pk, &h, T0 + at[i]);
    Zb__Cosignature *ptrs[N];
    Zb__SignedTreeHead sth = sth_with(cs, N, ptrs);
    zb_cosig_tally t;
    zb_cosig_tally_head(&sth, AGG.pk, &h, (const uint8_t(*)[ZB_PK_LEN])keys, N, &t);
    assert_int_equal(t.valid, N);
    for (size_t j = 0; j < N; j++) {
        assert_int_equal(t.times[j], T0 + 10 * (int64_t)(j + 1));
        size_t i = 0;
        while (at[i] != 10 * (int64_t)(j + 1))
            i++;
        assert_memory_equal(t.witnesses[j], W[i].pk, ZB_PK_LEN);
    }
    /* the K-th earliest */
    int64_t when = 0;
    assert_int_equal(zb_cosig_quorum_time(&t, 1, &when), ZB_OK);
    assert_int_equal(when, T0 + 10);
    assert_int_equal(zb_cosig_quorum_time(&t, 3, &when), ZB_OK);
    assert_int_equal(when, T0 + 30);
    assert_int_equal(zb_cosig_quorum_time(&t, N, &when), ZB_OK);
    assert_int_equal(when, T0 + 60);
    when = 12345;
    assert_int_equal(zb_cosig_quorum_time(&t, N + 1, &when), ZB_ENOTFOUND);
    assert_int_equal(when, 12345);
    assert_int_equal(zb_cosig_quorum_time(&t, 0, &when), ZB_EINVAL);
}

/* More cosignatures than ZB_WITNESS_MAX: 16 listed witnesses each valid
 * (plus two repeats), then unlisted ones; no more than 4 * ZB_WITNESS_MAX
 * are looked at. */
static void test_tally_many(void **state)
{
    (void)state;
    zb_tree_head h = head_of(77, 0xee);
    enum { LISTED = ZB_WITNESS_MAX, TOTAL = 4 * ZB_WITNESS_MAX + 10 };
    uint8_t keys[LISTED][ZB_PK_LEN];
    keys_of(keys, 0, LISTED);
    cosig *cs = calloc(TOTAL, sizeof *cs);
    Zb__Cosignature **ptrs = calloc(TOTAL, sizeof *ptrs);
    assert_non_null(cs);
    assert_non_null(ptrs);
    for (size_t i = 0; i < LISTED; i++) /* descending times: each inserted first */
        make_cosig(&cs[i], &W[i], AGG.pk, &h, T0 + 100 - (int64_t)i);
    make_cosig(&cs[LISTED], &W[3], AGG.pk, &h, T0 + 500);        /* a repeat, later */
    make_cosig(&cs[LISTED + 1], &W[LISTED - 1], AGG.pk, &h, T0); /* a repeat, earlier */
    for (size_t i = LISTED + 2; i < TOTAL; i++)                  /* unlisted (W16) */
        make_cosig(&cs[i], &W[LISTED], AGG.pk, &h, T0 + (int64_t)i);
    Zb__SignedTreeHead sth = sth_with(cs, TOTAL, ptrs);
    zb_cosig_tally t;
    zb_cosig_tally_head(&sth, AGG.pk, &h, (const uint8_t(*)[ZB_PK_LEN])keys, LISTED, &t);
    assert_int_equal(t.valid, LISTED);
    assert_int_equal(t.invalid, 0);
    assert_int_equal(t.unlisted, 4 * ZB_WITNESS_MAX - LISTED - 2);
    assert_int_equal(t.times[0], T0);
    assert_memory_equal(t.witnesses[0], W[LISTED - 1].pk, ZB_PK_LEN);
    for (size_t j = 1; j < LISTED; j++) {
        assert_true(t.times[j - 1] <= t.times[j]);
        assert_int_equal(t.times[j], T0 + 100 - (int64_t)(LISTED - 1 - j));
    }
    int64_t at;
    assert_int_equal(zb_cosig_quorum_time(&t, LISTED, &at), ZB_OK);
    assert_int_equal(at, T0 + 100);
    free(ptrs);
    free(cs);
}

/* ------------------------------------------------------------ parse_keys */

static void test_parse_keys(void **state)
{
    (void)state;
    char hex[ZB_WITNESS_MAX + 1][2 * ZB_PK_LEN + 1];
    const char *args[ZB_WITNESS_MAX + 1];
    for (size_t i = 0; i <= ZB_WITNESS_MAX; i++) {
        zb_hex_encode(W[i].pk, ZB_PK_LEN, hex[i]);
        args[i] = hex[i];
    }
    uint8_t out[ZB_WITNESS_MAX + 1][ZB_PK_LEN];
    char err[200] = "";
    assert_int_equal(zb_cosig_parse_keys(args, 2, out, err, sizeof err), ZB_OK);
    assert_memory_equal(out[0], W[0].pk, ZB_PK_LEN);
    assert_memory_equal(out[1], W[1].pk, ZB_PK_LEN);
    assert_int_equal(zb_cosig_parse_keys(args, ZB_WITNESS_MAX, out, err, sizeof err), ZB_OK);
    assert_memory_equal(out[ZB_WITNESS_MAX - 1], W[ZB_WITNESS_MAX - 1].pk, ZB_PK_LEN);
    assert_int_equal(zb_cosig_parse_keys(args, 0, out, err, sizeof err), ZB_OK);

    /* too many */
    assert_int_equal(zb_cosig_parse_keys(args, ZB_WITNESS_MAX + 1, out, err, sizeof err),
                     ZB_EINVAL);
    assert_string_equal(err, "--witness-key: at most 16 witness keys");

    /* not hex, too short, too long */
    const char *bad[3] = {hex[0], "nothex", hex[1]};
    assert_int_equal(zb_cosig_parse_keys(bad, 3, out, err, sizeof err), ZB_EINVAL);
    assert_string_equal(err, "--witness-key: 'nothex' is not a key (64 hex digits)");
    char shorter[2 * ZB_PK_LEN + 1], longer[2 * ZB_PK_LEN + 3], nonhex[2 * ZB_PK_LEN + 1];
    memcpy(shorter, hex[0], sizeof shorter);
    shorter[2 * ZB_PK_LEN - 2] = '\0';
    snprintf(longer, sizeof longer, "%s00", hex[0]);
    memcpy(nonhex, hex[0], sizeof nonhex);
    nonhex[7] = 'g';
    const char *one[1];
    one[0] = shorter;
    assert_int_equal(zb_cosig_parse_keys(one, 1, out, err, sizeof err), ZB_EINVAL);
    one[0] = longer;
    assert_int_equal(zb_cosig_parse_keys(one, 1, out, err, sizeof err), ZB_EINVAL);
    one[0] = nonhex;
    assert_int_equal(zb_cosig_parse_keys(one, 1, out, err, sizeof err), ZB_EINVAL);
    assert_non_null(strstr(err, "is not a key (64 hex digits)"));

    /* a repeat, also in another case of hex digits */
    const char *twice[3] = {hex[0], hex[1], hex[0]};
    assert_int_equal(zb_cosig_parse_keys(twice, 3, out, err, sizeof err), ZB_EINVAL);
    char want[200];
    snprintf(want, sizeof want, "--witness-key: %s given twice", hex[0]);
    assert_string_equal(err, want);
    char upper[2 * ZB_PK_LEN + 1];
    for (size_t i = 0; i <= 2 * ZB_PK_LEN; i++)
        upper[i] = (hex[1][i] >= 'a' && hex[1][i] <= 'f') ? (char)(hex[1][i] - 32) : hex[1][i];
    const char *twice_upper[2] = {hex[1], upper};
    assert_int_equal(zb_cosig_parse_keys(twice_upper, 2, out, err, sizeof err), ZB_EINVAL);
    assert_non_null(strstr(err, " given twice"));
}

/* ------------------------------------------------------------ witness answers */

/* A packed WitnessResponse (malloc'd). c may be NULL; reason may be NULL. */
static uint8_t *response(int status, const Zb__Cosignature *c, bool has_size, uint64_t size,
                         const char *reason, size_t *len)
{
    Zb__WitnessResponse r = ZB__WITNESS_RESPONSE__INIT;
    r.status = (Zb__WitnessStatus)status;
    r.cosignature = (Zb__Cosignature *)c;
    r.has_size = has_size;
    r.size = size;
    r.reason = (char *)reason;
    *len = zb__witness_response__get_packed_size(&r);
    uint8_t *buf = malloc(*len ? *len : 1);
    assert_non_null(buf);
    zb__witness_response__pack(&r, buf);
    return buf;
}

static void test_answer_cosigned(void **state)
{
    (void)state;
    zb_tree_head h = head_of(300, 0x3c), h2 = head_of(301, 0x3c);
    cosig good, other_witness, other_head;
    make_cosig(&good, &W[0], AGG.pk, &h, T0 + 3);
    make_cosig(&other_witness, &W[1], AGG.pk, &h, T0 + 3);
    make_cosig(&other_head, &W[0], AGG.pk, &h2, T0 + 3);
    size_t len;
    zb_witness_answer a;

    uint8_t *b = response(ZB__WITNESS_STATUS__COSIGNED, &good.c, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    assert_int_equal(a.status, ZB__WITNESS_STATUS__COSIGNED);
    assert_non_null(a.cosignature);
    assert_int_equal(a.cosignature->timestamp, T0 + 3);
    assert_memory_equal(a.cosignature->witness.data, W[0].pk, ZB_PK_LEN);
    assert_int_equal(zb_cosig_verify(a.cosignature, AGG.pk, &h), ZB_OK);
    zb__cosignature__free_unpacked(a.cosignature, NULL);
    /* the same answer, read as one from another witness */
    assert_int_equal(zb_witness_answer_open(b, len, W[1].pk, AGG.pk, &h, &a), ZB_EDECODE);
    assert_int_equal(a.status, ZB__WITNESS_STATUS__COSIGNED);
    assert_null(a.cosignature);
    /* ... or to a request for another head, or of another log */
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h2, &a), ZB_EDECODE);
    assert_null(a.cosignature);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, W[5].pk, &h, &a), ZB_EDECODE);
    assert_null(a.cosignature);
    free(b);

    /* a valid cosignature by another witness than the one asked */
    b = response(ZB__WITNESS_STATUS__COSIGNED, &other_witness.c, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_EDECODE);
    assert_null(a.cosignature);
    free(b);
    /* the asked witness's cosignature of another head */
    b = response(ZB__WITNESS_STATUS__COSIGNED, &other_head.c, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_EDECODE);
    assert_null(a.cosignature);
    free(b);
    /* COSIGNED without a cosignature */
    b = response(ZB__WITNESS_STATUS__COSIGNED, NULL, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_EDECODE);
    assert_int_equal(a.status, ZB__WITNESS_STATUS__COSIGNED);
    assert_null(a.cosignature);
    free(b);
    /* a short witness field */
    good.c.witness.len = 16;
    b = response(ZB__WITNESS_STATUS__COSIGNED, &good.c, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_EDECODE);
    free(b);
}

static void test_answer_other_statuses(void **state)
{
    (void)state;
    zb_tree_head h = head_of(300, 0x3c);
    size_t len;
    zb_witness_answer a;

    uint8_t *b = response(ZB__WITNESS_STATUS__CONFLICT, NULL, true, 280, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    assert_int_equal(a.status, ZB__WITNESS_STATUS__CONFLICT);
    assert_int_equal(a.size, 280);
    assert_string_equal(a.reason, "");
    assert_null(a.cosignature);
    free(b);

    b = response(ZB__WITNESS_STATUS__REFUSED, NULL, true, 310, "smaller than size 310", &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    assert_int_equal(a.status, ZB__WITNESS_STATUS__REFUSED);
    assert_int_equal(a.size, 310);
    assert_string_equal(a.reason, "smaller than size 310");
    free(b);

    /* REFUSED without a size: 0 */
    b = response(ZB__WITNESS_STATUS__REFUSED, NULL, false, 999, "no", &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    assert_int_equal(a.size, 0);
    free(b);

    /* control characters and non-ASCII bytes in a reason: '?' each */
    b = response(ZB__WITNESS_STATUS__BAD_REQUEST, NULL, false, 0, "bad\nline\x1b[31m\x7f\xc3\xa9!",
                 &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    assert_int_equal(a.status, ZB__WITNESS_STATUS__BAD_REQUEST);
    assert_string_equal(a.reason, "bad?line?[31m???"
                                  "!");
    free(b);

    /* a long reason is cut to the buffer, NUL-terminated */
    char longreason[500];
    memset(longreason, 'x', sizeof longreason - 1);
    longreason[sizeof longreason - 1] = '\0';
    b = response(ZB__WITNESS_STATUS__REFUSED, NULL, false, 0, longreason, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    assert_int_equal(strlen(a.reason), sizeof a.reason - 1);
    free(b);

    b = response(ZB__WITNESS_STATUS__UNKNOWN_LOG, NULL, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    assert_int_equal(a.status, ZB__WITNESS_STATUS__UNKNOWN_LOG);
    free(b);

    /* an unknown status, and the unspecified one */
    b = response(9, NULL, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_EDECODE);
    assert_null(a.cosignature);
    free(b);
    b = response(ZB__WITNESS_STATUS__WITNESS_STATUS_UNSPECIFIED, NULL, false, 0, NULL, &len);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_EDECODE);
    free(b);

    /* undecodable */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(zb_witness_answer_open(junk, sizeof junk, W[0].pk, AGG.pk, &h, &a),
                     ZB_EDECODE);

    /* too long: a frame over ZB_WITNESS_FRAME_MAX, even a decodable one
     * (a REFUSED whose reason fills it) */
    size_t big = ZB_WITNESS_FRAME_MAX + 1;
    char *reason = malloc(big);
    assert_non_null(reason);
    memset(reason, 'r', big - 1);
    reason[big - 1] = '\0';
    b = response(ZB__WITNESS_STATUS__REFUSED, NULL, false, 0, reason, &len);
    assert_true(len > ZB_WITNESS_FRAME_MAX);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_EDECODE);
    free(b);
    /* just under the cap: decoded */
    reason[ZB_WITNESS_FRAME_MAX - 16] = '\0';
    b = response(ZB__WITNESS_STATUS__REFUSED, NULL, false, 0, reason, &len);
    assert_true(len <= ZB_WITNESS_FRAME_MAX);
    assert_int_equal(zb_witness_answer_open(b, len, W[0].pk, AGG.pk, &h, &a), ZB_OK);
    free(b);
    free(reason);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_verify_field_lengths),
        cmocka_unit_test(test_tally_counts),
        cmocka_unit_test(test_tally_same_witness_twice),
        cmocka_unit_test(test_tally_ascending),
        cmocka_unit_test(test_tally_many),
        cmocka_unit_test(test_parse_keys),
        cmocka_unit_test(test_answer_cosigned),
        cmocka_unit_test(test_answer_other_statuses),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
