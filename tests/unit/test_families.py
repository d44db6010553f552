"""Issue 11, item 2 (store side): each family's declared number of missing children, and matches v3 in the store.

Manifest v5 ``n_missing`` (refusals at the boundary, one value per family), the ``families`` and
``family_declarations`` tables (written when a batch lands, replaced by a later batch with a
warning, restored when that batch is retracted, removed with the family's last member), migration
0007 from a v6 store on SQLite and PostgreSQL, ``Store.load_families``, ``Family.n_missing`` through
``assemble_inputs`` and the family hashes, and the matches v3 columns' exact round trip.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from kinship.app import match_run as mr
from kinship.app.ingest import ingest_batch
from kinship.errors import ReuniteInputError, StoreError
from kinship.io.manifest import parse_manifest
from kinship.store import MATCH_V3_COLUMNS, Store
from schemas import load_schema
from tests.labs import register_test_labs

LOCI = ["CSF1PO", "D3S1358", "D5S818", "D7S820", "D8S1179", "D13S317", "D16S539", "D18S51", "D21S11", "FGA",
        "TH01", "TPOX", "vWA", "D1S1656", "D2S441", "D2S1338", "D10S1248", "D12S391", "D19S433", "D22S1045"]


def _profile(seed: int) -> dict[str, tuple[str, str]]:
    rng = np.random.default_rng(seed)
    return {locus: tuple(sorted((str(a) for a in rng.integers(8, 16, size=2)), key=int)) for locus in LOCI}


def _batch(tmp_path, tag: str, rows: list[tuple], header: str = "sample_id,role,family_id,relationship,sex,n_missing"):
    """A tidy export of ``rows``' samples and its manifest; ``rows`` are manifest rows (tuples of cells)."""
    export = tmp_path / f"{tag}.csv"
    ids = sorted({r[0] for r in rows})
    export.write_text("sample_id,locus,allele_1,allele_2\n" + "".join(
        f"{sid},{locus},{a},{b}\n" for sid in ids for locus, (a, b) in _profile(sum(map(ord, sid))).items()))
    manifest = tmp_path / f"{tag}-manifest.csv"
    manifest.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return export, manifest


def _families(store: Store) -> list[list]:
    with store.engine.connect() as c:
        return [list(r) for r in c.execute(sa.text(
            "select lab, family_id, n_missing, file_id from families order by lab, family_id"))]


# -- manifest v5 ------------------------------------------------------------------------------------
def _parse(body: str, header: str = "sample_id,role,family_id,relationship,sex,n_missing"):
    return parse_manifest((header + "\n" + body).encode(), file="m.csv", lab="L")


def test_n_missing_is_read_as_an_integer_and_empty_is_not_given():
    m = _parse("R1,reference,F1,father,male,2\nR2,reference,F1,mother,female,\nR3,reference,F2,mother,,1\n"
               "C1,candidate,,,,\n")
    assert m.errors == []
    assert str(m.entries["n_missing"].dtype) == "Int64"
    assert m.entries["n_missing"].tolist() == [2, pd.NA, 1, pd.NA]


def test_a_v4_manifest_without_the_column_is_a_valid_v5_manifest():
    m = _parse("R1,reference,F1,father,male\nC1,candidate,,,\n", header="sample_id,role,family_id,relationship,sex")
    assert m.errors == [] and m.entries["n_missing"].isna().all()


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "two", "11", "02", "1e1"])
def test_a_bad_n_missing_is_a_row_error_naming_record_value_expected_and_fix(value):
    m = _parse(f"R1,reference,F1,father,male,{value}\nR2,reference,F1,mother,female,\n")
    assert m.entries["sample_id"].tolist() == ["R2"]  # the other rows stay valid
    assert [str(e) for e in m.errors] == [
        f"manifest m.csv line 2 (sample 'R1'): column 'n_missing' has value '{value}'; expected the number of "
        "missing children of the family, a whole number from 1 to 10 in digits (empty = 1); fix: write how many "
        "children of the family are missing, e.g. 1, or 2 when two children were taken; leave it empty for 1"]


