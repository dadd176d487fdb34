/* render.c - see render.h. */
#include "render.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "timefmt.h"

int zb_format_parse(const char *s)
{
    if (!s || strcmp(s, "table") == 0)
        return ZB_FORMAT_TABLE;
    if (strcmp(s, "csv") == 0)
        return ZB_FORMAT_CSV;
    if (strcmp(s, "json") == 0)
        return ZB_FORMAT_JSON;
    return -1;
}

json_t *zb_json_time(int64_t t)
{
    char buf[40];
    if (zb_time_format(t, ZB_CST_OFFSET_MIN, 0, buf, sizeof buf) != 0)
        return json_null();
    return json_string(buf);
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

/* ------------------------------------------------------------ display width */

static uint32_t utf8_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t c = *p++;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra)
        c &= (uint32_t)(0x3F >> extra);
    for (; extra > 0 && (*p & 0xC0) == 0x80; extra--)
        c = c << 6 | (*p++ & 0x3F);
    *pp = p;
    return c;
}

size_t zb_display_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c = utf8_next(&p);
        bool wide = (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
                    (c >= 0x3041 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3) ||
                    (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
                    (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) ||
                    (c >= 0x20000 && c <= 0x3FFFD);
        w += wide ? 2 : 1;
    }
    return w;
}

/* ------------------------------------------------------------ rows: table and CSV */

typedef struct {
    const char *key;  /* JSON member of a row; CSV header */
    const char *head; /* table header */
    bool right;       /* numbers: right-aligned in the table */
} column;

static const column monthly_cols[] = {
    {"county", "COUNTY", false},
    {"name", "NAME", false},
    {"status", "STATUS", false},
    {"created_at", "CREATED", false},
    {"received_at", "RECEIVED", false},
    {"clock_suspect", "CLOCK?", false},
    {"version", "VER", true},
    {"tasks_done", "DONE", true},
    {"tasks_in_progress", "IN-PROG", true},
    {"tasks_not_started", "NOT-START", true},
    {"tasks_not_reported", "NOT-REP", true},
    {"inspections", "INSPECT", true},
    {"hazards_found", "HAZ-FOUND", true},
    {"hazards_fixed", "HAZ-FIXED", true},
    {"major_hazards_listed", "MAJOR-HAZ", true},
    {"enterprises_standardized", "STANDARD", true},
    {"penalties_yuan", "PENALTIES", true},
    {"training_sessions", "TRAINING", true},
    {"accidents", "ACCID", true},
    {"accident_deaths", "DEATHS", true},
    {"accident_serious_injuries", "SER-INJ", true},
    {"accident_direct_loss_yuan", "LOSS-YUAN", true},
    /* last in CSV (the columns before it keep their places); in the table
     * it follows STATUS (print_monthly) */
    {"review", "REVIEW", false},
};
#define MONTHLY_REVIEW_COL (sizeof monthly_cols / sizeof monthly_cols[0] - 1)
#define MONTHLY_STATUS_COL 2

static const column accident_cols[] = {
    {"county", "COUNTY", false},
    {"name", "NAME", false},
    {"accident_id", "ACCIDENT", false},
    {"revision", "REV", true},
    {"occurred_at", "OCCURRED", false},
    {"industry", "INDUSTRY", false},
    {"category", "CATEGORY", false},
    {"stage", "STAGE", false},
    {"grade", "GRADE", false},
    {"max_grade", "MAX-GRADE", false},
    {"counted_deaths", "DEATHS", true},
    {"counted_missing", "MISSING", true},
    {"counted_serious_injuries", "SER-INJ", true},
    {"counted_direct_loss_yuan", "LOSS-YUAN", true},
    {"report_to", "REPORT-TO", false},
    {"counted", "COUNTED", false},
    {"flags", "FLAGS", false},
};

/* Text of one cell; malloc'd, caller frees. NULL on allocation failure. */
static char *cell_text(const json_t *v, zb_format fmt)
{
    char buf[32];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.15g", json_real_value(v));
        return strdup(buf);
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? (fmt == ZB_FORMAT_CSV ? "true" : "yes")
                                      : (fmt == ZB_FORMAT_CSV ? "false" : ""));
    if (json_is_array(v)) {
        size_t len = 1, i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *t = json_string_value(e);
            len += (t ? strlen(t) : 0) + 1;
        }
        char *s = calloc(1, len), *p = s;
        if (!s)
            return NULL;
        json_array_foreach(v, i, e)
        {
            const char *t = json_string_value(e) ? json_string_value(e) : "";
            if (i)
                *p++ = ',';
            size_t n = strlen(t);
            memcpy(p, t, n);
            p += n;
        }
        *p = '\0';
        return s;
    }
    return strdup(fmt == ZB_FORMAT_CSV ? "" : "-"); /* null: unknown */
}

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

