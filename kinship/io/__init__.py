"""File readers: one reader per lab format, all returning one common long record table.

Each reader turns a file into :data:`RECORD_COLUMNS` (every column ``str``): raw sample id,
raw locus name, first and second call, number of calls, extra calls, source line. Names and
calls are not interpreted here; :mod:`kinship.app.ingest` normalises and validates them. The
batch manifest is read by :mod:`kinship.io.manifest`.

Formats: ``"genemapper"`` (GeneMapper ID-X exports, long or wide, tab or comma),
``"tidy"`` (long CSV ``sample_id, locus, allele_1, allele_2``), ``"parquet"`` (the same
columns in Parquet), ``"cmf"`` (CODIS CMF 3.2 XML, :mod:`kinship.io.cmf`) and ``"vcf"``
(GangSTR / ExpansionHunter / HipSTR through pysam, :mod:`kinship.io.vcf`), ``"forenseq"``
(ForenSeq UAS Sample Report / Sample Details Report xlsx, :mod:`kinship.io.forenseq`) and
``"straitrazor"`` (STRait Razor v3 output, :mod:`kinship.io.straitrazor`). A reader may add
``attrs`` to the table: ``skipped`` (records placed on no catalogue locus), ``refused``
(samples to quarantine whole, with reason and fix), ``specimens`` (CODIS specimens with
the role their category implies) and ``notes`` (``{"line", "kind", "message"}`` remarks on the
file, stored as batch warnings: e.g. ``sequence_collapsed``, sequence isoalleles read as length
alleles).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.io.cmf import read_cmf
from kinship.io.forenseq import read_forenseq
from kinship.io.genemapper import read_genemapper
from kinship.io.manifest import Manifest, ManifestRowError, read_manifest
from kinship.io.straitrazor import read_straitrazor
from kinship.io.tidy import RECORD_COLUMNS, read_parquet, read_tidy
from kinship.io.vcf import read_vcf

__all__ = [
    "READERS",
    "RECORD_COLUMNS",
    "read_export",
    "read_genemapper",
    "read_tidy",
    "read_parquet",
    "read_cmf",
    "read_vcf",
    "read_forenseq",
    "read_straitrazor",
    "read_manifest",
    "Manifest",
    "ManifestRowError",
]

#: Reader of each supported export format.
READERS = {
    "genemapper": read_genemapper,
    "tidy": read_tidy,
    "parquet": read_parquet,
    "cmf": read_cmf,
    "vcf": read_vcf,
    "forenseq": read_forenseq,
    "straitrazor": read_straitrazor,
}


def read_export(path: str | Path, *, fmt: str = "genemapper", data: bytes | None = None, **options) -> pd.DataFrame:
    """Read a lab export of format ``fmt`` into the common record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The export file.
    fmt : {"genemapper", "tidy", "parquet", "cmf", "vcf", "forenseq", "straitrazor"}
        The file's format.
    data : bytes, optional
        The file's bytes if already read.
    **options
        Reader options (``category_map`` for ``cmf``; ``caller``, ``ce_field``, ``build``, ``quality`` for ``vcf``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RECORD_COLUMNS`, all ``str``.

    Raises
    ------
    ExportFormatError
        If ``fmt`` is not a supported format, or the file does not follow it.

    Examples
    --------
    >>> read_export("x.fam", fmt="fam")
    Traceback (most recent call last):
    ...
    kinship.errors.ExportFormatError: export x.fam: format 'fam' is not supported; ...
    """
    try:
        reader = READERS[fmt]
    except KeyError:
        raise ExportFormatError(
            f"export {Path(path).name}: format {fmt!r} is not supported; expected one of "
            f"{sorted(READERS)}; fix: pass fmt= one of those, or convert the file to the tidy "
            "long CSV (sample_id, locus, allele_1, allele_2)"
        ) from None
    try:
        return reader(path, data=data, **options)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        raise ExportFormatError(
            f"export {Path(path).name}: reader option(s) {sorted(options)} do not apply to format {fmt!r} "
            f"({exc}); fix: pass only that reader's options"
        ) from None
