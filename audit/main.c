/*
 * zhibao-audit - the auditor's tool: checks what the prefecture's
 * aggregator exported without trusting the aggregator (audit.h).
 *
 *   verify BUNDLE --key AGGKEY [--county-key CODE:HEX]... [--head FILE]...
 *          [--witness-key WKEY]... [--witness-quorum K] [--json]
 *   timeliness BUNDLE --key AGGKEY --witness-key WKEY... [--witness-quorum K]
 *          --period YYYY-MM [--json]
 *   consistency OLD NEW [PROOF_FILE] --key AGGKEY [--proof FILE]
 *   every command: [--lang zh|en] [--log-level L] [--help]; verify and
 *   timeliness: [--progress|--quiet]
 *
 * Exit codes: 0 all holds; 1 a finding (one line each on stdout) or not
 * consistent; 2 bad usage or an unreadable file. Neither they nor --json
 * output change with the language (i18n.h): findings in --json stay
 * English (the library's msgids); on a terminal they are translated.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_help.h"
#include "cosig.h"
#include "cli.h"
#include "crypto.h"
#include "domain.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "progress.h"
#include "timefmt.h"
#include "timeliness.h"

#define EXIT_FINDING 1
#define EXIT_USAGE   2
/* verify lists at most this many findings in --json and key events in
 * either form (all are counted): a hostile bundle may hold one per byte. */
#define JSON_FINDINGS_MAX 1000
#define KEY_EVENTS_MAX    1000
/* --county-key and --head given at most this many times each */
#define PINS_MAX  1000
#define HEADS_MAX 1000

typedef struct {
    const char *key, *proof;
    const char *pos[4];
    int n_pos;
    bool json;
    const char *county_keys[PINS_MAX];
    size_t n_county_keys;
    const char *heads[HEADS_MAX];
    size_t n_heads;
    const char *witness_keys[ZB_WITNESS_MAX + 1]; /* one more: "at most" is told by cosig.c */
    size_t n_witness_keys;
    const char *witness_quorum, *period;
    const char *cmd;           /* for --help and the hint after a usage error */
    zb_progress_mode progress; /* AUTO, ON (--progress), OFF (--quiet) */
    bool progress_given;       /* --progress or --quiet (consistency has neither) */
} args;

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"proof", required_argument, 0, 'p'},
                                         {"json", no_argument, 0, 'j'},
                                         {"county-key", required_argument, 0, 'c'},
                                         {"head", required_argument, 0, 'H'},
                                         {"witness-key", required_argument, 0, 'w'},
                                         {"witness-quorum", required_argument, 0, 'q'},
                                         {"period", required_argument, 0, 'P'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"lang", required_argument, 0, 'L'},
                                         {"progress", no_argument, 0, 'R'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, level = ZB_LOG_WARN;
    bool force = false, quiet = false;
    optind = 1;
    opterr = 0; /* the errors below, in the chosen language */
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'k': a->key = optarg; break;
        case 'p': a->proof = optarg; break;
        case 'j': a->json = true; break;
        case 'c':
            if (a->n_county_keys == PINS_MAX) {
                zb_cli_error_at("--county-key", "at most %d", PINS_MAX);
                return -1;
            }
            a->county_keys[a->n_county_keys++] = optarg;
            break;
        case 'H':
            if (a->n_heads == HEADS_MAX) {
                zb_cli_error_at("--head", "at most %d", HEADS_MAX);
                return -1;
            }
            a->heads[a->n_heads++] = optarg;
            break;
        case 'w':
            if (a->n_witness_keys == ZB_WITNESS_MAX + 1) {
                zb_cli_error_at("--witness-key", "at most %d witness keys", ZB_WITNESS_MAX);
                return -1;
            }
            a->witness_keys[a->n_witness_keys++] = optarg;
            break;
        case 'q': a->witness_quorum = optarg; break;
        case 'P': a->period = optarg; break;
        case 'l':
            if ((level = zb_log_level_parse(optarg)) < 0) {
                zb_cli_error_at("--log-level", "must be error, warn, info or debug");
                return -1;
            }
            break;
        case 'L': break; /* chosen by main before anything was said */
        case 'R': force = true; break;
        case 'Q': quiet = true; break;
        case 'h': zb_audit_help(stdout, a->cmd); exit(0);
        case ':':
        default:
            zb_cli_option_error(c, argv[optind - 1], true,
                                "(zhibao-audit %s --help lists the options)\n", a->cmd);
            return -1;
        }
    }
    a->progress_given = force || quiet;
    a->progress = quiet ? ZB_PROGRESS_OFF : force ? ZB_PROGRESS_ON : ZB_PROGRESS_AUTO;
    zb_log_init("zhibao-audit", (zb_log_level)level, false);
    for (; optind < argc; optind++) {
        if (a->n_pos == 4) {
            zb_cli_error("unexpected argument %s", argv[optind]);
            return -1;
        }
        a->pos[a->n_pos++] = argv[optind];
    }
    return 0;
}

