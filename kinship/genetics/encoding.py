"""Integer encoding of genotypes, as defined in ``schemas/genotype_encoding.v2.json``.

Profiles are stored as pairs of allele indices (int16, sorted, -1 = untyped). A *partial*
genotype (one allele known, the other not: a lab's ``12/-``) is the pair ``(i, UNKNOWN)`` with
``UNKNOWN = -2``, the known allele first. The matching kernel uses one genotype index per
locus: for allele indices ``i <= j`` it is ``j*(j+1)/2 + i`` (a triangular numbering, so the
genotypes of the first ``n`` alleles are exactly ``0 .. n(n+1)/2 - 1`` whatever alleles are
added later), ``-2 - i`` for the partial genotype ``(i, UNKNOWN)``, and ``-1`` if untyped.

A family's table at a locus with ``n`` alleles has :func:`n_table_rows` ``= n(n+1)/2 + n + 1``
rows: the complete genotypes, then one row per partial genotype ``i/?``, then the untyped row
(0) last; :func:`table_row` maps genotype indices to rows.
"""

from __future__ import annotations

import math

import numpy as np

from kinship.errors import ReuniteInputError
from schemas import load_schema

__all__ = [
    "UNTYPED",
    "UNKNOWN",
    "ALLELE_DTYPE",
    "GENOTYPE_DTYPE",
    "n_genotypes",
    "n_table_rows",
    "n_alleles_of_rows",
    "check_allele_pairs",
    "genotype_index",
    "table_row",
    "genotype_alleles",
]

_SCHEMA = load_schema("genotype_encoding.v2")
UNTYPED: int = _SCHEMA["genotype_index"]["untyped"]
#: Allele index of a partial genotype's unknown allele.
UNKNOWN: int = _SCHEMA["allele_index"]["unknown"]
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


def n_table_rows(n_alleles: int) -> int:
    """Rows of a family's table at a locus: complete genotypes, partial genotypes, untyped.

    Examples
    --------
    >>> n_table_rows(2)    # a/a a/b b/b, a/? b/?, untyped
    6
    """
    return n_genotypes(n_alleles) + n_alleles + 1


def n_alleles_of_rows(n_rows: int) -> int:
    """The number of alleles ``n`` of a table with ``n_rows = n(n+1)/2 + n + 1`` rows.

    Raises
    ------
    ReuniteInputError
        If no ``n`` gives ``n_rows`` (a table not laid out as genotype encoding v2).

    Examples
    --------
    >>> n_alleles_of_rows(6)
    2
    """
    n = (math.isqrt(1 + 8 * int(n_rows)) - 3) // 2
    if n < 0 or n_table_rows(n) != n_rows:
        raise ReuniteInputError(
            f"a locus table of {n_rows} rows is not laid out as genotype encoding v2 "
            "(n(n+1)/2 complete + n partial + 1 untyped rows); build it with compile_families"
        )
    return n


