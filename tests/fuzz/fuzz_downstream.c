/*
 * fuzz_downstream.c - a downstream message from the prefecture, as the node
 * receives it in a Deliver and the audit tool reads it from a log leaf:
 * zb_down_open with a fixed aggregator key on the input as a packed
 * SignedDownstream; and, since a fuzzer cannot forge signatures, the input
 * as the bare Downstream bytes, signed here with that key's secret half and
 * opened, so the strict decoding, the content rules and zb_down_to_json are
 * reached from arbitrary bytes. What opens goes on through zb_down_to_json.
 *
 * The key is derived from the fixed seed make_seeds.c gives the aggregator
 * (0x22 ...), so the seeds' signatures verify.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "downstream.h"
#include "err.h"
#include "fuzz.h"
#include "report.h"

/* Just over ZB_DOWN_MAX, so the size checks are reached from both sides. */
#define FUZZ_DOWN_MAX (ZB_DOWN_MAX + 1024u)

static zb_identity agg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    fuzz_identity(0x22, &agg);
    return 0;
}

/* What the node and the audit tool rely on in an opened message. */
static void use_opened(const Zb__Downstream *d)
{
    FUZZ_CHECK(d->version == ZB_DOWN_VERSION && d->number >= 1);
    FUZZ_CHECK(d->aggregator.len == ZB_PK_LEN &&
               memcmp(d->aggregator.data, agg.pk, ZB_PK_LEN) == 0);
    FUZZ_CHECK(d->county && strlen(d->county) == 6);
    zb_problems p = {0};
    zb_down_validate(d, &p);
    FUZZ_CHECK(p.n == 0);
    zb_problems_free(&p);
    const char *kind = zb_down_kind_name(d);
    FUZZ_CHECK(strcmp(kind, "unknown") != 0);
    json_t *j = zb_down_to_json(d);
    FUZZ_CHECK(j != NULL);
    FUZZ_CHECK(json_integer_value(json_object_get(j, "id")) == (json_int_t)d->number);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(j, "kind")), kind) == 0);
    FUZZ_CHECK(strcmp(json_string_value(json_object_get(j, "county")), d->county) == 0);
    char *text = json_dumps(j, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    free(text);
    json_decref(j);
}

static void check_failure(int rc, const Zb__Downstream *d)
{
    FUZZ_CHECK(d == NULL);
    FUZZ_CHECK(rc == ZB_ETOOBIG || rc == ZB_EDECODE || rc == ZB_EBADSIG || rc == ZB_EVALIDATION ||
               rc == ZB_ENOMEM);
}

/* The input as a packed SignedDownstream. */
static void as_signed(const uint8_t *data, size_t size)
{
    Zb__Downstream *d = NULL;
    int rc = zb_down_open(data, size, agg.pk, &d);
    if (rc) {
        check_failure(rc, d);
        return;
    }
    FUZZ_CHECK(d != NULL && zb_down_is_leaf(data, size) && size <= ZB_DOWN_MAX);
    use_opened(d);
    zb__downstream__free_unpacked(d, NULL);
    /* what opens is canonical: the unpacked path gives back the same leaf */
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, size, data);
    FUZZ_CHECK(sd != NULL);
    uint8_t *packed = NULL;
    size_t packed_len = 0;
    FUZZ_CHECK(zb_down_open_signed(sd, agg.pk, NULL, &packed, &packed_len) == ZB_OK);
    FUZZ_CHECK(packed_len == size && memcmp(packed, data, size) == 0);
    free(packed);
    zb__signed_downstream__free_unpacked(sd, NULL);
}

/* The input as the bytes the aggregator signs. */
static void as_body(const uint8_t *data, size_t size)
{
    uint8_t sig[ZB_SIG_LEN];
    FUZZ_CHECK(zb_sign_tagged(ZB_TAG_DOWNSTREAM, data, size, &agg, sig) == ZB_OK);
    Zb__SignedDownstream sd = ZB__SIGNED_DOWNSTREAM__INIT;
    sd.downstream = (ProtobufCBinaryData){size, (uint8_t *)data};
    sd.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    size_t len = zb__signed_downstream__get_packed_size(&sd);
    uint8_t *buf = malloc(len);
    FUZZ_CHECK(buf != NULL);
    zb__signed_downstream__pack(&sd, buf);
    FUZZ_CHECK(zb_down_is_leaf(buf, len));
    Zb__Downstream *d = NULL;
    int rc = zb_down_open(buf, len, agg.pk, &d);
    if (rc) {
        check_failure(rc, d);
        FUZZ_CHECK(rc != ZB_ETOOBIG || len > ZB_DOWN_MAX);
    } else {
        use_opened(d);
        /* strict: the signed bytes are exactly what the message packs to */
        size_t n = zb__downstream__get_packed_size(d);
        FUZZ_CHECK(n == size);
        uint8_t *again = malloc(n ? n : 1);
        FUZZ_CHECK(again != NULL);
        zb__downstream__pack(d, again);
        FUZZ_CHECK(memcmp(again, data, n) == 0);
        free(again);
        zb__downstream__free_unpacked(d, NULL);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_DOWN_MAX)
        return -1;
    as_signed(data, size);
    as_body(data, size);
    return 0;
}
