/*
 * The prefecture dashboard. Plain JavaScript, no library, nothing fetched
 * but this server's own /api/ (the Content-Security-Policy allows nothing
 * else). Every string that comes from a report (county text is untrusted)
 * is put into the page with textContent / createTextNode only: this file
 * never parses HTML.
 */
'use strict';

(function () {
  var SVGNS = 'http://www.w3.org/2000/svg';
  var MONTHS = 12; // matrix: the current period and the 11 before it
  var HISTORY_MAX = 200; // accidents whose revision history is fetched up front

  var T = {
    zh: {
      title: '延边州安全生产直报 · 汇总看板',
      lang_switch: 'English',
      matrix_title: '月度报告完成情况',
      matrix_note: '每月进展报告须于次月5日24时前报送（截止时间顺延的，以顺延后为准）。点击单元格查看该县（市）当月报告。',
      on_time: '按时', late: '迟报', missing: '未报',
      county: '县（市）', total: '合计',
      indicators_title: '死亡人数与2015年基数',
      county_title: '分县（市）视图', county_pick: '县（市）',
      accidents_title: '事故信息（最新在前）',
      footer: '数据来自各县（市）签名报告，与 zhibao-agg report 输出一致；本页只读。',
      status_line: function (s) {
        return '数据截至 ' + shortTime(s.now) + ' · 已登记 ' + s.counties.length + ' 个县（市） · 共收到报告 ' +
          s.reports + ' 份';
      },
      range: function (a, b) { return '事故发生时间 ' + a + ' 至 ' + b; },
      occurred: '发生时间', accident_id: '编号', industry: '行业', grade: '等级',
      casualties: '死亡/失踪/重伤', report_to: '须报至', flags: '提示', revisions: '续报',
      history: '报送历史', revision: '第{n}次续报', initial: '首报',
      place: '地点', summary: '经过', unit: '单位', measures: '已采取措施', other: '其他',
      created_at: '填报时间', received_at: '州收到时间', deaths: '死亡', missing_p: '失踪',
      serious: '重伤', loss: '直接经济损失（元）',
      no_accidents: '该时段无事故。',
      chart_title: function (y) { return y + '年各月事故死亡人数'; },
      base_line: '2015年基数（月均）', target_line: '目标：比2015年下降20%（月均）',
      base_missing: '2015年基数未载入（zhibao-agg load-figures），仅显示各月死亡人数。',
      ytd: '本年累计死亡', prev: '上年同期', base_pr: '2015年基数（同期折算）',
      target_pr: '目标（同期折算）', change_base: '较基数', on_track: '是否达标',
      yes: '达标', no: '未达标', na: '—',
      months_of: function (c) { return c + ' 近12个月报送情况'; },
      monthly_of: function (p) { return p + ' 月度报告'; },
      version: '版本', tasks_done: '已完成', tasks_in_progress: '推进中',
      tasks_not_started: '未启动', tasks_not_reported: '未报告', inspections: '检查次数',
      status: '状态', deadline: '截止', accidents_of: '该县（市）事故',
      review: '审核', review_comment: '审核意见', reviewer: '审核人', reviewed_at: '审核时间',
      reviews: { accepted: '已签收', returned: '已退回', unreviewed: '未审核' },
      deadline_moved: '已顺延',
      review_title: function (p) { return p + ' 月度报告签收情况'; },
      bulletin: '本月通报（可打印）',
      review_note: '各县（市）最新版本的审核状态；退回的报告由县（市）报送新版本后重新审核。',
      error: '无法读取数据：',
      grades: { general: '一般', larger: '较大', serious: '重大', especially_serious: '特别重大' },
      report_tos: { prefecture: '州', province: '省', state_council: '国务院' },
      flag_names: {
        initial_report_late: '首报超过2小时',
        unit_notice_late: '单位报告超过1小时',
        times_corrected: '时间已更正',
        change_after_window: '补报期后的变化（不计入）',
        supplement_overdue: '续报逾期',
        grade_rose: '等级上升',
        created_after_received: '填报时间晚于州收到时间（不计入）',
        received_long_after_created: '按时填报但72小时后才收到',
        created_before_previous: '填报时间早于前一份报告'
      },
      industries: {
        coal_mine: '煤矿', non_coal_mine: '非煤矿山', hazardous_chemicals: '危险化学品',
        fireworks: '烟花爆竹', construction: '建筑施工', metallurgy_trade: '冶金等工贸',
        road_traffic: '道路交通', fire: '火灾', special_equipment: '特种设备',
        water_traffic: '水上交通', railway: '铁路交通', civil_aviation: '民航飞行',
        agricultural_machinery: '农业机械', fishing_vessel: '渔业船舶', other: '其他'
      }
    },
    en: {
      title: 'Yanbian safety direct reporting · prefecture dashboard',
      lang_switch: '中文',
      matrix_title: 'Monthly progress reports',
      matrix_note: 'Due by the end of the 5th of the following month, or by the moved deadline. ' +
        'Click a cell for that report.',
      on_time: 'on time', late: 'late', missing: 'missing',
      county: 'County', total: 'Total',
      indicators_title: 'Deaths against the 2015 base',
      county_title: 'County view', county_pick: 'County',
      accidents_title: 'Accidents (newest first)',
      footer: 'From the counties\u2019 signed reports; the same figures as zhibao-agg report. Read-only.',
      status_line: function (s) {
        return 'As of ' + shortTime(s.now) + ' · ' + s.counties.length + ' counties enrolled · ' + s.reports +
          ' reports received';
      },
      range: function (a, b) { return 'Accidents that occurred from ' + a + ' to ' + b; },
      occurred: 'Occurred', accident_id: 'ID', industry: 'Industry', grade: 'Grade',
      casualties: 'Dead / missing / seriously injured', report_to: 'Report to', flags: 'Flags',
      revisions: 'Revisions', history: 'Revision history', revision: 'revision {n}',
      initial: 'initial report', place: 'Place', summary: 'Summary', unit: 'Unit',
      measures: 'Measures taken', other: 'Other', created_at: 'Filed', received_at: 'Received',
      deaths: 'dead', missing_p: 'missing', serious: 'seriously injured',
      loss: 'Direct loss (yuan)', no_accidents: 'No accident in this period.',
      chart_title: function (y) { return 'Accident deaths by month, ' + y; },
      base_line: '2015 base (monthly average)', target_line: 'Target: 20 % below 2015 (monthly average)',
      base_missing: 'The 2015 base is not loaded (zhibao-agg load-figures): deaths by month only.',
      ytd: 'Deaths this year', prev: 'Same period last year', base_pr: '2015 base (prorated)',
      target_pr: 'Target (prorated)', change_base: 'vs base', on_track: 'On track',
      yes: 'yes', no: 'no', na: '—',
      months_of: function (c) { return c + ': the last 12 months'; },
      monthly_of: function (p) { return 'Monthly report ' + p; },
      version: 'Version', tasks_done: 'Tasks done', tasks_in_progress: 'Tasks in progress',
      tasks_not_started: 'Tasks not started', tasks_not_reported: 'Tasks not reported',
      inspections: 'Inspections', status: 'Status', deadline: 'Deadline',
      accidents_of: 'Accidents of this county', error: 'Cannot load data: ',
      review: 'Review', review_comment: 'Comment', reviewer: 'Reviewer', reviewed_at: 'Reviewed',
      reviews: { accepted: 'accepted', returned: 'returned', unreviewed: 'unreviewed' },
      deadline_moved: 'moved',
      review_title: function (p) { return 'Monthly reports ' + p + ': reviews'; },
      bulletin: 'Monthly bulletin (printable, in Chinese)',
      review_note: 'The review of each county\u2019s latest version; a returned report is reviewed ' +
        'again once the county files a new version.',
      grades: { general: 'general', larger: 'larger', serious: 'serious',
        especially_serious: 'especially serious' },
      report_tos: { prefecture: 'prefecture', province: 'province', state_council: 'State Council' },
      flag_names: {
        initial_report_late: 'initial report > 2 h',
        unit_notice_late: 'unit notice > 1 h',
        times_corrected: 'times corrected',
        change_after_window: 'change after the window (not counted)',
        supplement_overdue: 'follow-up overdue',
        grade_rose: 'grade rose',
        created_after_received: 'signed after it was received (not counted)',
        received_long_after_created: 'signed on time, received 72 h later',
        created_before_previous: 'signed before the previous report'
      },
      industries: {
        coal_mine: 'coal mine', non_coal_mine: 'non-coal mine',
        hazardous_chemicals: 'hazardous chemicals', fireworks: 'fireworks',
        construction: 'construction', metallurgy_trade: 'metallurgy and trade',
        road_traffic: 'road traffic', fire: 'fire', special_equipment: 'special equipment',
        water_traffic: 'water traffic', railway: 'railway', civil_aviation: 'civil aviation',
        agricultural_machinery: 'farm machinery', fishing_vessel: 'fishing vessel', other: 'other'
      }
    }
  };

  var state = {
    lang: 'zh', status: null, matrix: null, accidents: null, yearAccidents: null,
    indicators: null, history: {}, county: null, period: null, monthly: {}
  };

  function t(key) {
    var v = T[state.lang][key];
    return v === undefined ? T.zh[key] : v;
  }
  function lookup(table, key) {
    var v = (T[state.lang][table] || {})[key];
    return v === undefined ? String(key) : v;
  }

  // ---- DOM helpers: text only
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function svg(tag, attrs, children) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    append(e, children);
    return e;
  }
  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, String(attrs[k]));
    });
  }
  function append(e, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
  }
  function clear(e) {
    while (e.firstChild) e.removeChild(e.firstChild);
    return e;
  }
  function $(id) { return document.getElementById(id); }

  // ---- data
  var params = new URLSearchParams(window.location.search);
  var token = params.get('token');
  if (params.get('lang') === 'en') state.lang = 'en';
  // ?period=YYYY-MM: the month shown first in the monthly views (default: last month)
  var startPeriod = /^\d{4}-(0[1-9]|1[0-2])$/.test(params.get('period') || '') ? params.get('period') : null;
  function api(path) {
    var headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch('api/' + path, { headers: headers, cache: 'no-store' }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(r.status + ' ' + (body && body.error ? body.error : ''));
        return body;
      });
    });
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function periodAdd(p, k) {
    var y = +p.slice(0, 4), m = +p.slice(5, 7) - 1 + k;
    y += Math.floor(m / 12);
    m = ((m % 12) + 12) % 12;
    return y + '-' + pad(m + 1);
  }
  function showError(e) {
    var box = $('error');
    clear(box);
    append(box, t('error') + (e && e.message ? e.message : String(e)));
    box.hidden = false;
  }
  function shortTime(s) { return s ? s.replace('T', ' ').replace(/:\d\d\+08:00$/, '') : ''; }

  // ---- the matrix
  function renderMatrix() {
    var box = clear($('matrix'));
    var m = state.matrix;
    if (!m) return;
    var head = el('tr', null, el('th', { scope: 'col' }, t('county')));
    m.periods.forEach(function (p) { head.appendChild(el('th', { scope: 'col' }, p)); });
    var body = el('tbody');
    m.rows.forEach(function (r) {
      var tr = el('tr', { 'class': 'matrix-row', 'data-county': r.county },
        el('th', { scope: 'row' }, [r.name + ' ', el('span', { 'class': 'code' }, r.county)]));
      m.periods.forEach(function (p) {
        var st = r[p];
        var td = el('td', {
          'class': 'cell st-' + st, 'data-county': r.county, 'data-period': p,
          title: r.name + ' ' + p + ': ' + t(st), tabindex: 0
        }, t(st));
        td.addEventListener('click', function () { selectCounty(r.county, p); });
        td.addEventListener('keydown', function (ev) {
          if (ev.key === 'Enter') selectCounty(r.county, p);
        });
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    var foot = el('tr', { 'class': 'totals' }, el('th', { scope: 'row' }, t('total')));
    m.periods.forEach(function (p) {
      var s = m.totals[p] || {};
      foot.appendChild(el('td', { title: t('on_time') + ' / ' + t('late') + ' / ' + t('missing') },
        [el('span', { 'class': 'n-on_time' }, s.on_time), '/',
          el('span', { 'class': 'n-late' }, s.late), '/',
          el('span', { 'class': 'n-missing' }, s.missing)]));
    });
    box.appendChild(el('table', { 'class': 'matrix' },
      [el('thead', null, head), body, el('tfoot', null, foot)]));
  }

  // ---- accidents
  function gradeBadge(g) { return el('span', { 'class': 'grade grade-' + g }, lookup('grades', g)); }
  function flagBadges(flags) {
    return (flags || []).map(function (f) {
      return el('span', { 'class': 'flag', title: f }, lookup('flag_names', f));
    });
  }
  function revisionBlock(h) {
    var r = h.report || {};
    var unit = r.unit && r.unit.name ? r.unit.name : '';
    var rows = [
      [t('created_at'), shortTime(r.created_at)], [t('received_at'), shortTime(h.received_at)],
      [t('grade'), gradeBadge(h.grade)], [t('report_to'), lookup('report_tos', h.report_to)],
      [t('casualties'), [r.deaths, r.missing, r.serious_injuries].join(' / ')],
      [t('loss'), r.direct_loss_yuan], [t('place'), r.place], [t('unit'), unit],
      [t('summary'), r.summary], [t('measures'), r.measures_taken], [t('other'), r.other]
    ];
    var dl = el('dl', { 'class': 'rev' });
    rows.forEach(function (kv) {
      if (kv[1] === undefined || kv[1] === null || kv[1] === '') return;
      dl.appendChild(el('dt', null, kv[0]));
      dl.appendChild(el('dd', null, kv[1]));
    });
    var title = h.revision === 0 ? t('initial') : t('revision').replace('{n}', h.revision);
    return el('li', null, [el('h4', null, title + ' · seq ' + h.seq), dl]);
  }
  function accidentRows(list, tbody) {
    list.forEach(function (a, i) {
      var key = a.county + '/' + a.accident_id;
      tbody.appendChild(el('tr', { 'class': 'accident', 'data-accident': key }, [
        el('td', null, shortTime(a.occurred_at)),
        el('td', null, [a.name + ' ', el('span', { 'class': 'code' }, a.county)]),
        el('td', { 'class': 'mono' }, a.accident_id),
        el('td', null, lookup('industries', a.industry)),
        el('td', null, gradeBadge(a.grade)),
        el('td', { 'class': 'num' }, [a.counted_deaths, a.counted_missing,
          a.counted_serious_injuries].join(' / ')),
        el('td', null, lookup('report_tos', a.report_to)),
        el('td', null, flagBadges(a.flags)),
        el('td', { 'class': 'num' }, a.revisions)
      ]));
      var hist = state.history[key];
      // the newest accident's history is open: what changed since the first report
      var details = el('details', { 'class': 'history', 'data-accident': key, open: i === 0 ? '' : null },
        el('summary', null, t('history') + ' (' + a.revisions + ')'));
      if (hist) {
        details.appendChild(el('ol', null, hist.history.slice().reverse().map(revisionBlock)));
      } else {
        details.addEventListener('toggle', function () {
          if (!details.open || state.history[key]) return;
          api('accidents/' + encodeURIComponent(a.county) + '/' + encodeURIComponent(a.accident_id))
            .then(function (h) { state.history[key] = h; renderAccidents(); renderCounty(); })
            .catch(showError);
        });
      }
      tbody.appendChild(el('tr', { 'class': 'history-row' }, el('td', { colspan: 9 }, details)));
    });
  }
  function accidentTable(list) {
    if (!list.length) return el('p', { 'class': 'muted' }, t('no_accidents'));
    var head = el('tr', null, ['occurred', 'county', 'accident_id', 'industry', 'grade',
      'casualties', 'report_to', 'flags', 'revisions'].map(function (k) {
      return el('th', { scope: 'col' }, t(k));
    }));
    var tbody = el('tbody');
    accidentRows(list, tbody);
    return el('table', { 'class': 'accidents' }, [el('thead', null, head), tbody]);
  }
  function renderAccidents() {
    var a = state.accidents;
    if (!a) return;
    clear($('accidents-range'));
    append($('accidents-range'), t('range')(a.from, a.to));
    clear($('accidents')).appendChild(accidentTable(a.accidents));
  }

  // ---- the chart: deaths by month of the year, the 2015 base and target
  function renderChart() {
    var box = clear($('chart'));
    var ya = state.yearAccidents, ind = state.indicators, st = state.status;
    if (!ya || !st) return;
    var year = st.year, curMonth = +st.current_period.slice(5, 7);
    var deaths = [];
    for (var i = 0; i < 12; i++) deaths.push(0);
    ya.accidents.forEach(function (a) {
      if (a.counted && +a.occurred_at.slice(0, 4) === year)
        deaths[+a.occurred_at.slice(5, 7) - 1] += a.counted_deaths;
    });
    var base = ind && ind.total && typeof ind.total.base_deaths === 'number' ? ind.total.base_deaths : null;
    var baseM = base === null ? null : base / 12;
    var targetM = baseM === null ? null : baseM * (100 - (ind.target_reduction_pct || 20)) / 100;
    var max = Math.max.apply(null, deaths.concat([baseM || 0, 1]));
    max = Math.ceil(max * 1.15);
    var W = 640, H = 300, L = 44, R = 12, TOP = 34, B = 34;
    var pw = W - L - R, ph = H - TOP - B, bw = pw / 12;
    function y(v) { return TOP + ph - (v / max) * ph; }
    var g = [];
    g.push(svg('text', { x: L, y: 18, 'class': 'chart-title' }, t('chart_title')(year)));
    var step = Math.max(1, Math.ceil(max / 5));
    for (var v = 0; v <= max; v += step) {
      g.push(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), 'class': 'grid' }));
      g.push(svg('text', { x: L - 6, y: y(v) + 4, 'class': 'tick', 'text-anchor': 'end' }, v));
    }
    for (var m = 0; m < 12; m++) {
      var x = L + m * bw;
      var h = (deaths[m] / max) * ph;
      var future = m + 1 > curMonth;
      g.push(svg('rect', { 'class': 'bar' + (future ? ' future' : ''), x: x + bw * 0.18,
        y: TOP + ph - h, width: bw * 0.64, height: Math.max(h, 0),
        'data-month': year + '-' + pad(m + 1), 'data-deaths': deaths[m] },
        svg('title', null, year + '-' + pad(m + 1) + ': ' + deaths[m])));
      if (deaths[m] > 0)
        g.push(svg('text', { x: x + bw / 2, y: TOP + ph - h - 4, 'class': 'bar-label',
          'text-anchor': 'middle' }, deaths[m]));
      g.push(svg('text', { x: x + bw / 2, y: H - B + 16, 'class': 'tick', 'text-anchor': 'middle' },
        state.lang === 'zh' ? (m + 1) + '月' : ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul',
          'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][m]));
    }
    g.push(svg('line', { x1: L, x2: W - R, y1: TOP + ph, y2: TOP + ph, 'class': 'axis' }));
    if (baseM !== null) {
      g.push(svg('line', { x1: L, x2: W - R, y1: y(baseM), y2: y(baseM), 'class': 'line base' }));
      g.push(svg('line', { x1: L, x2: W - R, y1: y(targetM), y2: y(targetM), 'class': 'line target' }));
    }
    box.appendChild(svg('svg', { 'class': 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img',
      'aria-label': t('chart_title')(year) }, g));
    if (baseM !== null) {
      box.appendChild(el('ul', { 'class': 'legend' }, [
        el('li', null, [el('span', { 'class': 'key base' }), t('base_line') + ' ' + baseM.toFixed(1)]),
        el('li', null, [el('span', { 'class': 'key target' }), t('target_line') + ' ' + targetM.toFixed(1)])
      ]));
    } else {
      box.appendChild(el('p', { 'class': 'note' }, t('base_missing')));
    }
  }
  function fmt(v, digits) {
    if (v === null || v === undefined) return t('na');
    return typeof v === 'number' && digits !== undefined ? v.toFixed(digits) : String(v);
  }
  function renderIndicators() {
    var box = clear($('indicators'));
    var ind = state.indicators;
    if (!ind) return;
    var cols = [['ytd', 'deaths'], ['prev', 'previous_deaths'], ['base_pr', 'base_deaths_prorated', 1],
      ['target_pr', 'target_deaths_prorated', 1], ['change_base', 'change_vs_base_pct', 1]];
    var head = el('tr', null, [el('th', null, t('county'))].concat(cols.map(function (c) {
      return el('th', null, t(c[0]));
    })).concat([el('th', null, t('on_track'))]));
    function row(r, cls) {
      return el('tr', { 'class': cls }, [el('th', { scope: 'row' }, r.name || t('total'))].concat(
        cols.map(function (c) {
          var v = fmt(r[c[1]], c[2]);
          return el('td', { 'class': 'num' }, c[1] === 'change_vs_base_pct' && v !== t('na') ? v + ' %' : v);
        })).concat([el('td', { 'class': r.on_track === true ? 'ok' : r.on_track === false ? 'bad' : '' },
        r.on_track === true ? t('yes') : r.on_track === false ? t('no') : t('na'))]));
    }
    var rows = ind.rows.map(function (r) { return row(r, ''); });
    rows.push(row(ind.total, 'totals'));
    box.appendChild(el('table', { 'class': 'indicators' },
      [el('thead', null, head), el('tbody', null, rows)]));
  }

  // ---- monthly reports: reviews and the deadline
  // review: "accepted" | "returned" | "unreviewed", null for a county that did not file
  function reviewPill(review) {
    if (!review) return t('na');
    return el('span', { 'class': 'pill rv rv-' + review, 'data-review': review }, lookup('reviews', review));
  }
  // the period's deadline, marked when the prefecture moved it (zhibao-agg deadline)
  function deadlineText(doc) {
    var parts = [el('span', { 'class': 'deadline' }, shortTime(doc.deadline))];
    if (doc.deadline_moved) parts.push(' ', el('span', { 'class': 'moved' }, t('deadline_moved')));
    return parts;
  }
  function renderMonthly() {
    var title = clear($('monthly-title')), note = clear($('monthly-deadline')), box = clear($('monthly'));
    var doc = state.monthly[state.period];
    if (!state.period) return;
    append(title, t('review_title')(state.period));
    if (!doc) return;
    append(note, [t('deadline') + ' '].concat(deadlineText(doc)).concat([' · ' + t('review_note')]));
    // the period's bulletin (月度通报), the page `zhibao-agg report bulletin` writes
    var href = 'bulletin?period=' + encodeURIComponent(state.period) +
      (token ? '&token=' + encodeURIComponent(token) : '');
    append(note, [' · ', el('a', { id: 'bulletin-link', 'class': 'bulletin-link', href: href,
      target: '_blank', rel: 'noopener' }, t('bulletin'))]);
    var cols = ['county', 'status', 'version', 'review', 'review_comment', 'reviewer', 'reviewed_at'];
    var head = el('tr', null, cols.map(function (k) { return el('th', { scope: 'col' }, t(k)); }));
    var body = el('tbody', null, doc.rows.map(function (r) {
      var tr = el('tr', { 'class': 'review-row', 'data-county': r.county, tabindex: 0 }, [
        el('th', { scope: 'row' }, [r.name + ' ', el('span', { 'class': 'code' }, r.county)]),
        el('td', null, el('span', { 'class': 'pill st-' + r.status }, t(r.status))),
        el('td', { 'class': 'num' }, r.version),
        el('td', null, reviewPill(r.review)),
        el('td', { 'class': 'comment' }, r.review_comment || ''),
        el('td', null, r.reviewer || ''),
        el('td', null, shortTime(r.reviewed_at))
      ]);
      tr.addEventListener('click', function () { selectCounty(r.county, doc.period); });
      tr.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter') selectCounty(r.county, doc.period);
      });
      return tr;
    }));
    box.appendChild(el('table', { 'class': 'reviews' }, [el('thead', null, head), body]));
  }

  // ---- per county
  function selectCounty(code, period) {
    state.county = code;
    if (period) state.period = period;
    $('county-select').value = code;
    loadMonthly(state.period);
    renderMonthly();
    renderCounty();
    if (period) $('county-section').scrollIntoView({ block: 'nearest' });
  }
  function loadMonthly(p) {
    if (!p || state.monthly[p]) return;
    api('monthly?period=' + encodeURIComponent(p)).then(function (doc) {
      state.monthly[p] = doc;
      renderMonthly();
      renderCounty();
    }).catch(showError);
  }
  function renderCountySelect() {
    var sel = clear($('county-select'));
    if (!state.matrix) return;
    state.matrix.rows.forEach(function (r) {
      sel.appendChild(el('option', { value: r.county }, r.name + ' ' + r.county));
    });
    if (state.county) sel.value = state.county;
  }
  function renderCounty() {
    var box = clear($('county-view'));
    var m = state.matrix;
    if (!m || !state.county) return;
    var row = m.rows.filter(function (r) { return r.county === state.county; })[0];
    if (!row) return;
    box.appendChild(el('h3', null, t('months_of')(row.name + ' ' + row.county)));
    box.appendChild(el('ol', { 'class': 'months' }, m.periods.map(function (p) {
      var li = el('li', { 'class': 'cell st-' + row[p] + (p === state.period ? ' selected' : ''),
        tabindex: 0 }, [el('span', { 'class': 'p' }, p), el('span', null, t(row[p]))]);
      li.addEventListener('click', function () { selectCounty(row.county, p); });
      return li;
    })));
    var doc = state.monthly[state.period];
    if (doc) {
      var r = doc.rows.filter(function (x) { return x.county === state.county; })[0];
      if (r) {
        box.appendChild(el('h3', null, t('monthly_of')(doc.period)));
        var dl = el('dl', { 'class': 'rev' });
        [[t('status'), el('span', { 'class': 'pill st-' + r.status }, t(r.status))],
          [t('deadline'), deadlineText(doc)], [t('version'), r.version],
          [t('review'), r.review ? reviewPill(r.review) : null],
          [t('review_comment'), r.review_comment], [t('reviewer'), r.reviewer],
          [t('reviewed_at'), shortTime(r.reviewed_at)],
          [t('created_at'), shortTime(r.first_created_at || r.created_at)],
          [t('tasks_done'), r.tasks_done], [t('tasks_in_progress'), r.tasks_in_progress],
          [t('tasks_not_started'), r.tasks_not_started], [t('tasks_not_reported'), r.tasks_not_reported],
          [t('inspections'), r.inspections]].forEach(function (kv) {
          if (kv[1] === undefined || kv[1] === null || kv[1] === '') return;
          dl.appendChild(el('dt', null, kv[0]));
          dl.appendChild(el('dd', null, kv[1]));
        });
        box.appendChild(dl);
      }
    }
    box.appendChild(el('h3', null, t('accidents_of')));
    var mine = state.accidents ? state.accidents.accidents.filter(function (a) {
      return a.county === state.county;
    }) : [];
    if (!mine.length) box.appendChild(el('p', { 'class': 'muted' }, t('no_accidents')));
    else box.appendChild(el('ul', { 'class': 'county-accidents' }, mine.map(function (a) {
      return el('li', null, [shortTime(a.occurred_at) + ' ', el('span', { 'class': 'mono' }, a.accident_id),
        ' ', gradeBadge(a.grade), ' ' + lookup('industries', a.industry) + ' · ' + a.deaths + ' / ' +
        a.missing + ' / ' + a.serious_injuries]);
    })));
  }

  // ---- language
  function renderStatic() {
    document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (e) {
      var v = t(e.getAttribute('data-t'));
      if (typeof v === 'string') e.textContent = v;
    });
    $('lang').textContent = t('lang_switch');
    var sl = clear($('status-line'));
    if (state.status) append(sl, t('status_line')(state.status));
  }
  function renderAll() {
    renderStatic();
    renderMatrix();
    renderMonthly();
    renderChart();
    renderIndicators();
    renderCountySelect();
    renderCounty();
    renderAccidents();
  }

  function start() {
    $('lang').addEventListener('click', function () {
      state.lang = state.lang === 'zh' ? 'en' : 'zh';
      renderAll();
    });
    $('county-select').addEventListener('change', function (ev) {
      selectCounty(ev.target.value, null);
    });
    api('status').then(function (st) {
      state.status = st;
      var cur = st.current_period, first = periodAdd(cur, 1 - MONTHS);
      var today = st.now.slice(0, 10);
      state.period = startPeriod || periodAdd(cur, -1);
      return Promise.all([
        api('matrix?from=' + first + '&to=' + cur),
        api('accidents?from=' + first + '-01&to=' + today),
        api('accidents?from=' + st.year + '-01-01&to=' + today),
        api('indicators?year=' + st.year).catch(function () { return null; }),
        api('monthly?period=' + state.period)
      ]);
    }).then(function (r) {
      state.matrix = r[0];
      state.accidents = r[1];
      state.yearAccidents = r[2];
      state.indicators = r[3];
      state.monthly[state.period] = r[4];
      if (state.matrix.rows.length) state.county = state.matrix.rows[0].county;
      return Promise.all(state.accidents.accidents.slice(0, HISTORY_MAX).map(function (a) {
        var key = a.county + '/' + a.accident_id;
        return api('accidents/' + encodeURIComponent(a.county) + '/' +
          encodeURIComponent(a.accident_id)).then(function (h) { state.history[key] = h; },
          function () { /* fetched again when opened */ });
      }));
    }).then(renderAll).catch(function (e) {
      renderAll();
      showError(e);
    });
  }
  document.addEventListener('DOMContentLoaded', start);
})();
