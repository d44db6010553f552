"""Read and validate a batch manifest (``schemas/manifest.v5.json``; v2 added the relationship kinds
of kinship.genetics.relationships.RELATIONSHIPS to v1's father | mother; v3 adds ``pedigree``: a reference
placed by its family's PED-style pedigree table, :func:`kinship.app.ingest.ingest_pedigrees`; v4 adds
the optional ``export_name`` column, the name the export uses for a sample (a VCF sample name), which
maps export rows to the sample id and is never stored, and checks ``lab`` and ``kit`` against the
store's catalogues when they are given; v5 adds the optional ``n_missing`` column of reference rows,
the number of missing children of the family, a whole number >= 1. A v4 file is a valid v5 file).

The manifest says who each sample of an export is: ``role`` (reference or candidate), the
family of a reference (``family_id``, scoped by ``lab``) and its ``relationship`` to the
missing child, and optionally ``sex``, ``lab``, ``kit`` and the family's ``n_missing``.
Allowed roles, relationships and sexes, the id and ``n_missing`` patterns and the column lists
are read from the schema file, never repeated here, so adding a relationship kind is a one-line
schema change.

Validation collects every row error instead of stopping at the first. A bad row does not
abort the batch: :func:`read_manifest` returns the valid entries and a list of
:class:`ManifestRowError`, and the ingest step quarantines the samples named by bad rows.
Only file-level problems (unreadable file, missing or unknown columns) raise
:class:`~kinship.errors.ManifestError` at once. Unknown columns are refused on purpose: a
stray ``name`` or ``phone`` column must never reach the store.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from collections.abc import Collection, Mapping
from pathlib import Path

import pandas as pd

from kinship.errors import ManifestError
from kinship.io.tidy import DETECT, decode_text
from schemas import load_schema

__all__ = [
    "MANIFEST_SCHEMA",
    "MANIFEST_COLUMNS",
    "ManifestRowError",
    "Manifest",
    "manifest_rules",
    "read_manifest",
    "parse_manifest",
]

#: Name of the manifest schema file under ``schemas/`` (version 5: column ``n_missing``).
MANIFEST_SCHEMA = "manifest.v5"

#: Columns of the validated manifest table returned in :attr:`Manifest.entries`.
MANIFEST_COLUMNS = ["sample_id", "role", "family_id", "relationship", "sex", "lab", "kit", "n_missing", "source_line"]


@dataclass(frozen=True)
class ManifestRowError:
    """One invalid manifest cell (or row), with everything needed to fix it.

    Attributes
    ----------
    file : str
        Manifest file name.
    line : int
        1-based line number in the file (the header is line 1).
    sample_id : str
        The row's sample id as written (may be empty).
    column : str
        Offending column.
    value : str
        Offending value as written.
    expected : str
        What the schema allows.
    fix : str
        How to correct the row.
    """

    file: str
    line: int
    sample_id: str
    column: str
    value: str
    expected: str
    fix: str

    @property
    def message(self) -> str:
        """Human-readable message naming file, line, sample, column, value, expected and fix."""
        return (
            f"manifest {self.file} line {self.line} (sample {self.sample_id!r}): column "
            f"{self.column!r} has value {self.value!r}; expected {self.expected}; fix: {self.fix}"
        )

    def __str__(self) -> str:
        return self.message


@dataclass
class Manifest:
    """A read manifest: valid entries plus the row errors found.

    Attributes
    ----------
    file : str
        Manifest file name (for messages).
    entries : pandas.DataFrame
        Valid rows, columns :data:`MANIFEST_COLUMNS`; every column is ``str`` except
        ``source_line`` (int) and ``n_missing`` (nullable ``Int64``: the family's declared number
        of missing children, ``<NA>`` where the cell is empty and for candidates; what an empty
        cell means, 1 or the stored value, the ingestion decides:
        :func:`kinship.app.ingest.plan.family_rows`). ``family_id`` and ``relationship`` are ``""`` for candidates;
        ``sex`` is never empty (``"unknown"`` by default); ``lab``/``kit`` are filled from the
        batch defaults. Rows of samples named in :attr:`errors` are not in it.
    errors : list of ManifestRowError
        Every row error, in file order.
    export_names : dict of str to str
        ``{export_name: sample_id}`` of the rows that give an ``export_name`` (v4), valid or not
        (an export row of that name is a row of that sample); names given to two samples are
        left out (and are row errors).
    """

    file: str
    entries: pd.DataFrame
    errors: list[ManifestRowError] = field(default_factory=list)
    export_names: dict[str, str] = field(default_factory=dict)

    def export_sample_id(self, name: str) -> str:
        """The sample id of an export's sample name: its ``export_name`` mapping, else the name itself.

        Examples
        --------
        >>> m = Manifest("m.csv", pd.DataFrame(columns=MANIFEST_COLUMNS), export_names={"Zhang 1": "C-1"})
        >>> m.export_sample_id("Zhang 1"), m.export_sample_id("C-2")
        ('C-1', 'C-2')
        """
        return self.export_names.get(name, name)

    @property
    def bad_sample_ids(self) -> set[str]:
        """Sample ids named by at least one row error (their rows are left out of ``entries``)."""
        return {e.sample_id for e in self.errors if e.sample_id}

    def errors_for(self, sample_id: str) -> list[ManifestRowError]:
        """Row errors of one sample."""
        return [e for e in self.errors if e.sample_id == sample_id]

    def raise_errors(self) -> None:
        """Raise one :class:`~kinship.errors.ManifestError` listing every row error, if any."""
        if self.errors:
            listing = "\n  ".join(e.message for e in self.errors)
            raise ManifestError(f"{len(self.errors)} invalid manifest row value(s):\n  {listing}")

    def sample_ids(self) -> set[str]:
        """Every sample id of the manifest, valid or not."""
        return set(self.entries["sample_id"]) | self.bad_sample_ids


def manifest_rules(schema: dict | None = None) -> dict:
    """The validation rules of the manifest, read from its JSON schema.

    Parameters
    ----------
    schema : dict, optional
        Parsed schema; the bundled ``schemas/manifest.v5.json`` by default.

    Returns
    -------
    dict
        ``columns``, ``required_columns`` (lists), ``roles``, ``relationships``, ``sexes``
        (lists), ``default_sex`` (str), ``id_pattern`` (compiled regex), ``max_length``
        (int), ``implied_sex`` (dict relationship -> sex), ``n_missing_pattern`` (compiled
        regex) and ``max_n_missing`` (int; ``None`` for a schema before v5, which has no such column).

    Examples
    --------
    >>> rules = manifest_rules()
    >>> rules["roles"]
    ['reference', 'candidate']
    >>> "father" in rules["relationships"], rules["default_sex"]
    (True, 'unknown')
    """
    schema = schema if schema is not None else load_schema(MANIFEST_SCHEMA)
    props = schema["properties"]
    return {
        "columns": list(schema["x-columns"]),
        "required_columns": list(schema["x-required-columns"]),
        "roles": list(props["role"]["enum"]),
        "relationships": list(props["relationship"]["enum"]),
        "sexes": list(props["sex"]["enum"]),
        "default_sex": props["sex"]["default"],
        "id_pattern": re.compile(props["sample_id"]["pattern"]),
        "max_length": int(props["sample_id"]["maxLength"]),
        "implied_sex": dict(schema.get("x-implied-sex", {})),
        "n_missing_pattern": re.compile(props["n_missing"]["pattern"]) if "n_missing" in props else None,
        "max_n_missing": int(schema["x-max-n-missing"]) if "x-max-n-missing" in schema else None,
    }


def read_manifest(
    path: str | Path,
    *,
    lab: str,
    kit: str | None = None,
    data: bytes | None = None,
    strict: bool = False,
    labs: Collection[str] | None = None,
    kits: Collection[str] | None = None,
    encoding: str | None = DETECT,
    lab_names: Mapping[str, str] | None = None,
) -> Manifest:
    """Read a manifest CSV and validate every row against ``schemas/manifest.v5.json``.

    Parameters
    ----------
    path : str or pathlib.Path
        The manifest file (UTF-8 or GB18030/GBK — what Chinese Excel saves as "CSV" —, BOM
        and CRLF accepted).
    lab : str
        Lab of the batch (``--lab``); fills empty ``lab`` cells, and a row naming another lab is
        a row error (one batch comes from one lab). Family ids are scoped by lab.
    kit : str, optional
        Kit of the batch; fills empty ``kit`` cells (``""`` if neither is given).
    data : bytes, optional
        The file's bytes if already read (so a hash and the parse see the same bytes).
    strict : bool, default False
        Raise :class:`~kinship.errors.ManifestError` listing all row errors instead of
        returning them.
    labs : collection of str, optional
        Registered lab codes (:meth:`kinship.store.Store.lab_codes`): a row whose lab is not
        one of them is a row error. ``None``: not checked.
    kits : collection of str, optional
        Kit names of the catalogue (:meth:`kinship.store.Store.kit_names`): a row whose kit is
        not one of them (ignoring case) is a row error, a known kit is written as the catalogue
        spells it. ``None``: not checked.
    encoding : str, default "detect"
        ``"detect"``: UTF-8 (BOM or not) strictly, else GB18030 strictly; or a declared one of
        :data:`kinship.io.tidy.ENCODINGS` (:func:`kinship.io.tidy.decode_text`).
    lab_names : mapping of str to str, optional
        Registered display name -> lab code (:meth:`kinship.store.Store.labs`): a ``lab`` cell
        holding a lab's registered name (e.g. ``北京市公安局``) is read as that lab's code; the
        entries store the code only.

    Returns
    -------
    Manifest
        Valid entries and the row errors.

    Raises
    ------
    ManifestError
        If the file can not be decoded, lacks a required column, has an unknown column, has
        no rows, or (with ``strict=True``) has any invalid row.
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    manifest = parse_manifest(raw, file=path.name, lab=lab, kit=kit, labs=labs, kits=kits, encoding=encoding,
                              lab_names=lab_names)
    if strict:
        manifest.raise_errors()
    return manifest


