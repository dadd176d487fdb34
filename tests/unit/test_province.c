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
 * What b7de9cb added, each on a prefecture and a province of their own:
 *   - test_relay_last_seq: astore zb_astore_relay_last_seq (0 when none,
 *     the highest relayed seq across statutory gaps, not the next
 *     county's);
 *   - test_key_history_rules: the province's rules on a county's key
 *     history, with forged KeyEvent leaves built from real key requests;
 *   - test_relay_head_chain: BAD_CHAIN for a relay head that does not
 *     extend the previous relay's, and the proof the honest relay sends;
 *   - test_mode_change_relays_once: no log index twice when --forward
 *     changes from all to statutory;
 *   - test_bounded_passes: passes bounded to 4096 leaves by a stored head;
 *   - test_summary_judged_on_receipt: a summary is on time or late by the
 *     province's receive time.
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

#include <inttypes.h>
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
#include "province.h"
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
    size_t n, cap;
    uint64_t *seq;
    uint8_t **env;
    size_t *len;
} outbox;

static int take_report(void *ctx, const zb_node_report *nr)
{
    outbox *ob = ctx;
    if (ob->n == ob->cap) {
        size_t cap = ob->cap ? 2 * ob->cap : 64;
        uint64_t *s = realloc(ob->seq, cap * sizeof *s);
        if (s)
            ob->seq = s;
        uint8_t **e = realloc(ob->env, cap * sizeof *e);
        if (e)
            ob->env = e;
        size_t *l = realloc(ob->len, cap * sizeof *l);
        if (l)
            ob->len = l;
        if (!s || !e || !l)
            return 1;
        ob->cap = cap;
    }
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
    free(ob->seq);
    free(ob->env);
    free(ob->len);
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

/* ------------------------------------------------------------ more helpers */

/* A second county of a prefecture, its key and chain held here. */
typedef struct {
    char code[ZB_COUNTY_LEN + 1];
    zb_identity key;
    uint64_t seq;
    uint8_t prev[ZB_SHA256_LEN];
} county_chain;

static void county_enrol(office *p, county_chain *c, const char *code)
{
    memset(c, 0, sizeof *c);
    snprintf(c->code, sizeof c->code, "%s", code);
    zb_identity_generate(&c->key);
    bool was_new = false;
    uint64_t first = 0;
    assert_int_equal(zb_agg_enroll_identity(p->agg, code, &c->key, &was_new, &first, c->prev),
                     ZB_OK);
    assert_true(was_new);
    assert_int_equal(first, 1);
}

/* County c files r at prefecture p at t0 + at: stored, its log index. */
static uint64_t file_as(office *p, county_chain *c, Zb__Report *r, int64_t at)
{
    size_t len;
    uint8_t hash[ZB_SHA256_LEN];
    uint8_t *env = seal_report(r, c->code, c->seq + 1, c->prev, F.t0 + at, &c->key, &len, hash);
    zb_ingest_out out = ingest(p, c->code, env, len, F.t0 + at + 5);
    free(env);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    c->seq++;
    memcpy(c->prev, hash, ZB_SHA256_LEN);
    return out.log_index;
}

/* n monthly reports of COUNTY at prefecture p in rounds of `round` (one
 * transaction and one signed head per round, as a server commit). */
static void file_monthly_rounds(office *p, size_t n, size_t round, int64_t at)
{
    Zb__Report *r = monthly();
    free(r->county);
    r->county = strdup(COUNTY);
    free(r->prev_hash.data);
    r->prev_hash.data = malloc(ZB_SHA256_LEN);
    assert_true(r->county && r->prev_hash.data);
    r->prev_hash.len = ZB_SHA256_LEN;
    for (size_t done = 0; done < n;) {
        MDB_txn *txn;
        assert_int_equal(zb_store_begin(zb_agg_store(p->agg), false, &txn), ZB_OK);
        zb_county_rec rec;
        assert_int_equal(zb_agg_county_get(p->agg, txn, COUNTY, &rec), ZB_OK);
        int64_t now = F.t0 + at;
        assert_int_equal(zb_tlog_leaf_time(zb_agg_tlog(p->agg), txn, now, &now), ZB_OK);
        for (size_t i = 0; i < round && done < n; i++, done++) {
            r->seq = p->seq + 1;
            r->created_at = now;
            memcpy(r->prev_hash.data, p->prev, ZB_SHA256_LEN);
            size_t rlen = zb__report__get_packed_size(r), elen = 0;
            uint8_t *rb = malloc(rlen), *eb = NULL;
            assert_non_null(rb);
            zb__report__pack(r, rb);
            assert_int_equal(zb_envelope_seal(rb, rlen, &p->county_key, &eb, &elen), ZB_OK);
            free(rb);
            Zb__Envelope *env = zb__envelope__unpack(NULL, elen, eb);
            assert_non_null(env);
            free(eb);
            zb_ingest_out out;
            assert_int_equal(zb_agg_ingest(p->agg, txn, &rec, env, now, -1, &out), ZB_OK);
            zb__envelope__free_unpacked(env, NULL);
            if (out.result != ZB_INGEST_STORED)
                print_error("refused: %s\n", out.reason);
            assert_int_equal(out.result, ZB_INGEST_STORED);
            p->seq++;
            memcpy(p->prev, out.report_hash, ZB_SHA256_LEN);
        }
        assert_int_equal(zb_astore_county_put(zb_agg_store(p->agg), txn, &rec), ZB_OK);
        Zb__SignedTreeHead *sth = NULL;
        assert_int_equal(zb_tlog_sign_head(zb_agg_tlog(p->agg), txn, now, &sth), ZB_OK);
        zb__signed_tree_head__free_unpacked(sth, NULL);
        assert_int_equal(zb_store_commit(txn), ZB_OK);
        at += 10;
    }
    zb__report__free_unpacked(r, NULL);
}

/* Outbox report i opened (as outbox_report does) and its relay's leaves:
 * their log indexes into idx (cap), the head into *head; the report
 * (free it) into *out. */
static size_t outbox_relay(const office *o, const outbox *ob, size_t i, uint64_t *idx, size_t cap,
                           zb_tree_head *head, Zb__Report **out)
{
    Zb__Report *r = outbox_report(o, ob, i);
    size_t n = relay_indexes(r, o->pk, idx, cap, head);
    *out = r;
    return n;
}

/* The highest relayed seq of county at province p. */
static uint64_t relay_last_seq(office *p, const char *county)
{
    MDB_txn *txn;
    uint64_t seq = 99;
    assert_int_equal(zb_store_begin(zb_agg_store(p->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_astore_relay_last_seq(zb_agg_store(p->agg), txn, county, &seq), ZB_OK);
    mdb_txn_abort(txn);
    return seq;
}

typedef struct {
    size_t n;
    zb_relay_key k[8];
} relay_keys;

static int take_key(void *ctx, const zb_relay_key *k)
{
    relay_keys *l = ctx;
    if (l->n == 8)
        return 1;
    l->k[l->n++] = *k;
    return 0;
}

/* county's keys as province p indexed them. */
static relay_keys keys_at(office *p, const char *county)
{
    relay_keys l = {0};
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(p->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_astore_relay_keys(zb_agg_store(p->agg), txn, county, take_key, &l), 0);
    mdb_txn_abort(txn);
    return l;
}

/* A LogLeaf at time t holding a KeyEvent of county, well formed on its own
 * (zb_key_event_check passes): ENROLLED with key's real signed request
 * (zb_keyreq_make, no rotation), or REVOKED without consent. *len: its
 * size; malloc'd. */
static uint8_t *key_event_leaf(const char *county, Zb__KeyEventKind kind, uint32_t epoch,
                               const zb_identity *key, uint64_t seq, int64_t t, size_t *len)
{
    uint8_t zero[ZB_SHA256_LEN] = {0};
    uint8_t *req = NULL;
    size_t req_len = 0;
    Zb__KeyEvent ke = ZB__KEY_EVENT__INIT;
    ke.county = (char *)county;
    ke.epoch = epoch;
    ke.kind = kind;
    ke.key = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)key->pk};
    ke.seq = seq;
    if (kind == ZB__KEY_EVENT_KIND__ENROLLED) {
        assert_int_equal(zb_keyreq_make(county, key, NULL, 0, NULL, t, &req, &req_len), ZB_OK);
        ke.has_request = 1;
        ke.request = (ProtobufCBinaryData){req_len, req};
        ke.has_prev_hash = 1;
        ke.prev_hash = (ProtobufCBinaryData){ZB_SHA256_LEN, zero};
    } else {
        ke.has_consented = 1;
        ke.consented = 0;
    }
    char why[200];
    int rc = zb_key_event_check(&ke, why, sizeof why);
    if (rc)
        print_error("key event: %s\n", why);
    assert_int_equal(rc, ZB_OK);
    Zb__LogLeaf kl = ZB__LOG_LEAF__INIT;
    kl.timestamp = t;
    kl.entry_case = ZB__LOG_LEAF__ENTRY_KEY_EVENT;
    kl.key_event = &ke;
    uint8_t *leaf = NULL;
    assert_int_equal(zb_leaf_pack(&kl, &leaf, len), ZB_OK);
    free(req);
    return leaf;
}

/* forge_relay of one forged leaf (appended after o's real log), ingested
 * at p: the outcome. */
static zb_ingest_out relay_forged_leaf(office *o, office *p, const uint8_t *leaf, size_t len,
                                       int64_t now)
{
    const uint64_t one[] = {0};
    size_t env_len;
    uint8_t *env = forge_relay(o, p, one, 1, 0, leaf, len, now, &env_len);
    zb_ingest_out out = ingest(p, zb_agg_code(o->agg), env, env_len, now);
    free(env);
    return out;
}

/* How the relay's consistency proof of forge_head is made. */
typedef struct {
    uint64_t old_size, new_size; /* PROOF(old_size, D[new_size]) of the forged log; 0: none */
    bool corrupt;                /* one byte of its first hash flipped */
} chain_proof;

/* A relay prefecture o signs with its real key for province p, carrying
 * leaf 0 of o's log (its county's ENROLLED key event: a repeat the
 * province takes) against a head of size over o's real leaves 0..size-1,
 * except leaf fork_at (UINT64_MAX: none), whose hash is replaced (a log
 * that forked from o's own); with the consistency proof proof says.
 * Sealed as p's next report of o: the envelope (malloc'd). */
static uint8_t *forge_head(office *o, office *p, uint64_t size, uint64_t fork_at, chain_proof proof,
                           int64_t now, size_t *env_len)
{
    const zb_identity *key = zb_agg_identity(o->agg);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(o->agg), true, &txn), ZB_OK);
    uint64_t real = 0;
    assert_int_equal(zb_tlog_size(zb_agg_tlog(o->agg), txn, &real), ZB_OK);
    assert_true(size >= 1 && size <= real && fork_at != 0);
    uint8_t(*hashes)[ZB_HASH_LEN] = calloc(size, sizeof *hashes);
    assert_non_null(hashes);
    for (uint64_t i = 0; i < size; i++)
        assert_int_equal(zb_tlog_leaf_hash(zb_agg_tlog(o->agg), txn, i, hashes[i]), ZB_OK);
    if (fork_at < size)
        zb_merkle_leaf_hash((const uint8_t *)"a forked leaf", 13, hashes[fork_at]);
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

    uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    ProtobufCBinaryData path_pb[ZB_MERKLE_MAX_PROOF];
    size_t count = 0;
    assert_int_equal(
        zb_merkle_inclusion_proof((const uint8_t(*)[ZB_HASH_LEN])hashes, size, 0, path, &count), 0);
    for (size_t j = 0; j < count; j++)
        path_pb[j] = (ProtobufCBinaryData){ZB_HASH_LEN, path[j]};
    zb_agg_leaf got;
    assert_int_equal(zb_agg_leaf_get(o->agg, txn, 0, &got), ZB_OK);
    Zb__RelayedLeaf leaf = ZB__RELAYED_LEAF__INIT, *lp = &leaf;
    leaf.log_index = 0;
    leaf.leaf = (ProtobufCBinaryData){got.len, (uint8_t *)got.bytes};
    leaf.path = path_pb;
    leaf.n_path = count;
    Zb__Relay relay = ZB__RELAY__INIT;
    relay.tree_head = &sth;
    relay.leaves = &lp;
    relay.n_leaves = 1;
    Zb__ConsistencyProof *cp = NULL;
    if (proof.old_size) {
        assert_true(proof.new_size <= size);
        assert_int_equal(zb_consistency_proof_of_leaves((const uint8_t(*)[ZB_HASH_LEN])hashes,
                                                        proof.old_size, proof.new_size, &cp),
                         ZB_OK);
        if (proof.corrupt) {
            assert_true(cp->n_path > 0);
            cp->path[0].data[0] ^= 1;
        }
        relay.consistency = cp;
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
    if (cp)
        zb__consistency_proof__free_unpacked(cp, NULL);
    zb_agg_leaf_free(&got);
    mdb_txn_abort(txn);
    free(hashes);
    return env;
}

