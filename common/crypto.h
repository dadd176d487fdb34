/*
 * crypto.h - hashing, domain-separated Ed25519 signatures, identity keys.
 *
 * Every signature zhibao makes is over TAG || message, where TAG is a
 * NUL-terminated ASCII string naming what is signed ("zhibao/report/v1"),
 * so a signature on one kind of statement can never be replayed as another.
 * Keys are shown as lowercase hex (public key: 64 hex characters).
 * Call zb_crypto_init() once before anything else (sodium_init).
 */
#ifndef ZB_CRYPTO_H
#define ZB_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define ZB_PK_LEN 32
#define ZB_SK_LEN 64
#define ZB_SIG_LEN 64
#define ZB_SHA256_LEN 32

/* Domain-separation tags (the trailing NUL is part of what is signed). */
#define ZB_TAG_REPORT "zhibao/report/v1"
#define ZB_TAG_RECEIPT "zhibao/receipt/v1"
#define ZB_TAG_TREE_HEAD "zhibao/tree-head/v1"
#define ZB_TAG_DOWNSTREAM "zhibao/downstream/v1"
#define ZB_TAG_KEY_REQUEST "zhibao/key-request/v1" /* by the key to enrol (logleaf.h) */
#define ZB_TAG_KEY_CONSENT "zhibao/key-consent/v1" /* by the key a rotation replaces */
#define ZB_TAG_COSIGNATURE "zhibao/cosignature/v1" /* by a witness (cosig.h) */

typedef struct {
    uint8_t pk[ZB_PK_LEN];
    uint8_t sk[ZB_SK_LEN]; /* secret: wipe with zb_identity_wipe */
} zb_identity;

int zb_crypto_init(void);

void zb_sha256(const void *data, size_t len, uint8_t out[ZB_SHA256_LEN]);

/* Sign TAG\0 || msg. Returns 0 or ZB_ENOMEM. */
int zb_sign_tagged(const char *tag, const uint8_t *msg, size_t len, const zb_identity *id,
                   uint8_t sig[ZB_SIG_LEN]);
/* Verify a signature over TAG\0 || msg. 0 or ZB_EBADSIG (ZB_ENOMEM). */
__attribute__((warn_unused_result)) int zb_verify_tagged(const char *tag, const uint8_t *msg,
                                                         size_t len,
                                                         const uint8_t sig[ZB_SIG_LEN],
                                                         const uint8_t pk[ZB_PK_LEN]);

void zb_identity_generate(zb_identity *id);
void zb_identity_wipe(zb_identity *id);
/* Write the identity's seed as hex to path, created 0600 and never
 * overwritten (ZB_EEXIST). ZB_EIO on failure (logged). */
int zb_identity_save(const char *path, const zb_identity *id);
/* Read an identity written by zb_identity_save (any file mode: for tools
 * and tests; a node or aggregator loads its own with zb_identity_load_dir).
 * ZB_EIO / ZB_EINVAL. */
__attribute__((warn_unused_result)) int zb_identity_load(const char *path, zb_identity *id);

/* The identity file of a node or aggregator directory. */
#define ZB_IDENTITY_FILE "identity.key"

/* Load DIR/identity.key and check it is the key the store recorded
 * (expect_pk): a key file swapped under a store is refused with
 * ZB_ECONFIG; a file group or others may read or write (any of mode 077,
 * e.g. 0644) is refused with ZB_EKEYPERM, logged as ZB-KEY-MODE with the
 * file, its mode and the fix (chmod 600). Other errors as zb_identity_load. */
__attribute__((warn_unused_result)) int zb_identity_load_dir(const char *dir,
                                                             const uint8_t expect_pk[ZB_PK_LEN],
                                                             zb_identity *id);

/* hex: out must hold 2*len+1 bytes; NUL-terminated. */
void zb_hex_encode(const uint8_t *in, size_t len, char *out);
/* Decode exactly len bytes from a string of exactly 2*len hex digits.
 * 0 or ZB_EINVAL. */
__attribute__((warn_unused_result)) int zb_hex_decode(const char *hex, uint8_t *out, size_t len);

#endif
