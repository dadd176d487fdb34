/*
 * make_seeds.c - writes the binary seeds of the checked-in corpus: real
 * signed envelopes of the three deploy/examples reports, the SyncMsg frames
 * that carry them (receipts with a signed log head and real inclusion and
 * consistency proofs), Merkle proofs over the RFC 6962 test leaves, one
 * downstream message of each kind, sealed and as its bare Downstream, and a
 * prefecture's relay and summary reports (version 3) for fuzz_relay.
 * Keys are derived from fixed seeds, so a rerun rewrites the same bytes.
 * Not a fuzz target; built only in the fuzz build and run by hand:
 *   ./build-fuzz/tests/fuzz/make_seeds . tests/fuzz/corpus
 * (repository root, corpus directory). The JSON and time seeds are written
 * by hand.
 */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "downstream.h"
#include "envelope.h"
#include "logleaf.h"
#include "merkle.h"
#include "relay.h"
#include "report.h"
#include "treehead.h"
#include "wire.h"

#define COUNTY "222401"
#define CREATED_AT INT64_C(1793894399) /* 2026-11-05T23:59:59+08:00 */
#define NREPORTS 3

static const char *const example_names[NREPORTS] = {"monthly", "accident", "accident-supplement"};

static void die(const char *what)
{
    fprintf(stderr, "make_seeds: %s\n", what);
    exit(1);
}

static void write_seed(const char *corpus, const char *target, const char *name,
                       const uint8_t *buf, size_t len)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", corpus, target);
    if (n < 0 || (size_t)n >= sizeof path)
        die("path too long");
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die("cannot create a corpus directory");
    n = snprintf(path, sizeof path, "%s/%s/%s", corpus, target, name);
    if (n < 0 || (size_t)n >= sizeof path)
        die("path too long");
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
        die("cannot write a seed");
    printf("%s %zu bytes\n", path, len);
}

static void identity_from_seed(uint8_t fill, zb_identity *id)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, fill, sizeof seed);
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

static void write_msg(const char *corpus, const char *name, const Zb__SyncMsg *msg)
{
    uint8_t *buf;
    size_t len;
    if (zb_wire_pack(msg, &buf, &len) != 0)
        die("zb_wire_pack");
    Zb__SyncMsg *check;
    if (zb_wire_unpack(buf, len, &check) != 0)
        die("a seed frame does not unpack");
    zb__sync_msg__free_unpacked(check, NULL);
    write_seed(corpus, "fuzz_wire", name, buf, len);
    free(buf);
}

/* The aggregator's log over the seed envelopes (leaf = the envelope's
 * canonical bytes), its signed head, and the proofs receipts carry. */
