/*
 * test_relay.c - what a prefecture's relay report proves on its own
 * (common/relay.h) and the version-3 rules of zb_report_validate
 * (common/report.c validate_relay / validate_summary).
 *
 * A prefecture's log of 70 leaves is built in memory from real parts: a
 * county's KeyEvent ENROLLED carrying a real key request (zb_keyreq_make),
 * the county's sealed monthly and accident envelopes as LogLeafs
 * (zb_leaf_of_envelope), a sealed downstream message, equivocation
 * evidence, a bare envelope leaf (a log begun at version 1), two malformed
 * key events and fillers. Heads over it are signed with
 * zb_sign_tagged(ZB_TAG_TREE_HEAD) and paths made with
 * zb_merkle_inclusion_proof; every relay goes through a packed Report and
 * zb_report_decode, as the province reads it.
 *
 *   - a good relay opens: head, leaves' kinds, leaf_time, envelope
 *     pointers into the leaf bytes, key_event, the decoded LogLeaf; a
 *     head over a prefix of the log; 64 leaves (the limit);
 *   - refused with ZB_EBADSIG: the head signed by another key, a path byte
 *     flipped, a leaf byte flipped, a leaf's path shown at another index,
 *     a key event whose request is for another key;
 *   - refused with ZB_EDECODE: indexes descending, equal, equal to the
 *     head's size; 0 and 65 leaves; a path hash of 31 bytes; a vouched
 *     enrolment carrying a request; a leaf neither a LogLeaf nor an
 *     envelope; no tree head;
 *   - a bare envelope leaf opens as ZB_RELAYED_ENVELOPE with leaf_time 0;
 *   - zb_relay_decode: the same leaves without head or paths;
 *   - zb_report_validate: a relay and a summary of version 3 validate;
 *     version 2 with a relay, version 3 with a monthly, and the summary's
 *     rules (counties out of order, status against versions, seq, the
 *     deadline after created_at, the period) each give exactly their line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "logleaf.h"
#include "merkle.h"
#include "relay.h"
#include "report.h"
#include "treehead.h"

#define T0         INT64_C(1793894399) /* 2026-11-05T23:59:59+08:00 */
#define COUNTY     "222401"
#define PREFECTURE "222400"
#define LOG_N      70

/* The leaves of the in-memory log, by index. */
enum {
    IX_ENROLLED = 0,    /* KeyEvent ENROLLED of COUNTY, with its real request */
    IX_MONTHLY = 1,     /* COUNTY seq 1, a monthly report */
    IX_ACCIDENT = 2,    /* COUNTY seq 2, an accident report */
    IX_DOWN = 3,        /* a sealed downstream notice to COUNTY */
    IX_EVIDENCE = 4,    /* a second, different seq 2 of COUNTY */
    IX_BAD_REQ = 5,     /* KeyEvent ENROLLED of 222402 whose request is for another key */
    IX_VOUCHED_REQ = 6, /* KeyEvent ENROLLED of 222403, vouched, and carrying a request */
    IX_BARE = 7,        /* a bare envelope (COUNTY seq 3): log version 1 */
    IX_JUNK = 8,        /* neither a LogLeaf nor an envelope */
    IX_FILLER = 9       /* 9..69: COUNTY's monthly reports seq 4.. */
};

typedef struct {
    uint8_t *leaf[LOG_N];
    size_t len[LOG_N];
    uint8_t hash[LOG_N][ZB_HASH_LEN];
    int64_t time[LOG_N]; /* a LogLeaf's timestamp; 0 for IX_BARE, IX_JUNK */
    /* the canonical envelope inside an envelope leaf (NULL for others) */
    uint8_t *env[LOG_N];
    size_t env_len[LOG_N];
} mlog;

static zb_identity PREF, OTHER, CK, CK2, ROGUE;
static mlog L;

/* ------------------------------------------------------------ building */

/* A sealed envelope of a report for COUNTY: monthly (accident_id NULL) or
 * accident. *len gets its size; the bytes are malloc'd. */
static uint8_t *seal(uint64_t seq, const char *accident_id, uint32_t deaths, size_t *len)
{
    uint8_t prev[ZB_SHA256_LEN] = {0};
    prev[0] = (uint8_t)seq; /* a chain is not what is tested here */
    Zb__Report r = ZB__REPORT__INIT;
    r.version = ZB_REPORT_VERSION;
    r.county = (char *)COUNTY;
    r.seq = seq;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, prev};
    r.created_at = T0 - 86400 + (int64_t)seq;
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    Zb__AccidentReport a = ZB__ACCIDENT_REPORT__INIT;
    Zb__Time occ = ZB__TIME__INIT, notified = ZB__TIME__INIT;
    Zb__Unit unit = ZB__UNIT__INIT;
    if (!accident_id) {
        m.period = (char *)"2026-10";
        r.content_case = ZB__REPORT__CONTENT_MONTHLY;
        r.monthly = &m;
    } else {
        occ.unix = r.created_at - 7200;
        occ.offset_min = 480;
        notified.unix = r.created_at - 6000;
        notified.offset_min = 480;
        unit.name = (char *)"延吉某建筑工程有限公司";
        a.accident_id = (char *)accident_id;
        a.occurred_at = &occ;
        a.county_notified_at = &notified;
        a.place = (char *)"延吉市北山街道";
        a.unit = &unit;
        a.industry = ZB__INDUSTRY__CONSTRUCTION;
        a.has_category = 1;
        a.category = ZB__CATEGORY__LIFTING_INJURY;
        a.summary = (char *)"塔吊吊索断裂。";
        a.deaths = deaths;
        a.direct_loss_yuan = 350000;
        r.content_case = ZB__REPORT__CONTENT_ACCIDENT;
        r.accident = &a;
    }
    zb_problems p = {0};
    zb_report_validate(&r, "", &p);
    assert_int_equal(p.n, 0);
    zb_problems_free(&p);
    size_t rlen = zb__report__get_packed_size(&r);
    uint8_t *rb = malloc(rlen);
    assert_non_null(rb);
    zb__report__pack(&r, rb);
    uint8_t *out = NULL;
    assert_int_equal(zb_envelope_seal(rb, rlen, &CK, &out, len), ZB_OK);
    free(rb);
    return out;
}

