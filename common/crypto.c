/* crypto.c - see crypto.h. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

int zb_crypto_init(void) { return sodium_init() < 0 ? ZB_EIO : ZB_OK; }

void zb_sha256(const void *data, size_t len, uint8_t out[ZB_SHA256_LEN])
{
    crypto_hash_sha256(out, data, len);
}

/* TAG\0 || msg in one buffer: Ed25519 signs a contiguous message. Small
 * messages (every report we accept) use the stack. */
#define TAGGED_STACK 8192

static uint8_t *tagged_build(const char *tag, const uint8_t *msg, size_t len, uint8_t *stack,
                             size_t *out_len)
{
    size_t tlen = strlen(tag) + 1;
    if (len > SIZE_MAX - tlen)
        return NULL;
    size_t total = tlen + len;
    uint8_t *buf = total <= TAGGED_STACK ? stack : malloc(total);
    if (!buf)
        return NULL;
    memcpy(buf, tag, tlen);
    if (len)
        memcpy(buf + tlen, msg, len);
    *out_len = total;
    return buf;
}

int zb_sign_tagged(const char *tag, const uint8_t *msg, size_t len, const zb_identity *id,
                   uint8_t sig[ZB_SIG_LEN])
{
    uint8_t stack[TAGGED_STACK];
    size_t total;
    uint8_t *buf = tagged_build(tag, msg, len, stack, &total);
    if (!buf)
        return ZB_ENOMEM;
    crypto_sign_detached(sig, NULL, buf, total, id->sk);
    if (buf != stack)
        free(buf);
    return ZB_OK;
}

int zb_verify_tagged(const char *tag, const uint8_t *msg, size_t len, const uint8_t sig[ZB_SIG_LEN],
                     const uint8_t pk[ZB_PK_LEN])
{
    uint8_t stack[TAGGED_STACK];
    size_t total;
    uint8_t *buf = tagged_build(tag, msg, len, stack, &total);
    if (!buf)
        return ZB_ENOMEM;
    int rc = crypto_sign_verify_detached(sig, buf, total, pk);
    if (buf != stack)
        free(buf);
    return rc == 0 ? ZB_OK : ZB_EBADSIG;
}

void zb_identity_generate(zb_identity *id) { crypto_sign_keypair(id->pk, id->sk); }

void zb_identity_wipe(zb_identity *id) { sodium_memzero(id, sizeof *id); }

int zb_identity_save(const char *path, const zb_identity *id)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    char hex[2 * crypto_sign_SEEDBYTES + 2];
    crypto_sign_ed25519_sk_to_seed(seed, id->sk);
    zb_hex_encode(seed, sizeof seed, hex);
    sodium_memzero(seed, sizeof seed);
    size_t n = strlen(hex);
    hex[n++] = '\n';

    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        sodium_memzero(hex, sizeof hex);
        if (e == EEXIST)
            return ZB_EEXIST;
        errno = e;
        zb_log_warn_errno("ZB-KEY-WRITE", "cannot create %s", path);
        return ZB_EIO;
    }
    ssize_t w = write(fd, hex, n);
    sodium_memzero(hex, sizeof hex);
    if (w != (ssize_t)n || fsync(fd) != 0) {
        zb_log_warn_errno("ZB-KEY-WRITE", "cannot write %s", path);
        close(fd);
        unlink(path);
        return ZB_EIO;
    }
    close(fd);
    return ZB_OK;
}

/* Read the identity in path; with private_only, refuse a file that group
 * or others may read or write (checked on the open file: no race with a
 * chmod between the check and the read). */
static int identity_read(const char *path, bool private_only, zb_identity *id)
{
    char hex[2 * crypto_sign_SEEDBYTES + 8];
    FILE *f = fopen(path, "re");
    if (!f) {
        zb_log_warn_errno("ZB-KEY-READ", "cannot open %s", path);
        return ZB_EIO;
    }
    struct stat st;
    if (private_only) {
        if (fstat(fileno(f), &st) != 0) {
            zb_log_warn_errno("ZB-KEY-READ", "cannot stat %s", path);
            fclose(f);
            return ZB_EIO;
        }
        if (st.st_mode & (S_IRWXG | S_IRWXO)) {
            /* the seed signs reports (or receipts) in this office's name:
             * like ssh, refuse to use a key others may have read */
            ZB_ERR("ZB-KEY-MODE",
                   "%s has mode %04o: other users can read or change this secret key; "
                   "refusing to use it: run chmod 600 %s (and consider the key exposed "
                   "if others could log in here)",
                   path, (unsigned)(st.st_mode & 07777), path);
            fclose(f);
            return ZB_EKEYPERM;
        }
    }
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[n] = '\0';
    while (n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
        hex[--n] = '\0';
    uint8_t seed[crypto_sign_SEEDBYTES];
    int rc = zb_hex_decode(hex, seed, sizeof seed);
    sodium_memzero(hex, sizeof hex);
    if (rc != 0) {
        ZB_ERR("ZB-KEY-READ", "%s does not hold a key (64 hex digits)", path);
        return ZB_EINVAL;
    }
    crypto_sign_seed_keypair(id->pk, id->sk, seed);
    sodium_memzero(seed, sizeof seed);
    return ZB_OK;
}

int zb_identity_load(const char *path, zb_identity *id) { return identity_read(path, false, id); }

int zb_identity_load_dir(const char *dir, const uint8_t expect_pk[ZB_PK_LEN], zb_identity *id)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" ZB_IDENTITY_FILE, dir) >= (int)sizeof path)
        return ZB_EINVAL;
    int rc = identity_read(path, true, id);
    if (rc)
        return rc;
    if (sodium_memcmp(id->pk, expect_pk, ZB_PK_LEN) != 0) {
        ZB_ERR("ZB-KEY-MISMATCH", "%s is not the key this store was created with", path);
        zb_identity_wipe(id);
        return ZB_ECONFIG;
    }
    return ZB_OK;
}

void zb_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int zb_hex_decode(const char *hex, uint8_t *out, size_t len)
{
    if (!hex || strlen(hex) != 2 * len)
        return ZB_EINVAL;
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ZB_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return ZB_OK;
}
