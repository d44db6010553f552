"""Profiles as arrays, and families compiled into matcher tables.

A *profile* is one person's genotypes: ``{locus: (allele_1, allele_2)}`` with canonical allele
labels; a partial genotype is ``(allele, "?")`` (:data:`kinship.genetics.alleles.UNKNOWN_ALLELE`).
For computation, profiles become int16 allele-index arrays of shape ``(n_loci, n_people, 2)``
against a frequency table (scikit-allel's layout; -1 = untyped, ``(i, -2)`` = partial:
``schemas/genotype_encoding.v2.json``), and families become
:class:`kinship.matching.reference.FamilyTables`. When the run's table has a silent allele at a
locus (:data:`kinship.genetics.alleles.SILENT_ALLELE`; only when the run asks for silent
alleles), every likelihood there treats an apparent homozygote as "homozygote or allele +
silent" (:mod:`kinship.likelihood.phenotypes`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from kinship.genetics.encoding import UNTYPED, genotype_index, n_table_rows
from kinship.errors import FrequencyTableError
from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.profiles import ProfileTable
from kinship.likelihood.parentage import family_locus_tables
from kinship.matching.reference import FamilyTables
from kinship.genetics.mutation import MutationModel
from kinship.genetics.relationships import family_kind
from kinship.likelihood.pedigree import Pedigree, pedigree_from_relationships
from kinship.likelihood.peeling import pedigree_locus_tables
from kinship.likelihood.linkage import linked_locus_tables

__all__ = ["Family", "Profile", "encode_profiles", "candidate_genotype_index", "compile_families", "linked_units",
           "unit_observations"]

Profile = Mapping[str, tuple[str, str]]


@dataclass(frozen=True)
class Family:
    """The typed references of one missing child.

    ``Family(lab, family_id, father, mother)`` is a parentage family (the fast duo/trio path
    of :func:`kinship.likelihood.parentage.family_locus_tables`). Other typed relatives are given as
    ``others`` (``(sample_id, relationship)`` pairs, relationship one of
    :data:`kinship.genetics.relationships.RELATIONSHIPS`, placed on the canonical template of
    :func:`kinship.likelihood.pedigree.pedigree_from_relationships`), or the whole family as an explicit
    ``pedigree`` (PED-style, :func:`kinship.likelihood.pedigree.pedigree_from_table`); those are compiled
    by exact peeling (:mod:`kinship.likelihood.peeling`).

    Attributes
    ----------
    lab, family_id : str
        A family id is scoped by the lab that filed it.
    father, mother : str or None
        Sample ids of the typed parents on file.
    others : tuple of (str, str)
        Further typed relatives ``(sample_id, relationship)``.
    pedigree : Pedigree or None
        An explicit pedigree (then ``father``/``mother``/``others`` are not used to build it).
    n_missing : int, default 1
        How many missing children the family declares (manifest v5 ``n_missing``): the
        references are the same for each, so the compiled tables are those of one missing child
        and the number only bounds how many candidates the joint assignment may give the family
        (:func:`kinship.matching.assignment.joint_assignment`).

    Examples
    --------
    >>> Family("L", "F1", "R1", "R2").kind
    'couple'
    >>> f = Family("L", "F2", mother="R3", others=(("R4", "paternal_grandfather"),))
    >>> f.kind, f.references, f.pedigree.ids[f.pedigree.typed_members[1]]
    ('parent + relatives', ('R3', 'R4'), 'paternal_grandfather')
    """

    lab: str
    family_id: str
    father: str | None = None
    mother: str | None = None
    others: tuple[tuple[str, str], ...] = ()
    pedigree: Pedigree | None = None
    n_missing: int = 1

    def __post_init__(self):
        if self.pedigree is None and self.others:
            refs = [(s, k) for s, k in ((self.father, "father"), (self.mother, "mother")) if s]
            object.__setattr__(
                self,
                "pedigree",
                pedigree_from_relationships(refs + list(self.others), context=f"family {self.key}"),
            )

    @property
    def key(self) -> str:
        return f"{self.lab}/{self.family_id}"

    @property
    def is_parentage(self) -> bool:
        """Only parents on file (and no explicit pedigree): the fast duo/trio path applies."""
        return self.pedigree is None

    @property
    def references(self) -> tuple[str, ...]:
        if self.pedigree is not None:
            return self.pedigree.references
        return tuple(s for s in (self.father, self.mother) if s is not None)

    @property
    def relationships(self) -> tuple[tuple[str, str], ...]:
        """``(sample_id, relationship)`` of every reference (``"pedigree"`` for an explicit one)."""
        if self.pedigree is not None and not self.others:
            return tuple((s, "pedigree") for s in self.pedigree.references)
        parents = tuple((s, k) for s, k in ((self.father, "father"), (self.mother, "mother")) if s)
        return parents + tuple(self.others)

    @property
    def kind(self) -> str:
        """``"couple"``, ``"father only"``, ``"mother only"``, ``"siblings"``,
        ``"parent + relatives"``, ``"relatives"`` or ``"pedigree"``
        (:func:`kinship.genetics.relationships.family_kind`)."""
        return family_kind(k for _, k in self.relationships)


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
        A :class:`kinship.genetics.profiles.ProfileTable` (vectorised: the allele labels are
        mapped to table indices once per locus, then taken), or any mapping (converted).
    sample_ids : sequence of str, length n_people
    table : FrequencyTable
        Must contain every allele the profiles carry at ``loci`` (use the run's effective
        table, :func:`kinship.genetics.frequencies.effective_table`).
    loci : sequence of str, length n_loci

    Returns
    -------
    ndarray of int16, shape (n_loci, n_people, 2)
        Sorted allele indices; ``(i, -2)`` for a partial genotype ``(allele, "?")``; -1 where
        the person is untyped at the locus.

    Raises
    ------
    FrequencyTableError
        If an allele is missing from ``table`` (the caller skipped the effective table), or a
        profile carries the table's silent allele (never observed) or ``"?"`` first.

    Examples
    --------
    >>> from kinship.genetics.frequencies import FrequencyTable
    >>> t = FrequencyTable.from_mapping("t", {"TH01": {"6": 0.3, "9.3": 0.7}})
    >>> encode_profiles({"A": {"TH01": ("9.3", "?")}, "B": {"TH01": ("6", "9.3")}}, ["A", "B", "C"], t, ["TH01"]).tolist()
    [[[1, -2], [0, 1], [-1, -1]]]
    """
    if not isinstance(profiles, ProfileTable):  # a dict: only the samples asked for
        profiles = ProfileTable.from_mapping({s: profiles[s] for s in dict.fromkeys(sample_ids) if s in profiles})
    return profiles.encode(sample_ids, table, loci)


