// api.js: the HTTP API as the screens use it: JSON envelopes, PromQL ranges,
// and the one live EventSource shared by every chart on screen.

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) v.forEach((x) => u.append(k, x));
    else u.append(k, v);
  }
  return u.toString();
}

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

// GET (or POST with form params) an /api/v1 endpoint; resolves to `data`.
export async function api(path, params, method = 'GET') {
  const q = qs(params);
  const opts = { method, headers: {} };
  let url = path;
  if (method === 'GET') url += q ? '?' + q : '';
  else {
    opts.body = q;
    opts.headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const r = await fetch(url, opts);
  let body = null;
  try {
    body = await r.json();
  } catch (_) {
    throw new ApiError(r.status, 'internal', `${path}: HTTP ${r.status}`);
  }
  if (body.status !== 'success') throw new ApiError(r.status, body.errorType, body.error || `HTTP ${r.status}`);
  return body.data;
}

export const queryRange = (query, start, end, step) =>
  api('/api/v1/query_range', { query, start: start.toFixed(3), end: end.toFixed(3), step: String(step) }, 'POST');

export const queryInstant = (query, time) =>
  api('/api/v1/query', time ? { query, time: time.toFixed(3) } : { query }, 'POST');

// The position in a PromQL error ("...: 1:5: parse error: ..."), or null.
export function errorPosition(msg) {
  const m = /(?:^|: )(\d+):(\d+): /.exec(msg || '');
  return m ? { line: +m[1], col: +m[2] } : null;
}

// The vector selectors a PromQL expression reads, for the CSV export of a
// chart: metric names with their braces, and bare {…} selectors.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or',
  'unless', 'offset', 'atan2', 'inf', 'nan']);
export function selectors(expr) {
  const out = [];
  let i = 0;
  const n = expr.length;
  const braces = (j) => {
    // from '{' at j to its '}', strings skipped
    let k = j + 1;
    while (k < n && expr[k] !== '}') {
      if (expr[k] === '"' || expr[k] === "'" || expr[k] === '`') {
        const qc = expr[k++];
        while (k < n && expr[k] !== qc) k += expr[k] === '\\' ? 2 : 1;
      }
      k++;
    }
    return k + 1;
  };
  while (i < n) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i++;
      while (i < n && expr[i] !== c) i += expr[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '[') {
      while (i < n && expr[i] !== ']') i++;
    } else if (/[0-9.]/.test(c)) {
      while (i < n && /[0-9a-zA-Z.]/.test(expr[i])) i++;
    } else if (c === '{') {
      const e = braces(i);
      out.push(expr.slice(i, e));
      i = e;
    } else if (/[a-zA-Z_:]/.test(c)) {
      let j = i;
      while (j < n && /[a-zA-Z0-9_:]/.test(expr[j])) j++;
      const word = expr.slice(i, j);
      let k = j;
      while (k < n && expr[k] === ' ') k++;
      if (expr[k] === '(') {
        i = j;
      } else if (KEYWORDS.has(word.toLowerCase())) {
        i = j;
        if (/^(by|without|on|ignoring|group_left|group_right)$/i.test(word) && expr[k] === '(') {
          while (i < n && expr[i] !== ')') i++;
        } else if (/^(by|without|on|ignoring|group_left|group_right)$/i.test(word)) {
          while (k < n && expr[k] !== '(' && expr[k] !== ')') k++;
          if (expr[k] === '(') { while (k < n && expr[k] !== ')') k++; }
          i = k + 1;
        }
      } else if (expr[k] === '{') {
        const e = braces(k);
        out.push(word + expr.slice(k, e));
        i = e;
      } else {
        out.push(word);
        i = j;
      }
    } else i++;
  }
  return [...new Set(out)];
}

// One EventSource for every live chart: subscribe(exprs, rate, cb) gives
// the callback the events of its queries; the stream reconnects with the
// union of queries when the set changes.
class Live {
  constructor() {
    this.subs = new Set();
    this.es = null;
    this.key = '';
    this.pending = false;
  }
  subscribe(exprs, rate, cb, watch = '') {
    const s = { exprs, rate, cb, watch };
    this.subs.add(s);
    this.schedule();
    return () => {
      this.subs.delete(s);
      this.schedule();
    };
  }
  schedule() {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.connect();
    }, 0);
  }
  connect() {
    const exprs = [...new Set([...this.subs].flatMap((s) => s.exprs))].sort();
    const rate = this.subs.size ? [...this.subs][0].rate : 1;
    // The hosts on screen: the server samples them at the display rate.
    const hosts = [...new Set([...this.subs].map((s) => s.watch).filter(Boolean))].sort().slice(0, 8);
    const key = rate + '\n' + hosts.join('\n') + '\n' + exprs.join('\n');
    if (key === this.key && this.es) return;
    this.key = key;
    if (this.es) this.es.close();
    this.es = null;
    if (!exprs.length) return;
    const es = new EventSource('/api/v1/stream?' + qs({ query: exprs, interval: rate, host: hosts }));
    es.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      const expr = exprs[m.q];
      for (const s of this.subs) if (s.exprs.includes(expr)) s.cb(expr, m);
    };
    this.es = es;
  }
}
export const live = new Live();
