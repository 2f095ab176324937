// explore.js: any PromQL: a query box completing metric names, label names
// and values from the API, graph (stacked or not) and table views, and the
// server's parse errors shown at their position in the query.
import { html } from './html.js';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, errorPosition, queryInstant } from './api.js';
import { Chart } from './chart.js';
import { fmtNum, seriesName } from './format.js';
import { setParams } from './route.js';

const FUNCS = ['abs', 'absent', 'absent_over_time', 'avg', 'avg_over_time', 'bottomk', 'ceil', 'changes', 'clamp',
  'clamp_max', 'clamp_min', 'count', 'count_over_time', 'count_values', 'day_of_week', 'delta', 'deriv', 'exp', 'floor',
  'group', 'histogram_quantile', 'holt_winters', 'idelta', 'increase', 'irate', 'label_join', 'label_replace',
  'last_over_time', 'ln', 'log10', 'log2', 'max', 'max_over_time', 'min', 'min_over_time', 'predict_linear',
  'quantile', 'quantile_over_time', 'rate', 'resets', 'round', 'scalar', 'sort', 'sort_desc', 'sqrt', 'stddev',
  'stddev_over_time', 'stdvar', 'sum', 'sum_over_time', 'time', 'timestamp', 'topk', 'vector'];

const cache = {};
const once = (k, f) => (cache[k] = cache[k] || f().catch((e) => {
  delete cache[k];
  throw e;
}));

// What to complete at `pos`: {kind: 'metric'|'label'|'value', word, start, label}
export function context(text, pos) {
  const before = text.slice(0, pos);
  let depth = 0, open = -1;
  for (let i = before.length - 1; i >= 0; i--) {
    if (before[i] === '}') depth++;
    else if (before[i] === '{') {
      if (depth === 0) { open = i; break; }
      depth--;
    }
  }
  if (open >= 0) {
    const inside = before.slice(open + 1);
    const v = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)$/.exec(inside);
    if (v) return { kind: 'value', label: v[1], word: v[3], start: pos - v[3].length };
    const l = /(?:^|,)\s*([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(inside);
    if (l) return { kind: 'label', word: l[1] || '', start: pos - (l[1] || '').length };
    return null;
  }
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)$/.exec(before);
  if (!m) return null;
  const by = /\b(by|without|on|ignoring)\s*\([^)]*$/.test(before);
  return { kind: by ? 'label' : 'metric', word: m[1], start: pos - m[1].length };
}

async function suggestions(ctx, text) {
  if (!ctx) return [];
  const w = ctx.word.toLowerCase();
  let all = [];
  if (ctx.kind === 'metric') {
    const names = await once('names', () => api('/api/v1/label/__name__/values'));
    all = [...names, ...FUNCS];
  } else if (ctx.kind === 'label') {
    all = await once('labels', () => api('/api/v1/labels'));
  } else {
    all = await once('v:' + ctx.label, () => api('/api/v1/label/' + encodeURIComponent(ctx.label) + '/values'));
  }
  return all.filter((s) => s.toLowerCase().startsWith(w) && s !== ctx.word).slice(0, 12)
    .concat(all.filter((s) => w && !s.toLowerCase().startsWith(w) && s.toLowerCase().includes(w)).slice(0, 6));
}

function Table({ expr, tick }) {
  const [res, setRes] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    queryInstant(expr).then((r) => { setRes(r); setErr(null); }).catch((e) => setErr(e.message));
  }, [expr, tick]);
  if (err) return html`<div class="error">${err}</div>`;
  if (!res) return html`<div class="muted">loading…</div>`;
  const rows = res.resultType === 'vector' ? res.result.map((s) => [seriesName(s.metric), s.value[1]])
    : res.resultType === 'scalar' || res.resultType === 'string' ? [['scalar', res.result[1]]]
    : res.result.map((s) => [seriesName(s.metric), s.values.map((v) => v[1]).join(', ')]);
  return html`<table class="grid result"><thead><tr><th>Series</th><th>Value</th></tr></thead>
    <tbody>${rows.map(([k, v]) => html`<tr><td class="mono">${k}</td><td class="mono">${isNaN(+v) ? v : fmtNum(+v, 6)}</td></tr>`)}
    ${!rows.length && html`<tr><td colspan="2" class="muted">empty result</td></tr>`}</tbody></table>`;
}

