// hosts.js: every host seen (the local collector and each `tide agent`:
// /api/v1/agents, plus any instance with node_* series) with up/down, last
// seen and CPU/memory/disk/network sparklines. One range query per metric
// for all hosts (never one per host), and only the rows in view are drawn,
// so a thousand hosts stay smooth. In live mode the sparklines take their
// new points from the shared stream.
import { html } from './html.js';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, live, queryInstant, queryRange } from './api.js';
import { fmtAgo, fmtBits, fmtPct } from './format.js';
import { href, keep, rangeKey, rateWindow, setParams } from './route.js';

const ROW = 34;
const POINTS = 60;

export const hostMetrics = (w) => [
  { id: 'cpu', title: 'CPU', fmt: fmtPct, max: 1,
    expr: `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[${w}]))` },
  { id: 'mem', title: 'Memory', fmt: fmtPct, max: 1,
    expr: '1 - sum by (instance) (node_memory_MemAvailable_bytes) / sum by (instance) (node_memory_MemTotal_bytes)' },
  { id: 'disk', title: 'Disk', fmt: fmtPct, max: 1,
    expr: 'max by (instance) (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)' },
  { id: 'net', title: 'Network', fmt: fmtBits, max: 0,
    expr: `sum by (instance) (rate(node_network_receive_bytes_total[${w}]) + rate(node_network_transmit_bytes_total[${w}])) * 8` },
];

export function Spark({ values, max }) {
  const vs = values || [];
  const pts = vs.filter((v) => v !== null);
  if (pts.length < 1) return html`<svg class="spark" width="110" height="22"></svg>`;
  const top = max || Math.max(...pts, 1e-9);
  const n = vs.length;
  const d = [];
  vs.forEach((v, i) => {
    if (v === null) return;
    const x = n > 1 ? (i / (n - 1)) * 108 + 1 : 55;
    const y = 21 - Math.min(1, Math.max(0, v / top)) * 20;
    d.push((d.length ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1));
  });
  return html`<svg class="spark" width="110" height="22" viewBox="0 0 110 22"><path d=${d.join(' ')} /></svg>`;
}

