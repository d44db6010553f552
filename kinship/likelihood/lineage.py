"""Y-STR lineages: a candidate's haplotype against a paternal-line relative's, as a likelihood ratio.

The Y chromosome passes unchanged from father to son except for mutation, so a male candidate
who is the missing son of a family shares the haplotype of every male relative linked to him
by father links only (father, brothers, paternal half-brothers, paternal grandfather, paternal
uncles), up to the mutations of the ``m`` meioses between them. The hypotheses are those of the
autosomal LR: H1 the candidate is the missing child, H2 he is unrelated to the family.

Likelihood ratio (our statement of the standard lineage comparison; the sources of its two
terms are given with each):

``LR = P(h_c | h_r, H1, m meioses) / P(h_c | H2)``

* **Numerator**: each copy of each compared locus mutates independently in each meiosis with
  probability ``mu`` (per copy per generation, ``kinship/data/ystr_mutation_rates.csv``), up or
  down with equal probability, by ``s >= 1`` repeat units with probability ``(1 - rho)
  rho^(s - 1)`` (the stepwise mutation model of Ohta & Kimura 1973 with a geometric step size,
  as the autosomal stepwise model's ``range``; ``rho = 0`` is the single-step model). Over
  ``m`` meioses the net change ``d`` has the distribution of the ``m``-fold convolution of the
  one-meiosis kernel (:func:`stepwise_distribution`, computed exactly up to a truncation of the
  step size whose mass is below 1e-20), and the chain is symmetric, so the direction of the
  path (up to a common ancestor, then down) does not matter. With ``rho > 0`` no difference is
  impossible: a two-step difference between father and son is rare evidence against H1, never
  an exclusion by itself.
* **Denominator**: the haplotype frequency in the store's own male profiles, by counting
  (SWGDAM 2014, *Interpretation Guidelines for Y-Chromosome STR Typing*, counting method): the
  candidate's haplotype is added to the database, so with ``x`` matching haplotypes among ``N``
  the estimate is ``(x + 1) / (N + 1)`` (:func:`haplotype_frequency`), with its one-sided upper
  confidence bound by Clopper & Pearson (1934, *Biometrika* 26:404-413) at ``x + 1`` of ``N + 1``.
  The conservative LR divides by the upper bound. The family's own lineage (its references) and
  the candidate himself are left out of ``x`` and ``N`` (:func:`count_haplotype_matches`). The
  frequency is taken at the loci that were compared, and a database haplotype counts in ``N``
  only if it is typed at all of them.

Loci are *slots* here: one column per copy (a single-copy locus with a duplication has two
slots, a multi-copy locus such as DYS385a/b two). Which slots are compared, and their step
counts, come from the caller (:mod:`kinship.app.lineage` reads stored genotypes into them).
The Y evidence multiplies the autosomal LR under independence of the Y chromosome from the
autosomes (log10 values are added by the caller).

A discrete Laplace model of haplotype frequencies (Andersen, Eriksen & Morling 2013, *J Theor
Biol* 329:39-51) is the alternative for large databases; it is not implemented.
"""

from __future__ import annotations

from typing import Sequence

import math

import numpy as np
from scipy.stats import beta

__all__ = [
    "DEFAULT_STEP_RATIO",
    "stepwise_distribution",
    "log10_transmission",
    "paternal_line_meioses",
    "count_haplotype_matches",
    "haplotype_frequency",
    "log10_lr_bound",
]


#: Default ratio of an (s+1)-step to an s-step Y-STR mutation: the autosomal stepwise default
#: (``MutationModel.range``, Familias' convention), not fitted to Y-STR data (an unsourced default;
#: a parameter of the match run).
DEFAULT_STEP_RATIO = 0.1


def _max_step(rho: float, needed: int) -> int:
    """Largest single-meiosis step kept: the mass of larger steps is below 1e-20 of a mutation."""
    if rho <= 0.0:
        return 1
    return max(1, needed) + int(math.ceil(20.0 / -math.log10(rho)))


