/*
 * fuzz_relay.c - what a province decodes from outside bytes in a
 * prefecture's relay (protocol.md §14, common/relay.h): the input is a
 * packed Report. When zb_report_decode takes it, it goes through
 * zb_report_validate and zb_report_to_json; a relay also through
 * zb_relay_open under a fixed prefecture key (the key the seeds' heads are
 * signed with, make_seeds.c) and zb_relay_decode. Input that is no Report
 * is tried as a bare packed Relay, through the same two.
 *
 * A fuzzer cannot forge the head's signature or an inclusion path, so the
 * leaves of a mutated relay rarely get past the paths in zb_relay_open.
 * To reach its leaf decoding from arbitrary leaves, every relay with 1..64
 * leaves of 1..ZB_RELAY_LEAF_MAX bytes is also re-proven here: its leaves
 * put at indexes 0..n-1 of a log of n leaves, with their paths and a head
 * signed by the fixed key; that relay must open exactly when
 * zb_relay_decode takes its leaves.
 *
 * Invariants: only the documented codes; on failure the out-parameters
 * are cleared and a reason is given; on success n is the number of
 * leaves, the indexes ascend below the head's size, a ZB_RELAYED_ENVELOPE's
 * envelope bytes lie inside that leaf's bytes as relayed (a bare envelope
 * leaf: the leaf itself, leaf_time 0), a key event passes
 * zb_key_event_check, zb_report_validate finds nothing wrong with the
 * relay's shape, and zb_relay_decode gives the same leaves; a decoded
 * report's zb_report_content_kind is its content.
 */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "fuzz.h"
#include "logleaf.h"
#include "merkle.h"
#include "relay.h"
#include "report.h"
#include "treehead.h"

/* Just over ZB_REPORT_MAX, so the size check is reached from both sides. */
#define FUZZ_RELAY_MAX (ZB_REPORT_MAX + 1024u)

static zb_identity prefecture; /* make_seeds.c's aggregator key: fill 0x22 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    fuzz_identity(0x22, &prefecture);
    return 0;
}

/* zb_relay_decode of r: only its codes, cleared out-parameters on
 * failure, and on success the leaves as the bytes say. *out / *n kept for
 * the caller (free with zb_relayed_free). */
static int decode_checked(const Zb__Relay *r, zb_relayed **out, size_t *n)
{
    int rc = zb_relay_decode(r, out, n);
    FUZZ_CHECK(rc == ZB_OK || rc == ZB_EDECODE || rc == ZB_EBADSIG || rc == ZB_ENOMEM);
    if (rc) {
        FUZZ_CHECK(*out == NULL && *n == 0);
        return rc;
    }
    FUZZ_CHECK(*n == r->n_leaves && *n >= 1 && *n <= ZB_RELAY_LEAVES_MAX);
    return rc;
}

/* What holds of every opened (or decoded) leaf i of r. */
static void check_leaf(const Zb__Relay *r, size_t i, const zb_relayed *l)
{
    const ProtobufCBinaryData *bytes = &r->leaves[i]->leaf;
    FUZZ_CHECK(l->log_index == r->leaves[i]->log_index);
    switch (l->kind) {
    case ZB_RELAYED_ENVELOPE:
        FUZZ_CHECK(l->envelope != NULL && l->envelope_len > 0 && l->key_event == NULL);
        if (!l->leaf) {
            /* a bare envelope leaf (log version 1): the leaf itself */
            FUZZ_CHECK(l->envelope == bytes->data && l->envelope_len == bytes->len);
            FUZZ_CHECK(l->leaf_time == 0 && bytes->data[0] == 0x0a);
        } else {
            FUZZ_CHECK(l->leaf->entry_case == ZB__LOG_LEAF__ENTRY_ENVELOPE);
            FUZZ_CHECK(l->leaf_time == l->leaf->timestamp);
            /* the envelope's bytes are part of the leaf's bytes as relayed
             * (the pointer itself is into the decoded LogLeaf: relay.h) */
            FUZZ_CHECK(l->envelope_len < bytes->len &&
                       memmem(bytes->data, bytes->len, l->envelope, l->envelope_len) != NULL);
        }
        break;
    case ZB_RELAYED_KEY_EVENT:
        FUZZ_CHECK(l->leaf && l->key_event == l->leaf->key_event && l->envelope == NULL);
        FUZZ_CHECK(zb_key_event_check(l->key_event, NULL, 0) == ZB_OK);
        break;
    case ZB_RELAYED_DOWNSTREAM:
        FUZZ_CHECK(l->leaf && l->leaf->entry_case == ZB__LOG_LEAF__ENTRY_DOWNSTREAM);
        FUZZ_CHECK(l->envelope == NULL && l->key_event == NULL);
        break;
    case ZB_RELAYED_EVIDENCE:
        FUZZ_CHECK(l->leaf && l->leaf->entry_case == ZB__LOG_LEAF__ENTRY_EVIDENCE);
        FUZZ_CHECK(l->envelope == NULL && l->key_event == NULL);
        break;
    default: FUZZ_CHECK(!"unknown kind");
    }
    if (l->leaf)
        FUZZ_CHECK(zb_leaf_is_logleaf(bytes->data, bytes->len));
}

