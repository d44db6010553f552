"""The compiled calibration kernel against the numpy reference: bit-identical tails.

:mod:`kinship.likelihood.calibration` keeps the numpy implementation (``kernel="numpy"``) as the
reference; the numba kernel must give the same float64 numbers, not merely close ones (the same
bins, the same additions in the same order, numpy's pairwise order for the final sum). Checked on
random distributions (``-inf`` values, zero probabilities, one-value loci, thresholds anywhere),
on grouped hits (one distribution pruned at the lowest threshold, read at each), with a Y-STR
factor, against brute-force enumeration, and through :func:`kinship.app.match_run.calibrate` on a
run with parent, sibling and grandparent families, linked loci, partial and untyped candidates.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from kinship.app import match_run as mr
from kinship.app.parameters import LinkageParameters, MatchParameters
from kinship.io.frequencies import load_bundled_table
from kinship.likelihood import calibration as cal
from kinship.matching.compiler import Family
from tests.simulated import child_of, draw_profile

pytestmark = pytest.mark.skipif(not cal.HAVE_NUMBA, reason="the compiled kernel needs numba")


def _random_loci(rng, n_loci=None, *, h=1e-3):
    """Per-locus (values, probs) like a family's tables: a few high values, many low ones, some
    ``-inf`` (LR 0) and zero probabilities, values often on or next to a grid point."""
    n_loci = int(rng.integers(1, 22)) if n_loci is None else n_loci
    values, probs = [], []
    for _ in range(n_loci):
        n = int(rng.choice([1, 2, 3, 10, 45, 120, 300]))
        v = np.where(rng.random(n) < 0.3, rng.uniform(-0.5, 1.6, n), rng.uniform(-6.0, 0.2, n))
        on_grid = rng.random(n) < 0.2
        v[on_grid] = np.round(v[on_grid] / h) * h  # exactly on (or a rounding error off) a grid point
        v[rng.random(n) < 0.05] = -np.inf
        p = rng.dirichlet(np.ones(n))
        p[rng.random(n) < 0.05] = 0.0
        values.append(v)
        probs.append(p)
    return values, probs


def _brute_tail(values, probs, x, h, up):
    """``P(sum_l k_l h >= x)`` by enumerating every combination, ``k_l`` each value's grid point."""
    target = math.ceil(x / h - 1e-9)
    total = 0.0
    for combo in itertools.product(*[range(v.size) for v in values]):
        vs = [values[l][i] for l, i in enumerate(combo)]
        ps = [probs[l][i] for l, i in enumerate(combo)]
        if not all(np.isfinite(vs)) or min(ps) <= 0:
            continue
        k = sum(math.ceil(v / h - 1e-9) if up else math.floor(v / h + 1e-9) for v in vs)
        if k >= target:
            total += math.prod(ps)
    return total


def test_pairwise_sum_is_numpys_sum_to_the_bit():
    rng = np.random.default_rng(1)
    for n in list(range(0, 300)) + [1000, 4097, 12345, 65536 + 7]:
        a = rng.random(n + 5) * 10.0 ** rng.uniform(-30, 0, n + 5)
        for start in (0, 3):
            assert cal._sum_all(a, start, n) == a[start:start + n].sum()


def test_the_kernel_gives_the_reference_tails_bit_for_bit():
    rng = np.random.default_rng(20261203)
    n_cases = 0
    for _ in range(300):
        values, probs = _random_loci(rng)
        for x in rng.uniform(-20.0, 25.0, 3).tolist() + [0.0, 4.0]:
            h = float(rng.choice([1e-3, 1e-2, 0.5]))
            for up in (True, False):
                ref = cal._tail(values, probs, x, h, up, "numpy")
                assert cal._tail(values, probs, x, h, up, "numba") == ref
                n_cases += 1
    assert n_cases == 300 * 5 * 2


def test_the_kernel_gives_the_reference_distributions_bit_for_bit():
    rng = np.random.default_rng(7)
    for _ in range(200):
        values, probs = _random_loci(rng, int(rng.integers(1, 8)))
        lowest = None if rng.random() < 0.3 else float(rng.uniform(-10, 8))
        for up in (True, False):
            ref = cal.grid_distribution(values, probs, up=up, lowest=lowest, kernel="numpy")
            got = cal.grid_distribution(values, probs, up=up, lowest=lowest, kernel="numba")
            if ref is None:
                assert got is None
                continue
            assert got[0] == ref[0]
            np.testing.assert_array_equal(got[1], ref[1])


def test_a_locus_without_a_finite_value_gives_zero():
    values = [np.array([1.0, 0.5]), np.array([-np.inf, -np.inf])]
    probs = [np.array([0.5, 0.5]), np.array([0.3, 0.7])]
    assert cal.tail_probability(values, probs, -100.0) == 0.0
    assert cal.grid_distribution(values, probs, up=True) is None


