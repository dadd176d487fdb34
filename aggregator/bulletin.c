/*
 * bulletin.c - the monthly bulletin (月度通报), see bulletin.h: the three
 * consolidation reports rendered as one printable A4 HTML page.
 *
 * Every figure on the page is a member of those reports (or a sum of the
 * accident rows' counted figures the accidents report lists but does not
 * total: serious injuries and direct loss); nothing is re-judged here.
 */
#include "bulletin.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "consolidate.h"
#include "crypto.h"
#include "domain.h"
#include "err.h"
#include "i18n.h"
#include "timefmt.h"

/* The prefecture as its offices write it: 延边朝鲜族自治州 (GB/T 2260
 * 222400, domain.h ZB_PREFECTURE_CODE), short form 延边州. The county table
 * (domain.h) names only the counties. */
#define PREFECTURE "延边州"

/* The issuing office. The counties' monthly reform-progress reports go to
 * the prefecture safety committee's office (the 2018 implementing opinions,
 * last paragraph: "每月5日前,向州安委会办公室报送改革工作进展情况"), so
 * the bulletin on them is that office's, under its own name; since the
 * 2018 reform that office sits in 延边州应急管理局 (domain.md, "Names"),
 * which the colophon names as where it is issued from. */
#define ISSUER      "延边州安全生产委员会办公室"
#define ISSUER_HOST "延边州应急管理局"

#define CST_S (8 * 3600) /* +08:00 */

/* The page's one stylesheet: a document on screen (an A4 sheet on grey),
 * black on white in print. Its SHA-256 is in the page's CSP (zb_bulletin_csp),
 * so not a byte of it may differ from what the <style> element holds. */
static const char CSS[] =
    "\n"
    "@page { size: A4; margin: 25mm 20mm 22mm 25mm; }\n"
    "html { background: #e6e6e6; }\n"
    "body { margin: 0; color: #000; font: 11pt/1.65 \"Noto Serif CJK SC\", \"Source Han Serif SC\","
    " \"Songti SC\", SimSun, serif; }\n"
    ".sheet { box-sizing: border-box; width: 210mm; min-height: 297mm; margin: 10mm auto;"
    " padding: 25mm 20mm 22mm 25mm; background: #fff; box-shadow: 0 1px 8px rgba(0,0,0,.3); }\n"
    ".masthead { text-align: center; border-bottom: 2px solid #000; margin-bottom: 6mm; }\n"
    ".issuer { font-size: 18pt; letter-spacing: .15em; margin: 0 0 3mm; text-indent: 0; }\n"
    "h1 { font-size: 17pt; margin: 0 0 2mm; }\n"
    ".dateline { text-indent: 0; margin: 0 0 3mm; }\n"
    "h2 { font: bold 13pt/1.6 \"Noto Sans CJK SC\", \"Source Han Sans SC\", SimHei, sans-serif;"
    " margin: 6mm 0 2mm; break-after: avoid; page-break-after: avoid; }\n"
    "h3 { font-size: 11pt; margin: 3mm 0 1mm; break-after: avoid; page-break-after: avoid; }\n"
    "p { margin: 0 0 2mm; text-indent: 2em; }\n"
    ".group b { font-weight: bold; }\n"
    "table { width: 100%; border-collapse: collapse; font-size: 9.5pt; line-height: 1.4;"
    " margin: 2mm 0 4mm; }\n"
    "caption { font-weight: bold; margin-bottom: 1mm; }\n"
    "th, td { border: 1px solid #000; padding: 1mm 1.5mm; vertical-align: top; }\n"
    "th { font-weight: bold; text-align: center; }\n"
    "thead { display: table-header-group; }\n"
    "tr { break-inside: avoid; page-break-inside: avoid; }\n"
    ".num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }\n"
    ".nowrap { white-space: nowrap; }\n"
    "tr.excluded td { font-style: italic; color: #333; }\n"
    "tfoot td { font-weight: bold; }\n"
    ".unit { display: block; }\n"
    ".accident-table { font-size: 9pt; }\n"
    "figure { margin: 2mm 0 4mm; break-inside: avoid; page-break-inside: avoid; }\n"
    "figcaption { text-align: center; font-size: 9.5pt; }\n"
    ".chart { display: block; width: 100%; height: auto; }\n"
    ".chart text { font-size: 11px; fill: #000; }\n"
    ".chart .axis { stroke: #000; stroke-width: 1; }\n"
    ".chart .grid { stroke: #bbb; stroke-width: .5; }\n"
    ".chart .bar.cur { fill: #000; }\n"
    ".chart .bar.prev { fill: #fff; stroke: #000; stroke-width: 1; }\n"
    ".chart .target { stroke: #000; stroke-width: 2; stroke-dasharray: 4 2; }\n"
    ".chart .bar.base { fill: #bbb; }\n"
    ".chart .bar.goal { fill: #fff; stroke: #000; stroke-width: 1; stroke-dasharray: 3 2; }\n"
    ".note { font-size: 9.5pt; text-indent: 0; }\n"
    ".colophon { margin-top: 8mm; border-top: 1px solid #000; border-bottom: 1px solid #000;"
    " padding: 2mm 0; break-inside: avoid; page-break-inside: avoid; }\n"
    ".colophon p { text-indent: 0; margin: 0; }\n"
    ".printed { display: flex; justify-content: space-between; }\n"
    "section { break-inside: auto; }\n"
    "@media screen and (max-width: 220mm) { .sheet { width: auto; min-height: 0; margin: 0;"
    " padding: 8mm; box-shadow: none; } }\n"
    "@media print { html { background: #fff; } .sheet { width: auto; min-height: 0; margin: 0;"
    " padding: 0; box-shadow: none; } }\n";

