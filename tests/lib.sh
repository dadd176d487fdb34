# Shared helpers for system tests (sourced, not run). Tests start real
# processes on loopback ports and kill them; every process started with
# start_bg is killed on exit.
set -euo pipefail
: "${ZB_BIN:?ZB_BIN must point at build/bin}"
: "${ZB_SOURCE_DIR:?}"
NODE="$ZB_BIN/zhibao-node"
AGG="$ZB_BIN/zhibao-agg"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zb-test.XXXXXX")
BG_PIDS=()

cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

# A TCP port nobody listens on right now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_bg() { "$@" & BG_PIDS+=($!); LAST_PID=$!; }

# agg_init DIR -> prints the aggregator key
agg_init() { "$AGG" init --dir "$1" | tail -n 1; }

# node_init DIR COUNTY ENDPOINT AGGKEY AGGDIR: creates and enrolls a node
node_init() {
    local key
    key=$("$NODE" init --dir "$1" --county "$2" --aggregator "$3" --aggregator-key "$4" | tail -n 1)
    "$AGG" enroll --dir "$5" --county "$2" --request "$1/key-request" --key "$key" >/dev/null
}

# json_get FILE-OR-STRING EXPR: evaluate a python expression on parsed JSON "j"
json_get() { python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

# agg_reports DIR COUNTY -> reports stored for county
agg_reports() {
    json_get "$("$AGG" status --dir "$1" --json)" \
        "next((c['reports'] for c in j['counties'] if c['county']=='$2'), 0)"
}

# gen_reports N PREFIX -> JSON Lines of N valid reports (monthly and accidents)
gen_reports() {
    python3 - "$1" "$2" <<'PY'
import json, sys
n, prefix = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    if i % 3 == 0:
        r = {"type": "accident", "accident_id": f"{prefix}-{i}", "revision": 0,
             "occurred_at": "2026-10-14T08:30:00+08:00", "county_notified_at": "2026-10-14T08:50:00+08:00",
             "place": "测试地点", "unit": {"name": "测试单位"}, "industry": "construction", "category": "object_strike",
             "summary": f"测试事故 {i}", "deaths": i % 4, "missing": 0, "serious_injuries": 1,
             "minor_injuries": 0, "direct_loss_yuan": 1000 * i}
    else:
        r = {"type": "monthly", "period": "2026-10",
             "tasks": [{"task": 3 + i % 25, "status": "in_progress", "progress": f"进展 {i}"}],
             "stats": {"inspections": i}}
    print(json.dumps(r, ensure_ascii=False))
PY
}
