/* audit.c - see audit.h; the bundle format and the checks are in docs/bundle.md. */
#include "audit.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "bundle.pb-c.h"
#include "domain.h"
#include "downstream.h"
#include "envelope.h"
#include "err.h"
#include "i18n.h"
#include "logleaf.h"
#include "merkle.h"
#include "timefmt.h"

/* ---------------------------------------------------------------- framing */

/* A stream of length-prefixed records after a magic, hashing every byte. */
typedef struct {
    FILE *f;
    crypto_hash_sha256_state sha;  /* over every byte read so far */
    crypto_hash_sha256_state before; /* as it was before the current record */
    uint8_t *buf;                   /* the current record's bytes */
    size_t len;
    uint64_t records;               /* records read so far */
    off_t start;                    /* file offset of the current record (-1: unknown) */
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

static void reader_init(rec_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    crypto_hash_sha256_init(&r->sha);
}

static int reader_magic(rec_reader *r, FILE *f, const char *magic)
{
    reader_init(r, f);
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
    r->start = ftello(r->f);
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

/* One key epoch of a BundleCounty record. */
typedef struct {
    uint8_t key[ZB_PK_LEN];
    uint64_t first_seq, last_seq;
    int64_t enrolled_at, revoked_at;
} epoch;

typedef struct {
    char code[ZB_AUDIT_COUNTY_LEN + 1];
    bool listed;                    /* has a BundleCounty record */
    bool unlisted_reported;         /* ... and the finding that it has none was made */
    epoch *epochs;                  /* the BundleCounty record's (trusted for bare leaves only) */
    size_t n_epochs;
    uint64_t next_seq;              /* the seq the next entry must carry */
    uint8_t prev[ZB_SHA256_LEN];    /* hash of the last report seen */
    /* Seqs 1..reports_logged were all logged so far: what a review or
     * evidence may name. Seqs come in order, so this one number stands
     * for the set (O(1) per county, whatever the log's length). */
    uint64_t reports_logged;
    uint64_t next_number;           /* the downstream number the next message must carry */

    /* The county's key as the log has it at the current leaf: from its
     * KeyEvent leaves, or (pre_log) carried over from the key that signed
     * its last bare envelope in a log begun before log version 2. */
    uint32_t next_epoch;            /* the epoch the next ENROLLED must carry (0: never keyed) */
    bool active;
    bool pre_log;
    uint8_t key[ZB_PK_LEN];         /* the active key */
    uint32_t epoch;                 /* ... its epoch */
    uint64_t first_seq;             /* ... the first seq it may sign */
    uint64_t enrolled_index;        /* ... the log index of its ENROLLED event */
    bool has_revoked;               /* the last event of the county is a REVOKED */
    uint8_t revoked_key[ZB_PK_LEN];
    uint32_t revoked_epoch;
    uint64_t revoked_index;
    bool revoked_consented;
    uint8_t consent_to[ZB_PK_LEN];  /* a consented revocation: the key its rotation enrols */

    uint8_t prev_signer[ZB_PK_LEN]; /* the key that signed the last report seen */

    /* --county-key: the county office's list of its keys (docs/bundle.md §5, check 11) */
    struct pin_state *pins;         /* its pins in verifier.pins, n_pins of them (0: none) */
    size_t n_pins;
    const struct pin_state *first_pin; /* the pin the log enrolled first (NULL: none yet) */
    uint64_t first_pin_index;       /* ... at this log index */
} county_state;

/* One --county-key: what the log did with that key of its county. What
 * is recorded here is never undone by a later event (a key enrolled again
 * after a revocation stays revoked). */
typedef struct pin_state {
    const zb_audit_pin *pin;
    bool duplicate;                 /* the same county and key as the pin before it */
    bool seen;                      /* enrolled in the log (or signed its bare prefix) ... */
    bool pre_log;                   /* ... from before the log recorded key events */
    uint32_t epoch;                 /* ... as epoch */
    uint64_t enrolled_index;        /* ... first at this log index */
    bool revoked;                   /* revoked in the log (the first unconsented revocation, */
    bool revoked_consented;         /*  else the first consented one) */
    uint32_t revoked_epoch;
    uint64_t revoked_index;
} pin_state;

/* Every key the log enrolled, once each, and the keys that signed the bare
 * prefix of a log begun before log version 2: a key is enrolled once (its
 * signed request is in the log, and anyone can replay it), so an ENROLLED
 * event of a key found here is a finding. Open addressing on SipHash
 * (crypto_shorthash) under a key drawn per verification, so a hostile
 * bundle cannot pile its keys into one probe sequence. */
typedef struct {
    uint8_t key[ZB_PK_LEN];
    bool used;
    bool pre_log;                   /* signed the bare prefix; not enrolled by an event */
    uint32_t county;                /* index in verifier.counties */
    uint64_t log_index;             /* its ENROLLED event (pre_log: the first bare envelope) */
} known_key;

/* A piece of equivocation evidence: a BundleEvidence record (versions 1
 * and 2) or an Evidence leaf (version 3) that verified, to be matched
 * against the logged report for its (county, seq). */
typedef struct {
    char code[ZB_AUDIT_COUNTY_LEN + 1];
    uint64_t seq;
    uint8_t report_hash[ZB_SHA256_LEN];
    uint8_t signer[ZB_PK_LEN];      /* the key that signed the evidence's envelope */
    bool valid;                     /* verified: signature and enrolled key */
    bool matched;                   /* the stored report for (county, seq) was seen */
    bool differs;                   /* ... and it is a different report */
    uint8_t logged_signer[ZB_PK_LEN]; /* ... signed by this key */
    uint64_t log_index;             /* a leaf: its log index */
    uint64_t position;              /* a leaf: the entries before it */
} evidence_state;

/* A log size whose root is wanted, in size order: one of opts.prefixes or
 * a --head's. */
typedef struct {
    uint64_t size;
    zb_audit_prefix *out;
} prefix_target;

typedef struct {
    bool verified;                  /* signed by the aggregator key */
    zb_tree_head head;
    zb_audit_prefix prefix;         /* the bundle's root at head.size */
} head_state;

/* A witnessed_head record (version 4) signed by the aggregator key, in
 * its place: a head of the log witnesses cosigned, whose root the verifier
 * computes on the way (the others are findings, not kept). */
typedef struct {
    zb_tree_head head;
    zb_audit_prefix prefix;         /* the bundle's root at head.size */
    zb_cosig_tally tally;           /* its cosignatures against opts.witness_keys */
} witnessed_state;

enum phase { PH_START, PH_HEADER, PH_COUNTY, PH_EVIDENCE, PH_WITNESSED, PH_ENTRY, PH_HEAD, PH_END };

typedef struct {
    zb_audit_finding_fn finding;
    void *ctx;
    long findings;
    const zb_audit_opts *opts;
    zb_audit_summary *sum;
    Zb__BundleHeader *header;       /* kept for the count checks at the end */
    uint32_t version;               /* the header's; the newest read without one */
    county_state *counties;
    size_t n_counties, cap_counties;
    uint32_t *slot;                 /* open-addressing table: index in counties + 1, 0 empty */
    size_t slot_cap;                /* a power of two, >= 2 * n_counties */
    pin_state *pins;                /* opts.pins in (county, key) order */
    size_t n_pins;
    known_key *keys;                /* every key enrolled so far: a table of keys_cap slots */
    size_t n_keys, keys_cap;        /* keys_cap a power of two, >= 2 * n_keys */
    bool keys_oom;                  /* the table could not grow (a finding, once) */
    uint8_t keys_hash_key[crypto_shorthash_KEYBYTES];
    char last_listed[ZB_AUDIT_COUNTY_LEN + 1]; /* the last BundleCounty code (code order) */
    evidence_state *evidence;       /* BundleEvidence records */
    size_t n_evidence, cap_evidence;
    bool evidence_sorted;
    uint64_t evidence_records;
    evidence_state *ev_leaves;      /* Evidence leaves, in log order */
    size_t n_ev_leaves, cap_ev_leaves;
    off_t entries_at;               /* file offset of the first entry record (-1: unknown) */
    merkle_acc acc;
    bool prepared;                  /* heads verified and prefix targets set */
    head_state *heads;              /* one per opts.heads */
    witnessed_state *witnessed;     /* the witnessed_head records, in bundle order */
    size_t n_witnessed, cap_witnessed;
    bool final_verified;            /* the tree_head record verified with the aggregator key */
    zb_tree_head final_head;        /* ... decoded */
    zb_cosig_tally final_tally;     /* ... its cosignatures */
    prefix_target *targets;
    size_t n_targets, next_target;
    uint64_t next_index;            /* the log index the next entry must carry */
    int64_t latest_received;        /* the latest received_at of the entries so far */
    uint64_t latest_received_index; /* ... and the log index of the first entry with it */
    bool saw_logleaf;               /* a LogLeaf entry was seen ... */
    uint64_t first_logleaf_index;   /* ... first at this index */
    int64_t leaf_time;              /* the previous LogLeaf's timestamp */
    uint64_t leaf_time_index;       /* ... and its log index */
    enum phase phase;
    bool saw_head, saw_end;
} verifier;

/* A piece of a finding (a format for snprintf, or words for a %s) in the
 * findings' language: English unless opts->localized. */
static const char *vt(const verifier *v, const char *msgid) __attribute__((format_arg(2)));
static const char *vt(const verifier *v, const char *msgid)
{
    return v->opts->localized ? zb_tr(msgid) : msgid;
}

/* A finding: fmt is the English msgid (marked N_() for the catalog,
 * po/zh_CN/audit.po), translated here when opts->localized asks for the
 * chosen language (i18n.h); English otherwise, as --json keeps it. Every
 * translation keeps the conversions of its msgid in order (msgfmt --check). */
static void finding(verifier *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void finding(verifier *v, const char *fmt, ...)
{
    char line[768]; /* a Chinese line takes more bytes than its English msgid */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, vt(v, fmt), ap);
    va_end(ap);
    v->findings++;
    if (v->finding)
        v->finding(v->ctx, line);
}

/* The first 16 hex digits of a key, as findings and key event lines show
 * it (followed by "…"). */
typedef struct {
    char s[17];
} short_key;

static short_key key_short(const uint8_t key[ZB_PK_LEN])
{
    short_key k;
    zb_hex_encode(key, 8, k.s);
    return k;
}
#define KEY(k) (key_short(k).s)

static int cmp_evidence(const void *a, const void *b)
{
    const evidence_state *x = a, *y = b;
    int c = strcmp(x->code, y->code);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---------------------------------------------------------------- counties */

/* A valid county code as a number 0..999999 (the slot table's index). */
static uint32_t code_number(const char *code)
{
    uint32_t n = 0;
    for (int i = 0; i < ZB_AUDIT_COUNTY_LEN; i++)
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

/* O(1) whatever the number of counties a (hostile) bundle lists. The
 * pointer is valid until the next county_add. */
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

/* ---------------------------------------------------------------- pins and known keys */

static int cmp_pin(const void *a, const void *b)
{
    const pin_state *x = a, *y = b;
    int c = strcmp(x->pin->county, y->pin->county);
    return c ? c : memcmp(x->pin->key, y->pin->key, ZB_PK_LEN);
}

/* opts.pins in (county, key) order, each county's pins side by side. Out
 * of memory: a finding, and no pin is checked. */
static void pins_init(verifier *v)
{
    size_t n = v->opts->n_pins;
    if (!n)
        return;
    v->pins = calloc(n, sizeof *v->pins);
    if (!v->pins) {
        finding(v, N_("county keys (--county-key): out of memory"));
        return;
    }
    for (size_t i = 0; i < n; i++)
        v->pins[i].pin = &v->opts->pins[i];
    qsort(v->pins, n, sizeof *v->pins, cmp_pin);
    for (size_t i = 1; i < n; i++)
        v->pins[i].duplicate = cmp_pin(&v->pins[i - 1], &v->pins[i]) == 0;
    v->n_pins = n;
    for (size_t i = 0; i < n; i++)
        if (!v->pins[i].duplicate && (i == 0 || strcmp(v->pins[i - 1].pin->county,
                                                        v->pins[i].pin->county) != 0))
            v->sum->pin_counties++;
}

/* Point s at its county's pins (a binary search: a hostile bundle may list
 * many counties). */
static void pins_of_county(verifier *v, county_state *s)
{
    size_t lo = 0, hi = v->n_pins;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v->pins[mid].pin->county, s->code) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    s->pins = v->pins ? v->pins + lo : NULL;
    while (lo + s->n_pins < v->n_pins && strcmp(v->pins[lo + s->n_pins].pin->county, s->code) == 0)
        s->n_pins++;
}

/* The pin of c that is key, or NULL. */
static pin_state *pin_of(const county_state *c, const uint8_t key[ZB_PK_LEN])
{
    for (size_t i = 0; i < c->n_pins; i++)
        if (memcmp(c->pins[i].pin->key, key, ZB_PK_LEN) == 0)
            return &c->pins[i];
    return NULL;
}

/* The slot of key in the known-key table, or the empty slot where it goes. */
static size_t key_slot(const verifier *v, const known_key *table, size_t cap,
                       const uint8_t key[ZB_PK_LEN])
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, ZB_PK_LEN, v->keys_hash_key);
    uint64_t x;
    memcpy(&x, h, sizeof x);
    size_t i = (size_t)x & (cap - 1);
    while (table[i].used && memcmp(table[i].key, key, ZB_PK_LEN) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

/* Where the log enrolled key first, or NULL. */
static const known_key *key_known(const verifier *v, const uint8_t key[ZB_PK_LEN])
{
    if (!v->keys_cap)
        return NULL;
    const known_key *k = &v->keys[key_slot(v, v->keys, v->keys_cap, key)];
    return k->used ? k : NULL;
}

/* Remember key (not known yet) as enrolled for county at log_index. */
static void key_remember(verifier *v, const uint8_t key[ZB_PK_LEN], const county_state *county,
                         uint64_t log_index, bool pre_log)
{
    if (2 * (v->n_keys + 1) > v->keys_cap) {
        size_t cap = v->keys_cap ? 2 * v->keys_cap : 64;
        known_key *t = calloc(cap, sizeof *t);
        if (!t) {
            if (!v->keys_oom)
                finding(v,
                        N_("key events: out of memory (keys enrolled twice are not looked for "
                           "beyond log entry %" PRIu64 ")"),
                        log_index);
            v->keys_oom = true;
            return;
        }
        for (size_t i = 0; i < v->keys_cap; i++)
            if (v->keys[i].used)
                t[key_slot(v, t, cap, v->keys[i].key)] = v->keys[i];
        free(v->keys);
        v->keys = t;
        v->keys_cap = cap;
    }
    known_key *k = &v->keys[key_slot(v, v->keys, v->keys_cap, key)];
    memcpy(k->key, key, ZB_PK_LEN);
    k->used = true;
    k->pre_log = pre_log;
    k->county = (uint32_t)(county - v->counties);
    k->log_index = log_index;
    v->n_keys++;
}

/* A new county (code valid, not present yet): NULL when out of memory
 * (a finding). Invalidates county_state pointers held. */
static county_state *county_add(verifier *v, const char *code)
{
    if (slot_reserve(v) != ZB_OK)
        goto oom;
    if (v->n_counties == v->cap_counties) {
        size_t cap = v->cap_counties ? 2 * v->cap_counties : 16;
        county_state *n = realloc(v->counties, cap * sizeof *n);
        if (!n)
            goto oom;
        v->counties = n;
        v->cap_counties = cap;
    }
    county_state *s = &v->counties[v->n_counties++];
    memset(s, 0, sizeof *s);
    snprintf(s->code, sizeof s->code, "%s", code);
    s->next_seq = 1;
    s->next_number = 1;
    pins_of_county(v, s);
    *slot_of(v, code_number(code)) = (uint32_t)v->n_counties;
    return s;
oom:
    finding(v, N_("county %s: out of memory"), code);
    return NULL;
}

/* The key enrolled for seq by the BundleCounty record, as the aggregator
 * decides it (agg.c): what bare envelopes are checked against. */
static const epoch *key_for_seq(const county_state *c, uint64_t seq, uint32_t *index)
{
    for (size_t i = 0; i < c->n_epochs; i++) {
        const epoch *e = &c->epochs[i];
        if (seq >= e->first_seq && (e->revoked_at == 0 || seq <= e->last_seq)) {
            if (index)
                *index = (uint32_t)i;
            return e;
        }
    }
    return NULL;
}

static bool evidence_push(evidence_state **arr, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        evidence_state *a = realloc(*arr, c * sizeof *a);
        if (!a)
            return false;
        *arr = a;
        *cap = c;
    }
    memset(&(*arr)[(*n)++], 0, sizeof **arr);
    return true;
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

/* ---------------------------------------------------------------- heads and prefixes */

/* The aggregator key everything is checked with: the auditor's, else the
 * header's; NULL when there is neither. */
static const uint8_t *agg_key(const verifier *v)
{
    if (v->opts->pinned_key)
        return v->opts->pinned_key;
    return v->sum->has_header ? v->sum->agg_key : NULL;
}

static int cmp_target(const void *a, const void *b)
{
    const prefix_target *x = a, *y = b;
    return x->size < y->size ? -1 : x->size > y->size;
}

/* Compute the roots wanted at the current leaf count. */
static void advance_targets(verifier *v)
{
    while (v->next_target < v->n_targets) {
        prefix_target *t = &v->targets[v->next_target];
        if (t->size > v->acc.leaves)
            return;
        if (t->size == v->acc.leaves) {
            acc_root(&v->acc, t->out->root);
            t->out->found = true;
        } /* a size already passed (a prefix asked for too late): not found */
        v->next_target++;
    }
}

/* Once, before the first entry (or at the end): verify the --head heads
 * with the aggregator key and list every log size whose root is wanted. */
static void prepare(verifier *v)
{
    if (v->prepared)
        return;
    v->prepared = true;
    const zb_audit_opts *o = v->opts;
    size_t n = o->n_prefixes + o->n_heads + v->n_witnessed;
    v->heads = o->n_heads ? calloc(o->n_heads, sizeof *v->heads) : NULL;
    v->targets = n ? calloc(n, sizeof *v->targets) : NULL;
    if ((o->n_heads && !v->heads) || (n && !v->targets)) {
        finding(v, N_("heads: out of memory"));
        free(v->heads);
        free(v->targets);
        v->heads = NULL;
        v->targets = NULL;
        return;
    }
    for (size_t i = 0; i < o->n_prefixes; i++) {
        o->prefixes[i].found = false;
        v->targets[v->n_targets++] = (prefix_target){o->prefixes[i].size, &o->prefixes[i]};
    }
    const uint8_t *key = agg_key(v);
    for (size_t i = 0; i < o->n_heads; i++) {
        head_state *h = &v->heads[i];
        int rc = key ? zb_tree_head_verify(o->heads[i].sth, key, &h->head) : ZB_EBADSIG;
        if (!key) {
            finding(v, N_("head %s: no aggregator key to check it with"), o->heads[i].name);
            continue;
        }
        if (rc) {
            finding(v, N_("head %s: does not verify with the aggregator key: %s"), o->heads[i].name,
                    vt(v, zb_strerror(rc)));
            continue;
        }
        h->verified = true;
        h->prefix.size = h->head.size;
        v->targets[v->n_targets++] = (prefix_target){h->head.size, &h->prefix};
    }
    /* the witnessed heads came before the first entry: their sizes are
     * known before the roots go by */
    for (size_t i = 0; i < v->n_witnessed; i++) {
        witnessed_state *w = &v->witnessed[i];
        w->prefix.size = w->head.size;
        v->targets[v->n_targets++] = (prefix_target){w->head.size, &w->prefix};
    }
    if (v->n_targets > 1)
        qsort(v->targets, v->n_targets, sizeof *v->targets, cmp_target);
    advance_targets(v);
}

/* The --head findings, at the end: the bundle must hold each head's
 * leaves, with its root, and a head no older than it. */
static void check_heads(verifier *v)
{
    for (size_t i = 0; v->heads && i < v->opts->n_heads; i++) {
        const head_state *h = &v->heads[i];
        const char *name = v->opts->heads[i].name;
        if (!h->verified)
            continue; /* already a finding */
        if (!h->prefix.found)
            finding(v,
                    N_("head %s (size %" PRIu64 ", signed at %" PRId64 "): the bundle's log has "
                       "only %" PRIu64 " entries: it does not extend this head (a trimmed or stale "
                       "log)"),
                    name, h->head.size, h->head.timestamp, v->acc.leaves);
        else if (memcmp(h->prefix.root, h->head.root, ZB_HASH_LEN) != 0)
            finding(v,
                    N_("head %s (size %" PRIu64 "): the root of the bundle's first %" PRIu64
                       " entries is not this head's root: the bundle does not extend it (history "
                       "rewritten)"),
                    name, h->head.size, h->head.size);
        else if (v->sum->head_ok && h->head.timestamp > v->sum->head.timestamp)
            finding(v,
                    N_("head %s (size %" PRIu64 "): signed at %" PRId64 ", after the bundle's "
                       "tree head (signed at %" PRId64 "): the bundle is older than a head the "
                       "aggregator already gave out"),
                    name, h->head.size, h->head.timestamp, v->sum->head.timestamp);
        else
            v->sum->heads_extended++;
    }
}

/* ---------------------------------------------------------------- records */

/* The kind of record of phase p, in the findings' language. The words are
 * common: looked up in po context "record" (msgctxt, written by hand in
 * po/zh_CN/audit.po). */
static const char *phase_name(const verifier *v, enum phase p)
{
    static const char *const names[] = {"start", "header",         "county", "evidence",
                                        "witnessed head", "entry", "tree head", "end"};
    size_t i = (size_t)p;
    if (i >= sizeof names / sizeof names[0])
        return "?";
    return v->opts->localized ? zb_trc("record", names[i]) : names[i];
}

/* Records come in phases; going back is a finding (the record is still checked). */
static void enter_phase(verifier *v, enum phase p, uint64_t rec_no)
{
    if (p < v->phase || (p == v->phase && (p == PH_HEADER || p == PH_HEAD)))
        finding(v, N_("record %" PRIu64 ": %s record out of place (after a %s record)"), rec_no,
                phase_name(v, p), phase_name(v, v->phase));
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
    v->version = h->version;
    v->sum->version = h->version;
    if (rec_no != 1)
        finding(v, N_("record %" PRIu64 ": the header is not the first record"), rec_no);
    if (h->version < ZB_AUDIT_BUNDLE_VERSION_MIN || h->version > ZB_AUDIT_BUNDLE_VERSION)
        finding(v, N_("header: bundle version %" PRIu32 " (this verifier reads versions %d to %d)"),
                h->version, ZB_AUDIT_BUNDLE_VERSION_MIN, ZB_AUDIT_BUNDLE_VERSION);
    if (h->aggregator.len != ZB_PK_LEN) {
        finding(v, N_("header: aggregator key is not 32 bytes"));
        return;
    }
    memcpy(v->sum->agg_key, h->aggregator.data, ZB_PK_LEN);
    v->sum->has_header = true;
    if (v->opts->progress)
        v->opts->progress(v->opts->progress_ctx, v->sum->entries, h->entry_count);
    if (v->opts->pinned_key && memcmp(v->opts->pinned_key, h->aggregator.data, ZB_PK_LEN) != 0)
        finding(v, N_("header: aggregator key is not the expected one (--key)"));
}

static void on_county(verifier *v, const Zb__BundleCounty *c, uint64_t rec_no)
{
    enter_phase(v, PH_COUNTY, rec_no);
    if (!zb_county_code_valid(c->code)) {
        finding(v, N_("record %" PRIu64 ": county code is not 6 digits"), rec_no);
        return;
    }
    if (county_find(v, c->code)) {
        finding(v, N_("county %s: listed twice"), c->code);
        return;
    }
    if (strcmp(c->code, v->last_listed) < 0)
        finding(v,
                N_("county %s: listed after county %s (the county records are not in code order)"),
                c->code, v->last_listed);
    else
        snprintf(v->last_listed, sizeof v->last_listed, "%s", c->code);
    county_state *s = county_add(v, c->code);
    if (!s)
        return;
    s->listed = true;
    v->sum->counties++;
    s->epochs = c->n_epochs ? calloc(c->n_epochs, sizeof *s->epochs) : NULL;
    if (c->n_epochs && !s->epochs) {
        finding(v, N_("county %s: out of memory"), c->code);
        return;
    }
    if (c->n_epochs == 0)
        finding(v, N_("county %s: no key was ever enrolled"), c->code);
    for (size_t i = 0; i < c->n_epochs; i++) {
        const Zb__KeyEpoch *e = c->epochs[i];
        if (e->key.len != ZB_PK_LEN) {
            finding(v, N_("county %s: key epoch %zu: key is not 32 bytes"), c->code, i);
            continue;
        }
        epoch *d = &s->epochs[s->n_epochs++];
        memcpy(d->key, e->key.data, ZB_PK_LEN);
        d->first_seq = e->first_seq;
        d->last_seq = e->last_seq;
        d->enrolled_at = e->enrolled_at;
        d->revoked_at = e->revoked_at;
        if (i + 1 < c->n_epochs && e->revoked_at == 0)
            finding(v, N_("county %s: key epoch %zu is active but a later key was enrolled"),
                    c->code, i);
    }
}

/* A BundleEvidence record (versions 1 and 2): matched against the logged
 * report as the entries go by. */
static void on_evidence(verifier *v, const Zb__BundleEvidence *e, uint64_t rec_no)
{
    bool in_place = v->phase <= PH_EVIDENCE;
    enter_phase(v, PH_EVIDENCE, rec_no);
    v->evidence_records++;
    v->sum->evidence++;
    if (v->version >= 3) {
        finding(v,
                N_("record %" PRIu64 ": an evidence record in a version %" PRIu32
                   " bundle (whose evidence is in the log)"),
                rec_no, v->version);
        return;
    }
    if (!in_place)
        return; /* already a finding; matching it would need the entries again */
    if (!zb_county_code_valid(e->county)) {
        finding(v, N_("record %" PRIu64 ": evidence county code is not 6 digits"), rec_no);
        return;
    }
    if (!evidence_push(&v->evidence, &v->n_evidence, &v->cap_evidence)) {
        finding(v, N_("evidence: out of memory"));
        return;
    }
    evidence_state *s = &v->evidence[v->n_evidence - 1];
    v->evidence_sorted = false;
    snprintf(s->code, sizeof s->code, "%s", e->county);
    s->seq = e->seq;
    Zb__Envelope *env = NULL;
    Zb__Report *rep = NULL;
    int rc = zb_envelope_open(e->envelope.data, e->envelope.len, &env, &rep);
    if (rc) {
        finding(v, N_("evidence county %s seq %" PRIu64 ": envelope does not verify: %s"), s->code,
                s->seq, vt(v, zb_strerror(rc)));
        return;
    }
    const county_state *c = county_find(v, s->code);
    const epoch *k = c ? key_for_seq(c, s->seq, NULL) : NULL;
    if (strcmp(rep->county, s->code) != 0 || rep->seq != s->seq)
        finding(v,
                N_("evidence county %s seq %" PRIu64
                   ": the signed report is for county %.16s seq %" PRIu64),
                s->code, s->seq, rep->county, rep->seq);
    else if (!c)
        finding(v, N_("evidence county %s seq %" PRIu64 ": county not in the bundle"), s->code,
                s->seq);
    else if (!k || memcmp(k->key, env->signer.data, ZB_PK_LEN) != 0)
        finding(
            v,
            N_("evidence county %s seq %" PRIu64 ": not signed by the key enrolled for that seq"),
            s->code, s->seq);
    else
        s->valid = true;
    zb_report_hash(env->report.data, env->report.len, s->report_hash);
    memcpy(s->signer, env->signer.data, ZB_PK_LEN);
    zb__report__free_unpacked(rep, NULL);
    zb__envelope__free_unpacked(env, NULL);
}

/* ---------------------------------------------------------------- log entries */

/* Whether signer is the county's key active at this point of the log
 * (version 3: its KeyEvent leaves); else a finding, what names the leaf. */
static bool signed_by_active(verifier *v, const county_state *c, const uint8_t *signer,
                             const char *what)
{
    if (!c->active && c->next_epoch == 0) {
        finding(v, N_("%s: no key of the county was enrolled before it in the log"), what);
        return false;
    }
    if (!c->active) {
        finding(v,
                N_("%s: no key of the county is active at that point of the log (epoch %" PRIu32
                   " was revoked at log entry %" PRIu64 ")"),
                what, c->revoked_epoch, c->revoked_index);
        return false;
    }
    if (memcmp(signer, c->key, ZB_PK_LEN) != 0) {
        finding(v, N_("%s: signed by %s…, not by the county's active key (epoch %" PRIu32 ", %s…)"),
                what, KEY(signer), c->epoch, KEY(c->key));
        return false;
    }
    return true;
}

/* A county's key changed in the bare prefix of a log begun before log
 * version 2 (key: the county record's epoch ei, first signing seq at log
 * entry idx): a key the log may not enrol again, and a pin seen. */
static void pre_log_key(verifier *v, county_state *c, const uint8_t key[ZB_PK_LEN], uint32_t ei,
                        uint64_t seq, uint64_t idx)
{
    if (!key_known(v, key))
        key_remember(v, key, c, idx, true);
    pin_state *p = pin_of(c, key);
    if (p) {
        if (!p->seen) {
            p->seen = true;
            p->pre_log = true;
            p->epoch = ei;
            p->enrolled_index = idx;
        }
        if (!c->first_pin) {
            c->first_pin = p;
            c->first_pin_index = idx;
        }
    } else if (c->first_pin) {
        finding(v,
                N_("county %s seq %" PRIu64 " (log entry %" PRIu64 "): signed by %s… (the "
                   "bundle's county record, epoch %" PRIu32
                   "), which is not one of the county's own "
                   "keys (--county-key), after its own key %s… (log entry %" PRIu64 ")"),
                c->code, seq, idx, KEY(key), ei, KEY(c->first_pin->pin->key), c->first_pin_index);
    }
}

/* A log entry holding a county's report (an Envelope): bare (a log begun
 * before log version 2: checked against the BundleCounty keys) or inside
 * a LogLeaf (logged: checked against the log's own key history). */
static void on_report(verifier *v, const uint8_t *bytes, size_t len, uint64_t idx, int64_t time,
                      bool logged)
{
    v->sum->reports++;
    Zb__Envelope *env = NULL;
    Zb__Report *rep = NULL;
    int rc = zb_envelope_open(bytes, len, &env, &rep);
    if (rc) {
        finding(v, N_("log entry %" PRIu64 ": envelope does not verify: %s"), idx,
                vt(v, zb_strerror(rc)));
        return;
    }
    if (!zb_pb_canonical(&env->base, bytes, len))
        finding(v, N_("log entry %" PRIu64 ": envelope is not in canonical encoding"), idx);
    if (v->opts->report)
        v->opts->report(v->opts->observe_ctx, rep, idx, time);
    county_state *c = county_find(v, rep->county);
    if (!c) {
        if (logged)
            finding(v,
                    N_("log entry %" PRIu64 ": county %.16s seq %" PRIu64
                       ": no key of the county was enrolled before it in the log"),
                    idx, rep->county, rep->seq);
        else
            finding(v,
                    N_("log entry %" PRIu64 ": county %.16s seq %" PRIu64
                       ": county not enrolled in the bundle"),
                    idx, rep->county, rep->seq);
        goto done;
    }
    if (logged) {
        char what[80];
        snprintf(what, sizeof what, vt(v, "county %s seq %" PRIu64 " (log entry %" PRIu64 ")"),
                 c->code, rep->seq, idx);
        (void)signed_by_active(v, c, env->signer.data, what);
    } else {
        uint32_t ei = 0;
        const epoch *k = key_for_seq(c, rep->seq, &ei);
        if (!k || memcmp(k->key, env->signer.data, ZB_PK_LEN) != 0) {
            finding(v, N_("county %s seq %" PRIu64 ": not signed by the key enrolled for that seq"),
                    c->code, rep->seq);
        } else {
            bool changed = !c->active || memcmp(c->key, k->key, ZB_PK_LEN) != 0;
            /* the key the log's LogLeafs continue with, until a REVOKED event */
            c->active = true;
            c->pre_log = true;
            c->has_revoked = false;
            memcpy(c->key, k->key, ZB_PK_LEN);
            c->epoch = ei;
            c->first_seq = k->first_seq;
            if (c->next_epoch <= ei)
                c->next_epoch = ei + 1;
            if (changed)
                pre_log_key(v, c, k->key, ei, rep->seq, idx);
        }
    }
    if (rep->seq < c->next_seq) {
        finding(
            v,
            N_("county %s seq %" PRIu64 ": appears again (log entry %" PRIu64 ") or out of order"),
            c->code, rep->seq, idx);
    } else {
        if (rep->seq > c->next_seq)
            finding(v, N_("county %s: seq %" PRIu64 " follows %" PRIu64 " (gap)"), c->code,
                    rep->seq, c->next_seq - 1);
        if (memcmp(rep->prev_hash.data, c->prev, ZB_SHA256_LEN) != 0)
            finding(v, N_("county %s seq %" PRIu64 ": hash chain broken"), c->code, rep->seq);
        c->next_seq = rep->seq + 1;
        if (rep->seq == c->reports_logged + 1)
            c->reports_logged = rep->seq;
        zb_report_hash(env->report.data, env->report.len, c->prev);
        memcpy(c->prev_signer, env->signer.data, ZB_PK_LEN);
    }
    uint8_t h[ZB_SHA256_LEN];
    zb_report_hash(env->report.data, env->report.len, h);
    for (evidence_state *ev = evidence_find(v, c->code, rep->seq);
         ev && ev < v->evidence + v->n_evidence && strcmp(ev->code, c->code) == 0 &&
         ev->seq == rep->seq;
         ev++) {
        ev->matched = true;
        ev->differs = memcmp(ev->report_hash, h, ZB_SHA256_LEN) != 0;
        memcpy(ev->logged_signer, env->signer.data, ZB_PK_LEN);
    }
done:
    zb__report__free_unpacked(rep, NULL);
    zb__envelope__free_unpacked(env, NULL);
}

/* Why a downstream leaf did not open (rc from zb_down_open), in words. The
 * bytes are decoded again only to tell the reasons apart. */
static void downstream_failure(const verifier *v, const uint8_t *buf, size_t len,
                               const uint8_t key[ZB_PK_LEN], int rc, char *why, size_t why_len)
{
    if (rc == ZB_ETOOBIG) {
        snprintf(why, why_len, vt(v, "over the %u-byte limit"), ZB_DOWN_MAX);
        return;
    }
    if (rc == ZB_EDECODE) {
        snprintf(why, why_len, "%s",
                 vt(v, "not a strictly decodable, canonically encoded message"));
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
                 signed_ok ? vt(v, "its aggregator field is not the aggregator key")
                           : vt(v, "signature does not verify with the aggregator key"));
    } else if (rc == ZB_EVALIDATION && d) {
        zb_problems p = {.localize = v->opts->localized};
        zb_down_validate(d, &p);
        size_t at = (size_t)snprintf(why, why_len, "%s", vt(v, "breaks the content rules:"));
        for (size_t i = 0; i < p.n && at < why_len; i++)
            at += (size_t)snprintf(why + at, why_len - at, "%s %s", i ? ";" : "", p.lines[i]);
        zb_problems_free(&p);
    } else {
        snprintf(why, why_len, "%s", vt(v, zb_strerror(rc)));
    }
    if (d)
        zb__downstream__free_unpacked(d, NULL);
    if (sd)
        zb__signed_downstream__free_unpacked(sd, NULL);
}

/* A log entry holding one of the prefecture's downstream messages (a
 * SignedDownstream, bare or in a LogLeaf entered at time): signed by the
 * aggregator key, to a county of the bundle, numbered 1, 2, 3... per
 * county in log order, a review only of a report logged before it. */
static void on_downstream(verifier *v, const uint8_t *bytes, size_t len, uint64_t idx,
                          int64_t time, bool logged)
{
    v->sum->downstream++;
    if (!logged && v->version < 2)
        finding(v,
                N_("log entry %" PRIu64 ": a downstream message in a version %" PRIu32
                   " bundle (whose log holds county reports only)"),
                idx, v->version);
    const uint8_t *key = v->sum->has_header ? v->sum->agg_key : v->opts->pinned_key;
    if (!key) {
        finding(v,
                N_("log entry %" PRIu64 ": downstream message: no aggregator key to check it with"),
                idx);
        return;
    }
    Zb__Downstream *d = NULL;
    int rc = zb_down_open(bytes, len, key, &d);
    if (rc) {
        char why[300];
        downstream_failure(v, bytes, len, key, rc, why, sizeof why);
        finding(v, N_("log entry %" PRIu64 ": downstream message does not verify: %s"), idx, why);
        return;
    }
    if (v->opts->downstream)
        v->opts->downstream(v->opts->observe_ctx, d, idx, time);
    switch (d->body_case) {
    case ZB__DOWNSTREAM__BODY_REVIEW: v->sum->reviews++; break;
    case ZB__DOWNSTREAM__BODY_REMINDER: v->sum->reminders++; break;
    case ZB__DOWNSTREAM__BODY_DEADLINE: v->sum->deadlines++; break;
    case ZB__DOWNSTREAM__BODY_NOTICE: v->sum->notices++; break;
    default: break; /* zb_down_open refuses a message without a body */
    }
    if (time != d->created_at) {
        if (logged)
            finding(v,
                    N_("log entry %" PRIu64 ": the downstream message's created_at %" PRId64
                       " is not the leaf's timestamp %" PRId64),
                    idx, d->created_at, time);
        else
            finding(v,
                    N_("log entry %" PRIu64 ": received_at %" PRId64
                       " is not the downstream message's created_at %" PRId64),
                    idx, time, d->created_at);
    }
    county_state *c = county_find(v, d->county);
    if (!c) {
        finding(v,
                N_("log entry %" PRIu64 ": downstream message to county %s number %" PRIu64
                   ": county not in the bundle"),
                idx, d->county, d->number);
        goto done;
    }
    if (logged && c->next_epoch == 0)
        finding(v,
                N_("log entry %" PRIu64 ": downstream message to county %s number %" PRIu64
                   ": no key of the county was enrolled before it in the log"),
                idx, d->county, d->number);
    if (d->number < c->next_number) {
        finding(v,
                N_("county %s downstream number %" PRIu64 ": appears again (log entry %" PRIu64
                   ") or out of order"),
                c->code, d->number, idx);
    } else {
        if (d->number > c->next_number)
            finding(v, N_("county %s: downstream number %" PRIu64 " follows %" PRIu64 " (gap)"),
                    c->code, d->number, c->next_number - 1);
        c->next_number = d->number + 1;
    }
    if (d->body_case == ZB__DOWNSTREAM__BODY_REVIEW && d->review->seq > c->reports_logged)
        finding(v,
                N_("county %s downstream number %" PRIu64 " (log entry %" PRIu64
                   "): review of seq %" PRIu64 ", which is not logged before it"),
                c->code, d->number, idx, d->review->seq);
done:
    zb__downstream__free_unpacked(d, NULL);
}

/* every key event finding begins "county %s epoch %" PRIu32 " (log entry %" PRIu64 "): "
 * (written out in each format: a translation is of the whole line) */
#define KE_ARGS c->code, e->epoch, idx

/* An ENROLLED event of c against its pins (before c's state moves on to
 * it): once the log has enrolled one of the county office's keys, every
 * key enrolled for the county after it must be one of them. */
static void enrolled_pin(verifier *v, county_state *c, const Zb__KeyEvent *e, uint64_t idx)
{
    if (!c->n_pins)
        return;
    pin_state *p = pin_of(c, e->key.data);
    if (p) {
        if (!p->seen) {
            p->seen = true;
            p->epoch = e->epoch;
            p->enrolled_index = idx;
        }
        if (!c->first_pin) {
            c->first_pin = p;
            c->first_pin_index = idx;
        }
        return;
    }
    if (!c->first_pin)
        return; /* before the office's first key: history it does not vouch for */
    char how[160];
    if (c->has_revoked)
        snprintf(
            how, sizeof how,
            vt(v, "it replaces epoch %" PRIu32 " (%s…), revoked at log entry %" PRIu64 " (%s)"),
            c->revoked_epoch, KEY(c->revoked_key), c->revoked_index,
            c->revoked_consented ? vt(v, "consented") : vt(v, "NOT consented"));
    else /* a pin was enrolled, and no revocation since: a key is active */
        snprintf(how, sizeof how, vt(v, "enrolled while epoch %" PRIu32 " (%s…) is active"),
                 c->epoch, KEY(c->key));
    finding(v,
            N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
               "): enrols %s…, which is not one of the county's own keys (--county-key), "
               "after its own key %s… (log entry %" PRIu64 "); %s"),
            KE_ARGS, KEY(e->key.data), KEY(c->first_pin->pin->key), c->first_pin_index, how);
}

/* An ENROLLED event: the county has no active key, the epoch is the next,
 * the key takes the seq after the county's last one and continues its
 * chain; a rotation is consented by the key revoked just before it. */
static void on_enrolled(verifier *v, county_state *c, const Zb__KeyEvent *e,
                        const Zb__KeyRequest *req, uint64_t idx, int64_t t,
                        zb_audit_key_event *out)
{
    uint64_t last = c->next_seq - 1;
    bool rotation = req && req->has_previous_key;
    if (c->active)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): enrolled while epoch %" PRIu32 " (%s…) is still active (no "
                   "revocation before it)"),
                KE_ARGS, c->epoch, KEY(c->key));
    if (e->epoch != c->next_epoch)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): out of order: the county's next key epoch is %" PRIu32),
                KE_ARGS, c->next_epoch);
    if (e->seq != last + 1)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64 "): enrolled from seq %" PRIu64
                   ", but the county's reports in the log "
                   "end at seq %" PRIu64),
                KE_ARGS, e->seq, last);
    else if (e->has_prev_hash && e->prev_hash.len == ZB_SHA256_LEN &&
             memcmp(e->prev_hash.data, c->prev, ZB_SHA256_LEN) != 0) {
        if (last == 0)
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): its prev_hash is not zero (the county has no report before it)"),
                    KE_ARGS);
        else
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): its prev_hash is not the hash of the county's seq %" PRIu64
                       " in the log"),
                    KE_ARGS, last);
    }
    /* a key is enrolled once: its request is in the log, where anyone can
     * read it and log it again (a replay), so a second enrolment of a key
     * proves nothing of its holder */
    const known_key *before = key_known(v, e->key.data);
    if (c->has_revoked && memcmp(e->key.data, c->revoked_key, ZB_PK_LEN) == 0)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): enrols again the key revoked at log entry %" PRIu64 " (a revoked key "
                   "never comes back)"),
                KE_ARGS, c->revoked_index);
    else if (before && before->pre_log)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): enrols %s… again, the key of county %s from before the log recorded "
                   "key events (it signed log entry %" PRIu64 ") (a key is enrolled once)"),
                KE_ARGS, KEY(e->key.data), v->counties[before->county].code, before->log_index);
    else if (before && &v->counties[before->county] != c)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): enrols %s… again, enrolled before for county %s at log entry %" PRIu64
                   " (a key is enrolled once, for one county)"),
                KE_ARGS, KEY(e->key.data), v->counties[before->county].code, before->log_index);
    else if (before)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): enrols %s… again, enrolled before at log entry %" PRIu64 " (a key is "
                   "enrolled once: a replayed request)"),
                KE_ARGS, KEY(e->key.data), before->log_index);
    if (!before)
        key_remember(v, e->key.data, c, idx, false);
    out->consented = -1;
    if (c->has_revoked) {
        out->previous_epoch = c->revoked_epoch;
        bool as_consented = c->revoked_consented && memcmp(e->key.data, c->consent_to,
                                                           ZB_PK_LEN) == 0;
        if (c->revoked_consented && !as_consented)
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): enrols %s…, but the revocation of epoch %" PRIu32 " (log entry %" PRIu64
                       ") consented to a rotation to %s…"),
                    KE_ARGS, KEY(e->key.data), c->revoked_epoch, c->revoked_index,
                    KEY(c->consent_to));
        if (rotation && memcmp(req->previous_key.data, c->revoked_key, ZB_PK_LEN) != 0)
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): a rotation from %s…, which is not the key revoked before it "
                       "(epoch %" PRIu32 ", %s…)"),
                    KE_ARGS, KEY(req->previous_key.data), c->revoked_epoch, KEY(c->revoked_key));
        else if (rotation && !c->revoked_consented)
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): a rotation consented by epoch %" PRIu32 ", whose revocation (log "
                       "entry %" PRIu64 ") is logged as not consented"),
                    KE_ARGS, c->revoked_epoch, c->revoked_index);
        out->consented = as_consented ? 1 : 0;
    } else if (rotation) {
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): a rotation from %s…, but no key of the county was revoked before it"),
                KE_ARGS, KEY(req->previous_key.data));
    }
    if (c->listed) {
        if (e->epoch >= c->n_epochs) {
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): enrolled in the log, but the bundle's county record lists %zu key "
                       "epoch(s)"),
                    KE_ARGS, c->n_epochs);
        } else {
            const epoch *b = &c->epochs[e->epoch];
            if (memcmp(b->key, e->key.data, ZB_PK_LEN) != 0 || b->first_seq != e->seq ||
                b->enrolled_at != t)
                finding(v,
                        N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                           "): the bundle's county record disagrees with this ENROLLED event "
                           "(it says key %s…, first seq %" PRIu64 ", enrolled at %" PRId64 ")"),
                        KE_ARGS, KEY(b->key), b->first_seq, b->enrolled_at);
        }
    }
    if (out->consented == 1)
        v->sum->rotations++;
    enrolled_pin(v, c, e, idx);
    c->active = true;
    c->pre_log = false;
    c->has_revoked = false;
    memcpy(c->key, e->key.data, ZB_PK_LEN);
    c->epoch = e->epoch;
    c->first_seq = e->seq;
    c->enrolled_index = idx;
    if (e->epoch >= c->next_epoch)
        c->next_epoch = e->epoch == UINT32_MAX ? UINT32_MAX : e->epoch + 1;
}

