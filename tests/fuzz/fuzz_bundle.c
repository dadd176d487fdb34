/*
 * fuzz_bundle.c - the auditor's readers of files from the aggregator:
 * zb_audit_verify (an audit bundle, streamed through fmemopen), and the
 * tree-head and consistency-proof file readers, on the same arbitrary
 * bytes. The bundle reader must never trust a length, must stop at 1 MiB
 * per record, and must report a finding rather than crash on anything.
 *
 * Besides "no crash": the findings counted are the findings returned; no
 * bundle holds unless a signed head covers every entry; an equivocation
 * needs evidence; every key event leaf is reported once, with a county
 * code and a printable line; the roots asked for are found exactly when
 * the bundle has that many entries. A bundle signed by the seeds'
 * aggregator key (tests/unit/test_audit.c writes the version-3 seeds with
 * keys from fixed seeds) is verified twice more against a tree head signed
 * here: over its own first k entries (the findings stay the same), and
 * over a root one bit off (exactly one finding more). Every run lists the
 * seeds' witness (0xc1) as --witness-key does: the witnessed size is a
 * size of the log, found in every bundle that holds, and a bundle that
 * holds is judged for timeliness (period 2025-10, the seeds'): only what
 * a quorum cosigned by the deadline is proven.
 *
 * Linked with the zb_audit library, which the fuzz build instruments for
 * coverage like zb_common (tests/fuzz/CMakeLists.txt).
 * Seeds (corpus/fuzz_bundle/): bundles of versions 1 and 2 from real
 * aggregators (honest, with equivocation evidence, with downstream
 * messages); version 3 (key events with a rotation and a lost machine,
 * evidence leaves, a log begun before log version 2); version 4
 * (witnessed heads cosigned by the listed witness and another; one head
 * of another log: a split view); a tree-head file and a consistency-proof
 * file.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "fuzz.h"
#include "timeliness.h"

/* The seeds' aggregator (fill 0xa1) and county 222401's last key (0xb2),
 * as tests/unit/test_audit.c makes them. */
static zb_identity seed_agg;
static zb_audit_pin seed_pin = {"222401", {0}};
/* The seeds' listed witness (fill 0xc1). */
static uint8_t seed_witness[1][ZB_PK_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    fuzz_identity(0xa1, &seed_agg);
    zb_identity county;
    fuzz_identity(0xb2, &county);
    memcpy(seed_pin.key, county.pk, ZB_PK_LEN);
    zb_identity witness;
    fuzz_identity(0xc1, &witness);
    memcpy(seed_witness[0], witness.pk, ZB_PK_LEN);
    return 0;
}

static void count(void *ctx, const char *line)
{
    FUZZ_CHECK(line != NULL && line[0] != '\0' && strchr(line, '\n') == NULL);
    (*(long *)ctx)++;
}

static void key_event(void *ctx, const zb_audit_key_event *e)
{
    FUZZ_CHECK(strlen(e->county) == 6);
    FUZZ_CHECK(e->consented >= -1 && e->consented <= 1);
    FUZZ_CHECK(e->enrolled || e->consented >= 0);
    char line[300];
    zb_audit_key_event_line(e, line, sizeof line);
    FUZZ_CHECK(strncmp(line, "key ", 4) == 0 && strchr(line, '\n') == NULL);
    (*(uint64_t *)ctx)++;
}

/* A head over size entries with root, signed by the seeds' aggregator at t. */
static Zb__SignedTreeHead *sign_head(uint64_t size, const uint8_t root[ZB_HASH_LEN], int64_t t,
                                     uint8_t *th_buf, size_t th_cap, uint8_t sig[ZB_SIG_LEN],
                                     Zb__SignedTreeHead *sth)
{
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = size;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, (uint8_t *)root};
    th.timestamp = t;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, seed_agg.pk};
    size_t len = zb__tree_head__get_packed_size(&th);
    FUZZ_CHECK(len <= th_cap);
    zb__tree_head__pack(&th, th_buf);
    FUZZ_CHECK(zb_sign_tagged(ZB_TAG_TREE_HEAD, th_buf, len, &seed_agg, sig) == 0);
    *sth = (Zb__SignedTreeHead)ZB__SIGNED_TREE_HEAD__INIT;
    sth->tree_head = (ProtobufCBinaryData){len, th_buf};
    sth->signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    return sth;
}

