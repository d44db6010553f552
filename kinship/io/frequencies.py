"""Read allele frequency tables from long CSV files.

Format: one row per allele, columns ``locus, allele, frequency`` and optionally ``population``
(several tables in one file), ``count`` and ``n_alleles`` (2N behind the estimate, giving
``N`` for the minimum allele frequency 5/(2N)). Allele labels are read as text, in ISFG
nomenclature; the label ``silent`` (any case) is the locus's silent (null) allele, Familias's
name (:data:`kinship.genetics.alleles.SILENT_ALLELE`).

Each locus's frequencies must sum to 1 ± 0.01: a locus outside is refused with its sum; within,
it is renormalised, with a warning recorded in the run's provenance and report when the sum
departs from 1 beyond rounding (1e-4); an allele written twice (``10`` and ``10.0``) is refused
(:meth:`kinship.genetics.frequencies.FrequencyTable.from_mapping`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

from kinship.errors import AlleleError
from kinship.genetics.alleles import SILENT_ALLELE, parse_allele
from kinship.errors import FrequencyTableError
from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.loci import LocusCatalogue, default_catalogue

__all__ = ["BUNDLED_TABLES", "DEFAULT_TABLE", "read_frequency_csv", "load_bundled_table", "load_frequency_table"]

#: Bundled tables: table id -> (file under kinship/data/frequencies, population).
BUNDLED_TABLES = {
    "norstr-2023/East Asia": ("norstr_2023.csv", "East Asia"),
    "norstr-2023/Europe": ("norstr_2023.csv", "Europe"),
    "norstr-2023/Norway": ("norstr_2023.csv", "Norway"),
    "norstr-2023/Africa": ("norstr_2023.csv", "Africa"),
    "norstr-2023/South America": ("norstr_2023.csv", "South America"),
    "norstr-2023/West Asia": ("norstr_2023.csv", "West Asia"),
    "norstr-2023/Middle Asia": ("norstr_2023.csv", "Middle Asia"),
    "nist1036/Asian": ("nist1036.csv", "Asian"),
    "nist1036/AfAm": ("nist1036.csv", "AfAm"),
    "nist1036/Cauc": ("nist1036.csv", "Cauc"),
    "nist1036/Hisp": ("nist1036.csv", "Hisp"),
    "nist1036/All": ("nist1036.csv", "All"),
}
DEFAULT_TABLE = "norstr-2023/East Asia"


def read_frequency_csv(
    source,
    *,
    name: str,
    population: str | None = None,
    catalogue: LocusCatalogue | None = None,
) -> FrequencyTable:
    """Read a long frequency CSV into a :class:`FrequencyTable` (renormalised per locus).

    The sum rule of :meth:`FrequencyTable.from_mapping` applies: a locus summing outside
    1 ± 0.01 is refused; within it, divided by its sum (``table.renormalised`` lists the loci
    whose sum departed from 1 beyond rounding, with a ``UserWarning``). ``silent`` (any case)
    is kept as the locus's silent allele, last.

    Parameters
    ----------
    source : path or file-like
    name : str
        Table id for reports and provenance.
    population : str, optional
        Keep only rows of this ``population`` (required if the file has several).
    catalogue : LocusCatalogue, optional
        Locus names are mapped to canonical names (default: the bundled catalogue).

    Raises
    ------
    FrequencyTableError
        Missing columns, an unknown population, several populations without ``population``,
        a locus given twice under two spellings, an allele given twice (also as ``10`` and
        ``10.0``), a non-positive frequency, or a locus whose frequencies sum outside 1 ± 0.01
        (the message names the locus and the sum).
    UnknownLocusError, AlleleError
        A locus or allele that can not be read (the message names the row).
    """
    catalogue = catalogue or default_catalogue()
    df = pd.read_csv(source, dtype=str, keep_default_na=False)
    missing = {"locus", "allele", "frequency"} - set(df.columns)
    if missing:
        raise FrequencyTableError(
            f"frequency table {name!r}: columns {sorted(missing)} missing; expected "
            "locus, allele, frequency[, population, count, n_alleles]"
        )
    if "population" in df.columns:
        pops = sorted(df["population"].unique())
        if population is None and len(pops) > 1:
            raise FrequencyTableError(
                f"frequency table {name!r} holds populations {pops}; choose one with population="
            )
        if population is not None:
            if population not in pops:
                raise FrequencyTableError(
                    f"frequency table {name!r}: population {population!r} not found; it has {pops}"
                )
            df = df[df["population"] == population]
    afreq: dict[str, dict[str, float]] = {}
    n_individuals: dict[str, int | None] = {}
    first_line: dict[tuple[str, str], int] = {}
    for line, row in zip(df.index + 2, df.itertuples(index=False)):
        context = f"table {name!r} line {line}"
        locus = catalogue.canonical(row.locus, context=context)
        allele = _allele(row.allele, context=f"{context}, locus {locus}")
        try:
            value = float(row.frequency)
        except ValueError:
            raise FrequencyTableError(
                f"{context}: frequency {row.frequency!r} of {locus} allele {allele} is not a number"
            ) from None
        if allele in afreq.setdefault(locus, {}):
            raise FrequencyTableError(
                f"{context}: {locus} allele {row.allele.strip()!r} is allele {allele}, already given on line "
                f"{first_line[(locus, allele)]}; expected each allele once per locus (10 and 10.0 are one "
                "allele); fix: keep one row per allele"
            )
        first_line[(locus, allele)] = line
        afreq[locus][allele] = value
        n_alleles = getattr(row, "n_alleles", "")
        n_individuals[locus] = int(n_alleles) // 2 if n_alleles else None
    return FrequencyTable.from_mapping(name, afreq, n_individuals)


def _allele(raw: str, *, context: str) -> str:
    """The canonical label of a table's allele: ISFG nomenclature, or ``silent`` in any case."""
    if raw.strip().lower() == SILENT_ALLELE:
        return SILENT_ALLELE
    label = parse_allele(raw, context=context)
    if label is None:
        raise AlleleError(
            f"allele {raw!r} ({context}) is an off-ladder call; expected an allele label of a frequency "
            "table (such as '9.3', or 'silent'); fix: remove the row"
        )
    return label


