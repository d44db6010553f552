"""One match run: every family against every candidate, from stored profiles to ranked pairs.

The steps, each one function; the match flow (``flows/match.py``) wraps each in one task and
runs them in this order, with :class:`~kinship.app.parameters.MatchParameters` (validated
before step 1) giving every value:

1. :func:`assemble_inputs` - profiles (autosomal loci only) and families from the store's tables;
2. :func:`effective_frequencies` - the chosen table plus every stored allele it lacks, at the
   minimum allele frequency, its silent alleles kept or dropped (``silent_alleles``),
   renormalised; its hash goes into the provenance;
3. :func:`encode_run` - profiles as allele-index arrays against the effective table (families
   are compiled later, per shard);
4. :func:`plan_run` - a full or an incremental run (what changed since the previous run), cut
   into family shards;
5. :func:`score_shard` - compile a shard's families and score candidates against them, keeping
   each one's best ``k`` partners and every pair at or above the threshold
   (:func:`kinship.matching.streaming.score_shard`), each with its loci compared, inconsistent
   loci and independent-loci LR counted from the shard's tables (:func:`with_counts`);
6. :func:`kinship.matching.streaming.fold_candidate_best` - fold the shards' candidate lists
   (and the previous run's kept pairs) as they finish, in memory O((candidates + families) * k);
7. :func:`collect_matches` - the reported pairs, ranked and concluded on their autosomal LR
   (from the counts the shards carried; only entries without counts have their families
   compiled again: a linked shard read whole from the table cache, or a search's pairs);
8. :func:`calibrate` - ``p_unrelated`` and ``expected_unrelated`` of every hit, and the
   conclusions on the combined LR, calibrated for families without a parent or with one;
   then :func:`assess` - the posteriors after database size (each candidate over every family
   on file plus "not on file", each family over every candidate) and the joint one-to-one
   assignment of the supported and flagged pairs (schema ``matches.v3``);
9. :func:`~kinship.report.formatting.detail_pairs` and :func:`pair_loci` - per-locus detail of
   the pairs the report shows as detail cards (schema ``pair_loci.v2``; any other pair's on
   demand by :func:`pair_loci`);
10. :func:`provenance` - the run's provenance record (schema ``provenance.v4``), which the flow
    then stores with the matches and :func:`kinship.report.write_all` writes with the outputs
    listed.

The full-matrix kernel :func:`kinship.matching.reference.score_all_pairs` is the reference the
streamed path is tested against (``tests/reference_run.py``); no run uses it.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from functools import cached_property
from typing import Sequence
from datetime import datetime, timezone

import numpy as np
import pandas as pd

import kinship
from kinship.errors import FrequencyTableError, ReuniteInputError
from kinship.genetics.alleles import UNKNOWN_ALLELE
from kinship.genetics.encoding import UNKNOWN, UNTYPED, n_table_rows, table_row
from kinship.genetics.frequencies import (
    AlleleSubstitution,
    FrequencyTable,
    effective_table,
    table_hash,
)
from kinship.genetics.relationships import PARENT_KINDS
from kinship.genetics.profiles import ProfileTable
from kinship.genetics.loci import LocusCatalogue, default_catalogue
from kinship.app.parameters import MatchParameters
from kinship.matching.reference import FamilyTables
from kinship.likelihood.calibration import KERNELS, tail_probabilities, tail_probability, tail_probability_with_factor
from kinship.likelihood.phenotypes import unrelated_rows
from kinship.matching import streaming
from kinship.matching.streaming import Entries, ShardResult, merge_results
from kinship.genetics.mutation import MutationModel, mutation_checks
from kinship.likelihood.pedigree import pedigree_from_table
from kinship.matching.compiler import (Family, candidate_genotype_index, compile_families, encode_profiles, linked_units,
                                      unit_observations)
from kinship.genetics.linkage import linked_pairs
from kinship.likelihood.linkage import MAX_MEIOSES, linkable
from kinship.app.lineage import Y_COLUMNS, null_column
from kinship.app.table_cache import TableCache, family_digests
from kinship.matching.assignment import MAX_ASSIGNMENTS, joint_assignment
from kinship.matching.posterior import database_posteriors, log10_none_weight
from kinship.app.parameters import LinkageParameters, PriorParameters
from kinship.genetics.relationships import SINGLE_PARENT_KINDS
from schemas import load_schema
from kinship.report.formatting import detail_pairs, reported_pairs
from kinship.matching.ranking import (
    CONCLUSION_TEXT,
    EXCLUSION_LOG10_CPI,
    SUPPORT_LOG10_CPI,
    conclude,
)

__all__ = [
    "MatchInputs",
    "EncodedRun",
    "RunPlan",
    "assemble_inputs",
    "effective_frequencies",
    "encode_run",
    "entity_hashes",
    "family_shards",
    "plan_run",
    "score_shard",
    "shard_work",
    "score_shard_work",
    "with_counts",
    "collect_matches",
    "calibrate",
    "reported_pairs",
    "detail_pairs",
    "relative_genotypes",
    "pair_loci",
    "provenance",
]

HYPOTHESES = {
    "h1": "the candidate is the missing child of this family",
    "h2": "the candidate is unrelated to this family",
}


@dataclass(frozen=True)
class MatchInputs:
    """Profiles and families of a run, read from the store's tables.

    Attributes
    ----------
    profiles : ProfileTable
        Sample id to ``{locus: (allele_1, allele_2)}``, autosomal loci only (Amelogenin, Y and
        quality loci are kept out of the LR), as columns
        (:class:`kinship.genetics.profiles.ProfileTable`); any mapping given is converted.
    reference_ids, candidate_ids : tuple of str, sorted
    families : tuple of Family, sorted by (lab, family_id)
    """

    profiles: ProfileTable
    reference_ids: tuple[str, ...]
    candidate_ids: tuple[str, ...]
    families: tuple[Family, ...]

    def __post_init__(self):
        if not isinstance(self.profiles, ProfileTable):
            object.__setattr__(self, "profiles", ProfileTable.from_mapping(self.profiles))

    def sha256(self) -> str:
        """Hash of the profiles and families: the same stored inputs, the same hash.

        The digest of ``json.dumps({"profiles": {sample id: sorted(profile.items())},
        "candidates": candidate_ids, "families": [...]}, sort_keys=True)``, written a chunk of
        profiles at a time (:meth:`~kinship.genetics.profiles.ProfileTable.update_hash`) rather
        than built as one string. Computed once per inputs (a run asks for it for its id, its
        provenance and its shard checkpoints; the inputs are immutable).
        """
        return self._sha256

    @cached_property
    def _entity_hashes(self) -> pd.DataFrame:
        return _entity_hashes(self)

    @cached_property
    def _sha256(self) -> str:
        h = hashlib.sha256()
        h.update(b'{"candidates": ' + json.dumps(list(self.candidate_ids), sort_keys=True).encode()
                 + b', "families": ' + json.dumps([_family_record(f) for f in self.families], sort_keys=True).encode()
                 + b', "profiles": ')
        self.profiles.update_hash(h)
        h.update(b"}")
        return h.hexdigest()


@dataclass(frozen=True)
class EncodedRun:
    """Profiles of a run encoded against its effective table, ready for compiling and scoring.

    Attributes
    ----------
    inputs : MatchInputs
    table : FrequencyTable
        The effective table.
    model : MutationModel
    loci : tuple of str
        Loci used: autosomal, in the table, typed in someone.
    loci_left_out : dict of str to str
        Typed loci not used, with the reason.
    references : ndarray of int16, shape (n_loci, n_refs, 2)
    candidates : ndarray of int16, shape (n_loci, n_candidates, 2)
    """

    inputs: MatchInputs
    table: FrequencyTable
    model: MutationModel
    loci: tuple[str, ...]
    loci_left_out: dict
    references: np.ndarray
    candidates: np.ndarray
    theta: float
    linked: tuple = ()

    @cached_property
    def reference_column(self) -> dict[str, int]:
        """Each reference's column in :attr:`references` (built once: :func:`shard_work` asks for
        it at every shard, and a national run has 1.7 x 10^6 references and ~250 shards)."""
        return {s: i for i, s in enumerate(self.inputs.reference_ids)}

    @cached_property
    def candidate_genotypes(self) -> np.ndarray:
        """Kernel input: genotype indices, shape (n_candidates, n_loci), int32."""
        return candidate_genotype_index(self.candidates)

    @cached_property
    def linked_families(self) -> np.ndarray:
        """Families scored with the linked pairs jointly, bool (n_families,): every family with a
        reference other than the parents whose pedigree fits the two-locus computation
        (:func:`kinship.likelihood.linkage.linkable`), when the run has linked pairs. Parent-child
        LRs do not depend on linkage, so parent-only families keep the independent loci, and so
        do larger pedigrees (:attr:`too_large_to_link`)."""
        return np.array([bool(self.linked) and not f.is_parentage and linkable(f.pedigree)
                         for f in self.inputs.families], dtype=bool)

    @cached_property
    def too_large_to_link(self) -> int:
        """Families with relatives other than the parents whose pedigree has more meioses than
        the two-locus computation takes (:data:`kinship.likelihood.linkage.MAX_MEIOSES`): scored
        with independent loci although the run has linked pairs."""
        if not self.linked:
            return 0
        return sum(1 for f in self.inputs.families if not f.is_parentage and not linkable(f.pedigree))

    @cached_property
    def units(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Scoring units of the linked families: ``(name, locus positions)``
        (:func:`kinship.matching.compiler.linked_units`)."""
        return tuple(linked_units(self.loci, self.linked))

    def units_of(self, tables: FamilyTables) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """The scoring units ``tables`` are over: :attr:`units` for a linked shard's joint
        tables, else one unit per locus of :attr:`loci`."""
        return self.units if tables.loci != self.loci else tuple((l, (i,)) for i, l in enumerate(self.loci))

    @cached_property
    def unrelated_observations(self) -> tuple[dict, list[int]]:
        """``(h2, sizes)`` of the calibration (:func:`calibrate`): ``h2[(locus position,
        partial)]`` the table rows an unrelated candidate shows at that locus with their
        probabilities (:func:`kinship.likelihood.phenotypes.unrelated_rows`), ``sizes`` each
        locus's table rows (:func:`kinship.genetics.encoding.n_table_rows`)."""
        h2 = {(li, partial): unrelated_rows(self.table[locus].afreq, self.table[locus].silent, partial=partial)
              for li, locus in enumerate(self.loci) for partial in (False, True)}
        return h2, [n_table_rows(self.table[locus].afreq.shape[0]) for locus in self.loci]

    @cached_property
    def linked_genotypes(self) -> np.ndarray:
        """Kernel input of the linked families' shards, shape (n_candidates, n_units), int32: a
        single locus's genotype index, or a linked pair's joint row ``row1 * R2 + row2``
        (``-1`` when both loci are untyped; :func:`kinship.genetics.encoding.table_row`)."""
        g = self.candidate_genotypes
        out = np.empty((g.shape[0], len(self.units)), dtype=np.int32)
        sizes = [n_table_rows(self.table[locus].afreq.shape[0]) for locus in self.loci]
        for u, (_, members) in enumerate(self.units):
            if len(members) == 1:
                out[:, u] = g[:, members[0]]
                continue
            l1, l2 = members
            r1, r2 = table_row(g[:, l1], sizes[l1]), table_row(g[:, l2], sizes[l2])
            joint = r1 * sizes[l2] + r2
            out[:, u] = np.where((g[:, l1] == UNTYPED) & (g[:, l2] == UNTYPED), UNTYPED, joint)
        return out

    def family_tables(self, families: Sequence[int] | slice = slice(None), *, linked: bool = False,
                      per_locus: bool = False) -> FamilyTables:
        """Compile the tables of some families (by position in ``inputs.families``): over the
        run's loci, each independent, or with ``linked`` over :attr:`units` (the linked pairs
        as joint super-loci; with ``per_locus`` the per-locus tables too, as the result's
        ``per_locus``: :func:`kinship.matching.compiler.compile_families`)."""
        if isinstance(families, slice):
            chosen = self.inputs.families[families]
        else:
            chosen = tuple(self.inputs.families[i] for i in families)
        return compile_families(chosen, self.references, self.inputs.reference_ids, self.table, self.loci, self.model,
                                theta=self.theta, linked=self.linked if linked else (), per_locus=per_locus)

    def scoring_tables(self, families: Sequence[int], *, per_locus: bool = False,
                       ) -> list[tuple[np.ndarray, FamilyTables, np.ndarray]]:
        """The tables the kernel scores ``families`` with, grouped by layout: a list of
        ``(positions in families, tables, candidates' kernel input)``, the independent-loci
        families first, then the linked ones (with ``per_locus``, their tables hold the
        per-locus ones too)."""
        families = np.asarray(families, dtype=np.int64)
        out = []
        for linked in (False, True):
            pos = np.flatnonzero(self.linked_families[families] == linked)
            if pos.size:
                out.append((pos, self.family_tables(families[pos].tolist(), linked=linked, per_locus=per_locus),
                            self.linked_genotypes if linked else self.candidate_genotypes))
        return out


