/*
 * audit.h - the auditor's checks, independent of the aggregator's store:
 * an audit bundle (docs/bundle.md) verified from its bytes alone, and the
 * consistency of two signed tree heads.
 *
 * Everything reads from a FILE * (a file, or fmemopen'd bytes in the fuzz
 * target) as a stream: memory is O(counties + evidence + log n), not
 * O(entries). Nothing in a bundle is trusted: every length is capped before
 * it is read, every message decoded strictly, every signature checked.
 * Uses only common/ (no LMDB store): an auditor needs no aggregator.
 */
#ifndef ZB_AUDIT_H
#define ZB_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto.h"
#include "treehead.h"
#include "zhibao.pb-c.h"

#define ZB_AUDIT_BUNDLE_MAGIC "ZBBUNDLE1\n"
#define ZB_AUDIT_STH_MAGIC "ZBSTH1\n"
#define ZB_AUDIT_CONSISTENCY_MAGIC "ZBCONS1\n"
#define ZB_AUDIT_RECORD_MAX (1u << 20) /* bytes per record; longer is refused unread */
/* Bundle versions read: 1 (the log holds county reports only) and 2 (the
 * log also holds the prefecture's downstream messages, downstream.h). */
#define ZB_AUDIT_BUNDLE_VERSION_MIN 1
#define ZB_AUDIT_BUNDLE_VERSION 2

/* One finding: a single line, no newline. */
typedef void (*zb_audit_finding_fn)(void *ctx, const char *line);

typedef struct {
    const uint8_t *pinned_key; /* the aggregator key the auditor expects; NULL: the header's */
    uint64_t prefix_size;      /* > 0: also compute the root of the first prefix_size leaves */
} zb_audit_opts;

typedef struct {
    bool has_header;
    uint8_t agg_key[ZB_PK_LEN];   /* from the header */
    uint64_t counties, entries, evidence, equivocations, records;
    uint64_t reports;             /* log entries that are not downstream messages (envelopes) */
    uint64_t downstream;          /* log entries that are downstream messages (zb_down_is_leaf) */
    uint64_t reviews, reminders, deadlines, notices; /* the downstream messages that open, by kind */
    bool head_ok;                 /* tree head signed by agg_key, size and root = the entries' */
    zb_tree_head head;            /* valid when head_ok */
    bool has_prefix_root;         /* opts.prefix_size leaves were there */
    uint8_t prefix_root[ZB_HASH_LEN];
} zb_audit_summary;

/* Verify the bundle read from f (see docs/bundle.md for every check).
 * finding() is called once per problem, in file order; evidence of
 * equivocation is a finding too ("equivocation: county X seq N: ...").
 * A log entry is a county's report or, in a version 2 bundle, a downstream
 * message (zb_down_is_leaf): opened with the header's aggregator key (the
 * pinned key when there is no header), to a county of the bundle, numbered
 * 1, 2, 3... per county in log order, a review naming a report logged
 * before it.
 * Returns the number of findings (0: the bundle holds), or ZB_EIO when f
 * cannot be read (a short file is a finding, not an error). */
__attribute__((warn_unused_result)) long zb_audit_verify(FILE *f, const zb_audit_opts *opts,
                                                         zb_audit_finding_fn finding, void *ctx,
                                                         zb_audit_summary *sum);

/* Read a tree-head file (ZBSTH1) into *out (heap-built; free with
 * zb__signed_tree_head__free_unpacked). ZB_EDECODE for anything else. */
__attribute__((warn_unused_result)) int zb_audit_read_tree_head(FILE *f,
                                                                Zb__SignedTreeHead **out);
/* Read a consistency-proof file (ZBCONS1); free with
 * zb__consistency_proof__free_unpacked. ZB_EDECODE for anything else. */
__attribute__((warn_unused_result)) int zb_audit_read_consistency(FILE *f,
                                                                  Zb__ConsistencyProof **out);

/* Prove that the log behind new_src extends the log behind the tree-head
 * file old_f. new_f is a tree-head file or a bundle; proof_f (may be NULL
 * when new_f is a bundle, whose entries then give the proof) a
 * consistency-proof file. Both heads must be signed by key, and the new
 * head's timestamp must not be before the old one's. Returns 0 when
 * consistent, ZB_EBADSIG when not (why in msg: a failed proof or
 * signature, a log that shrank, timestamps going backwards), ZB_EDECODE
 * for unreadable files, ZB_EINVAL for a missing proof. */
__attribute__((warn_unused_result)) int zb_audit_consistency(FILE *old_f, FILE *new_f,
                                                             FILE *proof_f,
                                                             const uint8_t key[ZB_PK_LEN],
                                                             char *msg, size_t msg_len);

#endif
