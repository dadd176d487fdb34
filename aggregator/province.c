/* province.c - see province.h. */
#include "province.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "envelope.h"
#include "err.h"
#include "i18n.h"
#include "relay.h"
#include "treehead.h"
#include "report.h"
#include "timefmt.h"

#define WHY(...) snprintf(why, why_len, __VA_ARGS__)

/* A county's keys: the index's, then those of key events earlier in the
 * relay being accepted (not indexed yet). */
#define OVERLAY_MAX ZB_RELAY_LEAVES_MAX
typedef struct {
    char county[ZB_COUNTY_LEN + 1];
    zb_relay_key k;
} overlay_key;

typedef struct {
    overlay_key keys[OVERLAY_MAX];
    size_t n;
    char claimed[OVERLAY_MAX][ZB_COUNTY_LEN + 1]; /* counties this relay claims */
    size_t n_claimed;
    struct {
        char county[ZB_COUNTY_LEN + 1];
        uint64_t seq;
        uint8_t hash[ZB_SHA256_LEN];
    } envs[OVERLAY_MAX]; /* county envelopes earlier in this relay */
    size_t n_envs;
} overlay;

typedef struct {
    zb_relay_key *keys;
    size_t n, cap;
} key_list;

static int collect_key(void *ctx, const zb_relay_key *k)
{
    key_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        zb_relay_key *nk = realloc(l->keys, cap * sizeof *nk);
        if (!nk)
            return ZB_ENOMEM;
        l->keys = nk, l->cap = cap;
    }
    l->keys[l->n++] = *k;
    return 0;
}

/* county's keys (index + overlay), epoch order (acceptance keeps the
 * epochs 0, 1, 2 ... without a gap); on success free l->keys, on an error
 * nothing is held. */
static int keys_of(zb_store *s, MDB_txn *txn, const overlay *o, const char *county, key_list *l)
{
    memset(l, 0, sizeof *l);
    int rc = zb_astore_relay_keys(s, txn, county, collect_key, l);
    for (size_t i = 0; rc == 0 && i < o->n; i++) {
        if (strcmp(o->keys[i].county, county) != 0)
            continue;
        const zb_relay_key *k = &o->keys[i].k;
        if (k->epoch < l->n)
            l->keys[k->epoch] = *k; /* a revocation in this relay */
        else
            rc = collect_key(l, k);
    }
    if (rc) {
        free(l->keys);
        memset(l, 0, sizeof *l);
    }
    return rc;
}

/* Whose county: the index's claim, or this relay's. */
static int owner_of(zb_store *s, MDB_txn *txn, const overlay *o, const char *county,
                    const char *prefecture, bool *ours, bool *known)
{
    char pref[ZB_COUNTY_LEN + 1];
    int rc = zb_astore_relay_county_get(s, txn, county, pref);
    if (rc == 0) {
        *known = true;
        *ours = strcmp(pref, prefecture) == 0;
        return ZB_OK;
    }
    if (rc != ZB_ENOTFOUND)
        return rc;
    *known = *ours = false;
    for (size_t i = 0; i < o->n_claimed; i++)
        if (strcmp(o->claimed[i], county) == 0)
            *known = *ours = true;
    return ZB_OK;
}

/* The highest seq of county relayed so far: the index's, or an envelope
 * earlier in this relay. */
static int last_relayed_seq(zb_store *s, MDB_txn *txn, const overlay *o, const char *county,
                            uint64_t *seq)
{
    int rc = zb_astore_relay_last_seq(s, txn, county, seq);
    for (size_t i = 0; rc == 0 && i < o->n_envs; i++)
        if (strcmp(o->envs[i].county, county) == 0 && o->envs[i].seq > *seq)
            *seq = o->envs[i].seq;
    return rc;
}

/* A county's key history as the prefecture's log must have kept it
 * (agg.c enroll_key, revoke_in): epoch 0 signs from seq 1; each later key
 * from the seq after the one before it was revoked at, and never a key the
 * county had before; a revocation names the active key and a last seq no
 * lower than anything relayed of the county; a key event relayed again
 * must be the same. */