def _family_record(f: Family) -> dict:
    """``asdict(f)`` without ``n_missing`` when it is 1: the inputs' hash of a run before families
    declared their missing children is unchanged."""
    # a parentage family holds no nested dataclass (``others`` is empty when ``pedigree`` is
    # None): its fields as they are serialise as ``asdict`` would, without the deep copy
    record = asdict(f) if f.pedigree is not None else {k.name: getattr(f, k.name) for k in fields(f)}
    if f.n_missing == 1:
        del record["n_missing"]
    return record


def assemble_inputs(
    genotypes: pd.DataFrame,
    members: pd.DataFrame,
    pedigrees: pd.DataFrame | None = None,
    *,
    catalogue: LocusCatalogue | None = None,
    families: pd.DataFrame | None = None,
) -> MatchInputs:
    """Profiles and families from the store's tables.

    Parameters
    ----------
    genotypes : DataFrame
        Columns ``sample_id, role, locus, allele_1, allele_2`` (canonical names and labels).
    members : DataFrame
        Columns ``lab, family_id, sample_id, relationship``; relationship one of
        :data:`kinship.genetics.relationships.RELATIONSHIPS` (``father``, ``mother``, ``full_sibling``,
        grandparents, aunts/uncles, half siblings). A family of parents only is a parentage
        family (fast duo/trio path); any other relative places the family on the canonical
        pedigree template (:func:`kinship.likelihood.pedigree.pedigree_from_relationships`). Rows of
        relationship ``pedigree`` (``schemas/manifest.v3.json``) are placed by ``pedigrees``,
        not here; a family with such rows and no stored pedigree is left out with a warning
        (its pedigree table is not ingested yet).
    pedigrees : DataFrame, optional
        Families filed as a PED-style table (:meth:`kinship.store.Store.load_pedigrees`):
        columns ``lab, family_id, person_id, father, mother, sex, sample_id, is_missing``.
        Each family becomes ``Family(lab, family_id, pedigree=...)`` (kind ``"pedigree"``),
        compiled by exact peeling; members keep the row order given.
    families : DataFrame, optional
        Each family's declared number of missing children (:meth:`kinship.store.Store.load_families`):
        columns ``lab, family_id, n_missing`` (int >= 1). It sets :attr:`Family.n_missing`; a
        family without a row has 1 (for a pedigree family: its one member marked missing).
        Rows of families not in ``members`` or ``pedigrees`` are ignored.

    Returns
    -------
    MatchInputs
        Manifest and pedigree families together, sorted by ``(lab, family_id)``.

    Raises
    ------
    ReuniteInputError
        A family with two fathers or two mothers (or two of any single kind), an unknown
        relationship, a family member with no profile, a family id both in the manifest
        relationships and in the pedigree table, an invalid stored pedigree, or an
        ``n_missing`` that is not a whole number >= 1 (or a family given twice in ``families``).

    Examples
    --------
    >>> g = pd.DataFrame({"sample_id": ["R1", "C1"], "role": ["reference", "candidate"],
    ...                   "locus": ["TH01", "TH01"], "allele_1": ["6", "7"], "allele_2": ["9.3", "9.3"]})
    >>> m = pd.DataFrame({"lab": ["L"], "family_id": ["F1"], "sample_id": ["R1"], "relationship": ["mother"]})
    >>> assemble_inputs(g, m).families[0].n_missing
    1
    >>> n = pd.DataFrame({"lab": ["L"], "family_id": ["F1"], "n_missing": [2]})
    >>> assemble_inputs(g, m, families=n).families[0].n_missing
    2
    """
    families_frame = families  # the name ``families`` is the Family tuple below
    catalogue = catalogue or default_catalogue()
    autosomal_loci = [l for l in genotypes["locus"].unique().tolist() if catalogue.is_autosomal(l)]
    profiles = ProfileTable.from_frame(genotypes, loci=autosomal_loci)
    roles = genotypes.drop_duplicates("sample_id")
    candidates = np.asarray(roles["sample_id"][np.asarray(roles["role"] == "candidate", dtype=bool)], dtype=object)
    candidate_ids = tuple(sorted(candidates[profiles.positions(candidates) >= 0].tolist()))
    parents: dict[tuple[str, str], dict[str, str]] = {}
    others: dict[tuple[str, str], list[tuple[str, str]]] = {}
    placed_by_pedigree: set[tuple[str, str]] = set()
    # object columns: iterating Arrow-backed str columns costs microseconds a value
    for row in members.sort_values(["lab", "family_id", "sample_id"]).astype(object).itertuples(index=False):
        if row.relationship == "pedigree":
            placed_by_pedigree.add((row.lab, row.family_id))
            continue
        slot = parents.setdefault((row.lab, row.family_id), {})
        if row.relationship not in ("father", "mother"):
            if row.sample_id not in profiles:
                raise ReuniteInputError(
                    f"family {row.lab}/{row.family_id}: {row.relationship} {row.sample_id} has no "
                    "autosomal profile in the store; ingest its export"
                )
            others.setdefault((row.lab, row.family_id), []).append((row.sample_id, row.relationship))
            continue
        if row.relationship in slot:
            raise ReuniteInputError(
                f"family {row.lab}/{row.family_id} has two {row.relationship}s "
                f"({slot[row.relationship]} and {row.sample_id}); correct the manifest"
            )
        if row.sample_id not in profiles:
            raise ReuniteInputError(
                f"family {row.lab}/{row.family_id}: {row.relationship} {row.sample_id} has no "
                "autosomal profile in the store; ingest its export"
            )
        slot[row.relationship] = row.sample_id
    families = tuple(
        Family(lab, family_id, slot.get("father"), slot.get("mother"), tuple(others.get((lab, family_id), ())))
        for (lab, family_id), slot in sorted(parents.items())
    )
    from_pedigrees = _pedigree_families(pedigrees, profiles)
    both = sorted(set(parents) & set(from_pedigrees))
    if both:
        lab, family_id = both[0]
        raise ReuniteInputError(
            f"family {lab}/{family_id} is in the manifest relationships and in the pedigree table "
            f"(families {[f'{a}/{b}' for a, b in both]}); expected one of them; fix: give the family's "
            "references relationship 'pedigree' in the manifest, or file it under another family id"
        )
    waiting = sorted(placed_by_pedigree - set(from_pedigrees) - set(parents))
    if waiting:
        warnings.warn(
            f"families {[f'{a}/{b}' for a, b in waiting]} have references of relationship 'pedigree' "
            "but no stored pedigree; they are left out of this run; fix: ingest their pedigree table "
            "(scripts/flow ingest_pedigrees PED.csv --lab LAB)",
            stacklevel=2,
        )
    declared = _declared_n_missing(families_frame)
    families = tuple(sorted(
        (f if declared.get((f.lab, f.family_id), 1) == 1 else replace(f, n_missing=declared[(f.lab, f.family_id)])
         for f in families + tuple(from_pedigrees.values())),
        key=lambda f: (f.lab, f.family_id)))
    reference_ids = tuple(sorted({s for f in families for s in f.references}))
    return MatchInputs(profiles, reference_ids, candidate_ids, families)


def _declared_n_missing(frame: pd.DataFrame | None) -> dict[tuple[str, str], int]:
    """``{(lab, family_id): n_missing}`` of a :meth:`kinship.store.Store.load_families` frame, checked."""
    if frame is None or frame.empty:
        return {}
    missing = [c for c in ("lab", "family_id", "n_missing") if c not in frame.columns]
    if missing:
        raise ReuniteInputError(
            f"families table: missing column(s) {missing}; expected columns ['lab', 'family_id', 'n_missing']; "
            "fix: pass Store.load_families()")
    out: dict[tuple[str, str], int] = {}
    for lab, family_id, n in zip(frame["lab"], frame["family_id"], frame["n_missing"]):
        ok = not isinstance(n, (bool, np.bool_, str)) and not pd.isna(n) and float(n) == int(n) and int(n) >= 1
        if not ok:
            raise ReuniteInputError(
                f"family {lab}/{family_id}: n_missing {n!r}; expected a whole number >= 1 (the family's number of "
                "missing children); fix: correct the families table (Store.load_families gives 1 by default)")
        if (lab, family_id) in out:
            raise ReuniteInputError(
                f"family {lab}/{family_id} occurs twice in the families table; expected one row per family; "
                "fix: pass Store.load_families()")
        out[(lab, family_id)] = int(n)
    return out


