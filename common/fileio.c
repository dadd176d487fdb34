/* fileio.c - see fileio.h. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

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

void zb_fsync_dir_of(const char *path, bool is_dir)
{
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return;
    if (!is_dir) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == dir)
            dir[1] = '\0';
        else
            *slash = '\0';
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
}

int zb_write_file_atomic(const char *path, const void *buf, size_t len, unsigned mode)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ZB_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        zb_log_warn_errno("ZB-FILE", "cannot create %s", tmp);
        return ZB_EIO;
    }
    /* a file left by an earlier run keeps its mode under O_TRUNC */
    bool ok = fchmod(fd, (mode_t)mode) == 0;
    const uint8_t *p = buf;
    for (size_t done = 0; ok && done < len;) {
        ssize_t w = write(fd, p + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        if (ok)
            done += (size_t)w;
    }
    if (!ok || fsync(fd) != 0) {
        zb_log_warn_errno("ZB-FILE", "cannot write %s", tmp);
        close(fd);
        unlink(tmp);
        return ZB_EIO;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        zb_log_warn_errno("ZB-FILE", "cannot rename %s to %s", tmp, path);
        unlink(tmp);
        return ZB_EIO;
    }
    zb_fsync_dir_of(path, false);
    return ZB_OK;
}
