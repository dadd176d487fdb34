#!/usr/bin/env bash
# Issue 16 for zhibao-witness: the witness's CLI in Chinese and English. A
# witness follows two logs (one named in Chinese) and serves an
# aggregator-like client (zb-witness-client) that sends honest heads and
# forked ones, so that evidence of both kinds is kept. Under
# LANG=zh_CN.UTF-8, LANG=C.UTF-8 and --lang: init's and add-log's lines,
# usage errors naming the option (exit 2 in both), the status table
# (headings and a Chinese name aligned by display width) and its counts,
# evidence's lines (kinds, reasons, what each proves), --help of every
# command and the overview; --json byte-identical whatever the language;
# log lines English.
source "$(dirname "$0")/../lib.sh"
WIT="$ZB_BIN/zhibao-witness"
CLIENT="$ZB_BUILD/tests/zb-witness-client"

# zh CMD...: run under a Chinese locale; en CMD...: under C.UTF-8 (neither
# locale need be installed: the catalog is found beside the binaries)
zh() { env -u LC_ALL -u LC_MESSAGES LANG=zh_CN.UTF-8 "$@"; }
en() { env -u LC_ALL -u LC_MESSAGES LANG=C.UTF-8 "$@"; }
# expect RC OUTFILE CMD...: run CMD (stdout to OUTFILE, stderr to OUTFILE.err), exit RC
expect() {
    local want=$1 out=$2 rc
    shift 2
    set +e
    "$@" >"$out" 2>"$out.err"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want: $(cat "$out" "$out.err")"
}
has() { grep -qF -- "$2" "$1" || fail "no '$2' in $1: $(cat "$1")"; }
hasnt() { ! grep -qF -- "$2" "$1" || fail "'$2' in $1: $(cat "$1")"; }
# aligned FILE N: the status table's first N lines (headings, rows) line up
# by display width: NAME, ROOT and COSIGNED AT start at the same column in
# each, SIZE (right-aligned) ends at the same column
aligned() {
    python3 - "$1" "$2" <<'PY' || fail "not aligned by display width: $(cat "$1")"
import re, sys, unicodedata
rows = open(sys.argv[1], encoding='utf-8').read().splitlines()[:int(sys.argv[2])]
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in s)
cols = []
for r in rows:
    m = re.match(r'^(\S+) +(.+?) +(\S+)  (\S+) +(.+)$', r)
    assert m, r
    cols.append((width(r[:m.start(2)]), width(r[:m.end(3)]), width(r[:m.start(4)]),
                 width(r[:m.start(5)])))
assert len(set(cols)) == 1, (cols, rows)
PY
}

W="$WORK/w"
KEY_A=$(printf 'ab%.0s' {1..32})

# ---- init: the lines in the chosen language, the key last in both
expect 0 "$WORK/init_zh" zh "$WIT" init --dir "$W"
has "$WORK/init_zh" "见证方已创建于 $W"
has "$WORK/init_zh" "请把此公钥交给汇总端和审计方(--witness-key):"
WK=$(tail -n 1 "$WORK/init_zh")
[[ "$WK" =~ ^[0-9a-f]{64}$ ]] || fail "init's last line is not the key: $WK"
expect 0 "$WORK/init_en" en "$WIT" init --dir "$WORK/w2"
has "$WORK/init_en" "witness created in $WORK/w2"
has "$WORK/init_en" "give the aggregator and the auditors this key (--witness-key):"
[[ "$(tail -n 1 "$WORK/init_en")" =~ ^[0-9a-f]{64}$ ]] || fail "init's last line in English"
expect 2 "$WORK/again_zh" zh "$WIT" init --dir "$W"
[ "$(cat "$WORK/again_zh.err")" = "错误: --dir: $W 中已有见证方(或其他 zhibao 密钥)" ] ||
    fail "init again in Chinese: $(cat "$WORK/again_zh.err")"
