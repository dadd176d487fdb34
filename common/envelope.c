/* envelope.c - see envelope.h. */
#include "envelope.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "report.h"

int zb_envelope_seal(const uint8_t *report, size_t report_len, const zb_identity *id,
                     uint8_t **out, size_t *out_len)
{
    *out = NULL;
    if (report_len > ZB_REPORT_MAX)
        return ZB_ETOOBIG;
    uint8_t sig[ZB_SIG_LEN];
    int rc = zb_sign_tagged(ZB_TAG_REPORT, report, report_len, id, sig);
    if (rc)
        return rc;
    Zb__Envelope env = ZB__ENVELOPE__INIT;
    env.report = (ProtobufCBinaryData){report_len, (uint8_t *)report};
    env.signer = (ProtobufCBinaryData){ZB_PK_LEN, (uint8_t *)id->pk};
    env.signature = (ProtobufCBinaryData){ZB_SIG_LEN, sig};
    size_t n = zb__envelope__get_packed_size(&env);
    uint8_t *buf = malloc(n);
    if (!buf)
        return ZB_ENOMEM;
    zb__envelope__pack(&env, buf);
    *out = buf;
    *out_len = n;
    return ZB_OK;
}

int zb_pb_has_unknown_fields(const ProtobufCMessage *msg)
{
    if (!msg)
        return 0;
    if (msg->n_unknown_fields)
        return 1;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)msg;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (zb_pb_has_unknown_fields(arr[j]))
                    return 1;
        } else {
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
                if (which != f->id)
                    continue;
            }
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
            if (zb_pb_has_unknown_fields(sub))
                return 1;
        }
    }
    return 0;
}

bool zb_pb_canonical(const ProtobufCMessage *msg, const uint8_t *buf, size_t len)
{
    if (protobuf_c_message_get_packed_size(msg) != len)
        return false;
    uint8_t stack[4096];
    uint8_t *out = len <= sizeof stack ? stack : malloc(len);
    if (!out)
        return false;
    protobuf_c_message_pack(msg, out);
    bool same = memcmp(out, buf, len) == 0;
    if (out != stack)
        free(out);
    return same;
}

int zb_report_decode(const uint8_t *buf, size_t len, Zb__Report **out)
{
    *out = NULL;
    if (len > ZB_REPORT_MAX)
        return ZB_ETOOBIG;
    Zb__Report *r = zb__report__unpack(NULL, len, buf);
    if (!r)
        return ZB_EDECODE;
    /* versions 1 to 3 are read (a version 1 report carrying version 2's
     * fields decodes, and zb_report_validate refuses it) */
    if (r->version < ZB_REPORT_VERSION_MIN || r->version > ZB_REPORT_VERSION_RELAY ||
        zb_pb_has_unknown_fields(&r->base) || r->prev_hash.len != ZB_SHA256_LEN ||
        r->content_case == ZB__REPORT__CONTENT__NOT_SET || !zb_pb_canonical(&r->base, buf, len)) {
        zb__report__free_unpacked(r, NULL);
        return ZB_EDECODE;
    }
    *out = r;
    return ZB_OK;
}

int zb_envelope_verify(const Zb__Envelope *env, Zb__Report **report_out)
{
    *report_out = NULL;
    if (env->signer.len != ZB_PK_LEN || env->signature.len != ZB_SIG_LEN ||
        zb_pb_has_unknown_fields(&env->base))
        return ZB_EDECODE;
    if (env->report.len > ZB_REPORT_MAX)
        return ZB_ETOOBIG;
    int rc = zb_verify_tagged(ZB_TAG_REPORT, env->report.data, env->report.len,
                              env->signature.data, env->signer.data);
    if (rc)
        return rc;
    return zb_report_decode(env->report.data, env->report.len, report_out);
}

int zb_envelope_open(const uint8_t *buf, size_t len, Zb__Envelope **env_out,
                     Zb__Report **report_out)
{
    if (env_out)
        *env_out = NULL;
    *report_out = NULL;
    if (len > ZB_ENVELOPE_MAX)
        return ZB_ETOOBIG;
    Zb__Envelope *env = zb__envelope__unpack(NULL, len, buf);
    if (!env)
        return ZB_EDECODE;
    int rc = zb_envelope_verify(env, report_out);
    if (rc == 0 && env_out)
        *env_out = env;
    else
        zb__envelope__free_unpacked(env, NULL);
    return rc;
}

int zb_envelope_report_view(const uint8_t *env, size_t len, const uint8_t **report,
                            size_t *report_len)
{
    if (len < 2 || env[0] != 0x0A)
        return ZB_EDECODE;
    uint64_t n = 0;
    size_t i = 1;
    for (int shift = 0; i < len && shift < 35; shift += 7, i++) {
        n |= (uint64_t)(env[i] & 0x7F) << shift;
        if (!(env[i] & 0x80)) {
            i++;
            if (n > ZB_REPORT_MAX || n > len - i)
                return ZB_EDECODE;
            *report = env + i;
            *report_len = (size_t)n;
            return ZB_OK;
        }
    }
    return ZB_EDECODE;
}

/* One protobuf varint at buf[*i..len); 0 or -1. */
static int read_varint(const uint8_t *buf, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *i < len && shift < 64; shift += 7) {
        uint8_t b = buf[(*i)++];
        *v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            return 0;
    }
    return -1;
}

int zb_report_content_kind(const uint8_t *report, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint64_t tag, v;
        if (read_varint(report, len, &i, &tag) != 0)
            return 0;
        uint64_t field = tag >> 3;
        switch (tag & 7) {
        case 0: /* varint */
            if (read_varint(report, len, &i, &v) != 0)
                return 0;
            break;
        case 1: /* 64-bit */
            if (len - i < 8)
                return 0;
            i += 8;
            break;
        case 2: /* length-delimited */
            if (read_varint(report, len, &i, &v) != 0 || v > len - i)
                return 0;
            if (field == 10)
                return ZB__REPORT__CONTENT_MONTHLY;
            if (field == 11)
                return ZB__REPORT__CONTENT_ACCIDENT;
            if (field == 12)
                return ZB__REPORT__CONTENT_RELAY;
            if (field == 13)
                return ZB__REPORT__CONTENT_SUMMARY;
            i += (size_t)v;
            break;
        case 5: /* 32-bit */
            if (len - i < 4)
                return 0;
            i += 4;
            break;
        default: return 0;
        }
    }
    return 0;
}
