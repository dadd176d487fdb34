/*
 * test_tlog_head.c - zb_tlog_head_after (aggregator/tlog.h), the head a
 * bounded relay pass proves against, on a real aggregator: zb_agg_create
 * in a mkdtemp directory, county 222401 enrolled (a key event and a head
 * of size 1), then rounds of the county's monthly reports through
 * zb_agg_ingest, one transaction and one signed head per round, as the
 * server commits. The stored heads have sizes 1, 4, 8, 10 and 16.
 *
 *   - the largest stored head of a size in (above, upto], upto inclusive,
 *     above exclusive;
 *   - none in that range: the smallest stored head above `above`;
 *   - no stored head above: ZB_ENOTFOUND (also on a log with no head);
 *   - upto UINT64_MAX: the newest head;
 *   - what it returns is the stored signed head of that size: it
 *     verifies under the aggregator's key, its root is the log's root at
 *     that size, and it carries the head's cosignatures.
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
#include "cosig.h"
#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "report.h"
#include "timefmt.h"
#include "tlog.h"
#include "treehead.h"

#define COUNTY "222401"

typedef struct {
    char dir[512];
    zb_agg *agg;
    zb_identity county_key;
    zb_identity witness;
    uint64_t seq; /* the county's last filed seq */
    uint8_t prev[ZB_SHA256_LEN];
    int64_t clock; /* the next report's time */
    char period[8];
} fixture;

static fixture F;

static void remove_dir(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static int make_dir(char *dir, size_t len)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, len, "%s/zb-test-tlog-head-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_tlog_head", ZB_LOG_ERROR, false);
    if (make_dir(F.dir, sizeof F.dir) != 0)
        return -1;
    char pk_hex[2 * ZB_PK_LEN + 1];
    if (zb_agg_create(F.dir, pk_hex) != ZB_OK || zb_agg_open(&F.agg, F.dir, false) != ZB_OK)
        return -1;
    zb_identity_generate(&F.county_key);
    zb_identity_generate(&F.witness);
    F.clock = (int64_t)time(NULL) + 60; /* after the key event */
    int y, m;
    zb_period_of(F.clock, &y, &m);
    zb_period_format(y, m, F.period, sizeof F.period);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zb_agg_close(&F.agg);
    zb_identity_wipe(&F.county_key);
    zb_identity_wipe(&F.witness);
    if (F.dir[0])
        remove_dir(F.dir);
    return 0;
}

/* ------------------------------------------------------------ helpers */

/* deploy/examples/monthly.json as a Report for F.period (header unset). */
static Zb__Report *monthly(void)
{
    const char *src = getenv("ZB_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/examples/monthly.json", src ? src : ".");
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
    free(r->monthly->period);
    r->monthly->period = strdup(F.period);
    assert_non_null(r->monthly->period);
    free(r->county);
    r->county = strdup(COUNTY);
    free(r->prev_hash.data);
    r->prev_hash.data = malloc(ZB_SHA256_LEN);
    assert_true(r->county && r->prev_hash.data);
    r->prev_hash.len = ZB_SHA256_LEN;
    return r;
}

/* k monthly reports of the county ingested in one transaction, then one
 * head signed over the log: its size. */
static uint64_t round_of(int k)
{
    Zb__Report *r = monthly();
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), false, &txn), ZB_OK);
    zb_county_rec rec;
    assert_int_equal(zb_agg_county_get(F.agg, txn, COUNTY, &rec), ZB_OK);
    for (int i = 0; i < k; i++) {
        r->seq = F.seq + 1;
        r->created_at = F.clock;
        memcpy(r->prev_hash.data, F.prev, ZB_SHA256_LEN);
        size_t rlen = zb__report__get_packed_size(r), elen = 0;
        uint8_t *rb = malloc(rlen), *eb = NULL;
        assert_non_null(rb);
        zb__report__pack(r, rb);
        assert_int_equal(zb_envelope_seal(rb, rlen, &F.county_key, &eb, &elen), ZB_OK);
        free(rb);
        Zb__Envelope *env = zb__envelope__unpack(NULL, elen, eb);
        assert_non_null(env);
        free(eb);
        zb_ingest_out out;
        assert_int_equal(zb_agg_ingest(F.agg, txn, &rec, env, F.clock + 1, -1, &out), ZB_OK);
        zb__envelope__free_unpacked(env, NULL);
        if (out.result != ZB_INGEST_STORED)
            print_error("refused: %s\n", out.reason);
        assert_int_equal(out.result, ZB_INGEST_STORED);
        F.seq++;
        memcpy(F.prev, out.report_hash, ZB_SHA256_LEN);
        F.clock += 10;
    }
    assert_int_equal(zb_astore_county_put(zb_agg_store(F.agg), txn, &rec), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_sign_head(zb_agg_tlog(F.agg), txn, F.clock, &sth), ZB_OK);
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(sth, zb_agg_identity(F.agg)->pk, &h), ZB_OK);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    zb__report__free_unpacked(r, NULL);
    return h.size;
}

