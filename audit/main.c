/*
 * zhibao-audit - the auditor's tool: checks what the prefecture's
 * aggregator exported without trusting the aggregator (audit.h).
 *
 *   verify BUNDLE [--key AGGKEY] [--json]
 *   consistency OLD_TREE_HEAD NEW_TREE_HEAD|BUNDLE [PROOF_FILE] --key AGGKEY [--proof FILE]
 *
 * Exit codes: 0 all holds; 1 a finding (one line each on stdout) or not
 * consistent; 2 bad usage or an unreadable file.
 */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "crypto.h"
#include "err.h"
#include "log.h"

#define EXIT_FINDING 1
#define EXIT_USAGE 2
/* verify --json lists at most this many findings (all are counted): a
 * hostile bundle may hold one per byte. */
#define JSON_FINDINGS_MAX 1000

static void usage(FILE *f)
{
    fputs("usage: zhibao-audit COMMAND [options]\n"
          "  verify BUNDLE [--key AGGKEY] [--json]\n"
          "      check every signature, key, sequence, hash chain and log entry (county\n"
          "      reports and the prefecture's downstream messages) of a bundle (zhibao-agg\n"
          "      export) and its signed tree head; --key pins the aggregator key; --json:\n"
          "      one object with the counts and the findings\n"
          "  consistency OLD_TREE_HEAD NEW_TREE_HEAD|BUNDLE [PROOF_FILE] --key AGGKEY\n"
          "      prove the newer log extends the older one (zhibao-agg tree-head,\n"
          "      zhibao-agg consistency-proof; the proof may also be given as --proof FILE,\n"
          "      and is not needed when the new side is a bundle)\n"
          "exit: 0 all holds, 1 findings (one line each) / not consistent, 2 usage or unreadable\n",
          f);
}