def candidate_genotype_index(alleles: np.ndarray) -> np.ndarray:
    """Kernel input from an allele-index array: genotype index, shape (n_people, n_loci).

    Examples
    --------
    >>> candidate_genotype_index(np.array([[[0, 1], [-1, -1], [2, -2]]], dtype=np.int16))
    array([[ 1],
           [-1],
           [-4]], dtype=int32)
    """
    return np.ascontiguousarray(genotype_index(alleles).T)


def compile_families(
    families: Sequence[Family],
    references: np.ndarray,
    reference_ids: Sequence[str],
    table: FrequencyTable,
    loci: Sequence[str],
    model: MutationModel,
    *,
    theta: float = 0.0,
    linked: Sequence = (),
    per_locus: bool = False,
) -> FamilyTables:
    """Compile families into per-locus genotype tables of their missing child.

    Parentage families (father and/or mother only) with ``theta = 0`` take the closed-form
    duo/trio path (:func:`kinship.likelihood.parentage.family_locus_tables`); every other family is
    compiled by exact peeling (:func:`kinship.likelihood.peeling.pedigree_locus_tables`), vectorised over
    the families of one pedigree shape. The two paths agree to rounding on parentage families.

    Parameters
    ----------
    families : sequence of Family, length n_families
    references : ndarray of int16, shape (n_loci, n_refs, 2)
        Allele indices of the reference samples (:func:`encode_profiles`).
    reference_ids : sequence of str, length n_refs
        Sample ids of the columns of ``references``.
    table : FrequencyTable
        The run's effective table. It holds every allele any stored profile carries (the
        matcher builds it from all stored alleles before compiling), so a candidate allele the
        family has never seen still has its own row, valued exactly: there is no "other
        allele" bucket.
    loci : sequence of str, length n_loci
    model : MutationModel
        Paternal matrices use the male rate, maternal the female rate (per locus where the
        model has per-locus rates); matrices are rebuilt from ``table`` for every locus.
    theta : float
        Balding-Nichols coancestry (``0`` = HWE).
    linked : sequence of kinship.genetics.linkage.LinkedPair, optional
        Disjoint pairs of ``loci`` scored as one joint *super-locus* each
        (:func:`linked_units`): the pair's table has ``R1 * R2`` rows, row
        ``row1 * R2 + row2`` for the candidate's observations at the two loci (``R_l`` the
        locus's :func:`~kinship.genetics.encoding.n_table_rows`, untyped rows included, so
        the last row, both untyped, is 0). A pedigree family's joint table is the exact
        two-locus likelihood at the pair's recombination fraction
        (:func:`kinship.likelihood.linkage.linked_locus_tables`); a parentage family's is the
        sum of its two single-locus tables, which is exact (a parent-child LR does not depend
        on linkage). Default: none, every locus its own table.
    per_locus : bool
        With ``linked``: also keep the per-locus tables the joint ones are built from, as the
        result's ``per_locus`` (the arrays a compile without ``linked`` returns, bit for bit:
        a match run counts loci compared and inconsistent, and sums the independent-loci LR,
        from them without compiling again). Ignored without ``linked``.

    Returns
    -------
    FamilyTables
        Over ``loci``, or with ``linked`` over :func:`linked_units`'s names (a pair named
        ``first~second`` in the place of its first locus; its ``inconsistent`` row is the sum
        of the two loci's, its ``typed`` either locus's).
        ``typed[l, f]``: the family has a typed reference at locus ``l`` (and, for a pedigree
        family, its references are possible together under the model; a family whose
        references are impossible together at a locus gets a 0 column there and is warned
        about).
    """
    n_f = len(families)
    col = {s: k for k, s in enumerate(reference_ids)}
    untyped_col = len(reference_ids)
    pad = np.full((len(loci), 1, 2), UNTYPED, dtype=references.dtype)
    padded = np.concatenate([references, pad], axis=1)
    fast = [k for k, f in enumerate(families) if f.is_parentage and theta == 0.0]
    groups: dict[tuple, list[int]] = {}
    for k, f in enumerate(families):
        if not (f.is_parentage and theta == 0.0):
            ped = f.pedigree if f.pedigree is not None else pedigree_from_relationships(
                f.relationships, context=f"family {f.key}")
            groups.setdefault(ped.shape, []).append(k)
    peds = {
        shape: (families[ks[0]].pedigree or pedigree_from_relationships(families[ks[0]].relationships))
        for shape, ks in groups.items()
    }
    member_cols = {}
    for shape, ks in groups.items():
        ped = peds[shape]
        cols = np.full((len(ks), ped.n_members), untyped_col, dtype=np.int64)
        for r, k in enumerate(ks):
            fped = families[k].pedigree or pedigree_from_relationships(families[k].relationships)
            for m, sid in enumerate(fped.sample_ids):
                if sid is not None:
                    cols[r, m] = col[sid]
        member_cols[shape] = cols
    fast_idx = np.array(fast, dtype=np.int64)
    father_cols = np.array([col[families[k].father] if families[k].father else untyped_col for k in fast], dtype=np.int64)
    mother_cols = np.array([col[families[k].mother] if families[k].mother else untyped_col for k in fast], dtype=np.int64)
    log10_lr, inconsistent, typed = [], [], []
    for li, locus in enumerate(loci):
        lf = table[locus]
        M_male = model.matrix(lf.alleles, lf.afreq, "male", locus)
        M_female = model.matrix(lf.alleles, lf.afreq, "female", locus)
        silent = lf.silent
        n_rows = n_table_rows(lf.afreq.shape[0])
        T_all = np.zeros((n_rows, n_f))
        I_all = np.zeros((n_rows, n_f), dtype=np.int8)
        typed_l = np.zeros(n_f, dtype=bool)
        if fast:
            father = padded[li, father_cols]
            mother = padded[li, mother_cols]
            T, I = family_locus_tables(father, mother, lf.afreq, M_male, M_female, silent=silent)
            T_all[:, fast_idx] = T
            I_all[:, fast_idx] = I
            typed_l[fast_idx] = (father[:, 0] != UNTYPED) | (mother[:, 0] != UNTYPED)
        for shape, ks in groups.items():
            g = padded[li][member_cols[shape]]  # (n_group, n_members, 2)
            T, I, informative = pedigree_locus_tables(peds[shape], g, lf.afreq, M_male, M_female, theta=theta, silent=silent)
            ks_arr = np.array(ks, dtype=np.int64)
            T_all[:, ks_arr] = T
            I_all[:, ks_arr] = I
            typed_l[ks_arr] = (g[:, :, 0] != UNTYPED).any(axis=1) & informative
            if not informative.all():
                bad = [families[ks[r]].key for r in np.flatnonzero(~informative)]
                warnings.warn(
                    f"at {locus} the references of {bad} are impossible together under mutation model "
                    f"{model.describe()}; the locus is left out for those families (check the samples)",
                    stacklevel=2,
                )
        log10_lr.append(T_all)
        inconsistent.append(I_all)
        typed.append(typed_l)
    if not linked:
        return FamilyTables(
            tuple(loci), tuple(log10_lr), tuple(inconsistent), np.array(typed, dtype=bool).reshape(len(loci), n_f)
        )
    units, T_u, I_u, typed_u = [], [], [], []
    for name, members in linked_units(loci, linked):
        units.append(name)
        if len(members) == 1:
            (li,) = members
            T_u.append(log10_lr[li])
            I_u.append(inconsistent[li])
            typed_u.append(typed[li])
            continue
        l1, l2 = members
        pair = next(p for p in linked if p.name == name)
        R1, R2 = log10_lr[l1].shape[0], log10_lr[l2].shape[0]
        # parentage families (and any family before its pedigree groups fill it): the sum,
        # exact for them; inconsistency is the two loci's sum for every family
        T = (log10_lr[l1][:, None, :] + log10_lr[l2][None, :, :]).reshape(R1 * R2, n_f)
        I = (inconsistent[l1][:, None, :] + inconsistent[l2][None, :, :]).reshape(R1 * R2, n_f).astype(np.int8)
        f1, f2 = table[loci[l1]], table[loci[l2]]
        for shape, ks in groups.items():
            g1 = padded[l1][member_cols[shape]]
            g2 = padded[l2][member_cols[shape]]
            T_g, _, ok = linked_locus_tables(
                peds[shape], g1, g2, f1.afreq, f2.afreq,
                model.matrix(f1.alleles, f1.afreq, "male", loci[l1]), model.matrix(f1.alleles, f1.afreq, "female", loci[l1]),
                model.matrix(f2.alleles, f2.afreq, "male", loci[l2]), model.matrix(f2.alleles, f2.afreq, "female", loci[l2]),
                pair.recombination_fraction, theta=theta, silent_1=f1.silent, silent_2=f2.silent,
            )
            ks_arr = np.array(ks, dtype=np.int64)
            # where the references are impossible together at a locus, that locus is already
            # left out (0 column, warned above): keep the sum there
            use = ok & typed[l1][ks_arr] & typed[l2][ks_arr]
            T[:, ks_arr[use]] = T_g[:, use]
        T_u.append(T)
        I_u.append(I)
        typed_u.append(typed[l1] | typed[l2])
    loci_tables = FamilyTables(tuple(loci), tuple(log10_lr), tuple(inconsistent),
                               np.array(typed, dtype=bool).reshape(len(loci), n_f)) if per_locus else None
    return FamilyTables(tuple(units), tuple(T_u), tuple(I_u), np.array(typed_u, dtype=bool).reshape(len(units), n_f),
                        loci_tables)


