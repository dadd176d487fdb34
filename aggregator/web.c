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
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "bulletin.h"
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
#define HTML_TYPE "text/html; charset=utf-8"

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
            it->rev = e[i];
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
    zb_accident_stats st;
    zb_accident_stats_of(revs, l.n, (int64_t)time(NULL), &st);
    free(revs);
    int e = 0;
    for (unsigned i = 0; i < ZB_FLAG_COUNT; i++)
        if (st.flags & (1u << i))
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
    /* grade and report_to as `report accidents` counts them (rules.h) */
    const zb_county *c = zb_county_find(l.items[0].county);
    const char *stage = zb_stage_name(st.stage), *category = zb_category_name(st.category);
    json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:b, s:o, s:o}",
                          "county", l.items[0].county, "name", c ? c->name : "", "accident_id",
                          id, "revisions", (json_int_t)l.n, "grade", zb_grade_name(st.grade),
                          "max_grade", zb_grade_name(st.max_grade), "report_to",
                          zb_grade_report_to(st.max_grade), "stage",
                          stage ? json_string(stage) : json_null(), "category",
                          category ? json_string(category) : json_null(), "counted_deaths",
                          (json_int_t)st.counted_deaths, "counted_missing",
                          (json_int_t)st.counted_missing, "written_off", st.written_off, "flags",
                          flags, "history", history);
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

/* /bulletin?period=YYYY-MM: the monthly bulletin, the bytes `zhibao-agg
 * report bulletin --period P` writes (bulletin.h: the same parser of the
 * period and the same builder). A bad period is a 400 {"error"}. */
static int page_bulletin(zb_agg *agg, const query *q, answer *a)
{
    int64_t now = (int64_t)time(NULL);
    zb_problems p = {0};
    int year, month;
    int rc = zb_bulletin_parse(q->fn, q->ctx, ZB_QUERY_API, now, &year, &month, &p);
    if (rc == ZB_EVALIDATION) {
        /* no line: out of memory while adding it */
        rc = p.n ? answer_error(a, 400, p.lines[0]) : ZB_ENOMEM;
    } else if (rc == ZB_OK) {
        reading r;
        char *html = NULL;
        size_t len = 0;
        if ((rc = reading_begin(agg, &r)) == ZB_OK) {
            rc = zb_bulletin_build(r.s, r.txn, year, month, now, &html, &len);
            mdb_txn_abort(r.txn);
        }
        if (rc == ZB_OK)
            *a = (answer){200, HTML_TYPE, html, len};
    }
    zb_problems_free(&p);
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
    } else if (strcmp(path, "/bulletin") == 0) {
        /* the page holds the store's data: the token rule of /api/ */
        if (!token_ok(token, authorization, &q))
            rc = answer_error(&a, 401, "token required: Authorization: Bearer TOKEN or ?token=");
        else
            rc = page_bulletin(agg, &q, &a);
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

/*
 * Slow and hostile clients (web.h, "Limits"). libmicrohttpd's connection
 * timeout is an idle timeout that every byte resets: a client sending one
 * header line every few seconds would hold its connection for ever. So the
 * request head has a deadline of its own, counted from accept (on a
 * kept-alive connection, from the end of the previous answer) whatever the
 * client keeps sending, and the sweeper thread closes the connections past
 * it. One address may hold only so many connections; the total is large
 * (epoll) and bounded by the descriptors the process may open.
 */
#define HEAD_DEADLINE_MS  10000u /* the whole request head, from accept */
#define IDLE_TIMEOUT_S    10u    /* while answering: nothing moved for this long */
#define PER_ADDRESS_LIMIT 64u    /* open connections from one IP address */
#define CONNECTION_LIMIT  4096u  /* in all, lowered to fit RLIMIT_NOFILE */
#define FD_RESERVE        64u    /* descriptors left for the store, epoll, the log */
#define SWEEP_MS          250u   /* how often the sweeper looks: deadline + 0.25 s at most */
#define SLOW_REPORT_MS    60000u /* at most one ZB-WEB-SLOW line a minute */

/* One TCP connection (libmicrohttpd's socket context), owned by the
 * callbacks: created at NOTIFY_STARTED, freed at NOTIFY_CLOSED. While it
 * waits for a request head it is on its server's waiting list. */
typedef struct web_conn {
    struct web_conn *prev, *next;
    int fd;                /* borrowed: libmicrohttpd closes it, after NOTIFY_CLOSED */
    int64_t head_since_ms; /* CLOCK_MONOTONIC: accept, or the end of the previous answer */
    bool waiting;          /* on the waiting list */
} web_conn;

struct zb_web {
    struct MHD_Daemon *daemon;
    zb_agg *agg;
    char *token;
    char nul_in_target; /* its address marks a request whose target holds %00 */
    /* lock guards everything below; libmicrohttpd's thread and the sweeper take it */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the sweeper's timer; signalled to stop it */
    pthread_t sweeper;
    bool lock_ready, sweeper_running, stopping;
    web_conn *oldest, *newest; /* waiting for a request head, oldest head_since_ms first */
    uint64_t cut;              /* connections cut since the last ZB-WEB-SLOW line */
    int64_t cut_reported_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Under w->lock. The clock is read under the lock, so the list stays in
 * head_since_ms order and the sweeper only ever looks at its front. */
static void waiting_push(zb_web *w, web_conn *c)
{
    c->head_since_ms = now_ms();
    c->next = NULL;
    c->prev = w->newest;
    if (w->newest)
        w->newest->next = c;
    else
        w->oldest = c;
    w->newest = c;
    c->waiting = true;
}

static void waiting_remove(zb_web *w, web_conn *c)
{
    if (!c->waiting)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->oldest = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        w->newest = c->prev;
    c->prev = c->next = NULL;
    c->waiting = false;
}

static web_conn *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    zb_web *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        web_conn *c = i ? calloc(1, sizeof *c) : NULL;
        *socket_context = c;
        if (!c) {
            /* no deadline could be kept for it: end it (libmicrohttpd reads the end) */
            if (i)
                shutdown(i->connect_fd, SHUT_RDWR);
            return;
        }
        c->fd = i->connect_fd;
        pthread_mutex_lock(&w->lock);
        waiting_push(w, c);
        pthread_mutex_unlock(&w->lock);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        web_conn *c = *socket_context;
        if (!c)
            return;
        pthread_mutex_lock(&w->lock);
        waiting_remove(w, c);
        pthread_mutex_unlock(&w->lock);
        *socket_context = NULL;
        free(c);
    }
}