static void set_leaf(size_t i, uint8_t *bytes, size_t len, int64_t t)
{
    L.leaf[i] = bytes;
    L.len[i] = len;
    L.time[i] = t;
    zb_merkle_leaf_hash(bytes, len, L.hash[i]);
}

static void envelope_leaf(size_t i, uint64_t seq, const char *accident_id, uint32_t deaths)
{
    L.env[i] = seal(seq, accident_id, deaths, &L.env_len[i]);
    uint8_t *leaf;
    size_t len;
    int64_t t = T0 + 60 * (int64_t)i;
    assert_int_equal(zb_leaf_of_envelope(t, L.env[i], L.env_len[i], &leaf, &len), ZB_OK);
    set_leaf(i, leaf, len, t);
}

static void leaf_pack_at(size_t i, const Zb__LogLeaf *leaf)
{
    uint8_t *b;
    size_t len;
    assert_int_equal(zb_leaf_pack(leaf, &b, &len), ZB_OK);
    set_leaf(i, b, len, leaf->timestamp);
}

/* A KeyEvent ENROLLED leaf of county for key, epoch 0 from seq 1; request
 * (when not NULL) a packed SignedKeyRequest; vouched: field 9 set. */
static void key_event_leaf(size_t i, const char *county, const zb_identity *key,
                           const uint8_t *request, size_t request_len, bool vouched)
{
    uint8_t zero[ZB_SHA256_LEN] = {0};
    Zb__KeyEvent e = ZB__KEY_EVENT__INIT;
    e.county = (char *)county;
    e.epoch = 0;
    e.kind = ZB__KEY_EVENT_KIND__ENROLLED;
    e.key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)key->pk};
    e.seq = 1;
    e.has_prev_hash = 1;
    e.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    if (request) {
        e.has_request = 1;
        e.request = (ProtobufCBinaryData){request_len, (uint8_t *)request};
    }
    if (vouched) {
        e.has_vouched = 1;
        e.vouched = 1;
    }
    Zb__LogLeaf leaf = ZB__LOG_LEAF__INIT;
    leaf.timestamp = T0 + 60 * (int64_t)i;
    leaf.entry_case = ZB__LOG_LEAF__ENTRY_KEY_EVENT;
    leaf.key_event = &e;
    leaf_pack_at(i, &leaf);
}

static void build_log(void)
{
    memset(&L, 0, sizeof L);
    uint8_t *req;
    size_t req_len;

    assert_int_equal(zb_keyreq_make(COUNTY, &CK, NULL, 0, NULL, T0 - 86400, &req, &req_len), ZB_OK);
    key_event_leaf(IX_ENROLLED, COUNTY, &CK, req, req_len, false);
    free(req);

    envelope_leaf(IX_MONTHLY, 1, NULL, 0);
    envelope_leaf(IX_ACCIDENT, 2, "YJ-2026-0042", 3);

    Zb__Notice notice = ZB__NOTICE__INIT;
    notice.title = (char *)"关于元旦假期值班的通知";
    notice.text = (char *)"请各县（市）安委办做好值班安排。";
    Zb__Downstream d = ZB__DOWNSTREAM__INIT;
    d.version = ZB_DOWN_VERSION;
    d.county = (char *)COUNTY;
    d.number = 1;
    d.created_at = T0;
    d.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, PREF.pk};
    d.body_case = ZB__DOWNSTREAM__BODY_NOTICE;
    d.notice = &notice;
    uint8_t *msg, *leaf;
    size_t msg_len, len;
    assert_int_equal(zb_down_seal(&d, &PREF, &msg, &msg_len), ZB_OK);
    assert_int_equal(zb_leaf_of_downstream(T0 + 60 * IX_DOWN, msg, msg_len, &leaf, &len), ZB_OK);
    free(msg);
    set_leaf(IX_DOWN, leaf, len, T0 + 60 * IX_DOWN);

    size_t ev_len;
    uint8_t *ev_env = seal(2, "YJ-2026-0042", 1, &ev_len); /* seq 2 again, other figures */
    Zb__Evidence ev = ZB__EVIDENCE__INIT;
    ev.county = (char *)COUNTY;
    ev.seq = 2;
    ev.envelope = (ProtobufCBinaryData){ev_len, ev_env};
    Zb__LogLeaf evl = ZB__LOG_LEAF__INIT;
    evl.timestamp = T0 + 60 * IX_EVIDENCE;
    evl.entry_case = ZB__LOG_LEAF__ENTRY_EVIDENCE;
    evl.evidence = &ev;
    leaf_pack_at(IX_EVIDENCE, &evl);
    free(ev_env);

    /* 222402's key event names CK2, its request was made by ROGUE */
    assert_int_equal(zb_keyreq_make("222402", &ROGUE, NULL, 0, NULL, T0, &req, &req_len), ZB_OK);
    key_event_leaf(IX_BAD_REQ, "222402", &CK2, req, req_len, false);
    free(req);
    /* 222403: a request for the very key, but also vouched */
    assert_int_equal(zb_keyreq_make("222403", &CK2, NULL, 0, NULL, T0, &req, &req_len), ZB_OK);
    key_event_leaf(IX_VOUCHED_REQ, "222403", &CK2, req, req_len, true);
    free(req);

    L.env[IX_BARE] = seal(3, NULL, 0, &L.env_len[IX_BARE]);
    uint8_t *bare = malloc(L.env_len[IX_BARE]);
    assert_non_null(bare);
    memcpy(bare, L.env[IX_BARE], L.env_len[IX_BARE]);
    assert_int_equal(bare[0], 0x0a);
    set_leaf(IX_BARE, bare, L.env_len[IX_BARE], 0);

    static const uint8_t junk[] = {0x12, 0x03, 'a', 'b', 'c'};
    uint8_t *j = malloc(sizeof junk);
    assert_non_null(j);
    memcpy(j, junk, sizeof junk);
    set_leaf(IX_JUNK, j, sizeof junk, 0);

    for (size_t i = IX_FILLER; i < LOG_N; i++)
        envelope_leaf(i, 4 + (i - IX_FILLER), NULL, 0);
}