/* zb_relay_open of r under the fixed key, its invariants, and agreement
 * with zb_relay_decode. Returns its code. */
static int open_checked(const Zb__Relay *r)
{
    zb_tree_head head;
    zb_relayed *l = (zb_relayed *)(uintptr_t)1;
    size_t n = 7;
    char why[256];
    int rc = zb_relay_open(r, prefecture.pk, &head, &l, &n, why, sizeof why);
    FUZZ_CHECK(rc == ZB_OK || rc == ZB_EDECODE || rc == ZB_EBADSIG || rc == ZB_ENOMEM);
    FUZZ_CHECK(strlen(why) < sizeof why && strchr(why, '\n') == NULL);
    zb_relayed *d = NULL;
    size_t dn = 0;
    int drc = decode_checked(r, &d, &dn);
    if (rc) {
        FUZZ_CHECK(l == NULL && n == 0);
        FUZZ_CHECK(rc == ZB_ENOMEM || why[0] != '\0');
        zb_relayed_free(d, dn);
        return rc;
    }
    FUZZ_CHECK(why[0] == '\0');
    FUZZ_CHECK(r->tree_head != NULL);
    FUZZ_CHECK(n == r->n_leaves && n >= 1 && n <= ZB_RELAY_LEAVES_MAX);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(l[i].log_index < head.size);
        FUZZ_CHECK(i == 0 || l[i].log_index > l[i - 1].log_index);
        check_leaf(r, i, &l[i]);
    }
    /* what opens, decodes the same way */
    FUZZ_CHECK(drc == ZB_OK && dn == n);
    for (size_t i = 0; i < n; i++) {
        check_leaf(r, i, &d[i]);
        FUZZ_CHECK(d[i].kind == l[i].kind && d[i].leaf_time == l[i].leaf_time &&
                   d[i].envelope_len == l[i].envelope_len);
        FUZZ_CHECK(d[i].envelope_len == 0 ||
                   memcmp(d[i].envelope, l[i].envelope, d[i].envelope_len) == 0);
    }
    zb_relayed_free(d, dn);
    zb_relayed_free(l, n);
    return rc;
}

/* r's leaves as leaves 0..n-1 of a log of their own, each with its path,
 * under a head of that log signed by the fixed key: opens exactly when
 * zb_relay_decode takes the leaves. */
