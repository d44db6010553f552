"""Markdown and table summaries of a match run and of an ingestion, for Prefect artifacts (plain
data: this package never imports prefect). They show sample ids only, never a genotype.

The run and ingestion summaries are written in the deployment's language: ``locale=``, else the
environment variable ``REUNITE_LOCALE``, else English (:func:`kinship.report.html.report_locale`;
texts of the ``report`` gettext catalogue)."""

from __future__ import annotations

import math
from collections import defaultdict

import pandas as pd

from kinship.i18n import translations
from kinship.report.formatting import (FAMILY_KIND_LABELS, WORDS, _frequency_notes, _rules, _summary, _sorted_by_lr,
                                       format_cpi, power_rows)
from kinship.report.html import report_locale

__all__ = [
    "summary_markdown",
    "top_candidates_table",
    "reported_pairs_table",
    "REPORTED_PAIRS_CAP",
    "ingestion_summary_markdown",
    "ingestion_summary_text",
    "family_power_markdown",
]

# --------------------------------------------------------------------------------------------
# Prefect artifacts (plain data; this module never imports prefect)

_MD_SPECIAL = set("\\`*_[]<>|")


def _md(text: str) -> str:
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))


def _gettext(locale: str | None):
    return translations("report", report_locale(locale)).gettext


def summary_markdown(matches: pd.DataFrame, provenance: dict, *, locale: str | None = None) -> str:
    """Short markdown summary of a run, for a Prefect markdown artifact.

    Counts (families by kind, candidates, pairs, conclusions, flagged), up to 10 supported
    pairs by id, the frequency table with its sha256 (the loci it lacks, the loci renormalised,
    the silent alleles used or not), the mutation model, θ and the prior of the posteriors.
    Ids are markdown-escaped.

    Parameters
    ----------
    matches : DataFrame
        Schema ``matches.v3``.
    provenance : dict
        Schema ``provenance.v4``.
    locale : str, optional
        ``"en"`` or ``"zh_CN"``; None: ``$REUNITE_LOCALE``, else English.

    Returns
    -------
    str
    """
    _ = _gettext(locale)
    s = _summary(matches, provenance)
    rules = _rules(provenance)
    table = provenance.get("frequency_table", {})
    parameters = provenance.get("parameters", {})
    left_out = provenance.get("inputs", {}).get("loci_left_out", {})
    kinds = ", ".join(f"{_(FAMILY_KIND_LABELS.get(k, k))} {n}" for k, n in s["family_kinds"].items())
    lines = [
        _("### Match run %(run)s") % {"run": _md(provenance.get("run_id", ""))},
        "",
        _("Started %(started)s, code %(code)s.") % {"started": _md(provenance.get("started_at", "")),
                                                   "code": _md(provenance.get("code_version", ""))},
        "",
        "| | |",
        "|---|---:|",
        *(f"| {label} | {value} |" for label, value in [
            (_("families"), f"{s['n_families']:,} ({kinds})"),
            (_("candidates"), f"{s['n_candidates']:,}"),
            (_("pairs compared"), f"{s['n_pairs']:,}"),
            (_("support (CPI ≥ %(support)s)") % {"support": rules["support_cpi"]}, f"{s['n_support']:,}"),
            (_("flagged for review"), f"{s['n_flagged']:,}"),
            (_("inconclusive"), f"{s['n_inconclusive']:,}"),
            (_("excluded"), f"{s['n_excluded']:,}"),
        ]),
        "",
    ]
    supported = _sorted_by_lr(matches[matches["conclusion"] == "support"])
    if len(supported):
        lines.append(_("**Supported pairs** (send for lab confirmation):"))
        lines.append("")
        for row in supported.head(10).itertuples(index=False):
            cpi = format_cpi(float(row.log10_lr))
            lines.append(_("- candidate %(candidate)s with family %(family)s: CPI %(cpi)s, %(n)s inconsistent loci") % {
                "candidate": _md(row.candidate_id), "family": f"{_md(row.lab)}/{_md(row.family_id)}",
                "cpi": _(cpi) if cpi in WORDS else cpi, "n": int(row.n_inconsistent)})
        if len(supported) > 10:
            lines.append(_("- … and %(n)s more (see report.html)") % {"n": f"{len(supported) - 10:,}"})
        lines.append("")
    if s["n_flagged"]:
        lines.append(_("**%(n)s flagged pair(s)**: ≥ %(k)s inconsistent loci although CPI ≥ %(support)s; review.") % {
            "n": f"{s['n_flagged']:,}", "k": rules["exclusion_n_inconsistent"], "support": rules["support_cpi"]})
        lines.append("")
    n_subs = len(table.get("substitutions", []))
    notes = _frequency_notes(provenance, _)
    extra = " ".join(_md(notes[k]) for k in ("left_out", "renormalised", "silent") if notes[k])
    lines += [
        _("Frequency table: %(name)s (sha256 `%(sha)s`), %(n)s allele(s) added at the minimum frequency; "
          "loci left out: %(left_out)s.") % {
            "name": _md(table.get("name", "")), "sha": table.get("sha256", ""), "n": n_subs,
            "left_out": _md(", ".join(left_out)) if left_out else _("none")} + f" {extra}",
        "",
        _("Mutation model: %(model)s; θ = %(theta)s; posteriors after database size, prior of 'not on file' "
          "%(prior)s; rules %(rules)s.") % {
            "model": _md(provenance.get("mutation_model", "")), "theta": f"{parameters.get('theta', 0.0):g}",
            "prior": _prior_text(parameters.get("prior"), _), "rules": _md(rules["source"])},
        "",
    ]
    return "\n".join(lines)