def parse_manifest(raw: bytes, *, file: str, lab: str, kit: str | None = None,
                   labs: Collection[str] | None = None, kits: Collection[str] | None = None,
                   encoding: str | None = DETECT, lab_names: Mapping[str, str] | None = None) -> Manifest:
    """Validate manifest bytes; see :func:`read_manifest` (which reads the file).

    Examples
    --------
    >>> csv = (b"sample_id,role,family_id,relationship,sex\\n"
    ...        b"R1,reference,F1,father,male\\n"
    ...        b"C1,candidate,,,\\n"
    ...        b"R2,reference,,mother,female\\n")
    >>> m = parse_manifest(csv, file="m.csv", lab="LAB1")
    >>> list(m.entries["sample_id"]), list(m.entries["sex"])
    (['R1', 'C1'], ['male', 'unknown'])
    >>> print(m.errors[0])  # doctest: +ELLIPSIS
    manifest m.csv line 4 (sample 'R2'): column 'family_id' has value ''; expected a family id ...
    """
    rules = manifest_rules()
    text = decode_text(raw, file, what="manifest", error=ManifestError, expected="a UTF-8 CSV",
                       fix="save the manifest as 'CSV UTF-8' (or GB18030), or declare its encoding",
                       encoding=encoding)
    try:
        table = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            quoting=0,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ManifestError(
            f"manifest {file} is not a readable CSV ({exc}); expected a comma-separated file "
            f"with header {','.join(rules['columns'])}; fix: re-export the manifest as CSV"
        ) from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in rules["required_columns"] if c not in table.columns]
    if missing:
        raise ManifestError(
            f"manifest {file} line 1: missing column(s) {missing}; found {list(table.columns)}; "
            f"expected columns {rules['columns']} (required: {rules['required_columns']}); "
            "fix: add the missing column(s) to the header"
        )
    unknown = [c for c in table.columns if c not in rules["columns"]]
    if unknown:
        raise ManifestError(
            f"manifest {file} line 1: unknown column(s) {unknown}; expected only {rules['columns']}; "
            "fix: remove the column(s) — the store keeps pseudonymous ids only, never names or "
            "contact details"
        )
    for column in rules["columns"]:
        if column not in table.columns:
            table[column] = ""
    table = table[rules["columns"]].apply(lambda s: s.str.strip())
    # Line numbers: header is line 1, row i of the frame is line i + 2 (blank lines are kept).
    table["source_line"] = range(2, len(table) + 2)
    table = table[(table[rules["columns"]] != "").any(axis=1)]
    if table.empty:
        raise ManifestError(
            f"manifest {file} has a header but no rows; expected one row per typed sample; "
            "fix: list the batch's samples in the manifest"
        )
    errors: list[ManifestRowError] = []
    rows = []
    records = table.to_dict("records")
    kit_names = None if kits is None else {_kit_key(k): k for k in kits}
    for rec in records:
        if lab_names and rec["lab"] in lab_names:
            rec["lab"] = lab_names[rec["lab"]]  # a registered display name: its code
        row_errors = _check_row(rec, rules, file)
        if not row_errors:
            row_errors = _check_catalogues(rec, file, lab=lab, kit=kit, labs=labs, kit_names=kit_names)
        errors.extend(row_errors)
        if not row_errors:
            rec["sex"] = rec["sex"] or rules["default_sex"]
            rec["lab"] = rec["lab"] or lab
            rec["kit"] = rec["kit"] or (kit or "")
            if kit_names is not None and rec["kit"]:
                rec["kit"] = kit_names[_kit_key(rec["kit"])]
            rec["n_missing"] = int(rec["n_missing"]) if rec["n_missing"] else None
            rows.append(rec)
    entries = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    entries["n_missing"] = entries["n_missing"].astype("Int64")
    errors.extend(_check_consistency(entries, rules, file))
    export_names, name_errors = _export_names(records, file)
    errors.extend(name_errors)
    bad = {e.sample_id for e in errors if e.sample_id}
    entries = entries[~entries["sample_id"].isin(bad)].reset_index(drop=True)
    entries["source_line"] = entries["source_line"].astype("int64")
    return Manifest(file=file, entries=entries, errors=errors, export_names=export_names)


