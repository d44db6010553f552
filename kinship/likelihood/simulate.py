"""Seeded simulation of a child's profile from its parents' profiles.

Mendelian transmission: each parent passes one of its two alleles with probability 1/2, then
(optionally) the passed allele mutates to allele ``b`` with probability ``M[a, b]`` of that
parent's mutation matrix (the same matrices the likelihoods use, :mod:`kinship.genetics.mutation`).
Loci are independent. Reproducible: the same seed gives the same child.
"""

from __future__ import annotations

import numpy as np

from kinship.genetics.encoding import UNTYPED

__all__ = ["simulate_child"]


def simulate_child(
    father: np.ndarray,
    mother: np.ndarray,
    rng: np.random.Generator,
    *,
    M_male: list[np.ndarray] | None = None,
    M_female: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate one child of two typed parents.

    Parameters
    ----------
    father, mother : ndarray of int16, shape (n_loci, 2)
        Allele indices of the parents, all loci typed.
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducibility).
    M_male, M_female : list of ndarray of float64, each (n_alleles_l, n_alleles_l), optional
        Per-locus mutation matrices. ``None`` means no mutation.

    Returns
    -------
    child : ndarray of int16, shape (n_loci, 2)
        Allele indices, sorted within each pair.
    mutated : ndarray of bool, shape (n_loci, 2)
        Whether the paternal (column 0) / maternal (column 1) allele mutated.

    Raises
    ------
    ValueError
        If a parent is untyped at a locus.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> child, mutated = simulate_child(np.array([[0, 0]]), np.array([[1, 1]]), rng)
    >>> child.tolist(), mutated.tolist()
    ([[0, 1]], [[False, False]])
    """
    father = np.asarray(father)
    mother = np.asarray(mother)
    if np.any(father == UNTYPED) or np.any(mother == UNTYPED):
        raise ValueError("simulate_child needs both parents typed at every locus")
    n_loci = father.shape[0]
    child = np.empty((n_loci, 2), dtype=np.int16)
    mutated = np.zeros((n_loci, 2), dtype=bool)
    for column, (parent, matrices) in enumerate(((father, M_male), (mother, M_female))):
        pick = rng.integers(0, 2, size=n_loci)
        passed = parent[np.arange(n_loci), pick]
        u = rng.random(n_loci)
        for locus in range(n_loci):
            allele = int(passed[locus])
            if matrices is not None:
                cdf = np.cumsum(matrices[locus][allele])
                new = int(min(np.searchsorted(cdf, u[locus] * cdf[-1], side="right"), cdf.size - 1))
                mutated[locus, column] = new != allele
                allele = new
            child[locus, column] = allele
    child.sort(axis=1)
    return child, mutated
