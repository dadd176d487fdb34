/*
 * node.c - see node.h.
 *
 * Why one file of about 1,500 lines: this is the node store's owner. The
 * record layouts of the node's LMDB (reports, receipts, accidents, periods,
 * tree heads and their proofs, meta) are written and read here and nowhere
 * else, so that changing a layout is a change to one translation unit with
 * its static helpers; the prefecture's messages are inbox.c's, the county's
 * keys (own_keys, key_events, meta key_request / key_alarm) keys.c's, and
 * the identity files (identity.key, and identity.key.new during a rotation)
 * this file's. Sections: create/open (an interrupted rotation finished),
 * files, submit, acks and receipts (tree heads, inclusion proofs of
 * version-1 and version-2 leaves, the tree-head file), walks, coverage and
 * verify_all.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "envelope.h"
#include "fileio.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "logleaf.h"
#include "merkle.h"
#include "timefmt.h"
#include "treehead.h"

struct zb_node {
    zb_store *store;
    zb_identity id; /* zero when opened read-only */
    bool has_identity;
    uint8_t agg_key[ZB_PK_LEN];
    char county[16];
    char *dir;         /* the node directory (owned) */
    int sync_lock_fd;  /* DIR/sync.lock, flock'ed by zb_node_lock_sync; -1 when not held */
};

/* Below this many bytes free in the node's file system, a failed write is
 * taken as a full disk (LMDB reports a short write as EIO). */
#define NEARLY_FULL_BYTES (1u << 20)

/* Whether the file system holding dir has (almost) no space left for us. */
static bool dir_nearly_full(const char *dir)
{
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return false;
    return (uint64_t)vfs.f_bavail * vfs.f_frsize < NEARLY_FULL_BYTES;
}

/* Translate what a write to this node's store gave (an MDB_* code or an
 * errno). LMDB reports a full file system as ENOSPC (EDQUOT over a quota)
 * or, when a write came back short, as EIO: an EIO with almost nothing
 * left free in the node's directory is a full disk too (ZB_ENOSPC). Pages
 * are written at commit, or earlier when a huge transaction spills. Logged
 * here at info level only: the caller tells the operator, in one line. */
static int node_write_err(zb_node *n, int rc, const char *what)
{
    if (rc == 0)
        return ZB_OK;
    if (rc != MDB_MAP_FULL) /* the caller grows the map and tries again */
        ZB_INFO("ZB-NODE-STORE", "county %s: %s in %s failed: %s", n->county, what, n->dir,
                mdb_strerror(rc));
    if (rc == ENOSPC || rc == EDQUOT || (rc == EIO && dir_nearly_full(n->dir)))
        return ZB_ENOSPC;
    return zb_mdb_err(rc);
}

/* Commit a write transaction of this node (gone either way). */
static int node_commit(zb_node *n, MDB_txn *txn)
{
    return node_write_err(n, mdb_txn_commit(txn), "commit");
}

static uint64_t extend_coverage(zb_node *n, MDB_txn *txn, uint64_t covered);

static const char *const node_dbs[NODE_DB_COUNT] = {
    "meta", "reports", "receipts", "accidents", "periods", "tree_heads", "head_proofs",
    "inbox", "reviews", "deadlines", "inbox_evidence", "own_keys", "key_events",
    "final_heads", "witnessed"};

static int key_path(const char *dir, char *buf, size_t len)
{
    return snprintf(buf, len, "%s/" ZB_IDENTITY_FILE, dir) >= (int)len ? ZB_EINVAL : ZB_OK;
}

/* The new identity of a rotation, between its commit and its rename. */
#define IDENTITY_NEW_FILE ZB_IDENTITY_FILE ".new"

static int staged_key_path(const char *dir, char *buf, size_t len)
{
    return snprintf(buf, len, "%s/" IDENTITY_NEW_FILE, dir) >= (int)len ? ZB_EINVAL : ZB_OK;
}

/* A rotation interrupted between its commit and the rename of its key
 * (zb_node_identity_adopt_): the store names the staged key; finish it.
 * A staged key the store does not name (a rotation that never committed)
 * is left alone: the next rotate-key removes it. */
static void finish_rotation(const char *dir, const uint8_t node_key[ZB_PK_LEN])
{
    char staged[4096], kp[4096];
    if (staged_key_path(dir, staged, sizeof staged) || key_path(dir, kp, sizeof kp) ||
        access(staged, F_OK) != 0)
        return;
    zb_identity id;
    if (zb_identity_load(staged, &id) != 0)
        return;
    bool named = memcmp(id.pk, node_key, ZB_PK_LEN) == 0;
    zb_identity_wipe(&id);
    if (!named)
        return;
    if (rename(staged, kp) != 0) {
        zb_log_warn_errno("ZB-NODE-KEY", "cannot finish the key rotation: rename %s", staged);
        return;
    }
    zb_fsync_dir_of(dir, true);
    ZB_WARN("ZB-NODE-KEY", "finished a key rotation that was interrupted: %s is the node's "
            "new key", kp);
}

int zb_node_create(const char *dir, const char *county, const char *endpoint,
                   const char *agg_key_hex, char pk_hex[2 * ZB_PK_LEN + 1])
{
    zb_identity id;
    zb_identity_generate(&id);
    int rc = zb_node_create_as(dir, county, endpoint, agg_key_hex, &id, pk_hex);
    zb_identity_wipe(&id);
    return rc;
}

int zb_node_create_as(const char *dir, const char *county, const char *endpoint,
                      const char *agg_key_hex, const zb_identity *given,
                      char pk_hex[2 * ZB_PK_LEN + 1])
{
    uint8_t agg_key[ZB_PK_LEN];
    if (!zb_county_code_valid(county))
        return ZB_EINVAL;
    if (zb_hex_decode(agg_key_hex, agg_key, sizeof agg_key) != 0)
        return ZB_EINVAL;
    if (strlen(endpoint) >= 256)
        return ZB_EINVAL;
    char kp[4096];
    if (key_path(dir, kp, sizeof kp))
        return ZB_EINVAL;
    struct stat st;
    if (stat(kp, &st) == 0)
        return ZB_EEXIST;

    zb_store *s = NULL;
    int rc = zb_store_open(&s, dir, node_dbs, NODE_DB_COUNT, 0, true, false);
    if (rc)
        return rc;
    zb_identity id = *given;
    MDB_txn *txn = NULL;
    rc = zb_store_begin(s, false, &txn);
    if (rc)
        goto out;
    MDB_dbi meta = zb_store_dbi(s, NODE_DB_META);
    uint64_t existing;
    if (zb_store_get_u64(txn, meta, "last_seq", &existing, 0) == 0) {
        mdb_txn_abort(txn);
        rc = ZB_EEXIST; /* a store without its key: never overwrite reports */
        goto out;
    }
    if ((rc = zb_store_put_str(txn, meta, "county", county)) ||
        (rc = zb_store_put_str(txn, meta, "endpoint", endpoint)) ||
        (rc = zb_store_put_bin(txn, meta, "aggregator_key", agg_key, ZB_PK_LEN)) ||
        (rc = zb_store_put_bin(txn, meta, "node_key", id.pk, ZB_PK_LEN)) ||
        (rc = zb_store_put_u64(txn, meta, "last_seq", 0)) ||
        (rc = zb_store_put_u64(txn, meta, "acked_seq", 0))) {
        mdb_txn_abort(txn);
        goto out;
    }
    uint8_t zero[ZB_SHA256_LEN] = {0};
    if ((rc = zb_store_put_bin(txn, meta, "last_hash", zero, sizeof zero))) {
        mdb_txn_abort(txn);
        goto out;
    }
    /* the key first: a crash between leaves a key and no store, which
     * init can be re-run over after removing the key by hand */
    if ((rc = zb_identity_save(kp, &id))) {
        mdb_txn_abort(txn);
        goto out;
    }
    if ((rc = zb_node_keys_create_(s, txn, dir, county, &id, (int64_t)time(NULL)))) {
        mdb_txn_abort(txn);
        unlink(kp);
        goto out;
    }
    if ((rc = zb_store_commit(txn))) {
        char rq[4096];
        if (snprintf(rq, sizeof rq, "%s/" ZB_NODE_KEY_REQUEST_FILE, dir) < (int)sizeof rq)
            unlink(rq);
        unlink(kp);
        goto out;
    }
    zb_hex_encode(id.pk, ZB_PK_LEN, pk_hex);
out:
    zb_identity_wipe(&id);
    zb_store_close(&s);
    return rc;
}

