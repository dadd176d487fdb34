/* store.c - see store.h. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "log.h"

struct zb_store {
    MDB_env *env;
    MDB_dbi dbi[ZB_STORE_MAX_DBS];
    size_t n_dbs;
    size_t map_size;
};

#define DEFAULT_MAP (1ull << 30)
#define MAX_MAP (1ull << 40)

int zb_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return ZB_OK;
    case MDB_NOTFOUND: return ZB_ENOTFOUND;
    case MDB_KEYEXIST: return ZB_EEXIST;
    case MDB_MAP_FULL: return ZB_EMAPFULL;
    case ENOENT: return ZB_ENOTFOUND;
    case ENOMEM: return ZB_ENOMEM;
    case EACCES: case EIO: case ENOSPC: return ZB_EIO;
    default: return ZB_ESTORE;
    }
}

int zb_store_open(zb_store **out, const char *dir, const char *const *dbs, size_t n_dbs,
                  size_t map_size, bool create, bool readonly)
{
    *out = NULL;
    if (n_dbs > ZB_STORE_MAX_DBS)
        return ZB_EINVAL;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (!create)
            return ZB_ENOTFOUND;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            zb_log_warn_errno("ZB-STORE-OPEN", "cannot create %s", dir);
            return ZB_EIO;
        }
    }
    char path[4096];
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return ZB_EINVAL;
    bool exists = stat(path, &st) == 0;
    if (!create && !exists)
        return ZB_ENOTFOUND;

    zb_store *s = calloc(1, sizeof *s);
    if (!s)
        return ZB_ENOMEM;
    s->map_size = map_size ? map_size : DEFAULT_MAP;
    int rc = mdb_env_create(&s->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(s->env, (MDB_dbi)ZB_STORE_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_set_maxreaders(s->env, 512);
    /* An existing store opens with the size recorded in its file (LMDB uses
     * it only when no size was set), then is raised to the request: a map
     * grown earlier, by us or another process, never shrinks on reopen. */
    if (rc == 0 && !exists)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (rc == 0)
        rc = mdb_env_open(s->env, dir, readonly ? MDB_RDONLY : 0, 0600);
    if (rc != 0) {
        ZB_ERR("ZB-STORE-OPEN", "cannot open store %s: %s", dir, mdb_strerror(rc));
        goto fail;
    }
    if (exists && (rc = mdb_env_set_mapsize(s->env, 0)) != 0) /* 0: adopt the file's size */
        goto fail;
    MDB_envinfo info;
    if ((rc = mdb_env_info(s->env, &info)) != 0)
        goto fail;
    if (info.me_mapsize >= s->map_size)
        s->map_size = info.me_mapsize;
    else if ((rc = mdb_env_set_mapsize(s->env, s->map_size)) != 0)
        goto fail;

    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        goto fail;
    for (size_t i = 0; i < n_dbs; i++) {
        rc = mdb_dbi_open(txn, dbs[i], readonly ? 0 : MDB_CREATE, &s->dbi[i]);
        if (rc == MDB_NOTFOUND && readonly) {
            /* a store of an older release: the caller may upgrade it */
            ZB_INFO("ZB-STORE-OPEN", "store %s: no database %s yet", dir, dbs[i]);
            mdb_txn_abort(txn);
            goto fail;
        }
        if (rc != 0) {
            ZB_ERR("ZB-STORE-OPEN", "store %s: database %s: %s", dir, dbs[i], mdb_strerror(rc));
            mdb_txn_abort(txn);
            goto fail;
        }
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0)
        goto fail;
    s->n_dbs = n_dbs;
    *out = s;
    return ZB_OK;
fail:
    if (s->env)
        mdb_env_close(s->env);
    free(s);
    return zb_mdb_err(rc) == ZB_ENOTFOUND ? ZB_ENOTFOUND : zb_mdb_err(rc);
}

void zb_store_close(zb_store **sp)
{
    if (!sp || !*sp)
        return;
    if ((*sp)->env)
        mdb_env_close((*sp)->env);
    free(*sp);
    *sp = NULL;
}

