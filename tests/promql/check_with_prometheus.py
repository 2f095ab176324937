#!/usr/bin/env python3
"""check_with_prometheus.py: verify the expectations in tests/promql/*.test
against Prometheus itself (promtool from Debian's `prometheus` package, 2.42).

Each `eval instant` case becomes a promtool rule-unit-test expression with
no expected samples; promtool then prints what Prometheus got, which is
compared with the expected lines of the case (values within 1e-6 relative,
NaN == NaN). `eval range` cases are checked as instant evaluations at every
step. `eval_fail` cases must fail in Prometheus too. Prints each mismatch and
exits 1 when there is any.

Usage: tests/promql/check_with_prometheus.py [file.test ...]
"""
import glob
import math
import os
import re
import subprocess
import sys
import tempfile
from math import gcd

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_dur(s):
    s = s.strip()
    if re.fullmatch(r"[0-9.]+", s):
        return int(float(s) * 1000)
    units = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000, "w": 604800000,
             "y": 31536000000}
    total = 0
    for num, unit in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", s):
        total += int(num) * units[unit]
    return total


NUM = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+|[Ii]nf|[Nn]a[Nn])"


def num(s):
    return float(s)


def expand(values):
    """Series notation -> list of float/None('_')/'stale'."""
    out = []
    for tok in values.split():
        m = re.fullmatch(r"_(?:x([0-9]+))?", tok)
        if m:
            out += [None] * int(m.group(1) or 1)
            continue
        if tok == "stale":
            out.append("stale")
            continue
        m = re.fullmatch(r"(%s)(?:([+-](?:[0-9.]+(?:[eE][+-]?[0-9]+)?|Inf))?x([0-9]+))?" % NUM, tok)
        if not m:
            raise ValueError("bad value " + tok)
        a = num(m.group(1))
        inc = num(m.group(2)) if m.group(2) else 0.0
        rep = int(m.group(3)) if m.group(3) else 0
        for _ in range(rep + 1):
            out.append(a)
            a += inc
    return out


