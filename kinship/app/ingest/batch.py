"""Normalise and validate genotype records, and land one batch (export + manifest) in the store.

Every row of the export ends in exactly one of three outcomes, and the
:class:`IngestSummary` counts add up (``n_rows == n_landed + n_untyped + n_quarantined``):

``landed``
    a genotype in the store after the batch (newly added, or identical to the stored one);
``untyped``
    a row of a manifest sample with no usable call: an off-ladder ``OL`` call at the locus,
    or no allele called (dropout). Nothing is stored for it and a warning says why;
``quarantined``
    kept out of the store with a reason and a fix (table ``quarantine``).

Row rules (:func:`normalise_records`), in order:

1. locus name -> canonical name via the locus catalogue; an unknown name is quarantined with
   the catalogue's "did you mean" suggestion;
2. an allele outside the kit's ladder written as ``">27"`` or ``"<6"`` is quarantined
   (``out_of_range``): its repeat number is unknown, so it can be neither matched nor given a
   frequency, and guessing 27 or 28 could create a false exclusion; the rest of the profile
   lands;
3. each call via :func:`kinship.genetics.alleles.parse_allele`; an invalid label is quarantined;
4. more than two distinct alleles called (``OL`` peaks not counted) -> the row is quarantined
   as a three-allele pattern (the locus is left out of the profile) and the sample is flagged;
5. any ``OL`` call -> untyped with a warning (an off-ladder peak may be the true allele, so the
   other call alone is not a genotype); no call -> untyped with a warning;
6. otherwise one allele is a homozygote (``12`` and ``12, 12`` agree), two are sorted in
   canonical order (:func:`kinship.genetics.alleles.allele_sort_key`).

Sample rules (:func:`plan_batch`): a sample with ``mixture_min_loci`` (2) or more three-allele
loci is a probable mixture and wholly quarantined; a sample not in the manifest (allelic
ladders, positive and negative controls, unknown samples) or with an invalid manifest row is
wholly quarantined; two different genotypes for one sample and locus, in the batch or against
the store, quarantine the sample's submission with a locus-by-locus diff (a stored genotype
is never overwritten); a conflicting role, lab or family slot (a second father) quarantines
the sample; a sample with fewer than ``min_autosomal_loci`` (12) typed autosomal loci (this
batch and the store together) is quarantined (``too_few_loci``). Samples a reader refuses
(a CODIS specimen of a forensic category: not reference material) are quarantined whole.
Amelogenin, Y and quality-sensor loci are stored like any locus; their kind lives in the
catalogue, and the matcher keeps them out of the likelihood ratio.

Flags (warnings of the kinds :data:`FLAG_KINDS`; the records land, and ``n_flagged`` counts
them): ``sex_check`` (Amelogenin disagrees with the declared sex, or with the sex a father
(X,Y) or mother (X,X) implies), ``three_allele_locus`` (a locus left out, above),
``profile_extended`` (a re-test of a stored sample that only adds loci the first typing
lacked: the new loci land and the extension is recorded), ``possible_duplicate`` (the
landed profile equals another sample's at every shared autosomal locus, at least
``duplicate_min_loci`` (10) of them: the same person sampled twice, or a sample swap).

Records a reader can not place on any catalogue locus (the non-forensic STRs of a sequencing
VCF) are not rows: they are counted (``n_records_skipped``) and reported in one warning
(``not_in_catalogue``), never errors.

A batch is idempotent and atomic: its key is the SHA-256 of the export and manifest bytes
(plus the reader options, e.g. a CODIS category map, when given), a second submission of the
same pair adds nothing (``already_ingested=True``), and all rows (landed and quarantined) are
written in one transaction (:meth:`kinship.store.Store.write_transaction`), which also
serialises concurrent ingestions: two processes landing the same file land it once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

import kinship
from kinship.genetics.alleles import allele_sort_key, parse_allele
from kinship.errors import (
    AlleleError,
    ExportFormatError,
    ManifestError,
    ReuniteInputError,
    UnknownLocusError,
)
from kinship.io import read_export
from kinship.io.manifest import Manifest, manifest_rules, parse_manifest, read_manifest
from kinship.genetics.loci import LocusCatalogue, default_catalogue

if TYPE_CHECKING:
    from kinship.store import Store

__all__ = [
    "MIXTURE_MIN_LOCI",
    "MIN_AUTOSOMAL_LOCI",
    "DUPLICATE_MIN_LOCI",
    "FLAG_KINDS",
    "duplicate_warnings",
    "QuarantineRecord",
    "IngestWarning",
    "IngestSummary",
    "batch_sha256",
    "summary_markdown",
    "normalise_records",
    "plan_batch",
    "BatchPlan",
    "ingest_batch",
    "PedigreeIngestSummary",
    "ingest_pedigrees",
]

#: A sample with at least this many three-allele loci is quarantined as a probable mixture.
MIXTURE_MIN_LOCI = 2

#: A profile with fewer typed autosomal loci than this (batch and store together) is quarantined.
MIN_AUTOSOMAL_LOCI = 12

#: Shared autosomal loci needed before two identical profiles are flagged as a possible duplicate.
DUPLICATE_MIN_LOCI = 10

#: Warning kinds that are flags: the records land, the sample is marked for review.
FLAG_KINDS = ("sex_check", "three_allele_locus", "profile_extended", "possible_duplicate")

_OUT_OF_RANGE = re.compile(r"^([<>])\s*(\d+(?:\.\d)?)$")

LANDED, UNTYPED, QUARANTINED = "landed", "untyped", "quarantined"

_FIX = {
    "malformed": "re-export the file from the instrument software without editing it in a "
    "spreadsheet (a cell with a stray separator shifts the line's columns)",
    "locus": "correct the locus name in the export, or add it (with aliases) to kinship/data/loci.csv",
    "allele": "correct the call in the export, or re-analyse the sample",
    "three": "re-analyse the locus (stutter or artefact peaks?) and re-submit the sample; a true "
    "tri-allelic pattern can not be matched by the current model",
    "mixture": "re-type the sample from a single-source extract; a mixture can not be matched",
    "manifest": "add the sample to the manifest if it is a person to match; allelic ladders and "
    "positive/negative controls need no action",
    "conflict": "check for a sample swap or typing error; if the stored genotype is wrong, ask "
    "the store keeper to retract it (stored genotypes are never overwritten)",
    "autosomal": "re-type the missing loci (or the sample) and re-submit; the typed loci of a re-test "
    "extend the stored profile",
    "range": "size the allele exactly (an extended ladder, or sequencing) and re-submit the locus",
}


@dataclass(frozen=True)
class QuarantineRecord:
    """One record kept out of the store.

    Attributes
    ----------
    file : str
        Export file name (``source="export"``) or manifest file name (``"manifest"``).
    line : int or None
        1-based line in that file (header = line 1).
    sample_id, locus, value : str
        Sample id and locus as written, and the offending value.
    reason, fix : str
        Why it was quarantined; what to do.
    source : {"export", "manifest"}
        Which file the record is a row of.
    kind : str
        The rule that quarantined it: ``unknown_locus``, ``bad_allele``, ``three_allele``,
        ``mixture``, ``not_in_manifest``, ``manifest_error``, ``conflict``, ``too_few_loci``,
        ``out_of_range``, ``not_reference_material`` (and other reader refusals), ``no_sample``
        (export rows) or ``manifest_row`` (manifest rows).
    """

    file: str
    line: int | None
    sample_id: str
    locus: str
    value: str
    reason: str
    fix: str
    source: str = "export"
    kind: str = ""

    def __str__(self) -> str:
        return (
            f"{self.file} line {self.line} (sample {self.sample_id!r}, locus {self.locus!r}, "
            f"value {self.value!r}): {self.reason}; fix: {self.fix}"
        )


@dataclass(frozen=True)
class IngestWarning:
    """A remark on a batch that did not stop anything landing (off-ladder call, no call...).

    ``line`` is the export line, or the manifest line for a sample-level remark (``source``
    ``"manifest"``). ``kind``: ``off_ladder``, ``no_call``, ``repeated_row``,
    ``missing_from_export``, ``no_typed_locus``, ``not_in_catalogue``, or a flag of
    :data:`FLAG_KINDS`.
    """

    file: str
    line: int | None
    sample_id: str
    locus: str
    value: str
    message: str
    source: str = "export"
    kind: str = ""

    def __str__(self) -> str:
        return f"{self.file} line {self.line} (sample {self.sample_id!r}, locus {self.locus!r}): {self.message}"


@dataclass
class IngestSummary:
    """What one :func:`ingest_batch` call did.

    Attributes
    ----------
    file_sha256 : str
        Batch key (:func:`batch_sha256` of export and manifest bytes).
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
    quarantine : list of QuarantineRecord
        One per quarantined export row (``len == n_quarantined``).
    warnings : list of IngestWarning
    manifest_errors : list of QuarantineRecord
        Invalid manifest rows (``source="manifest"``); the samples they name are quarantined.
    n_flagged : int
        Warnings that are flags (:data:`FLAG_KINDS`): landed records marked for review.
    n_records_skipped : int
        Input records placed on no catalogue locus (not rows; see the module docstring).
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
    quarantine: list[QuarantineRecord] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    manifest_errors: list[QuarantineRecord] = field(default_factory=list)
    n_flagged: int = 0
    n_records_skipped: int = 0

    def __post_init__(self) -> None:
        if self.n_landed + self.n_untyped + self.n_quarantined != self.n_rows:
            raise AssertionError(
                f"ingest summary of {self.export_name}: {self.n_landed} landed + {self.n_untyped} "
                f"untyped + {self.n_quarantined} quarantined != {self.n_rows} rows"
            )
        if len(self.quarantine) != self.n_quarantined or len(self.warnings) != self.n_warnings:
            raise AssertionError(f"ingest summary of {self.export_name}: record lists do not match counts")