/* The request head is complete (its handler runs): off the waiting list. */
static void head_complete(zb_web *w, struct MHD_Connection *conn)
{
    web_conn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&w->lock);
    waiting_remove(w, c);
    pthread_mutex_unlock(&w->lock);
}

/* An answer is done: a kept-alive connection now waits for its next head,
 * with a new deadline. (A closing one leaves the list at NOTIFY_CLOSED.) */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req,
                         enum MHD_RequestTerminationCode toe)
{
    (void)req;
    (void)toe;
    zb_web *w = cls;
    web_conn *c = conn_of(conn);
    if (!c)
        return;
    pthread_mutex_lock(&w->lock);
    waiting_remove(w, c);
    waiting_push(w, c);
    pthread_mutex_unlock(&w->lock);
}

/* The raw request target, before libmicrohttpd decodes it: %00 would
 * become a NUL that silently cuts a value, the token or the path short.
 * The mark becomes the request's *req in on_request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    zb_web *w = cls;
    return uri && strstr(uri, "%00") ? &w->nul_in_target : NULL;
}

/* The sweeper thread: closes every connection whose request head is past
 * its deadline. shutdown(), not close(): libmicrohttpd owns the descriptor,
 * sees the end of stream and closes the connection itself; the descriptor
 * is still open here because libmicrohttpd closes it only after
 * NOTIFY_CLOSED, which needs the lock held now. */
