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
