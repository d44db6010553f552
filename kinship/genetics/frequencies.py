"""Allele frequency tables and the effective table of a match run.

A :class:`FrequencyTable` maps each locus to its alleles (canonical labels in canonical order)
and their frequencies (float64, summing to 1). An allele a profile carries but the table lacks
gets the *minimum allele frequency* (NRC II, 1996, recommendation 4.1 / p. 148:
``5 / (2N)`` with ``N`` the number of individuals behind the table); when ``N`` is unknown a
documented floor is used instead (default 0.001, the minimum the norSTR 2023 databases apply
themselves). The table is then renormalised to sum to 1. Every such substitution is returned
so the run can report it.

**Sum rule** (:meth:`FrequencyTable.from_mapping`, hence every table read from a file). A locus
whose frequencies sum outside ``1 ± SUM_TOLERANCE`` (0.01) is refused, naming the locus and the
sum: such a table lacks alleles or is wrong, and rescaling it would change every LR it enters
without anyone deciding so. Within the tolerance the locus is divided by its sum; when the sum
differs from 1 by more than :data:`ROUNDING_TOLERANCE` (1e-4, the rounding of published tables:
the bundled NIST 1036 table, written to 7 digits, departs from 1 by at most 1.8e-6) the
renormalisation is warned about and recorded (:attr:`FrequencyTable.renormalised`), and a match
run carries it into its provenance and its report. Two labels of one locus that name the same
allele (``10`` and ``10.0``) are refused.

**Silent (null) alleles.** A table may give a locus the allele :data:`SILENT_ALLELE`
(``"silent"``, Familias's name), always sorted after every other allele of the locus
(:func:`table_allele_key`). A match run uses them only when asked
(``MatchParameters.silent_alleles``): otherwise :func:`effective_table` drops them and
renormalises the rest (documented, not warned: it is the run's choice).

The *effective table* of a match run is the chosen table plus every allele present in the
store but absent from it, renormalised (silent alleles kept or dropped as the run asks; the
unknown allele ``"?"`` of a partial genotype is never added). Its :func:`table_hash` enters
the run's provenance: the same inputs give the same bytes, hence the same hash.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np

from kinship.genetics.alleles import SILENT_ALLELE, UNKNOWN_ALLELE, allele_sort_key, parse_allele
from kinship.errors import AlleleError, FrequencyTableError

__all__ = [
    "DEFAULT_FREQUENCY_FLOOR",
    "SUM_TOLERANCE",
    "ROUNDING_TOLERANCE",
    "LocusFrequencies",
    "FrequencyTable",
    "Renormalisation",
    "AlleleSubstitution",
    "table_allele_key",
    "minimum_allele_frequency",
    "effective_table",
    "table_hash",
]

#: Minimum allele frequency used when the number of individuals behind a table is unknown.
DEFAULT_FREQUENCY_FLOOR = 0.001
#: A locus whose frequencies sum outside 1 ± this is refused (not rescaled).
SUM_TOLERANCE = 0.01
#: A locus whose sum departs from 1 by more than this (and at most SUM_TOLERANCE) is renormalised
#: with a warning recorded in the run's provenance; below it the departure is rounding.
ROUNDING_TOLERANCE = 1e-4


def table_allele_key(label: str) -> tuple:
    """Order of the alleles of a table: :func:`~kinship.genetics.alleles.allele_sort_key`, and the
    silent allele after every other one.

    Examples
    --------
    >>> sorted(["silent", "10", "9.3", "X"], key=table_allele_key)
    ['9.3', '10', 'X', 'silent']
    """
    return (label == SILENT_ALLELE, allele_sort_key(label))


def _same_allele_key(label: str) -> str:
    """The label two spellings of one allele share (``10.0`` and ``10``; ``Silent`` and ``silent``)."""
    if label.strip().lower() == SILENT_ALLELE:
        return SILENT_ALLELE
    try:
        return parse_allele(label) or label
    except AlleleError:
        return label


@dataclass(frozen=True)
class Renormalisation:
    """A locus whose frequencies summed to ``sum`` (within 1 ± SUM_TOLERANCE, beyond rounding)
    and were divided by it."""

    locus: str
    sum: float  # noqa: A003 - the field's name in the provenance (frequency_table.renormalised)


@dataclass(frozen=True)
class LocusFrequencies:
    """Frequencies at one locus.

    Attributes
    ----------
    alleles : tuple of str, length n
        Canonical labels in canonical order (:func:`table_allele_key`: the silent allele, if
        any, last).
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

    @property
    def silent(self) -> int | None:
        """Index of the silent allele (always last), or ``None`` if the locus has none.

        Examples
        --------
        >>> LocusFrequencies(("9", "10", "silent"), np.array([0.5, 0.4, 0.1])).silent
        2
        """
        return len(self.alleles) - 1 if self.alleles and self.alleles[-1] == SILENT_ALLELE else None

    def __post_init__(self):
        order = sorted(self.alleles, key=table_allele_key)
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
    renormalised : tuple of Renormalisation
        Loci whose sum departed from 1 beyond rounding (and within the tolerance) when the table
        was built, with the sum found; a match run records them in its provenance and report.
    """

    name: str
    loci: dict[str, LocusFrequencies] = field(default_factory=dict)
    renormalised: tuple[Renormalisation, ...] = ()

    @property
    def silent_alleles(self) -> dict[str, float]:
        """Frequency of the silent allele of each locus that has one (locus order)."""
        return {locus: float(lf.afreq[lf.silent]) for locus, lf in sorted(self.loci.items()) if lf.silent is not None}

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

        The sum rule of the module applies to every locus: a sum outside 1 ± :data:`SUM_TOLERANCE`
        is refused. With ``normalise`` (the default) each locus is then divided by its sum, and a
        sum departing from 1 by more than :data:`ROUNDING_TOLERANCE` is warned about
        (``UserWarning``) and recorded in :attr:`renormalised`; with ``normalise=False`` the
        values are kept as given (peer cases whose frequencies already sum to 1). A label
        ``silent`` (any case) is the silent allele, stored as ``"silent"`` after the others.

        Raises
        ------
        FrequencyTableError
            If a frequency is not finite and positive, a locus is empty, a locus sums outside
            1 ± 0.01 (the message names the locus and the sum), or two labels of a locus name
            one allele (``10`` and ``10.0``).

        Examples
        --------
        >>> t = FrequencyTable.from_mapping("toy", {"TH01": {"9.3": 0.3, "6": 0.7}})
        >>> t["TH01"].alleles, t["TH01"].afreq.tolist(), t.renormalised
        (('6', '9.3'), [0.7, 0.3], ())
        >>> FrequencyTable.from_mapping("toy", {"TH01": {"6": 0.7, "9.3": 0.27}})
        Traceback (most recent call last):
        ...
        kinship.errors.FrequencyTableError: table 'toy': the frequencies of locus TH01 sum to 0.97; expected 1 ± 0.01 (a table that lacks alleles or is wrong is not rescaled); fix: correct the table, or give the missing alleles their frequencies
        """
        loci = {}
        renormalised = []
        for locus, freqs in afreq.items():
            if not freqs:
                raise FrequencyTableError(
                    f"table {name!r}: locus {locus} has no alleles; expected at least one allele with "
                    "its frequency; fix: give the locus's alleles, or remove the locus from the table"
                )
            spellings: dict[str, list[str]] = {}
            for a in freqs:
                spellings.setdefault(_same_allele_key(a), []).append(a)
            twice = {k: v for k, v in spellings.items() if len(v) > 1}
            if twice:
                same, labels = next(iter(twice.items()))
                raise FrequencyTableError(
                    f"table {name!r}: locus {locus} gives allele {same} {len(labels)} times (as "
                    f"{', '.join(repr(a) for a in labels)}); expected each allele once; fix: keep one "
                    "row per allele"
                )
            labelled = {(SILENT_ALLELE if k == SILENT_ALLELE else v[0]): freqs[v[0]] for k, v in spellings.items()}
            alleles = sorted(labelled, key=table_allele_key)
            values = np.array([float(labelled[a]) for a in alleles], dtype=np.float64)
            bad = [a for a, v in zip(alleles, values) if not (np.isfinite(v) and v > 0)]
            if bad:
                raise FrequencyTableError(
                    f"table {name!r}: locus {locus} allele(s) {bad} have frequency "
                    f"{[labelled[a] for a in bad]}; expected a positive number; remove the row or "
                    "give the observed frequency"
                )
            total = float(values.sum())
            if abs(total - 1.0) > SUM_TOLERANCE:
                raise FrequencyTableError(
                    f"table {name!r}: the frequencies of locus {locus} sum to {total:.6g}; expected "
                    f"1 ± {SUM_TOLERANCE:g} (a table that lacks alleles or is wrong is not rescaled); "
                    "fix: correct the table, or give the missing alleles their frequencies"
                )
            if normalise:
                if abs(total - 1.0) > ROUNDING_TOLERANCE:
                    renormalised.append(Renormalisation(locus, total))
                    warnings.warn(
                        f"table {name!r}: the frequencies of locus {locus} sum to {total:.6g}, not 1; "
                        "divided by their sum (recorded in the run's provenance and report)",
                        UserWarning, stacklevel=2,
                    )
                values = values / total
            n = (n_individuals or {}).get(locus)
            loci[locus] = LocusFrequencies(tuple(alleles), values, n)
        return cls(name, loci, tuple(renormalised))


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
    silent_alleles: bool = False,
) -> tuple[FrequencyTable, list[AlleleSubstitution]]:
    """The chosen table plus every observed allele it lacks, renormalised.

    Parameters
    ----------
    table : FrequencyTable
    observed : mapping of locus to iterable of str
        Canonical allele labels present in the store, per canonical locus name. Loci absent
        from ``table`` are ignored here (the matcher leaves them out and reports them). The
        reserved labels are not alleles of a profile and are never added: ``"?"`` (the unknown
        second allele of a partial genotype) and ``"silent"``.
    floor : float
        Minimum frequency when the table does not give ``N``.
    silent_alleles : bool
        Keep the table's silent alleles (``MatchParameters.silent_alleles``). When false (the
        default) every ``"silent"`` allele is dropped and its locus renormalised over the other
        alleles: the run then assumes every allele amplifies, as a table without silent alleles
        does.

    Returns
    -------
    table : FrequencyTable
        Named ``"<name>+<k> added"`` when alleles were added (else the same name); every
        locus renormalised to sum 1; ``renormalised`` carried over from ``table``.
    substitutions : list of AlleleSubstitution
        One per added allele, in locus then allele order.

    Raises
    ------
    FrequencyTableError
        A locus whose only allele is the silent one, with silent alleles off.

    Examples
    --------
    >>> t = FrequencyTable.from_mapping("toy", {"TPOX": {"8": 0.5, "11": 0.5}}, {"TPOX": 50})
    >>> eff, subs = effective_table(t, {"TPOX": ["8", "13", "?"]})
    >>> [(s.allele, s.frequency) for s in subs]
    [('13', 0.05)]
    >>> eff["TPOX"].alleles, eff["TPOX"].afreq.round(6).tolist()
    (('8', '11', '13'), [0.47619, 0.47619, 0.047619])

    A silent allele of frequency 0.02 is kept on request, else dropped (0.49 / 0.98 = 0.5):

    >>> t = FrequencyTable.from_mapping("toy", {"TPOX": {"8": 0.49, "11": 0.49, "silent": 0.02}})
    >>> effective_table(t, {}, silent_alleles=True)[0]["TPOX"].alleles
    ('8', '11', 'silent')
    >>> effective_table(t, {})[0]["TPOX"].afreq.tolist()
    [0.5, 0.5]
    """
    loci = {}
    substitutions: list[AlleleSubstitution] = []
    reserved = {UNKNOWN_ALLELE, SILENT_ALLELE}
    for locus in sorted(table.loci):
        lf = table.loci[locus]
        freqs = dict(zip(lf.alleles, lf.afreq.tolist()))
        if not silent_alleles:
            freqs.pop(SILENT_ALLELE, None)
            if not freqs:
                raise FrequencyTableError(
                    f"table {table.name!r}: locus {locus} has only the silent allele; expected at least "
                    "one allele that amplifies; fix: correct the table, or run with silent_alleles"
                )
        missing = sorted(set(observed.get(locus, ())) - set(freqs) - reserved, key=table_allele_key)
        if missing:
            fmin, rule = minimum_allele_frequency(lf.n_individuals, floor)
            for allele in missing:
                freqs[allele] = fmin
                substitutions.append(AlleleSubstitution(locus, allele, fmin, rule))
        alleles = sorted(freqs, key=table_allele_key)
        values = np.array([freqs[a] for a in alleles], dtype=np.float64)
        loci[locus] = LocusFrequencies(tuple(alleles), values / values.sum(), lf.n_individuals)
    name = table.name if not substitutions else f"{table.name}+{len(substitutions)} added"
    return FrequencyTable(name, loci, table.renormalised), substitutions


def table_hash(table: FrequencyTable) -> str:
    """SHA-256 of a canonical serialisation of the table (loci sorted, exact float hex).

    Examples
    --------
    >>> t = FrequencyTable.from_mapping("toy", {"TPOX": {"8": 0.5, "11": 0.5}})
    >>> table_hash(t) == table_hash(FrequencyTable.from_mapping("toy", {"TPOX": {"11": 0.5, "8": 0.5}}))
    True
    """
    h = hashlib.sha256()
    for locus in sorted(table.loci):
        lf = table.loci[locus]
        h.update(f"{locus}\n".encode())
        for allele, p in zip(lf.alleles, lf.afreq.tolist()):
            h.update(f"{allele}\t{float(p).hex()}\n".encode())
    return h.hexdigest()
