#!/usr/bin/env bash
# bench/run.sh - the zhibao benchmark (issue 6; bench/README.md).
#
# Builds in release mode into build-release/, runs every scenario with its
# parameters printed, writes bench/results.json and prints a table:
#   verify     raw Ed25519 verify on all cores: the limit every figure is compared with
#   ingest     N reports pre-signed across 8 county nodes; all sync at once
#   backlog    one county's node with N reports stored offline; the aggregator starts and
#              `zhibao-node sync --once` is timed to its exit (receipts stored), with CPU use
#   latency    accident submit -> receipt stored, idle and beside a 7-county backlog
#   growth     one aggregator grown to 1,000,000 reports of an office's store (spread over
#              2000-2026, the queried month 2026-10 the same at every size): peak RssAnon
#              (memory) and us/report for an increment at each size N (scaling), with the
#              report queries (monthly, accidents, matrix; median of 5 runs)
#   fanin      3,000 simulated nodes in one process, 10 reports each
#
# Environment:
#   ZB_BENCH_SCALE=small   seconds instead of many minutes (the smoke test)
#   ZB_BIN=DIR             use already-built binaries (must include the zb-bench-* tools)
#   ZB_BENCH_OUT=FILE      where to write results (default bench/results.json)
#   ZB_BENCH_ONLY="a b"    run only these scenarios (verify ingest backlog latency growth fanin)
#   ZB_BENCH_CURVE=0|1     CurveZMQ in the fan-in client (default: 1 when the server uses CURVE)
#   ZB_BENCH_KEEP=1        keep the work directory (ZB_BENCH_WORK, default a mktemp dir)
#   ZB_BENCH_COMMIT=ID     the commit recorded in the results (default: git HEAD of this tree)
#   ZB_BENCH_PERF=DIR      perf record -g into DIR: the aggregator during the ingest
#                          (perf-ingest.data), the whole machine during the one-county backlog
#                          (perf-backlog.data) and each scaling increment (perf-inc-N.data)
#   ZB_BENCH_BACKLOG_LOG=L the node's and aggregator's --log-level in the backlog scenario (warn;
#                          debug: per-batch timing lines in WORK/backlog-{node,agg}.log)
#   ZB_BENCH_LOADED_MIN=N  loaded latency: push the backlog again until N samples (full: 200),
#   ZB_BENCH_LOADED_REPS=R at most R backlogs (8)
#   ZB_BENCH_INGEST, ZB_BENCH_ONE_COUNTY, ZB_BENCH_LATENCY, ZB_BENCH_BACKLOG, ZB_BENCH_MEMORY,
#   ZB_BENCH_SCALING ("N1 N2 ..."), ZB_BENCH_INCREMENT, ZB_BENCH_MONTH_ACCIDENTS,
#   ZB_BENCH_REPORT_RUNS, ZB_BENCH_FANIN_NODES, ZB_BENCH_FANIN_REPORTS: sizes
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
SCALE=${ZB_BENCH_SCALE:-full}

case "$SCALE" in
small)
    d_ingest=2000 d_latency=50 d_backlog=2000 d_memory=20000 d_scaling="1000 5000"
    d_increment=1000 d_fanin=50 d_loaded_min=0 d_one_county=2000 d_month_accidents=200 ;;
full)
    d_ingest=200000 d_latency=1000 d_backlog=100000 d_memory=1000000
    d_scaling="10000 100000 1000000" d_increment=10000 d_fanin=3000 d_loaded_min=200
    d_one_county=20000 d_month_accidents=1000 ;;
*) echo "ZB_BENCH_SCALE: small or full" >&2; exit 2 ;;
esac
INGEST=${ZB_BENCH_INGEST:-$d_ingest}
ONE_COUNTY=${ZB_BENCH_ONE_COUNTY:-$d_one_county}
BACKLOG_LOG=${ZB_BENCH_BACKLOG_LOG:-warn}
LATENCY=${ZB_BENCH_LATENCY:-$d_latency}
BACKLOG=${ZB_BENCH_BACKLOG:-$d_backlog}
LOADED_MIN=${ZB_BENCH_LOADED_MIN:-$d_loaded_min}
LOADED_REPS=${ZB_BENCH_LOADED_REPS:-8}
MEMORY=${ZB_BENCH_MEMORY:-$d_memory}
SCALING=${ZB_BENCH_SCALING:-$d_scaling}
INCREMENT=${ZB_BENCH_INCREMENT:-$d_increment}
# accidents of the queried month 2026-10 in the growth store, at every size (spread
# over the 8 nodes; the rest of the store lies in other months and years)
MONTH_ACCIDENTS=${ZB_BENCH_MONTH_ACCIDENTS:-$d_month_accidents}
REPORT_RUNS=${ZB_BENCH_REPORT_RUNS:-5}
FANIN_NODES=${ZB_BENCH_FANIN_NODES:-$d_fanin}
FANIN_REPORTS=${ZB_BENCH_FANIN_REPORTS:-10}
ONLY=${ZB_BENCH_ONLY:-verify ingest backlog latency growth fanin}
OUT=${ZB_BENCH_OUT:-$SRC/bench/results.json}
# the eight county-level units of Yanbian
COUNTIES=(222401 222402 222403 222404 222405 222406 222424 222426)

