#!/usr/bin/env bash
# Issue 16, zhibao-node: the language of what people read (LANG=zh_CN.UTF-8
# and C.UTF-8, --lang overriding both), JSON byte for byte the same in both,
# log lines English; --help per command; a bulk submit's summary by grade
# naming what goes above the prefecture (--verbose: one line per report);
# progress for a large submit and for sync under a pseudo-terminal
# (util-linux `script`): a redrawn line ("\r", "N/M"), none when stderr is a
# file, none with --quiet, forced into a file with --progress.
source "$(dirname "$0")/../lib.sh"

command -v script >/dev/null || fail "util-linux script is needed (bsdutils on Debian)"
EX="$ZB_SOURCE_DIR/deploy/examples"
ZH=(env LANG=zh_CN.UTF-8 LC_ALL= LC_MESSAGES=)
EN=(env LANG=C.UTF-8 LC_ALL= LC_MESSAGES=)
# has_cjk: does stdin hold a CJK character (U+4E00..U+9FFF)?
has_cjk() { python3 -c 'import sys,re; sys.exit(0 if re.search("[\u4e00-\u9fff]", sys.stdin.read()) else 1)'; }

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
D="$WORK/node"
node_init "$D" 222401 "$EP" "$AK" "$WORK/agg"

# ---------------------------------------------------------------- errors
mutate() {
    python3 - "$EX/$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(r, ensure_ascii=False))
PY
}
bad=$(mutate accident.json 'r["deaths"]="1"')
set +e
zh_err=$(printf '%s' "$bad" | "${ZH[@]}" "$NODE" submit --dir "$D" - 2>&1 >/dev/null); zh_rc=$?
en_err=$(printf '%s' "$bad" | "${EN[@]}" "$NODE" submit --dir "$D" - 2>&1 >/dev/null); en_rc=$?
zh_over=$(printf '%s' "$bad" | "${EN[@]}" "$NODE" submit --dir "$D" --lang zh - 2>&1 >/dev/null)
en_over=$(printf '%s' "$bad" | "${ZH[@]}" "$NODE" submit --lang en --dir "$D" - 2>&1 >/dev/null)
set -e
[ $zh_rc -eq 2 ] && [ $en_rc -eq 2 ] || fail "exit codes $zh_rc/$en_rc, expected 2/2"
grep -qx '错误: deaths: 类型错误, 应为整数' <<<"$zh_err" || fail "zh validation error: $zh_err"
grep -qx '未存储任何报告(1 个问题)' <<<"$zh_err" || fail "zh nothing stored: $zh_err"
grep -qx 'error: deaths: wrong type, expected a whole number' <<<"$en_err" || fail "en validation error: $en_err"
grep -qx 'nothing stored (1 problem)' <<<"$en_err" || fail "en nothing stored: $en_err"
[ "$zh_over" = "$zh_err" ] || fail "--lang zh under C.UTF-8: $zh_over"
[ "$en_over" = "$en_err" ] || fail "--lang en under zh_CN.UTF-8: $en_over"
pass "validation error naming the field: $(head -n 1 <<<"$zh_err") / $(head -n 1 <<<"$en_err")"

