/*
 * test_store.c - the LMDB wrapper: open/create/reopen, read-only opens,
 * the meta-style value helpers, map-full and growth, error translation.
 *
 * Stored bytes are checked with LMDB's own mdb_get against hand-written
 * big-endian encodings, not only through the helpers that wrote them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "store.h"

static const char *const dbs[] = {"meta", "data"};
#define DB_META 0
#define DB_DATA 1

/* ------------------------------------------------------------ helpers */

typedef struct {
    char root[512];  /* mkdtemp directory */
    char store[600]; /* root/store: created by zb_store_open */
} dirs;

static int setup_dirs(void **state)
{
    dirs *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(d->root, sizeof d->root, "%s/zb-test-store-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(d->root)) {
        free(d);
        return -1;
    }
    snprintf(d->store, sizeof d->store, "%s/store", d->root);
    *state = d;
    return 0;
}

static void remove_store_files(const char *dir)
{
    char p[700];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

static int teardown_dirs(void **state)
{
    dirs *d = *state;
    remove_store_files(d->store);
    int rc = rmdir(d->root);
    free(d);
    return rc == 0 ? 0 : -1;
}

static uint64_t map_size_of(zb_store *s)
{
    MDB_envinfo info;
    assert_int_equal(mdb_env_info(zb_store_env(s), &info), 0);
    return (uint64_t)info.me_mapsize;
}

/* ------------------------------------------------------------ tests */

static void test_mdb_err(void **state)
{
    (void)state;
    assert_int_equal(zb_mdb_err(MDB_SUCCESS), ZB_OK);
    assert_int_equal(zb_mdb_err(MDB_NOTFOUND), ZB_ENOTFOUND);
    assert_int_equal(zb_mdb_err(MDB_MAP_FULL), ZB_EMAPFULL);
    assert_int_equal(zb_mdb_err(MDB_KEYEXIST), ZB_EEXIST);
    /* any other LMDB failure is a store error */
    assert_int_equal(zb_mdb_err(MDB_CORRUPTED), ZB_ESTORE);
    assert_int_equal(zb_mdb_err(MDB_BAD_TXN), ZB_ESTORE);
    assert_int_equal(zb_mdb_err(MDB_DBS_FULL), ZB_ESTORE);
}

static void test_be64(void **state)
{
    (void)state;
    uint8_t b[8];
    zb_be64_put(b, 0x0102030405060708ull);
    static const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b, want, 8);
    assert_int_equal(zb_be64_get(want), 0x0102030405060708ull);
    zb_be64_put(b, UINT64_MAX);
    static const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_memory_equal(b, ff, 8);
    assert_true(zb_be64_get(ff) == UINT64_MAX);
    zb_be64_put(b, 0);
    static const uint8_t zero[8] = {0};
    assert_memory_equal(b, zero, 8);
}

