/* upstream.c - see upstream.h. */
#include "upstream.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "consolidate.h"
#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "logleaf.h"
#include "node.h"
#include "relay.h"
#include "report.h"
#include "rules.h"
#include "sync.h"
#include "timefmt.h"
#include "tlog.h"
#include "treehead.h"

/* A relay report holds at most this many bytes of leaves with their paths
 * and framing (RELAYED_SIZE): the report cap less room for the head and
 * the header the node fills in. */
#define RELAY_BYTES_MAX (ZB_REPORT_MAX - 4u * 1024u)
/* What one relayed leaf adds to a report, over-estimated: its bytes, each
 * 32-byte path hash with its tag and length, and the leaf's own framing. */
#define RELAYED_SIZE(l) ((l)->leaf.len + (l)->n_path * (ZB_HASH_LEN + 2) + 32)
/* Leaves of the log a pass decides at most (its relays are built in
 * memory and stored in one transaction). */
#define PASS_LEAVES_MAX 4096u
/* How often a pass looks for summaries due when the log did not grow (s). */
#define SUMMARY_CHECK_S 60
/* Periods looked back for summaries (2 years). */
#define SUMMARY_PERIODS_MAX 24

const char *zb_forward_name(zb_forward f)
{
    return f == ZB_FORWARD_ALL ? "all" : "statutory";
}

int zb_forward_parse(const char *s, zb_forward *f)
{
    if (s && strcmp(s, "all") == 0)
        *f = ZB_FORWARD_ALL;
    else if (s && strcmp(s, "statutory") == 0)
        *f = ZB_FORWARD_STATUTORY;
    else
        return ZB_EINVAL;
    return ZB_OK;
}

static int upstream_path(const char *dir, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/" ZB_UPSTREAM_DIR, dir) < (int)cap ? ZB_OK : ZB_EINVAL;
}

static bool upstream_exists(const char *path)
{
    char kp[4200];
    struct stat st;
    return snprintf(kp, sizeof kp, "%s/" ZB_IDENTITY_FILE, path) < (int)sizeof kp &&
           stat(kp, &st) == 0;
}

typedef struct {
    zb_store *s;
    zb_forward forward;
} forward_job;

static int forward_write(void *ctx, MDB_txn *txn)
{
    const forward_job *j = ctx;
    return zb_astore_forward_put(j->s, txn, (int)j->forward);
}

/* One write transaction (zb_store_write: the map grown if it is full). */
static int forward_put(zb_agg *a, zb_forward forward)
{
    forward_job j = {zb_agg_store(a), forward};
    return zb_store_write(j.s, forward_write, &j);
}

/* A county whose key is not in the log as a key event (enrolled before
 * log version 2) cannot be relayed: the province knows the counties' keys
 * only from their key events. */
typedef struct {
    zb_store *s;
    MDB_txn *txn;
    char *missing; /* the first such county */
} keyed_ctx;

static int has_event(void *ctx, uint64_t index)
{
    (void)index;
    *(bool *)ctx = true;
    return 1; /* one is enough */
}

static int county_keyed(void *ctx, const zb_county_rec *rec)
{
    keyed_ctx *k = ctx;
    bool any = false;
    int rc = zb_astore_key_events(k->s, k->txn, rec->county, has_event, &any);
    if (rc < 0)
        return rc;
    if (!any) {
        memcpy(k->missing, rec->county, ZB_COUNTY_LEN + 1);
        return 1;
    }
    return 0;
}

int zb_upstream_unkeyed_county(zb_agg *a, char county[ZB_COUNTY_LEN + 1])
{
    county[0] = '\0';
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    keyed_ctx k = {zb_agg_store(a), txn, county};
    rc = zb_astore_counties(zb_agg_store(a), txn, county_keyed, &k);
    mdb_txn_abort(txn);
    return rc < 0 ? rc : ZB_OK;
}

int zb_upstream_configure(zb_agg *a, const char *dir, const char *endpoint,
                          const char *prov_key_hex, zb_forward forward, bool *created)
{
    *created = false;
    uint8_t key[ZB_PK_LEN];
    if (zb_agg_level(a) != ZB_LEVEL_PREFECTURE || !endpoint || !*endpoint ||
        strlen(endpoint) >= 256 || zb_hex_decode(prov_key_hex, key, sizeof key) != 0)
        return ZB_EINVAL;
    char path[4200];
    int rc = upstream_path(dir, path, sizeof path);
    if (rc)
        return rc;
    if (upstream_exists(path)) {
        zb_node *n = NULL;
        if ((rc = zb_node_open(&n, path, true)))
            return rc;
        bool same = memcmp(zb_node_aggregator_key(n), key, ZB_PK_LEN) == 0;
        zb_node_close(&n);
        if (!same)
            return ZB_EEXIST;
        if ((rc = zb_node_set_endpoint(path, endpoint)))
            return rc;
    } else {
        char pk[2 * ZB_PK_LEN + 1];
        if ((rc = zb_node_create_as(path, zb_agg_code(a), endpoint, prov_key_hex,
                                    zb_agg_identity(a), pk)))
            return rc;
        *created = true;
    }
    if (forward == ZB_FORWARD_KEEP && !*created)
        return ZB_OK; /* the mode stays as it was */
    return forward_put(a, forward == ZB_FORWARD_ALL ? ZB_FORWARD_ALL : ZB_FORWARD_STATUTORY);
}