typedef struct {
    const char *key, *proof;
    const char *pos[4];
    int n_pos;
    bool json;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                         {"proof", required_argument, 0, 'p'},
                                         {"json", no_argument, 0, 'j'},
                                         {"log-level", required_argument, 0, 'l'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, level = ZB_LOG_WARN;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': a->key = optarg; break;
        case 'p': a->proof = optarg; break;
        case 'j': a->json = true; break;
        case 'l':
            if ((level = zb_log_level_parse(optarg)) < 0) {
                fprintf(stderr, "error: --log-level: must be error, warn, info or debug\n");
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    zb_log_init("zhibao-audit", (zb_log_level)level, false);
    for (; optind < argc; optind++) {
        if (a->n_pos == 4) {
            fprintf(stderr, "error: unexpected argument %s\n", argv[optind]);
            return -1;
        }
        a->pos[a->n_pos++] = argv[optind];
    }
    return 0;
}

static int parse_key(const char *hex, uint8_t key[ZB_PK_LEN])
{
    if (zb_hex_decode(hex, key, ZB_PK_LEN) != 0) {
        fprintf(stderr, "error: --key: must be 64 hex digits (the aggregator's public key)\n");
        return -1;
    }
    return 0;
}

static FILE *open_input(const char *what, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fprintf(stderr, "error: %s: cannot open %s\n", what, path);
    return f;
}

static void print_finding(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

/* verify --json: the findings kept for the one object printed at the end. */
static void collect_finding(void *ctx, const char *line)
{
    json_t *list = ctx;
    if (json_array_size(list) < JSON_FINDINGS_MAX)
        json_array_append_new(list, json_string(line));
}

static json_t *hex_json(const uint8_t *bytes, size_t len)
{
    char hex[2 * ZB_HASH_LEN + 1];
    if (2 * len + 1 > sizeof hex)
        return json_null();
    zb_hex_encode(bytes, len, hex);
    return json_string(hex);
}

/* {"verified", "counties", "reports", "tree_size", "root", "aggregator",
 * "downstream", "reviews", "reminders", "deadlines", "notices", "evidence",
 * "equivocations", "finding_count", "findings": [the first lines]};
 * tree_size and root null without a good tree head, aggregator null
 * without a header. */
static void print_verify_json(long n, const zb_audit_summary *s, json_t *findings)
{
    json_t *o = json_object();
    if (!o) {
        json_decref(findings);
        return;
    }
    json_object_set_new(o, "verified", json_boolean(n == 0));
    json_object_set_new(o, "counties", json_integer((json_int_t)s->counties));
    json_object_set_new(o, "reports", json_integer((json_int_t)s->reports));
    json_object_set_new(o, "tree_size",
                        s->head_ok ? json_integer((json_int_t)s->head.size) : json_null());
    json_object_set_new(o, "root", s->head_ok ? hex_json(s->head.root, ZB_HASH_LEN) : json_null());
    json_object_set_new(o, "aggregator",
                        s->has_header ? hex_json(s->agg_key, ZB_PK_LEN) : json_null());
    json_object_set_new(o, "downstream", json_integer((json_int_t)s->downstream));
    json_object_set_new(o, "reviews", json_integer((json_int_t)s->reviews));
    json_object_set_new(o, "reminders", json_integer((json_int_t)s->reminders));
    json_object_set_new(o, "deadlines", json_integer((json_int_t)s->deadlines));
    json_object_set_new(o, "notices", json_integer((json_int_t)s->notices));
    json_object_set_new(o, "evidence", json_integer((json_int_t)s->evidence));
    json_object_set_new(o, "equivocations", json_integer((json_int_t)s->equivocations));
    json_object_set_new(o, "finding_count", json_integer((json_int_t)n));
    json_object_set_new(o, "findings", findings);
    char *text = json_dumps(o, JSON_INDENT(2));
    puts(text ? text : "{}");
    free(text);
    json_decref(o);
}

static int cmd_verify(const args *a)
{
    if (a->n_pos != 1) {
        fprintf(stderr, "error: verify takes one BUNDLE\n");
        return EXIT_USAGE;
    }
    uint8_t key[ZB_PK_LEN];
    if (a->key && parse_key(a->key, key) != 0)
        return EXIT_USAGE;
    FILE *f = open_input("BUNDLE", a->pos[0]);
    if (!f)
        return EXIT_USAGE;
    zb_audit_opts o = {.pinned_key = a->key ? key : NULL};
    zb_audit_summary s;
    json_t *findings = a->json ? json_array() : NULL;
    if (a->json && !findings) {
        fclose(f);
        fprintf(stderr, "error: out of memory\n");
        return EXIT_USAGE;
    }
    long n = a->json ? zb_audit_verify(f, &o, collect_finding, findings, &s)
                     : zb_audit_verify(f, &o, print_finding, NULL, &s);
    fclose(f);
    if (n < 0) {
        json_decref(findings);
        fprintf(stderr, "error: BUNDLE: cannot read %s: %s\n", a->pos[0], zb_strerror((int)n));
        return EXIT_USAGE;
    }
    if (a->json)
        print_verify_json(n, &s, findings);
    if (n > 0) {
        fprintf(stderr, "%ld finding(s)%s\n", n,
                s.equivocations ? " (including evidence of equivocation: act on it)" : "");
        return EXIT_FINDING;
    }
    if (a->json)
        return 0;
    char root[2 * ZB_HASH_LEN + 1], agg[2 * ZB_PK_LEN + 1];
    zb_hex_encode(s.head.root, ZB_HASH_LEN, root);
    zb_hex_encode(s.agg_key, ZB_PK_LEN, agg);
    /* the fields of version 1 first, in their places; the downstream
     * messages (the log's other leaves) after them */
    printf("bundle verified: %" PRIu64 " counties, %" PRIu64 " reports, tree size %" PRIu64
           ", root %s, aggregator %s, %" PRIu64 " downstream messages (%" PRIu64
           " reviews, %" PRIu64 " reminders, %" PRIu64 " deadlines, %" PRIu64 " notices)\n",
           s.counties, s.reports, s.head.size, s.head_ok ? root : "-", agg, s.downstream,
           s.reviews, s.reminders, s.deadlines, s.notices);
    return 0;
}

static int cmd_consistency(const args *a)
{
    if (a->json) {
        fprintf(stderr, "error: --json: only verify has it\n");
        return EXIT_USAGE;
    }
    if (a->n_pos < 2 || a->n_pos > 3 || (a->n_pos == 3 && a->proof)) {
        fprintf(stderr, "error: consistency takes OLD_TREE_HEAD NEW_TREE_HEAD|BUNDLE and one "
                        "proof (PROOF_FILE or --proof)\n");
        return EXIT_USAGE;
    }
    if (!a->key) {
        fprintf(stderr, "error: --key: missing (the aggregator's public key)\n");
        return EXIT_USAGE;
    }
    uint8_t key[ZB_PK_LEN];
    if (parse_key(a->key, key) != 0)
        return EXIT_USAGE;
    const char *proof_path = a->n_pos == 3 ? a->pos[2] : a->proof;
    FILE *old_f = open_input("OLD_TREE_HEAD", a->pos[0]);
    FILE *new_f = old_f ? open_input("NEW_TREE_HEAD", a->pos[1]) : NULL;
    FILE *proof_f = new_f && proof_path ? open_input("PROOF_FILE", proof_path) : NULL;
    if (!old_f || !new_f || (proof_path && !proof_f)) {
        if (old_f)
            fclose(old_f);
        if (new_f)
            fclose(new_f);
        return EXIT_USAGE;
    }
    char msg[300] = "";
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
    fprintf(stderr, "error: %s\n", msg);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (zb_crypto_init() != 0)
        return EXIT_USAGE;
    static const struct {
        const char *name;
        int (*fn)(const args *);
    } cmds[] = {{"verify", cmd_verify}, {"consistency", cmd_consistency}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        args a = {0};
        if (parse_args(argc - 1, argv + 1, &a) != 0)
            return EXIT_USAGE;
        return cmds[i].fn(&a);
    }
    fprintf(stderr, "error: unknown command %s\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