int zb_node_set_endpoint(const char *dir, const char *endpoint)
{
    if (!endpoint || !*endpoint || strlen(endpoint) >= 256)
        return ZB_EINVAL;
    zb_store *s = NULL;
    int rc = zb_store_open(&s, dir, node_dbs, NODE_DB_COUNT, 0, false, false);
    if (rc)
        return rc;
    MDB_txn *txn;
    if ((rc = zb_store_begin(s, false, &txn)) == 0) {
        if ((rc = zb_store_put_str(txn, zb_store_dbi(s, NODE_DB_META), "endpoint", endpoint)))
            mdb_txn_abort(txn);
        else
            rc = zb_store_commit(txn);
    }
    zb_store_close(&s);
    return rc;
}

int zb_node_resume(const char *dir, uint64_t resume_seq, const uint8_t resume_hash[ZB_SHA256_LEN])
{
    zb_store *s = NULL;
    int rc = zb_store_open(&s, dir, node_dbs, NODE_DB_COUNT, 0, false, false);
    if (rc)
        return rc;
    MDB_txn *txn;
    if ((rc = zb_store_begin(s, false, &txn)) == 0) {
        MDB_dbi meta = zb_store_dbi(s, NODE_DB_META);
        uint64_t last;
        if ((rc = zb_store_get_u64(txn, meta, "last_seq", &last, 0)) == 0 && last != 0)
            rc = ZB_EEXIST;
        /* seqs up to resume_seq were the predecessor's: acknowledged by
         * definition, with their receipts in the predecessor's store */
        if (rc == 0 && !(rc = zb_store_put_u64(txn, meta, "last_seq", resume_seq)) &&
            !(rc = zb_store_put_u64(txn, meta, "acked_seq", resume_seq)) &&
            !(rc = zb_store_put_u64(txn, meta, "resumed_after", resume_seq)))
            rc = zb_store_put_bin(txn, meta, "last_hash", resume_hash, ZB_SHA256_LEN);
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = zb_store_commit(txn);
    }
    zb_store_close(&s);
    return rc;
}

static int accident_put(MDB_txn *txn, MDB_dbi dbi, const char *id, uint64_t revision,
                        Zb__Stage stage);

#define RESUME_FILE_MAX (64u << 20) /* bytes */

/* One accident of a resume file into txn; problems are added to p. */
static void import_one(MDB_txn *txn, MDB_dbi dbi, const json_t *e, size_t i, zb_problems *p)
{
    const char *id = json_string_value(json_object_get(e, "accident_id"));
    const json_t *rev = json_object_get(e, "revision");
    const char *stage_s = json_string_value(json_object_get(e, "stage"));
    int stage = stage_s ? zb_stage_parse(stage_s) : 0;
    bool id_ok = id && zb_accident_id_valid(id);
    if (!id_ok)
        zb_problems_add(p, "accidents[%zu].accident_id: must be 1 to 64 of A-Z a-z 0-9 _ -", i);
    if (!json_is_integer(rev) || json_integer_value(rev) < 0 ||
        json_integer_value(rev) > UINT32_MAX)
        zb_problems_add(p, "accidents[%zu].revision: must be an integer 0..4294967295", i);
    if (!stage)
        zb_problems_add(p, "accidents[%zu].stage: must be initial, supplement, closing or "
                           "write_off", i);
    if (id_ok && json_is_integer(rev) && stage && p->n == 0) {
        int rc = accident_put(txn, dbi, id, (uint64_t)json_integer_value(rev), (Zb__Stage)stage);
        if (rc)
            zb_problems_add(p, "accidents[%zu]: cannot store: %s", i, zb_strerror(rc));
    }
}

int zb_node_import_accidents(const char *dir, const char *path, zb_problems *p)
{
    size_t len = 0;
    int err = 0;
    char *text = zb_read_file(path, RESUME_FILE_MAX, &len, &err);
    if (!text)
        return err == ZB_ETOOBIG ? ZB_ETOOBIG : ZB_EIO;
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!doc) {
        zb_problems_add(p, "(file): not valid JSON at line %d: %s", je.line, je.text);
        return ZB_EVALIDATION;
    }
    zb_store *s = NULL;
    int rc = zb_store_open(&s, dir, node_dbs, NODE_DB_COUNT, 0, false, false);
    MDB_txn *txn = NULL;
    if (rc == 0)
        rc = zb_store_begin(s, false, &txn);
    if (rc == 0) {
        MDB_dbi meta = zb_store_dbi(s, NODE_DB_META);
        char county[16] = "";
        uint64_t last = 0, resumed = 0;
        (void)zb_store_get_str(txn, meta, "county", county, sizeof county);
        (void)zb_store_get_u64(txn, meta, "last_seq", &last, 0);
        (void)zb_store_get_u64(txn, meta, "resumed_after", &resumed, 0);
        const json_t *fc = json_object_get(doc, "county"), *fa = json_object_get(doc, "after_seq"),
                     *list = json_object_get(doc, "accidents");
        if (last != resumed) {
            rc = ZB_EEXIST;
        } else {
            if (!json_is_string(fc) || strcmp(json_string_value(fc), county) != 0)
                zb_problems_add(p, "county: the file is for another county than this node's (%s)",
                                county);
            if (!json_is_integer(fa) || resumed == 0 ||
                (uint64_t)json_integer_value(fa) != resumed)
                zb_problems_add(p, "after_seq: must be this node's resume point (%" PRIu64 ")",
                                resumed);
            if (!json_is_array(list))
                zb_problems_add(p, "accidents: must be a list");
            size_t i;
            const json_t *e;
            json_array_foreach(p->n ? NULL : (json_t *)list, i, e)
                import_one(txn, zb_store_dbi(s, NODE_DB_ACCIDENTS), e, i, p);
            rc = p->n ? ZB_EVALIDATION : ZB_OK;
        }
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = zb_store_commit(txn);
    }
    zb_store_close(&s);
    json_decref(doc);
    return rc;
}

int zb_node_open(zb_node **out, const char *dir, bool readonly)
{
    *out = NULL;
    zb_node *n = calloc(1, sizeof *n);
    if (!n)
        return ZB_ENOMEM;
    n->sync_lock_fd = -1;
    if (!(n->dir = strdup(dir))) {
        free(n);
        return ZB_ENOMEM;
    }
    int rc = zb_store_open(&n->store, dir, node_dbs, NODE_DB_COUNT, 0, false, readonly);
    if (rc == ZB_ENOTFOUND && readonly && access(dir, W_OK) == 0) {
        /* a store of an older release, without the newer databases: a
         * writable open creates them (nothing else changes) */
        zb_store *up = NULL;
        if (zb_store_open(&up, dir, node_dbs, NODE_DB_COUNT, 0, false, false) == 0) {
            zb_store_close(&up);
            rc = zb_store_open(&n->store, dir, node_dbs, NODE_DB_COUNT, 0, false, readonly);
        }
    }
    if (rc)
        goto fail;
    MDB_txn *txn;
    if ((rc = zb_store_begin(n->store, true, &txn)))
        goto fail;
    MDB_dbi meta = zb_store_dbi(n->store, NODE_DB_META);
    rc = zb_store_get_str(txn, meta, "county", n->county, sizeof n->county);
    if (rc == 0)
        rc = zb_store_get_bin(txn, meta, "aggregator_key", n->agg_key, ZB_PK_LEN);
    uint8_t node_key[ZB_PK_LEN];
    if (rc == 0)
        rc = zb_store_get_bin(txn, meta, "node_key", node_key, ZB_PK_LEN);
    mdb_txn_abort(txn);
    if (rc) {
        rc = ZB_ECONFIG;
        goto fail;
    }
    if (!readonly) {
        finish_rotation(dir, node_key);
        if ((rc = zb_identity_load_dir(dir, node_key, &n->id)))
            goto fail;
        n->has_identity = true;
    }
    *out = n;
    return ZB_OK;
fail:
    zb_node_close(&n);
    return rc;
}

