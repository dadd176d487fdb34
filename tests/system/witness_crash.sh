#!/usr/bin/env bash
# Issue 14 (witness): kill -9 zhibao-witness at random moments while an
# aggregator-like client (zb-witness-client) streams signed heads of its own
# growing Merkle tree at it over CurveZMQ, and forked heads now and then.
# The client resends what a killed witness left unanswered. At the end:
# every cosignature the client received verifies and never goes back in
# time, every cosigned head is a head of the client's tree (so all are
# mutually consistent), no forked head was ever cosigned, the witness's
# status holds the last (largest) head cosigned, and it kept evidence of
# the forks and of nothing else, each of its kind (same size: fork; larger
# with a proof that fails: unproven_extension). Before: a client whose
# CURVE key is no log's is refused by ZAP (its genuine head never reaches
# the handler); a log added while serving is admitted at once, for its own
# log only. After: an old (smaller) head is answered CONFLICT, not refused.
source "$(dirname "$0")/../lib.sh"

WIT="$ZB_BIN/zhibao-witness"
CLIENT="$ZB_BUILD/tests/zb-witness-client"
MIN_KILLS=${ZB_WITNESS_KILLS:-24}
PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
W="$WORK/w"

WK=$("$WIT" init --dir "$W" | tail -n 1)
[ "$(stat -c %a "$W/identity.key")" = 600 ] || fail "identity.key is not 0600"
"$WIT" init --dir "$W" >/dev/null 2>&1 && fail "init over an existing witness succeeded"
rc=0; "$WIT" init --dir "$W" >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$WORK/err")" = 1 ] || fail "init again: exit $rc, want 2 and one line"
AK=$("$CLIENT" keygen "$WORK/agg.key")
"$WIT" add-log --dir "$W" --key "$AK" --name "测试州" >/dev/null || fail "add-log"
"$WIT" add-log --dir "$W" --key "$AK" --name "test prefecture" >/dev/null || fail "add-log again"
rc=0; "$WIT" add-log --dir "$W" --key nothex >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "add-log with a bad key: exit $rc, want 2"
pass "init, add-log"

# --- ZAP: only the followed logs' aggregator keys get through
start_bg "$WIT" serve --dir "$W" --listen "$EP" --log-level info 2>"$WORK/zap.log"
wpid=$LAST_PID
"$CLIENT" keygen "$WORK/stranger.key" >/dev/null
rc=0; out=$("$CLIENT" probe "$EP" "$WK" "$WORK/agg.key" "$WORK/stranger.key" 1) || rc=$?
[ "$rc" = 3 ] && [ "$out" = no_answer ] || fail "a client with an unknown CURVE key was answered: $out (exit $rc)"
for ((t = 0; t < 50; t++)); do grep -q ZB-WIT-ZAP-DENIED "$WORK/zap.log" && break; sleep 0.1; done
grep -q "ZB-WIT-ZAP-DENIED connection from 127.0.0.1 refused" "$WORK/zap.log" ||
    fail "no ZB-WIT-ZAP-DENIED line: $(cat "$WORK/zap.log")"
grep -q "ZB-WIT-BADREQ\|ZB-WIT-REFUSED\|ZB-WIT-COSIGN" "$WORK/zap.log" && fail "the refused client reached the handler"
st=$("$WIT" status --dir "$W" --json)
[ "$(json_get "$st" "(j['refused'], j['evidence'], j['forks'], j['logs'][0]['size'])")" = "(0, 0, 0, 0)" ] ||
    fail "the refused client changed the witness: $st"
# a log followed while serving: admitted at once, and only for its own log
BK=$("$CLIENT" keygen "$WORK/other.key")
"$WIT" add-log --dir "$W" --key "$BK" --name "another prefecture" >/dev/null || fail "add-log while serving"
out=$("$CLIENT" probe "$EP" "$WK" "$WORK/agg.key" "$WORK/other.key" 3) || fail "the new log's key was not admitted"
[ "${out%% *}" = BAD_REQUEST ] || fail "a head of another log than the connection's was answered $out"
out=$("$CLIENT" probe "$EP" "$WK" "$WORK/other.key" "$WORK/other.key" 2) || fail "the new log's own head: no answer"
[ "$out" = "COSIGNED -" ] || fail "the new log's first head: $out"
kill -TERM "$wpid"
wait "$wpid" || fail "serve did not stop cleanly"
pass "ZAP: an unknown CURVE key is refused (ZB-WIT-ZAP-DENIED), a log added while serving is admitted for its own log only"