def test_a_candidate_gives_no_n_missing():
    m = _parse("C1,candidate,,,,1\n")
    assert m.entries.empty
    assert m.errors[0].column == "n_missing" and m.errors[0].expected.startswith("empty for a candidate")


def test_rows_of_one_family_that_disagree_are_each_a_row_error():
    m = _parse("R1,reference,F1,father,male,2\nR2,reference,F1,mother,female,3\nR3,reference,F1,full_sibling,,\n"
               "R4,reference,F2,father,male,2\nR4,reference,F3,father,male,3\n")
    assert sorted((e.sample_id, e.value) for e in m.errors) == [("R1", "2"), ("R2", "3")]
    assert "one n_missing for family 'F1' of lab 'L' (its rows give [2, 3])" in m.errors[0].expected
    assert m.entries["sample_id"].tolist() == ["R3", "R4", "R4"]  # two families of one sample may differ


def test_the_v5_schema_is_valid_json_schema_and_agrees_with_the_reader():
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
    schema = load_schema("manifest.v5")
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema)
    ref = {"sample_id": "R1", "role": "reference", "family_id": "F1", "relationship": "father"}
    assert v.is_valid({**ref, "n_missing": "2"}) and v.is_valid(ref)
    assert not v.is_valid({**ref, "n_missing": "0"}) and not v.is_valid({**ref, "n_missing": "2.5"})
    assert not v.is_valid({"sample_id": "C1", "role": "candidate", "n_missing": "1"})
    v4 = load_schema("manifest.v4")  # a v4 row is a v5 row
    assert set(v4["x-columns"]) < set(schema["x-columns"])


# -- ingestion, retraction, erasure ----------------------------------------------------------------
def test_a_batch_writes_its_families_and_quarantines_a_bad_count_landing_the_rest(store, tmp_path):
    s = ingest_batch(store, *_batch(tmp_path, "b1", [
        ("R1", "reference", "F1", "father", "male", "2"), ("R2", "reference", "F1", "mother", "female", ""),
        ("R3", "reference", "F2", "mother", "female", ""), ("R4", "reference", "F3", "father", "male", "two"),
        ("C1", "candidate", "", "", "", "")]), lab="L", fmt="tidy")
    assert s.n_samples_landed == 4  # R4 is quarantined, the others land
    bad = [q for q in s.manifest_errors if q.sample_id == "R4"]
    assert len(bad) == 1 and bad[0].kind == "manifest_row" and "'n_missing' has value 'two'" in bad[0].reason
    assert store.quarantine_records()["sample_id"].tolist().count("R4") >= 1
    assert _families(store) == [["L", "F1", 2, s.file_id], ["L", "F2", 1, s.file_id]]
    assert store.load_families().values.tolist() == [["L", "F1", 2], ["L", "F2", 1]]


def test_a_later_batch_replaces_the_count_with_a_warning_and_retraction_restores_it(store, tmp_path):
    b1 = ingest_batch(store, *_batch(tmp_path, "b1", [("R1", "reference", "F1", "father", "male", "")]),
                      lab="L", fmt="tidy")
    # the lab learns a second child was taken, and files a sibling with n_missing 2
    b2 = ingest_batch(store, *_batch(tmp_path, "b2", [("R2", "reference", "F1", "full_sibling", "", "2")]),
                      lab="L", fmt="tidy")
    changed = [w for w in b2.warnings if w.kind == "n_missing_changed"]
    assert [(w.sample_id, w.value, w.source) for w in changed] == [("R2", "1 -> 2", "manifest")]
    assert "family L/F1: n_missing was 1 (set by batch 1) and is now 2" in changed[0].reason
    assert _families(store) == [["L", "F1", 2, b2.file_id]]
    # a third batch adding a relative without the column keeps the count
    b3 = ingest_batch(store, *_batch(tmp_path, "b3", [("R3", "reference", "F1", "mother", "female")],
                                     header="sample_id,role,family_id,relationship,sex"), lab="L", fmt="tidy")
    assert not [w for w in b3.warnings if w.kind == "n_missing_changed"]
    assert _families(store) == [["L", "F1", 2, b2.file_id]]
    b4 = ingest_batch(store, *_batch(tmp_path, "b4", [("R4", "reference", "F1", "paternal_grandfather", "", "3")]),
                      lab="L", fmt="tidy")
    assert _families(store) == [["L", "F1", 3, b4.file_id]]
    store.retract_batch(b4.file_id, by="OP-1", why="wrong_file")
    assert _families(store) == [["L", "F1", 2, b2.file_id]]  # the latest declaration that remains
    store.retract_batch(b2.file_id, by="OP-1", why="wrong_file")
    assert _families(store) == [["L", "F1", 1, b1.file_id]]  # none remains: 1, the first member's batch
    assert store.load_families().values.tolist() == [["L", "F1", 1]]
    store.retract_batch(b1.file_id, by="OP-1", why="wrong_file")
    store.retract_batch(b3.file_id, by="OP-1", why="wrong_file")
    assert _families(store) == [] and store.load_families().empty  # no member left: no row