typedef struct {
    uint8_t leaves[NREPORTS][ZB_HASH_LEN];
    uint8_t root[ZB_HASH_LEN];
    uint8_t head_buf[256], head_sig[ZB_SIG_LEN];
    Zb__SignedTreeHead sth;
    uint8_t paths[NREPORTS][ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    ProtobufCBinaryData path_pb[NREPORTS][ZB_MERKLE_MAX_PROOF];
    Zb__InclusionProof incl[NREPORTS];
    Zb__InclusionProof *incl_ptrs[NREPORTS];
    uint8_t cons_path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    ProtobufCBinaryData cons_pb[ZB_MERKLE_MAX_PROOF];
    Zb__ConsistencyProof cons; /* 1 -> NREPORTS */
} seed_log;

static void make_log(seed_log *lg, uint8_t *const *env_bytes, const size_t *env_len,
                     const zb_identity *agg)
{
    const uint8_t(*lv)[ZB_HASH_LEN] = (const uint8_t(*)[ZB_HASH_LEN])lg->leaves;
    for (int i = 0; i < NREPORTS; i++)
        zb_envelope_leaf_hash(env_bytes[i], env_len[i], lg->leaves[i]);
    zb_merkle_root_of_leaves(lv, NREPORTS, lg->root);

    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = NREPORTS;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, lg->root};
    th.timestamp = CREATED_AT + 60;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    size_t len = zb__tree_head__get_packed_size(&th);
    if (len > sizeof lg->head_buf)
        die("tree head too big");
    zb__tree_head__pack(&th, lg->head_buf);
    if (zb_sign_tagged(ZB_TAG_TREE_HEAD, lg->head_buf, len, agg, lg->head_sig) != 0)
        die("zb_sign_tagged");
    zb__signed_tree_head__init(&lg->sth);
    lg->sth.tree_head = (ProtobufCBinaryData){len, lg->head_buf};
    lg->sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, lg->head_sig};
    zb_tree_head check;
    if (zb_tree_head_verify(&lg->sth, agg->pk, &check) != 0)
        die("the seed tree head does not verify");

    for (int i = 0; i < NREPORTS; i++) {
        size_t count;
        if (zb_merkle_inclusion_proof(lv, NREPORTS, (uint64_t)i, lg->paths[i], &count) != 0)
            die("inclusion proof");
        for (size_t j = 0; j < count; j++)
            lg->path_pb[i][j] = (ProtobufCBinaryData){ZB_HASH_LEN, lg->paths[i][j]};
        zb__inclusion_proof__init(&lg->incl[i]);
        lg->incl[i].seq = (uint64_t)i + 1;
        lg->incl[i].log_index = (uint64_t)i;
        lg->incl[i].path = lg->path_pb[i];
        lg->incl[i].n_path = count;
        lg->incl_ptrs[i] = &lg->incl[i];
        if (zb_inclusion_verify_pb(&lg->incl[i], lg->leaves[i], &check) != 0)
            die("the seed inclusion proof does not verify");
    }

    size_t count;
    if (zb_merkle_consistency_proof(lv, NREPORTS, 1, lg->cons_path, &count) != 0)
        die("consistency proof");
    for (size_t j = 0; j < count; j++)
        lg->cons_pb[j] = (ProtobufCBinaryData){ZB_HASH_LEN, lg->cons_path[j]};
    zb__consistency_proof__init(&lg->cons);
    lg->cons.old_size = 1;
    lg->cons.new_size = NREPORTS;
    lg->cons.path = lg->cons_pb;
    lg->cons.n_path = count;
    zb_tree_head old_head = {.size = 1};
    memcpy(old_head.root, lg->leaves[0], ZB_HASH_LEN);
    if (zb_consistency_verify_pb(&lg->cons, &old_head, &check) != 0)
        die("the seed consistency proof does not verify");
}

/* One receipt for seqs 1..NREPORTS, signed by the aggregator's key, with
 * the log head and an inclusion proof per report. */
static Zb__BatchReceipt *make_receipt(uint8_t (*report_hashes)[ZB_HASH_LEN],
                                      const zb_identity *agg, seed_log *lg, uint8_t *stmt_buf,
                                      size_t cap, uint8_t sig[ZB_SIG_LEN])
{
    static uint8_t root[ZB_HASH_LEN];
    uint8_t leaves[NREPORTS][ZB_HASH_LEN];
    for (int i = 0; i < NREPORTS; i++)
        zb_merkle_leaf_hash(report_hashes[i], ZB_HASH_LEN, leaves[i]);
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])leaves, NREPORTS, root);
    Zb__ReceiptStatement st = ZB__RECEIPT_STATEMENT__INIT;
    st.county = (char *)COUNTY;
    st.first_seq = 1;
    st.last_seq = NREPORTS;
    st.received_at = CREATED_AT + 60;
    st.batch_root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    st.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    size_t len = zb__receipt_statement__get_packed_size(&st);
    if (len > cap)
        die("receipt statement too big");
    zb__receipt_statement__pack(&st, stmt_buf);
    if (zb_sign_tagged(ZB_TAG_RECEIPT, stmt_buf, len, agg, sig) != 0)
        die("zb_sign_tagged");
    static Zb__BatchReceipt rc;
    zb__batch_receipt__init(&rc);
    rc.statement = (ProtobufCBinaryData){len, stmt_buf};
    rc.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    rc.tree_head = &lg->sth;
    rc.proofs = lg->incl_ptrs;
    rc.n_proofs = NREPORTS;
    return &rc;
}

