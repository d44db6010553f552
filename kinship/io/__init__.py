"""File readers: one reader per lab format, all returning one common long record table.

Each reader turns a file into :data:`RECORD_COLUMNS` (every column ``str``): raw sample id,
raw locus name, first and second call, number of calls, extra calls, source line. Names and
calls are not interpreted here; :mod:`kinship.ingest` normalises and validates them. The
batch manifest is read by :mod:`kinship.io.manifest`.

Formats: ``"genemapper"`` (GeneMapper ID-X genotype-table export, tab-delimited) and
``"tidy"`` (long CSV ``sample_id, locus, allele_1, allele_2``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kinship.errors import ExportFormatError
from kinship.io.genemapper import read_genemapper
from kinship.io.manifest import Manifest, ManifestRowError, read_manifest
from kinship.io.tidy import RECORD_COLUMNS, read_tidy

__all__ = [
    "READERS",
    "RECORD_COLUMNS",
    "read_export",
    "read_genemapper",
    "read_tidy",
    "read_manifest",
    "Manifest",
    "ManifestRowError",
]

#: Reader of each supported export format.
READERS = {"genemapper": read_genemapper, "tidy": read_tidy}


def read_export(path: str | Path, *, fmt: str = "genemapper", data: bytes | None = None) -> pd.DataFrame:
    """Read a lab export of format ``fmt`` into the common record table.

    Parameters
    ----------
    path : str or pathlib.Path
        The export file.
    fmt : {"genemapper", "tidy"}
        The file's format.
    data : bytes, optional
        The file's bytes if already read.

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
    >>> read_export("x.vcf", fmt="vcf")
    Traceback (most recent call last):
    ...
    kinship.errors.ExportFormatError: export x.vcf: format 'vcf' is not supported; ...
    """
    try:
        reader = READERS[fmt]
    except KeyError:
        raise ExportFormatError(
            f"export {Path(path).name}: format {fmt!r} is not supported; expected one of "
            f"{sorted(READERS)}; fix: pass fmt= one of those, or convert the file to the tidy "
            "long CSV (sample_id, locus, allele_1, allele_2)"
        ) from None
    return reader(path, data=data)
