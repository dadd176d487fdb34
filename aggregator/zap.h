/*
 * zap.h - the aggregator's ZeroMQ authentication handler (ZAP, RFC 27).
 *
 * CurveZMQ without a ZAP handler admits any client that knows the server's
 * public key. This handler admits a CURVE client only when its public key
 * is the (X25519 form of the) active, enrolled key of some county, and
 * names that county as the connection's User-Id, which the server then
 * requires every Hello and Batch to match. Every refusal is logged and
 * counted.
 *
 * Runs ONE thread of its own with its own REP socket on
 * inproc://zeromq.zap.01 in the server's context. It never touches the
 * store: the main thread installs a snapshot of the admitted keys
 * (zb_zap_reload) whenever enrolments change.
 */
#ifndef ZB_ZAP_H
#define ZB_ZAP_H

#include <stdint.h>

#include "agg.h"

typedef struct zb_zap zb_zap;

/* Bind the handler in ctx and start its thread, admitting nobody until
 * the first zb_zap_reload. Must be called before the server socket binds.
 * 0 or ZB_ENET / ZB_ENOMEM. */
int zb_zap_start(zb_zap **out, void *ctx);
/* Install the active enrolled keys read in txn (main thread). */
int zb_zap_reload(zb_zap *z, zb_agg *a, MDB_txn *txn);
/* Stop the thread and close its socket; clears *z. NULL-safe. */
void zb_zap_stop(zb_zap **z);
/* Connections refused so far (monotonic; any thread). */
uint64_t zb_zap_denied(const zb_zap *z);

#endif