/* forge_head ingested at p: refused as BAD_CHAIN, the reason containing
 * part; nothing stored. */
static void refused_chain(office *o, office *p, uint64_t size, uint64_t fork_at, chain_proof proof,
                          int64_t now, const char *part)
{
    zb_county_rec before = member_rec(p, zb_agg_code(o->agg));
    zb_relay_state st = relay_state(p, zb_agg_code(o->agg));
    size_t len;
    uint8_t *env = forge_head(o, p, size, fork_at, proof, now, &len);
    zb_ingest_out out = ingest(p, zb_agg_code(o->agg), env, len, now);
    free(env);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__BAD_CHAIN);
    assert_true(contains(out.reason, part));
    assert_int_equal(member_rec(p, zb_agg_code(o->agg)).acked_seq, before.acked_seq);
    zb_relay_state after = relay_state(p, zb_agg_code(o->agg));
    assert_int_equal(after.head_size, st.head_size);
    assert_memory_equal(after.head_root, st.head_root, ZB_HASH_LEN);
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

/* ------------------------------------------------------------ b7de9cb */

/* A prefecture and a province of their own, the prefecture's upstream
 * configured (mode forward) and enrolled vouched at the province. */
static void pair_create(office *pref, office *prov, zb_forward forward)
{
    assert_int_equal(office_create(prov, ZB_LEVEL_PROVINCE, PROVINCE), 0);
    assert_int_equal(office_create(pref, ZB_LEVEL_PREFECTURE, PREFECTURE), 0);
    bool created = false, was_new = false;
    uint64_t first = 0;
    assert_int_equal(
        zb_upstream_configure(pref->agg, pref->dir, ENDPOINT, prov->pk_hex, forward, &created),
        ZB_OK);
    assert_true(created);
    assert_int_equal(zb_agg_enroll_vouched(prov->agg, PREFECTURE, pref->pk, &was_new, &first),
                     ZB_OK);
}

