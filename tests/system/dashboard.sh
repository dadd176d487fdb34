#!/usr/bin/env bash
# Issue 7: the prefecture dashboard (`zhibao-agg web`), checked over HTTP and
# in a real headless browser (Debian's chromium, installed by
# deploy/install-deps.sh).
#
# The eight Yanbian counties, filled by real nodes synced to a real
# aggregator. The node stamps created_at with the current time, so:
#   222401 files the current period (on_time) and the one two months back
#          (its deadline, the 5th of last month, has passed: late)
#   222402 files the period two months back only (late; current: missing)
#   222404 files the current period (on_time)
#   the others file no monthly report (missing everywhere)
# 222402 files an accident (two revisions) whose summary and place carry an
# HTML/script payload; 222401 a serious road accident. The prefecture's 2015
# base deaths are loaded so the chart draws the base and -20 % target lines.
# While serve runs, the prefecture returns 222402's report of two months back
# with a comment carrying the same payload, accepts 222401's, and moves last
# month's deadline three days later (`zhibao-agg review`, `deadline`).
#
# (a) the API answers byte for byte what `zhibao-agg report ... --format
#     json` prints (monthly, matrix, accidents; indicators by content, its
#     elapsed share moves with the clock), 400 / 401 / 404 / 405 as JSON,
#     the security headers, and the store is not written;
# (b) chromium --dump-dom: one matrix row per county, the expected class per
#     county and month, the payload as text (no injected element), the SVG
#     chart, the per-county view, the monthly reviews (returned / accepted /
#     none, the comment as text) and the moved deadline; then a screenshot
#     $ZB_BUILD/dashboard.png.
source "$(dirname "$0")/../lib.sh"

command -v chromium >/dev/null || "$ZB_SOURCE_DIR/deploy/install-deps.sh"
command -v chromium >/dev/null || fail "chromium is not installed (deploy/install-deps.sh)"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
COUNTIES=(222401 222402 222403 222404 222405 222406 222424 222426)
for c in "${COUNTIES[@]}"; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done

