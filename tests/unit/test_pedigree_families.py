"""Families filed as a PED-style pedigree table: store, ingestion, assembly, ranking."""

from __future__ import annotations

import pandas as pd
import pytest

from kinship.app import match_run as mr
from kinship.app.parameters import MatchParameters
from kinship.errors import PedigreeError, ReuniteInputError, StoreError
from kinship.app.ingest import ingest_batch, ingest_pedigrees
from kinship.io.frequencies import load_bundled_table


def _ranked(genotypes, members, pedigrees, params=MatchParameters(shard_size=1)):
    inputs = mr.assemble_inputs(genotypes, members, pedigrees)
    table, _ = mr.effective_frequencies(inputs, load_bundled_table(), floor=params.frequency_floor)
    run = mr.encode_run(inputs, table, params.mutation_model, theta=params.theta)
    plan = mr.plan_run(run, params)
    results = [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold) for f, c in plan.shards]
    return inputs, mr.collect_matches(run, results, k=params.k)


def test_store_round_trip_and_a_changed_pedigree_is_refused(store, ped_scenario):
    peds = ped_scenario["pedigrees"].drop(columns="lab")
    assert store.save_pedigrees(peds.sample(frac=1, random_state=1), lab="L") == 1
    loaded = store.load_pedigrees()
    pd.testing.assert_frame_equal(loaded, ped_scenario["pedigrees"], check_dtype=False)
    assert loaded["is_missing"].dtype == bool
    assert store.save_pedigrees(peds, lab="L") == 0  # identical: a no-op
    assert store.save_pedigrees(peds, lab="OTHER") == 1  # family ids are scoped by lab
    changed = peds.copy()
    changed.loc[changed.person_id == "aunt", "sex"] = "male"
    new_family = peds.assign(family_id="F-NEW")
    with pytest.raises(StoreError, match=r"pedigree of family L/F-PED differs from the one stored.*never overwritten"):
        store.save_pedigrees(pd.concat([new_family, changed]), lab="L")
    assert sorted(store.load_pedigrees().family_id.unique()) == ["F-PED"]  # atomic: F-NEW not written
    assert len(store.load_pedigrees()) == 12


def test_a_pedigree_family_ranks_its_true_child_first(ped_scenario):
    s = ped_scenario
    inputs, matches = _ranked(s["genotypes"], s["members"], s["pedigrees"])
    assert [(f.family_id, f.kind) for f in inputs.families] == [("F-CPL", "couple"), ("F-PED", "pedigree")]
    best = matches[matches.rank_for_candidate == 1].set_index("candidate_id")
    for candidate, family in s["truth"].items():
        assert best.loc[candidate, "family_id"] == family
    top = matches[matches.rank_for_family == 1].set_index("family_id")
    assert top.loc["F-PED", "candidate_id"] == "C-PED"
    assert top.loc["F-PED", "family_kind"] == "pedigree"


def test_the_hash_of_a_pedigree_family_covers_structure_and_profiles(ped_scenario):
    s = ped_scenario

    def family_hash(genotypes, pedigrees):
        h = mr.entity_hashes(mr.assemble_inputs(genotypes, s["members"], pedigrees))
        return h.set_index("entity_id").loc["F-PED", "sha256"]

    base = family_hash(s["genotypes"], s["pedigrees"])
    assert family_hash(s["genotypes"], s["pedigrees"]) == base
    moved = s["pedigrees"].copy()  # the aunt becomes the missing child's mother's sister
    moved.loc[moved.person_id == "aunt", ["father", "mother"]] = ["", ""]
    assert family_hash(s["genotypes"], moved) != base
    g = s["genotypes"].copy()
    row = g.index[(g.sample_id == "R-AUNT")][0]
    g.loc[row, "allele_2"] = "99"
    assert family_hash(g, s["pedigrees"]) != base


def test_a_family_in_the_manifest_and_the_pedigree_table_is_refused(ped_scenario):
    s = ped_scenario
    peds = s["pedigrees"].assign(family_id="F-CPL")
    with pytest.raises(ReuniteInputError, match=r"family L/F-CPL is in the manifest relationships and in the pedigree table"):
        mr.assemble_inputs(s["genotypes"], s["members"], peds)


def test_pedigree_references_without_a_pedigree_are_left_out_with_a_warning(ped_scenario):
    s = ped_scenario
    with pytest.warns(UserWarning, match=r"'L/F-PED'\] have references of relationship 'pedigree' but no stored pedigree"):
        inputs = mr.assemble_inputs(s["genotypes"], s["members"])
    assert [f.family_id for f in inputs.families] == ["F-CPL"]


def test_ingest_pedigrees_needs_the_relatives_profiles_first(store, ped_scenario):
    s = ped_scenario
    with pytest.raises(ReuniteInputError, match=r"family L/F-PED, member 'gm': sample R-GM is not in the store.*"
                                                r"ingest the relatives' profiles first"):
        ingest_pedigrees(store, s["pedigrees_csv"], lab="L")
    assert store.load_pedigrees().empty
    ingest_batch(store, s["export"], s["manifest"], lab="L", fmt="tidy")
    summary = ingest_pedigrees(store, s["pedigrees_csv"], lab="L")
    assert (summary.n_families, summary.n_members, summary.n_typed, summary.n_families_added) == (1, 6, 2, 1)
    assert ingest_pedigrees(store, s["pedigrees_csv"], lab="L").n_families_added == 0
    pd.testing.assert_frame_equal(store.load_pedigrees(), s["pedigrees"], check_dtype=False)
    inputs, matches = _ranked(store.load_genotypes(), store.load_family_members(), store.load_pedigrees())
    best = matches[matches.rank_for_candidate == 1].set_index("candidate_id")
    assert best.loc["C-PED", "family_id"] == "F-PED"


def test_ingest_pedigrees_refuses_a_candidate_as_a_member_and_an_invalid_table(store, ped_scenario, tmp_path):
    s = ped_scenario
    ingest_batch(store, s["export"], s["manifest"], lab="L", fmt="tidy")
    bad = tmp_path / "bad.csv"
    bad.write_text(s["pedigrees_csv"].read_text().replace("R-AUNT", "C-U01"))
    with pytest.raises(ReuniteInputError, match=r"member 'aunt': sample C-U01 is stored as a candidate"):
        ingest_pedigrees(store, bad, lab="L")
    bad.write_text(s["pedigrees_csv"].read_text().replace(",true", ","))
    with pytest.raises(PedigreeError, match=r"bad.csv family F-PED .*0 members are marked is_missing"):
        ingest_pedigrees(store, bad, lab="L")
    assert store.load_pedigrees().empty