def batch_sha256(export_bytes: bytes, manifest_bytes: bytes, options: bytes = b"") -> str:
    """Batch key: SHA-256 over the export bytes then the manifest bytes, each length-prefixed.

    The 8-byte big-endian length before each part keeps (export, manifest) pairs distinct even
    when bytes move from one file to the other. ``options`` (canonical JSON of the reader
    options, e.g. a CODIS category map) is appended the same way when not empty, so the key
    of a plain batch does not depend on it.

    Examples
    --------
    >>> batch_sha256(b"ab", b"c") == batch_sha256(b"a", b"bc")
    False
    >>> len(batch_sha256(b"", b""))
    64
    """
    h = hashlib.sha256()
    for part in (export_bytes, manifest_bytes, *((options,) if options else ())):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _calls(rec: dict) -> list[str]:
    extra = [c for c in rec["extra_calls"].split(",") if c] if rec.get("extra_calls") else []
    return [c for c in (rec["allele_1"], rec["allele_2"], *extra) if c]


_ROW_COLUMNS = ["source_line", "sample_id", "raw_locus", "locus", "allele_1", "allele_2", "calls",
                "outcome", "kind", "value", "reason", "fix"]


def normalise_records(
    records: pd.DataFrame,
    *,
    file: str = "<export>",
    catalogue: LocusCatalogue | None = None,
) -> pd.DataFrame:
    """Apply the row rules (canonical locus, allele labels, pair, OL, three-allele) to records.

    Parameters
    ----------
    records : pandas.DataFrame
        The common record table of a reader (:data:`kinship.io.RECORD_COLUMNS`).
    file : str
        Export file name, quoted in reasons.
    catalogue : LocusCatalogue, optional
        The bundled catalogue by default.

    Returns
    -------
    pandas.DataFrame
        One row per record, in input order, columns ``source_line`` (int), ``sample_id``,
        ``raw_locus``, ``locus`` (canonical, ``""`` if unknown), ``allele_1``, ``allele_2``
        (canonical, sorted; ``""`` unless landed), ``calls`` (raw calls joined by ``","``),
        ``outcome`` (``"landed"``, ``"untyped"``, ``"quarantined"``), ``kind`` (rule that
        decided: ``ok``, ``off_ladder``, ``no_call``, ``unknown_locus``, ``bad_allele``,
        ``three_allele``, ``no_sample``), ``value``, ``reason``, ``fix``. Sample-level rules
        are applied later by :func:`plan_batch`.

    Examples
    --------
    >>> from kinship.io.tidy import records_from_calls
    >>> recs = records_from_calls(["S", "S", "S"], ["TH01", "vWA", "THO1"],
    ...                           [["9.3", "6"], ["OL", "17"], ["8", "8"]], [2, 3, 4])
    >>> out = normalise_records(recs)
    >>> out[["locus", "allele_1", "allele_2", "outcome"]].values.tolist()
    [['TH01', '6', '9.3', 'landed'], ['vWA', '', '', 'untyped'], ['', '', '', 'quarantined']]
    >>> "did you mean TH01" in out["reason"].iloc[2]
    True
    """
    return _rows_frame(_normalise_rows(records, file=file, catalogue=catalogue or default_catalogue()))


def _rows_frame(rows: list[dict], *, with_is_new: bool = False) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=_ROW_COLUMNS + (["is_new"] if with_is_new else []))
    frame["source_line"] = frame["source_line"].astype("int64")
    if with_is_new:
        frame["is_new"] = frame["is_new"].astype(bool)
    return frame