def _pedigree_families(pedigrees: pd.DataFrame | None, profiles: ProfileTable) -> dict[tuple[str, str], Family]:
    """``Family(lab, family_id, pedigree=...)`` of every family of a stored pedigree table."""
    out: dict[tuple[str, str], Family] = {}
    if pedigrees is None or pedigrees.empty:
        return out
    rows: dict[tuple[str, str], list[dict]] = {}
    for r in pedigrees.itertuples(index=False):
        rows.setdefault((r.lab, r.family_id), []).append({
            "id": r.person_id, "father": r.father, "mother": r.mother, "sex": r.sex,
            "sample_id": r.sample_id, "is_missing": bool(r.is_missing)})
    for (lab, family_id), members in sorted(rows.items()):
        ped = pedigree_from_table(members, context=f"stored pedigree of family {lab}/{family_id}")
        for k in ped.typed_members:
            if ped.sample_ids[k] not in profiles:
                raise ReuniteInputError(
                    f"family {lab}/{family_id}: pedigree member {ped.ids[k]!r} (sample "
                    f"{ped.sample_ids[k]}) has no autosomal profile in the store; ingest its export"
                )
        out[(lab, family_id)] = Family(lab, family_id, pedigree=ped)
    return out


def effective_frequencies(
    inputs: MatchInputs, table: FrequencyTable, *, floor: float, silent_alleles: bool = False
) -> tuple[FrequencyTable, list[AlleleSubstitution]]:
    """The run's effective table: ``table`` plus every allele the profiles carry that it lacks.

    ``floor`` is ``MatchParameters.frequency_floor``, the frequency given to a missing allele
    when the table gives no N; ``silent_alleles`` is ``MatchParameters.silent_alleles`` (keep
    the table's silent alleles, else drop them and renormalise). The unknown second allele
    ``"?"`` of a partial genotype is not an allele: :func:`kinship.genetics.frequencies.effective_table`
    never adds it.
    """
    observed = inputs.profiles.observed_alleles()
    return effective_table(table, observed, floor=floor, silent_alleles=silent_alleles)


def encode_run(inputs: MatchInputs, table: FrequencyTable, model: MutationModel, *, theta: float,
               linkage: LinkageParameters | None = None) -> EncodedRun:
    """Encode profiles against the effective table (families are compiled later, per shard).

    Loci typed in some profile but absent from the table are left out and listed (the
    provenance's ``inputs.loci_left_out``, the report's summary). With ``linkage`` (its
    ``use`` on), the run's linked pairs (:func:`kinship.genetics.linkage.linked_pairs` of the
    run's loci within ``max_distance_cm``) are scored jointly for the families with relatives
    other than the parents (:attr:`EncodedRun.linked_families`); None: every locus independent.

    Raises
    ------
    FrequencyTableError
        When the table has none of the typed loci: no locus could be compared (the message
        names the table and the loci typed).
    """
    typed_loci = inputs.profiles.typed_counts()
    loci = tuple(sorted(l for l in typed_loci if l in table))
    if typed_loci and not loci:
        typed = sorted(typed_loci)
        shown = ", ".join(typed[:12]) + (f" and {len(typed) - 12} more" if len(typed) > 12 else "")
        raise FrequencyTableError(
            f"frequency table {table.name!r} gives frequencies for none of the {len(typed)} loci typed "
            f"in the store ({shown}); expected a table of the loci the profiles are typed at; fix: "
            "choose a table that covers them (table_id: a bundled id or a CSV file)"
        )
    chosen = re.sub(r"\+\d+ added$", "", table.name)  # the table chosen, not its effective name
    left_out = {
        l: f"not in frequency table {chosen!r} ({n} sample{'' if n == 1 else 's'} typed)"
        for l, n in sorted(typed_loci.items())
        if l not in table
    }
    references = encode_profiles(inputs.profiles, inputs.reference_ids, table, loci)
    candidates = encode_profiles(inputs.profiles, inputs.candidate_ids, table, loci)
    linked = ()
    if linkage is not None and linkage.use:
        linked = tuple(linked_pairs(loci, max_cM=linkage.max_distance_cm, map_function=linkage.map_function))
    return EncodedRun(inputs, table, model, loci, left_out, references, candidates, theta, linked)


