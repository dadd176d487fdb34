/*
 * fuzz_keys.c - the key material that crosses the network or the file
 * system: a node's key request (`zhibao-agg enroll --request FILE`), and a
 * log leaf as a node reads it from its Welcome's key events and the audit
 * tool from a bundle.
 *
 * The first byte chooses what the rest is:
 *   0  a packed SignedKeyRequest: zb_keyreq_open;
 *   1  a LogLeaf: zb_leaf_decode, and zb_key_event_check when it holds a
 *      key event;
 *   2  bare KeyRequest bytes, signed here with a fixed key (a fuzzer cannot
 *      forge signatures) and opened, so the strict decoding of the inner
 *      layer is reached from arbitrary bytes.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "fuzz.h"
#include "logleaf.h"

static zb_identity key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    fuzz_identity(0x33, &key);
    return 0;
}

/* What every caller relies on in an opened request. */
static void check_request(int rc, Zb__KeyRequest *r)
{
    FUZZ_CHECK(rc == ZB_OK || rc == ZB_EDECODE || rc == ZB_EBADSIG || rc == ZB_ETOOBIG);
    FUZZ_CHECK((rc == ZB_OK) == (r != NULL));
    if (!r)
        return;
    FUZZ_CHECK(r->county && strlen(r->county) == 6 && r->key.len == ZB_PK_LEN);
    FUZZ_CHECK(!r->has_previous_key ||
               (r->previous_key.len == ZB_PK_LEN && r->has_after_seq && r->has_after_hash &&
                r->after_hash.len == ZB_SHA256_LEN));
    zb__key_request__free_unpacked(r, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > ZB_LEAF_MAX + 1024)
        return 0;
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    switch (data[0] % 3) {
    case 0: {
        Zb__KeyRequest *r = NULL;
        check_request(zb_keyreq_open(in, len, &r), r);
        break;
    }
    case 1: {
        Zb__LogLeaf *l = NULL;
        int rc = zb_leaf_decode(in, len, &l);
        FUZZ_CHECK(rc == ZB_OK || rc == ZB_EDECODE || rc == ZB_ETOOBIG);
        FUZZ_CHECK((rc == ZB_OK) == (l != NULL));
        if (!l)
            break;
        /* decoded leaves re-encode to exactly the input: canonical */
        uint8_t *buf;
        size_t n;
        FUZZ_CHECK(zb_leaf_pack(l, &buf, &n) == ZB_OK);
        FUZZ_CHECK(n == len && memcmp(buf, in, n) == 0);
        free(buf);
        if (l->entry_case == ZB__LOG_LEAF__ENTRY_KEY_EVENT) {
            char why[200];
            int kr = zb_key_event_check(l->key_event, why, sizeof why);
            FUZZ_CHECK(kr == ZB_OK || kr == ZB_EBADSIG || kr == ZB_EDECODE);
            FUZZ_CHECK(kr == ZB_OK || why[0] != '\0');
        }
        zb__log_leaf__free_unpacked(l, NULL);
        break;
    }
    default: {
        if (len > ZB_KEYREQ_MAX)
            break;
        uint8_t sig[ZB_SIG_LEN];
        if (zb_sign_tagged(ZB_TAG_KEY_REQUEST, in, len, &key, sig) != 0)
            break;
        Zb__SignedKeyRequest s = ZB__SIGNED_KEY_REQUEST__INIT;
        s.request = (ProtobufCBinaryData){len, (uint8_t *)in};
        s.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
        size_t n = zb__signed_key_request__get_packed_size(&s);
        uint8_t *buf = malloc(n);
        if (!buf)
            break;
        zb__signed_key_request__pack(&s, buf);
        Zb__KeyRequest *r = NULL;
        int rc = zb_keyreq_open(buf, n, &r);
        /* what opens was signed by this key, for this key */
        if (rc == ZB_OK)
            FUZZ_CHECK(memcmp(r->key.data, key.pk, ZB_PK_LEN) == 0);
        check_request(rc, r);
        free(buf);
        break;
    }
    }
    return 0;
}
