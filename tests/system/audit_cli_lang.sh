#!/usr/bin/env bash
# Issue 16 for zhibao-audit: the auditor's CLI in Chinese and English. A
# real bundle (a witness, the prefecture, two counties) is verified,
# judged for timeliness and checked for consistency under LANG=zh_CN.UTF-8,
# LANG=C.UTF-8 and --lang: the summary, key events, findings on a tampered
# copy, usage errors naming the option, the timeliness table (labels,
# headings, aligned by display width), consistency and each command's
# --help in both languages; --json output byte-identical whatever the
# language, exit codes the same; progress (done/total entries, redrawn
# with "\r") under a pseudo-terminal (script), not when stderr is a file,
# forced by --progress, silenced by --quiet.
source "$(dirname "$0")/../lib.sh"
WIT="$ZB_BIN/zhibao-witness"
AUDIT="$ZB_BIN/zhibao-audit"
command -v script >/dev/null || fail "script (util-linux) is needed for the pseudo-terminal checks"

wait_for() { # wait_for SECONDS COMMAND...: until COMMAND succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}
witnessed_up_to() { # the newest witnessed head covers the whole log
    local j
    j=$("$AGG" witness --dir "$1" --json)
    [ "$(json_get "$j" "j['witnessed_size'] == j['log_size'] and j['log_size'] > 0")" = True ]
}
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

# ---- a real bundle: a witness cosigns the prefecture's log; 222401 files
# its monthly report (and some more), 222402 files nothing this month
W="$WORK/witness" A="$WORK/agg"
WPORT=$(free_port) PORT=$(free_port)
WKEY=$("$WIT" init --dir "$W" | tail -n 1)
AK=$(agg_init "$A")
"$WIT" add-log --dir "$W" --key "$AK" --name "Yanbian" >/dev/null
start_bg "$WIT" serve --dir "$W" --listen "tcp://127.0.0.1:$WPORT"
"$AGG" witness --dir "$A" --add "$WKEY" --endpoint "tcp://127.0.0.1:$WPORT" >/dev/null
for c in 222401 222402; do node_init "$WORK/n$c" $c "tcp://127.0.0.1:$PORT" "$AK" "$A"; done
PERIOD=$(TZ=Asia/Shanghai date +%Y-%m)
start_bg "$AGG" serve --dir "$A" --listen "tcp://127.0.0.1:$PORT"
printf '{"type":"monthly","period":"%s","tasks":[{"task":3,"status":"in_progress","progress":"p"}]}\n' \
    "$PERIOD" | "$NODE" submit --dir "$WORK/n222401" - >/dev/null 2>&1
"$NODE" sync --dir "$WORK/n222401" --once --timeout 30 >/dev/null 2>&1 || fail "sync 222401"
wait_for 20 witnessed_up_to "$A" || fail "the witness did not cosign the prefecture's head"
"$AGG" tree-head --dir "$A" --out "$WORK/th1" >/dev/null || fail "tree-head"
gen_reports 30 B | "$NODE" submit --dir "$WORK/n222402" - >/dev/null 2>&1 || fail "submit 222402"
"$NODE" sync --dir "$WORK/n222402" --once --timeout 30 >/dev/null 2>&1 || fail "sync 222402"
wait_for 20 witnessed_up_to "$A" || fail "the witness did not cosign the grown log"
"$AGG" export --dir "$A" --out "$WORK/b" >/dev/null || fail "export"
en "$AUDIT" verify "$WORK/b" --key "$AK" --witness-key "$WKEY" --json >"$WORK/v.json" ||
    fail "verify: $(cat "$WORK/v.json")"
SIZE=$(json_get "$(cat "$WORK/v.json")" "j['tree_size']")
[ "$SIZE" -ge 33 ] || fail "tree size $SIZE: expected the key events and 31 reports"
pass "a bundle of $SIZE entries, witnessed"

# ---- verify: the summary and key events in the chosen language
V=(verify "$WORK/b" --key "$AK" --witness-key "$WKEY")
expect 0 "$WORK/v_en" en "$AUDIT" "${V[@]}"
has "$WORK/v_en" "bundle verified: 2 counties, 31 reports, tree size $SIZE"
has "$WORK/v_en" "witnessed: size $SIZE cosigned by a quorum of 1 of the 1 witnesses given"
has "$WORK/v_en" "key 222401 epoch 0 enrolled"
expect 0 "$WORK/v_zh" zh "$AUDIT" "${V[@]}"
has "$WORK/v_zh" "审计包核验通过: 2 个县市, 31 份报告, 树规模 $SIZE"
has "$WORK/v_zh" "已见证: 规模 $SIZE 已由所给见证方达到门限联署"
has "$WORK/v_zh" "密钥 县市 222401 第 0 代 登记"
has "$WORK/v_zh" "(首个密钥)"
hasnt "$WORK/v_zh" "bundle verified"
expect 0 "$WORK/v_zh_en" zh "$AUDIT" "${V[@]}" --lang en # --lang over the locale
cmp -s "$WORK/v_en" "$WORK/v_zh_en" || fail "--lang en under zh_CN differs from C.UTF-8"
expect 0 "$WORK/v_en_zh" en "$AUDIT" --lang zh "${V[@]}" # before the command too
cmp -s "$WORK/v_zh" "$WORK/v_en_zh" || fail "--lang zh under C.UTF-8 differs from zh_CN"
pass "verify: summary and key events in Chinese and English; --lang overrides the locale"

# ---- --json: byte-identical in every language (findings stay English)
for lang in "en" "zh" "en --lang zh" "zh --lang en"; do
    set -- $lang
    expect 0 "$WORK/j_$1$#" "$1" "$AUDIT" "${V[@]}" --json ${2:+"$2"} ${3:+"$3"}
    cmp -s "$WORK/j_en1" "$WORK/j_$1$#" || fail "verify --json differs under '$lang'"
done
expect 0 "$WORK/tj_en" en "$AUDIT" timeliness "$WORK/b" --key "$AK" --witness-key "$WKEY" \
    --period "$PERIOD" --json
expect 0 "$WORK/tj_zh" zh "$AUDIT" timeliness "$WORK/b" --key "$AK" --witness-key "$WKEY" \
    --period "$PERIOD" --json --lang zh
cmp -s "$WORK/tj_en" "$WORK/tj_zh" || fail "timeliness --json differs between the languages"
has "$WORK/tj_zh" '"status": "on_time"'
pass "--json byte-identical under zh_CN, C.UTF-8 and --lang"

# ---- a tampered copy: the findings in the chosen language, exit 1 in both
python3 - "$WORK/b" "$WORK/t_flip" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
magic = b"ZBBUNDLE1\n"
recs, off = [], len(magic)
while off < len(data):
    (n,) = struct.unpack(">I", data[off:off + 4])
    recs.append(data[off:off + 4 + n])
    off += 4 + n
entries = [i for i, r in enumerate(recs) if r[4] == 0x1a]
e = entries[-1]  # the last leaf: a report of 222402; a byte of its signed report
b = bytearray(recs[e]); b[len(b) - 110] ^= 0x01; recs[e] = bytes(b)
open(sys.argv[2], 'wb').write(magic + b"".join(recs))
PY
LAST=$((SIZE - 1))
expect 1 "$WORK/f_en" en "$AUDIT" verify "$WORK/t_flip" --key "$AK"
has "$WORK/f_en" "log entry $LAST: envelope does not verify: signature or proof does not verify"
has "$WORK/f_en" "tree head: the root of the bundle's $SIZE log entries is not the signed root"
has "$WORK/f_en.err" "finding(s)"
expect 1 "$WORK/f_zh" zh "$AUDIT" verify "$WORK/t_flip" --key "$AK"
has "$WORK/f_zh" "日志条目 $LAST: 报告信封核验不通过: 签名或证明核验不通过"
has "$WORK/f_zh" "树头: 审计包 $SIZE 个日志条目的根不是签名的根"
has "$WORK/f_zh" "结束记录: 审计包字节的 SHA-256 不符"
has "$WORK/f_zh.err" "发现问题"
[ "$(wc -l <"$WORK/f_en")" = "$(wc -l <"$WORK/f_zh")" ] || fail "not one line per finding in both"
expect 1 "$WORK/fj_en" en "$AUDIT" verify "$WORK/t_flip" --key "$AK" --json
expect 1 "$WORK/fj_zh" zh "$AUDIT" verify "$WORK/t_flip" --key "$AK" --json
cmp -s "$WORK/fj_en" "$WORK/fj_zh" || fail "verify --json of findings differs between the languages"
has "$WORK/fj_zh" "log entry $LAST: envelope does not verify"
expect 1 "$WORK/ft_zh" zh "$AUDIT" timeliness "$WORK/t_flip" --key "$AK" --witness-key "$WKEY" \
    --period "$PERIOD"
has "$WORK/ft_zh" "日志条目 $LAST: 报告信封核验不通过"
has "$WORK/ft_zh.err" "审计包核验不通过, 不据此作任何判定"
pass "tampered copy: findings in Chinese and English, --json English and identical, exit 1"

# ---- usage errors name the option, in the chosen language; exit 2
expect 2 "$WORK/u1" en "$AUDIT" verify "$WORK/b" --key 12
has "$WORK/u1.err" "error: --key: must be 64 hex digits (the aggregator's public key)"
expect 2 "$WORK/u2" zh "$AUDIT" verify "$WORK/b" --key 12
has "$WORK/u2.err" "错误: --key: 必须是 64 位十六进制数(汇总端公钥)"
expect 2 "$WORK/u3" zh "$AUDIT" timeliness "$WORK/b" --key "$AK" --witness-key "$WKEY" --period 2026-13
has "$WORK/u3.err" "错误: --period: '2026-13' 不是月份"
expect 2 "$WORK/u4" zh "$AUDIT" verify "$WORK/b" --key "$AK" --bogus
has "$WORK/u4.err" "错误: --bogus: 未知选项"
expect 2 "$WORK/u5" en "$AUDIT" verify "$WORK/b" --key "$AK" --lang fr
[ "$(cat "$WORK/u5.err")" = "error: --lang: must be zh or en" ] || fail "--lang fr: $(cat "$WORK/u5.err")"
expect 2 "$WORK/u6" zh "$AUDIT" --lang xx verify "$WORK/b"
has "$WORK/u6.err" "错误: --lang: 必须是 zh 或 en"
expect 2 "$WORK/u7" zh "$AUDIT" consistency "$WORK/th1" "$WORK/b" --key "$AK" --json
has "$WORK/u7.err" "错误: --json: 只有 verify 和 timeliness 有此选项"
expect 2 "$WORK/u8" zh "$AUDIT" verify "$WORK/nonexistent" --key "$AK"
has "$WORK/u8.err" "错误: BUNDLE: 无法打开 $WORK/nonexistent"
expect 2 "$WORK/u9" zh "$AUDIT" frobnicate
has "$WORK/u9.err" "错误: 未知命令 frobnicate"
pass "usage errors name the option in Chinese and English, exit 2"

# ---- timeliness: the table in Chinese (labels, headings), aligned by display width
T=(timeliness "$WORK/b" --key "$AK" --witness-key "$WKEY" --period "$PERIOD")
expect 0 "$WORK/t_en" en "$AUDIT" "${T[@]}"
has "$WORK/t_en" "county"
has "$WORK/t_en" "on_time_proven"
grep -Eq '^222401 +on_time .* yes$' "$WORK/t_en" || fail "222401 row: $(cat "$WORK/t_en")"
grep -Eq '^222402 +missing .* no$' "$WORK/t_en" || fail "222402 row: $(cat "$WORK/t_en")"
has "$WORK/t_en" "proven on time: 1 of 2 counties"
expect 0 "$WORK/t_zh" zh "$AUDIT" "${T[@]}"
grep -Eq '^县市 +报送状态 +序号 +日志条目 +填报时间 +接收时间 +截止时间 +见证时间 +树规模 +按时已证明$' \
    "$WORK/t_zh" || fail "Chinese headings: $(cat "$WORK/t_zh")"
grep -Eq '^222401 +按时 .* 是$' "$WORK/t_zh" || fail "222401 row in Chinese: $(cat "$WORK/t_zh")"
grep -Eq '^222402 +未报 .* 否$' "$WORK/t_zh" || fail "222402 row in Chinese: $(cat "$WORK/t_zh")"
has "$WORK/t_zh" "经见证方证明按时: 1 个, 共 2 个县市"
python3 - "$WORK/t_zh" <<'PY' || fail "the Chinese table is not aligned: $(cat "$WORK/t_zh")"
import re, sys, unicodedata
rows = open(sys.argv[1], encoding='utf-8').read().splitlines()[:3]
def starts(line):  # display column where each cell starts (cells: 2+ spaces apart)
    out = []
    for m in re.finditer(r'\S+(?: \S+)*', line):
        out.append(sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in line[:m.start()]))
    return out
