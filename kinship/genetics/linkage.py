"""Genetic map of the forensic STR loci and the pairs of loci that are linked.

Two loci on one chromosome are inherited together unless a crossover falls between them in
the meiosis; the probability of an odd number of crossovers is the *recombination fraction*
``r`` (``0 <= r <= 1/2``; ``1/2`` is independent assortment). It is computed from the map
distance ``d`` in Morgans (1 M = 100 cM) by a map function:

* Haldane (1919): crossovers as a Poisson process, no interference,
  ``r = (1 - exp(-2 d)) / 2``;
* Kosambi (1944): with interference, ``r = tanh(2 d) / 2``.

The bundled map (``kinship/data/linkage_map.csv``, see ``kinship/data/PROVENANCE.md``) is the
sex-averaged 50-marker map of KLINK (Vigeland; GitHub ``magnusdv/KLINK``), so one ``r`` serves
both sexes. :func:`linked_pairs` picks the pairs of a run's loci that the likelihood treats
jointly (:func:`kinship.likelihood.linkage.linked_locus_tables`); every other locus is treated
as independent.

Layer 1: imports only :mod:`kinship.errors` and this layer.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Mapping

import numpy as np

from kinship.errors import ReuniteInputError
from kinship.genetics.loci import default_catalogue

__all__ = [
    "DEFAULT_MAX_CM",
    "MAP_FUNCTIONS",
    "MapPosition",
    "LinkedPair",
    "linkage_map",
    "haldane",
    "kosambi",
    "linked_pairs",
]

#: Largest map distance (cM) at which two loci are treated as linked by default.
#:
#: 30 cM links the two pairs of the common kits whose linkage matters for kinship LRs:
#: vWA-D12S391 (11.9 cM, Haldane r = 0.106) and D5S818-CSF1PO (27.8 cM, r = 0.213) in
#: GlobalFiler. The departure from independence of a sibling-type LR falls with the
#: correlation of the two loci's inheritance, ``(1 - 2r)^2 = exp(-4d)`` under Haldane: 0.62 at
#: 11.9 cM, 0.33 at 27.8 cM, 0.14 at 50 cM, so beyond 30 cM the error of treating two loci as
#: independent is small beside the cost of the joint table (``R1 x R2`` rows per family), and
#: the next pairs on the map (TPOX-D2S1360 33.4 cM, D21S2055-D21S11 34.8 cM, D13S317-D13S325
#: 34.9 cM) are not in the same common kits (Fusion 6C gives the same two pairs as
#: GlobalFiler; SureID27 none). Runs that combine kits bring more pairs under 30 cM
#: (D21S2055-Penta D 9.9 cM, D18S51-D18S1364 2.3 cM, D19S253-D19S433 12.5 cM,
#: D8S1132-D8S1179 16.5 cM). Pass ``max_cM`` to change it.
DEFAULT_MAX_CM = 30.0
MAP_FUNCTIONS = ("haldane", "kosambi")
_MAP_FILE = "data/linkage_map.csv"


@dataclass(frozen=True)
class MapPosition:
    """A locus of the genetic map: chromosome and sex-averaged position in cM."""

    locus: str
    chromosome: str
    cM: float


@dataclass(frozen=True)
class LinkedPair:
    """Two linked loci of a run, computed jointly.

    Attributes
    ----------
    first, second : str
        Canonical locus names, in the order they appear in the run's loci.
    chromosome : str
    distance_cM : float
        Map distance (sex-averaged), centimorgans.
    recombination_fraction : float
        ``r`` from ``distance_cM`` by the map function, ``0 <= r < 1/2``.
    """

    first: str
    second: str
    chromosome: str
    distance_cM: float
    recombination_fraction: float

    @property
    def name(self) -> str:
        """``"first~second"``, e.g. ``"vWA~D12S391"``."""
        return f"{self.first}~{self.second}"


@lru_cache(maxsize=1)
def linkage_map() -> Mapping[str, MapPosition]:
    """The bundled sex-averaged map, by canonical locus name (read on first use).

    Examples
    --------
    >>> m = linkage_map()
    >>> m["vWA"].chromosome, m["vWA"].cM
    ('12', 15.63031)
    """
    text = resources.files("kinship").joinpath(_MAP_FILE).read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(text.splitlines()):
        out[row["locus"]] = MapPosition(row["locus"], row["chromosome"], float(row["cM"]))
    return out


def _morgans(cM, name: str) -> np.ndarray:
    d = np.asarray(cM, dtype=np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ReuniteInputError(f"{name}: map distance {cM!r} cM; expected a finite distance >= 0 cM")
    return d / 100.0


def haldane(cM):
    """Recombination fraction of Haldane's map function, ``r = (1 - exp(-2 d)) / 2``.

    Haldane (1919), J. Genet. 8:299-309; ``d`` in Morgans (``cM / 100``).

    Parameters
    ----------
    cM : float or array_like of float
        Map distance in centimorgans, ``>= 0``.

    Returns
    -------
    float or ndarray of float64
        ``r``, in ``[0, 1/2)``; the shape of ``cM``.

    Raises
    ------
    ReuniteInputError
        A negative or non-finite distance.

    Examples
    --------
    >>> round(haldane(11.94098), 6), haldane(0.0)
    (0.106222, 0.0)
    """
    d = _morgans(cM, "haldane")
    r = -0.5 * np.expm1(-2.0 * d)
    return float(r) if r.ndim == 0 else r


def kosambi(cM):
    """Recombination fraction of Kosambi's map function, ``r = tanh(2 d) / 2``.

    Kosambi (1944), Ann. Eugen. 12:172-175; ``d`` in Morgans (``cM / 100``).

    Parameters
    ----------
    cM : float or array_like of float
        Map distance in centimorgans, ``>= 0``.

    Returns
    -------
    float or ndarray of float64
        ``r``, in ``[0, 1/2)``; the shape of ``cM``.

    Raises
    ------
    ReuniteInputError
        A negative or non-finite distance.

    Examples
    --------
    >>> round(kosambi(11.94098), 6)
    0.11719
    """
    d = _morgans(cM, "kosambi")
    r = 0.5 * np.tanh(2.0 * d)
    return float(r) if r.ndim == 0 else r


def linked_pairs(
    loci: Iterable[str],
    *,
    max_cM: float = DEFAULT_MAX_CM,
    map_function: str = "haldane",
) -> tuple[LinkedPair, ...]:
    """The pairs of ``loci`` that are linked: on one chromosome, at most ``max_cM`` apart.

    Parameters
    ----------
    loci : iterable of str
        The run's loci (names or aliases of the catalogue, :mod:`kinship.genetics.loci`);
        names outside the catalogue or the map (AMEL, Y-STRs, markers the map lacks) are
        never paired.
    max_cM : float
        Largest distance of a linked pair, centimorgans (:data:`DEFAULT_MAX_CM` = 30).
    map_function : {"haldane", "kosambi"}

    Returns
    -------
    tuple of LinkedPair
        Disjoint pairs: a locus is in at most one pair. Where a locus could pair with more
        than one other, the closest pairs are taken first (greedily, ties by the order of
        ``loci``) and the rest are treated as independent: no super-locus of three or more
        loci is built. Ordered by the position of ``first`` in ``loci``; ``first`` and
        ``second`` in the order of ``loci``.

    Raises
    ------
    ReuniteInputError
        A locus given twice, a negative ``max_cM`` or an unknown ``map_function``.

    Examples
    --------
    >>> [(p.name, round(p.distance_cM, 2)) for p in linked_pairs(["D12S391", "TH01", "VWA"])]
    [('D12S391~vWA', 11.94)]
    >>> [p.name for p in linked_pairs(["D21S11", "D21S2055", "Penta D"], max_cM=40)]
    ['D21S2055~Penta D']
    """
    if map_function not in MAP_FUNCTIONS:
        raise ReuniteInputError(f"map function {map_function!r} is unknown; expected one of {MAP_FUNCTIONS}")
    if not (isinstance(max_cM, (int, float)) and math.isfinite(max_cM) and max_cM >= 0):
        raise ReuniteInputError(f"max_cM = {max_cM!r}; expected a distance >= 0 cM")
    to_r = haldane if map_function == "haldane" else kosambi
    catalogue = default_catalogue()
    gmap = linkage_map()
    names = [catalogue.canonical(x) if x in catalogue else x for x in loci]
    seen: dict[str, int] = {}
    for k, x in enumerate(names):
        if x in seen:
            raise ReuniteInputError(
                f"locus {x!r} is given twice (positions {seen[x]} and {k}) in the loci of linked_pairs; give each locus once"
            )
        seen[x] = k
    placed = [(k, gmap[x]) for k, x in enumerate(names) if x in gmap]
    candidates = []
    for a in range(len(placed)):
        for b in range(a + 1, len(placed)):
            (i, pa), (j, pb) = placed[a], placed[b]
            if pa.chromosome != pb.chromosome:
                continue
            d = abs(pa.cM - pb.cM)
            if d <= max_cM:
                candidates.append((d, i, j))
    used: set[int] = set()
    chosen = []
    for d, i, j in sorted(candidates):
        if i in used or j in used:
            continue
        used.update((i, j))
        chosen.append((i, j, d))
    chosen.sort()
    return tuple(
        LinkedPair(names[i], names[j], gmap[names[i]].chromosome, d, float(to_r(d))) for i, j, d in chosen
    )