int zb_upstream_info_get(zb_agg *a, const char *dir, zb_upstream_info *out)
{
    memset(out, 0, sizeof *out);
    char path[4200];
    if (upstream_path(dir, path, sizeof path) || !upstream_exists(path))
        return ZB_OK;
    zb_node *n = NULL;
    int rc = zb_node_open(&n, path, true);
    if (rc)
        return rc;
    zb_node_status st;
    if ((rc = zb_node_get_status(n, &st)) == 0) {
        out->configured = true;
        snprintf(out->endpoint, sizeof out->endpoint, "%s", st.endpoint);
        zb_hex_encode(st.agg_key, ZB_PK_LEN, out->province_key);
        out->stored = st.stored;
        out->acked = st.acked;
        out->receipted = st.receipts;
    }
    zb_node_close(&n);
    MDB_txn *txn;
    int fwd = 0;
    if (rc == 0 && (rc = zb_store_begin(zb_agg_store(a), true, &txn)) == 0) {
        rc = zb_astore_forward_get(zb_agg_store(a), txn, &fwd);
        mdb_txn_abort(txn);
    }
    out->forward = fwd ? ZB_FORWARD_ALL : ZB_FORWARD_STATUTORY;
    return rc;
}

/* ------------------------------------------------------------ the relayer */

typedef struct {
    uint64_t *v;
    size_t n, cap;
} index_list;

static int index_add(index_list *l, uint64_t i)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        uint64_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return ZB_ENOMEM;
        l->v = nv, l->cap = cap;
    }
    l->v[l->n++] = i;
    return ZB_OK;
}

typedef struct {
    int period;
    uint8_t hash[ZB_SHA256_LEN];
} sent_summary;

typedef struct {
    zb_agg *a;
    zb_node *node;
    zb_forward forward;
    uint64_t cursor; /* the log's leaves below it are decided */
    uint64_t proven; /* the size of the head the last relay carried: the province's */
    sent_summary *sent;
    size_t n_sent, cap_sent;
    int64_t last_summary_check;
    /* every log index in the outbox's relays, ascending: none goes twice,
     * even when the mode changed between the passes that chose them */
    index_list relayed;
} relayer;

static int u64_cmp(const void *a, const void *b);

static bool relayed_has(const relayer *r, uint64_t index)
{
    return r->relayed.n &&
           bsearch(&index, r->relayed.v, r->relayed.n, sizeof *r->relayed.v, u64_cmp) != NULL;
}

static int summary_hash_of(const Zb__PeriodSummary *m, uint8_t out[ZB_SHA256_LEN])
{
    size_t len = zb__period_summary__get_packed_size(m);
    uint8_t *b = malloc(len ? len : 1);
    if (!b)
        return ZB_ENOMEM;
    zb__period_summary__pack(m, b);
    zb_sha256(b, len, out);
    free(b);
    return ZB_OK;
}

static int sent_set(relayer *r, int period, const uint8_t hash[ZB_SHA256_LEN])
{
    for (size_t i = 0; i < r->n_sent; i++)
        if (r->sent[i].period == period) {
            memcpy(r->sent[i].hash, hash, ZB_SHA256_LEN);
            return ZB_OK;
        }
    if (r->n_sent == r->cap_sent) {
        size_t cap = r->cap_sent ? 2 * r->cap_sent : 16;
        sent_summary *ns = realloc(r->sent, cap * sizeof *ns);
        if (!ns)
            return ZB_ENOMEM;
        r->sent = ns, r->cap_sent = cap;
    }
    r->sent[r->n_sent].period = period;
    memcpy(r->sent[r->n_sent++].hash, hash, ZB_SHA256_LEN);
    return ZB_OK;
}

static const uint8_t *sent_get(const relayer *r, int period)
{
    for (size_t i = 0; i < r->n_sent; i++)
        if (r->sent[i].period == period)
            return r->sent[i].hash;
    return NULL;
}

/* The report of one of the outbox's envelopes (free with
 * zb__report__free_unpacked). 0 or ZB_EDECODE. */
static int outbox_report(const zb_node_report *nr, Zb__Report **out)
{
    const uint8_t *rep;
    size_t rep_len;
    *out = NULL;
    if (zb_envelope_report_view(nr->envelope, nr->envelope_len, &rep, &rep_len) != 0)
        return ZB_EDECODE;
    return zb_report_decode(rep, rep_len, out) == 0 ? ZB_OK : ZB_EDECODE;
}

/* What the outbox holds already: the head size the last relay went to,
 * and each period's last summary. */
static int take_stored(void *ctx, const zb_node_report *nr)
{
    relayer *r = ctx;
    Zb__Report *rp;
    if (outbox_report(nr, &rp) != 0)
        return ZB_EDECODE;
    int rc = ZB_OK, y, m;
    zb_tree_head head;
    if (rp->content_case == ZB__REPORT__CONTENT_RELAY &&
        zb_tree_head_verify(rp->relay->tree_head, zb_agg_identity(r->a)->pk, &head) == 0) {
        if (head.size > r->cursor)
            r->cursor = r->proven = head.size;
        for (size_t i = 0; rc == 0 && i < rp->relay->n_leaves; i++)
            rc = index_add(&r->relayed, rp->relay->leaves[i]->log_index);
    } else if (rp->content_case == ZB__REPORT__CONTENT_SUMMARY &&
               zb_period_parse(rp->summary->period, &y, &m) == 0) {
        uint8_t h[ZB_SHA256_LEN];
        if ((rc = summary_hash_of(rp->summary, h)) == 0)
            rc = sent_set(r, zb_period_ordinal(y, m), h);
    }
    zb__report__free_unpacked(rp, NULL);
    return rc;
}

/* ---- which leaves go up */

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The highest grade (max_grade) revs[0..k) -- the first k revisions in
 * seq order -- had reached when the last of them was received. */
static int max_grade_of(const zb_accident_entry *revs, size_t k, zb_grade *out)
{
    zb_accident_rev *copy = malloc(k * sizeof *copy);
    if (!copy)
        return ZB_ENOMEM;
    memcpy(copy, revs, k * sizeof *copy);
    int64_t at = revs[k - 1].received_at;
    zb_accident_revs_sort(copy, k);
    zb_accident_stats st;
    zb_accident_stats_of(copy, k, at, &st);
    *out = st.max_grade;
    free(copy);
    return ZB_OK;
}

