/* report.c - see report.h. */
#include "report.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "domain.h"
#include "envelope.h"
#include "merkle.h"
#include "i18n.h"
#include "timefmt.h"

/* domain.h's tables are indexed by the proto enum values. */
_Static_assert(ZB__CATEGORY__OBJECT_STRIKE == ZB_CATEGORY_MIN && ZB__CATEGORY__CATEGORY_FIRE == 8 &&
                   ZB__CATEGORY__OTHER_INJURY == ZB_CATEGORY_MAX,
               "domain.h categories follow enum Category");
_Static_assert(ZB__STAGE__INITIAL == ZB_STAGE_MIN && ZB__STAGE__WRITE_OFF == ZB_STAGE_MAX,
               "domain.h stages follow enum Stage");

/* ------------------------------------------------------------ problems */

/* zb_tr, its result checked as the format it translates (msgfmt --check
 * keeps the conversions of every translation the same). */
static const char *tr_format(const char *fmt) __attribute__((format_arg(1)));
static const char *tr_format(const char *fmt)
{
    return zb_tr(fmt);
}

void zb_problems_add(zb_problems *p, const char *fmt, ...)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        char **l = realloc(p->lines, cap * sizeof *l);
        if (!l)
            return; /* out of memory: the problem count is still > 0 below */
        p->lines = l;
        p->cap = cap;
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, p->localize ? tr_format(fmt) : fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (s)
        p->lines[p->n++] = s;
}

void zb_problems_free(zb_problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->lines[i]);
    free(p->lines);
    *p = (zb_problems){0};
}

/* Well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
bool zb_utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s, n, min;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        s++;
        for (unsigned i = 0; i < n; i++, s++) {
            if ((*s & 0xC0) != 0x80)
                return 0;
            c = c << 6 | (*s & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
    }
    return 1;
}

size_t zb_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* ------------------------------------------------------------ JSON in */

/* Parsing context: the path prefix and where problems go. */
typedef struct {
    const char *prefix;
    zb_problems *problems;
    zb_problems *warnings;
    int bad; /* problems added by this parse */
} jctx;

#define PROBLEM(c, ...)                                                                            \
    do {                                                                                           \
        (c)->bad++;                                                                                \
        zb_problems_add((c)->problems, __VA_ARGS__);                                               \
    } while (0)

static void warn_unknown(jctx *c, const json_t *obj, const char *path,
                         const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int found = 0;
        for (const char *const *k = known; *k; k++)
            if (strcmp(*k, key) == 0)
                found = 1;
        if (!found && c->warnings)
            zb_problems_add(c->warnings, "%s%s%s: unknown field, ignored", c->prefix, path, key);
    }
}

/* Optional/required string: returns malloc'd copy, NULL when absent or bad. */
static char *get_str(jctx *c, const json_t *obj, const char *path, const char *key, int required)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            PROBLEM(c, "%s%s%s: missing", c->prefix, path, key);
        return NULL;
    }
    if (!json_is_string(v)) {
        PROBLEM(c, "%s%s%s: wrong type, expected a string", c->prefix, path, key);
        return NULL;
    }
    char *s = strdup(json_string_value(v));
    if (!s)
        PROBLEM(c, "%s%s%s: out of memory", c->prefix, path, key);
    return s;
}

/* Integer in [0, max]; returns 1 and sets *out when present and valid. */
static int get_count(jctx *c, const json_t *obj, const char *path, const char *key, int required,
                     uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            PROBLEM(c, "%s%s%s: missing", c->prefix, path, key);
        return 0;
    }
    if (!json_is_integer(v)) {
        PROBLEM(c, "%s%s%s: wrong type, expected a whole number", c->prefix, path, key);
        return 0;
    }
    json_int_t i = json_integer_value(v);
    if (i < 0) {
        PROBLEM(c, "%s%s%s: negative count (%" PRId64 ")", c->prefix, path, key, (int64_t)i);
        return 0;
    }
    if ((uint64_t)i > max) {
        PROBLEM(c, "%s%s%s: out of range (%" PRId64 " > %" PRIu64 ")", c->prefix, path, key,
                (int64_t)i, max);
        return 0;
    }
    *out = (uint64_t)i;
    return 1;
}

static Zb__Time *get_time(jctx *c, const json_t *obj, const char *key, int required)
{
    char *s = get_str(c, obj, "", key, required);
    if (!s)
        return NULL;
    int64_t t;
    int32_t off;
    Zb__Time *tm = NULL;
    if (zb_time_parse(s, &t, &off) != 0) {
        PROBLEM(c, "%s%s: not an RFC 3339 time (e.g. 2026-10-14T08:30:00+08:00)", c->prefix, key);
    } else if ((tm = malloc(sizeof *tm)) != NULL) {
        zb__time__init(tm);
        tm->unix = t;
        tm->offset_min = off;
    }
    free(s);
    return tm;
}

static Zb__MonthlyStats *parse_stats(jctx *c, const json_t *obj)
{
    if (!json_is_object(obj)) {
        PROBLEM(c, "%sstats: wrong type, expected an object", c->prefix);
        return NULL;
    }
    Zb__MonthlyStats *st = malloc(sizeof *st);
    if (!st)
        return NULL;
    zb__monthly_stats__init(st);
    /* Table-driven from the schema: every MonthlyStats field is an optional
     * count whose JSON name is its proto name, so adding a statistic is one
     * line in proto/zhibao.proto. */
    const ProtobufCMessageDescriptor *d = &zb__monthly_stats__descriptor;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        if (!f) {
            if (c->warnings)
                zb_problems_add(c->warnings, "%sstats.%s: unknown field, ignored", c->prefix, key);
            continue;
        }
        uint64_t val;
        uint64_t max = strstr(key, "yuan") ? ZB_YUAN_MAX : ZB_COUNT_MAX;
        if (get_count(c, obj, "stats.", key, 0, max, &val))
            zb_stats_set(st, (unsigned)(f - d->fields), val);
    }
    return st;
}

