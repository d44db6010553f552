"""The vocabulary of relatives and family kinds is defined once (kinship.genetics.relationships):
the schemas that cross a boundary must say exactly the same."""

from __future__ import annotations

from kinship.genetics.relationships import (
    FAMILY_KINDS,
    IMPLIED_SEX,
    MANIFEST_RELATIONSHIPS,
    PARENT_KINDS,
    RELATIONSHIPS,
    SEXES,
    family_kind,
)
from kinship.io.manifest import manifest_rules
from schemas import load_schema


def test_the_manifest_schema_allows_exactly_the_library_relationships():
    rules = manifest_rules()
    assert tuple(rules["relationships"]) == MANIFEST_RELATIONSHIPS
    assert tuple(rules["sexes"]) == SEXES
    assert rules["implied_sex"] == IMPLIED_SEX


def test_the_matches_schema_allows_exactly_the_library_family_kinds():
    field = next(f for f in load_schema("matches.v3")["fields"] if f["name"] == "family_kind")
    assert tuple(field["enum"]) == FAMILY_KINDS


def test_every_family_kind_is_reachable_from_manifest_relationships():
    examples = {
        "couple": ["father", "mother"],
        "father only": ["father"],
        "mother only": ["mother"],
        "siblings": ["full_sibling", "maternal_half_sibling"],
        "parent + relatives": ["mother", "paternal_grandfather"],
        "relatives": ["paternal_aunt_uncle", "maternal_grandmother"],
        "pedigree": ["pedigree"],
    }
    assert set(examples) == set(FAMILY_KINDS)
    for kind, relationships in examples.items():
        assert family_kind(relationships) == kind
    assert set(PARENT_KINDS) < set(FAMILY_KINDS)
    assert set(RELATIONSHIPS) < set(MANIFEST_RELATIONSHIPS)