/* The aggregator key, required by both commands. */
static int parse_key(const char *hex, uint8_t key[ZB_PK_LEN])
{
    if (!hex) {
        zb_cli_error_at("--key",
                        "required (the aggregator's public key, as the prefecture published it)");
        return -1;
    }
    if (zb_hex_decode(hex, key, ZB_PK_LEN) != 0) {
        zb_cli_error_at("--key", "must be 64 hex digits (the aggregator's public key)");
        return -1;
    }
    return 0;
}

/* --county-key CODE:HEX: a county may be given several times (the
 * office's list of its keys), a key once. */
static int parse_pins(const args *a, zb_audit_pin *pins)
{
    for (size_t i = 0; i < a->n_county_keys; i++) {
        const char *s = a->county_keys[i];
        const char *colon = strchr(s, ':');
        zb_audit_pin *p = &pins[i];
        if (!colon || colon - s != ZB_AUDIT_COUNTY_LEN) {
            zb_cli_error_at("--county-key",
                            "%s: must be CODE:HEX (a 6-digit county code, a colon and the "
                            "county's 64-hex-digit public key)",
                            s);
            return -1;
        }
        memcpy(p->county, s, ZB_AUDIT_COUNTY_LEN);
        p->county[ZB_AUDIT_COUNTY_LEN] = '\0';
        if (!zb_county_code_valid(p->county) || zb_hex_decode(colon + 1, p->key, ZB_PK_LEN) != 0) {
            zb_cli_error_at("--county-key",
                            "%s: must be CODE:HEX (a 6-digit county code, a colon and the "
                            "county's 64-hex-digit public key)",
                            s);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(pins[j].county, p->county) == 0 &&
                memcmp(pins[j].key, p->key, ZB_PK_LEN) == 0) {
                zb_cli_error_at("--county-key", "%s given twice", s);
                return -1;
            }
    }
    return 0;
}

/* --witness-key and --witness-quorum: the keys (no repeats) and the
 * quorum (1 when keys are given without one; 0 without keys). Each
 * problem one line on stderr; -1 when there was one. */
