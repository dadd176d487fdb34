/*
 * domain.c - the compiled-in domain tables (counties, reform tasks,
 * industries, accident categories, stages) and Decree 493 grading. Tables
 * are const and indexed by the protobuf enum values, so the wire values and
 * the names cannot drift apart.
 */
#include "domain.h"

#include <string.h>

/* ---- counties (GB/T 2260; 222425 is not used) ---- */

const zb_county zb_yanbian_counties[] = {
    {"222401", "延吉市", "Yanji"},   {"222402", "图们市", "Tumen"},
    {"222403", "敦化市", "Dunhua"},  {"222404", "珲春市", "Hunchun"},
    {"222405", "龙井市", "Longjing"}, {"222406", "和龙市", "Helong"},
    {"222424", "汪清县", "Wangqing"}, {"222426", "安图县", "Antu"},
};
const size_t zb_yanbian_county_count = sizeof zb_yanbian_counties / sizeof zb_yanbian_counties[0];

bool zb_county_code_valid(const char *s)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < 6; i++) {
        if (s[i] < '0' || s[i] > '9') /* also stops at a short string's NUL */
            return false;
    }
    return s[6] == '\0';
}

const zb_county *zb_county_find(const char *code)
{
    if (!zb_county_code_valid(code))
        return NULL;
    for (size_t i = 0; i < zb_yanbian_county_count; i++) {
        if (strcmp(zb_yanbian_counties[i].code, code) == 0)
            return &zb_yanbian_counties[i];
    }
    return NULL;
}

/* ---- offices above the counties (GB/T 2260): Jilin's prefecture-level
 * units and the province, for the names a province shows */

static const struct {
    const char *code, *name;
} offices[] = {
    {"220000", "吉林省"},     {"220100", "长春市"}, {"220200", "吉林市"}, {"220300", "四平市"},
    {"220400", "辽源市"},     {"220500", "通化市"}, {"220600", "白山市"}, {"220700", "松原市"},
    {"220800", "白城市"},     {ZB_PREFECTURE_CODE, "延边朝鲜族自治州"},
};

bool zb_county_in_prefecture(const char *county, const char *prefecture)
{
    /* prefecture NNMM00 with MM not 00 (NN0000 is a province) */
    return zb_county_code_valid(county) && zb_county_code_valid(prefecture) &&
           memcmp(prefecture + 4, "00", 2) == 0 && memcmp(prefecture + 2, "00", 2) != 0 &&
           memcmp(county, prefecture, 4) == 0 && memcmp(county + 4, "00", 2) != 0;
}

const char *zb_office_name(const char *code)
{
    const zb_county *c = zb_county_find(code);
    if (c)
        return c->name;
    for (size_t i = 0; code && i < sizeof offices / sizeof offices[0]; i++)
        if (strcmp(offices[i].code, code) == 0)
            return offices[i].name;
    return "";
}

/* ---- reform task catalogue: tasks[i] has code ZB_TASK_MIN + i ---- */

#define SEC2 "二 责任制"
#define SEC3 "三 依法治理"
#define SEC4 "四 预防控制"
#define SEC5 "五 基础保障"
#define SEC6 "六 社会化服务"
#define SEC7 "七 考核"

static const zb_task tasks[ZB_TASK_MAX - ZB_TASK_MIN + 1] = {
    {3, SEC2, "落实党委和政府领导责任", "party committee and government leadership responsibility"},
    {4, SEC2, "落实职能部门安全生产责任", "functional departments' responsibility"},
    {5, SEC2, "严格落实企业主体责任", "enterprises' primary responsibility"},
    {6, SEC3, "健全完善地方法规", "local regulations"},
    {7, SEC3, "健全完善技术标准", "technical standards"},
    {8, SEC3, "健全完善监管执法体制", "enforcement system"},
    {9, SEC3, "健全完善监管执法保障", "enforcement resources"},
    {10, SEC3, "规范监管执法行为", "regulate enforcement conduct"},
    {11, SEC3, "健全完善执法监督机制", "oversight of enforcement"},
    {12, SEC4, "加强安全风险管控", "risk control"},
    {13, SEC4, "加强双重预防机制建设", "dual prevention mechanism"},
    {14, SEC4, "加强城市运行安全保障", "urban operational safety"},
    {15, SEC4, "健全完善应急救援管理体制", "emergency rescue"},
    {16, SEC4, "加强重点领域综合治理", "key-sector comprehensive treatment"},
    {17, SEC4, "加强职业病防治", "occupational disease prevention"},
    {18, SEC4, "完善事故调查处理机制", "accident investigation"},
    {19, SEC5, "完善安全投入长效机制", "safety investment"},
    {20, SEC5, "加强安全科技支撑", "science and technology"},
    {21, SEC5, "深化安全基础工程建设", "six foundation projects"},
    {22, SEC5, "完善安全宣传教育体系", "publicity and education"},
    {23, SEC6, "健全安全生产社会化服务保障", "social services"},
    {24, SEC6, "强化对安全生产中介机构的行业监管", "intermediaries"},
    {25, SEC6, "完善市场推动机制", "market mechanisms (liability insurance)"},
    {26, SEC7, "严格责任考核", "responsibility assessment"},
    {27, SEC7, "严格责任追究", "accountability"},
};

