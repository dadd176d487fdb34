/*
 * zhibao-agg - the prefecture aggregator: enrols county nodes, receives
 * their signed reports exactly once, returns signed receipts.
 *
 * Exit codes: 0 success; 1 runtime error; 2 bad usage or bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "bulletin.h"
#include "cli.h"
#include "consolidate.h"
#include "crypto.h"
#include "dispatch.h"
#include "display.h"
#include "domain.h"
#include "downstream.h"
#include "err.h"
#include "export.h"
#include "figures.h"
#include "fileio.h"
#include "help.h"
#include "i18n.h"
#include "logleaf.h"
#include "log.h"
#include "progress.h"
#include "query.h"
#include "render.h"
#include "report.h"
#include "server.h"
#include "sync.h"
#include "province.h"
#include "upstream.h"
#include "timefmt.h"
#include "web.h"
#include "witcli.h"
#include "xlsx.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define SERVE_LOCK_FILE "serve.lock" /* in the store directory: held by the one serve */

typedef struct {
    const char *cmd; /* the command, for its --help */
    const char *dir, *county, *key, *listen;
    bool json;
    const char *report, *period, *from, *to, *format; /* report KIND and its options */
    const char *out, *size;                           /* export, tree-head, consistency-proof */
    const char *year;                                 /* report indicators */
    const char *file;                                 /* load-figures FILE */
    const char *token;                                /* web --token */
    const char *now;                                  /* report accidents --now */
    /* review, remind, deadline, notice */
    const char *seq, *comment, *reviewer, *at, *title, *text, *notice_file;
    bool accept, do_return, supplements, all;
    const char *remind_days; /* serve */
    const char *request;     /* enroll */
    const char *witness_add, *witness_remove, *endpoint; /* witness */
    const char *lang;                                    /* --lang zh|en (i18n.h) */
    const char *level, *code, *prefecture, *forward;     /* init, enroll, upstream (§14) */
    bool once;                                           /* relay --once */
    bool use_syslog;                                     /* --syslog (serve passes it on) */
    const char *timeout;                                 /* relay --timeout S */
    zb_progress_mode progress; /* export, check, reindex: AUTO, ON (--progress), OFF (--quiet) */
} args;

/* The options without a one-letter code. */
enum {
    OPT_SEQ = 256,
    OPT_ACCEPT,
    OPT_RETURN,
    OPT_COMMENT,
    OPT_REVIEWER,
    OPT_SUPPLEMENTS,
    OPT_AT,
    OPT_ALL,
    OPT_TITLE,
    OPT_TEXT,
    OPT_FILE,
    OPT_REMIND_DAYS,
    OPT_REQUEST,
    OPT_ADD,
    OPT_REMOVE,
    OPT_ENDPOINT,
    OPT_PROGRESS,
    OPT_QUIET,
    OPT_LEVEL,
    OPT_CODE,
    OPT_PREFECTURE,
    OPT_FORWARD,
    OPT_ONCE,
    OPT_TIMEOUT
};

static int parse_args(int argc, char **argv, args *a, int default_level)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"county", required_argument, 0, 'c'},
                                         {"key", required_argument, 0, 'k'},
                                         {"listen", required_argument, 0, 'L'},
                                         {"json", no_argument, 0, 'j'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"syslog", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {"period", required_argument, 0, 'P'},
                                         {"from", required_argument, 0, 'F'},
                                         {"to", required_argument, 0, 'T'},
                                         {"format", required_argument, 0, 'f'},
                                         {"out", required_argument, 0, 'o'},
                                         {"size", required_argument, 0, 'S'},
                                         {"year", required_argument, 0, 'Y'},
                                         {"token", required_argument, 0, 'W'},
                                         {"now", required_argument, 0, 'N'},
                                         {"seq", required_argument, 0, OPT_SEQ},
                                         {"accept", no_argument, 0, OPT_ACCEPT},
                                         {"return", no_argument, 0, OPT_RETURN},
                                         {"comment", required_argument, 0, OPT_COMMENT},
                                         {"reviewer", required_argument, 0, OPT_REVIEWER},
                                         {"supplements", no_argument, 0, OPT_SUPPLEMENTS},
                                         {"at", required_argument, 0, OPT_AT},
                                         {"all", no_argument, 0, OPT_ALL},
                                         {"title", required_argument, 0, OPT_TITLE},
                                         {"text", required_argument, 0, OPT_TEXT},
                                         {"file", required_argument, 0, OPT_FILE},
                                         {"remind-days", required_argument, 0, OPT_REMIND_DAYS},
                                         {"request", required_argument, 0, OPT_REQUEST},
                                         {"add", required_argument, 0, OPT_ADD},
                                         {"remove", required_argument, 0, OPT_REMOVE},
                                         {"endpoint", required_argument, 0, OPT_ENDPOINT},
                                         {"lang", required_argument, 0, 'G'},
                                         {"progress", no_argument, 0, OPT_PROGRESS},
                                         {"quiet", no_argument, 0, OPT_QUIET},
                                         {"level", required_argument, 0, OPT_LEVEL},
                                         {"code", required_argument, 0, OPT_CODE},
                                         {"prefecture", required_argument, 0, OPT_PREFECTURE},
                                         {"forward", required_argument, 0, OPT_FORWARD},
                                         {"once", no_argument, 0, OPT_ONCE},
                                         {"timeout", required_argument, 0, OPT_TIMEOUT},
                                         {0, 0, 0, 0}};
    int level = default_level, c;
    bool help = false, force_progress = false, quiet = false;
    bool use_syslog = false;
    optind = 1;
    opterr = 0; /* our own messages, in the chosen language */
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->dir = optarg; break;
        case 'c': a->county = optarg; break;
        case 'k': a->key = optarg; break;
        case 'L': a->listen = optarg; break;
        case 'j': a->json = true; break;
        case 'P': a->period = optarg; break;
        case 'F': a->from = optarg; break;
        case 'T': a->to = optarg; break;
        case 'f': a->format = optarg; break;
        case 'o': a->out = optarg; break;
        case 'S': a->size = optarg; break;
        case 'Y': a->year = optarg; break;
        case 'W': a->token = optarg; break;
        case 'N': a->now = optarg; break;
        case OPT_SEQ: a->seq = optarg; break;
        case OPT_ACCEPT: a->accept = true; break;
        case OPT_RETURN: a->do_return = true; break;
        case OPT_COMMENT: a->comment = optarg; break;
        case OPT_REVIEWER: a->reviewer = optarg; break;
        case OPT_SUPPLEMENTS: a->supplements = true; break;
        case OPT_AT: a->at = optarg; break;
        case OPT_ALL: a->all = true; break;
        case OPT_TITLE: a->title = optarg; break;
        case OPT_TEXT: a->text = optarg; break;
        case OPT_FILE: a->notice_file = optarg; break;
        case OPT_REMIND_DAYS: a->remind_days = optarg; break;
        case OPT_REQUEST: a->request = optarg; break;
        case OPT_ADD: a->witness_add = optarg; break;
        case OPT_REMOVE: a->witness_remove = optarg; break;
        case OPT_ENDPOINT: a->endpoint = optarg; break;
        case 'G': a->lang = optarg; break; /* taken by main before anything was printed */
        case OPT_PROGRESS: force_progress = true; break;
        case OPT_QUIET: quiet = true; break;
        case OPT_LEVEL: a->level = optarg; break;
        case OPT_CODE: a->code = optarg; break;
        case OPT_PREFECTURE: a->prefecture = optarg; break;
        case OPT_FORWARD: a->forward = optarg; break;
        case OPT_ONCE: a->once = true; break;
        case OPT_TIMEOUT: a->timeout = optarg; break;
        case 's': use_syslog = true; break;
        case 'l':
            if ((level = zb_log_level_parse(optarg)) < 0) {
                zb_cli_error_at("--log-level", "must be error, warn, info or debug");
                return -1;
            }
            break;
        case 'h': help = true; break;
        case ':':
        default:
            zb_cli_option_error(c, argv[optind - 1], false, "see: zhibao-agg %s --help\n", a->cmd);
            return -1;
        }
    }
    if (optind < argc && strcmp(argv[0], "report") == 0)
        a->report = argv[optind++]; /* report KIND */
    else if (optind < argc && strcmp(argv[0], "load-figures") == 0)
        a->file = argv[optind++]; /* load-figures FILE */
    if (help) {
        zb_agg_help_print(stdout, a->cmd, a->report);
        return 1;
    }
    if (optind < argc) {
        zb_cli_error("unexpected argument %s", argv[optind]);
        return -1;
    }
    /* --quiet wins: a script asked for silence */
    a->progress = quiet ? ZB_PROGRESS_OFF : force_progress ? ZB_PROGRESS_ON : ZB_PROGRESS_AUTO;
    a->use_syslog = use_syslog;
    zb_log_init("zhibao-agg", (zb_log_level)level, use_syslog);
    if (!a->dir) {
        zb_cli_error_at("--dir", "missing");
        return -1;
    }
    return 0;
}