# current period, the period two months back, the matrix's first period
# (11 months back), today and accident times, all at +08:00
read -r CUR PREV PAST FIRST TODAY YEAR NOW40 NOW30 NOW3H NOW2H < <(python3 -c '
import datetime as d
tz = d.timezone(d.timedelta(hours=8))
n = d.datetime.now(tz).replace(microsecond=0)
def back(k):
    y, m = n.year, n.month - k
    while m < 1: y, m = y - 1, m + 12
    return "%04d-%02d" % (y, m)
print(n.strftime("%Y-%m"), back(1), back(2), back(11), n.strftime("%Y-%m-%d"), n.year,
      (n - d.timedelta(minutes=40)).isoformat(), (n - d.timedelta(minutes=30)).isoformat(),
      (n - d.timedelta(hours=3)).isoformat(), (n - d.timedelta(hours=2, minutes=50)).isoformat())')

submit() { # submit COUNTY JSON
    printf '%s\n' "$2" | "$NODE" submit --dir "$WORK/n$1" - >/dev/null 2>&1 || fail "submit to $1: $2"
}
monthly() { printf '{"type":"monthly","period":"%s","tasks":[{"task":3,"status":"done"},{"task":4,"status":"in_progress"}],"stats":{"inspections":%s}}' "$1" "$2"; }
PAYLOAD='<script>alert(1)</script><img src=x onerror=alert(2)>'
acc() { # acc ID REV OCCURRED NOTIFIED INDUSTRY DEATHS MISSING SERIOUS TEXT
    python3 -c 'import json, sys
a = sys.argv[1:]
print(json.dumps({"type": "accident", "accident_id": a[0], "revision": int(a[1]),
    "occurred_at": a[2], "county_notified_at": a[3], "place": "现场 " + a[8],
    "unit": {"name": "测试单位"}, "industry": a[4], "category": "object_strike",
    "summary": "经过 " + a[8],
    "deaths": int(a[5]), "missing": int(a[6]), "serious_injuries": int(a[7]),
    "minor_injuries": 0, "direct_loss_yuan": 10000}, ensure_ascii=False))' "$@"
}

submit 222401 "$(monthly "$CUR" 5)"
submit 222401 "$(monthly "$PAST" 7)"
submit 222402 "$(monthly "$PAST" 3)"
submit 222404 "$(monthly "$CUR" 9)"
submit 222402 "$(acc XSS-1 0 "$NOW40" "$NOW30" construction 1 0 0 "$PAYLOAD")"
submit 222402 "$(acc XSS-1 1 "$NOW40" "$NOW30" construction 2 0 1 "$PAYLOAD 续报")"
submit 222401 "$(acc ROAD-1 0 "$NOW3H" "$NOW2H" road_traffic 10 0 0 "国道追尾")"
# in the period two months back: notified 1.5 h after (unit_notice_late), filed
# now (initial_report_late)
submit 222404 "$(acc OLD-7 0 "$PAST-10T08:30:00+08:00" "$PAST-10T10:00:00+08:00" other 3 0 0 "仓库火灾")"
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level warn
SERVE_PID=$LAST_PID
for c in 222401 222402 222404; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 || fail "sync $c"
done
printf '{"base": [{"county": "222400", "year": 2015, "deaths": 60}]}\n' |
    "$AGG" load-figures --dir "$WORK/agg" - >/dev/null || fail "load-figures"
# the prefecture answers, beside serve: 222402's report of $PAST (seq 1)
# returned, 222401's (seq 2) accepted; $PREV's deadline (the 5th of this
# month) moved to the 8th: it changes no status (nobody filed $PREV)
"$AGG" review --dir "$WORK/agg" --county 222402 --seq 1 --return --comment "请补充 $PAYLOAD" \
    --reviewer 王科长 >/dev/null || fail "review 222402"
"$AGG" review --dir "$WORK/agg" --county 222401 --seq 2 --accept >/dev/null || fail "review 222401"
"$AGG" deadline --dir "$WORK/agg" --period "$PREV" --at "$CUR-08T23:59:59" >/dev/null ||
    fail "deadline $PREV"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve did not stop cleanly"
pass "8 counties enrolled, 8 reports synced, 2015 base loaded, 2 reviews, $PREV's deadline moved"

# ---- the server
WPORT=$(free_port)
URL="http://127.0.0.1:$WPORT"
start_bg "$AGG" web --dir "$WORK/agg" --listen "127.0.0.1:$WPORT" --log-level warn >"$WORK/web.log"
WEB_PID=$LAST_PID
for _ in $(seq 100); do
    curl -s -o /dev/null "$URL/api/status" && break
    kill -0 "$WEB_PID" 2>/dev/null || fail "zhibao-agg web exited at start"
    sleep 0.1
done
STORE_SUM=$(md5sum "$WORK/agg/data.mdb" 2>/dev/null || find "$WORK/agg" -type f -name '*.mdb' -exec md5sum {} +)

# ---- (a) the API mirrors the CLI, byte for byte
same() { # same NAME PATH REPORT-ARGS...
    local name=$1 path=$2
    shift 2
    curl -sf "$URL$path" >"$WORK/api.json" || fail "GET $path"
    "$AGG" report "$@" --dir "$WORK/agg" --format json >"$WORK/cli.json" || fail "report $*"
    cmp -s "$WORK/api.json" "$WORK/cli.json" ||
        fail "$name: API and CLI differ: $(diff "$WORK/api.json" "$WORK/cli.json" | head -20)"
}
same monthly "/api/monthly?period=$PAST" monthly --period "$PAST"
same monthly-cur "/api/monthly?period=$CUR" monthly --period "$CUR"
same monthly-prev "/api/monthly?period=$PREV" monthly --period "$PREV"
same matrix "/api/matrix?from=$FIRST&to=$CUR" matrix --from "$FIRST" --to "$CUR"
same accidents "/api/accidents?from=$FIRST-01&to=$TODAY" accidents --from "$FIRST-01" --to "$TODAY"
pass "monthly, matrix, accidents: API bytes == report --format json bytes"
curl -sf "$URL/api/indicators?year=$YEAR" >"$WORK/api.json" || fail "GET indicators"
"$AGG" report indicators --dir "$WORK/agg" --year "$YEAR" --format json >"$WORK/cli.json" ||
    fail "report indicators"
python3 - "$WORK/api.json" "$WORK/cli.json" <<'PY' || fail "indicators: API and CLI differ"
import json, sys
a, c = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, c):  # the clock moves between the two runs
    for k in ("to", "previous_to", "elapsed_fraction"):
        d.pop(k, None)
    for r in d["rows"] + [d["total"]]:
        for k in list(r):
            if "prorated" in k or k in ("change_vs_base_pct", "target_progress_pct"):
                r.pop(k)
