"""Batches as units of the store: listing, retraction, and the erasure of a sample on withdrawn consent.

:class:`BatchTables` is the part of :class:`kinship.store.Store` that undoes what ingestion did:

* :meth:`BatchTables.retract_batch` - a batch sent wrong (a mistyped ``--lab``, the wrong
  manifest) is **retracted**: the genotypes it landed, the family memberships it added and the
  samples it created (unless another batch still holds genotypes or memberships of them) are
  deleted, and one ``batch_retractions`` row records who, when, why and how much left. The
  numbers of missing children it declared (``family_declarations``) go too, and each family it
  touched takes the latest declaration that remains (1 if none); a family left with no member
  and no pedigree loses its ``families`` row. The
  batch's ``ingested_files`` row, its quarantine and its warnings stay as the record of what was
  sent. The retracted samples leave every later match run (the run's loaded genotypes no longer
  hold them, so the run's inputs change and it is a full re-match,
  :func:`kinship.app.match_run.plan_run`); the corrected batch is then ingested as a new batch
  (its key differs: it covers the lab, :func:`kinship.app.ingest.batch_sha256`). Re-ingesting
  the very same batch is refused.
* :meth:`BatchTables.erase_sample` - erasure on withdrawn consent (PIPL art. 47): every
  genotype of the sample, its duplicate-screen keys, family memberships, quarantined and warning
  records and its ``samples`` row are deleted; a pedigree member typed by it becomes untyped; a
  family left with no member and no pedigree loses its ``families`` and ``family_declarations`` rows.
  The store's match results of the sample go too: every ``matches`` row with it as the
  candidate and its ``match_run_inputs`` row. The audit row (``sample_erasures``) keeps only the
  sample id, the time, the operator and the reason. A later batch sending the same sample id has
  it quarantined (``erased``).

  What the store does not hold is not erased: the folders of earlier match runs
  (``<out_dir>/<run id>/``: ``pair_loci.csv``, ``report.html``, ``matches.*``) still show the
  sample's genotypes and results. :meth:`BatchTables.erase_sample` returns the runs that compared
  the sample and, given the output folder, the run folders found there, for the operator to
  delete. **Backups are not rewritten**: a backup made before the erasure still holds the sample
  until it is deleted; how long backups are kept (and so when an erasure reaches them) is the
  operator's retention policy, to be stated in the operator's records of processing.

Operators are pseudonymous ids (the id pattern) until the store has users. The **reason** of a
retraction or an erasure is a code of :data:`REASON_CODES` (``--why``), optionally with a
reference (``--ref``: a ticket or case id, the id pattern), stored as ``"CODE"`` or
``"CODE ref=REF"`` in ``batch_retractions.reason`` / ``sample_erasures.reason``, never free text
(a free-text reason invited names and mobile numbers). Rows written before the codes (free text
of at most :data:`MAX_REASON` characters) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from kinship.errors import StoreError
from kinship.genetics.profile_keys import profile_key_rows
from kinship.store.catalogue import described_value, id_pattern, is_pseudonymous_id
from kinship.store.engine import StoreBase, chunks
from kinship.store.tables import (
    batch_retractions,
    families,
    family_declarations,
    family_members,
    family_pedigrees,
    genotypes,
    ingested_files,
    match_run_inputs,
    matches,
    profile_keys,
    quarantine,
    sample_erasures,
    samples,
    warnings_table,
)

__all__ = ["MAX_REASON", "REASON_CODES", "BATCH_COLUMNS", "BatchTables"]

#: Longest reason of a retraction or an erasure stored before the reason codes, in characters.
MAX_REASON = 500

#: The reasons of a retraction or an erasure (``--why``): code -> meaning. Only a code is stored.
REASON_CODES = {
    "consent_withdrawn": "the person (or guardian) withdrew consent (PIPL art. 47)",
    "mistyped_lab": "the batch was ingested under the wrong lab code",
    "wrong_file": "the wrong export or manifest was sent",
    "duplicate_submission": "the batch or sample was sent twice",
    "lab_request": "the sending lab asked for it",
    "court_order": "a court or supervising authority ordered it",
    "other": "none of the above (give the case or ticket with --ref)",
}

#: Columns of :meth:`BatchTables.list_batches`.
BATCH_COLUMNS = ["file_id", "received_at", "lab", "kit", "fmt", "export_name", "n_rows", "n_samples_landed",
                 "n_genotypes_added", "n_quarantined", "status", "retracted_at", "retracted_by", "retraction_reason"]


def _check_operator(by: str, what: str) -> str:
    pattern, max_length = id_pattern()
    if not is_pseudonymous_id(str(by)):
        raise StoreError(
            f"{what}: operator {described_value(str(by))} is not an operator id; expected ASCII matching "
            f"{pattern.pattern} (at most {max_length} characters); fix: give your operator id with --by"
        )
    return str(by)


def _check_reason(why: str, ref: str | None, what: str) -> str:
    """The stored reason: ``"CODE"`` or ``"CODE ref=REF"``; a :class:`StoreError` if either is invalid."""
    code = str(why).strip()
    if code not in REASON_CODES:
        raise StoreError(
            f"{what}: the reason {described_value(code)} is not a reason code; expected one of "
            f"{sorted(REASON_CODES)}; fix: give the code with --why CODE (a case or ticket id with --ref, "
            "never names or contact details)"
        )
    if ref is None or ref == "":
        return code
    pattern, max_length = id_pattern()
    if not is_pseudonymous_id(str(ref)):
        raise StoreError(
            f"{what}: the reference {described_value(str(ref))} is not a ticket or case id; expected ASCII "
            f"matching {pattern.pattern} (at most {max_length} characters); fix: give the ticket or case id "
            "with --ref (e.g. REQ-2026-118), never names or contact details"
        )
    return f"{code} ref={ref}"


class BatchTables(StoreBase):
    """Listing and retracting batches, erasing samples: the undo side of :class:`kinship.store.Store`."""

    def list_batches(self) -> pd.DataFrame:
        """Every ingested batch with its status.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`BATCH_COLUMNS`, sorted by ``file_id``: ``status`` is ``"active"`` or
            ``"retracted"``; ``retracted_at``, ``retracted_by`` and ``retraction_reason`` are
            empty for an active batch.
        """
        r = batch_retractions
        q = (sa.select(ingested_files.c.file_id, ingested_files.c.received_at, ingested_files.c.lab,
                       ingested_files.c.kit, ingested_files.c.fmt, ingested_files.c.export_name,
                       ingested_files.c.n_rows, ingested_files.c.n_samples_landed,
                       ingested_files.c.n_genotypes_added, ingested_files.c.n_quarantined,
                       r.c.retracted_at, r.c.operator, r.c.reason)
             .outerjoin(r, r.c.file_id == ingested_files.c.file_id)
             .order_by(ingested_files.c.file_id))
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        out = [{
            "file_id": int(x.file_id), "received_at": x.received_at, "lab": x.lab, "kit": x.kit or "", "fmt": x.fmt,
            "export_name": x.export_name, "n_rows": x.n_rows, "n_samples_landed": x.n_samples_landed,
            "n_genotypes_added": x.n_genotypes_added, "n_quarantined": x.n_quarantined,
            "status": "retracted" if x.retracted_at is not None else "active",
            "retracted_at": x.retracted_at, "retracted_by": x.operator or "", "retraction_reason": x.reason or "",
        } for x in rows]
        frame = pd.DataFrame(out, columns=BATCH_COLUMNS)
        for column in ("received_at", "retracted_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    def batch_retraction(self, file_id: int, *, conn: Connection | None = None) -> dict | None:
        """The ``batch_retractions`` row of a batch, or ``None`` if it is not retracted."""
        with self._conn(conn) as c:
            row = c.execute(sa.select(batch_retractions).where(batch_retractions.c.file_id == int(file_id))).mappings().first()
        return dict(row) if row is not None else None

    def retract_batch(self, file_id: int, *, by: str, why: str, ref: str | None = None) -> dict:
        """Retract a batch: delete what it landed, keep the record of what was sent; see the module.

        Parameters
        ----------
        file_id : int
            The batch (``ingested_files.file_id``; ``scripts/flow batches list``).
        by : str
            Operator id (the id pattern).
        why : str
            Reason code, a key of :data:`REASON_CODES` (e.g. ``"mistyped_lab"``).
        ref : str, optional
            Ticket or case id (the id pattern), stored with the code: ``"CODE ref=REF"``.

        Returns
        -------
        dict
            The ``batch_retractions`` row: ``file_id, retracted_at, operator, reason,
            n_genotypes_removed, n_samples_removed``.

        Raises
        ------
        StoreError
            If the batch does not exist or is retracted already, or ``by``/``why``/``ref`` are invalid.
        """
        what = f"retraction of batch {file_id}"
        by, why = _check_operator(by, what), _check_reason(why, ref, what)
        file_id = int(file_id)
        with self.write_transaction() as conn:
            batch = conn.execute(sa.select(ingested_files.c.file_id).where(ingested_files.c.file_id == file_id)).first()
            if batch is None:
                raise StoreError(f"{what}: no batch {file_id} in the store; expected a file_id of "
                                 "scripts/flow batches list; fix: give the batch's file_id")
            done = self.batch_retraction(file_id, conn=conn)
            if done is not None:
                raise StoreError(f"{what}: the batch was retracted already at {done['retracted_at']:%Y-%m-%d %H:%M} "
                                 f"UTC by {done['operator']!r}; nothing to do")
            touched = set(conn.execute(sa.select(genotypes.c.sample_id).where(genotypes.c.file_id == file_id)
                                       .distinct()).scalars())
            created = set(conn.execute(sa.select(samples.c.sample_id).where(samples.c.file_id == file_id)).scalars())
            n_genotypes = conn.execute(genotypes.delete().where(genotypes.c.file_id == file_id)).rowcount
            touched_families = {(r.lab, r.family_id) for t in (family_members, family_declarations, families)
                                for r in conn.execute(sa.select(t.c.lab, t.c.family_id).where(t.c.file_id == file_id))}
            conn.execute(family_members.delete().where(family_members.c.file_id == file_id))
            conn.execute(family_declarations.delete().where(family_declarations.c.file_id == file_id))
            self._settle_families(conn, touched_families)
            still_held = set()
            for chunk in chunks(sorted(created)):
                still_held |= set(conn.execute(sa.select(genotypes.c.sample_id).where(genotypes.c.sample_id.in_(chunk))).scalars())
                still_held |= set(conn.execute(sa.select(family_members.c.sample_id)
                                               .where(family_members.c.sample_id.in_(chunk))).scalars())
            removed = sorted(created - still_held)
            self._refresh_profile_keys(conn, touched | set(removed))
            for chunk in chunks(removed):
                conn.execute(samples.delete().where(samples.c.sample_id.in_(chunk)))
            row = {"file_id": file_id, "retracted_at": datetime.now(timezone.utc), "operator": by, "reason": why,
                   "n_genotypes_removed": int(n_genotypes), "n_samples_removed": len(removed)}
            conn.execute(batch_retractions.insert().values(**row))
        return row

    def erase_sample(self, sample_id: str, *, by: str, why: str, ref: str | None = None,
                     out_dir: str | Path | None = None) -> dict:
        """Erase a sample on withdrawn consent: its genotypes, records and match results go, an audit row stays.

        Backups are not rewritten, and the folders of earlier runs are not touched: the result
        lists those folders for the operator to delete (see the module).

        Parameters
        ----------
        sample_id : str
            The stored (pseudonymous) sample id.
        by : str
            Operator id (the id pattern).
        why : str
            Reason code, a key of :data:`REASON_CODES` (e.g. ``"consent_withdrawn"``).
        ref : str, optional
            Ticket or case id (the id pattern), e.g. ``"REQ-2026-118"``; stored as ``"CODE ref=REF"``.
        out_dir : str or Path, optional
            The match runs' output folder (runs write ``out_dir/<run id>/``): the folders there of
            the runs that compared the sample are listed in ``run_folders``.

        Returns
        -------
        dict
            The audit row (``sample_id, erased_at, operator, reason``), the counts
            ``n_genotypes_removed``, ``n_records_removed`` (quarantine and warnings rows) and
            ``n_matches_removed``; ``run_ids`` (sorted: the stored runs that compared the sample,
            as a candidate or in a family it is a reference of) and ``run_folders`` (sorted paths,
            as str, of the existing ``out_dir/<run id>`` folders of those runs; empty without
            ``out_dir``).

        Raises
        ------
        StoreError
            If the store holds nothing of the sample, the sample was erased already, or
            ``by``/``why``/``ref`` are invalid.
        """
        what = f"erasure of sample {described_value(str(sample_id))}"
        by, why = _check_operator(by, what), _check_reason(why, ref, what)
        sid = str(sample_id)
        with self.write_transaction() as conn:
            if conn.execute(sa.select(sample_erasures.c.sample_id).where(sample_erasures.c.sample_id == sid)).first():
                raise StoreError(f"{what}: the sample was erased already; nothing to do")
            has_sample = conn.execute(sa.select(samples.c.sample_id).where(samples.c.sample_id == sid)).first()
            n_genotypes = conn.execute(genotypes.delete().where(genotypes.c.sample_id == sid)).rowcount
            if has_sample is None and not n_genotypes:
                raise StoreError(f"{what}: no such sample in the store; expected a stored sample id; "
                                 "fix: check the id (the store keeps pseudonymous ids only)")
            run_ids = self._runs_comparing(conn, sid)
            n_matches = conn.execute(matches.delete().where(matches.c.candidate_id == sid)).rowcount
            conn.execute(match_run_inputs.delete().where(match_run_inputs.c.entity == "candidate",
                                                         match_run_inputs.c.entity_id == sid))
            conn.execute(profile_keys.delete().where(profile_keys.c.sample_id == sid))
            member_of = {(r.lab, r.family_id) for r in conn.execute(
                sa.select(family_members.c.lab, family_members.c.family_id).where(family_members.c.sample_id == sid))}
            conn.execute(family_members.delete().where(family_members.c.sample_id == sid))
            self._settle_families(conn, member_of)
            n_records = conn.execute(quarantine.delete().where(quarantine.c.sample_id == sid)).rowcount
            n_records += conn.execute(warnings_table.delete().where(warnings_table.c.sample_id == sid)).rowcount
            conn.execute(family_pedigrees.update().where(family_pedigrees.c.sample_id == sid).values(sample_id=None))
            conn.execute(samples.delete().where(samples.c.sample_id == sid))
            row = {"sample_id": sid, "erased_at": datetime.now(timezone.utc), "operator": by, "reason": why}
            conn.execute(sample_erasures.insert().values(**row))
        folders = []
        if out_dir is not None:
            base = Path(out_dir).expanduser()
            folders = [str(base / r) for r in run_ids if (base / r).is_dir()]
        return {**row, "n_genotypes_removed": int(n_genotypes), "n_records_removed": int(n_records),
                "n_matches_removed": int(n_matches), "run_ids": run_ids, "run_folders": folders}

    @staticmethod
    def _settle_families(conn: Connection, keys: set[tuple[str, str]]) -> None:
        """Put the ``families`` rows of ``keys`` in line with what the store still holds of them.

        A family with no member and no pedigree left loses its ``families`` and
        ``family_declarations`` rows (it is no longer in the store). Any other takes its latest
        remaining declaration (largest ``file_id``), or ``n_missing`` 1 and its first remaining
        member's batch when none remains.
        """
        for lab, family_id in sorted(keys):
            def of(t):
                return sa.and_(t.c.lab == lab, t.c.family_id == family_id)

            held = (conn.execute(sa.select(sa.func.min(family_members.c.file_id), sa.func.count())
                                 .where(of(family_members))).one())
            has_pedigree = conn.execute(sa.select(family_pedigrees.c.lab).where(of(family_pedigrees)).limit(1)).first()
            if not held[1] and has_pedigree is None:
                conn.execute(family_declarations.delete().where(of(family_declarations)))
                conn.execute(families.delete().where(of(families)))
                continue
            latest = conn.execute(sa.select(family_declarations.c.n_missing, family_declarations.c.file_id)
                                  .where(of(family_declarations)).order_by(family_declarations.c.file_id.desc())
                                  .limit(1)).first()
            value = {"n_missing": int(latest.n_missing), "file_id": int(latest.file_id)} if latest is not None else (
                {"n_missing": 1, "file_id": None if held[0] is None else int(held[0])})
            if not conn.execute(families.update().where(of(families)).values(**value)).rowcount:
                conn.execute(families.insert().values(lab=lab, family_id=family_id, **value))

    @staticmethod
    def _runs_comparing(conn: Connection, sid: str) -> list[str]:
        """The stored runs that compared sample ``sid``: as a candidate, or in a family it is a reference of."""
        runs = set(conn.execute(sa.select(matches.c.run_id).where(matches.c.candidate_id == sid).distinct()).scalars())
        inputs = match_run_inputs.c
        runs |= set(conn.execute(sa.select(inputs.run_id).where(inputs.entity == "candidate", inputs.entity_id == sid)
                                 .distinct()).scalars())
        families = {(r.lab, r.family_id) for r in conn.execute(
            sa.select(family_members.c.lab, family_members.c.family_id).where(family_members.c.sample_id == sid))}
        families |= {(r.lab, r.family_id) for r in conn.execute(
            sa.select(family_pedigrees.c.lab, family_pedigrees.c.family_id).where(family_pedigrees.c.sample_id == sid))}
        for lab, family_id in sorted(families):
            runs |= set(conn.execute(sa.select(inputs.run_id).where(
                inputs.entity == "family", inputs.lab == lab, inputs.entity_id == family_id).distinct()).scalars())
            runs |= set(conn.execute(sa.select(matches.c.run_id).where(
                matches.c.lab == lab, matches.c.family_id == family_id).distinct()).scalars())
        return sorted(runs)

    def erased_sample_ids(self, sample_ids: Iterable[str], *, conn: Connection | None = None) -> set[str]:
        """The given sample ids that were erased."""
        out: set[str] = set()
        with self._conn(conn) as c:
            for chunk in chunks(sorted(set(sample_ids))):
                out |= set(c.execute(sa.select(sample_erasures.c.sample_id)
                                     .where(sample_erasures.c.sample_id.in_(chunk))).scalars())
        return out

    def sample_erasures(self) -> pd.DataFrame:
        """The erasure audit: columns ``sample_id, operator, reason`` (str), ``erased_at`` (UTC)."""
        cols = ["sample_id", "erased_at", "operator", "reason"]
        frame = self._frame(sa.select(*(sample_erasures.c[c] for c in cols)).order_by(sample_erasures.c.erased_at),
                            cols, text=["sample_id", "operator", "reason"])
        frame["erased_at"] = pd.to_datetime(frame["erased_at"], utc=True)
        return frame

    @staticmethod
    def _refresh_profile_keys(conn: Connection, sample_ids: set[str]) -> None:
        """Recompute the duplicate-screen keys of samples whose genotypes changed."""
        for chunk in chunks(sorted(sample_ids)):
            conn.execute(profile_keys.delete().where(profile_keys.c.sample_id.in_(chunk)))
            profiles: dict[str, dict] = {}
            q = sa.select(genotypes.c.sample_id, genotypes.c.locus, genotypes.c.allele_1,
                          genotypes.c.allele_2).where(genotypes.c.sample_id.in_(chunk))
            for r in conn.execute(q):
                profiles.setdefault(r.sample_id, {})[r.locus] = (r.allele_1, r.allele_2)
            rows = list(profile_key_rows(sorted(profiles.items())))
            if rows:
                conn.execute(profile_keys.insert(), rows)
