"""Time kinship.app.power.family_power: single-parent, couple and sibling families at 20 loci (norstr East Asia).

Command: python benchmarks/power_family.py [N_REPEATS]

Prints, per family kind, the median wall time of the current family's part (compile + exact
distributions under H1 and H2) and of the next-relative enumeration (each relative: one
vectorised compile per locus over the relative's genotypes, four FFT convolutions).
"""
import statistics
import sys

import numpy as np

from kinship.app.parameters import MatchParameters
from kinship.app.power import family_power
from kinship.io.frequencies import load_bundled_table
from kinship.matching.compiler import Family

LOCI = ["D3S1358", "vWA", "D16S539", "CSF1PO", "TPOX", "D8S1179", "D21S11", "D18S51", "D2S441", "D19S433", "TH01",
        "FGA", "D22S1045", "D5S818", "D13S317", "D7S820", "D10S1248", "D1S1656", "D12S391", "D2S1338"]
n_repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
table = load_bundled_table()
params = MatchParameters()
rng = np.random.default_rng(1)
profiles = {}
for sid in ("R1", "R2"):
    profiles[sid] = {}
    for locus in LOCI:
        lf = table[locus]
        a = rng.choice(lf.afreq.size, 2, p=lf.afreq)
        profiles[sid][locus] = tuple(lf.alleles[k] for k in sorted(a))
cases = {
    "mother only": Family("L", "F1", mother="R1"),
    "couple": Family("L", "F2", father="R2", mother="R1"),
    "siblings": Family("L", "F3", others=(("R1", "full_sibling"),)),
}
for kind, family in cases.items():
    now, nxt = [], []
    for _ in range(n_repeats):
        fp = family_power(family, profiles, table, params.mutation_model, LOCI, n_candidates=100_000, parameters=params)
        now.append(fp.seconds_current)
        nxt.append(fp.seconds_next)
    ranked = ", ".join(f"{r.relationship} +{(r.gain[0] + r.gain[1]) / 2:.3f}" for r in fp.next_relatives)
    print(f"{kind:12s} current {statistics.median(now) * 1e3:7.1f} ms   next relatives ({len(fp.next_relatives)}) "
          f"{statistics.median(nxt):6.2f} s   P(support) {fp.p_support[0]:.3f}-{fp.p_support[1]:.3f}; {ranked}")
