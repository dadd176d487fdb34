/*
 * test_bulletin.c - the monthly bulletin (bulletin.h): the page rendered
 * from hand-made report documents (every text from the store escaped, the
 * counties in their filing groups, the totals, 万元, the CSP hash of its
 * stylesheet, the same bytes for the same input, a document without what
 * the page needs refused), the period's checks in both dialects, and the
 * dashboard's /bulletin (zb_web_answer) on a real empty store: 200
 * text/html, 400 and 401 as JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg.h"
#include "bulletin.h"
#include "crypto.h"
#include "err.h"
#include "timefmt.h"
#include "web.h"

/* 2026-12-01T10:00:00+08:00 */
#define ISSUED 1796090400

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s at %d", e.text, e.position);
    return j;
}

static const char MONTHLY[] =
    "{\"period\": \"2026-10\", \"deadline\": \"2026-11-09T23:59:59+08:00\","
    " \"deadline_moved\": true, \"deadline_passed\": true,"
    " \"rows\": ["
    "  {\"county\": \"222401\", \"name\": \"延吉市\", \"status\": \"on_time\","
    "   \"first_created_at\": \"2026-11-03T09:12:00+08:00\", \"version\": 1, \"clock_flags\": [],"
    "   \"review\": \"accepted\", \"review_comment\": null},"
    "  {\"county\": \"222402\", \"name\": \"<i>图们</i>&\\\"'\", \"status\": \"late\","
    "   \"first_created_at\": \"2026-11-10T08:05:00+08:00\", \"version\": 2, \"clock_flags\": [],"
    "   \"review\": \"returned\", \"review_comment\": \"<script>x</script>\"},"
    "  {\"county\": \"222403\", \"name\": \"敦化市\", \"status\": \"missing\","
    "   \"first_created_at\": null, \"version\": 0, \"clock_flags\": [], \"review\": null}"
    " ],"
    " \"total\": {\"counties\": 3, \"on_time\": 1, \"late\": 1, \"missing\": 1}}";

static const char ACCIDENTS[] =
    "{\"from\": \"2026-10-01\", \"to\": \"2026-10-31\","
    " \"accidents\": ["
    "  {\"county\": \"222401\", \"name\": \"延吉市\", \"accident_id\": \"A-1\", \"seq\": 2,"
    "   \"occurred_at\": \"2026-10-14T08:30:00+08:00\", \"industry\": \"construction\","
    "   \"category\": \"lifting_injury\", \"stage\": \"initial\", \"grade\": \"larger\","
    "   \"max_grade\": \"serious\", \"counted_deaths\": 3, \"counted_missing\": 1,"
    "   \"counted_serious_injuries\": 2, \"counted_direct_loss_yuan\": 12350,"
    "   \"written_off\": false, \"write_off_reason\": null, \"counted\": true},"
    "  {\"county\": \"222402\", \"name\": \"图们市\", \"accident_id\": \"W-1\", \"seq\": 5,"
    "   \"occurred_at\": \"2026-10-03T14:00:00+08:00\", \"industry\": \"other\","
    "   \"category\": \"other_injury\", \"stage\": \"write_off\", \"grade\": \"general\","
    "   \"max_grade\": \"general\", \"counted_deaths\": 1, \"counted_missing\": 0,"
    "   \"counted_serious_injuries\": 0, \"counted_direct_loss_yuan\": 999999,"
    "   \"written_off\": true, \"write_off_reason\": \"山体滑坡 <非生产>\", \"counted\": false}"
    " ],"
    " \"totals\": {\"accidents\": 1, \"listed\": 2,"
    "  \"by_county\": {\"222401\": {\"accidents\": 1, \"deaths\": 3, \"missing\": 1}},"
    "  \"by_industry\": {\"construction\": {\"accidents\": 1, \"deaths\": 3, \"missing\": 1}},"
    "  \"by_grade\": {\"general\": {\"accidents\": 0, \"deaths\": 0, \"missing\": 0},"
    "   \"larger\": {\"accidents\": 1, \"deaths\": 3, \"missing\": 1},"
    "   \"serious\": {\"accidents\": 0, \"deaths\": 0, \"missing\": 0},"
    "   \"especially_serious\": {\"accidents\": 0, \"deaths\": 0, \"missing\": 0}}}}";

