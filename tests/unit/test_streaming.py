"""Streamed top-k matching, incremental runs and calibration against the full-matrix reference."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from kinship.app import match_run as mr
from kinship.app.parameters import MatchParameters
from kinship.genetics.alleles import allele_sort_key
from kinship.likelihood.calibration import tail_bounds
from kinship.io.frequencies import load_bundled_table
from kinship.matching.reference import score_all_pairs
from kinship.matching.streaming import HAVE_NUMBA, score_shard
from tests.reference_run import compile_run, rank_matches

K = 3
THRESHOLD = -2.0  # low, so that many pairs are "hits" and the hit path is exercised


@pytest.fixture(scope="module")
def profiles():
    g = pd.read_csv("kinship/data/genotypes/kgp_codis18_east_asia.csv", dtype=str)
    g = g.rename(columns={"sample": "sample_id", "allele1": "allele_1", "allele2": "allele_2"})
    pairs = [sorted(p, key=allele_sort_key) for p in zip(g.allele_1, g.allele_2)]
    g["allele_1"] = [p[0] for p in pairs]
    g["allele_2"] = [p[1] for p in pairs]
    ids = sorted(g.sample_id.unique())
    refs = ids[:150]
    g["role"] = np.where(g.sample_id.isin(refs), "reference", "candidate")
    members = pd.DataFrame({
        "lab": "L",
        "family_id": [f"F{i // 2:03d}" if i < 100 else f"S{i:03d}" for i in range(150)],
        "sample_id": refs,
        "relationship": ["father", "mother"] * 75,
    })
    return g[["sample_id", "role", "locus", "allele_1", "allele_2"]], members


def _run(genotypes, members, params, **plan_kw):
    inputs = mr.assemble_inputs(genotypes, members)
    table, _ = mr.effective_frequencies(inputs, load_bundled_table(), floor=params.frequency_floor)
    run = mr.encode_run(inputs, table, params.mutation_model, theta=params.theta)
    plan = mr.plan_run(run, params, **plan_kw)
    results = [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold) for f, c in plan.shards]
    results += [plan.previous] if plan.previous else []
    matches = mr.collect_matches(run, results, k=params.k, new_candidates=plan.new_candidates, new_families=plan.new_families)
    return run, plan, matches


def test_streamed_pairs_equal_the_full_matrix(profiles):
    params = MatchParameters(k=K, threshold=THRESHOLD, shard_size=17)
    run, plan, streamed = _run(*profiles, params)
    inputs = run.inputs
    compiled = compile_run(inputs, run.table, params.mutation_model, theta=params.theta)
    full = rank_matches(compiled, score_all_pairs(compiled.family_tables_all, compiled.candidate_genotypes),
                        prior=params.prior)
    expected = full[(full.rank_for_candidate <= K) | (full.rank_for_family <= K) | (full.log10_lr >= THRESHOLD)]
    assert len(streamed) == len(expected) > 0
    both = streamed.merge(full, on=["candidate_id", "lab", "family_id"], suffixes=("", "_ref"))
    assert (both.log10_lr.to_numpy() == both.log10_lr_ref.to_numpy()).all()  # bit-identical
    for col in ("rank_for_candidate", "rank_for_family"):
        kept = both[col].notna()
        assert (both.loc[kept, col].astype(int) == both.loc[kept, col + "_ref"]).all()
        assert (both.loc[~kept, col + "_ref"] > K).all()
    assert (both.n_inconsistent == both.n_inconsistent_ref).all()
    assert (both.n_loci_compared == both.n_loci_compared_ref).all()
    assert plan.kind == "full" and streamed.is_new.all()


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed: only the numpy kernel exists")
def test_numba_and_numpy_kernels_agree(profiles):
    params = MatchParameters()
    inputs = mr.assemble_inputs(*profiles)
    table, _ = mr.effective_frequencies(inputs, load_bundled_table(), floor=params.frequency_floor)
    run = mr.encode_run(inputs, table, params.mutation_model, theta=params.theta)
    tables = run.family_tables(slice(0, 40))
    a = score_shard(tables, run.candidate_genotypes, k=4, threshold=-5.0, use_numba=True)
    b = score_shard(tables, run.candidate_genotypes, k=4, threshold=-5.0, use_numba=False)
    for part in ("candidate_best", "family_best", "hits"):
        x, y = getattr(a, part), getattr(b, part)
        ox = np.lexsort((x.family, x.candidate))
        oy = np.lexsort((y.family, y.candidate))
        assert np.array_equal(x.candidate[ox], y.candidate[oy]) and np.array_equal(x.family[ox], y.family[oy])
        assert np.array_equal(x.score[ox], y.score[oy])



@pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed: only the numpy kernel exists")
def test_int16_screen_keeps_what_the_float64_kernel_keeps_on_real_families(profiles):
    """Real compiled families (mutation on, exclusions as -inf, partial and untyped loci): the
    screened kernel's kept set and scores equal the plain float64 kernel's and the full matrix's."""
    inputs = mr.assemble_inputs(*profiles)
    cases = []
    for params in (MatchParameters(), MatchParameters(mutation={"model": "none"})):  # no mutation: -inf
        table, _ = mr.effective_frequencies(inputs, load_bundled_table(), floor=params.frequency_floor)
        run = mr.encode_run(inputs, table, params.mutation_model, theta=params.theta)
        tables = run.family_tables(slice(0, len(run.inputs.families)))
        S = score_all_pairs(tables, run.candidate_genotypes).log10_lr
        cases += [(run, tables, S, k, threshold) for k, threshold in ((1, 4.0), (3, 0.0), (10, -5.0))]
    assert np.isneginf(cases[-1][2]).any() and np.isfinite(cases[-1][2]).any()
    for run, tables, S, k, threshold in cases:
        stats = {}
        a = score_shard(tables, run.candidate_genotypes, k=k, threshold=threshold, stats=stats)
        b = score_shard(tables, run.candidate_genotypes, k=k, threshold=threshold, screen=False)
        for part in ("candidate_best", "family_best", "hits"):
            x, y = getattr(a, part), getattr(b, part)
            ox, oy = np.lexsort((x.family, x.candidate)), np.lexsort((y.family, y.candidate))
            assert np.array_equal(x.candidate[ox], y.candidate[oy]) and np.array_equal(x.family[ox], y.family[oy])
            assert x.score[ox].tobytes() == y.score[oy].tobytes() == S[x.candidate[ox], x.family[ox]].tobytes()
        assert len(a.hits) == int((S >= threshold).sum())
        if np.isfinite(S).all():  # mutation on: the screen skips most pairs
            assert stats["rescored"] < 0.4 * stats["pairs"]
        else:  # without mutation most entries are exclusions: the float64 kernel runs
            assert stats == {}