/* A REVOKED event: of the active key, after the county's last seq. */
static void on_revoked(verifier *v, county_state *c, const Zb__KeyEvent *e,
                       const Zb__KeyRequest *req, uint64_t idx, int64_t t,
                       zb_audit_key_event *out)
{
    uint64_t last = c->next_seq - 1;
    bool consented = e->has_consented && e->consented;
    if (!c->active)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): revoked, but no key of the county is active"),
                KE_ARGS);
    else if (e->epoch != c->epoch || memcmp(e->key.data, c->key, ZB_PK_LEN) != 0)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                   "): revokes %s…, but the county's active key is epoch %" PRIu32 " (%s…)"),
                KE_ARGS, KEY(e->key.data), c->epoch, KEY(c->key));
    /* the last seq it signed: the county's last, or 0 for a key that
     * signed nothing (its first seq is still to come) */
    bool signed_none = c->active && c->first_seq > last;
    if (e->seq != last && !(e->seq == 0 && signed_none))
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64 "): revoked after seq %" PRIu64
                   ", but the county's reports in the log "
                   "end at seq %" PRIu64),
                KE_ARGS, e->seq, last);
    if (c->listed && e->epoch < c->n_epochs) {
        const epoch *b = &c->epochs[e->epoch];
        if (b->revoked_at == 0)
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): the bundle's county record disagrees with this REVOKED event (it "
                       "says the key is still active)"),
                    KE_ARGS);
        else if (b->revoked_at != t || b->last_seq != e->seq)
            finding(v,
                    N_("county %s epoch %" PRIu32 " (log entry %" PRIu64
                       "): the bundle's county record disagrees with this REVOKED event (it "
                       "says revoked at %" PRId64 " after seq %" PRIu64 ")"),
                    KE_ARGS, b->revoked_at, b->last_seq);
    }
    out->consented = consented ? 1 : 0;
    if (!consented)
        v->sum->revocations_unconsented++;
    if (consented && req)
        memcpy(c->consent_to, req->key.data, ZB_PK_LEN);
    else
        memset(c->consent_to, 0, ZB_PK_LEN);
    c->active = false;
    c->has_revoked = true;
    memcpy(c->revoked_key, e->key.data, ZB_PK_LEN);
    c->revoked_epoch = e->epoch;
    c->revoked_index = idx;
    c->revoked_consented = consented;
    /* a pin once revoked stays revoked: the first revocation without
     * consent is kept (else the first consented one) */
    pin_state *p = pin_of(c, e->key.data);
    if (p && (!p->revoked || (p->revoked_consented && !consented))) {
        p->revoked = true;
        p->revoked_consented = consented;
        p->revoked_epoch = e->epoch;
        p->revoked_index = idx;
    }
}