if [ -n "${ZB_BIN:-}" ]; then
    BIN=$ZB_BIN
    BUILD_KIND="given ($BIN)"
else
    echo "== build: release into build-release/"
    cmake -S "$SRC" -B "$SRC/build-release" -DCMAKE_BUILD_TYPE=Release -DZB_BENCH=ON \
        -DZB_TESTS=OFF >/dev/null
    # only what the benchmark runs: a half-finished tool elsewhere does not stop it
    cmake --build "$SRC/build-release" -j "$(nproc)" --target zhibao-agg zhibao-node \
        zb-bench-verify zb-bench-presign zb-bench-latency zb-bench-fanin zb-bench-wait-acked \
        >"$SRC/build-release/bench-build.log" 2>&1 || {
        tail -n 30 "$SRC/build-release/bench-build.log" >&2
        exit 1
    }
    BIN=$SRC/build-release/bin
    BUILD_KIND=Release
fi
for t in zhibao-agg zhibao-node zb-bench-verify zb-bench-presign zb-bench-latency \
         zb-bench-fanin zb-bench-wait-acked; do
    [ -x "$BIN/$t" ] || { echo "bench: $BIN/$t missing (build with -DZB_BENCH=ON)" >&2; exit 1; }
done
AGG="$BIN/zhibao-agg"
NODE="$BIN/zhibao-node"

# fan-in speaks CURVE only when the aggregator does
if [ -z "${ZB_BENCH_CURVE:-}" ]; then
    if grep -q ZMQ_CURVE_SERVER "$SRC/aggregator/server.c"; then ZB_BENCH_CURVE=1; else ZB_BENCH_CURVE=0; fi
fi
export ZB_BENCH_CURVE

