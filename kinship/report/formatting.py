"""Number formatting shared by the HTML report and the markdown summaries.

LRs are formatted from their log10 so that values beyond float64 range print correctly.
"""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from kinship.genetics.relationships import PARENT_KINDS
from kinship.matching.ranking import EXCLUSION_LOG10_CPI, EXCLUSION_N_INCONSISTENT, SUPPORT_LOG10_CPI

__all__ = ["format_power_of_ten", "format_cpi", "format_pi", "format_posterior", "format_probability", "reported_pairs",
           "detail_pairs", "DETAIL_CARDS"]

# --------------------------------------------------------------------------------------------
# Number formatting


def format_power_of_ten(log10_value: float, digits: int = 2, *, html: bool = False) -> str:
    """``10**log10_value`` in scientific notation, ``m × 10^e``, with ``digits`` significant digits.

    Works from the log10 so that values beyond float64 range print correctly.

    Parameters
    ----------
    log10_value : float
        ``-inf`` prints ``0``; NaN prints ``not computed``.
    digits : int
        Significant digits of the mantissa.
    html : bool
        Write the exponent as ``<sup>``; the result is then :class:`markupsafe.Markup`.

    Examples
    --------
    >>> format_power_of_ten(7.5051499783)
    '3.2 × 10^7'
    >>> format_power_of_ten(-4.5, 4)
    '3.162 × 10^-5'
    >>> format_power_of_ten(3.99999)
    '1.0 × 10^4'
    >>> format_power_of_ten(512.0, html=True)
    Markup('1.0 × 10<sup>512</sup>')
    """
    if math.isnan(log10_value):
        return "not computed"
    if log10_value == -math.inf:
        return "0"
    if log10_value == math.inf:
        return "infinite"
    exponent = math.floor(log10_value)
    mantissa = round(10.0 ** (log10_value - exponent), digits - 1)
    if mantissa >= 10.0:
        mantissa, exponent = mantissa / 10.0, exponent + 1
    m = f"{mantissa:.{digits - 1}f}"
    if html:
        return Markup(f"{m} × 10<sup>{exponent}</sup>")
    return f"{m} × 10^{exponent}"


def format_cpi(log10_lr: float, *, html: bool = False) -> str:
    """Combined LR (CPI) for a reader: ``3.2 × 10^7``, or ``0 (exclusion)`` for LR 0.

    Examples
    --------
    >>> format_cpi(7.5051499783), format_cpi(-float("inf"))
    ('3.2 × 10^7', '0 (exclusion)')
    """
    if log10_lr == -math.inf:
        return "0 (exclusion)"
    return format_power_of_ten(log10_lr, 2, html=html)


def format_pi(log10_pi: float, *, html: bool = False) -> str:
    """Per-locus PI, ``10**log10_pi``, to 4 significant digits.

    Plain decimals between 0.001 and 10,000, scientific notation outside; ``0 (exclusion)``
    for PI 0.

    Examples
    --------
    >>> format_pi(0.0), format_pi(0.117916), format_pi(-2.5), format_pi(-4.5)
    ('1.000', '1.312', '0.003162', '3.162 × 10^-5')
    >>> format_pi(-float("inf"))
    '0 (exclusion)'
    """
    if log10_pi == -math.inf:
        return "0 (exclusion)"
    if math.isnan(log10_pi) or not -4.0 < log10_pi < 5.0:
        return format_power_of_ten(log10_pi, 4, html=html)
    rounded = float(f"{10.0 ** log10_pi:.3e}")
    exponent = math.floor(math.log10(rounded))
    if not -3 <= exponent <= 3:
        return format_power_of_ten(log10_pi, 4, html=html)
    return f"{rounded:.{3 - exponent}f}"


def format_posterior(posterior: float) -> str:
    """Posterior probability of H1 as a percentage, with the ends capped.

    Examples
    --------
    >>> format_posterior(0.5), format_posterior(0.99999), format_posterior(1e-30), format_posterior(0.0)
    ('50.00%', '> 99.99%', '< 0.01%', '0%')
    """
    if math.isnan(posterior):
        return "not computed"
    if posterior == 0.0:
        return "0%"
    if posterior > 0.9999:
        return "> 99.99%"
    if posterior < 0.0001:
        return "< 0.01%"
    return f"{100.0 * posterior:.2f}%"


def _format_log10(x: float) -> str:
    if x == -math.inf:
        return "−∞"
    return f"{x:.2f}"


