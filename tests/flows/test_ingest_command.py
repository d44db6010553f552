"""``scripts/flow ingest`` and ``ingest_pedigrees`` refuse a lab or kit that is not an ASCII code
before the flow is called (nothing reaches Prefect's recorded run parameters), and the flows'
parameter schemas carry the patterns that a deployment's enforced schema checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.utilities.callables import parameter_schema

import flows.ingest
import flows.ingest_pedigrees
from kinship.app.ingest.labels import KIT_NAME_PATTERN, LAB_CODE_PATTERN, MAX_LABEL_LENGTH
from kinship.store.catalogue import KIT_NAME_PATTERN as CATALOGUE_KIT_PATTERN
from schemas import load_schema

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"
PERSONAL = "张伟13800138000"


def _never(*args, **kwargs):
    raise AssertionError("the flow was called with a refused lab or kit")


@pytest.mark.parametrize("option", [["--lab", PERSONAL], ["--lab", "DEMO-LAB", "--kit", PERSONAL],
                                    ["--lab", "L" * 65]])
def test_a_personal_lab_or_kit_is_refused_before_the_flow_is_called(monkeypatch, capsys, option):
    monkeypatch.setattr(flows.ingest, "ingest", _never)
    with pytest.raises(SystemExit) as info:
        flows.ingest.main([str(DATA / "three_families.txt"), str(DATA / "three_families_manifest.csv"), *option])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    assert "张" not in captured.err and "13800138000" not in captured.err


def test_the_pedigree_command_refuses_a_personal_lab_before_the_flow(monkeypatch, capsys):
    monkeypatch.setattr(flows.ingest_pedigrees, "ingest_pedigrees", _never)
    with pytest.raises(SystemExit) as info:
        flows.ingest_pedigrees.main(["peds.csv", "--lab", PERSONAL])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "13800138000" not in err


def test_the_flow_parameter_schemas_carry_the_lab_and_kit_patterns():
    ingest = parameter_schema(flows.ingest.ingest).model_dump()["properties"]
    assert (ingest["lab"]["pattern"], ingest["lab"]["maxLength"]) == (LAB_CODE_PATTERN, MAX_LABEL_LENGTH)
    assert {"pattern": KIT_NAME_PATTERN, "maxLength": MAX_LABEL_LENGTH, "type": "string"} in ingest["kit"]["anyOf"]
    pedigrees = parameter_schema(flows.ingest_pedigrees.ingest_pedigrees).model_dump()["properties"]
    assert pedigrees["lab"]["pattern"] == LAB_CODE_PATTERN
    # The patterns are the manifest schema's and the kit catalogue's, written once more only so that
    # a flow signature can carry them without reading a file at import.
    manifest = load_schema("manifest.v5")["properties"]
    assert LAB_CODE_PATTERN == manifest["lab"]["pattern"] == manifest["sample_id"]["pattern"]
    assert KIT_NAME_PATTERN == CATALOGUE_KIT_PATTERN.pattern


def test_prefect_refuses_a_personal_lab_by_the_flow_signature():
    with pytest.raises(Exception) as info:
        flows.ingest.ingest.validate_parameters({"export": "x.txt", "lab": PERSONAL})
    assert "lab" in str(info.value)
    flows.ingest.ingest.validate_parameters({"export": "x.txt", "lab": "DEMO-LAB", "kit": "GlobalFiler"})
