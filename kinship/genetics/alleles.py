"""Allele labels in ISFG nomenclature.

An allele is a *string*: ``"9"``, ``"9.3"``, ``"30.2"``. The number before the dot is the
count of complete repeat units, the digit after it the number of bases of an incomplete unit
(a microvariant). ``9``, ``9.1`` and ``9.3`` are three distinct alleles and are never
converted to floats, so ``9.3`` can not turn into ``9.300000190734863``.

Labels of the sex marker Amelogenin (``"X"``, ``"Y"``) are kept as they are. The off-ladder
call ``"OL"`` is not an allele: :func:`parse_allele` returns ``None`` for it and the reader
marks the locus untyped for that person with a warning.

Two reserved labels are not observed alleles:

* :data:`UNKNOWN_ALLELE` (``"?"``) is the second allele of a *partial* genotype, one allele
  known and the other not (a lab's ``12/-`` or ``12/?``, a half-called VCF genotype). A profile
  holds it as ``("12", "?")``: always second, never sorted in. It enters every likelihood as
  "this allele and any other" (the sum over the unknown allele), and it is never an allele of a
  frequency table.
* :data:`SILENT_ALLELE` (``"silent"``) is the null allele of a frequency table (Familias's
  name): an allele that does not amplify, so that an apparent homozygote ``a/a`` may be
  ``a/silent``. It appears only in frequency tables, never in a profile.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kinship.errors import AlleleError

__all__ = [
    "MAX_LABEL_CHARS",
    "UNKNOWN_ALLELE",
    "SILENT_ALLELE",
    "OFF_LADDER",
    "AlleleValue",
    "parse_allele",
    "normalise_allele",
    "allele_sort_key",
    "allele_value",
    "sort_alleles",
]

#: Longest allele label accepted (the store's column width); no ISFG name is near it.
MAX_LABEL_CHARS = 16
#: Second allele of a partial genotype: one allele known, the other unknown.
UNKNOWN_ALLELE = "?"
#: Label of the null (silent) allele in a frequency table (Familias's name).
SILENT_ALLELE = "silent"
#: Calls that mean "a peak outside the allelic ladder": the locus is untyped.
OFF_LADDER = frozenset({"OL", "O.L.", "OFF-LADDER", "OFFLADDER"})

_NUMERIC = re.compile(r"^(\d+)(?:\.(\d))?$")
# A whole number written by a spreadsheet as "9.0": not a microvariant in ISFG naming.
_TRAILING_ZERO = re.compile(r"^(\d+)\.0+$")
_LABEL = re.compile(r"^[XY]$")


class AlleleValue(NamedTuple):
    """Exact numeric reading of a numeric allele: ``repeats`` complete units plus ``bases``.

    ``"9.3"`` is ``AlleleValue(9, 3)``. Arithmetic on repeat numbers (stepwise mutation) uses
    ``repeats`` and compares ``bases`` for equality, so it is exact.
    """

    repeats: int
    bases: int


def parse_allele(raw: object, *, context: str = "") -> str | None:
    """Return the canonical ISFG label of one allele call, ``None`` for an off-ladder call.

    Parameters
    ----------
    raw : str
        The call as written in a file. Surrounding spaces are ignored. Numbers must already
        be strings; a float is refused because its text may not be the lab's call.
    context : str, optional
        Where the value came from (file, line, sample, locus), quoted in the error.

    Returns
    -------
    str or None
        ``"9.3"``, ``"12"``, ``"X"``..., or ``None`` for ``"OL"``.

    Raises
    ------
    AlleleError
        If the value is empty, a float, longer than :data:`MAX_LABEL_CHARS`, or not of the form
        ``N``, ``N.d``, ``X`` or ``Y``.

    Examples
    --------
    >>> parse_allele(" 9.3 ")
    '9.3'
    >>> parse_allele("09")
    '9'
    >>> parse_allele("12.0")
    '12'
    >>> parse_allele("OL") is None
    True
    """
    where = f" ({context})" if context else ""
    if not isinstance(raw, str):
        raise AlleleError(
            f"allele {raw!r}{where} is a {type(raw).__name__}, expected a string such as '9.3'; "
            "read the file with every allele column as text (dtype=str)"
        )
    text = raw.strip()
    if len(text) > MAX_LABEL_CHARS:
        raise AlleleError(
            f"allele of {len(text):,} characters ({text[:12]!r}...){where} is not an allele name; expected at most "
            f"{MAX_LABEL_CHARS} characters, such as '9.3'; correct the call in the export or re-analyse the sample"
        )
    if text.upper() in OFF_LADDER:
        return None
    m = _NUMERIC.match(text)
    if m:
        repeats, bases = m.groups()
        label = str(int(repeats))
        if bases is not None and bases != "0":
            label += "." + bases
        return label
    m = _TRAILING_ZERO.match(text)
    if m:
        return str(int(m.group(1)))
    if _LABEL.match(text.upper()):
        return text.upper()
    raise AlleleError(
        f"allele {raw!r}{where} is not ISFG nomenclature; expected a repeat number such as "
        "'12', a microvariant such as '9.3' (one digit after the dot), 'X'/'Y' at Amelogenin, "
        "or 'OL' for an off-ladder call; correct the call in the export or re-analyse the sample"
    )


def normalise_allele(raw: str) -> str:
    """Like :func:`parse_allele` but an off-ladder call is an error (for frequency tables).

    Examples
    --------
    >>> normalise_allele("30.2")
    '30.2'
    """
    label = parse_allele(raw)
    if label is None:
        raise AlleleError(f"allele {raw!r} is an off-ladder call, expected an allele label")
    return label


def allele_value(label: str) -> AlleleValue | None:
    """Exact numeric value of a canonical numeric label, ``None`` for ``"X"``/``"Y"``.

    Examples
    --------
    >>> allele_value("9.3")
    AlleleValue(repeats=9, bases=3)
    >>> allele_value("X") is None
    True
    """
    m = _NUMERIC.match(label)
    if not m:
        return None
    repeats, bases = m.groups()
    return AlleleValue(int(repeats), int(bases) if bases else 0)


def allele_sort_key(label: str) -> tuple:
    """Sort key: numeric alleles by value (9 < 9.1 < 9.3 < 10), then other labels.

    Examples
    --------
    >>> sorted(["10", "9.3", "9", "X"], key=allele_sort_key)
    ['9', '9.3', '10', 'X']
    """
    value = allele_value(label)
    if value is None:
        return (1, 0, 0, label)
    return (0, value.repeats, value.bases, "")


def sort_alleles(labels) -> list[str]:
    """Distinct labels in canonical order (see :func:`allele_sort_key`)."""
    return sorted(set(labels), key=allele_sort_key)
