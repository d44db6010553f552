"""The sample rules of ingestion: one function per rule, deciding all the rows of one sample.

They run after the row rules (:mod:`kinship.app.ingest.row_rules`) and judge a sample against
the manifest, the rest of the batch and the store. Each rule takes the sample's
:class:`SampleCheck` and the :class:`BatchContext` and returns ``True`` when it decided the
sample (no later rule runs), ``False`` to pass it on; a rule that quarantines writes the reason
and the fix into the sample's rows. :func:`kinship.app.ingest.plan_batch` applies
:data:`SAMPLE_RULES` in order:

0. :func:`refused_by_reader` - a sample the reader refused (a CODIS specimen of a forensic
   category) is quarantined whole;
1. :func:`listed_in_manifest` - a sample not in the manifest (ladders, controls, unknown
   samples) or with an invalid manifest row is quarantined whole;
2. :func:`probable_mixture` - ``mixture_min_loci`` or more three-allele loci;

   then :func:`nothing_landed` stops at a sample with no landed row (nothing to check);
3. :func:`control_dna` - a profile equal to a control DNA's (2800M, 9947A, 007) at every
   shared autosomal locus, at least 8 of them, is quarantined whole: controls are not casework;
4. :func:`conflicting_batch_genotypes` - two different genotypes for one locus in the batch;
5. :func:`conflicting_store_identity` (a role, lab or family slot that contradicts the store)
   and :func:`conflicting_stored_genotypes` (a genotype that differs from the stored one; a
   stored genotype is never overwritten);
6. :func:`too_few_autosomal_loci` - fewer than ``min_autosomal_loci`` typed autosomal loci,
   this batch and the store together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from kinship.app.ingest.records import LANDED, QUARANTINED
from kinship.genetics.alleles import UNKNOWN_ALLELE
from kinship.genetics.controls import CONTROL_MIN_LOCI, matching_control
from kinship.genetics.loci import LocusCatalogue
from kinship.io.manifest import Manifest, manifest_rules

__all__ = [
    "MIXTURE_MIN_LOCI",
    "MIN_AUTOSOMAL_LOCI",
    "SampleCheck",
    "BatchContext",
    "refused_by_reader",
    "listed_in_manifest",
    "probable_mixture",
    "nothing_landed",
    "control_dna",
    "conflicting_batch_genotypes",
    "conflicting_store_identity",
    "conflicting_stored_genotypes",
    "too_few_autosomal_loci",
    "SAMPLE_RULES",
]

#: A sample with at least this many three-allele loci is quarantined as a probable mixture.
MIXTURE_MIN_LOCI = 2

#: A profile with fewer typed autosomal loci than this (batch and store together) is quarantined.
MIN_AUTOSOMAL_LOCI = 12

_FIX = {
    "mixture": "re-type the sample from a single-source extract; a mixture can not be matched",
    "manifest": "add the sample to the manifest if it is a person to match; allelic ladders and "
    "positive/negative controls need no action",
    "conflict": "check for a sample swap or typing error; if the stored genotype is wrong, ask "
    "the store keeper to retract it (stored genotypes are never overwritten)",
    "autosomal": "re-type the missing loci (or the sample) and re-submit; the typed loci of a re-test "
    "extend the stored profile",
    "partial_batch": "keep one typing per sample and locus in the export: the full genotype if a re-analysis "
    "sized the allele the partial one lacks, else the partial one (re-runs under a new sample id)",
    "partial_store": "if the new typing sizes the allele a stored partial genotype lacks (or the other way "
    "round), ask the store keeper to retract the stored profile and re-submit the sample's full typing; "
    "a stored genotype is never overwritten, and a partial and a full genotype are never merged",
}

#: What a reason adds when a conflict involves a partial genotype (``12/?``).
_PARTIAL_NOTE = ("; a partial genotype (a/?: one allele unknown) and a full one (a/b) are different "
                 "typings, never merged")


def _pair(a1: str, a2: str) -> str:
    return f"{a1}/{a2}"


def _is_partial(pair) -> bool:
    """Whether a genotype ``(allele_1, allele_2, ...)`` is partial (second allele ``"?"``)."""
    return pair[1] == UNKNOWN_ALLELE


@dataclass
class SampleCheck:
    """One sample of a batch while the sample rules decide it.

    Attributes
    ----------
    sample_id : str
        The sample id as written.
    rows : list of dict
        Its export rows as the row rules decided them (keys of
        :func:`kinship.app.ingest.normalise_records`), in file order; a rule that quarantines
        the sample updates them.
    entries : list of dict
        Its valid manifest rows (columns of :data:`kinship.io.manifest.MANIFEST_COLUMNS`);
        empty if the manifest does not list it.
    """

    sample_id: str
    rows: list[dict]
    entries: list[dict] = field(default_factory=list)

    def landed_by_locus(self) -> dict[str, list[dict]]:
        """Its landed rows by canonical locus, in file order."""
        seen: dict[str, list[dict]] = defaultdict(list)
        for r in self.rows:
            if r["outcome"] == LANDED:
                seen[r["locus"]].append(r)
        return seen

    def quarantine(self, *, kind: str, value: str, reason: str, fix: str, overwrite: bool = False,
                   only_landed: bool = False) -> bool:
        """Quarantine the sample's rows; return ``True`` (the sample is decided).

        Rows quarantined already keep their reason unless ``overwrite``; with ``only_landed``
        only landed rows are quarantined (untyped rows stay untyped).
        """
        for r in self.rows:
            if r["outcome"] == QUARANTINED and not overwrite:
                continue
            if only_landed and r["outcome"] != LANDED:
                continue
            r.update(outcome=QUARANTINED, kind=kind, value=value, reason=reason, fix=fix, allele_1="", allele_2="")
        return True


@dataclass
class BatchContext:
    """What the sample rules know of the batch and of the store.

    Attributes
    ----------
    file : str
        Export file name, quoted in reasons.
    manifest : Manifest
        The batch's validated manifest.
    catalogue : LocusCatalogue
        Locus catalogue.
    stored_samples, stored_profiles, stored_members : dict
        What the store holds for the batch's samples and families (see
        :meth:`kinship.store.Store.stored_samples`, ``stored_profiles``,
        ``stored_family_members``).
    refused : dict
        ``{sample_id: (kind, reason, fix)}`` of samples the reader refused.
    mixture_min_loci : int, default 2
        Three-allele loci that make a sample a probable mixture.
    min_autosomal_loci : int, default 12
        Fewest typed autosomal loci (this batch and the store together) a stored profile needs.
    bad_sample_ids : set of str
        Samples named by an invalid manifest row (set from ``manifest``).
    single_slot : set of str
        Relationships a family has at most one of (the parents; from the manifest schema).
    """

    file: str
    manifest: Manifest
    catalogue: LocusCatalogue
    stored_samples: dict[str, dict] = field(default_factory=dict)
    stored_profiles: dict[str, dict[str, tuple]] = field(default_factory=dict)
    stored_members: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    refused: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    mixture_min_loci: int = MIXTURE_MIN_LOCI
    min_autosomal_loci: int = MIN_AUTOSOMAL_LOCI
    bad_sample_ids: set[str] = field(init=False)
    single_slot: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.bad_sample_ids = self.manifest.bad_sample_ids
        self.single_slot = set(manifest_rules()["implied_sex"])  # parents: at most one per family


def refused_by_reader(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 0: quarantine a sample the reader refused, whole, with the reader's reason.

    For example a CODIS specimen of a forensic category (``not_reference_material``): not
    reference material.

    Parameters
    ----------
    sample : SampleCheck
        The sample.
    batch : BatchContext
        The batch (``refused`` gives ``(kind, reason, fix)`` per refused sample).

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.
    """
    if sample.sample_id not in batch.refused:
        return False
    kind, reason, fix = batch.refused[sample.sample_id]
    return sample.quarantine(kind=kind, value=sample.sample_id, overwrite=True, reason=reason, fix=fix)


