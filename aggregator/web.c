/*
 * web.c - `zhibao-agg web`: the prefecture dashboard's HTTP server (see
 * web.h). Routing and answers are in zb_web_answer, which knows nothing of
 * HTTP; the libmicrohttpd glue at the bottom only moves bytes and headers.
 */
#include "web.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "consolidate.h"
#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "query.h"
#include "render.h"
#include "report.h"
#include "rules.h"
#include "timefmt.h"

#define JSON_TYPE "application/json; charset=utf-8"

/* Headers on every answer: nothing runs that the dashboard did not ship. */
#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "             \
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"

/* ------------------------------------------------------------ answers */

typedef struct {
    unsigned status;
    const char *content_type;
    char *body;
    size_t len;
} answer;

/* Render doc exactly as `report ... --format json` prints it. */
static int answer_doc(answer *a, unsigned status, const json_t *doc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return ZB_ENOMEM;
    int rc = zb_render_print(f, "json", doc, ZB_FORMAT_JSON);
    if (fclose(f) != 0 && rc == 0)
        rc = ZB_ENOMEM;
    if (rc) {
        free(buf);
        return rc;
    }
    a->status = status;
    a->content_type = JSON_TYPE;
    a->body = buf;
    a->len = len;
    return ZB_OK;
}

static int answer_error(answer *a, unsigned status, const char *msg)
{
    json_t *doc = json_pack("{s:s}", "error", msg);
    if (!doc)
        return ZB_ENOMEM;
    int rc = answer_doc(a, status, doc);
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------ parameters */

typedef struct {
    zb_web_query_fn fn;
    void *ctx;
} query;

static const char *q_get(const query *q, const char *name)
{
    return q->fn ? q->fn(q->ctx, name) : NULL;
}

/* ------------------------------------------------------------ the reports */

/* A read transaction on agg's store (astore.h). */
typedef struct {
    zb_store *s;
    MDB_txn *txn;
} reading;

static int reading_begin(zb_agg *agg, reading *r)
{
    r->s = zb_agg_store(agg);
    return zb_store_begin(r->s, true, &r->txn);
}

/* /api/monthly, /api/matrix, /api/accidents, /api/indicators: the query
 * checked as the CLI checks it (query.h, in the API's wording), the report
 * built as `report KIND` builds it. A bad parameter is a 400 with the
 * first problem. */
static int api_report(zb_agg *agg, const char *kind, const query *q, answer *a, json_t **doc)
{
    int64_t now = (int64_t)time(NULL);
    zb_problems p = {0};
    zb_query rq;
    int rc = zb_query_parse(kind, q->fn, q->ctx, ZB_QUERY_API, now, &rq, &p);
    if (rc == ZB_EVALIDATION) {
        /* no line: out of memory while adding it */
        rc = p.n ? answer_error(a, 400, p.lines[0]) : ZB_ENOMEM;
    } else if (rc == ZB_OK) {
        reading r;
        if ((rc = reading_begin(agg, &r)) == ZB_OK) {
            rc = zb_consolidate_query(r.txn, r.s, &rq, now, doc);
            mdb_txn_abort(r.txn);
        }
    }
    zb_problems_free(&p);
    return rc;
}

/* /api/status: what `zhibao-agg status --json` lists per county (without
 * the keys), and the server's clock so the page shows the current period
 * as the prefecture sees it (+08:00). */
typedef struct {
    json_t *rows;
    uint64_t total;
} status_rows;

static int status_row(void *ctx, const zb_county_rec *rec)
{
    status_rows *st = ctx;
    const zb_county *c = zb_county_find(rec->county);
    json_t *row = json_pack("{s:s, s:s, s:I, s:I, s:o}", "county", rec->county, "name",
                            c ? c->name : "", "seq", (json_int_t)rec->acked_seq, "reports",
                            (json_int_t)rec->reports, "last_received_at",
                            rec->last_received_at ? zb_json_time(rec->last_received_at)
                                                  : json_null());
    if (!row || json_array_append_new(st->rows, row))
        return ZB_ENOMEM;
    st->total += rec->reports;
    return 0;
}

static int api_status(zb_agg *agg, json_t **doc)
{
    reading r;
    int rc = reading_begin(agg, &r);
    if (rc)
        return rc;
    json_t *root = json_object(), *rows = json_array();
    status_rows st = {rows, 0};
    rc = ZB_ENOMEM;
    if (!root || !rows)
        goto done;
    if ((rc = zb_astore_counties(r.s, r.txn, status_row, &st)))
        goto done;
    rc = ZB_ENOMEM;
    int64_t now = (int64_t)time(NULL);
    int y, m;
    zb_period_of(now, &y, &m);
    char period[16];
    snprintf(period, sizeof period, "%04d-%02d", y, m);
    if (json_object_set_new(root, "now", zb_json_time(now)) ||
        json_object_set_new(root, "current_period", json_string(period)) ||
        json_object_set_new(root, "year", json_integer(y)) ||
        json_object_set_new(root, "reports", json_integer((json_int_t)st.total)) ||
        json_object_set_new(root, "counties", rows))
        goto done;
    rows = NULL;
    *doc = root;
    root = NULL;
    rc = ZB_OK;
done:
    mdb_txn_abort(r.txn);
    json_decref(rows);
    json_decref(root);
    return rc;
}

/* One stored revision of the accident asked for. */
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    int64_t received_at;
    zb_accident_rev rev;
    json_t *report; /* zb_report_to_json: the revision as filed */
} rev_item;

