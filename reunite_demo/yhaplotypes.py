"""Simulated Y-STR haplotypes for the demo and the synthetic benchmark families.

No real Y haplotype data is bundled with the project (``kinship/data`` holds Y-STR *mutation
rates* only; the shared data folder has no Y haplotype sample with a provenance record), so the
haplotypes here are **simulated, not a real population sample**:

* **Kit**: the 25 Y loci of a Yfiler Plus-type kit (:data:`YSTR_KIT_LOCI`, the loci of
  ``kinship/data/ystr_mutation_rates.csv`` less PowerPlex Y23's DYS549 and DYS643), the
  multi-copy DYS385a/b and DYF387S1a/b as two copies, DYS389I and DYS389II as typed (DYS389II
  is the whole amplicon: DYS389I plus the segment DYS389II adds).
* **Unrelated men** (founders): every mutating *unit* (a copy; for DYS389II the segment it
  adds to DYS389I) is drawn independently from a discrete distribution around the unit's
  modal value ``m`` (:data:`FOUNDER_MODES`, round values in the range Yfiler Plus allele
  ladders cover, chosen for illustration): ``P(m + k) ∝ 0.4^|k|`` for ``k = -3..3``. Real Y
  loci are correlated through haplogroups; independent units make every simulated haplotype
  practically unique (as > 99 % of real Yfiler Plus haplotypes are in East Asian samples), so
  the store's counting frequency (x+1)/(N+1) is what a real store of unique haplotypes gives.
  No null alleles, duplications or microvariants are drawn.
* **Transmission** father to son: each unit mutates with the rate of its locus in
  ``kinship/data/ystr_mutation_rates.csv`` (per copy per generation), one repeat up or down
  (:func:`kinship.likelihood.simulate.simulate_y_transmission`).

A haplotype is an int64 array of the unit values, shape ``(n_units,)``, units in
:func:`y_units` order; :func:`y_calls` turns it into the calls a lab exports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinship.genetics.ystr import YstrRates, default_ystr_rates
from kinship.likelihood.simulate import simulate_y_transmission

__all__ = ["YSTR_KIT_LOCI", "FOUNDER_MODES", "YUnits", "y_units", "draw_founder", "transmit", "y_calls"]

#: Y loci of the simulated kit (Yfiler Plus), in its dye order.
YSTR_KIT_LOCI = (
    "DYS576", "DYS389I", "DYS635", "DYS389II", "DYS627",
    "DYS460", "DYS458", "DYS19", "YGATAH4", "DYS448", "DYS391",
    "DYS456", "DYS390", "DYS438", "DYS392", "DYS518",
    "DYS570", "DYS437", "DYS385", "DYS449",
    "DYS393", "DYS439", "DYS481", "DYF387S1", "DYS533",
)  # fmt: skip
#: Modal value of each unit of a founder (illustrative; a two-copy locus has two, DYS389II
#: gives the segment it adds to DYS389I).
FOUNDER_MODES = {
    "DYS576": (18,), "DYS389I": (13,), "DYS635": (21,), "DYS389II": (16,), "DYS627": (20,),
    "DYS460": (10,), "DYS458": (17,), "DYS19": (15,), "YGATAH4": (12,), "DYS448": (19,),
    "DYS391": (10,), "DYS456": (15,), "DYS390": (23,), "DYS438": (10,), "DYS392": (13,),
    "DYS518": (38,), "DYS570": (18,), "DYS437": (14,), "DYS385": (13, 18), "DYS449": (30,),
    "DYS393": (12,), "DYS439": (12,), "DYS481": (22,), "DYF387S1": (36, 38), "DYS533": (11,),
}  # fmt: skip
_OFFSETS = np.arange(-3, 4)
_WEIGHTS = 0.4 ** np.abs(_OFFSETS)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


@dataclass(frozen=True)
class YUnits:
    """The mutating units of the kit.

    Attributes
    ----------
    locus : tuple of str
        Locus of each unit (a two-copy locus twice).
    modes : ndarray of int64, shape (n_units,)
    rates : ndarray of float64, shape (n_units,)
        Mutation rate per generation of each unit (its locus's rate per copy).
    includes : dict of str to str
        Locus -> the locus its typed length contains (the rate table's ``includes``:
        DYS389II -> DYS389I); its unit is the segment it adds.
    """

    locus: tuple[str, ...]
    modes: np.ndarray
    rates: np.ndarray
    includes: dict


def y_units(rates: YstrRates | None = None) -> YUnits:
    """Units of :data:`YSTR_KIT_LOCI` with their rates from the Y-STR rate table.

    Raises
    ------
    KeyError
        If a kit locus has no row in the rate table, or its copies differ from the modes given.

    Examples
    --------
    >>> u = y_units()
    >>> len(u.locus), u.locus.count("DYS385"), float(u.rates[u.locus.index("DYS19")])
    (27, 2, 0.00223741)
    """
    table = {r.locus: r for r in (rates or default_ystr_rates()).loci}
    loci, modes, unit_rates = [], [], []
    for locus in YSTR_KIT_LOCI:
        if locus not in table or table[locus].copies != len(FOUNDER_MODES[locus]):
            raise KeyError(f"Y locus {locus} of the simulated kit: no row with {len(FOUNDER_MODES[locus])} copies in the rate table")
        for m in FOUNDER_MODES[locus]:
            loci.append(locus)
            modes.append(m)
            unit_rates.append(table[locus].rate)
    includes = {l: table[l].includes for l in YSTR_KIT_LOCI if table[l].includes}
    return YUnits(tuple(loci), np.array(modes, dtype=np.int64), np.array(unit_rates, dtype=np.float64), includes)


def draw_founder(units: YUnits, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Draw unrelated men's haplotypes from the founder model (module docstring).

    Parameters
    ----------
    units : YUnits
    rng : numpy.random.Generator
    n : int, optional
        Number of men; ``None`` gives one haplotype of shape (n_units,).

    Returns
    -------
    ndarray of int64, shape (n_units,) or (n, n_units)

    Examples
    --------
    >>> u = y_units()
    >>> h = draw_founder(u, np.random.default_rng(0), 1000)
    >>> h.shape, int(np.abs(h - u.modes).max())
    ((1000, 27), 3)
    """
    size = (1 if n is None else n, units.modes.size)
    offsets = rng.choice(_OFFSETS, size=size, p=_WEIGHTS)
    out = units.modes + offsets
    return out[0] if n is None else out


def transmit(father: np.ndarray, units: YUnits, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """The son's haplotype and the number of units that mutated.

    Examples
    --------
    >>> u = y_units()
    >>> son, n_mut = transmit(u.modes, u, np.random.default_rng(1))
    >>> son.shape, n_mut == int((son != u.modes).sum())
    ((27,), True)
    """
    son, steps = simulate_y_transmission(father, units.rates, rng)
    return son, int(np.count_nonzero(steps))


def y_calls(haplotype: np.ndarray, units: YUnits) -> list[tuple[str, tuple[str, ...]]]:
    """The calls a lab exports, per kit locus: one value at a single-copy locus, two (ascending)
    at a two-copy locus, a locus that includes another as typed (DYS389II = DYS389I + its segment).

    Examples
    --------
    >>> u = y_units()
    >>> calls = dict(y_calls(u.modes, u))
    >>> calls["DYS19"], calls["DYS385"], calls["DYS389I"], calls["DYS389II"]
    (('15',), ('13', '18'), ('13',), ('29',))
    """
    values: dict[str, list[int]] = {}
    for locus, v in zip(units.locus, haplotype.tolist()):
        values.setdefault(locus, []).append(int(v))
    out = []
    for locus in YSTR_KIT_LOCI:
        v = sorted(values[locus])
        if locus in units.includes:
            v = [values[units.includes[locus]][0] + values[locus][0]]
        out.append((locus, tuple(str(x) for x in v)))
    return out