def _normalise_rows(records: pd.DataFrame, *, file: str, catalogue: LocusCatalogue) -> list[dict]:
    rows = []
    canonical: dict[str, str | UnknownLocusError] = {}
    for rec in records.to_dict("records"):
        line = int(rec["source_line"])
        sample, raw_locus = rec["sample_id"], rec["locus"]
        calls = _calls(rec)
        where = f"{file} line {line}, sample {sample!r}, locus {raw_locus!r}"
        out = {
            "source_line": line, "sample_id": sample, "raw_locus": raw_locus, "locus": "",
            "allele_1": "", "allele_2": "", "calls": ",".join(calls), "outcome": QUARANTINED,
            "kind": "", "value": ",".join(calls), "reason": "", "fix": "",
        }
        rows.append(out)
        if rec.get("problem"):
            out.update(kind="malformed_line", value="", reason=f"unreadable line ({file} line {line}): {rec['problem']}",
                       fix=_FIX["malformed"])
            continue
        if not sample:
            out.update(kind="no_sample", value="", reason=f"row without a sample name ({where})",
                       fix="fill the sample-name cell or delete the row")
            continue
        if raw_locus not in canonical:
            try:
                canonical[raw_locus] = catalogue.canonical(raw_locus)
            except UnknownLocusError:
                canonical[raw_locus] = None
        if canonical[raw_locus] is None:
            try:
                catalogue.canonical(raw_locus, context=where)
            except UnknownLocusError as exc:
                out.update(kind="unknown_locus", value=raw_locus, reason=str(exc), fix=_FIX["locus"])
            continue
        out["locus"] = canonical[raw_locus]
        ranged = next((c for c in calls if _OUT_OF_RANGE.match(c.strip())), None)
        if ranged is not None:
            m = _OUT_OF_RANGE.match(ranged.strip())
            side = "above the largest" if m.group(1) == ">" else "below the smallest"
            out.update(kind="out_of_range", value=ranged,
                       reason=(f"allele {ranged!r} at {out['locus']} ({where}) is {side} ladder allele "
                               f"({m.group(2)}): its repeat number is unknown, so it can be neither matched "
                               "nor given a frequency; the locus is left out of the profile"),
                       fix=_FIX["range"])
            continue
        try:
            labels = [parse_allele(c, context=where) for c in calls]
        except AlleleError as exc:
            bad = next(c for c in calls if _is_bad(c))
            out.update(kind="bad_allele", value=bad, reason=str(exc), fix=_FIX["allele"])
            continue
        sex_label = next((c for c, a in zip(calls, labels) if a in ("X", "Y")), None)
        if sex_label is not None and catalogue.get(out["locus"]).kind != "sex":
            out.update(kind="bad_allele", value=sex_label,
                       reason=(f"allele {sex_label!r} at {out['locus']} ({where}) is an Amelogenin "
                               "label; expected a repeat number such as '12' or '9.3' at an STR locus"),
                       fix=_FIX["allele"])
            continue
        alleles = sorted({a for a in labels if a is not None}, key=allele_sort_key)
        n_off_ladder = sum(a is None for a in labels)
        if len(alleles) > 2:
            out.update(
                kind="three_allele",
                reason=(f"three-allele pattern: {len(alleles)} distinct alleles called "
                        f"({', '.join(alleles)}) at {out['locus']} ({where}); expected at most 2 "
                        "for a single-source profile"),
                fix=_FIX["three"],
            )
        elif n_off_ladder:
            out.update(outcome=UNTYPED, kind="off_ladder",
                       reason=(f"off-ladder call (calls {out['calls']}) at {out['locus']}: the locus "
                               "is left untyped for this person"),
                       fix="re-analyse the locus if it is needed")
        elif not alleles:
            out.update(outcome=UNTYPED, kind="no_call",
                       reason=f"no allele called at {out['locus']}: the locus is left untyped",
                       fix="re-type the locus if it is needed")
        else:
            pair = alleles if len(alleles) == 2 else alleles * 2
            out.update(outcome=LANDED, kind="ok", allele_1=pair[0], allele_2=pair[1])
    return rows


def _is_bad(call: str) -> bool:
    try:
        parse_allele(call)
    except AlleleError:
        return True
    return False


@dataclass
class BatchPlan:
    """The decided outcome of every row of a batch, before it is written.

    Attributes
    ----------
    rows : pandas.DataFrame
        :func:`normalise_records` columns with the sample rules applied, plus ``is_new``
        (bool: a landed genotype not yet in the store, first landed row of its sample and
        locus).
    samples : list of dict
        New ``samples`` rows.
    members : list of dict
        New ``family_members`` rows.
    warnings : list of IngestWarning
    manifest_errors : list of QuarantineRecord
    """

    rows: pd.DataFrame
    samples: list[dict]
    members: list[dict]
    warnings: list[IngestWarning]
    manifest_errors: list[QuarantineRecord]


def _quarantine(rows: list[dict], *, kind: str, value: str, reason: str, fix: str,
                overwrite: bool = False, only_landed: bool = False) -> None:
    """Quarantine rows of one sample (rows already quarantined keep their reason unless ``overwrite``)."""
    for r in rows:
        if r["outcome"] == QUARANTINED and not overwrite:
            continue
        if only_landed and r["outcome"] != LANDED:
            continue
        r.update(outcome=QUARANTINED, kind=kind, value=value, reason=reason, fix=fix, allele_1="", allele_2="")


def _pair(a1: str, a2: str) -> str:
    return f"{a1}/{a2}"


