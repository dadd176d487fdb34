/*
 * export.h - what the aggregator hands an auditor: the audit bundle
 * (version 3: every enrolled key with its history -- a convenience: the
 * history that counts is the log's key events --, every log leaf in log
 * order, key events and equivocation evidence among them, and the latest
 * signed tree head),
 * single signed tree heads, and consistency proofs between two of them.
 * File formats: docs/bundle.md; `zhibao-audit` reads them.
 *
 * Every export reads one read-only LMDB snapshot, so it runs beside a
 * running `serve` and sees one consistent state. Files are written to
 * PATH.tmp, fsync'd and renamed over PATH: a reader never sees half a file.
 */
#ifndef ZB_EXPORT_H
#define ZB_EXPORT_H

#include <stdint.h>

#include "agg.h"
#include "treehead.h"

#define ZB_BUNDLE_MAGIC "ZBBUNDLE1\n"       /* bundle file: then records */
#define ZB_STH_MAGIC ZB_STH_FILE_MAGIC       /* tree-head file: then one SignedTreeHead record */
#define ZB_CONSISTENCY_MAGIC "ZBCONS1\n"    /* proof file: then one ConsistencyProof record */
#define ZB_BUNDLE_RECORD_MAX (1u << 20)     /* bytes per record, writers and readers */

typedef struct {
    uint64_t counties;
    uint64_t entries;          /* log size = tree head size */
    uint64_t evidence;         /* equivocations refused (leaves of the log) */
    uint8_t root[32];          /* the tree head's root (all zero for an empty log) */
} zb_export_stats;

/* Write the audit bundle of aggregator a to path. progress (NULL: none)
 * is called in this thread with the log entries written so far of the
 * log's size (ctx passed through), from 0 to the size. ZB_EIO (file
 * system, logged), ZB_ESTORE / ZB_EDECODE (store damaged), ZB_ETOOBIG (a
 * record over ZB_BUNDLE_RECORD_MAX), ZB_ENOMEM. */
int zb_agg_export(zb_agg *a, const char *path,
                  void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                  zb_export_stats *st);

/* Write the stored signed tree head of size (0: the latest) to path;
 * *size_out gets its size. ZB_ENOTFOUND when no head of that size exists. */
int zb_agg_export_tree_head(zb_agg *a, uint64_t size, const char *path, uint64_t *size_out);

/* Write the consistency proof old_size -> new_size (0 < old <= new <= log
 * size) to path. ZB_EINVAL for sizes out of range. */
int zb_agg_export_consistency(zb_agg *a, uint64_t old_size, uint64_t new_size, const char *path);

/* The resume file of a county whose key was just revoked: where its chain
 * goes on and the state of each of its accidents, so that the replacement
 * node (zhibao-node init --resume SEQ:HASH --accidents FILE) keeps checking
 * their revisions (none after a closing or write-off, each one after the
 * last):
 *   {"county": "222401", "after_seq": N,
 *    "accidents": [{"accident_id", "revision", "stage"}, ...]}
 * with the revision in force of each accident and its stage ("initial",
 * "supplement", "closing", "write_off"). Written to path.tmp, fsync'd and
 * renamed. Errors: ZB_EIO, ZB_ENOMEM, ZB_ESTORE. */
int zb_agg_export_resume(zb_agg *a, const char *county, uint64_t after_seq, const char *path);

#endif