assert a == c, (a, c)
assert c["total"]["base_deaths"] == 60 and c["total"]["deaths"] in (12, 15), c["total"]
PY
pass "indicators: API == report --format json (up to the clock)"

M=$(curl -sf "$URL/api/matrix?from=$FIRST&to=$CUR")
[ "$(json_get "$M" "[(r['county'], r['$PAST'], r['$CUR']) for r in j['rows']][:4]")" = \
  "[('222401', 'late', 'on_time'), ('222402', 'late', 'missing'), ('222403', 'missing', 'missing'), ('222404', 'missing', 'on_time')]" ] ||
    fail "matrix statuses: $M"
H=$(curl -sf "$URL/api/accidents/222402/XSS-1") || fail "accident history"
[ "$(json_get "$H" "(j['revisions'], [h['revision'] for h in j['history']], j['history'][0]['report']['summary'], j['grade'])")" = \
  "(2, [0, 1], '经过 $PAYLOAD', 'general')" ] || fail "accident history: $H"
H2=$(curl -sf "$URL/api/accidents/XSS-1?county=222402") || fail "accident history ?county="
[ "$H" = "$H2" ] || fail "/api/accidents/ID?county= differs from /api/accidents/COUNTY/ID"
H3=$(curl -sf "$URL/api/accidents/XSS-1") || fail "accident history without county"
[ "$H" = "$H3" ] || fail "/api/accidents/ID (unique id) differs"
M=$(curl -sf "$URL/api/monthly?period=$PAST")
[ "$(json_get "$M" "[(r['county'], r['status'], r['review'], r['reviewer']) for r in j['rows']][:3]")" = \
  "[('222401', 'late', 'accepted', None), ('222402', 'late', 'returned', '王科长'), ('222403', 'missing', None, None)]" ] ||
    fail "monthly $PAST reviews: $M"
[ "$(json_get "$M" "(j['rows'][1]['review_comment'], j['deadline_moved'])")" = "('请补充 $PAYLOAD', False)" ] ||
    fail "monthly $PAST comment: $M"
M=$(curl -sf "$URL/api/monthly?period=$PREV")
[ "$(json_get "$M" "(j['deadline'], j['deadline_moved'])")" = "('$CUR-08T23:59:59+08:00', True)" ] ||
    fail "monthly $PREV deadline: $M"
pass "matrix statuses; accident history (3 URL forms); reviews and the moved deadline"

