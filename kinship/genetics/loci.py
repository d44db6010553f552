"""The locus catalogue: canonical locus names, their aliases and what kind of marker each is.

The catalogue is a data table (``kinship/data/loci.csv``), not code: a locus quirk is a row.
Names match regardless of case, spaces and punctuation, so ``"Penta D"``, ``"PENTA_D"`` and
``"pentad"`` are one locus, and ``"VWA"`` is ``vWA``. An unknown name is an error that names
the nearest known locus; it is never dropped silently.

Kinds: ``autosomal`` loci enter the likelihood ratio; ``sex`` (Amelogenin), ``y`` (Y-STRs) and
``quality`` (kit quality sensors) are kept out of the autosomal LR.
"""

from __future__ import annotations

import csv
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from kinship.errors import UnknownLocusError

__all__ = ["Locus", "LocusCatalogue", "default_catalogue", "locus_key"]

_PUNCT = re.compile(r"[^0-9a-z]")


@lru_cache(maxsize=1 << 12)
def locus_key(name: str) -> str:
    """Matching key of a locus name: lower case, letters and digits only.

    Examples
    --------
    >>> locus_key("Penta D") == locus_key("PENTA_D") == "pentad"
    True
    """
    return _PUNCT.sub("", name.lower())


@dataclass(frozen=True)
class Locus:
    """One catalogue row."""

    name: str
    kind: str  # autosomal | sex | y | quality
    chrom: str
    period: int | None
    ref_ce_allele_grch38: str | None
    aliases: tuple[str, ...]

    @property
    def is_autosomal(self) -> bool:
        return self.kind == "autosomal"


class LocusCatalogue:
    """Look-up of canonical locus names.

    Parameters
    ----------
    loci : iterable of Locus
        The catalogue rows. Two rows whose names or aliases share a matching key are refused.

    Examples
    --------
    >>> cat = default_catalogue()
    >>> cat.canonical("Penta D"), cat.canonical("VWA"), cat.canonical("amel")
    ('Penta D', 'vWA', 'AMEL')
    >>> cat.canonical("THO1")
    Traceback (most recent call last):
    ...
    kinship.errors.UnknownLocusError: unknown locus 'THO1'; did you mean TH01? ...
    """

    def __init__(self, loci):
        self._loci: dict[str, Locus] = {}
        self._by_key: dict[str, str] = {}
        for locus in loci:
            self._loci[locus.name] = locus
            for alias in (locus.name, *locus.aliases):
                key = locus_key(alias)
                other = self._by_key.get(key)
                if other is not None and other != locus.name:
                    raise ValueError(f"locus catalogue: {alias!r} of {locus.name} clashes with {other}")
                self._by_key[key] = locus.name

    def __contains__(self, name: str) -> bool:
        return locus_key(name) in self._by_key

    def __iter__(self):
        return iter(self._loci.values())

    def __len__(self) -> int:
        return len(self._loci)

    def suggest(self, name: str) -> str | None:
        """Nearest canonical name to an unknown one, or ``None`` if nothing is close."""
        key = locus_key(name)
        close = difflib.get_close_matches(key, list(self._by_key), n=1, cutoff=0.6)
        return self._by_key[close[0]] if close else None

    def canonical(self, name: str, *, context: str = "") -> str:
        """Canonical name of ``name``; raises :class:`UnknownLocusError` with a suggestion."""
        try:
            return self._by_key[locus_key(name)]
        except KeyError:
            raise UnknownLocusError(name, self.suggest(name), context) from None

    def get(self, name: str) -> Locus:
        """The catalogue row of a locus name or alias."""
        return self._loci[self.canonical(name)]

    def is_autosomal(self, name: str) -> bool:
        return self.get(name).is_autosomal


def _read_rows(text: str):
    for row in csv.DictReader(text.splitlines()):
        aliases = tuple(a.strip() for a in row["aliases"].split(";") if a.strip())
        yield Locus(
            name=row["locus"],
            kind=row["kind"],
            chrom=row["chrom"],
            period=int(row["period"]) if row["period"] else None,
            ref_ce_allele_grch38=row["ref_ce_allele_grch38"] or None,
            aliases=aliases,
        )


@lru_cache(maxsize=1)
def default_catalogue() -> LocusCatalogue:
    """The bundled catalogue (read on first use, never at import time)."""
    text = resources.files("kinship").joinpath("data/loci.csv").read_text(encoding="utf-8")
    return LocusCatalogue(_read_rows(text))
