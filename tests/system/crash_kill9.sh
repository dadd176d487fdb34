#!/usr/bin/env bash
# Issue 3: kill -9 the node's sync daemon, the aggregator, or a bulk submit
# at many different moments (24 rounds, random delays) while thousands of
# reports sync. At the end the aggregator must hold exactly the submitted
# set, each chain intact, every report acknowledged and receipted, and every
# killed submit must have stored all of its reports or none.
source "$(dirname "$0")/../lib.sh"

# Kill until at least MIN_BUSY kills landed while reports were in flight
# (rounds that find nothing pending do not count), at most MAX_ROUNDS.
MIN_BUSY=${ZB_CRASH_KILLS:-24}
MAX_ROUNDS=80
PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
N1="$WORK/n222401" N2="$WORK/n222402"
node_init "$N1" 222401 "$EP" "$AK" "$WORK/agg"
node_init "$N2" 222402 "$EP" "$AK" "$WORK/agg"
gen_reports 2000 A1 | "$NODE" submit --dir "$N1" - >/dev/null 2>&1
for k in 1 2 3 4; do gen_reports 250 "A2-$k" | "$NODE" submit --dir "$N2" - >/dev/null 2>&1; done
gen_reports 300 B > "$WORK/bulk.jsonl"
gen_reports 2000 C > "$WORK/more.jsonl"
pending() { json_get "$("$NODE" status --dir "$1" --json)" "j['pending']"; }

stored() { json_get "$("$NODE" status --dir "$1" --json)" "j['stored']"; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
rand_ms() { echo "0.$(printf '%03d' $((RANDOM % ($2 - $1) + $1)))"; }

agg_pid="" s1="" s2=""
kills=0 submit_kills=0 busy=0
for ((i = 1; i <= MAX_ROUNDS && busy < MIN_BUSY; i++)); do
    alive "$agg_pid" || { start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error; agg_pid=$LAST_PID; }
    alive "$s1" || { start_bg "$NODE" sync --dir "$N1" --log-level error; s1=$LAST_PID; }
    alive "$s2" || { start_bg "$NODE" sync --dir "$N2" --log-level error; s2=$LAST_PID; }
    if (( i % 4 == 0 )); then
        # a bulk submit killed part way: all 300 or none
        before=$(stored "$N1")
        "$NODE" submit --dir "$N1" "$WORK/bulk.jsonl" >/dev/null 2>&1 & sp=$!
        sleep "$(rand_ms 5 120)"
        kill -9 "$sp" 2>/dev/null && submit_kills=$((submit_kills + 1)) || true
        wait "$sp" 2>/dev/null || true
        after=$(stored "$N1")
        [ $((after - before)) -eq 0 ] || [ $((after - before)) -eq 300 ] ||
            fail "round $i: killed bulk submit stored $((after - before)) of 300 reports"
    fi
    # fresh work for both nodes so every kill lands while reports are moving
    # (a node syncs thousands of reports a second: the kill follows within 100 ms)
    sed "s/\"C-/\"C$i-/" "$WORK/more.jsonl" | "$NODE" submit --dir "$N2" - >/dev/null 2>&1 || fail "submit"
    head -n 1000 "$WORK/more.jsonl" | sed "s/\"C-/\"D$i-/" | "$NODE" submit --dir "$N1" - >/dev/null 2>&1 ||
        fail "submit"
    sleep "$(rand_ms 1 100)"
    case $((i % 3)) in
        0) kill -9 "$agg_pid"; victims="$N1 $N2" ;;
        1) kill -9 "$s1"; victims="$N1" ;;
        2) kill -9 "$s2" "$agg_pid"; victims="$N1 $N2" ;;
    esac
    # what the killed process had not acknowledged stays pending: count the
    # kill as landing in flight when some is
    p=0
    for d in $victims; do p=$((p + $(pending "$d"))); done
    (( p > 0 )) && busy=$((busy + 1))
    kills=$((kills + 1))
    sleep 0.05
done
# wait until they are gone: a killed serve holds A/serve.lock until it has
# exited (slow under ASan on a loaded machine), and the next serve refuses
for p in "$agg_pid" "$s1" "$s2"; do
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
done
echo "kills with reports still pending: $busy of $kills"
(( busy >= MIN_BUSY )) || fail "only $busy kills landed while reports were pending (need $MIN_BUSY)"
pass "$kills kill -9 rounds, $submit_kills bulk submits killed mid-way, all-or-nothing held"

start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
"$NODE" sync --dir "$N1" --once --timeout 180 || fail "final sync of 222401"
"$NODE" sync --dir "$N2" --once --timeout 180 || fail "final sync of 222402"

for d in "$N1" "$N2"; do
    c=$(basename "$d" | tr -d n)
    st=$("$NODE" status --dir "$d" --json)
    want=$(json_get "$st" "j['stored']")
    got=$(agg_reports "$WORK/agg" "$c")
    [ "$got" = "$want" ] || fail "county $c: aggregator holds $got reports, node stored $want"
    [ "$(json_get "$st" "(j['acked'], j['receipts'])")" = "($want, $want)" ] ||
        fail "county $c: not all acknowledged and receipted: $st"
    "$NODE" verify-receipts --dir "$d" || fail "county $c: receipts or their log proofs do not verify"
done
"$AGG" check --dir "$WORK/agg" || fail "aggregator store check"
pass "aggregator holds exactly the submitted set, chains intact, every report receipted"
