/*
 * test_province.c - the upward relay end to end through the library, no
 * processes (aggregator/upstream.h, province.h, astore.h idx_relay_*):
 * real aggregators in mkdtemp directories, real LMDB stores, real
 * signatures.
 *
 * A prefecture (222400) with county 222401 enrolled files, through
 * zb_agg_ingest with a head signed after each commit: a 一般 accident
 * (deaths 1), a 较大 accident (deaths 3 at revision 0) and a monthly
 * report, built from the deploy/examples JSON. zb_upstream_configure (as
 * `zhibao-agg upstream --forward statutory`) and zb_relay_pass_once on the
 * aggregator opened read-only fill its outbox (DIR/upstream, read with
 * zb_node_each_report); a province (220000) with the prefecture enrolled
 * vouched ingests the outbox with zb_agg_ingest.
 *
 * The cases run in order on one prefecture and one province, each on what
 * the earlier ones stored:
 *   - statutory: exactly the key event and the 较大 accident go up; a
 *     second pass appends nothing; the province stores the relay, indexes
 *     the county under the prefecture and its 较大 accident under
 *     (222401, seq), and `check` finds nothing;
 *   - a supplement that makes the 一般 accident 较大 takes its revision 0
 *     up with it, and every later revision of either accident follows;
 *   - after the period's deadline a period summary goes up, once;
 *   - refused: a relay whose county envelope was re-signed by another key
 *     (NOT_ENROLLED) or replaced by other content the county signed for
 *     the same seq (EQUIVOCATION) -- the same relay with the true leaf is
 *     stored --, one (county, seq) twice in a relay with other content, a
 *     county key event logged vouched, a second prefecture relaying a key
 *     event, an envelope or a summary of 222401, a monthly report sent to
 *     the province, a relay sent to a prefecture; a prefecture enrolling
 *     vouched;
 *   - a county's key revoked and replaced: the key events go up and the
 *     new key's envelopes are taken, the old key's past its last seq not;
 *   - upstream configuration: another province key, a province's upstream;
 *   - forward all (a prefecture and a province of their own): every leaf
 *     goes up, 71 leaves in two relay reports, and the province holds per
 *     county exactly the prefecture's county record's "reports".
 * test_relay_state_head_size and test_revision_after_time_correction pin
 * down two bugs of the first relay code (6d8b8fc, fixed in 1c772f0): the
 * relay state kept the highest relayed index + 1 as the "newest head
 * size", and a revision of an accident that had been 较大 was not relayed
 * once a correction of occurred_at took its earlier revisions out of the
 * statistical window. test_refuse_twice_in_one_relay_and_vouched_county
 * covers two rules 1c772f0 added.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "astore.h"
#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "logleaf.h"
#include "merkle.h"
#include "node.h"
#include "relay.h"
#include "report.h"
#include "timefmt.h"
#include "tlog.h"
#include "treehead.h"
#include "upstream.h"

#define PREFECTURE   "222400"
#define PREFECTURE_B "222600"
#define PROVINCE     "220000"
#define COUNTY       "222401"
#define ENDPOINT     "tcp://127.0.0.1:1"

/* ------------------------------------------------------------ fixture */

/* An aggregator in a directory of its own; at a prefecture, one county
 * whose key the test holds and whose chain it keeps. */
typedef struct {
    char dir[512];
    zb_agg *agg;
    char pk_hex[2 * ZB_PK_LEN + 1];
    uint8_t pk[ZB_PK_LEN];
    zb_identity county_key;
    uint64_t seq; /* the county's last filed seq */
    uint8_t prev[ZB_SHA256_LEN];
} office;

typedef struct {
    int64_t t0;     /* a minute after the wall clock at setup, when the key event was logged */
    int64_t later;  /* a day after the deadline of t0's period */
    char period[8]; /* the period of t0 (+08:00) */
    office pref, prov, pref_b;
    /* the county's filed envelopes at the prefecture, by seq */
    uint8_t *filed[16];
    size_t filed_len[16];
    int64_t filed_at[16];     /* their receive times */
    uint64_t filed_index[16]; /* their log indexes */
    zb_identity rogue;
} fixture;

static fixture F;

static void office_remove(office *o)
{
    zb_agg_close(&o->agg);
    zb_identity_wipe(&o->county_key);
    if (o->dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", o->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", o->dir);
    }
    memset(o, 0, sizeof *o);
}

/* Create an aggregator of level and code; at a prefecture, enrol COUNTY
 * with a fresh key. */
static int office_create(office *o, zb_level level, const char *code)
{
    memset(o, 0, sizeof *o);
    const char *base = getenv("TMPDIR");
    snprintf(o->dir, sizeof o->dir, "%s/zb-test-province-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(o->dir))
        return -1;
    if (zb_agg_create_at(o->dir, level, code, o->pk_hex) != ZB_OK ||
        zb_agg_open(&o->agg, o->dir, false) != ZB_OK)
        return -1;
    memcpy(o->pk, zb_agg_identity(o->agg)->pk, ZB_PK_LEN);
    if (zb_agg_level(o->agg) != level || strcmp(zb_agg_code(o->agg), code) != 0)
        return -1;
    if (level == ZB_LEVEL_PREFECTURE) {
        zb_identity_generate(&o->county_key);
        bool was_new = false;
        uint64_t first = 0;
        uint8_t prev[ZB_SHA256_LEN];
        if (zb_agg_enroll_identity(o->agg, COUNTY, &o->county_key, &was_new, &first, prev) !=
                ZB_OK ||
            !was_new || first != 1)
            return -1;
    }
    return 0;
}

static int setup_group(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_province", ZB_LOG_ERROR, false);
    zb_identity_generate(&F.rogue);
    if (office_create(&F.prov, ZB_LEVEL_PROVINCE, PROVINCE) != 0 ||
        office_create(&F.pref, ZB_LEVEL_PREFECTURE, PREFECTURE) != 0)
        return -1;
    /* after the enrolment's key event (logged at the wall clock): the
     * reports' receive times are then the log's as given */
    F.t0 = (int64_t)time(NULL) + 60;
    int y, m;
    zb_period_of(F.t0, &y, &m);
    zb_period_format(y, m, F.period, sizeof F.period);
    F.later = zb_period_deadline(y, m) + 86400; /* before the next period's */
    return 0;
}

static int teardown_group(void **state)
{
    (void)state;
    office_remove(&F.pref);
    office_remove(&F.prov);
    office_remove(&F.pref_b);
    for (size_t i = 0; i < 16; i++)
        free(F.filed[i]);
    zb_identity_wipe(&F.rogue);
    return 0;
}

/* ------------------------------------------------------------ reports */

/* deploy/examples/NAME.json as a Report (header unset). */
static Zb__Report *example(const char *name)
{
    const char *src = getenv("ZB_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/examples/%s.json", src ? src : ".", name);
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        print_error("%s: %s\n", path, jerr.text);
    assert_non_null(j);
    zb_problems p = {0};
    Zb__Report *r = zb_report_from_json(j, "", &p, NULL);
    if (!r)
        print_error("%s: %s\n", path, p.n ? p.lines[0] : "?");
    assert_non_null(r);
    zb_problems_free(&p);
    json_decref(j);
    return r;
}

/* An accident of the example's shape: id, revision, deaths, occurred two
 * hours before t0. */
static Zb__Report *accident(const char *id, uint32_t revision, uint32_t deaths)
{
    Zb__Report *r = example("accident");
    Zb__AccidentReport *a = r->accident;
    free(a->accident_id);
    a->accident_id = strdup(id);
    assert_non_null(a->accident_id);
    a->revision = revision;
    a->deaths = deaths;
    a->occurred_at->unix = F.t0 - 7200;
    a->county_notified_at->unix = F.t0 - 6600;
    return r;
}

static Zb__Report *monthly(void)
{
    Zb__Report *r = example("monthly");
    free(r->monthly->period);
    r->monthly->period = strdup(F.period);
    assert_non_null(r->monthly->period);
    return r;
}

/* Fill r's header (county, seq, prev_hash, created_at), check it
 * validates, pack it and seal it with id: the packed envelope. Frees r. */
static uint8_t *seal_report(Zb__Report *r, const char *county, uint64_t seq,
                            const uint8_t prev[ZB_SHA256_LEN], int64_t created_at,
                            const zb_identity *id, size_t *len, uint8_t hash[ZB_SHA256_LEN])
{
    free(r->county);
    r->county = strdup(county);
    free(r->prev_hash.data);
    r->prev_hash.data = malloc(ZB_SHA256_LEN);
    assert_true(r->county && r->prev_hash.data);
    memcpy(r->prev_hash.data, prev, ZB_SHA256_LEN);
    r->prev_hash.len = ZB_SHA256_LEN;
    r->seq = seq;
    r->created_at = created_at;
    size_t rlen = zb__report__get_packed_size(r);
    uint8_t *rb = malloc(rlen);
    assert_non_null(rb);
    zb__report__pack(r, rb);
    if (hash)
        zb_report_hash(rb, rlen, hash);
    uint8_t *env = NULL;
    assert_int_equal(zb_envelope_seal(rb, rlen, id, &env, len), ZB_OK);
    free(rb);
    zb__report__free_unpacked(r, NULL);
    return env;
}

/* ------------------------------------------------------------ ingest */

/* Ingest one packed envelope for member at o, received at now (floored
 * at the newest head, as the server does), a head signed when the log
 * grew. */
static zb_ingest_out ingest(office *o, const char *member, const uint8_t *ebuf, size_t elen,
                            int64_t now)
{
    Zb__Envelope *env = zb__envelope__unpack(NULL, elen, ebuf);
    assert_non_null(env);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(o->agg), false, &txn), ZB_OK);
    assert_int_equal(zb_tlog_leaf_time(zb_agg_tlog(o->agg), txn, now, &now), ZB_OK);
    zb_county_rec rec;
    assert_int_equal(zb_agg_county_get(o->agg, txn, member, &rec), ZB_OK);
    zb_ingest_out out;
    assert_int_equal(zb_agg_ingest(o->agg, txn, &rec, env, now, -1, &out), ZB_OK);
    if (out.result == ZB_INGEST_STORED) {
        Zb__SignedTreeHead *sth = NULL;
        assert_int_equal(zb_astore_county_put(zb_agg_store(o->agg), txn, &rec), ZB_OK);
        assert_int_equal(zb_tlog_sign_head(zb_agg_tlog(o->agg), txn, now, &sth), ZB_OK);
        zb__signed_tree_head__free_unpacked(sth, NULL);
    }
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    zb__envelope__free_unpacked(env, NULL);
    if (out.result == ZB_INGEST_REFUSED)
        print_message("refused: %s\n", out.reason);
    return out;
}

