"""The case-manager report of a match run: one self-contained HTML page.

The page has inline CSS, no scripts and no external assets. It shows sample ids only: the
genotypes appear only in the per-pair detail cards, and no names are ever read. Every value
reaches the page through Jinja2's autoescaping.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import jinja2
import pandas as pd

from kinship.errors import ReuniteInputError
from kinship.matching.ranking import CONCLUSION_TEXT, conclusion_text
from kinship.report.folders import make_private_dirs
from kinship.report.formatting import (
    _format_log10,
    _frequency_notes,
    format_probability,
    _rules,
    _summary,
    _sorted_by_lr,
    DETAIL_CARDS,
    reported_pairs,
    format_cpi,
    format_pi,
    format_posterior,
    power_rows,
)
from kinship.report.tables import TABLE_SCHEMAS, check_table

__all__ = ["render_html", "write_report"]

_PAIR_KEY = ["candidate_id", "lab", "family_id"]

# --------------------------------------------------------------------------------------------
# HTML report


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("kinship.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _match_row(row, conclusions: dict) -> dict:
    conclusion = str(row.conclusion)
    return {
        "candidate_id": str(row.candidate_id),
        "family": f"{row.lab}/{row.family_id}",
        "family_kind": str(row.family_kind),
        "cpi": format_cpi(float(row.log10_lr), html=True),
        "log10": _format_log10(float(row.log10_lr)),
        "n_loci_compared": int(row.n_loci_compared),
        "n_inconsistent": int(row.n_inconsistent),
        "posterior": format_posterior(float(row.posterior)),
        "posterior_exact": repr(float(row.posterior)),
        "posterior_lower": format_posterior(float(getattr(row, "posterior_lower", row.posterior))),
        "family_posterior": format_posterior(float(getattr(row, "family_posterior", float("nan")))),
        "joint": _joint_text(row),
        "conflict": bool(getattr(row, "conflict", False)),
        "y": _y_text(row),
        "total_cpi": format_cpi(float(getattr(row, "log10_lr_total", row.log10_lr)), html=True),
        "total_log10": _format_log10(float(getattr(row, "log10_lr_total", row.log10_lr))),
        "rank_for_family": None if pd.isna(row.rank_for_family) else int(row.rank_for_family),
        "rank_for_candidate": None if pd.isna(row.rank_for_candidate) else int(row.rank_for_candidate),
        "p_unrelated": format_probability(getattr(row, "p_unrelated", float("nan"))),
        "expected_unrelated": format_probability(getattr(row, "expected_unrelated", float("nan"))),
        "is_new": bool(getattr(row, "is_new", False)),
        "conclusion": conclusion,
        # the family's own wording, unless the run's provenance recorded another text
        "conclusion_text": (conclusion_text(conclusion, str(row.family_kind))
                            if conclusions.get(conclusion) == CONCLUSION_TEXT.get(conclusion)
                            else conclusions.get(conclusion, conclusion)),
        "flagged": bool(row.flagged),
        "css": "flagged" if bool(row.flagged) else conclusion,
    }


def _joint_text(row) -> str:
    """The pair's joint posterior under the one-to-one constraint, '' outside every group."""
    value = getattr(row, "joint_posterior", None)
    if value is None or pd.isna(value):
        return ""
    bound = "" if bool(getattr(row, "joint_exact", True)) else " (upper bound)"
    return f"{format_posterior(float(value))}{bound}"


def _y_text(row) -> str:
    """Y-STR LR with its comparison, '' when no Y comparison applies."""
    value = getattr(row, "log10_lr_y", None)
    if value is None or pd.isna(value):
        return ""
    n, mismatches, steps = (int(getattr(row, c)) for c in ("n_y_loci_compared", "n_y_mismatches", "y_steps"))
    detail = f" ({n} Y loci, {mismatches} mismatching" + (
        f", {steps} step{'' if steps == 1 else 's'})" if mismatches else ")")
    return format_cpi(float(value), html=True) + detail  # Markup + str: the text part is escaped


def _parents(samples: pd.DataFrame | None) -> dict:
    """(lab, family_id) -> {"father": id, "mother": id} from a members table."""
    if samples is None:
        return {}
    needed = ["lab", "family_id", "sample_id", "relationship"]
    missing = [c for c in needed if c not in samples.columns]
    if missing:
        raise ReuniteInputError(
            f"samples table lacks columns {missing}; expected the family members table with "
            f"columns {needed} (the one given to kinship.app.match_run.assemble_inputs)"
        )
    out: dict = {}
    for row in samples[needed].itertuples(index=False):
        family = out.setdefault((str(row.lab), str(row.family_id)), {})
        if str(row.relationship) in ("father", "mother"):
            family[str(row.relationship)] = str(row.sample_id)
        else:
            family.setdefault("relatives", []).append(f"{row.sample_id} ({str(row.relationship).replace('_', ' ')})")
    return out


