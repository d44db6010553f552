"""Time of ``collect_matches`` (the reported pairs' table) after a run's shards are scored (issue 12 item 4).

Draws a national-style batch (``reunite_demo.national``: norSTR 2023 East Asia, the 20 CODIS
core loci, the default stepwise mutation model and linkage), builds the run's inputs in memory
(no store, no Prefect, as ``benchmarks/bench_compile.py``), plans a full run, scores every
shard with :func:`kinship.app.match_run.score_shard` (the candidate floor of the shards merged
so far, as the flow does; one thread of Python, numba's own threads inside the kernel), reduces
them with :func:`~kinship.matching.streaming.combine_results`, and times
:func:`~kinship.app.match_run.collect_matches` on the result (best of ``--repeat``)::

    .venv/bin/python benchmarks/bench_collect.py --families 20000 --children 10000

Prints the shards' summed time (and, on code that carries the pairs' counts from the shards,
the part spent counting: ``match_run.with_counts``), the collect time and the number of
reported pairs; with
``--out`` writes the matches table's CSV (bytes to compare between code versions).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench_compile import inputs_of
from kinship.app import match_run
from kinship.app.parameters import MatchParameters
from kinship.matching import streaming
from reunite_demo.national import national_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--families", type=int, default=20000)
    parser.add_argument("--children", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the matches table here (CSV)")
    args = parser.parse_args()
    t = time.perf_counter()
    batch = national_batch(args.families, args.children, seed=args.seed)
    params = MatchParameters()
    inputs = inputs_of(batch)
    table, _ = match_run.effective_frequencies(inputs, batch.table, floor=params.frequency_floor)
    run = match_run.encode_run(inputs, table, params.mutation_model, theta=params.theta, linkage=params.linkage)
    plan = match_run.plan_run(run, params)
    print(f"inputs: {len(run.inputs.families)} families ({int(run.linked_families.sum())} linked), "
          f"{len(run.inputs.candidate_ids)} children, {len(plan.shards)} shards; {time.perf_counter() - t:.1f} s")
    counting = [0.0]
    if hasattr(match_run, "with_counts"):  # the shards' counting, inside score_shard (code that carries counts)
        real = match_run.with_counts

        def timed(*a, **kw):
            t0 = time.perf_counter()
            try:
                return real(*a, **kw)
            finally:
                counting[0] += time.perf_counter() - t0

        match_run.with_counts = timed
    kept, shard_s = None, 0.0
    for families, candidates in plan.shards:
        t = time.perf_counter()
        result = match_run.score_shard(run, families, candidates, k=params.k, threshold=params.threshold,
                                       kept=None if kept is None else kept.candidate_best)
        shard_s += time.perf_counter() - t
        kept = streaming.combine_results([r for r in (kept, result) if r is not None], k=params.k)
    print(f"score_shard: {shard_s:.1f} s summed (counting the entries: {counting[0]:.2f} s of it)")
    best = np.inf
    for _ in range(args.repeat):
        t = time.perf_counter()
        matches = match_run.collect_matches(run, [kept], k=params.k, new_candidates=plan.new_candidates,
                                            new_families=plan.new_families)
        best = min(best, time.perf_counter() - t)
    print(f"collect_matches: {best:.2f} s (best of {args.repeat}), {len(matches)} reported pairs")
    if args.out:
        matches.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
