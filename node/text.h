/*
 * text.h - what zhibao-node says to people, in the chosen language
 * (common/i18n.h): translated messages with their formats checked, the
 * "error: FIELD: reason" lines, and table cells padded by display width
 * (a Chinese character takes two columns of a terminal).
 *
 * The field of an error line (an option, a JSON field path, "store") is
 * never translated: it is what the person types or looks for in the file.
 * Catalog: po/zh_CN/node.po. Used by node/main.c only; no state.
 */
#ifndef ZB_NODE_TEXT_H
#define ZB_NODE_TEXT_H

#include <stddef.h>
#include <stdio.h>

#include "i18n.h"

/* _(), with the result checked by the compiler as the format it
 * translates (msgfmt --check keeps every translation's conversions). */
const char *text_tr(const char *msgid) __attribute__((format_arg(1)));
#undef _
#define _(s) text_tr(s)

/* The translation of msgid in context ctx (a po msgctxt: the same English
 * word meaning two things, e.g. "missing" the field and "missing" the
 * reason); msgid itself when there is none. */
const char *text_trc(const char *ctx, const char *msgid) __attribute__((format_arg(2)));

/* One line on stderr: "error: FIELD: reason" (the word and the reason
 * translated, FIELD as given). fmt is the reason's msgid. */
void text_error(const char *field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr: "error: " and fmt translated (no field of its own). */
void text_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr: "error: " and line (already in the chosen language,
 * e.g. a validation problem added with zb_problems.localize). */
void text_error_line(const char *line);

/* "warning: " and line, on stderr. */
void text_warning_line(const char *line);

/* Terminal columns of UTF-8 text: East Asian wide and fullwidth
 * characters count two, combining marks none, the rest one. */
int text_width(const char *s);

/* s, then spaces up to width columns (none when s is as wide or wider). */
void text_pad(FILE *f, const char *s, int width);

/* One table row into buf, with its newline: each cell but the last padded
 * to its width in columns, one space between cells. Truncated to len. */
void text_row(char *buf, size_t len, const char *const *cells, const int *widths, size_t n);

#endif
