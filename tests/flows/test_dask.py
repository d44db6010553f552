"""The match flow runs its family shards on an existing Dask cluster when one is given.

The cluster is a LocalCluster of threads (processes=False): in Prefect's ephemeral mode a
process-based cluster would start one ephemeral Prefect server per worker (~44 s each).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows.ingest import ingest
from flows.match import run_match
from kinship.app.parameters import MatchParameters
from tests.provenance_check import assert_run_provenance_valid
from tests.labs import register_test_labs

DATA = Path(__file__).resolve().parents[1] / "data" / "flows"


def test_match_on_a_dask_cluster_equals_the_threaded_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    stores = {}
    for name in ("threads", "dask"):  # one store each: a run's "new since the last run" depends on it
        stores[name] = str(tmp_path / f"{name}.sqlite")
        register_test_labs(stores[name])
        ingest(export=str(DATA / "three_families.txt"), manifest=str(DATA / "three_families_manifest.csv"),
               lab="DEMO-LAB", store=stores[name])
    threaded = run_match(store=stores["threads"], out_dir=str(tmp_path / "threads"), parameters={"shard_size": 2})
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        on_dask = run_match(dask_address=cluster.scheduler_address, store=stores["dask"],
                            out_dir=str(tmp_path / "dask"), parameters=MatchParameters(shard_size=2))
    a = Path(threaded["paths"]["matches_csv"]).read_bytes()
    b = Path(on_dask["paths"]["matches_csv"]).read_bytes()
    assert a == b
    matches = pd.read_csv(on_dask["paths"]["matches_csv"])
    assert matches["candidate_id"].nunique() == 6
    assert on_dask["provenance"]["comparison"]["n_pairs_scored_now"] == 6 * 3
    assert on_dask["provenance"]["comparison"]["kind"] == "full"
    for result in (threaded, on_dask):
        assert_run_provenance_valid(result)


def test_shards_scored_with_the_kept_floor_give_the_bytes_of_one_shard(tmp_path, monkeypatch):
    """On threads, shards after the first few are submitted with the candidates' kept entries so far
    (a floor for the screen): one family per shard (3 shards) writes the bytes of one shard."""
    import kinship.app.match_run as mr

    floors = []
    real = mr.score_shard

    def spy(*args, kept=None, **kwargs):
        floors.append(kept is not None and len(kept) > 0)
        return real(*args, kept=kept, **kwargs)

    monkeypatch.setattr(mr, "score_shard", spy)
    out = {}
    for shard_size in (1, 100):
        store = str(tmp_path / f"s{shard_size}.sqlite")
        register_test_labs(store)
        ingest(export=str(DATA / "three_families.txt"), manifest=str(DATA / "three_families_manifest.csv"),
               lab="DEMO-LAB", store=store)
        result = run_match(store=store, out_dir=str(tmp_path / f"o{shard_size}"), parameters={"shard_size": shard_size})
        out[shard_size] = Path(result["paths"]["matches_csv"]).read_bytes()
    assert floors[:3] == [False, False, True] and floors[3:] == [False]  # the third shard had a floor
    assert out[1] == out[100]
