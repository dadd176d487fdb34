/*
 * fileio.h - reading a whole input file (or standard input) the way every
 * zhibao command that takes a FILE argument does.
 */
#ifndef ZB_FILEIO_H
#define ZB_FILEIO_H

#include <stddef.h>

/* The whole of path ("-" = standard input) as a NUL-terminated malloc'd
 * buffer (caller frees), its length in *len. At most max bytes: a larger
 * input returns NULL with ZB_ETOOBIG in *err; ZB_EIO (errno set) when it
 * cannot be read; ZB_ENOMEM. */
char *zb_read_file(const char *path, size_t max, size_t *len, int *err);

#endif
