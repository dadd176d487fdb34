/*
 * domain.h - the facts of the domain that zhibao ships: county codes
 * (GB/T 2260), the reform task catalogue (tasks 3..27 of the 2018 Yanbian
 * implementing opinions), the accident industries and categories, the
 * stages of an accident's reporting, Decree 493 grading and
 * where an accident is reported upward, and the statutory clocks.
 *
 * Everything here is compiled in; nothing is read from files at run time.
 * All functions are pure and thread-safe.
 */
#ifndef ZB_DOMAIN_H
#define ZB_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- counties ---- */
typedef struct {
    const char *code;   /* "222401" */
    const char *name;   /* "延吉市" */
    const char *pinyin; /* "Yanji" */
} zb_county;

/* The eight Yanbian county-level units, in code order. */
extern const zb_county zb_yanbian_counties[];
extern const size_t zb_yanbian_county_count; /* 8 */
#define ZB_PREFECTURE_CODE "222400"

/* True if s is exactly six ASCII digits (any county-level code is accepted
 * for enrolment so the aggregator scales past one prefecture). */
bool zb_county_code_valid(const char *s);
/* The Yanbian entry for code, or NULL when the code is not one of the eight. */
const zb_county *zb_county_find(const char *code);
/* GB/T 2260: whether county is a county-level code under prefecture (a
 * prefecture-level code, NNMM00 with MM not 00 -- NN0000 is a province):
 * the same first four digits, and not itself a prefecture-level code (last
 * two digits not 00). This is what a
 * province lets a prefecture relay (protocol.md §14.5). */
bool zb_county_in_prefecture(const char *county, const char *prefecture);

/* The name of a Yanbian county, of a Jilin prefecture-level unit or of the
 * province (220000) by its code; "" when not known here. */
const char *zb_office_name(const char *code);

/* ---- reform task catalogue ---- */
#define ZB_TASK_MIN 3
#define ZB_TASK_MAX 27
typedef struct {
    unsigned code;       /* 3..27 */
    const char *section; /* "二 责任制" */
    const char *name_zh;
    const char *name_en;
} zb_task;
/* Catalogue entry for code, or NULL when code is not 3..27. */
const zb_task *zb_task_find(unsigned code);

/* ---- task status: values equal the protobuf enum Zb__TaskStatus ---- */
typedef enum {
    ZB_TASK_STATUS_NONE = 0,
    ZB_TASK_NOT_STARTED = 1,
    ZB_TASK_IN_PROGRESS = 2,
    ZB_TASK_DONE = 3
} zb_task_status;
/* "not_started" etc. -> value; 0 when unknown. */
int zb_task_status_parse(const char *s);
/* value -> "not_started" etc.; NULL when out of range. */
const char *zb_task_status_name(int status);

/* ---- industries: values equal the protobuf enum Zb__Industry ---- */
#define ZB_INDUSTRY_MIN 1
#define ZB_INDUSTRY_MAX 15
/* "coal_mine" -> 1 ... "other" -> 15; 0 when unknown. */
int zb_industry_parse(const char *s);
/* 1..15 -> "coal_mine"...; NULL when out of range. */
const char *zb_industry_name(int industry);
/* 1..15 -> "煤矿"...; NULL when out of range. */
const char *zb_industry_name_zh(int industry);
/* Days after the accident within which casualty changes must be reported
 * (Decree 493 art. 13): 7 for road_traffic and fire, 30 otherwise. */
int zb_industry_casualty_window_days(int industry);

/* ---- accident categories (GB 6441-86 企业职工伤亡事故分类): values equal
 * the protobuf enum Zb__Category, in the standard's order ---- */
#define ZB_CATEGORY_MIN 1
#define ZB_CATEGORY_MAX 20
/* "object_strike" -> 1 ... "other_injury" -> 20; 0 when unknown. */
int zb_category_parse(const char *s);
/* 1..20 -> "object_strike"...; NULL when out of range. */
const char *zb_category_name(int category);
/* 1..20 -> "物体打击"...; NULL when out of range. */
const char *zb_category_name_zh(int category);

/* ---- where an accident's reporting stands: values equal the protobuf
 * enum Zb__Stage. closing (结案) and write_off (核销) end an accident ---- */
#define ZB_STAGE_MIN 1
#define ZB_STAGE_MAX 4
/* "initial", "supplement", "closing", "write_off" -> 1..4; 0 when unknown. */
int zb_stage_parse(const char *s);
/* 1..4 -> "initial"...; NULL when out of range. */
const char *zb_stage_name(int stage);
/* 1..4 -> "首报", "续报", "结案", "核销"; NULL when out of range. */
const char *zb_stage_name_zh(int stage);

/* ---- Decree 493 grading (事故等级) ---- */
typedef enum {
    ZB_GRADE_GENERAL = 0,           /* 一般 */
    ZB_GRADE_LARGER = 1,            /* 较大 */
    ZB_GRADE_SERIOUS = 2,           /* 重大 */
    ZB_GRADE_ESPECIALLY_SERIOUS = 3 /* 特别重大 */
} zb_grade;

/* Rule for the missing (失踪/下落不明) when grading. */
typedef enum {
    ZB_MISSING_COUNT_AS_DEAD = 0, /* default: "死亡(含失踪)", statistical practice */
    ZB_MISSING_IGNORE = 1         /* grade on confirmed deaths only */
} zb_missing_rule;

/* Grade: the highest any criterion reaches. deaths 3/10/30, serious
 * injuries 10/50/100, direct loss 10M/50M/100M yuan ("以上" includes the
 * bound). With ZB_MISSING_COUNT_AS_DEAD the missing are added to deaths
 * (saturating). */
zb_grade zb_grade_compute(uint32_t deaths, uint32_t missing, uint32_t serious_injuries,
                          uint64_t direct_loss_yuan, zb_missing_rule rule);
const char *zb_grade_name(zb_grade g);    /* "general", "larger", "serious", "especially_serious" */
const char *zb_grade_name_zh(zb_grade g); /* "一般", "较大", "重大", "特别重大" */
const char *zb_missing_rule_name(zb_missing_rule r); /* "missing_counted_as_dead" / "missing_not_counted" */

/* The name functions above and below return NULL for a value outside the enum. */

/* Highest level the accident must be reported to (Decree 493 art. 10):
 * general -> "prefecture", larger -> "province", serious and especially
 * serious -> "state_council". */
const char *zb_grade_report_to(zb_grade g);

/* Statutory clocks, in seconds. */
#define ZB_UNIT_NOTICE_LIMIT_S (1 * 3600)    /* unit -> county within 1 h */
#define ZB_UPWARD_REPORT_LIMIT_S (2 * 3600)  /* county -> up within 2 h */

#endif
