"""Calibration of every hit at national scale (issue 12): the production ``calibrate`` timed.

Draws a national batch (:func:`reunite_demo.national.national_batch`: families and unrelated
children drawn from the norSTR 2023 East Asia table at the 20 CODIS core loci, default stepwise
mutation model) and keeps its single-parent families (father only, mother only) and its
unrelated children. Real chance hits of such pairs are rare (of order 10^-6 per pair), so the
hits calibrated are random (single-parent family, unrelated child) pairs, each given
``log10_lr = --x`` (default 4, CPI 10,000: the threshold, where the tail is largest and the
pruning weakest), each in a family of its own where there are enough families (no two hits share
a distribution: the worst case); ``--real`` also scores every pair
(:func:`kinship.app.match_run.score_shard`) and appends the pairs at or above the threshold at
their own log10 LR. Then :func:`kinship.app.match_run.calibrate` (the production path: the hit
families compiled a chunk at a time, the next chunk while the kernel runs, one distribution per
family and candidate typing pattern on numba's threads) is timed on all of them. Not in the
timing: drawing and encoding the batch, and the one-off numba JIT compilation (a warm-up call on
a few rows first; cached on disk).

Usage::

    .venv/bin/python benchmarks/bench_calibration.py --hits 100000

Prints the number of hits, the wall and CPU time of ``calibrate``, the time per hit, how many
distributions a national run would need per hit (a family's chance hits ~ Poisson(N p_f) among N
children), and a markdown row for ``benchmarks/README.md``. ``--check N`` also recomputes N tails with the numpy
reference (``calibrate(..., kernel="numpy")``: one hit at a time, the numpy convolution) on an
evenly spaced sample of N hits and prints how many are bit-identical.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

from kinship.app import match_run
from kinship.app.parameters import MatchParameters
from reunite_demo.national import national_batch


def single_parent_run(n_families: int, n_children: int, seed: int, params: MatchParameters):
    """``(run, family indices, candidate indices)``: the encoded run of a national batch's
    single-parent families and unrelated children."""
    batch = national_batch(n_families, n_children, seed=seed, true_fraction=0.0)
    fam = batch.families
    keep = fam.loc[fam.family_kind.isin(["father only", "mother only"]), ["lab", "family_id"]]
    refs = batch.references.merge(keep, on=["lab", "family_id"])
    ref_pos = pd.Index(batch.references.sample_id).get_indexer(refs.sample_id)
    ids = np.concatenate([refs.sample_id.to_numpy(object), batch.children.sample_id.to_numpy(object)])
    roles = np.array(["reference"] * len(refs) + ["candidate"] * len(batch.children), dtype=object)
    alleles = np.concatenate([batch.reference_alleles[ref_pos], batch.child_alleles])
    labels = [np.array(batch.table[l].alleles, dtype=object) for l in batch.loci]
    genotypes = pd.concat([
        pd.DataFrame({"sample_id": ids, "role": roles, "locus": locus,
                      "allele_1": labels[li][alleles[:, li, 0]], "allele_2": labels[li][alleles[:, li, 1]]})
        for li, locus in enumerate(batch.loci)], ignore_index=True).astype(str)
    members = refs[["lab", "family_id", "sample_id", "relationship"]].astype(str)
    inputs = match_run.assemble_inputs(genotypes, members)
    eff, _ = match_run.effective_frequencies(inputs, batch.table, floor=params.frequency_floor,
                                             silent_alleles=params.silent_alleles)
    run = match_run.encode_run(inputs, eff, params.mutation_model, theta=params.theta, linkage=params.linkage)
    return run


def hit_rows(run, n_hits: int, x: float, seed: int) -> pd.DataFrame:
    """``n_hits`` random (family, candidate) pairs at ``log10_lr = x``, in ``collect_matches``'
    order (candidate, then descending LR, lab, family); distinct families where there are
    enough (no two hits share a distribution: the worst case for the calibration)."""
    rng = np.random.default_rng(seed)
    families = run.inputs.families
    f = (rng.choice(len(families), size=n_hits, replace=False) if n_hits <= len(families)
         else rng.integers(0, len(families), size=n_hits))
    c = rng.integers(0, len(run.inputs.candidate_ids), size=n_hits)
    rows = pd.DataFrame({
        "candidate_id": pd.array(np.asarray(run.inputs.candidate_ids, dtype=object)[c], dtype=str),
        "lab": pd.array([families[k].lab for k in f], dtype=str),
        "family_id": pd.array([families[k].family_id for k in f], dtype=str),
        "family_kind": pd.array([families[k].kind for k in f], dtype=str),
        "log10_lr": np.full(n_hits, float(x)),
        "n_inconsistent": np.zeros(n_hits, np.int16),
    })
    return rows.sort_values(["candidate_id", "lab", "family_id"], kind="stable").reset_index(drop=True)


def real_hits(run, params: MatchParameters) -> pd.DataFrame:
    """Every pair at or above the threshold, through the production scoring and collection."""
    from kinship.matching import streaming
    plan = match_run.plan_run(run, params, force_full=True)
    kept = None
    for shard in plan.shards:
        result = match_run.score_shard(run, shard[0], shard[1], k=params.k, threshold=params.threshold)
        kept = streaming.combine_results([r for r in (kept, result) if r is not None], k=params.k)
    matches = match_run.collect_matches(run, [kept], k=params.k)
    return matches[matches.log10_lr >= params.threshold][["candidate_id", "lab", "family_id", "family_kind",
                                                          "log10_lr", "n_inconsistent"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=100_000)
    parser.add_argument("--families", type=int, default=None,
                        help="families drawn (30 %% single parent; default enough for one hit each)")
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--x", type=float, default=4.0, help="log10 LR of the random pairs")
    parser.add_argument("--real", action="store_true", help="also the real pairs at or above the threshold")
    parser.add_argument("--check", type=int, default=0, metavar="N", help="compare N tails (evenly spaced) with the numpy reference")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    params = MatchParameters()
    t = time.perf_counter()
    n_families = args.families or max(10, int(np.ceil(args.hits / 0.3)) + 10)
    run = single_parent_run(n_families, args.children, args.seed, params)
    rows = hit_rows(run, args.hits, args.x, args.seed)
    n_real = 0
    if args.real:
        real = real_hits(run, params)
        n_real = len(real)
        rows = pd.concat([rows, real], ignore_index=True)
    setup = time.perf_counter() - t
    print(f"{len(run.inputs.families)} single-parent families x {len(run.inputs.candidate_ids)} unrelated children; "
          f"{len(rows)} hits ({n_real} real); setup {setup:.1f} s")

    match_run.calibrate(run, rows.iloc[:8], threshold=params.threshold, max_expected_unrelated=None)  # JIT warm-up
    t, cpu = time.perf_counter(), time.process_time()
    out = match_run.calibrate(run, rows, threshold=params.threshold, max_expected_unrelated=None)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    p = out["p_unrelated"].to_numpy(dtype=float)
    n_groups = len(rows.drop_duplicates(["lab", "family_id"]))
    print(f"calibrate: {wall:.2f} s for {len(rows)} hits ({n_groups} families), {1e3 * wall / len(rows):.3f} ms per hit "
          f"(CPU {cpu:.1f} s, {1e3 * cpu / len(rows):.3f} ms per hit, numba threads {_threads()}); "
          f"p_unrelated median {np.nanmedian(p):.3g}, max {np.nanmax(p):.3g}")
    # At national scale a family's chance hits are ~ Poisson(N p_f) (N children, p_f its tail at
    # the threshold): the distributions calibrate computes are the families with a hit.
    for n_children in (10_000, 100_000):
        mean = n_children * p
        print(f"at {n_children} children: {mean.sum() / mean.size:.3f} chance hits per family at x = {args.x:g}, "
              f"{(-np.expm1(-mean)).sum() / mean.sum():.3f} distributions per hit (one per family with a hit)")
    if args.check:  # an evenly spaced sample (the real hits, appended last, included)
        sample = np.unique(np.linspace(0, len(rows) - 1, min(args.check, len(rows))).round().astype(int))
        t = time.perf_counter()
        ref = match_run.calibrate(run, rows.iloc[sample], threshold=params.threshold, max_expected_unrelated=None,
                                  kernel="numpy")["p_unrelated"].to_numpy(dtype=float)
        ref_wall = time.perf_counter() - t
        rel = np.abs(p[sample] - ref) / np.maximum(np.abs(ref), 1e-300)
        print(f"numpy reference on {sample.size} of them: {1e3 * ref_wall / sample.size:.2f} ms per hit; "
              f"{int((p[sample] == ref).sum())}/{sample.size} bit-identical, largest relative difference {rel.max():.3g}")
    load = os.getloadavg()
    print(f"\n| {len(rows)} | {n_real} | {args.x:g} | {wall:.1f} | {1e3 * wall / len(rows):.3f} | "
          f"{cpu:.1f} | {1e3 * cpu / len(rows):.3f} | {load[0]:.2f} |")


def _threads() -> int:
    try:
        import numba
        return numba.get_num_threads()
    except ImportError:  # pragma: no cover - without numba
        return 1


if __name__ == "__main__":
    main()
