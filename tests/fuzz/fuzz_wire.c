/*
 * fuzz_wire.c - one ZeroMQ frame from a peer, as the node and the aggregator
 * read it: zb_wire_unpack, then every envelope of a Batch through
 * zb_envelope_verify; a Deliver's messages through zb_down_open_signed; a
 * Welcome's key events through zb_leaf_decode and zb_key_event_check. The
 * bytes are arbitrary, so signatures fail except on seeds and their near
 * copies; what matters is that nothing reads out of bounds, leaks or trips
 * UBSan, and that a decoded message is what zb_wire_unpack promises (a
 * oneof set).
 */
#include <stdint.h>
#include <stdlib.h>

#include "crypto.h"
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "fuzz.h"
#include "logleaf.h"
#include "treehead.h"
#include "wire.h"

/* Input cap: far above -max_len, far below ZB_FRAME_MAX (16 MiB), so a
 * campaign run without -max_len still stays fast. */
#define FUZZ_WIRE_MAX (1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    return 0;
}

/* Any aggregator key: the signatures fail, the decoding around them runs. */
static const uint8_t agg_pk[ZB_PK_LEN] = {1};

static void check_consistency(const Zb__ConsistencyProof *p)
{
    if (!p)
        return;
    /* Heads with the proof's own sizes, so the path reaches the verifier. */
    zb_tree_head old_head = {.size = p->old_size}, new_head = {.size = p->new_size};
    int rc = zb_consistency_verify_pb(p, &old_head, &new_head);
    FUZZ_CHECK(rc == 0 || rc == ZB_EBADSIG);
}

static void check_receipts(Zb__BatchReceipt *const *receipts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const Zb__BatchReceipt *receipt = receipts[i];
        zb_tree_head head = {0};
        if (receipt->tree_head) {
            int rc = zb_tree_head_verify(receipt->tree_head, agg_pk, &head);
            FUZZ_CHECK(rc == 0 || rc == ZB_EBADSIG || rc == ZB_EDECODE);
        }
        for (size_t j = 0; j < receipt->n_proofs; j++) {
            const Zb__InclusionProof *p = receipt->proofs[j];
            const uint8_t leaf[ZB_HASH_LEN] = {0};
            /* A head just large enough for the index, so the path is walked. */
            head.size = p->log_index < UINT64_MAX ? p->log_index + 1 : UINT64_MAX;
            int rc = zb_inclusion_verify_pb(p, leaf, &head);
            FUZZ_CHECK(rc == 0 || rc == ZB_EBADSIG);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_WIRE_MAX)
        return -1; /* not added to the corpus */
    Zb__SyncMsg *m = NULL;
    int rc = zb_wire_unpack(data, size, &m);
    if (rc != 0) {
        FUZZ_CHECK(m == NULL);
        FUZZ_CHECK(rc == ZB_EDECODE || rc == ZB_ETOOBIG);
        return 0;
    }
    FUZZ_CHECK(m != NULL && m->msg_case != ZB__SYNC_MSG__MSG__NOT_SET);
    if (m->msg_case == ZB__SYNC_MSG__MSG_BATCH) {
        const Zb__Batch *b = m->batch;
        FUZZ_CHECK(b != NULL);
        for (size_t i = 0; i < b->n_envelopes; i++) {
            Zb__Report *r = NULL;
            rc = zb_envelope_verify(b->envelopes[i], &r);
            if (rc == 0) {
                FUZZ_CHECK(r != NULL && r->version == 1 && r->prev_hash.len == ZB_SHA256_LEN);
                zb__report__free_unpacked(r, NULL);
            } else {
                FUZZ_CHECK(r == NULL);
            }
        }
    }
    if (m->msg_case == ZB__SYNC_MSG__MSG_WELCOME) {
        const Zb__Welcome *w = m->welcome;
        check_receipts(w->receipts, w->n_receipts);
        if (w->tree_head) {
            zb_tree_head head;
            rc = zb_tree_head_verify(w->tree_head, agg_pk, &head);
            FUZZ_CHECK(rc == 0 || rc == ZB_EBADSIG || rc == ZB_EDECODE);
        }
        check_consistency(w->consistency);
        for (size_t i = 0; i < w->n_key_events; i++) {
            const Zb__KeyEventProof *p = w->key_events[i];
            Zb__LogLeaf *l = NULL;
            rc = zb_leaf_decode(p->leaf.data, p->leaf.len, &l);
            FUZZ_CHECK(rc == 0 || rc == ZB_EDECODE || rc == ZB_ETOOBIG);
            FUZZ_CHECK((rc == 0) == (l != NULL));
            if (l && l->entry_case == ZB__LOG_LEAF__ENTRY_KEY_EVENT) {
                char why[200];
                int kr = zb_key_event_check(l->key_event, why, sizeof why);
                FUZZ_CHECK(kr == 0 || kr == ZB_EBADSIG || kr == ZB_EDECODE);
            }
            if (l)
                zb__log_leaf__free_unpacked(l, NULL);
        }
    }
    if (m->msg_case == ZB__SYNC_MSG__MSG_DELIVER) {
        for (size_t i = 0; i < m->deliver->n_messages; i++) {
            Zb__Downstream *d = NULL;
            uint8_t *packed = NULL;
            size_t len = 0;
            rc = zb_down_open_signed(m->deliver->messages[i], agg_pk, &d, &packed, &len);
            FUZZ_CHECK(rc == 0 || rc == ZB_EDECODE || rc == ZB_EBADSIG || rc == ZB_ETOOBIG ||
                       rc == ZB_EVALIDATION);
            FUZZ_CHECK((rc == 0) == (d != NULL));
            if (d)
                zb__downstream__free_unpacked(d, NULL);
            free(packed);
        }
    }
    if (m->msg_case == ZB__SYNC_MSG__MSG_ACK) {
        check_receipts(m->ack->receipts, m->ack->n_receipts);
        check_consistency(m->ack->consistency);
    }
    zb__sync_msg__free_unpacked(m, NULL);
    return 0;
}
