/*
 * fuzz_report_json.c - the county clerk's JSON, as `zhibao-node submit`
 * reads it: json_loadb (duplicates refused), zb_report_from_json, the
 * header the node fills in, zb_report_validate, zb__report__pack.
 *
 * Invariants checked (each one a promise of report.h / envelope.h):
 *  - from_json returns NULL exactly when it added problems;
 *  - the packed report decodes with zb_report_decode (what the aggregator
 *    runs on the signed bytes), unless over ZB_REPORT_MAX (then ZB_ETOOBIG);
 *  - the decoded report has the same validation problems as the one the
 *    node built (one code path: the node never accepts what the prefecture
 *    refuses) and packs to the same bytes;
 *  - zb_report_to_json gives JSON in the input contract's names: read back
 *    with zb_report_from_json it is the same report, byte for byte, once
 *    the defaults it shows for an accident's absent stage and as_of
 *    (zb_report_accident_stage, zb_report_accident_as_of) are written in.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "fuzz.h"
#include "report.h"

#define FUZZ_JSON_MAX (256u * 1024u)

/* The header the node gives a report: county 222401 (延吉市), seq 1, the
 * zero chain start, created 2026-11-05T23:59:59+08:00. */
#define FUZZ_COUNTY "222401"
#define FUZZ_CREATED_AT INT64_C(1793894399)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zb_crypto_init() != 0)
        abort();
    return 0;
}

/* Fill the header as the node does; the strings and bytes are malloc'd
 * because zb__report__free_unpacked frees them. */
static void set_header(Zb__Report *r)
{
    r->county = strdup(FUZZ_COUNTY);
    r->prev_hash.data = calloc(1, ZB_SHA256_LEN);
    FUZZ_CHECK(r->county != NULL && r->prev_hash.data != NULL);
    r->prev_hash.len = ZB_SHA256_LEN;
    r->seq = 1;
    r->created_at = FUZZ_CREATED_AT;
}

/* Packed bytes of r, malloc'd. */
static uint8_t *pack(const Zb__Report *r, size_t *len)
{
    *len = zb__report__get_packed_size(r);
    uint8_t *buf = malloc(*len ? *len : 1);
    FUZZ_CHECK(buf != NULL);
    FUZZ_CHECK(zb__report__pack(r, buf) == *len);
    return buf;
}

static int same_problems(const zb_problems *a, const zb_problems *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->lines[i], b->lines[i]) != 0)
            return 0;
    return 1;
}

/* An accident's absent stage and as_of set to the defaults to_json shows. */
static void make_defaults_explicit(Zb__Report *r)
{
    if (r->content_case != ZB__REPORT__CONTENT_ACCIDENT || r->version < 2)
        return;
    Zb__AccidentReport *a = r->accident;
    a->stage = zb_report_accident_stage(a);
    a->has_stage = 1;
    if (!a->as_of) {
        int32_t off;
        int64_t t = zb_report_accident_as_of(r, &off);
        a->as_of = malloc(sizeof *a->as_of);
        FUZZ_CHECK(a->as_of != NULL);
        zb__time__init(a->as_of);
        a->as_of->unix = t;
        a->as_of->offset_min = off;
    }
}

/* zb_report_to_json of r, read back with zb_report_from_json: the same
 * bytes as r's (r has its defaults written in). */
static void check_json_round_trip(const Zb__Report *r, const uint8_t *bytes, size_t len)
{
    json_t *j = zb_report_to_json(r);
    FUZZ_CHECK(j != NULL);
    zb_problems problems = {0};
    Zb__Report *again = zb_report_from_json(j, "", &problems, NULL);
    if (again == NULL) {
        for (size_t i = 0; i < problems.n; i++)
            fprintf(stderr, "to_json/from_json: %s\n", problems.lines[i]);
    }
    FUZZ_CHECK(again != NULL);
    set_header(again);
    size_t len2;
    uint8_t *bytes2 = pack(again, &len2);
    FUZZ_CHECK(len2 == len && memcmp(bytes2, bytes, len) == 0);
    free(bytes2);
    zb__report__free_unpacked(again, NULL);
    zb_problems_free(&problems);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_JSON_MAX)
        return -1;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        return 0;

    zb_problems problems = {0}, warnings = {0}, problems2 = {0};
    uint8_t *bytes = NULL;
    Zb__Report *decoded = NULL;
    Zb__Report *r = zb_report_from_json(j, "", &problems, &warnings);
    if (!r) {
        FUZZ_CHECK(problems.n > 0);
        goto done;
    }
    FUZZ_CHECK(problems.n == 0);
    set_header(r);
    zb_report_validate(r, "", &problems);

    size_t len;
    bytes = pack(r, &len);
    int rc = zb_report_decode(bytes, len, &decoded);
    if (len > ZB_REPORT_MAX) {
        FUZZ_CHECK(rc == ZB_ETOOBIG && decoded == NULL);
        goto done;
    }
    FUZZ_CHECK(rc == 0 && decoded != NULL); /* the round trip */

    zb_report_validate(decoded, "", &problems2);
    FUZZ_CHECK(same_problems(&problems, &problems2));
    size_t len2;
    uint8_t *bytes2 = pack(decoded, &len2);
    FUZZ_CHECK(len2 == len && memcmp(bytes2, bytes, len) == 0);
    free(bytes2);

    make_defaults_explicit(decoded);
    bytes2 = pack(decoded, &len2);
    check_json_round_trip(decoded, bytes2, len2);
    free(bytes2);

done:
    zb__report__free_unpacked(decoded, NULL);
    zb__report__free_unpacked(r, NULL);
    free(bytes);
    zb_problems_free(&problems);
    zb_problems_free(&problems2);
    zb_problems_free(&warnings);
    json_decref(j);
    return 0;
}