void zb_node_close(zb_node **np)
{
    if (!np || !*np)
        return;
    zb_store_close(&(*np)->store);
    zb_identity_wipe(&(*np)->id);
    if ((*np)->sync_lock_fd >= 0)
        close((*np)->sync_lock_fd); /* releases the flock */
    free((*np)->dir);
    free(*np);
    *np = NULL;
}

zb_store *zb_node_store(zb_node *n) { return n->store; }
const char *zb_node_county_(const zb_node *n) { return n->county; }
const char *zb_node_dir_(const zb_node *n) { return n->dir; }
int zb_node_commit_(zb_node *n, MDB_txn *txn) { return node_commit(n, txn); }
const zb_identity *zb_node_identity(const zb_node *n) { return n->has_identity ? &n->id : NULL; }
const uint8_t *zb_node_aggregator_key(const zb_node *n) { return n->agg_key; }

int zb_node_get_status(zb_node *n, zb_node_status *st)
{
    memset(st, 0, sizeof *st);
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, true, &txn);
    if (rc)
        return rc;
    MDB_dbi meta = zb_store_dbi(n->store, NODE_DB_META);
    snprintf(st->county, sizeof st->county, "%s", n->county);
    memcpy(st->agg_key, n->agg_key, ZB_PK_LEN);
    (void)zb_store_get_str(txn, meta, "endpoint", st->endpoint, sizeof st->endpoint);
    (void)zb_store_get_bin(txn, meta, "node_key", st->node_key, ZB_PK_LEN);
    (void)zb_store_get_u64(txn, meta, "last_seq", &st->stored, 0);
    (void)zb_store_get_u64(txn, meta, "acked_seq", &st->acked, 0);
    st->receipts = zb_node_receipted_seq(n, txn);
    st->tree_size = zb_node_tree_size(n, txn);
    (void)zb_store_get_u64(txn, meta, "server_errors", &st->server_errors, 0);
    (void)zb_store_get_u64(txn, meta, "inbox_last", &st->inbox, 0);
    mdb_txn_abort(txn);
    return ZB_OK;
}

int zb_node_count_server_error(zb_node *n)
{
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, false, &txn);
    if (rc)
        return rc;
    MDB_dbi meta = zb_store_dbi(n->store, NODE_DB_META);
    uint64_t count;
    rc = zb_store_get_u64(txn, meta, "server_errors", &count, 0);
    if ((rc == 0 || rc == ZB_ENOTFOUND) &&
        (rc = zb_store_put_u64(txn, meta, "server_errors", count + 1)) == 0)
        return node_commit(n, txn);
    mdb_txn_abort(txn);
    return rc;
}

int zb_node_lock_sync(zb_node *n, long *holder_pid)
{
    *holder_pid = 0;
    if (n->sync_lock_fd >= 0)
        return ZB_OK;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" ZB_NODE_SYNC_LOCK, n->dir) >= (int)sizeof path)
        return ZB_EINVAL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        zb_log_warn_errno("ZB-NODE-LOCK", "cannot open %s", path);
        return ZB_EIO;
    }
    /* flock, not a pid file alone: the kernel drops the lock when the
     * holder dies, however it dies (kill -9, power cut) */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK || e == EAGAIN) {
            char buf[32] = "";
            ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
            if (r > 0) {
                buf[r] = '\0';
                *holder_pid = strtol(buf, NULL, 10);
            }
            close(fd);
            return ZB_ELOCKED;
        }
        close(fd);
        errno = e;
        zb_log_warn_errno("ZB-NODE-LOCK", "cannot lock %s", path);
        return ZB_EIO;
    }
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len)
        ZB_DEBUG("ZB-NODE-LOCK", "cannot write the pid into %s", path); /* the lock holds */
    n->sync_lock_fd = fd;
    return ZB_OK;
}

int zb_node_identity_stage_(zb_node *n, const zb_identity *id)
{
    char staged[4096];
    if (staged_key_path(n->dir, staged, sizeof staged))
        return ZB_EINVAL;
    if (unlink(staged) != 0 && errno != ENOENT) { /* left by a rotation that never committed */
        zb_log_warn_errno("ZB-NODE-KEY", "cannot remove %s", staged);
        return ZB_EIO;
    }
    int rc = zb_identity_save(staged, id); /* 0600, fsync'ed */
    if (rc == 0)
        zb_fsync_dir_of(staged, false); /* the name too, before the commit names it */
    return rc == ZB_EEXIST ? ZB_EIO : rc;
}

void zb_node_identity_unstage_(zb_node *n)
{
    char staged[4096];
    if (staged_key_path(n->dir, staged, sizeof staged) == 0)
        unlink(staged);
}

int zb_node_identity_adopt_(zb_node *n, const zb_identity *id)
{
    char staged[4096], kp[4096];
    if (staged_key_path(n->dir, staged, sizeof staged) || key_path(n->dir, kp, sizeof kp))
        return ZB_EINVAL;
    /* in memory first: the store already names the new key */
    zb_identity_wipe(&n->id);
    n->id = *id;
    n->has_identity = true;
    if (rename(staged, kp) != 0) {
        zb_log_warn_errno("ZB-NODE-KEY", "cannot rename %s to %s (the next start finishes it)",
                          staged, kp);
        return ZB_EIO;
    }
    zb_fsync_dir_of(n->dir, true);
    return ZB_OK;
}

/* The accidents record (accident_id -> value): the last revision stored,
 * u64 BE (8 bytes, the layout of every earlier release), while the
 * accident is open; once a closing or write_off revision is stored, that
 * revision followed by the stage (1 byte, enum Stage): 9 bytes. Open
 * accidents thus keep a record an earlier binary still reads. */
#define ACCIDENT_REC_OPEN 8
#define ACCIDENT_REC_ENDED 9

/* *last = the last revision, *ended = CLOSING or WRITE_OFF when it ended
 * the accident, else STAGE_UNSPECIFIED. ZB_ENOTFOUND when the accident has
 * no record; ZB_EDECODE when the record is neither layout. */
static int accident_get(MDB_txn *txn, MDB_dbi dbi, const char *id, uint64_t *last,
                        Zb__Stage *ended)
{
    MDB_val k = {strlen(id), (void *)id}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return zb_mdb_err(rc);
    const uint8_t *b = v.mv_data;
    if (v.mv_size == ACCIDENT_REC_OPEN) {
        *ended = ZB__STAGE__STAGE_UNSPECIFIED;
    } else if (v.mv_size == ACCIDENT_REC_ENDED &&
               (b[8] == ZB__STAGE__CLOSING || b[8] == ZB__STAGE__WRITE_OFF)) {
        *ended = (Zb__Stage)b[8];
    } else {
        return ZB_EDECODE;
    }
    *last = zb_be64_get(b);
    return ZB_OK;
}

static int accident_put(MDB_txn *txn, MDB_dbi dbi, const char *id, uint64_t revision,
                        Zb__Stage stage)
{
    uint8_t rec[ACCIDENT_REC_ENDED];
    zb_be64_put(rec, revision);
    if (stage != ZB__STAGE__CLOSING && stage != ZB__STAGE__WRITE_OFF)
        return zb_store_put_bin(txn, dbi, id, rec, ACCIDENT_REC_OPEN);
    rec[8] = (uint8_t)stage;
    return zb_store_put_bin(txn, dbi, id, rec, ACCIDENT_REC_ENDED);
}

/* Node-state rules on top of the shared ones: an accident's revisions
 * follow one another (0, 1, 2...), and none follows a closing (结案) or a
 * write-off (核销). Updates the record inside txn. */
