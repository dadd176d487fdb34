/* audit.c - see audit.h; the bundle format and the checks are in docs/bundle.md. */
#include "audit.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.pb-c.h"
#include "domain.h"
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "merkle.h"

#define AUDIT_COUNTY_LEN 6 /* a county code: 6 ASCII digits */

/* ---------------------------------------------------------------- framing */

/* A stream of length-prefixed records after a magic, hashing every byte. */
typedef struct {
    FILE *f;
    crypto_hash_sha256_state sha;  /* over every byte read so far */
    crypto_hash_sha256_state before; /* as it was before the current record */
    uint8_t *buf;                   /* the current record's bytes */
    size_t len;
    uint64_t records;               /* records read so far */
} rec_reader;

enum { READ_OK = 1, READ_EOF = 0, READ_TRUNCATED = -1, READ_TOO_BIG = -2, READ_IO = -3 };

/* Reads exactly n bytes: n, fewer at end of file, or (size_t)-1 on error. */
static size_t read_exact(FILE *f, void *p, size_t n)
{
    size_t got = fread(p, 1, n, f);
    if (got < n && ferror(f))
        return (size_t)-1;
    return got;
}

static int reader_magic(rec_reader *r, FILE *f, const char *magic)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    crypto_hash_sha256_init(&r->sha);
    char buf[16];
    size_t n = strlen(magic);
    size_t got = read_exact(f, buf, n);
    if (got == (size_t)-1)
        return ZB_EIO;
    if (got != n || memcmp(buf, magic, n) != 0)
        return ZB_EDECODE;
    crypto_hash_sha256_update(&r->sha, (const uint8_t *)buf, n);
    return ZB_OK;
}

/* The next record into r->buf / r->len (valid until the next call). */
static int reader_next(rec_reader *r)
{
    r->before = r->sha;
    uint8_t hdr[4];
    size_t got = read_exact(r->f, hdr, 4);
    if (got == (size_t)-1)
        return READ_IO;
    if (got == 0)
        return READ_EOF;
    if (got < 4)
        return READ_TRUNCATED;
    uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
    if (len > ZB_AUDIT_RECORD_MAX)
        return READ_TOO_BIG;
    free(r->buf);
    r->buf = malloc(len ? len : 1);
    if (!r->buf)
        return READ_IO;
    got = read_exact(r->f, r->buf, len);
    if (got == (size_t)-1)
        return READ_IO;
    if (got < len)
        return READ_TRUNCATED;
    r->len = len;
    crypto_hash_sha256_update(&r->sha, hdr, 4);
    crypto_hash_sha256_update(&r->sha, r->buf, len);
    r->records++;
    return READ_OK;
}

static void reader_free(rec_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* A file holding exactly one record of msg's type after magic. */
static int read_single(FILE *f, const char *magic, const ProtobufCMessageDescriptor *desc,
                       ProtobufCMessage **out)
{
    *out = NULL;
    rec_reader r;
    int rc = reader_magic(&r, f, magic);
    if (rc)
        return rc;
    rc = reader_next(&r);
    if (rc == READ_IO) {
        reader_free(&r);
        return ZB_EIO;
    }
    if (rc != READ_OK) {
        reader_free(&r);
        return ZB_EDECODE;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, r.len, r.buf);
    uint8_t extra;
    if (!m || zb_pb_has_unknown_fields(m) || fread(&extra, 1, 1, f) != 0) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        reader_free(&r);
        return ZB_EDECODE;
    }
    reader_free(&r);
    *out = m;
    return ZB_OK;
}

int zb_audit_read_tree_head(FILE *f, Zb__SignedTreeHead **out)
{
    return read_single(f, ZB_AUDIT_STH_MAGIC, &zb__signed_tree_head__descriptor,
                       (ProtobufCMessage **)out);
}

int zb_audit_read_consistency(FILE *f, Zb__ConsistencyProof **out)
{
    return read_single(f, ZB_AUDIT_CONSISTENCY_MAGIC, &zb__consistency_proof__descriptor,
                       (ProtobufCMessage **)out);
}

/* ---------------------------------------------------------------- streaming Merkle root */

/* The perfect subtrees of the leaves so far, largest first: at most one
 * per level, so 64 slots cover any count. */
typedef struct {
    uint8_t hash[64][ZB_HASH_LEN];
    unsigned level[64];
    unsigned n;
    uint64_t leaves;
} merkle_acc;

static void acc_add(merkle_acc *m, const uint8_t leaf[ZB_HASH_LEN])
{
    memcpy(m->hash[m->n], leaf, ZB_HASH_LEN);
    m->level[m->n++] = 0;
    while (m->n >= 2 && m->level[m->n - 2] == m->level[m->n - 1]) {
        zb_merkle_node_hash(m->hash[m->n - 2], m->hash[m->n - 1], m->hash[m->n - 2]);
        m->level[m->n - 2]++;
        m->n--;
    }
    m->leaves++;
}