/* A KeyEvent leaf entered at t: checked on its own (zb_key_event_check),
 * then against the county's history so far; reported to opts.key_event. */
/* zb_key_event_check's why (English, logleaf.c) in the findings'
 * language: its fixed reasons are msgids; the one with a code's words is
 * put together again. */
static const char *key_event_why(const verifier *v, const char *why, char *buf, size_t len)
{
    static const char prefix[] = "its key request does not verify (";
    size_t n = strlen(why), p = sizeof prefix - 1;
    if (!v->opts->localized || n <= p || strncmp(why, prefix, p) != 0 || why[n - 1] != ')')
        return vt(v, why);
    char code[100];
    snprintf(code, sizeof code, "%.*s", (int)(n - p - 1), why + p);
    snprintf(buf, len, vt(v, "its key request does not verify (%s)"), vt(v, code));
    return buf;
}

static void on_key_event(verifier *v, const Zb__KeyEvent *e, uint64_t idx, int64_t t)
{
    v->sum->key_events++;
    char why[200], why_tr[400];
    if (zb_key_event_check(e, why, sizeof why) != 0)
        finding(v,
                N_("county %s epoch %" PRIu32 " (log entry %" PRIu64 "): key event does not "
                   "verify: %s"),
                e->county, e->epoch, idx, key_event_why(v, why, why_tr, sizeof why_tr));
    Zb__KeyRequest *req = NULL;
    if (e->has_request && zb_keyreq_open(e->request.data, e->request.len, &req) != 0)
        req = NULL; /* already a finding */
    county_state *c = county_find(v, e->county);
    if (!c && !(c = county_add(v, e->county)))
        goto done;
    if (!c->listed && !c->unlisted_reported) {
        finding(v,
                N_("county %s (log entry %" PRIu64 "): in the log's key history, but the bundle "
                   "has no county record for it"),
                c->code, idx);
        c->unlisted_reported = true;
    }
    zb_audit_key_event out = {0};
    snprintf(out.county, sizeof out.county, "%s", c->code);
    out.epoch = e->epoch;
    out.enrolled = e->kind == ZB__KEY_EVENT_KIND__ENROLLED;
    memcpy(out.key, e->key.data, ZB_PK_LEN);
    out.seq = e->seq;
    out.log_index = idx;
    out.time = t;
    if (out.enrolled)
        on_enrolled(v, c, e, req, idx, t, &out);
    else
        on_revoked(v, c, e, req, idx, t, &out);
    if (v->opts->key_event)
        v->opts->key_event(v->opts->key_event_ctx, &out);
done:
    if (req)
        zb__key_request__free_unpacked(req, NULL);
}

