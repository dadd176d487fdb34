/* render.c - see render.h. */
#include "render.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "display.h"
#include "err.h"
#include "fileio.h"
#include "i18n.h"
#include "timefmt.h"

int zb_format_parse(const char *s)
{
    if (!s || strcmp(s, "table") == 0)
        return ZB_FORMAT_TABLE;
    if (strcmp(s, "csv") == 0)
        return ZB_FORMAT_CSV;
    if (strcmp(s, "json") == 0)
        return ZB_FORMAT_JSON;
    if (strcmp(s, "xlsx") == 0)
        return ZB_FORMAT_XLSX;
    return -1;
}

json_t *zb_json_real6(double x)
{
    /* half away from zero; x as is when too large for the rounding to matter */
    if (x > -1e12 && x < 1e12) {
        double scaled = x * 1e6;
        x = (double)(long long)(scaled < 0 ? scaled - 0.5 : scaled + 0.5) / 1e6;
    }
    return json_real(x);
}

/* ------------------------------------------------------------ columns */

/* The figures of a county's monthly report after its tasks, as the
 * prefecture's report and the province's counties list them. */
/* clang-format off */
#define MONTHLY_FIGURE_COLS                                        \
    {"inspections", N_("INSPECT"), ZB_CELL_NUMBER},                \
    {"hazards_found", N_("HAZ-FOUND"), ZB_CELL_NUMBER},            \
    {"hazards_fixed", N_("HAZ-FIXED"), ZB_CELL_NUMBER},            \
    {"major_hazards_listed", N_("MAJOR-HAZ"), ZB_CELL_NUMBER},     \
    {"enterprises_standardized", N_("STANDARD"), ZB_CELL_NUMBER},  \
    {"penalties_yuan", N_("PENALTIES"), ZB_CELL_MONEY},            \
    {"training_sessions", N_("TRAINING"), ZB_CELL_NUMBER},         \
    {"accidents", N_("ACCID"), ZB_CELL_NUMBER},                    \
    {"accident_deaths", N_("DEATHS"), ZB_CELL_NUMBER},             \
    {"accident_serious_injuries", N_("SER-INJ"), ZB_CELL_NUMBER},  \
    {"accident_direct_loss_yuan", N_("LOSS-YUAN"), ZB_CELL_MONEY}
/* clang-format on */

/* Headings are English msgids: the table shows them as they are in
 * English and their zh_CN translation (po/zh_CN/render.po) in Chinese. */
static const zb_render_col monthly_cols[] = {
    {"county", N_("COUNTY"), ZB_CELL_COUNTY},
    {"name", N_("NAME"), ZB_CELL_TEXT},
    {"status", N_("STATUS"), ZB_CELL_LABEL},
    {"created_at", N_("CREATED"), ZB_CELL_TIME},
    {"received_at", N_("RECEIVED"), ZB_CELL_TIME},
    {"clock_suspect", N_("CLOCK?"), ZB_CELL_BOOL},
    {"version", N_("VER"), ZB_CELL_NUMBER},
    {"tasks_done", N_("DONE"), ZB_CELL_NUMBER},
    {"tasks_in_progress", N_("IN-PROG"), ZB_CELL_NUMBER},
    {"tasks_not_started", N_("NOT-START"), ZB_CELL_NUMBER},
    {"tasks_not_reported", N_("NOT-REP"), ZB_CELL_NUMBER},
    MONTHLY_FIGURE_COLS,
    /* last in CSV (the columns before it keep their places); in the table
     * and the workbook it follows STATUS (layout_monthly) */
    {"review", N_("REVIEW"), ZB_CELL_LABEL},
};
#define N_MONTHLY_COLS     (sizeof monthly_cols / sizeof monthly_cols[0])
#define MONTHLY_REVIEW_COL (N_MONTHLY_COLS - 1)
#define MONTHLY_STATUS_COL 2

/* A province's monthly report (province.c zb_province_monthly): each
 * prefecture's summary of the month, then the counties of each one's
 * latest summary. Statuses of the summaries are judged at the province
 * (the deadline + 5 days), the counties' as their prefecture judged them. */
