/* treehead.c - see treehead.h. */
#include "treehead.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

int zb_tree_head_verify(const Zb__SignedTreeHead *sth, const uint8_t agg_pk[ZB_PK_LEN],
                        zb_tree_head *out)
{
    if (!sth || sth->signature.len != ZB_SIG_LEN)
        return ZB_EDECODE;
    if (zb_verify_tagged(ZB_TAG_TREE_HEAD, sth->tree_head.data, sth->tree_head.len,
                         sth->signature.data, agg_pk) != 0)
        return ZB_EBADSIG;
    Zb__TreeHead *th = zb__tree_head__unpack(NULL, sth->tree_head.len, sth->tree_head.data);
    if (!th)
        return ZB_EDECODE;
    int rc = ZB_OK;
    if (th->root.len != ZB_HASH_LEN || th->aggregator.len != ZB_PK_LEN ||
        memcmp(th->aggregator.data, agg_pk, ZB_PK_LEN) != 0) {
        rc = ZB_EBADSIG;
    } else {
        out->size = th->size;
        memcpy(out->root, th->root.data, ZB_HASH_LEN);
        out->timestamp = th->timestamp;
    }
    zb__tree_head__free_unpacked(th, NULL);
    return rc;
}

void zb_envelope_leaf_hash(const uint8_t *env_bytes, size_t len, uint8_t out[ZB_HASH_LEN])
{
    zb_merkle_leaf_hash(env_bytes, len, out);
}

/* Copy a repeated bytes path into fixed hashes; 0 or ZB_EBADSIG. */
static int path_of(ProtobufCBinaryData *path, size_t n, uint8_t (*out)[ZB_HASH_LEN])
{
    if (n > ZB_MERKLE_MAX_PROOF)
        return ZB_EBADSIG;
    for (size_t i = 0; i < n; i++) {
        if (path[i].len != ZB_HASH_LEN)
            return ZB_EBADSIG;
        memcpy(out[i], path[i].data, ZB_HASH_LEN);
    }
    return ZB_OK;
}

int zb_inclusion_verify_pb(const Zb__InclusionProof *p, const uint8_t leaf[ZB_HASH_LEN],
                           const zb_tree_head *head)
{
    uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    if (!p || path_of(p->path, p->n_path, path) != 0)
        return ZB_EBADSIG;
    return zb_merkle_verify_inclusion(leaf, p->log_index, head->size,
                                      (const uint8_t(*)[ZB_HASH_LEN])path, p->n_path, head->root)
               ? ZB_EBADSIG
               : ZB_OK;
}

/* A node of the tree that a verified proof passed through on its way to the
 * root, with the siblings that proof still had above it. */
typedef struct {
    bool used;
    uint64_t level, fn;
    uint8_t hash[ZB_HASH_LEN];
    const ProtobufCBinaryData *rest; /* into the verified proof's path */
    size_t rest_n;
} memo_node;

#define MEMO_NODES 256

static bool same_rest(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(a[i].data, b[i].data, ZB_HASH_LEN) != 0)
            return false;
    return true;
}

/* One proof, the RFC 9162 2.1.3.2 loop with the node reached after each
 * step named by (level, fn). It stops early, proven, at a node a verified
 * proof reached with the same hash and the same siblings above it: from
 * there the computation is the same. A proof verified to the end leaves
 * its nodes in the memo. */