/* An Evidence leaf: a second, different report the aggregator refused for
 * a (county, seq) the log holds before it, signed by the county's key
 * active at that point. Whether it differs is decided at the end (the
 * logged report may have to be read again). */
static void on_evidence_leaf(verifier *v, const Zb__Evidence *ev, uint64_t idx)
{
    v->sum->evidence++;
    char what[96];
    snprintf(what, sizeof what, vt(v, "evidence county %s seq %" PRIu64 " (log entry %" PRIu64 ")"),
             ev->county, ev->seq, idx);
    Zb__Envelope *env = NULL;
    Zb__Report *rep = NULL;
    int rc = zb_envelope_open(ev->envelope.data, ev->envelope.len, &env, &rep);
    if (rc) {
        finding(v, N_("%s: envelope does not verify: %s"), what, vt(v, zb_strerror(rc)));
        return;
    }
    if (!zb_pb_canonical(&env->base, ev->envelope.data, ev->envelope.len))
        finding(v, N_("%s: envelope is not in canonical encoding"), what);
    const county_state *c = county_find(v, ev->county);
    if (strcmp(rep->county, ev->county) != 0 || rep->seq != ev->seq)
        finding(v, N_("%s: the signed report is for county %.16s seq %" PRIu64), what, rep->county,
                rep->seq);
    else if (!c || c->next_epoch == 0)
        finding(v, N_("%s: no key of the county was enrolled before it in the log"), what);
    else if (ev->seq > c->reports_logged)
        finding(v, N_("%s: no logged report for that (county, seq) before it to conflict with"),
                what);
    else if (signed_by_active(v, c, env->signer.data, what)) {
        if (!evidence_push(&v->ev_leaves, &v->n_ev_leaves, &v->cap_ev_leaves)) {
            finding(v, N_("evidence: out of memory"));
        } else {
            evidence_state *s = &v->ev_leaves[v->n_ev_leaves - 1];
            snprintf(s->code, sizeof s->code, "%s", ev->county);
            s->seq = ev->seq;
            s->valid = true;
            s->log_index = idx;
            s->position = v->sum->entries - 1;
            zb_report_hash(env->report.data, env->report.len, s->report_hash);
            memcpy(s->signer, env->signer.data, ZB_PK_LEN);
            if (ev->seq == c->next_seq - 1) { /* the county's latest: its hash is at hand */
                s->matched = true;
                s->differs = memcmp(s->report_hash, c->prev, ZB_SHA256_LEN) != 0;
                memcpy(s->logged_signer, c->prev_signer, ZB_PK_LEN);
            }
        }
    }
    zb__report__free_unpacked(rep, NULL);
    zb__envelope__free_unpacked(env, NULL);
}

