// chart.js: the chart every screen uses, on uPlot. Props:
//   title, queries: [{expr, legend?: (metric) => string}], tr (route.js
//   timeRange), unit ('bytes', 'bits', 'ratio', 'seconds', ''), stacked,
//   height, tick (refresh counter), embed (no links), watch (the host the
//   chart shows: in live mode the server samples it at the display rate,
//   docs/ui.md#display-rate).
// Hover shows values in the legend, a click on a legend entry toggles its
// series, "CSV" downloads the raw series behind the chart through
// /api/v1/export/csv, "open alone" links to the chart without the chrome.
// In live mode the history comes from one range query, then the points
// arrive from the shared stream (api.js live) and are appended in place.
import { html } from './html.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { live, qs, queryRange, selectors } from './api.js';
import { fmtUnit, seriesName } from './format.js';
import { href, keep, parseHash, rangeKey } from './route.js';

const PALETTE = ['#3b82f6', '#ef4444', '#10b981', '#f59e0b', '#8b5cf6', '#06b6d4', '#ec4899', '#84cc16',
  '#f97316', '#6366f1', '#14b8a6', '#a855f7'];
const MAX_SERIES = 60;

function legendOf(q, metric) {
  if (q.legend) return q.legend(metric);
  return seriesName(metric);
}

// Build aligned uPlot data from range results on the grid start..end/step.
function build(queries, results, tr) {
  const n = Math.floor((tr.end - tr.start) / tr.step + 1e-9) + 1;
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) xs[i] = tr.start + i * tr.step;
  const series = [];
  results.forEach((res, qi) => {
    for (const s of res.result || []) {
      if (series.length >= MAX_SERIES) break;
      const ys = new Array(n).fill(null);
      for (const [t, v] of s.values || []) {
        const i = Math.round((t - tr.start) / tr.step);
        if (i >= 0 && i < n) ys[i] = parseFloat(v);
      }
      series.push({ qi, key: qi + JSON.stringify(s.metric), label: legendOf(queries[qi], s.metric), metric: s.metric, ys });
    }
  });
  return { xs: Array.from(xs), series };
}

function stackData(d, show) {
  const acc = new Array(d.xs.length).fill(0);
  return d.series.map((s, i) => {
    if (show && show[i] === false) return s.ys;
    return s.ys.map((v, j) => (v === null ? null : (acc[j] += v)));
  });
}

function csvHref(queries, series, tr) {
  const match = [...new Set(queries.flatMap((q) => selectors(q.expr)))];
  const labels = new Set();
  series.forEach((s) => Object.keys(s.metric).forEach((k) => k !== '__name__' && labels.add(k)));
  const format = ['__name__', ...[...labels].sort(), '__value__', '__timestamp__:unix_ms'].join(',');
  return '/api/v1/export/csv?' + qs({ 'match[]': match, start: Math.floor(tr.start), end: Math.ceil(tr.end), format });
}