/* The first revision (index into revs[0..k), seq order) at which the
 * accident's highest grade, judged on the revisions so far when it was
 * received, reached 较大; k when none did. Routing follows the highest
 * grade ever reached: a later correction (a smaller figure, an earlier
 * occurred_at moving the window) does not take it back. */
static int first_larger(const zb_accident_entry *revs, size_t k, size_t *first)
{
    *first = k;
    for (size_t j = 1; j <= k; j++) {
        zb_grade g;
        int rc = max_grade_of(revs, j, &g);
        if (rc)
            return rc;
        if (g >= ZB_GRADE_LARGER) {
            *first = j - 1;
            return ZB_OK;
        }
    }
    return ZB_OK;
}

/* For an accident revision (county, seq): whether it goes up, and when it
 * is the one that made the accident 较大 or above, the revisions before
 * it, which go up with it. For anything else: nothing. */
static int statutory(zb_agg *a, MDB_txn *txn, const char *county, uint64_t seq, index_list *out)
{
    zb_store *s = zb_agg_store(a);
    /* most leaves are monthly reports or 一般 accidents: the content's kind
     * is read from the stored bytes before anything is decoded */
    zb_stored_env e;
    const uint8_t *bytes;
    size_t len;
    int rc = zb_astore_envelope_get(s, txn, county, seq, &e);
    if (rc)
        return rc;
    if (zb_envelope_report_view(e.env, e.len, &bytes, &len) != 0 ||
        zb_report_content_kind(bytes, len) != ZB__REPORT__CONTENT_ACCIDENT)
        return ZB_OK;
    Zb__Report *rep = NULL;
    if ((rc = zb_report_decode(bytes, len, &rep)))
        return rc;
    if (!rep->accident->accident_id) {
        zb__report__free_unpacked(rep, NULL);
        return ZB_OK;
    }
    zb_accident_entry *revs = NULL;
    size_t n = 0, k = 0;
    rc = zb_astore_accident_revisions(s, txn, county, rep->accident->accident_id, &revs, &n);
    zb__report__free_unpacked(rep, NULL);
    if (rc)
        return rc == ZB_ENOTFOUND ? ZB_OK : rc;
    while (k < n && revs[k].seq <= seq) /* seq order: this one and those before */
        k++;
    size_t first = 0;
    if (k == 0 || revs[k - 1].seq != seq || (rc = first_larger(revs, k, &first)))
        goto done;
    if (first == k)
        goto done; /* never 较大 so far */
    /* the revision that made it 较大 takes those before it along; any
     * later one goes up alone (they went up before) */
    for (size_t i = first + 1 == k ? 0 : k - 1; rc == 0 && i < k; i++) {
        uint64_t index;
        if ((rc = zb_tlog_index_of(zb_agg_tlog(a), txn, county, revs[i].seq, &index)) == 0)
            rc = index_add(out, index);
    }
done:
    free(revs);
    return rc;
}

/* ---- building reports */

/* Heap-built reports and everything they point to. */
typedef struct {
    Zb__Report **reports;
    size_t n, cap;
} report_set;

static void relay_free(Zb__Relay *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n_leaves; i++) {
        Zb__RelayedLeaf *l = rl->leaves[i];
        free(l->leaf.data);
        for (size_t j = 0; j < l->n_path; j++)
            free(l->path[j].data);
        free(l->path);
        free(l);
    }
    free(rl->leaves);
    free(rl);
}

static void summary_free(Zb__PeriodSummary *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_counties; i++) {
        free(m->counties[i]->county);
        free(m->counties[i]->stats);
        free(m->counties[i]);
    }
    free(m->counties);
    free(m->period);
    free(m->deadline);
    free(m);
}

/* Free the reports from keep on (report_set_free: all of them). */
static void report_set_truncate(report_set *rs, size_t keep)
{
    for (size_t i = keep; i < rs->n; i++) {
        Zb__Report *r = rs->reports[i];
        if (r->content_case == ZB__REPORT__CONTENT_RELAY) {
            if (r->relay)
                free(r->relay->tree_head); /* shared: the pass's head, freed by the caller */
            relay_free(r->relay);
        } else {
            summary_free(r->summary);
        }
        free(r->county); /* the header zb_node_submit filled in */
        free(r->prev_hash.data);
        free(r);
    }
    rs->n = keep < rs->n ? keep : rs->n;
}

static void report_set_free(report_set *rs)
{
    report_set_truncate(rs, 0);
    free(rs->reports);
    memset(rs, 0, sizeof *rs);
}

static Zb__Report *report_new(report_set *rs)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 8;
        Zb__Report **nr = realloc(rs->reports, cap * sizeof *nr);
        if (!nr)
            return NULL;
        rs->reports = nr, rs->cap = cap;
    }
    Zb__Report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    zb__report__init(r);
    r->version = ZB_REPORT_VERSION_RELAY;
    rs->reports[rs->n++] = r;
    return r;
}

/* One relayed leaf: its bytes and its path against a head of size n. */
static int leaf_make(zb_agg *a, MDB_txn *txn, uint64_t index, uint64_t n, Zb__RelayedLeaf **out)
{
    *out = NULL;
    zb_agg_leaf leaf;
    int rc = zb_agg_leaf_get(a, txn, index, &leaf);
    if (rc) {
        zb_agg_leaf_free(&leaf);
        return rc;
    }
    uint8_t path[ZB_MERKLE_MAX_PROOF][ZB_HASH_LEN];
    size_t count = 0;
    Zb__RelayedLeaf *l = calloc(1, sizeof *l);
    if (!l || (rc = zb_tlog_inclusion(zb_agg_tlog(a), txn, n, index, path, &count)))
        goto fail;
    zb__relayed_leaf__init(l);
    l->log_index = index;
    rc = ZB_ENOMEM;
    if (!(l->leaf.data = malloc(leaf.len ? leaf.len : 1)))
        goto fail;
    memcpy(l->leaf.data, leaf.bytes, leaf.len);
    l->leaf.len = leaf.len;
    if (count && !(l->path = calloc(count, sizeof *l->path)))
        goto fail;
    for (size_t i = 0; i < count; i++, l->n_path++) {
        if (!(l->path[i].data = malloc(ZB_HASH_LEN)))
            goto fail;
        memcpy(l->path[i].data, path[i], ZB_HASH_LEN);
        l->path[i].len = ZB_HASH_LEN;
    }
    zb_agg_leaf_free(&leaf);
    *out = l;
    return ZB_OK;
fail:
    zb_agg_leaf_free(&leaf);
    if (l) {
        free(l->leaf.data);
        for (size_t j = 0; j < l->n_path; j++)
            free(l->path[j].data);
        free(l->path);
        free(l);
    }
    return rc ? rc : ZB_ENOMEM;
}