expect 2 "$WORK/again_en" en "$WIT" init --dir "$W"
[ "$(cat "$WORK/again_en.err")" = "error: --dir: $W already holds a witness (or another zhibao key)" ] ||
    fail "init again in English: $(cat "$WORK/again_en.err")"
pass "init: lines in Chinese and English, the key last in both; init again exit 2 in both"

# ---- add-log: new, again (a rename), in both languages
AK=$("$CLIENT" keygen "$WORK/agg.key")
expect 0 "$WORK/add_zh" zh "$WIT" add-log --dir "$W" --key "$AK" --name "延边朝鲜族自治州"
[ "$(cat "$WORK/add_zh")" = "已跟踪日志 $AK, 从规模 0 开始" ] || fail "add-log in Chinese: $(cat "$WORK/add_zh")"
expect 0 "$WORK/add2_en" en "$WIT" add-log --dir "$W" --key "$AK" --name "延边朝鲜族自治州应急管理局"
[ "$(cat "$WORK/add2_en")" = "log $AK was followed already: name set, state kept" ] ||
    fail "add-log again in English: $(cat "$WORK/add2_en")"
expect 0 "$WORK/add3_en" en "$WIT" add-log --dir "$W" --key "$KEY_A" --name "Yanbian"
[ "$(cat "$WORK/add3_en")" = "log $KEY_A followed from size 0" ] || fail "add-log in English"
expect 0 "$WORK/add4_zh" en "$WIT" --lang zh add-log --dir "$W" --key "$KEY_A" --name "Yanbian test"
[ "$(cat "$WORK/add4_zh")" = "日志 $KEY_A 已在跟踪中: 名称已更新, 状态保留" ] ||
    fail "add-log again with --lang zh: $(cat "$WORK/add4_zh")"
pass "add-log: followed / renamed in Chinese and English, --lang before the command"

# ---- usage errors: the option named as typed, the reason translated, exit 2 in both
err_both() { # err_both ZH_LINE EN_LINE ARGS...: exit 2 and exactly that first line on stderr
    local zl=$1 el=$2
    shift 2
    expect 2 "$WORK/u" zh "$WIT" "$@"
    [ "$(head -n 1 "$WORK/u.err")" = "$zl" ] || fail "$*: '$(cat "$WORK/u.err")' under zh_CN, want '$zl'"
    expect 2 "$WORK/u" en "$WIT" "$@"
    [ "$(head -n 1 "$WORK/u.err")" = "$el" ] || fail "$*: '$(cat "$WORK/u.err")' under C.UTF-8, want '$el'"
}
err_both "错误: --key: 必须是64位十六进制数字" "error: --key: must be 64 hex digits" \
    add-log --dir "$W" --key nothex
err_both "错误: --key: 缺少(汇总端的公钥, 由 zhibao-agg init 输出)" \
    "error: --key: missing (the aggregator's key, zhibao-agg init printed it)" add-log --dir "$W"
err_both "错误: --name: 最多 128 字节, 不得含控制字符" "error: --name: at most 128 bytes, no control characters" \
    add-log --dir "$W" --key "$AK" --name "$(printf 'a\tb')"
err_both "错误: --dir: 缺少(见证方的目录)" "error: --dir: missing (the witness's directory)" status
err_both "错误: --dir: 缺少取值" "error: --dir: needs a value" status --dir
err_both "错误: --bogus: 未知选项" "error: --bogus: unknown option" evidence --dir "$W" --bogus
has "$WORK/u.err" "(zhibao-witness evidence --help lists the options)"
err_both "错误: 多余的参数 extra" "error: unexpected argument extra" status --dir "$W" extra
err_both "错误: --log-level: 必须是 error、warn、info 或 debug" \
    "error: --log-level: must be error, warn, info or debug" status --dir "$W" --log-level loud
err_both "错误: --listen: 缺少(例如 tcp://0.0.0.0:7500)" "error: --listen: missing (e.g. tcp://0.0.0.0:7500)" \
    serve --dir "$W"
