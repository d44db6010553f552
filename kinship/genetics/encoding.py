"""Integer encoding of genotypes, as defined in ``schemas/genotype_encoding.v1.json``.

Profiles are stored as pairs of allele indices (int16, sorted, -1 = untyped). The matching
kernel uses one genotype index per locus: for allele indices ``i <= j`` it is
``j*(j+1)/2 + i`` (a triangular numbering, so the genotypes of the first ``n`` alleles are
exactly ``0 .. n(n+1)/2 - 1`` whatever alleles are added later), and ``-1`` if untyped.
"""

from __future__ import annotations

import numpy as np

from schemas import load_schema

__all__ = [
    "UNTYPED",
    "ALLELE_DTYPE",
    "GENOTYPE_DTYPE",
    "n_genotypes",
    "genotype_index",
    "genotype_alleles",
]

_SCHEMA = load_schema("genotype_encoding.v1")
UNTYPED: int = _SCHEMA["genotype_index"]["untyped"]
ALLELE_DTYPE = np.dtype(_SCHEMA["allele_index"]["dtype"])
GENOTYPE_DTYPE = np.dtype(_SCHEMA["genotype_index"]["dtype"])
assert _SCHEMA["allele_index"]["untyped"] == UNTYPED


def n_genotypes(n_alleles: int) -> int:
    """Number of unordered genotypes over ``n_alleles`` alleles, ``n(n+1)/2``.

    Examples
    --------
    >>> n_genotypes(4)
    10
    """
    return n_alleles * (n_alleles + 1) // 2


def genotype_index(alleles: np.ndarray) -> np.ndarray:
    """Genotype index of allele-index pairs.

    Parameters
    ----------
    alleles : ndarray of int, shape (..., 2)
        Allele indices, in either order; a pair with any ``-1`` is untyped.

    Returns
    -------
    ndarray of int32, shape (...)
        ``j*(j+1)/2 + i`` with ``i = min``, ``j = max``; ``-1`` where untyped.

    Examples
    --------
    >>> genotype_index(np.array([[0, 0], [1, 0], [3, 7], [-1, -1]]))
    array([ 0,  1, 31, -1], dtype=int32)
    """
    a = np.asarray(alleles).astype(np.int64)
    i = np.minimum(a[..., 0], a[..., 1])
    j = np.maximum(a[..., 0], a[..., 1])
    out = j * (j + 1) // 2 + i
    return np.where(i < 0, UNTYPED, out).astype(GENOTYPE_DTYPE)


def genotype_alleles(n_alleles: int) -> tuple[np.ndarray, np.ndarray]:
    """Allele indices ``(i, j)``, ``i <= j``, of every genotype index ``0 .. n(n+1)/2 - 1``.

    Examples
    --------
    >>> i, j = genotype_alleles(3)
    >>> i.tolist(), j.tolist()
    ([0, 0, 1, 0, 1, 2], [0, 1, 1, 2, 2, 2])
    """
    j = np.repeat(np.arange(n_alleles), np.arange(1, n_alleles + 1))
    starts = j * (j + 1) // 2
    i = np.arange(n_genotypes(n_alleles)) - starts
    return i.astype(np.int64), j.astype(np.int64)