/* Relay reports for the leaves idx (ascending), against head (size n):
 * at most ZB_RELAY_LEAVES_MAX leaves and RELAY_BYTES_MAX bytes each. Each
 * report gets its own copy of the head. */
static int relays_make(zb_agg *a, MDB_txn *txn, const index_list *idx,
                       const Zb__SignedTreeHead *head, uint64_t n,
                       Zb__ConsistencyProof *consistency, report_set *rs)
{
    Zb__Report *r = NULL;
    size_t bytes = 0;
    bool first = true;
    for (size_t i = 0; i < idx->n; i++) {
        Zb__RelayedLeaf *l;
        int rc = leaf_make(a, txn, idx->v[i], n, &l);
        if (rc)
            return rc;
        if (r && (r->relay->n_leaves == ZB_RELAY_LEAVES_MAX ||
                  bytes + RELAYED_SIZE(l) > RELAY_BYTES_MAX))
            r = NULL;
        if (!r) {
            Zb__Relay *rl = calloc(1, sizeof *rl);
            Zb__SignedTreeHead *h = calloc(1, sizeof *h);
            Zb__RelayedLeaf **leaves = calloc(ZB_RELAY_LEAVES_MAX, sizeof *leaves);
            if (!rl || !h || !leaves || !(r = report_new(rs))) {
                free(rl);
                free(h);
                free(leaves);
                free(l->leaf.data);
                for (size_t j = 0; j < l->n_path; j++)
                    free(l->path[j].data);
                free(l->path);
                free(l);
                return ZB_ENOMEM;
            }
            zb__relay__init(rl);
            rl->leaves = leaves;
            zb__signed_tree_head__init(h);
            h->tree_head = head->tree_head; /* borrowed from head: the caller's */
            h->signature = head->signature;
            rl->tree_head = h;
            /* the first proves the head extends the previous pass's; the
             * others share the head (borrowed: the caller's) */
            rl->consistency = first ? consistency : NULL;
            first = false;
            r->content_case = ZB__REPORT__CONTENT_RELAY;
            r->relay = rl;
            bytes = 0;
        }
        r->relay->leaves[r->relay->n_leaves++] = l;
        bytes += RELAYED_SIZE(l);
    }
    return ZB_OK;
}

/* ---- summaries */

static int earliest_period(void *ctx, const zb_monthly_version *v)
{
    int *p = ctx;
    if (*p < 0 || v->period < *p)
        *p = v->period;
    return 1; /* the first is the earliest of the county */
}

typedef struct {
    zb_store *s;
    MDB_txn *txn;
    int earliest;
} earliest_ctx;

static int county_earliest(void *ctx, const zb_county_rec *rec)
{
    earliest_ctx *e = ctx;
    int rc = zb_astore_monthly_versions(e->s, e->txn, rec->county, 0, INT32_MAX, earliest_period,
                                        &e->earliest);
    return rc == 1 ? 0 : rc;
}

static uint32_t json_u32(const json_t *o, const char *key, bool *has)
{
    const json_t *v = json_object_get(o, key);
    *has = json_is_integer(v) && json_integer_value(v) >= 0;
    return *has ? (uint32_t)json_integer_value(v) : 0;
}

