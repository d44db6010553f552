"""The case-manager report of a match run: one self-contained HTML page, in English or Chinese.

The page has inline CSS, no scripts and no external assets. It shows sample ids only: the
genotypes appear only in the per-pair detail cards, and no names are ever read. Every value
reaches the page through Jinja2's autoescaping.

Every text of the page is an English msgid of the gettext domain ``report``
(``kinship/locale/<locale>/LC_MESSAGES/report.po``, :func:`kinship.i18n.translations`): the
template through Jinja2's ``i18n`` extension, the texts built here through the catalogue's
``gettext``. The locale is the ``locale`` argument, else the environment variable
``REUNITE_LOCALE`` (a deployment setting), else English (:func:`report_locale`).

Navigation: a table of contents, an anchor on every detail card (``#pair-<n>``), and from every
table row a link to its card, or a note saying why the pair has none. The cards are
:func:`kinship.report.formatting.detail_pairs` (by need: every supported and flagged pair first,
weakest first), and the verbal scale of the ENFSI guideline (2015) is stated beside the GB/T
37223-2018 rules, which govern the conclusion where the two differ.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from kinship.errors import ReuniteInputError
from kinship.genetics.relationships import PARENT_KINDS
from kinship.i18n import DEFAULT_LOCALE, LOCALES, translations
from kinship.matching.ranking import CONCLUSION_TEXT, conclusion_text
from kinship.report.folders import make_private_dirs
from kinship.report.formatting import (
    CONCLUSION_LABELS,
    DETAIL_CARDS,
    FAMILY_KIND_LABELS,
    RELATIONSHIP_LABELS,
    VERBAL_SCALE,
    WORDS,
    _format_log10,
    _frequency_notes,
    _rules,
    _sorted_by_lr,
    _summary,
    by_need,
    conclusion_sentence,
    format_cpi,
    format_pi,
    format_posterior,
    format_probability,
    is_reported,
    power_rows,
    verbal_equivalent,
    N_,
)
from kinship.report.tables import TABLE_SCHEMAS, check_table

__all__ = ["render_html", "write_report", "report_locale", "LOCALE_ENV"]

_PAIR_KEY = ["candidate_id", "lab", "family_id"]
#: Environment variable naming a deployment's report language (``en`` or ``zh_CN``; ``zh-CN`` is read too).
LOCALE_ENV = "REUNITE_LOCALE"
#: Run kinds (provenance ``kind``) as msgids.
_RUN_KINDS = {"full": N_("full"), "incremental": N_("incremental")}
#: Hypotheses a run records in its provenance (:data:`kinship.app.match_run.HYPOTHESES`), as msgids.
_HYPOTHESES = (N_("the candidate is the missing child of this family"), N_("the candidate is unrelated to this family"))


def report_locale(locale: str | None = None) -> str:
    """The report's locale: ``locale``, else ``$REUNITE_LOCALE``, else English.

    Raises
    ------
    ReuniteInputError
        The locale given (or set in the environment) is not one of :data:`kinship.i18n.LOCALES`.

    Examples
    --------
    >>> report_locale("zh-CN"), report_locale("en")
    ('zh_CN', 'en')
    """
    asked = locale if locale else os.environ.get(LOCALE_ENV, "") or DEFAULT_LOCALE
    name = str(asked).strip().replace("-", "_")
    for offered in LOCALES:
        if name.lower() == offered.lower():
            return offered
    where = "locale" if locale else LOCALE_ENV
    raise ReuniteInputError(
        f"report {where} {asked!r} is not offered; expected one of {', '.join(LOCALES)}; "
        f"fix: set {LOCALE_ENV}=zh_CN for Chinese or en for English"
    )


# --------------------------------------------------------------------------------------------
# HTML report


@lru_cache(maxsize=None)
def _environment(locale: str = DEFAULT_LOCALE) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kinship.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations("report", locale), newstyle=True)
    env.filters["thousands"] = lambda n: "{:,}".format(n or 0)
    return env


class _Text:
    """The catalogue's gettext for the texts built in Python, and the translated labels."""

    def __init__(self, locale: str):
        self.gettext = translations("report", locale).gettext

    def __call__(self, message: str) -> str:
        return self.gettext(message)

    def number(self, text):
        """A formatted number, or its translated word ("0 (exclusion)", "not computed")."""
        return self.gettext(text) if str(text) in WORDS else text