/* The county files r (content only) at prefecture p at t0 + at: stored,
 * its envelope kept in F.filed when p is F.pref. */
static void file_report(office *p, Zb__Report *r, int64_t at)
{
    size_t len;
    uint64_t seq = p->seq + 1;
    uint8_t hash[ZB_SHA256_LEN];
    uint8_t *env = seal_report(r, COUNTY, seq, p->prev, F.t0 + at, &p->county_key, &len, hash);
    zb_ingest_out out = ingest(p, COUNTY, env, len, F.t0 + at + 5);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    assert_int_equal(out.seq, seq);
    p->seq = seq;
    memcpy(p->prev, hash, ZB_SHA256_LEN);
    if (p == &F.pref && seq < 16) {
        F.filed[seq] = env;
        F.filed_len[seq] = len;
        F.filed_at[seq] = F.t0 + at + 5;
        F.filed_index[seq] = out.log_index;
    } else {
        free(env);
    }
}

/* One relay pass of prefecture o at now, on the aggregator opened
 * read-only (as `zhibao-agg relay` does): the reports appended. */
static size_t relay_pass(office *o, int64_t now)
{
    zb_agg_close(&o->agg);
    zb_agg *ro = NULL;
    assert_int_equal(zb_agg_open(&ro, o->dir, true), ZB_OK);
    size_t appended = 99;
    int rc = zb_relay_pass_once(ro, o->dir, now, &appended);
    zb_agg_close(&ro);
    assert_int_equal(zb_agg_open(&o->agg, o->dir, false), ZB_OK);
    assert_int_equal(rc, ZB_OK);
    return appended;
}

/* ------------------------------------------------------------ outbox */

typedef struct {
    size_t n;
    uint64_t seq[64];
    uint8_t *env[64];
    size_t len[64];
} outbox;

static int take_report(void *ctx, const zb_node_report *nr)
{
    outbox *ob = ctx;
    if (ob->n == 64)
        return 1;
    ob->seq[ob->n] = nr->seq;
    ob->env[ob->n] = malloc(nr->envelope_len);
    if (!ob->env[ob->n])
        return 1;
    memcpy(ob->env[ob->n], nr->envelope, nr->envelope_len);
    ob->len[ob->n++] = nr->envelope_len;
    return 0;
}

/* The reports in o's outbox from seq from on. */
static void outbox_read(const office *o, uint64_t from, outbox *ob)
{
    memset(ob, 0, sizeof *ob);
    char path[600];
    snprintf(path, sizeof path, "%s/" ZB_UPSTREAM_DIR, o->dir);
    zb_node *n = NULL;
    assert_int_equal(zb_node_open(&n, path, true), ZB_OK);
    assert_int_equal(zb_node_each_report(n, from, 0, take_report, ob), 0);
    zb_node_close(&n);
}

static void outbox_free(outbox *ob)
{
    for (size_t i = 0; i < ob->n; i++)
        free(ob->env[i]);
    memset(ob, 0, sizeof *ob);
}

/* Open outbox report i as the province would: signed by the prefecture's
 * key, version 3, its relay opening under that key. *r: free with
 * zb__report__free_unpacked. */
static Zb__Report *outbox_report(const office *o, const outbox *ob, size_t i)
{
    Zb__Envelope *env = NULL;
    Zb__Report *r = NULL;
    assert_int_equal(zb_envelope_open(ob->env[i], ob->len[i], &env, &r), ZB_OK);
    assert_memory_equal(env->signer.data, o->pk, ZB_PK_LEN);
    zb__envelope__free_unpacked(env, NULL);
    assert_int_equal(r->version, ZB_REPORT_VERSION_RELAY);
    assert_string_equal(r->county, zb_agg_code(o->agg));
    assert_int_equal(r->seq, ob->seq[i]);
    zb_problems p = {0};
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 0);
    zb_problems_free(&p);
    return r;
}

/* The log indexes relay report r carries, after opening it under key. */
static size_t relay_indexes(const Zb__Report *r, const uint8_t key[ZB_PK_LEN], uint64_t *out,
                            size_t cap, zb_tree_head *head)
{
    assert_int_equal(r->content_case, ZB__REPORT__CONTENT_RELAY);
    zb_relayed *l = NULL;
    size_t n = 0;
    char why[200];
    int rc = zb_relay_open(r->relay, key, head, &l, &n, why, sizeof why);
    if (rc)
        print_error("relay does not open: %s\n", why);
    assert_int_equal(rc, ZB_OK);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        out[i] = l[i].log_index;
    zb_relayed_free(l, n);
    return n;
}

/* ------------------------------------------------------------ province reads */

static zb_county_rec member_rec(office *o, const char *member)
{
    MDB_txn *txn;
    zb_county_rec rec;
    assert_int_equal(zb_store_begin(zb_agg_store(o->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_agg_county_get(o->agg, txn, member, &rec), ZB_OK);
    mdb_txn_abort(txn);
    return rec;
}

static int relay_env(office *o, const char *county, uint64_t seq, zb_relay_env *e)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(o->agg), true, &txn), ZB_OK);
    int rc = zb_astore_relay_env_get(zb_agg_store(o->agg), txn, county, seq, e);
    mdb_txn_abort(txn);
    return rc;
}

