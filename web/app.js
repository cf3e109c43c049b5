// SPDX-License-Identifier: MIT
// hark's dashboard: the overview of every rule (/) and a rule's page
// (/rules/NAME), drawn as SVG from harkd's JSON routes. No framework, no
// markup built from text: every text from the API goes in through textContent.
'use strict';

(function () {
  // ---------------------------------------------------------------- strings
  const STRINGS = {
    en: {
      skip: 'Skip to content', loading: 'Loading…', rules: 'Rules',
      allRules: '← All rules', filter: 'Filter rules', range: 'Range',
      noRules: 'No rule matches.', prev: 'Previous', next: 'Next',
      page: 'Page {0} of {1} ({2} rules)', shown: '{0}–{1} of {2}',
      firing: 'firing', silenced: 'silenced', warming: 'warming', ok: 'ok',
      now: 'now {0}', usual: 'usual {0}', usualNone: 'usual: learning',
      chartLabel: 'Mentions of {0} per {1} over {2}: {3} points, {4} alerts. Arrow keys move along the points, Enter shows what a bucket is about.',
      sparkLabel: 'Mentions of {0} over {1}: {2} alerts',
      tipCount: '{0} mentions', tipUsual: 'usual {0} (band {1}–{2})',
      tipUsualOnly: 'usual {0}', tipWarming: 'learning the usual level',
      legendBand: 'usual band', legendBaseline: 'usual level',
      alertFiring: 'alert fired', alertEscalation: 'escalation',
      alertResolved: 'resolved',
      about: 'What it is about', aboutOpen: 'Open bucket {0} (still counting)',
      aboutBucket: 'Bucket {0}', showOpen: 'Back to the open bucket',
      samples: 'Sample mentions', terms: 'Top terms', emerging: 'Emerging terms',
      hashtags: 'Hashtags', authors: 'Authors', langs: 'Languages',
      none: 'None.', open: 'open', by: 'by {0}', ratio: '×{0} (usual {1})',
      noTop: 'No terms for this bucket.',
      history: 'Alert history', noAlerts: 'No alert yet.',
      colTime: 'Window', colStatus: 'Status', colCount: 'Count',
      colUsual: 'Usual', colRatio: 'Ratio', colSilenced: 'Silenced',
      yes: 'yes', no: 'no',
      silences: 'Silences', noSilences: 'No silence of this rule.',
      silence: 'Silence this rule', duration: 'For', comment: 'Comment',
      create: 'Silence', expire: 'Expire', until: 'until {0}',
      created: 'Silence created.', expired: 'Silence expired.',
      stActive: 'active', stPending: 'pending', stExpired: 'expired',
      needToken: 'This needs the API token: enter it above.',
      tokenLabel: 'API token', tokenSave: 'Use token',
      error: 'Could not load {0}: {1}', unknownRule: 'No rule named {0}.',
      buckets: 'mentions per {0}'
    },
    fr: {
      skip: 'Aller au contenu', loading: 'Chargement…', rules: 'Règles',
      allRules: '← Toutes les règles', filter: 'Filtrer les règles',
      range: 'Période', noRules: 'Aucune règle ne correspond.',
      prev: 'Précédente', next: 'Suivante',
      page: 'Page {0} sur {1} ({2} règles)', shown: '{0}–{1} sur {2}',
      firing: 'en alerte', silenced: 'en silence', warming: 'apprentissage',
      ok: 'normal', now: 'maintenant {0}', usual: 'habituel {0}',
      usualNone: 'habituel : en apprentissage',
      chartLabel: 'Mentions de {0} par {1} sur {2} : {3} points, {4} alertes. Les flèches parcourent les points, Entrée montre de quoi parle un intervalle.',
      sparkLabel: 'Mentions de {0} sur {1} : {2} alertes',
      tipCount: '{0} mentions', tipUsual: 'habituel {0} (bande {1}–{2})',
      tipUsualOnly: 'habituel {0}', tipWarming: 'niveau habituel en apprentissage',
      legendBand: 'bande habituelle',
      legendBaseline: 'niveau habituel',
      alertFiring: 'alerte', alertEscalation: 'aggravation',
      alertResolved: 'fin d’alerte',
      about: 'De quoi ça parle', aboutOpen: 'Intervalle ouvert {0} (en cours)',
      aboutBucket: 'Intervalle {0}', showOpen: 'Revenir à l’intervalle ouvert',
      samples: 'Exemples de mentions', terms: 'Termes fréquents',
      emerging: 'Termes émergents', hashtags: 'Hashtags', authors: 'Auteurs',
      langs: 'Langues', none: 'Aucun.', open: 'ouvrir', by: 'par {0}',
      ratio: '×{0} (habituel {1})', noTop: 'Aucun terme pour cet intervalle.',
      history: 'Historique des alertes', noAlerts: 'Aucune alerte pour l’instant.',
      colTime: 'Fenêtre', colStatus: 'État', colCount: 'Nombre',
      colUsual: 'Habituel', colRatio: 'Rapport', colSilenced: 'En silence',
      yes: 'oui', no: 'non',
      silences: 'Silences', noSilences: 'Aucun silence pour cette règle.',
      silence: 'Mettre cette règle en silence', duration: 'Durée',
      comment: 'Commentaire', create: 'Mettre en silence', expire: 'Lever',
      until: 'jusqu’à {0}', created: 'Silence créé.', expired: 'Silence levé.',
      stActive: 'actif', stPending: 'à venir', stExpired: 'terminé',
      needToken: 'Il faut le jeton de l’API : saisissez-le en haut.',
      tokenLabel: 'Jeton de l’API', tokenSave: 'Utiliser',
      error: 'Impossible de charger {0} : {1}', unknownRule: 'Aucune règle nommée {0}.',
      buckets: 'mentions par {0}'
    }
  };
  const LANG = (navigator.language || 'en').toLowerCase().startsWith('fr') ? 'fr' : 'en';
  const S = STRINGS[LANG];

  function t(key) {
    const args = Array.prototype.slice.call(arguments, 1);
    return S[key].replace(/\{(\d)\}/g, function (_, i) { return String(args[+i]); });
  }

  // ------------------------------------------------------------ constants
  const RANGES = { '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };
  // 7d and 30d ask for coarser steps: about 700 points drawn at most.
  const STEPS = { '7d': '15m', '30d': '1h' };
  const PAGE = 24;
  const ORDER = { firing: 0, silenced: 1, warming: 2, ok: 3 };
  const SVGNS = 'http://www.w3.org/2000/svg';
  const TOKEN_KEY = 'hark.token';

  // ------------------------------------------------------------- helpers
  function el(tag, attrs) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    for (let i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }

  function sv(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    return e;
  }

  function setAttrs(e, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    });
  }

  function append(e, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) c.forEach(function (x) { append(e, x); });
    else e.appendChild(typeof c === 'string' || typeof c === 'number' ?
      document.createTextNode(String(c)) : c);
  }

  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); }

  const numFmt = new Intl.NumberFormat(LANG, { maximumFractionDigits: 1 });
  function num(v) { return v === null || v === undefined ? '–' : numFmt.format(v); }

  const timeFmt = new Intl.DateTimeFormat(LANG, { hour: '2-digit', minute: '2-digit' });
  const dayFmt = new Intl.DateTimeFormat(LANG, { weekday: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  const dateFmt = new Intl.DateTimeFormat(LANG, { month: 'short', day: 'numeric' });
  const fullFmt = new Intl.DateTimeFormat(LANG, { dateStyle: 'medium', timeStyle: 'short' });
  const relFmt = new Intl.RelativeTimeFormat(LANG, { numeric: 'auto' });

  function utc(s) { return new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'); }
  function local(s) { return fullFmt.format(new Date(s * 1000)); }

  function relative(s) {
    const d = s - Date.now() / 1000;
    const a = Math.abs(d);
    if (a < 60) return relFmt.format(Math.round(d), 'second');
    if (a < 3600) return relFmt.format(Math.round(d / 60), 'minute');
    if (a < 86400) return relFmt.format(Math.round(d / 3600), 'hour');
    return relFmt.format(Math.round(d / 86400), 'day');
  }

  // A time shown in local time, UTC in its title.
  function timeEl(s, text) {
    return el('time', { datetime: utc(s), title: utc(s) }, text || local(s));
  }

  function parseTime(v) {
    if (typeof v === 'number') return v;
    const ms = Date.parse(v);
    return isNaN(ms) ? null : ms / 1000;
  }

  function durationS(d) {
    const m = /^(\d+)(s|m|h|d)$/.exec(d || '');
    if (!m) return 0;
    return +m[1] * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]];
  }

  function stateName(s) { return S[s] ? t(s) : s; }

  function badge(state) {
    return el('span', { class: 'badge st-' + state }, stateName(state));
  }

  function status(msg) { document.getElementById('status').textContent = msg || ''; }

  // ------------------------------------------------------------------ API
  function ApiError(code, msg) { this.code = code; this.message = msg; }

  let memToken = null; // when sessionStorage is refused
  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || memToken; } catch (e) { return memToken; }
  }

  async function api(path, opts) {
    opts = opts || {};
    const headers = { Accept: 'application/json' };
    const tok = token();
    if (tok) headers.Authorization = 'Bearer ' + tok;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const r = await fetch(path, {
      method: opts.method || 'GET', headers: headers, credentials: 'same-origin',
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined
    });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (r.status === 401) {
      askToken();
      throw new ApiError(401, t('needToken'));
    }
    if (!r.ok) throw new ApiError(r.status, (body && body.error) || r.statusText);
    return body;
  }

  function askToken() {
    const f = document.getElementById('auth');
    f.hidden = false;
    document.getElementById('auth-token').focus();
  }

  function errorBox(what, e) {
    return el('p', { class: 'error', role: 'alert' },
      e && e.code === 401 ? t('needToken') : t('error', what, (e && e.message) || String(e)));
  }

  // ---------------------------------------------------------------- ready
  let ready = false;
  function markReady() {
    if (ready) return;
    ready = true;
    performance.mark('hark:ready');
    document.documentElement.dataset.ready = '1';
  }

  // --------------------------------------------------------------- router
  const main = document.getElementById('main');
  let view = 0; // bumped per drawn view: late answers of an old one are dropped

  function go(url) {
    history.pushState(null, '', url);
    route(true);
  }

  function route(moved) {
    const v = ++view;
    const p = location.pathname;
    const q = new URLSearchParams(location.search);
    let range = q.get('range');
    if (!RANGES[range]) range = '24h';
    let done;
    if (p.startsWith('/rules/') && p.length > 7) {
      done = showRule(v, decodeURIComponent(p.slice(7)), range, q);
    } else {
      done = showOverview(v, range, q.get('q') || '', Math.max(0, parseInt(q.get('offset'), 10) || 0), moved);
    }
    done.catch(function (e) { if (v === view) { clear(main); main.appendChild(errorBox(p, e)); } })
      .finally(function () { if (v === view) markReady(); });
    if (moved) main.focus({ preventScroll: true });
  }

  function query(params) {
    const q = new URLSearchParams();
    Object.keys(params).forEach(function (k) {
      const v = params[k];
      if (v !== '' && v !== null && v !== undefined && !(k === 'range' && v === '24h') && !(k === 'offset' && !v)) q.set(k, v);
    });
    const s = q.toString();
    return s ? '?' + s : '';
  }

  // Links of the page's own routes move through the history API; a click
  // with a modifier opens them as the browser would.
  document.addEventListener('click', function (ev) {
    const a = ev.target.closest && ev.target.closest('a[data-nav]');
    if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    go(a.getAttribute('href'));
  });
  window.addEventListener('popstate', function () { route(true); });

  function rangeButtons(current, onpick) {
    const g = el('div', { class: 'ranges', role: 'group', 'aria-label': t('range') });
    Object.keys(RANGES).forEach(function (r) {
      g.appendChild(el('button', {
        type: 'button', class: 'range', 'data-range': r,
        'aria-pressed': r === current ? 'true' : 'false',
        onclick: function () { onpick(r); }
      }, r));
    });
    return g;
  }

  // ------------------------------------------------------------- overview
  function overviewData(range, q, offset) {
    return api('/v1/overview?range=' + range + '&offset=' + offset + '&limit=' + PAGE + '&q=' + encodeURIComponent(q));
  }

  async function showOverview(v, range, q, offset, moved) {
    const data = await overviewData(range, q, offset);
    if (v !== view) return;
    document.title = t('rules') + ' · hark';
    const now = parseTime(data.now) || Date.now() / 1000;
    const from = now - RANGES[range];
    const states = data.states || {};
    // The filter keeps its element (and focus, and caret) while the rules
    // below it change; the rest is drawn again.
    let body = document.getElementById('ov-body');
    if (moved || !body || body.dataset.range !== range) body = overviewFrame(range, q);
    const counts = document.getElementById('ov-states');
    clear(counts);
    ['firing', 'silenced', 'warming', 'ok'].forEach(function (s) {
      counts.appendChild(el('span', { class: 'count st-' + s }, stateName(s) + ' ' + num(states[s] || 0)));
    });
    clear(body);
    const grid = el('ul', { class: 'grid' });
    (data.rules || []).forEach(function (r) {
      grid.appendChild(card(r, range, from, now));
    });
    if (!(data.rules || []).length) body.appendChild(el('p', { class: 'muted' }, t('noRules')));
    body.appendChild(grid);
    body.appendChild(pager(data, range, q));
  }

  function overviewFrame(range, q) {
    clear(main);
    const input = el('input', { id: 'filter', type: 'search', value: q, autocomplete: 'off', spellcheck: 'false' });
    let timer = 0;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        history.replaceState(null, '', '/' + query({ range: range, q: input.value }));
        route(false);
      }, 250);
    });
    main.appendChild(el('div', { class: 'head' }, el('h1', null, t('rules')), el('p', { id: 'ov-states', class: 'states' })));
    main.appendChild(el('div', { class: 'tools' },
      el('div', { class: 'filter' }, el('label', { for: 'filter' }, t('filter')), input),
      rangeButtons(range, function (r) { go('/' + query({ range: r, q: input.value })); })));
    const body = el('div', { id: 'ov-body', 'data-range': range });
    main.appendChild(body);
    return body;
  }

  function pager(data, range, q) {
    const total = data.total || 0;
    const off = data.offset || 0;
    const lim = data.limit || PAGE;
    const nav = el('nav', { class: 'pager', 'aria-label': t('page', 1 + Math.floor(off / lim), Math.max(1, Math.ceil(total / lim)), total) });
    const prev = el('a', { href: '/' + query({ range: range, q: q, offset: Math.max(0, off - lim) }), 'data-nav': true, class: 'button' }, t('prev'));
    const next = el('a', { href: '/' + query({ range: range, q: q, offset: off + lim }), 'data-nav': true, class: 'button' }, t('next'));
    nav.appendChild(off > 0 ? prev : el('span', { class: 'button disabled', 'aria-disabled': 'true' }, t('prev')));
    nav.appendChild(el('span', null, total ? t('shown', off + 1, Math.min(total, off + lim), total) : ''));
    nav.appendChild(off + lim < total ? next : el('span', { class: 'button disabled', 'aria-disabled': 'true' }, t('next')));
    return nav;
  }

  function card(r, range, from, now) {
    const state = r.silenced && r.state !== 'firing' ? 'silenced' : r.state;
    const href = '/rules/' + encodeURIComponent(r.name) + query({ range: range });
    const pts = (r.points || []).map(function (p) {
      return { t: parseTime(p[0]), count: p[1], low: p[2], high: p[3] };
    });
    const alerts = (r.alerts || []).map(function (a) { return { t: parseTime(a[0]), kind: a[1] }; })
      .filter(function (a) { return a.t !== null && a.t >= from && a.t < now; });
    return el('li', { class: 'card st-' + state },
      el('div', { class: 'card-head' },
        el('h2', null, el('a', { href: href, 'data-nav': true }, r.name)),
        badge(state), r.silenced && state === 'firing' ? badge('silenced') : null),
      el('p', { class: 'figures' },
        el('strong', null, t('now', num(r.count))), ' · ',
        r.baseline === null || r.baseline === undefined ? t('usualNone') : t('usual', num(r.baseline))),
      sparkline(r.name, range, pts, alerts, from, now));
  }

  function sparkline(name, range, pts, alerts, from, now) {
    const W = 300, H = 56;
    const svg = sv('svg', {
      class: 'spark', viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none',
      role: 'img', 'aria-label': t('sparkLabel', name, range, alerts.length),
      'data-rule': name, 'data-points': pts.length, 'data-alerts': alerts.length
    });
    const x = function (s) { return (s - from) / Math.max(1, now - from) * W; };
    const ymax = niceMax(pts);
    const y = function (v) { return H - 2 - v / ymax * (H - 4); };
    band(svg, pts, x, y);
    svg.appendChild(sv('path', { class: 'line', d: linePath(pts, 'count', x, y), 'vector-effect': 'non-scaling-stroke' }));
    alerts.forEach(function (a) {
      svg.appendChild(sv('line', {
        class: 'mark mark-' + a.kind, x1: x(a.t), x2: x(a.t), y1: 0, y2: H,
        'vector-effect': 'non-scaling-stroke'
      }));
    });
    return svg;
  }

  // --------------------------------------------------------- chart parts
  function niceMax(pts) {
    let m = 1;
    pts.forEach(function (p) {
      m = Math.max(m, p.count || 0, p.high || 0, p.baseline || 0);
    });
    return m * 1.08;
  }

  function linePath(pts, key, x, y) {
    let d = '';
    let pen = false;
    pts.forEach(function (p) {
      const v = p[key];
      if (v === null || v === undefined) { pen = false; return; }
      d += (pen ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(v).toFixed(1);
      pen = true;
    });
    return d || 'M0 0';
  }

  // The usual band, low..high, one shape per run of buckets that have it.
  function band(svg, pts, x, y) {
    let run = [];
    const flush = function () {
      if (run.length) {
        let d = '';
        run.forEach(function (p, i) { d += (i ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.high).toFixed(1); });
        for (let i = run.length - 1; i >= 0; i--) d += 'L' + x(run[i].t).toFixed(1) + ' ' + y(run[i].low).toFixed(1);
        svg.appendChild(sv('path', { class: 'band', d: d + 'Z' }));
      }
      run = [];
    };
    pts.forEach(function (p) {
      if (p.low === null || p.low === undefined || p.high === null || p.high === undefined) flush();
      else run.push(p);
    });
    flush();
  }

  // ----------------------------------------------------------- rule page
  // Points of a rule's series over [from, to), summed by the range's step
  // (STEPS) on the server.
  async function series(name, from, to, range) {
    let path = '/v1/rules/' + encodeURIComponent(name) + '/series?from=' + from + '&to=' + to;
    if (STEPS[range]) path += '&step=' + STEPS[range];
    const s = await api(path);
    return {
      bucket: s.bucket, step: s.step || s.bucket,
      points: (s.points || []).map(function (p) {
        return {
          t: parseTime(p.t), count: p.count, baseline: p.baseline,
          low: p.low === undefined ? null : p.low, high: p.high === undefined ? null : p.high,
          state: p.state
        };
      })
    };
  }

  async function showRule(v, name, range, q) {
    const now = Math.floor(Date.now() / 1000);
    const from = now - RANGES[range];
    const enc = encodeURIComponent(name);
    const results = await Promise.allSettled([
      api('/v1/rules'),
      series(name, from, now, range),
      api('/v1/alerts?rule=' + enc + '&since=' + encodeURIComponent(utc(from))),
      api('/v1/alerts?rule=' + enc + '&limit=50'),
      api('/v1/silences')
    ]);
    if (v !== view) return;
    clear(main);
    document.title = name + ' · hark';
    const rules = results[0].status === 'fulfilled' ? results[0].value.rules || [] : [];
    const rule = rules.find(function (r) { return r.name === name; });
    main.appendChild(el('p', null, el('a', { href: '/' + query({ range: range }), 'data-nav': true }, t('allRules'))));
    if (results[0].status === 'fulfilled' && !rule) {
      main.appendChild(el('h1', null, name));
      main.appendChild(el('p', { class: 'error', role: 'alert' }, t('unknownRule', name)));
      return;
    }
    const head = el('div', { class: 'head' }, el('h1', null, name));
    if (rule) {
      head.appendChild(badge(rule.state));
      head.appendChild(el('p', { class: 'figures' },
        el('strong', null, t('now', num(rule.count))), ' · ',
        rule.baseline === null || rule.baseline === undefined ? t('usualNone') : t('usual', num(rule.baseline))));
    }
    main.appendChild(head);
    main.appendChild(el('div', { class: 'tools' }, rangeButtons(range, function (r) {
      go('/rules/' + enc + query({ range: r }));
    })));
    const chartBox = el('section', { class: 'chart-box', 'aria-label': name });
    main.appendChild(chartBox);
    if (results[1].status === 'fulfilled') {
      const s = results[1].value;
      const alerts = results[2].status === 'fulfilled' ? (results[2].value.alerts || []) : [];
      const marks = alerts.map(function (a) {
        return { t: parseTime(a.window_start), kind: a.escalation ? 'escalation' : a.status, alert: a };
      }).filter(function (a) { return a.t !== null && a.t >= from && a.t < now; });
      bigChart(chartBox, name, range, s, marks, from, now, function (p) { loadTop(name, p); });
    } else {
      chartBox.appendChild(errorBox('series', results[1].reason));
    }
    const about = el('section', { id: 'about', class: 'about', 'aria-labelledby': 'about-h' });
    main.appendChild(about);
    const lower = el('div', { class: 'columns' });
    main.appendChild(lower);
    lower.appendChild(historyTable(results[3]));
    const sil = el('section', { class: 'silences', 'aria-labelledby': 'sil-h' });
    lower.appendChild(sil);
    drawSilences(sil, name, results[4]);
    await loadTop(name, null);
  }

  // The chart of one rule: counts, band, usual level, alert markers, and a
  // cursor moved by pointer or arrow keys. onpick(point) on click or Enter.
  function bigChart(box, name, range, s, marks, from, now, onpick) {
    const pts = s.points;
    // Drawn at the box's width, so that labels keep their size on a phone.
    const W = Math.round(Math.min(960, Math.max(320, box.clientWidth || 960)));
    const H = W < 600 ? 220 : 320, L = 52, R = 14, T = 14, B = 30;
    const nx = W < 600 ? 3 : 5;
    const stepName = s.step || s.bucket;
    const svg = sv('svg', {
      class: 'chart', viewBox: '0 0 ' + W + ' ' + H, tabindex: 0, role: 'img',
      'aria-label': t('chartLabel', name, stepName, range, pts.length, marks.length),
      'aria-describedby': 'tip', 'data-rule': name, 'data-points': pts.length,
      'data-alerts': marks.length, 'data-from': from, 'data-to': now
    });
    const x = function (v) { return L + (v - from) / Math.max(1, now - from) * (W - L - R); };
    const ymax = niceMax(pts);
    const y = function (v) { return T + (1 - v / ymax) * (H - T - B); };
    // grid and axes
    const g = sv('g', { class: 'axis' });
    ticks(ymax).forEach(function (v) {
      g.appendChild(sv('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
      const lab = sv('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' });
      lab.textContent = num(v);
      g.appendChild(lab);
    });
    const span = now - from;
    for (let i = 0; i <= nx; i++) {
      const tv = from + span * i / nx;
      const lab = sv('text', { x: x(tv), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === nx ? 'end' : 'middle' });
      lab.textContent = span <= 86400 ? timeFmt.format(new Date(tv * 1000)) :
        span <= 7 * 86400 ? dayFmt.format(new Date(tv * 1000)) : dateFmt.format(new Date(tv * 1000));
      g.appendChild(lab);
    }
    svg.appendChild(g);
    band(svg, pts, x, y);
    svg.appendChild(sv('path', { class: 'baseline', d: linePath(pts, 'baseline', x, y) }));
    svg.appendChild(sv('path', { class: 'line', d: linePath(pts, 'count', x, y) }));
    marks.forEach(function (m) {
      const mg = sv('g', { class: 'mark mark-' + m.kind });
      mg.appendChild(sv('line', { x1: x(m.t), x2: x(m.t), y1: T, y2: H - B }));
      mg.appendChild(sv('path', { d: 'M' + (x(m.t) - 6) + ' ' + T + 'L' + (x(m.t) + 6) + ' ' + T + 'L' + x(m.t) + ' ' + (T + 9) + 'Z' }));
      const title = sv('title');
      title.textContent = alertLabel(m.kind) + ' · ' + local(m.t) + ' (' + utc(m.t) + ')';
      mg.appendChild(title);
      svg.appendChild(mg);
    });
    const cursor = sv('g', { class: 'cursor', visibility: 'hidden' });
    const cline = sv('line', { y1: T, y2: H - B });
    const cdot = sv('circle', { r: 5 });
    cursor.appendChild(cline);
    cursor.appendChild(cdot);
    svg.appendChild(cursor);
    const tip = el('div', { id: 'tip', class: 'tip', role: 'status', 'aria-live': 'polite', hidden: true });
    const legend = el('ul', { class: 'legend' },
      el('li', { class: 'lg-line' }, t('buckets', stepName)),
      el('li', { class: 'lg-band' }, t('legendBand')),
      el('li', { class: 'lg-baseline' }, t('legendBaseline')),
      el('li', { class: 'lg-firing' }, t('alertFiring')),
      el('li', { class: 'lg-resolved' }, t('alertResolved')));
    const wrap = el('div', { class: 'chart-wrap' }, svg, tip);
    box.appendChild(wrap);
    box.appendChild(legend);
    let cur = -1;
    const show = function (i) {
      if (!pts.length) return;
      cur = Math.max(0, Math.min(pts.length - 1, i));
      const p = pts[cur];
      cline.setAttribute('x1', x(p.t));
      cline.setAttribute('x2', x(p.t));
      cdot.setAttribute('cx', x(p.t));
      cdot.setAttribute('cy', y(p.count));
      cursor.setAttribute('visibility', 'visible');
      clear(tip);
      tip.appendChild(el('strong', null, timeEl(p.t)));
      tip.appendChild(el('span', null, t('tipCount', num(p.count))));
      tip.appendChild(el('span', null,
        p.baseline === null || p.baseline === undefined ? t('tipWarming') :
          p.low === null ? t('tipUsualOnly', num(p.baseline)) : t('tipUsual', num(p.baseline), num(p.low), num(p.high))));
      if (p.state) tip.appendChild(badge(p.state));
      tip.hidden = false;
      const rect = svg.getBoundingClientRect();
      const px = x(p.t) / W * rect.width;
      // Beside the point, on the side with room, so that it hides no peak.
      const left = px > rect.width / 2 ? px - tip.offsetWidth - 14 : px + 14;
      tip.style.left = Math.max(0, Math.min(left, rect.width - tip.offsetWidth)) + 'px';
    };
    const hide = function () {
      cursor.setAttribute('visibility', 'hidden');
      tip.hidden = true;
    };
    const nearest = function (clientX) {
      const rect = svg.getBoundingClientRect();
      const tv = from + ((clientX - rect.left) / rect.width * W - L) / (W - L - R) * (now - from);
      let lo = 0, hi = pts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (pts[mid].t < tv) lo = mid + 1; else hi = mid;
      }
      if (lo > 0 && Math.abs(pts[lo - 1].t - tv) < Math.abs(pts[lo].t - tv)) lo--;
      return lo;
    };
    svg.addEventListener('pointermove', function (ev) { show(nearest(ev.clientX)); });
    svg.addEventListener('pointerleave', function () { if (document.activeElement !== svg) hide(); });
    svg.addEventListener('click', function (ev) { const i = nearest(ev.clientX); show(i); onpick(pts[i]); });
    svg.addEventListener('focus', function () { show(cur < 0 ? pts.length - 1 : cur); });
    svg.addEventListener('blur', hide);
    svg.addEventListener('keydown', function (ev) {
      const big = Math.max(1, Math.round(pts.length / 12));
      const moves = { ArrowLeft: -1, ArrowRight: 1, PageUp: -big, PageDown: big };
      if (moves[ev.key]) show(cur + moves[ev.key]);
      else if (ev.key === 'Home') show(0);
      else if (ev.key === 'End') show(pts.length - 1);
      else if (ev.key === 'Enter' || ev.key === ' ') { if (cur >= 0) onpick(pts[cur]); }
      else return;
      ev.preventDefault();
    });
  }

  function ticks(ymax) {
    const raw = ymax / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map(function (k) { return k * p; }).find(function (k) { return k >= raw; }) || raw;
    const out = [];
    for (let v = 0; v <= ymax; v += step) out.push(v);
    return out;
  }

  function alertLabel(kind) {
    return kind === 'escalation' ? t('alertEscalation') : kind === 'resolved' ? t('alertResolved') : t('alertFiring');
  }

  // What a bucket is about: GET /v1/rules/{name}/top (the open bucket, or
  // the one at p.t).
  let topSeq = 0;
  async function loadTop(name, p) {
    const box = document.getElementById('about');
    if (!box) return;
    const seq = ++topSeq;
    let path = '/v1/rules/' + encodeURIComponent(name) + '/top';
    if (p) path += '?at=' + encodeURIComponent(utc(p.t));
    let top;
    try {
      top = await api(path);
    } catch (e) {
      if (seq !== topSeq) return;
      clear(box);
      box.appendChild(el('h2', { id: 'about-h' }, t('about')));
      box.appendChild(errorBox('top', e));
      return;
    }
    if (seq !== topSeq) return;
    drawTop(box, name, top, p);
  }

  function drawTop(box, name, top, p) {
    clear(box);
    const start = parseTime(top.start);
    const when = start === null ? '' : timeFmt.format(new Date(start * 1000)) +
      (top.end ? '–' + timeFmt.format(new Date(parseTime(top.end) * 1000)) : '');
    box.appendChild(el('h2', { id: 'about-h' }, t('about')));
    box.appendChild(el('p', { class: 'muted' },
      start === null ? '' : el('span', { title: utc(start) }, top.open ? t('aboutOpen', when) : t('aboutBucket', when)),
      top.count !== undefined ? ' · ' + t('tipCount', num(top.count)) : '',
      p ? ' · ' : '', p ? el('button', { type: 'button', class: 'link', onclick: function () { loadTop(name, null); } }, t('showOpen')) : ''));
    const cols = el('div', { class: 'tops' });
    cols.appendChild(termList('terms', t('terms'), top.terms, 'term'));
    cols.appendChild(termList('emerging', t('emerging'), top.emerging_terms, 'term', function (x) {
      return t('ratio', num(x.ratio), num(x.usual));
    }));
    cols.appendChild(termList('hashtags', t('hashtags'), top.hashtags, 'term'));
    cols.appendChild(termList('authors', t('authors'), top.authors, 'author'));
    cols.appendChild(termList('langs', t('langs'), top.langs, 'lang'));
    box.appendChild(cols);
    const samples = el('section', { class: 'samples', 'data-list': 'samples' }, el('h3', null, t('samples')));
    const ul = el('ul', null);
    (top.samples || []).forEach(function (m) {
      const created = parseTime(m.created_at);
      const meta = el('p', { class: 'meta' },
        m.author ? t('by', m.author) : '', m.author && created !== null ? ' · ' : '',
        created !== null ? timeEl(created, relative(created)) : '',
        m.lang ? ' · ' + m.lang : '');
      if (m.url && /^https?:\/\//i.test(m.url)) {
        meta.appendChild(document.createTextNode(' · '));
        meta.appendChild(el('a', { href: m.url, rel: 'noopener noreferrer', target: '_blank' }, t('open')));
      }
      ul.appendChild(el('li', { class: 'sample' }, el('p', { class: 'text', lang: m.lang || null }, m.text || ''), meta));
    });
    if (!ul.firstChild) samples.appendChild(el('p', { class: 'muted' }, t('none')));
    else samples.appendChild(ul);
    box.appendChild(samples);
  }

  function termList(kind, title, list, key, extra) {
    const s = el('section', { class: 'terms', 'data-list': kind }, el('h3', null, title));
    list = list || [];
    if (!list.length) {
      s.appendChild(el('p', { class: 'muted' }, t('none')));
      return s;
    }
    const max = Math.max.apply(null, list.map(function (x) { return x.count || 0; }).concat([1]));
    const ol = el('ol', { class: 'bars' });
    list.slice(0, 10).forEach(function (x) {
      const bar = el('span', { class: 'bar', 'aria-hidden': 'true' });
      bar.style.width = Math.round((x.count || 0) / max * 100) + '%';
      ol.appendChild(el('li', null,
        el('span', { class: 'name' }, String(x[key])),
        el('span', { class: 'n' }, extra ? num(x.count) + ' · ' + extra(x) : num(x.count)), bar));
    });
    s.appendChild(ol);
    return s;
  }

  function historyTable(res) {
    const s = el('section', { class: 'history', 'aria-labelledby': 'hist-h' }, el('h2', { id: 'hist-h' }, t('history')));
    if (res.status !== 'fulfilled') {
      s.appendChild(errorBox('alerts', res.reason));
      return s;
    }
    const alerts = res.value.alerts || [];
    if (!alerts.length) {
      s.appendChild(el('p', { class: 'muted' }, t('noAlerts')));
      return s;
    }
    const tbody = el('tbody');
    alerts.forEach(function (a) {
      const ws = parseTime(a.window_start);
      const kind = a.escalation ? 'escalation' : a.status;
      tbody.appendChild(el('tr', { class: 'row-' + kind },
        el('td', null, ws === null ? '' : timeEl(ws)),
        el('td', null, alertLabel(kind)),
        el('td', { class: 'num' }, num(a.count)),
        el('td', { class: 'num' }, num(a.baseline)),
        el('td', { class: 'num' }, num(a.ratio)),
        el('td', null, a.silenced ? t('yes') : t('no'))));
    });
    s.appendChild(el('div', { class: 'scroll' }, el('table', null,
      el('thead', null, el('tr', null, ['colTime', 'colStatus', 'colCount', 'colUsual', 'colRatio', 'colSilenced'].map(function (k) {
        return el('th', { scope: 'col' }, t(k));
      }))), tbody)));
    return s;
  }

  function ruleSilences(list, name) {
    return (list || []).filter(function (s) {
      return (s.matchers || []).some(function (m) {
        return (m.name === 'rule' || m.name === 'alertname') && m.value === name;
      });
    });
  }

  function drawSilences(box, name, res, note) {
    clear(box);
    box.appendChild(el('h2', { id: 'sil-h' }, t('silences')));
    if (note) box.appendChild(el('p', { class: 'note', role: 'status' }, note));
    if (res.status !== 'fulfilled') {
      box.appendChild(errorBox('silences', res.reason));
    } else {
      const mine = ruleSilences(res.value.silences, name);
      if (!mine.length) box.appendChild(el('p', { class: 'muted' }, t('noSilences')));
      const ul = el('ul', { class: 'sil-list' });
      mine.forEach(function (s) {
        const ends = parseTime(s.ends_at);
        const st = { active: 'stActive', pending: 'stPending', expired: 'stExpired' }[s.state];
        ul.appendChild(el('li', { class: 'sil sil-' + s.state },
          el('span', { class: 'badge' }, st ? t(st) : s.state), ' ',
          ends === null ? '' : el('span', null, t('until', ''), timeEl(ends)), ' ',
          el('span', { class: 'comment' }, s.comment || ''),
          s.created_by ? el('span', { class: 'muted' }, ' — ' + s.created_by) : '',
          s.state !== 'expired' ? el('button', {
            type: 'button', class: 'small', onclick: function () { silenceAction(box, name, 'DELETE', '/v1/silences/' + encodeURIComponent(s.id), undefined, t('expired')); }
          }, t('expire')) : ''));
      });
      if (ul.firstChild) box.appendChild(ul);
    }
    const dur = el('select', { id: 'sil-dur', name: 'duration' }, ['1h', '2h', '4h', '8h', '24h', '7d'].map(function (d) {
      return el('option', { value: d, selected: d === '2h' }, d);
    }));
    const comment = el('input', { id: 'sil-comment', name: 'comment', type: 'text', required: true, maxlength: 500 });
    const form = el('form', { class: 'sil-form' },
      el('h3', null, t('silence')),
      el('div', { class: 'field' }, el('label', { for: 'sil-dur' }, t('duration')), dur),
      el('div', { class: 'field' }, el('label', { for: 'sil-comment' }, t('comment')), comment),
      el('button', { type: 'submit' }, t('create')));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      silenceAction(box, name, 'POST', '/v1/silences', { rule: name, duration: dur.value, comment: comment.value }, t('created'));
    });
    box.appendChild(form);
  }

  async function silenceAction(box, name, method, path, body, done) {
    let note = done;
    try {
      await api(path, { method: method, body: body });
    } catch (e) {
      note = e.code === 401 ? t('needToken') : e.message;
    }
    let res;
    try {
      res = { status: 'fulfilled', value: await api('/v1/silences') };
    } catch (e) {
      res = { status: 'rejected', reason: e };
    }
    drawSilences(box, name, res, note);
    status(note);
  }

  // ---------------------------------------------------------------- start
  document.documentElement.lang = LANG;
  document.querySelectorAll('[data-i18n]').forEach(function (e) { e.textContent = t(e.dataset.i18n); });
  document.getElementById('auth').addEventListener('submit', function (ev) {
    ev.preventDefault();
    const v = document.getElementById('auth-token').value.trim();
    memToken = v;
    try { sessionStorage.setItem(TOKEN_KEY, v); } catch (e) { /* kept in memToken, for this page only */ }
    document.getElementById('auth').hidden = true;
    route(false);
  });
  route(false);
}());
