/*
 * figures.h - the yearly figures the indicators divide by, and the 2015
 * base deaths: the figures file (`zhibao-agg load-figures FILE`) and the
 * aggregator's "figures" database (AGG_DB_FIGURES of agg.h).
 *
 * The indicators' denominators (GDP, workers, vehicles, coal output) and
 * the 2015 base deaths do not come from the counties' signed reports (the
 * system starts in 2026): the prefecture loads them from the statistics
 * bureau's yearbook. This module is the only one that reads or writes the
 * figures database's bytes; consolidate.c asks zb_figures_get and
 * zb_base_deaths_get. No global state; all functions are thread-safe.
 */
#ifndef ZB_FIGURES_H
#define ZB_FIGURES_H

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

#include "report.h"
#include "store.h"

/* Fields present in a zb_figures (bits of .present). */
#define ZB_FIG_GDP      0x1u /* gdp_100m_yuan */
#define ZB_FIG_WORKERS  0x2u /* workers_industry_mining_commerce */
#define ZB_FIG_VEHICLES 0x4u /* motor_vehicles */
#define ZB_FIG_COAL     0x8u /* coal_output_tonnes */

/* One county's (or the prefecture's, county "222400") denominators for one
 * year. A field whose bit is clear in present is not known. */
typedef struct {
    char county[7];
    int year;
    unsigned present;
    double gdp_100m_yuan; /* GDP, 亿元 (100 million yuan) */
    uint64_t workers;     /* employed in industry, mining, commerce and trade */
    uint64_t vehicles;    /* motor vehicles (机动车保有量) */
    uint64_t coal_tonnes; /* raw coal output, tonnes */
} zb_figures;

/* Deaths from production-safety accidents in a base year (2015), as the
 * yearbook gives them. */
typedef struct {
    char county[7];
    int year;
    uint64_t deaths;
} zb_base_deaths;

typedef struct {
    zb_figures *figures;
    size_t n_figures;
    zb_base_deaths *base;
    size_t n_base;
} zb_figures_file;

#define ZB_FIGURES_MAX_ENTRIES 10000 /* per list in one file */
#define ZB_FIGURES_YEAR_MIN    2000
#define ZB_FIGURES_YEAR_MAX    9999
#define ZB_FIGURE_COUNT_MAX    1000000000000ull /* 10^12: workers, vehicles, tonnes */
#define ZB_FIGURE_GDP_MAX      1e9              /* 100 million yuan */
#define ZB_FIGURES_FILE_MAX    (16u << 20)      /* bytes */

/* ---- the figures file ---- */

/* Parse and validate a figures file:
 *   {"figures": [{"county": "222401", "year": 2026,
 *                 "gdp_100m_yuan": 812.5,                (number >= 0)
 *                 "workers_industry_mining_commerce": 153000,
 *                 "motor_vehicles": 210000,
 *                 "coal_output_tonnes": 0}, ...],        (integers >= 0)
 *    "base": [{"county": "222401", "year": 2015, "deaths": 14}, ...]}
 * Either list may be absent, not both. county: six digits (the prefecture
 * itself as "222400" gives the total row's figures; without it the total
 * is the sum over the enrolled counties). year: 2000..9999 in figures,
 * 2015 in base. A denominator that is absent or null is not known (its
 * rate is null); deaths is required. Unknown fields, a county and year
 * given twice in one list, reals where integers belong and values out of
 * range are problems: one line each added to p, naming the field path
 * ("figures[2].motor_vehicles: ..."). Returns 0 with *out filled (free
 * with zb_figures_file_free), ZB_EVALIDATION (problems in p, *out empty)
 * or ZB_ENOMEM (*out empty). doc is borrowed. */
int zb_figures_parse(const json_t *doc, zb_figures_file *out, zb_problems *p);

/* Free what zb_figures_parse filled in and empty *f; NULL-safe, idempotent. */
void zb_figures_file_free(zb_figures_file *f);

/* Read path ("-" = standard input, at most ZB_FIGURES_FILE_MAX bytes),
 * parse it as JSON (duplicate keys refused) and zb_figures_parse it.
 * Returns 0 with *out filled (free with zb_figures_file_free), or with
 * *out empty:
 *   ZB_ETOOBIG      the input is over ZB_FIGURES_FILE_MAX bytes
 *   ZB_EIO          it cannot be read (errno says why; nothing here
 *                   touches errno after the failed read)
 *   ZB_EDECODE      not JSON: one problem in p, "(input): not valid JSON
 *                   at line L column C: ..."
 *   ZB_EVALIDATION  the problems of zb_figures_parse, in p
 *   ZB_ENOMEM */
int zb_figures_load_file(const char *path, zb_figures_file *out, zb_problems *p);

/* ---- the figures database ---- */

/* Store every entry of f inside txn (the "figures" database dbi): each
 * replaces whatever was stored for its county and year (a figures entry
 * replaces all four denominators, a base entry the deaths). Layout:
 *   'F' || county (6) || year (u32 BE) -> ver 1 (1) || present (1) ||
 *        gdp (IEEE 754 double, 8 BE) || workers || vehicles || coal_tonnes
 *        (u64 BE each) || loaded_at (i64 BE, Unix s)
 *   'B' || county (6) || year (u32 BE) -> ver 1 (1) || deaths (u64 BE) ||
 *        loaded_at (i64 BE)
 * 0 or ZB_ESTORE / ZB_EMAPFULL (abort the transaction). */
int zb_figures_put(MDB_txn *txn, MDB_dbi dbi, const zb_figures_file *f, int64_t loaded_at);

/* All of f into the aggregator's store s (opened for writing; the figures
 * database at AGG_DB_FIGURES) in one write transaction, or nothing: the
 * map is grown once when full. loaded_at: Unix s, stored with each entry.
 * Logs ZB-FIGURES-LOADED on success. 0, or ZB_ESTORE / ZB_EMAPFULL /
 * another code of zb_store_begin or zb_store_commit (nothing stored). */
int zb_figures_store(zb_store *s, const zb_figures_file *f, int64_t loaded_at);

/* Read back one county's figures / base deaths for year: 0, ZB_ENOTFOUND,
 * or ZB_ESTORE / ZB_EDECODE (a record of an unknown layout). */
int zb_figures_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year, zb_figures *out);
int zb_base_deaths_get(MDB_txn *txn, MDB_dbi dbi, const char *county, int year, uint64_t *deaths);

#endif