/* RFC 6962 MTH of the leaves so far: the split at the largest power of two
 * below n is exactly the decomposition into the subtrees held, folded from
 * the smallest. */
static void acc_root(const merkle_acc *m, uint8_t out[ZB_HASH_LEN])
{
    if (m->n == 0) {
        zb_sha256("", 0, out);
        return;
    }
    uint8_t h[ZB_HASH_LEN];
    memcpy(h, m->hash[m->n - 1], ZB_HASH_LEN);
    for (unsigned i = m->n - 1; i-- > 0;)
        zb_merkle_node_hash(m->hash[i], h, h);
    memcpy(out, h, ZB_HASH_LEN);
}

/* ---------------------------------------------------------------- verifier state */

typedef struct {
    uint8_t key[ZB_PK_LEN];
    uint64_t first_seq, last_seq;
    int64_t revoked_at;
} epoch;

typedef struct {
    char code[AUDIT_COUNTY_LEN + 1];
    epoch *epochs;
    size_t n_epochs;
    uint64_t next_seq;              /* the seq the next entry must carry */
    uint8_t prev[ZB_SHA256_LEN];    /* hash of the last report seen */
    /* Seqs 1..reports_logged were all logged so far: what a review may name.
     * Seqs come in order, so this one number stands for the set (O(1) per
     * county, whatever the log's length). */
    uint64_t reports_logged;
    uint64_t next_number;           /* the downstream number the next message must carry */
} county_state;

typedef struct {
    char code[AUDIT_COUNTY_LEN + 1];
    uint64_t seq;
    uint8_t report_hash[ZB_SHA256_LEN];
    bool valid;                     /* verified: signature and enrolled key */
    bool matched;                   /* the stored report for (county, seq) was seen */
    bool differs;                   /* ... and it is a different report */
} evidence_state;

enum phase { PH_START, PH_HEADER, PH_COUNTY, PH_EVIDENCE, PH_ENTRY, PH_HEAD, PH_END };

typedef struct {
    zb_audit_finding_fn finding;
    void *ctx;
    long findings;
    const zb_audit_opts *opts;
    zb_audit_summary *sum;
    Zb__BundleHeader *header;       /* kept for the count checks at the end */
    county_state *counties;
    size_t n_counties, cap_counties;
    uint32_t *slot;                 /* open-addressing table: index in counties + 1, 0 empty */
    size_t slot_cap;                /* a power of two, >= 2 * n_counties */
    evidence_state *evidence;
    size_t n_evidence, cap_evidence;
    bool evidence_sorted;
    merkle_acc acc;
    uint64_t next_index;            /* the log index the next entry must carry */
    int64_t latest_received;        /* the latest received_at of the entries so far */
    uint64_t latest_received_index; /* ... and the log index of the first entry with it */
    enum phase phase;
    bool saw_head, saw_end;
} verifier;

