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
"$AGG" enroll --dir "$WORK/agg" --county 222401 --key "$OLDKEY" >/dev/null
gen_reports 3 OLD | "$NODE" submit --dir "$A" - >/dev/null 2>&1
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
"$NODE" sync --dir "$A" --once --timeout 30 2>/dev/null || fail "first sync"

out=$("$AGG" revoke --dir "$WORK/agg" --county 222401) || fail "revoke"
resume=$(grep -o -- '--resume [0-9]*:[0-9a-f]*' <<<"$out" | cut -d' ' -f2)
[ "${resume%%:*}" = 3 ] || fail "revoke did not give the resume point after seq 3: $out"
pass "revoked after seq 3, resume point $resume"

# the old key can no longer get anything accepted
gen_reports 1 LATE | "$NODE" submit --dir "$A" - >/dev/null 2>&1
set +e
"$NODE" sync --dir "$A" --once --timeout 10 2>"$WORK/old.log"
rc=$?
set -e
[ $rc -eq 1 ] || fail "sync with a revoked key exited $rc, expected 1"
grep -q "not enrolled" "$WORK/old.log" || fail "refusal does not say why: $(cat "$WORK/old.log")"
[ "$(agg_reports "$WORK/agg" 222401)" = 3 ] || fail "a report signed after revocation was stored"
pass "a report signed with the revoked key is refused"

# a replacement node continues the chain from seq 4
NEWKEY=$("$NODE" init --dir "$B" --county 222401 --aggregator "$EP" --aggregator-key "$AK" \
           --resume "$resume" | tail -n 1)
"$AGG" enroll --dir "$WORK/agg" --county 222401 --key "$NEWKEY" >/dev/null || fail "enroll replacement"
[ "$(gen_reports 2 NEW | "$NODE" submit --dir "$B" - 2>/dev/null)" = "4 5" ] ||
    fail "replacement node does not continue at seq 4"
"$NODE" sync --dir "$B" --once --timeout 30 2>/dev/null || fail "replacement sync"
[ "$(agg_reports "$WORK/agg" 222401)" = 5 ] || fail "replacement reports not stored"
"$NODE" verify-receipts --dir "$B" >/dev/null || fail "replacement receipts do not verify"
"$AGG" check --dir "$WORK/agg" >/dev/null || fail "check: old reports under the old key, new under the new"
pass "replacement node continues at seq 4; both keys' reports verify"

set +e
"$AGG" enroll --dir "$WORK/agg" --county 222401 --key "$OLDKEY" >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "re-enrolling a revoked key exited $rc, expected 2"
pass "a revoked key is never enrolled again"
