/* i18n.c - see i18n.h. */
#include "i18n.h"

#include <inttypes.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "err.h"
#include "fileio.h"

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
 * /usr/local/bin -> /usr/local/share/locale). false when the path does not
 * fit in len (no catalog then: English). */
static bool locale_dir(char *out, size_t len)
{
    const char *env = getenv("ZB_LOCALEDIR");
    if (env && *env)
        return (size_t)snprintf(out, len, "%s", env) < len;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return (size_t)snprintf(out, len, "/usr/local/share/locale") < len;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0'; /* .../bin */
    slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0'; /* the prefix */
    int w = snprintf(out, len, "%s/share/locale", exe);
    return w >= 0 && (size_t)w < len;
}

/* The loaded catalog: the bytes of a GNU .mo file (msgfmt's output: a
 * header, then two tables of (length, offset) pairs for the original and
 * translated strings, originals sorted), read once by zb_i18n_init. Read
 * here rather than through libintl so that choosing Chinese changes
 * nothing else in the process: libintl works through the locale (and
 * LANGUAGE), which would also translate libc's own messages (strerror) --
 * into '?' under the "C" codeset, and into Chinese in English log lines. */
static uint8_t *catalog;
static size_t catalog_len;
static uint32_t catalog_n, catalog_orig, catalog_trans;
static bool catalog_swapped;

/* msgfmt keeps a message with <PRIu64> and the like apart, as a
 * "system-dependent string" (.mo revision 1) that the reader expands with
 * the platform's own macros: what the program passes to _() at run time,
 * "%" PRIu64 being "%lu" here. Expanded once at load, sorted, and looked up
 * beside the plain table. */
typedef struct {
    char *orig, *trans;
} sysdep_pair;
static sysdep_pair *sysdep;
static size_t n_sysdep;

static uint32_t mo_u32(size_t off)
{
    uint32_t v;
    memcpy(&v, catalog + off, 4);
    return catalog_swapped ? __builtin_bswap32(v) : v;
}

/* The string at table entry i of table (0 when out of bounds). */
static const char *mo_string(uint32_t table, uint32_t i, uint32_t *len)
{
    size_t at = (size_t)table + (size_t)i * 8;
    if (at + 8 > catalog_len)
        return NULL;
    uint32_t n = mo_u32(at), off = mo_u32(at + 4);
    if ((size_t)off + n >= catalog_len || catalog[(size_t)off + n] != '\0')
        return NULL;
    *len = n;
    return (const char *)catalog + off;
}

/* The platform's expansion of a system-dependent segment name ("PRIu64"
 * -> "lu"); NULL for one this program never uses. */
static const char *sysdep_value(const char *name, size_t len)
{
    static const struct {
        const char *name, *value;
    } known[] = {
        {"PRId8", PRId8},     {"PRIi8", PRIi8},     {"PRIu8", PRIu8},     {"PRIx8", PRIx8},
        {"PRId16", PRId16},   {"PRIi16", PRIi16},   {"PRIu16", PRIu16},   {"PRIx16", PRIx16},
        {"PRId32", PRId32},   {"PRIi32", PRIi32},   {"PRIu32", PRIu32},   {"PRIx32", PRIx32},
        {"PRIX32", PRIX32},   {"PRId64", PRId64},   {"PRIi64", PRIi64},   {"PRIu64", PRIu64},
        {"PRIx64", PRIx64},   {"PRIX64", PRIX64},   {"PRIdMAX", PRIdMAX}, {"PRIuMAX", PRIuMAX},
        {"PRIdPTR", PRIdPTR}, {"PRIuPTR", PRIuPTR}, {"PRIxPTR", PRIxPTR},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == len && memcmp(known[i].name, name, len) == 0)
            return known[i].value;
    return NULL;
}

/* Expand the system-dependent string whose descriptor is at desc: NULL
 * when malformed or naming an unknown segment. Heap-built. */
