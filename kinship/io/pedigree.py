"""Read PED-style pedigree tables (CSV): one pedigree per ``family_id``.

Columns ``family_id, id, father, mother, sex[, sample_id, is_missing]`` (``lab`` optional):
``father``/``mother`` name members of the same family (empty or ``0`` for a founder), ``sex``
is ``male``/``female``/``unknown`` (or PED's ``1``/``2``/``0``), ``sample_id`` marks a typed
reference, and exactly one member per family has ``is_missing`` true (the missing child).

Every error names the file, the line, the value and the fix; the rules of a valid pedigree
are :func:`kinship.likelihood.pedigree.pedigree_from_table`'s.

Example::

    family_id,id,father,mother,sex,sample_id,is_missing
    F-9,gf,,,male,R-0201,
    F-9,gm,,,female,,
    F-9,dad,gf,gm,male,,
    F-9,mum,,,female,R-0202,
    F-9,child,dad,mum,unknown,,true
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kinship.errors import PedigreeError
from kinship.likelihood.pedigree import Pedigree, pedigree_from_table

__all__ = ["PED_COLUMNS", "read_pedigree_csv"]

PED_COLUMNS = ("family_id", "id", "father", "mother", "sex", "sample_id", "is_missing")
_REQUIRED = ("family_id", "id", "father", "mother", "sex")


def read_pedigree_csv(path: str | Path, *, data: bytes | None = None) -> dict[str, Pedigree]:
    """Pedigrees of a PED-style CSV, keyed by ``family_id`` (in file order).

    Raises
    ------
    PedigreeError
        Missing or unknown columns, a member id used twice in a family, an unknown parent, no
        or several missing children, a cycle: naming line, value and fix.

    Examples
    --------
    >>> text = b"family_id,id,father,mother,sex,sample_id,is_missing\\nF1,f,,,male,R1,\\nF1,m,,,female,,\\nF1,c,f,m,male,,1\\n"
    >>> peds = read_pedigree_csv("inline.csv", data=text)
    >>> peds["F1"].references, peds["F1"].ids[peds["F1"].missing]
    (('R1',), 'c')
    """
    path = Path(path)
    text = (data if data is not None else path.read_bytes()).decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise PedigreeError(
            f"{path.name} line 1: pedigree table lacks columns {missing}; expected columns "
            f"{list(PED_COLUMNS)} (sample_id and is_missing optional, lab allowed)"
        )
    unknown = [c for c in columns if c not in PED_COLUMNS and c != "lab"]
    if unknown:
        raise PedigreeError(
            f"{path.name} line 1: unknown columns {unknown}; expected {list(PED_COLUMNS)}; remove them "
            "(names and contact details are never accepted)"
        )
    rows: dict[str, list[tuple[int, dict]]] = {}
    for line, row in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not row.get("family_id") or not row.get("id"):
            raise PedigreeError(f"{path.name} line {line}: empty family_id or id; give both on every row")
        rows.setdefault(row["family_id"], []).append((line, row))
    out = {}
    for family_id, members in rows.items():
        seen: dict[str, int] = {}
        for line, row in members:
            if row["id"] in seen:
                raise PedigreeError(
                    f"{path.name} line {line}: member id {row['id']!r} of family {family_id} already used "
                    f"on line {seen[row['id']]}; give each member one row"
                )
            seen[row["id"]] = line
        try:
            out[family_id] = pedigree_from_table([r for _, r in members], context=f"{path.name} family {family_id} (lines {members[0][0]}-{members[-1][0]})")
        except PedigreeError as exc:
            raise PedigreeError(str(exc)) from None
    return out