static int parse_witnesses(const args *a, uint8_t (*keys)[ZB_PK_LEN], size_t *quorum)
{
    *quorum = 0;
    /* cosig.c's rules, told here in the chosen language */
    if (a->n_witness_keys > ZB_WITNESS_MAX) {
        zb_cli_error_at("--witness-key", "at most %d witness keys", ZB_WITNESS_MAX);
        return -1;
    }
    for (size_t i = 0; i < a->n_witness_keys; i++) {
        uint8_t k[ZB_PK_LEN];
        if (zb_hex_decode(a->witness_keys[i], k, ZB_PK_LEN) != 0) {
            zb_cli_error_at("--witness-key", "'%.80s' is not a key (64 hex digits)",
                            a->witness_keys[i]);
            return -1;
        }
    }
    char err[200];
    if (zb_cosig_parse_keys(a->witness_keys, a->n_witness_keys, keys, err, sizeof err) != 0) {
        const char *dup = strstr(err, " given twice");
        if (dup && strncmp(err, "--witness-key: ", 15) == 0)
            zb_cli_error_at("--witness-key", "%.*s given twice", (int)(dup - err - 15), err + 15);
        else
            zb_cli_error_line(err);
        return -1;
    }
    if (!a->witness_quorum) {
        *quorum = a->n_witness_keys ? 1 : 0;
        return 0;
    }
    if (!a->n_witness_keys) {
        zb_cli_error_at("--witness-quorum",
                        "needs --witness-key (the witnesses whose cosignatures count)");
        return -1;
    }
    char *end;
    unsigned long k = strtoul(a->witness_quorum, &end, 10);
    if (a->witness_quorum[0] < '0' || a->witness_quorum[0] > '9' || *end || k < 1 ||
        k > a->n_witness_keys) {
        zb_cli_error_at("--witness-quorum",
                        "must be a number from 1 to %zu (the number of --witness-key given)",
                        a->n_witness_keys);
        return -1;
    }
    *quorum = (size_t)k;
    return 0;
}

static FILE *open_input(const char *what, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        zb_cli_error_at(what, "cannot open %s", path);
    return f;
}

/* --head FILE...: each a tree-head file (ZBSTH1). */
static int read_heads(const args *a, zb_audit_head *heads, Zb__SignedTreeHead **sths)
{
    for (size_t i = 0; i < a->n_heads; i++) {
        FILE *f = open_input("--head", a->heads[i]);
        if (!f)
            return -1;
        int rc = zb_audit_read_tree_head(f, &sths[i]);
        fclose(f);
        if (rc) {
            if (rc == ZB_EIO)
                zb_cli_error_at("--head", "%s is not a tree-head file (unreadable)", a->heads[i]);
            else
                zb_cli_error_at("--head", "%s is not a tree-head file (no ZBSTH1 head)",
                                a->heads[i]);
            return -1;
        }
        heads[i] = (zb_audit_head){a->heads[i], sths[i]};
    }
    return 0;
}

/* A finding on stdout; ctx: the progress line on stderr, blanked first so
 * that a terminal shows the finding whole (redrawn at the next update). */
static void print_finding(void *ctx, const char *line)
{
    zb_progress *bar = ctx;
    if (bar && bar->shown && bar->width > 0) {
        fprintf(stderr, "\r%*s\r", bar->width, "");
        bar->width = 0;
    }
    printf("%s\n", line);
    if (bar && bar->shown)
        fflush(stdout);
}

/* zb_audit_opts.progress: entries read of the header's count. */
static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    zb_progress *bar = ctx;
    if (total != bar->total)
        zb_progress_total(bar, total);
    zb_progress_update(bar, done);
}

/* verify --json: the findings kept for the one object printed at the end. */
static void collect_finding(void *ctx, const char *line)
{
    json_t *list = ctx;
    if (json_array_size(list) < JSON_FINDINGS_MAX)
        json_array_append_new(list, json_string(line));
}

/* The key events, kept for the end (the first KEY_EVENTS_MAX). */
typedef struct {
    zb_audit_key_event *e;
    size_t n, cap;
    uint64_t total;
} key_events;

static void collect_key_event(void *ctx, const zb_audit_key_event *e)
{
    key_events *k = ctx;
    k->total++;
    if (k->n == KEY_EVENTS_MAX)
        return;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        zb_audit_key_event *n = realloc(k->e, cap * sizeof *n);
        if (!n)
            return;
        k->e = n;
        k->cap = cap;
    }
    k->e[k->n++] = *e;
}

static void print_key_events(FILE *out, const key_events *k)
{
    for (size_t i = 0; i < k->n; i++) {
        char line[300];
        zb_audit_key_event_line(&k->e[i], line, sizeof line);
        fprintf(out, "%s\n", line);
    }
    if (k->total > k->n)
        fprintf(out, _("... and %" PRIu64 " more key events\n"), k->total - k->n);
}

