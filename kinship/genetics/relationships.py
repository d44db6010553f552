"""The field's vocabulary of relatives and families, defined once.

A typed *reference* stands in one of :data:`RELATIONSHIPS` to the missing child (the manifest's
``relationship`` column, ``schemas/manifest.v3.json``, which also allows
:data:`PEDIGREE_RELATIONSHIP` for a member of a PED-style family). A *family* (the typed
references of one missing child) is reported under one of :data:`FAMILY_KINDS`
(``schemas/matches.v3.json`` ``family_kind``), derived by :func:`family_kind`. The families of
:data:`PARENT_KINDS` are judged by the paternity rules (GB/T 37223-2018); the others by their
calibration (:mod:`kinship.likelihood.calibration`). Tests pin both schemas' enums to these
tuples.
"""

from __future__ import annotations

from typing import Iterable

__all__ = [
    "RELATIONSHIPS",
    "SINGLE_RELATIONSHIPS",
    "PARENT_RELATIONSHIPS",
    "SIBLING_RELATIONSHIPS",
    "PEDIGREE_RELATIONSHIP",
    "MANIFEST_RELATIONSHIPS",
    "IMPLIED_SEX",
    "SEXES",
    "FAMILY_KINDS",
    "PARENT_KINDS",
    "SINGLE_PARENT_KINDS",
    "family_kind",
]

#: Relationship kinds of a typed reference to the missing child, in canonical template order.
RELATIONSHIPS = (
    "father",
    "mother",
    "full_sibling",
    "paternal_half_sibling",
    "maternal_half_sibling",
    "paternal_grandfather",
    "paternal_grandmother",
    "maternal_grandfather",
    "maternal_grandmother",
    "paternal_aunt_uncle",
    "maternal_aunt_uncle",
)
#: Kinds of which a family has at most one.
SINGLE_RELATIONSHIPS = (
    "father",
    "mother",
    "paternal_grandfather",
    "paternal_grandmother",
    "maternal_grandfather",
    "maternal_grandmother",
)
PARENT_RELATIONSHIPS = ("father", "mother")
#: Sex implied by a relationship kind (the others can be either).
IMPLIED_SEX = {
    "father": "male",
    "mother": "female",
    "paternal_grandfather": "male",
    "paternal_grandmother": "female",
    "maternal_grandfather": "male",
    "maternal_grandmother": "female",
}
SEXES = ("male", "female", "unknown")
SIBLING_RELATIONSHIPS = ("full_sibling", "paternal_half_sibling", "maternal_half_sibling")
#: The manifest relationship of a reference whose family is given as a PED-style pedigree.
PEDIGREE_RELATIONSHIP = "pedigree"
#: Every value of the manifest's ``relationship`` column for a reference.
MANIFEST_RELATIONSHIPS = (*RELATIONSHIPS, PEDIGREE_RELATIONSHIP)

#: Family kinds judged by the paternity rules (trio index for a couple, duo PI for one parent).
PARENT_KINDS = ("couple", "father only", "mother only")
#: Parent kinds with one parent on file: calibrated like families without a parent (their
#: chance hits at national scale), the inconsistent-loci rule kept.
SINGLE_PARENT_KINDS = ("father only", "mother only")
#: Every family kind, in report order (the ``family_kind`` of ``schemas/matches.v3.json``).
FAMILY_KINDS = (*PARENT_KINDS, "siblings", "parent + relatives", "relatives", "pedigree")


def family_kind(relationships: Iterable[str]) -> str:
    """Report label of a family from its references' relationship kinds.

    ``couple``, ``father only``, ``mother only`` (the parentage kinds, :data:`PARENT_KINDS`);
    ``siblings`` (only full/half siblings); ``parent + relatives`` (one or both parents and
    others); ``relatives`` (no parent, not only siblings); ``pedigree`` for a PED-style family.

    Examples
    --------
    >>> family_kind(["father", "mother"]), family_kind(["full_sibling"]), family_kind(["mother", "paternal_grandfather"])
    ('couple', 'siblings', 'parent + relatives')
    """
    kinds = set(relationships)
    if kinds == {"father", "mother"}:
        return "couple"
    if kinds == {"father"}:
        return "father only"
    if kinds == {"mother"}:
        return "mother only"
    if kinds and kinds <= set(SIBLING_RELATIONSHIPS):
        return "siblings"
    if kinds & set(PARENT_RELATIONSHIPS):
        return "parent + relatives"
    if PEDIGREE_RELATIONSHIP in kinds:
        return "pedigree"
    return "relatives"
