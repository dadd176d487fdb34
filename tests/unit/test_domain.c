/*
 * test_domain.c - counties, task catalogue, names and Decree 493 grading.
 * Expected values are written out by hand from domain.md, never derived
 * from the tables under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "domain.h"

#define CD ZB_MISSING_COUNT_AS_DEAD
#define IG ZB_MISSING_IGNORE

static void test_county_codes(void **state)
{
    (void)state;
    assert_true(zb_county_code_valid("222401"));
    assert_true(zb_county_code_valid("110101")); /* any county-level code enrols */
    assert_false(zb_county_code_valid("22240"));
    assert_false(zb_county_code_valid("2224011"));
    assert_false(zb_county_code_valid("22240a"));
    assert_false(zb_county_code_valid(" 22240"));
    assert_false(zb_county_code_valid(""));
    assert_false(zb_county_code_valid(NULL));
}

static void test_county_find(void **state)
{
    (void)state;
    assert_int_equal(zb_yanbian_county_count, 8);
    const zb_county *c = zb_county_find("222401");
    assert_non_null(c);
    assert_string_equal(c->name, "延吉市");
    assert_string_equal(c->pinyin, "Yanji");
    c = zb_county_find("222426");
    assert_non_null(c);
    assert_string_equal(c->name, "安图县");
    assert_string_equal(c->pinyin, "Antu");
    c = zb_county_find("222424");
    assert_non_null(c);
    assert_string_equal(c->pinyin, "Wangqing");
    assert_null(zb_county_find("222425")); /* not used in GB/T 2260 */
    assert_null(zb_county_find(ZB_PREFECTURE_CODE));
    assert_null(zb_county_find("110101"));
    assert_null(zb_county_find("2224011"));
    assert_null(zb_county_find(NULL));

    /* In code order, every entry findable by its own code. */
    for (size_t i = 0; i < zb_yanbian_county_count; i++) {
        assert_ptr_equal(zb_county_find(zb_yanbian_counties[i].code), &zb_yanbian_counties[i]);
        if (i > 0)
            assert_true(strcmp(zb_yanbian_counties[i - 1].code, zb_yanbian_counties[i].code) < 0);
    }
}

/* GB/T 2260 (domain.h zb_county_in_prefecture): a county-level code is a
 * prefecture's when it shares its first four digits and is not itself a
 * prefecture-level code; the prefecture must be a prefecture-level code. */
static void test_county_in_prefecture(void **state)
{
    (void)state;
    assert_true(zb_county_in_prefecture("222401", "222400"));  /* 延吉市 in 延边 */
    assert_true(zb_county_in_prefecture("222426", "222400"));  /* 安图县 */
    assert_true(zb_county_in_prefecture("220202", "220200"));  /* 吉林市昌邑区 in 吉林市 */
    assert_false(zb_county_in_prefecture("222400", "222400")); /* the prefecture itself */
    assert_false(zb_county_in_prefecture("220202", "222400")); /* another prefecture's */
    assert_false(zb_county_in_prefecture("222401", "222600")); /* another prefecture's */
    assert_false(zb_county_in_prefecture("222501", "222400")); /* one digit off */
    assert_false(zb_county_in_prefecture("222401", "222401")); /* not a prefecture code */
    assert_false(zb_county_in_prefecture("222402", "222401"));
    assert_false(zb_county_in_prefecture("220000", "222400")); /* the province */
    assert_false(zb_county_in_prefecture("222401", "220000")); /* a province is no prefecture */
    /* malformed, either side */
    assert_false(zb_county_in_prefecture("22240", "222400"));
    assert_false(zb_county_in_prefecture("2224011", "222400"));
    assert_false(zb_county_in_prefecture("22240a", "222400"));
    assert_false(zb_county_in_prefecture("", "222400"));
    assert_false(zb_county_in_prefecture(NULL, "222400"));
    assert_false(zb_county_in_prefecture("222401", "22240"));
    assert_false(zb_county_in_prefecture("222401", "2224000"));
    assert_false(zb_county_in_prefecture("222401", "2224a0"));
    assert_false(zb_county_in_prefecture("222401", ""));
    assert_false(zb_county_in_prefecture("222401", NULL));
}

/* A province-level code (NN0000) is not a prefecture-level code, and a
 * code NN00xx is no county-level code under it (GB/T 2260: a county's
 * third and fourth digits number its prefecture): a member enrolled at a
 * province under its own code 220000 (zb_agg_enroll_vouched takes any six
 * digits) must not relay "counties" 220001..220099. */
static void test_county_in_province_code(void **state)
{
    (void)state;
    assert_false(zb_county_in_prefecture("220001", "220000"));
    assert_false(zb_county_in_prefecture("220099", "220000"));
}