static const char INDICATORS[] =
    "{\"year\": 2026, \"to\": \"2026-11-01T00:00:00+08:00\", \"base_year\": 2015,"
    " \"target_reduction_pct\": 20,"
    " \"rows\": [{\"county\": \"222401\", \"name\": \"延吉市\", \"deaths\": 3,"
    "   \"previous_deaths\": 4, \"change_vs_previous_pct\": -25.0, \"base_deaths\": null,"
    "   \"base_deaths_prorated\": null, \"target_deaths_prorated\": null, \"on_track\": null}],"
    " \"total\": {\"deaths\": 3, \"missing\": 1, \"previous_deaths\": 4,"
    "   \"change_vs_previous_pct\": -25.0, \"base_deaths\": 60, \"base_deaths_prorated\": 50.0,"
    "   \"target_deaths\": 48.0, \"target_deaths_prorated\": 40.0, \"change_vs_base_pct\": -94.0,"
    "   \"on_track\": true}}";

static const char DETAILS[] = "{\"222401/A-1\": {\"place\": \"北山 \\\"A&B\\\" 'C'\", \"unit\": "
                              "\"<script>alert(1)</script>\"}}";

typedef struct {
    json_t *monthly, *accidents, *indicators, *details;
    char *html;
    size_t len;
} page;

static page render(void)
{
    page p = {load(MONTHLY), load(ACCIDENTS), load(INDICATORS), load(DETAILS), NULL, 0};
    zb_bulletin_input in = {2026, 10, ISSUED, p.monthly, p.accidents, p.indicators, p.details};
    assert_int_equal(zb_bulletin_render(&in, &p.html, &p.len), ZB_OK);
    assert_int_equal(strlen(p.html), p.len);
    return p;
}

static void page_free(page *p)
{
    json_decref(p->monthly);
    json_decref(p->accidents);
    json_decref(p->indicators);
    json_decref(p->details);
    free(p->html);
}

#define HAS(p, s)                                                                                  \
    do {                                                                                           \
        if (!strstr((p).html, (s)))                                                                \
            fail_msg("not in the page: %s", (s));                                                  \
    } while (0)
#define HASNT(p, s)                                                                                \
    do {                                                                                           \
        if (strstr((p).html, (s)))                                                                 \
            fail_msg("in the page: %s", (s));                                                      \
    } while (0)

static void test_document(void **state)
{
    (void)state;
    page p = render();
    assert_memory_equal(p.html, "<!DOCTYPE html>\n<html lang=\"zh-CN\">", 31);
    HAS(p, "<title>延边州安全生产月度通报（2026年10月）</title>");
    HAS(p, "<h1 id=\"title\">延边州安全生产月度通报（2026年10月）</h1>");
    HAS(p, "延边州安全生产委员会办公室　2026年12月1日");
    HAS(p, "data-issued=\"2026-12-01\"");
    HAS(p, "2026年11月9日23:59（已顺延）");
    HAS(p, "@page { size: A4;");
    HAS(p, "@media print");
    HASNT(p, "<script");
    HASNT(p, " style=\"");
    page_free(&p);
}

static void test_groups(void **state)
{
    (void)state;
    page p = render();
    HAS(p, "<p class=\"group\" id=\"filing-on_time\" data-filing=\"on_time\" data-count=\"1\">"
           "<b>按时报送（1个）：</b><span class=\"county\" "
           "data-county=\"222401\">延吉市</span>。</p>");
    /* the late county with when, its name escaped */
    HAS(p,
        "<p class=\"group\" id=\"filing-late\" data-filing=\"late\" "
        "data-count=\"1\"><b>迟报（1个）："
        "</b><span class=\"county\" data-county=\"222402\">&lt;i&gt;图们&lt;/i&gt;&amp;&quot;&#39;"
        "</span>（11月10日 08:05报送）。</p>");
    HAS(p, "<b>未报（1个）：</b><span class=\"county\" data-county=\"222403\">敦化市</span>。</p>");
    HAS(p, "<tr data-county=\"222402\" data-status=\"late\" data-review=\"returned\">");
    HAS(p, "已退回修改：&lt;script&gt;x&lt;/script&gt;");
    HAS(p, "<tr data-county=\"222403\" data-status=\"missing\" data-review=\"\">");
    page_free(&p);
}

