#!/usr/bin/env bash
# Issue 17, the aggregator's side, with real processes on loopback:
#  1. connections refused before ZAP runs (garbage bytes, NULL and PLAIN
#     clients, a CURVE client with another server key) and an unenrolled
#     CURVE key are each counted in `status --json` refusals, and logged
#     once per kind and address however often they come;
#  2. a key enrolled while serve runs is admitted on its first connection,
#     20 times in a row (never counted as UNENROLLED_CONNECTION);
#  3. a second serve on the same store exits 1 with one clear line, and
#     after kill -9 of the first a new serve starts.
# Every wait is bounded by a deadline, never by a fixed sleep.
source "$(dirname "$0")/../lib.sh"
PROBE="$ZB_BUILD/tests/zb-probe"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
LOG="$WORK/serve.log"
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level info 2>"$LOG"
SERVE_PID=$LAST_PID

# wait_for SECONDS CMD...: until CMD succeeds, or fail
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
serving() { grep -q ZB-AGG-START "$LOG"; }
wait_for 30 serving || fail "serve did not start: $(cat "$LOG")"

refusal() { json_get "$("$AGG" status --dir "$WORK/agg" --json)" "j['refusals'].get('$1', 0)"; }

# --- 1. refused before ZAP, counted and logged once per kind and address
"$PROBE" "$EP" "$AK" garbage 4 || fail "garbage connections were not closed"
"$PROBE" "$EP" "$AK" null 3 || fail "NULL clients were not refused"
"$PROBE" "$EP" "$AK" plain 2 || fail "PLAIN clients were not refused"
"$PROBE" "$EP" "$AK" wrongkey 3 || fail "wrong-server-key clients were not refused"
counted() {
    [ "$(refusal HANDSHAKE_FAILED)" = 4 ] && [ "$(refusal BAD_MECHANISM)" = 5 ] &&
        [ "$(refusal CURVE_FAILED)" = 3 ]
}
wait_for 15 counted || fail "refusals not counted as expected: $("$AGG" status --dir "$WORK/agg" --json)"
# an unenrolled CURVE key: sync --once gives up (exit 1) after retrying
"$NODE" init --dir "$WORK/stranger" --county 222499 --aggregator "$EP" --aggregator-key "$AK" >/dev/null
gen_reports 1 S | "$NODE" submit --dir "$WORK/stranger" - >/dev/null 2>&1
set +e
"$NODE" sync --dir "$WORK/stranger" --once --timeout 20 2>"$WORK/stranger.log"
rc=$?
set -e
[ "$rc" = 1 ] || fail "an unenrolled key's sync exited $rc, expected 1"

denied() { [ "$(refusal UNENROLLED_CONNECTION)" -ge 1 ]; }
wait_for 15 denied || fail "the unenrolled key's attempts not counted: $("$AGG" status --dir "$WORK/agg" --json)"
for r in HANDSHAKE_FAILED BAD_MECHANISM CURVE_FAILED UNENROLLED_CONNECTION; do
    echo "  refused $r: $(refusal "$r")"
done
pass "every refused connection attempt counted by kind (4 garbage, 3 NULL + 2 PLAIN, 3 wrong key, unenrolled)"

# lines_of KIND-PATTERN: how many log lines name it
lines_of() { grep -c -- "$1" "$LOG" || true; }
for kind in HANDSHAKE_FAILED BAD_MECHANISM CURVE_FAILED; do
    # one line per address and minute: 127.0.0.1, and at most one more for
    # a connection gone before its address could be read
    local_lines=$(lines_of "ZB-AGG-CONN-REFUSED connection from 127.0.0.1 refused: $kind:")
    all_lines=$(lines_of "ZB-AGG-CONN-REFUSED connection from .* refused: $kind:")
    [ "$local_lines" -le 1 ] && [ "$all_lines" -ge 1 ] && [ "$all_lines" -le 2 ] ||
        fail "$kind: $all_lines log lines ($local_lines from 127.0.0.1): $(grep -- "$kind" "$LOG" || true)"
done
[ "$(lines_of "ZB-AGG-ZAP-DENIED connection from 127.0.0.1 refused")" = 1 ] ||
    fail "unenrolled key: $(grep ZB-AGG-ZAP-DENIED "$LOG" || true)"
pass "each kind logged once per address and minute, not once per attempt"

# --- 2. enrol, then connect at once: never denied
before=$(refusal UNENROLLED_CONNECTION)
for i in $(seq 10 29); do
    c="3100$i"
    key=$("$NODE" init --dir "$WORK/e$i" --county "$c" --aggregator "$EP" --aggregator-key "$AK" 2>/dev/null | tail -n 1)
    gen_reports 1 "E$i" | "$NODE" submit --dir "$WORK/e$i" - >/dev/null 2>&1
    "$AGG" enroll --dir "$WORK/agg" --county "$c" --request "$WORK/e$i/key-request" --key "$key" >/dev/null
    "$NODE" sync --dir "$WORK/e$i" --once --timeout 30 2>"$WORK/e$i.log" ||
        fail "county $c: sync right after enroll failed: $(cat "$WORK/e$i.log")"
    ! grep -q ZB-SYNC-DENIED "$WORK/e$i.log" || fail "county $c: denied right after enroll"
done
after=$(refusal UNENROLLED_CONNECTION)
[ "$after" = "$before" ] || fail "keys enrolled a moment before were refused ($before -> $after)"
pass "20 keys enrolled while serve runs, each admitted on its first connection"

# --- 3. one serve per store
set +e
timeout 20 "$AGG" serve --dir "$WORK/agg" --listen "tcp://127.0.0.1:$(free_port)" 2>"$WORK/second.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a second serve exited $rc, expected 1: $(cat "$WORK/second.err")"
[ "$(wc -l <"$WORK/second.err")" = 1 ] || fail "a second serve said more than one line: $(cat "$WORK/second.err")"
grep -qx "error: serve: another zhibao-agg serve holds $WORK/agg (pid $SERVE_PID)" "$WORK/second.err" ||
    fail "unexpected message: $(cat "$WORK/second.err")"
pass "a second serve on the same store exits 1: $(cat "$WORK/second.err")"

kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null || true
LOG="$WORK/serve2.log"
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level info 2>"$LOG"
SERVE_PID=$LAST_PID
wait_for 30 serving || fail "serve did not start after kill -9 of the first: $(cat "$LOG")"
gen_reports 1 F | "$NODE" submit --dir "$WORK/e10" - >/dev/null 2>&1
"$NODE" sync --dir "$WORK/e10" --once --timeout 30 2>/dev/null || fail "the new serve does not serve"
[ "$(agg_reports "$WORK/agg" 310010)" = 2 ] || fail "county 310010: $(agg_reports "$WORK/agg" 310010) of 2"
set +e
timeout 20 "$AGG" serve --dir "$WORK/agg" --listen "tcp://127.0.0.1:$(free_port)" 2>"$WORK/third.err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "(pid $SERVE_PID)" "$WORK/third.err" || fail "the new serve does not hold the lock: $rc $(cat "$WORK/third.err")"
pass "the lock died with the killed serve; the new one holds it"