static int check_accident_revision(zb_node *n, MDB_txn *txn, const Zb__AccidentReport *a,
                                   const char *pre, zb_problems *p)
{
    if (!a->accident_id || !a->accident_id[0] || strlen(a->accident_id) > 64)
        return ZB_OK; /* already reported by validation */
    MDB_dbi dbi = zb_store_dbi(n->store, NODE_DB_ACCIDENTS);
    uint64_t last = 0;
    Zb__Stage ended = ZB__STAGE__STAGE_UNSPECIFIED;
    int rc = accident_get(txn, dbi, a->accident_id, &last, &ended);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    if (ended != ZB__STAGE__STAGE_UNSPECIFIED) {
        if (ended == ZB__STAGE__CLOSING) /* two sentences: each translated whole */
            zb_problems_add(p,
                            "%srevision: accident %s was closed at revision %" PRIu64
                            ": no revision may follow",
                            pre, a->accident_id, last);
        else
            zb_problems_add(p,
                            "%srevision: accident %s was written off at revision %" PRIu64
                            ": no revision may follow",
                            pre, a->accident_id, last);
        return ZB_OK;
    }
    uint64_t expected = rc == ZB_ENOTFOUND ? 0 : last + 1;
    if (a->revision != expected) {
        if (rc == ZB_ENOTFOUND)
            zb_problems_add(p,
                            "%srevision: %u does not follow: accident %s has no initial report "
                            "here (expected revision 0)",
                            pre, a->revision, a->accident_id);
        else
            zb_problems_add(p,
                            "%srevision: %u does not follow the last one for accident %s "
                            "(last stored revision %" PRIu64 ", expected %" PRIu64 ")",
                            pre, a->revision, a->accident_id, last, expected);
        return ZB_OK;
    }
    return accident_put(txn, dbi, a->accident_id, expected, zb_report_accident_stage(a));
}

static int bump_period(zb_node *n, MDB_txn *txn, const char *period)
{
    MDB_dbi dbi = zb_store_dbi(n->store, NODE_DB_PERIODS);
    uint64_t v;
    int rc = zb_store_get_u64(txn, dbi, period, &v, 0);
    if (rc && rc != ZB_ENOTFOUND)
        return rc;
    return zb_store_put_u64(txn, dbi, period, v + 1);
}

static int submit_once(zb_node *n, Zb__Report **reports, size_t count, int64_t now,
                       bool prefix_index, zb_problems *p, uint64_t *first, uint64_t *last)
{
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, false, &txn);
    if (rc)
        return rc;
    MDB_dbi meta = zb_store_dbi(n->store, NODE_DB_META);
    uint64_t seq;
    uint8_t prev[ZB_SHA256_LEN], node_key[ZB_PK_LEN];
    if ((rc = zb_store_get_u64(txn, meta, "last_seq", &seq, 0)) ||
        (rc = zb_store_get_bin(txn, meta, "last_hash", prev, sizeof prev)) ||
        (rc = zb_store_get_bin(txn, meta, "node_key", node_key, sizeof node_key)))
        goto fail;
    if (memcmp(node_key, n->id.pk, ZB_PK_LEN) != 0) {
        /* rotate-key ran since this handle was opened: signing with the
         * key it replaced would make reports the aggregator refuses */
        rc = ZB_ECONFIG;
        goto fail;
    }
    *first = seq + 1;
    size_t problems_before = p->n;
    for (size_t i = 0; i < count; i++) {
        char pre[32] = "";
        if (prefix_index)
            snprintf(pre, sizeof pre, "[%zu].", i);
        Zb__Report *r = reports[i];
        free(r->county);
        r->county = strdup(n->county);
        if (!r->county) {
            rc = ZB_ENOMEM;
            goto fail;
        }
        r->seq = ++seq;
        free(r->prev_hash.data);
        r->prev_hash.data = malloc(ZB_SHA256_LEN);
        if (!r->prev_hash.data) {
            rc = ZB_ENOMEM;
            goto fail;
        }
        memcpy(r->prev_hash.data, prev, ZB_SHA256_LEN);
        r->prev_hash.len = ZB_SHA256_LEN;
        r->created_at = now;
        zb_report_validate(r, pre, p);
        if (r->content_case == ZB__REPORT__CONTENT_ACCIDENT)
            rc = check_accident_revision(n, txn, r->accident, pre, p);
        else if (r->content_case == ZB__REPORT__CONTENT_MONTHLY && r->monthly->period)
            rc = bump_period(n, txn, r->monthly->period);
        if (rc)
            goto fail;
        if (p->n > problems_before)
            continue; /* keep validating the rest; nothing will be committed */

        size_t len = zb__report__get_packed_size(r); /* within its cap: validated */
        uint8_t *buf = malloc(len), *env = NULL;
        size_t env_len = 0;
        if (!buf) {
            rc = ZB_ENOMEM;
            goto fail;
        }
        zb__report__pack(r, buf);
        rc = zb_envelope_seal(buf, len, &n->id, &env, &env_len);
        zb_report_hash(buf, len, prev);
        free(buf);
        if (rc)
            goto fail;
        uint8_t key[8];
        zb_be64_put(key, seq);
        MDB_val k = {8, key}, v = {env_len, env};
        rc = node_write_err(
            n, mdb_put(txn, zb_store_dbi(n->store, NODE_DB_REPORTS), &k, &v, MDB_APPEND), "write");
        free(env);
        if (rc)
            goto fail;
    }
    if (p->n > problems_before) {
        mdb_txn_abort(txn);
        return ZB_EVALIDATION;
    }
    if ((rc = zb_store_put_u64(txn, meta, "last_seq", seq)) ||
        (rc = zb_store_put_bin(txn, meta, "last_hash", prev, sizeof prev)))
        goto fail;
    *last = seq;
    return node_commit(n, txn);
fail:
    mdb_txn_abort(txn);
    return rc;
}

int zb_node_submit(zb_node *n, Zb__Report **reports, size_t count, int64_t now, bool prefix_index,
                   zb_problems *problems, uint64_t *first_seq, uint64_t *last_seq)
{
    if (!n->has_identity)
        return ZB_EINVAL;
    for (int attempt = 0;; attempt++) {
        int rc = submit_once(n, reports, count, now, prefix_index, problems, first_seq, last_seq);
        if (rc != ZB_EMAPFULL || attempt >= 8)
            return rc;
        if ((rc = zb_store_grow(n->store)))
            return rc;
    }
}

int zb_node_get_envelope(zb_node *n, MDB_txn *txn, uint64_t seq, uint8_t **buf, size_t *len)
{
    uint8_t key[8];
    zb_be64_put(key, seq);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, zb_store_dbi(n->store, NODE_DB_REPORTS), &k, &v);
    if (rc)
        return zb_mdb_err(rc);
    *buf = malloc(v.mv_size);
    if (!*buf)
        return ZB_ENOMEM;
    memcpy(*buf, v.mv_data, v.mv_size);
    *len = v.mv_size;
    return ZB_OK;
}

/* Leaf entries of a receipt's batch root: SHA-256 of each report's bytes. */
static int batch_root(zb_node *n, MDB_txn *txn, uint64_t first, uint64_t last,
                      uint8_t root[ZB_HASH_LEN])
{
    if (last < first || last - first >= 1u << 20)
        return ZB_EDECODE;
    uint64_t count = last - first + 1;
    uint8_t(*leaves)[ZB_HASH_LEN] = malloc(count * ZB_HASH_LEN);
    if (!leaves)
        return ZB_ENOMEM;
    int rc = ZB_OK;
    MDB_dbi dbi = zb_store_dbi(n->store, NODE_DB_REPORTS);
    for (uint64_t s = first; s <= last && rc == 0; s++) {
        uint8_t key[8];
        zb_be64_put(key, s);
        MDB_val k = {8, key}, v;
        if ((rc = zb_mdb_err(mdb_get(txn, dbi, &k, &v))))
            break;
        Zb__Envelope *env = zb__envelope__unpack(NULL, v.mv_size, v.mv_data);
        if (!env) {
            rc = ZB_EDECODE;
            break;
        }
        uint8_t h[ZB_SHA256_LEN];
        zb_report_hash(env->report.data, env->report.len, h);
        zb_merkle_leaf_hash(h, sizeof h, leaves[s - first]);
        zb__envelope__free_unpacked(env, NULL);
    }
    if (rc == 0)
        zb_merkle_root_of_leaves((const uint8_t(*)[ZB_HASH_LEN])leaves, count, root);
    free(leaves);
    return rc;
}