static void test_put_commit_reopen(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    /* the directory does not exist yet: create makes it (mode 0700) */
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, true, false), ZB_OK);
    assert_non_null(s);
    struct stat st;
    assert_int_equal(stat(d->store, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0077, 0); /* nobody else may read it */
    assert_int_equal(map_size_of(s), 1ull << 30); /* 0 = 1 GiB */

    MDB_txn *txn;
    MDB_dbi meta = zb_store_dbi(s, DB_META), data = zb_store_dbi(s, DB_DATA);
    static const uint8_t hash[32] = {0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,  7,
                                     8,    9,    10,   11,   12, 13, 14, 15, 16, 17, 18,
                                     19,   20,   21,   22,   23, 24, 25, 26, 27, 0xff};
    assert_int_equal(zb_store_begin(s, false, &txn), ZB_OK);
    assert_int_equal(zb_store_put_u64(txn, meta, "last_seq", 12345), ZB_OK);
    assert_int_equal(zb_store_put_u64(txn, meta, "max", UINT64_MAX), ZB_OK);
    assert_int_equal(zb_store_put_str(txn, meta, "county", "222401"), ZB_OK);
    assert_int_equal(zb_store_put_str(txn, meta, "name", "延吉市"), ZB_OK);
    assert_int_equal(zb_store_put_str(txn, meta, "empty", ""), ZB_OK);
    assert_int_equal(zb_store_put_bin(txn, meta, "last_hash", hash, sizeof hash), ZB_OK);
    assert_int_equal(zb_store_put_u64(txn, data, "last_seq", 7), ZB_OK); /* other db */
    /* overwrite within the transaction: last write wins */
    assert_int_equal(zb_store_put_u64(txn, meta, "over", 1), ZB_OK);
    assert_int_equal(zb_store_put_u64(txn, meta, "over", 2), ZB_OK);
    assert_int_equal(zb_store_commit(txn), ZB_OK);

    /* an aborted transaction leaves nothing behind */
    assert_int_equal(zb_store_begin(s, false, &txn), ZB_OK);
    assert_int_equal(zb_store_put_u64(txn, meta, "aborted", 1), ZB_OK);
    mdb_txn_abort(txn);

    zb_store_close(&s);
    assert_null(s);
    zb_store_close(&s); /* idempotent */
    zb_store_close(NULL);

    for (int ro = 0; ro <= 1; ro++) {
        /* reopen without create, writable then read-only */
        assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, false, ro != 0), ZB_OK);
        meta = zb_store_dbi(s, DB_META);
        data = zb_store_dbi(s, DB_DATA);
        assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);

        uint64_t v = 0;
        assert_int_equal(zb_store_get_u64(txn, meta, "last_seq", &v, 99), ZB_OK);
        assert_int_equal(v, 12345);
        assert_int_equal(zb_store_get_u64(txn, meta, "max", &v, 0), ZB_OK);
        assert_true(v == UINT64_MAX);
        assert_int_equal(zb_store_get_u64(txn, meta, "over", &v, 0), ZB_OK);
        assert_int_equal(v, 2);
        assert_int_equal(zb_store_get_u64(txn, data, "last_seq", &v, 0), ZB_OK);
        assert_int_equal(v, 7);
        assert_int_equal(zb_store_get_u64(txn, meta, "aborted", &v, 42), ZB_ENOTFOUND);
        assert_int_equal(v, 42);

        /* the stored bytes: 8 big-endian bytes, hand-encoded 12345 = 0x3039 */
        MDB_val k = {8, "last_seq"}, val;
        assert_int_equal(mdb_get(txn, meta, &k, &val), 0);
        static const uint8_t be12345[8] = {0, 0, 0, 0, 0, 0, 0x30, 0x39};
        assert_int_equal(val.mv_size, 8);
        assert_memory_equal(val.mv_data, be12345, 8);
        /* strings are stored without their NUL */
        k = (MDB_val){6, "county"};
        assert_int_equal(mdb_get(txn, meta, &k, &val), 0);
        assert_int_equal(val.mv_size, 6);
        assert_memory_equal(val.mv_data, "222401", 6);

        char buf[64];
        assert_int_equal(zb_store_get_str(txn, meta, "county", buf, sizeof buf), ZB_OK);
        assert_string_equal(buf, "222401");
        assert_int_equal(zb_store_get_str(txn, meta, "name", buf, sizeof buf), ZB_OK);
        assert_string_equal(buf, "延吉市");
        assert_int_equal(zb_store_get_str(txn, meta, "empty", buf, sizeof buf), ZB_OK);
        assert_string_equal(buf, "");
        /* exactly room for the text and its NUL; one less is too small */
        assert_int_equal(zb_store_get_str(txn, meta, "county", buf, 7), ZB_OK);
        assert_string_equal(buf, "222401");
        assert_int_equal(zb_store_get_str(txn, meta, "county", buf, 6), ZB_ETOOBIG);
        assert_int_equal(zb_store_get_str(txn, meta, "nope", buf, sizeof buf), ZB_ENOTFOUND);

        uint8_t got[32];
        assert_int_equal(zb_store_get_bin(txn, meta, "last_hash", got, sizeof got), ZB_OK);
        assert_memory_equal(got, hash, sizeof hash);
        /* fixed length: stored length differs -> ZB_EDECODE */
        assert_int_equal(zb_store_get_bin(txn, meta, "last_hash", got, 31), ZB_EDECODE);
        assert_int_equal(zb_store_get_bin(txn, meta, "last_seq", got, 32), ZB_EDECODE);
        assert_int_equal(zb_store_get_bin(txn, meta, "nope", got, 32), ZB_ENOTFOUND);
        /* a 32-byte value read as a u64 */
        v = 5;
        assert_int_equal(zb_store_get_u64(txn, meta, "last_hash", &v, 77), ZB_EDECODE);
        assert_int_equal(v, 77);
        mdb_txn_abort(txn);

        if (ro) {
            /* no writes through a read-only open */
            txn = NULL;
            assert_int_not_equal(zb_store_begin(s, false, &txn), ZB_OK);
        }
        zb_store_close(&s);
    }
}

