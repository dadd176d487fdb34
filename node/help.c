/* help.c - see help.h. Each page is one msgid, translated whole. */
#include "help.h"

#include <string.h>

#include "text.h"

/* The options every command takes, after each page. */
static const char common_options[] =
    N_("common options:\n"
       "  --lang zh|en        language of messages and tables (default: from LC_ALL,\n"
       "                      LC_MESSAGES or LANG; JSON output never changes)\n"
       "  --log-level error|warn|info|debug, --syslog\n"
       "                      log lines (English, with stable ZB-... ids)\n"
       "  --help              this text\n");

static const char overview[] =
    N_("usage: zhibao-node COMMAND [options]\n"
       "The county node: stores signed reports offline and syncs them to the\n"
       "prefecture's aggregator when a link exists.\n"
       "\n"
       "commands:\n"
       "  init             create the node's store and key\n"
       "  submit           validate, sign and store reports (never uses the network)\n"
       "  sync             deliver the reports not acknowledged yet\n"
       "  status           the node's counts, key state, next deadline\n"
       "  list             reports with their sync and review state\n"
       "  show             one report\n"
       "  receipts         the prefecture's signed receipts\n"
       "  verify-receipts  receipts, inclusion and consistency proofs\n"
       "  inbox            the prefecture's messages\n"
       "  witnesses        the witnesses this county trusts\n"
       "  rotate-key       change the node's key\n"
       "  tree-head        the newest tree head, for auditors\n"
       "\n"
       "zhibao-node COMMAND --help shows a command's options; man zhibao-node\n"
       "says more.\n"
       "exit codes: 0 success, 1 runtime error, 2 bad usage or input, 3 sync timed\n"
       "out with reports pending\n");

