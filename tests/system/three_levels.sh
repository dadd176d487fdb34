#!/usr/bin/env bash
# Three levels (issue 15): a province (220000 Jilin), two prefectures (222400
# Yanbian, statutory; 220200 Jilin City, --forward all), two counties each.
# The links between levels are real network links: the province and the
# counties each live in a network namespace of their own, joined to the
# prefectures by veth pairs that the test takes down and up (where the
# machine does not allow namespaces, the province is stopped and continued
# instead). A prefecture is killed with kill -9 while it relays, and its
# relay child too. At the end:
#   - every revision of every 较大+ accident reached the province exactly
#     once (each prefecture log index in one relay only; the province holds
#     exactly the expected (county, seq) set), with the county signatures
#     verifying there (`check`), and no 一般 accident under statutory;
#   - each prefecture's monthly summary arrived, per county as filed;
#   - --forward all: the province's per-county counts equal the prefecture's;
#   - the prefecture's report accidents shows forwarded_at / forward_late;
#   - the province's bundle verifies with zhibao-audit.
. "$(dirname "$0")/../lib.sh"
AUDIT="$ZB_BIN/zhibao-audit"

# ---- the network: namespaces and veth pairs, or plain loopback
NS_P="zbp$$" NS_C="zbc$$" VP="vzp$$" VC="vzc$$"
USE_NS=0
ns_cleanup() {
    ip netns del "$NS_P" 2>/dev/null || true
    ip netns del "$NS_C" 2>/dev/null || true
    ip link del "${VP}a" 2>/dev/null || true
    ip link del "${VC}a" 2>/dev/null || true
}
trap 'ns_cleanup; cleanup' EXIT
if command -v ip >/dev/null && ip netns add "$NS_P" 2>/dev/null; then
    if ip netns add "$NS_C" &&
        ip link add "${VP}a" type veth peer name "${VP}b" &&
        ip link add "${VC}a" type veth peer name "${VC}b" &&
        ip link set "${VP}b" netns "$NS_P" && ip link set "${VC}b" netns "$NS_C" &&
        ip addr add 10.231.1.1/24 dev "${VP}a" && ip addr add 10.231.2.1/24 dev "${VC}a" &&
        ip link set "${VP}a" up && ip link set "${VC}a" up &&
        ip -n "$NS_P" addr add 10.231.1.2/24 dev "${VP}b" &&
        ip -n "$NS_C" addr add 10.231.2.2/24 dev "${VC}b" &&
        ip -n "$NS_P" link set "${VP}b" up && ip -n "$NS_C" link set "${VC}b" up &&
        ip -n "$NS_P" link set lo up && ip -n "$NS_C" link set lo up; then
        USE_NS=1
    fi
fi
if [ $USE_NS = 1 ]; then
    IN_P=(ip netns exec "$NS_P") IN_C=(ip netns exec "$NS_C")
    PROV_IP=10.231.1.2 PREF_IP=10.231.2.1
    pass "network namespaces: province in $NS_P, counties in $NS_C, veth links"
else
    ns_cleanup
    IN_P=() IN_C=()
    PROV_IP=127.0.0.1 PREF_IP=127.0.0.1
    pass "no network namespaces here: links are cut by stopping the province"
fi
PP=$(free_port) PY=$(free_port) PJ=$(free_port)
PROV_EP="tcp://$PROV_IP:$PP"

cut_province() {
    if [ $USE_NS = 1 ]; then ip link set "${VP}a" down; else kill -STOP "$PROV_PID"; fi
}
restore_province() {
    if [ $USE_NS = 1 ]; then ip link set "${VP}a" up; else kill -CONT "$PROV_PID"; fi
}
cut_counties() { if [ $USE_NS = 1 ]; then ip link set "${VC}a" down; fi; }
restore_counties() { if [ $USE_NS = 1 ]; then ip link set "${VC}a" up; fi; }

# ---- the offices
P="$WORK/prov" Y="$WORK/yanbian" J="$WORK/jilin"
PKEY=$("$AGG" init --dir "$P" --level province --code 220000 | tail -n 1)
YKEY=$("$AGG" init --dir "$Y" --code 222400 | tail -n 1)
JKEY=$("$AGG" init --dir "$J" --code 220200 | tail -n 1)
[ "$(json_get "$("$AGG" status --dir "$P" --json)" "j['level'] + ' ' + j['code']")" = "province 220000" ] ||
    fail "the province's status does not say its level and code"