static int count_env(void *ctx, const zb_relay_env *e)
{
    (void)e;
    (*(uint64_t *)ctx)++;
    return 0;
}

static uint64_t relay_env_count(office *o, const char *county)
{
    MDB_txn *txn;
    uint64_t n = 0;
    assert_int_equal(zb_store_begin(zb_agg_store(o->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_astore_relay_envs(zb_agg_store(o->agg), txn, county, count_env, &n), 0);
    mdb_txn_abort(txn);
    return n;
}

static zb_relay_state relay_state(office *o, const char *prefecture)
{
    MDB_txn *txn;
    zb_relay_state st;
    assert_int_equal(zb_store_begin(zb_agg_store(o->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_astore_relay_state(zb_agg_store(o->agg), txn, prefecture, &st), ZB_OK);
    mdb_txn_abort(txn);
    return st;
}

static void print_finding(void *ctx, const char *line)
{
    (void)ctx;
    print_message("finding: %s\n", line);
}

static long check(office *o)
{
    return zb_agg_check(o->agg, print_finding, NULL, NULL);
}

static bool contains(const char *s, const char *part)
{
    if (!strstr(s, part)) {
        print_error("\"%s\" does not contain \"%s\"\n", s, part);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ forging */

/* A relay prefecture o signs for province p with o's real key: the leaves
 * idx[0..k) of o's log, except that the leaf replace_at (UINT64_MAX: none)
 * is replaced by replacement -- appended to o's real log as a leaf of its
 * own (so the head extends the head p holds, with a consistency proof, and
 * what is tested is the rule the leaf breaks, not the history). Returns the
 * sealed envelope (malloc'd). */
static uint8_t *forge_relay(office *o, office *p, const uint64_t *idx, size_t k,
                            uint64_t replace_at, const uint8_t *replacement, size_t repl_len,
                            int64_t now, size_t *env_len)
{
    const zb_identity *key = zb_agg_identity(o->agg);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(o->agg), true, &txn), ZB_OK);
    uint64_t real = 0;
    assert_int_equal(zb_tlog_size(zb_agg_tlog(o->agg), txn, &real), ZB_OK);
    uint64_t size = real + (replace_at != UINT64_MAX);
    uint8_t(*hashes)[ZB_HASH_LEN] = calloc(size, sizeof *hashes);
    assert_non_null(hashes);
    for (uint64_t i = 0; i < real; i++)
        assert_int_equal(zb_tlog_leaf_hash(zb_agg_tlog(o->agg), txn, i, hashes[i]), ZB_OK);
    if (replace_at != UINT64_MAX)
        zb_merkle_leaf_hash(replacement, repl_len, hashes[real]);
    uint8_t root[ZB_HASH_LEN];
    zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])hashes, size, root);
    Zb__TreeHead th = ZB__TREE_HEAD__INIT;
    th.size = size;
    th.root = (ProtobufCBinaryData){ZB_HASH_LEN, root};
    th.timestamp = now;
    th.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)key->pk};
    uint8_t head_buf[256], sig[ZB_SIG_LEN];
    size_t head_len = zb__tree_head__get_packed_size(&th);
    assert_true(head_len <= sizeof head_buf);
    zb__tree_head__pack(&th, head_buf);
    assert_int_equal(zb_sign_tagged(ZB_TAG_TREE_HEAD, head_buf, head_len, key, sig), ZB_OK);
    Zb__SignedTreeHead sth = ZB__SIGNED_TREE_HEAD__INIT;
    sth.tree_head = (ProtobufCBinaryData){head_len, head_buf};
    sth.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};

    Zb__RelayedLeaf leaves[8], *ptrs[8];
    uint8_t paths[8][ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    ProtobufCBinaryData path_pb[8][ZB_MERKLE_MAX_PROOF];
    zb_agg_leaf got[8];
    assert_true(k <= 8);
    /* the replaced leaf goes last: it is the log's last leaf */
    uint64_t order[8];
    size_t n_order = 0;
    for (size_t i = 0; i < k; i++)
        if (idx[i] != replace_at)
            order[n_order++] = idx[i];
    for (size_t i = 0; i < k; i++)
        if (idx[i] == replace_at)
            order[n_order++] = replace_at;
    for (size_t i = 0; i < k; i++) {
        bool forged = order[i] == replace_at;
        uint64_t at = forged ? real : order[i];
        size_t count = 0;
        assert_int_equal(zb_merkle_inclusion_proof((const uint8_t(*)[ZB_HASH_LEN])hashes, size,
                                                   at, paths[i], &count),
                         0);
        for (size_t j = 0; j < count; j++)
            path_pb[i][j] = (ProtobufCBinaryData){ZB_HASH_LEN, paths[i][j]};
        zb__relayed_leaf__init(&leaves[i]);
        leaves[i].log_index = at;
        memset(&got[i], 0, sizeof got[i]);
        if (forged) {
            leaves[i].leaf = (ProtobufCBinaryData){repl_len, (uint8_t *)replacement};
        } else {
            assert_int_equal(zb_agg_leaf_get(o->agg, txn, at, &got[i]), ZB_OK);
            leaves[i].leaf = (ProtobufCBinaryData){got[i].len, (uint8_t *)got[i].bytes};
        }
        leaves[i].path = path_pb[i];
        leaves[i].n_path = count;
        ptrs[i] = &leaves[i];
    }
    Zb__Relay relay = ZB__RELAY__INIT;
    relay.tree_head = &sth;
    relay.leaves = ptrs;
    relay.n_leaves = k;
    /* the province takes the head only as an extension of the one it holds */
    zb_relay_state st = relay_state(p, zb_agg_code(o->agg));
    Zb__ConsistencyProof *proof = NULL;
    if (st.head_size > 0 && st.head_size < size) {
        assert_int_equal(zb_consistency_proof_of_leaves((const uint8_t(*)[ZB_HASH_LEN])hashes,
                                                        st.head_size, size, &proof),
                         ZB_OK);
        relay.consistency = proof;
    }
    Zb__Report r = ZB__REPORT__INIT;
    zb_county_rec rec = member_rec(p, zb_agg_code(o->agg));
    r.version = ZB_REPORT_VERSION_RELAY;
    r.county = (char *)zb_agg_code(o->agg);
    r.seq = rec.acked_seq + 1;
    r.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, rec.last_hash};
    r.created_at = now;
    r.content_case = ZB__REPORT__CONTENT_RELAY;
    r.relay = &relay;
    size_t rlen = zb__report__get_packed_size(&r);
    uint8_t *rb = malloc(rlen);
    assert_non_null(rb);
    zb__report__pack(&r, rb);
    uint8_t *env = NULL;
    assert_int_equal(zb_envelope_seal(rb, rlen, key, &env, env_len), ZB_OK);
    free(rb);
    if (proof)
        zb__consistency_proof__free_unpacked(proof, NULL);
    for (size_t i = 0; i < k; i++)
        if (got[i].owned || got[i].bytes)
            zb_agg_leaf_free(&got[i]);
    mdb_txn_abort(txn);
    free(hashes);
    return env;
}

/* ------------------------------------------------------------ cases */

/* The county files, the relay goes up: the key event and the 较大 accident
 * only. */
