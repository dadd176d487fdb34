/*
 * test_report.c - report JSON in and out and the shared validation rules.
 *
 * Inputs are the operator examples in deploy/examples/ (found through
 * ZB_SOURCE_DIR) with one field changed at a time; every bad input must give
 * exactly one problem line naming the field. The pipeline under test is the
 * node's: zb_report_from_json, then the header fields, then
 * zb_report_validate. Expected Unix times were computed with GNU date.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "report.h"

/* 2026-11-05T23:59:59+08:00 */
#define CREATED_AT 1793894399
/* 2026-10-14T08:30:00+08:00 and 08:50 */
#define OCCURRED_AT 1791937800
#define NOTIFIED_AT 1791939000
/* 2026-10-15T03:20:00+08:00 (accident-supplement.json's as_of) */
#define SUPPLEMENT_AS_OF 1792005600

/* ------------------------------------------------------------ helpers */

static json_t *load_example(const char *name)
{
    const char *src = getenv("ZB_SOURCE_DIR");
    if (!src || !*src)
        fail_msg("ZB_SOURCE_DIR is not set (run through ctest)");
    char path[1024];
    snprintf(path, sizeof path, "%s/deploy/examples/%s", src, name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("%s: %s (line %d)", path, err.text, err.line);
    return j;
}

/* Fill the header as the node does before validating. */
static void set_header(Zb__Report *r, int64_t created_at)
{
    free(r->county);
    r->county = strdup("222401");
    assert_non_null(r->county);
    r->seq = 1;
    free(r->prev_hash.data);
    r->prev_hash.data = calloc(1, ZB_SHA256_LEN);
    assert_non_null(r->prev_hash.data);
    r->prev_hash.len = ZB_SHA256_LEN;
    r->created_at = created_at;
}

/* from_json, then (if it gave a report) header + validate. Problems and
 * warnings accumulate in p and w (caller frees). */
static void run_pipeline(const json_t *obj, const char *prefix, int64_t created_at,
                         zb_problems *p, zb_problems *w)
{
    size_t before = p->n;
    Zb__Report *r = zb_report_from_json(obj, prefix, p, w);
    /* contract: NULL exactly when problems were added */
    if (r) {
        assert_int_equal(p->n, before);
        set_header(r, created_at);
        zb_report_validate(r, prefix, p);
        zb__report__free_unpacked(r, NULL);
    } else {
        assert_true(p->n > before);
    }
}

static void print_lines(const char *what, const zb_problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        print_error("  %s[%zu] = %s\n", what, i, p->lines[i]);
}

/* Exactly one problem, starting with want_prefix and containing want_sub
 * (when not NULL); no requirement on warnings. */
static void expect_one_problem_at(const char *label, const json_t *obj, const char *prefix,
                                  int64_t created_at, const char *want_prefix,
                                  const char *want_sub)
{
    zb_problems p = {0}, w = {0};
    run_pipeline(obj, prefix, created_at, &p, &w);
    if (p.n != 1 || strncmp(p.lines[0], want_prefix, strlen(want_prefix)) != 0 ||
        (want_sub && !strstr(p.lines[0], want_sub))) {
        print_lines("problem", &p);
        fail_msg("%s: want exactly one problem starting \"%s\"%s%s%s, got %zu", label, want_prefix,
                 want_sub ? " containing \"" : "", want_sub ? want_sub : "", want_sub ? "\"" : "",
                 p.n);
    }
    zb_problems_free(&p);
    zb_problems_free(&w);
}

static void expect_one_problem(const char *label, const json_t *obj, const char *want_prefix,
                               const char *want_sub)
{
    expect_one_problem_at(label, obj, "", CREATED_AT, want_prefix, want_sub);
}

static void expect_clean_at(const char *label, const json_t *obj, int64_t created_at)
{
    zb_problems p = {0}, w = {0};
    run_pipeline(obj, "", created_at, &p, &w);
    if (p.n != 0 || w.n != 0) {
        print_lines("problem", &p);
        print_lines("warning", &w);
        fail_msg("%s: want no problems and no warnings, got %zu and %zu", label, p.n, w.n);
    }
    zb_problems_free(&p);
    zb_problems_free(&w);
}

static void expect_clean(const char *label, const json_t *obj)
{
    expect_clean_at(label, obj, CREATED_AT);
}

/* Set (or, with value_json NULL, delete) the member at a dotted path with
 * [n] indexes, e.g. "tasks[0].task" or "unit.credit_code". */
static void set_path(json_t *root, const char *path, const char *value_json)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *seg = buf;
    for (;;) {
        char *dot = strchr(seg, '.');
        if (dot)
            *dot = '\0';
        char *br = strchr(seg, '[');
        size_t idx = 0;
        if (br) {
            *br = '\0';
            idx = (size_t)strtoul(br + 1, NULL, 10);
        }
        if (!dot && !br) { /* last segment: a member */
            if (!value_json) {
                assert_int_equal(json_object_del(cur, seg), 0);
            } else {
                json_error_t err;
                json_t *v = json_loads(value_json, JSON_DECODE_ANY, &err);
                if (!v)
                    fail_msg("bad test value %s: %s", value_json, err.text);
                assert_int_equal(json_object_set_new(cur, seg, v), 0);
            }
            return;
        }
        cur = json_object_get(cur, seg);
        assert_non_null(cur);
        if (br) {
            cur = json_array_get(cur, idx);
            assert_non_null(cur);
        }
        assert_non_null(dot); /* an index must be followed by a member */
        seg = dot + 1;
    }
}

/* A copy of example `name` with one change. */
static json_t *variant(const char *name, const char *path, const char *value_json)
{
    json_t *base = load_example(name);
    json_t *v = json_deep_copy(base);
    json_decref(base);
    assert_non_null(v);
    set_path(v, path, value_json);
    return v;
}

/* A JSON string value of n copies of the UTF-8 text unit. */
static char *repeated_json_string(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = malloc(n * ul + 3);
    assert_non_null(s);
    s[0] = '"';
    for (size_t i = 0; i < n; i++)
        memcpy(s + 1 + i * ul, unit, ul);
    s[1 + n * ul] = '"';
    s[2 + n * ul] = '\0';
    return s;
}

/* ------------------------------------------------------------ examples */