def check_allele_pairs(alleles: np.ndarray, n_alleles: int | None = None) -> np.ndarray:
    """Validate allele-index pairs: complete, partial ``(i, UNKNOWN)`` or untyped ``(-1, -1)``.

    Parameters
    ----------
    alleles : array_like of int, shape (..., 2)
    n_alleles : int, optional
        If given, every known index must be below it.

    Returns
    -------
    ndarray of int64, shape (..., 2)
        The pairs, with a partial genotype written ``(UNKNOWN, i)`` turned into ``(i, UNKNOWN)``.

    Raises
    ------
    ReuniteInputError
        A pair with exactly one ``-1`` (neither untyped nor partial: write the unknown allele as
        ``UNKNOWN = -2``), ``(-2, -2)``, an index below -2, or an index ``>= n_alleles``.

    Examples
    --------
    >>> check_allele_pairs(np.array([[1, 0], [-2, 3], [-1, -1]])).tolist()
    [[1, 0], [3, -2], [-1, -1]]
    >>> check_allele_pairs(np.array([[1, -1]]))
    Traceback (most recent call last):
    ...
    kinship.errors.ReuniteInputError: allele-index pair (1, -1) has one allele untyped (-1) and one known; a partial genotype (one allele unknown) is written (1, -2) (UNKNOWN = -2), an untyped one (-1, -1)
    """
    a = np.array(alleles, dtype=np.int64, copy=True)
    if a.ndim == 0 or a.shape[-1] != 2:
        raise ReuniteInputError(f"allele-index pairs of shape {a.shape}; expected (..., 2)")
    first, second = a[..., 0], a[..., 1]
    swap = (first == UNKNOWN) & (second >= 0)
    a[swap] = a[swap][..., ::-1]
    first, second = a[..., 0], a[..., 1]
    half = (first == UNTYPED) != (second == UNTYPED)
    both_unknown = (first == UNKNOWN) & (second == UNKNOWN)
    below = (a < UNKNOWN).any(axis=-1)
    above = (a >= n_alleles).any(axis=-1) if n_alleles is not None else np.zeros(first.shape, dtype=bool)
    bad = half | both_unknown | below | above
    if bad.any():
        pair = tuple(int(x) for x in np.asarray(alleles).reshape(-1, 2)[int(np.flatnonzero(bad.reshape(-1))[0])])
        if half.any():
            known = pair[0] if pair[0] != UNTYPED else pair[1]
            why = (f"has one allele untyped (-1) and one known; a partial genotype (one allele unknown) is "
                   f"written ({known}, {UNKNOWN}) (UNKNOWN = {UNKNOWN}), an untyped one (-1, -1)")
        elif both_unknown.any():
            why = f"has both alleles unknown; write an untyped locus as (-1, -1)"
        else:
            why = (f"has an index outside -2 .. {n_alleles - 1 if n_alleles is not None else 'n_alleles - 1'}; "
                   "indices are positions in the run's effective frequency table")
        raise ReuniteInputError(f"allele-index pair {pair} {why}")
    return a


def genotype_index(alleles: np.ndarray) -> np.ndarray:
    """Genotype index of allele-index pairs.

    Parameters
    ----------
    alleles : ndarray of int, shape (..., 2)
        Allele indices, in either order; ``(-1, -1)`` is untyped, ``(i, -2)`` the partial
        genotype ``i/?``.

    Returns
    -------
    ndarray of int32, shape (...)
        ``j*(j+1)/2 + i`` with ``i = min``, ``j = max``; ``-2 - i`` for a partial genotype;
        ``-1`` where untyped.

    Raises
    ------
    ReuniteInputError
        Invalid pairs (:func:`check_allele_pairs`).

    Examples
    --------
    >>> genotype_index(np.array([[0, 0], [1, 0], [3, 7], [5, -2], [-1, -1]]))
    array([ 0,  1, 31, -7, -1], dtype=int32)
    """
    a = check_allele_pairs(alleles)
    partial = a[..., 1] == UNKNOWN
    i = np.minimum(a[..., 0], a[..., 1])
    j = np.maximum(a[..., 0], a[..., 1])
    out = j * (j + 1) // 2 + i
    out = np.where(partial, -2 - a[..., 0], out)
    return np.where(a[..., 0] == UNTYPED, UNTYPED, out).astype(GENOTYPE_DTYPE)


def table_row(index: np.ndarray, n_rows: int) -> np.ndarray:
    """Row of a locus table selected by genotype indices (``schemas/genotype_encoding.v2.json``).

    Parameters
    ----------
    index : array_like of int
        Genotype indices (:func:`genotype_index`).
    n_rows : int
        Rows of the table, :func:`n_table_rows` of its number of alleles.

    Returns
    -------
    ndarray of int64, same shape as ``index``
        The index itself for a complete genotype, ``n_genotypes + i`` for the partial genotype
        ``i/?`` (index ``-2 - i``), ``n_rows - 1`` (the zero row) where untyped. A linked
        super-locus's table (:func:`kinship.matching.compiler.compile_families` with ``linked``)
        is indexed by its joint row directly (``-1`` where both loci are untyped), so
        ``index >= -1`` there and ``n_rows`` need not be a single locus's.

    Examples
    --------
    >>> table_row(np.array([0, 2, -2, -3, -1]), n_table_rows(2)).tolist()
    [0, 2, 3, 4, 5]
    """
    g = np.asarray(index, dtype=np.int64)
    if not (g <= -2).any():  # no partial genotype: also a joint (linked) table, indexed by its row
        return np.where(g == UNTYPED, n_rows - 1, g)
    n = n_alleles_of_rows(n_rows)
    return np.where(g <= -2, n_genotypes(n) + (-2 - g), np.where(g == UNTYPED, n_rows - 1, g))


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
