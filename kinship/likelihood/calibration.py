"""Calibration of hits: how often would an unrelated child reach this LR against this family?

Under H2 the candidate is unrelated to the family, so its genotypes at independent loci are
independent Hardy-Weinberg draws, and its log10 LR against the family is the sum over loci of
the family's table values ``T_l(G_l)``. The distribution of that sum is the convolution of
the per-locus distributions (value ``T_l(g)`` with probability ``P(g)``): no simulation is
needed (Kruijver M, 2015, "Efficient computations with the likelihood ratio distribution",
FSI:Genetics 14:116-124, computes such distributions by convolution over loci).

Numerics: the values are put on a grid of width ``h`` (default 0.001 log10 units). Rounding
every value *up* gives a sum that is never smaller than the true one, so the tail mass on the
grid is an **upper bound** on ``P(log10 LR >= x | H2)``; rounding down gives a lower bound (the
two differ by the mass within ``n_loci * h`` of ``x``). The convolution is done directly (no
FFT), so tail probabilities of 1e-30 keep full relative precision, and partial sums that can no
longer reach ``x`` (even with the best values of the remaining loci) are dropped as they appear,
which is exact and keeps the arrays short.

The expected number of unrelated candidates at or above ``x`` in a database of ``N``
candidates is ``N * P(log10 LR >= x | H2)``; a hit is well calibrated when that number is small
(the report shows it next to every hit).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["DEFAULT_GRID", "grid_distribution", "tail_probability", "tail_bounds", "tail_probability_with_factor"]

DEFAULT_GRID = 1e-3


def _locus_bins(values: np.ndarray, probs: np.ndarray, h: float, up: bool):
    finite = np.isfinite(values) & (probs > 0)
    if not finite.any():
        return None
    scaled = values[finite] / h
    k = np.ceil(scaled - 1e-9) if up else np.floor(scaled + 1e-9)
    k = k.astype(np.int64)
    lo = int(k.min())
    dense = np.bincount(k - lo, weights=probs[finite])
    return lo, dense


def _pruned_distribution(values_by_locus, probs_by_locus, x: float | None, h: float, up: bool):
    """``(lo, dist)``: the grid distribution of the sum, exact at every grid point >= ``x`` (lower
    partial sums that can not reach ``x`` are dropped as they appear; ``x = None``: nothing is
    dropped); None when nothing can."""
    loci = []
    for values, probs in zip(values_by_locus, probs_by_locus):
        b = _locus_bins(np.asarray(values, dtype=np.float64), np.asarray(probs, dtype=np.float64), h, up)
        if b is None:  # every genotype excluded: LR 0 for any unrelated candidate
            return None
        loci.append(b)
    target = None if x is None else math.ceil(x / h - 1e-9)
    max_after = np.cumsum([lo + d.size - 1 for lo, d in loci][::-1])[::-1].tolist() + [0]
    lo, dist = 0, np.ones(1)
    for j, (l_lo, l_dense) in enumerate(loci):
        new = np.zeros(dist.size + l_dense.size - 1)
        for off in np.nonzero(l_dense)[0]:
            new[off:off + dist.size] += l_dense[off] * dist
        lo, dist = lo + l_lo, new
        if target is None:
            continue
        # Drop partial sums that can not reach the target even with the best remaining loci.
        cut = target - max_after[j + 1] - lo
        if cut > 0:
            if cut >= dist.size:
                return None
            lo, dist = lo + cut, dist[cut:]
    return lo, dist


def _tail(values_by_locus, probs_by_locus, x: float, h: float, up: bool) -> float:
    pruned = _pruned_distribution(values_by_locus, probs_by_locus, x, h, up)
    if pruned is None:
        return 0.0
    lo, dist = pruned
    start = math.ceil(x / h - 1e-9) - lo
    if start <= 0:
        return float(min(1.0, dist.sum()))
    return float(dist[start:].sum()) if start < dist.size else 0.0


def grid_distribution(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    *,
    h: float = DEFAULT_GRID,
    up: bool,
    lowest: float | None = None,
) -> tuple[int, np.ndarray] | None:
    """Grid distribution of ``sum_l T_l(G_l)`` for independent ``G_l``, every value rounded up
    (or down) to the grid: the machinery of :func:`tail_bounds`, returned whole.

    Rounding every value up gives a sum ``S_up >= S`` (so its tails are upper bounds on those of
    ``S``), rounding down a sum ``S_down <= S``.

    Parameters
    ----------
    values_by_locus : sequence of ndarray of float64
        Per locus, the log10 LR of every genotype (``-inf`` allowed: LR 0, left out of the
        distribution, whose total is then below 1).
    probs_by_locus : sequence of ndarray of float64
        Per locus, the probability of every genotype (under the hypothesis of interest).
    h : float
        Grid width in log10 units.
    up : bool
        Round values up (True) or down (False).
    lowest : float, optional
        Partial sums that can not reach ``lowest`` even with the best values of the remaining
        loci are dropped (exact at every grid point ``>= lowest``; below it the masses are
        not all there). None: nothing is dropped.

    Returns
    -------
    (lo, dist) : tuple of (int, ndarray of float64), or None
        ``dist[k]`` is ``P(S = (lo + k) h)``; None when no value is finite at some locus (or
        nothing can reach ``lowest``).

    Examples
    --------
    Two loci, each LR 10 or 0.1 with probabilities 0.2 and 0.8:

    >>> grid_distribution([np.array([1.0, -1.0])] * 2, [np.array([0.2, 0.8])] * 2, h=1.0, up=True)
    (-2, array([0.64, 0.  , 0.32, 0.  , 0.04]))
    """
    return _pruned_distribution(values_by_locus, probs_by_locus, lowest, h, up)


def tail_bounds(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    x: float,
    *,
    h: float = DEFAULT_GRID,
) -> tuple[float, float]:
    """Lower and upper bounds on ``P(sum_l T_l(G_l) >= x)`` for independent ``G_l``.

    Parameters
    ----------
    values_by_locus : sequence of ndarray of float64
        Per locus, the log10 LR of every genotype (``-inf`` allowed: LR 0).
    probs_by_locus : sequence of ndarray of float64
        Per locus, the genotype probabilities under H2 (Hardy-Weinberg).
    x : float
        log10 LR threshold.
    h : float
        Grid width in log10 units.

    Returns
    -------
    (lower, upper) : tuple of float

    Examples
    --------
    One locus, LR 10 with probability 0.2, else LR 0.1: P(log10 LR >= 1) = 0.2.

    >>> tail_bounds([np.array([1.0, -1.0])], [np.array([0.2, 0.8])], 1.0)
    (0.2, 0.2)
    """
    return _tail(values_by_locus, probs_by_locus, x, h, up=False), _tail(values_by_locus, probs_by_locus, x, h, up=True)


def tail_probability(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    x: float,
    *,
    h: float = DEFAULT_GRID,
) -> float:
    """Upper bound on ``P(log10 LR >= x | unrelated)`` (see :func:`tail_bounds`)."""
    return _tail(values_by_locus, probs_by_locus, x, h, up=True)


def tail_probability_with_factor(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    x: float,
    log10_factor_max: float,
    *,
    h: float = DEFAULT_GRID,
    step: float = 0.01,
) -> float:
    """Upper bound on ``P(A + Y >= x | H2)`` for ``A`` the loci's log10 LR and ``Y`` an independent
    log10 LR factor of which only ``E[10^Y | H2] <= 1`` and ``Y <= log10_factor_max`` are known.

    ``Y`` is the Y-STR log10 LR of an unrelated man (:mod:`kinship.likelihood.lineage`): every LR
    has expectation at most 1 under H2 (``sum_h P(h) P(h | H1) / P(h) <= 1``), and a haplotype LR
    can not exceed one over the smallest frequency the database can give, so no model of the
    population's Y haplotypes is needed. With ``g(y) = P(A >= x - y)``, the largest ``E[g(Y)]``
    over the distributions of ``Y`` meeting the two constraints is attained with two support
    points (a linear programme with one moment constraint), ``t_1 = 10^{y_1} <= 1 <= t_2 =
    10^{y_2}``: ``max lambda g(y_1) + (1 - lambda) g(y_2)``, ``lambda t_1 + (1 - lambda) t_2 = 1``,
    with ``y_1 = -inf`` (``g = 0``) allowed. Maximised over a grid of ``step`` in ``y`` with ``g``
    replaced by its value at the grid point above (``g`` is increasing, so this is larger): on
    each grid cell ``(y_k - step, y_k]`` that step function is constant, and the objective is
    largest at the cell's right end for ``y_1`` and as ``y_2`` tends to its left end, so those
    are the points taken and the result is never below the true supremum. ``A``'s tail is the exact convolution of
    :func:`tail_probability`, rounded up on its grid (an upper bound).

    Parameters
    ----------
    values_by_locus, probs_by_locus : sequence of ndarray of float64
        As :func:`tail_bounds` (the loci's values and probabilities under H2).
    x : float
        The pair's combined log10 LR (loci plus factor).
    log10_factor_max : float
        Largest value ``Y`` can take (>= 0).
    h, step : float
        Grid widths of ``A`` and of ``y`` (log10 units).

    Returns
    -------
    float

    Examples
    --------
    No loci (``A = 0``): ``P(Y >= x) <= 10^-x`` (Markov's inequality), reached by ``Y = x`` with
    probability ``10^-x``; the grid's rounding to the safe side gives ``10^-(x - step)``.

    >>> round(tail_probability_with_factor([], [], 3.0, 6.0), 8), round(10 ** -2.99, 8)
    (0.00102329, 0.00102329)

    A factor that can not exceed 1 (log10 0) adds nothing: the loci's own tail.

    >>> v, p = [np.array([1.0, -1.0])], [np.array([0.2, 0.8])]
    >>> tail_probability_with_factor(v, p, 1.0, 0.0) == tail_probability(v, p, 1.0)
    True
    """
    y_max = max(0.0, float(log10_factor_max))
    pruned = _pruned_distribution(values_by_locus, probs_by_locus, x - y_max, h, up=True)
    if pruned is None:
        return 0.0
    lo, dist = pruned
    suffix = np.concatenate([np.cumsum(dist[::-1])[::-1], [0.0]])

    def g(y: np.ndarray) -> np.ndarray:  # P(A >= x - y) on A's grid, rounded to the safe side
        idx = np.ceil((x - y) / h - 1e-9).astype(np.int64) - lo
        return np.minimum(1.0, suffix[np.clip(idx, 0, dist.size)])

    n_up = int(math.ceil(y_max / step))
    y2 = np.minimum(np.arange(n_up + 1) * step, y_max)  # the grid up to y_max, y_max itself last
    y2[-1] = y_max
    y1 = np.concatenate([-np.arange(1, 401)[::-1] * step, [0.0]])  # down to -4, then -inf below
    t1 = 10.0 ** y1
    t2 = 10.0 ** np.maximum(np.concatenate([[0.0], y2[1:] - np.diff(y2)]), 0.0)  # each cell's left end
    g1, g2 = g(y1), g(y2)
    best = float(g2[0])  # Y = 0 surely
    # y_1 = -inf (t_1 = 0): mass 1/t_2 at y_2
    best = max(best, float(np.max(g2 / t2)))
    # two finite points
    T1, T2 = t1[:, None], t2[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = np.where(T2 > T1, (T2 - 1.0) / (T2 - T1), 1.0)
    value = lam * g1[:, None] + (1.0 - lam) * g2[None, :]
    return float(min(1.0, max(best, float(np.nanmax(value)))))
