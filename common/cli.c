/* cli.c - see cli.h. */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#include "err.h"
#include "i18n.h"

/* A line longer than this is cut (the reason, not the newline). */
#define LINE_MAX_BYTES 4096

/* --lang X or --lang=X at argv[i]: its value (*i moved past it), or NULL. */
static const char *lang_at(int argc, char **argv, int *i)
{
    if (strcmp(argv[*i], "--lang") == 0 && *i + 1 < argc)
        return argv[++*i];
    if (strncmp(argv[*i], "--lang=", 7) == 0)
        return argv[*i] + 7;
    return NULL;
}

int zb_cli_lang_init(int argc, char **argv)
{
    const char *lang = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *v = lang_at(argc, argv, &i);
        if (v)
            lang = v;
    }
    if (zb_i18n_init(lang) == 0)
        return ZB_OK;
    (void)zb_i18n_init(NULL); /* the error in the locale's language */
    zb_cli_error_at("--lang", "must be zh or en");
    return ZB_EINVAL;
}

int zb_cli_command_index(int argc, char **argv)
{
    int at = 1;
    while (at < argc && (strcmp(argv[at], "--lang") == 0 || strncmp(argv[at], "--lang=", 7) == 0))
        at += strcmp(argv[at], "--lang") == 0 ? 2 : 1;
    return at < argc ? at : argc;
}

/* "WORD: FIELD: reason\n" (no field: "WORD: reason\n") in one write. */
static void say(const char *word, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void say(const char *word, const char *field, const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    vsnprintf(line, sizeof line, zb_tr(fmt), ap);
    if (field)
        fprintf(stderr, "%s: %s: %s\n", zb_tr(word), field, line);
    else
        fprintf(stderr, "%s: %s\n", zb_tr(word), line);
}

void zb_cli_error_at(const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(N_("error"), field, fmt, ap);
    va_end(ap);
}

void zb_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(N_("error"), NULL, fmt, ap);
    va_end(ap);
}

void zb_cli_warning_at(const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(N_("warning"), field, fmt, ap);
    va_end(ap);
}

void zb_cli_error_line(const char *line)
{
    fprintf(stderr, "%s: %s\n", _("error"), line);
}

void zb_cli_warning_line(const char *line)
{
    fprintf(stderr, "%s: %s\n", _("warning"), line);
}

void zb_cli_option_error(int getopt_rc, const char *opt, bool hint_unknown_only,
                         const char *hint_fmt, ...)
{
    bool missing_value = getopt_rc == ':';
    zb_cli_error_at(opt, missing_value ? "needs a value" : "unknown option");
    if (missing_value && hint_unknown_only)
        return;
    va_list ap;
    va_start(ap, hint_fmt);
    vfprintf(stderr, zb_tr(hint_fmt), ap);
    va_end(ap);
}

bool zb_cli_help_print(FILE *f, const zb_cli_help *help, const char *cmd)
{
    const char *text = NULL;
    if (!cmd)
        text = help->overview;
    for (size_t i = 0; cmd && !text && i < help->n_pages; i++)
        if (strcmp(help->pages[i].cmd, cmd) == 0)
            text = help->pages[i].text;
    if (!text)
        return false;
    fputs(zb_tr(text), f);
    fputs(help->separator, f);
    fputs(zb_tr(help->common_options), f);
    return true;
}
