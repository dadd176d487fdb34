#!/usr/bin/env bash
# Issue 3: every listed bad input is refused with exit 2, one line naming
# the field and the reason, and the node's store is left byte-for-byte
# unchanged; a bulk import is all-or-nothing; Chinese text round-trips.
source "$(dirname "$0")/../lib.sh"

AK=$(agg_init "$WORK/agg")
D="$WORK/node"
"$NODE" init --dir "$D" --county 222401 --aggregator tcp://127.0.0.1:1 --aggregator-key "$AK" >/dev/null
EX="$ZB_SOURCE_DIR/deploy/examples"
"$NODE" submit --dir "$D" "$EX/accident.json" >/dev/null 2>&1 || fail "valid accident refused"
"$NODE" submit --dir "$D" "$EX/monthly.json" >/dev/null 2>&1 || fail "valid monthly refused"

# mutate EXAMPLE PYTHON-STATEMENTS: print the example with changes applied to dict r
mutate() {
    python3 - "$EX/$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(r, ensure_ascii=False))
PY
}

snapshot() { "$NODE" list --dir "$D" --json | md5sum; mdb_dump -a "$D" 2>/dev/null | md5sum; }
before=$(snapshot)

# expect_refused NAME INPUT EXPECTED-SUBSTRING
expect_refused() {
    local out rc
    set +e
    out=$(printf '%s' "$2" | "$NODE" submit --dir "$D" - 2>&1 >/dev/null)
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$1: exit $rc, expected 2 ($out)"
    grep -qF -- "$3" <<<"$out" || fail "$1: message does not name '$3': $out"
    [ "$(snapshot)" = "$before" ] || fail "$1: the store changed"
    pass "$1 -> $(grep -F -- "$3" <<<"$out" | head -n 1)"
}

A=accident.json M=monthly.json
expect_refused "missing field"       "$(mutate $A 'del r["deaths"]')"                "deaths: missing"
expect_refused "wrong type"          "$(mutate $A 'r["deaths"]="1"')"                "deaths: wrong type"
expect_refused "negative count"      "$(mutate $A 'r["serious_injuries"]=-2')"       "serious_injuries: negative count"
expect_refused "out of range"        "$(mutate $A 'r["deaths"]=10**9')"              "deaths: out of range"
expect_refused "unknown industry"    "$(mutate $A 'r["industry"]="mining"')"         "industry: unknown industry"
expect_refused "bad accident_id"     "$(mutate $A 'r["accident_id"]="YJ 42!"')"      "accident_id:"
expect_refused "bad time"            "$(mutate $A 'r["occurred_at"]="2026-10-14 25:00"')" "occurred_at: not an RFC 3339 time"
expect_refused "notified before"     "$(mutate $A 'r["county_notified_at"]="2026-10-14T08:00:00+08:00"')" "county_notified_at: before occurred_at"
expect_refused "revision gap"        "$(mutate $A 'r["revision"]=5')"                "revision: 5 does not follow"
expect_refused "repeated revision"   "$(mutate $A 'r["revision"]=0')"                "revision: 0 does not follow"
expect_refused "supplement first"    "$(mutate $A 'r["accident_id"]="NEW-1"; r["revision"]=1')" "revision: 1 does not follow"
expect_refused "text over limit"     "$(mutate $A 'r["summary"]="事"*4001')"         "summary: text over its limit"
expect_refused "bad credit code"     "$(mutate $A 'r["unit"]["credit_code"]="91222401MA0Y5K2D9"')" "unit.credit_code:"
expect_refused "unknown task code"   "$(mutate $M 'r["tasks"][0]["task"]=28')"       "tasks[0].task: unknown task code 28"
expect_refused "bad status"          "$(mutate $M 'r["tasks"][1]["status"]="finished"')" "tasks[1].status: must be one of"
expect_refused "negative statistic"  "$(mutate $M 'r["stats"]["inspections"]=-1')"   "stats.inspections: negative count"
expect_refused "period format"       "$(mutate $M 'r["period"]="2026-13"')"          "period: must be YYYY-MM"
expect_refused "period in future"    "$(mutate $M 'r["period"]="2999-01"')"          "period: 2999-01 is in the future"
expect_refused "wrong type (report)" "[1, 2]"                                         "[0].(report): wrong type"
expect_refused "not JSON"            "{\"type\": "                                    "(input): not valid JSON"
expect_refused "unknown type"        '{"type":"weekly"}'                              "type: must be"
# issue 11: category, stage, as_of, write_off_reason (S is revision 1 of the stored accident)
S=accident-supplement.json
expect_refused "category missing"    "$(mutate $A 'r["accident_id"]="NEW-2"; del r["category"]')" "category: missing (required on revision 0)"
expect_refused "unknown category"    "$(mutate $A 'r["accident_id"]="NEW-3"; r["category"]="crane"')" "category: unknown category \"crane\""
expect_refused "unknown stage"       "$(mutate $S 'r["stage"]="final"')"             "stage: unknown stage \"final\""
expect_refused "initial on rev 1"    "$(mutate $S 'r["stage"]="initial"')"           "stage: initial is only for revision 0"
expect_refused "closing on rev 0"    "$(mutate $A 'r["accident_id"]="NEW-4"; r["stage"]="closing"')" "stage: closing needs revision 1 or later"
expect_refused "write-off no reason" "$(mutate $S 'r["stage"]="write_off"')"         "write_off_reason: missing (required with stage write_off)"
expect_refused "reason w/o write-off" "$(mutate $S 'r["write_off_reason"]="x"')"     "write_off_reason: only with stage write_off"
expect_refused "as_of before"        "$(mutate $S 'r["as_of"]="2026-10-14T08:29:59+08:00"')" "as_of: before occurred_at"
expect_refused "as_of in future"     "$(mutate $S 'r["as_of"]="2999-01-01T00:00:00+08:00"')" "as_of: in the future"
expect_refused "as_of not a time"    "$(mutate $S 'r["as_of"]="soon"')"              "as_of: not an RFC 3339 time"
expect_refused "cause over limit"    "$(mutate $S 'r["cause"]="因"*4001')"           "cause: text over its limit"