/* A LogLeaf entry (log version 2): its time, then what it holds. */
static void on_logleaf(verifier *v, const Zb__BundleEntry *e, uint64_t idx)
{
    Zb__LogLeaf *leaf = NULL;
    if (zb_leaf_decode(e->envelope.data, e->envelope.len, &leaf) != 0) {
        finding(v,
                N_("log entry %" PRIu64 ": not a well-formed LogLeaf (strictly decodable, "
                   "canonical, one entry)"),
                idx);
        return;
    }
    if (v->version < 3)
        finding(v,
                N_("log entry %" PRIu64 ": a LogLeaf in a version %" PRIu32
                   " bundle (whose log has none)"),
                idx, v->version);
    if (!v->saw_logleaf) {
        v->saw_logleaf = true;
        v->first_logleaf_index = idx;
    } else if (leaf->timestamp < v->leaf_time) {
        finding(v,
                N_("log entry %" PRIu64 ": its time %" PRId64 " is before log entry %" PRIu64
                   "'s (%" PRId64 "): the log's times run backwards"),
                idx, leaf->timestamp, v->leaf_time_index, v->leaf_time);
    }
    v->leaf_time = leaf->timestamp;
    v->leaf_time_index = idx;
    if (e->received_at != leaf->timestamp)
        finding(v,
                N_("log entry %" PRIu64 ": received_at %" PRId64
                   " is not the leaf's timestamp %" PRId64),
                idx, e->received_at, leaf->timestamp);
    switch (leaf->entry_case) {
    case ZB__LOG_LEAF__ENTRY_ENVELOPE:
        on_report(v, leaf->envelope.data, leaf->envelope.len, idx, leaf->timestamp, true);
        break;
    case ZB__LOG_LEAF__ENTRY_DOWNSTREAM:
        on_downstream(v, leaf->downstream.data, leaf->downstream.len, idx, leaf->timestamp, true);
        break;
    case ZB__LOG_LEAF__ENTRY_KEY_EVENT: on_key_event(v, leaf->key_event, idx, leaf->timestamp); break;
    case ZB__LOG_LEAF__ENTRY_EVIDENCE: on_evidence_leaf(v, leaf->evidence, idx); break;
    default: break; /* zb_leaf_decode refuses a leaf without an entry */
    }
    zb__log_leaf__free_unpacked(leaf, NULL);
}

static void on_entry(verifier *v, const Zb__BundleEntry *e, const rec_reader *r, uint64_t rec_no)
{
    enter_phase(v, PH_ENTRY, rec_no);
    prepare(v);
    if (v->sum->entries == 0)
        v->entries_at = r->start;
    v->sum->entries++;
    if (v->opts->progress)
        v->opts->progress(v->opts->progress_ctx, v->sum->entries,
                          v->header ? v->header->entry_count : 0);
    uint8_t leaf[ZB_HASH_LEN];
    zb_merkle_leaf_hash(e->envelope.data, e->envelope.len, leaf);
    acc_add(&v->acc, leaf);
    advance_targets(v);
    uint64_t idx = e->log_index;
    if (idx != v->next_index) {
        if (idx < v->next_index)
            finding(v,
                    N_("log entry %" PRIu64 ": appears again or out of order (after entry %" PRIu64
                       ")"),
                    idx, v->next_index - 1);
        else
            finding(v,
                    N_("log entry %" PRIu64 ": entries %" PRIu64 "..%" PRIu64
                       " are missing or out of order"),
                    idx, v->next_index, idx - 1);
    }
    v->next_index = idx + 1 > v->next_index ? idx + 1 : v->next_index;
    if (v->sum->entries == 1 || e->received_at > v->latest_received) {
        v->latest_received = e->received_at;
        v->latest_received_index = idx;
    }
    /* the first bytes tell the kinds of leaf apart (zhibao.proto, logleaf.h) */
    const uint8_t *b = e->envelope.data;
    size_t n = e->envelope.len;
    if (zb_leaf_is_logleaf(b, n)) {
        on_logleaf(v, e, idx);
    } else if (zb_down_is_leaf(b, n)) {
        if (v->version >= 3)
            finding(v,
                    N_("log entry %" PRIu64 ": a bare downstream message in a version %" PRIu32
                       " bundle (whose downstream messages are LogLeafs)"),
                    idx, v->version);
        on_downstream(v, b, n, idx, e->received_at, false);
    } else {
        if (v->saw_logleaf)
            finding(v,
                    N_("log entry %" PRIu64 ": a bare envelope after the log's first LogLeaf (log "
                       "entry %" PRIu64 "): once the log holds LogLeafs, every leaf is one"),
                    idx, v->first_logleaf_index);
        on_report(v, b, n, idx, e->received_at, false);
    }
}

