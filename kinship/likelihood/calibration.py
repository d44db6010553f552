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

Two implementations give the same float64 numbers (``kernel``): the numpy reference (one
array operation per locus bin) and a numba kernel (the same additions in the same order,
computing only the bins that survive the pruning, a cache-sized tile at a time; numpy's
pairwise order for the final sum), 7-11 times faster per hit (``benchmarks/README.md``).
:func:`tail_probabilities` runs many hits on numba's threads, one distribution per family and
candidate typing pattern.

The expected number of unrelated candidates at or above ``x`` in a database of ``N``
candidates is ``N * P(log10 LR >= x | H2)``; a hit is well calibrated when that number is small
(the report shows it next to every hit).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

try:  # numba is optional: the numpy reference gives the same numbers
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only without numba
    numba = None
    HAVE_NUMBA = False

__all__ = ["DEFAULT_GRID", "KERNELS", "HAVE_NUMBA", "grid_distribution", "tail_probability", "tail_probabilities",
           "tail_bounds", "tail_probability_with_factor"]

DEFAULT_GRID = 1e-3
#: The implementations: ``"numba"`` (compiled, the default where numba is installed) and
#: ``"numpy"`` (the reference); bit-identical.
KERNELS = ("numba", "numpy")


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


# --- The compiled kernel (numba) --------------------------------------------------------------
#
# The same arithmetic as :func:`_pruned_distribution` and :func:`_tail` (the numpy reference),
# element by element, so the tails are bit-identical (tests/unit/test_calibration_fast.py):
#
# * a locus's bins: ``ceil(v / h - 1e-9)`` (or ``floor(v / h + 1e-9)``) of its finite values of
#   positive probability, the probabilities added into their bins in input order from 0.0
#   (``np.bincount``'s order);
# * each output bin of a convolution is ``0.0 + w_1 d_1 + w_2 d_2 + ...`` over the locus's
#   nonzero bins in ascending order, each product rounded before its addition (the numpy
#   loop ``new[off:off + n] += l_dense[off] * dist`` does exactly that per element); only the
#   output bins that survive the pruning are computed, a tile of them at a time (in L1);
# * the tail is summed in numpy's pairwise order (``np.add.reduce`` of a contiguous float64
#   array: :func:`_pairwise_sum`; a numpy release that changed that order would fail
#   ``test_pairwise_sum_is_numpys_sum_to_the_bit``).

#: Output bins of a convolution computed at a time (4 KiB of float64: stays in L1).
_TILE = 512


def _pairwise_sum(a, start, n):  # pragma: no cover - compiled by numba
    """``np.sum(a[start:start + n])`` in numpy's order (``pairwise_sum`` of
    ``numpy/_core/src/umath/loops_utils.h.src``: 8 accumulators up to 128 elements, halves
    rounded down to a multiple of 8 above), so the result is bit-identical."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += a[i]
        return res
    if n <= 128:
        r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
        r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
        m = n - n % 8
        i = 8
        while i < m:
            j = start + i
            r0 += a[j]
            r1 += a[j + 1]
            r2 += a[j + 2]
            r3 += a[j + 3]
            r4 += a[j + 4]
            r5 += a[j + 5]
            r6 += a[j + 6]
            r7 += a[j + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[start + i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise_sum(a, start, n2) + _pairwise_sum(a, start + n2, n - n2)


def _sum_all(a, start, n):  # pragma: no cover - compiled by numba
    """``float(a[start:start + n].sum())``: numpy's reduction adds the pairwise sum to 0.0."""
    return 0.0 + _pairwise_sum(a, start, n)


