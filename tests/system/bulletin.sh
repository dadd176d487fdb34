#!/usr/bin/env bash
# Issue 16: the monthly bulletin (月度通报), `zhibao-agg report bulletin` and
# the dashboard's /bulletin, from real nodes synced to a real aggregator,
# checked in a real headless browser (Debian's chromium) against
# `report monthly / accidents / indicators --format json`.
#
# The period P is the month two months back (its default deadline, the 5th
# of last month, has passed). Nodes sign with the real clock, so the
# prefecture moves P's deadline (`zhibao-agg deadline`) to a few seconds
# after two counties filed: those are on time, the one filing after it late.
#   222401 延吉市  on time, accepted; a 一般 accident in P whose unit name is
#                  <script>alert(1)</script> and whose place carries & " ' < >;
#                  a road accident of the same month last year (indicators'
#                  previous year only)
#   222402 图们市  on time, returned with a comment carrying markup; a 较大
#                  road accident at P's last minute; a write-off (核销)
#   222403 敦化市  late; a 重大 coal-mine accident with one missing
#   222404 珲春市  no monthly report (未报); an accident the month before P
#                  (not in the bulletin)
#   222405 龙井市  nothing at all (未报)
# The prefecture's 2015 base deaths are loaded (the target line).
source "$(dirname "$0")/../lib.sh"

command -v chromium >/dev/null || "$ZB_SOURCE_DIR/deploy/install-deps.sh"
command -v chromium >/dev/null || fail "chromium is not installed (deploy/install-deps.sh)"

PORT=$(free_port)
EP="tcp://127.0.0.1:$PORT"
AK=$(agg_init "$WORK/agg")
COUNTIES=(222401 222402 222403 222404 222405)
for c in "${COUNTIES[@]}"; do node_init "$WORK/n$c" "$c" "$EP" "$AK" "$WORK/agg"; done

