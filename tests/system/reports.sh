#!/usr/bin/env bash
# Issue 4: consolidation reports from real synced envelopes. Three enrolled
# counties: 222401 files the October 2026 monthly report twice (both now, so
# both after the 2026-11-05T23:59:59+08:00 deadline: "late", version 2) and
# the current month's (due on the 5th of next month: "on_time"); 222402
# files accidents only; 222403 never files ("missing"). The node stamps
# created_at with the current time, so "on_time" for a past month cannot be
# produced here: the deadline edges are tested in unit.consolidate.
#
# Accidents (times at +08:00; "now" = when the test runs):
#   222402 B-OCT   construction, 2026-10-14 08:30, county notified 10:00
#                  (1.5 h: unit_notice_late); rev 0 filed now (long after
#                  notified + 2 h: initial_report_late); deaths 2, missing 0
#                  = general; rev 1 adds 1 missing (as filed: 3 counted as
#                  dead = larger, grade_rose) but is true as of now, more
#                  than 30 days after the accident: recorded, not counted
#                  (change_after_window): the statistics stay general,
#                  2 dead, report to the prefecture
#   222402 B-NOW   fire, now - 40 min, notified now - 30 min, rev 0 general;
#                  rev 1 within 7 days: 12 serious injuries = larger
#                  (grade_rose only)
#   222401 A-ROAD  road_traffic, 2026-11-01 23:30, notified 23:50, deaths 10
#                  = serious -> state_council (initial_report_late only)
#   222401 A-EDGE  2026-09-30T16:00:00Z = 2026-10-01 00:00 +08:00: inside
#                  --from 2026-10-01
#   222401 A-OUT   2026-09-30T23:59:59+08:00: outside --from 2026-10-01
source "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
COUNTIES=(222401 222402 222403)
for c in "${COUNTIES[@]}"; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done