def listed_in_manifest(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 1: quarantine, whole, a sample the manifest describes badly or not at all.

    A sample with an invalid manifest row is ``manifest_error``; a sample not in the
    manifest (an allelic ladder, a positive or negative control, an unlisted sample) is
    ``not_in_manifest``. Earlier reasons of its rows are overwritten.

    Parameters
    ----------
    sample : SampleCheck
        The sample.
    batch : BatchContext
        The batch.

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.
    """
    sid = sample.sample_id
    if sid in batch.bad_sample_ids:
        errs = "; ".join(e.message for e in batch.manifest.errors_for(sid))
        return sample.quarantine(kind="manifest_error", value=sid, overwrite=True,
                                 reason=f"sample {sid!r} has an invalid manifest row: {errs}",
                                 fix="correct the manifest row and re-submit the batch")
    if not sample.entries:
        return sample.quarantine(kind="not_in_manifest", value=sid, overwrite=True,
                                 reason=(f"sample {sid!r} ({batch.file}) is in the export but not in manifest "
                                         f"{batch.manifest.file} (an allelic ladder, a positive or negative control, "
                                         "or an unlisted sample)"),
                                 fix=_FIX["manifest"])
    return False


def probable_mixture(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 2: quarantine a probable mixture, ``mixture_min_loci`` or more three-allele loci.

    The sample's other rows get the mixture reason (``mixture``); its three-allele rows keep
    theirs with the mixture reason appended.

    Parameters
    ----------
    sample : SampleCheck
        The sample.
    batch : BatchContext
        The batch (``mixture_min_loci``).

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.
    """
    three = [r for r in sample.rows if r["kind"] == "three_allele"]
    if len(three) < batch.mixture_min_loci:
        return False
    reason = (f"probable mixture: sample {sample.sample_id!r} ({batch.file}) has three or more alleles at "
              f"{len(three)} loci ({', '.join(r['locus'] for r in three)}); expected at most "
              f"{batch.mixture_min_loci - 1} for a single-source profile")
    sample.quarantine(kind="mixture", value=sample.sample_id, reason=reason, fix=_FIX["mixture"])
    for r in three:
        r["reason"] += f"; {reason}"
    return True


def nothing_landed(sample: SampleCheck, batch: BatchContext) -> bool:
    """Stop at a sample with no landed row: the rules after it check a profile, and it has none.

    Parameters
    ----------
    sample : SampleCheck
        The sample (after rule 2).
    batch : BatchContext
        The batch (not used).

    Returns
    -------
    bool
        ``True`` if no row of the sample is landed (its rows are left as they are).
    """
    return not any(r["outcome"] == LANDED for r in sample.rows)


def control_dna(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 3: quarantine, whole, a profile that is a commercial control DNA (``control_dna``).

    The landed genotypes equal a bundled control profile (:func:`kinship.genetics.controls.matching_control`:
    2800M, 9947A or 007) at every shared autosomal locus, at least ``CONTROL_MIN_LOCI`` (8) of
    them: a positive control sent under a manifest id, in any format. Earlier reasons of its
    rows are overwritten (the whole sample is a control, not casework).

    Parameters
    ----------
    sample : SampleCheck
        The sample (some rows landed).
    batch : BatchContext
        The batch (``catalogue``).

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.

    Examples
    --------
    >>> from kinship.genetics.controls import control_profiles
    >>> from kinship.genetics.loci import default_catalogue
    >>> from kinship.io.manifest import parse_manifest
    >>> manifest = parse_manifest(b"sample_id,role,family_id,relationship,sex\\nC1,candidate,,,\\n",
    ...                           file="m.csv", lab="L")
    >>> rows = [{"source_line": n, "locus": locus, "allele_1": a1, "allele_2": a2, "outcome": "landed"}
    ...         for n, (locus, (a1, a2)) in enumerate(sorted(control_profiles()["2800M"].items()), start=2)]
    >>> control_dna(SampleCheck("C1", rows), BatchContext("e.csv", manifest, default_catalogue()))
    True
    >>> rows[0]["kind"], rows[0]["fix"]
    ('control_dna', 'controls are not casework; remove it from the manifest')
    """
    seen = sample.landed_by_locus()
    found = matching_control({locus: (lrows[0]["allele_1"], lrows[0]["allele_2"]) for locus, lrows in seen.items()},
                             catalogue=batch.catalogue, min_loci=CONTROL_MIN_LOCI)
    if found is None:
        return False
    name, n_loci = found
    return sample.quarantine(
        kind="control_dna", value=name, overwrite=True,
        reason=(f"sample {sample.sample_id!r} ({batch.file}) is the control DNA {name}: its genotypes equal the "
                f"published {name} profile at all {n_loci} shared autosomal loci (kinship/data/control_profiles.csv)"),
        fix="controls are not casework; remove it from the manifest",
    )


def conflicting_batch_genotypes(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 4: quarantine a sample with two different genotypes for one locus in the batch.

    The reason lists, per locus, each line and its genotype (``conflict``). A partial genotype
    (``12/?``) and a full one (``12/14``) of the same locus differ: they conflict too, and the
    reason and fix say that one is partial (a re-analysis is not merged into the first typing).

    Parameters
    ----------
    sample : SampleCheck
        The sample.
    batch : BatchContext
        The batch.

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.

    Examples
    --------
    >>> from kinship.genetics.loci import default_catalogue
    >>> from kinship.io.manifest import parse_manifest
    >>> manifest = parse_manifest(b"sample_id,role,family_id,relationship,sex\\nC1,candidate,,,\\n",
    ...                           file="m.csv", lab="L")
    >>> rows = [{"source_line": n, "locus": "TH01", "allele_1": a1, "allele_2": "9.3",
    ...          "outcome": "landed"} for n, a1 in ((3, "6"), (7, "7"))]
    >>> sample = SampleCheck("C1", rows)
    >>> conflicting_batch_genotypes(sample, BatchContext("e.csv", manifest, default_catalogue()))
    True
    >>> rows[0]["reason"]
    "sample 'C1' has different genotypes for one locus within e.csv: TH01: line 3 6/9.3, line 7 7/9.3"
    """
    differing = [(locus, lrows) for locus, lrows in sorted(sample.landed_by_locus().items())
                 if len({(r["allele_1"], r["allele_2"]) for r in lrows}) > 1]
    if not differing:
        return False
    diffs = [f"{locus}: " + ", ".join(f"line {r['source_line']} {_pair(r['allele_1'], r['allele_2'])}" for r in lrows)
             for locus, lrows in differing]
    partial = any(_is_partial((r["allele_1"], r["allele_2"])) for _, lrows in differing for r in lrows)
    return sample.quarantine(
        kind="conflict", value=sample.sample_id,
        reason=f"sample {sample.sample_id!r} has different genotypes for one locus within {batch.file}: "
        + "; ".join(diffs) + (_PARTIAL_NOTE if partial else ""),
        fix=_FIX["partial_batch"] if partial else
        "keep one typing per sample and locus in the export (re-runs under a new sample id)",
    )


def conflicting_store_identity(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 5, identity: quarantine a sample whose role, lab or family slot contradicts the store.

    A stored sample keeps its role and lab; a reference keeps its relationship in a family;
    a family has one father and one mother (a second one is a conflict). Reason kind
    ``conflict``.

    Parameters
    ----------
    sample : SampleCheck
        The sample (listed in the manifest: after rule 1).
    batch : BatchContext
        The batch (``stored_samples``, ``stored_members``).

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.
    """
    sid = sample.sample_id
    first = sample.entries[0]
    problems = []
    old = batch.stored_samples.get(sid)
    if old is not None:
        for column in ("role", "lab"):
            if old[column] != first[column]:
                problems.append(f"stored as {column} {old[column]!r} (file_id {old['file_id']}) but the "
                                f"manifest says {first[column]!r}")
    for e in sample.entries:
        if e["role"] != "reference":
            continue
        for member in batch.stored_members.get((e["lab"], e["family_id"]), []):
            same = member["sample_id"] == sid
            if same and member["relationship"] != e["relationship"]:
                problems.append(f"stored in family {e['lab']}/{e['family_id']} as {member['relationship']} "
                                f"but the manifest says {e['relationship']}")
            elif not same and member["relationship"] == e["relationship"] and e["relationship"] in batch.single_slot:
                problems.append(f"family {e['lab']}/{e['family_id']} already has {e['relationship']} "
                                f"{member['sample_id']!r} (file_id {member['file_id']})")
    if not problems:
        return False
    return sample.quarantine(kind="conflict", value=sid,
                             reason=f"sample {sid!r} conflicts with the store: " + "; ".join(problems),
                             fix="correct the manifest (sample ids are global: prefix them with the lab code "
                                 "if two labs may use the same id)")


def conflicting_stored_genotypes(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 5, genotypes: quarantine a submission that differs from the stored profile.

    A stored genotype is never overwritten: the whole submission is quarantined with a
    locus-by-locus diff (``conflict``). New loci of a re-test that agrees with the stored
    ones pass (they extend the profile). A partial genotype (``12/?``) against a full one
    (``12/14``), either way round, is a differing genotype: the submission is quarantined, and
    the reason and fix say that one is partial (a re-test that sizes the unknown allele is not
    merged into the stored profile; it replaces it only by a retraction and a re-submission).

    Parameters
    ----------
    sample : SampleCheck
        The sample.
    batch : BatchContext
        The batch (``stored_profiles``).

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.
    """
    sid = sample.sample_id
    seen = sample.landed_by_locus()
    stored = batch.stored_profiles.get(sid, {})
    diffs = []
    partial = False
    for locus, lrows in sorted(seen.items()):
        r = lrows[0]
        if locus in stored and tuple(stored[locus][:2]) != (r["allele_1"], r["allele_2"]):
            s1, s2, fid = stored[locus]
            partial = partial or _is_partial((s1, s2)) or _is_partial((r["allele_1"], r["allele_2"]))
            diffs.append(f"{locus} stored {_pair(s1, s2)} (file_id {fid}) != new "
                         f"{_pair(r['allele_1'], r['allele_2'])} (line {r['source_line']})")
    if not diffs:
        return False
    return sample.quarantine(kind="conflict", value=sid,
                             reason=(f"sample {sid!r} ({batch.file}) conflicts with its stored profile at "
                                     f"{len(diffs)} of {len(seen)} loci: " + "; ".join(diffs)
                                     + (_PARTIAL_NOTE if partial else "")),
                             fix=_FIX["partial_store"] if partial else _FIX["conflict"])


def too_few_autosomal_loci(sample: SampleCheck, batch: BatchContext) -> bool:
    """Sample rule 6: quarantine the landed rows of a profile with too few typed autosomal loci.

    The loci of this batch and of the store count together; fewer than
    ``min_autosomal_loci`` (12) can not be matched (``too_few_loci``; untyped rows stay
    untyped). A partial genotype (``12/?``) is a typed locus: it carries evidence (the known
    allele) into every likelihood, so it counts.

    Parameters
    ----------
    sample : SampleCheck
        The sample.
    batch : BatchContext
        The batch (``catalogue``, ``stored_profiles``, ``min_autosomal_loci``).

    Returns
    -------
    bool
        ``True`` if the sample was quarantined.

    Examples
    --------
    >>> from kinship.genetics.loci import default_catalogue
    >>> from kinship.io.manifest import parse_manifest
    >>> manifest = parse_manifest(b"sample_id,role,family_id,relationship,sex\\nC1,candidate,,,\\n",
    ...                           file="m.csv", lab="L")
    >>> rows = [{"source_line": 2, "locus": "TH01", "allele_1": "6", "allele_2": "9.3",
    ...          "outcome": "landed"}]
    >>> too_few_autosomal_loci(SampleCheck("C1", rows), BatchContext("e.csv", manifest, default_catalogue()))
    True
    >>> rows[0]["outcome"], rows[0]["kind"], rows[0]["value"]
    ('quarantined', 'too_few_loci', '1')
    """
    seen = sample.landed_by_locus()
    stored = batch.stored_profiles.get(sample.sample_id, {})
    autosomal = {locus for locus in (*seen, *stored) if batch.catalogue.get(locus).is_autosomal}
    if len(autosomal) >= batch.min_autosomal_loci:
        return False
    return sample.quarantine(
        kind="too_few_loci", value=str(len(autosomal)), only_landed=True,
        reason=(f"sample {sample.sample_id!r} ({batch.file}) has {len(autosomal)} typed autosomal loci "
                f"({len(stored)} already stored); expected at least {batch.min_autosomal_loci} "
                "(min_autosomal_loci) for a profile that can be matched; the profile is "
                "not stored"),
        fix=_FIX["autosomal"],
    )


#: The sample rules in the order :func:`kinship.app.ingest.plan_batch` applies them.
SAMPLE_RULES: tuple[Callable[[SampleCheck, BatchContext], bool], ...] = (
    refused_by_reader,  # 0
    listed_in_manifest,  # 1
    probable_mixture,  # 2
    nothing_landed,
    control_dna,  # 3
    conflicting_batch_genotypes,  # 4
    conflicting_store_identity,  # 5
    conflicting_stored_genotypes,  # 5
    too_few_autosomal_loci,  # 6
)