def _match_row(row, conclusions: dict, anchors: dict, t: _Text, why: str = "") -> dict:
    """A table row or card of one pair: display texts, its card's anchor, or ``why`` it has none."""
    conclusion = str(row.conclusion)
    kind = str(row.family_kind)
    key = (str(row.candidate_id), str(row.lab), str(row.family_id))
    recorded = conclusions.get(conclusion) == CONCLUSION_TEXT.get(conclusion)
    return {
        "candidate_id": str(row.candidate_id),
        "family": f"{row.lab}/{row.family_id}",
        "family_kind": t(FAMILY_KIND_LABELS.get(kind, kind)),
        "kinship": kind not in PARENT_KINDS,
        "cpi": t.number(format_cpi(float(row.log10_lr), html=True)),
        "log10": _format_log10(float(row.log10_lr)),
        "n_loci_compared": int(row.n_loci_compared),
        "n_inconsistent": int(row.n_inconsistent),
        "posterior": t.number(format_posterior(float(row.posterior))),
        "posterior_exact": repr(float(row.posterior)),
        "posterior_lower": t.number(format_posterior(float(getattr(row, "posterior_lower", row.posterior)))),
        "family_posterior": t.number(format_posterior(float(getattr(row, "family_posterior", float("nan"))))),
        "joint": _joint_text(row, t),
        "conflict": bool(getattr(row, "conflict", False)),
        "y": _y_text(row, t),
        "total_cpi": t.number(format_cpi(float(getattr(row, "log10_lr_total", row.log10_lr)), html=True)),
        "total_log10": _format_log10(float(getattr(row, "log10_lr_total", row.log10_lr))),
        "verbal": verbal_equivalent(float(getattr(row, "log10_lr_total", row.log10_lr)), t),
        "rank_for_family": None if pd.isna(row.rank_for_family) else int(row.rank_for_family),
        "rank_for_candidate": None if pd.isna(row.rank_for_candidate) else int(row.rank_for_candidate),
        "p_unrelated": format_probability(getattr(row, "p_unrelated", float("nan"))),
        "expected_unrelated": format_probability(getattr(row, "expected_unrelated", float("nan"))),
        "is_new": bool(getattr(row, "is_new", False)),
        "conclusion": conclusion,
        "conclusion_label": t(CONCLUSION_LABELS.get(conclusion, conclusion)),
        # the family's own wording, unless the run's provenance recorded another text
        "conclusion_text": (t(conclusion_text(conclusion, kind)) if recorded
                            else conclusions.get(conclusion, conclusion)),
        "sentence": conclusion_sentence(conclusion, kind, bool(row.flagged), t),
        "flagged": bool(row.flagged),
        "css": "flagged" if bool(row.flagged) else conclusion,
        "anchor": anchors.get(key),
        "no_card": None if key in anchors else why,
    }


def _joint_text(row, t: _Text) -> str:
    """The pair's joint posterior under the one-to-one constraint, '' outside every group."""
    value = getattr(row, "joint_posterior", None)
    if value is None or pd.isna(value):
        return ""
    bound = "" if bool(getattr(row, "joint_exact", True)) else t(" (upper bound)")
    return f"{t.number(format_posterior(float(value)))}{bound}"


def _y_text(row, t: _Text) -> str:
    """Y-STR LR with its comparison, '' when no Y comparison applies."""
    value = getattr(row, "log10_lr_y", None)
    if value is None or pd.isna(value):
        return ""
    n, mismatches, steps = (int(getattr(row, c)) for c in ("n_y_loci_compared", "n_y_mismatches", "y_steps"))
    if mismatches:
        detail = (t(" (%(n)s Y loci, %(m)s mismatching, 1 step)") if steps == 1
                  else t(" (%(n)s Y loci, %(m)s mismatching, %(s)s steps)")) % {"n": n, "m": mismatches, "s": steps}
    else:
        detail = t(" (%(n)s Y loci, %(m)s mismatching)") % {"n": n, "m": mismatches}
    return t.number(format_cpi(float(value), html=True)) + detail  # Markup + str: the text part is escaped


def _parents(samples: pd.DataFrame | None, t: _Text) -> dict:
    """(lab, family_id) -> {"father": id, "mother": id, "relatives": [...]} from a members table."""
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
        relationship = str(row.relationship)
        if relationship in ("father", "mother"):
            family[relationship] = str(row.sample_id)
        else:
            label = t(RELATIONSHIP_LABELS.get(relationship, relationship.replace("_", " ")))
            family.setdefault("relatives", []).append(t("%(id)s (%(relationship)s)")
                                                      % {"id": row.sample_id, "relationship": label})
    return out


