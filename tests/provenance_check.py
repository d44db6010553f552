"""Check provenance records against ``schemas/provenance.v4.json`` (jsonschema, a dev dependency)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from schemas import load_schema

__all__ = ["assert_valid_provenance", "assert_run_provenance_valid"]


def assert_valid_provenance(record: dict) -> None:
    """Raise AssertionError listing every way ``record`` departs from the provenance schema."""
    schema = load_schema("provenance.v4")
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    record = json.loads(json.dumps(record))  # as written: tuples become lists
    errors = [f"{'/'.join(map(str, e.absolute_path)) or '<record>'}: {e.message}" for e in validator.iter_errors(record)]
    assert not errors, "provenance record does not follow schemas/provenance.v4.json:\n" + "\n".join(errors)


def assert_run_provenance_valid(result: dict) -> dict:
    """Check a match flow's result: the record it returns and the provenance.json it wrote.

    Returns the written record (``outputs`` filled).
    """
    assert_valid_provenance(result["provenance"])
    written = json.loads(Path(result["paths"]["provenance_json"]).read_text(encoding="utf-8"))
    assert_valid_provenance(written)
    assert written["outputs"]["provenance.json"]["schema"] == written["schema"] == "reunite/provenance/4"
    return written
