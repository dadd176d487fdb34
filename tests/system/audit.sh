#!/usr/bin/env bash
# Issue 5 (export and audit): an aggregator with three nodes (and a fourth
# county whose key was replaced) exports a bundle that zhibao-audit verify
# accepts; copies altered in each way an auditor must catch (a flipped
# byte, a dropped, duplicated or swapped record, truncation, a changed tree
# head, an unsigned field, a wrong pinned key) are refused with a finding;
# equivocation kept as evidence is reported; tree heads taken before and
# after more syncing are proved consistent, and a log whose history was
# rewritten (same aggregator key, other order) is not.
source "$(dirname "$0")/../lib.sh"
AUDIT="$ZB_BIN/zhibao-audit"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
COUNTIES=(222401 222402 222403)
for c in "${COUNTIES[@]}"; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done
# a fourth county whose key will be replaced half-way: two key epochs
node_init "$WORK/n222404" 222404 "$EP" "$AK" "$WORK/agg"

# 100 reports per county, then supplementary revisions of three accidents
for c in "${COUNTIES[@]}"; do
    gen_reports 100 "A$c" | "$NODE" submit --dir "$WORK/n$c" - >/dev/null 2>&1 || fail "submit $c"
    for i in 0 3 6; do
        printf '{"type":"accident","accident_id":"A%s-%s","revision":1,"occurred_at":"2026-10-14T08:30:00+08:00","county_notified_at":"2026-10-14T08:50:00+08:00","place":"测试地点","unit":{"name":"测试单位"},"industry":"construction","category":"object_strike","summary":"续报","deaths":2,"missing":0,"serious_injuries":1,"minor_injuries":0,"direct_loss_yuan":5000}\n' "$c" "$i" |
            "$NODE" submit --dir "$WORK/n$c" - >/dev/null 2>&1 || fail "submit revision $c $i"
    done
done
# copies of the nodes with everything filed, for the rewritten-history aggregator
cp -a "$WORK/agg" "$WORK/agg_rewrite"
for c in "${COUNTIES[@]}"; do cp -a "$WORK/n$c" "$WORK/re$c"; done
pass "309 reports filed (with revisions) in three counties"

start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
AGG_PID=$LAST_PID
for c in 222401 222402; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 2>/dev/null || fail "sync $c"
done

# time 1: a signed tree head over the first two counties
"$AGG" tree-head --dir "$WORK/agg" --out "$WORK/th1" >/dev/null || fail "tree-head"
SIZE1=210 # 4 enrolments (key events), then 206 reports

# county 222404: three reports under its first key, then the key is replaced
# (with the aggregator stopped: key changes need no running server)
gen_reports 3 K1 | "$NODE" submit --dir "$WORK/n222404" - >/dev/null 2>&1
"$NODE" sync --dir "$WORK/n222404" --once --timeout 30 2>/dev/null || fail "sync 222404"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || fail "aggregator did not stop cleanly"
resume=$("$AGG" revoke --dir "$WORK/agg" --county 222404 | grep -o -- '--resume [0-9]*:[0-9a-f]*' |
         cut -d' ' -f2)
NEWKEY=$("$NODE" init --dir "$WORK/n222404b" --county 222404 --aggregator "$EP" \
           --aggregator-key "$AK" --resume "$resume" | tail -n 1)
"$AGG" enroll --dir "$WORK/agg" --county 222404 --request "$WORK/n222404b/key-request" \
    --key "$NEWKEY" >/dev/null || fail "enroll new key"
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
AGG_PID=$LAST_PID
gen_reports 2 K2 | "$NODE" submit --dir "$WORK/n222404b" - >/dev/null 2>&1
"$NODE" sync --dir "$WORK/n222404b" --once --timeout 30 2>/dev/null || fail "sync replacement"
"$NODE" sync --dir "$WORK/n222403" --once --timeout 60 2>/dev/null || fail "sync 222403"
pass "synced: 4 counties, 314 reports, one key replaced"

# ---- the honest bundle
"$AGG" export --dir "$WORK/agg" --out "$WORK/b" >/dev/null || fail "export"
[ ! -e "$WORK/b.tmp" ] || fail "export left its temporary file"
out=$("$AUDIT" verify "$WORK/b" --key "$AK") || fail "verify of the honest bundle: $out"
# the log: 314 reports and 6 key events (4 enrolments, a revocation, a replacement)
grep -q "4 counties, 314 reports, tree size 320" <<<"$out" || fail "summary: $out"
pass "honest bundle verifies: $out"

# ---- tampered copies: every one exits 1 naming the problem
python3 - "$WORK/b" "$WORK" <<'PY'
import struct, sys
src, work = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
magic = b"ZBBUNDLE1\n"
assert data.startswith(magic)
recs, off = [], len(magic)
while off < len(data):
    (n,) = struct.unpack(">I", data[off:off + 4])
    recs.append(data[off:off + 4 + n])
    off += 4 + n