# bulk: one bad report among valid ones stores nothing, and names its index
bulk=$( { gen_reports 5 BULK; mutate $A 'r["accident_id"]="BULK-X"; r["deaths"]=-1'; gen_reports 3 BULK2; } )
expect_refused "bulk all-or-nothing" "$bulk"                                          "[5].deaths: negative count"

# Chinese text round-trips byte for byte
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"])' "$EX/accident.json")
got=$("$NODE" show --dir "$D" 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"])')
[ "$want" = "$got" ] || fail "Chinese text changed: $got"
pass "Chinese text round-trips"

# the grade is shown on submit
out=$("$NODE" submit --dir "$D" "$EX/accident-supplement.json" 2>&1 >/dev/null)
grep -q "grade general (一般), report to prefecture" <<<"$out" || fail "grade not shown: $out"
pass "grade shown on submit"

# issue 11: nothing follows a closing (结案) or a write-off (核销)
"$NODE" submit --dir "$D" "$EX/accident-closing.json" >/dev/null 2>&1 || fail "accident-closing.json refused after the supplement"
"$NODE" submit --dir "$D" "$EX/accident-write-off.json" >/dev/null 2>&1 || fail "accident-write-off.json refused"
pass "closing and write-off examples accepted after accident.json and accident-supplement.json"
before=$(snapshot)
expect_refused "after closing"       "$(mutate accident-closing.json 'r["revision"]=3; del r["stage"]')" "revision: accident YJ-2026-0042 was closed at revision 2: no revision may follow"
expect_refused "closing again"       "$(mutate accident-closing.json 'r["revision"]=3')" "revision: accident YJ-2026-0042 was closed at revision 2: no revision may follow"
expect_refused "after write-off"     "$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[1]; r["revision"]=2; del r["write_off_reason"]; r["stage"]="supplement"; print(json.dumps(r, ensure_ascii=False))' "$EX/accident-write-off.json")" "revision: accident YJ-2026-0051 was written off at revision 1: no revision may follow"