/* ------------------------------------------------------------ the query */

typedef struct {
    zb_query_lookup lookup;
    void *ctx;
} period_only;

/* Only "period" is read: nothing else a caller passes is the bulletin's. */
static const char *period_lookup(void *ctx, const char *name)
{
    const period_only *po = ctx;
    return po->lookup && strcmp(name, "period") == 0 ? po->lookup(po->ctx, name) : NULL;
}

int zb_bulletin_parse(zb_query_lookup lookup, void *ctx, zb_query_dialect dialect, int64_t now,
                      int *year, int *month, zb_problems *p)
{
    period_only po = {lookup, ctx};
    zb_query q;
    int rc = zb_query_parse("monthly", period_lookup, &po, dialect, now, &q, p);
    if (rc)
        return rc;
    int cy, cm;
    zb_period_of(now, &cy, &cm);
    if (zb_period_ordinal(q.year, q.month) > zb_period_ordinal(cy, cm)) {
        zb_problems_add(p, "%speriod: must not be after the current month (%04d-%02d)",
                        dialect == ZB_QUERY_CLI ? "--" : "", cy, cm);
        return ZB_EVALIDATION;
    }
    *year = q.year;
    *month = q.month;
    return ZB_OK;
}

int zb_bulletin_csp(char *buf, size_t len)
{
    uint8_t hash[ZB_SHA256_LEN];
    char b64[sodium_base64_ENCODED_LEN(ZB_SHA256_LEN, sodium_base64_VARIANT_ORIGINAL)];
    zb_sha256(CSS, sizeof CSS - 1, hash);
    sodium_bin2base64(b64, sizeof b64, hash, sizeof hash, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(buf, len,
                     "default-src 'none'; style-src 'sha256-%s'; img-src data:; base-uri 'none'; "
                     "form-action 'none'",
                     b64);
    return n >= 0 && (size_t)n < len ? ZB_OK : ZB_EINVAL;
}

/* ------------------------------------------------------------ small pieces */

/* Text into HTML, element content or a quoted attribute value alike. */
static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static json_int_t num(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* A local (+08:00) date and time. */
typedef struct {
    int year, month, day, hour, minute;
} local_time;

static bool local_of(int64_t t, local_time *lt)
{
    time_t x = (time_t)(t + CST_S);
    struct tm tm;
    if (!gmtime_r(&x, &tm))
        return false;
    *lt = (local_time){tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min};
    return true;
}

/* An RFC 3339 member of o as local time; false when absent or null. */
static bool local_member(const json_t *o, const char *key, local_time *lt)
{
    const char *s = str(o, key);
    int64_t t;
    return s && zb_time_parse(s, &t, NULL) == 0 && local_of(t, lt);
}

/* "10月14日 08:30" */
static void put_month_day_time(FILE *f, const local_time *lt)
{
    fprintf(f, "%d月%d日 %02d:%02d", lt->month, lt->day, lt->hour, lt->minute);
}

/* Yuan as 万元 with two decimals (i18n.h zb_money_wan: the bulletin is
 * Chinese whatever --lang says). */
static void put_wan(FILE *f, json_int_t yuan)
{
    char text[32];
    fputs(zb_money_wan(yuan > 0 ? (uint64_t)yuan : 0, text, sizeof text), f);
}

/* A grade, industry or category code in Chinese (i18n.h zb_label_zh),
 * the code itself when unknown, a dash when absent. */
static const char *label_zh(const char *code)
{
    const char *zh = zb_label_zh(code);
    return zh ? zh : code ? code : "—";
}

static const char *stage_zh(const char *name)
{
    const char *zh = name ? zb_stage_name_zh(zb_stage_parse(name)) : NULL;
    return zh ? zh : "—";
}

static const char *review_zh(const char *review)
{
    if (!review)
        return "—";
    if (strcmp(review, "accepted") == 0)
        return "已签收";
    if (strcmp(review, "returned") == 0)
        return "已退回修改";
    if (strcmp(review, "unreviewed") == 0)
        return "未审核";
    return review;
}

/* A county's name as a row gives it, or its code when it has none (a
 * county outside the Yanbian table). */
static const char *county_of(const json_t *row)
{
    const char *name = str(row, "name");
    return name && *name ? name : str(row, "county") ? str(row, "county") : "—";
}

/* ------------------------------------------------------------ the head */

static void put_head(FILE *f, const zb_bulletin_input *in, const local_time *issued)
{
    char csp[256], period[16];
    if (zb_bulletin_csp(csp, sizeof csp) != ZB_OK)
        csp[0] = '\0'; /* cannot happen: the buffer is large enough */
    if (zb_period_format(in->year, in->month, period, sizeof period) != 0)
        period[0] = '\0';
    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n", f);
    fputs("<meta http-equiv=\"Content-Security-Policy\" content=\"", f);
    esc(f, csp);
    fputs("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n", f);
    fputs("<meta name=\"generator\" content=\"zhibao-agg report bulletin\">\n", f);
    fprintf(f, "<title>%s安全生产月度通报（%d年%d月）</title>\n", PREFECTURE, in->year, in->month);
    fprintf(f, "<style>%s</style>\n</head>\n<body>\n", CSS);
    fprintf(f,
            "<article class=\"sheet\" id=\"bulletin\" data-period=\"%s\" "
            "data-issued=\"%04d-%02d-%02d\">\n",
            period, issued->year, issued->month, issued->day);
    fprintf(f, "<header class=\"masthead\">\n<p class=\"issuer\">%s</p>\n", ISSUER);
    fprintf(f, "<h1 id=\"title\">%s安全生产月度通报（%d年%d月）</h1>\n", PREFECTURE, in->year,
            in->month);
    fprintf(f, "<p class=\"dateline\">%s　%d年%d月%d日</p>\n</header>\n", ISSUER, issued->year,
            issued->month, issued->day);
    fprintf(f,
            "<p>现将%d年%d月全州安全生产改革工作进展情况报送、生产安全事故和年度控制指标情况"
            "通报如下：</p>\n",
            in->year, in->month);
}

/* ------------------------------------------------------------ 一、报送情况 */

static const char *const FILING[] = {"on_time", "late", "missing"};

static void put_filing_group(FILE *f, const json_t *rows, unsigned which, bool deadline_passed)
{
    const char *status = FILING[which];
    static const char *const label[] = {"按时报送", "迟报", "未报"};
    size_t i, n = 0;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *s = str(row, "status");
        n += s && strcmp(s, status) == 0;
    }
    fprintf(f, "<p class=\"group\" id=\"filing-%s\" data-filing=\"%s\" data-count=\"%zu\"><b>%s",
            status, status, n,
            which == 2 && !deadline_passed ? "尚未报送（截止时间未到）" : label[which]);
    fprintf(f, "（%zu个）：</b>", n);
    size_t k = 0;
    json_array_foreach(rows, i, row)
    {
        const char *s = str(row, "status");
        if (!s || strcmp(s, status) != 0)
            continue;
        if (k++)
            fputs("、", f);
        fputs("<span class=\"county\" data-county=\"", f);
        esc(f, str(row, "county"));
        fputs("\">", f);
        esc(f, county_of(row));
        fputs("</span>", f);
        local_time lt;
        if (which == 1 && local_member(row, "first_created_at", &lt)) {
            fputs("（", f);
            put_month_day_time(f, &lt);
            fputs("报送）", f);
        }
        if (json_array_size(json_object_get(row, "clock_flags")) > 0)
            fputs("（时钟存疑）", f);
    }
    fputs(n ? "。</p>\n" : "无。</p>\n", f);
}

static void put_filing(FILE *f, const json_t *m)
{
    const json_t *rows = json_object_get(m, "rows"), *total = json_object_get(m, "total");
    bool moved = json_is_true(json_object_get(m, "deadline_moved"));
    bool passed = json_is_true(json_object_get(m, "deadline_passed"));
    local_time dl;
    bool has_dl = local_member(m, "deadline", &dl);
    fputs("<section id=\"filing\" data-deadline=\"", f);
    esc(f, str(m, "deadline"));
    fprintf(f, "\" data-deadline-moved=\"%s\" data-deadline-passed=\"%s\">\n",
            moved ? "true" : "false", passed ? "true" : "false");
    fputs("<h2>一、报送情况</h2>\n<p>", f);
    if (has_dl)
        fprintf(f, "本期改革工作进展情况报送截止时间为%d年%d月%d日%02d:%02d%s。", dl.year, dl.month,
                dl.day, dl.hour, dl.minute, moved ? "（已顺延）" : "");
    fprintf(f,
            "全州应报县（市）%" JSON_INTEGER_FORMAT "个，按时报送%" JSON_INTEGER_FORMAT
            "个，迟报%" JSON_INTEGER_FORMAT "个，%s%" JSON_INTEGER_FORMAT "个。",
            num(total, "counties"), num(total, "on_time"), num(total, "late"),
            passed ? "未报" : "尚未报送", num(total, "missing"));
    fputs("是否按时以各县（市）首次报送的签名时间认定。</p>\n", f);
    for (unsigned w = 0; w < 3; w++)
        put_filing_group(f, rows, w, passed);

    fputs("<table class=\"filing-table\">\n<caption>各县（市）报送及审核情况</caption>\n"
          "<thead><tr><th>县（市）</th><th>报送情况</th><th>首次报送时间</th><th>版本</th>"
          "<th>审核情况</th></tr></thead>\n<tbody>\n",
          f);
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *status = str(row, "status"), *review = str(row, "review");
        fputs("<tr data-county=\"", f);
        esc(f, str(row, "county"));
        fputs("\" data-status=\"", f);
        esc(f, status);
        fputs("\" data-review=\"", f);
        esc(f, review ? review : "");
        fputs("\"><td>", f);
        esc(f, county_of(row));
        fputs("</td><td>", f);
        if (status && strcmp(status, "on_time") == 0)
            fputs("按时", f);
        else if (status && strcmp(status, "late") == 0)
            fputs("迟报", f);
        else
            fputs(passed ? "未报" : "尚未报送", f);
        fputs("</td><td class=\"nowrap\">", f);
        local_time lt;
        if (local_member(row, "first_created_at", &lt))
            put_month_day_time(f, &lt);
        else
            fputs("—", f);
        fprintf(f, "</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td>", num(row, "version"));
        esc(f, review_zh(review));
        const char *comment = str(row, "review_comment");
        if (review && strcmp(review, "returned") == 0 && comment && *comment) {
            fputs("：", f);
            esc(f, comment);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody>\n</table>\n</section>\n", f);
}

/* ------------------------------------------------------------ 二、事故情况 */

/* The counted accidents' totals: accidents, deaths and missing as the
 * report totals them (by grade), serious injuries and direct loss summed
 * over its counted rows (the report lists them per accident only). */
typedef struct {
    json_int_t accidents, deaths, missing, serious, loss_yuan, by_grade[4], written_off,
        not_counted;
} acc_totals;

static void acc_totals_of(const json_t *doc, acc_totals *t)
{
    memset(t, 0, sizeof *t);
    const json_t *totals = json_object_get(doc, "totals");
    const json_t *by_grade = json_object_get(totals, "by_grade");
    t->accidents = num(totals, "accidents");
    for (int g = ZB_GRADE_GENERAL; g <= ZB_GRADE_ESPECIALLY_SERIOUS; g++) {
        const json_t *bg = json_object_get(by_grade, zb_grade_name((zb_grade)g));
        t->by_grade[g] = num(bg, "accidents");
        t->deaths += num(bg, "deaths");
        t->missing += num(bg, "missing");
    }
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "accidents"), i, a)
    {
        if (json_is_true(json_object_get(a, "counted"))) {
            t->serious += num(a, "counted_serious_injuries");
            t->loss_yuan += num(a, "counted_direct_loss_yuan");
        } else if (json_is_true(json_object_get(a, "written_off"))) {
            t->written_off++;
        } else {
            t->not_counted++;
        }
    }
}