static void test_absent_and_missing(void **state)
{
    dirs *d = *state;
    zb_store *s = (zb_store *)1;

    /* no directory at all */
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, false, true), ZB_ENOTFOUND);
    assert_null(s);
    s = (zb_store *)1;
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, false, false), ZB_ENOTFOUND);
    assert_null(s);
    /* nothing was created by those attempts */
    struct stat st;
    assert_int_equal(stat(d->store, &st), -1);
    assert_int_equal(errno, ENOENT);

    /* a directory without a store in it */
    assert_int_equal(mkdir(d->store, 0700), 0);
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, false, true), ZB_ENOTFOUND);
    assert_null(s);
    char p[700];
    snprintf(p, sizeof p, "%s/data.mdb", d->store);
    assert_int_equal(stat(p, &st), -1);

    /* a store without the requested database, read-only */
    static const char *const meta_only[] = {"meta"};
    assert_int_equal(zb_store_open(&s, d->store, meta_only, 1, 0, true, false), ZB_OK);
    MDB_txn *txn;
    uint64_t v = 1;
    assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);
    assert_int_equal(zb_store_get_u64(txn, zb_store_dbi(s, 0), "last_seq", &v, 0), ZB_ENOTFOUND);
    assert_int_equal(v, 0);
    assert_int_equal(zb_store_get_u64(txn, zb_store_dbi(s, 0), "x", &v, 12345678901ull),
                     ZB_ENOTFOUND);
    assert_true(v == 12345678901ull);
    mdb_txn_abort(txn);
    zb_store_close(&s);
    s = (zb_store *)1;
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, false, true), ZB_ENOTFOUND);
    assert_null(s);

    /* too many databases */
    const char *many[ZB_STORE_MAX_DBS + 1];
    for (size_t i = 0; i < ZB_STORE_MAX_DBS + 1; i++)
        many[i] = "x";
    s = (zb_store *)1;
    assert_int_equal(zb_store_open(&s, d->store, many, ZB_STORE_MAX_DBS + 1, 0, true, false),
                     ZB_EINVAL);
    assert_null(s);
}

static void test_keyexist(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, true, false), ZB_OK);
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(s, false, &txn), ZB_OK);
    MDB_val k = {3, "key"}, v = {1, "a"};
    assert_int_equal(mdb_put(txn, zb_store_dbi(s, DB_DATA), &k, &v, MDB_NOOVERWRITE), 0);
    v = (MDB_val){1, "b"};
    int rc = mdb_put(txn, zb_store_dbi(s, DB_DATA), &k, &v, MDB_NOOVERWRITE);
    assert_int_equal(rc, MDB_KEYEXIST);
    assert_int_equal(zb_mdb_err(rc), ZB_EEXIST);
    /* a real MDB_NOTFOUND */
    MDB_val k2 = {4, "none"}, out;
    rc = mdb_get(txn, zb_store_dbi(s, DB_DATA), &k2, &out);
    assert_int_equal(rc, MDB_NOTFOUND);
    assert_int_equal(zb_mdb_err(rc), ZB_ENOTFOUND);
    mdb_txn_abort(txn);
    zb_store_close(&s);
}

/* Big-endian u64 keys iterate in numeric order. */
static void test_be64_key_order(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, 0, true, false), ZB_OK);
    MDB_dbi data = zb_store_dbi(s, DB_DATA);
    static const uint64_t seqs[] = {256, 1, 65536, 255, 1ull << 40, 2};
    static const uint64_t sorted[] = {1, 2, 255, 256, 65536, 1ull << 40};
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(s, false, &txn), ZB_OK);
    for (size_t i = 0; i < 6; i++) {
        uint8_t key[8];
        zb_be64_put(key, seqs[i]);
        MDB_val k = {8, key}, v = {0, ""};
        assert_int_equal(mdb_put(txn, data, &k, &v, 0), 0);
    }
    assert_int_equal(zb_store_commit(txn), ZB_OK);
    assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);
    MDB_cursor *cur;
    assert_int_equal(mdb_cursor_open(txn, data, &cur), 0);
    MDB_val k, v;
    size_t n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        assert_int_equal(k.mv_size, 8);
        assert_true(n < 6);
        assert_true(zb_be64_get(k.mv_data) == sorted[n]);
        n++;
    }
    assert_int_equal(n, 6);
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    zb_store_close(&s);
}

/* One transaction writing one 1000-byte value: 0, ZB_EMAPFULL from the
 * put or the commit. */