err_both "错误: --dir: $WORK/none 中没有见证方(请先运行 zhibao-witness init)" \
    "error: --dir: no witness in $WORK/none (run zhibao-witness init first)" status --dir "$WORK/none"
err_both "错误: 未知命令 frobnicate" "error: unknown command frobnicate" frobnicate
has "$WORK/u.err" "usage: zhibao-witness COMMAND [options]"
err_both "错误: --lang: 必须是 zh 或 en" "error: --lang: must be zh or en" status --dir "$W" --lang fr
expect 2 "$WORK/u" zh "$WIT" --lang xx status --dir "$W"
[ "$(cat "$WORK/u.err")" = "错误: --lang: 必须是 zh 或 en" ] || fail "--lang xx: $(cat "$WORK/u.err")"
expect 2 "$WORK/u" zh "$WIT" status --dir "$W" --lang en --bogus # --lang over the locale
[ "$(head -n 1 "$WORK/u.err")" = "error: --bogus: unknown option" ] || fail "--lang en: $(cat "$WORK/u.err")"
expect 2 "$WORK/u" zh "$WIT"
has "$WORK/u.err" "用法: zhibao-witness 命令 [选项]"
pass "usage errors name the option in Chinese and English, exit 2 in both; --lang overrides the locale"

# ---- serve: honest heads and forked ones; evidence of both kinds kept
PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
start_bg env -u LC_ALL -u LC_MESSAGES LANG=zh_CN.UTF-8 "$WIT" serve --dir "$W" --listen "$EP" 2>"$WORK/serve.log"
wpid=$LAST_PID
start_bg "$CLIENT" run "$EP" "$WK" "$WORK/agg.key" "$WORK/stop" "$WORK" >"$WORK/summary" 2>"$WORK/client.err"
client=$LAST_PID
kinds_kept() { # evidence of both kinds: some forks, and more evidence than forks
    local j
    j=$(en "$WIT" status --dir "$W" --json)
    [ "$(json_get "$j" "j['forks'] >= 1 and j['evidence'] > j['forks']")" = True ]
}
for ((t = 0; t < 300; t++)); do kinds_kept && break; sleep 0.1; done
kinds_kept || fail "no evidence of both kinds after 30 s: $(cat "$WORK/client.err")"
touch "$WORK/stop"
crc=0; wait "$client" || crc=$?
[ "$crc" = 0 ] || fail "the client found failures (exit $crc): $(cat "$WORK/summary" "$WORK/client.err")"
kill -TERM "$wpid"
wrc=0; wait "$wpid" || wrc=$?
[ "$wrc" = 0 ] || fail "serve did not stop cleanly (exit $wrc)"
has "$WORK/serve.log" "ZB-WIT-START witness"
has "$WORK/serve.log" "ZB-WIT-REFUSED"
has "$WORK/serve.log" "ZB-WIT-STOP stopped"
! grep -qP '[^\x00-\x7F]' "$WORK/serve.log" || fail "non-English log lines under zh_CN: $(grep -P '[^\x00-\x7F]' "$WORK/serve.log" | head -3)"
ST=$(en "$WIT" status --dir "$W" --json)
SIZE=$(json_get "$ST" "[l for l in j['logs'] if l['key'] == '$AK'][0]['size']")
EV=$(json_get "$ST" "j['evidence']") FORKS=$(json_get "$ST" "j['forks']") REFUSED=$(json_get "$ST" "j['refused']")
pass "serve under zh_CN: $EV evidence records ($FORKS forks), log size $SIZE, log lines English"

# ---- --json: byte-identical in every language
for cmd in status evidence; do
    for lang in "en" "zh" "en --lang zh" "zh --lang en"; do
        set -- $lang
        expect 0 "$WORK/j_${cmd}_$1$#" "$1" "$WIT" "$cmd" --dir "$W" --json ${2:+"$2"} ${3:+"$3"}
        cmp -s "$WORK/j_${cmd}_en1" "$WORK/j_${cmd}_$1$#" || fail "$cmd --json differs under '$lang'"
    done