/* zb_tlog_head_after(above, upto): ZB_ENOTFOUND gives 0, else the size of
 * the head it returned, after checking that head is the log's own (it
 * verifies under the aggregator's key and its root is the log's root at
 * that size); *cosigs, when not NULL, its cosignature count. */
static uint64_t after(uint64_t above, uint64_t upto, size_t *cosigs)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), true, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = (Zb__SignedTreeHead *)1;
    int rc = zb_tlog_head_after(zb_agg_tlog(F.agg), txn, above, upto, &sth);
    uint64_t size = 0;
    if (rc == ZB_ENOTFOUND) {
        assert_null(sth);
    } else {
        assert_int_equal(rc, ZB_OK);
        assert_non_null(sth);
        zb_tree_head h;
        assert_int_equal(zb_tree_head_verify(sth, zb_agg_identity(F.agg)->pk, &h), ZB_OK);
        uint8_t root[ZB_HASH_LEN];
        assert_int_equal(zb_tlog_root(zb_agg_tlog(F.agg), txn, h.size, root), ZB_OK);
        assert_memory_equal(h.root, root, ZB_HASH_LEN);
        if (cosigs)
            *cosigs = sth->n_cosignatures;
        size = h.size;
        assert_true(size > 0);
        zb__signed_tree_head__free_unpacked(sth, NULL);
    }
    mdb_txn_abort(txn);
    return size;
}

/* ------------------------------------------------------------ cases */

/* Before any head: nothing at all; then the heads the rounds sign. */
static void test_heads_at_several_sizes(void **state)
{
    (void)state;
    assert_int_equal(after(0, UINT64_MAX, NULL), 0); /* ZB_ENOTFOUND: no head yet */
    assert_int_equal(after(0, 10, NULL), 0);

    bool was_new = false;
    uint64_t first = 0;
    uint8_t prev[ZB_SHA256_LEN];
    assert_int_equal(zb_agg_enroll_identity(F.agg, COUNTY, &F.county_key, &was_new, &first, prev),
                     ZB_OK);
    assert_true(was_new);
    assert_int_equal(first, 1);
    memcpy(F.prev, prev, ZB_SHA256_LEN);
    assert_int_equal(after(0, UINT64_MAX, NULL), 1); /* the key event's head */

    assert_int_equal(round_of(3), 4);
    assert_int_equal(round_of(4), 8);
    assert_int_equal(round_of(2), 10);
    assert_int_equal(round_of(6), 16);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), true, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    for (uint64_t n = 1; n <= 16; n++) {
        int rc = zb_tlog_head(zb_agg_tlog(F.agg), txn, n, &sth);
        bool stored = n == 1 || n == 4 || n == 8 || n == 10 || n == 16;
        assert_int_equal(rc, stored ? ZB_OK : ZB_ENOTFOUND);
        if (sth)
            zb__signed_tree_head__free_unpacked(sth, NULL);
        sth = NULL;
    }
    mdb_txn_abort(txn);
}

/* The largest stored head in (above, upto]. */
static void test_largest_in_range(void **state)
{
    (void)state;
    assert_int_equal(after(0, 9, NULL), 8);
    assert_int_equal(after(0, 15, NULL), 10);
    assert_int_equal(after(0, 16, NULL), 16); /* upto is inclusive */
    assert_int_equal(after(0, 17, NULL), 16);
    assert_int_equal(after(4, 8, NULL), 8);
    assert_int_equal(after(3, 4, NULL), 4);
    assert_int_equal(after(1, 4, NULL), 4); /* above is exclusive... */
    assert_int_equal(after(0, 1, NULL), 1);
    assert_int_equal(after(1, 9, NULL), 8);
    assert_int_equal(after(8, 10, NULL), 10);
    assert_int_equal(after(9, 12, NULL), 10);
    assert_int_equal(after(10, 4096, NULL), 16);
}