static char *sysdep_expand(uint32_t desc, uint32_t n_segs, uint32_t segs)
{
    if ((size_t)desc + 4 > catalog_len)
        return NULL;
    size_t at = mo_u32(desc), pos = (size_t)desc + 4, cap = 256, len = 0;
    char *out = malloc(cap);
    for (int guard = 0; out && guard < 256; guard++) {
        if (pos + 8 > catalog_len)
            break;
        uint32_t segsize = mo_u32(pos), ref = mo_u32(pos + 4);
        pos += 8;
        const char *add = NULL;
        size_t add_len = 0;
        if (ref != 0xffffffffu) {
            if (ref >= n_segs || (size_t)segs + (size_t)ref * 8 + 8 > catalog_len)
                break;
            uint32_t nlen = mo_u32((size_t)segs + (size_t)ref * 8);
            uint32_t noff = mo_u32((size_t)segs + (size_t)ref * 8 + 4);
            if ((size_t)noff + nlen > catalog_len)
                break;
            /* the name may carry its NUL in the length */
            if (nlen && catalog[noff + nlen - 1] == '\0')
                nlen--;
            if (!(add = sysdep_value((const char *)catalog + noff, nlen)))
                break;
            add_len = strlen(add);
        }
        if (at + segsize > catalog_len || len + segsize + add_len + 1 > (1u << 16))
            break;
        while (len + segsize + add_len + 1 > cap) {
            char *grown = realloc(out, cap *= 2);
            if (!grown)
                goto fail;
            out = grown;
        }
        memcpy(out + len, catalog + at, segsize);
        len += segsize;
        at += segsize;
        if (ref == 0xffffffffu) {
            /* the static part may end with the string's own NUL */
            while (len > 0 && out[len - 1] == '\0')
                len--;
            out[len] = '\0';
            return out;
        }
        memcpy(out + len, add, add_len);
        len += add_len;
    }
fail:
    free(out);
    return NULL;
}

static int sysdep_cmp(const void *a, const void *b)
{
    return strcmp(((const sysdep_pair *)a)->orig, ((const sysdep_pair *)b)->orig);
}

static void sysdep_free(void)
{
    for (size_t i = 0; i < n_sysdep; i++) {
        free(sysdep[i].orig);
        free(sysdep[i].trans);
    }
    free(sysdep);
    sysdep = NULL;
    n_sysdep = 0;
}

/* The revision 1 part of the catalog, when there is one. */
static void sysdep_load(void)
{
    sysdep_free();
    if (catalog_len < 48 || (mo_u32(4) >> 16) != 0 || (mo_u32(4) & 0xffff) < 1)
        return;
    uint32_t n_segs = mo_u32(28), segs = mo_u32(32), n = mo_u32(36), orig = mo_u32(40),
             trans = mo_u32(44);
    if (n == 0 || n > 100000 || (size_t)orig + (size_t)n * 4 > catalog_len ||
        (size_t)trans + (size_t)n * 4 > catalog_len || !(sysdep = calloc(n, sizeof *sysdep)))
        return;
    /* expansions reuse the file's bytes: cap what they may add up to, so a
     * damaged or hostile catalog ($ZB_LOCALEDIR) cannot take gigabytes */
    size_t budget = 8 * catalog_len + (1u << 20);
    for (uint32_t i = 0; i < n; i++) {
        char *o = sysdep_expand(mo_u32((size_t)orig + (size_t)i * 4), n_segs, segs);
        char *t = o ? sysdep_expand(mo_u32((size_t)trans + (size_t)i * 4), n_segs, segs) : NULL;
        size_t cost = (o ? strlen(o) : 0) + (t ? strlen(t) : 0);
        if (!o || !t || !*t || cost > budget) {
            free(o);
            free(t);
            if (cost > budget)
                break;
            continue;
        }
        budget -= cost;
        sysdep[n_sysdep++] = (sysdep_pair){o, t};
    }
    qsort(sysdep, n_sysdep, sizeof *sysdep, sysdep_cmp);
}

/* Take bytes (malloc'd, len of them; NULL: none) as the catalog when they
 * are one, else free them: English. */
static void catalog_take(uint8_t *bytes, size_t len)
{
    free(catalog);
    sysdep_free();
    catalog = bytes;
    catalog_len = bytes ? len : 0;
    uint32_t magic = 0;
    if (catalog_len >= 28)
        memcpy(&magic, catalog, 4);
    catalog_swapped = magic == 0xde120495u;
    bool valid = magic == 0x950412deu || catalog_swapped;
    if (valid) {
        catalog_n = mo_u32(8);
        catalog_orig = mo_u32(12);
        catalog_trans = mo_u32(16);
        valid = (size_t)catalog_orig + (size_t)catalog_n * 8 <= catalog_len &&
                (size_t)catalog_trans + (size_t)catalog_n * 8 <= catalog_len;
    }
    if (!valid) {
        free(catalog);
        catalog = NULL;
        catalog_len = 0;
        return;
    }
    sysdep_load();
}

