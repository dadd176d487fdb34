/*
 * log.h - the one logging module.
 *
 * One line per event: "<time> <prog> <LEVEL> <ID> message". ID is a stable
 * message id (ZB-SYNC-BADSIG) operators can grep and alert on. The level is
 * checked before formatting. Sink: stderr (default) or syslog. Never log
 * report text or key material.
 *
 * The logger is process-global, set up once by main(); logging itself is
 * thread-safe (each line is one write).
 */
#ifndef ZB_LOG_H
#define ZB_LOG_H

#include <stdbool.h>

typedef enum { ZB_LOG_ERROR = 0, ZB_LOG_WARN = 1, ZB_LOG_INFO = 2, ZB_LOG_DEBUG = 3 } zb_log_level;

/* Set program name, threshold and sink. Safe to call again. */
void zb_log_init(const char *prog, zb_log_level level, bool use_syslog);

/* A progress line of width columns is open on stderr (0: none): the next
 * log lines blank it first (progress.h calls this). */
void zb_log_progress_line(int width);
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int zb_log_level_parse(const char *s);
bool zb_log_enabled(zb_log_level level);

void zb_log(zb_log_level level, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* As zb_log at ZB_LOG_WARN, with ": strerror(errno)" appended (OpenBSD warn). */
void zb_log_warn_errno(const char *id, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ZB_ERR(id, ...) zb_log(ZB_LOG_ERROR, id, __VA_ARGS__)
#define ZB_WARN(id, ...) zb_log(ZB_LOG_WARN, id, __VA_ARGS__)
#define ZB_INFO(id, ...)                                                                           \
    do {                                                                                           \
        if (zb_log_enabled(ZB_LOG_INFO))                                                           \
            zb_log(ZB_LOG_INFO, id, __VA_ARGS__);                                                  \
    } while (0)
#define ZB_DEBUG(id, ...)                                                                          \
    do {                                                                                           \
        if (zb_log_enabled(ZB_LOG_DEBUG))                                                          \
            zb_log(ZB_LOG_DEBUG, id, __VA_ARGS__);                                                 \
    } while (0)

#endif