static int accept_key_event(zb_store *s, MDB_txn *txn, overlay *o, const char *prefecture,
                            const zb_relayed *l, Zb__ErrorCode *code, char *why, size_t why_len)
{
    const Zb__KeyEvent *e = l->key_event;
    if (e->has_vouched) { /* vouching is for a province's members, not counties */
        WHY("leaf %" PRIu64 ": county %s key enrolled without its signed request (vouched)",
            l->log_index, e->county);
        return 1;
    }
    if (!zb_county_in_prefecture(e->county, prefecture)) {
        *code = ZB__ERROR_CODE__NOT_ENROLLED;
        WHY("leaf %" PRIu64 ": county %s is not a county of prefecture %s", l->log_index, e->county,
            prefecture);
        return 1;
    }
    bool ours, known;
    int rc = owner_of(s, txn, o, e->county, prefecture, &ours, &known);
    if (rc)
        return rc;
    if (known && !ours) {
        *code = ZB__ERROR_CODE__NOT_ENROLLED;
        WHY("leaf %" PRIu64 ": county %s is relayed by another prefecture", l->log_index,
            e->county);
        return 1;
    }
    key_list kl;
    if ((rc = keys_of(s, txn, o, e->county, &kl)))
        return rc;
    int verdict = 0;
    zb_relay_key k = {.epoch = e->epoch, .first_seq = e->seq};
    memcpy(k.key, e->key.data, ZB_PK_LEN);
    if (e->kind == ZB__KEY_EVENT_KIND__ENROLLED) {
        bool reused = false;
        for (size_t i = 0; i < kl.n && i < e->epoch; i++)
            reused |= memcmp(kl.keys[i].key, k.key, ZB_PK_LEN) == 0;
        uint64_t want_seq = kl.n == 0 ? 1 : kl.keys[kl.n - 1].last_seq + 1;
        if (e->epoch < kl.n && memcmp(kl.keys[e->epoch].key, k.key, ZB_PK_LEN) == 0 &&
            kl.keys[e->epoch].first_seq == e->seq) {
            verdict = -1; /* relayed before: nothing new */
        } else if (e->epoch != kl.n || (kl.n && !kl.keys[kl.n - 1].revoked) || reused ||
                   e->seq != want_seq) {
            WHY("leaf %" PRIu64 ": county %s key epoch %u from seq %" PRIu64
                " does not follow its %zu known key(s)",
                l->log_index, e->county, e->epoch, e->seq, kl.n);
            verdict = 1;
        }
    } else {
        uint64_t last = 0;
        if (e->epoch >= kl.n || memcmp(kl.keys[e->epoch].key, k.key, ZB_PK_LEN) != 0) {
            WHY("leaf %" PRIu64 ": county %s revokes key epoch %u, which was never relayed",
                l->log_index, e->county, e->epoch);
            verdict = 1;
        } else if (kl.keys[e->epoch].revoked) {
            if (kl.keys[e->epoch].last_seq == e->seq) {
                verdict = -1; /* relayed before */
            } else {
                WHY("leaf %" PRIu64 ": county %s key epoch %u was revoked after seq %" PRIu64
                    ", not %" PRIu64,
                    l->log_index, e->county, e->epoch, kl.keys[e->epoch].last_seq, e->seq);
                verdict = 1;
            }
        } else if ((rc = last_relayed_seq(s, txn, o, e->county, &last)) == 0 &&
                   (e->seq + 1 < kl.keys[e->epoch].first_seq || e->seq < last)) {
            WHY("leaf %" PRIu64 ": county %s key epoch %u revoked after seq %" PRIu64
                ", before what it signed (seq %" PRIu64 " relayed)",
                l->log_index, e->county, e->epoch, e->seq, last);
            verdict = 1;
        } else {
            k = kl.keys[e->epoch];
            k.revoked = true;
            k.last_seq = e->seq;
        }
    }
    free(kl.keys);
    if (rc)
        return rc;
    if (verdict)
        return verdict > 0 ? 1 : 0;
    if (o->n == OVERLAY_MAX)
        return ZB_ENOMEM; /* cannot happen: one overlay entry per leaf */
    snprintf(o->keys[o->n].county, sizeof o->keys[o->n].county, "%s", e->county);
    o->keys[o->n++].k = k;
    if (!known)
        snprintf(o->claimed[o->n_claimed++], ZB_COUNTY_LEN + 1, "%s", e->county);
    return 0;
}