static const zb_render_col province_prefecture_cols[] = {
    {"prefecture", N_("PREFECTURE"), ZB_CELL_TEXT},
    {"status", N_("STATUS"), ZB_CELL_LABEL},
    {"summaries", N_("SUMMARIES"), ZB_CELL_NUMBER},
    {"created_at", N_("CREATED"), ZB_CELL_TIME},
    {"received_at", N_("RECEIVED"), ZB_CELL_TIME},
    {"counties", N_("COUNTIES"), ZB_CELL_NUMBER},
    {"on_time", N_("ON-TIME"), ZB_CELL_NUMBER},
    {"late", N_("LATE"), ZB_CELL_NUMBER},
    {"missing", N_("NOT-FILED"), ZB_CELL_NUMBER},
};

static const zb_render_col province_county_cols[] = {
    {"prefecture", N_("PREFECTURE"), ZB_CELL_TEXT},
    {"county", N_("COUNTY"), ZB_CELL_COUNTY},
    {"name", N_("NAME"), ZB_CELL_TEXT},
    {"status", N_("STATUS"), ZB_CELL_LABEL},
    {"versions", N_("VER"), ZB_CELL_NUMBER},
    {"first_created_at", N_("CREATED"), ZB_CELL_TIME},
    {"tasks_done", N_("DONE"), ZB_CELL_NUMBER},
    {"tasks_in_progress", N_("IN-PROG"), ZB_CELL_NUMBER},
    {"tasks_not_started", N_("NOT-START"), ZB_CELL_NUMBER},
    MONTHLY_FIGURE_COLS,
};

static const zb_render_col accident_cols[] = {
    {"county", N_("COUNTY"), ZB_CELL_COUNTY},
    {"name", N_("NAME"), ZB_CELL_TEXT},
    {"accident_id", N_("ACCIDENT"), ZB_CELL_TEXT},
    {"revision", N_("REV"), ZB_CELL_NUMBER},
    {"occurred_at", N_("OCCURRED"), ZB_CELL_TIME},
    {"industry", N_("INDUSTRY"), ZB_CELL_LABEL},
    {"category", N_("CATEGORY"), ZB_CELL_LABEL},
    {"stage", N_("STAGE"), ZB_CELL_LABEL},
    {"grade", N_("GRADE"), ZB_CELL_LABEL},
    {"max_grade", N_("MAX-GRADE"), ZB_CELL_LABEL},
    {"counted_deaths", N_("DEATHS"), ZB_CELL_NUMBER},
    {"counted_missing", N_("MISSING"), ZB_CELL_NUMBER},
    {"counted_serious_injuries", N_("SER-INJ"), ZB_CELL_NUMBER},
    {"counted_direct_loss_yuan", N_("LOSS-YUAN"), ZB_CELL_MONEY},
    {"report_to", N_("REPORT-TO"), ZB_CELL_LABEL},
    {"counted", N_("COUNTED"), ZB_CELL_BOOL},
    {"flags", N_("FLAGS"), ZB_CELL_FLAGS},
};
#define N_ACCIDENT_COLS (sizeof accident_cols / sizeof accident_cols[0])

/* The accidents' columns of the upward relay, shown only when the rows
 * carry them: a province's rows name their prefecture; a prefecture with
 * an upstream (upstream.h zb_relay_annotate_accidents) says whether each
 * accident had to go up, when the province acknowledged it and whether
 * that was late. The table shows FORWARDED and LATE only. */
static const zb_render_col accident_prefecture_col = {"prefecture", N_("PREFECTURE"), ZB_CELL_TEXT};
static const zb_render_col accident_forward_cols[] = {
    {"forward_required", N_("TO-PROVINCE"), ZB_CELL_BOOL},
    {"forward_required_at", N_("TO-PROVINCE-AT"), ZB_CELL_TIME},
    {"forwarded_at", N_("FORWARDED"), ZB_CELL_TIME},
    {"forward_late", N_("LATE"), ZB_CELL_BOOL},
};
#define N_FORWARD_COLS (sizeof accident_forward_cols / sizeof accident_forward_cols[0])