static void put_accident_row(FILE *f, size_t index, const json_t *a, const json_t *details)
{
    bool counted = json_is_true(json_object_get(a, "counted"));
    bool written_off = json_is_true(json_object_get(a, "written_off"));
    const char *county = str(a, "county"), *id = str(a, "accident_id");
    fprintf(f, "<tr class=\"accident%s\" data-county=\"", counted ? "" : " excluded");
    esc(f, county);
    fputs("\" data-accident=\"", f);
    esc(f, id);
    fprintf(f,
            "\" data-counted=\"%s\" data-grade=\"%s\" data-deaths=\"%" JSON_INTEGER_FORMAT
            "\" data-missing=\"%" JSON_INTEGER_FORMAT "\" data-serious=\"%" JSON_INTEGER_FORMAT
            "\" data-loss-yuan=\"%" JSON_INTEGER_FORMAT "\">",
            counted ? "true" : "false", str(a, "grade") ? str(a, "grade") : "",
            num(a, "counted_deaths"), num(a, "counted_missing"), num(a, "counted_serious_injuries"),
            num(a, "counted_direct_loss_yuan"));
    fprintf(f, "<td class=\"num\">%zu</td><td>", index);
    esc(f, county_of(a));
    fputs("</td><td class=\"nowrap\">", f);
    local_time lt;
    if (local_member(a, "occurred_at", &lt))
        put_month_day_time(f, &lt);
    fputs("</td><td>", f);
    char key[ZB_COUNTY_LEN + 1 + ZB_ACCIDENT_ID_MAX + 8];
    snprintf(key, sizeof key, "%s/%s", county ? county : "", id ? id : "");
    const json_t *d = json_object_get(details, key);
    const char *place = str(d, "place"), *unit = str(d, "unit");
    fputs("<span class=\"place\">", f);
    esc(f, place && *place ? place : "—");
    fputs("</span><span class=\"unit\">", f);
    esc(f, unit && *unit ? unit : "—");
    fputs("</span>", f);
    const char *reason = str(a, "write_off_reason");
    if (written_off && reason && *reason) {
        fputs("<span class=\"unit reason\">核销原因：", f);
        esc(f, reason);
        fputs("</span>", f);
    }
    fputs("</td><td class=\"nowrap\">", f);
    esc(f, label_zh(str(a, "industry")));
    fputs("</td><td class=\"nowrap\">", f);
    esc(f, label_zh(str(a, "category")));
    fputs("</td><td class=\"nowrap\">", f);
    esc(f, label_zh(str(a, "grade")));
    const char *g = str(a, "grade"), *mg = str(a, "max_grade");
    if (g && mg && strcmp(g, mg) != 0) {
        fputs("（曾达", f);
        esc(f, label_zh(mg));
        fputs("）", f);
    }
    fprintf(f,
            "</td><td class=\"num\">%" JSON_INTEGER_FORMAT
            "</td><td class=\"num\">%" JSON_INTEGER_FORMAT
            "</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td class=\"num\">",
            num(a, "counted_deaths"), num(a, "counted_missing"),
            num(a, "counted_serious_injuries"));
    put_wan(f, num(a, "counted_direct_loss_yuan"));
    fputs("</td><td class=\"nowrap\">", f);
    if (written_off) {
        fputs("核销（不计入）", f);
    } else if (!counted) {
        fputs("时钟存疑（不计入）", f);
    } else {
        esc(f, stage_zh(str(a, "stage")));
    }
    fputs("</td></tr>\n", f);
}

