/*
 * witness_help.h - zhibao-witness's usage texts: the overview
 * (zhibao-witness --help) and one page per command (zhibao-witness COMMAND
 * --help): what it does, its options, its exit codes; in the chosen
 * language (i18n.h, po/zh_CN/witness.po). man/zhibao-witness.1 says the
 * same at length. Used by witness/main.c only; no state.
 */
#ifndef ZB_WITNESS_HELP_H
#define ZB_WITNESS_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* The overview (cmd NULL) or cmd's page, then the common options, to f.
 * false: no such command (nothing written). */
bool zb_witness_help(FILE *f, const char *cmd);

#endif
