/*
 * latency.c - accident direct-report latency: submit -> receipt stored on
 * the node, one report at a time, with the node's sync daemon
 * (`zhibao-node sync`, a separate process) delivering them.
 *
 * The node is opened in-process (zb_node_open) so no process start-up is
 * timed. Each report is submitted with zb_node_submit (one durable LMDB
 * transaction), then the store is polled (fresh read transaction every
 * --poll-us) until meta acked_seq covers it and zb_node_find_receipt
 * finds a stored receipt for it. The daemon and this program share the
 * LMDB environment from two processes, which LMDB supports. A random pause
 * of 0..--gap-ms between reports keeps submissions out of step with the
 * daemon's own polling.
 *
 *   zb-bench-latency --dir D --count N [--gap-ms G] [--poll-us U]
 *                    [--timeout-ms T] [--prefix P] [--stop-file F]
 *                    [--samples-out F]
 *
 * --stop-file: stop early, before the next report, once F exists (bench/run.sh
 * creates it when the backlog the loaded measurement runs beside is
 * delivered, so every sample saw the load). --samples-out: append each
 * latency (ms, one per line) to F, to pool several runs.
 *
 * Prints one JSON object: latencies in ms (p50, p90, p99, max, mean), the
 * submit part alone, and how many reports timed out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_reports.h"
#include "err.h"
#include "log.h"
#include "node.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

/* 1 when seq is acknowledged and its receipt is stored, 0 not yet, <0 error */
static int receipted(zb_node *n, uint64_t seq)
{
    MDB_txn *txn;
    int rc = zb_store_begin(zb_node_store(n), true, &txn);
    if (rc)
        return rc;
    uint64_t acked = 0;
    (void)zb_store_get_u64(txn, zb_store_dbi(zb_node_store(n), NODE_DB_META), "acked_seq",
                           &acked, 0);
    int done = 0;
    if (acked >= seq) {
        uint8_t *buf = NULL;
        size_t len = 0;
        if (zb_node_find_receipt(n, txn, seq, &buf, &len) == 0) {
            done = 1;
            free(buf);
        }
    }
    mdb_txn_abort(txn);
    return done;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *stop_file = NULL, *samples_out = NULL;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "LAT%ld", (long)getpid());
    long count = 1000, gap_ms = 10, poll_us = 100, timeout_ms = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--dir") == 0)
            dir = v;
        else if (strcmp(k, "--count") == 0)
            count = atol(v);
        else if (strcmp(k, "--gap-ms") == 0)
            gap_ms = atol(v);
        else if (strcmp(k, "--poll-us") == 0)
            poll_us = atol(v);
        else if (strcmp(k, "--timeout-ms") == 0)
            timeout_ms = atol(v);
        else if (strcmp(k, "--samples-out") == 0)
            samples_out = v;
        else if (strcmp(k, "--stop-file") == 0)
            stop_file = v;
        else if (strcmp(k, "--prefix") == 0)
            snprintf(prefix, sizeof prefix, "%s", v);
    }
    if (!dir || count < 1 || gap_ms < 0 || poll_us < 1 || timeout_ms < 1) {
        fprintf(stderr, "usage: zb-bench-latency --dir D --count N [--gap-ms G] [--poll-us U] "
                        "[--timeout-ms T] [--prefix P]\n");
        return 2;
    }
    zb_log_init("zb-bench-latency", ZB_LOG_WARN, false);
    if (zb_crypto_init() != 0)
        return 1;
    zb_node *n = NULL;
    int rc = zb_node_open(&n, dir, false);
    if (rc != 0) {
        fprintf(stderr, "latency: cannot open node %s: %s\n", dir, zb_strerror(rc));
        return 1;
    }
    double *lat = calloc((size_t)count, sizeof *lat), *sub = calloc((size_t)count, sizeof *sub);
    if (!lat || !sub) {
        rc = ZB_ENOMEM;
        goto out;
    }
    size_t ok = 0, timeouts = 0;
    double sum = 0;
    srand((unsigned)getpid());
    long submitted = 0;
    for (long i = 0; i < count; i++) {
        if (stop_file && access(stop_file, F_OK) == 0)
            break;
        submitted++;
        Zb__Report *r = zb_bench_report((uint64_t)i, prefix, ZB_BENCH_ACCIDENT);
        if (!r) {
            rc = ZB_EVALIDATION;
            goto out;
        }
        zb_problems problems = {0};
        uint64_t seq = 0, last = 0;
        double t0 = now_ms();
        rc = zb_node_submit(n, &r, 1, (int64_t)time(NULL), false, &problems, &seq, &last);
        double t1 = now_ms();
        for (size_t j = 0; j < problems.n; j++)
            fprintf(stderr, "latency: %s\n", problems.lines[j]);
        zb_problems_free(&problems);
        zb__report__free_unpacked(r, NULL);
        if (rc != 0)
            goto out;
        int got;
        while ((got = receipted(n, seq)) == 0 && now_ms() - t0 < (double)timeout_ms)
            sleep_us(poll_us);
        if (got < 0) {
            rc = got;
            goto out;
        }
        double t2 = now_ms();
        if (got) {
            lat[ok] = t2 - t0;
            sub[ok] = t1 - t0;
            sum += lat[ok];
            ok++;
        } else {
            timeouts++;
        }
        if (gap_ms > 0)
            sleep_us((long)(rand() % (int)(gap_ms * 1000 + 1)));
    }
    if (samples_out) {
        FILE *f = fopen(samples_out, "a");
        if (!f) {
            fprintf(stderr, "latency: cannot append to %s\n", samples_out);
            rc = ZB_EIO;
            goto out;
        }
        for (size_t j = 0; j < ok; j++)
            fprintf(f, "%.3f\n", lat[j]);
        if (fclose(f) != 0) {
            rc = ZB_EIO;
            goto out;
        }
    }
    qsort(lat, ok, sizeof *lat, cmp_double);
    qsort(sub, ok, sizeof *sub, cmp_double);
    printf("{\"count\": %ld, \"ok\": %zu, \"timeouts\": %zu, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
           "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f, \"submit_p50_ms\": %.3f, "
           "\"submit_p99_ms\": %.3f}\n",
           submitted, ok, timeouts, pct(lat, ok, 0.50), pct(lat, ok, 0.90), pct(lat, ok, 0.99),
           ok ? lat[ok - 1] : 0.0, ok ? sum / (double)ok : 0.0, pct(sub, ok, 0.50),
           pct(sub, ok, 0.99));
    rc = timeouts ? ZB_ETIMEOUT : 0;
out:
    if (rc != 0 && rc != ZB_ETIMEOUT)
        fprintf(stderr, "latency: %s\n", zb_strerror(rc));
    free(lat);
    free(sub);
    zb_node_close(&n);
    return rc == 0 ? 0 : 1;
}
