"""The full-matrix reference path of a match run, used only by tests.

A run proper streams family shards (:mod:`kinship.app.match_run`); here every family is compiled
at once, every pair is scored by :func:`kinship.matching.reference.score_all_pairs` (the
kernels' reference, which stays in the library) and every pair is ranked, so the streamed,
incremental and calibrated results can be checked against the whole (candidate x family)
matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kinship.app.match_run import EncodedRun, MatchInputs, encode_run
from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel
from kinship.app.parameters import PriorParameters
from kinship.app.match_run import assess
from kinship.matching.ranking import conclude, rank_descending
from kinship.matching.reference import FamilyTables, MatchScores

__all__ = ["CompiledRun", "compile_run", "rank_matches"]


@dataclass(frozen=True)
class CompiledRun(EncodedRun):
    """An :class:`~kinship.app.match_run.EncodedRun` with every family compiled.

    Attributes
    ----------
    family_tables_all : FamilyTables
        The tables of ``inputs.families``, in that order.
    """

    family_tables_all: FamilyTables | None = None


def compile_run(inputs: MatchInputs, table: FrequencyTable, model: MutationModel, *, theta: float) -> CompiledRun:
    """Encode profiles and compile every family at once."""
    encoded = encode_run(inputs, table, model, theta=theta)
    return CompiledRun(**{f: getattr(encoded, f) for f in encoded.__dataclass_fields__},
                       family_tables_all=encoded.family_tables())


def rank_matches(compiled: CompiledRun, scores: MatchScores, *, prior: PriorParameters) -> pd.DataFrame:
    """All pairs with ranks, posteriors and conclusion (schema ``matches.v3``: every pair, the
    calibration and Y-STR columns empty - see :func:`kinship.app.match_run.calibrate`). With
    every pair known the posteriors after database size are exact (no pair is left out).

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
            "log10_lr_unlinked": scores.log10_lr.ravel(),  # the reference scores every locus independently
            "n_loci_compared": scores.n_loci_compared.ravel().astype(np.int16),
            "n_inconsistent": scores.n_inconsistent.ravel().astype(np.int16),
            "rank_for_candidate": rank_descending(scores.log10_lr, axis=1).ravel(),
            "rank_for_family": rank_descending(scores.log10_lr, axis=0).ravel(),
            "conclusion": conclusion.ravel(),
            "flagged": flagged.ravel(),
            "p_unrelated": np.full(n_c * n_f, np.nan),
            "expected_unrelated": np.full(n_c * n_f, np.nan),
            "is_new": np.ones(n_c * n_f, dtype=bool),
        }
    )
    for column in ("candidate_id", "lab", "family_id", "family_kind", "conclusion"):
        df[column] = df[column].astype(str)
    df = df.sort_values(["candidate_id", "rank_for_candidate"], kind="stable").reset_index(drop=True)
    return assess(compiled, df, prior=prior, k=max(n_c, n_f), threshold=float("inf"))
