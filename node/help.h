/*
 * help.h - zhibao-node's usage texts: the overview (zhibao-node --help) and
 * one page per command (zhibao-node COMMAND --help): what it does, its
 * options, its exit codes; in the chosen language (po/zh_CN/node.po).
 * man/zhibao-node.1 says the same at length.
 */
#ifndef ZB_NODE_HELP_H
#define ZB_NODE_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* The overview (cmd NULL) or cmd's page, to f. false: no such command. */
bool help_print(FILE *f, const char *cmd);

#endif