static void reprove(const Zb__Relay *r)
{
    size_t n = r->n_leaves;
    if (n == 0 || n > ZB_RELAY_LEAVES_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        if (r->leaves[i]->leaf.len == 0 || r->leaves[i]->leaf.len > ZB_RELAY_LEAF_MAX)
            return;
    static uint8_t hashes[ZB_RELAY_LEAVES_MAX][ZB_HASH_LEN];
    static uint8_t paths[ZB_RELAY_LEAVES_MAX][ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    static ProtobufCBinaryData path_pb[ZB_RELAY_LEAVES_MAX][ZB_MERKLE_MAX_PROOF];
    Zb__RelayedLeaf leaves[ZB_RELAY_LEAVES_MAX], *ptrs[ZB_RELAY_LEAVES_MAX];
    for (size_t i = 0; i < n; i++)
        zb_merkle_leaf_hash(r->leaves[i]->leaf.data, r->leaves[i]->leaf.len, hashes[i]);
    const uint8_t(*lv)[ZB_HASH_LEN] = (const uint8_t(*)[ZB_HASH_LEN])hashes;
    uint8_t root[ZB_HASH_LEN];
    zb_merkle_root_of_leaves(lv, n, root);
    for (size_t i = 0; i < n; i++) {
        size_t count = 0;
        FUZZ_CHECK(zb_merkle_inclusion_proof(lv, n, i, paths[i], &count) == 0);
        for (size_t j = 0; j < count; j++)
            path_pb[i][j] = (ProtobufCBinaryData){ZB_HASH_LEN, paths[i][j]};
        zb__relayed_leaf__init(&leaves[i]);
        leaves[i].log_index = i;
        leaves[i].leaf = r->leaves[i]->leaf;
        leaves[i].path = path_pb[i];
        leaves[i].n_path = count;
        ptrs[i] = &leaves[i];
    }
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = n;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = 1793894399;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, prefecture.pk};
    uint8_t head_buf[128], sig[ZB_SIG_LEN];
    size_t head_len = zb__tree_head__get_packed_size(&th);
    FUZZ_CHECK(head_len <= sizeof head_buf);
    zb__tree_head__pack(&th, head_buf);
    FUZZ_CHECK(zb_sign_tagged(ZB_TAG_TREE_HEAD, head_buf, head_len, &prefecture, sig) == 0);
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){head_len, head_buf};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    Zb__Relay proven = ZB__RELAY__INIT;
    proven.tree_head = &sth;
    proven.leaves = ptrs;
    proven.n_leaves = n;

    int rc = open_checked(&proven);
    zb_relayed *d = NULL;
    size_t dn = 0;
    int drc = decode_checked(&proven, &d, &dn);
    zb_relayed_free(d, dn);
    FUZZ_CHECK(rc == drc);
}

static void use_relay(const Zb__Relay *r)
{
    (void)open_checked(r);
    reprove(r);
}

/* Whether a problem line is about the relay's shape. */
static bool relay_problem(const zb_problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (strncmp(p->lines[i], "relay.", 6) == 0)
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_RELAY_MAX)
        return -1;
    Zb__Report *r = NULL;
    int rc = zb_report_decode(data, size, &r);
    FUZZ_CHECK(rc == ZB_OK || rc == ZB_EDECODE || rc == ZB_ETOOBIG);
    FUZZ_CHECK((rc == ZB_OK) == (r != NULL));
    if (r) {
        FUZZ_CHECK(r->version >= ZB_REPORT_VERSION_MIN && r->version <= ZB_REPORT_VERSION_RELAY);
        /* the peek readers of stored reports use agrees with the decoder */
        FUZZ_CHECK(zb_report_content_kind(data, size) == (int)r->content_case);
        zb_problems p = {0};
        zb_report_validate(r, "", &p);
        json_t *j = zb_report_to_json(r);
        FUZZ_CHECK(j != NULL);
        char *text = json_dumps(j, JSON_COMPACT);
        free(text);
        json_decref(j);
        if (r->content_case == ZB__REPORT__CONTENT_RELAY) {
            int orc = open_checked(r->relay);
            /* what opens has the shape validation asks for */
            if (orc == ZB_OK)
                FUZZ_CHECK(!relay_problem(&p));
            reprove(r->relay);
        }
        zb_problems_free(&p);
        zb__report__free_unpacked(r, NULL);
        return 0;
    }
    /* the same bytes as a bare Relay */
    Zb__Relay *relay = zb__relay__unpack(NULL, size, data);
    if (relay) {
        use_relay(relay);
        zb__relay__free_unpacked(relay, NULL);
    }
    return 0;
}
