"""Seeded simulation of a child's profile from its parents' profiles.

Mendelian transmission: each parent passes one of its two alleles with probability 1/2, then
(optionally) the passed allele mutates to allele ``b`` with probability ``M[a, b]`` of that
parent's mutation matrix (the same matrices the likelihoods use, :mod:`kinship.genetics.mutation`).
:func:`simulate_child` treats loci as independent; :func:`simulate_linked_child` transmits a
pair of linked loci from phased parents with a recombination fraction, and
:func:`simulate_y_transmission` passes a Y haplotype from father to son with single-step
mutation. Reproducible: the same seed gives the same child.
"""

from __future__ import annotations

import numpy as np

from kinship.genetics.encoding import UNTYPED

__all__ = ["simulate_child", "simulate_linked_child", "simulate_y_transmission"]


def _mutated(M: np.ndarray, allele: int, u: float) -> int:
    """The allele a transmitted ``allele`` becomes: inverse-CDF draw from row ``M[allele]`` with
    the uniform ``u`` (one draw per transmission, so the stream of draws is fixed)."""
    cdf = np.cumsum(M[allele])
    return int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), cdf.size - 1))


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
                new = _mutated(matrices[locus], allele, u[locus])
                mutated[locus, column] = new != allele
                allele = new
            child[locus, column] = allele
    child.sort(axis=1)
    return child, mutated


def simulate_linked_child(
    father: np.ndarray,
    mother: np.ndarray,
    rng: np.random.Generator,
    *,
    r: float,
    M_male: list[np.ndarray] | None = None,
    M_female: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate one child at two linked loci from two *phased* parents.

    Per meiosis (father first, then mother), the grandparental origin ``h`` (0 or 1: the
    parent's haplotype) is drawn with probability 1/2 at the first locus; at the second locus
    the origin switches to ``1 - h`` with probability ``r`` (a recombination between the loci)
    and stays ``h`` otherwise. The passed alleles then mutate as in :func:`simulate_child`.
    With ``r = 1/2`` the two loci are transmitted independently, as :func:`simulate_child`
    does (in distribution; the random draws differ).

    Parameters
    ----------
    father, mother : ndarray of int16, shape (2, 2)
        Allele indices of the parents at (first locus, second locus); column ``h`` holds
        haplotype ``h`` (the phase): ``father[0, h]`` and ``father[1, h]`` came from the same
        grandparent. All typed.
    rng : numpy.random.Generator
    r : float
        Recombination fraction between the two loci, in [0, 1/2].
    M_male, M_female : list of two ndarray of float64, each (n_alleles_l, n_alleles_l), optional
        Mutation matrices of the two loci; ``None`` means no mutation.

    Returns
    -------
    child : ndarray of int16, shape (2, 2)
        Phased child: column 0 the paternal haplotype, column 1 the maternal one (*not*
        sorted within a locus, so the child can be a phased parent of the next generation).
    mutated : ndarray of bool, shape (2, 2)
        Whether the paternal (column 0) / maternal (column 1) allele mutated at each locus.

    Raises
    ------
    ValueError
        If a parent is untyped, the shapes are not (2, 2), or ``r`` is outside [0, 1/2].

    Examples
    --------
    Without recombination the father passes one whole haplotype:

    >>> rng = np.random.default_rng(3)
    >>> father = np.array([[0, 1], [2, 3]])           # haplotypes (0, 2) and (1, 3)
    >>> child, _ = simulate_linked_child(father, np.array([[4, 4], [5, 5]]), rng, r=0.0)
    >>> (int(child[0, 0]), int(child[1, 0])) in {(0, 2), (1, 3)}, child[:, 1].tolist()
    (True, [4, 5])
    """
    father = np.asarray(father)
    mother = np.asarray(mother)
    if father.shape != (2, 2) or mother.shape != (2, 2):
        raise ValueError(f"simulate_linked_child needs (2, 2) phased parents; got {father.shape} and {mother.shape}")
    if np.any(father == UNTYPED) or np.any(mother == UNTYPED):
        raise ValueError("simulate_linked_child needs both parents typed at both loci")
    if not 0.0 <= r <= 0.5:
        raise ValueError(f"recombination fraction {r!r}; expected 0 <= r <= 0.5")
    child = np.empty((2, 2), dtype=np.int16)
    mutated = np.zeros((2, 2), dtype=bool)
    for column, (parent, matrices) in enumerate(((father, M_male), (mother, M_female))):
        origin0 = int(rng.integers(0, 2))
        origin1 = 1 - origin0 if rng.random() < r else origin0
        u = rng.random(2)
        for locus, origin in enumerate((origin0, origin1)):
            allele = int(parent[locus, origin])
            if matrices is not None:
                new = _mutated(matrices[locus], allele, u[locus])
                mutated[locus, column] = new != allele
                allele = new
            child[locus, column] = allele
    return child, mutated


def simulate_y_transmission(
    father: np.ndarray, rates: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Pass a Y haplotype from father to son with single-step mutation.

    Each copy (slot) mutates independently with probability ``rates[k]`` per generation, by
    one repeat up or down with probability 1/2 each (the single-step stepwise model, e.g.
    Gusmao et al. 2006, Forensic Sci. Int. 157:187-197; the rates of
    ``kinship/data/ystr_mutation_rates.csv`` are per copy per generation). The Y chromosome
    passes from father to son only, without recombination.

    Parameters
    ----------
    father : ndarray of int, shape (n_slots,)
        Repeat counts of the father's copies (whole repeats; no nulls or microvariants).
    rates : ndarray of float64, shape (n_slots,)
        Mutation rate of each copy per generation, in [0, 1).
    rng : numpy.random.Generator

    Returns
    -------
    son : ndarray of int, shape (n_slots,)
        The son's repeat counts.
    steps : ndarray of int8, shape (n_slots,)
        The mutation of each copy: -1, 0 or +1.

    Raises
    ------
    ValueError
        If the shapes differ or a rate is outside [0, 1).

    Examples
    --------
    >>> son, steps = simulate_y_transmission(np.array([14, 23]), np.zeros(2), np.random.default_rng(0))
    >>> son.tolist(), steps.tolist()
    ([14, 23], [0, 0])
    >>> son, steps = simulate_y_transmission(np.array([14]), np.array([0.999999]), np.random.default_rng(0))
    >>> abs(int(steps[0])), abs(int(son[0]) - 14)
    (1, 1)
    """
    father = np.asarray(father)
    rates = np.asarray(rates, dtype=np.float64)
    if father.shape != rates.shape or father.ndim != 1:
        raise ValueError(f"Y haplotype of shape {father.shape} and rates of shape {rates.shape}; expected equal 1-d shapes")
    if np.any((rates < 0) | (rates >= 1)):
        raise ValueError("Y-STR mutation rates must lie in [0, 1)")
    u = rng.random(father.size)
    up = rng.random(father.size) < 0.5
    steps = np.where(u < rates, np.where(up, 1, -1), 0).astype(np.int8)
    return father + steps, steps
