"""Profiles as columns: :class:`ProfileTable`, every sample's genotypes in a few integer arrays.

A match run holds every stored profile (about 2.6 million references and 10^5 candidates at
20 loci on a national database: 5 x 10^7 genotypes). As a dict of dicts of tuples that is
several GB of Python objects and minutes of Python loops; as a :class:`ProfileTable` it is one
row per genotype of five integer columns - sample index (int32), locus code (int16), the two
allele codes (int32) - plus the categories: the sorted sample ids, loci and allele labels
(ISFG strings exactly as stored, ``"9.3"``; ``"?"`` for the unknown second allele of a partial
genotype, :data:`kinship.genetics.alleles.UNKNOWN_ALLELE`). No genotype is changed.

The table is a read-only ``Mapping[str, Mapping[str, tuple[str, str]]]`` (sample id to
``{locus: (allele_1, allele_2)}``, the *profile* of :mod:`kinship.matching.compiler`): a
sample's profile is built when it is asked for. The hot paths of a match run have vectorised
methods instead: :meth:`~ProfileTable.observed_alleles` (the effective table's input),
:meth:`~ProfileTable.typed_counts`, :meth:`~ProfileTable.encode` (the allele-index arrays of
``schemas/genotype_encoding.v2.json``) and :meth:`~ProfileTable.profile_json` /
:meth:`~ProfileTable.sha256` (the canonical JSON of each profile, byte for byte
``json.dumps(sorted(profile.items()))``, which the run's input hashes are made of).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property

import numpy as np
import pandas as pd

from kinship.errors import FrequencyTableError, ReuniteInputError
from kinship.genetics.alleles import UNKNOWN_ALLELE
from kinship.genetics.encoding import ALLELE_DTYPE, UNKNOWN, UNTYPED

__all__ = ["ProfileTable", "as_profile_table"]

#: Samples whose canonical JSON is built in one go by :meth:`ProfileTable.profile_json`'s
#: callers (bounds the transient buffers to ~50 MB at 20 loci).
JSON_CHUNK = 1 << 16

_COLUMNS = ("sample_id", "locus", "allele_1", "allele_2")


def _raw_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes int64, categories object)`` of one column: a categorical column's own codes,
    anything else hashed once (:func:`pandas.factorize`); ``-1`` for a null."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return np.asarray(values.cat.codes, dtype=np.int64), np.asarray(values.cat.categories, dtype=object)
    codes, cats = pd.factorize(values, sort=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(cats, dtype=object)


def _codes(values: pd.Series, what: str, rows: np.ndarray | None = None,
           raw: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(codes int64, categories)`` of one column at ``rows`` (bool mask; default all): the
    used values only, sorted in Python's string order (the order of ``sorted``), codes into them."""
    codes, cats = raw if raw is not None else _raw_codes(values)
    if rows is not None:
        codes = codes[rows]
    if codes.size and codes.min() < 0:
        k = int(np.flatnonzero(codes < 0)[0])
        row = int(np.flatnonzero(rows)[k]) if rows is not None else k
        raise ReuniteInputError(
            f"genotypes row {row}: {what} is empty (null); expected a value in every row; "
            "fix: pass the store's genotypes (Store.load_genotypes)")
    used = np.bincount(codes, minlength=cats.size) > 0 if codes.size else np.zeros(cats.size, bool)
    kept = cats[used]
    order = np.argsort(kept, kind="stable")
    remap = np.full(cats.size, -1, dtype=np.int64)
    remap[np.flatnonzero(used)[order]] = np.arange(kept.size)
    return remap[codes], kept[order]


def _json_token(value) -> str:
    return json.encoder.encode_basestring_ascii(value) if isinstance(value, str) else json.dumps(value)