/* Outbox reports of o from seq from on, each stored at p in order. */
static void ingest_outbox(office *o, office *p, uint64_t from, int64_t now)
{
    outbox ob;
    outbox_read(o, from, &ob);
    assert_true(ob.n > 0);
    for (size_t i = 0; i < ob.n; i++) {
        zb_ingest_out out = ingest(p, zb_agg_code(o->agg), ob.env[i], ob.len[i], now);
        assert_int_equal(out.result, ZB_INGEST_STORED);
        assert_int_equal(out.seq, ob.seq[i]);
    }
    outbox_free(&ob);
}

/* astore zb_astore_relay_last_seq: 0 before anything is relayed; the
 * highest seq relayed of the county, statutory relays leaving gaps
 * (一般 accidents and monthly reports stay below); the next county's
 * records (222402, after 222401 in the index, its highest seq lower)
 * neither taken for the county's nor hiding them; counties with no
 * record before, between or after give 0. */
static void test_relay_last_seq(void **state)
{
    (void)state;
    office pref, prov;
    pair_create(&pref, &prov, ZB_FORWARD_STATUTORY);
    assert_int_equal(relay_last_seq(&prov, COUNTY), 0);
    assert_int_equal(relay_last_seq(&prov, "222402"), 0);

    file_report(&pref, accident("L-1", 0, 3), 10); /* seq 1: 较大 */
    assert_int_equal(relay_pass(&pref, F.t0 + 100), 1);
    ingest_outbox(&pref, &prov, 1, F.t0 + 110);
    assert_int_equal(relay_last_seq(&prov, COUNTY), 1);
    assert_int_equal(relay_last_seq(&prov, "222402"), 0);

    county_chain b;
    county_enrol(&pref, &b, "222402"); /* leaf 2 */
    file_report(&pref, accident("L-2", 0, 1), 120);  /* seq 2: 一般 */
    file_report(&pref, monthly(), 130);              /* seq 3 */
    file_report(&pref, accident("L-3", 0, 3), 140);  /* seq 4: 较大 */
    file_report(&pref, accident("L-4", 0, 1), 150);  /* seq 5: 一般 */
    file_as(&pref, &b, accident("LB-1", 0, 3), 160); /* 222402 seq 1 */
    file_as(&pref, &b, accident("LB-2", 0, 5), 170); /* 222402 seq 2 */
    assert_int_equal(relay_pass(&pref, F.t0 + 200), 1);
    outbox ob;
    outbox_read(&pref, 2, &ob);
    assert_int_equal(ob.n, 1);
    uint64_t idx[64];
    zb_tree_head head;
    Zb__Report *r = NULL;
    assert_int_equal(outbox_relay(&pref, &ob, 0, idx, 64, &head, &r), 4);
    assert_int_equal(idx[0], 2); /* 222402's key event */
    assert_int_equal(idx[1], 5); /* L-3 */
    assert_int_equal(idx[2], 7); /* LB-1 */
    assert_int_equal(idx[3], 8); /* LB-2 */
    zb__report__free_unpacked(r, NULL);
    outbox_free(&ob);
    ingest_outbox(&pref, &prov, 2, F.t0 + 210);

    zb_relay_env e;
    assert_int_equal(relay_env(&prov, COUNTY, 1, &e), ZB_OK);
    assert_int_equal(relay_env(&prov, COUNTY, 2, &e), ZB_ENOTFOUND);
    assert_int_equal(relay_env(&prov, COUNTY, 3, &e), ZB_ENOTFOUND);
    assert_int_equal(relay_env(&prov, COUNTY, 4, &e), ZB_OK);
    assert_int_equal(relay_env(&prov, COUNTY, 5, &e), ZB_ENOTFOUND);
    assert_int_equal(relay_env(&prov, "222402", 1, &e), ZB_OK);
    assert_int_equal(relay_env(&prov, "222402", 2, &e), ZB_OK);

    assert_int_equal(relay_last_seq(&prov, COUNTY), 4);
    assert_int_equal(relay_last_seq(&prov, "222402"), 2);
    assert_int_equal(relay_last_seq(&prov, "222400"), 0); /* before every record */
    assert_int_equal(relay_last_seq(&prov, "222399"), 0);
    assert_int_equal(relay_last_seq(&prov, "222403"), 0); /* after every record */
    assert_int_equal(relay_last_seq(&prov, "999999"), 0);
    assert_int_equal(relay_last_seq(&prov, "22240"), 0); /* malformed */
    zb_identity_wipe(&b.key);
    office_remove(&pref);
    office_remove(&prov);
}