static int setup_group(void **state)
{
    (void)state;
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_relay", ZB_LOG_ERROR, false);
    zb_identity_generate(&PREF);
    zb_identity_generate(&OTHER);
    zb_identity_generate(&CK);
    zb_identity_generate(&CK2);
    zb_identity_generate(&ROGUE);
    build_log();
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    for (size_t i = 0; i < LOG_N; i++) {
        free(L.leaf[i]);
        free(L.env[i]);
    }
    zb_identity_wipe(&PREF);
    zb_identity_wipe(&OTHER);
    zb_identity_wipe(&CK);
    zb_identity_wipe(&CK2);
    zb_identity_wipe(&ROGUE);
    return 0;
}

/* A signed TreeHead over L's first size leaves, naming PREF as the log's
 * key, signed by signer: filled into sth (buffers in head_buf, sig). */
static void sign_head(uint64_t size, const zb_identity *signer, uint8_t *head_buf, size_t cap,
                      uint8_t sig[ZB_SIG_LEN], Zb__SignedTreeHead *sth, zb_tree_head *plain)
{
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])L.hash, size, plain->root);
    plain->size = size;
    plain->timestamp = T0 + 60 * (int64_t)size;
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = size;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, plain->root};
    th.timestamp = plain->timestamp;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, PREF.pk};
    size_t len = zb__tree_head__get_packed_size(&th);
    assert_true(len <= cap);
    zb__tree_head__pack(&th, head_buf);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, head_buf, len, signer, sig), ZB_OK);
    zb__signed_tree_head__init(sth);
    sth->tree_head = (ProtobufCBinaryData){len, head_buf};
    sth->signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
}

/* A Report of version with a relay of L's leaves idx[0..k) (each with its
 * path against the head of size; an index >= size gets its path in the
 * whole log) under a head signed by signer, packed and decoded again by
 * zb_report_decode, as the province reads it. Free with
 * zb__report__free_unpacked. *plain (if not NULL) gets the head. */
static Zb__Report *relay_report(uint32_t version, const zb_identity *signer, uint64_t size,
                                const uint64_t *idx, size_t k, zb_tree_head *plain)
{
    uint8_t head_buf[256], sig[ZB_SIG_LEN];
    Zb__SignedTreeHead sth;
    zb_tree_head h;
    sign_head(size, signer, head_buf, sizeof head_buf, sig, &sth, &h);
    if (plain)
        *plain = h;

    Zb__RelayedLeaf *leaves = calloc(k ? k : 1, sizeof *leaves);
    Zb__RelayedLeaf **ptrs = calloc(k ? k : 1, sizeof *ptrs);
    uint8_t(*paths)[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN] = calloc(k ? k : 1, sizeof *paths);
    ProtobufCBinaryData(*path_pb)[ZB_MERKLE_MAX_PROOF] = calloc(k ? k : 1, sizeof *path_pb);
    assert_true(leaves && ptrs && paths && path_pb);
    for (size_t i = 0; i < k; i++) {
        uint64_t in = idx[i] < size ? size : LOG_N;
        size_t count = 0;
        assert_int_equal(zb_merkle_inclusion_proof((const uint8_t(*)[ZB_HASH_LEN])L.hash, in,
                                                   idx[i], paths[i], &count),
                         0);
        for (size_t j = 0; j < count; j++)
            path_pb[i][j] = (ProtobufCBinaryData){ZB_HASH_LEN, paths[i][j]};
        zb__relayed_leaf__init(&leaves[i]);
        leaves[i].log_index = idx[i];
        leaves[i].leaf = (ProtobufCBinaryData){L.len[idx[i]], L.leaf[idx[i]]};
        leaves[i].path = path_pb[i];
        leaves[i].n_path = count;
        ptrs[i] = &leaves[i];
    }
    Zb__Relay relay = ZB__RELAY__INIT;
    relay.tree_head = &sth;
    relay.leaves = ptrs;
    relay.n_leaves = k;

    uint8_t zero[ZB_SHA256_LEN] = {0};
    Zb__Report r = ZB__REPORT__INIT;
    r.version = version;
    r.county = (char *)PREFECTURE;
    r.seq = 1;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    r.created_at = T0 + 60 * LOG_N + 600;
    r.content_case = ZB__REPORT__CONTENT_RELAY;
    r.relay = &relay;
    size_t len = zb__report__get_packed_size(&r);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    zb__report__pack(&r, buf);
    Zb__Report *out = NULL;
    assert_int_equal(zb_report_decode(buf, len, &out), ZB_OK);
    free(buf);
    free(leaves);
    free(ptrs);
    free(paths);
    free(path_pb);
    assert_int_equal(out->content_case, ZB__REPORT__CONTENT_RELAY);
    return out;
}

