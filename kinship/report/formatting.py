"""Number formatting shared by the HTML report and the markdown summaries.

LRs are formatted from their log10 so that values beyond float64 range print correctly.
"""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from kinship.genetics.relationships import PARENT_KINDS
from kinship.matching.ranking import EXCLUSION_LOG10_CPI, EXCLUSION_N_INCONSISTENT, SUPPORT_LOG10_CPI, N_

__all__ = ["format_power_of_ten", "format_cpi", "format_pi", "format_posterior", "format_probability", "is_reported", "reported_pairs",
           "detail_pairs", "by_need", "DETAIL_CARDS", "VERBAL_SCALE", "verbal_equivalent", "conclusion_sentence", "N_",
           "CONCLUSION_LABELS", "FAMILY_KIND_LABELS", "RELATIONSHIP_LABELS", "WORDS"]


def _same(message: str) -> str:
    return message


# --------------------------------------------------------------------------------------------
# Labels shown for the codes of the tables (msgids of the ``report`` catalogue; the HTML report
# translates them, the CSV and markdown keep the codes)

#: Conclusion code -> label.
CONCLUSION_LABELS = {"support": N_("support"), "excluded": N_("excluded"), "inconclusive": N_("inconclusive"),
                     "flagged": N_("flagged for review")}
#: Family kind (:data:`kinship.genetics.relationships.FAMILY_KINDS`) -> label.
FAMILY_KIND_LABELS = {"couple": N_("couple"), "father only": N_("father only"), "mother only": N_("mother only"),
                      "siblings": N_("siblings"), "parent + relatives": N_("parent + relatives"),
                      "relatives": N_("relatives"), "pedigree": N_("pedigree")}
#: Manifest relationship -> label (glossary terms).
RELATIONSHIP_LABELS = {
    "father": N_("father"), "mother": N_("mother"), "full_sibling": N_("full sibling"),
    "paternal_half_sibling": N_("paternal half sibling"), "maternal_half_sibling": N_("maternal half sibling"),
    "paternal_grandfather": N_("paternal grandfather"), "paternal_grandmother": N_("paternal grandmother"),
    "maternal_grandfather": N_("maternal grandfather"), "maternal_grandmother": N_("maternal grandmother"),
    "paternal_aunt_uncle": N_("father's brother or sister"), "maternal_aunt_uncle": N_("mother's brother or sister"),
    "pedigree": N_("pedigree member"),
}
#: The words the number formatters print instead of a number (translated by the HTML report).
WORDS = (N_("0 (exclusion)"), N_("not computed"), N_("infinite"), N_("below the range"))


# --------------------------------------------------------------------------------------------
# Verbal scale (ENFSI) and conclusion sentences (GB/T 37223-2018 style)

#: ENFSI verbal equivalents of a likelihood ratio: (lower log10 LR bound, msgid), ascending;
#: ENFSI Guideline for Evaluative Reporting in Forensic Science (2015), section 2.4 and Annex.
#: An LR below 1 reads the same words for the other proposition (H2).
VERBAL_SCALE = (
    (0.0, N_("no support for either proposition (LR about 1)")),
    (math.log10(2.0), N_("weak support")),
    (1.0, N_("moderate support")),
    (2.0, N_("moderately strong support")),
    (3.0, N_("strong support")),
    (4.0, N_("very strong support")),
    (6.0, N_("extremely strong support")),
)


def verbal_equivalent(log10_lr: float, gettext=_same) -> str:
    """The ENFSI (2015) verbal equivalent of an LR, for H1 (LR > 1) or H2 (LR < 1).

    Bands: 1-2 none, 2-10 weak, 10-100 moderate, 100-1,000 moderately strong, 1,000-10,000
    strong, 10,000-10^6 very strong, above 10^6 extremely strong support. The conclusion of a
    pair is the GB/T 37223-2018 rule's, not this scale's: where they differ (e.g. an LR of
    10^3.5 is ENFSI "strong support" but GB/T "inconclusive") the rule governs.

    Examples
    --------
    >>> verbal_equivalent(3.5), verbal_equivalent(7.0), verbal_equivalent(-1.5)
    ('strong support for H1', 'extremely strong support for H1', 'moderate support for H2')
    >>> verbal_equivalent(0.1), verbal_equivalent(float("-inf"))
    ('no support for either proposition (LR about 1)', 'H1 excluded (LR 0)')
    """
    if math.isnan(log10_lr):
        return gettext("not computed")
    if log10_lr == -math.inf:
        return gettext("H1 excluded (LR 0)")
    words = [w for bound, w in VERBAL_SCALE if abs(log10_lr) >= bound][-1]
    if words == VERBAL_SCALE[0][1]:
        return gettext(words)
    template = gettext("%(words)s for H1") if log10_lr > 0 else gettext("%(words)s for H2")
    return template % {"words": gettext(words)}


