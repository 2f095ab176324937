// host.js: one host: CPU per mode, memory, disk usage and I/O, network and
// load charts; the top-5 processes by CPU; service states; the agent's
// collection interval, shown and changeable (/api/v1/agent/config).
import { html } from './html.js';
import { useEffect, useState } from 'preact/hooks';
import { api, queryInstant } from './api.js';
import { Chart } from './chart.js';
import { fmtBytes, fmtPct } from './format.js';
import { rateWindow } from './route.js';

const q = (s) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

function Processes({ inst, tick }) {
  const [rows, setRows] = useState(null);
  const [err, setErr] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        const [cpu, rss, cnt] = await Promise.all([
          queryInstant(`topk(5, tide_process_cpu_usage_ratio{instance="${q(inst)}"})`),
          queryInstant(`tide_process_resident_memory_bytes{instance="${q(inst)}"}`),
          queryInstant(`tide_process_count{instance="${q(inst)}"}`),
        ]);
        const k = (m) => m.name + '\u0000' + m.user;
        const mem = new Map(rss.result.map((s) => [k(s.metric), +s.value[1]]));
        const n = new Map(cnt.result.map((s) => [k(s.metric), +s.value[1]]));
        setRows(cpu.result.sort((a, b) => b.value[1] - a.value[1]).map((s) => ({
          name: s.metric.name, user: s.metric.user, cpu: +s.value[1], rss: mem.get(k(s.metric)), n: n.get(k(s.metric)),
        })));
      } catch (e) {
        setErr(e.message);
      }
    })();
  }, [inst, tick]);
  return html`<div class="panel"><h2>Top processes by CPU</h2>
    ${err && html`<div class="error">${err}</div>`}
    <table class="grid procs"><thead><tr><th>Process</th><th>User</th><th>CPU</th><th>Memory</th><th>Count</th></tr></thead>
      <tbody>${(rows || []).map((r) => html`<tr><td>${r.name}</td><td>${r.user}</td><td>${fmtPct(r.cpu)}</td>
        <td>${r.rss === undefined ? '–' : fmtBytes(r.rss)}</td><td>${r.n === undefined ? '–' : r.n}</td></tr>`)}
      ${rows && !rows.length && html`<tr><td colspan="5" class="muted">no process metrics (the proc group of the host collector)</td></tr>`}
      </tbody></table></div>`;
}

function Services({ inst, tick }) {
  const [rows, setRows] = useState(null);
  useEffect(() => {
    queryInstant(`tide_service_state{instance="${q(inst)}"} == 1`)
      .then((r) => setRows(r.result.map((s) => ({ service: s.metric.service, state: s.metric.state }))
        .sort((a, b) => a.service.localeCompare(b.service))))
      .catch(() => setRows([]));
  }, [inst, tick]);
  return html`<div class="panel"><h2>Services</h2>
    <table class="grid"><thead><tr><th>Service</th><th>State</th></tr></thead><tbody>
    ${(rows || []).map((r) => html`<tr><td>${r.service}</td><td><span class=${'badge ' + (r.state === 'running' ? 'up' : r.state === 'stopped' ? 'down' : 'unknown')}>${r.state}</span></td></tr>`)}
    ${rows && !rows.length && html`<tr><td colspan="2" class="muted">no services configured (collect_services)</td></tr>`}
    </tbody></table></div>`;
}