static const zb_render_col indicator_cols[] = {
    {"county", N_("COUNTY"), ZB_CELL_COUNTY},
    {"name", N_("NAME"), ZB_CELL_TEXT},
    {"accidents", N_("ACCID"), ZB_CELL_NUMBER},
    {"deaths", N_("DEATHS"), ZB_CELL_NUMBER},
    {"missing", N_("MISSING"), ZB_CELL_NUMBER},
    {"previous_deaths", N_("PREV"), ZB_CELL_NUMBER},
    {"change_vs_previous", N_("CHG"), ZB_CELL_NUMBER},
    {"change_vs_previous_pct", N_("CHG%"), ZB_CELL_NUMBER},
    {"base_deaths", N_("BASE-2015"), ZB_CELL_NUMBER},
    {"base_deaths_prorated", N_("BASE-TO-DATE"), ZB_CELL_NUMBER},
    {"target_deaths", N_("TARGET"), ZB_CELL_NUMBER},
    {"target_deaths_prorated", N_("TARGET-TO-DATE"), ZB_CELL_NUMBER},
    {"change_vs_base_pct", N_("VS-BASE%"), ZB_CELL_NUMBER},
    {"target_progress_pct", N_("PROGRESS%"), ZB_CELL_NUMBER},
    {"on_track", N_("ON-TRACK"), ZB_CELL_YESNO},
    {"deaths_industry_mining_commerce", N_("D-IMC"), ZB_CELL_NUMBER},
    {"deaths_road_traffic", N_("D-ROAD"), ZB_CELL_NUMBER},
    {"deaths_coal_mine", N_("D-COAL"), ZB_CELL_NUMBER},
    /* the year's denominators: not in the table (wide enough without) */
    {"gdp_100m_yuan", N_("GDP-100M"), ZB_CELL_NUMBER}, /* 亿元: not money to convert */
    {"workers_industry_mining_commerce", N_("WORKERS"), ZB_CELL_NUMBER},
    {"motor_vehicles", N_("VEHICLES"), ZB_CELL_NUMBER},
    {"coal_output_tonnes", N_("COAL-T"), ZB_CELL_NUMBER},
    {"deaths_per_100m_yuan_gdp", N_("/100M-GDP"), ZB_CELL_NUMBER},
    {"deaths_per_100k_workers", N_("/100K-WORK"), ZB_CELL_NUMBER},
    {"road_deaths_per_10k_vehicles", N_("ROAD/10K-VEH"), ZB_CELL_NUMBER},
    {"coal_deaths_per_million_tonnes", N_("COAL/MT"), ZB_CELL_NUMBER},
};
#define N_INDICATOR_COLS (sizeof indicator_cols / sizeof indicator_cols[0])

static bool indicator_denominator(const zb_render_col *c)
{
    return strcmp(c->key, "gdp_100m_yuan") == 0 ||
           strcmp(c->key, "workers_industry_mining_commerce") == 0 ||
           strcmp(c->key, "motor_vehicles") == 0 || strcmp(c->key, "coal_output_tonnes") == 0;
}

/* ------------------------------------------------------------ cells */

static bool lang_en(void)
{
    return zb_i18n_lang() == ZB_LANG_EN;
}

/* A rule or source code of a report's header, as the notes say it. */
static const char *code_text(const char *code)
{
    static const struct {
        const char *code, *msgid;
    } texts[] = {
        {"missing_counted_as_dead", N_("the missing counted with the dead")},
        {"prefecture", N_("the prefecture's own figures")},
        {"sum_of_counties", N_("the sum of the counties")},
    };
    if (!code || lang_en())
        return code;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strcmp(code, texts[i].code) == 0)
            return _(texts[i].msgid);
    return code;
}

char *zb_render_cell_text(const json_t *v, zb_cell_kind kind, zb_format fmt)
{
    bool csv = fmt == ZB_FORMAT_CSV;
    char buf[40];
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (kind == ZB_CELL_LABEL)
            s = zb_label(s);
        else if (kind == ZB_CELL_COUNTY &&
                 (strcmp(s, N_("total")) == 0 || strcmp(s, N_("reporting")) == 0))
            s = _(s); /* the prefecture's total row, and the counties reporting each figure */
        return strdup(s);
    }
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        if (kind == ZB_CELL_MONEY && n >= 0)
            return strdup(zb_money((uint64_t)n, buf, sizeof buf));
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, n);
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        return strdup(buf);
    }
    if (json_is_boolean(v)) {
        if (csv && lang_en())
            return strdup(json_is_true(v) ? "true" : "false");
        if (json_is_true(v))
            return strdup(_("yes"));
        return strdup(csv || kind == ZB_CELL_YESNO ? _("no") : "");
    }
    if (json_is_array(v)) {
        /* flags: each code in the chosen language (its msgid is the code) */
        char *s = NULL;
        size_t len = 0, i;
        FILE *m = open_memstream(&s, &len);
        if (!m)
            return NULL;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *t = json_string_value(e);
            fprintf(m, "%s%s", i ? "," : "", t ? _(t) : "");
        }
        if (fclose(m) != 0) {
            free(s);
            return NULL;
        }
        return s;
    }
    return strdup(csv ? "" : "-"); /* null: unknown */
}