def _prior_text(prior, gettext=lambda m: m) -> str:
    """The prior of the posteriors, as recorded (provenance v4: an object; older records: a number)."""
    if isinstance(prior, dict):
        return gettext("%(child)s (child's side), %(family)s (family's side)") % {
            "child": f"{prior.get('family_not_on_file', 0.5):g}", "family": f"{prior.get('child_not_on_file', 0.5):g}"}
    return gettext("%(prior)s (a single pair's prior, provenance v3 or older)") % {
        "prior": f"{0.5 if prior is None else prior:g}"}


def top_candidates_table(matches: pd.DataFrame, n: int = 25) -> list[dict]:
    """Each candidate's best family, best pairs first, as JSON-safe rows (Prefect table artifact).

    Parameters
    ----------
    matches : DataFrame
        Schema ``matches.v3``.
    n : int
        At most this many rows.

    Returns
    -------
    list of dict
        Keys ``candidate_id``, ``family`` (``"lab/family_id"``), ``family_kind``, ``cpi``
        (text, e.g. ``"3.2 × 10^7"`` or ``"0 (exclusion)"``), ``log10_lr`` (float rounded to 4
        decimals, ``None`` for LR 0 so that the value stays valid JSON), ``n_loci_compared``,
        ``n_inconsistent``, ``posterior`` (float: after database size), ``conclusion``, ``flagged``. Sorted by
        descending LR, ties by candidate id.

    Examples
    --------
    >>> import numpy as np
    >>> df = pd.DataFrame({
    ...     "candidate_id": ["C2", "C1"], "lab": ["L", "L"], "family_id": ["F1", "F1"],
    ...     "family_kind": ["couple"] * 2, "log10_lr": [-np.inf, 7.51234],
    ...     "n_loci_compared": [18, 18], "n_inconsistent": [4, 0],
    ...     "rank_for_candidate": [1, 1], "rank_for_family": [2, 1],
    ...     "posterior": [0.0, 1.0], "conclusion": ["excluded", "support"], "flagged": [False, False]})
    >>> [(r["candidate_id"], r["log10_lr"], r["cpi"]) for r in top_candidates_table(df)]
    [('C1', 7.5123, '3.3 × 10^7'), ('C2', None, '0 (exclusion)')]
    """
    best = _sorted_by_lr(matches[matches["rank_for_candidate"].eq(1).fillna(False).astype(bool)]).head(n)
    rows = []
    for row in best.itertuples(index=False):
        log10_lr = float(row.log10_lr)
        rows.append(
            {
                "candidate_id": str(row.candidate_id),
                "family": f"{row.lab}/{row.family_id}",
                "family_kind": str(row.family_kind),
                "cpi": format_cpi(log10_lr),
                "log10_lr": round(log10_lr, 4) if math.isfinite(log10_lr) else None,
                "n_loci_compared": int(row.n_loci_compared),
                "n_inconsistent": int(row.n_inconsistent),
                "posterior": float(row.posterior),
                "conclusion": str(row.conclusion),
                "flagged": bool(row.flagged),
            }
        )
    return rows


#: At most this many rows in :func:`reported_pairs_table` (a Prefect table artifact stays readable).
REPORTED_PAIRS_CAP = 500


def _number(value, digits: int | None = None):
    """A JSON-safe float: ``None`` for a missing or infinite value, else rounded to ``digits``."""
    if value is None or pd.isna(value):
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return round(value, digits) if digits is not None else value