MDB_env *zb_store_env(zb_store *s) { return s->env; }

MDB_dbi zb_store_dbi(const zb_store *s, size_t index) { return s->dbi[index]; }

int zb_store_begin(zb_store *s, bool readonly, MDB_txn **txn)
{
    int rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, txn);
    if (rc == MDB_MAP_RESIZED) {
        /* another process grew the map: adopt its size and retry once */
        mdb_env_set_mapsize(s->env, 0);
        rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, txn);
    }
    if (rc != 0) {
        ZB_ERR("ZB-STORE-TXN", "cannot begin transaction: %s", mdb_strerror(rc));
        return zb_mdb_err(rc);
    }
    return ZB_OK;
}

int zb_store_commit(MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    if (rc != 0) {
        ZB_ERR("ZB-STORE-COMMIT", "commit failed: %s", mdb_strerror(rc));
        return zb_mdb_err(rc);
    }
    return ZB_OK;
}

int zb_store_grow(zb_store *s)
{
    if (s->map_size >= MAX_MAP)
        return ZB_EMAPFULL;
    size_t want = s->map_size > MAX_MAP / 2 ? MAX_MAP : s->map_size * 2;
    int rc = mdb_env_set_mapsize(s->env, want);
    if (rc != 0)
        return zb_mdb_err(rc);
    ZB_INFO("ZB-STORE-GROW", "map size grown to %zu KiB", want >> 10);
    s->map_size = want;
    return ZB_OK;
}

int zb_store_write(zb_store *s, int (*fn)(void *ctx, MDB_txn *txn), void *ctx)
{
    int rc;
    for (int attempt = 1;; attempt++) {
        MDB_txn *txn;
        if ((rc = zb_store_begin(s, false, &txn)))
            return rc;
        if ((rc = fn(ctx, txn)))
            mdb_txn_abort(txn);
        else
            rc = zb_store_commit(txn);
        if (rc != ZB_EMAPFULL || attempt >= ZB_STORE_WRITE_TRIES || zb_store_grow(s) != 0)
            return rc;
    }
}

static MDB_val key_of(const char *key) { return (MDB_val){strlen(key), (void *)key}; }

int zb_store_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v, uint64_t dflt)
{
    MDB_val k = key_of(key), d;
    *v = dflt;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc != 0)
        return zb_mdb_err(rc);
    if (d.mv_size != 8)
        return ZB_EDECODE;
    *v = zb_be64_get(d.mv_data);
    return ZB_OK;
}

int zb_store_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v)
{
    uint8_t buf[8];
    zb_be64_put(buf, v);
    return zb_store_put_bin(txn, dbi, key, buf, 8);
}

int zb_store_get_str(MDB_txn *txn, MDB_dbi dbi, const char *key, char *buf, size_t len)
{
    MDB_val k = key_of(key), d;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc != 0)
        return zb_mdb_err(rc);
    if (d.mv_size >= len)
        return ZB_ETOOBIG;
    memcpy(buf, d.mv_data, d.mv_size);
    buf[d.mv_size] = '\0';
    return ZB_OK;
}

int zb_store_put_str(MDB_txn *txn, MDB_dbi dbi, const char *key, const char *v)
{
    return zb_store_put_bin(txn, dbi, key, (const uint8_t *)v, strlen(v));
}

int zb_store_get_bin(MDB_txn *txn, MDB_dbi dbi, const char *key, uint8_t *buf, size_t len)
{
    MDB_val k = key_of(key), d;
    int rc = mdb_get(txn, dbi, &k, &d);
    if (rc != 0)
        return zb_mdb_err(rc);
    if (d.mv_size != len)
        return ZB_EDECODE;
    memcpy(buf, d.mv_data, len);
    return ZB_OK;
}

int zb_store_put_bin(MDB_txn *txn, MDB_dbi dbi, const char *key, const uint8_t *v, size_t len)
{
    MDB_val k = key_of(key), d = {len, (void *)v};
    return zb_mdb_err(mdb_put(txn, dbi, &k, &d, 0));
}