/* zb_relay_open of r under PREF: its code; the leaves freed; why kept. */
static int open_rc(const Zb__Report *r, char *why, size_t why_len)
{
    zb_tree_head head;
    zb_relayed *l = (zb_relayed *)(uintptr_t)1; /* must be cleared */
    size_t n = 99;
    int rc = zb_relay_open(r->relay, PREF.pk, &head, &l, &n, why, why_len);
    if (rc) {
        assert_null(l);
        assert_int_equal(n, 0);
        assert_true(why[0] != '\0'); /* a refusal says why */
    }
    zb_relayed_free(l, n);
    return rc;
}

static bool contains(const char *s, const char *part)
{
    if (!strstr(s, part)) {
        print_error("\"%s\" does not contain \"%s\"\n", s, part);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ opening */

static void test_good_relay_opens(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_ENROLLED, IX_MONTHLY, IX_ACCIDENT, IX_DOWN, IX_EVIDENCE, LOG_N - 1};
    const size_t k = sizeof idx / sizeof idx[0];
    zb_tree_head want;
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, k, &want);
    zb_tree_head head;
    zb_relayed *l = NULL;
    size_t n = 0;
    char why[200] = "x";
    assert_int_equal(zb_relay_open(r->relay, PREF.pk, &head, &l, &n, why, sizeof why), ZB_OK);
    assert_string_equal(why, "");
    assert_int_equal(head.size, LOG_N);
    assert_memory_equal(head.root, want.root, ZB_HASH_LEN);
    assert_int_equal(head.timestamp, want.timestamp);
    assert_int_equal(n, k);

    static const zb_relayed_kind kinds[] = {ZB_RELAYED_KEY_EVENT, ZB_RELAYED_ENVELOPE,
                                            ZB_RELAYED_ENVELOPE,  ZB_RELAYED_DOWNSTREAM,
                                            ZB_RELAYED_EVIDENCE,  ZB_RELAYED_ENVELOPE};
    for (size_t i = 0; i < n; i++) {
        const ProtobufCBinaryData *bytes = &r->relay->leaves[i]->leaf;
        assert_int_equal(l[i].log_index, idx[i]);
        assert_int_equal(l[i].kind, kinds[i]);
        assert_int_equal(l[i].leaf_time, L.time[idx[i]]);
        assert_non_null(l[i].leaf);
        assert_int_equal(l[i].leaf->timestamp, L.time[idx[i]]);
        if (kinds[i] == ZB_RELAYED_ENVELOPE) {
            /* the county's canonical envelope: the LogLeaf's envelope field
             * (owned by the array), the tail of the leaf bytes as relayed */
            assert_int_equal(l[i].envelope_len, L.env_len[idx[i]]);
            assert_memory_equal(l[i].envelope, L.env[idx[i]], L.env_len[idx[i]]);
            assert_ptr_equal(l[i].envelope, l[i].leaf->envelope.data);
            assert_true(l[i].envelope_len < bytes->len);
            assert_memory_equal(bytes->data + bytes->len - l[i].envelope_len, l[i].envelope,
                                l[i].envelope_len);
            assert_null(l[i].key_event);
        } else {
            assert_null(l[i].envelope);
            assert_int_equal(l[i].envelope_len, 0);
        }
        if (kinds[i] == ZB_RELAYED_KEY_EVENT) {
            assert_non_null(l[i].key_event);
            assert_ptr_equal(l[i].key_event, l[i].leaf->key_event);
            assert_string_equal(l[i].key_event->county, COUNTY);
            assert_int_equal(l[i].key_event->kind, ZB__KEY_EVENT_KIND__ENROLLED);
            assert_memory_equal(l[i].key_event->key.data, CK.pk, ZB_PK_LEN);
        } else {
            assert_null(l[i].key_event);
        }
    }
    assert_int_equal(l[3].leaf->entry_case, ZB__LOG_LEAF__ENTRY_DOWNSTREAM);
    assert_int_equal(l[4].leaf->entry_case, ZB__LOG_LEAF__ENTRY_EVIDENCE);
    assert_int_equal(l[4].leaf->evidence->seq, 2);
    zb_relayed_free(l, n);
    zb__report__free_unpacked(r, NULL);
}

/* A head over a prefix of the log: the leaves below its size open. */
static void test_head_over_prefix(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_MONTHLY, IX_ACCIDENT};
    Zb__Report *r = relay_report(3, &PREF, 3, idx, 2, NULL);
    char why[200];
    assert_int_equal(open_rc(r, why, sizeof why), ZB_OK);
    zb__report__free_unpacked(r, NULL);
}

