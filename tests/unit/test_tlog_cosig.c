/*
 * test_tlog_cosig.c - the aggregator log's witness cosignatures
 * (aggregator/tlog.h, "witnesses' cosignatures") on a real aggregator
 * (zb_agg_create / zb_agg_open in a mkdtemp directory): leaves appended
 * with zb_tlog_append and heads signed with zb_tlog_sign_head, as a
 * commit does; cosignatures made with zb_cosig_sign by witness identities.
 *
 *   - zb_tlog_add_cosignature refuses one that does not verify for the
 *     stored head (ZB_EBADSIG), a size without a head (ZB_ENOTFOUND), a
 *     field of the wrong length (ZB_EDECODE); keeps each witness's
 *     earliest; zb_tlog_head / zb_tlog_latest_head attach exactly the
 *     head's own;
 *   - zb_tlog_witnessed_head, zb_tlog_witnessed_head_min, zb_tlog_cosigned_by,
 *     zb_tlog_witnessed_count, zb_tlog_witnessed_heads.
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

#include "agg.h"
#include "cosig.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "tlog.h"
#include "treehead.h"

#define NOW 1800000000 /* 2027-01-15 */

typedef struct {
    char dir[512];
    zb_agg *agg;
    zb_identity w[3];
    int64_t clock;   /* the next head's signing time */
    uint64_t filler; /* leaves appended so far */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    *state = f;
    if (zb_crypto_init() != 0)
        return -1;
    zb_log_init("test_tlog_cosig", ZB_LOG_ERROR, false);
    const char *base = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/zb-test-tlog-cosig-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    char pk_hex[2 * ZB_PK_LEN + 1];
    if (zb_agg_create(f->dir, pk_hex) != ZB_OK || zb_agg_open(&f->agg, f->dir, false) != ZB_OK)
        return -1;
    for (int i = 0; i < 3; i++)
        zb_identity_generate(&f->w[i]);
    f->clock = NOW;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (!f)
        return 0;
    zb_agg_close(&f->agg);
    for (int i = 0; i < 3; i++)
        zb_identity_wipe(&f->w[i]);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd) == 0 ? 0 : -1;
    free(f);
    return rc;
}

/* ------------------------------------------------------------ helpers */

static const uint8_t *agg_pk(fixture *f)
{
    return zb_agg_identity(f->agg)->pk;
}

/* Append k filler leaves and sign a head over the log; its size. */
static uint64_t grow(fixture *f, int k)
{
    zb_tlog *t = zb_agg_tlog(f->agg);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), false, &txn), ZB_OK);
    for (int i = 0; i < k; i++) {
        uint8_t entry[16] = "filler";
        zb_be64_put(entry + 8, ++f->filler);
        uint64_t index;
        assert_int_equal(zb_tlog_append(t, txn, entry, sizeof entry, ZB_LEAF_DOWNSTREAM, "222401",
                                        f->filler, &index),
                         ZB_OK);
    }
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_sign_head(t, txn, f->clock, &sth), ZB_OK);
    f->clock += 60;
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(sth, agg_pk(f), &h), ZB_OK);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    return h.size;
}

/* The stored head of size, decoded. */
static zb_tree_head stored_head(fixture *f, uint64_t size)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), true, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_head(zb_agg_tlog(f->agg), txn, size, &sth), ZB_OK);
    mdb_txn_abort(txn);
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(sth, agg_pk(f), &h), ZB_OK);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    return h;
}

typedef struct {
    uint8_t pk[ZB_PK_LEN];
    uint8_t sig[ZB_SIG_LEN];
    Zb__Cosignature c;
} cosig;

/* witness's cosignature at `at` of head (under log key pk). */
static void make_cosig(cosig *out, const zb_identity *witness, const uint8_t *pk,
                       const zb_tree_head *head, int64_t at)
{
    memcpy(out->pk, witness->pk, ZB_PK_LEN);
    assert_int_equal(zb_cosig_sign(witness, pk, head, at, out->sig), ZB_OK);
    zb__cosignature__init(&out->c);
    out->c.witness = (ProtobufCBinaryData){ZB_PK_LEN, out->pk};
    out->c.timestamp = at;
    out->c.signature = (ProtobufCBinaryData){ZB_SIG_LEN, out->sig};
}

/* zb_tlog_add_cosignature of c at size, committed when it succeeds. */
static int add(fixture *f, uint64_t size, const Zb__Cosignature *c)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), false, &txn), ZB_OK);
    int rc = zb_tlog_add_cosignature(zb_agg_tlog(f->agg), txn, agg_pk(f), size, c);
    if (rc == 0)
        assert_int_equal(zb_store_commit(txn), ZB_OK);
    else
        mdb_txn_abort(txn);
    return rc;
}

