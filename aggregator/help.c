/* help.c - see help.h. Each page is one msgid, translated whole. */
#include "help.h"

#include <string.h>

#include "i18n.h"

/* The options every command takes, after each page. */
static const char common_options[] =
    N_("common options:\n"
       "  --lang zh|en        language of messages and tables (default: from LC_ALL,\n"
       "                      LC_MESSAGES or LANG, zh_CN.* is Chinese; JSON output,\n"
       "                      log lines and exit codes never change)\n"
       "  --log-level error|warn|info|debug, --syslog\n"
       "                      log lines (English, with stable ZB-... ids)\n"
       "  --help              this text\n");

static const char overview[] =
    N_("usage: zhibao-agg COMMAND [options]\n"
       "The prefecture's aggregator: enrols the county nodes, receives their signed\n"
       "reports exactly once, returns signed receipts, keeps the transparency log,\n"
       "consolidates the reports and answers the counties.\n"
       "\n"
       "commands:\n"
       "  init               create the aggregator's store and key\n"
       "  enroll             enrol a county node's key (or apply a rotation)\n"
       "  revoke             revoke a county's key\n"
       "  serve              receive the counties' reports\n"
       "  status             per county: seq, reports, messages, last received\n"
       "  check              re-verify every stored envelope, the log and the indexes\n"
       "  reindex            rebuild the indexes from the envelopes\n"
       "  report             monthly, accidents, matrix, indicators, bulletin\n"
       "  load-figures       yearly denominators of the indicators\n"
       "  export             the audit bundle\n"
       "  tree-head          a signed tree head, for auditors\n"
       "  consistency-proof  a consistency proof between two tree heads\n"
       "  web                the dashboard\n"
       "  review             accept a report or return it for correction\n"
       "  remind             remind the counties that have not filed\n"
       "  deadline           move a period's deadline\n"
       "  notice             send a notice\n"
       "  witness            the witnesses that cosign the log's heads\n"
       "\n"
       "zhibao-agg COMMAND --help shows a command's options; man zhibao-agg says\n"
       "more.\n"
       "exit codes: 0 success, 1 runtime error (check: findings), 2 bad usage or input\n");

