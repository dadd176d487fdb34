/*
 * bulletin.h - the monthly bulletin (月度通报): the printable A4 HTML page
 * in Chinese that the prefecture office sends out each month, built from
 * the consolidation reports (consolidate.h), never from figures of its own:
 *
 *   一、报送情况  the monthly report of the period: the counties named by
 *                 filing status (按时 / 迟报 with when / 未报), exactly the
 *                 statuses of `report monthly` (first version's signed time
 *                 against the period's deadline, a moved deadline
 *                 respected), and the prefecture's review of each
 *   二、事故情况  `report accidents` over the period's days: every accident
 *                 that occurred in it with its counted figures (the
 *                 statistical basis: counted_*, statistical grade), place
 *                 and unit read from the revision in force, the totals of
 *                 the counted ones; written-off and untrusted-clock
 *                 accidents listed, marked, and left out of the totals
 *   三、年度指标  `report indicators` of the period's year, up to the end of
 *                 the period (or now, when earlier), its accidents counted
 *                 at now as in 二 (consolidate.h zb_consolidate_indicators_to):
 *                 deaths year to date against last year and the 2015 base,
 *                 the -20 % target, and a chart (inline SVG, one group of
 *                 bars per county)
 *
 * `zhibao-agg report bulletin` writes the page, and the dashboard serves
 * the same bytes at /bulletin?period= (web.c): one builder, one parser of
 * the period. The page is self-contained (one <style> element, inline SVG,
 * no script, nothing fetched) and carries its own Content-Security-Policy
 * (zb_bulletin_csp), which allows that one stylesheet by its hash and
 * nothing else. Every text from the store is HTML-escaped (& < > " ').
 *
 * The page is always in Chinese whatever --lang says: it is the office's
 * document. The data-* attributes and ids on the groups, rows and totals
 * carry the machine values (county codes, statuses, counted figures in
 * whole units and yuan) for tests and scripts; they are part of the page's
 * contract.
 *
 * No global state; all functions are thread-safe.
 */
#ifndef ZB_BULLETIN_H
#define ZB_BULLETIN_H

#include <jansson.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "report.h"
#include "store.h"

/* Check the bulletin's query, as `report monthly` checks its period
 * (query.h; the same wording per dialect): "period" YYYY-MM, present and
 * valid, and not after the current month at +08:00 (now, Unix s); nothing
 * else is read. 0 with *year, *month set, or ZB_EVALIDATION with a problem
 * added to p ("--period: ..." / "period: ..."). */
int zb_bulletin_parse(zb_query_lookup lookup, void *ctx, zb_query_dialect dialect, int64_t now,
                      int *year, int *month, zb_problems *p);

/* What the page is made of: the three reports as consolidate.h builds
 * them (borrowed), the place and unit name of each accident listed
 * ({"COUNTY/ID": {"place", "unit"}}, borrowed; a missing entry shows a
 * dash), the period and the time of issue (Unix s; its +08:00 date is the
 * date of issue). */
typedef struct {
    int year, month;
    int64_t issued_at;
    const json_t *monthly;    /* zb_consolidate_monthly of the period */
    const json_t *accidents;  /* zb_consolidate_accidents of the period's days */
    const json_t *indicators; /* zb_consolidate_indicators of the year */
    const json_t *details;    /* place and unit per accident */
} zb_bulletin_input;

/* Render the page from in. *html: malloc'd UTF-8, *len bytes, also
 * NUL-terminated (caller frees). 0, ZB_ENOMEM, or ZB_EINVAL when a
 * document lacks a member the page needs. Pure: the same input gives the
 * same bytes. */
int zb_bulletin_render(const zb_bulletin_input *in, char **html, size_t *len);

/* Build the bulletin of (year, month) from the aggregator's store s, read
 * in txn (a read transaction the caller begins and ends), as of now
 * (Unix s): the three reports, each accident's place and unit from its
 * revision in force (zb_astore_report_get), then zb_bulletin_render.
 * Output and errors as zb_bulletin_render, plus the store's. */
int zb_bulletin_build(zb_store *s, MDB_txn *txn, int year, int month, int64_t now, char **html,
                      size_t *len);

/* The Content-Security-Policy the page carries in a <meta> element, for
 * an HTTP server to send as well: nothing but the page's own stylesheet
 * (by its SHA-256) and data: images. Writes it into buf; 0, or ZB_EINVAL
 * when len is too small (192 bytes are enough). */
int zb_bulletin_csp(char *buf, size_t len);

#endif