def stepwise_distribution(mu: float, meioses: int, step_ratio: float = 0.0, *, max_step: int | None = None) -> np.ndarray:
    """Distribution of the net repeat change of one Y-STR copy over ``meioses`` generations.

    Stepwise model: in each meiosis the copy stays with probability ``1 - mu`` and gains or loses
    ``s`` repeat units with probability ``mu / 2 (1 - rho) rho^(s - 1)`` each, ``s = 1, 2, ...``
    (Ohta & Kimura 1973, *Genet Res* 22:201-204, with a geometric step size; ``rho = 0`` is the
    single-step model). The ``m``-generation distribution is the exact ``m``-fold convolution,
    steps above ``max_step`` left out (their mass, ``mu rho^max_step``, is given back to the
    largest step kept, so the distribution sums to 1).

    Parameters
    ----------
    mu : float
        Mutation probability per copy per generation, ``0 <= mu < 1``.
    meioses : int
        Number of meioses ``m >= 0`` between the two men.
    step_ratio : float
        ``rho``, ``0 <= rho < 1``.
    max_step : int, optional
        Largest step of one meiosis (default: 1 when ``rho = 0``, else enough for a mass below 1e-20).

    Returns
    -------
    ndarray of float64, shape (2 m S + 1,)
        ``P[d + m S]`` is the probability of a net change of ``d`` repeats, ``S = max_step``; sums to 1.

    Examples
    --------
    One meiosis (father and son), single-step: no change with ``1 - mu``.

    >>> stepwise_distribution(0.002, 1).tolist()
    [0.001, 0.998, 0.001]

    Two meioses (brothers): ``P(0) = (1 - mu)^2 + mu^2 / 2``, ``P(+-1) = mu (1 - mu)``, ``P(+-2) = mu^2 / 4``.

    >>> p = stepwise_distribution(0.1, 2)
    >>> [round(float(v), 6) for v in p]
    [0.0025, 0.09, 0.815, 0.09, 0.0025]

    Multi-step, one meiosis, ``rho = 0.1``: a two-step change has ``mu / 2 x 0.9 x 0.1``; the
    three-step entry holds the mass of every step >= 3 (``max_step = 3``).

    >>> p = stepwise_distribution(0.002, 1, 0.1, max_step=3)
    >>> [round(float(v), 9) for v in p]
    [1e-05, 9e-05, 0.0009, 0.998, 0.0009, 9e-05, 1e-05]
    """
    S = max_step if max_step is not None else _max_step(step_ratio, 1)
    if step_ratio <= 0.0:
        S = 1 if max_step is None else S
    kernel = np.zeros(2 * S + 1, dtype=np.float64)
    kernel[S] = 1.0 - mu
    sizes = (1.0 - step_ratio) * step_ratio ** np.arange(S) if step_ratio > 0 else np.eye(1, S)[0]
    sizes[-1] += 1.0 - sizes.sum()  # the tail beyond S, given back to the largest step kept
    kernel[S + 1:] = mu / 2.0 * sizes
    kernel[:S] = (mu / 2.0 * sizes)[::-1]
    out = np.ones(1, dtype=np.float64)
    for _ in range(int(meioses)):
        out = np.convolve(out, kernel)
    return out


def log10_transmission(steps: np.ndarray, mu: np.ndarray, meioses: np.ndarray, step_ratio: float = 0.0) -> np.ndarray:
    """``log10 P(h_c | h_r, m meioses)`` of each pair: the sum over compared slots of ``log10 P_m(|d|)``.

    Parameters
    ----------
    steps : ndarray of int, shape (n_pairs, n_slots)
        Absolute repeat difference at each slot (copy) of each pair; ``-1`` where the slot is not
        compared (untyped in either man, or a locus left out by the caller).
    mu : ndarray of float64, shape (n_slots,)
        Mutation probability per copy per generation of each slot.
    meioses : ndarray of int, shape (n_pairs,)
        Meioses between the candidate (as the missing child) and the reference, ``>= 1``.
    step_ratio : float
        ``rho`` of :func:`stepwise_distribution` (0: single-step).

    Returns
    -------
    ndarray of float64, shape (n_pairs,)
        ``-inf`` only under the single-step model, where a slot differs by more steps than
        meioses; 0 for a pair with no compared slot.

    Examples
    --------
    Father and son (one meiosis) matching at two loci of rate 0.002, then one step apart at one:

    >>> mu = np.array([0.002, 0.002])
    >>> out = log10_transmission(np.array([[0, 0], [0, 1], [0, 2]]), mu, np.array([1, 1, 1]))
    >>> bool(np.isclose(out[0], 2 * np.log10(0.998))), bool(np.isclose(out[1], np.log10(0.998 * 0.001)))
    (True, True)
    >>> out[2]
    np.float64(-inf)

    With multi-step mutation (``rho = 0.1``) the two-step difference has ``0.998 x 0.001 x 0.9 x 0.1``:

    >>> out = log10_transmission(np.array([[0, 2]]), mu, np.array([1]), 0.1)
    >>> bool(np.isclose(out[0], np.log10(0.998 * 0.001 * 0.9 * 0.1), rtol=1e-9))
    True
    """
    steps = np.asarray(steps)
    mu = np.asarray(mu, dtype=np.float64)
    meioses = np.asarray(meioses)
    n_pairs, n_slots = steps.shape
    out = np.zeros(n_pairs, dtype=np.float64)
    compared = steps >= 0
    needed = int(steps.max(initial=0))
    for m in np.unique(meioses):
        rows = np.flatnonzero(meioses == m)
        m = int(m)
        S = _max_step(step_ratio, needed)
        reach = m * S  # largest net change with a positive probability
        # table[s, d] = log10 P_m(d) for d = 0..reach, and -inf for d = reach + 1 (any larger step)
        table = np.full((n_slots, reach + 2), -np.inf)
        with np.errstate(divide="ignore"):
            for s, rate in enumerate(mu):
                table[s, : reach + 1] = np.log10(stepwise_distribution(float(rate), m, step_ratio, max_step=S)[reach:])
        d = np.clip(steps[rows], 0, reach + 1)
        vals = table[np.arange(n_slots)[None, :], d]
        out[rows] = np.where(compared[rows], vals, 0.0).sum(axis=1)
    return out


