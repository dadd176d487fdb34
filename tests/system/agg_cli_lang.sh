#!/usr/bin/env bash
# Issue 16, zhibao-agg: the language of what people read (LANG=zh_CN.UTF-8
# and C.UTF-8, --lang overriding both): usage errors naming the option, the
# status table's headings (aligned by display width), the acts' lines, a
# finding of `check` on a damaged store; --json byte for byte the same in
# both; --help per command in both (with issue 15's upstream and relay);
# init of a province in Chinese; progress of export, check and reindex
# under a pseudo-terminal (util-linux `script`): a redrawn line ("\r",
# "N/M"), none when stderr is a file, forced with --progress, none with
# --quiet.
source "$(dirname "$0")/../lib.sh"

command -v script >/dev/null || fail "util-linux script is needed (bsdutils on Debian)"
EX="$ZB_SOURCE_DIR/deploy/examples"
ZH=(env LANG=zh_CN.UTF-8 LC_ALL= LC_MESSAGES=)
EN=(env LANG=C.UTF-8 LC_ALL= LC_MESSAGES=)
A="$WORK/agg"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$A")
node_init "$WORK/n1" 222401 "$EP" "$AK" "$A"
node_init "$WORK/n2" 222402 "$EP" "$AK" "$A"
gen_reports 30 LANG >"$WORK/r.jsonl"
"$NODE" submit --dir "$WORK/n1" "$WORK/r.jsonl" >/dev/null 2>&1 || fail "submit"
"$NODE" submit --dir "$WORK/n2" "$EX/monthly.json" >/dev/null 2>&1 || fail "submit 2"
start_bg "$AGG" serve --dir "$A" --listen "$EP" --log-level warn
SERVE_PID=$LAST_PID
for n in n1 n2; do
    "$NODE" sync --dir "$WORK/$n" --once --timeout 60 >/dev/null 2>&1 || fail "sync $n"
done
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve did not stop cleanly"
BG_PIDS=()