static void test_examples_parse(void **state)
{
    (void)state;
    static const char *const names[] = {"monthly.json", "accident.json",
                                        "accident-supplement.json", "accident-closing.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *j = load_example(names[i]);
        expect_clean(names[i], j);
        json_decref(j);
    }
    /* a second accident, its initial report and its write-off (a JSON array) */
    json_t *wo = load_example("accident-write-off.json");
    assert_int_equal(json_array_size(wo), 2);
    for (size_t i = 0; i < 2; i++)
        expect_clean("accident-write-off.json", json_array_get(wo, i));
    json_decref(wo);

    /* monthly.json, field by field */
    json_t *j = load_example("monthly.json");
    zb_problems p = {0}, w = {0};
    Zb__Report *r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    assert_int_equal(p.n, 0);
    assert_int_equal(w.n, 0);
    assert_int_equal(r->version, 2); /* what a node writes now */
    assert_null(r->county);          /* header left for the caller */
    assert_int_equal(r->seq, 0);
    assert_int_equal(r->content_case, ZB__REPORT__CONTENT_MONTHLY);
    assert_string_equal(zb_report_type_name(r), "monthly");
    const Zb__MonthlyReport *m = r->monthly;
    assert_string_equal(m->period, "2026-10");
    assert_int_equal(m->n_tasks, 4);
    static const unsigned codes[] = {3, 5, 13, 22};
    static const Zb__TaskStatus st[] = {ZB__TASK_STATUS__DONE, ZB__TASK_STATUS__IN_PROGRESS,
                                        ZB__TASK_STATUS__IN_PROGRESS,
                                        ZB__TASK_STATUS__NOT_STARTED};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(m->tasks[i]->task, codes[i]);
        assert_int_equal(m->tasks[i]->status, st[i]);
    }
    assert_string_equal(m->tasks[0]->problems, ""); /* empty, not absent */
    assert_null(m->tasks[2]->problems);               /* absent */
    assert_null(m->tasks[3]->progress);
    const Zb__MonthlyStats *s = m->stats;
    assert_non_null(s);
    assert_true(s->has_inspections && s->inspections == 120);
    assert_true(s->has_hazards_found && s->hazards_found == 45);
    assert_true(s->has_hazards_fixed && s->hazards_fixed == 40);
    assert_true(s->has_major_hazards_listed && s->major_hazards_listed == 2);
    assert_true(s->has_enterprises_standardized && s->enterprises_standardized == 10);
    assert_true(s->has_penalties_yuan && s->penalties_yuan == 150000);
    assert_true(s->has_training_sessions && s->training_sessions == 6);
    assert_true(s->has_accidents && s->accidents == 1);
    assert_true(s->has_accident_deaths && s->accident_deaths == 1);
    assert_true(s->has_accident_serious_injuries && s->accident_serious_injuries == 2);
    assert_true(s->has_accident_direct_loss_yuan && s->accident_direct_loss_yuan == 350000);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);

    /* accident.json */
    j = load_example("accident.json");
    r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    assert_int_equal(p.n, 0);
    assert_int_equal(w.n, 0);
    assert_int_equal(r->content_case, ZB__REPORT__CONTENT_ACCIDENT);
    assert_string_equal(zb_report_type_name(r), "accident");
    const Zb__AccidentReport *a = r->accident;
    assert_string_equal(a->accident_id, "YJ-2026-0042");
    assert_int_equal(a->revision, 0);
    assert_int_equal(a->occurred_at->unix, OCCURRED_AT);
    assert_int_equal(a->occurred_at->offset_min, 480);
    assert_int_equal(a->county_notified_at->unix, NOTIFIED_AT);
    assert_int_equal(a->county_notified_at->offset_min, 480);
    assert_string_equal(a->place, "延吉市北山街道某在建住宅项目3号楼");
    assert_string_equal(a->unit->name, "延吉某建筑工程有限公司");
    assert_string_equal(a->unit->credit_code, "91222401MA0Y5K2D9A");
    assert_string_equal(a->unit->industry, "房屋建筑");
    assert_int_equal(a->industry, ZB__INDUSTRY__CONSTRUCTION);
    assert_int_equal(a->deaths, 1);
    assert_int_equal(a->missing, 0);
    assert_int_equal(a->serious_injuries, 2);
    assert_int_equal(a->minor_injuries, 0);
    assert_int_equal(a->direct_loss_yuan, 350000);
    assert_string_equal(a->other, "");
    assert_true(a->has_category);
    assert_int_equal(a->category, ZB__CATEGORY__LIFTING_INJURY);
    assert_false(a->has_stage); /* absent stays absent: the default is derived */
    assert_null(a->as_of);
    assert_null(a->cause);
    assert_null(a->write_off_reason);
    assert_int_equal(zb_report_accident_stage(a), ZB__STAGE__INITIAL);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);

    /* accident-closing.json: the new fields */
    j = load_example("accident-closing.json");
    r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    a = r->accident;
    assert_int_equal(a->revision, 2);
    assert_true(a->has_stage);
    assert_int_equal(a->stage, ZB__STAGE__CLOSING);
    assert_non_null(a->as_of);
    assert_int_equal(a->as_of->unix, 1793844000); /* 2026-11-05T10:00:00+08:00 */
    assert_int_equal(a->as_of->offset_min, 480);
    assert_non_null(a->cause);
    assert_null(a->write_off_reason);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);
    assert_int_equal(p.n, 0);
    assert_int_equal(w.n, 0);
}

/* A report with the defaults to_json shows for an absent stage and as_of
 * written in: what from_json(to_json(r)) gives. */
static void make_defaults_explicit(Zb__Report *r)
{
    if (r->content_case != ZB__REPORT__CONTENT_ACCIDENT || r->version < 2)
        return;
    Zb__AccidentReport *a = r->accident;
    a->stage = zb_report_accident_stage(a);
    a->has_stage = 1;
    if (!a->as_of) {
        int32_t off;
        int64_t t = zb_report_accident_as_of(r, &off);
        a->as_of = malloc(sizeof *a->as_of);
        assert_non_null(a->as_of);
        zb__time__init(a->as_of);
        a->as_of->unix = t;
        a->as_of->offset_min = off;
    }
}

/* from_json -> pack -> decode -> to_json: every string byte for byte. */
static void round_trip(const char *name, json_t **out_json, Zb__Report **out_report)
{
    json_t *in = load_example(name);
    zb_problems p = {0}, w = {0};
    Zb__Report *r = zb_report_from_json(in, "", &p, &w);
    assert_non_null(r);
    set_header(r, CREATED_AT);
    size_t len = zb__report__get_packed_size(r);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    zb__report__pack(r, buf);
    zb__report__free_unpacked(r, NULL);
    Zb__Report *d = NULL;
    assert_int_equal(zb_report_decode(buf, len, &d), ZB_OK);
    json_t *out = zb_report_to_json(d);
    assert_non_null(out);

    /* header fields */
    assert_string_equal(json_string_value(json_object_get(out, "type")),
                        json_string_value(json_object_get(in, "type")));
    assert_string_equal(json_string_value(json_object_get(out, "county")), "222401");
    assert_int_equal(json_integer_value(json_object_get(out, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(out, "created_at")),
                        "2026-11-05T23:59:59+08:00");
    assert_string_equal(json_string_value(json_object_get(out, "prev_hash")),
                        "0000000000000000000000000000000000000000000000000000000000000000");

    /* every member of the input is in the output, equal (strings by bytes) */
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        json_t *o = json_object_get(out, key);
        if (!o)
            fail_msg("%s: %s missing from to_json", name, key);
        if (json_is_string(v)) {
            assert_true(json_is_string(o));
            assert_int_equal(json_string_length(o), json_string_length(v));
            assert_memory_equal(json_string_value(o), json_string_value(v), json_string_length(v));
        }
        if (!json_equal(o, v)) {
            char *a = json_dumps(v, JSON_ENSURE_ASCII), *b = json_dumps(o, JSON_ENSURE_ASCII);
            print_error("in: %s\nout: %s\n", a, b);
            free(a);
            free(b);
            fail_msg("%s: %s differs after the round trip", name, key);
        }
    }
    free(buf);
    zb_problems_free(&p);
    zb_problems_free(&w);
    json_decref(in);
    *out_json = out;
    *out_report = d;
}