typedef struct {
    rev_item *items;
    size_t n, cap;
} rev_list;

static void rev_list_free(rev_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->items[i].report);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

/* Every revision of county's accident id, as filed (one report decoded
 * per revision shown). */
static int revs_of_county(zb_store *st, MDB_txn *txn, const char *county, const char *id,
                          rev_list *l)
{
    zb_accident_entry *e;
    size_t n;
    int rc = zb_astore_accident_revisions(st, txn, county, id, &e, &n);
    if (rc)
        return rc == ZB_ENOTFOUND ? ZB_OK : rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Zb__Report *r;
        if ((rc = zb_astore_report_get(st, txn, county, e[i].seq, &r)))
            break;
        if (r->content_case != ZB__REPORT__CONTENT_ACCIDENT || !r->accident ||
            !r->accident->occurred_at || !r->accident->county_notified_at) {
            zb__report__free_unpacked(r, NULL); /* the index says otherwise: `check` tells */
            rc = ZB_EDECODE;
            break;
        }
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 8;
            rev_item *p = realloc(l->items, cap * sizeof *p);
            if (p) {
                l->items = p;
                l->cap = cap;
            }
        }
        rev_item *it = l->n < l->cap ? &l->items[l->n] : NULL;
        if (it) {
            memset(it, 0, sizeof *it);
            memcpy(it->county, county, ZB_COUNTY_LEN + 1);
            it->received_at = e[i].received_at;
            zb_accident_rev_of(r, e[i].seq, &it->rev);
            it->report = zb_report_to_json(r);
        }
        if (!it || !it->report)
            rc = ZB_ENOMEM;
        else
            l->n++;
        zb__report__free_unpacked(r, NULL);
    }
    free(e);
    return rc;
}

typedef struct {
    zb_store *s;
    MDB_txn *txn;
    const char *id;
    rev_list *l;
} revs_search;

static int revs_search_county(void *ctx, const zb_county_rec *rec)
{
    revs_search *q = ctx;
    return revs_of_county(q->s, q->txn, rec->county, q->id, q->l);
}

/* Every revision of accident id, of county (or of any county when county
 * is NULL). */
static int revs_collect(zb_store *st, MDB_txn *txn, const char *county, const char *id,
                        rev_list *l)
{
    if (county)
        return revs_of_county(st, txn, county, id, l);
    revs_search q = {st, txn, id, l};
    return zb_astore_counties(st, txn, revs_search_county, &q);
}

/* Revision order, as zb_accident_revs_sort. */
static int rev_item_cmp(const void *pa, const void *pb)
{
    const rev_item *a = pa, *b = pb;
    return zb_accident_rev_cmp(&a->rev, &b->rev);
}

/* /api/accidents/[COUNTY/]ID: {"county", "name", "accident_id",
 * "revisions", "grade", "report_to", "flags" (of the revision in force,
 * by the same rules as `report accidents`), "history": [{"revision",
 * "seq", "received_at", "grade", "report_to", "report": the revision as
 * filed}...] in revision order}. */
