// main.js: the dashboard's shell: navigation, theme, the time-range and
// refresh pickers, and the screen of the current route (route.js).
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { RANGES, RATES, REFRESHES, href, keep, refreshMs, setParams, timeRange, useRoute } from './route.js';
import { Chart } from './chart.js';
import { Hosts } from './hosts.js';
import { Host } from './host.js';
import { Explore } from './explore.js';
import { Network, Device } from './network.js';
import { Alerts, Targets, Storage } from './status.js';

const SCREENS = [
  ['hosts', 'Hosts'], ['network', 'Network'], ['explore', 'Explore'], ['alerts', 'Alerts'],
  ['targets', 'Targets'], ['storage', 'Storage'],
];

function toLocalInput(sec) {
  const d = new Date(sec * 1000 - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

function RangePicker({ params }) {
  const range = RANGES.includes(params.range) ? params.range : '1h';
  const tr = timeRange(params);
  const custom = (which, v) => {
    const t = new Date(v).getTime() / 1000;
    if (!Number.isFinite(t)) return;
    const from = which === 'from' ? t : +(params.from || tr.start);
    const to = which === 'to' ? t : +(params.to || tr.end);
    setParams({ range: 'custom', from: Math.floor(from), to: Math.floor(to) });
  };
  return html`<div class="picker">
    <div class="seg" role="group" aria-label="time range">
      ${RANGES.map((r) => html`<button class=${r === range ? 'on' : ''} data-range=${r}
        onClick=${() => setParams(r === 'custom'
          ? { range: r, from: Math.floor(tr.start), to: Math.floor(tr.end) }
          : { range: r, from: '', to: '' })}>${r}</button>`)}
    </div>
    ${range === 'custom' && html`<span class="custom">
      <input type="datetime-local" aria-label="from" value=${toLocalInput(tr.start)} onChange=${(e) => custom('from', e.target.value)} />
      –
      <input type="datetime-local" aria-label="to" value=${toLocalInput(tr.end)} onChange=${(e) => custom('to', e.target.value)} />
    </span>`}
    ${range === 'live'
      ? html`<label>every <select aria-label="live rate" value=${String(tr.rate)} onChange=${(e) => setParams({ rate: e.target.value })}>
          ${RATES.map((r) => html`<option value=${String(r)}>${r} s</option>`)}
        </select></label>`
      : html`<label>refresh <select aria-label="refresh" value=${params.refresh || 'off'} onChange=${(e) => setParams({ refresh: e.target.value === 'off' ? '' : e.target.value })}>
          ${REFRESHES.map((r) => html`<option value=${r}>${r}</option>`)}
        </select></label>`}
  </div>`;
}

function useTick(params) {
  const [tick, setTick] = useState(0);
  const ms = params.range === 'live' ? 0 : refreshMs(params);
  useEffect(() => {
    if (!ms) return undefined;
    const id = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(id);
  }, [ms]);
  return tick;
}

function Embed({ params, tick }) {
  let exprs = [];
  try {
    exprs = JSON.parse(params.q || '[]');
  } catch (_) { /* shown empty */ }
  const tr = timeRange(params);
  return html`<div class="embed">
    <${Chart} title=${params.title || exprs.join(', ')} queries=${exprs.map((expr) => ({ expr }))} tr=${tr}
      unit=${params.unit || ''} stacked=${params.stacked === '1'} height=${Math.max(200, window.innerHeight - 80)} tick=${tick} embed />
  </div>`;
}

function App() {
  const route = useRoute();
  const { screen, arg, params } = route;
  const tick = useTick(params);
  const [theme, setTheme] = useState(document.documentElement.dataset.theme || 'light');
  const flip = () => {
    const t = theme === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = t;
    localStorage.setItem('tide.theme', t);
    setTheme(t);
  };
  if (screen === 'embed') return html`<${Embed} params=${params} tick=${tick} />`;
  const tr = timeRange(params);
  const props = { arg, params, tr, tick, theme };
  const body = {
    hosts: Hosts, host: Host, explore: Explore, network: Network, device: Device, alerts: Alerts,
    targets: Targets, storage: Storage,
  }[screen];
  const active = { host: 'hosts', device: 'network' }[screen] || screen;
  return html`<div class="shell">
    <header>
      <a class="brand" href=${href('hosts', '', keep(params))}>Tide</a>
      <nav>${SCREENS.map(([s, name]) => html`<a class=${s === active ? 'on' : ''} href=${href(s, '', keep(params))}>${name}</a>`)}</nav>
      <${RangePicker} params=${params} />
      <button class="theme" title="light / dark" aria-label="toggle theme" onClick=${flip}>${theme === 'dark' ? '☀' : '☾'}</button>
    </header>
    <main key=${theme}>${body ? html`<${body} ...${props} />` : html`<p class="error">No screen "${screen}".</p>`}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
