#!/usr/bin/env bash
# Issue 5 (keys): revoking a county's key keeps the reports it signed
# before, refuses anything it signs after, and a replacement node enrolled
# with a new key continues the same chain; a revoked key never comes back.
source "$(dirname "$0")/../lib.sh"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
A="$WORK/old" B="$WORK/new"
OLDKEY=$("$NODE" init --dir "$A" --county 222401 --aggregator "$EP" --aggregator-key "$AK" | tail -n 1)
"$AGG" enroll --dir "$WORK/agg" --county 222401 --request "$A/key-request" --key "$OLDKEY" >/dev/null
# accident reports: X is opened then closed, Z stays open
acc() { # acc ID REVISION [STAGE]
    python3 -c 'import json, sys, datetime as d
now = d.datetime.now(d.timezone(d.timedelta(hours=8))).replace(microsecond=0)
t = (now - d.timedelta(hours=2)).isoformat()
r = {"type": "accident", "accident_id": sys.argv[1], "revision": int(sys.argv[2]),
     "occurred_at": t, "county_notified_at": t, "place": "国道201线",
     "unit": {"name": "某运输公司"}, "industry": "road_traffic", "summary": "两车相撞",
     "deaths": 1, "missing": 0, "serious_injuries": 0, "minor_injuries": 0,
     "direct_loss_yuan": 0, "as_of": now.isoformat()}
if int(sys.argv[2]) == 0:
    r["category"] = "vehicle_injury"
if sys.argv[3]:
    r["stage"] = sys.argv[3]
print(json.dumps(r, ensure_ascii=False))' "$1" "$2" "${3:-}"
}
{ acc X 0; acc X 1 closing; acc Z 0; } | "$NODE" submit --dir "$A" - >/dev/null ||
    fail "submit accidents to the old node"
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
"$NODE" sync --dir "$A" --once --timeout 30 2>/dev/null || fail "first sync"

out=$("$AGG" revoke --dir "$WORK/agg" --county 222401) || fail "revoke"
resume=$(grep -o -- '--resume [0-9]*:[0-9a-f]*' <<<"$out" | cut -d' ' -f2)
[ "${resume%%:*}" = 3 ] || fail "revoke did not give the resume point after seq 3: $out"
accfile=$(grep -o -- '--accidents [^ ]*' <<<"$out" | cut -d' ' -f2)
[ -f "$accfile" ] || fail "revoke did not write the accidents file: $out"
got=$(json_get "$(cat "$accfile")" "sorted((a['accident_id'], a['revision'], a['stage']) for a in j['accidents'])")
[ "$got" = "[('X', 1, 'closing'), ('Z', 0, 'initial')]" ] || fail "resume file accidents: $got"
pass "revoked after seq 3, resume point $resume, accidents in $accfile"

# the old key can no longer get anything accepted
acc Z 1 | "$NODE" submit --dir "$A" - >/dev/null 2>&1
set +e
"$NODE" sync --dir "$A" --once --timeout 10 2>"$WORK/old.log"
rc=$?
set -e
[ $rc -eq 1 ] || fail "sync with a revoked key exited $rc, expected 1"
grep -q "not enrolled" "$WORK/old.log" || fail "refusal does not say why: $(cat "$WORK/old.log")"
[ "$(agg_reports "$WORK/agg" 222401)" = 3 ] || fail "a report signed after revocation was stored"
pass "a report signed with the revoked key is refused"

# the accidents file must match the replacement node: another resume point
# is refused, and init says the directory is to be removed
set +e
"$NODE" init --dir "$WORK/wrong" --county 222401 --aggregator "$EP" --aggregator-key "$AK" \
    --resume "2:${resume#*:}" --accidents "$accfile" >/dev/null 2>"$WORK/wrong.err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "init with a mismatched accidents file exited $rc, expected 2"
grep -q "^error: --accidents: after_seq: must be this node's resume point (2)" "$WORK/wrong.err" ||
    fail "mismatch not named: $(cat "$WORK/wrong.err")"
pass "an accidents file for another resume point is refused"

# a replacement node continues the chain from seq 4 and knows X is closed
NEWKEY=$("$NODE" init --dir "$B" --county 222401 --aggregator "$EP" --aggregator-key "$AK" \
           --resume "$resume" --accidents "$accfile" | tail -n 1)
set +e
acc X 2 | "$NODE" submit --dir "$B" - >/dev/null 2>"$WORK/x2.err"
rc=$?
set -e
[ $rc -eq 2 ] || fail "a revision after the predecessor's closing exited $rc, expected 2"
grep -q "^error: revision: accident X was closed at revision 1" "$WORK/x2.err" ||
    fail "refusal is not for the closing: $(cat "$WORK/x2.err")"
pass "the replacement node refuses a revision after the predecessor closed the accident"
"$AGG" enroll --dir "$WORK/agg" --county 222401 --request "$B/key-request" --key "$NEWKEY" >/dev/null ||
    fail "enroll replacement"
[ "$({ acc Z 1; gen_reports 1 NEW; } | "$NODE" submit --dir "$B" - 2>/dev/null)" = "4 5" ] ||
    fail "replacement node does not continue at seq 4 with Z's next revision"
"$NODE" sync --dir "$B" --once --timeout 30 2>/dev/null || fail "replacement sync"
[ "$(agg_reports "$WORK/agg" 222401)" = 5 ] || fail "replacement reports not stored"
"$NODE" verify-receipts --dir "$B" >/dev/null || fail "replacement receipts do not verify"
"$AGG" check --dir "$WORK/agg" >/dev/null || fail "check: old reports under the old key, new under the new"
pass "replacement node continues at seq 4; both keys' reports verify"

set +e
"$AGG" enroll --dir "$WORK/agg" --county 222401 --request "$A/key-request" >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "re-enrolling a revoked key exited $rc, expected 2"
pass "a revoked key is never enrolled again"