/* Print rows (JSON objects; NULL entries skipped) under cols. */
static int print_rows(FILE *f, const column *cols, size_t n_cols, json_t *const *rows,
                      size_t n_rows, zb_format fmt)
{
    int rc = ZB_OK;
    char **cells = calloc(n_rows * n_cols + 1, sizeof *cells);
    size_t *width = calloc(n_cols, sizeof *width);
    if (!cells || !width) {
        rc = ZB_ENOMEM;
        goto out;
    }
    for (size_t c = 0; c < n_cols; c++)
        width[c] = zb_display_width(fmt == ZB_FORMAT_CSV ? cols[c].key : cols[c].head);
    for (size_t r = 0; r < n_rows; r++)
        for (size_t c = 0; c < n_cols; c++) {
            char *t = cell_text(json_object_get(rows[r], cols[c].key), fmt);
            if (!t) {
                rc = ZB_ENOMEM;
                goto out;
            }
            cells[r * n_cols + c] = t;
            size_t w = zb_display_width(t);
            if (w > width[c])
                width[c] = w;
        }
    if (fmt == ZB_FORMAT_CSV) {
        for (size_t c = 0; c < n_cols; c++) {
            if (c)
                fputc(',', f);
            csv_field(f, cols[c].key);
        }
        fputs("\r\n", f);
        for (size_t r = 0; r < n_rows; r++) {
            for (size_t c = 0; c < n_cols; c++) {
                if (c)
                    fputc(',', f);
                csv_field(f, cells[r * n_cols + c]);
            }
            fputs("\r\n", f);
        }
    } else {
        for (size_t r = 0; r <= n_rows; r++) {
            for (size_t c = 0; c < n_cols; c++) {
                const char *t = r == 0 ? cols[c].head : cells[(r - 1) * n_cols + c];
                size_t pad = width[c] - zb_display_width(t);
                bool last = c + 1 == n_cols;
                if (cols[c].right)
                    fprintf(f, "%*s%s", (int)pad, "", t);
                else
                    fprintf(f, "%s%*s", t, last ? 0 : (int)pad, "");
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

/* Rows of doc[member] plus optional extra rows, as an array of pointers. */
static int print_doc_rows(FILE *f, const column *cols, size_t n_cols, const json_t *arr,
                          json_t *extra1, json_t *extra2, zb_format fmt)
{
    size_t n = json_array_size(arr), k = 0;
    json_t **rows = calloc(n + 2, sizeof *rows);
    if (!rows)
        return ZB_ENOMEM;
    for (size_t i = 0; i < n; i++)
        rows[k++] = json_array_get(arr, i);
    if (extra1)
        rows[k++] = extra1;
    if (extra2)
        rows[k++] = extra2;
    int rc = print_rows(f, cols, n_cols, rows, k, fmt);
    free(rows);
    return rc;
}

static int print_monthly(FILE *f, const json_t *doc, zb_format fmt)
{
    json_t *total = json_object_get(doc, "total");
    /* the counties that reported each statistic, as a row under the total */
    json_t *reporting = json_deep_copy(json_object_get(total, "counties_reporting"));
    if (!reporting)
        return ZB_ENOMEM;
    json_object_set_new(reporting, "county", json_string("reporting"));
    json_object_set_new(reporting, "name", json_string(""));
    size_t n_cols = sizeof monthly_cols / sizeof monthly_cols[0];
    column cols[sizeof monthly_cols / sizeof monthly_cols[0]];
    for (size_t i = 0, k = 0; i < n_cols; i++) {
        if (fmt == ZB_FORMAT_TABLE && i == MONTHLY_REVIEW_COL)
            continue;
        cols[k++] = monthly_cols[i];
        if (fmt == ZB_FORMAT_TABLE && i == MONTHLY_STATUS_COL)
            cols[k++] = monthly_cols[MONTHLY_REVIEW_COL];
    }
    int rc = print_doc_rows(f, cols, n_cols, json_object_get(doc, "rows"), total, reporting, fmt);
    json_decref(reporting);
    if (rc == 0 && fmt == ZB_FORMAT_TABLE)
        fprintf(f,
                "period %s, deadline %s%s%s: %" JSON_INTEGER_FORMAT " on time, %" JSON_INTEGER_FORMAT
                " late, %" JSON_INTEGER_FORMAT " missing of %" JSON_INTEGER_FORMAT
                " counties (timeliness by the first version's signed creation time; "
                "\"reporting\" = counties that reported each statistic)\n",
                json_string_value(json_object_get(doc, "period")),
                json_string_value(json_object_get(doc, "deadline")),
                json_is_true(json_object_get(doc, "deadline_moved")) ? " (moved)" : "",
                json_is_true(json_object_get(doc, "deadline_passed")) ? "" : " (not yet passed)",
                json_integer_value(json_object_get(total, "on_time")),
                json_integer_value(json_object_get(total, "late")),
                json_integer_value(json_object_get(total, "missing")),
                json_integer_value(json_object_get(total, "counties")));
    return rc;
}

static int print_totals_table(FILE *f, const char *title, const json_t *totals)
{
    static const column cols[] = {{"key", "", false},
                                  {"accidents", "ACCIDENTS", true},
                                  {"deaths", "DEATHS", true},
                                  {"missing", "MISSING", true}};
    size_t n = json_object_size(totals), k = 0;
    json_t **rows = calloc(n + 1, sizeof *rows);
    if (!rows)
        return ZB_ENOMEM;
    const char *key;
    json_t *v;
    int rc = ZB_OK;
    json_object_foreach((json_t *)totals, key, v)
    {
        json_t *row = json_deep_copy(v);
        if (!row) {
            rc = ZB_ENOMEM;
            break;
        }
        json_object_set_new(row, "key", json_string(key));
        rows[k++] = row;
    }
    if (rc == 0) {
        fprintf(f, "\nby %s:\n", title);
        rc = print_rows(f, cols, sizeof cols / sizeof cols[0], rows, k, ZB_FORMAT_TABLE);
    }
    for (size_t i = 0; i < k; i++)
        json_decref(rows[i]);
    free(rows);
    return rc;
}

static int print_accidents(FILE *f, const json_t *doc, zb_format fmt)
{
    int rc = print_doc_rows(f, accident_cols, sizeof accident_cols / sizeof accident_cols[0],
                            json_object_get(doc, "accidents"), NULL, NULL, fmt);
    if (rc || fmt != ZB_FORMAT_TABLE)
        return rc;
    const json_t *t = json_object_get(doc, "totals");
    fprintf(f,
            "%" JSON_INTEGER_FORMAT " accident(s) counted of %" JSON_INTEGER_FORMAT
            " listed from %s to %s (+08:00), as of %s; grade rule: %s;\n"
            "counted: the figures of the last revision within 7 days (road traffic, fire) or 30 "
            "days of the accident, the missing as dead once that window closed; GRADE is of the "
            "counted figures, REPORT-TO follows the highest grade reached; write-offs and reports "
            "signed after they were received are listed, not counted\n",
            json_integer_value(json_object_get(t, "accidents")),
            json_integer_value(json_object_get(t, "listed")),
            json_string_value(json_object_get(doc, "from")),
            json_string_value(json_object_get(doc, "to")),
            json_string_value(json_object_get(doc, "now")),
            json_string_value(json_object_get(doc, "grade_rule")));
    if ((rc = print_totals_table(f, "county", json_object_get(t, "by_county"))) ||
        (rc = print_totals_table(f, "industry", json_object_get(t, "by_industry"))) ||
        (rc = print_totals_table(f, "grade", json_object_get(t, "by_grade"))))
        return rc;
    return ZB_OK;
}

static int print_matrix(FILE *f, const json_t *doc, zb_format fmt)
{
    const json_t *periods = json_object_get(doc, "periods");
    size_t n = json_array_size(periods);
    column *cols = calloc(n + 2, sizeof *cols);
    if (!cols)
        return ZB_ENOMEM;
    cols[0] = (column){"county", "COUNTY", false};
    cols[1] = (column){"name", "NAME", false};
    for (size_t i = 0; i < n; i++) {
        const char *p = json_string_value(json_array_get(periods, i));
        cols[i + 2] = (column){p, p, false};
    }
    int rc = print_doc_rows(f, cols, n + 2, json_object_get(doc, "rows"), NULL, NULL, fmt);
    free(cols);
    return rc;
}

static const column indicator_cols[] = {
    {"county", "COUNTY", false},
    {"name", "NAME", false},
    {"accidents", "ACCID", true},
    {"deaths", "DEATHS", true},
    {"missing", "MISSING", true},
    {"previous_deaths", "PREV", true},
    {"change_vs_previous", "CHG", true},
    {"change_vs_previous_pct", "CHG%", true},
    {"base_deaths", "BASE-2015", true},
    {"base_deaths_prorated", "BASE-TO-DATE", true},
    {"target_deaths", "TARGET", true},
    {"target_deaths_prorated", "TARGET-TO-DATE", true},
    {"change_vs_base_pct", "VS-BASE%", true},
    {"target_progress_pct", "PROGRESS%", true},
    {"on_track", "ON-TRACK", false},
    {"deaths_industry_mining_commerce", "D-IMC", true},
    {"deaths_road_traffic", "D-ROAD", true},
    {"deaths_coal_mine", "D-COAL", true},
    {"gdp_100m_yuan", "GDP-100M", true},
    {"workers_industry_mining_commerce", "WORKERS", true},
    {"motor_vehicles", "VEHICLES", true},
    {"coal_output_tonnes", "COAL-T", true},
    {"deaths_per_100m_yuan_gdp", "/100M-GDP", true},
    {"deaths_per_100k_workers", "/100K-WORK", true},
    {"road_deaths_per_10k_vehicles", "ROAD/10K-VEH", true},
    {"coal_deaths_per_million_tonnes", "COAL/MT", true},
};

/* The table leaves the denominators to csv and json (it is wide enough). */
static bool indicator_table_col(const column *c)
{
    return strcmp(c->key, "gdp_100m_yuan") != 0 &&
           strcmp(c->key, "workers_industry_mining_commerce") != 0 &&
           strcmp(c->key, "motor_vehicles") != 0 && strcmp(c->key, "coal_output_tonnes") != 0;
}

static int print_indicators(FILE *f, const json_t *doc, zb_format fmt)
{
    json_t *total = json_object_get(doc, "total");
    if (fmt != ZB_FORMAT_TABLE)
        return print_doc_rows(f, indicator_cols, sizeof indicator_cols / sizeof indicator_cols[0],
                              json_object_get(doc, "rows"), total, NULL, fmt);
    column cols[sizeof indicator_cols / sizeof indicator_cols[0]];
    size_t n_cols = 0;
    for (size_t i = 0; i < sizeof indicator_cols / sizeof indicator_cols[0]; i++)
        if (indicator_table_col(&indicator_cols[i]))
            cols[n_cols++] = indicator_cols[i];
    /* on_track false reads "no" in the table (a blank would read "unknown") */
    json_t *rows = json_deep_copy(json_object_get(doc, "rows")), *tot = json_deep_copy(total);
    int rc = rows && tot ? ZB_OK : ZB_ENOMEM;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (json_is_false(json_object_get(row, "on_track")))
            rc |= json_object_set_new(row, "on_track", json_string("no")) ? ZB_ENOMEM : 0;
    }
    if (tot && json_is_false(json_object_get(tot, "on_track")))
        rc |= json_object_set_new(tot, "on_track", json_string("no")) ? ZB_ENOMEM : 0;
    if (rc == ZB_OK)
        rc = print_doc_rows(f, cols, n_cols, rows, tot, NULL, fmt);
    json_decref(rows);
    json_decref(tot);
    if (rc)
        return rc;
    const char *fs = json_string_value(json_object_get(total, "figures_source"));
    const char *bs = json_string_value(json_object_get(total, "base_source"));
    fprintf(f,
            "year %" JSON_INTEGER_FORMAT " to date: %s to %s (%.1f %% of the year), "
            "against %s to %s;\n"
            "deaths are counted deaths (within each accident's 7/30-day window; the missing as dead once it closed); the %" JSON_INTEGER_FORMAT
            " base is its full-year deaths prorated by the share of the year elapsed; target "
            "-%" JSON_INTEGER_FORMAT " %%; PROGRESS%% = share of that reduction achieved;\n"
            "rates: deaths to date / the year's figures (csv and json also give the figures); "
            "total's figures: %s, base: %s\n",
            json_integer_value(json_object_get(doc, "year")),
            json_string_value(json_object_get(doc, "from")),
            json_string_value(json_object_get(doc, "to")),
            json_real_value(json_object_get(doc, "elapsed_fraction")) * 100,
            json_string_value(json_object_get(doc, "previous_from")),
            json_string_value(json_object_get(doc, "previous_to")),
            json_integer_value(json_object_get(doc, "base_year")),
            json_integer_value(json_object_get(doc, "target_reduction_pct")),
            fs ? fs : "not loaded", bs ? bs : "not loaded");
    return ZB_OK;
}

/* ------------------------------------------------------------ printing a report */

int zb_render_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt)
{
    int rc;
    if (fmt == ZB_FORMAT_JSON) {
        /* 15 significant digits: the reals were rounded to 6 decimals */
        char *s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
        if (!s)
            return ZB_ENOMEM;
        fputs(s, f);
        fputc('\n', f);
        free(s);
        rc = ZB_OK;
    } else if (strcmp(kind, "monthly") == 0) {
        rc = print_monthly(f, doc, fmt);
    } else if (strcmp(kind, "accidents") == 0) {
        rc = print_accidents(f, doc, fmt);
    } else if (strcmp(kind, "indicators") == 0) {
        rc = print_indicators(f, doc, fmt);
    } else {
        rc = print_matrix(f, doc, fmt);
    }
    if (rc == 0 && (fflush(f) != 0 || ferror(f)))
        rc = ZB_EIO;
    return rc;
}
