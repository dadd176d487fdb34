#!/usr/bin/env python3
"""Check a report's workbook (zhibao-agg report KIND --format xlsx) against
the same report's --format json, in one language (zh or en).

    report_xlsx_check.py KIND REPORT.json REPORT.xlsx zh|en

The columns, headings and labels below are the specification the workbook
is held to, written out independently of aggregator/render.c: every sheet's
name and heading row, each cell's type (numbers are numbers, times are
datetimes, money is 万元 rounded half up to 0.01 in Chinese and whole yuan
in English), every value against the JSON through the label mapping, and
the frozen heading row. Exits 1 with the first difference.
"""
import datetime
import decimal
import json
import sys

import openpyxl

ZH_LABELS = {
    "on_time": "按时", "late": "迟报", "missing": "未报",
    "general": "一般", "larger": "较大", "serious": "重大", "especially_serious": "特别重大",
    "prefecture": "州应急管理局", "province": "省应急管理厅", "state_council": "应急管理部",
    "accepted": "已签收", "returned": "已退回", "unreviewed": "未审核",
    "initial": "首报", "supplement": "续报", "closing": "结案", "write_off": "核销",
    "construction": "建筑施工", "road_traffic": "道路交通", "fire": "火灾", "other": "其他",
    "object_strike": "物体打击", "vehicle_injury": "车辆伤害", "other_injury": "其它伤害",
}
ZH_FLAGS = {
    "initial_report_late": "首报超时", "unit_notice_late": "单位报告超时",
    "times_corrected": "时间有更正", "change_after_window": "统计期后变化",
    "supplement_overdue": "续报逾期", "grade_rose": "等级上升",
    "created_after_received": "签名晚于接收", "received_long_after_created": "签名后久未送达",
    "created_before_previous": "签名早于前一报告",
}

# (JSON member, English heading, Chinese heading, kind)
MONTHLY = [
    ("county", "COUNTY", "区划代码", "county"), ("name", "NAME", "县市", "text"),
    ("status", "STATUS", "报送状态", "label"), ("review", "REVIEW", "审核", "label"),
    ("created_at", "CREATED", "填报时间", "time"), ("received_at", "RECEIVED", "接收时间", "time"),
    ("clock_suspect", "CLOCK?", "时钟存疑", "bool"), ("version", "VER", "版本", "number"),
    ("tasks_done", "DONE", "已完成", "number"), ("tasks_in_progress", "IN-PROG", "推进中", "number"),
    ("tasks_not_started", "NOT-START", "未启动", "number"),
    ("tasks_not_reported", "NOT-REP", "未报任务", "number"),
    ("inspections", "INSPECT", "执法检查", "number"), ("hazards_found", "HAZ-FOUND", "排查隐患", "number"),
    ("hazards_fixed", "HAZ-FIXED", "整改隐患", "number"),
    ("major_hazards_listed", "MAJOR-HAZ", "重大隐患挂牌", "number"),
    ("enterprises_standardized", "STANDARD", "标准化企业", "number"),
    ("penalties_yuan", "PENALTIES", "罚款(万元)", "money"),
    ("training_sessions", "TRAINING", "培训", "number"), ("accidents", "ACCID", "事故起数", "number"),
    ("accident_deaths", "DEATHS", "死亡", "number"),
    ("accident_serious_injuries", "SER-INJ", "重伤", "number"),
    ("accident_direct_loss_yuan", "LOSS-YUAN", "直接经济损失(万元)", "money"),
]
ACCIDENTS = [
    ("county", "COUNTY", "区划代码", "county"), ("name", "NAME", "县市", "text"),
    ("accident_id", "ACCIDENT", "事故编号", "text"), ("revision", "REV", "修订", "number"),
    ("occurred_at", "OCCURRED", "发生时间", "time"), ("industry", "INDUSTRY", "行业", "label"),
    ("category", "CATEGORY", "事故类别", "label"), ("stage", "STAGE", "阶段", "label"),
    ("grade", "GRADE", "等级", "label"), ("max_grade", "MAX-GRADE", "最高等级", "label"),
    ("counted_deaths", "DEATHS", "死亡", "number"), ("counted_missing", "MISSING", "失踪", "number"),
    ("counted_serious_injuries", "SER-INJ", "重伤", "number"),
    ("counted_direct_loss_yuan", "LOSS-YUAN", "直接经济损失(万元)", "money"),
    ("report_to", "REPORT-TO", "上报至", "label"), ("counted", "COUNTED", "计入统计", "bool"),
    ("flags", "FLAGS", "提示", "flags"),
]
TOTALS_TAIL = [("accidents", "ACCIDENTS", "事故起数", "number"), ("deaths", "DEATHS", "死亡", "number"),
               ("missing", "MISSING", "失踪", "number")]
