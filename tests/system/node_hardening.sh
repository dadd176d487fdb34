#!/usr/bin/env bash
# Issue 17, node side, with real processes:
#   1. submit on a full disk (a 2 MiB tmpfs filled up): exit 1, one line
#      "error: store: disk full (...)", nothing stored, the chain intact after;
#   2. an aggregator whose own store is full answers SERVER_ERROR: the node
#      names it (ZB-SYNC-REFUSED), counts it in status --json "server_errors"
#      (kept across runs) and says so in the last line of sync --once;
#   4. one sync per node directory (flock on D/sync.lock), gone with kill -9;
#   5. an identity.key open to others (0644) is refused, naming the fix;
#   6. an aggregator holding another key than the one given at init: exit 1
#      with ZB-SYNC-PEERKEY, not a timeout.
# (3, tree heads dated backwards, is unit.node: heads signed by the test.)
# Parts 1 and 2 need tmpfs mounts (root); without them they are skipped
# with a message, the rest still runs.
source "$(dirname "$0")/../lib.sh"

MOUNTS=()
unmount_all() {
    local m
    for m in "${MOUNTS[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap 'unmount_all; cleanup' EXIT

# small_fs DIR: a 2 MiB tmpfs at DIR; false when it cannot be mounted
small_fs() {
    mkdir -p "$1"
    mount -t tmpfs -o size=2m tmpfs "$1" 2>"$WORK/mount.err" || return 1
    MOUNTS+=("$1")
}

# fill DIR [LEAVE_KIB]: fill DIR's file system, leaving about LEAVE_KIB free
fill() {
    local free
    free=$(df -k --output=avail "$1" | tail -n 1 | tr -d ' ')
    if [ "${2:-0}" -gt 0 ] && [ "$free" -gt "$2" ]; then
        dd if=/dev/zero of="$1/fill" bs=1k count=$((free - $2)) 2>/dev/null || true
    else
        dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null || true
    fi
}

# wait_for SECONDS CMD...: poll (every 0.1 s) until CMD succeeds
wait_for() {
    local i limit=$(($1 * 10))
    shift
    for ((i = 0; i < limit; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}

json_status() { json_get "$("$NODE" status --dir "$1" --json)" "$2"; }

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level error
EX="$ZB_SOURCE_DIR/deploy/examples"

# ---------------------------------------------------------------- 5. key mode
node_init "$WORK/k" 222402 "$EP" "$AK" "$WORK/agg"
[ "$(stat -c %a "$WORK/k/identity.key")" = 600 ] || fail "init did not create identity.key 0600"
chmod 644 "$WORK/k/identity.key"
set +e
"$NODE" submit --dir "$WORK/k" "$EX/monthly.json" >/dev/null 2>"$WORK/k.err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "submit with identity.key 0644 exited $rc, expected 1"
grep -q "ZB-KEY-MODE $WORK/k/identity.key has mode 0644" "$WORK/k.err" &&
    grep -q "chmod 600 $WORK/k/identity.key" "$WORK/k.err" ||
    fail "the refusal does not name the file, its mode and the fix: $(cat "$WORK/k.err")"
set +e
"$NODE" sync --dir "$WORK/k" --once --timeout 5 2>/dev/null
rc=$?
set -e
[ $rc -eq 1 ] || fail "sync with identity.key 0644 exited $rc, expected 1"
[ "$(json_status "$WORK/k" "j['stored']")" = 0 ] || fail "a report was stored with a refused key"
"$NODE" status --dir "$WORK/k" >/dev/null || fail "status (read-only, no key) refused"
chmod 600 "$WORK/k/identity.key"
[ "$("$NODE" submit --dir "$WORK/k" "$EX/monthly.json" 2>/dev/null)" = 1 ] ||
    fail "submit after chmod 600 failed"
pass "identity.key 0644 refused (file, mode and chmod 600 named); 0600 works"

# the aggregator loads its key through the same code
chmod 644 "$WORK/agg/identity.key"
set +e
timeout 10 "$AGG" serve --dir "$WORK/agg" --listen "tcp://127.0.0.1:$(free_port)" \
    >/dev/null 2>"$WORK/aggkey.err"
rc=$?
set -e
chmod 600 "$WORK/agg/identity.key"
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "aggregator served with identity.key 0644 (exit $rc)"
grep -q "ZB-KEY-MODE.*chmod 600" "$WORK/aggkey.err" ||
    fail "aggregator refusal does not name the fix: $(cat "$WORK/aggkey.err")"
pass "the aggregator refuses its identity.key 0644 too"

# ---------------------------------------------------------------- 4. one sync per directory
D="$WORK/lock"
node_init "$D" 222403 "$EP" "$AK" "$WORK/agg"
"$NODE" submit --dir "$D" "$EX/monthly.json" >/dev/null 2>&1
start_bg "$NODE" sync --dir "$D" --log-level error
FIRST=$LAST_PID
holds() { [ "$(cat "$D/sync.lock" 2>/dev/null)" = "$FIRST" ]; }
wait_for 10 holds || fail "the running sync did not take $D/sync.lock"
for mode in "--once --timeout 5" ""; do
    set +e
    # shellcheck disable=SC2086
    timeout 10 "$NODE" sync --dir "$D" $mode >/dev/null 2>"$WORK/second.err"
    rc=$?
    set -e
    [ $rc -eq 1 ] || fail "a second sync ${mode:-(daemon)} exited $rc, expected 1"
    [ "$(cat "$WORK/second.err")" = "error: sync: another zhibao-node sync holds $D (pid $FIRST)" ] ||
        fail "second sync: unexpected message: $(cat "$WORK/second.err")"
done
[ "$("$NODE" submit --dir "$D" "$EX/accident.json" 2>/dev/null)" = 2 ] ||
    fail "submit beside a running sync failed"
pass "a second sync (--once and daemon) refused with the holder's pid; submit still allowed"
kill -9 "$FIRST"
wait "$FIRST" 2>/dev/null || true
"$NODE" sync --dir "$D" --once --timeout 30 2>/dev/null || fail "sync after kill -9 of the holder"
[ "$(json_status "$D" "j['receipts']")" = 2 ] || fail "sync after kill -9 did not deliver"
pass "after kill -9 of the holder a new sync runs (lock died with its process)"

# ---------------------------------------------------------------- 6. aggregator of another key
P2=$(free_port)
OTHER="$WORK/other-agg"
agg_init "$OTHER" >/dev/null
start_bg "$AGG" serve --dir "$OTHER" --listen "tcp://127.0.0.1:$P2" --log-level error
M="$WORK/mismatch"
node_init "$M" 222404 "tcp://127.0.0.1:$P2" "$AK" "$OTHER" # enrolled there, but given AK
"$NODE" submit --dir "$M" "$EX/monthly.json" >/dev/null 2>&1
set +e
s0=$SECONDS
"$NODE" sync --dir "$M" --once --timeout 30 2>"$WORK/mismatch.err"
rc=$?
took=$((SECONDS - s0))
set -e
[ $rc -eq 1 ] || fail "sync facing an aggregator of another key exited $rc, expected 1: $(cat "$WORK/mismatch.err")"
[ $took -lt 20 ] || fail "the key mismatch took ${took}s to be reported (a timeout, not a detection)"
grep -q "ZB-SYNC-PEERKEY" "$WORK/mismatch.err" || fail "no ZB-SYNC-PEERKEY line: $(cat "$WORK/mismatch.err")"
[ "$(tail -n 1 "$WORK/mismatch.err")" = "sync: failed: the aggregator at tcp://127.0.0.1:$P2 does not hold the key given at init (--aggregator-key): check it" ] ||
    fail "last line does not name the key mismatch: $(tail -n 1 "$WORK/mismatch.err")"
pass "an aggregator of another key: ZB-SYNC-PEERKEY and exit 1 in ${took}s"

# ---------------------------------------------------------------- 1. submit on a full disk
if ! small_fs "$WORK/full"; then
    echo "skipped: disk-full and SERVER_ERROR parts: cannot mount a tmpfs ($(cat "$WORK/mount.err"))"
    exit 0
fi
F="$WORK/full/node"
node_init "$F" 222405 "$EP" "$AK" "$WORK/agg"
[ "$("$NODE" submit --dir "$F" "$EX/monthly.json" 2>/dev/null)" = 1 ] || fail "first submit"
fill "$WORK/full"
expect_disk_full() { # FILE: submit it on the full disk
    set +e
    "$NODE" submit --dir "$F" "$1" >"$WORK/full.out" 2>"$WORK/full.err"
    rc=$?
    set -e
    [ $rc -eq 1 ] || fail "submit on a full disk exited $rc, expected 1: $(cat "$WORK/full.err")"
    [ "$(wc -l <"$WORK/full.err")" -eq 1 ] || fail "more than one line on stderr: $(cat "$WORK/full.err")"
    grep -q "^error: store: disk full (.*): free space in $F; nothing was stored$" "$WORK/full.err" ||
        fail "unexpected message: $(cat "$WORK/full.err")"
    [ ! -s "$WORK/full.out" ] || fail "a seq was printed: $(cat "$WORK/full.out")"
    [ "$(json_status "$F" "j['stored']")" = 1 ] || fail "something was stored on a full disk"
}
expect_disk_full "$EX/accident.json"
pass "submit on a full disk: exit 1, one line: $(cat "$WORK/full.err")"
# a bulk import that starts writing and runs out halfway (a short write: EIO)
rm -f "$WORK/full/fill"
fill "$WORK/full" 48
gen_reports 300 BULK >"$WORK/bulk.jsonl"
expect_disk_full "$WORK/bulk.jsonl"
pass "a bulk import running out of space halfway: the same line, nothing stored"
rm -f "$WORK/full/fill"
[ "$("$NODE" submit --dir "$F" "$EX/accident.json" 2>/dev/null)" = 2 ] ||
    fail "submit after freeing space does not continue at seq 2"
[ "$("$NODE" submit --dir "$F" "$WORK/bulk.jsonl" 2>/dev/null)" = "3 302" ] ||
    fail "bulk submit after freeing space"
"$NODE" sync --dir "$F" --once --timeout 60 2>/dev/null || fail "sync after the disk was full"
"$NODE" verify-receipts --dir "$F" >/dev/null || fail "receipts after the disk was full"
[ "$(agg_reports "$WORK/agg" 222405)" = 302 ] || fail "the aggregator does not hold the 302 reports"
pass "after freeing space: seqs continue, the chain is intact (302 accepted and receipted)"

# ---------------------------------------------------------------- 2. SERVER_ERROR
small_fs "$WORK/aggfull" || fail "second tmpfs"
P3=$(free_port)
FA="$WORK/aggfull/agg"
FAK=$(agg_init "$FA")
S="$WORK/serr"
node_init "$S" 222406 "tcp://127.0.0.1:$P3" "$FAK" "$FA"
"$NODE" submit --dir "$S" "$EX/monthly.json" >/dev/null 2>&1
fill "$WORK/aggfull"
# its own log says ZB-AGG-STORE for every failed round: kept out of the test's output
start_bg "$AGG" serve --dir "$FA" --listen "tcp://127.0.0.1:$P3" --log-level error 2>"$WORK/fagg.log"
FAGG=$LAST_PID
set +e
"$NODE" sync --dir "$S" --once --timeout 3 2>"$WORK/serr.err"
rc=$?
set -e
[ $rc -eq 3 ] || fail "sync against a full aggregator exited $rc, expected 3: $(cat "$WORK/serr.err")"
grep -q "ZB-SYNC-REFUSED county 222406: the aggregator's store failed (SERVER_ERROR): it will be retried" \
    "$WORK/serr.err" || fail "SERVER_ERROR not named: $(cat "$WORK/serr.err")"
tail -n 1 "$WORK/serr.err" | grep -q "^sync: timed out: 1 report(s) pending: the aggregator's store failed (SERVER_ERROR, [0-9]* time(s))" ||
    fail "last line does not say SERVER_ERROR: $(tail -n 1 "$WORK/serr.err")"
grep -q "unreachable" "$WORK/serr.err" && fail "still says unreachable: $(cat "$WORK/serr.err")"
n=$(json_status "$S" "j['server_errors']")
[ "$n" -ge 1 ] || fail "status --json server_errors = $n"
pass "SERVER_ERROR named, counted (server_errors $n), in the last line: $(tail -n 1 "$WORK/serr.err")"
kill "$FAGG"
wait "$FAGG" 2>/dev/null || true
rm -f "$WORK/aggfull/fill"
start_bg "$AGG" serve --dir "$FA" --listen "tcp://127.0.0.1:$P3" --log-level error
"$NODE" sync --dir "$S" --once --timeout 30 2>/dev/null || fail "sync once the aggregator has space"
[ "$(json_status "$S" "j['server_errors']")" = "$n" ] || fail "server_errors not kept across runs"
[ "$(json_status "$S" "j['receipts']")" = 1 ] || fail "report not receipted after the recovery"
pass "after the aggregator's disk is freed: delivered; server_errors kept ($n)"
