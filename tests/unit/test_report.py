"""Run outputs: Parquet/CSV schema conformity and determinism, the HTML report, artifact helpers."""

from __future__ import annotations

from html import escape

import csv
import json
import math
from datetime import datetime, timezone
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from kinship.genetics.alleles import allele_sort_key
from kinship.errors import ReuniteInputError
from kinship.io.frequencies import load_bundled_table
from kinship.app.match_run import (
    assemble_inputs,
    effective_frequencies,
    new_run_id,
    pair_loci,
    provenance,
    reported_pairs,
)
from kinship.app.parameters import MatchParameters
from kinship.matching.reference import score_all_pairs
from tests.provenance_check import assert_valid_provenance
from tests.reference_run import compile_run, rank_matches
from kinship.report import (
    TABLE_SCHEMAS,
    arrow_schema,
    format_cpi,
    format_pi,
    format_posterior,
    render_html,
    summary_markdown,
    top_candidates_table,
    write_report,
    write_tables,
)
from schemas import load_schema

GENOTYPES = "kinship/data/genotypes/kgp_codis18_east_asia.csv"
H1 = "the candidate is the missing child of this family"
ARROW_NAMES = {"string": "string", "float64": "double", "int16": "int16", "int32": "int32", "bool": "bool"}
CSV_DTYPES = {"string": str, "float64": "float64", "int16": "int16", "int32": "Int32", "bool": bool}
NULLABLE_CSV_DTYPES = {"int16": "Int16", "bool": "boolean"}


