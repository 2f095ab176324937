#!/usr/bin/env python3
"""rules_gen.py OUTDIR HOSTS RULES [HISTORY_MIN=60] [--no-om]: the data set
and rule files of bench/peer/rules.sh.

Data (OUTDIR/data.jsonl for Tide and VictoriaMetrics' /api/v1/import, and
OUTDIR/data.om, the same samples as OpenMetrics for `promtool tsdb
create-blocks-from openmetrics`): for each of HOSTS instances
  req_total{code="200"|"500"}            counters
  cpu_seconds_total{mode=user|system|idle|iowait}   counters
  mem_avail_bytes, queue_len             gauges
  temp_celsius{sensor="0".."3"}          gauges (a random walk 40..95)
every 15 s from now-HISTORY_MIN minutes to now (at least 6: the rules read
5m windows); --no-om skips data.om (only Prometheus needs it). rules.sh makes it afresh right before each
system's run, so that the rules' 5m windows hold data for the whole run
(which stays under 5 minutes) with nothing writing, and Prometheus, whose
TSDB refuses appends before the end of a loaded block, can write ALERTS
and recorded series.

Rules (OUTDIR/rules.yml, Prometheus' format, read unchanged by Tide,
Prometheus and vmalert): RULES rules in groups of 100 at 15 s, 60 %
recording rules (rates and aggregations over 5m windows, each over its own
slice of instances: a tenth of them, by the last digit of the instance
number) and 40 % alerting rules (thresholds on 5m averages
with `for: 1m`, labels and templated annotations)."""
import json
import random
import sys
import time

args = [a for a in sys.argv[1:] if a != "--no-om"]
want_om = "--no-om" not in sys.argv
out, hosts, nrules = args[0], int(args[1]), int(args[2])
history_s = 60 * max(6, int(args[3]) if len(args) > 3 else 60)
rnd = random.Random(42)
now = int(time.time())
start, end, step = now - history_s, now + 1, 15
times = list(range(start, end, step))

series = []  # (name, labels, kind)
for h in range(hosts):
    inst = {"instance": f"host-{h:04d}:9100", "job": "node"}
    for code in ("200", "500"):
        series.append(("req_total", dict(inst, code=code), "counter"))
    for mode in ("user", "system", "idle", "iowait"):
        series.append(("cpu_seconds_total", dict(inst, mode=mode), "counter"))
    series.append(("mem_avail_bytes", inst, "gauge"))
    series.append(("queue_len", inst, "gauge"))
    for s in range(4):
        series.append(("temp_celsius", dict(inst, sensor=str(s)), "gauge"))


def values(name, kind):
    v, out_v = 0.0, []
    if name == "temp_celsius":
        v = rnd.uniform(40, 95)
    elif name == "mem_avail_bytes":
        v = rnd.uniform(1e9, 8e9)
    for _ in times:
        if kind == "counter":
            v += rnd.uniform(0, 50 if name == "req_total" else 15)
        elif name == "temp_celsius":
            v = min(95.0, max(40.0, v + rnd.uniform(-1.5, 1.5)))
        elif name == "queue_len":
            v = float(rnd.randint(0, 40))
        else:
            v = max(0.0, v + rnd.uniform(-5e7, 5e7))
        out_v.append(round(v, 3))
    return out_v


data = [(n, l, k, values(n, k)) for n, l, k in series]
with open(f"{out}/data.jsonl", "w") as f:
    for n, l, k, vals in data:
        f.write(json.dumps({"metric": dict(l, __name__=n), "values": vals,
                            "timestamps": [t * 1000 for t in times]}) + "\n")
with open(f"{out}/data.om" if want_om else "/dev/null", "w") as f:
    fams = {}
    for n, l, k, vals in data:
        fams.setdefault((n, k), []).append((l, vals))
    for (n, k), members in (fams.items() if want_om else ()):
        om_name = n[: -len("_total")] if k == "counter" else n
        f.write(f"# TYPE {om_name} {'counter' if k == 'counter' else 'gauge'}\n")
        for l, vals in members:
            lab = ",".join(f'{a}="{b}"' for a, b in sorted(l.items()))
            name = om_name + "_total" if k == "counter" else n
            for t, v in zip(times, vals):
                f.write(f"{name}{{{lab}}} {v} {t}\n")
    f.write("# EOF\n")

groups, rules = [], []
for i in range(nrules):
    # a tenth of the instances (for HOSTS <= 100, the same as "host-00.D")
    sl = f'instance=~"host-.*{i % 10}:9100"'
    if i % 10 < 6:
        kind = i % 3
        if kind == 0:
            r = {"record": f"job:req_errors:rate5m_{i}",
                 "expr": f'sum by (job) (rate(req_total{{code="500",{sl}}}[5m])) / sum by (job) (rate(req_total{{{sl}}}[5m]))'}
        elif kind == 1:
            r = {"record": f"instance:cpu_busy:rate5m_{i}",
                 "expr": f'1 - avg by (instance) (rate(cpu_seconds_total{{mode="idle",{sl}}}[5m]))'}
        else:
            r = {"record": f"job:mem_avail:avg_{i}",
                 "expr": f'avg by (job) (avg_over_time(mem_avail_bytes{{{sl}}}[5m]))'}
    else:
        r = {"alert": f"HotSensor{i}",
             "expr": f'avg_over_time(temp_celsius{{sensor="{i % 4}",{sl}}}[5m]) > {60 + i % 30}',
             "for": "1m",
             "labels": {"severity": "warning" if i % 2 else "critical"},
             "annotations": {"summary": "{{ $labels.instance }} sensor {{ $labels.sensor }} at {{ $value }}"}}
    rules.append(r)
    if len(rules) == 100 or i == nrules - 1:
        groups.append({"name": f"bench-{len(groups)}", "interval": "15s", "rules": rules})
        rules = []
with open(f"{out}/rules.yml", "w") as f:
    json.dump({"groups": groups}, f, indent=1)  # JSON is YAML
print(f"{len(series)} series x {len(times)} points, {nrules} rules in {len(groups)} groups")
