"""Y-STR loci: their mutation rates and copy numbers, and stored genotypes read as haplotype slots.

The table ``kinship/data/ystr_mutation_rates.csv`` (PROVENANCE.md, ``ystr_mutation_rates.csv``)
gives, per Y-STR locus of the catalogue: ``copies`` (2 for the multi-copy DYS385a/b and
DYF387S1a/b, else 1), ``includes`` (a locus whose typed length contains this one: DYS389II
contains DYS389I), the source's ``mutations`` and ``meioses``, ``rate`` (per copy per
generation) and ``source``. A catalogue Y locus without a row (Yindel, an insertion/deletion
and not a stepwise STR) is not compared. A locus quirk is a row here, never a branch in code.

How a stored Y genotype ``(allele_1, allele_2)`` (the store has two columns) is read:

* at a single-copy locus, ``(14, 14)`` is one copy 14 (the lab wrote ``14``) and ``(14, 15)`` a
  duplication (two copies, 14 and 15: not a mixture, :mod:`kinship.app.ingest.row_rules`);
* at a two-copy locus, ``(11, 14)`` is the copies 11 and 14 and ``(11, 11)`` two copies 11;
* :data:`NULL_ALLELE` (``"0"``) is a null allele (the locus deleted or not amplified); a
  triplication (three values) is never stored (the row is quarantined, ``y_copy_number``).

Each locus becomes two integer *slots* (its copies in ascending order, scikit-allel style):
a value ``10 * repeats + bases`` (``"17.2"`` is 172), :data:`ABSENT` for the second slot of a
single copy, :data:`NULL` for a null allele, :data:`UNTYPED` where the man is not typed. A locus
with ``includes`` is read as the difference of the two typed lengths (DYS389II - DYS389I, the
segment DYS389II adds; kit manuals report DYS389II as the whole amplicon, so one mutation in the
DYS389I segment changes both typed values and would be counted twice), and is untyped where
the included locus is. Two men are compared at a locus when both are typed there and every
slot either holds the same code or two values a whole number of repeats apart (the same
microvariant digit): copy-number differences, a null against a value, and microvariant changes
are not a stepwise change, so the locus is not compared (it is not a mismatch either).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from kinship.errors import MutationModelError
from kinship.genetics.alleles import allele_value

__all__ = [
    "NULL_ALLELE",
    "NULL_CALLS",
    "DEFAULT_YSTR_RATE",
    "UNTYPED",
    "ABSENT",
    "NULL",
    "YstrLocus",
    "YstrRates",
    "read_ystr_rates",
    "default_ystr_rates",
    "slot_codes",
    "label_codes",
    "pair_codes",
    "compare_slots",
]

#: Stored label of a null allele at a Y-STR locus.
NULL_ALLELE = "0"
#: Calls read as a null allele at a Y-STR locus (case-insensitive).
NULL_CALLS = frozenset({"0", "null"})
#: Rate for a Y-STR locus with no published value (documented default, "unsourced default").
DEFAULT_YSTR_RATE = 2.5e-3
UNTYPED = -1
ABSENT = -2
NULL = -3
_BUNDLED = "data/ystr_mutation_rates.csv"


@dataclass(frozen=True)
class YstrLocus:
    """One row of the Y-STR rate table."""

    locus: str
    copies: int
    includes: str
    rate: float
    source: str


@dataclass(frozen=True)
class YstrRates:
    """The Y-STR loci compared, in table order, with the table's file name and SHA-256."""

    loci: tuple[YstrLocus, ...]
    file: str
    sha256: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.locus for r in self.loci)

    def slot_rates(self) -> np.ndarray:
        """Rate of each slot (two per locus), float64 of shape (2 n_loci,)."""
        return np.repeat(np.array([r.rate for r in self.loci], dtype=np.float64), 2)

    def sources(self) -> dict[str, int]:
        """How many loci take each source."""
        out: dict[str, int] = {}
        for r in self.loci:
            out[r.source] = out.get(r.source, 0) + 1
        return out


def read_ystr_rates(path: str | Path | None = None, *, overrides: dict[str, float] | None = None) -> YstrRates:
    """Read the Y-STR rate table (the bundled one by default), with optional per-locus overrides.

    Parameters
    ----------
    path : path, optional
        A CSV of the bundled layout (``locus, copies, includes, mutations, meioses, rate,
        source``; lines starting with ``#`` are comments).
    overrides : dict of str to float, optional
        ``{locus: rate}`` replacing the table's rate (source becomes ``"override"``).

    Returns
    -------
    YstrRates

    Raises
    ------
    MutationModelError
        A row without a rate in [0, 1), copies other than 1 or 2, an ``includes`` not in the
        table, or an override for a locus not in the table.

    Examples
    --------
    >>> rates = read_ystr_rates()
    >>> r = {x.locus: x for x in rates.loci}
    >>> r["DYS19"].rate, r["DYS385"].copies, r["DYS389II"].includes
    (0.00223741, 2, 'DYS389I')
    >>> read_ystr_rates(overrides={"DYS19": 0.003}).loci[1].source
    'override'
    """
    if path is None:
        raw = resources.files("kinship").joinpath(_BUNDLED).read_bytes()
        name = "kinship/" + _BUNDLED
    else:
        raw = Path(path).read_bytes()
        name = str(path)
    text = raw.decode("utf-8")
    rows = []
    for k, row in enumerate(csv.DictReader(l for l in text.splitlines() if not l.startswith("#")), 2):
        try:
            rate, copies = float(row["rate"]), int(row["copies"])
            if not (0.0 <= rate < 1.0) or copies not in (1, 2):
                raise ValueError
            rows.append(YstrLocus(row["locus"], copies, row["includes"] or "", rate, row["source"] or ""))
        except (KeyError, ValueError, TypeError):
            raise MutationModelError(
                f"Y-STR rate file {name} row {k}: {row!r}; expected locus, copies (1 or 2), includes, "
                "mutations, meioses, rate (0 <= rate < 1), source; fix the row"
            ) from None
    names = {r.locus for r in rows}
    for r in rows:
        if r.includes and r.includes not in names:
            raise MutationModelError(
                f"Y-STR rate file {name}: {r.locus} includes {r.includes!r}, which has no row; add it or clear 'includes'"
            )
    for locus, rate in (overrides or {}).items():
        if locus not in names or not (0.0 <= float(rate) < 1.0):
            raise MutationModelError(
                f"Y-STR rate override {locus!r}: {rate!r}; expected a locus of {name} and 0 <= rate < 1"
            )
    rows = [YstrLocus(r.locus, r.copies, r.includes, float(overrides[r.locus]), "override")
            if overrides and r.locus in overrides else r for r in rows]
    return YstrRates(tuple(rows), name, hashlib.sha256(raw).hexdigest())


