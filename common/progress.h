/*
 * progress.h - progress of long work on stderr, for people at a terminal:
 * one line, redrawn in place ("\r"), with done/total, rate and ETA, at most
 * four times a second; a final line with a newline at the end.
 *
 * Shown when stderr is a terminal (ZB_PROGRESS_AUTO), always (ON:
 * --progress, e.g. under `script` or a log viewer that understands "\r"),
 * or never (OFF: --quiet). Nothing is written when it is not shown, so a
 * pipe or a log file never receives it. Labels are the caller's (already
 * translated: i18n.h). Plain struct, no allocation; one per piece of work.
 */
#ifndef ZB_PROGRESS_H
#define ZB_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ZB_PROGRESS_AUTO = 0, ZB_PROGRESS_ON = 1, ZB_PROGRESS_OFF = 2 } zb_progress_mode;

typedef struct {
    bool shown;
    char what[64];    /* "sync", "export", ... */
    char unit[32];    /* "reports", "entries", ... */
    uint64_t total;   /* 0: unknown (no ETA, no total shown) */
    uint64_t done;
    int64_t start_ms, drawn_ms;
    int width;        /* of the last line drawn, to blank what is left of it */
} zb_progress;

/* Begin: what and unit are copied (truncated to fit). */
void zb_progress_start(zb_progress *p, zb_progress_mode mode, const char *what, const char *unit,
                       uint64_t total);
/* Done so far (cheap when not shown or within 250 ms of the last draw). */
void zb_progress_update(zb_progress *p, uint64_t done);
/* Change the total (work found to be larger or smaller). */
void zb_progress_total(zb_progress *p, uint64_t total);
/* The last line, with the elapsed time, and a newline. */
void zb_progress_finish(zb_progress *p);

/* The text of the line for done of total at elapsed_ms (what the terminal
 * shows, without "\r"): for tests. */
void zb_progress_format(const zb_progress *p, uint64_t done, int64_t elapsed_ms, bool final,
                        char *out, size_t len);

#endif
