/*
 * tamper.c - a dishonest prefecture, for the attack tests (issue 13).
 *
 * It holds the aggregator's key (A/identity.key) and rewrites an audit
 * bundle (docs/bundle.md, version 3) the way such a prefecture could: the
 * log's leaves changed, the tree head re-signed over the new root, the
 * bundle's end hash recomputed. Everything it writes verifies by the
 * aggregator's signature alone; what catches it is what the prefecture
 * does not control: tree heads the counties hold (zhibao-audit --head).
 *
 *   zb-tamper move-time IN OUT --agg-dir A --county CODE --seq N --by SECONDS
 *       the receive time of the county's report N moved by SECONDS (the
 *       head re-signed no earlier than the newest leaf)
 *   zb-tamper drop-evidence IN OUT --agg-dir A
 *       every equivocation evidence leaf removed
 *   zb-tamper trim IN OUT --agg-dir A --county CODE --keep SEQ
 *       the county's reports after SEQ removed
 *
 * Exit 0 when the attack was applied, 1 when there was nothing to change
 * (no such leaf, no evidence, nothing after SEQ), 2 on bad use or input.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.pb-c.h"
#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "logleaf.h"
#include "merkle.h"
#include "zhibao.pb-c.h"

#define MAGIC "ZBBUNDLE1\n"
#define RECORD_MAX (1u << 20)

typedef struct {
    Zb__BundleRecord **v;
    size_t n, cap;
} records;

static int die(const char *msg)
{
    fprintf(stderr, "zb-tamper: %s\n", msg);
    return 2;
}

static int read_bundle(const char *path, records *r)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ZB_EIO;
    char magic[sizeof MAGIC - 1];
    int rc = fread(magic, 1, sizeof magic, f) == sizeof magic &&
                     memcmp(magic, MAGIC, sizeof magic) == 0
                 ? ZB_OK
                 : ZB_EDECODE;
    uint8_t *buf = malloc(RECORD_MAX);
    while (rc == 0) {
        uint8_t len_be[4];
        size_t got = fread(len_be, 1, 4, f);
        if (got == 0)
            break;
        uint32_t len;
        memcpy(&len, len_be, 4);
        len = ntohl(len);
        if (got != 4 || len > RECORD_MAX || !buf || fread(buf, 1, len, f) != len) {
            rc = ZB_EDECODE;
            break;
        }
        Zb__BundleRecord *rec = zb__bundle_record__unpack(NULL, len, buf);
        if (!rec) {
            rc = ZB_EDECODE;
            break;
        }
        if (r->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 256;
            r->v = realloc(r->v, r->cap * sizeof *r->v);
            if (!r->v)
                return ZB_ENOMEM;
        }
        r->v[r->n++] = rec;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* Write the records (their END recomputed) to path. */
static int write_bundle(const char *path, records *r)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return ZB_EIO;
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    fwrite(MAGIC, 1, sizeof MAGIC - 1, f);
    crypto_hash_sha256_update(&sha, (const uint8_t *)MAGIC, sizeof MAGIC - 1);
    uint64_t count = 0;
    for (size_t i = 0; i < r->n; i++) {
        Zb__BundleRecord *rec = r->v[i];
        uint8_t digest[32];
        if (rec->record_case == ZB__BUNDLE_RECORD__RECORD_END) {
            crypto_hash_sha256_state copy = sha;
            crypto_hash_sha256_final(&copy, digest);
            rec->end->record_count = count;
            rec->end->sha256.len = sizeof digest;
            memcpy(rec->end->sha256.data, digest, sizeof digest);
        }
        size_t len = zb__bundle_record__get_packed_size(rec);
        uint8_t *buf = malloc(len);
        if (!buf) {
            fclose(f);
            return ZB_ENOMEM;
        }
        zb__bundle_record__pack(rec, buf);
        uint32_t be = htonl((uint32_t)len);
        fwrite(&be, 1, 4, f);
        fwrite(buf, 1, len, f);
        crypto_hash_sha256_update(&sha, (const uint8_t *)&be, 4);
        crypto_hash_sha256_update(&sha, buf, len);
        free(buf);
        count++;
    }
    return fclose(f) == 0 ? ZB_OK : ZB_EIO;
}