static void parse_tasks(jctx *c, const json_t *arr, Zb__MonthlyReport *m)
{
    if (!json_is_array(arr)) {
        PROBLEM(c, "%stasks: wrong type, expected a list", c->prefix);
        return;
    }
    size_t n = json_array_size(arr);
    if (n == 0)
        return;
    m->tasks = calloc(n, sizeof *m->tasks);
    if (!m->tasks)
        return;
    static const char *const known[] = {"task", "status", "progress", "problems", "next_steps",
                                        NULL};
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(arr, i);
        char path[32];
        snprintf(path, sizeof path, "tasks[%zu].", i);
        if (!json_is_object(t)) {
            PROBLEM(c, "%stasks[%zu]: wrong type, expected an object", c->prefix, i);
            continue;
        }
        warn_unknown(c, t, path, known);
        Zb__TaskEntry *e = malloc(sizeof *e);
        if (!e)
            return;
        zb__task_entry__init(e);
        m->tasks[m->n_tasks++] = e;
        uint64_t code;
        if (get_count(c, t, path, "task", 1, UINT32_MAX, &code))
            e->task = (uint32_t)code;
        char *st = get_str(c, t, path, "status", 1);
        if (st) {
            int v = zb_task_status_parse(st);
            if (v == 0)
                PROBLEM(c, "%s%sstatus: must be one of not_started, in_progress, done", c->prefix,
                        path);
            e->status = (Zb__TaskStatus)v;
            free(st);
        }
        e->progress = get_str(c, t, path, "progress", 0);
        e->problems = get_str(c, t, path, "problems", 0);
        e->next_steps = get_str(c, t, path, "next_steps", 0);
    }
}

static Zb__MonthlyReport *parse_monthly(jctx *c, const json_t *obj)
{
    static const char *const known[] = {"type", "period", "tasks", "stats", NULL};
    warn_unknown(c, obj, "", known);
    Zb__MonthlyReport *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    zb__monthly_report__init(m);
    m->period = get_str(c, obj, "", "period", 1);
    int y, mo;
    if (m->period && zb_period_parse(m->period, &y, &mo) != 0)
        PROBLEM(c, "%speriod: must be YYYY-MM (e.g. 2026-10)", c->prefix);
    json_t *tasks = json_object_get(obj, "tasks");
    if (tasks && !json_is_null(tasks))
        parse_tasks(c, tasks, m);
    json_t *stats = json_object_get(obj, "stats");
    if (stats && !json_is_null(stats))
        m->stats = parse_stats(c, stats);
    return m;
}

