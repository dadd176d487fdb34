#!/usr/bin/env bash
# Issue 2: an aggregator and three nodes on loopback. 300 reports are
# submitted while the aggregator is down (so sync times out with exit 3),
# then the aggregator starts; every report arrives exactly once, receipts
# verify, and a second sync sends nothing new.
source "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
COUNTIES=(222401 222402 222403)
for c in "${COUNTIES[@]}"; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done

# 100 per county: 40 one by one, 60 as one JSON Lines bulk submit
for c in "${COUNTIES[@]}"; do
    gen_reports 100 "A$c" > "$WORK/r$c.jsonl"
    head -n 40 "$WORK/r$c.jsonl" | while IFS= read -r line; do
        printf '%s\n' "$line" | "$NODE" submit --dir "$WORK/n$c" - >/dev/null 2>&1 || fail "submit"
    done
    out=$(tail -n 60 "$WORK/r$c.jsonl" | "$NODE" submit --dir "$WORK/n$c" - 2>/dev/null)
    [ "$out" = "41 100" ] || fail "bulk submit printed '$out', expected '41 100'"
done
pass "300 reports stored offline"

set +e
"$NODE" sync --dir "$WORK/n222401" --once --timeout 1 2>/dev/null
rc=$?
set -e
[ $rc -eq 3 ] || fail "sync with no aggregator exited $rc, expected 3"
pending=$(json_get "$("$NODE" status --dir "$WORK/n222401" --json)" "j['pending']")
[ "$pending" = 100 ] || fail "pending $pending, expected 100"
pass "sync without aggregator: exit 3, 100 pending"

start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level warn
AGG_PID=$LAST_PID
pids=()
for c in "${COUNTIES[@]}"; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "sync exited non-zero"; done

for c in "${COUNTIES[@]}"; do
    n=$(agg_reports "$WORK/agg" "$c")
    [ "$n" = 100 ] || fail "county $c: aggregator has $n reports, expected 100"
    st=$("$NODE" status --dir "$WORK/n$c" --json)
    [ "$(json_get "$st" "(j['acked'], j['pending'], j['receipts'])")" = "(100, 0, 100)" ] ||
        fail "county $c node status: $st"
    "$NODE" receipts --dir "$WORK/n$c" >/dev/null || fail "county $c: a receipt does not verify"
    "$NODE" verify-receipts --dir "$WORK/n$c" >/dev/null || fail "county $c: verify-receipts"
done
pass "300 reports arrived exactly once, all receipted"

"$AGG" check --dir "$WORK/agg" >/dev/null || fail "aggregator store check failed"
pass "aggregator store check: signatures and chains intact"

before=$("$AGG" status --dir "$WORK/agg" --json)
for c in "${COUNTIES[@]}"; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 10 --log-level info 2>"$WORK/resync.$c.log" ||
        fail "second sync failed"
    grep -q "all 100 report(s) acknowledged and receipted: nothing to send" "$WORK/resync.$c.log" ||
        fail "second sync did not see that nothing is pending"
done
after=$("$AGG" status --dir "$WORK/agg" --json)
[ "$(json_get "$before" "[(c['county'],c['reports'],c['last_received_at']) for c in j['counties']]")" = \
  "$(json_get "$after" "[(c['county'],c['reports'],c['last_received_at']) for c in j['counties']]")" ] ||
    fail "second sync changed the aggregator"
pass "second sync sends nothing new"

# a daemon-style sync talks to the aggregator: it learns the high-water
# mark and still sends nothing
"$NODE" sync --dir "$WORK/n222401" --log-level info 2>"$WORK/daemon.log" & dpid=$!
for _ in $(seq 50); do grep -q "aggregator has up to seq 100, 100 stored here" "$WORK/daemon.log" && break; sleep 0.1; done
kill -TERM "$dpid"; wait "$dpid" || fail "sync daemon did not stop cleanly on SIGTERM"
grep -q "aggregator has up to seq 100, 100 stored here" "$WORK/daemon.log" ||
    fail "sync daemon did not resume from the aggregator's high-water mark"
[ "$(json_get "$("$AGG" status --dir "$WORK/agg" --json)" "j['reports']")" = 300 ] ||
    fail "daemon sync changed the aggregator"
pass "sync daemon resumes from the high-water mark, sends nothing, stops on SIGTERM"

kill -TERM "$AGG_PID"; wait "$AGG_PID" || fail "aggregator did not stop cleanly on SIGTERM"
