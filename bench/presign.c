/*
 * presign.c - fill a county node's outbox with signed reports, offline
 * (the untimed preparation of the ingest, memory and scaling scenarios).
 * Uses the node's own code: zb_node_create, then zb_node_submit in
 * transactions of --chunk reports (numbering, chaining, signing, storing
 * exactly as `zhibao-node submit` does).
 *
 *   zb-bench-presign --dir D --county CODE --count N
 *                    [--endpoint E --agg-key HEX]   (needed when D has no node yet)
 *                    [--prefix P] [--chunk K]
 *                    [--kind mixed|office] [--month-accidents A]
 *
 * Appends N reports to the node (creating it first when needed) and
 * prints the node's public key (hex) as the last line of stdout. --kind
 * mixed (default): two accidents then one monthly report, all in 2026-10
 * (the ingest and latency scenarios); office: the store spread over the
 * years with A new accidents (default 125) in the queried month
 * (zb_bench_office_report, bench_reports.h). Report i is the same whatever
 * the number of runs that append it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_reports.h"
#include "err.h"
#include "log.h"
#include "node.h"

int main(int argc, char **argv)
{
    const char *dir = NULL, *county = NULL, *endpoint = "tcp://127.0.0.1:7400", *agg_key = NULL;
    const char *prefix = "B", *kind = "mixed";
    long long count = -1, chunk = 5000, month_accidents = 125;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--dir") == 0)
            dir = v;
        else if (strcmp(k, "--county") == 0)
            county = v;
        else if (strcmp(k, "--endpoint") == 0)
            endpoint = v;
        else if (strcmp(k, "--agg-key") == 0)
            agg_key = v;
        else if (strcmp(k, "--prefix") == 0)
            prefix = v;
        else if (strcmp(k, "--count") == 0)
            count = atoll(v);
        else if (strcmp(k, "--chunk") == 0)
            chunk = atoll(v);
        else if (strcmp(k, "--kind") == 0)
            kind = v;
        else if (strcmp(k, "--month-accidents") == 0)
            month_accidents = atoll(v);
    }
    bool office = strcmp(kind, "office") == 0;
    if (!dir || !county || count < 0 || chunk < 1 || month_accidents < 0 ||
        (!office && strcmp(kind, "mixed") != 0)) {
        fprintf(stderr, "usage: zb-bench-presign --dir D --county CODE --count N "
                        "[--endpoint E --agg-key HEX] [--prefix P] [--chunk K] "
                        "[--kind mixed|office] [--month-accidents A]\n");
        return 2;
    }
    zb_bench_office plan = {county, prefix, (uint64_t)month_accidents};
    zb_log_init("zb-bench-presign", ZB_LOG_WARN, false);
    if (zb_crypto_init() != 0)
        return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, ZB_IDENTITY_FILE);
    if (access(path, F_OK) != 0) {
        char pk[2 * ZB_PK_LEN + 1];
        int rc = agg_key ? zb_node_create(dir, county, endpoint, agg_key, pk) : ZB_EINVAL;
        if (rc != 0) {
            fprintf(stderr, "presign: cannot create node in %s: %s\n", dir, zb_strerror(rc));
            return 1;
        }
    }
    zb_node *n = NULL;
    int rc = zb_node_open(&n, dir, false);
    if (rc != 0) {
        fprintf(stderr, "presign: cannot open node %s: %s\n", dir, zb_strerror(rc));
        return 1;
    }
    zb_node_status st;
    if ((rc = zb_node_get_status(n, &st)) != 0)
        goto fail;
    Zb__Report **batch = calloc((size_t)chunk, sizeof *batch);
    if (!batch) {
        rc = ZB_ENOMEM;
        goto fail;
    }
    uint64_t next = st.stored + 1;
    for (long long done = 0; done < count && rc == 0;) {
        size_t k = (size_t)(count - done < chunk ? count - done : chunk);
        for (size_t j = 0; j < k; j++) {
            batch[j] = office ? zb_bench_office_report(next + j, &plan)
                              : zb_bench_report(next + j, prefix, ZB_BENCH_MIXED);
            if (!batch[j]) {
                rc = ZB_EVALIDATION;
                k = j;
                break;
            }
        }
        zb_problems problems = {0};
        uint64_t first = 0, last = 0;
        if (rc == 0)
            rc = zb_node_submit(n, batch, k, (int64_t)time(NULL), true, &problems, &first, &last);
        for (size_t j = 0; j < problems.n && j < 5; j++)
            fprintf(stderr, "presign: %s\n", problems.lines[j]);
        zb_problems_free(&problems);
        for (size_t j = 0; j < k; j++)
            zb__report__free_unpacked(batch[j], NULL);
        next += k;
        done += (long long)k;
    }
    free(batch);
    if (rc != 0)
        goto fail;
    char hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(zb_node_identity(n)->pk, ZB_PK_LEN, hex);
    printf("%s\n", hex);
    zb_node_close(&n);
    return 0;
fail:
    fprintf(stderr, "presign: %s: %s\n", dir, zb_strerror(rc));
    zb_node_close(&n);
    return 1;
}
