/*
 * zhibao-node - the county node: stores signed reports offline, syncs them
 * to the prefecture aggregator when a link exists.
 *
 * Exit codes: 0 success; 1 runtime error (store, network, refused by the
 * aggregator); 2 bad usage or bad input (nothing stored); 3 sync timed out
 * with reports pending.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "crypto.h"
#include "display.h"
#include "domain.h"
#include "cosig.h"
#include "downstream.h"
#include "envelope.h"
#include "fileio.h"
#include "err.h"
#include "log.h"
#include "help.h"
#include "i18n.h"
#include "node.h"
#include "progress.h"
#include "report.h"
#include "sync.h"
#include "timefmt.h"

#define EXIT_RUNTIME       1
#define EXIT_USAGE         2
#define EXIT_PENDING       3
#define ZB_SUBMIT_FILE_MAX (1024u << 20) /* one bulk import: 1 GiB of JSON */

typedef struct {
    const char *cmd; /* the command, for its --help */
    const char *dir, *county, *aggregator, *agg_key, *endpoint, *resume, *accidents;
    const char *read_id;                          /* inbox --read */
    const char *out;                              /* rotate-key, tree-head */
    const char *witness_keys[ZB_WITNESS_MAX + 1]; /* init, witnesses: --witness-key */
    size_t n_witness_keys;
    bool too_many_witness_keys;
    const char *witness_quorum;
    bool once, json, pending, unread;
    bool quiet, verbose;       /* --quiet, --verbose */
    zb_progress_mode progress; /* AUTO, ON (--progress), OFF (--quiet) */
    double timeout;
    int argc;
    char **argv; /* positional arguments */
} args;

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"county", required_argument, 0, 'c'},
                                         {"aggregator", required_argument, 0, 'a'},
                                         {"aggregator-key", required_argument, 0, 'k'},
                                         {"endpoint", required_argument, 0, 'e'},
                                         {"once", no_argument, 0, 'o'},
                                         {"timeout", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"pending", no_argument, 0, 'p'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"syslog", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {"resume", required_argument, 0, 'r'},
                                         {"accidents", required_argument, 0, 'x'},
                                         {"unread", no_argument, 0, 'u'},
                                         {"read", required_argument, 0, 'R'},
                                         {"out", required_argument, 0, 'O'},
                                         {"witness-key", required_argument, 0, 'W'},
                                         {"witness-quorum", required_argument, 0, 'Q'},
                                         {"lang", required_argument, 0, 'L'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"progress", no_argument, 0, 'P'},
                                         {0, 0, 0, 0}};
    int level = ZB_LOG_WARN;
    bool use_syslog = false, force_progress = false;
    optind = 1;
    opterr = 0; /* our own messages, in the chosen language */
    int c;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->dir = optarg; break;
        case 'c': a->county = optarg; break;
        case 'a': a->aggregator = optarg; break;
        case 'k': a->agg_key = optarg; break;
        case 'e': a->endpoint = optarg; break;
        case 'r': a->resume = optarg; break;
        case 'x': a->accidents = optarg; break;
        case 'o': a->once = true; break;
        case 'j': a->json = true; break;
        case 'p': a->pending = true; break;
        case 'u': a->unread = true; break;
        case 'R': a->read_id = optarg; break;
        case 'O': a->out = optarg; break;
        case 'L': break; /* taken by main before anything was printed */
        case 'q': a->quiet = true; break;
        case 'v': a->verbose = true; break;
        case 'P': force_progress = true; break;
        case 'W':
            if (a->n_witness_keys < ZB_WITNESS_MAX)
                a->witness_keys[a->n_witness_keys++] = optarg;
            else
                a->too_many_witness_keys = true;
            break;
        case 'Q': a->witness_quorum = optarg; break;
        case 's': use_syslog = true; break;
        case 't': {
            char *end;
            errno = 0;
            a->timeout = strtod(optarg, &end);
            if (errno || *end || a->timeout <= 0) {
                zb_cli_error_at("--timeout", "must be a positive number of seconds");
                return -1;
            }
            break;
        }
        case 'l':
            level = zb_log_level_parse(optarg);
            if (level < 0) {
                zb_cli_error_at("--log-level", "must be error, warn, info or debug");
                return -1;
            }
            break;
        case 'h': help_print(stdout, a->cmd); exit(0);
        case ':':
        default:
            zb_cli_option_error(c, argv[optind - 1], false, "see: zhibao-node %s --help\n", a->cmd);
            return -1;
        }
    }
    /* --quiet wins: a script asked for silence */
    a->progress = a->quiet ? ZB_PROGRESS_OFF : force_progress ? ZB_PROGRESS_ON : ZB_PROGRESS_AUTO;
    zb_log_init("zhibao-node", (zb_log_level)level, use_syslog);
    a->argc = argc - optind;
    a->argv = argv + optind;
    if (!a->dir) {
        zb_cli_error_at("--dir", "missing");
        return -1;
    }
    return 0;
}

static int open_node(const args *a, bool readonly, zb_node **n)
{
    int rc = zb_node_open(n, a->dir, readonly);
    if (rc == ZB_ENOTFOUND)
        zb_cli_error_at("--dir", "no node in %s (run zhibao-node init first)", a->dir);
    else if (rc == ZB_EKEYPERM) /* the file's mode is in the ZB-KEY-MODE line above */
        zb_cli_error_at("--dir",
                        "cannot open node in %s: %s/%s is open to other users: run chmod 600 %s/%s",
                        a->dir, a->dir, ZB_IDENTITY_FILE, a->dir, ZB_IDENTITY_FILE);
    else if (rc)
        zb_cli_error_at("--dir", "cannot open node in %s: %s", a->dir, zb_strerror(rc));
    return rc;
}

/* The one line for a failed write to the node's store (outcome: what it
 * means for the operator, already translated). */