_SENTENCES = {
    ("support", "couple"): N_("Based on the available material and the DNA results, the tested couple are "
                              "supported as the biological parents of the child."),
    ("support", "father only"): N_("Based on the available material and the DNA results, the tested man is "
                                   "supported as the biological father of the child."),
    ("support", "mother only"): N_("Based on the available material and the DNA results, the tested woman is "
                                   "supported as the biological mother of the child."),
    ("support", ""): N_("Based on the available material and the DNA results, the stated biological relationship "
                        "between the child and the tested relatives is supported."),
    ("excluded", "parent"): N_("Based on the available material and the DNA results, the tested person is "
                               "excluded as a biological parent of the child."),
    ("excluded", ""): N_("Based on the available material and the DNA results, the stated biological "
                         "relationship between the child and the tested relatives is excluded."),
    ("inconclusive", ""): N_("The DNA results do not allow a conclusion; type more loci or further relatives."),
    ("flagged", ""): N_("The DNA results contradict each other (inconsistent loci, yet a high index); the case "
                        "is referred to the lab for review."),
}


def conclusion_sentence(conclusion: str, family_kind: str, flagged: bool = False, gettext=_same) -> str:
    """The conclusion of a pair as a sentence in the style of GB/T 37223-2018 (glossary
    ``conclusion_*`` keys): it names the tested relatives and the relationship.

    Examples
    --------
    >>> conclusion_sentence("support", "mother only")[-48:]
    'supported as the biological mother of the child.'
    >>> conclusion_sentence("excluded", "siblings")[-37:]
    'and the tested relatives is excluded.'
    >>> conclusion_sentence("excluded", "couple", flagged=True)[:28]
    'The DNA results contradict e'
    """
    if flagged:
        key = ("flagged", "")
    elif conclusion == "support":
        key = ("support", family_kind if family_kind in PARENT_KINDS else "")
    elif conclusion == "excluded":
        key = ("excluded", "parent" if family_kind in PARENT_KINDS else "")
    else:
        key = ("inconclusive", "")
    return gettext(_SENTENCES[key])

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


#: At most this many detail cards in the report and per-locus rows in ``pair_loci``
#: (:func:`detail_pairs`).
DETAIL_CARDS = 200


def is_reported(matches: pd.DataFrame) -> pd.Series:
    """Per row of ``matches``, whether :func:`reported_pairs` lists it: the candidate's best
    family, the family's best candidate, or a pair that supports parentage or is flagged."""
    return (
        matches["rank_for_candidate"].eq(1).fillna(False).astype(bool)
        | matches["rank_for_family"].eq(1).fillna(False).astype(bool)
        | (matches["conclusion"] == "support")
        | matches["flagged"].astype(bool)
    )


def reported_pairs(matches: pd.DataFrame) -> pd.DataFrame:
    """The pairs a report lists for detail: each candidate's best family, each family's best
    candidate, and every pair that supports parentage or is flagged (:func:`is_reported`); by
    descending log10 LR, then candidate, lab, family."""
    return matches[is_reported(matches)].sort_values(["log10_lr", "candidate_id", "lab", "family_id"],
                                                     ascending=[False, True, True, True], kind="stable")


