"""Database-aware posteriors and joint assignment against direct Bayes and brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kinship.matching.assignment import joint_assignment
from kinship.matching.posterior import database_posteriors


def _direct(lr_row: np.ndarray, pi0: float) -> tuple[np.ndarray, float]:
    """Bayes over N families + not on file, every LR known."""
    w = (1 - pi0) / lr_row.size
    d = pi0 + w * lr_row.sum()
    return w * lr_row / d, pi0 / d


def test_all_kept_is_direct_bayes_and_sums_to_one():
    rng = np.random.default_rng(1)
    log10 = rng.normal(0, 2, size=(3, 5))
    c, f = np.nonzero(np.ones_like(log10, dtype=bool))
    p = database_posteriors(log10[c, f], c, f, n_owners=3, n_partners=5, log10_bound=np.zeros(3),
                            prior_not_on_file=0.3)
    for i in range(3):
        want, none = _direct(10 ** log10[i], 0.3)
        np.testing.assert_allclose(p.posterior[c == i], want, rtol=1e-13)
        np.testing.assert_allclose(p.lower[c == i], want, rtol=1e-13)  # nothing left out: no gap
        assert p.not_on_file[i] == pytest.approx(none, rel=1e-13)
        assert p.posterior[c == i].sum() + p.not_on_file[i] == pytest.approx(1.0, rel=1e-13)


def test_rest_at_expectation_and_at_bound():
    # 1 candidate, 1000 families, 3 kept; the other 997 below the bound 10^0.5: they enter at 1
    # each (their expectation) for the posterior, at 10^0.5 each for the lower bound.
    kept = np.array([4.0, 1.0, 0.5])
    p = database_posteriors(kept, np.zeros(3, int), np.arange(3), n_owners=1, n_partners=1000,
                            log10_bound=np.array([0.5]), prior_not_on_file=0.5)
    w = 0.5 / 1000
    d = 0.5 + w * (10 ** kept).sum() + w * 997
    d_bound = 0.5 + w * (10 ** kept).sum() + w * 997 * 10 ** 0.5
    np.testing.assert_allclose(p.posterior, w * 10 ** kept / d, rtol=1e-13)
    np.testing.assert_allclose(p.lower, w * 10 ** kept / d_bound, rtol=1e-13)
    assert p.not_on_file[0] == pytest.approx(0.5 / d, rel=1e-13)


def test_a_bound_below_one_caps_the_expectation():
    # every pair left out is below 10^-0.5: the rest is at most 997 x 10^-0.5, so the posterior
    # takes that (an expectation of 1 each is impossible) and equals its lower bound.
    kept = np.array([4.0, 1.0, -0.5])
    p = database_posteriors(kept, np.zeros(3, int), np.arange(3), n_owners=1, n_partners=1000,
                            log10_bound=np.array([-0.5]), prior_not_on_file=0.5)
    w = 0.5 / 1000
    d = 0.5 + w * (10 ** kept).sum() + w * 997 * 10 ** -0.5
    np.testing.assert_allclose(p.posterior, w * 10 ** kept / d, rtol=1e-13)
    assert p.lower.tobytes() == p.posterior.tobytes()


def test_lower_is_a_sure_bound_on_the_true_posterior():
    rng = np.random.default_rng(7)
    n_c, n_f, k = 4, 40, 5
    log10 = rng.normal(-1, 1.5, size=(n_c, n_f))
    rows, cols, bound = [], [], []
    for i in range(n_c):
        top = np.argsort(-log10[i], kind="stable")[:k]
        rows += [i] * k
        cols += top.tolist()
        bound.append(log10[i, top].min())
    rows, cols = np.array(rows), np.array(cols)
    p = database_posteriors(log10[rows, cols], rows, cols, n_owners=n_c, n_partners=n_f,
                            log10_bound=np.array(bound), prior_not_on_file=0.5)
    for i in range(n_c):
        true, _ = _direct(10 ** log10[i], 0.5)
        assert np.all(p.lower[rows == i] <= true[cols[rows == i]] * (1 + 1e-12))


def test_order_of_pairs_does_not_change_a_byte():
    rng = np.random.default_rng(3)
    log10 = rng.normal(0, 3, size=50)
    c = rng.integers(0, 5, 50)
    f = np.arange(50)
    args = dict(n_owners=5, n_partners=60, log10_bound=np.full(5, -1.0), prior_not_on_file=0.5)
    a = database_posteriors(log10, c, f, **args)
    perm = rng.permutation(50)
    b = database_posteriors(log10[perm], c[perm], f[perm], **args)
    assert a.posterior.tobytes() == b.posterior[np.argsort(perm)].tobytes()


def test_bad_prior_refused():
    with pytest.raises(ValueError, match="prior_not_on_file"):
        database_posteriors(np.zeros(1), np.zeros(1, int), np.zeros(1, int), n_owners=1, n_partners=1,
                            log10_bound=np.zeros(1), prior_not_on_file=1.0)


def _brute_joint(cand, fam, log10_w, log10_none, n_missing):
    """Sum over every subset of pairs that is a valid assignment."""
    cand_ids = sorted(set(cand.tolist()))
    total, with_edge = 0.0, np.zeros(cand.size)
    for mask in itertools.product([0, 1], repeat=cand.size):
        m = np.array(mask, bool)
        if np.unique(cand[m]).size < m.sum():
            continue
        if any(np.count_nonzero(fam[m] == f) > n_missing[f] for f in set(fam.tolist())):
            continue
        weight = 10 ** log10_w[m].sum() * np.prod([10 ** log10_none[c] for c in cand_ids if c not in cand[m]])
        total += weight
        with_edge[m] += weight
    return with_edge / total


@pytest.mark.parametrize("seed", range(6))
def test_joint_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_c, n_f = 4, 3
    pairs = [(c, f) for c in range(n_c) for f in range(n_f) if rng.random() < 0.6]
    cand = np.array([c for c, _ in pairs])
    fam = np.array([f for _, f in pairs])
    log10_w = rng.normal(0, 1.5, cand.size)
    log10_none = rng.normal(0, 1, n_c)
    n_missing = rng.integers(1, 3, n_f)
    j = joint_assignment(cand, fam, log10_w, log10_none, n_missing)
    for g in np.unique(j.group):
        rows = j.group == g
        want = _brute_joint(cand[rows], fam[rows], log10_w[rows], log10_none, n_missing)
        np.testing.assert_allclose(j.posterior[rows], want, rtol=1e-12)
    assert j.exact.all()


def test_unconstrained_group_is_the_candidate_side_posterior():
    # one pair per candidate, distinct families: the constraint binds nothing
    j = joint_assignment(np.array([0, 1]), np.array([0, 1]), np.array([3.0, -1.0]), np.array([0.5, 0.2]),
                         np.array([1, 1]))
    np.testing.assert_allclose(j.posterior, [10**3 / (10**3 + 10**0.5), 10**-1 / (10**-1 + 10**0.2)], rtol=1e-13)
    assert not j.conflict.any() and j.group.tolist() == [1, 2]


def test_two_missing_children_take_two_candidates():
    # a family declaring two missing children: both candidates can be assigned at once
    one = joint_assignment(np.array([0, 1]), np.array([0, 0]), np.array([2.0, 2.0]), np.zeros(2), np.array([1]))
    two = joint_assignment(np.array([0, 1]), np.array([0, 0]), np.array([2.0, 2.0]), np.zeros(2), np.array([2]))
    np.testing.assert_allclose(one.posterior, [100 / 201, 100 / 201], rtol=1e-13)
    np.testing.assert_allclose(two.posterior, [100 / 101, 100 / 101], rtol=1e-13)
    assert one.conflict.all() and not two.conflict.any()


def test_past_the_limit_the_bound_holds_and_is_marked():
    rng = np.random.default_rng(11)
    cand = np.repeat(np.arange(4), 3)
    fam = np.tile(np.arange(3), 4)
    log10_w = rng.normal(0, 1, 12)
    log10_none = rng.normal(0, 1, 4)
    n_missing = np.ones(3, int)
    exact = joint_assignment(cand, fam, log10_w, log10_none, n_missing)
    capped = joint_assignment(cand, fam, log10_w, log10_none, n_missing, max_assignments=5)
    assert exact.exact.all() and not capped.exact.any() and capped.conflict.all()
    assert np.all(exact.posterior <= capped.posterior * (1 + 1e-12))
    np.testing.assert_allclose(capped.posterior, 10**log10_w / (10**log10_w + 10**log10_none[cand]), rtol=1e-13)
