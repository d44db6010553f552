"""The ingest, match and pipeline flows through Prefect (one session-scoped test harness)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows.ingest import ingest
from flows.pipeline import pipeline
from tests.provenance_check import assert_run_provenance_valid
from tests.labs import TEST_LABS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"


@pytest.fixture(scope="module")
def three_family_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("three")
    store = str(tmp / "store.sqlite")
    batch = {"export": str(DATA / "three_families.txt"), "manifest": str(DATA / "three_families_manifest.csv"), "lab": "DEMO-LAB"}
    result = pipeline(batches=[batch], store=store, out_dir=str(tmp / "out"), labs={"DEMO-LAB": TEST_LABS["DEMO-LAB"]})
    return result, batch, store


def test_pipeline_returns_the_expected_ranking(three_family_run):
    result, _, _ = three_family_run
    [summary] = result["ingestion"]
    assert (summary["n_rows"], summary["n_landed"], summary["n_quarantined"]) == (190, 190, 0)
    matches = pd.read_parquet(result["paths"]["matches_parquet"])
    assert len(matches) == 6 * 3
    best = matches[matches.rank_for_candidate == 1].set_index("candidate_id")
    truth = pd.read_csv(DATA / "three_families_truth.csv", dtype=str)
    for row in truth.itertuples():
        assert best.loc[row.candidate_id, "family_id"] == row.family_id
        assert best.loc[row.candidate_id, "conclusion"] == "support"
    # C-0105 carries one paternal mutation (D13S317): one inconsistent locus, still supported.
    assert best.loc["C-0105", "n_inconsistent"] == 1
    assert best.loc["C-0105", "n_loci_compared"] == 18
    unrelated = matches[~matches.candidate_id.isin(truth.candidate_id)]
    assert (unrelated.log10_lr < 4).all()
    # Each family's rank-1 candidate is its own child.
    top = matches[matches.rank_for_family == 1].set_index("family_id")["candidate_id"]
    assert top.to_dict() == dict(zip(truth.family_id, truth.candidate_id))
    assert Path(result["paths"]["report_html"]).read_text().count("C-0105") >= 1


def test_the_pipeline_writes_a_provenance_record_of_schema_v3(three_family_run):
    result, _, _ = three_family_run
    written = assert_run_provenance_valid(result)
    assert written["outputs"]["matches.csv"] == {"schema": "reunite/matches/3", "n_rows": 18}


def test_ingesting_the_same_batch_again_adds_nothing(three_family_run):
    _, batch, store = three_family_run
    again = ingest(store=store, **batch)
    assert again["already_ingested"] is True


def test_prefect_yaml_declares_the_deployments():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    import prefect

    assert spec["prefect-version"] == prefect.__version__ == "3.9.1"
    deployments = {d["name"]: d for d in spec["deployments"]}
    assert set(deployments) == {"ingest", "ingest-pedigrees", "match", "nightly-rematch"}
    assert deployments["nightly-rematch"]["schedules"][0]["cron"] == "0 2 * * *"
    assert deployments["nightly-rematch"]["parameters"]["full"] is True
    for d in deployments.values():
        path, name = d["entrypoint"].split(":")
        assert (ROOT / path).exists()
        module = __import__(path.removesuffix(".py").replace("/", "."), fromlist=[name])
        assert hasattr(getattr(module, name), "deploy")  # a Prefect flow
        assert d["enforce_parameter_schema"] is True
