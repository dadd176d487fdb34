/*
 * timefmt.h - the times zhibao reads and writes.
 *
 * Times are RFC 3339 with an explicit offset; a time written without an
 * offset is read as +08:00 (Asia/Shanghai, no DST), the only zone the
 * prefecture uses. Internally a time is Unix seconds (UTC) plus the offset,
 * in minutes, it was written with. Periods are "YYYY-MM". Pure functions,
 * no locale, no TZ environment, thread-safe.
 */
#ifndef ZB_TIMEFMT_H
#define ZB_TIMEFMT_H

#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#define ZB_CST_OFFSET_MIN 480 /* +08:00 */

/* Parse "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" ('t' and ' ' accepted
 * for 'T'; fraction truncated). No offset -> +08:00. Validates ranges
 * (month 1..12, day within the month incl. leap years, hour 0..23, minute
 * 0..59, second 0..60 with 60 folded to 59, offset within +-23:59), years
 * 1970..9999. Returns 0 or ZB_EINVAL (also for NULL s or unix_out);
 * offset_min_out may be NULL. */
int zb_time_parse(const char *s, int64_t *unix_out, int32_t *offset_min_out);

/* Parse "YYYY-MM-DD" as the start of that day at +08:00. 0 or ZB_EINVAL. */
int zb_date_parse(const char *s, int64_t *unix_out);

/* Format as "YYYY-MM-DDTHH:MM:SS+hh:mm" (or "Z" when offset is 0 and
 * use_z is nonzero) into buf (>= 26 bytes). Returns 0 or ZB_EINVAL
 * (buffer too small or time out of range). */
int zb_time_format(int64_t unix_s, int32_t offset_min, int use_z, char *buf, size_t len);

/* A time as JSON gives it: the zb_time_format string at offset_min, or
 * JSON null when out of range. zb_json_time: at +08:00, as every report,
 * status and audit document prints times. New reference (NULL when out of
 * memory). */
json_t *zb_json_time_at(int64_t unix_s, int32_t offset_min);
json_t *zb_json_time(int64_t unix_s);

/* Parse "YYYY-MM" (month 01..12, year 1970..9999). Writes year and month.
 * 0 or ZB_EINVAL. */
int zb_period_parse(const char *s, int *year, int *month);
/* Format year and month as "YYYY-MM" into buf (>= 8 bytes). */
int zb_period_format(int year, int month, char *buf, size_t len);
/* Period as a single ordinal: year*12 + (month-1). */
static inline int zb_period_ordinal(int year, int month) { return year * 12 + (month - 1); }

/* The monthly-report deadline for period (year, month): the last second of
 * day 5 of the next month at +08:00, i.e. on time <=> created_at <= result.
 * (2026-10 -> 2026-11-05T23:59:59+08:00; 2026-12 -> 2027-01-05T23:59:59+08:00) */
int64_t zb_period_deadline(int year, int month);

/* The first second of period (year, month) at +08:00 and the first second
 * of the next period, so period contains t <=> start <= t < end. */
void zb_period_bounds(int year, int month, int64_t *start, int64_t *end);

/* The period (at +08:00) that contains Unix time t (clamped to local years
 * 0000..9999). year or month may be NULL. */
void zb_period_of(int64_t t, int *year, int *month);

/* Days since 1970-01-01 for a proleptic Gregorian date (no libc, any year). */
int64_t zb_days_from_civil(int year, int month, int day);

#endif