/* Drop record i (its memory freed). */
static void drop(records *r, size_t i)
{
    zb__bundle_record__free_unpacked(r->v[i], NULL);
    memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof *r->v);
    r->n--;
}

/* Renumber the entries, fix the header's count, and re-sign the tree head
 * over the leaves as they now are, with the aggregator's key. */
static int resign(records *r, const zb_identity *agg)
{
    uint64_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i]->record_case == ZB__BUNDLE_RECORD__RECORD_ENTRY)
            r->v[i]->entry->log_index = n++;
    uint8_t(*leaves)[ZB_HASH_LEN] = calloc(n ? n : 1, ZB_HASH_LEN);
    if (!leaves)
        return ZB_ENOMEM;
    uint64_t k = 0;
    int64_t newest = 0; /* the head is not signed before its newest leaf */
    for (size_t i = 0; i < r->n; i++) {
        Zb__BundleRecord *rec = r->v[i];
        if (rec->record_case == ZB__BUNDLE_RECORD__RECORD_HEADER)
            rec->header->entry_count = n;
        if (rec->record_case == ZB__BUNDLE_RECORD__RECORD_ENTRY) {
            zb_merkle_leaf_hash(rec->entry->envelope.data, rec->entry->envelope.len,
                                leaves[k++]);
            if (rec->entry->received_at > newest)
                newest = rec->entry->received_at;
        }
    }
    uint8_t root[ZB_HASH_LEN];
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])leaves, n, root);
    free(leaves);
    for (size_t i = 0; i < r->n; i++) {
        Zb__BundleRecord *rec = r->v[i];
        if (rec->record_case != ZB__BUNDLE_RECORD__RECORD_TREE_HEAD)
            continue;
        Zb__SignedTreeHead *sth = rec->tree_head;
        Zb__TreeHead *th = zb__tree_head__unpack(NULL, sth->tree_head.len, sth->tree_head.data);
        if (!th)
            return ZB_EDECODE;
        th->size = n;
        memcpy(th->root.data, root, ZB_HASH_LEN);
        if (th->timestamp < newest)
            th->timestamp = newest;
        size_t len = zb__tree_head__get_packed_size(th);
        uint8_t *buf = malloc(len);
        if (!buf)
            return ZB_ENOMEM;
        zb__tree_head__pack(th, buf);
        zb__tree_head__free_unpacked(th, NULL);
        free(sth->tree_head.data);
        sth->tree_head = (ProtobufCBinaryData){len, buf};
        if (zb_sign_tagged(ZB_TAG_TREE_HEAD, buf, len, agg, sth->signature.data) != 0)
            return ZB_ENOMEM;
    }
    return ZB_OK;
}

/* The LogLeaf of an entry record, decoded (NULL for anything else). */
static Zb__LogLeaf *leaf_of(const Zb__BundleRecord *rec)
{
    if (rec->record_case != ZB__BUNDLE_RECORD__RECORD_ENTRY)
        return NULL;
    Zb__LogLeaf *l = NULL;
    if (zb_leaf_decode(rec->entry->envelope.data, rec->entry->envelope.len, &l) != 0)
        return NULL;
    return l;
}

/* Whether leaf l holds county's report seq. */
static bool is_report(const Zb__LogLeaf *l, const char *county, uint64_t seq)
{
    if (l->entry_case != ZB__LOG_LEAF__ENTRY_ENVELOPE)
        return false;
    Zb__Envelope *env = NULL;
    Zb__Report *rep = NULL;
    bool yes = zb_envelope_open(l->envelope.data, l->envelope.len, &env, &rep) == 0 &&
               strcmp(rep->county, county) == 0 && rep->seq == seq;
    if (rep)
        zb__report__free_unpacked(rep, NULL);
    if (env)
        zb__envelope__free_unpacked(env, NULL);
    return yes;
}

