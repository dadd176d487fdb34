/*
 * test_i18n.c - the language choice (--lang over LC_ALL over LC_MESSAGES
 * over LANG), the compiled catalog found beside the binaries (build/share/
 * locale, as the programs find it) without touching libc's own messages,
 * domain labels and money in 万元, and damaged catalogs (cut short, or
 * their offsets and lengths pointing anywhere) read within their bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
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
    assert_string_equal(zb_label("supplement"), "续报"); /* a stage, from domain.h */
    assert_string_equal(zb_label("write_off"), "核销");
    char buf[32];
    assert_string_equal(zb_money(123456, buf, sizeof buf), "12.35");
    assert_string_equal(zb_money(0, buf, sizeof buf), "0.00");
    assert_string_equal(zb_money(49, buf, sizeof buf), "0.00");
    assert_string_equal(zb_money(50, buf, sizeof buf), "0.01");
    assert_string_equal(zb_money(10000000000000ull, buf, sizeof buf), "1000000000.00");
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
    assert_string_equal(zb_label("on_time"), "on_time");
    assert_string_equal(zb_money(123456, buf, sizeof buf), "123456");
    /* the bulletin's: Chinese whatever the language */
    assert_string_equal(zb_label_zh("larger"), "较大");
    assert_string_equal(zb_label_zh("closing"), "结案");
    assert_null(zb_label_zh("something_else"));
    assert_null(zb_label_zh(NULL));
    assert_string_equal(zb_money_wan(123456, buf, sizeof buf), "12.35");
    assert_int_equal(zb_wan_hundredths(12349), 123);
    assert_int_equal(zb_wan_hundredths(12350), 124);
}

/* The catalog's bytes where zb_i18n_init finds them: $ZB_LOCALEDIR, else
 * share/locale beside the directory of this binary (build/tests). */
static uint8_t *real_catalog(size_t *len)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    const char *env = getenv("ZB_LOCALEDIR");
    if (env && *env) {
        snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES/zhibao.mo", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(path, sizeof path, "%s/share/locale/zh_CN/LC_MESSAGES/zhibao.mo", exe);
    }
    int err;
    uint8_t *mo = (uint8_t *)zb_read_file(path, 64u << 20, len, &err);
    assert_non_null(mo);
    return mo;
}

/* Lookups of every kind on whatever catalog is in use (ASan watches). */
static void look_up(void)
{
    const char *t = _("error");
    assert_non_null(t);
    assert_non_null(_("test: %" PRIu64 " of %" PRId64 " done"));
    assert_non_null(zb_trc("heading", "MESSAGE"));
    assert_non_null(_("no such message in the catalog"));
}

/* Catalog bytes with the 32-bit word at `at` set to each of a few values
 * that point anywhere, each in use in turn. */
static void corrupt_word(const uint8_t *mo, uint8_t *bad, size_t len, size_t at)
{
    static const uint32_t wild[] = {0, 1, 0x7fffffffu, 0xfffffff8u, 0xffffffffu};
    if (at + 4 > len)
        return;
    for (size_t k = 0; k < sizeof wild / sizeof wild[0]; k++) {
        memcpy(bad, mo, len);
        memcpy(bad + at, &wild[k], 4);
        int rc = zb_i18n_use_catalog(bad, len);
        assert_true(rc == ZB_OK || rc == ZB_EINVAL);
        look_up();
    }
}

static uint32_t word_at(const uint8_t *mo, size_t len, size_t at)
{
    uint32_t v = 0;
    if (at + 4 <= len)
        memcpy(&v, mo + at, 4);
    return v;
}

static void test_damaged_catalog(void **state)
{
    (void)state;
    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    size_t len;
    uint8_t *mo = real_catalog(&len);
    assert_int_equal(zb_i18n_use_catalog(mo, len), ZB_OK);
    assert_string_equal(_("error"), "错误");
    assert_int_equal(zb_i18n_use_catalog("not a catalog", 13), ZB_EINVAL);
    assert_string_equal(_("error"), "error");
    /* cut short: every length up to 256 bytes, then one in about a thousand */
    for (size_t n = 0; n < len; n += n < 256 ? 1 : 997) {
        int rc = zb_i18n_use_catalog(mo, n);
        assert_true(rc == ZB_OK || rc == ZB_EINVAL);
        look_up();
    }
    uint8_t *bad = malloc(len);
    assert_non_null(bad);
    /* the header's words (magic, revision, counts, table offsets) */
    for (size_t at = 0; at < 48; at += 4)
        corrupt_word(mo, bad, len, at);
    /* the first entries (length, offset) of the originals and translations */
    for (size_t table = 12; table <= 16; table += 4)
        for (size_t i = 0; i < 8; i++)
            corrupt_word(mo, bad, len, word_at(mo, len, table) + i * 4);
    /* the first system-dependent string's descriptor, and the segment names */
    size_t desc = word_at(mo, len, word_at(mo, len, 40));
    for (size_t i = 0; i < 8; i++)
        corrupt_word(mo, bad, len, desc + i * 4);
    for (size_t i = 0; i < 4; i++)
        corrupt_word(mo, bad, len, word_at(mo, len, 32) + i * 4);
    free(bad);
    free(mo);
    /* none: loaded again from disk */
    assert_int_equal(zb_i18n_use_catalog(NULL, 0), ZB_OK);
    assert_int_equal(zb_i18n_init("zh"), ZB_OK);
    assert_string_equal(_("error"), "错误");
    assert_int_equal(zb_i18n_init("en"), ZB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice),
        cmocka_unit_test(test_catalog),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_damaged_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
