/*
 * test_render.c - the reports' table, CSV and workbook in the chosen
 * language (render.h, xlsx.h): each kind of cell in English and Chinese
 * (labels, money in 万元 rounded half up, yes/no, flags, the total rows),
 * the CSV's byte order mark and headings, the json unchanged by the
 * language, the layouts' tables, a province's monthly report (its
 * prefectures' summaries and their counties) and the accidents' prefecture
 * and forwarding columns of the upward relay, and the workbook written
 * whole or not at all. The workbook's cells are checked with openpyxl in
 * tests/system/report_xlsx.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "i18n.h"
#include "render.h"
#include "xlsx.h"

static const char *const MONTHLY_DOC =
    "{\"period\": \"2026-10\", \"deadline\": \"2026-11-05T23:59:59+08:00\","
    " \"deadline_moved\": false, \"deadline_passed\": true,"
    " \"rows\": [{\"county\": \"222401\", \"name\": \"延吉市\", \"status\": \"late\","
    "   \"created_at\": \"2026-11-06T08:00:00+08:00\", \"received_at\": "
    "\"2026-11-06T08:00:05+08:00\","
    "   \"clock_suspect\": false, \"version\": 1, \"penalties_yuan\": 123456,"
    "   \"accident_direct_loss_yuan\": null, \"review\": \"accepted\"},"
    "  {\"county\": \"222403\", \"name\": \"敦化市\", \"status\": \"missing\", \"created_at\": "
    "null,"
    "   \"clock_suspect\": false, \"version\": 0, \"penalties_yuan\": null, \"review\": null}],"
    " \"total\": {\"county\": \"total\", \"name\": \"\", \"counties\": 2, \"on_time\": 0,"
    "   \"late\": 1, \"missing\": 1, \"version\": 1, \"penalties_yuan\": 123456,"
    "   \"counties_reporting\": {\"penalties_yuan\": 1}}}";

/* A province's monthly report (province.c zb_province_monthly): one
 * prefecture filed its summary late, another none. */
static const char *const PROVINCE_MONTHLY_DOC =
    "{\"period\": \"2026-10\", \"level\": \"province\","
    " \"deadline\": \"2026-11-05T23:59:59+08:00\","
    " \"summary_deadline\": \"2026-11-10T23:59:59+08:00\", \"deadline_passed\": true,"
    " \"totals\": {\"on_time\": 0, \"late\": 1, \"missing\": 1},"
    " \"prefectures\": ["
    "  {\"prefecture\": \"222400\", \"status\": \"late\","
    "   \"created_at\": \"2026-11-11T09:00:00+08:00\", \"received_at\": "
    "\"2026-11-11T09:00:02+08:00\","
    "   \"summaries\": 2, \"latest_seq\": 7, \"counties\": 2, \"on_time\": 1, \"late\": 0,"
    "   \"missing\": 1},"
    "  {\"prefecture\": \"220200\", \"status\": \"missing\", \"created_at\": null,"
    "   \"received_at\": null, \"summaries\": 0, \"latest_seq\": null, \"counties\": 0}],"
    " \"rows\": ["
    "  {\"prefecture\": \"222400\", \"county\": \"222401\", \"name\": \"延吉市\","
    "   \"status\": \"on_time\", \"versions\": 2, \"seq\": 12,"
    "   \"first_created_at\": \"2026-11-03T10:00:00+08:00\", \"tasks_done\": 1,"
    "   \"tasks_in_progress\": 2, \"tasks_not_started\": 0, \"inspections\": 11,"
    "   \"penalties_yuan\": 123456, \"accident_direct_loss_yuan\": null},"
    "  {\"prefecture\": \"222400\", \"county\": \"222403\", \"name\": \"敦化市\","
    "   \"status\": \"missing\", \"versions\": 0, \"seq\": null, \"first_created_at\": null,"
    "   \"tasks_done\": 0, \"tasks_in_progress\": 0, \"tasks_not_started\": 0,"
    "   \"inspections\": null, \"penalties_yuan\": null}]}";

/* accidents, one row, with extra members (a JSON object's members, or ""),
 * malloc'd */
