#!/usr/bin/env bash
# Witnesses (issue 14), end to end with real processes: a witness cosigns
# the prefecture's heads; nodes with --witness-quorum 1 count their
# receipts final only under a witnessed head; a COPY of the prefecture's
# store (same key) serving a diverging history to one county -- a split
# view -- has its head refused by the witness (refused 1, evidence kept)
# and that county's node never sees its receipts witnessed; the auditor
# checks cosignatures in the bundle and proves timeliness with the
# witness's clock: an on-time report proven, a report the county signed
# before the deadline but the prefecture logged after it not proven.
. "$(dirname "$0")/../lib.sh"
WIT="$ZB_BIN/zhibao-witness"
AUDIT="$ZB_BIN/zhibao-audit"

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}
# witnessed_up_to AGGDIR: the newest witnessed head covers the whole log
witnessed_up_to() {
    local j
    j=$("$AGG" witness --dir "$1" --json)
    [ "$(json_get "$j" "j['witnessed_size'] == j['log_size'] and j['log_size'] > 0")" = True ]
}
monthly() { # monthly PERIOD -> a valid monthly report
    printf '{"type":"monthly","period":"%s","tasks":[{"task":3,"status":"in_progress","progress":"p"}]}\n' "$1"
}

W="$WORK/witness" A="$WORK/agg" A2="$WORK/agg-copy"
WPORT=$(free_port) PORT=$(free_port) PORT2=$(free_port)
WKEY=$("$WIT" init --dir "$W" | tail -n 1)
AGGKEY=$(agg_init "$A")
"$WIT" add-log --dir "$W" --key "$AGGKEY" --name "Yanbian 222400" >/dev/null
start_bg "$WIT" serve --dir "$W" --listen "tcp://127.0.0.1:$WPORT"
WIT_PID=$LAST_PID
"$AGG" witness --dir "$A" --add "$WKEY" --endpoint "tcp://127.0.0.1:$WPORT" >/dev/null

# usage errors name the option
if "$AGG" witness --dir "$A" --add nothex --endpoint tcp://x:1 2>"$WORK/err"; then fail "bad key accepted"; fi
grep -q -- "--add: must be the witness's public key" "$WORK/err" || fail "bad --add message: $(cat "$WORK/err")"
if "$NODE" init --dir "$WORK/bad" --county 222401 --aggregator tcp://127.0.0.1:1 \
    --aggregator-key "$AGGKEY" --witness-quorum 2 --witness-key "$WKEY" 2>"$WORK/err"; then
    fail "quorum above the number of witnesses accepted"
fi
grep -q -- "--witness-quorum: must be a whole number from 0 to the number of --witness-key given (1)" \
    "$WORK/err" || fail "bad --witness-quorum message: $(cat "$WORK/err")"

# three counties, each requiring one cosignature; 222402's node talks to
# the copy later (its endpoint is the copy's port)
for c in 222401 222403; do
    key=$("$NODE" init --dir "$WORK/n$c" --county $c --aggregator "tcp://127.0.0.1:$PORT" \
        --aggregator-key "$AGGKEY" --witness-key "$WKEY" --witness-quorum 1 | tail -n 1)
    "$AGG" enroll --dir "$A" --county $c --request "$WORK/n$c/key-request" >/dev/null
done
"$NODE" init --dir "$WORK/n222402" --county 222402 --aggregator "tcp://127.0.0.1:$PORT2" \
    --aggregator-key "$AGGKEY" --witness-key "$WKEY" --witness-quorum 1 >/dev/null
"$AGG" enroll --dir "$A" --county 222402 --request "$WORK/n222402/key-request" >/dev/null