/* 64 leaves open; one more is refused before anything else is looked at. */
static void test_leaf_count_limits(void **state)
{
    (void)state;
    uint64_t idx[65];
    size_t k = 0;
    static const uint64_t first[] = {IX_ENROLLED, IX_MONTHLY,  IX_ACCIDENT,
                                     IX_DOWN,     IX_EVIDENCE, IX_BARE};
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        idx[k++] = first[i];
    for (uint64_t i = IX_FILLER; k < 65; i++)
        idx[k++] = i;
    assert_true(idx[64] < LOG_N);
    char why[200];

    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 64, NULL);
    zb_tree_head head;
    zb_relayed *l = NULL;
    size_t n = 0;
    assert_int_equal(zb_relay_open(r->relay, PREF.pk, &head, &l, &n, why, sizeof why), ZB_OK);
    assert_int_equal(n, 64);
    zb_relayed_free(l, n);
    zb__report__free_unpacked(r, NULL);

    r = relay_report(3, &PREF, LOG_N, idx, 65, NULL);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    assert_true(contains(why, "65 leaves"));
    l = (zb_relayed *)(uintptr_t)1;
    assert_int_equal(zb_relay_decode(r->relay, &l, &n), ZB_EDECODE);
    assert_null(l);
    zb__report__free_unpacked(r, NULL);

    r = relay_report(3, &PREF, LOG_N, idx, 0, NULL);
    assert_int_equal(r->relay->n_leaves, 0);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    assert_true(contains(why, "0 leaves"));
    assert_int_equal(zb_relay_decode(r->relay, &l, &n), ZB_EDECODE);
    zb__report__free_unpacked(r, NULL);
}

static void test_no_tree_head(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_MONTHLY};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 1, NULL);
    Zb__SignedTreeHead *keep = r->relay->tree_head;
    r->relay->tree_head = NULL;
    char why[200];
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    r->relay->tree_head = keep;
    zb__report__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------ bad proofs */

static void test_head_signed_by_another_key(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_ENROLLED, IX_MONTHLY};
    Zb__Report *r = relay_report(3, &OTHER, LOG_N, idx, 2, NULL);
    char why[200];
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EBADSIG);
    assert_true(contains(why, "tree head does not verify"));
    /* under the key that did sign it, the head's aggregator field (PREF)
     * still gives it away */
    zb_tree_head head;
    zb_relayed *l = NULL;
    size_t n = 0;
    assert_int_equal(zb_relay_open(r->relay, OTHER.pk, &head, &l, &n, why, sizeof why), ZB_EBADSIG);
    zb__report__free_unpacked(r, NULL);
}

static void test_flipped_path_byte(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_ENROLLED, IX_ACCIDENT, IX_FILLER};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 3, NULL);
    char why[200];
    assert_int_equal(open_rc(r, why, sizeof why), ZB_OK);
    Zb__RelayedLeaf *rl = r->relay->leaves[1];
    assert_true(rl->n_path > 2);
    rl->path[2].data[17] ^= 0x01;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EBADSIG);
    assert_true(contains(why, "leaf 2: its inclusion path"));
    rl->path[2].data[17] ^= 0x01;
    /* a path one hash short */
    rl->n_path--;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EBADSIG);
    rl->n_path++;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_OK);
    zb__report__free_unpacked(r, NULL);
}

static void test_flipped_leaf_byte(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_ENROLLED, IX_ACCIDENT};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 2, NULL);
    char why[200];
    /* in the county's signature, deep inside the leaf */
    Zb__RelayedLeaf *rl = r->relay->leaves[1];
    rl->leaf.data[rl->leaf.len - 1] ^= 0x80;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EBADSIG);
    assert_true(contains(why, "leaf 2: its inclusion path"));
    rl->leaf.data[rl->leaf.len - 1] ^= 0x80;
    /* the leaf's timestamp */
    rl = r->relay->leaves[0];
    rl->leaf.data[2] ^= 0x01;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EBADSIG);
    rl->leaf.data[2] ^= 0x01;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_OK);
    zb__report__free_unpacked(r, NULL);
}

/* A leaf and its path, shown at another index: the path does not lead
 * there. */
static void test_leaf_at_another_index(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_MONTHLY};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 1, NULL);
    char why[200];
    r->relay->leaves[0]->log_index = IX_ACCIDENT;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EBADSIG);
    zb__report__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------ indexes */

static void test_indexes_not_ascending(void **state)
{
    (void)state;
    char why[200];
    /* each leaf with its own good path: only the order is wrong */
    const uint64_t down[] = {IX_ACCIDENT, IX_MONTHLY};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, down, 2, NULL);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    assert_true(contains(why, "leaf 1: index not ascending"));
    zb__report__free_unpacked(r, NULL);

    const uint64_t same[] = {IX_MONTHLY, IX_MONTHLY};
    r = relay_report(3, &PREF, LOG_N, same, 2, NULL);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    zb__report__free_unpacked(r, NULL);

    const uint64_t up[] = {IX_MONTHLY, IX_ACCIDENT};
    r = relay_report(3, &PREF, LOG_N, up, 2, NULL);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_OK);
    zb__report__free_unpacked(r, NULL);
}

