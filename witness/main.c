/*
 * zhibao-witness - an independent party's witness of the prefecture
 * aggregators' transparency logs: cosigns a tree head only when it extends
 * the last head of that log it cosigned (witness.h), and keeps the heads
 * it refused as evidence.
 *
 *   init --dir W | add-log --dir W --key AGGKEY [--name TEXT]
 *   serve --dir W --listen ENDPOINT | status|evidence --dir W [--json]
 *   every command: [--lang zh|en] [--log-level L] [--syslog] [--help]
 *
 * Exit codes: 0 success; 1 runtime error; 2 bad usage or bad input.
 * Messages, help and text output are in the chosen language (i18n.h,
 * po/zh_CN/witness.po); --json output, the log lines (ZB-WIT-...) and the
 * exit codes never change with it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "cli.h"
#include "crypto.h"
#include "display.h"
#include "err.h"
#include "i18n.h"
#include "log.h"
#include "timefmt.h"
#include "witness.h"
#include "witness_help.h"
#include "wstore.h"
#include "wzap.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

/* zb_strerror in the chosen language (its texts are msgids of witness.po). */
static const char *strerror_tr(int rc)
{
    return _(zb_strerror(rc));
}

typedef struct {
    const char *dir, *key, *name, *listen;
    bool json;
    const char *cmd; /* for --help and the hint after a usage error */
} args;

static int parse_args(int argc, char **argv, args *a, int default_level)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},  {"key", required_argument, 0, 'k'},
        {"name", required_argument, 0, 'n'}, {"listen", required_argument, 0, 'L'},
        {"json", no_argument, 0, 'j'},       {"log-level", required_argument, 0, 'l'},
        {"syslog", no_argument, 0, 's'},     {"lang", required_argument, 0, 'g'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    int level = default_level, c;
    bool use_syslog = false;
    optind = 1;
    opterr = 0; /* the errors below, in the chosen language */
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->dir = optarg; break;
        case 'k': a->key = optarg; break;
        case 'n': a->name = optarg; break;
        case 'L': a->listen = optarg; break;
        case 'j': a->json = true; break;
        case 's': use_syslog = true; break;
        case 'l':
            if ((level = zb_log_level_parse(optarg)) < 0) {
                zb_cli_error_at("--log-level", "must be error, warn, info or debug");
                return -1;
            }
            break;
        case 'g': break; /* chosen by main before anything was said */
        case 'h': zb_witness_help(stdout, a->cmd); exit(0);
        case ':':
        default:
            zb_cli_option_error(c, argv[optind - 1], true,
                                "(zhibao-witness %s --help lists the options)\n", a->cmd);
            return -1;
        }
    }
    if (optind < argc) {
        zb_cli_error("unexpected argument %s", argv[optind]);
        return -1;
    }
    zb_log_init("zhibao-witness", (zb_log_level)level, use_syslog);
    if (!a->dir) {
        zb_cli_error_at("--dir", "missing (the witness's directory)");
        return -1;
    }
    return 0;
}

static int open_witness(const args *a, bool readonly, zb_witness **out)
{
    int rc = zb_witness_open(out, a->dir, readonly);
    if (rc == ZB_ENOTFOUND)
        zb_cli_error_at("--dir", "no witness in %s (run zhibao-witness init first)", a->dir);
    else if (rc == ZB_EKEYPERM)
        zb_cli_error_at("--dir", "%s/%s is open to group or others (chmod 600 it)", a->dir,
                        ZB_IDENTITY_FILE);
    else if (rc)
        zb_cli_error_at("--dir", "cannot open the witness in %s: %s", a->dir, strerror_tr(rc));
    return rc == 0 ? 0 : rc == ZB_ENOTFOUND ? EXIT_USAGE : EXIT_RUNTIME;
}

