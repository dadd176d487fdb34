/*
 * help.h - zhibao-agg's usage texts: the overview (zhibao-agg --help) and
 * one page per command (zhibao-agg COMMAND --help, zhibao-agg help
 * COMMAND): what it does, its options, its exit codes; in the chosen
 * language (i18n.h, po/zh_CN/agg.po). man/zhibao-agg.1 says the same at
 * length. Used by aggregator/main.c only; no state.
 */
#ifndef ZB_AGG_HELP_H
#define ZB_AGG_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* The overview (cmd NULL) or cmd's page to f; for "report", kind picks
 * the bulletin's own page ("bulletin"; any other kind, or NULL, the page
 * of the four tables). false: no such command (nothing printed). */
bool zb_agg_help_print(FILE *f, const char *cmd, const char *kind);

#endif
