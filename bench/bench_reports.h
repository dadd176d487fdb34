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

#endif
