/* xlsx.c - see xlsx.h. */
#include "xlsx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "display.h"
#include "err.h"
#include "fileio.h"
#include "i18n.h"
#include "log.h"
#include "render.h"
#include "timefmt.h"

#define EXCEL_EPOCH_DAYS 25569.0 /* 1970-01-01 as an Excel serial date (from 1899-12-30) */
#define WIDTH_MIN        4
#define WIDTH_MAX        60 /* columns; a longer cell wraps nothing, it is just cut off on screen */
#define NOTES_WIDTH      120

typedef struct {
    lxw_workbook *wb;
    lxw_format *head;  /* bold */
    lxw_format *time;  /* yyyy-mm-dd hh:mm:ss */
    lxw_format *money; /* 0.00 in Chinese (万元), NULL in English (whole yuan) */
    bool zh;
} book;

/* libxlsxwriter's codes as ours. */
static int from_lxw(lxw_error e)
{
    switch (e) {
    case LXW_NO_ERROR: return ZB_OK;
    case LXW_ERROR_MEMORY_MALLOC_FAILED: return ZB_ENOMEM;
    case LXW_ERROR_WORKSHEET_INDEX_OUT_OF_RANGE:
    case LXW_ERROR_MAX_STRING_LENGTH_EXCEEDED: return ZB_ETOOBIG;
    default: return ZB_EIO;
    }
}

/* An RFC 3339 time as an Excel serial date-time of its +08:00 wall time. */
static bool excel_time(const char *s, double *serial)
{
    int64_t t;
    if (zb_time_parse(s, &t, NULL) != 0)
        return false;
    int64_t wall = t + (int64_t)ZB_CST_OFFSET_MIN * 60;
    *serial = (double)(wall / 86400) + (double)(wall % 86400) / 86400.0 + EXCEL_EPOCH_DAYS;
    return wall >= 0;
}

/* Write one cell of kind from v at (row, col); *width: the display width
 * of the text the table shows for it (a time: its format's). A null (or
 * absent) value stays empty. */
static lxw_error write_cell(const book *b, lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
                            const json_t *v, zb_cell_kind kind, size_t *width)
{
    *width = 0;
    if (!v || json_is_null(v))
        return LXW_NO_ERROR;
    double serial;
    if (kind == ZB_CELL_TIME && json_is_string(v) && excel_time(json_string_value(v), &serial)) {
        *width = 19; /* yyyy-mm-dd hh:mm:ss */
        return worksheet_write_number(ws, row, col, serial, b->time);
    }
    char *s = zb_render_cell_text(v, kind, ZB_FORMAT_XLSX);
    if (!s)
        return LXW_ERROR_MEMORY_MALLOC_FAILED;
    *width = zb_display_width(s);
    lxw_error e = LXW_NO_ERROR;
    if (kind == ZB_CELL_MONEY && json_is_integer(v) && json_integer_value(v) >= 0) {
        uint64_t yuan = (uint64_t)json_integer_value(v);
        if (b->zh) /* 万元 rounded to 0.01 as the table shows it */
            e = worksheet_write_number(ws, row, col, (double)zb_wan_hundredths(yuan) / 100.0,
                                       b->money);
        else
            e = worksheet_write_number(ws, row, col, (double)yuan, NULL);
    } else if ((kind == ZB_CELL_NUMBER || kind == ZB_CELL_MONEY) && json_is_number(v)) {
        e = worksheet_write_number(ws, row, col, json_number_value(v), NULL);
    } else if (*s) {
        /* text: labels, names, yes/no, flags, as the table shows them */
        e = worksheet_write_string(ws, row, col, s, NULL);
    }
    free(s);
    return e;
}

/* One table as a worksheet: bold frozen headings with an autofilter, the
 * rows, columns as wide as their widest cell. */