def _bins_nb(values, probs, starts, h, up, offs, weights, counts, l_lo, span):  # pragma: no cover - compiled by numba
    """Each locus's nonzero grid bins (:func:`_locus_bins`): locus ``u``'s are
    ``offs[starts[u]:starts[u] + counts[u]]`` (ascending, from ``l_lo[u]``) with their masses in
    ``weights``; ``span[u]`` its bins from lowest to highest. False when some locus has no
    finite value of positive probability."""
    n_units = starts.size - 1
    for u in range(n_units):
        a, b = starts[u], starts[u + 1]
        lo = np.int64(0)
        hi = np.int64(0)
        found = False
        for i in range(a, b):
            v = values[i]
            if np.isfinite(v) and probs[i] > 0:
                k = np.int64(np.ceil(v / h - 1e-9)) if up else np.int64(np.floor(v / h + 1e-9))
                if not found:
                    lo, hi, found = k, k, True
                else:
                    lo = min(lo, k)
                    hi = max(hi, k)
        if not found:
            return False
        dense = np.zeros(hi - lo + 1)
        for i in range(a, b):
            v = values[i]
            if np.isfinite(v) and probs[i] > 0:
                k = np.int64(np.ceil(v / h - 1e-9)) if up else np.int64(np.floor(v / h + 1e-9))
                dense[k - lo] += probs[i]
        c = 0
        for k in range(dense.size):
            if dense[k] != 0:
                offs[a + c] = k
                weights[a + c] = dense[k]
                c += 1
        counts[u] = c
        l_lo[u] = lo
        span[u] = dense.size
    return True


def _convolve_nb(dist, n, offs, weights, a, c_count, span, cut, out):  # pragma: no cover - compiled by numba
    """``out[:N - cut]`` = bins ``cut..N-1`` of the convolution of ``dist[:n]`` with a locus's
    bins (``N = n + span - 1``), each the sum over the locus's bins in ascending order."""
    total = n + span - 1
    stop = a + c_count
    for b in range(cut, total, _TILE):
        e = min(b + _TILE, total)
        m = e - b
        tile = out[b - cut:e - cut]
        for i in range(m):
            tile[i] = 0.0
        t = a
        while t < stop:
            o = offs[t]
            w = weights[t]
            if t + 7 < stop and offs[t + 7] <= b and o + n >= e:
                # eight bins that cover the whole tile: one pass, the same additions in the same order
                s0, s1 = dist[b - o:e - o], dist[b - offs[t + 1]:e - offs[t + 1]]
                s2, s3 = dist[b - offs[t + 2]:e - offs[t + 2]], dist[b - offs[t + 3]:e - offs[t + 3]]
                s4, s5 = dist[b - offs[t + 4]:e - offs[t + 4]], dist[b - offs[t + 5]:e - offs[t + 5]]
                s6, s7 = dist[b - offs[t + 6]:e - offs[t + 6]], dist[b - offs[t + 7]:e - offs[t + 7]]
                w1, w2, w3 = weights[t + 1], weights[t + 2], weights[t + 3]
                w4, w5, w6, w7 = weights[t + 4], weights[t + 5], weights[t + 6], weights[t + 7]
                for i in range(m):
                    tile[i] = (((((((tile[i] + w * s0[i]) + w1 * s1[i]) + w2 * s2[i]) + w3 * s3[i]) + w4 * s4[i])
                                + w5 * s5[i]) + w6 * s6[i]) + w7 * s7[i]
                t += 8
                continue
            if t + 3 < stop and offs[t + 3] <= b and o + n >= e:
                # four
                o1, o2, o3 = offs[t + 1], offs[t + 2], offs[t + 3]
                w1, w2, w3 = weights[t + 1], weights[t + 2], weights[t + 3]
                s0, s1 = dist[b - o:e - o], dist[b - o1:e - o1]
                s2, s3 = dist[b - o2:e - o2], dist[b - o3:e - o3]
                for i in range(m):
                    tile[i] = (((tile[i] + w * s0[i]) + w1 * s1[i]) + w2 * s2[i]) + w3 * s3[i]
                t += 4
                continue
            i0 = max(b, o)
            i1 = min(e, o + n)
            if i1 > i0:
                # views indexed from 0: no negative-index wraparound, so LLVM vectorises the loop
                # (element-wise: a product then a sum, as numpy; no fused multiply-add)
                src = dist[i0 - o:i1 - o]
                dst = out[i0 - cut:i1 - cut]
                for i in range(src.size):
                    dst[i] += w * src[i]
            t += 1