s = [starts(r) for r in rows]  # headings, 222401, 222402 (its '-' cells too)
assert len(s[0]) == 10 and s[0] == s[1] == s[2], s
PY
pass "timeliness table: 按时/未报, 是/否, Chinese headings, aligned by display width"

# ---- consistency in both languages
expect 0 "$WORK/c_en" en "$AUDIT" consistency "$WORK/th1" "$WORK/b" --key "$AK"
grep -Eq "^consistent: the log of size $SIZE extends the log of size [0-9]+$" "$WORK/c_en" ||
    fail "consistency: $(cat "$WORK/c_en")"
expect 0 "$WORK/c_zh" zh "$AUDIT" consistency "$WORK/th1" "$WORK/b" --key "$AK"
grep -Eq "^一致: 规模 $SIZE 的日志延续了规模 [0-9]+ 的日志$" "$WORK/c_zh" ||
    fail "consistency in Chinese: $(cat "$WORK/c_zh")"
expect 1 "$WORK/c2_zh" zh "$AUDIT" consistency "$WORK/b" "$WORK/th1" --key "$AK"
has "$WORK/c2_zh" "旧树头有 $SIZE 个条目, 新树头只有"
pass "consistency: consistent / not consistent in Chinese and English"

# ---- --help: the overview and each command's page, in both languages
for cmd in verify timeliness consistency; do
    expect 0 "$WORK/h_en_$cmd" en "$AUDIT" $cmd --help
    has "$WORK/h_en_$cmd" "usage: zhibao-audit $cmd"
    has "$WORK/h_en_$cmd" "--lang zh|en"
    expect 0 "$WORK/h_zh_$cmd" zh "$AUDIT" $cmd --help
    has "$WORK/h_zh_$cmd" "用法: zhibao-audit $cmd"
    has "$WORK/h_zh_$cmd" "退出码:"
    has "$WORK/h_zh_$cmd" "通用选项:"
