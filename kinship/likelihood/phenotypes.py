"""What a typed genotype says about the true genotype: partial genotypes and silent alleles.

A lab's call is an *observation* (a phenotype); the likelihood needs the set of true genotypes
it allows:

* a complete heterozygote ``a/b`` allows ``a/b`` only;
* a complete apparent homozygote ``a/a`` allows ``a/a`` and, when the locus has a silent
  (null) allele ``s`` in the run's table, also ``a/s`` (the null allele does not amplify);
* a partial genotype ``a/?`` (one allele known, the other not) allows ``a/x`` for every allele
  ``x`` of the table, ``s`` included;
* an untyped person allows every genotype.

Every likelihood of the project sums over this set (the standard treatment of ambiguous
phenotypes: Elston & Stewart 1971, the penetrance function; Familias's silent allele,
Egeland, Kling & Mostad 2016, *Relationship Inference with Familias and R*; Vigeland 2021,
*Pedigree Analysis in R*). The genotype ``s/s``
is never observed (it shows as a failed locus, i.e. untyped).

A family's table over the missing child (``schemas/genotype_encoding.v2.json``) has a row for
every complete genotype ``g`` and every partial genotype ``i/?``; each row holds the probability
of that *observation* of the child: with a silent allele the row of ``a/a`` is
``P(a/a) + P(a/s)``, and the row of ``i/?`` is ``sum_x P(i/x)``. :func:`child_rows` computes
the rows from the child's two transmission vectors, :func:`joint_rows` from an ordered joint
(peeling), and :func:`unrelated_rows` gives, for the calibration, the observations an unrelated
child typed at a locus can show and their probabilities.
"""

from __future__ import annotations

import numpy as np

from kinship.genetics.encoding import UNKNOWN, UNTYPED, check_allele_pairs, genotype_alleles, n_genotypes

__all__ = ["observed_pairs", "is_ambiguous", "child_rows", "joint_rows", "unrelated_rows"]


def is_ambiguous(genotypes: np.ndarray, silent: int | None = None) -> np.ndarray:
    """Where an observation allows more than one unordered genotype (partial, or a homozygote
    at a locus with a silent allele), shape ``genotypes.shape[:-1]``.

    Examples
    --------
    >>> is_ambiguous(np.array([[0, 0], [0, 1], [1, -2], [-1, -1]]), silent=2).tolist()
    [True, False, True, False]
    """
    g = np.asarray(genotypes)
    out = g[..., 1] == UNKNOWN
    if silent is not None:
        out = out | ((g[..., 0] == g[..., 1]) & (g[..., 0] >= 0))
    return out


def observed_pairs(genotypes: np.ndarray, n_alleles: int, silent: int | None = None) -> np.ndarray:
    """Indicator of the ordered allele pairs each observation allows, shape (B, n, n).

    Parameters
    ----------
    genotypes : ndarray of int, shape (B, 2)
        Allele-index pairs (``schemas/genotype_encoding.v2.json``): complete, partial
        ``(i, -2)`` or untyped ``(-1, -1)``.
    n_alleles : int
    silent : int, optional
        Index of the locus's silent allele in the table, if the run uses one.

    Returns
    -------
    ndarray of float64, shape (B, n_alleles, n_alleles)
        1 where the ordered pair ``(x, y)`` is a genotype the observation allows (both orders of
        an unordered genotype), else 0; all 1 for an untyped person.

    Examples
    --------
    >>> E = observed_pairs(np.array([[1, -2], [0, 0]]), 3, silent=2)
    >>> E[0].astype(int).tolist()      # 1/?: 1/x for every x
    [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    >>> E[1].astype(int).tolist()      # apparent 0/0: 0/0 or 0/silent
    [[1, 0, 1], [0, 0, 0], [1, 0, 0]]
    """
    g = check_allele_pairs(genotypes, n_alleles)
    B = g.shape[0]
    E = np.zeros((B, n_alleles, n_alleles))
    typed = g[:, 0] != UNTYPED
    partial = g[:, 1] == UNKNOWN
    full = np.flatnonzero(typed & ~partial)
    E[full, g[full, 0], g[full, 1]] = 1.0
    E[full, g[full, 1], g[full, 0]] = 1.0
    part = np.flatnonzero(partial)
    E[part, g[part, 0], :] = 1.0
    E[part, :, g[part, 0]] = 1.0
    if silent is not None:
        hom = np.flatnonzero(typed & ~partial & (g[:, 0] == g[:, 1]))
        E[hom, g[hom, 0], silent] = 1.0
        E[hom, silent, g[hom, 0]] = 1.0
    E[~typed] = 1.0
    return E