/* None in (above, upto]: the smallest stored head above `above`, however
 * far past upto (a single round bigger than a pass). */
static void test_smallest_above_when_none_in_range(void **state)
{
    (void)state;
    assert_int_equal(after(4, 7, NULL), 8);
    assert_int_equal(after(4, 4, NULL), 8); /* an empty range */
    assert_int_equal(after(1, 3, NULL), 4);
    assert_int_equal(after(0, 0, NULL), 1);
    assert_int_equal(after(8, 9, NULL), 10);
    assert_int_equal(after(10, 15, NULL), 16);
    assert_int_equal(after(11, 12, NULL), 16);
    assert_int_equal(after(10, 2, NULL), 16); /* upto below above: heads <= 2 are not above */
    assert_int_equal(after(2, 1, NULL), 4);
}

/* No stored head above `above`: ZB_ENOTFOUND, whatever upto. */
static void test_nothing_above(void **state)
{
    (void)state;
    assert_int_equal(after(16, 20, NULL), 0);
    assert_int_equal(after(16, 16, NULL), 0);
    assert_int_equal(after(16, UINT64_MAX, NULL), 0);
    assert_int_equal(after(100, UINT64_MAX, NULL), 0);
    assert_int_equal(after(UINT64_MAX - 1, UINT64_MAX, NULL), 0);
    assert_int_equal(after(UINT64_MAX, UINT64_MAX, NULL), 0);
}

/* upto UINT64_MAX (no bound): the newest head above `above`. */
static void test_upto_max(void **state)
{
    (void)state;
    assert_int_equal(after(0, UINT64_MAX, NULL), 16);
    assert_int_equal(after(8, UINT64_MAX, NULL), 16);
    assert_int_equal(after(15, UINT64_MAX, NULL), 16);
    assert_int_equal(after(0, UINT64_MAX - 1, NULL), 16);
    /* the log grows: the new newest */
    assert_int_equal(round_of(1), 17);
    assert_int_equal(after(0, UINT64_MAX, NULL), 17);
    assert_int_equal(after(16, UINT64_MAX, NULL), 17);
    assert_int_equal(after(0, 16, NULL), 16);
}

/* The head comes with its cosignatures, as zb_tlog_head gives them. */
static void test_with_cosignatures(void **state)
{
    (void)state;
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(F.agg), false, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_head(zb_agg_tlog(F.agg), txn, 8, &sth), ZB_OK);
    const uint8_t *pk = zb_agg_identity(F.agg)->pk;
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(sth, pk, &h), ZB_OK);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    uint8_t sig[ZB_SIG_LEN];
    int64_t at = h.timestamp + 5;
    assert_int_equal(zb_cosig_sign(&F.witness, pk, &h, at, sig), ZB_OK);
    Zb__Cosignature c = ZB__COSIGNATURE__INIT;
    c.witness = (ProtobufCBinaryData){ZB_PK_LEN, F.witness.pk};
    c.timestamp = at;
    c.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    assert_int_equal(zb_tlog_add_cosignature(zb_agg_tlog(F.agg), txn, pk, 8, &c), ZB_OK);
    assert_int_equal(zb_store_commit(txn), ZB_OK);

    size_t n = 99;
    assert_int_equal(after(4, 9, &n), 8); /* in range */
    assert_int_equal(n, 1);
    n = 99;
    assert_int_equal(after(4, 7, &n), 8); /* the smallest above */
    assert_int_equal(n, 1);
    n = 99;
    assert_int_equal(after(8, 10, &n), 10);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heads_at_several_sizes),
        cmocka_unit_test(test_largest_in_range),
        cmocka_unit_test(test_smallest_above_when_none_in_range),
        cmocka_unit_test(test_nothing_above),
        cmocka_unit_test(test_upto_max),
        cmocka_unit_test(test_with_cosignatures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
