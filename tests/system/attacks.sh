#!/usr/bin/env bash
# Issue 13: a dishonest prefecture -- one that holds the aggregator's key and
# can re-sign whatever it likes -- is caught by what it does not control:
# the counties' own nodes, the tree heads they hold, and the keys the county
# offices state themselves.
#  1. a forged revocation + a key of its own + reports signed by it: the
#     county's node raises ZB-SYNC-KEY; zhibao-audit with the county's key
#     pinned finds it;
#  2. a moved receive time, 3. dropped equivocation evidence, 4. a county's
#     newest reports trimmed: each re-signed bundle verifies by its
#     signature alone, and each is caught with the heads the counties hold;
#  5. a voluntary rotation (consented) and a lost-machine revocation (not
#     consented) both work end to end and are told apart by the auditor;
#  6. zhibao-audit verify refuses to run without the aggregator's key.
source "$(dirname "$0")/../lib.sh"
AUDIT="$ZB_BIN/zhibao-audit"
TAMPER="$ZB_BUILD/tests/zb-tamper"
HOSTILE="$ZB_BUILD/tests/zb-hostile"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
for c in 222401 222402 222403; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done
key_of() { json_get "$("$NODE" status --dir "$1" --json)" "j['node_key']"; }
KEY1=$(key_of "$WORK/n222401")
KEY2=$(key_of "$WORK/n222402")
KEY3=$(key_of "$WORK/n222403")
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
AGG_PID=$LAST_PID
sync_once() { "$NODE" sync --dir "$1" --once --timeout 60 2>"$WORK/sync.log" || fail "sync $1: $(cat "$WORK/sync.log")"; }

gen_reports 3 A | "$NODE" submit --dir "$WORK/n222401" - >/dev/null 2>&1
gen_reports 3 B | "$NODE" submit --dir "$WORK/n222402" - >/dev/null 2>&1
gen_reports 3 C | "$NODE" submit --dir "$WORK/n222403" - >/dev/null 2>&1
for c in 222401 222402 222403; do sync_once "$WORK/n$c"; done
# a compromised 222403 key signs a second, different seq 2: refused, kept as
# evidence -- a leaf of the log
"$HOSTILE" "$EP" "$WORK/n222403" "$WORK/n222401" 1 >/dev/null 2>&1 || fail "hostile tool"
[ "$(json_get "$("$AGG" status --dir "$WORK/agg" --json)" "j['equivocation_evidence']")" -ge 1 ] ||
    fail "no evidence kept"
# 222402 files and syncs after it: its newest head covers the evidence
gen_reports 2 B2 | "$NODE" submit --dir "$WORK/n222402" - >/dev/null 2>&1
sync_once "$WORK/n222402"
sync_once "$WORK/n222401"
"$NODE" tree-head --dir "$WORK/n222401" --out "$WORK/head1" || fail "tree-head 222401"
"$NODE" tree-head --dir "$WORK/n222402" --out "$WORK/head2" || fail "tree-head 222402"
pass "3 counties synced, one equivocation logged as evidence, heads collected from two counties"

verify() { # verify NAME BUNDLE [ARGS...]: zhibao-audit verify --json into $WORK/NAME.json, exit in rc
    local name=$1 bundle=$2
    shift 2
    set +e
    "$AUDIT" verify "$bundle" --key "$AK" --json "$@" >"$WORK/$name.json" 2>"$WORK/$name.err"
    rc=$?
    set -e
}
findings() { json_get "$(cat "$WORK/$1.json")" "j['findings']"; }
PINS=(--county-key "222401:$KEY1" --county-key "222402:$KEY2" --county-key "222403:$KEY3")
HEADS=(--head "$WORK/head1" --head "$WORK/head2")

"$AGG" export --dir "$WORK/agg" --out "$WORK/honest" >/dev/null || fail "export"
verify honest "$WORK/honest" "${PINS[@]}" "${HEADS[@]}"
# the only finding of the honest bundle is the county's equivocation
[ "$(json_get "$(cat "$WORK/honest.json")" "[f for f in j['findings'] if not f.startswith('equivocation')]")" = "[]" ] ||
    fail "the honest bundle has findings: $(findings honest)"
[ "$(json_get "$(cat "$WORK/honest.json")" "j['evidence']")" -ge 1 ] || fail "evidence not counted"
pass "honest bundle: verified with the pins and both heads (only the county's equivocation reported)"

# ---- 2-4: a re-signed bundle is caught by the counties' heads
attack() { # attack NAME HEAD WHAT CMD [OPTS...]: tamper, verify alone (passes), with the head (caught)
    local name=$1 head=$2 what=$3 cmd=$4
    shift 4
    "$TAMPER" "$cmd" "$WORK/honest" "$WORK/$name" --agg-dir "$WORK/agg" "$@" || fail "zb-tamper $name"
    verify "$name-alone" "$WORK/$name"
    [ "$(json_get "$(cat "$WORK/$name-alone.json")" "[f for f in j['findings'] if not f.startswith('equivocation')]")" = "[]" ] ||
        fail "$name: the re-signed bundle should verify by its signature alone: $(findings "$name-alone")"
    verify "$name" "$WORK/$name" --head "$head"
    [ "$rc" = 1 ] || fail "$name: not caught with the county's head (exit $rc)"
    grep -q "$(basename "$head")" <<<"$(findings "$name")" ||
        fail "$name: the finding does not name the county's head: $(findings "$name")"
    pass "$what: re-signed, verifies alone, caught with $(basename "$head")"
}
# (the newest report's receive time, a day later: the log's times still run
# forwards, so only a county's head shows it)
attack moved "$WORK/head1" "the newest receive time moved a day later" move-time --county 222402 --seq 5 --by 86400
attack dropped "$WORK/head2" "the equivocation evidence dropped" drop-evidence
attack trimmed "$WORK/head1" "222401's newest reports trimmed" trim --county 222401 --keep 1