function Interval({ inst }) {
  const [agent, setAgent] = useState(null);
  const [desired, setDesired] = useState('');
  const [msg, setMsg] = useState('');
  // The listing (read scope) says whether an interval is set on the server
  // (intervalSource "config"); only setting one needs the write scope.
  const load = () => {
    api('/api/v1/agents').then((v) => {
      const a = (Array.isArray(v) ? v : v.agents || []).find((x) => x.instance === inst) || null;
      setAgent(a);
      setDesired(a && a.intervalSource === 'config' ? a.interval : '');
    }).catch((e) => setMsg(e.message));
  };
  useEffect(load, [inst]);
  const save = async (e) => {
    e.preventDefault();
    const v = e.target.elements.interval.value.trim();
    try {
      await api('/api/v1/agent/config', { instance: inst, interval: v }, 'POST');
      setMsg(v ? `interval set to ${v}; the agent applies it within one interval` : 'interval cleared');
      load();
    } catch (err) {
      setMsg(err.message);
    }
  };
  return html`<div class="panel"><h2>Collection</h2>
    <p>State: ${agent ? html`<span class=${'badge ' + (agent.up ? 'up' : 'down')}>${agent.up ? 'up' : 'down'}</span>` : '–'}
      · interval <b class="interval">${agent ? agent.interval : '–'}</b> ${agent && html`<span class="muted">(${agent.intervalSource})</span>`}
      ${agent && agent.labels && agent.labels.os && html` · ${agent.labels.os} ${agent.labels.kernel || ''}`}</p>
    <form class="row" onSubmit=${save}>
      <label>desired interval <input name="interval" aria-label="desired interval" placeholder="e.g. 1s" value=${desired} size="6" /></label>
      <button type="submit">Set</button>
      <span class="muted">${msg}</span>
    </form></div>`;
}

export function Host({ arg, tr, tick }) {
  const inst = arg;
  const i = `instance="${q(inst)}"`;
  const w = rateWindow(tr);
  const charts = [
    { title: 'CPU by mode', unit: 'ratio', stacked: true, queries: [{
      expr: `sum by (mode) (rate(node_cpu_seconds_total{${i},mode!="idle"}[${w}])) / scalar(count(node_cpu_seconds_total{${i},mode="idle"}))`,
      legend: (m) => m.mode }] },
    { title: 'Memory', unit: 'bytes', queries: [
      { expr: `node_memory_MemTotal_bytes{${i}} - node_memory_MemAvailable_bytes{${i}}`, legend: () => 'used' },
      { expr: `node_memory_MemAvailable_bytes{${i}}`, legend: () => 'available' },
      { expr: `node_memory_Cached_bytes{${i}}`, legend: () => 'cached' }] },
    { title: 'Disk usage', unit: 'ratio', queries: [{
      expr: `1 - node_filesystem_avail_bytes{${i}} / node_filesystem_size_bytes{${i}}`, legend: (m) => m.mountpoint || m.device }] },
    { title: 'Disk I/O', unit: 'bytes', queries: [
      { expr: `sum by (device) (rate(node_disk_read_bytes_total{${i}}[${w}]))`, legend: (m) => m.device + ' read' },
      { expr: `sum by (device) (rate(node_disk_written_bytes_total{${i}}[${w}]))`, legend: (m) => m.device + ' write' }] },
    { title: 'Network', unit: 'bits', queries: [
      { expr: `sum by (device) (rate(node_network_receive_bytes_total{${i}}[${w}])) * 8`, legend: (m) => m.device + ' in' },
      { expr: `sum by (device) (rate(node_network_transmit_bytes_total{${i}}[${w}])) * 8`, legend: (m) => m.device + ' out' }] },
    { title: 'Load', queries: [
      { expr: `node_load1{${i}}`, legend: () => 'load1' }, { expr: `node_load5{${i}}`, legend: () => 'load5' },
      { expr: `node_load15{${i}}`, legend: () => 'load15' }] },
  ];
  return html`<section class="host">
    <div class="bar"><h1>${inst}</h1></div>
    <div class="panels">
      <${Interval} inst=${inst} />
      <${Processes} inst=${inst} tick=${tick} />
      <${Services} inst=${inst} tick=${tick} />
    </div>
    <div class="charts">${charts.map((c) => html`<${Chart} key=${c.title} ...${c} tr=${tr} tick=${tick} watch=${inst} />`)}</div>
  </section>`;
}
