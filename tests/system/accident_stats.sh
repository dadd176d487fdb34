#!/usr/bin/env bash
# Issue 11, through real nodes, a real aggregator and faked clocks
# (libfaketime): the accidents counted the way the office must count them.
#   222401 ROAD    road traffic, 40 days ago: 3 dead on day 0, 4 on day 5,
#                  10 on day 35 -> 较大 with 4 counted, the day-35 change
#                  recorded (change_after_window), report to the province;
#                  then closed: no revision may follow (the node refuses it;
#                  a hand-built one is refused by the aggregator)
#   222401 WO      written off: listed with its reason, out of the totals
#   222401         a zero report for the accident's month: mismatch flagged
#   222402         a node whose clock was set back: a monthly report "on time"
#                  by its signature, received days after the deadline
#                  (received_long_after_created)
#   222403         a node whose clock runs 400 days ahead: its accident is
#                  listed, not counted (created_after_received), and its
#                  monthly report is judged on its receive time
source "$(dirname "$0")/../lib.sh"
command -v faketime >/dev/null || fail "faketime missing (deploy/install-deps.sh installs it)"
# libfaketime is preloaded ahead of the sanitizer runtime: tell ASan that is fine
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
for c in 222401 222402 222403; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error

# times, +08:00; day 0 is 40 days ago
eval "$(python3 - <<'PY'
import datetime as d
tz = d.timezone(d.timedelta(hours=8))
now = d.datetime.now(tz).replace(microsecond=0)
t0 = (now - d.timedelta(days=40)).replace(hour=8, minute=0, second=0)
f = lambda t: t.isoformat()
print(f"T0={f(t0)} N0={f(t0 + d.timedelta(minutes=20))}")
print(f"D0={f(t0 + d.timedelta(minutes=30))} D5={f(t0 + d.timedelta(days=5))}"
      f" D35={f(t0 + d.timedelta(days=35))}")
print(f"FROM={t0.date()} TO={now.date()} PERIOD={t0.strftime('%Y-%m')}")
# the latest period whose deadline (the 5th, 23:59:59 +08:00, of the next
# month) passed more than 3 days ago, and a clock set to one day before it
y, m = now.year, now.month
while True:
    ny, nm = (y, m + 1) if m < 12 else (y + 1, 1)
    dl = d.datetime(ny, nm, 5, 23, 59, 59, tzinfo=tz)
    if dl < now - d.timedelta(days=3):
        break
    y, m = (y, m - 1) if m > 1 else (y - 1, 12)
back = (dl - d.timedelta(days=1)).astimezone(d.timezone.utc)
print(f"LATE_PERIOD={y:04d}-{m:02d} BACK_CLOCK='{back.strftime('%Y-%m-%d %H:%M:%S')}'")
PY
)"

acc() { # acc ID REV AS_OF DEATHS [STAGE [REASON]]
    python3 -c 'import json, sys
a = sys.argv[1:]
r = {"type": "accident", "accident_id": a[0], "revision": int(a[1]), "occurred_at": a[6],
     "county_notified_at": a[7], "place": "国道201线", "unit": {"name": "某运输公司"},
     "industry": "road_traffic", "summary": "两车相撞", "deaths": int(a[3]), "missing": 0,
     "serious_injuries": 0, "minor_injuries": 0, "direct_loss_yuan": 0, "as_of": a[2]}
if int(a[1]) == 0:
    r["category"] = "vehicle_injury"
if a[4]:
    r["stage"] = a[4]
if a[5]:
    r["write_off_reason"] = a[5]
print(json.dumps(r, ensure_ascii=False))' "$1" "$2" "$3" "$4" "${5:-}" "${6:-}" "$T0" "$N0"
}
submit() { # submit COUNTY JSON [faketime spec]
    if [ -n "${3:-}" ]; then
        local ft=(faketime "$3")
        case "$3" in [+-]*) ft=(faketime -f "$3") ;; esac # an offset; else a fixed time
        printf '%s\n' "$2" | "${ft[@]}" "$NODE" submit --dir "$WORK/n$1" - >/dev/null ||
            fail "submit to $1 at $3: $2"
    else
        printf '%s\n' "$2" | "$NODE" submit --dir "$WORK/n$1" - >/dev/null || fail "submit to $1: $2"
    fi
}

submit 222401 "$(acc ROAD 0 "$D0" 3)"
submit 222401 "$(acc ROAD 1 "$D5" 4)"
submit 222401 "$(acc ROAD 2 "$D35" 10)"
submit 222401 "$(acc WO 0 "$D0" 1)"
submit 222401 "$(acc WO 1 "$D5" 1 write_off "自然灾害引发的山体滑坡，非生产安全事故")"
submit 222401 "{\"type\":\"monthly\",\"period\":\"$PERIOD\",\"stats\":{\"accidents\":0}}"
submit 222402 "{\"type\":\"monthly\",\"period\":\"$LATE_PERIOD\",\"stats\":{\"inspections\":3}}" "$BACK_CLOCK"
submit 222403 "$(acc FWD 0 "$D0" 2)" "+400d"
submit 222403 "{\"type\":\"monthly\",\"period\":\"$LATE_PERIOD\",\"stats\":{\"inspections\":1}}" "+2d"
for c in 222401 222402 222403; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 30 >/dev/null 2>&1 || fail "sync $c"
done
pass "filed through real nodes (two with faked clocks) and synced"