# The current period and date at +08:00, and accident times relative to now.
read -r CUR TODAY NOW40 NOW30 < <(python3 -c '
import datetime as d
tz = d.timezone(d.timedelta(hours=8))
n = d.datetime.now(tz).replace(microsecond=0)
print(n.strftime("%Y-%m"), n.strftime("%Y-%m-%d"),
      (n - d.timedelta(minutes=40)).isoformat(), (n - d.timedelta(minutes=30)).isoformat())')

submit() { # submit COUNTY JSON
    printf '%s\n' "$2" | "$NODE" submit --dir "$WORK/n$1" - >/dev/null || fail "submit to $1: $2"
}
acc() { # acc ID REV OCCURRED NOTIFIED INDUSTRY DEATHS MISSING SERIOUS LOSS
    printf '{"type":"accident","accident_id":"%s","revision":%s,"occurred_at":"%s","county_notified_at":"%s","place":"测试地点","unit":{"name":"测试单位"},"industry":"%s","category":"other_injury","summary":"测试","deaths":%s,"missing":%s,"serious_injuries":%s,"minor_injuries":0,"direct_loss_yuan":%s}' "$@"
}

submit 222401 '{"type":"monthly","period":"2026-10","tasks":[{"task":3,"status":"done"},{"task":4,"status":"in_progress"},{"task":5,"status":"not_started"}],"stats":{"inspections":10,"hazards_found":4}}'
submit 222401 '{"type":"monthly","period":"2026-10","tasks":[{"task":3,"status":"done"},{"task":4,"status":"done"}],"stats":{"inspections":12,"penalties_yuan":5000}}'
submit 222401 "{\"type\":\"monthly\",\"period\":\"$CUR\",\"tasks\":[{\"task\":3,\"status\":\"done\"}]}"
submit 222401 "$(acc A-ROAD 0 2026-11-01T23:30:00+08:00 2026-11-01T23:50:00+08:00 road_traffic 10 0 0 0)"
submit 222401 "$(acc A-EDGE 0 2026-09-30T16:00:00Z 2026-09-30T16:10:00Z other 0 0 0 100)"
submit 222401 "$(acc A-OUT 0 2026-09-30T23:59:59+08:00 2026-10-01T00:10:00+08:00 other 0 0 0 100)"
submit 222402 "$(acc B-OCT 0 2026-10-14T08:30:00+08:00 2026-10-14T10:00:00+08:00 construction 2 0 1 500000)"
submit 222402 "$(acc B-OCT 1 2026-10-14T08:30:00+08:00 2026-10-14T10:00:00+08:00 construction 2 1 1 500000)"
submit 222402 "$(acc B-NOW 0 "$NOW40" "$NOW30" fire 0 0 0 10000)"
submit 222402 "$(acc B-NOW 1 "$NOW40" "$NOW30" fire 0 0 12 10000)"
pass "reports filed offline"

start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level warn
AGG_PID=$LAST_PID
for c in 222401 222402; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 || fail "sync $c"
done
[ "$(agg_reports "$WORK/agg" 222401)" = 6 ] || fail "222401: expected 6 reports stored"
[ "$(agg_reports "$WORK/agg" 222402)" = 4 ] || fail "222402: expected 4 reports stored"
pass "synced: 10 reports"

# ---- monthly, while serve runs
M=$("$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format json) || fail "report monthly"
[ "$(json_get "$M" "[(r['county'], r['status'], r['version']) for r in j['rows']]")" = \
  "[('222401', 'late', 2), ('222402', 'missing', 0), ('222403', 'missing', 0)]" ] ||
    fail "monthly 2026-10 statuses: $M"
[ "$(json_get "$M" "(j['period'], j['deadline'], j['deadline_passed'])")" = \
  "('2026-10', '2026-11-05T23:59:59+08:00', True)" ] || fail "monthly header: $M"
# the version in force (the second) gives the tasks and statistics
[ "$(json_get "$M" "[(r['tasks_done'], r['tasks_in_progress'], r['tasks_not_started'], r['tasks_not_reported'], r['inspections'], r['hazards_found'], r['penalties_yuan'], r['clock_suspect']) for r in j['rows']][0]")" = \
  "(2, 0, 0, 23, 12, None, 5000, False)" ] || fail "monthly 222401 row: $M"
[ "$(json_get "$M" "(j['total']['inspections'], j['total']['counties_reporting']['inspections'], j['total']['hazards_found'], j['total']['late'], j['total']['missing'])")" = \
  "(12, 1, None, 1, 2)" ] || fail "monthly total: $M"
pass "monthly 2026-10: 222401 late (version 2), 222402 and 222403 missing; totals"

M=$("$AGG" report monthly --dir "$WORK/agg" --period "$CUR" --format json) || fail "report monthly $CUR"
[ "$(json_get "$M" "[r['status'] for r in j['rows']]")" = "['on_time', 'missing', 'missing']" ] ||
    fail "monthly $CUR statuses: $M"
pass "monthly $CUR: 222401 on time"

T=$("$AGG" report monthly --dir "$WORK/agg" --period 2026-10) || fail "report monthly table"
for s in 222401 延吉市 222402 图们市 222403 敦化市 late missing total; do
    grep -q -- "$s" <<<"$T" || fail "monthly table lacks $s: $T"
done
# Chinese names are padded by display width: the STATUS column starts at
# the same display column on every county row
python3 - "$T" <<'PY' || fail "monthly table columns not aligned: $T"
import sys, unicodedata
def w(s): return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = [l for l in sys.argv[1].splitlines() if l[:6].isdigit()]
cols = {w(l[:l.index(k)]) for l in lines for k in ("late", "missing", "on_time") if k in l}
assert len(lines) == 3 and len(cols) == 1, (lines, cols)
PY
C=$("$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format csv) || fail "report monthly csv"
[ "$(head -n 1 <<<"$C" | cut -d, -f1-3)" = "county,name,status" ] || fail "monthly csv header: $C"
grep -q "^222401,延吉市,late," <<<"$C" || fail "monthly csv 222401 row: $C"
grep -q "^222403,敦化市,missing," <<<"$C" || fail "monthly csv 222403 row: $C"
[ "$(wc -l <<<"$C")" = 6 ] || fail "monthly csv: expected header, 3 counties, total, reporting"
pass "monthly table and csv"

# ---- accidents
A=$("$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY" --format json) ||
    fail "report accidents"
got=$(json_get "$A" "[(a['county'], a['accident_id'], a['revision'], a['grade'], a['deaths'], a['missing'], a['serious_injuries'], a['report_to'], a['flags']) for a in j['accidents']]")
exp="[('222402', 'B-NOW', 1, 'larger', 0, 0, 12, 'province', ['grade_rose']), \
('222401', 'A-ROAD', 0, 'serious', 10, 0, 0, 'state_council', ['initial_report_late']), \
('222402', 'B-OCT', 1, 'general', 2, 1, 1, 'prefecture', ['initial_report_late', 'unit_notice_late', 'change_after_window', 'grade_rose']), \
('222401', 'A-EDGE', 0, 'general', 0, 0, 0, 'prefecture', ['initial_report_late'])]"
[ "$got" = "$exp" ] || fail "accidents: got $got, expected $exp"
[ "$(json_get "$A" "j['grade_rule']")" = missing_counted_as_dead ] || fail "grade_rule: $A"
[ "$(json_get "$A" "(j['totals']['by_grade']['larger'], j['totals']['by_grade']['serious'], j['totals']['by_grade']['especially_serious'], j['totals']['by_county']['222402'], j['totals']['by_county']['222403'], j['totals']['by_industry']['fire'])")" = \
  "({'accidents': 1, 'deaths': 0, 'missing': 0}, {'accidents': 1, 'deaths': 10, 'missing': 0}, {'accidents': 0, 'deaths': 0, 'missing': 0}, {'accidents': 2, 'deaths': 2, 'missing': 0}, {'accidents': 0, 'deaths': 0, 'missing': 0}, {'accidents': 1, 'deaths': 0, 'missing': 0})" ] ||
    fail "accident totals: $A"
pass "accidents: latest revisions, grades, report_to, flags, totals, +08:00 range edge"

T=$("$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY") || fail "accidents table"
for s in 222401 222402 B-OCT A-ROAD state_council "by grade"; do
    grep -q -- "$s" <<<"$T" || fail "accidents table lacks $s: $T"
done
C=$("$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY" --format csv) ||
    fail "accidents csv"
grep -q '^222402,图们市,B-OCT,1,.*,"initial_report_late,unit_notice_late,change_after_window,grade_rose"' <<<"$C" ||
    fail "accidents csv: flags not one quoted field: $C"
[ "$(wc -l <<<"$C")" = 5 ] || fail "accidents csv: expected header and 4 rows: $C"
pass "accidents table and csv"

# ---- matrix
X=$("$AGG" report matrix --dir "$WORK/agg" --from 2026-09 --to "$CUR" --format json) || fail "matrix"
[ "$(json_get "$X" "[(r['county'], r['2026-09'], r['2026-10'], r['$CUR']) for r in j['rows']]")" = \
  "[('222401', 'missing', 'late', 'on_time'), ('222402', 'missing', 'missing', 'missing'), ('222403', 'missing', 'missing', 'missing')]" ] ||
    fail "matrix: $X"
"$AGG" report matrix --dir "$WORK/agg" --from 2026-09 --to "$CUR" | grep -q "延吉市" || fail "matrix table"
pass "matrix 2026-09..$CUR"

# ---- bad usage
set +e
"$AGG" report monthly --dir "$WORK/agg" --period 2026-13 2>/dev/null; r1=$?
"$AGG" report weekly --dir "$WORK/agg" 2>/dev/null; r2=$?
"$AGG" report monthly --dir "$WORK/agg" --period 2026-10 --format xml 2>/dev/null; r3=$?
"$AGG" report accidents --dir "$WORK/agg" --from 2026-10-02 --to 2026-10-01 2>/dev/null; r4=$?
set -e
[ "$r1$r2$r3$r4" = 2222 ] || fail "bad usage exit codes $r1$r2$r3$r4, expected 2222"
pass "bad usage exits 2"

# ---- indicators (year 2025: over whenever this runs, so its window is the
# whole year against the whole of 2024, elapsed 1, and the numbers fixed).
# Accidents (occurred at +08:00; the revision in force counts):
#   222401 I-ROAD  road_traffic 2025-03-10, 2 dead + 1 missing, revised to
#                  3 dead + 0 missing (the revision is true as of when it was
#                  filed, long after the 7-day window: not counted; revision
#                  0's missing person, missing when the window closed, counts
#                  as dead: 3 either way)
#   222401 I-COAL  coal_mine 2024-12-31T16:00:00Z = 2025-01-01 00:00: in
#                  2025; 1 dead, 2 missing, still missing when the 30-day
#                  window closed: 3 counted deaths
#   222401 I-EDGE  construction 2024-12-31T23:59:59: in 2024 (previous), 4 dead
#   222401 I-FIRE  fire 2025-12-31T23:59:59: in 2025, 1 dead
#   222402 J-CONS  construction 2025-06-01, 2 dead
#   222402 J-OLD   other 2024-06-01, 1 dead (previous)
#   222402 J-NEXT  other 2026-01-01 00:00: in neither, 5 dead
# 222401: deaths 3+3+1 = 7, missing 0, previous 4; road 3, coal 3, 工矿商贸
#   3 (coal; road and fire apart); base 10 -> target 8, -30 %, progress
#   150 %; rates 7/812.5 = 0.008615, 3/153000e-5 = 1.960784,
#   3/210000e-4 = 0.142857, 3/500000e-6 = 6.0
# 222402: deaths 2, previous 1 (+100 %); base 2 -> target 1.6: 0 %, not on
#   track; rates 2/250 = 0.008, 2/40000e-5 = 5.0, vehicles not given,
#   coal output 0 -> null
# 222403: nothing; base 3 -> -100 %, progress 500 %; no figures
# total: deaths 9, missing 0, previous 5 (+80 %); base 3+10+2 = 15 (summed:
#   no prefecture base) -> target 12, -40 %, progress 200 %;
#   figures of 222400: 9/2000 = 0.0045, 5/250000e-5 = 2.0,
#   3/400000e-4 = 0.075, 3/800000e-6 = 3.75
submit 222401 "$(acc I-ROAD 0 2025-03-10T08:00:00+08:00 2025-03-10T08:10:00+08:00 road_traffic 2 1 0 0)"
submit 222401 "$(acc I-ROAD 1 2025-03-10T08:00:00+08:00 2025-03-10T08:10:00+08:00 road_traffic 3 0 0 0)"
submit 222401 "$(acc I-COAL 0 2024-12-31T16:00:00Z 2024-12-31T16:10:00Z coal_mine 1 2 0 0)"
submit 222401 "$(acc I-EDGE 0 2024-12-31T23:59:59+08:00 2025-01-01T00:09:59+08:00 construction 4 0 0 0)"
submit 222401 "$(acc I-FIRE 0 2025-12-31T23:59:59+08:00 2026-01-01T00:09:59+08:00 fire 1 0 0 0)"
submit 222402 "$(acc J-CONS 0 2025-06-01T10:00:00+08:00 2025-06-01T10:10:00+08:00 construction 2 0 0 0)"
submit 222402 "$(acc J-OLD 0 2024-06-01T10:00:00+08:00 2024-06-01T10:10:00+08:00 other 1 0 0 0)"
submit 222402 "$(acc J-NEXT 0 2026-01-01T00:00:00+08:00 2026-01-01T00:10:00+08:00 other 5 0 0 0)"
for c in 222401 222402; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 || fail "sync $c (indicators)"
done

# the example file, then a file that replaces 222401's base (14 -> 10),
# then one on stdin that replaces 222401's 2025 figures (GDP 800 -> 812.5)
"$AGG" load-figures --dir "$WORK/agg" "$ZB_SOURCE_DIR/deploy/examples/figures.json" >/dev/null ||
    fail "load-figures deploy/examples/figures.json"
cat >"$WORK/fig1.json" <<'JSON'
{"figures": [
  {"county": "222401", "year": 2025, "gdp_100m_yuan": 800, "workers_industry_mining_commerce": 153000,
   "motor_vehicles": 210000, "coal_output_tonnes": 500000},
  {"county": "222402", "year": 2025, "gdp_100m_yuan": 250, "workers_industry_mining_commerce": 40000,
   "coal_output_tonnes": 0},
  {"county": "222400", "year": 2025, "gdp_100m_yuan": 2000, "workers_industry_mining_commerce": 250000,
   "motor_vehicles": 400000, "coal_output_tonnes": 800000}],
 "base": [{"county": "222401", "year": 2015, "deaths": 10},
          {"county": "222402", "year": 2015, "deaths": 2},
          {"county": "222403", "year": 2015, "deaths": 3}]}
JSON
out=$("$AGG" load-figures --dir "$WORK/agg" "$WORK/fig1.json") || fail "load-figures fig1"
grep -q "loaded 3 figures record(s) and 3 base record(s)" <<<"$out" || fail "load-figures output: $out"
printf '%s' '{"figures": [{"county": "222401", "year": 2025, "gdp_100m_yuan": 812.5,
  "workers_industry_mining_commerce": 153000, "motor_vehicles": 210000, "coal_output_tonnes": 500000}]}' |
    "$AGG" load-figures --dir "$WORK/agg" - >/dev/null || fail "load-figures from stdin"
