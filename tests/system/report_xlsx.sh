#!/usr/bin/env bash
# Issue 16: the reports in the reader's language, and as Excel workbooks.
# Three enrolled counties file through real nodes and a real aggregator:
#   222401  October 2026 monthly report (penalties 123456 yuan = 12.35 万元,
#           loss 1234567 = 123.46 万元), accepted by the prefecture; the
#           current month's report (on time); a road accident now, 4 dead
#           (较大: to the province); 2025 accidents for the indicators
#   222402  October's report (penalties 5050 yuan = 0.51 万元, rounded half
#           up); a construction accident in October (2 dead, loss 1234567);
#           a fire now, revised to 12 serious injuries (grade_rose)
#   222403  nothing: missing everywhere
# Each report (monthly, accidents, matrix, indicators) is produced as json
# and as xlsx under LANG=zh_CN.UTF-8 and LANG=C.UTF-8; every workbook is
# opened with python3-openpyxl and checked cell by cell against the json
# (report_xlsx_check.py: headings, types, values, labels, money, frozen
# headings). Then the table and CSV labels in both languages, the CSV's
# byte order mark, the json unchanged by the language, --lang over the
# locale, and the usage errors.
source "$(dirname "$0")/../lib.sh"
# the language comes from LANG alone below (LC_ALL and LC_MESSAGES win over it)
unset LC_ALL LC_MESSAGES LANGUAGE

CHECK="$(dirname "$0")/report_xlsx_check.py"
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import openpyxl' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || fail "no python3 with openpyxl (Debian: python3-openpyxl, deploy/install-deps.sh)"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
for c in 222401 222402 222403; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done

read -r CUR TODAY NOW NOW60 NOW50 NOW40 NOW30 < <(python3 -c '
import datetime as d
tz = d.timezone(d.timedelta(hours=8))
n = d.datetime.now(tz).replace(microsecond=0)
m = lambda k: (n - d.timedelta(minutes=k)).isoformat()
print(n.strftime("%Y-%m"), n.strftime("%Y-%m-%d"), n.isoformat(), m(60), m(50), m(40), m(30))')

submit() { # submit COUNTY JSON
    printf '%s\n' "$2" | "$NODE" submit --dir "$WORK/n$1" - >/dev/null 2>&1 || fail "submit to $1: $2"
}
acc() { # acc ID REV OCCURRED NOTIFIED INDUSTRY CATEGORY DEATHS MISSING SERIOUS LOSS
    printf '{"type":"accident","accident_id":"%s","revision":%s,"occurred_at":"%s","county_notified_at":"%s","place":"测试地点","unit":{"name":"测试单位"},"industry":"%s","category":"%s","summary":"测试","deaths":%s,"missing":%s,"serious_injuries":%s,"minor_injuries":0,"direct_loss_yuan":%s}' "$@"
}

submit 222401 '{"type":"monthly","period":"2026-10","tasks":[{"task":3,"status":"done"},{"task":4,"status":"in_progress"}],"stats":{"inspections":7,"penalties_yuan":123456,"accidents":1,"accident_deaths":2,"accident_direct_loss_yuan":1234567}}'
submit 222401 "{\"type\":\"monthly\",\"period\":\"$CUR\",\"tasks\":[{\"task\":3,\"status\":\"done\"}]}"
submit 222402 '{"type":"monthly","period":"2026-10","tasks":[{"task":5,"status":"not_started"}],"stats":{"penalties_yuan":5050}}'
submit 222402 "$(acc X-CONS 0 2026-10-14T08:30:00+08:00 2026-10-14T10:00:00+08:00 construction object_strike 2 0 1 1234567)"
submit 222401 "$(acc X-ROAD 0 "$NOW60" "$NOW50" road_traffic vehicle_injury 4 0 0 5050)"
submit 222402 "$(acc X-FIRE 0 "$NOW40" "$NOW30" fire other_injury 0 0 0 10000)"
submit 222402 "$(acc X-FIRE 1 "$NOW40" "$NOW30" fire other_injury 0 0 12 10000)"
submit 222401 "$(acc I-ROAD 0 2025-03-10T08:00:00+08:00 2025-03-10T08:10:00+08:00 road_traffic vehicle_injury 3 0 0 0)"
submit 222402 "$(acc I-CONS 0 2025-06-01T10:00:00+08:00 2025-06-01T10:10:00+08:00 construction object_strike 2 0 0 0)"

start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level warn
for c in 222401 222402; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 >/dev/null || fail "sync $c"
done
"$AGG" review --dir "$WORK/agg" --county 222401 --seq 1 --accept --reviewer 王科长 >/dev/null ||
    fail "review"
cat >"$WORK/fig.json" <<'JSON'
{"figures": [{"county": "222401", "year": 2025, "gdp_100m_yuan": 812.5,
              "workers_industry_mining_commerce": 153000, "motor_vehicles": 210000,
              "coal_output_tonnes": 0}],
 "base": [{"county": "222401", "year": 2015, "deaths": 10},
          {"county": "222402", "year": 2015, "deaths": 2}]}
JSON
"$AGG" load-figures --dir "$WORK/agg" "$WORK/fig.json" >/dev/null || fail "load-figures"
pass "filed, synced, reviewed, figures loaded"

# ---- every report as json and xlsx, in Chinese and in English
report_args() { # KIND -> the report's options
    case $1 in
        monthly) echo "--period 2026-10" ;;
        accidents) echo "--from 2026-10-01 --to $TODAY --now $NOW" ;;
        matrix) echo "--from 2026-09 --to $CUR" ;;
        indicators) echo "--year 2025" ;;
    esac
}
for lang in zh en; do
    locale=C.UTF-8
    [ $lang = zh ] && locale=zh_CN.UTF-8
    for kind in monthly accidents matrix indicators; do
        # shellcheck disable=SC2046
        LANG=$locale "$AGG" report $kind --dir "$WORK/agg" $(report_args $kind) --format json \
            >"$WORK/$kind.$lang.json" || fail "report $kind json ($locale)"
        # shellcheck disable=SC2046
        out=$(LANG=$locale "$AGG" report $kind --dir "$WORK/agg" $(report_args $kind) \
            --format xlsx --out "$WORK/$kind.$lang.xlsx" 2>&1) || fail "report $kind xlsx ($locale): $out"
        [ -z "$out" ] || fail "report $kind xlsx printed: $out"
        [ ! -e "$WORK/$kind.$lang.xlsx.tmp" ] || fail "$kind.$lang.xlsx.tmp left behind"
        "$PY" "$CHECK" $kind "$WORK/$kind.$lang.json" "$WORK/$kind.$lang.xlsx" $lang ||
            fail "workbook $kind ($locale) does not match its json"
    done
