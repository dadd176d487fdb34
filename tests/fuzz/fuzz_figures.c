/*
 * fuzz_figures.c - the figures file of `zhibao-agg load-figures`: the input
 * through json_loadb (duplicate keys refused, as zb_figures_load_file reads
 * it) and zb_figures_parse (figures.h). Invariants besides "no crash, no
 * leak, no UB": either problems were added and nothing is returned, or
 * there are none and every entry returned is in range - a county code of
 * six digits, a year the list allows, only known presence bits, values
 * within their caps and zero where not present, and no county and year
 * twice in one list.
 *
 * The figures module comes from the zb_agg library (instrumented in this
 * build). Seeds (corpus/fuzz_figures/): a good file with both lists and
 * the prefecture's row, and files with unknown fields, bad values, a
 * county and year twice, and the wrong shape.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "domain.h"
#include "err.h"
#include "figures.h"
#include "fuzz.h"
#include "report.h"
#include "rules.h"

#define FUZZ_FIGURES_MAX (1u << 20) /* bytes; the file's cap is 16 MiB, its shape repeats */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void check_figures(const zb_figures *f)
{
    FUZZ_CHECK(zb_county_code_valid(f->county));
    FUZZ_CHECK(f->year >= ZB_FIGURES_YEAR_MIN && f->year <= ZB_FIGURES_YEAR_MAX);
    FUZZ_CHECK((f->present & ~(ZB_FIG_GDP | ZB_FIG_WORKERS | ZB_FIG_VEHICLES | ZB_FIG_COAL)) == 0);
    if (f->present & ZB_FIG_GDP)
        FUZZ_CHECK(f->gdp_100m_yuan >= 0 && f->gdp_100m_yuan <= ZB_FIGURE_GDP_MAX);
    else
        FUZZ_CHECK(f->gdp_100m_yuan == 0);
    const struct {
        unsigned bit;
        uint64_t v;
    } counts[] = {{ZB_FIG_WORKERS, f->workers},
                  {ZB_FIG_VEHICLES, f->vehicles},
                  {ZB_FIG_COAL, f->coal_tonnes}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        FUZZ_CHECK((f->present & counts[i].bit) ? counts[i].v <= ZB_FIGURE_COUNT_MAX
                                                : counts[i].v == 0);
}

static void check_base(const zb_base_deaths *b)
{
    FUZZ_CHECK(zb_county_code_valid(b->county));
    FUZZ_CHECK(b->year == ZB_BASE_YEAR);
    FUZZ_CHECK(b->deaths <= ZB_COUNT_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_FIGURES_MAX)
        return -1;
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return 0;
    zb_problems p = {0};
    zb_figures_file f;
    memset(&f, 0xA5, sizeof f); /* the parser must set every member */
    int rc = zb_figures_parse(doc, &f, &p);
    FUZZ_CHECK(rc == ZB_OK || rc == ZB_EVALIDATION || rc == ZB_ENOMEM);
    if (rc != ZB_OK) {
        FUZZ_CHECK(rc == ZB_ENOMEM || p.n >= 1);
        FUZZ_CHECK(f.figures == NULL && f.base == NULL && f.n_figures == 0 && f.n_base == 0);
        for (size_t i = 0; i < p.n; i++)
            FUZZ_CHECK(p.lines[i][0] != '\0' && strstr(p.lines[i], ": ") != NULL);
    } else {
        FUZZ_CHECK(p.n == 0);
        FUZZ_CHECK(f.n_figures <= ZB_FIGURES_MAX_ENTRIES && f.n_base <= ZB_FIGURES_MAX_ENTRIES);
        FUZZ_CHECK(f.n_figures + f.n_base == 0 || (f.figures != NULL && f.base != NULL));
        for (size_t i = 0; i < f.n_figures; i++) {
            check_figures(&f.figures[i]);
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(f.figures[i].county, f.figures[j].county) != 0 ||
                           f.figures[i].year != f.figures[j].year);
        }
        for (size_t i = 0; i < f.n_base; i++) {
            check_base(&f.base[i]);
            for (size_t j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(f.base[i].county, f.base[j].county) != 0);
        }
    }
    zb_figures_file_free(&f);
    zb_figures_file_free(&f); /* idempotent */
    FUZZ_CHECK(f.figures == NULL && f.n_figures == 0);
    zb_problems_free(&p);
    json_decref(doc);
    return 0;
}
