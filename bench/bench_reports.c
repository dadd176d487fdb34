/*
 * bench_reports.c - report content for the benchmark (bench_reports.h).
 */
#include "bench_reports.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "report.h"
#include "timefmt.h"

static json_t *accident_json(uint64_t i, const char *prefix)
{
    char id[64];
    snprintf(id, sizeof id, "%s-%llu", prefix, (unsigned long long)i);
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:i, "
                     "s:i, s:i, s:i, s:I, s:s, s:s}",
                     "type", "accident", "accident_id", id, "revision", 0, "category",
                     "object_strike", "occurred_at",
                     "2026-10-14T08:30:00+08:00", "county_notified_at", "2026-10-14T08:50:00+08:00",
                     "place", "延吉市北山街道某在建住宅项目3号楼", "unit", "name",
                     "延吉某建筑工程有限公司", "credit_code", "91222401MA0Y5K2D9A", "industry",
                     "房屋建筑", "industry", "construction", "summary",
                     "塔吊吊运钢筋时吊索断裂，钢筋坠落，造成1人死亡、2人重伤。", "deaths",
                     (int)(i % 3), "missing", 0, "serious_injuries", 2, "minor_injuries", 0,
                     "direct_loss_yuan", (json_int_t)(1000 * (i % 997)), "measures_taken",
                     "现场已停工，伤者送延边大学附属医院救治。", "other", "");
}

static json_t *monthly_json(uint64_t i, const char *period)
{
    return json_pack(
        "{s:s, s:s, s:[{s:i, s:s, s:s, s:s}, {s:i, s:s, s:s}], "
        "s:{s:I, s:I, s:I, s:i, s:i, s:I, s:i}}",
        "type", "monthly", "period", period, "tasks", "task", 3, "status", "done", "progress",
        "县委常委会专题研究安全生产工作2次。", "next_steps", "开展年度考核。", "task", 5, "status",
        "in_progress", "progress", "督促126家规模以上企业建立全员安全生产责任制。", "stats",
        "inspections", (json_int_t)(100 + i % 50), "hazards_found", (json_int_t)(i % 40),
        "hazards_fixed", (json_int_t)(i % 30), "major_hazards_listed", 1, "training_sessions", 6,
        "penalties_yuan", (json_int_t)(1000 * (i % 100)), "accidents", 0);
}