/* A row of counts carries this member (never in the JSON output). */
#define COUNTS_ROW "__counts"

zb_cell_kind zb_render_cell_kind(const json_t *row, const zb_render_col *col)
{
    if (col->kind == ZB_CELL_MONEY && json_is_true(json_object_get(row, COUNTS_ROW)))
        return ZB_CELL_NUMBER;
    return col->kind;
}

/* ------------------------------------------------------------ the layout */

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long int_of(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

/* Add a table to l with cols (their headings shown for fmt) and rows (a
 * new reference, taken also on failure; NULL: out of memory). */
static int add_table(zb_render_layout *l, const char *title, const zb_render_col *cols,
                     size_t n_cols, json_t *rows, zb_format fmt)
{
    if (!rows)
        return ZB_ENOMEM;
    zb_render_col *c = calloc(n_cols + 1, sizeof *c);
    if (!c || l->n_tables == ZB_RENDER_MAX_TABLES) {
        free(c);
        json_decref(rows);
        return c ? ZB_EINVAL : ZB_ENOMEM;
    }
    for (size_t i = 0; i < n_cols; i++) {
        c[i] = cols[i];
        /* the English CSV is read by programs: its header is the JSON's names */
        c[i].head = fmt == ZB_FORMAT_CSV && lang_en() ? cols[i].key : _(cols[i].head);
    }
    l->tables[l->n_tables++] = (zb_render_table){title, c, n_cols, rows};
    return ZB_OK;
}

/* A new array of the elements of arr, then extra (NULL: skipped). */
static json_t *rows_of(const json_t *arr, json_t *extra1, json_t *extra2)
{
    json_t *rows = json_array();
    if (!rows)
        return NULL;
    size_t i;
    json_t *row;
    json_array_foreach(arr, i, row)
    {
        if (json_array_append(rows, row))
            goto fail;
    }
    if ((extra1 && json_array_append(rows, extra1)) || (extra2 && json_array_append(rows, extra2)))
        goto fail;
    return rows;
fail:
    json_decref(rows);
    return NULL;
}

/* The summary lines under a table, written by fn into l->notes. */
static int add_notes(zb_render_layout *l, void (*fn)(FILE *, const json_t *), const json_t *doc)
{
    size_t len = 0;
    free(l->notes);
    l->notes = NULL;
    FILE *f = open_memstream(&l->notes, &len);
    if (!f)
        return ZB_ENOMEM;
    fn(f, doc);
    return fclose(f) == 0 ? ZB_OK : ZB_ENOMEM;
}

static void notes_monthly(FILE *f, const json_t *doc)
{
    const json_t *total = json_object_get(doc, "total");
    fprintf(f,
            _("period %s, deadline %s%s%s: %lld on time, %lld late, %lld missing of %lld "
              "counties (timeliness by the first version's signed creation time; "
              "\"reporting\" = counties that reported each statistic)\n"),
            str_of(doc, "period"), str_of(doc, "deadline"),
            json_is_true(json_object_get(doc, "deadline_moved")) ? _(" (moved)") : "",
            json_is_true(json_object_get(doc, "deadline_passed")) ? "" : _(" (not yet passed)"),
            int_of(total, "on_time"), int_of(total, "late"), int_of(total, "missing"),
            int_of(total, "counties"));
}

/* How many of rows have status (a filing status code). */
static long long count_status(const json_t *rows, const char *status)
{
    long long n = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        n += strcmp(str_of(row, "status"), status) == 0;
    }
    return n;
}

static void notes_province_monthly(FILE *f, const json_t *doc)
{
    const json_t *totals = json_object_get(doc, "totals");
    const json_t *rows = json_object_get(doc, "rows");
    fprintf(f,
            _("period %s, the counties' deadline %s, the prefectures' summaries due %s%s: "
              "%lld on time, %lld late, %lld missing of %lld prefectures (timeliness by the "
              "first summary's signed creation time)\n"),
            str_of(doc, "period"), str_of(doc, "deadline"), str_of(doc, "summary_deadline"),
            json_is_true(json_object_get(doc, "deadline_passed")) ? "" : _(" (not yet passed)"),
            int_of(totals, "on_time"), int_of(totals, "late"), int_of(totals, "missing"),
            (long long)json_array_size(json_object_get(doc, "prefectures")));
    fprintf(f,
            _("counties in each prefecture's latest summary: %lld on time, %lld late, %lld "
              "missing of %lld (as their prefecture judged them)\n"),
            count_status(rows, "on_time"), count_status(rows, "late"),
            count_status(rows, "missing"), (long long)json_array_size(rows));
}