static Zb__AccidentReport *parse_accident(jctx *c, const json_t *obj)
{
    static const char *const known[] = {
        "type", "accident_id", "revision", "occurred_at", "county_notified_at", "place", "unit",
        "industry", "summary", "deaths", "missing", "serious_injuries", "minor_injuries",
        "direct_loss_yuan", "measures_taken", "other", "category", "cause", "stage", "as_of",
        "write_off_reason", NULL};
    warn_unknown(c, obj, "", known);
    Zb__AccidentReport *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    zb__accident_report__init(a);
    a->accident_id = get_str(c, obj, "", "accident_id", 1);
    uint64_t v;
    if (get_count(c, obj, "", "revision", 1, ZB_REVISION_MAX, &v))
        a->revision = (uint32_t)v;
    a->occurred_at = get_time(c, obj, "occurred_at", 1);
    a->county_notified_at = get_time(c, obj, "county_notified_at", 1);
    a->place = get_str(c, obj, "", "place", 1);

    json_t *unit = json_object_get(obj, "unit");
    if (!unit || json_is_null(unit)) {
        PROBLEM(c, "%sunit: missing", c->prefix);
    } else if (!json_is_object(unit)) {
        PROBLEM(c, "%sunit: wrong type, expected an object", c->prefix);
    } else if ((a->unit = malloc(sizeof *a->unit)) != NULL) {
        static const char *const uknown[] = {"name", "credit_code", "industry", NULL};
        warn_unknown(c, unit, "unit.", uknown);
        zb__unit__init(a->unit);
        a->unit->name = get_str(c, unit, "unit.", "name", 1);
        a->unit->credit_code = get_str(c, unit, "unit.", "credit_code", 0);
        a->unit->industry = get_str(c, unit, "unit.", "industry", 0);
    }

    char *ind = get_str(c, obj, "", "industry", 1);
    if (ind) {
        int i = zb_industry_parse(ind);
        if (i == 0)
            PROBLEM(c,
                    "%sindustry: unknown industry \"%.40s\" (one of coal_mine, non_coal_mine, "
                    "hazardous_chemicals, fireworks, construction, metallurgy_trade, road_traffic, "
                    "fire, special_equipment, water_traffic, railway, civil_aviation, "
                    "agricultural_machinery, fishing_vessel, other)",
                    c->prefix, ind);
        a->industry = (Zb__Industry)i;
        free(ind);
    }
    a->summary = get_str(c, obj, "", "summary", 1);
    if (get_count(c, obj, "", "deaths", 1, ZB_COUNT_MAX, &v))
        a->deaths = (uint32_t)v;
    if (get_count(c, obj, "", "missing", 1, ZB_COUNT_MAX, &v))
        a->missing = (uint32_t)v;
    if (get_count(c, obj, "", "serious_injuries", 1, ZB_COUNT_MAX, &v))
        a->serious_injuries = (uint32_t)v;
    if (get_count(c, obj, "", "minor_injuries", 1, ZB_COUNT_MAX, &v))
        a->minor_injuries = (uint32_t)v;
    if (get_count(c, obj, "", "direct_loss_yuan", 1, ZB_YUAN_MAX, &v))
        a->direct_loss_yuan = v;
    a->measures_taken = get_str(c, obj, "", "measures_taken", 0);
    a->other = get_str(c, obj, "", "other", 0);

    /* version 2: recorded as given; whether each is required or allowed
     * here (revision, stage) is zb_report_validate's to say */
    char *cat = get_str(c, obj, "", "category", 0);
    if (cat) {
        int i = zb_category_parse(cat);
        if (i == 0) {
            char names[400] = "";
            size_t len = 0;
            for (int k = ZB_CATEGORY_MIN; k <= ZB_CATEGORY_MAX && len < sizeof names; k++) {
                int w = snprintf(names + len, sizeof names - len, "%s%s",
                                 k > ZB_CATEGORY_MIN ? ", " : "", zb_category_name(k));
                len += w > 0 ? (size_t)w : 0;
            }
            PROBLEM(c, "%scategory: unknown category \"%.40s\" (GB 6441-86: one of %s)", c->prefix,
                    cat, names);
        } else {
            a->has_category = 1;
            a->category = (Zb__Category)i;
        }
        free(cat);
    }
    a->cause = get_str(c, obj, "", "cause", 0);
    char *stage = get_str(c, obj, "", "stage", 0);
    if (stage) {
        int i = zb_stage_parse(stage);
        if (i == 0) {
            PROBLEM(c,
                    "%sstage: unknown stage \"%.40s\" (one of initial, supplement, closing, "
                    "write_off)",
                    c->prefix, stage);
        } else {
            a->has_stage = 1;
            a->stage = (Zb__Stage)i;
        }
        free(stage);
    }
    a->as_of = get_time(c, obj, "as_of", 0);
    a->write_off_reason = get_str(c, obj, "", "write_off_reason", 0);
    return a;
}

Zb__Report *zb_report_from_json(const json_t *obj, const char *prefix, zb_problems *problems,
                                zb_problems *warnings)
{
    jctx c = {prefix ? prefix : "", problems, warnings, 0};
    if (!json_is_object(obj)) {
        PROBLEM(&c, "%s(report): wrong type, expected a JSON object", c.prefix);
        return NULL;
    }
    Zb__Report *r = malloc(sizeof *r);
    if (!r) {
        PROBLEM(&c, "%s(report): out of memory", c.prefix);
        return NULL;
    }
    zb__report__init(r);
    r->version = ZB_REPORT_VERSION;
    json_t *type = json_object_get(obj, "type");
    const char *t = json_is_string(type) ? json_string_value(type) : NULL;
    if (!type) {
        PROBLEM(&c, "%stype: missing (\"monthly\" or \"accident\")", c.prefix);
    } else if (t && strcmp(t, "monthly") == 0) {
        r->content_case = ZB__REPORT__CONTENT_MONTHLY;
        r->monthly = parse_monthly(&c, obj);
    } else if (t && strcmp(t, "accident") == 0) {
        r->content_case = ZB__REPORT__CONTENT_ACCIDENT;
        r->accident = parse_accident(&c, obj);
    } else {
        PROBLEM(&c, "%stype: must be \"monthly\" or \"accident\"", c.prefix);
    }
    if (c.bad == 0 && ((r->content_case == ZB__REPORT__CONTENT_MONTHLY && !r->monthly) ||
                       (r->content_case == ZB__REPORT__CONTENT_ACCIDENT && !r->accident)))
        PROBLEM(&c, "%s(report): out of memory", c.prefix);
    if (c.bad) {
        zb__report__free_unpacked(r, NULL);
        return NULL;
    }
    return r;
}

/* ------------------------------------------------------------ validation */

static void check_text(zb_problems *p, const char *prefix, const char *path, const char *s,
                       int required, size_t max)
{
    if (!s) {
        if (required)
            zb_problems_add(p, "%s%s: missing", prefix, path);
        return;
    }
    if (!zb_utf8_valid(s)) {
        zb_problems_add(p, "%s%s: not valid UTF-8", prefix, path);
        return;
    }
    size_t n = zb_utf8_chars(s);
    if (required && n == 0)
        zb_problems_add(p, "%s%s: must not be empty", prefix, path);
    if (n > max)
        zb_problems_add(p, "%s%s: text over its limit (%zu characters, at most %zu)", prefix, path,
                        n, max);
}

bool zb_accident_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* Unified social credit code (GB 32100-2015): 18 characters from
 * 0-9 and A-Z without I, O, S, V, Z. The check digit is not enforced: the
 * code is informative, and a wrong check digit must not block an urgent
 * accident report. */
static int credit_code_valid(const char *s)
{
    if (strlen(s) != 18)
        return 0;
    for (const char *q = s; *q; q++)
        if (!((*q >= '0' && *q <= '9') || (*q >= 'A' && *q <= 'Z' && !strchr("IOSVZ", *q))))
            return 0;
    return 1;
}

