#!/usr/bin/env bash
# Issue 12: the prefecture answers. A county's monthly report is returned
# with a Chinese comment while the county is offline; the county syncs later
# and finds it verified in its inbox, files a new version, the prefecture
# accepts it and `report monthly` says so; a reminder reaches only the
# county that has not filed; a moved deadline turns a late report on time;
# kill -9 of the node (and of serve) while messages arrive loses and
# duplicates nothing; the bundle and zhibao-audit cover the messages.
source "$(dirname "$0")/../lib.sh"
AUDIT="$ZB_BIN/zhibao-audit"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
for c in 222401 222402 222403; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done

# a period whose default deadline passed two months ago: filing now is late
P=$(python3 -c 'import datetime as d
t = d.datetime.now(d.timezone(d.timedelta(hours=8)))
m = t.year * 12 + t.month - 1 - 3
print(f"{m // 12:04d}-{m % 12 + 1:02d}")')
monthly() { # monthly PROGRESS
    python3 -c 'import json, sys
print(json.dumps({"type": "monthly", "period": sys.argv[1],
                  "tasks": [{"task": 3, "status": "in_progress", "progress": sys.argv[2]}],
                  "stats": {"inspections": 4}}, ensure_ascii=False))' "$P" "$1"
}
monthly "进展" | "$NODE" submit --dir "$WORK/n222401" - >/dev/null || fail "submit 222401"
monthly "进展" | "$NODE" submit --dir "$WORK/n222402" - >/dev/null || fail "submit 222402"

start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level warn
AGG_PID=$LAST_PID
for c in 222401 222402 222403; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 2>/dev/null || fail "first sync $c"
done
pass "two counties filed $P (late), 222403 did not"

# ---- the prefecture returns 222401's report while 222401 is offline
COMMENT="第3项任务进展描述不完整，请补充整改措施和完成时限。"
out=$("$AGG" review --dir "$WORK/agg" --county 222401 --seq 1 --return --comment "$COMMENT" \
      --reviewer "张明") || fail "review --return"
M=$("$AGG" report monthly --dir "$WORK/agg" --period "$P" --format json)
[ "$(json_get "$M" "[(r['county'], r['status'], r['review']) for r in j['rows']]")" = \
  "[('222401', 'late', 'returned'), ('222402', 'late', 'unreviewed'), ('222403', 'missing', None)]" ] ||
    fail "report monthly after the return: $M"
pass "returned: report monthly shows 222401 returned"

# bad input: one error line naming the field, exit 2, nothing stored
expect_bad() { # expect_bad FIELD ARGS...
    local field=$1; shift
    set +e
    "$AGG" "$@" >/dev/null 2>"$WORK/bad.err"
    local rc=$?
    set -e
    [ $rc -eq 2 ] || fail "$* exited $rc, expected 2"
    grep -q "^error: $field: " "$WORK/bad.err" || fail "$*: no 'error: $field:' line: $(cat "$WORK/bad.err")"
}
expect_bad seq review --dir "$WORK/agg" --county 222401 --seq 9 --accept
expect_bad comment review --dir "$WORK/agg" --county 222401 --seq 1 --return \
    --comment "$(python3 -c 'print("字" * 4001)')"
expect_bad reviewer review --dir "$WORK/agg" --county 222401 --seq 1 --accept \
    --reviewer "$(python3 -c 'print("x" * 65)')"
expect_bad at deadline --dir "$WORK/agg" --period "$P" --at 2000-01-01T00:00:00+08:00
expect_bad title notice --dir "$WORK/agg" --all --title "" --text "x"
expect_bad at deadline --dir "$WORK/agg" --period "$P" --at 9999-12-31T23:59:59-08:00
expect_bad reviewer review --dir "$WORK/agg" --county 222401 --seq 1 --accept \
    --reviewer "$(printf '张\033[31m明')"
pass "bad review, deadline and notice input refused with the field named"

# ---- a reminder reaches only the county that has not filed
out=$("$AGG" remind --dir "$WORK/agg" --period "$P") || fail "remind"
grep -q 222403 <<<"$out" || fail "remind did not name 222403: $out"
! grep -qE "222401|222402" <<<"$out" || fail "remind named a county that filed: $out"
pass "remind --period $P: only 222403"

# ---- a moved deadline turns the late reports on time
AT=$(python3 -c 'import datetime as d
t = d.datetime.now(d.timezone(d.timedelta(hours=8))) + d.timedelta(days=1)
print(t.replace(microsecond=0).isoformat())')
"$AGG" deadline --dir "$WORK/agg" --period "$P" --at "$AT" >/dev/null || fail "deadline"
M=$("$AGG" report monthly --dir "$WORK/agg" --period "$P" --format json)
[ "$(json_get "$M" "[r['status'] for r in j['rows']]")" = "['on_time', 'on_time', 'missing']" ] ||
    fail "report monthly after the moved deadline: $M"
[ "$(json_get "$M" "j['deadline_moved']")" = True ] || fail "deadline_moved not set: $M"
pass "deadline of $P moved to $AT: late -> on_time"

# ---- 222401 comes back online: the return, verified, in its inbox
"$NODE" sync --dir "$WORK/n222401" --once --timeout 60 2>/dev/null || fail "222401 sync"
I=$("$NODE" inbox --dir "$WORK/n222401" --json) || fail "inbox"
[ "$(json_get "$I" "[(m['id'], m['kind'], m['verified']) for m in j]")" = \
  "[(1, 'review', True), (2, 'deadline', True)]" ] || fail "222401 inbox: $I"
[ "$(json_get "$I" "(j[0]['seq'], j[0]['decision'], j[0]['comment'] == '''$COMMENT''', j[0]['reviewer'])")" = \
  "(1, 'returned', True, '张明')" ] || fail "222401 review message: $I"
[ "$(json_get "$I" "j[1]['period']")" = "$P" ] || fail "deadline message: $I"
L=$("$NODE" list --dir "$WORK/n222401" --json)
[ "$(json_get "$L" "[r['review'] for r in (j if isinstance(j, list) else j['reports'])]")" = "['returned']" ] ||
    fail "list --json review: $L"
S=$("$NODE" status --dir "$WORK/n222401" --json)
[ "$(json_get "$S" "j['unread']")" = 2 ] || fail "status unread: $S"
"$NODE" inbox --dir "$WORK/n222401" --read 1 || fail "inbox --read"
[ "$(json_get "$("$NODE" inbox --dir "$WORK/n222401" --json --unread)" "[m['id'] for m in j]")" = "[2]" ] ||
    fail "inbox --unread after reading 1"
pass "222401 (offline at the time) synced: the return verified in its inbox, list shows returned"

# 222403 got the reminder (and the deadline), 222402 no reminder
"$NODE" sync --dir "$WORK/n222403" --once --timeout 60 2>/dev/null || fail "222403 sync"
I=$("$NODE" inbox --dir "$WORK/n222403" --json)
[ "$(json_get "$I" "[(m['kind'], m.get('period')) for m in j]")" = "[('reminder', '$P'), ('deadline', '$P')]" ] ||
    fail "222403 inbox: $I"
"$NODE" sync --dir "$WORK/n222402" --once --timeout 60 2>/dev/null || fail "222402 sync"
I=$("$NODE" inbox --dir "$WORK/n222402" --json)
[ "$(json_get "$I" "[m['kind'] for m in j]")" = "['deadline']" ] || fail "222402 inbox: $I"
pass "the reminder reached 222403 only"

# ---- 222401 answers with a new version; the prefecture accepts it
monthly "进展：已补充整改措施，12月底前完成" | "$NODE" submit --dir "$WORK/n222401" - >/dev/null ||
    fail "new version"
"$NODE" sync --dir "$WORK/n222401" --once --timeout 60 2>/dev/null || fail "222401 sync 2"
"$AGG" review --dir "$WORK/agg" --county 222401 --seq 2 --accept --reviewer "张明" >/dev/null ||
    fail "review --accept"
M=$("$AGG" report monthly --dir "$WORK/agg" --period "$P" --format json)
[ "$(json_get "$M" "[(r['county'], r['version'], r['review']) for r in j['rows']][0]")" = \
  "('222401', 2, 'accepted')" ] || fail "report monthly after the acceptance: $M"
"$NODE" sync --dir "$WORK/n222401" --once --timeout 60 2>/dev/null || fail "222401 sync 3"
L=$("$NODE" list --dir "$WORK/n222401" --json)
[ "$(json_get "$L" "[r['review'] for r in (j if isinstance(j, list) else j['reports'])]")" = \
  "['returned', 'accepted']" ] || fail "list --json reviews: $L"
pass "new version filed, accepted: report monthly and the node say accepted"

# ---- kill -9 while messages arrive: nothing lost, nothing twice
N2="$WORK/n222402"
start_bg "$NODE" sync --dir "$N2" --log-level error
SYNC_PID=$LAST_PID
SENT=0
for round in $(seq 1 12); do
    for k in 1 2 3 4 5; do
        "$AGG" notice --dir "$WORK/agg" --county 222402 --title "通知 $round-$k" \
            --text "第 $round 轮第 $k 条通知：请按时报送。" >/dev/null || fail "notice"
        SENT=$((SENT + 1))
    done
    sleep "0.$((RANDOM % 400 + 50))"
    kill -9 "$SYNC_PID" 2>/dev/null || true
    wait "$SYNC_PID" 2>/dev/null || true
    if (( round % 4 == 0 )); then # the aggregator too
        kill -9 "$AGG_PID" 2>/dev/null || true
        wait "$AGG_PID" 2>/dev/null || true
        start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level warn
        AGG_PID=$LAST_PID
    fi
    start_bg "$NODE" sync --dir "$N2" --log-level error
    SYNC_PID=$LAST_PID
done
"$AGG" notice --dir "$WORK/agg" --all --title "年终安全生产检查" --file <(printf '各县（市）：\n请于12月20日前完成自查。\n') \
    >/dev/null || fail "notice --all --file"
SENT=$((SENT + 1))
# the running daemon receives the last ones within seconds
want=$((SENT + 1)) # + the deadline message
for _ in $(seq 1 100); do
    got=$(json_get "$("$NODE" status --dir "$N2" --json)" "j['unread']")
    [ "$got" = "$want" ] && break
    sleep 0.2
done
I=$("$NODE" inbox --dir "$N2" --json)
[ "$(json_get "$I" "[m['id'] for m in j] == list(range(1, $want + 1))")" = True ] ||
    fail "222402 inbox after the kills: ids $(json_get "$I" "[m['id'] for m in j]"), want 1..$want"
[ "$(json_get "$I" "all(m['verified'] for m in j)")" = True ] || fail "an unverified message"
[ "$(json_get "$I" "[m['title'] for m in j if m['kind'] == 'notice'][-1]")" = "年终安全生产检查" ] ||
    fail "last notice"
[ "$(json_get "$I" "sorted(set(m['title'] for m in j if m['kind'] == 'notice')) == sorted(m['title'] for m in j if m['kind'] == 'notice')")" = True ] ||
    fail "a notice arrived twice"
# the prefecture knows they were delivered (the DeliverAck may trail the inbox briefly)
for _ in $(seq 1 50); do
    D=$(json_get "$("$AGG" status --dir "$WORK/agg" --json)" \
        "[(c['messages']['sent'], c['messages']['delivered']) for c in j['counties'] if c['county'] == '222402'][0]")
    [ "$D" = "($want, $want)" ] && break
    sleep 0.2
done
[ "$D" = "($want, $want)" ] || fail "aggregator's delivery record for 222402: $D, want ($want, $want)"
pass "$SENT notices through 12 kill -9 of the node (3 of serve): all $want messages once, in order, recorded delivered"
kill "$SYNC_PID" 2>/dev/null || true

# ---- a revoke ends deliveries to the node that is still connected
N3="$WORK/n222403"
start_bg "$NODE" sync --dir "$N3" --log-level error
N3_PID=$LAST_PID
"$AGG" notice --dir "$WORK/agg" --county 222403 --title "撤销前" --text "x" >/dev/null
for _ in $(seq 1 100); do
    [ "$(json_get "$("$NODE" status --dir "$N3" --json)" "j['inbox']")" = 4 ] && break
    sleep 0.1
done
[ "$(json_get "$("$NODE" status --dir "$N3" --json)" "j['inbox']")" = 4 ] ||
    fail "222403's daemon did not get the notice before the revoke"
"$AGG" revoke --dir "$WORK/agg" --county 222403 >/dev/null || fail "revoke 222403"
"$AGG" notice --dir "$WORK/agg" --county 222403 --title "撤销后" --text "不得送达旧节点" >/dev/null
sleep 3
[ "$(json_get "$("$NODE" inbox --dir "$N3" --json)" "[m['title'] for m in j if m['kind'] == 'notice']")" = "['年终安全生产检查', '撤销前']" ] ||
    fail "a message reached the revoked node: $("$NODE" inbox --dir "$N3" --json)"
kill -9 "$N3_PID" 2>/dev/null || true
pass "revoked while connected: the next message waits for the replacement node"

# ---- the auditor sees the prefecture's acts
"$AGG" export --dir "$WORK/agg" --out "$WORK/bundle" >/dev/null || fail "export"
V=$("$AUDIT" verify "$WORK/bundle" --key "$AK" --json) || fail "zhibao-audit verify: $V"
[ "$(json_get "$V" "j['downstream']")" -ge $((SENT + 6)) ] || fail "audit downstream count: $V"
"$AGG" check --dir "$WORK/agg" >/dev/null || fail "check after the messages"
pass "bundle verified with $(json_get "$V" "j['downstream']") downstream messages; check clean"