/* ---------------------------------------------------------------- witnesses */

/* Whether key is one of the auditor's witnesses (opts.witness_keys). */
static bool witness_listed(const zb_audit_opts *o, const ProtobufCBinaryData *key)
{
    if (key->len != ZB_PK_LEN)
        return false;
    for (size_t i = 0; i < o->n_witness_keys; i++)
        if (memcmp(o->witness_keys[i], key->data, ZB_PK_LEN) == 0)
            return true;
    return false;
}

/* The cosignatures of head (decoded from sth, verified with key; what
 * names it in findings): each by a listed witness must verify, one finding
 * per one that does not, naming the witness; the others are counted, not
 * checked. Tallied into t (cosig.h). Each cosignature is verified once, by
 * the tally; only when the tally saw an invalid one, or did not look at
 * them all (it stops at 4 * ZB_WITNESS_MAX), are they verified again here
 * to name the bad ones. */
static void check_cosignatures(verifier *v, const Zb__SignedTreeHead *sth, const uint8_t *key,
                               const zb_tree_head *head, const char *what, zb_cosig_tally *t)
{
    const zb_audit_opts *o = v->opts;
    zb_cosig_tally_head(sth, key, head, o->witness_keys, o->n_witness_keys, t);
    bool all_valid = t->invalid == 0 && sth->n_cosignatures <= 4 * ZB_WITNESS_MAX;
    for (size_t i = 0; i < sth->n_cosignatures; i++) {
        const Zb__Cosignature *c = sth->cosignatures[i];
        v->sum->cosignatures++;
        if (!witness_listed(o, &c->witness)) {
            v->sum->cosignatures_unlisted++;
            continue;
        }
        int rc = all_valid ? 0 : zb_cosig_verify(c, key, head);
        if (rc)
            finding(v,
                    N_("%s: the cosignature of witness %s… (--witness-key), dated %" PRId64
                       ", does not verify (%s)"),
                    what, KEY(c->witness.data), c->timestamp,
                    rc == ZB_EDECODE ? vt(v, "its signature is not 64 bytes")
                                     : vt(v, "not its signature of this head of this log at that "
                                             "time"));
    }
}

/* A witnessed_head record (version 4): between the county records and the
 * first entry (so that its root is computed on the way), in strictly
 * ascending size, signed by the aggregator key, its cosignatures checked;
 * whether it is a head of the bundle's log is decided at the end. */
static void on_witnessed(verifier *v, const Zb__SignedTreeHead *sth, uint64_t rec_no)
{
    bool in_place = v->phase <= PH_WITNESSED && !v->prepared;
    enter_phase(v, PH_WITNESSED, rec_no);
    v->sum->witnessed_heads++;
    if (v->version < 4) {
        finding(v,
                N_("record %" PRIu64 ": a witnessed head record in a version %" PRIu32
                   " bundle (whose heads carry no cosignatures)"),
                rec_no, v->version);
        return;
    }
    if (!in_place)
        return; /* already a finding: the entries it needs the root of went by */
    const uint8_t *key = agg_key(v);
    if (!key) {
        finding(v, N_("record %" PRIu64 ": witnessed head: no aggregator key to check it with"),
                rec_no);
        return;
    }
    zb_tree_head head;
    int rc = zb_tree_head_verify(sth, key, &head);
    if (rc) {
        finding(v,
                N_("record %" PRIu64 ": witnessed head: does not verify with the aggregator key: "
                   "%s"),
                rec_no, vt(v, zb_strerror(rc)));
        return;
    }
    const witnessed_state *prev = v->n_witnessed ? &v->witnessed[v->n_witnessed - 1] : NULL;
    if (prev && head.size <= prev->head.size)
        finding(v,
                N_("witnessed head (size %" PRIu64 "): after the witnessed head of size %" PRIu64
                   " (witnessed heads come in strictly ascending size)"),
                head.size, prev->head.size);
    else if (prev && head.timestamp < prev->head.timestamp)
        finding(v,
                N_("witnessed head (size %" PRIu64 "): signed at %" PRId64 ", before the "
                   "witnessed head of size %" PRIu64 " (signed at %" PRId64 "): the aggregator's "
                   "clock went backwards"),
                head.size, head.timestamp, prev->head.size, prev->head.timestamp);
    if (v->n_witnessed == v->cap_witnessed) {
        size_t cap = v->cap_witnessed ? 2 * v->cap_witnessed : 8;
        witnessed_state *n = realloc(v->witnessed, cap * sizeof *n);
        if (!n) {
            finding(v, N_("witnessed heads: out of memory"));
            return;
        }
        v->witnessed = n;
        v->cap_witnessed = cap;
    }
    witnessed_state *w = &v->witnessed[v->n_witnessed++];
    memset(w, 0, sizeof *w);
    w->head = head;
    char what[64];
    snprintf(what, sizeof what, vt(v, "witnessed head (size %" PRIu64 ")"), head.size);
    check_cosignatures(v, sth, key, &head, what, &w->tally);
}

/* At the end: each witnessed head is a head of the bundle's log (its size
 * within it, the root of that prefix its root) and not signed after the
 * bundle's head; with witness keys, the largest head of the log a quorum
 * cosigned is the witnessed size, and a non-empty log needs one. The heads
 * go to opts.cosigned_head. */
static void check_witnessed(verifier *v)
{
    const zb_audit_opts *o = v->opts;
    size_t quorum = v->sum->witness_quorum;
    uint64_t witnessed_size = 0;
    for (size_t i = 0; i < v->n_witnessed; i++) {
        const witnessed_state *w = &v->witnessed[i];
        bool of_log = false;
        if (!w->prefix.found)
            finding(v,
                    N_("witnessed head (size %" PRIu64 ", signed at %" PRId64 "): the bundle's "
                       "log has only %" PRIu64
                       " entries: the witnesses cosigned a longer log of this "
                       "aggregator key than the bundle's (a trimmed or stale log)"),
                    w->head.size, w->head.timestamp, v->acc.leaves);
        else if (memcmp(w->prefix.root, w->head.root, ZB_HASH_LEN) != 0)
            finding(
                v,
                N_("witnessed head (size %" PRIu64 "): the root of the bundle's first %" PRIu64
                   " entries is not this head's root: the witnesses cosigned a different log of "
                   "this aggregator key than the bundle's (a split view or a rewritten log)"),
                w->head.size, w->head.size);
        else
            of_log = true;
        if (of_log && v->final_verified && w->head.timestamp > v->final_head.timestamp)
            finding(v,
                    N_("witnessed head (size %" PRIu64 "): signed at %" PRId64 ", after the "
                       "bundle's tree head (signed at %" PRId64 "): the aggregator's clock went "
                       "backwards"),
                    w->head.size, w->head.timestamp, v->final_head.timestamp);
        if (of_log && quorum && w->tally.valid >= quorum)
            witnessed_size = w->head.size > witnessed_size ? w->head.size : witnessed_size;
        if (o->cosigned_head) {
            zb_audit_cosigned_head h = {false, w->head, of_log, w->tally};
            o->cosigned_head(o->observe_ctx, &h);
        }
    }
    if (v->final_verified) {
        if (v->sum->head_ok && quorum && v->final_tally.valid >= quorum)
            witnessed_size = v->final_head.size > witnessed_size ? v->final_head.size
                                                                 : witnessed_size;
        if (o->cosigned_head) {
            zb_audit_cosigned_head h = {true, v->final_head, v->sum->head_ok, v->final_tally};
            o->cosigned_head(o->observe_ctx, &h);
        }
    }
    if (!quorum)
        return;
    v->sum->witnessed_size = witnessed_size;
    v->sum->unwitnessed_entries = v->acc.leaves - witnessed_size;
    if (v->acc.leaves > 0 && witnessed_size == 0) /* (a head of size 0 proves nothing) */
        finding(v,
                N_("witnesses: no tree head carries a quorum of %zu cosignatures of the given "
                   "witnesses (--witness-key)"),
                quorum);
}

static void on_tree_head(verifier *v, const Zb__SignedTreeHead *sth, uint64_t rec_no)
{
    enter_phase(v, PH_HEAD, rec_no);
    if (v->saw_head)
        return;
    v->saw_head = true;
    if (!v->sum->has_header) {
        finding(v, N_("tree head: no aggregator key to check it with"));
        return;
    }
    zb_tree_head head;
    int rc = zb_tree_head_verify(sth, v->sum->agg_key, &head);
    if (rc) {
        finding(v, N_("tree head: does not verify with the aggregator key: %s"),
                vt(v, zb_strerror(rc)));
        return;
    }
    v->final_verified = true;
    v->final_head = head;
    check_cosignatures(v, sth, v->sum->agg_key, &head, vt(v, "tree head"), &v->final_tally);
    uint8_t root[ZB_HASH_LEN];
    acc_root(&v->acc, root);
    bool ok = true;
    if (head.size != v->acc.leaves) {
        finding(v, N_("tree head: signed size %" PRIu64 ", the bundle has %" PRIu64 " log entries"),
                head.size, v->acc.leaves);
        ok = false;
    } else if (memcmp(root, head.root, ZB_HASH_LEN) != 0) {
        finding(v,
                N_("tree head: the root of the bundle's %" PRIu64
                   " log entries is not the signed root"),
                v->acc.leaves);
        ok = false;
    }
    /* every entry was received before the head that covers it was signed,
     * and heads never go back in time: a head signed before an entry it
     * covers came in means the aggregator's clock went backwards */
    if (ok && v->acc.leaves > 0 && head.timestamp < v->latest_received)
        finding(v,
                N_("tree head: signed at %" PRId64 ", before log entry %" PRIu64
                   " was received (received_at %" PRId64
                   "): the aggregator's clock went backwards"),
                head.timestamp, v->latest_received_index, v->latest_received);
    v->sum->head = head;
    v->sum->head_ok = ok;
}

static void on_end(verifier *v, const Zb__BundleEnd *e, const rec_reader *r, uint64_t rec_no)
{
    enter_phase(v, PH_END, rec_no);
    v->saw_end = true;
    if (e->record_count != rec_no - 1)
        finding(v, N_("end: says %" PRIu64 " records precede it, there are %" PRIu64),
                e->record_count, rec_no - 1);
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st = r->before;
    crypto_hash_sha256_final(&st, digest);
    if (e->sha256.len != sizeof digest || sodium_memcmp(e->sha256.data, digest, sizeof digest))
        finding(v, N_("end: the SHA-256 of the bundle's bytes does not match (altered, dropped, "
                      "added or re-ordered bytes)"));
}