done
has "$WORK/h_en_verify" "--progress"
has "$WORK/h_zh_verify" "--quiet               不显示进度"
expect 0 "$WORK/h_zh" en "$AUDIT" --lang zh --help
has "$WORK/h_zh" "timeliness   先核验"
expect 0 "$WORK/h_en" zh "$AUDIT" --help --lang en
has "$WORK/h_en" "usage: zhibao-audit COMMAND [options]"
expect 2 "$WORK/h_none" en "$AUDIT"
has "$WORK/h_none.err" "usage: zhibao-audit COMMAND"
pass "--help: overview and every command's page in Chinese and English"

# ---- progress: under a pseudo-terminal, not when stderr is a file,
# forced by --progress, silenced by --quiet
q() { printf '%q ' "$@"; }
VQ=$(q "$AUDIT" verify "$WORK/b" --key "$AK" --witness-key "$WKEY")
en script -qfec "$VQ" /dev/null >"$WORK/p_tty" || fail "verify under script: $(cat "$WORK/p_tty")"
grep -q $'\r' "$WORK/p_tty" || fail "no \\r on a terminal: $(cat -A "$WORK/p_tty")"
has "$WORK/p_tty" "verifying the bundle: $SIZE/$SIZE log entries (100%)"
has "$WORK/p_tty" "bundle verified:"
zh script -qfec "$VQ" /dev/null >"$WORK/p_tty_zh" || fail "verify under script (zh)"
has "$WORK/p_tty_zh" "核验审计包: $SIZE/$SIZE 个日志条目 (100%)"
has "$WORK/p_tty_zh" "用时"
en script -qfec "$VQ --quiet" /dev/null >"$WORK/p_quiet" || fail "verify --quiet under script"
hasnt "$WORK/p_quiet" "verifying the bundle"
grep -q "bundle verified:" "$WORK/p_quiet" || fail "--quiet lost the summary: $(cat "$WORK/p_quiet")"
en script -qfec "$VQ 2>$(q "$WORK/p_file.err")" /dev/null >"$WORK/p_file" ||
    fail "verify with stderr to a file"