static int api_accident(zb_agg *agg, const char *county, const char *id, answer *a,
                        json_t **doc)
{
    zb_problems p = {0};
    if (zb_query_accident(county, id, &p) != ZB_OK) {
        /* no line: out of memory while adding it */
        int e = p.n ? answer_error(a, 400, p.lines[0]) : ZB_ENOMEM;
        zb_problems_free(&p);
        return e;
    }
    reading r;
    int rc = reading_begin(agg, &r);
    if (rc)
        return rc;
    rev_list l = {0};
    rc = revs_collect(r.s, r.txn, county, id, &l);
    mdb_txn_abort(r.txn);
    if (rc)
        goto done;
    if (l.n == 0) {
        rc = answer_error(a, 404, "no such accident");
        goto done;
    }
    for (size_t i = 1; i < l.n; i++)
        if (strcmp(l.items[i].county, l.items[0].county) != 0) {
            rc = answer_error(a, 400, "accident id: filed by several counties; ask for "
                                      "/api/accidents/COUNTY/ID");
            goto done;
        }
    qsort(l.items, l.n, sizeof *l.items, rev_item_cmp);
    zb_accident_rev *revs = calloc(l.n, sizeof *revs);
    json_t *history = json_array(), *flags = json_array();
    rc = ZB_ENOMEM;
    if (!revs || !history || !flags) {
        free(revs);
        json_decref(history);
        json_decref(flags);
        goto done;
    }
    for (size_t i = 0; i < l.n; i++)
        revs[i] = l.items[i].rev;
    unsigned f = zb_accident_flags(revs, l.n);
    free(revs);
    int e = 0;
    for (unsigned i = 0; i < ZB_FLAG_COUNT; i++)
        if (f & (1u << i))
            e |= json_array_append_new(flags, json_string(zb_accident_flag_name(i)));
    for (size_t i = 0; i < l.n; i++) {
        const rev_item *it = &l.items[i];
        zb_grade g = zb_accident_rev_grade(&it->rev);
        json_t *h = json_pack("{s:I, s:I, s:o, s:s, s:s, s:O}", "revision",
                              (json_int_t)it->rev.revision, "seq", (json_int_t)it->rev.seq,
                              "received_at", zb_json_time(it->received_at), "grade",
                              zb_grade_name(g), "report_to", zb_grade_report_to(g), "report",
                              it->report);
        e |= !h || json_array_append_new(history, h);
    }
    const zb_accident_rev *in_force = &l.items[l.n - 1].rev;
    zb_grade g = zb_accident_rev_grade(in_force);
    const zb_county *c = zb_county_find(l.items[0].county);
    json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:o}", "county",
                          l.items[0].county, "name", c ? c->name : "", "accident_id", id,
                          "revisions", (json_int_t)l.n, "grade", zb_grade_name(g), "report_to",
                          zb_grade_report_to(g), "flags", flags, "history", history);
    if (!d || e) {
        json_decref(d);
        goto done;
    }
    *doc = d;
    rc = ZB_OK;
done:
    rev_list_free(&l);
    return rc;
}

/* ------------------------------------------------------------ routing */

static bool token_ok(const char *token, const char *authorization, const query *q)
{
    if (!token)
        return true;
    const char *given = NULL;
    if (authorization && strncasecmp(authorization, "Bearer ", 7) == 0) /* RFC 7235: any case */
        given = authorization + 7;
    else
        given = q_get(q, "token");
    if (!given)
        return false;
    size_t n = strlen(token);
    return strlen(given) == n && sodium_memcmp(given, token, n) == 0;
}

static int route_api(zb_agg *agg, const char *path, const query *q, answer *a)
{
    json_t *doc = NULL;
    int rc;
    const char *rest;
    if (strcmp(path, "status") == 0)
        rc = api_status(agg, &doc);
    else if (strcmp(path, "monthly") == 0 || strcmp(path, "matrix") == 0 ||
             strcmp(path, "accidents") == 0 || strcmp(path, "indicators") == 0)
        rc = api_report(agg, path, q, a, &doc);
    else if (strncmp(path, "accidents/", 10) == 0 && *(rest = path + 10)) {
        const char *slash = strchr(rest, '/');
        if (slash && slash - rest == ZB_COUNTY_LEN && !strchr(slash + 1, '/')) {
            char county[ZB_COUNTY_LEN + 1];
            memcpy(county, rest, ZB_COUNTY_LEN);
            county[ZB_COUNTY_LEN] = '\0';
            rc = api_accident(agg, county, slash + 1, a, &doc);
        } else if (!slash) {
            rc = api_accident(agg, q_get(q, "county"), rest, a, &doc);
        } else {
            rc = answer_error(a, 404, "no such path");
        }
    } else
        rc = answer_error(a, 404, "no such path");
    if (rc == 0 && doc)
        rc = answer_doc(a, 200, doc);
    json_decref(doc);
    return rc;
}

