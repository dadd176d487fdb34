/*
 * test_render.c - the reports' table, CSV and workbook in the chosen
 * language (render.h, xlsx.h): each kind of cell in English and Chinese
 * (labels, money in 万元 rounded half up, yes/no, flags, the total rows),
 * the CSV's byte order mark and headings, the json unchanged by the
 * language, the layouts' tables, and the workbook written whole or not at
 * all. The workbook's cells are checked with openpyxl in
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
    char magic[4] = {0};
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_memory_equal(magic, "PK\x03\x04", 4); /* a zip: the workbook */
    assert_int_equal(access(tmp, F_OK), -1);

    assert_int_equal(zb_xlsx_write(bad, "monthly", doc), ZB_EIO);
    assert_int_equal(zb_xlsx_write(path, "weekly", doc), ZB_EINVAL);
    assert_int_equal(access(tmp, F_OK), -1);
    f = fopen(path, "rb"); /* the last good one stays */
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_memory_equal(magic, "PK\x03\x04", 4);

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
        cmocka_unit_test(test_xlsx_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
