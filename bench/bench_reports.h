/*
 * bench_reports.h - valid report content for the benchmark tools, built
 * through the same JSON contract a county clerk uses (zb_report_from_json),
 * so every generated report passes the shared validation rules.
 */
#ifndef ZB_BENCH_REPORTS_H
#define ZB_BENCH_REPORTS_H

#include <stdint.h>

#include "zhibao.pb-c.h"

typedef enum {
    ZB_BENCH_MIXED,   /* two accidents, then one monthly report, repeating */
    ZB_BENCH_ACCIDENT /* accidents only (initial reports, revision 0) */
} zb_bench_kind;

/* Content of report number i (header left to zb_node_submit). accident_id
 * is "<prefix>-<i>", so prefix + i must be unique within a node. Envelopes
 * come out at 450-600 bytes. NULL on failure (printed to stderr). Free with
 * zb__report__free_unpacked(r, NULL). */
Zb__Report *zb_bench_report(uint64_t i, const char *prefix, zb_bench_kind kind);

/* An office's store, as the growth scenario builds it: the same 2:1 mix of
 * accidents and monthly reports as ZB_BENCH_MIXED, but spread over the
 * years, with one month (ZB_BENCH_HOT_PERIOD, the month the benchmark
 * queries) holding a fixed amount whatever the store's size.
 *
 * A node's reports come in blocks of 12 (8 accident reports, 4 monthly):
 * 5 new accidents in even blocks and 4 in odd ones, plus revisions
 * (accident 0 of a block gets revisions 1, 2 and, in odd blocks, 3;
 * accident 1 gets revision 1), each revision later in the same block, with
 * occurred_at unchanged. The first hot_blocks blocks (enough for
 * month_accidents new accidents) are accidents of the hot month; every
 * later accident occurred on a day between 2000-01-01 and the end of the
 * month before it. The node's first monthly reports file 2026-01 ..
 * 2026-10 once each, then, for some counties (seeded by the code), a
 * second version of 2026-10 and of one earlier 2026 month; every later
 * monthly report is for a period in 2000-01 .. 2025-12. So report monthly
 * for the hot month, report accidents over it and report matrix over 2026
 * return the same rows at every store size, and further reports land in
 * other months and years.
 *
 * Report i of a node depends only on (county, prefix, month_accidents, i):
 * a node can be filled in any number of runs. All times are +08:00 and
 * before the end of the hot month; created_at is set when the node signs. */
#define ZB_BENCH_HOT_PERIOD "2026-10"

typedef struct {
    const char *county;       /* seeds the per-county variation */
    const char *prefix;       /* accident_id is "<prefix>-<block>-<k>" */
    uint64_t month_accidents; /* new accidents of the hot month on this node */
} zb_bench_office;

/* Content of the office store's report number i (1-based, the node's seq
 * when the node started empty). NULL on failure (printed to stderr). Free
 * with zb__report__free_unpacked(r, NULL). */
Zb__Report *zb_bench_office_report(uint64_t i, const zb_bench_office *o);

#endif