lines() { wc -l <"$WORK/cosigned" 2>/dev/null || echo 0; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

start_bg "$CLIENT" run "$EP" "$WK" "$WORK/agg.key" "$WORK/stop" "$WORK" >"$WORK/summary" 2>"$WORK/client.err"
client=$LAST_PID
kills=0
for ((i = 1; kills < MIN_KILLS && i <= 3 * MIN_KILLS; i++)); do
    start_bg "$WIT" serve --dir "$W" --listen "$EP" --log-level error
    wpid=$LAST_PID
    # wait until this witness has cosigned something, then kill it at a
    # random moment while heads keep coming
    before=$(lines)
    for ((t = 0; t < 500 && $(lines) == before; t++)); do
        alive "$client" || fail "the client stopped: $(cat "$WORK/client.err")"
        sleep 0.02
    done
    (( $(lines) > before )) || fail "round $i: the witness cosigned nothing in 10 s"
    sleep "0.$(printf '%03d' $((RANDOM % 150)))"
    kill -9 "$wpid"
    wait "$wpid" 2>/dev/null || true
    kills=$((kills + 1))
done
(( kills >= MIN_KILLS )) || fail "only $kills kills"
pass "$kills kill -9 of the witness while heads streamed in ($(lines) cosignatures so far)"

start_bg "$WIT" serve --dir "$W" --listen "$EP" --log-level error
wpid=$LAST_PID
touch "$WORK/stop"
for ((t = 0; t < 600 && $(alive "$client" && echo 1 || echo 0) == 1; t++)); do sleep 0.1; done
alive "$client" && fail "the client did not finish"
crc=0; wait "$client" || crc=$?
cat "$WORK/client.err" >&2
summary=$(cat "$WORK/summary")
echo "client: $summary"
[ "$crc" = 0 ] || fail "the client found failures (exit $crc)"
[ "$(json_get "$summary" "j['failures']")" = 0 ] || fail "client failures: $summary"
forks=$(json_get "$summary" "j['forks']")
(( forks >= 1 )) || fail "no fork was sent"
[ "$(json_get "$summary" "j['forks_refused']")" = "$forks" ] || fail "not every fork was refused"
pass "every cosignature verified, all cosigned heads are heads of one tree, $forks forks refused"

# an old, smaller head of the same log (a replay, or a store restored from
# a backup): CONFLICT with the size held, neither refused nor kept
before=$("$WIT" status --dir "$W" --json)
out=$("$CLIENT" probe "$EP" "$WK" "$WORK/agg.key" "$WORK/agg.key" 1) || fail "smaller head: no answer"
[ "$out" = "CONFLICT $(json_get "$summary" "j['max_size']")" ] || fail "a smaller head was answered $out"
after=$("$WIT" status --dir "$W" --json)
[ "$(json_get "$before" "(j['refused'], j['evidence'])")" = "$(json_get "$after" "(j['refused'], j['evidence'])")" ] ||
    fail "a smaller head was counted: $before -> $after"
pass "a smaller head is CONFLICT, not a refusal"

kill -TERM "$wpid"
wrc=0; wait "$wpid" || wrc=$?
[ "$wrc" = 0 ] || fail "serve did not stop cleanly on SIGTERM (exit $wrc)"

st=$("$WIT" status --dir "$W" --json)
mine="[l for l in j['logs'] if l['key'] == '$AK'][0]"
[ "$(json_get "$st" "$mine['size']")" = "$(json_get "$summary" "j['max_size']")" ] ||
    fail "status size is not the largest cosigned: $st"
[ "$(json_get "$st" "$mine['root']")" = "$(json_get "$summary" "j['root']")" ] ||
    fail "status root is not the last cosigned"
[ "$(json_get "$st" "$mine['name']")" = "test prefecture" ] || fail "name not updated"
ev=$(json_get "$st" "j['evidence']")
(( ev >= 1 )) || fail "no evidence kept"
# each fork was answered REFUSED, so each was committed: one record per fork
[ "$ev" = "$forks" ] || fail "$ev evidence records for $forks forks"
(( $(json_get "$st" "j['refused']") >= ev )) || fail "fewer refusals than evidence"
same=$(json_get "$summary" "j['same_size_forks']")
(( same >= 1 )) || fail "no same-size fork was sent"
[ "$(json_get "$st" "j['forks']")" = "$same" ] || fail "forks $(json_get "$st" "j['forks']"), $same same-size forks sent"
# every cosigned (size, root) the client received came from the one tree;
# every evidence record is one of the forked heads the client sent, never
# a head it had cosigned
"$WIT" evidence --dir "$W" --json >"$WORK/evidence.json"
python3 - "$WORK/evidence.json" "$WORK/cosigned" "$WORK/forks" <<'PY' || fail "evidence check"
import json, sys
ev = json.load(open(sys.argv[1]))["evidence"]
cosigned = {tuple(l.split()[:2]) for l in open(sys.argv[2])}
forks = {tuple(l.split()[:2]): l.split()[2] for l in open(sys.argv[3])}
for e in ev:
    k = (str(e["size"]), e["root"])
    assert k in forks, f"evidence for a head that is not a fork: {k}"
    assert k not in cosigned, f"a head both cosigned and refused: {k}"
    assert e["held_size"] >= 1 and e["request"] and e["held_head"], e
    assert e["kind"] == forks[k], f"evidence of kind {e['kind']} for a {forks[k]}: {k}"
    assert (e["kind"] == "fork") == (e["size"] == e["held_size"]), e
sizes = [int(l.split()[0]) for l in open(sys.argv[2])]
assert sizes == sorted(sizes), "cosigned sizes went back"
kinds = sorted({e["kind"] for e in ev})
print(f"{len(ev)} evidence records, all forks (kinds {kinds}); {len(sizes)} cosignatures in size order")
PY
pass "status holds the largest cosigned head; $ev evidence records, all of forked heads ($same of kind fork)"