/* ---------------------------------------------------------------- the end */

static int cmp_evidence_ptr(const void *a, const void *b)
{
    return cmp_evidence(*(const evidence_state *const *)a, *(const evidence_state *const *)b);
}

/* Pass 2: the logged report of each evidence leaf not matched on the way,
 * read again from the entries (only reports before the evidence count):
 * its hash and the key that signed it. */
static void match_report(evidence_state **pending, size_t n, const uint8_t *bytes, size_t len,
                         uint64_t pos)
{
    Zb__LogLeaf *leaf = NULL;
    const uint8_t *env = NULL;
    size_t env_len = 0;
    if (zb_leaf_is_logleaf(bytes, len)) {
        if (zb_leaf_decode(bytes, len, &leaf) == 0 &&
            leaf->entry_case == ZB__LOG_LEAF__ENTRY_ENVELOPE) {
            env = leaf->envelope.data;
            env_len = leaf->envelope.len;
        }
    } else if (!zb_down_is_leaf(bytes, len)) {
        env = bytes;
        env_len = len;
    }
    /* (the first pass verified these bytes; only their fields are wanted) */
    Zb__Envelope *e = env ? zb__envelope__unpack(NULL, env_len, env) : NULL;
    Zb__Report *rep = e && e->signer.len == ZB_PK_LEN
                          ? zb__report__unpack(NULL, e->report.len, e->report.data)
                          : NULL;
    if (rep && zb_county_code_valid(rep->county)) {
        evidence_state key, *kp = &key;
        snprintf(key.code, sizeof key.code, "%s", rep->county);
        key.seq = rep->seq;
        evidence_state **at = bsearch(&kp, pending, n, sizeof *pending, cmp_evidence_ptr);
        while (at && at > pending && cmp_evidence(at[-1], &key) == 0)
            at--;
        uint8_t h[ZB_SHA256_LEN];
        zb_report_hash(e->report.data, e->report.len, h);
        for (; at && at < pending + n && cmp_evidence(*at, &key) == 0; at++) {
            if ((*at)->matched || (*at)->position <= pos)
                continue;
            (*at)->matched = true;
            (*at)->differs = memcmp((*at)->report_hash, h, ZB_SHA256_LEN) != 0;
            memcpy((*at)->logged_signer, e->signer.data, ZB_PK_LEN);
        }
    }
    if (rep)
        zb__report__free_unpacked(rep, NULL);
    if (e)
        zb__envelope__free_unpacked(e, NULL);
    if (leaf)
        zb__log_leaf__free_unpacked(leaf, NULL);
}

static int rematch_evidence(verifier *v, FILE *f)
{
    size_t n = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < v->n_ev_leaves; i++)
        if (!v->ev_leaves[i].matched) {
            n++;
            last = v->ev_leaves[i].position > last ? v->ev_leaves[i].position : last;
        }
    if (n == 0)
        return ZB_OK;
    if (v->entries_at < 0 || fseeko(f, v->entries_at, SEEK_SET) != 0)
        return ZB_EIO;
    evidence_state **pending = malloc(n * sizeof *pending);
    if (!pending)
        return ZB_ENOMEM;
    n = 0;
    for (size_t i = 0; i < v->n_ev_leaves; i++)
        if (!v->ev_leaves[i].matched)
            pending[n++] = &v->ev_leaves[i];
    qsort(pending, n, sizeof *pending, cmp_evidence_ptr);
    rec_reader r;
    reader_init(&r, f);
    int rc = ZB_OK;
    for (uint64_t pos = 0; pos < last;) {
        int got = reader_next(&r);
        if (got == READ_IO) {
            rc = ZB_EIO;
            break;
        }
        if (got != READ_OK)
            break;
        Zb__BundleRecord *rec = zb__bundle_record__unpack(NULL, r.len, r.buf);
        if (rec && !zb_pb_has_unknown_fields(&rec->base) &&
            rec->record_case == ZB__BUNDLE_RECORD__RECORD_ENTRY) {
            match_report(pending, n, rec->entry->envelope.data, rec->entry->envelope.len, pos);
            pos++;
        }
        if (rec)
            zb__bundle_record__free_unpacked(rec, NULL);
    }
    reader_free(&r);
    free(pending);
    return rc;
}

/* Version 3: the BundleCounty records against the history the log built. */
static void check_county_records(verifier *v)
{
    for (size_t i = 0; i < v->n_counties; i++) {
        const county_state *c = &v->counties[i];
        if (!c->listed)
            continue;
        for (size_t k = c->next_epoch; k < c->n_epochs; k++)
            finding(v,
                    N_("county %s: the bundle's county record lists key epoch %zu (%s…), which "
                       "no ENROLLED event in the log enrolls"),
                    c->code, k, KEY(c->epochs[k].key));
        if (c->active && c->epoch < c->n_epochs && c->epochs[c->epoch].revoked_at != 0)
            finding(v,
                    N_("county %s epoch %" PRIu32 ": the bundle's county record says it was "
                       "revoked (at %" PRId64 "), the log has no REVOKED event for it"),
                    c->code, c->epoch, c->epochs[c->epoch].revoked_at);
    }
}

/* What the log has active for c at its end, for the pin findings. */
static void active_now(const verifier *v, const county_state *c, char *buf, size_t len)
{
    if (!c->active)
        snprintf(buf, len, "%s", vt(v, "no key is active"));
    else if (c->pre_log)
        snprintf(buf, len,
                 vt(v, "the active key is epoch %" PRIu32 " (%s…, from before the log "
                       "recorded key events)"),
                 c->epoch, KEY(c->key));
    else
        snprintf(
            buf, len,
            vt(v, "the active key is epoch %" PRIu32 " (%s…, enrolled at log entry %" PRIu64 ")"),
            c->epoch, KEY(c->key), c->enrolled_index);
}

/* Before version 3: the county record's last epoch is the active key, and
 * it must be one of the county's pins[0..n). */
static void check_pins_records(verifier *v, const char *code, const pin_state *pins, size_t n)
{
    const county_state *c = county_find(v, code);
    const epoch *last = c && c->n_epochs ? &c->epochs[c->n_epochs - 1] : NULL;
    char now[160];
    size_t given = 0;
    for (size_t i = 0; i < n; i++)
        given += !pins[i].duplicate;
    if (last && last->revoked_at == 0) {
        for (size_t i = 0; i < n; i++)
            if (memcmp(last->key, pins[i].pin->key, ZB_PK_LEN) == 0) {
                v->sum->pins_active++;
                return;
            }
        snprintf(now, sizeof now, vt(v, "epoch %zu, %s…"), c->n_epochs - 1, KEY(last->key));
    } else {
        snprintf(now, sizeof now, "%s", vt(v, "no key is active"));
    }
    if (given == 1)
        finding(v,
                N_("county %s: its own key %s… (--county-key) is not the active key of the "
                   "bundle's county record (%s)"),
                code, KEY(pins[0].pin->key), now);
    else
        finding(v,
                N_("county %s: none of its own keys (--county-key, %zu given) is the active key "
                   "of the bundle's county record (%s)"),
                code, given, now);
}

/* Version 3: the rules of a county office's list of keys pins[0..n)
 * (docs/bundle.md §5, check 11) at the end of the log; the rule "every
 * key enrolled after the first pin is a pin" was applied on the way
 * (enrolled_pin). */
static void check_pins_log(verifier *v, const char *code, pin_state *pins, size_t n)
{
    county_state *c = county_find(v, code);
    char now[160];
    if (!c || c->next_epoch == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!pins[i].duplicate)
                finding(v,
                        N_("county %s: its own key %s… (--county-key): the log enrols no key for "
                           "the county"),
                        code, KEY(pins[i].pin->key));
        }
        return;
    }
    active_now(v, c, now, sizeof now);
    bool reported = false;
    const pin_state *last = NULL; /* the pin the log enrolled last (first enrolments) */
    for (size_t i = 0; i < n; i++) {
        const pin_state *p = &pins[i];
        if (p->duplicate)
            continue; /* its first copy stands for it */
        if (!p->seen) {
            finding(v,
                    N_("county %s: its own key %s… (--county-key) was never enrolled in the log; "
                       "%s"),
                    code, KEY(p->pin->key), now);
            reported = true;
        } else if (!last || p->enrolled_index > last->enrolled_index) {
            last = p;
        }
    }
    /* an earlier key revoked without consent is a lost machine the office
     * lists a replacement for; its last key, never */
    if (last && last->revoked && !last->revoked_consented) {
        finding(v,
                N_("county %s: its own key %s… (--county-key) is epoch %" PRIu32 ", revoked at "
                   "log entry %" PRIu64 " (NOT consented); %s"),
                code, KEY(last->pin->key), last->revoked_epoch, last->revoked_index, now);
        reported = true;
    }
    if (c->active && pin_of(c, c->key)) {
        v->sum->pins_active++;
        return;
    }
    if (reported || !last)
        return; /* already a finding that names the active key */
    if (last->revoked)
        finding(v,
                N_("county %s: its own key %s… (--county-key) is epoch %" PRIu32 ", revoked at "
                   "log entry %" PRIu64 " (consented); %s"),
                code, KEY(last->pin->key), last->revoked_epoch, last->revoked_index, now);
    else
        finding(v,
                N_("county %s: its own key %s… (--county-key) is epoch %" PRIu32 ", replaced "
                   "without a revocation; %s"),
                code, KEY(last->pin->key), last->epoch, now);
}

/* --county-key, county by county (in code order): each office's list of
 * its keys against the log (the county record before version 3). */
static void check_pins(verifier *v)
{
    for (size_t i = 0, j; i < v->n_pins; i = j) {
        const char *code = v->pins[i].pin->county;
        for (j = i; j < v->n_pins && strcmp(v->pins[j].pin->county, code) == 0;)
            j++;
        if (v->version < 3)
            check_pins_records(v, code, &v->pins[i], j - i);
        else
            check_pins_log(v, code, &v->pins[i], j - i);
    }
}

/* Evidence that holds: one key signed two different reports for one seq. */
static void equivocation(verifier *v, const evidence_state *e)
{
    finding(v, N_("equivocation: county %s seq %" PRIu64 ": two different signed reports"), e->code,
            e->seq);
    v->sum->equivocations++;
}

