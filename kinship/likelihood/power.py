"""Power of a family: the exact distribution of its log10 LR for its true child and for an unrelated one.

For a family (its typed references) and one locus ``l``, the compiled table ``T_l(g)``
(:func:`kinship.likelihood.peeling.pedigree_locus_tables`,
:func:`kinship.likelihood.parentage.family_locus_tables`) holds, for every genotype ``g`` of a
candidate, ``log10 P(g | refs, H1) - log10 P(g | refs, H2)``. With ``theta = 0`` the denominator
is the Hardy-Weinberg probability ``P_l(g)`` (times the references' own probability under H2,
which is that under H1 for a stationary mutation model), so the genotype distribution of the
family's **true child** (H1) is

    P(G_l = g | refs, H1) = 10^T_l(g) P_l(g) / c_l,    c_l = sum_g 10^T_l(g) P_l(g),

and ``c_l = 1`` exactly unless the mutation model is non-stationary and a reference's marginal
differs between H1 and H2 (:func:`kinship.likelihood.peeling.unrelated_pedigree`); ``c_l`` is
also ``E[LR_l | H2]`` (the Markov identity E[LR | H2] = 1; Egeland, Kling & Mostad 2016, sec.
2.5; Kruijver 2015), which :func:`power` reports as a check. An **unrelated child** (H2) has
``G_l ~ P_l`` (Hardy-Weinberg). Loci are independent under both hypotheses given the
references (unlinked loci; the references are fixed), so the log10 LR of a candidate is a sum
of independent per-locus values ``T_l(G_l)`` and its distribution is the convolution of the
per-locus distributions: exact, no simulation (Familias and forrel's ``LRpower`` /
``missingPedPower`` estimate the same numbers by simulating genotypes: Egeland, Kling &
Mostad 2016, ch. 5; Vigeland 2021, *Pedigree Analysis in R*, ch. 7; Kruijver, Meester &
Slooten 2015, "p-values should not be used for evaluating the strength of DNA evidence",
compute such distributions by convolution).

theta > 0 is refused (:class:`~kinship.errors.ReuniteInputError` from the callers): there the
table's denominator is ``P(g | refs, H2)`` under Balding-Nichols sampling, which depends on the
references' alleles, so ``10^T P_l`` with Hardy-Weinberg ``P_l`` is not the true child's
distribution, and an unrelated child of the same subpopulation is not Hardy-Weinberg either;
the calibration of a run (:func:`kinship.app.match_run.calibrate`) uses Hardy-Weinberg under H2
at every theta, so a power computed here at theta > 0 would answer neither question exactly.

Numerics (the grid of :mod:`kinship.likelihood.calibration`): every value is rounded down and
up to a grid of width ``h``; the two sums bracket the true one (``S_down <= S <= S_up``), so
every tail ``P(S >= x)`` and every quantile is given as a pair (lower, upper) that contains the
exact value; the two coincide when every value lies on the grid. Values below ``floor`` (log10
per locus; far mutation paths, e.g. -70 for a two-group microvariant step) are raised to
``floor`` for the upper bound and dropped (LR 0) for the lower one, both still bounds; they
only widen the pair by the mass of such genotypes. The distributions are exact at and above a
``lowest`` point below which partial sums are dropped as they appear (the calibration's
pruning); ``lowest`` is put below every threshold asked for and below the quantiles by
Cantelli's inequality (``P(S <= mu - k sigma) <= 1 / (1 + k^2)``), and a quantile that still
falls below it is reported with lower bound ``-inf``.

**The next relative.** A relative ``R`` not yet typed, added to the pedigree: at a locus the
joint of ``R``'s genotype ``r`` and the true child's ``g`` given the references factorises as
``P(r | refs) P(g | refs, r)``; with ``T_r(g)`` the table of the family with ``R`` typed as
``r``, the new log10 LR at the locus is ``T_R(G)``, distributed under H1 as the mixture
``sum_r P(r | refs) [T_r(g), g ~ P(g | refs, r)]`` and under H2 as ``sum_r P(r | refs)
[T_r(g), g ~ P_l]`` (:func:`mixture_locus`). Given the references, the pairs ``(R_l, G_l)`` are
independent over loci (unlinked loci), so the same convolution gives the new distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from kinship.likelihood.calibration import grid_distribution

__all__ = [
    "POWER_GRID",
    "POWER_FLOOR",
    "DEFAULT_QUANTILES",
    "h1_probabilities",
    "mixture_locus",
    "p_at_least",
    "LrDistribution",
    "lr_distribution",
    "PowerResult",
    "power",
]

#: Grid width of the power distributions (log10 units): the bounds differ by at most the mass
#: within ``n_loci * POWER_GRID`` of a threshold.
POWER_GRID = 2e-3
#: Per-locus log10 LR below which values are raised (upper bound) or dropped (lower bound).
POWER_FLOOR = -8.0
#: Quantiles of the true child's log10 LR reported by default.
DEFAULT_QUANTILES = (0.05, 0.5, 0.95)


def h1_probabilities(values: np.ndarray, h2_probs: np.ndarray) -> tuple[np.ndarray, float]:
    """The true child's genotype probabilities at a locus from the family's table (theta = 0).

    Parameters
    ----------
    values : ndarray of float64, shape (n_obs,)
        ``T(g)``, log10 LR of every observation ``g`` a typed candidate can show (``-inf``
        allowed).
    h2_probs : ndarray of float64, shape (n_obs,)
        Hardy-Weinberg probabilities of the same observations (summing to 1).

    Returns
    -------
    probs : ndarray of float64, shape (n_obs,)
        ``10^T(g) P(g) / c``.
    c : float
        ``sum_g 10^T(g) P(g)`` = ``E[LR | H2]`` at the locus (1 for a stationary mutation model;
        with a silent allele, the probability that the true child is typed at the locus,
        relative to an unrelated child's).

    Examples
    --------
    Duo, mother a/a, frequencies (0.2, 0.8): the child a/a has LR 1/p_a = 5, a/b LR
    1/(2 p_a) = 2.5, b/b LR 0, so ``P(a/a | mother) = 5 * 0.04 = 0.2 = p_a``.

    >>> p = np.array([0.04, 0.32, 0.64])
    >>> with np.errstate(divide="ignore"):
    ...     T = np.log10([5.0, 2.5, 0.0])
    >>> probs, c = h1_probabilities(T, p)
    >>> probs.round(12).tolist(), round(c, 12)
    ([0.2, 0.8, 0.0], 1.0)
    """
    with np.errstate(over="ignore"):
        w = np.power(10.0, np.asarray(values, dtype=np.float64)) * np.asarray(h2_probs, dtype=np.float64)
    c = float(w.sum())
    return w / c, c


def mixture_locus(
    values_by_r: Sequence[np.ndarray],
    h1_probs_by_r: Sequence[np.ndarray],
    r_probs: np.ndarray,
    h2_probs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One locus's distribution of the log10 LR after a relative ``R`` is typed, as one list.

    Parameters
    ----------
    values_by_r : sequence of ndarray of float64, each shape (n_obs,)
        ``T_r(g)`` for every genotype ``r`` of ``R`` (one table per ``r``).
    h1_probs_by_r : sequence of ndarray of float64, each shape (n_obs,)
        ``P(g | refs, R = r)`` (the true child; :func:`h1_probabilities` of ``T_r``).
    r_probs : ndarray of float64, shape (n_r,)
        ``P(R = r | refs)``, summing to 1.
    h2_probs : ndarray of float64, shape (n_obs,)
        Hardy-Weinberg probabilities of the candidate's observations.

    Returns
    -------
    values, h1_probs, h2_probs : ndarray of float64, shape (n_r * n_obs,)
        Every pair ``(r, g)`` with value ``T_r(g)``, probability ``P(r | refs) P(g | refs, r)``
        under H1 and ``P(r | refs) P(g)`` under H2.

    Examples
    --------
    >>> v, p1, p2 = mixture_locus([np.zeros(2), np.ones(2)], [np.array([.5, .5])] * 2,
    ...                           np.array([.25, .75]), np.array([.1, .9]))
    >>> v.tolist(), p1.tolist(), p2.round(3).tolist()
    ([0.0, 0.0, 1.0, 1.0], [0.125, 0.125, 0.375, 0.375], [0.025, 0.225, 0.075, 0.675])
    """
    r_probs = np.asarray(r_probs, dtype=np.float64)
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in values_by_r])
    h1 = np.concatenate([w * np.asarray(p, dtype=np.float64) for w, p in zip(r_probs, h1_probs_by_r)])
    h2 = (r_probs[:, None] * np.asarray(h2_probs, dtype=np.float64)[None, :]).ravel()
    return values, h1, h2


