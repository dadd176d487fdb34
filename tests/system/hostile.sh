#!/usr/bin/env bash
# Issue 5: while three honest counties sync 1,500 reports each, a
# compromised county's key and two strangers feed the aggregator every
# hostile input (tests/tools/hostile.c). Every honest report arrives exactly
# once, nothing already stored is harmed, every refusal is counted by
# reason, the equivocation is kept as evidence, and no unauthenticated
# client ever gets an answer.
source "$(dirname "$0")/../lib.sh"
HOSTILE="$ZB_BUILD/tests/zb-hostile"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
HONEST=(222401 222402 222403)
for c in "${HONEST[@]}" 222404; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done
for c in "${HONEST[@]}"; do gen_reports 1500 "H$c" | "$NODE" submit --dir "$WORK/n$c" - >/dev/null 2>&1; done
gen_reports 5 EVIL | "$NODE" submit --dir "$WORK/n222404" - >/dev/null 2>&1

start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
"$NODE" sync --dir "$WORK/n222404" --once --timeout 30 2>/dev/null || fail "attacker's first sync"

pids=()
for c in "${HONEST[@]}"; do "$NODE" sync --dir "$WORK/n$c" --once --timeout 300 2>/dev/null & pids+=($!); done
"$HOSTILE" "$EP" "$WORK/n222404" "$WORK/n222401" 5 || fail "hostile tool"
for p in "${pids[@]}"; do wait "$p" || fail "an honest sync failed under attack"; done

for c in "${HONEST[@]}"; do
    [ "$(agg_reports "$WORK/agg" "$c")" = 1500 ] || fail "county $c: $(agg_reports "$WORK/agg" "$c") of 1500"
    "$NODE" verify-receipts --dir "$WORK/n$c" >/dev/null || fail "county $c: receipts"
done
[ "$(agg_reports "$WORK/agg" 222404)" = 5 ] || fail "the attacker got a report stored"
"$AGG" check --dir "$WORK/agg" >/dev/null || fail "store damaged"
pass "every honest report arrived exactly once; nothing stored was harmed"

st=$("$AGG" status --dir "$WORK/agg" --json)
for reason in BAD_MESSAGE BAD_SIGNATURE NOT_ENROLLED SEQ_GAP EQUIVOCATION UNENROLLED_CONNECTION; do
    n=$(json_get "$st" "j['refusals'].get('$reason', 0)")
    [ "$n" -ge 1 ] || fail "refusal $reason not counted: $st"
    echo "  refused $reason: $n"
done
[ "$(json_get "$st" "j['equivocation_evidence']")" -ge 1 ] || fail "equivocation not kept as evidence"
pass "every refusal counted by reason; equivocation kept as signed evidence"