static void finding(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(verifier *v, const char *fmt, ...)
{
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    v->findings++;
    if (v->finding)
        v->finding(v->ctx, line);
}

static int cmp_evidence(const void *a, const void *b)
{
    const evidence_state *x = a, *y = b;
    int c = strcmp(x->code, y->code);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A valid county code as a number 0..999999 (the slot table's index). */
static uint32_t code_number(const char *code)
{
    uint32_t n = 0;
    for (int i = 0; i < AUDIT_COUNTY_LEN; i++)
        n = n * 10 + (uint32_t)(code[i] - '0');
    return n;
}

static size_t slot_start(uint32_t number, size_t cap)
{
    return (size_t)((number * 2654435761u) & (uint32_t)(cap - 1));
}

/* The slot holding number, or the empty slot where it would go. */
static uint32_t *slot_of(const verifier *v, uint32_t number)
{
    for (size_t i = slot_start(number, v->slot_cap);; i = (i + 1) & (v->slot_cap - 1)) {
        uint32_t s = v->slot[i];
        if (s == 0 || code_number(v->counties[s - 1].code) == number)
            return &v->slot[i];
    }
}

/* O(1) whatever the number of counties a (hostile) bundle lists. */
static county_state *county_find(verifier *v, const char *code)
{
    if (!v->slot || !zb_county_code_valid(code))
        return NULL;
    uint32_t s = *slot_of(v, code_number(code));
    return s ? &v->counties[s - 1] : NULL;
}

/* Room for one more county in the slot table (rebuilt when half full). */
static int slot_reserve(verifier *v)
{
    if (v->slot && 2 * (v->n_counties + 1) <= v->slot_cap)
        return ZB_OK;
    size_t cap = v->slot_cap ? 2 * v->slot_cap : 32;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t)
        return ZB_ENOMEM;
    free(v->slot);
    v->slot = t;
    v->slot_cap = cap;
    for (size_t i = 0; i < v->n_counties; i++)
        *slot_of(v, code_number(v->counties[i].code)) = (uint32_t)(i + 1);
    return ZB_OK;
}

static evidence_state *evidence_find(verifier *v, const char *code, uint64_t seq)
{
    if (!v->n_evidence)
        return NULL;
    if (!v->evidence_sorted) {
        qsort(v->evidence, v->n_evidence, sizeof *v->evidence, cmp_evidence);
        v->evidence_sorted = true;
    }
    evidence_state key;
    snprintf(key.code, sizeof key.code, "%s", code);
    key.seq = seq;
    /* several evidence records may share (county, seq): find any, walk to the first */
    evidence_state *e = bsearch(&key, v->evidence, v->n_evidence, sizeof *v->evidence,
                                cmp_evidence);
    while (e && e > v->evidence && cmp_evidence(e - 1, &key) == 0)
        e--;
    return e;
}

/* The key enrolled for seq, as the aggregator decides it (agg.c). */
static const epoch *key_for_seq(const county_state *c, uint64_t seq)
{
    for (size_t i = 0; i < c->n_epochs; i++) {
        const epoch *e = &c->epochs[i];
        if (seq >= e->first_seq && (e->revoked_at == 0 || seq <= e->last_seq))
            return e;
    }
    return NULL;
}

static const char *phase_name(enum phase p)
{
    static const char *const names[] = {"start", "header", "county", "evidence",
                                        "entry", "tree head", "end"};
    size_t i = (size_t)p;
    return i < sizeof names / sizeof names[0] ? names[i] : "?";
}

/* Records come in phases; going back is a finding (the record is still checked). */
static void enter_phase(verifier *v, enum phase p, uint64_t rec_no)
{
    if (p < v->phase || (p == v->phase && (p == PH_HEADER || p == PH_HEAD)))
        finding(v, "record %" PRIu64 ": %s record out of place (after a %s record)", rec_no,
                phase_name(p), phase_name(v->phase));
    else
        v->phase = p;
}

static void on_header(verifier *v, Zb__BundleHeader *h, uint64_t rec_no)
{
    enter_phase(v, PH_HEADER, rec_no);
    if (v->header) {
        zb__bundle_header__free_unpacked(h, NULL);
        return;
    }
    v->header = h;
    if (rec_no != 1)
        finding(v, "record %" PRIu64 ": the header is not the first record", rec_no);
    if (h->version < ZB_AUDIT_BUNDLE_VERSION_MIN || h->version > ZB_AUDIT_BUNDLE_VERSION)
        finding(v, "header: bundle version %" PRIu32 " (this verifier reads versions %d to %d)",
                h->version, ZB_AUDIT_BUNDLE_VERSION_MIN, ZB_AUDIT_BUNDLE_VERSION);
    if (h->aggregator.len != ZB_PK_LEN) {
        finding(v, "header: aggregator key is not 32 bytes");
        return;
    }
    memcpy(v->sum->agg_key, h->aggregator.data, ZB_PK_LEN);
    v->sum->has_header = true;
    if (v->opts->pinned_key && memcmp(v->opts->pinned_key, h->aggregator.data, ZB_PK_LEN) != 0)
        finding(v, "header: aggregator key is not the expected one (--key)");
}

static void on_county(verifier *v, const Zb__BundleCounty *c, uint64_t rec_no)
{
    enter_phase(v, PH_COUNTY, rec_no);
    if (!zb_county_code_valid(c->code)) {
        finding(v, "record %" PRIu64 ": county code is not 6 digits", rec_no);
        return;
    }
    if (slot_reserve(v) != ZB_OK) {
        finding(v, "county %s: out of memory", c->code);
        return;
    }
    if (county_find(v, c->code)) {
        finding(v, "county %s: listed twice", c->code);
        return;
    }
    if (v->n_counties == v->cap_counties) {
        size_t cap = v->cap_counties ? 2 * v->cap_counties : 16;
        county_state *n = realloc(v->counties, cap * sizeof *n);
        if (!n) {
            finding(v, "county %s: out of memory", c->code);
            return;
        }
        v->counties = n;
        v->cap_counties = cap;
    }
    county_state *s = &v->counties[v->n_counties];
    memset(s, 0, sizeof *s);
    snprintf(s->code, sizeof s->code, "%s", c->code);
    s->next_seq = 1;
    s->next_number = 1;
    s->epochs = c->n_epochs ? calloc(c->n_epochs, sizeof *s->epochs) : NULL;
    if (c->n_epochs && !s->epochs) {
        finding(v, "county %s: out of memory", c->code);
        return;
    }
    if (c->n_epochs == 0)
        finding(v, "county %s: no key was ever enrolled", c->code);
    for (size_t i = 0; i < c->n_epochs; i++) {
        const Zb__KeyEpoch *e = c->epochs[i];
        if (e->key.len != ZB_PK_LEN) {
            finding(v, "county %s: key epoch %zu: key is not 32 bytes", c->code, i);
            continue;
        }
        epoch *d = &s->epochs[s->n_epochs++];
        memcpy(d->key, e->key.data, ZB_PK_LEN);
        d->first_seq = e->first_seq;
        d->last_seq = e->last_seq;
        d->revoked_at = e->revoked_at;
        if (i + 1 < c->n_epochs && e->revoked_at == 0)
            finding(v, "county %s: key epoch %zu is active but a later key was enrolled",
                    c->code, i);
    }
    v->n_counties++;
    *slot_of(v, code_number(c->code)) = (uint32_t)v->n_counties;
    v->sum->counties++;
}

static void on_evidence(verifier *v, const Zb__BundleEvidence *e, uint64_t rec_no)
{
    bool in_place = v->phase <= PH_EVIDENCE;
    enter_phase(v, PH_EVIDENCE, rec_no);
    v->sum->evidence++;
    if (!in_place)
        return; /* already a finding; matching it would need the entries again */
    if (!zb_county_code_valid(e->county)) {
        finding(v, "record %" PRIu64 ": evidence county code is not 6 digits", rec_no);
        return;
    }
    if (v->n_evidence == v->cap_evidence) {
        size_t cap = v->cap_evidence ? 2 * v->cap_evidence : 8;
        evidence_state *n = realloc(v->evidence, cap * sizeof *n);
        if (!n) {
            finding(v, "evidence: out of memory");
            return;
        }
        v->evidence = n;
        v->cap_evidence = cap;
    }
    evidence_state *s = &v->evidence[v->n_evidence++];
    memset(s, 0, sizeof *s);
    v->evidence_sorted = false;
    snprintf(s->code, sizeof s->code, "%s", e->county);
    s->seq = e->seq;
    Zb__Envelope *env = NULL;
    Zb__Report *rep = NULL;
    int rc = zb_envelope_open(e->envelope.data, e->envelope.len, &env, &rep);
    if (rc) {
        finding(v, "evidence county %s seq %" PRIu64 ": envelope does not verify: %s", s->code,
                s->seq, zb_strerror(rc));
        return;
    }
    const county_state *c = county_find(v, s->code);
    const epoch *k = c ? key_for_seq(c, s->seq) : NULL;
    if (strcmp(rep->county, s->code) != 0 || rep->seq != s->seq)
        finding(v, "evidence county %s seq %" PRIu64 ": the signed report is for county %.16s seq %"
                PRIu64, s->code, s->seq, rep->county, rep->seq);
    else if (!c)
        finding(v, "evidence county %s seq %" PRIu64 ": county not in the bundle", s->code, s->seq);
    else if (!k || memcmp(k->key, env->signer.data, ZB_PK_LEN) != 0)
        finding(v, "evidence county %s seq %" PRIu64 ": not signed by the key enrolled for that seq",
                s->code, s->seq);
    else
        s->valid = true;
    zb_report_hash(env->report.data, env->report.len, s->report_hash);
    zb__report__free_unpacked(rep, NULL);
    zb__envelope__free_unpacked(env, NULL);
}

/* A log entry holding a county's report (an Envelope). */
static void on_report(verifier *v, const Zb__BundleEntry *e, uint64_t idx)
{
    v->sum->reports++;
    Zb__Envelope *env = NULL;
    Zb__Report *rep = NULL;
    int rc = zb_envelope_open(e->envelope.data, e->envelope.len, &env, &rep);
    if (rc) {
        finding(v, "log entry %" PRIu64 ": envelope does not verify: %s", idx, zb_strerror(rc));
        return;
    }
    if (!zb_pb_canonical(&env->base, e->envelope.data, e->envelope.len))
        finding(v, "log entry %" PRIu64 ": envelope is not in canonical encoding", idx);
    county_state *c = county_find(v, rep->county);
    if (!c) {
        finding(v, "log entry %" PRIu64 ": county %.16s seq %" PRIu64
                ": county not enrolled in the bundle", idx, rep->county, rep->seq);
        goto done;
    }
    const epoch *k = key_for_seq(c, rep->seq);
    if (!k || memcmp(k->key, env->signer.data, ZB_PK_LEN) != 0)
        finding(v, "county %s seq %" PRIu64 ": not signed by the key enrolled for that seq",
                c->code, rep->seq);
    if (rep->seq < c->next_seq) {
        finding(v, "county %s seq %" PRIu64 ": appears again (log entry %" PRIu64
                ") or out of order", c->code, rep->seq, idx);
    } else {
        if (rep->seq > c->next_seq)
            finding(v, "county %s: seq %" PRIu64 " follows %" PRIu64 " (gap)", c->code, rep->seq,
                    c->next_seq - 1);
        if (memcmp(rep->prev_hash.data, c->prev, ZB_SHA256_LEN) != 0)
            finding(v, "county %s seq %" PRIu64 ": hash chain broken", c->code, rep->seq);
        c->next_seq = rep->seq + 1;
        if (rep->seq == c->reports_logged + 1)
            c->reports_logged = rep->seq;
        zb_report_hash(env->report.data, env->report.len, c->prev);
    }
    uint8_t h[ZB_SHA256_LEN];
    zb_report_hash(env->report.data, env->report.len, h);
    for (evidence_state *ev = evidence_find(v, c->code, rep->seq);
         ev && ev < v->evidence + v->n_evidence && strcmp(ev->code, c->code) == 0 &&
         ev->seq == rep->seq;
         ev++) {
        ev->matched = true;
        ev->differs = memcmp(ev->report_hash, h, ZB_SHA256_LEN) != 0;
    }
done:
    zb__report__free_unpacked(rep, NULL);
    zb__envelope__free_unpacked(env, NULL);
}

/* Why a downstream leaf did not open (rc from zb_down_open), in words. The
 * bytes are decoded again only to tell the reasons apart. */
static void downstream_failure(const uint8_t *buf, size_t len, const uint8_t key[ZB_PK_LEN],
                               int rc, char *why, size_t why_len)
{
    if (rc == ZB_ETOOBIG) {
        snprintf(why, why_len, "over the %u-byte limit", ZB_DOWN_MAX);
        return;
    }
    if (rc == ZB_EDECODE) {
        snprintf(why, why_len, "not a strictly decodable, canonically encoded message");
        return;
    }
    Zb__SignedDownstream *sd = zb__signed_downstream__unpack(NULL, len, buf);
    Zb__Downstream *d =
        sd ? zb__downstream__unpack(NULL, sd->downstream.len, sd->downstream.data) : NULL;
    if (rc == ZB_EBADSIG) {
        /* zb_down_open refuses a good signature over a Downstream naming
         * another signer too: the aggregator signed a message that says it
         * is someone else's */
        bool signed_ok = sd && sd->signature.len == ZB_SIG_LEN &&
                         zb_verify_tagged(ZB_TAG_DOWNSTREAM, sd->downstream.data,
                                          sd->downstream.len, sd->signature.data, key) == 0;
        snprintf(why, why_len, "%s",
                 signed_ok ? "its aggregator field is not the aggregator key"
                           : "signature does not verify with the aggregator key");
    } else if (rc == ZB_EVALIDATION && d) {
        zb_problems p = {0};
        zb_down_validate(d, &p);
        size_t at = (size_t)snprintf(why, why_len, "breaks the content rules:");
        for (size_t i = 0; i < p.n && at < why_len; i++)
            at += (size_t)snprintf(why + at, why_len - at, "%s %s", i ? ";" : "", p.lines[i]);
        zb_problems_free(&p);
    } else {
        snprintf(why, why_len, "%s", zb_strerror(rc));
    }
    if (d)
        zb__downstream__free_unpacked(d, NULL);
    if (sd)
        zb__signed_downstream__free_unpacked(sd, NULL);
}

/* A log entry holding one of the prefecture's downstream messages (a
 * SignedDownstream): signed by the aggregator key, to a county of the
 * bundle, numbered 1, 2, 3... per county in log order, and a review only
 * of a report logged before it. */
static void on_downstream(verifier *v, const Zb__BundleEntry *e, uint64_t idx)
{
    v->sum->downstream++;
    if (v->header && v->header->version < 2)
        finding(v, "log entry %" PRIu64 ": a downstream message in a version %" PRIu32
                " bundle (whose log holds county reports only)", idx, v->header->version);
    const uint8_t *key = v->sum->has_header ? v->sum->agg_key : v->opts->pinned_key;
    if (!key) {
        finding(v, "log entry %" PRIu64 ": downstream message: no aggregator key to check it with",
                idx);
        return;
    }
    Zb__Downstream *d = NULL;
    int rc = zb_down_open(e->envelope.data, e->envelope.len, key, &d);
    if (rc) {
        char why[300];
        downstream_failure(e->envelope.data, e->envelope.len, key, rc, why, sizeof why);
        finding(v, "log entry %" PRIu64 ": downstream message does not verify: %s", idx, why);
        return;
    }
    switch (d->body_case) {
    case ZB__DOWNSTREAM__BODY_REVIEW: v->sum->reviews++; break;
    case ZB__DOWNSTREAM__BODY_REMINDER: v->sum->reminders++; break;
    case ZB__DOWNSTREAM__BODY_DEADLINE: v->sum->deadlines++; break;
    case ZB__DOWNSTREAM__BODY_NOTICE: v->sum->notices++; break;
    default: break; /* zb_down_open refuses a message without a body */
    }
    if (e->received_at != d->created_at)
        finding(v, "log entry %" PRIu64 ": received_at %" PRId64
                " is not the downstream message's created_at %" PRId64, idx, e->received_at,
                d->created_at);
    county_state *c = county_find(v, d->county);
    if (!c) {
        finding(v, "log entry %" PRIu64 ": downstream message to county %s number %" PRIu64
                ": county not in the bundle", idx, d->county, d->number);
        goto done;
    }
    if (d->number < c->next_number) {
        finding(v, "county %s downstream number %" PRIu64 ": appears again (log entry %" PRIu64
                ") or out of order", c->code, d->number, idx);
    } else {
        if (d->number > c->next_number)
            finding(v, "county %s: downstream number %" PRIu64 " follows %" PRIu64 " (gap)",
                    c->code, d->number, c->next_number - 1);
        c->next_number = d->number + 1;
    }
    if (d->body_case == ZB__DOWNSTREAM__BODY_REVIEW && d->review->seq > c->reports_logged)
        finding(v, "county %s downstream number %" PRIu64 " (log entry %" PRIu64
                "): review of seq %" PRIu64 ", which is not logged before it", c->code,
                d->number, idx, d->review->seq);
done:
    zb__downstream__free_unpacked(d, NULL);
}

static void on_entry(verifier *v, const Zb__BundleEntry *e, uint64_t rec_no)
{
    enter_phase(v, PH_ENTRY, rec_no);
    v->sum->entries++;
    uint8_t leaf[ZB_HASH_LEN];
    zb_envelope_leaf_hash(e->envelope.data, e->envelope.len, leaf);
    acc_add(&v->acc, leaf);
    if (v->opts->prefix_size && v->acc.leaves == v->opts->prefix_size) {
        acc_root(&v->acc, v->sum->prefix_root);
        v->sum->has_prefix_root = true;
    }
    uint64_t idx = e->log_index;
    if (idx != v->next_index) {
        if (idx < v->next_index)
            finding(v, "log entry %" PRIu64 ": appears again or out of order (after entry %" PRIu64
                    ")", idx, v->next_index - 1);
        else
            finding(v, "log entry %" PRIu64 ": entries %" PRIu64 "..%" PRIu64
                    " are missing or out of order", idx, v->next_index, idx - 1);
    }
    v->next_index = idx + 1 > v->next_index ? idx + 1 : v->next_index;
    if (v->sum->entries == 1 || e->received_at > v->latest_received) {
        v->latest_received = e->received_at;
        v->latest_received_index = idx;
    }
    /* the first bytes tell the two kinds of leaf apart (zhibao.proto) */
    if (zb_down_is_leaf(e->envelope.data, e->envelope.len))
        on_downstream(v, e, idx);
    else
        on_report(v, e, idx);
}

static void on_tree_head(verifier *v, const Zb__SignedTreeHead *sth, uint64_t rec_no)
{
    enter_phase(v, PH_HEAD, rec_no);
    if (v->saw_head)
        return;
    v->saw_head = true;
    if (!v->sum->has_header) {
        finding(v, "tree head: no aggregator key to check it with");
        return;
    }
    zb_tree_head head;
    int rc = zb_tree_head_verify(sth, v->sum->agg_key, &head);
    if (rc) {
        finding(v, "tree head: does not verify with the aggregator key: %s", zb_strerror(rc));
        return;
    }
    uint8_t root[ZB_HASH_LEN];
    acc_root(&v->acc, root);
    bool ok = true;
    if (head.size != v->acc.leaves) {
        finding(v, "tree head: signed size %" PRIu64 ", the bundle has %" PRIu64 " log entries",
                head.size, v->acc.leaves);
        ok = false;
    } else if (memcmp(root, head.root, ZB_HASH_LEN) != 0) {
        finding(v, "tree head: the root of the bundle's %" PRIu64
                " log entries is not the signed root", v->acc.leaves);
        ok = false;
    }
    /* every entry was received before the head that covers it was signed,
     * and heads never go back in time: a head signed before an entry it
     * covers came in means the aggregator's clock went backwards */
    if (ok && v->acc.leaves > 0 && head.timestamp < v->latest_received)
        finding(v, "tree head: signed at %" PRId64 ", before log entry %" PRIu64
                " was received (received_at %" PRId64 "): the aggregator's clock went backwards",
                head.timestamp, v->latest_received_index, v->latest_received);
    v->sum->head = head;
    v->sum->head_ok = ok;
}

static void on_end(verifier *v, const Zb__BundleEnd *e, const rec_reader *r, uint64_t rec_no)
{
    enter_phase(v, PH_END, rec_no);
    v->saw_end = true;
    if (e->record_count != rec_no - 1)
        finding(v, "end: says %" PRIu64 " records precede it, there are %" PRIu64,
                e->record_count, rec_no - 1);
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st = r->before;
    crypto_hash_sha256_final(&st, digest);
    if (e->sha256.len != sizeof digest || sodium_memcmp(e->sha256.data, digest, sizeof digest))
        finding(v, "end: the SHA-256 of the bundle's bytes does not match (altered, dropped, "
                "added or re-ordered bytes)");
}

/* The checks that need the whole bundle. */
static void at_end(verifier *v)
{
    if (!v->header) {
        finding(v, "bundle: no header record");
    } else {
        const Zb__BundleHeader *h = v->header;
        if (h->county_count != v->sum->counties)
            finding(v, "header: says %" PRIu64 " counties, the bundle has %" PRIu64,
                    h->county_count, v->sum->counties);
        if (h->entry_count != v->sum->entries)
            finding(v, "header: says %" PRIu64 " log entries, the bundle has %" PRIu64,
                    h->entry_count, v->sum->entries);
        uint64_t ev = h->has_evidence_count ? h->evidence_count : 0;
        if (ev != v->sum->evidence)
            finding(v, "header: says %" PRIu64 " evidence records, the bundle has %" PRIu64, ev,
                    v->sum->evidence);
    }
    if (!v->saw_head && v->sum->entries > 0)
        finding(v, "bundle: no signed tree head");
    if (!v->saw_head && v->sum->entries == 0 && v->sum->has_header)
        v->sum->head_ok = false;
    /* evidence, in (county, seq) order */
    if (v->n_evidence && !v->evidence_sorted) {
        qsort(v->evidence, v->n_evidence, sizeof *v->evidence, cmp_evidence);
        v->evidence_sorted = true;
    }
    for (size_t i = 0; i < v->n_evidence; i++) {
        evidence_state *e = &v->evidence[i];
        if (!e->valid)
            continue; /* already a finding */
        if (!e->matched)
            finding(v, "evidence county %s seq %" PRIu64
                    ": no logged report for that (county, seq) to conflict with", e->code, e->seq);
        else if (!e->differs)
            finding(v, "evidence county %s seq %" PRIu64
                    ": identical to the logged report (no conflict)", e->code, e->seq);
        else {
            finding(v, "equivocation: county %s seq %" PRIu64 ": two different signed reports",
                    e->code, e->seq);
            v->sum->equivocations++;
        }
    }
    if (!v->saw_end)
        finding(v, "bundle: no end record (truncated?)");
}

long zb_audit_verify(FILE *f, const zb_audit_opts *opts, zb_audit_finding_fn fn, void *ctx,
                     zb_audit_summary *sum)
{
    static const zb_audit_opts no_opts;
    verifier v = {.finding = fn, .ctx = ctx, .opts = opts ? opts : &no_opts, .sum = sum};
    memset(sum, 0, sizeof *sum);
    rec_reader r;
    int rc = reader_magic(&r, f, ZB_AUDIT_BUNDLE_MAGIC);
    if (rc == ZB_EIO)
        return ZB_EIO;
    if (rc) {
        finding(&v, "bundle: not a zhibao bundle (no ZBBUNDLE1 magic)");
        return v.findings;
    }
    long result = 0;
    for (;;) {
        int got = reader_next(&r);
        uint64_t rec_no = r.records + 1; /* of the record just attempted */
        if (got == READ_EOF)
            break;
        if (got == READ_IO) {
            result = ZB_EIO;
            goto done;
        }
        if (got == READ_TRUNCATED) {
            finding(&v, "record %" PRIu64 ": truncated (the file ends inside it)", rec_no);
            break;
        }
        if (got == READ_TOO_BIG) {
            finding(&v, "record %" PRIu64 ": length over the %u-byte limit (framing destroyed)",
                    rec_no, ZB_AUDIT_RECORD_MAX);
            break;
        }
        rec_no = r.records;
        if (v.saw_end) {
            finding(&v, "record %" PRIu64 ": data after the end record", rec_no);
            break;
        }
        Zb__BundleRecord *rec = zb__bundle_record__unpack(NULL, r.len, r.buf);
        if (!rec || zb_pb_has_unknown_fields(&rec->base)) {
            finding(&v, "record %" PRIu64 ": undecodable", rec_no);
            if (rec)
                zb__bundle_record__free_unpacked(rec, NULL);
            continue;
        }
        switch (rec->record_case) {
        case ZB__BUNDLE_RECORD__RECORD_HEADER:
            on_header(&v, rec->header, rec_no);
            rec->header = NULL; /* on_header owns it now */
            rec->record_case = ZB__BUNDLE_RECORD__RECORD__NOT_SET;
            break;
        case ZB__BUNDLE_RECORD__RECORD_COUNTY: on_county(&v, rec->county, rec_no); break;
        case ZB__BUNDLE_RECORD__RECORD_EVIDENCE: on_evidence(&v, rec->evidence, rec_no); break;
        case ZB__BUNDLE_RECORD__RECORD_ENTRY: on_entry(&v, rec->entry, rec_no); break;
        case ZB__BUNDLE_RECORD__RECORD_TREE_HEAD: on_tree_head(&v, rec->tree_head, rec_no); break;
        case ZB__BUNDLE_RECORD__RECORD_END: on_end(&v, rec->end, &r, rec_no); break;
        default: finding(&v, "record %" PRIu64 ": empty or of an unknown kind", rec_no); break;
        }
        zb__bundle_record__free_unpacked(rec, NULL);
    }
    at_end(&v);
    sum->records = r.records;
    result = v.findings;
done:
    reader_free(&r);
    for (size_t i = 0; i < v.n_counties; i++)
        free(v.counties[i].epochs);
    free(v.counties);
    free(v.slot);
    free(v.evidence);
    if (v.header)
        zb__bundle_header__free_unpacked(v.header, NULL);
    return result;
}

/* ---------------------------------------------------------------- consistency */

static bool starts_with(FILE *f, const char *magic)
{
    char buf[16];
    size_t n = strlen(magic);
    size_t got = fread(buf, 1, n, f);
    rewind(f);
    return got == n && memcmp(buf, magic, n) == 0;
}

#define MSG(...) snprintf(msg, msg_len, __VA_ARGS__)

int zb_audit_consistency(FILE *old_f, FILE *new_f, FILE *proof_f, const uint8_t key[ZB_PK_LEN],
                         char *msg, size_t msg_len)
{
    Zb__SignedTreeHead *old_sth = NULL, *new_sth = NULL;
    Zb__ConsistencyProof *proof = NULL;
    zb_tree_head old_head, new_head;
    int rc = zb_audit_read_tree_head(old_f, &old_sth);
    if (rc) {
        MSG("old tree head: not a tree-head file");
        return rc;
    }
    if (zb_tree_head_verify(old_sth, key, &old_head) != 0) {
        MSG("old tree head: signature does not verify with the aggregator key");
        rc = ZB_EBADSIG;
        goto done;
    }
    bool from_bundle = starts_with(new_f, ZB_AUDIT_BUNDLE_MAGIC);
    zb_audit_summary sum;
    if (from_bundle) {
        zb_audit_opts o = {.pinned_key = key, .prefix_size = old_head.size};
        long n = zb_audit_verify(new_f, &o, NULL, NULL, &sum);
        if (n < 0) {
            MSG("new: cannot read the bundle");
            rc = (int)n;
            goto done;
        }
        if (!sum.has_header || memcmp(sum.agg_key, key, ZB_PK_LEN) != 0 || !sum.head_ok) {
            MSG("new: the bundle has no tree head signed by the aggregator key that covers its "
                "entries (run zhibao-audit verify on it)");
            rc = ZB_EBADSIG;
            goto done;
        }
        new_head = sum.head;
    } else {
        if ((rc = zb_audit_read_tree_head(new_f, &new_sth))) {
            MSG("new tree head: not a tree-head file or bundle");
            goto done;
        }
        if (zb_tree_head_verify(new_sth, key, &new_head) != 0) {
            MSG("new tree head: signature does not verify with the aggregator key");
            rc = ZB_EBADSIG;
            goto done;
        }
    }
    if (old_head.size > new_head.size) {
        MSG("old tree head has %" PRIu64 " entries, the new one only %" PRIu64
            ": the log shrank", old_head.size, new_head.size);
        rc = ZB_EBADSIG;
        goto done;
    }
    if (proof_f) {
        if ((rc = zb_audit_read_consistency(proof_f, &proof))) {
            MSG("proof: not a consistency-proof file");
            goto done;
        }
        if (zb_consistency_verify_pb(proof, &old_head, &new_head) != 0) {
            MSG("NOT consistent: the proof from size %" PRIu64 " to %" PRIu64
                " does not verify (history rewritten, or the proof is for other heads)",
                old_head.size, new_head.size);
            rc = ZB_EBADSIG;
            goto done;
        }
    } else if (from_bundle) {
        uint8_t empty[ZB_HASH_LEN];
        zb_sha256("", 0, empty);
        const uint8_t *prefix = old_head.size == 0 ? empty : sum.prefix_root;
        if ((old_head.size && !sum.has_prefix_root) ||
            memcmp(prefix, old_head.root, ZB_HASH_LEN) != 0) {
            MSG("NOT consistent: the bundle's first %" PRIu64
                " entries do not hash to the old tree head's root (history rewritten)",
                old_head.size);
            rc = ZB_EBADSIG;
            goto done;
        }
    } else {
        MSG("no consistency proof given (PROOF_FILE or --proof)");
        rc = ZB_EINVAL;
        goto done;
    }
    if (new_head.timestamp < old_head.timestamp) {
        MSG("tree head timestamps go backwards: the new head (size %" PRIu64 ") is signed at %"
            PRId64 ", before the old one (size %" PRIu64 ") at %" PRId64,
            new_head.size, new_head.timestamp, old_head.size, old_head.timestamp);
        rc = ZB_EBADSIG;
        goto done;
    }
    MSG("consistent: the log of size %" PRIu64 " extends the log of size %" PRIu64,
        new_head.size, old_head.size);
    rc = ZB_OK;
done:
    if (old_sth)
        zb__signed_tree_head__free_unpacked(old_sth, NULL);
    if (new_sth)
        zb__signed_tree_head__free_unpacked(new_sth, NULL);
    if (proof)
        zb__consistency_proof__free_unpacked(proof, NULL);
    return rc;
}