def test_an_erased_last_member_takes_the_family_row_with_it(store, tmp_path):
    ingest_batch(store, *_batch(tmp_path, "b1", [("R1", "reference", "F1", "father", "male", "2"),
                                                 ("R2", "reference", "F2", "father", "male", "2"),
                                                 ("R3", "reference", "F2", "mother", "female", "")]),
                 lab="L", fmt="tidy")
    store.erase_sample("R1", by="OP-1", why="consent_withdrawn")
    store.erase_sample("R2", by="OP-1", why="consent_withdrawn")
    assert [r[:3] for r in _families(store)] == [["L", "F2", 2]]
    with store.engine.connect() as c:
        assert [tuple(r) for r in c.execute(sa.text("select family_id, n_missing from family_declarations"))] == [
            ("F2", 2)]


def test_load_families_covers_pedigree_only_families_at_one(store):
    ped = pd.DataFrame({"family_id": ["P1"] * 3, "person_id": ["f", "m", "c"], "father": ["", "", "f"],
                        "mother": ["", "", "m"], "sex": ["male", "female", "unknown"], "sample_id": ["", "", ""],
                        "is_missing": [False, False, True]})
    store.save_pedigrees(ped, lab="L")
    assert store.load_families().values.tolist() == [["L", "P1", 1]]


# -- migration 0007 ---------------------------------------------------------------------------------
def test_a_v6_store_migrates_one_families_row_per_family_and_null_v3_columns(backend, tmp_path):
    from alembic import command

    from kinship.store import alembic_config

    target, schema = backend
    with Store(target, schema=schema) as store:
        register_test_labs(store, schema=schema)
        b1 = ingest_batch(store, *_batch(tmp_path, "b1", [("R1", "reference", "F1", "father", "male", ""),
                                                          ("C1", "candidate", "", "", "", "")]), lab="L", fmt="tidy")
        b2 = ingest_batch(store, *_batch(tmp_path, "b2", [("R2", "reference", "F1", "mother", "female", ""),
                                                          ("R3", "reference", "F2", "mother", "female", "")]),
                          lab="L", fmt="tidy")
        store.save_pedigrees(pd.DataFrame({
            "family_id": ["P1"] * 3, "person_id": ["f", "m", "c"], "father": ["", "", "f"], "mother": ["", "", "m"],
            "sex": ["male", "female", "unknown"], "sample_id": ["", "", ""], "is_missing": [False, False, True]}),
            lab="L")
        store.record_match_run({"run_id": "old", "started_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
                                "kind": "full", "parameters": {}, "freq_table_name": "t", "freq_table_hash": "ab" * 32,
                                "code_version": "0"})
        config = alembic_config()
        with store.write_transaction() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0006")
            assert not sa.inspect(conn).has_table("families", schema=schema)
            conn.execute(sa.text(
                "insert into matches (run_id, lab, family_id, candidate_id, family_kind, log10_lr, n_loci_compared, "
                "n_inconsistent, rank_for_candidate, rank_for_family, posterior, conclusion, flag) values "
                "('old', 'L', 'F1', 'C1', 'couple', 5.5, 20, 0, 1, 1, 0.99, 'support', false)"))
            assert conn.execute(sa.text("select value from store_meta where key = 'schema_version'")).scalar_one() == "6"
    with Store(target, schema=schema) as store:  # opening migrates to the head
        assert _families(store) == [["L", "F1", 1, b1.file_id], ["L", "F2", 1, b2.file_id], ["L", "P1", 1, None]]
        old = store.load_matches("old")
        assert old["log10_lr"].tolist() == [5.5] and old[list(MATCH_V3_COLUMNS)].isna().all().all()
        # and the migrated store takes new declarations
        b3 = ingest_batch(store, *_batch(tmp_path, "b3", [("R4", "reference", "F2", "full_sibling", "", "2")]),
                          lab="L", fmt="tidy")
        assert store.load_families().values.tolist() == [["L", "F1", 1], ["L", "F2", 2], ["L", "P1", 1]]
        store.retract_batch(b3.file_id, by="OP-1", why="wrong_file")
        assert store.load_families().values.tolist() == [["L", "F1", 1], ["L", "F2", 1], ["L", "P1", 1]]


