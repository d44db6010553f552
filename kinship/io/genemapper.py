"""Reader of GeneMapper ID-X genotype-table exports (tab-delimited text).

Layout: one row per (sample, locus); a sample column (``Sample Name`` or ``Sample.Name``), a
locus column (``Marker``) and allele columns ``Allele 1`` .. ``Allele n`` (or ``Allele.1`` ..).
Any other column (``Dye``, ``Size n``, ``Height n``, ``Data.Point n``, ``Remark``, ``Panel``,
``Sample File``...) is ignored. Every cell is read as text, so ``9.3`` stays ``"9.3"``;
``NA`` and empty cells are no call. A UTF-8 BOM and CRLF or CR line ends are accepted.

The reader does not interpret calls: homozygote conventions (``12, 12`` or ``12, <blank>``),
off-ladder ``OL`` calls, invalid labels and extra peaks are passed on as written and decided
by :mod:`kinship.ingest`. Header spelling is matched regardless of case, spaces, dots and
underscores.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.io.tidy import decode_text, records_from_calls

__all__ = ["read_genemapper", "parse_genemapper"]

_NO_CALL = frozenset({"", "NA"})
_ALLELE_COLUMN = re.compile(r"^allele(\d+)$")
_SAMPLE_KEYS = ("samplename", "sampleid")
_LOCUS_KEYS = ("marker", "locus")


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
        If the file is not UTF-8 text, is not tab-delimited, or lacks the sample, marker or
        allele columns.
    """
    path = Path(path)
    raw = path.read_bytes() if data is None else data
    return parse_genemapper(raw, file=path.name)


def parse_genemapper(raw: bytes, *, file: str = "<export>") -> pd.DataFrame:
    """Parse the bytes of a GeneMapper export; see :func:`read_genemapper`.

    Examples
    --------
    >>> text = (b"Sample Name\\tMarker\\tAllele 1\\tAllele 2\\tHeight 1\\r\\n"
    ...         b"S1\\tTH01\\t9.3\\t\\t1200\\r\\n"
    ...         b"S1\\tD18S51\\t13\\t15\\tNA\\r\\n")
    >>> recs = parse_genemapper(b"\\xef\\xbb\\xbf" + text, file="x.txt")
    >>> recs[["sample_id", "locus", "allele_1", "allele_2", "n_alleles_called"]].values.tolist()
    [['S1', 'TH01', '9.3', '', '1'], ['S1', 'D18S51', '13', '15', '2']]
    """
    text = decode_text(raw, file)
    if not text.strip():
        raise ExportFormatError(
            f"export {file} is empty; expected a GeneMapper genotype table with a header line; "
            "fix: re-export the genotypes table from GeneMapper"
        )
    try:
        table = pd.read_csv(
            io.StringIO(text),
            sep="\t",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            quoting=3,  # csv.QUOTE_NONE: one data row per line, so line numbers are exact
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise ExportFormatError(
            f"export {file} is not a rectangular tab-delimited table ({exc}); expected every "
            "line to have the header's number of tab-separated fields; fix: re-export the "
            "genotypes table from GeneMapper without editing it in a spreadsheet"
        ) from None
    columns = [str(c).strip() for c in table.columns]
    table.columns = columns
    keys = {_key(c): c for c in columns}
    sample_col = next((keys[k] for k in _SAMPLE_KEYS if k in keys), None)
    locus_col = next((keys[k] for k in _LOCUS_KEYS if k in keys), None)
    allele_cols = sorted(
        ((int(m.group(1)), c) for c in columns if (m := _ALLELE_COLUMN.match(_key(c)))),
    )
    if sample_col is None or locus_col is None or not allele_cols:
        hint = " (the header has one column: is the file comma-separated?)" if len(columns) == 1 else ""
        raise ExportFormatError(
            f"export {file} line 1: header {columns[:8]}{'...' if len(columns) > 8 else ''} is not a "
            f"GeneMapper genotype table{hint}; expected tab-separated columns 'Sample Name' (or "
            "'Sample.Name'), 'Marker' and 'Allele 1'..'Allele n'; fix: export the Genotypes "
            "table from GeneMapper ID-X as tab-delimited text, or use fmt='tidy' for a long CSV"
        )
    lines = pd.Series(range(2, len(table) + 2), index=table.index)
    calls = table[[c for _, c in allele_cols]].apply(lambda s: s.str.strip())
    calls = calls.where(~calls.isin(_NO_CALL), "")
    samples = table[sample_col].str.strip()
    loci = table[locus_col].str.strip()
    # A blank line (every cell empty) is not a record.
    keep = (samples != "") | (loci != "") | (calls != "").any(axis=1)
    return records_from_calls(
        samples[keep], loci[keep], calls[keep].values.tolist(), lines[keep]
    )