def by_need(matches: pd.DataFrame) -> pd.DataFrame:
    """:func:`reported_pairs` in the order of need, the order of the report's detail cards.

    First every supported or flagged pair, *weakest first* (ascending combined log10 LR:
    autosomal × Y-STR where compared): those are the pairs that need scrutiny, kept first when
    the number of cards is capped; then the other reported pairs (each candidate's best family,
    each family's best candidate), strongest first.

    Examples
    --------
    >>> m = pd.DataFrame({"candidate_id": ["C1", "C2", "C3", "C4"], "lab": "L", "family_id": ["F1", "F1", "F2", "F3"],
    ...                   "log10_lr": [2.0, 9.0, -1.0, 5.0], "rank_for_candidate": [1, 1, 1, 1],
    ...                   "rank_for_family": [2, 1, 1, 1], "conclusion": ["inconclusive", "support", "excluded", "support"],
    ...                   "flagged": False})
    >>> by_need(m)["candidate_id"].tolist()
    ['C4', 'C2', 'C1', 'C3']
    """
    reported = reported_pairs(matches)
    need = (reported["conclusion"] == "support") | reported["flagged"].astype(bool)
    strength = reported["log10_lr_total"] if "log10_lr_total" in reported.columns else reported["log10_lr"]
    first = reported[need].assign(_s=strength[need]).sort_values(
        ["_s", "candidate_id", "lab", "family_id"], kind="stable").drop(columns="_s")
    return pd.concat([first, reported[~need]])


def detail_pairs(matches: pd.DataFrame, max_pairs: int = DETAIL_CARDS) -> pd.DataFrame:
    """The report's detail cards, chosen by need (the pairs of ``pair_loci.v2``; the one place
    this choice is made): the first ``max_pairs`` of :func:`by_need`, so every supported and
    flagged pair before the others and, when they alone pass the cap, the weakest of them.
    Returned in the order of :func:`reported_pairs` (descending LR: the rows of ``pair_loci``);
    the report shows them in the order of :func:`by_need`.

    Examples
    --------
    >>> m = pd.DataFrame({"candidate_id": ["C1", "C2", "C3", "C4"], "lab": "L", "family_id": ["F1", "F1", "F2", "F3"],
    ...                   "log10_lr": [2.0, 9.0, -1.0, 5.0], "rank_for_candidate": [1, 1, 1, 1],
    ...                   "rank_for_family": [2, 1, 1, 1], "conclusion": ["inconclusive", "support", "excluded", "support"],
    ...                   "flagged": False})
    >>> detail_pairs(m, 3)["candidate_id"].tolist()
    ['C2', 'C4', 'C1']
    >>> detail_pairs(m, 1)["candidate_id"].tolist()  # the weakest supported pair is kept first
    ['C4']
    """
    reported = reported_pairs(matches)
    chosen = by_need(matches).head(max_pairs)
    return reported[reported.index.isin(chosen.index)]


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
    families = None  # the matches' families, only where the provenance lacks their count or kinds (10^7 rows)
    if "n_families" not in inputs or not inputs.get("family_kinds"):
        families = matches.drop_duplicates(["lab", "family_id"])
    kinds = inputs.get("family_kinds") or {k: int((families["family_kind"] == k).sum()) for k in PARENT_KINDS}
    counts = matches["conclusion"].value_counts()
    support = matches[matches["conclusion"] == "support"]
    return {
        "n_families": int(inputs["n_families"]) if "n_families" in inputs else len(families),
        "family_kinds": {k: int(kinds.get(k, 0)) for k in (*PARENT_KINDS, *sorted(set(kinds) - set(PARENT_KINDS)))},
        "n_references": inputs.get("n_references"),
        "n_candidates": int(inputs["n_candidates"] if "n_candidates" in inputs else matches["candidate_id"].nunique()),
        "n_pairs": int(provenance.get("comparison", {}).get("n_pairs", len(matches))),
        "n_reported": len(matches),
        "n_support": int(counts.get("support", 0)),
        "n_inconclusive": int(counts.get("inconclusive", 0)),
        "n_excluded": int(counts.get("excluded", 0)),
        "n_flagged": int(matches["flagged"].sum()),
        "n_candidates_supported": int(support["candidate_id"].nunique()),
        "n_families_supported": len(support.drop_duplicates(["lab", "family_id"])),
    }


