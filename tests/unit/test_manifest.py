"""The batch manifest: schema-driven validation, every row error collected."""

from __future__ import annotations

import pytest

from kinship.errors import ManifestError
from kinship.io.manifest import manifest_rules, read_manifest
from schemas import load_schema

HEADER = "sample_id,role,family_id,relationship,sex,lab,kit\n"


def write(tmp_path, body: str, name: str = "manifest.csv", header: str = HEADER):
    path = tmp_path / name
    path.write_text(header + body)
    return path


def test_allowed_values_come_from_the_schema_file():
    schema = load_schema("manifest.v3")
    rules = manifest_rules()
    assert rules["roles"] == schema["properties"]["role"]["enum"]
    assert rules["relationships"] == schema["properties"]["relationship"]["enum"]
    assert rules["sexes"] == schema["properties"]["sex"]["enum"]


def test_a_new_relationship_kind_is_a_schema_change_only():
    schema = load_schema("manifest.v3")
    extended = {**schema, "properties": {**schema["properties"], "relationship": {
        "type": "string", "enum": [*schema["properties"]["relationship"]["enum"], "full_sibling"]}}}
    assert "full_sibling" in manifest_rules(extended)["relationships"]


def test_valid_manifest_fills_defaults_and_keeps_references_in_several_families(tmp_path):
    path = write(tmp_path, "R1,reference,F1,father,male,,\nR1,reference,F2,father,male,,\nC1,candidate,,,,,\nR2,reference,F1,mother,,LAB1,GF\n")
    m = read_manifest(path, lab="LAB1", kit="ESX17", strict=True)
    assert m.errors == []
    assert m.entries[["sample_id", "family_id", "sex", "lab", "kit"]].values.tolist() == [
        ["R1", "F1", "male", "LAB1", "ESX17"],
        ["R1", "F2", "male", "LAB1", "ESX17"],
        ["C1", "", "unknown", "LAB1", "ESX17"],
        ["R2", "F1", "unknown", "LAB1", "GF"],
    ]
    assert m.entries["source_line"].tolist() == [2, 3, 4, 5]


def test_optional_columns_may_be_absent(tmp_path):
    path = write(tmp_path, "C1,candidate,,\n", header="sample_id,role,family_id,relationship\n")
    m = read_manifest(path, lab="LAB1")
    assert m.entries[["sex", "lab", "kit"]].values.tolist() == [["unknown", "LAB1", ""]]


def test_bad_relationship_message_names_file_line_sample_column_value_expected_fix(tmp_path):
    path = write(tmp_path, "R1,reference,F1,father,male,,\nR2,reference,F1,uncle,male,,\n", name="bad.csv")
    with pytest.raises(
        ManifestError,
        match=(r"manifest bad\.csv line 3 \(sample 'R2'\): column 'relationship' has value 'uncle'; "
               r"expected one of \['father', 'mother', 'full_sibling', .*'maternal_aunt_uncle', 'pedigree'\] for a reference; fix: give the reference's "
               r"relationship to the missing child"),
    ):
        read_manifest(path, lab="LAB1", strict=True)


def test_all_row_errors_are_collected_and_good_rows_kept(tmp_path):
    body = (
        "R1,reference,F1,father,male,,\n"   # line 2: fine
        "R2,reference,,mother,female,,\n"   # line 3: reference without family
        "C1,candidate,F9,,,,\n"             # line 4: candidate with a family
        "C2,child,,,,,\n"                   # line 5: unknown role
        "C3,candidate,,,yes,,\n"            # line 6: bad sex
        "R3,reference,F2,mother,male,,\n"   # line 7: a male mother
        "bad id,candidate,,,,,\n"           # line 8: id with a space
    )
    m = read_manifest(write(tmp_path, body), lab="LAB1")
    found = [(e.line, e.column) for e in m.errors]
    assert found == [(3, "family_id"), (4, "family_id"), (5, "role"), (6, "sex"), (7, "sex"), (8, "sample_id")]
    assert m.entries["sample_id"].tolist() == ["R1"]
    assert m.bad_sample_ids == {"R2", "C1", "C2", "C3", "R3", "bad id"}
    with pytest.raises(ManifestError, match=r"^6 invalid manifest row value\(s\)"):
        m.raise_errors()