done
has "$WORK/j_evidence_zh1" '"kind": "fork"'
has "$WORK/j_evidence_zh1" '"kind": "unproven_extension"'
has "$WORK/j_evidence_zh1" '"reason": "same size as the head this witness cosigned, different root"'
pass "status and evidence --json byte-identical under zh_CN, C.UTF-8 and --lang (kinds, reasons English)"

# ---- status: headings, a Chinese name, aligned by display width; the counts
expect 0 "$WORK/st_en" en "$WIT" status --dir "$W"
grep -Eq '^LOG +NAME +SIZE +ROOT +COSIGNED AT$' "$WORK/st_en" || fail "English headings: $(cat "$WORK/st_en")"
grep -Eq "^${AK:0:16}  延边朝鲜族自治州应急管理局 +$SIZE  [0-9a-f]{16}  20[0-9-]{8}T[0-9:]{8}\+08:00$" "$WORK/st_en" ||
    fail "the followed log's row: $(cat "$WORK/st_en")"
grep -Eq "^${KEY_A:0:16}  Yanbian test +0  - +-$" "$WORK/st_en" || fail "the log never cosigned: $(cat "$WORK/st_en")"
has "$WORK/st_en" "logs: 2; refusals: $REFUSED; evidence kept: $EV (forks, proven by the aggregator's signatures: $FORKS)"
aligned "$WORK/st_en" 3
expect 0 "$WORK/st_zh" zh "$WIT" status --dir "$W"
grep -Eq '^日志 +名称 +规模 +根 +联署时间$' "$WORK/st_zh" || fail "Chinese headings: $(cat "$WORK/st_zh")"
has "$WORK/st_zh" "日志 2 个; 拒绝 $REFUSED 次; 保留证据 $EV 份(其中分叉, 由汇总端自己的签名证明: $FORKS 份)"
hasnt "$WORK/st_zh" "refusals"
aligned "$WORK/st_zh" 3
[ "$(sed -n 2,3p "$WORK/st_zh")" = "$(sed -n 2,3p "$WORK/st_en")" ] || fail "the rows differ between the languages"
expect 0 "$WORK/st_zh_en" zh "$WIT" status --dir "$W" --lang en
cmp -s "$WORK/st_en" "$WORK/st_zh_en" || fail "status --lang en under zh_CN differs from C.UTF-8"
expect 0 "$WORK/st_en_zh" en "$WIT" --lang=zh status --dir "$W"
cmp -s "$WORK/st_zh" "$WORK/st_en_zh" || fail "status --lang=zh under C.UTF-8 differs from zh_CN"
pass "status: headings and counts in Chinese and English, aligned by display width; --lang overrides"

# ---- evidence: kinds, reasons and what each proves, in both languages
expect 0 "$WORK/ev_en" en "$WIT" evidence --dir "$W"
expect 0 "$WORK/ev_zh" zh "$WIT" evidence --dir "$W"
[ "$(grep -c '  log ' "$WORK/ev_en")" = "$EV" ] || fail "evidence lines in English: $(cat "$WORK/ev_en")"
[ "$(grep -c '  日志 ' "$WORK/ev_zh")" = "$EV" ] || fail "evidence lines in Chinese: $(cat "$WORK/ev_zh")"
grep -Eq "^[0-9T:+-]{25}  fork                log ${AK:0:16}  refused size ([0-9]+) root [0-9a-f]{16} \(signed [0-9T:+-]{25}\), held size \1 root [0-9a-f]{16}: same size as the head this witness cosigned, different root$" \
    "$WORK/ev_en" || fail "a fork in English: $(cat "$WORK/ev_en")"