def p_at_least(probs: Sequence[float], k: int) -> float:
    """``P(N >= k)`` for ``N`` the number of independent events of probabilities ``probs``
    (the Poisson-binomial distribution, by exact recursion over events).

    Examples
    --------
    >>> round(p_at_least([0.5, 0.5, 0.5], 2), 12)
    0.5
    """
    dist = np.zeros(k + 1)
    dist[0] = 1.0
    for p in probs:
        moved = dist * p
        dist = dist * (1.0 - p)
        dist[1:] += moved[:-1]
        dist[-1] += moved[-1]  # the last cell holds ">= k"
    return float(dist[k])


@dataclass(frozen=True)
class LrDistribution:
    """Grid distributions bracketing the log10 LR ``S`` of one hypothesis: ``S_down <= S <= S_up``.

    Attributes
    ----------
    h : float
        Grid width (log10 units).
    lowest : float
        Both distributions are exact at every grid point ``>= lowest``; the mass below is the
        total's deficit (dropped partial sums, LR-0 values).
    down, up : (int, ndarray of float64) or None
        ``(lo, dist)`` with ``dist[k] = P(S_. = (lo + k) h)``; None: no mass at or above ``lowest``.
    error : float
        Round-off allowance of an FFT convolution per grid point (0 for the direct one): a tail
        summed over ``k`` grid points is widened by ``k * error``, a quantile located with the
        allowance of the whole grid.
    """

    h: float
    lowest: float
    down: tuple[int, np.ndarray] | None
    up: tuple[int, np.ndarray] | None
    error: float = 0.0

    def _tail(self, part, x: float, sign: float = 0.0) -> float:
        """The tail at ``x`` of one part, ``sign`` times its round-off allowance added."""
        if part is None:
            return 0.0
        lo, dist = part
        start = max(0, math.ceil(x / self.h - 1e-9) - lo)
        if start >= dist.size:
            return 0.0
        return float(min(1.0, max(0.0, dist[start:].sum() + sign * self.error * (dist.size - start))))

    def tail(self, x: float) -> tuple[float, float]:
        """``(lower, upper)`` bounds on ``P(S >= x)``, for ``x >= lowest``.

        Examples
        --------
        >>> d = lr_distribution([np.array([1.0, -1.0])], [np.array([0.2, 0.8])], h=0.5)
        >>> d.tail(1.0), d.tail(-1.0)
        ((0.2, 0.2), (1.0, 1.0))
        """
        if x < self.lowest - 1e-12:
            raise ValueError(f"tail at {x} below the distribution's exact range (lowest {self.lowest})")
        return self._tail(self.down, x, -1.0), self._tail(self.up, x, 1.0)

    def _quantile(self, part, q: float) -> float:
        if part is None or q <= 0.0:
            return -math.inf
        lo, dist = part
        deficit = max(0.0, 1.0 - float(dist.sum()))  # mass below ``lowest`` (or at LR 0)
        cum = deficit + np.cumsum(dist)
        if deficit >= q:
            return -math.inf
        k = int(np.searchsorted(cum, q * (1.0 - 1e-12), side="left"))
        k = min(k, dist.size - 1)
        return (lo + k) * self.h

    def quantile(self, q: float) -> tuple[float, float]:
        """``(lower, upper)`` bounds on the ``q`` quantile ``inf{t : P(S <= t) >= q}`` of ``S``;
        lower ``-inf`` when it lies below ``lowest``.

        Examples
        --------
        >>> d = lr_distribution([np.array([1.0, -1.0])], [np.array([0.2, 0.8])], h=0.5)
        >>> d.quantile(0.5), d.quantile(0.9)
        ((-1.0, -1.0), (1.0, 1.0))
        """
        total = self.error * max((p[1].size for p in (self.down, self.up) if p is not None), default=0)
        return self._quantile(self.down, q - total), self._quantile(self.up, min(1.0, q + total))