/* witness cosigns the stored head of size at `at`; stored. */
static void cosign(fixture *f, uint64_t size, const zb_identity *witness, int64_t at)
{
    zb_tree_head h = stored_head(f, size);
    cosig c;
    make_cosig(&c, witness, agg_pk(f), &h, at);
    assert_int_equal(add(f, size, &c.c), ZB_OK);
}

/* The stored head of size with its cosignatures (heap-built). */
static Zb__SignedTreeHead *head_with(fixture *f, uint64_t size)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), true, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_head(zb_agg_tlog(f->agg), txn, size, &sth), ZB_OK);
    mdb_txn_abort(txn);
    return sth;
}

static uint64_t size_of(fixture *f, const Zb__SignedTreeHead *sth)
{
    zb_tree_head h;
    assert_int_equal(zb_tree_head_verify(sth, agg_pk(f), &h), ZB_OK);
    return h.size;
}

/* The cosignature of witness on sth (NULL when none); it appears once. */
static const Zb__Cosignature *cosig_by(const Zb__SignedTreeHead *sth, const zb_identity *witness)
{
    const Zb__Cosignature *found = NULL;
    for (size_t i = 0; i < sth->n_cosignatures; i++)
        if (sth->cosignatures[i]->witness.len == ZB_PK_LEN &&
            memcmp(sth->cosignatures[i]->witness.data, witness->pk, ZB_PK_LEN) == 0) {
            assert_null(found);
            found = sth->cosignatures[i];
        }
    return found;
}

/* ------------------------------------------------------------ adding */

static void test_add_refused(void **state)
{
    fixture *f = *state;
    uint64_t a = grow(f, 2), b = grow(f, 3);
    zb_tree_head ha = stored_head(f, a), hb = stored_head(f, b);
    cosig c;

    /* head a's cosignature offered for head b */
    make_cosig(&c, &f->w[0], agg_pk(f), &ha, NOW + 10);
    assert_int_equal(add(f, b, &c.c), ZB_EBADSIG);
    /* a size without a head (between a and b, and beyond b) */
    assert_int_equal(add(f, a + 1, &c.c), ZB_ENOTFOUND);
    assert_int_equal(add(f, b + 100, &c.c), ZB_ENOTFOUND);
    /* a cosignature of head b under another log's key */
    zb_identity other;
    zb_identity_generate(&other);
    make_cosig(&c, &f->w[0], other.pk, &hb, NOW + 10);
    zb_identity_wipe(&other);
    assert_int_equal(add(f, b, &c.c), ZB_EBADSIG);
    /* forged: signed by w2, claiming w0 */
    make_cosig(&c, &f->w[2], agg_pk(f), &hb, NOW + 10);
    memcpy(c.pk, f->w[0].pk, ZB_PK_LEN);
    assert_int_equal(add(f, b, &c.c), ZB_EBADSIG);
    /* a timestamp other than the one signed */
    make_cosig(&c, &f->w[0], agg_pk(f), &hb, NOW + 10);
    c.c.timestamp = NOW + 9;
    assert_int_equal(add(f, b, &c.c), ZB_EBADSIG);
    /* a short witness field */
    c.c.timestamp = NOW + 10;
    c.c.witness.len = 20;
    assert_int_equal(add(f, b, &c.c), ZB_EDECODE);

    /* none stored */
    Zb__SignedTreeHead *sth = head_with(f, b);
    assert_int_equal(sth->n_cosignatures, 0);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    sth = head_with(f, a);
    assert_int_equal(sth->n_cosignatures, 0);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), true, &txn), ZB_OK);
    uint64_t heads = 9, newest = 9;
    assert_int_equal(zb_tlog_witnessed_count(zb_agg_tlog(f->agg), txn, &heads, &newest), ZB_OK);
    assert_int_equal(heads, 0);
    assert_int_equal(newest, 0);
    Zb__SignedTreeHead *w = NULL;
    assert_int_equal(zb_tlog_witnessed_head(zb_agg_tlog(f->agg), txn, UINT64_MAX, &w),
                     ZB_ENOTFOUND);
    assert_null(w);
    uint64_t size;
    int64_t at;
    assert_int_equal(zb_tlog_cosigned_by(zb_agg_tlog(f->agg), txn, f->w[0].pk, &size, &at),
                     ZB_ENOTFOUND);
    mdb_txn_abort(txn);

    /* the control: the right one is stored */
    c.c.witness.len = ZB_PK_LEN;
    assert_int_equal(add(f, b, &c.c), ZB_OK);
    sth = head_with(f, b);
    assert_int_equal(sth->n_cosignatures, 1);
    zb__signed_tree_head__free_unpacked(sth, NULL);
}