def plan_batch(
    records: pd.DataFrame,
    manifest: Manifest,
    *,
    file: str,
    stored_samples: dict[str, dict] | None = None,
    stored_profiles: dict[str, dict[str, tuple]] | None = None,
    stored_members: dict[tuple[str, str], list[dict]] | None = None,
    received_at: datetime | None = None,
    catalogue: LocusCatalogue | None = None,
    mixture_min_loci: int = MIXTURE_MIN_LOCI,
    min_autosomal_loci: int = MIN_AUTOSOMAL_LOCI,
    refused: dict[str, tuple[str, str, str]] | None = None,
) -> BatchPlan:
    """Decide the outcome of every export row of a batch (no I/O; see the module docstring).

    Parameters
    ----------
    records : pandas.DataFrame
        Reader output (:data:`kinship.io.RECORD_COLUMNS`).
    manifest : Manifest
        Validated manifest of the batch.
    file : str
        Export file name, quoted in reasons.
    stored_samples, stored_profiles, stored_members : dict, optional
        What the store already holds for the batch's samples and families (see
        :meth:`kinship.store.Store.stored_samples`, ``stored_profiles``,
        ``stored_family_members``); empty by default.
    received_at : datetime, optional
        Receipt time of new samples (UTC now by default).
    catalogue : LocusCatalogue, optional
        The bundled catalogue by default.
    mixture_min_loci : int, default 2
        Three-allele loci that make a sample a probable mixture.
    min_autosomal_loci : int, default 12
        Fewest typed autosomal loci (this batch and the store together) a stored profile needs.
    refused : dict, optional
        ``{sample_id: (kind, reason, fix)}`` of samples the reader refused (e.g. a forensic
        CODIS specimen); all their rows are quarantined with that reason.

    Returns
    -------
    BatchPlan
    """
    catalogue = catalogue or default_catalogue()
    stored_samples = stored_samples or {}
    stored_profiles = stored_profiles or {}
    stored_members = stored_members or {}
    received_at = received_at or datetime.now(timezone.utc)
    rows = _normalise_rows(records, file=file, catalogue=catalogue)
    by_sample: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["sample_id"]:
            by_sample[r["sample_id"]].append(r)
    ent_by_sample: dict[str, list[dict]] = defaultdict(list)
    for e in manifest.entries.to_dict("records"):
        ent_by_sample[e["sample_id"]].append(e)
    bad_manifest = manifest.bad_sample_ids
    manifest_errors = [
        QuarantineRecord(manifest.file, e.line, e.sample_id, "", e.value, e.message, e.fix, source="manifest",
                         kind="manifest_row")
        for e in manifest.errors
    ]
    single_slot = set(manifest_rules()["implied_sex"])  # parents: at most one per family

    refused = refused or {}
    for sid in sorted(by_sample):
        srows = by_sample[sid]
        # 0. Samples the reader refused (not reference material...).
        if sid in refused:
            kind, reason, fix = refused[sid]
            _quarantine(srows, kind=kind, value=sid, overwrite=True, reason=reason, fix=fix)
            continue
        # 1. Samples the manifest does not describe (ladders, controls, unknown) or describes badly.
        if sid in bad_manifest:
            errs = "; ".join(e.message for e in manifest.errors_for(sid))
            _quarantine(srows, kind="manifest_error", value=sid, overwrite=True,
                        reason=f"sample {sid!r} has an invalid manifest row: {errs}",
                        fix="correct the manifest row and re-submit the batch")
            continue
        if sid not in ent_by_sample:
            _quarantine(srows, kind="not_in_manifest", value=sid, overwrite=True,
                        reason=(f"sample {sid!r} ({file}) is in the export but not in manifest "
                                f"{manifest.file} (an allelic ladder, a positive or negative control, "
                                "or an unlisted sample)"),
                        fix=_FIX["manifest"])
            continue
        # 2. Probable mixture: >= mixture_min_loci three-allele loci.
        three = [r for r in srows if r["kind"] == "three_allele"]
        if len(three) >= mixture_min_loci:
            reason = (f"probable mixture: sample {sid!r} ({file}) has three or more alleles at "
                      f"{len(three)} loci ({', '.join(r['locus'] for r in three)}); expected at most "
                      f"{mixture_min_loci - 1} for a single-source profile")
            _quarantine(srows, kind="mixture", value=sid, reason=reason, fix=_FIX["mixture"])
            for r in three:
                r["reason"] += f"; {reason}"
            continue
        landed = [r for r in srows if r["outcome"] == LANDED]
        if not landed:
            continue
        # 3. Two different genotypes for one locus within the batch.
        seen: dict[str, list[dict]] = defaultdict(list)
        for r in landed:
            seen[r["locus"]].append(r)
        diffs = [
            f"{locus}: " + ", ".join(f"line {r['source_line']} {_pair(r['allele_1'], r['allele_2'])}" for r in lrows)
            for locus, lrows in sorted(seen.items())
            if len({(r["allele_1"], r["allele_2"]) for r in lrows}) > 1
        ]
        if diffs:
            _quarantine(srows, kind="conflict", value=sid,
                        reason=f"sample {sid!r} has different genotypes for one locus within {file}: " + "; ".join(diffs),
                        fix="keep one typing per sample and locus in the export (re-runs under a new sample id)")
            continue
        # 4. Conflicts with the store: role, lab, family slots, then genotypes.
        ents = ent_by_sample[sid]
        first = ents[0]
        problems = []
        old = stored_samples.get(sid)
        if old is not None:
            for column in ("role", "lab"):
                if old[column] != first[column]:
                    problems.append(f"stored as {column} {old[column]!r} (file_id {old['file_id']}) but the "
                                    f"manifest says {first[column]!r}")
        for e in ents:
            if e["role"] != "reference":
                continue
            for member in stored_members.get((e["lab"], e["family_id"]), []):
                same = member["sample_id"] == sid
                if same and member["relationship"] != e["relationship"]:
                    problems.append(f"stored in family {e['lab']}/{e['family_id']} as {member['relationship']} "
                                    f"but the manifest says {e['relationship']}")
                elif not same and member["relationship"] == e["relationship"] and e["relationship"] in single_slot:
                    problems.append(f"family {e['lab']}/{e['family_id']} already has {e['relationship']} "
                                    f"{member['sample_id']!r} (file_id {member['file_id']})")
        if problems:
            _quarantine(srows, kind="conflict", value=sid,
                        reason=f"sample {sid!r} conflicts with the store: " + "; ".join(problems),
                        fix="correct the manifest (sample ids are global: prefix them with the lab code "
                            "if two labs may use the same id)")
            continue
        stored = stored_profiles.get(sid, {})
        diffs = []
        for locus, lrows in sorted(seen.items()):
            r = lrows[0]
            if locus in stored and tuple(stored[locus][:2]) != (r["allele_1"], r["allele_2"]):
                s1, s2, fid = stored[locus]
                diffs.append(f"{locus} stored {_pair(s1, s2)} (file_id {fid}) != new "
                             f"{_pair(r['allele_1'], r['allele_2'])} (line {r['source_line']})")
        if diffs:
            _quarantine(srows, kind="conflict", value=sid,
                        reason=(f"sample {sid!r} ({file}) conflicts with its stored profile at {len(diffs)} of "
                                f"{len(seen)} loci: " + "; ".join(diffs)),
                        fix=_FIX["conflict"])
            continue
        # 5. Enough typed autosomal loci (this batch and the store together).
        autosomal = {locus for locus in (*seen, *stored) if catalogue.get(locus).is_autosomal}
        if len(autosomal) < min_autosomal_loci:
            _quarantine(srows, kind="too_few_loci", value=str(len(autosomal)), only_landed=True,
                        reason=(f"sample {sid!r} ({file}) has {len(autosomal)} typed autosomal loci "
                                f"({len(stored)} already stored); expected at least {min_autosomal_loci} "
                                "(min_autosomal_loci) for a profile that can be matched; the profile is "
                                "not stored"),
                        fix=_FIX["autosomal"])

    # New genotypes, warnings, new samples and memberships.
    warnings: list[IngestWarning] = []
    sample_rows, member_rows = [], []
    seen_pairs: set[tuple[str, str]] = set()
    for r in rows:
        r["is_new"] = False
        if r["outcome"] == UNTYPED:
            warnings.append(IngestWarning(file, r["source_line"], r["sample_id"], r["raw_locus"], r["calls"],
                                          r["reason"], kind=r["kind"]))
        elif r["outcome"] == LANDED:
            key = (r["sample_id"], r["locus"])
            if key in seen_pairs:
                warnings.append(IngestWarning(
                    file, r["source_line"], r["sample_id"], r["raw_locus"], r["calls"],
                    f"repeated row for sample {r['sample_id']!r} at {r['locus']} with the same genotype",
                    kind="repeated_row"))
                continue
            seen_pairs.add(key)
            r["is_new"] = r["locus"] not in stored_profiles.get(r["sample_id"], {})
    landed_samples = {sid for sid, _ in seen_pairs}
    for sid, ents in sorted(ent_by_sample.items()):
        line = int(ents[0]["source_line"])
        if sid not in by_sample:
            warnings.append(IngestWarning(
                manifest.file, line, sid, "", sid,
                f"sample {sid!r} is in manifest {manifest.file} but has no rows in export {file}; nothing "
                "stored for it (fix: send its genotypes)", source="manifest", kind="missing_from_export"))
        elif sid not in landed_samples and not any(r["outcome"] == QUARANTINED for r in by_sample[sid]):
            warnings.append(IngestWarning(
                manifest.file, line, sid, "", sid,
                f"sample {sid!r} has no typed locus in export {file}; nothing stored", source="manifest",
                kind="no_typed_locus"))
    warnings.extend(_sex_check(rows, ent_by_sample, catalogue, file))
    for sid in sorted(landed_samples):
        srows = by_sample[sid]
        left_out = sorted({r["locus"] for r in srows if r["kind"] == "three_allele"})
        if left_out:
            first = next(r for r in srows if r["kind"] == "three_allele")
            warnings.append(IngestWarning(
                file, first["source_line"], sid, first["raw_locus"], ",".join(left_out),
                f"sample {sid!r}: three-allele pattern at {', '.join(left_out)}; the locus is left out "
                "of the stored profile and the rest landed — review the sample", kind="three_allele_locus"))
        stored = stored_profiles.get(sid, {})
        added = sorted({r["locus"] for r in srows if r.get("is_new")})
        if stored and added:
            first = next(r for r in srows if r.get("is_new"))
            warnings.append(IngestWarning(
                file, first["source_line"], sid, first["raw_locus"], ",".join(added),
                f"re-test of stored sample {sid!r} extends its profile by {len(added)} locus/loci "
                f"({', '.join(added)}); the {len(stored)} stored loci agree and are kept",
                kind="profile_extended"))
    for sid in sorted(landed_samples):
        ents = ent_by_sample[sid]
        first = ents[0]
        if sid not in stored_samples:
            sample_rows.append({"sample_id": sid, "role": first["role"], "sex": first["sex"],
                                "lab": first["lab"], "kit": first["kit"] or None, "received_at": received_at})
        for e in ents:
            if e["role"] != "reference":
                continue
            if not any(m["sample_id"] == sid for m in stored_members.get((e["lab"], e["family_id"]), [])):
                member_rows.append({"lab": e["lab"], "family_id": e["family_id"], "sample_id": sid,
                                    "relationship": e["relationship"]})
    return BatchPlan(_rows_frame(rows, with_is_new=True), sample_rows, member_rows, warnings, manifest_errors)