def paternal_line_meioses(father: Sequence[int], a: int, b: int) -> int | None:
    """Meioses between members ``a`` and ``b`` along father links only, or ``None`` if they share no paternal-line ancestor.

    Walks up father links from ``a`` and from ``b``; the first common member ``A`` gives
    ``depth(a, A) + depth(b, A)`` (the Y chromosome is passed only from father to son, so only
    father links carry it). Whether ``b`` is male is the caller's check.

    Parameters
    ----------
    father : sequence of int
        Index of each member's father, ``-1`` for none (:attr:`kinship.likelihood.pedigree.Pedigree.father`).
    a, b : int
        Member indices.

    Returns
    -------
    int or None

    Examples
    --------
    Members 0 missing child, 1 father, 2 paternal grandfather, 3 brother, 4 paternal uncle,
    5 mother (her own father 6): father 1, brother 2, grandfather 2, uncle 3, mother's father none.

    >>> fa = [1, 2, -1, 1, 2, 6, -1]
    >>> [paternal_line_meioses(fa, 0, k) for k in (1, 3, 2, 4, 6)]
    [1, 2, 2, 3, None]
    """
    depth_a: dict[int, int] = {}
    k, d = a, 0
    while k >= 0 and k not in depth_a:
        depth_a[k] = d
        k, d = father[k], d + 1
    k, d, seen = b, 0, set()
    while k >= 0 and k not in seen:
        if k in depth_a:
            return depth_a[k] + d
        seen.add(k)
        k, d = father[k], d + 1
    return None


