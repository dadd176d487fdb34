/*
 * render.h - how the consolidation reports are written out: the JSON
 * document as built (json), or its rows as CSV (RFC 4180, CRLF) or as an
 * aligned terminal table with a summary line (table); xlsx.h writes the
 * same rows as an Excel workbook.
 *
 * The reports (consolidate.h) build one JSON document each; this module
 * only renders it. `zhibao-agg report` prints through zb_render_print, and
 * the dashboard's API (web.c) answers with the same function's json
 * output, so the two are byte-identical. The column definitions of each
 * report (JSON member, heading, kind of cell) live here, as a layout
 * (zb_render_layout_build) that the table, the CSV and the workbook share.
 *
 * Language (i18n.h, chosen by main): table, CSV and workbook headings and
 * labels (statuses, grades, report-to, review, stage, industry, category,
 * flags, yes/no) are in the chosen language; in Chinese, money columns
 * (the JSON's *_yuan amounts) read 万元 with two decimals and the CSV
 * starts with a UTF-8 byte order mark (Excel on Chinese Windows needs it
 * to read UTF-8). English is as it always was: the CSV header is the JSON
 * member names, money is whole yuan, no BOM. The json format never
 * changes with the language.
 *
 * No global state besides reading the chosen language; thread-safe.
 */
#ifndef ZB_RENDER_H
#define ZB_RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "timefmt.h" /* zb_json_time, for the reports' callers */

typedef enum {
    ZB_FORMAT_TABLE = 0,
    ZB_FORMAT_CSV = 1,
    ZB_FORMAT_JSON = 2,
    ZB_FORMAT_XLSX = 3 /* a workbook file: xlsx.h, never printed by zb_render_print */
} zb_format;

/* "table" / "csv" / "json" / "xlsx" -> format; NULL -> ZB_FORMAT_TABLE; -1 when unknown. */
int zb_format_parse(const char *s);

/* Print doc, a document of report kind ("monthly", "accidents", "matrix",
 * "indicators"; built by consolidate.h), in format fmt to f, and flush f.
 * json: the document as is, indented by 2, members in order, reals to 15
 * significant digits, then a newline. csv and table: the rows under the
 * kind's columns (table adds the totals and a summary line), in the
 * chosen language (above). doc is borrowed. 0, ZB_ENOMEM, ZB_EINVAL for
 * ZB_FORMAT_XLSX, or ZB_EIO when writing to f failed. */
int zb_render_print(FILE *f, const char *kind, const json_t *doc, zb_format fmt);

/* As zb_render_print, into the file path, whole or not at all (fileio.h
 * zb_write_file_atomic, mode 0644). 0, ZB_ENOMEM, ZB_EINVAL (xlsx, or path
 * too long), ZB_EIO (logged ZB-FILE). */
int zb_render_write_file(const char *path, const char *kind, const json_t *doc, zb_format fmt);


/* A real as the reports give it: x rounded to 6 decimal places (half away
 * from zero; as is beyond +-10^12, where that cannot matter), which the
 * json format then prints to 15 significant digits. New reference, or
 * NULL when out of memory. */
json_t *zb_json_real6(double x);

/* ---- the layout: what the table, the CSV and the workbook show ---- */

/* How a column's cells read. */
typedef enum {
    ZB_CELL_TEXT,   /* a string as given (codes, names, ids) */
    ZB_CELL_COUNTY, /* a county code, or the "total" / "reporting" row's name (translated) */
    ZB_CELL_LABEL,  /* a code read through i18n.h zb_label (status, grade, report_to, ...) */
    ZB_CELL_NUMBER, /* an integer or a real */
    ZB_CELL_MONEY,  /* whole yuan: 万元 with two decimals in Chinese (i18n.h zb_money) */
    ZB_CELL_TIME,   /* RFC 3339 at +08:00 */
    ZB_CELL_BOOL,   /* true "yes"; false blank in the table (CSV: true/false) */
    ZB_CELL_YESNO,  /* as BOOL, but false reads "no" in the table (on_track) */
    ZB_CELL_FLAGS   /* an array of flag codes, comma-separated, each translated */
} zb_cell_kind;

typedef struct {
    const char *key;  /* JSON member of a row */
    const char *head; /* heading as shown (translated; static or borrowed from the doc) */
    zb_cell_kind kind;
} zb_render_col;

typedef struct {
    const char *title;   /* what the table is (a worksheet's name), translated; static */
    zb_render_col *cols; /* n_cols of them */
    size_t n_cols;
    json_t *rows; /* JSON array of row objects: a missing member is null */
} zb_render_table;

#define ZB_RENDER_MAX_TABLES 4

typedef struct {
    zb_render_table tables[ZB_RENDER_MAX_TABLES]; /* the first: the report's rows */
    size_t n_tables;
    char *notes; /* the summary lines under the table ("" for csv), each ending in '\n' */
} zb_render_layout;

/* The tables of a report of kind (as zb_render_print) in fmt: ZB_FORMAT_TABLE
 * (the terminal's columns and order; the totals tables of accidents),
 * ZB_FORMAT_CSV (the CSV's columns and order, the first table only, no
 * notes; English headings are the JSON member names) or ZB_FORMAT_XLSX
 * (every column in the table's order and headings, every table, including
 * the matrix's totals by month). Fills *out (zb_render_layout_free it,
 * also after a failure); it borrows strings of doc, which must outlive it.
 * 0, ZB_ENOMEM, ZB_EINVAL (fmt json). */
int zb_render_layout_build(const char *kind, const json_t *doc, zb_format fmt,
                           zb_render_layout *out);
void zb_render_layout_free(zb_render_layout *l);

/* The kind of row's cell in column col: col->kind, except in a row of
 * counts (the monthly report's "reporting" row: how many counties gave
 * each figure), where a money column holds a count: ZB_CELL_NUMBER. */
zb_cell_kind zb_render_cell_kind(const json_t *row, const zb_render_col *col);

/* One cell's text as the table (fmt ZB_FORMAT_TABLE or ZB_FORMAT_XLSX) or
 * the CSV (ZB_FORMAT_CSV) shows it, in the chosen language; null reads "-"
 * in the table, "" in the CSV. malloc'd (caller frees); NULL when out of
 * memory. */
char *zb_render_cell_text(const json_t *v, zb_cell_kind kind, zb_format fmt);

#endif
