// route.js: the URL is the state. Hash routes "#/screen/arg?range=1h&refresh=30s"
// so every screen, time range and refresh can be bookmarked and shared, and
// `/` stays the only page the server serves.
import { useEffect, useState } from 'preact/hooks';

export const RANGES = ['live', '1h', '6h', '24h', '7d', '30d', 'custom'];
export const RATES = [0.1, 0.25, 0.5, 1, 2, 5, 10];
export const REFRESHES = ['off', '2s', '5s', '10s', '30s', '1m', '5m'];
const SECONDS = { '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800, '30d': 2592000 };
export const LIVE_WINDOW = 300; // seconds shown in live mode

export function parseHash(hash = location.hash) {
  const h = hash.replace(/^#/, '') || '/hosts';
  const qi = h.indexOf('?');
  const path = qi < 0 ? h : h.slice(0, qi);
  const params = Object.fromEntries(new URLSearchParams(qi < 0 ? '' : h.slice(qi + 1)));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { screen: parts[0] || 'hosts', arg: parts.slice(1).join('/'), params };
}

export function href(screen, arg, params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const q = p.toString();
  return '#/' + screen + (arg ? '/' + encodeURIComponent(arg) : '') + (q ? '?' + q : '');
}

// Change some parameters of the current route (replace: no history entry).
export function setParams(changes, replace = false) {
  const r = parseHash();
  const url = href(r.screen, r.arg, { ...r.params, ...changes });
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

// The parameters that travel with every link: time range and refresh.
export function keep(params) {
  const out = {};
  for (const k of ['range', 'from', 'to', 'rate', 'refresh']) if (params[k]) out[k] = params[k];
  return out;
}

export function useRoute() {
  const [r, setR] = useState(parseHash());
  useEffect(() => {
    const on = () => setR(parseHash());
    window.addEventListener('hashchange', on);
    window.addEventListener('popstate', on);
    return () => {
      window.removeEventListener('hashchange', on);
      window.removeEventListener('popstate', on);
    };
  }, []);
  return r;
}

// The time range of the URL: {live, start, end, step, rate} in seconds.
export function timeRange(params, now = Date.now() / 1000) {
  const range = RANGES.includes(params.range) ? params.range : '1h';
  let rate = parseFloat(params.rate || '1');
  if (!(rate >= 0.1 && rate <= 10)) rate = 1;
  if (range === 'live') {
    const step = rate;
    const end = Math.floor(now / step) * step;
    return { range, live: true, start: end - LIVE_WINDOW, end, step, rate };
  }
  let start, end;
  if (range === 'custom' && params.from && params.to) {
    start = +params.from;
    end = +params.to;
  } else {
    end = now;
    start = now - (SECONDS[range] || 3600);
  }
  const step = Math.max(1, Math.ceil((end - start) / 500));
  return { range, live: false, start, end, step, rate };
}

// What identifies a time range for reloading: a relative range is the same
// range a minute later (the refresh tick reloads it), a custom one is its bounds.
export const rangeKey = (tr) =>
  tr.live ? 'live' + tr.rate : tr.range === 'custom' ? `${tr.start}-${tr.end}` : tr.range;

// A rate() window that holds several samples at this step and at the
// sources' own interval (`min` seconds: 60 for hosts, 300 for SNMP polls).
export const rateWindow = (tr, min = 60) => Math.max(min, Math.ceil(tr.step * 4)) + 's';

export function refreshMs(params) {
  const m = /^(\d+)(s|m)$/.exec(params.refresh || '');
  return m ? +m[1] * (m[2] === 'm' ? 60000 : 1000) : 0;
}