done
pass "xlsx: 4 reports x zh/en: headings, types, values, labels, money, frozen headings = json"

# the json is the same bytes whatever the language (the dashboard's API serves it)
for kind in monthly accidents matrix indicators; do
    cmp -s "$WORK/$kind.zh.json" "$WORK/$kind.en.json" || fail "$kind json differs by language"
done
# the values the workbooks were checked against are the scenario's
got=$(json_get "$(cat "$WORK/monthly.en.json")" "[(r['county'], r['status'], r['review'], r['penalties_yuan']) for r in j['rows']]")
[ "$got" = "[('222401', 'late', 'accepted', 123456), ('222402', 'late', 'unreviewed', 5050), ('222403', 'missing', None, None)]" ] ||
    fail "monthly json: $got"
got=$(json_get "$(cat "$WORK/accidents.en.json")" "sorted((a['accident_id'], a['grade'], a['report_to'], a['counted_direct_loss_yuan'], 'grade_rose' in a['flags']) for a in j['accidents'])")
[ "$got" = "[('X-CONS', 'general', 'prefecture', 1234567, False), ('X-FIRE', 'larger', 'province', 10000, True), ('X-ROAD', 'larger', 'province', 5050, False)]" ] ||
    fail "accidents json: $got"
"$PY" - "$WORK" <<'PY' || fail "workbook spot values"
import sys, openpyxl
w = sys.argv[1]
ws = openpyxl.load_workbook(f"{w}/monthly.zh.xlsx")["月度报送"]
row = [c.value for c in ws[2]]
assert row[:4] == ["222401", "延吉市", "迟报", "已签收"], row
assert row[17] == 12.35 and row[22] == 123.46, row        # 万元
assert [c.value for c in ws[3]][17] == 0.51, [c.value for c in ws[3]]  # 5050 yuan, half up
ws = openpyxl.load_workbook(f"{w}/monthly.en.xlsx")["monthly report"]
row = [c.value for c in ws[2]]
assert row[:4] == ["222401", "延吉市", "late", "accepted"] and row[17] == 123456, row
ws = openpyxl.load_workbook(f"{w}/accidents.zh.xlsx")["事故"]
rows = {r[2]: r for r in ws.iter_rows(min_row=2, values_only=True)}
assert rows["X-ROAD"][8] == "较大" and rows["X-ROAD"][14] == "省应急管理厅", rows["X-ROAD"]
assert rows["X-CONS"][5] == "建筑施工" and rows["X-CONS"][13] == 123.46, rows["X-CONS"]
assert "等级上升" in rows["X-FIRE"][16], rows["X-FIRE"]
PY
pass "json identical in both languages; spot values: 迟报/已签收/12.35/0.51/较大/省应急管理厅/等级上升"

# ---- table and CSV labels
T=$(LANG=zh_CN.UTF-8 "$AGG" report monthly --dir "$WORK/agg" --period 2026-10) || fail "zh table"
for s in 区划代码 报送状态 罚款\(万元\) 迟报 未报 已签收 合计 报送县数 12.35 123.46 0.51 截止时间; do
    grep -qF -- "$s" <<<"$T" || fail "zh monthly table lacks $s: $T"