def _sex_check(rows: list[dict], ent_by_sample: dict, catalogue: LocusCatalogue, file: str) -> list[IngestWarning]:
    """Warn where the Amelogenin call and the manifest sex disagree (Y dropout is possible)."""
    out = []
    implied_sex = manifest_rules()["implied_sex"]
    done: set[tuple[str, str]] = set()
    for r in rows:
        if r["outcome"] != LANDED or (r["sample_id"], r["locus"]) in done:
            continue
        done.add((r["sample_id"], r["locus"]))
        if catalogue.get(r["locus"]).kind != "sex" or {r["allele_1"], r["allele_2"]} - {"X", "Y"}:
            continue
        ents = ent_by_sample[r["sample_id"]]
        sex, basis = ents[0]["sex"], "manifest sex"
        if sex not in ("male", "female"):
            implied = {implied_sex.get(e["relationship"]) for e in ents} - {None}
            if len(implied) == 1:
                sex = implied.pop()
                basis = f"declared relationship {ents[0]['relationship']!r} (sex"
        has_y = "Y" in (r["allele_1"], r["allele_2"])
        if (sex == "female" and has_y) or (sex == "male" and not has_y):
            pair = _pair(r["allele_1"], r["allele_2"])
            what = f"{basis} {sex!r})" if basis.endswith("(sex") else f"{basis} {sex!r}"
            out.append(IngestWarning(
                file, r["source_line"], r["sample_id"], r["raw_locus"], pair,
                f"{r['locus']} {pair} disagrees with {what} (Y dropout or a sample "
                "swap?); stored as given — check the sample", kind="sex_check"))
    return out


def duplicate_warnings(
    rows: pd.DataFrame,
    *,
    file: str,
    stored_profiles: dict[str, dict[str, tuple]],
    catalogue: LocusCatalogue | None = None,
    min_loci: int = DUPLICATE_MIN_LOCI,
) -> list[IngestWarning]:
    """Flag samples whose landed profile equals another sample's (a possible duplicate).

    Two samples are possible duplicates when they share at least ``min_loci`` typed autosomal
    loci and have the same genotype at every one of them: the same person sampled twice (under
    two ids), or a sample swap. Unrelated people share 10 or more CODIS genotypes with a
    probability far below 1e-9, first-degree relatives essentially never at every locus.

    Parameters
    ----------
    rows : pandas.DataFrame
        :attr:`BatchPlan.rows` (only ``landed`` rows are used).
    file : str
        Export file name, quoted in messages.
    stored_profiles : dict
        ``{sample_id: {locus: (allele_1, allele_2, ...)}}`` of stored samples that may match
        (other samples are never compared); a batch sample's stored loci are added to its
        profile.
    catalogue : LocusCatalogue, optional
    min_loci : int, default 10

    Returns
    -------
    list of IngestWarning
        One ``possible_duplicate`` flag per (batch sample, other sample) pair, on the batch
        sample's first landed row; each pair of batch samples once.
    """
    catalogue = catalogue or default_catalogue()
    landed = rows[rows["outcome"] == LANDED]
    batch: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    first_line: dict[str, tuple[int, str]] = {}
    for r in landed.itertuples():
        if catalogue.get(r.locus).is_autosomal:
            batch[r.sample_id][r.locus] = (r.allele_1, r.allele_2)
            first_line.setdefault(r.sample_id, (int(r.source_line), r.raw_locus))
    profiles: dict[str, dict[str, tuple[str, str]]] = {}
    for sid, prof in stored_profiles.items():
        profiles[sid] = {k: tuple(v[:2]) for k, v in prof.items() if catalogue.get(k).is_autosomal}
    for sid, prof in batch.items():
        profiles[sid] = {**profiles.get(sid, {}), **prof}
    out = []
    done: set[frozenset] = set()
    for sid in sorted(batch):
        mine = profiles[sid]
        for other in sorted(profiles):
            if other == sid or frozenset((sid, other)) in done:
                continue
            theirs = profiles[other]
            shared = [locus for locus in mine if locus in theirs]
            if len(shared) >= min_loci and all(mine[locus] == theirs[locus] for locus in shared):
                done.add(frozenset((sid, other)))
                line, raw_locus = first_line[sid]
                where = "in this batch" if other in batch else "already stored"
                out.append(IngestWarning(
                    file, line, sid, "", other,
                    f"possible duplicate: sample {sid!r} has the same genotype as sample {other!r} "
                    f"({where}) at all {len(shared)} shared autosomal loci — the same person sampled "
                    "twice, or a sample swap; both are stored, check the sample records",
                    kind="possible_duplicate"))
    return out