static void test_statutory_relay(void **state)
{
    (void)state;
    file_report(&F.pref, accident("YJ-1", 0, 1), 10); /* 一般 */
    file_report(&F.pref, accident("YJ-2", 0, 3), 20); /* 较大: 3 deaths */
    file_report(&F.pref, monthly(), 30);
    assert_int_equal(F.filed_index[1], 1);
    assert_int_equal(F.filed_index[2], 2);
    assert_int_equal(F.filed_index[3], 3);

    bool created = false;
    assert_int_equal(zb_upstream_configure(F.pref.agg, F.pref.dir, ENDPOINT, F.prov.pk_hex,
                                           ZB_FORWARD_STATUTORY, &created),
                     ZB_OK);
    assert_true(created);
    zb_upstream_info info;
    assert_int_equal(zb_upstream_info_get(F.pref.agg, F.pref.dir, &info), ZB_OK);
    assert_true(info.configured);
    assert_string_equal(info.endpoint, ENDPOINT);
    assert_string_equal(info.province_key, F.prov.pk_hex);
    assert_int_equal(info.forward, ZB_FORWARD_STATUTORY);
    assert_int_equal(info.stored, 0);

    assert_int_equal(relay_pass(&F.pref, F.t0 + 500), 1);

    outbox ob;
    outbox_read(&F.pref, 1, &ob);
    assert_int_equal(ob.n, 1);
    assert_int_equal(ob.seq[0], 1);
    Zb__Report *r = outbox_report(&F.pref, &ob, 0);
    uint64_t idx[64];
    zb_tree_head head;
    size_t n = relay_indexes(r, F.pref.pk, idx, 64, &head);
    assert_int_equal(head.size, 4); /* the newest head: key event + 3 reports */
    assert_int_equal(n, 2);
    assert_int_equal(idx[0], 0);                /* the key event */
    assert_int_equal(idx[1], F.filed_index[2]); /* the 较大 accident */
    /* the leaf carries the county's envelope exactly as filed */
    zb_relayed *l = NULL;
    assert_int_equal(zb_relay_decode(r->relay, &l, &n), ZB_OK);
    assert_int_equal(l[0].kind, ZB_RELAYED_KEY_EVENT);
    assert_string_equal(l[0].key_event->county, COUNTY);
    assert_memory_equal(l[0].key_event->key.data, F.pref.county_key.pk, ZB_PK_LEN);
    assert_int_equal(l[1].kind, ZB_RELAYED_ENVELOPE);
    assert_int_equal(l[1].leaf_time, F.filed_at[2]);
    assert_int_equal(l[1].envelope_len, F.filed_len[2]);
    assert_memory_equal(l[1].envelope, F.filed[2], F.filed_len[2]);
    zb_relayed_free(l, n);
    zb__report__free_unpacked(r, NULL);
    outbox_free(&ob);

    assert_int_equal(zb_upstream_info_get(F.pref.agg, F.pref.dir, &info), ZB_OK);
    assert_int_equal(info.stored, 1);
    assert_int_equal(info.acked, 0);
}

/* Nothing new in the log: nothing goes up again. */
static void test_nothing_twice(void **state)
{
    (void)state;
    assert_int_equal(relay_pass(&F.pref, F.t0 + 600), 0);
    outbox ob;
    outbox_read(&F.pref, 1, &ob);
    assert_int_equal(ob.n, 1);
    outbox_free(&ob);
}

/* The province, the prefecture enrolled vouched, stores the relay. */
static void test_province_accepts(void **state)
{
    (void)state;
    bool was_new = false;
    uint64_t first = 0;
    assert_int_equal(zb_agg_enroll_vouched(F.prov.agg, PREFECTURE, F.pref.pk, &was_new, &first),
                     ZB_OK);
    assert_true(was_new);
    assert_int_equal(first, 1);
    assert_int_equal(zb_agg_enroll_vouched(F.prov.agg, PREFECTURE, F.pref.pk, &was_new, &first),
                     ZB_OK);
    assert_false(was_new);

    outbox ob;
    outbox_read(&F.pref, 1, &ob);
    assert_int_equal(ob.n, 1);
    zb_ingest_out out = ingest(&F.prov, PREFECTURE, ob.env[0], ob.len[0], F.t0 + 700);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    assert_int_equal(out.seq, 1);
    /* sent again: a duplicate, nothing stored twice */
    out = ingest(&F.prov, PREFECTURE, ob.env[0], ob.len[0], F.t0 + 710);
    assert_int_equal(out.result, ZB_INGEST_DUPLICATE);
    outbox_free(&ob);

    zb_relay_env e;
    assert_int_equal(relay_env(&F.prov, COUNTY, 2, &e), ZB_OK);
    assert_string_equal(e.county, COUNTY);
    assert_int_equal(e.seq, 2);
    assert_string_equal(e.prefecture, PREFECTURE);
    assert_int_equal(e.outer_seq, 1);
    assert_int_equal(e.position, 1);
    assert_int_equal(e.log_index, F.filed_index[2]);
    assert_int_equal(e.leaf_time, F.filed_at[2]);
    Zb__Envelope *fe = zb__envelope__unpack(NULL, F.filed_len[2], F.filed[2]);
    assert_non_null(fe);
    uint8_t h[ZB_SHA256_LEN];
    zb_report_hash(fe->report.data, fe->report.len, h);
    zb__envelope__free_unpacked(fe, NULL);
    assert_memory_equal(e.report_hash, h, ZB_SHA256_LEN);
    /* the 一般 accident and the monthly report did not go up */
    assert_int_equal(relay_env(&F.prov, COUNTY, 1, &e), ZB_ENOTFOUND);
    assert_int_equal(relay_env(&F.prov, COUNTY, 3, &e), ZB_ENOTFOUND);
    assert_int_equal(relay_env_count(&F.prov, COUNTY), 1);

    MDB_txn *txn;
    zb_store *s = zb_agg_store(F.prov.agg);
    assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);
    char pref[ZB_COUNTY_LEN + 1] = "";
    assert_int_equal(zb_astore_relay_county_get(s, txn, COUNTY, pref), ZB_OK);
    assert_string_equal(pref, PREFECTURE);
    assert_int_equal(zb_astore_relay_county_get(s, txn, "222402", pref), ZB_ENOTFOUND);
    /* the county's report, read at the province from the relay */
    Zb__Report *rep = NULL;
    assert_int_equal(zb_astore_report_get(s, txn, COUNTY, 2, &rep), ZB_OK);
    assert_int_equal(rep->content_case, ZB__REPORT__CONTENT_ACCIDENT);
    assert_string_equal(rep->accident->accident_id, "YJ-2");
    assert_int_equal(rep->accident->deaths, 3);
    zb__report__free_unpacked(rep, NULL);
    mdb_txn_abort(txn);

    zb_relay_state st = relay_state(&F.prov, PREFECTURE);
    assert_int_equal(st.envelopes, 1);
    assert_int_equal(st.key_events, 1);
    assert_int_equal(st.other, 0);

    zb_county_rec rec = member_rec(&F.prov, PREFECTURE);
    assert_int_equal(rec.acked_seq, 1);
    assert_int_equal(rec.reports, 1);
    assert_int_equal(check(&F.prov), 0);
}

/* idx_relay_state's last field is documented (astore.h) as the newest
 * head size the prefecture relayed: the relay's head covered 4 leaves. */
static void test_relay_state_head_size(void **state)
{
    (void)state;
    zb_relay_state st = relay_state(&F.prov, PREFECTURE);
    assert_int_equal(st.head_size, 4);
}

/* A supplement makes the 一般 accident 较大: its revision 0 goes up with
 * it; every later revision of either accident follows, whatever its
 * figures. */
