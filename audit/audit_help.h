/*
 * audit_help.h - zhibao-audit's usage texts: the overview (zhibao-audit
 * --help) and one page per command (zhibao-audit COMMAND --help): what it
 * does, its options, its exit codes; in the chosen language (i18n.h,
 * po/zh_CN/audit.po). man/zhibao-audit.1 says the same at length.
 * Used by audit/main.c only; no state.
 */
#ifndef ZB_AUDIT_HELP_H
#define ZB_AUDIT_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* The overview (cmd NULL) or cmd's page, to f. false: no such command
 * (nothing written). */
bool zb_audit_help(FILE *f, const char *cmd);

#endif