grep -Eq "^[0-9T:+-]{25}  unproven_extension  log ${AK:0:16}  refused size [0-9]+ root [0-9a-f]{16} \(signed [0-9T:+-]{25}\), held size ([0-9]+) root [0-9a-f]{16}: the consistency proof from size \1 does not verify$" \
    "$WORK/ev_en" || fail "an unproven extension in English: $(cat "$WORK/ev_en")"
has "$WORK/ev_en" "evidence kept: $EV, of which forks: $FORKS"
has "$WORK/ev_en" "unproven_extension: ask the prefecture for PROOF(held size, refused size)"
grep -Eq "^[0-9T:+-]{25}  分叉          日志 ${AK:0:16}  被拒树头规模 ([0-9]+) 根 [0-9a-f]{16}\(汇总端签于 [0-9T:+-]{25}\), 当时持有规模 \1 根 [0-9a-f]{16}: 与本见证方联署的树头规模相同, 根不同$" \
    "$WORK/ev_zh" || fail "a fork in Chinese: $(cat "$WORK/ev_zh")"
grep -Eq "^[0-9T:+-]{25}  延续未获证明  日志 ${AK:0:16}  被拒树头规模 [0-9]+ 根 [0-9a-f]{16}\(汇总端签于 [0-9T:+-]{25}\), 当时持有规模 ([0-9]+) 根 [0-9a-f]{16}: 从规模 \1 起的一致性证明验证不通过$" \
    "$WORK/ev_zh" || fail "an unproven extension in Chinese: $(cat "$WORK/ev_zh")"
has "$WORK/ev_zh" "保留证据 $EV 份, 其中分叉 $FORKS 份"
has "$WORK/ev_zh" "分叉: 同一规模的两个树头都由该日志的密钥签名: 证明其日志已分叉"
has "$WORK/ev_zh" "延续未获证明: 请向州里索取 PROOF(持有规模, 被拒规模)"
hasnt "$WORK/ev_zh" "refused size"
expect 0 "$WORK/ev_en_zh" en "$WIT" evidence --dir "$W" --lang zh
cmp -s "$WORK/ev_zh" "$WORK/ev_en_zh" || fail "evidence --lang zh under C.UTF-8 differs from zh_CN"
expect 0 "$WORK/ev2_en" en "$WIT" evidence --dir "$WORK/w2"
[ "$(cat "$WORK/ev2_en")" = "evidence kept: 0, of which forks: 0" ] || fail "no evidence: $(cat "$WORK/ev2_en")"
pass "evidence: kinds (分叉/延续未获证明), reasons and what each proves in Chinese and English"

# ---- --help: the overview and every command's page, in both languages
for cmd in "" init add-log serve status evidence; do
    expect 0 "$WORK/h_en" en "$WIT" $cmd --help
    expect 0 "$WORK/h_zh" zh "$WIT" $cmd --help
    head -n 1 "$WORK/h_en" | grep -q "^usage: zhibao-witness ${cmd:-COMMAND}" ||
        fail "$cmd --help in English: $(head -n 1 "$WORK/h_en")"
    head -n 1 "$WORK/h_zh" | grep -q "^用法: zhibao-witness ${cmd:-命令}" ||
        fail "$cmd --help in Chinese: $(head -n 1 "$WORK/h_zh")"
    has "$WORK/h_en" "common options:"
    has "$WORK/h_en" "--lang zh|en"
    has "$WORK/h_zh" "通用选项:"
    has "$WORK/h_zh" "退出码:"
    hasnt "$WORK/h_zh" "exit codes"
    expect 0 "$WORK/h_en_zh" en "$WIT" --lang zh $cmd --help
    cmp -s "$WORK/h_zh" "$WORK/h_en_zh" || fail "$cmd --help with --lang zh differs from zh_CN"
done
expect 0 "$WORK/h" zh "$WIT" evidence --help
has "$WORK/h" "分叉(同一规模"
expect 0 "$WORK/h" zh "$WIT" serve --help
has "$WORK/h" "docs/protocol.md 第 13.2 节"
pass "--help: the overview and the pages of init, add-log, serve, status and evidence in both languages"