static json_t *json_hex(const uint8_t *b, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return json_null();
    zb_hex_encode(b, n, hex);
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

/* ------------------------------------------------------------ init, add-log */

static int cmd_init(const args *a)
{
    uint8_t pk[ZB_PK_LEN];
    int rc = zb_witness_create(a->dir, pk);
    if (rc == ZB_EEXIST) {
        zb_cli_error_at("--dir", "%s already holds a witness (or another zhibao key)", a->dir);
        return EXIT_USAGE;
    }
    if (rc) {
        zb_cli_error("cannot create a witness in %s: %s", a->dir, strerror_tr(rc));
        return EXIT_RUNTIME;
    }
    char hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(pk, ZB_PK_LEN, hex);
    printf(_("witness created in %s\n"), a->dir);
    fputs(_("give the aggregator and the auditors this key (--witness-key):\n"), stdout);
    printf("%s\n", hex); /* last: scripts take it with tail -n 1 */
    return 0;
}

/* A display name: at most ZB_WLOG_NAME_MAX bytes, no control characters. */
static bool name_ok(const char *s)
{
    if (strlen(s) > ZB_WLOG_NAME_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static int cmd_add_log(const args *a)
{
    int bad = 0;
    uint8_t key[ZB_PK_LEN];
    if (!a->key) {
        zb_cli_error_at("--key", "missing (the aggregator's key, zhibao-agg init printed it)");
        bad = 1;
    } else if (zb_hex_decode(a->key, key, sizeof key) != 0) {
        zb_cli_error_at("--key", "must be 64 hex digits");
        bad = 1;
    }
    if (a->name && !name_ok(a->name)) {
        zb_cli_error_at("--name", "at most %d bytes, no control characters", ZB_WLOG_NAME_MAX);
        bad = 1;
    }
    if (bad)
        return EXIT_USAGE;
    zb_witness *w;
    int ex = open_witness(a, false, &w);
    if (ex)
        return ex;
    bool was_new;
    int rc = zb_witness_add_log(w, key, a->name ? a->name : "", &was_new);
    zb_witness_close(&w);
    if (rc) {
        zb_cli_error_at("add-log", "%s", strerror_tr(rc));
        return EXIT_RUNTIME;
    }
    char hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(key, ZB_PK_LEN, hex);
    if (was_new)
        printf(_("log %s followed from size 0\n"), hex);
    else
        printf(_("log %s was followed already: name set, state kept\n"), hex);
    return 0;
}

/* ------------------------------------------------------------ serve */

static volatile sig_atomic_t stop_serving;

static void on_signal(int sig)
{
    (void)sig;
    stop_serving = 1;
}

#define MAX_FRAMES 3 /* routing id, [empty delimiter from a REQ], request */

/* Receive one whole message from sock into frames (at most MAX_FRAMES
 * kept; *n their count, *over when there were more). false when none. */
static bool recv_message(void *sock, zmq_msg_t *frames, int *n, bool *over)
{
    *n = 0;
    *over = false;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return *n > 0;
        }
        more = zmq_msg_more(&m);
        if (*n < MAX_FRAMES)
            frames[(*n)++] = m;
        else {
            *over = true;
            zmq_msg_close(&m);
        }
    }
    return true;
}

/* Answer one message: the frames before the last are the envelope, sent
 * back as they came; the last is the request, answered for the log the
 * connection authenticated as (the ZAP handler's User-Id, wzap.h). */
static int serve_one(zb_witness *w, void *sock, zmq_msg_t *frames, int n)
{
    const uint8_t *req = zmq_msg_data(&frames[n - 1]);
    size_t len = zmq_msg_size(&frames[n - 1]);
    const char *user_id = zmq_msg_gets(&frames[n - 1], "User-Id");
    uint8_t peer[ZB_PK_LEN];
    if (!user_id || zb_hex_decode(user_id, peer, sizeof peer) != 0) { /* not through our ZAP */
        ZB_ERR("ZB-WIT-ZAP", "a request without the log key its connection authenticated as: "
                             "dropped");
        return 0;
    }
    uint8_t *resp;
    size_t resp_len;
    zb_witness_outcome o;
    int rc = zb_witness_handle_from(w, peer, req, len, (int64_t)time(NULL), &resp, &resp_len, &o);
    if (rc) {
        ZB_ERR("ZB-WIT-STORE", "request not answered (the sender retries): %s", zb_strerror(rc));
        return rc == ZB_ENOMEM || rc == ZB_EMAPFULL ? 0 : rc; /* the store is gone: stop */
    }
    zb_witness_log_outcome(&o);
    bool sent = true;
    for (int i = 0; i < n - 1 && sent; i++)
        sent = zmq_send(sock, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]),
                        ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
    if (sent)
        sent = zmq_send(sock, resp, resp_len, ZMQ_DONTWAIT) >= 0;
    if (!sent) /* the peer left (ROUTER_MANDATORY) or is not reading: what was decided is kept */
        ZB_DEBUG("ZB-WIT-SEND", "answer not sent: %s", zmq_strerror(errno));
    free(resp);
    return 0;
}