static void test_index_beyond_head(void **state)
{
    (void)state;
    char why[200];
    /* head of size 5; leaf 5 with its (good) path in the whole log */
    const uint64_t at_size[] = {IX_MONTHLY, 5};
    Zb__Report *r = relay_report(3, &PREF, 5, at_size, 2, NULL);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    assert_true(contains(why, "beyond the head's size 5"));
    zb__report__free_unpacked(r, NULL);

    const uint64_t far[] = {IX_FILLER + 20};
    r = relay_report(3, &PREF, 5, far, 1, NULL);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    r->relay->leaves[0]->log_index = UINT64_MAX;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    zb__report__free_unpacked(r, NULL);

    /* the last leaf below the size opens */
    const uint64_t last[] = {4};
    r = relay_report(3, &PREF, 5, last, 1, NULL);
    assert_int_equal(open_rc(r, why, sizeof why), ZB_OK);
    zb__report__free_unpacked(r, NULL);
}

static void test_path_hash_of_31_bytes(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_MONTHLY};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 1, NULL);
    char why[200];
    Zb__RelayedLeaf *rl = r->relay->leaves[0];
    assert_true(rl->n_path > 1);
    rl->path[1].len = 31;
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    assert_true(contains(why, "not 32 bytes"));
    zb_problems p = {0};
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.lines[0], "relay.leaves[0].path[1]: must be 32 bytes");
    zb_problems_free(&p);
    rl->path[1].len = 32;
    zb__report__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------ leaf contents */

static void test_key_event_request_for_another_key(void **state)
{
    (void)state;
    /* zb_leaf_decode takes it (well formed); zb_key_event_check does not */
    Zb__LogLeaf *leaf = NULL;
    assert_int_equal(zb_leaf_decode(L.leaf[IX_BAD_REQ], L.len[IX_BAD_REQ], &leaf), ZB_OK);
    char reason[160];
    assert_int_equal(zb_key_event_check(leaf->key_event, reason, sizeof reason), ZB_EBADSIG);
    assert_true(contains(reason, "another county or key"));
    zb__log_leaf__free_unpacked(leaf, NULL);

    const uint64_t idx[] = {IX_ENROLLED, IX_BAD_REQ, IX_BARE};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 3, NULL);
    char why[200];
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EBADSIG);
    assert_true(contains(why, "leaf 5: key event of 222402"));
    zb_relayed *l = (zb_relayed *)(uintptr_t)1;
    size_t n = 7;
    assert_int_equal(zb_relay_decode(r->relay, &l, &n), ZB_EBADSIG);
    assert_null(l);
    assert_int_equal(n, 0);
    zb__report__free_unpacked(r, NULL);
}

static void test_vouched_enrolment_with_request(void **state)
{
    (void)state;
    Zb__LogLeaf *leaf = NULL;
    assert_int_equal(zb_leaf_decode(L.leaf[IX_VOUCHED_REQ], L.len[IX_VOUCHED_REQ], &leaf), ZB_OK);
    char reason[160];
    assert_int_equal(zb_key_event_check(leaf->key_event, reason, sizeof reason), ZB_EDECODE);
    assert_true(contains(reason, "vouched"));
    /* the same event without its request: a good vouched enrolment */
    Zb__KeyEvent *e = leaf->key_event;
    e->has_request = 0;
    assert_int_equal(zb_key_event_check(e, reason, sizeof reason), ZB_OK);
    /* without vouched either: no proof of possession */
    e->has_vouched = 0;
    assert_int_equal(zb_key_event_check(e, reason, sizeof reason), ZB_EBADSIG);
    e->has_request = 1;
    e->has_vouched = 1;
    zb__log_leaf__free_unpacked(leaf, NULL);

    const uint64_t idx[] = {IX_MONTHLY, IX_VOUCHED_REQ};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 2, NULL);
    char why[200];
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    assert_true(contains(why, "leaf 6: key event of 222403"));
    zb__report__free_unpacked(r, NULL);
}

static void test_bare_envelope_leaf(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_MONTHLY, IX_BARE};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 2, NULL);
    zb_tree_head head;
    zb_relayed *l = NULL;
    size_t n = 0;
    char why[200];
    assert_int_equal(zb_relay_open(r->relay, PREF.pk, &head, &l, &n, why, sizeof why), ZB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(l[1].log_index, IX_BARE);
    assert_int_equal(l[1].kind, ZB_RELAYED_ENVELOPE);
    assert_int_equal(l[1].leaf_time, 0);
    assert_null(l[1].leaf);
    assert_null(l[1].key_event);
    /* the whole leaf is the envelope */
    assert_ptr_equal(l[1].envelope, r->relay->leaves[1]->leaf.data);
    assert_int_equal(l[1].envelope_len, L.env_len[IX_BARE]);
    assert_memory_equal(l[1].envelope, L.env[IX_BARE], L.env_len[IX_BARE]);
    zb_relayed_free(l, n);
    zb__report__free_unpacked(r, NULL);
}

static void test_leaf_neither_logleaf_nor_envelope(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_JUNK};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 1, NULL);
    char why[200];
    assert_int_equal(open_rc(r, why, sizeof why), ZB_EDECODE);
    assert_true(contains(why, "neither a LogLeaf nor an envelope"));
    zb__report__free_unpacked(r, NULL);
}

/* zb_relay_decode: the leaves as zb_relay_open gives them, without the
 * head (a head by anyone, or none) or the paths. */
