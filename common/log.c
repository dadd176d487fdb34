/* log.c - see log.h. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "zhibao";
static zb_log_level log_level = ZB_LOG_INFO;
static bool log_syslog = false;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

/* The width of a progress line left open on stderr (progress.h), which a
 * log line first blanks, in the same write: a log line never continues a
 * half-drawn progress line. */
static _Atomic int progress_width;

void zb_log_progress_line(int width)
{
    progress_width = width > 0 && width < 512 ? width : 0;
}

void zb_log_init(const char *prog, zb_log_level level, bool use_syslog)
{
    log_prog = prog ? prog : "zhibao";
    log_level = level;
    if (use_syslog && !log_syslog)
        openlog(log_prog, LOG_PID, LOG_DAEMON);
    log_syslog = use_syslog;
}

int zb_log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

bool zb_log_enabled(zb_log_level level) { return level <= log_level; }

/* fmt is the caller's checked format: tell the compiler so */
__attribute__((format(printf, 4, 0))) static void
log_emit(zb_log_level level, const char *id, const char *suffix, const char *fmt, va_list ap)
{
    char msg[1024];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        return;
    if (log_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(prio[level], "%s %s%s", id, msg, suffix);
        return;
    }
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[1920];
    int open = progress_width;
    char blank[520] = "";
    if (open > 0) { /* "\r", spaces over the progress line, "\r" */
        blank[0] = '\r';
        memset(blank + 1, ' ', (size_t)open);
        blank[open + 1] = '\r';
        blank[open + 2] = '\0';
    }
    n = snprintf(line, sizeof line, "%s%s.%03ldZ %s[%d] %s %s %s%s\n", blank, stamp,
                 ts.tv_nsec / 1000000, log_prog, (int)getpid(), level_names[level], id, msg, suffix);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    /* one write per line so concurrent writers do not interleave */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void zb_log(zb_log_level level, const char *id, const char *fmt, ...)
{
    if (!zb_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    log_emit(level, id, "", fmt, ap);
    va_end(ap);
}

void zb_log_warn_errno(const char *id, const char *fmt, ...)
{
    int saved = errno;
    if (!zb_log_enabled(ZB_LOG_WARN))
        return;
    char suffix[160];
    snprintf(suffix, sizeof suffix, ": %s", strerror(saved));
    va_list ap;
    va_start(ap, fmt);
    log_emit(ZB_LOG_WARN, id, suffix, fmt, ap);
    va_end(ap);
}
