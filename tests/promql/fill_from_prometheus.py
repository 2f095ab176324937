#!/usr/bin/env python3
"""fill_from_prometheus.py: fill in the expectations of `eval` cases that
have none, from Prometheus 2.42 itself (promtool, Debian's `prometheus`
package). A case that fails in Prometheus becomes `eval_fail`. Results are
written sorted by labels: reorder `eval_ordered` cases by hand, and mind
that cases reading samples after the evaluation time (negative offset, @ in
the future) cannot be filled this way (promtool loads data up to the
evaluation time only).

Usage: tests/promql/fill_from_prometheus.py file.test ...   (edits in place)
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_with_prometheus as c  # noqa: E402

def fmt(v):
    if math.isnan(v): return 'NaN'
    if math.isinf(v): return '+Inf' if v > 0 else '-Inf'
    r = repr(v)
    if r.endswith('.0'): r = r[:-2]
    return r

def fmt_labels(ls):
    d = dict(ls)
    name = d.pop('__name__', '')
    inner = ', '.join('%s="%s"' % (k, v.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')) for k, v in sorted(d.items()))
    if name and not inner: return name
    return '%s{%s}' % (name, inner)

for path in sys.argv[1:]:
    lines = open(path).read().split('\n')
    cases = c.parse_file(path)
    inserts = {}
    for line, kind, series, when, expr, exp, fail in cases:
        if fail or exp:
            continue
        # is the next line blank? (no expectations written)
        if kind == 'instant':
            res, raw = c.run_promtool(series, [(when, expr)])
            st, got = res[0]
            if st == 'err':
                print('%s:%d: Prometheus error: %s' % (path, line, got))
                inserts[line] = 'FAIL'
                continue
            if ' time: ' not in raw and 'scalar' in expr: pass
            out = []
            for ls, v in got:
                out.append('  %s %s' % (fmt_labels(ls) if ls else '{}', fmt(v)))
            inserts[line] = out
        else:
            s, e, stp = when
            steps = [s + k * stp for k in range((e - s) // stp + 1)]
            res, raw = c.run_promtool(series, [(t, expr) for t in steps])
            table = {}
            for k, (st, got) in enumerate(res):
                if st == 'err':
                    print('%s:%d: Prometheus error: %s' % (path, line, got)); table = 'FAIL'; break
                for ls, v in got:
                    table.setdefault(ls, [None] * len(steps))[k] = v
            if table == 'FAIL':
                inserts[line] = 'FAIL'
                continue
            out = []
            for ls in sorted(table):
                vals = ' '.join('_' if v is None else fmt(v) for v in table[ls])
                out.append('  %s %s' % (fmt_labels(ls) if ls else '{}', vals))
            inserts[line] = out
    new = []
    for i, l in enumerate(lines, 1):
        if inserts.get(i) == 'FAIL':
            new.append(l.replace('eval ', 'eval_fail ', 1))
            continue
        new.append(l)
        if i in inserts:
            new += inserts[i]
    open(path, 'w').write('\n'.join(new))
    print(path, 'filled', len(inserts))