static void test_round_trip(void **state)
{
    (void)state;
    json_t *out;
    Zb__Report *d;

    round_trip("monthly.json", &out, &d);
    /* absent stays absent, empty stays empty */
    json_t *t0 = json_array_get(json_object_get(out, "tasks"), 0);
    json_t *t3 = json_array_get(json_object_get(out, "tasks"), 3);
    assert_string_equal(json_string_value(json_object_get(t0, "problems")), "");
    assert_null(json_object_get(t3, "progress"));
    assert_string_equal(json_string_value(json_object_get(t0, "progress")),
                        "县委常委会专题研究安全生产工作2次，制定党政领导干部安全生产责任清单。");
    json_decref(out);
    zb__report__free_unpacked(d, NULL);

    round_trip("accident.json", &out, &d);
    assert_string_equal(json_string_value(json_object_get(out, "summary")),
                        "塔吊吊运钢筋时吊索断裂，钢筋坠落，造成1人死亡、2人重伤。");
    /* one death, two seriously injured, 350 000 yuan: a general accident */
    assert_string_equal(json_string_value(json_object_get(out, "grade")), "general");
    assert_string_equal(json_string_value(json_object_get(out, "grade_zh")), "一般");
    assert_string_equal(json_string_value(json_object_get(out, "report_to")), "prefecture");

    /* and to_json's output is valid from_json input giving the same bytes
     * (its extra header fields come back as warnings only) */
    zb_problems p = {0}, w = {0};
    Zb__Report *again = zb_report_from_json(out, "", &p, &w);
    assert_non_null(again);
    assert_int_equal(p.n, 0);
    set_header(again, CREATED_AT);
    /* the stage and as_of it showed (defaults) come back written in */
    assert_true(again->accident->has_stage);
    assert_non_null(again->accident->as_of);
    make_defaults_explicit(d);
    size_t l1 = zb__report__get_packed_size(d), l2 = zb__report__get_packed_size(again);
    assert_int_equal(l1, l2);
    uint8_t *b1 = malloc(l1), *b2 = malloc(l2);
    assert_non_null(b1);
    assert_non_null(b2);
    zb__report__pack(d, b1);
    zb__report__pack(again, b2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    zb__report__free_unpacked(again, NULL);
    zb_problems_free(&p);
    zb_problems_free(&w);
    json_decref(out);
    zb__report__free_unpacked(d, NULL);

    round_trip("accident-supplement.json", &out, &d);
    assert_int_equal(d->version, 2);
    assert_string_equal(json_string_value(json_object_get(out, "stage")), "supplement");
    assert_int_equal(zb_report_accident_as_of(d, NULL), SUPPLEMENT_AS_OF);
    json_decref(out);
    zb__report__free_unpacked(d, NULL);

    round_trip("accident-closing.json", &out, &d);
    assert_string_equal(json_string_value(json_object_get(out, "stage")), "closing");
    assert_string_equal(json_string_value(json_object_get(out, "as_of")),
                        "2026-11-05T10:00:00+08:00");
    assert_null(json_object_get(out, "write_off_reason"));
    json_decref(out);
    zb__report__free_unpacked(d, NULL);
}

/* ------------------------------------------------------------ bad inputs */

typedef struct {
    const char *example;
    const char *path;
    const char *value; /* JSON text; NULL deletes */
    const char *want_prefix;
    const char *want_sub;
} bad_case;

static const bad_case bad_cases[] = {
    /* type */
    {"monthly.json", "type", NULL, "type:", "missing"},
    {"accident.json", "type", NULL, "type:", "missing"},
    {"monthly.json", "type", "\"weekly\"", "type:", NULL},
    {"monthly.json", "type", "\"Monthly\"", "type:", NULL},
    {"monthly.json", "type", "7", "type:", NULL},
    {"monthly.json", "type", "null", "type:", NULL},
    /* period */
    {"monthly.json", "period", "\"2026-13\"", "period:", NULL},
    {"monthly.json", "period", "\"2026-00\"", "period:", NULL},
    {"monthly.json", "period", "\"2026-1\"", "period:", NULL},
    {"monthly.json", "period", "\"2026-10-01\"", "period:", NULL},
    {"monthly.json", "period", "\"202610\"", "period:", NULL},
    {"monthly.json", "period", "202610", "period:", "wrong type"},
    {"monthly.json", "period", NULL, "period:", "missing"},
    {"monthly.json", "period", "\"2026-12\"", "period:", "future"},
    {"monthly.json", "period", "\"1999-12\"", "period:", "2000"},
    /* tasks */
    {"monthly.json", "tasks[0].task", "28", "tasks[0].task:", "unknown task code"},
    {"monthly.json", "tasks[0].task", "2", "tasks[0].task:", "unknown task code"},
    {"monthly.json", "tasks[0].task", "0", "tasks[0].task:", "unknown task code"},
    {"monthly.json", "tasks[2].task", "4294967295", "tasks[2].task:", "unknown task code"},
    {"monthly.json", "tasks[0].task", "-3", "tasks[0].task:", "negative"},
    {"monthly.json", "tasks[0].task", "\"3\"", "tasks[0].task:", "wrong type"},
    {"monthly.json", "tasks[0].task", NULL, "tasks[0].task:", "missing"},
    {"monthly.json", "tasks[1].task", "3", "tasks[1].task:", "twice"},
    {"monthly.json", "tasks[3].task", "13", "tasks[3].task:", "twice"},
    {"monthly.json", "tasks[0].status", "\"finished\"", "tasks[0].status:", NULL},
    {"monthly.json", "tasks[1].status", "\"DONE\"", "tasks[1].status:", NULL},
    {"monthly.json", "tasks[3].status", NULL, "tasks[3].status:", "missing"},
    {"monthly.json", "tasks[0].progress", "5", "tasks[0].progress:", "wrong type"},
    {"monthly.json", "tasks", "{}", "tasks:", "wrong type"},
    {"monthly.json", "tasks", "[1]", "tasks[0]:", "wrong type"},
    /* stats */
    {"monthly.json", "stats.inspections", "-1", "stats.inspections:", "negative count"},
    {"monthly.json", "stats.inspections", "\"12\"", "stats.inspections:", "wrong type"},
    {"monthly.json", "stats.inspections", "12.0", "stats.inspections:", "wrong type"},
    {"monthly.json", "stats.inspections", "1000001", "stats.inspections:", "out of range"},
    {"monthly.json", "stats.penalties_yuan", "10000000000001", "stats.penalties_yuan:",
     "out of range"},
    {"monthly.json", "stats", "[]", "stats:", "wrong type"},
    /* accident counts */
    {"accident.json", "deaths", "1.5", "deaths:", "wrong type"},
    {"accident.json", "deaths", "\"1\"", "deaths:", "wrong type"},
    {"accident.json", "deaths", "-1", "deaths:", "negative count"},
    {"accident.json", "deaths", NULL, "deaths:", "missing"},
    {"accident.json", "missing", "1000001", "missing:", "out of range"},
    {"accident.json", "direct_loss_yuan", "10000000000001", "direct_loss_yuan:", "out of range"},
    {"accident.json", "revision", "100001", "revision:", "out of range"},
    {"accident.json", "revision", NULL, "revision:", "missing"},
    /* accident id */
    {"accident.json", "accident_id", "\"bad id!\"", "accident_id:", NULL},
    {"accident.json", "accident_id", "\"\"", "accident_id:", NULL},
    {"accident.json", "accident_id", "\"事故-1\"", "accident_id:", NULL},
    {"accident.json", "accident_id",
     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"", /* 65 */
     "accident_id:", NULL},
    {"accident.json", "accident_id", NULL, "accident_id:", "missing"},
    /* times */
    {"accident.json", "occurred_at", "\"2026-10-14 25:00\"", "occurred_at:", NULL},
    {"accident.json", "occurred_at", "\"2026-10-14T25:00:00+08:00\"", "occurred_at:", NULL},
    {"accident.json", "occurred_at", "\"yesterday\"", "occurred_at:", NULL},
    {"accident.json", "occurred_at", "1791937800", "occurred_at:", "wrong type"},
    {"accident.json", "county_notified_at", "\"2026-10-14T08:29:59+08:00\"",
     "county_notified_at:", "before occurred_at"},
    /* the same instant written at another offset is still before */
    {"accident.json", "county_notified_at", "\"2026-10-14T00:29:59Z\"", "county_notified_at:",
     "before occurred_at"},
    {"accident.json", "county_notified_at", NULL, "county_notified_at:", "missing"},
    /* industry */
    {"accident.json", "industry", "\"mining\"", "industry:", NULL},
    {"accident.json", "industry", "\"Construction\"", "industry:", NULL},
    {"accident.json", "industry", "5", "industry:", "wrong type"},
    {"accident.json", "industry", NULL, "industry:", "missing"},
    /* unit */
    {"accident.json", "unit", NULL, "unit:", "missing"},
    {"accident.json", "unit", "null", "unit:", "missing"},
    {"accident.json", "unit", "\"延吉某建筑工程有限公司\"", "unit:", "wrong type"},
    {"accident.json", "unit.name", NULL, "unit.name:", "missing"},
    {"accident.json", "unit.name", "\"\"", "unit.name:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9\"", "unit.credit_code:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9AB\"", "unit.credit_code:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401ma0y5k2d9a\"", "unit.credit_code:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9I\"", "unit.credit_code:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9O\"", "unit.credit_code:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9S\"", "unit.credit_code:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9V\"", "unit.credit_code:", NULL},
    {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9Z\"", "unit.credit_code:", NULL},
    /* required text */
    {"accident.json", "place", "\"\"", "place:", "empty"},
    {"accident.json", "place", NULL, "place:", "missing"},
    {"accident.json", "summary", "\"\"", "summary:", "empty"},
    {"accident.json", "summary", NULL, "summary:", "missing"},
    {"accident.json", "summary", "[]", "summary:", "wrong type"},
    /* category (version 2): required on revision 0, one of GB 6441-86's 20 */
    {"accident.json", "category", NULL, "category:", "missing (required on revision 0)"},
    {"accident.json", "category", "null", "category:", "missing (required on revision 0)"},
    {"accident.json", "category", "\"crane\"", "category:", "unknown category \"crane\""},
    {"accident.json", "category", "\"Lifting_injury\"", "category:", "unknown category"},
    {"accident.json", "category", "\"起重伤害\"", "category:", "unknown category"},
    {"accident.json", "category", "4", "category:", "wrong type"},
    /* stage */
    {"accident.json", "stage", "\"final\"", "stage:", "unknown stage \"final\""},
    {"accident.json", "stage", "1", "stage:", "wrong type"},
    {"accident.json", "stage", "\"supplement\"", "stage:", "needs revision 1 or later"},
    {"accident.json", "stage", "\"closing\"", "stage:", "closing needs revision 1 or later"},

    {"accident-supplement.json", "stage", "\"initial\"", "stage:",
     "initial is only for revision 0"},
    {"accident-closing.json", "stage", "\"initial\"", "stage:", "initial is only for revision 0"},
    /* write_off_reason: required with write_off, refused otherwise */
    {"accident-closing.json", "stage", "\"write_off\"", "write_off_reason:",
     "missing (required with stage write_off)"},
    {"accident-closing.json", "write_off_reason", "\"x\"", "write_off_reason:",
     "only with stage write_off"},
    {"accident-supplement.json", "write_off_reason", "\"x\"", "write_off_reason:",
     "only with stage write_off"},
    {"accident.json", "write_off_reason", "\"\"", "write_off_reason:", "only with stage write_off"},
    {"accident-supplement.json", "write_off_reason", "5", "write_off_reason:", "wrong type"},
    /* as_of */
    {"accident-closing.json", "as_of", "\"2026-11-05\"", "as_of:", "not an RFC 3339 time"},
    {"accident-closing.json", "as_of", "1793844000", "as_of:", "wrong type"},
    {"accident-closing.json", "as_of", "\"2026-10-14T08:29:59+08:00\"", "as_of:",
     "before occurred_at"},
    {"accident-closing.json", "as_of", "\"2026-10-14T00:29:59Z\"", "as_of:", "before occurred_at"},
    {"accident-closing.json", "as_of", "\"2026-11-06T00:05:00+08:00\"", "as_of:",
     "in the future"},
    {"accident-closing.json", "as_of", "\"2099-01-01T00:00:00+08:00\"", "as_of:",
     "in the future"},
    /* cause */
    {"accident.json", "cause", "[\"x\"]", "cause:", "wrong type"},
};

static void test_bad_inputs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char label[200];
        snprintf(label, sizeof label, "bad case %zu (%s %s = %.40s)", i, c->example, c->path,
                 c->value ? c->value : "(deleted)");
        json_t *j = variant(c->example, c->path, c->value);
        expect_one_problem(label, j, c->want_prefix, c->want_sub);
        json_decref(j);
    }
}

