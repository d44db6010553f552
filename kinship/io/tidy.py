"""Reader of tidy long genotype CSVs, and the common record table every reader returns.

Tidy layout: a comma-separated file with header ``sample_id, locus, allele_1, allele_2``
(other columns are ignored), one row per (sample, locus). An empty ``allele_2`` means a
homozygote, as in GeneMapper exports; a second allele that is unknown (a partial genotype) is
written ``?`` or ``-`` (``12,?``), or the one cell ``12/-``, and passed on as written for
:mod:`kinship.app.ingest.row_rules` to read as ``("12", "?")``. Cells are read as text; ``NA``
and empty cells are no call.

The common record table (:data:`RECORD_COLUMNS`) is the one shape every reader returns: raw
names and calls as written, plus where each row came from, so the ingest step can land or
quarantine every input row and cite its line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.io.lines import duplicate_columns, split_delimited

__all__ = ["RECORD_COLUMNS", "ENCODINGS", "DETECT", "read_tidy", "parse_tidy", "read_parquet", "decode_text", "records_from_calls",
           "reader_problem", "split_problem"]

#: Columns of the common long record table; every column holds ``str``.
RECORD_COLUMNS = [
    "sample_id",
    "locus",
    "allele_1",
    "allele_2",
    "n_alleles_called",
    "extra_calls",
    "source_line",
    "problem",
]

#: Separates kind, reason and fix in a ``problem`` a reader writes with :func:`reader_problem`
#: (ASCII unit separator: never in a reader's own text).
_PROBLEM_SEP = "\x1f"


def reader_problem(kind: str, reason: str, fix: str) -> str:
    """A ``problem`` note that quarantines its row with the reader's own kind, reason and fix.

    A plain ``problem`` text is a line the reader could not split (``malformed_line``); a reader
    that read the line but can not give its calls exactly (a report that contradicts itself, a
    sequence with no exact CE allele) writes this instead. Read back by :func:`split_problem`.

    Examples
    --------
    >>> split_problem(reader_problem("unconvertible_allele", "no CE allele", "re-type"))
    ('unconvertible_allele', 'no CE allele', 're-type')
    >>> split_problem("3 fields but the header has 4")
    ('', '3 fields but the header has 4', '')
    """
    return _PROBLEM_SEP.join((kind, reason, fix))


def split_problem(problem: str) -> tuple[str, str, str]:
    """``(kind, reason, fix)`` of a :func:`reader_problem` note; ``("", problem, "")`` for a plain one."""
    parts = problem.split(_PROBLEM_SEP)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", problem, "")


_REQUIRED = ["sample_id", "locus", "allele_1", "allele_2"]
_EXTRA_ALLELE = re.compile(r"^allele_(\d+)$")


def _allele_columns(columns) -> list[str]:
    """``allele_1, allele_2`` and any further ``allele_3, allele_4 ...`` columns, in order:
    a third call is never dropped, it becomes a three-allele pattern for the checks."""
    extra = sorted((c for c in columns if _EXTRA_ALLELE.match(c) and c not in ("allele_1", "allele_2")),
                   key=lambda c: int(_EXTRA_ALLELE.match(c).group(1)))
    return ["allele_1", "allele_2", *extra]
_NO_CALL = frozenset({"", "NA"})
_COUNT_TEXT = tuple(str(n) for n in range(16))


#: Encodings a manifest or tidy file may declare (``encoding=``): UTF-8, and the Chinese national
#: encodings Chinese Excel and WPS write by default (GBK is a subset of GB18030).
ENCODINGS = ("utf-8", "gb18030", "gbk")
#: ``encoding=`` value that detects: UTF-8 (a BOM is fine) strictly, else GB18030 strictly.
DETECT = "detect"


def decode_text(
    raw: bytes,
    file: str,
    *,
    what: str = "export",
    error: type[Exception] = ExportFormatError,
    expected: str = "UTF-8 (a BOM is fine)",
    fix: str = "re-export the file as UTF-8 text",
    encoding: str | None = "utf-8",
) -> str:
    """Decode text bytes strictly (BOM stripped) and normalise CRLF / CR line ends to LF.

    ``what``, ``error``, ``expected`` and ``fix`` shape the error for the kind of file read
    (an export by default; the manifest reader passes its own).

    Parameters
    ----------
    raw : bytes
    file : str
        File name, for the error.
    encoding : str or None, default "utf-8"
        One of :data:`ENCODINGS` (declared), or ``"detect"`` (:data:`DETECT`; also ``None``):
        UTF-8 with or without BOM if the bytes are valid UTF-8, else GB18030 (what Chinese Excel
        writes as "CSV") if they are valid GB18030 *and* no multi-byte character absorbed an ASCII
        byte. Decoding is always strict (``errors="strict"``): a byte that is not part of a
        valid character refuses the file, so no genotype is ever read other than as sent.

    Raises
    ------
    ExportFormatError
        If the bytes are not text in the encoding (or ``error``, when given), or ``encoding``
        is not offered.

    Examples
    --------
    >>> decode_text(b"\\xef\\xbb\\xbfa\\tb\\r\\n", "f.txt")
    'a\\tb\\n'
    >>> decode_text("lab,北京市公安局\\n".encode("gb18030"), "m.csv", encoding="detect")
    'lab,北京市公安局\\n'
    """
    declared = DETECT if encoding is None else str(encoding).strip().lower().replace("_", "-")
    declared = {"utf8": "utf-8", "utf-8-sig": "utf-8", "gb-18030": "gb18030", "cp936": "gbk"}.get(declared, declared)
    if declared not in (*ENCODINGS, DETECT):
        raise error(
            f"{what} {file}: encoding {encoding!r} is not offered; expected one of "
            f"{', '.join((*ENCODINGS, DETECT))}; fix: declare utf-8, gb18030 or gbk, or let it be detected"
        )
    if declared in ("utf-8", DETECT):
        try:
            text = raw.decode("utf-8-sig", errors="strict")
        except UnicodeDecodeError as exc:
            if declared == "utf-8":
                raise error(
                    f"{what} {file} is not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
                    f"expected {expected}; fix: {fix}"
                ) from None
            text = _decode_gb18030(raw, file, what=what, error=error, expected=expected, fix=fix, first=exc)
    else:
        try:
            text = raw.decode(declared, errors="strict")
        except UnicodeDecodeError as exc:
            raise error(
                f"{what} {file} is not {declared.upper()} text as declared (byte {exc.start}: "
                f"{raw[exc.start:exc.start + 1]!r}); expected {expected} or the declared encoding; "
                f"fix: declare the encoding the file was saved in, or {fix}"
            ) from None
        text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_gb18030(raw: bytes, file: str, *, what: str, error, expected: str, fix: str,
                    first: UnicodeDecodeError) -> str:
    """The detection's second try: strict GB18030, refused if a character swallowed an ASCII byte."""
    where = f"byte {first.start}: {raw[first.start:first.start + 1]!r}"
    expected = expected if "GB18030" in expected else f"{expected}, or GB18030/GBK"
    try:
        text = raw.decode("gb18030", errors="strict")
    except UnicodeDecodeError as exc:
        raise error(
            f"{what} {file} is not UTF-8 text ({where}) nor GB18030 (byte {exc.start}: "
            f"{raw[exc.start:exc.start + 1]!r}); expected {expected}; fix: {fix}"
        ) from None
    # A GB18030 multi-byte character may end in an ASCII byte (0x30-0x39, 0x40-0x7E): a stray
    # byte of another encoding would then eat a digit or a comma. Genuine Chinese text in a
    # manifest almost never does; a detection that would, refuses (declare the encoding).
    n_ascii_bytes = len(raw) - len(raw.translate(None, _ASCII_BYTES))  # C speed: files may be large
    if n_ascii_bytes - _GB18030_BOM_ASCII * raw.startswith(_GB18030_BOM) != len(text.encode("ascii", "ignore")):
        raise error(
            f"{what} {file} is not UTF-8 text ({where}), and read as GB18030 a multi-byte character "
            "would absorb an ASCII byte (a digit, letter or delimiter), so the encoding can not be "
            f"detected safely; expected {expected}; fix: {fix}, or declare the "
            "encoding (encoding='gb18030')"
        )
    return text.removeprefix("\ufeff")


