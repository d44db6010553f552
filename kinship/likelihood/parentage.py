"""Per-family genotype tables of the missing child, and pairwise parentage indices.

For a family (the typed parents of one missing child) and one locus, the table holds, for
every genotype ``g`` the missing child could have,

    log10 LR(g) = log10 P(g | parents) - log10 P(g),

the likelihood ratio of H1 "the candidate with genotype g is this family's missing child"
against H2 "the candidate is unrelated to it". Scoring a candidate is then a table look-up per
locus (see :mod:`kinship.matching.reference`).

Transmission (Egeland, Kling & Mostad 2016, eq. 2.9; Vigeland 2021, sec. 3.4): a parent with
genotype ``{x1, x2}`` and mutation matrix ``M`` passes allele ``a`` with probability

    t(a) = (M[x1, a] + M[x2, a]) / 2,

and an untyped parent passes ``t = p M`` (its founder alleles pass through the mutation
matrix too; for a non-stationary model ``p M != p``). The child's genotype probability is

    P(a/a | parents) = t_m(a) t_f(a),   P(a/b | parents) = t_m(a) t_f(b) + t_m(b) t_f(a),

and under H2, by Hardy-Weinberg, ``P(a/a) = p_a^2``, ``P(a/b) = 2 p_a p_b``. Typed parents'
own genotype probabilities are the same under H1 and H2 (no theta correction) and cancel.
This is exact for duos and trios and equals Familias/forrel with untyped members kept.

A locus where no parent is typed is not counted as compared, but its table is still the exact
one: both parents transmit ``p M``, which differs from ``p`` under a non-stationary mutation
model, so the LR is close to but not exactly 1 (forrel and Familias, with untyped members kept,
give the same value). A locus where the *candidate* is untyped contributes exactly 0. Assumptions: HWE, linkage equilibrium between loci
(the combined LR is the sum of the per-locus log10 LRs), theta = 0.

Partial genotypes and silent alleles (:mod:`kinship.likelihood.phenotypes`). A parent whose
observation allows several genotypes (``a/?``; ``a/a`` that may be ``a/s`` when the run uses a
silent allele ``s``) transmits the expectation over them, weighted by their Hardy-Weinberg
probabilities (a parent is a founder under both hypotheses, so its genotype's posterior given
its observation is ``P(g) / P(observation)``):

    t(a) = sum_{x,y} E[x, y] p_x p_y (M[x, a] + M[y, a]) / 2  /  sum_{x,y} E[x, y] p_x p_y,

exact because the child's probability is linear in each parent's transmission vector. The
child's observation probability sums over the genotypes it allows
(:func:`kinship.likelihood.phenotypes.child_rows`): the table has a row for every partial
genotype ``i/?`` of the candidate, and the row of ``a/a`` holds ``P(a/a) + P(a/s)``. For the
trio of the silent-allele example (mother p/q, child apparently q/q, alleged father apparently
r/r) this gives, without mutation, ``P(child | trio) = o / (2 (r + 2o))``.
"""

from __future__ import annotations

import numpy as np

from kinship.genetics.encoding import UNTYPED, check_allele_pairs, genotype_alleles
from kinship.likelihood.phenotypes import child_rows, is_ambiguous, observed_pairs

__all__ = [
    "transmission",
    "hwe_genotype_probs",
    "family_locus_tables",
]


def transmission(genotypes: np.ndarray, M: np.ndarray, afreq: np.ndarray, *, silent: int | None = None) -> np.ndarray:
    """Probability that each parent transmits each allele.

    Parameters
    ----------
    genotypes : ndarray of int, shape (n_families, 2)
        Allele-index pairs of the parent in each family (``schemas/genotype_encoding.v2.json``):
        complete, partial ``(i, -2)``, or ``(-1, -1)`` where untyped.
    M : ndarray of float64, shape (n_alleles, n_alleles)
        The parent's mutation matrix (identity for no mutation).
    afreq : ndarray of float64, shape (n_alleles,)
    silent : int, optional
        Index of the locus's silent allele, if the run uses one.

    Returns
    -------
    ndarray of float64, shape (n_families, n_alleles)
        ``(M[x1] + M[x2]) / 2`` for a typed parent, ``afreq @ M`` for an untyped one, and for
        an observation allowing several genotypes (partial; an apparent homozygote with a
        silent allele) their average weighted by Hardy-Weinberg (module docstring).

    Raises
    ------
    ReuniteInputError
        Invalid allele-index pairs (:func:`kinship.genetics.encoding.check_allele_pairs`).

    Examples
    --------
    >>> p = np.array([0.25, 0.75])
    >>> transmission(np.array([[0, 1], [-1, -1]]), np.eye(2), p).tolist()
    [[0.5, 0.5], [0.25, 0.75]]

    A parent typed ``1/?``: genotypes 1/1 and 1/2 with weights ``p_1^2`` and ``2 p_1 p_2``.

    It passes allele 1 with probability ``(p_1^2 + p_1 p_2) / (p_1^2 + 2 p_1 p_2) = 1 / (1 + p_2)``.

    >>> transmission(np.array([[0, -2]]), np.eye(2), p).round(12).tolist()
    [[0.571428571429, 0.428571428571]]
    """
    g = check_allele_pairs(genotypes, M.shape[0])
    typed = g[:, 0] != UNTYPED
    out = np.empty((g.shape[0], M.shape[0]), dtype=np.float64)
    safe = np.where(typed[:, None] & (g >= 0), g, 0)
    out[:] = 0.5 * (M[safe[:, 0]] + M[safe[:, 1]])
    out[~typed] = afreq @ M
    amb = np.flatnonzero(is_ambiguous(g, silent))
    if amb.size:
        E = observed_pairs(g[amb], M.shape[0], silent)
        r = afreq[None, :] * (E @ afreq)  # r_x = p_x sum_y E[x, y] p_y
        out[amb] = (r @ M) / r.sum(axis=1, keepdims=True)
    return out


