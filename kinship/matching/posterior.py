"""Posterior probabilities after database size: one candidate against every family on file.

A case manager's question about a hit is not "how strong is this LR?" but "how likely is it
that this family is the child's, given everyone else on file?". With 10^6 families on file,
a mother-only pair at CPI 10^4.5 is as likely to be one of the ~10^6 x P(LR >= 10^4.5 |
unrelated) chance pairs as the child's mother; a pairwise posterior under a prior of 0.5
("> 99.99 %") hides that. This module gives the posterior over the whole database.

The model (candidate's side)
----------------------------
Hypotheses for candidate ``c``: ``H_f`` - family ``f`` (one of the ``N`` on file) is the
candidate's, for each ``f``; ``H_0`` - the candidate's family is not on file. Prior
``P(H_0) = pi_0`` and ``P(H_f) = (1 - pi_0) / N`` (uniform over the families on file). Against
the common baseline "unrelated to every family", the likelihood of ``H_f`` is ``LR_cf`` and
that of ``H_0`` is 1 (the candidate's genotypes then have their population probability under
every family), so by Bayes' rule over the ``N + 1`` hypotheses (the identification posterior
with a prior spread over the candidates of a mass-identification search, as discussed by
Brenner & Weir 2003, "Issues and strategies in the DNA identification of World Trade Center
victims", *Theor. Popul. Biol.* 63:173-178; dvir's posterior pairing probabilities, Vigeland &
Egeland 2021, "Joint DNA-based disaster victim identification", *Sci. Rep.* 11:13661, are the
joint version, :mod:`kinship.matching.assignment`):

    P(H_f | data) = w LR_cf / (pi_0 + w sum_f' LR_cf'),        w = (1 - pi_0) / N.

The family's side is the same with the roles swapped: ``N`` candidates, ``rho_0 = P(the
family's missing child is not among the candidates)``.

Pairs not kept
--------------
Only the kept pairs' LRs are known (each candidate's best ``k`` families, each family's best
``k`` candidates, every pair at or above the reporting threshold:
:mod:`kinship.matching.streaming`). The rest of the sum, ``S_c = sum over the R_c families not
kept of LR_cf``, is taken at its expectation under "unrelated", ``E[S_c] = R_c``, because
``E[LR | unrelated] = sum_g P(g) P(g | family) / P(g) = 1`` for every family (the genotype
probabilities under the family sum to 1; tested for every family kind in tests/property). A pair that is not kept is below the
candidate's ``k``-th best LR (``kth_c``; its best ``k`` are all kept) and below the reporting
threshold ``t``, so ``S_c <= R_c 10^b_c`` with ``b_c = min(kth_c, t)``: with the rest at that
bound the posterior is at its lowest (``posterior_lower``, a sure bound). ``posterior`` takes
the rest at ``R_c min(1, 10^b_c)``: its expectation, unless the bound says every pair left out
is below 1 (then the expectation of 1 each is impossible, and the bound is used). Why not sum ``10^LR`` over every pair in the kernel:
that adds an exponential to each of the 10^11 pairs of a national run (the kernel is a pure
gather-and-sum, issue 12's throughput), makes an incremental run's sums depend on the shard
order, and changes the answer by little: the rest's expectation is ``R_c`` exactly, and its
sure bound is reported next to it.

Every sum is taken in log space (``numpy.logaddexp``) in a fixed order (each owner's kept
values sorted by descending LR, then partner index), so the same kept pairs give the same bytes
in a full and an incremental run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Posteriors", "database_posteriors", "log10_none_weight"]

_LN10 = np.log(10.0)


@dataclass(frozen=True)
class Posteriors:
    """Posterior of each kept pair from one side (candidate's or family's).

    Attributes
    ----------
    posterior : ndarray of float64, shape (n_pairs,)
        With the pairs not kept at their expectation (1 each).
    lower : ndarray of float64, shape (n_pairs,)
        With the pairs not kept at their bound (a sure lower bound on the posterior).
    not_on_file : ndarray of float64, shape (n_owners,)
        Posterior of "not on file" for each owner (with the rest at its expectation).
    log10_rest : ndarray of float64, shape (n_owners,)
        log10 of the LR sum taken for the owner's pairs not kept (``log10 R + min(0, bound)``;
        ``-inf`` if none).
    """

    posterior: np.ndarray
    lower: np.ndarray
    not_on_file: np.ndarray
    log10_rest: np.ndarray


def _log10_sum(values: np.ndarray, owners: np.ndarray, n_owners: int) -> np.ndarray:
    """``log10 sum 10^values`` per owner (``-inf`` for an owner with none). ``values`` must be
    grouped by owner (sorted by the caller); each group is reduced left to right by
    ``numpy.logaddexp.reduceat``, a fixed order, so the same input gives the same bytes."""
    out = np.full(n_owners, -np.inf)
    if values.size == 0:
        return out
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    out[owners[starts]] = np.logaddexp.reduceat(values * _LN10, starts) / _LN10
    return out


def _log10_denominators(log10_lr, owner, partner, kept_in_sum, *, n_owners, n_partners, log10_bound,
                        prior_not_on_file):
    """``log10 (pi_0 + w (sum of the owner's kept LRs marked kept_in_sum + S))`` per owner, with
    the ``R`` pairs not kept at ``S = R min(1, 10^bound)`` (expected) and ``S = R 10^bound`` (bound)."""
    n_kept = np.bincount(owner, minlength=n_owners)
    if n_kept.size and n_kept.max(initial=0) > n_partners:
        raise ValueError(f"an owner has {int(n_kept.max())} kept pairs but only {n_partners} partners are on file")
    lr, own, par = log10_lr[kept_in_sum], owner[kept_in_sum], partner[kept_in_sum]
    order = np.lexsort((par, -lr, own))
    kept_sum = _log10_sum(lr[order], own[order], n_owners)
    n_rest = (n_partners - n_kept).astype(np.float64)
    with np.errstate(divide="ignore"):
        log10_rest = np.log10(n_rest)
    bound = np.where(n_rest > 0, np.asarray(log10_bound, dtype=np.float64), 0.0)
    log10_w = np.log10(1.0 - prior_not_on_file) - np.log10(float(n_partners)) if n_partners else -np.inf
    log10_pi0 = np.log10(prior_not_on_file)

    def denominator(rest: np.ndarray) -> np.ndarray:
        on_file = np.logaddexp(kept_sum * _LN10, rest * _LN10) / _LN10 + log10_w
        return np.logaddexp(log10_pi0 * _LN10, on_file * _LN10) / _LN10

    expected = log10_rest + np.minimum(bound, 0.0)
    return denominator(expected), denominator(log10_rest + bound), expected, log10_w, log10_pi0


def database_posteriors(
    log10_lr: np.ndarray,
    owner: np.ndarray,
    partner: np.ndarray,
    *,
    n_owners: int,
    n_partners: int,
    log10_bound: np.ndarray,
    prior_not_on_file: float,
) -> Posteriors:
    """Posterior of each kept pair over all ``n_partners`` on file plus "not on file".

    Parameters
    ----------
    log10_lr : ndarray of float64, shape (n_pairs,)
        log10 LR of each kept pair (``-inf`` allowed); each (owner, partner) at most once.
    owner, partner : ndarray of int, shape (n_pairs,)
        Index of the pair's owner (the candidate, for the candidate's side) in
        ``[0, n_owners)`` and of its partner (the family) in ``[0, n_partners)``.
    n_owners, n_partners : int
        Owners and partners on file (``n_partners`` is the ``N`` of the prior).
    log10_bound : ndarray of float64, shape (n_owners,)
        An upper bound on the log10 LR of each owner's pairs not kept (the owner's ``k``-th best
        kept value capped by the reporting threshold); ignored for an owner whose pairs are all kept.
    prior_not_on_file : float
        ``pi_0``, 0 < pi_0 < 1: prior probability that the owner's partner is not on file;
        the rest is spread uniformly over the ``n_partners``.

    Returns
    -------
    Posteriors

    Raises
    ------
    ValueError
        ``prior_not_on_file`` outside (0, 1), or more kept pairs for an owner than partners.

    Notes
    -----
    ``P(H_f) = w LR_f / (pi_0 + w (sum_kept LR + S))`` with ``w = (1 - pi_0) / N`` and ``S`` the
    LR sum of the ``R`` pairs not kept: ``S = R`` (its expectation) for ``posterior``,
    ``S = R 10^bound`` for ``lower`` (module docstring for the sources).

    Examples
    --------
    One candidate, two families on file, both kept, LR 100 and 1, prior 1/2 for "not on file":
    ``w = 1/4``; ``P = 25 / (1/2 + 25 + 1/4) = 0.9709``.

    >>> p = database_posteriors(np.array([2.0, 0.0]), np.array([0, 0]), np.array([0, 1]),
    ...                         n_owners=1, n_partners=2, log10_bound=np.array([0.0]),
    ...                         prior_not_on_file=0.5)
    >>> p.posterior.round(4).tolist(), p.not_on_file.round(4).tolist()
    ([0.9709, 0.0097], [0.0194])

    The same LR of 100 with 10^6 families on file, the other 999,999 not kept (each below 10^0):
    ``w = 5e-7``; ``P = 5e-5 / (0.5 + 5e-5 + 0.5) = 5e-5``.

    >>> p = database_posteriors(np.array([2.0]), np.array([0]), np.array([0]), n_owners=1,
    ...                         n_partners=10**6, log10_bound=np.array([0.0]), prior_not_on_file=0.5)
    >>> float(p.posterior[0].round(8)), float(p.lower[0].round(8))
    (5e-05, 5e-05)
    """
    if not 0.0 < prior_not_on_file < 1.0:
        raise ValueError(f"prior_not_on_file = {prior_not_on_file!r}; expected 0 < prior_not_on_file < 1")
    log10_lr = np.asarray(log10_lr, dtype=np.float64)
    owner = np.asarray(owner, dtype=np.int64)
    partner = np.asarray(partner, dtype=np.int64)
    d_expected, d_bound, log10_rest, log10_w, log10_pi0 = _log10_denominators(
        log10_lr, owner, partner, np.ones(log10_lr.size, dtype=bool), n_owners=n_owners, n_partners=n_partners,
        log10_bound=log10_bound, prior_not_on_file=prior_not_on_file)
    posterior = 10.0 ** (log10_w + log10_lr - d_expected[owner])
    lower = 10.0 ** (log10_w + log10_lr - d_bound[owner])
    return Posteriors(posterior, lower, 10.0 ** (log10_pi0 - d_expected), log10_rest)


def log10_none_weight(
    log10_lr: np.ndarray,
    owner: np.ndarray,
    partner: np.ndarray,
    leave_out: np.ndarray,
    *,
    n_owners: int,
    n_partners: int,
    log10_bound: np.ndarray,
    prior_not_on_file: float,
) -> np.ndarray:
    """log10 of each owner's weight for "none of the pairs left out": ``pi_0 + w (sum of its
    other kept LRs + the rest at its expectation)``, the denominator of
    :func:`database_posteriors` less the pairs marked ``leave_out`` (the ``b_c`` of
    :mod:`kinship.matching.assignment`).

    Parameters are those of :func:`database_posteriors`, plus ``leave_out`` (ndarray of bool,
    shape (n_pairs,)): the pairs the joint assignment places.

    Examples
    --------
    Two families kept for one candidate out of 2 on file, LR 100 (placed jointly) and 1,
    prior 1/2: ``b = 1/2 + 1/4 x 1``.

    >>> b = log10_none_weight(np.array([2.0, 0.0]), np.array([0, 0]), np.array([0, 1]),
    ...       np.array([True, False]), n_owners=1, n_partners=2, log10_bound=np.array([0.0]),
    ...       prior_not_on_file=0.5)
    >>> round(float(10 ** b[0]), 12)
    0.75
    """
    log10_lr = np.asarray(log10_lr, dtype=np.float64)
    owner = np.asarray(owner, dtype=np.int64)
    partner = np.asarray(partner, dtype=np.int64)
    expected, _, _, _, _ = _log10_denominators(
        log10_lr, owner, partner, ~np.asarray(leave_out, dtype=bool), n_owners=n_owners, n_partners=n_partners,
        log10_bound=log10_bound, prior_not_on_file=prior_not_on_file)
    return expected
