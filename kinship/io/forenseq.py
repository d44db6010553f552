"""Reader of ForenSeq UAS reports (Verogen / QIAGEN Universal Analysis Software), xlsx.

Two layouts of the sheet ``Autosomal STRs`` are read, one sample per file:

- the **Sample Report** (UAS 2.x): a genotype summary (``Locus, Genotype, QC Indicators``) in
  columns A-C and, to its right, the allele table (``Locus, Allele Name, Typed Allele?, Reads,
  Bracketed Sequence, Repeat Sequence``);
- the older **Sample Details Report**: the genotype summary, then under ``Coverage
  Information`` the allele table (``Locus, Allele Name, Typed Allele?, Reads, Repeat Sequence``).

The sample is the cell right of ``Sample``. The other sheets (X and Y STRs, SNPs, settings) are
not read: the kinship model uses the autosomal STRs, and Amelogenin for the sex check.

**The lab's typed calls are used, never re-called.** One record per locus of the genotype
summary (``"12,13"``; its line is the sheet's row), the calls as UAS typed them. They are
checked against the allele table: the length alleles marked ``Typed Allele? = Yes`` at the
locus must be exactly the summary's alleles; where they differ the report contradicts itself
and the locus is quarantined (``typed_calls_disagree``), never resolved by us. An empty
genotype cell is no call (the locus is left untyped).

**Sequence isoalleles collapse to their length allele.** UAS names each sequence by its
CE-equivalent length allele (repeat units in the sequenced region, ISFG nomenclature) and the
genotype summary lists length alleles: two different sequences of one length (isoalleles, e.g.
D9S1122 ``12`` with and without the TAGA→TCGA variant) are one length allele here, as the
length-based frequency tables of the matcher count them. Every file read says so:
``records.attrs["notes"]`` holds one note (kind ``sequence_collapsed``) naming the loci where
the typed sequences included isoalleles; the ingest step stores it as a batch warning.

Reference: Verogen, *ForenSeq Universal Analysis Software v2.0 Reference Guide*
(VD2019002); allele naming as UAS reports it, also read by lusSTR (King et al., lusSTR,
https://github.com/bioforensics/lusSTR).
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.io.tidy import reader_problem, records_from_calls

__all__ = ["read_forenseq", "parse_forenseq", "SHEET", "ISOALLELE_NOTE_KIND"]

#: The sheet read.
SHEET = "Autosomal STRs"

#: Kind of the note every file carries: sequence isoalleles collapsed to length alleles.
ISOALLELE_NOTE_KIND = "sequence_collapsed"

_FIX_REPORT = ("re-export the Sample Report from UAS without editing it; if UAS itself shows both, "
               "re-analyse the sample in UAS and send the new report")


def _text(value) -> str:
    """A cell as text: numbers as UAS wrote them (``12``, ``9.3``), never a float's repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, "g")
    return str(value).strip()