class ProfileTable(Mapping):
    """Every sample's genotypes as integer columns; a read-only mapping of sample id to profile.

    Build it with :meth:`from_frame` (the store's genotypes) or :meth:`from_mapping`; the
    constructor takes the columns as they are (sorted, one row per sample and locus).

    Parameters
    ----------
    sample_ids : sequence of str, length n_samples
        Sorted, unique. A sample may have no row (an empty profile, from :meth:`from_mapping`).
    sample : ndarray of int, shape (n_rows,)
        Index into ``sample_ids`` of each genotype row, non-decreasing.
    loci : sequence of str, sorted, unique
    locus : ndarray of int, shape (n_rows,)
        Index into ``loci``; increasing within a sample.
    alleles : sequence of str, sorted, unique
        The allele labels of both columns (``"?"`` included when a partial genotype is stored).
    allele_1, allele_2 : ndarray of int, shape (n_rows,)
        Indices into ``alleles``.

    Attributes
    ----------
    sample_ids : ndarray of object (str), shape (n_samples,)
    loci : tuple of str
    alleles : ndarray of object (str)
    sample : ndarray of int32, shape (n_rows,)
    locus : ndarray of int16, shape (n_rows,)
    allele_1, allele_2 : ndarray of int32, shape (n_rows,)
    offsets : ndarray of int64, shape (n_samples + 1,)
        The rows of sample ``i`` are ``offsets[i]:offsets[i + 1]``.

    Raises
    ------
    ValueError
        When the columns are not sorted and unique as described (a bug of the caller: the
        class methods always build them so).

    Examples
    --------
    >>> g = pd.DataFrame({"sample_id": ["R1", "R1", "C1"], "locus": ["TH01", "vWA", "TH01"],
    ...                   "allele_1": ["6", "17", "9.3"], "allele_2": ["9.3", "?", "9.3"]})
    >>> t = ProfileTable.from_frame(g)
    >>> list(t), t["R1"], len(t), t.n_rows
    (['C1', 'R1'], {'TH01': ('6', '9.3'), 'vWA': ('17', '?')}, 2, 3)
    >>> t == {"R1": {"vWA": ("17", "?"), "TH01": ("6", "9.3")}, "C1": {"TH01": ("9.3", "9.3")}}
    True
    """

    def __init__(self, sample_ids, sample, loci, locus, alleles, allele_1, allele_2):
        self.sample_ids = np.asarray(list(sample_ids), dtype=object).reshape(-1)
        self.loci = tuple(loci)
        self.alleles = np.asarray(list(alleles), dtype=object).reshape(-1)
        self.sample = np.asarray(sample, dtype=np.int32).reshape(-1)
        self.locus = np.asarray(locus, dtype=np.int16).reshape(-1)
        self.allele_1 = np.asarray(allele_1, dtype=np.int32).reshape(-1)
        self.allele_2 = np.asarray(allele_2, dtype=np.int32).reshape(-1)
        n = self.sample.size
        if not (self.locus.size == self.allele_1.size == self.allele_2.size == n):
            raise ValueError("ProfileTable: the row columns differ in length")
        if n and (self.sample.min() < 0 or self.sample.max() >= self.sample_ids.size
                  or self.locus.min() < 0 or self.locus.max() >= len(self.loci)
                  or min(self.allele_1.min(), self.allele_2.min()) < 0
                  or max(self.allele_1.max(), self.allele_2.max()) >= self.alleles.size):
            raise ValueError("ProfileTable: a code is out of its categories")
        key = self.sample.astype(np.int64) * max(len(self.loci), 1) + self.locus
        if n > 1 and not (np.diff(key) > 0).all():
            raise ValueError("ProfileTable: rows are not sorted by (sample, locus) with one row each")
        self.offsets = np.searchsorted(self.sample, np.arange(self.sample_ids.size + 1)).astype(np.int64)

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, loci: Sequence[str] | None = None) -> "ProfileTable":
        """The profiles of a genotypes frame, vectorised (no per-row Python).

        Parameters
        ----------
        frame : DataFrame
            Columns ``sample_id, locus, allele_1, allele_2`` (str or categorical of str, as
            :meth:`kinship.store.Store.load_genotypes` gives them; other columns ignored), one
            row per genotype. When a sample has two rows at one locus the later row is kept
            (as filling a dict in row order would).
        loci : sequence of str, optional
            Only the rows at these loci (a match run: the autosomal ones); a sample with no
            row left is not in the table. Default: every row.

        Returns
        -------
        ProfileTable
            Samples, loci and alleles sorted; only the samples with a row.

        Raises
        ------
        ReuniteInputError
            A missing column, or a null in one of them.
        """
        missing = [c for c in _COLUMNS if c not in frame.columns]
        if missing:
            raise ReuniteInputError(
                f"genotypes: missing column(s) {missing}; expected columns {list(_COLUMNS)}; "
                "fix: pass the store's genotypes (Store.load_genotypes)")
        rows = None
        raw_locus = _raw_codes(frame["locus"])
        if loci is not None:
            wanted = pd.Index(raw_locus[1]).isin(list(loci))
            rows = np.append(wanted, False)[raw_locus[0]]  # a null locus (-1) is not wanted
        l, loci = _codes(frame["locus"], "locus", rows, raw_locus)
        s, sample_ids = _codes(frame["sample_id"], "sample_id", rows)
        a1, cats_1 = _codes(frame["allele_1"], "allele_1", rows)
        a2, cats_2 = _codes(frame["allele_2"], "allele_2", rows)
        alleles = np.unique(np.concatenate([cats_1, cats_2])) if cats_1.size + cats_2.size else cats_1
        a1 = np.searchsorted(alleles, cats_1)[a1] if a1.size else a1
        a2 = np.searchsorted(alleles, cats_2)[a2] if a2.size else a2
        key = s * max(loci.size, 1) + l
        if key.size > 1 and not (np.diff(key) > 0).all():
            order = np.argsort(key, kind="stable")  # rows of one (sample, locus) in frame order
            key = key[order]
            last = np.append(key[1:] != key[:-1], True)  # the later row of a duplicate wins
            keep = order[last]
            s, l, a1, a2 = s[keep], l[keep], a1[keep], a2[keep]
        return cls(sample_ids, s, loci, l, alleles, a1, a2)

    @classmethod
    def from_mapping(cls, profiles: Mapping[str, Mapping[str, tuple[str, str]]]) -> "ProfileTable":
        """The table of a dict of profiles (``{sample id: {locus: (allele_1, allele_2)}}``);
        a sample with an empty profile is kept (with no row). A :class:`ProfileTable` is
        returned as it is.

        Examples
        --------
        >>> t = ProfileTable.from_mapping({"B": {"TH01": ("6", "7")}, "A": {}})
        >>> list(t.items())
        [('A', {}), ('B', {'TH01': ('6', '7')})]
        """
        if isinstance(profiles, ProfileTable):
            return profiles
        ids, loci, a1, a2 = [], [], [], []
        for sample_id, profile in profiles.items():
            for locus, pair in profile.items():
                first, second = pair
                ids.append(sample_id)
                loci.append(locus)
                a1.append(first)
                a2.append(second)
        frame = pd.DataFrame({"sample_id": pd.Series(ids, dtype=object), "locus": pd.Series(loci, dtype=object),
                              "allele_1": pd.Series(a1, dtype=object), "allele_2": pd.Series(a2, dtype=object)})
        table = cls.from_frame(frame)
        empty = [s for s, p in profiles.items() if not p]
        if not empty:
            return table
        sample_ids = np.asarray(sorted(set(table.sample_ids.tolist()) | set(empty)), dtype=object)
        remap = np.searchsorted(sample_ids, table.sample_ids) if table.sample_ids.size else np.zeros(0, np.int64)
        return cls(sample_ids, remap[table.sample] if table.n_rows else table.sample, table.loci, table.locus,
                   table.alleles, table.allele_1, table.allele_2)

    # -- the Mapping protocol -----------------------------------------------------------------

    @cached_property
    def _index(self) -> pd.Index:
        return pd.Index(self.sample_ids, dtype=object)

    def positions(self, sample_ids: Sequence[str]) -> np.ndarray:
        """Index of each sample id in :attr:`sample_ids`, ``-1`` when it has no profile.

        Returns
        -------
        ndarray of int64, shape (len(sample_ids),)
        """
        wanted = list(sample_ids)
        if not wanted:
            return np.zeros(0, dtype=np.int64)
        return np.asarray(self._index.get_indexer(pd.Index(wanted, dtype=object)), dtype=np.int64)

    def _position(self, sample_id) -> int:
        try:
            pos = self._index.get_loc(sample_id)
        except (KeyError, TypeError):
            raise KeyError(sample_id) from None
        return int(pos)

    def profile_at(self, i: int) -> dict[str, tuple[str, str]]:
        """The profile of the ``i``-th sample: a new dict ``{locus: (allele_1, allele_2)}``."""
        a, b = self.offsets[i], self.offsets[i + 1]
        alleles, loci = self.alleles, self.loci
        return {loci[l]: (alleles[x], alleles[y]) for l, x, y in
                zip(self.locus[a:b].tolist(), self.allele_1[a:b].tolist(), self.allele_2[a:b].tolist())}

    def __getitem__(self, sample_id) -> dict[str, tuple[str, str]]:
        return self.profile_at(self._position(sample_id))

    def __contains__(self, sample_id) -> bool:
        try:
            return sample_id in self._index
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.sample_ids.tolist())

    def __len__(self) -> int:
        return int(self.sample_ids.size)

    def items(self):
        return ((s, self.profile_at(i)) for i, s in enumerate(self.sample_ids.tolist()))

    def values(self):
        return (self.profile_at(i) for i in range(len(self)))

    def __repr__(self) -> str:
        return f"ProfileTable({len(self)} samples, {len(self.loci)} loci, {self.n_rows} genotypes)"

    @property
    def n_rows(self) -> int:
        """Number of genotypes (rows)."""
        return int(self.sample.size)

    def n_loci_of(self) -> np.ndarray:
        """Typed loci of each sample, int64 (n_samples,)."""
        return np.diff(self.offsets)

    # -- vectorised paths of a match run ------------------------------------------------------

    def typed_counts(self) -> dict[str, int]:
        """``{locus: number of samples typed there}`` over the loci with a genotype."""
        counts = np.bincount(self.locus, minlength=len(self.loci))
        return {locus: int(n) for locus, n in zip(self.loci, counts.tolist()) if n}

    def observed_alleles(self) -> dict[str, set[str]]:
        """``{locus: set of allele labels stored there}``, both alleles of every genotype
        (``"?"`` included where a partial genotype is stored, as the labels are)."""
        n_a = max(self.alleles.size, 1)
        base = self.locus.astype(np.int64) * n_a
        seen = np.zeros(max(len(self.loci), 1) * n_a, dtype=bool)  # (locus, allele) pairs: a few thousand
        seen[base + self.allele_1] = True
        seen[base + self.allele_2] = True
        key = np.flatnonzero(seen)
        out: dict[str, set[str]] = {}
        for l, a in zip((key // n_a).tolist(), (key % n_a).tolist()):
            out.setdefault(self.loci[l], set()).add(self.alleles[a])
        return out

    def encode(self, sample_ids: Sequence[str], table, loci: Sequence[str]) -> np.ndarray:
        """Allele-index array of ``sample_ids`` at ``loci`` against ``table``
        (:func:`kinship.matching.compiler.encode_profiles`, which this is).

        Per locus the allele labels are mapped to the table's indices once, then taken for
        every sample; a sample id without a profile is untyped everywhere.

        Parameters
        ----------
        sample_ids : sequence of str, length n_people
        table : kinship.genetics.frequencies.FrequencyTable
            Must contain every allele the samples carry at ``loci`` (the run's effective table).
        loci : sequence of str, length n_loci
            Each must be in ``table``.

        Returns
        -------
        ndarray of int16, shape (n_loci, n_people, 2)
            Sorted allele indices; ``(i, -2)`` for a partial genotype ``(allele, "?")``; -1
            where the person is untyped at the locus.

        Raises
        ------
        FrequencyTableError
            An allele missing from ``table`` (or the table's silent allele: never observed),
            or ``"?"`` as the first allele; the first such genotype in (locus, sample) order.
        """
        wanted = list(sample_ids)
        out = np.full((len(loci), len(wanted), 2), UNTYPED, dtype=ALLELE_DTYPE)
        pos = self.positions(wanted)
        found = pos >= 0
        locus_code = {l: k for k, l in enumerate(self.loci)}
        missing_code = np.iinfo(np.int32).min
        few = int(found.sum()) * 4 < len(self)  # a few samples (a family): read their rows only
        if few:
            people_all = np.flatnonzero(found)
            start, count = self.offsets[pos[people_all]], np.diff(self.offsets)[pos[people_all]]
            own = np.repeat(start - (np.cumsum(count) - count), count) + np.arange(int(count.sum()))
            own_person, own_locus = np.repeat(people_all, count), self.locus[own]
        for li, locus in enumerate(loci):
            lf = table[locus]
            code = locus_code.get(locus)
            if code is None or not found.any():
                continue
            if few:
                at = own_locus == code
                people, r_people = own_person[at], own[at]
            else:
                rows = np.flatnonzero(self.locus == code)
                row_of = np.full(len(self) + 1, -1, dtype=np.int64)
                row_of[self.sample[rows]] = rows
                r = row_of[np.where(found, pos, len(self))]
                people = np.flatnonzero(r >= 0)
                r_people = r[people]
            if not people.size:
                continue
            index = {a: k for k, a in enumerate(lf.alleles) if k != lf.silent}
            index[UNKNOWN_ALLELE] = UNKNOWN
            lut = np.array([index.get(a, missing_code) for a in self.alleles.tolist()], dtype=np.int64)
            a = lut[self.allele_1[r_people]]
            b = lut[self.allele_2[r_people]]
            bad = (a == missing_code) | (b == missing_code) | (a == UNKNOWN)
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                sample_id = wanted[int(people[k])]
                if a[k] == missing_code or b[k] == missing_code:
                    raise FrequencyTableError(
                        f"an allele of sample {sample_id} at {locus} is not in table "
                        f"{table.name!r}; build the run's effective table first")
                raise FrequencyTableError(
                    f"sample {sample_id} at {locus}: a partial genotype's unknown allele '?' must be "
                    "the second allele; correct the profile")
            partial = b == UNKNOWN
            out[li, people, 0] = np.where(partial, a, np.minimum(a, b))
            out[li, people, 1] = np.where(partial, b, np.maximum(a, b))
        return out

    # -- canonical JSON and hashes ------------------------------------------------------------

    @cached_property
    def _genotype_ids(self) -> tuple[np.ndarray, list[bytes], np.ndarray]:
        """Each row's genotype ``(locus, allele_1, allele_2)`` numbered among the distinct ones
        (a few thousand at 20 loci, however many samples), and each one's JSON text in four
        variants: id ``4 g + 2 first + last`` is ``["L", ["a", "b"]]`` with ``[`` before it when
        it is a profile's first genotype, and ``]`` after it when it is the last, else ``, ``.
        The last id, ``4 n_genotypes``, is an empty profile's ``[]``.

        Returns ``(ids int64 per row, texts, text lengths int64)``."""
        n_l, n_a = max(len(self.loci), 1), max(self.alleles.size, 1)
        key = (self.locus.astype(np.int64) * n_a + self.allele_1) * n_a + self.allele_2
        if n_l * n_a * n_a <= 1 << 26:  # dense numbering, no sort
            used = np.zeros(n_l * n_a * n_a, dtype=bool)
            used[key] = True
            distinct = np.flatnonzero(used)
            number = np.cumsum(used) - 1
            gid = number[key]
        else:
            distinct, gid = np.unique(key, return_inverse=True)
        loci = [_json_token(l) for l in self.loci]
        alleles = [_json_token(a) for a in self.alleles.tolist()]
        texts: list[bytes] = []
        for k in distinct.tolist():
            l, rest = divmod(k, n_a * n_a)
            x, y = divmod(rest, n_a)
            g = f"[{loci[l]}, [{alleles[x]}, {alleles[y]}]]"
            texts += [(g + ", ").encode("ascii"), (g + "]").encode("ascii"),
                      ("[" + g + ", ").encode("ascii"), ("[" + g + "]").encode("ascii")]
        texts.append(b"[]")
        lengths = np.array([len(t) for t in texts], dtype=np.int64)
        return np.asarray(gid, dtype=np.int64), texts, lengths

    def profile_json(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The canonical JSON of some samples' profiles, byte for byte
        ``json.dumps(sorted(profile.items()))`` (what the run's input hashes digest).

        Parameters
        ----------
        positions : ndarray of int, shape (n,)
            Indices into :attr:`sample_ids` (:meth:`positions`), each >= 0.

        Returns
        -------
        buffer : ndarray of uint8
            The JSON texts one after the other (ASCII).
        offsets : ndarray of int64, shape (n + 1,)
            Text ``i`` is ``buffer[offsets[i]:offsets[i + 1]]``.

        Examples
        --------
        >>> t = ProfileTable.from_mapping({"A": {"vWA": ("17", "?"), "TH01": ("6", "9.3")}})
        >>> buf, off = t.profile_json(np.array([0]))
        >>> buf.tobytes().decode() == json.dumps(sorted(t["A"].items()))
        True
        """
        gid, texts, lengths = self._genotype_ids
        positions = np.asarray(positions, dtype=np.int64)
        counts = self.offsets[positions + 1] - self.offsets[positions]
        m = np.maximum(counts, 1)  # an empty profile is one pseudo-row, "[]"
        seg = np.cumsum(m) - m
        within = np.arange(int(m.sum()), dtype=np.int64) - np.repeat(seg, m)
        row = np.repeat(self.offsets[positions], m) + within
        empty = np.repeat(counts == 0, m)
        row[empty] = 0
        tok = 4 * np.concatenate([gid, np.zeros(1, np.int64)])[row]
        tok += 2 * (within == 0) + (within == np.repeat(m - 1, m))
        tok[empty] = len(texts) - 1
        per_sample = np.add.reduceat(lengths[tok], seg) if seg.size else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(per_sample)]).astype(np.int64)
        text = b"".join(map(texts.__getitem__, tok.tolist()))
        return np.frombuffer(text, dtype=np.uint8), offsets

    def iter_json(self, positions: Sequence[int] | np.ndarray, *, chunk: int = JSON_CHUNK) -> Iterator[memoryview | None]:
        """The canonical JSON (:meth:`profile_json`) of each position in turn, as a memoryview
        of ASCII bytes, or None for a position ``-1``; built ``chunk`` samples at a time."""
        positions = np.asarray(positions, dtype=np.int64)
        for a in range(0, positions.size, chunk):
            part = positions[a:a + chunk]
            present = part >= 0
            buf, off = self.profile_json(part[present])
            view, k = memoryview(buf), 0
            for ok in present.tolist():
                if ok:
                    yield view[off[k]:off[k + 1]]
                    k += 1
                else:
                    yield None

    def sha256(self, sample_ids: Sequence[str]) -> list[str]:
        """sha256 (hex) of each sample's canonical profile JSON,
        ``sha256(json.dumps(sorted(profile.items())).encode())``.

        Raises
        ------
        KeyError
            A sample id without a profile.
        """
        wanted = list(sample_ids)
        pos = self.positions(wanted)
        if (pos < 0).any():
            raise KeyError(wanted[int(np.flatnonzero(pos < 0)[0])])
        return [hashlib.sha256(j).hexdigest() for j in self.iter_json(pos)]

    def update_hash(self, h) -> None:
        """Feed ``h`` (a hashlib object) the JSON of the whole mapping as
        ``json.dumps({sample id: sorted(profile.items())}, sort_keys=True)`` writes it."""
        h.update(b"{")
        for i, (sample_id, text) in enumerate(zip(self.sample_ids.tolist(), self.iter_json(np.arange(len(self))))):
            h.update(((", " if i else "") + _json_token(str(sample_id)) + ": ").encode("ascii"))
            h.update(text)
        h.update(b"}")


def as_profile_table(profiles: Mapping[str, Mapping[str, tuple[str, str]]]) -> ProfileTable:
    """``profiles`` as a :class:`ProfileTable` (itself when it is one)."""
    return ProfileTable.from_mapping(profiles)