/* The edges of what is accepted, next to the cases above. */
static void test_good_edges(void **state)
{
    (void)state;
    static const struct {
        const char *example, *path, *value;
    } good[] = {
        {"monthly.json", "period", "\"2026-11\""}, /* the month created_at falls in */
        {"monthly.json", "period", "\"2000-01\""},
        {"monthly.json", "tasks[0].task", "27"},
        {"monthly.json", "tasks", "[]"},
        {"monthly.json", "tasks", NULL},
        {"monthly.json", "tasks", "null"},
        {"monthly.json", "stats.inspections", "1000000"},
        {"monthly.json", "stats.inspections", "0"},
        {"monthly.json", "stats.penalties_yuan", "10000000000000"},
        {"accident.json", "direct_loss_yuan", "10000000000000"},
        {"accident.json", "deaths", "1000000"},
        {"accident.json", "revision", "100000"},
        {"accident.json", "accident_id",
         "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\""}, /* 64 */
        {"accident.json", "accident_id", "\"a_b-C9\""},
        {"accident.json", "county_notified_at", "\"2026-10-14T08:30:00+08:00\""}, /* equal */
        {"accident.json", "unit.credit_code", "\"\""},     /* empty = not given */
        {"accident.json", "unit.credit_code", NULL},
        /* the check digit is not enforced */
        {"accident.json", "unit.credit_code", "\"91222401MA0Y5K2D9X\""},
        {"accident.json", "unit.industry", NULL},
        {"accident.json", "measures_taken", NULL},
        {"accident.json", "other", NULL},
        {"accident.json", "industry", "\"other\""},
        {"accident.json", "industry", "\"coal_mine\""},
        {"accident.json", "industry", "\"fishing_vessel\""},
        /* version 2 fields */
        {"accident.json", "stage", "\"initial\""},
        {"accident.json", "as_of", "\"2026-10-14T08:30:00+08:00\""}, /* = occurred_at */
        {"accident.json", "cause", "\"\""},
        {"accident.json", "category", "\"fire\""},
        {"accident-supplement.json", "category", NULL}, /* optional after revision 0 */
        {"accident-supplement.json", "category", "null"},
        {"accident-supplement.json", "category", "\"object_strike\""}, /* recorded as given */
        {"accident-supplement.json", "stage", NULL},                   /* default supplement */
        {"accident-supplement.json", "stage", "\"closing\""},
        {"accident-supplement.json", "as_of", NULL}, /* default created_at */
        {"accident-closing.json", "as_of", "\"2026-10-14T08:30:00+08:00\""}, /* = occurred_at */
        {"accident-closing.json", "as_of", "\"2026-10-14T00:30:00Z\""},      /* the same */
        {"accident-closing.json", "as_of", "\"2026-10-14T08:30:00\""},       /* read as +08:00 */
        {"accident-closing.json", "as_of", "\"2026-11-06T00:04:59+08:00\""}, /* created_at + 300 */
        {"accident-closing.json", "cause", NULL},
        {"accident-closing.json", "write_off_reason", "null"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char label[200];
        snprintf(label, sizeof label, "good case %zu (%s %s = %.40s)", i, good[i].example,
                 good[i].path, good[i].value ? good[i].value : "(deleted)");
        json_t *j = variant(good[i].example, good[i].path, good[i].value);
        expect_clean(label, j);
        json_decref(j);
    }
}

/* Periods and accident times against created_at, at the second. */
static void test_time_edges(void **state)
{
    (void)state;
    /* 2026-12-01T00:00:00+08:00 = 1796054400 */
    json_t *j = variant("monthly.json", "period", "\"2026-12\"");
    expect_one_problem_at(__func__, j, "", 1796054399, "period:", "future");
    expect_clean_at(__func__, j, 1796054400);
    json_decref(j);

    /* accident times may be up to 600 s after created_at (clock skew):
     * created_at + 600 = 2026-11-06T00:09:59+08:00 passes ... */
    j = variant("accident.json", "occurred_at", "\"2026-11-06T00:09:59+08:00\"");
    set_path(j, "county_notified_at", "\"2026-11-06T00:09:59+08:00\"");
    expect_clean(__func__, j);
    json_decref(j);
    /* ... a second more does not */
    j = variant("accident.json", "county_notified_at", "\"2026-11-06T00:10:00+08:00\"");
    expect_one_problem(__func__, j, "county_notified_at:", "future");
    json_decref(j);
}

static void test_prefix(void **state)
{
    (void)state;
    /* a problem found by from_json */
    json_t *j = variant("monthly.json", "period", "\"2026-13\"");
    expect_one_problem_at(__func__, j, "[3].", CREATED_AT, "[3].period:", NULL);
    json_decref(j);
    /* a problem found by validate */
    j = variant("monthly.json", "tasks[1].task", "28");
    expect_one_problem_at(__func__, j, "[3].", CREATED_AT, "[3].tasks[1].task:",
                          "unknown task code");
    json_decref(j);
    /* not an object at all */
    json_t *arr = json_array();
    zb_problems p = {0};
    assert_null(zb_report_from_json(arr, "[2].", &p, NULL));
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "[2].(report):", 13) == 0);
    zb_problems_free(&p);
    assert_null(zb_report_from_json(arr, NULL, &p, NULL));
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "(report):", 9) == 0);
    zb_problems_free(&p);
    json_decref(arr);
}