/* Verify f again (with the pin) and one head given: the number of findings. */
static long verify_with_head(FILE *f, const Zb__SignedTreeHead *sth)
{
    rewind(f);
    zb_audit_head head = {"fuzz.sth", sth};
    zb_audit_opts o = {.heads = &head,
                       .n_heads = 1,
                       .pins = &seed_pin,
                       .n_pins = 1,
                       .witness_keys = (const uint8_t(*)[ZB_PK_LEN])seed_witness,
                       .n_witness_keys = 1};
    zb_audit_summary sum;
    long lines = 0;
    long n = zb_audit_verify(f, &o, count, &lines, &sum);
    FUZZ_CHECK(n == lines);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4u * ZB_AUDIT_RECORD_MAX)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    long lines = 0;
    uint64_t events = 0;
    zb_audit_summary sum;
    zb_audit_prefix prefixes[3] = {{.size = 1}, {.size = 3}, {.size = 1}};
    zb_audit_opts opts = {.prefixes = prefixes,
                          .n_prefixes = 3,
                          .pins = &seed_pin,
                          .n_pins = 1,
                          .key_event = key_event,
                          .key_event_ctx = &events,
                          .witness_keys = (const uint8_t(*)[ZB_PK_LEN])seed_witness,
                          .n_witness_keys = 1};
    long n = zb_audit_verify(f, &opts, count, &lines, &sum);
    FUZZ_CHECK(n >= 0 && n == lines);
    /* nothing holds unless a signed head covers every entry */
    FUZZ_CHECK(n > 0 || sum.entries == 0 || sum.head_ok);
    FUZZ_CHECK(sum.equivocations <= sum.evidence);
    FUZZ_CHECK(events == sum.key_events);
    FUZZ_CHECK(sum.rotations + sum.revocations_unconsented <= sum.key_events);
    FUZZ_CHECK(sum.pins_active <= 1);
    for (int i = 0; i < 3; i++)
        FUZZ_CHECK(prefixes[i].found == (sum.entries >= prefixes[i].size));
    FUZZ_CHECK(memcmp(prefixes[0].root, prefixes[2].root, ZB_HASH_LEN) == 0);
    /* the witnesses: the witnessed size is a size of the log, and a
     * bundle that holds has one (unless it is empty) */
    FUZZ_CHECK(sum.witness_quorum == 1);
    FUZZ_CHECK(sum.witnessed_size <= sum.entries);
    FUZZ_CHECK(sum.unwitnessed_entries == sum.entries - sum.witnessed_size);
    FUZZ_CHECK(sum.cosignatures_unlisted <= sum.cosignatures);
    FUZZ_CHECK(n > 0 || sum.entries == 0 || sum.witnessed_size > 0);

    /* a bundle that holds is judged: only what a quorum cosigned by the
     * deadline is proven, and only for a report the head covers */
    if (n == 0 && sum.has_header) {
        rewind(f);
        zb_audit_opts t_opts = {.pinned_key = sum.agg_key,
                                .witness_keys = (const uint8_t(*)[ZB_PK_LEN])seed_witness,
                                .n_witness_keys = 1};
        zb_timeliness t;
        long tn = zb_timeliness_judge(f, &t_opts, 2025, 10, count, &lines, &t);
        FUZZ_CHECK(tn == 0 || tn == ZB_ENOMEM);
        FUZZ_CHECK(t.proven <= t.n_rows);
        for (size_t i = 0; i < t.n_rows; i++) {
            const zb_timeliness_row *r = &t.rows[i];
            FUZZ_CHECK(!r->on_time_proven || (r->logged && r->witnessed_at <= r->deadline));
            FUZZ_CHECK(!r->logged || (r->status != ZB_TIMELINESS_MISSING &&
                                      r->logged_size > r->log_index &&
                                      r->logged_size <= sum.entries && r->n_witnesses >= 1));
            FUZZ_CHECK(i == 0 || strcmp(t.rows[i - 1].county, r->county) < 0);
        }
        zb_timeliness_free(&t);
    }

    /* a bundle of the seeds' aggregator: a head over its own first entries
     * changes nothing, a head one bit off is one finding more */
    if (sum.has_header && sum.head_ok && sum.entries >= 1 &&
        memcmp(sum.agg_key, seed_agg.pk, ZB_PK_LEN) == 0) {
        uint8_t th_buf[256], sig[ZB_SIG_LEN], root[ZB_HASH_LEN];
        Zb__SignedTreeHead sth;
        memcpy(root, prefixes[0].root, ZB_HASH_LEN);
        sign_head(1, root, sum.head.timestamp, th_buf, sizeof th_buf, sig, &sth);
        FUZZ_CHECK(verify_with_head(f, &sth) == n);
        root[data[0] % ZB_HASH_LEN] ^= 0x01;
        sign_head(1, root, sum.head.timestamp, th_buf, sizeof th_buf, sig, &sth);
        FUZZ_CHECK(verify_with_head(f, &sth) == n + 1);
    }

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
