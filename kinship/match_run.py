"""One match run: every family against every candidate, from stored profiles to ranked pairs.

The steps, each one function (the match flow wraps each in one task):

1. :func:`assemble_inputs` - profiles (autosomal loci only) and families from the store's tables;
2. :func:`effective_frequencies` - the chosen table plus every stored allele it lacks, at the
   minimum allele frequency, renormalised; its hash goes into the provenance;
3. :func:`compile_run` - allele-index arrays and the per-family genotype tables;
4. :func:`kinship.matching.score_all_pairs` - the kernel;
5. :func:`rank_matches` - ranks, conclusions and posteriors (schema ``matches.v1``);
6. :func:`pair_loci` - per-locus detail of the pairs a report shows (schema ``pair_loci.v1``);
7. :func:`provenance` - the run's provenance record (schema ``provenance.v1``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

import kinship
from kinship.alleles import allele_sort_key
from kinship.errors import ReuniteInputError
from kinship.frequencies import (
    DEFAULT_FREQUENCY_FLOOR,
    AlleleSubstitution,
    FrequencyTable,
    effective_table,
    table_hash,
)
from kinship.io.frequencies import DEFAULT_TABLE
from kinship.loci import LocusCatalogue, default_catalogue
from kinship.matching import FamilyTables, MatchScores
from kinship.mutation import MutationModel
from kinship.profiles import Family, candidate_genotype_index, compile_families, encode_profiles
from kinship.ranking import (
    CONCLUSION_TEXT,
    EXCLUSION_LOG10_CPI,
    EXCLUSION_N_INCONSISTENT,
    SUPPORT_LOG10_CPI,
    conclude,
    posterior_probability,
    rank_descending,
)

__all__ = [
    "MatchParameters",
    "MatchInputs",
    "CompiledRun",
    "assemble_inputs",
    "effective_frequencies",
    "compile_run",
    "rank_matches",
    "reported_pairs",
    "pair_loci",
    "provenance",
]

HYPOTHESES = {
    "h1": "the candidate is the missing child of this family",
    "h2": "the candidate is unrelated to this family",
}


@dataclass(frozen=True)
class MatchParameters:
    """Everything a run's numbers depend on besides the profiles.

    Attributes
    ----------
    table_id : str
        Bundled frequency table (``kinship.io.frequencies.BUNDLED_TABLES``).
    mutation : MutationModel
    prior : float
        Prior probability of H1 for the posterior (0.5: the paternity convention).
    frequency_floor : float
        Minimum allele frequency when the table gives no N.
    """

    table_id: str = DEFAULT_TABLE
    mutation: MutationModel = field(default_factory=MutationModel)
    prior: float = 0.5
    frequency_floor: float = DEFAULT_FREQUENCY_FLOOR

    def as_dict(self) -> dict:
        d = asdict(self)
        d["thresholds"] = {
            "support_cpi": 10.0**SUPPORT_LOG10_CPI,
            "exclusion_cpi": 10.0**EXCLUSION_LOG10_CPI,
            "exclusion_n_inconsistent": EXCLUSION_N_INCONSISTENT,
            "rules": "GB/T 37223-2018 / SF/Z JD0105001-2016",
        }
        return d


@dataclass(frozen=True)
class MatchInputs:
    """Profiles and families of a run, read from the store's tables.

    Attributes
    ----------
    profiles : dict of sample id to {locus: (allele_1, allele_2)}
        Autosomal loci only (Amelogenin, Y and quality loci are kept out of the LR).
    reference_ids, candidate_ids : tuple of str, sorted
    families : tuple of Family, sorted by (lab, family_id)
    """

    profiles: dict
    reference_ids: tuple[str, ...]
    candidate_ids: tuple[str, ...]
    families: tuple[Family, ...]

    def sha256(self) -> str:
        """Hash of the profiles and families: the same stored inputs, the same hash."""
        payload = {
            "profiles": {s: sorted(p.items()) for s, p in sorted(self.profiles.items())},
            "candidates": self.candidate_ids,
            "families": [asdict(f) for f in self.families],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CompiledRun:
    """Arrays of a run, ready for the kernel.

    Attributes
    ----------
    table : FrequencyTable
        The effective table.
    loci : tuple of str
        Loci used: autosomal, in the table, typed in someone.
    loci_left_out : dict of str to str
        Typed loci not used, with the reason.
    references : ndarray of int16, shape (n_loci, n_refs, 2)
    candidates : ndarray of int16, shape (n_loci, n_candidates, 2)
    family_tables : FamilyTables
    """

    inputs: MatchInputs
    table: FrequencyTable
    loci: tuple[str, ...]
    loci_left_out: dict
    references: np.ndarray
    candidates: np.ndarray
    family_tables: FamilyTables

    @property
    def candidate_index(self) -> np.ndarray:
        """Kernel input: genotype indices, shape (n_candidates, n_loci), int32."""
        return candidate_genotype_index(self.candidates)


def assemble_inputs(
    genotypes: pd.DataFrame,
    members: pd.DataFrame,
    *,
    catalogue: LocusCatalogue | None = None,
) -> MatchInputs:
    """Profiles and families from the store's tables.

    Parameters
    ----------
    genotypes : DataFrame
        Columns ``sample_id, role, locus, allele_1, allele_2`` (canonical names and labels).
    members : DataFrame
        Columns ``lab, family_id, sample_id, relationship``; relationship ``father`` or
        ``mother``.

    Raises
    ------
    ReuniteInputError
        A family with two fathers or two mothers, or a family member with no profile.
    """
    catalogue = catalogue or default_catalogue()
    autosomal = genotypes[[catalogue.is_autosomal(l) for l in genotypes["locus"]]]
    profiles: dict[str, dict[str, tuple[str, str]]] = {}
    for row in autosomal.itertuples(index=False):
        profiles.setdefault(row.sample_id, {})[row.locus] = (row.allele_1, row.allele_2)
    roles = genotypes.drop_duplicates("sample_id").set_index("sample_id")["role"]
    candidate_ids = tuple(sorted(s for s, r in roles.items() if r == "candidate" and s in profiles))
    parents: dict[tuple[str, str], dict[str, str]] = {}
    for row in members.sort_values(["lab", "family_id", "sample_id"]).itertuples(index=False):
        slot = parents.setdefault((row.lab, row.family_id), {})
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
        Family(lab, family_id, slot.get("father"), slot.get("mother"))
        for (lab, family_id), slot in sorted(parents.items())
    )
    reference_ids = tuple(sorted({s for f in families for s in f.references}))
    return MatchInputs(profiles, reference_ids, candidate_ids, families)


def effective_frequencies(
    inputs: MatchInputs, table: FrequencyTable, *, floor: float = DEFAULT_FREQUENCY_FLOOR
) -> tuple[FrequencyTable, list[AlleleSubstitution]]:
    """The run's effective table: ``table`` plus every allele the profiles carry that it lacks.

    See :func:`kinship.frequencies.effective_table`.
    """
    observed: dict[str, set[str]] = {}
    for profile in inputs.profiles.values():
        for locus, pair in profile.items():
            observed.setdefault(locus, set()).update(pair)
    return effective_table(table, observed, floor=floor)


def compile_run(inputs: MatchInputs, table: FrequencyTable, model: MutationModel) -> CompiledRun:
    """Encode profiles against the effective table and compile every family.

    Loci typed in some profile but absent from the table are left out and listed.
    """
    typed_loci: dict[str, int] = {}
    for profile in inputs.profiles.values():
        for locus in profile:
            typed_loci[locus] = typed_loci.get(locus, 0) + 1
    loci = tuple(sorted(l for l in typed_loci if l in table))
    left_out = {
        l: f"not in frequency table {table.name!r} ({n} samples typed)"
        for l, n in sorted(typed_loci.items())
        if l not in table
    }
    references = encode_profiles(inputs.profiles, inputs.reference_ids, table, loci)
    candidates = encode_profiles(inputs.profiles, inputs.candidate_ids, table, loci)
    tables = compile_families(inputs.families, references, inputs.reference_ids, table, loci, model)
    return CompiledRun(inputs, table, loci, left_out, references, candidates, tables)


def rank_matches(compiled: CompiledRun, scores: MatchScores, *, prior: float = 0.5) -> pd.DataFrame:
    """All pairs with ranks, posterior and conclusion (schema ``matches.v1``).

    Rows are sorted by candidate id, then rank for the candidate.
    """
    families = compiled.inputs.families
    n_c, n_f = scores.log10_lr.shape
    conclusion, flagged = conclude(scores.log10_lr, scores.n_inconsistent)
    df = pd.DataFrame(
        {
            "candidate_id": np.repeat(np.array(compiled.inputs.candidate_ids, dtype=object), n_f),
            "lab": np.tile(np.array([f.lab for f in families], dtype=object), n_c),
            "family_id": np.tile(np.array([f.family_id for f in families], dtype=object), n_c),
            "family_kind": np.tile(np.array([f.kind for f in families], dtype=object), n_c),
            "log10_lr": scores.log10_lr.ravel(),
            "n_loci_compared": scores.n_loci_compared.ravel().astype(np.int16),
            "n_inconsistent": scores.n_inconsistent.ravel().astype(np.int16),
            "rank_for_candidate": rank_descending(scores.log10_lr, axis=1).ravel(),
            "rank_for_family": rank_descending(scores.log10_lr, axis=0).ravel(),
            "posterior": posterior_probability(scores.log10_lr, prior).ravel(),
            "conclusion": conclusion.ravel(),
            "flagged": flagged.ravel(),
        }
    )
    for column in ("candidate_id", "lab", "family_id", "family_kind", "conclusion"):
        df[column] = df[column].astype(str)
    return df.sort_values(["candidate_id", "rank_for_candidate"], kind="stable").reset_index(drop=True)


def reported_pairs(matches: pd.DataFrame) -> pd.DataFrame:
    """Pairs a case manager sees in detail: each candidate's best family, each family's best
    candidate, and every pair that supports parentage or is flagged."""
    keep = (
        (matches["rank_for_candidate"] == 1)
        | (matches["rank_for_family"] == 1)
        | (matches["conclusion"] == "support")
        | matches["flagged"]
    )
    return matches[keep].sort_values(["log10_lr", "candidate_id", "lab", "family_id"], ascending=[False, True, True, True], kind="stable")


def _genotype_text(table: FrequencyTable, locus: str, pair: np.ndarray) -> str:
    if pair[0] < 0:
        return ""
    alleles = table[locus].alleles
    return f"{alleles[pair[0]]}/{alleles[pair[1]]}"


def pair_loci(compiled: CompiledRun, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per-locus genotypes and log10 PI of the given pairs (schema ``pair_loci.v1``).

    The per-locus values are the same table entries the kernel summed, so they add up to the
    pair's combined log10 LR.
    """
    cand_col = {c: k for k, c in enumerate(compiled.inputs.candidate_ids)}
    fam_col = {(f.lab, f.family_id): k for k, f in enumerate(compiled.inputs.families)}
    ref_col = {r: k for k, r in enumerate(compiled.inputs.reference_ids)}
    g = compiled.candidate_index
    rows = []
    for pair in pairs.itertuples(index=False):
        c = cand_col[pair.candidate_id]
        f = fam_col[(pair.lab, pair.family_id)]
        family = compiled.inputs.families[f]
        for li, locus in enumerate(compiled.loci):
            gi = g[c, li]
            father = compiled.references[li, ref_col[family.father]] if family.father else np.array([-1, -1])
            mother = compiled.references[li, ref_col[family.mother]] if family.mother else np.array([-1, -1])
            rows.append(
                {
                    "candidate_id": pair.candidate_id,
                    "lab": pair.lab,
                    "family_id": pair.family_id,
                    "locus": locus,
                    "candidate_genotype": _genotype_text(compiled.table, locus, compiled.candidates[li, c]),
                    "father_genotype": _genotype_text(compiled.table, locus, father),
                    "mother_genotype": _genotype_text(compiled.table, locus, mother),
                    "log10_pi": float(compiled.family_tables.log10_lr[li][gi, f]),
                    "compared": bool(gi >= 0 and compiled.family_tables.typed[li, f]),
                    "inconsistent": bool(compiled.family_tables.inconsistent[li][gi, f]),
                }
            )
    return pd.DataFrame(rows, columns=[
        "candidate_id", "lab", "family_id", "locus", "candidate_genotype", "father_genotype",
        "mother_genotype", "log10_pi", "compared", "inconsistent",
    ])