const zb_task *zb_task_find(unsigned code)
{
    if (code < ZB_TASK_MIN || code > ZB_TASK_MAX)
        return NULL;
    return &tasks[code - ZB_TASK_MIN];
}

/* ---- task status: index = enum value; 0 (unspecified) has no name ---- */

static const char *const task_status_names[] = {NULL, "not_started", "in_progress", "done"};
#define TASK_STATUS_COUNT ((int)(sizeof task_status_names / sizeof task_status_names[0]))

int zb_task_status_parse(const char *s)
{
    if (s == NULL)
        return 0;
    for (int i = 1; i < TASK_STATUS_COUNT; i++) {
        if (strcmp(task_status_names[i], s) == 0)
            return i;
    }
    return 0;
}

const char *zb_task_status_name(int status)
{
    if (status < 1 || status >= TASK_STATUS_COUNT)
        return NULL;
    return task_status_names[status];
}

/* ---- named enums: a table indexed by the enum value, 1..max; 0
 * (unspecified) has no name ---- */

typedef struct {
    const char *name; /* the JSON name */
    const char *name_zh;
} named_value;

/* name -> value in 1..max; 0 when unknown or NULL. */
static int named_parse(const named_value *table, int max, const char *s)
{
    if (s == NULL)
        return 0;
    for (int i = 1; i <= max; i++) {
        if (strcmp(table[i].name, s) == 0)
            return i;
    }
    return 0;
}

/* value in 1..max -> its name (zh: its Chinese name); NULL when out of range. */
static const char *named_name(const named_value *table, int max, int value, bool zh)
{
    if (value < 1 || value > max)
        return NULL;
    return zh ? table[value].name_zh : table[value].name;
}

/* ---- industries ---- */

static const named_value industries[ZB_INDUSTRY_MAX + 1] = {
    {NULL, NULL},
    {"coal_mine", "煤矿"},
    {"non_coal_mine", "非煤矿山"},
    {"hazardous_chemicals", "危险化学品"},
    {"fireworks", "烟花爆竹"},
    {"construction", "建筑施工"},
    {"metallurgy_trade", "冶金等工贸"},
    {"road_traffic", "道路交通"},
    {"fire", "火灾"},
    {"special_equipment", "特种设备"},
    {"water_traffic", "水上交通"},
    {"railway", "铁路交通"},
    {"civil_aviation", "民航飞行"},
    {"agricultural_machinery", "农业机械"},
    {"fishing_vessel", "渔业船舶"},
    {"other", "其他"},
};
enum { INDUSTRY_ROAD_TRAFFIC = 7, INDUSTRY_FIRE = 8 };

int zb_industry_parse(const char *s)
{
    return named_parse(industries, ZB_INDUSTRY_MAX, s);
}

const char *zb_industry_name(int industry)
{
    return named_name(industries, ZB_INDUSTRY_MAX, industry, false);
}

const char *zb_industry_name_zh(int industry)
{
    return named_name(industries, ZB_INDUSTRY_MAX, industry, true);
}

int zb_industry_casualty_window_days(int industry)
{
    /* Decree 493 art. 13: road-traffic and fire casualties settle faster. */
    return (industry == INDUSTRY_ROAD_TRAFFIC || industry == INDUSTRY_FIRE) ? 7 : 30;
}

/* ---- accident categories (GB 6441-86) ---- */

