/* snmp_if_mib.c: the built-in SNMP modules, written as the same YAML a user
 * puts under `snmp_modules:` (snmp_module.c reads both), so the built-ins
 * need no code of their own.
 *
 * if_mib follows prometheus-snmp-exporter's if_mib module: the IF-MIB
 * ifTable and ifXTable columns under their MIB names, one series per
 * interface labelled ifIndex, with the lookups ifAlias, ifDescr and ifName
 * (an empty or missing one is left out, as Prometheus drops empty labels),
 * plus sysUpTime and ifNumber. Two additions: ifHC* counters fall back to
 * the 32-bit column of the same row when a device has no ifXTable entry
 * (v1 agents, old devices), and snmp_device_info{sysName, sysDescr,
 * sysObjectID} 1 describes the device. Names: docs/collect/snmp.md.
 */
#include "collect/snmp.h"

const char snmp_builtin_modules_yaml[] =
    "if_mib:\n"
    "  walk: [1.3.6.1.2.1.2.2.1, 1.3.6.1.2.1.31.1.1.1]\n"
    "  metrics:\n"
    "    - {name: sysUpTime, oid: 1.3.6.1.2.1.1.3, type: gauge}\n"
    "    - {name: ifNumber, oid: 1.3.6.1.2.1.2.1, type: gauge}\n"
    "    - {name: ifIndex, oid: 1.3.6.1.2.1.2.2.1.1, type: gauge, index: ifIndex}\n"
    "    - {name: ifMtu, oid: 1.3.6.1.2.1.2.2.1.4, type: gauge, index: ifIndex}\n"
    "    - {name: ifSpeed, oid: 1.3.6.1.2.1.2.2.1.5, type: gauge, index: ifIndex}\n"
    "    - {name: ifAdminStatus, oid: 1.3.6.1.2.1.2.2.1.7, type: gauge, index: ifIndex}\n"
    "    - {name: ifOperStatus, oid: 1.3.6.1.2.1.2.2.1.8, type: gauge, index: ifIndex}\n"
    "    - {name: ifLastChange, oid: 1.3.6.1.2.1.2.2.1.9, type: gauge, index: ifIndex}\n"
    "    - {name: ifInOctets, oid: 1.3.6.1.2.1.2.2.1.10, type: counter, index: ifIndex}\n"
    "    - {name: ifInUcastPkts, oid: 1.3.6.1.2.1.2.2.1.11, type: counter, index: ifIndex}\n"
    "    - {name: ifInNUcastPkts, oid: 1.3.6.1.2.1.2.2.1.12, type: counter, index: ifIndex}\n"
    "    - {name: ifInDiscards, oid: 1.3.6.1.2.1.2.2.1.13, type: counter, index: ifIndex}\n"
    "    - {name: ifInErrors, oid: 1.3.6.1.2.1.2.2.1.14, type: counter, index: ifIndex}\n"
    "    - {name: ifInUnknownProtos, oid: 1.3.6.1.2.1.2.2.1.15, type: counter, index: ifIndex}\n"
    "    - {name: ifOutOctets, oid: 1.3.6.1.2.1.2.2.1.16, type: counter, index: ifIndex}\n"
    "    - {name: ifOutUcastPkts, oid: 1.3.6.1.2.1.2.2.1.17, type: counter, index: ifIndex}\n"
    "    - {name: ifOutNUcastPkts, oid: 1.3.6.1.2.1.2.2.1.18, type: counter, index: ifIndex}\n"
    "    - {name: ifOutDiscards, oid: 1.3.6.1.2.1.2.2.1.19, type: counter, index: ifIndex}\n"
    "    - {name: ifOutErrors, oid: 1.3.6.1.2.1.2.2.1.20, type: counter, index: ifIndex}\n"
    "    - {name: ifOutQLen, oid: 1.3.6.1.2.1.2.2.1.21, type: gauge, index: ifIndex}\n"
    "    - {name: ifInMulticastPkts, oid: 1.3.6.1.2.1.31.1.1.1.2, type: counter, index: ifIndex}\n"
    "    - {name: ifInBroadcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.3, type: counter, index: ifIndex}\n"
    "    - {name: ifOutMulticastPkts, oid: 1.3.6.1.2.1.31.1.1.1.4, type: counter, index: ifIndex}\n"
    "    - {name: ifOutBroadcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.5, type: counter, index: ifIndex}\n"
    "    - {name: ifHCInOctets, oid: 1.3.6.1.2.1.31.1.1.1.6, type: counter, index: ifIndex, "
    "fallback: 1.3.6.1.2.1.2.2.1.10}\n"
    "    - {name: ifHCInUcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.7, type: counter, index: ifIndex, "
    "fallback: 1.3.6.1.2.1.2.2.1.11}\n"
    "    - {name: ifHCInMulticastPkts, oid: 1.3.6.1.2.1.31.1.1.1.8, type: counter, index: ifIndex, "
    "fallback: 1.3.6.1.2.1.31.1.1.1.2}\n"
    "    - {name: ifHCInBroadcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.9, type: counter, index: ifIndex, "
    "fallback: 1.3.6.1.2.1.31.1.1.1.3}\n"
    "    - {name: ifHCOutOctets, oid: 1.3.6.1.2.1.31.1.1.1.10, type: counter, index: ifIndex, "
    "fallback: 1.3.6.1.2.1.2.2.1.16}\n"
    "    - {name: ifHCOutUcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.11, type: counter, index: ifIndex, "
    "fallback: 1.3.6.1.2.1.2.2.1.17}\n"
    "    - {name: ifHCOutMulticastPkts, oid: 1.3.6.1.2.1.31.1.1.1.12, type: counter, index: "
    "ifIndex, fallback: 1.3.6.1.2.1.31.1.1.1.4}\n"
    "    - {name: ifHCOutBroadcastPkts, oid: 1.3.6.1.2.1.31.1.1.1.13, type: counter, index: "
    "ifIndex, fallback: 1.3.6.1.2.1.31.1.1.1.5}\n"
    "    - {name: ifLinkUpDownTrapEnable, oid: 1.3.6.1.2.1.31.1.1.1.14, type: gauge, index: "
    "ifIndex}\n"
    "    - {name: ifHighSpeed, oid: 1.3.6.1.2.1.31.1.1.1.15, type: gauge, index: ifIndex}\n"
    "    - {name: ifPromiscuousMode, oid: 1.3.6.1.2.1.31.1.1.1.16, type: gauge, index: ifIndex}\n"
    "    - {name: ifConnectorPresent, oid: 1.3.6.1.2.1.31.1.1.1.17, type: gauge, index: ifIndex}\n"
    "    - {name: ifCounterDiscontinuityTime, oid: 1.3.6.1.2.1.31.1.1.1.19, type: gauge, index: "
    "ifIndex}\n"
    "    - name: snmp_device_info\n"
    "      type: info\n"
    "      labels: {sysName: 1.3.6.1.2.1.1.5, sysDescr: 1.3.6.1.2.1.1.1, sysObjectID: "
    "1.3.6.1.2.1.1.2}\n"
    "  lookups:\n"
    "    - {label: ifAlias, oid: 1.3.6.1.2.1.31.1.1.1.18, index: ifIndex}\n"
    "    - {label: ifDescr, oid: 1.3.6.1.2.1.2.2.1.2, index: ifIndex}\n"
    "    - {label: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, index: ifIndex}\n";