/* The accepted head of this size, ZB_ENOTFOUND when none. */
static int stored_head(zb_node *n, MDB_txn *txn, uint64_t size, zb_tree_head *out)
{
    uint8_t key[8];
    zb_be64_put(key, size);
    MDB_val k = {8, key}, v;
    int rc = zb_mdb_err(mdb_get(txn, zb_store_dbi(n->store, NODE_DB_HEADS), &k, &v));
    if (rc)
        return rc;
    Zb__SignedTreeHead *sth = zb__signed_tree_head__unpack(NULL, v.mv_size, v.mv_data);
    if (!sth)
        return ZB_EDECODE;
    rc = zb_tree_head_verify(sth, n->agg_key, out);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    return rc;
}

/* Every report first..last is in the log under a head this node accepted. */
static int verify_log_proofs(zb_node *n, MDB_txn *txn, const Zb__BatchReceipt *br, uint64_t first,
                             uint64_t last)
{
    zb_tree_head head, accepted;
    if (!br->tree_head || zb_tree_head_verify(br->tree_head, n->agg_key, &head) != 0)
        return ZB_EBADSIG;
    if (stored_head(n, txn, head.size, &accepted) != 0 ||
        memcmp(accepted.root, head.root, ZB_HASH_LEN) != 0)
        return ZB_EBADSIG; /* a head this node never accepted */
    if (br->n_proofs != last - first + 1)
        return ZB_EBADSIG;
    uint8_t(*leaves)[ZB_HASH_LEN] = malloc((br->n_proofs ? br->n_proofs : 1) * ZB_HASH_LEN);
    if (!leaves)
        return ZB_ENOMEM;
    int rc = ZB_OK;
    for (size_t i = 0; i < br->n_proofs && rc == 0; i++) {
        const Zb__InclusionProof *p = br->proofs[i];
        if (!p || p->seq != first + i) {
            rc = ZB_EBADSIG;
            break;
        }
        uint8_t key[8];
        zb_be64_put(key, p->seq);
        MDB_val k = {8, key}, v;
        if ((rc = zb_mdb_err(mdb_get(txn, zb_store_dbi(n->store, NODE_DB_REPORTS), &k, &v))))
            break;
        /* a version-2 log holds the envelope inside a LogLeaf with its
         * receive time (leaf_time); a version-1 log the bare envelope */
        rc = zb_leaf_hash_envelope(v.mv_data, v.mv_size, p->has_leaf_time, p->leaf_time,
                                   leaves[i]);
    }
    /* a receipt's reports are neighbours in the log: their proofs share
     * their upper paths, checked once */
    if (rc == 0)
        rc = zb_inclusion_verify_many_pb(br->proofs, (const uint8_t(*)[ZB_HASH_LEN])leaves,
                                         br->n_proofs, &head);
    free(leaves);
    return rc;
}

bool zb_node_head_accepted_(zb_node *n, MDB_txn *txn, const zb_tree_head *head)
{
    zb_tree_head accepted;
    return stored_head(n, txn, head->size, &accepted) == 0 &&
           memcmp(accepted.root, head->root, ZB_HASH_LEN) == 0;
}

int zb_node_write_tree_head(zb_node *n, const char *path, uint64_t *size)
{
    *size = 0;
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, true, &txn);
    if (rc)
        return rc;
    MDB_cursor *cur;
    uint8_t *file = NULL;
    size_t len = 0;
    if ((rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(n->store, NODE_DB_HEADS), &cur)))) {
        mdb_txn_abort(txn);
        return rc;
    }
    MDB_val k, v;
    rc = zb_mdb_err(mdb_cursor_get(cur, &k, &v, MDB_LAST));
    if (rc == 0 && (k.mv_size != 8 || v.mv_size > UINT32_MAX))
        rc = ZB_ESTORE;
    const size_t magic = sizeof ZB_NODE_STH_MAGIC - 1;
    if (rc == 0 && !(file = malloc(magic + 4 + v.mv_size)))
        rc = ZB_ENOMEM;
    if (rc == 0) {
        /* stored as packed when accepted (zb__signed_tree_head__pack):
         * the very bytes zhibao-agg tree-head packs for this head */
        memcpy(file, ZB_NODE_STH_MAGIC, magic);
        zb_be32_put(file + magic, (uint32_t)v.mv_size);
        memcpy(file + magic + 4, v.mv_data, v.mv_size);
        len = magic + 4 + v.mv_size;
        *size = zb_be64_get(k.mv_data);
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc == 0)
        rc = zb_write_file_atomic(path, file, len, 0644);
    free(file);
    return rc;
}

uint64_t zb_node_tree_size(zb_node *n, MDB_txn *txn)
{
    MDB_cursor *cur;
    uint64_t size = 0;
    if (mdb_cursor_open(txn, zb_store_dbi(n->store, NODE_DB_HEADS), &cur) != 0)
        return 0;
    MDB_val k, v;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        size = zb_be64_get(k.mv_data);
    mdb_cursor_close(cur);
    return size;
}

/* The accepted heads nearest below and above size (size itself excluded),
 * for their timestamps; *has_* false when there is none. */
static void neighbour_heads(zb_node *n, MDB_txn *txn, uint64_t size, zb_tree_head *below,
                            bool *has_below, zb_tree_head *above, bool *has_above)
{
    *has_below = *has_above = false;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, zb_store_dbi(n->store, NODE_DB_HEADS), &cur) != 0)
        return;
    uint8_t key[8];
    zb_be64_put(key, size + 1);
    MDB_val k = {8, key}, v;
    int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (r == 0 && k.mv_size == 8)
        *has_above = stored_head(n, txn, zb_be64_get(k.mv_data), above) == 0;
    r = r == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (r == 0 && k.mv_size == 8 && zb_be64_get(k.mv_data) < size)
        *has_below = stored_head(n, txn, zb_be64_get(k.mv_data), below) == 0;
    mdb_cursor_close(cur);
}

/* Log ZB-SYNC-CLOCK when head `later` (the larger log) is dated before
 * head `earlier`: the aggregator's clock went back (it ran ahead, then was
 * corrected). The log itself is consistent, so the head is still accepted;
 * zb_node_verify_all reports it as a finding. */
static void warn_clock(const zb_node *n, const zb_tree_head *earlier, const zb_tree_head *later)
{
    if (later->timestamp >= earlier->timestamp)
        return;
    char t_earlier[40] = "?", t_later[40] = "?";
    (void)zb_time_format(earlier->timestamp, ZB_CST_OFFSET_MIN, 0, t_earlier, sizeof t_earlier);
    (void)zb_time_format(later->timestamp, ZB_CST_OFFSET_MIN, 0, t_later, sizeof t_later);
    ZB_WARN("ZB-SYNC-CLOCK",
            "county %s: the aggregator's tree head of size %" PRIu64 " is dated %s, before "
            "its head of size %" PRIu64 " dated %s: the aggregator's clock went back; the log "
            "is still consistent (accepted): ask the prefecture to check its clock",
            n->county, later->size, t_later, earlier->size, t_earlier);
}

/* Accept a new tree head: the first on trust (a node meets its aggregator
 * once, at init, with the key it was given); later ones only when a
 * consistency proof from an accepted head proves the log only grew. */
