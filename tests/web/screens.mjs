// screens.mjs: the dashboard's screens as the browser tests visit them
// (run.mjs with chromium, firefox.mjs with Firefox): [name, route, a
// selector present once the screen has loaded its data]. `host` is the
// instance of the local host collector (WEB_HOST).
export function screens(host) {
  return [
    ['hosts', '#/hosts', '.host-row'],
    ['host', '#/host/' + encodeURIComponent(host), '.chart .u-over'],
    ['explore', '#/explore?q=' + encodeURIComponent('rate(node_cpu_seconds_total[1m])'), '.chart .u-over'],
    ['network', '#/network', '.device'],
    ['device', '#/device/r1', '.ifs tbody tr'],
    ['alerts', '#/alerts', '.alerts table'],
    ['targets', '#/targets', '.targets tbody tr'],
    ['storage', '#/storage', '.series-count'],
    ['embed', '#/embed?title=load&q=' + encodeURIComponent('["node_load1"]'), '.chart .u-over'],
    ['hosts-dark', '#/hosts', '.host-row'],
  ];
}