static void store_error(const args *a, int rc, const char *outcome)
{
    switch (rc) {
    case ZB_ENOSPC:
        zb_cli_error_at(
            "store",
            "disk full (no space left on the file system holding %s): free space in %s; %s", a->dir,
            a->dir, outcome);
        break;
    case ZB_EMAPFULL:
        zb_cli_error_at("store", "the store in %s is full and its map could not grow (%s); %s",
                        a->dir, zb_strerror(rc), outcome);
        break;
    default:
        zb_cli_error_at("store", "cannot write the store in %s (%s); %s", a->dir, zb_strerror(rc),
                        outcome);
        break;
    }
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

/* ------------------------------------------------------------ init */

/* --witness-key and --witness-quorum: 0, or 1 after one line per problem. */
static int parse_witnesses(const args *a, uint8_t (*keys)[ZB_PK_LEN], uint64_t *quorum)
{
    int bad = 0;
    char err[200];
    if (a->too_many_witness_keys) {
        zb_cli_error_at("--witness-key", "at most %d witnesses", ZB_WITNESS_MAX);
        bad = 1;
    } else if (zb_cosig_parse_keys(a->witness_keys, a->n_witness_keys, keys, err, sizeof err)) {
        zb_cli_error_line(err);
        bad = 1;
    }
    *quorum = 0;
    if (a->witness_quorum) {
        char *end;
        errno = 0;
        unsigned long long q = strtoull(a->witness_quorum, &end, 10);
        if (errno || *end || !isdigit((unsigned char)a->witness_quorum[0]) ||
            q > a->n_witness_keys) {
            zb_cli_error_at(
                "--witness-quorum",
                "must be a whole number from 0 to the number of --witness-key given (%zu)",
                a->n_witness_keys);
            bad = 1;
        } else {
            *quorum = q;
        }
    }
    return bad;
}

static int cmd_init(const args *a)
{
    uint8_t wkeys[ZB_WITNESS_MAX][ZB_PK_LEN];
    uint64_t wquorum;
    int bad = parse_witnesses(a, wkeys, &wquorum);
    if (!a->county) {
        zb_cli_error_at("--county", "missing");
        bad = 1;
    } else if (!zb_county_code_valid(a->county)) {
        zb_cli_error_at("--county", "must be a 6-digit county code (e.g. 222401)");
        bad = 1;
    }
    if (!a->aggregator) {
        zb_cli_error_at("--aggregator", "missing (e.g. tcp://prefecture.example:7400)");
        bad = 1;
    }
    uint8_t key[ZB_PK_LEN];
    if (!a->agg_key) {
        zb_cli_error_at("--aggregator-key", "missing");
        bad = 1;
    } else if (zb_hex_decode(a->agg_key, key, sizeof key) != 0) {
        zb_cli_error_at("--aggregator-key", "must be 64 hex digits (zhibao-agg init prints it)");
        bad = 1;
    }
    uint64_t resume_seq = 0;
    uint8_t resume_hash[ZB_SHA256_LEN];
    if (a->resume) {
        const char *colon = strchr(a->resume, ':');
        char *end;
        errno = 0;
        resume_seq = colon ? strtoull(a->resume, &end, 10) : 0;
        if (!colon || errno || end != colon || resume_seq == 0 ||
            zb_hex_decode(colon + 1, resume_hash, sizeof resume_hash) != 0) {
            zb_cli_error_at("--resume", "must be SEQ:HASH as zhibao-agg revoke printed");
            bad = 1;
        }
    }
    if (a->accidents && !a->resume) {
        zb_cli_error_at("--accidents", "only with --resume (a replacement node)");
        bad = 1;
    }
    if (bad)
        return EXIT_USAGE;
    if (!zb_county_find(a->county))
        fprintf(stderr, _("note: %s is not one of the eight Yanbian county codes\n"), a->county);
    char pk[2 * ZB_PK_LEN + 1];
    int rc = zb_node_create(a->dir, a->county, a->aggregator, a->agg_key, pk);
    if (rc == ZB_EEXIST) {
        zb_cli_error_at("--dir", "a node already exists in %s", a->dir);
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error_at("--dir", "cannot create node in %s: %s", a->dir, zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    if (a->resume && (rc = zb_node_resume(a->dir, resume_seq, resume_hash)) != 0) {
        zb_cli_error_at("--resume", "%s", zb_strerror(rc));
        zb_cli_error_at("init", "did not finish: remove %s and run init again", a->dir);
        return EXIT_RUNTIME;
    }
    if (a->accidents) {
        zb_problems p = {.localize = true};
        rc = zb_node_import_accidents(a->dir, a->accidents, &p);
        for (size_t i = 0; i < p.n; i++)
            zb_cli_error_at("--accidents", "%s", p.lines[i]);
        zb_problems_free(&p);
        if (rc && rc != ZB_EVALIDATION)
            zb_cli_error_at("--accidents", "%s: %s", a->accidents, zb_strerror(rc));
        if (rc) {
            zb_cli_error_at("init", "did not finish: remove %s and run init again", a->dir);
            return rc == ZB_EVALIDATION || rc == ZB_EIO || rc == ZB_ETOOBIG ? EXIT_USAGE
                                                                            : EXIT_RUNTIME;
        }
    }
    if (a->n_witness_keys) {
        zb_node *n;
        if ((rc = zb_node_open(&n, a->dir, false)) == 0) {
            rc = zb_node_set_witnesses(n, (const uint8_t(*)[ZB_PK_LEN])wkeys, a->n_witness_keys,
                                       wquorum);
            zb_node_close(&n);
        }
        if (rc) {
            zb_cli_error_at("--witness-key", "%s", zb_strerror(rc));
            zb_cli_error_at("init", "did not finish: remove %s and run init again", a->dir);
            return EXIT_RUNTIME;
        }
        if (wquorum)
            printf(_("%zu witness(es); a tree head is final with %" PRIu64 " cosignature(s)\n"),
                   a->n_witness_keys, wquorum);
        else
            printf(_("%zu witness(es); a tree head is final with 0 cosignature(s) (none "
                     "needed)\n"),
                   a->n_witness_keys);
    }
    const zb_county *c = zb_county_find(a->county);
    if (a->resume)
        printf(_("continuing the county's reports after seq %" PRIu64 "\n"), resume_seq);
    if (a->accidents)
        printf(_("took over the predecessor's accidents from %s\n"), a->accidents);
    printf(_("node created for county %s%s%s in %s\n"), a->county, c ? " " : "", c ? c->name : "",
           a->dir);
    /* the request, signed by the new key, is its proof of possession */
    char request[4096];
    snprintf(request, sizeof request, "%s/%s", a->dir, ZB_NODE_KEY_REQUEST_FILE);
    printf(_("key request: %s (the prefecture enrols this node with: zhibao-agg enroll --dir A "
             "--county %s --request %s)\n"),
           request, a->county, request);
    printf("%s\n", pk);
    return 0;
}

/* ------------------------------------------------------------ submit */

/* Parse FILE: one object, an array of objects, or JSON Lines (several
 * values one after another). Returns the values as a new JSON array and
 * sets *bulk when the input held more than one report or was an array. */
static json_t *parse_input(const char *text, size_t len, bool *bulk, zb_problems *p)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len) {
        zb_problems_add(p, "(input): empty, expected a JSON report");
        return NULL;
    }
    json_error_t err;
    if (text[i] == '[') {
        json_t *arr = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        if (!arr) {
            zb_problems_add(p, "(input): not valid JSON at line %d column %d: %s", err.line,
                            err.column, err.text);
            return NULL;
        }
        *bulk = true;
        return arr;
    }
    json_t *arr = json_array();
    size_t off = 0;
    int line = 1;
    while (off < len) {
        while (off < len &&
               (text[off] == ' ' || text[off] == '\t' || text[off] == '\r' || text[off] == '\n')) {
            if (text[off] == '\n')
                line++;
            off++;
        }
        if (off >= len)
            break;
        json_t *v = json_loadb(text + off, len - off,
                               JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
        if (!v) {
            zb_problems_add(p, "(input): not valid JSON at line %d column %d: %s",
                            line + err.line - 1, err.column, err.text);
            json_decref(arr);
            return NULL;
        }
        for (size_t k = off; k < off + err.position && k < len; k++)
            if (text[k] == '\n')
                line++;
        off += err.position;
        json_array_append_new(arr, v);
    }
    *bulk = json_array_size(arr) > 1;
    return arr;
}

/* One accident's grade, as a single submit has always said it. */
static void print_grade_line(const Zb__AccidentReport *ac)
{
    zb_grade g = zb_grade_compute(ac->deaths, ac->missing, ac->serious_injuries,
                                  ac->direct_loss_yuan, ZB_MISSING_COUNT_AS_DEAD);
    if (zb_i18n_lang() == ZB_LANG_ZH)
        fprintf(stderr,
                _("accident %s revision %u: grade %s, report to %s (missing counted as "
                  "dead)\n"),
                ac->accident_id, ac->revision, zb_grade_name_zh(g),
                zb_label(zb_grade_report_to(g)));
    else
        fprintf(stderr, /* English as it always was: scripts may read it */
                "accident %s revision %u: grade %s (%s), report to %s (missing counted as dead)\n",
                ac->accident_id, ac->revision, zb_grade_name(g), zb_grade_name_zh(g),
                zb_grade_report_to(g));
}

/* A bulk submit's summary on stderr: the reports stored, accident reports
 * by grade, and every one that must be reported above the prefecture
 * (较大 and above: the province or the State Council's department), named.
 * One line per accident only with --verbose. */
static void print_bulk_summary(const args *a, Zb__Report **reports, size_t count, uint64_t first,
                               uint64_t last)
{
    uint64_t by_grade[4] = {0}, accidents = 0, above = 0;
    for (size_t i = 0; i < count; i++) {
        const Zb__AccidentReport *ac = reports[i]->accident;
        if (reports[i]->content_case != ZB__REPORT__CONTENT_ACCIDENT)
            continue;
        zb_grade g = zb_grade_compute(ac->deaths, ac->missing, ac->serious_injuries,
                                      ac->direct_loss_yuan, ZB_MISSING_COUNT_AS_DEAD);
        accidents++;
        if ((int)g >= 0 && (int)g < 4)
            by_grade[g]++;
        if (strcmp(zb_grade_report_to(g), "prefecture") != 0)
            above++;
        if (a->verbose)
            print_grade_line(ac);
    }
    fprintf(stderr,
            _("stored %zu report(s), seq %" PRIu64 "..%" PRIu64 ": %" PRIu64
              " accident report(s), %" PRIu64 " monthly report(s)\n"),
            count, first, last, accidents, (uint64_t)count - accidents);
    if (accidents == 0)
        return;
    fprintf(stderr, "%s:", _("accident reports by grade (missing counted as dead)"));
    for (int g = 0; g < 4; g++)
        fprintf(stderr, "%s %s %" PRIu64, g ? "," : "", zb_label(zb_grade_name((zb_grade)g)),
                by_grade[g]);
    fputc('\n', stderr);
    if (above == 0) {
        fprintf(stderr, "%s\n", _("none must be reported above the prefecture"));
        return;
    }
    fprintf(stderr, _("%" PRIu64 " must be reported above the prefecture:\n"), above);
    for (size_t i = 0; i < count; i++) {
        const Zb__AccidentReport *ac = reports[i]->accident;
        if (reports[i]->content_case != ZB__REPORT__CONTENT_ACCIDENT)
            continue;
        zb_grade g = zb_grade_compute(ac->deaths, ac->missing, ac->serious_injuries,
                                      ac->direct_loss_yuan, ZB_MISSING_COUNT_AS_DEAD);
        const char *to = zb_grade_report_to(g);
        if (strcmp(to, "prefecture") == 0)
            continue;
        fprintf(stderr, _("  accident %s revision %u: %s, report to %s\n"), ac->accident_id,
                ac->revision, zb_label(zb_grade_name(g)), zb_label(to));
    }
}

/* More reports than this in one submit: progress on a terminal. */
#define SUBMIT_PROGRESS_MIN 1000

static int cmd_submit(const args *a)
{
    if (a->argc != 1) {
        zb_cli_error_at("FILE", "give exactly one file name, or - for standard input");
        return EXIT_USAGE;
    }
    size_t len;
    int rerr;
    char *text = zb_read_file(a->argv[0], ZB_SUBMIT_FILE_MAX, &len, &rerr);
    if (!text) {
        if (rerr == ZB_ETOOBIG)
            zb_cli_error_at("FILE", "%s is over %u MiB: split the import", a->argv[0],
                            ZB_SUBMIT_FILE_MAX >> 20);
        else
            zb_cli_error_at("FILE", "cannot read %s: %s", a->argv[0], strerror(errno));
        return EXIT_USAGE;
    }
    zb_problems problems = {.localize = true}, warnings = {.localize = true};
    bool bulk = false;
    json_t *arr = parse_input(text, len, &bulk, &problems);
    free(text);
    size_t count = arr ? json_array_size(arr) : 0;
    if (arr && count == 0)
        zb_problems_add(&problems, "(input): no reports in the list");
    Zb__Report **reports = count ? calloc(count, sizeof *reports) : NULL;
    if (count && !reports)
        zb_problems_add(&problems, "(input): out of memory");
    /* a large import: progress through checking, then storing (one
     * transaction: its end is all there is to see) */
    zb_progress prog = {0};
    bool large = count > SUBMIT_PROGRESS_MIN;
    if (large)
        zb_progress_start(&prog, a->progress, _("submit: checking"), _("reports"), count);
    for (size_t i = 0; reports && i < count; i++) {
        char pre[32] = "";
        if (bulk)
            snprintf(pre, sizeof pre, "[%zu].", i);
        reports[i] = zb_report_from_json(json_array_get(arr, i), pre, &problems, &warnings);
        if (large)
            zb_progress_update(&prog, i + 1);
    }
    if (large)
        zb_progress_finish(&prog);
    json_decref(arr);

    zb_node *n = NULL;
    int rc = 0, exit_code = 0;
    uint64_t first = 0, last = 0;
    if (problems.n == 0) {
        if ((rc = open_node(a, false, &n)) != 0) {
            exit_code = rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
            goto out;
        }
        if (large) {
            zb_progress_start(&prog, a->progress, _("submit: storing"), _("reports"), count);
            zb_progress_update(&prog, 0); /* shown while the one transaction runs */
        }
        rc = zb_node_submit(n, reports, count, (int64_t)time(NULL), bulk, &problems, &first, &last);
        if (large) {
            zb_progress_update(&prog, rc == 0 && problems.n == 0 ? count : 0);
            zb_progress_finish(&prog);
        }
    }
    for (size_t i = 0; i < warnings.n; i++)
        zb_cli_warning_line(warnings.lines[i]);
    if (problems.n) {
        for (size_t i = 0; i < problems.n; i++)
            zb_cli_error_line(problems.lines[i]);
        if (problems.n == 1)
            fprintf(stderr, "%s\n", _("nothing stored (1 problem)"));
        else
            fprintf(stderr, _("nothing stored (%zu problems)\n"), problems.n);
        exit_code = EXIT_USAGE;
        goto out;
    }
    if (rc == ZB_ECONFIG) {
        zb_cli_error_at("store",
                        "this node's key was rotated (rotate-key) while submitting: nothing "
                        "was stored; submit again");
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    if (rc) {
        store_error(a, rc, _("nothing was stored"));
        exit_code = EXIT_RUNTIME;
        goto out;
    }
    /* the computed grades, for the clerk (stderr keeps stdout to the
     * sequence numbers scripts read): one report's line, or a summary */
    if (!a->quiet && bulk) {
        print_bulk_summary(a, reports, count, first, last);
    } else if (!a->quiet) {
        for (size_t i = 0; i < count; i++)
            if (reports[i]->content_case == ZB__REPORT__CONTENT_ACCIDENT)
                print_grade_line(reports[i]->accident);
    }
    if (bulk)
        printf("%" PRIu64 " %" PRIu64 "\n", first, last);
    else
        printf("%" PRIu64 "\n", first);
out:
    for (size_t i = 0; reports && i < count; i++)
        if (reports[i])
            zb__report__free_unpacked(reports[i], NULL);
    free(reports);
    zb_problems_free(&problems);
    zb_problems_free(&warnings);
    zb_node_close(&n);
    return exit_code;
}

/* ------------------------------------------------------------ keys */

/* What a key alarm means, for a person, into buf. current: the node's key. */
static void alarm_text(const zb_node_keys *k, const uint8_t current[ZB_PK_LEN], char *buf,
                       size_t len)
{
    const zb_node_key_event *e = &k->alarm_event;
    char key[2 * ZB_PK_LEN + 1] = "?";
    if (e->has_key)
        zb_hex_encode(e->key, ZB_PK_LEN, key);
    switch (k->alarm) {
    case ZB_NODE_ALARM_ENROLLED:
        snprintf(buf, len,
                 _("the prefecture's log enrols key %s for this county (log index %" PRIu64
                   "), a key this node never held: someone else can sign this county's "
                   "reports"),
                 key, e->log_index);
        break;
    case ZB_NODE_ALARM_REVOKED:
        snprintf(buf, len,
                 _("the prefecture's log revokes %s key %s without its consent (log "
                   "index %" PRIu64 ")"),
                 memcmp(e->key, current, ZB_PK_LEN) == 0 ? _("this node's") : _("a former"), key,
                 e->log_index);
        break;
    case ZB_NODE_ALARM_INVALID:
        snprintf(buf, len,
                 _("the prefecture's log holds a key event of this county that does not "
                   "verify (log index %" PRIu64 ")"),
                 e->log_index);
        break;
    default: snprintf(buf, len, _("none")); break;
    }
}

static const char *key_state_name(zb_node_key_state s)
{
    switch (s) {
    case ZB_NODE_KEY_ACTIVE: return "active";
    case ZB_NODE_KEY_REVOKED: return "revoked";
    default: return "unknown";
    }
}

static int cmd_rotate_key(const args *a)
{
    if (a->argc != 0) {
        zb_cli_error_at("rotate-key", "unexpected argument %s", a->argv[0]);
        return EXIT_USAGE;
    }
    zb_node *n;
    int rc = open_node(a, false, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    zb_node_status st;
    if ((rc = zb_node_get_status(n, &st)) != 0) {
        zb_cli_error_at("rotate-key", "cannot read the store in %s: %s", a->dir, zb_strerror(rc));
        zb_node_close(&n);
        return EXIT_RUNTIME;
    }
    zb_node_rotation r;
    rc = zb_node_rotate_key(n, a->out, (int64_t)time(NULL), &r);
    zb_node_close(&n);
    char file[4096];
    if (a->out)
        snprintf(file, sizeof file, "%s", a->out);
    else
        snprintf(file, sizeof file, "%s/" ZB_NODE_KEY_REQUEST_FILE, a->dir);
    if (rc == ZB_EINVAL && r.pending > 0) {
        zb_cli_error_at("rotate-key",
                        "%" PRIu64 " report(s) not acknowledged yet: sync "
                        "first",
                        r.pending);
        return EXIT_USAGE;
    }
    if (rc == ZB_ELOCKED) {
        if (r.lock_holder > 0)
            zb_cli_error_at("rotate-key",
                            "a zhibao-node sync holds %s (pid %ld): stop it, "
                            "rotate the key, then start it again",
                            a->dir, r.lock_holder);
        else
            zb_cli_error_at("rotate-key",
                            "a zhibao-node sync holds %s: stop it, rotate "
                            "the key, then start it again",
                            a->dir);
        return EXIT_RUNTIME;
    }
    if (rc == ZB_ENOTFOUND) {
        zb_cli_error_at("rotate-key",
                        "this node's key is not seen enrolled in the "
                        "prefecture's log yet (sync first: only an enrolled key can consent to its "
                        "replacement)");
        return EXIT_USAGE;
    }
    if (rc == ZB_ENOTENROLLED) {
        zb_cli_error_at("rotate-key",
                        "the prefecture's log revokes this node's key: a "
                        "revoked key cannot consent to a rotation (a replacement node is made with "
                        "zhibao-node init --resume, as zhibao-agg revoke printed)");
        return EXIT_USAGE;
    }
    if (rc) {
        store_error(a, rc, _("the key was not rotated"));
        return EXIT_RUNTIME;
    }
    char old_hex[2 * ZB_PK_LEN + 1], new_hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(r.old_key, ZB_PK_LEN, old_hex);
    zb_hex_encode(r.new_key, ZB_PK_LEN, new_hex);
    if (r.rewritten)
        printf(_("a rotation made before still waits for the prefecture: key %s replacing %s "
                 "after seq %" PRIu64 " (nothing changed)\n"),
               new_hex, old_hex, r.after_seq);
    else
        printf(_("key rotated: this node signs with a new key from now on; the previous key %s "
                 "signed its reports up to seq %" PRIu64 "\n"),
               old_hex, r.after_seq);
    if (!r.request_written) {
        zb_cli_error_at("rotate-key",
                        "the rotation request could not be written to %s: "
                        "run zhibao-node rotate-key --dir %s%s%s again to write it",
                        file, a->dir, a->out ? " --out " : "", a->out ? a->out : "");
        return EXIT_RUNTIME;
    }
    printf(_("rotation request: %s (give it to the prefecture, which applies it with: zhibao-agg "
             "enroll --dir A --county %s --request %s)\n"),
           file, st.county, file);
    printf(_("until the prefecture has applied it, sync is refused\n"));
    printf("%s\n", new_hex);
    return 0;
}

static int cmd_tree_head(const args *a)
{
    if (!a->out) {
        zb_cli_error_at("--out", "missing (the tree-head file to write)");
        return EXIT_USAGE;
    }
    zb_node *n;
    int rc = open_node(a, true, &n); /* read-only: beside a running sync */
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    uint64_t size = 0;
    rc = zb_node_write_tree_head(n, a->out, &size);
    zb_node_close(&n);
    if (rc == ZB_ENOTFOUND) {
        zb_cli_error_at("tree-head", "this node has accepted no tree head yet (sync "
                                     "first)");
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error_at("tree-head", "cannot write %s: %s", a->out, zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    printf(_("signed tree head of size %" PRIu64 " written to %s\n"), size, a->out);
    return 0;
}

/* ------------------------------------------------------------ sync */

static void on_signal(int sig)
{
    (void)sig;
    zb_sync_stop = 1;
}

/* Reports delivered: done/total of those pending when the run started (a
 * daemon: since it was last idle), growing as new ones are stored. */
typedef struct {
    zb_progress bar;
    zb_progress_mode mode;
    bool started;
    uint64_t base; /* acknowledged when the bar started */
} sync_progress;

static void sync_progress_cb(void *ctx, uint64_t acked, uint64_t stored)
{
    sync_progress *sp = ctx;
    if (!sp->started) {
        if (stored <= acked)
            return; /* nothing to deliver: no bar */
        sp->started = true;
        sp->base = acked;
        zb_progress_start(&sp->bar, sp->mode, _("sync"), _("reports"), stored - acked);
    }
    zb_progress_total(&sp->bar, stored - sp->base);
    zb_progress_update(&sp->bar, acked > sp->base ? acked - sp->base : 0);
    if (acked >= stored) { /* all delivered: the last line; a daemon starts a new one later */
        zb_progress_finish(&sp->bar);
        sp->started = false;
    }
}

static int cmd_sync(const args *a)
{
    zb_node *n;
    int rc = open_node(a, false, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    /* one sync per node directory: two would send the same reports and
     * fight over the acknowledgements (submit stays allowed beside it) */
    long holder;
    if ((rc = zb_node_lock_sync(n, &holder)) != 0) {
        if (rc == ZB_ELOCKED && holder > 0)
            zb_cli_error_at("sync", "another zhibao-node sync holds %s (pid %ld)", a->dir, holder);
        else if (rc == ZB_ELOCKED)
            zb_cli_error_at("sync", "another zhibao-node sync holds %s", a->dir);
        else
            zb_cli_error_at("sync", "cannot lock %s/%s: %s", a->dir, ZB_NODE_SYNC_LOCK,
                            zb_strerror(rc));
        zb_node_close(&n);
        return EXIT_RUNTIME;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    zb_sync_stats stats = {0};
    sync_progress sp = {.mode = a->progress};
    zb_sync_opts o = {.once = a->once,
                      .timeout_s = a->timeout,
                      .endpoint = a->endpoint,
                      .stats = &stats,
                      .progress = sync_progress_cb,
                      .progress_ctx = &sp};
    zb_node_status before;
    if (zb_node_get_status(n, &before) != 0)
        before.inbox = 0;
    uint8_t loaded[ZB_PK_LEN]; /* the key this process signs and connects with */
    memcpy(loaded, zb_node_identity(n)->pk, ZB_PK_LEN);
    rc = zb_sync_run(n, &o);
    if (sp.started) /* stopped with reports pending: the line ends here */
        zb_progress_finish(&sp.bar);
    zb_node_status st;
    int src = zb_node_get_status(n, &st);
    zb_node_keys keys;
    bool has_keys = zb_node_key_status(n, &keys) == 0;
    zb_node_close(&n);
    if (has_keys && keys.alarm != ZB_NODE_ALARM_NONE && src == 0) {
        char what[400];
        alarm_text(&keys, st.node_key, what, sizeof what);
        fprintf(stderr,
                _("sync: ALARM: %s: keep %s as evidence and tell the county office "
                  "(zhibao-node status)\n"),
                what, a->dir);
    }
    const char *endpoint = a->endpoint ? a->endpoint : src == 0 ? st.endpoint : "?";
    if (rc == ZB_SYNC_PENDING && stats.server_errors > 0) {
        fprintf(stderr,
                _("sync: timed out: %" PRIu64 " report(s) pending: the aggregator's store failed "
                  "(SERVER_ERROR, %" PRIu64 " time(s)): nothing was lost, they will be retried "
                  "(tell the prefecture)\n"),
                src == 0 ? st.stored - st.acked : 0, stats.server_errors);
        return EXIT_PENDING;
    }
    if (rc == ZB_SYNC_PENDING && src == 0 && st.stored == st.acked) {
        fprintf(stderr, _("sync: timed out: no report pending, but the prefecture's messages "
                          "could not be fetched (aggregator unreachable?)\n"));
        return EXIT_PENDING;
    }
    if (rc == ZB_SYNC_PENDING) {
        fprintf(stderr,
                _("sync: timed out: %" PRIu64 " report(s) pending (aggregator unreachable?)\n"),
                src == 0 ? st.stored - st.acked : 0);
        return EXIT_PENDING;
    }
    if (rc == ZB_EPEERKEY) {
        fprintf(stderr,
                _("sync: failed: the aggregator at %s does not hold the key given at init "
                  "(--aggregator-key): check it\n"),
                endpoint);
        return EXIT_RUNTIME;
    }
    if (rc == ZB_ENOSPC || rc == ZB_EMAPFULL) {
        store_error(a, rc, _("the sync stopped (nothing acknowledged is lost: run it again)"));
        return EXIT_RUNTIME;
    }
    if (rc == ZB_ECONFIG && src == 0 && memcmp(loaded, st.node_key, ZB_PK_LEN) != 0) {
        fprintf(stderr, _("sync: failed: this node's key was rotated (rotate-key) as this sync "
                          "started: run it again\n"));
        return EXIT_RUNTIME;
    }
    if (rc == ZB_ENOTENROLLED && has_keys && keys.state == ZB_NODE_KEY_REVOKED) {
        char when[40] = "?";
        (void)zb_time_format(keys.revocation.time, ZB_CST_OFFSET_MIN, 0, when, sizeof when);
        fprintf(stderr,
                _("sync: refused: this node's key is not enrolled any more: the prefecture "
                  "revoked it (log index %" PRIu64 ", %s), %s: this node can no longer file "
                  "reports%s\n"),
                keys.revocation.log_index, when,
                keys.revocation.consented
                    ? _("consented (a rotation request signed with this node's key replaced it)")
                    : _("NOT consented (as for a lost machine)"),
                keys.revocation.consented ? ""
                                          : _("; if this machine was not lost, keep this "
                                              "directory as evidence and tell the county office"));
        return EXIT_RUNTIME;
    }
    if (rc == ZB_ENOTENROLLED && has_keys && keys.rotation_waiting) {
        fprintf(stderr,
                _("sync: refused: this node's new key (rotate-key) is not enrolled yet: "
                  "give the rotation request (%s/%s or rotate-key's --out file) to the "
                  "prefecture: zhibao-agg enroll --dir A --county %s --request FILE\n"),
                a->dir, ZB_NODE_KEY_REQUEST_FILE, src == 0 ? st.county : "CODE");
        return EXIT_RUNTIME;
    }
    if (rc) {
        fprintf(stderr, _("sync: failed: %s\n"), zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    if (a->quiet) /* the summary only: errors above were said anyway */
        return 0;
    if (a->once && src == 0 && st.inbox > before.inbox)
        fprintf(stderr,
                _("sync: all %" PRIu64 " report(s) acknowledged; %" PRIu64 " new message(s) "
                  "from the prefecture (zhibao-node inbox)\n"),
                st.acked, st.inbox - before.inbox);
    else if (a->once && src == 0)
        fprintf(stderr, _("sync: all %" PRIu64 " report(s) acknowledged\n"), st.acked);
    return 0;
}

/* ------------------------------------------------------------ read-only */

/* {"event", "log_index", "key"} of a key event, with "consented" and
 * "time" when full. */
static json_t *key_event_json(const char *event, const zb_node_key_event *e, bool full)
{
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string(event));
    json_object_set_new(o, "log_index", json_integer((json_int_t)e->log_index));
    char key[2 * ZB_PK_LEN + 1];
    zb_hex_encode(e->key, ZB_PK_LEN, key);
    json_object_set_new(o, "key", e->has_key ? json_string(key) : json_null());
    if (!full)
        return o;
    json_object_set_new(o, "consented", json_boolean(e->consented));
    char when[40];
    json_object_set_new(o, "time",
                        zb_time_format(e->time, ZB_CST_OFFSET_MIN, 0, when, sizeof when) == 0
                            ? json_string(when)
                            : json_null());
    return o;
}

/* The label column of status and witnesses: 12 terminal columns. */
#define LABEL_WIDTH 12

static void status_label(const char *label)
{
    zb_display_cell(stdout, zb_trc("status", label), LABEL_WIDTH, false);
}

static int cmd_status(const args *a)
{
    zb_node *n;
    int rc = open_node(a, true, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    zb_node_status st;
    uint64_t inbox_last = 0, unread = 0;
    char due_period[8] = "";
    int64_t due_at = 0;
    int32_t due_offset = ZB_CST_OFFSET_MIN;
    zb_node_keys keys;
    rc = zb_node_get_status(n, &st);
    if (rc == 0)
        rc = zb_node_key_status(n, &keys);
    if (rc == 0)
        rc = zb_node_inbox_counts(n, &inbox_last, &unread);
    if (rc == 0)
        rc = zb_node_next_deadline(n, (int64_t)time(NULL), due_period, &due_at, &due_offset);
    zb_node_witnessing wit;
    uint64_t unwitnessed = 0;
    if (rc == 0)
        rc = zb_node_witness_summary(n, &wit, &unwitnessed);
    zb_node_close(&n);
    if (rc) {
        zb_cli_error_line(zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    char due[40] = "";
    (void)zb_time_format(due_at, due_offset, 0, due, sizeof due);
    char key[2 * ZB_PK_LEN + 1];
    zb_hex_encode(st.node_key, ZB_PK_LEN, key);
    if (a->json) {
        json_t *j = json_object();
        json_object_set_new(j, "county", json_string(st.county));
        json_object_set_new(j, "stored", json_integer((json_int_t)st.stored));
        json_object_set_new(j, "acked", json_integer((json_int_t)st.acked));
        json_object_set_new(j, "pending", json_integer((json_int_t)(st.stored - st.acked)));
        json_object_set_new(j, "receipts", json_integer((json_int_t)st.receipts));
        json_object_set_new(j, "aggregator", json_string(st.endpoint));
        json_object_set_new(j, "node_key", json_string(key));
        json_object_set_new(j, "server_errors", json_integer((json_int_t)st.server_errors));
        json_object_set_new(j, "inbox", json_integer((json_int_t)inbox_last));
        json_object_set_new(j, "unread", json_integer((json_int_t)unread));
        json_t *next = json_object();
        json_object_set_new(next, "period", json_string(due_period));
        json_object_set_new(next, "deadline", due[0] ? json_string(due) : json_null());
        json_object_set_new(j, "next_deadline", next);
        json_object_set_new(j, "key_state", json_string(key_state_name(keys.state)));
        json_object_set_new(j, "key_event",
                            keys.state == ZB_NODE_KEY_REVOKED
                                ? key_event_json("revoked", &keys.revocation, true)
                                : json_null());
        json_object_set_new(
            j, "key_alarm",
            keys.alarm != ZB_NODE_ALARM_NONE
                ? key_event_json(zb_node_alarm_name(keys.alarm), &keys.alarm_event, false)
                : json_null());
        json_object_set_new(j, "key_rotation_waiting", json_boolean(keys.rotation_waiting));
        json_object_set_new(j, "tree_size", json_integer((json_int_t)st.tree_size));
        json_object_set_new(j, "witness_quorum", json_integer((json_int_t)wit.quorum));
        json_object_set_new(j, "witnessed_size", json_integer((json_int_t)wit.witnessed_size));
        json_object_set_new(j, "unwitnessed_receipts", json_integer((json_int_t)unwitnessed));
        print_json(j);
    } else {
        if (keys.alarm != ZB_NODE_ALARM_NONE) {
            char what[400];
            alarm_text(&keys, st.node_key, what, sizeof what);
            status_label("ALARM");
            printf(_("%s: keep this directory as evidence and tell the county office\n"), what);
        }
        const zb_county *c = zb_county_find(st.county);
        status_label("county");
        printf("%s %s\n", st.county, c ? c->name : "");
        status_label("stored");
        printf("%" PRIu64 "\n", st.stored);
        status_label("acked");
        printf("%" PRIu64 "\n", st.acked);
        status_label("pending");
        printf("%" PRIu64 "\n", st.stored - st.acked);
        status_label("receipts");
        printf("%" PRIu64 "\n", st.receipts);
        status_label("aggregator");
        printf("%s\n", st.endpoint);
        status_label("node key");
        printf("%s\n", key);
        status_label("key state");
        if (keys.state == ZB_NODE_KEY_REVOKED) {
            char when[40] = "?";
            (void)zb_time_format(keys.revocation.time, ZB_CST_OFFSET_MIN, 0, when, sizeof when);
            printf(_("REVOKED by the prefecture at log index %" PRIu64 " (%s), %s: this node can "
                     "no longer file reports\n"),
                   keys.revocation.log_index, when,
                   keys.revocation.consented ? _("consented") : _("NOT consented"));
        } else if (keys.state == ZB_NODE_KEY_ACTIVE) {
            printf("%s\n", _("active (enrolled in the prefecture's log)"));
        } else if (keys.rotation_waiting) {
            printf("%s\n",
                   _("unknown: rotated, waiting for the prefecture to apply the rotation request"));
        } else {
            printf("%s\n", _("unknown (not seen in the prefecture's log yet)"));
        }
        status_label("unread");
        printf(_("%" PRIu64 " of %" PRIu64 " message(s) from the prefecture%s\n"), unread,
               inbox_last, unread ? " (zhibao-node inbox)" : "");
        status_label("next due");
        printf(_("monthly report %s by %s\n"), due_period, due[0] ? due : "?");
        if (wit.quorum) {
            status_label("witnessed");
            printf(_("log up to size %" PRIu64 " of %" PRIu64 " (quorum %" PRIu64 " of %zu "
                     "witnesses); %" PRIu64 " receipt(s) not witnessed yet\n"),
                   wit.witnessed_size, st.tree_size, wit.quorum, wit.n_keys, unwitnessed);
        }
    }
    return 0;
}

/* `witnesses`: set the witnesses and quorum, or show them. */
static int cmd_witnesses(const args *a)
{
    uint8_t keys[ZB_WITNESS_MAX][ZB_PK_LEN];
    uint64_t quorum;
    if (parse_witnesses(a, keys, &quorum))
        return EXIT_USAGE;
    bool set = a->n_witness_keys > 0 || a->witness_quorum;
    zb_node *n;
    int rc = open_node(a, !set, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    if (set)
        rc = zb_node_set_witnesses(n, (const uint8_t(*)[ZB_PK_LEN])keys, a->n_witness_keys, quorum);
    zb_node_witnessing w;
    uint64_t unwitnessed = 0;
    if (rc == 0)
        rc = zb_node_witness_summary(n, &w, &unwitnessed);
    zb_node_close(&n);
    if (rc) {
        zb_cli_error_at("witnesses", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    if (a->json) {
        json_t *j = json_object(), *arr = json_array();
        for (size_t i = 0; i < w.n_keys; i++) {
            char hex[2 * ZB_PK_LEN + 1];
            zb_hex_encode(w.keys[i], ZB_PK_LEN, hex);
            json_array_append_new(arr, json_string(hex));
        }
        json_object_set_new(j, "witnesses", arr);
        json_object_set_new(j, "witness_quorum", json_integer((json_int_t)w.quorum));
        json_object_set_new(j, "witnessed_size", json_integer((json_int_t)w.witnessed_size));
        json_object_set_new(j, "unwitnessed_receipts", json_integer((json_int_t)unwitnessed));
        print_json(j);
        return 0;
    }
    for (size_t i = 0; i < w.n_keys; i++) {
        char hex[2 * ZB_PK_LEN + 1];
        zb_hex_encode(w.keys[i], ZB_PK_LEN, hex);
        status_label("witness");
        printf("%s\n", hex);
    }
    status_label("quorum");
    if (w.quorum) {
        printf(_("%" PRIu64 ": a tree head is final when %" PRIu64 " of them cosigned it (or a "
                 "later head it is proven part of)\n"),
               w.quorum, w.quorum);
        status_label("witnessed");
        printf(_("up to size %" PRIu64 "; %" PRIu64 " receipt(s) not witnessed yet\n"),
               w.witnessed_size, unwitnessed);
    } else {
        printf("%s\n", _("0: tree heads are accepted without witnesses"));
    }
    if (set)
        printf("%s\n", _("set (heads are judged again from the next sync)"));
    return 0;
}

static const char *sync_state_name(zb_node_sync_state s)
{
    switch (s) {
    case ZB_NODE_ACKED: return "acked";
    case ZB_NODE_RECEIPTED: return "receipted";
    case ZB_NODE_RECEIPT_INVALID: return "receipt_invalid";
    default: return "pending";
    }
}

/* One report's row, as JSON: the summary (list) or the whole report
 * (show), with its sync state ("receipted", "receipt_invalid", "acked",
 * "pending"), the prefecture's latest review ("accepted", "returned" or
 * null; walk with ZB_NODE_WITH_REVIEW) and report hash. NULL when the
 * stored envelope does not open. */
static json_t *report_row(const zb_node_report *rep, bool full)
{
    Zb__Envelope *env = NULL;
    Zb__Report *r = NULL;
    if (zb_envelope_open(rep->envelope, rep->envelope_len, &env, &r) != 0)
        return NULL;
    json_t *j = full ? zb_report_to_json(r) : json_object();
    if (!full) {
        json_object_set_new(j, "seq", json_integer((json_int_t)rep->seq));
        json_object_set_new(j, "type", json_string(zb_report_type_name(r)));
        char buf[40];
        if (zb_time_format(r->created_at, ZB_CST_OFFSET_MIN, 0, buf, sizeof buf) == 0)
            json_object_set_new(j, "created_at", json_string(buf));
        if (r->content_case == ZB__REPORT__CONTENT_MONTHLY) {
            json_object_set_new(j, "period", json_string(r->monthly->period));
        } else if (r->content_case == ZB__REPORT__CONTENT_ACCIDENT) {
            json_object_set_new(j, "accident_id", json_string(r->accident->accident_id));
            json_object_set_new(j, "revision", json_integer(r->accident->revision));
        }
    }
    if (rep->sync == ZB_NODE_RECEIPTED) {
        char buf[40];
        if (zb_time_format(rep->received_at, ZB_CST_OFFSET_MIN, 0, buf, sizeof buf) == 0)
            json_object_set_new(j, "received_at", json_string(buf));
    }
    json_object_set_new(j, "sync", json_string(sync_state_name(rep->sync)));
    json_object_set_new(j, "review",
                        rep->review
                            ? json_string(zb_down_decision_name((Zb__ReviewDecision)rep->review))
                            : json_null());
    uint8_t h[ZB_SHA256_LEN];
    char hex[2 * ZB_SHA256_LEN + 1];
    zb_report_hash(env->report.data, env->report.len, h);
    zb_hex_encode(h, sizeof h, hex);
    json_object_set_new(j, "report_hash", json_string(hex));
    zb__report__free_unpacked(r, NULL);
    zb__envelope__free_unpacked(env, NULL);
    return j;
}

/* The rows of list and receipts: a JSON array (--json) or a table whose
 * header line goes out before the first row (alone when there is none). */
typedef struct {
    const args *a;
    char header[256]; /* the table's header line, with its newline */
    json_t *rows;     /* --json: the rows so far */
    bool header_done;
    int bad; /* rows that did not verify */
} table;

/* One table row into buf, with its newline: each cell but the last padded
 * to its width in terminal columns (zb_display_width), one space between
 * cells. Truncated to len. */
static void table_row(char *buf, size_t len, const char *const *cells, const int *widths, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++) {
        const char *c = cells[i] ? cells[i] : "";
        int pad = i + 1 < n ? widths[i] - (int)zb_display_width(c) : 0;
        int w = snprintf(buf + used, len - used, "%s%*s%s", c, pad > 0 ? pad : 0, "",
                         i + 1 < n ? " " : "\n");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (used >= len && len > 1) /* truncated: still one line */
        buf[len - 2] = '\n';
}

static void table_header(table *t)
{
    if (!t->a->json && !t->header_done)
        fputs(t->header, stdout);
    t->header_done = true;
}

/* Print what the walk gathered and give the exit code; walk_rc is what
 * the walk returned. */
static int table_finish(table *t, int walk_rc)
{
    if (walk_rc) {
        json_decref(t->rows);
        return EXIT_RUNTIME;
    }
    table_header(t);
    if (t->a->json)
        print_json(t->rows);
    else
        json_decref(t->rows);
    return t->bad ? EXIT_RUNTIME : 0;
}

/* list's columns (terminal columns, by display width) */
static const int list_widths[] = {6, 8, 25, 28, 15, 0};

static int list_one(void *ctx, const zb_node_report *rep)
{
    table *t = ctx;
    table_header(t);
    json_t *row = report_row(rep, false);
    if (!row) {
        zb_cli_error("report %" PRIu64 ": stored envelope does not verify", rep->seq);
        t->bad++;
        return 0;
    }
    if (t->a->json) {
        json_array_append_new(t->rows, row);
        return 0;
    }
    char what[128], line[512];
    json_t *pid = json_object_get(row, "period");
    if (pid)
        snprintf(what, sizeof what, _("period %s"), json_string_value(pid));
    else
        snprintf(what, sizeof what, _("%s rev %d"),
                 json_string_value(json_object_get(row, "accident_id")),
                 (int)json_integer_value(json_object_get(row, "revision")));
    const char *review = json_string_value(json_object_get(row, "review"));
    char seq[24];
    snprintf(seq, sizeof seq, "%" PRIu64, rep->seq);
    const char *cells[] = {seq,
                           zb_trc("type", json_string_value(json_object_get(row, "type"))),
                           json_string_value(json_object_get(row, "created_at")),
                           what,
                           zb_trc("sync", json_string_value(json_object_get(row, "sync"))),
                           review ? zb_label(review) : "-"};
    table_row(line, sizeof line, cells, list_widths, 6);
    fputs(line, stdout);
    json_decref(row);
    return 0;
}

static int cmd_list(const args *a)
{
    zb_node *n;
    int rc = open_node(a, true, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    table t = {.a = a, .rows = json_array()};
    const char *heads[] = {zb_trc("heading", "SEQ"),     zb_trc("heading", "TYPE"),
                           zb_trc("heading", "CREATED"), zb_trc("heading", "WHAT"),
                           zb_trc("heading", "SYNC"),    zb_trc("heading", "REVIEW")};
    table_row(t.header, sizeof t.header, heads, list_widths, 6);
    unsigned flags =
        ZB_NODE_WITH_SYNC_STATE | ZB_NODE_WITH_REVIEW | (a->pending ? ZB_NODE_FROM_UNACKED : 0);
    rc = zb_node_each_report(n, 1, flags, list_one, &t);
    zb_node_close(&n);
    return table_finish(&t, rc);
}

/* The whole report, as JSON, for show; NULL when it does not open. */
static int show_one(void *ctx, const zb_node_report *rep)
{
    *(json_t **)ctx = report_row(rep, true);
    return 0;
}

/* show's label column */
#define SHOW_WIDTH 20

/* A field's value for a person: codes as labels in the chosen language
 * (industry, category, stage, grade, where to report, sync, review, type),
 * money in 万元 in Chinese; dumped is the JSON text of a non-string. */
static const char *show_value(const char *key, const json_t *val, const char *dumped)
{
    static char money[32];
    if (strcmp(key, "direct_loss_yuan") == 0 && json_is_integer(val))
        return zb_money((uint64_t)json_integer_value(val), money, sizeof money);
    if (!json_is_string(val))
        return dumped ? dumped : "";
    const char *v = json_string_value(val);
    static const char *const labelled[] = {"industry", "category",  "stage",
                                           "grade",    "report_to", "review"};
    for (size_t i = 0; i < sizeof labelled / sizeof labelled[0]; i++)
        if (strcmp(key, labelled[i]) == 0)
            return zb_label(v);
    if (strcmp(key, "sync") == 0 || strcmp(key, "type") == 0 || strcmp(key, "grade_rule") == 0)
        return zb_trc(key, v);
    return v;
}

static int cmd_show(const args *a)
{
    char *end;
    if (a->argc != 1) {
        zb_cli_error_at("SEQ", "give one sequence number");
        return EXIT_USAGE;
    }
    errno = 0;
    unsigned long long seq = strtoull(a->argv[0], &end, 10);
    if (errno || *end || seq == 0 || a->argv[0][0] == '-') {
        zb_cli_error_at("SEQ", "must be a positive whole number");
        return EXIT_USAGE;
    }
    zb_node *n;
    int rc = open_node(a, true, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    json_t *j = NULL;
    rc = zb_node_get_report(n, seq, ZB_NODE_WITH_SYNC_STATE | ZB_NODE_WITH_REVIEW, show_one, &j);
    zb_node_close(&n);
    if (rc == ZB_ENOTFOUND) {
        zb_cli_error_at("SEQ", "no report %llu in this node", seq);
        return EXIT_USAGE;
    }
    if (rc)
        return EXIT_RUNTIME;
    if (!j) {
        zb_cli_error("report %llu: stored envelope does not verify", seq);
        return EXIT_RUNTIME;
    }
    if (a->json) {
        print_json(j);
        return 0;
    }
    /* the same content, for a person */
    const char *key_s;
    json_t *val;
    json_object_foreach(j, key_s, val)
    {
        char *s = json_is_string(val) ? NULL : json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
        zb_display_cell(stdout, zb_trc("field", key_s), SHOW_WIDTH, false);
        putchar(' ');
        puts(show_value(key_s, val, s));
        free(s);
    }
    json_decref(j);
    return 0;
}

/* receipts' columns */
static const int receipt_widths[] = {8, 8, 25, 8, 0};

static int receipts_one(void *ctx, const zb_node_receipt *r)
{
    table *t = ctx;
    table_header(t);
    char sig[2 * ZB_SIG_LEN + 1] = "";
    if (r->has_signature)
        zb_hex_encode(r->signature, ZB_SIG_LEN, sig);
    char when[40] = "";
    (void)zb_time_format(r->received_at, ZB_CST_OFFSET_MIN, 0, when, sizeof when);
    if (r->verify)
        t->bad++;
    if (t->a->json) {
        json_t *row = json_object();
        json_object_set_new(row, "first_seq", json_integer((json_int_t)r->first_seq));
        json_object_set_new(row, "last_seq", json_integer((json_int_t)r->last_seq));
        json_object_set_new(row, "received_at", json_string(when));
        json_object_set_new(row, "valid", json_boolean(r->verify == 0));
        json_object_set_new(row, "signature", json_string(sig));
        json_array_append_new(t->rows, row);
    } else {
        char first[24], last[24], sig_short[24], line[256];
        snprintf(first, sizeof first, "%" PRIu64, r->first_seq);
        snprintf(last, sizeof last, "%" PRIu64, r->last_seq);
        snprintf(sig_short, sizeof sig_short, "%.16s...", sig);
        const char *cells[] = {first, last, when,
                               r->verify == 0 ? zb_trc("valid", "yes") : zb_trc("valid", "NO"),
                               sig_short};
        table_row(line, sizeof line, cells, receipt_widths, 5);
        fputs(line, stdout);
    }
    return 0;
}

static int cmd_receipts(const args *a)
{
    zb_node *n;
    int rc = open_node(a, true, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    table t = {.a = a, .rows = json_array()};
    const char *heads[] = {zb_trc("heading", "FIRST"), zb_trc("heading", "LAST"),
                           zb_trc("heading", "RECEIVED"), zb_trc("heading", "VALID"),
                           zb_trc("heading", "SIGNATURE")};
    table_row(t.header, sizeof t.header, heads, receipt_widths, 5);
    rc = zb_node_each_receipt(n, receipts_one, &t);
    zb_node_close(&n);
    return table_finish(&t, rc);
}

static void print_finding(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

static int cmd_verify_receipts(const args *a)
{
    zb_node *n;
    int rc = open_node(a, true, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    uint64_t receipts, reports, newest;
    long findings = zb_node_verify_all(n, print_finding, NULL, &receipts, &reports, &newest);
    zb_node_close(&n);
    if (findings < 0) {
        zb_cli_error_at("verify-receipts", "%s", zb_strerror((int)findings));
        return EXIT_RUNTIME;
    }
    printf(_("%" PRIu64 " receipt(s) covering %" PRIu64 " report(s): %s; every inclusion proof "
             "checked against tree heads proven consistent up to the newest (size %" PRIu64 ")\n"),
           receipts, reports, findings ? _("PROBLEMS ABOVE") : _("all verify"), newest);
    return findings ? EXIT_RUNTIME : 0;
}

/* ------------------------------------------------------------ inbox */

/* Where the text listing's message column starts (ID, NEW, DATE, KIND). */
#define INBOX_COLUMN 36

/* What the inbox walk gathers: one JSON object per message, as --json
 * prints them (the text listing is drawn from the same objects). */
typedef struct {
    json_t *rows;
    int bad; /* stored messages that do not verify any more */
} inbox_walk;

static int inbox_one(void *ctx, const zb_node_inbox_msg *m)
{
    inbox_walk *w = ctx;
    json_t *o;
    if (m->verify == 0) {
        if (!(o = zb_down_to_json(m->msg)))
            return ZB_ENOMEM;
    } else { /* what can be said without trusting the bytes */
        if (!(o = json_object()))
            return ZB_ENOMEM;
        json_object_set_new(o, "id", json_integer((json_int_t)m->number));
        json_object_set_new(o, "kind", json_null());
        json_object_set_new(o, "created_at", json_null());
        json_object_set_new(o, "error", json_string(zb_strerror(m->verify)));
        w->bad++;
    }
    json_object_set_new(o, "verified", json_boolean(m->verify == 0));
    json_object_set_new(o, "read", json_boolean(m->read));
    json_array_append_new(w->rows, o);
    return 0;
}

/* Print text from the prefecture for a person: control characters (C0
 * but tab and newline, DEL, C1) as '?', so no text can drive the
 * terminal; each line after the first indented by indent columns;
 * trailing line ends dropped. */
static void print_text(const char *s, int indent)
{
    size_t len = strlen(s);
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            printf("\n%*s", indent, "");
        else if (c == '\r')
            continue;
        else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
                 (unsigned char)s[i + 1] <= 0x9f) {
            putchar('?');
            i++;
        } else if ((c < 0x20 && c != '\t') || c == 0x7f)
            putchar('?');
        else
            putchar(c);
    }
}

/* "2026-11-06T09:12:33+08:00" as "2026-11-06 09:12" (the list's dates,
 * all at +08:00), or "?" */
static const char *short_time(const char *rfc3339, char buf[20])
{
    if (!rfc3339 || strlen(rfc3339) < 16)
        return "?";
    snprintf(buf, 20, "%.10s %.5s", rfc3339, rfc3339 + 11);
    return buf;
}

/* A due time in full, with its offset: "2026-11-05 23:59:59+08:00". */
static const char *due_time(const char *rfc3339, char buf[40])
{
    if (!rfc3339)
        return "?";
    snprintf(buf, 40, "%s", rfc3339);
    char *t = strchr(buf, 'T');
    if (t)
        *t = ' ';
    return buf;
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int review_target(void *ctx, const zb_node_report *rep)
{
    *(json_t **)ctx = report_row(rep, false);
    return 0;
}

/* A returned report's answer, on a line of its own below the review (the
 * report looked up in this node; nothing when it is not here, e.g. filed
 * by a predecessor node). */
static void print_answer(zb_node *n, uint64_t seq)
{
    json_t *r = NULL;
    if (zb_node_get_report(n, seq, 0, review_target, &r) != 0 || !r)
        return;
    const char *period = str_of(r, "period"), *accident = str_of(r, "accident_id");
    if (period)
        printf(_("%*sanswer: submit a new version of monthly report %s\n"), INBOX_COLUMN, "",
               period);
    else if (accident)
        printf(_("%*sanswer: submit the next revision of accident %s (this was revision %d)\n"),
               INBOX_COLUMN, "", accident, (int)json_integer_value(json_object_get(r, "revision")));
    json_decref(r);
}

/* One message of the text listing. */
/* The inbox listing's columns before the message (ID, NEW, DATE, KIND):
 * together INBOX_COLUMN with their spaces. */
static const int inbox_widths[] = {5, 3, 16, 8};

static void inbox_print(zb_node *n, const json_t *o)
{
    char date[20], when[40];
    const char *kind = str_of(o, "kind");
    bool verified = json_is_true(json_object_get(o, "verified"));
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, (uint64_t)json_integer_value(json_object_get(o, "id")));
    const char *cells[] = {id, json_is_true(json_object_get(o, "read")) ? "" : _("new"),
                           short_time(str_of(o, "created_at"), date),
                           verified && kind ? zb_trc("kind", kind) : "?"};
    for (size_t i = 0; i < 4; i++) {
        zb_display_cell(stdout, cells[i], inbox_widths[i], false);
        putchar(' ');
    }
    if (!verified || !kind) {
        printf(_("DOES NOT VERIFY (%s): not shown\n"),
               str_of(o, "error") ? str_of(o, "error") : "?");
        return;
    }
    if (strcmp(kind, "review") == 0) {
        uint64_t seq = (uint64_t)json_integer_value(json_object_get(o, "seq"));
        const char *decision = str_of(o, "decision"), *comment = str_of(o, "comment"),
                   *reviewer = str_of(o, "reviewer");
        printf(_("seq %" PRIu64 " %s"), seq, decision ? zb_label(decision) : "?");
        if (comment && *comment) {
            fputs(": ", stdout);
            print_text(comment, INBOX_COLUMN);
        }
        if (reviewer && *reviewer) {
            fputs(" (", stdout);
            print_text(reviewer, INBOX_COLUMN);
            putchar(')');
        }
        putchar('\n');
        if (decision && strcmp(decision, "returned") == 0)
            print_answer(n, seq);
    } else if (strcmp(kind, "reminder") == 0) {
        const char *period = str_of(o, "period"), *accident = str_of(o, "accident_id"),
                   *due = str_of(o, "due_at");
        if (period)
            printf(_("monthly report %s missing"), period);
        else
            printf(_("accident %s: follow-up overdue"), accident ? accident : "?");
        if (due)
            printf(period ? _(", due by %s") : _(", was due %s"), due_time(due, when));
        putchar('\n');
    } else if (strcmp(kind, "deadline") == 0) {
        printf(_("monthly report %s now due by %s\n"), str_of(o, "period"),
               due_time(str_of(o, "deadline"), when));
    } else if (strcmp(kind, "notice") == 0) {
        const char *title = str_of(o, "title"), *text = str_of(o, "text");
        print_text(title ? title : "", INBOX_COLUMN);
        putchar('\n');
        if (text && *text) {
            printf("%*s", INBOX_COLUMN + 2, "");
            print_text(text, INBOX_COLUMN + 2);
            putchar('\n');
        }
    } else {
        putchar('\n');
    }
}

/* inbox --read ID */
static int inbox_mark_read(const args *a)
{
    const char *s = a->read_id;
    char *end;
    errno = 0;
    unsigned long long id = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || errno || *end || id == 0) {
        zb_cli_error_at("read", "must be a message number (a positive whole number, as "
                                "inbox lists them)");
        return EXIT_USAGE;
    }
    zb_node *n;
    int rc = open_node(a, false, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    rc = zb_node_inbox_mark_read(n, (uint64_t)id);
    zb_node_close(&n);
    if (rc == ZB_ENOTFOUND) {
        zb_cli_error_at("read", "no message %llu", id);
        return EXIT_USAGE;
    }
    if (rc) {
        store_error(a, rc, _("the message was not marked read"));
        return EXIT_RUNTIME;
    }
    printf(_("message %llu marked read\n"), id);
    return 0;
}

static int cmd_inbox(const args *a)
{
    if (a->argc != 0) {
        zb_cli_error_at("inbox",
                        "unexpected argument %s (mark a message read with --read "
                        "ID)",
                        a->argv[0]);
        return EXIT_USAGE;
    }
    if (a->read_id)
        return inbox_mark_read(a);
    zb_node *n;
    int rc = open_node(a, true, &n); /* read-only: beside a running sync */
    if (rc)
        return rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
    inbox_walk w = {.rows = json_array()};
    if (!w.rows) {
        zb_node_close(&n);
        return EXIT_RUNTIME;
    }
    rc = zb_node_each_inbox(n, a->unread, inbox_one, &w);
    if (rc) {
        zb_cli_error_at("inbox", "cannot read the store in %s: %s", a->dir, zb_strerror(rc));
        json_decref(w.rows);
        zb_node_close(&n);
        return EXIT_RUNTIME;
    }
    size_t i;
    json_t *o;
    json_array_foreach(w.rows, i, o)
    {
        if (!json_is_true(json_object_get(o, "verified")))
            zb_cli_error("message %" PRIu64 ": the stored message does not verify (%s)",
                         (uint64_t)json_integer_value(json_object_get(o, "id")),
                         str_of(o, "error"));
    }
    if (a->json) {
        print_json(w.rows);
    } else {
        const char *heads[] = {zb_trc("heading", "ID"), zb_trc("heading", "NEW"),
                               zb_trc("heading", "DATE"), zb_trc("heading", "KIND"),
                               zb_trc("heading", "MESSAGE")};
        char line[256];
        table_row(line, sizeof line, heads, inbox_widths, 5);
        fputs(line, stdout);
        json_array_foreach(w.rows, i, o) inbox_print(n, o);
        json_decref(w.rows);
    }
    zb_node_close(&n);
    return w.bad ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
    if (zb_cli_lang_init(argc, argv) != 0)
        return EXIT_USAGE;
    /* the command is the first word; --lang may come before it */
    int first = zb_cli_command_index(argc, argv);
    if (first >= argc || strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0 ||
        strcmp(argv[first], "help") == 0) {
        /* zhibao-node help CMD: the command's page */
        const char *topic =
            first + 1 < argc && strcmp(argv[first], "help") == 0 ? argv[first + 1] : NULL;
        if (topic && help_print(stdout, topic))
            return 0;
        help_print(first >= argc ? stderr : stdout, NULL);
        return first >= argc ? EXIT_USAGE : 0;
    }
    if (zb_crypto_init() != 0) {
        zb_cli_error_at("libsodium", "failed to initialise");
        return EXIT_RUNTIME;
    }
    const char *cmd = argv[first];
    static const struct {
        const char *name;
        int (*fn)(const args *);
    } cmds[] = {{"init", cmd_init},
                {"witnesses", cmd_witnesses},
                {"submit", cmd_submit},
                {"sync", cmd_sync},
                {"status", cmd_status},
                {"list", cmd_list},
                {"show", cmd_show},
                {"receipts", cmd_receipts},
                {"verify-receipts", cmd_verify_receipts},
                {"inbox", cmd_inbox},
                {"rotate-key", cmd_rotate_key},
                {"tree-head", cmd_tree_head}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(cmd, cmds[i].name) != 0)
            continue;
        args a = {.cmd = cmds[i].name};
        if (parse_args(argc - first, argv + first, &a) != 0)
            return EXIT_USAGE;
        return cmds[i].fn(&a);
    }
    zb_cli_error_at(cmd, "unknown command");
    help_print(stderr, NULL);
    return EXIT_USAGE;
}