/* A province's monthly report: the prefectures, then their counties. In
 * every format both tables (the CSV: one after the other, an empty line
 * between): a prefecture without a summary has no county rows, so neither
 * table stands for the other. */
static int layout_province_monthly(const json_t *doc, zb_format fmt, zb_render_layout *l)
{
    int rc = add_table(l, _("prefecture summaries"), province_prefecture_cols,
                       sizeof province_prefecture_cols / sizeof province_prefecture_cols[0],
                       rows_of(json_object_get(doc, "prefectures"), NULL, NULL), fmt);
    if (rc == 0)
        rc = add_table(l, _("counties by prefecture"), province_county_cols,
                       sizeof province_county_cols / sizeof province_county_cols[0],
                       rows_of(json_object_get(doc, "rows"), NULL, NULL), fmt);
    if (rc == 0 && fmt != ZB_FORMAT_CSV)
        rc = add_notes(l, notes_province_monthly, doc);
    return rc;
}

static int layout_monthly(const json_t *doc, zb_format fmt, zb_render_layout *l)
{
    const char *level = json_string_value(json_object_get(doc, "level"));
    if (level && strcmp(level, "province") == 0)
        return layout_province_monthly(doc, fmt, l);
    json_t *total = json_object_get(doc, "total");
    /* the counties that reported each statistic, as a row under the total */
    const json_t *cr = json_object_get(total, "counties_reporting");
    json_t *reporting = cr ? json_deep_copy(cr) : json_object();
    if (!reporting || json_object_set_new(reporting, "county", json_string("reporting")) ||
        json_object_set_new(reporting, "name", json_string("")) ||
        json_object_set_new(reporting, COUNTS_ROW, json_true())) {
        json_decref(reporting);
        return ZB_ENOMEM;
    }
    json_t *rows =
        rows_of(json_object_get(doc, "rows"), json_is_object(total) ? total : NULL, reporting);
    json_decref(reporting);
    zb_render_col cols[N_MONTHLY_COLS];
    size_t k = 0;
    for (size_t i = 0; i < N_MONTHLY_COLS; i++) {
        if (fmt != ZB_FORMAT_CSV && i == MONTHLY_REVIEW_COL)
            continue;
        cols[k++] = monthly_cols[i];
        if (fmt != ZB_FORMAT_CSV && i == MONTHLY_STATUS_COL)
            cols[k++] = monthly_cols[MONTHLY_REVIEW_COL];
    }
    int rc = add_table(l, _("monthly report"), cols, k, rows, fmt);
    if (rc == 0 && fmt != ZB_FORMAT_CSV)
        rc = add_notes(l, notes_monthly, doc);
    return rc;
}

/* Whether any row of rows has member key (with a non-null value when
 * non_null). */
static bool rows_carry(const json_t *rows, const char *key, bool non_null)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const json_t *v = json_object_get(row, key);
        if (v && (!non_null || !json_is_null(v)))
            return true;
    }
    return false;
}

/* Whether the accidents' rows carry the upward relay's columns (upstream.h
 * zb_relay_annotate_accidents). */
static bool rows_forwarded(const json_t *rows)
{
    return rows_carry(rows, "forwarded_at", false) || rows_carry(rows, "forward_late", false);
}

static void notes_accidents(FILE *f, const json_t *doc)
{
    const json_t *t = json_object_get(doc, "totals");
    fprintf(f,
            _("%lld accident(s) counted of %lld listed from %s to %s (+08:00), as of %s; "
              "grade rule: %s;\n"),
            int_of(t, "accidents"), int_of(t, "listed"), str_of(doc, "from"), str_of(doc, "to"),
            str_of(doc, "now"), code_text(str_of(doc, "grade_rule")));
    fputs(_("counted: the figures of the last revision within 7 days (road traffic, fire) or 30 "
            "days of the accident, the missing as dead once that window closed; GRADE is of the "
            "counted figures, REPORT-TO follows the highest grade reached; write-offs and reports "
            "signed after they were received are listed, not counted\n"),
          f);
    if (rows_forwarded(json_object_get(doc, "accidents")))
        fputs(_("FORWARDED: when the province acknowledged the revision that made the accident "
                "larger or above (due within 2 hours of its receipt here); LATE: acknowledged "
                "after more than 2 hours, or 2 hours passed without it\n"),
              f);
}

