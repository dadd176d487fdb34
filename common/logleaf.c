/* logleaf.c - see logleaf.h. */
#include "logleaf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "merkle.h"

bool zb_leaf_is_logleaf(const uint8_t *entry, size_t len)
{
    /* field 18, wire type 0: tag varint (18 << 3) = 0x90 0x01 */
    return len >= 2 && entry[0] == 0x90 && entry[1] == 0x01;
}

int zb_leaf_pack(const Zb__LogLeaf *leaf, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    size_t n = zb__log_leaf__get_packed_size(leaf);
    if (n > ZB_LEAF_MAX)
        return ZB_ETOOBIG;
    uint8_t *buf = malloc(n);
    if (!buf)
        return ZB_ENOMEM;
    zb__log_leaf__pack(leaf, buf);
    *out = buf;
    *len = n;
    return ZB_OK;
}

int zb_leaf_of_envelope(int64_t t, const uint8_t *env, size_t len, uint8_t **out, size_t *out_len)
{
    Zb__LogLeaf leaf = ZB__LOG_LEAF__INIT;
    leaf.timestamp = t;
    leaf.entry_case = ZB__LOG_LEAF__ENTRY_ENVELOPE;
    leaf.envelope = (ProtobufCBinaryData){len, (uint8_t *)env};
    return zb_leaf_pack(&leaf, out, out_len);
}

int zb_leaf_of_downstream(int64_t t, const uint8_t *msg, size_t len, uint8_t **out,
                          size_t *out_len)
{
    Zb__LogLeaf leaf = ZB__LOG_LEAF__INIT;
    leaf.timestamp = t;
    leaf.entry_case = ZB__LOG_LEAF__ENTRY_DOWNSTREAM;
    leaf.downstream = (ProtobufCBinaryData){len, (uint8_t *)msg};
    return zb_leaf_pack(&leaf, out, out_len);
}

int zb_leaf_hash_envelope(const uint8_t *env, size_t len, bool timed, int64_t t,
                          uint8_t out[ZB_HASH_LEN])
{
    if (!timed) {
        zb_merkle_leaf_hash(env, len, out);
        return ZB_OK;
    }
    uint8_t *leaf;
    size_t n;
    int rc = zb_leaf_of_envelope(t, env, len, &leaf, &n);
    if (rc)
        return rc;
    zb_merkle_leaf_hash(leaf, n, out);
    free(leaf);
    return ZB_OK;
}

int zb_leaf_decode(const uint8_t *buf, size_t len, Zb__LogLeaf **out)
{
    *out = NULL;
    if (len > ZB_LEAF_MAX)
        return ZB_ETOOBIG;
    if (!zb_leaf_is_logleaf(buf, len))
        return ZB_EDECODE;
    Zb__LogLeaf *l = zb__log_leaf__unpack(NULL, len, buf);
    if (!l)
        return ZB_EDECODE;
    bool ok = !zb_pb_has_unknown_fields(&l->base) && zb_pb_canonical(&l->base, buf, len);
    switch (l->entry_case) {
    case ZB__LOG_LEAF__ENTRY_ENVELOPE:
    case ZB__LOG_LEAF__ENTRY_DOWNSTREAM: break;
    case ZB__LOG_LEAF__ENTRY_KEY_EVENT: {
        const Zb__KeyEvent *e = l->key_event;
        ok = ok && zb_county_code_valid(e->county) && e->key.len == ZB_PK_LEN &&
             (e->kind == ZB__KEY_EVENT_KIND__ENROLLED || e->kind == ZB__KEY_EVENT_KIND__REVOKED) &&
             (!e->has_prev_hash || e->prev_hash.len == ZB_SHA256_LEN);
        break;
    }
    case ZB__LOG_LEAF__ENTRY_EVIDENCE:
        ok = ok && zb_county_code_valid(l->evidence->county) && l->evidence->seq >= 1;
        break;
    default: ok = false; break;
    }
    if (!ok) {
        zb__log_leaf__free_unpacked(l, NULL);
        return ZB_EDECODE;
    }
    *out = l;
    return ZB_OK;
}