def count_haplotype_matches(
    database: np.ndarray,
    queries: np.ndarray,
    compared: np.ndarray,
    *,
    exclude_query: np.ndarray | None = None,
    exclude_row: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Count database haplotypes equal to each query haplotype at the query's compared slots.

    Parameters
    ----------
    database : ndarray of int, shape (n_db, n_slots)
        Slot codes of the database's male haplotypes; negative codes other than ``-1`` are
        values (an absent copy, a null allele); ``-1`` means untyped.
    queries : ndarray of int, shape (n_queries, n_slots)
        Slot codes of the haplotypes whose frequency is wanted.
    compared : ndarray of bool, shape (n_queries, n_slots)
        Slots each query is counted at.
    exclude_query, exclude_row : ndarray of int, shape (n_excluded,), optional
        Pairs (query, database row) to leave out of that query's counts (the candidate himself
        and the family's own lineage).

    Returns
    -------
    x : ndarray of int64, shape (n_queries,)
        Database haplotypes typed at every compared slot and equal to the query there.
    n : ndarray of int64, shape (n_queries,)
        Database haplotypes typed at every compared slot.

    Notes
    -----
    Queries are grouped by their compared slots; each group costs one pass over the database
    (``np.unique`` of its rows' codes), so 10^4 queries over 10^5 haplotypes with a few
    distinct slot sets take well under a second.

    Examples
    --------
    >>> db = np.array([[14, 11], [14, 12], [14, -1], [15, 11]])
    >>> q = np.array([[14, 11], [14, 11]])
    >>> x, n = count_haplotype_matches(db, q, np.array([[True, True], [True, False]]))
    >>> x.tolist(), n.tolist()
    ([1, 3], [3, 4])
    >>> x, n = count_haplotype_matches(db, q, np.array([[True, True], [True, False]]),
    ...                                exclude_query=np.array([0]), exclude_row=np.array([0]))
    >>> x.tolist(), n.tolist()
    ([0, 3], [2, 4])
    """
    database = np.asarray(database, dtype=np.int32)
    queries = np.asarray(queries, dtype=np.int32)
    compared = np.asarray(compared, dtype=bool)
    n_q = len(queries)
    x = np.zeros(n_q, dtype=np.int64)
    n = np.zeros(n_q, dtype=np.int64)
    if n_q == 0:
        return x, n
    masks, group = np.unique(compared, axis=0, return_inverse=True)
    group = group.reshape(-1)
    typed = database != -1
    for g, mask in enumerate(masks):
        rows = np.flatnonzero(group == g)
        slots = np.flatnonzero(mask)
        if len(slots) == 0:
            n[rows] = len(database)
            x[rows] = len(database)
            continue
        eligible = typed[:, slots].all(axis=1)
        db_keys = np.ascontiguousarray(database[eligible][:, slots])
        q_keys = np.ascontiguousarray(queries[rows][:, slots])
        n[rows] = int(eligible.sum())
        if len(db_keys) == 0:
            continue
        view = np.dtype((np.void, db_keys.dtype.itemsize * len(slots)))
        uniq, counts = np.unique(db_keys.view(view).reshape(-1), return_counts=True)
        qv = q_keys.view(view).reshape(-1)
        pos = np.searchsorted(uniq, qv)
        pos_c = np.minimum(pos, len(uniq) - 1)
        hit = (pos < len(uniq)) & (uniq[pos_c] == qv)
        x[rows] = np.where(hit, counts[pos_c], 0)
    if exclude_query is not None and len(exclude_query):
        eq = np.asarray(exclude_query, dtype=np.int64)
        er = np.asarray(exclude_row, dtype=np.int64)
        m = compared[eq]
        elig = (typed[er] | ~m).all(axis=1)
        same = ((database[er] == queries[eq]) | ~m).all(axis=1) & elig
        np.subtract.at(n, eq, elig.astype(np.int64))
        np.subtract.at(x, eq, same.astype(np.int64))
    return x, n


def haplotype_frequency(x: np.ndarray, n: np.ndarray, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Haplotype frequency by counting, and its upper confidence bound.

    The questioned haplotype is added to the database (SWGDAM 2014, counting method): ``x + 1``
    occurrences among ``N + 1`` haplotypes. Point estimate ``(x + 1) / (N + 1)``; upper bound the
    one-sided Clopper-Pearson (1934) limit for ``k = x + 1`` successes in ``n' = N + 1`` trials,
    the ``confidence`` quantile of Beta(k + 1, n' - k) (1 when ``k = n'``).

    Parameters
    ----------
    x, n : ndarray of int, shape (n_queries,)
        Matching and eligible database haplotypes (:func:`count_haplotype_matches`), ``0 <= x <= n``.
    confidence : float
        One-sided confidence level of the upper bound, ``0 < confidence < 1``.

    Returns
    -------
    point, upper : ndarray of float64, shape (n_queries,)

    Examples
    --------
    Not seen among 999 men: point 1/1000; upper bound the root of ``P(X <= 1 | 1000, p) = 0.05``.

    >>> p, u = haplotype_frequency(np.array([0]), np.array([999]))
    >>> float(p[0]), round(float(u[0]), 6)
    (0.001, 0.004735)
    >>> from scipy.stats import binom
    >>> bool(np.isclose(binom.cdf(1, 1000, u[0]), 0.05))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    k, total = x + 1.0, n + 1.0
    point = k / total
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = np.where(k >= total, 1.0, beta.ppf(confidence, k + 1.0, np.maximum(total - k, 1e-300)))
    return point, upper


def log10_lr_bound(n_haplotypes: int, *, confidence: float = 0.95) -> float:
    """The largest log10 Y-STR LR any pair can reach against a database of ``n_haplotypes`` men.

    The numerator is a probability (at most 1) and the denominator, the frequency's upper bound
    of :func:`haplotype_frequency`, is smallest for a haplotype seen nowhere (``x = 0``) among
    the most haplotypes (``N = n_haplotypes``): ``-log10 upper(0, N)``. Used to bound what the
    Y evidence of a pair the run did not keep could add (:func:`kinship.app.match_run.assess`)
    and the tail of a combined LR (:func:`kinship.likelihood.calibration.tail_probability_with_factor`).

    Examples
    --------
    >>> round(log10_lr_bound(999), 4)  # upper bound 0.004735 (see haplotype_frequency)
    2.3247
    """
    _, upper = haplotype_frequency(np.array([0]), np.array([int(n_haplotypes)]), confidence=confidence)
    return float(-np.log10(upper[0]))