def _clamped(values: np.ndarray, floor: float, up: bool) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if up:
        return np.maximum(v, floor)  # -inf too: a larger value, still an upper bound
    return np.where(v < floor, -np.inf, v)


def _bins(values: np.ndarray, probs: np.ndarray, h: float, up: bool):
    finite = np.isfinite(values) & (probs > 0)
    if not finite.any():
        return None
    scaled = values[finite] / h
    k = (np.ceil(scaled - 1e-9) if up else np.floor(scaled + 1e-9)).astype(np.int64)
    lo = int(k.min())
    return lo, np.bincount(k - lo, weights=probs[finite])


def _fft_distribution(values_by_locus, probs_by_locus, h: float, up: bool):
    """The whole grid distribution by one FFT product, and its round-off allowance."""
    loci = [_bins(np.asarray(v, dtype=np.float64), np.asarray(p, dtype=np.float64), h, up)
            for v, p in zip(values_by_locus, probs_by_locus)]
    if any(b is None for b in loci):
        return None, 0.0
    size = sum(d.size - 1 for _, d in loci) + 1
    n_fft = 1 << max(1, (size - 1).bit_length())
    spectrum = np.ones(n_fft // 2 + 1, dtype=np.complex128)
    for _, d in loci:
        spectrum *= np.fft.rfft(d, n_fft)
    dist = np.clip(np.fft.irfft(spectrum, n_fft)[:size], 0.0, None)
    # |F(p)| <= 1 for a probability vector: each spectrum entry carries an absolute round-off of
    # about (n_loci + 2 log2 n_fft) u, and each grid point of the inverse transform (an average
    # of n_fft entries) at most that
    error = 2.0 * np.finfo(np.float64).eps * (len(loci) + 2 * math.log2(n_fft))
    return (sum(lo for lo, _ in loci), dist), float(error)


def lr_distribution(
    values_by_locus: Sequence[np.ndarray],
    probs_by_locus: Sequence[np.ndarray],
    *,
    h: float = POWER_GRID,
    floor: float = POWER_FLOOR,
    lowest: float | None = None,
    method: str = "direct",
) -> LrDistribution:
    """The bracketing grid distributions of ``S = sum_l T_l(G_l)``, ``G_l`` independent.

    Parameters
    ----------
    values_by_locus : sequence of ndarray of float64
        Per locus, the log10 LR of every genotype (``-inf`` allowed).
    probs_by_locus : sequence of ndarray of float64
        Per locus, the genotype probabilities under the hypothesis (each summing to 1).
    h : float
        Grid width, log10 units.
    floor : float
        Per-locus values below it are raised to it (upper) or dropped (lower).
    lowest : float, optional
        Exact at and above it (None: the whole distribution). Ignored by ``"fft"``.
    method : {"direct", "fft"}
        ``"direct"``: the calibration's convolution (:func:`kinship.likelihood.calibration.grid_distribution`),
        exact on the grid, its cost the occupied bins of each locus times the partial
        distribution's length (a family's own table: tens to hundreds of values per locus).
        ``"fft"``: one product of the loci's discrete Fourier transforms (for the mixtures of
        the next relative, whose loci occupy thousands of bins), with a round-off allowance of
        ``2 u (n_loci + 2 log2 n_fft)`` per grid point (``u`` the float64 unit round-off: every
        transform of a probability vector has modulus <= 1, so each spectrum entry, and each
        inverse-transformed point, carries at most that absolute error), so a tail over ``k``
        grid points is widened by ``k`` times it.

    Returns
    -------
    LrDistribution

    Examples
    --------
    >>> d = lr_distribution([np.array([1.0, -1.0])] * 2, [np.array([0.2, 0.8])] * 2, h=1.0)
    >>> [round(b, 12) for b in d.tail(0.0) + d.tail(2.0)]
    [0.36, 0.36, 0.04, 0.04]
    >>> f = lr_distribution([np.array([1.0, -1.0])] * 2, [np.array([0.2, 0.8])] * 2, h=1.0, method="fft")
    >>> [round(b, 9) for b in f.tail(2.0)], f.error < 1e-13
    ([0.04, 0.04], True)
    """
    if method not in ("direct", "fft"):
        raise ValueError(f"method {method!r}; expected 'direct' or 'fft'")
    parts, error = [], 0.0
    for up in (False, True):
        vals = [_clamped(v, floor, up) for v in values_by_locus]
        if method == "fft":
            part, err = _fft_distribution(vals, probs_by_locus, h, up)
            parts.append(part)
            error = max(error, err)
            continue
        # the sum does not depend on the loci's order; the cost (occupied bins x length of the
        # partial distribution, per locus) is least with the loci of most distinct values first
        order = sorted(range(len(vals)), key=lambda l: -np.unique(np.round(vals[l] / h)).size)
        parts.append(grid_distribution([vals[l] for l in order], [probs_by_locus[l] for l in order],
                                       h=h, up=up, lowest=lowest))
    low = -math.inf if (lowest is None or method == "fft") else float(lowest)
    return LrDistribution(h, low, parts[0], parts[1], error)


@dataclass(frozen=True)
class PowerResult:
    """What a family can expect from a search: its true child's and an unrelated child's log10 LR.

    Every probability is a pair ``(lower, upper)`` containing the exact value (grid bounds).

    Attributes
    ----------
    n_loci : int
        Loci summed over.
    threshold : float
        log10 LR of "support" (4: CPI 10,000).
    support_log10 : float
        The log10 LR a pair needs for support: ``threshold``, or higher where the calibration
        gate applies (the smallest grid value at which ``n_candidates * P(LR >= x | H2) <=
        max_expected_unrelated``, the upper bound of the calibration).
    gated : bool
        Whether the calibration gate was applied.
    p_support_h1 : (float, float)
        ``P(log10 LR >= support_log10 | true child)`` (before the inconsistent-loci rule; the
        callers subtract ``P(>= 3 inconsistent | H1)`` from the lower bound where it applies).
    p_threshold_h1 : (float, float)
        ``P(log10 LR >= threshold | true child)``.
    p_threshold_h2 : (float, float)
        ``P(log10 LR >= threshold | unrelated)``.
    p_support_h2 : (float, float)
        ``P(log10 LR >= support_log10 | unrelated)``.
    n_candidates : int or None
    expected_false_hits : (float, float) or None
        ``n_candidates * p_threshold_h2``: unrelated candidates expected at CPI >= 10^threshold.
    quantiles_h1 : dict of float to (float, float)
        Quantiles of the true child's log10 LR.
    expected_lr_h2 : float
        ``E[LR | unrelated]`` = ``prod_l c_l`` (1 up to rounding for a stationary mutation model).
    h : float
        Grid width.
    """

    n_loci: int
    threshold: float
    support_log10: float
    gated: bool
    p_support_h1: tuple[float, float]
    p_threshold_h1: tuple[float, float]
    p_threshold_h2: tuple[float, float]
    p_support_h2: tuple[float, float]
    n_candidates: int | None
    expected_false_hits: tuple[float, float] | None
    quantiles_h1: dict = field(default_factory=dict)
    expected_lr_h2: float = 1.0
    h: float = POWER_GRID

    def as_dict(self) -> dict:
        """JSON-ready record (tuples as lists, quantile keys as strings)."""
        return {
            "n_loci": self.n_loci, "threshold": self.threshold, "support_log10": _json_float(self.support_log10),
            "gated": self.gated, "p_support_h1": list(self.p_support_h1),
            "p_threshold_h1": list(self.p_threshold_h1), "p_threshold_h2": list(self.p_threshold_h2),
            "p_support_h2": list(self.p_support_h2), "n_candidates": self.n_candidates,
            "expected_false_hits": None if self.expected_false_hits is None else list(self.expected_false_hits),
            "quantiles_h1": {f"{q:g}": [_json_float(a), _json_float(b)] for q, (a, b) in self.quantiles_h1.items()},
            "expected_lr_h2": self.expected_lr_h2, "h": self.h,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "PowerResult":
        """Inverse of :meth:`as_dict`."""
        pair = lambda v: (float(v[0]), float(v[1]))  # noqa: E731
        return cls(
            int(d["n_loci"]), float(d["threshold"]), _from_json(d["support_log10"]), bool(d["gated"]),
            pair(d["p_support_h1"]), pair(d["p_threshold_h1"]), pair(d["p_threshold_h2"]), pair(d["p_support_h2"]),
            d["n_candidates"], None if d["expected_false_hits"] is None else pair(d["expected_false_hits"]),
            {float(q): (_from_json(a), _from_json(b)) for q, (a, b) in d["quantiles_h1"].items()},
            float(d["expected_lr_h2"]), float(d["h"]),
        )


def _json_float(x: float):
    return x if math.isfinite(x) else ("-inf" if x < 0 else "inf")


def _from_json(x) -> float:
    return float(x)


def _gate_grid(h2: LrDistribution, threshold: float, n_candidates: int, max_expected: float) -> float:
    """Smallest grid value ``x >= threshold`` with ``n * P_up(S >= x | H2) <= max_expected``."""
    if h2.up is None:
        return threshold
    lo, dist = h2.up
    suffix = np.concatenate([np.cumsum(dist[::-1])[::-1], [0.0]])
    suffix += h2.error * np.arange(dist.size, -1, -1)  # k grid points summed from each start
    ok = np.flatnonzero(n_candidates * np.minimum(1.0, suffix) <= max_expected)
    k = int(ok[0]) if ok.size else suffix.size - 1
    if not ok.size:
        return math.inf  # the round-off allowance alone exceeds the gate: no support can be shown
    return max(threshold, (lo + k) * h2.h)


def power(
    values_by_locus: Sequence[np.ndarray],
    h1_probs_by_locus: Sequence[np.ndarray],
    h2_probs_by_locus: Sequence[np.ndarray],
    *,
    threshold: float = 4.0,
    n_candidates: int | None = None,
    max_expected_unrelated: float | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    h: float = POWER_GRID,
    floor: float = POWER_FLOOR,
    method: str = "direct",
) -> PowerResult:
    """Exact (grid-bounded) power of a family: P(support | true child), P(LR >= x | unrelated).

    Parameters
    ----------
    values_by_locus : sequence of ndarray of float64, each shape (n_obs_l,)
        Per locus, ``T_l(g)`` of every observation a typed candidate can show (or every pair
        ``(r, g)`` of :func:`mixture_locus`).
    h1_probs_by_locus, h2_probs_by_locus : sequence of ndarray of float64
        Their probabilities for the true child (:func:`h1_probabilities`) and for an unrelated
        child (Hardy-Weinberg, :func:`kinship.likelihood.phenotypes.unrelated_rows`).
    threshold : float
        log10 LR of support (4: CPI 10,000, GB/T 37223-2018).
    n_candidates : int, optional
        Candidates on file: gives the expected false hits.
    max_expected_unrelated : float, optional
        With ``n_candidates``: apply the calibration gate of
        :func:`kinship.app.match_run.calibrate` (support also needs at most this many
        unrelated candidates expected at or above the pair's LR).
    quantiles : sequence of float in (0, 1)
    h, floor : float
        Grid width and per-locus floor (log10 units).
    method : {"direct", "fft"}
        Passed to :func:`lr_distribution` (``"fft"`` for the mixtures of the next relative).

    Returns
    -------
    PowerResult

    Examples
    --------
    One fully informative locus: the true child always has LR 100, an unrelated child LR 0
    with probability 0.99 and LR 100 with probability 0.01 (E[LR | H2] = 1):

    >>> r = power([np.array([2.0, -np.inf])], [np.array([1.0, 0.0])], [np.array([0.01, 0.99])],
    ...           threshold=2.0, n_candidates=1000)
    >>> r.p_support_h1, r.p_threshold_h2, r.expected_false_hits, r.expected_lr_h2
    ((1.0, 1.0), (0.01, 0.01), (10.0, 10.0), 1.0)
    """
    values_by_locus = [np.asarray(v, dtype=np.float64) for v in values_by_locus]
    h1 = [np.asarray(p, dtype=np.float64) for p in h1_probs_by_locus]
    h2 = [np.asarray(p, dtype=np.float64) for p in h2_probs_by_locus]
    n = len(values_by_locus)
    with np.errstate(over="ignore"):
        log10_c = sum(math.log10(float((np.power(10.0, v) * p).sum())) for v, p in zip(values_by_locus, h2))
    # lowest point the H1 distribution must be exact above: every threshold and (Cantelli) the
    # quantiles, computed on the values raised to the floor (the upper variable)
    mean = var = 0.0
    for v, p in zip(values_by_locus, h1):
        vc = np.maximum(v, floor)
        m = float((vc * p).sum())
        mean += m
        var += float((((vc - m) ** 2) * p).sum())
    q_min = min(quantiles) if len(quantiles) else 0.5
    k = 1.05 * math.sqrt((1.0 - q_min) / q_min)
    lowest_h1 = min(threshold, mean - k * math.sqrt(var) - n * h) - h
    dist_h2 = lr_distribution(values_by_locus, h2, h=h, floor=floor, lowest=threshold, method=method)
    gated = n_candidates is not None and max_expected_unrelated is not None
    support = _gate_grid(dist_h2, threshold, n_candidates, max_expected_unrelated) if gated else threshold
    dist_h1 = lr_distribution(values_by_locus, h1, h=h, floor=floor, lowest=lowest_h1, method=method)
    p_thr_h2 = dist_h2.tail(threshold)
    return PowerResult(
        n_loci=n,
        threshold=float(threshold),
        support_log10=float(support),
        gated=gated,
        p_support_h1=dist_h1.tail(support) if math.isfinite(support) else (0.0, 0.0),
        p_threshold_h1=dist_h1.tail(threshold),
        p_threshold_h2=p_thr_h2,
        p_support_h2=dist_h2.tail(support) if math.isfinite(support) else (0.0, 0.0),
        n_candidates=n_candidates,
        expected_false_hits=None if n_candidates is None else (n_candidates * p_thr_h2[0], n_candidates * p_thr_h2[1]),
        quantiles_h1={float(q): dist_h1.quantile(q) for q in quantiles},
        expected_lr_h2=float(10.0 ** log10_c),
        h=h,
    )