static json_t *hex_json(const uint8_t *bytes, size_t len)
{
    char hex[2 * ZB_HASH_LEN + 1];
    if (2 * len + 1 > sizeof hex)
        return json_null();
    zb_hex_encode(bytes, len, hex);
    return json_string(hex);
}

static json_t *key_event_json(const zb_audit_key_event *e)
{
    char when[40];
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "county", json_string(e->county));
    json_object_set_new(o, "epoch", json_integer(e->epoch));
    json_object_set_new(o, "event", json_string(e->enrolled ? "enrolled" : "revoked"));
    json_object_set_new(o, "key", hex_json(e->key, ZB_PK_LEN));
    json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
    /* enrolled: whether the key it follows consented (null: the first key) */
    json_object_set_new(o, "consented",
                        e->consented < 0 ? json_null() : json_boolean(e->consented > 0));
    if (e->enrolled && e->consented >= 0)
        json_object_set_new(o, "previous_epoch", json_integer(e->previous_epoch));
    json_object_set_new(o, "log_index", json_integer((json_int_t)e->log_index));
    json_object_set_new(o, "time",
                        zb_time_format(e->time, ZB_CST_OFFSET_MIN, 0, when, sizeof when) == 0
                            ? json_string(when)
                            : json_null());
    return o;
}

/* obj as --json prints it, indented ("{}" when NULL or out of memory);
 * takes the reference. */
static void print_json(json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_INDENT(2)) : NULL;
    puts(text ? text : "{}");
    free(text);
    json_decref(obj);
}

/* {"verified", "version", "counties", "reports", "tree_size", "root",
 * "aggregator", "downstream", "reviews", "reminders", "deadlines",
 * "notices", "evidence", "equivocations", "key_event_count", "rotations",
 * "revocations_unconsented", "key_events": [...], "heads", "heads_extended",
 * "county_keys", "county_keys_counties", "county_keys_active",
 * "witness_quorum", "witnessed_size", "witnessed_heads", "unwitnessed_entries",
 * "cosignatures_unlisted", "finding_count", "findings": [the
 * first lines]}; tree_size and root null without a good tree head,
 * aggregator and version null without a header. */