def family_shards(n_families: int, shard_size: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` ranges of families, each at most ``shard_size`` long.

    Examples
    --------
    >>> family_shards(10, 4)
    [(0, 4), (4, 8), (8, 10)]
    """
    return [(a, min(a + shard_size, n_families)) for a in range(0, n_families, shard_size)]


#: Families compiled together by the steps after the merge (:func:`calibrate`, :func:`pair_loci`,
#: and :func:`collect_matches`'s counts of entries that carry none): their tables are compiled
#: again in chunks of this many families, so the memory of a step is bounded (~70 MB of tables
#: at 20 loci) whatever the number of reported families.
POST_SHARD_FAMILIES = 4096


def _family_chunks(fam: np.ndarray, size: int | None = None):
    """``(families, pair positions, local family index of each)`` per chunk of at most ``size``
    distinct families of the pairs' family indices ``fam``; the pairs of a chunk in input order.

    Examples
    --------
    >>> [(f.tolist(), p.tolist(), l.tolist()) for f, p, l in _family_chunks(np.array([5, 2, 5, 9]), 2)]
    [([2, 5], [0, 1, 2], [1, 0, 1]), ([9], [3], [0])]
    """
    size = POST_SHARD_FAMILIES if size is None else size
    fam = np.asarray(fam, dtype=np.int64)
    wanted, local = np.unique(fam, return_inverse=True)
    order = np.argsort(local, kind="stable")
    bounds = np.searchsorted(local[order], np.arange(0, wanted.size + size, size))
    for c in range(0, -(-wanted.size // size)):
        pos = np.sort(order[bounds[c]:bounds[c + 1]])
        yield wanted[c * size:(c + 1) * size], pos, local[pos] - c * size


@dataclass(frozen=True)
class RunPlan:
    """What a match run compares.

    Attributes
    ----------
    kind : {"full", "incremental"}
    reason : str
        Why this kind (e.g. "effective frequency table changed").
    shards : list of (ndarray, ndarray)
        (family indices, candidate indices) shards to score; their union with the previous
        run's pairs is every (candidate, family) pair.
    new_candidates, new_families : ndarray of bool
        Entities absent from the previous run (all true without one).
    previous : ShardResult or None
        The previous run's kept entries, re-indexed to this run.
    """

    kind: str
    reason: str
    shards: list
    new_candidates: np.ndarray
    new_families: np.ndarray
    previous: ShardResult | None


def entity_hashes(inputs: MatchInputs) -> pd.DataFrame:
    """sha256 of each candidate's profile and of each family (relationships + profiles; for a
    family compiled on a pedigree, its structure - members, parents, sexes, typed members, the
    missing child - and every typed member's profile).

    Columns ``entity`` (candidate | family), ``lab`` (empty for candidates), ``entity_id``,
    ``sha256``: what a run compared, recorded so the next run can tell what is new or changed.
    A family's declared number of missing children (:attr:`Family.n_missing`) is part of its
    content when it is not 1 (a family that learns a second child was taken is matched again);
    at 1 it is left out, so the hashes of runs made before families declared it do not change.

    Computed once per inputs (a run asks for them to plan, to key its table cache and to record
    what it compared: ~17 s each at 10^6 families); a copy is returned.
    """
    return inputs._entity_hashes.copy()


def _entity_hashes(inputs: MatchInputs) -> pd.DataFrame:
    """:func:`entity_hashes`, computed."""
    def digest(obj) -> str:
        return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()

    def digest_parts(*parts) -> str:
        h = hashlib.sha256()
        for part in parts:
            h.update(part)
        return h.hexdigest()

    profiles = inputs.profiles
    rows = [("candidate", "", c, d) for c, d in zip(inputs.candidate_ids, profiles.sha256(inputs.candidate_ids))]
    # parentage families: '{"father": <profile JSON or null>, "mother": ...}', the profiles'
    # canonical JSON built a chunk at a time (ProfileTable.iter_json), byte for byte the same
    parentage = [f for f in inputs.families if f.pedigree is None]
    fathers = profiles.iter_json(profiles.positions([f.father for f in parentage if f.father]))
    mothers = profiles.iter_json(profiles.positions([f.mother for f in parentage if f.mother]))
    for f in inputs.families:
        if f.pedigree is not None:  # pedigree structure, typed members and their profiles
            ped = f.pedigree
            rows.append(("family", f.lab, f.family_id, digest({
                "pedigree": {"ids": ped.ids, "father": ped.father, "mother": ped.mother, "sex": ped.sex,
                             "sample_ids": ped.sample_ids, "missing": ped.missing},
                "relationships": f.relationships,
                "profiles": {s: sorted(inputs.profiles[s].items()) for s in ped.references},
                **_declared(f),
            })))
            continue
        father = next(fathers) if f.father else b"null"
        mother = next(mothers) if f.mother else b"null"
        declared = "".join(f", {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(_declared(f).items()))
        rows.append(("family", f.lab, f.family_id, digest_parts(
            b'{"father": ', father, b', "mother": ', mother, declared.encode() + b"}")))
    return pd.DataFrame(rows, columns=["entity", "lab", "entity_id", "sha256"])


def _declared(f: Family) -> dict:
    """``{"n_missing": n}`` for a family declaring more than one missing child, else ``{}`` (hash payloads)."""
    return {"n_missing": int(f.n_missing)} if f.n_missing != 1 else {}


def plan_run(
    run: EncodedRun,
    params: MatchParameters,
    *,
    previous: dict | None = None,
    previous_inputs: pd.DataFrame | None = None,
    previous_matches: pd.DataFrame | None = None,
    force_full: bool = False,
) -> RunPlan:
    """Decide between a full and an incremental run, and cut the work into shards of
    ``params.shard_size`` families.

    A run is incremental when the previous run used the same code version, parameters and
    effective frequency table (same hash) and every entity it compared is still present
    unchanged; it then scores only new candidates x all families and old candidates x new
    families, and merges the previous run's kept entries, which gives exactly the full
    run's result. Anything else (a new allele changes the effective table) is a full run.
    "Same parameters" compares ``params.as_dict()`` with the previous run's recorded
    ``parameters`` (the shard size is not among them: it changes no number).
    """
    shard_size = params.shard_size
    n_c, n_f = len(run.inputs.candidate_ids), len(run.inputs.families)
    all_c, all_f = np.arange(n_c), np.arange(n_f)
    hashes = entity_hashes(run.inputs)
    reason = None
    if force_full:
        reason = "full re-match requested"
    elif previous is None:
        reason = "no previous run"
    elif previous.get("code_version") != kinship.code_version():
        reason = f"code version changed ({previous.get('code_version')} -> {kinship.code_version()})"
    elif previous.get("freq_table_hash") != table_hash(run.table):
        reason = "effective frequency table changed"
    elif previous.get("parameters") != _json_roundtrip(params.as_dict()):
        reason = "match parameters changed"
    else:
        # one join of the previous run's entities with this run's (1.7 x 10^6 at national scale),
        # not a lookup per entity
        keys = ["entity", "lab", "entity_id"]
        both = previous_inputs[[*keys, "sha256"]].merge(hashes[[*keys, "sha256"]], on=keys, how="left",
                                                        suffixes=("_before", "_now"))
        gone = both["sha256_now"].isna().to_numpy()
        n_missing = int(gone.sum())
        n_changed = int((~gone & (both["sha256_before"].to_numpy(dtype=object)
                                  != both["sha256_now"].to_numpy(dtype=object))).sum())
        if n_missing or n_changed:
            reason = f"{n_missing} compared profiles removed and {n_changed} changed since the last run"
    if previous_inputs is None:
        new_c = np.ones(n_c, bool)
        new_f = np.ones(n_f, bool)
    else:
        seen = set(zip(previous_inputs["entity"], previous_inputs["lab"], previous_inputs["entity_id"]))
        new_c = np.array([("candidate", "", c) not in seen for c in run.inputs.candidate_ids], dtype=bool)
        new_f = np.array([("family", f.lab, f.family_id) not in seen for f in run.inputs.families], dtype=bool)
    def cut(families: np.ndarray, candidates: np.ndarray) -> list:
        # a shard holds families of one layout (independent loci, or linked pairs joint), so
        # the kernel's tables of a shard share their rows
        if not candidates.size:
            return []
        out = []
        for linked in (False, True):
            chosen = families[run.linked_families[families] == linked]
            out += [(chosen[a:b], candidates) for a, b in family_shards(chosen.size, shard_size)]
        return out

    if reason is not None:
        return RunPlan("full", reason, cut(all_f, all_c), new_c, new_f, None)
    fresh_c, fresh_f = np.flatnonzero(new_c), np.flatnonzero(new_f)
    shards = cut(all_f, fresh_c) + cut(fresh_f, np.flatnonzero(~new_c))
    kept = _previous_entries(run, previous_matches, threshold=params.threshold)
    return RunPlan("incremental", f"{fresh_c.size} new candidates, {fresh_f.size} new families", shards, new_c, new_f, kept)


def _json_roundtrip(obj):
    return json.loads(json.dumps(obj))


def _pair_indices(run: EncodedRun, matches: pd.DataFrame, *, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's candidate and family index in ``run.inputs`` (int64), by one hash join each
    (10^7 kept pairs at national scale), ``-1`` for an id not in the run.

    Raises
    ------
    KeyError
        With ``check``, a pair whose candidate or family is not the run's.
    """
    c = pd.Index(np.asarray(run.inputs.candidate_ids, dtype=object)).get_indexer(
        matches["candidate_id"].to_numpy(dtype=object)).astype(np.int64)
    families = run.inputs.families
    f = pd.MultiIndex.from_arrays([np.array([x.lab for x in families], dtype=object),
                                   np.array([x.family_id for x in families], dtype=object)]).get_indexer(
        pd.MultiIndex.from_arrays([matches["lab"].to_numpy(dtype=object), matches["family_id"].to_numpy(dtype=object)])
    ).astype(np.int64)
    if check and ((c < 0).any() or (f < 0).any()):
        i = int(np.flatnonzero((c < 0) | (f < 0))[0])
        raise KeyError(f"pair {matches['candidate_id'].iat[i]!r} x ({matches['lab'].iat[i]!r}, "
                       f"{matches['family_id'].iat[i]!r}) is not a candidate and a family of the run")
    return c, f


def _previous_entries(run: EncodedRun, matches: pd.DataFrame, *, threshold: float) -> ShardResult:
    """A previous run's kept pairs as entries indexed like this run (ids are stable), with
    their counts (``n_loci_compared``, ``n_inconsistent``, ``log10_lr_unlinked``: an
    incremental run compares unchanged entities with the same table and parameters, so they
    are this run's too); a pair whose ``log10_lr_unlinked`` is null (a run stored before it
    was recorded) carries none, and :func:`collect_matches` counts it again. Each hit without a
    Y-STR LR carries its ``p_unrelated`` as its tail (:func:`with_tails`), which
    :func:`calibrate` keeps."""
    c, f = _pair_indices(run, matches)
    v = matches["log10_lr"].to_numpy(dtype=np.float64)
    counts = None
    if {"n_loci_compared", "n_inconsistent", "log10_lr_unlinked"} <= set(matches.columns):
        unlinked = matches["log10_lr_unlinked"].to_numpy(dtype=np.float64, na_value=np.nan)
        known = ~np.isnan(unlinked)
        counts = (np.where(known, matches["n_loci_compared"].to_numpy(dtype=np.int16), -1).astype(np.int16),
                  np.where(known, matches["n_inconsistent"].to_numpy(dtype=np.int16), -1).astype(np.int16),
                  unlinked)
    every = Entries(c, f, v) if counts is None else Entries(c, f, v, *counts)
    if "p_unrelated" in matches.columns:  # the hits' tails on the autosomal LR, where no Y-STR LR entered them
        tail = matches["p_unrelated"].to_numpy(dtype=np.float64, na_value=np.nan)
        if "log10_lr_y" in matches.columns:
            tail = np.where(matches["log10_lr_y"].isna().to_numpy(), tail, np.nan)
        every = replace(every, tail=tail)

    def pick(mask):
        return every.take(np.asarray(mask, dtype=bool))

    return ShardResult(
        pick(matches["rank_for_candidate"].notna()),
        pick(matches["rank_for_family"].notna()),
        pick(v >= threshold),
    )


def shard_work(run: EncodedRun, families: np.ndarray) -> EncodedRun:
    """The part of ``run`` that scoring ``families`` (indices) needs, to send to another process.

    A run's inputs hold every profile as Python objects (millions of tuples at national scale)
    and every family; a shard needs only its own families, the allele arrays of their
    references and the candidates' arrays. The result is an :class:`EncodedRun` whose inputs
    have no profiles, only the shard's families (in the given order) and their references;
    ``score_shard(shard_work(run, f), arange(len(f)), c, ...)`` scores exactly what
    ``score_shard(run, f, c, ...)`` scores, with local family indices (:func:`score_shard`'s
    ``family_index`` maps them back). Tested to give the same bits
    (``tests/unit/test_shard_work.py``).
    """
    families = np.asarray(families, dtype=np.int64)
    chosen = tuple(run.inputs.families[i] for i in families.tolist())
    wanted = sorted({s for f in chosen for s in f.references})
    col = run.reference_column
    refs = run.references[:, [col[s] for s in wanted], :] if wanted else run.references[:, :0, :]
    inputs = MatchInputs({}, tuple(wanted), run.inputs.candidate_ids, chosen)
    work = replace(run, inputs=inputs, references=np.ascontiguousarray(refs))
    # the candidates' arrays are built once on the run and shared by its works, not built again
    # by each of ~250 works (10^5 candidates: 8 MB each, held while the work is)
    names = ["candidate_genotypes", "units", "unrelated_observations"]
    if run.linked_families[families].any():
        names.append("linked_genotypes")
    for name in names:
        work.__dict__[name] = getattr(run, name)
    return work


def score_shard(
    run: EncodedRun, families: np.ndarray, candidates: np.ndarray, *, k: int, threshold: float,
    family_index: np.ndarray | None = None, kept: Entries | None = None,
    cache: TableCache | None = None, digests: np.ndarray | None = None,
) -> ShardResult:
    """Compile ``families`` (indices) and score ``candidates`` (indices) against them, keeping
    each one's best ``k`` partners and every pair at or above ``threshold``
    (:func:`kinship.matching.streaming.score_shard`). Memory is bounded by the shard.
    ``family_index``: the families' indices in the result (default ``families``; the global
    indices when ``run`` is a :func:`shard_work`). ``kept``: the candidates' kept entries of
    the shards already merged (``ShardResult.candidate_best`` of
    :func:`~kinship.matching.streaming.combine_results`): each candidate's ``k``-th best so far
    is a floor below which the screen neither rescores a pair nor returns it on the
    candidate's side (:func:`~kinship.matching.streaming.candidate_floor`); the merged result
    is the same.

    Every entry returned carries its counts (:class:`~kinship.matching.streaming.Entries`'s
    ``n_compared``, ``n_inconsistent``, ``unlinked``: :func:`with_counts`), so that
    :func:`collect_matches` need not compile the families again: from the shard's per-locus
    tables, which for a shard of linked families (:attr:`EncodedRun.linked_families`, scored
    over :attr:`EncodedRun.units`) are the ones their joint tables are built from (kept by the
    compile, ``per_locus``), not compiled again. The same numbers, bit for bit, as
    :func:`_pair_counts` (tested). A linked shard read from ``cache`` (which holds the joint
    tables only), whole or assembled from its entries, returns its entries without counts:
    :func:`collect_matches` counts those; one the cache compiles whole keeps its per-locus
    tables and is counted here.

    ``cache``: the shard's tables are read from it when it holds them, else
    compiled and written to it (:meth:`kinship.app.table_cache.TableCache.scoring_tables`; the
    same tables, bit for bit), ``digests`` the families' digests
    (:func:`~kinship.app.table_cache.family_digests`, uint8 ``(len(families), 32)``; needed
    when ``run`` is a :func:`shard_work`, which holds no profiles; otherwise computed from every
    family of the run at each call: give them when scoring many shards)."""
    families = np.asarray(families, dtype=np.int64)
    if cache is None:
        groups = run.scoring_tables(families, per_locus=True)
    else:
        digests = family_digests(run.inputs)[families] if digests is None else digests
        groups = cache.scoring_tables(run, families, digests=digests)
    if len(groups) != 1:
        raise ValueError("a shard mixes families with and without linked loci; cut shards with plan_run")
    _, tables, genotypes = groups[0]
    index = families if family_index is None else np.asarray(family_index, dtype=np.int64)
    result = streaming.score_shard(
        tables, genotypes[np.asarray(candidates, dtype=np.int64)],
        family_index=index, candidate_index=candidates, k=k, threshold=threshold,
        candidate_floor=None if kept is None else streaming.candidate_floor(kept, candidates, k),
    )
    result = with_tails(run, result, index, tables)
    if families.size and bool(run.linked_families[families[0]]):  # scored over the linked units
        if tables.per_locus is None:  # joint tables from the cache: counted by collect_matches
            return result
        return with_counts(run, result, index, tables.per_locus, linked=True)
    return with_counts(run, result, index, tables, linked=False)


def with_tails(run: EncodedRun, result: ShardResult, family_index: np.ndarray, tables: FamilyTables, *,
               kernel: str | None = None) -> ShardResult:
    """``result`` with each hit's calibration tail on its autosomal LR
    (:class:`~kinship.matching.streaming.Entries`'s ``tail``), from the tables the shard scored
    with: what :func:`calibrate` computes for a pair without a Y-STR LR, the same numbers bit for
    bit at θ = 0 (the same tables and kernel, tested; at θ > 0 the tables whose sums gave the
    pair's LR), so that it need not compile the hit families again after the merge (at 10^6
    families that compile took 97 s of a 120 s calibration).

    Parameters
    ----------
    run : EncodedRun
        The run (or :func:`shard_work`) the shard was scored in.
    result : ShardResult
        A shard's result, its families reported under ``family_index``.
    family_index : ndarray of int64, shape (n_families,)
        The index in ``result`` of each family (column) of ``tables``.
    tables : FamilyTables
        The shard's scoring tables: over ``run.loci``, or over :attr:`EncodedRun.units` for a
        shard of linked families.
    kernel : {None, "numba", "numpy"}, optional
        As in :func:`calibrate`.
    """
    hits = result.hits
    if not len(hits):
        return result
    order = np.argsort(family_index, kind="stable")
    local = order[np.searchsorted(family_index, hits.family, sorter=order)]
    h2, sizes = run.unrelated_observations
    units = run.units_of(tables)
    tail = np.full(len(hits), np.nan)
    _calibrate_hits(np.arange(len(hits)), local, hits.candidate, tables, units, run.candidate_genotypes, h2, sizes,
                    np.full(len(hits), np.nan), hits.score, None, tail, kernel)
    return replace(result, hits=replace(hits, tail=tail))


def with_counts(run: EncodedRun, result: ShardResult, family_index: np.ndarray, tables: FamilyTables, *,
                linked: bool) -> ShardResult:
    """``result`` with every entry's counts (:class:`~kinship.matching.streaming.Entries`'s
    ``n_compared``, ``n_inconsistent``, ``unlinked``; :func:`_table_counts`).

    Parameters
    ----------
    run : EncodedRun
        The run (or :func:`shard_work`) the shard was scored in.
    result : ShardResult
        A shard's result, its families reported under ``family_index``.
    family_index : ndarray of int64, shape (n_families,)
        The index in ``result`` of each family (column) of ``tables``.
    tables : FamilyTables
        The shard's families' per-locus tables, over ``run.loci``.
    linked : bool
        Whether the shard was scored over linked units: ``unlinked`` is then the sum of the
        per-locus log10 LRs; otherwise the score itself (the kernel's sum of the same tables).
    """
    sides = (result.candidate_best, result.family_best, result.hits)
    every = Entries.concat(sides)
    if not len(every):
        return result
    order = np.argsort(family_index, kind="stable")
    local = order[np.searchsorted(family_index, every.family, sorter=order)]
    n_compared, n_inconsistent, unlinked = _table_counts(tables, run.candidate_genotypes[every.candidate], local,
                                                         unlinked=linked)
    if not linked:
        unlinked = every.score.copy()
    cuts = np.cumsum([len(e) for e in sides])[:-1]
    parts = [np.split(a, cuts) for a in (n_compared, n_inconsistent, unlinked)]
    return ShardResult(*(replace(e, n_compared=parts[0][i], n_inconsistent=parts[1][i], unlinked=parts[2][i])
                         for i, e in enumerate(sides)))


def _table_counts(tables: FamilyTables, genotypes: np.ndarray, local: np.ndarray, *, unlinked: bool = True,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Loci compared, Mendelian-inconsistent loci and (``unlinked``) the log10 LR with every
    locus independent of pairs, from per-locus tables: :func:`_pair_counts`'s sums, in its
    order (locus by locus from 0), for pairs whose families are already compiled.

    Parameters
    ----------
    tables : FamilyTables
        Per-locus tables over the run's loci (not linked units).
    genotypes : ndarray of int32, shape (n_pairs, n_loci)
        Each pair's candidate genotype indices (:attr:`EncodedRun.candidate_genotypes` rows).
    local : ndarray of int64, shape (n_pairs,)
        Each pair's family column in ``tables``.

    Returns
    -------
    n_compared, n_inconsistent : ndarray of int16, shape (n_pairs,)
    unlinked : ndarray of float64, shape (n_pairs,), or None without ``unlinked``
    """
    n = local.size
    n_compared = np.zeros(n, dtype=np.int16)
    n_inconsistent = np.zeros(n, dtype=np.int16)
    total = np.zeros(n, dtype=np.float64) if unlinked else None
    for li in range(len(tables.loci)):
        gi = genotypes[:, li]
        row = table_row(gi, tables.inconsistent[li].shape[0])
        n_compared += ((gi != UNTYPED) & tables.typed[li, local]).astype(np.int16)
        n_inconsistent += tables.inconsistent[li][row, local]
        if unlinked:
            total += tables.log10_lr[li][row, local]
    return n_compared, n_inconsistent, total


def score_shard_work(work: EncodedRun, families: np.ndarray, candidates: np.ndarray, *, k: int, threshold: float,
                     kept: Entries | None = None, cache: TableCache | None = None,
                     digests: np.ndarray | None = None) -> ShardResult:
    """:func:`score_shard` of a :func:`shard_work` (whose families are the shard's, in order), with
    the result indexed by the run's global ``families`` and ``candidates``; with ``cache``,
    ``digests`` are the shard's families' (:func:`~kinship.app.table_cache.family_digests` of the
    whole run's inputs at ``families``)."""
    families = np.asarray(families, dtype=np.int64)
    if cache is not None and digests is None:
        raise ValueError("a shard's work holds no profiles: give the families' digests with the cache "
                         "(table_cache.family_digests(run.inputs)[families])")
    return score_shard(work, np.arange(families.size), candidates, k=k, threshold=threshold, family_index=families,
                       kept=kept, cache=cache, digests=digests)


def collect_matches(
    run: EncodedRun,
    results: Sequence[ShardResult],
    *,
    k: int,
    new_candidates: np.ndarray | None = None,
    new_families: np.ndarray | None = None,
) -> pd.DataFrame:
    """The reported pairs of a run, ranked and concluded on their autosomal LR (the columns of
    schema ``matches.v3`` up to ``is_new`` but the Y-STR, calibration and posterior columns:
    :func:`kinship.app.lineage.y_evidence`, :func:`calibrate` and :func:`assess` add them), and
    ``p_unrelated``: the calibration tail on the autosomal LR where the entry carries it (the
    shards compute it for their hits: :func:`with_tails`), else NaN; :func:`calibrate`
    completes it and puts it in its place.

    Reported: each candidate's best ``k`` families, each family's best ``k`` candidates, and
    every pair at or above the threshold. ``rank_for_candidate`` (``rank_for_family``) is the
    exact rank when the pair is among the candidate's (family's) best ``k``, else null.
    ``n_loci_compared``, ``n_inconsistent`` and ``log10_lr_unlinked`` are the ones the entries
    carry (:func:`score_shard` counts them from the tables it scored with; a previous run's
    matches hold them: :func:`_previous_entries`); only entries without them (a checkpoint
    written before they were carried, a linked shard read from the table cache or assembled
    from its entries, every pair of a search) have their families compiled again (:func:`_pair_counts`), in chunks of :data:`POST_SHARD_FAMILIES`. Rows are sorted by
    candidate id, then descending log10 LR, then lab and family id.

    A pair's log10 LR and counts come from its first entry in the order: hits, candidates'
    lists, families' lists (they are the same numbers wherever it was kept). The pairs are
    merged with numpy (``candidate * n_families + family`` keys) and the text columns indexed
    from arrays of the run's ids: O(n_pairs log n_pairs), no Python object per pair.
    """
    cand, cand_rank, fam, fam_rank, hits = merge_results(results, k=k)
    families = run.inputs.families
    n_f = len(families)
    every = Entries.concat((hits, cand, fam))
    # one row per (candidate, family) pair, sorted by (candidate, family); its score and counts
    # from its first entry in the order hits, candidates' lists, families' lists
    keys, first, row = np.unique(every.candidate.astype(np.int64) * n_f + every.family, return_index=True,
                                 return_inverse=True)
    c_idx, f_idx = np.divmod(keys, max(n_f, 1))
    log10_lr = every.score[first]
    ranks = []
    for at, rank in ((row[len(hits):len(hits) + len(cand)], cand_rank), (row[len(hits) + len(cand):], fam_rank)):
        values = np.zeros(keys.size, dtype=np.int32)
        values[at] = rank
        missing = np.ones(keys.size, dtype=bool)
        missing[at] = False
        ranks.append(pd.arrays.IntegerArray(values, missing))
    n_compared = np.zeros(keys.size, dtype=np.int16)
    n_inconsistent = np.zeros(keys.size, dtype=np.int16)
    unlinked = np.zeros(keys.size, dtype=np.float64)
    counted = every.counted[first]
    if counted.any():
        n_compared[counted] = every.n_compared[first[counted]]
        n_inconsistent[counted] = every.n_inconsistent[first[counted]]
        unlinked[counted] = every.unlinked[first[counted]]
    if not counted.all():  # entries scored without counts (e.g. a search's held tables): compile
        n_compared[~counted], n_inconsistent[~counted], unlinked[~counted] = _pair_counts(
            run, c_idx[~counted], f_idx[~counted])
    # the independent-loci LR: the kernel's own value where no pair of loci was scored jointly
    unlinked = np.where(run.linked_families[f_idx], unlinked, log10_lr)
    tail = every.tail[first] if every.tail is not None else np.full(keys.size, np.nan)
    conclusion, flagged = conclude(log10_lr, n_inconsistent)
    new_c = np.ones(len(run.inputs.candidate_ids), bool) if new_candidates is None else new_candidates
    new_f = np.ones(n_f, bool) if new_families is None else new_families
    labs, family_ids, kinds = (np.array([getattr(f, a) for f in families], dtype=object)
                               for a in ("lab", "family_id", "kind"))
    candidate_ids = np.array(run.inputs.candidate_ids, dtype=object)
    df = pd.DataFrame(
        {
            "candidate_id": pd.array(candidate_ids[c_idx], dtype=str),
            "lab": pd.array(labs[f_idx], dtype=str),
            "family_id": pd.array(family_ids[f_idx], dtype=str),
            "family_kind": pd.array(kinds[f_idx], dtype=str),
            "log10_lr": log10_lr,
            "log10_lr_unlinked": unlinked,
            "n_loci_compared": n_compared,
            "n_inconsistent": n_inconsistent,
            "rank_for_candidate": ranks[0],
            "rank_for_family": ranks[1],
            "conclusion": pd.array(conclusion, dtype=str),
            "flagged": flagged,
            "is_new": new_c[c_idx] | new_f[f_idx],
            "p_unrelated": tail,
        }
    )
    # sorted by candidate id, descending log10 LR, lab, family id: ids are unique, so the
    # positions of the ids in sorted order stand for them (the inputs hold them sorted)
    order = np.lexsort((_sorted_position(list(zip(labs, family_ids)))[f_idx], -log10_lr,
                        _sorted_position(list(run.inputs.candidate_ids))[c_idx]))
    return df.iloc[order].reset_index(drop=True)


def _sorted_position(ids: list) -> np.ndarray:
    """Position of each of ``ids`` (distinct, comparable) in their sorted order, int64; the
    identity, without sorting, when they are sorted already (the run's inputs hold them so).

    Examples
    --------
    >>> _sorted_position(["a", "b", "c"]).tolist(), _sorted_position(["b", "c", "a"]).tolist()
    ([0, 1, 2], [1, 2, 0])
    """
    if all(a < b for a, b in zip(ids, ids[1:])):
        return np.arange(len(ids), dtype=np.int64)
    position = np.empty(len(ids), dtype=np.int64)
    position[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
    return position


def calibrate(
    run: EncodedRun,
    matches: pd.DataFrame,
    *,
    threshold: float,
    max_expected_unrelated: float | None,
    y_max: np.ndarray | None = None,
    kernel: str | None = None,
) -> pd.DataFrame:
    """Fill ``p_unrelated`` and ``expected_unrelated`` for every pair at or above ``threshold``
    (autosomal or combined), and conclude every pair on its combined evidence ``log10_lr_total`` (autosomal plus Y-STR
    where compared, ``log10_lr`` alone before :func:`kinship.app.lineage.y_evidence` ran).

    Conclusions (GB/T 37223-2018 on the combined LR, :func:`kinship.matching.ranking.conclude`)
    with a calibration gate where the paternity thresholds do not transfer: for a family without
    a parent on file, and for a single-parent family, "support" also needs ``expected_unrelated
    <= max_expected_unrelated`` (None: no gate). At 20 loci an unrelated single-parent pair
    reaches CPI 10,000 with probability of order 10^-6, i.e. hundreds of chance hits among 10^6
    parents x 10^5 children; the gate keeps those inconclusive until more evidence (Y-STRs, the
    other parent, more loci) makes them rare at the store's size. A family without a parent
    may legitimately share no allele with the child at a locus, so for those the
    inconsistent-loci rule does not exclude (only the LR does); for a single parent it still does.

    ``p_unrelated`` is an upper bound on the probability that an unrelated candidate typed at
    the same loci (partially where this candidate is partial; with a silent allele, showing what
    it would show: :func:`kinship.likelihood.phenotypes.unrelated_rows`) reaches the pair's
    combined LR against this family (:mod:`kinship.likelihood.calibration`). Where the pair has a
    Y-STR LR, the tail is that of the autosomal LR plus an independent Y-STR factor of which only
    ``E[LR_Y | unrelated] <= 1`` and ``log10 LR_Y <= y_max[candidate]`` are used
    (:func:`kinship.likelihood.calibration.tail_probability_with_factor`: the largest tail any
    population of Y haplotypes could give, no Y frequency model needed). ``expected_unrelated``
    multiplies it by the number of candidates in the run.

    The hits of one family whose candidates are typed alike (the same loci, partially at the
    same loci) share one distribution (:func:`kinship.likelihood.calibration.tail_probabilities`,
    on numba's threads); ``kernel="numpy"`` computes each hit alone with the numpy reference
    (the same numbers, ``tests/unit/test_calibration_fast.py``).

    A hit without a Y-STR LR whose ``p_unrelated`` is already in ``matches`` (the tail its shard
    computed from the tables it scored with, :func:`with_tails`, which :func:`collect_matches`
    carries) keeps it: the same number, and the hit families are not compiled again. The others
    (Y-STR LRs, a search's pairs, entries without tails) are computed here; ``kernel="numpy"``
    computes every hit.

    Raises
    ------
    ValueError
        A pair has a Y-STR LR but ``y_max`` was not given.
    KeyError
        A hit's candidate or family is not one of the run's.
    """
    if kernel not in (None, *KERNELS):
        raise ValueError(f"kernel {kernel!r}; expected one of {KERNELS}")
    out = matches.copy(deep=False)  # copy-on-write (pandas >= 3): only the columns set here are new
    carried = out.pop("p_unrelated").to_numpy(dtype=np.float64, na_value=np.nan) if "p_unrelated" in out else None
    y, total = combined_log10_lr(out)
    if (~np.isnan(y)).any() and y_max is None:
        raise ValueError("matches carry Y-STR LRs but y_max (each candidate's largest possible Y-STR LR) was not given")
    p = np.full(len(out), np.nan)
    hit = np.flatnonzero((out["log10_lr"].to_numpy() >= threshold) | (total >= threshold))
    if carried is not None and kernel != "numpy":  # the shards' tails: the pair's own where it has no Y-STR LR
        done = np.isnan(y[hit]) & ~np.isnan(carried[hit])
        p[hit[done]] = carried[hit[done]]
        hit = hit[~done]
    if hit.size:
        cands, fams = _pair_indices(run, out.iloc[hit], check=False)
        if (fams < 0).any() or (cands < 0).any():
            i = int(np.flatnonzero((fams < 0) | (cands < 0))[0])
            raise KeyError(f"hit {out['candidate_id'].iat[hit[i]]!r} x ({out['lab'].iat[hit[i]]!r}, "
                           f"{out['family_id'].iat[hit[i]]!r}) is not a candidate and a family of the run")
        h2, sizes = run.unrelated_observations
        g = run.candidate_genotypes
        chunks = list(_family_chunks(fams))  # the hit families, compiled a chunk at a time
        if kernel == "numpy":  # the reference: one hit at a time
            for wanted, pos, local in chunks:
                layout = {}
                for where, tables, _ in run.scoring_tables(wanted):
                    units = run.units_of(tables)
                    for j, q in enumerate(where):
                        layout[int(q)] = (tables, units, j)
                for row, lf, c in zip(hit[pos], local, cands[pos]):
                    _calibrate_pair(row, layout[int(lf)], g[c], h2, sizes, y, total, y_max, c, p)
        else:
            _ = (run.units, run.linked_families)  # computed here, not by both threads
            # the next chunk is compiled (numpy, which releases the GIL) while the kernel runs on
            # this one (numba, nogil); the numbers do not depend on it
            with ThreadPoolExecutor(max_workers=1) as pool:
                ahead = pool.submit(run.scoring_tables, chunks[0][0]) if chunks else None
                for k, (wanted, pos, local) in enumerate(chunks):
                    scoring = ahead.result()
                    ahead = pool.submit(run.scoring_tables, chunks[k + 1][0]) if k + 1 < len(chunks) else None
                    for where, tables, _ in scoring:
                        units = run.units_of(tables)
                        column = np.full(len(wanted), -1, dtype=np.int64)
                        column[where] = np.arange(len(where))
                        j = column[local]
                        mine = j >= 0
                        _calibrate_hits(hit[pos][mine], j[mine], cands[pos][mine], tables, units, g, h2, sizes, y,
                                        total, y_max, p, kernel)
                    del scoring
    out["p_unrelated"] = p
    out["expected_unrelated"] = p * len(run.inputs.candidate_ids)
    conclusion, flagged = conclude(total, out["n_inconsistent"].to_numpy())
    if max_expected_unrelated is not None:
        kind = out["family_kind"].to_numpy()
        rare = out["expected_unrelated"].to_numpy() <= max_expected_unrelated  # NaN (not a hit): False
        no_parent = ~np.isin(kind, PARENT_KINDS)
        single = np.isin(kind, SINGLE_PARENT_KINDS)
        calibrated = np.where(
            total >= SUPPORT_LOG10_CPI,
            np.where(rare, "support", "inconclusive"),
            np.where(total < EXCLUSION_LOG10_CPI, "excluded", "inconclusive"),
        )
        conclusion = np.where(no_parent, calibrated, conclusion)
        conclusion = np.where(single & (conclusion == "support") & ~rare, "inconclusive", conclusion)
        flagged = np.where(no_parent, False, flagged)
    out["conclusion"] = pd.array(conclusion.astype(str), dtype=str)
    out["flagged"] = flagged.astype(bool)
    return out


def _calibrate_pair(row, layout, gc, h2, sizes, y, total, y_max, c, p) -> None:
    """``p[row]``: the calibration tail of one hit (:func:`calibrate`) from its family's tables,
    with the numpy reference (``kernel="numpy"``)."""
    tables, units, j = layout
    state = np.where(gc == UNTYPED, 2, np.where(gc <= -2, 1, 0))
    gather, flat, starts = _unit_layout(units, state, h2, sizes)
    values = [tables.log10_lr[u][rows, j] for u, rows in gather]
    probs = [flat[a:e] for a, e in zip(starts[:-1], starts[1:])]
    if np.isnan(y[row]):
        p[row] = tail_probability(values, probs, float(total[row]), kernel="numpy")
    else:
        p[row] = tail_probability_with_factor(values, probs, float(total[row]), float(y_max[c]), kernel="numpy")


#: Distinct (family, typing pattern) distributions per call of the compiled kernel, at most
#: (1,024 x ~2,000 observations x 8 B = 16 MB at 20 independent loci) ...
_CALIBRATION_BATCH = 1024
#: ... and fewer where the observations are many (a linked pair's joint rows, e.g. 300 x 78 at
#: D12S391~vWA): the values array of one call stays within this many bytes.
_CALIBRATION_BATCH_BYTES = 1 << 25


def _unit_layout(units, state, h2, sizes):
    """``(gather, probs, starts)`` of one candidate typing pattern (``state[li]``: 0 typed, 1
    partially typed, 2 untyped): per unit with a typed locus, its table rows and their
    probabilities under H2, as :func:`_calibrate_pair` builds them."""
    gather, probs, starts = [], [], [0]
    for u, (_, members) in enumerate(units):
        if all(state[li] == 2 for li in members):
            continue
        rows, pr = unit_observations(
            [h2[(li, bool(state[li] == 1))] if state[li] != 2 else (np.array([sizes[li] - 1]), np.ones(1))
             for li in members], [sizes[li] for li in members])
        gather.append((u, rows))
        probs.append(pr)
        starts.append(starts[-1] + rows.size)
    return gather, (np.concatenate(probs) if probs else np.zeros(0)), np.array(starts, dtype=np.int64)


def _calibrate_hits(rows, j, c, tables, units, g, h2, sizes, y, total, y_max, p, kernel) -> None:
    """``p[rows]``: the calibration tails of hits (:func:`calibrate`) of one chunk's tables,
    family column ``j`` and candidate ``c`` each; one distribution per (family, candidate typing
    pattern), the compiled kernel over them all."""
    if rows.size == 0:
        return
    state = np.where(g[c] == UNTYPED, 2, np.where(g[c] <= -2, 1, 0)).astype(np.int8)
    patterns, pattern = np.unique(state, axis=0, return_inverse=True)
    pattern = pattern.ravel()
    for k in range(patterns.shape[0]):
        gather, probs, starts = _unit_layout(units, patterns[k], h2, sizes)
        mine = np.flatnonzero(pattern == k)
        columns, group = np.unique(j[mine], return_inverse=True)
        group = group.ravel()
        batch = max(1, min(_CALIBRATION_BATCH, _CALIBRATION_BATCH_BYTES // (8 * max(1, probs.size))))
        for b in range(0, columns.size, batch):
            cols = columns[b:b + batch]
            values = np.empty((cols.size, probs.size))
            for (u, r), a, e in zip(gather, starts[:-1], starts[1:]):
                values[:, a:e] = tables.log10_lr[u][np.ix_(r, cols)].T
            sel = mine[(group >= b) & (group < b + cols.size)]
            grp = group[(group >= b) & (group < b + cols.size)] - b
            plain = np.isnan(y[rows[sel]])
            if plain.any():
                p[rows[sel[plain]]] = tail_probabilities(values, probs, starts, total[rows[sel[plain]]], grp[plain],
                                                         kernel=kernel)
            for i, gi in zip(sel[~plain].tolist(), grp[~plain].tolist()):
                split = [values[gi, a:e] for a, e in zip(starts[:-1], starts[1:])]
                split_p = [probs[a:e] for a, e in zip(starts[:-1], starts[1:])]
                p[rows[i]] = tail_probability_with_factor(split, split_p, float(total[rows[i]]), float(y_max[c[i]]),
                                                          kernel=kernel)


def combined_log10_lr(matches: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(log10_lr_y with NaN for null, log10_lr + log10_lr_y)``: the Y-STR LR multiplies the
    autosomal one under independence (null, or no column yet: factor 1)."""
    n = len(matches)
    y = (matches["log10_lr_y"].to_numpy(dtype=np.float64, na_value=np.nan) if "log10_lr_y" in matches
         else np.full(n, np.nan))
    return y, matches["log10_lr"].to_numpy(dtype=np.float64) + np.nan_to_num(y, nan=0.0)




def assess(run: EncodedRun, matches: pd.DataFrame, *, prior: PriorParameters, k: int, threshold: float,
           y_max: np.ndarray | None = None) -> pd.DataFrame:
    """Posteriors after database size and the joint assignment of the supported and flagged
    pairs: the reported pairs as ``schemas/matches.v3.json`` (its columns in its order).

    * ``posterior`` / ``posterior_lower``: candidate's side, over every family on file plus
      "not on file" (:func:`kinship.matching.posterior.database_posteriors`), on
      ``log10_lr_total``; the pairs not kept enter at their expectation (1 each) and, for the
      lower bound, at their maximum: the candidate's ``k``-th best kept LR capped by
      ``threshold`` (each candidate's best ``k`` are all kept). Y-STR evidence is computed for
      kept pairs only, so the bound also multiplies each pair left out by the largest Y-STR LR
      the candidate could reach against any family (``y_max``, log10 per candidate index, from
      :func:`kinship.app.lineage.y_evidence`; required when any pair has ``log10_lr_y``).
    * ``family_posterior`` / ``family_posterior_lower``: the family's side, over every candidate
      plus "not among the candidates".
    * ``joint_group``, ``joint_posterior``, ``joint_exact``, ``conflict``: the one-to-one
      assignment of the pairs that support parentage or are flagged
      (:func:`kinship.matching.assignment.joint_assignment`), each family taking at most its
      declared ``n_missing`` children.

    Sums are taken in a fixed order, so the same kept pairs give the same bytes in a full and an
    incremental run.
    """
    out = matches.copy(deep=False)  # copy-on-write (pandas >= 3): only the columns set here are new
    for column, dtype in Y_COLUMNS.items():
        if column not in out:
            out[column] = null_column(len(out), dtype)
    y, total = combined_log10_lr(out)
    out["log10_lr_total"] = total
    c_idx, f_idx = _pair_indices(run, out)
    n_c, n_f = len(run.inputs.candidate_ids), len(run.inputs.families)
    log10_lr = out["log10_lr"].to_numpy(dtype=np.float64)
    if (~np.isnan(y)).any() and y_max is None:
        raise ValueError("matches carry Y-STR LRs but y_max (each candidate's largest possible Y-STR LR) was not given")
    y_max = np.zeros(n_c) if y_max is None else np.maximum(np.asarray(y_max, dtype=np.float64), 0.0)
    cand_bound = _kept_bound(log10_lr, c_idx, out["rank_for_candidate"].notna().to_numpy(), n_c, k, threshold) + y_max
    fam_bound = _kept_bound(log10_lr, f_idx, out["rank_for_family"].notna().to_numpy(), n_f, k, threshold)
    fam_bound = fam_bound + (y_max.max(initial=0.0) if n_c else 0.0)
    side_c = database_posteriors(total, c_idx, f_idx, n_owners=n_c, n_partners=n_f, log10_bound=cand_bound,
                                 prior_not_on_file=prior.family_not_on_file)
    side_f = database_posteriors(total, f_idx, c_idx, n_owners=n_f, n_partners=n_c, log10_bound=fam_bound,
                                 prior_not_on_file=prior.child_not_on_file)
    out["posterior"] = side_c.posterior
    out["posterior_lower"] = side_c.lower
    out["family_posterior"] = side_f.posterior
    out["family_posterior_lower"] = side_f.lower
    in_group = ((out["conclusion"] == "support") | out["flagged"].astype(bool)).to_numpy()
    group, joint, exact = (null_column(len(out), t) for t in ("Int32", "Float64", "boolean"))
    conflict = np.zeros(len(out), dtype=bool)
    rows = np.flatnonzero(in_group)
    if rows.size:
        log10_w = np.log10(1.0 - prior.family_not_on_file) - np.log10(float(n_f))
        outside = log10_none_weight(total, c_idx, f_idx, in_group, n_owners=n_c, n_partners=n_f,
                                    log10_bound=cand_bound, prior_not_on_file=prior.family_not_on_file)
        n_missing = np.array([f.n_missing for f in run.inputs.families], dtype=np.int64)
        solved = joint_assignment(c_idx[rows], f_idx[rows], log10_w + total[rows], outside, n_missing)
        group[rows] = solved.group
        joint[rows] = solved.posterior
        exact[rows] = solved.exact
        conflict[rows] = solved.conflict
    out["joint_group"] = group
    out["joint_posterior"] = joint
    out["joint_exact"] = exact
    out["conflict"] = conflict
    return out[list(MATCHES_COLUMNS)]


#: ``schemas/matches.v3.json``'s columns, in order.
MATCHES_COLUMNS = tuple(f["name"] for f in load_schema("matches.v3")["fields"])


def _kept_bound(log10_lr: np.ndarray, owner: np.ndarray, ranked: np.ndarray, n_owners: int, k: int,
                threshold: float) -> np.ndarray:
    """Upper bound on the log10 LR of each owner's pairs not kept: its ``k``-th best (the lowest
    of its ranked pairs), capped by the reporting threshold (every pair above it is kept)."""
    bound = np.full(n_owners, float(threshold))
    kth = np.full(n_owners, np.inf)
    np.minimum.at(kth, owner[ranked], log10_lr[ranked])
    return np.minimum(bound, kth)


def _pair_counts(run: EncodedRun, cand: np.ndarray, fam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loci compared, Mendelian-inconsistent loci, and the log10 LR with every locus independent
    (summed in the kernel's locus order) of given (candidate, family) pairs."""
    n_compared = np.zeros(cand.size, dtype=np.int16)
    n_inconsistent = np.zeros(cand.size, dtype=np.int16)
    unlinked = np.zeros(cand.size, dtype=np.float64)
    for wanted, pos, local in _family_chunks(fam):  # the chunks' pairs are disjoint
        n_compared[pos], n_inconsistent[pos], unlinked[pos] = _table_counts(
            run.family_tables(wanted.tolist()), run.candidate_genotypes[cand[pos]], local)
    return n_compared, n_inconsistent, unlinked


def _genotype_text(table: FrequencyTable, locus: str, pair: np.ndarray) -> str:
    if pair[0] < 0:
        return ""
    alleles = table[locus].alleles
    second = UNKNOWN_ALLELE if pair[1] == UNKNOWN else alleles[pair[1]]
    return f"{alleles[pair[0]]}/{second}"


def pair_loci(run: EncodedRun, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per-locus genotypes and log10 PI of the given pairs (schema ``pair_loci.v2``): the
    report's detail cards in a run (:func:`~kinship.report.formatting.detail_pairs`), any pair on
    demand.

    The tables of the pairs' families are compiled again (a handful of families), so the
    per-locus values are the same entries the kernel summed and add up to the pair's combined
    log10 LR. For a family scored with linked loci (:attr:`EncodedRun.linked_families`), each
    locus's row holds its single-locus log10 PI, and one more row per linked pair, ``locus`` =
    the pair's name (``vWA~D12S391``), no genotypes, holds the *linkage factor*: the joint
    two-locus log10 LR minus the two single-locus values (0 where a locus is untyped or
    excluded), so the rows still add up to the pair's log10 LR.
    """
    cand_col = {c: k for k, c in enumerate(run.inputs.candidate_ids)}
    fam_col = {(f.lab, f.family_id): k for k, f in enumerate(run.inputs.families)}
    ref_col = {r: k for k, r in enumerate(run.inputs.reference_ids)}
    listed = list(pairs.itertuples(index=False))
    fam = np.array([fam_col[(p.lab, p.family_id)] for p in listed], dtype=np.int64)
    per_pair: list[list[dict]] = [[] for _ in listed]
    g = run.candidate_genotypes
    for wanted, pos, local in _family_chunks(fam):  # the pairs' families, compiled a chunk at a time
        tables = run.family_tables(wanted.tolist())
        linked_wanted = [int(f) for f in wanted if run.linked_families[f]]
        joint = run.family_tables(linked_wanted, linked=True) if linked_wanted else None
        joint_local = {f: k for k, f in enumerate(linked_wanted)}
        gj = run.linked_genotypes if linked_wanted else None
        for i, lf in zip(pos.tolist(), local.tolist()):
            pair, f = listed[i], int(fam[i])
            c = cand_col[pair.candidate_id]
            family = run.inputs.families[f]
            rows = per_pair[i]
            for li, locus in enumerate(run.loci):
                gi = g[c, li]
                row = int(table_row(gi, tables.log10_lr[li].shape[0]))
                father = run.references[li, ref_col[family.father]] if family.father else np.array([-1, -1])
                mother = run.references[li, ref_col[family.mother]] if family.mother else np.array([-1, -1])
                rows.append({
                    "candidate_id": pair.candidate_id,
                    "lab": pair.lab,
                    "family_id": pair.family_id,
                    "locus": locus,
                    "candidate_genotype": _genotype_text(run.table, locus, run.candidates[li, c]),
                    "father_genotype": _genotype_text(run.table, locus, father),
                    "mother_genotype": _genotype_text(run.table, locus, mother),
                    "log10_pi": float(tables.log10_lr[li][row, lf]),
                    "compared": bool(gi != UNTYPED and tables.typed[li, lf]),
                    "inconsistent": bool(tables.inconsistent[li][row, lf]),
                })
            if f not in joint_local:
                continue
            for u, (name, members) in enumerate(run.units):
                if len(members) == 1:
                    continue
                single = [float(tables.log10_lr[li][int(table_row(g[c, li], tables.log10_lr[li].shape[0])), lf])
                          for li in members]
                both = float(joint.log10_lr[u][int(table_row(gj[c, u], joint.log10_lr[u].shape[0])), joint_local[f]])
                rows.append({
                    "candidate_id": pair.candidate_id, "lab": pair.lab, "family_id": pair.family_id,
                    "locus": name, "candidate_genotype": "", "father_genotype": "", "mother_genotype": "",
                    "log10_pi": 0.0 if not np.isfinite(both) else both - sum(single),
                    "compared": bool(all(g[c, li] != UNTYPED and tables.typed[li, lf] for li in members)),
                    "inconsistent": False,
                })
    rows = [r for pair_rows in per_pair for r in pair_rows]
    return pd.DataFrame(rows, columns=[
        "candidate_id", "lab", "family_id", "locus", "candidate_genotype", "father_genotype",
        "mother_genotype", "log10_pi", "compared", "inconsistent",
    ])


def relative_genotypes(run: EncodedRun, pairs: pd.DataFrame) -> pd.DataFrame:
    """The genotypes of the typed relatives other than the parents of the pairs' families, for
    the report's detail cards (:func:`kinship.report.render_html` ``relatives=``): a sibling,
    grandparent, aunt, uncle or pedigree member is shown beside the candidate, locus by locus.

    Parameters
    ----------
    run : EncodedRun
    pairs : DataFrame
        Columns ``lab, family_id`` (e.g. :func:`~kinship.report.formatting.detail_pairs`).

    Returns
    -------
    DataFrame
        Columns ``lab, family_id, sample_id, relationship, locus, genotype`` (all ``str``; the
        genotype ``""`` where untyped), one row per relative and locus of the run, families in
        the order first met, relatives in the family's order. Parents are left out (``pair_loci``
        has their columns).
    """
    fam_col = {(f.lab, f.family_id): k for k, f in enumerate(run.inputs.families)}
    ref_col = {r: k for k, r in enumerate(run.inputs.reference_ids)}
    rows = []
    seen = set()
    for lab, family_id in pairs[["lab", "family_id"]].itertuples(index=False):
        if (lab, family_id) in seen:
            continue
        seen.add((lab, family_id))
        family = run.inputs.families[fam_col[(lab, family_id)]]
        for sample, relationship in family.relationships:
            if relationship in ("father", "mother"):
                continue
            for li, locus in enumerate(run.loci):
                rows.append({"lab": lab, "family_id": family_id, "sample_id": sample, "relationship": relationship,
                             "locus": locus,
                             "genotype": _genotype_text(run.table, locus, run.references[li, ref_col[sample]])})
    return pd.DataFrame(rows, columns=["lab", "family_id", "sample_id", "relationship", "locus", "genotype"], dtype=str)


def provenance(
    compiled: EncodedRun,
    params: MatchParameters,
    substitutions: list[AlleleSubstitution],
    *,
    started_at: datetime,
    run_id: str | None = None,
    plan: RunPlan | None = None,
    previous: dict | None = None,
    matches: pd.DataFrame | None = None,
    y_str: dict | None = None,
) -> dict:
    """The run's provenance record (``schemas/provenance.v4.json``): what was compared, with
    what, and what is new since the previous run.

    Parameters
    ----------
    compiled : EncodedRun
        The run (inputs, effective table, loci used and left out).
    params : MatchParameters
        The run's parameters; ``params.as_dict()`` is recorded as ``parameters`` and
        ``params.table_id`` as ``frequency_table.source``.
    substitutions : list of AlleleSubstitution
        Alleles added to the chosen table (:func:`effective_frequencies`).
    started_at : datetime
        Timezone-aware start of the run; recorded in UTC.
    run_id : str, optional
        Default :func:`new_run_id`.
    plan : RunPlan, optional
        Adds ``comparison.n_pairs_scored_now``, ``n_new_candidates``, ``n_new_families``.
    previous : dict, optional
        The previous run's stored row (``run_id``).
    matches : DataFrame, optional
        The calibrated matches; adds ``comparison.n_reported_pairs``, ``n_new_reported_pairs``,
        ``n_hits`` and ``n_new_hits`` (hits: ``log10_lr >= params.threshold``).
    y_str : dict, optional
        The Y-STR step's entry (:func:`kinship.app.lineage.y_evidence`); default ``{"used": False}``.

    Returns
    -------
    dict
        Keys ``schema`` (``"reunite/provenance/4"``), ``run_id``, ``kind``, ``comparison``,
        ``code_version``, ``started_at``, ``hypotheses``, ``parameters``, ``mutation_model``,
        ``theta``, ``mutation_checks`` (loci where the model is not stationary or not bounded),
        ``conclusions``, ``frequency_table``, ``inputs`` and ``outputs`` (empty here:
        :func:`kinship.report.tables.write_tables` lists the files it writes). JSON-serialisable.
        ``frequency_table.renormalised`` lists the loci of the chosen table whose sum departed
        from 1 beyond rounding (``{locus, sum}``), and ``frequency_table.silent_alleles`` the
        silent alleles in use at the run's loci (``{locus, frequency}``; empty when
        ``params.silent_alleles`` is off).
    """
    run_id = run_id or new_run_id(compiled.inputs, started_at)
    n_c, n_f = len(compiled.inputs.candidate_ids), len(compiled.inputs.families)
    comparison = {"kind": plan.kind if plan else "full", "reason": plan.reason if plan else "",
                  "previous_run_id": previous["run_id"] if previous else None,
                  "n_pairs": n_c * n_f}
    if plan is not None:
        comparison["n_pairs_scored_now"] = int(sum(len(f) * len(c) for f, c in plan.shards))
        comparison["n_new_candidates"] = int(plan.new_candidates.sum())
        comparison["n_new_families"] = int(plan.new_families.sum())
    if matches is not None:
        hits = matches["log10_lr"] >= params.threshold
        comparison["n_reported_pairs"] = int(len(matches))
        comparison["n_new_reported_pairs"] = int(matches["is_new"].sum())
        comparison["n_hits"] = int(hits.sum())
        comparison["n_new_hits"] = int((hits & matches["is_new"]).sum())
    return {
        "schema": "reunite/provenance/4",
        "run_id": run_id,
        "kind": comparison["kind"],
        "comparison": comparison,
        "code_version": kinship.code_version(),
        "started_at": started_at.astimezone(timezone.utc).isoformat(),
        "hypotheses": HYPOTHESES,
        "parameters": params.as_dict(),
        "mutation_model": params.mutation_model.describe(),
        "theta": params.theta,
        "mutation_checks": [c for c in mutation_checks(params.mutation_model, compiled.table, compiled.loci)
                            if not (c["stationary"] and c["bounded"])],
        "conclusions": CONCLUSION_TEXT,
        "posterior": posterior_model(matches),
        "y_str": y_str if y_str is not None else {"used": False},
        "linkage": linkage_model(compiled, params.linkage),
        "frequency_table": {
            "name": compiled.table.name,
            "source": params.table_id,
            "sha256": table_hash(compiled.table),
            "substitutions": [asdict(s) for s in substitutions],
            "renormalised": [asdict(r) for r in compiled.table.renormalised],
            "silent_alleles": [
                {"locus": locus, "frequency": p} for locus, p in compiled.table.silent_alleles.items()
                if locus in compiled.loci
            ],
        },
        "inputs": {
            "sha256": compiled.inputs.sha256(),
            "n_families": len(compiled.inputs.families),
            "n_references": len(compiled.inputs.reference_ids),
            "n_candidates": len(compiled.inputs.candidate_ids),
            "family_kinds": {
                k: sum(f.kind == k for f in compiled.inputs.families)
                for k in (*PARENT_KINDS, *sorted(
                    {f.kind for f in compiled.inputs.families} - set(PARENT_KINDS)))
            },
            "loci": list(compiled.loci),
            "loci_left_out": compiled.loci_left_out,
        },
        "outputs": {},
    }


#: The genetic map of the linked pairs (:func:`kinship.genetics.linkage.linkage_map`), as the provenance names it.
LINKAGE_MAP_SOURCE = ("KLINK 50-marker sex-averaged map (github.com/magnusdv/KLINK f2429b39, "
                      "data-raw/linkageMap50_withInfo.xlsx), bundled as kinship/data/linkage_map.csv")


def linkage_model(run: EncodedRun, params: LinkageParameters) -> dict:
    """The provenance's ``linkage``: the linked pairs of the run's loci scored jointly, with
    their map distances and recombination fractions, and how many families they applied to."""
    return {
        "used": bool(run.linked),
        "map": LINKAGE_MAP_SOURCE,
        "map_function": params.map_function,
        "max_distance_cm": params.max_distance_cm,
        "pairs": [
            {"name": p.name, "first": p.first, "second": p.second, "chromosome": str(p.chromosome),
             "distance_cm": float(p.distance_cM), "recombination_fraction": float(p.recombination_fraction)}
            for p in run.linked
        ],
        "n_families_linked": int(run.linked_families.sum()),
        "n_families_too_large": int(run.too_large_to_link),
        "model": (
            "families with relatives other than the parents: each linked pair is one joint super-locus, "
            "the exact two-locus likelihood over inheritance vectors (Lander & Green 1987; as KLINK / "
            "pedprobr likelihoodLinked), the loci independent given the inheritance, linkage equilibrium "
            "in the population, one sex-averaged recombination fraction; parent-only families: the loci "
            f"independent (a parent-child LR does not depend on linkage); pedigrees of more than {MAX_MEIOSES} "
            "meioses: the loci independent"
        ),
    }


def posterior_model(matches: pd.DataFrame | None = None) -> dict:
    """The provenance's ``posterior``: the model of the posteriors and of the joint assignment
    (:func:`assess`), with the group counts of ``matches`` when given."""
    groups = pd.DataFrame()
    if matches is not None and "joint_group" in matches and matches["joint_group"].notna().any():
        groups = matches[matches["joint_group"].notna()].groupby("joint_group").agg(
            exact=("joint_exact", "all"), conflict=("conflict", "any"))
    return {
        "candidate_side": "P(family f | candidate c) = w LR_cf / (pi_0 + w sum_f' LR_cf'), w = (1 - pi_0) / "
                          "n_families, pi_0 = parameters.prior.family_not_on_file; LR = 10^log10_lr_total",
        "family_side": "P(candidate c | family f) = v LR_cf / (rho_0 + v sum_c' LR_c'f), v = (1 - rho_0) / "
                       "n_candidates, rho_0 = parameters.prior.child_not_on_file",
        "pairs_not_kept": "R pairs not kept enter as R x min(1, 10^b): their expectation E[LR | unrelated] = 1, "
                          "capped by b, the owner's k-th best kept log10 LR capped by parameters.threshold",
        "lower_bound": "posterior_lower / family_posterior_lower: the pairs not kept at R x 10^b (b plus the "
                       "largest Y-STR log10 LR the candidate could reach), a sure lower bound",
        "joint_assignment": {
            "pairs": "pairs with conclusion 'support' or flagged, in groups connected through shared candidates or families",
            "constraint": "each candidate to at most one family; each family at most its declared n_missing children",
            "exact_up_to_assignments": MAX_ASSIGNMENTS,
            "beyond": "joint_posterior is the bound w_cf / (w_cf + b_c), joint_exact false, conflict true",
            "n_groups": int(len(groups)),
            "n_exact_groups": int(groups["exact"].sum()) if len(groups) else 0,
            "n_conflict_groups": int(groups["conflict"].sum()) if len(groups) else 0,
        },
        "sources": [
            "Brenner & Weir 2003, Theor. Popul. Biol. 63:173-178 (identification posterior with a prior over a search)",
            "Vigeland & Egeland 2021, Sci. Rep. 11:13661 (joint identification, posterior pairing probabilities)",
        ],
    }


def new_run_id(inputs: MatchInputs, when: datetime) -> str:
    """``run-<UTC timestamp to the microsecond>-<first 8 hex of the input hash>``."""
    return f"run-{when.astimezone(timezone.utc):%Y%m%dT%H%M%S%fZ}-{inputs.sha256()[:8]}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