[ ! -s "$WORK/p_file.err" ] || fail "progress written to a file: $(cat -A "$WORK/p_file.err")"
hasnt "$WORK/p_file" "verifying the bundle"
expect 0 "$WORK/p_forced" en "$AUDIT" "${V[@]}" --progress
grep -q $'\r' "$WORK/p_forced.err" || fail "--progress: no \\r: $(cat -A "$WORK/p_forced.err")"
has "$WORK/p_forced.err" "$SIZE/$SIZE log entries"
expect 0 "$WORK/p_plain" en "$AUDIT" "${V[@]}"
[ ! -s "$WORK/p_plain.err" ] || fail "progress without a terminal: $(cat -A "$WORK/p_plain.err")"
cmp -s "$WORK/p_forced" "$WORK/p_plain" || fail "--progress changed stdout"
TQ=$(q "$AUDIT" "${T[@]}")
en script -qfec "$TQ" /dev/null >"$WORK/p_t" || fail "timeliness under script"
grep -q $'\r' "$WORK/p_t" && grep -qF "$SIZE/$SIZE log entries" "$WORK/p_t" ||
    fail "timeliness shows no progress on a terminal: $(cat -A "$WORK/p_t")"
expect 0 "$WORK/p_tj" en "$AUDIT" "${T[@]}" --json --progress
cmp -s "$WORK/p_tj" "$WORK/tj_en" || fail "--progress changed timeliness --json"
pass "progress: \\r and $SIZE/$SIZE on a terminal, none to a file, --progress forces, --quiet silences"
