"""Planning a batch without I/O: the rules applied to every row, then the warnings, flags and new rows.

:func:`normalise_records` applies the row rules (:data:`kinship.app.ingest.row_rules.ROW_RULES`)
to a reader's records; :func:`plan_batch` applies them and then the sample rules
(:data:`kinship.app.ingest.sample_rules.SAMPLE_RULES`), and lists the warnings, the flags and the
``samples`` and ``family_members`` rows the batch adds, and the ``families`` rows it adds or
changes (:func:`family_rows`: each family's declared number of missing children, manifest v5
``n_missing``). :func:`duplicate_warnings` flags possible duplicates once the store's similar
profiles are known.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from kinship.app.ingest.records import LANDED, QUARANTINED, UNTYPED, IngestRecord
from kinship.app.ingest.row_rules import decide_rows
from kinship.app.ingest.sample_rules import (
    MIN_AUTOSOMAL_LOCI,
    MIXTURE_MIN_LOCI,
    SAMPLE_RULES,
    BatchContext,
    SampleCheck,
    _pair,
)
from kinship.genetics.ladders import allele_plausibility
from kinship.genetics.loci import LocusCatalogue, default_catalogue
from kinship.genetics.profile_keys import keys_agree, profile_keys
from kinship.io.manifest import Manifest, manifest_rules

__all__ = ["DUPLICATE_MIN_LOCI", "normalise_records", "BatchPlan", "FamilyRows", "plan_batch", "family_rows",
           "landed_profiles", "duplicate_warnings"]

#: Shared autosomal loci needed before two identical profiles are flagged as a possible duplicate.
DUPLICATE_MIN_LOCI = 10

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
        (canonical, sorted, or a partial genotype ``(allele, "?")``; ``""`` unless landed),
        ``calls`` (raw calls joined by ``","``),
        ``outcome`` (``"landed"``, ``"untyped"``, ``"quarantined"``), ``kind`` (rule that
        decided: ``ok``, ``partial_off_ladder`` (landed), ``off_ladder``, ``no_call``,
        ``partial_not_autosomal``, ``unknown_locus``, ``bad_allele``, ``three_allele``,
        ``out_of_range``, ``no_sample``, ``malformed_line``), ``value``,
        ``reason``, ``fix``. Sample-level rules are applied later by :func:`plan_batch`.

    Examples
    --------
    >>> from kinship.io.tidy import records_from_calls
    >>> recs = records_from_calls(["S", "S", "S"], ["TH01", "vWA", "THO1"],
    ...                           [["9.3", "6"], ["OL", "17"], ["8", "8"]], [2, 3, 4])
    >>> out = normalise_records(recs)
    >>> out[["locus", "allele_1", "allele_2", "outcome"]].values.tolist()
    [['TH01', '6', '9.3', 'landed'], ['vWA', '17', '?', 'landed'], ['', '', '', 'quarantined']]
    >>> "did you mean TH01" in out["reason"].iloc[2]
    True
    """
    return _rows_frame(_normalise_rows(records, file=file, catalogue=catalogue or default_catalogue()))


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")``, column-wise (``tolist`` per column: many times faster on
    pandas' Arrow-backed string columns, same Python values).

    Examples
    --------
    >>> frame_records(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
    [{'a': 'x', 'b': 1}, {'a': 'y', 'b': 2}]
    """
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[c].tolist() for c in columns))]


def _normalise_rows(records: pd.DataFrame, *, file: str, catalogue: LocusCatalogue) -> list[dict]:
    return decide_rows(records, file=file, catalogue=catalogue)


def _rows_frame(rows: list[dict], *, with_is_new: bool = False) -> pd.DataFrame:
    """The decided rows as a frame, built column by column (a list of dicts is read row by row)."""
    names = _ROW_COLUMNS + (["is_new"] if with_is_new else [])
    if rows:
        # object columns: the frame is internal, and pandas' Arrow strings cost a conversion of
        # every cell (0.6 s of an 18,000-profile batch) that its few filters do not repay
        frame = pd.DataFrame({c: [r[c] for r in rows] for c in names}, columns=names, dtype=object)
    else:
        frame = pd.DataFrame(rows, columns=names)  # no rows: object columns, as from a list of dicts
    frame["source_line"] = frame["source_line"].astype("int64")
    if with_is_new:
        frame["is_new"] = frame["is_new"].astype(bool)
    return frame


@dataclass
class FamilyRows:
    """What a batch writes of its families' declared numbers of missing children (:func:`family_rows`).

    Attributes
    ----------
    new : list of dict
        ``families`` rows to insert: ``lab, family_id, n_missing`` (the batch's ``file_id`` is
        added when written).
    changed : list of dict
        ``families`` rows whose ``n_missing`` the batch replaces: ``lab, family_id, n_missing``.
    declared : list of dict
        ``family_declarations`` rows: ``lab, family_id, n_missing``, one per family whose
        manifest rows give ``n_missing``.
    """

    new: list[dict]
    changed: list[dict]
    declared: list[dict]


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
    warnings : list of IngestRecord
        Warnings and flags, in the order they are stored.
    manifest_errors : list of IngestRecord
        Invalid manifest rows (quarantined, ``kind="manifest_row"``).
    families : FamilyRows
        The ``families`` rows the batch adds or changes and its ``family_declarations`` rows.
    """

    rows: pd.DataFrame
    samples: list[dict]
    members: list[dict]
    warnings: list[IngestRecord]
    manifest_errors: list[IngestRecord]
    families: FamilyRows = field(default_factory=lambda: FamilyRows([], [], []))


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
    stored_families: dict[tuple[str, str], dict] | None = None,
) -> BatchPlan:
    """Decide the outcome of every export row of a batch (no I/O; see :mod:`kinship.app.ingest`).

    The row rules decide each row, then the sample rules
    each sample, in sample-id order (:mod:`kinship.app.ingest.row_rules`,
    :mod:`kinship.app.ingest.sample_rules`); then come the warnings (untyped and repeated rows,
    manifest samples without rows), the flags (``sex_check``, ``three_allele_locus``,
    ``profile_extended``) and the new ``samples`` and ``family_members`` rows.

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
    stored_families : dict, optional
        The ``families`` rows of the batch's families (:meth:`kinship.store.Store.stored_families`),
        for :func:`family_rows`; empty by default.

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
    entries: dict[str, list[dict]] = defaultdict(list)
    for e in frame_records(manifest.entries):
        entries[e["sample_id"]].append(e)
    entries = dict(entries)
    batch = BatchContext(file, manifest, catalogue, stored_samples=stored_samples, stored_profiles=stored_profiles,
                         stored_members=stored_members, refused=refused or {}, mixture_min_loci=mixture_min_loci,
                         min_autosomal_loci=min_autosomal_loci)
    for sid in sorted(by_sample):
        sample = SampleCheck(sid, by_sample[sid], entries.get(sid, []))
        for rule in SAMPLE_RULES:
            if rule(sample, batch):
                break

    manifest_errors = [
        IngestRecord.quarantined(manifest.file, e.line, e.sample_id, "", e.value, e.message, e.fix,
                                 source="manifest", kind="manifest_row")
        for e in manifest.errors
    ]
    warnings, landed_samples = _mark_new_genotypes(rows, stored_profiles, file)
    warnings.extend(_manifest_warnings(entries, by_sample, landed_samples, manifest.file, file))
    warnings.extend(_sex_check(rows, entries, catalogue, file))
    warnings.extend(_review_flags(by_sample, landed_samples, stored_profiles, file))
    warnings.extend(_off_ladder_flags(by_sample, landed_samples, catalogue, file))
    sample_rows, member_rows = _new_samples_and_members(entries, landed_samples, stored_samples, stored_members,
                                                        received_at)
    families, changed = family_rows(entries, landed_samples, stored_members, stored_families or {},
                                    manifest_file=manifest.file)
    warnings.extend(changed)
    return BatchPlan(_rows_frame(rows, with_is_new=True), sample_rows, member_rows, warnings, manifest_errors,
                     families)


def family_rows(entries: dict[str, list[dict]], landed_samples: set[str],
                stored_members: dict[tuple[str, str], list[dict]], stored_families: dict[tuple[str, str], dict],
                *, manifest_file: str) -> tuple[FamilyRows, list[IngestRecord]]:
    """The ``families`` rows a batch adds or changes: each family's declared number of missing children.

    A family of the batch is one with a reference row whose sample lands (its genotypes are in
    the batch and not quarantined). Its manifest rows either give ``n_missing`` (all the same:
    :func:`kinship.io.manifest.parse_manifest` made disagreeing rows row errors) or leave it
    empty. Then:

    * a family new to the store gets a row with the given value, or 1;
    * a stored family whose stored value differs from the given one takes the given value (the
      later batch replaces it: a lab learns that a second child was taken, or corrects a count),
      with a warning ``n_missing_changed`` naming the old and new value: the family's content
      changes, so the next run matches it again (:func:`kinship.app.match_run.entity_hashes`);
    * an empty cell never changes a stored value: a later batch adding a relative need not
      repeat the count.

    Every given value is also a ``family_declarations`` row, so that retracting the batch puts
    the family back to the latest value that remains (:meth:`kinship.store.Store.retract_batch`).

    Parameters
    ----------
    entries : dict of str to list of dict
        The valid manifest rows of each sample (:attr:`kinship.io.manifest.Manifest.entries`).
    landed_samples : set of str
        Samples with landed genotypes in this batch.
    stored_members : dict
        ``{(lab, family_id): [member rows]}`` stored (:meth:`kinship.store.Store.stored_family_members`).
    stored_families : dict
        ``{(lab, family_id): families row}`` stored (:meth:`kinship.store.Store.stored_families`).
    manifest_file : str
        Manifest name for the warnings.

    Returns
    -------
    FamilyRows, list of IngestRecord
        The rows, and one ``n_missing_changed`` warning per changed family.

    Examples
    --------
    >>> e = {"R1": [{"role": "reference", "lab": "L", "family_id": "F1", "n_missing": 2, "source_line": 2}],
    ...      "R2": [{"role": "reference", "lab": "L", "family_id": "F2", "n_missing": None, "source_line": 3}]}
    >>> rows, changed = family_rows(e, {"R1", "R2"}, {}, {("L", "F1"): {"n_missing": 1, "file_id": 4}},
    ...                             manifest_file="m.csv")
    >>> rows.new, rows.changed, [w.kind for w in changed]
    ([{'lab': 'L', 'family_id': 'F2', 'n_missing': 1}], [{'lab': 'L', 'family_id': 'F1', 'n_missing': 2}], ['n_missing_changed'])
    """
    given: dict[tuple[str, str], tuple[int | None, dict]] = {}
    for sid in sorted(landed_samples):
        for e in entries.get(sid, ()):
            if e["role"] != "reference":
                continue
            key = (e["lab"], e["family_id"])
            value = None if e.get("n_missing") is None or pd.isna(e["n_missing"]) else int(e["n_missing"])
            if key not in given or (given[key][0] is None and value is not None):
                given[key] = (value, e)
    out = FamilyRows([], [], [])
    warnings: list[IngestRecord] = []
    for (lab, family_id), (value, e) in sorted(given.items()):
        row = {"lab": lab, "family_id": family_id, "n_missing": value if value is not None else 1}
        if value is not None:
            out.declared.append(dict(row))
        stored = stored_families.get((lab, family_id))
        if stored is None:
            out.new.append(row)
        elif value is not None and int(stored["n_missing"]) != value:
            out.changed.append(row)
            was = int(stored["n_missing"])
            since = f" (set by batch {stored['file_id']})" if stored.get("file_id") is not None else ""
            warnings.append(IngestRecord.warning(
                manifest_file, int(e["source_line"]), e.get("sample_id", ""), "",
                f"{was} -> {value}",
                f"family {lab}/{family_id}: n_missing was {was}{since} and is now {value}: this batch's value "
                f"replaces it, and the family is matched again with {value} missing "
                f"{'child' if value == 1 else 'children'} (if it is a mistake, send the family again with the "
                "right n_missing, or retract this batch)", source="manifest", kind="n_missing_changed"))
    return out, warnings


def _mark_new_genotypes(rows: list[dict], stored_profiles: dict, file: str) -> tuple[list[IngestRecord], set[str]]:
    """Set ``is_new`` on each row; warn of untyped rows, partial genotypes landed from an ``OL`` call
    (``partial_off_ladder``) and repeated rows; return the landed samples."""
    warnings: list[IngestRecord] = []
    seen_pairs: set[tuple[str, str]] = set()
    for r in rows:
        r["is_new"] = False
        if r["outcome"] == UNTYPED:
            warnings.append(IngestRecord.warning(file, r["source_line"], r["sample_id"], r["raw_locus"], r["calls"],
                                                 r["reason"], kind=r["kind"]))
        elif r["outcome"] == LANDED:
            if r["kind"] == "partial_off_ladder":
                warnings.append(IngestRecord.warning(file, r["source_line"], r["sample_id"], r["raw_locus"],
                                                     r["calls"], r["reason"], kind=r["kind"]))
            key = (r["sample_id"], r["locus"])
            if key in seen_pairs:
                warnings.append(IngestRecord.warning(
                    file, r["source_line"], r["sample_id"], r["raw_locus"], r["calls"],
                    f"repeated row for sample {r['sample_id']!r} at {r['locus']} with the same genotype",
                    kind="repeated_row"))
                continue
            seen_pairs.add(key)
            r["is_new"] = r["locus"] not in stored_profiles.get(r["sample_id"], {})
    return warnings, {sid for sid, _ in seen_pairs}


def _manifest_warnings(entries: dict, by_sample: dict, landed_samples: set[str], manifest_file: str,
                       file: str) -> list[IngestRecord]:
    """Warn of manifest samples with no rows in the export, or with no typed locus."""
    out = []
    for sid, ents in sorted(entries.items()):
        line = int(ents[0]["source_line"])
        if sid not in by_sample:
            out.append(IngestRecord.warning(
                manifest_file, line, sid, "", sid,
                f"sample {sid!r} is in manifest {manifest_file} but has no rows in export {file}; nothing "
                "stored for it (fix: send its genotypes)", source="manifest", kind="missing_from_export"))
        elif sid not in landed_samples and not any(r["outcome"] == QUARANTINED for r in by_sample[sid]):
            out.append(IngestRecord.warning(
                manifest_file, line, sid, "", sid,
                f"sample {sid!r} has no typed locus in export {file}; nothing stored", source="manifest",
                kind="no_typed_locus"))
    return out


def _sex_check(rows: list[dict], entries: dict, catalogue: LocusCatalogue, file: str) -> list[IngestRecord]:
    """Flag where the Amelogenin call and the manifest sex disagree (Y dropout is possible)."""
    out = []
    implied_sex = manifest_rules()["implied_sex"]
    done: set[tuple[str, str]] = set()
    for r in rows:
        if r["outcome"] != LANDED or (r["sample_id"], r["locus"]) in done:
            continue
        done.add((r["sample_id"], r["locus"]))
        if catalogue.get(r["locus"]).kind != "sex" or {r["allele_1"], r["allele_2"]} - {"X", "Y"}:
            continue
        ents = entries[r["sample_id"]]
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
            out.append(IngestRecord.warning(
                file, r["source_line"], r["sample_id"], r["raw_locus"], pair,
                f"{r['locus']} {pair} disagrees with {what} (Y dropout or a sample "
                "swap?); stored as given — check the sample", kind="sex_check"))
    return out


def _review_flags(by_sample: dict, landed_samples: set[str], stored_profiles: dict,
                  file: str) -> list[IngestRecord]:
    """Flag, per landed sample, loci left out as three-allele patterns and a re-test that adds loci."""
    out = []
    for sid in sorted(landed_samples):
        srows = by_sample[sid]
        left_out = sorted({r["locus"] for r in srows if r["kind"] == "three_allele"})
        if left_out:
            first = next(r for r in srows if r["kind"] == "three_allele")
            out.append(IngestRecord.warning(
                file, first["source_line"], sid, first["raw_locus"], ",".join(left_out),
                f"sample {sid!r}: three-allele pattern at {', '.join(left_out)}; the locus is left out "
                "of the stored profile and the rest landed — review the sample", kind="three_allele_locus"))
        stored = stored_profiles.get(sid, {})
        added = sorted({r["locus"] for r in srows if r.get("is_new")})
        if stored and added:
            first = next(r for r in srows if r.get("is_new"))
            out.append(IngestRecord.warning(
                file, first["source_line"], sid, first["raw_locus"], ",".join(added),
                f"re-test of stored sample {sid!r} extends its profile by {len(added)} locus/loci "
                f"({', '.join(added)}); the {len(stored)} stored loci agree and are kept",
                kind="profile_extended"))
    return out


def _off_ladder_flags(by_sample: dict, landed_samples: set[str], catalogue: LocusCatalogue,
                      file: str) -> list[IngestRecord]:
    """Flag, per landed sample, the landed alleles outside every bundled kit's ladder but within
    the plausible range (:func:`kinship.genetics.ladders.allele_plausibility`): they are real
    alleles sized beyond the ladder, or typos that happen to be plausible; a person looks."""
    out = []
    plausibility: dict[tuple[str, str], tuple[str, str]] = {}  # each distinct (locus, allele) judged once
    for sid in sorted(landed_samples):
        found = []
        for r in by_sample[sid]:
            if r["outcome"] != LANDED or catalogue.get(r["locus"]).kind == "sex":
                continue
            for allele in dict.fromkeys((r["allele_1"], r["allele_2"])):
                key = (r["locus"], allele)
                if key not in plausibility:
                    plausibility[key] = allele_plausibility(r["locus"], allele, catalogue=catalogue)
                verdict, reason = plausibility[key]
                if verdict == "off_ladder":
                    found.append((r, allele, reason))
        if found:
            first = found[0][0]
            out.append(IngestRecord.warning(
                file, first["source_line"], sid, first["raw_locus"], ",".join(f"{r['locus']}:{a}" for r, a, _ in found),
                f"sample {sid!r}: {len(found)} allele(s) outside every bundled kit's ladder landed "
                f"({'; '.join(why for _, _, why in found)}) — check the calls", kind="off_ladder_allele"))
    return out


def _new_samples_and_members(entries: dict, landed_samples: set[str], stored_samples: dict, stored_members: dict,
                             received_at: datetime) -> tuple[list[dict], list[dict]]:
    """The ``samples`` and ``family_members`` rows of the landed samples that the store lacks."""
    sample_rows, member_rows = [], []
    for sid in sorted(landed_samples):
        ents = entries[sid]
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
    return sample_rows, member_rows


def landed_profiles(
    rows: pd.DataFrame,
    stored_profiles: dict[str, dict[str, tuple]],
    *,
    catalogue: LocusCatalogue | None = None,
) -> dict[str, dict[str, tuple[str, str]]]:
    """The autosomal profile of every landed sample once the batch lands: stored loci plus landed rows.

    Parameters
    ----------
    rows : pandas.DataFrame
        :attr:`BatchPlan.rows` (only ``landed`` rows are used).
    stored_profiles : dict
        ``{sample_id: {locus: (allele_1, allele_2, ...)}}``; the stored loci of the batch's samples.
    catalogue : LocusCatalogue, optional
        The bundled catalogue by default.

    Returns
    -------
    dict
        ``{sample_id: {locus: (allele_1, allele_2)}}`` of the landed samples, autosomal loci only.
    """
    catalogue = catalogue or default_catalogue()
    landed = rows[rows["outcome"] == LANDED]
    autosomal = {locus: catalogue.get(locus).is_autosomal for locus in landed["locus"].unique()}
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for sid, locus, a1, a2 in zip(*(landed[c].tolist() for c in ("sample_id", "locus", "allele_1", "allele_2"))):
        if autosomal[locus]:
            prof = out.get(sid)
            if prof is None:
                stored = stored_profiles.get(sid, {})
                prof = out[sid] = {k: tuple(v[:2]) for k, v in stored.items() if catalogue.get(k).is_autosomal}
            prof[locus] = (a1, a2)
    return out


def duplicate_warnings(
    rows: pd.DataFrame,
    *,
    file: str,
    stored_profiles: dict[str, dict[str, tuple]],
    catalogue: LocusCatalogue | None = None,
    min_loci: int = DUPLICATE_MIN_LOCI,
    profiles: dict[str, dict[str, tuple[str, str]]] | None = None,
    keys: dict[str, dict[str, int]] | None = None,
) -> list[IngestRecord]:
    """Flag samples whose landed profile equals another sample's (a possible duplicate).

    The rule, exactly: a batch sample and another sample (of the batch, or stored) are possible
    duplicates when

    1. they share at least ``min_loci`` typed autosomal loci, and have the same genotype at
       every one of them (the rule before issue 9), **and**
    2. both are typed at every locus of at least one block of
       :data:`kinship.genetics.profile_keys.KEY_BLOCKS` (a half of the CODIS 13 or of the
       European Standard Set: six or seven loci).

    Condition 2 is what makes the check linear: such a pair shares that block's profile key,
    so only samples that share a key are compared (:func:`kinship.genetics.profile_keys.profile_keys`;
    the store's ``profile_keys`` index finds the stored ones). The pairs the rule of condition 1
    alone found and this one does not are those where each of the four blocks misses a locus in
    one of the two profiles: at least four core loci absent between them (e.g. a profile typed
    with a kit outside both core sets, or one with dropout spread over every block). A
    duplicate-submission screen loses little there: every kit in use types all 13 CODIS or all 12
    ESS loci, and such partial profiles are the ones least likely to be resubmitted whole.

    The same person sampled twice (under two ids), or a sample swap, is what this finds.
    Unrelated people share 10 or more CODIS genotypes with a probability far below 1e-9,
    first-degree relatives essentially never at every locus.

    Parameters
    ----------
    rows : pandas.DataFrame
        :attr:`BatchPlan.rows` (only ``landed`` rows are used).
    file : str
        Export file name, quoted in messages.
    stored_profiles : dict
        ``{sample_id: {locus: (allele_1, allele_2, ...)}}`` of stored samples that may match
        (at least every stored sample sharing a profile key with a batch sample; others are
        never compared); a batch sample's stored loci are added to its profile.
    catalogue : LocusCatalogue, optional
        The bundled catalogue by default.
    min_loci : int, default 10
        Shared identical autosomal loci that make a possible duplicate.
    profiles : dict, optional
        The batch's landed profiles, ``landed_profiles(rows, stored_profiles, catalogue=...)``,
        when the caller has them already (computed here otherwise).
    keys : dict, optional
        ``{sample_id: {block: key}}`` (:func:`kinship.genetics.profile_keys.profile_keys`) of
        any of the batch's and the stored samples, when the caller has them; the others' are
        computed here. Pairs whose keys disagree (:func:`kinship.genetics.profile_keys.keys_agree`)
        are not compared further: they differ at a shared locus.

    Returns
    -------
    list of IngestRecord
        One ``possible_duplicate`` flag (a warning) per (batch sample, other sample) pair, on
        the batch sample's first landed row, in (batch sample, other sample) id order; each
        pair of batch samples once.
    """
    catalogue = catalogue or default_catalogue()
    batch = landed_profiles(rows, stored_profiles, catalogue=catalogue) if profiles is None else profiles
    compared: dict[str, dict[str, tuple[str, str]]] = {}
    for sid, prof in stored_profiles.items():
        if sid not in batch:
            compared[sid] = {k: tuple(v[:2]) for k, v in prof.items() if catalogue.get(k).is_autosomal}
    compared.update(batch)
    known = keys or {}
    keys_of = {sid: known[sid] if sid in known else profile_keys(prof) for sid, prof in compared.items()}
    by_key: dict[int, list[str]] = defaultdict(list)
    for sid, prof_keys in keys_of.items():
        for key in prof_keys.values():
            by_key[key].append(sid)
    partners: dict[str, set[str]] = defaultdict(set)
    for members in by_key.values():
        if len(members) > 1:
            for sid in members:
                if sid in batch:
                    partners[sid].update(m for m in members if m != sid and keys_agree(keys_of[sid], keys_of[m]))
    landed = rows[(rows["outcome"] == LANDED) & rows["sample_id"].isin(partners)]
    first_line: dict[str, tuple[int, str]] = {}
    for sid, line, raw_locus, locus in zip(*(landed[c].tolist() for c in ("sample_id", "source_line", "raw_locus",
                                                                          "locus"))):
        if sid not in first_line and locus in batch[sid]:
            first_line[sid] = (int(line), raw_locus)
    out = []
    done: set[frozenset] = set()
    for sid in sorted(partners):
        mine = compared[sid]
        for other in sorted(partners[sid]):
            if frozenset((sid, other)) in done:
                continue
            theirs = compared[other]
            shared = [locus for locus in mine if locus in theirs]
            if len(shared) >= min_loci and all(mine[locus] == theirs[locus] for locus in shared):
                done.add(frozenset((sid, other)))
                line, raw_locus = first_line[sid]
                where = "in this batch" if other in batch else "already stored"
                out.append(IngestRecord.warning(
                    file, line, sid, "", other,
                    f"possible duplicate: sample {sid!r} has the same genotype as sample {other!r} "
                    f"({where}) at all {len(shared)} shared autosomal loci — the same person sampled "
                    "twice, or a sample swap; both are stored, check the sample records",
                    kind="possible_duplicate"))
    return out