def test_incremental_run_equals_a_full_rematch_byte_for_byte(profiles):
    genotypes, members = profiles
    params = MatchParameters(k=K, threshold=THRESHOLD, shard_size=17)
    # First run: 2/3 of the candidates and the first 60 families.
    cands = sorted(genotypes[genotypes.role == "candidate"].sample_id.unique())
    first_members = members[members.family_id.isin(sorted(members.family_id.unique())[:60])]
    first_refs = set(first_members.sample_id)
    first_geno = genotypes[genotypes.sample_id.isin(set(cands[: 2 * len(cands) // 3]) | first_refs)]
    run1, plan1, matches1 = _run(first_geno, first_members, params)
    previous = {
        "run_id": "r1", "code_version": mr.kinship.code_version(),
        "freq_table_hash": mr.table_hash(run1.table), "parameters": mr._json_roundtrip(params.as_dict()),
    }
    prev_inputs = mr.entity_hashes(run1.inputs)
    # Everything: incremental from the first run, and a forced full re-match.
    run2, plan2, incremental = _run(genotypes, members, params, previous=previous,
                                    previous_inputs=prev_inputs, previous_matches=matches1)
    _, plan3, full = _run(genotypes, members, params, previous=previous, previous_inputs=prev_inputs,
                          previous_matches=matches1, force_full=True)
    assert plan2.kind == "incremental" and plan3.kind == "full"
    scored = sum(len(f) * len(c) for f, c in plan2.shards)
    assert scored < len(run2.inputs.candidate_ids) * len(run2.inputs.families)
    assert incremental.to_csv(index=False) == full.to_csv(index=False)
    assert 0 < incremental.is_new.sum() < len(incremental)


def test_a_new_allele_changes_the_table_and_forces_a_full_run(profiles):
    genotypes, members = profiles
    params = MatchParameters(k=K, threshold=THRESHOLD, shard_size=17)
    run1, _, matches1 = _run(genotypes, members, params)
    previous = {"run_id": "r1", "code_version": mr.kinship.code_version(),
                "freq_table_hash": mr.table_hash(run1.table), "parameters": mr._json_roundtrip(params.as_dict())}
    prev_inputs = mr.entity_hashes(run1.inputs)
    newcomer = pd.DataFrame({"sample_id": "ZZ-NEW", "role": "candidate", "locus": ["TH01", "FGA"],
                             "allele_1": ["13.3", "22"], "allele_2": ["13.3", "24"]})
    _, plan, _ = _run(pd.concat([genotypes, newcomer]), members, params, previous=previous,
                      previous_inputs=prev_inputs, previous_matches=matches1)
    assert plan.kind == "full" and plan.reason == "effective frequency table changed"
    _, same, _ = _run(genotypes, members, params, previous=previous, previous_inputs=prev_inputs, previous_matches=matches1)
    assert same.kind == "incremental" and same.shards == []


def test_calibration_brackets_brute_force_enumeration():
    rng = np.random.default_rng(3)
    values = [rng.normal(0, 1.5, 6) for _ in range(4)]
    values[1][2] = -np.inf
    probs = [rng.dirichlet(np.ones(6)) for _ in range(4)]
    for x in (-1.0, 0.0, 2.0, 4.0, 6.5):
        exact = sum(
            np.prod([probs[l][g[l]] for l in range(4)])
            for g in itertools.product(range(6), repeat=4)
            if sum(values[l][g[l]] for l in range(4)) >= x
        )
        lower, upper = tail_bounds(values, probs, x)
        assert lower <= exact * (1 + 1e-12) and exact <= upper * (1 + 1e-12)
        assert upper - lower < 0.01


def test_calibrated_hits_carry_tail_probabilities(profiles):
    params = MatchParameters(k=K, threshold=THRESHOLD, shard_size=17)
    run, _, matches = _run(*profiles, params)
    cal = mr.calibrate(run, matches, threshold=1.0, max_expected_unrelated=params.max_expected_unrelated)
    hit = cal.log10_lr >= 1.0
    assert cal.loc[hit, "p_unrelated"].between(0, 1).all() and cal.loc[~hit, "p_unrelated"].isna().all()
    # P(LR >= x | unrelated) <= 1/x (Markov, since E[LR | unrelated] = 1).
    assert (cal.loc[hit, "p_unrelated"] <= 10.0 ** -cal.loc[hit, "log10_lr"] * 1.01).all()
    n = len(run.inputs.candidate_ids)
    assert np.allclose(cal.loc[hit, "expected_unrelated"], cal.loc[hit, "p_unrelated"] * n)


def test_posteriors_after_database_size_streamed_and_reference(profiles):
    """With every pair kept (k >= families and candidates) the streamed posteriors are the exact
    ones of the full matrix, byte for byte; with a small k they take the pairs left out at their
    expectation, and posterior_lower stays at or below the exact value."""
    genotypes, members = profiles
    small = MatchParameters(k=K, threshold=THRESHOLD, shard_size=17)
    run, _, streamed = _run(genotypes, members, small)
    n_c, n_f = len(run.inputs.candidate_ids), len(run.inputs.families)
    compiled = compile_run(run.inputs, run.table, small.mutation_model, theta=small.theta)
    full = rank_matches(compiled, score_all_pairs(compiled.family_tables_all, compiled.candidate_genotypes),
                        prior=small.prior)
    # exact: every candidate's posteriors and "not on file" sum to 1
    sums = full.groupby("candidate_id").posterior.sum()
    assert ((sums > 0.0) & (sums < 1.0)).all()

    big = MatchParameters(k=max(n_c, n_f), threshold=THRESHOLD, shard_size=17)
    _, _, every = _run(genotypes, members, big)
    every = mr.assess(run, mr.calibrate(run, every, threshold=THRESHOLD, max_expected_unrelated=None),
                      prior=big.prior, k=big.k, threshold=THRESHOLD)
    both = every.merge(full, on=["candidate_id", "lab", "family_id"], suffixes=("", "_ref"))
    assert len(both) == n_c * n_f
    for col in ("posterior", "family_posterior"):
        assert both[col].to_numpy().tobytes() == both[col + "_ref"].to_numpy().tobytes()
        assert (both[col + "_lower"].to_numpy() == both[col].to_numpy()).all()  # nothing left out

    few = mr.assess(run, mr.calibrate(run, streamed, threshold=THRESHOLD, max_expected_unrelated=None),
                    prior=small.prior, k=small.k, threshold=THRESHOLD)
    part = few.merge(full, on=["candidate_id", "lab", "family_id"], suffixes=("", "_ref"))
    assert (part.posterior_lower <= part.posterior_ref * (1 + 1e-12)).all()
    assert (part.family_posterior_lower <= part.family_posterior_ref * (1 + 1e-12)).all()
    assert list(few.columns) == list(mr.MATCHES_COLUMNS)
