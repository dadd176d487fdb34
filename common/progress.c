/* progress.c - see progress.h. */
#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "i18n.h"
#include "log.h"

#define REDRAW_MS 250

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void zb_progress_start(zb_progress *p, zb_progress_mode mode, const char *what, const char *unit,
                       uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->shown = mode == ZB_PROGRESS_ON || (mode == ZB_PROGRESS_AUTO && isatty(STDERR_FILENO));
    snprintf(p->what, sizeof p->what, "%s", what ? what : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
    p->total = total;
    p->start_ms = now_ms();
    p->drawn_ms = p->start_ms - REDRAW_MS; /* the first update draws */
}

static void clock_text(int64_t s, char *out, size_t len)
{
    if (s >= 3600)
        snprintf(out, len, "%" PRId64 ":%02" PRId64 ":%02" PRId64, s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, len, "%" PRId64 ":%02" PRId64, s / 60, s % 60);
}

void zb_progress_format(const zb_progress *p, uint64_t done, int64_t elapsed_ms, bool final,
                        char *out, size_t len)
{
    double rate = elapsed_ms > 0 ? (double)done * 1000.0 / (double)elapsed_ms : 0.0;
    char count[64], tail[64] = "";
    if (p->total)
        snprintf(count, sizeof count, "%" PRIu64 "/%" PRIu64 " %s (%d%%)", done, p->total, p->unit,
                 (int)(done >= p->total ? 100 : done * 100 / p->total));
    else
        snprintf(count, sizeof count, "%" PRIu64 " %s", done, p->unit);
    char t[24];
    if (final) {
        clock_text(elapsed_ms / 1000, t, sizeof t);
        snprintf(tail, sizeof tail, "  %s %s", _("in"), t);
    } else if (p->total && rate > 0 && done < p->total) {
        clock_text((int64_t)((double)(p->total - done) / rate + 0.5), t, sizeof t);
        snprintf(tail, sizeof tail, "  %s %s", _("ETA"), t);
    }
    snprintf(out, len, "%s: %s  %.0f/s%s", p->what, count, rate, tail);
}

static void draw(zb_progress *p, bool final)
{
    int64_t t = now_ms();
    char line[200];
    zb_progress_format(p, p->done, t - p->start_ms, final, line, sizeof line);
    int w = (int)strlen(line);
    /* blank what is left of a longer previous line */
    fprintf(stderr, "\r%s%*s%s", line, p->width > w ? p->width - w : 0, "", final ? "\n" : "");
    fflush(stderr);
    p->width = w;
    p->drawn_ms = t;
    zb_log_progress_line(final ? 0 : w);
}

void zb_progress_update(zb_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->shown)
        return;
    if (now_ms() - p->drawn_ms >= REDRAW_MS)
        draw(p, false);
}

void zb_progress_total(zb_progress *p, uint64_t total)
{
    p->total = total;
}

void zb_progress_finish(zb_progress *p)
{
    if (p->shown)
        draw(p, true);
    p->shown = false;
}
