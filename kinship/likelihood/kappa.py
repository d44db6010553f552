"""Pairwise kinship index from IBD coefficients (κ0, κ1, κ2), for any two people.

For two non-inbred people X, Y with genotypes ``gx``, ``gy`` at one locus and a relationship
with identity-by-descent probabilities ``kappa = (κ0, κ1, κ2)`` (Thompson 1975; Weir, Anderson
& Hepler 2006, Nat Rev Genet 7:771, eq. 3),

    LR = P(gx, gy | kappa) / P(gx, gy | unrelated) = κ0 + κ1 · P1(gy | gx) / P(gy) + κ2 · [gx = gy] / P(gy),

where ``P1(gy | gx)`` is the probability of ``gy`` when one of its alleles is a copy of an
allele of ``gx`` chosen with probability 1/2 and the other is drawn from ``p``, and ``P(gy)`` is
Hardy-Weinberg. No mutation and θ = 0: this is the fast screen and the report's explanation;
the reported LRs come from exact peeling (:mod:`kinship.likelihood.peeling`), which equals this index for
these pairs without mutation (tested).

Standard coefficients (:data:`KAPPA`): parent-child (0, 1, 0); full siblings (1/4, 1/2, 1/4);
half siblings, grandparent-grandchild, avuncular (1/2, 1/2, 0); first cousins (3/4, 1/4, 0);
unrelated (1, 0, 0).
"""

from __future__ import annotations

import numpy as np

from kinship.genetics.encoding import UNKNOWN, UNTYPED, check_allele_pairs, genotype_alleles, genotype_index, table_row
from kinship.errors import ReuniteInputError

__all__ = ["KAPPA", "kappa_lr", "kappa_locus_tables"]

KAPPA = {
    "parent_child": (0.0, 1.0, 0.0),
    "full_sibling": (0.25, 0.5, 0.25),
    "half_sibling": (0.5, 0.5, 0.0),
    "grandparent_grandchild": (0.5, 0.5, 0.0),
    "avuncular": (0.5, 0.5, 0.0),
    "first_cousin": (0.75, 0.25, 0.0),
    "unrelated": (1.0, 0.0, 0.0),
}


def _kappa(kappa) -> np.ndarray:
    k = np.asarray(KAPPA[kappa] if isinstance(kappa, str) else kappa, dtype=np.float64)
    if k.shape != (3,) or np.any(k < 0) or not np.isclose(k.sum(), 1.0):
        raise ReuniteInputError(
            f"kappa {kappa!r}; expected one of {sorted(KAPPA)} or three non-negative numbers summing to 1"
        )
    return k