static char *accidents_doc(const char *extra)
{
    static const char fmt[] =
        "{\"from\": \"2026-10-01\", \"to\": \"2026-10-31\", \"now\": "
        "\"2026-11-01T00:00:00+08:00\", \"grade_rule\": \"missing_counted_as_dead\","
        " \"accidents\": [{\"county\": \"222401\", \"name\": \"延吉市\", "
        "\"accident_id\": \"A-3\", \"revision\": 1, \"occurred_at\": "
        "\"2026-10-14T08:30:00+08:00\", \"industry\": \"construction\", \"grade\": "
        "\"larger\", \"max_grade\": \"larger\", \"counted_deaths\": 3, \"report_to\": "
        "\"province\", \"counted\": true, \"flags\": []%s}],"
        " \"totals\": {\"accidents\": 1, \"listed\": 1, \"by_county\": {}, "
        "\"by_industry\": {}, \"by_grade\": {}}}";
    size_t len = sizeof fmt + strlen(extra);
    char *text = malloc(len);
    assert_non_null(text);
    int n = snprintf(text, len, fmt, extra);
    assert_true(n > 0 && (size_t)n < len);
    return text;
}

static json_t *doc_of(const char *text)
{
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    assert_non_null(doc);
    return doc;
}

/* doc printed in fmt, as a malloc'd string */
static char *printed(const char *kind, const json_t *doc, zb_format fmt)
{
    /* the stream's pointers on the heap: with them on this frame, gcc 12
     * at -O2 takes the result for a pointer into the frame
     * (-Wdangling-pointer) */
    struct {
        char *buf;
        size_t len;
    } *m = calloc(1, sizeof *m);
    assert_non_null(m);
    FILE *f = open_memstream(&m->buf, &m->len);
    assert_non_null(f);
    assert_int_equal(zb_render_print(f, kind, doc, fmt), 0);
    fclose(f);
    char *buf = m->buf;
    free(m);
    return buf;
}

