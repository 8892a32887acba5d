// stats: the live stats page. It subscribes with the hub's client to its
// own stats feed, the reserved topic $ssehub/stats, on which the server
// publishes a snapshot once a second, and plots the last few minutes with
// uPlot (vendored under assets/vendor/uplot, loaded by the page as a
// classic script that defines the global uPlot).

import { Hub } from '/ssehub.js';
import * as i18n from './i18n.js';

const TOPIC = '$ssehub/stats';
const WINDOW = 180; // points kept: three minutes at one a second
const RETRY_MS = 5000; // after a refused subscription (the client gives up)
const PLOT_HEIGHT = 200;

const $ = (id) => document.getElementById(id);

// The plotted series, one array per column, times in Unix seconds.
const cols = { t: [], conns: [], in: [], out: [], slow: [] };

const STATES = {
  connecting: { key: 'stats.state.connecting', light: 'reconnecting' },
  live: { key: 'stats.state.live', light: 'connected' },
  lost: { key: 'stats.state.lost', light: 'reconnecting' },
  denied: { key: 'stats.state.denied', light: 'disconnected' },
};

const PLOTS = [
  { name: 'rates', el: 'plotRates', series: () => [
    { label: i18n.t('stats.series.in'), stroke: '#4f68ff', fill: 'rgba(79, 104, 255, 0.10)', width: 2 },
    { label: i18n.t('stats.series.out'), stroke: '#22a05a', width: 2 },
  ], data: () => [cols.t, cols.in, cols.out] },
  { name: 'connections', el: 'plotConnections', counts: true, series: () => [
    { label: i18n.t('stats.series.connections'), stroke: '#6c63ff', fill: 'rgba(108, 99, 255, 0.10)', width: 2 },
  ], data: () => [cols.t, cols.conns] },
  { name: 'slow', el: 'plotSlow', counts: true, series: () => [
    { label: i18n.t('stats.series.slow'), stroke: '#dc3545', width: 2, paths: stepped() },
  ], data: () => [cols.t, cols.slow] },
];

// plots holds the uPlot instance of each plot, by name.
const plots = {};
let last = null;
let state = 'connecting';

function stepped() {
  return uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
}

function number(v, digits = 0) {
  return new Intl.NumberFormat(i18n.lang(), { maximumFractionDigits: digits }).format(v);
}

function rate(v) { return number(v, v < 10 ? 1 : 0); }

function plotWidth(el) { return Math.max(240, el.clientWidth); }

function clockTime(secs) {
  return new Date(secs * 1000).toLocaleTimeString(i18n.lang(), { hour12: false });
}

// Whole-number steps for the axes of counts.
const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6];

// The time axis: whole seconds or more between ticks, labelled hh:mm:ss.
const TIME_AXIS = {
  incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600],
  space: 70,
  values: (u, splits) => splits.map(clockTime),
};

// build (re)creates every plot, in the current language.
function build() {
  for (const p of PLOTS) {
    const el = $(p.el);
    if (plots[p.name]) plots[p.name].destroy();
    plots[p.name] = new uPlot({
      width: plotWidth(el),
      height: PLOT_HEIGHT,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
      series: [{ value: (u, v) => (v == null ? '—' : clockTime(v)) }, ...p.series()],
      axes: [TIME_AXIS, p.counts ? { size: 56, incrs: COUNT_INCRS } : { size: 56 }],
      legend: { live: false },
    }, p.data(), el);
  }
}

function redraw() {
  for (const p of PLOTS) plots[p.name].setData(p.data());
}

function resize() {
  for (const p of PLOTS) plots[p.name].setSize({ width: plotWidth($(p.el)), height: PLOT_HEIGHT });
}

function setState(s) {
  state = s;
  $('feedState').dataset.state = STATES[s].light;
  $('feedState').dataset.feed = s;
  $('feedStateText').dataset.i18n = STATES[s].key;
  $('feedStateText').textContent = i18n.t(STATES[s].key);
}

// show writes a snapshot into the figures and the topics table.
function show(s) {
  $('figConnections').textContent = number(s.connections);
  $('figIn').textContent = rate(s.published_per_second);
  $('figOut').textContent = rate(s.delivered_per_second);
  $('figSlow').textContent = number(s.slow_cut);
  $('figSubscribers').textContent = number(s.subscribers);
  $('figLLM').textContent = s.llm_admission_limit
    ? number(s.llm_running) + ' / ' + number(s.llm_admission_limit)
    : number(s.llm_running);
  $('figLateness').textContent = number(Math.round(s.llm_token_lateness_p99_ms || 0));
  const wh = s.webhooks;
  $('figWebhooks').textContent = !wh ? '—'
    : wh.failing ? i18n.t('stats.webhooks.failing', { queued: number(wh.queued) }) : number(wh.queued);
  $('figWebhooks').dataset.failing = wh && wh.failing ? 'yes' : 'no';
  $('updated').textContent = i18n.t('stats.updated', { time: clockTime(Date.parse(s.time) / 1000) });
  const rows = (s.topics || []).map((t) => {
    const tr = document.createElement('tr');
    tr.dataset.topic = t.topic;
    const name = document.createElement('td');
    name.textContent = t.topic; // topic names are data: text only, never HTML
    const n = document.createElement('td');
    n.textContent = number(t.subscribers);
    tr.append(name, n);
    return tr;
  });
  $('topicRows').replaceChildren(...rows);
  $('topicsEmpty').hidden = rows.length > 0;
  const others = s.topic_count - rows.length;
  $('topicsOther').hidden = others <= 0;
  $('topicsOther').textContent = others > 0 ? i18n.t('stats.topics.other', { count: number(others), subs: number(s.other_subscriptions) }) : '';
}

// add appends a snapshot to the series, dropping what is past the window.
function add(s) {
  cols.t.push(Date.parse(s.time) / 1000);
  cols.conns.push(s.connections);
  cols.in.push(s.published_per_second);
  cols.out.push(s.delivered_per_second);
  cols.slow.push(s.slow_cut);
  if (cols.t.length > WINDOW) Object.values(cols).forEach((c) => c.shift());
}

function onSnapshot(e) {
  let s;
  try {
    s = JSON.parse(e.data);
  } catch {
    return; // not a snapshot: ignore it
  }
  last = s;
  add(s);
  show(s);
  redraw();
  if (state !== 'live') setState('live');
}

// subscribe opens the feed. The client reconnects by itself after a drop;
// after a refusal (401/403, such as a JWT hub whose token does not allow
// the topic) it gives up, so the page tries again a little later.
function subscribe() {
  new Hub({ url: '/events' }).subscribe(TOPIC, {
    onEvent(ev) { if (ev.type === 'stats') onSnapshot(ev); },
    onStatus(status) {
      if (status === 'open') {
        if (state !== 'live') setState('live');
      } else if (status === 'reconnecting') {
        setState('lost');
      } else if (status === 'closed') {
        setState('denied');
        setTimeout(subscribe, RETRY_MS);
      }
    },
  });
}

function main() {
  i18n.apply();
  setState('connecting');
  build();
  $('langSwitch').addEventListener('click', () => i18n.toggle());
  i18n.onChange(() => {
    build();
    if (last) show(last);
  });
  window.addEventListener('resize', resize);
  subscribe();
}

// For tests and the curious: the plotted columns, the uPlot instances and
// the newest snapshot.
window.ssehubStats = Object.freeze({ cols, plots, last: () => last });

main();