def _format_threshold(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 else f"{x:g}"


def _rules(provenance: dict) -> dict:
    t = provenance.get("parameters", {}).get("thresholds", {})
    return {
        "support_cpi": _format_threshold(t.get("support_cpi", 10.0**SUPPORT_LOG10_CPI)),
        "exclusion_cpi": _format_threshold(t.get("exclusion_cpi", 10.0**EXCLUSION_LOG10_CPI)),
        "exclusion_n_inconsistent": t.get("exclusion_n_inconsistent", EXCLUSION_N_INCONSISTENT),
        "source": t.get("rules", "GB/T 37223-2018 / SF/Z JD0105001-2016"),
    }


#: Reported pairs that get a detail card in the report and per-locus rows in ``pair_loci``.
DETAIL_CARDS = 200


def reported_pairs(matches: pd.DataFrame) -> pd.DataFrame:
    """The pairs a report lists for detail: each candidate's best family, each family's best
    candidate, and every pair that supports parentage or is flagged; by descending log10 LR,
    then candidate, lab, family (the order of the report's detail cards)."""
    keep = (
        matches["rank_for_candidate"].eq(1).fillna(False).astype(bool)
        | matches["rank_for_family"].eq(1).fillna(False).astype(bool)
        | (matches["conclusion"] == "support")
        | matches["flagged"].astype(bool)
    )
    return matches[keep].sort_values(["log10_lr", "candidate_id", "lab", "family_id"], ascending=[False, True, True, True], kind="stable")


def detail_pairs(matches: pd.DataFrame, max_pairs: int = DETAIL_CARDS) -> pd.DataFrame:
    """The report's detail cards: the first ``max_pairs`` of :func:`reported_pairs` (the pairs of
    ``pair_loci.v2``).

    Examples
    --------
    >>> m = pd.DataFrame({"candidate_id": ["C1", "C2", "C3"], "lab": "L", "family_id": ["F1", "F1", "F2"],
    ...                   "log10_lr": [2.0, 5.0, -1.0], "rank_for_candidate": [1, 1, 1],
    ...                   "rank_for_family": [2, 1, 1], "conclusion": "inconclusive", "flagged": False})
    >>> detail_pairs(m, 2)["candidate_id"].tolist()
    ['C2', 'C1']
    """
    return reported_pairs(matches).head(max_pairs)


def _sorted_by_lr(df: pd.DataFrame, *extra: str) -> pd.DataFrame:
    return df.sort_values(
        ["log10_lr", *extra, "candidate_id", "lab", "family_id"],
        ascending=[False, *([True] * len(extra)), True, True, True],
        kind="stable",
    )


def format_probability(p: float) -> str:
    """Probability (or expected count) in 3 significant digits; "—" when not computed."""
    if p is None or pd.isna(p):
        return "—"
    if p == 0:
        return "0"
    return f"{p:.3g}"


def _summary(matches: pd.DataFrame, provenance: dict) -> dict:
    inputs = provenance.get("inputs", {})
    families = matches.drop_duplicates(["lab", "family_id"])
    kinds = inputs.get("family_kinds") or {k: int((families["family_kind"] == k).sum()) for k in PARENT_KINDS}
    counts = matches["conclusion"].value_counts()
    support = matches[matches["conclusion"] == "support"]
    return {
        "n_families": int(inputs.get("n_families", len(families))),
        "family_kinds": {k: int(kinds.get(k, 0)) for k in (*PARENT_KINDS, *sorted(set(kinds) - set(PARENT_KINDS)))},
        "n_references": inputs.get("n_references"),
        "n_candidates": int(inputs.get("n_candidates", matches["candidate_id"].nunique())),
        "n_pairs": int(provenance.get("comparison", {}).get("n_pairs", len(matches))),
        "n_reported": len(matches),
        "n_support": int(counts.get("support", 0)),
        "n_inconclusive": int(counts.get("inconclusive", 0)),
        "n_excluded": int(counts.get("excluded", 0)),
        "n_flagged": int(matches["flagged"].sum()),
        "n_candidates_supported": int(support["candidate_id"].nunique()),
        "n_families_supported": len(support.drop_duplicates(["lab", "family_id"])),
    }


def _frequency_notes(provenance: dict) -> dict:
    """Sentences on the frequency table of a run, for the report's summary and its frequency
    section: loci left out because the table lacks them, loci renormalised (sum rule), silent
    alleles used or not. Each entry is plain text (escaped by the template), '' when there is
    nothing to say (``renormalised``, ``left_out``, ``other_left_out``).

    Examples
    --------
    >>> n = _frequency_notes({"frequency_table": {"renormalised": [{"locus": "TH01", "sum": 0.995}],
    ...     "silent_alleles": [{"locus": "D8S1179", "frequency": 0.004}]}, "parameters": {"silent_alleles": True},
    ...     "inputs": {"loci_left_out": {"FGA": "not in frequency table 't' (3 samples typed)"}}})
    >>> n["left_out"]
    'Left out because the frequency table lacks them (1): FGA.'
    >>> n["renormalised"]
    'Renormalised (1 locus whose frequencies did not sum to 1): TH01 (sum 0.995); each divided by its sum.'
    >>> n["silent"]
    'Silent alleles used at 1 locus: D8S1179 (0.004).'
    """
    table = provenance.get("frequency_table", {})
    left_out = provenance.get("inputs", {}).get("loci_left_out", {})
    lacking = [locus for locus, why in left_out.items() if str(why).startswith("not in frequency table")]
    others = {locus: why for locus, why in left_out.items() if locus not in lacking}
    renormalised = table.get("renormalised", [])
    silent = table.get("silent_alleles", [])

    def loci(n: int) -> str:
        return f"{n} locus" if n == 1 else f"{n} loci"

    if silent:
        silent_text = f"Silent alleles used at {loci(len(silent))}: " + ", ".join(
            f"{s['locus']} ({s['frequency']:.3g})" for s in silent) + "."
    elif provenance.get("parameters", {}).get("silent_alleles"):
        silent_text = "Silent alleles requested, but the table gives none at the loci used."
    else:
        silent_text = "Silent alleles not used (an apparent homozygote a/a is read as a/a)."
    return {
        "left_out": (f"Left out because the frequency table lacks them ({len(lacking)}): {', '.join(lacking)}."
                     if lacking else ""),
        "other_left_out": ("Also left out: " + "; ".join(f"{l} ({why})" for l, why in others.items()) + "."
                           if others else ""),
        "renormalised": (
            f"Renormalised ({loci(len(renormalised))} whose frequencies did not sum to 1): "
            + ", ".join(f"{r['locus']} (sum {r['sum']:.6g})" for r in renormalised) + "; each divided by its sum."
            if renormalised else ""),
        "silent": silent_text,
    }



def _bounds_text(pair) -> str:
    """A ``[lower, upper]`` pair as ``"0.308 to 0.321"`` (one number when they agree to 3 digits)."""
    if pair is None:
        return "—"
    lo, hi = (format_probability(float(x)) for x in pair)
    return lo if lo == hi else f"{lo} to {hi}"


def _log10_bounds_text(pair) -> str:
    lo, hi = (float(x) for x in pair)
    text = [("below the range" if not math.isfinite(v) else f"{v:.2f}") for v in (lo, hi)]
    return text[0] if text[0] == text[1] else f"{text[0]} to {text[1]}"


def power_rows(results) -> list[dict]:
    """Display rows of families' power (:meth:`kinship.app.power.FamilyPower.as_dict` records,
    plain data: this layer does not import the application): text only, escaped by the caller.

    Examples
    --------
    >>> cur = {"support_log10": 4.0, "gated": False, "expected_false_hits": [0.1, 0.12], "n_candidates": 1000,
    ...        "quantiles_h1": {"0.05": [3.1, 3.2], "0.5": [6.0, 6.0]}, "expected_lr_h2": 1.0}
    >>> r = power_rows([{"family_key": "L/F1", "family_kind": "mother only", "current": cur,
    ...                  "p_support": [0.5, 0.52], "next_relatives": [], "not_considered": {}}])[0]
    >>> r["p_support"], r["support_cpi"], r["quantiles"]
    ('0.5 to 0.52', '1.0 × 10^4', '5%: 3.10 to 3.20; 50%: 6.00')
    """
    out = []
    for d in results:
        cur = d["current"]
        relatives = []
        for r in d["next_relatives"]:
            p = r["power"]
            relatives.append({
                "relationship": r["relationship"].replace("_", " "), "family_kind": r["family_kind"],
                "p_support": _bounds_text(r["p_support"]), "gain": _bounds_text(r["gain"]),
                "support_cpi": format_power_of_ten(float(p["support_log10"])),
                "expected_false_hits": _bounds_text(p["expected_false_hits"]),
            })
        out.append({
            "family": d["family_key"], "family_kind": d["family_kind"], "p_support": _bounds_text(d["p_support"]),
            "support_cpi": format_power_of_ten(float(cur["support_log10"])), "gated": bool(cur["gated"]),
            "expected_false_hits": _bounds_text(cur["expected_false_hits"]), "n_candidates": cur["n_candidates"],
            "quantiles": "; ".join(f"{float(q) * 100:g}%: {_log10_bounds_text(v)}" for q, v in cur["quantiles_h1"].items()),
            "expected_lr_h2": f"{float(cur['expected_lr_h2']):.6f}", "relatives": relatives,
            "not_considered": {k.replace("_", " "): v for k, v in d["not_considered"].items()},
        })
    return out
