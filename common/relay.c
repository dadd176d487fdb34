/*
 * relay.c - opening a prefecture's relay report (relay.h): one pass over
 * its leaves, each proven in the prefecture's signed log.
 */
#include "relay.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "logleaf.h"
#include "merkle.h"
#include "report.h"

static void why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t why_len, const char *fmt, ...)
{
    if (!why || !why_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

void zb_relayed_free(zb_relayed *l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++)
        if (l[i].leaf)
            zb__log_leaf__free_unpacked(l[i].leaf, NULL);
    free(l);
}

/* Decode one leaf's bytes into out (log_index already set). */
static int leaf_open(const ProtobufCBinaryData *bytes, zb_relayed *out, char *why, size_t why_len)
{
    if (!zb_leaf_is_logleaf(bytes->data, bytes->len)) {
        /* a log version 1 leaf: the bare canonical envelope */
        if (bytes->len == 0 || bytes->data[0] != 0x0a) {
            why_set(why, why_len, "leaf %" PRIu64 ": neither a LogLeaf nor an envelope",
                    out->log_index);
            return ZB_EDECODE;
        }
        out->kind = ZB_RELAYED_ENVELOPE;
        out->envelope = bytes->data;
        out->envelope_len = bytes->len;
        return ZB_OK;
    }
    int rc = zb_leaf_decode(bytes->data, bytes->len, &out->leaf);
    if (rc) {
        why_set(why, why_len, "leaf %" PRIu64 ": not a well-formed LogLeaf", out->log_index);
        return ZB_EDECODE;
    }
    const Zb__LogLeaf *l = out->leaf;
    out->leaf_time = l->timestamp;
    switch (l->entry_case) {
    case ZB__LOG_LEAF__ENTRY_ENVELOPE:
        out->kind = ZB_RELAYED_ENVELOPE;
        out->envelope = l->envelope.data;
        out->envelope_len = l->envelope.len;
        break;
    case ZB__LOG_LEAF__ENTRY_DOWNSTREAM: out->kind = ZB_RELAYED_DOWNSTREAM; break;
    case ZB__LOG_LEAF__ENTRY_EVIDENCE: out->kind = ZB_RELAYED_EVIDENCE; break;
    case ZB__LOG_LEAF__ENTRY_KEY_EVENT: {
        out->kind = ZB_RELAYED_KEY_EVENT;
        out->key_event = l->key_event;
        char reason[160];
        if ((rc = zb_key_event_check(l->key_event, reason, sizeof reason))) {
            why_set(why, why_len, "leaf %" PRIu64 ": key event of %s: %s", out->log_index,
                    l->key_event->county, reason);
            return rc == ZB_EBADSIG ? ZB_EBADSIG : ZB_EDECODE;
        }
        break;
    }
    default: return ZB_EDECODE; /* zb_leaf_decode allows none other */
    }
    return ZB_OK;
}

int zb_relay_decode(const Zb__Relay *r, zb_relayed **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (r->n_leaves == 0 || r->n_leaves > ZB_RELAY_LEAVES_MAX)
        return ZB_EDECODE;
    zb_relayed *l = calloc(r->n_leaves, sizeof *l);
    if (!l)
        return ZB_ENOMEM;
    for (size_t i = 0; i < r->n_leaves; i++) {
        l[i].log_index = r->leaves[i]->log_index;
        int rc = leaf_open(&r->leaves[i]->leaf, &l[i], NULL, 0);
        if (rc) {
            zb_relayed_free(l, r->n_leaves);
            return rc;
        }
    }
    *out = l;
    *n = r->n_leaves;
    return ZB_OK;
}

int zb_relay_open(const Zb__Relay *r, const uint8_t prefecture_key[ZB_PK_LEN], zb_tree_head *head,
                  zb_relayed **out, size_t *n, char *why, size_t why_len)
{
    *out = NULL;
    *n = 0;
    why_set(why, why_len, "%s", "");
    if (!r->tree_head || r->n_leaves == 0 || r->n_leaves > ZB_RELAY_LEAVES_MAX) {
        why_set(why, why_len, "no tree head, or %zu leaves (1..%u)", r->n_leaves,
                ZB_RELAY_LEAVES_MAX);
        return ZB_EDECODE;
    }
    int rc = zb_tree_head_verify(r->tree_head, prefecture_key, head);
    if (rc) {
        why_set(why, why_len, "the tree head does not verify under the prefecture's key");
        return rc;
    }
    zb_relayed *l = calloc(r->n_leaves, sizeof *l);
    if (!l)
        return ZB_ENOMEM;
    for (size_t i = 0; i < r->n_leaves; i++) {
        const Zb__RelayedLeaf *rl = r->leaves[i];
        l[i].log_index = rl->log_index;
        if ((i > 0 && rl->log_index <= r->leaves[i - 1]->log_index) ||
            rl->log_index >= head->size || rl->leaf.len == 0 || rl->leaf.len > ZB_RELAY_LEAF_MAX ||
            rl->n_path > ZB_MERKLE_MAX_PROOF) {
            why_set(why, why_len,
                    "leaf %" PRIu64 ": index not ascending or beyond the head's size %" PRIu64
                    ", or its size or path out of bounds",
                    rl->log_index, head->size);
            rc = ZB_EDECODE;
            goto fail;
        }
        uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
        for (size_t j = 0; j < rl->n_path; j++) {
            if (rl->path[j].len != ZB_HASH_LEN) {
                why_set(why, why_len, "leaf %" PRIu64 ": a path hash is not 32 bytes",
                        rl->log_index);
                rc = ZB_EDECODE;
                goto fail;
            }
            memcpy(path[j], rl->path[j].data, ZB_HASH_LEN);
        }
        uint8_t leaf_hash[ZB_HASH_LEN];
        zb_merkle_leaf_hash(rl->leaf.data, rl->leaf.len, leaf_hash);
        if (zb_merkle_verify_inclusion(leaf_hash, rl->log_index, head->size,
                                       (const uint8_t(*)[ZB_HASH_LEN])path, rl->n_path,
                                       head->root) != 0) {
            why_set(why, why_len,
                    "leaf %" PRIu64 ": its inclusion path does not lead to the head's root "
                    "(size %" PRIu64 ")",
                    rl->log_index, head->size);
            rc = ZB_EBADSIG;
            goto fail;
        }
        if ((rc = leaf_open(&rl->leaf, &l[i], why, why_len)))
            goto fail;
    }
    *out = l;
    *n = r->n_leaves;
    return ZB_OK;
fail:
    zb_relayed_free(l, r->n_leaves);
    return rc;
}
