"""Pseudonymous by construction: what of a batch may not reach the store as written, and its stand-in.

The store keeps ids that match the manifest's ASCII id pattern (``schemas/manifest.v5.json``)
as written. Everything else a batch names - an export sample name absent from the manifest (a
person's name and mobile number typed into the sample-name column), an invalid manifest id or
cell, every ``export_name`` of the manifest (by definition the export's own name for a sample,
e.g. a VCF sample name) - is an **unstorable id**. A manifest ``kit`` cell that names no kit of the
catalogue is kept as written when it fits the kit-name pattern
(:data:`kinship.store.catalogue.KIT_NAME_PATTERN`, ASCII: what a registered kit name must be, e.g.
``Goldeneye 20A``) and holds no run of 7 or more digits (a phone or id number), so the row error
can name it; any other kit cell is an unstorable id. Unstorable ids: the quarantine and warning records store
its pseudonym instead (:meth:`kinship.store.Store.pseudonym`: ``h:`` + 16 hex digits of a
keyed HMAC), with the line number, wherever it appears: the ``sample_id`` and ``value`` fields,
and quoted inside a reason, fix or message. The ingestion summary returned to the caller carries
the same records as the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import pandas as pd

from kinship.app.ingest.records import IngestRecord
from kinship.io.manifest import Manifest
from kinship.store.catalogue import is_kit_name, is_pseudonymous_id

__all__ = ["unstorable_ids", "Scrubber"]

#: A run of digits as long as a phone or id number: a kit cell holding one is hashed even if kit-shaped.
_LONG_DIGITS = re.compile(r"\d{7,}")


def unstorable_ids(records: pd.DataFrame, manifest: Manifest) -> set[str]:
    """The texts of a batch that may be stored only as pseudonyms.

    Parameters
    ----------
    records : pandas.DataFrame
        Reader output (:data:`kinship.io.RECORD_COLUMNS`), sample names already mapped through
        the manifest's ``export_name`` column.
    manifest : Manifest
        The batch's manifest.

    Returns
    -------
    set of str
        Export sample ids and manifest ids or cells (of invalid rows) that fail the id pattern
        (a ``kit`` cell: that fails the kit-name pattern), and every ``export_name``; never ``""``.

    Examples
    --------
    >>> from kinship.io.manifest import parse_manifest
    >>> m = parse_manifest(b"sample_id,role,family_id,relationship\\nC-1,candidate,,\\n", file="m.csv", lab="L")
    >>> recs = pd.DataFrame({"sample_id": ["C-1", "Zhang Wei 13800138000"]})
    >>> sorted(unstorable_ids(recs, m))
    ['Zhang Wei 13800138000']
    """
    out = {str(s) for s in records["sample_id"].unique() if s and not is_pseudonymous_id(str(s))}
    for e in manifest.errors:
        if e.sample_id and not is_pseudonymous_id(e.sample_id):
            out.add(e.sample_id)
        kit_named = e.column == "kit" and is_kit_name(e.value or "") and not _LONG_DIGITS.search(e.value)
        if e.value and not is_pseudonymous_id(e.value) and not kit_named:
            out.add(e.value)
    out |= set(manifest.export_names)
    return out - {""}


class Scrubber:
    """Replaces unstorable ids by their pseudonyms in records (see the module).

    Parameters
    ----------
    texts : iterable of str
        The unstorable ids (:func:`unstorable_ids`).
    pseudonym : callable
        ``str -> str``, the store's :meth:`kinship.store.Store.pseudonym`.

    Notes
    -----
    A field equal to an unstorable id is replaced whole; inside free text, the id is replaced
    where it appears quoted (``'...'``, as the messages quote ids) and, when it is not ASCII
    or is four characters or longer, wherever it appears.

    Examples
    --------
    >>> s = Scrubber(["张伟 13800138000"], lambda t: "h:0123456789abcdef")
    >>> s.text("sample '张伟 13800138000' is not in the manifest")
    "sample 'h:0123456789abcdef' is not in the manifest"
    """

    def __init__(self, texts: Iterable[str], pseudonym: Callable[[str], str]):
        self.tokens: dict[str, str] = {t: pseudonym(t) for t in sorted(set(texts)) if t}
        forms: dict[str, str] = {}
        for raw, token in self.tokens.items():
            forms[repr(raw)] = repr(token)
            if len(raw) >= 4 or not raw.isascii():
                forms[raw] = token
        self._forms = forms
        self._pattern = (re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
                         if forms else None)

    def text(self, value: str) -> str:
        """``value`` with every unstorable id replaced by its pseudonym."""
        if self._pattern is None or not value:
            return value
        if value in self.tokens:
            return self.tokens[value]
        return self._pattern.sub(lambda m: self._forms[m.group(0)], value)

    def record(self, record: IngestRecord) -> IngestRecord:
        """A copy of ``record`` with its id, locus, value, reason and fix scrubbed."""
        if self._pattern is None:
            return record
        return replace(record, sample_id=self.text(record.sample_id), locus=self.text(record.locus),
                       value=self.text(record.value), reason=self.text(record.reason), fix=self.text(record.fix))

    def records(self, records: Iterable[IngestRecord]) -> list[IngestRecord]:
        """:meth:`record` of each."""
        return [self.record(r) for r in records]

    @property
    def mapping(self) -> Mapping[str, str]:
        """``{raw: pseudonym}`` (kept in memory only; never stored or logged)."""
        return self.tokens