static int accept_envelope(zb_store *s, MDB_txn *txn, overlay *o, const char *prefecture,
                           const zb_relayed *l, Zb__ErrorCode *code, char *why, size_t why_len)
{
    Zb__Envelope *env = NULL;
    Zb__Report *r = NULL;
    int rc = zb_envelope_open(l->envelope, l->envelope_len, &env, &r);
    if (rc) {
        *code = rc == ZB_EBADSIG ? ZB__ERROR_CODE__BAD_SIGNATURE : ZB__ERROR_CODE__INVALID_REPORT;
        WHY("leaf %" PRIu64 ": the county envelope does not open (%s)", l->log_index,
            zb_strerror(rc));
        return 1;
    }
    int verdict = 0;
    bool ours = false, known = false;
    bool under = zb_county_in_prefecture(r->county, prefecture);
    if (under && (rc = owner_of(s, txn, o, r->county, prefecture, &ours, &known)))
        goto done;
    if (!ours) {
        *code = ZB__ERROR_CODE__NOT_ENROLLED;
        WHY("leaf %" PRIu64 ": county %s %s%s", l->log_index, r->county,
            !under  ? "is not a county of prefecture "
            : known ? "is relayed by another prefecture"
                    : "has no relayed key event",
            !under ? prefecture : "");
        verdict = 1;
        goto done;
    }
    key_list kl;
    if ((rc = keys_of(s, txn, o, r->county, &kl)))
        goto done;
    bool signer_ok = false;
    for (size_t i = 0; i < kl.n; i++) {
        const zb_relay_key *k = &kl.keys[i];
        if (memcmp(k->key, env->signer.data, ZB_PK_LEN) == 0 && r->seq >= k->first_seq &&
            (!k->revoked || r->seq <= k->last_seq))
            signer_ok = true;
    }
    free(kl.keys);
    if (!signer_ok) {
        *code = ZB__ERROR_CODE__NOT_ENROLLED;
        WHY("leaf %" PRIu64 ": county %s seq %" PRIu64 " is not signed by the county's key "
            "for that seq",
            l->log_index, r->county, r->seq);
        verdict = 1;
        goto done;
    }
    zb_problems p = {0};
    zb_report_validate(r, "", &p);
    if (p.n) {
        *code = ZB__ERROR_CODE__INVALID_REPORT;
        WHY("leaf %" PRIu64 ": county %s seq %" PRIu64 ": %s", l->log_index, r->county, r->seq,
            p.lines[0]);
        verdict = 1;
    }
    zb_problems_free(&p);
    if (verdict)
        goto done;
    uint8_t h[ZB_SHA256_LEN];
    zb_report_hash(env->report.data, env->report.len, h);
    for (size_t i = 0; i < o->n_envs; i++)
        if (o->envs[i].seq == r->seq && strcmp(o->envs[i].county, r->county) == 0 &&
            memcmp(o->envs[i].hash, h, ZB_SHA256_LEN) != 0) {
            *code = ZB__ERROR_CODE__EQUIVOCATION;
            WHY("leaf %" PRIu64 ": county %s seq %" PRIu64 " is in this relay twice with other "
                "content",
                l->log_index, r->county, r->seq);
            verdict = 1;
            goto done;
        }
    if (o->n_envs < OVERLAY_MAX) {
        snprintf(o->envs[o->n_envs].county, sizeof o->envs[o->n_envs].county, "%s", r->county);
        o->envs[o->n_envs].seq = r->seq;
        memcpy(o->envs[o->n_envs++].hash, h, ZB_SHA256_LEN);
    }
    zb_relay_env old;
    rc = zb_astore_relay_env_get(s, txn, r->county, r->seq, &old);
    if (rc == 0) {
        if (memcmp(h, old.report_hash, ZB_SHA256_LEN) != 0) {
            *code = ZB__ERROR_CODE__EQUIVOCATION;
            WHY("leaf %" PRIu64 ": county %s seq %" PRIu64 " was relayed before with other "
                "content",
                l->log_index, r->county, r->seq);
            verdict = 1;
        }
    } else if (rc != ZB_ENOTFOUND) {
        goto done;
    }
    rc = ZB_OK;
done:
    if (r)
        zb__report__free_unpacked(r, NULL);
    if (env)
        zb__envelope__free_unpacked(env, NULL);
    return rc ? rc : verdict;
}