def _kit_key(name: str) -> str:
    """A kit name as the catalogue look-up compares it: case and runs of spaces ignored."""
    return " ".join(name.split()).casefold()


def _check_catalogues(rec: dict, file: str, *, lab: str, kit: str | None, labs: Collection[str] | None,
                      kit_names: dict[str, str] | None) -> list[ManifestRowError]:
    """A row's lab must be the batch's lab (``--lab``), a registered lab, and its kit a kit of
    the catalogue (when given)."""
    out = []
    sid, line = rec["sample_id"], rec["source_line"]
    if labs is not None and rec["lab"] and rec["lab"] not in labs:
        out.append(ManifestRowError(
            file, line, sid, "lab", rec["lab"], f"a registered lab code (registered: {sorted(labs)})",
            "correct the lab code, or register the lab first: scripts/flow labs register CODE --name NAME"))
    elif rec["lab"] and rec["lab"] != lab:  # one batch comes from one lab: --lab is never silently overridden
        out.append(ManifestRowError(
            file, line, sid, "lab", rec["lab"],
            f"the batch's lab {lab!r} (--lab), or empty: one batch comes from one lab",
            "correct the manifest's lab column or --lab"))
    if kit_names is not None and rec["kit"] and _kit_key(rec["kit"]) not in kit_names:
        out.append(ManifestRowError(
            file, line, sid, "kit", rec["kit"], f"a kit of the catalogue (known: {sorted(kit_names.values())})",
            "correct the kit name, or register the kit with its loci first: "
            "scripts/flow kits register NAME --loci LOCUS,LOCUS,..."))
    return out