def _distribution_nb(values, probs, starts, target, prune, h, up):  # pragma: no cover - compiled by numba
    """``(ok, lo, dist, l_lo, span, max_after)``: :func:`_pruned_distribution` (``prune``: drop
    the partial sums that can not reach grid point ``target``); ``ok`` False where it gives
    None. ``l_lo``, ``span`` and ``max_after`` (the loci's bins) let :func:`_read_tail` replay
    the pruning of a higher target."""
    n_units = starts.size - 1
    r = values.size
    offs = np.empty(r, dtype=np.int64)
    weights = np.empty(r)
    counts = np.zeros(n_units, dtype=np.int64)
    l_lo = np.zeros(n_units, dtype=np.int64)
    span = np.zeros(n_units, dtype=np.int64)
    max_after = np.zeros(n_units + 1, dtype=np.int64)
    empty = np.zeros(0)
    if not _bins_nb(values, probs, starts, h, up, offs, weights, counts, l_lo, span):
        return False, np.int64(0), empty, l_lo, span, max_after
    for u in range(n_units - 1, -1, -1):
        max_after[u] = max_after[u + 1] + l_lo[u] + span[u] - 1
    size = 1
    for u in range(n_units):
        size += span[u] - 1
    buf_a = np.empty(size)
    buf_b = np.empty(size)
    buf_a[0] = 1.0
    dist, out = buf_a, buf_b
    lo = np.int64(0)
    n = 1
    for u in range(n_units):
        total = n + span[u] - 1
        new_lo = lo + l_lo[u]
        cut = np.int64(0)
        if prune:
            cut = target - max_after[u + 1] - new_lo
            if cut >= total:
                return False, np.int64(0), empty, l_lo, span, max_after
            cut = max(cut, np.int64(0))
        _convolve_nb(dist, n, offs, weights, starts[u], counts[u], span[u], cut, out)
        lo = new_lo + cut
        n = total - cut
        dist, out = out, dist
    return True, lo, dist[:n], l_lo, span, max_after


def _read_tail(dist, lo, l_lo, span, max_after, target):  # pragma: no cover - compiled by numba
    """:func:`_tail` at grid point ``target`` from a distribution pruned at a target not above
    it: the pruning of ``target`` replayed on the bin ranges (its surviving bins are the same
    numbers), then the same sum."""
    n_units = l_lo.size
    t_lo = np.int64(0)
    size = np.int64(1)
    for u in range(n_units):
        size += span[u] - 1
        t_lo += l_lo[u]
        cut = target - max_after[u + 1] - t_lo
        if cut > 0:
            if cut >= size:
                return 0.0
            t_lo += cut
            size -= cut
    first = t_lo - lo  # the replayed distribution is dist[first:] (the same highest bin)
    start = target - t_lo
    if start <= 0:
        return min(1.0, _sum_all(dist, first, size))
    if start < size:
        return _sum_all(dist, first + start, size - start)
    return 0.0


def _group_tails(values, probs, starts, targets, group_ptr, order, h, out):  # pragma: no cover - compiled by numba
    """``out[order[k]]`` for ``k`` in ``group_ptr[g]:group_ptr[g + 1]``: the upper-bound tails
    of group ``g``'s hits (their distribution is ``values[g]`` with ``probs``), at grid points
    ``targets``; one distribution per group, pruned at its lowest target."""
    for g in numba.prange(group_ptr.size - 1):
        a, b = group_ptr[g], group_ptr[g + 1]
        if a == b:
            continue
        low = targets[order[a]]
        for k in range(a + 1, b):
            low = min(low, targets[order[k]])
        ok, lo, dist, l_lo, span, max_after = _distribution_nb(values[g], probs, starts, low, True, h, True)
        for k in range(a, b):
            out[order[k]] = _read_tail(dist, lo, l_lo, span, max_after, targets[order[k]]) if ok else 0.0


def _two_point_max(t1, t2, g1, g2):  # pragma: no cover - compiled by numba
    """``nanmax`` over ``(i, j)`` of ``lam g1[i] + (1 - lam) g2[j]``, ``lam = (t2[j] - 1) / (t2[j] - t1[i])``
    where ``t2[j] > t1[i]``, else 1: :func:`tail_probability_with_factor`'s two-point objective,
    each value the same float64 operations (a maximum does not depend on the order)."""
    best = -np.inf
    seen = False
    for i in range(t1.size):
        for j in range(t2.size):
            lam = (t2[j] - 1.0) / (t2[j] - t1[i]) if t2[j] > t1[i] else 1.0
            v = lam * g1[i] + (1.0 - lam) * g2[j]
            if v == v and (not seen or v > best):
                best, seen = v, True
    return best if seen else np.nan


