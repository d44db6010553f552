"""Worst relative error against the peer oracle, per relationship and mutation model.

Run from the repository root: ``.venv/bin/python tests/oracle/worst_errors.py``. Prints a markdown
table: the general H1/H2 likelihood ratio (kinship.likelihood.peeling) and the matcher's table look-up
against forrel (which agrees with Familias to ~1e-14), per locus and in total.
"""
import sys, math, collections
sys.path.insert(0,'tests/oracle')
import importlib.util
spec=importlib.util.spec_from_file_location('t','tests/oracle/test_oracle_all.py'); t=importlib.util.module_from_spec(spec); spec.loader.exec_module(t)
worst=collections.defaultdict(lambda:[0.0,0.0,0])
for c in t.CASES:
    rows=t.RESULTS[t.RESULTS.case_id==c['case_id']].set_index('locus')
    key=(c['relationship'],c['mutation']['model']+(' θ>0' if c['theta']>0 else ''))
    w=worst[key]; w[2]+=1
    g=t.general_lr(c)
    vals=list(g.items())+[('TOTAL',math.prod(g.values()))]
    for l,v in vals:
        e=rows.loc[l,'lr_forrel']; err=abs(v-e)/e if e>0 else abs(v)
        w[0]=max(w[0],err)
    if c['relationship']!='trio_mother_known':
        per,tot=t.matcher_lr(c)
        typed={l['name'] for l in c['loci'] if 'C' in l['genotypes']}
        for l,v in per.items():
            if l in typed:
                e=rows.loc[l,'lr_forrel']; err=abs(v-e)/e if e>0 else abs(v)
                w[1]=max(w[1],err)
        exp=sum(rows.loc[l,'log10lr_forrel'] for l in typed)
        if math.isfinite(exp):
            w[1]=max(w[1],abs(10**tot-10**exp)/10**exp)
print("| relationship | model | cases | worst rel. error, general LR | worst rel. error, matcher table |")
print("|---|---|---|---|---|")
for (r,m),(a,b,n) in sorted(worst.items()):
    print(f"| {r} | {m} | {n} | {a:.1e} | {'n/a (H2 not unrelated)' if r=='trio_mother_known' else f'{b:.1e}'} |")