static void validate_stats(const Zb__MonthlyStats *st, const char *pre, const char *path,
                           zb_problems *p);
static void validate_time(const Zb__Time *t, const char *pre, const char *name, int64_t created_at,
                          zb_problems *p);

static void validate_monthly(const Zb__MonthlyReport *m, int64_t created_at, const char *pre,
                             zb_problems *p)
{
    int y, mo;
    if (!m->period || zb_period_parse(m->period, &y, &mo) != 0) {
        zb_problems_add(p, "%speriod: must be YYYY-MM (e.g. 2026-10)", pre);
    } else {
        int64_t start, end;
        zb_period_bounds(y, mo, &start, &end);
        if (start > created_at)
            zb_problems_add(p, "%speriod: %s is in the future", pre, m->period);
        if (y < 2000)
            zb_problems_add(p, "%speriod: %s is before 2000", pre, m->period);
    }
    uint32_t seen = 0; /* bit per task code 3..27 */
    for (size_t i = 0; i < m->n_tasks; i++) {
        const Zb__TaskEntry *e = m->tasks[i];
        if (!zb_task_find(e->task)) {
            zb_problems_add(p, "%stasks[%zu].task: unknown task code %u (the catalogue has 3..27)",
                            pre, i, e->task);
        } else if (seen & (1u << e->task)) {
            zb_problems_add(p, "%stasks[%zu].task: task %u listed twice", pre, i, e->task);
        } else {
            seen |= 1u << e->task;
        }
        if (!zb_task_status_name((int)e->status) || e->status == ZB__TASK_STATUS__TASK_STATUS_UNSPECIFIED)
            zb_problems_add(p, "%stasks[%zu].status: must be one of not_started, in_progress, done",
                            pre, i);
        char path[40];
        snprintf(path, sizeof path, "tasks[%zu].progress", i);
        check_text(p, pre, path, e->progress, 0, ZB_TEXT_LONG);
        snprintf(path, sizeof path, "tasks[%zu].problems", i);
        check_text(p, pre, path, e->problems, 0, ZB_TEXT_LONG);
        snprintf(path, sizeof path, "tasks[%zu].next_steps", i);
        check_text(p, pre, path, e->next_steps, 0, ZB_TEXT_LONG);
    }
    if (m->stats)
        validate_stats(m->stats, pre, "stats", p);
}

static void validate_time(const Zb__Time *t, const char *pre, const char *name, int64_t created_at,
                          zb_problems *p)
{
    if (!t) {
        zb_problems_add(p, "%s%s: missing", pre, name);
        return;
    }
    if (t->offset_min < -23 * 60 - 59 || t->offset_min > 23 * 60 + 59 || t->unix < 0 ||
        t->unix > ZB_TIME_MAX)
        zb_problems_add(p, "%s%s: out of range", pre, name);
    else if (t->unix > created_at + ZB_CLOCK_SKEW_S)
        zb_problems_add(p, "%s%s: in the future (after the report's creation time)", pre, name);
}

Zb__Stage zb_report_accident_stage(const Zb__AccidentReport *a)
{
    if (a->has_stage)
        return a->stage;
    return a->revision == 0 ? ZB__STAGE__INITIAL : ZB__STAGE__SUPPLEMENT;
}

int64_t zb_report_accident_as_of(const Zb__Report *r, int32_t *offset_min)
{
    const Zb__AccidentReport *a = r->accident;
    if (a && a->as_of) {
        if (offset_min)
            *offset_min = a->as_of->offset_min;
        return a->as_of->unix;
    }
    if (offset_min)
        *offset_min = ZB_CST_OFFSET_MIN;
    return r->created_at;
}

/* A version 1 report keeps the version 1 rules: none of the fields that
 * came with version 2. */
static void validate_accident_v1(const Zb__AccidentReport *a, const char *pre, zb_problems *p)
{
    const struct {
        const char *name;
        int present;
    } v2[] = {{"category", a->has_category},
              {"cause", a->cause != NULL},
              {"stage", a->has_stage},
              {"as_of", a->as_of != NULL},
              {"write_off_reason", a->write_off_reason != NULL}};
    for (size_t i = 0; i < sizeof v2 / sizeof v2[0]; i++)
        if (v2[i].present)
            zb_problems_add(p, "%s%s: not allowed in a version 1 report (a version 2 field)", pre,
                            v2[i].name);
}

/* Version 2: category, cause, stage, as_of, write_off_reason. A write-off
 * (核销) is found later, once the accident is known: closing and write_off
 * need revision >= 1, like supplement; initial is revision 0 only. */