static void test_grade_raised_later(void **state)
{
    (void)state;
    file_report(&F.pref, accident("YJ-1", 1, 3), 40); /* seq 4: 一般 -> 较大 */
    file_report(&F.pref, accident("YJ-2", 1, 3), 50); /* seq 5 */
    file_report(&F.pref, accident("YJ-1", 2, 1), 60); /* seq 6: figures fall back */
    file_report(&F.pref, monthly(), 70);              /* seq 7: a second version */
    assert_int_equal(relay_pass(&F.pref, F.t0 + 800), 1);

    outbox ob;
    outbox_read(&F.pref, 2, &ob);
    assert_int_equal(ob.n, 1);
    Zb__Report *r = outbox_report(&F.pref, &ob, 0);
    uint64_t idx[64];
    zb_tree_head head;
    size_t n = relay_indexes(r, F.pref.pk, idx, 64, &head);
    assert_int_equal(head.size, 8);
    assert_int_equal(n, 4);
    assert_int_equal(idx[0], F.filed_index[1]); /* YJ-1 revision 0, from the earlier pass */
    assert_int_equal(idx[1], F.filed_index[4]);
    assert_int_equal(idx[2], F.filed_index[5]);
    assert_int_equal(idx[3], F.filed_index[6]);
    zb__report__free_unpacked(r, NULL);

    zb_ingest_out out = ingest(&F.prov, PREFECTURE, ob.env[0], ob.len[0], F.t0 + 900);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    outbox_free(&ob);
    zb_relay_env e;
    static const uint64_t up[] = {1, 2, 4, 5, 6};
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
        assert_int_equal(relay_env(&F.prov, COUNTY, up[i], &e), ZB_OK);
        assert_int_equal(e.log_index, F.filed_index[up[i]]);
    }
    assert_int_equal(relay_env(&F.prov, COUNTY, 7, &e), ZB_ENOTFOUND);
    assert_int_equal(relay_env_count(&F.prov, COUNTY), 5);
    assert_int_equal(relay_pass(&F.pref, F.t0 + 1000), 0);
    assert_int_equal(check(&F.prov), 0);
}

typedef struct {
    size_t n;
    zb_summary_version v[4];
} summaries;

static int take_summary(void *ctx, const zb_summary_version *v)
{
    summaries *s = ctx;
    if (s->n < 4)
        s->v[s->n] = *v;
    s->n++;
    return 0;
}

/* After the period's deadline the prefecture's summary of it goes up,
 * once; the province stores it. */
static void test_summary_after_deadline(void **state)
{
    (void)state;
    int64_t later = F.later;
    assert_int_equal(relay_pass(&F.pref, later), 1);
    assert_int_equal(relay_pass(&F.pref, later + 3600), 0); /* the same content */

    outbox ob;
    outbox_read(&F.pref, 3, &ob);
    assert_int_equal(ob.n, 1);
    Zb__Report *r = outbox_report(&F.pref, &ob, 0);
    assert_int_equal(r->content_case, ZB__REPORT__CONTENT_SUMMARY);
    const Zb__PeriodSummary *m = r->summary;
    assert_string_equal(m->period, F.period);
    assert_true(m->deadline->unix < later);
    assert_int_equal(m->n_counties, 1);
    assert_string_equal(m->counties[0]->county, COUNTY);
    assert_int_equal(m->counties[0]->status, ZB__FILING_STATUS__ON_TIME);
    assert_int_equal(m->counties[0]->versions, 2);
    assert_int_equal(m->counties[0]->seq, 7); /* the version in force */
    zb__report__free_unpacked(r, NULL);

    zb_ingest_out out = ingest(&F.prov, PREFECTURE, ob.env[0], ob.len[0], later + 60);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    outbox_free(&ob);

    MDB_txn *txn;
    zb_store *s = zb_agg_store(F.prov.agg);
    assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);
    int y, mo;
    assert_int_equal(zb_period_parse(F.period, &y, &mo), 0);
    summaries sv = {0};
    assert_int_equal(
        zb_astore_summaries(s, txn, PREFECTURE, zb_period_ordinal(y, mo), take_summary, &sv), 0);
    mdb_txn_abort(txn);
    assert_int_equal(sv.n, 1);
    assert_int_equal(sv.v[0].outer_seq, out.seq);
    assert_int_equal(check(&F.prov), 0);
}

/* The filed report seq of the county at F.pref, decoded. */
static Zb__Report *filed_report(uint64_t seq)
{
    Zb__Envelope *fe = zb__envelope__unpack(NULL, F.filed_len[seq], F.filed[seq]);
    assert_non_null(fe);
    Zb__Report *r = NULL;
    assert_int_equal(zb_report_decode(fe->report.data, fe->report.len, &r), ZB_OK);
    zb__envelope__free_unpacked(fe, NULL);
    return r;
}

/* Two refusals of what zb_relay_open takes: a (county, seq) twice in one
 * relay with other content (both versions signed by the county's key, the
 * seq never relayed before), and a county key event logged vouched (a
 * vouched enrolment is for a province's members). A prefecture cannot
 * enrol a member vouched. */
static void test_refuse_twice_in_one_relay_and_vouched_county(void **state)
{
    (void)state;
    zb_county_rec before = member_rec(&F.prov, PREFECTURE);
    zb_relay_env e;
    assert_int_equal(relay_env(&F.prov, COUNTY, 3, &e), ZB_ENOTFOUND);
    /* a second version of the monthly report seq 3, put where seq 7 is */
    Zb__Report *seq3 = filed_report(3);
    Zb__Report *other = monthly();
    other->monthly->stats->inspections += 1;
    size_t other_len, other_leaf_len, len;
    uint8_t *other_env = seal_report(other, COUNTY, 3, seq3->prev_hash.data, seq3->created_at,
                                     &F.pref.county_key, &other_len, NULL);
    zb__report__free_unpacked(seq3, NULL);
    uint8_t *other_leaf = NULL;
    assert_int_equal(
        zb_leaf_of_envelope(F.filed_at[7], other_env, other_len, &other_leaf, &other_leaf_len),
        ZB_OK);
    free(other_env);
    int64_t now = F.later + 3600;
    const uint64_t both[] = {F.filed_index[3], F.filed_index[7]};
    uint8_t *forged = forge_relay(&F.pref, &F.prov, both, 2, F.filed_index[7], other_leaf,
                                  other_leaf_len, now, &len);
    zb_ingest_out out = ingest(&F.prov, PREFECTURE, forged, len, now);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__EQUIVOCATION);
    assert_true(contains(out.reason, "county 222401 seq 3 is in this relay twice"));
    free(forged);
    free(other_leaf);

    /* a new county's key event, vouched, put where seq 3 is */
    uint8_t zero[ZB_SHA256_LEN] = {0};
    zb_identity k;
    zb_identity_generate(&k);
    Zb__KeyEvent ke = ZB__KEY_EVENT__INIT;
    ke.county = (char *)"222409";
    ke.kind = ZB__KEY_EVENT_KIND__ENROLLED;
    ke.key = (ProtobufCBinaryData){ZB_PK_LEN, k.pk};
    ke.seq = 1;
    ke.has_prev_hash = 1;
    ke.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    ke.has_vouched = 1;
    ke.vouched = 1;
    assert_int_equal(zb_key_event_check(&ke, NULL, 0), ZB_OK); /* well formed on its own */
    Zb__LogLeaf kl = ZB__LOG_LEAF__INIT;
    kl.timestamp = F.filed_at[3];
    kl.entry_case = ZB__LOG_LEAF__ENTRY_KEY_EVENT;
    kl.key_event = &ke;
    uint8_t *vleaf;
    size_t vlen;
    assert_int_equal(zb_leaf_pack(&kl, &vleaf, &vlen), ZB_OK);
    zb_identity_wipe(&k);
    const uint64_t one[] = {F.filed_index[3]};
    forged = forge_relay(&F.pref, &F.prov, one, 1, F.filed_index[3], vleaf, vlen, now, &len);
    out = ingest(&F.prov, PREFECTURE, forged, len, now);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
    assert_true(contains(out.reason, "county 222409 key enrolled without its signed request"));
    free(forged);
    free(vleaf);
    char code[ZB_COUNTY_LEN + 1];
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.prov.agg), true, &txn), ZB_OK);
    assert_int_equal(zb_astore_relay_county_get(zb_agg_store(F.prov.agg), txn, "222409", code),
                     ZB_ENOTFOUND);
    mdb_txn_abort(txn);
    assert_int_equal(member_rec(&F.prov, PREFECTURE).acked_seq, before.acked_seq);
    assert_int_equal(relay_env(&F.prov, COUNTY, 3, &e), ZB_ENOTFOUND);

    /* vouching is a province's: a prefecture enrols counties by request */
    bool was_new = true;
    uint64_t first = 0;
    zb_identity_generate(&k);
    assert_int_equal(zb_agg_enroll_vouched(F.pref.agg, "222409", k.pk, &was_new, &first),
                     ZB_EINVAL);
    assert_false(was_new);
    zb_identity_wipe(&k);
}