static int verify_memo(memo_node *memo, const Zb__InclusionProof *p, const uint8_t leaf[ZB_HASH_LEN],
                       const zb_tree_head *head)
{
    if (!p || p->n_path > ZB_MERKLE_MAX_PROOF || p->log_index >= head->size)
        return ZB_EBADSIG;
    for (size_t i = 0; i < p->n_path; i++)
        if (p->path[i].len != ZB_HASH_LEN)
            return ZB_EBADSIG;
    uint8_t r[ZB_HASH_LEN], steps[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    uint64_t fn = p->log_index, sn = head->size - 1, level = 0;
    uint64_t at_level[ZB_MERKLE_MAX_PROOF], at_fn[ZB_MERKLE_MAX_PROOF];
    memcpy(r, leaf, ZB_HASH_LEN);
    for (size_t i = 0; i < p->n_path; i++) {
        const uint8_t *sib = p->path[i].data;
        if (sn == 0)
            return ZB_EBADSIG;
        if ((fn & 1) || fn == sn) {
            zb_merkle_node_hash(sib, r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
                level++;
            }
        } else {
            zb_merkle_node_hash(r, sib, r);
        }
        fn >>= 1;
        sn >>= 1;
        level++;
        const memo_node *m = &memo[(level * 0x9E3779B97F4A7C15ull ^ fn) % MEMO_NODES];
        size_t rest_n = p->n_path - i - 1;
        if (m->used && m->level == level && m->fn == fn && m->rest_n == rest_n &&
            memcmp(m->hash, r, ZB_HASH_LEN) == 0 && same_rest(m->rest, p->path + i + 1, rest_n))
            return ZB_OK;
        memcpy(steps[i], r, ZB_HASH_LEN);
        at_level[i] = level;
        at_fn[i] = fn;
    }
    if (sn != 0 || memcmp(r, head->root, ZB_HASH_LEN) != 0)
        return ZB_EBADSIG;
    for (size_t i = 0; i < p->n_path; i++) {
        memo_node *m = &memo[(at_level[i] * 0x9E3779B97F4A7C15ull ^ at_fn[i]) % MEMO_NODES];
        *m = (memo_node){true, at_level[i], at_fn[i], {0}, p->path + i + 1, p->n_path - i - 1};
        memcpy(m->hash, steps[i], ZB_HASH_LEN);
    }
    return ZB_OK;
}

int zb_inclusion_verify_many_pb(Zb__InclusionProof *const *proofs,
                                const uint8_t (*leaves)[ZB_HASH_LEN], size_t n,
                                const zb_tree_head *head)
{
    memo_node *memo = calloc(MEMO_NODES, sizeof *memo);
    if (!memo)
        return ZB_ENOMEM;
    int rc = ZB_OK;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = verify_memo(memo, proofs[i], leaves[i], head);
    free(memo);
    return rc;
}

int zb_consistency_verify_pb(const Zb__ConsistencyProof *p, const zb_tree_head *old_head,
                             const zb_tree_head *new_head)
{
    uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    if (!p || p->old_size != old_head->size || p->new_size != new_head->size ||
        path_of(p->path, p->n_path, path) != 0)
        return ZB_EBADSIG;
    return zb_merkle_verify_consistency(old_head->size, new_head->size, old_head->root,
                                        new_head->root, (const uint8_t(*)[ZB_HASH_LEN])path,
                                        p->n_path)
               ? ZB_EBADSIG
               : ZB_OK;
}

int zb_consistency_proof_of_leaves(const uint8_t (*leaves)[ZB_HASH_LEN], uint64_t old_size,
                                   uint64_t new_size, Zb__ConsistencyProof **out)
{
    *out = NULL;
    if (old_size == 0)
        return ZB_EINVAL;
    uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    size_t count;
    int rc = zb_merkle_consistency_proof(leaves, new_size, old_size, path, &count);
    if (rc)
        return rc;
    ProtobufCBinaryData bins[ZB_MERKLE_MAX_PROOF];
    for (size_t i = 0; i < count; i++)
        bins[i] = (ProtobufCBinaryData){ZB_HASH_LEN, path[i]};
    Zb__ConsistencyProof cp = ZB__CONSISTENCY_PROOF__INIT;
    cp.old_size = old_size;
    cp.new_size = new_size;
    cp.n_path = count;
    cp.path = bins;
    /* packed and unpacked: protobuf-c's allocation, freed by free_unpacked */
    size_t len = zb__consistency_proof__get_packed_size(&cp);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ZB_ENOMEM;
    zb__consistency_proof__pack(&cp, buf);
    *out = zb__consistency_proof__unpack(NULL, len, buf);
    free(buf);
    return *out ? ZB_OK : ZB_ENOMEM;
}