/* The province's rules on a county's key history (province.c
 * accept_key_event), each forged leaf a KeyEvent well formed on its own
 * (real key requests, zb_key_event_check passes) appended after the
 * prefecture's real log (forge_relay: a head that extends the province's,
 * with its consistency proof), so that only the history is wrong:
 *   refused -- a revocation below a seq already relayed, a revocation
 *   repeated with another seq, an enrolment of epoch 1 not from the
 *   revoked key's last seq + 1 (after it, or overlapping it), an
 *   enrolment of epoch 1 that brings the revoked key back, an enrolment
 *   of epoch 0 of a new county not from seq 1;
 *   accepted -- the same key events relayed again, identical; and, for
 *   each refusal, the history it breaks done right: the real revocation,
 *   the real re-enrolment from the next seq, a new county from seq 1. */
static void test_key_history_rules(void **state)
{
    (void)state;
    office pref, prov;
    pair_create(&pref, &prov, ZB_FORWARD_STATUTORY);
    file_report(&pref, accident("K-1", 0, 3), 10); /* seq 1, leaf 1 */
    file_report(&pref, accident("K-2", 0, 3), 20); /* seq 2, leaf 2 */
    file_report(&pref, accident("K-3", 0, 3), 30); /* seq 3, leaf 3 */
    assert_int_equal(relay_pass(&pref, F.t0 + 100), 1);
    ingest_outbox(&pref, &prov, 1, F.t0 + 110);
    assert_int_equal(relay_last_seq(&prov, COUNTY), 3);

    /* a revocation after seq 2, when seq 3 went up signed by that key */
    int64_t now = F.t0 + 200;
    size_t len;
    uint8_t *leaf =
        key_event_leaf(COUNTY, ZB__KEY_EVENT_KIND__REVOKED, 0, &pref.county_key, 2, now, &len);
    zb_ingest_out out = relay_forged_leaf(&pref, &prov, leaf, len, now);
    free(leaf);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
    assert_true(contains(out.reason, "county 222401 key epoch 0 revoked after seq 2, before what "
                                     "it signed (seq 3 relayed)"));
    relay_keys kl = keys_at(&prov, COUNTY);
    assert_int_equal(kl.n, 1);
    assert_false(kl.k[0].revoked);

    /* the prefecture's real revocation (after seq 3) goes up and is taken */
    zb_key_epoch revoked;
    uint8_t last_hash[ZB_SHA256_LEN];
    assert_int_equal(zb_agg_revoke(pref.agg, COUNTY, &revoked, last_hash), ZB_OK); /* leaf 4 */
    assert_int_equal(revoked.last_seq, 3);
    assert_int_equal(relay_pass(&pref, F.t0 + 300), 1);
    outbox ob;
    outbox_read(&pref, 2, &ob);
    assert_int_equal(ob.n, 1);
    uint64_t idx[64];
    zb_tree_head head;
    Zb__Report *r = NULL;
    assert_int_equal(outbox_relay(&pref, &ob, 0, idx, 64, &head, &r), 1);
    assert_int_equal(idx[0], 4);
    zb__report__free_unpacked(r, NULL);
    outbox_free(&ob);
    ingest_outbox(&pref, &prov, 2, F.t0 + 310);
    kl = keys_at(&prov, COUNTY);
    assert_int_equal(kl.n, 1);
    assert_true(kl.k[0].revoked);
    assert_int_equal(kl.k[0].last_seq, 3);

    /* the revocation again, with another last seq: later, then earlier */
    now = F.t0 + 400;
    static const uint64_t other_last[] = {5, 2};
    for (size_t i = 0; i < 2; i++) {
        leaf = key_event_leaf(COUNTY, ZB__KEY_EVENT_KIND__REVOKED, 0, &pref.county_key,
                              other_last[i], now, &len);
        out = relay_forged_leaf(&pref, &prov, leaf, len, now);
        free(leaf);
        assert_int_equal(out.result, ZB_INGEST_REFUSED);
        assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
        char want[120];
        snprintf(want, sizeof want,
                 "county 222401 key epoch 0 was revoked after seq 3, not %" PRIu64, other_last[i]);
        assert_true(contains(out.reason, want));
    }

    /* epoch 1 with a fresh key, not from seq 4: after it, or overlapping
     * the revoked key's seqs */
    zb_identity fresh;
    zb_identity_generate(&fresh);
    static const uint64_t wrong_first[] = {6, 3, 1};
    for (size_t i = 0; i < 3; i++) {
        leaf = key_event_leaf(COUNTY, ZB__KEY_EVENT_KIND__ENROLLED, 1, &fresh, wrong_first[i], now,
                              &len);
        out = relay_forged_leaf(&pref, &prov, leaf, len, now);
        free(leaf);
        assert_int_equal(out.result, ZB_INGEST_REFUSED);
        assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
        char want[120];
        snprintf(want, sizeof want,
                 "county 222401 key epoch 1 from seq %" PRIu64
                 " does not follow its 1 known key(s)",
                 wrong_first[i]);
        assert_true(contains(out.reason, want));
    }
    zb_identity_wipe(&fresh);

    /* epoch 1 from the right seq, but the revoked key again */
    leaf = key_event_leaf(COUNTY, ZB__KEY_EVENT_KIND__ENROLLED, 1, &pref.county_key, 4, now, &len);
    out = relay_forged_leaf(&pref, &prov, leaf, len, now);
    free(leaf);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
    assert_true(contains(out.reason, "county 222401 key epoch 1 from seq 4 does not follow its 1 "
                                     "known key(s)"));

    /* a new county of the prefecture whose first key starts at seq 2 */
    zb_identity k402;
    zb_identity_generate(&k402);
    leaf = key_event_leaf("222402", ZB__KEY_EVENT_KIND__ENROLLED, 0, &k402, 2, now, &len);
    out = relay_forged_leaf(&pref, &prov, leaf, len, now);
    free(leaf);
    assert_int_equal(out.result, ZB_INGEST_REFUSED);
    assert_int_equal(out.code, ZB__ERROR_CODE__INVALID_REPORT);
    assert_true(contains(out.reason, "county 222402 key epoch 0 from seq 2 does not follow its 0 "
                                     "known key(s)"));
    char claimed[ZB_COUNTY_LEN + 1];
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(prov.agg), true, &txn), ZB_OK);
    assert_int_equal(zb_astore_relay_county_get(zb_agg_store(prov.agg), txn, "222402", claimed),
                     ZB_ENOTFOUND);
    mdb_txn_abort(txn);
    assert_int_equal(keys_at(&prov, "222402").n, 0);
    /* none of the refusals moved anything */
    kl = keys_at(&prov, COUNTY);
    assert_int_equal(kl.n, 1);
    assert_true(kl.k[0].revoked);
    assert_int_equal(kl.k[0].last_seq, 3);
    zb_county_rec before = member_rec(&prov, PREFECTURE);
    assert_int_equal(before.acked_seq, 2);

    /* the right re-enrolment: epoch 1, a new key, from seq 4 */
    zb_identity old = pref.county_key;
    zb_identity_generate(&pref.county_key);
    bool was_new = false;
    uint64_t first = 0;
    uint8_t prev[ZB_SHA256_LEN];
    assert_int_equal(
        zb_agg_enroll_identity(pref.agg, COUNTY, &pref.county_key, &was_new, &first, prev),
        ZB_OK); /* leaf 5 */
    assert_int_equal(first, 4);
    file_report(&pref, accident("K-4", 0, 3), 500); /* seq 4, leaf 6 */
    assert_int_equal(relay_pass(&pref, F.t0 + 600), 1);
    ingest_outbox(&pref, &prov, 3, F.t0 + 610);
    kl = keys_at(&prov, COUNTY);
    assert_int_equal(kl.n, 2);
    assert_int_equal(kl.k[1].epoch, 1);
    assert_int_equal(kl.k[1].first_seq, 4);
    assert_memory_equal(kl.k[1].key, pref.county_key.pk, ZB_PK_LEN);
    assert_int_equal(relay_last_seq(&prov, COUNTY), 4);
    assert_memory_equal(kl.k[0].key, old.pk, ZB_PK_LEN);
    assert_int_equal(kl.k[0].first_seq, 1);
    assert_true(kl.k[0].revoked);
    assert_int_equal(kl.k[0].last_seq, 3);

    /* the same key events again (both enrolments and the revocation, the
     * log's very leaves, under the head the province holds): taken, and
     * nothing about the keys changes */
    now = F.t0 + 650;
    const uint64_t again[] = {0, 4, 5};
    uint8_t *forged = forge_relay(&pref, &prov, again, 3, UINT64_MAX, NULL, 0, now, &len);
    out = ingest(&prov, PREFECTURE, forged, len, now);
    free(forged);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    relay_keys kl2 = keys_at(&prov, COUNTY);
    assert_int_equal(kl2.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(kl2.k[i].epoch, kl.k[i].epoch);
        assert_memory_equal(kl2.k[i].key, kl.k[i].key, ZB_PK_LEN);
        assert_int_equal(kl2.k[i].first_seq, kl.k[i].first_seq);
        assert_int_equal(kl2.k[i].revoked, kl.k[i].revoked);
        assert_int_equal(kl2.k[i].last_seq, kl.k[i].last_seq);
    }

    /* a new county from seq 1: taken (the rule above was its seq) */
    now = F.t0 + 700;
    leaf = key_event_leaf("222402", ZB__KEY_EVENT_KIND__ENROLLED, 0, &k402, 1, now, &len);
    out = relay_forged_leaf(&pref, &prov, leaf, len, now);
    free(leaf);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    kl = keys_at(&prov, "222402");
    assert_int_equal(kl.n, 1);
    assert_int_equal(kl.k[0].first_seq, 1);
    assert_int_equal(check(&prov), 0);
    zb_identity_wipe(&k402);
    zb_identity_wipe(&old);
    office_remove(&pref);
    office_remove(&prov);
}