static int write_value(zb_store *s, unsigned i)
{
    char key[32];
    uint8_t val[1000];
    snprintf(key, sizeof key, "k%06u", i);
    memset(val, (int)(i & 0xff), sizeof val);
    MDB_txn *txn;
    int rc = zb_store_begin(s, false, &txn);
    if (rc)
        return rc;
    rc = zb_store_put_bin(txn, zb_store_dbi(s, DB_DATA), key, val, sizeof val);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    return zb_store_commit(txn);
}

static void check_values(zb_store *s, unsigned n)
{
    MDB_txn *txn;
    assert_int_equal(zb_store_begin(s, true, &txn), ZB_OK);
    for (unsigned i = 0; i < n; i++) {
        char key[32];
        uint8_t val[1000], want[1000];
        snprintf(key, sizeof key, "k%06u", i);
        memset(want, (int)(i & 0xff), sizeof want);
        assert_int_equal(zb_store_get_bin(txn, zb_store_dbi(s, DB_DATA), key, val, sizeof val),
                         ZB_OK);
        assert_memory_equal(val, want, sizeof want);
    }
    char key[32];
    uint8_t val[1000];
    snprintf(key, sizeof key, "k%06u", n);
    assert_int_equal(zb_store_get_bin(txn, zb_store_dbi(s, DB_DATA), key, val, sizeof val),
                     ZB_ENOTFOUND);
    mdb_txn_abort(txn);
}

/* zb_store_write's fn: put `count` values of 1000 bytes from `first` in
 * the caller's transaction; fail (after the puts) when fail is set. */
typedef struct {
    zb_store *s;
    unsigned first, count;
    int fail, calls;
} bulk;

static int bulk_fn(void *ctx, MDB_txn *txn)
{
    bulk *b = ctx;
    b->calls++;
    uint8_t val[1000];
    for (unsigned i = b->first; i < b->first + b->count; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%06u", i);
        memset(val, (int)(i & 0xff), sizeof val);
        int rc = zb_store_put_bin(txn, zb_store_dbi(b->s, DB_DATA), key, val, sizeof val);
        if (rc)
            return rc;
    }
    return b->fail;
}

/* All or nothing, and a full map grown and the whole write run again. */
static void test_write_grows_and_retries(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    const size_t tiny = 64 * 1024;
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, tiny, true, false), ZB_OK);
    bulk b = {s, 0, 10, 0, 0};
    assert_int_equal(zb_store_write(s, bulk_fn, &b), ZB_OK);
    assert_int_equal(b.calls, 1);
    check_values(s, 10);
    /* fn fails after its puts: nothing of it stays */
    b = (bulk){s, 10, 5, ZB_EINVAL, 0};
    assert_int_equal(zb_store_write(s, bulk_fn, &b), ZB_EINVAL);
    check_values(s, 10);
    /* 100 KB in one write cannot fit 64 KiB: grown (twice), run again, whole */
    b = (bulk){s, 10, 100, 0, 0};
    assert_int_equal(zb_store_write(s, bulk_fn, &b), ZB_OK);
    assert_true(b.calls >= 2 && b.calls <= ZB_STORE_WRITE_TRIES);
    assert_true(map_size_of(s) > tiny);
    check_values(s, 110);
    zb_store_close(&s);
}

static void test_map_full_and_grow(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    const size_t tiny = 64 * 1024;
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, tiny, true, false), ZB_OK);
    assert_int_equal(map_size_of(s), tiny);

    unsigned n = 0;
    int rc;
    while ((rc = write_value(s, n)) == ZB_OK) {
        n++;
        assert_true(n < 1000); /* 64 KiB cannot hold 1000 such values */
    }
    assert_int_equal(rc, ZB_EMAPFULL);
    assert_true(n > 0);
    check_values(s, n); /* the failed write left nothing and broke nothing */

    assert_int_equal(zb_store_grow(s), ZB_OK);
    assert_int_equal(map_size_of(s), 2 * tiny);
    assert_int_equal(write_value(s, n), ZB_OK); /* the retry succeeds */
    n++;
    check_values(s, n);

    /* keep going: every map-full is cured by growing */
    for (int grows = 0; grows < 3; grows++) {
        while ((rc = write_value(s, n)) == ZB_OK)
            n++;
        assert_int_equal(rc, ZB_EMAPFULL);
        assert_int_equal(zb_store_grow(s), ZB_OK);
        assert_int_equal(map_size_of(s), (uint64_t)tiny << (grows + 2));
        assert_int_equal(write_value(s, n), ZB_OK);
        n++;
    }
    check_values(s, n);
    zb_store_close(&s);

    /* reopened with the tiny size, the store keeps its data and the map is
     * at least what the data needs (the size of data.mdb) */
    char path[700];
    snprintf(path, sizeof path, "%s/data.mdb", d->store);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, tiny, false, true), ZB_OK);
    assert_true(map_size_of(s) > tiny);
    assert_true(map_size_of(s) >= (uint64_t)st.st_size);
    check_values(s, n);
    zb_store_close(&s);
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, tiny, false, false), ZB_OK);
    check_values(s, n);
    /* writable: a write succeeds, after at most one grow (see the note on
     * test_reopen_keeps_grown_map below) */
    rc = write_value(s, n);
    if (rc == ZB_EMAPFULL) {
        assert_int_equal(zb_store_grow(s), ZB_OK);
        rc = write_value(s, n);
    }
    assert_int_equal(rc, ZB_OK);
    check_values(s, n + 1);
    zb_store_close(&s);
}