static void print_verify_json(long n, const zb_audit_summary *s, const zb_audit_opts *o,
                              const key_events *k, json_t *findings)
{
    json_t *obj = json_object();
    json_t *events = json_array();
    if (!obj || !events) {
        json_decref(obj);
        json_decref(events);
        json_decref(findings);
        return;
    }
    for (size_t i = 0; i < k->n; i++) {
        json_t *e = key_event_json(&k->e[i]);
        if (e)
            json_array_append_new(events, e);
    }
    json_object_set_new(obj, "verified", json_boolean(n == 0));
    json_object_set_new(obj, "version", s->has_header ? json_integer(s->version) : json_null());
    json_object_set_new(obj, "counties", json_integer((json_int_t)s->counties));
    json_object_set_new(obj, "reports", json_integer((json_int_t)s->reports));
    json_object_set_new(obj, "tree_size",
                        s->head_ok ? json_integer((json_int_t)s->head.size) : json_null());
    json_object_set_new(obj, "root",
                        s->head_ok ? hex_json(s->head.root, ZB_HASH_LEN) : json_null());
    json_object_set_new(obj, "aggregator",
                        s->has_header ? hex_json(s->agg_key, ZB_PK_LEN) : json_null());
    json_object_set_new(obj, "downstream", json_integer((json_int_t)s->downstream));
    json_object_set_new(obj, "reviews", json_integer((json_int_t)s->reviews));
    json_object_set_new(obj, "reminders", json_integer((json_int_t)s->reminders));
    json_object_set_new(obj, "deadlines", json_integer((json_int_t)s->deadlines));
    json_object_set_new(obj, "notices", json_integer((json_int_t)s->notices));
    json_object_set_new(obj, "evidence", json_integer((json_int_t)s->evidence));
    json_object_set_new(obj, "equivocations", json_integer((json_int_t)s->equivocations));
    json_object_set_new(obj, "key_event_count", json_integer((json_int_t)s->key_events));
    json_object_set_new(obj, "rotations", json_integer((json_int_t)s->rotations));
    json_object_set_new(obj, "revocations_unconsented",
                        json_integer((json_int_t)s->revocations_unconsented));
    json_object_set_new(obj, "key_events", events);
    json_object_set_new(obj, "heads", json_integer((json_int_t)o->n_heads));
    json_object_set_new(obj, "heads_extended", json_integer((json_int_t)s->heads_extended));
    json_object_set_new(obj, "county_keys", json_integer((json_int_t)o->n_pins));
    json_object_set_new(obj, "county_keys_counties", json_integer((json_int_t)s->pin_counties));
    json_object_set_new(obj, "county_keys_active", json_integer((json_int_t)s->pins_active));
    /* the witnesses: the quorum applied, the size it reached and the
     * entries after it (null without --witness-key) */
    bool w = s->witness_quorum > 0;
    json_object_set_new(obj, "witness_quorum",
                        w ? json_integer((json_int_t)s->witness_quorum) : json_null());
    json_object_set_new(obj, "witnessed_size",
                        w ? json_integer((json_int_t)s->witnessed_size) : json_null());
    json_object_set_new(obj, "witnessed_heads", json_integer((json_int_t)s->witnessed_heads));
    json_object_set_new(obj, "unwitnessed_entries",
                        w ? json_integer((json_int_t)s->unwitnessed_entries) : json_null());
    json_object_set_new(obj, "cosignatures_unlisted",
                        json_integer((json_int_t)s->cosignatures_unlisted));
    json_object_set_new(obj, "finding_count", json_integer((json_int_t)n));
    json_object_set_new(obj, "findings", findings);
    print_json(obj);
}

static void print_verified(const zb_audit_summary *s, const zb_audit_opts *o)
{
    char root[2 * ZB_HASH_LEN + 1], agg[2 * ZB_PK_LEN + 1];
    zb_hex_encode(s->head.root, ZB_HASH_LEN, root);
    zb_hex_encode(s->agg_key, ZB_PK_LEN, agg);
    /* the fields of version 1 first, in their places; the log's other
     * leaves after them, then what the auditor brought */
    printf(_("bundle verified: %" PRIu64 " counties, %" PRIu64 " reports, tree size %" PRIu64
             ", root %s, aggregator %s, %" PRIu64 " downstream messages (%" PRIu64
             " reviews, %" PRIu64 " reminders, %" PRIu64 " deadlines, %" PRIu64
             " notices), %" PRIu64 " key events (%" PRIu64 " rotations, %" PRIu64
             " revocations without consent)"),
           s->counties, s->reports, s->head.size, s->head_ok ? root : "-", agg, s->downstream,
           s->reviews, s->reminders, s->deadlines, s->notices, s->key_events, s->rotations,
           s->revocations_unconsented);
    if (o->n_heads)
        printf(_(", extends the %zu tree heads given"), o->n_heads);
    if (o->n_pins && o->n_pins == s->pin_counties)
        printf(_(", the %zu county keys given are active"), o->n_pins);
    else if (o->n_pins)
        printf(_(", the %zu county keys given hold for their %" PRIu64
                 " counties (each county's last one active)"),
               o->n_pins, s->pin_counties);
    putchar('\n');
    if (s->witness_quorum) {
        printf(_("witnessed: size %" PRIu64 " cosigned by a quorum of %zu of the %zu "
                 "witnesses given (%" PRIu64 " witnessed heads)"),
               s->witnessed_size, s->witness_quorum, o->n_witness_keys, s->witnessed_heads);
        if (s->unwitnessed_entries)
            printf(_(", %" PRIu64 " entries after it not yet cosigned by a quorum"),
                   s->unwitnessed_entries);
        if (s->cosignatures_unlisted)
            printf(_(", %" PRIu64 " cosignatures of other witnesses not checked"),
                   s->cosignatures_unlisted);
        putchar('\n');
    } else if (s->witnessed_heads || s->cosignatures) {
        printf(_("witnessed: %" PRIu64 " witnessed heads, %" PRIu64
                 " cosignatures not checked (no --witness-key)\n"),
               s->witnessed_heads, s->cosignatures);
    }
}

