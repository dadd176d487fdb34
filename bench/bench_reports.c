/*
 * bench_reports.c - report content for the benchmark (bench_reports.h).
 */
#include "bench_reports.h"

#include <jansson.h>
#include <stdio.h>

#include "report.h"

static json_t *accident_json(uint64_t i, const char *prefix)
{
    char id[64];
    snprintf(id, sizeof id, "%s-%llu", prefix, (unsigned long long)i);
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:i, s:i, "
                     "s:i, s:i, s:I, s:s, s:s}",
                     "type", "accident", "accident_id", id, "revision", 0, "occurred_at",
                     "2026-10-14T08:30:00+08:00", "county_notified_at",
                     "2026-10-14T08:50:00+08:00", "place", "延吉市北山街道某在建住宅项目3号楼",
                     "unit", "name", "延吉某建筑工程有限公司", "credit_code",
                     "91222401MA0Y5K2D9A", "industry", "房屋建筑", "industry", "construction",
                     "summary", "塔吊吊运钢筋时吊索断裂，钢筋坠落，造成1人死亡、2人重伤。",
                     "deaths", (int)(i % 3), "missing", 0, "serious_injuries", 2,
                     "minor_injuries", 0, "direct_loss_yuan", (json_int_t)(1000 * (i % 997)),
                     "measures_taken", "现场已停工，伤者送延边大学附属医院救治。", "other", "");
}

static json_t *monthly_json(uint64_t i)
{
    return json_pack("{s:s, s:s, s:[{s:i, s:s, s:s, s:s}, {s:i, s:s, s:s}], "
                     "s:{s:I, s:I, s:I, s:i, s:i, s:I, s:i}}",
                     "type", "monthly", "period", "2026-10", "tasks", "task", 3, "status",
                     "done", "progress", "县委常委会专题研究安全生产工作2次。", "next_steps",
                     "开展年度考核。", "task", 5, "status", "in_progress", "progress",
                     "督促126家规模以上企业建立全员安全生产责任制。", "stats", "inspections",
                     (json_int_t)(100 + i % 50), "hazards_found", (json_int_t)(i % 40),
                     "hazards_fixed", (json_int_t)(i % 30), "major_hazards_listed", 1,
                     "training_sessions", 6, "penalties_yuan", (json_int_t)(1000 * (i % 100)),
                     "accidents", 0);
}

Zb__Report *zb_bench_report(uint64_t i, const char *prefix, zb_bench_kind kind)
{
    json_t *j = (kind == ZB_BENCH_MIXED && i % 3 == 2) ? monthly_json(i) : accident_json(i, prefix);
    if (!j) {
        fprintf(stderr, "bench: cannot build report JSON\n");
        return NULL;
    }
    zb_problems problems = {0}, warnings = {0};
    Zb__Report *r = zb_report_from_json(j, "", &problems, &warnings);
    for (size_t k = 0; k < problems.n; k++)
        fprintf(stderr, "bench: report %llu: %s\n", (unsigned long long)i, problems.lines[k]);
    zb_problems_free(&problems);
    zb_problems_free(&warnings);
    json_decref(j);
    return r;
}