/*
 * BUG (common/store.h vs common/store.c, zb_store_open): the header says the
 * map size "only grows", but a store grown with zb_store_grow and reopened
 * with the size originally asked for gets a map only as big as its used
 * pages (LMDB ignores the size recorded in the file whenever
 * mdb_env_set_mapsize was called, and store.c's "adopt it" check compares
 * against that already-shrunk value), so the first write after the reopen
 * fails with ZB_EMAPFULL. Observed: grown to 1 MiB, reopened with 64 KiB ->
 * map 520192 bytes, next commit ZB_EMAPFULL. Expected: map >= 1 MiB.
 * Fixed; the test guards it.
 */
static void test_reopen_keeps_grown_map(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    const size_t tiny = 64 * 1024;
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, tiny, true, false), ZB_OK);
    unsigned n = 0;
    int rc;
    for (int grows = 0; grows < 4;) {
        rc = write_value(s, n);
        if (rc == ZB_EMAPFULL) {
            assert_int_equal(zb_store_grow(s), ZB_OK);
            grows++;
        } else {
            assert_int_equal(rc, ZB_OK);
            n++;
        }
    }
    uint64_t grown = map_size_of(s);
    assert_int_equal(grown, (uint64_t)tiny << 4);
    /* as every caller does: the write that hit the limit is retried, and
     * that commit records the new size in the file */
    assert_int_equal(write_value(s, n++), ZB_OK);
    zb_store_close(&s);
    assert_int_equal(zb_store_open(&s, d->store, dbs, 2, tiny, false, false), ZB_OK);
    assert_true(map_size_of(s) >= grown);
    assert_int_equal(write_value(s, n), ZB_OK);
    zb_store_close(&s);
}

/* At the 1 TiB ceiling, growing refuses with ZB_EMAPFULL. (The map is
 * address space over a sparse file: nothing near 1 TiB is written.) */
static void test_grow_ceiling(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    const size_t tib = (size_t)1 << 40;
    if (zb_store_open(&s, d->store, dbs, 2, tib, true, false) != ZB_OK)
        skip(); /* no 1 TiB of address space here */
    assert_int_equal(map_size_of(s), tib);
    assert_int_equal(zb_store_grow(s), ZB_EMAPFULL);
    assert_int_equal(map_size_of(s), tib);
    zb_store_close(&s);
}

/*
 * BUG (common/store.c, zb_store_grow): the header promises "Double the map
 * size (up to 1 TiB)", but the doubling is not clamped: a store opened with
 * map_size 768 GiB grows to 1536 GiB (rc 0). Expected: at most 1 TiB
 * (either clamped to exactly 1 TiB, or ZB_EMAPFULL).
 */
static void test_grow_clamped(void **state)
{
    dirs *d = *state;
    zb_store *s = NULL;
    const size_t tib = (size_t)1 << 40;
    if (zb_store_open(&s, d->store, dbs, 2, tib / 4 * 3, true, false) != ZB_OK)
        skip();
    int rc = zb_store_grow(s);
    assert_true(rc == ZB_OK || rc == ZB_EMAPFULL);
    assert_true(map_size_of(s) <= tib);
    zb_store_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mdb_err),
        cmocka_unit_test(test_be64),
        cmocka_unit_test_setup_teardown(test_put_commit_reopen, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_absent_and_missing, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_keyexist, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_be64_key_order, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_map_full_and_grow, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_write_grows_and_retries, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_grow_ceiling, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_grown_map, setup_dirs, teardown_dirs),
        cmocka_unit_test_setup_teardown(test_grow_clamped, setup_dirs, teardown_dirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