# 3,000 connections in one process and 3,000 in the aggregator
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=${ZB_BENCH_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/zb-bench.XXXXXX")}
mkdir -p "$WORK"
BG_PIDS=()
cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${ZB_BENCH_KEEP:-0}" = 1 ]; then echo "bench: work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

say() { printf '%s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# json_field FILE EXPR: python expression over the parsed JSON j
json_field() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
has() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# start_agg DIR PORT LOG [LEVEL]: serve in the background; sets AGG_PID, ENDPOINT
start_agg() {
    ENDPOINT="tcp://127.0.0.1:$2"
    "$AGG" serve --dir "$1" --listen "$ENDPOINT" --log-level "${4:-warn}" >>"$3" 2>&1 &
    AGG_PID=$!
    BG_PIDS+=("$AGG_PID")
    local i
    for i in $(seq 100); do
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$2" 2>/dev/null; then
            return 0
        fi
        kill -0 "$AGG_PID" 2>/dev/null || { echo "bench: aggregator died (log $3)" >&2; cat "$3" >&2; exit 1; }
        sleep 0.05
    done
    echo "bench: aggregator not listening on $ENDPOINT" >&2
    exit 1
}
stop_agg() {
    kill -TERM "$AGG_PID" 2>/dev/null || true
    wait "$AGG_PID" 2>/dev/null || true
}

# rss_sampler PID FILE: the peak RssAnon (KiB) of PID, sampled every 50 ms, kept in FILE
# until PID exits or the sampler is killed. Sets RSS_PID.
rss_sampler() {
    (
        peak=0
        while [ -r "/proc/$1/status" ]; do
            v=$(awk '/^RssAnon:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
            if [ -n "$v" ] && [ "$v" -gt "$peak" ]; then peak=$v; echo "$peak" >"$2"; fi
            sleep 0.05
        done
    ) &
    RSS_PID=$!
    BG_PIDS+=("$RSS_PID")
    echo 0 >"$2"
}
stop_rss() { kill "$RSS_PID" 2>/dev/null || true; wait "$RSS_PID" 2>/dev/null || true; }
kib_to_mib() { python3 -c "import sys; print('%.1f' % (int(sys.argv[1]) / 1024))" "$1"; }

# new_agg DIR -> prints the aggregator key
new_agg() { "$AGG" init --dir "$1" | tail -n 1; }

# presign_nodes AGGDIR AGGKEY BASE TOTAL [KIND]: append TOTAL reports spread over the eight
# county nodes BASE/<county> (created and enrolled on first use), one signer per core
# (untimed). KIND: mixed (default: everything in 2026-10) or office (spread over the years,
# MONTH_ACCIDENTS in 2026-10 over all nodes; bench_reports.h)
presign_nodes() {
    local aggdir=$1 aggkey=$2 base=$3 total=$4 kind=${5:-mixed} i c per extra pids=() keyf fresh=()
    local month_per_node=$(((MONTH_ACCIDENTS + ${#COUNTIES[@]} - 1) / ${#COUNTIES[@]}))
    per=$((total / ${#COUNTIES[@]}))
    extra=$((total % ${#COUNTIES[@]}))
    for i in "${!COUNTIES[@]}"; do
        c=${COUNTIES[$i]}
        local n=$per
        [ "$i" -lt "$extra" ] && n=$((n + 1))
        keyf="$base/$c.key"
        [ -e "$base/$c" ] || fresh+=("$c")
        "$BIN/zb-bench-presign" --dir "$base/$c" --county "$c" --count "$n" \
            --endpoint tcp://127.0.0.1:1 --agg-key "$aggkey" --prefix "B" \
            --kind "$kind" --month-accidents "$month_per_node" >"$keyf.out" &
        pids+=($!)
        if [ "${#pids[@]}" -ge "$(nproc)" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for c in ${fresh[@]+"${fresh[@]}"}; do
        "$AGG" enroll --dir "$aggdir" --county "$c" --request "$base/$c/key-request" \
            --key "$(tail -n 1 "$base/$c.key.out")" >/dev/null
    done
}

# sync_all BASE RESULT COUNTY...: start `sync --once` for each county node at once, time until
# every node holds the ack of its last report (durable at the aggregator), check every sync
# exits 0. Writes the wait-acked JSON to RESULT; touches $SYNC_DONE_FILE (if set) at that point.
sync_all() {
    local base=$1 result=$2 c pids=() dirs=() p rc=0
    shift 2
    for c in "$@"; do dirs+=("$base/$c"); done
    for c in "$@"; do
        "$NODE" sync --dir "$base/$c" --once --timeout 600 --endpoint "$ENDPOINT" \
            --log-level warn >>"$WORK/sync.log" 2>&1 &
        pids+=($!)
    done
    "$BIN/zb-bench-wait-acked" --timeout 900 "${dirs[@]}" >"$result" || rc=$?
    # the last ack is durable: whoever measures beside this load may stop
    if [ -n "${SYNC_DONE_FILE:-}" ]; then touch "$SYNC_DONE_FILE"; fi
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
    if [ "$rc" != 0 ]; then
        echo "bench: sync failed (exit $rc); log $WORK/sync.log:" >&2
        tail -n 20 "$WORK/sync.log" >&2
        exit 1
    fi
}

# agg_reports_total DIR [PREFIX]: reports stored for counties whose code starts with PREFIX
agg_reports_total() {
    "$AGG" status --dir "$1" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(sum(c["reports"] for c in j["counties"] if c["county"].startswith(sys.argv[1])))' "${2:-}"
}

# time_reports AGGDIR OUT: the three report queries the office runs, each a whole
# `zhibao-agg report ... --format json` process (start included) with its output to
# /dev/null, REPORT_RUNS times; the median, every run, and the rows each returned (one
# more, untimed run) go to OUT as JSON
time_reports() {
    python3 - "$AGG" "$1" "$REPORT_RUNS" "$WORK/reports.log" >"$2" <<'PY'
import json, statistics, subprocess, sys, time
agg, d, runs, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
queries = [("monthly", ["--period", "2026-10"]),
           ("accidents", ["--from", "2026-10-01", "--to", "2026-10-31"]),
           ("matrix", ["--from", "2026-01", "--to", "2026-12"])]
def counts(name, j):
    # the rows each query returned (None where the document's shape is not the one known)
    try:
        if name == "monthly":
            rows = j["rows"]
            return {"monthly_rows": len(rows),
                    "monthly_filed": sum(1 for r in rows if r.get("version")),
                    "monthly_versions": sum(r.get("version") or 0 for r in rows)}
        if name == "accidents":
            rows = j["accidents"]
            return {"accidents_rows": len(rows),
                    "accidents_revisions": sum(r.get("revisions") or 0 for r in rows)}
        rows, periods = j["rows"], j["periods"]
        return {"matrix_rows": len(rows), "matrix_cells": len(rows) * len(periods),
                "matrix_filed": sum(1 for r in rows for p in periods
                                    if r.get(p) in ("on_time", "late"))}
    except (KeyError, TypeError, AttributeError):
        return {}
out = {}
with open(log, "a") as lf:
    for name, args in queries:
        cmd = [agg, "report", name, "--dir", d] + args + ["--format", "json"]
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=lf, check=True)
            times.append(time.perf_counter() - t0)
        out["report_%s_s" % name] = round(statistics.median(times), 4)
        out["report_%s_runs_s" % name] = [round(t, 4) for t in times]
        doc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=lf, check=True).stdout
        out.update(counts(name, json.loads(doc)))
print(json.dumps(out))
PY
}

R="$WORK/results"
mkdir -p "$R"
say "zhibao benchmark: scale $SCALE, build $BUILD_KIND, $(nproc) cores, work dir $WORK"
say "  scenarios: $ONLY; fan-in CURVE: $ZB_BENCH_CURVE; open files: $(ulimit -n)"

# ---- verify limit
if has verify; then
    say "== verify: crypto_sign_verify_detached on $(nproc) threads, 434-byte message, 2 s"
    "$BIN/zb-bench-verify" --seconds 2 --bytes 434 >"$R/verify.json"
    say "   $(cat "$R/verify.json")"
fi

# utime + stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat,
# counted after the ")" that ends the command name)
proc_cpu_ticks() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# ---- ingest
if has ingest; then
    say "== ingest: $INGEST reports pre-signed across ${#COUNTIES[@]} nodes; all sync at once"
    D="$WORK/ingest"
    mkdir -p "$D"
    key=$(new_agg "$D/agg")
    t0=$(now)
    presign_nodes "$D/agg" "$key" "$D" "$INGEST"
    say "   pre-signed in $(elapsed "$t0" "$(now)") s (not timed)"
    start_agg "$D/agg" "$(free_port)" "$WORK/agg-ingest.log"
    rss_sampler "$AGG_PID" "$R/ingest.rss"
    if [ -n "${ZB_BENCH_PERF:-}" ]; then
        mkdir -p "$ZB_BENCH_PERF"
        perf record -F 499 -g -p "$AGG_PID" -o "$ZB_BENCH_PERF/perf-ingest.data" \
            >"$ZB_BENCH_PERF/perf-record.log" 2>&1 &
        PERF_PID=$!
        sleep 0.5
    fi
    cpu0=$(proc_cpu_ticks "$AGG_PID")
    sync_all "$D" "$R/ingest.json" "${COUNTIES[@]}"
    # the aggregator's own CPU over the ingest: what it would need alone on
    # its machine (here the eight node processes share its two cores)
    echo $(( $(proc_cpu_ticks "$AGG_PID") - cpu0 )) "$(getconf CLK_TCK)" >"$R/ingest.aggcpu"
    if [ -n "${ZB_BENCH_PERF:-}" ]; then
        kill -INT "$PERF_PID" 2>/dev/null || true
        wait "$PERF_PID" 2>/dev/null || true
        say "   profile: perf report -i $ZB_BENCH_PERF/perf-ingest.data --no-children"
    fi
    stop_rss
    stored=$(agg_reports_total "$D/agg")
    stop_agg
    echo "$stored" >"$R/ingest.stored"
    say "   $(cat "$R/ingest.json"); aggregator stored $stored; peak RssAnon $(kib_to_mib "$(cat "$R/ingest.rss")") MiB"
    [ "$stored" = "$INGEST" ] || { echo "bench: ingest stored $stored of $INGEST" >&2; exit 1; }
    rm -rf "$D"
fi

# ---- one county's backlog
if has backlog; then
    C=${COUNTIES[0]}
    say "== backlog: one county ($C) with $ONE_COUNTY reports stored while no aggregator runs;"
    say "   the aggregator starts, then 'zhibao-node sync --once' is timed until it exits"
    say "   (every receipt stored); CPU of both processes over that time"
    D="$WORK/backlog"
    mkdir -p "$D"
    key=$(new_agg "$D/agg")
    saved=("${COUNTIES[@]}")
    COUNTIES=("$C")
    presign_nodes "$D/agg" "$key" "$D" "$ONE_COUNTY"
    COUNTIES=("${saved[@]}")
    start_agg "$D/agg" "$(free_port)" "$WORK/backlog-agg.log" "$BACKLOG_LOG"
    if [ -n "${ZB_BENCH_PERF:-}" ]; then
        mkdir -p "$ZB_BENCH_PERF"
        perf record -F 999 -a -g -o "$ZB_BENCH_PERF/perf-backlog.data" \
            >"$ZB_BENCH_PERF/perf-backlog.log" 2>&1 &
        PERF_PID=$!
        sleep 0.5
    fi
    # beside the sync: when the last ack and the last receipt reached the node's store
    "$BIN/zb-bench-wait-acked" --timeout 900 --poll-ms 2 --receipted "$D/$C" >"$R/backlog-acked.json" &
    WAIT_PID=$!
    python3 - "$NODE" "$D/$C" "$ENDPOINT" "$AGG_PID" "$BACKLOG_LOG" "$WORK/backlog-node.log" \
        >"$R/backlog.json" <<'PY'
import json, os, subprocess, sys, time
node, d, endpoint, agg_pid, level, log = sys.argv[1:7]
tck = os.sysconf("SC_CLK_TCK")
def cpu_s(pid):
    # /proc/PID/stat: utime and stime are fields 14 and 15, after "(comm)"
    f = open("/proc/%s/stat" % pid).read()
    rest = f[f.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / tck
agg0 = cpu_s(agg_pid)
t0 = time.monotonic()  # CLOCK_MONOTONIC, as zb-bench-wait-acked's timestamps
with open(log, "a") as lf:
    p = subprocess.Popen([node, "sync", "--dir", d, "--once", "--timeout", "900",
                          "--endpoint", endpoint, "--log-level", level], stderr=lf, stdout=lf)
    # the node's own CPU from wait4's rusage: exact to its exit, where its
    # /proc/PID/stat would be gone
    _, status, ru = os.wait4(p.pid, 0)
t = time.monotonic() - t0
agg = cpu_s(agg_pid) - agg0
print(json.dumps({"seconds": round(t, 3), "exit": os.waitstatus_to_exitcode(status),
                  "t0_mono": t0,
                  "node_cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
                  "node_cpu_pct": round(100 * (ru.ru_utime + ru.ru_stime) / t, 1),
                  "node_user_s": round(ru.ru_utime, 3), "node_sys_s": round(ru.ru_stime, 3),
                  "node_vol_ctxsw": ru.ru_nvcsw, "agg_cpu_s": round(agg, 3),
                  "agg_cpu_pct": round(100 * agg / t, 1)}))
PY
    wait "$WAIT_PID" || true
    if [ -n "${ZB_BENCH_PERF:-}" ]; then
        kill -INT "$PERF_PID" 2>/dev/null || true
        wait "$PERF_PID" 2>/dev/null || true
        say "   profile: perf report -i $ZB_BENCH_PERF/perf-backlog.data --no-children --sort comm,dso"
    fi
    stored=$(agg_reports_total "$D/agg")
    stop_agg
    "$NODE" status --dir "$D/$C" --json >"$R/backlog-status.json"
    say "   $(cat "$R/backlog.json")"
    say "   last ack / last receipt in the node's store $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print("%.3f / %.3f" % (a["acked_mono"] - b["t0_mono"], a["receipted_mono"] - b["t0_mono"]))' "$R/backlog-acked.json" "$R/backlog.json") s after the sync started; aggregator stored $stored"
    [ "$(json_field "$R/backlog.json" 'j["exit"]')" = 0 ] || {
        echo "bench: backlog sync exited $(json_field "$R/backlog.json" 'j["exit"]'); log $WORK/backlog-node.log:" >&2
        tail -n 20 "$WORK/backlog-node.log" >&2
        exit 1
    }
    [ "$(json_field "$R/backlog-status.json" 'j["receipts"] == j["stored"] == '"$ONE_COUNTY")" = True ] || {
        echo "bench: backlog: node status $(cat "$R/backlog-status.json") (want receipts == stored == $ONE_COUNTY)" >&2
        exit 1
    }
    [ "$stored" = "$ONE_COUNTY" ] || { echo "bench: backlog stored $stored of $ONE_COUNTY" >&2; exit 1; }
    rm -rf "$D"
fi

# ---- accident latency
if has latency; then
    others=("${COUNTIES[@]:1}")
    A=${COUNTIES[0]}
    say "== latency: $LATENCY accidents submitted one at a time on $A (sync daemon running);"
    say "   idle, then while ${#others[@]} other counties push a $BACKLOG-report backlog"
    D="$WORK/latency"
    mkdir -p "$D/bulk"
    key=$(new_agg "$D/agg")
    "$BIN/zb-bench-presign" --dir "$D/$A" --county "$A" --count 0 \
        --endpoint tcp://127.0.0.1:1 --agg-key "$key" >"$D/$A.key"
    "$AGG" enroll --dir "$D/agg" --county "$A" --request "$D/$A/key-request" \
        --key "$(tail -n 1 "$D/$A.key")" >/dev/null
    saved=("${COUNTIES[@]}")
    COUNTIES=("${others[@]}")
    presign_nodes "$D/agg" "$key" "$D/bulk" "$BACKLOG"
    COUNTIES=("${saved[@]}")
    start_agg "$D/agg" "$(free_port)" "$WORK/agg-latency.log"
    "$NODE" sync --dir "$D/$A" --endpoint "$ENDPOINT" --log-level warn >>"$WORK/daemon.log" 2>&1 &
    DAEMON_PID=$!
    BG_PIDS+=("$DAEMON_PID")
    sleep 1
    "$BIN/zb-bench-latency" --dir "$D/$A" --count "$LATENCY" --prefix IDLE >"$R/latency-idle.json"
    say "   idle:   $(cat "$R/latency-idle.json")"
    # loaded: only while the backlog is being delivered (the tool stops at the next
    # report once the backlog's last ack is durable). A backlog is over in seconds and a
    # starved report takes long, so the backlog is pushed again (pre-signed anew) until
    # LOADED_MIN samples are pooled, at most LOADED_REPS times.
    : >"$R/latency-loaded.samples"
    have=0 rep=0 lat_total=0 backlog_total=0 timeouts=0
    while :; do
        rep=$((rep + 1))
        if [ "$rep" -gt 1 ]; then
            COUNTIES=("${others[@]}")
            presign_nodes "$D/agg" "$key" "$D/bulk" "$BACKLOG"
            COUNTIES=("${saved[@]}")
        fi
        rm -f "$D/backlog.done"
        t0=$(now)
        SYNC_DONE_FILE="$D/backlog.done" sync_all "$D/bulk" "$R/latency-backlog.json" "${others[@]}" &
        BACKLOG_PID=$!
        "$BIN/zb-bench-latency" --dir "$D/$A" --count $((LATENCY - have)) --prefix "LOADED$rep" \
            --stop-file "$D/backlog.done" --samples-out "$R/latency-loaded.samples" \
            >"$R/latency-loaded-$rep.json"
        lat_s=$(elapsed "$t0" "$(now)")
        wait "$BACKLOG_PID"
        backlog_s=$(json_field "$R/latency-backlog.json" 'j["seconds"]')
        lat_total=$(python3 -c "import sys; print(float(sys.argv[1]) + float(sys.argv[2]))" "$lat_total" "$lat_s")
        backlog_total=$(python3 -c "import sys; print(float(sys.argv[1]) + float(sys.argv[2]))" "$backlog_total" "$backlog_s")
        timeouts=$((timeouts + $(json_field "$R/latency-loaded-$rep.json" 'j["timeouts"]')))
        have=$(wc -l <"$R/latency-loaded.samples")
        say "   loaded, backlog $rep ($backlog_s s): $(cat "$R/latency-loaded-$rep.json")"
        if [ "$have" -ge "$LOADED_MIN" ] || [ "$have" -ge "$LATENCY" ] || [ "$rep" -ge "$LOADED_REPS" ]; then
            break
        fi
    done
    python3 - "$R/latency-loaded.samples" "$timeouts" "$rep" >"$R/latency-loaded.json" <<'PY'
import json, sys
lat = sorted(float(l) for l in open(sys.argv[1]) if l.strip())
pct = lambda p: round(lat[min(len(lat) - 1, int(p * (len(lat) - 1) + 0.5))], 3) if lat else None
print(json.dumps({"count": len(lat) + int(sys.argv[2]), "ok": len(lat), "timeouts": int(sys.argv[2]),
                  "p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99),
                  "max_ms": lat[-1] if lat else None,
                  "mean_ms": round(sum(lat) / len(lat), 3) if lat else None,
                  "backlogs": int(sys.argv[3])}))
PY
    echo "{\"loaded_latency_s\": $lat_total, \"backlog_s\": $backlog_total, \"backlogs\": $rep}" >"$R/latency-overlap.json"
    say "   loaded (pooled over $rep backlog(s) of $BACKLOG): $(cat "$R/latency-loaded.json")"
    kill "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    stop_agg
    rm -rf "$D"
fi

# ---- growth: memory and scaling on one store grown to the largest size
if has growth; then
    sizes=$(printf '%s\n' $SCALING | sort -n | tr '\n' ' ' | sed 's/ $//')
    steps=$(printf '%s\n' $SCALING "$MEMORY" | sort -n -u | tr '\n' ' ')
    top=$(printf '%s\n' $steps | tail -n 1)
    say "== growth: one aggregator grown to $top reports across ${#COUNTIES[@]} nodes, an office's"
    say "   store (2000-2026; 2026-10 holds $MONTH_ACCIDENTS accidents and the 8 monthly reports at"
    say "   every size), peak RssAnon sampled every 50 ms throughout; at N in {$sizes} stored,"
    say "   ingest $INCREMENT more (timed: us/report) and time 'report monthly' / 'report accidents'"
    say "   / 'report matrix' (median of $REPORT_RUNS runs each)"
    D="$WORK/growth"
    mkdir -p "$D"
    key=$(new_agg "$D/agg")
    presign_nodes "$D/agg" "$key" "$D" 0
    start_agg "$D/agg" "$(free_port)" "$WORK/agg-growth.log"
    rss_sampler "$AGG_PID" "$R/growth.rss"
    stored=0
    : >"$R/scaling.jsonl"
    for n in $steps; do
        if [ "$n" -gt "$stored" ]; then
            presign_nodes "$D/agg" "$key" "$D" $((n - stored)) office
            sync_all "$D" "$R/grow.json" "${COUNTIES[@]}"
            stored=$n
            say "   grown to $n: $(json_field "$R/grow.json" 'j["seconds"]') s to ingest, peak RssAnon so far $(kib_to_mib "$(cat "$R/growth.rss")") MiB"
        fi
        case " $sizes " in *" $n "*) ;; *) continue ;; esac
        presign_nodes "$D/agg" "$key" "$D" "$INCREMENT" office
        if [ -n "${ZB_BENCH_PERF:-}" ]; then
            # system-wide: the aggregator and the eight syncing nodes
            mkdir -p "$ZB_BENCH_PERF"
            perf record -F 499 -a -g -o "$ZB_BENCH_PERF/perf-inc-$n.data" \
                >"$ZB_BENCH_PERF/perf-inc-$n.log" 2>&1 &
            PERF_PID=$!
            sleep 0.5
        fi
        sync_all "$D" "$R/inc.json" "${COUNTIES[@]}"
        if [ -n "${ZB_BENCH_PERF:-}" ]; then
            kill -INT "$PERF_PID" 2>/dev/null || true
            wait "$PERF_PID" 2>/dev/null || true
        fi
        inc_s=$(json_field "$R/inc.json" 'j["seconds"]')
        stored=$((stored + INCREMENT))
        time_reports "$D/agg" "$R/queries.json"
        python3 - "$n" "$INCREMENT" "$inc_s" "$R/queries.json" \
            "$(du -sk "$D/agg" | cut -f1)" >>"$R/scaling.jsonl" <<'PY'
import json, sys
n, inc, s, queries, kib = sys.argv[1:]
row = {"n": int(n), "increment": int(inc), "seconds": float(s),
       "us_per_report": round(float(s) * 1e6 / int(inc), 1)}
row.update(json.load(open(queries)))
row["store_mib"] = round(int(kib) / 1024, 1)
print(json.dumps(row))
PY
        say "   N=$n: $(tail -n 1 "$R/scaling.jsonl")"
    done
    stop_rss
    echo "$stored" >"$R/growth.stored"
    say "   peak RssAnon over the whole growth to $stored reports: $(kib_to_mib "$(cat "$R/growth.rss")") MiB"
    stop_agg
    rm -rf "$D"
fi

# ---- fan-in
if has fanin; then
    say "== fanin: $FANIN_NODES simulated nodes in one process, $FANIN_REPORTS reports each, CURVE $ZB_BENCH_CURVE"
    D="$WORK/fanin"
    mkdir -p "$D"
    key=$(new_agg "$D/agg")
    t0=$(now)
    "$BIN/zb-bench-fanin" enroll --agg-dir "$D/agg" --nodes "$FANIN_NODES" >/dev/null
    say "   enrolled in $(elapsed "$t0" "$(now)") s (not timed)"
    start_agg "$D/agg" "$(free_port)" "$WORK/agg-fanin.log"
    rss_sampler "$AGG_PID" "$R/fanin.rss"
    rc=0
    "$BIN/zb-bench-fanin" run --endpoint "$ENDPOINT" --agg-key "$key" --nodes "$FANIN_NODES" \
        --reports "$FANIN_REPORTS" --timeout 600 >"$R/fanin.json" || rc=$?
    stop_rss
    agg_reports_total "$D/agg" 3 >"$R/fanin.stored"
    stop_agg
    say "   $(cat "$R/fanin.json"); aggregator stored $(cat "$R/fanin.stored"); peak RssAnon $(kib_to_mib "$(cat "$R/fanin.rss")") MiB"
    [ "$rc" = 0 ] || { echo "bench: fan-in did not complete (exit $rc)" >&2; exit 1; }
    rm -rf "$D"
fi

# ---- results
commit=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$SRC" status --porcelain -- aggregator node common proto 2>/dev/null)" ] && commit="$commit+dirty"
# with ZB_BIN the binaries may come from elsewhere: say which commit they were built from
commit=${ZB_BENCH_COMMIT:-$commit}
python3 - "$R" "$OUT" <<PY
import json, os, platform, sys
R, out = sys.argv[1], sys.argv[2]
def load(name):
    p = os.path.join(R, name)
    return json.load(open(p)) if os.path.exists(p) else None
def read(name):
    p = os.path.join(R, name)
    return open(p).read().strip() if os.path.exists(p) else None
mib = lambda kib: round(int(kib) / 1024, 1) if kib is not None else None
res = {}
v = load("verify.json")
res["verify_limit_per_s"] = v and v["verify_limit_per_s"]
ing = load("ingest.json")
res["ingest_reports"] = $INGEST
res["ingest_seconds"] = ing and ing["seconds"]
res["ingest_per_s"] = ing and round($INGEST / ing["seconds"], 1)
res["ingest_ratio"] = (round(res["ingest_per_s"] / res["verify_limit_per_s"], 3)
                       if ing and v else None)
res["ingest_rss_anon_mib"] = mib(read("ingest.rss"))
# the aggregator's own CPU per report, and the share of it that is the
# signature checks it cannot avoid (per-core verify rate): the ratio it
# would reach with the county nodes on other machines
ac = read("ingest.aggcpu")
if ing and ac and v:
    ticks, hz = (int(x) for x in ac.split())
    agg_s = ticks / hz
    res["ingest_agg_cpu_s"] = round(agg_s, 2)
    res["ingest_agg_cpu_pct"] = round(100 * agg_s / ing["seconds"], 1)
    res["ingest_agg_us_per_report"] = round(agg_s / $INGEST * 1e6, 1)
    res["ingest_agg_verify_share"] = round($INGEST / v["verify_per_core_per_s"] / agg_s, 3)
bl, bla = load("backlog.json"), load("backlog-acked.json")
res["backlog_one_county_reports"] = $ONE_COUNTY
res["backlog_one_county_seconds"] = bl and bl["seconds"]
res["backlog_one_county_per_s"] = bl and round($ONE_COUNTY / bl["seconds"], 1)
res["backlog_one_county_ratio"] = (round(res["backlog_one_county_per_s"] / res["verify_limit_per_s"], 3)
                                   if bl and v else None)
res["backlog_node_cpu_pct"] = bl and bl["node_cpu_pct"]
res["backlog_agg_cpu_pct"] = bl and bl["agg_cpu_pct"]
# from the sync's start, on the same clock (within the 2 ms poll)
res["backlog_last_ack_s"] = bl and bla and round(bla["acked_mono"] - bl["t0_mono"], 3)
res["backlog_last_receipt_s"] = bl and bla and round(bla["receipted_mono"] - bl["t0_mono"], 3)
res["backlog_one_county"] = bl
idle, loaded = load("latency-idle.json"), load("latency-loaded.json")
res["accident_reports"] = $LATENCY
res["accident_p50_ms_idle"] = idle and idle["p50_ms"]
res["accident_p99_ms_idle"] = idle and idle["p99_ms"]
res["accident_p50_ms_loaded"] = loaded and loaded["p50_ms"]
res["accident_p99_ms_loaded"] = loaded and loaded["p99_ms"]
res["accident_loaded_samples"] = loaded and loaded["count"]
res["accident_timeouts"] = (idle["timeouts"] + loaded["timeouts"]) if idle and loaded else None
res["accident_backlog_reports"] = $BACKLOG
res["accident_loaded_overlap"] = load("latency-overlap.json")
res["accident_idle"], res["accident_loaded"] = idle, loaded
res["aggregator_rss_anon_mib"] = mib(read("growth.rss"))
res["memory_reports"] = int(read("growth.stored")) if read("growth.stored") else None
scal = [json.loads(l) for l in open(os.path.join(R, "scaling.jsonl"))] if read("scaling.jsonl") else []
res["us_per_report"] = {str(s["n"]): s["us_per_report"] for s in scal} or None
res["scaling"] = scal or None
f = load("fanin.json")
res["fanin_nodes"] = f and f["fanin_nodes"]
res["fanin_expected"] = f and f["fanin_expected"]
res["fanin_acked"] = f and f["fanin_acked"]
stored = read("fanin.stored")
res["fanin_delivered"] = int(stored) if stored is not None else None
res["fanin_seconds"] = f and f["seconds"]
res["fanin_rss_anon_mib"] = mib(read("fanin.rss"))
res["fanin"] = f
cpu = ""
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception:
    pass
res["machine"] = {"cores": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
                  "mem_mib": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20}
res["build"] = "$BUILD_KIND"
res["bin_dir"] = "$BIN"
res["git_commit"] = "$commit"
res["scale"] = "$SCALE"
res["fanin_curve"] = "$ZB_BENCH_CURVE" == "1"
json.dump(res, open(out, "w"), indent=2, ensure_ascii=False)
open(out, "a").write("\n")

def fmt(x):
    return "-" if x is None else str(x)
rows = [("verify limit (all cores)", fmt(res["verify_limit_per_s"]), "/s", ""),
        ("ingest", fmt(res["ingest_per_s"]), "reports/s",
         "ratio %s (target >= 0.75); aggregator CPU %s %%, %s us/report, %s of it verifying"
         % (fmt(res["ingest_ratio"]), fmt(res.get("ingest_agg_cpu_pct")),
            fmt(res.get("ingest_agg_us_per_report")), fmt(res.get("ingest_agg_verify_share")))),
        ("one-county backlog", fmt(res["backlog_one_county_per_s"]), "reports/s",
         "ratio %s (target >= 0.6); node CPU %s %%, aggregator CPU %s %%; last receipt at %s of %s s"
         % (fmt(res["backlog_one_county_ratio"]), fmt(res["backlog_node_cpu_pct"]),
            fmt(res["backlog_agg_cpu_pct"]), fmt(res["backlog_last_receipt_s"]),
            fmt(res["backlog_one_county_seconds"]))),
        ("accident p50 idle", fmt(res["accident_p50_ms_idle"]), "ms", ""),
        ("accident p99 idle", fmt(res["accident_p99_ms_idle"]), "ms", "target <= 5"),
        ("accident p99 loaded", fmt(res["accident_p99_ms_loaded"]), "ms",
         "target <= 20 (%s samples under load)" % fmt(res["accident_loaded_samples"])),
        ("aggregator RssAnon peak", fmt(res["aggregator_rss_anon_mib"]), "MiB",
         "over %s reports, target <= 64" % fmt(res["memory_reports"]))]
for s in scal:
    rows.append(("us/report at N=%d" % s["n"], str(s["us_per_report"]), "us",
                 "monthly %.3f s, accidents %.3f s (%s rows), matrix %.3f s (each <= 0.050)"
                 % (s["report_monthly_s"], s["report_accidents_s"], fmt(s.get("accidents_rows")),
                    s["report_matrix_s"])))
rows.append(("fan-in delivered", "%s/%s" % (fmt(res["fanin_delivered"]), fmt(res["fanin_expected"])),
             "reports", "%s nodes in %s s, agg RssAnon %s MiB" % (fmt(res["fanin_nodes"]),
             fmt(res["fanin_seconds"]), fmt(res["fanin_rss_anon_mib"]))))
print()
for name, val, unit, note in rows:
    print("%-26s %12s %-9s %s" % (name, val, unit, note))
print("\nresults: %s" % out)
PY