/* "延吉市1起、死亡1人；..." over the non-zero entries of totals[by] (keys
 * are county codes or industry names); nothing when all are zero. */
static void put_breakdown(FILE *f, const char *lead, const json_t *by, bool counties)
{
    const char *key;
    json_t *t;
    size_t k = 0;
    json_object_foreach((json_t *)by, key, t)
    {
        if (num(t, "accidents") <= 0)
            continue;
        fputs(k++ ? "；" : lead, f);
        if (counties) {
            const zb_county *c = zb_county_find(key);
            esc(f, c ? c->name : key);
        } else {
            esc(f, label_zh(key));
        }
        fprintf(f, "%" JSON_INTEGER_FORMAT "起、死亡%" JSON_INTEGER_FORMAT "人",
                num(t, "accidents"), num(t, "deaths"));
        if (num(t, "missing") > 0)
            fprintf(f, "、失踪%" JSON_INTEGER_FORMAT "人", num(t, "missing"));
    }
    if (k)
        fputs("。", f);
}

static void put_accidents(FILE *f, const zb_bulletin_input *in)
{
    const json_t *doc = in->accidents, *list = json_object_get(doc, "accidents");
    acc_totals t;
    acc_totals_of(doc, &t);
    fputs("<section id=\"accidents\" data-from=\"", f);
    esc(f, str(doc, "from"));
    fputs("\" data-to=\"", f);
    esc(f, str(doc, "to"));
    fputs("\">\n<h2>二、事故情况</h2>\n<p class=\"summary\">", f);
    if (t.accidents == 0) {
        fprintf(f, "%d年%d月，全州未接报计入统计的生产安全事故。", in->year, in->month);
    } else {
        fprintf(f,
                "%d年%d月，全州共发生生产安全事故%" JSON_INTEGER_FORMAT
                "起，死亡%" JSON_INTEGER_FORMAT "人",
                in->year, in->month, t.accidents, t.deaths);
        if (t.missing)
            fprintf(f, "、失踪%" JSON_INTEGER_FORMAT "人", t.missing);
        fprintf(f, "、重伤%" JSON_INTEGER_FORMAT "人，直接经济损失", t.serious);
        put_wan(f, t.loss_yuan);
        fputs("万元。其中", f);
        static const char *const names[] = {"一般事故", "较大事故", "重大事故", "特别重大事故"};
        size_t k = 0;
        for (int g = 0; g < 4; g++)
            if (t.by_grade[g])
                fprintf(f, "%s%s%" JSON_INTEGER_FORMAT "起", k++ ? "，" : "", names[g],
                        t.by_grade[g]);
        fputs("。", f);
    }
    if (t.written_off)
        fprintf(f, "另有核销事故%" JSON_INTEGER_FORMAT "起，列出但不计入统计。", t.written_off);
    if (t.not_counted)
        fprintf(f, "另有%" JSON_INTEGER_FORMAT "起因报送时钟存疑暂不计入统计。", t.not_counted);
    fputs("</p>\n", f);
    if (t.accidents) {
        fputs("<p class=\"breakdown\">", f);
        const json_t *totals = json_object_get(doc, "totals");
        put_breakdown(f, "按县（市）：", json_object_get(totals, "by_county"), true);
        put_breakdown(f, "按行业：", json_object_get(totals, "by_industry"), false);
        fputs("</p>\n", f);
    }
    if (json_array_size(list) == 0) {
        fputs("</section>\n", f);
        return;
    }
    fputs("<table class=\"accident-table\">\n<caption>本月事故明细</caption>\n<thead><tr>"
          "<th>序号</th><th>县（市）</th><th>发生时间</th><th>地点及单位</th><th>行业</th>"
          "<th>事故类别</th><th>等级</th><th>死亡</th><th>失踪</th><th>重伤</th>"
          "<th>直接损失（万元）</th><th>报送</th></tr></thead>\n<tbody>\n",
          f);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) put_accident_row(f, i + 1, a, in->details);
    fprintf(f,
            "</tbody>\n<tfoot><tr id=\"accident-totals\" data-accidents=\"%" JSON_INTEGER_FORMAT
            "\" data-deaths=\"%" JSON_INTEGER_FORMAT "\" data-missing=\"%" JSON_INTEGER_FORMAT
            "\" data-serious=\"%" JSON_INTEGER_FORMAT "\" data-loss-yuan=\"%" JSON_INTEGER_FORMAT
            "\"><td colspan=\"7\">合计（计入统计%" JSON_INTEGER_FORMAT "起）</td>",
            t.accidents, t.deaths, t.missing, t.serious, t.loss_yuan, t.accidents);
    fprintf(f,
            "<td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td class=\"num\">%" JSON_INTEGER_FORMAT
            "</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td class=\"num\">",
            t.deaths, t.missing, t.serious);
    put_wan(f, t.loss_yuan);
    fputs("</td><td></td></tr></tfoot>\n</table>\n", f);
    fputs("<p class=\"note\">注：死亡、失踪、重伤及损失均为统计口径数（事故发生之日起30日内，"
          "道路交通和火灾事故7日内的变化计入）；等级按统计口径数认定，“曾达”为报送中达到过的"
          "最高等级（据此上报）。</p>\n</section>\n",
          f);
}