_ASCII_BYTES = bytes(range(0x80))
#: GB18030's byte-order mark (U+FEFF): two of its four bytes are ASCII digits.
_GB18030_BOM = b"\x84\x31\x95\x33"
_GB18030_BOM_ASCII = 2


def records_from_calls(samples, loci, calls, lines, problems=None) -> pd.DataFrame:
    """Build the common record table from per-row calls.

    Parameters
    ----------
    samples, loci : sequence of str, length n_rows
        Raw sample ids and locus names.
    calls : sequence of sequence of str, length n_rows
        Each row's calls in column order; ``""`` is no call (gaps are skipped).
    lines : sequence of int, length n_rows
        1-based source line of each row.
    problems : sequence of str, length n_rows, optional
        Why a row could not be read as a record ("" when it could): ingestion quarantines such
        a row with this reason instead of rejecting the file.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RECORD_COLUMNS`, all ``str``.

    Examples
    --------
    >>> records_from_calls(["S"], ["vWA"], [["14", "", "16", "17"]], [2]).iloc[0].tolist()
    ['S', 'vWA', '14', '16', '3', '17', '2', '']
    """
    first, second, counts, extra = [], [], [], []
    for row_calls in calls:
        if "" in row_calls:
            row_calls = [c for c in row_calls if c != ""]
        n = len(row_calls)
        first.append(row_calls[0] if n else "")
        second.append(row_calls[1] if n > 1 else "")
        counts.append(_COUNT_TEXT[n] if n < len(_COUNT_TEXT) else str(n))
        extra.append(",".join(row_calls[2:]) if n > 2 else "")
    columns = {
        "sample_id": list(samples), "locus": list(loci), "allele_1": first, "allele_2": second,
        "n_alleles_called": counts, "extra_calls": extra, "source_line": [str(int(line)) for line in lines],
        "problem": [""] * len(first) if problems is None else list(problems),
    }
    return pd.DataFrame(columns, columns=RECORD_COLUMNS, dtype=str)


