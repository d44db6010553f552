"""Compile time of a family's tables by family kind (issue 12: two typed siblings <= 5 ms).

Draws a national-style batch (``reunite_demo.national``: norSTR 2023 East Asia, the 20 CODIS
core loci, the default stepwise mutation model), builds the run's inputs in memory (no store,
no Prefect: the compile step alone), encodes it as a match run does, and times
``EncodedRun.scoring_tables`` (the tables the kernel scores: linked pairs joint for families
with relatives other than parents) on up to ``--sample`` families of each kind, as
``benchmarks/bench_national.py`` does after its match stage::

    .venv/bin/python benchmarks/bench_compile.py --families 20000 --sample 300
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from bench_national import _run_kind
from kinship.app import match_run
from kinship.app.parameters import MatchParameters
from reunite_demo.national import national_batch


def inputs_of(batch) -> match_run.MatchInputs:
    """The batch's references and children as the match run's genotypes and members tables."""
    alleles = batch.table
    rows = []
    for frame, arr, role in ((batch.references, batch.reference_alleles, "reference"),
                             (batch.children, batch.child_alleles, "candidate")):
        for i, sid in enumerate(frame["sample_id"]):
            for li, locus in enumerate(batch.loci):
                labels = alleles[locus].alleles
                a, b = arr[i, li]
                rows.append((sid, role, locus, labels[a], labels[b]))
    genotypes = pd.DataFrame(rows, columns=["sample_id", "role", "locus", "allele_1", "allele_2"])
    members = batch.references[["lab", "family_id", "sample_id", "relationship"]]
    return match_run.assemble_inputs(genotypes, members)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--families", type=int, default=20000)
    parser.add_argument("--sample", type=int, default=300, help="families timed per kind, at most")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    batch = national_batch(args.families, 10, seed=args.seed)
    params = MatchParameters()
    inputs = inputs_of(batch)
    table, _ = match_run.effective_frequencies(inputs, batch.table, floor=params.frequency_floor)
    run = match_run.encode_run(inputs, table, params.mutation_model, theta=params.theta, linkage=params.linkage)
    kinds = np.array([_run_kind(f) for f in run.inputs.families], dtype=object)
    rng = np.random.default_rng(args.seed + 1)
    print("| kind | families | timed | ms per family |\n|---|---|---|---|")
    for kind in sorted(set(kinds)):
        members = np.flatnonzero(kinds == kind)
        sample = members if members.size <= args.sample else np.sort(rng.choice(members, size=args.sample, replace=False))
        t = time.perf_counter()
        run.scoring_tables(sample)
        ms = 1000 * (time.perf_counter() - t) / sample.size
        print(f"| {kind} | {members.size:,} | {sample.size} | {ms:.2f} |")


if __name__ == "__main__":
    main()