static int accept_head(zb_node *n, MDB_txn *txn, const Zb__SignedTreeHead *sth,
                       const Zb__ConsistencyProof *cp)
{
    zb_tree_head head, known;
    int rc = zb_tree_head_verify(sth, n->agg_key, &head);
    if (rc)
        return rc;
    if (stored_head(n, txn, head.size, &known) == 0)
        return memcmp(known.root, head.root, ZB_HASH_LEN) == 0 ? ZB_OK : ZB_EBADSIG;
    uint64_t newest = zb_node_tree_size(n, txn);
    uint8_t *proof_bytes = NULL;
    size_t proof_len = 0;
    if (newest > 0) {
        zb_tree_head old;
        if (!cp || cp->new_size != head.size || stored_head(n, txn, cp->old_size, &old) != 0)
            return ZB_ENOTFOUND; /* cannot check it yet: do not accept */
        if (zb_consistency_verify_pb(cp, &old, &head) != 0) {
            ZB_ERR("ZB-SYNC-FORK",
                   "county %s: aggregator's tree head of size %" PRIu64
                   " is NOT consistent with the head of size %" PRIu64
                   " it signed before: the log was rewritten; keep this node's store as evidence",
                   n->county, head.size, old.size);
            return ZB_EBADSIG;
        }
        proof_len = zb__consistency_proof__get_packed_size(cp);
        if (!(proof_bytes = malloc(proof_len)))
            return ZB_ENOMEM;
        zb__consistency_proof__pack(cp, proof_bytes);
    }
    zb_tree_head below, above;
    bool has_below, has_above;
    neighbour_heads(n, txn, head.size, &below, &has_below, &above, &has_above);
    if (has_below)
        warn_clock(n, &below, &head);
    if (has_above)
        warn_clock(n, &head, &above);
    uint8_t key[8];
    zb_be64_put(key, head.size);
    size_t len = zb__signed_tree_head__get_packed_size(sth);
    MDB_val k = {8, key}, v = {len, NULL};
    rc = zb_mdb_err(mdb_put(txn, zb_store_dbi(n->store, NODE_DB_HEADS), &k, &v, MDB_RESERVE));
    if (rc == 0)
        zb__signed_tree_head__pack(sth, v.mv_data);
    if (rc == 0 && proof_bytes) {
        MDB_val pv = {proof_len, proof_bytes};
        rc = zb_mdb_err(mdb_put(txn, zb_store_dbi(n->store, NODE_DB_HEAD_PROOFS), &k, &pv, 0));
    }
    free(proof_bytes);
    return rc;
}

int zb_node_verify_receipt(zb_node *n, MDB_txn *txn, const uint8_t *receipt, size_t len,
                           uint64_t *first, uint64_t *last, int64_t *received_at)
{
    Zb__BatchReceipt *br = zb__batch_receipt__unpack(NULL, len, receipt);
    if (!br)
        return ZB_EDECODE;
    int rc = ZB_EBADSIG;
    Zb__ReceiptStatement *s = NULL;
    if (br->signature.len != ZB_SIG_LEN)
        goto out;
    if (zb_verify_tagged(ZB_TAG_RECEIPT, br->statement.data, br->statement.len,
                         br->signature.data, n->agg_key) != 0)
        goto out;
    s = zb__receipt_statement__unpack(NULL, br->statement.len, br->statement.data);
    if (!s) {
        rc = ZB_EDECODE;
        goto out;
    }
    if (strcmp(s->county, n->county) != 0 || s->batch_root.len != ZB_HASH_LEN ||
        s->aggregator.len != ZB_PK_LEN || memcmp(s->aggregator.data, n->agg_key, ZB_PK_LEN) != 0)
        goto out;
    uint8_t root[ZB_HASH_LEN];
    if ((rc = batch_root(n, txn, s->first_seq, s->last_seq, root)))
        goto out;
    if (memcmp(root, s->batch_root.data, ZB_HASH_LEN) != 0) {
        rc = ZB_EBADSIG;
        goto out;
    }
    if ((rc = verify_log_proofs(n, txn, br, s->first_seq, s->last_seq)))
        goto out;
    *first = s->first_seq;
    *last = s->last_seq;
    *received_at = s->received_at;
out:
    if (s)
        zb__receipt_statement__free_unpacked(s, NULL);
    zb__batch_receipt__free_unpacked(br, NULL);
    return rc;
}

int zb_node_record_ack(zb_node *n, uint64_t acked_seq, Zb__BatchReceipt *const *receipts,
                       size_t n_receipts, const Zb__SignedTreeHead *head,
                       const Zb__ConsistencyProof *consistency)
{
    if (!head && n_receipts > 0)
        head = receipts[0]->tree_head;
    for (int attempt = 0;; attempt++) {
        MDB_txn *txn;
        int rc = zb_store_begin(n->store, false, &txn);
        if (rc)
            return rc;
        MDB_dbi meta = zb_store_dbi(n->store, NODE_DB_META);
        uint64_t acked, stored;
        if ((rc = zb_store_get_u64(txn, meta, "acked_seq", &acked, 0)) ||
            (rc = zb_store_get_u64(txn, meta, "last_seq", &stored, 0)))
            goto fail;
        if (acked_seq > stored) {
            /* the aggregator claims reports this node never made: the
             * store was replaced or the aggregator is wrong; keep ours */
            ZB_ERR("ZB-SYNC-AHEAD",
                   "aggregator acknowledges seq %" PRIu64 " but this node stored only %" PRIu64,
                   acked_seq, stored);
            acked_seq = stored;
        }
        if (acked_seq > acked && (rc = zb_store_put_u64(txn, meta, "acked_seq", acked_seq)))
            goto fail;
        bool head_ok = true;
        if (head) {
            int hr = accept_head(n, txn, head, consistency);
            if (hr == ZB_EMAPFULL || hr == ZB_ENOMEM || hr == ZB_ESTORE) {
                rc = hr;
                goto fail;
            }
            head_ok = hr == 0;
            /* ZB_ENOTFOUND: no proof yet from a head we hold (an Ack for a
             * batch sent before our first head): the receipts come again,
             * with a proof, after the next Hello */
            if (hr == ZB_ENOTFOUND)
                ZB_DEBUG("ZB-SYNC-HEAD", "county %s: tree head without a usable consistency "
                         "proof: receipts deferred", n->county);
            else if (hr)
                ZB_ERR("ZB-SYNC-HEAD", "county %s: tree head refused (%s)", n->county,
                       zb_strerror(hr));
        }
        for (size_t i = 0; head_ok && i < n_receipts; i++) {
            size_t len = zb__batch_receipt__get_packed_size(receipts[i]);
            uint8_t *buf = malloc(len);
            if (!buf) {
                rc = ZB_ENOMEM;
                goto fail;
            }
            zb__batch_receipt__pack(receipts[i], buf);
            uint64_t first, last;
            int64_t at;
            int vr = zb_node_verify_receipt(n, txn, buf, len, &first, &last, &at);
            if (vr != 0) {
                ZB_ERR("ZB-SYNC-BADRECEIPT", "county %s: receipt does not verify (%s): dropped",
                       n->county, zb_strerror(vr));
                free(buf);
                continue;
            }
            uint8_t key[8];
            zb_be64_put(key, first);
            MDB_val k = {8, key}, v = {len, buf};
            rc = zb_mdb_err(mdb_put(txn, zb_store_dbi(n->store, NODE_DB_RECEIPTS), &k, &v, 0));
            free(buf);
            if (rc)
                goto fail;
        }
        uint64_t covered = zb_node_receipted_seq(n, txn);
        uint64_t extended = extend_coverage(n, txn, covered);
        if (extended != covered &&
            (rc = zb_store_put_u64(txn, meta, "receipted_seq", extended)))
            goto fail;
        rc = node_commit(n, txn);
        if (rc != ZB_EMAPFULL || attempt >= 8)
            return rc;
        if ((rc = zb_store_grow(n->store)))
            return rc;
        continue;
    fail:
        mdb_txn_abort(txn);
        if (rc != ZB_EMAPFULL || attempt >= 8)
            return rc;
        if ((rc = zb_store_grow(n->store)))
            return rc;
    }
}