# --- the honest path: receipts become final once the witness cosigned
NOW_PERIOD=$(TZ=Asia/Shanghai date +%Y-%m)
OLD_PERIOD=$(TZ=Asia/Shanghai date -d "$(TZ=Asia/Shanghai date +%Y-%m-15) -2 months" +%Y-%m)
start_bg "$AGG" serve --dir "$A" --listen "tcp://127.0.0.1:$PORT"
AGG_PID=$LAST_PID
monthly "$NOW_PERIOD" | "$NODE" submit --dir "$WORK/n222401" - >/dev/null
# one sync: the node asks again until the witness's cosignature comes back
"$NODE" sync --dir "$WORK/n222401" --once >/dev/null
wait_for 20 witnessed_up_to "$A" || fail "the witness did not cosign the prefecture's head"
st=$("$NODE" status --dir "$WORK/n222401" --json)
[ "$(json_get "$st" "j['unwitnessed_receipts']")" = 0 ] || fail "receipts not witnessed: $st"
[ "$(json_get "$st" "j['witnessed_size'] == j['tree_size'] > 0")" = True ] || fail "witnessed_size: $st"
"$NODE" verify-receipts --dir "$WORK/n222401" >/dev/null || fail "verify-receipts with a witnessed head"
pass "a witnessed head makes the county's receipts final"

# --- a late report the county signed before the (moved) deadline: the
# prefecture logged it after, and the witness's clock says so
DEADLINE_UNIX=$(($(date +%s) + 8))
"$AGG" deadline --dir "$A" --period "$OLD_PERIOD" \
    --at "$(TZ=Asia/Shanghai date -d "@$DEADLINE_UNIX" +%Y-%m-%dT%H:%M:%S+08:00)" >/dev/null
monthly "$OLD_PERIOD" | "$NODE" submit --dir "$WORK/n222403" - >/dev/null   # signed now: on time
sleep $((DEADLINE_UNIX - $(date +%s) + 2))
"$NODE" sync --dir "$WORK/n222403" --once >/dev/null                         # logged after it
wait_for 20 witnessed_up_to "$A" || fail "the witness did not cosign the late report's head"

# --- the split view: a copy of the store, same key, shows 222402 another history
kill -9 "$AGG_PID"
cp -a "$A" "$A2"
rm -f "$A2/serve.lock"
start_bg "$AGG" serve --dir "$A" --listen "tcp://127.0.0.1:$PORT"
AGG_PID=$LAST_PID
monthly "$NOW_PERIOD" | "$NODE" submit --dir "$WORK/n222401" - >/dev/null   # a second version
"$NODE" sync --dir "$WORK/n222401" --once >/dev/null
wait_for 20 witnessed_up_to "$A" || fail "the witness did not cosign the grown log"
start_bg "$AGG" serve --dir "$A2" --listen "tcp://127.0.0.1:$PORT2"
COPY_PID=$LAST_PID
for i in 1 2 3; do monthly "$NOW_PERIOD" | "$NODE" submit --dir "$WORK/n222402" - >/dev/null; done
"$NODE" sync --dir "$WORK/n222402" --once >/dev/null
wait_for 20 bash -c "[ \"\$('$WIT' status --dir '$W' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"refused\"])')\" = 1 ]" ||
    fail "the witness did not refuse the copy's head: $("$WIT" status --dir "$W" --json)"
ws=$("$WIT" status --dir "$W" --json)
[ "$(json_get "$ws" "j['evidence']")" = 1 ] || fail "evidence not kept: $ws"
sleep 1
"$NODE" sync --dir "$WORK/n222402" --once >/dev/null
st=$("$NODE" status --dir "$WORK/n222402" --json)
[ "$(json_get "$st" "j['acked']")" = 3 ] || fail "the copy did not acknowledge: $st"
[ "$(json_get "$st" "j['unwitnessed_receipts'] > 0 and j['witnessed_size'] < j['tree_size']")" = True ] ||
    fail "a node with --witness-quorum 1 took the split view's head as final: $st"
if "$NODE" verify-receipts --dir "$WORK/n222402" >"$WORK/vr" 2>&1; then
    fail "verify-receipts passed on unwitnessed receipts"