int zb_keyreq_make(const char *county, const zb_identity *key, const zb_identity *previous,
                   uint64_t after_seq, const uint8_t after_hash[ZB_SHA256_LEN], int64_t now,
                   uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    Zb__KeyRequest r = ZB__KEY_REQUEST__INIT;
    r.county = (char *)county;
    r.key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)key->pk};
    r.created_at = now;
    if (previous) {
        r.has_previous_key = r.has_after_seq = r.has_after_hash = 1;
        r.previous_key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)previous->pk};
        r.after_seq = after_seq;
        r.after_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, (uint8_t *)after_hash};
    }
    size_t rn = zb__key_request__get_packed_size(&r);
    uint8_t *rb = malloc(rn);
    if (!rb)
        return ZB_ENOMEM;
    zb__key_request__pack(&r, rb);
    uint8_t sig[ZB_SIG_LEN], psig[ZB_SIG_LEN];
    int rc = zb_sign_tagged(ZB_TAG_KEY_REQUEST, rb, rn, key, sig);
    if (rc == 0 && previous)
        rc = zb_sign_tagged(ZB_TAG_KEY_CONSENT, rb, rn, previous, psig);
    if (rc) {
        free(rb);
        return rc;
    }
    Zb__SignedKeyRequest s = ZB__SIGNED_KEY_REQUEST__INIT;
    s.request = (ProtobufCBinaryData){rn, rb};
    s.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    if (previous) {
        s.has_previous_signature = 1;
        s.previous_signature = (ProtobufCBinaryData){ZB_SIG_LEN, psig};
    }
    size_t n = zb__signed_key_request__get_packed_size(&s);
    uint8_t *buf = malloc(n);
    if (buf)
        zb__signed_key_request__pack(&s, buf);
    free(rb);
    if (!buf)
        return ZB_ENOMEM;
    *out = buf;
    *len = n;
    return ZB_OK;
}

int zb_keyreq_open(const uint8_t *buf, size_t len, Zb__KeyRequest **req)
{
    if (req)
        *req = NULL;
    if (len > ZB_KEYREQ_MAX)
        return ZB_ETOOBIG;
    Zb__SignedKeyRequest *s = zb__signed_key_request__unpack(NULL, len, buf);
    if (!s)
        return ZB_EDECODE;
    Zb__KeyRequest *r = NULL;
    int rc = ZB_OK;
    if (zb_pb_has_unknown_fields(&s->base) || !zb_pb_canonical(&s->base, buf, len) ||
        s->signature.len != ZB_SIG_LEN ||
        (s->has_previous_signature && s->previous_signature.len != ZB_SIG_LEN))
        rc = ZB_EDECODE;
    if (rc == 0 && !(r = zb__key_request__unpack(NULL, s->request.len, s->request.data)))
        rc = ZB_EDECODE;
    if (rc == 0 &&
        (zb_pb_has_unknown_fields(&r->base) ||
         !zb_pb_canonical(&r->base, s->request.data, s->request.len) || !zb_county_code_valid(r->county) ||
         r->key.len != ZB_PK_LEN ||
         (r->has_previous_key != s->has_previous_signature) ||
         (r->has_previous_key && (r->previous_key.len != ZB_PK_LEN || !r->has_after_seq ||
                                  !r->has_after_hash || r->after_hash.len != ZB_SHA256_LEN)) ||
         (!r->has_previous_key && (r->has_after_seq || r->has_after_hash))))
        rc = ZB_EDECODE;
    if (rc == 0 && zb_verify_tagged(ZB_TAG_KEY_REQUEST, s->request.data, s->request.len,
                                    s->signature.data, r->key.data) != 0)
        rc = ZB_EBADSIG;
    if (rc == 0 && r->has_previous_key &&
        zb_verify_tagged(ZB_TAG_KEY_CONSENT, s->request.data, s->request.len,
                         s->previous_signature.data, r->previous_key.data) != 0)
        rc = ZB_EBADSIG;
    zb__signed_key_request__free_unpacked(s, NULL);
    if (rc == 0 && req)
        *req = r;
    else if (r)
        zb__key_request__free_unpacked(r, NULL);
    return rc;
}

