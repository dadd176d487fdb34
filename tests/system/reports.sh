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
#                  = general; rev 1 adds 1 missing -> 3 counted as dead =
#                  larger (grade_rose, report to province), filed more than
#                  30 days after the accident (casualty_change_outside_window)
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
    printf '{"type":"accident","accident_id":"%s","revision":%s,"occurred_at":"%s","county_notified_at":"%s","place":"测试地点","unit":{"name":"测试单位"},"industry":"%s","summary":"测试","deaths":%s,"missing":%s,"serious_injuries":%s,"minor_injuries":0,"direct_loss_yuan":%s}' "$@"
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
('222402', 'B-OCT', 1, 'larger', 2, 1, 1, 'province', ['initial_report_late', 'unit_notice_late', 'casualty_change_outside_window', 'grade_rose']), \
('222401', 'A-EDGE', 0, 'general', 0, 0, 0, 'prefecture', ['initial_report_late'])]"
[ "$got" = "$exp" ] || fail "accidents: got $got, expected $exp"
[ "$(json_get "$A" "j['grade_rule']")" = missing_counted_as_dead ] || fail "grade_rule: $A"
[ "$(json_get "$A" "(j['totals']['by_grade']['larger'], j['totals']['by_grade']['serious'], j['totals']['by_grade']['especially_serious'], j['totals']['by_county']['222402'], j['totals']['by_county']['222403'], j['totals']['by_industry']['fire'])")" = \
  "({'accidents': 2, 'deaths': 2, 'missing': 1}, {'accidents': 1, 'deaths': 10, 'missing': 0}, {'accidents': 0, 'deaths': 0, 'missing': 0}, {'accidents': 2, 'deaths': 2, 'missing': 1}, {'accidents': 0, 'deaths': 0, 'missing': 0}, {'accidents': 1, 'deaths': 0, 'missing': 0})" ] ||
    fail "accident totals: $A"
pass "accidents: latest revisions, grades, report_to, flags, totals, +08:00 range edge"

T=$("$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY") || fail "accidents table"
for s in 222401 222402 B-OCT A-ROAD state_council "by grade"; do
    grep -q -- "$s" <<<"$T" || fail "accidents table lacks $s: $T"
done
C=$("$AGG" report accidents --dir "$WORK/agg" --from 2026-10-01 --to "$TODAY" --format csv) ||
    fail "accidents csv"
grep -q '^222402,图们市,B-OCT,1,.*,"initial_report_late,unit_notice_late,casualty_change_outside_window,grade_rose"' <<<"$C" ||
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

kill -TERM "$AGG_PID"; wait "$AGG_PID" || fail "aggregator did not stop cleanly"