fi
grep -q "has no witness quorum yet" "$WORK/vr" || fail "verify-receipts did not say why: $(cat "$WORK/vr")"
"$WIT" evidence --dir "$W" --json >"$WORK/evidence.json"
[ "$(json_get "$(cat "$WORK/evidence.json")" "len(j['evidence'] if isinstance(j, dict) else j)")" = 1 ] ||
    fail "evidence listing: $(cat "$WORK/evidence.json")"
pass "split view: the witness refused the copy's head (refused 1, evidence kept), the county's node holds its receipts unwitnessed"

# the honest aggregator's own witness state stays untouched; its store checks clean
kill -9 "$COPY_PID"
"$AGG" check --dir "$A" >/dev/null || fail "check of the honest store"
"$WIT" status --dir "$W" --json >"$WORK/ws.json"
[ "$(json_get "$(cat "$WORK/ws.json")" "j['logs'][0]['size'] == $(json_get "$("$AGG" witness --dir "$A" --json)" "j['witnessed_size']")")" = True ] ||
    fail "the witness's size is not the honest log's"
pass "the honest log goes on being cosigned"

# --- the auditor: cosignatures checked, timeliness proven by the witness's clock
"$AGG" export --dir "$A" --out "$WORK/a.bundle" >/dev/null
"$AUDIT" verify "$WORK/a.bundle" --key "$AGGKEY" --witness-key "$WKEY" --json >"$WORK/verify.json" ||
    fail "verify with the witness key: $(cat "$WORK/verify.json")"
[ "$(json_get "$(cat "$WORK/verify.json")" "j['witnessed_size'] > 0 and j['witness_quorum'] == 1")" = True ] ||
    fail "verify did not report the witnessed size: $(cat "$WORK/verify.json")"
"$AUDIT" timeliness "$WORK/a.bundle" --key "$AGGKEY" --witness-key "$WKEY" --period "$NOW_PERIOD" \
    --json >"$WORK/t-now.json" || fail "timeliness $NOW_PERIOD: $(cat "$WORK/t-now.json")"
row() { json_get "$(cat "$1")" "[c for c in j['counties'] if c['county'] == '$2'][0]$3"; }
[ "$(row "$WORK/t-now.json" 222401 "['on_time_proven']")" = True ] ||
    fail "an on-time report, witnessed at once, not proven: $(cat "$WORK/t-now.json")"
[ "$(row "$WORK/t-now.json" 222401 "['logged_by']['witnesses'] == ['$WKEY']")" = True ] ||
    fail "logged_by does not name the witness: $(cat "$WORK/t-now.json")"
[ "$(row "$WORK/t-now.json" 222402 "['status']")" = missing ] ||
    fail "222402 filed only with the copy: missing here: $(cat "$WORK/t-now.json")"
"$AUDIT" timeliness "$WORK/a.bundle" --key "$AGGKEY" --witness-key "$WKEY" --period "$OLD_PERIOD" \
    --json >"$WORK/t-old.json" || fail "timeliness $OLD_PERIOD"
[ "$(row "$WORK/t-old.json" 222403 "['status']")" = on_time ] ||
    fail "222403 signed before the moved deadline: $(cat "$WORK/t-old.json")"
[ "$(row "$WORK/t-old.json" 222403 "['on_time_proven']")" = False ] ||
    fail "a report logged after the deadline was proven on time: $(cat "$WORK/t-old.json")"
# both at +08:00: the witness saw it after the deadline
[ "$(json_get "$(cat "$WORK/t-old.json")" "[c['logged_by']['witnessed_at'] > c['deadline'] for c in j['counties'] if c['county'] == '222403'][0]")" = True ] ||
    fail "the witness's time is not after the deadline: $(cat "$WORK/t-old.json")"
"$AUDIT" timeliness "$WORK/a.bundle" --key "$AGGKEY" --witness-key "$WKEY" --period "$OLD_PERIOD" \
    >"$WORK/t-old.txt" || fail "timeliness table"
grep -q "proven on time: 0 of 3 counties" "$WORK/t-old.txt" || fail "table summary: $(cat "$WORK/t-old.txt")"
pass "timeliness: the on-time report proven by the witness's clock; the one the county signed in time but the prefecture logged late is not"
