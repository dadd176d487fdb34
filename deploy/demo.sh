#!/usr/bin/env bash
# zhibao end to end, on one machine: one prefecture aggregator and the eight
# Yanbian county nodes (deploy/yanbian.conf), all on loopback.
#
#   ./deploy/demo.sh            as root on a fresh Debian 12 machine (installs
#                               what is missing through deploy/install-deps.sh)
#   ./deploy/demo.sh --web      the same, then keeps the prefecture dashboard
#                               (zhibao-agg web) running until Ctrl-C
#
# Environment:
#   ZB_DEMO_DIR=DIR   work directory (must be new or empty); default: mktemp -d
#   ZB_DEMO_CLEAN=1   remove the work directory when the demo succeeds
#   ZB_DEMO_WEB=HOST:PORT  the dashboard's address (default 127.0.0.1:8080,
#                     or a free loopback port when 8080 is taken)
#
# What it shows: every county files reports with the aggregator down (filing
# never needs the network); a sync attempt times out with exit 3 and the
# reports stay pending; the aggregator comes up, the eight nodes sync in
# parallel, each keeps the prefecture's signed receipts; the prefecture's
# view per county; the prefecture's answers (a return with a comment, a moved
# deadline, a notice) reaching a county, which files a corrected version that
# is accepted; an integrity check of the whole store. Exits 0 only if
# every county's reports arrived exactly once and every receipt verifies,
# and leaves no process behind on any exit path.
set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

WEB=0
for arg in "$@"; do
    case "$arg" in
        --web) WEB=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "demo.sh: unknown argument $arg" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CONF="$ROOT/deploy/yanbian.conf"
EXAMPLES="$ROOT/deploy/examples"