static void validate_accident_v2(const Zb__AccidentReport *a, int64_t created_at, const char *pre,
                                 zb_problems *p)
{
    if (a->has_category) {
        if (!zb_category_name((int)a->category))
            zb_problems_add(p, "%scategory: unknown category (%d)", pre, (int)a->category);
    } else if (a->revision == 0) {
        zb_problems_add(p, "%scategory: missing (required on revision 0)", pre);
    }
    check_text(p, pre, "cause", a->cause, 0, ZB_TEXT_LONG);

    Zb__Stage stage = zb_report_accident_stage(a);
    if (!zb_stage_name((int)stage))
        zb_problems_add(p, "%sstage: unknown stage (%d)", pre, (int)stage);
    else if (stage == ZB__STAGE__INITIAL && a->revision != 0)
        zb_problems_add(p,
                        "%sstage: initial is only for revision 0 (this is revision %u: "
                        "supplement, closing or write_off)",
                        pre, a->revision);
    else if (stage != ZB__STAGE__INITIAL && a->revision == 0)
        zb_problems_add(p,
                        "%sstage: %s needs revision 1 or later (revision 0 is the initial report)",
                        pre, zb_stage_name((int)stage));

    const Zb__Time *t = a->as_of;
    if (t) {
        if (t->offset_min < -23 * 60 - 59 || t->offset_min > 23 * 60 + 59 || t->unix < 0 ||
            t->unix > ZB_TIME_MAX)
            zb_problems_add(p, "%sas_of: out of range", pre);
        else if (a->occurred_at && t->unix < a->occurred_at->unix)
            zb_problems_add(p, "%sas_of: before occurred_at", pre);
        else if (t->unix > created_at + ZB_AS_OF_SKEW_S)
            zb_problems_add(p,
                            "%sas_of: in the future (more than 5 minutes after the report's "
                            "creation time)",
                            pre);
    }

    if (stage == ZB__STAGE__WRITE_OFF) {
        if (!a->write_off_reason)
            zb_problems_add(p, "%swrite_off_reason: missing (required with stage write_off)", pre);
        else
            check_text(p, pre, "write_off_reason", a->write_off_reason, 1, ZB_TEXT_LONG);
    } else if (a->write_off_reason) {
        zb_problems_add(p, "%swrite_off_reason: only with stage write_off", pre);
    }
}

static void validate_accident(const Zb__AccidentReport *a, uint32_t version, int64_t created_at,
                              const char *pre, zb_problems *p)
{
    if (!a->accident_id || !zb_accident_id_valid(a->accident_id))
        zb_problems_add(p, "%saccident_id: must be 1-64 letters, digits, '-' or '_'", pre);
    if (a->revision > ZB_REVISION_MAX)
        zb_problems_add(p, "%srevision: out of range (at most %u)", pre, ZB_REVISION_MAX);
    validate_time(a->occurred_at, pre, "occurred_at", created_at, p);
    validate_time(a->county_notified_at, pre, "county_notified_at", created_at, p);
    if (a->occurred_at && a->county_notified_at &&
        a->county_notified_at->unix < a->occurred_at->unix)
        zb_problems_add(p, "%scounty_notified_at: before occurred_at", pre);
    check_text(p, pre, "place", a->place, 1, ZB_TEXT_SHORT);
    if (!a->unit) {
        zb_problems_add(p, "%sunit: missing", pre);
    } else {
        check_text(p, pre, "unit.name", a->unit->name, 1, ZB_TEXT_SHORT);
        if (a->unit->credit_code && a->unit->credit_code[0] &&
            !credit_code_valid(a->unit->credit_code))
            zb_problems_add(p,
                            "%sunit.credit_code: must be 18 characters of 0-9 and A-Z without "
                            "I, O, S, V, Z (unified social credit code)",
                            pre);
        check_text(p, pre, "unit.industry", a->unit->industry, 0, ZB_TEXT_SHORT);
    }
    if (!zb_industry_name((int)a->industry))
        zb_problems_add(p, "%sindustry: unknown industry", pre);
    check_text(p, pre, "summary", a->summary, 1, ZB_TEXT_LONG);
    check_text(p, pre, "measures_taken", a->measures_taken, 0, ZB_TEXT_LONG);
    check_text(p, pre, "other", a->other, 0, ZB_TEXT_LONG);
    const struct {
        const char *name;
        uint64_t v, max;
    } counts[] = {{"deaths", a->deaths, ZB_COUNT_MAX},
                  {"missing", a->missing, ZB_COUNT_MAX},
                  {"serious_injuries", a->serious_injuries, ZB_COUNT_MAX},
                  {"minor_injuries", a->minor_injuries, ZB_COUNT_MAX},
                  {"direct_loss_yuan", a->direct_loss_yuan, ZB_YUAN_MAX}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (counts[i].v > counts[i].max)
            zb_problems_add(p, "%s%s: out of range (%" PRIu64 " > %" PRIu64 ")", pre,
                            counts[i].name, counts[i].v, counts[i].max);
    if (version == 1)
        validate_accident_v1(a, pre, p);
    else if (version == 2)
        validate_accident_v2(a, created_at, pre, p);
}

bool zb_stats_get(const Zb__MonthlyStats *s, unsigned i, uint64_t *v)
{
    const ProtobufCFieldDescriptor *f = &zb__monthly_stats__descriptor.fields[i];
    const char *base = (const char *)s;
    assert(i < zb__monthly_stats__descriptor.n_fields && f->type == PROTOBUF_C_TYPE_UINT64);
    if (!*(const protobuf_c_boolean *)(base + f->quantifier_offset))
        return false;
    *v = *(const uint64_t *)(base + f->offset);
    return true;
}

void zb_stats_set(Zb__MonthlyStats *s, unsigned i, uint64_t v)
{
    const ProtobufCFieldDescriptor *f = &zb__monthly_stats__descriptor.fields[i];
    char *base = (char *)s;
    assert(i < zb__monthly_stats__descriptor.n_fields && f->type == PROTOBUF_C_TYPE_UINT64);
    *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    *(uint64_t *)(base + f->offset) = v;
}

/* The stats of a monthly report or a period summary: each figure in range. */
static void validate_stats(const Zb__MonthlyStats *st, const char *pre, const char *path,
                           zb_problems *p)
{
    const ProtobufCMessageDescriptor *d = &zb__monthly_stats__descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        uint64_t v;
        if (!zb_stats_get(st, i, &v))
            continue;
        uint64_t max = strstr(f->name, "yuan") ? ZB_YUAN_MAX : ZB_COUNT_MAX;
        if (v > max)
            zb_problems_add(p, "%s%s.%s: out of range (%" PRIu64 " > %" PRIu64 ")", pre, path,
                            f->name, v, max);
    }
}

