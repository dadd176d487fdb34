/* figures.c - see figures.h. */
#include "figures.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "domain.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "rules.h"

/* ------------------------------------------------------------ figures file */

void zb_figures_file_free(zb_figures_file *f)
{
    if (!f)
        return;
    free(f->figures);
    free(f->base);
    memset(f, 0, sizeof *f);
}

/* A county code at obj.county into out; false (problem added) when bad. */
static bool fig_county(const json_t *obj, const char *path, char out[7], zb_problems *p)
{
    const json_t *v = json_object_get(obj, "county");
    const char *s = json_string_value(v);
    if (!v) {
        zb_problems_add(p, "%s.county: missing", path);
        return false;
    }
    if (!s || !zb_county_code_valid(s)) {
        zb_problems_add(p,
                        "%s.county: must be a 6-digit county code (e.g. \"222401\"; "
                        "\"222400\" for the prefecture)",
                        path);
        return false;
    }
    memcpy(out, s, 7);
    return true;
}

static bool fig_year(const json_t *obj, const char *path, int lo, int hi, int *out, zb_problems *p)
{
    const json_t *v = json_object_get(obj, "year");
    if (!v) {
        zb_problems_add(p, "%s.year: missing", path);
        return false;
    }
    json_int_t y = json_is_integer(v) ? json_integer_value(v) : -1;
    if (y < lo || y > hi) {
        if (lo == hi)
            zb_problems_add(p, "%s.year: must be %d (the base year of the target)", path, lo);
        else
            zb_problems_add(p, "%s.year: must be an integer %d..%d", path, lo, hi);
        return false;
    }
    *out = (int)y;
    return true;
}

/* An optional count obj.key (absent or null: not known). */
static bool fig_count(const json_t *obj, const char *path, const char *key, uint64_t max,
                      bool required, uint64_t *out, bool *present, zb_problems *p)
{
    const json_t *v = json_object_get(obj, key);
    *present = false;
    if (!v || json_is_null(v)) {
        if (required) {
            zb_problems_add(p, "%s.%s: missing", path, key);
            return false;
        }
        return true;
    }
    json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (n < 0 || (uint64_t)n > max) {
        zb_problems_add(p, "%s.%s: must be an integer 0..%" PRIu64 "%s", path, key, max,
                        required ? "" : " or null");
        return false;
    }
    *out = (uint64_t)n;
    *present = true;
    return true;
}

static bool fig_unknown_keys(const json_t *obj, const char *path, const char *const *known,
                             zb_problems *p)
{
    bool ok = true;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found) {
            zb_problems_add(p, "%s.%s: unknown field", path, key);
            ok = false;
        }
    }
    return ok;
}

static bool parse_figures_entry(const json_t *e, const char *path, zb_figures *f, zb_problems *p)
{
    static const char *const known[] = {"county",
                                        "year",
                                        "gdp_100m_yuan",
                                        "workers_industry_mining_commerce",
                                        "motor_vehicles",
                                        "coal_output_tonnes",
                                        NULL};
    if (!json_is_object(e)) {
        zb_problems_add(p, "%s: must be an object", path);
        return false;
    }
    memset(f, 0, sizeof *f);
    bool ok = fig_unknown_keys(e, path, known, p);
    ok &= fig_county(e, path, f->county, p);
    ok &= fig_year(e, path, ZB_FIGURES_YEAR_MIN, ZB_FIGURES_YEAR_MAX, &f->year, p);
    const json_t *gdp = json_object_get(e, "gdp_100m_yuan");
    if (gdp && !json_is_null(gdp)) {
        double g = json_is_number(gdp) ? json_number_value(gdp) : -1;
        if (!(g >= 0 && g <= ZB_FIGURE_GDP_MAX)) {
            zb_problems_add(p,
                            "%s.gdp_100m_yuan: must be a number 0..%.0f (100 million yuan) "
                            "or null",
                            path, ZB_FIGURE_GDP_MAX);
            ok = false;
        } else {
            f->gdp_100m_yuan = g;
            f->present |= ZB_FIG_GDP;
        }
    }
    static const struct {
        const char *key;
        unsigned bit;
        size_t off;
    } counts[] = {
        {"workers_industry_mining_commerce", ZB_FIG_WORKERS, offsetof(zb_figures, workers)},
        {"motor_vehicles", ZB_FIG_VEHICLES, offsetof(zb_figures, vehicles)},
        {"coal_output_tonnes", ZB_FIG_COAL, offsetof(zb_figures, coal_tonnes)}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        bool present;
        uint64_t *dst = (uint64_t *)((char *)f + counts[i].off);
        ok &= fig_count(e, path, counts[i].key, ZB_FIGURE_COUNT_MAX, false, dst, &present, p);
        if (present)
            f->present |= counts[i].bit;
    }
    return ok;
}

