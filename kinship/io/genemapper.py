"""Reader of GeneMapper ID-X genotype-table exports, long and wide.

**Long layout** (the Genotypes table): one row per (sample, locus); a sample column
(``Sample Name`` or ``Sample.Name``), a locus column (``Marker``) and allele columns
``Allele 1`` .. ``Allele n`` (or ``Allele.1`` ..). Any other column (``Dye``, ``Size n``,
``Height n``, ``Data.Point n``, ``Remark``, ``Panel``, ``Sample File``...) is ignored.

**Wide layout** (a Samples-table export, e.g. for LRmix/SmartRank): one row per sample, a
``Sample Name`` column and one column per locus whose cell holds the calls comma-joined
(``"12, 13, , "``); ``Height``/``Size``/``Sample File`` columns are ignored. Every other
column is taken as a locus (an unknown name is quarantined with a suggestion, never dropped).

Both: tab- or comma-separated (sniffed from the header line), fields quoted or not, UTF-8
with or without BOM, LF/CRLF/CR line ends. Every cell is read as text, so ``9.3`` stays
``"9.3"``; ``NA`` and empty cells are no call. Header spelling is matched regardless of
case, spaces, dots and underscores.

The reader does not interpret calls: homozygote conventions (``12, 12`` or ``12, <blank>``),
a declared unknown second allele of a partial genotype (``12, ?`` or ``12, -``), off-ladder
``OL`` calls, invalid labels and extra peaks are passed on as written and decided by
:mod:`kinship.app.ingest` (:mod:`kinship.app.ingest.row_rules`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.io.lines import duplicate_columns, split_delimited
from kinship.io.tidy import decode_text, records_from_calls

__all__ = ["read_genemapper", "parse_genemapper"]

_NO_CALL = frozenset({"", "NA"})
_ALLELE_COLUMN = re.compile(r"^allele(\d+)$")
_SAMPLE_KEYS = ("samplename", "sampleid")
_LOCUS_KEYS = ("marker", "locus")
#: Column keys (see :func:`_key`) of the wide layout that are not loci.
_WIDE_IGNORED = re.compile(r"^(samplefile|samplename|sampleid|sampletype|height\d*|size\d*|area\d*|peakarea\d*|"
                           r"datapoint\d*|dye|panel|runname|run|comment[s]?|remark[s]?|qual.*|analysismethod|"
                           r"specimencategory|user.*|)$")


#: Column keys that mean the same column (a header with both is ambiguous).
_MEANING = {"samplename": "sample", "sampleid": "sample", "marker": "locus", "locus": "locus"}
#: A comma followed by something other than a space: GeneMapper writes "9, 3", never "9,3". A
#: comma before a declared unknown allele ("12,?", "12,-") is no decimal comma: two calls.
_DECIMAL_COMMA = re.compile(r",(?=[^\s,?\-])")


def _key(column: str) -> str:
    return re.sub(r"[\s._-]", "", column.lower())


def read_genemapper(path: str | Path, *, data: bytes | None = None) -> pd.DataFrame:
    """Read a GeneMapper ID-X genotype-table export into the common long record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The export file.
    data : bytes, optional
        The file's bytes if already read (the hash and the parse then see the same bytes).

    Returns
    -------
    pandas.DataFrame
        One row per data line, columns :data:`kinship.io.tidy.RECORD_COLUMNS`: ``sample_id``,
        ``locus`` (raw name), ``allele_1``, ``allele_2`` (raw first and second call, ``""`` if
        none), ``n_alleles_called`` (str count of non-empty calls, ``OL`` included),
        ``extra_calls`` (third and later calls joined by ``","``), ``source_line`` (str,
        1-based line in the file; header is line 1). All columns are ``str``.

    Raises
    ------
    ExportFormatError
        If the file is not UTF-8 text, is not tab-delimited, lacks the sample, marker or
        allele columns, names a column it reads twice (``Allele 1`` twice, or both ``Sample
        Name`` and ``Sample ID``), or its header line is damaged (:mod:`kinship.io.lines`). A
        damaged data line is not an error: its record carries the reason in ``problem``, for
        ingestion to quarantine it; so does a wide-layout cell with a decimal comma (``9,3``).
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    return parse_genemapper(raw, file=path.name)