int zb_node_find_receipt(zb_node *n, MDB_txn *txn, uint64_t seq, uint8_t **buf, size_t *len)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, zb_store_dbi(n->store, NODE_DB_RECEIPTS), &cur);
    if (rc)
        return zb_mdb_err(rc);
    uint8_t key[8];
    zb_be64_put(key, seq);
    MDB_val k = {8, key}, v;
    /* the receipt with the greatest first_seq <= seq */
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && zb_be64_get(k.mv_data) != seq)
        rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == 0) {
        Zb__BatchReceipt *br = zb__batch_receipt__unpack(NULL, v.mv_size, v.mv_data);
        Zb__ReceiptStatement *s =
            br ? zb__receipt_statement__unpack(NULL, br->statement.len, br->statement.data) : NULL;
        if (!s || seq < s->first_seq || seq > s->last_seq) {
            rc = MDB_NOTFOUND;
        } else if ((*buf = malloc(v.mv_size)) == NULL) {
            rc = ENOMEM;
        } else {
            memcpy(*buf, v.mv_data, v.mv_size);
            *len = v.mv_size;
        }
        if (s)
            zb__receipt_statement__free_unpacked(s, NULL);
        if (br)
            zb__batch_receipt__free_unpacked(br, NULL);
    }
    mdb_cursor_close(cur);
    return zb_mdb_err(rc);
}

/* ---------------------------------------------------------------- walks */

/* The receipt a walk verified last: the reports it covers are walked one
 * after another, so each receipt is found and verified once per walk, not
 * once per report (its batch root and proofs cost O(batch) each time). */
typedef struct {
    bool valid;      /* first..last is known */
    uint64_t first, last;
    int verify;      /* what zb_node_verify_receipt gave */
    int64_t received_at;
} receipt_memo;

/* r->sync and r->received_at for r->seq, given acked_seq read in txn;
 * memo (may be NULL) carries the last receipt verified. */
static void fill_sync_state(zb_node *n, MDB_txn *txn, uint64_t acked, zb_node_report *r,
                            receipt_memo *memo)
{
    r->sync = r->seq <= acked ? ZB_NODE_ACKED : ZB_NODE_PENDING;
    r->received_at = 0;
    if (r->seq > acked)
        return;
    if (!memo || !memo->valid || r->seq < memo->first || r->seq > memo->last) {
        uint8_t *rb;
        size_t rl;
        if (zb_node_find_receipt(n, txn, r->seq, &rb, &rl) != 0)
            return;
        receipt_memo m = {.valid = true};
        m.verify = zb_node_verify_receipt(n, txn, rb, rl, &m.first, &m.last, &m.received_at);
        if (m.verify != 0) { /* what it claims to cover, to remember the verdict by */
            Zb__BatchReceipt *br = zb__batch_receipt__unpack(NULL, rl, rb);
            Zb__ReceiptStatement *st =
                br ? zb__receipt_statement__unpack(NULL, br->statement.len, br->statement.data)
                   : NULL;
            m.valid = st && st->first_seq <= r->seq && r->seq <= st->last_seq;
            if (m.valid) {
                m.first = st->first_seq;
                m.last = st->last_seq;
            }
            if (st)
                zb__receipt_statement__free_unpacked(st, NULL);
            if (br)
                zb__batch_receipt__free_unpacked(br, NULL);
        }
        free(rb);
        if (!m.valid) {
            r->sync = ZB_NODE_RECEIPT_INVALID;
            return;
        }
        if (!memo) {
            r->sync = m.verify == 0 ? ZB_NODE_RECEIPTED : ZB_NODE_RECEIPT_INVALID;
            r->received_at = m.verify == 0 ? m.received_at : 0;
            return;
        }
        *memo = m;
    }
    if (memo->verify == 0) {
        r->sync = ZB_NODE_RECEIPTED;
        r->received_at = memo->received_at;
    } else {
        r->sync = ZB_NODE_RECEIPT_INVALID;
    }
}

/* Call visit for every record of database db (u64 BE keys) from key from
 * on, inside txn; stops at visit's first non-zero value and returns it. */
typedef int (*record_fn)(zb_node *n, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                         void *walk);

static int walk_db(zb_node *n, MDB_txn *txn, size_t db, uint64_t from, record_fn visit,
                   void *walk)
{
    MDB_cursor *cur;
    int rc = zb_mdb_err(mdb_cursor_open(txn, zb_store_dbi(n->store, db), &cur));
    if (rc)
        return rc;
    uint8_t start[8];
    zb_be64_put(start, from);
    MDB_val k = {8, start}, v;
    int r;
    for (r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); r == 0 && rc == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        rc = k.mv_size == 8 ? visit(n, txn, &k, &v, walk) : ZB_ESTORE; /* not a key we write */
    if (rc == 0 && r != MDB_NOTFOUND)
        rc = zb_mdb_err(r);
    mdb_cursor_close(cur);
    return rc;
}

typedef struct {
    unsigned flags;
    uint64_t acked; /* acked_seq in the walk's transaction */
    zb_node_report_fn fn;
    void *ctx;
    receipt_memo memo;
} report_walk;

/* Hand one stored report to the caller's fn, with its sync state when asked. */
static int visit_report(zb_node *n, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                        void *walk)
{
    report_walk *w = walk;
    zb_node_report rep = {.seq = zb_be64_get(k->mv_data), .envelope = v->mv_data,
                          .envelope_len = v->mv_size, .sync = ZB_NODE_PENDING};
    if (w->flags & ZB_NODE_WITH_SYNC_STATE)
        fill_sync_state(n, txn, w->acked, &rep, &w->memo);
    if (w->flags & ZB_NODE_WITH_REVIEW)
        rep.review = zb_node_review_in_(n, txn, rep.seq);
    return w->fn(w->ctx, &rep);
}

static uint64_t acked_in(zb_node *n, MDB_txn *txn)
{
    uint64_t acked = 0;
    (void)zb_store_get_u64(txn, zb_store_dbi(n->store, NODE_DB_META), "acked_seq", &acked, 0);
    return acked;
}

int zb_node_each_report(zb_node *n, uint64_t from_seq, unsigned flags, zb_node_report_fn fn,
                        void *ctx)
{
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, true, &txn);
    if (rc)
        return rc;
    report_walk w = {.flags = flags, .acked = acked_in(n, txn), .fn = fn, .ctx = ctx};
    if ((flags & ZB_NODE_FROM_UNACKED) && from_seq <= w.acked)
        from_seq = w.acked + 1;
    rc = walk_db(n, txn, NODE_DB_REPORTS, from_seq, visit_report, &w);
    mdb_txn_abort(txn);
    return rc;
}

int zb_node_get_report(zb_node *n, uint64_t seq, unsigned flags, zb_node_report_fn fn,
                       void *ctx)
{
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, true, &txn);
    if (rc)
        return rc;
    uint8_t key[8];
    zb_be64_put(key, seq);
    MDB_val k = {8, key}, v;
    rc = zb_mdb_err(mdb_get(txn, zb_store_dbi(n->store, NODE_DB_REPORTS), &k, &v));
    if (rc == 0) {
        report_walk w = {.flags = flags & (ZB_NODE_WITH_SYNC_STATE | ZB_NODE_WITH_REVIEW),
                         .acked = acked_in(n, txn), .fn = fn, .ctx = ctx};
        rc = visit_report(n, txn, &k, &v, &w);
    }
    mdb_txn_abort(txn);
    return rc;
}

typedef struct {
    zb_node_receipt_fn fn;
    void *ctx;
} receipt_walk;

/* Re-verify one stored receipt and hand it to the caller's fn. */
/* The size of the tree head a stored receipt's proofs are against (0: none,
 * or one that does not verify). */
static uint64_t receipt_head_size(zb_node *n, const Zb__BatchReceipt *br)
{
    zb_tree_head h;
    return br && br->tree_head && zb_tree_head_verify(br->tree_head, n->agg_key, &h) == 0 ? h.size
                                                                                         : 0;
}

static int visit_receipt(zb_node *n, MDB_txn *txn, const MDB_val *k, const MDB_val *v,
                         void *walk)
{
    (void)k;
    const receipt_walk *w = walk;
    zb_node_receipt rec = {.receipt = v->mv_data, .receipt_len = v->mv_size};
    uint64_t first = 0, last = 0;
    int64_t at = 0;
    rec.verify = zb_node_verify_receipt(n, txn, v->mv_data, v->mv_size, &first, &last, &at);
    if (rec.verify == 0) {
        rec.first_seq = first;
        rec.last_seq = last;
        rec.received_at = at;
    }
    Zb__BatchReceipt *br = zb__batch_receipt__unpack(NULL, v->mv_size, v->mv_data);
    if (br && br->signature.len == ZB_SIG_LEN) {
        memcpy(rec.signature, br->signature.data, ZB_SIG_LEN);
        rec.has_signature = true;
    }
    rec.head_size = receipt_head_size(n, br);
    rec.witnessed = rec.head_size > 0 && zb_node_head_final(n, txn, rec.head_size);
    if (br)
        zb__batch_receipt__free_unpacked(br, NULL);
    return w->fn(w->ctx, &rec);
}

