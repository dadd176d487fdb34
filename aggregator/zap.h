/*
 * zap.h - the aggregator's ZeroMQ authentication handler (ZAP, RFC 27),
 * and the watch over every connection the server refuses.
 *
 * CurveZMQ without a ZAP handler admits any client that knows the server's
 * public key. This handler admits a CURVE client only when its public key
 * is the (X25519 form of the) key enrolled for some county, active or
 * revoked, and names that county and the very key as the connection's
 * User-Id ("CODE:" and the 64 hex digits of the CURVE key), which the
 * server then requires every Hello and Batch to match: a Hello must name
 * the key the connection authenticated with, and only the county's active
 * key is served as the county; a revoked one is let in only to learn that
 * it was revoked (its Welcome's key events). A key never enrolled is
 * refused.
 *
 * Refused connections. libzmq refuses some peers before ZAP is ever asked
 * (a NULL or PLAIN client, a CURVE client with another server key, bytes
 * that are not ZMTP 3); a socket monitor on the server's ROUTER
 * (zb_zap_watch) reports those. Every refused connection attempt is
 * counted under one zb_conn_refusal kind, and logged at most once per
 * (kind, peer address) per minute, with the number of attempts left out
 * since the last line: ZB-AGG-ZAP-DENIED (a CURVE key that is not
 * enrolled) and ZB-AGG-CONN-REFUSED (the others).
 *
 * The protocol (frames, version, mechanism, reply) is common/zaprep.h;
 * the admission policy, the monitor and the thread are here.
 *
 * Threads: ONE thread of its own, with its own REP socket on
 * inproc://zeromq.zap.01 and the monitor's PAIR socket, both in the
 * server's context. At every request it checks the store's keys
 * generation in a read transaction of its own (LMDB read transactions
 * belong to their thread) and re-reads the admitted keys when an enroll or
 * a revoke changed them, so a key enrolled while the server runs is
 * admitted on its first connection. A read transaction must never be open
 * while the map is remapped: the server's thread holds zb_zap_exclusive
 * around every call that may remap it (zb_store_grow, and zb_store_begin,
 * which adopts a size another process set).
 */
#ifndef ZB_ZAP_H
#define ZB_ZAP_H

#include <stdint.h>

#include "agg.h"

/* The User-Id of an admitted connection: "CODE:" || hex(CURVE key), NUL. */
#define ZB_ZAP_USER_ID_LEN (6 + 1 + 64 + 1)

typedef struct zb_zap zb_zap;

/* The kinds of refused connection attempts, as counted in the store's
 * refusals (zhibao-agg status) under zb_zap_refusal_name(kind). */
typedef enum {
    ZB_CONN_UNENROLLED,  /* "UNENROLLED_CONNECTION": CURVE key never enrolled (ZAP 400) */
    ZB_CONN_MECHANISM,   /* "BAD_MECHANISM": NULL or PLAIN instead of CURVE */
    ZB_CONN_CURVE,       /* "CURVE_FAILED": CURVE handshake that does not decrypt (another
                          * aggregator key at the client, or altered bytes) */
    ZB_CONN_HANDSHAKE,   /* "HANDSHAKE_FAILED": no ZMTP 3 handshake at all (other bytes, an
                          * old ZMTP version, a malformed command, closed or timed out
                          * before the handshake ended) */
    ZB_CONN_KINDS
} zb_conn_refusal;

/* Bind the handler in ctx and start its thread, admitting the keys enrolled
 * in a's store now (a must outlive the handler). Must be called before the
 * server socket binds. 0 or ZB_ENET / ZB_ENOMEM / ZB_ESTORE. */
int zb_zap_start(zb_zap **out, void *ctx, zb_agg *a);
/* Watch router (the server's socket, same context; call from its thread
 * before it binds) for connections refused before ZAP runs. 0 or ZB_ENET. */
int zb_zap_watch(zb_zap *z, void *router);
/* Stop the thread and close its sockets; clears *z. NULL-safe. */
void zb_zap_stop(zb_zap **z);
/* Connection attempts refused so far of one kind (monotonic; any thread). */
uint64_t zb_zap_refused(const zb_zap *z, zb_conn_refusal kind);
/* The name a kind is counted under ("UNENROLLED_CONNECTION", ...). */
const char *zb_zap_refusal_name(zb_conn_refusal kind);
/* Hold (1) / release (0) the store against the handler's reads, around
 * anything that may remap the LMDB map (server thread). */
void zb_zap_exclusive(zb_zap *z, int hold);

#endif