def reported_pairs_table(matches: pd.DataFrame, cap: int = REPORTED_PAIRS_CAP) -> tuple[list[dict], int]:
    """Every supported or flagged pair of a run, strongest evidence first, with its calibration,
    as JSON-safe rows (the match flow's ``top-candidates`` Prefect table artifact).

    Parameters
    ----------
    matches : DataFrame
        Schema ``matches.v3``.
    cap : int
        At most this many rows (the strongest); the caller says so when the run has more.

    Returns
    -------
    rows : list of dict
        Keys ``candidate_id``, ``family`` (``"lab/family_id"``), ``family_kind``, ``cpi``
        (text, from the autosomal ``log10_lr``), ``log10_lr`` and ``log10_lr_total`` (floats
        rounded to 4 decimals, ``None`` for LR 0), ``n_loci_compared``, ``n_inconsistent``,
        ``rank_for_candidate``, ``rank_for_family`` (``None`` outside the best k),
        ``posterior``, ``family_posterior``, ``joint_posterior`` (after database size),
        ``p_unrelated`` and ``expected_unrelated`` (the calibration: chance, and expected number,
        of unrelated candidates reaching this LR against this family), ``conclusion``,
        ``flagged``. Sorted by descending ``log10_lr_total``, ties by candidate id, lab, family.
    n_reported : int
        The number of supported or flagged pairs in the run (more than ``len(rows)`` when capped).

    Examples
    --------
    >>> import numpy as np
    >>> df = pd.DataFrame({
    ...     "candidate_id": ["C2", "C1", "C3"], "lab": ["L"] * 3, "family_id": ["F1", "F1", "F2"],
    ...     "family_kind": ["couple", "couple", "siblings"], "log10_lr": [-np.inf, 7.51234, 2.0],
    ...     "log10_lr_total": [-np.inf, 7.51234, 4.5], "n_loci_compared": [18, 18, 18],
    ...     "n_inconsistent": [4, 0, 1], "rank_for_candidate": [1, 1, 1], "rank_for_family": [2, 1, 1],
    ...     "posterior": [0.0, 1.0, 0.9], "family_posterior": [0.0, 1.0, 0.8],
    ...     "joint_posterior": [np.nan, 1.0, 0.85], "p_unrelated": [1.0, 1e-9, 2e-5],
    ...     "expected_unrelated": [200.0, 2e-7, 0.004], "conclusion": ["excluded", "support", "support"],
    ...     "flagged": [False, False, False]})
    >>> rows, n = reported_pairs_table(df)
    >>> n, [(r["candidate_id"], r["family_kind"], r["expected_unrelated"]) for r in rows]
    (2, [('C1', 'couple', 2e-07), ('C3', 'siblings', 0.004)])
    >>> [r["candidate_id"] for r in reported_pairs_table(df, cap=1)[0]], reported_pairs_table(df, cap=1)[1]
    (['C1'], 2)
    """
    reported = matches[(matches["conclusion"] == "support") | matches["flagged"].fillna(False).astype(bool)]
    ordered = reported.sort_values(["log10_lr_total", "candidate_id", "lab", "family_id"],
                                   ascending=[False, True, True, True], kind="stable")
    rows = []
    for row in ordered.head(cap).itertuples(index=False):
        rows.append(
            {
                "candidate_id": str(row.candidate_id),
                "family": f"{row.lab}/{row.family_id}",
                "family_kind": str(row.family_kind),
                "cpi": format_cpi(float(row.log10_lr)),
                "log10_lr": _number(row.log10_lr, 4),
                "log10_lr_total": _number(row.log10_lr_total, 4),
                "n_loci_compared": int(row.n_loci_compared),
                "n_inconsistent": int(row.n_inconsistent),
                "rank_for_candidate": None if pd.isna(row.rank_for_candidate) else int(row.rank_for_candidate),
                "rank_for_family": None if pd.isna(row.rank_for_family) else int(row.rank_for_family),
                "posterior": _number(row.posterior),
                "family_posterior": _number(row.family_posterior),
                "joint_posterior": _number(row.joint_posterior),
                "p_unrelated": _number(row.p_unrelated),
                "expected_unrelated": _number(row.expected_unrelated),
                "conclusion": str(row.conclusion),
                "flagged": bool(row.flagged),
            }
        )
    return rows, len(reported)