def _duplicate_lookup(store: Store, conn, rows: pd.DataFrame, catalogue: LocusCatalogue,
                      min_loci: int) -> dict[str, dict[str, tuple]]:
    """Stored profiles that share at least ``min_loci`` genotypes with some landed sample."""
    landed = rows[rows["outcome"] == LANDED]
    keys = {(r.locus, r.allele_1, r.allele_2) for r in landed.itertuples() if catalogue.get(r.locus).is_autosomal}
    if not keys:
        return {}
    hits = store.samples_sharing_genotypes(keys, conn=conn)
    by_sample: dict[str, set] = defaultdict(set)
    for r in landed.itertuples():
        by_sample[r.sample_id].add((r.locus, r.allele_1, r.allele_2))
    candidates = set()
    for other, genos in hits.items():
        theirs = {(locus, a1, a2) for locus, (a1, a2) in genos.items()}
        if any(len(theirs & mine) >= min_loci for sid, mine in by_sample.items() if sid != other):
            candidates.add(other)
    return store.stored_profiles(candidates, conn=conn) if candidates else {}


def _cmf_manifest(specimens: pd.DataFrame, *, file: str, lab: str, kit: str | None) -> tuple[Manifest, bytes]:
    """The manifest a CODIS file implies: its reference-material specimens and their roles."""
    rows = ["sample_id,role,family_id,relationship,sex"]
    for r in specimens.itertuples():
        if r.role:
            family = r.case_id if r.role == "reference" else ""
            rows.append(",".join(_csv_cell(v) for v in (r.sample_id, r.role, family, r.relationship, r.sex)))
    raw = ("\n".join(rows) + "\n").encode()
    if len(rows) == 1:
        return Manifest(file=f"{file} (specimen categories)", entries=pd.DataFrame(
            columns=["sample_id", "role", "family_id", "relationship", "sex", "lab", "kit", "source_line"])), raw
    return parse_manifest(raw, file=f"{file} (specimen categories)", lab=lab, kit=kit), raw


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\n') else text


def ingest_batch(
    store: Store,
    export_path: str | Path,
    manifest_path: str | Path | None = None,
    *,
    lab: str,
    kit: str | None = None,
    fmt: str = "genemapper",
    received_at: datetime | None = None,
    catalogue: LocusCatalogue | None = None,
    mixture_min_loci: int = MIXTURE_MIN_LOCI,
    min_autosomal_loci: int = MIN_AUTOSOMAL_LOCI,
    duplicate_min_loci: int = DUPLICATE_MIN_LOCI,
    reader_options: dict | None = None,
) -> IngestSummary:
    """Read, validate and land one batch (lab export + manifest) in the store, atomically.

    Parameters
    ----------
    store : kinship.store.Store
        Target store.
    export_path : str or pathlib.Path
        The lab export.
    manifest_path : str or pathlib.Path, optional
        Its manifest CSV (``schemas/manifest.v1.json``). Required except for ``fmt="cmf"``,
        where the specimens' categories imply roles and relationships (and the CODIS
        ``CASEID`` is the family id) when no manifest is given.
    lab : str
        Submitting lab (fills empty ``lab`` cells; scopes family ids).
    kit : str, optional
        Typing kit (fills empty ``kit`` cells).
    fmt : str
        Export format, a key of :data:`kinship.io.READERS`: ``genemapper`` (long or wide),
        ``tidy``, ``parquet``, ``cmf``, ``vcf``.
    received_at : datetime, optional
        Receipt time recorded for the batch and its new samples (UTC now by default).
    catalogue : LocusCatalogue, optional
        Locus catalogue (bundled by default).
    mixture_min_loci : int, default 2
        Three-allele loci that make a sample a probable mixture.
    min_autosomal_loci : int, default 12
        Fewest typed autosomal loci a stored profile needs (batch and store together).
    duplicate_min_loci : int, default 10
        Shared identical autosomal loci that flag two samples as a possible duplicate.
    reader_options : dict, optional
        Keyword options of the reader (e.g. ``category_map`` for ``cmf``, ``caller`` for
        ``vcf``); part of the batch key.

    Returns
    -------
    IngestSummary
        Counts and records of what landed, was left untyped or was quarantined; with
        ``already_ingested=True`` (and the stored counts) if the pair was ingested before.

    Raises
    ------
    ExportFormatError
        If the export is not of format ``fmt`` (nothing is stored).
    ManifestError
        If the manifest as a whole is unreadable (missing/unknown columns, no rows), or is
        missing where the format needs one; invalid rows do not raise, their samples are
        quarantined.
    """
    export_path = Path(export_path)
    options = dict(reader_options or {})
    export_bytes = export_path.read_bytes()
    manifest_bytes = Path(manifest_path).read_bytes() if manifest_path is not None else b""
    options_bytes = json.dumps(options, sort_keys=True, separators=(",", ":"), default=str).encode() if options else b""
    sha = batch_sha256(export_bytes, manifest_bytes, options_bytes)
    previous = store.find_ingested_file(sha)
    if previous is not None:
        return _summary_from_store(store, previous)
    file = export_path.name
    records = read_export(export_path, fmt=fmt, data=export_bytes, **options)
    skipped = list(records.attrs.get("skipped", []))
    refused = dict(records.attrs.get("refused", {}))
    if records.empty and not skipped:
        raise ExportFormatError(
            f"export {file} has no data rows; expected one row per (sample, locus); "
            "fix: export the genotypes table with its rows"
        )
    if manifest_path is not None:
        manifest_name = Path(manifest_path).name
        manifest = read_manifest(manifest_path, lab=lab, kit=kit, data=manifest_bytes)
    elif "specimens" in records.attrs:
        manifest, _ = _cmf_manifest(records.attrs["specimens"], file=file, lab=lab, kit=kit)
        manifest_name = manifest.file
    else:
        raise ManifestError(
            f"export {file} ({fmt}): no manifest given; expected a manifest CSV saying who each sample "
            "is (sample_id, role, family_id, relationship, sex); fix: pass the batch's manifest"
        )
    catalogue = catalogue or default_catalogue()
    received_at = received_at or datetime.now(timezone.utc)
    try:
        with store.write_transaction() as conn:
            previous = store.find_ingested_file(sha, conn=conn)
            if previous is not None:  # a concurrent ingestion of the same batch won the lock
                summary = None
            else:
                summary, file_id = _plan_and_write(
                    store, conn, records, manifest, file=file, manifest_name=manifest_name, sha=sha,
                    export_bytes=export_bytes, manifest_bytes=manifest_bytes, fmt=fmt, lab=lab, kit=kit,
                    received_at=received_at, catalogue=catalogue, mixture_min_loci=mixture_min_loci,
                    min_autosomal_loci=min_autosomal_loci, duplicate_min_loci=duplicate_min_loci,
                    refused=refused, skipped=skipped,
                )
    except sa.exc.IntegrityError:
        # Another process landed the same batch between our check and our write.
        previous = store.find_ingested_file(sha)
        if previous is None:
            raise
        summary = None
    if summary is None:
        return _summary_from_store(store, previous)
    summary.file_id = file_id
    return summary