/* A totals object {"<key>": {"accidents", "deaths", "missing"}} as a table. */
static int add_totals_table(zb_render_layout *l, const char *title, const char *key_head,
                            zb_cell_kind key_kind, const json_t *totals, zb_format fmt)
{
    const zb_render_col cols[] = {{"key", key_head, key_kind},
                                  {"accidents", N_("ACCIDENTS"), ZB_CELL_NUMBER},
                                  {"deaths", N_("DEATHS"), ZB_CELL_NUMBER},
                                  {"missing", N_("MISSING"), ZB_CELL_NUMBER}};
    json_t *rows = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)totals, key, v)
    {
        json_t *row = json_deep_copy(v);
        if (!rows || !row || json_object_set_new(row, "key", json_string(key)) ||
            json_array_append_new(rows, row)) {
            json_decref(rows);
            return ZB_ENOMEM;
        }
    }
    return add_table(l, title, cols, sizeof cols / sizeof cols[0], rows, fmt);
}

static int layout_accidents(const json_t *doc, zb_format fmt, zb_render_layout *l)
{
    const json_t *rows = json_object_get(doc, "accidents");
    bool by_prefecture = rows_carry(rows, "prefecture", true);
    bool forwarding = rows_forwarded(rows);
    zb_render_col cols[N_ACCIDENT_COLS + 1 + N_FORWARD_COLS];
    size_t k = 0;
    if (by_prefecture && fmt != ZB_FORMAT_CSV)
        cols[k++] = accident_prefecture_col; /* the office above the county */
    for (size_t i = 0; i < N_ACCIDENT_COLS; i++) {
        cols[k++] = accident_cols[i];
        if (!forwarding || fmt == ZB_FORMAT_CSV || strcmp(accident_cols[i].key, "report_to") != 0)
            continue;
        /* beside REPORT-TO, which says where it goes */
        for (size_t j = fmt == ZB_FORMAT_TABLE ? 2 : 0; j < N_FORWARD_COLS; j++)
            cols[k++] = accident_forward_cols[j];
    }
    if (fmt == ZB_FORMAT_CSV) {
        /* last in CSV: the columns before them keep their places */
        if (by_prefecture)
            cols[k++] = accident_prefecture_col;
        for (size_t j = 0; forwarding && j < N_FORWARD_COLS; j++)
            cols[k++] = accident_forward_cols[j];
    }
    int rc = add_table(l, _("accidents"), cols, k, rows_of(rows, NULL, NULL), fmt);
    if (rc || fmt == ZB_FORMAT_CSV)
        return rc;
    const json_t *t = json_object_get(doc, "totals");
    if ((rc = add_notes(l, notes_accidents, doc)) ||
        (rc = add_totals_table(l, _("by county"), N_("COUNTY"), ZB_CELL_TEXT,
                               json_object_get(t, "by_county"), fmt)) ||
        (rc = add_totals_table(l, _("by industry"), N_("INDUSTRY"), ZB_CELL_LABEL,
                               json_object_get(t, "by_industry"), fmt)) ||
        (rc = add_totals_table(l, _("by grade"), N_("GRADE"), ZB_CELL_LABEL,
                               json_object_get(t, "by_grade"), fmt)))
        return rc;
    return ZB_OK;
}

