/*
 * i18n.h - the language of what people read: Chinese (zh) or English (en).
 *
 * Chosen once by main: --lang zh|en when given, else the locale variables
 * as gettext reads them (LC_ALL, then LC_MESSAGES, then LANG: a value
 * starting "zh" is Chinese), else English. Human-facing text goes through
 * _(): a GNU gettext catalog (domain "zhibao", built from po/ with msgfmt
 * into share/locale/zh_CN/LC_MESSAGES/zhibao.mo next to the binaries' bin/,
 * or under $ZB_LOCALEDIR), read by this module itself. Machine output never
 * changes with the language: JSON, log ids, exit codes, the log lines
 * themselves (English, for operators and grep).
 *
 * Nothing else in the process changes: no setlocale, no LANGUAGE (libintl
 * would translate libc's strerror too, into '?' under the "C" codeset and
 * into the English log lines). The system needs no zh_CN locale; the
 * catalog's strings are UTF-8 and printed as they are.
 *
 * The chosen language is the one process-wide setting besides the logger
 * (set by main before any thread starts, read-only afterwards).
 */
#ifndef ZB_I18N_H
#define ZB_I18N_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ZB_LANG_EN = 0, ZB_LANG_ZH = 1 } zb_lang;

/* Choose the language (override: "zh", "en", or NULL for the locale) and
 * bind the catalog. 0, or ZB_EINVAL for an override that is neither. */
int zb_i18n_init(const char *override);

zb_lang zb_i18n_lang(void);

/* For tests (a damaged or hostile catalog): the catalog becomes a copy of
 * the .mo bytes mo, len of them, in place of the one loaded (mo NULL:
 * none, so the next zb_i18n_init in Chinese loads it again). 0; ZB_EINVAL
 * when the bytes are no catalog (none is used then); ZB_ENOMEM. */
int zb_i18n_use_catalog(const void *mo, size_t len);

/* The translation of msgid in the chosen language (msgid itself in English
 * or when the catalog lacks it). The result is static: never free it. */
const char *zb_tr(const char *msgid) __attribute__((format_arg(1)));

/* The translation of msgid in context ctx (a po msgctxt: the same English
 * word meaning two things, e.g. "missing" the field and "missing" the
 * reason, or a table heading another program translates otherwise);
 * msgid itself when the catalog has none. Static, as zb_tr's. */
const char *zb_trc(const char *ctx, const char *msgid) __attribute__((format_arg(2)));

#define _(s) zb_tr(s)
#define N_(s) (s) /* marks a string for xgettext, translated where it is used */

/* Domain labels, in the chosen language: a filing status ("on_time",
 * "late", "missing"), a grade ("general", "larger", "serious",
 * "especially_serious"), where an accident must be reported ("prefecture",
 * "province", "state_council"), a review state ("accepted", "returned",
 * "unreviewed"), a report's stage ("initial", "supplement", "closing",
 * "write_off"), an industry or category code name (as the JSON gives
 * them; the Chinese names are domain.h's). English: the code itself. Unknown codes come back unchanged. */
const char *zb_label(const char *code);

/* The Chinese of such a label whatever the language (the bulletin is
 * Chinese always); NULL for a code it does not know, or NULL. */
const char *zb_label_zh(const char *code);

/* Money as an office reads it: Chinese, 万元 with two decimals ("12.35");
 * English, whole yuan ("123456"). Writes into buf; returns buf. */
const char *zb_money(uint64_t yuan, char *buf, size_t len);

/* Yuan in hundredths of 万元 (units of 100 yuan), rounded half up: the
 * one rounding of every 万元 figure (zb_money, the workbook's cells, the
 * bulletin). */
uint64_t zb_wan_hundredths(uint64_t yuan);

/* Yuan as 万元 with two decimals ("12.35") whatever the language (the
 * bulletin is Chinese always). Writes into buf; returns buf. */
const char *zb_money_wan(uint64_t yuan, char *buf, size_t len);

#endif