if [ -t 1 ]; then BOLD=$'\033[1m' OFF=$'\033[0m'; else BOLD="" OFF=""; fi
STEP=0
section() {
    STEP=$((STEP + 1))
    printf '\n%s== %d. %s ==%s\n' "$BOLD" "$STEP" "$*" "$OFF"
}
say() { printf '%s\n' "$*"; }
# show a command as a newcomer would type it, then run it, its output indented
# (exit status: the command's)
run() {
    printf '  $ %s\n' "$*"
    "$@" 2>&1 | indent
}
indent() { sed 's/^/    /'; }
die() {
    printf 'demo: FAILED: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- cleanup
# Every background process this script starts goes into PIDS; the EXIT trap
# stops whatever is still running (SIGTERM, then SIGKILL after 3 s), on
# success, on failure and on Ctrl-C alike.
PIDS=()
W=""
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    local alive=()
    for p in "${PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && alive+=("$p")
    done
    if [ ${#alive[@]} -gt 0 ]; then
        echo "demo: stopping leftover process(es) ${alive[*]}" >&2
        kill -TERM "${alive[@]}" 2>/dev/null || true
        local still=()
        for _ in $(seq 30); do
            still=()
            for p in "${alive[@]}"; do
                kill -0 "$p" 2>/dev/null && still+=("$p")
            done
            [ ${#still[@]} -eq 0 ] && break
            sleep 0.1
        done
        [ ${#still[@]} -gt 0 ] && kill -KILL "${still[@]}" 2>/dev/null
        wait "${alive[@]}" 2>/dev/null || true
    fi
    if [ -n "$W" ] && [ -d "$W" ]; then
        if [ "$rc" -eq 0 ] && [ "${ZB_DEMO_CLEAN:-0}" = 1 ]; then
            rm -rf "$W"
        elif [ "$rc" -ne 0 ]; then
            echo "demo: work directory kept for inspection: $W (logs in $W/logs)" >&2
        fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 1. deps
section "Dependencies (deploy/install-deps.sh: does nothing when all are installed)"
"$ROOT/deploy/install-deps.sh"
say "all build, test and run-time packages present"

# ---------------------------------------------------------------- 2. build
section "Build (cmake into build/, binaries in build/bin/)"
# Keeps whatever options build/ was configured with (tests/run.sh uses the
# same directory); only rebuilds what changed.
cmake -S "$ROOT" -B "$ROOT/build" >/dev/null || die "cmake could not configure build/ (errors above)"
cmake --build "$ROOT/build" -j"$(nproc)" --target zhibao-node zhibao-agg zhibao-audit \
    zhibao-witness zb_locale | indent ||
    die "the build failed (compiler errors above)"
export PATH="$ROOT/build/bin:$PATH"
for b in zhibao-node zhibao-agg zhibao-audit zhibao-witness; do
    [ -x "$ROOT/build/bin/$b" ] || die "build/bin/$b was not built"
done
say "using $ROOT/build/bin/zhibao-node, zhibao-agg, zhibao-audit and zhibao-witness"

# ---------------------------------------------------------------- 3. work dir
section "Work directory"
if [ -n "${ZB_DEMO_DIR:-}" ]; then
    if [ -e "$ZB_DEMO_DIR" ] && [ -n "$(ls -A "$ZB_DEMO_DIR")" ]; then
        echo "demo: ZB_DEMO_DIR=$ZB_DEMO_DIR is not empty; give a new or empty directory" >&2
        exit 2
    fi
    mkdir -p "$ZB_DEMO_DIR"
    W=$(cd "$ZB_DEMO_DIR" && pwd)
else
    W=$(mktemp -d "${TMPDIR:-/tmp}/zhibao-demo.XXXXXX")
fi
mkdir -p "$W/logs" "$W/nodes" "$W/examples"
cp "$EXAMPLES"/*.json "$W/examples/"
cd "$W"
say "everything below runs in $W (paths are relative to it):"
say "  agg/                 the prefecture aggregator's store and identity.key"
say "  nodes/CODE-pinyin/   one county node each"
say "  examples/            the sample reports from deploy/examples/"
say "  logs/                aggregator and sync logs"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EP="tcp://127.0.0.1:$PORT"

# ---------------------------------------------------------------- 4. aggregator
section "The prefecture: create the aggregator (it is NOT running yet)"
say "  \$ zhibao-agg init --dir agg"
out=$(zhibao-agg init --dir agg)
printf '%s\n' "$out" | indent
AGGKEY=$(printf '%s\n' "$out" | tail -n 1)
[[ "$AGGKEY" =~ ^[0-9a-f]{64}$ ]] || die "zhibao-agg init: last line is not a key: $AGGKEY"
say "aggregator public key: $AGGKEY"
say "it will listen on $EP (a free loopback port)"

# ---------------------------------------------------------------- 5. counties
section "The eight counties: create each node, enrol its key at the prefecture"
CODES=()
declare -A NAME PINYIN DIR EXPECT NODEKEY
while read -r code name pinyin rest; do
    case "$code" in '' | '#'*) continue ;; esac
    if ! [[ "$code" =~ ^[0-9]{6}$ ]] || [ -z "$pinyin" ] || [ -n "$rest" ]; then
        die "deploy/yanbian.conf: bad line: $code $name $pinyin $rest"
    fi
    CODES+=("$code")
    NAME[$code]=$name
    PINYIN[$code]=$pinyin
    DIR[$code]="nodes/$code-${pinyin,,}"
    EXPECT[$code]=0
done <"$CONF"
[ ${#CODES[@]} -eq 8 ] || die "deploy/yanbian.conf: expected 8 counties, found ${#CODES[@]}"

say "for each county:"
say "  \$ zhibao-node init --dir nodes/CODE-pinyin --county CODE --aggregator $EP --aggregator-key AGGKEY"
say "  \$ zhibao-agg enroll --dir agg --county CODE --request nodes/CODE-pinyin/key-request"
say "    (the node's key request, signed by its new key: proof that it holds it)"
for code in "${CODES[@]}"; do
    out=$(zhibao-node init --dir "${DIR[$code]}" --county "$code" --aggregator "$EP" \
        --aggregator-key "$AGGKEY")
    nodekey=$(printf '%s\n' "$out" | tail -n 1)
    NODEKEY[$code]=$nodekey
    [[ "$nodekey" =~ ^[0-9a-f]{64}$ ]] || die "zhibao-node init $code: last line is not a key"
    enrolled=$(zhibao-agg enroll --dir agg --county "$code" --request "${DIR[$code]}/key-request" \
        --key "$nodekey")
    printf '  %s %s %-9s node key %.16s...  -> %s\n' "$code" "${NAME[$code]}" \
        "${PINYIN[$code]}" "$nodekey" "$enrolled"
done

# ---------------------------------------------------------------- 6. submit offline
section "Filing reports with NO network: the aggregator is down, every submit still succeeds"
# submit CODE FILE [bulk]: prints what was filed and the seq(s) the node gave it
submit() {
    local code=$1 file=$2 what=$3 out
    if ! out=$(zhibao-node submit --dir "${DIR[$code]}" "$file" 2>logs/submit.err); then
        indent <logs/submit.err >&2
        die "zhibao-node submit --dir ${DIR[$code]} $file failed"
    fi
    printf '  %s %s %-9s %-48s seq %s\n' "$code" "${NAME[$code]}" "${PINYIN[$code]}" "$what" "$out"
    # the node prints each accident's computed grade on stderr
    if [ -s logs/submit.err ]; then indent <logs/submit.err; fi
    local first=${out%% *} last=${out##* }
    EXPECT[$code]=$((EXPECT[$code] + last - first + 1))
}
say "  \$ zhibao-node submit --dir nodes/CODE-pinyin FILE      (prints the seq; FIRST LAST for bulk)"
say
say "every county: the October 2026 monthly progress report"
for code in "${CODES[@]}"; do
    submit "$code" examples/monthly.json "examples/monthly.json"
done

ACCIDENT_COUNTIES=(222401 222404 222424)
say
say "three counties: an accident direct report, then a supplementary report (revision 1)"
say "(the same sample accident; an accident_id only has to be unique within its county)"
for code in "${ACCIDENT_COUNTIES[@]}"; do
    [ -n "${NAME[$code]:-}" ] || die "county $code missing from deploy/yanbian.conf"
    submit "$code" examples/accident.json "examples/accident.json (revision 0)"
    submit "$code" examples/accident-supplement.json "examples/accident-supplement.json (revision 1)"
done
say
say "结案 and 核销: 延吉 closes its accident (revision 2: no revision may follow);"
say "and reports another death that proves not to be a production-safety accident: written off"
submit 222401 examples/accident-closing.json "examples/accident-closing.json (revision 2, closing)"
submit 222401 examples/accident-write-off.json "examples/accident-write-off.json (revisions 0-1, write-off)"

BULK_COUNTY=222403
[ -n "${NAME[$BULK_COUNTY]:-}" ] || die "county $BULK_COUNTY missing from deploy/yanbian.conf"
say
say "one county catches up on three earlier months in one bulk JSON Lines file (all or nothing)"
python3 - examples/monthly.json >examples/catch-up.jsonl <<'PY'
import json, sys
report = json.load(open(sys.argv[1], encoding="utf-8"))
for period in ("2026-07", "2026-08", "2026-09"):
    report["period"] = period
    print(json.dumps(report, ensure_ascii=False))
PY
submit "$BULK_COUNTY" examples/catch-up.jsonl "examples/catch-up.jsonl (2026-07..09, 3 lines)"

# ---------------------------------------------------------------- 7. sync while down
section "Trying to sync while the prefecture is down: exit 3, reports stay pending"
code=${ACCIDENT_COUNTIES[0]}
rc=0
run zhibao-node sync --dir "${DIR[$code]}" --once --timeout 2 || rc=$?
say "  exit code: $rc (3 = timed out with reports pending)"
[ "$rc" -eq 3 ] || die "expected exit 3 from sync with the aggregator down, got $rc"
run zhibao-node list --dir "${DIR[$code]}"
say
say "pending per county (zhibao-node status --json):"
pending_of() {
    zhibao-node status --dir "$1" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["pending"])'
}
for code in "${CODES[@]}"; do
    p=$(pending_of "${DIR[$code]}")
    printf '  %s %s %-9s %s pending\n' "$code" "${NAME[$code]}" "${PINYIN[$code]}" "$p"
    [ "$p" -eq "${EXPECT[$code]}" ] || die "$code: $p pending, expected ${EXPECT[$code]}"
done

# ---------------------------------------------------------------- 8. serve
section "The prefecture comes up: zhibao-agg serve (in the background)"
printf '  $ zhibao-agg serve --dir agg --listen %s >logs/agg.log 2>&1 &\n' "$EP"
zhibao-agg serve --dir agg --listen "$EP" >logs/agg.log 2>&1 &
AGG_PID=$!
PIDS+=("$AGG_PID")
for _ in $(seq 100); do
    grep -q ZB-AGG-START logs/agg.log 2>/dev/null && break
    if ! kill -0 "$AGG_PID" 2>/dev/null; then
        indent <logs/agg.log >&2
        die "zhibao-agg serve exited at start"
    fi
    sleep 0.05
done
grep -q ZB-AGG-START logs/agg.log || die "zhibao-agg serve did not report ZB-AGG-START within 5 s"
say "  aggregator running, pid $AGG_PID:"
indent <logs/agg.log

# ---------------------------------------------------------------- 8b. witness
section "A witness the prefecture does not control (the province's zhibao-witness)"
say "  it cosigns each new head of the prefecture's log only if it extends the last one it"
say "  cosigned, dated by its own clock; 延吉 counts a receipt final only once it is witnessed"
WKEY=$(zhibao-witness init --dir witness | tail -n 1)
[[ "$WKEY" =~ ^[0-9a-f]{64}$ ]] || die "zhibao-witness init: last line is not a key: $WKEY"
say "  \$ zhibao-witness init --dir witness                 -> key ${WKEY:0:16}..."
run zhibao-witness add-log --dir witness --key "$AGGKEY" --name 延边州 || die "add-log"
WEP="tcp://127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
printf '  $ zhibao-witness serve --dir witness --listen %s >logs/witness.log 2>&1 &\n' "$WEP"
zhibao-witness serve --dir witness --listen "$WEP" >logs/witness.log 2>&1 &
WIT_PID=$!
PIDS+=("$WIT_PID")
run zhibao-agg witness --dir agg --add "$WKEY" --endpoint "$WEP" || die "agg witness --add"
run zhibao-node witnesses --dir "${DIR[222401]}" --witness-key "$WKEY" --witness-quorum 1 ||
    die "node witnesses"

# ---------------------------------------------------------------- 9. sync
section "All eight counties sync in parallel"
say "  \$ zhibao-node sync --dir nodes/CODE-pinyin --once --timeout 60     (one per county, at once)"
declare -A SYNC_PID
for code in "${CODES[@]}"; do
    zhibao-node sync --dir "${DIR[$code]}" --once --timeout 60 >"logs/sync-$code.log" 2>&1 &
    SYNC_PID[$code]=$!
    PIDS+=("$!")
done
failed=0
for code in "${CODES[@]}"; do
    rc=0
    wait "${SYNC_PID[$code]}" || rc=$?
    printf '  %s %s %-9s exit %d: %s\n' "$code" "${NAME[$code]}" "${PINYIN[$code]}" "$rc" \
        "$(tail -n 1 "logs/sync-$code.log")"
    if [ "$rc" -ne 0 ]; then
        indent <"logs/sync-$code.log" >&2
        failed=1
    fi
done
[ "$failed" -eq 0 ] || die "a county did not sync (logs above)"

# ---------------------------------------------------------------- 10. prefecture view
section "What the prefecture received (zhibao-agg status, beside the running server)"
run zhibao-agg status --dir agg

# ---------------------------------------------------------------- 11. per county
section "Per county: received at the prefecture, and the receipts each node holds"
zhibao-agg status --dir agg --json >logs/agg-status.json
for code in "${CODES[@]}"; do
    zhibao-node status --dir "${DIR[$code]}" --json >"logs/node-$code-status.json"
    zhibao-node list --dir "${DIR[$code]}" --json >"logs/node-$code-list.json"
    # exits 1 when a receipt does not verify; the summary below reports it
    zhibao-node receipts --dir "${DIR[$code]}" --json >"logs/node-$code-receipts.json" || true
done
expect_arg=""
for code in "${CODES[@]}"; do
    expect_arg+="$code=${EXPECT[$code]},"
done
python3 - "$CONF" logs "$expect_arg" <<'PY'
import json, sys

conf, logs, expect_arg = sys.argv[1:4]
expect = dict(kv.split("=") for kv in expect_arg.strip(",").split(","))
counties = []
for line in open(conf, encoding="utf-8"):
    f = line.split()
    if f and not f[0].startswith("#"):
        counties.append(f)
agg = {c["county"]: c for c in json.load(open(f"{logs}/agg-status.json"))["counties"]}

print("  county  name    pinyin     received  monthly accident  | node: stored acked pending"
      "  receipted-to  receipts valid")
bad = []
for code, name, pinyin in counties:
    st = json.load(open(f"{logs}/node-{code}-status.json"))
    rows = json.load(open(f"{logs}/node-{code}-list.json"))
    rcpts = json.load(open(f"{logs}/node-{code}-receipts.json"))
    received = agg.get(code, {}).get("reports", 0)
    monthly = sum(r["type"] == "monthly" for r in rows)
    accident = sum(r["type"] == "accident" for r in rows)
    valid = sum(bool(r["valid"]) for r in rcpts)
    receipted = sum(r["sync"] == "receipted" for r in rows)
    # status "receipts" is the highest seq covered by a verified receipt;
    # list's "receipted" re-verifies each report's receipt.
    # name: three Chinese characters, two columns each
    print(f"  {code}  {name}  {pinyin:<9} {received:>9}  {monthly:>7} {accident:>8}"
          f"  | {st['stored']:>11} {st['acked']:>5} {st['pending']:>7}"
          f"  {st['receipts']:>12}  {valid:>8}/{len(rcpts)}")
    want = int(expect[code])
    if not (received == st["stored"] == st["acked"] == receipted == want and st["pending"] == 0
            and valid == len(rcpts) > 0 and st["receipts"] == want):
        bad.append(code)
total = sum(c.get("reports", 0) for c in agg.values())
print(f"  total received at the prefecture: {total} (expected {sum(map(int, expect.values()))})")
if bad:
    print("  MISMATCH for " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
print("  every county: each report received exactly once, and every report is covered by a")
print("  signed receipt the node re-verified against the aggregator's key and its own reports")
PY

# ---------------------------------------------------------------- 12. consolidation
section "Consolidation: who filed October on time, and every accident's current grade"
say "  (the sample reports are created today, so October's are late: the deadline was 2026-11-05)"
run zhibao-agg report monthly --dir agg --period 2026-10
run zhibao-agg report accidents --dir agg --from 2026-10-01 --to 2026-10-31

# ---------------------------------------------------------------- 12a. the prefecture answers
section "The prefecture answers: return a report, accept one, move a deadline, send a notice"
say "  (each is a message signed by the prefecture, numbered per county, in the same"
say "  transparency log as the reports; serve delivers it when the county is online)"
YANJI=${DIR[222401]}
run zhibao-agg review --dir agg --county 222401 --seq 1 --return \
    --comment "第5项任务进展未填写具体措施，请补充后重新报送。" --reviewer 王科长 ||
    die "review --return"
run zhibao-agg review --dir agg --county 222402 --seq 1 --accept --reviewer 王科长 ||
    die "review --accept"
# the period filed this month, and a deadline three days after its default
read -r CUR_PERIOD MOVED_TO < <(python3 -c '
import datetime as d
now = d.datetime.now(d.timezone(d.timedelta(hours=8)))
y, m = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
ny, nm = (y, m + 1) if m < 12 else (y + 1, 1)
print(f"{y:04d}-{m:02d} {ny:04d}-{nm:02d}-08T23:59:59+08:00")')
say "  (a holiday on the 5th: the $CUR_PERIOD report is due on the 8th instead)"
run zhibao-agg deadline --dir agg --period "$CUR_PERIOD" --at "$MOVED_TO" || die "deadline"
run zhibao-agg remind --dir agg --period "$CUR_PERIOD" || die "remind"
run zhibao-agg notice --dir agg --all --title "关于开展年终安全生产大检查的通知" \
    --text "各县（市）安委办：请于本月20日前完成自查并报送结果。" || die "notice"
say
say "延吉 syncs, and finds the prefecture's answer on its own machine, verified:"
run zhibao-node sync --dir "$YANJI" --once --timeout 60 || die "sync 222401"
run zhibao-node inbox --dir "$YANJI" || die "inbox"
zhibao-node inbox --dir "$YANJI" --json >logs/yanji-inbox.json
python3 - logs/yanji-inbox.json <<'PY' || die "延吉's inbox does not hold the verified return"
import json, sys
inbox = json.load(open(sys.argv[1], encoding="utf-8"))
assert [m["kind"] for m in inbox] == ["review", "deadline", "reminder", "notice"], inbox
assert all(m["verified"] for m in inbox), inbox
assert inbox[0]["decision"] == "returned" and inbox[0]["seq"] == 1, inbox[0]
PY
say
say "延吉 answers with a corrected version of its October report; the prefecture accepts it:"
out=$(zhibao-node submit --dir "$YANJI" examples/monthly.json) || die "corrected version"
say "  \$ zhibao-node submit --dir $YANJI examples/monthly.json      -> seq $out"
zhibao-node sync --dir "$YANJI" --once --timeout 60 >>logs/sync-222401.log 2>&1 || die "sync 222401"
run zhibao-agg review --dir agg --county 222401 --seq "$out" --accept --reviewer 王科长 ||
    die "review --accept 222401"
run zhibao-agg report monthly --dir agg --period 2026-10
zhibao-agg report monthly --dir agg --period 2026-10 --format json >logs/monthly-reviewed.json
python3 - logs/monthly-reviewed.json <<'PY' || die "report monthly does not show the reviews"
import json, sys
rows = {r["county"]: r for r in json.load(open(sys.argv[1]))["rows"]}
assert rows["222401"]["review"] == "accepted" and rows["222401"]["version"] == 2, rows["222401"]
assert rows["222402"]["review"] == "accepted", rows["222402"]
assert rows["222403"]["review"] == "unreviewed", rows["222403"]
PY
say "  222401: returned, corrected (version 2), accepted; 222402 accepted; the rest unreviewed"

# ---------------------------------------------------------------- 12b. dashboard
section "The prefecture dashboard (zhibao-agg web: read-only, beside the running server)"
WEB_LISTEN=${ZB_DEMO_WEB:-}
if [ -z "$WEB_LISTEN" ]; then
    WEB_LISTEN=$(python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
try:
    s.bind(("127.0.0.1", 8080)); print("127.0.0.1:8080")
except OSError:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print("127.0.0.1:%d" % s.getsockname()[1])')
fi
printf '  $ zhibao-agg web --dir agg --listen %s >logs/web.log 2>&1 &\n' "$WEB_LISTEN"
zhibao-agg web --dir agg --listen "$WEB_LISTEN" >logs/web.log 2>&1 &
WEB_PID=$!
PIDS+=("$WEB_PID")
WEB_URL=""
for _ in $(seq 100); do
    WEB_URL=$(sed -n 's/^dashboard: //p' logs/web.log 2>/dev/null)
    [ -n "$WEB_URL" ] && break
    if ! kill -0 "$WEB_PID" 2>/dev/null; then
        indent <logs/web.log >&2
        die "zhibao-agg web exited at start"
    fi
    sleep 0.05
done
[ -n "$WEB_URL" ] || die "zhibao-agg web did not print its address within 5 s"
# the dashboard's figures are the CLI's: same function, same bytes
python3 - "$WEB_URL" <<'PY' >logs/web-monthly.json || die "the dashboard's API does not answer"
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1] + "api/monthly?period=2026-10", timeout=10).read().decode(), end="")
PY
zhibao-agg report monthly --dir agg --period 2026-10 --format json >logs/cli-monthly.json
cmp -s logs/web-monthly.json logs/cli-monthly.json ||
    die "the dashboard's /api/monthly differs from zhibao-agg report monthly --format json"
say "  dashboard running, pid $WEB_PID: $WEB_URL"
say "  /api/monthly?period=2026-10 is byte for byte zhibao-agg report monthly --format json"

# ---------------------------------------------------------------- 12b. witnessed
section "The witness has cosigned the prefecture's log; 延吉's receipts are final"
for _ in $(seq 100); do
    zhibao-agg witness --dir agg --json >logs/witness-agg.json
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["witnessed_size"] == j["log_size"] > 0 else 1)' \
        logs/witness-agg.json && break
    sleep 0.1
done
run zhibao-agg witness --dir agg
run zhibao-witness status --dir witness
zhibao-node sync --dir "${DIR[222401]}" --once --timeout 60 >>logs/sync-222401.log 2>&1 ||
    die "sync 222401 (cosignatures)"
zhibao-node status --dir "${DIR[222401]}" --json >logs/yanji-status.json
python3 - logs/yanji-status.json <<'PY' || die "延吉's receipts are not witnessed"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["witness_quorum"] == 1 and st["unwitnessed_receipts"] == 0, st
assert st["witnessed_size"] == st["tree_size"] > 0, st
PY
say "  延吉: the log up to size $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["witnessed_size"])' logs/yanji-status.json) witnessed; every receipt final"

# ---------------------------------------------------------------- 13. check
section "Integrity check of the prefecture store (what an auditor re-runs)"
run zhibao-agg check --dir agg
run zhibao-node verify-receipts --dir "${DIR[222401]}"
say
say "An auditor trusts nothing on the prefecture's server: the bundle, the aggregator's key as the"
say "prefecture published it, each county's key as the county office states it, and the tree"
say "heads the counties hold (a prefecture that rewrote and re-signed its log would not extend them)"
NOW_PERIOD=$(TZ=Asia/Shanghai date +%Y-%m)
say "延吉 files this month's ($NOW_PERIOD) report early; the witness sees it within a second:"
printf '{"type":"monthly","period":"%s","tasks":[{"task":3,"status":"in_progress","progress":"按计划推进"}]}\n' \
    "$NOW_PERIOD" >logs/monthly-now.json
out=$(zhibao-node submit --dir "$YANJI" logs/monthly-now.json) || die "submit $NOW_PERIOD"
say "  \$ zhibao-node submit --dir $YANJI logs/monthly-now.json      -> seq $out"
zhibao-node sync --dir "$YANJI" --once --timeout 60 >>logs/sync-222401.log 2>&1 || die "sync 222401"
for _ in $(seq 100); do
    zhibao-agg witness --dir agg --json >logs/witness-agg.json
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j["witnessed_size"] == j["log_size"] else 1)' \
        logs/witness-agg.json && break
    sleep 0.1
done
run zhibao-agg export --dir agg --out logs/yanbian.bundle || die "export"
pins=()
heads=()
for code in "${CODES[@]}"; do
    pins+=(--county-key "$code:${NODEKEY[$code]}")
    zhibao-node tree-head --dir "${DIR[$code]}" --out "logs/head-$code" >/dev/null ||
        die "tree-head $code"
    heads+=(--head "logs/head-$code")
done
say "  \$ zhibao-node tree-head --dir nodes/CODE-pinyin --out logs/head-CODE      (each county)"
printf '  $ zhibao-audit verify logs/yanbian.bundle --key %.16s... --county-key CODE:KEY... --head logs/head-CODE... --witness-key %.16s...\n' "$AGGKEY" "$WKEY"
zhibao-audit verify logs/yanbian.bundle --key "$AGGKEY" "${pins[@]}" "${heads[@]}" \
    --witness-key "$WKEY" 2>&1 | indent
[ "${PIPESTATUS[0]}" -eq 0 ] || die "zhibao-audit verify found something in the honest bundle"
say
say "Did the prefecture have 延吉's $NOW_PERIOD report before the deadline? Not by the prefecture's"
say "word, nor the county's clock: by the witness's (the others have not filed $NOW_PERIOD yet):"
printf '  $ zhibao-audit timeliness logs/yanbian.bundle --key %.16s... --witness-key %.16s... --period %s\n' \
    "$AGGKEY" "$WKEY" "$NOW_PERIOD"
zhibao-audit timeliness logs/yanbian.bundle --key "$AGGKEY" --witness-key "$WKEY" \
    --period "$NOW_PERIOD" 2>&1 | indent
[ "${PIPESTATUS[0]}" -eq 0 ] || die "zhibao-audit timeliness"
zhibao-audit timeliness logs/yanbian.bundle --key "$AGGKEY" --witness-key "$WKEY" \
    --period "$NOW_PERIOD" --json >logs/timeliness.json || die "timeliness --json"
python3 - logs/timeliness.json <<'PY' || die "延吉's report is not proven on time"
import json, sys
rows = {c["county"]: c for c in json.load(open(sys.argv[1]))["counties"]}
assert rows["222401"]["on_time_proven"] is True, rows["222401"]
assert rows["222402"]["status"] == "missing", rows["222402"]
PY

# ---------------------------------------------------------------- 13b. province
section "Up to the province: the prefecture relays what the law sends upward (Decree 493 Art. 10)"
say "  a province (吉林省, 220000) is the same zhibao-agg, --level province; it enrols the"
say "  prefecture by its key, and the prefecture's serve relays through an outbox (agg/upstream)"
PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PEP="tcp://127.0.0.1:$PPORT"
PROVKEY=$(zhibao-agg init --dir province --level province --code 220000 | tail -n 1)
[[ "$PROVKEY" =~ ^[0-9a-f]{64}$ ]] || die "zhibao-agg init --level province: no key"
say "  \$ zhibao-agg init --dir province --level province --code 220000     -> key ${PROVKEY:0:16}..."
run zhibao-agg enroll --dir province --prefecture 222400 --key "$AGGKEY" || die "enroll the prefecture"
printf '  $ zhibao-agg serve --dir province --listen %s >logs/province.log 2>&1 &\n' "$PEP"
zhibao-agg serve --dir province --listen "$PEP" >logs/province.log 2>&1 &
PROV_PID=$!
PIDS+=("$PROV_PID")
run zhibao-agg upstream --dir agg --endpoint "$PEP" --key "$PROVKEY" || die "upstream"
say
say "敦化 reports a 较大 accident (3 dead) that happened an hour ago; 珲春's October accidents are"
say "一般 and stay at the prefecture. The prefecture's serve relays within seconds:"
python3 - >examples/accident-larger.json <<'PY'
import json, time
t = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() - 3600 + 8 * 3600))
print(json.dumps({"type": "accident", "accident_id": "DH-2026-0007", "revision": 0,
                  "occurred_at": t, "county_notified_at": t, "place": "敦化市某林场",
                  "unit": {"name": "敦化某林业有限公司"}, "industry": "other",
                  "category": "collapse", "summary": "储木场木材垛坍塌，造成3人死亡。",
                  "deaths": 3, "missing": 0, "serious_injuries": 0, "minor_injuries": 0,
                  "direct_loss_yuan": 2600000}, ensure_ascii=False))
PY
submit 222403 examples/accident-larger.json "examples/accident-larger.json (较大, revision 0)"
zhibao-node sync --dir "${DIR[222403]}" --once --timeout 60 >>logs/sync-222403.log 2>&1 || die "sync 222403"
for _ in $(seq 300); do
    zhibao-agg status --dir agg --json >logs/agg-status.json
    zhibao-agg report accidents --dir province --from 2026-01-01 --to 2026-12-31 --format json \
        >logs/province-accidents.json
    python3 -c 'import json,sys; u=json.load(open(sys.argv[1])).get("upstream"); a=json.load(open(sys.argv[2]))["accidents"]; sys.exit(0 if u and a and u["acknowledged"] == u["stored"] else 1)' \
        logs/agg-status.json logs/province-accidents.json && break
    sleep 0.1
done
run zhibao-agg status --dir agg | tail -n 1
run zhibao-agg status --dir province
run zhibao-agg report accidents --dir province --from 2026-01-01 --to 2026-12-31 --format csv
python3 - logs/agg-status.json <<'PY' || die "the relay did not reach the province"
import json, sys
u = json.load(open(sys.argv[1]))["upstream"]
assert u["stored"] >= 3 and u["acknowledged"] == u["stored"], u
PY
zhibao-agg report accidents --dir province --from 2026-01-01 --to 2026-12-31 --format json \
    >logs/province-accidents.json || die "report accidents at the province"
python3 - logs/province-accidents.json <<'PY' || die "the province holds the wrong accidents"
import json, sys
acc = json.load(open(sys.argv[1]))["accidents"]
assert [(a["county"], a["accident_id"], a["prefecture"]) for a in acc] == \
    [("222403", "DH-2026-0007", "222400")], acc
PY
say "  the province holds 敦化's accident with 敦化's own signature, and no 一般 accident"
run zhibao-agg report monthly --dir province --period 2026-10
run zhibao-agg check --dir province || die "check at the province"
kill -TERM "$PROV_PID"
wait "$PROV_PID" || die "the province's serve exited $? after SIGTERM"

# ---------------------------------------------------------------- 14. stop
section "Stopping the aggregator (SIGTERM, as systemd does)"
printf '  $ kill -TERM %s; wait\n' "$AGG_PID"
kill -TERM "$AGG_PID"
rc=0
wait "$AGG_PID" || rc=$?
PIDS=()
tail -n 1 logs/agg.log | indent
[ "$rc" -eq 0 ] || die "zhibao-agg serve exited $rc after SIGTERM"
say "  aggregator stopped cleanly (exit 0)"
kill -TERM "$WIT_PID"
wait "$WIT_PID" || die "zhibao-witness serve exited $? after SIGTERM"
say "  witness stopped"
if [ "$WEB" = 1 ]; then
    PIDS=("$WEB_PID") # the dashboard reads the store alone now; cleanup stops it
else
    kill -TERM "$WEB_PID"
    wait "$WEB_PID" || die "zhibao-agg web exited $? after SIGTERM"
    say "  dashboard stopped (run ./deploy/demo.sh --web to keep it running)"
fi

# ---------------------------------------------------------------- done
section "Done"
if [ "$WEB" = 1 ]; then
    say "dashboard: $WEB_URL"
else
    say "dashboard: $WEB_URL when running: zhibao-agg web --dir $W/agg --listen $WEB_LISTEN"
    say "  (./deploy/demo.sh --web keeps it running at the end of the demo)"
fi
if [ "${ZB_DEMO_CLEAN:-0}" = 1 ]; then
    say "work directory: $W (removed on exit: ZB_DEMO_CLEAN=1)"
else
    say "Look around:"
    say "  cd $W && export PATH=$ROOT/build/bin:\$PATH"
    say "  zhibao-node list --dir ${DIR[222401]}        # each report and its receipt state"
    say "  zhibao-node receipts --dir ${DIR[222401]}    # the prefecture's signed receipts"
    say "  zhibao-node show --dir ${DIR[222401]} 2      # the accident report as stored"
    say "  zhibao-agg status --dir agg --json"
    say "work directory: $W"
fi
if [ "$WEB" = 1 ]; then
    say
    say "${BOLD}dashboard: $WEB_URL${OFF} -- open it in a browser; Ctrl-C stops it"
    trap 'echo; exit 0' INT
    wait "$WEB_PID" || die "zhibao-agg web stopped unexpectedly (logs/web.log)"
fi
