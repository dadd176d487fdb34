/*
 * err.h - the one error convention of zhibao.
 *
 * Every function that can fail returns int: 0 (ZB_OK) on success or one of
 * the negative ZB_E* codes below. Library codes (MDB_*, zmq errno, protobuf-c
 * NULL) are translated at the module boundary where they arise.
 */
#ifndef ZB_ERR_H
#define ZB_ERR_H

enum {
    ZB_OK = 0,
    ZB_EINVAL = -1,        /* bad argument or bad input */
    ZB_ENOMEM = -2,
    ZB_EIO = -3,           /* file system or OS error (see errno in the log) */
    ZB_ESTORE = -4,        /* LMDB error */
    ZB_EMAPFULL = -5,      /* LMDB map is full: grow --map-size */
    ZB_ENOTFOUND = -6,
    ZB_EEXIST = -7,
    ZB_EDECODE = -8,       /* undecodable bytes */
    ZB_ETOOBIG = -9,       /* over a size limit */
    ZB_EBADSIG = -10,      /* signature does not verify */
    ZB_ENET = -11,         /* ZeroMQ error */
    ZB_ETIMEOUT = -12,
    ZB_ECHAIN = -13,       /* hash chain broken */
    ZB_EGAP = -14,         /* sequence gap */
    ZB_EEQUIVOCATION = -15,/* same (county, seq), different bytes */
    ZB_ENOTENROLLED = -16, /* county or key not enrolled */
    ZB_EVALIDATION = -17,  /* report content fails validation */
    ZB_ECONFIG = -18,      /* missing or bad configuration */
    ZB_ELOCKED = -19,      /* another process holds the resource */
    ZB_ENOSPC = -20,       /* the file system is full (or over quota): nothing was written */
    ZB_EKEYPERM = -21,     /* a secret key file is open to group or others */
    ZB_EPEERKEY = -22      /* the peer does not hold the public key we were given for it */
};

/* Static English description of a ZB_E* code; never NULL. */
const char *zb_strerror(int err);

#endif