/* The checks that need the whole bundle. */
static int at_end(verifier *v, FILE *f)
{
    prepare(v);
    if (!v->header) {
        finding(v, N_("bundle: no header record"));
    } else {
        const Zb__BundleHeader *h = v->header;
        if (h->county_count != v->sum->counties)
            finding(v, N_("header: says %" PRIu64 " counties, the bundle has %" PRIu64),
                    h->county_count, v->sum->counties);
        if (h->entry_count != v->sum->entries)
            finding(v, N_("header: says %" PRIu64 " log entries, the bundle has %" PRIu64),
                    h->entry_count, v->sum->entries);
        uint64_t ev = h->has_evidence_count ? h->evidence_count : 0;
        if (ev != v->evidence_records)
            finding(v, N_("header: says %" PRIu64 " evidence records, the bundle has %" PRIu64), ev,
                    v->evidence_records);
    }
    if (!v->saw_head && v->sum->entries > 0)
        finding(v, N_("bundle: no signed tree head"));
    if (!v->saw_head && v->sum->entries == 0 && v->sum->has_header)
        v->sum->head_ok = false;
    /* evidence records, in (county, seq) order */
    if (v->n_evidence && !v->evidence_sorted) {
        qsort(v->evidence, v->n_evidence, sizeof *v->evidence, cmp_evidence);
        v->evidence_sorted = true;
    }
    for (size_t i = 0; i < v->n_evidence; i++) {
        evidence_state *e = &v->evidence[i];
        if (!e->valid)
            continue; /* already a finding */
        if (!e->matched)
            finding(v,
                    N_("evidence county %s seq %" PRIu64
                       ": no logged report for that (county, seq) to conflict with"),
                    e->code, e->seq);
        else if (!e->differs)
            finding(v,
                    N_("evidence county %s seq %" PRIu64
                       ": identical to the logged report (no conflict)"),
                    e->code, e->seq);
        else if (memcmp(e->signer, e->logged_signer, ZB_PK_LEN) != 0)
            finding(
                v,
                N_("evidence county %s seq %" PRIu64 ": the logged report was signed by %s…, "
                   "this one by %s…: two keys signed for the same seq (a key-history conflict)"),
                e->code, e->seq, KEY(e->logged_signer), KEY(e->signer));
        else
            equivocation(v, e);
    }
    /* evidence leaves, in log order */
    int rc = rematch_evidence(v, f);
    if (rc)
        return rc;
    for (size_t i = 0; i < v->n_ev_leaves; i++) {
        const evidence_state *e = &v->ev_leaves[i];
        if (!e->matched)
            finding(v,
                    N_("evidence county %s seq %" PRIu64 " (log entry %" PRIu64 "): no logged "
                       "report for that (county, seq) before it to conflict with"),
                    e->code, e->seq, e->log_index);
        else if (!e->differs)
            finding(v,
                    N_("evidence county %s seq %" PRIu64 " (log entry %" PRIu64 "): identical to "
                       "the logged report (no conflict)"),
                    e->code, e->seq, e->log_index);
        else if (memcmp(e->signer, e->logged_signer, ZB_PK_LEN) != 0)
            finding(
                v,
                N_("evidence county %s seq %" PRIu64 " (log entry %" PRIu64 "): the logged "
                   "report was signed by %s…, this one by %s…: two keys signed for the same seq "
                   "(a key-history conflict)"),
                e->code, e->seq, e->log_index, KEY(e->logged_signer), KEY(e->signer));
        else
            equivocation(v, e);
    }
    if (v->version >= 3)
        check_county_records(v);
    check_heads(v);
    check_witnessed(v);
    check_pins(v);
    if (!v->saw_end)
        finding(v, N_("bundle: no end record (truncated?)"));
    return ZB_OK;
}

long zb_audit_verify(FILE *f, const zb_audit_opts *opts, zb_audit_finding_fn fn, void *ctx,
                     zb_audit_summary *sum)
{
    static const zb_audit_opts no_opts;
    verifier v = {.finding = fn,
                  .ctx = ctx,
                  .opts = opts ? opts : &no_opts,
                  .sum = sum,
                  .version = ZB_AUDIT_BUNDLE_VERSION,
                  .entries_at = -1};
    memset(sum, 0, sizeof *sum);
    /* the quorum applied: 1 when witness keys come without one, 0 without keys */
    if (v.opts->n_witness_keys)
        sum->witness_quorum = v.opts->witness_quorum ? v.opts->witness_quorum : 1;
    randombytes_buf(v.keys_hash_key, sizeof v.keys_hash_key);
    rec_reader r;
    long result = 0;
    int rc = reader_magic(&r, f, ZB_AUDIT_BUNDLE_MAGIC);
    if (rc == ZB_EIO)
        return ZB_EIO;
    if (rc) {
        finding(&v, N_("bundle: not a zhibao bundle (no ZBBUNDLE1 magic)"));
        return v.findings;
    }
    pins_init(&v);
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
            finding(&v, N_("record %" PRIu64 ": truncated (the file ends inside it)"), rec_no);
            break;
        }
        if (got == READ_TOO_BIG) {
            finding(&v, N_("record %" PRIu64 ": length over the %u-byte limit (framing destroyed)"),
                    rec_no, ZB_AUDIT_RECORD_MAX);
            break;
        }
        rec_no = r.records;
        if (v.saw_end) {
            finding(&v, N_("record %" PRIu64 ": data after the end record"), rec_no);
            break;
        }
        Zb__BundleRecord *rec = zb__bundle_record__unpack(NULL, r.len, r.buf);
        if (!rec || zb_pb_has_unknown_fields(&rec->base)) {
            finding(&v, N_("record %" PRIu64 ": undecodable"), rec_no);
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
        case ZB__BUNDLE_RECORD__RECORD_ENTRY: on_entry(&v, rec->entry, &r, rec_no); break;
        case ZB__BUNDLE_RECORD__RECORD_WITNESSED_HEAD:
            on_witnessed(&v, rec->witnessed_head, rec_no);
            break;
        case ZB__BUNDLE_RECORD__RECORD_TREE_HEAD: on_tree_head(&v, rec->tree_head, rec_no); break;
        case ZB__BUNDLE_RECORD__RECORD_END: on_end(&v, rec->end, &r, rec_no); break;
        default: finding(&v, N_("record %" PRIu64 ": empty or of an unknown kind"), rec_no); break;
        }
        zb__bundle_record__free_unpacked(rec, NULL);
    }
    sum->records = r.records;
    rc = at_end(&v, f);
    result = rc ? rc : v.findings;
done:
    reader_free(&r);
    for (size_t i = 0; i < v.n_counties; i++)
        free(v.counties[i].epochs);
    free(v.counties);
    free(v.slot);
    free(v.evidence);
    free(v.ev_leaves);
    free(v.heads);
    free(v.witnessed);
    free(v.targets);
    free(v.pins);
    free(v.keys);
    if (v.header)
        zb__bundle_header__free_unpacked(v.header, NULL);
    return result;
}

void zb_audit_key_event_line(const zb_audit_key_event *e, char *buf, size_t buf_len)
{
    char when[40], hex[2 * ZB_PK_LEN + 1];
    if (zb_time_format(e->time, ZB_CST_OFFSET_MIN, 0, when, sizeof when) != 0)
        snprintf(when, sizeof when, "%" PRId64, e->time);
    zb_hex_encode(e->key, 8, hex);
    if (e->enrolled) {
        char how[96];
        if (e->consented > 0)
            snprintf(how, sizeof how, _("rotation, consented by epoch %" PRIu32),
                     e->previous_epoch);
        else if (e->consented == 0)
            snprintf(how, sizeof how, _("replacement, NOT consented by epoch %" PRIu32),
                     e->previous_epoch);
        else
            snprintf(how, sizeof how, "%s", _("first key"));
        snprintf(buf, buf_len,
                 _("key %s epoch %" PRIu32 " enrolled %s…  from seq %" PRIu64
                   "  (%s)  [log entry %" PRIu64 ", %s]"),
                 e->county, e->epoch, hex, e->seq, how, e->log_index, when);
    } else {
        char after[96];
        if (e->seq)
            snprintf(after, sizeof after, _("after seq %" PRIu64), e->seq);
        else
            snprintf(after, sizeof after, "%s", _("before signing any report"));
        snprintf(buf, buf_len,
                 _("key %s epoch %" PRIu32 " revoked %s  %s  [log entry %" PRIu64 ", %s]"),
                 e->county, e->epoch, after,
                 e->consented ? _("consented (rotation)") : _("NOT consented (lost machine?)"),
                 e->log_index, when);
    }
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

/* The signed head of a tree-head file, or of a bundle (the head that
 * covers its entries; prefix, if not NULL, computed on the way). old: the
 * old side (else the new one), for msg; each message whole, translated. */
static int head_of(FILE *f, bool old, const uint8_t key[ZB_PK_LEN], zb_audit_prefix *prefix,
                   zb_tree_head *out, bool *is_bundle, char *msg, size_t msg_len)
{
    *is_bundle = starts_with(f, ZB_AUDIT_BUNDLE_MAGIC);
    if (*is_bundle) {
        zb_audit_opts o = {.pinned_key = key, .prefixes = prefix, .n_prefixes = prefix ? 1 : 0};
        zb_audit_summary sum;
        long n = zb_audit_verify(f, &o, NULL, NULL, &sum);
        if (n < 0) {
            MSG("%s", old ? _("old: cannot read the bundle") : _("new: cannot read the bundle"));
            return (int)n;
        }
        if (!sum.has_header || memcmp(sum.agg_key, key, ZB_PK_LEN) != 0 || !sum.head_ok) {
            MSG("%s", old ? _("old: the bundle has no tree head signed by the aggregator key that "
                              "covers its entries (run zhibao-audit verify on it)")
                          : _("new: the bundle has no tree head signed by the aggregator key that "
                              "covers its entries (run zhibao-audit verify on it)"));
            return ZB_EBADSIG;
        }
        *out = sum.head;
        return ZB_OK;
    }
    Zb__SignedTreeHead *sth = NULL;
    int rc = zb_audit_read_tree_head(f, &sth);
    if (rc) {
        MSG("%s", old ? _("old tree head: not a tree-head file or bundle")
                      : _("new tree head: not a tree-head file or bundle"));
        return rc;
    }
    if (zb_tree_head_verify(sth, key, out) != 0) {
        MSG("%s", old ? _("old tree head: signature does not verify with the aggregator key")
                      : _("new tree head: signature does not verify with the aggregator key"));
        rc = ZB_EBADSIG;
    }
    zb__signed_tree_head__free_unpacked(sth, NULL);
    return rc;
}

int zb_audit_consistency(FILE *old_f, FILE *new_f, FILE *proof_f, const uint8_t key[ZB_PK_LEN],
                         char *msg, size_t msg_len)
{
    Zb__ConsistencyProof *proof = NULL;
    zb_tree_head old_head, new_head;
    bool old_bundle, new_bundle;
    int rc = head_of(old_f, true, key, NULL, &old_head, &old_bundle, msg, msg_len);
    if (rc)
        return rc;
    zb_audit_prefix prefix = {.size = old_head.size};
    rc = head_of(new_f, false, key, &prefix, &new_head, &new_bundle, msg, msg_len);
    if (rc)
        return rc;
    if (old_head.size > new_head.size) {
        MSG(_("old tree head has %" PRIu64 " entries, the new one only %" PRIu64
              ": the log shrank"),
            old_head.size, new_head.size);
        return ZB_EBADSIG;
    }
    if (proof_f) {
        if ((rc = zb_audit_read_consistency(proof_f, &proof))) {
            MSG("%s", _("proof: not a consistency-proof file"));
            return rc;
        }
        rc = zb_consistency_verify_pb(proof, &old_head, &new_head);
        zb__consistency_proof__free_unpacked(proof, NULL);
        if (rc != 0) {
            MSG(_("NOT consistent: the proof from size %" PRIu64 " to %" PRIu64
                  " does not verify (history rewritten, or the proof is for other heads)"),
                old_head.size, new_head.size);
            return ZB_EBADSIG;
        }
    } else if (new_bundle) {
        if (!prefix.found || memcmp(prefix.root, old_head.root, ZB_HASH_LEN) != 0) {
            MSG(_("NOT consistent: the bundle's first %" PRIu64
                  " entries do not hash to the old tree head's root (history rewritten)"),
                old_head.size);
            return ZB_EBADSIG;
        }
    } else {
        MSG("%s", _("no consistency proof given (PROOF_FILE or --proof)"));
        return ZB_EINVAL;
    }
    if (new_head.timestamp < old_head.timestamp) {
        MSG(_("tree head timestamps go backwards: the new head (size %" PRIu64
              ") is signed at %" PRId64 ", before the old one (size %" PRIu64 ") at %" PRId64),
            new_head.size, new_head.timestamp, old_head.size, old_head.timestamp);
        return ZB_EBADSIG;
    }
    MSG(_("consistent: the log of size %" PRIu64 " extends the log of size %" PRIu64),
        new_head.size, old_head.size);
    return ZB_OK;
}
