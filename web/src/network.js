// network.js: SNMP and RouterOS devices. The Network screen shows every
// device with its uplinks as badges (green up, red down, the provider as
// label), filters by site, provider and state, devices with an uplink down
// first. An uplink is an interface series labelled `provider` or
// `isp_provider`, or `role="uplink"` (docs/rules/isp.yml's convention);
// a device without such labels shows its interface counts. The device page
// lists its interfaces and graphs traffic and errors, and the RouterOS
// graphs (routeros.js) when the device has those metrics.
import { html } from './html.js';
import { useEffect, useState } from 'preact/hooks';
import { api, queryInstant } from './api.js';
import { Chart } from './chart.js';
import { fmtBits } from './format.js';
import { href, keep, rateWindow, setParams } from './route.js';
import { ROUTEROS_GRAPHS } from './routeros.js';

const q = (s) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
const provider = (m) => m.provider || m.isp_provider || '';
const UPLINKS = 'ifOperStatus{provider!=""} or ifOperStatus{isp_provider!=""} or ifOperStatus{role="uplink"}';

export function Network({ params, tick }) {
  const [devs, setDevs] = useState(null);
  const [err, setErr] = useState(null);
  const { site = '', prov = '', state = '' } = params;
  useEffect(() => {
    (async () => {
      try {
        const [up, all, ok, info] = await Promise.all([
          queryInstant(UPLINKS),
          queryInstant('count by (instance) (ifOperStatus)'),
          queryInstant('count by (instance) (ifOperStatus == 1)'),
          queryInstant('snmp_device_info'),
        ]);
        const m = new Map();
        const dev = (i) => m.get(i) || (m.set(i, { instance: i, uplinks: [], ifs: 0, ifsUp: 0, site: '', name: '' }), m.get(i));
        for (const s of all.result) dev(s.metric.instance).ifs = +s.value[1];
        for (const s of ok.result) dev(s.metric.instance).ifsUp = +s.value[1];
        for (const s of info.result) dev(s.metric.instance).name = s.metric.sysName || '';
        for (const s of up.result) {
          const d = dev(s.metric.instance);
          d.site = d.site || s.metric.site || '';
          d.uplinks.push({ name: s.metric.ifName || s.metric.ifDescr || s.metric.ifIndex, alias: s.metric.ifAlias || '',
            provider: provider(s.metric), up: +s.value[1] === 1 });
        }
        for (const s of all.result) {
          const d = dev(s.metric.instance);
          d.site = d.site || s.metric.site || '';
        }
        setDevs([...m.values()]);
        setErr(null);
      } catch (e) {
        setErr(e.message);
      }
    })();
  }, [tick]);
  const down = (d) => d.uplinks.some((u) => !u.up);
  const list = (devs || []).filter((d) => (!site || d.site === site) &&
    (!prov || d.uplinks.some((u) => u.provider === prov)) &&
    (!state || (state === 'down') === down(d)))
    .sort((a, b) => (down(b) - down(a)) || a.instance.localeCompare(b.instance));
  const sites = [...new Set((devs || []).map((d) => d.site).filter(Boolean))].sort();
  const provs = [...new Set((devs || []).flatMap((d) => d.uplinks.map((u) => u.provider)).filter(Boolean))].sort();
  const sel = (name, value, opts, label) => html`<label>${label} <select aria-label=${label} value=${value}
    onChange=${(e) => setParams({ [name]: e.target.value }, true)}><option value="">all</option>
    ${opts.map((o) => html`<option value=${o}>${o}</option>`)}</select></label>`;
  return html`<section class="network">
    <div class="bar"><h1>Network</h1>
      ${sel('site', site, sites, 'site')}${sel('prov', prov, provs, 'provider')}${sel('state', state, ['up', 'down'], 'state')}
      <span class="muted">${devs ? `${list.length} devices, ${list.filter(down).length} with an uplink down` : 'loading…'}</span></div>
    ${err && html`<div class="error">${err}</div>`}
    <div class="devices">${list.map((d) => html`<div class=${'device' + (down(d) ? ' has-down' : '')} data-instance=${d.instance}>
      <div class="device-head"><a href=${href('device', d.instance, keep(params))}>${d.name || d.instance}</a>
        ${d.site && html`<span class="muted">${d.site}</span>`}</div>
      <div class="uplinks">${d.uplinks.length
        ? d.uplinks.map((u) => html`<span class=${'badge uplink ' + (u.up ? 'up' : 'down')} title=${`${u.name} ${u.alias}`}>${u.provider || u.alias || u.name}</span>`)
        : html`<span class="muted">${d.ifsUp}/${d.ifs} interfaces up</span>`}</div>
    </div>`)}</div>
    ${devs && !devs.length && html`<p class="muted">No SNMP or RouterOS device yet: add one under targets: (docs/collect/snmp.md).</p>`}
  </section>`;
}

