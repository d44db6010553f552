"""What an ingestion reports: row outcomes, the record of a quarantined row or a warning, the summary.

Every row of an export ends in one of three outcomes (:data:`LANDED`, :data:`UNTYPED`,
:data:`QUARANTINED`). A quarantined row, an invalid manifest row and a warning are all one
:class:`IngestRecord`, told apart by its ``severity``; the store keeps the quarantined ones in
table ``quarantine`` and the warnings in table ``warnings`` (``schemas/store.v8.json``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from kinship.errors import NothingLandedError

__all__ = ["LANDED", "UNTYPED", "QUARANTINED", "FLAG_KINDS", "IngestRecord", "IngestSummary"]

#: Row outcomes: a genotype in the store, a locus left untyped, a row kept out of the store.
LANDED, UNTYPED, QUARANTINED = "landed", "untyped", "quarantined"

#: Warning kinds that are flags: the records land, the sample is marked for review.
FLAG_KINDS = ("sex_check", "three_allele_locus", "profile_extended", "possible_duplicate", "off_ladder_allele")


@dataclass(frozen=True)
class IngestRecord:
    """One record of an ingestion: a row kept out of the store, or a warning on a batch.

    Build one with :meth:`quarantined` or :meth:`warning`.

    Attributes
    ----------
    severity : {"quarantine", "warning"}
        ``"quarantine"``: the record was kept out of the store (an export row, or an invalid
        manifest row whose sample is then quarantined); ``"warning"``: a remark that stopped
        nothing landing (an off-ladder call, a no-call, a flag of :data:`FLAG_KINDS`...).
    file : str
        Export file name (``source="export"``) or manifest file name (``"manifest"``).
    line : int or None
        1-based line in that file (header = line 1); for a sample-level warning, the
        sample's manifest line.
    sample_id, locus, value : str
        Sample id and locus as written, and the offending value.
    reason : str
        Why the record was quarantined, or the warning's message (column ``warnings.message``
        of the store).
    fix : str
        What to do about a quarantined record; ``""`` for a warning (its message says it where
        there is something to do).
    source : {"export", "manifest"}
        Which file the record is a row of.
    kind : str
        The rule that decided. Quarantined: ``unknown_locus``, ``bad_allele``,
        ``three_allele``, ``mixture``, ``not_in_manifest``, ``manifest_error``, ``conflict``,
        ``too_few_loci``, ``out_of_range``, ``not_reference_material`` (and other reader
        refusals), ``no_sample``, ``malformed_line`` (export rows) or ``manifest_row``
        (manifest rows). Warnings: ``off_ladder``, ``no_call``, ``partial_not_autosomal``
        (untyped rows), ``partial_off_ladder`` (a landed partial genotype), ``repeated_row``,
        ``missing_from_export``, ``no_typed_locus``, ``not_in_catalogue``, or a flag of
        :data:`FLAG_KINDS`.

    Examples
    --------
    >>> q = IngestRecord.quarantined("run7.txt", 4, "Ladder", "TH01", "", "not in the manifest",
    ...                              "no action", kind="not_in_manifest")
    >>> print(q)
    run7.txt line 4 (sample 'Ladder', locus 'TH01', value ''): not in the manifest; fix: no action
    >>> w = IngestRecord.warning("run7.txt", 3, "C1", "vWA", "OL", "off-ladder call", kind="off_ladder")
    >>> print(w)
    run7.txt line 3 (sample 'C1', locus 'vWA'): off-ladder call
    >>> q.is_quarantined, w.is_quarantined, w.fix
    (True, False, '')
    """

    severity: str
    file: str
    line: int | None
    sample_id: str
    locus: str
    value: str
    reason: str
    fix: str = ""
    source: str = "export"
    kind: str = ""

    @classmethod
    def quarantined(cls, file: str, line: int | None, sample_id: str, locus: str, value: str, reason: str,
                    fix: str, *, source: str = "export", kind: str = "") -> IngestRecord:
        """A record kept out of the store, with the reason and the fix (see the class attributes).

        Returns
        -------
        IngestRecord
            With ``severity="quarantine"``.
        """
        return cls("quarantine", file, line, sample_id, locus, value, reason, fix, source, kind)

    @classmethod
    def warning(cls, file: str, line: int | None, sample_id: str, locus: str, value: str, message: str, *,
                source: str = "export", kind: str = "") -> IngestRecord:
        """A remark on a batch that stopped nothing landing (see the class attributes).

        Returns
        -------
        IngestRecord
            With ``severity="warning"``, ``reason=message`` and ``fix=""``.
        """
        return cls("warning", file, line, sample_id, locus, value, message, "", source, kind)

    @property
    def is_quarantined(self) -> bool:
        """Whether the record was kept out of the store (``severity == "quarantine"``)."""
        return self.severity == "quarantine"

    def __str__(self) -> str:
        if self.is_quarantined:
            return (
                f"{self.file} line {self.line} (sample {self.sample_id!r}, locus {self.locus!r}, "
                f"value {self.value!r}): {self.reason}; fix: {self.fix}"
            )
        return f"{self.file} line {self.line} (sample {self.sample_id!r}, locus {self.locus!r}): {self.reason}"


_MANIFEST_REASON = re.compile(r"column ('[^']*') has value .*?; expected (.*?); fix: ")


def _generic_reason(record: IngestRecord) -> str:
    """A record's rule, without its line, sample or value: the kind, and for a manifest row the
    column and what it expects (the same for every such row)."""
    m = _MANIFEST_REASON.search(record.reason) if record.kind == "manifest_row" else None
    kind = record.kind or "quarantined"
    return f"{kind} (column {m.group(1)}: expected {m.group(2)})" if m else kind


@dataclass
class IngestSummary:
    """What one :func:`kinship.app.ingest.ingest_batch` call did.

    Attributes
    ----------
    file_sha256 : str
        Batch key (:func:`kinship.app.ingest.batch_sha256` of export and manifest bytes).
    export_name, manifest_name : str
        File names.
    file_id : int or None
        ``ingested_files.file_id`` of the batch.
    n_rows : int
        Data rows of the export.
    n_landed, n_untyped, n_quarantined : int
        Row outcomes; they add up to ``n_rows``.
    n_warnings : int
        ``len(warnings)``: one per untyped row plus sample-level remarks.
    n_samples_landed : int
        Samples with at least one landed row.
    n_genotypes_added : int
        Genotype rows new to the store (a re-submitted identical genotype lands but adds none).
    already_ingested : bool
        The same export + manifest pair was ingested before; nothing was added.
    quarantine : list of IngestRecord
        One quarantined record per quarantined export row (``len == n_quarantined``).
    warnings : list of IngestRecord
        The warnings, flags included.
    manifest_errors : list of IngestRecord
        Invalid manifest rows (quarantined, ``source="manifest"``); the samples they name are
        quarantined.
    n_flagged : int
        Warnings that are flags (:data:`FLAG_KINDS`): landed records marked for review.
    n_records_skipped : int
        Input records placed on no catalogue locus (not rows; see :mod:`kinship.app.ingest`).
    n_low_quality : int
        Untyped rows whose call was below its caller's quality thresholds (warnings of kind
        ``low_quality``, :mod:`kinship.io.vcf`); counted from ``warnings``, not stored.

    Raises
    ------
    AssertionError
        If the row outcomes do not add up to ``n_rows``, or a record list does not match its
        count.
    """

    file_sha256: str
    export_name: str
    manifest_name: str
    file_id: int | None
    n_rows: int
    n_landed: int
    n_untyped: int
    n_quarantined: int
    n_warnings: int
    n_samples_landed: int
    n_genotypes_added: int
    already_ingested: bool
    quarantine: list[IngestRecord] = field(default_factory=list)
    warnings: list[IngestRecord] = field(default_factory=list)
    manifest_errors: list[IngestRecord] = field(default_factory=list)
    n_flagged: int = 0
    n_records_skipped: int = 0
    n_low_quality: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.n_low_quality = sum(1 for w in self.warnings if w.kind == "low_quality")
        if self.n_landed + self.n_untyped + self.n_quarantined != self.n_rows:
            raise AssertionError(
                f"ingest summary of {self.export_name}: {self.n_landed} landed + {self.n_untyped} "
                f"untyped + {self.n_quarantined} quarantined != {self.n_rows} rows"
            )
        if len(self.quarantine) != self.n_quarantined or len(self.warnings) != self.n_warnings:
            raise AssertionError(f"ingest summary of {self.export_name}: record lists do not match counts")

    @property
    def landed_nothing(self) -> bool:
        """Whether the batch landed no sample (every row quarantined or untyped, or no row)."""
        return self.n_samples_landed == 0

    def nothing_landed_reason(self) -> str:
        """Why nothing landed, for a person and a log: the counts and the commonest rules (with,
        for manifest rows, the column and what it expects); ``""`` when something landed. No id,
        value or genotype appears (the store's quarantine table holds each row's reason)."""
        if not self.landed_nothing:
            return ""
        rules = Counter(_generic_reason(r) for r in [*self.manifest_errors, *self.quarantine])
        top = "; ".join(f"{n} × {rule}" for rule, n in rules.most_common(3))
        return (f"batch {self.export_name} + {self.manifest_name} landed no sample: {self.n_rows} export rows, "
                f"{self.n_quarantined} quarantined, {self.n_untyped} untyped, {len(self.manifest_errors)} invalid "
                f"manifest rows" + (f"; commonest rules: {top}" if top else "")
                + "; the reasons and fixes are in the store's quarantine table: fix the records and send the "
                "batch again")

    def check_landed(self) -> IngestSummary:
        """``self`` if the batch landed at least one sample.

        Raises
        ------
        kinship.errors.NothingLandedError
            The batch landed nothing; the message is :meth:`nothing_landed_reason`. A command
            line turns it into a non-zero exit status (the batch and its quarantine are stored).
        """
        if self.landed_nothing:
            raise NothingLandedError(self.nothing_landed_reason())
        return self
