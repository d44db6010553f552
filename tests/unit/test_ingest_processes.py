"""Ingestion across processes: kill -9 mid-batch, and two ingestions of one file at once.

Real subprocesses on both back-ends. The killed process has written every row of the batch on
its open transaction and is waiting before the commit; after SIGKILL the store must hold none
of it, and re-running lands it whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from kinship.app.ingest import ingest_batch
from kinship.store import Store
from tests.labs import register_test_labs

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
ROOT = Path(__file__).resolve().parents[2]
TABLES = ("ingested_files", "samples", "genotypes", "quarantine", "warnings", "family_members")

_CHILD = r"""
import json, pathlib, sys, time
from kinship.app.ingest import ingest_batch
from kinship.store import Store

target, schema, mode, signal_file, go_file = sys.argv[1:6]
if mode == "hang":
    original = Store.write_batch

    def write_then_hang(self, conn, **kwargs):
        file_id = original(self, conn, **kwargs)
        conn.execute(__import__("sqlalchemy").text("select 1"))  # everything is on the wire
        pathlib.Path(signal_file).write_text("written, not committed")
        time.sleep(120)
        return file_id

    Store.write_batch = write_then_hang
store = Store(target, schema=schema or None)
if mode == "race":
    pathlib.Path(signal_file).write_text("ready")
    while not pathlib.Path(go_file).exists():
        time.sleep(0.005)
s = ingest_batch(store, sys.argv[6], sys.argv[7], lab="OUS", kit="ESX17")
print(json.dumps({"already": s.already_ingested, "landed": s.n_landed, "file_id": s.file_id}))
"""


def _child(target, schema, mode, signal_file, go_file):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(target), schema or "", mode, str(signal_file), str(go_file),
         str(DATA / "set3.txt"), str(DATA / "set3_manifest.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )


def _wait_for(path: Path, proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited early: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"child did not reach {path.name} in {timeout} s")
        time.sleep(0.02)


def _counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as c:
        return {t: c.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in TABLES}


def test_kill_9_mid_batch_leaves_nothing_and_a_rerun_lands_it(backend, tmp_path):
    target, schema = backend
    register_test_labs(target, schema=schema)  # migrated (and the lab registered) before the child starts
    written = tmp_path / "written"
    proc = _child(target, schema, "hang", written, tmp_path / "unused")
    try:
        _wait_for(written, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store(target, schema=schema) as store:
        assert _counts(store) == dict.fromkeys(TABLES, 0)
        s = ingest_batch(store, DATA / "set3.txt", DATA / "set3_manifest.csv", lab="OUS", kit="ESX17")
        assert not s.already_ingested and (s.n_landed, s.n_quarantined) == (62, 600)
        assert _counts(store) == {"ingested_files": 1, "samples": 4, "genotypes": 62, "quarantine": 600,
                                  "warnings": 20, "family_members": 2}


def test_two_ingestions_of_the_same_file_at_the_same_moment_land_it_once(backend, tmp_path):
    target, schema = backend
    register_test_labs(target, schema=schema)
    go = tmp_path / "go"
    procs = [_child(target, schema, "race", tmp_path / f"ready{i}", go) for i in range(2)]
    for i, proc in enumerate(procs):
        _wait_for(tmp_path / f"ready{i}", proc)
    go.write_text("go")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["already"] for r in results) == [False, True]
    assert {r["landed"] for r in results} == {62} and len({r["file_id"] for r in results}) == 1
    with Store(target, schema=schema) as store:
        assert _counts(store)["ingested_files"] == 1 and _counts(store)["genotypes"] == 62