int zb_web_answer(zb_agg *agg, const char *token, const char *method, const char *path,
                  zb_web_query_fn query_fn, void *query_ctx, const char *authorization,
                  unsigned *status, const char **content_type, char **body, size_t *len)
{
    answer a = {0};
    query q = {query_fn, query_ctx};
    int rc;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        rc = answer_error(&a, 405, "method not allowed: GET or HEAD only");
    } else if (strncmp(path, "/api/", 5) == 0) {
        if (!token_ok(token, authorization, &q))
            rc = answer_error(&a, 401, "token required: Authorization: Bearer TOKEN or ?token=");
        else
            rc = route_api(agg, path + 5, &q, &a);
    } else {
        rc = answer_error(&a, 404, "no such path");
        for (size_t i = 0; rc == 0 && i < zb_web_assets_count; i++) {
            const zb_web_asset *as = &zb_web_assets[i];
            if (strcmp(path, as->path) != 0 &&
                !(strcmp(as->path, "/") == 0 && strcmp(path, "/index.html") == 0))
                continue;
            char *copy = malloc(as->len ? as->len : 1);
            if (!copy) {
                rc = ZB_ENOMEM;
                break;
            }
            memcpy(copy, as->data, as->len);
            free(a.body);
            a = (answer){200, as->content_type, copy, as->len};
            break;
        }
    }
    if (rc) {
        /* a store error: say so without detail (details are in the log) */
        free(a.body);
        a = (answer){0};
        ZB_WARN("ZB-WEB-ERROR", "%s: %s", path, zb_strerror(rc));
        if (rc == ZB_ENOMEM || answer_error(&a, 500, zb_strerror(rc)) != 0)
            return ZB_ENOMEM;
    }
    *status = a.status;
    *content_type = a.content_type;
    *body = a.body;
    *len = a.len;
    return ZB_OK;
}

/* ------------------------------------------------------------ HTTP */

struct zb_web {
    struct MHD_Daemon *daemon;
    zb_agg *agg;
    char *token;
};

static const char *mhd_query(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **req)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req;
    zb_web *w = cls;
    unsigned status;
    const char *type;
    char *body;
    size_t len;
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (zb_web_answer(w->agg, w->token, method, url, mhd_query, conn, auth, &status, &type, &body,
                      &len) != 0)
        return MHD_NO; /* out of memory: drop the connection */
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    if (status == 405)
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
    if (status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    ZB_DEBUG("ZB-WEB-REQUEST", "%s %s -> %u", method, url, status);
    return r;
}

/* Split "HOST:PORT" / "[V6]:PORT" into a socket address. */
static int listen_parse(const char *listen, struct sockaddr_storage *ss, bool *v6)
{
    char host[64], port[8];
    const char *colon = strrchr(listen, ':');
    if (!colon || !colon[1] || strlen(colon + 1) >= sizeof port)
        return ZB_EINVAL;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof host)
        return ZB_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    memcpy(port, colon + 1, strlen(colon + 1) + 1); /* length checked above */
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return ZB_EINVAL;
    if (atoi(port) > 65535)
        return ZB_EINVAL;
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return ZB_EINVAL;
    if (res->ai_addrlen > sizeof *ss) {
        freeaddrinfo(res);
        return ZB_EINVAL;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return ZB_OK;
}

int zb_web_listen_is_loopback(const char *listen)
{
    struct sockaddr_storage ss;
    bool v6;
    if (listen_parse(listen, &ss, &v6) != 0)
        return 0;
    if (v6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
    }
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
    return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
}

int zb_web_start(zb_web **out, zb_agg *agg, const char *listen, const char *token)
{
    *out = NULL;
    struct sockaddr_storage ss;
    bool v6;
    if (listen_parse(listen, &ss, &v6) != 0)
        return ZB_EINVAL;
    zb_web *w = calloc(1, sizeof *w);
    if (!w)
        return ZB_ENOMEM;
    w->agg = agg;
    if (token && !(w->token = strdup(token))) {
        free(w);
        return ZB_ENOMEM;
    }
    unsigned port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                             : ((struct sockaddr_in *)&ss)->sin_port);
    w->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | (v6 ? MHD_USE_IPv6 : 0),
                                 (uint16_t)port, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR,
                                 (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 64u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!w->daemon) {
        zb_web_stop(&w);
        return ZB_ENET;
    }
    *out = w;
    return ZB_OK;
}

unsigned zb_web_port(const zb_web *w)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void zb_web_stop(zb_web **pw)
{
    zb_web *w = pw ? *pw : NULL;
    if (!w)
        return;
    if (w->daemon)
        MHD_stop_daemon(w->daemon);
    if (w->token) {
        sodium_memzero(w->token, strlen(w->token));
        free(w->token);
    }
    free(w);
    *pw = NULL;
}