# -- matches v3 through the store -----------------------------------------------------------------
def _v3_frame() -> pd.DataFrame:
    f = pd.DataFrame({
        "lab": ["L", "L", "L"], "family_id": ["F1", "F2", "F1"], "candidate_id": ["C1", "C1", "C2"],
        "log10_lr": [7.25, -math.inf, -0.5], "n_loci_compared": [15, 15, 12], "n_inconsistent": [0, 4, 1],
        "rank_for_candidate": pd.array([1, 2, 1], dtype="Int32"), "rank_for_family": pd.array([1, 1, 2], dtype="Int32"),
        "posterior": [0.9999999, 0.0, 0.25], "conclusion": ["support", "excluded", "inconclusive"],
        "flag": [False, False, True], "family_kind": ["couple", "couple", "couple"],
    })
    f["log10_lr_y"] = [1.0 / 3.0, np.nan, -math.inf]
    f["n_y_loci_compared"] = pd.array([23, pd.NA, 20], dtype="Int16")
    f["n_y_mismatches"] = pd.array([0, pd.NA, 3], dtype="Int16")
    f["y_steps"] = pd.array([0, pd.NA, 5], dtype="Int16")
    f["log10_lr_total"] = [7.25 + 1.0 / 3.0, -math.inf, -math.inf]
    f["posterior_lower"] = [0.1 + 0.2, 0.0, 1e-300]
    f["family_posterior"] = [math.pi / 4, 0.0, 5e-324]
    f["family_posterior_lower"] = [0.5, 0.0, 0.0]
    f["joint_posterior"] = [0.123456789012345678, np.nan, 0.5]
    f["joint_group"] = pd.array([1, pd.NA, 2], dtype="Int32")
    f["joint_exact"] = pd.array([True, pd.NA, False], dtype="boolean")
    f["conflict"] = pd.array([False, pd.NA, True], dtype="boolean")
    f["log10_lr_unlinked"] = [7.25 - 1.0 / 7.0, -math.inf, -0.5]  # store v8 (migration 0008)
    return f


def _record(store: Store, run_id: str = "r1") -> None:
    store.record_match_run({"run_id": run_id, "started_at": datetime(2026, 3, 1, tzinfo=timezone.utc), "kind": "full",
                            "parameters": {}, "freq_table_name": "t", "freq_table_hash": "ab" * 32, "code_version": "0"})


def test_matches_v3_columns_round_trip_exactly(store):
    frame = _v3_frame()
    _record(store)
    assert store.write_matches("r1", frame) == 3
    got = store.load_matches("r1")
    want = frame.sort_values(["candidate_id", "rank_for_candidate"]).reset_index(drop=True)
    for column, dtype in MATCH_V3_COLUMNS.items():
        assert str(got[column].dtype) == dtype, column
        pd.testing.assert_series_equal(got[column], want[column].astype(dtype), check_names=False, rtol=0, atol=0)
    assert got["family_posterior"].iloc[2] == 5e-324 and got["posterior_lower"].iloc[2] == 1e-300  # float64, not float32