export function Chart({ title, queries, tr, unit = '', stacked = false, height = 220, tick = 0, embed = false, watch = '' }) {
  const box = useRef(null);
  const plot = useRef(null);
  const data = useRef(null);
  const [err, setErr] = useState(null);
  const [count, setCount] = useState(null);
  const exprs = queries.map((q) => q.expr);
  const key = JSON.stringify([exprs, rangeKey(tr), stacked, unit]);
  const reloadKey = tr.live ? key : key + tick;

  useEffect(() => {
    let gone = false;
    let unsub = null;
    let raf = 0;
    const fmt = fmtUnit(unit);
    const draw = () => {
      raf = 0;
      const d = data.current;
      if (!plot.current || !d) return;
      const show = plot.current.series.slice(1).map((s) => s.show);
      plot.current.setData([d.xs, ...(stacked ? stackData(d, show) : d.series.map((s) => s.ys))]);
    };
    const make = (d) => {
      if (plot.current) plot.current.destroy();
      plot.current = null;
      if (!box.current) return;
      const dark = document.documentElement.dataset.theme === 'dark';
      const axis = { stroke: dark ? '#9ca3af' : '#4b5563', grid: { stroke: dark ? '#2d333b' : '#e5e7eb' } };
      const opts = {
        width: box.current.clientWidth || 600,
        height,
        series: [{}, ...d.series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          fill: stacked ? PALETTE[i % PALETTE.length] + '55' : undefined,
          width: 1.5,
          value: (u, v) => fmt(v),
          spanGaps: false,
        }))],
        axes: [axis, { ...axis, size: 86, values: (u, vs) => vs.map((v) => fmt(v)) }],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        hooks: stacked ? { setSeries: [() => draw()] } : {},
      };
      box.current.parentNode.dataset.series = String(d.series.length);
      plot.current = new uPlot(opts, [d.xs, ...(stacked ? stackData(d) : d.series.map((s) => s.ys))], box.current);
      setCount(d.series.length);
    };
    // Live: subscribe at once, so every chart of a screen joins the same
    // stream connection, and hold the points that come before the history.
    let early = [];
    const load = async () => {
      try {
        const results = await Promise.all(exprs.map((e) => queryRange(e, tr.start, tr.end, tr.step)));
        if (gone) return;
        setErr(null);
        const d = build(queries, results, tr);
        data.current = d;
        make(d);
        const held = early;
        early = null;
        held.forEach(([e, m]) => onLive(e, m));
      } catch (e) {
        if (!gone) setErr(e.message);
      }
    };
    const onLive = (expr, m) => {
      if (early) {
        early.push([expr, m]);
        return;
      }
      const d = data.current;
      if (!d || m.error) return;
      const qi = exprs.indexOf(expr);
      const x = Math.round(m.t / tr.rate) * tr.rate;
      const last = d.xs.length ? d.xs[d.xs.length - 1] : -Infinity;
      if (x > last + 1e-9) {
        d.xs.push(x);
        d.series.forEach((s) => s.ys.push(null));
        const cut = x - (tr.end - tr.start);
        let k = 0;
        while (k < d.xs.length && d.xs[k] < cut) k++;
        if (k) {
          d.xs.splice(0, k);
          d.series.forEach((s) => s.ys.splice(0, k));
        }
      }
      const idx = d.xs.length - 1;
      let added = false;
      for (const r of m.result) {
        const k = qi + JSON.stringify(r.metric);
        let s = d.series.find((z) => z.key === k);
        if (!s) {
          if (d.series.length >= MAX_SERIES) continue;
          s = { qi, key: k, label: legendOf(queries[qi], r.metric), metric: r.metric, ys: new Array(d.xs.length).fill(null) };
          d.series.push(s);
          added = true;
        }
        s.ys[idx] = parseFloat(r.value);
      }
      if (added) make(d);
      else if (!raf) raf = requestAnimationFrame(draw);
      // For tests and the benchmark: live ticks seen and the newest value.
      const el = box.current && box.current.parentNode;
      if (el && qi === 0) {
        el.dataset.ticks = String(+(el.dataset.ticks || 0) + 1);
        const s0 = d.series.find((z) => z.qi === 0);
        if (s0) el.dataset.last = String(s0.ys[idx]);
        el.dataset.lastT = String(m.t);
      }
    };
    data.current = null;
    if (tr.live) unsub = live.subscribe(exprs, tr.rate, onLive, watch);
    load();
    const ro = new ResizeObserver(() => {
      if (plot.current && box.current) plot.current.setSize({ width: box.current.clientWidth, height });
    });
    if (box.current) ro.observe(box.current);
    return () => {
      gone = true;
      if (unsub) unsub();
      if (raf) cancelAnimationFrame(raf);
      ro.disconnect();
    };
  }, [reloadKey]);

  useEffect(() => () => plot.current && plot.current.destroy(), []);

  const r = parseHash();
  const alone = href('embed', '', {
    ...keep(r.params),
    title,
    unit,
    stacked: stacked ? '1' : '',
    q: JSON.stringify(exprs),
  });
  const series = data.current ? data.current.series : [];
  return html`<div class="chart" data-title=${title}>
    <div class="chart-head">
      <span class="chart-title">${title}</span>
      ${!embed && html`<span class="chart-links">
        <a class="csv" href=${csvHref(queries, series, tr)} download=${(title || 'series').replace(/\W+/g, '_') + '.csv'}>CSV</a>
        <a class="alone" href=${alone} target="_blank" title="open this chart alone (embeddable)">open alone</a>
      </span>`}
    </div>
    ${err && html`<div class="error">${err}</div>`}
    ${count === 0 && !err && html`<div class="empty">no data</div>`}
    <div class="plot" ref=${box}></div>
  </div>`;
}