static void test_task_catalogue(void **state)
{
    (void)state;
    const zb_task *t = zb_task_find(3);
    assert_non_null(t);
    assert_int_equal(t->code, 3);
    assert_string_equal(t->section, "二 责任制");
    assert_string_equal(t->name_zh, "落实党委和政府领导责任");
    t = zb_task_find(13);
    assert_non_null(t);
    assert_string_equal(t->section, "四 预防控制");
    assert_string_equal(t->name_zh, "加强双重预防机制建设");
    assert_string_equal(t->name_en, "dual prevention mechanism");
    t = zb_task_find(27);
    assert_non_null(t);
    assert_int_equal(t->code, 27);
    assert_string_equal(t->section, "七 考核");
    assert_string_equal(t->name_zh, "严格责任追究");
    assert_string_equal(t->name_en, "accountability");
    assert_null(zb_task_find(0));
    assert_null(zb_task_find(2));
    assert_null(zb_task_find(28));
    assert_null(zb_task_find(0xffffffffu));
    for (unsigned c = 3; c <= 27; c++) {
        t = zb_task_find(c);
        assert_non_null(t);
        assert_int_equal(t->code, c);
        assert_non_null(t->section);
        assert_true(strlen(t->name_zh) > 0 && strlen(t->name_en) > 0);
    }
}

static void test_task_status(void **state)
{
    (void)state;
    assert_int_equal(zb_task_status_parse("not_started"), 1);
    assert_int_equal(zb_task_status_parse("in_progress"), 2);
    assert_int_equal(zb_task_status_parse("done"), 3);
    assert_int_equal(zb_task_status_parse("Done"), 0);
    assert_int_equal(zb_task_status_parse(""), 0);
    assert_int_equal(zb_task_status_parse(NULL), 0);
    assert_string_equal(zb_task_status_name(ZB_TASK_NOT_STARTED), "not_started");
    assert_string_equal(zb_task_status_name(ZB_TASK_IN_PROGRESS), "in_progress");
    assert_string_equal(zb_task_status_name(ZB_TASK_DONE), "done");
    assert_null(zb_task_status_name(0));
    assert_null(zb_task_status_name(4));
    assert_null(zb_task_status_name(-1));
}

static void test_industries(void **state)
{
    (void)state;
    static const char *const names[15] = {
        "coal_mine", "non_coal_mine", "hazardous_chemicals", "fireworks", "construction",
        "metallurgy_trade", "road_traffic", "fire", "special_equipment", "water_traffic",
        "railway", "civil_aviation", "agricultural_machinery", "fishing_vessel", "other"};
    static const char *const names_zh[15] = {
        "煤矿", "非煤矿山", "危险化学品", "烟花爆竹", "建筑施工", "冶金等工贸", "道路交通", "火灾",
        "特种设备", "水上交通", "铁路交通", "民航飞行", "农业机械", "渔业船舶", "其他"};
    for (int i = 1; i <= 15; i++) {
        assert_int_equal(zb_industry_parse(names[i - 1]), i);
        assert_string_equal(zb_industry_name(i), names[i - 1]);
        assert_string_equal(zb_industry_name_zh(i), names_zh[i - 1]);
    }
    assert_int_equal(zb_industry_parse("mining"), 0);
    assert_int_equal(zb_industry_parse(NULL), 0);
    assert_null(zb_industry_name(0));
    assert_null(zb_industry_name(16));
    assert_null(zb_industry_name_zh(0));
    assert_null(zb_industry_name_zh(16));

    assert_int_equal(zb_industry_casualty_window_days(7), 7); /* road_traffic */
    assert_int_equal(zb_industry_casualty_window_days(8), 7); /* fire */
    assert_int_equal(zb_industry_casualty_window_days(1), 30);
    assert_int_equal(zb_industry_casualty_window_days(15), 30);
}