def default_ystr_rates() -> YstrRates:
    """The bundled table (read on use, never at import)."""
    return read_ystr_rates()


def _label_code(label: str) -> int:
    if label.strip().lower() in NULL_CALLS:
        return NULL
    v = allele_value(label)
    return 10 * v.repeats + v.bases


def slot_codes(allele_1: np.ndarray, allele_2: np.ndarray, copies: np.ndarray) -> np.ndarray:
    """Slot codes of stored Y genotypes.

    Parameters
    ----------
    allele_1, allele_2 : ndarray of str, shape (n,)
        Stored labels (canonical, sorted).
    copies : ndarray of int, shape (n,)
        The locus's ``copies`` for each row.

    Returns
    -------
    ndarray of int32, shape (n, 2)
        Ascending codes; a single-copy locus with one value has :data:`ABSENT` second.

    Examples
    --------
    >>> slot_codes(np.array(["14", "14", "11", "0", "17.2"]), np.array(["14", "15", "11", "0", "17.2"]),
    ...            np.array([1, 1, 2, 1, 1])).tolist()
    [[140, -2], [140, 150], [110, 110], [-3, -2], [172, -2]]
    """
    labels = np.concatenate([allele_1, allele_2]).astype(str)
    uniq, inv = np.unique(labels, return_inverse=True)
    codes = label_codes(uniq)[inv].reshape(2, -1)
    return pair_codes(codes[0], codes[1], copies)


def label_codes(labels) -> np.ndarray:
    """Slot code of each allele label (``10 * repeats + bases``; :data:`NULL` for a null allele), int32.

    Examples
    --------
    >>> label_codes(["14", "17.2", "0"]).tolist()
    [140, 172, -3]
    """
    return np.array([_label_code(str(u)) for u in labels], dtype=np.int32)


def pair_codes(code_1: np.ndarray, code_2: np.ndarray, copies: np.ndarray) -> np.ndarray:
    """Slot codes, shape (n, 2), of stored genotypes given as label codes (:func:`label_codes`)."""
    codes = np.sort(np.stack([code_1, code_2], axis=1).astype(np.int32), axis=1)
    single = (np.asarray(copies) == 1) & (codes[:, 0] == codes[:, 1])
    codes[single, 1] = ABSENT
    return codes


def compare_slots(ref: np.ndarray, cand: np.ndarray, n_loci: int) -> tuple[np.ndarray, np.ndarray]:
    """Which loci two men are compared at, and the repeat steps of each slot.

    Parameters
    ----------
    ref, cand : ndarray of int32, shape (n_pairs, 2 n_loci)
        Slot codes (:func:`slot_codes`; two slots per locus, locus ``l`` at ``2l, 2l + 1``).
    n_loci : int

    Returns
    -------
    compared : ndarray of bool, shape (n_pairs, n_loci)
        Both typed, the same copy pattern and whole-repeat differences at every slot.
    steps : ndarray of int16, shape (n_pairs, 2 n_loci)
        ``|difference| / 10`` at the value slots of compared loci, -1 elsewhere (an absent copy
        or a null allele, equal on both sides, has no repeat to mutate).

    Examples
    --------
    DYS19 14 vs 15 (one step); DYS385 11,14 vs 11,14; a duplication 14,15 vs a single 14 (not compared):

    >>> ref = np.array([[140, -2, 110, 140, 140, -2]]); cand = np.array([[150, -2, 110, 140, 140, 150]])
    >>> c, s = compare_slots(ref, cand, 3)
    >>> c.tolist(), s.tolist()
    ([[True, True, False]], [[1, -1, 0, 0, -1, -1]])
    """
    ref = np.asarray(ref, dtype=np.int64)
    cand = np.asarray(cand, dtype=np.int64)
    diff = np.abs(ref - cand)
    values = (ref >= 0) & (cand >= 0)
    slot_ok = (ref == cand) | (values & (diff % 10 == 0))
    typed = (ref != UNTYPED) & (cand != UNTYPED)
    ok = (slot_ok & typed).reshape(len(ref), n_loci, 2).all(axis=2)
    # an absent copy or a null allele on both sides is equal but carries no repeat to mutate
    steps = np.where(values & np.repeat(ok, 2, axis=1), diff // 10, -1).astype(np.int16)
    return ok, steps