def _export_names(records: list[dict], file: str) -> tuple[dict[str, str], list[ManifestRowError]]:
    """``{export_name: sample_id}`` of the rows that give one, and the rows that give it ambiguously."""
    by_name: dict[str, set[str]] = {}
    by_sample: dict[str, set[str]] = {}
    first_line: dict[str, int] = {}
    for rec in records:
        name, sid = rec.get("export_name", ""), rec["sample_id"]
        if not name or not sid or name == sid:
            continue
        by_name.setdefault(name, set()).add(sid)
        by_sample.setdefault(sid, set()).add(name)
        first_line.setdefault(name, int(rec["source_line"]))
    ids = {rec["sample_id"] for rec in records}
    errors: list[ManifestRowError] = []
    out: dict[str, str] = {}
    for name, sids in by_name.items():
        clash = sorted(sids) if len(sids) > 1 else []
        if name in ids:
            clash = sorted(sids | {name})
        if clash:
            for sid in sorted(sids):
                errors.append(ManifestRowError(
                    file, first_line[name], sid, "export_name", name,
                    f"an export name that names one sample only (it names or is the id of {len(clash)} samples)",
                    "give each sample its own export_name, different from every sample_id"))
            continue
        out[name] = next(iter(sids))
    for sid, names in sorted(by_sample.items()):
        if len(names) > 1:
            errors.append(ManifestRowError(
                file, min(first_line[n] for n in names), sid, "export_name", sorted(names)[0],
                f"one export_name per sample (this sample has {len(names)})",
                "give the sample one export_name on every row"))
            for name in names:
                out.pop(name, None)
    return out, errors