def test_a_fractional_count_is_refused(store):
    frame = _v3_frame()
    frame["y_steps"] = [0.0, np.nan, 2.5]
    _record(store)
    with pytest.raises(StoreError, match=r"column 'y_steps' has value 2\.5; expected a whole number or null"):
        store.write_matches("r1", frame)


# -- the match run's families ---------------------------------------------------------------------
GENOTYPES = pd.DataFrame(
    [(sid, role, locus, *_profile(k)[locus]) for k, (sid, role) in enumerate(
        [("R1", "reference"), ("R2", "reference"), ("C1", "candidate")]) for locus in LOCI],
    columns=["sample_id", "role", "locus", "allele_1", "allele_2"])
MEMBERS = pd.DataFrame({"lab": ["L", "L"], "family_id": ["F1", "F2"], "sample_id": ["R1", "R2"],
                        "relationship": ["father", "full_sibling"]})


def test_n_missing_comes_from_the_families_frame_and_changes_a_family_hash_only_when_not_one():
    plain = mr.assemble_inputs(GENOTYPES, MEMBERS)
    ones = mr.assemble_inputs(GENOTYPES, MEMBERS, families=pd.DataFrame(
        {"lab": ["L", "L"], "family_id": ["F1", "F2"], "n_missing": [1, 1]}))
    two = mr.assemble_inputs(GENOTYPES, MEMBERS, families=pd.DataFrame(
        {"lab": ["L", "L", "L"], "family_id": ["F1", "F2", "F9"], "n_missing": [1, 2, 3]}))
    assert [f.n_missing for f in plain.families] == [1, 1] and [f.n_missing for f in two.families] == [1, 2]
    assert ones.sha256() == plain.sha256() != two.sha256()
    h0, h1, h2 = (mr.entity_hashes(i).set_index("entity_id")["sha256"] for i in (plain, ones, two))
    assert h1.equals(h0)
    assert h2["F1"] == h0["F1"] and h2["F2"] != h0["F2"] and h2["C1"] == h0["C1"]


def test_a_pedigree_family_takes_its_declared_count(ped_scenario):
    s = ped_scenario
    fams = pd.DataFrame({"lab": ["L"], "family_id": ["F-PED"], "n_missing": [2]})
    inputs = mr.assemble_inputs(s["genotypes"], s["members"], s["pedigrees"], families=fams)
    by_id = {f.family_id: f for f in inputs.families}
    assert by_id["F-PED"].n_missing == 2 and by_id["F-PED"].kind == "pedigree" and by_id["F-CPL"].n_missing == 1


@pytest.mark.parametrize("bad", [0, -1, 2.5, "2", None])
def test_a_bad_count_in_the_families_frame_is_refused(bad):
    fams = pd.DataFrame({"lab": ["L"], "family_id": ["F1"], "n_missing": pd.Series([bad], dtype=object)})
    with pytest.raises(ReuniteInputError, match=r"family L/F1: n_missing .*; expected a whole number >= 1"):
        mr.assemble_inputs(GENOTYPES, MEMBERS, families=fams)


def test_a_backup_restores_the_families_and_the_v3_columns(tmp_path):
    from kinship.store.backup import backup_store, restore_store

    target = str(tmp_path / "reunite.sqlite")
    with Store(target) as store:
        register_test_labs(store)
        ingest_batch(store, *_batch(tmp_path, "b1", [("R1", "reference", "F1", "father", "male", "2")]),
                     lab="L", fmt="tidy")
        _record(store)
        store.write_matches("r1", _v3_frame())
        families, matches = store.load_families(), store.load_matches("r1")
    backup_store(target, tmp_path / "store.backup")
    with Store(target) as store:  # the store moves on ...
        store.retract_batch(1, by="OP-1", why="wrong_file")
        assert store.load_families().empty
    restore_store(tmp_path / "store.backup", target, replace=True)  # ... and is restored
    with Store(target) as store:
        pd.testing.assert_frame_equal(store.load_families(), families)
        pd.testing.assert_frame_equal(store.load_matches("r1"), matches)
        assert store.load_families().values.tolist() == [["L", "F1", 2]]