pass "load-figures: example file, a file, stdin"

I=$("$AGG" report indicators --dir "$WORK/agg" --year 2025 --format json) || fail "report indicators"
[ "$(json_get "$I" "(j['from'], j['to'], j['previous_from'], j['previous_to'], j['elapsed_fraction'], j['base_year'], j['deaths_rule'])")" = \
  "('2025-01-01T00:00:00+08:00', '2026-01-01T00:00:00+08:00', '2024-01-01T00:00:00+08:00', '2025-01-01T00:00:00+08:00', 1.0, 2015, 'counted_within_window_missing_as_dead_after')" ] ||
    fail "indicators header: $I"
got=$(json_get "$I" "[(r['county'], r['accidents'], r['deaths'], r['missing'], r['previous_deaths'], r['change_vs_previous'], r['change_vs_previous_pct']) for r in j['rows'] + [j['total']]]")
# the 2 persons missing in 222401's 2025 accidents were still missing when
# their windows closed: counted as dead (5 + 2), none left "missing"
exp="[('222401', 3, 7, 0, 4, 3, 75.0), ('222402', 1, 2, 0, 1, 1, 100.0), ('222403', 0, 0, 0, 0, 0, None), ('total', 4, 9, 0, 5, 4, 80.0)]"
[ "$got" = "$exp" ] || fail "indicators deaths: got $got, expected $exp"
got=$(json_get "$I" "[(r['base_deaths'], r['base_deaths_prorated'], r['target_deaths'], r['target_deaths_prorated'], r['change_vs_base_pct'], r['target_progress_pct'], r['on_track']) for r in j['rows'] + [j['total']]]")
exp="[(10, 10.0, 8.0, 8.0, -30.0, 150.0, True), (2, 2.0, 1.6, 1.6, 0.0, 0.0, False), (3, 3.0, 2.4, 2.4, -100.0, 500.0, True), (15, 15.0, 12.0, 12.0, -40.0, 200.0, True)]"
[ "$got" = "$exp" ] || fail "indicators base and target: got $got, expected $exp"
got=$(json_get "$I" "[(r['deaths_industry_mining_commerce'], r['deaths_road_traffic'], r['deaths_coal_mine'], r['gdp_100m_yuan'], r['workers_industry_mining_commerce'], r['motor_vehicles'], r['coal_output_tonnes']) for r in j['rows'] + [j['total']]]")
exp="[(3, 3, 3, 812.5, 153000, 210000, 500000), (2, 0, 0, 250.0, 40000, None, 0), (0, 0, 0, None, None, None, None), (5, 3, 3, 2000.0, 250000, 400000, 800000)]"
[ "$got" = "$exp" ] || fail "indicators denominators: got $got, expected $exp"
got=$(json_get "$I" "[(r['deaths_per_100m_yuan_gdp'], r['deaths_per_100k_workers'], r['road_deaths_per_10k_vehicles'], r['coal_deaths_per_million_tonnes']) for r in j['rows'] + [j['total']]]")
exp="[(0.008615, 1.960784, 0.142857, 6.0), (0.008, 5.0, None, None), (None, None, None, None), (0.0045, 2.0, 0.075, 3.75)]"
[ "$got" = "$exp" ] || fail "indicators rates: got $got, expected $exp"
[ "$(json_get "$I" "(j['total']['figures_source'], j['total']['base_source'])")" = "('prefecture', 'sum_of_counties')" ] ||
    fail "indicators total sources: $I"
