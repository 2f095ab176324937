#!/usr/bin/env python3
"""gen_random.py: random PromQL queries over a fixed data set, written as a
promqltest file without expectations, for differential testing against
Prometheus: gen_random.py SEED COUNT out.test, then
fill_from_prometheus.py out.test, then run the file through
unit_query_test_promql. differential.test was made this way."""
import random
import sys

random.seed(int(sys.argv[1]))
names=['foo','bar','x','x_bucket','up','nonexistent']
inst=['abs','ceil','floor','exp','sqrt','ln','log2','sgn','deg','timestamp','sort','sort_desc','absent','day_of_week','hour','year','days_in_month','minute','month','day_of_year']
rng=['rate','irate','increase','delta','idelta','deriv','resets','changes','avg_over_time','sum_over_time','count_over_time','min_over_time','max_over_time','stddev_over_time','stdvar_over_time','last_over_time','present_over_time','absent_over_time']
aggs=['sum','avg','count','min','max','group','stddev','stdvar']
ops=['+','-','*','/','%','^','atan2','==','!=','>','<','>=','<=','and','or','unless']
def sel():
    s=random.choice(names)
    r=random.random()
    if r<0.3: s+='{job="api"}'
    elif r<0.4: s+='{job=~"a.*|db"}'
    elif r<0.5: s+='{le!="1"}'
    if random.random()<0.15: s+=' offset %dm'%random.choice([1,5,3,30])
    return s
def rsel(d):
    if random.random()<0.7:
        s=random.choice(names)+('{job="db"}' if random.random()<0.3 else '')
        s+='[%s]'%random.choice(['1m','5m','30s','1h','45s'])
    else:
        s='(%s)[%s:%s]'%(vec(d+1),random.choice(['5m','10m','3m']),random.choice(['','1m','30s','45s']))
    if random.random()<0.1: s+=' offset 2m'
    return s
def scal(d):
    r=random.random()
    if r<0.5 or d>3: return random.choice(['1','0','-1','0.5','2','NaN','Inf','3','0.25','0.9'])
    if r<0.7: return 'scalar(%s)'%vec(d+1)
    if r<0.8: return 'time()'
    return '(%s %s %s)'%(scal(d+1),random.choice(['+','-','*','/','^','%']),scal(d+1))
def vec(d=0):
    r=random.random()
    if d>4 or r<0.25: return sel()
    if r<0.35: return '%s(%s)'%(random.choice(inst),vec(d+1))
    if r<0.5: return '%s(%s)'%(random.choice(rng),rsel(d+1))
    if r<0.6:
        g=random.choice(['',' by (job)',' without (le)',' by (le, job)',' without ()'])
        return '%s%s (%s)'%(random.choice(aggs),g,vec(d+1))
    if r<0.65: return 'topk(%s, %s)'%(random.choice(['2','5','1']),vec(d+1))
    if r<0.68: return 'bottomk by (job) (2, %s)'%vec(d+1)
    if r<0.71: return 'quantile(%s, %s)'%(scal(d+1),vec(d+1))
    if r<0.73: return 'count_values("v", %s)'%vec(d+1)
    if r<0.76: return 'histogram_quantile(%s, %s)'%(scal(d+1),vec(d+1))
    if r<0.78: return 'label_replace(%s, "dst", "$1-x", "job", "(.*)")'%vec(d+1)
    if r<0.80: return 'label_join(%s, "dst", ",", "job", "le")'%vec(d+1)
    if r<0.82: return 'clamp(%s, %s, %s)'%(vec(d+1),scal(d+1),scal(d+1))
    if r<0.84: return 'round(%s, %s)'%(vec(d+1),scal(d+1))
    if r<0.86: return 'predict_linear(%s, %s)'%(rsel(d+1),scal(d+1))
    if r<0.87: return 'quantile_over_time(%s, %s)'%(scal(d+1),rsel(d+1))
    if r<0.88: return 'holt_winters(%s, 0.5, 0.3)'%rsel(d+1)
    if r<0.9: return 'vector(%s)'%scal(d+1)
    if r<0.92: return '-%s'%vec(d+1)
    op=random.choice(ops)
    l,rr=vec(d+1),vec(d+1)
    if op in ('and','or','unless'):
        m=random.choice(['',' on(job)',' ignoring(le)'])
    else:
        if random.random()<0.3: l,rr=(scal(d+1),rr) if random.random()<0.5 else (l,scal(d+1))
        m=random.choice(['','',' on(job, le)',' ignoring(le)',' on(job) group_left',' on(le) group_right(job)',' ignoring(job) group_left(le)'])
        if op in ('==','!=','>','<','>=','<=') and random.random()<0.5: m=' bool'+m
    return '(%s %s%s %s)'%(l,op,m,rr)
head = ['load 30s']
for n in ['foo', 'bar', 'x', 'x_bucket', 'up']:
    for k, le in enumerate(['0.1', '1', '+Inf']):
        vals = []
        for i in range(200):
            v = -1.0 if (i % 7 == 3 and k == 1) else i * (k + 1.5)
            vals.append(repr(v) if v != int(v) else str(int(v)))
        head.append('  %s{le="%s", job="%s"} %s' % (n, le, 'api' if k else 'db', ' '.join(vals)))
out = ['\n'.join(head) + '\n']
for i in range(int(sys.argv[2])):
    q=vec()
    if random.random()<0.2:
        out.append('eval range from %s to %s step %s %s\n'%(random.choice(['0m','10m']),random.choice(['30m','60m']),random.choice(['5m','7m','10m']),q))
    else:
        out.append('eval instant at %s %s\n'%(random.choice(['50m','99m','10m','33m','61m']),q))
open(sys.argv[3],'w').write('\n'.join(out))
