"""Reader of CODIS Import Files (CMF 3.2 XML, namespace ``urn:CODISImportFile-schema``).

Layout: a header (``HEADERVERSION``, ``MESSAGETYPE``, ``SOURCELAB``...), then ``SPECIMEN``
elements (attribute ``CASEID``; children ``SPECIMENID``, ``SPECIMENCATEGORY`` and repeated
``LOCUS`` with ``LOCUSNAME`` and ``ALLELE/ALLELEVALUE``). One record per (specimen, locus);
its line is the ``LOCUS`` element's line. A UTF-8 BOM is accepted (expat reads it); a
``DOCTYPE`` or entity declaration is refused (no entity expansion, no external fetches).

Who a specimen is comes from its category through a **category map** (default: the data table
``kinship/data/cmf_specimen_categories.csv``; pass ``category_map`` to override): ``reference``
with a relationship (``"Biological Mother"`` → reference/mother), ``candidate``, or
``refuse``. Forensic and offender categories (``"Forensic, Unknown"``, ``"Forensic
Mixture"``, ``"Convicted Offender"``...) are refused as not reference material: their
records are returned but named in ``records.attrs["refused"]``, and the ingest step
quarantines them whole with that reason. A category the map lacks is refused the same way
(fix: add it to the map). ``records.attrs["specimens"]`` lists every specimen with the role,
relationship and implied sex the map gives; without a manifest, :func:`kinship.app.ingest.ingest_batch`
builds the batch manifest from it (the family id is the specimen's ``CASEID``).
"""

from __future__ import annotations

import csv
import re
import xml.parsers.expat
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.io.tidy import records_from_calls

__all__ = ["read_cmf", "parse_cmf", "default_category_map", "SPECIMEN_COLUMNS"]

#: Columns of ``records.attrs["specimens"]``.
SPECIMEN_COLUMNS = ["sample_id", "category", "case_id", "action", "role", "relationship", "sex", "line"]

_TEXT_TAGS = {"SPECIMENID", "SPECIMENCATEGORY", "LOCUSNAME", "ALLELEVALUE"}


def _category_key(name: str) -> str:
    return re.sub(r"[\s,]+", " ", name.strip().lower())


@lru_cache(maxsize=1)
def default_category_map() -> dict[str, dict]:
    """The bundled map ``{category: {"action", "role", "relationship"}}`` (read on first use).

    Examples
    --------
    >>> default_category_map()["Biological Mother"]
    {'action': 'reference', 'role': 'reference', 'relationship': 'mother'}
    >>> default_category_map()["Forensic, Unknown"]["action"]
    'refuse'
    """
    text = resources.files("kinship").joinpath("data/cmf_specimen_categories.csv").read_text(encoding="utf-8")
    return {
        row["specimen_category"]: {"action": row["action"], "role": row["role"], "relationship": row["relationship"]}
        for row in csv.DictReader(text.splitlines())
    }


def _normalise_map(category_map: dict | None) -> dict[str, dict]:
    source = default_category_map() if category_map is None else category_map
    out = {}
    for name, spec in source.items():
        if isinstance(spec, str):
            spec = {"action": "refuse"} if spec == "refuse" else {"action": spec, "role": spec, "relationship": ""}
        elif isinstance(spec, (tuple, list)):
            role, relationship = (list(spec) + [""])[:2]
            spec = {"action": role, "role": role, "relationship": relationship or ""}
        action = spec.get("action") or spec.get("role") or ""
        if action not in ("reference", "candidate", "refuse"):
            raise ExportFormatError(
                f"category map: category {name!r} has action {action!r}; expected 'reference' (with a "
                "relationship), 'candidate' or 'refuse'; fix: correct the category map"
            )
        out[_category_key(name)] = {"action": action, "role": "" if action == "refuse" else action,
                                    "relationship": (spec.get("relationship") or "") if action == "reference" else ""}
    return out


