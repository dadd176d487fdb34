/*
 * wzap.h - the serving witness's ZeroMQ authentication handler (ZAP, RFC
 * 27): only the aggregators of the logs this witness follows may talk to
 * it.
 *
 * CurveZMQ without a ZAP handler admits any client that knows the server's
 * public key; anyone could then send a real (public) signed head with a
 * garbage consistency proof and have evidence kept against an honest log.
 * This handler admits a CURVE client only when its public key is the
 * X25519 form (crypto_sign_ed25519_pk_to_curve25519) of the Ed25519 key of
 * a log the witness follows, and names that Ed25519 key (64 hex digits) as
 * the connection's User-Id, which the serve loop passes to
 * zb_witness_handle_from: a connection speaks for its own log only.
 * Everything else (another key, NULL or PLAIN, a malformed ZAP request)
 * gets ZAP 400 and never reaches the request handler; refusals are counted
 * and logged ZB-WIT-ZAP-DENIED at most once a minute per peer address,
 * with the number of attempts left out since the last line.
 *
 * The protocol (frames, version, mechanism, reply) is common/zaprep.h;
 * the admission policy, the rate-limited log and the thread are here.
 *
 * Threads: ONE thread of its own, with its own REP socket on
 * inproc://zeromq.zap.01 in the serve loop's context. It touches only its
 * socket, its own snapshot of the admitted keys, its log rate limit and
 * the store through zb_wstore_log_keys: at every ZAP request it checks the
 * store's logs generation in a read transaction of its own and re-reads
 * the followed keys when `add-log` added one (also from another process,
 * while serving), so a log followed a moment ago is admitted on its first
 * connection. The serve thread's writes exclude that read around anything
 * that may remap the map (wstore.h, Threads).
 */
#ifndef ZB_WZAP_H
#define ZB_WZAP_H

#include <stdint.h>

#include "wstore.h"

typedef struct zb_wzap zb_wzap;

/* Bind the handler in zmq context ctx and start its thread, admitting the
 * logs followed in store now (store must outlive the handler). Call before
 * the serving socket binds, and set ZMQ_ZAP_DOMAIN on it. 0 or ZB_ENET,
 * ZB_ENOMEM, ZB_ESTORE (the keys cannot be read). */
int zb_wzap_start(zb_wzap **out, void *ctx, zb_wstore *store);
/* Stop the thread and close its socket; clears *z. NULL-safe, idempotent. */
void zb_wzap_stop(zb_wzap **z);
/* Connections refused so far (monotonic; any thread). */
uint64_t zb_wzap_refused(const zb_wzap *z);

#endif