/* Validate and convert j (consumed). */
static Zb__Report *report_from(json_t *j, uint64_t i)
{
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

Zb__Report *zb_bench_report(uint64_t i, const char *prefix, zb_bench_kind kind)
{
    return report_from((kind == ZB_BENCH_MIXED && i % 3 == 2) ? monthly_json(i, "2026-10")
                                                              : accident_json(i, prefix),
                       i);
}

/* ---- the office store (bench_reports.h) */

#define BLOCK     12 /* reports per block: 8 accident reports, 4 monthly */
#define DAY_S     86400
#define HOT_YEAR  2026
#define HOT_MONTH 10

/* What slot s of a block holds: a monthly report (accident < 0) or
 * revision `revision` of the block's accident `accident`. Slot 10 is a new
 * accident (4) in even blocks and revision 3 of accident 0 in odd ones. */
static const struct {
    int accident, revision;
} slots[BLOCK] = {{0, 0}, {1, 0}, {-1, 0}, {2, 0}, {0, 1}, {-1, 0},
                  {3, 0}, {1, 1}, {-1, 0}, {0, 2}, {4, 0}, {-1, 0}};

static const char *const industries[] = {"construction", "road_traffic",  "metallurgy_trade",
                                         "fire",         "non_coal_mine", "special_equipment"};

/* splitmix64's finaliser: a well-mixed 64-bit value from any input. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t county_seed(const char *county)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (const char *c = county; c && *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3u;
    return h;
}

/* New accidents in blocks 0 .. blocks-1. */
static uint64_t accidents_in(uint64_t blocks)
{
    return 5 * ((blocks + 1) / 2) + 4 * (blocks / 2);
}

static uint64_t hot_blocks(const zb_bench_office *o)
{
    uint64_t b = 0;
    while (accidents_in(b) < o->month_accidents)
        b++;
    return b;
}

/* The accident (block, k): same occurrence time for every revision. Hot
 * blocks: a minute of the hot month; later blocks: a minute of a day in
 * 2000-01-01 .. the last day before the hot month. Times are +08:00. */
static json_t *office_accident_json(const zb_bench_office *o, uint64_t block, int k, int revision,
                                    bool hot)
{
    uint64_t h = mix64(county_seed(o->county) ^ mix64(block * 8 + (uint64_t)k));
    int64_t hot_start, hot_end, cold_start, unused;
    zb_period_bounds(HOT_YEAR, HOT_MONTH, &hot_start, &hot_end);
    zb_period_bounds(2000, 1, &cold_start, &unused);
    int64_t from = hot ? hot_start : cold_start, to = hot ? hot_end : hot_start;
    int64_t days = (to - from) / DAY_S;
    int64_t occurred =
        from + (int64_t)(h % (uint64_t)days) * DAY_S + (int64_t)((h >> 20) % (DAY_S / 60)) * 60;
    int64_t notified = occurred + 60 * (int64_t)(10 + (h >> 40) % 110); /* 10..119 min later */
    char id[96], occ[40], noti[40];
    snprintf(id, sizeof id, "%s-%llu-%d", o->prefix, (unsigned long long)block, k);
    if (zb_time_format(occurred, 8 * 60, 0, occ, sizeof occ) ||
        zb_time_format(notified, 8 * 60, 0, noti, sizeof noti))
        return NULL;
    /* casualty figures change with the revisions, as supplements do */
    int deaths = (int)(h % 3) + revision;
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:i, "
                     "s:i, s:i, s:i, s:I, s:s, s:s}",
                     "type", "accident", "accident_id", id, "revision", revision, "category",
                     "object_strike", "occurred_at",
                     occ, "county_notified_at", noti, "place", "延吉市北山街道某在建住宅项目3号楼",
                     "unit", "name", "延吉某建筑工程有限公司", "credit_code", "91222401MA0Y5K2D9A",
                     "industry", "房屋建筑", "industry",
                     industries[(h >> 8) % (sizeof industries / sizeof industries[0])], "summary",
                     "塔吊吊运钢筋时吊索断裂，钢筋坠落，造成1人死亡、2人重伤。", "deaths", deaths,
                     "missing", 0, "serious_injuries", 2 + revision, "minor_injuries", 0,
                     "direct_loss_yuan", (json_int_t)(1000 * (h % 997)), "measures_taken",
                     "现场已停工，伤者送延边大学附属医院救治。", "other", "");
}

/* The node's m-th monthly report (0-based): 2026-01 .. 2026-10 once each,
 * then (some counties) a second version of the hot month and of one
 * earlier 2026 month, then periods spread over 2000-01 .. 2025-12. */
static void office_period(const zb_bench_office *o, uint64_t m, char *period, size_t len)
{
    uint64_t seed = county_seed(o->county);
    bool second_hot = seed % 2 == 1, second_other = (seed >> 1) % 2 == 1;
    int year = HOT_YEAR, month;
    if (m < HOT_MONTH) {
        month = (int)m + 1;
    } else if (m == HOT_MONTH && second_hot) {
        month = HOT_MONTH;
    } else if (m == (uint64_t)HOT_MONTH + second_hot && second_other) {
        month = 1 + (int)((seed >> 8) % (HOT_MONTH - 1));
    } else {
        uint64_t ord = mix64(seed ^ mix64(m)) % (26 * 12); /* 2000-01 .. 2025-12 */
        year = 2000 + (int)(ord / 12);
        month = 1 + (int)(ord % 12);
    }
    (void)zb_period_format(year, month, period, len);
}

Zb__Report *zb_bench_office_report(uint64_t i, const zb_bench_office *o)
{
    if (i == 0)
        return NULL;
    uint64_t block = (i - 1) / BLOCK;
    int slot = (int)((i - 1) % BLOCK);
    int k = slots[slot].accident, revision = slots[slot].revision;
    if (slot == 10 && block % 2 == 1)
        k = 0, revision = 3;
    json_t *j;
    if (k < 0) {
        uint64_t m = block * 4 + (uint64_t)(slot / 3); /* slots 2, 5, 8, 11 */
        char period[16];
        office_period(o, m, period, sizeof period);
        j = monthly_json(i, period);
    } else {
        j = office_accident_json(o, block, k, revision, block < hot_blocks(o));
    }
    return report_from(j, i);
}