set +e
out=$("${ZH[@]}" "$NODE" init --dir "$WORK/x" --county 12 --aggregator "$EP" --aggregator-key "$AK" 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "init --county 12: exit $rc"
grep -qx '错误: --county: 必须是6位县级代码(例如 222401)' <<<"$out" || fail "zh option error: $out"
set +e
out=$("${ZH[@]}" LC_ALL=C.UTF-8 "$NODE" status --dir "$D" --lang fr 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && [ "$out" = "error: --lang: must be zh or en" ] || fail "--lang fr: exit $rc: $out"
set +e
out=$("${ZH[@]}" "$NODE" status --dir "$D" --bogus 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && grep -q '^错误: --bogus: 未知选项' <<<"$out" || fail "unknown option: exit $rc: $out"
pass "option errors: the option kept, the reason translated; a bad --lang refused (2)"

# ---------------------------------------------------------------- help
for cmd in init submit sync status list show receipts verify-receipts inbox witnesses rotate-key tree-head; do
    zh=$("${ZH[@]}" "$NODE" "$cmd" --help) || fail "$cmd --help (zh) exit $?"
    en=$("${EN[@]}" "$NODE" "$cmd" --help) || fail "$cmd --help (en) exit $?"
    head -n 1 <<<"$zh" | grep -q "^用法: zhibao-node $cmd " || fail "$cmd --help zh: $(head -n 1 <<<"$zh")"
    head -n 1 <<<"$en" | grep -q "^usage: zhibao-node $cmd " || fail "$cmd --help en: $(head -n 1 <<<"$en")"
    grep -q '^退出码' <<<"$zh" && grep -q '^exit codes' <<<"$en" || fail "$cmd --help: exit codes missing"
done
grep -q -- '--verbose' <<<"$("${ZH[@]}" "$NODE" submit --help)" || fail "submit --help lacks --verbose"
grep -q '^  sync ' <<<"$("$NODE" --help --lang zh)" || fail "overview"
[ "$("$NODE" --lang zh help sync)" = "$("${ZH[@]}" "$NODE" sync --help)" ] || fail "help sync"
pass "--help for every command in both languages, with exit codes"

# ---------------------------------------------------------------- text and JSON
"$NODE" submit --dir "$D" "$EX/accident.json" >/dev/null 2>&1
"$NODE" submit --dir "$D" "$EX/monthly.json" >/dev/null 2>&1
out=$("${ZH[@]}" "$NODE" submit --dir "$D" "$EX/accident-supplement.json" 2>&1 >/dev/null)
[ "$out" = "事故 YJ-2026-0042 第 1 次修订: 等级 一般, 报告至 州应急管理局(失踪按死亡计)" ] || fail "zh single submit: $out"
st_zh=$("${ZH[@]}" "$NODE" status --dir "$D")
st_en=$("${EN[@]}" "$NODE" status --dir "$D")
grep -q '^待发送      3$' <<<"$st_zh" && grep -q '^县          222401 延吉市$' <<<"$st_zh" || fail "zh status: $st_zh"
grep -q '^pending     3$' <<<"$st_en" || fail "en status: $st_en"
ls_zh=$("${ZH[@]}" "$NODE" list --dir "$D")
grep -q '^序号 ' <<<"$ls_zh" && grep -q ' 事故 ' <<<"$ls_zh" && grep -q ' 待发送 ' <<<"$ls_zh" || fail "zh list: $ls_zh"
# aligned by display width: every row's SYNC column starts where its heading does
python3 - "$ls_zh" <<'PY' || fail "zh list not aligned: $ls_zh"
import sys, unicodedata
def col(line, word):
    i = line.index(word)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:i])
lines = sys.argv[1].splitlines()
want = col(lines[0], "同步")
assert all(col(l, "待发送") == want for l in lines[1:]), [col(l, "待发送") for l in lines[1:]]
PY
grep -q '^SEQ ' <<<"$("${EN[@]}" "$NODE" list --dir "$D")" || fail "en list"
show_zh=$("${ZH[@]}" "$NODE" show --dir "$D" 1)
grep -q '^行业 *建筑施工$' <<<"$show_zh" && grep -q '^直接经济损失(万元) *35.00$' <<<"$show_zh" || fail "zh show: $show_zh"
grep -q '^direct_loss_yuan *350000$' <<<"$("${EN[@]}" "$NODE" show --dir "$D" 1)" || fail "en show"
for c in "status" "list" "list --pending" "show 1" "show 3" "receipts" "inbox" "witnesses"; do
    # shellcheck disable=SC2086
    a=$("${ZH[@]}" "$NODE" $c --dir "$D" --json | md5sum)
    # shellcheck disable=SC2086
    b=$("${EN[@]}" "$NODE" $c --dir "$D" --json | md5sum)
    # shellcheck disable=SC2086
    o=$("${EN[@]}" "$NODE" $c --dir "$D" --json --lang zh | md5sum)
    [ "$a" = "$b" ] && [ "$a" = "$o" ] || fail "$c --json differs between languages"
done
pass "status, list (aligned), show in Chinese and English; --json byte-identical"

# ---------------------------------------------------------------- bulk summary
# 1200 reports: accidents every third, one 较大 (3 dead) and one 重大 (10 dead)
gen_reports 1200 BULK | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] == "accident": r["deaths"] = min(r["deaths"], 2)
    if r.get("accident_id") == "BULK-300": r["deaths"] = 3
    if r.get("accident_id") == "BULK-600": r["deaths"] = 10
    if r["type"] == "accident": r["direct_loss_yuan"] = 1000
    print(json.dumps(r, ensure_ascii=False))' >"$WORK/bulk.jsonl"