_NON_ASCII_FIX = ("give the pseudonymous ASCII id the lab's system assigns (letters, digits and ._:/+-), "
                  "never a name: the store keeps pseudonymous ids only; a lab's Chinese name is its "
                  "display name in the lab catalogue")


def _check_row(rec: dict, rules: dict, file: str) -> list[ManifestRowError]:
    sid, line = rec["sample_id"], rec["source_line"]

    def err(column, expected, fix):
        return ManifestRowError(file, line, sid, column, rec[column], expected, fix)

    out = []
    pattern, max_len = rules["id_pattern"], rules["max_length"]
    id_expected = (
        f"a pseudonymous id matching {pattern.pattern} (at most {max_len} characters)"
    )
    if sid and not sid.isascii():
        out.append(err("sample_id", f"{id_expected}; this one holds non-ASCII characters (a Chinese id "
                       "or a name)", _NON_ASCII_FIX))
    elif not sid or not pattern.match(sid) or len(sid) > max_len:
        out.append(err("sample_id", id_expected,
                       "write the sample id exactly as in the export's sample-name column"))
    if rec["role"] not in rules["roles"]:
        out.append(err("role", f"one of {rules['roles']}", "set role to reference for a typed "
                       "relative, candidate for a rescued child"))
        return out
    if rec["role"] == "reference":
        fid = rec["family_id"]
        if fid and not fid.isascii():
            out.append(err("family_id", f"a family id for a reference ({id_expected}); this one holds "
                           "non-ASCII characters (a Chinese id or a name)", _NON_ASCII_FIX))
        elif not fid or not pattern.match(fid) or len(fid) > max_len:
            out.append(err("family_id", f"a family id for a reference ({id_expected})",
                           "give the family id of the missing child this reference belongs to"))
        if rec["relationship"] not in rules["relationships"]:
            out.append(err("relationship", f"one of {rules['relationships']} for a reference",
                           "give the reference's relationship to the missing child"))
    else:
        for column in ("family_id", "relationship"):
            if rec[column]:
                out.append(err(column, "empty for a candidate",
                               "leave family_id and relationship empty for candidates, or set "
                               "role to reference if this is a typed relative"))
    if rec["sex"] and rec["sex"] not in rules["sexes"]:
        out.append(err("sex", f"one of {rules['sexes']} or empty",
                       "write male, female or unknown"))
    implied = rules["implied_sex"].get(rec["relationship"])
    if implied and rec["sex"] in rules["sexes"] and rec["sex"] not in (implied, rules["default_sex"]):
        out.append(err("sex", f"{implied!r} (or {rules['default_sex']!r}) for a {rec['relationship']}",
                       "correct the sex or the relationship"))
    if rec["lab"] and not rec["lab"].isascii():
        out.append(err("lab", f"a lab code matching {pattern.pattern}, not the lab's name",
                       "write the lab's short ASCII code (e.g. BJ-PSB) or leave the cell empty for the "
                       "batch's lab; the Chinese name belongs in the lab catalogue (scripts/flow labs register "
                       "CODE --name NAME)"))
    elif rec["lab"] and (not pattern.match(rec["lab"]) or len(rec["lab"]) > max_len):
        out.append(err("lab", f"a lab code matching {pattern.pattern}", "use the lab's short code"))
    out.extend(_check_n_missing(rec, rules, err))
    return out


