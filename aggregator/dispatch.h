/*
 * dispatch.h - the prefecture's acts toward its counties: reviews of their
 * reports, reminders, moved deadlines and notices (docs/protocol.md
 * "Downstream messages").
 *
 * Every act builds one downstream message per county it addresses
 * (downstream.h), numbers it after the county's last, signs it with the
 * aggregator key, stores it (astore.h) and appends it to the transparency
 * log, then signs a new tree head: all in one write transaction, so the
 * messages of one act are stored and logged together or not at all. The
 * aggregator must be opened writable (its key signs). A running serve
 * delivers what was stored (server.h), whichever process stored it.
 *
 * Acts return 0, ZB_EVALIDATION with one "FIELD: reason" line per problem
 * in *p (nothing stored), or a store error (ZB_ESTORE, ZB_EMAPFULL after
 * the map could not grow, ZB_ENOSPC..., nothing stored). *out (may be
 * NULL) gets a malloc'd array of what was sent (caller frees), *n its
 * length: 0 when the act addressed nobody (no county enrolled, none
 * missing), which is not an error.
 */
#ifndef ZB_DISPATCH_H
#define ZB_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "report.h"

/* One message sent. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    uint64_t number;
    char accident_id[ZB_ACCIDENT_ID_MAX + 1]; /* a supplement reminder's; else "" */
    int64_t due_at;                           /* a reminder's; else 0 */
} zb_dispatched;

/* Review county's report seq: accepted (accept) or returned for
 * correction, with an optional comment (<= 4000 characters) and the
 * reviewer's name (<= 64). The county must be enrolled (or have been) and
 * the report stored ("seq: ..." otherwise). */
int zb_dispatch_review(zb_agg *a, const char *county, uint64_t seq, bool accept,
                       const char *comment, const char *reviewer, int64_t now, zb_problems *p,
                       zb_dispatched **out, size_t *n);

/* A reminder to every enrolled county without a monthly report for period
 * (year, month), due at the period's deadline (moved or default). None
 * missing: 0 and *n 0. */
int zb_dispatch_remind_period(zb_agg *a, int year, int month, int64_t now, zb_problems *p,
                              zb_dispatched **out, size_t *n);

/* A reminder for every open accident whose follow-up is overdue at now
 * (rules.h ZB_FLAG_SUPPLEMENT_OVERDUE), to its county, due at the
 * follow-up that was due. */
int zb_dispatch_remind_supplements(zb_agg *a, int64_t now, zb_problems *p, zb_dispatched **out,
                                   size_t *n);

/* Move period (year, month)'s deadline to at (Unix s, shown with
 * offset_min) for every enrolled county: no earlier than the default (the
 * 5th 23:59:59 +08:00 of the next month: "at: ..." otherwise). Timeliness
 * is judged on it from then on (astore.h zb_astore_deadline_get). */
int zb_dispatch_deadline(zb_agg *a, int year, int month, int64_t at, int32_t offset_min,
                         int64_t now, zb_problems *p, zb_dispatched **out, size_t *n);

/* A notice (title <= 200 characters, text <= 20000) to county, or to every
 * enrolled county when county is NULL. */
int zb_dispatch_notice(zb_agg *a, const char *county, const char *title, const char *text,
                       int64_t now, zb_problems *p, zb_dispatched **out, size_t *n);

/* serve --remind-days: when now (at +08:00) is one of days[0..n_days) of
 * its month, 09:00 or later, and this has not run today yet (kept in the
 * store across restarts), the missing-report reminders for the period
 * whose deadline falls in this month (the previous month) are sent as
 * zb_dispatch_remind_period does. *ran says whether it ran now. */
int zb_dispatch_auto_remind(zb_agg *a, const int *days, size_t n_days, int64_t now, bool *ran,
                            zb_dispatched **out, size_t *n);

#endif