def _frequency_notes(provenance: dict, gettext=_same) -> dict:
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
    _ = gettext
    table = provenance.get("frequency_table", {})
    left_out = provenance.get("inputs", {}).get("loci_left_out", {})
    lacking = [locus for locus, why in left_out.items() if str(why).startswith("not in frequency table")]
    others = {locus: why for locus, why in left_out.items() if locus not in lacking}
    renormalised = table.get("renormalised", [])
    silent = table.get("silent_alleles", [])

    def loci(n: int) -> str:
        return (_("%(n)s locus") if n == 1 else _("%(n)s loci")) % {"n": n}

    if silent:
        silent_text = _("Silent alleles used at %(loci)s: %(list)s.") % {"loci": loci(len(silent)), "list": ", ".join(
            f"{s['locus']} ({s['frequency']:.3g})" for s in silent)}
    elif provenance.get("parameters", {}).get("silent_alleles"):
        silent_text = _("Silent alleles requested, but the table gives none at the loci used.")
    else:
        silent_text = _("Silent alleles not used (an apparent homozygote a/a is read as a/a).")
    return {
        "left_out": (_("Left out because the frequency table lacks them (%(n)s): %(list)s.")
                     % {"n": len(lacking), "list": ", ".join(lacking)} if lacking else ""),
        "other_left_out": (_("Also left out: %(list)s.") % {"list": "; ".join(f"{l} ({why})" for l, why in others.items())}
                           if others else ""),
        "renormalised": (
            _("Renormalised (%(loci)s whose frequencies did not sum to 1): %(list)s; each divided by its sum.")
            % {"loci": loci(len(renormalised)),
               "list": ", ".join(_("%(locus)s (sum %(sum)s)") % {"locus": r["locus"], "sum": f"{r['sum']:.6g}"}
                                 for r in renormalised)}
            if renormalised else ""),
        "silent": silent_text,
    }



def _bounds_text(pair, gettext=_same) -> str:
    """A ``[lower, upper]`` pair as ``"0.308 to 0.321"`` (one number when they agree to 3 digits)."""
    if pair is None:
        return "—"
    lo, hi = (format_probability(float(x)) for x in pair)
    return lo if lo == hi else gettext("%(lo)s to %(hi)s") % {"lo": lo, "hi": hi}


def _log10_bounds_text(pair, gettext=_same) -> str:
    lo, hi = (float(x) for x in pair)
    text = [(gettext("below the range") if not math.isfinite(v) else f"{v:.2f}") for v in (lo, hi)]
    return text[0] if text[0] == text[1] else f"{text[0]} to {text[1]}"


def power_rows(results, gettext=_same) -> list[dict]:
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
    _ = gettext
    out = []
    for d in results:
        cur = d["current"]
        relatives = []
        for r in d["next_relatives"]:
            p = r["power"]
            relatives.append({
                "relationship": _(RELATIONSHIP_LABELS.get(r["relationship"], r["relationship"].replace("_", " "))),
                "family_kind": _(FAMILY_KIND_LABELS.get(r["family_kind"], r["family_kind"])),
                "p_support": _bounds_text(r["p_support"], _), "gain": _bounds_text(r["gain"], _),
                "support_cpi": format_power_of_ten(float(p["support_log10"])),
                "expected_false_hits": _bounds_text(p["expected_false_hits"], _),
            })
        out.append({
            "family": d["family_key"], "family_kind": _(FAMILY_KIND_LABELS.get(d["family_kind"], d["family_kind"])),
            "p_support": _bounds_text(d["p_support"], _),
            "support_cpi": format_power_of_ten(float(cur["support_log10"])), "gated": bool(cur["gated"]),
            "expected_false_hits": _bounds_text(cur["expected_false_hits"], _), "n_candidates": cur["n_candidates"],
            "quantiles": "; ".join(f"{float(q) * 100:g}%: {_log10_bounds_text(v, _)}" for q, v in cur["quantiles_h1"].items()),
            "expected_lr_h2": f"{float(cur['expected_lr_h2']):.6f}", "relatives": relatives,
            "not_considered": {_(RELATIONSHIP_LABELS.get(k, k.replace("_", " "))): v for k, v in d["not_considered"].items()},
        })
    return out