# ---------------------------------------------------------------- usage errors
set +e
zh=$("${ZH[@]}" "$AGG" enroll --dir "$A" --county 12 --request /dev/null 2>&1); zh_rc=$?
en=$("${EN[@]}" "$AGG" enroll --dir "$A" --county 12 --request /dev/null 2>&1); en_rc=$?
ov=$("${EN[@]}" "$AGG" enroll --dir "$A" --county 12 --request /dev/null --lang zh 2>&1)
set -e
[ $zh_rc -eq 2 ] && [ $en_rc -eq 2 ] || fail "enroll --county 12: exit $zh_rc/$en_rc"
grep -qx '错误: --county: 必须是6位县级代码(例如 222401)' <<<"$zh" || fail "zh usage error: $zh"
grep -qx 'error: --county: must be a 6-digit county code (e.g. 222401)' <<<"$en" || fail "en usage error: $en"
[ "$ov" = "$zh" ] || fail "--lang zh under C.UTF-8: $ov"
set +e
out=$("${ZH[@]}" "$AGG" status --dir "$A" --bogus 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && grep -qx '错误: --bogus: 未知选项' <<<"$out" && grep -qx '参见: zhibao-agg status --help' <<<"$out" ||
    fail "unknown option: exit $rc: $out"
set +e
out=$("${ZH[@]}" "$AGG" review --dir "$A" --county 222401 --seq x --accept 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && grep -qx '错误: seq: 必须是报告序号(1, 2, ...)' <<<"$out" || fail "review --seq x: exit $rc: $out"
set +e
out=$("${ZH[@]}" LC_ALL=C.UTF-8 "$AGG" status --dir "$A" --lang fr 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && [ "$out" = "error: --lang: must be zh or en" ] || fail "--lang fr: exit $rc: $out"
pass "usage errors: the option kept, the reason translated; exit codes the same"

# ---------------------------------------------------------------- help
for cmd in init enroll revoke serve status check reindex report load-figures export tree-head \
    consistency-proof web review remind deadline notice witness upstream relay; do
    zh=$("${ZH[@]}" "$AGG" "$cmd" --help) || fail "$cmd --help (zh) exit $?"
    en=$("${EN[@]}" "$AGG" "$cmd" --help) || fail "$cmd --help (en) exit $?"
    head -n 1 <<<"$zh" | grep -q "^用法: zhibao-agg $cmd " || fail "$cmd --help zh: $(head -n 1 <<<"$zh")"
    head -n 1 <<<"$en" | grep -q "^usage: zhibao-agg $cmd " || fail "$cmd --help en: $(head -n 1 <<<"$en")"
    grep -q '^退出码' <<<"$zh" && grep -q '^exit codes' <<<"$en" || fail "$cmd --help: exit codes missing"
done
head -n 1 <<<"$("${ZH[@]}" "$AGG" report bulletin --help)" |
    grep -q '^用法: zhibao-agg report bulletin --dir A --period YYYY-MM' || fail "report bulletin --help"
ov=$("$AGG" --lang zh --help)
grep -q '^  witness ' <<<"$ov" && grep -q '^  upstream  *本州向其上报的省应急管理厅$' <<<"$ov" &&
    grep -q '^  relay  *立即向省里转报' <<<"$ov" || fail "overview: $ov"
grep -q -- '--prefecture CODE' <<<"$("${ZH[@]}" "$AGG" enroll --help)" || fail "enroll --help lacks --prefecture"
grep -q -- '--level L' <<<"$("${EN[@]}" "$AGG" init --help)" || fail "init --help lacks --level"
[ "$("$AGG" --lang zh help review)" = "$("${ZH[@]}" "$AGG" review --help)" ] || fail "help review"
grep -q -- '--progress' <<<"$("${EN[@]}" "$AGG" export --help)" || fail "export --help lacks --progress"
pass "--help for every command (and report bulletin) in both languages, with exit codes"

# ---------------------------------------------------------------- a province, in Chinese
out=$("${ZH[@]}" "$AGG" init --dir "$WORK/province" --level province --code 220000)
PK=$(tail -n 1 <<<"$out")
[[ "$PK" =~ ^[0-9a-f]{64}$ ]] || fail "province init: last line not a key: $out"
[ "$(sed -n 1p <<<"$out")" = "汇总端已创建于 $WORK/province" ] &&
    [ "$(sed -n 2p <<<"$out")" = "省 220000: 把此公钥交给每个州: zhibao-agg upstream ... --key $PK" ] ||
    fail "zh province init: $out"
set +e
out=$("${ZH[@]}" "$AGG" init --dir "$WORK/province2" --level province 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && [ "$out" = "错误: --code: 缺少: 省级须给出6位代码(例如 220000 吉林省)" ] ||
    fail "zh province init without --code: exit $rc: $out"
[ "$(json_get "$("$AGG" status --dir "$WORK/province" --json)" "j['level'] + ' ' + j['code']")" = "province 220000" ] ||
    fail "province status --json"
pass "init of a province in Chinese: its lines, the key last; without --code exit 2"

# ---------------------------------------------------------------- text and JSON
st_zh=$("${ZH[@]}" "$AGG" status --dir "$A")
st_en=$("${EN[@]}" "$AGG" status --dir "$A")
head -n 1 <<<"$st_zh" | grep -q '^区划代码 县市 .* 序号 .*报告数 .*消息  最近接收$' || fail "zh status headings: $st_zh"
head -n 1 <<<"$st_en" | grep -q '^COUNTY   NAME .* SEQ .*REPORTS .*MESSAGES  LAST RECEIVED$' || fail "en status: $st_en"
grep -q '^报告总数: 31$' <<<"$st_zh" && grep -q '^total reports: 31$' <<<"$st_en" || fail "status totals"
# aligned by display width: each row's REPORTS column ends where its heading does
python3 - "$st_zh" <<'PY' || fail "zh status not aligned: $st_zh"
import sys, unicodedata
def w(s): return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
lines = sys.argv[1].splitlines()
end = w(lines[0][:lines[0].index("报告数") + 3])
for l in lines[1:3]:
    cells = l.split()
    i = l.index(" " + cells[3] + " ", l.index(cells[2]) + len(cells[2]) - 1)
    assert w(l[:i + 1 + len(cells[3])]) == end, (l, end)
PY
for c in "status" "witness"; do
    a=$("${ZH[@]}" "$AGG" $c --dir "$A" --json | md5sum)
    b=$("${EN[@]}" "$AGG" $c --dir "$A" --json | md5sum)
    o=$("${EN[@]}" "$AGG" $c --dir "$A" --json --lang zh | md5sum)
    [ "$a" = "$b" ] && [ "$a" = "$o" ] || fail "$c --json differs between languages"
done
P=$(python3 -c 'import datetime as d; n=d.date.today().replace(day=1)-d.timedelta(days=1); print(n.strftime("%Y-%m"))')
a=$("${ZH[@]}" "$AGG" report monthly --dir "$A" --period "$P" --json | md5sum)
b=$("${EN[@]}" "$AGG" report monthly --dir "$A" --period "$P" --json | md5sum)
[ "$a" = "$b" ] || fail "report monthly --json differs between languages"
out=$("${ZH[@]}" "$AGG" review --dir "$A" --county 222401 --seq 2 --return --comment 补充 --reviewer 王科长)
[ "$out" = "已退回修改 222401 序号 2 的报告(消息 1 发往 222401)" ] || fail "zh review: $out"
out=$("${EN[@]}" "$AGG" review --dir "$A" --county 222401 --seq 2 --accept)
[ "$out" = "review of 222401 seq 2: accepted (message 2 to 222401)" ] || fail "en review: $out"
out=$("${ZH[@]}" "$AGG" notice --dir "$A" --county 222402 --title 通知 --text 正文)
[ "$out" = "通知发往 222402 图们市: 消息 1" ] || fail "zh notice: $out"
out=$("${ZH[@]}" "$AGG" check --dir "$A")
[ "$out" = "存储完好: 所有签名、序号和哈希链均验证通过" ] || fail "zh check: $out"
pass "status (headings, aligned), review, notice, check in Chinese and English; --json byte-identical"

# ---------------------------------------------------------------- a damaged store
if command -v mdb_load >/dev/null; then
    cp -r "$A" "$WORK/damaged"
    # an index entry the envelopes do not give
    printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n bogus\n x\nDATA=END\n' |
        mdb_load -s idx_chain "$WORK/damaged" || fail "mdb_load"
    set +e
    zh=$("${ZH[@]}" "$AGG" check --dir "$WORK/damaged" 2>/dev/null); zh_rc=$?
    en=$("${EN[@]}" "$AGG" check --dir "$WORK/damaged" 2>/dev/null); en_rc=$?
    set -e
    [ $zh_rc -eq 1 ] && [ $en_rc -eq 1 ] || fail "check of a damaged store: exit $zh_rc/$en_rc"
    [ "$zh" = "索引 chain: 有一条信封得不出的条目(键 bogus)" ] || fail "zh finding: $zh"
    [ "$en" = "index chain: an entry the envelopes do not give (key bogus)" ] || fail "en finding: $en"
    out=$("${ZH[@]}" "$AGG" reindex --dir "$WORK/damaged")
    [ "$out" = "已从 31 份信封重建索引" ] || fail "zh reindex: $out"
    "$AGG" check --dir "$WORK/damaged" >/dev/null || fail "reindex did not repair"
    pass "a finding of check in Chinese and English (exit 1 in both); reindex repairs"
else
    pass "(mdb_load missing: lmdb-utils; the damaged store skipped)"
fi

# ---------------------------------------------------------------- progress
# under a terminal: a redrawn line with N/M; the final line 100 %
pty() { script -qfec "$1" /dev/null >"$2" 2>&1 || fail "under script: $1"; }
pty "$AGG check --dir $A --lang en" "$WORK/pty.check"
# the 31 envelopes, then every log entry: 31 + the log's size records
LOGN=$(json_get "$("$AGG" witness --dir "$A" --json)" "j['log_size']")
T=$((31 + LOGN))
grep -q $'\r'"check: [0-9]*/$T records" "$WORK/pty.check" || fail "no check progress on a terminal: $(cat -v "$WORK/pty.check")"
grep -q "$T/$T records (100%)" "$WORK/pty.check" || fail "check progress does not end at $T/$T"
grep -q '^store intact' "$WORK/pty.check" || fail "check result under script"
pty "$AGG export --dir $A --out $WORK/b1 --lang en" "$WORK/pty.export"
grep -q $'\r''export: [0-9]*/[0-9]* log entries' "$WORK/pty.export" && grep -q '^exported ' "$WORK/pty.export" || fail "no export progress: $(cat -v "$WORK/pty.export")"
pty "$AGG reindex --dir $A --lang zh" "$WORK/pty.reindex"
grep -q $'\r''重建索引: [0-9]*/31 份信封' "$WORK/pty.reindex" || fail "no zh reindex progress: $(cat -v "$WORK/pty.reindex")"
# --quiet under a terminal: none
pty "$AGG check --dir $A --quiet" "$WORK/pty.quiet"
! grep -q $'\r'check "$WORK/pty.quiet" || fail "--quiet still shows progress"
pty "$AGG export --dir $A --out $WORK/b2 --quiet" "$WORK/pty.quiet2"
! grep -q 'export:' "$WORK/pty.quiet2" || fail "export --quiet still shows progress"
# stderr a file: none; with --progress: forced
for c in "check --dir $A" "reindex --dir $A" "export --dir $A --out $WORK/b3"; do
    # shellcheck disable=SC2086
    "$AGG" $c >/dev/null 2>"$WORK/file.err" || fail "$c"
    [ ! -s "$WORK/file.err" ] || fail "$c: progress into a file: $(cat -v "$WORK/file.err")"
    # shellcheck disable=SC2086
    "$AGG" $c --progress >/dev/null 2>"$WORK/forced.err" || fail "$c --progress"
    grep -q $'\r' "$WORK/forced.err" && grep -q '[0-9]/[0-9]' "$WORK/forced.err" ||
        fail "$c --progress: $(cat -v "$WORK/forced.err")"
done
pass "progress of check, export and reindex on a terminal (zh and en), none with --quiet or into a file, forced by --progress"
