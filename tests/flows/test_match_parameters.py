"""The match flow's one parameter object through Prefect: refused before any work, described in
the run form's schema, enforced by the API for deployments, and generated onto the command line."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from prefect.utilities.callables import parameter_schema

from flows.match import command_line, main, match
from flows.pipeline import pipeline
from kinship.app.parameters import LinkageParameters, MatchParameters, MutationParameters
from kinship.errors import ReuniteInputError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"


def test_the_match_flow_refuses_theta_one_before_opening_the_store(tmp_path):
    store = tmp_path / "never.sqlite"
    with pytest.raises(ReuniteInputError, match=r"^match parameter theta = 1 is out of range; allowed: 0 <= theta < 1$"):
        match(parameters={"theta": 1}, store=str(store), out_dir=str(tmp_path / "out"))
    assert not store.exists() and not (tmp_path / "out").exists()


def test_the_pipeline_refuses_a_bad_prior_before_ingesting(tmp_path):
    store = tmp_path / "never.sqlite"
    batch = {"export": str(DATA / "three_families.txt"), "manifest": str(DATA / "three_families_manifest.csv"),
             "lab": "DEMO-LAB"}
    with pytest.raises(ReuniteInputError, match=r"^match parameter prior\.family_not_on_file = 2\.0 is out of range; "
                                                r"allowed: 0 < family_not_on_file < 1$"):
        pipeline(batches=[batch], parameters={"prior": {"family_not_on_file": 2.0}}, store=str(store),
                 out_dir=str(tmp_path / "out"))
    assert not store.exists()


def test_the_run_form_describes_every_parameter():
    schema = parameter_schema(match).model_dump()
    assert list(schema["properties"]) == ["parameters", "store", "out_dir", "full", "keep_full_runs"]
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name  # from the flow docstring's Google-style Args
    definitions = schema["definitions"]
    for model in (MatchParameters, MutationParameters, LinkageParameters):
        spec = definitions[model.__name__]
        assert spec["additionalProperties"] is False
        assert set(spec["properties"]) == set(model.model_fields)
        for name, prop in spec["properties"].items():
            assert prop["description"] == model.model_fields[name].description, name
    theta = definitions["MatchParameters"]["properties"]["theta"]
    assert (theta["minimum"], theta["exclusiveMaximum"], theta["default"]) == (0.0, 1.0, 0.0)
    assert definitions["MutationParameters"]["properties"]["model"]["enum"] == ["none", "equal", "proportional",
                                                                                "stepwise"]


def test_prefect_yaml_parameters_follow_the_flow_schema():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    schema = parameter_schema(match).model_dump()
    deployments = {d["name"]: d for d in spec["deployments"]}
    for name in ("match", "nightly-rematch"):
        jsonschema.validate(deployments[name]["parameters"], schema)
    assert deployments["nightly-rematch"]["parameters"]["full"] is True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"parameters": {"theta": 1}}, schema)


def test_a_deployment_run_with_a_bad_parameter_is_refused_by_the_api():
    """``prefect deployment run match/... -p parameters='{"theta": 1}'``: the API validates the
    parameters against the deployment's schema (enforce_parameter_schema) and creates no run."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import PrefectHTTPStatusError

    match.to_deployment(name="parameters-check", enforce_parameter_schema=True, parameters={"full": True}).apply()
    ok = run_deployment("match/parameters-check", parameters={"parameters": {"theta": 0.01}}, timeout=0)
    assert ok.parameters == {"full": True, "parameters": {"theta": 0.01}}
    for bad in ({"theta": 1}, {"k": 0}, {"colour": "red"}, {"mutation": {"model": "stepwyse"}}):
        with pytest.raises(PrefectHTTPStatusError, match="Validation failed for field 'parameters"):
            run_deployment("match/parameters-check", parameters={"parameters": bad}, timeout=0)


def test_the_command_line_lists_every_field_and_refuses_a_bad_one(tmp_path, capsys):
    text = " ".join(command_line().format_help().split())
    for option in ("--store", "--out-dir", "--full", "--dask-address", "--table-id", "--mutation-model",
                   "--mutation-rate-male", "--mutation-rate-female", "--mutation-range", "--mutation-rate2", "--prior-family-not-on-file",
                   "--prior-child-not-on-file", "--y-str-use", "--y-str-step-ratio",
                   "--frequency-floor", "--k", "--threshold", "--theta", "--max-expected-unrelated", "--shard-size"):
        assert option in text, option
    assert "0 <= theta < 1" in text and "Default: 4096" in text
    store = tmp_path / "never.sqlite"
    with pytest.raises(SystemExit) as exit_:
        main(["--store", str(store), "--theta", "1"])
    assert exit_.value.code == 2 and not store.exists()
    assert "error: match parameter theta = 1.0 is out of range; allowed: 0 <= theta < 1" in capsys.readouterr().err


def test_a_refused_frequency_table_is_one_line_not_a_traceback(tmp_path, capsys):
    """QA: a table summing to 0.97 at a locus stopped ``scripts/flow match`` with a traceback
    printed twice; it is one ``error:`` line and exit code 2 (the message names locus and sum)."""
    table = tmp_path / "f097.csv"
    table.write_text("locus,allele,frequency\nTH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.37\n")
    with pytest.raises(SystemExit) as exit_:
        main(["--store", str(tmp_path / "s.sqlite"), "--out-dir", str(tmp_path / "out"), "--table-id", str(table)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and "TH01" in lines[-1] and "0.97" in lines[-1]
    assert "Traceback" not in err