def hwe_genotype_probs(afreq: np.ndarray) -> np.ndarray:
    """Hardy-Weinberg genotype probabilities in genotype-index order.

    Examples
    --------
    >>> hwe_genotype_probs(np.array([0.25, 0.75])).tolist()
    [0.0625, 0.375, 0.5625]
    """
    i, j = genotype_alleles(afreq.shape[0])
    prob = 2.0 * afreq[i] * afreq[j]
    prob[i == j] *= 0.5
    return prob


def family_locus_tables(
    father: np.ndarray,
    mother: np.ndarray,
    afreq: np.ndarray,
    M_male: np.ndarray,
    M_female: np.ndarray,
    *,
    silent: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Log10 LR and Mendelian-inconsistency tables of many families at one locus.

    Parameters
    ----------
    father, mother : ndarray of int, shape (n_families, 2)
        Allele-index pairs of each family's father and mother (complete, partial ``(i, -2)``,
        or ``(-1, -1)`` where not typed or not on file). A family must have at least one typed
        parent to be informative.
    afreq : ndarray of float64, shape (n_alleles,)
        Effective allele frequencies.
    M_male, M_female : ndarray of float64, shape (n_alleles, n_alleles)
        Mutation matrices (paternal and maternal rates).
    silent : int, optional
        Index of the locus's silent allele, if the run uses one (an apparent homozygote may
        carry it; :mod:`kinship.likelihood.phenotypes`).

    Returns
    -------
    log10_lr : ndarray of float64, shape (n_table_rows, n_families)
        ``log10 P(g | parents) - log10 P(g)`` for every observation ``g`` of the candidate in
        table order (``schemas/genotype_encoding.v2.json``: complete genotypes, then partial
        ``i/?``, then the untyped row, which is 0); ``-inf`` where ``g`` is impossible (only
        without mutation).
    inconsistent : ndarray of int8, shape (n_table_rows, n_families)
        1 where ``g`` cannot be formed from the typed parents without mutation, else 0; last
        row 0; all 0 for a family with no typed parent at the locus.

    References
    ----------
    Egeland, Kling & Mostad (2016), Relationship Inference with Familias and R, eq. 2.9.
    Brenner CH (1993) A note on paternity computation in cases lacking a mother.
    Transfusion 33:51-54 (the duo closed forms this reproduces without mutation).

    Examples
    --------
    Duo, parent a/a and candidate a/a: LR = 1/p_a (Brenner 1993).

    >>> p = np.array([0.2, 0.8]); I = np.eye(2)
    >>> lr, inc = family_locus_tables(np.array([[0, 0]]), np.array([[-1, -1]]), p, I, I)
    >>> round(float(10 ** lr[0, 0]), 12)   # genotype 0 = a/a: 1/p_a
    5.0
    >>> inc[:, 0].tolist()      # a/a, a/b, b/b, a/?, b/?, untyped
    [0, 0, 1, 0, 0, 0]

    A candidate typed ``b/?`` against that parent: P(b/? | a/a) = p_b, P(b/?) = 2 p_b - p_b^2.

    >>> round(float(10 ** lr[4, 0]), 12), round(0.8 / (2 * 0.8 - 0.8 ** 2), 12)
    (0.833333333333, 0.833333333333)
    """
    father = check_allele_pairs(father, afreq.shape[0])
    mother = check_allele_pairs(mother, afreq.shape[0])
    h2 = child_rows(afreq[None, :], afreq[None, :], silent)

    t_father = transmission(father, M_male, afreq, silent=silent)
    t_mother = transmission(mother, M_female, afreq, silent=silent)
    h1 = child_rows(t_father, t_mother, silent)
    with np.errstate(divide="ignore"):
        log10_lr = np.log10(h1) - np.log10(h2)

    eye = np.eye(afreq.shape[0])
    h1_plain = child_rows(transmission(father, eye, afreq, silent=silent), transmission(mother, eye, afreq, silent=silent), silent)
    inconsistent = (h1_plain == 0.0).astype(np.int8)

    n_families = father.shape[0]
    log10_lr = np.vstack([log10_lr, np.zeros((1, n_families))])
    inconsistent = np.vstack([inconsistent, np.zeros((1, n_families), dtype=np.int8)])
    return log10_lr, inconsistent
