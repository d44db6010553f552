"""Profiles as arrays, and families compiled into matcher tables.

A *profile* is one person's genotypes: ``{locus: (allele_1, allele_2)}`` with canonical allele
labels. For computation, profiles become int16 allele-index arrays of shape
``(n_loci, n_people, 2)`` against a frequency table (scikit-allel's layout; -1 = untyped), and
families become :class:`kinship.matching.FamilyTables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from kinship.encoding import ALLELE_DTYPE, UNTYPED, genotype_index
from kinship.errors import FrequencyTableError
from kinship.frequencies import FrequencyTable
from kinship.likelihood import family_locus_tables
from kinship.matching import FamilyTables
from kinship.mutation import MutationModel

__all__ = ["Family", "Profile", "encode_profiles", "candidate_genotype_index", "compile_families"]

Profile = Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class Family:
    """The typed references of one missing child.

    Attributes
    ----------
    lab, family_id : str
        A family id is scoped by the lab that filed it.
    father, mother : str or None
        Sample ids of the typed parents on file (at least one).
    """

    lab: str
    family_id: str
    father: str | None = None
    mother: str | None = None

    @property
    def key(self) -> str:
        return f"{self.lab}/{self.family_id}"

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(s for s in (self.father, self.mother) if s is not None)

    @property
    def kind(self) -> str:
        """``"couple"``, ``"father only"`` or ``"mother only"``."""
        if self.father and self.mother:
            return "couple"
        return "father only" if self.father else "mother only"


def encode_profiles(
    profiles: Mapping[str, Profile],
    sample_ids: Sequence[str],
    table: FrequencyTable,
    loci: Sequence[str],
) -> np.ndarray:
    """Allele-index array of the given samples at the given loci.

    Parameters
    ----------
    profiles : mapping of sample id to profile
    sample_ids : sequence of str, length n_people
    table : FrequencyTable
        Must contain every allele the profiles carry at ``loci`` (use the run's effective
        table, :func:`kinship.frequencies.effective_table`).
    loci : sequence of str, length n_loci

    Returns
    -------
    ndarray of int16, shape (n_loci, n_people, 2)
        Sorted allele indices; -1 where the person is untyped at the locus.

    Raises
    ------
    FrequencyTableError
        If an allele is missing from ``table`` (the caller skipped the effective table).
    """
    out = np.full((len(loci), len(sample_ids), 2), UNTYPED, dtype=ALLELE_DTYPE)
    for li, locus in enumerate(loci):
        index = {a: k for k, a in enumerate(table[locus].alleles)}
        for pi, sample_id in enumerate(sample_ids):
            pair = profiles.get(sample_id, {}).get(locus)
            if pair is None:
                continue
            try:
                a, b = index[pair[0]], index[pair[1]]
            except KeyError:
                raise FrequencyTableError(
                    f"allele of sample {sample_id} at {locus} {pair} is not in table "
                    f"{table.name!r}; build the run's effective table first"
                ) from None
            out[li, pi] = (min(a, b), max(a, b))
    return out


def candidate_genotype_index(alleles: np.ndarray) -> np.ndarray:
    """Kernel input from an allele-index array: genotype index, shape (n_people, n_loci).

    Examples
    --------
    >>> candidate_genotype_index(np.array([[[0, 1], [-1, -1]]], dtype=np.int16))
    array([[ 1],
           [-1]], dtype=int32)
    """
    return np.ascontiguousarray(genotype_index(alleles).T)


def compile_families(
    families: Sequence[Family],
    references: np.ndarray,
    reference_ids: Sequence[str],
    table: FrequencyTable,
    loci: Sequence[str],
    model: MutationModel,
) -> FamilyTables:
    """Compile families into per-locus genotype tables of their missing child.

    Parameters
    ----------
    families : sequence of Family, length n_families
    references : ndarray of int16, shape (n_loci, n_refs, 2)
        Allele indices of the reference samples (:func:`encode_profiles`).
    reference_ids : sequence of str, length n_refs
        Sample ids of the columns of ``references``.
    table : FrequencyTable
        The run's effective table.
    loci : sequence of str, length n_loci
    model : MutationModel
        Paternal matrices use ``rate_male``, maternal ``rate_female``; matrices are rebuilt
        from ``table`` for every locus, so they always match the allele set.

    Returns
    -------
    FamilyTables
    """
    col = {s: k for k, s in enumerate(reference_ids)}
    untyped_col = len(reference_ids)
    father_cols = np.array([col[f.father] if f.father else untyped_col for f in families], dtype=np.int64)
    mother_cols = np.array([col[f.mother] if f.mother else untyped_col for f in families], dtype=np.int64)
    pad = np.full((len(loci), 1, 2), UNTYPED, dtype=references.dtype)
    padded = np.concatenate([references, pad], axis=1)
    log10_lr, inconsistent, typed = [], [], []
    for li, locus in enumerate(loci):
        lf = table[locus]
        father = padded[li, father_cols]
        mother = padded[li, mother_cols]
        T, I = family_locus_tables(
            father,
            mother,
            lf.afreq,
            model.matrix(lf.alleles, lf.afreq, "male"),
            model.matrix(lf.alleles, lf.afreq, "female"),
        )
        log10_lr.append(T)
        inconsistent.append(I)
        typed.append((father[:, 0] != UNTYPED) | (mother[:, 0] != UNTYPED))
    return FamilyTables(tuple(loci), tuple(log10_lr), tuple(inconsistent), np.array(typed, dtype=bool).reshape(len(loci), len(families)))
