/* err.c - descriptions of the ZB_E* codes. */
#include "err.h"

const char *zb_strerror(int err)
{
    switch (err) {
    case ZB_OK: return "success";
    case ZB_EINVAL: return "invalid argument or input";
    case ZB_ENOMEM: return "out of memory";
    case ZB_EIO: return "input/output error";
    case ZB_ESTORE: return "store (LMDB) error";
    case ZB_EMAPFULL: return "store is full (raise the map size)";
    case ZB_ENOTFOUND: return "not found";
    case ZB_EEXIST: return "already exists";
    case ZB_EDECODE: return "undecodable message";
    case ZB_ETOOBIG: return "over the size limit";
    case ZB_EBADSIG: return "signature or proof does not verify";
    case ZB_ENET: return "network (ZeroMQ) error";
    case ZB_ETIMEOUT: return "timed out";
    case ZB_ECHAIN: return "hash chain broken";
    case ZB_EGAP: return "sequence gap";
    case ZB_EEQUIVOCATION: return "equivocation: same sequence number, different report";
    case ZB_ENOTENROLLED: return "not enrolled";
    case ZB_EVALIDATION: return "report fails validation";
    case ZB_ECONFIG: return "missing or bad configuration";
    case ZB_ELOCKED: return "resource locked by another process";
    case ZB_ENOSPC: return "disk full";
    case ZB_EKEYPERM: return "key file readable by other users (chmod 600 it)";
    case ZB_EPEERKEY: return "the peer does not hold the expected key";
    default: return "unknown error";
    }
}
