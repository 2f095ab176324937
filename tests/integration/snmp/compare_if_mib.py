#!/usr/bin/env python3
"""compare_if_mib.py TIDE.json EXPORTER.txt WALK.txt V3.json SYSNAME

Checks Tide's if_mib series (an instant query result for one target) against
prometheus-snmp-exporter's answer for the same agent (names, label sets,
values: gauges equal, counters within drift) and against snmpwalk's numbers
and strings; and that the v3 target's label sets equal the v2c one's.
Prints what differs and exits 1, or prints a summary and exits 0."""
import json, re, sys

DROP = {"job", "instance", "target"}
# What snmp_exporter's if_mib gives and Tide must give the same way.
REQUIRED = ["ifOperStatus", "ifAdminStatus", "ifHighSpeed", "ifHCInOctets", "ifHCOutOctets",
            "ifInOctets", "ifOutOctets", "ifInErrors", "ifOutErrors", "ifInDiscards",
            "ifOutDiscards", "ifHCInUcastPkts", "ifHCOutUcastPkts", "ifHCInMulticastPkts",
            "ifHCOutMulticastPkts", "ifHCInBroadcastPkts", "ifHCOutBroadcastPkts",
            "ifInMulticastPkts", "ifInBroadcastPkts", "ifLastChange", "sysUpTime", "ifMtu",
            "ifSpeed", "ifIndex"]
COUNTERS = re.compile(r"(Octets|Pkts|Errors|Discards|Protos)$")
errors = []


def tide_series(path):
    j = json.load(open(path))
    out = {}
    for r in j["data"]["result"]:
        m = dict(r["metric"])
        name = m.pop("__name__")
        key = frozenset((k, v) for k, v in m.items() if k not in DROP)
        out.setdefault(name, {})[key] = float(r["value"][1])
    return out


def exporter_series(path):
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            errors.append("exporter: cannot parse %r" % line)
            continue
        name = m.group(1)
        if name.startswith("snmp_"):
            continue  # the exporter's own scrape metrics
        labels = {k: v for k, v in label_re.findall(m.group(3) or "") if v != ""}
        out.setdefault(name, {})[frozenset(labels.items())] = float(m.group(4))
    return out


def close(name, a, b):
    if name == "sysUpTime" or name == "ifCounterDiscontinuityTime":
        return abs(a - b) <= 2000  # ticks: 20 s between the two reads at most
    if COUNTERS.search(name):
        return abs(a - b) <= max(5e6, 0.05 * max(a, b))  # one poll's drift on loopback
    return a == b


tide = tide_series(sys.argv[1])
exp = exporter_series(sys.argv[2])
v3 = tide_series(sys.argv[4])
sysname = sys.argv[5]

for name in REQUIRED:
    if name not in exp:
        errors.append("exporter has no %s" % name)
for name in sorted(exp):
    if name not in tide:
        errors.append("%s: the exporter has it, Tide not" % name)
        continue
    if set(exp[name]) != set(tide[name]):
        errors.append("%s: label sets differ:\n  exporter %s\n  tide     %s" % (
            name, sorted(map(sorted, exp[name])), sorted(map(sorted, tide[name]))))
        continue
    for k, v in exp[name].items():
        if not close(name, tide[name][k], v):
            errors.append("%s%s: tide %r, exporter %r" % (name, sorted(k), tide[name][k], v))

# snmpwalk: numbers and strings of every interface
walk = {}
for line in open(sys.argv[3]):
    oid, _, val = line.strip().partition(" ")
    walk[oid.lstrip(".")] = val.strip('"')
IF, X = "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
cols = {"ifOperStatus": IF + ".8", "ifAdminStatus": IF + ".7", "ifMtu": IF + ".4",
        "ifHighSpeed": X + ".15", "ifHCInOctets": X + ".6", "ifHCOutOctets": X + ".10",
        "ifInErrors": IF + ".14"}
indexes = sorted({o.rsplit(".", 1)[1] for o in walk if o.startswith(IF + ".1.")}, key=int)
if not indexes:
    errors.append("snmpwalk found no interfaces")
for idx in indexes:
    want_labels = {"ifIndex": idx, "ifDescr": walk.get(IF + ".2." + idx, ""),
                   "ifName": walk.get(X + ".1." + idx, ""), "ifAlias": walk.get(X + ".18." + idx, "")}
    key = frozenset((k, v) for k, v in want_labels.items() if v != "")
    for name, col in cols.items():
        got = tide.get(name, {}).get(key)
        want = float(walk[col + "." + idx])
        if got is None:
            errors.append("%s%s: missing in Tide (snmpwalk has %s)" % (name, sorted(key), want))
        elif not close(name, got, want):
            errors.append("%s{ifIndex=%s}: tide %r, snmpwalk %r" % (name, idx, got, want))

for name in REQUIRED:
    if set(v3.get(name, {})) != set(tide.get(name, {})):
        errors.append("v3 %s: label sets differ from v2c" % name)
info = tide.get("snmp_device_info", {})
if len(info) != 1 or dict(next(iter(info))).get("sysName") != sysname:
    errors.append("snmp_device_info: want sysName=%s, got %s" % (sysname, [sorted(k) for k in info]))

if errors:
    print("\n".join(errors[:40]))
    sys.exit(1)
print("if_mib: %d names, %d series equal to prometheus-snmp-exporter; %d interfaces equal to "
      "snmpwalk; v3 label sets equal" % (len(exp), sum(len(v) for v in exp.values()), len(indexes)))