/* Text limits are in characters, not bytes. */
static void test_text_limits(void **state)
{
    (void)state;
    char *v = repeated_json_string("安", 4000); /* 12000 bytes */
    json_t *j = variant("accident.json", "summary", v);
    expect_clean(__func__, j);
    json_decref(j);
    free(v);

    v = repeated_json_string("安", 4001);
    j = variant("accident.json", "summary", v);
    expect_one_problem(__func__, j, "summary:", "4001");
    json_decref(j);
    free(v);

    v = repeated_json_string("a", 4001);
    j = variant("accident.json", "summary", v);
    expect_one_problem(__func__, j, "summary:", NULL);
    json_decref(j);
    free(v);

    /* 4-byte characters count once too */
    v = repeated_json_string("😀", 4000);
    j = variant("accident.json", "measures_taken", v);
    expect_clean(__func__, j);
    json_decref(j);
    free(v);

    v = repeated_json_string("吉", 200);
    j = variant("accident.json", "place", v);
    expect_clean(__func__, j);
    json_decref(j);
    free(v);
    v = repeated_json_string("吉", 201);
    j = variant("accident.json", "place", v);
    expect_one_problem(__func__, j, "place:", NULL);
    json_decref(j);
    free(v);

    v = repeated_json_string("吉", 201);
    j = variant("accident.json", "unit.name", v);
    expect_one_problem(__func__, j, "unit.name:", NULL);
    json_decref(j);
    free(v);

    v = repeated_json_string("吉", 4001);
    j = variant("monthly.json", "tasks[2].next_steps", v);
    expect_one_problem(__func__, j, "tasks[2].next_steps:", NULL);
    json_decref(j);
    free(v);
}

/* ------------------------------------------------------------ version 2 */

/* The version 2 free texts have the long limit, in characters; a
 * write-off's reason may not be empty. */
static void test_v2_text_limits(void **state)
{
    (void)state;
    char *v = repeated_json_string("因", 4000);
    json_t *j = variant("accident-closing.json", "cause", v);
    expect_clean(__func__, j);
    json_decref(j);
    j = variant("accident-closing.json", "stage", "\"write_off\"");
    set_path(j, "write_off_reason", v);
    expect_clean(__func__, j);
    json_decref(j);
    free(v);

    v = repeated_json_string("因", 4001);
    j = variant("accident-closing.json", "cause", v);
    expect_one_problem(__func__, j, "cause:", "text over its limit (4001 characters");
    json_decref(j);
    j = variant("accident-closing.json", "stage", "\"write_off\"");
    set_path(j, "write_off_reason", v);
    expect_one_problem(__func__, j, "write_off_reason:", "text over its limit (4001 characters");
    json_decref(j);
    free(v);

    j = variant("accident-closing.json", "stage", "\"write_off\"");
    set_path(j, "write_off_reason", "\"\"");
    expect_one_problem(__func__, j, "write_off_reason:", "must not be empty");
    json_decref(j);
}