export function Explore({ params, tr, tick }) {
  const expr = params.q || '';
  const view = params.view === 'table' ? 'table' : 'graph';
  const stacked = params.stacked === '1';
  const [text, setText] = useState(expr);
  const [sugg, setSugg] = useState([]);
  const [sel, setSel] = useState(0);
  const [perr, setPerr] = useState(null);
  const ta = useRef(null);
  useEffect(() => setText(expr), [expr]);

  // Validate the query as the server reads it: the error carries line:col.
  useEffect(() => {
    setPerr(null);
    if (!expr) return;
    api('/api/v1/format_query', { query: expr }).catch((e) => {
      if (e.type === 'bad_data') setPerr({ msg: e.message, pos: errorPosition(e.message) });
    });
  }, [expr]);

  const complete = async (value, pos) => {
    const ctx = context(value, pos);
    try {
      const s = await suggestions(ctx, value);
      setSugg(s.map((x) => ({ text: x, ctx })));
      setSel(0);
    } catch (_) {
      setSugg([]);
    }
  };
  const accept = (s) => {
    const el = ta.current;
    const pos = el.selectionStart;
    const v = text.slice(0, s.ctx.start) + s.text + text.slice(pos);
    setText(v);
    setSugg([]);
    requestAnimationFrame(() => {
      el.focus();
      el.selectionStart = el.selectionEnd = s.ctx.start + s.text.length;
    });
  };
  const run = () => {
    setSugg([]);
    setParams({ q: text.trim() });
  };
  const onKey = (e) => {
    if (sugg.length && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      setSel((sel + (e.key === 'ArrowDown' ? 1 : sugg.length - 1)) % sugg.length);
    } else if (sugg.length && (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey))) {
      e.preventDefault();
      accept(sugg[sel]);
    } else if (e.key === 'Escape') setSugg([]);
    else if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      run();
    }
  };
  // The error's position as (line, column) → a caret under the query line.
  let caret = null;
  if (perr && perr.pos) {
    const line = expr.split('\n')[perr.pos.line - 1] || '';
    caret = html`<pre class="caret"><div>${line}</div><div class="mark">${' '.repeat(Math.max(0, perr.pos.col - 1))}^</div></pre>`;
  }
  return html`<section class="explore">
    <div class="bar"><h1>Explore</h1></div>
    <div class="querybox">
      <textarea ref=${ta} rows="2" spellcheck="false" aria-label="PromQL query" placeholder="PromQL, e.g. rate(node_cpu_seconds_total[1m])"
        value=${text} onInput=${(e) => { setText(e.target.value); complete(e.target.value, e.target.selectionStart); }}
        onKeyDown=${onKey} onBlur=${() => setTimeout(() => setSugg([]), 150)} />
      <button class="run" onClick=${run}>Run</button>
      ${sugg.length > 0 && html`<ul class="suggest" role="listbox">${sugg.map((s, i) => html`<li role="option"
        class=${i === sel ? 'on' : ''} onMouseDown=${(e) => { e.preventDefault(); accept(s); }}>${s.text}</li>`)}</ul>`}
    </div>
    ${perr && html`<div class="error parse-error" data-line=${perr.pos ? perr.pos.line : ''} data-col=${perr.pos ? perr.pos.col : ''}>${caret}${perr.msg}</div>`}
    <div class="row">
      <div class="seg"><button class=${view === 'graph' ? 'on' : ''} onClick=${() => setParams({ view: '' })}>Graph</button>
        <button class=${view === 'table' ? 'on' : ''} onClick=${() => setParams({ view: 'table' })}>Table</button></div>
      ${view === 'graph' && html`<label><input type="checkbox" checked=${stacked} onChange=${(e) => setParams({ stacked: e.target.checked ? '1' : '' })} /> stacked</label>`}
    </div>
    ${expr && !perr && (view === 'graph'
      ? html`<${Chart} title=${expr} queries=${[{ expr }]} tr=${tr} stacked=${stacked} tick=${tick} height=${360} />`
      : html`<${Table} expr=${expr} tick=${tick} />`)}
  </section>`;
}
