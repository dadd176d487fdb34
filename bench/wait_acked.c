/*
 * wait_acked.c - wait until county nodes have every stored report
 * acknowledged (meta acked_seq >= last_seq), polling their stores
 * read-only while their sync processes run. bench/run.sh times ingests
 * with it: the node records acked_seq only after the aggregator's durable
 * commit, so this is "the last ack is durable", without the tail that
 * `zhibao-node sync --once` spends waiting for receipts before it exits.
 *
 *   zb-bench-wait-acked [--timeout S] [--poll-ms M] [--receipted] DIR...
 *
 * Prints {"seconds": T, "acked": A, "stored": S}; exit 0 when all acked,
 * 3 on timeout. --receipted: go on until every report also has its
 * verified receipt stored (meta receipted_seq), and add
 * "receipted_seconds" (from the same start), "receipted", and both
 * moments as CLOCK_MONOTONIC seconds ("acked_mono", "receipted_mono") for
 * a caller that timed something else on the same clock.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "log.h"
#include "node.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double timeout = 600, t0 = now_s();
    long poll_ms = 10;
    int first = 1;
    bool want_receipts = false;
    while (first < argc && strncmp(argv[first], "--", 2) == 0) {
        if (strcmp(argv[first], "--receipted") == 0) {
            want_receipts = true;
            first++;
            continue;
        }
        if (first + 1 >= argc)
            break;
        if (strcmp(argv[first], "--timeout") == 0)
            timeout = atof(argv[first + 1]);
        else if (strcmp(argv[first], "--poll-ms") == 0)
            poll_ms = atol(argv[first + 1]);
        first += 2;
    }
    int count = argc - first;
    if (count < 1 || count > 64 || poll_ms < 1) {
        fprintf(stderr, "usage: zb-bench-wait-acked [--timeout S] [--poll-ms M] [--receipted] "
                        "DIR...\n");
        return 2;
    }
    zb_log_init("zb-bench-wait-acked", ZB_LOG_WARN, false);
    zb_node *nodes[64] = {0};
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++)
        if ((rc = zb_node_open(&nodes[i], argv[first + i], true)) != 0)
            fprintf(stderr, "wait-acked: %s: %s\n", argv[first + i], zb_strerror(rc));
    uint64_t acked = 0, stored = 0, receipted = 0;
    double acked_at = -1;
    while (rc == 0) {
        acked = stored = receipted = 0;
        for (int i = 0; i < count && rc == 0; i++) {
            /* meta only: cheaper than zb_node_get_status, which also walks
             * the receipts, on a machine whose cores the ingest needs */
            MDB_txn *txn;
            if ((rc = zb_store_begin(zb_node_store(nodes[i]), true, &txn)) != 0)
                break;
            MDB_dbi meta = zb_store_dbi(zb_node_store(nodes[i]), NODE_DB_META);
            uint64_t a = 0, s = 0;
            (void)zb_store_get_u64(txn, meta, "acked_seq", &a, 0);
            (void)zb_store_get_u64(txn, meta, "last_seq", &s, 0);
            uint64_t r = want_receipts ? zb_node_receipted_seq(nodes[i], txn) : 0;
            mdb_txn_abort(txn);
            acked += a < s ? a : s;
            receipted += r < s ? r : s;
            stored += s;
        }
        if (rc == 0 && acked >= stored && acked_at < 0)
            acked_at = now_s() - t0; /* this poll's moment, within poll_ms */
        if (rc != 0 || (acked >= stored && (!want_receipts || receipted >= stored)))
            break;
        if (now_s() - t0 > timeout) {
            rc = ZB_ETIMEOUT;
            break;
        }
        struct timespec ts = {0, poll_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    double elapsed = now_s() - t0;
    for (int i = 0; i < count; i++)
        zb_node_close(&nodes[i]);
    if (want_receipts)
        printf("{\"seconds\": %.3f, \"acked\": %llu, \"stored\": %llu, "
               "\"receipted_seconds\": %.3f, \"receipted\": %llu, \"acked_mono\": %.6f, "
               "\"receipted_mono\": %.6f}\n",
               acked_at >= 0 ? acked_at : elapsed, (unsigned long long)acked,
               (unsigned long long)stored, elapsed, (unsigned long long)receipted,
               t0 + (acked_at >= 0 ? acked_at : elapsed), t0 + elapsed);
    else
        printf("{\"seconds\": %.3f, \"acked\": %llu, \"stored\": %llu}\n", elapsed,
               (unsigned long long)acked, (unsigned long long)stored);
    if (rc != 0 && rc != ZB_ETIMEOUT)
        fprintf(stderr, "wait-acked: %s\n", zb_strerror(rc));
    return rc == 0 ? 0 : (rc == ZB_ETIMEOUT ? 3 : 1);
}