# P, its year and month, its last day, the month before it and P's month
# last year, all at +08:00
read -r P Y M LAST BEFORE LASTYEAR < <(python3 -c '
import datetime as d
tz = d.timezone(d.timedelta(hours=8))
n = d.datetime.now(tz)
y, m = n.year, n.month - 2
if m < 1: y, m = y - 1, m + 12
ny, nm = (y, m + 1) if m < 12 else (y + 1, 1)
last = (d.date(ny, nm, 1) - d.timedelta(days=1)).day
by, bm = (y, m - 1) if m > 1 else (y - 1, 12)
print("%04d-%02d" % (y, m), y, m, "%04d-%02d-%02d" % (y, m, last), "%04d-%02d" % (by, bm),
      "%04d-%02d" % (y - 1, m))')

submit() { # submit COUNTY JSON
    printf '%s\n' "$2" | "$NODE" submit --dir "$WORK/n$1" - >/dev/null 2>&1 || fail "submit to $1: $2"
}
monthly() { printf '{"type":"monthly","period":"%s","tasks":[{"task":3,"status":"done"}],"stats":{"inspections":%s}}' "$P" "$1"; }
UNIT='<script>alert(1)</script>'
PLACE=$'北山街道 "A&B" \'C\' <b>x</b>'
acc() { # acc ID OCCURRED INDUSTRY CATEGORY DEATHS MISSING SERIOUS LOSS PLACE UNIT [STAGE REASON REV]
    python3 -c 'import json, sys, datetime as d
a = sys.argv[1:]
t = d.datetime.fromisoformat(a[1])
r = {"type": "accident", "accident_id": a[0], "revision": int(a[12] or 0),
     "occurred_at": a[1], "county_notified_at": (t + d.timedelta(minutes=20)).isoformat(),
     "place": a[8], "unit": {"name": a[9]}, "industry": a[2], "summary": "经过",
     "deaths": int(a[4]), "missing": int(a[5]), "serious_injuries": int(a[6]),
     "minor_injuries": 0, "direct_loss_yuan": int(a[7])}
if not a[12]:
    r["category"] = a[3]
if a[10]:
    r["stage"], r["write_off_reason"] = a[10], a[11]
print(json.dumps(r, ensure_ascii=False))' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "${10}" \
        "${11:-}" "${12:-}" "${13:-}"
}

submit 222401 "$(acc G-1 "$P-10T08:30:00+08:00" construction lifting_injury 1 0 2 350000 "$PLACE" "$UNIT")"
submit 222401 "$(acc PY-1 "$LASTYEAR-12T10:00:00+08:00" road_traffic vehicle_injury 2 0 0 80000 国道 某运输公司)"
submit 222402 "$(acc L-1 "${LAST}T23:59:00+08:00" road_traffic vehicle_injury 4 0 1 1234567 国道302线 某客运公司)"
submit 222402 "$(acc W-1 "$P-03T14:00:00+08:00" other other_injury 1 0 0 0 山坡 某村)"
submit 222402 "$(acc W-1 "$P-03T14:00:00+08:00" other other_injury 1 0 0 0 山坡 某村 write_off \
    "自然灾害引发的山体滑坡，非生产安全事故" 1)"
submit 222403 "$(acc S-1 "$P-20T02:00:00+08:00" coal_mine gas_explosion 10 1 3 23000000 某煤矿井下 某煤业公司)"
submit 222404 "$(acc O-1 "$BEFORE-15T09:00:00+08:00" construction object_strike 1 0 0 1000 工地 某建筑公司)"
submit 222401 "$(monthly 5)"   # seq 3
submit 222402 "$(monthly 7)"   # seq 4
start_bg "$AGG" serve --dir "$WORK/agg" --listen "$EP" --log-level warn
SERVE_PID=$LAST_PID
# P's deadline: two seconds from now, after 222401's and 222402's reports were signed
DL=$(python3 -c 'import datetime as d
print((d.datetime.now(d.timezone(d.timedelta(hours=8))).replace(microsecond=0) + d.timedelta(seconds=2)).isoformat())')
"$AGG" deadline --dir "$WORK/agg" --period "$P" --at "$DL" >/dev/null || fail "deadline $P $DL"
sleep 3
submit 222403 "$(monthly 9)"   # signed after the moved deadline: late
for c in 222401 222402 222403 222404; do
    "$NODE" sync --dir "$WORK/n$c" --once --timeout 60 >/dev/null 2>&1 || fail "sync $c"
done
"$AGG" review --dir "$WORK/agg" --county 222401 --seq 3 --accept --reviewer 王科长 >/dev/null ||
    fail "review 222401"
"$AGG" review --dir "$WORK/agg" --county 222402 --seq 4 --return \
    --comment '请补充<b>检查</b>数据 & "说明"' >/dev/null || fail "review 222402"
printf '{"base": [{"county": "222400", "year": 2015, "deaths": 60}]}\n' |
    "$AGG" load-figures --dir "$WORK/agg" - >/dev/null || fail "load-figures"
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" || fail "serve did not stop cleanly"
pass "5 counties, P=$P, deadline moved to $DL; 3 monthly reports, 6 accidents, 2 reviews, 2015 base"

# ---- the CLI
"$AGG" report monthly --dir "$WORK/agg" --period "$P" --format json >"$WORK/monthly.json" || fail "monthly"
"$AGG" report accidents --dir "$WORK/agg" --from "$P-01" --to "$LAST" --format json >"$WORK/accidents.json" ||
    fail "accidents"
"$AGG" report indicators --dir "$WORK/agg" --year "$Y" --format json >"$WORK/indicators.json" ||
    fail "indicators"
[ "$(json_get "$(cat "$WORK/monthly.json")" "[(r['county'], r['status']) for r in j['rows']]")" = \
  "[('222401', 'on_time'), ('222402', 'on_time'), ('222403', 'late'), ('222404', 'missing'), ('222405', 'missing')]" ] ||
    fail "the statuses the test means to make: $(cat "$WORK/monthly.json")"
"$AGG" report bulletin --dir "$WORK/agg" --period "$P" --out "$WORK/bulletin.html" >"$WORK/out" ||
    fail "report bulletin --out"
[ -s "$WORK/bulletin.html" ] && [ ! -s "$WORK/out" ] || fail "--out: the page in the file, nothing on stdout"
[ ! -e "$WORK/bulletin.html.tmp" ] || fail "a temporary file left beside --out"
LANG=C.UTF-8 "$AGG" report bulletin --dir "$WORK/agg" --period "$P" >"$WORK/stdout-en.html" ||
    fail "report bulletin to stdout"
LANG=zh_CN.UTF-8 "$AGG" report bulletin --dir "$WORK/agg" --period "$P" >"$WORK/stdout-zh.html" ||
    fail "report bulletin under zh_CN"
cmp -s "$WORK/bulletin.html" "$WORK/stdout-en.html" && cmp -s "$WORK/bulletin.html" "$WORK/stdout-zh.html" ||
    fail "--out, stdout and the locale give different pages"
expect_exit() { # expect_exit CODE ARGS...
    local want=$1 got
    shift
    set +e
    "$AGG" report bulletin "$@" >/dev/null 2>"$WORK/err"
    got=$?
    set -e
    [ "$got" = "$want" ] || fail "report bulletin $*: exit $got, expected $want ($(cat "$WORK/err"))"
}
expect_exit 2 --dir "$WORK/agg" --period 2026-13
expect_exit 2 --dir "$WORK/agg"
expect_exit 2 --dir "$WORK/agg" --period 2999-01
expect_exit 2 --dir "$WORK/agg" --period "$P" --format csv
expect_exit 2 --dir "$WORK/nothing" --period "$P"
expect_exit 1 --dir "$WORK/agg" --period "$P" --out "$WORK/no/such/dir/b.html"
grep -q "^error: --period: must be YYYY-MM" <(LANG=C.UTF-8 "$AGG" report bulletin --dir "$WORK/agg" --period x 2>&1) ||
    fail "bad period message"
pass "report bulletin: --out atomic, == stdout, the same under any locale; exit 2 bad usage, 1 runtime"

# ---- the dashboard: the same bytes, the token rule, 400
WPORT=$(free_port)
URL="http://127.0.0.1:$WPORT"
start_bg "$AGG" web --dir "$WORK/agg" --listen "127.0.0.1:$WPORT" --log-level warn >"$WORK/web.log"
WEB_PID=$LAST_PID
for _ in $(seq 100); do
    curl -s -o /dev/null "$URL/api/status" && break
    kill -0 "$WEB_PID" 2>/dev/null || fail "zhibao-agg web exited at start"
    sleep 0.1
done
curl -sf -D "$WORK/headers" "$URL/bulletin?period=$P" -o "$WORK/http.html" || fail "GET /bulletin"
cmp -s "$WORK/http.html" "$WORK/bulletin.html" ||
    fail "/bulletin and report bulletin differ: $(diff "$WORK/http.html" "$WORK/bulletin.html" | head)"
grep -qi '^content-type: text/html; charset=utf-8' "$WORK/headers" || fail "content type: $(cat "$WORK/headers")"
for h in "x-content-type-options: nosniff" "cache-control: no-store" \
         "content-security-policy: default-src 'none'; style-src 'sha256-"; do
    grep -qi "^$h" "$WORK/headers" || fail "header $h missing: $(cat "$WORK/headers")"
done
code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }
for q in "period=2026-13" "" "period=$P%00" "period=2999-01"; do
    [ "$(code "$URL/bulletin?$q")" = 400 ] || fail "GET /bulletin?$q: expected 400"
    json_get "$(cat "$WORK/body")" "j['error']" | grep -q "period" ||
        [ "$q" = "period=$P%00" ] || fail "400 body: $(cat "$WORK/body")"
done
pass "/bulletin == the CLI's bytes, text/html with the page's CSP; 400 with a message for a bad period"

TPORT=$(free_port)
start_bg "$AGG" web --dir "$WORK/agg" --listen "127.0.0.1:$TPORT" --token s3cret --log-level warn >>"$WORK/web.log"
TOK_PID=$LAST_PID
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$TPORT/" && break; sleep 0.1; done
[ "$(code "http://127.0.0.1:$TPORT/bulletin?period=$P")" = 401 ] || fail "/bulletin without the token"
[ "$(code "http://127.0.0.1:$TPORT/bulletin?period=$P&token=s3cret")" = 200 ] || fail "/bulletin ?token="
cmp -s "$WORK/body" "$WORK/bulletin.html" || fail "/bulletin with the token differs"
[ "$(code -H 'Authorization: Bearer s3cret' "http://127.0.0.1:$TPORT/bulletin?period=$P")" = 200 ] ||
    fail "/bulletin Bearer"
pass "token: /bulletin needs it like /api/ (401 / ?token= / Bearer)"

# ---- the page itself: its CSP allows exactly its stylesheet; no script
python3 - "$WORK/bulletin.html" <<'PY' || fail "the page's CSP and markup"
import base64, hashlib, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
css = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
want = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)"', html).group(1)
assert f"sha256-{want}" in meta.replace("&#39;", "'"), (want, meta)
assert html.startswith("<!DOCTYPE html>\n<html lang=\"zh-CN\">"), html[:60]
assert "<script" not in html and " style=" not in html and "http://" not in html.replace(
    "http://www.w3.org/2000/svg", ""), "script, style attribute or a fetch"
assert "@page { size: A4" in css and "@media print" in css
PY
pass "the page: lang zh-CN, CSP hash of its one stylesheet, no script, nothing fetched, @page A4"

# ---- a real browser: the DOM against the JSON reports
chrome() {
    local prof
    prof=$(mktemp -d "$WORK/chrome.XXXXXX")
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --user-data-dir="$prof" --virtual-time-budget=5000 "$@" \
        2>>"$WORK/chromium.log"
}
chrome --dump-dom "file://$WORK/bulletin.html" >"$WORK/dom-file.html" ||
    fail "chromium --dump-dom file: $(tail -5 "$WORK/chromium.log")"
chrome --dump-dom "$URL/bulletin?period=$P" >"$WORK/dom-http.html" ||
    fail "chromium --dump-dom /bulletin: $(tail -5 "$WORK/chromium.log")"
for dom in "$WORK/dom-file.html" "$WORK/dom-http.html"; do
python3 - "$dom" "$WORK/monthly.json" "$WORK/accidents.json" "$WORK/indicators.json" "$Y" "$M" <<'PY' ||
import html as H, json, re, sys
dom = open(sys.argv[1], encoding="utf-8").read()
monthly, accidents, indicators = (json.load(open(p)) for p in sys.argv[2:5])
year, month = int(sys.argv[5]), int(sys.argv[6])
def check(cond, what):
    if not cond:
        print("DOM check failed:", what, file=sys.stderr)
        sys.exit(1)
check(f"<title>延边州安全生产月度通报（{year}年{month}月）</title>" in dom, "title")
check(f'<h1 id="title">延边州安全生产月度通报（{year}年{month}月）</h1>' in dom, "heading")
check('<html lang="zh-CN">' in dom and "延边州安全生产委员会办公室" in dom, "lang, issuer")
# 一、报送情况: the counties named in each group are the JSON's
for status in ("on_time", "late", "missing"):
    m = re.search(r'<p class="group" id="filing-%s" data-filing="%s"[^>]*>(.*?)</p>' % (status, status), dom, re.S)
    check(m, f"group {status}")
    named = re.findall(r'<span class="county" data-county="(\d{6})">([^<]*)</span>', m.group(1))
    want = [(r["county"], r["name"]) for r in monthly["rows"] if r["status"] == status]
    check(named == want, f"{status}: {named} != {want}")
late = re.search(r'id="filing-late".*?</p>', dom, re.S).group(0)
check(re.search(r"敦化市</span>（\d+月\d+日 \d\d:\d\d报送）", late), "the late county with when: " + late)
check("按时报送（2个）" in dom and "迟报（1个）" in dom and "未报（2个）" in dom, "group counts")
check("（已顺延）" in dom, "the moved deadline said")
rows = re.findall(r'<tr data-county="(\d{6})" data-status="(\w+)" data-review="(\w*)">', dom)
check(rows == [(r["county"], r["status"], r["review"] or "") for r in monthly["rows"]], f"filing table {rows}")
check("已签收" in dom and "已退回修改：请补充&lt;b&gt;检查&lt;/b&gt;数据 &amp; \"说明\"" in dom,
      "reviews, the comment as text")
# 二、事故情况: every accident of the JSON, in its order, with its counted figures
got = re.findall(r'<tr class="accident( excluded)?" data-county="(\d+)" data-accident="([^"]+)" '
                 r'data-counted="(\w+)" data-grade="(\w+)" data-deaths="(\d+)" data-missing="(\d+)" '
                 r'data-serious="(\d+)" data-loss-yuan="(\d+)">', dom)
want = [(" excluded" if not a["counted"] else "", a["county"], a["accident_id"],
         "true" if a["counted"] else "false", a["grade"], str(a["counted_deaths"]),
         str(a["counted_missing"]), str(a["counted_serious_injuries"]),
         str(a["counted_direct_loss_yuan"])) for a in accidents["accidents"]]
check(got == want, f"accident rows\n{got}\n{want}")
check([a["accident_id"] for a in accidents["accidents"]] == ["L-1", "S-1", "G-1", "W-1"],
      "the JSON's accidents (the test's own premise)")
t = accidents["totals"]
counted = [a for a in accidents["accidents"] if a["counted"]]
tot = re.search(r'<tr id="accident-totals" data-accidents="(\d+)" data-deaths="(\d+)" data-missing="(\d+)" '
                r'data-serious="(\d+)" data-loss-yuan="(\d+)">', dom)
check(tot, "totals row")
check(tot.groups() == (str(t["accidents"]), str(sum(g["deaths"] for g in t["by_grade"].values())),
                       str(sum(g["missing"] for g in t["by_grade"].values())),
                       str(sum(a["counted_serious_injuries"] for a in counted)),
                       str(sum(a["counted_direct_loss_yuan"] for a in counted))),
      f"totals {tot.groups()} vs {t}")
check(sum(g["deaths"] for g in t["by_grade"].values()) == sum(a["counted_deaths"] for a in counted),
      "the JSON's totals add up")
loss_wan = "%.2f" % (sum(a["counted_direct_loss_yuan"] for a in counted) / 10000)
check(f"直接经济损失{loss_wan}万元" in dom, f"summary loss {loss_wan} 万元")
check(f"全州共发生生产安全事故{t['accidents']}起" in dom, "summary count")
for grade in ("一般", "较大", "重大"):
    check(re.search(r'<td class="nowrap">%s</td>' % grade, dom), f"grade {grade}")
check(all(w in dom for w in ("起重伤害", "车辆伤害", "瓦斯爆炸", "建筑施工", "道路交通", "煤矿")),
      "categories and industries in Chinese")
check("35.00" in dom and "123.46" in dom, "money in 万元 (350000 -> 35.00, 1234567 -> 123.46)")
w = re.search(r'data-accident="W-1".*?</tr>', dom, re.S).group(0)
check("核销原因：自然灾害引发的山体滑坡，非生产安全事故" in w and "核销（不计入）" in w, "the write-off listed with its reason: " + w)
check("O-1" not in dom and "PY-1" not in dom, "accidents outside the period")
# county text is text: no element injected, the payload shown escaped
check("&lt;script&gt;alert(1)&lt;/script&gt;" in dom, "the unit name as text")
check("北山街道 \"A&amp;B\" 'C' &lt;b&gt;x&lt;/b&gt;" in dom, "the place as text")
check("<script" not in dom and "<b>x</b>" not in dom and "<b>检查</b>" not in dom, "an injected element")
# 三、年度指标: the indicators of the year, and the chart
for r in indicators["rows"]:
    m = re.search(r'<tr data-county="%s" data-deaths="(\d+)" data-previous="(\d+)">' % r["county"], dom)
    check(m and m.groups() == (str(r["deaths"]), str(r["previous_deaths"])), f"indicators {r['county']}")
tt = indicators["total"]
m = re.search(r'<tr id="indicator-total" data-deaths="(\d+)" data-previous="(\d+)">', dom)
check(m and m.groups() == (str(tt["deaths"]), str(tt["previous_deaths"])), "indicators total")
check(tt["previous_deaths"] == 2, "last year's accident counted as previous (the test's premise)")
check("以2015年死亡60人为基数" in dom and "控制目标为下降20%" in dom, "the base and the -20 % target")
check(re.search(r'<svg[^>]*class="chart" id="indicator-chart"', dom), "the SVG chart")
bars = re.findall(r'<g class="county" data-county="(\d+)"><rect class="bar cur"[^>]*data-deaths="(\d+)"', dom)
check(bars == [(r["county"], str(r["deaths"])) for r in indicators["rows"]], f"chart bars {bars}")
check('class="target"' in dom, "the target marks")
PY
    fail "bulletin DOM (kept in $dom)"
done
pass "browser DOM (file and /bulletin): groups, accident rows and totals, indicators == the JSON reports; text escaped"

# it prints: A4 pages
rm -f "$WORK/bulletin.pdf"
chrome --no-pdf-header-footer --print-to-pdf="$WORK/bulletin.pdf" "file://$WORK/bulletin.html" >/dev/null ||
    fail "chromium --print-to-pdf"
python3 - "$WORK/bulletin.pdf" <<'PY' || fail "the PDF"
import re, sys
pdf = open(sys.argv[1], "rb").read()
boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
assert boxes, "no page"
for w, h in boxes:  # A4: 595.28 x 841.89 pt
    assert abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2, (w, h)
print(f"{len(boxes)} A4 page(s)", file=sys.stderr)
PY
cp "$WORK/bulletin.html" "$ZB_BUILD/bulletin.html" 2>/dev/null || true
pass "print: A4 pages ($ZB_BUILD/bulletin.html kept)"

# the dashboard links the month's bulletin
chrome --dump-dom "$URL/?period=$P" >"$WORK/dash.html" || fail "chromium dashboard"
grep -q "<a id=\"bulletin-link\" class=\"bulletin-link\" href=\"bulletin?period=$P\"" "$WORK/dash.html" ||
    fail "no bulletin link in the monthly view (kept in $WORK/dash.html)"
chrome --dump-dom "http://127.0.0.1:$TPORT/?token=s3cret&period=$P" >"$WORK/dash-tok.html" ||
    fail "chromium dashboard with token"
grep -q "href=\"bulletin?period=$P&amp;token=s3cret\"" "$WORK/dash-tok.html" ||
    fail "the link does not carry the token (kept in $WORK/dash-tok.html)"
kill -TERM "$WEB_PID" "$TOK_PID"; wait "$WEB_PID" && wait "$TOK_PID" || fail "web did not stop cleanly"
pass "the dashboard's monthly view links /bulletin?period=$P (with the token when it has one)"
