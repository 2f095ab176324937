// routeros.js: the 12 standard graphs of a RouterOS device, as data. Each
// names the metric it needs; the device page shows the graphs whose metric
// the device has, so renaming a metric is a change of this table only.
// Names follow mktxp's where it has them (the RouterOS collector's catalog).
export const ROUTEROS_GRAPHS = [
  { title: 'CPU load', metric: 'mktxp_system_cpu_load', unit: 'percent', expr: (i) => `mktxp_system_cpu_load{${i}}` },
  { title: 'Memory used', metric: 'mktxp_system_total_memory', unit: 'bytes',
    expr: (i) => `mktxp_system_total_memory{${i}} - mktxp_system_free_memory{${i}}` },
  { title: 'HDD used', metric: 'mktxp_system_total_hdd_space', unit: 'bytes',
    expr: (i) => `mktxp_system_total_hdd_space{${i}} - mktxp_system_free_hdd_space{${i}}` },
  { title: 'Temperature', metric: 'mktxp_system_cpu_temperature', unit: '',
    expr: (i) => `{__name__=~"mktxp_system_(cpu|board)_temperature",${i}}` },
  { title: 'Voltage', metric: 'mktxp_system_routerboard_voltage', unit: '', expr: (i) => `mktxp_system_routerboard_voltage{${i}}` },
  { title: 'Uptime', metric: 'mktxp_system_uptime', unit: 'seconds', expr: (i) => `mktxp_system_uptime{${i}}` },
  { title: 'Interface traffic', metric: 'mktxp_interface_rx_byte_total', unit: 'bits',
    expr: (i, w) => `rate(mktxp_interface_rx_byte_total{${i}}[${w}]) * 8` },
  { title: 'Interface errors', metric: 'mktxp_interface_rx_error_total', unit: '',
    expr: (i, w) => `rate(mktxp_interface_rx_error_total{${i}}[${w}]) + rate(mktxp_interface_tx_error_total{${i}}[${w}])` },
  { title: 'Connections', metric: 'mktxp_ip_connections_total', unit: '', expr: (i) => `mktxp_ip_connections_total{${i}}` },
  { title: 'DHCP leases', metric: 'mktxp_dhcp_lease_active_count', unit: '', expr: (i) => `mktxp_dhcp_lease_active_count{${i}}` },
  { title: 'Wireless clients', metric: 'mktxp_wireless_registered_clients', unit: '',
    expr: (i) => `mktxp_wireless_registered_clients{${i}}` },
  { title: 'Firewall traffic', metric: 'mktxp_firewall_filter_total', unit: 'bytes',
    expr: (i, w) => `sum by (chain) (rate(mktxp_firewall_filter_total{${i}}[${w}]))` },
];