static int open_agg(const args *a, bool readonly, zb_agg **out)
{
    int rc = zb_agg_open(out, a->dir, readonly);
    if (rc == ZB_ENOTFOUND)
        zb_cli_error_at("--dir", "no aggregator in %s (run zhibao-agg init first)", a->dir);
    else if (rc)
        zb_cli_error_at("--dir", "cannot open aggregator in %s: %s", a->dir, zb_strerror(rc));
    return rc == 0 ? 0 : rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
}

static int cmd_init(const args *a)
{
    int bad = 0;
    zb_level level = ZB_LEVEL_PREFECTURE;
    if (a->level && strcmp(a->level, "province") == 0) {
        level = ZB_LEVEL_PROVINCE;
    } else if (a->level && strcmp(a->level, "prefecture") != 0) {
        zb_cli_error_at("--level", "must be prefecture or province, not \"%s\"", a->level);
        bad = 1;
    }
    const char *code = a->code ? a->code : ZB_OFFICE_CODE_DEFAULT;
    if (!zb_county_code_valid(code)) {
        zb_cli_error_at("--code", "must be the office's 6-digit GB/T 2260 code (e.g. 222400 "
                                  "Yanbian, 220000 Jilin)");
        bad = 1;
    } else if (level == ZB_LEVEL_PROVINCE && !a->code) {
        zb_cli_error_at("--code", "missing: a province's 6-digit code (e.g. 220000 Jilin)");
        bad = 1;
    }
    if (bad)
        return EXIT_USAGE;
    char pk[2 * ZB_PK_LEN + 1];
    int rc = zb_agg_create_at(a->dir, level, code, pk);
    if (rc == ZB_EEXIST) {
        zb_cli_error_at("--dir", "an aggregator already exists in %s", a->dir);
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error("cannot create aggregator in %s: %s", a->dir, zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    printf(_("aggregator created in %s\n"), a->dir);
    if (level == ZB_LEVEL_PROVINCE)
        printf(_("province %s: give each prefecture this key: zhibao-agg upstream ... --key %s\n"),
               code, pk);
    else
        printf(_("give each county node this key: zhibao-node init ... --aggregator-key %s\n"),
               pk);
    printf("%s\n", pk);
    return 0;
}

/* enroll --prefecture CODE --key AGGKEY: a province enrols a prefecture's
 * aggregator from its key (vouched: the key reached the operator by a
 * trusted way; protocol.md §14.2). */
static int enroll_prefecture(const args *a)
{
    int bad = 0;
    uint8_t key[ZB_PK_LEN];
    if (!zb_county_code_valid(a->prefecture) || memcmp(a->prefecture + 4, "00", 2) != 0 ||
        memcmp(a->prefecture + 2, "00", 2) == 0) {
        zb_cli_error_at("--prefecture", "must be a 6-digit prefecture code (e.g. 222400)");
        bad = 1;
    }
    if (!a->key) {
        zb_cli_error_at("--key", "missing (the prefecture aggregator's key, as its init printed)");
        bad = 1;
    } else if (zb_hex_decode(a->key, key, sizeof key) != 0) {
        zb_cli_error_at("--key", "must be 64 hex digits");
        bad = 1;
    }
    if (a->county || a->request) {
        zb_cli_error_at(a->county ? "--county" : "--request",
                        "not with --prefecture (a prefecture is enrolled by its key)");
        bad = 1;
    }
    if (bad)
        return EXIT_USAGE;
    zb_agg *agg;
    int ex = open_agg(a, false, &agg);
    if (ex)
        return ex;
    if (zb_agg_level(agg) != ZB_LEVEL_PROVINCE) {
        zb_agg_close(&agg);
        zb_cli_error_at("--prefecture", "%s is a prefecture's aggregator: only a province "
                        "(zhibao-agg init --level province) enrols prefectures", a->dir);
        return EXIT_USAGE;
    }
    bool was_new;
    uint64_t first_seq;
    int rc = zb_agg_enroll_vouched(agg, a->prefecture, key, &was_new, &first_seq);
    zb_agg_close(&agg);
    if (rc == ZB_EEXIST) {
        zb_cli_error_at("--prefecture", "%s has another active key, or this key was revoked",
                        a->prefecture);
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error("cannot enroll: %s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    if (was_new)
        printf(_("prefecture %s enrolled: its relays are its reports from seq %" PRIu64 "\n"),
               a->prefecture, first_seq);
    else
        printf(_("prefecture %s was already enrolled with this key\n"), a->prefecture);
    return 0;
}

static int cmd_enroll(const args *a)
{
    if (a->prefecture)
        return enroll_prefecture(a);
    int bad = 0;
    uint8_t key[ZB_PK_LEN];
    if (!a->county) {
        zb_cli_error_at("--county", "missing");
        bad = 1;
    } else if (!zb_county_code_valid(a->county)) {
        zb_cli_error_at("--county", "must be a 6-digit county code (e.g. 222401)");
        bad = 1;
    }
    if (a->key && zb_hex_decode(a->key, key, sizeof key) != 0) {
        zb_cli_error_at("--key", "must be 64 hex digits");
        bad = 1;
    }
    uint8_t *req = NULL;
    size_t req_len = 0;
    if (!a->request) {
        zb_cli_error_at("--request",
                        "missing (the key request zhibao-node init or rotate-key wrote, "
                        "D/key-request: the node's proof that it holds its key)");
        bad = 1;
    } else {
        int err = 0;
        req = (uint8_t *)zb_read_file(a->request, ZB_KEYREQ_MAX, &req_len, &err);
        if (!req) {
            zb_cli_error_at("--request", "cannot read %s (%s)", a->request,
                            err == ZB_ETOOBIG ? _("over 1024 bytes: not a key request")
                                              : zb_strerror(err));
            bad = 1;
        }
    }
    Zb__KeyRequest *r = NULL;
    if (req) {
        int vr = zb_keyreq_open(req, req_len, &r);
        if (vr) {
            zb_cli_error_at("--request", "%s is not a valid key request (%s)", a->request,
                            zb_strerror(vr));
            bad = 1;
        } else if (a->county && strcmp(r->county, a->county) != 0) {
            zb_cli_error_at("--request", "it is for county %s, not %s", r->county, a->county);
            bad = 1;
        } else if (a->key && memcmp(r->key.data, key, ZB_PK_LEN) != 0) {
            zb_cli_error_at("--key", "the request is for another key");
            bad = 1;
        }
    }
    bool rotation = r && r->has_previous_key;
    if (r)
        zb__key_request__free_unpacked(r, NULL);
    if (bad) {
        free(req);
        return EXIT_USAGE;
    }
    zb_agg *agg;
    int ex = open_agg(a, false, &agg);
    if (ex) {
        free(req);
        return ex;
    }
    bool was_new, rotated;
    uint64_t first_seq;
    uint8_t prev[ZB_SHA256_LEN];
    int rc = zb_agg_enroll(agg, a->county, req, req_len, &was_new, &first_seq, prev, &rotated);
    zb_agg_close(&agg);
    free(req);
    if (rc == ZB_EEXIST) {
        zb_cli_error_at(
            "--county",
            "%s has another active key, or this key was revoked (zhibao-agg revoke first, "
            "or a rotation request from the county's node; a revoked key is never "
            "enrolled again)",
            a->county);
        return EXIT_USAGE;
    }
    if (rc == ZB_EINVAL && rotation) {
        zb_cli_error_at("--request",
                        "this rotation does not match the county's state here (its key "
                        "is not the active one, or reports it signed are not all received "
                        "yet: let the node sync first, then make a new request)");
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error("cannot enroll: %s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    const zb_county *c = zb_county_find(a->county);
    char who[64];
    snprintf(who, sizeof who, "%s%s%s", a->county, c ? " " : "", c ? c->name : "");
    if (!was_new)
        printf(_("county %s was already enrolled with this key\n"), who);
    else if (rotated)
        printf(_("county %s key rotated: the previous key consented and is revoked; the new key "
                 "is enrolled\n"),
               who);
    else
        printf(_("county %s enrolled\n"), who);
    if (was_new)
        printf(_("this key signs from seq %" PRIu64 " on (logged as a key event)\n"), first_seq);
    return 0;
}

static int cmd_revoke(const args *a)
{
    if (!a->county || !zb_county_code_valid(a->county)) {
        if (a->county)
            zb_cli_error_at("--county", "must be a 6-digit county code (e.g. 222401)");
        else
            zb_cli_error_at("--county", "missing");
        return EXIT_USAGE;
    }
    zb_agg *agg;
    int ex = open_agg(a, false, &agg);
    if (ex)
        return ex;
    zb_key_epoch e;
    uint8_t last_hash[ZB_SHA256_LEN];
    int rc = zb_agg_revoke(agg, a->county, &e, last_hash);
    zb_agg_close(&agg);
    if (rc == ZB_ENOTFOUND || rc == ZB_EINVAL) {
        if (rc == ZB_ENOTFOUND)
            zb_cli_error_at("--county", "%s is not enrolled", a->county);
        else
            zb_cli_error_at("--county", "%s has no active key", a->county);
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error("cannot revoke: %s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    printf(_("county %s: key revoked; reports it signed up to seq %" PRIu64
             " stay valid, later ones are refused\n"),
           a->county, e.last_seq);
    char hex[2 * ZB_SHA256_LEN + 1];
    zb_hex_encode(last_hash, ZB_SHA256_LEN, hex);
    /* the accidents' state travels with the resume point (the new node
     * starts empty) */
    char resume_file[4200];
    bool have_file = false;
    if (e.last_seq > 0 &&
        snprintf(resume_file, sizeof resume_file, "%s/resume-%s.json", a->dir, a->county) <
            (int)sizeof resume_file &&
        open_agg(a, true, &agg) == 0) {
        have_file = zb_agg_export_resume(agg, a->county, e.last_seq, resume_file) == 0;
        zb_agg_close(&agg);
        if (!have_file)
            zb_cli_warning_at(
                "revoke",
                "could not write %s: the replacement node will not know this county's "
                "accidents",
                resume_file);
    }
    if (e.last_seq > 0 && have_file)
        printf(_("replacement node: zhibao-node init ... --county %s --resume %" PRIu64 ":%s "
                 "--accidents %s   (copy that file to the new machine)\n"),
               a->county, e.last_seq, hex, resume_file);
    else if (e.last_seq > 0)
        printf(_("replacement node: zhibao-node init ... --county %s --resume %" PRIu64 ":%s\n"),
               a->county, e.last_seq, hex);
    else
        printf(_("replacement node: zhibao-node init ... --county %s (no report to resume "
                 "after)\n"),
               a->county);
    printf(_("then enroll its key: zhibao-agg enroll --dir A --county %s --request "
             "NEWDIR/key-request (the request the new node's init wrote)\n"),
           a->county);
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    zb_server_stop = 1;
    zb_sync_stop = 1;
}

/* ---- the upward relay (upstream.h) */

static int cmd_upstream(const args *a)
{
    int bad = 0;
    zb_forward fwd = ZB_FORWARD_STATUTORY;
    if (!a->endpoint) {
        zb_cli_error_at("--endpoint", "missing (the province's address, e.g. tcp://province:7400)");
        bad = 1;
    }
    uint8_t key[ZB_PK_LEN];
    if (!a->key) {
        zb_cli_error_at("--key", "missing (the province aggregator's key, as its init printed)");
        bad = 1;
    } else if (zb_hex_decode(a->key, key, sizeof key) != 0) {
        zb_cli_error_at("--key", "must be 64 hex digits");
        bad = 1;
    }
    if (a->forward && zb_forward_parse(a->forward, &fwd) != 0) {
        zb_cli_error_at("--forward", "must be statutory or all, not \"%s\"", a->forward);
        bad = 1;
    }
    if (bad)
        return EXIT_USAGE;
    zb_agg *agg;
    int ex = open_agg(a, false, &agg);
    if (ex)
        return ex;
    if (zb_agg_level(agg) != ZB_LEVEL_PREFECTURE) {
        zb_agg_close(&agg);
        zb_cli_error_at("--dir", "%s is a province: a province has no upstream here", a->dir);
        return EXIT_USAGE;
    }
    if (memcmp(key, zb_agg_identity(agg)->pk, ZB_PK_LEN) == 0) {
        zb_agg_close(&agg);
        zb_cli_error_at("--key", "that is this aggregator's own key, not the province's");
        return EXIT_USAGE;
    }
    char unkeyed[ZB_COUNTY_LEN + 1];
    int rc = zb_upstream_unkeyed_county(agg, unkeyed);
    if (rc == 0 && unkeyed[0]) {
        zb_agg_close(&agg);
        zb_cli_error_at("--dir", "county %s was enrolled before log version 2: no key event "
                                 "in the log gives its key, so the province could not verify "
                                 "its reports (see README, Limits)",
                        unkeyed);
        return EXIT_USAGE;
    }
    bool created;
    rc = zb_upstream_configure(agg, a->dir, a->endpoint, a->key,
                                   a->forward ? fwd : ZB_FORWARD_KEEP, &created);
    char code[ZB_COUNTY_LEN + 1], pk[2 * ZB_PK_LEN + 1];
    snprintf(code, sizeof code, "%s", zb_agg_code(agg));
    zb_hex_encode(zb_agg_identity(agg)->pk, ZB_PK_LEN, pk);
    zb_agg_close(&agg);
    if (rc == ZB_EEXIST) {
        char up[4200];
        snprintf(up, sizeof up, "%s/%s", a->dir, ZB_UPSTREAM_DIR);
        zb_cli_error_at("--key", "%s relays to another province key; move it away only once "
                                 "`zhibao-agg status` shows everything acknowledged",
                        up);
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error_at("upstream", "%s", zb_strerror(rc));
        return rc == ZB_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    }
    zb_upstream_info up = {0};
    if ((ex = open_agg(a, true, &agg)) == 0) {
        (void)zb_upstream_info_get(agg, a->dir, &up);
        zb_agg_close(&agg);
    }
    printf(created ? _("upstream configured: %s relays to %s (forward %s)\n")
                   : _("upstream changed: %s relays to %s (forward %s)\n"),
           code, a->endpoint, zb_forward_name(up.forward));
    printf(_("the province enrols this prefecture with: zhibao-agg enroll --dir P "
             "--prefecture %s --key %s\n"),
           code, pk);
    printf(_("a running serve starts relaying within 5 s\n"));
    return 0;
}

/* `relay`: what serve runs as its child while an upstream is configured;
 * by hand with --once (push what is due now, then exit). */
static int cmd_relay(const args *a)
{
    double timeout = 30;
    if (a->timeout && !a->once) {
        zb_cli_error_at("--timeout", "only with --once (a running relay retries for ever)");
        return EXIT_USAGE;
    }
    if (a->timeout) {
        char *end;
        timeout = strtod(a->timeout, &end);
        if (*end || end == a->timeout || timeout < 1 || timeout > 86400) {
            zb_cli_error_at("--timeout", "must be seconds, 1 to 86400");
            return EXIT_USAGE;
        }
    }
    if (!a->once && zb_relay_parent_gone())
        return 0; /* serve's child, and serve ended before it began */
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    if (zb_agg_level(agg) != ZB_LEVEL_PREFECTURE) {
        zb_agg_close(&agg);
        zb_cli_error_at("--dir", "%s is a province: a province relays to no one", a->dir);
        return EXIT_USAGE;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = zb_relay_run(agg, a->dir, a->once, timeout);
    zb_agg_close(&agg);
    if (rc == ZB_ENOTFOUND) {
        zb_cli_error_at("--dir", "no upstream configured in %s (zhibao-agg upstream first)",
                        a->dir);
        return EXIT_USAGE;
    }
    if (rc == ZB_SYNC_PENDING) {
        fprintf(stderr, _("relay: the province did not acknowledge everything within %g s; "
                          "it stays queued\n"), timeout);
        return 3;
    }
    if (rc) {
        zb_cli_error_at("relay", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    if (a->once)
        printf(_("relay: everything due is acknowledged by the province\n"));
    return 0;
}

/* One serve per store: an exclusive flock on DIR/serve.lock, held until
 * the process ends (however it ends: the kernel drops it with the last
 * descriptor). The file says which process holds it. Returns the
 * descriptor to keep open, or -1 with the error printed. */
static int lock_serve(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/" SERVE_LOCK_FILE, dir) >= (int)sizeof path) {
        zb_cli_error_at("--dir", "path too long");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        zb_cli_error_at("serve", "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        long pid = strtol(buf, NULL, 10);
        if (err == EWOULDBLOCK && pid > 0)
            zb_cli_error_at("serve", "another zhibao-agg serve holds %s (pid %ld)", dir, pid);
        else if (err == EWOULDBLOCK)
            zb_cli_error_at("serve", "another zhibao-agg serve holds %s", dir);
        else
            zb_cli_error_at("serve", "cannot lock %s: %s", path, strerror(err));
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        ZB_WARN("ZB-AGG-LOCK", "cannot write the pid into %s (the lock holds)", path);
    return fd;
}

/* --remind-days: "3,5": days of the month 1..31, comma-separated, into
 * days[] (at most 31; a day given twice counts once). 0, or -1 with the
 * problem printed. */
static int parse_remind_days(const char *s, int days[31], size_t *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long d = (*p >= '0' && *p <= '9') ? strtol(p, &end, 10) : 0;
        if (d < 1 || d > 31 || end - p > 2 || (*end != ',' && *end != '\0') ||
            (*end == ',' && end[1] == '\0')) {
            zb_cli_error_at(
                "remind-days",
                "must be days of the month from 1 to 31 separated by commas (e.g. 3,5), "
                "not \"%s\"",
                s);
            return -1;
        }
        bool seen = false;
        for (size_t i = 0; i < *n; i++)
            seen |= days[i] == (int)d;
        if (!seen)
            days[(*n)++] = (int)d;
        p = *end ? end + 1 : end;
    }
    if (*n == 0) {
        zb_cli_error_at("remind-days",
                        "must be days of the month from 1 to 31 separated by commas (e.g. 3,5)");
        return -1;
    }
    return 0;
}

static int cmd_serve(const args *a)
{
    int bad = 0;
    if (!a->listen) {
        zb_cli_error_at("--listen", "missing (e.g. tcp://0.0.0.0:7400)");
        bad = 1;
    }
    int days[31];
    zb_server_opts opts = {days, 0};
    if (a->remind_days && parse_remind_days(a->remind_days, days, &opts.n_remind_days) != 0)
        bad = 1;
    if (bad)
        return EXIT_USAGE;
    zb_agg *agg;
    int ex = open_agg(a, false, &agg);
    if (ex)
        return ex;
    int lock_fd = lock_serve(a->dir); /* held for the process's life */
    if (lock_fd < 0) {
        zb_agg_close(&agg);
        return EXIT_RUNTIME;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* a prefecture's relay (upstream.h): a child process while an upstream
     * is configured, logging as serve was asked to */
    zb_relay_supervisor *relay = NULL;
    if (zb_agg_level(agg) == ZB_LEVEL_PREFECTURE &&
        zb_relay_supervisor_start(&relay, a->dir, a->use_syslog) != 0)
        ZB_WARN("ZB-RELAY-START", "cannot start the relay's supervisor: nothing is relayed "
                "until serve restarts");
    int rc = zb_server_run(agg, a->listen, &opts);
    zb_relay_supervisor_stop(&relay);
    zb_agg_close(&agg);
    close(lock_fd);
    if (rc) {
        zb_cli_error_at("serve", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

typedef struct {
    json_t *rows;
    uint64_t total;
    zb_store *s;
    MDB_txn *txn;
} status_ctx;

static int status_county(void *ctx, const zb_county_rec *rec)
{
    status_ctx *st = ctx;
    json_t *row = json_object();
    json_object_set_new(row, "county", json_string(rec->county));
    json_object_set_new(row, "name", json_string(zb_office_name(rec->county)));
    json_object_set_new(row, "seq", json_integer((json_int_t)rec->acked_seq));
    json_object_set_new(row, "reports", json_integer((json_int_t)rec->reports));
    json_object_set_new(row, "last_received_at",
                        rec->last_received_at ? zb_json_time(rec->last_received_at) : json_null());
    char hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(rec->key, ZB_PK_LEN, hex);
    json_object_set_new(row, "key", json_string(hex));
    /* the prefecture's messages to the county: written, and stored by its node */
    zb_down_state ds;
    int rc = zb_astore_down_state(st->s, st->txn, rec->county, &ds);
    if (rc) {
        json_decref(row);
        return rc;
    }
    json_t *msgs = json_object();
    json_object_set_new(msgs, "sent", json_integer((json_int_t)ds.last));
    json_object_set_new(msgs, "delivered", json_integer((json_int_t)ds.delivered));
    json_object_set_new(msgs, "delivered_at",
                        ds.delivered_at ? zb_json_time(ds.delivered_at) : json_null());
    json_object_set_new(row, "messages", msgs);
    json_array_append_new(st->rows, row);
    st->total += rec->reports;
    return 0;
}

static int status_refusal(void *ctx, const char *reason, uint64_t count)
{
    json_object_set_new(ctx, reason, json_integer((json_int_t)count));
    return 0;
}

/* status's columns: heading (msgid), width in columns, aligned right */
static const struct {
    const char *heading;
    int width;
    bool right;
} status_cols[] = {{N_("COUNTY"), 8, false},   {N_("NAME"), 10, false},
                   {N_("SEQ"), 8, true},       {N_("REPORTS"), 8, true},
                   {N_("MESSAGES"), 11, true}, {N_("LAST RECEIVED"), 0, false}};

/* One row of status's table: cells in status_cols' order, the widths
 * grown to the headings' in the chosen language. */
static void status_row(const char *const cells[6])
{
    for (size_t i = 0; i < 6; i++) {
        int w = status_cols[i].width, hw = (int)zb_display_width(_(status_cols[i].heading));
        if (i + 1 < 6)
            zb_display_cell(stdout, cells[i], w > hw ? w : hw, status_cols[i].right);
        else
            fputs(cells[i], stdout);
        fputs(i + 2 < 6 ? " " : i + 2 == 6 ? "  " : "\n", stdout);
    }
}

static int cmd_status(const args *a)
{
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    zb_store *s = zb_agg_store(agg);
    MDB_txn *txn;
    if (zb_store_begin(s, true, &txn)) {
        zb_agg_close(&agg);
        return EXIT_RUNTIME;
    }
    json_t *root = json_object(), *rows = json_array(), *refusals = json_object();
    status_ctx st = {rows, 0, s, txn};
    int rc = zb_astore_counties(s, txn, status_county, &st);
    if (rc == 0)
        rc = zb_astore_refusals(s, txn, status_refusal, refusals);
    uint64_t evidence = zb_astore_evidence_count(s, txn);
    json_t *relays = NULL;
    zb_level level = zb_agg_level(agg);
    if (rc == 0 && level == ZB_LEVEL_PROVINCE)
        rc = zb_province_status(s, txn, &relays);
    mdb_txn_abort(txn);
    zb_upstream_info up = {0};
    if (rc == 0 && level == ZB_LEVEL_PREFECTURE)
        rc = zb_upstream_info_get(agg, a->dir, &up);
    json_object_set_new(root, "level", json_string(zb_level_name(level)));
    json_object_set_new(root, "code", json_string(zb_agg_code(agg)));
    if (relays)
        json_object_set_new(root, "prefectures", json_incref(json_object_get(relays, "prefectures")));
    json_decref(relays);
    if (up.configured)
        json_object_set_new(root, "upstream",
                            json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "endpoint", up.endpoint,
                                      "province_key", up.province_key, "forward",
                                      zb_forward_name(up.forward), "stored", (json_int_t)up.stored,
                                      "acknowledged", (json_int_t)up.acked, "receipted",
                                      (json_int_t)up.receipted));
    zb_agg_close(&agg);
    if (rc) {
        zb_cli_error_at("status", "%s", zb_strerror(rc));
        json_decref(root);
        json_decref(rows);
        json_decref(refusals);
        return EXIT_RUNTIME;
    }
    uint64_t total = st.total;

    json_object_set_new(root, "counties", rows);
    json_object_set_new(root, "reports", json_integer((json_int_t)total));
    json_object_set_new(root, "refusals", refusals);
    json_object_set_new(root, "equivocation_evidence", json_integer((json_int_t)evidence));
    if (a->json) {
        char *text = json_dumps(root, JSON_INDENT(2));
        puts(text ? text : "{}");
        free(text);
    } else {
        const char *head[6];
        for (size_t c = 0; c < 6; c++)
            head[c] = _(status_cols[c].heading);
        if (level == ZB_LEVEL_PROVINCE) /* a province's members are prefectures */
            head[0] = _("PREFECTURE");
        status_row(head);
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            /* messages delivered / sent */
            const json_t *m = json_object_get(row, "messages");
            char seq[24], reports[24], msgs[48];
            snprintf(seq, sizeof seq, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(row, "seq")));
            snprintf(reports, sizeof reports, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(row, "reports")));
            snprintf(msgs, sizeof msgs, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(m, "delivered")),
                     json_integer_value(json_object_get(m, "sent")));
            const json_t *last = json_object_get(row, "last_received_at");
            const char *cells[6] = {json_string_value(json_object_get(row, "county")),
                                    json_string_value(json_object_get(row, "name")),
                                    seq,
                                    reports,
                                    msgs,
                                    json_is_string(last) ? json_string_value(last) : "-"};
            status_row(cells);
        }
        printf(_("total reports: %" PRIu64 "\n"), total);
        const char *key;
        json_t *val;
        json_object_foreach(refusals, key, val)
        {
            /* the reason is the protocol's error code, as the JSON and the logs name it */
            printf(_("refused %-16s %" PRIu64 "\n"), key, (uint64_t)json_integer_value(val));
        }
        if (evidence)
            printf(_("equivocation evidence kept: %" PRIu64 "\n"), evidence);
        if (up.configured)
            printf(_("upstream %s (forward %s): %" PRIu64 " relayed, %" PRIu64
                     " acknowledged by the province\n"),
                   up.endpoint, zb_forward_name(up.forward), up.stored, up.acked);
        const json_t *prefs = json_object_get(root, "prefectures");
        json_array_foreach(prefs, i, row)
        {
            printf(_("prefecture %s: %" JSON_INTEGER_FORMAT " county report(s) relayed, "
                     "%" JSON_INTEGER_FORMAT " key event(s), its log seen to size %"
                     JSON_INTEGER_FORMAT "\n"),
                   json_string_value(json_object_get(row, "prefecture")),
                   json_integer_value(json_object_get(row, "envelopes")),
                   json_integer_value(json_object_get(row, "key_events")),
                   json_integer_value(json_object_get(row, "head_size")));
        }
    }
    json_decref(root);
    return 0;
}

/* The library's progress callback (agg.h, export.h, astore.h), drawn by
 * progress.h: ctx is the zb_progress. */
static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
    zb_progress *p = ctx;
    if (p->total != total)
        zb_progress_total(p, total);
    zb_progress_update(p, done);
}

/* A finding of check on stdout, on a line of its own: a progress line
 * drawn on the same terminal is blanked first (and redrawn by the next
 * update). */
static void print_finding(void *ctx, const char *line)
{
    zb_progress *p = ctx;
    if (p->shown && p->width > 0) {
        fprintf(stderr, "\r%*s\r", p->width, "");
        p->width = 0;
    }
    printf("%s\n", line);
    fflush(stdout);
}

static int cmd_check(const args *a)
{
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    zb_progress prog;
    zb_progress_start(&prog, a->progress, _("check"), _("records"), 0);
    long n = zb_agg_check(agg, print_finding, show_progress, &prog);
    zb_progress_finish(&prog);
    zb_agg_close(&agg);
    if (n < 0) {
        zb_cli_error_at("check", "%s", zb_strerror((int)n));
        return EXIT_RUNTIME;
    }
    if (n == 0)
        printf(_("store intact: every signature, sequence and hash chain verifies\n"));
    return n == 0 ? 0 : 1;
}

/* `reindex`: rebuild the store's indexes from the envelopes (a store of an
 * older release is reindexed when opened; this is for an index `check`
 * found wrong). One write transaction: `serve` waits for it, loses nothing. */
static int cmd_reindex(const args *a)
{
    if (!a->dir) {
        zb_cli_error_at("--dir", "missing");
        return EXIT_USAGE;
    }
    zb_store *s = NULL;
    uint64_t n = 0;
    int rc = zb_astore_open(&s, a->dir, false, false);
    if (rc == 0) {
        zb_progress prog;
        zb_progress_start(&prog, a->progress, _("reindex"), _("envelopes"), 0);
        rc = zb_astore_rebuild(s, show_progress, &prog, &n);
        zb_progress_finish(&prog);
    }
    zb_store_close(&s);
    if (rc == ZB_ENOTFOUND) {
        zb_cli_error_at("reindex", "%s (no aggregator store in --dir)", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    if (rc) {
        zb_cli_error_at("reindex", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    printf(_("reindexed %" PRIu64 " envelopes\n"), n);
    return 0;
}

/* `report KIND`'s options by the bare names query.h reads: --json is
 * --format json. */
static const char *report_option(void *ctx, const char *name)
{
    const args *a = ctx;
    if (strcmp(name, "period") == 0)
        return a->period;
    if (strcmp(name, "from") == 0)
        return a->from;
    if (strcmp(name, "to") == 0)
        return a->to;
    if (strcmp(name, "now") == 0)
        return a->now;
    if (strcmp(name, "year") == 0)
        return a->year;
    if (strcmp(name, "format") == 0)
        return a->format ? a->format : a->json ? "json" : NULL;
    return NULL;
}

/* `report bulletin`: the period checked as `report monthly` checks it,
 * the page built in one read transaction (bulletin.h), written whole to
 * --out (atomically) or to stdout. */
static int cmd_report_bulletin(const args *a)
{
    if (a->format) {
        zb_cli_error_at("--format", "report bulletin is an HTML page (--out FILE.html)");
        return EXIT_USAGE;
    }
    int64_t now = (int64_t)time(NULL);
    zb_problems p = {.localize = true};
    int year, month;
    int rc = zb_bulletin_parse(report_option, (void *)a, ZB_QUERY_CLI, now, &year, &month, &p);
    for (size_t i = 0; i < p.n; i++)
        zb_cli_error_line(p.lines[i]);
    zb_problems_free(&p);
    if (rc) {
        if (rc != ZB_EVALIDATION)
            zb_cli_error_at("report", "%s", zb_strerror(rc));
        return rc == ZB_EVALIDATION ? EXIT_USAGE : EXIT_RUNTIME;
    }
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    zb_store *s = zb_agg_store(agg);
    MDB_txn *txn;
    char *html = NULL;
    size_t len = 0;
    if ((rc = zb_store_begin(s, true, &txn)) == ZB_OK) {
        rc = zb_bulletin_build(s, txn, year, month, now, &html, &len);
        mdb_txn_abort(txn);
    }
    zb_agg_close(&agg);
    if (rc == ZB_OK) {
        if (a->out)
            rc = zb_write_file_atomic(a->out, html, len, 0644);
        else if (fwrite(html, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = ZB_EIO;
    }
    free(html);
    if (rc) {
        zb_cli_error_at("report bulletin", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* `report KIND`: check the options (query.h), build the report in one read
 * transaction (consolidate.h) and print it on stdout (render.h). */
static int cmd_report(const args *a)
{
    if (a->report && strcmp(a->report, "bulletin") == 0)
        return cmd_report_bulletin(a);
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    int64_t now = (int64_t)time(NULL);
    zb_problems p = {.localize = true};
    zb_query q;
    int rc = zb_query_parse(a->report, report_option, (void *)a, ZB_QUERY_CLI, now, &q, &p);
    for (size_t i = 0; i < p.n; i++)
        zb_cli_error_line(p.lines[i]);
    zb_problems_free(&p);
    if (rc) {
        if (rc != ZB_EVALIDATION)
            zb_cli_error_at("report", "%s", zb_strerror(rc));
        zb_agg_close(&agg);
        return rc == ZB_EVALIDATION ? EXIT_USAGE : EXIT_RUNTIME;
    }
    if (q.format == ZB_FORMAT_XLSX && !a->out) {
        zb_cli_error_at("--out", "required with --format xlsx");
        zb_agg_close(&agg);
        return EXIT_USAGE;
    }
    zb_store *s = zb_agg_store(agg);
    MDB_txn *txn;
    if ((rc = zb_store_begin(s, true, &txn))) {
        zb_cli_error_at("report", "%s", zb_strerror(rc));
        zb_agg_close(&agg);
        return EXIT_RUNTIME;
    }
    json_t *doc = NULL;
    rc = zb_consolidate_query(txn, s, &q, now, &doc);
    if (rc == 0 && q.kind == ZB_QUERY_ACCIDENTS)
        rc = zb_relay_annotate_accidents(agg, txn, a->dir, q.has_now ? q.now : now, doc);
    mdb_txn_abort(txn);
    const char *kind = zb_query_kind_name(q.kind);
    if (rc == 0 && q.format == ZB_FORMAT_XLSX)
        rc = zb_xlsx_write(a->out, kind, doc);
    else if (rc == 0 && a->out)
        rc = zb_render_write_file(a->out, kind, doc, q.format);
    else if (rc == 0)
        rc = zb_render_print(stdout, kind, doc, q.format);
    json_decref(doc);
    zb_agg_close(&agg);
    if (rc) {
        char field[64];
        snprintf(field, sizeof field, "report %s", kind);
        zb_cli_error_at(field, "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* `load-figures FILE`: read and check the file (every problem on stderr,
 * nothing stored), then store all of it in one write transaction. */
static int cmd_load_figures(const args *a)
{
    if (!a->file) {
        zb_cli_error_at("FILE", "missing (a figures JSON file, or - for standard input)");
        return EXIT_USAGE;
    }
    zb_agg *agg;
    int ex = open_agg(a, false, &agg);
    if (ex)
        return ex;
    zb_problems p = {.localize = true};
    zb_figures_file ff;
    int rc = zb_figures_load_file(a->file, &ff, &p);
    if (rc == ZB_ETOOBIG)
        zb_cli_error_at("FILE", "%s is over %u bytes", a->file, ZB_FIGURES_FILE_MAX);
    else if (rc == ZB_EIO)
        zb_cli_error_at("FILE", "cannot read %s: %s", a->file, strerror(errno));
    for (size_t i = 0; i < p.n; i++)
        zb_cli_error_line(p.lines[i]);
    if (rc == ZB_EVALIDATION)
        zb_cli_error("%zu problem(s) in %s: nothing stored", p.n, a->file);
    zb_problems_free(&p);
    if (rc == ZB_ENOMEM)
        zb_cli_error_at("load-figures", "%s", zb_strerror(rc));
    if (rc) {
        zb_agg_close(&agg);
        return rc == ZB_ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
    }
    rc = zb_figures_store(zb_agg_store(agg), &ff, (int64_t)time(NULL));
    zb_agg_close(&agg);
    if (rc)
        zb_cli_error_at("load-figures", "nothing stored: %s", zb_strerror(rc));
    else
        printf(_("loaded %zu figures record(s) and %zu base record(s) from %s "
                 "(each replaces what was stored for its county and year)\n"),
               ff.n_figures, ff.n_base, a->file);
    zb_figures_file_free(&ff);
    return rc ? EXIT_RUNTIME : 0;
}

/* A log size argument: decimal, 1..2^63. */
static int parse_size(const char *opt, const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long n = s ? strtoull(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || s[0] == '-' || n == 0 || n > INT64_MAX) {
        if (s)
            zb_cli_error_at(opt, "must be a log size (1, 2, ...)");
        else
            zb_cli_error_at(opt, "missing");
        return -1;
    }
    *v = n;
    return 0;
}

static int cmd_export(const args *a)
{
    if (!a->out) {
        zb_cli_error_at("--out", "missing (the bundle file to write)");
        return EXIT_USAGE;
    }
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    zb_export_stats st;
    zb_progress prog;
    zb_progress_start(&prog, a->progress, _("export"), _("log entries"), 0);
    int rc = zb_agg_export(agg, a->out, show_progress, &prog, &st);
    zb_progress_finish(&prog);
    zb_agg_close(&agg);
    if (rc) {
        zb_cli_error_at("export", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    char root[2 * sizeof st.root + 1];
    zb_hex_encode(st.root, sizeof st.root, root);
    printf(_("exported %" PRIu64 " counties, %" PRIu64 " log entries, %" PRIu64
             " evidence record(s) to %s; tree size %" PRIu64 ", root %s\n"),
           st.counties, st.entries, st.evidence, a->out, st.entries, root);
    return 0;
}

static int cmd_tree_head(const args *a)
{
    uint64_t size = 0, got;
    if (!a->out) {
        zb_cli_error_at("--out", "missing (the tree-head file to write)");
        return EXIT_USAGE;
    }
    if (a->size && parse_size("--size", a->size, &size) != 0)
        return EXIT_USAGE;
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    int rc = zb_agg_export_tree_head(agg, size, a->out, &got);
    zb_agg_close(&agg);
    if (rc == ZB_ENOTFOUND) {
        if (size)
            zb_cli_error_at("--size", "no signed tree head of size %s", a->size);
        else
            zb_cli_error_at("--size", "no signed tree head yet");
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error_at("tree-head", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    printf(_("signed tree head of size %" PRIu64 " written to %s\n"), got, a->out);
    return 0;
}

static int cmd_consistency_proof(const args *a)
{
    uint64_t from, to;
    if (!a->out) {
        zb_cli_error_at("--out", "missing (the proof file to write)");
        return EXIT_USAGE;
    }
    if (parse_size("--from", a->from, &from) != 0 || parse_size("--to", a->to, &to) != 0)
        return EXIT_USAGE;
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    int rc = zb_agg_export_consistency(agg, from, to, a->out);
    zb_agg_close(&agg);
    if (rc == ZB_EINVAL) {
        zb_cli_error_at("--from/--to", "need 0 < from <= to <= the log's size");
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error_at("consistency-proof", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    printf(_("consistency proof %" PRIu64 " -> %" PRIu64 " written to %s\n"), from, to, a->out);
    return 0;
}

/* `web`: the dashboard (web.h) until SIGINT / SIGTERM. */
static int cmd_web(const args *a)
{
    const char *listen = a->listen ? a->listen : "127.0.0.1:8080";
    const char *token = a->token ? a->token : getenv("ZB_WEB_TOKEN");
    if (token && !*token)
        token = NULL;
    zb_agg *agg;
    int ex = open_agg(a, true, &agg);
    if (ex)
        return ex;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the server thread inherits the mask */
    zb_web *w;
    int rc = zb_web_start(&w, agg, listen, token);
    if (rc) {
        if (rc == ZB_EINVAL)
            zb_cli_error_at("--listen",
                            "%s must be HOST:PORT with a numeric address (e.g. "
                            "127.0.0.1:8080)",
                            listen);
        else
            zb_cli_error_at("--listen", "%s cannot be bound", listen);
        zb_agg_close(&agg);
        return rc == ZB_EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
    }
    if (!zb_web_listen_is_loopback(listen))
        ZB_WARN("ZB-WEB-EXPOSED", "dashboard listening beyond loopback on %s%s", listen,
                token ? "" : " without a token");
    char host[64];
    const char *colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    printf(_("dashboard: http://%s:%u/\n"), host, zb_web_port(w));
    fflush(stdout);
    ZB_INFO("ZB-WEB-START", "dashboard on %s:%u", host, zb_web_port(w));
    int sig = 0;
    sigwait(&set, &sig);
    zb_web_stop(&w);
    zb_agg_close(&agg);
    ZB_INFO("ZB-WEB-STOP", "dashboard stopped (signal %d)", sig);
    return 0;
}

/* ------------------------------------------------------------ the prefecture's acts */

/* review, remind, deadline, notice: the act's problems, one "error:" line
 * each, and the exit code for what dispatch.h returned. */
static int act_result(const char *cmd, int rc, zb_problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        zb_cli_error_line(p->lines[i]);
    zb_problems_free(p);
    if (rc == ZB_EVALIDATION)
        return EXIT_USAGE;
    if (rc) {
        zb_cli_error_at(cmd, "nothing stored: %s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* "222401 延吉市", or the code alone for a county without a known name. */
static void print_county(const char *code, const char *suffix)
{
    const zb_county *c = zb_county_find(code);
    printf("%s%s%s%s\n", code, c ? " " : "", c ? c->name : "", suffix);
}

/* --county CODE: present and six digits. */
static void check_county(const char *county, zb_problems *p)
{
    if (!county)
        zb_problems_add(p, "county: missing");
    else if (!zb_county_code_valid(county))
        zb_problems_add(p, "county: must be a 6-digit county code (e.g. 222401)");
}

/* --period YYYY-MM. */
static void check_period(const char *period, int *year, int *month, zb_problems *p)
{
    if (!period)
        zb_problems_add(p, "period: missing (YYYY-MM, e.g. 2026-10)");
    else if (zb_period_parse(period, year, month) != 0)
        zb_problems_add(p, "period: must be YYYY-MM (e.g. 2026-10)");
}

/* Print the problems found before the store is opened: exit 2 if any. */
static int usage_problems(zb_problems *p)
{
    if (p->n == 0)
        return 0;
    return act_result("", ZB_EVALIDATION, p);
}

/* `review`: accept a county's report or return it for correction. */
static int cmd_review(const args *a)
{
    zb_problems p = {.localize = true};
    check_county(a->county, &p);
    uint64_t seq = 0;
    if (!a->seq) {
        zb_problems_add(&p, "seq: missing (the report's seq, e.g. 3)");
    } else {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(a->seq, &end, 10);
        if (errno || end == a->seq || *end || a->seq[0] < '0' || a->seq[0] > '9' || n == 0 ||
            n > INT64_MAX)
            zb_problems_add(&p, "seq: must be a report seq (1, 2, ...)");
        seq = n;
    }
    if (a->accept == a->do_return)
        zb_problems_add(&p, a->accept ? "return: --accept and --return exclude each other"
                                      : "accept: missing (--accept or --return)");
    int ex = usage_problems(&p);
    if (ex)
        return ex;
    zb_agg *agg;
    if ((ex = open_agg(a, false, &agg)))
        return ex;
    zb_dispatched *sent = NULL;
    size_t n = 0;
    int rc = zb_dispatch_review(agg, a->county, seq, a->accept, a->comment, a->reviewer,
                                (int64_t)time(NULL), &p, &sent, &n);
    zb_agg_close(&agg);
    ex = act_result("review", rc, &p);
    if (ex == 0 && n == 1)
        printf(a->accept
                   ? _("review of %s seq %" PRIu64 ": accepted (message %" PRIu64 " to %s)\n")
                   : _("review of %s seq %" PRIu64 ": returned (message %" PRIu64 " to %s)\n"),
               a->county, seq, sent[0].number, sent[0].county);
    free(sent);
    return ex;
}

/* `remind`: the counties missing a period's report, or every overdue
 * accident follow-up. */
static int cmd_remind(const args *a)
{
    zb_problems p = {.localize = true};
    int year = 0, month = 0;
    if (a->period && a->supplements)
        zb_problems_add(&p, "supplements: --period and --supplements exclude each other");
    else if (!a->supplements && !a->period)
        zb_problems_add(&p, "period: missing (--period YYYY-MM, or --supplements)");
    else if (!a->supplements)
        check_period(a->period, &year, &month, &p);
    int ex = usage_problems(&p);
    if (ex)
        return ex;
    zb_agg *agg;
    if ((ex = open_agg(a, false, &agg)))
        return ex;
    zb_dispatched *sent = NULL;
    size_t n = 0;
    int64_t now = (int64_t)time(NULL);
    int rc = a->supplements ? zb_dispatch_remind_supplements(agg, now, &p, &sent, &n)
                            : zb_dispatch_remind_period(agg, year, month, now, &p, &sent, &n);
    zb_agg_close(&agg);
    ex = act_result("remind", rc, &p);
    for (size_t i = 0; ex == 0 && i < n; i++) {
        if (a->supplements) {
            char due[40];
            if (zb_time_format(sent[i].due_at, ZB_CST_OFFSET_MIN, 0, due, sizeof due) != 0)
                snprintf(due, sizeof due, "%" PRId64, sent[i].due_at);
            printf("%s %s %s\n", sent[i].county, sent[i].accident_id, due);
        } else {
            print_county(sent[i].county, "");
        }
    }
    if (ex == 0 && n == 0) {
        if (a->supplements)
            fprintf(stderr, _("remind: no accident's follow-up is overdue: no reminder sent\n"));
        else
            fprintf(stderr,
                    _("remind: no enrolled county is missing its %s report: no reminder "
                      "sent\n"),
                    a->period);
    }
    fflush(stdout);
    free(sent);
    return ex;
}

/* `deadline`: move a period's deadline for every county. */
static int cmd_deadline(const args *a)
{
    zb_problems p = {.localize = true};
    int year = 0, month = 0;
    check_period(a->period, &year, &month, &p);
    int64_t at = 0;
    int32_t offset = ZB_CST_OFFSET_MIN;
    if (!a->at)
        zb_problems_add(&p, "at: missing (RFC 3339, e.g. 2026-11-09T23:59:59+08:00)");
    else if (zb_time_parse(a->at, &at, &offset) != 0)
        zb_problems_add(&p, "at: must be an RFC 3339 time (e.g. 2026-11-09T23:59:59+08:00; "
                            "+08:00 when without offset)");
    int ex = usage_problems(&p);
    if (ex)
        return ex;
    zb_agg *agg;
    if ((ex = open_agg(a, false, &agg)))
        return ex;
    zb_dispatched *sent = NULL;
    size_t n = 0;
    int rc = zb_dispatch_deadline(agg, year, month, at, offset, (int64_t)time(NULL), &p, &sent,
                                  &n);
    zb_agg_close(&agg);
    if (rc == 0 && n == 0) {
        /* the deadline travels in the counties' messages: none, nothing moved */
        zb_problems_add(&p, "period: no county is enrolled: nothing stored");
        rc = ZB_EVALIDATION;
    }
    ex = act_result("deadline", rc, &p);
    if (ex == 0) {
        char when[40];
        if (zb_time_format(at, offset, 0, when, sizeof when) != 0)
            snprintf(when, sizeof when, "%s", a->at);
        if (n == 1)
            printf(_("deadline of %s: %s (messages to %zu county)\n"), a->period, when, n);
        else
            printf(_("deadline of %s: %s (messages to %zu counties)\n"), a->period, when, n);
    }
    free(sent);
    return ex;
}

/* `notice`: free text with a title, to one county or to all. */
static int cmd_notice(const args *a)
{
    zb_problems p = {.localize = true};
    if (a->county && a->all)
        zb_problems_add(&p, "all: --county and --all exclude each other");
    else if (!a->all)
        check_county(a->county, &p);
    if (!a->title)
        zb_problems_add(&p, "title: missing");
    if (a->text && a->notice_file)
        zb_problems_add(&p, "file: --text and --file exclude each other");
    else if (!a->text && !a->notice_file)
        zb_problems_add(&p, "text: missing (--text TEXT or --file F)");
    char *file_text = NULL;
    if (!a->text && a->notice_file) {
        /* the text limit is in characters: at most 4 bytes each in UTF-8 */
        size_t len = 0;
        int err = 0;
        file_text = zb_read_file(a->notice_file, 4u * ZB_DOWN_TEXT_MAX, &len, &err);
        if (!file_text && err == ZB_ETOOBIG)
            zb_problems_add(&p, "file: %s is over %u bytes (the text may hold %u characters)",
                            a->notice_file, 4u * ZB_DOWN_TEXT_MAX, (unsigned)ZB_DOWN_TEXT_MAX);
        else if (!file_text && err == ZB_EIO)
            zb_problems_add(&p, "file: cannot read %s: %s", a->notice_file, strerror(errno));
        else if (!file_text)
            zb_problems_add(&p, "file: cannot read %s: %s", a->notice_file, zb_strerror(err));
        else if (strlen(file_text) != len)
            zb_problems_add(&p, "file: %s holds a NUL byte: not UTF-8 text", a->notice_file);
    }
    int ex = usage_problems(&p);
    if (ex) {
        free(file_text);
        return ex;
    }
    zb_agg *agg;
    if ((ex = open_agg(a, false, &agg))) {
        free(file_text);
        return ex;
    }
    zb_dispatched *sent = NULL;
    size_t n = 0;
    int rc = zb_dispatch_notice(agg, a->all ? NULL : a->county, a->title,
                                a->text ? a->text : file_text, (int64_t)time(NULL), &p, &sent, &n);
    zb_agg_close(&agg);
    free(file_text);
    if (rc == 0 && n == 0) {
        zb_problems_add(&p, "all: no county is enrolled: nothing stored");
        rc = ZB_EVALIDATION;
    }
    ex = act_result("notice", rc, &p);
    for (size_t i = 0; ex == 0 && i < n; i++) {
        char suffix[64];
        snprintf(suffix, sizeof suffix, _(": message %" PRIu64), sent[i].number);
        printf("%s", _("notice to "));
        print_county(sent[i].county, suffix);
    }
    free(sent);
    return ex;
}

static int cmd_witness(const args *a)
{
    zb_problems p = {.localize = true};
    uint8_t key[ZB_PK_LEN];
    const char *hex = a->witness_add ? a->witness_add : a->witness_remove;
    if (a->witness_add && a->witness_remove)
        zb_problems_add(&p, "--add, --remove: give one of them");
    else if (hex && zb_hex_decode(hex, key, ZB_PK_LEN) != 0)
        zb_problems_add(&p, "%s: must be the witness's public key (64 hex digits, the last line "
                        "of zhibao-witness init)", a->witness_add ? "--add" : "--remove");
    if (a->witness_add && !a->endpoint)
        zb_problems_add(&p, "--endpoint: missing (where the witness listens, e.g. "
                        "tcp://witness.example:7500)");
    else if (a->endpoint && !a->witness_add)
        zb_problems_add(&p, "--endpoint: only with --add");
    else if (a->endpoint && (strlen(a->endpoint) > ZB_WITNESS_ENDPOINT_MAX ||
                             !strstr(a->endpoint, "://")))
        zb_problems_add(&p, "--endpoint: must be a ZeroMQ endpoint such as tcp://HOST:PORT "
                        "(at most %d characters)", ZB_WITNESS_ENDPOINT_MAX);
    int ex = usage_problems(&p);
    if (ex)
        return ex;
    zb_agg *agg;
    if ((ex = open_agg(a, !hex, &agg)))
        return ex;
    int rc;
    if (a->witness_add) {
        bool was_new = false;
        rc = zb_witcli_add(agg, key, a->endpoint, &was_new);
        if (rc == 0)
            printf(was_new ? _("witness %s added at %s: a running serve sends it every new tree "
                               "head within a second\n")
                           : _("witness %s now at %s: a running serve sends it every new tree "
                               "head within a second\n"),
                   hex, a->endpoint);
        else if (rc == ZB_ETOOBIG)
            zb_cli_error_at("--add", "already %d witnesses: remove one first", ZB_WITNESS_MAX);
    } else if (a->witness_remove) {
        rc = zb_witcli_remove(agg, key);
        if (rc == 0)
            printf(_("witness %s removed (the cosignatures it gave are kept)\n"), hex);
        else if (rc == ZB_ENOTFOUND)
            zb_cli_error_at("--remove", "%s is not a witness of this aggregator", hex);
    } else {
        json_t *doc = NULL;
        if ((rc = zb_witcli_list(agg, &doc)) == 0) {
            if (a->json) {
                char *text = json_dumps(doc, JSON_INDENT(2));
                puts(text ? text : "{}");
                free(text);
            } else {
                size_t i;
                json_t *row;
                zb_display_cell(stdout, _("WITNESS"), 64, false);
                fputs("  ", stdout);
                zb_display_cell(stdout, _("ENDPOINT"), 32, false);
                printf("  %s\n", _("COSIGNED"));
                json_array_foreach(json_object_get(doc, "witnesses"), i, row)
                {
                    json_t *size = json_object_get(row, "cosigned_size");
                    char cosigned[128];
                    snprintf(cosigned, sizeof cosigned, "%s", _("nothing yet"));
                    if (json_is_integer(size))
                        snprintf(cosigned, sizeof cosigned, _("size %" PRIu64 " at %s"),
                                 (uint64_t)json_integer_value(size),
                                 json_string_value(json_object_get(row, "cosigned_at")));
                    zb_display_cell(stdout, json_string_value(json_object_get(row, "key")), 64,
                                    false);
                    fputs("  ", stdout);
                    zb_display_cell(stdout, json_string_value(json_object_get(row, "endpoint")), 32,
                                    false);
                    printf("  %s\n", cosigned);
                }
                printf(_("log size %" PRIu64 ", newest witnessed head %" PRIu64 "\n"),
                       (uint64_t)json_integer_value(json_object_get(doc, "log_size")),
                       (uint64_t)json_integer_value(json_object_get(doc, "witnessed_size")));
            }
            json_decref(doc);
        }
    }
    zb_agg_close(&agg);
    if (rc == ZB_ETOOBIG || rc == ZB_ENOTFOUND)
        return EXIT_USAGE;
    if (rc) {
        zb_cli_error_at("witness", "%s", zb_strerror(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (zb_cli_lang_init(argc, argv) != 0)
        return EXIT_USAGE;
    /* the command is the first word; --lang may come before it */
    int first = zb_cli_command_index(argc, argv);
    if (first >= argc || strcmp(argv[first], "--help") == 0 || strcmp(argv[first], "-h") == 0 ||
        strcmp(argv[first], "help") == 0) {
        /* zhibao-agg help CMD [KIND]: the command's page */
        bool topic = first + 1 < argc && strcmp(argv[first], "help") == 0;
        if (topic &&
            zb_agg_help_print(stdout, argv[first + 1], first + 2 < argc ? argv[first + 2] : NULL))
            return 0;
        if (topic) {
            zb_cli_error_at(argv[first + 1], "unknown command");
            zb_agg_help_print(stderr, NULL, NULL);
            return EXIT_USAGE;
        }
        zb_agg_help_print(first >= argc ? stderr : stdout, NULL, NULL);
        return first >= argc ? EXIT_USAGE : 0;
    }
    if (zb_crypto_init() != 0) {
        zb_cli_error_at("libsodium", "failed to initialise");
        return EXIT_RUNTIME;
    }
    static const struct {
        const char *name;
        int (*fn)(const args *);
        int level;
    } cmds[] = {{"init", cmd_init, ZB_LOG_WARN},
                {"enroll", cmd_enroll, ZB_LOG_WARN},
                {"serve", cmd_serve, ZB_LOG_INFO},
                {"status", cmd_status, ZB_LOG_WARN},
                {"check", cmd_check, ZB_LOG_WARN},
                {"reindex", cmd_reindex, ZB_LOG_WARN},
                {"revoke", cmd_revoke, ZB_LOG_WARN},
                {"report", cmd_report, ZB_LOG_WARN},
                {"load-figures", cmd_load_figures, ZB_LOG_WARN},
                {"export", cmd_export, ZB_LOG_WARN},
                {"tree-head", cmd_tree_head, ZB_LOG_WARN},
                {"consistency-proof", cmd_consistency_proof, ZB_LOG_WARN},
                {"web", cmd_web, ZB_LOG_INFO},
                {"review", cmd_review, ZB_LOG_WARN},
                {"remind", cmd_remind, ZB_LOG_WARN},
                {"deadline", cmd_deadline, ZB_LOG_WARN},
                {"notice", cmd_notice, ZB_LOG_WARN},
                {"witness", cmd_witness, ZB_LOG_WARN},
                {"upstream", cmd_upstream, ZB_LOG_WARN},
                {"relay", cmd_relay, ZB_LOG_INFO}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[first], cmds[i].name) != 0)
            continue;
        args a = {.cmd = cmds[i].name};
        int pr = parse_args(argc - first, argv + first, &a, cmds[i].level);
        if (pr != 0)
            return pr > 0 ? 0 : EXIT_USAGE; /* > 0: --help printed */
        return cmds[i].fn(&a);
    }
    zb_cli_error("unknown command %s", argv[first]);
    zb_agg_help_print(stderr, NULL, NULL);
    return EXIT_USAGE;
}