def test_retention_keeps_the_recent_full_runs_their_increments_and_the_latest_and_prunes_the_rest(store):
    frame = _v3_frame()
    day = lambda d: datetime(2026, 3, d, tzinfo=timezone.utc)  # noqa: E731
    plan = [("full-1", "full", 1, True), ("inc-1", "incremental", 2, True), ("full-2", "full", 3, True),
            ("inc-2", "incremental", 4, True), ("full-3", "full", 5, True), ("inc-3", "incremental", 6, True),
            ("open", "full", 7, False)]
    for run_id, kind, d, finished in plan:
        store.record_match_run({"run_id": run_id, "started_at": day(d), "kind": kind, "parameters": {},
                                "freq_table_name": "t", "freq_table_hash": "ab" * 32, "code_version": "0"})
        store.write_matches(run_id, frame)
        if finished:
            store.finish_match_run(run_id, finished_at=day(d) + pd.Timedelta(hours=1))
    with pytest.raises(StoreError, match=r"keep_full = 0; expected at least 1"):
        store.prune_match_runs(keep_full=0)
    done = store.prune_match_runs(keep_full=2)
    assert done["runs_pruned"] == ["full-1", "inc-1"] and done["n_matches_deleted"] == 2 * len(frame)
    assert len(store.list_match_runs()) == len(plan)  # the records stay
    assert store.load_matches("full-1").empty
    for run_id in ("full-2", "inc-2", "full-3", "inc-3", "open"):
        assert len(store.load_matches(run_id)) == len(frame), run_id
    assert store.prune_match_runs(keep_full=1)["runs_pruned"] == ["full-2", "inc-2"]  # inc-3, the latest, stays
    assert len(store.load_matches("inc-3")) == len(frame) and len(store.load_matches("open")) == len(frame)


def test_matches_read_through_arrow_equal_the_sqlalchemy_rows(tmp_path, monkeypatch):
    from kinship.store import engine
    with Store(tmp_path / "s.db") as store:
        _record(store)
        _record(store, "r0")
        frame = _v3_frame()
        frame.loc[1, "family_kind"] = None  # an older run's pair without a kind: read as ""
        store.write_matches("r1", frame)
        fast, empty = store.load_matches("r1"), store.load_matches("r0")
        monkeypatch.setattr(engine, "ARROW_SQLITE_READS", False)
        plain, plain_empty = store.load_matches("r1"), store.load_matches("r0")
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    pd.testing.assert_frame_equal(empty, plain_empty, check_exact=True)
    assert fast["log10_lr"].tolist()[1] == -math.inf and "" in set(fast["family_kind"])


def test_matches_null_in_the_first_thousands_of_rows_read_back_through_arrow(tmp_path, monkeypatch):
    """ADBC takes a column's type from its first batch: columns null there (a run's Y-STR and
    joint columns are null for most pairs) must still read back, as the SQLAlchemy rows do."""
    from kinship.store import engine
    base = _v3_frame()
    n = 5000
    frame = base.iloc[np.arange(n) % 3].reset_index(drop=True)
    frame["candidate_id"] = [f"C{i:05d}" for i in range(n)]
    late = np.arange(n) >= 4000  # every nullable column null before row 4,000
    for column, dtype in MATCH_V3_COLUMNS.items():
        frame[column] = frame[column].astype(dtype).where(late, pd.NA if dtype != "float64" else np.nan)
    frame["posterior"] = frame["posterior"].where(late, np.nan)
    frame["rank_for_family"] = frame["rank_for_family"].where(late, pd.NA)
    with Store(tmp_path / "s.db") as store:
        _record(store)
        store.write_matches("r1", frame)
        fast = store.load_matches("r1")
        monkeypatch.setattr(engine, "ARROW_SQLITE_READS", False)
        plain = store.load_matches("r1")
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    assert fast["joint_group"].notna().sum() == (frame["joint_group"].notna()).sum() > 0