static int move_time(records *r, const char *county, uint64_t seq, int64_t by)
{
    for (size_t i = 0; i < r->n; i++) {
        Zb__BundleRecord *rec = r->v[i];
        Zb__LogLeaf *l = leaf_of(rec);
        if (!l)
            continue;
        if (!is_report(l, county, seq)) {
            zb__log_leaf__free_unpacked(l, NULL);
            continue;
        }
        l->timestamp += by;
        uint8_t *buf;
        size_t len;
        int rc = zb_leaf_pack(l, &buf, &len);
        zb__log_leaf__free_unpacked(l, NULL);
        if (rc)
            return 2;
        free(rec->entry->envelope.data);
        rec->entry->envelope = (ProtobufCBinaryData){len, buf};
        rec->entry->received_at += by;
        return 0;
    }
    return 1;
}

static int drop_evidence(records *r)
{
    int dropped = 0;
    for (size_t i = 0; i < r->n;) {
        Zb__LogLeaf *l = leaf_of(r->v[i]);
        bool evidence = l && l->entry_case == ZB__LOG_LEAF__ENTRY_EVIDENCE;
        if (l)
            zb__log_leaf__free_unpacked(l, NULL);
        if (evidence) {
            drop(r, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped ? 0 : 1;
}

static int trim(records *r, const char *county, uint64_t keep)
{
    int dropped = 0;
    for (size_t i = 0; i < r->n;) {
        Zb__LogLeaf *l = leaf_of(r->v[i]);
        bool cut = false;
        if (l && l->entry_case == ZB__LOG_LEAF__ENTRY_ENVELOPE) {
            Zb__Envelope *env = NULL;
            Zb__Report *rep = NULL;
            if (zb_envelope_open(l->envelope.data, l->envelope.len, &env, &rep) == 0)
                cut = strcmp(rep->county, county) == 0 && rep->seq > keep;
            if (rep)
                zb__report__free_unpacked(rep, NULL);
            if (env)
                zb__envelope__free_unpacked(env, NULL);
        }
        if (l)
            zb__log_leaf__free_unpacked(l, NULL);
        if (cut) {
            drop(r, i);
            dropped++;
        } else {
            i++;
        }
    }
    return dropped ? 0 : 1;
}

static const char *opt(int argc, char **argv, const char *name)
{
    for (int i = 4; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4 || sodium_init() < 0)
        return die("usage: zb-tamper move-time|drop-evidence|trim IN OUT --agg-dir A ...");
    const char *cmd = argv[1], *in = argv[2], *out = argv[3], *dir = opt(argc, argv, "--agg-dir");
    if (!dir)
        return die("--agg-dir: missing");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, ZB_IDENTITY_FILE);
    zb_identity agg;
    if (zb_identity_load(path, &agg) != 0)
        return die("cannot load the aggregator's key");
    records r = {0};
    if (read_bundle(in, &r) != 0)
        return die("cannot read the bundle");
    int result;
    if (strcmp(cmd, "move-time") == 0) {
        const char *county = opt(argc, argv, "--county"), *seq = opt(argc, argv, "--seq"),
                   *by = opt(argc, argv, "--by");
        if (!county || !seq || !by)
            return die("move-time: --county, --seq and --by are required");
        result = move_time(&r, county, strtoull(seq, NULL, 10), strtoll(by, NULL, 10));
    } else if (strcmp(cmd, "drop-evidence") == 0) {
        result = drop_evidence(&r);
    } else if (strcmp(cmd, "trim") == 0) {
        const char *county = opt(argc, argv, "--county"), *keep = opt(argc, argv, "--keep");
        if (!county || !keep)
            return die("trim: --county and --keep are required");
        result = trim(&r, county, strtoull(keep, NULL, 10));
    } else {
        return die("unknown attack");
    }
    if (result == 0 && (resign(&r, &agg) != 0 || write_bundle(out, &r) != 0))
        result = 2;
    zb_identity_wipe(&agg);
    for (size_t i = 0; i < r.n; i++)
        zb__bundle_record__free_unpacked(r.v[i], NULL);
    free(r.v);
    if (result == 1)
        fprintf(stderr, "zb-tamper: nothing to change\n");
    return result;
}
