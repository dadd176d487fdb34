/*
 * xlsx.h - a consolidation report as an Excel workbook (.xlsx, written
 * with libxlsxwriter): `zhibao-agg report KIND --format xlsx --out FILE`.
 *
 * render.h's sibling: it writes the same layout (zb_render_layout_build,
 * ZB_FORMAT_XLSX) that the table and the CSV print, so the headings and
 * labels (statuses, grades, report-to, review, stage, industry, category,
 * flags) read exactly as the table shows them in the chosen language
 * (i18n.h). One worksheet per table: the report's rows (with the total
 * rows where the report has them), then accidents' totals by county,
 * industry and grade, or the matrix's counts by month; and a last sheet
 * with the table's summary lines. Each table sheet has a bold heading row,
 * frozen, with an autofilter; columns as wide as their text by display
 * width (Chinese characters count 2).
 *
 * Cells: numbers (integers, reals) are numbers; times (RFC 3339 at
 * +08:00) are Excel date-times holding the +08:00 wall time, formatted
 * "yyyy-mm-dd hh:mm:ss"; money (the *_yuan amounts) is a number: 万元
 * rounded to 0.01 (as i18n.h zb_money), format "0.00", in Chinese, whole
 * yuan in English; labels, yes/no and flags are text as in the table;
 * null is an empty cell.
 *
 * No global state besides reading the chosen language; thread-safe
 * (libxlsxwriter keeps no global state either).
 */
#ifndef ZB_XLSX_H
#define ZB_XLSX_H

#include <jansson.h>

/* Write doc, a report of kind ("monthly", "accidents", "matrix",
 * "indicators"; consolidate.h), as a workbook to path, whole or not at
 * all: written to PATH.tmp, fsync'ed, renamed over path, the directory
 * fsync'ed (fileio.h's discipline); PATH.tmp is removed on failure. doc is
 * borrowed. 0; ZB_EINVAL (unknown kind, path too long); ZB_ENOMEM;
 * ZB_ETOOBIG (over a worksheet's 1,048,576 rows or a cell's 32,767
 * characters); ZB_EIO (the file could not be written; logged ZB-XLSX with
 * libxlsxwriter's reason or errno). */
int zb_xlsx_write(const char *path, const char *kind, const json_t *doc);

#endif