pass "indicators 2025: deaths, previous year, 2015 base and target, the four rates, total"

C=$("$AGG" report indicators --dir "$WORK/agg" --year 2025 --format csv) || fail "indicators csv"
[ "$(head -n 1 <<<"$C" | cut -d, -f1-6)" = "county,name,accidents,deaths,missing,previous_deaths" ] ||
    fail "indicators csv header: $C"
grep -q "^222401,延吉市,3,7,0,4,3,75,10,10,8,8,-30,150,true,3,3,3,812.5,153000,210000,500000,0.008615,1.960784,0.142857,6" <<<"$C" ||
    fail "indicators csv 222401: $C"
[ "$(wc -l <<<"$C")" = 5 ] || fail "indicators csv: expected header, 3 counties, total: $C"
T=$("$AGG" report indicators --dir "$WORK/agg" --year 2025) || fail "indicators table"
for s in 延吉市 敦化市 total PROGRESS% ROAD/10K-VEH "counted deaths"; do
    grep -q -- "$s" <<<"$T" || fail "indicators table lacks $s: $T"
done
pass "indicators table and csv"

# a bad figures file: exit 2, one line per problem naming the field, and
# nothing stored (its valid first entry included)
cat >"$WORK/bad.json" <<'JSON'
{"figures": [{"county": "222403", "year": 2025, "gdp_100m_yuan": 100},
             {"county": "222401", "year": 2025, "gdp_100m_yuan": "812.5"},
             {"county": "2224x1", "year": 2025, "motor_vehicle": 5}],
 "base": [{"county": "222401", "year": 2016, "deaths": 1}], "note": "x"}
