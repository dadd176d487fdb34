/*
 * fuzz_bundle.c - the auditor's readers of files from the aggregator:
 * zb_audit_verify (an audit bundle, streamed through fmemopen), and the
 * tree-head and consistency-proof file readers, on the same arbitrary
 * bytes. The bundle reader must never trust a length, must stop at 1 MiB
 * per record, and must report a finding rather than crash on anything.
 *
 * Linked with the zb_audit library, which the fuzz build instruments for
 * coverage like zb_common (tests/fuzz/CMakeLists.txt).
 * Seeds (corpus/fuzz_bundle/): a small real bundle, one with equivocation
 * evidence, a tree-head file and a consistency-proof file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "audit.h"
#include "crypto.h"
#include "err.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    return 0;
}

static void count(void *ctx, const char *line)
{
    FUZZ_CHECK(line != NULL && line[0] != '\0');
    (*(long *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4u * ZB_AUDIT_RECORD_MAX)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    long lines = 0;
    zb_audit_summary sum;
    zb_audit_opts opts = {.prefix_size = 1};
    long n = zb_audit_verify(f, &opts, count, &lines, &sum);
    FUZZ_CHECK(n >= 0 && n == lines);
    /* nothing holds unless a signed head covers every entry */
    FUZZ_CHECK(n > 0 || sum.entries == 0 || sum.head_ok);
    FUZZ_CHECK(sum.equivocations <= sum.evidence);

    rewind(f);
    Zb__SignedTreeHead *sth = NULL;
    if (zb_audit_read_tree_head(f, &sth) == 0) {
        FUZZ_CHECK(sth != NULL);
        zb_tree_head head;
        int rc = zb_tree_head_verify(sth, sum.agg_key, &head);
        FUZZ_CHECK(rc == 0 || rc == ZB_EBADSIG || rc == ZB_EDECODE);
        zb__signed_tree_head__free_unpacked(sth, NULL);
    } else {
        FUZZ_CHECK(sth == NULL);
    }
    rewind(f);
    Zb__ConsistencyProof *p = NULL;
    if (zb_audit_read_consistency(f, &p) == 0) {
        FUZZ_CHECK(p != NULL);
        zb_tree_head a = {.size = p->old_size}, b = {.size = p->new_size};
        (void)!zb_consistency_verify_pb(p, &a, &b);
        zb__consistency_proof__free_unpacked(p, NULL);
    } else {
        FUZZ_CHECK(p == NULL);
    }
    fclose(f);
    return 0;
}
