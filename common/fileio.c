/* fileio.c - see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

char *zb_read_file(const char *path, size_t max, size_t *len, int *err)
{
    *err = ZB_OK;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        *err = ZB_EIO;
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
        if (n > max) {
            *err = ZB_ETOOBIG;
            break;
        }
        if (n + 1 == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
    }
    int saved = errno, failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf || *err || failed || n + 1 >= cap) {
        if (!*err)
            *err = !buf || n + 1 >= cap ? ZB_ENOMEM : ZB_EIO;
        free(buf);
        errno = saved;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
