"""Score a match run against known truth (the demo batch, validation studies).

The pipeline never reads truth; this module is for the demo's summary and the acceptance
test. A *true pair* is a candidate and the family whose missing child it is; every other
(candidate, family) pair is *unrelated*.

:func:`what_each_adds` (issue 11) counts, per family kind, what the Y-STR lineage evidence and
the linked-loci model add to the autosomal evidence, on the matches table alone (the columns of
``schemas/matches.v3.json``; ``log10_lr_unlinked`` where the run wrote it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kinship.matching.ranking import SUPPORT_LOG10_CPI

__all__ = ["score_against_truth", "what_each_adds", "format_summary", "format_what_each_adds", "undecided_leads",
           "next_relative_rows", "format_next_relatives", "DEMO_NEXT_RELATIVES", "SUMMARY_COLUMNS", "SUMMARY_KEY", "ADDS_KEY"]

KINDS = ("couple", "father only", "mother only", "siblings", "parent + relatives")


def score_against_truth(matches: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Count how true and unrelated pairs fared, by family kind.

    Parameters
    ----------
    matches : DataFrame
        All pairs of a run (schema ``matches.v3``).
    truth : DataFrame
        Columns ``candidate_id, truth, lab, family_id``; ``truth`` is ``child_of_family`` for a
        true child (with its family) and ``unrelated`` otherwise.

    Returns
    -------
    dict
        Per family kind: ``true_pairs``, ``ranked_first`` (the true family is the child's
        rank-1 family), ``cpi_supports`` (CPI >= 10,000), ``ranked_first_and_supported``,
        ``excluded`` (wrong exclusions), ``unrelated_pairs``, ``unrelated_supported`` (false
        hits: unrelated pairs with CPI >= 10,000),
        ``max_unrelated_log10_lr``; plus ``n_candidates``, ``n_families`` and ``adds``
        (:func:`what_each_adds`).
    """
    is_true = _true_pairs(matches, truth)
    supported = matches["log10_lr"].to_numpy() >= SUPPORT_LOG10_CPI
    first = matches["rank_for_candidate"].to_numpy() == 1
    excluded = matches["conclusion"].to_numpy() == "excluded"
    kind = matches["family_kind"].to_numpy()
    out: dict = {
        "n_candidates": int(matches["candidate_id"].nunique()),
        "n_families": int(matches[["lab", "family_id"]].drop_duplicates().shape[0]),
    }
    for k in KINDS:
        sel = kind == k
        t = sel & is_true
        u = sel & ~is_true
        log10_u = matches["log10_lr"].to_numpy()[u]
        out[k] = {
            "true_pairs": int(t.sum()),
            "ranked_first": int((t & first).sum()),
            "cpi_supports": int((t & supported).sum()),
            "ranked_first_and_supported": int((t & first & supported).sum()),
            "excluded": int((t & excluded).sum()),
            "unrelated_pairs": int(u.sum()),
            "unrelated_supported": int((u & supported).sum()),
            "max_unrelated_log10_lr": float(log10_u.max()) if log10_u.size else float("nan"),
        }
    out["adds"] = what_each_adds(matches, truth)
    return out