/* What verify and timeliness bring besides the bundle: the aggregator key,
 * the witnesses, the county keys and the heads (each loaded with its
 * problems on stderr). */
typedef struct {
    uint8_t key[ZB_PK_LEN];
    uint8_t witness_keys[ZB_WITNESS_MAX][ZB_PK_LEN];
    size_t quorum;
    zb_audit_pin *pins;
    zb_audit_head *heads;
    Zb__SignedTreeHead **sths;
    size_t n_sths;
} inputs;

static void inputs_free(inputs *in)
{
    for (size_t i = 0; in->sths && i < in->n_sths; i++)
        if (in->sths[i])
            zb__signed_tree_head__free_unpacked(in->sths[i], NULL);
    free(in->sths);
    free(in->heads);
    free(in->pins);
    memset(in, 0, sizeof *in);
}

/* The options (problems: one line each); then the county keys and head
 * files. 0, or -1 (exit 2). */
static int inputs_load(const args *a, bool witnesses_required, inputs *in)
{
    memset(in, 0, sizeof *in);
    int bad = parse_key(a->key, in->key);
    if (witnesses_required && !a->n_witness_keys) {
        zb_cli_error_at("--witness-key",
                        "required (a witness's public key: the clocks of witnesses the prefecture "
                        "does not own prove when the log held a report)");
        bad = -1;
    }
    if (parse_witnesses(a, in->witness_keys, &in->quorum) != 0)
        bad = -1;
    if (bad)
        return -1;
    in->pins = a->n_county_keys ? calloc(a->n_county_keys, sizeof *in->pins) : NULL;
    in->heads = a->n_heads ? calloc(a->n_heads, sizeof *in->heads) : NULL;
    in->sths = a->n_heads ? calloc(a->n_heads, sizeof *in->sths) : NULL;
    in->n_sths = a->n_heads;
    if ((a->n_county_keys && !in->pins) || (a->n_heads && (!in->heads || !in->sths))) {
        zb_cli_error("out of memory");
        return -1;
    }
    if (parse_pins(a, in->pins) != 0 || read_heads(a, in->heads, in->sths) != 0)
        return -1;
    return 0;
}

static zb_audit_opts inputs_opts(const args *a, const inputs *in)
{
    return (zb_audit_opts){.pinned_key = in->key,
                           .pins = in->pins,
                           .n_pins = a->n_county_keys,
                           .heads = in->heads,
                           .n_heads = a->n_heads,
                           .witness_keys = (const uint8_t(*)[ZB_PK_LEN])in->witness_keys,
                           .n_witness_keys = a->n_witness_keys,
                           .witness_quorum = in->quorum,
                           /* findings translated for a person; --json keeps them English */
                           .localized = !a->json};
}

/* Progress of the entries verified, on stderr (progress.h): bar is drawn
 * through o's callback until progress_end. */
static void progress_begin(const args *a, zb_progress *bar, zb_audit_opts *o)
{
    zb_progress_start(bar, a->progress, _("verifying the bundle"), _("log entries"), 0);
    o->progress = on_progress;
    o->progress_ctx = bar;
}