static void test_relay_decode(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_ENROLLED, IX_ACCIDENT, IX_DOWN, IX_EVIDENCE, IX_BARE};
    Zb__Report *r = relay_report(3, &OTHER, LOG_N, idx, 5, NULL);
    r->relay->leaves[1]->path[0].data[0] ^= 1; /* not looked at */
    zb_relayed *l = NULL;
    size_t n = 0;
    assert_int_equal(zb_relay_decode(r->relay, &l, &n), ZB_OK);
    assert_int_equal(n, 5);
    static const zb_relayed_kind kinds[] = {ZB_RELAYED_KEY_EVENT, ZB_RELAYED_ENVELOPE,
                                            ZB_RELAYED_DOWNSTREAM, ZB_RELAYED_EVIDENCE,
                                            ZB_RELAYED_ENVELOPE};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(l[i].log_index, idx[i]);
        assert_int_equal(l[i].kind, kinds[i]);
        assert_int_equal(l[i].leaf_time, L.time[idx[i]]);
    }
    assert_memory_equal(l[1].envelope, L.env[IX_ACCIDENT], L.env_len[IX_ACCIDENT]);
    assert_string_equal(l[0].key_event->county, COUNTY);
    zb_relayed_free(l, n);
    zb__report__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------ validation */

static void expect_problems(const Zb__Report *r, const char *only)
{
    zb_problems p = {0};
    zb_report_validate(r, "", &p);
    if (!only) {
        if (p.n)
            print_error("unexpected: %s\n", p.lines[0]);
        assert_int_equal(p.n, 0);
    } else {
        for (size_t i = 0; i < p.n; i++)
            print_message("problem: %s\n", p.lines[i]);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.lines[0], only);
    }
    zb_problems_free(&p);
}

static void test_validate_relay_versions(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_ENROLLED, IX_MONTHLY, IX_ACCIDENT};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 3, NULL);
    expect_problems(r, NULL);
    assert_int_equal(zb_report_size_max(r), ZB_REPORT_MAX);
    zb__report__free_unpacked(r, NULL);

    r = relay_report(2, &PREF, LOG_N, idx, 3, NULL);
    expect_problems(r, "version: a relay or summary report must be version 3");
    zb__report__free_unpacked(r, NULL);
}

static void test_validate_relay_shape(void **state)
{
    (void)state;
    const uint64_t idx[] = {IX_MONTHLY, IX_ACCIDENT};
    Zb__Report *r = relay_report(3, &PREF, LOG_N, idx, 2, NULL);
    r->relay->leaves[1]->log_index = IX_MONTHLY;
    expect_problems(r, "relay.leaves[1].log_index: not ascending");
    r->relay->leaves[1]->log_index = IX_ACCIDENT;
    Zb__SignedTreeHead *keep = r->relay->tree_head;
    r->relay->tree_head = NULL;
    expect_problems(r, "relay.tree_head: missing");
    r->relay->tree_head = keep;
    size_t len = r->relay->leaves[0]->leaf.len;
    r->relay->leaves[0]->leaf.len = 0;
    expect_problems(r, "relay.leaves[0].leaf: 0 bytes (1..196608)");
    r->relay->leaves[0]->leaf.len = len;
    expect_problems(r, NULL);
    zb__report__free_unpacked(r, NULL);
}

static void test_validate_monthly_version_3(void **state)
{
    (void)state;
    uint8_t zero[ZB_SHA256_LEN] = {0};
    Zb__MonthlyReport m = ZB__MONTHLY_REPORT__INIT;
    m.period = (char *)"2026-10";
    Zb__Report r = ZB__REPORT__INIT;
    r.version = 2;
    r.county = (char *)COUNTY;
    r.seq = 1;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    r.created_at = T0;
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    r.monthly = &m;
    expect_problems(&r, NULL);
    assert_int_equal(zb_report_size_max(&r), ZB_COUNTY_REPORT_MAX);
    r.version = 3;
    expect_problems(&r, "version: a monthly or accident report must be version 1 or 2");
    r.version = 4;
    expect_problems(&r, "version: unsupported report version 4 (1, 2 or 3)");
}

/* A summary report: 222401 filed on time (2 versions, seq 7), 222402
 * missing, deadline the 5th of November, made the day after. */
typedef struct {
    Zb__Report r;
    Zb__PeriodSummary m;
    Zb__Time deadline;
    Zb__CountySummary c[2];
    Zb__CountySummary *cp[2];
    Zb__MonthlyStats stats;
    uint8_t zero[ZB_SHA256_LEN];
} summary_fx;

static void summary_init(summary_fx *s)
{
    memset(s, 0, sizeof *s);
    zb__report__init(&s->r);
    s->r.version = 3;
    s->r.county = (char *)PREFECTURE;
    s->r.seq = 2;
    s->r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, s->zero};
    s->r.created_at = T0 + 86400;
    s->r.content_case = ZB__REPORT__CONTENT_SUMMARY;
    s->r.summary = &s->m;
    zb__period_summary__init(&s->m);
    s->m.period = (char *)"2026-10";
    zb__time__init(&s->deadline);
    s->deadline.unix = T0;
    s->deadline.offset_min = 480;
    s->m.deadline = &s->deadline;
    zb__monthly_stats__init(&s->stats);
    s->stats.has_inspections = 1;
    s->stats.inspections = 120;
    for (int i = 0; i < 2; i++) {
        zb__county_summary__init(&s->c[i]);
        s->cp[i] = &s->c[i];
    }
    s->c[0].county = (char *)"222401";
    s->c[0].status = ZB__FILING_STATUS__ON_TIME;
    s->c[0].has_versions = 1;
    s->c[0].versions = 2;
    s->c[0].has_seq = 1;
    s->c[0].seq = 7;
    s->c[0].has_first_created_at = 1;
    s->c[0].first_created_at = T0 - 3600;
    s->c[0].has_tasks_done = 1;
    s->c[0].tasks_done = 3;
    s->c[0].has_tasks_in_progress = 1;
    s->c[0].tasks_in_progress = 2;
    s->c[0].stats = &s->stats;
    s->c[1].county = (char *)"222402";
    s->c[1].status = ZB__FILING_STATUS__MISSING;
    s->m.counties = s->cp;
    s->m.n_counties = 2;
}