"$AGG" upstream --dir "$Y" --endpoint "$PROV_EP" --key "$PKEY" >/dev/null || fail "upstream Y"
"$AGG" upstream --dir "$J" --endpoint "$PROV_EP" --key "$PKEY" --forward all >/dev/null ||
    fail "upstream J"
"$AGG" enroll --dir "$P" --prefecture 222400 --key "$YKEY" >/dev/null || fail "enroll Y"
"$AGG" enroll --dir "$P" --prefecture 220200 --key "$JKEY" >/dev/null || fail "enroll J"
# bad input: one line naming the field, exit 2, nothing changed
out=$("$AGG" enroll --dir "$Y" --prefecture 220200 --key "$JKEY" 2>&1) && fail "a prefecture enrolled a prefecture"
echo "$out" | grep -q -- "--prefecture" || fail "enroll at a prefecture: $out"
out=$("$AGG" upstream --dir "$P" --endpoint "$PROV_EP" --key "$YKEY" 2>&1) && fail "a province got an upstream"
out=$("$AGG" upstream --dir "$Y" --endpoint "$PROV_EP" --key "$JKEY" 2>&1) && fail "upstream moved to another province key"
echo "$out" | grep -q -- "--key" || fail "upstream to another key: $out"
pass "levels: a province enrols two prefectures by key; misuse refused"

# counties: two per prefecture (in the counties' namespace)
node_init "$WORK/n222401" 222401 "tcp://$PREF_IP:$PY" "$YKEY" "$Y"
node_init "$WORK/n222402" 222402 "tcp://$PREF_IP:$PY" "$YKEY" "$Y"
node_init "$WORK/n220202" 220202 "tcp://$PREF_IP:$PJ" "$JKEY" "$J" 2>/dev/null
node_init "$WORK/n220211" 220211 "tcp://$PREF_IP:$PJ" "$JKEY" "$J" 2>/dev/null

# accident ID REV DEATHS SERIOUS [STAGE]: one revision, occurred 3 h ago
accident() {
    python3 - "$@" <<'PY'
import json, sys, time
aid, rev, deaths, serious = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
occ = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(int(time.time()) - 3 * 3600 + 8 * 3600))
r = {"type": "accident", "accident_id": aid, "revision": rev, "occurred_at": occ,
     "county_notified_at": occ, "place": "测试地点", "unit": {"name": "测试单位"},
     "industry": "construction", "summary": f"事故 {aid} 第 {rev} 次报告", "deaths": deaths,
     "missing": 0, "serious_injuries": serious, "minor_injuries": 0, "direct_loss_yuan": 100000}
if rev == 0:
    r["category"] = "object_strike"
else:
    r["stage"] = sys.argv[5] if len(sys.argv) > 5 else "supplement"
print(json.dumps(r, ensure_ascii=False))
PY
}
monthly() { # PERIOD
    printf '{"type":"monthly","period":"%s","tasks":[{"task":3,"status":"done"},{"task":5,"status":"in_progress"}],"stats":{"inspections":7,"accidents":0}}\n' "$1"
}
submit() { # DIR: JSON lines on stdin
    "$NODE" submit --dir "$1" - >/dev/null 2>&1 || fail "submit to $1"
}

# 222401: G1 一般; L1 较大 at once (+ a follow-up); R1 一般 that rises to
# 较大 at revision 1 (its revision 0 goes up with it) and falls back at
# revision 2 (still goes up: routing follows the highest grade reached)
{ accident G1 0 1 0; accident L1 0 3 0; accident L1 1 4 0; accident R1 0 2 0
  accident R1 1 3 0; accident R1 2 2 0; monthly 2026-10; } | submit "$WORK/n222401"
# 222402: a 一般 accident only (its monthly report is missing)
accident G2 0 0 2 | submit "$WORK/n222402"
# 220202: a 较大 accident by serious injuries, a 一般 one, the month
{ accident S1 0 0 10; accident G3 0 1 1; monthly 2026-10; } | submit "$WORK/n220202"
monthly 2026-10 | submit "$WORK/n220211"
# Jilin City relays every leaf: its notices too, five of ~60 KB (20,000
# characters), so relays are packed near the report's size limit
python3 -c 'print("通" * 20000, end="")' >"$WORK/notice.txt"
for k in 1 2 3 4 5; do
    "$AGG" notice --dir "$J" --all --title "通知 $k" --file "$WORK/notice.txt" >/dev/null ||
        fail "notice $k at Jilin City"
done