def load_bundled_table(table_id: str = DEFAULT_TABLE) -> FrequencyTable:
    """One of the bundled tables (:data:`BUNDLED_TABLES`).

    Examples
    --------
    >>> t = load_bundled_table()
    >>> len(t.loci), t.name
    (40, 'norstr-2023/East Asia')
    """
    try:
        filename, population = BUNDLED_TABLES[table_id]
    except KeyError:
        raise FrequencyTableError(
            f"frequency table {table_id!r} is not bundled; choose one of {sorted(BUNDLED_TABLES)} "
            "or pass a CSV file"
        ) from None
    path = resources.files("kinship").joinpath(f"data/frequencies/{filename}")
    with path.open("r", encoding="utf-8") as fh:
        return read_frequency_csv(fh, name=table_id, population=population)


def load_frequency_table(table: str, *, population: str | None = None) -> FrequencyTable:
    """A bundled table by id (``"norstr-2023/East Asia"``), or a long CSV file by path.

    A path is read with :func:`read_frequency_csv` and named after the file (and population).

    Raises
    ------
    FrequencyTableError
        If ``table`` is neither a bundled id nor an existing file.
    """
    if table in BUNDLED_TABLES:
        return load_bundled_table(table)
    path = Path(table)
    if not path.is_file():
        raise FrequencyTableError(
            f"frequency table {table!r} is neither a bundled table ({sorted(BUNDLED_TABLES)}) nor "
            "a CSV file; give a bundled id or the path of a long CSV (locus, allele, frequency)"
        )
    name = path.name if population is None else f"{path.name}/{population}"
    return read_frequency_csv(path, name=name, population=population)
