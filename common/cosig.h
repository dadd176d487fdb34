/*
 * cosig.h - witness cosignatures of the aggregator's tree heads.
 *
 * A witness (zhibao-witness) cosigns a tree head only after checking that
 * it extends every head of the same log it cosigned before, and dates the
 * cosignature with its own clock. What it signs is rebuilt from the head:
 *
 *   "zhibao/cosignature/v1\0" || aggregator key (32) || size (u64 BE)
 *       || root (32) || timestamp (i64 BE)
 *
 * so a cosignature cannot be moved to another head, another log or another
 * time. Shared by the witness (signs), the aggregator (checks what it
 * stores), the node (quorum) and zhibao-audit (quorum, timeliness), so
 * every party checks the same way. Pure functions.
 */
#ifndef ZB_COSIG_H
#define ZB_COSIG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "treehead.h"
#include "zhibao.pb-c.h"

/* At most this many witness keys are configured anywhere (node, aggregator,
 * auditor); zb_cosig_tally_head looks at no more than 4 times as many
 * cosignatures on one head (room for unlisted witnesses). */
#define ZB_WITNESS_MAX 16

/* Sign head of log agg_pk at timestamp as witness. 0 or ZB_ENOMEM. */
int zb_cosig_sign(const zb_identity *witness, const uint8_t agg_pk[ZB_PK_LEN],
                  const zb_tree_head *head, int64_t timestamp, uint8_t sig[ZB_SIG_LEN]);

/* Verify one cosignature of head (of log agg_pk). 0, ZB_EDECODE (a field
 * of the wrong length) or ZB_EBADSIG. */
__attribute__((warn_unused_result)) int zb_cosig_verify(const Zb__Cosignature *c,
                                                        const uint8_t agg_pk[ZB_PK_LEN],
                                                        const zb_tree_head *head);

/* What the cosignatures on one head say, judged against a list of witness
 * keys the caller trusts. */
typedef struct {
    size_t valid;                  /* listed witnesses with a valid cosignature (each once) */
    size_t invalid;                /* cosignatures naming a listed witness that do not verify */
    size_t unlisted;               /* cosignatures by keys not in the list (not checked) */
    int64_t times[ZB_WITNESS_MAX]; /* the valid ones' timestamps, ascending */
    uint8_t witnesses[ZB_WITNESS_MAX][ZB_PK_LEN]; /* and their keys, in the same order */
} zb_cosig_tally;

/* Tally sth's cosignatures for head (already verified from sth with
 * zb_tree_head_verify against agg_pk) against keys[0..n_keys), n_keys <=
 * ZB_WITNESS_MAX. A witness that cosigned twice counts once (its earliest
 * valid timestamp). Never fails: bad cosignatures are counted as invalid. */
void zb_cosig_tally_head(const Zb__SignedTreeHead *sth, const uint8_t agg_pk[ZB_PK_LEN],
                         const zb_tree_head *head, const uint8_t (*keys)[ZB_PK_LEN], size_t n_keys,
                         zb_cosig_tally *out);

/* The time by which `quorum` listed witnesses had cosigned (the quorum-th
 * earliest valid timestamp), or 0 and ZB_ENOTFOUND when fewer did.
 * quorum 0 is ZB_EINVAL. */
int zb_cosig_quorum_time(const zb_cosig_tally *t, size_t quorum, int64_t *at);

/* The largest WitnessRequest / WitnessResponse frame (a head, a
 * consistency proof of at most ZB_MERKLE_MAX_PROOF hashes, a reason). */
#define ZB_WITNESS_FRAME_MAX (16u * 1024u)

/* What a witness answered to a request for head (of log agg_pk), as the
 * aggregator reads it. */
typedef struct {
    Zb__WitnessStatus status;
    uint64_t size;                /* CONFLICT, REFUSED: the witness's cosigned size (0: not said) */
    char reason[200];             /* REFUSED, BAD_REQUEST: printable ASCII, may be empty */
    Zb__Cosignature *cosignature; /* COSIGNED: verified for head by witness_pk; heap-built,
                                     free with zb__cosignature__free_unpacked */
} zb_witness_answer;

/* Decode a WitnessResponse from the witness witness_pk to a request for
 * head: a COSIGNED answer must carry a cosignature by witness_pk that
 * verifies for head. 0 (out filled), ZB_EDECODE (too long, undecodable, an
 * unknown status, a COSIGNED without a valid cosignature: out->status
 * says what was claimed). */
__attribute__((warn_unused_result)) int zb_witness_answer_open(const uint8_t *bytes, size_t len,
                                                               const uint8_t witness_pk[ZB_PK_LEN],
                                                               const uint8_t agg_pk[ZB_PK_LEN],
                                                               const zb_tree_head *head,
                                                               zb_witness_answer *out);

/* Parse a list of witness keys given as hex ("--witness-key"), without
 * repeats. 0, or ZB_EINVAL with field/reason in err (one line). */
int zb_cosig_parse_keys(const char *const *hex, size_t n, uint8_t (*out)[ZB_PK_LEN], char *err,
                        size_t errlen);

#endif
