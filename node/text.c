/* text.c - see text.h. */
#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

const char *text_tr(const char *msgid)
{
    return zb_tr(msgid);
}

const char *text_trc(const char *ctx, const char *msgid)
{
    /* gettext's pgettext: the msgid in the catalog is "ctx\004msgid" */
    char key[256];
    int n = snprintf(key, sizeof key, "%s\004%s", ctx, msgid);
    if (n < 0 || (size_t)n >= sizeof key)
        return msgid;
    const char *t = zb_tr(key);
    return t == key || strcmp(t, key) == 0 ? msgid : t;
}

void text_error(const char *field, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, _(fmt), ap);
    va_end(ap);
    /* one write per line: lines of concurrent processes stay whole */
    fprintf(stderr, "%s: %s: %s\n", _("error"), field, line);
}

void text_errorf(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, _(fmt), ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", _("error"), line);
}

void text_error_line(const char *line)
{
    fprintf(stderr, "%s: %s\n", _("error"), line);
}

void text_warning_line(const char *line)
{
    fprintf(stderr, "%s: %s\n", _("warning"), line);
}

/* Wide (two columns): the East Asian Wide and Fullwidth blocks that
 * matter here (CJK, Hangul, fullwidth forms, CJK punctuation). */
static int cp_width(uint32_t c)
{
    if (c == 0)
        return 0;
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

int text_width(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    int w = 0;
    while (*s) {
        uint32_t c = *s;
        int n = 0;
        if (c >= 0xF0)
            c &= 0x07, n = 3;
        else if (c >= 0xE0)
            c &= 0x0F, n = 2;
        else if (c >= 0xC0)
            c &= 0x1F, n = 1;
        s++;
        for (; n > 0 && (*s & 0xC0) == 0x80; n--, s++)
            c = c << 6 | (*s & 0x3F);
        w += cp_width(c);
    }
    return w;
}

void text_pad(FILE *f, const char *s, int width)
{
    fputs(s, f);
    for (int w = text_width(s); w < width; w++)
        fputc(' ', f);
}

void text_row(char *buf, size_t len, const char *const *cells, const int *widths, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        const char *c = cells[i] ? cells[i] : "";
        int pad = i + 1 < n ? widths[i] - text_width(c) : 0;
        int w = snprintf(buf + used, len - used, "%s%*s%s", c, pad > 0 ? pad : 0, "",
                         i + 1 < n ? " " : "\n");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used >= len && len > 1) /* truncated: still one line */
        buf[len - 2] = '\n';
}