code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
is_error_json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d["error"], str)' "$WORK/body"; }
for t in "400 /api/monthly?period=2026-13" "400 /api/monthly" "400 /api/matrix?from=2026-10&to=2026-01" \
         "400 /api/accidents?from=2026-10-01&to=nope" "400 /api/indicators?year=1999" \
         "400 /api/accidents/222402/bad%20id" "404 /api/accidents/222401/NOPE" \
         "404 /api/nothing" "404 /etc/passwd" "404 /api/accidents/222402/XSS-1/x"; do
    want=${t%% *} path=${t#* }
    got=$(code "$URL$path")
    [ "$got" = "$want" ] || fail "GET $path: $got, expected $want"
    is_error_json || fail "GET $path: body is not {\"error\": ...}: $(cat "$WORK/body")"
done
[ "$(code -X POST -d x=1 "$URL/api/status")" = 405 ] || fail "POST: expected 405"
is_error_json || fail "405 body"
[ "$(code -X DELETE "$URL/")" = 405 ] || fail "DELETE: expected 405"
pass "400 bad parameters, 404 unknown paths, 405 other methods: JSON errors"

curl -sD "$WORK/headers" -o "$WORK/index.html" "$URL/" || fail "GET /"
grep -qi "^content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'" "$WORK/headers" ||
    fail "CSP header missing: $(cat "$WORK/headers")"
for h in "x-content-type-options: nosniff" "referrer-policy: no-referrer" "cache-control: no-store" \
         "content-type: text/html; charset=utf-8"; do
    grep -qi "^$h" "$WORK/headers" || fail "header $h missing"
done
curl -sD "$WORK/headers" -o /dev/null "$URL/api/monthly?period=2026-13"
grep -qi "^content-security-policy:" "$WORK/headers" || fail "CSP missing on an error"
grep -q '<script src="app.js"' "$WORK/index.html" || fail "index.html does not load app.js"
if grep -Eq '<script>|<style| style=| on[a-z]+=' "$WORK/index.html"; then fail "inline script or style in index.html"; fi
[ "$(code "$URL/app.js")" = 200 ] && [ "$(code "$URL/style.css")" = 200 ] || fail "static files"
if grep -q innerHTML "$ZB_SOURCE_DIR/web/app.js"; then fail "app.js uses innerHTML"; fi
pass "security headers; no inline script or style; no innerHTML"

# the token
TPORT=$(free_port)
start_bg "$AGG" web --dir "$WORK/agg" --listen "127.0.0.1:$TPORT" --token s3cret --log-level warn >>"$WORK/web.log"
TOK_PID=$LAST_PID
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$TPORT/" && break; sleep 0.1; done
[ "$(code "http://127.0.0.1:$TPORT/api/status")" = 401 ] || fail "no token: expected 401"
is_error_json || fail "401 body"
[ "$(code -H 'Authorization: Bearer wrong' "http://127.0.0.1:$TPORT/api/status")" = 401 ] || fail "bad token"
[ "$(code -H 'Authorization: Bearer s3cret' "http://127.0.0.1:$TPORT/api/status")" = 200 ] || fail "bearer token"
[ "$(code "http://127.0.0.1:$TPORT/api/status?token=s3cret")" = 200 ] || fail "?token="
[ "$(code "http://127.0.0.1:$TPORT/")" = 200 ] || fail "the page itself needs no token"
kill -TERM "$TOK_PID"; wait "$TOK_PID" || fail "web did not stop cleanly on SIGTERM"
pass "token: 401 without it, Bearer or ?token= accepted; clean SIGTERM"
set +e
"$AGG" web --dir "$WORK/agg" --listen "nonsense" 2>/dev/null; r=$?
set -e
[ "$r" = 2 ] || fail "bad --listen: exit $r, expected 2"

# ---- (b) a real browser
chrome() {
    local prof
    prof=$(mktemp -d "$WORK/chrome.XXXXXX")
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --user-data-dir="$prof" --virtual-time-budget=8000 "$@" \
        2>>"$WORK/chromium.log"
}
chrome --dump-dom "$URL/" >"$WORK/dom.html" || fail "chromium --dump-dom: $(tail -5 "$WORK/chromium.log")"
python3 - "$WORK/dom.html" "$CUR" "$PAST" <<'PY' || fail "dashboard DOM (kept in $WORK/dom.html)"
import re, sys
dom, cur, past = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2], sys.argv[3]
def check(cond, what):
    if not cond:
        print("DOM check failed:", what, file=sys.stderr)
        sys.exit(1)
rows = re.findall(r'<tr class="matrix-row" data-county="(\d{6})"', dom)
check(rows == ["222401", "222402", "222403", "222404", "222405", "222406", "222424", "222426"],
      f"one matrix row per enrolled county: {rows}")
def cell(county, period):
    m = re.search(r'<td class="cell st-(\w+)" data-county="%s" data-period="%s"' % (county, period), dom)
    return m and m.group(1)
want = {("222401", cur): "on_time", ("222401", past): "late", ("222402", past): "late",
        ("222402", cur): "missing", ("222403", cur): "missing", ("222403", past): "missing",
        ("222404", cur): "on_time", ("222426", past): "missing"}
for (c, p), s in want.items():
    check(cell(c, p) == s, f"matrix cell {c} {p}: {cell(c, p)}, expected {s}")
check(len(re.findall(r'<td class="cell st-', dom)) == 8 * 12, "8 x 12 matrix cells")
esc = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
check(dom.count(esc) >= 2, "the payload shown as text (summary and place)")
check("<img" not in dom, "an <img> element in the DOM")
check(len(re.findall(r"<script", dom)) == 1, "a <script> element besides app.js")
check("onerror=" not in dom.replace(esc, ""), "an onerror attribute")
check(re.search(r'<svg[^>]*class="chart"', dom) is not None, "the SVG chart")
check(re.search(r'<rect class="bar"', dom) is not None, "bars in the chart")
check('class="line base"' in dom and 'class="line target"' in dom, "base and target lines")
order = re.findall(r'<tr class="accident" data-accident="([^"]+)"', dom)
check(order == ["222402/XSS-1", "222401/ROAD-1", "222404/OLD-7"], f"accidents newest first: {order}")
check(re.search(r'<details class="history" data-accident="222402/XSS-1" open', dom) is not None,
      "the newest accident's history open")
check(len(re.findall(r'<h4>', dom)) == 4, "every revision in the histories (2 + 1 + 1)")
check(re.search(r'class="grade grade-serious"', dom) is not None, "grade badge")
check(re.search(r'<span class="flag" title="unit_notice_late">单位报告超过1小时</span>', dom) is not None
      and 'title="initial_report_late"' in dom, "flags")
check(re.search(r'国务院', dom) is not None, "report_to")
check(re.search(r'<section id="county-view"[^>]*>.*?延吉市', dom, re.S) is not None, "per-county view")
check("延吉市" in dom and "遗漏" not in dom, "Chinese labels")
check('id="error"' not in dom or re.search(r'id="error"[^>]*hidden', dom), "an error banner")
# last month by default: its moved deadline marked, nobody filed it
check(re.search(r'<p id="monthly-deadline"[^>]*>.*?<span class="moved">已顺延</span>', dom, re.S)
      is not None, "the moved deadline marked in the monthly view")
check(len(re.findall(r'<tr class="review-row"', dom)) == 8, "one review row per county")
check("data-review=" not in dom, "a review shown for a month nobody filed")
PY
pass "browser DOM: 8 matrix rows, on_time/late/missing classes, payload as text, SVG chart"
chrome --dump-dom "$URL/?period=$PAST" >"$WORK/dom-past.html" || fail "chromium --dump-dom ?period="
python3 - "$WORK/dom-past.html" "$PAST" <<'PY' || fail "dashboard reviews (kept in $WORK/dom-past.html)"
import re, sys
dom, past = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
def check(cond, what):
    if not cond:
        print("DOM check failed:", what, file=sys.stderr)
        sys.exit(1)
def row(county):
    m = re.search(r'<tr class="review-row" data-county="%s".*?</tr>' % county, dom, re.S)
    return m.group(0) if m else ""
check(f"{past} 月度报告签收情况" in dom, "the monthly view of the period asked for")
check('data-review="accepted">已签收<' in row("222401"), "222401 accepted: " + row("222401"))
r2 = row("222402")
check('data-review="returned">已退回<' in r2 and "王科长" in r2, "222402 returned: " + r2)
esc = "请补充 &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
check(esc in r2, "the comment shown as text: " + r2)
check("data-review" not in row("222403") and "—" in row("222403"), "222403 no review")
check("<img" not in dom and len(re.findall(r"<script", dom)) == 1, "an element injected by the comment")
check(re.search(r'<section id="county-view".*?data-review="accepted">已签收<', dom, re.S) is not None,
      "the county view shows its review")
PY
pass "browser DOM ?period=$PAST: accepted / returned with the comment as text / none"
chrome --dump-dom "$URL/?lang=en" >"$WORK/dom-en.html" || fail "chromium --dump-dom ?lang=en"
grep -q 'Monthly progress reports' "$WORK/dom-en.html" && grep -q '<html lang="en"' "$WORK/dom-en.html" &&
    grep -q '>on time<' "$WORK/dom-en.html" && grep -q '<span class="moved">moved</span>' "$WORK/dom-en.html" ||
    fail "English labels (kept in $WORK/dom-en.html)"
chrome --dump-dom "$URL/?lang=en&period=$PAST" >"$WORK/dom-en-past.html" || fail "chromium ?lang=en&period="
grep -q 'data-review="returned">returned<' "$WORK/dom-en-past.html" &&
    grep -q 'data-review="accepted">accepted<' "$WORK/dom-en-past.html" ||
    fail "English review labels (kept in $WORK/dom-en-past.html)"
pass "English on the switch (?lang=en)"

rm -f "$ZB_BUILD/dashboard.png"
chrome --screenshot="$ZB_BUILD/dashboard.png" --window-size=1400,1800 "$URL/" >/dev/null ||
    fail "chromium --screenshot: $(tail -5 "$WORK/chromium.log")"
[ -f "$ZB_BUILD/dashboard.png" ] || fail "no screenshot"
size=$(stat -c %s "$ZB_BUILD/dashboard.png")
[ "$size" -gt 20000 ] || fail "screenshot only $size bytes"
pass "screenshot $ZB_BUILD/dashboard.png ($size bytes)"

# read-only: the store is untouched by everything above
NOW_SUM=$(md5sum "$WORK/agg/data.mdb" 2>/dev/null || find "$WORK/agg" -type f -name '*.mdb' -exec md5sum {} +)
[ "$STORE_SUM" = "$NOW_SUM" ] || fail "the store changed while only web read it"
kill -TERM "$WEB_PID"; wait "$WEB_PID" || fail "web did not stop cleanly"
pass "store unchanged; web stopped cleanly"