static void merkle_seeds(const char *corpus)
{
    /* RFC 6962 test leaves (transparency-dev/merkle). */
    static const char *const hex[8] = {"",         "00",       "10",
                                       "2021",     "3031",     "40414243",
                                       "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
    uint8_t leaves[8][ZB_HASH_LEN];
    for (int i = 0; i < 8; i++) {
        uint8_t entry[16];
        size_t len = strlen(hex[i]) / 2;
        if (len && zb_hex_decode(hex[i], entry, len) != 0)
            die("hex");
        zb_merkle_leaf_hash(entry, len, leaves[i]);
    }
    const uint8_t(*lv)[ZB_HASH_LEN] = (const uint8_t(*)[ZB_HASH_LEN])leaves;
    uint8_t buf[1 + 16 + 2 * ZB_HASH_LEN + ZB_MERKLE_MAX_PROOF * ZB_HASH_LEN];
    uint8_t proof[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    size_t count;

    /* mode 0: inclusion of leaf index 3 in the tree of 7 leaves */
    const uint64_t idx = 3, n = 7;
    if (zb_merkle_inclusion_proof(lv, n, idx, proof, &count) != 0)
        die("inclusion proof");
    buf[0] = 0;
    memcpy(buf + 1, &idx, 8); /* little-endian host, as the target reads */
    memcpy(buf + 9, &n, 8);
    memcpy(buf + 17, leaves[idx], ZB_HASH_LEN);
    zb_merkle_root_of_leaves(lv, n, buf + 17 + ZB_HASH_LEN);
    memcpy(buf + 17 + 2 * ZB_HASH_LEN, proof, count * ZB_HASH_LEN);
    write_seed(corpus, "fuzz_merkle_verify", "inclusion-3-of-7", buf,
               17 + 2 * ZB_HASH_LEN + count * ZB_HASH_LEN);

    /* mode 1: consistency 3 -> 7 and 4 -> 8 (old size a power of two) */
    const uint64_t pairs[2][2] = {{3, 7}, {4, 8}};
    for (int p = 0; p < 2; p++) {
        uint64_t m = pairs[p][0], size2 = pairs[p][1];
        if (zb_merkle_consistency_proof(lv, size2, m, proof, &count) != 0)
            die("consistency proof");
        buf[0] = 1;
        memcpy(buf + 1, &m, 8);
        memcpy(buf + 9, &size2, 8);
        zb_merkle_root_of_leaves(lv, m, buf + 17);
        zb_merkle_root_of_leaves(lv, size2, buf + 17 + ZB_HASH_LEN);
        memcpy(buf + 17 + 2 * ZB_HASH_LEN, proof, count * ZB_HASH_LEN);
        char name[64];
        snprintf(name, sizeof name, "consistency-%u-to-%u", (unsigned)m, (unsigned)size2);
        write_seed(corpus, "fuzz_merkle_verify", name, buf,
                   17 + 2 * ZB_HASH_LEN + count * ZB_HASH_LEN);
    }

    /* mode 2: generated trees (n-1, m, m1-1, flip as u16le, then leaf bytes) */
    static const uint8_t gen1[] = {2, 6, 0, 3, 0, 2, 0, 0x21, 0x01, 'z', 'b'};
    static const uint8_t gen2[] = {2, 199, 0, 150, 0, 99, 0, 0x45, 0x03, 0x00};
    write_seed(corpus, "fuzz_merkle_verify", "tree-7-leaf-3-from-3", gen1, sizeof gen1);
    write_seed(corpus, "fuzz_merkle_verify", "tree-200-leaf-150-from-100", gen2, sizeof gen2);
}

/* fuzz_downstream: each kind of downstream message sealed by agg (what
 * zb_down_open reads) and as its bare Downstream bytes (what the target
 * signs itself to reach the strict decoding and the content rules). */
static void downstream_seeds(const char *corpus, const zb_identity *agg)
{
    Zb__Review review = ZB__REVIEW__INIT;
    review.seq = 1;
    review.decision = ZB__REVIEW_DECISION__RETURNED;
    review.comment = (char *)"第3项整改进度数据有误，请核实后重新报送。";
    review.reviewer = (char *)"王科长";
    Zb__Reminder missing = ZB__REMINDER__INIT;
    missing.kind = ZB__REMINDER_KIND__MONTHLY_MISSING;
    missing.period = (char *)"2026-10";
    missing.has_due_at = 1;
    missing.due_at = CREATED_AT;
    Zb__Reminder overdue = ZB__REMINDER__INIT;
    overdue.kind = ZB__REMINDER_KIND__SUPPLEMENT_OVERDUE;
    overdue.accident_id = (char *)"YJ-2026-0042";
    overdue.has_due_at = 1;
    overdue.due_at = CREATED_AT;
    Zb__Time at = ZB__TIME__INIT;
    at.unix = CREATED_AT + 3 * 86400; /* moved from the 5th to the 8th */
    at.offset_min = 480;
    Zb__Deadline deadline = ZB__DEADLINE__INIT;
    deadline.period = (char *)"2026-10";
    deadline.deadline = &at;
    Zb__Notice notice = ZB__NOTICE__INIT;
    notice.title = (char *)"关于元旦假期值班的通知";
    notice.text = (char *)"请各县（市）安委办做好值班安排。";

    static const char *const names[] = {"review", "reminder-missing", "reminder-overdue",
                                        "deadline", "notice"};
    for (int i = 0; i < 5; i++) {
        Zb__Downstream d = ZB__DOWNSTREAM__INIT;
        d.version = ZB_DOWN_VERSION;
        d.county = (char *)COUNTY;
        d.number = (uint64_t)i + 1;
        d.created_at = CREATED_AT + 60 * i;
        d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
        switch (i) {
        case 0: d.body_case = ZB__DOWNSTREAM__BODY_REVIEW, d.review = &review; break;
        case 1: d.body_case = ZB__DOWNSTREAM__BODY_REMINDER, d.reminder = &missing; break;
        case 2: d.body_case = ZB__DOWNSTREAM__BODY_REMINDER, d.reminder = &overdue; break;
        case 3: d.body_case = ZB__DOWNSTREAM__BODY_DEADLINE, d.deadline = &deadline; break;
        default: d.body_case = ZB__DOWNSTREAM__BODY_NOTICE, d.notice = &notice; break;
        }
        zb_problems problems = {0};
        zb_down_validate(&d, &problems);
        if (problems.n)
            die(problems.lines[0]);
        uint8_t *sealed;
        size_t len;
        if (zb_down_seal(&d, agg, &sealed, &len) != 0)
            die("zb_down_seal");
        if (zb_down_open(sealed, len, agg->pk, NULL) != 0)
            die("a seed downstream message does not open");
        char name[64];
        snprintf(name, sizeof name, "signed-%s", names[i]);
        write_seed(corpus, "fuzz_downstream", name, sealed, len);
        free(sealed);
        uint8_t bare[1024];
        len = zb__downstream__get_packed_size(&d);
        if (len > sizeof bare)
            die("a seed downstream message is too big");
        zb__downstream__pack(&d, bare);
        snprintf(name, sizeof name, "downstream-%s", names[i]);
        write_seed(corpus, "fuzz_downstream", name, bare, len);
    }
}

/* ---- fuzz_relay: a prefecture's relay and summary reports (version 3) */

#define SEED_LOG_MAX 8

/* A prefecture's log held in memory: leaf bytes and hashes. */
typedef struct {
    uint8_t *leaf[SEED_LOG_MAX];
    size_t len[SEED_LOG_MAX];
    uint8_t hash[SEED_LOG_MAX][ZB_HASH_LEN];
    size_t n;
} seed_plog;

static void plog_add(seed_plog *pl, uint8_t *leaf, size_t len)
{
    if (pl->n == SEED_LOG_MAX)
        die("seed log full");
    pl->leaf[pl->n] = leaf;
    pl->len[pl->n] = len;
    zb_merkle_leaf_hash(leaf, len, pl->hash[pl->n++]);
}

static void plog_free(seed_plog *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->leaf[i]);
    pl->n = 0;
}

/* The leaves idx[0..k) of pl with their paths against a head over all of
 * pl signed by agg, as a Relay: packed bare into *relay_out (malloc'd) and
 * wrapped in a version 3 Report of 222400 (seq) into *report_out. Both
 * checked to open under agg's key and to validate. */
static void make_relay(const seed_plog *pl, const uint64_t *idx, size_t k, uint64_t seq,
                       const zb_identity *agg, uint8_t **relay_out, size_t *relay_len,
                       uint8_t **report_out, size_t *report_len)
{
    const uint8_t(*lv)[ZB_HASH_LEN] = (const uint8_t(*)[ZB_HASH_LEN])pl->hash;
    uint8_t root[ZB_HASH_LEN];
    zb_merkle_root_of_leaves(lv, pl->n, root);
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = pl->n;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = CREATED_AT + 600;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    uint8_t head_buf[256], sig[ZB_SIG_LEN];
    size_t head_len = zb__tree_head__get_packed_size(&th);
    if (head_len > sizeof head_buf)
        die("tree head too big");
    zb__tree_head__pack(&th, head_buf);
    if (zb_sign_tagged(ZB_TAG_TREE_HEAD, head_buf, head_len, agg, sig) != 0)
        die("zb_sign_tagged");
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){head_len, head_buf};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};

    static uint8_t paths[SEED_LOG_MAX][ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    static ProtobufCBinaryData path_pb[SEED_LOG_MAX][ZB_MERKLE_MAX_PROOF];
    Zb__RelayedLeaf leaves[SEED_LOG_MAX], *ptrs[SEED_LOG_MAX];
    for (size_t i = 0; i < k; i++) {
        size_t count;
        if (zb_merkle_inclusion_proof(lv, pl->n, idx[i], paths[i], &count) != 0)
            die("inclusion proof");
        for (size_t j = 0; j < count; j++)
            path_pb[i][j] = (ProtobufCBinaryData){ZB_HASH_LEN, paths[i][j]};
        zb__relayed_leaf__init(&leaves[i]);
        leaves[i].log_index = idx[i];
        leaves[i].leaf = (ProtobufCBinaryData){pl->len[idx[i]], pl->leaf[idx[i]]};
        leaves[i].path = path_pb[i];
        leaves[i].n_path = count;
        ptrs[i] = &leaves[i];
    }
    Zb__Relay relay = ZB__RELAY__INIT;
    relay.tree_head = &sth;
    relay.leaves = ptrs;
    relay.n_leaves = k;

    zb_tree_head head;
    zb_relayed *l;
    size_t n;
    char why[200];
    if (zb_relay_open(&relay, agg->pk, &head, &l, &n, why, sizeof why) != 0)
        die(why);
    zb_relayed_free(l, n);

    *relay_len = zb__relay__get_packed_size(&relay);
    if (!(*relay_out = malloc(*relay_len)))
        die("out of memory");
    zb__relay__pack(&relay, *relay_out);

    uint8_t zero[ZB_SHA256_LEN] = {0};
    Zb__Report r = ZB__REPORT__INIT;
    r.version = ZB_REPORT_VERSION_RELAY;
    r.county = (char *)"222400";
    r.seq = seq;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    r.created_at = CREATED_AT + 3600;
    r.content_case = ZB__REPORT__CONTENT_RELAY;
    r.relay = &relay;
    zb_problems problems = {0};
    zb_report_validate(&r, "", &problems);
    if (problems.n)
        die(problems.lines[0]);
    *report_len = zb__report__get_packed_size(&r);
    if (!(*report_out = malloc(*report_len)))
        die("out of memory");
    zb__report__pack(&r, *report_out);
    Zb__Report *check;
    if (zb_report_decode(*report_out, *report_len, &check) != 0)
        die("a seed relay report does not decode");
    zb__report__free_unpacked(check, NULL);
}