/* A witness's later cosignature replaces its earlier one only when it is
 * earlier in time; the heads carry exactly their own cosignatures. */
static void test_keep_earliest_and_attach(void **state)
{
    fixture *f = *state;
    uint64_t a = grow(f, 2), b = grow(f, 1), c = grow(f, 1);
    cosign(f, b, &f->w[0], NOW + 50);
    cosign(f, b, &f->w[0], NOW + 80); /* later: kept 50 */
    Zb__SignedTreeHead *sth = head_with(f, b);
    assert_int_equal(sth->n_cosignatures, 1);
    assert_int_equal(cosig_by(sth, &f->w[0])->timestamp, NOW + 50);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    cosign(f, b, &f->w[0], NOW + 20); /* earlier: replaces */
    cosign(f, b, &f->w[1], NOW + 70);
    sth = head_with(f, b);
    assert_int_equal(sth->n_cosignatures, 2);
    assert_int_equal(cosig_by(sth, &f->w[0])->timestamp, NOW + 20);
    assert_int_equal(cosig_by(sth, &f->w[1])->timestamp, NOW + 70);
    zb_tree_head hb = stored_head(f, b);
    for (size_t i = 0; i < sth->n_cosignatures; i++)
        assert_int_equal(zb_cosig_verify(sth->cosignatures[i], agg_pk(f), &hb), ZB_OK);
    zb__signed_tree_head__free_unpacked(sth, NULL);

    /* its neighbours carry none of them */
    sth = head_with(f, a);
    assert_int_equal(sth->n_cosignatures, 0);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_tlog_latest_head(zb_agg_tlog(f->agg), txn, &sth), ZB_OK);
    mdb_txn_abort(txn);
    assert_int_equal(size_of(f, sth), c);
    assert_int_equal(sth->n_cosignatures, 0);
    zb__signed_tree_head__free_unpacked(sth, NULL);

    /* the latest head, cosigned: latest_head carries it */
    cosign(f, c, &f->w[2], NOW + 90);
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), true, &txn), ZB_OK);
    assert_int_equal(zb_tlog_latest_head(zb_agg_tlog(f->agg), txn, &sth), ZB_OK);
    mdb_txn_abort(txn);
    assert_int_equal(size_of(f, sth), c);
    assert_int_equal(sth->n_cosignatures, 1);
    assert_int_equal(cosig_by(sth, &f->w[2])->timestamp, NOW + 90);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    sth = head_with(f, b); /* and b still only its two */
    assert_int_equal(sth->n_cosignatures, 2);
    assert_null(cosig_by(sth, &f->w[2]));
    zb__signed_tree_head__free_unpacked(sth, NULL);
}

/* ------------------------------------------------------------ looking up */

typedef struct {
    uint64_t sizes[8];
    size_t counts[8];
    size_t n;
    size_t stop_after; /* return 7 after this many (0: never) */
    fixture *f;
} walk;

static int walk_one(void *ctx, const Zb__SignedTreeHead *head)
{
    walk *w = ctx;
    assert_true(w->n < 8);
    w->sizes[w->n] = size_of(w->f, head);
    w->counts[w->n] = head->n_cosignatures;
    w->n++;
    return w->stop_after && w->n == w->stop_after ? 7 : 0;
}

/* Heads s1 < s2 < s3 < s4 < s5: s1 cosigned by w0; s2 by w0 and w1; s3
 * by none; s4 by w1 alone; s5 (the latest) by none. */
