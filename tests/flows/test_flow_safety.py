"""The flows keep data out of logs, retry only transient failures and write runs whole (issue 9,
deliverables 3 and 8), through the session's Prefect harness."""

from __future__ import annotations

import io
import logging
import sqlite3
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

import flows.ingest
import kinship.report
from flows.match import match
from kinship.app.ingest import IngestRecord, IngestSummary, ingest_batch
from kinship.errors import ExportFormatError, ReuniteInputError
from kinship.store import Store
from kinship.store.tables import genotypes

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"
SECRET_ID = "C-SECRET-4711"
SECRET_ALLELES = ("31.2", "97.3")


class _Calls:
    """A stand-in for ``ingest_batch`` that counts its calls and runs ``action``."""

    def __init__(self, action):
        self.n, self.action = 0, action

    def __call__(self, store, *args, **kwargs):
        self.n += 1
        return self.action(store)


def _no_delay(monkeypatch):
    monkeypatch.setattr(flows.ingest, "land_batch", flows.ingest.land_batch.with_options(retry_delay_seconds=0))


def _ingest(tmp_path, **kw):
    return flows.ingest.ingest(export=str(DATA / "three_families.txt"), lab="DEMO-LAB",
                               manifest=str(DATA / "three_families_manifest.csv"),
                               store=str(tmp_path / "store.sqlite"), **kw)


def test_a_validation_error_in_the_ingest_flow_is_not_retried(tmp_path, monkeypatch):
    def refuse(store):
        raise ExportFormatError("header of three_families.txt repeats column 'Allele 1'")

    calls = _Calls(refuse)
    monkeypatch.setattr(flows.ingest, "ingest_batch", calls)
    _no_delay(monkeypatch)
    with pytest.raises(ReuniteInputError, match="repeats column"):
        _ingest(tmp_path)
    assert calls.n == 1