awk '!/"BULK-(300|600)"/ && n++ < 300' "$WORK/bulk.jsonl" >"$WORK/bulk-en.jsonl"
sed -i 's/"BULK-/"EN-/' "$WORK/bulk-en.jsonl"
echo '{"type":"accident","accident_id":"EN-LARGER","revision":0,"occurred_at":"2026-10-14T08:30:00+08:00","county_notified_at":"2026-10-14T08:50:00+08:00","place":"p","unit":{"name":"u"},"industry":"construction","category":"object_strike","summary":"s","deaths":0,"missing":0,"serious_injuries":12,"minor_injuries":0,"direct_loss_yuan":0}' >>"$WORK/bulk-en.jsonl"
out=$("${ZH[@]}" "$NODE" submit --dir "$D" "$WORK/bulk.jsonl" 2>"$WORK/bulk.err")
[ "$out" = "4 1203" ] || fail "bulk seqs: $out"
err=$(head -c 2000 "$WORK/bulk.err")
[ "$(wc -l <<<"$err")" -eq 5 ] || fail "zh bulk summary is not 5 lines: $err"
grep -qx '已存储 1200 份报告, 序号 4..1203: 事故报告 400 份, 月报 800 份' <<<"$err" || fail "zh stored: $err"
grep -qx '事故报告按等级(失踪按死亡计): 一般 398, 较大 1, 重大 1, 特别重大 0' <<<"$err" || fail "zh by grade: $err"
grep -qx '2 份须向州以上报告:' <<<"$err" || fail "zh above: $err"
grep -qx '  事故 BULK-300 第 0 次修订: 较大, 报告至 省应急管理厅' <<<"$err" || fail "zh 较大 not named: $err"
grep -qx '  事故 BULK-600 第 0 次修订: 重大, 报告至 应急管理部' <<<"$err" || fail "zh 重大 not named: $err"
[ -z "$(tr -d '\r' <"$WORK/bulk.err" | grep -F $'\r' || true)" ] && ! grep -q $'\r' "$WORK/bulk.err" || fail "progress in a file"
err=$("${EN[@]}" "$NODE" submit --dir "$D" --verbose "$WORK/bulk-en.jsonl" 2>&1 >/dev/null)
grep -qx 'stored 301 report(s), seq 1204..1504: 101 accident report(s), 200 monthly report(s)' <<<"$err" || fail "en stored: $err"
grep -qx 'accident reports by grade (missing counted as dead): general 100, larger 1, serious 0, especially_serious 0' <<<"$err" || fail "en by grade: $err"
grep -qx '  accident EN-LARGER revision 0: larger, report to province' <<<"$err" || fail "en larger not named: $err"
[ "$(grep -c ': grade .*, report to ' <<<"$err")" -eq 101 ] || fail "--verbose: not one line per accident"
grep -qx 'accident EN-LARGER revision 0: grade larger (较大), report to province (missing counted as dead)' <<<"$err" || fail "--verbose line: $err"
pass "bulk submit: one summary (较大/重大 named in zh, larger in en); --verbose adds one line per accident"

# ---------------------------------------------------------------- progress: submit
# (into a node of their own, never synced: the sync below stays small)
P="$WORK/pnode"
"$NODE" init --dir "$P" --county 222402 --aggregator "$EP" --aggregator-key "$AK" >/dev/null
gen_reports 1500 PTY >"$WORK/pty.jsonl"
script -qfec "$NODE submit --dir $P --lang en $WORK/pty.jsonl" /dev/null >"$WORK/pty.out" 2>&1 || fail "submit under script"
grep -q $'\r''submit: checking: [0-9]*/1500 reports' "$WORK/pty.out" || fail "no checking progress on a terminal: $(cat -v "$WORK/pty.out" | head -c 600)"
grep -q $'\r''submit: storing: 1500/1500 reports (100%)' "$WORK/pty.out" || fail "no storing progress on a terminal"
grep -q '^stored 1500 report(s)' "$WORK/pty.out" || fail "no summary under script"
gen_reports 1500 PTYQ >"$WORK/ptyq.jsonl"
script -qfec "$NODE submit --dir $P --quiet $WORK/ptyq.jsonl" /dev/null >"$WORK/ptyq.out" 2>&1 || fail "submit --quiet under script"
# a terminal ends lines with \r\n: all --quiet leaves is stdout's "FIRST LAST"
tr -d '\r' <"$WORK/ptyq.out" | grep -qxE '[0-9]+ [0-9]+' && [ "$(wc -l <"$WORK/ptyq.out")" -eq 1 ] ||
    fail "--quiet: $(cat -v "$WORK/ptyq.out" | head -c 400)"
