/*
 * timefmt.c - RFC 3339 times and "YYYY-MM" periods without libc time zones.
 *
 * Calendar arithmetic is Howard Hinnant's days-from-civil algorithm on the
 * proleptic Gregorian calendar, so nothing depends on TZ, the locale or the
 * platform's time_t; +08:00 is the only zone the prefecture uses and has
 * had no DST since 1991, so it is a fixed offset here.
 */
#include "timefmt.h"

#include <stdio.h>

#include "err.h"

#define SECS_PER_DAY 86400
#define CST_OFFSET_S ((int64_t)ZB_CST_OFFSET_MIN * 60)
#define MAX_OFFSET_MIN (23 * 60 + 59)
#define YEAR_MIN 1970 /* accepted by the parsers */
#define YEAR_MAX 9999

/* Floor division: rounds toward minus infinity, unlike C's '/'. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t zb_days_from_civil(int year, int month, int day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                    /* [0, 399] */
    int64_t mp = month > 2 ? month - 3 : month + 9;                 /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;                     /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
    return era * 146097 + doe - 719468; /* 719468 days from 0000-03-01 to 1970-01-01 */
}

/* Inverse of zb_days_from_civil. Callers keep days within years 0..9999 (plus
 * slack), so the year fits an int. */
static void civil_from_days(int64_t days, int *year, int *month, int *day)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return (m == 2 && is_leap(y)) ? 29 : days[m - 1];
}

/* Exactly n ASCII digits at s (locale-free; stops safely at a NUL). */
static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return ZB_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" at s with a valid calendar date; does not look past s[9]. */
static int parse_date_part(const char *s, int *y, int *m, int *d)
{
    if (digits(s, 4, y) != 0 || s[4] != '-' || digits(s + 5, 2, m) != 0 || s[7] != '-'
        || digits(s + 8, 2, d) != 0)
        return ZB_EINVAL;
    if (*y < YEAR_MIN || *y > YEAR_MAX || *m < 1 || *m > 12 || *d < 1
        || *d > days_in_month(*y, *m))
        return ZB_EINVAL;
    return 0;
}

int zb_time_parse(const char *s, int64_t *unix_out, int32_t *offset_min_out)
{
    int y, mo, d, h, mi, sec;
    if (s == NULL || unix_out == NULL || parse_date_part(s, &y, &mo, &d) != 0)
        return ZB_EINVAL;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return ZB_EINVAL;
    const char *p = s + 11;
    if (digits(p, 2, &h) != 0 || p[2] != ':' || digits(p + 3, 2, &mi) != 0 || p[5] != ':'
        || digits(p + 6, 2, &sec) != 0)
        return ZB_EINVAL;
    if (h > 23 || mi > 59 || sec > 60)
        return ZB_EINVAL;
    if (sec == 60) /* a leap second has no Unix time of its own */
        sec = 59;
    p += 8;

    if (*p == '.') { /* fraction: at least one digit, then dropped */
        p++;
        if (*p < '0' || *p > '9')
            return ZB_EINVAL;
        while (*p >= '0' && *p <= '9')
            p++;
    }

    int offset_min;
    if (*p == '\0') {
        offset_min = ZB_CST_OFFSET_MIN; /* no offset: the prefecture's +08:00 */
    } else if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        offset_min = 0;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) != 0 || p[3] != ':' || digits(p + 4, 2, &om) != 0
            || p[6] != '\0' || oh > 23 || om > 59)
            return ZB_EINVAL;
        offset_min = (*p == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
        return ZB_EINVAL;
    }

    int64_t local = zb_days_from_civil(y, mo, d) * SECS_PER_DAY + (int64_t)h * 3600
                    + (int64_t)mi * 60 + sec;
    *unix_out = local - (int64_t)offset_min * 60;
    if (offset_min_out != NULL)
        *offset_min_out = (int32_t)offset_min;
    return 0;
}

int zb_date_parse(const char *s, int64_t *unix_out)
{
    int y, m, d;
    if (s == NULL || unix_out == NULL || parse_date_part(s, &y, &m, &d) != 0 || s[10] != '\0')
        return ZB_EINVAL;
    *unix_out = zb_days_from_civil(y, m, d) * SECS_PER_DAY - CST_OFFSET_S;
    return 0;
}