/* ------------------------------------------------------------ 三、年度指标 */

/* A real member as "12.3", or "—" when null. */
static void put_real1(FILE *f, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_number(v))
        fprintf(f, "%.1f", json_number_value(v));
    else
        fputs("—", f);
}

/* A percentage change as "+12.3%" / "-4.0%" / "—". */
static void put_pct(FILE *f, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_number(v))
        fprintf(f, "%+.1f%%", json_number_value(v));
    else
        fputs("—", f);
}

/* The window's text: "1—10月" when it ends at a month's end, else
 * "1月1日—12月1日" (a period of the current month, as of now). */
static void put_window(FILE *f, const json_t *ind)
{
    const char *to = str(ind, "to");
    int64_t t;
    local_time last, end;
    if (!to || zb_time_parse(to, &t, NULL) != 0 || !local_of(t - 1, &last) || !local_of(t, &end)) {
        fputs("本年", f);
        return;
    }
    if (end.day == 1 && end.hour == 0 && end.minute == 0 && t % 60 == 0)
        fprintf(f, last.month == 1 ? "1月" : "1—%d月", last.month);
    else
        fprintf(f, "1月1日—%d月%d日", last.month, last.day);
}

/* A round step (1, 2, 5 x 10^k) for at most about four grid lines up to
 * max (> 0). */
static double nice_step(double max)
{
    if (!(max <= 1e12))
        return 1e12; /* NaN or absurd: no loop without end */
    for (double p = 1;; p *= 10)
        for (int i = 0; i < 3; i++) {
            static const double m[] = {1, 2, 5};
            if (m[i] * p * 4 >= max)
                return m[i] * p;
        }
}

/* A chart's value axis up to max (> 0): its grid step (nice_step) in
 * *step, and its top, the first multiple of the step at or above max. */
static double axis_top(double max, double *step)
{
    double top = *step = nice_step(max);
    while (top < max)
        top += *step;
    return top;
}

static double dmax(double a, double b)
{
    return a > b ? a : b;
}

/* The chart: per county, this year's deaths to date (black), last year's
 * same period (white) and the prorated target (dashed), as inline SVG. */