const STATUS = { 1: 'up', 2: 'down', 3: 'testing', 4: 'unknown', 5: 'dormant', 6: 'notPresent', 7: 'lowerLayerDown' };

export function Device({ arg, params, tr, tick }) {
  const inst = arg;
  const i = `instance="${q(inst)}"`;
  const w = rateWindow(tr, 300);
  const [ifs, setIfs] = useState(null);
  const [names, setNames] = useState([]);
  const [err, setErr] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        const get = (e) => queryInstant(e).then((r) => r.result);
        const [oper, admin, hs, sp, rin, rout, errs, series] = await Promise.all([
          get(`ifOperStatus{${i}}`), get(`ifAdminStatus{${i}}`), get(`ifHighSpeed{${i}}`), get(`ifSpeed{${i}}`),
          get(`rate(ifHCInOctets{${i}}[${w}]) * 8`), get(`rate(ifHCOutOctets{${i}}[${w}]) * 8`),
          get(`increase(ifInErrors{${i}}[1h]) + increase(ifOutErrors{${i}}[1h])`),
          api('/api/v1/label/__name__/values', { 'match[]': `{${i},__name__=~"mktxp_.*|routeros_.*"}` }),
        ]);
        const by = new Map();
        const row = (m) => by.get(m.ifIndex) || (by.set(m.ifIndex, { ifIndex: m.ifIndex, name: m.ifName || m.ifDescr || m.ifIndex,
          alias: m.ifAlias || '', provider: provider(m) }), by.get(m.ifIndex));
        const put = (res, k, f = (v) => v) => res.forEach((s) => { row(s.metric)[k] = f(+s.value[1]); });
        put(oper, 'oper');
        put(admin, 'admin');
        put(sp, 'speed', (v) => v);
        put(hs, 'speed', (v) => v * 1e6);
        put(rin, 'in');
        put(rout, 'out');
        put(errs, 'errors');
        setIfs([...by.values()].sort((a, b) => +a.ifIndex - +b.ifIndex));
        setNames(series);
        setErr(null);
      } catch (e) {
        setErr(e.message);
      }
    })();
  }, [inst, tick, w]);
  const has = new Set(names);
  const ros = ROUTEROS_GRAPHS.filter((g) => has.has(g.metric));
  const legend = (m) => m.ifName || m.ifDescr || m.ifIndex;
  return html`<section class="device-page">
    <div class="bar"><h1>${inst}</h1></div>
    ${err && html`<div class="error">${err}</div>`}
    <table class="grid ifs"><thead><tr><th>Interface</th><th>Alias</th><th>Provider</th><th>Admin</th><th>Oper</th>
      <th>Speed</th><th>In</th><th>Out</th><th>Errors (1h)</th></tr></thead><tbody>
      ${(ifs || []).map((r) => html`<tr data-if=${r.name}><td>${r.name}</td><td>${r.alias}</td><td>${r.provider}</td>
        <td>${STATUS[r.admin] || '–'}</td><td><span class=${'badge ' + (r.oper === 1 ? 'up' : r.oper === undefined ? 'unknown' : 'down')}>${STATUS[r.oper] || '–'}</span></td>
        <td>${r.speed ? fmtBits(r.speed).replace('/s', '') : '–'}</td><td>${r.in === undefined ? '–' : fmtBits(r.in)}</td>
        <td>${r.out === undefined ? '–' : fmtBits(r.out)}</td><td>${r.errors === undefined ? '–' : Math.round(r.errors)}</td></tr>`)}
    </tbody></table>
    <div class="charts">
      <${Chart} title="Traffic in" unit="bits" tr=${tr} tick=${tick} queries=${[{ expr: `rate(ifHCInOctets{${i}}[${w}]) * 8`, legend }]} />
      <${Chart} title="Traffic out" unit="bits" tr=${tr} tick=${tick} queries=${[{ expr: `rate(ifHCOutOctets{${i}}[${w}]) * 8`, legend }]} />
      <${Chart} title="Errors" tr=${tr} tick=${tick} queries=${[
        { expr: `rate(ifInErrors{${i}}[${w}])`, legend: (m) => legend(m) + ' in' },
        { expr: `rate(ifOutErrors{${i}}[${w}])`, legend: (m) => legend(m) + ' out' }]} />
      ${ros.map((g) => html`<${Chart} key=${g.title} title=${g.title} unit=${g.unit} tr=${tr} tick=${tick} queries=${[{ expr: g.expr(i, w) }]} />`)}
    </div>
  </section>`;
}
