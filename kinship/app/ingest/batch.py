"""Landing one batch (lab export + manifest) in the store: read, plan, write, summarise.

:func:`ingest_batch` reads the export and the manifest, plans the batch
(:func:`kinship.app.ingest.plan_batch`) against what the store holds, and writes every row
(landed and quarantined) in one transaction of the store
(:meth:`kinship.store.Store.batch_transaction`), which also serialises concurrent ingestions:
two processes landing the same file land it once. The batch key is :func:`batch_sha256` of
the export and manifest bytes; a second submission of the same pair adds nothing.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

import kinship
from kinship.app.ingest.plan import (
    DUPLICATE_MIN_LOCI,
    BatchPlan,
    duplicate_warnings,
    frame_records,
    landed_profiles,
    plan_batch,
)
from kinship.app.ingest.records import FLAG_KINDS, LANDED, QUARANTINED, UNTYPED, IngestRecord, IngestSummary
from kinship.app.ingest.sample_rules import MIN_AUTOSOMAL_LOCI, MIXTURE_MIN_LOCI
from kinship.app.ingest.pseudonyms import Scrubber, unstorable_ids
from kinship.errors import ExportFormatError, ManifestError, StoreError
from kinship.genetics.loci import LocusCatalogue, default_catalogue
from kinship.genetics.profile_keys import key_rows, keys_agree, profile_keys
from kinship.io import read_export
from kinship.io.manifest import MANIFEST_COLUMNS, Manifest, parse_manifest, read_manifest

if TYPE_CHECKING:
    from kinship.store import Store
    from kinship.store.profiles import BatchTransaction

__all__ = ["batch_sha256", "batch_identity", "ingest_batch"]

_N_STAGES = 3


def batch_sha256(export_bytes: bytes, manifest_bytes: bytes, options: bytes = b"") -> str:
    """Batch key: SHA-256 over the export bytes then the manifest bytes, each length-prefixed.

    The 8-byte big-endian length before each part keeps (export, manifest) pairs distinct even
    when bytes move from one file to the other. ``options`` is appended the same way when not
    empty: :func:`ingest_batch` passes :func:`batch_identity` (lab, format, kit, reader
    options and the sample rules' thresholds), so the same files under another lab, kit,
    format or option are another batch.

    Parameters
    ----------
    export_bytes, manifest_bytes : bytes
        The two files as read.
    options : bytes, optional
        Canonical JSON of what else identifies the batch (:func:`batch_identity`); ``b""`` for none.

    Returns
    -------
    str
        64 lower-case hex characters.

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


def batch_identity(*, lab: str, fmt: str, kit: str | None, reader_options: dict | None,
                   min_autosomal_loci: int, mixture_min_loci: int, duplicate_min_loci: int,
                   manifest_encoding: str | None = None) -> bytes:
    """What besides the two files makes a batch: canonical JSON, the ``options`` of :func:`batch_sha256`.

    The lab, the format, the kit, the reader options and the thresholds of the sample rules:
    the same files sent again under a corrected ``--lab`` (or another kit, format or minimum)
    are another batch, and are planned and landed again.

    Returns
    -------
    bytes
        UTF-8 JSON with sorted keys and no spaces.

    Examples
    --------
    >>> a = batch_identity(lab="L1", fmt="tidy", kit=None, reader_options=None, min_autosomal_loci=12,
    ...                    mixture_min_loci=2, duplicate_min_loci=10)
    >>> a[:28]
    b'{"duplicate_min_loci":10,"fm'
    >>> a == batch_identity(lab="L2", fmt="tidy", kit=None, reader_options=None, min_autosomal_loci=12,
    ...                     mixture_min_loci=2, duplicate_min_loci=10)
    False
    """
    identity = {"lab": lab, "fmt": fmt, "kit": kit or "", "reader_options": dict(reader_options or {}),
                "min_autosomal_loci": int(min_autosomal_loci), "mixture_min_loci": int(mixture_min_loci),
                "duplicate_min_loci": int(duplicate_min_loci)}
    if manifest_encoding is not None:  # a declared encoding reads other text from the same bytes
        identity["manifest_encoding"] = str(manifest_encoding)
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


def _lab_names(store: Store) -> dict[str, str]:
    """Registered display name -> lab code, for manifests that name their lab in Chinese."""
    labs = store.labs()
    return dict(zip(labs["name"], labs["code"]))


def _cmf_manifest(specimens: pd.DataFrame, *, file: str, lab: str, kit: str | None,
                  labs: list[str] | None = None, kits: list[str] | None = None) -> tuple[Manifest, bytes]:
    """The manifest a CODIS file implies: its reference-material specimens and their roles."""
    rows = ["sample_id,role,family_id,relationship,sex"]
    for r in specimens.itertuples():
        if r.role:
            family = r.case_id if r.role == "reference" else ""
            rows.append(",".join(_csv_cell(v) for v in (r.sample_id, r.role, family, r.relationship, r.sex)))
    raw = ("\n".join(rows) + "\n").encode()
    if len(rows) == 1:
        return Manifest(file=f"{file} (specimen categories)", entries=pd.DataFrame(columns=MANIFEST_COLUMNS)), raw
    return parse_manifest(raw, file=f"{file} (specimen categories)", lab=lab, kit=kit, labs=labs, kits=kits), raw


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\n') else text


def _gc_paused(func):
    """Run ``func`` with Python's cyclic garbage collector paused (reference counting still
    frees everything else as usual).

    A batch builds millions of small lists, tuples and dicts (its rows, their fields, the
    plan). Each allocation counts toward a collection, and each full collection walks every
    live object. On an 18,000-profile batch that walking was most of the reader's time and a
    large share of the rest: splitting the 360,000 lines took 0.45 s with the collector on and
    0.10 s with it off. The batch's data hold no reference cycles worth collecting early. The
    collector is switched back on (if it was on) when ``func`` returns or raises, and then
    collects what it finds.
    """
    @functools.wraps(func)
    def paused(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return paused


@_gc_paused
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
    progress: Callable[[str, int, int], None] | None = None,
    manifest_encoding: str | None = None,
) -> IngestSummary:
    """Read, validate and land one batch (lab export + manifest) in the store, atomically.

    The export and manifest are read, validated and planned against a snapshot of the store
    taken without the write lock; then one short write transaction re-reads what the plan
    depends on for the batch's ids (stored samples, profiles and family members, the stored
    profiles sharing a duplicate-screen key), plans again on the lock only if another writer
    changed it, and inserts the batch: it lands whole or not at all, and other labs' batches and
    match runs wait for the write only, not for the parsing and planning.

    Parameters
    ----------
    store : kinship.store.Store
        Target store.
    export_path : str or pathlib.Path
        The lab export.
    manifest_path : str or pathlib.Path, optional
        Its manifest CSV (``schemas/manifest.v5.json``; v3 and v4 files are read too). Required except for ``fmt="cmf"``,
        where the specimens' categories imply roles and relationships (and the CODIS
        ``CASEID`` is the family id) when no manifest is given.
    lab : str
        Submitting lab, a registered lab code (:meth:`kinship.store.Store.register_lab`); fills
        empty ``lab`` cells; scopes family ids.
    kit : str, optional
        Typing kit, a kit of the catalogue (bundled or :meth:`kinship.store.Store.register_kit`;
        matched ignoring case); fills empty ``kit`` cells.
    fmt : str
        Export format, a key of :data:`kinship.io.READERS`: ``genemapper`` (long or wide),
        ``tidy``, ``parquet``, ``cmf``, ``vcf``, ``forenseq`` (UAS report xlsx), ``straitrazor``.
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
        ``vcf``). The batch key covers them with the lab, format, kit and the three thresholds
        (:func:`batch_identity`).
    progress : callable, optional
        Called as ``progress(stage, n_done, n_stages)`` when a stage starts (``"read"``,
        ``"plan"``, ``"write"``) and at the end (``"done"``, ``n_done == n_stages``): a hook
        for a progress bar or a Prefect progress artifact (the caller's; kinship draws none).
    manifest_encoding : str, optional
        The manifest's declared encoding (``utf-8``, ``gb18030``, ``gbk``); None detects it:
        UTF-8 strictly, else GB18030 strictly (:func:`kinship.io.tidy.decode_text`). A tidy
        export's encoding is the reader option ``encoding`` (detected likewise). A declared
        encoding is part of the batch key.

    Returns
    -------
    IngestSummary
        Counts and records of what landed, was left untyped or was quarantined; with
        ``already_ingested=True`` (and the stored counts) if the pair was ingested before. A
        batch that landed no sample is still recorded with its quarantine, and
        ``summary.landed_nothing`` is true: call :meth:`IngestSummary.check_landed` to raise
        :class:`~kinship.errors.NothingLandedError` (a command line must exit non-zero).

    Raises
    ------
    ExportFormatError
        If the export is not of format ``fmt`` (nothing is stored).
    ManifestError
        If the manifest as a whole is unreadable (missing/unknown columns, no rows), or is
        missing where the format needs one; invalid rows do not raise, their samples are
        quarantined (a lab or kit outside the catalogues is an invalid row).
    StoreError
        If ``lab`` is not a registered lab, ``kit`` not a kit of the catalogue, or the same
        batch was retracted.

    Notes
    -----
    Pseudonymous by construction (:mod:`kinship.app.ingest.pseudonyms`): an export sample name
    absent from the manifest, an invalid manifest id and every ``export_name`` reach the
    quarantine and warning tables only as the store's pseudonym (``h:`` + 16 hex), with the line.
    A sample erased on withdrawn consent is quarantined (``erased``) if sent again.
    """
    _report(progress, "read", 0)
    export_path = Path(export_path)
    options = dict(reader_options or {})
    lab = store.check_lab(lab)  # a registered lab and a catalogue kit, before anything is read
    kit = store.check_kit(kit) if kit else None
    export_bytes = export_path.read_bytes()
    manifest_bytes = Path(manifest_path).read_bytes() if manifest_path is not None else b""
    identity = batch_identity(lab=lab, fmt=fmt, kit=kit, reader_options=options,
                              min_autosomal_loci=min_autosomal_loci, mixture_min_loci=mixture_min_loci,
                              duplicate_min_loci=duplicate_min_loci, manifest_encoding=manifest_encoding)
    sha = batch_sha256(export_bytes, manifest_bytes, identity)
    previous = store.find_ingested_file(sha)
    if previous is not None:
        _refuse_retracted(store, previous)
        return _summary_from_store(store, previous)
    file = export_path.name
    records = read_export(export_path, fmt=fmt, data=export_bytes, **options)
    skipped = list(records.attrs.get("skipped", []))
    refused = dict(records.attrs.get("refused", {}))
    notes = list(records.attrs.get("notes", []))
    if records.empty and not skipped:
        raise ExportFormatError(
            f"export {file} has no data rows; expected one row per (sample, locus); "
            "fix: export the genotypes table with its rows"
        )
    if manifest_path is not None:
        manifest_name = Path(manifest_path).name
        manifest = read_manifest(manifest_path, lab=lab, kit=kit, data=manifest_bytes,
                                 labs=store.lab_codes(), kits=store.kit_names(),
                                 encoding=manifest_encoding, lab_names=_lab_names(store))
    elif "specimens" in records.attrs:
        manifest, _ = _cmf_manifest(records.attrs["specimens"], file=file, lab=lab, kit=kit,
                                    labs=store.lab_codes(), kits=store.kit_names())
        manifest_name = manifest.file
    else:
        raise ManifestError(
            f"export {file} ({fmt}): no manifest given; expected a manifest CSV saying who each sample "
            "is (sample_id, role, family_id, relationship, sex); fix: pass the batch's manifest"
        )
    records, refused, scrubber = _pseudonymous_inputs(store, records, manifest, refused)
    catalogue = catalogue or default_catalogue()
    received_at = received_at or datetime.now(timezone.utc)

    def prepare(view: Store | BatchTransaction) -> _Prepared:
        return _scrubbed(scrubber, _prepare(
            view, records, manifest, file=file, manifest_name=manifest_name, sha=sha,
            export_bytes=export_bytes, manifest_bytes=manifest_bytes, fmt=fmt, lab=lab, kit=kit,
            received_at=received_at, catalogue=catalogue, mixture_min_loci=mixture_min_loci,
            min_autosomal_loci=min_autosomal_loci, duplicate_min_loci=duplicate_min_loci,
            refused=refused, skipped=skipped, notes=notes,
        ))

    _report(progress, "plan", 1)
    prepared = prepare(store)  # against a snapshot read without the write lock
    _report(progress, "write", 2)
    with store.batch_transaction(sha) as tx:
        if tx.stored_batch is None:  # else a concurrent ingestion of the same batch won the lock
            if _store_state(tx, prepared.ids, prepared.families, prepared.keys_of) != prepared.state:
                prepared = prepare(tx)  # another writer changed what the plan depends on: plan again
            tx.write_batch(**prepared.rows)
            summary = prepared.summary
    _report(progress, "done", 3)
    if tx.file_id is None:  # landed by another process before us, or while we planned it
        return _summary_from_store(store, tx.stored_batch)
    summary.file_id = tx.file_id
    return summary




def _prepare(view: Store | BatchTransaction, records: pd.DataFrame, manifest: Manifest, *, file: str,
             manifest_name: str, sha: str, export_bytes: bytes, manifest_bytes: bytes, fmt: str, lab: str,
             kit: str | None, received_at: datetime, catalogue: LocusCatalogue, mixture_min_loci: int,
             min_autosomal_loci: int, duplicate_min_loci: int, refused: dict,
             skipped: list[dict], notes: list[dict] = ()) -> _Prepared:
    """Plan the batch against the store as ``view`` sees it: its summary and the rows to write.

    Every store-dependent rule (stored conflicts, family slots, profile extensions, duplicates)
    reads through ``view``; :attr:`_Prepared.state` is what it read, so the write transaction
    can tell whether the store changed since (:func:`_store_state`).
    """
    ids = set(records["sample_id"].tolist()) | set(manifest.entries["sample_id"].tolist())
    families = {(r.lab, r.family_id) for r in manifest.entries.itertuples() if r.role == "reference"}
    stored_samples = view.stored_samples(ids)
    stored_profiles = view.stored_profiles(ids)
    stored_members = view.stored_family_members(families)
    stored_families = view.stored_families(families)
    plan = plan_batch(
        records, manifest, file=file,
        stored_samples=stored_samples, stored_profiles=stored_profiles, stored_members=stored_members,
        received_at=received_at, catalogue=catalogue, mixture_min_loci=mixture_min_loci,
        min_autosomal_loci=min_autosomal_loci, refused=refused, stored_families=stored_families,
    )
    profiles = landed_profiles(plan.rows, stored_profiles, catalogue=catalogue)
    keys_of = {sid: profile_keys(prof) for sid, prof in profiles.items()}  # once per sample
    similar_keys, similar = _similar_stored(view, keys_of)
    own = {sid: stored_profiles[sid] for sid in profiles if sid in stored_profiles}
    plan.warnings.extend(duplicate_warnings(plan.rows, file=file, stored_profiles={**similar, **own},
                                            catalogue=catalogue, min_loci=duplicate_min_loci,
                                            profiles=profiles, keys={**similar_keys, **keys_of}))
    extended = set(plan.rows.loc[plan.rows["is_new"], "sample_id"].tolist())
    if skipped:
        names = ", ".join(str(s["record"]) for s in skipped[:10]) + (", ..." if len(skipped) > 10 else "")
        plan.warnings.append(IngestRecord.warning(
            file, int(skipped[0]["line"]), "", "", f"{len(skipped)} records",
            f"{len(skipped)} record(s) of {file} match no catalogue locus and were skipped ({names}): "
            + (f"{skipped[0]['reason']}; " if skipped[0].get("reason") else "")
            + "not forensic STRs, or loci missing from kinship/data/str_reference_alleles*.csv — add a "
            "locus there (with its repeat coordinates on the file's build and reference CE allele) to read it",
            kind="not_in_catalogue"))
    for note in notes:  # the reader's remarks on the file (kinship.io: attrs["notes"]); no sample, no genotype
        plan.warnings.append(IngestRecord.warning(file, int(note["line"]), "", "", "", note["message"],
                                                  kind=note["kind"]))
    summary = _summary(plan, sha=sha, file=file, manifest_name=manifest_name)
    summary.n_records_skipped = len(skipped)
    new = plan.rows[plan.rows["is_new"]]
    rows = dict(
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
        family_rows=plan.families.new,
        family_updates=plan.families.changed,
        declaration_rows=plan.families.declared,
        genotype_rows=frame_records(new[["sample_id", "locus", "allele_1", "allele_2"]]),
        quarantine_rows=[_store_row(q) for q in (*summary.quarantine, *summary.manifest_errors)],
        warning_rows=[_store_row(w) for w in summary.warnings],
        key_rows=list(key_rows((sid, keys_of[sid]) for sid in sorted(extended & set(profiles)))),
        rekeyed_samples=sorted(extended & set(stored_profiles)),
    )
    state = (stored_samples, stored_profiles, stored_members, similar, stored_families)
    return _Prepared(summary=summary, rows=rows, ids=ids, families=families, keys_of=keys_of,
                     state=state)


@dataclass
class _Prepared:
    """A planned batch: its summary, the rows to write, and the store state it was planned on."""

    summary: IngestSummary
    rows: dict
    ids: set[str]
    families: set[tuple[str, str]]
    keys_of: dict[str, dict[str, int]]
    state: tuple


def _store_state(view: Store | BatchTransaction, ids: set[str], families: set[tuple[str, str]],
                 keys_of: dict[str, dict[str, int]]) -> tuple:
    """What a plan of the batch depends on, read through ``view`` (as :attr:`_Prepared.state`).

    The batch's stored samples, profiles, family members and families rows, and the profiles of the stored
    samples that could be its duplicates (sharing a profile key and agreeing at every other
    shared block): indexed look-ups of the batch's ids and keys only, so this is quick on the
    write transaction. A stranger stored meanwhile that shares a key but disagrees elsewhere
    changes nothing the plan decides, so it is not part of the state: two labs ingesting at
    once (whose batches share a key by chance about a hundred times at 18,000 profiles each)
    do not make each other plan again while holding the write lock.
    """
    stored_profiles = view.stored_profiles(ids)
    _, similar = _similar_stored(view, keys_of)
    return (view.stored_samples(ids), stored_profiles, view.stored_family_members(families), similar,
            view.stored_families(families))


def _similar_stored(view: Store | BatchTransaction,
                    keys_of: dict[str, dict[str, int]]) -> tuple[dict[str, dict[str, int]], dict]:
    """The stored samples (not of the batch) that share a profile key with a batch sample and
    whose keys agree with it: their keys and their profiles (:func:`kinship.genetics.profile_keys.keys_agree`).

    The others differ from every batch sample they share a key with at another complete block,
    so they can not be duplicates and their genotypes are not read: at national scale nearly all
    key-sharing samples are such strangers (one six-locus block in common by chance, ~1e-7 per pair).

    Returns
    -------
    candidate_keys : dict
        ``{sample_id: {block: key}}`` of the candidates.
    similar : dict
        ``{sample_id: {locus: (a1, a2, file_id)}}`` of the candidates.
    """
    by_key: dict[int, list[str]] = {}
    for sid, ks in keys_of.items():
        for key in ks.values():
            by_key.setdefault(key, []).append(sid)
    sharing = {sid: ks for sid, ks in view.keys_of_samples_sharing(by_key).items() if sid not in keys_of}
    candidate_keys = {
        other: theirs for other, theirs in sharing.items()
        if any(keys_agree(keys_of[sid], theirs) for key in theirs.values() for sid in by_key.get(key, ()))
    }
    return candidate_keys, (view.stored_profiles(candidate_keys) if candidate_keys else {})


def _report(progress: Callable[[str, int, int], None] | None, stage: str, done: int) -> None:
    if progress is not None:
        progress(stage, done, _N_STAGES)





def _store_row(record: IngestRecord) -> dict:
    """The ``quarantine`` or ``warnings`` row of a record (by its severity)."""
    row = {"source": record.source, "kind": record.kind, "line": record.line, "sample_id": record.sample_id,
           "locus": record.locus, "value": record.value}
    if record.is_quarantined:
        return {**row, "reason": record.reason, "fix": record.fix}
    return {**row, "message": record.reason}


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
            IngestRecord.quarantined(file, int(r.source_line), r.sample_id, r.raw_locus, r.value, r.reason, r.fix,
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

    def file(r) -> str:
        return r.export_name if r.source == "export" else row["manifest_name"]

    records = [
        IngestRecord.quarantined(file(r), line(r.line), r.sample_id, r.locus, r.value, r.reason, r.fix,
                                 source=r.source, kind=r.kind)
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
            IngestRecord.warning(file(r), line(r.line), r.sample_id, r.locus, r.value, r.message,
                                 source=r.source, kind=r.kind)
            for r in w.itertuples()
        ],
        manifest_errors=[r for r in records if r.source == "manifest"],
        n_flagged=int(row.get("n_flagged") or 0),
        n_records_skipped=int(row.get("n_records_skipped") or 0),
    )


# -- pseudonymous by construction, retraction and erasure (issue 9, deliverables 2 and 5) ----------
def _refuse_retracted(store: Store, previous: dict) -> None:
    """A retracted batch is not landed again, nor reported as landed."""
    retraction = store.batch_retraction(previous["file_id"])
    if retraction is not None:
        raise StoreError(
            f"batch {previous['export_name']} (file_id {previous['file_id']}) was retracted at "
            f"{retraction['retracted_at']:%Y-%m-%d %H:%M} UTC by {retraction['operator']!r}; expected a corrected "
            "batch; fix: correct what was wrong (the lab, the manifest, the export) and submit the corrected batch"
        )


def _pseudonymous_inputs(store: Store, records: pd.DataFrame, manifest: Manifest,
                         refused: dict) -> tuple[pd.DataFrame, dict, Scrubber]:
    """Map export sample names to sample ids (manifest ``export_name``), refuse erased samples, and
    the :class:`~kinship.app.ingest.pseudonyms.Scrubber` of what may not be stored as written."""
    if manifest.export_names:
        records = records.copy()
        records["sample_id"] = records["sample_id"].map(manifest.export_sample_id)
        refused = {manifest.export_sample_id(sid): why for sid, why in refused.items()}
    for sid in sorted(store.erased_sample_ids(set(records["sample_id"].tolist()) - {""})):
        refused[sid] = ("erased", f"sample {sid!r} was erased from the store on withdrawn consent; it is not "
                        "stored again", "no action, unless the person consents anew: then a new sample id")
    return records, refused, Scrubber(unstorable_ids(records, manifest), store.pseudonym)


def _scrubbed(scrubber: Scrubber, prepared: _Prepared) -> _Prepared:
    """``prepared`` with every unstorable id in its records replaced by its pseudonym."""
    summary = prepared.summary
    summary.quarantine = scrubber.records(summary.quarantine)
    summary.warnings = scrubber.records(summary.warnings)
    summary.manifest_errors = scrubber.records(summary.manifest_errors)
    prepared.rows["quarantine_rows"] = [_store_row(q) for q in (*summary.quarantine, *summary.manifest_errors)]
    prepared.rows["warning_rows"] = [_store_row(w) for w in summary.warnings]
    return prepared
