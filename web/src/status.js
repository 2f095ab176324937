// status.js: Alerts and rules (/api/v1/alerts, /api/v1/rules), Targets
// (/api/v1/targets) and Storage (/api/v1/status/storage with its per
// job/instance and per tier tables when the server gives them, and cleanup
// through POST /api/v1/admin/cleanup: a dry run first, whose counts the
// confirmation shows, then the deletion).
import { html } from './html.js';
import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { fmtAgo, fmtBytes, fmtDur, fmtNum, fmtTime, seriesName } from './format.js';

function useData(path, params, tick) {
  const [d, setD] = useState(null);
  const [err, setErr] = useState(null);
  const key = JSON.stringify([path, params, tick]);
  useEffect(() => {
    api(path, params).then((v) => { setD(v); setErr(null); }).catch((e) => setErr(e.message));
  }, [key]);
  return [d, err];
}

const ms = (v) => (typeof v === 'string' ? Date.parse(v) : v);
const badge = (s) => html`<span class=${'badge ' + ({ firing: 'down', pending: 'warn', inactive: 'up', ok: 'up', up: 'up', down: 'down', err: 'down' }[s] || 'unknown')}>${s}</span>`;

export function Alerts({ tick }) {
  const [alerts, e1] = useData('/api/v1/alerts', null, tick);
  const [rules, e2] = useData('/api/v1/rules', null, tick);
  const list = (alerts && alerts.alerts) || [];
  return html`<section class="alerts">
    <div class="bar"><h1>Alerts</h1><span class="muted">${list.length} active</span></div>
    ${(e1 || e2) && html`<div class="error">${e1 || e2}</div>`}
    <table class="grid"><thead><tr><th>State</th><th>Alert</th><th>Labels</th><th>Since</th><th>Value</th></tr></thead><tbody>
      ${list.map((a) => html`<tr><td>${badge(a.state)}</td><td>${a.labels.alertname}</td>
        <td class="mono">${seriesName(a.labels, ['alertname'])}</td><td>${fmtAgo(ms(a.activeAt))}</td><td>${a.value}</td></tr>`)}
      ${!list.length && html`<tr><td colspan="5" class="muted">no alert is pending or firing</td></tr>`}
    </tbody></table>
    <h2>Rules</h2>
    ${((rules && rules.groups) || []).map((g) => html`<div class="panel rule-group"><h3>${g.name} <span class="muted">${g.file} · every ${fmtDur(g.interval)}</span></h3>
      <table class="grid"><thead><tr><th>Rule</th><th>Query</th><th>State</th><th>Health</th><th>Last evaluation</th></tr></thead><tbody>
      ${g.rules.map((r) => html`<tr><td>${r.name}</td><td class="mono">${r.query}</td><td>${r.type === 'alerting' ? badge(r.state) : 'recording'}</td>
        <td>${badge(r.health)}${r.lastError && html` <span class="error-text">${r.lastError}</span>`}</td><td>${fmtAgo(ms(r.lastEvaluation))}</td></tr>`)}
      </tbody></table></div>`)}
    ${rules && !(rules.groups || []).length && html`<p class="muted">No rule files loaded (rule_files: in the configuration).</p>`}
  </section>`;
}

export function Targets({ tick }) {
  const [d, err] = useData('/api/v1/targets', null, tick);
  const list = ((d && d.activeTargets) || []).concat(((d && d.droppedTargets) || []).map((t) => ({ ...t, health: t.health || 'disabled' })));
  return html`<section class="targets">
    <div class="bar"><h1>Targets</h1><span class="muted">${list.length} targets, ${list.filter((t) => t.health === 'down').length} down</span></div>
    ${err && html`<div class="error">${err}</div>`}
    <table class="grid"><thead><tr><th>Kind</th><th>Target</th><th>State</th><th>Labels</th><th>Last run</th><th>Duration</th><th>Last error</th></tr></thead><tbody>
      ${list.map((t) => html`<tr><td>${t.scrapePool}</td><td>${t.scrapeUrl || (t.labels || {}).instance || ''}</td><td>${badge(t.health)}</td>
        <td class="mono">${seriesName(t.labels || {})}</td><td>${fmtAgo(ms(t.lastScrape))}</td><td>${fmtDur(t.lastScrapeDuration)}</td>
        <td class="error-text">${t.lastError}</td></tr>`)}
      ${d && !list.length && html`<tr><td colspan="7" class="muted">no targets</td></tr>`}
    </tbody></table>
  </section>`;
}

