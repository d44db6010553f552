"""Benchmark of the streamed all-pairs matcher: compile family tables + score + keep top-k.

Synthetic but realistic: families (75 % couples, 25 % single parents) and candidates are drawn
from a bundled frequency table at the 20 CODIS core loci, the default stepwise mutation model
(0.002 paternal / 0.001 maternal, range 0.1) is on, and every step the production path runs is
timed: compiling each shard of families into its genotype tables
(:func:`kinship.likelihood.parentage.family_locus_tables`, as ``compile_families`` does), scoring all
candidates against the shard (:func:`kinship.matching.streaming.score_shard`: float64, top-k per
candidate and per family, every pair at CPI >= 10,000 kept), and merging the shards.

Usage::

    .venv/bin/python benchmarks/bench_matching.py --families 10000 --candidates 100000

Prints one markdown table row: sizes, pairs per second (end to end and of ``score_shard``:
kernel + exact rescoring), wall time, compile time, scoring time, peak resident memory, hits,
the kernel (``--kernel screen``, the default, or ``float64``; screen ``+ floor`` unless ``--no-floor``:
each shard gets the candidates' k-th best of the shards before it, ``candidate_floor``) and the
share of pairs the screen rescored in float64.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from kinship.genetics.encoding import genotype_index
from kinship.io.frequencies import load_bundled_table
from kinship.likelihood.parentage import family_locus_tables
from kinship.matching.reference import FamilyTables
from kinship.genetics.mutation import MutationModel
from kinship.matching.streaming import candidate_floor, combine_results, merge_results, score_shard

CODIS20 = ["CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317", "D16S539", "D18S51",
           "D21S11", "FGA", "TH01", "TPOX", "vWA", "D1S1656", "D2S441", "D2S1338", "D10S1248",
           "D12S391", "D19S433", "D22S1045"]


def draw_genotypes(rng, afreq, n):
    return np.sort(rng.choice(afreq.size, size=(n, 2), p=afreq), axis=1).astype(np.int16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--shard", type=int, default=4096, help="families compiled at a time")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--table", default="norstr-2023/East Asia")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kernel", choices=("screen", "float64"), default="screen",
                        help="score_shard's int16 screen + exact float64 rescoring (the default, "
                             "production) or the plain float64 kernel (screen=False)")
    parser.add_argument("--no-floor", action="store_true",
                        help="score every shard without the candidates' floor from the shards before it "
                             "(score_shard's candidate_floor; the results are the same)")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    table = load_bundled_table(args.table)
    model = MutationModel()
    loci = [l for l in CODIS20 if l in table]
    per_locus = []
    candidates = np.empty((args.candidates, len(loci)), dtype=np.int32)
    # a family is a couple or a single parent as a whole (not locus by locus): 25 % single
    # parents, half of them fathers
    single = rng.random(args.families) < 0.25
    father_only = single & (rng.random(args.families) < 0.5)
    mother_only = single & ~father_only
    for li, locus in enumerate(loci):
        lf = table[locus]
        fathers = draw_genotypes(rng, lf.afreq, args.families)
        mothers = draw_genotypes(rng, lf.afreq, args.families)
        fathers[mother_only] = -1
        mothers[father_only] = -1
        M_f = model.matrix(lf.alleles, lf.afreq, "male")
        M_m = model.matrix(lf.alleles, lf.afreq, "female")
        per_locus.append((fathers, mothers, lf.afreq, M_f, M_m))
        candidates[:, li] = genotype_index(draw_genotypes(rng, lf.afreq, args.candidates))

    # Warm the JIT outside the timing.
    warm = [family_locus_tables(f[:64], m[:64], p, a, b) for f, m, p, a, b in per_locus]
    score_shard(FamilyTables(tuple(loci), tuple(t for t, _ in warm), tuple(i for _, i in warm),
                             np.ones((len(loci), 64), bool)), candidates[:64], k=args.k,
                screen=args.kernel == "screen")

    screen = args.kernel == "screen"
    t_compile = t_score = 0.0
    n_rescored = 0
    results = []
    start = time.perf_counter()
    for a in range(0, args.families, args.shard):
        b = min(a + args.shard, args.families)
        t0 = time.perf_counter()
        compiled = [family_locus_tables(f[a:b], m[a:b], p, ma, mb) for f, m, p, ma, mb in per_locus]
        typed = np.array([(f[a:b, 0] >= 0) | (m[a:b, 0] >= 0) for f, m, *_ in per_locus])
        tables = FamilyTables(tuple(loci), tuple(t for t, _ in compiled), tuple(i for _, i in compiled), typed)
        t1 = time.perf_counter()
        stats = {}
        floor = None
        if results and screen and not args.no_floor:
            floor = candidate_floor(results[0].candidate_best, np.arange(args.candidates), args.k)
        shard = score_shard(tables, candidates, family_index=np.arange(a, b), k=args.k, screen=screen, stats=stats,
                            candidate_floor=floor)
        n_rescored += stats.get("rescored", 0)
        t2 = time.perf_counter()
        results = [combine_results([*results, shard], k=args.k)]  # memory stays O((C + F) k)
        t_compile += t1 - t0
        t_score += t2 - t1
    merged = merge_results(results, k=args.k)
    wall = time.perf_counter() - start
    pairs = args.families * args.candidates
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"| {args.families:.0e} | {args.candidates:.0e} | {len(loci)} | {pairs / wall:.3g} | "
          f"{pairs / t_score:.3g} | {wall:.1f} | {t_compile:.1f} | {t_score:.1f} | {peak_gb:.2f} | {len(merged[4])} | "
          f"{args.kernel}{' + floor' if screen and not args.no_floor else ''} | {n_rescored / pairs:.2%} |")


if __name__ == "__main__":
    main()