def _cards(matches: pd.DataFrame, pair_loci: pd.DataFrame, parents: dict, conclusions: dict, max_pairs: int):
    keys = pair_loci[_PAIR_KEY].drop_duplicates()
    pairs = matches.merge(keys, on=_PAIR_KEY, how="inner")
    if len(pairs) != len(keys):
        unknown = keys.merge(matches[_PAIR_KEY], on=_PAIR_KEY, how="left", indicator=True)
        unknown = unknown[unknown["_merge"] == "left_only"]
        first = unknown.iloc[0]
        raise ReuniteInputError(
            f"pair_loci holds {len(unknown)} pair(s) absent from matches, e.g. candidate "
            f"{first.candidate_id!r} with family {first.lab}/{first.family_id}; pass the "
            "matches and pair_loci of the same run"
        )
    pairs = _sorted_by_lr(pairs)
    n_reported = max(len(reported_pairs(matches)), len(pairs))
    by_pair = {key: df for key, df in pair_loci.groupby(_PAIR_KEY, sort=False)}
    cards = []
    for row in pairs.head(max_pairs).itertuples(index=False):
        loci = by_pair[(row.candidate_id, row.lab, row.family_id)]
        family_parents = parents.get((str(row.lab), str(row.family_id)), {})
        card = _match_row(row, conclusions)
        card["father_id"] = family_parents.get("father")
        card["mother_id"] = family_parents.get("mother")
        card["relatives"] = ", ".join(sorted(family_parents.get("relatives", [])))
        card["anchor"] = f"pair-{len(cards) + 1}"
        card["loci"] = [
            {
                "locus": str(l.locus),
                "candidate": str(l.candidate_genotype),
                "father": str(l.father_genotype),
                "mother": str(l.mother_genotype),
                "pi": format_pi(float(l.log10_pi), html=True) if (bool(l.compared) or float(l.log10_pi) != 0.0) else "",
                "log10_pi": repr(float(l.log10_pi)),
                "compared": bool(l.compared),
                "inconsistent": bool(l.inconsistent),
                "linked": "~" in str(l.locus),
            }
            for l in loci.itertuples(index=False)
        ]
        cards.append(card)
    return cards, n_reported


