"""What a lab sees in Prefect (issue 14): INFO logs without genotypes or sample ids, run names
from the lab, the batch, the store and the run id, artifact keys namespaced by the store, the
report link, the reported-pairs table with its calibration, and a description on every
parameter of every deployment's form."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler
from prefect.utilities.callables import parameter_schema

from flows.ingest import ingest
from flows.match import match
from flows.settings import artifact_namespace
from tests.labs import register_test_labs

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """One ingest and one match run on the three-family batch, their flow runs, logs and artifacts."""
    tmp = tmp_path_factory.mktemp("observed")
    store = str(tmp / "lab-one.sqlite")
    register_test_labs(store)
    ingest_state = ingest(export=str(DATA / "three_families.txt"), manifest=str(DATA / "three_families_manifest.csv"),
                          lab="DEMO-LAB", store=store, return_state=True)
    match_state = match(store=store, out_dir=str(tmp / "out"), return_state=True)
    APILogHandler().flush()  # send the batched records now
    runs = {}
    with get_client(sync_client=True) as client:
        for name, state in (("ingest", ingest_state), ("match", match_state)):
            run_id = state.state_details.flow_run_id
            logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
            artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))
            runs[name] = {"run": client.read_flow_run(run_id), "logs": logs, "artifacts": artifacts,
                          "result": state.result()}
    return runs, store


def _messages(run) -> list[str]:
    return [log.message for log in run["logs"]]


def test_the_runs_log_what_each_step_did_at_info(observed):
    runs, _ = observed
    ingest_lines = [log for log in runs["ingest"]["logs"] if log.level == 20]
    assert any(re.search(r"lab DEMO-LAB: genemapper batch three_families\.txt read, planned and written "
                         r"\(file_id \d+\): 190 rows, 190 landed, 0 untyped, 0 quarantined", line.message)
               for line in ingest_lines), _messages(runs["ingest"])
    assert any(re.fullmatch(r"step \d of \d \(\w+\), [\d.]+ s since start", m) for m in _messages(runs["ingest"]))
    match_lines = _messages(runs["match"])
    assert any(re.fullmatch(r"inputs assembled: 6 candidates, \d+ references, 3 families in [\d.]+ s", m)
               for m in match_lines), match_lines
    assert any(re.fullmatch(r"shard 1 of 1 scored, [\d.]+ s since start", m) for m in match_lines), match_lines
    run_id = runs["match"]["result"]["provenance"]["run_id"]
    assert any(re.match(r"posteriors and joint assignment: 3 supported, 0 flagged", m) for m in match_lines)
    assert f"run {run_id} marked finished" in match_lines
    assert any(m.startswith(f"run {run_id} finished in ") for m in match_lines)


def test_no_log_line_holds_a_genotype_or_a_sample_id(observed):
    runs, _ = observed
    manifest = pd.read_csv(DATA / "three_families_manifest.csv", dtype=str)
    export = pd.read_csv(DATA / "three_families.txt", sep="\t", dtype=str)
    text = "\n".join(m for run in runs.values() for m in _messages(run))
    assert len(text) > 500  # there are logs to check
    for sample_id in set(manifest.sample_id):
        assert sample_id not in text
    for locus in set(export.Marker) - {"AMEL"}:
        assert locus not in text  # a locus name is the start of any genotype written out
    assert not re.search(r"\b\d{1,2}(\.\d)?\s*[,/]\s*\d{1,2}(\.\d)?\b", text)  # no allele pair


def test_runs_are_named_after_the_lab_batch_store_and_run_id(observed):
    runs, _ = observed
    assert runs["ingest"]["run"].name == "ingest DEMO-LAB three_families -> lab-one"
    run_id = runs["match"]["result"]["provenance"]["run_id"]
    assert runs["match"]["run"].name == f"match full lab-one {run_id}"


def test_artifacts_are_keyed_by_store_and_link_the_report(observed):
    runs, store = observed
    namespace = artifact_namespace(store)
    assert re.fullmatch(r"lab-one-[0-9a-f]{6}", namespace)
    keys = {a.key: a for a in runs["match"]["artifacts"] if a.key}
    assert set(keys) == {f"{k}-{namespace}" for k in ("top-candidates", "match-summary", "match-report",
                                                      "match-progress")}
    assert {a.key for a in runs["ingest"]["artifacts"] if a.key} == {f"ingestion-summary-{namespace}",
                                                                     f"ingestion-progress-{namespace}"}
    report_html = Path(runs["match"]["result"]["paths"]["report_html"])
    link = keys[f"match-report-{namespace}"]
    assert report_html.resolve().as_uri() in link.data and link.type == "markdown"
    table = keys[f"top-candidates-{namespace}"]
    assert "all 3 supported or flagged pairs" in table.description
    rows = table.data if isinstance(table.data, list) else __import__("json").loads(table.data)
    assert len(rows) == 3 and {"p_unrelated", "expected_unrelated", "joint_posterior"} <= set(rows[0])
    assert all(r["conclusion"] == "support" and r["expected_unrelated"] < 0.01 for r in rows)


def test_the_workbench_link_is_published_only_when_set(tmp_path, monkeypatch):
    store = str(tmp_path / "wb.sqlite")
    register_test_labs(store)
    ingest(export=str(DATA / "three_families.txt"), manifest=str(DATA / "three_families_manifest.csv"),
           lab="DEMO-LAB", store=store)
    monkeypatch.setenv("REUNITE_WORKBENCH_URL", "https://workbench.lab.example/")
    state = match(store=store, out_dir=str(tmp_path / "out"), return_state=True)
    run_id = state.result()["provenance"]["run_id"]
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    [link] = [a for a in artifacts if a.key == f"match-workbench-{artifact_namespace(store)}"]
    assert "https://workbench.lab.example/queue" in link.data and run_id in link.data


def _deployed_flows():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    for deployment in spec["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        module = __import__(path.removesuffix(".py").replace("/", "."), fromlist=[name])
        yield deployment["name"], getattr(module, name)


@pytest.mark.parametrize("name, deployed", list(_deployed_flows()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_parameter_of_every_deployment_form_has_a_description(name, deployed):
    schema = parameter_schema(deployed.fn).model_dump_for_openapi()
    assert schema["properties"]
    for parameter, field in schema["properties"].items():
        assert len(field.get("description", "")) > 20, (name, parameter)


def test_the_ingest_form_offers_the_formats_as_a_choice():
    schema = parameter_schema(ingest.fn).model_dump_for_openapi()
    fmt = schema["properties"]["fmt"]
    choices = fmt.get("enum") or next(s["enum"] for s in schema["definitions"].values() if "enum" in s)
    assert {"genemapper", "cmf", "vcf"} <= set(choices)
    assert "worker" in schema["properties"]["export"]["description"]
