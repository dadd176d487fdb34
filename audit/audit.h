/*
 * audit.h - the auditor's checks, independent of the aggregator's store:
 * an audit bundle (docs/bundle.md) verified from its bytes alone, against
 * what the auditor brings from outside (the aggregator key the prefecture
 * published, tree heads the counties' nodes accepted, keys the county
 * offices state), and the consistency of two signed tree heads.
 *
 * Everything reads from a FILE * (a file, or fmemopen'd bytes in the fuzz
 * target) as a stream: memory is O(counties + pins + heads + witnessed
 * heads + evidence + key events + log n) (every enrolled key is
 * remembered: a key is enrolled once), never O(entries). Witnessed heads
 * (version 4) come before the entries, so the roots of their sizes are
 * computed on the way (docs/bundle.md §5, check 13). A version 3 bundle with evidence whose logged report
 * is not the county's latest is read a second time, from its first entry
 * (f must be seekable: a regular file or fmemopen'd bytes). Nothing in a
 * bundle is trusted: every length is capped before it is read, every
 * message decoded strictly, every signature checked.
 * Uses only common/ (no LMDB store): an auditor needs no aggregator.
 */
#ifndef ZB_AUDIT_H
#define ZB_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cosig.h"
#include "crypto.h"
#include "treehead.h"
#include "zhibao.pb-c.h"

#define ZB_AUDIT_BUNDLE_MAGIC "ZBBUNDLE1\n"
#define ZB_AUDIT_STH_MAGIC ZB_STH_FILE_MAGIC
#define ZB_AUDIT_CONSISTENCY_MAGIC "ZBCONS1\n"
#define ZB_AUDIT_RECORD_MAX (1u << 20) /* bytes per record; longer is refused unread */
/* Bundle versions read: 1 (the log holds county reports only), 2 (also the
 * prefecture's downstream messages, downstream.h), 3 (every leaf a
 * LogLeaf with its time: reports, downstream messages, key events and
 * evidence; logleaf.h) and 4 (also every head witnesses cosigned, as
 * witnessed_head records before the entries; cosig.h). */
#define ZB_AUDIT_BUNDLE_VERSION_MIN 1
#define ZB_AUDIT_BUNDLE_VERSION 4

#define ZB_AUDIT_COUNTY_LEN 6 /* a county code: 6 ASCII digits */

/* One finding: a single line, no newline. */
typedef void (*zb_audit_finding_fn)(void *ctx, const char *line);

/* A log size whose root the verifier computes on the way (in: size; out:
 * found when the bundle has at least size entries, and their root). */
typedef struct {
    uint64_t size;
    bool found;
    uint8_t root[ZB_HASH_LEN];
} zb_audit_prefix;

/* One key a county office states as its own (--county-key). A county may
 * have several: the office's list of its keys, in no particular order
 * (docs/bundle.md §5, check 11): each must be enrolled in the log for the
 * county; once the first of them is enrolled, every key enrolled for the
 * county must be one of them; the county's last key must be one of them
 * and active at the end of the log; and a key of the list revoked without
 * consent must have a later key of the list after it (a lost machine the
 * office replaced). */
typedef struct {
    char county[ZB_AUDIT_COUNTY_LEN + 1];
    uint8_t key[ZB_PK_LEN];
} zb_audit_pin;

/* A tree head the auditor collected (--head: from a county's node,
 * zhibao-node tree-head); the bundle must extend it. */
typedef struct {
    const char *name;                /* what findings call it (the file name) */
    const Zb__SignedTreeHead *sth;   /* borrowed for the call */
} zb_audit_head;

/* One key event of the log (version 3), as read, in log order. Events
 * that break a rule are reported too (a finding names the rule). */
typedef struct {
    char county[ZB_AUDIT_COUNTY_LEN + 1];
    uint32_t epoch;
    bool enrolled;                   /* ENROLLED; false: REVOKED */
    uint8_t key[ZB_PK_LEN];
    uint64_t seq;                    /* ENROLLED: first seq; REVOKED: last seq signed (0 none) */
    /* REVOKED: 1 consented (a rotation signed by the revoked key), 0 not
     * (a lost machine). ENROLLED: 1 a rotation consented by the previous
     * key (epoch previous_epoch), 0 a replacement without that consent,
     * -1 the county's first key. */
    int consented;
    uint32_t previous_epoch;         /* ENROLLED with consented >= 0 */
    uint64_t log_index;
    int64_t time;                    /* the LogLeaf's timestamp: Unix s, aggregator clock */
} zb_audit_key_event;

