"""Landing one batch (lab export + manifest) in the store: read, plan, write, summarise.

:func:`ingest_batch` reads the export and the manifest, plans the batch
(:func:`kinship.app.ingest.plan_batch`) against what the store holds, and writes every row
(landed and quarantined) in one transaction of the store
(:meth:`kinship.store.Store.batch_transaction`), which also serialises concurrent ingestions:
two processes landing the same file land it once. The batch key is :func:`batch_sha256` of
the export and manifest bytes; a second submission of the same pair adds nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

import kinship
from kinship.app.ingest.plan import DUPLICATE_MIN_LOCI, BatchPlan, duplicate_warnings, landed_profiles, plan_batch
from kinship.app.ingest.records import FLAG_KINDS, LANDED, QUARANTINED, UNTYPED, IngestRecord, IngestSummary
from kinship.app.ingest.sample_rules import MIN_AUTOSOMAL_LOCI, MIXTURE_MIN_LOCI
from kinship.errors import ExportFormatError, ManifestError
from kinship.genetics.loci import LocusCatalogue, default_catalogue
from kinship.genetics.profile_keys import profile_key_rows, profile_keys
from kinship.io import read_export
from kinship.io.manifest import Manifest, parse_manifest, read_manifest

if TYPE_CHECKING:
    from kinship.store import Store
    from kinship.store.profiles import BatchTransaction

__all__ = ["batch_sha256", "ingest_batch"]

_N_STAGES = 3


def batch_sha256(export_bytes: bytes, manifest_bytes: bytes, options: bytes = b"") -> str:
    """Batch key: SHA-256 over the export bytes then the manifest bytes, each length-prefixed.

    The 8-byte big-endian length before each part keeps (export, manifest) pairs distinct even
    when bytes move from one file to the other. ``options`` (canonical JSON of the reader
    options, e.g. a CODIS category map) is appended the same way when not empty, so the key
    of a plain batch does not depend on it.

    Parameters
    ----------
    export_bytes, manifest_bytes : bytes
        The two files as read.
    options : bytes, optional
        Canonical JSON of the reader options; ``b""`` for none.

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
    progress: Callable[[str, int, int], None] | None = None,
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
        Its manifest CSV (``schemas/manifest.v3.json``). Required except for ``fmt="cmf"``,
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
    progress : callable, optional
        Called as ``progress(stage, n_done, n_stages)`` when a stage starts (``"read"``,
        ``"plan"``, ``"write"``) and at the end (``"done"``, ``n_done == n_stages``): a hook
        for a progress bar or a Prefect progress artifact (the caller's; kinship draws none).

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
    _report(progress, "read", 0)
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

    def prepare(view: Store | BatchTransaction) -> _Prepared:
        return _prepare(
            view, records, manifest, file=file, manifest_name=manifest_name, sha=sha,
            export_bytes=export_bytes, manifest_bytes=manifest_bytes, fmt=fmt, lab=lab, kit=kit,
            received_at=received_at, catalogue=catalogue, mixture_min_loci=mixture_min_loci,
            min_autosomal_loci=min_autosomal_loci, duplicate_min_loci=duplicate_min_loci,
            refused=refused, skipped=skipped,
        )

    _report(progress, "plan", 1)
    prepared = prepare(store)  # against a snapshot read without the write lock
    _report(progress, "write", 2)
    with store.batch_transaction(sha) as tx:
        if tx.stored_batch is None:  # else a concurrent ingestion of the same batch won the lock
            if _store_state(tx, prepared.ids, prepared.families, prepared.keys, prepared.landed) != prepared.state:
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
             skipped: list[dict]) -> _Prepared:
    """Plan the batch against the store as ``view`` sees it: its summary and the rows to write.

    Every store-dependent rule (stored conflicts, family slots, profile extensions, duplicates)
    reads through ``view``; :attr:`_Prepared.state` is what it read, so the write transaction
    can tell whether the store changed since (:func:`_store_state`).
    """
    ids = set(records["sample_id"]) | set(manifest.entries["sample_id"])
    families = {(r.lab, r.family_id) for r in manifest.entries.itertuples() if r.role == "reference"}
    stored_samples = view.stored_samples(ids)
    stored_profiles = view.stored_profiles(ids)
    stored_members = view.stored_family_members(families)
    plan = plan_batch(
        records, manifest, file=file,
        stored_samples=stored_samples, stored_profiles=stored_profiles, stored_members=stored_members,
        received_at=received_at, catalogue=catalogue, mixture_min_loci=mixture_min_loci,
        min_autosomal_loci=min_autosomal_loci, refused=refused,
    )
    profiles = landed_profiles(plan.rows, stored_profiles, catalogue=catalogue)
    keys_of = {sid: profile_keys(prof) for sid, prof in profiles.items()}
    keys = {key for ks in keys_of.values() for key in ks.values()}
    similar_ids = view.samples_sharing_keys(keys) - set(profiles)
    similar = view.stored_profiles(similar_ids) if similar_ids else {}
    own = {sid: stored_profiles[sid] for sid in profiles if sid in stored_profiles}
    plan.warnings.extend(duplicate_warnings(plan.rows, file=file, stored_profiles={**similar, **own},
                                            catalogue=catalogue, min_loci=duplicate_min_loci))
    extended = set(plan.rows.loc[plan.rows["is_new"], "sample_id"])
    if skipped:
        names = ", ".join(str(s["record"]) for s in skipped[:10]) + (", ..." if len(skipped) > 10 else "")
        plan.warnings.append(IngestRecord.warning(
            file, int(skipped[0]["line"]), "", "", f"{len(skipped)} records",
            f"{len(skipped)} record(s) of {file} match no catalogue locus and were skipped ({names}): "
            "not forensic STRs, or loci missing from kinship/data/str_reference_alleles.csv — add a "
            "locus there (with its GRCh38 repeat coordinates and reference CE allele) to read it",
            kind="not_in_catalogue"))
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
        genotype_rows=new[["sample_id", "locus", "allele_1", "allele_2"]].to_dict("records"),
        quarantine_rows=[_store_row(q) for q in (*summary.quarantine, *summary.manifest_errors)],
        warning_rows=[_store_row(w) for w in summary.warnings],
        key_rows=list(profile_key_rows((sid, profiles[sid]) for sid in sorted(extended & set(profiles)))),
        rekeyed_samples=sorted(extended & set(stored_profiles)),
    )
    state = (stored_samples, stored_profiles, stored_members, similar_ids, similar)
    return _Prepared(summary=summary, rows=rows, ids=ids, families=families, keys=keys, landed=set(profiles),
                     state=state)


@dataclass
class _Prepared:
    """A planned batch: its summary, the rows to write, and the store state it was planned on."""

    summary: IngestSummary
    rows: dict
    ids: set[str]
    families: set[tuple[str, str]]
    keys: set[int]
    landed: set[str]
    state: tuple


def _store_state(view: Store | BatchTransaction, ids: set[str], families: set[tuple[str, str]],
                 keys: set[int], landed: set[str]) -> tuple:
    """What a plan of the batch depends on, read through ``view`` (as :attr:`_Prepared.state`).

    The batch's stored samples, profiles and family members, the stored samples sharing a
    profile key with the batch (not its own) and their profiles: indexed look-ups of the
    batch's ids and keys only, so this is quick on the write transaction.
    """
    stored_profiles = view.stored_profiles(ids)
    similar_ids = view.samples_sharing_keys(keys) - landed
    return (view.stored_samples(ids), stored_profiles, view.stored_family_members(families), similar_ids,
            view.stored_profiles(similar_ids) if similar_ids else {})


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