def child_rows(t_father: np.ndarray, t_mother: np.ndarray, silent: int | None = None) -> np.ndarray:
    """Probability of every observation of a child whose two alleles come independently.

    Parameters
    ----------
    t_father, t_mother : ndarray of float64, shape (B, n)
        Probability that the father (mother) transmits each allele; for an unrelated child
        both are the allele frequencies (Hardy-Weinberg).
    silent : int, optional
        Index of the silent allele, if the run uses one.

    Returns
    -------
    ndarray of float64, shape (n(n+1)/2 + n, B)
        Rows in table order (``schemas/genotype_encoding.v2.json``): complete genotypes
        ``P(a/b) = t_m(a) t_f(b) + t_m(b) t_f(a)``, ``P(a/a) = t_m(a) t_f(a)``, with a silent
        allele ``P(a/a) + P(a/s)`` in the row of ``a/a``; then the partial genotypes
        ``P(i/?) = sum_x P(i/x) = t_m(i) S_f + S_m t_f(i) - t_m(i) t_f(i)`` with ``S`` the sums
        of the transmission vectors.

    Examples
    --------
    An unrelated child, frequencies 0.8 and 0.2: ``P(2/?) = 2 p - p^2 = 0.36``.

    >>> p = np.array([[0.8, 0.2]])
    >>> child_rows(p, p)[:, 0].round(12).tolist()   # 1/1 1/2 2/2 1/? 2/?
    [0.64, 0.32, 0.04, 0.96, 0.36]
    """
    t_father = np.asarray(t_father, dtype=np.float64)
    t_mother = np.asarray(t_mother, dtype=np.float64)
    n = t_father.shape[1]
    i, j = genotype_alleles(n)
    # computed in the output's layout (rows of alleles, families along the row): whole-row
    # gathers instead of strided column ones, and no transposing copy at the end
    f_rows, m_rows = np.ascontiguousarray(t_father.T), np.ascontiguousarray(t_mother.T)
    s_f = t_father.sum(axis=1)
    s_m = t_mother.sum(axis=1)
    out = np.empty((i.size + n, t_father.shape[0]))
    complete = out[: i.size]
    np.multiply(m_rows[i], f_rows[j], out=complete)
    complete += m_rows[j] * f_rows[i]
    complete[i == j] *= 0.5
    if silent is not None:
        hom = np.arange(n)
        hom = hom[hom != silent]
        complete[hom * (hom + 1) // 2 + hom] += m_rows[hom] * f_rows[[silent]] + m_rows[[silent]] * f_rows[hom]
    out[i.size:] = m_rows * s_f + s_m * f_rows - m_rows * f_rows
    return out


def joint_rows(J: np.ndarray, silent: int | None = None) -> np.ndarray:
    """Probability of every observation of a child from its ordered joint, shape (B, n(n+1)/2 + n).

    Parameters
    ----------
    J : ndarray of float64, shape (B, n, n)
        ``J[b, x, y]``: probability (jointly with the evidence) that the child's paternal
        allele is ``x`` and its maternal allele ``y``.
    silent : int, optional

    Returns
    -------
    ndarray of float64, shape (B, n(n+1)/2 + n)
        As :func:`child_rows` (transposed): complete genotypes ``J[a, b] + J[b, a]``
        (``J[a, a]``), with a silent allele ``+ J[a, s] + J[s, a]`` in the row of ``a/a``; then
        ``P(i/?) = sum_y J[i, y] + sum_x J[x, i] - J[i, i]``.

    Examples
    --------
    >>> p = np.array([0.8, 0.2]); J = np.outer(p, p)[None]
    >>> joint_rows(J)[0].round(12).tolist()
    [0.64, 0.32, 0.04, 0.96, 0.36]
    """
    J = np.asarray(J, dtype=np.float64)
    n = J.shape[1]
    i, j = genotype_alleles(n)
    complete = J[:, i, j] + J[:, j, i]
    complete[:, i == j] *= 0.5
    if silent is not None:
        hom = np.arange(n)
        hom = hom[hom != silent]
        complete[:, hom * (hom + 1) // 2 + hom] += J[:, hom, silent] + J[:, silent, hom]
    diag = np.diagonal(J, axis1=1, axis2=2)
    partial = J.sum(axis=2) + J.sum(axis=1) - diag
    return np.concatenate([complete, partial], axis=1)


def unrelated_rows(afreq: np.ndarray, silent: int | None = None, *, partial: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The observations an unrelated child typed at a locus can show, and their probabilities.

    For the calibration (:mod:`kinship.likelihood.calibration`): the candidate is typed at the
    locus, so the observations are conditioned on being typed.

    Parameters
    ----------
    afreq : ndarray of float64, shape (n,)
    silent : int, optional
        Index of the silent allele: ``s/s`` shows as untyped, so it is left out and the rest is
        renormalised by ``1 - p_s^2``; a genotype ``a/s`` shows as ``a/a``.
    partial : bool
        The candidate is typed partially at this locus (``i/?``): an unrelated child typed so
        shows one of its two alleles, each with probability 1/2, so the known allele is ``i``
        with probability ``p_i`` (renormalised by ``1 - p_s``: the silent allele is never the
        known one).

    Returns
    -------
    rows : ndarray of int64
        Table rows (``schemas/genotype_encoding.v2.json``) of the possible observations.
    probs : ndarray of float64
        Their probabilities under Hardy-Weinberg; they sum to 1 (without a silent allele, the
        Hardy-Weinberg genotype probabilities as they are: the table's frequencies sum to 1).

    Examples
    --------
    >>> rows, probs = unrelated_rows(np.array([0.5, 0.4, 0.1]), silent=2)
    >>> rows.tolist(), probs.round(6).tolist()   # 0/0 0/1 1/1 (no genotype with the silent allele)
    ([0, 1, 2], [0.353535, 0.40404, 0.242424])
    """
    afreq = np.asarray(afreq, dtype=np.float64)
    n = afreq.shape[0]
    if partial:
        known = np.array([k for k in range(n) if k != silent], dtype=np.int64)
        probs = afreq[known] / afreq[known].sum()
        return n_genotypes(n) + known, probs
    rows_all = child_rows(afreq[None], afreq[None], silent)[: n_genotypes(n), 0]
    if silent is None:
        return np.arange(n_genotypes(n), dtype=np.int64), rows_all
    i, j = genotype_alleles(n)
    rows = np.flatnonzero((i != silent) & (j != silent))
    probs = rows_all[rows]
    return rows.astype(np.int64), probs / probs.sum()