def parse_genemapper(raw: bytes, *, file: str = "<export>") -> pd.DataFrame:
    """Parse the bytes of a GeneMapper export (long or wide); see :func:`read_genemapper`.

    Examples
    --------
    >>> text = (b"Sample Name\\tMarker\\tAllele 1\\tAllele 2\\tHeight 1\\r\\n"
    ...         b"S1\\tTH01\\t9.3\\t\\t1200\\r\\n"
    ...         b"S1\\tD18S51\\t13\\t15\\tNA\\r\\n")
    >>> recs = parse_genemapper(b"\\xef\\xbb\\xbf" + text, file="x.txt")
    >>> recs[["sample_id", "locus", "allele_1", "allele_2", "n_alleles_called"]].values.tolist()
    [['S1', 'TH01', '9.3', '', '1'], ['S1', 'D18S51', '13', '15', '2']]
    >>> wide = b'"Sample Name","TH01","Height","vWA"\\n"S2","6, 9.3, ","120, 80","17, , "\\n'
    >>> parse_genemapper(wide)[["sample_id", "locus", "allele_1", "allele_2", "source_line"]].values.tolist()
    [['S2', 'TH01', '6', '9.3', '2'], ['S2', 'vWA', '17', '', '2']]
    """
    text = decode_text(raw, file)
    if not text.strip():
        raise ExportFormatError(
            f"export {file} is empty; expected a GeneMapper genotype table with a header line; "
            "fix: re-export the genotypes table from GeneMapper"
        )
    header_line = text.split("\n", 1)[0]
    sep = "\t" if "\t" in header_line else ","
    header, body = split_delimited(text, sep=sep, file=file)
    columns = header
    keys = [_key(c) for c in columns]
    sample_col = next((keys.index(k) for k in _SAMPLE_KEYS if k in keys), None)
    locus_col = next((keys.index(k) for k in _LOCUS_KEYS if k in keys), None)
    allele_cols = sorted((int(m.group(1)), i) for i, k in enumerate(keys) if (m := _ALLELE_COLUMN.match(k)))
    if sample_col is not None and locus_col is not None and allele_cols:
        layout = "long"
    elif sample_col is not None and locus_col is None and not allele_cols and any(
        not _WIDE_IGNORED.match(k) for k in keys
    ):
        layout = "wide"
    else:
        hint = " (the header has one column: is the file comma-separated?)" if len(columns) == 1 else ""
        raise ExportFormatError(
            f"export {file} line 1: header {columns[:8]}{'...' if len(columns) > 8 else ''} is not a "
            f"GeneMapper genotype table{hint}; expected columns 'Sample Name' (or 'Sample.Name'), "
            "'Marker' and 'Allele 1'..'Allele n' (long layout), or 'Sample Name' and one column per "
            "locus with comma-joined alleles (wide layout); fix: export the Genotypes table from "
            "GeneMapper ID-X as tab-delimited text, or use fmt='tidy' for a long CSV"
        )
    if layout == "long":
        read = lambda k: k in ("sample", "locus") or bool(_ALLELE_COLUMN.match(k))  # noqa: E731
    else:
        read = lambda k: k == "sample" or not _WIDE_IGNORED.match(k)  # noqa: E731
    duplicate_columns(columns, [_MEANING.get(k, k) for k in keys], file=file, meaningful=read)
    samples, loci, calls, lines, problems = [], [], [], [], []

    def cell(fields: list[str], i: int) -> str:
        value = fields[i].strip() if i < len(fields) else ""
        return "" if value in _NO_CALL else value

    for entry in body:
        line, fields, problem = entry.number, entry.fields, entry.problem
        if not problem and len(fields) > len(columns) and any(f.strip() for f in fields[len(columns):]):
            # The columns of this line can not be trusted: quarantine the line, keep the file.
            problem = (f"{len(fields)} fields but the header has {len(columns)}: the line's columns can not "
                       "be matched to the header")
        if problem:
            samples.append(cell(fields, sample_col))
            loci.append(cell(fields, locus_col) if layout == "long" else "")
            calls.append([])
            lines.append(line)
            problems.append(problem)
            continue
        if layout == "long":
            samples.append(cell(fields, sample_col))
            loci.append(cell(fields, locus_col))
            calls.append([cell(fields, i) for _, i in allele_cols])
            lines.append(line)
            problems.append("")
        else:
            sample = cell(fields, sample_col)
            for i, k in enumerate(keys):
                if _WIDE_IGNORED.match(k):
                    continue
                value = fields[i] if i < len(fields) else ""
                row_calls = [c.strip() for c in value.split(",")]
                decimal_comma = _DECIMAL_COMMA.search(value)
                samples.append(sample)
                loci.append(columns[i])
                calls.append([] if decimal_comma else ["" if c in _NO_CALL else c for c in row_calls])
                lines.append(line)
                problems.append(
                    f"the cell {value.strip()!r} has a comma with no space after it: GeneMapper joins calls "
                    "with ', ', so this may be a decimal comma (9,3 for the allele 9.3) rather than two "
                    "calls; fix: export with '.' as the decimal mark" if decimal_comma else "")
    return records_from_calls(samples, loci, calls, lines, problems)