int zb_time_format(int64_t unix_s, int32_t offset_min, int use_z, char *buf, size_t len)
{
    /* Representable: local years 0000..9999. Bounding unix_s first also keeps
     * the arithmetic below far from overflow. */
    static const int64_t lo = -62167219200; /* 0000-01-01T00:00:00Z */
    static const int64_t hi = 253402300799; /* 9999-12-31T23:59:59Z */
    if (buf == NULL || len < 26 || offset_min < -MAX_OFFSET_MIN || offset_min > MAX_OFFSET_MIN
        || unix_s < lo - SECS_PER_DAY || unix_s > hi + SECS_PER_DAY)
        return ZB_EINVAL;
    int64_t local = unix_s + (int64_t)offset_min * 60;
    if (local < lo || local > hi)
        return ZB_EINVAL;

    int64_t days = floor_div(local, SECS_PER_DAY);
    int64_t sod = local - days * SECS_PER_DAY; /* second of day, [0, 86399] */
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    int hh = (int)(sod / 3600), mm = (int)(sod / 60 % 60), ss = (int)(sod % 60);

    int n;
    if (offset_min == 0 && use_z) {
        n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, hh, mm, ss);
    } else {
        int abs_off = offset_min < 0 ? -offset_min : offset_min;
        n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, m, d, hh, mm, ss,
                     offset_min < 0 ? '-' : '+', abs_off / 60, abs_off % 60);
    }
    return (n < 0 || (size_t)n >= len) ? ZB_EINVAL : 0;
}

int zb_period_parse(const char *s, int *year, int *month)
{
    int y, m;
    if (s == NULL || year == NULL || month == NULL || digits(s, 4, &y) != 0 || s[4] != '-'
        || digits(s + 5, 2, &m) != 0 || s[7] != '\0')
        return ZB_EINVAL;
    if (y < YEAR_MIN || y > YEAR_MAX || m < 1 || m > 12)
        return ZB_EINVAL;
    *year = y;
    *month = m;
    return 0;
}

int zb_period_format(int year, int month, char *buf, size_t len)
{
    if (buf == NULL || len < 8 || year < 0 || year > YEAR_MAX || month < 1 || month > 12)
        return ZB_EINVAL;
    int n = snprintf(buf, len, "%04d-%02d", year, month);
    return (n < 0 || (size_t)n >= len) ? ZB_EINVAL : 0;
}

/* Unix time of the first second of day `day` of the month `months_after`
 * months after (year, month), at +08:00. Month arithmetic on the ordinal
 * keeps December -> January (and a stray month 0 or 13) correct. */
static int64_t cst_day_start(int year, int month, int months_after, int day)
{
    int64_t ord = (int64_t)year * 12 + (month - 1) + months_after;
    int64_t y = floor_div(ord, 12);
    int m = (int)(ord - y * 12) + 1;
    return zb_days_from_civil((int)y, m, day) * SECS_PER_DAY - CST_OFFSET_S;
}

int64_t zb_period_deadline(int year, int month)
{
    /* "每月5日前": inclusive of the whole of the 5th, so the last second
     * before the 6th of the next month begins. */
    return cst_day_start(year, month, 1, 6) - 1;
}

void zb_period_bounds(int year, int month, int64_t *start, int64_t *end)
{
    if (start != NULL)
        *start = cst_day_start(year, month, 0, 1);
    if (end != NULL)
        *end = cst_day_start(year, month, 1, 1);
}

void zb_period_of(int64_t t, int *year, int *month)
{
    /* Clamp to local years 0000..9999 so the arithmetic cannot overflow;
     * anything outside that range is nonsense input anyway. */
    static const int64_t lo = -62167219200 - 8 * 3600;  /* 0000-01-01T00:00:00+08:00 */
    static const int64_t hi = 253402300799 - 8 * 3600;  /* 9999-12-31T23:59:59+08:00 */
    if (t < lo)
        t = lo;
    if (t > hi)
        t = hi;
    int y, m, d;
    civil_from_days(floor_div(t + CST_OFFSET_S, SECS_PER_DAY), &y, &m, &d);
    if (year != NULL)
        *year = y;
    if (month != NULL)
        *month = m;
}

json_t *zb_json_time_at(int64_t unix_s, int32_t offset_min)
{
    char buf[40];
    return zb_time_format(unix_s, offset_min, 0, buf, sizeof buf) == 0 ? json_string(buf)
                                                                        : json_null();
}

json_t *zb_json_time(int64_t unix_s)
{
    return zb_json_time_at(unix_s, ZB_CST_OFFSET_MIN);
}