def read_forenseq(path: str | Path, *, data: bytes | None = None) -> pd.DataFrame:
    """Read a ForenSeq UAS Sample Report or Sample Details Report (xlsx) into the record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The xlsx file.
    data : bytes, optional
        The file's bytes if already read.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`kinship.io.RECORD_COLUMNS`, one row per locus of the genotype summary
        (``source_line`` = its sheet row); ``attrs["notes"]`` (one ``sequence_collapsed`` note).

    Raises
    ------
    ExportFormatError
        If the file is not an xlsx workbook, has no sheet ``Autosomal STRs``, or the sheet has no
        sample name or no genotype summary.
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    return parse_forenseq(raw, file=path.name)


def _rows(raw: bytes, file: str) -> list[tuple]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ExportFormatError(
            f"export {file} is not an xlsx workbook ({type(exc).__name__}); expected a ForenSeq UAS "
            "Sample Report or Sample Details Report as UAS saves it; fix: export the report from UAS "
            "as .xlsx (not .xls or CSV)"
        ) from None
    try:
        if SHEET not in book.sheetnames:
            raise ExportFormatError(
                f"export {file} has no sheet {SHEET!r} (sheets: {', '.join(book.sheetnames[:8])}); expected "
                "a ForenSeq UAS Sample Report; fix: export the sample's report from UAS"
            )
        return [tuple(r) for r in book[SHEET].iter_rows(values_only=True)]
    finally:
        book.close()


def _find_header(rows: list[tuple], second: str) -> tuple[int, int] | None:
    """(row index, column) of the cell ``Locus`` whose right neighbour is ``second``."""
    for i, row in enumerate(rows):
        for j in range(len(row) - 1):
            if _text(row[j]) == "Locus" and _text(row[j + 1]) == second:
                return i, j
    return None


def _table(rows: list[tuple], header: tuple[int, int]) -> tuple[list[str], list[tuple[int, list]]]:
    """The header names and the (sheet row, cells) of the rows under it, to the first empty locus."""
    i, j = header
    names = [_text(c) for c in rows[i][j:]]
    out = []
    for k in range(i + 1, len(rows)):
        cells = list(rows[k][j:j + len(names)])
        if not _text(cells[0] if cells else None):
            break
        out.append((k + 1, cells))
    return names, out


def parse_forenseq(raw: bytes, *, file: str = "<export>") -> pd.DataFrame:
    """Parse the bytes of a ForenSeq UAS report; see :func:`read_forenseq`.

    Examples
    --------
    >>> parse_forenseq(b"not a workbook", file="r.xlsx")
    Traceback (most recent call last):
    ...
    kinship.errors.ExportFormatError: export r.xlsx is not an xlsx workbook (BadZipFile); ...
    """
    rows = _rows(raw, file)
    sample = next((_text(r[1]) for r in rows if len(r) > 1 and _text(r[0]) == "Sample"), "")
    summary_at = _find_header(rows, "Genotype")
    if not sample or summary_at is None:
        raise ExportFormatError(
            f"export {file} sheet {SHEET!r}: no {'sample name' if not sample else 'genotype summary'} "
            "(a row 'Sample' and a table 'Locus, Genotype'); expected a ForenSeq UAS Sample Report or "
            "Sample Details Report; fix: export the report from UAS without editing it"
        )
    _, summary = _table(rows, summary_at)
    typed: dict[str, set[str]] = defaultdict(set)
    sequences: dict[tuple[str, str], set[str]] = defaultdict(set)
    has_table: set[str] = set()
    alleles_at = _find_header(rows, "Allele Name")
    if alleles_at is not None:
        names, table = _table(rows, alleles_at)
        col = {n: c for c, n in enumerate(names)}
        seq_col = col.get("Repeat Sequence")
        for _, cells in table:
            locus = _text(cells[0])
            has_table.add(locus)
            if "Typed Allele?" in col and _text(cells[col["Typed Allele?"]]).lower() == "yes":
                allele = _text(cells[col["Allele Name"]])
                typed[locus].add(allele)
                if seq_col is not None and seq_col < len(cells):
                    sequences[(locus, allele)].add(_text(cells[seq_col]))
    samples, loci, calls, lines, problems = [], [], [], [], []
    for line, cells in summary:
        locus = _text(cells[0])
        genotype = _text(cells[1]) if len(cells) > 1 else ""
        called = [a.strip() for a in genotype.split(",")] if genotype else []
        problem = ""
        if locus in has_table and set(called) != typed.get(locus, set()):
            problem = reader_problem(
                "typed_calls_disagree",
                f"the genotype summary says {genotype or '(no call)'} but the alleles marked 'Typed Allele? = Yes' "
                f"are {','.join(sorted(typed.get(locus, set()))) or '(none)'}: the report contradicts itself",
                _FIX_REPORT)
        samples.append(sample)
        loci.append(locus)
        calls.append(called)
        lines.append(line)
        problems.append(problem)
    records = records_from_calls(samples, loci, calls, lines, problems)
    iso = sorted({locus for (locus, _), seqs in sequences.items() if len(seqs - {""}) > 1})
    records.attrs["notes"] = [{
        "line": lines[0] if lines else 1, "kind": ISOALLELE_NOTE_KIND,
        "message": (f"{file} (ForenSeq UAS report): sequence isoalleles collapsed to length alleles — each "
                    "typed sequence is stored as its CE length allele, as the length-based frequency tables "
                    "count it" + (f"; typed isoalleles (two sequences of one length) at {', '.join(iso)}"
                                  if iso else "")),
    }]
    return records
