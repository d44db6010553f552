"""The report in Chinese and English, and its navigation (issue 13, items 4 and 5).

Catalogue completeness: every msgid extracted from the report's templates and Python (Babel's
extractors, the mapping ``kinship/locale/babel.cfg``) has an entry in the ``en`` catalogue and a
non-empty ``zh_CN`` translation with the same placeholders."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from kinship.errors import ReuniteInputError
from kinship.i18n import LOCALES, catalogue_path
from kinship.report import render_html, write_all
from kinship.report.formatting import detail_pairs, verbal_equivalent
from kinship.report.html import report_locale
from tests.unit.test_report import run  # noqa: F401  (the module's fixture: a small real run)

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "t": None, "N_": None, "ngettext": (1, 2)}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> dict[str, list[str]]:
    with open(ROOT / "kinship/locale/babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    out: dict[str, list[str]] = {}
    for filename, _, msgid, _, _ in extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS):
        out.setdefault(msgid, []).append(filename)
    return out


def _catalogue(locale: str):
    with catalogue_path("report", locale).open("rb") as f:
        return read_po(f, locale=locale)


def test_extraction_finds_the_template_and_the_python_texts():
    ids = _extracted()
    assert len(ids) > 200
    assert any(f.endswith(".j2") for files in ids.values() for f in files)
    assert "supports parentage: send for lab confirmation" in ids  # kinship/matching/ranking.py
    assert "strong support" in ids and "Verbal equivalents of the likelihood ratio" in ids


@pytest.mark.parametrize("locale", LOCALES)
def test_every_extracted_msgid_has_an_entry_and_zh_cn_a_translation(locale):
    catalogue = _catalogue(locale)
    ids = _extracted()
    missing = [m for m in ids if catalogue.get(m) is None]
    assert not missing, f"{locale}: no entry for {missing[:5]} (run pybabel update, see kinship/locale/README.md)"
    stale = [m.id for m in catalogue if m.id and m.id not in ids]
    assert not stale, f"{locale}: entries no longer in the code: {stale[:5]}"
    for msgid in ids:
        msgstr = catalogue.get(msgid).string
        assert msgstr, f"{locale}: empty translation of {msgid!r}"
        assert sorted(_PLACEHOLDER.findall(msgstr)) == sorted(_PLACEHOLDER.findall(msgid)), msgid
        if locale == "en":
            assert msgstr == msgid
        elif re.search(r"[A-Za-z]{4,}", _PLACEHOLDER.sub("", msgid)):
            assert re.search(r"[\u4e00-\u9fff]", msgstr), f"zh_CN translation of {msgid!r} holds no Chinese"


def test_the_catalogue_uses_the_glossary_terms_and_sentences():
    import csv

    with open(ROOT / "kinship/locale/glossary.csv", encoding="utf-8") as f:
        glossary = list(csv.DictReader(f))
    zh = _catalogue("zh_CN")
    used = [row for row in glossary if zh.get(row["en"]) is not None]
    assert {row["key"] for row in used} >= {
        "conclusion_support_father", "conclusion_support_mother", "conclusion_support_couple", "conclusion_exclude",
        "conclusion_inconclusive", "conclusion_support_relative", "conclusion_exclude_relative", "support",
        "excluded", "inconclusive", "flagged", "verbal_strong", "full_sibling", "paternal_aunt_uncle"}
    for row in used:
        assert zh.get(row["en"]).string == row["zh-CN"], row["key"]


def test_the_chinese_report_is_chinese_and_keeps_the_numbers(run):  # noqa: F811
    matches, loci, prov, members = run
    en = render_html(matches, loci, prov, samples=members, locale="en")
    zh = render_html(matches, loci, prov, samples=members, locale="zh-CN")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    for text in ("亲缘关系比对报告", "检验内容", "似然比的言语等级", "报告比对对详情", "目录", "需复核的比对对",
                 "依据现有资料和DNA分析结果，支持被检父母是孩子的生物学父母。"):
        assert text in zh and text not in en
    for text in ("What was tested", "Reported pairs in detail", "Candidate <span", "supports parentage"):
        assert text not in zh
    # ids, CPI values and per-locus PIs are the same on both pages
    card = matches.sort_values("log10_lr", ascending=False).iloc[0]
    for page in (en, zh):
        assert f'data-candidate-id="{card.candidate_id}"' in page and prov["run_id"] in page
    assert re.findall(r'data-log10-pi="([^"]+)"', en) == re.findall(r'data-log10-pi="([^"]+)"', zh)


def test_the_locale_comes_from_the_argument_else_the_environment(run, monkeypatch, tmp_path):  # noqa: F811
    matches, loci, prov, members = run
    monkeypatch.setenv("REUNITE_LOCALE", "zh_CN")
    assert report_locale() == "zh_CN" and report_locale("en") == "en"
    paths = write_all(tmp_path, matches, loci, prov, samples=members)
    assert '<html lang="zh-CN">' in paths["report_html"].read_text(encoding="utf-8")
    monkeypatch.setenv("REUNITE_LOCALE", "fr")
    with pytest.raises(ReuniteInputError, match="REUNITE_LOCALE 'fr' is not offered; expected one of en, zh_CN"):
        render_html(matches, loci, prov)
    with pytest.raises(ReuniteInputError, match="locale 'de' is not offered"):
        write_all(tmp_path / "x", matches, loci, prov, locale="de")
    assert not (tmp_path / "x").exists()
    monkeypatch.delenv("REUNITE_LOCALE")
    assert report_locale() == "en"


class _Links(HTMLParser):
    """Ids of the page, hrefs of its links, and per table row of the match tables: link or note."""

    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.rows, self.row, self.table = set(), [], [], None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "table":
            self.table = a.get("class", "")
        elif tag == "tr" and self.table and "matches" in self.table and "class" in a:
            self.row = {"link": None, "note": False}
            self.rows.append(self.row)
        elif tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
            if self.row is not None and "card-link" in a.get("class", ""):
                self.row["link"] = a["href"]
        elif tag == "span" and self.row is not None and a.get("class") == "no-card":
            self.row["note"] = True

    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None
        elif tag == "table":
            self.table = None


@pytest.mark.parametrize("locale", LOCALES)
def test_contents_and_every_row_links_to_its_card_or_says_why_not(run, locale):  # noqa: F811
    matches, loci, prov, members = run
    html = render_html(matches, loci, prov, samples=members, max_pairs=3, locale=locale)
    page = _Links()
    page.feed(html)
    assert all(h.lstrip("#") in page.ids for h in page.hrefs if h.startswith("#")), "a link to nowhere"
    for section in ("question", "verbal-scale", "supported", "flagged", "best-family", "best-candidates", "details"):
        assert f"#{section}" in page.hrefs
    assert page.rows and all(r["link"] or r["note"] for r in page.rows)
    linked = {r["link"] for r in page.rows if r["link"]}
    assert linked == {"#pair-1", "#pair-2", "#pair-3"}
    assert any(r["note"] for r in page.rows)  # capped at 3 cards: some rows have no card, and say so
    note = "no card: beyond the first 3 detail cards" if locale == "en" else "无详情卡：超出前3张详情卡"
    assert note in html


def test_the_verbal_scale_states_its_source_and_that_gbt_governs(run):  # noqa: F811
    matches, loci, prov, _ = run
    html = render_html(matches, loci, prov)
    section = html.split('id="verbal-scale"')[1].split("</section>")[0]
    assert "ENFSI Guideline for Evaluative Reporting in Forensic Science" in section and "2015" in section
    assert "GB/T 37223-2018 gives no conclusion below CPI 10,000" in section
    assert "<td>strong support</td><td>inconclusive</td>" in section
    assert "<td>very strong support</td><td>support (CPI &ge; 10,000)</td>" in section
    card = detail_pairs(matches, 1).iloc[0]
    assert f"ENFSI verbal equivalent: {verbal_equivalent(float(card.log10_lr_total))}" in html
    assert verbal_equivalent(3.5) == "strong support for H1"


def test_a_family_without_a_parent_shows_ki_and_no_parent_columns(run):  # noqa: F811
    matches, loci, prov, members = run
    key = ["candidate_id", "lab", "family_id"]
    pair = detail_pairs(matches, 1).iloc[0]
    family = pair.family_id
    m = matches.copy()
    m.loc[m.family_id == family, "family_kind"] = "siblings"
    lo = loci.copy()
    lo.loc[lo.family_id == family, ["father_genotype", "mother_genotype"]] = ""
    mem = members.copy()
    mem.loc[mem.family_id == family, "relationship"] = "full_sibling"
    html = render_html(m, lo[lo.set_index(key).index.isin([tuple(pair[key])])], prov, samples=mem)
    card = html.split("<article")[1].split("</article>")[0]
    assert "<th>KI</th>" in card and "<th>PI</th>" not in card
    assert "<th>Father" not in card and "<th>Mother" not in card
    assert "Combined KI (product of per-locus KI)" in card and "(full sibling)" in card
    assert "the stated biological relationship between the child and the tested relatives" in card
    zh = render_html(m, lo[lo.set_index(key).index.isin([tuple(pair[key])])], prov, samples=mem, locale="zh_CN")
    assert "累计亲缘关系指数" in zh and "（全同胞）" in zh


@pytest.fixture(scope="module")
def sibling_run():
    """A real run with a sibling family (two typed full siblings) and a grandparent family."""
    import numpy as np
    import pandas as pd

    from kinship.app.match_run import assemble_inputs, effective_frequencies, new_run_id, pair_loci, provenance
    from kinship.app.parameters import MatchParameters
    from kinship.genetics.alleles import allele_sort_key
    from kinship.io.frequencies import load_bundled_table
    from kinship.matching.reference import score_all_pairs
    from tests.reference_run import compile_run, rank_matches
    from tests.unit.test_report import GENOTYPES
    from datetime import datetime, timezone

    g = pd.read_csv(ROOT / GENOTYPES, dtype=str).rename(
        columns={"sample": "sample_id", "allele1": "allele_1", "allele2": "allele_2"})
    pairs = [sorted(p, key=allele_sort_key) for p in zip(g.allele_1, g.allele_2)]
    g["allele_1"], g["allele_2"] = [p[0] for p in pairs], [p[1] for p in pairs]
    ids = sorted(g.sample_id.unique())
    refs, cands = ids[:3], ids[3:9]
    g = g[g.sample_id.isin(refs + cands)].copy()
    g["role"] = np.where(g.sample_id.isin(refs), "reference", "candidate")
    members = pd.DataFrame({"lab": "L", "family_id": ["S1", "S1", "G1"], "sample_id": refs,
                            "relationship": ["full_sibling", "full_sibling", "maternal_grandmother"]})
    inputs = assemble_inputs(g[["sample_id", "role", "locus", "allele_1", "allele_2"]], members)
    params = MatchParameters()
    table, subs = effective_frequencies(inputs, load_bundled_table(), floor=params.frequency_floor)
    compiled = compile_run(inputs, table, params.mutation_model, theta=params.theta)
    matches = rank_matches(compiled, score_all_pairs(compiled.family_tables_all, compiled.candidate_genotypes),
                           prior=params.prior)
    chosen = detail_pairs(matches)
    started = datetime(2026, 1, 2, tzinfo=timezone.utc)
    prov = provenance(compiled, params, subs, run_id=new_run_id(inputs, started), started_at=started)
    return compiled, matches, pair_loci(compiled, chosen), prov, members, g


def test_sibling_and_grandparent_cards_show_the_relatives_own_genotypes(sibling_run):
    from kinship.app.match_run import relative_genotypes

    compiled, matches, loci, prov, members, g = sibling_run
    rel = relative_genotypes(compiled, detail_pairs(matches))
    assert set(rel["relationship"]) == {"full_sibling", "maternal_grandmother"}
    assert len(rel) == 3 * len(compiled.loci)
    sib = sorted(members.sample_id[members.relationship == "full_sibling"])[0]
    # the genotype shown is the one ingested (the table's own allele labels)
    typed = g[(g.sample_id == sib) & (g.locus == "TH01")].iloc[0]
    assert rel.set_index(["sample_id", "locus"]).loc[(sib, "TH01"), "genotype"] == f"{typed.allele_1}/{typed.allele_2}"
    html = render_html(matches, loci, prov, samples=members, relatives=rel)
    for card in html.split("<article")[1:]:
        card = card.split("</article>")[0]
        assert "<th>Father" not in card and "<th>KI</th>" in card and "—</td>\n<td class=\"gt\">—" not in card
        if 'data-family="L/S1"' in card:
            assert f'<th>full sibling <span class="id">{sib}</span></th>' in card
            assert f'<td class="gt">{typed.allele_1}/{typed.allele_2}</td>' in card
        else:
            assert "<th>maternal grandmother <span" in card
    zh = render_html(matches, loci, prov, samples=members, relatives=rel, locale="zh_CN")
    assert f'<th>全同胞 <span class="id">{sib}</span></th>' in zh and "<th>外祖母 <span" in zh
    with pytest.raises(ReuniteInputError, match="relatives table lacks columns"):
        render_html(matches, loci, prov, relatives=rel.drop(columns="genotype"))


def test_the_prefect_summaries_follow_the_deployment_locale(run, monkeypatch):  # noqa: F811
    from kinship.app.ingest import IngestRecord, IngestSummary
    from kinship.report import ingestion_summary_markdown, summary_markdown

    matches, _, prov, _ = run
    en = summary_markdown(matches, prov)
    monkeypatch.setenv("REUNITE_LOCALE", "zh_CN")
    zh = summary_markdown(matches, prov)
    assert en.startswith("### Match run ") and zh.startswith("### 比对运行 ")
    n_support = int((matches.conclusion == "support").sum())
    assert f"| support (CPI ≥ 10,000) | {n_support} |" in en and f"| 支持（CPI ≥ 10,000） | {n_support} |" in zh
    assert "**支持的比对对**（送实验室复核确认）：" in zh and prov["frequency_table"]["sha256"] in zh
    s = IngestSummary("ab" * 32, "run7.txt", "run7.csv", 1, 1, 0, 0, 1, 0, 0, 0, False,
                      [IngestRecord.quarantined("run7.txt", 2, "C1", "TH01", "", "r", "f", kind="bad_allele")])
    text = ingestion_summary_markdown(s)
    assert text.startswith("### 导入`run7.txt`（样本清单`run7.csv`）") and "**未入库任何样本**" in text
    assert "| C1 | bad_allele | 1 | 2 |" in text
    assert ingestion_summary_markdown(s, locale="en").startswith("### Ingestion of `run7.txt`")