static void test_accidents(void **state)
{
    (void)state;
    page p = render();
    HAS(p,
        "<tr class=\"accident\" data-county=\"222401\" data-accident=\"A-1\" data-counted=\"true\" "
        "data-grade=\"larger\" data-deaths=\"3\" data-missing=\"1\" data-serious=\"2\" "
        "data-loss-yuan=\"12350\">");
    HAS(p, "<span class=\"place\">北山 &quot;A&amp;B&quot; &#39;C&#39;</span>");
    HAS(p, "<span class=\"unit\">&lt;script&gt;alert(1)&lt;/script&gt;</span>");
    HAS(p, "较大（曾达重大）");
    HAS(p, "起重伤害");
    HAS(p, "建筑施工");
    /* 12350 yuan = 1.235 万元: half up to 1.24 */
    HAS(p, "<td class=\"num\">1.24</td>");
    /* the write-off: listed, marked, its reason escaped, out of the totals */
    HAS(p, "<tr class=\"accident excluded\" data-county=\"222402\" data-accident=\"W-1\" "
           "data-counted=\"false\"");
    HAS(p, "核销原因：山体滑坡 &lt;非生产&gt;");
    HAS(p, "<tr id=\"accident-totals\" data-accidents=\"1\" data-deaths=\"3\" data-missing=\"1\" "
           "data-serious=\"2\" data-loss-yuan=\"12350\">");
    HAS(p, "全州共发生生产安全事故1起，死亡3人、失踪1人、重伤2人，直接经济损失1.24万元。"
           "其中较大事故1起。另有核销事故1起");
    /* no details for W-1: a dash */
    HAS(p, "<span class=\"place\">—</span>");
    page_free(&p);
}

static void test_indicators(void **state)
{
    (void)state;
    page p = render();
    HAS(p, "2026年1—10月，全州生产安全事故死亡3人（另有失踪1人），去年同期4人，同比下降25.0%。");
    HAS(p, "以2015年死亡60人为基数，控制目标为下降20%（全年不超过48.0人）");
    HAS(p, "较基数下降94.0%，控制在进度目标以内。");
    HAS(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"total-chart\"");
    HAS(p, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"indicator-chart\"");
    HAS(p, "<g class=\"county\" data-county=\"222401\"><rect class=\"bar cur\"");
    HAS(p, "<tr data-county=\"222401\" data-deaths=\"3\" data-previous=\"4\">");
    HAS(p, "<tr id=\"indicator-total\" data-deaths=\"3\" data-previous=\"4\">");
    page_free(&p);
}

/* The page's CSP names the SHA-256 of exactly what its <style> holds. */
static void test_csp(void **state)
{
    (void)state;
    page p = render();
    const char *a = strstr(p.html, "<style>"), *b = strstr(p.html, "</style>");
    assert_non_null(a);
    assert_non_null(b);
    a += strlen("<style>");
    uint8_t hash[ZB_SHA256_LEN];
    zb_sha256(a, (size_t)(b - a), hash);
    char b64[64], want[128], csp[256];
    sodium_bin2base64(b64, sizeof b64, hash, sizeof hash, sodium_base64_VARIANT_ORIGINAL);
    snprintf(want, sizeof want, "style-src 'sha256-%s'", b64);
    assert_int_equal(zb_bulletin_csp(csp, sizeof csp), ZB_OK);
    assert_non_null(strstr(csp, want));
    assert_non_null(strstr(csp, "default-src 'none'"));
    HAS(p, "style-src &#39;sha256-");
    assert_int_equal(zb_bulletin_csp(csp, 40), ZB_EINVAL);
    page_free(&p);
}

static void test_same_bytes_and_refusals(void **state)
{
    (void)state;
    page p = render(), q = render();
    assert_int_equal(p.len, q.len);
    assert_memory_equal(p.html, q.html, p.len);
    page_free(&q);
    /* a document without its rows */
    json_t *empty = json_object();
    zb_bulletin_input in = {2026, 10, ISSUED, empty, p.accidents, p.indicators, p.details};
    char *html = (char *)1;
    size_t len = 1;
    assert_int_equal(zb_bulletin_render(&in, &html, &len), ZB_EINVAL);
    assert_null(html);
    assert_int_equal(len, 0);
    in = (zb_bulletin_input){2026, 13, ISSUED, p.monthly, p.accidents, p.indicators, p.details};
    assert_int_equal(zb_bulletin_render(&in, &html, &len), ZB_EINVAL);
    json_decref(empty);
    page_free(&p);
}

