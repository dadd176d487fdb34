/* witness_help.c - see witness_help.h. Each page is one msgid, translated whole. */
#include "witness_help.h"

#include "cli.h"
#include "i18n.h"

/* The options every command takes, after each page. */
static const char common_options[] =
    N_("common options:\n"
       "  --lang zh|en        language of messages, tables and help (default: from\n"
       "                      LC_ALL, LC_MESSAGES or LANG; --json output, log lines\n"
       "                      and exit codes never change)\n"
       "  --log-level error|warn|info|debug\n"
       "                      log lines (English, with stable ZB-WIT-... ids;\n"
       "                      default warn, serve info)\n"
       "  --syslog            log lines to syslog instead of stderr\n"
       "  --help              this text\n");

static const char overview[] =
    N_("usage: zhibao-witness COMMAND [options]\n"
       "The witness an independent party runs (the province, the audit bureau, a\n"
       "neighbouring prefecture): it cosigns a prefecture's signed tree head only\n"
       "when the head extends the last head of that log it cosigned, dated by its\n"
       "own clock, and keeps the heads it refused as evidence.\n"
       "\n"
       "commands:\n"
       "  init      create a witness (its key and store) in a directory\n"
       "  add-log   follow an aggregator's log (again: rename it)\n"
       "  serve     answer the followed aggregators until SIGINT or SIGTERM\n"
       "  status    per log, the head last cosigned; refusals, evidence, forks\n"
       "  evidence  the heads refused, beside the one held, and what each proves\n"
       "\n"
       "zhibao-witness COMMAND --help shows a command's options; man zhibao-witness\n"
       "and docs/protocol.md section 13 say what a witness checks.\n"
       "exit codes: 0 success; 1 runtime error; 2 bad usage or bad input\n");

static const zb_cli_page pages[] = {
    {"init", N_("usage: zhibao-witness init --dir W\n"
                "Create a witness in W (made 0700 when absent): a new Ed25519 identity in\n"
                "W/identity.key (0600) and the store W/data.mdb. Its public key is printed\n"
                "last: give it to the prefecture (zhibao-agg witness --add) and, yourself,\n"
                "to the county offices and auditors (--witness-key).\n"
                "\n"
                "  --dir W          the witness's directory (required; must hold no key yet)\n"
                "\n"
                "exit codes: 0 created; 1 cannot create; 2 bad usage, or W holds a witness\n"
                "or another zhibao key already\n")},
    {"add-log", N_("usage: zhibao-witness add-log --dir W --key AGGKEY [--name TEXT]\n"
                   "Follow the log of the aggregator with public key AGGKEY, from size 0: only\n"
                   "that aggregator may connect for it, and only with heads of its own log (a\n"
                   "running serve admits it at once). Given again for the same key: only the\n"
                   "name changes, the state is kept.\n"
                   "\n"
                   "  --dir W          the witness's directory (required)\n"
                   "  --key AGGKEY     the aggregator's public key (64 hex digits: the last\n"
                   "                   line of zhibao-agg init; required)\n"
                   "  --name TEXT      a name for people (at most 128 bytes, no control\n"
                   "                   characters)\n"
                   "\n"
                   "exit codes: 0 followed; 1 runtime error; 2 bad usage or no witness in W\n")},
    {"serve", N_("usage: zhibao-witness serve --dir W --listen ENDPOINT\n"
                 "Answer the followed aggregators' requests until SIGINT or SIGTERM:\n"
                 "CurveZMQ with the witness key, admitting only the followed logs' keys.\n"
                 "A head is cosigned only when it extends the last head of its log cosigned\n"
                 "here (a consistency proof from it); the new state is on disk before the\n"
                 "answer is sent. A head of the same size with another root, or a larger\n"
                 "one whose proof fails, is refused and kept as evidence; a smaller one is\n"
                 "answered with the size held (docs/protocol.md section 13.2).\n"
                 "\n"
                 "  --dir W            the witness's directory (required)\n"
                 "  --listen ENDPOINT  where to listen, e.g. tcp://0.0.0.0:7500 (required)\n"
                 "\n"
                 "Log lines (English, ZB-WIT-... ids) on stderr or syslog; level info.\n"
                 "exit codes: 0 stopped by a signal; 1 cannot listen, or the store failed;\n"
                 "2 bad usage or no witness in W\n")},
    {"status", N_("usage: zhibao-witness status --dir W [--json]\n"
                  "Per log followed: its key and name, the size and root last cosigned and\n"
                  "when (the witness's clock, +08:00); then the refusals answered, the\n"
                  "evidence kept and the forks among it. Safe beside a running serve.\n"
                  "\n"
                  "  --dir W          the witness's directory (required)\n"
                  "  --json           {\"logs\": [{\"key\", \"name\", \"size\", \"root\",\n"
                  "                   \"cosigned_at\"}], \"refused\", \"evidence\", \"forks\"}\n"
                  "                   (the same bytes in every language)\n"
                  "\n"
                  "exit codes: 0; 1 runtime error; 2 bad usage or no witness in W\n")},
    {"evidence", N_("usage: zhibao-witness evidence --dir W [--json]\n"
                    "Each head refused (kept once per log, size and root): when, its kind, the\n"
                    "refused size and root with the aggregator's time on it, the size and root\n"
                    "held then, and why. A fork (two heads of one size signed by the log's key)\n"
                    "proves by the prefecture's own signatures that its log forked. An\n"
                    "unproven_extension (a larger head whose consistency proof fails) means:\n"
                    "ask the prefecture for PROOF(held size, refused size) (zhibao-agg\n"
                    "consistency-proof); if it cannot give one, its log forked.\n"
                    "\n"
                    "  --dir W          the witness's directory (required)\n"
                    "  --json           every record with the bytes to re-check (the refused\n"
                    "                   request, the head held; hex); kinds and reasons in\n"
                    "                   English, the same bytes in every language\n"
                    "\n"
                    "exit codes: 0; 1 runtime error; 2 bad usage or no witness in W\n")},
};

bool zb_witness_help(FILE *f, const char *cmd)
{
    static const zb_cli_help help = {overview, common_options, pages,
                                     sizeof pages / sizeof pages[0], ""};
    return zb_cli_help_print(f, &help, cmd);
}
