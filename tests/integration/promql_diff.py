#!/usr/bin/env python3
"""promql_diff.py: Tide vs Prometheus 2.42 on the same samples, query by query
(stdlib only; driven by test_prometheus_diff.sh).

  gen DIR             write DIR/data.om (OpenMetrics, for promtool's backfill)
                      and DIR/data.prom (text exposition with ms timestamps, for
                      Tide's /api/v1/import/prometheus): the same samples, values
                      written identically (repr) so both parse the same doubles
  compare TIDE PROM   ask both servers every query of QUERIES, instant at a few
                      times and as range queries, compare the answers exactly
                      and print each difference; exit 1 if there is any

The data: a few dozen series over 3 hours from BASE at 15 s: counters with
resets, gauges (negative too), classic histograms with `le` buckets, a gauge
with gaps longer than the lookback, NaN and ±Inf values, irregular scrapes,
label sets of varied shape and a recording-rule style name with colons.
Values are compared as the strings the APIs return, label sets exactly;
vectors are order-insensitive unless the query ends in sort()/sort_desc().
Every answer must be equal, transcendental functions included (exp, ln,
trigonometric and hyperbolic ones, atan2, ^: Tide computes them as Go's
math package does, src/query/gomath.c).
"""
import json
import math
import os
import random
import re
import sys
import urllib.parse
import urllib.request

from jsontool import fmt as fmtv  # NaN, +Inf, -Inf, else repr

BASE = 1700000000  # 2023-11-14T22:13:20Z
SPAN = 3 * 3600
STEP = 15