static void put_chart(FILE *f, const json_t *ind)
{
    const json_t *rows = json_object_get(ind, "rows");
    size_t n = json_array_size(rows);
    if (n == 0)
        return;
    const double W = 640, H = 260, left = 40, right = 10, top = 30, bottom = 36;
    const double pw = W - left - right, ph = H - top - bottom;
    double max = 1;
    size_t i;
    json_t *r;
    bool any_target = false;
    json_array_foreach(rows, i, r)
    {
        double cur = (double)num(r, "deaths"), prev = (double)num(r, "previous_deaths");
        const json_t *tg = json_object_get(r, "target_deaths_prorated");
        max = dmax(max, dmax(cur, prev));
        if (json_is_number(tg)) {
            max = dmax(max, json_number_value(tg));
            any_target = true;
        }
    }
    double step, top_value = axis_top(max, &step);
    fputs("<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
          "id=\"indicator-chart\" viewBox=\"0 0 640 260\" role=\"img\" "
          "aria-labelledby=\"chart-title\">\n<title id=\"chart-title\">各县（市）生产安全事故"
          "死亡人数：本年累计与去年同期</title>\n",
          f);
    for (double v = 0; v <= top_value + 1e-9; v += step) {
        double y = top + ph - v / top_value * ph;
        fprintf(f,
                "<line class=\"%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
                v == 0 ? "axis" : "grid", left, y, W - right, y, left - 4, y + 4, v);
    }
    double gw = pw / (double)n, bw = gw * 0.3 < 26 ? gw * 0.3 : 26;
    json_array_foreach(rows, i, r)
    {
        double gx = left + gw * (double)i, mid = gx + gw / 2;
        double cur = (double)num(r, "deaths"), prev = (double)num(r, "previous_deaths");
        double hc = cur / top_value * ph, hp = prev / top_value * ph;
        fputs("<g class=\"county\" data-county=\"", f);
        esc(f, str(r, "county"));
        fputs("\">", f);
        fprintf(f,
                "<rect class=\"bar cur\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "data-deaths=\"%.0f\"/>",
                mid - bw - 1, top + ph - hc, bw, hc, cur);
        fprintf(f,
                "<rect class=\"bar prev\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "data-deaths=\"%.0f\"/>",
                mid + 1, top + ph - hp, bw, hp, prev);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>",
                mid - bw / 2 - 1, top + ph - hc - 3, cur);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>",
                mid + bw / 2 + 1, top + ph - hp - 3, prev);
        const json_t *tg = json_object_get(r, "target_deaths_prorated");
        if (json_is_number(tg)) {
            double y = top + ph - json_number_value(tg) / top_value * ph;
            fprintf(f, "<line class=\"target\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                    mid - bw - 5, y, mid + bw + 5, y);
        }
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", mid, H - bottom + 16);
        esc(f, county_of(r));
        fputs("</text></g>\n", f);
    }
    /* the legend, top right */
    fputs("<g class=\"legend\">", f);
    fprintf(f,
            "<rect class=\"bar cur\" x=\"%.0f\" y=\"8\" width=\"12\" height=\"12\"/>"
            "<text x=\"%.0f\" y=\"18\">本年累计</text>",
            W - 330, W - 314);
    fprintf(f,
            "<rect class=\"bar prev\" x=\"%.0f\" y=\"8\" width=\"12\" height=\"12\"/>"
            "<text x=\"%.0f\" y=\"18\">去年同期</text>",
            W - 240, W - 224);
    if (any_target)
        fprintf(f,
                "<line class=\"target\" x1=\"%.0f\" y1=\"14\" x2=\"%.0f\" y2=\"14\"/>"
                "<text x=\"%.0f\" y=\"18\">目标（按进度）</text>",
                W - 150, W - 130, W - 124);
    fputs("</g>\n</svg>\n<figcaption>图2　各县（市）生产安全事故死亡人数（", f);
    put_window(f, ind);
    fputs("）</figcaption>\n</figure>\n", f);
}

/* The prefecture's year to date against last year and, when the base is
 * loaded, the prorated 2015 base and target (the dashed line): inline SVG,
 * one horizontal bar each. */
static void put_total_chart(FILE *f, const json_t *ind)
{
    const json_t *total = json_object_get(ind, "total");
    const json_t *base = json_object_get(total, "base_deaths_prorated");
    const json_t *target = json_object_get(total, "target_deaths_prorated");
    typedef struct {
        const char *label, *cls;
        double value;
    } hbar;
    hbar bars[4] = {{"本年累计死亡", "cur", (double)num(total, "deaths")},
                    {"去年同期", "prev", (double)num(total, "previous_deaths")}};
    size_t n = 2;
    if (json_is_number(base) && json_is_number(target)) {
        bars[n++] = (hbar){"2015年基数（按进度）", "base", json_number_value(base)};
        bars[n++] = (hbar){"目标（按进度）", "goal", json_number_value(target)};
    }
    const double W = 640, left = 150, right = 50, top = 8, row = 26;
    const double H = top * 2 + row * (double)n, pw = W - left - right;
    double max = 1;
    for (size_t i = 0; i < n; i++)
        max = dmax(max, bars[i].value);
    double step, top_value = axis_top(max, &step);
    fprintf(f,
            "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
            "id=\"total-chart\" viewBox=\"0 0 640 %.0f\" role=\"img\" "
            "aria-labelledby=\"total-chart-title\">\n<title id=\"total-chart-title\">全州生产安全"
            "事故死亡人数与控制目标</title>\n",
            H);
    for (size_t i = 0; i < n; i++) {
        double y = top + row * (double)i, w = bars[i].value / top_value * pw;
        fprintf(f,
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>"
                "<rect class=\"bar %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\" "
                "data-value=\"%.1f\"/><text x=\"%.1f\" y=\"%.1f\">%.1f</text>\n",
                left - 6, y + 13, bars[i].label, bars[i].cls, left, y + 2, w, bars[i].value,
                left + w + 4, y + 13, bars[i].value);
    }
    if (n == 4) {
        double x = left + bars[3].value / top_value * pw;
        fprintf(f, "<line class=\"target\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x,
                top - 4, x, H - top + 4);
    }
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left,
            top - 4, left, H - top + 4);
    fputs("</svg>\n<figcaption>图1　全州生产安全事故死亡人数（", f);
    put_window(f, ind);
    fputs("）与控制目标</figcaption>\n</figure>\n", f);
}