/* The prefecture's key signs a head over a log where the 较大 accident's
 * envelope was re-signed by another key: the signer is not the county's. */
static void test_refuse_resigned_county_envelope(void **state)
{
    (void)state;
    uint64_t at = F.filed_index[2];
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.pref.agg), true, &txn), ZB_OK);
    zb_agg_leaf leaf;
    assert_int_equal(zb_agg_leaf_get(F.pref.agg, txn, at, &leaf), ZB_OK);
    Zb__LogLeaf *ll = NULL;
    assert_int_equal(zb_leaf_decode(leaf.bytes, leaf.len, &ll), ZB_OK);
    zb_agg_leaf_free(&leaf);
    mdb_txn_abort(txn);
    Zb__Envelope *env = zb__envelope__unpack(NULL, ll->envelope.len, ll->envelope.data);
    assert_non_null(env);
    uint8_t *resealed = NULL, *bad_leaf = NULL;
    size_t resealed_len = 0, bad_len = 0;
    assert_int_equal(
        zb_envelope_seal(env->report.data, env->report.len, &F.rogue, &resealed, &resealed_len),
        ZB_OK);
    assert_int_equal(
        zb_leaf_of_envelope(ll->timestamp, resealed, resealed_len, &bad_leaf, &bad_len), ZB_OK);
    zb__envelope__free_unpacked(env, NULL);
    zb__log_leaf__free_unpacked(ll, NULL);
    free(resealed);

    zb_county_rec before = member_rec(&F.prov, PREFECTURE);
    const uint64_t idx[] = {at};
    size_t len;
    int64_t now = F.later + 86400;
    uint8_t *forged = forge_relay(&F.pref, &F.prov, idx, 1, at, bad_leaf, bad_len, now, &len);
    zb_ingest_out out = ingest(&F.prov, PREFECTURE, forged, len, now);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__NOT_ENROLLED);
    assert_true(contains(out.reason, "is not signed by the county's key"));
    free(forged);
    zb_county_rec after = member_rec(&F.prov, PREFECTURE);
    assert_int_equal(after.acked_seq, before.acked_seq);

    /* the county's own key on other content for the same seq (a second
     * version of seq 2, as a county that equivocates signs it): the
     * province holds seq 2 already */
    Zb__Report *other = accident("YJ-2", 0, 4);
    Zb__Envelope *fe = zb__envelope__unpack(NULL, F.filed_len[2], F.filed[2]);
    assert_non_null(fe);
    Zb__Report *filed = NULL;
    assert_int_equal(zb_report_decode(fe->report.data, fe->report.len, &filed), ZB_OK);
    zb__envelope__free_unpacked(fe, NULL);
    size_t other_len, other_leaf_len;
    uint8_t *other_env = seal_report(other, COUNTY, 2, filed->prev_hash.data, filed->created_at,
                                     &F.pref.county_key, &other_len, NULL);
    zb__report__free_unpacked(filed, NULL);
    uint8_t *other_leaf = NULL;
    assert_int_equal(
        zb_leaf_of_envelope(F.filed_at[2], other_env, other_len, &other_leaf, &other_leaf_len),
        ZB_OK);
    free(other_env);
    forged = forge_relay(&F.pref, &F.prov, idx, 1, at, other_leaf, other_leaf_len, now, &len);
    out = ingest(&F.prov, PREFECTURE, forged, len, now);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__EQUIVOCATION);
    assert_true(contains(out.reason, "county 222401 seq 2 was relayed before with other content"));
    free(forged);
    free(other_leaf);
    assert_int_equal(member_rec(&F.prov, PREFECTURE).acked_seq, before.acked_seq);

    /* the same forgery with the leaf as it is: stored (the refusals above
     * were the signer's and the content's, nothing else) */
    forged = forge_relay(&F.pref, &F.prov, idx, 1, UINT64_MAX, NULL, 0, now, &len);
    out = ingest(&F.prov, PREFECTURE, forged, len, now);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    free(forged);
    free(bad_leaf);
    assert_int_equal(check(&F.prov), 0);
}

/* A second prefecture relays county 222401 (its own enrolment of that
 * code): refused, whether a key event, an envelope or a summary -- 222401
 * is not under 222600's code (GB/T 2260), so it can never claim it, even
 * before the county's own prefecture relays it. */
static void test_refuse_second_prefecture(void **state)
{
    (void)state;
    assert_int_equal(office_create(&F.pref_b, ZB_LEVEL_PREFECTURE, PREFECTURE_B), 0);
    file_report(&F.pref_b, accident("B-1", 0, 5), 100); /* 较大 */
    bool created = false;
    assert_int_equal(zb_upstream_configure(F.pref_b.agg, F.pref_b.dir, ENDPOINT, F.prov.pk_hex,
                                           ZB_FORWARD_STATUTORY, &created),
                     ZB_OK);
    assert_int_equal(relay_pass(&F.pref_b, F.t0 + 2000), 1);
    bool was_new = false;
    uint64_t first = 0;
    assert_int_equal(zb_agg_enroll_vouched(F.prov.agg, PREFECTURE_B, F.pref_b.pk, &was_new, &first),
                     ZB_OK);
    assert_true(was_new);

    outbox ob;
    outbox_read(&F.pref_b, 1, &ob);
    assert_int_equal(ob.n, 1);
    Zb__Report *r = outbox_report(&F.pref_b, &ob, 0);
    uint64_t idx[64];
    zb_tree_head head;
    assert_int_equal(relay_indexes(r, F.pref_b.pk, idx, 64, &head), 2);
    zb__report__free_unpacked(r, NULL);
    zb_ingest_out out = ingest(&F.prov, PREFECTURE_B, ob.env[0], ob.len[0], F.t0 + 2100);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__NOT_ENROLLED);
    assert_true(contains(out.reason, "county 222401 is not a county of prefecture 222600"));
    outbox_free(&ob);

    /* the envelope alone */
    const uint64_t env_only[] = {1};
    size_t len;
    uint8_t *forged =
        forge_relay(&F.pref_b, &F.prov, env_only, 1, UINT64_MAX, NULL, 0, F.t0 + 2200, &len);
    out = ingest(&F.prov, PREFECTURE_B, forged, len, F.t0 + 2200);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__NOT_ENROLLED);
    assert_true(contains(out.reason, "county 222401 is not a county of prefecture 222600"));
    free(forged);

    /* a summary naming the county */
    Zb__CountySummary cs = ZB__COUNTY_SUMMARY__INIT;
    Zb__CountySummary *csp = &cs;
    cs.county = (char *)COUNTY;
    cs.status = ZB__FILING_STATUS__MISSING;
    Zb__Time deadline = ZB__TIME__INIT;
    deadline.unix = F.t0 + 100;
    deadline.offset_min = 480;
    Zb__PeriodSummary m = ZB__PERIOD_SUMMARY__INIT;
    m.period = F.period;
    m.deadline = &deadline;
    m.counties = &csp;
    m.n_counties = 1;
    Zb__Report sr = ZB__REPORT__INIT;
    uint8_t zero[ZB_SHA256_LEN] = {0};
    sr.version = ZB_REPORT_VERSION_RELAY;
    sr.county = (char *)PREFECTURE_B;
    sr.seq = 1;
    sr.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    sr.created_at = F.t0 + 2300;
    sr.content_case = ZB__REPORT__CONTENT_SUMMARY;
    sr.summary = &m;
    size_t sr_len = zb__report__get_packed_size(&sr);
    uint8_t *sr_buf = malloc(sr_len);
    assert_non_null(sr_buf);
    zb__report__pack(&sr, sr_buf);
    uint8_t *sr_env = NULL;
    assert_int_equal(zb_envelope_seal(sr_buf, sr_len, zb_agg_identity(F.pref_b.agg), &sr_env, &len),
                     ZB_OK);
    free(sr_buf);
    out = ingest(&F.prov, PREFECTURE_B, sr_env, len, F.t0 + 2300);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__NOT_ENROLLED);
    assert_true(contains(out.reason, "summary: county 222401 is not a county of prefecture 222600"));
    free(sr_env);

    assert_int_equal(member_rec(&F.prov, PREFECTURE_B).acked_seq, 0);
    zb_relay_env e;
    assert_int_equal(relay_env(&F.prov, COUNTY, 1, &e), ZB_OK);
    assert_string_equal(e.prefecture, PREFECTURE);
    assert_int_equal(check(&F.prov), 0);
}