static int cmd_verify(const args *a)
{
    if (a->n_pos != 1) {
        zb_cli_error("verify takes one BUNDLE");
        return EXIT_USAGE;
    }
    if (a->proof || a->period) {
        if (a->proof)
            zb_cli_error_at("--proof", "only consistency has it");
        else
            zb_cli_error_at("--period", "only timeliness has it");
        return EXIT_USAGE;
    }
    int rc = EXIT_USAGE;
    inputs in;
    key_events k = {0};
    json_t *findings = NULL;
    FILE *f = NULL;
    if (inputs_load(a, false, &in) != 0)
        goto done;
    if (!(f = open_input("BUNDLE", a->pos[0])))
        goto done;
    zb_audit_opts o = inputs_opts(a, &in);
    o.key_event = collect_key_event;
    o.key_event_ctx = &k;
    zb_audit_summary s;
    if (a->json && !(findings = json_array())) {
        zb_cli_error("out of memory");
        goto done;
    }
    zb_progress bar;
    progress_begin(a, &bar, &o);
    long n = a->json ? zb_audit_verify(f, &o, collect_finding, findings, &s)
                     : zb_audit_verify(f, &o, print_finding, &bar, &s);
    zb_progress_finish(&bar);
    if (n < 0) {
        zb_cli_error_at("BUNDLE", "cannot read %s: %s", a->pos[0], _(zb_strerror((int)n)));
        goto done;
    }
    if (a->json) {
        print_verify_json(n, &s, &o, &k, findings);
        findings = NULL; /* print_verify_json took it */
    } else if (n == 0) {
        print_verified(&s, &o);
        print_key_events(stdout, &k);
    } else {
        /* stdout holds the findings only, one a line; the history to stderr */
        print_key_events(stderr, &k);
    }
    if (n > 0)
        fprintf(stderr, _("%ld finding(s)%s\n"), n,
                s.equivocations ? _(" (including evidence of equivocation: act on it)") : "");
    rc = n > 0 ? EXIT_FINDING : 0;
done:
    if (f)
        fclose(f);
    json_decref(findings);
    inputs_free(&in);
    free(k.e);
    return rc;
}

/* The bundle first, as verify checks it: with findings nothing is judged
 * (exit 1); then each county's first monthly report of the period against
 * its deadline, and what the witnesses prove of it (timeliness.h). */
static int cmd_timeliness(const args *a)
{
    if (a->n_pos != 1) {
        zb_cli_error("timeliness takes one BUNDLE");
        return EXIT_USAGE;
    }
    if (a->proof) {
        zb_cli_error_at("--proof", "only consistency has it");
        return EXIT_USAGE;
    }
    int year = 0, month = 0, rc = EXIT_USAGE;
    bool bad = false;
    if (!a->period) {
        zb_cli_error_at("--period", "required (the month judged, YYYY-MM)");
        bad = true;
    } else if (zb_period_parse(a->period, &year, &month) != 0) {
        zb_cli_error_at("--period", "'%.40s' is not a month (YYYY-MM, e.g. 2025-10)", a->period);
        bad = true;
    }
    inputs in;
    FILE *f = NULL;
    json_t *findings = NULL;
    zb_timeliness t = {0};
    if (inputs_load(a, true, &in) != 0 || bad)
        goto done;
    if (!(f = open_input("BUNDLE", a->pos[0])))
        goto done;
    if (a->json && !(findings = json_array())) {
        zb_cli_error("out of memory");
        goto done;
    }
    zb_audit_opts o = inputs_opts(a, &in);
    zb_progress bar;
    progress_begin(a, &bar, &o);
    long n = a->json ? zb_timeliness_judge(f, &o, year, month, collect_finding, findings, &t)
                     : zb_timeliness_judge(f, &o, year, month, print_finding, &bar, &t);
    zb_progress_finish(&bar);
    if (n < 0) {
        zb_cli_error_at("BUNDLE", "cannot read %s: %s", a->pos[0], _(zb_strerror((int)n)));
        goto done;
    }
    if (n > 0) {
        if (a->json) {
            print_json(json_pack("{s:s, s:b, s:I, s:o}", "period", a->period, "verified", 0,
                                 "finding_count", (json_int_t)n, "findings", findings));
            findings = NULL;
        }
        fprintf(stderr,
                _("%ld finding(s): the bundle does not verify, nothing is judged "
                  "from it\n"),
                n);
        rc = EXIT_FINDING;
        goto done;
    }
    if (a->json)
        print_json(zb_timeliness_json(&t, (const uint8_t(*)[ZB_PK_LEN])in.witness_keys,
                                      a->n_witness_keys));
    else
        zb_timeliness_print(stdout, &t);
    rc = 0;
done:
    if (f)
        fclose(f);
    json_decref(findings);
    zb_timeliness_free(&t);
    inputs_free(&in);
    return rc;
}