def read_cmf(path: str | Path, *, data: bytes | None = None, category_map: dict | None = None) -> pd.DataFrame:
    """Read a CODIS CMF 3.2 XML file into the common long record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The XML file.
    data : bytes, optional
        The file's bytes if already read.
    category_map : dict, optional
        ``{SPECIMENCATEGORY: spec}``, spec being ``"refuse"``, ``"candidate"``, a
        ``(role, relationship)`` pair or a dict with ``action``/``role``/``relationship``;
        category names match regardless of case, commas and spaces. Default: the bundled
        table.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`kinship.io.RECORD_COLUMNS` (``source_line`` = the ``LOCUS`` line),
        with ``attrs["specimens"]`` (:data:`SPECIMEN_COLUMNS`) and ``attrs["refused"]``
        (``{sample_id: (kind, reason, fix)}``).

    Raises
    ------
    ExportFormatError
        If the file is not well-formed XML, declares a DOCTYPE/entities, or is not a CODIS
        import file.
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    return parse_cmf(raw, file=path.name, category_map=category_map)


_DECLARATION = re.compile(rb"""^(\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
#: Encodings expat reads itself.
_NATIVE = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"}


def _as_utf8(raw: bytes, file: str) -> bytes:
    """The document as UTF-8 bytes. Expat reads UTF-8, ASCII and Latin-1 only; a CMF file that
    declares another encoding (GB18030 or GBK, as Chinese systems write) is decoded with that
    codec and its declaration rewritten, so every character reaches the checks as written.

    Raises
    ------
    ExportFormatError
        If the declared encoding is unknown, does not decode the bytes, or contradicts a
        UTF-8 byte-order mark.
    """
    m = _DECLARATION.match(raw[:512])
    if not m or m.group(2).decode("ascii").lower() in _NATIVE:
        return raw
    declared = m.group(2).decode("ascii")
    if m.group(1):
        raise ExportFormatError(
            f"export {file} line 1: starts with a UTF-8 byte-order mark but declares encoding {declared!r}; "
            "expected one encoding; fix: re-export the file, or remove the mark or the declaration"
        )
    try:
        text = raw.decode(declared)
    except LookupError:
        raise ExportFormatError(
            f"export {file} line 1: declares encoding {declared!r}, which is not a known text encoding; "
            "expected UTF-8, GB18030 or GBK; fix: re-export the file as UTF-8"
        ) from None
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ExportFormatError(
            f"export {file} line {line}: byte {exc.start} is not {declared} text although the file declares it; "
            "expected text in the declared encoding; fix: re-export the file"
        ) from None
    start, end = m.span(2)
    return (raw[:start].decode("ascii") + "UTF-8" + text[len(raw[:end].decode(declared)):]).encode("utf-8")


def parse_cmf(raw: bytes, *, file: str = "<export>", category_map: dict | None = None) -> pd.DataFrame:
    """Parse the bytes of a CODIS CMF file; see :func:`read_cmf`.

    Examples
    --------
    >>> xml_ = (b'<?xml version="1.0"?><CODISImportFile xmlns="urn:CODISImportFile-schema">'
    ...         b'<SPECIMEN CASEID="F-1"><SPECIMENID>R-1</SPECIMENID>'
    ...         b'<SPECIMENCATEGORY>Biological Mother</SPECIMENCATEGORY>'
    ...         b'<LOCUS><LOCUSNAME>TH01</LOCUSNAME><ALLELE><ALLELEVALUE>9.3</ALLELEVALUE></ALLELE>'
    ...         b'<ALLELE><ALLELEVALUE>6</ALLELEVALUE></ALLELE></LOCUS></SPECIMEN></CODISImportFile>')
    >>> recs = parse_cmf(xml_)
    >>> recs[["sample_id", "locus", "allele_1", "allele_2"]].values.tolist()
    [['R-1', 'TH01', '9.3', '6']]
    >>> recs.attrs["specimens"][["role", "relationship", "sex", "case_id"]].values.tolist()
    [['reference', 'mother', 'female', 'F-1']]
    """
    from kinship.io.manifest import manifest_rules

    mapping = _normalise_map(category_map)
    implied_sex = manifest_rules()["implied_sex"]
    raw = _as_utf8(raw, file)
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    state: dict = {"root": None, "specimens": [], "spec": None, "locus": None, "text": None}

    def refuse_dtd(*_args):
        raise ExportFormatError(
            f"export {file} line {parser.CurrentLineNumber}: declares a DOCTYPE or entities; expected a "
            "plain CODIS import file (entity expansion is refused); fix: remove the DOCTYPE"
        )

    def start(name, attrs):
        tag = name.rsplit(" ", 1)[-1]
        line = parser.CurrentLineNumber
        if state["root"] is None:
            state["root"] = tag
        if tag == "SPECIMEN":
            case = next((v for k, v in attrs.items() if k.rsplit(" ", 1)[-1] == "CASEID"), "")
            state["spec"] = {"line": line, "case_id": case.strip(), "id": "", "category": "", "loci": []}
        elif tag == "LOCUS" and state["spec"] is not None:
            state["locus"] = {"line": line, "name": "", "alleles": []}
        if tag in _TEXT_TAGS:
            state["text"] = []

    def end(name):
        tag = name.rsplit(" ", 1)[-1]
        text = "".join(state["text"]).strip() if state["text"] is not None else ""
        spec, locus = state["spec"], state["locus"]
        if tag in _TEXT_TAGS:
            state["text"] = None
        if tag == "SPECIMENID" and spec is not None:
            spec["id"] = text
        elif tag == "SPECIMENCATEGORY" and spec is not None:
            spec["category"] = text
        elif tag == "LOCUSNAME" and locus is not None:
            locus["name"] = text
        elif tag == "ALLELEVALUE" and locus is not None:
            locus["alleles"].append(text)
        elif tag == "LOCUS" and spec is not None and locus is not None:
            spec["loci"].append(locus)
            state["locus"] = None
        elif tag == "SPECIMEN" and spec is not None:
            state["specimens"].append(spec)
            state["spec"] = None

    def chars(data):
        if state["text"] is not None:
            state["text"].append(data)

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(raw, True)
    except xml.parsers.expat.ExpatError as exc:
        raise ExportFormatError(
            f"export {file} line {exc.lineno}: not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)}); "
            "expected a CODIS CMF 3.2 import file; fix: re-export the file from CODIS"
        ) from None
    if state["root"] != "CODISImportFile":
        raise ExportFormatError(
            f"export {file} line 1: root element {state['root']!r}; expected 'CODISImportFile' "
            "(CMF 3.2); fix: pass a CODIS import file, or choose the right fmt"
        )
    samples, loci, calls, lines, specimens = [], [], [], [], []
    refused: dict[str, tuple[str, str, str]] = {}
    for spec in state["specimens"]:
        sid = spec["id"]
        rule = mapping.get(_category_key(spec["category"]))
        if rule is None:
            refused[sid] = (
                "unknown_category",
                f"specimen {sid!r} ({file} line {spec['line']}) has category {spec['category']!r}, which the "
                f"category map does not list; known: {sorted(mapping)}",
                "add the category to the CODIS category map (reader_options={'category_map': ...}) "
                "with its role and relationship, or 'refuse'",
            )
            action, role, relationship = "unknown", "", ""
        else:
            action, role, relationship = rule["action"], rule["role"], rule["relationship"]
            if action == "refuse":
                refused[sid] = (
                    "not_reference_material",
                    f"specimen {sid!r} ({file} line {spec['line']}) has category {spec['category']!r}: "
                    "forensic/offender material, not a reference or a candidate for family matching",
                    "submit reference samples (typed relatives) and candidates only; a forensic profile "
                    "needs no action here",
                )
        specimens.append({
            "sample_id": sid, "category": spec["category"], "case_id": spec["case_id"], "action": action,
            "role": role, "relationship": relationship, "sex": implied_sex.get(relationship, ""),
            "line": spec["line"],
        })
        for locus in spec["loci"]:
            samples.append(sid)
            loci.append(locus["name"])
            calls.append(locus["alleles"])
            lines.append(locus["line"])
    records = records_from_calls(samples, loci, calls, lines)
    records.attrs["specimens"] = pd.DataFrame(specimens, columns=SPECIMEN_COLUMNS)
    records.attrs["refused"] = refused
    return records
