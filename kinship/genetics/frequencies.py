"""Allele frequency tables and the effective table of a match run.

A :class:`FrequencyTable` maps each locus to its alleles (canonical labels in canonical order)
and their frequencies (float64, summing to 1). An allele a profile carries but the table lacks
gets the *minimum allele frequency* (NRC II, 1996, recommendation 4.1 / p. 148:
``5 / (2N)`` with ``N`` the number of individuals behind the table); when ``N`` is unknown a
documented floor is used instead (default 0.001, the minimum the norSTR 2023 databases apply
themselves). The table is then renormalised to sum to 1. Every such substitution is returned
so the run can report it.

The *effective table* of a match run is the chosen table plus every allele present in the
store but absent from it, renormalised. Its :func:`table_hash` enters the run's provenance:
the same inputs give the same bytes, hence the same hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from kinship.genetics.alleles import allele_sort_key
from kinship.errors import FrequencyTableError

__all__ = [
    "DEFAULT_FREQUENCY_FLOOR",
    "LocusFrequencies",
    "FrequencyTable",
    "AlleleSubstitution",
    "minimum_allele_frequency",
    "effective_table",
    "table_hash",
]

#: Minimum allele frequency used when the number of individuals behind a table is unknown.
DEFAULT_FREQUENCY_FLOOR = 0.001


@dataclass(frozen=True)
class LocusFrequencies:
    """Frequencies at one locus.

    Attributes
    ----------
    alleles : tuple of str, length n
        Canonical labels in canonical order (:func:`kinship.genetics.alleles.allele_sort_key`).
    afreq : ndarray of float64, shape (n,)
        Frequencies, each > 0, summing to 1.
    n_individuals : int or None
        Individuals behind the estimate (``N``), if the source gives it.
    """

    alleles: tuple[str, ...]
    afreq: np.ndarray
    n_individuals: int | None = None

    def index(self, allele: str) -> int:
        return self.alleles.index(allele)

    def __post_init__(self):
        order = sorted(self.alleles, key=allele_sort_key)
        if list(self.alleles) != order or len(set(self.alleles)) != len(self.alleles):
            raise FrequencyTableError(f"alleles {self.alleles} are not distinct and in canonical order")
        if self.afreq.shape != (len(self.alleles),) or not np.all(self.afreq > 0):
            raise FrequencyTableError(
                f"frequencies {self.afreq} must be positive, one per allele {self.alleles}"
            )


@dataclass(frozen=True)
class FrequencyTable:
    """A named allele frequency table.

    Attributes
    ----------
    name : str
        Identifier quoted in reports and provenance, e.g. ``"norstr-2023/East Asia"``.
    loci : dict of str to LocusFrequencies
        Keyed by canonical locus name.
    """

    name: str
    loci: dict[str, LocusFrequencies] = field(default_factory=dict)

    def __contains__(self, locus: str) -> bool:
        return locus in self.loci

    def __getitem__(self, locus: str) -> LocusFrequencies:
        return self.loci[locus]

    @classmethod
    def from_mapping(
        cls,
        name: str,
        afreq: Mapping[str, Mapping[str, float]],
        n_individuals: Mapping[str, int | None] | None = None,
        *,
        normalise: bool = True,
    ) -> "FrequencyTable":
        """Build a table from ``{locus: {allele: frequency}}`` (labels already canonical).

        With ``normalise`` (the default) each locus is divided by its sum.

        Raises
        ------
        FrequencyTableError
            If a frequency is not finite and positive, or a locus is empty.

        Examples
        --------
        >>> t = FrequencyTable.from_mapping("toy", {"TH01": {"9.3": 0.3, "6": 0.7}})
        >>> t["TH01"].alleles, t["TH01"].afreq.tolist()
        (('6', '9.3'), [0.7, 0.3])
        """
        loci = {}
        for locus, freqs in afreq.items():
            if not freqs:
                raise FrequencyTableError(f"table {name!r}: locus {locus} has no alleles")
            alleles = sorted(freqs, key=allele_sort_key)
            values = np.array([float(freqs[a]) for a in alleles], dtype=np.float64)
            bad = [a for a, v in zip(alleles, values) if not (np.isfinite(v) and v > 0)]
            if bad:
                raise FrequencyTableError(
                    f"table {name!r}: locus {locus} allele(s) {bad} have frequency "
                    f"{[freqs[a] for a in bad]}; expected a positive number; remove the row or "
                    "give the observed frequency"
                )
            if normalise:
                values = values / values.sum()
            n = (n_individuals or {}).get(locus)
            loci[locus] = LocusFrequencies(tuple(alleles), values, n)
        return cls(name, loci)


@dataclass(frozen=True)
class AlleleSubstitution:
    """An allele the chosen table lacked, added to the effective table of a run."""

    locus: str
    allele: str
    frequency: float  # before renormalisation
    rule: str  # "5/(2N), N=..." or "floor"


def minimum_allele_frequency(n_individuals: int | None, floor: float = DEFAULT_FREQUENCY_FLOOR) -> tuple[float, str]:
    """Frequency given to an allele absent from a table, and the rule used.

    ``5 / (2N)`` (NRC II, 1996, p. 148) when ``N`` is known, else ``floor``.

    Examples
    --------
    >>> minimum_allele_frequency(250)
    (0.01, '5/(2N), N=250')
    >>> minimum_allele_frequency(None)
    (0.001, 'floor 0.001 (N unknown)')
    """
    if n_individuals:
        return 5.0 / (2 * n_individuals), f"5/(2N), N={n_individuals}"
    return floor, f"floor {floor:g} (N unknown)"


def effective_table(
    table: FrequencyTable,
    observed: Mapping[str, Iterable[str]],
    *,
    floor: float = DEFAULT_FREQUENCY_FLOOR,
) -> tuple[FrequencyTable, list[AlleleSubstitution]]:
    """The chosen table plus every observed allele it lacks, renormalised.

    Parameters
    ----------
    table : FrequencyTable
    observed : mapping of locus to iterable of str
        Canonical allele labels present in the store, per canonical locus name. Loci absent
        from ``table`` are ignored here (the matcher leaves them out and reports them).
    floor : float
        Minimum frequency when the table does not give ``N``.

    Returns
    -------
    table : FrequencyTable
        Named ``"<name>+<k> added"`` when alleles were added (else the same name); every
        locus renormalised to sum 1.
    substitutions : list of AlleleSubstitution
        One per added allele, in locus then allele order.

    Examples
    --------
    >>> t = FrequencyTable.from_mapping("toy", {"TPOX": {"8": 0.5, "11": 0.5}}, {"TPOX": 50})
    >>> eff, subs = effective_table(t, {"TPOX": ["8", "13"]})
    >>> [(s.allele, s.frequency) for s in subs]
    [('13', 0.05)]
    >>> eff["TPOX"].alleles, eff["TPOX"].afreq.round(6).tolist()
    (('8', '11', '13'), [0.47619, 0.47619, 0.047619])
    """
    loci = {}
    substitutions: list[AlleleSubstitution] = []
    for locus in sorted(table.loci):
        lf = table.loci[locus]
        freqs = dict(zip(lf.alleles, lf.afreq.tolist()))
        missing = sorted(set(observed.get(locus, ())) - set(freqs), key=allele_sort_key)
        if missing:
            fmin, rule = minimum_allele_frequency(lf.n_individuals, floor)
            for allele in missing:
                freqs[allele] = fmin
                substitutions.append(AlleleSubstitution(locus, allele, fmin, rule))
        alleles = sorted(freqs, key=allele_sort_key)
        values = np.array([freqs[a] for a in alleles], dtype=np.float64)
        loci[locus] = LocusFrequencies(tuple(alleles), values / values.sum(), lf.n_individuals)
    name = table.name if not substitutions else f"{table.name}+{len(substitutions)} added"
    return FrequencyTable(name, loci), substitutions


def table_hash(table: FrequencyTable) -> str:
    """SHA-256 of a canonical serialisation of the table (loci sorted, exact float hex).

    Examples
    --------
    >>> t = FrequencyTable.from_mapping("toy", {"TPOX": {"8": 0.5, "11": 0.5}})
    >>> table_hash(t) == table_hash(FrequencyTable.from_mapping("toy", {"TPOX": {"11": 1, "8": 1}}))
    True
    """
    h = hashlib.sha256()
    for locus in sorted(table.loci):
        lf = table.loci[locus]
        h.update(f"{locus}\n".encode())
        for allele, p in zip(lf.alleles, lf.afreq.tolist()):
            h.update(f"{allele}\t{float(p).hex()}\n".encode())
    return h.hexdigest()