#define WHY(...) (why ? (void)snprintf(why, why_len, __VA_ARGS__) : (void)0)

int zb_key_event_check(const Zb__KeyEvent *e, char *why, size_t why_len)
{
    if (why && why_len)
        why[0] = '\0';
    if (!zb_county_code_valid(e->county) || e->key.len != ZB_PK_LEN ||
        (e->has_prev_hash && e->prev_hash.len != ZB_SHA256_LEN)) {
        WHY("malformed (county, key or prev_hash)");
        return ZB_EDECODE;
    }
    if (e->kind == ZB__KEY_EVENT_KIND__REVOKED && !e->has_consented) {
        WHY("a revocation must say whether it was consented");
        return ZB_EDECODE;
    }
    Zb__KeyRequest *r = NULL;
    int rc = ZB_OK;
    if (e->has_request) {
        rc = zb_keyreq_open(e->request.data, e->request.len, &r);
        if (rc) {
            WHY("its key request does not verify (%s)", zb_strerror(rc));
            return rc == ZB_EBADSIG ? ZB_EBADSIG : ZB_EDECODE;
        }
    }
    if (e->has_vouched && (!e->vouched || e->kind != ZB__KEY_EVENT_KIND__ENROLLED || r)) {
        WHY("vouched is only set, true, on an enrolment without a request");
        rc = ZB_EDECODE;
    } else if (e->kind == ZB__KEY_EVENT_KIND__ENROLLED && !r && e->has_vouched) {
        /* a prefecture's aggregator key, enrolled by the province's
         * operator from the key alone (protocol.md §14.2) */
        if (!e->has_prev_hash || e->seq < 1 || e->has_consented) {
            WHY("a vouched enrolment needs its first seq and chain, and no consent");
            rc = ZB_EDECODE;
        }
    } else if (e->kind == ZB__KEY_EVENT_KIND__ENROLLED) {
        if (!r) {
            WHY("an enrolment without the key's signed request (no proof of possession)");
            rc = ZB_EBADSIG;
        } else if (strcmp(r->county, e->county) != 0 || r->key.len != e->key.len ||
                   memcmp(r->key.data, e->key.data, ZB_PK_LEN) != 0) {
            WHY("its key request is for another county or key");
            rc = ZB_EBADSIG;
        } else if (!e->has_prev_hash || e->seq < 1 ||
                   (r->has_after_seq && (r->after_seq + 1 != e->seq ||
                                         memcmp(r->after_hash.data, e->prev_hash.data,
                                                ZB_SHA256_LEN) != 0))) {
            WHY("its first seq and chain do not follow the request");
            rc = ZB_EDECODE;
        } else if (e->has_consented) {
            WHY("consented is for revocations");
            rc = ZB_EDECODE;
        }
    } else if (e->kind == ZB__KEY_EVENT_KIND__REVOKED) {
        bool rotation = r && r->has_previous_key;
        bool consented = e->consented;
        if (r && !rotation) {
            WHY("a revocation carrying a plain enrolment request (only a rotation consents)");
            rc = ZB_EBADSIG;
        } else if (consented != rotation) {
            WHY(consented ? "consented without a rotation request signed by the revoked key"
                          : "a key request on a revocation that does not say consented");
            rc = ZB_EBADSIG;
        } else if (rotation && (strcmp(r->county, e->county) != 0 ||
                                memcmp(r->previous_key.data, e->key.data, ZB_PK_LEN) != 0 ||
                                r->after_seq != e->seq)) {
            WHY("its rotation request is for another county, key or seq");
            rc = ZB_EBADSIG;
        } else if (e->has_prev_hash) {
            WHY("prev_hash is for enrolments");
            rc = ZB_EDECODE;
        }
    } else {
        WHY("unknown kind of key event");
        rc = ZB_EDECODE;
    }
    if (r)
        zb__key_request__free_unpacked(r, NULL);
    return rc;
}
