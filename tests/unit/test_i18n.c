/*
 * test_i18n.c - the language choice (--lang over LC_ALL over LC_MESSAGES
 * over LANG), the compiled catalog found beside the binaries (build/share/
 * locale, as the programs find it) without touching libc's own messages,
 * domain labels and money in 万元.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "i18n.h"

static void clear_env(void)
{
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    unsetenv("LANG");
}

static void test_choice(void **state)
{
    (void)state;
    clear_env();
    assert_int_equal(zb_i18n_init(NULL), ZB_OK);
    assert_int_equal(zb_i18n_lang(), ZB_LANG_EN);
    setenv("LANG", "zh_CN.UTF-8", 1);
    assert_int_equal(zb_i18n_init(NULL), ZB_OK);
    assert_int_equal(zb_i18n_lang(), ZB_LANG_ZH);
    setenv("LC_MESSAGES", "C.UTF-8", 1); /* before LANG */
    assert_int_equal(zb_i18n_init(NULL), ZB_OK);
    assert_int_equal(zb_i18n_lang(), ZB_LANG_EN);
    setenv("LC_ALL", "zh_CN.UTF-8", 1); /* before both */
    assert_int_equal(zb_i18n_init(NULL), ZB_OK);
    assert_int_equal(zb_i18n_lang(), ZB_LANG_ZH);
    assert_int_equal(zb_i18n_init("en"), ZB_OK); /* --lang wins */
    assert_int_equal(zb_i18n_lang(), ZB_LANG_EN);
    assert_int_equal(zb_i18n_init("fr"), ZB_EINVAL);
    clear_env();
}

static void test_catalog(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    assert_string_equal(_("error"), "error");
    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    assert_string_equal(_("error"), "错误"); /* from build/share/locale */
    assert_string_equal(_("no such message in the catalog"), "no such message in the catalog");
    /* nothing else in the process changes language: libc's messages (and
     * so the English log lines that carry them) stay as they were */
    assert_string_equal(strerror(ENOENT), "No such file or directory");
    /* msgfmt's system-dependent strings, expanded as this platform's
     * macros: the msgid is what the program passes at run time */
    assert_string_equal(_("test: %" PRIu64 " of %" PRId64 " done"),
                        "测试：已完成 %" PRIu64 "，共 %" PRId64);
}

static void test_labels(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    assert_string_equal(zb_label("on_time"), "按时");
    assert_string_equal(zb_label("late"), "迟报");
    assert_string_equal(zb_label("missing"), "未报");
    assert_string_equal(zb_label("larger"), "较大");
    assert_string_equal(zb_label("especially_serious"), "特别重大");
    assert_string_equal(zb_label("state_council"), "应急管理部");
    assert_string_equal(zb_label("province"), "省应急管理厅");
    assert_string_equal(zb_label("construction"), "建筑施工");
    assert_string_equal(zb_label("object_strike"), "物体打击");
    assert_string_equal(zb_label("something_else"), "something_else");
    char buf[32];
    assert_string_equal(zb_money(123456, buf, sizeof buf), "12.35");
    assert_string_equal(zb_money(0, buf, sizeof buf), "0.00");
    assert_string_equal(zb_money(49, buf, sizeof buf), "0.00");
    assert_string_equal(zb_money(50, buf, sizeof buf), "0.01");
    assert_string_equal(zb_money(10000000000000ull, buf, sizeof buf), "1000000000.00");
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    assert_string_equal(zb_label("on_time"), "on_time");
    assert_string_equal(zb_money(123456, buf, sizeof buf), "123456");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
