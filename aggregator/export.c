/* export.c - see export.h; the formats are in docs/bundle.md. */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bundle.pb-c.h"
#include "domain.h"
#include "err.h"
#include "fileio.h"
#include "logleaf.h"
#include "log.h"
#include "tlog.h"

/* An output file being written: PATH.tmp, the running SHA-256 of every
 * byte written, and the number of records. */
typedef struct {
    FILE *f;
    char tmp[4096];
    const char *path;
    crypto_hash_sha256_state sha;
    uint64_t records;
} out_file;

static int out_write(out_file *o, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, o->f) != n) {
        zb_log_warn_errno("ZB-EXPORT-IO", "write %s", o->tmp);
        return ZB_EIO;
    }
    crypto_hash_sha256_update(&o->sha, p, n);
    return ZB_OK;
}

static int out_open(out_file *o, const char *path, const char *magic)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    if (snprintf(o->tmp, sizeof o->tmp, "%s.tmp", path) >= (int)sizeof o->tmp)
        return ZB_EINVAL;
    int fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        zb_log_warn_errno("ZB-EXPORT-IO", "create %s", o->tmp);
        if (fd >= 0)
            close(fd);
        return ZB_EIO;
    }
    crypto_hash_sha256_init(&o->sha);
    return out_write(o, magic, strlen(magic));
}

/* Abandon the file (error path): close and remove PATH.tmp. */
static void out_abort(out_file *o)
{
    if (o->f) {
        fclose(o->f);
        o->f = NULL;
        unlink(o->tmp);
    }
}

/* Flush, fsync, rename PATH.tmp over PATH and fsync the directory. */
static int out_finish(out_file *o)
{
    if (fflush(o->f) != 0 || fsync(fileno(o->f)) != 0) {
        zb_log_warn_errno("ZB-EXPORT-IO", "flush %s", o->tmp);
        out_abort(o);
        return ZB_EIO;
    }
    int rc = fclose(o->f);
    o->f = NULL;
    if (rc != 0 || rename(o->tmp, o->path) != 0) {
        zb_log_warn_errno("ZB-EXPORT-IO", "rename %s", o->tmp);
        unlink(o->tmp);
        return ZB_EIO;
    }
    zb_fsync_dir_of(o->path, false); /* the rename is durable once the directory is */
    return ZB_OK;
}

/* One record: u32 BE length, then the packed message. */
static int out_record(out_file *o, const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (len > ZB_BUNDLE_RECORD_MAX)
        return ZB_ETOOBIG;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return ZB_ENOMEM;
    protobuf_c_message_pack(msg, buf);
    uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                      (uint8_t)len};
    int rc = out_write(o, hdr, 4);
    if (rc == 0)
        rc = out_write(o, buf, len);
    free(buf);
    if (rc == 0)
        o->records++;
    return rc;
}

static int out_bundle_record(out_file *o, Zb__BundleRecord *r)
{
    return out_record(o, &r->base);
}

/* ---------------------------------------------------------------- bundle */

typedef struct {
    Zb__KeyEpoch *epochs;       /* grown array */
    size_t n, cap;
    uint8_t (*keys)[ZB_PK_LEN]; /* the key bytes the epochs point at */
} epoch_list;

static int collect_epoch(void *ctx, const zb_key_epoch *e)
{
    epoch_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4;
        Zb__KeyEpoch *ne = realloc(l->epochs, cap * sizeof *ne);
        if (!ne)
            return ZB_ENOMEM;
        l->epochs = ne;
        uint8_t(*nk)[ZB_PK_LEN] = realloc(l->keys, cap * sizeof *nk);
        if (!nk)
            return ZB_ENOMEM;
        l->keys = nk;
        l->cap = cap;
    }
    memcpy(l->keys[l->n], e->key, ZB_PK_LEN);
    Zb__KeyEpoch *k = &l->epochs[l->n++];
    zb__key_epoch__init(k);
    k->enrolled_at = e->enrolled_at;
    k->first_seq = e->first_seq;
    k->revoked_at = e->revoked_at;
    k->last_seq = e->last_seq;
    return 0;
}

static int write_county(out_file *o, zb_agg *a, MDB_txn *txn, const char *code)
{
    epoch_list l = {0};
    int rc = zb_astore_key_history(zb_agg_store(a), txn, code, collect_epoch, &l);
    Zb__KeyEpoch **ptrs = rc == 0 && l.n ? calloc(l.n, sizeof *ptrs) : NULL;
    if (rc == 0 && l.n && !ptrs)
        rc = ZB_ENOMEM;
    if (rc == 0) {
        for (size_t i = 0; i < l.n; i++) {
            /* keys[] may have moved while growing: point at it only now */
            l.epochs[i].key = (ProtobufCBinaryData){ZB_PK_LEN, l.keys[i]};
            ptrs[i] = &l.epochs[i];
        }
        Zb__BundleCounty c = ZB__BUNDLE_COUNTY__INIT;
        c.code = (char *)code;
        c.n_epochs = l.n;
        c.epochs = ptrs;
        Zb__BundleRecord r = ZB__BUNDLE_RECORD__INIT;
        r.record_case = ZB__BUNDLE_RECORD__RECORD_COUNTY;
        r.county = &c;
        rc = out_bundle_record(o, &r);
    }
    free(ptrs);
    free(l.epochs);
    free(l.keys);
    return rc;
}

