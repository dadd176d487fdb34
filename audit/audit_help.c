/* audit_help.c - see audit_help.h. Each page is one msgid, translated whole. */
#include "audit_help.h"

#include "cli.h"
#include "i18n.h"

/* The options every command takes, after each page. */
static const char common_options[] =
    N_("common options:\n"
       "  --lang zh|en        language of messages, tables and findings (default:\n"
       "                      from LC_ALL, LC_MESSAGES or LANG; --json output and exit\n"
       "                      codes never change)\n"
       "  --log-level error|warn|info|debug\n"
       "                      log lines on stderr (English, with stable ZB-... ids)\n"
       "  --help              this text\n");

static const char overview[] =
    N_("usage: zhibao-audit COMMAND [options]\n"
       "The auditor's tool: checks what the prefecture's aggregator exported\n"
       "(zhibao-agg export, tree-head, consistency-proof) without trusting it.\n"
       "\n"
       "commands:\n"
       "  verify       check every signature, key event, sequence, hash chain, time\n"
       "               and log entry of a bundle, and its signed tree head\n"
       "  timeliness   verify, then who filed a month's report on time, and what\n"
       "               the witnesses' clocks prove of it\n"
       "  consistency  prove that a newer log extends an older one\n"
       "\n"
       "zhibao-audit COMMAND --help shows a command's options; man zhibao-audit\n"
       "and docs/bundle.md say what is checked.\n"
       "exit codes: 0 all holds; 1 findings (one line each) or not consistent;\n"
       "2 bad usage or an unreadable file\n");

static const zb_cli_page pages[] = {
    {"verify", N_("usage: zhibao-audit verify BUNDLE --key AGGKEY [--county-key CODE:HEX]...\n"
                  "                           [--head FILE]... [--witness-key WKEY]...\n"
                  "                           [--witness-quorum K] [--json] [--progress|--quiet]\n"
                  "Check a bundle (zhibao-agg export) from its bytes alone: the key history\n"
                  "from the log's key events, every report signed by the key active at that\n"
                  "point of the log, each county's sequence and hash chain, leaf times that\n"
                  "never run backwards, the prefecture's own messages, evidence of\n"
                  "equivocation, and the root against the signed tree head.\n"
                  "\n"
                  "  --key AGGKEY          the aggregator's public key, as the prefecture\n"
                  "                        published it (64 hex digits; required)\n"
                  "  --county-key CODE:HEX a county's key as its office states it; once per key\n"
                  "                        of the office's list (each enrolled once, no other\n"
                  "                        key after the first, the last one active at the end)\n"
                  "  --head FILE           a tree head a county's node accepted (zhibao-node\n"
                  "                        tree-head): the bundle must extend it\n"
                  "  --witness-key WKEY    a witness's public key (at most 16): each of its\n"
                  "                        cosignatures must verify\n"
                  "  --witness-quorum K    a head must carry K of them (default 1)\n"
                  "  --json                one object: the counts, key events and findings\n"
                  "                        (findings in English, whatever the language)\n"
                  "  --progress            show progress even when stderr is not a terminal\n"
                  "  --quiet               no progress\n"
                  "\n"
                  "Progress (entries verified of the header's count) is shown on stderr when\n"
                  "it is a terminal.\n"
                  "exit codes: 0 the bundle holds; 1 findings (one line each on stdout, the\n"
                  "key history on stderr); 2 bad usage or an unreadable file\n")},
    {"timeliness",
     N_("usage: zhibao-audit timeliness BUNDLE --key AGGKEY --witness-key WKEY...\n"
        "                               [--witness-quorum K] --period YYYY-MM\n"
        "                               [--county-key CODE:HEX]... [--head FILE]...\n"
        "                               [--json] [--progress|--quiet]\n"
        "Verify the bundle as verify does (nothing is judged from a bundle with\n"
        "findings), then per county the period's first monthly report against its\n"
        "deadline (the 5th of the next month, 23:59:59 +08:00, or as a Deadline\n"
        "message in the log moved it): on time or late by the county's signed time,\n"
        "and proven on time when a quorum of the witnesses (clocks the prefecture\n"
        "does not own) had cosigned a head covering it by the deadline.\n"
        "\n"
        "  --key AGGKEY          the aggregator's public key (required)\n"
        "  --witness-key WKEY    a witness's public key (required; at most 16)\n"
        "  --witness-quorum K    how many of them must cosign (default 1)\n"
        "  --period YYYY-MM      the month judged (required)\n"
        "  --county-key, --head  as for verify\n"
        "  --json                the verdict as one object (English field values)\n"
        "  --progress, --quiet   as for verify\n"
        "\n"
        "exit codes: 0 verified and judged; 1 findings (nothing judged); 2 bad usage\n"
        "or an unreadable file\n")},
    {"consistency",
     N_("usage: zhibao-audit consistency OLD NEW [PROOF_FILE] --key AGGKEY\n"
        "                                [--proof FILE]\n"
        "Prove that the newer log extends the older one. OLD and NEW are each a\n"
        "tree-head file (zhibao-agg tree-head, zhibao-node tree-head) or a bundle;\n"
        "the proof (zhibao-agg consistency-proof, as PROOF_FILE or --proof FILE) is\n"
        "not needed when NEW is a bundle. Both heads must be signed by the\n"
        "aggregator key, and the new one not before the old one.\n"
        "\n"
        "  --key AGGKEY   the aggregator's public key (required)\n"
        "  --proof FILE   the consistency proof (or as the third argument)\n"
        "\n"
        "exit codes: 0 consistent; 1 not consistent (why, on stdout); 2 bad usage or\n"
        "an unreadable file\n")},
};

bool zb_audit_help(FILE *f, const char *cmd)
{
    static const zb_cli_help help = {overview, common_options, pages,
                                     sizeof pages / sizeof pages[0], ""};
    return zb_cli_help_print(f, &help, cmd);
}