function Cleanup({ onDone }) {
  const [age, setAge] = useState('7d');
  const [match, setMatch] = useState('');
  const [plan, setPlan] = useState(null);
  const [msg, setMsg] = useState('');
  const form = (dry) => ({ older_than: age, dry_run: dry ? 'true' : 'false', ...(match.trim() ? { 'match[]': match.trim() } : {}) });
  const dry = async () => {
    setMsg('');
    try {
      setPlan(await api('/api/v1/admin/cleanup', form(true), 'POST'));
    } catch (e) {
      setMsg(e.message);
    }
  };
  const go = async () => {
    try {
      const r = await api('/api/v1/admin/cleanup', form(false), 'POST');
      setMsg(`deleted ${fmtNum(r.samples, 12)} samples of ${fmtNum(r.series, 12)} series`);
      setPlan(null);
      onDone();
    } catch (e) {
      setMsg(e.message);
    }
  };
  return html`<div class="panel cleanup"><h2>Cleanup</h2>
    <div class="row">
      <label>delete data older than <select aria-label="older than" value=${age} onChange=${(e) => { setAge(e.target.value); setPlan(null); }}>
        <option value="1d">1 day</option><option value="7d">1 week</option><option value="30d">1 month</option></select></label>
      <label>of series <input class="mono" aria-label="series selector" placeholder='all, or {job="x"}' value=${match}
        onInput=${(e) => { setMatch(e.target.value); setPlan(null); }} /></label>
      <button class="dry-run" onClick=${dry}>Delete…</button>
    </div>
    ${plan && html`<div class="confirm" role="alertdialog">
      <p>This deletes <b class="count-samples">${fmtNum(plan.samples, 12)}</b> samples of <b class="count-series">${fmtNum(plan.series, 12)}</b> series older than ${age}${match.trim() ? ` matching ${match.trim()}` : ''}. It cannot be undone.</p>
      <button class="danger confirm-delete" onClick=${go}>Delete ${fmtNum(plan.samples, 12)} samples</button>
      <button onClick=${() => setPlan(null)}>Cancel</button></div>`}
    ${msg && html`<p class="cleanup-msg">${msg}</p>`}
  </div>`;
}

export function Storage({ tick }) {
  const [again, setAgain] = useState(0);
  const [d, err] = useData('/api/v1/status/storage', null, tick + again * 1e6);
  const range = (a, b) => `${fmtTime(a)} – ${fmtTime(b)}`;
  return html`<section class="storage">
    <div class="bar"><h1>Storage</h1></div>
    ${err && html`<div class="error">${err}</div>`}
    ${d && html`<div class="stats">
      <div class="stat"><span>On disk</span><b>${fmtBytes(d.bytesOnDisk)}</b></div>
      <div class="stat"><span>Series</span><b class="series-count">${fmtNum(d.series, 12)}</b></div>
      <div class="stat"><span>Samples</span><b class="samples-count">${fmtNum(d.samples, 12)}</b></div>
      <div class="stat"><span>Time range</span><b>${range(d.minTime, d.maxTime)}</b></div>
    </div>`}
    ${d && d.tiers && html`<div class="panel"><h2>Tiers</h2><table class="grid"><thead><tr><th>Tier</th><th>Resolution</th><th>Retention</th>
      <th>Series</th><th>Samples</th><th>Bytes</th><th>Time range</th></tr></thead><tbody>
      ${d.tiers.map((t) => html`<tr><td>${t.name}</td><td>${t.resolution}</td><td>${t.retention}</td><td>${fmtNum(t.series, 12)}</td>
        <td>${fmtNum(t.samples, 12)}</td><td>${fmtBytes(t.bytes)}</td><td>${range(t.minTime, t.maxTime)}</td></tr>`)}</tbody></table></div>`}
    ${d && d.byJobInstance && html`<div class="panel"><h2>By job and instance</h2><table class="grid"><thead><tr><th>Job</th><th>Instance</th>
      <th>Series</th><th>Samples</th><th>Bytes</th><th>Time range</th></tr></thead><tbody>
      ${d.byJobInstance.map((t) => html`<tr><td>${t.job}</td><td>${t.instance}</td><td>${fmtNum(t.series, 12)}</td>
        <td>${fmtNum(t.samples, 12)}</td><td>${fmtBytes(t.bytes)}</td><td>${range(t.minTime, t.maxTime)}</td></tr>`)}</tbody></table></div>`}
    <${Cleanup} onDone=${() => setAgain((x) => x + 1)} />
  </section>`;
}