JSON
set +e
"$AGG" load-figures --dir "$WORK/agg" "$WORK/bad.json" >/dev/null 2>"$WORK/bad.err"; rb=$?
set -e
[ "$rb" = 2 ] || fail "bad figures file: exit $rb, expected 2"
for s in "error: figures[1].gdp_100m_yuan: must be a number" "error: figures[2].county: must be a 6-digit" \
         "error: figures[2].motor_vehicle: unknown field" "error: base[0].year: must be 2015" \
         "error: note: unknown field" "nothing stored"; do
    grep -qF -- "$s" "$WORK/bad.err" || fail "bad figures file: no line '$s': $(cat "$WORK/bad.err")"
done
I2=$("$AGG" report indicators --dir "$WORK/agg" --year 2025 --format json) || fail "report indicators (after bad file)"
[ "$I2" = "$I" ] || fail "bad figures file changed the store: $I2"
set +e
"$AGG" report indicators --dir "$WORK/agg" 2>/dev/null; r1=$?
"$AGG" report indicators --dir "$WORK/agg" --year 1999 2>/dev/null; r2=$?
"$AGG" report indicators --dir "$WORK/agg" --year 20x5 2>/dev/null; r3=$?
"$AGG" load-figures --dir "$WORK/agg" 2>/dev/null; r4=$?
echo '{"figures": [' | "$AGG" load-figures --dir "$WORK/agg" - 2>/dev/null; r5=$?
set -e
[ "$r1$r2$r3$r4$r5" = 22222 ] || fail "indicators/load-figures bad usage exit codes $r1$r2$r3$r4$r5"
pass "bad figures file: exit 2 naming each field, store unchanged; bad usage exits 2"