# ---- the prefectures run; the province's link is down
start_bg "${IN_P[@]}" "$AGG" serve --dir "$P" --listen "tcp://$PROV_IP:$PP" --log-level warn
PROV_PID=$LAST_PID
cut_province
start_bg "$AGG" serve --dir "$Y" --listen "tcp://$PREF_IP:$PY" --log-level warn
Y_PID=$LAST_PID
start_bg "$AGG" serve --dir "$J" --listen "tcp://$PREF_IP:$PJ" --log-level warn
J_PID=$LAST_PID
sleep 0.5

# the counties' link: down during a sync, which waits; up, and it completes
cut_counties
start_bg "${IN_C[@]}" "$NODE" sync --dir "$WORK/n222401" --once --timeout 60
SYNC_PID=$LAST_PID
sleep 2
restore_counties
wait "$SYNC_PID" || fail "222401's sync did not complete after its link came back"
for c in 222402 220202 220211; do
    "${IN_C[@]}" "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 >/dev/null 2>&1 ||
        fail "sync $c"
done
pass "counties synced to their prefectures (one across a link cut and restored)"

upstream_of() { # DIR -> "stored acknowledged"
    json_get "$("$AGG" status --dir "$1" --json)" \
        "str(j['upstream']['stored']) + ' ' + str(j['upstream']['acknowledged'])"
}
# the relays queue in the outboxes while the province is unreachable
for i in $(seq 1 100); do
    read -r ys ya <<<"$(upstream_of "$Y")"
    read -r js ja <<<"$(upstream_of "$J")"
    [ "$ys" -ge 3 ] && [ "$js" -ge 2 ] && break
    sleep 0.2
done
[ "$ys" -ge 3 ] && [ "$ya" = 0 ] || fail "Yanbian's outbox: $ys stored, $ya acknowledged"
[ "$js" -ge 2 ] && [ "$ja" = 0 ] || fail "Jilin's outbox: $js stored, $ja acknowledged"
pass "relays queued while the province is cut off (Yanbian $ys, Jilin $js)"

# ---- kill -9 of a prefecture (and its relay child) while it relays
restore_province
sleep 0.3
relay_child() { pgrep -f "zhibao-agg relay --dir $Y" | head -n 1 || true; }
# more 较大 revisions arrive while the prefecture relays
{ for k in $(seq 1 12); do accident "K$k" 0 3 0; done; } | submit "$WORK/n222402"
"${IN_C[@]}" "$NODE" sync --dir "$WORK/n222402" --once --timeout 60 >/dev/null 2>&1 || fail "sync 222402 K"
kill -9 "$Y_PID" 2>/dev/null || true
# the relay child ends with its serve (PR_SET_PDEATHSIG), however serve ends
for i in $(seq 1 50); do [ -z "$(relay_child)" ] && break; sleep 0.1; done
[ -z "$(relay_child)" ] || fail "the relay child outlived its serve"
{ accident L1 2 5 0; } | submit "$WORK/n222401"
start_bg "$AGG" serve --dir "$Y" --listen "tcp://$PREF_IP:$PY" --log-level warn
Y_PID=$LAST_PID
"${IN_C[@]}" "$NODE" sync --dir "$WORK/n222401" --once --timeout 60 >/dev/null 2>&1 || fail "sync 222401 again"
sleep 1
# and once more, the relay child alone
rc=$(relay_child)
[ -n "$rc" ] && kill -9 "$rc"
# cut the province's link once more while relays flow, then restore it
cut_province
sleep 1
restore_province
done_both=0
for i in $(seq 1 300); do
    read -r ys ya <<<"$(upstream_of "$Y")"
    read -r js ja <<<"$(upstream_of "$J")"
    if [ "$ys" = "$ya" ] && [ "$js" = "$ja" ] && [ "$ys" -ge 4 ]; then done_both=1; break; fi
    sleep 0.2
done
[ $done_both = 1 ] || fail "relays not all acknowledged: Yanbian $ys/$ya, Jilin $js/$ja"
pass "after kill -9 of Yanbian and of its relay, and a link cut: every relay acknowledged"

# ---- exactly once: no prefecture log index in two relays
for d in "$Y" "$J"; do
    python3 - "$NODE" "$d/upstream" <<'PY' || fail "a leaf relayed twice from $d"
import json, subprocess, sys
node, up = sys.argv[1], sys.argv[2]
lst = json.loads(subprocess.check_output([node, "list", "--dir", up, "--json"]))
seen = {}
for r in lst:
    if r["type"] != "relay":
        continue
    doc = json.loads(subprocess.check_output([node, "show", "--dir", up, str(r["seq"]), "--json"]))
    for l in doc["leaves"]:
        if l["log_index"] in seen:
            sys.exit(f"log index {l['log_index']} in relays {seen[l['log_index']]} and {r['seq']}")
        seen[l["log_index"]] = r["seq"]