# ---- 5. a voluntary rotation: consented, no alarm
"$NODE" rotate-key --dir "$WORK/n222402" --out "$WORK/rot2" >"$WORK/rot2.out" || fail "rotate-key"
NEWKEY2=$(tail -n 1 "$WORK/rot2.out")
"$AGG" enroll --dir "$WORK/agg" --county 222402 --request "$WORK/rot2" >"$WORK/rot2.agg" ||
    fail "enroll the rotation"
grep -q "rotated" "$WORK/rot2.agg" || fail "enroll did not say it rotated: $(cat "$WORK/rot2.agg")"
gen_reports 1 B3 | "$NODE" submit --dir "$WORK/n222402" - >/dev/null 2>&1
sync_once "$WORK/n222402"
S=$("$NODE" status --dir "$WORK/n222402" --json)
[ "$(json_get "$S" "(j['key_state'], j['key_alarm'])")" = "('active', None)" ] ||
    fail "222402 after its own rotation: $S"
pass "222402 rotated its key: the new key syncs, no alarm"

# ---- 1. the forgery: the prefecture revokes 222401's key (no consent) and
# enrols a key of its own, with reports signed by it
out=$("$AGG" revoke --dir "$WORK/agg" --county 222401) || fail "revoke"
resume=$(grep -o -- '--resume [0-9]*:[0-9a-f]*' <<<"$out" | cut -d' ' -f2)
"$NODE" init --dir "$WORK/forger" --county 222401 --aggregator "$EP" --aggregator-key "$AK" \
    --resume "$resume" >/dev/null || fail "the forger's node"
"$AGG" enroll --dir "$WORK/agg" --county 222401 --request "$WORK/forger/key-request" >/dev/null ||
    fail "enroll the forger's key"
gen_reports 2 FORGED | "$NODE" submit --dir "$WORK/forger" - >/dev/null 2>&1
sync_once "$WORK/forger"
# the real 222401 node syncs: its key was revoked behind its back
gen_reports 1 A2 | "$NODE" submit --dir "$WORK/n222401" - >/dev/null 2>&1
set +e
"$NODE" sync --dir "$WORK/n222401" --once --timeout 20 2>"$WORK/real.log"
src=$?
set -e
[ "$src" != 0 ] || fail "the revoked node's sync succeeded"
grep -q "ZB-SYNC-KEY" "$WORK/real.log" || fail "the real node raised no ZB-SYNC-KEY: $(cat "$WORK/real.log")"
S=$("$NODE" status --dir "$WORK/n222401" --json)
[ "$(json_get "$S" "j['key_state']")" = revoked ] || fail "key_state: $S"
[ "$(json_get "$S" "j['key_alarm'] is not None and j['key_alarm']['event'] in ('revoked', 'enrolled')")" = True ] ||
    fail "key_alarm: $S"
pass "forged revocation: the real 222401 node raises ZB-SYNC-KEY, status key_state revoked, key_alarm set"

"$AGG" export --dir "$WORK/agg" --out "$WORK/forged" >/dev/null || fail "export after the forgery"
verify forged-alone "$WORK/forged"
[ "$(json_get "$(cat "$WORK/forged-alone.json")" "[f for f in j['findings'] if not f.startswith('equivocation')]")" = "[]" ] ||
    fail "the forged log should verify by signatures alone: $(findings forged-alone)"
verify forged "$WORK/forged" --county-key "222401:$KEY1"
[ "$rc" = 1 ] || fail "the forgery passed with 222401's key pinned (exit $rc)"
grep -q "222401" <<<"$(findings forged)" || fail "the finding does not name 222401: $(findings forged)"
pass "forged revocation: zhibao-audit with 222401's own key pinned finds it"

# ---- 5 (cont.): the rotation and the revocation told apart by the auditor
EV=$(json_get "$(cat "$WORK/forged-alone.json")" "[(e['county'], e['event'], e['consented']) for e in j['key_events'] if e['event'] == 'revoked']")
[ "$EV" = "[('222402', 'revoked', True), ('222401', 'revoked', False)]" ] ||
    fail "revocations in the bundle: $EV"
pass "the auditor tells the rotation (consented) from the revocation (not consented)"

# ---- 6. no key, no verdict
set +e
"$AUDIT" verify "$WORK/honest" >/dev/null 2>"$WORK/nokey.err"
nrc=$?
set -e
[ "$nrc" = 2 ] || fail "verify without --key exited $nrc, expected 2"
pass "zhibao-audit verify without --key: exit 2"

# the honest store itself re-verifies, key events and evidence included
"$AGG" check --dir "$WORK/agg" >"$WORK/check.out" || fail "check: $(cat "$WORK/check.out")"
pass "zhibao-agg check: every leaf rebuilt hashes to the log, every key event checks"