/* A relay's shape (protocol.md §14.3); what it proves -- the head's
 * signature, every inclusion path, the counties' signatures inside -- is
 * relay.h's and the province's to check. */
static void validate_relay(const Zb__Relay *r, const char *pre, zb_problems *p)
{
    if (!r->tree_head)
        zb_problems_add(p, "%srelay.tree_head: missing", pre);
    if (r->n_leaves == 0 || r->n_leaves > ZB_RELAY_LEAVES_MAX)
        zb_problems_add(p, "%srelay.leaves: %zu leaves (1..%u)", pre, r->n_leaves,
                        ZB_RELAY_LEAVES_MAX);
    for (size_t i = 0; i < r->n_leaves && i < ZB_RELAY_LEAVES_MAX; i++) {
        const Zb__RelayedLeaf *l = r->leaves[i];
        if (i > 0 && l->log_index <= r->leaves[i - 1]->log_index)
            zb_problems_add(p, "%srelay.leaves[%zu].log_index: not ascending", pre, i);
        if (l->leaf.len == 0 || l->leaf.len > ZB_RELAY_LEAF_MAX)
            zb_problems_add(p, "%srelay.leaves[%zu].leaf: %zu bytes (1..%u)", pre, i, l->leaf.len,
                            ZB_RELAY_LEAF_MAX);
        if (l->n_path > ZB_MERKLE_MAX_PROOF)
            zb_problems_add(p, "%srelay.leaves[%zu].path: %zu hashes (at most %u)", pre, i,
                            l->n_path, ZB_MERKLE_MAX_PROOF);
        for (size_t j = 0; j < l->n_path && j < ZB_MERKLE_MAX_PROOF; j++)
            if (l->path[j].len != ZB_HASH_LEN) {
                zb_problems_add(p, "%srelay.leaves[%zu].path[%zu]: must be 32 bytes", pre, i, j);
                break;
            }
    }
}

static void validate_summary(const Zb__PeriodSummary *m, int64_t created_at, const char *pre,
                             zb_problems *p)
{
    int y, mo;
    if (!m->period || zb_period_parse(m->period, &y, &mo) != 0)
        zb_problems_add(p, "%ssummary.period: must be YYYY-MM (e.g. 2026-10)", pre);
    validate_time(m->deadline, pre, "summary.deadline", ZB_TIME_MAX, p);
    if (m->deadline && m->deadline->unix >= 0 && m->deadline->unix > created_at)
        zb_problems_add(p, "%ssummary.deadline: not passed when the summary was made", pre);
    if (m->n_counties > ZB_SUMMARY_COUNTIES_MAX)
        zb_problems_add(p, "%ssummary.counties: %zu counties (at most %u)", pre, m->n_counties,
                        ZB_SUMMARY_COUNTIES_MAX);
    for (size_t i = 0; i < m->n_counties && i < ZB_SUMMARY_COUNTIES_MAX; i++) {
        const Zb__CountySummary *c = m->counties[i];
        if (!zb_county_code_valid(c->county))
            zb_problems_add(p, "%ssummary.counties[%zu].county: must be a 6-digit county code",
                            pre, i);
        else if (i > 0 && zb_county_code_valid(m->counties[i - 1]->county) &&
                 strcmp(c->county, m->counties[i - 1]->county) <= 0)
            zb_problems_add(p, "%ssummary.counties[%zu].county: not in ascending code order",
                            pre, i);
        bool filed = c->has_versions && c->versions > 0;
        if (c->status < ZB__FILING_STATUS__ON_TIME || c->status > ZB__FILING_STATUS__MISSING)
            zb_problems_add(p, "%ssummary.counties[%zu].status: must be on_time, late or missing",
                            pre, i);
        else if (filed != (c->status != ZB__FILING_STATUS__MISSING))
            zb_problems_add(p, "%ssummary.counties[%zu].status: %s with %u version(s) filed", pre,
                            i, c->status == ZB__FILING_STATUS__MISSING ? "missing" : "filed",
                            filed ? c->versions : 0);
        if (filed && (!c->has_seq || c->seq == 0))
            zb_problems_add(p, "%ssummary.counties[%zu].seq: missing for a filed report", pre, i);
        if (c->has_first_created_at && (c->first_created_at < 0 || c->first_created_at > ZB_TIME_MAX))
            zb_problems_add(p, "%ssummary.counties[%zu].first_created_at: out of range", pre, i);
        uint32_t tasks = (c->has_tasks_not_started ? c->tasks_not_started : 0) +
                         (c->has_tasks_in_progress ? c->tasks_in_progress : 0) +
                         (c->has_tasks_done ? c->tasks_done : 0);
        if ((c->has_tasks_not_started && c->tasks_not_started > ZB_TASK_MAX) ||
            (c->has_tasks_in_progress && c->tasks_in_progress > ZB_TASK_MAX) ||
            (c->has_tasks_done && c->tasks_done > ZB_TASK_MAX) ||
            tasks > ZB_TASK_MAX - ZB_TASK_MIN + 1)
            zb_problems_add(p, "%ssummary.counties[%zu].tasks: more than the catalogue's %d", pre,
                            i, ZB_TASK_MAX - ZB_TASK_MIN + 1);
        if (c->stats) {
            char path[48];
            snprintf(path, sizeof path, "summary.counties[%zu].stats", i);
            validate_stats(c->stats, pre, path, p);
        }
    }
}