gen_reports 1500 PTYF >"$WORK/ptyf.jsonl"
script -qfec "$NODE submit --dir $P $WORK/ptyf.jsonl 2>$WORK/ptyf.err" /dev/null >/dev/null 2>&1 || fail "submit 2>file"
! grep -q $'\r' "$WORK/ptyf.err" || fail "progress written to a file"
gen_reports 1500 PTYP >"$WORK/ptyp.jsonl"
"$NODE" submit --dir "$P" --progress "$WORK/ptyp.jsonl" >/dev/null 2>"$WORK/ptyp.err"
grep -q $'\r''submit: storing: 1500/1500' "$WORK/ptyp.err" || fail "--progress not forced into a file"
pass "submit progress: redrawn on a terminal, none in a file, none with --quiet, forced with --progress"

# ---------------------------------------------------------------- progress: sync
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP"
AGG_PID=$LAST_PID
sleep 0.5
script -qfec "$NODE sync --dir $D --once --timeout 60 --lang zh --log-level info 2>&1" /dev/null >"$WORK/sync.out" 2>&1 || fail "sync under script: $(cat -v "$WORK/sync.out" | tail -c 600)"
pending=1504 # all stored in D so far: none synced yet
grep -q $'\r''同步: [0-9]*/'"$pending"' 份报告' "$WORK/sync.out" || fail "no sync progress on a terminal: $(cat -v "$WORK/sync.out" | head -c 600)"
grep -q $'\r''同步: '"$pending/$pending" "$WORK/sync.out" || fail "sync progress never reached $pending/$pending"
grep -q "^sync: 全部 $pending 份报告已确认" "$WORK/sync.out" || fail "zh sync summary: $(tail -c 300 "$WORK/sync.out")"
# log lines stay English, with their ids
# (a log line may follow a progress line not yet ended: from its time on)
tr '\r' '\n' <"$WORK/sync.out" | grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z zhibao-node.* ZB-.*' \
    >"$WORK/log.lines" || fail "no log line at info"
! has_cjk <"$WORK/log.lines" || fail "a log line is not English: $(grep -m1 . "$WORK/log.lines")"
"$NODE" submit --dir "$D" "$EX/monthly.json" >/dev/null 2>&1
script -qfec "$NODE sync --dir $D --once 2>$WORK/sync.err" /dev/null >/dev/null 2>&1 || fail "sync 2>file"
! grep -q $'\r' "$WORK/sync.err" && grep -q "^sync: all $((pending + 1)) report(s) acknowledged" "$WORK/sync.err" || fail "sync into a file: $(cat -v "$WORK/sync.err")"
"$NODE" submit --dir "$D" "$EX/monthly.json" >/dev/null 2>&1
script -qfec "$NODE sync --dir $D --once --quiet" /dev/null >"$WORK/syncq.out" 2>&1 || fail "sync --quiet"
[ ! -s "$WORK/syncq.out" ] || fail "sync --quiet said: $(cat -v "$WORK/syncq.out")"
"$NODE" submit --dir "$D" "$EX/monthly.json" >/dev/null 2>&1
"$NODE" sync --dir "$D" --once --progress 2>"$WORK/syncp.err" || fail "sync --progress"
grep -q $'\r''sync: 1/1 reports (100%)' "$WORK/syncp.err" || fail "sync --progress not forced: $(cat -v "$WORK/syncp.err")"
pass "sync progress: done/total redrawn on a terminal, none in a file, --quiet silent, --progress forced; logs English"

# after the sync: text in both languages, JSON still identical
grep -q '^已确认      '"$((pending + 3))"'$' <<<"$("${ZH[@]}" "$NODE" status --dir "$D")" || fail "zh status after sync"
grep -q ' 已回执 ' <<<"$("${ZH[@]}" "$NODE" list --dir "$D" | head -n 3)" || fail "zh list: receipted"
rc_zh=$("${ZH[@]}" "$NODE" receipts --dir "$D" | head -n 2)
grep -q '^起 ' <<<"$rc_zh" && grep -q ' 是 ' <<<"$rc_zh" || fail "zh receipts: $rc_zh"
for c in "status" "list" "receipts"; do
    # shellcheck disable=SC2086
    [ "$("${ZH[@]}" "$NODE" $c --dir "$D" --json | md5sum)" = "$("${EN[@]}" "$NODE" $c --dir "$D" --json | md5sum)" ] ||
        fail "$c --json differs after sync"
done
kill "$AGG_PID"
pass "after sync: receipts and states labelled in Chinese, JSON unchanged"