static void write_relay(const char *corpus, const char *name, const seed_plog *pl,
                        const uint64_t *idx, size_t k, uint64_t seq, const zb_identity *agg,
                        bool bare_too)
{
    uint8_t *relay, *report;
    size_t relay_len, report_len;
    make_relay(pl, idx, k, seq, agg, &relay, &relay_len, &report, &report_len);
    char file[128];
    snprintf(file, sizeof file, "report-%s", name);
    write_seed(corpus, "fuzz_relay", file, report, report_len);
    if (bare_too) {
        snprintf(file, sizeof file, "bare-%s", name);
        write_seed(corpus, "fuzz_relay", file, relay, relay_len);
    }
    free(relay);
    free(report);
}

/* The three example envelopes env_bytes[0..NREPORTS) of county 222401
 * (node's key) in a prefecture's log (agg's key): its key event, the
 * envelopes, a downstream notice and equivocation evidence; relays of it
 * as a statutory relay (key event, the accident's revisions) and a
 * forward-all one, a log begun at version 1 (bare envelope leaves), and a
 * period summary. */
static void relay_seeds(const char *corpus, uint8_t *const *env_bytes, const size_t *env_len,
                        const zb_identity *node, const zb_identity *agg)
{
    seed_plog pl = {0};
    uint8_t *req, *leaf;
    size_t req_len, len;
    if (zb_keyreq_make(COUNTY, node, NULL, 0, NULL, CREATED_AT - 86400, &req, &req_len) != 0)
        die("zb_keyreq_make");
    uint8_t zero[ZB_SHA256_LEN] = {0};
    Zb__KeyEvent e = ZB__KEY_EVENT__INIT;
    e.county = (char *)COUNTY;
    e.kind = ZB__KEY_EVENT_KIND__ENROLLED;
    e.key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)node->pk};
    e.seq = 1;
    e.has_prev_hash = 1;
    e.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    e.has_request = 1;
    e.request = (ProtobufCBinaryData){req_len, req};
    Zb__LogLeaf kl = ZB__LOG_LEAF__INIT;
    kl.timestamp = CREATED_AT - 86400;
    kl.entry_case = ZB__LOG_LEAF__ENTRY_KEY_EVENT;
    kl.key_event = &e;
    if (zb_leaf_pack(&kl, &leaf, &len) != 0)
        die("zb_leaf_pack");
    plog_add(&pl, leaf, len); /* 0 */
    for (int i = 0; i < NREPORTS; i++) {
        if (zb_leaf_of_envelope(CREATED_AT + 10 * i, env_bytes[i], env_len[i], &leaf, &len) != 0)
            die("zb_leaf_of_envelope");
        plog_add(&pl, leaf, len); /* 1, 2, 3 */
    }
    Zb__Notice notice = ZB__NOTICE__INIT;
    notice.title = (char *)"关于元旦假期值班的通知";
    notice.text = (char *)"请各县（市）安委办做好值班安排。";
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    d.version = ZB_DOWN_VERSION;
    d.county = (char *)COUNTY;
    d.number = 1;
    d.created_at = CREATED_AT + 60;
    d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)agg->pk};
    d.body_case = ZB__DOWNSTREAM__BODY_NOTICE;
    d.notice = &notice;
    uint8_t *msg;
    size_t msg_len;
    if (zb_down_seal(&d, agg, &msg, &msg_len) != 0 ||
        zb_leaf_of_downstream(CREATED_AT + 60, msg, msg_len, &leaf, &len) != 0)
        die("downstream leaf");
    free(msg);
    plog_add(&pl, leaf, len); /* 4 */
    Zb__Evidence ev = ZB__EVIDENCE__INIT;
    ev.county = (char *)COUNTY;
    ev.seq = 3;
    ev.envelope = (ProtobufCBinaryData){env_len[1], env_bytes[1]};
    Zb__LogLeaf el = ZB__LOG_LEAF__INIT;
    el.timestamp = CREATED_AT + 70;
    el.entry_case = ZB__LOG_LEAF__ENTRY_EVIDENCE;
    el.evidence = &ev;
    if (zb_leaf_pack(&el, &leaf, &len) != 0)
        die("zb_leaf_pack");
    plog_add(&pl, leaf, len); /* 5 */

    const uint64_t statutory[] = {0, 2, 3};
    write_relay(corpus, "statutory", &pl, statutory, 3, 1, agg, true);
    const uint64_t all[] = {0, 1, 2, 3, 4, 5};
    write_relay(corpus, "all", &pl, all, 6, 2, agg, true);
    plog_free(&pl);

    /* a log begun at version 1: bare envelopes, then LogLeafs */
    for (int i = 0; i < 2; i++) {
        uint8_t *bare = malloc(env_len[i]);
        if (!bare)
            die("out of memory");
        memcpy(bare, env_bytes[i], env_len[i]);
        plog_add(&pl, bare, env_len[i]);
    }
    if (zb_leaf_pack(&kl, &leaf, &len) != 0)
        die("zb_leaf_pack");
    plog_add(&pl, leaf, len);
    if (zb_leaf_of_envelope(CREATED_AT + 20, env_bytes[2], env_len[2], &leaf, &len) != 0)
        die("zb_leaf_of_envelope");
    plog_add(&pl, leaf, len);
    const uint64_t v1[] = {0, 1, 3};
    write_relay(corpus, "v1-log", &pl, v1, 3, 3, agg, false);
    plog_free(&pl);
    free(req);

    /* a period summary: one county on time, one missing */
    Zb__MonthlyStats stats = ZB__MONTHLY_STATS__INIT;
    stats.has_inspections = 1;
    stats.inspections = 120;
    stats.has_hazards_found = 1;
    stats.hazards_found = 45;
    Zb__CountySummary c[2] = {ZB__COUNTY_SUMMARY__INIT, ZB__COUNTY_SUMMARY__INIT};
    Zb__CountySummary *cp[2] = {&c[0], &c[1]};
    c[0].county = (char *)COUNTY;
    c[0].status = ZB__FILING_STATUS__ON_TIME;
    c[0].has_versions = 1;
    c[0].versions = 1;
    c[0].has_seq = 1;
    c[0].seq = 1;
    c[0].has_first_created_at = 1;
    c[0].first_created_at = CREATED_AT;
    c[0].has_tasks_done = 1;
    c[0].tasks_done = 1;
    c[0].has_tasks_in_progress = 1;
    c[0].tasks_in_progress = 2;
    c[0].has_tasks_not_started = 1;
    c[0].tasks_not_started = 1;
    c[0].stats = &stats;
    c[1].county = (char *)"222402";
    c[1].status = ZB__FILING_STATUS__MISSING;
    Zb__Time deadline = ZB__TIME__INIT;
    deadline.unix = CREATED_AT;
    deadline.offset_min = 480;
    Zb__PeriodSummary m = ZB__PERIOD_SUMMARY__INIT;
    m.period = (char *)"2026-10";
    m.deadline = &deadline;
    m.counties = cp;
    m.n_counties = 2;
    Zb__Report r = ZB__REPORT__INIT;
    r.version = ZB_REPORT_VERSION_RELAY;
    r.county = (char *)"222400";
    r.seq = 4;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    r.created_at = CREATED_AT + 3600;
    r.content_case = ZB__REPORT__CONTENT_SUMMARY;
    r.summary = &m;
    zb_problems problems = {0};
    zb_report_validate(&r, "", &problems);
    if (problems.n)
        die(problems.lines[0]);
    uint8_t buf[1024];
    len = zb__report__get_packed_size(&r);
    if (len > sizeof buf)
        die("summary too big");
    zb__report__pack(&r, buf);
    write_seed(corpus, "fuzz_relay", "report-summary", buf, len);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds REPO_ROOT CORPUS_DIR\n");
        return 2;
    }
    const char *root = argv[1], *corpus = argv[2];
    if (zb_crypto_init() != 0)
        die("sodium_init");
    zb_identity node, agg;
    identity_from_seed(0x11, &node);
    identity_from_seed(0x22, &agg);

    /* The three example reports as one county's chain: seq 1, 2, 3. */
    uint8_t *env_bytes[NREPORTS];
    size_t env_len[NREPORTS];
    uint8_t hashes[NREPORTS][ZB_HASH_LEN];
    uint8_t prev[ZB_HASH_LEN] = {0};
    for (int i = 0; i < NREPORTS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/deploy/examples/%s.json", root, example_names[i]);
        json_error_t jerr;
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            die(jerr.text);
        zb_problems problems = {0};
        Zb__Report *r = zb_report_from_json(j, "", &problems, NULL);
        if (!r)
            die(problems.n ? problems.lines[0] : "example does not parse");
        r->county = strdup(COUNTY);
        r->seq = (uint64_t)i + 1;
        r->prev_hash.data = malloc(ZB_HASH_LEN);
        if (!r->county || !r->prev_hash.data)
            die("out of memory");
        memcpy(r->prev_hash.data, prev, ZB_HASH_LEN);
        r->prev_hash.len = ZB_HASH_LEN;
        r->created_at = CREATED_AT;
        zb_report_validate(r, "", &problems);
        if (problems.n)
            die(problems.lines[0]);
        size_t len = zb__report__get_packed_size(r);
        uint8_t *bytes = malloc(len);
        if (!bytes)
            die("out of memory");
        zb__report__pack(r, bytes);
        zb_report_hash(bytes, len, hashes[i]);
        memcpy(prev, hashes[i], ZB_HASH_LEN);
        if (zb_envelope_seal(bytes, len, &node, &env_bytes[i], &env_len[i]) != 0)
            die("zb_envelope_seal");
        Zb__Envelope *env;
        Zb__Report *check;
        if (zb_envelope_open(env_bytes[i], env_len[i], &env, &check) != 0)
            die("a seed envelope does not open");
        zb__envelope__free_unpacked(env, NULL);
        zb__report__free_unpacked(check, NULL);

        char name[128];
        snprintf(name, sizeof name, "report-%s", example_names[i]);
        write_seed(corpus, "fuzz_envelope", name, bytes, len);
        snprintf(name, sizeof name, "envelope-%s", example_names[i]);
        write_seed(corpus, "fuzz_envelope", name, env_bytes[i], env_len[i]);
        free(bytes);
        zb__report__free_unpacked(r, NULL);
        zb_problems_free(&problems);
        json_decref(j);
    }

    /* SyncMsg frames: one of each kind, batches with real envelopes. */
    Zb__Envelope *envs[NREPORTS];
    for (int i = 0; i < NREPORTS; i++) {
        envs[i] = zb__envelope__unpack(NULL, env_len[i], env_bytes[i]);
        if (!envs[i])
            die("unpack envelope");
    }
    Zb__SyncMsg msg = ZB__SYNC_MSG__INIT;

    Zb__Hello hello = ZB__HELLO__INIT;
    hello.protocol = ZB_PROTOCOL_VERSION;
    hello.county = (char *)COUNTY;
    hello.node_key = (ProtobufCBinaryData){ZB_PK_LEN, node.pk};
    hello.has_receipted_seq = 1;
    hello.receipted_seq = 0;
    hello.has_tree_size = 1;
    hello.tree_size = 1;
    msg.msg_case = ZB__SYNC_MSG__MSG_HELLO;
    msg.hello = &hello;
    write_msg(corpus, "hello", &msg);

    Zb__Batch batch = ZB__BATCH__INIT;
    batch.county = (char *)COUNTY;
    batch.envelopes = envs;
    batch.n_envelopes = 1;
    batch.has_tree_size = 1;
    batch.tree_size = 1;
    msg.msg_case = ZB__SYNC_MSG__MSG_BATCH;
    msg.batch = &batch;
    write_msg(corpus, "batch-seq1", &msg);
    batch.n_envelopes = NREPORTS;
    write_msg(corpus, "batch-seq1-3", &msg);

    uint8_t stmt[512], sig[ZB_SIG_LEN];
    static seed_log lg;
    make_log(&lg, env_bytes, env_len, &agg);
    Zb__BatchReceipt *receipt = make_receipt(hashes, &agg, &lg, stmt, sizeof stmt, sig);
    Zb__BatchReceipt *receipts[1] = {receipt};

    Zb__Welcome welcome = ZB__WELCOME__INIT;
    welcome.county = (char *)COUNTY;
    welcome.acked_seq = NREPORTS;
    welcome.window = 4;
    welcome.max_batch = 64;
    welcome.receipts = receipts;
    welcome.n_receipts = 1;
    welcome.tree_head = &lg.sth;
    welcome.consistency = &lg.cons;
    msg.msg_case = ZB__SYNC_MSG__MSG_WELCOME;
    msg.welcome = &welcome;
    write_msg(corpus, "welcome", &msg);

    Zb__Ack ack = ZB__ACK__INIT;
    ack.county = (char *)COUNTY;
    ack.acked_seq = NREPORTS;
    ack.receipts = receipts;
    ack.n_receipts = 1;
    ack.consistency = &lg.cons;
    msg.msg_case = ZB__SYNC_MSG__MSG_ACK;
    msg.ack = &ack;
    write_msg(corpus, "ack", &msg);

    Zb__Refusal refusal = ZB__REFUSAL__INIT;
    refusal.county = (char *)COUNTY;
    refusal.code = ZB__ERROR_CODE__BAD_CHAIN;
    refusal.seq = 2;
    refusal.acked_seq = 1;
    refusal.reason = (char *)"prev_hash does not match the stored predecessor";
    msg.msg_case = ZB__SYNC_MSG__MSG_REFUSAL;
    msg.refusal = &refusal;
    write_msg(corpus, "refusal", &msg);

    relay_seeds(corpus, env_bytes, env_len, &node, &agg);
    for (int i = 0; i < NREPORTS; i++) {
        zb__envelope__free_unpacked(envs[i], NULL);
        free(env_bytes[i]);
    }
    merkle_seeds(corpus);
    downstream_seeds(corpus, &agg);
    zb_identity_wipe(&node);
    zb_identity_wipe(&agg);
    return 0;
}