typedef void (*zb_audit_key_event_fn)(void *ctx, const zb_audit_key_event *e);

/* A county's report as the log holds it, once its envelope opened (it may
 * still break a rule: a finding says so). report is borrowed for the call.
 * time: the LogLeaf's timestamp (the aggregator's clock, signed with the
 * root); for a bare envelope (a log begun before log version 2) the
 * entry's received_at, which nobody signed. */
typedef void (*zb_audit_report_fn)(void *ctx, const Zb__Report *report, uint64_t log_index,
                                   int64_t time);

/* A downstream message of the prefecture, once it opened (signed by the
 * aggregator key, content rules held); d is borrowed for the call; time as
 * for a report. */
typedef void (*zb_audit_downstream_fn)(void *ctx, const Zb__Downstream *d, uint64_t log_index,
                                       int64_t time);

/* A signed tree head of the bundle with what its cosignatures say: every
 * witnessed_head record that verifies with the aggregator key, in bundle
 * order, then the bundle's tree_head if it verifies. Reported once the
 * whole bundle is read. */
typedef struct {
    bool final;                      /* the tree_head record; false: a witnessed_head record */
    zb_tree_head head;
    /* the head is of the bundle's log: its root is the root of the
     * bundle's first head.size entries (the tree_head: it covers them all) */
    bool of_log;
    zb_cosig_tally tally;            /* against zb_audit_opts.witness_keys */
} zb_audit_cosigned_head;

typedef void (*zb_audit_head_fn)(void *ctx, const zb_audit_cosigned_head *h);

typedef struct {
    /* the aggregator key the auditor expects (the CLI requires it); NULL:
     * the header's */
    const uint8_t *pinned_key;
    zb_audit_prefix *prefixes;       /* roots to compute on the way (filled in) */
    size_t n_prefixes;
    const zb_audit_pin *pins;        /* the county offices' keys (see zb_audit_pin) */
    size_t n_pins;
    const zb_audit_head *heads;      /* signed by the aggregator key; the bundle extends each */
    size_t n_heads;
    zb_audit_key_event_fn key_event; /* called once per key event leaf (may be NULL) */
    void *key_event_ctx;
    /* The witnesses the auditor trusts (--witness-key, at most
     * ZB_WITNESS_MAX, no repeats): every cosignature by one of them must
     * verify; and a non-empty log needs a head with at least
     * witness_quorum (1..n_witness_keys; 0 means 1) valid cosignatures of
     * them. Cosignatures by other keys are counted, not checked. None:
     * nothing about witnesses is required (witnessed heads are still
     * checked against the log). */
    const uint8_t (*witness_keys)[ZB_PK_LEN];
    size_t n_witness_keys;
    size_t witness_quorum;
    /* observers (each may be NULL), all called with observe_ctx */
    zb_audit_report_fn report;
    zb_audit_downstream_fn downstream;
    zb_audit_head_fn cosigned_head;
    void *observe_ctx;
    /* Progress of the reading (may be NULL; no terminal code here: the
     * caller draws it): called once the header is read, with done the
     * entries read so far and total the header's entry_count (its unsigned
     * claim: done may pass it), then after each entry record read (total 0
     * without a header). Called from zb_audit_verify's thread, cheap calls
     * expected: once per entry. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
    /* Findings (and the words in them) in the chosen language (i18n.h,
     * po/zh_CN/audit.po) for a person to read; false: English, as JSON
     * and logs keep them. */
    bool localized;
} zb_audit_opts;

