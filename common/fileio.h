/*
 * fileio.h - reading a whole input file (or standard input) the way every
 * zhibao command that takes a FILE argument does, and writing a file so
 * that a crash leaves the old one or the new one, never half of one.
 */
#ifndef ZB_FILEIO_H
#define ZB_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/* The whole of path ("-" = standard input) as a NUL-terminated malloc'd
 * buffer (caller frees), its length in *len. At most max bytes: a larger
 * input returns NULL with ZB_ETOOBIG in *err; ZB_EIO (errno set) when it
 * cannot be read; ZB_ENOMEM. */
char *zb_read_file(const char *path, size_t max, size_t *len, int *err);

/* fsync the directory holding path (or path itself when is_dir): a rename
 * in it is durable once the directory is. Best effort. */
void zb_fsync_dir_of(const char *path, bool is_dir);

/* Write buf to path whole or not at all: PATH.tmp created with mode (also
 * when a stale one was left), written, fsync'ed, renamed over path, the
 * directory fsync'ed. 0, ZB_EINVAL (path too long) or ZB_EIO (logged
 * ZB-FILE; PATH.tmp removed). */
int zb_write_file_atomic(const char *path, const void *buf, size_t len, unsigned mode);

#endif