static int layout_matrix(const json_t *doc, zb_format fmt, zb_render_layout *l)
{
    const json_t *periods = json_object_get(doc, "periods");
    size_t n = json_array_size(periods);
    zb_render_col *cols = calloc(n + 2, sizeof *cols);
    if (!cols)
        return ZB_ENOMEM;
    cols[0] = (zb_render_col){"county", N_("COUNTY"), ZB_CELL_COUNTY};
    cols[1] = (zb_render_col){"name", N_("NAME"), ZB_CELL_TEXT};
    for (size_t i = 0; i < n; i++) {
        const char *p = json_string_value(json_array_get(periods, i));
        cols[i + 2] = (zb_render_col){p ? p : "", p ? p : "", ZB_CELL_LABEL};
    }
    int rc = add_table(l, _("filing by month"), cols, n + 2,
                       rows_of(json_object_get(doc, "rows"), NULL, NULL), fmt);
    free(cols);
    if (rc || fmt != ZB_FORMAT_XLSX)
        return rc;
    /* the workbook also gives the counts per month */
    static const zb_render_col tcols[] = {{"period", N_("PERIOD"), ZB_CELL_TEXT},
                                          {"on_time", N_("ON-TIME"), ZB_CELL_NUMBER},
                                          {"late", N_("LATE"), ZB_CELL_NUMBER},
                                          {"missing", N_("NOT-FILED"), ZB_CELL_NUMBER}};
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < n; i++) {
        const char *p = json_string_value(json_array_get(periods, i));
        json_t *row = json_deep_copy(json_object_get(json_object_get(doc, "totals"), p ? p : ""));
        if (!row)
            row = json_object();
        if (!row || json_object_set_new(row, "period", json_string(p ? p : "")) ||
            json_array_append_new(rows, row)) {
            json_decref(rows);
            rows = NULL;
        }
    }
    return add_table(l, _("totals by month"), tcols, sizeof tcols / sizeof tcols[0], rows, fmt);
}

static void notes_indicators(FILE *f, const json_t *doc)
{
    const json_t *total = json_object_get(doc, "total");
    const char *fs = json_string_value(json_object_get(total, "figures_source"));
    const char *bs = json_string_value(json_object_get(total, "base_source"));
    fprintf(f, _("year %lld to date: %s to %s (%.1f %% of the year), against %s to %s;\n"),
            int_of(doc, "year"), str_of(doc, "from"), str_of(doc, "to"),
            json_real_value(json_object_get(doc, "elapsed_fraction")) * 100,
            str_of(doc, "previous_from"), str_of(doc, "previous_to"));
    fprintf(f,
            _("deaths are counted deaths (within each accident's 7/30-day window; the "
              "missing as dead once it closed); the %lld base is its full-year deaths "
              "prorated by the share of the year elapsed; target -%lld %%; PROGRESS%% = "
              "share of that reduction achieved;\n"),
            int_of(doc, "base_year"), int_of(doc, "target_reduction_pct"));
    fprintf(f,
            _("rates: deaths to date / the year's figures (csv and json also give the "
              "figures); total's figures: %s, base: %s\n"),
            fs ? code_text(fs) : _("not loaded"), bs ? code_text(bs) : _("not loaded"));
}

static int layout_indicators(const json_t *doc, zb_format fmt, zb_render_layout *l)
{
    json_t *total = json_object_get(doc, "total");
    zb_render_col cols[N_INDICATOR_COLS];
    size_t k = 0;
    for (size_t i = 0; i < N_INDICATOR_COLS; i++)
        if (fmt != ZB_FORMAT_TABLE || !indicator_denominator(&indicator_cols[i]))
            cols[k++] = indicator_cols[i];
    int rc = add_table(
        l, _("indicators"), cols, k,
        rows_of(json_object_get(doc, "rows"), json_is_object(total) ? total : NULL, NULL), fmt);
    if (rc == 0 && fmt != ZB_FORMAT_CSV)
        rc = add_notes(l, notes_indicators, doc);
    return rc;
}

int zb_render_layout_build(const char *kind, const json_t *doc, zb_format fmt,
                           zb_render_layout *out)
{
    *out = (zb_render_layout){0};
    int rc;
    if (fmt == ZB_FORMAT_JSON)
        rc = ZB_EINVAL;
    else if (strcmp(kind, "monthly") == 0)
        rc = layout_monthly(doc, fmt, out);
    else if (strcmp(kind, "accidents") == 0)
        rc = layout_accidents(doc, fmt, out);
    else if (strcmp(kind, "matrix") == 0)
        rc = layout_matrix(doc, fmt, out);
    else if (strcmp(kind, "indicators") == 0)
        rc = layout_indicators(doc, fmt, out);
    else
        rc = ZB_EINVAL;
    if (rc == 0 && !out->notes && !(out->notes = strdup("")))
        rc = ZB_ENOMEM;
    return rc;
}

void zb_render_layout_free(zb_render_layout *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_tables; i++) {
        free(l->tables[i].cols);
        json_decref(l->tables[i].rows);
    }
    free(l->notes);
    *l = (zb_render_layout){0};
}

