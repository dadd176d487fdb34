/*
 * fuzz_cosig.c - what the aggregator reads from a witness and what nodes
 * and auditors read on a tree head: the input as a WitnessResponse opened
 * with zb_witness_answer_open for a fixed head (seeds: a COSIGNED answer
 * signed by the fixed witness key, a CONFLICT, a REFUSED with a reason),
 * and as a SignedTreeHead whose cosignatures are tallied against the
 * witness key list. Since a fuzzer cannot forge signatures, the input's
 * first 8 bytes are also used as a witness timestamp, signed here and
 * wrapped in a COSIGNED answer, which must then open.
 *
 * Keys: the aggregator's seed is 0x22..., the witness's 0x33... (as the
 * seeds were made); the head: size 5, root 0x44....
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "fuzz.h"

static zb_identity agg, wit;
static zb_tree_head head;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    fuzz_identity(0x22, &agg);
    fuzz_identity(0x33, &wit);
    head.size = 5;
    memset(head.root, 0x44, sizeof head.root);
    head.timestamp = 1790000000;
    return 0;
}

static void check_answer(const uint8_t *data, size_t size)
{
    zb_witness_answer ans;
    if (zb_witness_answer_open(data, size, wit.pk, agg.pk, &head, &ans) != 0) {
        FUZZ_CHECK(ans.cosignature == NULL);
        return;
    }
    FUZZ_CHECK(strlen(ans.reason) < sizeof ans.reason);
    for (const char *p = ans.reason; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
    if (ans.status == ZB__WITNESS_STATUS__COSIGNED) {
        FUZZ_CHECK(ans.cosignature != NULL);
        FUZZ_CHECK(memcmp(ans.cosignature->witness.data, wit.pk, ZB_PK_LEN) == 0);
        FUZZ_CHECK(zb_cosig_verify(ans.cosignature, agg.pk, &head) == 0);
        zb__cosignature__free_unpacked(ans.cosignature, NULL);
    } else {
        FUZZ_CHECK(ans.cosignature == NULL);
    }
}

static void check_tally(const uint8_t *data, size_t size)
{
    Zb__SignedTreeHead *sth = zb__signed_tree_head__unpack(NULL, size, data);
    if (!sth)
        return;
    const uint8_t keys[2][ZB_PK_LEN] = {{0}, {0}};
    uint8_t list[2][ZB_PK_LEN];
    memcpy(list[0], keys[0], ZB_PK_LEN);
    memcpy(list[1], wit.pk, ZB_PK_LEN);
    zb_cosig_tally t;
    zb_cosig_tally_head(sth, agg.pk, &head, (const uint8_t(*)[ZB_PK_LEN])list, 2, &t);
    FUZZ_CHECK(t.valid <= 1); /* only the real witness can have signed */
    for (size_t i = 0; i < t.valid; i++)
        FUZZ_CHECK(memcmp(t.witnesses[i], wit.pk, ZB_PK_LEN) == 0);
    FUZZ_CHECK(t.valid + t.invalid + t.unlisted <= sth->n_cosignatures);
    int64_t at;
    int rc = zb_cosig_quorum_time(&t, 1, &at);
    FUZZ_CHECK(rc == (t.valid ? ZB_OK : ZB_ENOTFOUND));
    zb__signed_tree_head__free_unpacked(sth, NULL);
}

/* The input's timestamp, cosigned for real: a good answer must open. */
static void check_signed(const uint8_t *data, size_t size)
{
    if (size < 8)
        return;
    int64_t ts = 0;
    memcpy(&ts, data, sizeof ts);
    uint8_t sig[ZB_SIG_LEN];
    if (zb_cosig_sign(&wit, agg.pk, &head, ts, sig) != 0)
        return;
    Zb__Cosignature c = ZB__COSIGNATURE__INIT;
    c.witness = (ProtobufCBinaryData){ZB_PK_LEN, wit.pk};
    c.timestamp = ts;
    c.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    Zb__WitnessResponse r = ZB__WITNESS_RESPONSE__INIT;
    r.status = ZB__WITNESS_STATUS__COSIGNED;
    r.cosignature = &c;
    uint8_t buf[512];
    size_t len = zb__witness_response__pack(&r, buf);
    zb_witness_answer ans;
    FUZZ_CHECK(zb_witness_answer_open(buf, len, wit.pk, agg.pk, &head, &ans) == 0);
    FUZZ_CHECK(ans.cosignature && ans.cosignature->timestamp == ts);
    zb__cosignature__free_unpacked(ans.cosignature, NULL);
    /* the same cosignature for another head must not open */
    zb_tree_head other = head;
    other.size++;
    FUZZ_CHECK(zb_cosig_verify(&c, agg.pk, &other) == ZB_EBADSIG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > ZB_WITNESS_FRAME_MAX + 1024)
        return 0;
    check_answer(data, size);
    check_tally(data, size);
    check_signed(data, size);
    return 0;
}