def test_the_kernel_brackets_brute_force_enumeration():
    rng = np.random.default_rng(11)
    for _ in range(40):
        values, probs = [], []
        for _ in range(int(rng.integers(1, 5))):
            n = int(rng.integers(1, 6))
            values.append(np.where(rng.random(n) < 0.1, -np.inf, rng.uniform(-2, 1.5, n)))
            probs.append(rng.dirichlet(np.ones(n)))
        x = float(rng.uniform(-3, 3))
        for up in (True, False):
            exact = _brute_tail(values, probs, x, 1e-3, up)
            got = cal._tail(values, probs, x, 1e-3, up, "numba")
            assert got == pytest.approx(exact, rel=1e-12, abs=1e-300)
        lower, upper = cal.tail_bounds(values, probs, x)
        total = sum(math.prod(p[i] for p, i in zip(probs, combo))
                    for combo in itertools.product(*[range(v.size) for v in values])
                    if sum(v[i] for v, i in zip(values, combo)) >= x)
        assert lower <= total * (1 + 1e-12) + 1e-300 and total <= upper * (1 + 1e-12) + 1e-300


def test_grouped_hits_read_each_tail_from_one_distribution_bit_for_bit():
    """Hits sharing a row (a family, a typing pattern): the distribution is pruned at the lowest
    threshold, and each hit's tail read from it is the tail computed alone."""
    rng = np.random.default_rng(3)
    n_rows, n_loci = 12, 20
    sizes = [int(s) for s in rng.choice([10, 45, 120], n_loci)]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    probs = np.concatenate([rng.dirichlet(np.ones(s)) for s in sizes])
    values = np.where(rng.random((n_rows, starts[-1])) < 0.25, rng.uniform(-0.3, 1.5, (n_rows, starts[-1])),
                      rng.uniform(-5, 0.0, (n_rows, starts[-1])))
    values[rng.random(values.shape) < 0.02] = -np.inf
    group = np.concatenate([rng.integers(0, n_rows, 60), [0, 0, 0]])
    x = np.concatenate([rng.uniform(-2.0, 14.0, 60), [3.0, 3.0005, 40.0]])  # one out of reach
    got = cal.tail_probabilities(values, probs, starts, x, group)
    ref = cal.tail_probabilities(values, probs, starts, x, group, kernel="numpy")
    one = [cal.tail_probability([values[g, a:b] for a, b in zip(starts[:-1], starts[1:])],
                                [probs[a:b] for a, b in zip(starts[:-1], starts[1:])], float(v), kernel="numpy")
           for g, v in zip(group, x)]
    np.testing.assert_array_equal(ref, one)
    np.testing.assert_array_equal(got, ref)
    assert got[-1] == 0.0 and (got[:-1] > 0).all()
    # a tail never rises with the threshold
    for g in range(n_rows):
        mine = np.flatnonzero(group == g)
        order = mine[np.argsort(x[mine])]
        assert (np.diff(got[order]) <= 0).all()


def test_tail_probabilities_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="expected values"):
        cal.tail_probabilities(np.zeros((2, 3)), np.ones(2), np.array([0, 3]), np.zeros(1), np.zeros(1, int))
    with pytest.raises(ValueError, match="groups in"):
        cal.tail_probabilities(np.zeros((2, 3)), np.ones(3), np.array([0, 3]), np.zeros(1), np.array([2]))
    with pytest.raises(ValueError, match="kernel"):
        cal.tail_probability([np.zeros(1)], [np.ones(1)], 0.0, kernel="fft")


def test_the_y_factor_bound_is_the_reference_bit_for_bit():
    rng = np.random.default_rng(5)
    for _ in range(40):
        values, probs = _random_loci(rng)
        x, y_max = float(rng.uniform(0, 12)), float(rng.choice([0.0, 1.3, 4.0, 7.5]))
        ref = cal.tail_probability_with_factor(values, probs, x, y_max, kernel="numpy")
        assert cal.tail_probability_with_factor(values, probs, x, y_max, kernel="numba") == ref