/* The PeriodSummary of a monthly report document (consolidate.h). */
static int summary_of(const json_t *doc, const char *period, Zb__PeriodSummary **out)
{
    *out = NULL;
    Zb__PeriodSummary *m = calloc(1, sizeof *m);
    if (!m)
        return ZB_ENOMEM;
    zb__period_summary__init(m);
    const json_t *rows = json_object_get(doc, "rows");
    int64_t dl;
    int32_t off;
    int rc = ZB_ENOMEM;
    if (!(m->period = strdup(period)) || !(m->deadline = calloc(1, sizeof *m->deadline)))
        goto fail;
    zb__time__init(m->deadline);
    if (zb_time_parse(json_string_value(json_object_get(doc, "deadline")), &dl, &off) != 0) {
        rc = ZB_EDECODE;
        goto fail;
    }
    m->deadline->unix = dl;
    m->deadline->offset_min = off;
    size_t n = json_array_size(rows);
    if (n > ZB_SUMMARY_COUNTIES_MAX)
        n = ZB_SUMMARY_COUNTIES_MAX;
    if (n && !(m->counties = calloc(n, sizeof *m->counties)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        Zb__CountySummary *c = calloc(1, sizeof *c);
        if (!c)
            goto fail;
        zb__county_summary__init(c);
        m->counties[m->n_counties++] = c;
        const char *code = json_string_value(json_object_get(row, "county"));
        const char *status = json_string_value(json_object_get(row, "status"));
        if (!code || !status || !(c->county = strdup(code)))
            goto fail;
        c->status = strcmp(status, "on_time") == 0 ? ZB__FILING_STATUS__ON_TIME
                    : strcmp(status, "late") == 0  ? ZB__FILING_STATUS__LATE
                                                   : ZB__FILING_STATUS__MISSING;
        bool has;
        uint32_t versions = json_u32(row, "version", &has);
        if (versions) {
            c->has_versions = 1, c->versions = versions;
            const json_t *seq = json_object_get(row, "seq");
            if (json_is_integer(seq))
                c->has_seq = 1, c->seq = (uint64_t)json_integer_value(seq);
            int64_t t;
            if (zb_time_parse(json_string_value(json_object_get(row, "first_created_at")), &t,
                              NULL) == 0)
                c->has_first_created_at = 1, c->first_created_at = t;
        }
        c->tasks_not_started = json_u32(row, "tasks_not_started", &has);
        c->has_tasks_not_started = has;
        c->tasks_in_progress = json_u32(row, "tasks_in_progress", &has);
        c->has_tasks_in_progress = has;
        c->tasks_done = json_u32(row, "tasks_done", &has);
        c->has_tasks_done = has;
        /* the statistics of the version in force, as the report shows them */
        const ProtobufCMessageDescriptor *d = &zb__monthly_stats__descriptor;
        for (unsigned f = 0; versions && f < d->n_fields; f++) {
            const json_t *v = json_object_get(row, d->fields[f].name);
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                continue;
            if (!c->stats) {
                if (!(c->stats = calloc(1, sizeof *c->stats)))
                    goto fail;
                zb__monthly_stats__init(c->stats);
            }
            zb_stats_set(c->stats, f, (uint64_t)json_integer_value(v));
        }
    }
    *out = m;
    return ZB_OK;
fail:
    summary_free(m);
    return rc;
}

/* Summaries for every period whose deadline passed by now and whose
 * consolidated content differs from the one last relayed; *hashes gets
 * (period, hash) per report added, to remember once stored. */
static int summaries_make(relayer *r, MDB_txn *txn, int64_t now, report_set *rs,
                          sent_summary **hashes, size_t *n_hashes)
{
    zb_store *s = zb_agg_store(r->a);
    earliest_ctx e = {s, txn, -1};
    int rc = zb_astore_counties(s, txn, county_earliest, &e);
    if (rc || e.earliest < 0)
        return rc;
    int y, m;
    zb_period_of(now, &y, &m);
    int current = zb_period_ordinal(y, m);
    if (e.earliest > current)
        return ZB_OK; /* filed only for periods after now (clocks ahead): nothing due */
    int first =
        e.earliest > current - SUMMARY_PERIODS_MAX ? e.earliest : current - SUMMARY_PERIODS_MAX;
    *hashes = calloc((size_t)(current - first + 1), sizeof **hashes);
    if (!*hashes)
        return ZB_ENOMEM;
    for (int p = first; p <= current && rc == 0; p++) {
        int64_t dl;
        if ((rc = zb_astore_deadline_get(s, txn, p, &dl, NULL, NULL)))
            break;
        if (dl >= now)
            continue;
        int py = p / 12, pm = p % 12 + 1;
        char period[8];
        zb_period_format(py, pm, period, sizeof period);
        json_t *doc = NULL;
        Zb__PeriodSummary *sum = NULL;
        if ((rc = zb_consolidate_monthly(s, txn, py, pm, now, &doc)) ||
            (rc = summary_of(doc, period, &sum))) {
            json_decref(doc);
            break;
        }
        json_decref(doc);
        uint8_t h[ZB_SHA256_LEN];
        const uint8_t *last = sent_get(r, p);
        if ((rc = summary_hash_of(sum, h)) || (last && memcmp(last, h, ZB_SHA256_LEN) == 0)) {
            summary_free(sum);
            continue;
        }
        Zb__Report *rep = report_new(rs);
        if (!rep) {
            summary_free(sum);
            rc = ZB_ENOMEM;
            break;
        }
        rep->content_case = ZB__REPORT__CONTENT_SUMMARY;
        rep->summary = sum;
        (*hashes)[*n_hashes].period = p;
        memcpy((*hashes)[(*n_hashes)++].hash, h, ZB_SHA256_LEN);
    }
    return rc;
}

/* ---- one pass */

static int relay_pass(relayer *r, int64_t now, size_t *appended)
{
    *appended = 0;
    zb_agg *a = r->a;
    MDB_txn *txn;
    int rc = zb_store_begin(zb_agg_store(a), true, &txn);
    if (rc)
        return rc;
    uint64_t size = 0;
    Zb__SignedTreeHead *head = NULL;
    index_list idx = {0};
    report_set rs = {0};
    sent_summary *hashes = NULL;
    size_t n_hashes = 0;
    zb_tree_head th = {0};
    Zb__ConsistencyProof *consistency = NULL;
    int src;
    if ((rc = zb_tlog_size(zb_agg_tlog(a), txn, &size)))
        goto done;
    int fwd = 0; /* `upstream --forward` may change it while the relay runs */
    if ((rc = zb_astore_forward_get(zb_agg_store(a), txn, &fwd)))
        goto done;
    r->forward = fwd ? ZB_FORWARD_ALL : ZB_FORWARD_STATUTORY;
    bool grew = size > r->cursor;
    bool check_summaries = grew || now - r->last_summary_check >= SUMMARY_CHECK_S;
    if (grew) {
        /* at most PASS_LEAVES_MAX leaves a pass (a stored head bounds it): a
         * long log is relayed in steps, each its own transactions */
        rc = zb_tlog_head_after(zb_agg_tlog(a), txn, r->cursor, r->cursor + PASS_LEAVES_MAX, &head);
        if (rc == ZB_ENOTFOUND) {
            grew = false; /* no head over the new leaves yet: the next pass */
            rc = ZB_OK;
        } else if (rc || (rc = zb_tree_head_verify(head, zb_agg_identity(a)->pk, &th))) {
            goto done;
        }
    }
    if (grew) {
        for (uint64_t i = r->cursor; i < th.size && rc == 0; i++) {
            zb_leaf_kind kind;
            char county[ZB_COUNTY_LEN + 1];
            uint64_t seq;
            if ((rc = zb_tlog_entry(zb_agg_tlog(a), txn, i, &kind, county, &seq)))
                break;
            if (kind == ZB_LEAF_KEY_EVENT || r->forward == ZB_FORWARD_ALL)
                rc = index_add(&idx, i);
            else if (kind == ZB_LEAF_ENVELOPE)
                rc = statutory(a, txn, county, seq, &idx);
        }
        if (rc)
            goto done;
        /* earlier revisions join the pass: ascending, once each, and
         * none that an earlier pass relayed already */
        if (idx.n > 1)
            qsort(idx.v, idx.n, sizeof *idx.v, u64_cmp);
        size_t w = 0;
        for (size_t i = 0; i < idx.n; i++)
            if ((w == 0 || idx.v[i] != idx.v[w - 1]) && !relayed_has(r, idx.v[i]))
                idx.v[w++] = idx.v[i];
        idx.n = w;
        /* the province takes a head only as an extension of the one it
         * was relayed before (the cursor): proven here */
        if (idx.n && r->proven > 0 && r->proven < th.size &&
            (rc = zb_tlog_make_consistency(zb_agg_tlog(a), txn, r->proven, th.size, &consistency)))
            goto done;
        if ((rc = relays_make(a, txn, &idx, head, th.size, consistency, &rs)))
            goto done;
    }
    /* a summary that cannot be built does not hold back the relays (nor
     * go half: the summaries of this pass go all or none) */
    size_t n_relays = rs.n;
    if (check_summaries && (src = summaries_make(r, txn, now, &rs, &hashes, &n_hashes))) {
        ZB_ERR("ZB-RELAY-SUMMARY", "period summaries not built: %s (again at the next pass)",
               zb_strerror(src));
        report_set_truncate(&rs, n_relays);
        check_summaries = false;
        n_hashes = 0;
    }
    mdb_txn_abort(txn);
    txn = NULL;
    if (rs.n) {
        zb_problems p = {0};
        uint64_t first, last;
        rc = zb_node_submit(r->node, rs.reports, rs.n, now, false, &p, &first, &last);
        if (rc == ZB_EVALIDATION)
            ZB_ERR("ZB-RELAY-INVALID", "a relay report does not validate: %s",
                   p.n ? p.lines[0] : "?");
        zb_problems_free(&p);
        if (rc)
            goto done;
        *appended = rs.n;
        ZB_INFO("ZB-RELAY-QUEUED",
                "%zu report(s) queued for the province (seq %" PRIu64 "..%" PRIu64
                "; %zu leaves of the log up to %" PRIu64 ")",
                rs.n, first, last, idx.n, th.size);
    }
    /* decided up to the head; the province's head moves only with a relay
     * (after a restart the cursor starts again from the last relayed head:
     * what was decided to nothing is decided again, to nothing) */
    if (grew)
        r->cursor = th.size;
    if (grew && idx.n)
        r->proven = th.size;
    for (size_t i = 0; i < idx.n && rc == 0; i++)
        rc = index_add(&r->relayed, idx.v[i]);
    if (r->relayed.n > 1)
        qsort(r->relayed.v, r->relayed.n, sizeof *r->relayed.v, u64_cmp);
    if (check_summaries)
        r->last_summary_check = now;
    for (size_t i = 0; i < n_hashes && rc == 0; i++)
        rc = sent_set(r, hashes[i].period, hashes[i].hash);
done:
    if (txn)
        mdb_txn_abort(txn);
    report_set_free(&rs);
    if (consistency)
        zb__consistency_proof__free_unpacked(consistency, NULL);
    if (head)
        zb__signed_tree_head__free_unpacked(head, NULL);
    free(idx.v);
    free(hashes);
    return rc;
}

static int relayer_open(relayer *r, zb_agg *a, const char *dir, bool writable)
{
    memset(r, 0, sizeof *r);
    r->a = a;
    r->last_summary_check = INT64_MIN / 2;
    char path[4200];
    int rc = upstream_path(dir, path, sizeof path);
    if (rc)
        return rc;
    if (!upstream_exists(path))
        return ZB_ENOTFOUND;
    if ((rc = zb_node_open(&r->node, path, !writable)))
        return rc;
    /* the one relay per outbox: the lock first, then where it stands (a
     * relay that ran meanwhile has queued more) */
    long holder = 0;
    if (writable && (rc = zb_node_lock_sync(r->node, &holder)) != 0) {
        if (rc == ZB_ELOCKED)
            ZB_ERR("ZB-RELAY-LOCKED", "another relay (pid %ld) runs for %s", holder, dir);
        return rc;
    }
    MDB_txn *txn;
    int fwd = 0;
    if ((rc = zb_store_begin(zb_agg_store(a), true, &txn)) == 0) {
        rc = zb_astore_forward_get(zb_agg_store(a), txn, &fwd);
        mdb_txn_abort(txn);
    }
    r->forward = fwd ? ZB_FORWARD_ALL : ZB_FORWARD_STATUTORY;
    if (rc == 0)
        rc = zb_node_each_report(r->node, 1, 0, take_stored, r);
    if (rc == 0 && r->relayed.n > 1)
        qsort(r->relayed.v, r->relayed.n, sizeof *r->relayed.v, u64_cmp);
    return rc;
}

static void relayer_close(relayer *r)
{
    zb_node_close(&r->node); /* releases the lock */
    free(r->sent);
    free(r->relayed.v);
    r->sent = NULL;
    r->relayed = (index_list){0};
}

int zb_relay_pass_once(zb_agg *a, const char *dir, int64_t now, size_t *appended)
{
    relayer r;
    int rc = relayer_open(&r, a, dir, true);
    if (rc == 0)
        rc = relay_pass(&r, now, appended);
    relayer_close(&r);
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int zb_relay_run(zb_agg *a, const char *dir, bool once, double timeout_s)
{
    relayer r;
    int rc = relayer_open(&r, a, dir, true);
    if (rc) {
        relayer_close(&r);
        return rc;
    }
    ZB_INFO("ZB-RELAY-START",
            "relaying %s (%s) to the province, forward %s, from log size %" PRIu64, zb_agg_code(a),
            zb_level_name(zb_agg_level(a)), zb_forward_name(r.forward), r.cursor);
    int64_t backoff_until = 0;
    while (!zb_sync_stop) {
        int64_t now = (int64_t)time(NULL);
        size_t appended = 0;
        if ((rc = relay_pass(&r, now, &appended)) != 0) {
            ZB_ERR("ZB-RELAY-PASS", "relay pass failed: %s", zb_strerror(rc));
            if (once)
                break;
            sleep_ms(5000);
            continue;
        }
        zb_node_status st;
        if ((rc = zb_node_get_status(r.node, &st)))
            break;
        bool pending = st.acked < st.stored || st.receipts < st.stored;
        if (pending && (once || now >= backoff_until)) {
            zb_sync_opts o = {.once = true, .timeout_s = once ? timeout_s : 10.0};
            int sr = zb_sync_run(r.node, &o);
            if (once) {
                rc = sr;
                break;
            }
            if (sr < 0) {
                ZB_WARN("ZB-RELAY-SYNC", "sync with the province: %s (again in 10 s)",
                        zb_strerror(sr));
                backoff_until = now + 10;
            }
            continue;
        }
        if (once) {
            rc = ZB_SYNC_DONE;
            break;
        }
        sleep_ms(1000);
    }
    relayer_close(&r);
    return rc;
}

/* ------------------------------------------------------------ forwarded_at */

typedef struct {
    uint64_t log_index, upstream_seq;
} placed;

typedef struct {
    placed *v;
    size_t n, cap;
} placed_list;

static int take_placed(void *ctx, const zb_node_report *nr)
{
    placed_list *pl = ctx;
    Zb__Report *rp;
    if (outbox_report(nr, &rp) != 0)
        return ZB_EDECODE;
    int rc = ZB_OK;
    for (size_t i = 0;
         rp->content_case == ZB__REPORT__CONTENT_RELAY && rc == 0 && i < rp->relay->n_leaves; i++) {
        if (pl->n == pl->cap) {
            size_t cap = pl->cap ? 2 * pl->cap : 64;
            placed *nv = realloc(pl->v, cap * sizeof *nv);
            if (!nv) {
                rc = ZB_ENOMEM;
                break;
            }
            pl->v = nv, pl->cap = cap;
        }
        pl->v[pl->n++] = (placed){rp->relay->leaves[i]->log_index, nr->seq};
    }
    zb__report__free_unpacked(rp, NULL);
    return rc;
}

static int placed_cmp(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    return x->log_index < y->log_index ? -1 : x->log_index > y->log_index;
}

typedef struct {
    uint64_t first, last;
    int64_t received_at;
} receipt_span;

typedef struct {
    receipt_span *v;
    size_t n, cap;
} span_list;

static int take_span(void *ctx, const zb_node_receipt *rc)
{
    span_list *sl = ctx;
    if (rc->verify != 0)
        return 0; /* an invalid receipt proves nothing */
    if (sl->n == sl->cap) {
        size_t cap = sl->cap ? 2 * sl->cap : 32;
        receipt_span *nv = realloc(sl->v, cap * sizeof *nv);
        if (!nv)
            return ZB_ENOMEM;
        sl->v = nv, sl->cap = cap;
    }
    sl->v[sl->n++] = (receipt_span){rc->first_seq, rc->last_seq, rc->received_at};
    return 0;
}

static int span_cmp(const void *key, const void *elem)
{
    uint64_t seq = *(const uint64_t *)key;
    const receipt_span *sp = elem;
    return seq < sp->first ? -1 : seq > sp->last;
}

/* The rows of accidents that had to go up, with the revision that made it so. */
typedef struct {
    json_t *row;
    int64_t required_at;
    uint64_t index; /* that revision's leaf in the prefecture's log */
} required_row;

int zb_relay_annotate_accidents(zb_agg *a, MDB_txn *txn, const char *dir, int64_t now, json_t *doc)
{
    char path[4200];
    if (upstream_path(dir, path, sizeof path) || !upstream_exists(path))
        return ZB_OK;
    json_t *list = json_object_get(doc, "accidents");
    required_row *req = calloc(json_array_size(list) + 1, sizeof *req);
    if (!req)
        return ZB_ENOMEM;
    size_t n_req = 0, i;
    json_t *row;
    int rc = ZB_OK;
    /* first what the log says: which rows had to go up (the outbox is read
     * only when some did: it holds every relayed leaf) */
    json_array_foreach(list, i, row)
    {
        const char *county = json_string_value(json_object_get(row, "county"));
        const char *id = json_string_value(json_object_get(row, "accident_id"));
        zb_accident_entry *revs = NULL;
        size_t nr = 0, k = 0;
        if (!county || !id)
            continue;
        rc = zb_astore_accident_revisions(zb_agg_store(a), txn, county, id, &revs, &nr);
        if (rc == ZB_ENOTFOUND) {
            rc = ZB_OK;
            continue;
        }
        /* the revision that required forwarding: the first at which the
         * highest grade reached 较大 */
        if (rc == 0 && (rc = first_larger(revs, nr, &k)) == 0 && k < nr &&
            (rc = zb_tlog_index_of(zb_agg_tlog(a), txn, county, revs[k].seq,
                                   &req[n_req].index)) == 0)
            req[n_req].row = row, req[n_req++].required_at = revs[k].received_at;
        free(revs);
        if (rc)
            goto done;
        json_object_set_new(row, "forward_required", json_boolean(k < nr));
        json_object_set_new(row, "forward_required_at", json_null());
        json_object_set_new(row, "forwarded_at", json_null());
        json_object_set_new(row, "forward_late", json_false());
    }
    if (n_req == 0)
        goto done;
    zb_node *n = NULL;
    placed_list pl = {0};
    span_list sl = {0};
    if ((rc = zb_node_open(&n, path, true)) == 0 &&
        (rc = zb_node_each_report(n, 1, 0, take_placed, &pl)) == 0)
        rc = zb_node_each_receipt(n, take_span, &sl); /* in first_seq order */
    zb_node_close(&n);
    if (rc == 0 && pl.n > 1)
        qsort(pl.v, pl.n, sizeof *pl.v, placed_cmp);
    for (size_t r = 0; rc == 0 && r < n_req; r++) {
        placed key = {req[r].index, 0};
        const placed *p = pl.n ? bsearch(&key, pl.v, pl.n, sizeof *pl.v, placed_cmp) : NULL;
        const receipt_span *sp =
            p && sl.n ? bsearch(&p->upstream_seq, sl.v, sl.n, sizeof *sl.v, span_cmp) : NULL;
        int64_t acked_at = sp ? sp->received_at : 0;
        json_object_set_new(req[r].row, "forward_required_at", zb_json_time(req[r].required_at));
        if (acked_at)
            json_object_set_new(req[r].row, "forwarded_at", zb_json_time(acked_at));
        /* more than 2 h between the two, or 2 h gone by without it */
        json_object_set_new(req[r].row, "forward_late",
                            json_boolean((acked_at ? acked_at : now) - req[r].required_at >
                                         ZB_FORWARD_LIMIT_S));
    }
    free(pl.v);
    free(sl.v);
done:
    free(req);
    return rc;
}

/* ------------------------------------------------------------ serve's child */

struct zb_relay_supervisor {
    char *dir;
    char log_level[8];
    bool use_syslog;
    pthread_t tid;
    atomic_int stop;
    atomic_int child; /* the running relay's pid, 0 when none */
};

#define RELAY_PARENT_ENV "ZB_RELAY_PARENT"

bool zb_relay_parent_gone(void)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    const char *want = getenv(RELAY_PARENT_ENV);
    /* the parent may have died before prctl took effect */
    return want && strtol(want, NULL, 10) != (long)getppid();
}

static void *supervise(void *arg)
{
    zb_relay_supervisor *rs = arg;
    char self[4096], up[4200], parent[64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        ZB_ERR("ZB-RELAY-EXE", "cannot find this program (/proc/self/exe): nothing is relayed");
        return NULL;
    }
    self[n] = '\0';
    snprintf(up, sizeof up, "%s/" ZB_UPSTREAM_DIR "/" ZB_IDENTITY_FILE, rs->dir);
    /* the child's environment: this one, and who its parent is (see
     * zb_relay_parent_gone; no setenv: other threads of serve may read it) */
    extern char **environ;
    size_t n_env = 0;
    while (environ[n_env])
        n_env++;
    char **envp = calloc(n_env + 2, sizeof *envp);
    if (!envp) {
        ZB_ERR("ZB-RELAY-EXE", "out of memory: nothing is relayed");
        return NULL;
    }
    snprintf(parent, sizeof parent, RELAY_PARENT_ENV "=%ld", (long)getpid());
    for (size_t i = 0, j = 0; i < n_env; i++)
        if (strncmp(environ[i], RELAY_PARENT_ENV "=", sizeof RELAY_PARENT_ENV) != 0)
            envp[j++] = environ[i];
    for (size_t j = 0;; j++)
        if (!envp[j]) {
            envp[j] = parent;
            break;
        }
    while (!atomic_load(&rs->stop)) {
        if (access(up, F_OK) == 0) {
            char *argv[] = {self,
                            "relay",
                            "--dir",
                            rs->dir,
                            "--log-level",
                            rs->log_level,
                            rs->use_syslog ? "--syslog" : NULL,
                            NULL};
            pid_t pid;
            if (posix_spawn(&pid, self, NULL, NULL, argv, envp) == 0) {
                atomic_store(&rs->child, (int)pid);
                if (atomic_load(&rs->stop)) /* stopped while it started */
                    kill(pid, SIGTERM);
                int st = 0;
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                    ;
                atomic_store(&rs->child, 0);
                if (!atomic_load(&rs->stop))
                    ZB_WARN("ZB-RELAY-EXIT",
                            "the relay (pid %ld) ended (status %d): "
                            "restarting it in 5 s",
                            (long)pid, st);
            }
        }
        for (int i = 0; i < 50 && !atomic_load(&rs->stop); i++)
            sleep_ms(100);
    }
    free(envp);
    return NULL;
}

int zb_relay_supervisor_start(zb_relay_supervisor **out, const char *dir, bool use_syslog)
{
    *out = NULL;
    zb_relay_supervisor *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->dir = strdup(dir))) {
        free(rs);
        return ZB_ENOMEM;
    }
    snprintf(rs->log_level, sizeof rs->log_level, "%s",
             zb_log_enabled(ZB_LOG_DEBUG)  ? "debug"
             : zb_log_enabled(ZB_LOG_INFO) ? "info"
             : zb_log_enabled(ZB_LOG_WARN) ? "warn"
                                           : "error");
    rs->use_syslog = use_syslog;
    atomic_init(&rs->stop, 0);
    atomic_init(&rs->child, 0);
    if (pthread_create(&rs->tid, NULL, supervise, rs) != 0) {
        free(rs->dir);
        free(rs);
        return ZB_EIO;
    }
    *out = rs;
    return ZB_OK;
}

void zb_relay_supervisor_stop(zb_relay_supervisor **sp)
{
    if (!sp || !*sp)
        return;
    zb_relay_supervisor *rs = *sp;
    atomic_store(&rs->stop, 1);
    int child = atomic_load(&rs->child);
    if (child > 0)
        kill(child, SIGTERM);
    pthread_join(rs->tid, NULL);
    free(rs->dir);
    free(rs);
    *sp = NULL;
}
