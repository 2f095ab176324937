#!/usr/bin/env python3
"""snmprec_gen.py: simulated routers for snmpsim, recorded from a real agent.

Reads `snmpwalk -ObentU` output of a real snmpd (system group, ifTable,
ifXTable) and writes one snmpsim data file per router, DIR/<community>.snmprec
(snmpsim answers community "routerNNNN" from routerNNNN.snmprec). Each router
gets the walked system group (its own sysName) and 22-24 interfaces built
from the walked agent's last interface row (same columns, same value types):
2-4 uplinks named xe-0/0/N with an ifAlias like "ISP:Magti_Internet uplink1"
and 20 access ports ge-0/1/N. Values are deterministic; some uplinks are down
(ifOperStatus 2). A summary of what was written goes to DIR/summary.json.

Usage: snmprec_gen.py WALK_FILE OUT_DIR COUNT
"""
import json
import os
import sys

IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
PROVIDERS = ("Magti", "Silknet", "Beeline", "Caucasus")
ACCESS_PORTS = 20

# snmpwalk's type word -> snmprec tag
TAGS = {"INTEGER:": "2", "STRING:": "4", "Hex-STRING:": "4x", "OID:": "6",
        "IpAddress:": "64", "Counter32:": "65", "Gauge32:": "66",
        "Counter64:": "70", "Timeticks:": "67"}


def parse_walk(path):
    """Return {oid tuple: (tag, value)} from snmpwalk -ObentU output."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if " = " not in line:
                continue
            oid, rest = line.split(" = ", 1)
            oid = tuple(int(x) for x in oid.strip(".").split("."))
            if rest == '""':
                out[oid] = ("4", "")
                continue
            word, _, val = rest.partition(" ")
            if word not in TAGS:
                # -Ot prints TimeTicks as a bare number without a type word
                out[oid] = ("67", rest.strip())
                continue
            tag = TAGS[word]
            if tag == "4":
                val = val[1:-1] if val.startswith('"') else val
            elif tag == "4x":
                val = val.replace(" ", "").lower()
            elif tag == "6":
                val = val.strip(".")
            out[oid] = (tag, val.strip())
    return out


def template_row(walk):
    """Columns of the walked agent's last interface: {(entry, col): (tag, value)}."""
    idx = max(o[len(IF_ENTRY) + 1] for o in walk if o[:len(IF_ENTRY)] == IF_ENTRY)
    row = {}
    for o, tv in walk.items():
        for entry in (IF_ENTRY, IFX_ENTRY):
            if o[:len(entry)] == entry and len(o) == len(entry) + 2 and o[-1] == idx:
                row[(entry, o[len(entry)])] = tv
    return row


def router_records(r, walk, row):
    """Records of router r and its facts for the summary."""
    recs = {o: tv for o, tv in walk.items()
            if o[:len(IF_ENTRY) - 2] != IF_ENTRY[:-2] and o[:len(IFX_ENTRY) - 3] != IFX_ENTRY[:-3]}
    recs[SYS_NAME] = ("4", "router%04d" % r)
    if SYS_UPTIME in recs:
        recs[SYS_UPTIME] = ("67", str(int(recs[SYS_UPTIME][1]) + r * 100))
    uplinks = 2 + r % 3
    total = uplinks + ACCESS_PORTS
    recs[IF_NUMBER] = ("2", str(total))
    down = 0
    for k in range(1, total + 1):
        up_link = k <= uplinks
        name = "xe-0/0/%d" % (k - 1) if up_link else "ge-0/1/%d" % (k - uplinks - 1)
        if up_link:
            alias = "ISP:%s_Internet uplink%d" % (PROVIDERS[(r + k) % len(PROVIDERS)], k)
            oper = 2 if (r * 7 + k) % 11 == 0 else 1
            down += oper == 2
        else:
            alias = "cust-%04d-%02d" % (r, k) if k % 2 else ""
            oper = 1 if k % 5 else 2
        seed = (r * 1000003 + k * 7919) & 0xFFFFFFFF
        for (entry, col), (tag, val) in row.items():
            if tag == "65":
                val = str((seed * (col + 1)) & 0xFFFFFFFF)
            elif tag == "70":
                val = str(seed * (col + 1) * 4096)
            subst = {
                (IF_ENTRY, 1): ("2", str(k)),
                (IF_ENTRY, 2): ("4", name),
                (IF_ENTRY, 5): ("66", str(10**9 if up_link else 10**8)),
                (IF_ENTRY, 6): ("4x", "02%02x%04x%04x" % (k, r & 0xFFFF, k * 17)),
                (IF_ENTRY, 7): ("2", "1"),
                (IF_ENTRY, 8): ("2", str(oper)),
                (IF_ENTRY, 9): ("67", str(r * 10 + k)),
                (IFX_ENTRY, 1): ("4", name),
                (IFX_ENTRY, 15): ("66", str(10000 if up_link else 1000)),
                (IFX_ENTRY, 18): ("4", alias),
            }
            recs[entry + (col, k)] = subst.get((entry, col), (tag, val))
    return recs, uplinks, total, down


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    walk = parse_walk(sys.argv[1])
    out, count = sys.argv[2], int(sys.argv[3])
    row = template_row(walk)
    if (IF_ENTRY, 8) not in row or (IFX_ENTRY, 18) not in row:
        sys.exit("snmprec_gen: the walk has no ifTable/ifXTable rows")
    os.makedirs(out, exist_ok=True)
    summary = {"routers": count, "interfaces": 0, "uplinks": 0, "uplinks_down": 0,
               "columns": len(row)}
    for r in range(1, count + 1):
        recs, uplinks, total, down = router_records(r, walk, row)
        with open(os.path.join(out, "router%04d.snmprec" % r), "w") as f:
            for oid in sorted(recs):
                tag, val = recs[oid]
                f.write("%s|%s|%s\n" % (".".join(map(str, oid)), tag, val))
        summary["interfaces"] += total
        summary["uplinks"] += uplinks
        summary["uplinks_down"] += down
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
