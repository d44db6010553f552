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

__all__ = ["DEFAULT_GRID", "tail_probability", "tail_bounds"]

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


def _tail(values_by_locus, probs_by_locus, x: float, h: float, up: bool) -> float:
    loci = []
    for values, probs in zip(values_by_locus, probs_by_locus):
        b = _locus_bins(np.asarray(values, dtype=np.float64), np.asarray(probs, dtype=np.float64), h, up)
        if b is None:  # every genotype excluded: LR 0 for any unrelated candidate
            return 0.0
        loci.append(b)
    target = math.ceil(x / h - 1e-9)
    max_after = np.cumsum([lo + d.size - 1 for lo, d in loci][::-1])[::-1].tolist() + [0]
    lo, dist = 0, np.ones(1)
    for j, (l_lo, l_dense) in enumerate(loci):
        new = np.zeros(dist.size + l_dense.size - 1)
        for off in np.nonzero(l_dense)[0]:
            new[off:off + dist.size] += l_dense[off] * dist
        lo, dist = lo + l_lo, new
        # Drop partial sums that can not reach the target even with the best remaining loci.
        cut = target - max_after[j + 1] - lo
        if cut > 0:
            if cut >= dist.size:
                return 0.0
            lo, dist = lo + cut, dist[cut:]
    start = target - lo
    if start <= 0:
        return float(min(1.0, dist.sum()))
    return float(dist[start:].sum()) if start < dist.size else 0.0


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
