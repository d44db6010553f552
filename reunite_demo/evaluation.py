"""Score a match run against known truth (the demo batch, validation studies).

The pipeline never reads truth; this module is for the demo's summary and the acceptance
test. A *true pair* is a candidate and the family whose missing child it is; every other
(candidate, family) pair is *unrelated*.
"""

from __future__ import annotations

import pandas as pd

from kinship.matching.ranking import SUPPORT_LOG10_CPI

__all__ = ["score_against_truth", "format_summary"]

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
        hits: unrelated pairs with CPI >= 10,000), ``max_unrelated_log10_lr``; plus
        ``n_candidates`` and ``n_families``.
    """
    children = truth[truth["truth"] == "child_of_family"][["candidate_id", "lab", "family_id"]]
    key = matches[["candidate_id", "lab", "family_id"]].merge(
        children.assign(is_true=True), how="left", on=["candidate_id", "lab", "family_id"]
    )
    is_true = key["is_true"].eq(True).to_numpy()
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
    return out


def format_summary(score: dict) -> str:
    """Plain-text table of :func:`score_against_truth` for the terminal."""
    lines = [
        f"{score['n_candidates']} candidates x {score['n_families']} families",
        f"{'family kind':<18} {'true pairs':>10} {'ranked 1st':>10} {'CPI>=1e4':>9} "
        f"{'both':>5} {'excluded':>8} {'unrel.kept':>10} {'false hits':>10} {'max unrel. log10':>16}",
    ]
    for k in KINDS:
        s = score[k]
        lines.append(
            f"{k:<18} {s['true_pairs']:>10} {s['ranked_first']:>10} {s['cpi_supports']:>9} "
            f"{s['ranked_first_and_supported']:>5} {s['excluded']:>8} {s['unrelated_pairs']:>10} "
            f"{s['unrelated_supported']:>10} {s['max_unrelated_log10_lr']:>16.2f}"
        )
    return "\n".join(lines)
