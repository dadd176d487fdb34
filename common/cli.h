/*
 * cli.h - what the four programs (zhibao-node, zhibao-agg, zhibao-audit,
 * zhibao-witness) share on their command line, in the chosen language
 * (i18n.h): the language taken from --lang before anything is printed,
 * the "error: FIELD: reason" and "warning: ..." lines on stderr, the
 * error after getopt_long refused an option, and the help pages.
 *
 * What differs between the programs on purpose stays theirs and is passed
 * in: exit codes (these functions return, main exits), the hint after a
 * usage error, the pages themselves.
 *
 * The field of an error line (an option, a JSON field path, a command) is
 * never translated: it is what the person types or looks for. Each line is
 * one write, so the lines of concurrent processes stay whole. No state.
 */
#ifndef ZB_CLI_H
#define ZB_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* ---- the language ---- */

/* Choose the language (zb_i18n_init) from --lang zh|en or --lang=zh|en
 * anywhere in argv before a "--" (the last one given wins), else the
 * locale. 0, or ZB_EINVAL for another value, after the line
 * "error: --lang: must be zh or en" in the locale's language. */
int zb_cli_lang_init(int argc, char **argv);

/* The index in argv of the command word: the first argument after any
 * leading --lang X / --lang=X. argc when there is none. */
int zb_cli_command_index(int argc, char **argv);

/* ---- lines on stderr ---- */

/* "error: FIELD: reason", "error" and the reason (fmt, a msgid) in the
 * chosen language, FIELD as given. */
void zb_cli_error_at(const char *field, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "error: " and fmt (a msgid) translated. */
void zb_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "warning: FIELD: reason", as zb_cli_error_at. */
void zb_cli_warning_at(const char *field, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "error: " and line, a text already in the chosen language (a validation
 * problem, a finding), or one never translated. */
void zb_cli_error_line(const char *line);

/* "warning: " and line, as zb_cli_error_line. */
void zb_cli_warning_line(const char *line);

/* After getopt_long (optstring ":") returned getopt_rc ':' (OPT lacks its
 * value) or '?' (OPT is unknown): "error: OPT: needs a value" or
 * "error: OPT: unknown option", then the program's hint, hint_fmt (a
 * msgid) translated and formatted, e.g. "see: zhibao-node %s --help\n"
 * with the command: after both errors, or, hint_unknown_only, after an
 * unknown option only. */
void zb_cli_option_error(int getopt_rc, const char *opt, bool hint_unknown_only,
                         const char *hint_fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- help ---- */

/* A command's help page: the command ("init"; a program may name pages of
 * its own, "report bulletin") and its text, a msgid translated whole. */
typedef struct {
    const char *cmd;
    const char *text;
} zb_cli_page;

/* A program's help: the overview (PROGRAM --help), the common options
 * printed after every page (msgids), the pages, and what separates a page
 * from the common options ("\n" for a blank line, or ""). */
typedef struct {
    const char *overview;
    const char *common_options;
    const zb_cli_page *pages;
    size_t n_pages;
    const char *separator;
} zb_cli_help;

/* The overview (cmd NULL) or cmd's page, then the separator and the
 * common options, to f, translated. false: no such page (nothing written). */
bool zb_cli_help_print(FILE *f, const zb_cli_help *help, const char *cmd);

#endif