/* A write-off on revision 0, with its reason: the stage is the one problem. */
static void test_write_off_first(void **state)
{
    (void)state;
    json_t *j = variant("accident.json", "stage", "\"write_off\"");
    set_path(j, "write_off_reason", "\"不属于生产安全事故\"");
    expect_one_problem(__func__, j, "stage:", "write_off needs revision 1 or later");
    json_decref(j);
}

/* as_of against occurred_at and created_at, at the second. */
static void test_as_of_edges(void **state)
{
    (void)state;
    json_t *j = variant("accident-closing.json", "as_of", "\"2026-10-14T08:30:00+08:00\"");
    expect_clean(__func__, j); /* == occurred_at */
    json_decref(j);
    j = variant("accident-closing.json", "as_of", "\"2026-10-14T08:29:59+08:00\"");
    expect_one_problem(__func__, j, "as_of:", "before occurred_at");
    json_decref(j);

    /* at most 5 minutes after created_at (not the 10 minutes the other times get) */
    j = variant("accident-closing.json", "as_of", "\"2026-11-05T12:00:00+08:00\"");
    expect_clean_at(__func__, j, 1793851200 - 300); /* created 11:55:00 */
    expect_one_problem_at(__func__, j, "", 1793851200 - 301, "as_of:", "in the future");
    json_decref(j);

    /* out of range on the wire (the JSON parser cannot produce these) */
    j = load_example("accident-closing.json");
    zb_problems p = {0};
    Zb__Report *r = zb_report_from_json(j, "", &p, NULL);
    assert_non_null(r);
    set_header(r, CREATED_AT);
    r->accident->as_of->offset_min = 24 * 60;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.lines[0], "as_of: out of range");
    zb_problems_free(&p);
    r->accident->as_of->offset_min = 480;
    r->accident->as_of->unix = -1;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.lines[0], "as_of: out of range");
    zb_problems_free(&p);
    /* an enum value no table knows */
    r->accident->as_of->unix = 1793844000;
    r->accident->category = (Zb__Category)21;
    r->accident->stage = (Zb__Stage)5;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.lines[0], "category: unknown category (21)");
    assert_string_equal(p.lines[1], "stage: unknown stage (5)");
    zb_problems_free(&p);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);
}

/* Every GB 6441-86 category: JSON -> proto -> bytes -> proto -> JSON. */
static void test_categories_round_trip(void **state)
{
    (void)state;
    static const char *const names[20] = {
        "object_strike",    "vehicle_injury",      "mechanical_injury", "lifting_injury",
        "electrocution",    "drowning",            "scald_burn",        "fire",
        "fall_from_height", "collapse",            "roof_fall",         "water_inrush",
        "blasting",         "explosive_explosion", "gas_explosion",     "boiler_explosion",
        "vessel_explosion", "other_explosion",     "poisoning_asphyxiation", "other_injury"};
    static const char *const names_zh[20] = {
        "物体打击", "车辆伤害", "机械伤害", "起重伤害", "触电",     "淹溺",     "灼烫",
        "火灾",     "高处坠落", "坍塌",     "冒顶片帮", "透水",     "放炮",     "火药爆炸",
        "瓦斯爆炸", "锅炉爆炸", "容器爆炸", "其它爆炸", "中毒和窒息", "其它伤害"};
    assert_int_equal(ZB_CATEGORY_MAX - ZB_CATEGORY_MIN + 1, 20);
    assert_int_equal(zb_category_parse("fire"), ZB__CATEGORY__CATEGORY_FIRE);
    assert_int_equal(ZB__CATEGORY__CATEGORY_FIRE, 8);
    for (int i = 1; i <= 20; i++) {
        assert_string_equal(zb_category_name(i), names[i - 1]);
        assert_string_equal(zb_category_name_zh(i), names_zh[i - 1]);
        assert_int_equal(zb_category_parse(names[i - 1]), i);

        char value[64];
        snprintf(value, sizeof value, "\"%s\"", names[i - 1]);
        json_t *j = variant("accident.json", "category", value);
        zb_problems p = {0}, w = {0};
        Zb__Report *r = zb_report_from_json(j, "", &p, &w);
        assert_non_null(r);
        assert_true(r->accident->has_category);
        assert_int_equal(r->accident->category, i);
        set_header(r, CREATED_AT);
        zb_report_validate(r, "", &p);
        assert_int_equal(p.n, 0);
        size_t len = zb__report__get_packed_size(r);
        uint8_t *buf = malloc(len);
        assert_non_null(buf);
        zb__report__pack(r, buf);
        Zb__Report *d = NULL;
        assert_int_equal(zb_report_decode(buf, len, &d), ZB_OK);
        assert_int_equal(d->accident->category, i);
        json_t *out = zb_report_to_json(d);
        assert_string_equal(json_string_value(json_object_get(out, "category")), names[i - 1]);
        json_decref(out);
        zb__report__free_unpacked(d, NULL);
        free(buf);
        zb__report__free_unpacked(r, NULL);
        zb_problems_free(&p);
        zb_problems_free(&w);
        json_decref(j);
    }
    assert_int_equal(zb_category_parse("火灾"), 0);
    assert_int_equal(zb_category_parse(NULL), 0);
    assert_null(zb_category_name(0));
    assert_null(zb_category_name(21));
    assert_null(zb_category_name_zh(21));

    static const char *const stages[4] = {"initial", "supplement", "closing", "write_off"};
    for (int i = 1; i <= 4; i++) {
        assert_string_equal(zb_stage_name(i), stages[i - 1]);
        assert_int_equal(zb_stage_parse(stages[i - 1]), i);
        assert_non_null(zb_stage_name_zh(i));
    }
    assert_int_equal(ZB__STAGE__CLOSING, 3);
    assert_int_equal(zb_stage_parse("final"), 0);
    assert_null(zb_stage_name(0));
    assert_null(zb_stage_name(5));
}

/* What to_json shows of a version 2 accident: stage and as_of always (the
 * defaults when absent), the rest when present. */