int zb_node_each_receipt(zb_node *n, zb_node_receipt_fn fn, void *ctx)
{
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, true, &txn);
    if (rc)
        return rc;
    receipt_walk w = {.fn = fn, .ctx = ctx};
    rc = walk_db(n, txn, NODE_DB_RECEIPTS, 0, visit_receipt, &w);
    mdb_txn_abort(txn);
    return rc;
}

/* Extend coverage from `covered` through receipts stored in txn. Receipts
 * are keyed by first_seq and normally follow one another, so this reads
 * only the receipts past `covered` (a hole stops it). */
static uint64_t extend_coverage(zb_node *n, MDB_txn *txn, uint64_t covered)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, zb_store_dbi(n->store, NODE_DB_RECEIPTS), &cur) != 0)
        return covered;
    for (;;) {
        /* the receipt with the greatest first_seq <= covered + 1 */
        uint8_t key[8];
        zb_be64_put(key, covered + 1);
        MDB_val k = {8, key}, v;
        int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (r == 0 && zb_be64_get(k.mv_data) != covered + 1)
            r = mdb_cursor_get(cur, &k, &v, MDB_PREV);
        else if (r == MDB_NOTFOUND)
            r = mdb_cursor_get(cur, &k, &v, MDB_LAST);
        if (r != 0)
            break;
        Zb__BatchReceipt *br = zb__batch_receipt__unpack(NULL, v.mv_size, v.mv_data);
        Zb__ReceiptStatement *s =
            br ? zb__receipt_statement__unpack(NULL, br->statement.len, br->statement.data) : NULL;
        uint64_t last = s && s->first_seq <= covered + 1 ? s->last_seq : 0;
        if (s)
            zb__receipt_statement__free_unpacked(s, NULL);
        if (br)
            zb__batch_receipt__free_unpacked(br, NULL);
        if (last <= covered)
            break;
        covered = last;
    }
    mdb_cursor_close(cur);
    return covered;
}

uint64_t zb_node_receipted_seq(zb_node *n, MDB_txn *txn)
{
    MDB_dbi meta = zb_store_dbi(n->store, NODE_DB_META);
    uint64_t covered = 0;
    /* kept by zb_node_record_ack; a replacement node starts after its
     * predecessor's reports */
    if (zb_store_get_u64(txn, meta, "receipted_seq", &covered, 0) != 0)
        (void)zb_store_get_u64(txn, meta, "resumed_after", &covered, 0);
    return covered;
}

/* A finding, in the chosen language (i18n.h: the format is the msgid,
 * po/zh_CN/node.po); verify-receipts shows them to a person. */
#define FINDING(fmt, ...)                                                                          \
    do {                                                                                           \
        char line_[768];                                                                           \
        snprintf(line_, sizeof line_, _(fmt), __VA_ARGS__);                                        \
        finding(ctx, line_);                                                                       \
        findings++;                                                                                \
    } while (0)

long zb_node_verify_all(zb_node *n, void (*finding)(void *ctx, const char *line), void *ctx,
                        uint64_t *receipts, uint64_t *reports, uint64_t *newest_size)
{
    *receipts = *reports = *newest_size = 0;
    MDB_txn *txn;
    int rc = zb_store_begin(n->store, true, &txn);
    if (rc)
        return rc;
    long findings = 0;
    uint64_t quorum = 0;
    (void)zb_store_get_u64(txn, zb_store_dbi(n->store, NODE_DB_META), "witness_quorum", &quorum, 0);
    MDB_cursor *cur;
    MDB_val k, v;
    /* the chain of accepted heads: each proven to extend the one before,
     * and dated no earlier than it */
    bool have_prev = false;
    zb_tree_head prev = {0};
    mdb_cursor_open(txn, zb_store_dbi(n->store, NODE_DB_HEADS), &cur);
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        zb_tree_head head;
        Zb__SignedTreeHead *sth = zb__signed_tree_head__unpack(NULL, v.mv_size, v.mv_data);
        int hr = sth ? zb_tree_head_verify(sth, n->agg_key, &head) : ZB_EDECODE;
        if (sth)
            zb__signed_tree_head__free_unpacked(sth, NULL);
        if (hr) {
            FINDING("tree head %" PRIu64 ": signature does not verify", zb_be64_get(k.mv_data));
            continue;
        }
        if (have_prev) {
            MDB_val pv;
            Zb__ConsistencyProof *cp = NULL;
            if (mdb_get(txn, zb_store_dbi(n->store, NODE_DB_HEAD_PROOFS), &k, &pv) == 0)
                cp = zb__consistency_proof__unpack(NULL, pv.mv_size, pv.mv_data);
            zb_tree_head old;
            if (!cp || stored_head(n, txn, cp->old_size, &old) != 0 ||
                zb_consistency_verify_pb(cp, &old, &head) != 0)
                FINDING("tree head %" PRIu64 ": not proven consistent with an earlier head",
                        head.size);
            if (cp)
                zb__consistency_proof__free_unpacked(cp, NULL);
            if (head.timestamp < prev.timestamp) {
                char t_prev[40] = "?", t_head[40] = "?";
                (void)zb_time_format(prev.timestamp, ZB_CST_OFFSET_MIN, 0, t_prev, sizeof t_prev);
                (void)zb_time_format(head.timestamp, ZB_CST_OFFSET_MIN, 0, t_head, sizeof t_head);
                FINDING("tree head %" PRIu64 " is dated %s, before tree head %" PRIu64
                        " dated %s: the aggregator's clock went back (the log is consistent)",
                        head.size, t_head, prev.size, t_prev);
            }
        }
        have_prev = true;
        prev = head;
        *newest_size = head.size;
    }
    mdb_cursor_close(cur);
    /* every receipt, with its proofs */
    mdb_cursor_open(txn, zb_store_dbi(n->store, NODE_DB_RECEIPTS), &cur);
    for (int r = mdb_cursor_get(cur, &k, &v, MDB_FIRST); r == 0;
         r = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t f = 0, l = 0;
        int64_t at;
        int vr = zb_node_verify_receipt(n, txn, v.mv_data, v.mv_size, &f, &l, &at);
        if (vr) {
            FINDING("receipt from seq %" PRIu64 ": does not verify (%s)", zb_be64_get(k.mv_data),
                    zb_strerror(vr));
            continue;
        }
        (*receipts)++;
        *reports += l - f + 1;
        Zb__BatchReceipt *br = zb__batch_receipt__unpack(NULL, v.mv_size, v.mv_data);
        uint64_t head = receipt_head_size(n, br);
        if (br)
            zb__batch_receipt__free_unpacked(br, NULL);
        if (!zb_node_head_final(n, txn, head))
            FINDING("receipt for seq %" PRIu64 "..%" PRIu64 ": its tree head (size %" PRIu64
                    ") has no witness quorum yet: not %" PRIu64 " of this node's witnesses "
                    "cosigned it or a later head it is proven part of (the next sync fetches "
                    "cosignatures; if it stays so, the prefecture showed this node a log the "
                    "witnesses did not see)", f, l, head, quorum);
    }
    mdb_cursor_close(cur);
    uint64_t acked = 0;
    (void)zb_store_get_u64(txn, zb_store_dbi(n->store, NODE_DB_META), "acked_seq", &acked, 0);
    uint64_t covered = zb_node_receipted_seq(n, txn);
    if (covered < acked)
        FINDING("reports %" PRIu64 "..%" PRIu64 " are acknowledged but have no receipt yet "
                "(the next sync asks for them)", covered + 1, acked);
    mdb_txn_abort(txn);
    return findings;
}