/* The head of each relay must extend the prefecture's previous relay's
 * (province.c, BAD_CHAIN otherwise). Forward all: a first pass of 70
 * leaves (two relays, no proof: nothing before them) is stored; a second
 * pass over 136 leaves makes two relays, the first carrying
 * PROOF(70, 136), the second (the same head) none. Before the province
 * takes them, relays signed with the prefecture's real key and carrying
 * one real leaf are refused: a smaller head; a head of the same size over
 * another log; a larger head without a proof, with a proof from another
 * old size or to another new size, with a proof whose hash was altered,
 * with a proof over a log that forked before the province's head. Then
 * the honest relays are stored, and one more forged the same way but
 * with the right proof is stored too (so the refusals were the chain's). */
static void test_relay_head_chain(void **state)
{
    (void)state;
    office pref, prov;
    pair_create(&pref, &prov, ZB_FORWARD_ALL);
    for (int i = 0; i < 69; i++)
        file_report(&pref, monthly(), 10 + i);
    assert_int_equal(relay_pass(&pref, F.t0 + 100), 2);
    outbox ob;
    outbox_read(&pref, 1, &ob);
    assert_int_equal(ob.n, 2);
    for (size_t i = 0; i < ob.n; i++) {
        uint64_t idx[64];
        zb_tree_head head;
        Zb__Report *r = NULL;
        outbox_relay(&pref, &ob, i, idx, 64, &head, &r);
        assert_int_equal(head.size, 70);
        assert_null(r->relay->consistency); /* the first relays: nothing to extend */
        zb__report__free_unpacked(r, NULL);
    }
    outbox_free(&ob);
    ingest_outbox(&pref, &prov, 1, F.t0 + 110);
    zb_relay_state st = relay_state(&prov, PREFECTURE);
    assert_int_equal(st.head_size, 70);

    for (int i = 0; i < 66; i++)
        file_report(&pref, monthly(), 200 + i);
    assert_int_equal(relay_pass(&pref, F.t0 + 300), 2);
    outbox_read(&pref, 3, &ob);
    assert_int_equal(ob.n, 2);
    zb_tree_head heads[2];
    for (size_t i = 0; i < ob.n; i++) {
        uint64_t idx[64];
        Zb__Report *r = NULL;
        size_t n = outbox_relay(&pref, &ob, i, idx, 64, &heads[i], &r);
        assert_int_equal(heads[i].size, 136);
        assert_int_equal(idx[0], 70 + 64 * i);
        assert_int_equal(n, i == 0 ? 64 : 2);
        const Zb__ConsistencyProof *cp = r->relay->consistency;
        if (i == 0) {
            assert_non_null(cp);
            assert_int_equal(cp->old_size, 70);
            assert_int_equal(cp->new_size, 136);
            zb_tree_head prev_head = {.size = st.head_size};
            memcpy(prev_head.root, st.head_root, ZB_HASH_LEN);
            assert_int_equal(zb_consistency_verify_pb(cp, &prev_head, &heads[0]), 0);
        } else {
            assert_null(cp);
        }
        zb__report__free_unpacked(r, NULL);
    }
    assert_memory_equal(heads[0].root, heads[1].root, ZB_HASH_LEN);

    int64_t now = F.t0 + 400;
    const char *not_as_before = "is not the prefecture's log as relayed before (size 70)";
    const char *not_proven = "is not proven to extend the one relayed before (size 70)";
    refused_chain(&pref, &prov, 69, UINT64_MAX, (chain_proof){0}, now, not_as_before);
    refused_chain(&pref, &prov, 1, UINT64_MAX, (chain_proof){0}, now, not_as_before);
    refused_chain(&pref, &prov, 70, 69, (chain_proof){0}, now, not_as_before);
    refused_chain(&pref, &prov, 70, 3, (chain_proof){0}, now, not_as_before);
    refused_chain(&pref, &prov, 136, UINT64_MAX, (chain_proof){0}, now, not_proven);
    refused_chain(&pref, &prov, 136, UINT64_MAX, (chain_proof){69, 136, false}, now, not_proven);
    refused_chain(&pref, &prov, 136, UINT64_MAX, (chain_proof){64, 136, false}, now, not_proven);
    refused_chain(&pref, &prov, 136, UINT64_MAX, (chain_proof){70, 135, false}, now, not_proven);
    refused_chain(&pref, &prov, 136, UINT64_MAX, (chain_proof){70, 136, true}, now, not_proven);
    refused_chain(&pref, &prov, 136, 5, (chain_proof){70, 136, false}, now, not_proven);
    refused_chain(&pref, &prov, 136, 69, (chain_proof){70, 136, false}, now, not_proven);

    /* the honest relays, in order */
    for (size_t i = 0; i < ob.n; i++) {
        zb_ingest_out out = ingest(&prov, PREFECTURE, ob.env[i], ob.len[i], now + 10);
        assert_int_equal(out.result, ZB_INGEST_STORED);
    }
    outbox_free(&ob);
    st = relay_state(&prov, PREFECTURE);
    assert_int_equal(st.head_size, 136);
    assert_memory_equal(st.head_root, heads[0].root, ZB_HASH_LEN);
    assert_int_equal(st.envelopes, 135);

    /* forged as above with the proof right: stored */
    file_report(&pref, monthly(), 500); /* leaf 136 */
    size_t len;
    uint8_t *env =
        forge_head(&pref, &prov, 137, UINT64_MAX, (chain_proof){136, 137, false}, now + 20, &len);
    zb_ingest_out out = ingest(&prov, PREFECTURE, env, len, now + 20);
    free(env);
    assert_int_equal(out.result, ZB_INGEST_STORED);
    assert_int_equal(relay_state(&prov, PREFECTURE).head_size, 137);
    assert_int_equal(check(&prov), 0);
    office_remove(&pref);
    office_remove(&prov);
}