/* A prefecture's own monthly report at the province. */
static void test_refuse_monthly_at_province(void **state)
{
    (void)state;
    zb_county_rec rec = member_rec(&F.prov, PREFECTURE);
    size_t len;
    int64_t now = F.later + 2 * 86400;
    Zb__Report *m = monthly();
    uint8_t *env = seal_report(m, PREFECTURE, rec.acked_seq + 1, rec.last_hash, now,
                               zb_agg_identity(F.pref.agg), &len, NULL);
    zb_ingest_out out = ingest(&F.prov, PREFECTURE, env, len, now);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
    assert_true(contains(out.reason, "a province takes relays and summaries from its "
                                     "prefectures, not a monthly report"));
    free(env);
    assert_int_equal(member_rec(&F.prov, PREFECTURE).acked_seq, rec.acked_seq);
}

/* A county's report carrying a relay, at its prefecture. */
static void test_refuse_relay_at_prefecture(void **state)
{
    (void)state;
    outbox ob;
    outbox_read(&F.pref, 1, &ob);
    assert_true(ob.n >= 1);
    Zb__Report *r = outbox_report(&F.pref, &ob, 0);
    outbox_free(&ob);
    size_t len;
    uint8_t *env = seal_report(r, COUNTY, F.pref.seq + 1, F.pref.prev, F.later + 2 * 86400,
                               &F.pref.county_key, &len, NULL);
    zb_ingest_out out = ingest(&F.pref, COUNTY, env, len, F.later + 2 * 86400);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
    assert_true(contains(out.reason, "a prefecture takes monthly and accident reports from its "
                                     "counties, not a relay report"));
    free(env);
    assert_int_equal(member_rec(&F.pref, COUNTY).acked_seq, F.pref.seq);
}

static void test_upstream_configuration(void **state)
{
    (void)state;
    bool created = true;
    /* the same province key: the endpoint and the mode change */
    assert_int_equal(zb_upstream_configure(F.pref.agg, F.pref.dir, "tcp://127.0.0.1:2",
                                           F.prov.pk_hex, ZB_FORWARD_ALL, &created),
                     ZB_OK);
    assert_false(created);
    zb_upstream_info info;
    assert_int_equal(zb_upstream_info_get(F.pref.agg, F.pref.dir, &info), ZB_OK);
    assert_string_equal(info.endpoint, "tcp://127.0.0.1:2");
    assert_int_equal(info.forward, ZB_FORWARD_ALL);
    /* another province's key */
    char other[2 * ZB_PK_LEN + 1];
    zb_identity o;
    zb_identity_generate(&o);
    zb_hex_encode(o.pk, ZB_PK_LEN, other);
    zb_identity_wipe(&o);
    assert_int_equal(zb_upstream_configure(F.pref.agg, F.pref.dir, ENDPOINT, other,
                                           ZB_FORWARD_STATUTORY, &created),
                     ZB_EEXIST);
    assert_int_equal(zb_upstream_info_get(F.pref.agg, F.pref.dir, &info), ZB_OK);
    assert_string_equal(info.province_key, F.prov.pk_hex);
    /* a province has no upstream */
    assert_int_equal(zb_upstream_configure(F.prov.agg, F.prov.dir, ENDPOINT, other,
                                           ZB_FORWARD_STATUTORY, &created),
                     ZB_EINVAL);
}

/* --forward all, on a prefecture and a province of their own: every leaf
 * goes up (71: two relay reports), and the province holds per county
 * what the prefecture's county record counts. */
static void test_forward_all(void **state)
{
    (void)state;
    office pref, prov;
    assert_int_equal(office_create(&prov, ZB_LEVEL_PROVINCE, PROVINCE), 0);
    assert_int_equal(office_create(&pref, ZB_LEVEL_PREFECTURE, PREFECTURE), 0);
    bool created = false;
    assert_int_equal(
        zb_upstream_configure(pref.agg, pref.dir, ENDPOINT, prov.pk_hex, ZB_FORWARD_ALL, &created),
        ZB_OK);
    file_report(&pref, accident("YJ-1", 0, 1), 10); /* 一般: goes up too */
    for (int i = 0; i < 69; i++)
        file_report(&pref, monthly(), 20 + i);
    const uint64_t log_size = 71;
    zb_county_rec pref_rec = member_rec(&pref, COUNTY);
    assert_int_equal(pref_rec.reports, 70);

    assert_int_equal(relay_pass(&pref, F.t0 + 1000), 2);
    assert_int_equal(relay_pass(&pref, F.t0 + 1100), 0);
    outbox ob;
    outbox_read(&pref, 1, &ob);
    assert_int_equal(ob.n, 2);
    uint64_t next = 0;
    for (size_t i = 0; i < ob.n; i++) {
        Zb__Report *r = outbox_report(&pref, &ob, i);
        uint64_t idx[64];
        zb_tree_head head;
        size_t n = relay_indexes(r, pref.pk, idx, 64, &head);
        assert_int_equal(head.size, log_size);
        assert_int_equal(n, i == 0 ? 64 : 7);
        for (size_t j = 0; j < n; j++)
            assert_int_equal(idx[j], next++);
        zb__report__free_unpacked(r, NULL);
    }
    assert_int_equal(next, log_size); /* every leaf, once, in order */

    bool was_new;
    uint64_t first;
    assert_int_equal(zb_agg_enroll_vouched(prov.agg, PREFECTURE, pref.pk, &was_new, &first), ZB_OK);
    for (size_t i = 0; i < ob.n; i++) {
        zb_ingest_out out = ingest(&prov, PREFECTURE, ob.env[i], ob.len[i], F.t0 + 1200);
        assert_int_equal(out.result, ZB_INGEST_STORED);
    }
    outbox_free(&ob);
    assert_int_equal(relay_env_count(&prov, COUNTY), pref_rec.reports);
    zb_relay_state st = relay_state(&prov, PREFECTURE);
    assert_int_equal(st.envelopes, pref_rec.reports);
    assert_int_equal(st.key_events, 1);
    assert_int_equal(st.other, 0);
    assert_int_equal(st.head_size, log_size);
    assert_int_equal(check(&prov), 0);
    office_remove(&pref);
    office_remove(&prov);
}

/* "Routing follows the highest grade ever reached" (upstream.h): once an
 * accident went up as 较大, every later revision goes up. Here the third
 * revision corrects occurred_at to 40 days earlier (a correction of the
 * time, with the deaths unchanged at 3): the accident has been 较大, its
 * two first revisions are at the province, and the revision now in force
 * must follow them. */