typedef struct {
    bool has_header;
    uint32_t version;             /* the header's (0 without a header) */
    uint8_t agg_key[ZB_PK_LEN];   /* from the header */
    uint64_t counties, entries, records;
    uint64_t evidence;            /* evidence records (versions 1, 2) or leaves (3) */
    uint64_t equivocations;       /* evidence that holds: two reports a county key signed */
    uint64_t reports;             /* log entries holding a county's envelope */
    uint64_t downstream;          /* log entries holding a downstream message */
    uint64_t reviews, reminders, deadlines, notices; /* the downstream messages that open, by kind */
    uint64_t key_events, rotations, revocations_unconsented;
    uint64_t heads_extended;      /* opts.heads the bundle extends (signed, root and time hold) */
    uint64_t pins_active;         /* opts.pins that are their county's active key at the end */
    uint64_t pin_counties;        /* counties opts.pins names (each one's keys, one list) */
    bool head_ok;                 /* tree head signed by agg_key, size and root = the entries' */
    zb_tree_head head;            /* valid when head_ok */
    uint64_t witnessed_heads;     /* witnessed_head records (version 4) */
    uint64_t cosignatures;        /* on them and on the tree head */
    uint64_t cosignatures_unlisted; /* ... by keys not in opts.witness_keys (not checked) */
    size_t witness_quorum;        /* the quorum applied (0: no witness keys given) */
    /* With witness keys: the largest size of a head of the bundle's log
     * with a quorum of valid cosignatures (0: none), and the log entries
     * after it, which no quorum of witnesses has seen yet (not a finding). */
    uint64_t witnessed_size;
    uint64_t unwitnessed_entries;
} zb_audit_summary;

/* Verify the bundle read from f (see docs/bundle.md for every check).
 * With opts->witness_keys, every cosignature by one of them must verify
 * and a non-empty log needs a head with a quorum of them ("witnesses: no
 * tree head carries a quorum ..."); a witnessed head whose root is not
 * the bundle's is "... (a split view or a rewritten log)".
 * finding() is called once per problem; evidence of equivocation is a
 * finding too ("equivocation: county X seq N: ...": the logged report and
 * the evidence signed by one key; by two keys, it is a key-history
 * conflict, "evidence county X seq N ...: two keys signed for the same
 * seq"). Lines are English unless opts->localized. opts may be NULL.
 * Returns the number of findings (0: the bundle holds), or ZB_EIO when f
 * cannot be read (a short file is a finding, not an error). */
__attribute__((warn_unused_result)) long zb_audit_verify(FILE *f, const zb_audit_opts *opts,
                                                         zb_audit_finding_fn finding, void *ctx,
                                                         zb_audit_summary *sum);

/* One line for a key event, as `zhibao-audit verify` prints it, e.g.
 *   key 222401 epoch 1 enrolled 5f3a0c1d2e3f4a5b…  from seq 4  (rotation, consented by
 *   epoch 0)  [log entry 9, 2026-11-05T10:00:00+08:00]
 *   key 222401 epoch 0 revoked after seq 3  NOT consented (lost machine?)  [log entry 8, ...]
 * (each on one line). Truncated to buf_len. */
void zb_audit_key_event_line(const zb_audit_key_event *e, char *buf, size_t buf_len);

/* Read a tree-head file (ZBSTH1) into *out (heap-built; free with
 * zb__signed_tree_head__free_unpacked). ZB_EDECODE for anything else. */
__attribute__((warn_unused_result)) int zb_audit_read_tree_head(FILE *f,
                                                                Zb__SignedTreeHead **out);
/* Read a consistency-proof file (ZBCONS1); free with
 * zb__consistency_proof__free_unpacked. ZB_EDECODE for anything else. */
__attribute__((warn_unused_result)) int zb_audit_read_consistency(FILE *f,
                                                                  Zb__ConsistencyProof **out);

/* Prove that the log behind new_f extends the log behind old_f. old_f is
 * a tree-head file or a bundle (its tree head is the old head); new_f a
 * tree-head file or a bundle; proof_f (may be NULL when new_f is a bundle,
 * whose first entries then give the proof) a consistency-proof file. Both
 * heads must be signed by key (a bundle's must also cover its entries),
 * and the new head's timestamp must not be before the old one's. Returns
 * 0 when consistent, ZB_EBADSIG when not (why in msg: a failed proof or
 * signature, a log that shrank, timestamps going backwards), ZB_EDECODE
 * for unreadable files, ZB_EINVAL for a missing proof, ZB_EIO. */
__attribute__((warn_unused_result)) int zb_audit_consistency(FILE *old_f, FILE *new_f,
                                                             FILE *proof_f,
                                                             const uint8_t key[ZB_PK_LEN],
                                                             char *msg, size_t msg_len);

#endif
