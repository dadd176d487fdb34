/*
 * render.h - how the consolidation reports are written out: the JSON
 * document as built (json), or its rows as CSV (RFC 4180, CRLF) or as an
 * aligned terminal table with a summary line (table).
 *
 * The reports (consolidate.h) build one JSON document each; this module
 * only renders it. `zhibao-agg report` prints through zb_render_print, and
 * the dashboard's API (web.c) answers with the same function's json
 * output, so the two are byte-identical. The column definitions of each
 * report (JSON member, CSV header, table header, alignment) live here.
 * No global state; all functions are thread-safe.
 */
#ifndef ZB_RENDER_H
#define ZB_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { ZB_FORMAT_TABLE = 0, ZB_FORMAT_CSV = 1, ZB_FORMAT_JSON = 2 } zb_format;

/* "table" / "csv" / "json" -> format; NULL -> ZB_FORMAT_TABLE; -1 when unknown. */
int zb_format_parse(const char *s);

/* Print doc, a document of report kind ("monthly", "accidents", "matrix",
 * "indicators"; built by consolidate.h), in format fmt to f, and flush f.
 * json: the document as is, indented by 2, members in order, reals to 15
 * significant digits, then a newline. csv and table: the rows under the
 * kind's columns (table adds the totals and a summary line). doc is
 * borrowed. 0, ZB_ENOMEM, or ZB_EIO when writing to f failed. */
int zb_render_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt);

/* A time (Unix s) as the reports give it: an RFC 3339 string at +08:00
 * ("2026-10-14T08:30:00+08:00"); JSON null when t is out of the years
 * 0000..9999. New reference, or NULL when out of memory. */
json_t *zb_json_time(int64_t t);

/* A real as the reports give it: x rounded to 6 decimal places (half away
 * from zero; as is beyond +-10^12, where that cannot matter), which the
 * json format then prints to 15 significant digits. New reference, or
 * NULL when out of memory. */
json_t *zb_json_real6(double x);

/* Display width of UTF-8 text s in a terminal: East Asian wide and
 * fullwidth characters count 2 columns, others 1. */
size_t zb_display_width(const char *s);

#endif