if HAVE_NUMBA:
    _two_point_max = numba.njit(cache=True)(_two_point_max)
    _pairwise_sum = numba.njit(cache=True)(_pairwise_sum)
    _sum_all = numba.njit(cache=True, inline="always")(_sum_all)
    _bins_nb = numba.njit(cache=True)(_bins_nb)
    _convolve_nb = numba.njit(cache=True)(_convolve_nb)
    _distribution_nb = numba.njit(cache=True)(_distribution_nb)
    _read_tail = numba.njit(cache=True)(_read_tail)
    _group_tails = numba.njit(cache=True, parallel=True, nogil=True)(_group_tails)


def _flat(values_by_locus, probs_by_locus):
    """``(values, probs, starts)``: the loci's arrays concatenated, locus ``u`` at
    ``starts[u]:starts[u + 1]``."""
    values = [np.asarray(v, dtype=np.float64).ravel() for v in values_by_locus]
    probs = [np.asarray(p, dtype=np.float64).ravel() for p in probs_by_locus]
    starts = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([v.size for v in values], out=starts[1:])
    cat = (lambda a: np.concatenate(a) if a else np.zeros(0))
    return cat(values), cat(probs), starts


def _target(x: float, h: float) -> int:
    """The grid point of ``x``: the lowest one at or above it (up to 1e-9 of a bin)."""
    return math.ceil(x / h - 1e-9)


def _check_kernel(kernel: str | None) -> str:
    kernel = ("numba" if HAVE_NUMBA else "numpy") if kernel is None else kernel
    if kernel not in KERNELS:
        raise ValueError(f"kernel {kernel!r}; expected one of {KERNELS}")
    if kernel == "numba" and not HAVE_NUMBA:
        raise ValueError("kernel 'numba' needs numba installed; use kernel='numpy'")
    return kernel


def _distribution(values_by_locus, probs_by_locus, x: float | None, h: float, up: bool, kernel: str | None):
    """:func:`_pruned_distribution` by the chosen kernel (the same numbers)."""
    if _check_kernel(kernel) == "numpy":
        return _pruned_distribution(values_by_locus, probs_by_locus, x, h, up)
    values, probs, starts = _flat(values_by_locus, probs_by_locus)
    ok, lo, dist, *_ = _distribution_nb(values, probs, starts, 0 if x is None else _target(x, h), x is not None,
                                        float(h), bool(up))
    return (int(lo), dist) if ok else None


def _tail(values_by_locus, probs_by_locus, x: float, h: float, up: bool, kernel: str | None) -> float:
    if _check_kernel(kernel) == "numba":
        values, probs, starts = _flat(values_by_locus, probs_by_locus)
        target = _target(x, h)
        ok, lo, dist, l_lo, span, max_after = _distribution_nb(values, probs, starts, target, True, float(h), bool(up))
        return float(_read_tail(dist, lo, l_lo, span, max_after, target)) if ok else 0.0
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
    kernel: str | None = None,
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
    kernel : {"numba", "numpy"}, optional
        Implementation (:data:`KERNELS`; default numba where installed): the same numbers.

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
    return _distribution(values_by_locus, probs_by_locus, lowest, h, up, kernel)