def _child_of(g: pd.DataFrame, child_id: str, father: str | None, mother: str | None, rng) -> pd.DataFrame:
    """A child's genotypes: one allele from each typed parent (a random sample for an untyped one)."""
    rows = []
    for locus, at_locus in g.groupby("locus", sort=True):
        donors = at_locus.set_index("sample_id")
        others = at_locus[["allele_1", "allele_2"]].to_numpy().ravel()
        pair = []
        for parent in (father, mother):
            alleles = donors.loc[parent, ["allele_1", "allele_2"]].tolist() if parent else others
            pair.append(alleles[rng.integers(len(alleles))])
        pair.sort(key=allele_sort_key)
        rows.append({"sample_id": child_id, "locus": locus, "allele_1": pair[0], "allele_2": pair[1]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def run():
    """A small real run: 4 families (couple x2, father only, mother only), 12 unrelated
    candidates and 2 true children, so that some pairs support parentage."""
    g = pd.read_csv(GENOTYPES, dtype=str).rename(
        columns={"sample": "sample_id", "allele1": "allele_1", "allele2": "allele_2"}
    )
    pairs = [sorted(p, key=allele_sort_key) for p in zip(g.allele_1, g.allele_2)]
    g["allele_1"] = [p[0] for p in pairs]
    g["allele_2"] = [p[1] for p in pairs]
    ids = sorted(g.sample_id.unique())
    refs, unrelated = ids[:8], ids[8:20]
    g = g[g.sample_id.isin(refs + unrelated)]
    rng = np.random.default_rng(2018)
    children = pd.concat(
        [_child_of(g, "C-TRUE-1", refs[0], refs[1], rng), _child_of(g, "C-TRUE-2", refs[4], None, rng)]
    )
    g = pd.concat([g[["sample_id", "locus", "allele_1", "allele_2"]], children], ignore_index=True)
    g["role"] = np.where(g.sample_id.isin(refs), "reference", "candidate")
    members = pd.DataFrame(
        {
            "lab": "L",
            "family_id": ["F000", "F000", "F001", "F001", "F002", "F003"],
            "sample_id": [refs[0], refs[1], refs[2], refs[3], refs[4], refs[7]],
            "relationship": ["father", "mother", "father", "mother", "father", "mother"],
        }
    )
    inputs = assemble_inputs(g[["sample_id", "role", "locus", "allele_1", "allele_2"]], members)
    params = MatchParameters()
    table, subs = effective_frequencies(inputs, load_bundled_table(), floor=params.frequency_floor)
    compiled = compile_run(inputs, table, params.mutation_model, theta=params.theta)
    scores = score_all_pairs(compiled.family_tables_all, compiled.candidate_genotypes)
    matches = rank_matches(compiled, scores, prior=params.prior)
    loci = pair_loci(compiled, reported_pairs(matches))
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    prov = provenance(
        compiled, params, subs, run_id=new_run_id(inputs, started), started_at=started
    )
    return matches, loci, prov, members


def _with_exclusion(matches: pd.DataFrame, loci: pd.DataFrame):
    """Copies where the worst reported pair is an exclusion without mutation (LR 0)."""
    matches, loci = matches.copy(), loci.copy()
    key = loci[["candidate_id", "lab", "family_id"]].drop_duplicates()
    worst = key.merge(matches).sort_values("log10_lr").iloc[0]
    def same(df):
        return (df.candidate_id == worst.candidate_id) & (df.lab == worst.lab) & (df.family_id == worst.family_id)

    matches.loc[same(matches), ["log10_lr", "posterior"]] = [-np.inf, 0.0]
    first_inconsistent = loci.index[same(loci) & loci.inconsistent][0]
    loci.loc[first_inconsistent, "log10_pi"] = -np.inf
    return matches, loci, (worst.candidate_id, f"{worst.lab}/{worst.family_id}")


def test_fixture_has_supports_and_every_family_kind(run):
    matches, _, prov, _ = run
    assert (matches.conclusion == "support").sum() >= 2
    assert prov["inputs"]["family_kinds"] == {"couple": 2, "father only": 1, "mother only": 1}


# ---------------------------------------------------------------------------------- tables


@pytest.mark.parametrize("name", ["matches.v1", "pair_loci.v1", "pair_loci.v2"])
def test_arrow_schema_follows_the_json_schema(name):
    spec = load_schema(name)
    schema = arrow_schema(name)
    assert schema.names == [f["name"] for f in spec["fields"]]
    for f in spec["fields"]:
        field = schema.field(f["name"])
        assert str(field.type) == ARROW_NAMES[f["type"]]
        assert field.nullable == f["nullable"]
    assert schema.metadata == {b"schema_id": spec["$id"].encode()}


def _plain(column: pd.Series) -> list:
    """Values as Python objects with every kind of null (NaN, NA, None) as None."""
    return column.astype(object).where(column.notna(), None).tolist()


def test_parquet_round_trip_keeps_schema_values_and_provenance(run, tmp_path):
    matches, loci, prov, _ = run
    matches, loci, _ = _with_exclusion(matches, loci)
    paths = write_tables(tmp_path, matches, loci, prov)
    assert sorted(paths) == ["matches.csv", "matches.parquet", "pair_loci.csv", "pair_loci.parquet", "provenance.json"]
    written = json.loads((tmp_path / "provenance.json").read_text(encoding="utf-8"))
    assert written["outputs"]["matches.parquet"] == {"schema": "reunite/matches/3", "n_rows": len(matches)}
    assert prov["outputs"] == {}  # the caller's record is not modified
    assert_valid_provenance(prov)
    assert_valid_provenance(written)
    assert written["outputs"]["provenance.json"] == {"schema": "reunite/provenance/4"}
    for name, df in (("matches", matches), ("pair_loci", loci)):
        table = pq.read_table(paths[f"{name}.parquet"])
        expected = arrow_schema(TABLE_SCHEMAS[name])
        assert table.schema.remove_metadata().equals(expected.remove_metadata(), check_metadata=False)
        assert [f.nullable for f in table.schema] == [f.nullable for f in expected]
        assert table.schema.metadata[b"schema_id"] == expected.metadata[b"schema_id"]
        assert json.loads(table.schema.metadata[b"provenance"]) == written
        back = table.to_pandas()
        for column in df.columns:
            assert _plain(back[column]) == _plain(df[column]), column
    back = pq.read_table(paths["matches.parquet"]).to_pandas()
    assert np.isneginf(back.log10_lr).sum() == 1


def test_csv_round_trip_is_exact_and_writes_minus_inf(run, tmp_path):
    matches, loci, prov, _ = run
    matches, loci, _ = _with_exclusion(matches, loci)
    paths = write_tables(tmp_path, matches, loci, prov)
    assert ",-inf," in paths["matches.csv"].read_text(encoding="utf-8")
    for name, df in (("matches", matches), ("pair_loci", loci)):
        schema = load_schema(TABLE_SCHEMAS[name])
        dtypes = {f["name"]: NULLABLE_CSV_DTYPES.get(f["type"], CSV_DTYPES[f["type"]]) if f.get("nullable")
                  else CSV_DTYPES[f["type"]] for f in schema["fields"]}
        nullable = [f["name"] for f in schema["fields"] if f.get("nullable")]
        back = pd.read_csv(paths[f"{name}.csv"], dtype=dtypes, keep_default_na=False, na_values={c: [""] for c in nullable})
        assert list(back.columns) == list(df.columns)
        for column in df.columns:
            want = df[column].astype(object).where(df[column].notna(), None).tolist()
            got = back[column].astype(object).where(back[column].notna(), None).tolist()
            assert got == want, column  # floats bit-exact, nulls as empty cells


def test_same_inputs_write_byte_identical_files(run, tmp_path):
    matches, loci, prov, _ = run
    first = write_tables(tmp_path / "a", matches, loci, prov)
    second = write_tables(tmp_path / "b", matches, loci, prov)
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_a_formula_in_a_text_cell_is_neutralised_in_the_csv_but_not_in_parquet(run, tmp_path):
    matches, loci, prov, _ = run
    first = matches.candidate_id.iloc[0]
    hostile = '=HYPERLINK("x")'

    def poison(df):
        return df.assign(candidate_id=df.candidate_id.where(df.candidate_id != first, hostile), lab="+1")

    clean = write_tables(tmp_path / "clean", matches, loci, prov)
    paths = write_tables(tmp_path / "hostile", poison(matches), poison(loci), prov)
    for name in ("matches", "pair_loci"):
        with open(paths[f"{name}.csv"], newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        with open(clean[f"{name}.csv"], newline="", encoding="utf-8") as f:
            clean_rows = list(csv.DictReader(f))
        assert {r["lab"] for r in rows} == {"'+1"}, name
        ids = {r["candidate_id"] for r in rows}
        assert "'" + hostile in ids and hostile not in ids, name
        numeric = [f["name"] for f in load_schema(TABLE_SCHEMAS[name])["fields"] if f["type"] != "string"]
        assert [[r[c] for c in numeric] for r in rows] == [[r[c] for c in numeric] for r in clean_rows], name
        assert all(not r[c].startswith("'") for r in rows for c in numeric), name
        back = pq.read_table(paths[f"{name}.parquet"]).to_pandas()
        assert set(back.lab) == {"+1"} and hostile in set(back.candidate_id), name  # Parquet as given
    assert any(r["log10_lr"].startswith("-") for r in csv.DictReader(paths["matches.csv"].open()))


def test_null_in_a_non_nullable_column_is_refused_before_writing(run, tmp_path):
    matches, loci, prov, _ = run
    bad = matches.copy()
    bad.loc[[0, 3], "log10_lr"] = np.nan
    with pytest.raises(ReuniteInputError, match=r"column 'log10_lr' is non-nullable but has 2 null value\(s\)"):
        write_tables(tmp_path, bad, loci, prov)
    bad = loci.copy()
    bad["father_genotype"] = bad["father_genotype"].astype(object)
    bad.loc[1, "father_genotype"] = None
    message = r"table 'pair_loci.v2': column 'father_genotype' is non-nullable but has 1 null"
    with pytest.raises(ReuniteInputError, match=message):
        write_tables(tmp_path, matches, bad, prov)
    assert not any(tmp_path.iterdir())


def test_tables_off_schema_are_refused(run, tmp_path):
    matches, loci, prov, _ = run
    with pytest.raises(ReuniteInputError, match=r"table 'matches.v3' lacks columns \['flagged'\]"):
        write_tables(tmp_path, matches.drop(columns="flagged"), loci, prov)
    with pytest.raises(ReuniteInputError, match=r"has columns \['note'\] that schemas/matches.v3.json does not define"):
        write_tables(tmp_path, matches.assign(note="x"), loci, prov)
    with pytest.raises(ReuniteInputError, match=r"column 'conclusion' has 1 row\(s\) with values \['maybe'\]"):
        write_tables(tmp_path, matches.assign(conclusion=["maybe"] + matches.conclusion.tolist()[1:]), loci, prov)
    with pytest.raises(ReuniteInputError, match=r"column 'n_loci_compared' .* can not be stored as int16"):
        write_tables(tmp_path, matches.assign(n_loci_compared=40000), loci, prov)


# ---------------------------------------------------------------------------------- html


class _Cards(HTMLParser):
    """Detail cards: {(candidate, family): {locus: (css class, data-log10-pi, PI text)}}."""

    def __init__(self):
        super().__init__()
        self.cards, self.card, self.row, self.cell, self.in_pi = {}, None, None, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article":
            self.card = self.cards.setdefault((a["data-candidate-id"], a["data-family"]), {})
            self.card_class = a["class"]
        elif tag == "tr" and self.card is not None and "data-locus" in a:
            self.row = [a["data-locus"], a["class"], float(a["data-log10-pi"]), ""]
        elif tag == "td" and self.row is not None and "pi" in a.get("class", "").split():
            self.in_pi = True

    def handle_endtag(self, tag):
        if tag == "td":
            self.in_pi = False
        elif tag == "tr" and self.row is not None:
            locus, css, log10_pi, text = self.row
            self.card[locus] = (css, log10_pi, text)
            self.row = None
        elif tag == "article":
            self.card = None

    def handle_data(self, data):
        if self.in_pi:
            self.row[3] += data


def _parse_cards(html: str) -> dict:
    parser = _Cards()
    parser.feed(html)
    return parser.cards


def test_html_states_hypotheses_model_thresholds_and_table(run):
    matches, loci, prov, _ = run
    html = render_html(matches, loci, prov)
    assert html.startswith("<!DOCTYPE html>")
    assert f"{H1}." in html and "the candidate is unrelated to this family." in html
    assert "GB/T 37223-2018" in html
    assert "CPI &ge; 10,000" in html and "CPI &lt; 0.0001" in html and "&ge; 3 inconsistent loci" in html
    assert prov["mutation_model"] in html
    assert "&theta; = 0" in html
    assert prov["frequency_table"]["sha256"] in html
    for s in prov["frequency_table"]["substitutions"]:
        assert f"<td>{s['locus']}</td><td>{s['allele']}</td>" in html
    assert prov["run_id"] in html and "2026-01-02" in html
    assert "<script" not in html and "http" not in html.split("</style>")[0]


def test_html_detail_cards_show_pair_loci_pi(run):
    matches, loci, prov, members = run
    html = render_html(matches, loci, prov, samples=members)
    cards = _parse_cards(html)
    keys = loci[["candidate_id", "lab", "family_id"]].drop_duplicates()
    assert len(cards) == len(keys)
    for row in loci.itertuples(index=False):
        css, log10_pi, text = cards[(row.candidate_id, f"{row.lab}/{row.family_id}")][row.locus]
        assert log10_pi == row.log10_pi
        assert css == ("inconsistent" if row.inconsistent else "compared" if row.compared else "not-compared")
        if not row.compared:
            assert text == "—"
        elif "×" not in text:  # plain decimal, 4 significant digits
            assert float(text) == pytest.approx(10.0**row.log10_pi, rel=5e-4)
        assert text == (format_pi(row.log10_pi).replace("^", "") if row.compared else "—")
    father = members[(members.family_id == "F000") & (members.relationship == "father")].sample_id.iloc[0]
    assert f'Father <span class="id">{father}</span>' in html
    assert 'class="card support"' in html


def test_a_run_writes_per_locus_rows_only_for_the_detail_cards(run):
    from kinship.report.formatting import detail_pairs, reported_pairs

    matches, loci, prov, _ = run
    key = ["candidate_id", "lab", "family_id"]
    cards = detail_pairs(matches, 3)
    assert len(cards) == 3 and len(reported_pairs(matches)) > 3
    # by need (issue 13): the supported and flagged pairs first, weakest first, then the others by LR
    need = (matches["conclusion"] == "support") | matches["flagged"]
    first = matches[need].sort_values(["log10_lr_total", "candidate_id"])
    rest = reported_pairs(matches).merge(matches[~need][key], on=key)
    chosen = pd.concat([first, rest])[key].head(3).values.tolist()
    assert sorted(cards[key].values.tolist()) == sorted(chosen)
    # pair_loci keeps the rows of descending LR (the order of reported_pairs)
    assert cards[key].values.tolist() == [k for k in reported_pairs(matches)[key].values.tolist() if k in chosen]
    html = render_html(matches, loci[loci.set_index(key).index.isin(cards.set_index(key).index)], prov)
    n = len(reported_pairs(matches))
    assert len(list(_parse_cards(html))) == 3 and f"Showing the first 3 of {n} such pairs" in html


def test_html_orders_cards_by_need_weakest_supported_first_and_caps_them(run):
    matches, loci, prov, _ = run
    html = render_html(matches, loci, prov, max_pairs=3)
    cards = list(_parse_cards(html))
    n_pairs = len(loci[["candidate_id", "lab", "family_id"]].drop_duplicates())
    assert len(cards) == 3 and f"Showing the first 3 of {n_pairs} such pairs (these are the pairs of pair_loci.csv)" in html
    keys = list(zip(matches.candidate_id, matches.lab + "/" + matches.family_id))
    by_key = matches.set_index(pd.MultiIndex.from_tuples(keys))
    supported = [k for k in cards if by_key.loc[k, "conclusion"] == "support" or by_key.loc[k, "flagged"]]
    # the supported pairs come first and ascend in LR (the weakest, which need scrutiny, first)
    assert cards[:len(supported)] == supported and len(supported) >= 1
    lr = [by_key.loc[k, "log10_lr_total"] for k in supported]
    assert lr == sorted(lr)
    n_supported = int(((matches["conclusion"] == "support") | matches["flagged"]).sum())
    assert len(supported) == min(3, n_supported)


def test_html_prints_lr_zero_as_exclusion(run):
    matches, loci, prov, _ = run
    matches, loci, pair = _with_exclusion(matches, loci)
    html = render_html(matches, loci, prov)
    assert "0 (exclusion)" in html
    card = _parse_cards(html)[pair]
    assert any(text == "0 (exclusion)" and math.isinf(v) for _, v, text in card.values())
    assert format_cpi(-math.inf) == "0 (exclusion)"


def test_html_marks_flagged_pairs(run):
    matches, loci, prov, _ = run
    matches = matches.copy()
    worst = matches.index[matches.candidate_id == "C-TRUE-1"][0]
    matches.loc[worst, ["n_inconsistent", "conclusion", "flagged"]] = [3, "excluded", True]
    html = render_html(matches, loci, prov)
    assert 'class="card flagged"' in html and "flagged: review" in html
    assert "No pair is flagged." not in html


def test_html_escapes_ids(run):
    matches, loci, prov, _ = run
    evil = '<x>&"'
    matches = matches.replace({"candidate_id": {"C-TRUE-1": evil}})
    loci = loci.replace({"candidate_id": {"C-TRUE-1": evil}})
    html = render_html(matches, loci, prov)
    assert evil not in html and "<x>" not in html
    assert "&lt;x&gt;&amp;&#34;" in html
    assert (evil, "L/F000") in _parse_cards(html)


def test_html_refuses_pairs_absent_from_matches(run):
    matches, loci, prov, _ = run
    with pytest.raises(ReuniteInputError, match=r"pair_loci holds \d+ pair\(s\) absent from matches"):
        render_html(matches[matches.candidate_id != "C-TRUE-1"], loci, prov)


def test_write_report_writes_utf8(run, tmp_path):
    matches, loci, prov, _ = run
    path = write_report(tmp_path, matches, loci, prov, max_pairs=2)
    assert path.name == "report.html"
    assert path.read_text(encoding="utf-8") == render_html(matches, loci, prov, max_pairs=2)


# ---------------------------------------------------------------------------------- artifacts


def test_summary_markdown_counts_and_table(run):
    matches, _, prov, _ = run
    text = summary_markdown(matches, prov)
    assert f"| pairs compared | {len(matches):,} |" in text
    assert f"| support (CPI ≥ 10,000) | {(matches.conclusion == 'support').sum()} |" in text
    assert prov["frequency_table"]["sha256"] in text
    assert "C\\-TRUE\\-1" in text or "C-TRUE-1" in text


def test_top_candidates_table_is_json_safe_and_ranked(run):
    matches, _, _, _ = run
    matches = matches.copy()
    best = matches[matches.rank_for_candidate == 1]
    matches.loc[best.log10_lr.idxmin(), ["log10_lr", "posterior"]] = [-np.inf, 0.0]
    rows = top_candidates_table(matches, n=100)
    json.dumps(rows, allow_nan=False)
    assert len(rows) == matches.candidate_id.nunique()
    assert {r["candidate_id"] for r in rows[:2]} == {"C-TRUE-1", "C-TRUE-2"}
    assert all(r["conclusion"] == "support" for r in rows[:2])
    assert rows[-1]["log10_lr"] is None and rows[-1]["cpi"] == "0 (exclusion)"
    finite = [r["log10_lr"] for r in rows if r["log10_lr"] is not None]
    assert finite == sorted(finite, reverse=True)
    assert len(top_candidates_table(matches, n=3)) == 3


def test_ranked_tables_are_capped_at_max_rows(run):
    matches, loci, prov, _ = run
    html = render_html(matches, loci, prov, max_rows=2)
    n_candidates = int(matches["rank_for_candidate"].eq(1).sum())
    assert f"The 2 strongest of {n_candidates:,} candidates are shown" in html


def test_a_partial_genotype_shows_as_allele_slash_question_mark_escaped(run, tmp_path):
    """A partial genotype (issue 10: ``("12", "?")``) is shown ``12/?`` in the card, the CSV and
    the Parquet table; a hostile genotype text is escaped in the HTML."""
    matches, loci, prov, members = run
    loci = loci.copy()
    first, second = loci.index[0], loci.index[1]
    loci.loc[first, "candidate_genotype"] = "12/?"
    loci.loc[second, "father_genotype"] = "<b>9</b>/?"
    html = render_html(matches, loci, prov, samples=members)
    assert '<td class="gt">12/?</td>' in html
    assert '<td class="gt">&lt;b&gt;9&lt;/b&gt;/?</td>' in html and "<b>9</b>" not in html
    paths = write_tables(tmp_path, matches, loci, prov)
    with open(paths["pair_loci.csv"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["candidate_genotype"] == "12/?"
    assert pq.read_table(paths["pair_loci.parquet"]).to_pandas()["candidate_genotype"].iloc[0] == "12/?"


def test_html_shows_posteriors_after_database_size_and_the_joint_assignment(run):
    """The cards and tables print the database-aware posteriors (both sides, the lower bound)
    and the joint assignment of supported pairs, with the prior stated; no pairwise 0.5-prior
    posterior is printed anywhere."""
    matches, loci, prov, members = run
    html = render_html(matches, loci, prov, samples=members)
    true = matches[(matches.candidate_id == "C-TRUE-1") & (matches.family_id == "F000")].iloc[0]
    assert true.conclusion == "support" and true.joint_group >= 1 and bool(true.joint_exact)
    assert f"P(this family | child, every family on file): <strong title=\"{float(true.posterior)!r}\">" in html
    shown = lambda p: escape(format_posterior(float(p)))  # noqa: E731 - as the page escapes it
    assert f"(at least {shown(true.posterior_lower)})" in html
    assert f"P(this child | family, every candidate on file): <strong>{shown(true.family_posterior)}</strong>" in html
    assert f"Joint assignment: <strong>{shown(true.joint_posterior)}</strong>" in html
    assert "Prior probability of H1" not in html and "prior 0.5; the rest spread evenly over the 4 families" in html
    # 4 families, 14 candidates, every pair known: the candidate's posteriors and "not on file" add to 1
    c1 = matches[matches.candidate_id == "C-TRUE-1"]
    w = 0.5 / 4
    d = 0.5 + w * (10.0 ** c1.log10_lr_total).sum()
    assert float(true.posterior) == pytest.approx(w * 10.0 ** float(true.log10_lr_total) / d, rel=1e-12)


def test_html_power_section_only_for_the_families_given_and_escaped(run):
    matches, loci, prov, _ = run
    assert "Power and the next relative" not in render_html(matches, loci, prov)
    cur = {"support_log10": 5.7, "gated": True, "expected_false_hits": [0.87, 0.92], "n_candidates": 100000,
           "quantiles_h1": {"0.05": [2.1, 2.2], "0.5": [5.0, 5.04]}, "expected_lr_h2": 1.0}
    nxt = {"relationship": "father", "family_kind": "couple", "p_support": [0.99, 1.0], "gain": [0.67, 0.69],
           "power": {**cur, "support_log10": 4.0, "gated": False, "expected_false_hits": [0.0, 0.0003]}}
    record = {"family_key": "L/<i>F1</i>", "family_kind": "mother only", "current": cur, "p_support": [0.308, 0.321],
              "next_relatives": [nxt], "not_considered": {"maternal_grandfather": "the mother is typed"}}
    html = render_html(matches, loci, prov, power=[record])
    section = html[html.index('<section id="power">'):html.index('<section id="details"')]
    assert "L/&lt;i&gt;F1&lt;/i&gt;" in section and "<i>" not in section
    assert "0.308 to 0.321" in section and "5.0 × 10<sup>5</sup>" not in section and "5.0 × 10^5" in section
    assert "<td>father</td><td>couple</td>" in section and "0.67 to 0.69" in section
    assert "Not considered: maternal grandfather (the mother is typed)." in section


def test_a_family_without_a_parent_is_not_asked_for_the_other_parent(run):
    matches, loci, prov, _ = run
    top = matches.sort_values("log10_lr", ascending=False).index[0]  # shown in a detail card
    for kind, text in [("siblings", "inconclusive: type more loci or more relatives (a parent helps most"),
                       ("couple", "inconclusive: type more loci</span>"),
                       ("mother only", "inconclusive: type more loci or the other parent")]:
        m = matches.copy()
        m.loc[top, ["family_kind", "conclusion"]] = [kind, "inconclusive"]
        html = render_html(m, loci, prov)
        assert text in html, kind
    m = matches.copy()
    m.loc[top, ["family_kind", "conclusion"]] = ["siblings", "support"]
    assert "supports the relationship: send for lab confirmation" in render_html(m, loci, prov)


def _csv_cells_one_by_one(df: pd.DataFrame, name: str) -> dict[str, list[str]]:
    """The CSV cells as the per-cell rule states them (the reference of the column-at-a-time writer)."""
    from kinship.report.spreadsheet import spreadsheet_safe
    out = {}
    for f in load_schema(name)["fields"]:
        column = df[f["name"]]
        if f["type"] == "float64":
            out[f["name"]] = ["" if pd.isna(x) else repr(float(x)) for x in column]
        elif f["type"] == "bool":
            out[f["name"]] = ["" if pd.isna(x) else ("True" if bool(x) else "False") for x in column]
        else:
            out[f["name"]] = [spreadsheet_safe("" if pd.isna(x) else str(x)) for x in column]
    return out


def test_csv_cells_match_the_per_cell_rule_on_awkward_values(run):
    from kinship.report.tables import _csv_frame
    matches, loci, _, _ = run
    rng = np.random.default_rng(7)
    n = len(matches)
    odd = matches.copy()
    specials = np.array([-np.inf, -0.0, 0.0, 5e-324, 1e16, 1e-5, 123456789.125, np.nan, 1 / 3])
    odd["log10_lr_total"] = np.where(rng.random(n) < 0.5, specials[rng.integers(0, specials.size, n)],
                                     rng.standard_normal(n) * 10.0 ** rng.integers(-20, 20, n))
    odd["log10_lr_total"] = odd["log10_lr_total"].fillna(-np.inf)  # non-nullable: -inf, never NaN
    odd["posterior"] = np.where(rng.random(n) < 0.3, np.nan, rng.random(n))
    odd["joint_exact"] = pd.array([None if i % 3 == 0 else bool(i % 2) for i in range(n)], dtype="boolean")
    odd["rank_for_family"] = pd.array([None if i % 4 == 0 else i for i in range(n)], dtype="Int32")
    odd["candidate_id"] = [("=" if i % 5 == 0 else "") + c for i, c in enumerate(odd["candidate_id"])]
    for frame, name in ((odd, TABLE_SCHEMAS["matches"]), (loci, TABLE_SCHEMAS["pair_loci"])):
        got = _csv_frame(frame, name)
        want = _csv_cells_one_by_one(frame, name)
        assert list(got.columns) == list(want)
        for column, cells in want.items():
            assert got[column].tolist() == cells, column
    assert any(c.startswith("'=") for c in _csv_frame(odd, TABLE_SCHEMAS["matches"])["candidate_id"])


def test_a_csv_written_a_slice_at_a_time_is_the_one_written_whole(run, tmp_path, monkeypatch):
    from kinship.report import tables as report_tables
    matches, loci, prov, _ = run
    whole = write_tables(tmp_path / "whole", matches, loci, prov)
    monkeypatch.setattr(report_tables, "CSV_CHUNK_ROWS", 3)  # many slices, the last one short
    sliced = write_tables(tmp_path / "sliced", matches, loci, prov)
    empty = write_tables(tmp_path / "empty", matches.iloc[:0], loci.iloc[:0], prov)
    for name in ("matches.csv", "pair_loci.csv"):
        assert sliced[name].read_bytes() == whole[name].read_bytes(), name
        assert empty[name].read_text(encoding="utf-8").count("\n") == 1  # the header alone
    assert len(matches) > 3 and whole["matches.csv"].read_text(encoding="utf-8").count("\n") == len(matches) + 1


def _awkward(matches: pd.DataFrame, loci: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's tables with every kind of cell the CSV and Parquet writers must get right:
    text the csv module quotes (``,``, ``"``, line ends), formula prefixes, non-ASCII, NUL and
    empty text; floats at the edges of repr's notation; nulls in every nullable column type."""
    rng = np.random.default_rng(11)
    texts = np.array(["C,1", 'C"2"', "C\n3", "C\r4", "=C5", "+C6", "-C7", "@C8", "\tC9", "岛-10", "", " C11 ",
                      "C\x0012", '"=x",y'], dtype=object)
    odd = matches.copy()
    n = len(odd)
    ids = odd["candidate_id"].astype(str).tolist()
    odd["candidate_id"] = pd.array([texts[(i // 2) % texts.size] if i % 2 == 0 else c for i, c in enumerate(ids)],
                                   dtype="str")
    odd["lab"] = odd["lab"].astype(str).to_numpy(dtype=object)  # an object column, not str
    odd["family_id"] = pd.array([f"F,{i}" if i % 3 == 0 else f"F{i}" for i in range(n)], dtype="str")
    specials = np.array([-np.inf, -0.0, 0.0, 5e-324, 1e16, 9999999999999998.0, 1e-4, 1e-5, 123456789.125, 1 / 3,
                         2.0**53, 1e22, 1.7976931348623157e308])
    odd["log10_lr_total"] = specials[rng.integers(0, specials.size, n)]
    odd["posterior"] = 10.0 ** -rng.uniform(0, 60, n)
    odd["p_unrelated"] = np.where(rng.random(n) < 0.3, np.nan, rng.random(n))
    odd["log10_lr_y"] = pd.array([None if i % 2 else float(i) / 7 for i in range(n)], dtype="Float64")
    odd["n_y_loci_compared"] = pd.array([None if i % 2 else i % 17 for i in range(n)], dtype="Int16")
    odd["joint_exact"] = pd.array([None if i % 3 == 0 else bool(i % 2) for i in range(n)], dtype="boolean")
    odd["rank_for_family"] = pd.array([None if i % 4 == 0 else i for i in range(n)], dtype="Int32")
    odd["joint_group"] = pd.array([None if i % 5 else 40_000 + i for i in range(n)], dtype="Int32")
    odd_loci = loci.copy()
    odd_loci["candidate_genotype"] = [("=" if i % 4 == 0 else "") + g + ("," if i % 3 == 0 else "")
                                      for i, g in enumerate(odd_loci["candidate_genotype"].astype(str))]
    return odd, odd_loci


def _to_csv_reference(df: pd.DataFrame, name: str) -> bytes:
    """The file as the per-cell rule and pandas' to_csv write it (the writer before issue 12's outputs work)."""
    cells = pd.DataFrame(_csv_cells_one_by_one(df, name), dtype=object)
    return cells.to_csv(index=False, lineterminator="\n").encode("utf-8")


@pytest.mark.parametrize("chunk_rows", [3, 200_000])
@pytest.mark.parametrize("compiled", [True, False])
def test_the_csv_files_are_the_bytes_of_the_per_cell_rule_written_by_pandas(run, tmp_path, monkeypatch, chunk_rows,
                                                                            compiled):
    """Compiled (numba: repr and the rows) or by the csv module, a slice at a time or whole: the
    bytes of the per-cell rule's cells written by ``DataFrame.to_csv``, quotes and all."""
    from kinship.report import csv_text, tables as report_tables
    matches, loci, prov, _ = run
    odd, odd_loci = _awkward(matches, loci)
    assert len(odd) >= 28  # every awkward text once at least
    if compiled and not csv_text.HAVE_NUMBA:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(csv_text, "HAVE_NUMBA", compiled)
    monkeypatch.setattr(report_tables, "CSV_CHUNK_ROWS", chunk_rows)
    paths = write_tables(tmp_path, odd, odd_loci, prov)
    assert paths["matches.csv"].read_bytes() == _to_csv_reference(odd, TABLE_SCHEMAS["matches"])
    assert paths["pair_loci.csv"].read_bytes() == _to_csv_reference(odd_loci, TABLE_SCHEMAS["pair_loci"])
    text = paths["matches.csv"].read_text(encoding="utf-8")
    assert '"C,1"' in text and '"C""2"""' in text and "'=C5" in text and '"F,0"' in text
    assert paths["matches.csv"].read_bytes() != _to_csv_reference(matches, TABLE_SCHEMAS["matches"])


def test_parquet_columns_are_stored_as_the_numpy_path_stores_them(run, tmp_path):
    """str columns (one chunk or many), object text, nullable boolean, Int and Float columns:
    the same Arrow arrays, in one chunk each, as through NumPy, so the same Parquet bytes."""
    import pyarrow as pa
    from kinship.report.tables import _arrow_table
    matches, loci, prov, _ = run
    odd, _ = _awkward(matches, loci)
    chunked = pd.concat([odd.iloc[:5], odd.iloc[5:]], ignore_index=True)  # str columns of 2 chunks
    assert chunked["candidate_id"].array._pa_array.num_chunks == 2
    schema = arrow_schema(TABLE_SCHEMAS["matches"])
    for frame in (odd, chunked):
        numpy_path = pa.Table.from_arrays(
            [pa.array((frame[f.name].astype(object) if f.type == pa.string() else frame[f.name]).to_numpy(),
                      type=f.type, from_pandas=True) for f in schema], schema=schema)
        table = _arrow_table(frame, TABLE_SCHEMAS["matches"], prov)
        assert all(column.num_chunks == 1 for column in table.columns)
        assert table.equals(numpy_path.replace_schema_metadata(table.schema.metadata))
        pq.write_table(table, tmp_path / "new.parquet", compression="zstd")
        pq.write_table(numpy_path.replace_schema_metadata(table.schema.metadata), tmp_path / "old.parquet",
                       compression="zstd")
        assert (tmp_path / "new.parquet").read_bytes() == (tmp_path / "old.parquet").read_bytes()


def test_a_failed_parquet_write_is_raised_after_the_csv_thread_stops(run, tmp_path, monkeypatch):
    from kinship.report import tables as report_tables
    matches, loci, prov, _ = run

    def full_disk(table, path, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(report_tables.pq, "write_table", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_tables(tmp_path, matches, loci, prov)
    assert (tmp_path / "matches.csv").stat().st_size > 0  # the CSV files were written meanwhile


def test_each_familys_best_candidates_in_the_order_of_its_best_pair(run):
    """The table "best candidates per family": the first ``max_rows`` families by their best
    pair's LR (then lab, family), each with its pairs ranked 1 to 3 in rank order."""
    matches, loci, prov, _ = run
    top = matches[matches["rank_for_family"].le(3).fillna(False)]
    best = top[top["rank_for_family"] == 1].set_index(["lab", "family_id"])["log10_lr"]
    families = sorted(best.index, key=lambda k: (-best[k], k))
    for max_rows in (1, 2, 1000):
        html = render_html(matches, loci, prov, max_rows=max_rows)
        section = html[html.index('<table class="matches family-group">'):]
        section = section[:section.index("</table>")]
        shown = [f"{lab}/{family_id}" for lab, family_id in families[:max_rows]]
        found = [cell.split("<br>")[0] for cell in section.split('rowspan="')[1:]]
        assert [f.split('">', 1)[1] for f in found] == shown
        for lab, family_id in families[:max_rows]:
            ranks = top[(top["lab"] == lab) & (top["family_id"] == family_id)]["rank_for_family"].tolist()
            assert f'rowspan="{len(ranks)}">{lab}/{family_id}<br>' in section
