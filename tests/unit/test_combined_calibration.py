"""The tail of an autosomal LR times a Y-STR factor known only by its mean and maximum, against a
linear programme over the factor's distribution, and against the exact tail of a known factor."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from kinship.likelihood.calibration import tail_probability, tail_probability_with_factor


def _lp_bound(values, probs, x, y_max, y_grid):
    """max_p sum_j p_j P(A >= x - y_j) s.t. sum p = 1, sum p 10^y <= 1, p >= 0, y on a fine grid
    (plus y = -inf): the supremum the function bounds, computed by linprog."""
    g = np.array([tail_probability(values, probs, x - y, h=1e-4) for y in y_grid] + [0.0])
    t = np.concatenate([10.0 ** y_grid, [0.0]])
    res = linprog(-g, A_ub=t[None, :], b_ub=[1.0], A_eq=np.ones((1, g.size)), b_eq=[1.0], bounds=(0, None),
                  method="highs")
    assert res.success
    return -res.fun


@pytest.mark.parametrize("x", [2.0, 3.5, 5.0])
def test_the_bound_is_the_linear_programme_optimum(x):
    rng = np.random.default_rng(int(x * 10))
    values = [rng.normal(-0.3, 0.8, 6) for _ in range(3)]
    probs = [p / p.sum() for p in (rng.random(6) for _ in range(3))]
    y_max = 4.0
    bound = tail_probability_with_factor(values, probs, x, y_max, h=1e-4, step=0.01)
    lp = _lp_bound(values, probs, x, y_max, np.linspace(-4, y_max, 801))
    assert lp <= bound * (1 + 1e-9)  # never below the supremum
    assert bound <= lp * 1.05 + 1e-12  # and close to it (grid of 0.01 in y: at most 10^0.01 - 1 = 2.3 %)


def test_a_known_factor_of_unit_mean_is_below_the_bound():
    # Y: LR 1000 with probability 1/2000, else 0.5 - any such factor has E[10^Y] <= 1
    rng = np.random.default_rng(3)
    values = [rng.normal(0, 1, 8) for _ in range(4)]
    probs = [np.full(8, 1 / 8)] * 4
    y_values, y_probs = np.array([3.0, np.log10(0.5)]), np.array([1 / 2000, 1 - 1 / 2000])
    assert (10 ** y_values * y_probs).sum() <= 1
    for x in (1.0, 3.0, 6.0):
        exact = tail_probability(values + [y_values], probs + [y_probs], x)
        assert exact <= tail_probability_with_factor(values, probs, x, 3.0) * (1 + 1e-12)


def test_no_factor_room_is_the_plain_tail():
    values, probs = [np.array([2.0, -1.0, 0.5])], [np.array([0.1, 0.6, 0.3])]
    for x in (-1.0, 0.5, 2.0, 3.0):
        assert tail_probability_with_factor(values, probs, x, 0.0) == tail_probability(values, probs, x)