static const named_value categories[ZB_CATEGORY_MAX + 1] = {
    {NULL, NULL},
    {"object_strike", "物体打击"},
    {"vehicle_injury", "车辆伤害"},
    {"mechanical_injury", "机械伤害"},
    {"lifting_injury", "起重伤害"},
    {"electrocution", "触电"},
    {"drowning", "淹溺"},
    {"scald_burn", "灼烫"},
    {"fire", "火灾"},
    {"fall_from_height", "高处坠落"},
    {"collapse", "坍塌"},
    {"roof_fall", "冒顶片帮"},
    {"water_inrush", "透水"},
    {"blasting", "放炮"},
    {"explosive_explosion", "火药爆炸"},
    {"gas_explosion", "瓦斯爆炸"},
    {"boiler_explosion", "锅炉爆炸"},
    {"vessel_explosion", "容器爆炸"},
    {"other_explosion", "其它爆炸"},
    {"poisoning_asphyxiation", "中毒和窒息"},
    {"other_injury", "其它伤害"},
};

int zb_category_parse(const char *s)
{
    return named_parse(categories, ZB_CATEGORY_MAX, s);
}

const char *zb_category_name(int category)
{
    return named_name(categories, ZB_CATEGORY_MAX, category, false);
}

const char *zb_category_name_zh(int category)
{
    return named_name(categories, ZB_CATEGORY_MAX, category, true);
}

/* ---- stages of an accident's reporting ---- */

static const named_value stages[ZB_STAGE_MAX + 1] = {
    {NULL, NULL},        {"initial", "首报"},   {"supplement", "续报"},
    {"closing", "结案"}, {"write_off", "核销"},
};

int zb_stage_parse(const char *s)
{
    return named_parse(stages, ZB_STAGE_MAX, s);
}

const char *zb_stage_name(int stage)
{
    return named_name(stages, ZB_STAGE_MAX, stage, false);
}

const char *zb_stage_name_zh(int stage)
{
    return named_name(stages, ZB_STAGE_MAX, stage, true);
}

/* ---- Decree 493 grading ---- */

/* Lower bounds ("以上" includes the bound) for larger, serious, especially
 * serious, per criterion. */
static const uint64_t death_bounds[3] = {3, 10, 30};
static const uint64_t injury_bounds[3] = {10, 50, 100};
static const uint64_t loss_bounds[3] = {10000000u, 50000000u, 100000000u}; /* yuan */

static zb_grade grade_by(uint64_t v, const uint64_t bounds[3])
{
    zb_grade g = ZB_GRADE_GENERAL;
    for (int i = 0; i < 3; i++) {
        if (v >= bounds[i])
            g = (zb_grade)(i + 1);
    }
    return g;
}

zb_grade zb_grade_compute(uint32_t deaths, uint32_t missing, uint32_t serious_injuries,
                          uint64_t direct_loss_yuan, zb_missing_rule rule)
{
    uint32_t counted = deaths;
    if (rule == ZB_MISSING_COUNT_AS_DEAD)
        counted = (missing > UINT32_MAX - deaths) ? UINT32_MAX : deaths + missing;

    /* The grade is the highest any one criterion reaches (Decree 493 art. 3). */
    zb_grade g = grade_by(counted, death_bounds);
    zb_grade by_injury = grade_by(serious_injuries, injury_bounds);
    zb_grade by_loss = grade_by(direct_loss_yuan, loss_bounds);
    if (by_injury > g)
        g = by_injury;
    if (by_loss > g)
        g = by_loss;
    return g;
}

const char *zb_grade_name(zb_grade g)
{
    switch (g) {
    case ZB_GRADE_GENERAL: return "general";
    case ZB_GRADE_LARGER: return "larger";
    case ZB_GRADE_SERIOUS: return "serious";
    case ZB_GRADE_ESPECIALLY_SERIOUS: return "especially_serious";
    }
    return NULL;
}

const char *zb_grade_name_zh(zb_grade g)
{
    switch (g) {
    case ZB_GRADE_GENERAL: return "一般";
    case ZB_GRADE_LARGER: return "较大";
    case ZB_GRADE_SERIOUS: return "重大";
    case ZB_GRADE_ESPECIALLY_SERIOUS: return "特别重大";
    }
    return NULL;
}

const char *zb_missing_rule_name(zb_missing_rule r)
{
    switch (r) {
    case ZB_MISSING_COUNT_AS_DEAD: return "missing_counted_as_dead";
    case ZB_MISSING_IGNORE: return "missing_not_counted";
    }
    return NULL;
}

const char *zb_grade_report_to(zb_grade g)
{
    /* Decree 493 art. 10: 一般 to the prefecture (设区的市), 较大 to the
     * province, 重大 and 特别重大 to the State Council's department. */
    switch (g) {
    case ZB_GRADE_GENERAL: return "prefecture";
    case ZB_GRADE_LARGER: return "province";
    case ZB_GRADE_SERIOUS:
    case ZB_GRADE_ESPECIALLY_SERIOUS: return "state_council";
    }
    return NULL;
}
