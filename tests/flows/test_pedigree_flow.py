"""A family filed as a PED-style pedigree table, through the ingest, ingest_pedigrees and match flows."""

from __future__ import annotations

import pandas as pd

from flows.ingest import ingest
from flows.ingest_pedigrees import ingest_pedigrees
from flows.match import match
from tests.provenance_check import assert_run_provenance_valid
from tests.labs import register_test_labs


def test_a_pedigree_family_runs_through_the_flows(ped_scenario, tmp_path):
    s = ped_scenario
    store = str(tmp_path / "store.sqlite")
    register_test_labs(store)
    summary = ingest(export=str(s["export"]), manifest=str(s["manifest"]), lab="L", fmt="tidy", store=store)
    assert summary["n_quarantined"] == 0
    peds = ingest_pedigrees(pedigrees=str(s["pedigrees_csv"]), lab="L", store=store)
    assert (peds["n_families"], peds["n_typed"], peds["n_families_added"]) == (1, 2, 1)
    result = match(store=store, out_dir=str(tmp_path / "out"))
    assert result["provenance"]["inputs"]["family_kinds"]["pedigree"] == 1
    assert_run_provenance_valid(result)
    matches = pd.read_parquet(result["paths"]["matches_parquet"])
    best = matches[matches.rank_for_candidate == 1].set_index("candidate_id")
    for candidate, family in s["truth"].items():
        assert best.loc[candidate, "family_id"] == family
    top = matches[matches.rank_for_family == 1].set_index("family_id")
    assert top.loc["F-PED", "candidate_id"] == "C-PED"
    assert top.loc["F-PED", "family_kind"] == "pedigree"