INDICATORS = [
    ("county", "COUNTY", "区划代码", "county"), ("name", "NAME", "县市", "text"),
    ("accidents", "ACCID", "事故起数", "number"), ("deaths", "DEATHS", "死亡", "number"),
    ("missing", "MISSING", "失踪", "number"), ("previous_deaths", "PREV", "上年同期死亡", "number"),
    ("change_vs_previous", "CHG", "增减", "number"),
    ("change_vs_previous_pct", "CHG%", "增减%", "number"),
    ("base_deaths", "BASE-2015", "2015年基数", "number"),
    ("base_deaths_prorated", "BASE-TO-DATE", "基数(折算)", "number"),
    ("target_deaths", "TARGET", "目标", "number"),
    ("target_deaths_prorated", "TARGET-TO-DATE", "目标(折算)", "number"),
    ("change_vs_base_pct", "VS-BASE%", "较基数%", "number"),
    ("target_progress_pct", "PROGRESS%", "目标进度%", "number"),
    ("on_track", "ON-TRACK", "达到进度", "yesno"),
    ("deaths_industry_mining_commerce", "D-IMC", "工矿商贸死亡", "number"),
    ("deaths_road_traffic", "D-ROAD", "道路交通死亡", "number"),
    ("deaths_coal_mine", "D-COAL", "煤矿死亡", "number"),
    ("gdp_100m_yuan", "GDP-100M", "GDP(亿元)", "number"),
    ("workers_industry_mining_commerce", "WORKERS", "工矿商贸从业人员", "number"),
    ("motor_vehicles", "VEHICLES", "机动车(辆)", "number"),
    ("coal_output_tonnes", "COAL-T", "原煤产量(吨)", "number"),
    ("deaths_per_100m_yuan_gdp", "/100M-GDP", "亿元GDP死亡率", "number"),
    ("deaths_per_100k_workers", "/100K-WORK", "工矿商贸十万人死亡率", "number"),
    ("road_deaths_per_10k_vehicles", "ROAD/10K-VEH", "道路交通万车死亡率", "number"),
    ("coal_deaths_per_million_tonnes", "COAL/MT", "煤矿百万吨死亡率", "number"),
]
SHEETS = {  # English, Chinese
    "monthly": ("monthly report", "月度报送"), "accidents": ("accidents", "事故"),
    "by_county": ("by county", "按县市"), "by_industry": ("by industry", "按行业"),
    "by_grade": ("by grade", "按等级"), "matrix": ("filing by month", "逐月报送"),
    "matrix_totals": ("totals by month", "逐月合计"), "indicators": ("indicators", "指标"),
    "notes": ("notes", "说明"),
}


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    kind, json_path, xlsx_path, lang = sys.argv[1:5]
    zh = lang == "zh"
    doc = json.load(open(json_path, encoding="utf-8"))
    wb = openpyxl.load_workbook(xlsx_path)

    def label(code):
        if not zh:
            return code
        if code not in ZH_LABELS:
            fail(f"no Chinese label known for {code!r}")
        return ZH_LABELS[code]

    def expect(v, k, counts_row=False):
        """The value openpyxl should read for JSON value v of kind k."""
        if v is None or v == "":
            return None  # an empty cell
        if k == "money" and counts_row:
            k = "number"
        if k == "money":
            if not zh:
                return v
            return float(decimal.Decimal(v).scaleb(-4).quantize(decimal.Decimal("0.01"),
                                                                 decimal.ROUND_HALF_UP))
        if k == "number":
            return v
        if k == "time":
            return datetime.datetime.fromisoformat(v).replace(tzinfo=None)
        if k == "label":
            return label(v)
        if k == "county":
            return {"total": "合计", "reporting": "报送县数"}.get(v, v) if zh else v
        if k in ("bool", "yesno"):
            if v:
                return "是" if zh else "yes"
            return ("否" if zh else "no") if k == "yesno" else None
        if k == "flags":
            return ",".join(ZH_FLAGS[f] if zh else f for f in v) or None
        return v

    def check_sheet(name_key, cols, rows, counts_rows=()):
        name = SHEETS[name_key][1 if zh else 0]
        if name not in wb.sheetnames:
            fail(f"{kind}: no sheet {name!r} in {wb.sheetnames}")
        ws = wb[name]
        if ws.freeze_panes != "A2":
            fail(f"{kind}/{name}: heading row not frozen ({ws.freeze_panes})")
        heads = [c[2] if zh else c[1] for c in cols]
        got = [c.value for c in ws[1]]
        if got != heads:
            fail(f"{kind}/{name}: headings {got}, expected {heads}")
        if not all(c.font.b for c in ws[1]):
            fail(f"{kind}/{name}: headings not bold")
        if ws.max_row != len(rows) + 1:
            fail(f"{kind}/{name}: {ws.max_row - 1} rows, expected {len(rows)}")
        for r, row in enumerate(rows):
            for c, (key, _, _, k) in enumerate(cols):
                cell = ws.cell(row=r + 2, column=c + 1)
                want = expect(row.get(key), k, r in counts_rows)
                got = cell.value
                where = f"{kind}/{name} row {r + 2} {key}"
                if want is None:
                    if got is not None:
                        fail(f"{where}: {got!r}, expected an empty cell")
                    continue
                if k in ("number", "money"):
                    if not isinstance(got, (int, float)) or isinstance(got, bool):
                        fail(f"{where}: {got!r} is not a number")
                    if abs(got - want) > 1e-9 * max(1, abs(want)):
                        fail(f"{where}: {got!r}, expected {want!r}")
                    if k == "money" and zh and r not in counts_rows and cell.number_format != "0.00":
                        fail(f"{where}: money format {cell.number_format!r}, expected 0.00")
                elif k == "time":
                    if not isinstance(got, datetime.datetime):
                        fail(f"{where}: {got!r} is not a date-time")
                    if abs((got - want).total_seconds()) > 0.5:
                        fail(f"{where}: {got}, expected {want}")
                    if "yy" not in cell.number_format or "ss" not in cell.number_format:
                        fail(f"{where}: number format {cell.number_format!r} is not a date-time")
                elif got != want:
                    fail(f"{where}: {got!r}, expected {want!r}")
        # columns wide enough for their text (Chinese characters count 2)
        for c, (key, en, zhh, k) in enumerate(cols):
            letter = openpyxl.utils.get_column_letter(c + 1)
            width = ws.column_dimensions[letter].width
            need = sum(2 if ord(ch) > 0x2E80 else 1 for ch in (zhh if zh else en))
            if width < need:
                fail(f"{kind}/{name}: column {letter} ({key}) width {width} < {need}")
        return ws

    if kind == "monthly":
        total = doc["total"]
        reporting = dict(total["counties_reporting"], county="reporting", name="")
        check_sheet("monthly", MONTHLY, doc["rows"] + [total, reporting],
                    counts_rows=(len(doc["rows"]) + 1,))
    elif kind == "accidents":
        check_sheet("accidents", ACCIDENTS, doc["accidents"])
        for key, head, zh_head, k in (("by_county", "COUNTY", "区划代码", "text"),
                                      ("by_industry", "INDUSTRY", "行业", "label"),
                                      ("by_grade", "GRADE", "等级", "label")):
            rows = [dict(v, key=code) for code, v in doc["totals"][key].items()]
            check_sheet(key, [("key", head, zh_head, k)] + TOTALS_TAIL, rows)
    elif kind == "matrix":
        cols = [("county", "COUNTY", "区划代码", "county"), ("name", "NAME", "县市", "text")]
        cols += [(p, p, p, "label") for p in doc["periods"]]
        check_sheet("matrix", cols, doc["rows"])
        rows = [dict(doc["totals"][p], period=p) for p in doc["periods"]]
        check_sheet("matrix_totals", [("period", "PERIOD", "月份", "text"),
                                      ("on_time", "ON-TIME", "按时", "number"),
                                      ("late", "LATE", "迟报", "number"),
                                      ("missing", "NOT-FILED", "未报", "number")], rows)
    elif kind == "indicators":
        check_sheet("indicators", INDICATORS, doc["rows"] + [doc["total"]])
    else:
        fail(f"unknown kind {kind}")

    # the summary lines, on the last sheet, unless the report has none
    if kind != "matrix":
        if wb.sheetnames[-1] != SHEETS["notes"][1 if zh else 0]:
            fail(f"{kind}: last sheet {wb.sheetnames[-1]!r} is not the notes")
        first = wb.worksheets[-1]["A1"].value or ""
        marks = {"monthly": ("月报", "period "), "accidents": ("计入统计事故", "accident(s) counted"),
                 "indicators": ("年至今", "to date")}[kind]
        if marks[0 if zh else 1] not in first:
            fail(f"{kind}: notes begin {first!r}")
    print(f"ok: {kind} ({lang}): {len(wb.sheetnames)} sheets match the JSON")


main()