int zb_province_accept(zb_store *s, MDB_txn *txn, const zb_county_rec *rec, const Zb__Report *r,
                       Zb__ErrorCode *code, char *why, size_t why_len)
{
    *code = ZB__ERROR_CODE__INVALID_REPORT;
    why[0] = '\0';
    overlay *o = calloc(1, sizeof *o);
    if (!o)
        return ZB_ENOMEM;
    int rc = 0;
    if (r->content_case == ZB__REPORT__CONTENT_SUMMARY) {
        for (size_t i = 0; rc == 0 && i < r->summary->n_counties; i++) {
            bool ours = false, known = false;
            const char *c = r->summary->counties[i]->county;
            bool under = zb_county_in_prefecture(c, rec->county);
            if (under)
                rc = owner_of(s, txn, o, c, rec->county, &ours, &known);
            if (rc == 0 && !under) {
                *code = ZB__ERROR_CODE__NOT_ENROLLED;
                WHY("summary: county %s is not a county of prefecture %s", c, rec->county);
                rc = 1;
            } else if (rc == 0 && !ours) {
                WHY("summary: county %s %s", c,
                    known ? "is relayed by another prefecture" : "has no relayed key event");
                rc = 1;
            }
        }
        free(o);
        return rc;
    }
    zb_tree_head head;
    zb_relayed *l = NULL;
    size_t n = 0;
    char reason[200];
    rc = zb_relay_open(r->relay, rec->key, &head, &l, &n, reason, sizeof reason);
    if (rc == ZB_ENOMEM) {
        free(o);
        return rc;
    }
    if (rc) {
        *code = rc == ZB_EBADSIG ? ZB__ERROR_CODE__BAD_SIGNATURE : ZB__ERROR_CODE__INVALID_REPORT;
        WHY("relay: %s", reason);
        free(o);
        return 1;
    }
    /* the head extends the one the previous relay proved against */
    zb_relay_state st;
    if ((rc = zb_astore_relay_state(s, txn, rec->county, &st)) == 0 && st.head_size > 0) {
        const Zb__ConsistencyProof *p = r->relay->consistency;
        zb_tree_head prev = {.size = st.head_size};
        memcpy(prev.root, st.head_root, ZB_HASH_LEN);
        if (head.size < st.head_size ||
            (head.size == st.head_size && memcmp(head.root, st.head_root, ZB_HASH_LEN) != 0)) {
            *code = ZB__ERROR_CODE__BAD_CHAIN;
            WHY("relay: its head (size %" PRIu64 ") is not the prefecture's log as relayed "
                "before (size %" PRIu64 ")",
                head.size, st.head_size);
            rc = 1;
        } else if (head.size > st.head_size &&
                   (!p || p->old_size != st.head_size || p->new_size != head.size ||
                    zb_consistency_verify_pb(p, &prev, &head) != 0)) {
            *code = ZB__ERROR_CODE__BAD_CHAIN;
            WHY("relay: its head (size %" PRIu64 ") is not proven to extend the one relayed "
                "before (size %" PRIu64 ")",
                head.size, st.head_size);
            rc = 1;
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (l[i].kind == ZB_RELAYED_KEY_EVENT)
            rc = accept_key_event(s, txn, o, rec->county, &l[i], code, why, why_len);
        else if (l[i].kind == ZB_RELAYED_ENVELOPE)
            rc = accept_envelope(s, txn, o, rec->county, &l[i], code, why, why_len);
    }
    zb_relayed_free(l, n);
    free(o);
    return rc;
}

/* ------------------------------------------------------------ check */

typedef struct {
    zb_store *s;
    MDB_txn *txn;
    void (*finding)(void *ctx, const char *line);
    void *ctx;
    long findings;
    uint64_t relays, envelopes;
} check_ctx;

static void check_say(check_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check_say(check_ctx *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->finding(c->ctx, line);
    c->findings++;
}

static int check_relay_env(check_ctx *c, const char *prefecture, uint64_t seq, const zb_relayed *l)
{
    Zb__Envelope *env = NULL;
    Zb__Report *r = NULL;
    int vr = zb_envelope_open(l->envelope, l->envelope_len, &env, &r);
    if (vr) {
        check_say(c,
                  _("prefecture %s seq %" PRIu64 ": relayed envelope at its log index %" PRIu64
                    " does not verify (%s)"),
                  prefecture, seq, l->log_index, zb_strerror(vr));
        return ZB_OK;
    }
    c->envelopes++;
    key_list kl;
    overlay none = {0};
    int rc = keys_of(c->s, c->txn, &none, r->county, &kl);
    bool ok = false;
    for (size_t i = 0; rc == 0 && i < kl.n; i++)
        if (memcmp(kl.keys[i].key, env->signer.data, ZB_PK_LEN) == 0 &&
            r->seq >= kl.keys[i].first_seq &&
            (!kl.keys[i].revoked || r->seq <= kl.keys[i].last_seq))
            ok = true;
    free(kl.keys);
    if (rc == 0 && !ok)
        check_say(c,
                  _("county %s seq %" PRIu64 " (relayed by %s): not signed by the county's "
                    "key for that seq"),
                  r->county, r->seq, prefecture);
    zb__report__free_unpacked(r, NULL);
    zb__envelope__free_unpacked(env, NULL);
    return rc;
}

static int check_member_env(void *ctx, const zb_stored_env *e)
{
    check_ctx *c = ctx;
    const uint8_t *rep;
    size_t rep_len;
    Zb__Report *r = NULL;
    if (zb_envelope_report_view(e->env, e->len, &rep, &rep_len) != 0 ||
        zb_report_decode(rep, rep_len, &r) != 0)
        return ZB_OK; /* zb_agg_check reports an undecodable envelope */
    int rc = ZB_OK;
    if (r->content_case == ZB__REPORT__CONTENT_RELAY) {
        uint8_t key[ZB_PK_LEN];
        if ((rc = zb_astore_key_for_seq(c->s, c->txn, e->county, e->seq, key)) == ZB_ENOTFOUND) {
            rc = ZB_OK;
            check_say(c, _("prefecture %s seq %" PRIu64 ": no enrolled key signs that seq"),
                      e->county, e->seq);
        } else if (rc == 0) {
            zb_tree_head head;
            zb_relayed *l = NULL;
            size_t n = 0;
            char why[200];
            int vr = zb_relay_open(r->relay, key, &head, &l, &n, why, sizeof why);
            c->relays++;
            if (vr == ZB_ENOMEM)
                rc = vr;
            else if (vr)
                check_say(c, _("prefecture %s seq %" PRIu64 ": relay does not verify: %s"),
                          e->county, e->seq, why);
            for (size_t i = 0; vr == 0 && rc == 0 && i < n; i++)
                if (l[i].kind == ZB_RELAYED_ENVELOPE)
                    rc = check_relay_env(c, e->county, e->seq, &l[i]);
            zb_relayed_free(l, n);
        }
    }
    zb__report__free_unpacked(r, NULL);
    return rc;
}

long zb_province_check(zb_store *s, MDB_txn *txn, void (*finding)(void *ctx, const char *line),
                       void *ctx)
{
    check_ctx c = {s, txn, finding, ctx, 0, 0, 0};
    int rc = zb_astore_envelopes(s, txn, NULL, check_member_env, &c);
    return rc ? rc : c.findings;
}

/* ------------------------------------------------------------ monthly */

static int put(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        return ZB_ENOMEM;
    return ZB_OK;
}

typedef struct {
    size_t n;
    zb_summary_version first, last;
} summary_seen;

static int summary_take(void *ctx, const zb_summary_version *v)
{
    summary_seen *ss = ctx;
    if (ss->n++ == 0)
        ss->first = *v;
    ss->last = *v;
    return 0;
}

static const char *filing_name(Zb__FilingStatus f)
{
    switch (f) {
    case ZB__FILING_STATUS__ON_TIME: return "on_time";
    case ZB__FILING_STATUS__LATE: return "late";
    default: return "missing";
    }
}

typedef struct {
    zb_store *s;
    MDB_txn *txn;
    int period;
    int64_t due;
    json_t *prefectures, *rows;
    unsigned by_status[3];
} pmonthly_ctx;

static int county_rows(pmonthly_ctx *c, const char *prefecture, const Zb__PeriodSummary *m,
                       json_t *pref_row)
{
    unsigned counts[4] = {0};
    int rc = 0;
    for (size_t i = 0; i < m->n_counties; i++) {
        const Zb__CountySummary *cs = m->counties[i];
        json_t *row = json_object();
        if (!row)
            return ZB_ENOMEM;
        const zb_county *known = zb_county_find(cs->county);
        counts[cs->status <= 3 ? cs->status : 3]++;
        rc |= put(row, "prefecture", json_string(prefecture));
        rc |= put(row, "county", json_string(cs->county));
        rc |= put(row, "name", json_string(known ? known->name : ""));
        rc |= put(row, "status", json_string(filing_name(cs->status)));
        rc |= put(row, "versions", json_integer(cs->has_versions ? cs->versions : 0));
        rc |= put(row, "seq", cs->has_seq ? json_integer((json_int_t)cs->seq) : json_null());
        rc |= put(row, "first_created_at",
                  cs->has_first_created_at ? zb_json_time(cs->first_created_at) : json_null());
        rc |= put(row, "tasks_done", json_integer(cs->has_tasks_done ? cs->tasks_done : 0));
        rc |= put(row, "tasks_in_progress",
                  json_integer(cs->has_tasks_in_progress ? cs->tasks_in_progress : 0));
        rc |= put(row, "tasks_not_started",
                  json_integer(cs->has_tasks_not_started ? cs->tasks_not_started : 0));
        const ProtobufCMessageDescriptor *d = &zb__monthly_stats__descriptor;
        for (unsigned f = 0; f < d->n_fields; f++) {
            uint64_t v;
            bool has = cs->stats && zb_stats_get(cs->stats, f, &v);
            rc |= put(row, d->fields[f].name, has ? json_integer((json_int_t)v) : json_null());
        }
        rc |= json_array_append_new(c->rows, row) ? ZB_ENOMEM : 0;
    }
    rc |= put(pref_row, "counties", json_integer((json_int_t)m->n_counties));
    rc |= put(pref_row, "on_time", json_integer(counts[ZB__FILING_STATUS__ON_TIME]));
    rc |= put(pref_row, "late", json_integer(counts[ZB__FILING_STATUS__LATE]));
    rc |= put(pref_row, "missing", json_integer(counts[ZB__FILING_STATUS__MISSING]));
    return rc ? ZB_ENOMEM : ZB_OK;
}

static int pmonthly_member(void *ctx, const zb_county_rec *rec)
{
    pmonthly_ctx *c = ctx;
    summary_seen ss = {0};
    int rc = zb_astore_summaries(c->s, c->txn, rec->county, c->period, summary_take, &ss);
    if (rc)
        return rc;
    json_t *row = json_object();
    if (!row)
        return ZB_ENOMEM;
    /* judged on when the province received the first summary: its own
     * clock, not the prefecture's signed one */
    int status = ss.n == 0 ? 0 : ss.first.received_at <= c->due ? 1 : 2;
    c->by_status[status]++;
    rc |= put(row, "prefecture", json_string(rec->county));
    rc |= put(row, "status",
              json_string(status == 0   ? "missing"
                          : status == 1 ? "on_time"
                                        : "late"));
    rc |= put(row, "created_at", ss.n ? zb_json_time(ss.first.created_at) : json_null());
    rc |= put(row, "received_at", ss.n ? zb_json_time(ss.first.received_at) : json_null());
    rc |= put(row, "summaries", json_integer((json_int_t)ss.n));
    rc |= put(row, "latest_seq", ss.n ? json_integer((json_int_t)ss.last.outer_seq) : json_null());
    if (rc) {
        json_decref(row);
        return ZB_ENOMEM;
    }
    if (ss.n) {
        Zb__Report *r = NULL;
        if ((rc = zb_astore_report_get(c->s, c->txn, rec->county, ss.last.outer_seq, &r)) == 0) {
            if (r->content_case == ZB__REPORT__CONTENT_SUMMARY)
                rc = county_rows(c, rec->county, r->summary, row);
            zb__report__free_unpacked(r, NULL);
        }
    } else {
        rc = put(row, "counties", json_integer(0));
    }
    if (rc || json_array_append_new(c->prefectures, row)) {
        if (!rc)
            return ZB_ENOMEM;
        json_decref(row);
        return rc;
    }
    return ZB_OK;
}

int zb_province_monthly(zb_store *s, MDB_txn *txn, int year, int month, int64_t now, json_t **out)
{
    *out = NULL;
    int64_t dl;
    int rc = zb_astore_deadline_get(s, txn, zb_period_ordinal(year, month), &dl, NULL, NULL);
    if (rc)
        return rc;
    pmonthly_ctx c = {s,
                      txn,
                      zb_period_ordinal(year, month),
                      dl + ZB_SUMMARY_GRACE_S,
                      json_array(),
                      json_array(),
                      {0}};
    json_t *doc = json_object(), *totals = json_object();
    char period[8];
    zb_period_format(year, month, period, sizeof period);
    if (!doc || !totals || !c.prefectures || !c.rows) {
        rc = ZB_ENOMEM;
        goto fail;
    }
    if ((rc = zb_astore_counties(s, txn, pmonthly_member, &c)))
        goto fail;
    rc |= put(doc, "period", json_string(period));
    rc |= put(doc, "level", json_string("province"));
    rc |= put(doc, "deadline", zb_json_time(dl));
    rc |= put(doc, "summary_deadline", zb_json_time(c.due));
    rc |= put(doc, "deadline_passed", json_boolean(now > c.due));
    rc |= put(totals, "on_time", json_integer(c.by_status[1]));
    rc |= put(totals, "late", json_integer(c.by_status[2]));
    rc |= put(totals, "missing", json_integer(c.by_status[0]));
    rc |= put(doc, "totals", totals);
    totals = NULL;
    rc |= put(doc, "prefectures", c.prefectures);
    c.prefectures = NULL;
    rc |= put(doc, "rows", c.rows);
    c.rows = NULL;
    if (rc) {
        rc = ZB_ENOMEM;
        goto fail;
    }
    *out = doc;
    return ZB_OK;
fail:
    json_decref(doc);
    json_decref(totals);
    json_decref(c.prefectures);
    json_decref(c.rows);
    return rc;
}

/* ------------------------------------------------------------ status */

typedef struct {
    zb_store *s;
    MDB_txn *txn;
    json_t *list;
    const char *prefecture;
    json_t *counties;
} pstatus_ctx;

static int count_env(void *ctx, const zb_relay_env *e)
{
    (void)e;
    (*(uint64_t *)ctx)++;
    return 0;
}

static int pstatus_county(void *vctx, const char *county, const char *prefecture)
{
    pstatus_ctx *c = vctx;
    if (strcmp(prefecture, c->prefecture) != 0)
        return 0;
    uint64_t n = 0;
    int rc = zb_astore_relay_envs(c->s, c->txn, county, count_env, &n);
    if (rc)
        return rc;
    const zb_county *known = zb_county_find(county);
    json_t *row = json_pack("{s:s,s:s,s:I}", "county", county, "name", known ? known->name : "",
                            "reports", (json_int_t)n);
    return row && json_array_append_new(c->counties, row) == 0 ? 0 : ZB_ENOMEM;
}

static int pstatus_member(void *vctx, const zb_county_rec *rec)
{
    pstatus_ctx *c = vctx;
    zb_relay_state st;
    int rc = zb_astore_relay_state(c->s, c->txn, rec->county, &st);
    if (rc)
        return rc;
    c->prefecture = rec->county;
    c->counties = json_array();
    if (!c->counties || (rc = zb_astore_relay_counties(c->s, c->txn, pstatus_county, c))) {
        json_decref(c->counties);
        return rc ? rc : ZB_ENOMEM;
    }
    json_t *row =
        json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "prefecture", rec->county, "reports",
                  (json_int_t)rec->reports, "envelopes", (json_int_t)st.envelopes, "key_events",
                  (json_int_t)st.key_events, "other_leaves", (json_int_t)st.other, "head_size",
                  (json_int_t)st.head_size, "counties", c->counties);
    return row && json_array_append_new(c->list, row) == 0 ? 0 : ZB_ENOMEM;
}

int zb_province_status(zb_store *s, MDB_txn *txn, json_t **out)
{
    *out = NULL;
    pstatus_ctx c = {s, txn, json_array(), NULL, NULL};
    if (!c.list)
        return ZB_ENOMEM;
    int rc = zb_astore_counties(s, txn, pstatus_member, &c);
    if (rc) {
        json_decref(c.list);
        return rc;
    }
    *out = json_pack("{s:o}", "prefectures", c.list);
    return *out ? ZB_OK : ZB_ENOMEM;
}