def provenance(
    compiled: CompiledRun,
    params: MatchParameters,
    substitutions: list[AlleleSubstitution],
    *,
    run_id: str,
    started_at: datetime,
    chosen_table: str,
    kind: str = "full",
) -> dict:
    """The run's provenance record (schema ``provenance.v1``)."""
    return {
        "schema": "reunite/provenance/1",
        "run_id": run_id,
        "kind": kind,
        "code_version": kinship.__version__,
        "started_at": started_at.astimezone(timezone.utc).isoformat(),
        "hypotheses": HYPOTHESES,
        "parameters": params.as_dict(),
        "mutation_model": params.mutation.describe(),
        "conclusions": CONCLUSION_TEXT,
        "frequency_table": {
            "name": compiled.table.name,
            "source": chosen_table,
            "sha256": table_hash(compiled.table),
            "substitutions": [asdict(s) for s in substitutions],
        },
        "inputs": {
            "sha256": compiled.inputs.sha256(),
            "n_families": len(compiled.inputs.families),
            "n_references": len(compiled.inputs.reference_ids),
            "n_candidates": len(compiled.inputs.candidate_ids),
            "family_kinds": {
                k: sum(f.kind == k for f in compiled.inputs.families)
                for k in ("couple", "father only", "mother only")
            },
            "loci": list(compiled.loci),
            "loci_left_out": compiled.loci_left_out,
        },
        "outputs": {},
    }


def new_run_id(inputs: MatchInputs, when: datetime) -> str:
    """``run-<UTC timestamp>-<first 8 hex of the input hash>``."""
    return f"run-{when.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}-{inputs.sha256()[:8]}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