def _plan_and_write(store, conn, records, manifest, *, file, manifest_name, sha, export_bytes, manifest_bytes,
                    fmt, lab, kit, received_at, catalogue, mixture_min_loci, min_autosomal_loci,
                    duplicate_min_loci, refused, skipped):
    ids = set(records["sample_id"]) | set(manifest.entries["sample_id"])
    families = {(r.lab, r.family_id) for r in manifest.entries.itertuples() if r.role == "reference"}
    plan = plan_batch(
        records, manifest, file=file,
        stored_samples=store.stored_samples(ids, conn=conn),
        stored_profiles=store.stored_profiles(ids, conn=conn),
        stored_members=store.stored_family_members(families, conn=conn),
        received_at=received_at, catalogue=catalogue, mixture_min_loci=mixture_min_loci,
        min_autosomal_loci=min_autosomal_loci, refused=refused,
    )
    similar = _duplicate_lookup(store, conn, plan.rows, catalogue, duplicate_min_loci)
    landed_ids = set(plan.rows.loc[plan.rows["outcome"] == LANDED, "sample_id"])
    own = store.stored_profiles(landed_ids, conn=conn) if landed_ids else {}
    plan.warnings.extend(duplicate_warnings(plan.rows, file=file, stored_profiles={**similar, **own},
                                            catalogue=catalogue, min_loci=duplicate_min_loci))
    if skipped:
        names = ", ".join(str(s["record"]) for s in skipped[:10]) + (", ..." if len(skipped) > 10 else "")
        plan.warnings.append(IngestWarning(
            file, int(skipped[0]["line"]), "", "", f"{len(skipped)} records",
            f"{len(skipped)} record(s) of {file} match no catalogue locus and were skipped ({names}): "
            "not forensic STRs, or loci missing from kinship/data/str_reference_alleles.csv — add a "
            "locus there (with its GRCh38 repeat coordinates and reference CE allele) to read it",
            kind="not_in_catalogue"))
    summary = _summary(plan, sha=sha, file=file, manifest_name=manifest_name)
    summary.n_records_skipped = len(skipped)
    file_id = store.write_batch(
        conn,
        file_row={
            "sha256": sha,
            "export_sha256": hashlib.sha256(export_bytes).hexdigest(),
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "export_name": file, "manifest_name": manifest_name, "fmt": fmt,
            "lab": lab, "kit": kit, "received_at": received_at,
            "n_rows": summary.n_rows, "n_landed": summary.n_landed,
            "n_untyped": summary.n_untyped, "n_quarantined": summary.n_quarantined,
            "n_warnings": summary.n_warnings, "n_samples_landed": summary.n_samples_landed,
            "n_genotypes_added": summary.n_genotypes_added, "n_flagged": summary.n_flagged,
            "n_records_skipped": summary.n_records_skipped,
            "code_version": kinship.code_version(),
        },
        sample_rows=plan.samples,
        member_rows=plan.members,
        genotype_rows=[
            {"sample_id": r.sample_id, "locus": r.locus, "allele_1": r.allele_1, "allele_2": r.allele_2}
            for r in plan.rows[plan.rows["is_new"]].itertuples()
        ],
        quarantine_rows=[_qrow(q) for q in (*summary.quarantine, *summary.manifest_errors)],
        warning_rows=[
            {"source": w.source, "kind": w.kind, "line": w.line, "sample_id": w.sample_id, "locus": w.locus,
             "value": w.value, "message": w.message}
            for w in summary.warnings
        ],
    )
    return summary, file_id


def _qrow(q: QuarantineRecord) -> dict:
    return {"source": q.source, "kind": q.kind, "line": q.line, "sample_id": q.sample_id, "locus": q.locus,
            "value": q.value, "reason": q.reason, "fix": q.fix}


def _summary(plan: BatchPlan, *, sha: str, file: str, manifest_name: str) -> IngestSummary:
    rows = plan.rows
    quarantined = rows[rows["outcome"] == QUARANTINED]
    counts = rows["outcome"].value_counts()
    return IngestSummary(
        file_sha256=sha,
        export_name=file,
        manifest_name=manifest_name,
        file_id=None,
        n_rows=len(rows),
        n_landed=int(counts.get(LANDED, 0)),
        n_untyped=int(counts.get(UNTYPED, 0)),
        n_quarantined=int(counts.get(QUARANTINED, 0)),
        n_warnings=len(plan.warnings),
        n_samples_landed=rows.loc[rows["outcome"] == LANDED, "sample_id"].nunique(),
        n_genotypes_added=int(rows["is_new"].sum()),
        already_ingested=False,
        quarantine=[
            QuarantineRecord(file, int(r.source_line), r.sample_id, r.raw_locus, r.value, r.reason, r.fix,
                             kind=r.kind)
            for r in quarantined.itertuples()
        ],
        warnings=list(plan.warnings),
        manifest_errors=list(plan.manifest_errors),
        n_flagged=sum(w.kind in FLAG_KINDS for w in plan.warnings),
    )


def _summary_from_store(store: Store, row: dict) -> IngestSummary:
    q = store.quarantine_records(file_id=row["file_id"])
    w = store.warning_records(file_id=row["file_id"])

    def line(v):
        return None if pd.isna(v) else int(v)

    records = [
        QuarantineRecord(r.export_name if r.source == "export" else row["manifest_name"], line(r.line),
                         r.sample_id, r.locus, r.value, r.reason, r.fix, r.source, r.kind)
        for r in q.itertuples()
    ]
    return IngestSummary(
        file_sha256=row["sha256"],
        export_name=row["export_name"],
        manifest_name=row["manifest_name"],
        file_id=int(row["file_id"]),
        n_rows=row["n_rows"],
        n_landed=row["n_landed"],
        n_untyped=row["n_untyped"],
        n_quarantined=row["n_quarantined"],
        n_warnings=row["n_warnings"],
        n_samples_landed=row["n_samples_landed"],
        n_genotypes_added=0,
        already_ingested=True,
        quarantine=[r for r in records if r.source == "export"],
        warnings=[
            IngestWarning(r.export_name if r.source == "export" else row["manifest_name"], line(r.line),
                          r.sample_id, r.locus, r.value, r.message, r.source, r.kind)
            for r in w.itertuples()
        ],
        manifest_errors=[r for r in records if r.source == "manifest"],
        n_flagged=int(row.get("n_flagged") or 0),
        n_records_skipped=int(row.get("n_records_skipped") or 0),
    )