static bool parse_base_entry(const json_t *e, const char *path, zb_base_deaths *b, zb_problems *p)
{
    static const char *const known[] = {"county", "year", "deaths", NULL};
    if (!json_is_object(e)) {
        zb_problems_add(p, "%s: must be an object", path);
        return false;
    }
    memset(b, 0, sizeof *b);
    bool present;
    bool ok = fig_unknown_keys(e, path, known, p);
    ok &= fig_county(e, path, b->county, p);
    ok &= fig_year(e, path, ZB_BASE_YEAR, ZB_BASE_YEAR, &b->year, p);
    ok &= fig_count(e, path, "deaths", ZB_COUNT_MAX, true, &b->deaths, &present, p);
    return ok;
}

/* (county, year, index) of one entry, to find the same county and year twice. */
typedef struct {
    char county[7];
    int year;
    size_t index;
} fig_key;

static int fig_key_cmp(const void *pa, const void *pb)
{
    const fig_key *a = pa, *b = pb;
    int c = strcmp(a->county, b->county);
    if (c)
        return c;
    if (a->year != b->year)
        return a->year < b->year ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Problems for any county and year given twice in list name. */
static int fig_duplicates(fig_key *keys, size_t n, const char *name, zb_problems *p)
{
    if (n > 1)
        qsort(keys, n, sizeof *keys, fig_key_cmp);
    int dups = 0;
    for (size_t i = 1; i < n; i++)
        if (strcmp(keys[i].county, keys[i - 1].county) == 0 && keys[i].year == keys[i - 1].year) {
            size_t first = i - 1;
            while (first > 0 && strcmp(keys[first - 1].county, keys[i].county) == 0 &&
                   keys[first - 1].year == keys[i].year)
                first--;
            zb_problems_add(p, "%s[%zu]: county %s year %d given twice (first at %s[%zu])", name,
                            keys[i].index, keys[i].county, keys[i].year, name, keys[first].index);
            dups++;
        }
    return dups;
}

int zb_figures_parse(const json_t *doc, zb_figures_file *out, zb_problems *p)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc)) {
        zb_problems_add(p, "(input): must be a JSON object with \"figures\" and/or \"base\"");
        return ZB_EVALIDATION;
    }
    static const char *const known[] = {"figures", "base", NULL};
    size_t before = p->n;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v)
    {
        bool found = false;
        for (size_t i = 0; known[i] && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found)
            zb_problems_add(p, "%s: unknown field (expected \"figures\" and/or \"base\")", key);
    }
    const json_t *figs = json_object_get(doc, "figures"), *base = json_object_get(doc, "base");
    if (!figs && !base)
        zb_problems_add(p, "(input): neither \"figures\" nor \"base\" given");
    const struct {
        const char *name;
        const json_t *arr;
    } lists[] = {{"figures", figs}, {"base", base}};
    bool lists_ok = true;
    for (size_t l = 0; l < 2; l++) {
        if (lists[l].arr && (!json_is_array(lists[l].arr) ||
                             json_array_size(lists[l].arr) > ZB_FIGURES_MAX_ENTRIES)) {
            zb_problems_add(p, "%s: must be a list of at most %d entries", lists[l].name,
                            ZB_FIGURES_MAX_ENTRIES);
            lists_ok = false;
        }
    }
    if (!lists_ok)
        return ZB_EVALIDATION;
    size_t nf = json_array_size(figs), nb = json_array_size(base);
    out->figures = calloc(nf ? nf : 1, sizeof *out->figures);
    out->base = calloc(nb ? nb : 1, sizeof *out->base);
    fig_key *keys = calloc((nf > nb ? nf : nb) + 1, sizeof *keys);
    if (!out->figures || !out->base || !keys) {
        free(keys);
        zb_figures_file_free(out);
        return ZB_ENOMEM;
    }
    char path[64];
    size_t nk = 0;
    for (size_t i = 0; i < nf; i++) {
        snprintf(path, sizeof path, "figures[%zu]", i);
        zb_figures *f = &out->figures[i];
        if (parse_figures_entry(json_array_get(figs, i), path, f, p)) {
            memcpy(keys[nk].county, f->county, 7);
            keys[nk].year = f->year;
            keys[nk++].index = i;
        }
    }
    fig_duplicates(keys, nk, "figures", p);
    nk = 0;
    for (size_t i = 0; i < nb; i++) {
        snprintf(path, sizeof path, "base[%zu]", i);
        zb_base_deaths *b = &out->base[i];
        if (parse_base_entry(json_array_get(base, i), path, b, p)) {
            memcpy(keys[nk].county, b->county, 7);
            keys[nk].year = b->year;
            keys[nk++].index = i;
        }
    }
    fig_duplicates(keys, nk, "base", p);
    free(keys);
    if (p->n > before) {
        zb_figures_file_free(out);
        return ZB_EVALIDATION;
    }
    out->n_figures = nf;
    out->n_base = nb;
    return ZB_OK;
}

/* ------------------------------------------------------------ figures database */

#define FIG_KEY_LEN (1 + ZB_COUNTY_LEN + 4)
#define FIG_F_LEN   (1 + 1 + 8 * 4 + 8)
#define FIG_B_LEN   (1 + 8 + 8)