export function Hosts({ params, tr, tick }) {
  const [hosts, setHosts] = useState(null);
  const [series, setSeries] = useState({});
  const [err, setErr] = useState(null);
  const [top, setTop] = useState(0);
  const [liveTick, setLiveTick] = useState(0);
  const scroller = useRef(null);
  const metrics = useMemo(() => hostMetrics(rateWindow(tr)), [tr.step]);
  const filter = params.filter || '';
  const sort = params.sort || 'status';

  useEffect(() => {
    let gone = false;
    let unsub = null;
    const step = tr.live ? tr.rate : Math.max(tr.step, Math.ceil((tr.end - tr.start) / POINTS));
    (async () => {
      try {
        const [agents, seen, ...res] = await Promise.all([
          api('/api/v1/agents'),
          queryInstant('count by (instance) (last_over_time(node_load1[1h]))'),
          ...metrics.map((m) => queryRange(m.expr, tr.live ? tr.end - 60 * step : tr.start, tr.end, step)),
        ]);
        if (gone) return;
        const list = new Map();
        for (const a of Array.isArray(agents) ? agents : agents.agents || []) list.set(a.instance, a);
        for (const s of seen.result) {
          const i = s.metric.instance;
          if (i && !list.has(i)) list.set(i, { instance: i, up: null, lastSeenTimestamp: -1, labels: {} });
        }
        const by = {};
        metrics.forEach((m, k) => {
          for (const s of res[k].result) {
            const i = s.metric.instance;
            (by[i] = by[i] || {})[m.id] = s.values.map(([, v]) => parseFloat(v));
          }
        });
        setHosts([...list.values()]);
        setSeries(by);
        setErr(null);
        if (tr.live) {
          unsub = live.subscribe(metrics.map((m) => m.expr), tr.rate, (expr, m) => {
            if (m.error) return;
            const id = metrics.find((x) => x.expr === expr).id;
            for (const r of m.result) {
              const h = (by[r.metric.instance] = by[r.metric.instance] || {});
              const v = (h[id] = h[id] || []);
              v.push(parseFloat(r.value));
              if (v.length > POINTS) v.splice(0, v.length - POINTS);
            }
            setLiveTick((t) => t + 1);
          });
        }
      } catch (e) {
        if (!gone) setErr(e.message);
      }
    })();
    return () => {
      gone = true;
      if (unsub) unsub();
    };
  }, [rangeKey(tr), tick]);

  const rows = useMemo(() => {
    if (!hosts) return [];
    const f = filter.toLowerCase();
    // The last value of each host's metrics, once, not per comparison.
    const lastOf = new Map();
    const last = (h, id) => {
      let m = lastOf.get(h.instance);
      if (!m) {
        m = {};
        for (const [k, v] of Object.entries(series[h.instance] || {})) {
          m[k] = -1;
          for (let i = v.length - 1; i >= 0; i--) if (v[i] !== null && !Number.isNaN(v[i])) { m[k] = v[i]; break; }
        }
        lastOf.set(h.instance, m);
      }
      return m[id] === undefined ? -1 : m[id];
    };
    const out = hosts.filter((h) => !f || (h.instance + ' ' + Object.values(h.labels || {}).join(' ')).toLowerCase().includes(f));
    const key = {
      name: (h) => h.instance,
      status: (h) => (h.up === false ? 0 : h.up === null ? 1 : 2) + ':' + h.instance,
      seen: (h) => -(h.lastSeenTimestamp || 0),
      cpu: (h) => -last(h, 'cpu'), mem: (h) => -last(h, 'mem'), disk: (h) => -last(h, 'disk'), net: (h) => -last(h, 'net'),
    }[sort] || ((h) => h.instance);
    const keyed = out.map((h) => [key(h), h]);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return keyed.map((x) => x[1]);
  }, [hosts, series, filter, sort, liveTick]);

  const height = Math.max(300, window.innerHeight - 190);
  const first = Math.max(0, Math.floor(top / ROW) - 5);
  const visible = rows.slice(first, first + Math.ceil(height / ROW) + 10);
  const head = (id, name) => html`<th class=${'sortable' + (sort === id ? ' on' : '')} onClick=${() => setParams({ sort: id }, true)}>${name}</th>`;
  return html`<section class="hosts">
    <div class="bar">
      <h1>Hosts</h1>
      <input class="filter" placeholder="filter hosts" aria-label="filter hosts" value=${filter}
        onInput=${(e) => setParams({ filter: e.target.value }, true)} />
      <span class="muted">${hosts ? `${rows.length} of ${hosts.length} hosts, ${hosts.filter((h) => h.up === false).length} down` : 'loading…'}</span>
    </div>
    ${err && html`<div class="error">${err}</div>`}
    <div class="scroller" ref=${scroller} style=${{ height: height + 'px' }} onScroll=${(e) => setTop(e.target.scrollTop)}>
      <table class="grid">
        <thead><tr>${head('status', 'State')}${head('name', 'Host')}${head('seen', 'Last seen')}
          ${metrics.map((m) => head(m.id, m.title))}</tr></thead>
        <tbody>
          <tr style=${{ height: first * ROW + 'px' }}></tr>
          ${visible.map((h) => {
            const s = series[h.instance] || {};
            return html`<tr key=${h.instance} class="host-row" style=${{ height: ROW + 'px' }}>
              <td><span class=${'badge ' + (h.up === false ? 'down' : h.up ? 'up' : 'unknown')}>${h.up === false ? 'down' : h.up ? 'up' : '?'}</span></td>
              <td><a href=${href('host', h.instance, keep(params))}>${h.instance}</a></td>
              <td class="muted">${fmtAgo(h.lastSeenTimestamp)}</td>
              ${metrics.map((m) => {
                const v = s[m.id] || [];
                const lastV = [...v].reverse().find((x) => x !== null && !Number.isNaN(x));
                return html`<td><div class="sparkcell" data-metric=${m.id}><${Spark} values=${v} max=${m.max} /><span>${lastV === undefined ? '–' : m.fmt(lastV)}</span></div></td>`;
              })}
            </tr>`;
          })}
          <tr style=${{ height: Math.max(0, rows.length - first - visible.length) * ROW + 'px' }}></tr>
        </tbody>
      </table>
    </div>
  </section>`;
}