def _check_n_missing(rec: dict, rules: dict, err) -> list[ManifestRowError]:
    """``n_missing``: empty, or on a reference row a whole number 1 .. ``max_n_missing`` in digits."""
    value = rec.get("n_missing", "")
    if not value:
        return []
    if rec["role"] != "reference":
        return [err("n_missing", "empty for a candidate (n_missing counts a family's missing children)",
                    "leave n_missing empty on candidate rows")]
    top = rules["max_n_missing"]
    if not rules["n_missing_pattern"].match(value) or int(value) > top:
        return [err("n_missing", f"the number of missing children of the family, a whole number from 1 to {top} "
                    "in digits (empty = 1)",
                    "write how many children of the family are missing, e.g. 1, or 2 when two children were "
                    "taken; leave it empty for 1")]
    return []


def _check_consistency(entries: pd.DataFrame, rules: dict, file: str) -> list[ManifestRowError]:
    """Errors across rows: a sample listed twice inconsistently, a family with two fathers."""
    out: list[ManifestRowError] = []
    by_sample: dict[str, list[dict]] = {}
    for rec in entries.to_dict("records"):
        by_sample.setdefault(rec["sample_id"], []).append(rec)
    for sid in sorted(by_sample):
        rows = by_sample[sid]
        first = rows[0]
        for column in ("role", "sex", "lab", "kit"):
            odd = next((r for r in rows if r[column] != first[column]), None)
            if odd is not None:
                out.append(ManifestRowError(
                    file, int(odd["source_line"]), sid, column, odd[column],
                    f"the same {column} on every row of the sample (line {int(first['source_line'])} "
                    f"has {first[column]!r})",
                    f"give sample {sid} one {column}"))
        if first["role"] == "candidate" and len(rows) > 1:
            out.append(ManifestRowError(
                file, int(rows[1]["source_line"]), sid, "sample_id", sid,
                "one row per candidate", "remove the duplicate row"))
        if first["role"] == "reference":
            seen: set[tuple[str, str]] = set()
            for rec in rows:
                key = (rec["lab"], rec["family_id"])
                if key in seen:
                    out.append(ManifestRowError(
                        file, int(rec["source_line"]), sid, "family_id", rec["family_id"],
                        "one row per (sample, family)", "remove the duplicate row"))
                seen.add(key)
    out.extend(_check_family_n_missing(entries, file))
    slots: dict[tuple[str, str, str], dict[str, dict]] = {}
    for sid in sorted(by_sample):
        for rec in by_sample[sid]:
            # Relationships that imply a sex (the parents) occur once per family.
            if rec["role"] == "reference" and rec["relationship"] in rules["implied_sex"]:
                key = (rec["lab"], rec["family_id"], rec["relationship"])
                slots.setdefault(key, {}).setdefault(sid, rec)
    for (lab, fid, rel), holders in sorted(slots.items()):
        if len(holders) > 1:
            for rec in holders.values():
                out.append(ManifestRowError(
                    file, int(rec["source_line"]), rec["sample_id"], "relationship", rel,
                    f"at most one {rel} in family {fid!r} of lab {lab!r} (found {sorted(holders)})",
                    "correct the relationship or the family id"))
    return out


def _check_family_n_missing(entries: pd.DataFrame, file: str) -> list[ManifestRowError]:
    """The rows of one family that give ``n_missing`` give the same value: else each of them is a row error."""
    given: dict[tuple[str, str], list[dict]] = {}
    for rec in entries.to_dict("records"):
        if rec["role"] == "reference" and not pd.isna(rec["n_missing"]):
            given.setdefault((rec["lab"], rec["family_id"]), []).append(rec)
    out: list[ManifestRowError] = []
    for (lab, fid), rows in sorted(given.items()):
        values = sorted({int(r["n_missing"]) for r in rows})
        if len(values) < 2:
            continue
        for rec in rows:
            out.append(ManifestRowError(
                file, int(rec["source_line"]), rec["sample_id"], "n_missing", str(int(rec["n_missing"])),
                f"one n_missing for family {fid!r} of lab {lab!r} (its rows give {values})",
                "give the family's number of missing children once, the same on every row of the family "
                "(or only on one row)"))
    return out