static const struct {
    const char *cmd, *text;
} pages[] = {
    {"init", N_("usage: zhibao-agg init --dir A\n"
                "Create the aggregator's store and Ed25519 key in A. The public key, which\n"
                "every county node is given (zhibao-node init --aggregator-key), is the last\n"
                "line printed.\n"
                "\n"
                "  --dir A   the aggregator's directory (created)\n"
                "\n"
                "exit codes: 0 created; 1 cannot create; 2 an aggregator exists in A\n")},
    {"enroll",
     N_("usage: zhibao-agg enroll --dir A --county CODE --request FILE [--key NODEKEY]\n"
        "Enrol a county node's key, proven by the key request its node wrote\n"
        "(D/key-request from zhibao-node init or rotate-key), as a key event in the\n"
        "log. A rotation request also revokes the key it replaces, with its consent.\n"
        "\n"
        "  --dir A          the aggregator's directory\n"
        "  --county CODE    the 6-digit county code (e.g. 222401)\n"
        "  --request FILE   the node's key request\n"
        "  --key NODEKEY    the node's public key as its office gave it (64 hex\n"
        "                   digits): the request must be for this key\n"
        "\n"
        "exit codes: 0 enrolled (or already); 1 store error; 2 bad input, another key\n"
        "active, or a revoked key\n")},
    {"revoke", N_("usage: zhibao-agg revoke --dir A --county CODE\n"
                  "Revoke the county's active key (a lost or stolen machine): the reports it\n"
                  "signed so far stay valid, later ones are refused. Prints how to start the\n"
                  "replacement node (zhibao-node init --resume, with A/resume-CODE.json), then\n"
                  "enrol its key.\n"
                  "\n"
                  "  --dir A         the aggregator's directory\n"
                  "  --county CODE   the 6-digit county code\n"
                  "\n"
                  "exit codes: 0 revoked; 1 store error; 2 not enrolled or no active key\n")},
    {"serve",
     N_("usage: zhibao-agg serve --dir A --listen ENDPOINT [--remind-days 3,5]\n"
        "Receive the counties' reports (ZeroMQ, CurveZMQ), store each exactly once,\n"
        "acknowledge only what is committed, with signed receipts; deliver the\n"
        "prefecture's messages; send new tree heads to the witnesses. One serve per\n"
        "directory (A/serve.lock). Stops on SIGINT or SIGTERM.\n"
        "\n"
        "  --dir A             the aggregator's directory\n"
        "  --listen ENDPOINT   e.g. tcp://0.0.0.0:7400\n"
        "  --remind-days D,D   on those days of the month, at 09:00 +08:00, remind\n"
        "                      every county whose report for the previous month is\n"
        "                      missing\n"
        "\n"
        "exit codes: 0 stopped by a signal; 1 cannot listen, store error, or another\n"
        "serve holds A; 2 bad input\n")},
    {"status", N_("usage: zhibao-agg status --dir A [--json]\n"
                  "Per county: the last seq, reports stored, the prefecture's messages\n"
                  "delivered of those sent, when it last sent; the total, the refusals by\n"
                  "reason and the equivocation evidence kept.\n"
                  "\n"
                  "  --dir A   the aggregator's directory\n"
                  "  --json    as JSON (the same in every language)\n"
                  "\n"
                  "exit codes: 0; 1 the store cannot be read; 2 no aggregator in A\n")},
    {"check", N_("usage: zhibao-agg check --dir A [--progress] [--quiet]\n"
                 "Re-verify the whole store from the stored envelopes alone: every signature\n"
                 "against the key enrolled for its seq, seqs without gaps, hash chains, the\n"
                 "county records, the prefecture's messages, every leaf of the log, the\n"
                 "witnesses' cosignatures, and the indexes the reports read. One line per\n"
                 "finding.\n"
                 "\n"
                 "  --dir A      the aggregator's directory\n"
                 "  --progress   show envelopes verified (done/total) on stderr even when it\n"
                 "               is not a terminal (shown on a terminal)\n"
                 "  --quiet      no progress\n"
                 "\n"
                 "exit codes: 0 intact; 1 one line per finding, or a store error; 2 no\n"
                 "aggregator in A\n")},
    {"reindex", N_("usage: zhibao-agg reindex --dir A [--progress] [--quiet]\n"
                   "Rebuild the indexes the reports read from the envelopes, in one write\n"
                   "transaction (a running serve waits for it and loses nothing): for an\n"
                   "index check found wrong.\n"
                   "\n"
                   "  --dir A      the aggregator's directory\n"
                   "  --progress   show envelopes indexed (done/total) on stderr even when it\n"
                   "               is not a terminal (shown on a terminal)\n"
                   "  --quiet      no progress\n"
                   "\n"
                   "exit codes: 0; 1 store error or no aggregator in A\n")},
    {"report",
     N_("usage: zhibao-agg report monthly --dir A --period YYYY-MM [options]\n"
        "       zhibao-agg report accidents --dir A --from YYYY-MM-DD --to YYYY-MM-DD\n"
        "                                   [--now TIME] [options]\n"
        "       zhibao-agg report matrix --dir A --from YYYY-MM --to YYYY-MM [options]\n"
        "       zhibao-agg report indicators --dir A --year YYYY [options]\n"
        "       zhibao-agg report bulletin --dir A --period YYYY-MM [--out FILE.html]\n"
        "The prefecture's consolidated reports, read from one snapshot of the store:\n"
        "  monthly     each county's report for the month: on time, late or missing\n"
        "              (by its signed time and the deadline), its review, its figures\n"
        "  accidents   accidents that occurred in the range, counted by the\n"
        "              statistical basis (the 7/30-day window, the highest grade,\n"
        "              write-offs out of the totals), follow-ups judged at --now\n"
        "  matrix      filing status per county and month\n"
        "  indicators  deaths to date against the previous year and the 2015 base,\n"
        "              and the four death rates where load-figures gave them\n"
        "  bulletin    the monthly bulletin, a printable HTML page in Chinese\n"
        "              (zhibao-agg report bulletin --help)\n"
        "\n"
        "  --dir A          the aggregator's directory\n"
        "  --format F       table (default), csv, json or xlsx (an Excel workbook,\n"
        "                   --out required); --json is --format json\n"
        "  --out FILE       write to FILE (whole or not at all) instead of stdout\n"
        "  --now TIME       accidents: the time follow-ups are judged at (RFC 3339)\n"
        "\n"
        "Tables and CSV are in the chosen language (money in 10,000 yuan in\n"
        "Chinese); JSON is the same in every language.\n"
        "exit codes: 0; 1 store error or cannot write FILE; 2 bad option\n")},
    {"report bulletin",
     N_("usage: zhibao-agg report bulletin --dir A --period YYYY-MM [--out FILE.html]\n"
        "The monthly bulletin: a printable A4 HTML page in Chinese, built from the\n"
        "reports: the counties that filed on time, late (with when) or not at all,\n"
        "with their review; the month's accidents with counted figures, grade and\n"
        "category; the year's indicators to the end of the month with charts. The\n"
        "same bytes as the dashboard's /bulletin?period=.\n"
        "\n"
        "  --dir A          the aggregator's directory\n"
        "  --period P       the month, YYYY-MM, not after the current one\n"
        "  --out FILE       write to FILE (whole or not at all) instead of stdout\n"
        "\n"
        "exit codes: 0; 1 store error or cannot write FILE; 2 bad option\n")},
    {"load-figures",
     N_("usage: zhibao-agg load-figures --dir A FILE\n"
        "Load the indicators' denominators from a JSON file (- for stdin): yearly GDP,\n"
        "workers, motor vehicles and coal output per county and year, and the 2015\n"
        "base deaths (deploy/examples/figures.json); county 222400 is the prefecture\n"
        "total. Each record replaces what was stored for its county and year; all or\n"
        "nothing.\n"
        "\n"
        "  --dir A   the aggregator's directory\n"
        "  FILE      the figures file\n"
        "\n"
        "exit codes: 0 loaded; 1 store error; 2 one line per problem, nothing stored\n")},
    {"export", N_("usage: zhibao-agg export --dir A --out BUNDLE [--progress] [--quiet]\n"
                  "Write the audit bundle: keys with their history, every log entry in order\n"
                  "(reports, key events, the prefecture's messages, evidence), the witnessed\n"
                  "heads and the latest signed tree head (docs/bundle.md). An auditor checks\n"
                  "it with zhibao-audit verify BUNDLE.\n"
                  "\n"
                  "  --dir A        the aggregator's directory\n"
                  "  --out BUNDLE   the file to write (whole or not at all)\n"
                  "  --progress     show entries written (done/total) on stderr even when it\n"
                  "                 is not a terminal (shown on a terminal)\n"
                  "  --quiet        no progress\n"
                  "\n"
                  "exit codes: 0; 1 cannot write or a damaged store; 2 bad input\n")},
    {"tree-head", N_("usage: zhibao-agg tree-head --dir A [--size N] --out FILE\n"
                     "Write a signed tree head of the log, with the witnesses' cosignatures\n"
                     "it carries: the latest, or the one of size N.\n"
                     "\n"
                     "  --dir A      the aggregator's directory\n"
                     "  --size N     the log size of the head (default: the latest)\n"
                     "  --out FILE   the file to write\n"
                     "\n"
                     "exit codes: 0; 1 cannot write; 2 bad input or no such head\n")},
    {"consistency-proof",
     N_("usage: zhibao-agg consistency-proof --dir A --from N1 --to N2 --out FILE\n"
        "Write the consistency proof between the log's heads of size N1 and N2: the\n"
        "larger log extends the smaller (zhibao-audit consistency).\n"
        "\n"
        "  --dir A      the aggregator's directory\n"
        "  --from N1    the older size (at least 1)\n"
        "  --to N2      the newer size (at most the log's)\n"
        "  --out FILE   the file to write\n"
        "\n"
        "exit codes: 0; 1 cannot write; 2 bad input\n")},
    {"web", N_("usage: zhibao-agg web --dir A [--listen 127.0.0.1:8080] [--token T]\n"
               "The prefecture's dashboard, read-only HTTP beside serve: completeness, the\n"
               "accidents with their revisions, the indicators, each county, the bulletin;\n"
               "a JSON API giving the same bytes as report --format json (web/README.md).\n"
               "Stops on SIGINT or SIGTERM.\n"
               "\n"
               "  --dir A             the aggregator's directory\n"
               "  --listen HOST:PORT  where to listen (default 127.0.0.1:8080, loopback)\n"
               "  --token T           required by /api/ and /bulletin (default\n"
               "                      $ZB_WEB_TOKEN; none: open to whoever reaches it)\n"
               "\n"
               "exit codes: 0 stopped by a signal; 1 cannot listen; 2 bad input\n")},
    {"review",
     N_("usage: zhibao-agg review --dir A --county CODE --seq N (--accept | --return)\n"
        "                         [--comment TEXT] [--reviewer NAME]\n"
        "Accept a county's report or return it for correction: a message signed by\n"
        "the prefecture, logged, delivered at the county's next sync. The latest\n"
        "review of a report stands.\n"
        "\n"
        "  --dir A           the aggregator's directory\n"
        "  --county CODE     the county\n"
        "  --seq N           the report's seq\n"
        "  --accept          accept it\n"
        "  --return          return it for correction\n"
        "  --comment TEXT    why (at most 4000 characters)\n"
        "  --reviewer NAME   who reviewed it (at most 64 characters)\n"
        "\n"
        "exit codes: 0 stored; 1 store error; 2 bad input, nothing stored\n")},
    {"remind", N_("usage: zhibao-agg remind --dir A --period YYYY-MM\n"
                  "       zhibao-agg remind --dir A --supplements\n"
                  "Remind every enrolled county whose report for the period is missing and\n"
                  "print those counties; or, with --supplements, the county of every\n"
                  "accident whose follow-up is overdue (county, accident, when it was due).\n"
                  "\n"
                  "  --dir A         the aggregator's directory\n"
                  "  --period P      the month, YYYY-MM\n"
                  "  --supplements   the overdue follow-ups instead\n"
                  "\n"
                  "exit codes: 0 (also when nobody needed reminding); 1 store error; 2 bad\n"
                  "input\n")},
    {"deadline",
     N_("usage: zhibao-agg deadline --dir A --period YYYY-MM --at TIME\n"
        "Move the period's deadline for every county (e.g. over a public holiday),\n"
        "no earlier than the 5th 23:59:59 +08:00 of the next month: a message to\n"
        "every enrolled county; report monthly judges by the moved deadline.\n"
        "\n"
        "  --dir A      the aggregator's directory\n"
        "  --period P   the month, YYYY-MM\n"
        "  --at TIME    the new deadline, RFC 3339 (+08:00 when without offset)\n"
        "\n"
        "exit codes: 0 stored; 1 store error; 2 bad input or no county enrolled\n")},
    {"notice", N_("usage: zhibao-agg notice --dir A (--county CODE | --all) --title TEXT\n"
                  "                         (--text TEXT | --file F)\n"
                  "Send a notice to one county or to every enrolled county.\n"
                  "\n"
                  "  --dir A         the aggregator's directory\n"
                  "  --county CODE   to this county\n"
                  "  --all           to every enrolled county\n"
                  "  --title TEXT    at most 200 characters\n"
                  "  --text TEXT     at most 20000 characters\n"
                  "  --file F        the text from a UTF-8 file\n"
                  "\n"
                  "exit codes: 0 stored; 1 store error; 2 bad input, nothing stored\n")},
    {"witness",
     N_("usage: zhibao-agg witness --dir A --add WKEY --endpoint ENDPOINT\n"
        "       zhibao-agg witness --dir A --remove WKEY\n"
        "       zhibao-agg witness --dir A [--json]\n"
        "The witnesses (zhibao-witness) serve sends every new tree head to, with a\n"
        "consistency proof; their cosignatures travel on every head handed out. A\n"
        "running serve picks changes up within a second. Without --add or --remove:\n"
        "the witnesses and what each cosigned.\n"
        "\n"
        "  --dir A             the aggregator's directory\n"
        "  --add WKEY          add the witness with this public key (64 hex digits)\n"
        "  --endpoint E        with --add: where it listens (tcp://HOST:7500)\n"
        "  --remove WKEY       remove it (its cosignatures stay)\n"
        "  --json              as JSON (the same in every language)\n"
        "\n"
        "exit codes: 0; 1 store error; 2 bad input, too many witnesses, or not a\n"
        "witness\n")},
};

bool zb_agg_help_print(FILE *f, const char *cmd, const char *kind)
{
    const char *text = NULL;
    if (!cmd) {
        text = overview;
    } else {
        bool bulletin = strcmp(cmd, "report") == 0 && kind && strcmp(kind, "bulletin") == 0;
        for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
            if (strcmp(pages[i].cmd, bulletin ? "report bulletin" : cmd) == 0)
                text = pages[i].text;
    }
    if (!text)
        return false;
    fputs(zb_tr(text), f);
    fputc('\n', f);
    fputs(zb_tr(common_options), f);
    return true;
}