static int serve_loop(zb_witness *w, const char *endpoint)
{
    void *ctx = zmq_ctx_new();
    if (!ctx)
        return ZB_ENET;
    /* the ZAP handler first: a CURVE server without one admits anyone */
    zb_wzap *zap = NULL;
    int zrc = zb_wzap_start(&zap, ctx, zb_witness_store(w));
    if (zrc) {
        zmq_ctx_term(ctx);
        return zrc;
    }
    void *sock = zmq_socket(ctx, ZMQ_ROUTER);
    if (!sock) {
        zb_wzap_stop(&zap);
        zmq_ctx_term(ctx);
        return ZB_ENET;
    }
    /* CurveZMQ server with the witness's Ed25519 key in its X25519 form: a
     * client given the witness key knows it talks to this witness. ZAP
     * (wzap.h) admits only the followed logs' aggregators, each for its
     * own log. */
    uint8_t curve_sk[32];
    crypto_sign_ed25519_sk_to_curve25519(curve_sk, zb_witness_identity(w)->sk);
    int on = 1, zero = 0, hwm = 1000, hb_ivl = 2000, hb_to = 6000;
    int64_t maxmsg = ZB_WITNESS_REQUEST_MAX;
    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "zhibao-witness", strlen("zhibao-witness"));
    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, curve_sk, sizeof curve_sk);
    sodium_memzero(curve_sk, sizeof curve_sk);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_to, sizeof hb_to);
    if (zmq_bind(sock, endpoint) != 0) {
        ZB_ERR("ZB-WIT-BIND", "cannot listen on %s: %s", endpoint, zmq_strerror(errno));
        zmq_close(sock);
        zb_wzap_stop(&zap);
        zmq_ctx_term(ctx);
        return ZB_ENET;
    }
    char hex[2 * ZB_PK_LEN + 1];
    zb_hex_encode(zb_witness_key(w), ZB_PK_LEN, hex);
    ZB_INFO("ZB-WIT-START", "witness %.16s serving on %s", hex, endpoint);
    int rc = ZB_OK;
    while (rc == 0 && !stop_serving) {
        zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) < 0) {
            if (errno == EINTR)
                continue;
            rc = ZB_ENET;
            break;
        }
        /* a bounded round, so a stop request is seen between rounds */
        for (int i = 0; i < 256 && rc == 0 && !stop_serving; i++) {
            zmq_msg_t frames[MAX_FRAMES];
            int n;
            bool over;
            if (!recv_message(sock, frames, &n, &over))
                break;
            bool shape_ok = !over && n >= 2 && (n == 2 || zmq_msg_size(&frames[1]) == 0);
            if (shape_ok)
                rc = serve_one(w, sock, frames, n);
            else
                ZB_WARN("ZB-WIT-BADREQ",
                        "message of %d%s frames dropped (one request frame "
                        "expected)",
                        n, over ? "+" : "");
            for (int j = 0; j < n; j++)
                zmq_msg_close(&frames[j]);
        }
    }
    zmq_close(sock);
    uint64_t denied = zb_wzap_refused(zap);
    zb_wzap_stop(&zap);
    zmq_ctx_term(ctx);
    ZB_INFO("ZB-WIT-STOP", "stopped (%" PRIu64 " connection(s) refused by ZAP)", denied);
    return rc;
}