def read_tidy(path: str | Path, *, data: bytes | None = None, encoding: str | None = DETECT) -> pd.DataFrame:
    """Read a tidy long genotype CSV into the common record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The CSV file (UTF-8 or GB18030/GBK, BOM and CRLF accepted).
    data : bytes, optional
        The file's bytes if already read.
    encoding : str, default "detect"
        ``"detect"`` (UTF-8 strictly, else GB18030 strictly) or a declared one of
        :data:`ENCODINGS` (reader option ``encoding``); see :func:`decode_text`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RECORD_COLUMNS`, all ``str``; see
        :func:`kinship.io.genemapper.read_genemapper`.

    Raises
    ------
    ExportFormatError
        If the file is not text in the encoding (:func:`decode_text`), lacks one of ``sample_id, locus, allele_1, allele_2``, names
        one of them (or an ``allele_n`` column) twice, or its header line is damaged
        (:mod:`kinship.io.lines`). A damaged data line is not an error: its record carries the
        reason in ``problem``, for ingestion to quarantine it.
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    return parse_tidy(raw, file=path.name, encoding=encoding)


def parse_tidy(raw: bytes, *, file: str = "<export>", encoding: str | None = DETECT) -> pd.DataFrame:
    """Parse the bytes of a tidy long CSV; see :func:`read_tidy`.

    Examples
    --------
    >>> recs = parse_tidy(b"sample_id,locus,allele_1,allele_2\\nC1,TH01,9.3,6\\nC1,FGA,22,\\n")
    >>> recs[["locus", "allele_1", "allele_2", "n_alleles_called", "source_line"]].values.tolist()
    [['TH01', '9.3', '6', '2', '2'], ['FGA', '22', '', '1', '3']]
    """
    text = decode_text(raw, file, encoding=encoding,
                       expected="UTF-8 (a BOM is fine) or GB18030/GBK",
                       fix="save the file as UTF-8 or GB18030 text, or declare its encoding")
    header, body = split_delimited(text, sep=",", file=file)
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise ExportFormatError(
            f"export {file} line 1: missing column(s) {missing}; found {header}; "
            f"expected a tidy long CSV with columns {_REQUIRED}; fix: rename the columns, or use "
            "fmt='genemapper' for a GeneMapper export"
        )
    read = set(_allele_columns(header)) | {"sample_id", "locus"}
    duplicate_columns(header, header, file=file, meaningful=lambda name: name in read)
    index = {name: i for i, name in enumerate(header)}
    allele_idx = [index[c] for c in _allele_columns(header)]

    i_sample, i_locus, width = index["sample_id"], index["locus"], max(index.values()) + 1
    n_header = len(header)
    if len(allele_idx) == 2 and _stripped(text) and all(len(f) == n_header and not p for _, f, p in body):
        return _plain_records(body, i_sample, i_locus, *allele_idx)
    samples, loci, calls, lines, problems = [], [], [], [], []
    for number, fields, problem in body:
        cells = [f.strip() for f in fields]  # a missing trailing cell is ""
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        if problem:
            row_calls = []
        elif len(fields) > n_header and any(cells[n_header:]):
            # The columns of this line can not be trusted: quarantine the line, keep the file.
            problem = (f"{len(fields)} fields but the header has {n_header}: the line's "
                       "columns can not be matched to the header")
            row_calls = []
        else:
            row_calls = [c for c in (cells[i] for i in allele_idx) if c not in _NO_CALL]
        samples.append(cells[i_sample])
        loci.append(cells[i_locus])
        calls.append(row_calls)
        lines.append(number)
        problems.append(problem)
    return records_from_calls(samples, loci, calls, lines, problems)


def _stripped(text: str) -> bool:
    """Whether every field of ``text`` is its own ``str.strip()`` (no whitespace but line ends)."""
    return text.isascii() and not any(ch in text for ch in " \t\x0b\x0c\x1c\x1d\x1e\x1f")


def _plain_records(body, i_sample: int, i_locus: int, i_1: int, i_2: int) -> pd.DataFrame:
    """:func:`parse_tidy`'s record table for the common export, column by column: two allele
    columns, every line trusted and of the header's width, no whitespace in any field. The
    same table the line-by-line path builds (a test compares the two)."""
    a1 = [f[i_1] for _, f, _ in body]
    a2 = [f[i_2] for _, f, _ in body]
    ok1 = [a not in _NO_CALL for a in a1]
    ok2 = [a not in _NO_CALL for a in a2]
    first = [a if o else (b if p else "") for a, b, o, p in zip(a1, a2, ok1, ok2)]
    second = [b if o and p else "" for b, o, p in zip(a2, ok1, ok2)]
    columns = {
        "sample_id": [f[i_sample] for _, f, _ in body], "locus": [f[i_locus] for _, f, _ in body],
        "allele_1": first, "allele_2": second,
        "n_alleles_called": [_COUNT_TEXT[o + p] for o, p in zip(ok1, ok2)], "extra_calls": [""] * len(body),
        "source_line": [str(n) for n, _, _ in body], "problem": [""] * len(body),
    }
    return pd.DataFrame(columns, columns=RECORD_COLUMNS, dtype=str)


def read_parquet(path: str | Path, *, data: bytes | None = None) -> pd.DataFrame:
    """Read a tidy long genotype Parquet file into the common record table.

    Same columns as the tidy CSV (``sample_id, locus, allele_1, allele_2``; others ignored).
    Columns must be strings (integers are accepted and written as decimal text); a
    floating-point allele column is refused, since a float can not tell ``9.1`` from ``9.10``
    and float32 turns ``9.3`` into ``9.300000190734863``. Nulls are no call.
    ``source_line`` is the 1-based row number.

    Raises
    ------
    ExportFormatError
        If the bytes are not Parquet, a required column is missing, or a column has a
        floating-point or other non-text type.

    Examples
    --------
    >>> import io as _io, pyarrow as pa, pyarrow.parquet as pq
    >>> buf = _io.BytesIO()
    >>> pq.write_table(pa.table({"sample_id": ["C1"], "locus": ["TH01"], "allele_1": ["9.3"],
    ...                          "allele_2": [None]}), buf)
    >>> read_parquet("x.parquet", data=buf.getvalue())[["allele_1", "allele_2", "source_line"]].values.tolist()
    [['9.3', '', '1']]
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    raw = path.read_bytes() if data is None else data
    file = path.name
    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise ExportFormatError(
            f"export {file} is not a readable Parquet file ({exc}); expected a Parquet table with "
            f"columns {_REQUIRED}; fix: write the table with pyarrow or pandas.to_parquet"
        ) from None
    missing = [c for c in _REQUIRED if c not in table.column_names]
    if missing:
        raise ExportFormatError(
            f"export {file}: missing column(s) {missing}; found {table.column_names}; expected a tidy "
            f"long table with columns {_REQUIRED}; fix: rename the columns"
        )
    columns = {}
    for name in ["sample_id", "locus", *_allele_columns(table.column_names)]:
        col = table.column(name)
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
            values = col.cast(pa.string())
        elif pa.types.is_integer(t) or pa.types.is_null(t):
            values = col.cast(pa.string())
        else:
            raise ExportFormatError(
                f"export {file}: column {name!r} has type {t}; expected strings (alleles as text, "
                "'9.3' not 9.3); fix: write the column as strings"
            )
        columns[name] = ["" if v is None else str(v).strip() for v in values.to_pylist()]
    frame = pd.DataFrame(columns, dtype=str)
    allele_columns = _allele_columns(frame.columns)
    for name in allele_columns:
        frame[name] = frame[name].where(~frame[name].isin(_NO_CALL), "")
    lines = pd.Series(range(1, len(frame) + 1), index=frame.index)
    keep = (frame["sample_id"] != "") | (frame["locus"] != "") | (frame[allele_columns] != "").any(axis=1)
    return records_from_calls(frame["sample_id"][keep], frame["locus"][keep],
                              frame[allele_columns][keep].values.tolist(), lines[keep])