static int cmd_consistency(const args *a)
{
    if (a->period) {
        zb_cli_error_at("--period", "only timeliness has it");
        return EXIT_USAGE;
    }
    const char *only_verify = a->json             ? "--json"
                              : a->n_heads        ? "--head"
                              : a->n_county_keys  ? "--county-key"
                              : a->n_witness_keys ? "--witness-key"
                              : a->witness_quorum ? "--witness-quorum"
                              : a->progress_given
                                  ? (a->progress == ZB_PROGRESS_OFF ? "--quiet" : "--progress")
                                  : NULL;
    if (only_verify) {
        zb_cli_error_at(only_verify, "only verify and timeliness have it");
        return EXIT_USAGE;
    }
    if (a->n_pos < 2 || a->n_pos > 3 || (a->n_pos == 3 && a->proof)) {
        zb_cli_error("consistency takes OLD_TREE_HEAD|BUNDLE NEW_TREE_HEAD|BUNDLE and at "
                     "most one proof (PROOF_FILE or --proof)");
        return EXIT_USAGE;
    }
    uint8_t key[ZB_PK_LEN];
    if (parse_key(a->key, key) != 0)
        return EXIT_USAGE;
    const char *proof_path = a->n_pos == 3 ? a->pos[2] : a->proof;
    FILE *old_f = open_input("OLD", a->pos[0]);
    FILE *new_f = old_f ? open_input("NEW", a->pos[1]) : NULL;
    FILE *proof_f = new_f && proof_path ? open_input("PROOF_FILE", proof_path) : NULL;
    if (!old_f || !new_f || (proof_path && !proof_f)) {
        if (old_f)
            fclose(old_f);
        if (new_f)
            fclose(new_f);
        return EXIT_USAGE;
    }
    char msg[600] = ""; /* in the chosen language: Chinese takes more bytes */
    int rc = zb_audit_consistency(old_f, new_f, proof_f, key, msg, sizeof msg);
    fclose(old_f);
    fclose(new_f);
    if (proof_f)
        fclose(proof_f);
    if (rc == 0) {
        printf("%s\n", msg);
        return 0;
    }
    if (rc == ZB_EBADSIG) {
        printf("%s\n", msg);
        return EXIT_FINDING;
    }
    zb_cli_error_line(msg);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (zb_cli_lang_init(argc, argv) != 0)
        return EXIT_USAGE;
    /* the command: the first argument after a leading --lang */
    int at = zb_cli_command_index(argc, argv);
    if (at >= argc || strcmp(argv[at], "--help") == 0 || strcmp(argv[at], "-h") == 0) {
        zb_audit_help(at >= argc ? stderr : stdout, NULL);
        return at >= argc ? EXIT_USAGE : 0;
    }
    if (zb_crypto_init() != 0)
        return EXIT_USAGE;
    static const struct {
        const char *name;
        int (*fn)(const args *);
    } cmds[] = {
        {"verify", cmd_verify}, {"timeliness", cmd_timeliness}, {"consistency", cmd_consistency}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[at], cmds[i].name) != 0)
            continue;
        args a = {.cmd = cmds[i].name};
        if (parse_args(argc - at, argv + at, &a) != 0)
            return EXIT_USAGE;
        return cmds[i].fn(&a);
    }
    zb_cli_error("unknown command %s", argv[at]);
    zb_audit_help(stderr, NULL);
    return EXIT_USAGE;
}