static int cmd_serve(const args *a)
{
    if (!a->listen) {
        zb_cli_error_at("--listen", "missing (e.g. tcp://0.0.0.0:7500)");
        return EXIT_USAGE;
    }
    zb_witness *w;
    int ex = open_witness(a, false, &w);
    if (ex)
        return ex;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = serve_loop(w, a->listen);
    zb_witness_close(&w);
    if (rc) {
        zb_cli_error_at("serve", "%s", strerror_tr(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

/* ------------------------------------------------------------ status, evidence */

static int status_log(void *ctx, const zb_wlog *log)
{
    json_t *row = json_object();
    json_object_set_new(row, "key", json_hex(log->key, ZB_PK_LEN));
    json_object_set_new(row, "name", json_string(log->name));
    json_object_set_new(row, "size", json_integer((json_int_t)log->size));
    json_object_set_new(row, "root",
                        log->cosigned ? json_hex(log->root, ZB_HASH_LEN) : json_null());
    json_object_set_new(row, "cosigned_at",
                        log->cosigned ? zb_json_time(log->cosigned_at) : json_null());
    json_array_append_new(ctx, row);
    return 0;
}

static int evidence_row(void *ctx, const zb_wevidence *ev)
{
    json_t *row = json_object();
    json_object_set_new(row, "kind", json_string(zb_wevidence_kind_name(ev->kind)));
    json_object_set_new(row, "key", json_hex(ev->key, ZB_PK_LEN));
    json_object_set_new(row, "size", json_integer((json_int_t)ev->size));
    json_object_set_new(row, "root", json_hex(ev->root, ZB_HASH_LEN));
    json_object_set_new(row, "timestamp", zb_json_time(ev->head_time));
    json_object_set_new(row, "held_size", json_integer((json_int_t)ev->held_size));
    json_object_set_new(row, "held_root", json_hex(ev->held_root, ZB_HASH_LEN));
    json_object_set_new(row, "reason", json_string(ev->reason));
    json_object_set_new(row, "at", zb_json_time(ev->at));
    /* the bytes an auditor re-checks: the refused request as received, the
     * head held (packed SignedTreeHead; null when none was cosigned) */
    json_object_set_new(row, "request", json_hex(ev->request, ev->request_len));
    json_object_set_new(row, "held_head",
                        ev->held_sth ? json_hex(ev->held_sth, ev->held_sth_len) : json_null());
    json_array_append_new(ctx, row);
    return 0;
}

/* Read the logs or the evidence (rows) and the counts in one transaction. */
static int read_rows(const args *a, bool evidence, json_t *rows, uint64_t *refused, uint64_t *kept,
                     uint64_t *forks)
{
    zb_witness *w;
    int ex = open_witness(a, true, &w);
    if (ex)
        return ex;
    zb_wstore *s = zb_witness_store(w);
    MDB_txn *txn;
    int rc = zb_wstore_read_begin(s, &txn);
    if (rc == 0) {
        rc = evidence ? zb_wstore_evidence(s, txn, evidence_row, rows)
                      : zb_wstore_logs(s, txn, status_log, rows);
        if (rc == 0)
            rc = zb_wstore_counts(s, txn, refused, kept, forks);
        mdb_txn_abort(txn);
    }
    zb_witness_close(&w);
    if (rc) {
        zb_cli_error_at(evidence ? "evidence" : "status", "%s", strerror_tr(rc));
        return EXIT_RUNTIME;
    }
    return 0;
}

static void print_json(json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(2));
    puts(text ? text : "{}");
    free(text);
}

static const char *str_of(const json_t *row, const char *field)
{
    const json_t *v = json_object_get(row, field);
    return json_is_string(v) ? json_string_value(v) : "-";
}

/* The logs as a table: key and root by their first 16 hex digits, columns
 * padded by display width (a Chinese name or heading counts 2 columns a
 * character), at least as wide as they always were in English. */
static void print_status_table(json_t *rows)
{
    enum { COLS = 5 };
    const char *head[COLS] = {zb_trc("witness", "LOG"), zb_trc("witness", "NAME"),
                              zb_trc("witness", "SIZE"), zb_trc("witness", "ROOT"),
                              zb_trc("witness", "COSIGNED AT")};
    int width[COLS] = {16, 20, 10, 16, 0}; /* the last column is not padded */
    const char *sep[COLS] = {"  ", " ", "  ", "  ", ""};
    for (int c = 0; c < COLS - 1; c++) {
        int w = (int)zb_display_width(head[c]);
        width[c] = w > width[c] ? w : width[c];
    }
    size_t i;
    json_t *row;
    char size[24];
    json_array_foreach(rows, i, row)
    {
        int w = (int)zb_display_width(str_of(row, "name"));
        width[1] = w > width[1] ? w : width[1];
        w = snprintf(size, sizeof size, "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(row, "size")));
        width[2] = w > width[2] ? w : width[2];
    }
    for (int c = 0; c < COLS; c++) {
        zb_display_cell(stdout, head[c], width[c], c == 2);
        fputs(sep[c], stdout);
    }
    putchar('\n');
    json_array_foreach(rows, i, row)
    {
        char key[17], root[17];
        snprintf(key, sizeof key, "%.16s", str_of(row, "key"));
        snprintf(root, sizeof root, "%.16s", str_of(row, "root"));
        snprintf(size, sizeof size, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(row, "size")));
        const char *cells[COLS] = {key, str_of(row, "name"), size, root,
                                   str_of(row, "cosigned_at")};
        for (int c = 0; c < COLS; c++) {
            zb_display_cell(stdout, cells[c], width[c], c == 2);
            fputs(sep[c], stdout);
        }
        putchar('\n');
    }
}

static int cmd_status(const args *a)
{
    json_t *rows = json_array();
    uint64_t refused = 0, kept = 0, forks = 0;
    int ex = read_rows(a, false, rows, &refused, &kept, &forks);
    if (ex) {
        json_decref(rows);
        return ex;
    }
    if (a->json) {
        json_t *root = json_object();
        json_object_set_new(root, "logs", rows);
        json_object_set_new(root, "refused", json_integer((json_int_t)refused));
        json_object_set_new(root, "evidence", json_integer((json_int_t)kept));
        json_object_set_new(root, "forks", json_integer((json_int_t)forks));
        print_json(root);
        json_decref(root);
        return 0;
    }
    print_status_table(rows);
    printf(_("logs: %zu; refusals: %" PRIu64 "; evidence kept: %" PRIu64
             " (forks, proven by the aggregator's signatures: %" PRIu64 ")\n"),
           json_array_size(rows), refused, kept, forks);
    json_decref(rows);
    return 0;
}

/* A stored reason in the chosen language: the two a refusal is given
 * (witness.c, decide: a fork; an unproven extension from held) are
 * recognised and translated; any other (an older release's) as stored.
 * Returns reason itself or buf. */
static const char *reason_text(const char *reason, uint64_t held, char *buf, size_t len)
{
    static const char fork_reason[] =
        N_("same size as the head this witness cosigned, different root");
    if (strcmp(reason, fork_reason) == 0)
        return _(fork_reason);
    char english[120];
    snprintf(english, sizeof english, "the consistency proof from size %" PRIu64 " does not verify",
             held);
    if (strcmp(reason, english) != 0)
        return reason;
    snprintf(buf, len, _("the consistency proof from size %" PRIu64 " does not verify"), held);
    return buf;
}

static int cmd_evidence(const args *a)
{
    json_t *rows = json_array();
    uint64_t refused = 0, kept = 0, forks = 0;
    int ex = read_rows(a, true, rows, &refused, &kept, &forks);
    if (ex) {
        json_decref(rows);
        return ex;
    }
    if (a->json) {
        json_t *root = json_object();
        json_object_set_new(root, "evidence", rows);
        print_json(root);
        json_decref(root);
        return 0;
    }
    /* the kind column as wide as the widest kind's label (display width) */
    int kind_width = (int)zb_display_width(zb_trc("witness", "fork"));
    int w = (int)zb_display_width(zb_trc("witness", "unproven_extension"));
    kind_width = w > kind_width ? w : kind_width;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        uint64_t held = (uint64_t)json_integer_value(json_object_get(row, "held_size"));
        char reason[200];
        printf("%s  ", str_of(row, "at"));
        zb_display_cell(stdout, zb_trc("witness", str_of(row, "kind")), kind_width, false);
        fputs("  ", stdout);
        printf(_("log %.16s  refused size %" PRIu64 " root %.16s (signed %s), held size %" PRIu64
                 " root %.16s: %s\n"),
               str_of(row, "key"), (uint64_t)json_integer_value(json_object_get(row, "size")),
               str_of(row, "root"), str_of(row, "timestamp"), held, str_of(row, "held_root"),
               reason_text(str_of(row, "reason"), held, reason, sizeof reason));
    }
    printf(_("evidence kept: %zu, of which forks: %" PRIu64 "\n"), json_array_size(rows), forks);
    if (json_array_size(rows) > 0)
        fputs(_("  fork: two heads of one size signed by the log's key: proof that it forked\n"
                "  unproven_extension: ask the prefecture for PROOF(held size, refused size)\n"
                "    (zhibao-agg consistency-proof); if it cannot give one, its log forked\n"),
              stdout);
    json_decref(rows);
    return 0;
}

int main(int argc, char **argv)
{
    if (zb_cli_lang_init(argc, argv) != 0)
        return EXIT_USAGE;
    /* the command: the first argument after a leading --lang */
    int at = zb_cli_command_index(argc, argv);
    if (at >= argc || strcmp(argv[at], "--help") == 0 || strcmp(argv[at], "-h") == 0) {
        zb_witness_help(at >= argc ? stderr : stdout, NULL);
        return at >= argc ? EXIT_USAGE : 0;
    }
    if (zb_crypto_init() != 0)
        return EXIT_RUNTIME;
    static const struct {
        const char *name;
        int (*fn)(const args *);
        int level;
    } cmds[] = {{"init", cmd_init, ZB_LOG_WARN},
                {"add-log", cmd_add_log, ZB_LOG_WARN},
                {"serve", cmd_serve, ZB_LOG_INFO},
                {"status", cmd_status, ZB_LOG_WARN},
                {"evidence", cmd_evidence, ZB_LOG_WARN}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[at], cmds[i].name) != 0)
            continue;
        args a = {.cmd = cmds[i].name};
        if (parse_args(argc - at, argv + at, &a, cmds[i].level) != 0)
            return EXIT_USAGE;
        return cmds[i].fn(&a);
    }
    zb_cli_error("unknown command %s", argv[at]);
    zb_witness_help(stderr, NULL);
    return EXIT_USAGE;
}