def tail_bounds(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    x: float,
    *,
    h: float = DEFAULT_GRID,
    kernel: str | None = None,
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
    kernel : {"numba", "numpy"}, optional
        Implementation (:data:`KERNELS`; default numba where installed): the same numbers.

    Returns
    -------
    (lower, upper) : tuple of float

    Examples
    --------
    One locus, LR 10 with probability 0.2, else LR 0.1: P(log10 LR >= 1) = 0.2.

    >>> tail_bounds([np.array([1.0, -1.0])], [np.array([0.2, 0.8])], 1.0)
    (0.2, 0.2)
    """
    return (_tail(values_by_locus, probs_by_locus, x, h, False, kernel),
            _tail(values_by_locus, probs_by_locus, x, h, True, kernel))


def tail_probability(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    x: float,
    *,
    h: float = DEFAULT_GRID,
    kernel: str | None = None,
) -> float:
    """Upper bound on ``P(log10 LR >= x | unrelated)`` (see :func:`tail_bounds`)."""
    return _tail(values_by_locus, probs_by_locus, x, h, True, kernel)


def tail_probabilities(
    values: np.ndarray,
    probs: np.ndarray,
    starts: np.ndarray,
    x: np.ndarray,
    group: np.ndarray,
    *,
    h: float = DEFAULT_GRID,
    kernel: str | None = None,
) -> np.ndarray:
    """:func:`tail_probability` of many hits at once: hit ``i``'s loci are row ``group[i]`` of
    ``values``, its threshold ``x[i]``; bit-identical to one call per hit.

    The hits of one row (a family and a candidate typing pattern, :func:`kinship.app.match_run.calibrate`)
    share one distribution, pruned at their lowest grid point; each hit's tail is then read at
    its own (its pruning replayed on the bin ranges: the bins it keeps are the same numbers, so
    the sum is too). The rows are spread over numba's threads.

    Parameters
    ----------
    values : ndarray of float64, shape (n_rows, R)
        Per row, every locus's values (log10 LR, ``-inf`` allowed) concatenated: locus ``u`` at
        columns ``starts[u]:starts[u + 1]``.
    probs : ndarray of float64, shape (R,)
        Their probabilities under H2 (the same for every row).
    starts : ndarray of int64, shape (n_loci + 1,)
    x : ndarray of float64, shape (n_hits,)
        log10 LR thresholds.
    group : ndarray of int64, shape (n_hits,)
        Each hit's row of ``values``.
    h : float
        Grid width in log10 units.
    kernel : {"numba", "numpy"}, optional
        Implementation (:data:`KERNELS`; default numba where installed): the same numbers.

    Returns
    -------
    ndarray of float64, shape (n_hits,)
        Upper bounds on ``P(log10 LR >= x_i | unrelated)``.

    Examples
    --------
    One locus, LR 10 with probability 0.2, else LR 0.1; two loci of it, thresholds 1 and 2
    (P(one or two LRs of 10) = 0.36, P(two) = 0.04):

    >>> v = np.array([[1.0, -1.0, 1.0, -1.0]])
    >>> tail_probabilities(v, np.array([0.2, 0.8, 0.2, 0.8]), np.array([0, 2, 4]), np.array([0.0, 2.0]), np.array([0, 0]))
    array([0.36, 0.04])
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    probs = np.ascontiguousarray(probs, dtype=np.float64)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    x = np.asarray(x, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    if values.ndim != 2 or probs.shape != (values.shape[1],) or starts.shape[0] < 1 or starts[-1] != probs.size \
            or x.shape != group.shape or (group.size and not 0 <= group.min() <= group.max() < values.shape[0]):
        raise ValueError(f"values {values.shape}, probs {probs.shape}, starts ending {starts[-1:]}, x {x.shape}, "
                         f"group {group.shape}; expected values (n_rows, R), probs (R,), starts ending at R, "
                         "x and group (n_hits,) with groups in [0, n_rows)")
    out = np.zeros(x.size)
    if _check_kernel(kernel) == "numpy":
        for i in range(x.size):
            row = values[group[i]]
            out[i] = _tail([row[a:b] for a, b in zip(starts[:-1], starts[1:])],
                           [probs[a:b] for a, b in zip(starts[:-1], starts[1:])], float(x[i]), h, True, "numpy")
        return out
    targets = np.array([_target(float(v), h) for v in x], dtype=np.int64)
    order = np.argsort(group, kind="stable")
    group_ptr = np.searchsorted(group[order], np.arange(values.shape[0] + 1))
    _group_tails(values, probs, starts, targets, group_ptr.astype(np.int64), order.astype(np.int64), float(h), out)
    return out


def tail_probability_with_factor(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    x: float,
    log10_factor_max: float,
    *,
    h: float = DEFAULT_GRID,
    step: float = 0.01,
    kernel: str | None = None,
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
    kernel : {"numba", "numpy"}, optional
        Implementation (:data:`KERNELS`; default numba where installed): the same numbers.

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
    pruned = _distribution(values_by_locus, probs_by_locus, x - y_max, h, True, kernel)
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
    if _check_kernel(kernel) == "numba":  # the same numbers without the (y_1, y_2) matrix
        return float(min(1.0, max(best, float(_two_point_max(t1, t2, g1, g2)))))
    T1, T2 = t1[:, None], t2[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        lam = np.where(T2 > T1, (T2 - 1.0) / (T2 - T1), 1.0)
    value = lam * g1[:, None] + (1.0 - lam) * g2[None, :]
    return float(min(1.0, max(best, float(np.nanmax(value)))))
