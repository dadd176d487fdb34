/* cosig.c - see cosig.h. */
#include "cosig.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "store.h"

#define COSIG_MSG_LEN (ZB_PK_LEN + 8 + ZB_HASH_LEN + 8)

static void cosig_message(const uint8_t agg_pk[ZB_PK_LEN], const zb_tree_head *head,
                          int64_t timestamp, uint8_t out[COSIG_MSG_LEN])
{
    memcpy(out, agg_pk, ZB_PK_LEN);
    zb_be64_put(out + ZB_PK_LEN, head->size);
    memcpy(out + ZB_PK_LEN + 8, head->root, ZB_HASH_LEN);
    zb_be64_put(out + ZB_PK_LEN + 8 + ZB_HASH_LEN, (uint64_t)timestamp);
}

int zb_cosig_sign(const zb_identity *witness, const uint8_t agg_pk[ZB_PK_LEN],
                  const zb_tree_head *head, int64_t timestamp, uint8_t sig[ZB_SIG_LEN])
{
    uint8_t msg[COSIG_MSG_LEN];
    cosig_message(agg_pk, head, timestamp, msg);
    return zb_sign_tagged(ZB_TAG_COSIGNATURE, msg, sizeof msg, witness, sig);
}

int zb_cosig_verify(const Zb__Cosignature *c, const uint8_t agg_pk[ZB_PK_LEN],
                    const zb_tree_head *head)
{
    if (!c || c->witness.len != ZB_PK_LEN || c->signature.len != ZB_SIG_LEN)
        return ZB_EDECODE;
    uint8_t msg[COSIG_MSG_LEN];
    cosig_message(agg_pk, head, c->timestamp, msg);
    return zb_verify_tagged(ZB_TAG_COSIGNATURE, msg, sizeof msg, c->signature.data,
                            c->witness.data) == 0
               ? ZB_OK
               : ZB_EBADSIG;
}

void zb_cosig_tally_head(const Zb__SignedTreeHead *sth, const uint8_t agg_pk[ZB_PK_LEN],
                         const zb_tree_head *head, const uint8_t (*keys)[ZB_PK_LEN], size_t n_keys,
                         zb_cosig_tally *out)
{
    memset(out, 0, sizeof *out);
    size_t n = sth->n_cosignatures < 4 * ZB_WITNESS_MAX ? sth->n_cosignatures : 4 * ZB_WITNESS_MAX;
    for (size_t i = 0; i < n; i++) {
        const Zb__Cosignature *c = sth->cosignatures[i];
        size_t k = n_keys;
        if (c->witness.len == ZB_PK_LEN)
            for (k = 0; k < n_keys; k++)
                if (memcmp(keys[k], c->witness.data, ZB_PK_LEN) == 0)
                    break;
        if (k == n_keys) {
            out->unlisted++;
            continue;
        }
        if (zb_cosig_verify(c, agg_pk, head) != 0) {
            out->invalid++;
            continue;
        }
        size_t j = 0;
        while (j < out->valid && memcmp(out->witnesses[j], keys[k], ZB_PK_LEN) != 0)
            j++;
        if (j < out->valid) { /* the same witness again: keep its earliest time */
            if (c->timestamp >= out->times[j])
                continue;
            memmove(out->times + j, out->times + j + 1, (out->valid - j - 1) * sizeof *out->times);
            memmove(out->witnesses + j, out->witnesses + j + 1,
                    (out->valid - j - 1) * sizeof *out->witnesses);
            out->valid--;
        }
        if (out->valid == ZB_WITNESS_MAX)
            continue;
        size_t at = out->valid; /* insertion: ascending time */
        while (at > 0 && out->times[at - 1] > c->timestamp) {
            out->times[at] = out->times[at - 1];
            memcpy(out->witnesses[at], out->witnesses[at - 1], ZB_PK_LEN);
            at--;
        }
        out->times[at] = c->timestamp;
        memcpy(out->witnesses[at], keys[k], ZB_PK_LEN);
        out->valid++;
    }
}

int zb_cosig_quorum_time(const zb_cosig_tally *t, size_t quorum, int64_t *at)
{
    if (quorum == 0)
        return ZB_EINVAL;
    if (t->valid < quorum)
        return ZB_ENOTFOUND;
    *at = t->times[quorum - 1];
    return ZB_OK;
}

int zb_cosig_parse_keys(const char *const *hex, size_t n, uint8_t (*out)[ZB_PK_LEN], char *err,
                        size_t errlen)
{
    if (n > ZB_WITNESS_MAX) {
        snprintf(err, errlen, "--witness-key: at most %d witness keys", ZB_WITNESS_MAX);
        return ZB_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (zb_hex_decode(hex[i], out[i], ZB_PK_LEN) != 0) {
            snprintf(err, errlen, "--witness-key: '%.80s' is not a key (64 hex digits)", hex[i]);
            return ZB_EINVAL;
        }
        for (size_t j = 0; j < i; j++)
            if (memcmp(out[i], out[j], ZB_PK_LEN) == 0) {
                snprintf(err, errlen, "--witness-key: %.80s given twice", hex[i]);
                return ZB_EINVAL;
            }
    }
    return ZB_OK;
}

int zb_witness_answer_open(const uint8_t *bytes, size_t len, const uint8_t witness_pk[ZB_PK_LEN],
                           const uint8_t agg_pk[ZB_PK_LEN], const zb_tree_head *head,
                           zb_witness_answer *out)
{
    memset(out, 0, sizeof *out);
    if (len > ZB_WITNESS_FRAME_MAX)
        return ZB_EDECODE;
    Zb__WitnessResponse *r = zb__witness_response__unpack(NULL, len, bytes);
    if (!r)
        return ZB_EDECODE;
    int rc = ZB_OK;
    out->status = r->status;
    out->size = r->has_size ? r->size : 0;
    if (r->reason) { /* printable ASCII only: it goes to the log */
        size_t j = 0;
        for (const char *p = r->reason; *p && j + 1 < sizeof out->reason; p++)
            out->reason[j++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        out->reason[j] = '\0';
    }
    switch (r->status) {
    case ZB__WITNESS_STATUS__COSIGNED:
        if (!r->cosignature || r->cosignature->witness.len != ZB_PK_LEN ||
            memcmp(r->cosignature->witness.data, witness_pk, ZB_PK_LEN) != 0 ||
            zb_cosig_verify(r->cosignature, agg_pk, head) != 0) {
            rc = ZB_EDECODE;
            break;
        }
        out->cosignature = r->cosignature;
        r->cosignature = NULL; /* handed over */
        break;
    case ZB__WITNESS_STATUS__CONFLICT:
    case ZB__WITNESS_STATUS__REFUSED:
    case ZB__WITNESS_STATUS__UNKNOWN_LOG:
    case ZB__WITNESS_STATUS__BAD_REQUEST: break;
    default: rc = ZB_EDECODE;
    }
    zb__witness_response__free_unpacked(r, NULL);
    return rc;
}