unsigned zb_report_size_max(const Zb__Report *r)
{
    return r->content_case == ZB__REPORT__CONTENT_RELAY ||
                   r->content_case == ZB__REPORT__CONTENT_SUMMARY
               ? ZB_REPORT_MAX
               : ZB_COUNTY_REPORT_MAX;
}

void zb_report_validate(const Zb__Report *r, const char *prefix, zb_problems *p)
{
    const char *pre = prefix ? prefix : "";
    bool upward = r->content_case == ZB__REPORT__CONTENT_RELAY ||
                  r->content_case == ZB__REPORT__CONTENT_SUMMARY;
    if (r->version < ZB_REPORT_VERSION_MIN || r->version > ZB_REPORT_VERSION_RELAY)
        zb_problems_add(p, "%sversion: unsupported report version %u (1, 2 or 3)", pre,
                        r->version);
    else if (upward != (r->version == ZB_REPORT_VERSION_RELAY))
        zb_problems_add(p, "%sversion: %s report must be version %s", pre,
                        upward ? "a relay or summary" : "a monthly or accident",
                        upward ? "3" : "1 or 2");
    if (!r->county || !zb_county_code_valid(r->county))
        zb_problems_add(p, "%scounty: must be a 6-digit county code", pre);
    if (r->seq == 0)
        zb_problems_add(p, "%sseq: must start at 1", pre);
    if (r->created_at < 0 || r->created_at > ZB_TIME_MAX) {
        /* every rule below compares with it: refuse before any arithmetic */
        zb_problems_add(p, "%screated_at: out of range", pre);
        return;
    }
    if (r->prev_hash.len != ZB_SHA256_LEN)
        zb_problems_add(p, "%sprev_hash: must be 32 bytes", pre);
    switch (r->content_case) {
    case ZB__REPORT__CONTENT_MONTHLY: validate_monthly(r->monthly, r->created_at, pre, p); break;
    case ZB__REPORT__CONTENT_ACCIDENT:
        validate_accident(r->accident, r->version, r->created_at, pre, p);
        break;
    case ZB__REPORT__CONTENT_RELAY: validate_relay(r->relay, pre, p); break;
    case ZB__REPORT__CONTENT_SUMMARY: validate_summary(r->summary, r->created_at, pre, p); break;
    default: zb_problems_add(p, "%stype: must be \"monthly\" or \"accident\"", pre); break;
    }
    size_t len = zb__report__get_packed_size(r);
    if (len > zb_report_size_max(r))
        zb_problems_add(p, "%s(report): too large (%zu bytes, at most %u)", pre, len,
                        zb_report_size_max(r));
}

/* ------------------------------------------------------------ JSON out */

const char *zb_report_type_name(const Zb__Report *r)
{
    switch (r->content_case) {
    case ZB__REPORT__CONTENT_MONTHLY: return "monthly";
    case ZB__REPORT__CONTENT_ACCIDENT: return "accident";
    case ZB__REPORT__CONTENT_RELAY: return "relay";
    case ZB__REPORT__CONTENT_SUMMARY: return "summary";
    default: return "unknown";
    }
}

static void set_opt_str(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, json_string(v));
}

static json_t *time_json(const Zb__Time *t)
{
    char buf[40];
    if (!t || zb_time_format(t->unix, t->offset_min, 0, buf, sizeof buf) != 0)
        return json_null();
    return json_string(buf);
}

static json_t *monthly_json(const Zb__MonthlyReport *m, json_t *o)
{
    json_object_set_new(o, "period", json_string(m->period));
    json_t *tasks = json_array();
    for (size_t i = 0; i < m->n_tasks; i++) {
        const Zb__TaskEntry *e = m->tasks[i];
        json_t *t = json_object();
        json_object_set_new(t, "task", json_integer(e->task));
        const char *st = zb_task_status_name((int)e->status);
        json_object_set_new(t, "status", st ? json_string(st) : json_null());
        set_opt_str(t, "progress", e->progress);
        set_opt_str(t, "problems", e->problems);
        set_opt_str(t, "next_steps", e->next_steps);
        json_array_append_new(tasks, t);
    }
    json_object_set_new(o, "tasks", tasks);
    if (m->stats) {
        json_t *s = json_object();
        const ProtobufCMessageDescriptor *d = &zb__monthly_stats__descriptor;
        for (unsigned i = 0; i < d->n_fields; i++) {
            uint64_t v;
            if (zb_stats_get(m->stats, i, &v))
                json_object_set_new(s, d->fields[i].name, json_integer((json_int_t)v));
        }
        json_object_set_new(o, "stats", s);
    }
    return o;
}