static void put_indicator_row(FILE *f, const json_t *r, bool total)
{
    if (total)
        fputs("<tr id=\"indicator-total\"", f);
    else {
        fputs("<tr data-county=\"", f);
        esc(f, str(r, "county"));
        fputs("\"", f);
    }
    fprintf(f,
            " data-deaths=\"%" JSON_INTEGER_FORMAT "\" data-previous=\"%" JSON_INTEGER_FORMAT
            "\"><td>",
            num(r, "deaths"), num(r, "previous_deaths"));
    esc(f, total ? "全州" : county_of(r));
    fprintf(f,
            "</td><td class=\"num\">%" JSON_INTEGER_FORMAT
            "</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td class=\"num\">",
            num(r, "deaths"), num(r, "previous_deaths"));
    put_pct(f, r, "change_vs_previous_pct");
    fputs("</td><td class=\"num\">", f);
    const json_t *base = json_object_get(r, "base_deaths");
    if (json_is_integer(base))
        fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(base));
    else
        fputs("—", f);
    fputs("</td><td class=\"num\">", f);
    put_real1(f, r, "base_deaths_prorated");
    fputs("</td><td class=\"num\">", f);
    put_real1(f, r, "target_deaths_prorated");
    fputs("</td><td>", f);
    const json_t *ok = json_object_get(r, "on_track");
    fputs(json_is_true(ok) ? "进度内" : json_is_false(ok) ? "超出进度" : "—", f);
    fputs("</td></tr>\n", f);
}

static void put_indicators(FILE *f, const json_t *ind)
{
    const json_t *total = json_object_get(ind, "total");
    fprintf(f, "<section id=\"indicators\" data-year=\"%" JSON_INTEGER_FORMAT "\" data-to=\"",
            num(ind, "year"));
    esc(f, str(ind, "to"));
    fputs("\">\n<h2>三、年度指标</h2>\n<p>", f);
    fprintf(f, "%" JSON_INTEGER_FORMAT "年", num(ind, "year"));
    put_window(f, ind);
    json_int_t deaths = num(total, "deaths"), prev = num(total, "previous_deaths");
    fprintf(f, "，全州生产安全事故死亡%" JSON_INTEGER_FORMAT "人", deaths);
    if (num(total, "missing") > 0)
        fprintf(f, "（另有失踪%" JSON_INTEGER_FORMAT "人）", num(total, "missing"));
    fprintf(f, "，去年同期%" JSON_INTEGER_FORMAT "人，", prev);
    const json_t *pct = json_object_get(total, "change_vs_previous_pct");
    if (deaths == prev)
        fputs("与去年同期持平。", f);
    else if (json_is_number(pct))
        fprintf(f, "同比%s%.1f%%。", deaths > prev ? "上升" : "下降",
                deaths > prev ? json_number_value(pct) : -json_number_value(pct));
    else
        fputs("去年同期无死亡。", f);
    const json_t *base = json_object_get(total, "base_deaths");
    json_int_t target_pct = num(ind, "target_reduction_pct");
    if (json_is_integer(base)) {
        fprintf(f,
                "以%" JSON_INTEGER_FORMAT "年死亡%" JSON_INTEGER_FORMAT
                "人为基数，控制目标为下降%" JSON_INTEGER_FORMAT "%%（全年不超过",
                num(ind, "base_year"), json_integer_value(base), target_pct);
        put_real1(f, total, "target_deaths");
        fputs("人）；按时间进度折算，基数为", f);
        put_real1(f, total, "base_deaths_prorated");
        fputs("人、目标为", f);
        put_real1(f, total, "target_deaths_prorated");
        fputs("人", f);
        const json_t *vs_base = json_object_get(total, "change_vs_base_pct");
        if (json_is_number(vs_base)) {
            double v = json_number_value(vs_base);
            fprintf(f, "，较基数%s%.1f%%", v < 0 ? "下降" : "上升", v < 0 ? -v : v);
        }
        const json_t *ok = json_object_get(total, "on_track");
        fprintf(f, "，%s。", json_is_true(ok) ? "控制在进度目标以内" : "超出进度目标");
    } else {
        fprintf(f, "%" JSON_INTEGER_FORMAT "年基数未录入，暂不评估目标进度。",
                num(ind, "base_year"));
    }
    fputs("</p>\n", f);
    put_total_chart(f, ind);
    put_chart(f, ind);
    fputs("<table class=\"indicator-table\">\n<caption>死亡人数控制指标</caption>\n<thead><tr>"
          "<th>县（市）</th><th>本年累计死亡</th><th>去年同期</th><th>同比</th>"
          "<th>2015年基数</th><th>基数（按进度）</th><th>目标（按进度）</th><th>进度</th>"
          "</tr></thead>\n<tbody>\n",
          f);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(ind, "rows"), i, r) put_indicator_row(f, r, false);
    fputs("</tbody>\n<tfoot>", f);
    put_indicator_row(f, total, true);
    fputs("</tfoot>\n</table>\n</section>\n", f);
}

/* ------------------------------------------------------------ the page */