static void test_to_json_v2(void **state)
{
    (void)state;
    static const struct {
        const char *example, *path, *value;
        const char *stage, *as_of;
    } cases[] = {
        {"accident.json", "other", "\"\"", "initial", "2026-11-05T23:59:59+08:00"},
        {"accident-supplement.json", "stage", NULL, "supplement", "2026-10-15T03:20:00+08:00"},
        {"accident-supplement.json", "as_of", NULL, "supplement", "2026-11-05T23:59:59+08:00"},
        /* the offset it was written with is kept (Z shows as +00:00) */
        {"accident-closing.json", "as_of", "\"2026-10-14T00:30:00Z\"", "closing",
         "2026-10-14T00:30:00+00:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = variant(cases[i].example, cases[i].path, cases[i].value);
        zb_problems p = {0};
        Zb__Report *r = zb_report_from_json(j, "", &p, NULL);
        assert_non_null(r);
        set_header(r, CREATED_AT);
        json_t *out = zb_report_to_json(r);
        assert_string_equal(json_string_value(json_object_get(out, "stage")), cases[i].stage);
        assert_string_equal(json_string_value(json_object_get(out, "as_of")), cases[i].as_of);
        assert_null(json_object_get(out, "write_off_reason"));
        assert_non_null(json_object_get(out, "category"));
        json_decref(out);
        zb__report__free_unpacked(r, NULL);
        json_decref(j);
    }

    /* the write-off: its reason is shown */
    json_t *wo = load_example("accident-write-off.json");
    zb_problems p = {0};
    Zb__Report *r = zb_report_from_json(json_array_get(wo, 1), "", &p, NULL);
    assert_non_null(r);
    set_header(r, CREATED_AT);
    assert_int_equal(zb_report_accident_stage(r->accident), ZB__STAGE__WRITE_OFF);
    json_t *out = zb_report_to_json(r);
    assert_string_equal(json_string_value(json_object_get(out, "stage")), "write_off");
    assert_non_null(json_string_value(json_object_get(out, "write_off_reason")));
    assert_string_equal(json_string_value(json_object_get(out, "write_off_reason")),
                        json_string_value(json_object_get(json_array_get(wo, 1), "write_off_reason")));
    json_decref(out);
    zb__report__free_unpacked(r, NULL);
    json_decref(wo);
}

/* Version 1 reports (stored by an earlier node, or sent by one) keep the
 * version 1 rules: no category needed, and none of the version 2 fields. */
static void test_version1(void **state)
{
    (void)state;
    json_t *j = load_example("accident.json");
    zb_problems p = {0};
    Zb__Report *r = zb_report_from_json(j, "", &p, NULL);
    assert_non_null(r);
    set_header(r, CREATED_AT);
    r->version = 1;
    r->accident->has_category = 0; /* revision 0 without a category */
    r->accident->category = 0;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 0);
    /* it decodes, and shows what a version 1 report showed */
    size_t len = zb__report__get_packed_size(r);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    zb__report__pack(r, buf);
    Zb__Report *d = NULL;
    assert_int_equal(zb_report_decode(buf, len, &d), ZB_OK);
    assert_int_equal(d->version, 1);
    json_t *out = zb_report_to_json(d);
    assert_null(json_object_get(out, "stage"));
    assert_null(json_object_get(out, "as_of"));
    assert_null(json_object_get(out, "category"));
    assert_string_equal(json_string_value(json_object_get(out, "grade")), "general");
    json_decref(out);
    /* its defaults still answer */
    assert_int_equal(zb_report_accident_stage(d->accident), ZB__STAGE__INITIAL);
    int32_t off = 0;
    assert_int_equal(zb_report_accident_as_of(d, &off), CREATED_AT);
    assert_int_equal(off, 480);
    zb__report__free_unpacked(d, NULL);
    free(buf);

    /* each version 2 field: one problem naming it; the bytes still decode
     * (the refusal is the shared validation's, as INVALID_REPORT) */
    Zb__Time t = ZB__TIME__INIT;
    t.unix = OCCURRED_AT;
    t.offset_min = 480;
    char text[] = "x";
    for (int field = 0; field < 5; field++) {
        Zb__AccidentReport *a = r->accident;
        const char *want = NULL;
        switch (field) {
        case 0: a->has_category = 1, a->category = ZB__CATEGORY__LIFTING_INJURY, want = "category:"; break;
        case 1: a->cause = text, want = "cause:"; break;
        case 2: a->has_stage = 1, a->stage = ZB__STAGE__INITIAL, want = "stage:"; break;
        case 3: a->as_of = &t, want = "as_of:"; break;
        case 4: a->write_off_reason = text, want = "write_off_reason:"; break;
        }
        zb_report_validate(r, "[1].", &p);
        assert_int_equal(p.n, 1);
        assert_true(strncmp(p.lines[0], "[1].", 4) == 0);
        assert_true(strncmp(p.lines[0] + 4, want, strlen(want)) == 0);
        assert_non_null(strstr(p.lines[0], "not allowed in a version 1 report"));
        zb_problems_free(&p);
        len = zb__report__get_packed_size(r);
        buf = malloc(len);
        assert_non_null(buf);
        zb__report__pack(r, buf);
        assert_int_equal(zb_report_decode(buf, len, &d), ZB_OK);
        zb_report_validate(d, "", &p);
        assert_int_equal(p.n, 1);
        zb_problems_free(&p);
        zb__report__free_unpacked(d, NULL);
        free(buf);
        /* back to a clean version 1 report (borrowed pointers unset before free) */
        a->has_category = 0, a->category = 0, a->cause = NULL, a->has_stage = 0, a->stage = 0;
        a->as_of = NULL, a->write_off_reason = NULL;
    }

    /* the same report as version 2 needs its category on revision 0 */
    r->version = 2;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.lines[0], "category: missing (required on revision 0)");
    zb_problems_free(&p);

    /* version 3 is a prefecture's relay or summary: a monthly report of
     * version 3 decodes but is not valid */
    r->version = 3;
    zb_report_validate(r, "", &p);
    assert_true(p.n >= 1);
    assert_string_equal(p.lines[0], "version: a monthly or accident report must be version 1 or 2");
    zb_problems_free(&p);

    /* a later version is neither decoded nor valid */
    r->version = 4;
    len = zb__report__get_packed_size(r);
    buf = malloc(len);
    assert_non_null(buf);
    zb__report__pack(r, buf);
    assert_int_equal(zb_report_decode(buf, len, &d), ZB_EDECODE);
    free(buf);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);
}

/* ------------------------------------------------------------ warnings, presence */