static json_t *accident_json(const Zb__Report *r, json_t *o)
{
    const Zb__AccidentReport *a = r->accident;
    json_object_set_new(o, "accident_id", json_string(a->accident_id));
    json_object_set_new(o, "revision", json_integer(a->revision));
    json_object_set_new(o, "occurred_at", time_json(a->occurred_at));
    json_object_set_new(o, "county_notified_at", time_json(a->county_notified_at));
    json_object_set_new(o, "place", json_string(a->place ? a->place : ""));
    json_t *u = json_object();
    if (a->unit) {
        json_object_set_new(u, "name", json_string(a->unit->name ? a->unit->name : ""));
        set_opt_str(u, "credit_code", a->unit->credit_code);
        set_opt_str(u, "industry", a->unit->industry);
    }
    json_object_set_new(o, "unit", u);
    const char *ind = zb_industry_name((int)a->industry);
    json_object_set_new(o, "industry", ind ? json_string(ind) : json_null());
    json_object_set_new(o, "summary", json_string(a->summary ? a->summary : ""));
    json_object_set_new(o, "deaths", json_integer(a->deaths));
    json_object_set_new(o, "missing", json_integer(a->missing));
    json_object_set_new(o, "serious_injuries", json_integer(a->serious_injuries));
    json_object_set_new(o, "minor_injuries", json_integer(a->minor_injuries));
    json_object_set_new(o, "direct_loss_yuan", json_integer((json_int_t)a->direct_loss_yuan));
    set_opt_str(o, "measures_taken", a->measures_taken);
    set_opt_str(o, "other", a->other);
    if (a->has_category) {
        const char *cat = zb_category_name((int)a->category);
        json_object_set_new(o, "category", cat ? json_string(cat) : json_null());
    }
    set_opt_str(o, "cause", a->cause);
    if (r->version >= 2) { /* a version 1 report shows what it showed before */
        const char *st = zb_stage_name((int)zb_report_accident_stage(a));
        json_object_set_new(o, "stage", st ? json_string(st) : json_null());
        Zb__Time as_of = ZB__TIME__INIT;
        as_of.unix = zb_report_accident_as_of(r, &as_of.offset_min);
        json_object_set_new(o, "as_of", time_json(&as_of));
    }
    set_opt_str(o, "write_off_reason", a->write_off_reason);
    zb_grade g = zb_grade_compute(a->deaths, a->missing, a->serious_injuries, a->direct_loss_yuan,
                                  ZB_MISSING_COUNT_AS_DEAD);
    json_object_set_new(o, "grade", json_string(zb_grade_name(g)));
    json_object_set_new(o, "grade_zh", json_string(zb_grade_name_zh(g)));
    json_object_set_new(o, "grade_rule", json_string(zb_missing_rule_name(ZB_MISSING_COUNT_AS_DEAD)));
    json_object_set_new(o, "report_to", json_string(zb_grade_report_to(g)));
    return o;
}

/* A relay as JSON: the head it proves against and each leaf's index and
 * size (the leaves themselves are the counties' envelopes: `zhibao-agg
 * show` at the province opens them). */
static void relay_json(const Zb__Relay *r, json_t *o)
{
    json_t *leaves = json_array();
    for (size_t i = 0; i < r->n_leaves; i++)
        json_array_append_new(leaves, json_pack("{s:I,s:I}", "log_index",
                                                (json_int_t)r->leaves[i]->log_index, "bytes",
                                                (json_int_t)r->leaves[i]->leaf.len));
    json_object_set_new(o, "leaves", leaves);
}

static const char *filing_status_name(Zb__FilingStatus f)
{
    switch (f) {
    case ZB__FILING_STATUS__ON_TIME: return "on_time";
    case ZB__FILING_STATUS__LATE: return "late";
    case ZB__FILING_STATUS__MISSING: return "missing";
    default: return "unknown";
    }
}

static void summary_json(const Zb__PeriodSummary *m, json_t *o)
{
    set_opt_str(o, "period", m->period);
    if (m->deadline)
        json_object_set_new(o, "deadline", time_json(m->deadline));
    json_t *rows = json_array();
    for (size_t i = 0; i < m->n_counties; i++) {
        const Zb__CountySummary *c = m->counties[i];
        json_t *row = json_object();
        json_object_set_new(row, "county", json_string(c->county));
        json_object_set_new(row, "status", json_string(filing_status_name(c->status)));
        json_object_set_new(row, "versions", json_integer(c->has_versions ? c->versions : 0));
        json_array_append_new(rows, row);
    }
    json_object_set_new(o, "counties", rows);
}

json_t *zb_report_to_json(const Zb__Report *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "type", json_string(zb_report_type_name(r)));
    json_object_set_new(o, "county", json_string(r->county ? r->county : ""));
    json_object_set_new(o, "seq", json_integer((json_int_t)r->seq));
    char buf[40];
    if (zb_time_format(r->created_at, ZB_CST_OFFSET_MIN, 0, buf, sizeof buf) == 0)
        json_object_set_new(o, "created_at", json_string(buf));
    if (r->prev_hash.len == ZB_SHA256_LEN) {
        char hex[2 * ZB_SHA256_LEN + 1];
        zb_hex_encode(r->prev_hash.data, ZB_SHA256_LEN, hex);
        json_object_set_new(o, "prev_hash", json_string(hex));
    }
    if (r->content_case == ZB__REPORT__CONTENT_MONTHLY && r->monthly)
        monthly_json(r->monthly, o);
    else if (r->content_case == ZB__REPORT__CONTENT_ACCIDENT && r->accident)
        accident_json(r, o);
    else if (r->content_case == ZB__REPORT__CONTENT_RELAY && r->relay)
        relay_json(r->relay, o);
    else if (r->content_case == ZB__REPORT__CONTENT_SUMMARY && r->summary)
        summary_json(r->summary, o);
    return o;
}
