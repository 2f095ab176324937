// format.js: numbers, bytes, durations and times as the screens show them.

const SI = ['', 'k', 'M', 'G', 'T', 'P'];
export function fmtNum(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e15)) return v.toExponential(2);
  return +v.toPrecision(digits) + '';
}
function scaled(v, base, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  let i = 0;
  let a = Math.abs(v);
  while (a >= base && i < SI.length - 1) {
    a /= base;
    v /= base;
    i++;
  }
  return fmtNum(v) + ' ' + (base === 1024 && i ? SI[i].toUpperCase() + 'i' : SI[i]) + unit;
}
export const fmtBytes = (v) => scaled(v, 1024, 'B');
export const fmtBits = (v) => scaled(v, 1000, 'bit/s');
export const fmtPct = (v) => (v === null || v === undefined || Number.isNaN(v) ? '–' : fmtNum(v * 100) + ' %');
export function fmtUnit(unit) {
  return { bytes: fmtBytes, bits: fmtBits, ratio: fmtPct, percent: (v) => fmtNum(v) + ' %', seconds: fmtDur }[unit] ||
    ((v) => fmtNum(v));
}
export function fmtDur(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '–';
  if (s < 1) return fmtNum(s * 1000) + ' ms';
  if (s < 120) return fmtNum(s) + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  if (s < 172800) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}
export function fmtAgo(ms) {
  if (!ms || ms < 0) return 'never';
  return fmtDur(Math.max(0, (Date.now() - ms) / 1000)) + ' ago';
}
export function fmtTime(ms) {
  if (ms === null || ms === undefined || ms < 0 || !Number.isFinite(ms)) return '–';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
// {__name__="x", a="b"} as Prometheus prints a series
export function seriesName(metric, drop = []) {
  const name = metric.__name__ || '';
  const ls = Object.entries(metric)
    .filter(([k]) => k !== '__name__' && !drop.includes(k))
    .map(([k, v]) => `${k}="${v}"`);
  return ls.length ? `${name}{${ls.join(', ')}}` : name || '{}';
}
