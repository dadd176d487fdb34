/*
 * fuzz_time.c - the time texts of reports and command lines: zb_time_parse,
 * zb_date_parse and zb_period_parse on a NUL-terminated copy of the input.
 * What parses must survive zb_time_format / zb_period_format and parse back
 * to the same instant, offset, date or period, and lie inside its own
 * period (timefmt.h). The input's first 12 bytes, read as a Unix time and
 * an offset, also go through zb_time_format and zb_period_of, which must
 * refuse or clamp any value without overflow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "timefmt.h"

#define FUZZ_TIME_MAX 256u /* longer texts differ only in fraction digits */
#define MAX_OFFSET_MIN (23 * 60 + 59)
/* zb_period_of clamps outside local (+08:00) years 0000..9999. */
#define PERIOD_OF_LO (INT64_C(-62167219200) - 8 * 3600)
#define PERIOD_OF_HI (INT64_C(253402300799) - 8 * 3600)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* t lies in the +08:00 period zb_period_of names. */
static void check_period_of(int64_t t)
{
    int y, m;
    zb_period_of(t, &y, &m);
    FUZZ_CHECK(y >= 0 && y <= 9999 && m >= 1 && m <= 12);
    if (t < PERIOD_OF_LO || t > PERIOD_OF_HI)
        return; /* clamped */
    int64_t start, end;
    zb_period_bounds(y, m, &start, &end);
    FUZZ_CHECK(start <= t && t < end);
}

/* (t, off) formats and parses back to itself. */
static void check_time_round_trip(int64_t t, int32_t off)
{
    for (int use_z = 0; use_z <= 1; use_z++) {
        char buf[26]; /* the documented minimum */
        FUZZ_CHECK(zb_time_format(t, off, use_z, buf, sizeof buf) == 0);
        int64_t t2;
        int32_t off2;
        FUZZ_CHECK(zb_time_parse(buf, &t2, &off2) == 0);
        FUZZ_CHECK(t2 == t && off2 == off);
    }
}

static void check_text(const char *s)
{
    int64_t t;
    int32_t off;
    if (zb_time_parse(s, &t, &off) == 0) {
        FUZZ_CHECK(off >= -MAX_OFFSET_MIN && off <= MAX_OFFSET_MIN);
        check_time_round_trip(t, off);
        check_period_of(t);
    }

    if (zb_date_parse(s, &t) == 0) {
        char buf[40];
        FUZZ_CHECK(zb_time_format(t, ZB_CST_OFFSET_MIN, 0, buf, sizeof buf) == 0);
        FUZZ_CHECK(memcmp(buf, s, 10) == 0 && strcmp(buf + 10, "T00:00:00+08:00") == 0);
        check_period_of(t);
    }

    int y, m;
    if (zb_period_parse(s, &y, &m) == 0) {
        FUZZ_CHECK(y >= 1970 && y <= 9999 && m >= 1 && m <= 12);
        char buf[8];
        FUZZ_CHECK(zb_period_format(y, m, buf, sizeof buf) == 0 && strcmp(buf, s) == 0);
        int64_t start, end;
        zb_period_bounds(y, m, &start, &end);
        FUZZ_CHECK(start < end && zb_period_deadline(y, m) > end);
        int y2, m2;
        zb_period_of(start, &y2, &m2);
        FUZZ_CHECK(y2 == y && m2 == m);
        zb_period_of(end - 1, &y2, &m2);
        FUZZ_CHECK(y2 == y && m2 == m);
    }
}

/* Arbitrary binary times: refused or formatted, never overflowing. */
static void check_binary(const uint8_t *data, size_t size)
{
    int64_t t;
    int32_t off;
    if (size < sizeof t + sizeof off)
        return;
    memcpy(&t, data, sizeof t);
    memcpy(&off, data + sizeof t, sizeof off);
    char buf[40];
    if (zb_time_format(t, off, 1, buf, sizeof buf) == 0) {
        FUZZ_CHECK(off >= -MAX_OFFSET_MIN && off <= MAX_OFFSET_MIN);
        int64_t t2;
        int32_t off2;
        if (zb_time_parse(buf, &t2, &off2) == 0) /* years before 1970 are refused */
            FUZZ_CHECK(t2 == t && off2 == off);
    }
    check_period_of(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_TIME_MAX)
        return -1;
    char *s = malloc(size + 1); /* exact size: ASan sees any read past the NUL */
    FUZZ_CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    check_text(s);
    free(s);
    check_binary(data, size);
    return 0;
}
