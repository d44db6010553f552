"""A match run that stopped half-way resumes from its finished shards (kinship.app.checkpoints)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kinship.app.match_run as mr
from flows.ingest import ingest
from flows.match import run_match
from kinship.app import checkpoints
from kinship.matching.streaming import Entries, ShardResult
from tests.labs import register_test_labs

DATA = Path(__file__).resolve().parents[1] / "data" / "flows"


def _store(tmp_path, name):
    store = str(tmp_path / f"{name}.sqlite")
    register_test_labs(store)
    ingest(export=str(DATA / "three_families.txt"), manifest=str(DATA / "three_families_manifest.csv"),
           lab="DEMO-LAB", store=store)
    return store


def test_a_run_that_crashed_in_its_third_shard_resumes_from_the_first_two(tmp_path, monkeypatch):
    clean = run_match(store=_store(tmp_path, "clean"), out_dir=str(tmp_path / "clean"), parameters={"shard_size": 1})
    store, out = _store(tmp_path, "crash"), tmp_path / "out"
    real, calls = mr.score_shard, []

    def crashing(*args, **kwargs):
        calls.append(kwargs["family_index"].tolist())
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(mr, "score_shard", crashing)
    with pytest.raises(RuntimeError, match="worker lost"):
        run_match(store=store, out_dir=str(out), parameters={"shard_size": 1})
    (folder,) = (out / ".shards").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["shard-000000.npz", "shard-000001.npz"]
    calls.clear()
    resumed = run_match(store=store, out_dir=str(out), parameters={"shard_size": 1})
    assert len(calls) == 1  # only the shard that was not finished is scored again
    assert Path(resumed["paths"]["matches_csv"]).read_bytes() == Path(clean["paths"]["matches_csv"]).read_bytes()
    assert not (out / ".shards").exists()  # the finished run removed its checkpoints


def test_a_checkpoint_round_trips_and_a_partial_file_is_no_checkpoint(tmp_path):
    e = Entries(np.array([0, 2]), np.array([5, 1]), np.array([1.5, -np.inf]))
    result = ShardResult(e, Entries.empty(), Entries(np.array([0]), np.array([5]), np.array([4.25])))
    path = checkpoints.save(tmp_path, "abc", 3, result)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    back = checkpoints.load(tmp_path, "abc", 3)
    for side in ("candidate_best", "family_best", "hits"):
        for field in ("candidate", "family", "score"):
            assert np.array_equal(getattr(getattr(back, side), field), getattr(getattr(result, side), field))
    (tmp_path / "abc" / "shard-000004.npz.partial").write_bytes(b"half")
    assert checkpoints.load(tmp_path, "abc", 4) is None
    checkpoints.clear(tmp_path, "abc")
    assert not (tmp_path / "abc").exists()