@pytest.mark.parametrize("error, n_calls", [
    (sa.exc.IntegrityError("INSERT INTO genotypes", None, sqlite3.IntegrityError("UNIQUE constraint failed")), 1),
    (sa.exc.DataError("INSERT INTO genotypes", None, sqlite3.DataError("string or blob too big")), 1),
    (sa.exc.OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")), 3),
], ids=["integrity", "data", "locked"])
def test_only_a_transient_store_failure_is_retried(tmp_path, monkeypatch, error, n_calls):
    def fail(store):
        raise error

    calls = _Calls(fail)
    monkeypatch.setattr(flows.ingest, "ingest_batch", calls)
    _no_delay(monkeypatch)
    with pytest.raises(type(error)):
        _ingest(tmp_path)
    assert calls.n == n_calls


def _pg_url_or_skip():
    from tests.unit.conftest import PG_URLS, _in_ci

    for url in PG_URLS:
        engine = sa.create_engine(url)
        try:
            with engine.connect():
                return url
        except sa.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    if _in_ci():
        pytest.fail("CI=true but no PostgreSQL server answered")
    pytest.skip(reason="no PostgreSQL server answered")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def flow_store(request, tmp_path, monkeypatch):
    """The store the ingest flow opens: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.sqlite")
        return
    url = _pg_url_or_skip()
    schema = f"reunite_test_flow_{tmp_path.name[-12:].replace('-', '_')}".lower()
    monkeypatch.setattr(flows.ingest, "Store", lambda target: Store(target, schema=schema))
    yield url
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text(f'drop schema if exists "{schema}" cascade'))
    engine.dispose()


def test_an_insert_error_in_the_ingest_flow_leaves_no_sample_id_or_allele_in_logs(flow_store, monkeypatch, caplog, capfd):
    def insert_refused_row(store):
        with store.begin() as conn:  # no such sample or batch, and a null allele: refused
            conn.execute(genotypes.insert().values(sample_id=SECRET_ID, locus="TH01", allele_1=SECRET_ALLELES[0],
                                                   allele_2=None, file_id=987654))

    caplog.set_level(logging.DEBUG)
    calls = _Calls(insert_refused_row)
    monkeypatch.setattr(flows.ingest, "ingest_batch", calls)
    _no_delay(monkeypatch)
    state = flows.ingest.ingest(export=str(DATA / "three_families.txt"), lab="DEMO-LAB", store=flow_store,
                                return_state=True)
    out, err = capfd.readouterr()
    assert state.is_failed() and calls.n == 1  # an integrity error: not retried
    for text in (state.message, caplog.text, out, err):
        assert SECRET_ID not in text and not any(a in text for a in SECRET_ALLELES)
    assert "genotypes" in caplog.text + err  # the failure itself is still reported


def test_the_ingest_command_prints_a_short_summary_without_genotypes(tmp_path, monkeypatch):
    conflict = IngestRecord.quarantined("three_families.txt", 7, "R-0017", "vWA", "14/16 vs 11/13",
                                        "different genotypes for vWA within the file: 14/16, 11/13", "fix",
                                        kind="conflicting_genotypes")
    summary = IngestSummary("ab" * 32, "three_families.txt", "three_families_manifest.csv", 1, 3, 2, 0, 1,
                            0, 1, 2, False, [conflict], [])
    monkeypatch.setattr(flows.ingest, "ingest_batch", _Calls(lambda store: summary))
    text = flows.ingest.main([str(DATA / "three_families.txt"), str(DATA / "three_families_manifest.csv"),
                              "--lab", "DEMO-LAB", "--store", str(tmp_path / "store.sqlite")])
    assert len(text.splitlines()) == 3
    assert "3 rows = 2 landed + 0 untyped + 1 quarantined" in text and "batch abababababababab" in text
    assert "quarantine table of store" in text
    assert "14/16" not in text and "11/13" not in text and "R-0017" not in text and "vWA" not in text


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _reporting_summary(summary):
    """A stand-in for ``ingest_batch`` that reports its steps as the real one does."""
    def run(store, *args, progress=None, **kwargs):
        for stage, n_done in (("read", 0), ("plan", 1), ("write", 2), ("done", 3)):
            progress(stage, n_done, 3)
        return summary
    return run


def test_the_ingest_command_draws_a_progress_bar_on_a_terminal_stderr_only(tmp_path, monkeypatch, capsys):
    summary = IngestSummary("ab" * 32, "three_families.txt", "three_families_manifest.csv", 1, 3, 3, 0, 0,
                            0, 1, 3, False, [], [])
    monkeypatch.setattr(flows.ingest, "ingest_batch", _reporting_summary(summary))
    argv = [str(DATA / "three_families.txt"), str(DATA / "three_families_manifest.csv"), "--lab", "DEMO-LAB",
            "--store", str(tmp_path / "store.sqlite")]
    terminal = _Terminal()
    monkeypatch.setattr(flows.ingest.sys, "stderr", terminal)
    text = flows.ingest.main(argv)
    drawn = terminal.getvalue()
    assert "ingest: done" in drawn and "3/3" in drawn  # the last step, completed
    assert len(text.splitlines()) == 3 and "3 rows = 3 landed" in text  # the summary is unchanged
    assert "ingest:" not in capsys.readouterr().out
    piped = io.StringIO()  # not a terminal: no bar
    monkeypatch.setattr(flows.ingest.sys, "stderr", piped)
    assert flows.ingest.main(argv) == text
    assert "ingest:" not in piped.getvalue() and flows.ingest._cli_progress is None


def _store_with_three_families(path: Path) -> str:
    store = Store(path)
    if hasattr(store, "register_lab"):  # labs come from a registered catalogue (issue 9, deliverable 2)
        store.register_lab("DEMO-LAB", "Demo lab")
    ingest_batch(store, DATA / "three_families.txt", DATA / "three_families_manifest.csv", lab="DEMO-LAB")
    store.close()
    return str(path)


def test_a_write_failure_mid_output_leaves_no_run_folder_and_no_finished_run(tmp_path, monkeypatch):
    store = _store_with_three_families(tmp_path / "store.sqlite")
    out = tmp_path / "out"

    def disk_full(run_dir, *args, **kwargs):  # the tables are written, then the disk is full
        assert any(Path(run_dir).iterdir())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kinship.report, "write_report", disk_full)
    with pytest.raises(OSError, match="No space"):
        match(store=store, out_dir=str(out))
    # neither the run folder nor a temporary one; only the finished shards, kept so that the
    # next attempt resumes (kinship.app.checkpoints), owner-only
    assert [p.name for p in out.iterdir()] == [".shards"]
    assert stat.S_IMODE((out / ".shards").stat().st_mode) == 0o700
    with Store(store) as s:
        assert s.latest_match_run() is None  # recorded, never finished: the next run ignores it
        assert s.list_match_runs()["finished_at"].isna().all()
    monkeypatch.undo()

    result = match(store=store, out_dir=str(out))
    run_dir = Path(result["paths"]["matches_csv"]).parent
    assert [p.name for p in out.iterdir()] == [run_dir.name]  # the finished run removed its checkpoints
    assert stat.S_IMODE(out.stat().st_mode) == 0o700 and stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in run_dir.iterdir()} == {0o600}
    with Store(store) as s:
        assert s.latest_match_run()["run_id"] == result["provenance"]["run_id"]


def test_backup_and_restore_commands_round_trip_an_encrypted_sqlite_store(tmp_path, monkeypatch):
    import flows.backup
    import flows.restore

    store = tmp_path / "reunite.sqlite"
    Store(store).close()
    key = flows.backup.main(["--new-key"]).strip()
    monkeypatch.setenv("REUNITE_BACKUP_KEY", key)
    said = flows.backup.main(["--to", str(tmp_path / "b.backup"), "--store", str(store)])
    assert "sqlite store written to" in said and ", encrypted)" in said
    said = flows.restore.main(["--from", str(tmp_path / "b.backup"), "--store", str(tmp_path / "restored.sqlite")])
    assert "store restored" in said
    assert Store(tmp_path / "restored.sqlite").latest_match_run() is None
