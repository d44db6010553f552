"""The all-pairs matching kernel: candidates x families as a gather-and-sum over loci.

Each family is compiled, per locus, into a table over the missing child's genotypes
(:func:`kinship.likelihood.parentage.family_locus_tables`), laid out family-minor: ``T[l]`` has shape
``(n_table_rows_l, n_families)`` (complete genotypes, partial genotypes ``i/?``, then the
untyped row: ``schemas/genotype_encoding.v2.json``) so one candidate's genotype selects one
contiguous row of all families' scores. The combined log10 LR of every (candidate, family) pair is

    log10 LR[c, f] = sum_l T[l][row(g[c, l]), f],

with ``row`` = :func:`kinship.genetics.encoding.table_row` (``g[c, l] = -1``, untyped, selects
the table's last row, which is 0). No loop over pairs: one vectorised row gather and add per
locus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinship.genetics.encoding import UNTYPED, table_row

__all__ = ["FamilyTables", "MatchScores", "score_all_pairs"]


@dataclass(frozen=True)
class FamilyTables:
    """Compiled tables of a set of families over a fixed list of loci.

    Attributes
    ----------
    loci : tuple of str, length n_loci
    log10_lr : tuple of ndarray of float64, each (n_table_rows_l, n_families)
        Rows as ``schemas/genotype_encoding.v2.json``'s ``table_row``.
    inconsistent : tuple of ndarray of int8, each (n_table_rows_l, n_families)
    typed : ndarray of bool, shape (n_loci, n_families)
        Whether the family has at least one typed parent at the locus.
    per_locus : FamilyTables or None
        For tables over linked units (``kinship.matching.compiler.compile_families`` with
        ``linked`` and ``per_locus``): the same families' tables over the loci one by one, the
        arrays a compile without ``linked`` returns (a unit of one locus shares its arrays).
        None otherwise.
    """

    loci: tuple[str, ...]
    log10_lr: tuple[np.ndarray, ...]
    inconsistent: tuple[np.ndarray, ...]
    typed: np.ndarray
    per_locus: FamilyTables | None = None

    @property
    def n_families(self) -> int:
        return self.typed.shape[1]


@dataclass(frozen=True)
class MatchScores:
    """Scores of every candidate against every family.

    Attributes
    ----------
    log10_lr : ndarray of float64, shape (n_candidates, n_families)
        Combined log10 LR (``-inf`` for an exclusion without mutation).
    n_loci_compared : ndarray of int16, shape (n_candidates, n_families)
        Loci typed in both the candidate and at least one parent of the family.
    n_inconsistent : ndarray of int16, shape (n_candidates, n_families)
        Compared loci whose candidate genotype cannot be formed from the typed parents
        without mutation.
    """

    log10_lr: np.ndarray
    n_loci_compared: np.ndarray
    n_inconsistent: np.ndarray


def score_all_pairs(tables: FamilyTables, candidates: np.ndarray) -> MatchScores:
    """Score every candidate against every family.

    Parameters
    ----------
    tables : FamilyTables
    candidates : ndarray of int32, shape (n_candidates, n_loci)
        Genotype indices of the candidates at ``tables.loci`` (``-1`` = untyped, ``-2 - i``
        the partial genotype ``i/?``).

    Returns
    -------
    MatchScores

    Examples
    --------
    One locus, two alleles, one family whose table gives log10 LR 0.5 / 0.1 / -inf for the
    complete genotypes and 0.3 / -0.2 for the partial ones:

    >>> T = np.array([[0.5], [0.1], [-np.inf], [0.3], [-0.2], [0.0]])
    >>> I = np.array([[0], [0], [1], [0], [0], [0]], dtype=np.int8)
    >>> ft = FamilyTables(("TH01",), (T,), (I,), np.array([[True]]))
    >>> s = score_all_pairs(ft, np.array([[0], [2], [-3], [-1]], dtype=np.int32))
    >>> s.log10_lr[:, 0].tolist(), s.n_inconsistent[:, 0].tolist(), s.n_loci_compared[:, 0].tolist()
    ([0.5, -inf, -0.2, 0.0], [0, 1, 0, 0], [1, 1, 1, 0])
    """
    n_candidates = candidates.shape[0]
    n_families = tables.n_families
    log10_lr = np.zeros((n_candidates, n_families), dtype=np.float64)
    n_inconsistent = np.zeros((n_candidates, n_families), dtype=np.int16)
    for locus, (T, I) in enumerate(zip(tables.log10_lr, tables.inconsistent)):
        g = table_row(candidates[:, locus], T.shape[0])
        log10_lr += T[g]
        n_inconsistent += I[g]
    cand_typed = (candidates != UNTYPED).astype(np.float32)
    n_compared = (cand_typed @ tables.typed.astype(np.float32)).astype(np.int16)
    return MatchScores(log10_lr, n_compared, n_inconsistent)