/* Every log index of the outbox's relays from seq 1 on, each counted in
 * seen[0..cap) (which the caller zeroed); the relays' count. */
static size_t outbox_indexes(office *o, uint8_t *seen, size_t cap)
{
    outbox ob;
    outbox_read(o, 1, &ob);
    size_t relays = 0;
    for (size_t i = 0; i < ob.n; i++) {
        uint64_t idx[64];
        zb_tree_head head;
        Zb__Report *r = NULL;
        Zb__Envelope *env = NULL;
        assert_int_equal(zb_envelope_open(ob.env[i], ob.len[i], &env, &r), ZB_OK);
        zb__envelope__free_unpacked(env, NULL);
        bool relay = r->content_case == ZB__REPORT__CONTENT_RELAY;
        zb__report__free_unpacked(r, NULL);
        if (!relay)
            continue;
        size_t n = outbox_relay(o, &ob, i, idx, 64, &head, &r);
        zb__report__free_unpacked(r, NULL);
        for (size_t j = 0; j < n; j++) {
            assert_true(idx[j] < cap);
            seen[idx[j]]++;
        }
        relays++;
    }
    outbox_free(&ob);
    return relays;
}

/* --forward all, then statutory: a revision that makes an earlier 一般
 * accident 较大 takes up, under statutory, the accident's earlier
 * revisions -- but those went up already under all: the new relay holds
 * only what no relay holds. Every index of the outbox once. */