A=$("$AGG" report accidents --dir "$WORK/agg" --from "$FROM" --to "$TO" --format json) ||
    fail "report accidents"
got=$(json_get "$A" "[(a['deaths'], a['counted_deaths'], a['grade'], a['max_grade'], a['report_to'], a['category'], a['stage'], a['counted']) for a in j['accidents'] if a['accident_id'] == 'ROAD']")
[ "$got" = "[(10, 4, 'larger', 'larger', 'province', 'vehicle_injury', 'supplement', True)]" ] ||
    fail "the road accident: $got"
flags=$(json_get "$A" "[a['flags'] for a in j['accidents'] if a['accident_id'] == 'ROAD'][0]")
case "$flags" in *change_after_window*) ;; *) fail "ROAD flags: $flags" ;; esac
case "$flags" in *unit_notice_late*) fail "unit_notice_late on a road accident: $flags" ;; esac
got=$(json_get "$A" "[(a['written_off'], a['write_off_reason'], a['counted']) for a in j['accidents'] if a['accident_id'] == 'WO']")
[ "$got" = "[(True, '自然灾害引发的山体滑坡，非生产安全事故', False)]" ] || fail "the write-off: $got"
got=$(json_get "$A" "[(a['counted'], 'created_after_received' in a['flags']) for a in j['accidents'] if a['accident_id'] == 'FWD']")
[ "$got" = "[(False, True)]" ] || fail "the forward-dated accident: $got"
got=$(json_get "$A" "(j['totals']['accidents'], j['totals']['listed'], j['totals']['by_county']['222401'], j['totals']['by_grade']['larger'])")
[ "$got" = "(1, 3, {'accidents': 1, 'deaths': 4, 'missing': 0}, {'accidents': 1, 'deaths': 4, 'missing': 0})" ] ||
    fail "totals: only the road accident counts, with 4 deaths: $got"
pass "road accident: 较大, 4 counted, day-35 change recorded not counted; write-off and forward clock out of the totals"

H=$("$AGG" report accidents --dir "$WORK/agg" --from "$FROM" --to "$TO" --format table) || fail "table"
grep -q "counted of 3 listed" <<<"$H" || fail "table footer: $H"

# closed: nothing may follow, at the node (exit 2, one line) and at the aggregator
submit 222401 "$(acc ROAD 3 "$D35" 4 closing)"
before=$(md5sum "$WORK/n222401/data.mdb" | cut -d' ' -f1)
set +e
err=$(acc ROAD 4 "$D35" 4 | "$NODE" submit --dir "$WORK/n222401" - 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 2 ] || fail "a revision after closing: exit $rc ($err)"
grep -q "revision" <<<"$err" || fail "a revision after closing: $err"
[ "$(md5sum "$WORK/n222401/data.mdb" | cut -d' ' -f1)" = "$before" ] || fail "the refused revision changed the store"
"$NODE" sync --dir "$WORK/n222401" --once --timeout 30 >/dev/null 2>&1 || fail "sync the closing"
A=$("$AGG" report accidents --dir "$WORK/agg" --from "$FROM" --to "$TO" --format json)
[ "$(json_get "$A" "[(a['stage'], a['next_supplement_due']) for a in j['accidents'] if a['accident_id'] == 'ROAD']")" = "[('closing', None)]" ] ||
    fail "closed: $A"
pass "closing: the node refuses a further revision (exit 2), nothing stored"

M=$("$AGG" report monthly --dir "$WORK/agg" --period "$PERIOD" --format json) || fail "monthly"
[ "$(json_get "$M" "[(r['accidents_direct'], r['accidents_mismatch']) for r in j['rows'] if r['county'] == '222401']")" = "[(1, True)]" ] ||
    fail "zero report against one direct-reported accident: $M"
pass "zero report: mismatch with the direct reports flagged"

M=$("$AGG" report monthly --dir "$WORK/agg" --period "$LATE_PERIOD" --format json) || fail "monthly late"
got=$(json_get "$M" "[(r['county'], r['status'], r['clock_flags']) for r in j['rows'] if r['county'] in ('222402', '222403')]")
# (222403's monthly report, signed 2 days ahead, also precedes its accident
# signed 400 days ahead: created_before_previous)
[ "$got" = "[('222402', 'on_time', ['received_long_after_created']), ('222403', 'late', ['created_after_received', 'created_before_previous'])]" ] ||
    fail "clock trust in the monthly report: $got"
pass "clock trust: a clock set back is flagged; one ahead is judged on the receive time"