# --- through the match run ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_and_hits():
    """Parent, single-parent, sibling and grandparent families, linked loci; unrelated
    candidates, one partial at vWA, one untyped at D12S391, one typed at four loci only; every
    (family, candidate) pair a hit, each family at several thresholds, some with a Y-STR LR."""
    rng = np.random.default_rng(20261203)
    table = load_bundled_table()
    loci = ("CSF1PO", "D12S391", "D5S818", "D8S1179", "TH01", "TPOX", "vWA", "FGA")
    profiles, families = {}, []
    kinds = [dict(father=True), dict(mother=True), dict(father=True, mother=True),
             dict(others=("full_sibling",)), dict(others=("paternal_grandfather",))]
    for i, kind in enumerate(kinds * 2):
        f, m = draw_profile(rng, table, loci), draw_profile(rng, table, loci)
        sid = f"R-{i}"
        if "others" in kind:
            profiles[f"{sid}-o"] = child_of(rng, f, m)
            families.append(Family("L", f"F-{i:02d}", others=((f"{sid}-o", kind["others"][0]),)))
            continue
        if kind.get("father"):
            profiles[f"{sid}-f"] = f
        if kind.get("mother"):
            profiles[f"{sid}-m"] = m
        families.append(Family("L", f"F-{i:02d}", father=f"{sid}-f" if kind.get("father") else None,
                               mother=f"{sid}-m" if kind.get("mother") else None))
    candidates = [f"U-{i:02d}" for i in range(12)]
    for c in candidates:
        profiles[c] = draw_profile(rng, table, loci)
    profiles["U-00"] = {**profiles["U-00"], "vWA": (profiles["U-00"]["vWA"][0], "?")}
    profiles["U-01"] = {l: g for l, g in profiles["U-01"].items() if l != "D12S391"}
    profiles["U-02"] = {l: g for l, g in profiles["U-02"].items() if l in loci[:4]}
    refs = sorted(s for s in profiles if s not in candidates)
    inputs = mr.MatchInputs(profiles, tuple(refs), tuple(candidates), tuple(families))
    params = MatchParameters()
    eff, _ = mr.effective_frequencies(inputs, table, floor=params.frequency_floor)
    run = mr.encode_run(inputs, eff, params.mutation_model, theta=params.theta, linkage=LinkageParameters())
    pairs = [(c, f, x) for c in candidates for f in families for x in (0.5, 2.0)]
    pairs += [("U-03", families[0], float(x)) for x in rng.uniform(-3, 6, 6)]  # one family, many thresholds
    hits = pd.DataFrame({
        "candidate_id": pd.array([c for c, _, _ in pairs], dtype=str),
        "lab": pd.array([f.lab for _, f, _ in pairs], dtype=str),
        "family_id": pd.array([f.family_id for _, f, _ in pairs], dtype=str),
        "family_kind": pd.array([f.kind for _, f, _ in pairs], dtype=str),
        "log10_lr": np.array([x for _, _, x in pairs]),
        "n_inconsistent": np.zeros(len(pairs), np.int16),
    })
    hits["log10_lr_y"] = pd.array(np.where(rng.random(len(pairs)) < 0.2, rng.uniform(-1, 3, len(pairs)), np.nan),
                                  dtype="Float64")
    y_max = rng.uniform(0, 5, len(candidates))
    assert run.linked and run.linked_families.any() and not run.linked_families.all()
    return run, hits, y_max


def test_calibrate_gives_the_reference_tails_bit_for_bit(run_and_hits):
    run, hits, y_max = run_and_hits
    fast = mr.calibrate(run, hits, threshold=0.0, max_expected_unrelated=1.0, y_max=y_max)
    ref = mr.calibrate(run, hits, threshold=0.0, max_expected_unrelated=1.0, y_max=y_max, kernel="numpy")
    p = fast["p_unrelated"].to_numpy(dtype=float)
    hit = (hits["log10_lr"].to_numpy() >= 0) | (mr.combined_log10_lr(hits)[1] >= 0)
    assert np.isfinite(p[hit]).all() and np.isnan(p[~hit]).all() and (p[hit] > 0).any()
    assert (~hits["log10_lr_y"].isna() & hit).any()
    pd.testing.assert_frame_equal(fast, ref, check_exact=True)
    np.testing.assert_array_equal(p, ref["p_unrelated"].to_numpy(dtype=float))


def test_calibrate_in_chunks_of_two_families_is_the_same(run_and_hits, monkeypatch):
    run, hits, y_max = run_and_hits
    whole = mr.calibrate(run, hits, threshold=0.0, max_expected_unrelated=None, y_max=y_max)
    monkeypatch.setattr(mr, "POST_SHARD_FAMILIES", 2)
    monkeypatch.setattr(mr, "_CALIBRATION_BATCH", 3)
    monkeypatch.setattr(mr, "_CALIBRATION_BATCH_BYTES", 8 * 2000)  # fewer still for the linked families
    pd.testing.assert_frame_equal(mr.calibrate(run, hits, threshold=0.0, max_expected_unrelated=None, y_max=y_max), whole,
                                  check_exact=True)


def test_calibrate_rejects_an_unknown_kernel_and_an_unknown_family(run_and_hits):
    run, hits, y_max = run_and_hits
    with pytest.raises(ValueError, match="kernel"):
        mr.calibrate(run, hits, threshold=0.0, max_expected_unrelated=None, y_max=y_max, kernel="fft")
    bad = hits.iloc[:1].assign(family_id="no such family")
    with pytest.raises(KeyError, match="no such family"):
        mr.calibrate(run, bad, threshold=0.0, max_expected_unrelated=None, y_max=y_max)