static int write_sheet(const book *b, const zb_render_table *t)
{
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, t->title);
    if (!ws)
        return ZB_EIO;
    size_t n_rows = json_array_size(t->rows);
    if (n_rows + 1 > LXW_ROW_MAX || t->n_cols > LXW_COL_MAX)
        return ZB_ETOOBIG;
    size_t *width = calloc(t->n_cols + 1, sizeof *width);
    if (!width)
        return ZB_ENOMEM;
    lxw_error e = LXW_NO_ERROR;
    for (size_t c = 0; c < t->n_cols && !e; c++) {
        width[c] = zb_display_width(t->cols[c].head) + 1; /* bold */
        e = worksheet_write_string(ws, 0, (lxw_col_t)c, t->cols[c].head, b->head);
    }
    for (size_t r = 0; r < n_rows && !e; r++) {
        const json_t *row = json_array_get(t->rows, r);
        for (size_t c = 0; c < t->n_cols && !e; c++) {
            size_t w;
            e = write_cell(b, ws, (lxw_row_t)(r + 1), (lxw_col_t)c,
                           json_object_get(row, t->cols[c].key),
                           zb_render_cell_kind(row, &t->cols[c]), &w);
            if (w > width[c])
                width[c] = w;
        }
    }
    for (size_t c = 0; c < t->n_cols && !e; c++) {
        size_t w = width[c] + 2;
        w = w < WIDTH_MIN ? WIDTH_MIN : w > WIDTH_MAX ? WIDTH_MAX : w;
        e = worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, (double)w, NULL);
    }
    free(width);
    if (!e && t->n_cols > 0) {
        worksheet_freeze_panes(ws, 1, 0);
        e = worksheet_autofilter(ws, 0, 0, (lxw_row_t)n_rows, (lxw_col_t)(t->n_cols - 1));
    }
    return from_lxw(e);
}

/* The summary lines, one a row. */
static int write_notes(const book *b, const char *notes)
{
    lxw_worksheet *ws = workbook_add_worksheet(b->wb, _("notes"));
    if (!ws)
        return ZB_EIO;
    lxw_error e = worksheet_set_column(ws, 0, 0, NOTES_WIDTH, NULL);
    lxw_row_t row = 0;
    for (const char *p = notes; *p && !e; row++) {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n);
        if (!line)
            return ZB_ENOMEM;
        if (*line)
            e = worksheet_write_string(ws, row, 0, line, NULL);
        free(line);
        p += n + (p[n] == '\n');
    }
    return from_lxw(e);
}

/* fsync a file written by name (libxlsxwriter closes it without). */
static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ZB_EIO;
    int rc = fsync(fd) == 0 ? ZB_OK : ZB_EIO;
    close(fd);
    return rc;
}

int zb_xlsx_write(const char *path, const char *kind, const json_t *doc)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ZB_EINVAL;
    zb_render_layout l;
    int rc = zb_render_layout_build(kind, doc, ZB_FORMAT_XLSX, &l);
    if (rc) {
        zb_render_layout_free(&l);
        return rc;
    }
    book b = {.zh = zb_i18n_lang() == ZB_LANG_ZH};
    b.wb = workbook_new(tmp);
    if (!b.wb) {
        zb_render_layout_free(&l);
        return ZB_ENOMEM;
    }
    if (!(b.head = workbook_add_format(b.wb)) || !(b.time = workbook_add_format(b.wb)) ||
        (b.zh && !(b.money = workbook_add_format(b.wb)))) {
        rc = ZB_ENOMEM;
    } else {
        format_set_bold(b.head);
        format_set_num_format(b.time, "yyyy-mm-dd hh:mm:ss");
        if (b.money)
            format_set_num_format(b.money, "0.00");
    }
    for (size_t i = 0; rc == 0 && i < l.n_tables; i++)
        rc = write_sheet(&b, &l.tables[i]);
    if (rc == 0 && *l.notes)
        rc = write_notes(&b, l.notes);
    zb_render_layout_free(&l);
    /* the workbook is written (to tmp) and freed here, whatever came before */
    lxw_error e = workbook_close(b.wb);
    if (rc == 0 && e) {
        ZB_ERR("ZB-XLSX", "cannot write %s: %s", tmp, lxw_strerror(e));
        rc = from_lxw(e);
    }
    if (rc == 0 && fsync_path(tmp) != 0) {
        zb_log_warn_errno("ZB-XLSX", "fsync %s", tmp);
        rc = ZB_EIO;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        zb_log_warn_errno("ZB-XLSX", "rename %s to %s", tmp, path);
        rc = ZB_EIO;
    }
    if (rc) {
        unlink(tmp);
        return rc;
    }
    zb_fsync_dir_of(path, false);
    return ZB_OK;
}