PY
done

# ---- at the province: exactly the 较大+ revisions of Yanbian, all of Jilin
"$AGG" check --dir "$P" >"$WORK/check.out" || fail "province check: $(cat "$WORK/check.out")"
pass "province check: every prefecture and county signature verifies"
python3 - "$AGG" "$P" "$Y" "$J" <<'PY' || fail "the province's accidents"
import json, subprocess, sys
agg, P, Y, J = sys.argv[1:5]
def run(*a): return json.loads(subprocess.check_output([agg, *a]))
def accidents(d):
    return run("report", "accidents", "--dir", d, "--from", "2020-01-01", "--to", "2099-12-31",
               "--format", "json")["accidents"]
prov = {(a["county"], a["accident_id"]): a for a in accidents(P)}
want_y = {("222401", "L1"), ("222401", "R1")} | {("222402", f"K{k}") for k in range(1, 13)}
got_y = {k for k, a in prov.items() if a["prefecture"] == "222400"}
assert got_y == want_y, f"Yanbian at the province: {sorted(got_y ^ want_y)} differ"
got_j = {k for k, a in prov.items() if a["prefecture"] == "220200"}
assert got_j == {("220202", "S1"), ("220202", "G3")}, f"Jilin at the province: {got_j}"
assert prov[("222401", "L1")]["revisions"] == 3 and prov[("222401", "L1")]["deaths"] == 5, prov[("222401", "L1")]
assert prov[("222401", "R1")]["revisions"] == 3, prov[("222401", "R1")]
assert prov[("222401", "R1")]["max_grade"] == "larger"
# every revision relayed once: the province's per-county counts
st = run("status", "--dir", P, "--json")
counts = {c["county"]: c["reports"] for p in st["prefectures"] for c in p["counties"]}
assert counts["222401"] == 6, counts   # L1 x3, R1 x3; not G1, not the monthly report
assert counts["222402"] == 12, counts  # K1..K12; not G2
# --forward all: the province's copy has the prefecture's per-county counts,
# and every other leaf of its log (the key events, the 10 notices)
jst = run("status", "--dir", J, "--json")
for c in jst["counties"]:
    assert counts.get(c["county"]) == c["reports"], (c, counts)
jp = next(p for p in st["prefectures"] if p["prefecture"] == "220200")
assert jp["key_events"] == 2 and jp["other_leaves"] == 10, jp
assert jp["envelopes"] + jp["key_events"] + jp["other_leaves"] == jp["head_size"], jp
# the prefecture's own view: forwarded_at and forward_late
ya = {a["accident_id"]: a for a in accidents(Y)}
assert ya["G1"]["forward_required"] is False and ya["G1"]["forwarded_at"] is None
for k in ("L1", "R1", "K1"):
    assert ya[k]["forward_required"] is True and ya[k]["forwarded_at"], ya[k]
    assert ya[k]["forward_late"] is False, ya[k]
print("ok")
PY
pass "province: 较大+ accidents only from Yanbian, each revision once; Jilin's full copy matches"

# ---- the monthly summaries
python3 - "$AGG" "$P" <<'PY' || fail "the province's monthly report"
import json, subprocess, sys
agg, P = sys.argv[1:3]
m = json.loads(subprocess.check_output([agg, "report", "monthly", "--dir", P, "--period", "2026-10",
                                        "--format", "json"]))
prefs = {p["prefecture"]: p for p in m["prefectures"]}
assert set(prefs) == {"222400", "220200"}, prefs
for p in prefs.values():
    assert p["summaries"] >= 1 and p["status"] in ("on_time", "late"), p
rows = {r["county"]: r for r in m["rows"]}
assert rows["222401"]["status"] == "late" and rows["222401"]["versions"] == 1, rows["222401"]
assert rows["222402"]["status"] == "missing", rows["222402"]
assert rows["220202"]["status"] == "late" and rows["220211"]["status"] == "late", rows
assert rows["222401"]["prefecture"] == "222400" and rows["220211"]["prefecture"] == "220200"
assert rows["222401"]["inspections"] == 7 and rows["222401"]["tasks_done"] == 1
print("ok")
PY
pass "each prefecture's monthly summary arrived at the province"

# ---- an auditor verifies the province's log
"$AGG" export --dir "$P" --out "$WORK/p.bundle" >/dev/null || fail "export at the province"
out=$("$AUDIT" verify "$WORK/p.bundle" --key "$PKEY" 2>&1) || fail "audit of the province: $out"
pass "zhibao-audit verifies the province's bundle"