done
! grep -qE "on_time|late|missing|123456" <<<"$T" || fail "zh monthly table has English labels or yuan: $T"
"$PY" - "$T" <<'PY' || fail "zh monthly table not aligned by display width: $T"
import sys, unicodedata
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = [l for l in sys.argv[1].splitlines() if l[:6].isdigit()]
cols = {w(l[:l.index(k)]) for l in lines for k in ("迟报", "未报") if k in l}
assert len(lines) == 3 and len(cols) == 1, (lines, cols)
PY
T=$(LANG=C.UTF-8 "$AGG" report monthly --dir "$WORK/agg" --period 2026-10) || fail "en table"
for s in STATUS PENALTIES late missing accepted 123456 1234567 deadline; do
    grep -qF -- "$s" <<<"$T" || fail "en monthly table lacks $s: $T"
done
T=$(LANG=zh_CN.UTF-8 "$AGG" report monthly --lang en --dir "$WORK/agg" --period 2026-10) ||
    fail "--lang en"
grep -q "late" <<<"$T" && ! grep -q "迟报" <<<"$T" || fail "--lang en under LANG=zh_CN: $T"
T=$(LANG=C.UTF-8 "$AGG" report accidents --lang zh --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY" --now "$NOW") ||
    fail "--lang zh accidents"
for s in 较大 一般 省应急管理厅 州应急管理局 建筑施工 道路交通 续报 首报 123.46 按等级 等级上升; do
    grep -qF -- "$s" <<<"$T" || fail "zh accidents table lacks $s: $T"
done
T=$("$AGG" report matrix --lang zh --dir "$WORK/agg" --from 2026-09 --to "$CUR") || fail "zh matrix"
grep -q "^222401 .*延吉市 .*未报 .*迟报" <<<"$T" || fail "zh matrix: $T"
T=$(LANG=C.UTF-8 "$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY" --now "$NOW") ||
    fail "en accidents"
for s in larger general province prefecture construction 1234567 grade_rose; do
    grep -qF -- "$s" <<<"$T" || fail "en accidents table lacks $s: $T"
done
pass "tables: Chinese labels and 万元 under LANG=zh_CN.UTF-8 or --lang zh, aligned; English under C.UTF-8 or --lang en"

C=$(LANG=zh_CN.UTF-8 "$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format csv) || fail "zh csv"
[ "$(head -c 3 <<<"$C" | od -An -tx1 | tr -d ' ')" = efbbbf ] || fail "zh csv: no UTF-8 BOM"
[ "$(head -n 1 <<<"$C" | cut -d, -f1-3)" = $'\xef\xbb\xbf区划代码,县市,报送状态' ] || fail "zh csv header: $C"
grep -q "^222401,延吉市,迟报,.*,12.35,.*,123.46,已签收"$'\r'"\$" <<<"$C" || fail "zh csv 222401: $C"
grep -q "^222402,图们市,迟报,.*,0.51," <<<"$C" || fail "zh csv 222402: $C"
C=$(LANG=C.UTF-8 "$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format csv) || fail "en csv"
[ "$(head -n 1 <<<"$C" | cut -d, -f1-3)" = "county,name,status" ] || fail "en csv header (no BOM): $C"
grep -q "^222401,延吉市,late,.*,123456,.*,1234567,accepted"$'\r'"\$" <<<"$C" || fail "en csv 222401: $C"
pass "csv: UTF-8 BOM, Chinese headings and labels, 万元 in zh; JSON names, codes, yuan and no BOM in en"

# ---- --out with the other formats; usage errors
"$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format csv --out "$WORK/m.csv" >"$WORK/stdout" ||
    fail "--format csv --out"
[ ! -s "$WORK/stdout" ] || fail "--out also printed on stdout"
cmp -s "$WORK/m.csv" <(LANG=C.UTF-8 "$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format csv) ||
    fail "--out FILE differs from stdout"
set +e
err1=$("$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format xlsx 2>&1 >/dev/null); r1=$?
err2=$("$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --lang fr 2>&1 >/dev/null); r2=$?
err3=$("$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format xls 2>&1 >/dev/null); r3=$?
err4=$("$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format xlsx --out "$WORK/no/such/dir/m.xlsx" 2>&1 >/dev/null); r4=$?
set -e
[ "$r1:$err1" = "2:error: --out: required with --format xlsx" ] || fail "xlsx without --out: $r1 $err1"
[ "$r2:$err2" = "2:error: --lang: must be zh or en" ] || fail "--lang fr: $r2 $err2"
[ "$r3" = 2 ] && grep -q "xlsx" <<<"$err3" || fail "--format xls: $r3 $err3"
[ "$r4" = 1 ] && [ ! -e "$WORK/no" ] || fail "xlsx to a missing directory: $r4 $err4"
pass "--out for csv; xlsx needs --out; bad --lang, bad --format, unwritable --out"
