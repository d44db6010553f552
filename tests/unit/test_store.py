"""The store: tables, loaders, match runs, -inf round trips, SQLite and PostgreSQL."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.app.ingest import ingest_batch
from kinship.store import MATCH_COLUMNS, MATCH_V3_COLUMNS, STORE_SCHEMA_VERSION, Store, metadata
from schemas import load_schema
from tests.labs import register_test_labs

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


def run_record(run_id: str = "run-1") -> dict:
    return {
        "run_id": run_id,
        "started_at": datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc),
        "kind": "full",
        "parameters": {"theta": 0.01, "prior": 0.5, "mutation": "stepwise"},
        "freq_table_name": "norstr-2023/East Asia",
        "freq_table_hash": "ab" * 32,
        "code_version": "0.1.0",
    }


def matches_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "lab": ["OUS", "OUS", "OUS"],
        "family_id": ["FAM-1", "FAM-2", "FAM-1"],
        "candidate_id": ["C1", "C1", "C2"],
        "log10_lr": [7.25, -math.inf, -0.5],
        "n_loci_compared": [15, 15, 12],
        "n_inconsistent": [0, 4, 1],
        "rank_for_candidate": [1, 2, 1],
        "rank_for_family": [1, 1, 2],
        "posterior": [0.9999999, 0.0, float("nan")],
        "conclusion": ["support", "excluded", "inconclusive"],
        "flag": [False, False, True],
    })


def roundtrip(store: Store) -> None:
    """Everything the match code relies on, against one store."""
    register_test_labs(store)
    s = ingest_batch(store, DATA / "ref3.txt", DATA / "ref3_manifest.csv", lab="OUS", kit="ESX17")
    assert s.n_landed == 51
    assert ingest_batch(store, DATA / "ref3.txt", DATA / "ref3_manifest.csv", lab="OUS", kit="ESX17").already_ingested
    geno = store.load_genotypes()
    assert list(geno.columns) == ["sample_id", "role", "locus", "allele_1", "allele_2"]
    assert len(geno) == 51 and geno.equals(geno.sort_values(["sample_id", "locus"]).reset_index(drop=True))
    # categorical of str (Store._category_frame): codes, each distinct value once
    assert all(isinstance(t, pd.CategoricalDtype) and pd.api.types.is_string_dtype(t.categories) for t in geno.dtypes)
    assert geno.astype(str).values.tolist()[-1] == ["bc", "candidate", "vWA", "14", "19"]
    assert store.observed_alleles()["TH01"] == {"6", "8", "9.3"}
    members = store.load_family_members()
    assert members.values.tolist() == [["OUS", "FAM-1", "A2", "mother", "female"],
                                      ["OUS", "FAM-1", "F2", "father", "male"]]
    samples = store.load_samples()
    assert samples["sample_id"].tolist() == ["A2", "F2", "bc"] and str(samples["received_at"].dt.tz) == "UTC"

    store.record_match_run(run_record())
    assert store.write_matches("run-1", matches_frame()) == 3
    store.finish_match_run("run-1", n_families=2, n_candidates=2, n_pairs=3,
                           finished_at=datetime(2026, 3, 1, 12, 5, tzinfo=timezone.utc))
    got = store.load_matches("run-1")
    assert list(got.columns) == [*MATCH_COLUMNS, "family_kind", *MATCH_V3_COLUMNS]
    assert got[list(MATCH_V3_COLUMNS)].isna().all().all()  # a frame without the v3 columns writes them null
    assert got["candidate_id"].tolist() == ["C1", "C1", "C2"]
    assert got["log10_lr"].tolist()[:2] == [7.25, -math.inf] and got["log10_lr"].dtype == "float64"
    assert math.isnan(got["posterior"].iloc[2]) and got["flag"].tolist() == [False, False, True]
    assert str(got["n_loci_compared"].dtype) == "int16" and str(got["rank_for_family"].dtype) == "Int32"
    runs = store.list_match_runs()
    assert runs[["run_id", "n_pairs"]].values.tolist() == [["run-1", 3]]
    assert runs["parameters"].iloc[0] == '{"mutation":"stepwise","prior":0.5,"theta":0.01}'
    assert runs["finished_at"].iloc[0] == pd.Timestamp("2026-03-01 12:05", tz="UTC")


def test_save_match_run_takes_the_provenance_record_and_ranked_table():
    """The shape kinship.app.match_run produces: ``flagged`` (schema matches.v1) and ``family_kind``."""
    ranked = matches_frame().rename(columns={"flag": "flagged"})
    ranked["family_kind"] = ["couple", "father only", "couple"]
    provenance = {
        "schema": "reunite/provenance/1",
        "run_id": "run-20260301T120000Z-abcd1234",
        "kind": "full",
        "code_version": "0.1.0",
        "started_at": "2026-03-01T12:00:00+00:00",
        "parameters": {"prior": 0.5},
        "frequency_table": {"name": "effective", "source": "norstr-2023/East Asia", "sha256": "cd" * 32},
        "inputs": {"n_families": 2, "n_candidates": 2},
        "outputs": {},
    }
    with Store("sqlite://") as store:
        assert store.save_match_run(provenance, ranked) == 3
        got = store.load_matches(provenance["run_id"])
        assert got["family_kind"].tolist() == ["couple", "father only", "couple"]
        assert got["flag"].tolist() == [False, False, True] and got["log10_lr"].iloc[1] == -math.inf
        run = store.list_match_runs().iloc[0]
        assert (run.freq_table_name, run.n_families, run.n_pairs) == ("norstr-2023/East Asia", 2, 3)
        assert run.started_at == pd.Timestamp("2026-03-01 12:00", tz="UTC") and not pd.isna(run.finished_at)
        assert '"schema":"reunite/provenance/1"' in run.provenance
        with pytest.raises(StoreError, match=r"is already recorded"):
            store.save_match_run(provenance, ranked)
        with pytest.raises(StoreError, match=r"lacks field 'frequency_table'"):
            store.save_match_run({k: v for k, v in provenance.items() if k != "frequency_table"}, ranked)
        bad = ranked.copy()
        bad.loc[2, "log10_lr"] = float("nan")
        with pytest.raises(StoreError, match=r"null/NaN value"):
            store.save_match_run({**provenance, "run_id": "run-2"}, bad)
        assert store.list_match_runs()["run_id"].tolist() == [provenance["run_id"]]  # atomic: run-2 absent


def test_sqlite_roundtrip_and_path_creates_parent_folders(tmp_path):
    path = tmp_path / "deep" / "er" / "reunite.db"
    with Store(path) as store:
        roundtrip(store)
    assert path.exists()
    with Store(path) as again:  # reopening keeps everything
        assert again.load_matches("run-1")["log10_lr"].iloc[1] == -math.inf


def test_minus_infinity_round_trips_exactly_on_sqlite():
    with Store("sqlite://") as store:
        store.record_match_run(run_record())
        store.write_matches("run-1", matches_frame())
        with store.engine.connect() as c:
            raw = c.execute(sa.text("select log10_lr from matches where family_id = 'FAM-2'")).scalar_one()
        assert raw == -math.inf


def test_nan_log10_lr_is_refused():
    frame = matches_frame()
    frame.loc[0, "log10_lr"] = float("nan")
    with Store("sqlite://") as store:
        store.record_match_run(run_record())
        with pytest.raises(StoreError, match=r"1 null/NaN value\(s\) in column 'log10_lr' \(first: family OUS/FAM-1, candidate C1\)"):
            store.write_matches("run-1", frame)


def test_matches_need_a_recorded_run_and_all_columns():
    with Store("sqlite://") as store:
        with pytest.raises(StoreError, match=r"match run 'nope' is not recorded .* fix: call record_match_run first"):
            store.write_matches("nope", matches_frame())
        store.record_match_run(run_record())
        with pytest.raises(StoreError, match=r"missing column\(s\) \['flag'\]"):
            store.write_matches("run-1", matches_frame().drop(columns="flag"))
        store.write_matches("run-1", matches_frame())
        with pytest.raises(StoreError, match=r"pair is repeated or already stored"):
            store.write_matches("run-1", matches_frame())
        with pytest.raises(StoreError, match=r"already recorded"):
            store.record_match_run(run_record())
        with pytest.raises(StoreError, match=r"unknown field\(s\) \['colour'\]"):
            store.record_match_run({**run_record("run-2"), "colour": "red"})
        with pytest.raises(StoreError, match=r"is not recorded"):
            store.finish_match_run("run-9")


def test_a_store_of_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "old.db"
    Store(path).close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        c.execute(sa.text("update store_meta set value = '99' where key = 'schema_version'"))
    engine.dispose()
    with pytest.raises(StoreError, match=rf"has schema version 99; this code reads version {STORE_SCHEMA_VERSION}"):
        Store(path)


def test_schema_file_documents_every_table_and_column():
    doc = load_schema(f"store.v{STORE_SCHEMA_VERSION}")
    assert doc["version"] == STORE_SCHEMA_VERSION
    documented = {t["name"]: [c["name"] for c in t["columns"]] for t in doc["tables"]}
    actual = {t.name: [c.name for c in t.columns] for t in metadata.sorted_tables}
    assert documented == actual
    for table in doc["tables"]:
        real = metadata.tables[table["name"]]
        assert table["primary_key"] == [c.name for c in real.primary_key.columns]
        assert all(c["description"] for c in table["columns"]), table["name"]


def test_no_column_could_hold_a_name_or_contact_detail():
    forbidden = ("name", "phone", "address", "email", "birth")
    columns = [f"{t.name}.{c.name}" for t in metadata.sorted_tables for c in t.columns]
    # file names, a table's name, and a registered lab's display name (an institution, set by whoever
    # registers the lab, never read from a batch)
    allowed = ("ingested_files.export_name", "ingested_files.manifest_name", "match_runs.freq_table_name", "labs.name")
    assert not [c for c in columns if any(w in c.split(".")[1] for w in forbidden) and c not in allowed]


# -- PostgreSQL ------------------------------------------------------------------------------------


@pytest.fixture
def pg_store(pg_url):
    """A store in a fresh PostgreSQL schema, dropped afterwards (``pg_url`` skips when no server
    answers, and fails under CI=true)."""
    schema = f"reunite_test_{uuid.uuid4().hex[:12]}"
    store = Store(pg_url, schema=schema)
    register_test_labs(store)
    try:
        yield store
    finally:
        store.close()
        engine = sa.create_engine(pg_url)
        with engine.begin() as c:
            c.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_roundtrip(pg_store):
    roundtrip(pg_store)
    table = metadata.tables["matches"]
    with pg_store.engine.connect() as c:  # Core query: the store's schema map applies
        raw = c.execute(sa.select(table.c.log10_lr).where(table.c.family_id == "FAM-2")).scalar_one()
    assert raw == -math.inf


@pytest.mark.postgres
def test_postgresql_set3_counts_match_sqlite(pg_store):
    s = ingest_batch(pg_store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS", kit="ESX17")
    assert (s.n_rows, s.n_landed, s.n_untyped, s.n_quarantined, s.n_warnings) == (680, 62, 18, 600, 20)
    assert len(pg_store.quarantine_records()) == 600


# -- the batch transaction of an ingestion ------------------------------------------------------


def _no_rows() -> dict:
    return {"sample_rows": [], "member_rows": [], "genotype_rows": [], "quarantine_rows": [], "warning_rows": []}


def test_a_batch_transaction_sees_a_stored_batch(store):
    s = ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS")
    with store.batch_transaction(s.file_sha256) as tx:
        assert tx.stored_batch["file_id"] == s.file_id and tx.stored_batch["n_landed"] == 62
    assert tx.file_id is None and len(store.load_ingested_files()) == 1


def test_a_batch_transaction_absorbs_the_same_batch_landed_by_another_writer(store, monkeypatch):
    s = ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS")
    file_row = {k: v for k, v in store.find_ingested_file(s.file_sha256).items() if k != "file_id"}
    real, calls = Store.find_ingested_file, []

    def missed_inside_the_lock(self, sha256, *, conn=None):
        calls.append(conn)
        return None if len(calls) == 1 else real(self, sha256, conn=conn)

    monkeypatch.setattr(Store, "find_ingested_file", missed_inside_the_lock)
    with store.batch_transaction(s.file_sha256) as tx:
        assert tx.stored_batch is None
        tx.write_batch(file_row=file_row, **_no_rows())  # the batch key is taken: unique violation
    assert tx.file_id is None and tx.stored_batch["file_id"] == s.file_id
    assert len(store.load_ingested_files()) == 1
    with pytest.raises(sa.exc.IntegrityError):  # any other constraint failure is not absorbed
        with store.batch_transaction("f" * 64) as tx:
            tx.write_batch(file_row={**file_row, "sha256": "f" * 64},
                           **{**_no_rows(), "genotype_rows": [{"sample_id": "nobody", "locus": "TH01",
                                                               "allele_1": "6", "allele_2": "9.3"}]})
    assert len(store.load_ingested_files()) == 1


# -- match-run inputs, latest run (incremental matching) ---------------------------------------


def _provenance(run_id: str, finished: str, kind: str = "full") -> dict:
    return {
        "schema": "reunite/provenance/1", "run_id": run_id, "kind": kind, "code_version": "0.1.0",
        "started_at": "2026-03-01T12:00:00+00:00", "finished_at": finished,
        "parameters": {"prior": 0.5, "theta": 0.0},
        "frequency_table": {"name": "effective", "source": "norstr-2023/East Asia", "sha256": "cd" * 32},
        "inputs": {"n_families": 2, "n_candidates": 2}, "outputs": {},
    }


def _inputs() -> pd.DataFrame:
    return pd.DataFrame({
        "entity": ["family", "candidate", "family", "candidate"],
        "lab": ["OUS", "", "OUS", ""],
        "entity_id": ["FAM-2", "C1", "FAM-1", "C2"],
        "sha256": ["a" * 64, "b" * 64, "c" * 64, "d" * 64],
    })


def test_run_inputs_are_saved_with_the_run_and_read_back(store):
    assert store.latest_match_run() is None
    assert store.save_match_run(_provenance("run-a", "2026-03-01T12:05:00+00:00"), matches_frame(), _inputs()) == 3
    got = store.load_run_inputs("run-a")
    assert got.values.tolist() == [["candidate", "", "C1", "b" * 64], ["candidate", "", "C2", "d" * 64],
                                   ["family", "OUS", "FAM-1", "c" * 64], ["family", "OUS", "FAM-2", "a" * 64]]
    assert list(got.columns) == ["entity", "lab", "entity_id", "sha256"]
    store.save_match_run(_provenance("run-b", "2026-03-02T08:00:00+00:00", kind="incremental"), matches_frame())
    assert store.load_run_inputs("run-b").empty
    store.record_match_run(run_record("run-c"))  # started, never finished: not "latest"
    latest = store.latest_match_run()
    assert latest["run_id"] == "run-b" and latest["kind"] == "incremental"
    assert latest["parameters"] == {"prior": 0.5, "theta": 0.0} and latest["provenance"]["run_id"] == "run-b"
    assert latest["finished_at"] == datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc) and latest["n_pairs"] == 3
    assert store.latest_match_run(kind="full")["run_id"] == "run-a"
    assert store.latest_match_run(kind="nightly") is None
    assert store.record_run_inputs("run-c", _inputs().iloc[:1]) == 1


def test_run_inputs_are_validated_and_atomic_with_the_run(store):
    with pytest.raises(StoreError, match=r"match run 'nope' is not recorded"):
        store.load_run_inputs("nope")
    bad = _inputs()
    bad.loc[1, "lab"] = "OUS"
    with pytest.raises(StoreError, match=r"row 1: invalid lab 'OUS' for a candidate"):
        store.save_match_run(_provenance("run-x", "2026-03-01T12:05:00+00:00"), matches_frame(), bad)
    assert store.list_match_runs().empty  # nothing of run-x landed
    dup = pd.concat([_inputs(), _inputs().iloc[:1]])
    with pytest.raises(StoreError, match=r"an \(entity, lab, entity_id\) key is repeated"):
        store.save_match_run(_provenance("run-y", "2026-03-01T12:05:00+00:00"), matches_frame(), dup)
    assert store.list_match_runs().empty
    with pytest.raises(StoreError, match=r"missing column\(s\) \['sha256'\]"):
        store.record_run_inputs("run-y", _inputs().drop(columns="sha256"))
    short = _inputs()
    short.loc[0, "sha256"] = "xyz"
    with pytest.raises(StoreError, match=r"invalid sha256 'xyz'"):
        store.record_run_inputs("run-y", short)



def _mixed_frame(n: int) -> pd.DataFrame:
    """``n`` pairs in candidate order (as collect_matches gives them), not in the key's order, with
    every kind of column the store takes: numpy, masked (Int16/Int32/boolean/Float64 with <NA>),
    Arrow text, and object columns of Python values (cast value by value)."""
    rng = np.random.default_rng(7)
    families = [f"F-{k:04d}" for k in rng.permutation(n)]
    frame = pd.DataFrame({
        "candidate_id": [f"C-{k // 4:03d}" for k in range(n)],
        "lab": [("OUS", "BER", "ÅLE")[k % 3] for k in range(n)],
        "family_id": families,
        "family_kind": pd.Series([None if k % 5 == 0 else "couple" for k in range(n)], dtype=object),
        "log10_lr": np.where(np.arange(n) % 7 == 0, -np.inf, rng.normal(size=n) / 3.0),
        "n_loci_compared": pd.Series([int(v) for v in rng.integers(10, 24, n)], dtype=object),
        "n_inconsistent": rng.integers(0, 3, n).astype(np.int16),
        "rank_for_candidate": pd.array([k % 4 + 1 if k % 3 else None for k in range(n)], dtype="Int32"),
        "rank_for_family": pd.array([None if k % 2 else 1 for k in range(n)], dtype="Int32"),
        "posterior": np.where(np.arange(n) % 6 == 0, np.nan, rng.random(n)),
        "conclusion": pd.Categorical([("support", "inconclusive", "excluded")[k % 3] for k in range(n)]),
        "flagged": rng.random(n) < 0.5,
        "log10_lr_y": pd.array([None if k % 2 else 1.0 / (k + 3) for k in range(n)], dtype="Float64"),
        "n_y_loci_compared": pd.array([None if k % 2 else 23 for k in range(n)], dtype="Int16"),
        "y_steps": pd.Series([None if k % 2 else float(k % 5) for k in range(n)], dtype="float64"),
        "posterior_lower": np.full(n, 5e-324),
        "joint_group": pd.array([None if k % 4 else k for k in range(n)], dtype="Int32"),
        "joint_exact": pd.array([None if k % 4 else bool(k % 8) for k in range(n)], dtype="boolean"),
        "conflict": pd.Series([bool(k % 3) for k in range(n)], dtype=object),
    })
    frame["lab"] = frame["lab"].astype("str")
    return frame


def test_a_run_lands_in_key_order_with_the_values_each_cast_gives(store, monkeypatch):
    """Every stored value is the frame's value as its column's type casts it (``None`` for a null),
    whatever the column's dtype, across chunks; the rows land in the primary key's order."""
    from kinship.store import match_runs

    monkeypatch.setattr(match_runs, "_ROW_CHUNK", 7)  # chunks end mid-frame
    frame = _mixed_frame(40)
    store.save_match_run(_provenance("run-m", "2026-03-01T12:05:00+00:00"), frame)
    sqlite = store.engine.dialect.name == "sqlite"
    casts = {**{c: str for c in ("lab", "family_id", "candidate_id", "conclusion", "family_kind")},
             **{c: float for c in ("log10_lr", "posterior", "log10_lr_y", "posterior_lower")},
             **{c: int for c in ("n_loci_compared", "n_inconsistent", "rank_for_candidate", "rank_for_family",
                                 "n_y_loci_compared", "y_steps", "joint_group")},
             "flag": bool, "joint_exact": bool, "conflict": bool}
    source = frame.rename(columns={"flagged": "flag"})
    expected = {}
    for k in range(len(frame)):
        key = (source["lab"][k], source["family_id"][k], source["candidate_id"][k])
        row = []
        for column, cast in casts.items():
            value = source[column].astype(object)[k]
            value = None if source[column].isna()[k] else cast(value)
            row.append(int(value) if sqlite and isinstance(value, bool) else value)  # SQLite keeps 0/1
        expected[key] = tuple(row)
    absent = [c for c in MATCH_V3_COLUMNS if c not in casts]  # not in the frame: NULL
    with store.engine.connect() as c:
        names = ", ".join([*casts, *absent])
        got = c.execute(sa.text(f"select {names} from matches where run_id = 'run-m' "
                                "order by lab, family_id, candidate_id")).all()
        if sqlite:  # a null is NULL (bound as NaN, which SQLite stores as NULL), not a REAL
            types = c.execute(sa.text(f"select {', '.join(f'typeof({n})' for n in [*casts, *absent])} "
                                      "from matches order by lab, family_id, candidate_id")).all()
            landed = c.execute(sa.text("select lab, family_id, candidate_id from matches order by rowid")).all()
    want = [expected[key] for key in sorted(expected)]
    assert [repr(tuple(r[:len(casts)])) for r in got] == [repr(r) for r in want]  # floats bit for bit, 1 vs True
    assert all(v is None for r in got for v in r[len(casts):])
    if sqlite:
        assert [[t for t, v in zip(ts, r) if v is None] for ts, r in zip(types, got)] == \
            [["null"] * sum(v is None for v in r) for r in got]
        assert [tuple(r) for r in landed] == sorted(expected)  # the key's order, not the frame's
    assert store.load_matches("run-m")["family_kind"].tolist().count("") == 8


def test_a_repeated_pair_is_refused_without_its_ids_and_nothing_of_the_run_lands(store):
    frame = _mixed_frame(12)
    frame = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    with pytest.raises(StoreError, match=r"pair is repeated or already stored") as refused:
        store.save_match_run(_provenance("run-d", "2026-03-01T12:05:00+00:00"), frame)
    assert frame["family_id"][5] not in str(refused.value) and "values not shown" in str(refused.value)
    assert store.list_match_runs().empty


# -- Alembic migrations ------------------------------------------------------------------------


def test_migrated_database_matches_the_metadata_and_head_revision(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from kinship.store import alembic_config

    with store.engine.connect() as c:
        context = MigrationContext.configure(c)
        assert context.get_current_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
        diff = compare_metadata(context, metadata)
    # Server defaults and type spellings aside, no table, column or index differs.
    structural = [d for d in diff if isinstance(d, tuple) and d[0] in (
        "add_table", "remove_table", "add_column", "remove_column", "add_index", "remove_index")]
    assert structural == []


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    from kinship.store.engine import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_pre_alembic_store_is_stamped_and_upgraded(tmp_path):
    # Layout 1 exactly as the first store code made it: create_all of the v1 tables.
    path = tmp_path / "v1.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    with engine.begin() as c:
        ops = Operations(MigrationContext.configure(c))
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            "m0001", Path(__file__).resolve().parents[2] / "kinship" / "store" / "migrations" / "versions" / "0001_initial.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with Operations.context(ops.migration_context):
            module.upgrade()
        c.execute(sa.text("insert into ingested_files (sha256, export_sha256, manifest_sha256, export_name, "
                          "manifest_name, fmt, lab, received_at, n_rows, n_landed, n_untyped, n_quarantined, "
                          "n_warnings, n_samples_landed, n_genotypes_added, code_version) values ('x', 'e', 'm', "
                          "'a.txt', 'a.csv', 'genemapper', 'L', '2026-01-01 00:00:00', 1, 1, 0, 0, 0, 1, 1, '0.1.0')"))
    engine.dispose()
    with Store(path) as store:
        files = store.load_ingested_files()
        assert files[["export_name", "n_flagged", "n_records_skipped"]].values.tolist() == [["a.txt", 0, 0]]
        with store.engine.connect() as c:
            assert c.execute(sa.text("select version_num from alembic_version")).scalar_one() == _alembic_head()
            assert c.execute(sa.text("select value from store_meta")).scalar_one() == str(STORE_SCHEMA_VERSION)


def test_a_store_written_by_newer_code_is_refused(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as c:
        c.execute(sa.text("update alembic_version set version_num = '0099'"))
    engine.dispose()
    with pytest.raises(StoreError, match=rf"is at migration revision '0099', which this code \(head '{_alembic_head()}'\) does not know"):
        Store(path)


def test_alembic_ini_upgrades_a_store_from_the_command_line(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "cli.db"
    done = subprocess.run([sys.executable, "-m", "alembic", "-c", str(root / "alembic.ini"), "-x", f"store={path}",
                           "upgrade", "head"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Store(path) as store:
        assert store.load_samples().empty


def test_ranks_outside_the_best_k_are_stored_as_null_and_sorted_last(store):
    frame = matches_frame()
    frame["rank_for_candidate"] = pd.array([pd.NA, 1, 1], dtype="Int32")
    frame["rank_for_family"] = pd.array([1, pd.NA, pd.NA], dtype="Int32")
    store.record_match_run(run_record())
    store.write_matches("run-1", frame)
    got = store.load_matches("run-1")
    assert got[["family_id", "candidate_id"]].values.tolist() == [["FAM-2", "C1"], ["FAM-1", "C1"], ["FAM-1", "C2"]]
    assert got["rank_for_candidate"].tolist()[:2] == [1, pd.NA] and str(got["rank_for_family"].dtype) == "Int32"


@pytest.mark.parametrize("role", [None, "reference", "candidate"])
def test_sqlite_genotypes_read_through_arrow_equal_the_sqlalchemy_rows(tmp_path, monkeypatch, role):
    from kinship.store import engine
    path = tmp_path / "reunite.db"
    with Store(path) as store:
        empty = store.load_genotypes(role)
        register_test_labs(store)
        ingest_batch(store, DATA / "ref3.txt", DATA / "ref3_manifest.csv", lab="OUS", kit="ESX17")
        fast = store.load_genotypes(role)
        monkeypatch.setattr(engine, "ARROW_SQLITE_READS", False)
        plain = store.load_genotypes(role)
        plain_empty = Store(tmp_path / "other.db").load_genotypes(role)
    assert len(fast) == {None: 51, "reference": 34, "candidate": 17}[role]
    pd.testing.assert_frame_equal(fast, plain, check_exact=True)
    for column in fast.columns:  # sorted categories, each distinct value once
        assert list(fast[column].cat.categories) == sorted(set(plain[column].astype(str)))
    assert list(empty.columns) == list(plain_empty.columns) and len(empty) == len(plain_empty) == 0


def test_arrow_reads_open_the_file_in_a_child_process_only(tmp_path, monkeypatch):
    """The ADBC driver links its own SQLite: were it to open the store in this process, closing
    it would drop the locks this process's sqlite3 connections hold on the same file. The read
    runs in a child; in this process the driver is never used, and a child's error comes back
    as an OperationalError."""
    import subprocess

    import adbc_driver_sqlite.dbapi as adbc
    import sqlalchemy as sa

    from kinship.store import engine

    def refuse(*args, **kwargs):
        raise AssertionError("the ADBC driver opened the store in the calling process")

    monkeypatch.setattr(adbc, "connect", refuse)
    children = []
    real_popen = subprocess.Popen

    def spy(args, *a, **kw):
        children.append(args)
        return real_popen(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", spy)
    path = tmp_path / "reunite.db"
    with Store(path) as store:
        register_test_labs(store)
        ingest_batch(store, DATA / "ref3.txt", DATA / "ref3_manifest.csv", lab="OUS", kit="ESX17")
        fast = store.load_genotypes()
        assert any(list(c[1:3]) == ["-c", engine._ADBC_CHILD] for c in children)
        monkeypatch.setattr(engine, "ARROW_SQLITE_READS", False)
        pd.testing.assert_frame_equal(fast, store.load_genotypes(), check_exact=True)
        with pytest.raises(sa.exc.OperationalError, match="no such table: no_such_table"):
            list(store._adbc_batches("SELECT * FROM no_such_table"))
