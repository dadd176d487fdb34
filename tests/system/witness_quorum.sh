#!/usr/bin/env bash
# Two witnesses and a county that needs both (--witness-quorum 2), while
# another county keeps the log growing (a head every few tens of ms): the
# aggregator leads the witnesses to cosign common heads, so one sync --once
# ends with the county's receipt final. With one witness stopped, a new
# receipt cannot reach the quorum: the node says so and verify-receipts
# fails; back up, the next sync makes it final.
. "$(dirname "$0")/../lib.sh"
WIT="$ZB_BIN/zhibao-witness"

monthly() { printf '{"type":"monthly","period":"%s","tasks":[]}\n' "$1"; }
status_of() { "$NODE" status --dir "$WORK/n1" --json; }

A="$WORK/agg" PORT=$(free_port) P1=$(free_port) P2=$(free_port)
AGGKEY=$(agg_init "$A")
W1=$("$WIT" init --dir "$WORK/w1" | tail -n 1)
W2=$("$WIT" init --dir "$WORK/w2" | tail -n 1)
for w in w1 w2; do "$WIT" add-log --dir "$WORK/$w" --key "$AGGKEY" >/dev/null; done
start_bg "$WIT" serve --dir "$WORK/w1" --listen "tcp://127.0.0.1:$P1"
start_bg "$WIT" serve --dir "$WORK/w2" --listen "tcp://127.0.0.1:$P2"
W2_PID=$LAST_PID
"$AGG" witness --dir "$A" --add "$W1" --endpoint "tcp://127.0.0.1:$P1" >/dev/null
"$NODE" init --dir "$WORK/n1" --county 222401 --aggregator "tcp://127.0.0.1:$PORT" \
    --aggregator-key "$AGGKEY" --witness-key "$W1" --witness-key "$W2" --witness-quorum 2 >/dev/null
"$AGG" enroll --dir "$A" --county 222401 --request "$WORK/n1/key-request" >/dev/null
node_init "$WORK/n2" 222402 "tcp://127.0.0.1:$PORT" "$AGGKEY" "$A"
start_bg "$AGG" serve --dir "$A" --listen "tcp://127.0.0.1:$PORT"
# the second witness is added while serve runs: picked up, the first kept as it was
sleep 0.5
"$AGG" witness --dir "$A" --add "$W2" --endpoint "tcp://127.0.0.1:$P2" >/dev/null

# the load: 222402 syncs as a daemon and files a report every 20 ms
start_bg "$NODE" sync --dir "$WORK/n2"
start_bg bash -c "while :; do printf '{\"type\":\"monthly\",\"period\":\"2026-10\",\"tasks\":[]}\n' |
    '$NODE' submit --dir '$WORK/n2' - >/dev/null 2>&1; sleep 0.02; done"
sleep 1

monthly 2026-10 | "$NODE" submit --dir "$WORK/n1" - >/dev/null
"$NODE" sync --dir "$WORK/n1" --once >/dev/null 2>&1 || fail "sync 222401"
st=$(status_of)
[ "$(json_get "$st" "j['unwitnessed_receipts']")" = 0 ] ||
    fail "under load, the quorum of 2 was not reached in one sync: $st"
"$NODE" verify-receipts --dir "$WORK/n1" >/dev/null || fail "verify-receipts with both witnesses"
size1=$(json_get "$st" "j['witnessed_size']")
pass "two witnesses cosign common heads under load: the quorum of 2 is reached in one sync (witnessed size $size1)"

# one witness down: a new receipt cannot be final
kill -9 "$W2_PID"
monthly 2026-10 | "$NODE" submit --dir "$WORK/n1" - >/dev/null
"$NODE" sync --dir "$WORK/n1" --once >/dev/null 2>&1 || fail "sync 222401 with a witness down"
st=$(status_of)
[ "$(json_get "$st" "j['unwitnessed_receipts']")" = 1 ] ||
    fail "a receipt counted final with one of two witnesses: $st"
if "$NODE" verify-receipts --dir "$WORK/n1" >"$WORK/vr" 2>&1; then fail "verify-receipts passed"; fi
grep -q "has no witness quorum yet" "$WORK/vr" || fail "verify-receipts: $(cat "$WORK/vr")"
pass "with one witness down the new receipt is not final (verify-receipts says so)"

# back up: the next sync makes it final
start_bg "$WIT" serve --dir "$WORK/w2" --listen "tcp://127.0.0.1:$P2"
caught_up() { # the returned witness has cosigned a head past 222401's receipt
    [ "$(json_get "$("$AGG" witness --dir "$A" --json)" \
        "[w['cosigned_size'] or 0 for w in j['witnesses'] if w['key'] == '$W2'][0] >= $(json_get "$(status_of)" "j['tree_size']")")" = True ]
}
deadline=$((SECONDS + 30))
until caught_up; do
    [ "$SECONDS" -lt "$deadline" ] || fail "the returned witness did not catch up"
    sleep 0.2
done
"$NODE" sync --dir "$WORK/n1" --once >/dev/null 2>&1 || fail "sync 222401 after the witness returned"
st=$(status_of)
[ "$(json_get "$st" "j['unwitnessed_receipts']")" = 0 ] || fail "not final after the witness returned: $st"
"$NODE" verify-receipts --dir "$WORK/n1" >/dev/null || fail "verify-receipts after the witness returned"
"$AGG" check --dir "$A" >/dev/null || fail "check"
pass "the witness back, the receipt is final at the next sync"

# an aggregator the witness does not follow is told why, not left waiting
S="$WORK/stranger" SPORT=$(free_port)
agg_init "$S" >/dev/null
"$AGG" witness --dir "$S" --add "$W1" --endpoint "tcp://127.0.0.1:$P1" >/dev/null
start_bg bash -c "exec '$AGG' serve --dir '$S' --listen 'tcp://127.0.0.1:$SPORT' 2>'$WORK/stranger.log'"
deadline=$((SECONDS + 20))
until grep -q "ZB-AGG-WITNESS-DENIED.*does not follow this log.*zhibao-witness add-log --key" \
    "$WORK/stranger.log" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "no ZB-AGG-WITNESS-DENIED: $(cat "$WORK/stranger.log")"
    sleep 0.2
done
pass "an aggregator the witness does not follow logs why (ZB-AGG-WITNESS-DENIED, with the fix)"
