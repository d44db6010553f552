"""Time kinship.app.lineage.y_lineage_columns: 10^4 reported pairs, 10^5 male haplotypes (27 Y-STRs).

Command: python benchmarks/ystr_lineage_timing.py
"""
import time

import numpy as np
import pandas as pd

from kinship.app.lineage import y_lineage_columns
from kinship.app.match_run import MatchInputs
from kinship.genetics.ystr import read_ystr_rates
from kinship.matching.compiler import Family

rng = np.random.default_rng(1)
rates = read_ystr_rates()
n_men, n_fam, n_pairs = 100_000, 20_000, 10_000
ids = [f"S{i:06d}" for i in range(n_men)]
rows = []
for r in rates.loci:
    v = rng.integers(10, 16, size=(n_men, 2))
    a = v.min(axis=1) if r.copies == 2 else v[:, 0]
    b = v.max(axis=1) if r.copies == 2 else v[:, 0]
    rows.append(pd.DataFrame({"sample_id": ids, "locus": r.locus, "allele_1": a.astype(str), "allele_2": b.astype(str)}))
genotypes = pd.concat(rows, ignore_index=True)
sex = pd.DataFrame({"sample_id": ids, "sex": "male"})
families = tuple(Family("L", f"F{i:05d}", father=ids[i]) for i in range(n_fam))
cands = ids[n_fam:n_fam + n_pairs]
inputs = MatchInputs({}, tuple(ids[:n_fam]), tuple(cands), families)
matches = pd.DataFrame({"candidate_id": cands, "lab": "L", "family_id": [f"F{i:05d}" for i in rng.integers(0, n_fam, n_pairs)]})
t = time.perf_counter()
out, prov, _ = y_lineage_columns(genotypes, sex, inputs, matches, rates=rates)
print(f"{len(matches)} pairs, {prov['n_male_haplotypes']} male haplotypes, {len(rates.loci)} loci: "
      f"{time.perf_counter() - t:.2f} s; pairs compared {prov['n_pairs_compared']}")
