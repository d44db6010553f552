"""On-demand search in a warm process: one child against every family of a store.

The store is read, assembled and encoded once (what a long-running service holds); then
``kinship.app.search.search`` is timed for ``--children`` children drawn from the store, first
compiling every family each time, then with a ``SearchIndex`` (every family's tables compiled once
and held in memory)::

    .venv/bin/python benchmarks/bench_search.py --store /tmp/nat-1e4/store.sqlite --children 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kinship.app import match_run
from kinship.app.parameters import MatchParameters
from kinship.app.search import SearchIndex, SearchTarget, search
from kinship.io.frequencies import load_frequency_table
from kinship.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--children", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    params = MatchParameters()
    t = time.perf_counter()
    with Store(args.store) as store:
        genotypes, samples = store.load_genotypes(), store.load_samples()
        inputs = match_run.assemble_inputs(genotypes, store.load_family_members(), store.load_pedigrees(),
                                           families=store.load_families())
    table, _ = match_run.effective_frequencies(inputs, load_frequency_table(params.table_id),
                                               floor=params.frequency_floor, silent_alleles=params.silent_alleles)
    run = match_run.encode_run(inputs, table, params.mutation_model, theta=params.theta, linkage=params.linkage)
    warm = time.perf_counter() - t
    print(f"warm-up (load, assemble, encode): {warm:.1f} s; {len(inputs.families):,} families, "
          f"{len(inputs.candidate_ids):,} children")
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(np.array(inputs.candidate_ids), size=args.children, replace=False)
    for cid in chosen:
        t = time.perf_counter()
        found = search(run, SearchTarget(candidate_id=str(cid)), params, genotypes=genotypes, samples=samples)
        print(f"search of one child, compiling every family: {time.perf_counter() - t:.2f} s, {len(found)} pairs")
    t = time.perf_counter()
    index = SearchIndex(run, shard_size=params.shard_size)
    print(f"index (every family compiled once): {time.perf_counter() - t:.1f} s, {index.nbytes / 1e9:.2f} GB")
    for cid in chosen:
        t = time.perf_counter()
        found = search(run, SearchTarget(candidate_id=str(cid)), params, genotypes=genotypes, samples=samples,
                       index=index)
        print(f"search of one child with the index: {time.perf_counter() - t:.2f} s, {len(found)} pairs")


if __name__ == "__main__":
    main()
