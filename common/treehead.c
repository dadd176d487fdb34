/* treehead.c - see treehead.h. */
#include "treehead.h"

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
