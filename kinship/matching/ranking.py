"""Ranking and conclusions of candidate-family pairs.

Conclusions follow the Chinese paternity-testing rules (GB/T 37223-2018, *Paternity testing
guide*; SF/Z JD0105001-2016, *Specification of paternity testing*), applied to LRs computed
under the mutation model:

* CPI >= 10,000 (log10 >= 4) -> ``support``: "supports parentage: send for lab confirmation";
* 3 or more inconsistent loci, or CPI < 0.0001 (log10 < -4) -> ``excluded``; 3 or more
  inconsistent loci always read excluded, and are *flagged* if the CPI is nonetheless >= 10,000;
* otherwise ``inconclusive``: "inconclusive: type more loci or the other parent".

Posterior probabilities are not pairwise: a pair's posterior depends on every other family
and candidate on file (:mod:`kinship.matching.posterior`, :mod:`kinship.matching.assignment`).

Rankings are deterministic: by descending log10 LR, ties broken by ascending id (the input
order, which callers keep sorted by id).
"""

from __future__ import annotations

import numpy as np

from kinship.genetics.relationships import PARENT_KINDS

__all__ = [
    "SUPPORT_LOG10_CPI",
    "EXCLUSION_LOG10_CPI",
    "EXCLUSION_N_INCONSISTENT",
    "CONCLUSION_TEXT",
    "conclusion_text",
    "conclude",
    "rank_descending",
    "relative_chance",
]

def N_(message: str) -> str:
    """Mark an English text for translation (gettext ``report`` domain); returns it unchanged.

    The report translates these texts when it shows them (:mod:`kinship.report.html`); the
    matching layer itself stays free of any translation machinery."""
    return message


SUPPORT_LOG10_CPI = 4.0
EXCLUSION_LOG10_CPI = -4.0
EXCLUSION_N_INCONSISTENT = 3

CONCLUSION_TEXT = {
    "support": N_("supports parentage: send for lab confirmation"),
    "excluded": N_("excluded"),
    "inconclusive": N_("inconclusive: type more loci or the other parent"),
}


def conclusion_text(conclusion: str, family_kind: str) -> str:
    """What a conclusion asks of a case manager, for a family of ``family_kind``
    (:func:`kinship.genetics.relationships.family_kind`): :data:`CONCLUSION_TEXT`, worded for
    the relatives the family has. English; every text is a msgid of the ``report`` catalogue
    (marked :func:`N_`), translated by the report.

    Examples
    --------
    >>> conclusion_text("inconclusive", "mother only")
    'inconclusive: type more loci or the other parent'
    >>> conclusion_text("inconclusive", "siblings")
    'inconclusive: type more loci or more relatives (a parent helps most: scripts/flow power)'
    >>> conclusion_text("support", "siblings")
    'supports the relationship: send for lab confirmation'
    """
    if family_kind == "couple" and conclusion == "inconclusive":
        return N_("inconclusive: type more loci")
    if family_kind not in PARENT_KINDS:
        if conclusion == "support":
            return N_("supports the relationship: send for lab confirmation")
        if conclusion == "inconclusive":
            return N_("inconclusive: type more loci or more relatives (a parent helps most: scripts/flow power)")
    return CONCLUSION_TEXT.get(conclusion, conclusion)


def conclude(
    log10_cpi: np.ndarray,
    n_inconsistent: np.ndarray,
    *,
    support_log10: float = SUPPORT_LOG10_CPI,
    exclusion_log10: float = EXCLUSION_LOG10_CPI,
    exclusion_n_inconsistent: int = EXCLUSION_N_INCONSISTENT,
) -> tuple[np.ndarray, np.ndarray]:
    """Conclusion of each pair under the GB/T 37223-2018 rules.

    Parameters
    ----------
    log10_cpi : ndarray of float64, any shape
        Combined log10 LR (``-inf`` allowed).
    n_inconsistent : ndarray of int, same shape
        Mendelian-inconsistent loci.

    Returns
    -------
    conclusion : ndarray of str (``"support"``, ``"excluded"``, ``"inconclusive"``)
    flagged : ndarray of bool
        ``n_inconsistent >= 3`` but CPI >= 10,000: excluded by rule, contradicted by the LR;
        a case for review.

    Examples
    --------
    >>> c, f = conclude(np.array([6.0, 6.0, -5.0, 1.0]), np.array([0, 3, 0, 1]))
    >>> c.tolist(), f.tolist()
    (['support', 'excluded', 'excluded', 'inconclusive'], [False, True, False, False])
    """
    log10_cpi = np.asarray(log10_cpi)
    n_inconsistent = np.asarray(n_inconsistent)
    too_many = n_inconsistent >= exclusion_n_inconsistent
    out = np.full(log10_cpi.shape, "inconclusive", dtype=object)
    out[log10_cpi >= support_log10] = "support"
    out[(log10_cpi < exclusion_log10) | too_many] = "excluded"
    flagged = too_many & (log10_cpi >= support_log10)
    return out.astype(str), flagged


def rank_descending(scores: np.ndarray, axis: int) -> np.ndarray:
    """1-based rank of each entry along ``axis`` by descending score, ties by position.

    Parameters
    ----------
    scores : ndarray of float64, shape (n_candidates, n_families)
    axis : int
        1: rank the families of each candidate; 0: rank the candidates of each family.

    Returns
    -------
    ndarray of int32, same shape

    Examples
    --------
    >>> rank_descending(np.array([[1.0, 3.0, 3.0, -np.inf]]), axis=1).tolist()
    [[3, 1, 2, 4]]
    """
    order = np.argsort(-scores, axis=axis, kind="stable")
    ranks = np.empty_like(order)
    idx = np.arange(scores.shape[axis])
    shape = [1, 1]
    shape[axis] = -1
    np.put_along_axis(ranks, order, np.broadcast_to(idx.reshape(shape), scores.shape), axis=axis)
    return (ranks + 1).astype(np.int32)


def relative_chance(log10_cpi: float) -> float:
    """The relative chance of paternity (RCP, Essen-Möller's W) at prior 0.5, as GB/T 37223-2018
    and SF/Z JD0105001-2016 reports give it beside the CPI: ``CPI / (CPI + 1)``.

    Parameters
    ----------
    log10_cpi : float
        log10 of the combined paternity (or kinship) index; ``-inf`` for an exclusion.

    Returns
    -------
    float
        In [0, 1]; computed as ``1 / (1 + 10**-log10_cpi)``, so a CPI of 10^300 still gives 1.0.

    Examples
    --------
    >>> round(relative_chance(4.0), 6)
    0.9999
    >>> relative_chance(0.0), relative_chance(float("-inf"))
    (0.5, 0.0)
    """
    if log10_cpi == float("-inf"):
        return 0.0
    if log10_cpi < -300:
        return 0.0
    return 1.0 / (1.0 + 10.0 ** (-log10_cpi))
