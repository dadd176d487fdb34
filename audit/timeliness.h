/*
 * timeliness.h - which counties filed a period's monthly report on time,
 * and which of those claims the witnesses prove (docs/bundle.md §7,
 * `zhibao-audit timeliness`).
 *
 * A county's report carries its signed created_at (the county's clock)
 * and the log gives its leaf time (the aggregator's clock): both clocks
 * belong to the prefecture's side. A witness dates its cosignature of a
 * tree head with its own clock, which the prefecture does not own: a head
 * cosigned by a quorum of the auditor's witnesses by time W, covering the
 * report's log index, proves the report was in the log by W. So "received
 * before the deadline" is proven when W is not after the deadline.
 *
 * The bundle is verified first exactly as zb_audit_verify does: nothing is
 * judged from a bundle with findings. Then, per county with a key event in
 * the log (code order), the report judged is the FIRST monthly report of
 * the period in log order (the first version filed: the house rule of
 * `zhibao-agg report monthly`, aggregator/consolidate.c), against the
 * period's deadline for that county: the default (the 5th of the next
 * month, 23:59:59 +08:00) unless a Deadline message of the prefecture to
 * the county for that period is in the log (the latest in log order).
 * Memory: O(counties + monthly reports of the period + deadline messages
 * + heads), on top of the verifier's.
 */
#ifndef ZB_TIMELINESS_H
#define ZB_TIMELINESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit.h"

typedef enum {
    ZB_TIMELINESS_MISSING, /* no monthly report of the period in the log */
    ZB_TIMELINESS_ON_TIME, /* the first version's signed created_at <= the deadline */
    ZB_TIMELINESS_LATE,    /* ... after it */
} zb_timeliness_status;

/* One county's verdict. The report fields are valid when status is not
 * MISSING; the logged_by fields when logged is true. Times: Unix s. */
typedef struct {
    char county[ZB_AUDIT_COUNTY_LEN + 1];
    zb_timeliness_status status;
    uint64_t seq, log_index;
    int64_t created_at;  /* signed by the county (its clock) */
    int64_t received_at; /* the leaf's timestamp (the aggregator's clock) */
    int64_t deadline;
    bool deadline_moved; /* by a Deadline message in the log */
    /* logged_by: the head of the bundle's log covering the report (size >
     * log_index) with a quorum of valid cosignatures whose quorum time is
     * the earliest (normally the smallest such head) */
    bool logged;
    uint64_t logged_size;
    int64_t witnessed_at; /* the quorum-th earliest valid cosignature's time */
    size_t n_witnesses;   /* the head's valid cosigners (listed witnesses) ... */
    uint8_t witnesses[ZB_WITNESS_MAX][ZB_PK_LEN]; /* ... in the order of their times */
    bool on_time_proven;                          /* logged and witnessed_at <= deadline */
} zb_timeliness_row;

typedef struct {
    int year, month; /* the period */
    uint8_t aggregator[ZB_PK_LEN];
    size_t quorum;
    zb_timeliness_row *rows; /* code order */
    size_t n_rows;
    size_t proven; /* rows with on_time_proven */
} zb_timeliness;

/* Verify the bundle read from f with opts (as zb_audit_verify: findings
 * to finding(ctx, line)); opts->witness_keys must be given (1..
 * ZB_WITNESS_MAX) and opts->pinned_key set. opts' observers (report,
 * downstream, cosigned_head, key_event) are not called: this function
 * uses them itself. Then judge period (year, month) into *out (free with
 * zb_timeliness_free; filled only when the bundle has no finding).
 * Returns the number of findings (0: *out judged), or ZB_EIO, ZB_ENOMEM,
 * ZB_EINVAL (no witness keys or pinned key: a programmer error). */
__attribute__((warn_unused_result)) long zb_timeliness_judge(FILE *f, const zb_audit_opts *opts,
                                                             int year, int month,
                                                             zb_audit_finding_fn finding, void *ctx,
                                                             zb_timeliness *out);

void zb_timeliness_free(zb_timeliness *t);

/* The verdict as `timeliness --json` prints it: {"period", "aggregator",
 * "witness_quorum", "witnesses": [the witness keys given, hex],
 * "counties": [{"county", "status" ("missing"|"on_time"|"late"), "seq",
 * "log_index", "created_at", "received_at", "deadline", "logged_by":
 * {"tree_size", "witnessed_at", "witnesses": [hex]} or null,
 * "on_time_proven"}]}; times RFC 3339 at +08:00; the report's fields null
 * for a missing report. keys: the witness keys given. New reference, NULL
 * when out of memory. */
json_t *zb_timeliness_json(const zb_timeliness *t, const uint8_t (*keys)[ZB_PK_LEN], size_t n_keys);

/* The verdict as `timeliness` prints it, in the chosen language (i18n.h):
 * a header row, one row per county aligned by display width (a Chinese
 * character takes two columns), the status as zb_label gives it
 * (按时/迟报/未报), and "proven on time: N of M counties". */
void zb_timeliness_print(FILE *out, const zb_timeliness *t);

#endif
