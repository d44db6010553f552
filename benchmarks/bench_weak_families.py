"""What Y-STRs and linkage add for weak families at scale, through the match run's library calls.

Draws a synthetic batch (:func:`reunite_demo.synthetic.weak_families`: fathers only with
Y-STRs and their sons, full-sibling families with vWA-D12S391 simulated with linkage) and runs
the production steps of a full match run in process, in the match flow's order
(``flows/match.py``, without the store and the report): ``assemble_inputs``,
``effective_frequencies``, ``encode_run``, ``plan_run``, ``score_shard`` per family shard with
``combine_results``, ``collect_matches``, ``lineage.y_evidence``, ``calibrate``, ``assess``, all
on the default :class:`~kinship.app.parameters.MatchParameters`. Then scores the matches
against the truth (:func:`reunite_demo.evaluation.what_each_adds`): per kind, true children at
CPI >= 10,000 with the autosomal LR alone, with the Y-STR factor, and (when the run writes
``log10_lr_unlinked``) with every locus independent; false hits; the run's decisions.

Usage::

    .venv/bin/python benchmarks/bench_weak_families.py --families 2000 --candidates 20000

Prints the timings of each step, the what-each-adds table, and one markdown row for
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import Counter

import numpy as np

from kinship.app import lineage, match_run
from kinship.app.parameters import MatchParameters
from kinship.io.frequencies import load_frequency_table
from kinship.matching import streaming
from kinship.app.power import family_power
from reunite_demo.evaluation import (DEMO_NEXT_RELATIVES, format_what_each_adds, next_relative_rows, undecided_leads,
                                     what_each_adds)
from reunite_demo.synthetic import weak_families


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", type=int, default=2000)
    parser.add_argument("--candidates", type=int, default=20000)
    parser.add_argument("--siblings", type=int, default=None, help="full-sibling families (default half)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--next-relatives", type=int, default=0, metavar="N",
                        help="also the exact power of the first N undecided leads of each kind and of their best next relative")
    args = parser.parse_args()

    params = MatchParameters()
    times = {}
    t = time.perf_counter()
    table = load_frequency_table(params.table_id)
    batch = weak_families(args.families, args.candidates, table, n_sibling_families=args.siblings, seed=args.seed)
    times["draw"] = time.perf_counter() - t

    t = time.perf_counter()
    inputs = match_run.assemble_inputs(batch.genotypes, batch.members)
    eff, _ = match_run.effective_frequencies(inputs, table, floor=params.frequency_floor,
                                             silent_alleles=params.silent_alleles)
    run = match_run.encode_run(inputs, eff, params.mutation_model, theta=params.theta, linkage=params.linkage)
    plan = match_run.plan_run(run, params, force_full=True)
    times["assemble+encode"] = time.perf_counter() - t

    t = time.perf_counter()
    kept = None
    for shard in plan.shards:
        result = match_run.score_shard(run, shard[0], shard[1], k=params.k, threshold=params.threshold)
        kept = streaming.combine_results([r for r in (kept, result) if r is not None], k=params.k)
    matches = match_run.collect_matches(run, [kept], k=params.k, new_candidates=plan.new_candidates,
                                        new_families=plan.new_families)
    times["compile+score+collect"] = time.perf_counter() - t

    t = time.perf_counter()
    with_y, _, y_max = lineage.y_evidence(batch.genotypes, batch.samples, inputs, matches, params.y_str)
    times["y_evidence"] = time.perf_counter() - t
    t = time.perf_counter()
    calibrated = match_run.calibrate(run, with_y, threshold=params.threshold,
                                     max_expected_unrelated=params.max_expected_unrelated, y_max=y_max)
    times["calibrate"] = time.perf_counter() - t
    t = time.perf_counter()
    final = match_run.assess(run, calibrated, prior=params.prior, k=params.k, threshold=params.threshold, y_max=y_max)
    times["assess"] = time.perf_counter() - t

    adds = what_each_adds(final, batch.truth)
    print("  ".join(f"{k} {v:.1f} s" for k, v in times.items()))
    print(f"{len(inputs.families)} families x {len(inputs.candidate_ids)} candidates, {len(final)} reported pairs\n")
    print(format_what_each_adds(adds))
    fo, sib = adds["father only"], adds["siblings"]
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    wall = sum(v for k, v in times.items() if k != "draw")
    unl = "-" if sib["supported_unlinked"] is None else f"{sib['supported_unlinked']}/{sib['false_hits_unlinked']}"
    if args.next_relatives:
        _next_relatives(args.next_relatives, final, inputs, eff, run, params)
    print(f"\n| {args.families} | {args.candidates} | {fo['true_children']} | "
          f"{fo['supported_autosomal']}/{fo['false_hits_autosomal']} | {fo['supported_with_y']}/{fo['false_hits_with_y']} | "
          f"{fo['decided']}/{fo['false_hits_decided']} | {sib['true_children']} | "
          f"{sib['supported_autosomal']}/{sib['false_hits_autosomal']} | {unl} | {sib['supported_with_y']}/{sib['false_hits_with_y']} | "
          f"{sib['decided']}/{sib['false_hits_decided']} | {wall:.1f} | {peak_gb:.2f} |")


def _next_relatives(n: int, matches, inputs, table, run, params) -> None:
    """The exact power of the first ``n`` undecided leads of each kind (best candidate
    inconclusive) and of the relative that helps each most (parents, full sibling)."""
    by_key = {f.key: f for f in inputs.families}
    leads = undecided_leads(matches)
    for kind in ("father only", "siblings"):
        chosen = [k for k in leads if by_key[k].kind == kind][:n]
        if not chosen:
            continue
        t = time.perf_counter()
        results = [family_power(by_key[k], inputs.profiles, table, params.mutation_model, run.loci,
                                n_candidates=len(inputs.candidate_ids), parameters=params,
                                relatives=DEMO_NEXT_RELATIVES, linked=run.linked) for k in chosen]
        rows = next_relative_rows(results)
        seconds = (time.perf_counter() - t) / len(chosen)
        best = Counter(r["next"] for r in rows)
        now = np.mean([r["p_support"] for r in rows])
        then = np.mean([r["p_support_next"] for r in rows if r["next"]])
        print(f"\nnext relative, {kind}: {len([k for k in leads if by_key[k].kind == kind])} undecided leads; "
              f"first {len(chosen)}: mean P(support | true child) {now:.3f} now, {then:.3f} with the best "
              f"relative typed ({dict(best)}); {seconds:.1f} s per family")


if __name__ == "__main__":
    main()
