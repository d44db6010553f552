"""Brute-force two-locus pedigree likelihoods, independent of ``kinship.likelihood.peeling``.

For tests of :mod:`kinship.likelihood.linkage` only (small pedigrees, 2-3 alleles per locus).
Nothing is pruned, nothing is eliminated, no symmetry is used: every ordered allele of every
member at each locus is enumerated (founders' from the allele frequencies, non-founders' by
the mutation matrix from the parental allele the inheritance vector picks), and every pair
of inheritance vectors ``(v1, v2)`` over all meioses of the pedigree, with

    P(v1, v2) = 2^-m prod_meioses r^[v1 bit != v2 bit] (1 - r)^[v1 bit == v2 bit].

Given ``(v1, v2)`` the two loci share nothing, so the sum over the founder haplotypes and
the non-founder alleles at both loci of the full product is ``A1(v1) A2(v2)`` with ``A_l`` the
enumeration sum at locus ``l`` (exact algebra, not an approximation). theta = 0 only.

Observations (``schemas/genotype_encoding.v2.json``): ``(i, j)`` complete, ``(i, -2)`` the
partial ``i/?``, ``(-1, -1)`` untyped. The child's table rows are enumerated here in the
schema's order: complete genotypes ``i <= j`` at row ``j (j + 1) / 2 + i``, partial ``i/?``
at ``n (n + 1) / 2 + i``, untyped last.
"""

from __future__ import annotations

import itertools

import numpy as np


def observations(n: int) -> list[tuple[int, int]]:
    """The child's observations in table-row order."""
    out = [(i, j) for j in range(n) for i in range(j + 1)]
    out += [(i, -2) for i in range(n)]
    out.append((-1, -1))
    return out


def allows(obs: tuple[int, int], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether an observation allows the ordered allele pairs ``(x, y)``."""
    i, j = obs
    if i == -1:
        return np.ones(x.shape, dtype=bool)
    if j == -2:
        return (x == i) | (y == i)
    return ((x == i) & (y == j)) | ((x == j) & (y == i))


def all_meioses(father, mother) -> list[tuple[int, int, bool]]:
    """(child slot, parent member, from the father) for every non-founder, member order."""
    out = []
    for k in range(len(father)):
        if father[k] >= 0:
            out.append((2 * k, father[k], True))
            out.append((2 * k + 1, mother[k], False))
    return out


def locus_rows(father, mother, child, genotypes, afreq, M_male, M_female) -> np.ndarray:
    """``X[v, row] = P(child observed as row, typed members' observations | v)`` at one locus.

    Parameters
    ----------
    father, mother : sequence of int (-1 for a founder)
    child : int
        The member whose observations make the rows (its own genotype in ``genotypes`` is
        ignored).
    genotypes : sequence of (int, int), one per member
    afreq : ndarray (n,)
    M_male, M_female : ndarray (n, n)

    Returns
    -------
    ndarray, shape (2^m, n_rows)
    """
    n = len(afreq)
    K = len(father)
    a = np.array(list(itertools.product(range(n), repeat=2 * K)), dtype=np.int64)
    base = np.ones(a.shape[0])
    for k in range(K):
        if father[k] < 0:
            base = base * afreq[a[:, 2 * k]] * afreq[a[:, 2 * k + 1]]
        if k != child and genotypes[k][0] != -1:
            base = base * allows(tuple(genotypes[k]), a[:, 2 * k], a[:, 2 * k + 1])
    mei = all_meioses(father, mother)
    m = len(mei)
    obs = observations(n)
    child_ok = np.stack([allows(o, a[:, 2 * child], a[:, 2 * child + 1]) for o in obs])  # (R, N)
    X = np.zeros((1 << m, len(obs)))
    for v in range(1 << m):
        w = base.copy()
        for bit, (slot, parent, paternal) in enumerate(mei):
            b = (v >> (m - 1 - bit)) & 1
            M = M_male if paternal else M_female
            w = w * M[a[:, 2 * parent + b], a[:, slot]]
        X[v] = child_ok @ w
    return X


def transition(m: int, r: float) -> np.ndarray:
    """``P(v1, v2)``, shape (2^m, 2^m)."""
    V = 1 << m
    P = np.zeros((V, V))
    for v1 in range(V):
        for v2 in range(V):
            p = 0.5**m
            for bit in range(m):
                differ = ((v1 >> bit) & 1) != ((v2 >> bit) & 1)
                p *= r if differ else 1.0 - r
            P[v1, v2] = p
    return P


def two_locus(father, mother, child, genotypes_1, genotypes_2, afreq_1, afreq_2, M1, M2, r) -> np.ndarray:
    """``P(child observed as (row1, row2), typed members at both loci)``, shape (R1, R2).

    ``M1``, ``M2``: (male, female) mutation matrices of each locus.
    """
    X1 = locus_rows(father, mother, child, genotypes_1, afreq_1, *M1)
    X2 = locus_rows(father, mother, child, genotypes_2, afreq_2, *M2)
    m = len(all_meioses(father, mother))
    return X1.T @ transition(m, r) @ X2


def single_locus(father, mother, child, genotypes, afreq, M) -> np.ndarray:
    """``P(child observed as row, typed members)`` at one locus alone, shape (R,)."""
    X = locus_rows(father, mother, child, genotypes, afreq, *M)
    return X.mean(axis=0)