typedef struct {
    out_file *o;
    zb_agg *agg;
    MDB_txn *txn;
    uint64_t count;
} write_ctx;

static int write_one_county(void *ctx, const zb_county_rec *rec)
{
    write_ctx *w = ctx;
    int rc = write_county(w->o, w->agg, w->txn, rec->county);
    if (rc == 0)
        w->count++;
    return rc;
}

static int write_counties(out_file *o, zb_agg *a, MDB_txn *txn, uint64_t *count)
{
    write_ctx w = {o, a, txn, 0};
    int rc = zb_astore_counties(zb_agg_store(a), txn, write_one_county, &w);
    *count = w.count;
    return rc;
}

static int write_entries(out_file *o, zb_agg *a, MDB_txn *txn, uint64_t n,
                         void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx)
{
    if (progress)
        progress(ctx, 0, n);
    for (uint64_t i = 0; i < n; i++) {
        Zb__BundleEntry be = ZB__BUNDLE_ENTRY__INIT;
        be.log_index = i;
        zb_agg_leaf l;
        int rc = zb_agg_leaf_get(a, txn, i, &l);
        if (rc) {
            zb_agg_leaf_free(&l);
            ZB_ERR("ZB-EXPORT-DAMAGED", "log entry %" PRIu64 ": %s", i, zb_strerror(rc));
            return rc;
        }
        be.received_at = l.time;
        be.envelope = (ProtobufCBinaryData){l.len, (uint8_t *)l.bytes};
        Zb__BundleRecord rec = ZB__BUNDLE_RECORD__INIT;
        rec.record_case = ZB__BUNDLE_RECORD__RECORD_ENTRY;
        rec.entry = &be;
        rc = out_bundle_record(o, &rec);
        zb_agg_leaf_free(&l);
        if (rc)
            return rc;
        if (progress)
            progress(ctx, i + 1, n);
    }
    return ZB_OK;
}

static int write_witnessed(void *ctx, const Zb__SignedTreeHead *head)
{
    Zb__BundleRecord rec = ZB__BUNDLE_RECORD__INIT;
    rec.record_case = ZB__BUNDLE_RECORD__RECORD_WITNESSED_HEAD;
    rec.witnessed_head = (Zb__SignedTreeHead *)head;
    return out_bundle_record(ctx, &rec);
}

int zb_agg_export(zb_agg *a, const char *path,
                  void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                  zb_export_stats *st)
{
    memset(st, 0, sizeof *st);
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    out_file o = {0};
    Zb__SignedTreeHead *sth = NULL;
    uint64_t size;
    if ((rc = zb_tlog_size(zb_agg_tlog(a), txn, &size)))
        goto fail;
    rc = zb_tlog_latest_head(zb_agg_tlog(a), txn, &sth);
    if (rc && rc != ZB_ENOTFOUND)
        goto fail;
    rc = ZB_OK;
    if (sth) {
        /* the server signs a head in the very transaction that grows the log */
        Zb__TreeHead *th = zb__tree_head__unpack(NULL, sth->tree_head.len, sth->tree_head.data);
        if (!th || th->size != size || th->root.len != ZB_HASH_LEN) {
            ZB_ERR("ZB-EXPORT-DAMAGED", "latest tree head does not cover the log (%" PRIu64
                   " entries)", size);
            rc = ZB_EDECODE;
        } else {
            memcpy(st->root, th->root.data, ZB_HASH_LEN);
        }
        if (th)
            zb__tree_head__free_unpacked(th, NULL);
        if (rc)
            goto fail;
    } else if (size != 0) {
        rc = ZB_EDECODE;
        goto fail;
    }

    Zb__BundleHeader h = ZB__BUNDLE_HEADER__INIT;
    h.version = 4; /* LogLeaf leaves: times, key events and evidence in the log; witnessed heads */
    h.aggregator = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)zb_agg_identity(a)->pk};
    h.created_at = (int64_t)time(NULL);
    h.county_count = zb_astore_county_count(zb_agg_store(a), txn);
    h.entry_count = size;
    h.has_evidence_count = 1;
    h.evidence_count = 0;
    st->evidence = zb_astore_evidence_count(zb_agg_store(a), txn); /* as log leaves */
    Zb__BundleRecord rec = ZB__BUNDLE_RECORD__INIT;
    rec.record_case = ZB__BUNDLE_RECORD__RECORD_HEADER;
    rec.header = &h;
    if ((rc = out_open(&o, path, ZB_BUNDLE_MAGIC)) || (rc = out_bundle_record(&o, &rec)) ||
        (rc = write_counties(&o, a, txn, &st->counties)) ||
        /* evidence is in the log itself (LogLeaf evidence entries) */
        /* before the entries: a streaming verifier learns which prefix
         * roots to compute on the way */
        (rc = zb_tlog_witnessed_heads(zb_agg_tlog(a), txn, write_witnessed, &o)) ||
        (rc = write_entries(&o, a, txn, size, progress, ctx)))
        goto fail;
    st->entries = size;
    if (sth) {
        Zb__BundleRecord hr = ZB__BUNDLE_RECORD__INIT;
        hr.record_case = ZB__BUNDLE_RECORD__RECORD_TREE_HEAD;
        hr.tree_head = sth;
        if ((rc = out_bundle_record(&o, &hr)))
            goto fail;
    }
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state copy = o.sha;
    crypto_hash_sha256_final(&copy, digest);
    Zb__BundleEnd end = ZB__BUNDLE_END__INIT;
    end.record_count = o.records;
    end.sha256 = (ProtobufCBinaryData){sizeof digest, digest};
    Zb__BundleRecord er = ZB__BUNDLE_RECORD__INIT;
    er.record_case = ZB__BUNDLE_RECORD__RECORD_END;
    er.end = &end;
    if ((rc = out_bundle_record(&o, &er)))
        goto fail;
    mdb_txn_abort(txn);
    txn = NULL;
    zb__signed_tree_head__free_unpacked(sth, NULL);
    sth = NULL;
    return out_finish(&o);