def _relatives(relatives: pd.DataFrame | None, t: _Text) -> tuple[dict, dict]:
    """(lab, family_id) -> [(sample_id, label)], and (lab, family_id, sample_id, locus) -> genotype."""
    if relatives is None:
        return {}, {}
    needed = ["lab", "family_id", "sample_id", "relationship", "locus", "genotype"]
    missing = [c for c in needed if c not in relatives.columns]
    if missing:
        raise ReuniteInputError(
            f"relatives table lacks columns {missing}; expected the table of "
            f"kinship.app.match_run.relative_genotypes with columns {needed}"
        )
    columns: dict = {}
    genotypes: dict = {}
    for r in relatives[needed].astype(str).itertuples(index=False):
        family = columns.setdefault((r.lab, r.family_id), [])
        if all(sample != r.sample_id for sample, _ in family):
            family.append((r.sample_id, t(RELATIONSHIP_LABELS.get(r.relationship, r.relationship.replace("_", " ")))))
        genotypes[(r.lab, r.family_id, r.sample_id, r.locus)] = r.genotype
    return columns, genotypes


def _cards(matches: pd.DataFrame, pair_loci: pd.DataFrame, parents: dict, conclusions: dict, max_pairs: int,
           t: _Text, relatives: tuple[dict, dict] = ({}, {})):
    keys = pair_loci[_PAIR_KEY].drop_duplicates()
    # the rows of the cards' candidates first (a join of all 10^7 pairs took seconds); an inner
    # merge keeps the left order, so the pairs are the same rows in the same order
    pairs = matches[matches["candidate_id"].isin(keys["candidate_id"])].merge(keys, on=_PAIR_KEY, how="inner")
    if len(pairs) != len(keys):
        unknown = keys.merge(matches[_PAIR_KEY], on=_PAIR_KEY, how="left", indicator=True)
        unknown = unknown[unknown["_merge"] == "left_only"]
        first = unknown.iloc[0]
        raise ReuniteInputError(
            f"pair_loci holds {len(unknown)} pair(s) absent from matches, e.g. candidate "
            f"{first.candidate_id!r} with family {first.lab}/{first.family_id}; pass the "
            "matches and pair_loci of the same run"
        )
    # the order of need (formatting.detail_pairs); pairs given beyond it (on demand) after, by LR
    order = {tuple(k): i for i, k in enumerate(by_need(pairs)[_PAIR_KEY].itertuples(index=False))}
    pairs = _sorted_by_lr(pairs)
    pairs = pairs.assign(_need=[order.get(tuple(k), len(order)) for k in pairs[_PAIR_KEY].itertuples(index=False)])
    pairs = pairs.sort_values("_need", kind="stable").drop(columns="_need")
    n_reported = max(int(is_reported(matches).sum()), len(pairs))
    by_pair = {key: df for key, df in pair_loci.groupby(_PAIR_KEY, sort=False)}
    anchors: dict = {}
    rows = list(pairs.head(max_pairs).itertuples(index=False))
    for row in rows:
        anchors[(str(row.candidate_id), str(row.lab), str(row.family_id))] = f"pair-{len(anchors) + 1}"
    cards = []
    for row in rows:
        loci = by_pair[(row.candidate_id, row.lab, row.family_id)]
        family_parents = parents.get((str(row.lab), str(row.family_id)), {})
        card = _match_row(row, conclusions, anchors, t)
        card["number"] = len(cards) + 1
        card["father_id"] = family_parents.get("father")
        card["mother_id"] = family_parents.get("mother")
        card["relatives"] = ", ".join(sorted(family_parents.get("relatives", [])))
        # a parent column only for a parent on file (no "—" father or mother of a sibling family)
        card["show_father"] = bool(card["father_id"] or loci["father_genotype"].astype(bool).any())
        card["show_mother"] = bool(card["mother_id"] or loci["mother_genotype"].astype(bool).any())
        card["show_parents"] = card["show_father"] or card["show_mother"]
        lab, family_id = str(row.lab), str(row.family_id)
        columns = relatives[0].get((lab, family_id), [])
        card["relative_columns"] = [{"id": sample, "label": label} for sample, label in columns]
        card["loci"] = [
            {
                "relatives": [relatives[1].get((lab, family_id, sample, str(l.locus)), "") for sample, _ in columns],
                "locus": str(l.locus),
                "candidate": str(l.candidate_genotype),
                "father": str(l.father_genotype),
                "mother": str(l.mother_genotype),
                "pi": (t.number(format_pi(float(l.log10_pi), html=True))
                       if (bool(l.compared) or float(l.log10_pi) != 0.0) else ""),
                "log10_pi": repr(float(l.log10_pi)),
                "compared": bool(l.compared),
                "inconsistent": bool(l.inconsistent),
                "linked": "~" in str(l.locus),
            }
            for l in loci.itertuples(index=False)
        ]
        cards.append(card)
    return cards, n_reported, anchors


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
    locale: str | None = None,
    relatives: pd.DataFrame | None = None,
) -> str:
    """A self-contained HTML report of a match run for case managers, in English or Chinese.

    The page states the hypotheses, the relatives used, the mutation model, θ, the prior,
    the GB/T 37223-2018 thresholds and rules, the frequency table (name, sha256, substituted
    alleles, loci renormalised, silent alleles used or not, loci left out) and summary counts
    (with the loci left out because the table lacks them, the loci renormalised and the silent
    alleles named beside them); then ranked tables (pairs that support
    parentage, flagged pairs, each candidate's best family, each family's best 3 candidates)
    and a detail card per reported pair with the genotypes and PI locus by locus (KI for a
    family without a parent on file). A table of contents heads the page; every table row links
    to its detail card or says why it has none; the ENFSI verbal scale stands beside the rules.

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
        At most this many detail cards, in the order of need of
        :func:`~kinship.report.formatting.detail_pairs` (supported and flagged pairs first, weakest
        first); the page says how many were left out.
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
    locale : str, optional
        ``"en"`` or ``"zh_CN"`` (``"zh-CN"`` is read too); None: :func:`report_locale` (the
        environment variable ``REUNITE_LOCALE``, else English). Numbers, ids, genotypes and texts
        recorded in the provenance (the mutation model's description, reasons a locus was left
        out) are shown as they are.
    relatives : DataFrame, optional
        The typed relatives' own genotypes (:func:`kinship.app.match_run.relative_genotypes`:
        ``lab, family_id, sample_id, relationship, locus, genotype``): a column per relative in
        each detail card of its family. None: the cards name the relatives only.

    Returns
    -------
    str
        HTML5 text; inline CSS only, no scripts, print-friendly. Every value taken from the
        inputs is HTML-escaped.

    Raises
    ------
    ReuniteInputError
        A table that does not follow its schema, pairs in ``pair_loci`` absent from
        ``matches``, a ``samples`` table without the member columns, ``max_pairs < 0``, or a
        locale that is not offered.
    """
    locale = report_locale(locale)
    t = _Text(locale)
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
    # each family's best LR (its rank-1 pair's), on every one of its rows: one grouped pass, not a look-up per row
    first = top["log10_lr"].where(top["rank_for_family"].eq(1).fillna(False).astype(bool).to_numpy())
    best = first.groupby([top["lab"], top["family_id"]], sort=False).transform("max")
    top = top.assign(_best=best.fillna(-math.inf).to_numpy())
    top = top.sort_values(
        ["_best", "lab", "family_id", "rank_for_family"], ascending=[False, True, True, True], kind="stable"
    )
    n_best_family, n_family_groups = len(best_family), top[["lab", "family_id"]].drop_duplicates().shape[0]
    best_family = best_family.head(max_rows)
    cards, n_reported, anchors = _cards(matches, pair_loci, _parents(samples, t), conclusions, max_pairs, t,
                                        _relatives(relatives, t))
    capped = t("no card: beyond the first %(n)s detail cards (per-locus detail on demand: "
               "kinship.app.match_run.pair_loci)") % {"n": len(cards)}
    not_reported = t("no card: not a reported pair (per-locus detail on demand: kinship.app.match_run.pair_loci)")

    # the first max_rows families in the order of top, each with its rows in their order there:
    # their rows made in one pass (a pass per family was most of the report's time)
    group = top.groupby(["lab", "family_id"], sort=False).ngroup().to_numpy()
    order = np.flatnonzero(group < max_rows)
    order = order[np.argsort(group[order], kind="stable")]
    shown = top.iloc[order]
    # the reported pairs' keys, of the candidates listed only (every reported pair of a listed
    # candidate: a key listed is among them exactly when it is among all 10^7 pairs' keys)
    listed = pd.concat([f["candidate_id"] for f in (supported, flagged, best_family, shown)]).astype(str).unique()
    candidates = matches["candidate_id"]
    candidates = candidates if isinstance(candidates.dtype, pd.StringDtype) else candidates.astype(str)
    reported = matches[is_reported(matches) & candidates.isin(listed)]
    reported_keys = set(reported[_PAIR_KEY].astype(str).itertuples(index=False, name=None))

    def rows_of(frame: pd.DataFrame) -> list[dict]:
        out = []
        for r in frame.itertuples(index=False):
            key = (str(r.candidate_id), str(r.lab), str(r.family_id))
            out.append(_match_row(r, conclusions, anchors, t, capped if key in reported_keys else not_reported))
        return out

    family_groups = []
    for g, lab, family_id, row in zip(group[order], shown["lab"], shown["family_id"], rows_of(shown)):
        if len(family_groups) == g:
            family_groups.append({"family": f"{lab}/{family_id}", "family_kind": row["family_kind"], "rows": []})
        family_groups[-1]["rows"].append(row)

    started = str(provenance.get("started_at", ""))
    context = {
        "comparison": provenance.get("comparison", {}),
        "parameters": parameters,
        "run_id": str(provenance.get("run_id", "")),
        "kind": t(_RUN_KINDS.get(provenance.get("kind", "full"), provenance.get("kind", "full"))),
        "run_kinds": {k: t(v) for k, v in _RUN_KINDS.items()},
        "started_at": started,
        "date": started[:10],
        "code_version": provenance.get("code_version", ""),
        "inputs_sha256": inputs.get("sha256", ""),
        "locale": locale,
        "lang": locale.replace("_", "-"),
        "hypotheses": {k: t(v) for k, v in provenance.get("hypotheses", {}).items()},
        "verbal_scale": _verbal_scale(t),
        "mutation_model": provenance.get("mutation_model", ""),
        "theta": parameters.get("theta", 0.0),
        "prior": parameters.get("prior", 0.5),
        "linkage": provenance.get("linkage"),
        "rules": _rules(provenance),
        "conclusions": {k: (t(v) if v == CONCLUSION_TEXT.get(k) else v) for k, v in conclusions.items()},
        "family_kind_labels": {k: t(v) for k, v in FAMILY_KIND_LABELS.items()},
        "conclusion_labels": {k: t(v) for k, v in CONCLUSION_LABELS.items()},
        "table": {
            "name": table.get("name", ""),
            "source": table.get("source", ""),
            "sha256": table.get("sha256", ""),
            "substitutions": table.get("substitutions", []),
        },
        "loci": inputs.get("loci", []),
        "loci_left_out": inputs.get("loci_left_out", {}),
        "summary": _summary(matches, provenance),
        "frequency_notes": _frequency_notes(provenance, t),
        "supported": rows_of(supported),
        "flagged": rows_of(flagged),
        "best_family": rows_of(best_family),
        "family_groups": family_groups,
        "n_best_family": n_best_family,
        "n_family_groups": n_family_groups,
        "cards": cards,
        "n_reported": n_reported,
        "max_pairs": max_pairs,
        "call_quality": _call_quality_rows(call_quality),
        "power": None if power is None else power_rows(power, t),
    }
    return _environment(locale).get_template("report.html.j2").render(**context)


def _verbal_scale(t: _Text) -> list[dict]:
    """The rows of the verbal-scale table: LR band, ENFSI words, the GB/T reading of the band."""
    bands = [("1", "2"), ("2", "10"), ("10", "100"), ("100", "1,000"), ("1,000", "10,000"),
             ("10,000", "1,000,000"), ("1,000,000", None)]
    gbt = [t("inconclusive")] * 5 + [t("support (CPI &ge; 10,000)"), t("support (CPI &ge; 10,000)")]
    rows = []
    for (lo, hi), (_, words), rule in zip(bands, VERBAL_SCALE, gbt):
        band = f"{lo} – {hi}" if hi else t("above %(lo)s") % {"lo": lo}
        rows.append({"band": band, "words": t(words), "rule": Markup(rule)})
    return rows


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
        Keyword options of :func:`render_html` (``samples``, ``max_pairs``, ``locale``, ...).

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