def ingestion_summary_markdown(summary, *, locale: str | None = None) -> str:
    """A Markdown report of one ingestion, for a Prefect artifact or a lab's e-mail.

    Counts, and quarantined rows and warnings per sample and rule. It quotes sample ids, line
    numbers and rule names only: no genotypes (artifacts and logs carry no genotypes); the
    full reasons are in the store's ``quarantine`` and ``warnings`` tables.

    Parameters
    ----------
    summary : kinship.app.ingest.IngestSummary
        What one :func:`kinship.app.ingest.ingest_batch` call did (this layer reads its
        attributes only: it imports nothing from the application layer).
    locale : str, optional
        ``"en"`` or ``"zh_CN"``; None: ``$REUNITE_LOCALE``, else English. Rule names stay codes.

    Returns
    -------
    str
        Markdown text, ending with a newline.

    Examples
    --------
    >>> from kinship.app.ingest import IngestRecord, IngestSummary
    >>> s = IngestSummary("ab" * 32, "run7.txt", "run7.csv", 1, 3, 1, 1, 1, 1, 1, 1, False,
    ...                   [IngestRecord.quarantined("run7.txt", 4, "Ladder", "TH01", "", "r", "f",
    ...                                             kind="not_in_manifest")],
    ...                   [IngestRecord.warning("run7.txt", 3, "C1", "vWA", "OL", "m", kind="off_ladder")])
    >>> print(ingestion_summary_markdown(s).splitlines()[0])
    ### Ingestion of `run7.txt` with manifest `run7.csv`
    >>> "| Ladder | not_in_manifest | 1 | 4 |" in ingestion_summary_markdown(s)
    True
    """
    _ = _gettext(locale)
    head = [
        _("### Ingestion of `%(export)s` with manifest `%(manifest)s`") % {"export": summary.export_name,
                                                                          "manifest": summary.manifest_name},
        "",
        _("batch sha256 `%(sha)s…`, file_id %(id)s") % {"sha": summary.file_sha256[:16], "id": summary.file_id}
        + (_(" — **already ingested: nothing added**") if summary.already_ingested else ""),
        "",
        _("| rows | landed | untyped | quarantined | flagged | warnings | samples landed | genotypes added "
          "| records skipped |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {summary.n_rows} | {summary.n_landed} | {summary.n_untyped} | {summary.n_quarantined} | "
        f"{summary.n_flagged} | {summary.n_warnings} | {summary.n_samples_landed} | "
        f"{summary.n_genotypes_added} | {summary.n_records_skipped} |",
    ]
    if summary.n_samples_landed == 0:
        head += ["", _("**Nothing landed**: no sample of this batch reached the store; the quarantine table holds "
                       "each row's reason and fix. Fix the records and send the batch again.")]
    if getattr(summary, "n_low_quality", 0):
        head += ["", _("%(n)s call(s) below the caller's quality thresholds were left untyped "
                       "(warnings of kind `low_quality`).") % {"n": summary.n_low_quality}]

    def table(title: str, items) -> list[str]:
        groups: dict[tuple[str, str], list[int | None]] = defaultdict(list)
        for item in items:
            groups[(item.sample_id, item.kind)].append(item.line)
        if not groups:
            return []
        out = ["", f"#### {title}", "", _("| sample | rule | rows | first line |"), "|---|---|---:|---:|"]
        for (sample, kind), lines in sorted(groups.items()):
            first = min((x for x in lines if x is not None), default="")
            out.append(f"| {sample or '(none)'} | {kind} | {len(lines)} | {first} |")
        return out

    body = (
        table(_("Quarantined export rows"), summary.quarantine)
        + table(_("Invalid manifest rows"), summary.manifest_errors)
        + table(_("Warnings"), summary.warnings)
    )
    return "\n".join(head + body) + "\n"


def ingestion_summary_text(summary, *, store: str | None = None) -> str:
    """The few lines ``scripts/flow ingest`` prints: counts, the batch id, where the quarantine is.

    Nothing else: no genotype, no sample id, no quarantine reason (those live in the store's
    ``quarantine`` and ``warnings`` tables, and the per-sample table in the Prefect artifact
    ``ingestion-summary``).

    Parameters
    ----------
    summary : kinship.app.ingest.IngestSummary or mapping
        What one ingestion did, or the ingest flow's return value (its fields as a dict).
    store : str, optional
        The store, as :meth:`kinship.store.Store.describe` writes it (no password).

    Returns
    -------
    str
        Three lines, ending with a newline (one more when calls were left untyped for call
        quality, ``n_low_quality``, one when records were placed on no forensic locus,
        ``n_records_skipped``, and a last ``NOTHING LANDED`` line when no sample landed).

    Examples
    --------
    >>> s = {"export_name": "run7.txt", "manifest_name": "run7.csv", "file_sha256": "ab" * 32,
    ...      "file_id": 3, "n_rows": 40, "n_landed": 36, "n_untyped": 1, "n_quarantined": 3,
    ...      "n_samples_landed": 2, "n_genotypes_added": 36, "n_flagged": 0, "n_warnings": 1,
    ...      "n_records_skipped": 0, "already_ingested": False}
    >>> print(ingestion_summary_text(s, store="var/reunite.sqlite"), end="")
    ingested run7.txt (manifest run7.csv): 40 rows = 36 landed + 1 untyped + 3 quarantined; 2 samples landed, 36 genotypes added, 0 flagged, 1 warnings
    batch abababababababab (file_id 3)
    quarantine: 3 rows, with their reasons, in the quarantine table of store var/reunite.sqlite (file_id 3)
    """
    get = summary.get if hasattr(summary, "get") else (lambda key: getattr(summary, key))
    where = f" of store {store}" if store else ""
    return (
        f"ingested {get('export_name')} (manifest {get('manifest_name')}): {get('n_rows')} rows = "
        f"{get('n_landed')} landed + {get('n_untyped')} untyped + {get('n_quarantined')} quarantined; "
        f"{get('n_samples_landed')} samples landed, {get('n_genotypes_added')} genotypes added, "
        f"{get('n_flagged')} flagged, {get('n_warnings')} warnings\n"
        f"batch {get('file_sha256')[:16]} (file_id {get('file_id')})"
        + (", already ingested: nothing added" if get("already_ingested") else "") + "\n"
        f"quarantine: {get('n_quarantined')} rows, with their reasons, in the quarantine table{where} "
        f"(file_id {get('file_id')})\n"
        + (f"call quality: {get('n_low_quality')} calls below the caller's thresholds left untyped "
           f"(warnings of kind low_quality, file_id {get('file_id')})\n" if get("n_low_quality") else "")
        + (f"skipped: {get('n_records_skipped')} records on no forensic locus (not rows; listed in the warnings, "
           f"file_id {get('file_id')}; a VCF on the wrong --build places none)\n" if get("n_records_skipped") else "")
        + ("NOTHING LANDED: no sample of this batch reached the store; fix the quarantined records and send "
           "the batch again\n" if not get("n_samples_landed") else "")
    )


def family_power_markdown(results) -> str:
    """Markdown section "Power and the next relative" for families' power results.

    Parameters
    ----------
    results : sequence of dict
        :meth:`kinship.app.power.FamilyPower.as_dict` records (only the families asked about:
        power is computed on demand, not for every family of a run).

    Returns
    -------
    str
        Per family: P(support | true child), the CPI support needs, the unrelated candidates
        expected at CPI >= 10,000 at the store's size, the true child's log10 LR quantiles,
        then each relative that could be typed next with its P(support) and gain, largest
        gain first. Every probability is the pair of exact grid bounds. Ids are
        markdown-escaped.

    Examples
    --------
    >>> cur = {"support_log10": 4.0, "gated": False, "expected_false_hits": [0.1, 0.1], "n_candidates": 1000,
    ...        "quantiles_h1": {"0.5": [6.0, 6.0]}, "expected_lr_h2": 1.0}
    >>> text = family_power_markdown([{"family_key": "L/F_1", "family_kind": "mother only", "current": cur,
    ...     "p_support": [0.5, 0.5], "next_relatives": [], "not_considered": {}}])
    >>> "L/F" + chr(92) + "_1" in text   # the id's markdown underscore escaped
    True
    """
    lines = ["## Power and the next relative", ""]
    for r in power_rows(results):
        lines += [
            f"### Family {_md(r['family'])} ({_md(r['family_kind'])})", "",
            f"- P(support | true child): {_md(r['p_support'])} (support needs CPI >= {_md(r['support_cpi'])}"
            + (", the calibration gate at the store's size)" if r["gated"] else ")"),
            f"- unrelated candidates expected at CPI >= 10,000 among {_md(r['n_candidates'])}: "
            f"{_md(r['expected_false_hits'])}",
            f"- true child's log10 LR quantiles: {_md(r['quantiles'])}; E[LR | unrelated] = {_md(r['expected_lr_h2'])}",
            "",
        ]
        if r["relatives"]:
            lines += ["| type next | family becomes | P(support \\| true child) | gain | support needs CPI | "
                      "unrelated expected at CPI >= 10,000 |", "|---|---|---|---|---|---|"]
            lines += [f"| {_md(x['relationship'])} | {_md(x['family_kind'])} | {_md(x['p_support'])} | {_md(x['gain'])} | "
                      f"{_md(x['support_cpi'])} | {_md(x['expected_false_hits'])} |" for x in r["relatives"]]
            lines.append("")
        for k, why in r["not_considered"].items():
            lines.append(f"- not considered: {_md(k)} ({_md(why)})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