fail:
    out_abort(&o);
    if (sth)
        zb__signed_tree_head__free_unpacked(sth, NULL);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/* ---------------------------------------------------------------- heads, proofs */

int zb_agg_export_tree_head(zb_agg *a, uint64_t size, const char *path, uint64_t *size_out)
{
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    Zb__SignedTreeHead *sth = NULL;
    if (size == 0)
        rc = zb_tlog_latest_head(zb_agg_tlog(a), txn, &sth);
    else
        rc = zb_tlog_head(zb_agg_tlog(a), txn, size, &sth);
    mdb_txn_abort(txn);
    if (rc)
        return rc;
    Zb__TreeHead *th = zb__tree_head__unpack(NULL, sth->tree_head.len, sth->tree_head.data);
    if (!th) {
        zb__signed_tree_head__free_unpacked(sth, NULL);
        return ZB_EDECODE;
    }
    *size_out = th->size;
    zb__tree_head__free_unpacked(th, NULL);
    out_file o;
    if ((rc = out_open(&o, path, ZB_STH_MAGIC)) || (rc = out_record(&o, &sth->base)))
        out_abort(&o);
    else
        rc = out_finish(&o);
    zb__signed_tree_head__free_unpacked(sth, NULL);
    return rc;
}

int zb_agg_export_consistency(zb_agg *a, uint64_t old_size, uint64_t new_size, const char *path)
{
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    uint64_t size;
    Zb__ConsistencyProof *p = NULL;
    if ((rc = zb_tlog_size(zb_agg_tlog(a), txn, &size)) == 0) {
        if (old_size == 0 || old_size > new_size || new_size > size)
            rc = ZB_EINVAL;
        else
            rc = zb_tlog_make_consistency(zb_agg_tlog(a), txn, old_size, new_size, &p);
    }
    mdb_txn_abort(txn);
    if (rc)
        return rc;
    out_file o;
    if ((rc = out_open(&o, path, ZB_CONSISTENCY_MAGIC)) || (rc = out_record(&o, &p->base)))
        out_abort(&o);
    else
        rc = out_finish(&o);
    zb__consistency_proof__free_unpacked(p, NULL);
    return rc;
}

/* ---------------------------------------------------------------- resume file */

static int resume_accident(void *ctx, const char *id, uint32_t revision, int stage)
{
    const char *name = zb_stage_name(stage);
    json_t *e = json_pack("{s:s, s:I, s:s}", "accident_id", id, "revision", (json_int_t)revision,
                          "stage", name ? name : "supplement");
    return e && json_array_append_new(ctx, e) == 0 ? 0 : ZB_ENOMEM;
}

int zb_agg_export_resume(zb_agg *a, const char *county, uint64_t after_seq, const char *path)
{
    json_t *list = json_array();
    if (!list)
        return ZB_ENOMEM;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc == 0) {
        rc = zb_astore_accident_states(zb_agg_store(a), txn, county, resume_accident, list);
        mdb_txn_abort(txn);
    }
    json_t *doc = rc ? NULL : json_pack("{s:s, s:I, s:o}", "county", county, "after_seq",
                                        (json_int_t)after_seq, "accidents", list);
    if (rc) {
        json_decref(list);
        return rc;
    }
    char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return ZB_ENOMEM;
    out_file o; /* written whole or not at all, like every export */
    if ((rc = out_open(&o, path, "")) == 0) {
        if ((rc = out_write(&o, text, strlen(text))) || (rc = out_write(&o, "\n", 1)))
            out_abort(&o);
        else
            rc = out_finish(&o);
    }
    free(text);
    return rc;
}