/* the cell text of JSON text v, kind k, fmt f: compared with want */
static void cell_is(const char *v, zb_cell_kind k, zb_format f, const char *want)
{
    json_t *j = json_loads(v, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    char *s = zb_render_cell_text(j, k, f);
    assert_non_null(s);
    assert_string_equal(s, want);
    free(s);
    json_decref(j);
}

static void test_cells_en(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    cell_is("\"late\"", ZB_CELL_LABEL, ZB_FORMAT_TABLE, "late");
    cell_is("\"state_council\"", ZB_CELL_LABEL, ZB_FORMAT_CSV, "state_council");
    cell_is("123456", ZB_CELL_MONEY, ZB_FORMAT_TABLE, "123456");
    cell_is("0.5", ZB_CELL_NUMBER, ZB_FORMAT_TABLE, "0.5");
    cell_is("true", ZB_CELL_BOOL, ZB_FORMAT_TABLE, "yes");
    cell_is("false", ZB_CELL_BOOL, ZB_FORMAT_TABLE, "");
    cell_is("false", ZB_CELL_YESNO, ZB_FORMAT_TABLE, "no");
    cell_is("false", ZB_CELL_YESNO, ZB_FORMAT_CSV, "false");
    cell_is("true", ZB_CELL_BOOL, ZB_FORMAT_CSV, "true");
    cell_is("null", ZB_CELL_NUMBER, ZB_FORMAT_TABLE, "-");
    cell_is("null", ZB_CELL_NUMBER, ZB_FORMAT_CSV, "");
    cell_is("[\"grade_rose\", \"times_corrected\"]", ZB_CELL_FLAGS, ZB_FORMAT_TABLE,
            "grade_rose,times_corrected");
    cell_is("\"total\"", ZB_CELL_COUNTY, ZB_FORMAT_TABLE, "total");
}

static void test_cells_zh(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    cell_is("\"late\"", ZB_CELL_LABEL, ZB_FORMAT_TABLE, "迟报");
    cell_is("\"on_time\"", ZB_CELL_LABEL, ZB_FORMAT_CSV, "按时");
    cell_is("\"missing\"", ZB_CELL_LABEL, ZB_FORMAT_XLSX, "未报");
    cell_is("\"larger\"", ZB_CELL_LABEL, ZB_FORMAT_TABLE, "较大");
    cell_is("\"province\"", ZB_CELL_LABEL, ZB_FORMAT_TABLE, "省应急管理厅");
    cell_is("\"construction\"", ZB_CELL_LABEL, ZB_FORMAT_TABLE, "建筑施工");
    cell_is("\"supplement\"", ZB_CELL_LABEL, ZB_FORMAT_TABLE, "续报");
    /* 万元, two decimals, half up */
    cell_is("123456", ZB_CELL_MONEY, ZB_FORMAT_TABLE, "12.35");
    cell_is("5050", ZB_CELL_MONEY, ZB_FORMAT_CSV, "0.51");
    cell_is("49", ZB_CELL_MONEY, ZB_FORMAT_TABLE, "0.00");
    cell_is("123456", ZB_CELL_NUMBER, ZB_FORMAT_TABLE, "123456"); /* a count stays a count */
    cell_is("true", ZB_CELL_BOOL, ZB_FORMAT_TABLE, "是");
    cell_is("false", ZB_CELL_BOOL, ZB_FORMAT_TABLE, "");
    cell_is("false", ZB_CELL_YESNO, ZB_FORMAT_TABLE, "否");
    cell_is("false", ZB_CELL_BOOL, ZB_FORMAT_CSV, "否");
    cell_is("[\"grade_rose\", \"times_corrected\"]", ZB_CELL_FLAGS, ZB_FORMAT_TABLE,
            "等级上升,时间有更正");
    cell_is("\"total\"", ZB_CELL_COUNTY, ZB_FORMAT_TABLE, "合计");
    cell_is("\"reporting\"", ZB_CELL_COUNTY, ZB_FORMAT_CSV, "报送县数");
    cell_is("\"222401\"", ZB_CELL_COUNTY, ZB_FORMAT_TABLE, "222401");
    cell_is("\"2026-10\"", ZB_CELL_TEXT, ZB_FORMAT_TABLE, "2026-10");
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
}

static void test_monthly_both_languages(void **state)
{
    (void)state;
    json_t *doc = doc_of(MONTHLY_DOC);

    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    char *csv_en = printed("monthly", doc, ZB_FORMAT_CSV);
    char *json_en = printed("monthly", doc, ZB_FORMAT_JSON);
    char *table_en = printed("monthly", doc, ZB_FORMAT_TABLE);
    assert_memory_equal(csv_en, "county,name,status,created_at,", 30); /* no BOM */
    assert_non_null(strstr(csv_en, "\r\n222401,延吉市,late,2026-11-06T08:00:00+08:00,"));
    assert_non_null(strstr(csv_en, ",123456,"));
    assert_non_null(strstr(csv_en, ",accepted\r\n"));
    assert_non_null(strstr(table_en, "STATUS"));
    assert_non_null(strstr(table_en, "period 2026-10, deadline 2026-11-05T23:59:59+08:00: 0 on "
                                     "time, 1 late, 1 missing of 2 counties"));

    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    char *csv_zh = printed("monthly", doc, ZB_FORMAT_CSV);
    char *json_zh = printed("monthly", doc, ZB_FORMAT_JSON);
    char *table_zh = printed("monthly", doc, ZB_FORMAT_TABLE);
    assert_memory_equal(csv_zh, "\xEF\xBB\xBF区划代码,县市,报送状态,填报时间,",
                        strlen("\xEF\xBB\xBF区划代码,县市,报送状态,填报时间,"));
    assert_non_null(strstr(csv_zh, "\r\n222401,延吉市,迟报,2026-11-06T08:00:00+08:00,"));
    assert_non_null(strstr(csv_zh, ",12.35,"));
    assert_non_null(strstr(csv_zh, ",已签收\r\n"));
    assert_non_null(strstr(csv_zh, "\r\n合计,"));
    /* the reporting row counts counties: 1, not 0.00 万元 */
    const char *rep = strstr(csv_zh, "\r\n报送县数,");
    assert_non_null(rep);
    assert_non_null(strstr(rep, ",1,"));
    assert_null(strstr(rep, "0.00"));
    assert_non_null(strstr(table_zh, "报送状态"));
    assert_non_null(strstr(table_zh, "罚款(万元)"));
    assert_non_null(strstr(table_zh, "迟报"));
    assert_non_null(strstr(table_zh, "按时 0 个，迟报 1 个，未报 1 个，共 2 个县市"));
    assert_null(strstr(table_zh, "late"));

    /* the json never changes with the language */
    assert_string_equal(json_en, json_zh);
    /* a workbook is never printed */
    FILE *f = fopen("/dev/null", "w");
    assert_non_null(f);
    assert_int_equal(zb_render_print(f, "monthly", doc, ZB_FORMAT_XLSX), ZB_EINVAL);
    fclose(f);

    free(csv_en);
    free(json_en);
    free(table_en);
    free(csv_zh);
    free(json_zh);
    free(table_zh);
    json_decref(doc);
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
}

static void test_layouts(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    json_t *acc =
        doc_of("{\"from\": \"2026-10-01\", \"to\": \"2026-10-31\", \"now\": "
               "\"2026-11-01T00:00:00+08:00\", \"grade_rule\": \"missing_counted_as_dead\","
               " \"accidents\": [], \"totals\": {\"accidents\": 0, \"listed\": 0,"
               " \"by_county\": {}, \"by_industry\": {}, \"by_grade\": {\"general\":"
               " {\"accidents\": 0, \"deaths\": 0, \"missing\": 0}}}}");
    json_t *mx =
        doc_of("{\"periods\": [\"2026-09\", \"2026-10\"], \"rows\": [{\"county\": "
               "\"222401\", \"name\": \"延吉市\", \"2026-09\": \"missing\", \"2026-10\": "
               "\"on_time\"}], \"totals\": {\"2026-09\": {\"on_time\": 0, \"late\": 0, "
               "\"missing\": 1}, \"2026-10\": {\"on_time\": 1, \"late\": 0, \"missing\": 0}}}");
    zb_render_layout l;
    assert_int_equal(zb_render_layout_build("accidents", acc, ZB_FORMAT_XLSX, &l), 0);
    assert_int_equal(l.n_tables, 4);
    assert_string_equal(l.tables[0].title, "accidents");
    assert_string_equal(l.tables[3].title, "by grade");
    assert_string_equal(l.tables[3].cols[0].head, "GRADE");
    assert_non_null(strstr(l.notes, "0 accident(s) counted of 0 listed"));
    zb_render_layout_free(&l);
    assert_int_equal(zb_render_layout_build("accidents", acc, ZB_FORMAT_CSV, &l), 0);
    assert_int_equal(l.n_tables, 1);
    assert_string_equal(l.tables[0].cols[0].head, "county"); /* English CSV: the JSON's names */
    assert_string_equal(l.notes, "");
    zb_render_layout_free(&l);
    assert_int_equal(zb_render_layout_build("matrix", mx, ZB_FORMAT_XLSX, &l), 0);
    assert_int_equal(l.n_tables, 2); /* the counts by month too */
    assert_int_equal(json_array_size(l.tables[1].rows), 2);
    zb_render_layout_free(&l);
    assert_int_equal(zb_render_layout_build("matrix", mx, ZB_FORMAT_TABLE, &l), 0);
    assert_int_equal(l.n_tables, 1);
    zb_render_layout_free(&l);
    assert_int_equal(zb_render_layout_build("matrix", mx, ZB_FORMAT_JSON, &l), ZB_EINVAL);
    zb_render_layout_free(&l);
    assert_int_equal(zb_render_layout_build("weekly", mx, ZB_FORMAT_TABLE, &l), ZB_EINVAL);
    zb_render_layout_free(&l);

    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    assert_int_equal(zb_render_layout_build("accidents", acc, ZB_FORMAT_CSV, &l), 0);
    assert_string_equal(l.tables[0].cols[0].head, "区划代码");
    assert_string_equal(l.tables[0].cols[13].head, "直接经济损失(万元)");
    zb_render_layout_free(&l);
    assert_int_equal(zb_render_layout_build("matrix", mx, ZB_FORMAT_XLSX, &l), 0);
    assert_string_equal(l.tables[0].title, "逐月报送");
    assert_string_equal(l.tables[0].cols[2].head, "2026-09");
    zb_render_layout_free(&l);
    /* the Chinese matrix table: labels, aligned by display width */
    char *t = printed("matrix", mx, ZB_FORMAT_TABLE);
    assert_string_equal(t, "区划代码  县市    2026-09  2026-10\n"
                           "222401    延吉市  未报     按时\n");
    free(t);
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    json_decref(acc);
    json_decref(mx);
}

/* The first line of text (a table's headings), malloc'd. */
static char *first_line(const char *text)
{
    return strndup(text, strcspn(text, "\n"));
}

static void test_province_monthly(void **state)
{
    (void)state;
    json_t *doc = doc_of(PROVINCE_MONTHLY_DOC);

    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    char *table = printed("monthly", doc, ZB_FORMAT_TABLE);
    /* the prefectures, the notes, then the counties under their title */
    assert_string_equal(
        strstr(table, "PREFECTURE"),
        strstr(table, "PREFECTURE  STATUS   SUMMARIES  CREATED                    RECEIVED"));
    assert_memory_equal(table, "PREFECTURE  STATUS   SUMMARIES", 30);
    assert_non_null(strstr(table, "\n222400      late             2  2026-11-11T09:00:00+08:00"));
    assert_non_null(strstr(table, "\n220200      missing          0  -"));
    assert_non_null(strstr(table, "period 2026-10, the counties' deadline 2026-11-05T23:59:59+08:00, "
                                  "the prefectures' summaries due 2026-11-10T23:59:59+08:00: 0 on "
                                  "time, 1 late, 1 missing of 2 prefectures"));
    assert_non_null(strstr(table, "counties in each prefecture's latest summary: 1 on time, 0 "
                                  "late, 1 missing of 2"));
    const char *counties = strstr(table, "\ncounties by prefecture:\nPREFECTURE  COUNTY  NAME    "
                                         "STATUS   VER  CREATED");
    assert_non_null(counties);
    assert_non_null(strstr(counties, "\n222400      222401  延吉市  on_time    2  "
                                     "2026-11-03T10:00:00+08:00"));
    assert_null(strstr(table, "CLOCK?")); /* not the county monthly layout */
    assert_null(strstr(table, "reporting"));

    /* CSV: both tables, an empty line between; English headings are the JSON's names */
    char *csv = printed("monthly", doc, ZB_FORMAT_CSV);
    assert_memory_equal(csv,
                        "prefecture,status,summaries,created_at,received_at,counties,on_time,"
                        "late,missing\r\n222400,late,2,2026-11-11T09:00:00+08:00,"
                        "2026-11-11T09:00:02+08:00,2,1,0,1\r\n220200,missing,0,,,0,,,\r\n\r\n"
                        "prefecture,county,name,status,versions,first_created_at,tasks_done,",
                        strlen("prefecture,status,summaries,created_at,received_at,counties,"
                               "on_time,late,missing\r\n222400,late,2,2026-11-11T09:00:00+08:00,"
                               "2026-11-11T09:00:02+08:00,2,1,0,1\r\n220200,missing,0,,,0,,,"
                               "\r\n\r\nprefecture,county,name,status,versions,first_created_at,"
                               "tasks_done,"));
    assert_non_null(strstr(csv, "\r\n222400,222401,延吉市,on_time,2,2026-11-03T10:00:00+08:00,1,"
                                "2,0,11,"));
    assert_non_null(strstr(csv, ",123456,"));
    char *json_en = printed("monthly", doc, ZB_FORMAT_JSON);

    zb_render_layout l;
    assert_int_equal(zb_render_layout_build("monthly", doc, ZB_FORMAT_XLSX, &l), 0);
    assert_int_equal(l.n_tables, 2);
    assert_string_equal(l.tables[0].title, "prefecture summaries");
    assert_string_equal(l.tables[1].title, "counties by prefecture");
    assert_int_equal(json_array_size(l.tables[0].rows), 2);
    assert_int_equal(json_array_size(l.tables[1].rows), 2);
    assert_string_equal(l.tables[1].cols[0].key, "prefecture");
    assert_non_null(strstr(l.notes, "of 2 prefectures"));
    zb_render_layout_free(&l);

    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    char *table_zh = printed("monthly", doc, ZB_FORMAT_TABLE);
    char *head = first_line(table_zh);
    assert_string_equal(head, "州市    报送状态  汇总份数  填报时间                   接收时间       "
                              "            县市数  按时  迟报  未报");
    free(head);
    assert_non_null(strstr(table_zh, "\n222400  迟报             2  2026-11-11T09:00:00+08:00"));
    assert_non_null(strstr(table_zh, "按时 0 个，迟报 1 个，未报 1 个，共 2 个州市"));
    assert_non_null(strstr(table_zh, "各州最新汇总中的县市：按时 1 个，迟报 0 个，未报 1 个，共 2 个"));
    assert_non_null(strstr(table_zh, "\n各州县市:\n州市    区划代码  县市    报送状态  版本"));
    assert_non_null(strstr(table_zh, "罚款(万元)"));
    assert_non_null(strstr(table_zh, "12.35"));
    assert_null(strstr(table_zh, "late"));
    char *csv_zh = printed("monthly", doc, ZB_FORMAT_CSV);
    assert_memory_equal(csv_zh, "\xEF\xBB\xBF州市,报送状态,汇总份数,填报时间,接收时间,县市数,按时,迟报,未报\r\n",
                        strlen("\xEF\xBB\xBF州市,报送状态,汇总份数,填报时间,接收时间,县市数,按时,"
                               "迟报,未报\r\n"));
    assert_non_null(strstr(csv_zh, "\r\n\r\n州市,区划代码,县市,报送状态,版本,"));
    assert_non_null(strstr(csv_zh, "\r\n222400,222403,敦化市,未报,0,"));
    assert_int_equal(zb_render_layout_build("monthly", doc, ZB_FORMAT_XLSX, &l), 0);
    assert_string_equal(l.tables[0].title, "各州月度汇总");
    assert_string_equal(l.tables[1].title, "各州县市");
    zb_render_layout_free(&l);
    /* the json never changes with the language */
    char *json_zh = printed("monthly", doc, ZB_FORMAT_JSON);
    assert_string_equal(json_en, json_zh);

    free(table);
    free(csv);
    free(json_en);
    free(table_zh);
    free(csv_zh);
    free(json_zh);
    json_decref(doc);
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
}

/* The index of the column of l's first table with key, or -1. */
static int col_of(const zb_render_layout *l, const char *key)
{
    for (size_t i = 0; i < l->tables[0].n_cols; i++)
        if (strcmp(l->tables[0].cols[i].key, key) == 0)
            return (int)i;
    return -1;
}

static void test_accidents_relay_columns(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    char *plain_text = accidents_doc(", \"prefecture\": null");
    char *province_text = accidents_doc(", \"prefecture\": \"222400\"");
    char *forward_text = accidents_doc(
        ", \"prefecture\": null, \"forward_required\": true, \"forward_required_at\": "
        "\"2026-10-14T09:00:00+08:00\", \"forwarded_at\": \"2026-10-14T12:00:00+08:00\", "
        "\"forward_late\": true");
    json_t *plain = doc_of(plain_text), *province = doc_of(province_text),
           *forward = doc_of(forward_text);
    zb_render_layout l;

    /* a prefecture without an upstream: the columns as they always were */
    assert_int_equal(zb_render_layout_build("accidents", plain, ZB_FORMAT_XLSX, &l), 0);
    assert_int_equal(l.tables[0].n_cols, 17);
    assert_int_equal(col_of(&l, "prefecture"), -1);
    assert_int_equal(col_of(&l, "forwarded_at"), -1);
    assert_null(strstr(l.notes, "FORWARDED"));
    zb_render_layout_free(&l);

    /* a province: the prefecture first (last in CSV) */
    char *table = printed("accidents", province, ZB_FORMAT_TABLE);
    assert_memory_equal(table, "PREFECTURE  COUNTY  NAME    ACCIDENT", 36);
    assert_memory_equal(strchr(table, '\n'), "\n222400      222401  延吉市  A-3", 34);
    char *csv = printed("accidents", province, ZB_FORMAT_CSV);
    char *head = first_line(csv);
    assert_string_equal(head + strlen(head) - strlen(",flags,prefecture\r"), ",flags,prefecture\r");
    free(head);
    assert_non_null(strstr(csv, ",222400\r\n"));
    assert_int_equal(zb_render_layout_build("accidents", province, ZB_FORMAT_XLSX, &l), 0);
    assert_int_equal(col_of(&l, "prefecture"), 0);
    assert_int_equal(col_of(&l, "county"), 1);
    zb_render_layout_free(&l);
    free(table);
    free(csv);

    /* a prefecture with an upstream: FORWARDED and LATE beside REPORT-TO in
     * the table; all four in the workbook; last in CSV */
    assert_int_equal(zb_render_layout_build("accidents", forward, ZB_FORMAT_TABLE, &l), 0);
    int report_to = col_of(&l, "report_to");
    assert_true(report_to > 0);
    assert_int_equal(col_of(&l, "forwarded_at"), report_to + 1);
    assert_int_equal(col_of(&l, "forward_late"), report_to + 2);
    assert_int_equal(col_of(&l, "forward_required"), -1);
    assert_int_equal(col_of(&l, "prefecture"), -1);
    assert_non_null(strstr(l.notes, "FORWARDED: when the province acknowledged"));
    zb_render_layout_free(&l);
    assert_int_equal(zb_render_layout_build("accidents", forward, ZB_FORMAT_XLSX, &l), 0);
    assert_int_equal(col_of(&l, "forward_required"), report_to + 1);
    assert_int_equal(col_of(&l, "forward_required_at"), report_to + 2);
    assert_int_equal(col_of(&l, "forwarded_at"), report_to + 3);
    assert_int_equal(col_of(&l, "forward_late"), report_to + 4);
    zb_render_layout_free(&l);
    table = printed("accidents", forward, ZB_FORMAT_TABLE);
    head = first_line(table);
    assert_non_null(strstr(head, "REPORT-TO  FORWARDED                  LATE  COUNTED"));
    free(head);
    assert_non_null(strstr(table, "province   2026-10-14T12:00:00+08:00  yes   yes"));
    csv = printed("accidents", forward, ZB_FORMAT_CSV);
    head = first_line(csv);
    assert_non_null(strstr(head, ",report_to,counted,flags,forward_required,forward_required_at,"
                                 "forwarded_at,forward_late\r"));
    free(head);
    assert_non_null(strstr(csv, ",province,true,,true,2026-10-14T09:00:00+08:00,"
                                "2026-10-14T12:00:00+08:00,true\r\n"));
    free(table);
    free(csv);

    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    table = printed("accidents", forward, ZB_FORMAT_TABLE);
    head = first_line(table);
    assert_non_null(strstr(head, "上报至        报省时间                   迟报  计入统计"));
    free(head);
    assert_non_null(strstr(table, "“报省时间”：省应急管理厅确认收到"));
    csv = printed("accidents", forward, ZB_FORMAT_CSV);
    assert_non_null(strstr(csv, ",提示,须报省,须报省时间,报省时间,迟报\r\n"));
    free(table);
    free(csv);
    table = printed("accidents", province, ZB_FORMAT_TABLE);
    assert_memory_equal(table, "州市    区划代码", strlen("州市    区划代码"));
    free(table);

    json_decref(plain);
    json_decref(province);
    json_decref(forward);
    free(plain_text);
    free(province_text);
    free(forward_text);
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
}

/* path holds a workbook: a zip file. */
static void assert_workbook(const char *path)
{
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_memory_equal(magic, "PK\x03\x04", 4);
}

static void test_xlsx_atomic(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    char dir[] = "/tmp/zb-render-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], tmp[270], bad[300];
    snprintf(path, sizeof path, "%s/m.xlsx", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(bad, sizeof bad, "%s/no/such/m.xlsx", dir);
    json_t *doc = doc_of(MONTHLY_DOC);

    FILE *f = fopen(path, "w"); /* an older file, replaced whole */
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    assert_int_equal(zb_xlsx_write(path, "monthly", doc), 0);
    assert_workbook(path);
    assert_int_equal(access(tmp, F_OK), -1);

    assert_int_equal(zb_xlsx_write(bad, "monthly", doc), ZB_EIO);
    assert_int_equal(zb_xlsx_write(path, "weekly", doc), ZB_EINVAL);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_workbook(path); /* the last good one stays */

    /* --out for the other formats: the same bytes as printed */
    assert_int_equal(zb_render_write_file(path, "monthly", doc, ZB_FORMAT_CSV), 0);
    char *want = printed("monthly", doc, ZB_FORMAT_CSV);
    char got[4096] = {0};
    f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    fclose(f);
    assert_int_equal(n, strlen(want));
    assert_string_equal(got, want);
    free(want);
    assert_int_equal(zb_render_write_file(path, "monthly", doc, ZB_FORMAT_XLSX), ZB_EINVAL);

    unlink(path);
    rmdir(dir);
    json_decref(doc);
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells_en),
        cmocka_unit_test(test_cells_zh),
        cmocka_unit_test(test_monthly_both_languages),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_province_monthly),
        cmocka_unit_test(test_accidents_relay_columns),
        cmocka_unit_test(test_xlsx_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