def summary_markdown(summary: IngestSummary) -> str:
    """A Markdown report of one ingestion, for a Prefect artifact or a lab's e-mail.

    Counts, and quarantined rows and warnings per sample and rule. It quotes sample ids, line
    numbers and rule names only: no genotypes (artifacts and logs carry no genotypes); the
    full reasons are in the store's ``quarantine`` and ``warnings`` tables.

    Parameters
    ----------
    summary : IngestSummary

    Returns
    -------
    str

    Examples
    --------
    >>> s = IngestSummary("ab" * 32, "run7.txt", "run7.csv", 1, 3, 1, 1, 1, 1, 1, 1, False,
    ...                   [QuarantineRecord("run7.txt", 4, "Ladder", "TH01", "", "r", "f",
    ...                                     kind="not_in_manifest")],
    ...                   [IngestWarning("run7.txt", 3, "C1", "vWA", "OL", "m", kind="off_ladder")])
    >>> print(summary_markdown(s).splitlines()[0])
    ### Ingestion of `run7.txt` with manifest `run7.csv`
    >>> "| Ladder | not_in_manifest | 1 | 4 |" in summary_markdown(s)
    True
    """
    head = [
        f"### Ingestion of `{summary.export_name}` with manifest `{summary.manifest_name}`",
        "",
        f"batch sha256 `{summary.file_sha256[:16]}…`, file_id {summary.file_id}"
        + (" — **already ingested: nothing added**" if summary.already_ingested else ""),
        "",
        "| rows | landed | untyped | quarantined | flagged | warnings | samples landed | genotypes added "
        "| records skipped |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.n_rows} | {summary.n_landed} | {summary.n_untyped} | {summary.n_quarantined} | "
        f"{summary.n_flagged} | {summary.n_warnings} | {summary.n_samples_landed} | "
        f"{summary.n_genotypes_added} | {summary.n_records_skipped} |",
    ]

    def table(title: str, items) -> list[str]:
        groups: dict[tuple[str, str], list[int | None]] = defaultdict(list)
        for item in items:
            groups[(item.sample_id, item.kind)].append(item.line)
        if not groups:
            return []
        out = ["", f"#### {title}", "", "| sample | rule | rows | first line |", "|---|---|---:|---:|"]
        for (sample, kind), lines in sorted(groups.items()):
            first = min((x for x in lines if x is not None), default="")
            out.append(f"| {sample or '(none)'} | {kind} | {len(lines)} | {first} |")
        return out

    body = (
        table("Quarantined export rows", summary.quarantine)
        + table("Invalid manifest rows", summary.manifest_errors)
        + table("Warnings", summary.warnings)
    )
    return "\n".join(head + body) + "\n"


# -- families filed as a PED-style pedigree table -------------------------------------------------


@dataclass(frozen=True)
class PedigreeIngestSummary:
    """What one :func:`ingest_pedigrees` call did.

    Attributes
    ----------
    file_name, file_sha256 : str
        The pedigree CSV (name without folder) and the SHA-256 of its bytes.
    lab : str
    family_ids : list of str
        Families of the file, in file order.
    n_families, n_members, n_typed : int
        Families, members and typed members (references) of the file.
    n_families_added : int
        Families new to the store; the rest were stored already with the same pedigree.
    """

    file_name: str
    file_sha256: str
    lab: str
    family_ids: list[str]
    n_families: int
    n_members: int
    n_typed: int
    n_families_added: int


def ingest_pedigrees(store: "Store", path: str | Path, *, lab: str) -> PedigreeIngestSummary:
    """Store the families of a PED-style pedigree CSV (:mod:`kinship.io.pedigree`) of ``lab``.

    Each family is validated as a pedigree (:func:`kinship.io.pedigree.read_pedigree_csv`),
    every typed member's ``sample_id`` must be a reference already in the store (ingest the
    relatives' export first; their manifest rows name the family with relationship
    ``pedigree``, ``schemas/manifest.v3.json``), and then all families land in one transaction
    (:meth:`kinship.store.Store.save_pedigrees`). Re-ingesting the same file adds nothing; a
    different pedigree under a stored family id is refused.

    Raises
    ------
    PedigreeError
        The file is not a valid pedigree table (the reader's message: line, value, fix).
    ReuniteInputError
        A typed member's sample is not a stored reference, or the family's references are
        filed in the manifest with another relationship than ``pedigree``.
    StoreError
        A family is stored already with a different pedigree (nothing is written).
    """
    from kinship.io.pedigree import read_pedigree_csv

    path = Path(path)
    data = path.read_bytes()
    pedigrees = read_pedigree_csv(path, data=data)
    rows = []
    for family_id, ped in pedigrees.items():
        for k, person in enumerate(ped.ids):
            rows.append({
                "family_id": family_id, "person_id": person,
                "father": ped.ids[ped.father[k]] if ped.father[k] >= 0 else "",
                "mother": ped.ids[ped.mother[k]] if ped.mother[k] >= 0 else "",
                "sex": ped.sex[k], "sample_id": ped.sample_ids[k], "is_missing": k == ped.missing,
            })
    stored = store.stored_samples(r["sample_id"] for r in rows if r["sample_id"])
    for r in rows:
        sid = r["sample_id"]
        if sid and (sid not in stored or stored[sid]["role"] != "reference"):
            found = "is not in the store" if sid not in stored else f"is stored as a {stored[sid]['role']}"
            raise ReuniteInputError(
                f"{path.name}: family {lab}/{r['family_id']}, member {r['person_id']!r}: sample {sid} "
                f"{found}; expected a stored reference profile; fix: ingest the relatives' profiles "
                "first (export + manifest, relationship 'pedigree'), then the pedigree table"
            )
    members = store.stored_family_members((lab, f) for f in pedigrees)
    for (_, family_id), filed in sorted(members.items()):
        other = sorted({m["relationship"] for m in filed} - {"pedigree"})
        if other:
            raise ReuniteInputError(
                f"{path.name}: family {lab}/{family_id} is filed in the manifest with relationship(s) "
                f"{other}; expected only 'pedigree' for a family given as a pedigree table; fix: file "
                "the pedigree under another family id, or its references with relationship 'pedigree'"
            )
    added = store.save_pedigrees(pd.DataFrame(rows), lab=lab)
    return PedigreeIngestSummary(
        file_name=path.name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        lab=lab,
        family_ids=list(pedigrees),
        n_families=len(pedigrees),
        n_members=len(rows),
        n_typed=sum(1 for r in rows if r["sample_id"]),
        n_families_added=added,
    )