static void test_mode_change_relays_once(void **state)
{
    (void)state;
    office pref, prov;
    pair_create(&pref, &prov, ZB_FORWARD_ALL);
    file_report(&pref, accident("M-1", 0, 1), 10); /* leaf 1: 一般 */
    file_report(&pref, monthly(), 20);             /* leaf 2 */
    file_report(&pref, accident("M-2", 0, 1), 30); /* leaf 3: 一般 */
    assert_int_equal(relay_pass(&pref, F.t0 + 100), 1);
    ingest_outbox(&pref, &prov, 1, F.t0 + 110);

    bool created = true;
    assert_int_equal(zb_upstream_configure(pref.agg, pref.dir, ENDPOINT, prov.pk_hex,
                                           ZB_FORWARD_STATUTORY, &created),
                     ZB_OK);
    assert_false(created);
    file_report(&pref, accident("M-1", 1, 3), 200); /* leaf 4: M-1 becomes 较大 */
    file_report(&pref, accident("M-3", 0, 1), 210); /* leaf 5: 一般, stays down */
    assert_int_equal(relay_pass(&pref, F.t0 + 300), 1);

    outbox ob;
    outbox_read(&pref, 2, &ob);
    assert_int_equal(ob.n, 1);
    uint64_t idx[64];
    zb_tree_head head;
    Zb__Report *r = NULL;
    size_t n = outbox_relay(&pref, &ob, 0, idx, 64, &head, &r);
    assert_int_equal(head.size, 6);
    assert_int_equal(n, 1);
    assert_int_equal(idx[0], 4); /* not M-1's revision 0 (leaf 1) again */
    zb__report__free_unpacked(r, NULL);
    outbox_free(&ob);

    uint8_t seen[8] = {0};
    assert_int_equal(outbox_indexes(&pref, seen, 8), 2);
    static const uint8_t want[8] = {1, 1, 1, 1, 1, 0, 0, 0};
    assert_memory_equal(seen, want, 8);
    ingest_outbox(&pref, &prov, 2, F.t0 + 310);
    zb_relay_env e;
    assert_int_equal(relay_env(&prov, COUNTY, 4, &e), ZB_OK);
    assert_int_equal(relay_env(&prov, COUNTY, 5, &e), ZB_ENOTFOUND);
    assert_int_equal(relay_pass(&pref, F.t0 + 400), 0);
    office_remove(&pref);
    office_remove(&prov);
}

/* The outbox's relays from seq from on, made by one pass: their count,
 * their one head, the old size of the consistency proof the first
 * carries (to that head; the others carry none), their lowest and
 * highest index; every index counted in seen[0..cap). */
typedef struct {
    size_t relays;
    uint64_t head_size;
    uint64_t proof_old; /* 0: the first relay had no proof */
    uint64_t lowest, highest;
} pass_view;

static pass_view view_pass(office *o, uint64_t from, uint8_t *seen, size_t cap)
{
    pass_view v = {.lowest = UINT64_MAX};
    outbox ob;
    outbox_read(o, from, &ob);
    for (size_t i = 0; i < ob.n; i++) {
        uint64_t idx[64];
        zb_tree_head head;
        Zb__Report *r = NULL;
        size_t n = outbox_relay(o, &ob, i, idx, 64, &head, &r);
        const Zb__ConsistencyProof *cp = r->relay->consistency;
        if (i == 0) {
            v.head_size = head.size;
            if (cp) {
                assert_int_equal(cp->new_size, head.size);
                v.proof_old = cp->old_size;
            }
        } else {
            assert_int_equal(head.size, v.head_size); /* one head a pass */
            assert_null(cp);
        }
        for (size_t j = 0; j < n; j++) {
            assert_true(idx[j] < cap && idx[j] < head.size);
            seen[idx[j]]++;
            v.lowest = idx[j] < v.lowest ? idx[j] : v.lowest;
            v.highest = idx[j] > v.highest ? idx[j] : v.highest;
        }
        zb__report__free_unpacked(r, NULL);
        v.relays++;
    }
    outbox_free(&ob);
    return v;
}

/* Bounded passes (upstream.c PASS_LEAVES_MAX 4096, zb_tlog_head_after):
 * forward all over 4,200 monthly reports ingested in rounds of 500, a
 * head per round (heads 1, 501, ... 4001, 4201). The first pass proves
 * against head 4001 (the largest within 4096 leaves of its start) and
 * relays leaves 0..4000; the second, against 4201 with PROOF(4001, 4201),
 * the rest; a third nothing. Then a single round of 4,100 (one head, past
 * the bound): the next pass takes that head, the smallest above. Every
 * index exactly once; the province takes every relay in order. */
static void test_bounded_passes(void **state)
{
    (void)state;
    office pref, prov;
    pair_create(&pref, &prov, ZB_FORWARD_ALL);
    enum { FIRST = 4200, SECOND = 4100, TOTAL = 1 + FIRST + SECOND };
    uint8_t *seen = calloc(TOTAL, 1);
    assert_non_null(seen);
    file_monthly_rounds(&pref, FIRST, 500, 10);

    size_t appended = relay_pass(&pref, F.t0 + 10000);
    assert_int_equal(appended, (4001 + 63) / 64);
    pass_view v = view_pass(&pref, 1, seen, TOTAL);
    assert_int_equal(v.relays, appended);
    assert_int_equal(v.head_size, 4001);
    assert_int_equal(v.proof_old, 0);
    assert_int_equal(v.lowest, 0);
    assert_int_equal(v.highest, 4000);
    for (size_t i = 0; i < TOTAL; i++)
        assert_int_equal(seen[i], i < 4001);
    ingest_outbox(&pref, &prov, 1, F.t0 + 10010);
    assert_int_equal(relay_state(&prov, PREFECTURE).head_size, 4001);

    size_t second = relay_pass(&pref, F.t0 + 10100);
    assert_int_equal(second, (200 + 63) / 64);
    memset(seen, 0, TOTAL);
    v = view_pass(&pref, appended + 1, seen, TOTAL);
    assert_int_equal(v.head_size, 4201);
    assert_int_equal(v.proof_old, 4001);
    assert_int_equal(v.lowest, 4001);
    assert_int_equal(v.highest, 4200);
    assert_int_equal(relay_pass(&pref, F.t0 + 10200), 0);
    ingest_outbox(&pref, &prov, appended + 1, F.t0 + 10210);
    appended += second;

    /* one round bigger than a pass: its head is the only one above */
    file_monthly_rounds(&pref, SECOND, SECOND, 20000);
    size_t third = relay_pass(&pref, F.t0 + 30000);
    assert_int_equal(third, (SECOND + 63) / 64);
    memset(seen, 0, TOTAL);
    v = view_pass(&pref, appended + 1, seen, TOTAL);
    assert_int_equal(v.head_size, TOTAL);
    assert_int_equal(v.proof_old, 4201);
    assert_int_equal(v.lowest, 4201);
    assert_int_equal(v.highest, TOTAL - 1);
    ingest_outbox(&pref, &prov, appended + 1, F.t0 + 30010);
    assert_int_equal(relay_pass(&pref, F.t0 + 30100), 0);

    /* over the whole outbox: every leaf once */
    memset(seen, 0, TOTAL);
    assert_int_equal(outbox_indexes(&pref, seen, TOTAL), appended + third);
    for (size_t i = 0; i < TOTAL; i++)
        if (seen[i] != 1)
            fail_msg("log index %zu relayed %u times", i, seen[i]);
    zb_relay_state st = relay_state(&prov, PREFECTURE);
    assert_int_equal(st.head_size, TOTAL);
    assert_int_equal(st.envelopes, FIRST + SECOND);
    assert_int_equal(st.key_events, 1);
    assert_int_equal(relay_env_count(&prov, COUNTY), FIRST + SECOND);
    free(seen);
    office_remove(&pref);
    office_remove(&prov);
}