# the indexes the reports read: `check` verifies them against the envelopes
# (beside the running serve); `reindex` rebuilds them and changes no answer
"$AGG" check --dir "$WORK/agg" >/dev/null || fail "check (indexes) before reindex"
# (the accidents report is judged at a time: the same --now for both)
AT="${TODAY}T12:00:00+08:00"
A1=$("$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY" --now "$AT" --format json) ||
    fail "report accidents --now"
R=$("$AGG" reindex --dir "$WORK/agg") || fail "reindex"
case "$R" in "reindexed "*" envelopes") ;; *) fail "reindex said: $R" ;; esac
A2=$("$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY" --now "$AT" --format json) ||
    fail "report accidents after reindex"
[ "$A2" = "$A1" ] || fail "reindex changed report accidents"
X2=$("$AGG" report matrix --dir "$WORK/agg" --from 2026-09 --to "$CUR" --format json) ||
    fail "matrix after reindex"
[ "$X2" = "$X" ] || fail "reindex changed report matrix"
"$AGG" check --dir "$WORK/agg" >/dev/null || fail "check after reindex"
set +e
"$AGG" reindex --dir "$WORK/nowhere" 2>/dev/null; rr=$?
set -e
[ "$rr" = 1 ] || fail "reindex of a missing store: exit $rr"
pass "check verifies the indexes; reindex rebuilds them with the same answers"

kill -TERM "$AGG_PID"; wait "$AGG_PID" || fail "aggregator did not stop cleanly"