def render_html(
    matches: pd.DataFrame,
    pair_loci: pd.DataFrame,
    provenance: dict,
    *,
    samples: pd.DataFrame | None = None,
    max_pairs: int = DETAIL_CARDS,
    max_rows: int = 1000,
    call_quality: pd.DataFrame | None = None,
    power: list[dict] | None = None,
) -> str:
    """A self-contained HTML report of a match run for case managers.

    The page states the hypotheses, the relatives used, the mutation model, θ, the prior,
    the GB/T 37223-2018 thresholds and rules, the frequency table (name, sha256, substituted
    alleles, loci renormalised, silent alleles used or not, loci left out) and summary counts
    (with the loci left out because the table lacks them, the loci renormalised and the silent
    alleles named beside them); then ranked tables (pairs that support
    parentage, flagged pairs, each candidate's best family, each family's best 3 candidates)
    and a detail card per reported pair with the genotypes and PI locus by locus.

    Parameters
    ----------
    matches : DataFrame
        Schema ``matches.v3``.
    pair_loci : DataFrame
        Schema ``pair_loci.v2``; its pairs get detail cards (a run writes those of
        :func:`~kinship.report.formatting.detail_pairs`).
    provenance : dict
        Schema ``provenance.v4``.
    samples : DataFrame, optional
        The family members table (columns ``lab, family_id, sample_id, relationship``, the
        one given to :func:`kinship.app.match_run.assemble_inputs`), to show the parents' sample
        ids on the detail cards. Other columns are ignored: the report shows ids only.
    max_pairs : int
        At most this many detail cards, by descending LR; the page says how many were left out.
    max_rows : int
        At most this many rows in the "best family per candidate" table and families in the
        "best candidates per family" table (strongest first); the page says how many are only in
        ``matches.csv``, so the report stays readable at national scale.
    call_quality : DataFrame, optional
        Calls left untyped at ingestion for call quality, per locus
        (:meth:`kinship.store.Store.warning_counts_by_locus` of ``low_quality``: ``locus, n_calls, n_samples,
        n_batches``); listed in the section "Calls dropped for call quality".
    power : list of dict, optional
        Families' power results (:meth:`kinship.app.power.FamilyPower.as_dict`) for the section
        "Power and the next relative"; only the families given (power is computed on demand,
        never for every family of a run). None: no section.

    Returns
    -------
    str
        HTML5 text; inline CSS only, no scripts, print-friendly. Every value taken from the
        inputs is HTML-escaped.

    Raises
    ------
    ReuniteInputError
        A table that does not follow its schema, pairs in ``pair_loci`` absent from
        ``matches``, a ``samples`` table without the member columns, or ``max_pairs < 0``.
    """
    if max_pairs < 0:
        raise ReuniteInputError(f"max_pairs = {max_pairs}; expected 0 or more detail cards")
    check_table(matches, TABLE_SCHEMAS["matches"])
    check_table(pair_loci, TABLE_SCHEMAS["pair_loci"])
    conclusions = {**CONCLUSION_TEXT, **provenance.get("conclusions", {})}
    inputs = provenance.get("inputs", {})
    table = provenance.get("frequency_table", {})
    parameters = provenance.get("parameters", {})

    supported = _sorted_by_lr(matches[matches["conclusion"] == "support"])
    flagged = _sorted_by_lr(matches[matches["flagged"]])
    best_family = _sorted_by_lr(matches[matches["rank_for_candidate"].eq(1).fillna(False).astype(bool)])
    top = matches[matches["rank_for_family"].le(3).fillna(False).astype(bool)]
    family_best = top[top["rank_for_family"].eq(1).fillna(False).astype(bool)].set_index(["lab", "family_id"])["log10_lr"]
    top = top.assign(_best=[family_best.get((l, f), -math.inf) for l, f in zip(top["lab"], top["family_id"])])
    top = top.sort_values(
        ["_best", "lab", "family_id", "rank_for_family"], ascending=[False, True, True, True], kind="stable"
    )
    n_best_family, n_family_groups = len(best_family), top[["lab", "family_id"]].drop_duplicates().shape[0]
    best_family = best_family.head(max_rows)
    family_groups = []
    for (lab, family_id), group in top.groupby(["lab", "family_id"], sort=False):
        if len(family_groups) == max_rows:
            break
        rows = [_match_row(r, conclusions) for r in group.itertuples(index=False)]
        family_groups.append({"family": f"{lab}/{family_id}", "family_kind": rows[0]["family_kind"], "rows": rows})

    cards, n_reported = _cards(matches, pair_loci, _parents(samples), conclusions, max_pairs)
    started = str(provenance.get("started_at", ""))
    context = {
        "comparison": provenance.get("comparison", {}),
        "parameters": parameters,
        "run_id": str(provenance.get("run_id", "")),
        "kind": provenance.get("kind", "full"),
        "started_at": started,
        "date": started[:10],
        "code_version": provenance.get("code_version", ""),
        "inputs_sha256": inputs.get("sha256", ""),
        "hypotheses": provenance.get("hypotheses", {}),
        "mutation_model": provenance.get("mutation_model", ""),
        "theta": parameters.get("theta", 0.0),
        "prior": parameters.get("prior", 0.5),
        "linkage": provenance.get("linkage"),
        "rules": _rules(provenance),
        "conclusions": conclusions,
        "table": {
            "name": table.get("name", ""),
            "source": table.get("source", ""),
            "sha256": table.get("sha256", ""),
            "substitutions": table.get("substitutions", []),
        },
        "loci": inputs.get("loci", []),
        "loci_left_out": inputs.get("loci_left_out", {}),
        "summary": _summary(matches, provenance),
        "frequency_notes": _frequency_notes(provenance),
        "supported": [_match_row(r, conclusions) for r in supported.itertuples(index=False)],
        "flagged": [_match_row(r, conclusions) for r in flagged.itertuples(index=False)],
        "best_family": [_match_row(r, conclusions) for r in best_family.itertuples(index=False)],
        "family_groups": family_groups,
        "n_best_family": n_best_family,
        "n_family_groups": n_family_groups,
        "cards": cards,
        "n_reported": n_reported,
        "max_pairs": max_pairs,
        "call_quality": _call_quality_rows(call_quality),
        "power": None if power is None else power_rows(power),
    }
    return _environment().get_template("report.html.j2").render(**context)


def _call_quality_rows(call_quality: pd.DataFrame | None) -> list[dict] | None:
    """The rows of the report's call-quality section (``None``: no table given, section left out)."""
    if call_quality is None:
        return None
    return [{"locus": str(r.locus), "n_calls": int(r.n_calls), "n_samples": int(r.n_samples),
             "n_batches": int(r.n_batches)} for r in call_quality.itertuples(index=False)]


def write_report(out_dir, matches: pd.DataFrame, pair_loci: pd.DataFrame, provenance: dict, **kw) -> Path:
    """Write :func:`render_html`'s page to ``<out_dir>/report.html`` (UTF-8).

    Parameters
    ----------
    out_dir : str or Path
        Created if absent.
    matches, pair_loci, provenance
        As for :func:`render_html`.
    **kw
        Keyword options of :func:`render_html` (``samples``, ``max_pairs``).

    Returns
    -------
    Path
        The file written.
    """
    out_dir = Path(out_dir)
    text = render_html(matches, pair_loci, provenance, **kw)
    make_private_dirs(out_dir)  # 0700 for the folders it creates
    path = out_dir / "report.html"
    path.write_text(text, encoding="utf-8")
    return path