static void *sweeper_main(void *arg)
{
    zb_web *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stopping) {
        int64_t now = now_ms();
        while (w->oldest && now - w->oldest->head_since_ms >= (int64_t)HEAD_DEADLINE_MS) {
            web_conn *c = w->oldest;
            waiting_remove(w, c);
            shutdown(c->fd, SHUT_RDWR);
            w->cut++;
        }
        if (w->cut && now - w->cut_reported_ms >= (int64_t)SLOW_REPORT_MS) {
            ZB_WARN("ZB-WEB-SLOW",
                    "%" PRIu64 " connection(s) closed: no complete request head within %u s",
                    w->cut, HEAD_DEADLINE_MS / 1000);
            w->cut = 0;
            w->cut_reported_ms = now;
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)SWEEP_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

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
    zb_web *w = cls;
    head_complete(w, conn);
    unsigned status;
    const char *type;
    char *body;
    size_t len;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (get && *req == &w->nul_in_target) {
        /* a bad parameter, refused before the token is compared (it could be
         * the token that %00 cuts short); 405 still comes first */
        answer a = {0};
        if (answer_error(&a, 400, "request target: %00 (NUL) is not allowed") != 0)
            return MHD_NO;
        status = a.status;
        type = a.content_type;
        body = a.body;
        len = a.len;
    } else {
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (zb_web_answer(w->agg, w->token, method, url, mhd_query, conn, auth, &status, &type,
                          &body, &len) != 0)
            return MHD_NO; /* out of memory: drop the connection */
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    /* the bulletin is a page of its own: its one inline stylesheet (by
     * hash, bulletin.h) and nothing else, besides what every answer denies */
    char policy[192], bulletin_csp[256];
    if (strcmp(url, "/bulletin") == 0 && zb_bulletin_csp(policy, sizeof policy) == ZB_OK &&
        snprintf(bulletin_csp, sizeof bulletin_csp, "%s; frame-ancestors 'none'", policy) <
            (int)sizeof bulletin_csp) {
        MHD_add_response_header(resp, "Content-Security-Policy", bulletin_csp);
    } else {
        MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    }
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

/* CONNECTION_LIMIT, or fewer when the process may not open that many
 * descriptors (one per connection, FD_RESERVE kept for the rest). */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return CONNECTION_LIMIT;
    if (rl.rlim_cur < 2 * (rlim_t)FD_RESERVE)
        return FD_RESERVE / 2;
    rlim_t n = rl.rlim_cur - FD_RESERVE;
    return n < CONNECTION_LIMIT ? (unsigned)n : CONNECTION_LIMIT;
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

/* w->lock, and w->wake on CLOCK_MONOTONIC (the sweeper's clock). 0 or
 * ZB_ENOMEM, with nothing left to destroy. */
static int lock_init(zb_web *w)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return ZB_ENOMEM;
    int rc = ZB_ENOMEM;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
        pthread_mutex_init(&w->lock, NULL) == 0) {
        if (pthread_cond_init(&w->wake, &ca) == 0)
            rc = ZB_OK;
        else
            pthread_mutex_destroy(&w->lock);
    }
    pthread_condattr_destroy(&ca);
    return rc;
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
    if (lock_init(w) != ZB_OK) {
        zb_web_stop(&w);
        return ZB_ENOMEM;
    }
    w->lock_ready = true;
    unsigned port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                             : ((struct sockaddr_in *)&ss)->sin_port);
    /* epoll: thousands of connections at the cost of one; ITC: the polling
     * thread wakes at once on stop, even with the listen socket out of its
     * set (at the connection limit) */
    unsigned flags =
        MHD_USE_ITC | (v6 ? MHD_USE_IPv6 : 0) |
        (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL_INTERNAL_THREAD
                                                                : MHD_USE_POLL_INTERNAL_THREAD);
    unsigned limit = connection_limit();
    unsigned per_address = PER_ADDRESS_LIMIT < limit ? PER_ADDRESS_LIMIT : limit;
    w->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, w, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_URI_LOG_CALLBACK, on_uri, w,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address,
        MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (!w->daemon) {
        zb_web_stop(&w);
        return ZB_ENET;
    }
    if (pthread_create(&w->sweeper, NULL, sweeper_main, w) != 0) {
        zb_web_stop(&w);
        return ZB_ENOMEM;
    }
    w->sweeper_running = true;
    ZB_INFO("ZB-WEB-LIMITS",
            "request head within %u s; %u connections, %u per address; idle %u s while answering",
            HEAD_DEADLINE_MS / 1000, limit, per_address, IDLE_TIMEOUT_S);
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
    if (w->sweeper_running) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->sweeper, NULL);
    }
    /* closes every connection: NOTIFY_CLOSED frees each web_conn */
    if (w->daemon)
        MHD_stop_daemon(w->daemon);
    if (w->lock_ready) {
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
    }
    if (w->token) {
        sodium_memzero(w->token, strlen(w->token));
        free(w->token);
    }
    free(w);
    *pw = NULL;
}