def linked_units(loci: Sequence[str], linked: Sequence = ()) -> list[tuple[str, tuple[int, ...]]]:
    """The scoring units of a run's loci when ``linked`` pairs are scored jointly.

    Each unit is ``(name, locus positions)``: a locus alone, or a linked pair named
    ``first~second`` at the place of its first locus (its second locus has no unit of its own).

    Examples
    --------
    >>> from types import SimpleNamespace as P
    >>> linked_units(["CSF1PO", "D12S391", "TH01", "vWA"], [P(first="D12S391", second="vWA", name="D12S391~vWA")])
    [('CSF1PO', (0,)), ('D12S391~vWA', (1, 3)), ('TH01', (2,))]
    """
    position = {l: i for i, l in enumerate(loci)}
    first = {p.first: p for p in linked}
    second = {p.second for p in linked}
    out = []
    for i, locus in enumerate(loci):
        if locus in second:
            continue
        if locus in first:
            out.append((first[locus].name, (i, position[first[locus].second])))
        else:
            out.append((locus, (i,)))
    return out


def unit_observations(parts: Sequence[tuple[np.ndarray, np.ndarray]], sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Rows and probabilities of a scoring unit's observations from its loci's, independent.

    A single locus's ``(rows, probs)`` unchanged; for a linked pair (:func:`linked_units`) the
    joint rows ``row1 * R2 + row2`` of every combination, with the product of the
    probabilities (the loci of an unrelated child are independent: linkage equilibrium).

    Parameters
    ----------
    parts : sequence of (ndarray of int64, ndarray of float64)
        Per locus of the unit, the table rows of the possible observations and their
        probabilities (e.g. :func:`kinship.likelihood.phenotypes.unrelated_rows`; an untyped
        locus: its last row with probability 1).
    sizes : sequence of int
        ``R_l``, the rows of each locus's table.

    Examples
    --------
    >>> r, p = unit_observations([(np.array([0, 1]), np.array([.5, .5])), (np.array([2]), np.array([1.]))], [6, 6])
    >>> r.tolist(), p.tolist()
    ([2, 8], [0.5, 0.5])
    """
    rows, probs = np.zeros(1, dtype=np.int64), np.ones(1)
    for (r_l, p_l), size in zip(parts, sizes):
        rows = (rows[:, None] * int(size) + np.asarray(r_l, dtype=np.int64)[None, :]).ravel()
        probs = (probs[:, None] * np.asarray(p_l)[None, :]).ravel()
    return rows, probs
