/* display.c - see display.h. */
#include "display.h"

#include <stdint.h>

/* The next code point of UTF-8 text at *pp (advanced past it). */
static uint32_t utf8_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t c = *p++;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra)
        c &= (uint32_t)(0x3F >> extra);
    for (; extra > 0 && (*p & 0xC0) == 0x80; extra--)
        c = c << 6 | (*p++ & 0x3F);
    *pp = p;
    return c;
}

/* Columns of one code point: the East Asian Wide and Fullwidth blocks that
 * matter here are 2. */
static size_t code_point_width(uint32_t c)
{
    if ((c >= 0x0300 && c <= 0x036F) || c == 0x200B || (c >= 0xFE00 && c <= 0xFE0F))
        return 0; /* combining marks, zero width space, variation selectors */
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
        (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
        (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
        (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

size_t zb_display_width(const char *s)
{
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p)
        w += code_point_width(utf8_next(&p));
    return w;
}

void zb_display_cell(FILE *f, const char *s, int width, bool right_align)
{
    int pad = width - (int)zb_display_width(s);
    if (pad < 0)
        pad = 0;
    if (right_align)
        fprintf(f, "%*s%s", pad, "", s);
    else
        fprintf(f, "%s%*s", s, pad, "");
}