def _conditional(x: np.ndarray, afreq: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P(gy | gx)`` over complete ``gy`` for complete ``gx`` (rows), and the LR ``P(gy | gx) / P(gy)``."""
    k0, k1, k2 = k
    n = afreq.shape[0]
    i, j = genotype_alleles(n)
    hom = i == j
    hwe = np.where(hom, afreq[i] ** 2, 2.0 * afreq[i] * afreq[j])
    # P1(gy | gx): for each allele a of gx (prob 1/2): gy = a/b with b ~ p
    p1 = np.zeros((x.shape[0], i.size))
    for col in (0, 1):
        a = x[:, col][:, None]
        from_i = (i[None, :] == a) * afreq[j][None, :]
        from_j = (j[None, :] == a) * afreq[i][None, :]
        p1 += 0.5 * np.where(hom[None, :], from_i, from_i + from_j)
    same = (i[None, :] == x[:, 0:1]) & (j[None, :] == x[:, 1:2])
    lr = k0 + k1 * p1 / hwe[None, :] + k2 * same / hwe[None, :]
    return lr * hwe[None, :], lr


def kappa_locus_tables(x: np.ndarray, afreq: np.ndarray, kappa) -> np.ndarray:
    """log10 LR of every genotype of Y against each typed X at one locus (kernel layout).

    The LR of the relationship against unrelatedness, ``P(gx, gy) / (P(gx) P(gy))`` with
    ``P(gy | gx) = k0 P(gy) + k1 P1(gy | gx) + k2 [gy = gx]`` (Thompson 1975; Weir, Anderson &
    Hepler 2006, table 1). A partial genotype (``a/?``, of X or of Y) is the sum over the
    unknown allele: for X, ``P(gy | a/?)`` is the average of ``P(gy | a/x)`` over ``x`` weighted
    by ``P(a/x)``; for Y, the row of ``b/?`` is ``sum_x P(b/x | gx) / sum_x P(b/x)``.

    Parameters
    ----------
    x : ndarray of int, shape (n_people, 2)
        Allele-index pairs of the X's (``schemas/genotype_encoding.v2.json``: partial
        ``(i, -2)`` allowed; ``(-1, -1)`` untyped: LR 1).
    afreq : ndarray of float64, shape (n_alleles,)
    kappa : str or sequence of 3 floats

    Returns
    -------
    ndarray of float64, shape (n_table_rows, n_people)
        Rows in table order (complete genotypes, partial genotypes, then 0 for an untyped Y):
        the same layout as a family table, so the matching kernel scores a κ screen of every
        candidate against every reference.

    Examples
    --------
    Parent-child, X = a/a, Y = a/a: the duo PI 1/p_a.

    >>> t = kappa_locus_tables(np.array([[0, 0]]), np.array([0.2, 0.8]), "parent_child")
    >>> round(float(10 ** t[0, 0]), 12)
    5.0
    """
    k = _kappa(kappa)
    n = afreq.shape[0]
    x = check_allele_pairs(x, n)
    i, j = genotype_alleles(n)
    hwe = np.where(i == j, afreq[i] ** 2, 2.0 * afreq[i] * afreq[j])
    typed = x[:, 0] != UNTYPED
    partial = x[:, 1] == UNKNOWN
    xs = np.where((typed & ~partial)[:, None], x, 0)
    cond, lr = _conditional(xs, afreq, k)
    for r in np.flatnonzero(partial):
        a = int(x[r, 0])
        pairs = np.array([(min(a, b), max(a, b)) for b in range(n)])
        w = hwe[pairs[:, 1] * (pairs[:, 1] + 1) // 2 + pairs[:, 0]]
        c, _ = _conditional(pairs, afreq, k)
        cond[r] = (w[:, None] * c).sum(axis=0) / w.sum()
        lr[r] = cond[r] / hwe
    has = (i[None, :] == np.arange(n)[:, None]) | (j[None, :] == np.arange(n)[:, None])  # (n, G)
    lr_partial = (cond @ has.T) / (has @ hwe)[None, :]
    lr = np.concatenate([lr, lr_partial], axis=1)
    lr[~typed] = 1.0
    with np.errstate(divide="ignore"):
        out = np.log10(lr).T
    return np.vstack([out, np.zeros((1, x.shape[0]))])


def kappa_lr(gx: np.ndarray, gy: np.ndarray, afreq: list[np.ndarray], kappa) -> tuple[np.ndarray, float]:
    """Per-locus and combined log10 LR of two people for a relationship ``kappa``.

    Parameters
    ----------
    gx, gy : ndarray of int, shape (n_loci, 2)
        Allele-index pairs (partial ``(i, -2)`` allowed; ``(-1, -1)`` untyped: the locus
        contributes 0).
    afreq : list of ndarray of float64, length n_loci
    kappa : str or sequence of 3 floats

    Returns
    -------
    per_locus : ndarray of float64, shape (n_loci,)
    total : float
        Sum of the per-locus log10 LRs.

    Examples
    --------
    Full siblings both a/b: (1 + p_a + p_b + 2 p_a p_b) / (8 p_a p_b) (Weir et al. 2006).

    >>> p = np.array([0.1, 0.2, 0.7])
    >>> per, tot = kappa_lr(np.array([[0, 1]]), np.array([[0, 1]]), [p], "full_sibling")
    >>> round(float(10 ** tot), 10), round((1 + .1 + .2 + 2 * .02) / (8 * .02), 10)
    (8.375, 8.375)
    """
    gx, gy = np.asarray(gx), np.asarray(gy)
    per = np.zeros(gx.shape[0])
    for l in range(gx.shape[0]):
        if gy[l, 0] == UNTYPED:
            continue
        t = kappa_locus_tables(gx[l : l + 1], afreq[l], kappa)
        per[l] = t[int(table_row(genotype_index(gy[l]), t.shape[0])), 0]
    return per, float(per.sum())