/* ------------------------------------------------------------ table and CSV */

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Print t's rows under its headings: CSV, or aligned by display width with
 * numbers to the right. */
static int print_table(FILE *f, const zb_render_table *t, zb_format fmt)
{
    int rc = ZB_OK;
    size_t n_rows = json_array_size(t->rows), n_cols = t->n_cols;
    char **cells = calloc(n_rows * n_cols + 1, sizeof *cells);
    size_t *width = calloc(n_cols + 1, sizeof *width);
    if (!cells || !width) {
        rc = ZB_ENOMEM;
        goto out;
    }
    for (size_t c = 0; c < n_cols; c++)
        width[c] = zb_display_width(t->cols[c].head);
    for (size_t r = 0; r < n_rows; r++)
        for (size_t c = 0; c < n_cols; c++) {
            const json_t *row = json_array_get(t->rows, r);
            char *s = zb_render_cell_text(json_object_get(row, t->cols[c].key),
                                          zb_render_cell_kind(row, &t->cols[c]), fmt);
            if (!s) {
                rc = ZB_ENOMEM;
                goto out;
            }
            cells[r * n_cols + c] = s;
            size_t w = zb_display_width(s);
            if (w > width[c])
                width[c] = w;
        }
    if (fmt == ZB_FORMAT_CSV) {
        for (size_t r = 0; r <= n_rows; r++) {
            for (size_t c = 0; c < n_cols; c++) {
                if (c)
                    fputc(',', f);
                csv_field(f, r == 0 ? t->cols[c].head : cells[(r - 1) * n_cols + c]);
            }
            fputs("\r\n", f);
        }
    } else {
        for (size_t r = 0; r <= n_rows; r++) {
            for (size_t c = 0; c < n_cols; c++) {
                const char *s = r == 0 ? t->cols[c].head : cells[(r - 1) * n_cols + c];
                bool last = c + 1 == n_cols;
                bool right = t->cols[c].kind == ZB_CELL_NUMBER || t->cols[c].kind == ZB_CELL_MONEY;
                /* no trailing spaces after the last column */
                zb_display_cell(f, s, right || !last ? (int)width[c] : 0, right);
                if (!last)
                    fputs("  ", f);
            }
            fputc('\n', f);
        }
    }
out:
    if (cells)
        for (size_t i = 0; i < n_rows * n_cols; i++)
            free(cells[i]);
    free(cells);
    free(width);
    return rc;
}

/* ------------------------------------------------------------ printing a report */

int zb_render_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt)
{
    int rc;
    if (fmt == ZB_FORMAT_XLSX)
        return ZB_EINVAL;
    if (fmt == ZB_FORMAT_JSON) {
        /* 15 significant digits: the reals were rounded to 6 decimals */
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        if (!s)
            return ZB_ENOMEM;
        fputs(s, f);
        fputc('\n', f);
        free(s);
        rc = ZB_OK;
    } else {
        zb_render_layout l;
        rc = zb_render_layout_build(kind, doc, fmt, &l);
        if (rc == 0 && fmt == ZB_FORMAT_CSV) {
            /* Excel reads a CSV without a byte order mark in the machine's
             * code page (GBK on Chinese Windows) */
            if (!lang_en())
                fputs("\xEF\xBB\xBF", f);
            /* one table, but a province's monthly: two, an empty line between */
            for (size_t i = 0; rc == 0 && i < l.n_tables; i++) {
                if (i)
                    fputs("\r\n", f);
                rc = print_table(f, &l.tables[i], fmt);
            }
        } else if (rc == 0) {
            rc = print_table(f, &l.tables[0], fmt);
            if (rc == 0)
                fputs(l.notes, f);
            for (size_t i = 1; rc == 0 && i < l.n_tables; i++) {
                fprintf(f, "\n%s:\n", l.tables[i].title);
                rc = print_table(f, &l.tables[i], fmt);
            }
        }
        zb_render_layout_free(&l);
    }
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = ZB_EIO;
    return rc;
}

int zb_render_write_file(const char *path, const char *kind, const json_t *doc, zb_format fmt)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return ZB_ENOMEM;
    int rc = zb_render_print(f, kind, doc, fmt);
    if (fclose(f) != 0 && rc == 0)
        rc = ZB_ENOMEM;
    if (rc == 0)
        rc = zb_write_file_atomic(path, buf, len, 0644);
    free(buf);
    return rc;
}