static const struct {
    const char *cmd, *text;
} pages[] = {
    {"init",
     N_("usage: zhibao-node init --dir D --county CODE --aggregator ENDPOINT\n"
        "                        --aggregator-key KEY [--witness-key WKEY]...\n"
        "                        [--witness-quorum K] [--resume SEQ:HASH [--accidents FILE]]\n"
        "Create the node's store and Ed25519 key in D, and the key request\n"
        "(D/key-request) the prefecture enrols it with (zhibao-agg enroll --request).\n"
        "The node's public key is the last line printed.\n"
        "\n"
        "  --dir D              the node's directory (created)\n"
        "  --county CODE        the 6-digit county code (e.g. 222401)\n"
        "  --aggregator E       the prefecture's endpoint (tcp://HOST:7400)\n"
        "  --aggregator-key KEY the aggregator's public key (64 hex digits)\n"
        "  --witness-key WKEY   a witness this county trusts (up to 16)\n"
        "  --witness-quorum K   how many of them must cosign a tree head (default 0)\n"
        "  --resume SEQ:HASH    a replacement node: continue the county's chain after\n"
        "                       SEQ (as zhibao-agg revoke printed)\n"
        "  --accidents FILE     with --resume: the predecessor's accidents\n"
        "\n"
        "exit codes: 0 created; 1 cannot create; 2 bad input or a node exists in D\n")},
    {"submit",
     N_("usage: zhibao-node submit --dir D [--verbose] [--quiet] [--progress] FILE.json|-\n"
        "Validate, number, chain, sign and store reports in one transaction; never\n"
        "uses the network. FILE holds one report, a JSON array or JSON Lines, stored\n"
        "all or nothing. Prints the seq on stdout, or FIRST LAST for several. On\n"
        "stderr: one report's grade, or for several a summary: the reports stored,\n"
        "accidents by grade, and those to be reported above the prefecture, named.\n"
        "\n"
        "  --dir D      the node's directory\n"
        "  --verbose    also one line per accident (grade, where to report it)\n"
        "  --quiet      no grades, no summary, no progress (errors still shown)\n"
        "  --progress   show progress even when stderr is not a terminal (it is\n"
        "               shown on a terminal for more than 1000 reports)\n"
        "\n"
        "exit codes: 0 stored; 1 store error (nothing stored); 2 bad input (one\n"
        "\"error: FIELD: reason\" line per problem, nothing stored)\n")},
    {"sync", N_("usage: zhibao-node sync --dir D [--once] [--timeout SECONDS] [--endpoint E]\n"
                "                        [--quiet] [--progress]\n"
                "Deliver every report not acknowledged yet and fetch the prefecture's messages.\n"
                "Without --once, a daemon that reconnects with backoff. One sync per directory\n"
                "(D/sync.lock).\n"
                "\n"
                "  --dir D            the node's directory\n"
                "  --once             stop when everything is acknowledged\n"
                "  --timeout SECONDS  with --once: give up after this long (default 30)\n"
                "  --endpoint E       another endpoint than the one given at init\n"
                "  --progress         show reports delivered (done/total) even when stderr is\n"
                "                     not a terminal (shown on a terminal)\n"
                "  --quiet            no progress, no summary line (errors still shown)\n"
                "\n"
                "exit codes: 0 all acknowledged; 1 refused, store error, another sync holds D,\n"
                "or the aggregator's key is not the one given at init; 3 timed out with\n"
                "reports pending (or, with nothing to send, the messages not fetched)\n")},
    {"status", N_("usage: zhibao-node status --dir D [--json]\n"
                  "The node's county, reports stored, acknowledged and pending, receipts, key\n"
                  "state (and any key alarm), unread messages, next deadline, witnessing.\n"
                  "\n"
                  "  --dir D   the node's directory\n"
                  "  --json    as JSON (the same in every language)\n"
                  "\n"
                  "exit codes: 0; 1 the store cannot be read; 2 no node in D\n")},
    {"list", N_("usage: zhibao-node list --dir D [--pending] [--json]\n"
                "Every report with its type, creation time, what it is, sync state\n"
                "(receipted, acknowledged, pending) and the prefecture's review.\n"
                "\n"
                "  --dir D     the node's directory\n"
                "  --pending   only the reports not acknowledged yet\n"
                "  --json      as JSON (the same in every language)\n"
                "\n"
                "exit codes: 0; 1 a stored report does not verify; 2 no node in D\n")},
    {"show", N_("usage: zhibao-node show --dir D SEQ [--json]\n"
                "One report in full, with its sync state, review, grade and hash.\n"
                "\n"
                "  --dir D   the node's directory\n"
                "  SEQ       its sequence number\n"
                "  --json    as JSON (the same in every language)\n"
                "\n"
                "exit codes: 0; 1 it does not verify; 2 no such report or no node in D\n")},
    {"receipts", N_("usage: zhibao-node receipts --dir D [--json]\n"
                    "The prefecture's signed receipts, each verified again against the\n"
                    "aggregator's key.\n"
                    "\n"
                    "  --dir D   the node's directory\n"
                    "  --json    as JSON (the same in every language)\n"
                    "\n"
                    "exit codes: 0; 1 a receipt does not verify; 2 no node in D\n")},
    {"verify-receipts",
     N_("usage: zhibao-node verify-receipts --dir D\n"
        "Every receipt, every report's inclusion proof in the prefecture's\n"
        "transparency log, the consistency proofs between the tree heads the node\n"
        "accepted, and that none is dated before the one below it.\n"
        "\n"
        "  --dir D   the node's directory\n"
        "\n"
        "exit codes: 0 all verify; 1 one line per finding; 2 no node in D\n")},
    {"inbox", N_("usage: zhibao-node inbox --dir D [--json] [--unread]\n"
                 "       zhibao-node inbox --dir D --read ID\n"
                 "The prefecture's messages (reviews, reminders, moved deadlines, notices),\n"
                 "each verified again against the aggregator's key.\n"
                 "\n"
                 "  --dir D     the node's directory\n"
                 "  --unread    only the messages not read yet\n"
                 "  --read ID   mark message ID read (on this machine only)\n"
                 "  --json      as JSON (the same in every language)\n"
                 "\n"
                 "exit codes: 0; 1 a stored message does not verify or a store error;\n"
                 "2 bad input\n")},
    {"witnesses", N_("usage: zhibao-node witnesses --dir D [--witness-key WKEY]...\n"
                     "                             [--witness-quorum K] [--json]\n"
                     "Without options: the witnesses this county trusts and the quorum. With\n"
                     "them: set both (a tree head counts as final only when K of the witnesses\n"
                     "cosigned it or a later head).\n"
                     "\n"
                     "  --dir D              the node's directory\n"
                     "  --witness-key WKEY   a witness's public key (up to 16)\n"
                     "  --witness-quorum K   how many must cosign (0: none)\n"
                     "  --json               as JSON (the same in every language)\n"
                     "\n"
                     "exit codes: 0; 1 store error; 2 bad input\n")},
    {"rotate-key", N_("usage: zhibao-node rotate-key --dir D [--out FILE]\n"
                      "A voluntary key change, every report acknowledged first: a new key and a\n"
                      "rotation request signed by the new and the old key. The node signs with\n"
                      "the new key at once; sync resumes when the prefecture has applied the\n"
                      "request (zhibao-agg enroll --request FILE).\n"
                      "\n"
                      "  --dir D      the node's directory\n"
                      "  --out FILE   where to write the request (default D/key-request)\n"
                      "\n"
                      "exit codes: 0; 1 a sync holds D or a store error; 2 reports pending\n")},
    {"tree-head", N_("usage: zhibao-node tree-head --dir D --out FILE\n"
                     "Write the newest signed tree head this node accepted, for an auditor\n"
                     "(zhibao-audit verify --head FILE).\n"
                     "\n"
                     "  --dir D      the node's directory\n"
                     "  --out FILE   the file to write\n"
                     "\n"
                     "exit codes: 0; 1 cannot write; 2 no tree head yet\n")},
};

bool help_print(FILE *f, const char *cmd)
{
    if (!cmd) {
        fputs(_(overview), f);
        fputc('\n', f);
        fputs(_(common_options), f);
        return true;
    }
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        if (strcmp(pages[i].cmd, cmd) == 0) {
            fputs(_(pages[i].text), f);
            fputc('\n', f);
            fputs(_(common_options), f);
            return true;
        }
    }
    return false;
}