# BundleRecord oneof tag byte: 0x0a header, 0x12 county, 0x1a entry,
# 0x22 evidence, 0x2a tree_head, 0x32 end
kind = lambda r: r[4]
entries = [i for i, r in enumerate(recs) if kind(r) == 0x1a]
head = [i for i, r in enumerate(recs) if kind(r) == 0x2a][0]
def write(name, rs):
    open(f"{work}/t_{name}", "wb").write(magic + b"".join(rs))
def flip(r, at):
    b = bytearray(r); b[at] ^= 0x01; return bytes(b)
e = entries[57]
# a byte inside the signed report: the envelope ends the record (its leaf's
# last field) with the signer (2 + 32 bytes) and the signature (2 + 64)
write("flip", recs[:e] + [flip(recs[e], len(recs[e]) - 110)] + recs[e + 1:])
write("drop", recs[:e] + recs[e + 1:])
write("dup", recs[:e + 1] + [recs[e]] + recs[e + 1:])
f = entries[100]
swapped = list(recs); swapped[e], swapped[f] = swapped[f], swapped[e]
write("swap", swapped)
open(f"{work}/t_trunc", "wb").write(data[:len(data) * 2 // 3])
open(f"{work}/t_trunc_end", "wb").write(magic + b"".join(recs[:-1]))
write("head", recs[:head] + [flip(recs[head], len(recs[head]) - 5)] + recs[head + 1:])
# received_at is signed by nobody: only the end hash protects it
def skip_varint(b, i):
    while b[i] & 0x80: i += 1
    return i + 1
g = bytearray(recs[e])
i = skip_varint(g, 5)                    # after the tag 0x1a and the entry's length
assert g[i] == 0x08                      # BundleEntry field 1 (log_index)
i = skip_varint(g, i + 1)
assert g[i] == 0x10                      # field 2 (received_at)
g[i + 1] ^= 0x01
write("received_at", recs[:e] + [bytes(g)] + recs[e + 1:])
write("county_drop", [r for r in recs if kind(r) != 0x12 or r is not recs[2]])
PY

expect_finding() { # NAME REGEX [verify args]: verify must exit 1 with a matching line
    local name=$1 re=$2 rc
    shift 2
    set +e
    "$AUDIT" verify "$WORK/t_$name" --key "$AK" "$@" >"$WORK/v_$name.out" 2>"$WORK/v_$name.err"
    rc=$?
    set -e
    [ $rc -eq 1 ] || fail "tampered bundle '$name': verify exited $rc, expected 1: $(cat "$WORK/v_$name.out" "$WORK/v_$name.err")"
    grep -Eq "$re" "$WORK/v_$name.out" || fail "tampered bundle '$name': no finding like /$re/: $(cat "$WORK/v_$name.out")"
    pass "$name: $(grep -E "$re" "$WORK/v_$name.out" | head -n 1)"
}
expect_finding flip "log entry 57: envelope does not verify"
grep -q "root of the bundle's 320 log entries is not the signed root" "$WORK/v_flip.out" ||
    fail "flip: the tree head mismatch is not reported"
expect_finding drop "log entry 58: entries 57..57 are missing"
expect_finding dup "log entry 57: appears again"
expect_finding swap "out of order"
expect_finding trunc "truncated|no end record"
expect_finding trunc_end "no end record"
expect_finding head "tree head: does not verify"
expect_finding received_at "end: the SHA-256"
expect_finding county_drop "in the log.s key history, but the bundle has no county record for it"
cp "$WORK/b" "$WORK/t_wrongkey"
expect_finding wrongkey "aggregator key is not the expected one" --key "$(printf '%064d' 0)"
set +e
"$AUDIT" verify "$WORK/nonexistent" --key "$AK" >/dev/null 2>&1; rc=$?
"$AUDIT" verify >/dev/null 2>&1; rc2=$?
"$AUDIT" verify "$WORK/b" 2>"$WORK/nokey.err" >/dev/null; rc3=$?
set -e
[ $rc -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] || fail "usage errors exited $rc/$rc2/$rc3, expected 2"
grep -qx "error: --key: required (the aggregator's public key, as the prefecture published it)" \
    "$WORK/nokey.err" || fail "verify without --key: $(cat "$WORK/nokey.err")"
pass "usage errors exit 2"

# ---- consistency: time 1 -> time 2 (more reports synced since)
"$AGG" tree-head --dir "$WORK/agg" --out "$WORK/th2" >/dev/null || fail "tree-head 2"
"$AGG" consistency-proof --dir "$WORK/agg" --from $SIZE1 --to 320 --out "$WORK/p12" >/dev/null ||
    fail "consistency-proof"
out=$("$AUDIT" consistency "$WORK/th1" "$WORK/th2" "$WORK/p12" --key "$AK") ||
    fail "consistency th1 -> th2: $out"
pass "$out"
"$AUDIT" consistency "$WORK/th1" "$WORK/th2" --proof "$WORK/p12" --key "$AK" >/dev/null ||
    fail "consistency with --proof"
"$AUDIT" consistency "$WORK/th1" "$WORK/b" --key "$AK" >/dev/null ||
    fail "consistency th1 -> bundle (no proof: the bundle's entries prove it)"
"$AGG" tree-head --dir "$WORK/agg" --size $SIZE1 --out "$WORK/th1b" >/dev/null || fail "tree-head --size"
cmp -s "$WORK/th1" "$WORK/th1b" || fail "tree-head --size $SIZE1 is not the head taken at time 1"
pass "consistency: via --proof, via the bundle, and tree-head --size"
set +e
"$AUDIT" consistency "$WORK/th1" "$WORK/th2" "$WORK/p12" --key "$(printf '%064d' 0)" >/dev/null
rc=$?
set -e
[ $rc -eq 1 ] || fail "consistency with the wrong key exited $rc, expected 1"

# ---- a rewritten history under the same aggregator key: other order
RPORT=$(free_port)
start_bg "$AGG" serve --dir "$WORK/agg_rewrite" --listen "tcp://127.0.0.1:$RPORT" --log-level error
RW_PID=$LAST_PID
for c in 222402 222401 222403; do
    "$NODE" sync --dir "$WORK/re$c" --endpoint "tcp://127.0.0.1:$RPORT" --once --timeout 60 \
        2>/dev/null || fail "sync $c to the rewriting aggregator"
done
"$AGG" tree-head --dir "$WORK/agg_rewrite" --out "$WORK/thr" >/dev/null
"$AGG" consistency-proof --dir "$WORK/agg_rewrite" --from $SIZE1 --to 313 --out "$WORK/pr" >/dev/null
"$AGG" export --dir "$WORK/agg_rewrite" --out "$WORK/br" >/dev/null
"$AUDIT" verify "$WORK/br" --key "$AK" >/dev/null || fail "the rewritten log is internally valid"
set +e
"$AUDIT" consistency "$WORK/th1" "$WORK/thr" "$WORK/pr" --key "$AK" >"$WORK/c.out"; rc=$?
"$AUDIT" consistency "$WORK/th1" "$WORK/br" --key "$AK" >"$WORK/c2.out"; rc2=$?
"$AUDIT" consistency "$WORK/th2" "$WORK/th1" "$WORK/p12" --key "$AK" >/dev/null; rc3=$?
set -e
[ $rc -eq 1 ] && grep -q "NOT consistent" "$WORK/c.out" ||
    fail "rewritten history passed the consistency proof ($rc): $(cat "$WORK/c.out")"
[ $rc2 -eq 1 ] && grep -q "NOT consistent" "$WORK/c2.out" ||
    fail "rewritten history passed against its bundle ($rc2): $(cat "$WORK/c2.out")"
[ $rc3 -eq 1 ] || fail "a shrinking log (new -> old) passed ($rc3)"
pass "rewritten history: NOT consistent (proof and bundle); a shrinking log too"
kill -TERM "$RW_PID"; wait "$RW_PID" 2>/dev/null || true

# ---- equivocation: a compromised 222403 key signs a second, different seq 2
# (tests/tools/hostile.c sends it among other hostile inputs, all refused);
# the aggregator keeps it as evidence, the bundle carries it, verify reports
# it. (tests/unit/test_audit.c covers the same in-process.)
HOSTILE="$ZB_BUILD/tests/zb-hostile"
if [ -x "$HOSTILE" ]; then
    "$HOSTILE" "$EP" "$WORK/n222403" "$WORK/n222401" 1 >/dev/null 2>&1 || fail "hostile tool"
    ev=$(json_get "$("$AGG" status --dir "$WORK/agg" --json)" "j['equivocation_evidence']")
    [ "$ev" -ge 1 ] || fail "the aggregator kept no evidence"
    "$AGG" export --dir "$WORK/agg" --out "$WORK/t_equiv" >/dev/null || fail "export with evidence"
    expect_finding equiv "^equivocation: county 222403 seq 2: two different signed reports$"
    [ "$(grep -vc '^equivocation: ' "$WORK/v_equiv.out")" = 0 ] ||
        fail "an honest bundle with evidence has other findings: $(cat "$WORK/v_equiv.out")"
    grep -q "evidence of equivocation" "$WORK/v_equiv.err" || fail "no summary on stderr"
    pass "evidence of equivocation is verified and reported (exit 1), nothing else found"
else
    echo "skip: equivocation via zb-hostile (not built)"
fi