static void test_revision_after_time_correction(void **state)
{
    (void)state;
    office pref;
    assert_int_equal(office_create(&pref, ZB_LEVEL_PREFECTURE, PREFECTURE), 0);
    bool created = false;
    assert_int_equal(zb_upstream_configure(pref.agg, pref.dir, ENDPOINT, F.prov.pk_hex,
                                           ZB_FORWARD_STATUTORY, &created),
                     ZB_OK);
    file_report(&pref, accident("YJ-9", 0, 1), 10); /* leaf 1: 一般 */
    file_report(&pref, accident("YJ-9", 1, 3), 20); /* leaf 2: 较大 */
    assert_int_equal(relay_pass(&pref, F.t0 + 100), 1);
    outbox ob;
    outbox_read(&pref, 1, &ob);
    assert_int_equal(ob.n, 1);
    Zb__Report *r = outbox_report(&pref, &ob, 0);
    uint64_t idx[64];
    zb_tree_head head;
    assert_int_equal(relay_indexes(r, pref.pk, idx, 64, &head), 3);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[1], 1);
    assert_int_equal(idx[2], 2);
    zb__report__free_unpacked(r, NULL);
    outbox_free(&ob);

    Zb__Report *fix = accident("YJ-9", 2, 3);
    fix->accident->occurred_at->unix = F.t0 - 40 * 86400;
    fix->accident->county_notified_at->unix = F.t0 - 40 * 86400 + 600;
    file_report(&pref, fix, 30); /* leaf 3 */
    size_t appended = relay_pass(&pref, F.t0 + 200);
    outbox_read(&pref, 2, &ob);
    size_t n = 0;
    if (ob.n == 1) {
        r = outbox_report(&pref, &ob, 0);
        n = relay_indexes(r, pref.pk, idx, 64, &head);
        zb__report__free_unpacked(r, NULL);
    }
    outbox_free(&ob);
    office_remove(&pref);
    assert_int_equal(appended, 1);
    assert_int_equal(n, 1);
    assert_int_equal(idx[0], 3);
}

/* A county's key revoked and a new one enrolled at the prefecture: the
 * key events go up with the next 较大 accident, and the province takes the
 * new key's envelope -- and refuses one signed by the revoked key past its
 * last seq. */
static void test_key_rotation_relayed(void **state)
{
    (void)state;
    office pref, prov;
    assert_int_equal(office_create(&prov, ZB_LEVEL_PROVINCE, PROVINCE), 0);
    assert_int_equal(office_create(&pref, ZB_LEVEL_PREFECTURE, PREFECTURE), 0);
    bool created = false, was_new = false;
    uint64_t first = 0;
    assert_int_equal(zb_upstream_configure(pref.agg, pref.dir, ENDPOINT, prov.pk_hex,
                                           ZB_FORWARD_STATUTORY, &created),
                     ZB_OK);
    assert_int_equal(zb_agg_enroll_vouched(prov.agg, PREFECTURE, pref.pk, &was_new, &first), ZB_OK);
    file_report(&pref, accident("R-1", 0, 4), 10); /* seq 1, leaf 1 */
    assert_int_equal(relay_pass(&pref, F.t0 + 100), 1);
    outbox ob;
    outbox_read(&pref, 1, &ob);
    assert_int_equal(ob.n, 1);
    assert_int_equal(ingest(&prov, PREFECTURE, ob.env[0], ob.len[0], F.t0 + 110).result,
                     ZB_INGEST_STORED);
    outbox_free(&ob);

    zb_key_epoch revoked;
    uint8_t last_hash[ZB_SHA256_LEN];
    assert_int_equal(zb_agg_revoke(pref.agg, COUNTY, &revoked, last_hash), ZB_OK); /* leaf 2 */
    assert_memory_equal(last_hash, pref.prev, ZB_SHA256_LEN);
    zb_identity old = pref.county_key;
    zb_identity_generate(&pref.county_key);
    uint8_t prev[ZB_SHA256_LEN];
    assert_int_equal(
        zb_agg_enroll_identity(pref.agg, COUNTY, &pref.county_key, &was_new, &first, prev),
        ZB_OK); /* leaf 3 */
    assert_true(was_new);
    assert_int_equal(first, 2);
    assert_memory_equal(prev, pref.prev, ZB_SHA256_LEN);
    file_report(&pref, accident("R-2", 0, 3), 20); /* seq 2, leaf 4 */
    assert_int_equal(relay_pass(&pref, F.t0 + 200), 1);
    outbox_read(&pref, 2, &ob);
    assert_int_equal(ob.n, 1);
    Zb__Report *r = outbox_report(&pref, &ob, 0);
    uint64_t idx[64];
    zb_tree_head head;
    assert_int_equal(relay_indexes(r, pref.pk, idx, 64, &head), 3);
    assert_int_equal(idx[0], 2);
    assert_int_equal(idx[1], 3);
    assert_int_equal(idx[2], 4);
    zb__report__free_unpacked(r, NULL);

    /* first a forgery: seq 2 re-signed by the revoked key */
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(pref.agg), true, &txn), ZB_OK);
    zb_agg_leaf leaf;
    assert_int_equal(zb_agg_leaf_get(pref.agg, txn, 4, &leaf), ZB_OK);
    Zb__LogLeaf *ll = NULL;
    assert_int_equal(zb_leaf_decode(leaf.bytes, leaf.len, &ll), ZB_OK);
    zb_agg_leaf_free(&leaf);
    mdb_txn_abort(txn);
    Zb__Envelope *env = zb__envelope__unpack(NULL, ll->envelope.len, ll->envelope.data);
    assert_non_null(env);
    uint8_t *resealed, *bad_leaf;
    size_t resealed_len, bad_len, len;
    assert_int_equal(
        zb_envelope_seal(env->report.data, env->report.len, &old, &resealed, &resealed_len), ZB_OK);
    assert_int_equal(
        zb_leaf_of_envelope(ll->timestamp, resealed, resealed_len, &bad_leaf, &bad_len), ZB_OK);
    zb__envelope__free_unpacked(env, NULL);
    zb__log_leaf__free_unpacked(ll, NULL);
    free(resealed);
    const uint64_t all[] = {2, 3, 4};
    uint8_t *forged = forge_relay(&pref, &prov, all, 3, 4, bad_leaf, bad_len, F.t0 + 300, &len);
    zb_ingest_out out = ingest(&prov, PREFECTURE, forged, len, F.t0 + 300);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__NOT_ENROLLED);
    free(forged);
    free(bad_leaf);
    zb_identity_wipe(&old);

    /* the true relay */
    out = ingest(&prov, PREFECTURE, ob.env[0], ob.len[0], F.t0 + 310);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    outbox_free(&ob);
    zb_relay_env e;
    assert_int_equal(relay_env(&prov, COUNTY, 2, &e), ZB_OK);
    assert_int_equal(e.log_index, 4);
    assert_int_equal(relay_state(&prov, PREFECTURE).key_events, 3);
    assert_int_equal(check(&prov), 0);
    office_remove(&pref);
    office_remove(&prov);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statutory_relay),
        cmocka_unit_test(test_nothing_twice),
        cmocka_unit_test(test_province_accepts),
        cmocka_unit_test(test_relay_state_head_size),
        cmocka_unit_test(test_grade_raised_later),
        cmocka_unit_test(test_summary_after_deadline),
        cmocka_unit_test(test_refuse_twice_in_one_relay_and_vouched_county),
        cmocka_unit_test(test_refuse_resigned_county_envelope),
        cmocka_unit_test(test_refuse_second_prefecture),
        cmocka_unit_test(test_refuse_monthly_at_province),
        cmocka_unit_test(test_refuse_relay_at_prefecture),
        cmocka_unit_test(test_upstream_configuration),
        cmocka_unit_test(test_forward_all),
        cmocka_unit_test(test_revision_after_time_correction),
        cmocka_unit_test(test_key_rotation_relayed),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