def _true_pairs(matches: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Boolean (n_pairs,): the pair is a candidate and the family whose child it is."""
    children = truth[truth["truth"] == "child_of_family"][["candidate_id", "lab", "family_id"]]
    key = matches[["candidate_id", "lab", "family_id"]].merge(
        children.assign(is_true=True), how="left", on=["candidate_id", "lab", "family_id"]
    )
    return key["is_true"].eq(True).to_numpy()


def _float(matches: pd.DataFrame, column: str) -> np.ndarray:
    """A nullable float column as float64 with NaN for null."""
    return pd.to_numeric(matches[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def what_each_adds(matches: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Per family kind: what Y-STRs and linkage add to the autosomal evidence, for true children
    and for unrelated pairs.

    Three evidence sets are compared on each reported pair, each at the support threshold
    CPI >= 10,000 (``log10 >= SUPPORT_LOG10_CPI``):

    * *autosomal*: ``log10_lr`` (the kernel's autosomal LR, with linked loci as one joint
      super-locus where the run applies linkage);
    * *with Y*: ``log10_lr_total`` (``log10_lr + log10_lr_y``, the Y-STR factor where a Y
      comparison applies);
    * *unlinked*: ``log10_lr_unlinked`` (the autosomal LR with every locus independent), only
      when the run wrote that column; else the linkage part is ``None`` ("not applied").

    A true child is *decided* by the run when its pair's ``conclusion`` is ``"support"`` (the
    GB/T 37223-2018 rule on ``log10_lr_total`` with the run's calibration gate for single
    parents and families without a parent); a *false hit* is an unrelated pair at or above the
    threshold (per evidence set) or concluded ``"support"`` (the run). The run's conclusion
    exists for its own evidence only (autosomal + Y), so the autosomal-only and unlinked
    columns count the threshold, not the gated conclusion. Counts are over the reported pairs
    (each candidate's and each family's best k, and every pair with ``log10_lr`` at or above
    the reporting threshold); the Y-STR factor is computed on those pairs, so a pair that only
    the Y evidence would lift over the threshold is counted when it is reported.

    Parameters
    ----------
    matches : DataFrame
        Reported pairs of a run (``matches.v3``: ``candidate_id, lab, family_id,
        family_kind, log10_lr, log10_lr_y, log10_lr_total, conclusion, posterior``;
        optional ``log10_lr_unlinked``).
    truth : DataFrame
        ``candidate_id, truth, lab, family_id`` (:func:`score_against_truth`).

    Returns
    -------
    dict
        ``linkage_applied`` (bool: the column exists), ``true_not_reported`` (true children of
        the truth whose pair with their family the run did not report: undecided, in no kind's
        counts) and, per kind of :data:`KINDS`:
        ``true_children``; ``true_with_y`` (true pairs with a Y comparison) and
        ``y_log10_median`` (their median ``log10_lr_y``, NaN without one);
        ``supported_autosomal``, ``supported_with_y``, ``supported_unlinked`` (true pairs at
        CPI >= 10,000 on each evidence set; ``None`` without the linkage column);
        ``decided`` (the run's conclusion support); ``false_hits_autosomal``,
        ``false_hits_with_y``, ``false_hits_unlinked``, ``false_hits_decided``;
        ``posterior_median``, ``posterior_min`` (true children's database-aware posterior,
        NaN without true children) and ``posterior_at_least_0_99``.

    Examples
    --------
    >>> m = pd.DataFrame({"candidate_id": ["C1", "C2"], "lab": "L", "family_id": "F1",
    ...     "family_kind": "father only", "log10_lr": [3.5, 4.2], "log10_lr_y": [2.0, None],
    ...     "log10_lr_total": [5.5, 4.2], "conclusion": ["support", "inconclusive"],
    ...     "posterior": [0.999, 0.4]})
    >>> t = pd.DataFrame({"candidate_id": ["C1", "C2"], "truth": ["child_of_family", "unrelated"],
    ...     "lab": "L", "family_id": ["F1", ""]})
    >>> a = what_each_adds(m, t)
    >>> f = a["father only"]
    >>> (f["supported_autosomal"], f["supported_with_y"], f["decided"], f["false_hits_autosomal"])
    (0, 1, 1, 1)
    >>> a["linkage_applied"], f["supported_unlinked"]
    (False, None)
    """
    is_true = _true_pairs(matches, truth)
    auto = _float(matches, "log10_lr")
    total = _float(matches, "log10_lr_total")
    y = _float(matches, "log10_lr_y")
    has_y = ~np.isnan(y)
    linked = "log10_lr_unlinked" in matches.columns
    unlinked = _float(matches, "log10_lr_unlinked") if linked else None
    decided = matches["conclusion"].to_numpy() == "support"
    post = _float(matches, "posterior")
    kind = matches["family_kind"].to_numpy()
    n_children = int((truth["truth"] == "child_of_family").sum())
    out: dict = {"linkage_applied": linked, "true_not_reported": n_children - int(is_true.sum())}
    for k in KINDS:
        t = (kind == k) & is_true
        u = (kind == k) & ~is_true
        p = post[t]
        out[k] = {
            "true_children": int(t.sum()),
            "true_with_y": int((t & has_y).sum()),
            "y_log10_median": float(np.median(y[t & has_y])) if (t & has_y).any() else float("nan"),
            "supported_autosomal": int((t & (auto >= SUPPORT_LOG10_CPI)).sum()),
            "supported_with_y": int((t & (total >= SUPPORT_LOG10_CPI)).sum()),
            "supported_unlinked": int((t & (unlinked >= SUPPORT_LOG10_CPI)).sum()) if linked else None,
            "decided": int((t & decided).sum()),
            "false_hits_autosomal": int((u & (auto >= SUPPORT_LOG10_CPI)).sum()),
            "false_hits_with_y": int((u & (total >= SUPPORT_LOG10_CPI)).sum()),
            "false_hits_unlinked": int((u & (unlinked >= SUPPORT_LOG10_CPI)).sum()) if linked else None,
            "false_hits_decided": int((u & decided).sum()),
            "posterior_median": float(np.median(p)) if p.size else float("nan"),
            "posterior_min": float(p.min()) if p.size else float("nan"),
            "posterior_at_least_0_99": int((p >= 0.99).sum()),
        }
    return out


#: The one-line key printed under the "what each evidence adds" table.
ADDS_KEY = (
    "key: a/b = a true children at LR >= 10,000, b false hits (unrelated pairs at LR >= 10,000); autosomal only = "
    "the autosomal LR (linked loci scored jointly); with Y-STR = times the Y-STR LR of a male child against the "
    "family's paternal line; loci independent = every locus scored independently; run decided = the run's own "
    "conclusion 'support' (combined LR and calibration); compared on Y = true children with a Y-STR comparison "
    "(median Y log10 LR: theirs); posterior = the probability, after the size of the database, that the pair is "
    "the true one"
)


def format_what_each_adds(adds: dict) -> str:
    """Plain-text table of :func:`what_each_adds`: per kind, true children at CPI >= 10,000 /
    false hits, on each evidence set, and the run's decisions.

    Examples
    --------
    >>> m = pd.DataFrame({"candidate_id": ["C1"], "lab": "L", "family_id": "F1", "family_kind": "couple",
    ...     "log10_lr": [9.0], "log10_lr_y": [None], "log10_lr_total": [9.0], "conclusion": ["support"],
    ...     "posterior": [0.9999]})
    >>> t = pd.DataFrame({"candidate_id": ["C1"], "truth": ["child_of_family"], "lab": "L", "family_id": ["F1"]})
    >>> text = format_what_each_adds(what_each_adds(m, t))
    >>> text.splitlines()[2].split()
    ['couple', '1', '0', '-', '1/0', '1/0', '-/-', '1/0', '0.9999', '0.9999', '1']
    >>> text.splitlines()[-1]
    'linkage: not applied in this run (no log10_lr_unlinked column)'
    """
    linked = adds["linkage_applied"]

    def pair(a, b) -> str:
        return ("-" if a is None else str(a)) + "/" + ("-" if b is None else str(b))

    def num(v, digits=4) -> str:
        return "-" if np.isnan(v) else f"{v:.{digits}f}"

    lines = [
        "what each evidence adds, by family kind (true children at LR >= 10,000 / false hits):",
        f"{'family kind':<18}  {'true children':>13}  {'compared on Y':>13}  {'median Y log10 LR':>17}  "
        f"{'autosomal only':>14}  {'with Y-STR':>10}  {'loci independent':>16}  {'run decided':>11}  "
        f"{'median posterior':>16}  {'lowest posterior':>16}  {'posterior >= 0.99':>17}",
    ]
    for k in KINDS:
        a = adds[k]
        lines.append(
            f"{k:<18}  {a['true_children']:>13}  {a['true_with_y']:>13}  {num(a['y_log10_median'], 2):>17}  "
            f"{pair(a['supported_autosomal'], a['false_hits_autosomal']):>14}  "
            f"{pair(a['supported_with_y'], a['false_hits_with_y']):>10}  "
            f"{pair(a['supported_unlinked'], a['false_hits_unlinked']):>16}  "
            f"{pair(a['decided'], a['false_hits_decided']):>11}  {num(a['posterior_median']):>16}  "
            f"{num(a['posterior_min']):>16}  {a['posterior_at_least_0_99']:>17}"
        )
    lines.append(ADDS_KEY)
    lines.append(f"true children whose pair was not reported (undecided): {adds['true_not_reported']}")
    if linked:
        lines.append("linkage: applied (autosomal only = linked loci as one joint super-locus; loci independent = every "
                     "locus independent)")
    else:
        lines.append("linkage: not applied in this run (no log10_lr_unlinked column)")
    return "\n".join(lines)


#: The closing table's columns: (header, score key, width); plain words a case manager reads,
#: each explained by :data:`SUMMARY_KEY` under the table.
SUMMARY_COLUMNS = (
    ("true children", "true_pairs", 13),
    ("own family 1st", "ranked_first", 14),
    ("LR >= 10,000", "cpi_supports", 12),
    ("1st and >= 10,000", "ranked_first_and_supported", 17),
    ("wrongly excluded", "excluded", 16),
    ("unrelated shown", "unrelated_pairs", 15),
    ("false hits", "unrelated_supported", 10),
    ("best unrelated log10 LR", "max_unrelated_log10_lr", 23),
)

#: The one-line key printed under the closing table.
SUMMARY_KEY = (
    "key: true children = rescued children whose family is on file; own family 1st = their own family is "
    "their best-ranked family; LR >= 10,000 = the combined likelihood ratio (CPI) of the child and its own "
    "family reaches 10,000 (support); wrongly excluded = true pairs the run called an exclusion (should be 0); "
    "unrelated shown = pairs of unrelated child and family listed in the report (each one's best 10, and every "
    "pair at LR >= 10,000); false hits = unrelated pairs at LR >= 10,000 (each needs confirming); best "
    "unrelated = the highest log10 LR any unrelated pair reached"
)


def format_summary(score: dict, *, report: str | None = None) -> str:
    """The demo's closing summary for the terminal: ``open this report: <report>`` first (when
    given), the counts, the table of :func:`score_against_truth` by family kind with the one-line
    :data:`SUMMARY_KEY` under it, then (when the score has it) :func:`format_what_each_adds`.

    Examples
    --------
    >>> row = {"true_pairs": 2, "ranked_first": 2, "cpi_supports": 1, "ranked_first_and_supported": 1,
    ...        "excluded": 0, "unrelated_pairs": 7, "unrelated_supported": 0, "max_unrelated_log10_lr": -3.25}
    >>> score = {"n_candidates": 9, "n_families": 2, **{k: row for k in KINDS}}
    >>> lines = format_summary(score, report="out/run-1/report.html").splitlines()
    >>> lines[0]
    'open this report: out/run-1/report.html'
    >>> lines[1]
    '9 rescued children (candidates) compared with 2 families'
    >>> lines[3].split()
    ['couple', '2', '2', '1', '1', '0', '7', '0', '-3.25']
    >>> lines[-1].startswith("key: true children = ")
    True
    """
    header = f"{'family kind':<18}" + "".join(f"  {name:>{width}}" for name, _, width in SUMMARY_COLUMNS)
    lines = ([f"open this report: {report}"] if report else []) + [
        f"{score['n_candidates']} rescued children (candidates) compared with {score['n_families']} families",
        header,
    ]
    for k in KINDS:
        s = score[k]
        cells = [f"{s[key]:>{width}.2f}" if isinstance(s[key], float) else f"{s[key]:>{width}}"
                 for _, key, width in SUMMARY_COLUMNS]
        lines.append(f"{k:<18}  " + "  ".join(cells))
    lines.append(SUMMARY_KEY)
    if "adds" in score:
        lines += ["", format_what_each_adds(score["adds"])]
    return "\n".join(lines)


#: Relatives the demo's summary considers typing next (the parents and a full sibling: a
#: grandparent adds less than the parent it descends through; ``reunite power`` lists all).
DEMO_NEXT_RELATIVES = ("father", "mother", "full_sibling")


def undecided_leads(matches: pd.DataFrame) -> list[str]:
    """Families whose best candidate is a lead the run could not decide: rank 1 for the family,
    conclusion ``inconclusive`` (neither support nor exclusion), as ``LAB/FAMILY``, sorted.

    Examples
    --------
    >>> m = pd.DataFrame({"lab": ["L", "L", "L"], "family_id": ["F1", "F2", "F3"], "rank_for_family": [1, 1, 2],
    ...                   "conclusion": ["inconclusive", "support", "inconclusive"]})
    >>> undecided_leads(m)
    ['L/F1']
    """
    best = matches[matches["rank_for_family"].eq(1).fillna(False).astype(bool)]
    lead = best[best["conclusion"] == "inconclusive"]
    return sorted(f"{a}/{b}" for a, b in zip(lead["lab"], lead["family_id"]))


def next_relative_rows(results) -> list[dict]:
    """One row per family power result (:class:`kinship.app.power.FamilyPower`): its current
    P(support | true child) and the relative ranked first, with its P(support | true child) and
    gain (midpoints of the exact bounds); ``next`` also names, after ``≈``, every other relative
    whose gain bounds overlap the first one's (the bounds do not tell them apart)."""
    rows = []
    for fp in results:
        best = fp.next_relatives[0] if fp.next_relatives else None
        # relatives whose gain bounds overlap the best one's are as good as far as the bounds tell
        tied = [r.relationship for r in fp.next_relatives[1:] if best and r.gain[1] >= best.gain[0]]
        rows.append({
            "family": fp.family_key, "kind": fp.family_kind, "p_support": sum(fp.p_support) / 2.0,
            "next": " ≈ ".join([best.relationship, *tied]) if best else None,
            "p_support_next": sum(best.p_support) / 2.0 if best else None,
            "gain": sum(best.gain) / 2.0 if best else None,
        })
    return rows


def format_next_relatives(rows: list[dict]) -> str:
    """The demo's "which relative to type next" table (:func:`next_relative_rows`)."""
    if not rows:
        return "next relative: every family's best candidate is decided (no inconclusive lead)"
    lines = ["next relative to type for the undecided leads (exact power; for every relative: "
             "reunite power LAB/FAMILY --store <the store>):",
             f"{'family':<16} {'kind':<18} {'P(support|child) now':>21}  {'type next':<24} {'then':>6} {'gain':>6}"]
    for r in rows:
        nxt = r["next"] or "-"
        then = f"{r['p_support_next']:.3f}" if r["next"] else "-"
        gain = f"{r['gain']:+.3f}" if r["next"] else "-"
        lines.append(f"{r['family']:<16} {r['kind']:<18} {r['p_support']:>21.3f}  {nxt:<24} {then:>6} {gain:>6}")
    return "\n".join(lines)
