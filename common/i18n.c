/* i18n.c - see i18n.h. */
#include "i18n.h"

#include <inttypes.h>
#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "err.h"

#define ZB_TEXT_DOMAIN "zhibao"

static zb_lang chosen = ZB_LANG_EN;

/* The first of LC_ALL, LC_MESSAGES, LANG that is set and not empty. */
static const char *locale_value(void)
{
    const char *names[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v && *v)
            return v;
    }
    return NULL;
}

/* Where the catalogs are: $ZB_LOCALEDIR, else share/locale beside the
 * directory of the running binary (build/bin -> build/share/locale;
 * /usr/local/bin -> /usr/local/share/locale). */
static void locale_dir(char *out, size_t len)
{
    const char *env = getenv("ZB_LOCALEDIR");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, len, "/usr/local/share/locale");
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0'; /* .../bin */
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0'; /* the prefix */
    snprintf(out, len, "%s/share/locale", exe);
}

int zb_i18n_init(const char *override)
{
    if (override) {
        if (strcmp(override, "zh") == 0)
            chosen = ZB_LANG_ZH;
        else if (strcmp(override, "en") == 0)
            chosen = ZB_LANG_EN;
        else
            return ZB_EINVAL;
    } else {
        const char *v = locale_value();
        chosen = v && strncmp(v, "zh", 2) == 0 ? ZB_LANG_ZH : ZB_LANG_EN;
    }
    if (chosen == ZB_LANG_EN)
        return ZB_OK;
    /* messages only: numbers, collation and the rest stay "C". gettext
     * ignores LANGUAGE under the "C" locale itself, not under C.UTF-8,
     * which every Debian has; a real zh_CN locale works as well. */
    if (!setlocale(LC_MESSAGES, "zh_CN.UTF-8") && !setlocale(LC_MESSAGES, "C.UTF-8"))
        (void)setlocale(LC_MESSAGES, "");
    setenv("LANGUAGE", "zh_CN", 1);
    char dir[PATH_MAX];
    locale_dir(dir, sizeof dir);
    bindtextdomain(ZB_TEXT_DOMAIN, dir);
    bind_textdomain_codeset(ZB_TEXT_DOMAIN, "UTF-8");
    return ZB_OK;
}

zb_lang zb_i18n_lang(void)
{
    return chosen;
}

const char *zb_tr(const char *msgid)
{
    if (chosen == ZB_LANG_EN || !msgid || !*msgid)
        return msgid;
    return dgettext(ZB_TEXT_DOMAIN, msgid);
}

const char *zb_label(const char *code)
{
    if (!code || chosen == ZB_LANG_EN)
        return code;
    static const struct {
        const char *code, *zh;
    } fixed[] = {
        {"on_time", "按时"},          {"late", "迟报"},
        {"missing", "未报"},          {"prefecture", "州应急管理局"},
        {"province", "省应急管理厅"}, {"state_council", "应急管理部"},
        {"accepted", "已签收"},       {"returned", "已退回"},
        {"unreviewed", "未审核"},     {"initial", "首报"},
        {"supplement", "续报"},       {"closing", "结案"},
        {"write_off", "核销"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(code, fixed[i].code) == 0)
            return fixed[i].zh;
    for (int g = 0; g <= 3; g++) {
        const char *name = zb_grade_name((zb_grade)g);
        if (name && strcmp(code, name) == 0)
            return zb_grade_name_zh((zb_grade)g);
    }
    int v = zb_industry_parse(code);
    if (v > 0 && zb_industry_name_zh(v))
        return zb_industry_name_zh(v);
    v = zb_category_parse(code);
    if (v > 0 && zb_category_name_zh(v))
        return zb_category_name_zh(v);
    return code;
}

const char *zb_money(uint64_t yuan, char *buf, size_t len)
{
    if (chosen == ZB_LANG_ZH) {
        /* 万元, rounded half up to 0.01 (= 100 yuan) */
        uint64_t hundredths = yuan / 100 + (yuan % 100 >= 50);
        snprintf(buf, len, "%" PRIu64 ".%02" PRIu64, hundredths / 100, hundredths % 100);
    } else {
        snprintf(buf, len, "%" PRIu64, yuan);
    }
    return buf;
}