def test_two_fathers_in_one_family_are_both_refused(tmp_path):
    m = read_manifest(write(tmp_path, "R1,reference,F1,father,,,\nR2,reference,F1,father,,,\nR3,reference,F2,father,,,\n"), lab="L")
    assert sorted(e.sample_id for e in m.errors) == ["R1", "R2"]
    assert "at most one father in family 'F1' of lab 'L'" in m.errors[0].message
    assert m.entries["sample_id"].tolist() == ["R3"]


def test_a_manifest_lab_other_than_the_batch_lab_is_a_row_error(tmp_path):
    # One batch comes from one lab: --lab is never silently overridden by the lab column (so
    # "retract, then ingest again with the corrected --lab" fixes a mistyped lab). Family ids are
    # still scoped by lab, across batches: the same F1 of another lab is another family (store tests).
    m = read_manifest(write(tmp_path, "R1,reference,F1,father,,L1,\nR2,reference,F1,mother,,L2,\n"
                                      "R3,reference,F1,paternal_grandmother,,,\n"), lab="L1")
    assert [(e.sample_id, e.column, e.value) for e in m.errors] == [("R2", "lab", "L2")]
    assert "the batch's lab 'L1' (--lab)" in m.errors[0].message
    assert "fix: correct the manifest's lab column or --lab" in m.errors[0].message
    assert m.entries["sample_id"].tolist() == ["R1", "R3"] and set(m.entries["lab"]) == {"L1"}


def test_a_corrected_lab_replaces_the_manifest_default_not_the_reverse(tmp_path):
    path = write(tmp_path, "R1,reference,F1,father,,DEMO-LAB,\n")
    assert [e.column for e in read_manifest(path, lab="LAB2").errors] == ["lab"]
    assert read_manifest(path, lab="DEMO-LAB").entries["lab"].tolist() == ["DEMO-LAB"]


def test_a_sample_with_two_roles_is_refused(tmp_path):
    m = read_manifest(write(tmp_path, "S1,reference,F1,father,,,\nS1,candidate,,,,,\n"), lab="L")
    assert [(e.line, e.column) for e in m.errors] == [(3, "role")]


def test_unknown_column_is_refused_so_names_never_reach_the_store(tmp_path):
    path = write(tmp_path, "C1,candidate,,,Zhang Wei\n", header="sample_id,role,family_id,relationship,name\n")
    with pytest.raises(ManifestError, match=r"unknown column\(s\) \['name'\].*never names or contact details"):
        read_manifest(path, lab="L")


def test_missing_required_column_is_refused(tmp_path):
    path = write(tmp_path, "C1,candidate\n", header="sample_id,role\n")
    with pytest.raises(ManifestError, match=r"line 1: missing column\(s\) \['family_id', 'relationship'\]"):
        read_manifest(path, lab="L")


def test_empty_manifest_is_refused(tmp_path):
    with pytest.raises(ManifestError, match=r"has a header but no rows"):
        read_manifest(write(tmp_path, ""), lab="L")


def test_schema_file_is_valid_json_schema_and_agrees_with_the_reader(tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema not installed")
    schema = load_schema("manifest.v3")
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"sample_id": "R1", "role": "reference", "family_id": "F1", "relationship": "father"})
    assert validator.is_valid({"sample_id": "C1", "role": "candidate"})
    assert not validator.is_valid({"sample_id": "C1", "role": "candidate", "family_id": "F1"})
    assert not validator.is_valid({"sample_id": "R1", "role": "reference", "relationship": "father"})
    assert not validator.is_valid({"sample_id": "R1", "role": "reference", "family_id": "F1", "relationship": "uncle"})


def test_a_registered_lab_other_than_the_batch_lab_is_still_a_row_error(tmp_path):
    path = write(tmp_path, "R1,reference,F1,father,,DEMO-LAB,\n")
    m = read_manifest(path, lab="LAB2", labs=["DEMO-LAB", "LAB2"])
    assert [(e.column, e.value) for e in m.errors] == [("lab", "DEMO-LAB")] and m.entries.empty
    assert "expected the batch's lab 'LAB2' (--lab)" in m.errors[0].message