static void test_witnessed_lookups(void **state)
{
    fixture *f = *state;
    uint64_t s1 = grow(f, 3), s2 = grow(f, 2), s3 = grow(f, 2), s4 = grow(f, 4), s5 = grow(f, 1);
    cosign(f, s1, &f->w[0], NOW + 1000);
    cosign(f, s2, &f->w[1], NOW + 1200);
    cosign(f, s2, &f->w[0], NOW + 1100);
    cosign(f, s4, &f->w[1], NOW + 1300);
    zb_tlog *t = zb_agg_tlog(f->agg);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), true, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;

    /* witnessed_head(max): the newest head <= max with any cosignature */
    struct {
        uint64_t max, want; /* want 0: ZB_ENOTFOUND */
        size_t n_cosigs;
    } cases[] = {
        {UINT64_MAX, s4, 1}, {s5, s4, 1},     {s4, s4, 1}, {s4 - 1, s2, 2}, {s3, s2, 2},
        {s2, s2, 2},         {s2 - 1, s1, 1}, {s1, s1, 1}, {s1 - 1, 0, 0},  {0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = zb_tlog_witnessed_head(t, txn, cases[i].max, &sth);
        if (!cases[i].want) {
            assert_int_equal(rc, ZB_ENOTFOUND);
            assert_null(sth);
            continue;
        }
        assert_int_equal(rc, ZB_OK);
        assert_int_equal(size_of(f, sth), cases[i].want);
        assert_int_equal(sth->n_cosignatures, cases[i].n_cosigs);
        zb__signed_tree_head__free_unpacked(sth, NULL);
    }

    /* witnessed_head_min(max, 2): skips s4 (one cosignature) */
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, UINT64_MAX, 2, &sth), ZB_OK);
    assert_int_equal(size_of(f, sth), s2);
    assert_int_equal(sth->n_cosignatures, 2);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, s4, 2, &sth), ZB_OK);
    assert_int_equal(size_of(f, sth), s2);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, s2, 2, &sth), ZB_OK);
    assert_int_equal(size_of(f, sth), s2);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, s2 - 1, 2, &sth), ZB_ENOTFOUND);
    assert_null(sth);
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, UINT64_MAX, 3, &sth), ZB_ENOTFOUND);
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, UINT64_MAX, 1, &sth), ZB_OK);
    assert_int_equal(size_of(f, sth), s4);
    zb__signed_tree_head__free_unpacked(sth, NULL);

    /* cosigned_by: the newest head each witness cosigned, and when */
    uint64_t size = 0;
    int64_t at = 0;
    assert_int_equal(zb_tlog_cosigned_by(t, txn, f->w[0].pk, &size, &at), ZB_OK);
    assert_int_equal(size, s2);
    assert_int_equal(at, NOW + 1100);
    assert_int_equal(zb_tlog_cosigned_by(t, txn, f->w[1].pk, &size, &at), ZB_OK);
    assert_int_equal(size, s4);
    assert_int_equal(at, NOW + 1300);
    assert_int_equal(zb_tlog_cosigned_by(t, txn, f->w[2].pk, &size, &at), ZB_ENOTFOUND);

    /* witnessed_count: three heads, the newest s4 */
    uint64_t heads = 0, newest = 0;
    assert_int_equal(zb_tlog_witnessed_count(t, txn, &heads, &newest), ZB_OK);
    assert_int_equal(heads, 3);
    assert_int_equal(newest, s4);

    /* witnessed_heads: ascending, each once, with its cosignatures */
    walk w = {.f = f};
    assert_int_equal(zb_tlog_witnessed_heads(t, txn, walk_one, &w), ZB_OK);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.sizes[0], s1);
    assert_int_equal(w.counts[0], 1);
    assert_int_equal(w.sizes[1], s2);
    assert_int_equal(w.counts[1], 2);
    assert_int_equal(w.sizes[2], s4);
    assert_int_equal(w.counts[2], 1);
    /* a non-zero return stops the walk and is returned */
    w = (walk){.f = f, .stop_after = 2};
    assert_int_equal(zb_tlog_witnessed_heads(t, txn, walk_one, &w), 7);
    assert_int_equal(w.n, 2);
    mdb_txn_abort(txn);
}

/* witnessed_head_min looks at the count per head, not per witness key
 * order: a newer head with two cosignatures is found before an older one
 * with three. */
static void test_witnessed_min_newest(void **state)
{
    fixture *f = *state;
    uint64_t s1 = grow(f, 2), s2 = grow(f, 2), s3 = grow(f, 2);
    for (int i = 0; i < 3; i++)
        cosign(f, s1, &f->w[i], NOW + 100 + i);
    cosign(f, s2, &f->w[2], NOW + 200);
    cosign(f, s2, &f->w[0], NOW + 201);
    cosign(f, s3, &f->w[1], NOW + 300);
    zb_tlog *t = zb_agg_tlog(f->agg);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(zb_agg_store(f->agg), true, &txn), ZB_OK);
    Zb__SignedTreeHead *sth = NULL;
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, UINT64_MAX, 2, &sth), ZB_OK);
    assert_int_equal(size_of(f, sth), s2);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, UINT64_MAX, 3, &sth), ZB_OK);
    assert_int_equal(size_of(f, sth), s1);
    assert_int_equal(sth->n_cosignatures, 3);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    assert_int_equal(zb_tlog_witnessed_head_min(t, txn, s1 - 1, 1, &sth), ZB_ENOTFOUND);
    mdb_txn_abort(txn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_earliest_and_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witnessed_lookups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_witnessed_min_newest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