/* Query parameters: name=value pairs, NULL-terminated. */
static const char *lookup(void *ctx, const char *name)
{
    const char *const *pairs = ctx;
    for (size_t i = 0; pairs && pairs[i]; i += 2)
        if (strcmp(pairs[i], name) == 0)
            return pairs[i + 1];
    return NULL;
}
#define PAIRS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void expect_problem(const char *const *pairs, zb_query_dialect d, const char *line)
{
    zb_problems p = {0};
    int y = 0, m = 0;
    assert_int_equal(zb_bulletin_parse(lookup, (void *)pairs, d, ISSUED, &y, &m, &p),
                     ZB_EVALIDATION);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.lines[0], line);
    zb_problems_free(&p);
}

static void test_parse(void **state)
{
    (void)state;
    zb_problems p = {0};
    int y = 0, m = 0;
    /* only "period" is read: a format the CLI passes along is not checked */
    assert_int_equal(zb_bulletin_parse(lookup, (void *)PAIRS("period", "2026-12", "format", "x"),
                                       ZB_QUERY_CLI, ISSUED, &y, &m, &p),
                     ZB_OK);
    assert_int_equal(y, 2026);
    assert_int_equal(m, 12);
    assert_int_equal(p.n, 0);
    expect_problem(PAIRS("period", "2026-13"), ZB_QUERY_CLI,
                   "--period: must be YYYY-MM (YYYY-MM, e.g. 2026-10)");
    expect_problem(PAIRS("period", "2026-13"), ZB_QUERY_API, "period: must be YYYY-MM");
    expect_problem(PAIRS("x", "y"), ZB_QUERY_API, "period: missing");
    expect_problem(PAIRS("period", "2027-01"), ZB_QUERY_CLI,
                   "--period: must not be after the current month (2026-12)");
    expect_problem(PAIRS("period", "2027-01"), ZB_QUERY_API,
                   "period: must not be after the current month (2026-12)");
}

/* /bulletin on a real (empty) store, opened read-only as `web` opens it. */
static void test_web(void **state)
{
    (void)state;
    char dir[512], pk_hex[2 * ZB_PK_LEN + 1];
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/zb-test-bulletin-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(zb_agg_create(dir, pk_hex), ZB_OK);
    zb_agg *agg = NULL;
    assert_int_equal(zb_agg_open(&agg, dir, true), ZB_OK);
    unsigned status;
    const char *type;
    char *body;
    size_t len;
    assert_int_equal(zb_web_answer(agg, NULL, "GET", "/bulletin", lookup,
                                   (void *)PAIRS("period", "2026-10"), NULL, &status, &type, &body,
                                   &len),
                     ZB_OK);
    assert_int_equal(status, 200);
    assert_string_equal(type, "text/html; charset=utf-8");
    assert_true(len > 1000 && memcmp(body, "<!DOCTYPE html>", 15) == 0);
    free(body);
    assert_int_equal(zb_web_answer(agg, NULL, "GET", "/bulletin", lookup,
                                   (void *)PAIRS("period", "10-2026"), NULL, &status, &type, &body,
                                   &len),
                     ZB_OK);
    assert_int_equal(status, 400);
    assert_string_equal(type, "application/json; charset=utf-8");
    assert_true(len == strlen("{\n  \"error\": \"period: must be YYYY-MM\"\n}\n") &&
                memcmp(body, "{\n  \"error\": \"period: must be YYYY-MM\"\n}\n", len) == 0);
    free(body);
    assert_int_equal(zb_web_answer(agg, "s3cret", "GET", "/bulletin", lookup,
                                   (void *)PAIRS("period", "2026-10"), NULL, &status, &type, &body,
                                   &len),
                     ZB_OK);
    assert_int_equal(status, 401);
    free(body);
    assert_int_equal(zb_web_answer(agg, "s3cret", "GET", "/bulletin", lookup,
                                   (void *)PAIRS("period", "2026-10", "token", "s3cret"), NULL,
                                   &status, &type, &body, &len),
                     ZB_OK);
    assert_int_equal(status, 200);
    free(body);
    zb_agg_close(&agg);
    static const char *const files[] = {"data.mdb", "lock.mdb", ZB_IDENTITY_FILE};
    char p[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    if (zb_crypto_init() != ZB_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),  cmocka_unit_test(test_groups),
        cmocka_unit_test(test_accidents), cmocka_unit_test(test_indicators),
        cmocka_unit_test(test_csp),       cmocka_unit_test(test_same_bytes_and_refusals),
        cmocka_unit_test(test_parse),     cmocka_unit_test(test_web),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