/* Nothing finer than the date of issue: the CLI and the dashboard give the
 * same bytes for the same store on the same day. */
static void put_colophon(FILE *f, const local_time *issued)
{
    fputs("<p class=\"note\">统计口径：事故按发生时间计入所在月份；伤亡变化在事故发生之日起30日内"
          "（道路交通、火灾事故7日内）计入统计，逾期变化只记录、不计入；统计期满仍下落不明的人员"
          "计为死亡；核销事故列出但不计入合计；报送是否按时以首次报送的签名时间认定"
          "（签名时间不可信时以接收时间认定）。金额单位：万元。</p>\n",
          f);
    fputs("<footer class=\"colophon\">\n<p>分送：各县（市）应急管理局。</p>\n", f);
    fprintf(f,
            "<p class=\"printed\"><span>%s（%s）</span><span>%d年%d月%d日印发</span></p>\n"
            "<p class=\"note\">本通报由直报系统据各县（市）签名报送的数据于印发当日生成。</p>\n"
            "</footer>\n",
            ISSUER, ISSUER_HOST, issued->year, issued->month, issued->day);
}

int zb_bulletin_render(const zb_bulletin_input *in, char **html, size_t *len)
{
    *html = NULL;
    *len = 0;
    if (!json_is_array(json_object_get(in->monthly, "rows")) ||
        !json_is_object(json_object_get(in->monthly, "total")) ||
        !json_is_array(json_object_get(in->accidents, "accidents")) ||
        !json_is_object(json_object_get(in->accidents, "totals")) ||
        !json_is_array(json_object_get(in->indicators, "rows")) ||
        !json_is_object(json_object_get(in->indicators, "total")))
        return ZB_EINVAL;
    local_time issued;
    if (in->month < 1 || in->month > 12 || !local_of(in->issued_at, &issued))
        return ZB_EINVAL;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return ZB_ENOMEM;
    put_head(f, in, &issued);
    put_filing(f, in->monthly);
    put_accidents(f, in);
    put_indicators(f, in->indicators);
    put_colophon(f, &issued);
    fputs("</article>\n</body>\n</html>\n", f);
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(buf);
        return ZB_ENOMEM; /* a memory stream fails only for want of memory */
    }
    *html = buf;
    *len = n;
    return ZB_OK;
}

/* ------------------------------------------------------------ from the store */

/* Place and unit name of each accident listed, from the revision in force
 * (its seq in the report): {"COUNTY/ID": {"place", "unit"}}. */
static int details_read(zb_store *s, MDB_txn *txn, const json_t *accidents, json_t **out)
{
    json_t *d = json_object();
    if (!d)
        return ZB_ENOMEM;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(accidents, "accidents"), i, a)
    {
        const char *county = str(a, "county"), *id = str(a, "accident_id");
        json_int_t seq = num(a, "seq");
        if (!county || !id || seq <= 0)
            continue;
        Zb__Report *r;
        int rc = zb_astore_report_get(s, txn, county, (uint64_t)seq, &r);
        if (rc == ZB_ENOTFOUND || rc == ZB_EDECODE)
            continue; /* the index says otherwise: `check` tells; the page shows a dash */
        if (rc) {
            json_decref(d);
            return rc;
        }
        char key[ZB_COUNTY_LEN + 1 + ZB_ACCIDENT_ID_MAX + 8];
        snprintf(key, sizeof key, "%s/%s", county, id);
        const Zb__AccidentReport *acc =
            r->content_case == ZB__REPORT__CONTENT_ACCIDENT ? r->accident : NULL;
        json_t *e = acc ? json_pack("{s:s, s:s}", "place", acc->place ? acc->place : "", "unit",
                                    acc->unit && acc->unit->name ? acc->unit->name : "")
                        : NULL;
        zb__report__free_unpacked(r, NULL);
        if (acc && (!e || json_object_set_new(d, key, e))) {
            json_decref(d);
            return ZB_ENOMEM;
        }
    }
    *out = d;
    return ZB_OK;
}

int zb_bulletin_build(zb_store *s, MDB_txn *txn, int year, int month, int64_t now, char **html,
                      size_t *len)
{
    *html = NULL;
    *len = 0;
    if (month < 1 || month > 12)
        return ZB_EINVAL;
    int64_t start, end;
    zb_period_bounds(year, month, &start, &end);
    local_time last;
    if (!local_of(end - 1, &last))
        return ZB_EINVAL;
    char from_s[48], to_s[48]; /* room for any int, so nothing can be cut */
    if (snprintf(from_s, sizeof from_s, "%04d-%02d-01", year, month) >= (int)sizeof from_s ||
        snprintf(to_s, sizeof to_s, "%04d-%02d-%02d", last.year, last.month, last.day) >=
            (int)sizeof to_s)
        return ZB_EINVAL;
    json_t *monthly = NULL, *accidents = NULL, *indicators = NULL, *details = NULL;
    int rc;
    /* the indicators of the year up to the end of the period (a bulletin
     * of March gives January to March, whenever it is issued), counted at
     * now as the accidents are: the two sections agree */
    if ((rc = zb_consolidate_monthly(s, txn, year, month, now, &monthly)) ||
        (rc = zb_consolidate_accidents(s, txn, start, end, from_s, to_s, now, &accidents)) ||
        (rc =
             zb_consolidate_indicators_to(s, txn, year, now < end ? now : end, now, &indicators)) ||
        (rc = details_read(s, txn, accidents, &details)))
        goto done;
    zb_bulletin_input in = {year, month, now, monthly, accidents, indicators, details};
    rc = zb_bulletin_render(&in, html, len);
done:
    json_decref(monthly);
    json_decref(accidents);
    json_decref(indicators);
    json_decref(details);
    return rc;
}