static void test_validate_summary(void **state)
{
    (void)state;
    summary_fx s;
    summary_init(&s);
    expect_problems(&s.r, NULL);
    assert_int_equal(zb_report_size_max(&s.r), ZB_REPORT_MAX);

    /* the same content as version 2 */
    s.r.version = 2;
    expect_problems(&s.r, "version: a relay or summary report must be version 3");
    s.r.version = 3;

    /* counties out of code order; the same county twice */
    summary_init(&s);
    s.c[0].county = (char *)"222403";
    expect_problems(&s.r, "summary.counties[1].county: not in ascending code order");
    s.c[0].county = (char *)"222402";
    expect_problems(&s.r, "summary.counties[1].county: not in ascending code order");
    s.c[0].county = (char *)"22240";
    expect_problems(&s.r, "summary.counties[0].county: must be a 6-digit county code");

    /* missing, but with versions filed */
    summary_init(&s);
    s.c[1].has_versions = 1;
    s.c[1].versions = 2;
    s.c[1].has_seq = 1;
    s.c[1].seq = 4;
    expect_problems(&s.r, "summary.counties[1].status: missing with 2 version(s) filed");
    /* versions 0 is none filed: missing is right */
    s.c[1].versions = 0;
    s.c[1].has_seq = 0;
    expect_problems(&s.r, NULL);
    /* on time with nothing filed */
    summary_init(&s);
    s.c[0].has_versions = 0;
    s.c[0].has_seq = 0;
    expect_problems(&s.r, "summary.counties[0].status: filed with 0 version(s) filed");
    /* no status */
    summary_init(&s);
    s.c[1].status = ZB__FILING_STATUS__FILING_STATUS_UNSPECIFIED;
    expect_problems(&s.r, "summary.counties[1].status: must be on_time, late or missing");
    /* filed without its seq */
    summary_init(&s);
    s.c[0].has_seq = 0;
    expect_problems(&s.r, "summary.counties[0].seq: missing for a filed report");

    /* the deadline: at created_at passes, a second after does not */
    summary_init(&s);
    s.deadline.unix = s.r.created_at;
    expect_problems(&s.r, NULL);
    s.deadline.unix = s.r.created_at + 1;
    expect_problems(&s.r, "summary.deadline: not passed when the summary was made");
    s.m.deadline = NULL;
    expect_problems(&s.r, "summary.deadline: missing");

    /* the period */
    summary_init(&s);
    s.m.period = (char *)"2026-13";
    expect_problems(&s.r, "summary.period: must be YYYY-MM (e.g. 2026-10)");
    s.m.period = (char *)"2026/10";
    expect_problems(&s.r, "summary.period: must be YYYY-MM (e.g. 2026-10)");
    s.m.period = NULL;
    expect_problems(&s.r, "summary.period: must be YYYY-MM (e.g. 2026-10)");

    /* task counts beyond the catalogue */
    summary_init(&s);
    s.c[0].tasks_done = 26;
    expect_problems(&s.r, "summary.counties[0].tasks: more than the catalogue's 25");
    /* statistics in range */
    summary_init(&s);
    s.stats.inspections = ZB_COUNT_MAX + 1;
    zb_problems p = {0};
    zb_report_validate(&s.r, "", &p);
    assert_int_equal(p.n, 1);
    assert_true(contains(p.lines[0], "summary.counties[0].stats.inspections: out of range"));
    zb_problems_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_relay_opens),
        cmocka_unit_test(test_head_over_prefix),
        cmocka_unit_test(test_leaf_count_limits),
        cmocka_unit_test(test_no_tree_head),
        cmocka_unit_test(test_head_signed_by_another_key),
        cmocka_unit_test(test_flipped_path_byte),
        cmocka_unit_test(test_flipped_leaf_byte),
        cmocka_unit_test(test_leaf_at_another_index),
        cmocka_unit_test(test_indexes_not_ascending),
        cmocka_unit_test(test_index_beyond_head),
        cmocka_unit_test(test_path_hash_of_31_bytes),
        cmocka_unit_test(test_key_event_request_for_another_key),
        cmocka_unit_test(test_vouched_enrolment_with_request),
        cmocka_unit_test(test_bare_envelope_leaf),
        cmocka_unit_test(test_leaf_neither_logleaf_nor_envelope),
        cmocka_unit_test(test_relay_decode),
        cmocka_unit_test(test_validate_relay_versions),
        cmocka_unit_test(test_validate_relay_shape),
        cmocka_unit_test(test_validate_monthly_version_3),
        cmocka_unit_test(test_validate_summary),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