static void test_unknown_fields_warn(void **state)
{
    (void)state;
    static const struct {
        const char *example, *path, *want;
    } cases[] = {
        {"monthly.json", "foo", "foo:"},
        {"accident.json", "foo", "foo:"},
        {"monthly.json", "tasks[1].foo", "tasks[1].foo:"},
        {"monthly.json", "stats.foo", "stats.foo:"},
        {"accident.json", "unit.foo", "unit.foo:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = variant(cases[i].example, cases[i].path, "1");
        zb_problems p = {0}, w = {0};
        run_pipeline(j, "", CREATED_AT, &p, &w);
        if (p.n != 0)
            print_lines("problem", &p);
        assert_int_equal(p.n, 0);
        assert_int_equal(w.n, 1);
        if (strncmp(w.lines[0], cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("warning \"%s\" does not start with \"%s\"", w.lines[0], cases[i].want);
        zb_problems_free(&p);
        zb_problems_free(&w);
        /* without a warnings list the report is still accepted */
        Zb__Report *r = zb_report_from_json(j, "", &p, NULL);
        assert_non_null(r);
        assert_int_equal(p.n, 0);
        zb__report__free_unpacked(r, NULL);
        json_decref(j);
    }
}

/* Absent statistics are unknown, not zero. */
static void test_stats_presence(void **state)
{
    (void)state;
    zb_problems p = {0}, w = {0};

    json_t *j = variant("monthly.json", "stats", NULL);
    Zb__Report *r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    assert_null(r->monthly->stats);
    json_t *out = zb_report_to_json(r);
    assert_null(json_object_get(out, "stats"));
    json_decref(out);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);

    j = variant("monthly.json", "stats", "null");
    r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    assert_null(r->monthly->stats);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);

    j = variant("monthly.json", "stats", "{\"inspections\": 0, \"accident_deaths\": 3}");
    r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    assert_int_equal(p.n, 0);
    const Zb__MonthlyStats *s = r->monthly->stats;
    assert_non_null(s);
    assert_true(s->has_inspections);
    assert_int_equal(s->inspections, 0);
    assert_true(s->has_accident_deaths);
    assert_int_equal(s->accident_deaths, 3);
    assert_false(s->has_hazards_found);
    assert_false(s->has_hazards_fixed);
    assert_false(s->has_major_hazards_listed);
    assert_false(s->has_enterprises_standardized);
    assert_false(s->has_penalties_yuan);
    assert_false(s->has_training_sessions);
    assert_false(s->has_accidents);
    assert_false(s->has_accident_serious_injuries);
    assert_false(s->has_accident_direct_loss_yuan);

    /* presence survives the wire and comes back out as exactly those keys */
    set_header(r, CREATED_AT);
    size_t len = zb__report__get_packed_size(r);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    zb__report__pack(r, buf);
    Zb__Report *d = NULL;
    assert_int_equal(zb_report_decode(buf, len, &d), ZB_OK);
    assert_true(d->monthly->stats->has_inspections);
    assert_false(d->monthly->stats->has_hazards_found);
    out = zb_report_to_json(d);
    json_t *so = json_object_get(out, "stats");
    assert_non_null(so);
    assert_int_equal(json_object_size(so), 2);
    assert_int_equal(json_integer_value(json_object_get(so, "inspections")), 0);
    assert_int_equal(json_integer_value(json_object_get(so, "accident_deaths")), 3);
    json_decref(out);
    zb__report__free_unpacked(d, NULL);
    free(buf);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);

    /* a present but empty object: stats known to exist, every figure unknown */
    j = variant("monthly.json", "stats", "{}");
    r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    s = r->monthly->stats;
    assert_non_null(s);
    assert_false(s->has_inspections || s->has_hazards_found || s->has_hazards_fixed ||
                 s->has_major_hazards_listed || s->has_enterprises_standardized ||
                 s->has_penalties_yuan || s->has_training_sessions || s->has_accidents ||
                 s->has_accident_deaths || s->has_accident_serious_injuries ||
                 s->has_accident_direct_loss_yuan);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);

    /* a null figure is absent, not zero */
    j = variant("monthly.json", "stats.hazards_found", "null");
    r = zb_report_from_json(j, "", &p, &w);
    assert_non_null(r);
    assert_false(r->monthly->stats->has_hazards_found);
    assert_true(r->monthly->stats->has_inspections);
    zb__report__free_unpacked(r, NULL);
    json_decref(j);

    assert_int_equal(p.n, 0);
    assert_int_equal(w.n, 0);
}

/* Problems from several reports accumulate, in order, one line each. */
static void test_problems_accumulate(void **state)
{
    (void)state;
    zb_problems p = {0}, w = {0};
    json_t *a = variant("monthly.json", "period", "\"2026-13\"");
    json_t *b = variant("accident.json", "industry", "\"mining\"");
    run_pipeline(a, "[0].", CREATED_AT, &p, &w);
    run_pipeline(b, "[1].", CREATED_AT, &p, &w);
    assert_int_equal(p.n, 2);
    assert_true(strncmp(p.lines[0], "[0].period:", 11) == 0);
    assert_true(strncmp(p.lines[1], "[1].industry:", 13) == 0);
    /* many problems: the list grows */
    for (int i = 0; i < 100; i++)
        zb_problems_add(&p, "x%d: y", i);
    assert_int_equal(p.n, 102);
    assert_string_equal(p.lines[101], "x99: y");
    zb_problems_free(&p);
    assert_int_equal(p.n, 0);
    assert_null(p.lines);
    zb_problems_free(&p); /* again: harmless */
    zb_problems_free(&w);
    json_decref(a);
    json_decref(b);
}

static void test_utf8_chars(void **state)
{
    (void)state;
    assert_int_equal(zb_utf8_chars("延吉"), 2);
    assert_int_equal(zb_utf8_chars(""), 0);
    assert_int_equal(zb_utf8_chars("abc"), 3);
    assert_int_equal(zb_utf8_chars("\xc3\xa9"), 1);         /* é */
    assert_int_equal(zb_utf8_chars("\xf0\x9f\x98\x80"), 1); /* U+1F600 */
    assert_int_equal(zb_utf8_chars("延吉市 Yanji 2026"), 14);
    assert_int_equal(strlen("延吉"), 6);
}

static void test_type_name(void **state)
{
    (void)state;
    Zb__Report r = ZB__REPORT__INIT;
    assert_string_equal(zb_report_type_name(&r), "unknown");
    r.content_case = ZB__REPORT__CONTENT_MONTHLY;
    assert_string_equal(zb_report_type_name(&r), "monthly");
    r.content_case = ZB__REPORT__CONTENT_ACCIDENT;
    assert_string_equal(zb_report_type_name(&r), "accident");
}

/* Header rules of zb_report_validate (the fields the node fills in). */
static void test_validate_header(void **state)
{
    (void)state;
    json_t *j = load_example("monthly.json");
    zb_problems p = {0};
    Zb__Report *r = zb_report_from_json(j, "", &p, NULL);
    assert_non_null(r);

    set_header(r, CREATED_AT);
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 0);

    r->seq = 0;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "seq:", 4) == 0);
    zb_problems_free(&p);
    r->seq = 1;

    free(r->county);
    r->county = strdup("22240");
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "county:", 7) == 0);
    zb_problems_free(&p);
    free(r->county);
    r->county = NULL;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "county:", 7) == 0);
    zb_problems_free(&p);
    r->county = strdup("222401");

    r->prev_hash.len = 31;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "prev_hash:", 10) == 0);
    zb_problems_free(&p);
    r->prev_hash.len = 32;

    r->version = 1; /* an earlier node's: still valid */
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 0);
    r->version = 3;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "version:", 8) == 0);
    zb_problems_free(&p);
    r->version = 0;
    zb_report_validate(r, "", &p);
    assert_int_equal(p.n, 1);
    assert_true(strncmp(p.lines[0], "version:", 8) == 0);
    zb_problems_free(&p);
    r->version = 2;

    zb__report__free_unpacked(r, NULL);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_parse),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_good_edges),
        cmocka_unit_test(test_time_edges),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_text_limits),
        cmocka_unit_test(test_v2_text_limits),
        cmocka_unit_test(test_as_of_edges),
        cmocka_unit_test(test_write_off_first),
        cmocka_unit_test(test_categories_round_trip),
        cmocka_unit_test(test_to_json_v2),
        cmocka_unit_test(test_version1),
        cmocka_unit_test(test_unknown_fields_warn),
        cmocka_unit_test(test_stats_presence),
        cmocka_unit_test(test_problems_accumulate),
        cmocka_unit_test(test_utf8_chars),
        cmocka_unit_test(test_type_name),
        cmocka_unit_test(test_validate_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