static void fig_key_make(uint8_t key[FIG_KEY_LEN], char kind, const char *county, int year)
{
    key[0] = (uint8_t)kind;
    memcpy(key + 1, county, ZB_COUNTY_LEN);
    uint32_t y = (uint32_t)year;
    key[7] = (uint8_t)(y >> 24);
    key[8] = (uint8_t)(y >> 16);
    key[9] = (uint8_t)(y >> 8);
    key[10] = (uint8_t)y;
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

int zb_figures_put(MDB_txn *txn, MDB_dbi dbi, const zb_figures_file *f, int64_t loaded_at)
{
    uint8_t key[FIG_KEY_LEN], val[FIG_F_LEN];
    for (size_t i = 0; i < f->n_figures; i++) {
        const zb_figures *g = &f->figures[i];
        fig_key_make(key, 'F', g->county, g->year);
        val[0] = 1;
        val[1] = (uint8_t)g->present;
        zb_be64_put(val + 2, double_bits(g->gdp_100m_yuan));
        zb_be64_put(val + 10, g->workers);
        zb_be64_put(val + 18, g->vehicles);
        zb_be64_put(val + 26, g->coal_tonnes);
        zb_be64_put(val + 34, (uint64_t)loaded_at);
        MDB_val k = {sizeof key, key}, v = {FIG_F_LEN, val};
        int rc = mdb_put(txn, dbi, &k, &v, 0);
        if (rc)
            return zb_mdb_err(rc);
    }
    for (size_t i = 0; i < f->n_base; i++) {
        const zb_base_deaths *b = &f->base[i];
        fig_key_make(key, 'B', b->county, b->year);
        val[0] = 1;
        zb_be64_put(val + 1, b->deaths);
        zb_be64_put(val + 9, (uint64_t)loaded_at);
        MDB_val k = {sizeof key, key}, v = {FIG_B_LEN, val};
        int rc = mdb_put(txn, dbi, &k, &v, 0);
        if (rc)
            return zb_mdb_err(rc);
    }
    return ZB_OK;
}

static int fig_read(MDB_txn *txn, MDB_dbi dbi, char kind, const char *county, int year, size_t len,
                    const uint8_t **val)
{
    uint8_t key[FIG_KEY_LEN];
    if (strlen(county) != ZB_COUNTY_LEN)
        return ZB_ENOTFOUND;
    fig_key_make(key, kind, county, year);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ZB_ENOTFOUND;
    if (rc)
        return zb_mdb_err(rc);
    if (v.mv_size != len || ((const uint8_t *)v.mv_data)[0] != 1)
        return ZB_EDECODE;
    *val = v.mv_data;
    return ZB_OK;
}

int zb_figures_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year, zb_figures *out)
{
    const uint8_t *v = NULL;
    int rc = fig_read(txn, dbi, 'F', county, year, FIG_F_LEN, &v);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    memcpy(out->county, county, ZB_COUNTY_LEN);
    out->year = year;
    out->present = v[1] & (ZB_FIG_GDP | ZB_FIG_WORKERS | ZB_FIG_VEHICLES | ZB_FIG_COAL);
    out->gdp_100m_yuan = bits_double(zb_be64_get(v + 2));
    out->workers = zb_be64_get(v + 10);
    out->vehicles = zb_be64_get(v + 18);
    out->coal_tonnes = zb_be64_get(v + 26);
    return ZB_OK;
}

int zb_base_deaths_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year, uint64_t *deaths)
{
    const uint8_t *v = NULL;
    int rc = fig_read(txn, dbi, 'B', county, year, FIG_B_LEN, &v);
    if (rc)
        return rc;
    *deaths = zb_be64_get(v + 1);
    return ZB_OK;
}

/* ------------------------------------------------------------ loading */

int zb_figures_load_file(const char *path, zb_figures_file *out, zb_problems *p)
{
    memset(out, 0, sizeof *out);
    size_t len = 0;
    int rerr;
    char *text = zb_read_file(path, ZB_FIGURES_FILE_MAX, &len, &rerr);
    if (!text)
        return rerr == ZB_ETOOBIG ? ZB_ETOOBIG : ZB_EIO; /* errno as the read left it */
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!doc) {
        zb_problems_add(p, "(input): not valid JSON at line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
        return ZB_EDECODE;
    }
    int rc = zb_figures_parse(doc, out, p);
    json_decref(doc);
    return rc;
}

typedef struct {
    zb_store *s;
    const zb_figures_file *f;
    int64_t loaded_at;
} figures_write;

static int figures_write_fn(void *ctx, MDB_txn *txn)
{
    const figures_write *w = ctx;
    return zb_figures_put(txn, zb_store_dbi(w->s, AGG_DB_FIGURES), w->f, w->loaded_at);
}

int zb_figures_store(zb_store *s, const zb_figures_file *f, int64_t loaded_at)
{
    /* all or nothing: one write transaction */
    figures_write w = {s, f, loaded_at};
    int rc = zb_store_write(s, figures_write_fn, &w);
    if (rc == ZB_OK)
        ZB_INFO("ZB-FIGURES-LOADED", "%zu figures, %zu base record(s) loaded", f->n_figures,
                f->n_base);
    return rc;
}