def gen_series(rng):
    """[(family, type, name, labels dict, [(t_s, v)])]"""
    out = []
    ts = list(range(BASE, BASE + SPAN + 1, STEP))
    # counters with resets
    for job in ("api", "web"):
        for inst in ("10.0.0.1:80", "10.0.0.2:80"):
            for code in ("200", "500", "404"):
                v = rng.uniform(0, 1000)
                pts = []
                for t in ts:
                    if rng.random() < 0.004:
                        v = rng.uniform(0, 5)  # counter reset
                    else:
                        v += rng.choice([0, 0, 1, 2, 3.5, 10, rng.uniform(0, 50)])
                    pts.append((t, v))
                out.append(("http_requests", "counter", "http_requests_total",
                            {"job": job, "instance": inst, "code": code,
                             "method": "GET" if code != "404" else "POST"}, pts))
    # gauges, random walks around different levels
    for inst in ("a", "b", "c"):
        for zone in ("cpu", "gpu"):
            v = rng.uniform(-10, 60)
            pts = []
            for t in ts:
                v += rng.gauss(0, 1.5)
                pts.append((t, round(v, rng.choice([1, 2, 3, 6]))))
            out.append(("node_temp_celsius", "gauge", "node_temp_celsius",
                        {"instance": inst, "zone": zone}, pts))
    # classic histograms
    les = ["0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf"]
    for inst in ("a", "b"):
        counts = [0] * len(les)
        total = 0.0
        bpts = [[] for _ in les]
        cpts, spts = [], []
        for t in ts:
            for _ in range(rng.randint(0, 20)):
                d = rng.expovariate(2.0)
                total += d
                for i, le in enumerate(les):
                    if le == "+Inf" or d <= float(le):
                        counts[i] += 1
            for i in range(len(les)):
                bpts[i].append((t, float(counts[i])))
            cpts.append((t, float(counts[-1])))
            spts.append((t, total))
        for i, le in enumerate(les):
            out.append(("request_duration_seconds", "histogram", "request_duration_seconds_bucket",
                        {"instance": inst, "le": le}, bpts[i]))
        out.append(("request_duration_seconds", "histogram", "request_duration_seconds_count",
                    {"instance": inst}, cpts))
        out.append(("request_duration_seconds", "histogram", "request_duration_seconds_sum",
                    {"instance": inst}, spts))
    # gaps longer than the 5m lookback
    for inst in ("a", "b"):
        pts = []
        for t in ts:
            phase = ((t - BASE) // 600) % 3
            if phase == 1 and inst == "a" or phase == 2 and inst == "b":
                continue
            pts.append((t, round(rng.uniform(0, 100), 2)))
        out.append(("flappy_gauge", "gauge", "flappy_gauge", {"instance": inst}, pts))
    # NaN and infinities
    for k in ("x", "y", "z"):
        pts = []
        for t in ts:
            r = rng.random()
            v = (math.nan if r < 0.1 else math.inf if r < 0.13 else -math.inf if r < 0.15
                 else round(rng.uniform(-5, 5), 3))
            pts.append((t, v))
        out.append(("nan_gauge", "gauge", "nan_gauge", {"k": k}, pts))
    # irregular scrapes
    pts, v, t = [], 0.0, BASE
    while t <= BASE + SPAN:
        v += rng.randint(1, 9)
        pts.append((t + rng.randint(0, 9) / 10, v))
        t += rng.choice([10, 15, 30, 45, 60, 120])
    out.append(("sparse_counter", "counter", "sparse_counter_total", {"instance": "a"}, pts))
    # varied label sets, constant info series, a recorded name with colons
    for ver, gov in (("1.2.3", "go1.20"), ("1.3.0", "go1.21"), ("2.0.0", "")):
        labels = {"version": ver}
        if gov:
            labels["goversion"] = gov
        if ver == "2.0.0":
            labels["extra_label"] = "with \"quotes\" and \\ and ü"
        out.append(("build_info", "gauge", "build_info", labels, [(t, 1.0) for t in ts]))
    for job in ("api", "web"):
        pts = [(t, round(rng.uniform(0, 3), 4)) for t in ts]
        out.append(("job:requests:rate5m", "gauge", "job:requests:rate5m", {"job": job}, pts))
    out.append(("tiny_values", "gauge", "tiny_values", {"kind": "small"},
                [(t, rng.uniform(0, 1e-5)) for t in ts]))
    out.append(("tiny_values", "gauge", "tiny_values", {"kind": "huge"},
                [(t, rng.uniform(1e15, 1e17)) for t in ts]))
    return out


def esc(v):
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")


def gen(d):
    rng = random.Random(42)
    series = gen_series(rng)
    with open(os.path.join(d, "data.om"), "w") as om, open(os.path.join(d, "data.prom"), "w") as tx:
        done = set()
        for fam, typ, name, labels, pts in series:
            if fam not in done:
                om.write("# TYPE %s %s\n" % (fam, typ))
                done.add(fam)
            ls = ",".join('%s="%s"' % (k, esc(v)) for k, v in sorted(labels.items()))
            sel = "%s{%s}" % (name, ls)
            for t, v in pts:
                om.write("%s %s %.3f\n" % (sel, fmtv(v), t))
                tx.write("%s %s %d\n" % (sel, fmtv(v), round(t * 1000)))
        om.write("# EOF\n")
    print(len(series))


# ---- queries ------------------------------------------------------------------

C = "http_requests_total"
G = "node_temp_celsius"
H = "request_duration_seconds_bucket"
F = "flappy_gauge"
N = "nan_gauge"
S = "sparse_counter_total"
T2 = BASE + 2 * 3600

QUERIES = [
    # literals and selectors
    "1", "-2.5e3", "Inf", "-Inf", "NaN", '"a string"', "0x1f", "(1 + 2) * 3 - 4 / 8 % 3 ^ 2",
    C, G, '%s{code="200"}' % C, '%s{code=~"2..|4.."}' % C, '%s{code!="200"}' % C,
    '%s{method!~"GET|PUT"}' % C, '{__name__=~"node_.*"}', '{__name__="flappy_gauge"}',
    '{job="api"}', "build_info", "job:requests:rate5m", "tiny_values", S, N, F,
    "%s offset 5m" % G, "%s offset -7m" % G, "%s @ %d" % (G, BASE + 3600), "%s @ start()" % G,
    "%s @ end()" % G, "%s[5m]" % G, "%s[2m] offset 10m" % C, "%s[1m] @ %d" % (G, T2),
    "%s offset 1h @ %d" % (G, T2),
    # range functions
    "rate(%s[5m])" % C, "rate(%s[1h])" % C, "irate(%s[5m])" % C, "increase(%s[10m])" % C,
    "increase(%s[3m])" % S, "rate(%s[2m])" % S, "irate(%s[2m])" % S,
    "delta(%s[10m])" % G, "idelta(%s[5m])" % G, "deriv(%s[10m])" % G,
    "predict_linear(%s[10m], 600)" % G, "resets(%s[1h])" % C, "changes(%s[30m])" % G,
    "holt_winters(%s[10m], 0.5, 0.5)" % G, "holt_winters(%s[30m], 0.1, 0.9)" % G,
    "avg_over_time(%s[10m])" % G, "min_over_time(%s[10m])" % G, "max_over_time(%s[10m])" % G,
    "sum_over_time(%s[10m])" % G, "count_over_time(%s[10m])" % C,
    "quantile_over_time(0.9, %s[10m])" % G, "quantile_over_time(0, %s[10m])" % G,
    "quantile_over_time(1.5, %s[10m])" % G, "stddev_over_time(%s[10m])" % G,
    "stdvar_over_time(%s[10m])" % G, "last_over_time(%s[10m])" % G,
    "present_over_time(%s[10m])" % F, "absent_over_time(nonexistent[5m])",
    "absent_over_time(%s[5m])" % G, 'absent_over_time(nonexistent{job="x"}[5m])',
    "rate(%s[5m] offset 30m)" % C, "rate(%s[5m] @ %d)" % (C, T2),
    # instant functions
    "abs(%s)" % G, "ceil(%s)" % G, "floor(%s)" % G, "round(%s)" % G, "round(%s, 0.5)" % G,
    "round(%s, 3)" % G, "exp(%s / 10)" % G, "ln(abs(%s) + 1)" % G, "log2(abs(%s))" % G,
    "log10(abs(%s))" % G, "sqrt(%s)" % G, "sgn(%s)" % G, "clamp(%s, -1, 20)" % G,
    "clamp(%s, 5, 1)" % G, "clamp_min(%s, 10)" % G, "clamp_max(%s, 10)" % G,
    "sin(%s)" % G, "cos(%s)" % G, "tan(%s)" % G, "asin(%s / 100)" % G, "acos(%s / 100)" % G,
    "atan(%s)" % G, "sinh(%s / 10)" % G, "cosh(%s / 10)" % G, "tanh(%s)" % G,
    "asinh(%s)" % G, "acosh(abs(%s) + 1)" % G, "atanh(%s / 100)" % G, "deg(%s)" % G,
    "rad(%s)" % G, "pi()", "time()", "timestamp(%s)" % G, "timestamp(%s offset 3m)" % F,
    "vector(1)", "vector(time())", "scalar(sum(%s))" % G, "scalar(%s)" % G,
    "absent(nonexistent)", "absent(%s)" % G, 'absent(nonexistent{job="x", a=~"b"})',
    "day_of_month()", "day_of_week()", "day_of_year()", "days_in_month()", "hour()",
    "minute()", "month()", "year()", "hour(timestamp(%s))" % G, "minute(%s * 100000)" % G,
    "day_of_week(vector(1e10))", "year(vector(-1e9))",
    'label_replace(%s, "z2", "$1-x", "zone", "(.*)")' % G,
    'label_replace(%s, "zone", "", "zone", "cpu")' % G,
    'label_replace(%s, "foo", "${1}bar$2", "instance", "(a)(.*)")' % G,
    'label_join(%s, "j", ",", "instance", "zone")' % G,
    'label_join(%s, "instance", "", "zone")' % G,
    "sort(%s)" % G, "sort_desc(%s)" % G, "sort(rate(%s[5m]))" % C,
    "histogram_quantile(0.9, rate(%s[5m]))" % H,
    "histogram_quantile(0.5, sum by (le) (rate(%s[5m])))" % H,
    "histogram_quantile(0.99, sum by (le, instance) (increase(%s[10m])))" % H,
    "histogram_quantile(0, rate(%s[5m]))" % H, "histogram_quantile(1, rate(%s[5m]))" % H,
    "histogram_quantile(-1, rate(%s[5m]))" % H, "histogram_quantile(NaN, rate(%s[5m]))" % H,
    "histogram_quantile(0.5, %s)" % G,
    # aggregations
    "sum(%s)" % G, "avg(%s)" % G, "min(%s)" % G, "max(%s)" % G, "count(%s)" % G,
    "group(%s)" % G, "stddev(%s)" % G, "stdvar(%s)" % G, "sum(%s)" % C,
    "topk(3, %s)" % G, "bottomk(2, %s)" % G, "topk by (zone) (1, %s)" % G,
    "bottomk without (instance) (1, %s)" % G, 'count_values("v", round(%s))' % G,
    'count_values by (zone) ("value", ceil(%s / 10))' % G,
    "quantile(0.3, %s)" % G, "quantile by (zone) (0.75, %s)" % G, "quantile(2, %s)" % G,
    "sum by (job) (rate(%s[5m]))" % C, "sum without (instance) (rate(%s[5m]))" % C,
    "max by (code) (%s)" % C, "avg without (instance, method) (%s)" % C,
    "count by (zone) (%s > 10)" % G, "sum by (__name__) ({__name__=~\"node_.*|flappy_gauge\"})",
    "avg(%s)" % N, "sum(%s)" % N, "max(%s)" % N, "min(%s)" % N, "stddev(%s)" % N,
    "quantile(0.5, %s)" % N, "count(%s)" % N, "group by (k) (%s)" % N,
    "sum(%s)" % "tiny_values", "avg(tiny_values)", "stddev(tiny_values)",
    "sum by (job) (job:requests:rate5m)", "count(build_info) by (version)",
    "sum(rate(%s[5m])) by (job, code)" % C,
    # operators
    "%s + 1" % G, "%s * 2" % G, "%s / 0" % G, "-%s / 0" % G, "%s %% 3" % G, "%s ^ 2" % G,
    "2 ^ %s" % G, "-%s" % G, "+%s" % G, "%s atan2 10" % G, "%s atan2 %s" % (G, G),
    "%s > 15" % G, "%s < 15" % G, "%s >= 15.3" % G, "%s <= 0" % G, "%s == %s" % (G, G),
    "%s != %s" % (G, G), "%s > bool 15" % G, "15 < bool %s" % G, "1 > bool 2", "1 == 1",
    "%s == bool %s" % (G, G), "%s - %s" % (G, G), "%s / %s" % (C, C),
    "rate(%s[5m]) / ignoring(code, method) group_left sum without (code, method) (rate(%s[5m]))"
    % (C, C),
    "sum by (job, instance) (rate(%s[5m])) / on(job) group_right sum by (job) (rate(%s[5m]))"
    % (C, C),
    '%s * on(instance) group_left(zone) %s{zone="cpu"}' % ("flappy_gauge", G),
    "%s and %s > 15" % (G, G), "%s or %s" % (G, F), "%s unless %s" % (G, F),
    "%s and on(instance) %s" % (G, F), "%s unless on(instance) %s" % (G, F),
    "%s or on(instance) %s" % (F, G), "vector(1) and vector(2)", "%s > %s + 1" % (G, G),
    "(%s > 10) * 3" % G, "%s + ignoring(zone) group_left %s{zone=\"cpu\"}" % (G, G),
    "%s + on(job) sum by (job) (%s)" % ("job:requests:rate5m", C),
    "%s / 2" % N, "%s > 0" % N, "%s == bool %s" % (N, N), "%s + %s" % (N, N),
    "-2 ^ 2", "2 ^ 3 ^ 2", "1 - 2 - 3", "time() - timestamp(%s)" % G,
    "scalar(%s{instance=\"a\",zone=\"cpu\"}) * %s" % (G, G),
    # subqueries
    "max_over_time(rate(%s[5m])[30m:1m])" % C, "avg_over_time(%s[1h:5m])" % G,
    "rate(sum(%s)[10m:30s])" % C, "min_over_time(%s[30m:])" % G,
    "sum_over_time(%s[10m:1m] offset 5m)" % G, "last_over_time(%s[10m:1m] @ %d)" % (G, T2),
    "max_over_time(deriv(%s[5m])[20m:2m])" % G,
    "count_over_time((%s > 20)[1h:90s])" % G, "quantile_over_time(0.5, %s[45m:7m])" % G,
    "avg_over_time(sum by (job) (rate(%s[5m]))[30m:5m])" % C,
    "%s[20m:3m]" % G, "rate(%s[5m])[10m:1m]" % C,
    # gaps, NaN, sparse
    "rate(%s[5m])" % F, "count(%s)" % F, "max_over_time(%s[20m])" % F,
    "avg_over_time(%s[5m])" % N, "count_over_time(%s[5m])" % N, "topk(1, %s)" % N,
    "deriv(%s[5m])" % N, "max_over_time(%s[5m])" % N, "min_over_time(%s[5m])" % N,
    "sum_over_time(%s[5m])" % N, "stddev_over_time(%s[5m])" % N, "changes(%s[5m])" % N,
    "delta(%s[5m])" % N, "abs(%s)" % N, "clamp(%s, -1, 1)" % N,
    # errors both sides must agree on
    "sum(", "rate(%s)" % G, "%s + on(job) %s" % (C, C), "foo{}", "label_replace(%s, \"1x\", \"\", \"zone\", \"\")" % G,
    "topk(1.5, %s)" % G,
]

# Queries whose vector answer is ordered (compared in order).
def ordered(q):
    return q.startswith("sort(") or q.startswith("sort_desc(")


# Instant evaluation times: unaligned inside, the very end, inside a gap of
# flappy_gauge{instance="a"}, just after the start.
INSTANT_TIMES = [T2 + 7, BASE + SPAN, BASE + 600 + 400, BASE + 61.5]
# Range queries: (start, end, step)
RANGES = [(BASE + 3600, BASE + SPAN, 60), (BASE + 1800 + 0.25, BASE + 2 * 3600, 137)]


def fetch(base, path, params):
    data = urllib.parse.urlencode(params).encode()
    rq = urllib.request.Request(base + path, data=data, method="POST",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(rq, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body)
        except ValueError:
            return e.code, {"status": "error", "errorType": "?", "error": body.decode(errors="replace")}


def norm(doc, keep_order):
    """A comparable form of a query answer."""
    if doc.get("status") != "success":
        return ("error", doc.get("errorType"))
    d = doc["data"]
    rt, res = d["resultType"], d["result"]
    if rt in ("scalar", "string"):
        return (rt, tuple(res))
    key = "value" if rt == "vector" else "values"
    items = []
    for s in res:
        lab = tuple(sorted(s["metric"].items()))
        val = tuple(s[key]) if rt == "vector" else tuple(tuple(p) for p in s[key])
        items.append((lab, val))
    if not keep_order:
        items.sort()
    return (rt, tuple(items))


def show(n, limit=600):
    s = json.dumps(n, default=str)
    return s if len(s) <= limit else s[:limit] + "..."


def diff_detail(a, b):
    """Series present in one but not the other, or with different points."""
    if a[0] != b[0] or a[0] not in ("vector", "matrix"):
        return "tide: %s\n      prom: %s" % (show(a), show(b))
    da, db = dict(a[1]), dict(b[1])
    lines = []
    for k in sorted(set(da) | set(db)):
        if da.get(k) != db.get(k):
            lines.append("  %s\n      tide: %s\n      prom: %s" % (
                dict(k), show(da.get(k), 300), show(db.get(k), 300)))
    if not lines:
        lines.append("  order differs:\n      tide: %s\n      prom: %s" % (
            show([dict(k) for k, _ in a[1]]), show([dict(k) for k, _ in b[1]])))
    return "\n".join(lines[:6]) + ("\n  ... %d more series differ" % (len(lines) - 6) if len(lines) > 6 else "")


def compare(tide, prom):
    ndiff = nq = 0
    for q in QUERIES:
        cases = [("instant@%s" % t, "/api/v1/query", {"query": q, "time": t}) for t in INSTANT_TIMES]
        cases += [("range %s..%s/%s" % r, "/api/v1/query_range",
                   {"query": q, "start": r[0], "end": r[1], "step": r[2]}) for r in RANGES]
        for what, path, params in cases:
            nq += 1
            ct, dt = fetch(tide, path, params)
            cp, dp = fetch(prom, path, params)
            keep = ordered(q) and what.startswith("instant")
            a, b = norm(dt, keep), norm(dp, keep)
            if a != b or ct != cp:
                ndiff += 1
                print("DIFF %s %s (HTTP tide %d, prom %d)\n  %s" % (what, q, ct, cp, diff_detail(a, b)))
                if a[0] == "error" or b[0] == "error":
                    print("      tide error: %s\n      prom error: %s" % (dt.get("error"), dp.get("error")))
    print("%d queries, %d differences" % (nq, ndiff))
    return ndiff


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        return 1 if compare(sys.argv[2].rstrip("/"), sys.argv[3].rstrip("/")) else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