def split_metric(line):
    line = line.strip()
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?(\{(?:[^}\"']|\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')*\})?", line)
    return line[: m.end()], line[m.end():].strip()


def labels_of(metric):
    name, rest = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?(.*)", metric).groups()
    ls = {}
    if name:
        ls["__name__"] = name
    for k, q, v in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*([\"'])((?:\\.|(?!\2).)*)\2", rest):
        ls[k] = bytes(v, "utf-8").decode("unicode_escape")
    return tuple(sorted(ls.items()))


def fmt_value(v):
    if v is None:
        return "_"
    if v == "stale":
        return "stale"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    return repr(v)


def close(a, b):
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    d = abs(a - b)
    if a == 0 or b == 0:
        return d < 1e-6 * 2.2250738585072014e-308
    return d / (abs(a) + abs(b)) < 1e-6


def parse_file(path):
    """Yields (lineno, kind, state, time/(start,end,step), expr, expected, fail)."""
    lines = open(path).read().split("\n")
    series = []  # (metric, interval_ms, values)
    i = 0
    cases = []
    while i < len(lines):
        ln = lines[i].strip()
        if not ln or ln.startswith("#"):
            i += 1
            continue
        if ln.startswith("load "):
            iv = parse_dur(ln[5:])
            i += 1
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("#"):
                metric, vals = split_metric(lines[i])
                series.append((metric, iv, expand(vals)))
                i += 1
            continue
        if ln == "clear":
            series = []
            i += 1
            continue
        m = re.match(r"(eval|eval_fail|eval_ordered) (instant at (\S+)|range from (\S+) to (\S+) step (\S+)) (.*)", ln)
        if not m:
            raise ValueError("%s:%d: cannot parse %s" % (path, i + 1, ln))
        start = i + 1
        fail = m.group(1) == "eval_fail"
        expr = m.group(7)
        exp = []
        i += 1
        while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("#"):
            t = lines[i].strip()
            i += 1
            if t.startswith("expected_fail_message"):
                continue
            if re.fullmatch(NUM, t):
                exp.append(((), [num(t)], True))
                continue
            if t.startswith('"'):
                exp.append(("string", t, True))
                continue
            metric, vals = split_metric(t)
            exp.append((labels_of(metric), expand(vals), False))
        if m.group(3) is not None:
            cases.append((start, "instant", list(series), parse_dur(m.group(3)), expr, exp, fail))
        else:
            cases.append((start, "range", list(series),
                          (parse_dur(m.group(4)), parse_dur(m.group(5)), parse_dur(m.group(6))),
                          expr, exp, fail))
    return cases


def yaml_str(s):
    return "'" + s.replace("'", "''") + "'"


def run_promtool(series, evals):
    """evals: list of (time_ms, expr). Returns list of ('ok', samples) or ('err', msg)."""
    ivs = [iv for _, iv, _ in series] or [60000]
    g = 0
    for iv in ivs:
        g = gcd(g, iv)
    out = ["rule_files: []", "evaluation_interval: 1m", "tests:", "  - interval: %dms" % g,
           "    input_series:"]
    if not series:
        out[-1] = "    input_series: []"
    for metric, iv, vals in series:
        k = iv // g
        exp = []
        for v in vals:
            exp.append(fmt_value(v))
            exp += ["_"] * (k - 1)
        out.append("      - series: " + yaml_str(metric if "{" in metric else metric + "{}"))
        out.append("        values: " + yaml_str(" ".join(exp) if exp else "_"))
    out.append("    promql_expr_test:")
    for t, expr in evals:
        out.append("      - expr: " + yaml_str(expr))
        out.append("        eval_time: %dms" % t)
        out.append("        exp_samples: []")
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(out) + "\n")
        name = f.name
    r = subprocess.run(["promtool", "test", "rules", name], capture_output=True, text=True)
    os.unlink(name)
    text = r.stdout + r.stderr
    results = {}
    # Blocks: expr: "...", time: Xs,\n exp: ...\n got: ...   or   err: ...
    for blk in re.split(r"\n\s*expr: ", text)[1:]:
        m = re.match(r'"((?:\\.|[^"\\])*)", time: (\S+),', blk)
        if not m:
            continue
        key = (parse_dur(m.group(2)), bytes(m.group(1), "utf-8").decode("unicode_escape"))
        g2 = re.search(r"\n\s*got: (.*)", blk, re.S)
        e2 = re.match(r'"(?:\\.|[^"\\])*", time: \S+, err: (.*)', blk)
        if e2:
            results[key] = ("err", e2.group(1).strip())
        elif g2:
            got = g2.group(1).strip()
            samples = []
            if got != "nil":
                for mm in re.finditer(r"(\{(?:[^}\"]|\"(?:\\.|[^\"\\])*\")*\}) ([^,\s]+)", got):
                    samples.append((labels_of(mm.group(1)), float(mm.group(2))))
            results[key] = ("ok", samples)
    # Expressions without a block matched "nothing" (promtool passes on an empty result).
    return [results.get((t, e), ("ok", [])) for t, e in evals], text


def main():
    files = sys.argv[1:] or sorted(glob.glob(os.path.join(HERE, "*.test")))
    bad = 0
    total = 0
    for path in files:
        for line, kind, series, when, expr, exp, fail in parse_file(path):
            if kind == "instant":
                steps = [(when, None)]
            else:
                s, e, st = when
                steps = [(s + k * st, k) for k in range((e - s) // st + 1)]
            ats = [float(x) * 1000 for x in re.findall(r"@\s*(-?[0-9.]+)", expr)]
            last = steps[0][0]
            if "@ start()" in expr or "@ end()" in expr or "offset -" in expr or any(a > last for a in ats):
                # promtool evaluates instant queries (so start()/end() differ in
                # ranges) and loads samples only up to the evaluation time (so
                # negative offsets and @ in the future see nothing).
                continue
            evals = [(t, expr) for t, _ in steps]
            try:
                res, raw = run_promtool(series, evals)
            except Exception as ex:  # noqa
                print("%s:%d: promtool failed: %s" % (path, line, ex))
                bad += 1
                continue
            total += 1
            for (t, k), (status, got) in zip(steps, res):
                where = "%s:%d: %s (t=%dms)" % (os.path.basename(path), line, expr, t)
                if fail:
                    if status != "err" and kind == "instant":
                        # a parse error makes promtool fail the whole file
                        if "parse error" not in raw and "error" not in raw.lower():
                            print("%s: Prometheus succeeds where the test expects a failure: %s" % (where, got))
                            bad += 1
                    break
                if status == "err":
                    print("%s: Prometheus fails: %s" % (where, got))
                    bad += 1
                    break
                want = []
                for labels, vals, scalar in exp:
                    if labels == "string":
                        continue
                    v = vals[0] if kind == "instant" else (vals[k] if k < len(vals) else None)
                    if v is None:
                        continue
                    want.append((labels, v))
                gd = dict()
                for l, v in got:
                    gd.setdefault(l, []).append(v)
                wd = dict()
                for l, v in want:
                    wd.setdefault(l, []).append(v)
                if set(gd) != set(wd) or any(len(gd[l]) != len(wd[l]) or not all(close(a, b) for a, b in zip(gd[l], wd[l])) for l in gd):
                    print("%s:\n    prometheus: %s\n    test file:  %s" % (where, sorted(got), sorted(want)))
                    bad += 1
                    break
    print("checked %d cases against promtool, %d mismatches" % (total, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
