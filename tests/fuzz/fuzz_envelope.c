/*
 * fuzz_envelope.c - a stored or received Envelope and a Report's bytes:
 * zb_envelope_open (unpack, signature, strict report decode) and
 * zb_report_decode on the same arbitrary bytes. A report that decodes goes
 * on through what the aggregator and the audit tool do with it:
 * zb_report_validate and zb_report_to_json.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "fuzz.h"
#include "report.h"

/* Just over ZB_ENVELOPE_MAX, so the size checks are reached from both sides. */
#define FUZZ_ENVELOPE_MAX (ZB_ENVELOPE_MAX + 1024u)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    return 0;
}

/* What readers of a decoded report do with it. */
static void use_report(const Zb__Report *r)
{
    FUZZ_CHECK(r->version >= ZB_REPORT_VERSION_MIN && r->version <= ZB_REPORT_VERSION_RELAY &&
               r->prev_hash.len == ZB_SHA256_LEN);
    FUZZ_CHECK(r->content_case == ZB__REPORT__CONTENT_MONTHLY ||
               r->content_case == ZB__REPORT__CONTENT_ACCIDENT ||
               r->content_case == ZB__REPORT__CONTENT_RELAY ||
               r->content_case == ZB__REPORT__CONTENT_SUMMARY);
    zb_problems problems = {0};
    zb_report_validate(r, "", &problems);
    zb_problems_free(&problems);
    json_t *j = zb_report_to_json(r);
    FUZZ_CHECK(j != NULL);
    char *text = json_dumps(j, JSON_COMPACT);
    free(text);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_ENVELOPE_MAX)
        return -1;

    Zb__Envelope *env = NULL;
    Zb__Report *r = NULL;
    int rc = zb_envelope_open(data, size, &env, &r);
    if (rc == 0) {
        FUZZ_CHECK(env != NULL && r != NULL);
        use_report(r);
        zb__report__free_unpacked(r, NULL);
        zb__envelope__free_unpacked(env, NULL);
    } else {
        FUZZ_CHECK(env == NULL && r == NULL);
    }

    rc = zb_report_decode(data, size, &r);
    if (rc == 0) {
        FUZZ_CHECK(r != NULL);
        use_report(r);
        zb__report__free_unpacked(r, NULL);
    } else {
        FUZZ_CHECK(r == NULL && (rc == ZB_EDECODE || rc == ZB_ETOOBIG));
    }

    int kind = zb_report_content_kind(data, size);
    FUZZ_CHECK(kind == 0 || kind == ZB__REPORT__CONTENT_MONTHLY ||
               kind == ZB__REPORT__CONTENT_ACCIDENT || kind == ZB__REPORT__CONTENT_RELAY ||
               kind == ZB__REPORT__CONTENT_SUMMARY);

    /* the in-place view readers of the store use: stays inside the input */
    const uint8_t *rep;
    size_t rep_len;
    if (zb_envelope_report_view(data, size, &rep, &rep_len) == 0)
        FUZZ_CHECK(rep > data && rep + rep_len <= data + size && rep_len <= ZB_REPORT_MAX);
    return 0;
}