/* The status of prefecture PREFECTURE in province p's monthly view of
 * F.period at now ("on_time", "late", "missing"); its first summary's
 * created_at and received_at strings into the buffers. */
static void province_status(office *p, int64_t now, char *status, char *created, char *received)
{
    int y, m;
    assert_int_equal(zb_period_parse(F.period, &y, &m), 0);
    MDB_txn *txn;
    json_t *doc = NULL;
    assert_int_equal(zb_store_begin(zb_agg_store(p->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_province_monthly(zb_agg_store(p->agg), txn, y, m, now, &doc), ZB_OK);
    mdb_txn_abort(txn);
    json_t *prefs = json_object_get(doc, "prefectures");
    assert_int_equal(json_array_size(prefs), 1);
    json_t *row = json_array_get(prefs, 0);
    assert_string_equal(json_string_value(json_object_get(row, "prefecture")), PREFECTURE);
    snprintf(status, 16, "%s", json_string_value(json_object_get(row, "status")));
    json_t *c = json_object_get(row, "created_at"), *rv = json_object_get(row, "received_at");
    char *cs = json_dumps(c, JSON_ENCODE_ANY), *rs = json_dumps(rv, JSON_ENCODE_ANY);
    assert_true(cs && rs);
    snprintf(created, 128, "%s", cs);
    snprintf(received, 128, "%s", rs);
    free(cs);
    free(rs);
    json_decref(doc);
}

/* A prefecture's summary is judged on when the province received it, not
 * on its own signed created_at: the same summary (created a day after the
 * counties' deadline, well before the summary deadline) at three
 * provinces, received before the summary deadline, exactly at it, and a
 * second after it: on_time, on_time, late. */
static void test_summary_judged_on_receipt(void **state)
{
    (void)state;
    office pref, prov[3];
    pair_create(&pref, &prov[0], ZB_FORWARD_STATUTORY);
    for (int i = 1; i < 3; i++) {
        assert_int_equal(office_create(&prov[i], ZB_LEVEL_PROVINCE, PROVINCE), 0);
        bool was_new;
        uint64_t first;
        assert_int_equal(zb_agg_enroll_vouched(prov[i].agg, PREFECTURE, pref.pk, &was_new, &first),
                         ZB_OK);
    }
    file_report(&pref, monthly(), 10);
    assert_int_equal(relay_pass(&pref, F.t0 + 100), 1); /* the county's key event */
    assert_int_equal(relay_pass(&pref, F.later), 1);    /* the period's summary */
    outbox ob;
    outbox_read(&pref, 1, &ob);
    assert_int_equal(ob.n, 2);
    Zb__Envelope *env = NULL;
    Zb__Report *r = NULL;
    assert_int_equal(zb_envelope_open(ob.env[1], ob.len[1], &env, &r), ZB_OK);
    zb__envelope__free_unpacked(env, NULL);
    assert_int_equal(r->content_case, ZB__REPORT__CONTENT_SUMMARY);
    assert_string_equal(r->summary->period, F.period);
    int64_t created_at = r->created_at;
    zb__report__free_unpacked(r, NULL);

    int y, m;
    assert_int_equal(zb_period_parse(F.period, &y, &m), 0);
    int64_t due = zb_period_deadline(y, m) + ZB_SUMMARY_GRACE_S;
    assert_true(created_at < due - 86400); /* signed well before the summary deadline */
    const int64_t received[3] = {F.later + 60, due, due + 1};
    static const char *const want[3] = {"on_time", "on_time", "late"};
    char status[3][16], created[3][128], got[3][128];
    for (int i = 0; i < 3; i++) {
        zb_ingest_out out = ingest(&prov[i], PREFECTURE, ob.env[0], ob.len[0], F.t0 + 200);
        assert_int_equal(out.result, ZB_INGEST_STORED);
        out = ingest(&prov[i], PREFECTURE, ob.env[1], ob.len[1], received[i]);
        assert_int_equal(out.result, ZB_INGEST_STORED);
        province_status(&prov[i], due + 86400, status[i], created[i], got[i]);
        if (strcmp(status[i], want[i]) != 0)
            fail_msg("received at due %+lld s: \"%s\", not \"%s\"", (long long)(received[i] - due),
                     status[i], want[i]);
    }
    /* the same signed summary everywhere; only the receive time differs */
    assert_string_equal(created[0], created[1]);
    assert_string_equal(created[0], created[2]);
    assert_string_not_equal(got[0], got[1]);
    assert_string_not_equal(got[1], got[2]);
    outbox_free(&ob);
    office_remove(&pref);
    for (int i = 0; i < 3; i++)
        office_remove(&prov[i]);
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
        cmocka_unit_test(test_relay_last_seq),
        cmocka_unit_test(test_key_history_rules),
        cmocka_unit_test(test_relay_head_chain),
        cmocka_unit_test(test_mode_change_relays_once),
        cmocka_unit_test(test_bounded_passes),
        cmocka_unit_test(test_summary_judged_on_receipt),
    };
    return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
