/*
 * display.h - how wide UTF-8 text shows in a terminal, and cells padded to
 * a width in columns: a Chinese character takes two columns, so padding
 * by bytes (printf's %-20s) misaligns every table with Chinese in it.
 *
 * Used by the four programs' tables (status, list, timeliness, ...) and
 * by the aggregator's reports (render.h: table widths, xlsx column
 * widths). No state.
 */
#ifndef ZB_DISPLAY_H
#define ZB_DISPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Terminal columns of UTF-8 text s: East Asian wide and fullwidth
 * characters (CJK, Hangul, fullwidth forms, CJK punctuation) count 2,
 * combining marks, the zero width space and variation selectors 0, the
 * rest 1. A broken sequence counts 1 for its lead byte and the
 * continuation bytes it has. */
size_t zb_display_width(const char *s);

/* s written to f and padded with spaces to width columns: on the right
 * (left-aligned) or, right_align, on the left. Nothing is added when s is
 * as wide or wider. */
void zb_display_cell(FILE *f, const char *s, int width, bool right_align);

#endif
