"""Allelic ladders of the typing kits, and the plausible range of an allele at a locus.

A capillary-electrophoresis kit calls an allele by comparing a peak with its *allelic ladder*:
one bin per known allele (and *virtual* bins for rare alleles seen in the field). The bundled
kit definitions (``kinship/data/kits/strvalidator_kit.txt``, 20 kits from strvalidator, see
``kinship/data/PROVENANCE.md``) give, for every locus they type, the smallest and largest bin
over all kits: the locus's **ladder range**.

An allele is judged against it (:func:`allele_plausibility`):

* ``"ladder"`` - inside the ladder range, with a microvariant digit smaller than the repeat
  period (``9.3`` at the tetranucleotide TH01; ``9.4`` is not a TH01 allele name);
* ``"off_ladder"`` - outside the ladder range but inside the **plausible range**, from half the
  smallest to 1.5 times the largest ladder allele (e.g. D18S51: ladders 5.3 to 42, plausible 2.87 to 63 repeats).
  Sized exactly by an extended ladder or by sequencing, such alleles exist (D18S51 40 is in
  STRBase's list of observed variants); they land, and are flagged for a look;
* ``"implausible"`` - beyond the plausible range (``0``, ``999``, a 17-digit number, ``2`` at FGA
  where a file cut short turned ``22`` into ``2``), or a microvariant digit that the period does
  not allow. Such a call is a typo, a damaged file or a wrong column; it is never landed.

A locus that no bundled kit types (some loci of Chinese kits) has no ladder range; its plausible
range is the generic 1-99 repeats.

This is a screen against values that cannot be what a lab meant, not a biological claim: the
thresholds are stated in every quarantine reason, and a lab that sized a real allele beyond them
can re-submit it with a note (the quarantine's fix).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from kinship.genetics.alleles import allele_value
from kinship.genetics.loci import LocusCatalogue, default_catalogue

__all__ = [
    "PLAUSIBLE_LOW_FACTOR",
    "PLAUSIBLE_HIGH_FACTOR",
    "GENERIC_RANGE",
    "AlleleLadder",
    "Kit",
    "bundled_kits",
    "locus_ladders",
    "allele_plausibility",
]

_KIT_FILE = "data/kits/strvalidator_kit.txt"
#: The plausible range is [PLAUSIBLE_LOW_FACTOR * ladder_min, PLAUSIBLE_HIGH_FACTOR * ladder_max].
PLAUSIBLE_LOW_FACTOR = 0.5
PLAUSIBLE_HIGH_FACTOR = 1.5
#: Plausible repeats at a locus that no bundled kit types.
GENERIC_RANGE = (1.0, 99.0)


@dataclass(frozen=True)
class AlleleLadder:
    """The ladder range of one locus over the bundled kits.

    Attributes
    ----------
    locus : str
        Canonical locus name (:mod:`kinship.genetics.loci`).
    period : int
        Repeat length in bases (4 where the catalogue gives none).
    ladder_min, ladder_max : str
        Smallest and largest ladder allele (bins and virtual bins) over all kits typing it.
    kits : tuple of str
        Short names of the kits typing the locus.
    """

    locus: str
    period: int
    ladder_min: str
    ladder_max: str
    kits: tuple[str, ...]

    @property
    def plausible(self) -> tuple[float, float]:
        """Plausible range in repeats, ``(low, high)``."""
        return (PLAUSIBLE_LOW_FACTOR * _repeats(self.ladder_min, self.period),
                PLAUSIBLE_HIGH_FACTOR * _repeats(self.ladder_max, self.period))


@dataclass(frozen=True)
class Kit:
    """A typing kit of the bundled definitions.

    Attributes
    ----------
    name : str
        Short name (``"GlobalFiler"``, ``"SureID27"``).
    full_name : str
    panel : str
        The GeneMapper panel the definitions come from.
    loci : tuple of str
        Canonical names of the loci it types (markers outside the catalogue are left out).
    """

    name: str
    full_name: str
    panel: str
    loci: tuple[str, ...]


def _repeats(label: str, period: int) -> float:
    """Length in repeat units: ``"9.3"`` of a tetranucleotide is 9.75."""
    v = allele_value(label)
    return v.repeats + v.bases / period


@lru_cache(maxsize=1)
def _kit_rows() -> tuple[dict, ...]:
    text = resources.files("kinship").joinpath(_KIT_FILE).read_text(encoding="utf-8")
    return tuple(csv.DictReader(text.splitlines(), delimiter="\t"))


def _canonical(marker: str, catalogue: LocusCatalogue) -> str | None:
    return catalogue.canonical(marker) if marker in catalogue else None


@lru_cache(maxsize=1)
def bundled_kits() -> dict[str, Kit]:
    """The kits of the bundled definitions, by short name (read on first use).

    Examples
    --------
    >>> kit = bundled_kits()["GlobalFiler"]
    >>> len(kit.loci), "D22S1045" in kit.loci, kit.full_name
    (24, True, 'GlobalFiler PCR Amplification Kit')
    """
    catalogue = default_catalogue()
    loci: dict[str, dict[str, None]] = {}
    info: dict[str, tuple[str, str]] = {}
    for row in _kit_rows():
        name = row["Short.Name"].strip()
        info.setdefault(name, (row["Full.Name"].strip(), row["Panel"].strip()))
        locus = _canonical(row["Marker"].strip(), catalogue)
        if locus is not None:
            loci.setdefault(name, {})[locus] = None
    return {name: Kit(name, full, panel, tuple(loci.get(name, {}))) for name, (full, panel) in sorted(info.items())}


@lru_cache(maxsize=1)
def locus_ladders() -> dict[str, AlleleLadder]:
    """Ladder range of every numeric locus the bundled kits type, by canonical name.

    Examples
    --------
    >>> th01 = locus_ladders()["TH01"]
    >>> th01.period, th01.ladder_min, th01.ladder_max, th01.plausible
    (4, '3', '14', (1.5, 21.0))
    """
    catalogue = default_catalogue()
    alleles: dict[str, list[str]] = {}
    kits: dict[str, set[str]] = {}
    for row in _kit_rows():
        locus = _canonical(row["Marker"].strip(), catalogue)
        label = row["Allele"].strip()
        if locus is None or allele_value(label) is None:
            continue  # Amelogenin X/Y, quality sensors, markers outside the catalogue
        alleles.setdefault(locus, []).append(label)
        kits.setdefault(locus, set()).add(row["Short.Name"].strip())
    out = {}
    for locus, labels in sorted(alleles.items()):
        period = catalogue.get(locus).period or 4
        size = lambda label: _repeats(label, period)  # noqa: E731
        out[locus] = AlleleLadder(locus, period, min(labels, key=size), max(labels, key=size), tuple(sorted(kits[locus])))
    return out


def allele_plausibility(locus: str, allele: str, *, catalogue: LocusCatalogue | None = None) -> tuple[str, str]:
    """Judge a numeric allele call at a locus against the kits' ladders.

    Parameters
    ----------
    locus : str
        Canonical locus name.
    allele : str
        Canonical allele label (:func:`kinship.genetics.alleles.normalise_allele`); labels that
        are not numeric (Amelogenin ``X``/``Y``) are ``"ladder"`` by definition.
    catalogue : LocusCatalogue, optional
        For the repeat period (default: the bundled catalogue).

    Returns
    -------
    verdict : {"ladder", "off_ladder", "implausible"}
        See the module docstring.
    reason : str
        ``""`` for ``"ladder"``; otherwise a sentence naming the allele, the locus and the
        ranges, for the quarantine or the flag.

    Examples
    --------
    >>> allele_plausibility("TH01", "9.3")
    ('ladder', '')
    >>> allele_plausibility("D18S51", "45")[0], allele_plausibility("FGA", "2")[0]
    ('off_ladder', 'implausible')
    >>> allele_plausibility("TH01", "9.4")[1]
    "allele '9.4' at TH01: a .4 microvariant is impossible for a 4-base repeat (.1 to .3)"
    """
    catalogue = catalogue or default_catalogue()
    period = catalogue.get(locus).period if locus in catalogue else None
    return _plausibility(locus, allele, period)


@lru_cache(maxsize=1 << 16)
def _plausibility(locus: str, allele: str, period: int | None) -> tuple[str, str]:
    """:func:`allele_plausibility` for a repeat period (memoised: a batch repeats few calls)."""
    value = allele_value(allele)
    if value is None:
        return "ladder", ""
    if period and value.bases >= period:
        return "implausible", (f"allele {allele!r} at {locus}: a .{value.bases} microvariant is impossible for a "
                               f"{period}-base repeat (.1 to .{period - 1})")
    repeats = _repeats(allele, period or 4)
    ladder = locus_ladders().get(locus)
    if ladder is None:
        low, high = GENERIC_RANGE
        where = f"{locus} has no bundled kit ladder; the generic plausible range is {low:g} to {high:g} repeats"
    else:
        if _repeats(ladder.ladder_min, ladder.period) <= repeats <= _repeats(ladder.ladder_max, ladder.period):
            return "ladder", ""
        low, high = ladder.plausible
        where = (f"the kits' ladders at {locus} run from {ladder.ladder_min} to {ladder.ladder_max}; plausible is "
                 f"{PLAUSIBLE_LOW_FACTOR:g} x {ladder.ladder_min} to {PLAUSIBLE_HIGH_FACTOR:g} x {ladder.ladder_max} "
                 f"= {math.floor(low * 100) / 100:g} to {high:g} repeats")
        if low <= repeats <= high:
            return "off_ladder", f"allele {allele!r} at {locus} is outside every kit's ladder ({where})"
    if low <= repeats <= high:
        return "ladder", ""
    return "implausible", f"allele {allele!r} at {locus} is not a plausible call ({where})"