static void test_grade_deaths(void **state)
{
    (void)state;
    assert_int_equal(zb_grade_compute(0, 0, 0, 0, CD), ZB_GRADE_GENERAL);
    assert_int_equal(zb_grade_compute(2, 0, 0, 0, CD), ZB_GRADE_GENERAL);
    assert_int_equal(zb_grade_compute(3, 0, 0, 0, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(9, 0, 0, 0, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(10, 0, 0, 0, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(29, 0, 0, 0, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(30, 0, 0, 0, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
    assert_int_equal(zb_grade_compute(UINT32_MAX, 0, 0, 0, IG), ZB_GRADE_ESPECIALLY_SERIOUS);
}

static void test_grade_injuries(void **state)
{
    (void)state;
    assert_int_equal(zb_grade_compute(0, 0, 9, 0, CD), ZB_GRADE_GENERAL);
    assert_int_equal(zb_grade_compute(0, 0, 10, 0, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(0, 0, 49, 0, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(0, 0, 50, 0, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(0, 0, 99, 0, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(0, 0, 100, 0, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
}

static void test_grade_loss(void **state)
{
    (void)state;
    assert_int_equal(zb_grade_compute(0, 0, 0, 9999999u, CD), ZB_GRADE_GENERAL);
    assert_int_equal(zb_grade_compute(0, 0, 0, 10000000u, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(0, 0, 0, 49999999u, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(0, 0, 0, 50000000u, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(0, 0, 0, 99999999u, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(0, 0, 0, 100000000u, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
    assert_int_equal(zb_grade_compute(0, 0, 0, UINT64_MAX, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
}

static void test_grade_missing(void **state)
{
    (void)state;
    /* 2 dead + 1 missing: 3 "死亡(含失踪)" -> larger; on confirmed deaths, general. */
    assert_int_equal(zb_grade_compute(2, 1, 0, 0, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(2, 1, 0, 0, IG), ZB_GRADE_GENERAL);
    assert_int_equal(zb_grade_compute(0, 3, 0, 0, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(9, 1, 0, 0, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(9, 1, 0, 0, IG), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(20, 10, 0, 0, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
    assert_int_equal(zb_grade_compute(20, 10, 0, 0, IG), ZB_GRADE_SERIOUS);
    /* The sum saturates instead of wrapping to a small number. */
    assert_int_equal(zb_grade_compute(UINT32_MAX, UINT32_MAX, 0, 0, CD),
                     ZB_GRADE_ESPECIALLY_SERIOUS);
    assert_int_equal(zb_grade_compute(UINT32_MAX - 1, 3, 0, 0, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
    assert_int_equal(zb_grade_compute(0, UINT32_MAX, 0, 0, IG), ZB_GRADE_GENERAL);
}

static void test_grade_mixed(void **state)
{
    (void)state;
    /* The highest criterion wins, whichever it is. */
    assert_int_equal(zb_grade_compute(2, 0, 9, 9999999u, CD), ZB_GRADE_GENERAL);
    assert_int_equal(zb_grade_compute(1, 0, 50, 0, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(3, 0, 0, 100000000u, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
    assert_int_equal(zb_grade_compute(30, 0, 10, 10000000u, CD), ZB_GRADE_ESPECIALLY_SERIOUS);
    assert_int_equal(zb_grade_compute(9, 0, 49, 50000000u, CD), ZB_GRADE_SERIOUS);
    assert_int_equal(zb_grade_compute(0, 0, 10, 9999999u, CD), ZB_GRADE_LARGER);
    assert_int_equal(zb_grade_compute(2, 1, 9, 9999999u, IG), ZB_GRADE_GENERAL);
}

static void test_grade_names(void **state)
{
    (void)state;
    assert_string_equal(zb_grade_name(ZB_GRADE_GENERAL), "general");
    assert_string_equal(zb_grade_name(ZB_GRADE_LARGER), "larger");
    assert_string_equal(zb_grade_name(ZB_GRADE_SERIOUS), "serious");
    assert_string_equal(zb_grade_name(ZB_GRADE_ESPECIALLY_SERIOUS), "especially_serious");
    assert_string_equal(zb_grade_name_zh(ZB_GRADE_GENERAL), "一般");
    assert_string_equal(zb_grade_name_zh(ZB_GRADE_LARGER), "较大");
    assert_string_equal(zb_grade_name_zh(ZB_GRADE_SERIOUS), "重大");
    assert_string_equal(zb_grade_name_zh(ZB_GRADE_ESPECIALLY_SERIOUS), "特别重大");
    assert_null(zb_grade_name((zb_grade)4));
    assert_string_equal(zb_missing_rule_name(ZB_MISSING_COUNT_AS_DEAD), "missing_counted_as_dead");
    assert_string_equal(zb_missing_rule_name(ZB_MISSING_IGNORE), "missing_not_counted");

    assert_string_equal(zb_grade_report_to(ZB_GRADE_GENERAL), "prefecture");
    assert_string_equal(zb_grade_report_to(ZB_GRADE_LARGER), "province");
    assert_string_equal(zb_grade_report_to(ZB_GRADE_SERIOUS), "state_council");
    assert_string_equal(zb_grade_report_to(ZB_GRADE_ESPECIALLY_SERIOUS), "state_council");
    assert_int_equal(ZB_UNIT_NOTICE_LIMIT_S, 3600);
    assert_int_equal(ZB_UPWARD_REPORT_LIMIT_S, 7200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_county_codes),   cmocka_unit_test(test_county_find),
        cmocka_unit_test(test_task_catalogue), cmocka_unit_test(test_task_status),
        cmocka_unit_test(test_industries),     cmocka_unit_test(test_grade_deaths),
        cmocka_unit_test(test_grade_injuries), cmocka_unit_test(test_grade_loss),
        cmocka_unit_test(test_grade_missing),  cmocka_unit_test(test_grade_mixed),
        cmocka_unit_test(test_grade_names),    cmocka_unit_test(test_county_in_prefecture),
        cmocka_unit_test(test_county_in_province_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