static void catalog_load(void)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    char dir[PATH_MAX - 64], path[PATH_MAX];
    if (locale_dir(dir, sizeof dir)) {
        int w = snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES/" ZB_TEXT_DOMAIN ".mo", dir);
        int err;
        if (w >= 0 && (size_t)w < sizeof path) /* NULL: no catalog (or an unreadable one) */
            bytes = (uint8_t *)zb_read_file(path, 64u << 20, &len, &err);
    }
    catalog_take(bytes, len);
}

int zb_i18n_use_catalog(const void *mo, size_t len)
{
    uint8_t *copy = NULL;
    if (mo && !(copy = malloc(len ? len : 1)))
        return ZB_ENOMEM;
    if (copy)
        memcpy(copy, mo, len);
    catalog_take(copy, len);
    return mo && !catalog ? ZB_EINVAL : ZB_OK;
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
    if (chosen == ZB_LANG_ZH && !catalog)
        catalog_load();
    return ZB_OK;
}

zb_lang zb_i18n_lang(void)
{
    return chosen;
}

const char *zb_tr(const char *msgid)
{
    if (chosen == ZB_LANG_EN || !msgid || !*msgid || !catalog)
        return msgid;
    if (n_sysdep) {
        sysdep_pair key = {(char *)msgid, NULL};
        const sysdep_pair *hit = bsearch(&key, sysdep, n_sysdep, sizeof *sysdep, sysdep_cmp);
        if (hit)
            return hit->trans;
    }
    uint32_t lo = 0, hi = catalog_n;
    while (lo < hi) { /* msgfmt sorts the originals (bytewise) */
        uint32_t mid = lo + (hi - lo) / 2, len;
        const char *orig = mo_string(catalog_orig, mid, &len);
        if (!orig)
            return msgid;
        int c = strcmp(msgid, orig);
        if (c == 0) {
            const char *tr = mo_string(catalog_trans, mid, &len);
            return tr && len ? tr : msgid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return msgid;
}

const char *zb_trc(const char *ctx, const char *msgid)
{
    /* gettext's pgettext: the catalog's msgid is "ctx\004msgid" */
    char key[256];
    int n = snprintf(key, sizeof key, "%s\004%s", ctx, msgid);
    if (n < 0 || (size_t)n >= sizeof key)
        return msgid;
    const char *t = zb_tr(key);
    return t == key ? msgid : t;
}

const char *zb_label_zh(const char *code)
{
    if (!code)
        return NULL;
    static const struct {
        const char *code, *zh;
    } fixed[] = {
        {"on_time", "按时"},          {"late", "迟报"},
        {"missing", "未报"},          {"prefecture", "州应急管理局"},
        {"province", "省应急管理厅"}, {"state_council", "应急管理部"},
        {"accepted", "已签收"},       {"returned", "已退回"},
        {"unreviewed", "未审核"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(code, fixed[i].code) == 0)
            return fixed[i].zh;
    for (int g = 0; g <= 3; g++) {
        const char *name = zb_grade_name((zb_grade)g);
        if (name && strcmp(code, name) == 0)
            return zb_grade_name_zh((zb_grade)g);
    }
    int v = zb_stage_parse(code);
    if (v > 0 && zb_stage_name_zh(v))
        return zb_stage_name_zh(v);
    v = zb_industry_parse(code);
    if (v > 0 && zb_industry_name_zh(v))
        return zb_industry_name_zh(v);
    v = zb_category_parse(code);
    if (v > 0 && zb_category_name_zh(v))
        return zb_category_name_zh(v);
    return NULL;
}

const char *zb_label(const char *code)
{
    if (!code || chosen == ZB_LANG_EN)
        return code;
    const char *zh = zb_label_zh(code);
    return zh ? zh : code;
}

uint64_t zb_wan_hundredths(uint64_t yuan)
{
    return yuan / 100 + (yuan % 100 >= 50);
}

const char *zb_money_wan(uint64_t yuan, char *buf, size_t len)
{
    uint64_t hundredths = zb_wan_hundredths(yuan);
    snprintf(buf, len, "%" PRIu64 ".%02" PRIu64, hundredths / 100, hundredths % 100);
    return buf;
}

const char *zb_money(uint64_t yuan, char *buf, size_t len)
{
    if (chosen == ZB_LANG_ZH)
        return zb_money_wan(yuan, buf, len);
    snprintf(buf, len, "%" PRIu64, yuan);
    return buf;
}
