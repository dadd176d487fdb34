/*
 * witcli.h - serve's side of the witnesses: send each new tree head, with
 * a consistency proof, to every configured witness (zhibao-agg witness) and
 * store the cosignatures they return (tlog.h), from where every head the
 * aggregator hands out carries them (receipts, Acks, Welcomes, tree-head
 * files, bundles).
 *
 * A witness cosigns a head only when it extends the last head of this log
 * it cosigned (docs/protocol.md section 13). Per witness one request is in
 * flight: the newest head, with PROOF(the witness's size, newest size) --
 * or, for a witness behind the newest head another witness cosigned, that
 * head, so that witnesses converge on common heads under steady load (a
 * node's quorum of K needs K cosignatures on one head).
 * The witness's size is first taken from the cosignatures stored here and
 * corrected by its CONFLICT answers (a witness restored from a backup, one
 * added with history). A REFUSED head is never sent to that witness again
 * (the next head is); a witness that cosigned a larger head of this log
 * than this store holds (ZB-AGG-WITNESS-AHEAD: this store was rolled back,
 * or is a copy) is sent nothing until the log grows past it. A request
 * without an answer after ZB_WITCLI_TIMEOUT_MS is dropped with its socket
 * (a late answer can then not be taken for the next request's) and sent
 * again. Nothing waits on a witness: sends never block, and the
 * acknowledgements to the counties do not wait for any cosignature.
 *
 * Threads: none of its own; every call is made from serve's loop thread.
 * Write transactions (storing a cosignature) are begun under
 * zb_zap_exclusive, as every transaction of the loop.
 */
#ifndef ZB_WITCLI_H
#define ZB_WITCLI_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <zmq.h>

#include "agg.h"
#include "cosig.h"
#include "zap.h"

#define ZB_WITCLI_TIMEOUT_MS                                                                       \
    3000                         /* an unanswered request is sent again (a witness answers in ms) */
#define ZB_WITCLI_RETRY_MS 30000 /* after UNKNOWN_LOG / BAD_REQUEST / an undecodable answer */

/* ---- the list (zhibao-agg witness), each change one write transaction */

/* Add a witness (or give it another endpoint). Errors: ZB_EINVAL (an
 * endpoint empty or longer than ZB_WITNESS_ENDPOINT_MAX), ZB_ETOOBIG (already
 * ZB_WITNESS_MAX witnesses), ZB_EIO/ZB_ESTORE. *was_new: it was not listed. */
int zb_witcli_add(zb_agg *a, const uint8_t key[ZB_PK_LEN], const char *endpoint, bool *was_new);
/* Remove one (the cosignatures it gave stay). ZB_ENOTFOUND: not listed. */
int zb_witcli_remove(zb_agg *a, const uint8_t key[ZB_PK_LEN]);
/* The list as JSON: {"witnesses": [{"key", "endpoint", "added_at",
 * "cosigned_size", "cosigned_at"}], "log_size", "witnessed_size"}
 * (cosigned_*: the newest head it cosigned that this store holds, null
 * when none). *out: a new reference. */
int zb_witcli_list(zb_agg *a, json_t **out);

typedef struct zb_witcli zb_witcli;

/* A client in the server's ZeroMQ context, for the witnesses configured in
 * a's store (re-read whenever `zhibao-agg witness` changes them). zap is
 * the server's ZAP handler (for zb_zap_exclusive). Errors: ZB_ENOMEM. */
int zb_witcli_open(zb_witcli **out, void *zmq_ctx, zb_agg *a, zb_zap *zap);
/* NULL-safe, idempotent; clears *w. */
void zb_witcli_close(zb_witcli **w);

/* Fill items[0..max) with the sockets to poll for answers; returns how
 * many (at most ZB_WITNESS_MAX). */
size_t zb_witcli_pollitems(zb_witcli *w, zmq_pollitem_t *items, size_t max);

/* Take the answers that arrived, and send the newest head where a witness
 * has nothing in flight. now_ms: a monotonic clock. Never blocks; errors
 * are logged (ZB-AGG-WITNESS*) and tried again later. */
void zb_witcli_tick(zb_witcli *w, int64_t now_ms);

#endif
