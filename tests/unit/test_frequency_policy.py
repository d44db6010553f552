"""Frequency-table policy (issue 10, items 5 and 6): the sum rule, one label per allele, silent
alleles read and kept or dropped, loci the table lacks named in the report, missing frequencies
refused clearly (never a numpy ValueError or an IndexError)."""

from __future__ import annotations

import io
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kinship.app import match_run as mr
from kinship.app.parameters import MatchParameters
from kinship.errors import AlleleError, FrequencyTableError, PedigreeError
from kinship.genetics.frequencies import FrequencyTable, Renormalisation, effective_table, table_hash
from kinship.io.familias import read_familias
from kinship.io.frequencies import BUNDLED_TABLES, load_bundled_table, read_frequency_csv
from kinship.report import render_html, summary_markdown
from tests.provenance_check import assert_valid_provenance

FAM = Path(__file__).parents[1] / "data" / "familias"
HEAD = "locus,allele,frequency\n"
STARTED = datetime(2026, 12, 2, 5, 0, 0, tzinfo=timezone.utc)


def _csv(text: str, name: str = "t") -> FrequencyTable:
    return read_frequency_csv(io.StringIO(HEAD + text), name=name)


# A trio at TH01 and TPOX; the candidate C is the couple's child.
GENOTYPES = pd.DataFrame({
    "sample_id": ["F", "M", "C"] * 2,
    "role": ["reference", "reference", "candidate"] * 2,
    "locus": ["TH01"] * 3 + ["TPOX"] * 3,
    "allele_1": ["6", "7", "6", "8", "8", "8"],
    "allele_2": ["9.3", "7", "7", "11", "8", "11"],
})
MEMBERS = pd.DataFrame({"lab": ["L", "L"], "family_id": ["F1", "F1"], "sample_id": ["F", "M"],
                        "relationship": ["father", "mother"]})
TH01 = "TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.4\n"
TPOX = "TPOX,8,0.5\nTPOX,11,0.5\n"


def _run(table: FrequencyTable, params: MatchParameters = MatchParameters()):
    """The match flow's steps on the trio: matches, pair loci and provenance (schema v3)."""
    inputs = mr.assemble_inputs(GENOTYPES, MEMBERS)
    eff, subs = mr.effective_frequencies(inputs, table, floor=params.frequency_floor,
                                         silent_alleles=params.silent_alleles)
    run = mr.encode_run(inputs, eff, params.mutation_model, theta=params.theta)
    plan = mr.plan_run(run, params)
    results = [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold) for f, c in plan.shards]
    matches = mr.collect_matches(run, results, k=params.k)
    matches = mr.calibrate(run, matches, threshold=params.threshold, max_expected_unrelated=params.max_expected_unrelated)
    matches = mr.assess(run, matches, prior=params.prior, k=params.k, threshold=params.threshold)
    loci = mr.pair_loci(run, mr.reported_pairs(matches))
    prov = mr.provenance(run, params, subs, started_at=STARTED, plan=plan, matches=matches)
    assert_valid_provenance(prov)
    return run, matches, loci, prov


# ---------------------------------------------------------------------------------------------
# The sum rule: outside 1 ± 0.01 refused; within, renormalised with a warning beyond rounding


def test_a_locus_summing_to_0_97_is_refused_naming_the_locus_and_the_sum():
    with pytest.raises(FrequencyTableError, match=r"^table 't': the frequencies of locus TH01 sum to 0\.97; "
                                                  r"expected 1 ± 0\.01 .*fix: correct the table"):
        _csv("TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.37\n" + TPOX)


@pytest.mark.parametrize("last, total", [("0.411", 1.011), ("0.389", 0.989)])
def test_just_outside_the_tolerance_is_refused(last, total):
    with pytest.raises(FrequencyTableError, match=rf"locus TH01 sum to {total}; expected 1 ± 0\.01"):
        _csv(f"TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,{last}\n")


def test_a_locus_summing_to_0_995_is_renormalised_with_a_recorded_warning():
    with pytest.warns(UserWarning, match=r"table 't': the frequencies of locus TH01 sum to 0\.995, not 1; divided by their sum"):
        t = _csv("TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.395\n" + TPOX)
    assert t.renormalised == (Renormalisation("TH01", pytest.approx(0.995, abs=1e-12)),)
    assert t["TH01"].afreq.tolist() == pytest.approx([0.3 / 0.995, 0.3 / 0.995, 0.395 / 0.995], rel=1e-15)
    assert t["TH01"].afreq.sum() == pytest.approx(1.0, abs=1e-15)
    assert t["TPOX"].afreq.tolist() == [0.5, 0.5]


def test_a_sum_within_rounding_is_renormalised_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = _csv("TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.39995\n")  # sum 0.99995: rounding
    assert t.renormalised == () and t["TH01"].afreq.sum() == pytest.approx(1.0, abs=1e-15)


def test_normalise_false_keeps_the_values_but_still_applies_the_rule():
    kept = FrequencyTable.from_mapping("t", {"TH01": {"6": 0.2, "7": 0.795}}, normalise=False)
    assert kept["TH01"].afreq.tolist() == [0.2, 0.795] and kept.renormalised == ()
    with pytest.raises(FrequencyTableError, match="locus TH01 sum to 0.9; expected 1 ± 0.01"):
        FrequencyTable.from_mapping("t", {"TH01": {"6": 0.2, "7": 0.7}}, normalise=False)


def test_every_bundled_table_passes_the_sum_rule_without_renormalisation_warnings():
    """Measured: norSTR 2023 (7 populations, 313 population-loci) departs from 1 by < 1e-15,
    NIST 1036 (5 populations, 145 population-loci) by at most 1.8e-6 (7-digit rounding)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tables = {table_id: load_bundled_table(table_id) for table_id in BUNDLED_TABLES}
    assert len(tables) == 12
    for table_id, t in tables.items():
        assert t.renormalised == (), table_id
        assert all(abs(lf.afreq.sum() - 1) < 1e-12 for lf in t.loci.values()), table_id
    raw = pd.read_csv("kinship/data/frequencies/nist1036.csv", dtype={"frequency": float})
    sums = raw.groupby(["population", "locus"])["frequency"].sum()
    assert len(sums) == 145 and (sums - 1).abs().max() == pytest.approx(1.8e-6, abs=1e-9)
    raw = pd.read_csv("kinship/data/frequencies/norstr_2023.csv", dtype={"frequency": float})
    sums = raw.groupby(["population", "locus"])["frequency"].sum()
    assert len(sums) == 313 and (sums - 1).abs().max() < 1e-12


# ---------------------------------------------------------------------------------------------
# One label per allele


def test_10_and_10_0_in_a_csv_are_one_allele_given_twice():
    with pytest.raises(FrequencyTableError, match=r"^table 't' line 3: TPOX allele '10\.0' is allele 10, already "
                                                  r"given on line 2; expected each allele once per locus"):
        _csv("TPOX,10,0.5\nTPOX,10.0,0.5\n")


def test_two_spellings_of_one_allele_are_refused_by_from_mapping():
    with pytest.raises(FrequencyTableError, match=r"locus TPOX gives allele 10 2 times \(as '10', '10\.0'\)"):
        FrequencyTable.from_mapping("t", {"TPOX": {"10": 0.5, "10.0": 0.5}})
    with pytest.raises(FrequencyTableError, match=r"locus TH01 gives allele silent 2 times \(as 'silent', 'Silent'\)"):
        FrequencyTable.from_mapping("t", {"TH01": {"6": 0.98, "silent": 0.01, "Silent": 0.01}})


def test_silent_written_twice_in_a_csv_is_refused():
    with pytest.raises(FrequencyTableError, match=r"line 4: TH01 allele 'SILENT' is allele silent, already given on line 3"):
        _csv("TH01,6,0.98\nTH01,silent,0.01\nTH01,SILENT,0.01\n")


def test_missing_frequency_values_name_the_row():
    with pytest.raises(FrequencyTableError, match=r"line 2: frequency '' of TH01 allele 6 is not a number"):
        _csv("TH01,6,\nTH01,7,1\n")
    with pytest.raises(FrequencyTableError, match=r"locus TH01 allele\(s\) \['6'\] have frequency \[0\.0\]; expected a positive"):
        _csv("TH01,6,0\nTH01,7,1\n")
    with pytest.raises(AlleleError, match=r"'OL' \(table 't' line 2, locus TH01\) is an off-ladder call"):
        _csv("TH01,OL,0.5\nTH01,7,0.5\n")


# ---------------------------------------------------------------------------------------------
# Silent alleles: read, kept last, dropped unless the run asks for them


def test_silent_in_any_case_is_read_as_the_silent_allele_sorted_last():
    t = _csv("TH01,9.3,0.39\nTH01,Silent,0.01\nTH01,6,0.3\nTH01,7,0.3\nTPOX,SILENT,0.02\nTPOX,X,0.49\nTPOX,8,0.49\n")
    assert t["TH01"].alleles == ("6", "7", "9.3", "silent")
    assert t["TH01"].afreq.tolist() == [0.3, 0.3, 0.39, 0.01]
    assert t["TPOX"].alleles == ("8", "X", "silent")
    assert t.silent_alleles == {"TH01": 0.01, "TPOX": 0.02}


def test_effective_table_drops_silent_alleles_unless_asked_and_renormalises():
    t = _csv("TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.38\nTH01,silent,0.02\n" + TPOX)
    off, _ = effective_table(t, {})
    assert off["TH01"].alleles == ("6", "7", "9.3")
    assert off["TH01"].afreq.tolist() == pytest.approx([0.3 / 0.98, 0.3 / 0.98, 0.38 / 0.98], rel=1e-15)
    assert off.silent_alleles == {} and off.renormalised == ()
    on, _ = effective_table(t, {}, silent_alleles=True)
    assert on["TH01"].alleles == ("6", "7", "9.3", "silent") and on.silent_alleles == {"TH01": 0.02}
    assert table_hash(on) != table_hash(off)


def test_effective_table_never_adds_the_unknown_or_the_silent_label_as_an_observed_allele():
    t = _csv(TH01)
    eff, subs = effective_table(t, {"TH01": ["6", "?", "silent", "8"]}, floor=0.001)
    assert [(s.locus, s.allele, s.frequency) for s in subs] == [("TH01", "8", 0.001)]
    assert eff["TH01"].alleles == ("6", "7", "8", "9.3")


def test_a_partial_genotype_in_the_store_adds_no_allele_to_the_effective_table():
    g = pd.DataFrame({"sample_id": ["C"], "role": ["candidate"], "locus": ["TH01"], "allele_1": ["6"], "allele_2": ["?"]})
    inputs = mr.assemble_inputs(g, MEMBERS.iloc[0:0])
    eff, subs = mr.effective_frequencies(inputs, _csv(TH01), floor=0.001)
    assert subs == [] and eff["TH01"].alleles == ("6", "7", "9.3")


def test_a_locus_with_only_a_silent_allele_is_refused_when_silent_alleles_are_off():
    t = FrequencyTable.from_mapping("t", {"TH01": {"silent": 1.0}})
    with pytest.raises(FrequencyTableError, match="locus TH01 has only the silent allele"):
        effective_table(t, {})


def test_provenance_records_the_silent_alleles_in_use_and_the_parameter():
    t = _csv("TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.39\nTH01,silent,0.01\n" + TPOX)
    inputs = mr.assemble_inputs(GENOTYPES, MEMBERS)
    for on in (True, False):  # the default stepwise model, with Familias's silent-allele convention
        params = MatchParameters(silent_alleles=on)
        eff, subs = mr.effective_frequencies(inputs, t, floor=params.frequency_floor, silent_alleles=on)
        run = mr.encode_run(inputs, eff, params.mutation_model, theta=params.theta)
        prov = mr.provenance(run, params, subs, started_at=STARTED)
        assert_valid_provenance(prov)
        assert prov["schema"] == "reunite/provenance/4" and prov["parameters"]["silent_alleles"] is on
        assert prov["frequency_table"]["silent_alleles"] == ([{"locus": "TH01", "frequency": 0.01}] if on else [])
        notes = summary_markdown(pd.DataFrame(columns=["candidate_id", "lab", "family_id", "log10_lr", "conclusion",
                                                       "flagged", "family_kind"]), prov)
        assert ("Silent alleles used at 1 locus: TH01 (0.01)." if on else "Silent alleles not used") in notes


# ---------------------------------------------------------------------------------------------
# The match run: renormalisation and loci left out in provenance and report; no numpy crash


def test_renormalised_locus_is_in_the_provenance_and_the_report():
    with pytest.warns(UserWarning, match="TH01 sum to 0.995"):
        t = _csv("TH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.395\n" + TPOX)
    _, matches, loci, prov = _run(t)
    assert prov["frequency_table"]["renormalised"] == [{"locus": "TH01", "sum": pytest.approx(0.995, abs=1e-12)}]
    assert prov["parameters"]["silent_alleles"] is False and prov["frequency_table"]["silent_alleles"] == []
    html = render_html(matches, loci, prov)
    summary = html[html.index('<section id="summary">'):]
    assert "Renormalised (1 locus whose frequencies did not sum to 1): TH01 (sum 0.995); each divided by its sum." in summary
    frequencies = html[html.index('<section id="frequencies">'):html.index('<section id="since-last-run">')]
    assert "<strong>Warning:</strong> Renormalised (1 locus" in frequencies and "Silent alleles not used" in frequencies
    assert "TH01 (sum 0.995)" in summary_markdown(matches, prov)


def test_a_locus_the_table_lacks_is_named_in_the_report_summary():
    _, matches, loci, prov = _run(_csv(TH01))
    assert prov["inputs"]["loci"] == ["TH01"]
    assert prov["inputs"]["loci_left_out"] == {"TPOX": "not in frequency table 't' (3 samples typed)"}
    html = render_html(matches, loci, prov)
    summary = html[html.index('<section id="summary">'):html.index('<section id="supported">')]
    assert "Frequency table t: 1 loci used. Left out because the frequency table lacks them (1): TPOX." in summary
    assert "Left out because the frequency table lacks them (1): TPOX." in summary_markdown(matches, prov)
    # the trio's CPI is TH01's alone: child 6/7 of father 6/9.3 and mother 7/7 (stepwise mutation)
    assert matches["n_loci_compared"].tolist() == [1]


def test_a_table_lacking_every_typed_locus_is_a_clear_error_not_a_numpy_value_error():
    """Before: ``ValueError: need at least one array to concatenate`` from the kernel's blocking."""
    with pytest.raises(FrequencyTableError, match=r"^frequency table 't' gives frequencies for none of the 2 loci typed "
                                                  r"in the store \(TH01, TPOX\); .*fix: choose a table that covers them"):
        _run(_csv("FGA,20,0.5\nFGA,21,0.5\n"))


# ---------------------------------------------------------------------------------------------
# Familias .fam: silent alleles and missing frequencies


def _fam(tmp_path, source: str, edits: dict[int, str], cut: int | None = None) -> Path:
    """A copy of a test .fam file with some lines (1-based) replaced, optionally cut after line ``cut``."""
    lines = (FAM / source).read_text(encoding="latin-1").split("\n")
    for number, text in edits.items():
        lines[number - 1] = text
    path = tmp_path / f"edited-{source}"
    path.write_text("\n".join(lines[:cut] if cut else lines), encoding="latin-1")
    return path


# dvi-example.fam, locus L1 (line 15): line 20 the number of alleles with the silent one, 25 the
# silent flag, 26 its frequency, 27 the number of alleles without it, 28-33 three allele/frequency
# pairs (the last frequency, 0.9, on line 33).
SILENT_L1 = {20: "4", 25: "#TRUE#", 26: "0.02", 33: "0.88"}


def test_a_familias_silent_allele_is_kept_as_silent_last(tmp_path):
    f = read_familias(_fam(tmp_path, "dvi-example.fam", SILENT_L1))
    assert f.loci["L1"].alleles == ("1", "2", "3", "silent")
    assert f.loci["L1"].afreq.tolist() == [0.05, 0.05, 0.88, 0.02]
    t = f.frequency_table()
    assert t["L1"].alleles == ("1", "2", "3", "silent") and t.silent_alleles == {"L1": 0.02}
    eff, _ = effective_table(t, {})
    assert eff["L1"].afreq.tolist() == pytest.approx([0.05 / 0.98, 0.05 / 0.98, 0.88 / 0.98], rel=1e-15)


def test_the_real_familias_databases_pass_the_sum_rule():
    for name, n_loci in (("Ch4-table-4-4.fam", 21), ("dvi-example.fam", 1)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t = read_familias(FAM / name).frequency_table()
        assert len(t.loci) == n_loci and t.renormalised == () and t.silent_alleles == {}


def test_a_familias_database_cut_short_is_a_clear_error_not_an_index_error(tmp_path):
    path = _fam(tmp_path, "dvi-example.fam", {}, cut=31)  # L1 lists 3 alleles; the file ends after the second
    with pytest.raises(PedigreeError, match=r"line 28: locus L1 has 3 alleles but the file ends after 2 "
                                            r"allele/frequency pairs; the frequencies are missing"):
        read_familias(path)


def test_a_person_typed_at_a_locus_the_database_lacks_is_a_clear_error(tmp_path):
    # Ch4-table-4-4.fam: lines 12-14 are V1's first typed locus (allele 4, allele 3, locus 0)
    with pytest.raises(PedigreeError, match=r"line 14: person 'V1' is typed at locus index 99, but the database has "
                                            r"21 loci \(0 to 20\); the locus's frequencies are missing"):
        read_familias(_fam(tmp_path, "Ch4-table-4-4.fam", {14: "99"}))


def test_a_person_typed_with_an_allele_the_database_lacks_is_a_clear_error(tmp_path):
    f = read_familias(FAM / "Ch4-table-4-4.fam")
    first = list(f.loci)[0]
    n = len(f.loci[first].alleles)
    with pytest.raises(PedigreeError, match=rf"line 12: person 'V1' is typed with allele index 99 at locus {first}, "
                                            rf"but the database gives {first} {n} alleles \(0 to {n - 1}\); that "
                                            "allele's frequency is missing"):
        read_familias(_fam(tmp_path, "Ch4-table-4-4.fam", {12: "99"}))


def test_a_familias_silent_flag_without_a_frequency_is_a_clear_error(tmp_path):
    with pytest.raises(PedigreeError, match=r"line 26: expected the silent allele frequency of L1, found ''"):
        read_familias(_fam(tmp_path, "dvi-example.fam", {**SILENT_L1, 26: ""}))


def test_a_person_typed_with_the_silent_allele_is_refused(tmp_path):
    # Ch4-table-4-4.fam, D3S1358 (first database locus): 14 alleles; give it a silent allele
    # (lines 288, 293, 294) and type V1 with index 14, the silent allele's.
    edits = {288: "15", 293: "#TRUE#", 294: "0.01", 12: "14"}
    with pytest.raises(PedigreeError, match=r"line 12: person 'V1' is typed with the silent allele of locus D3S1358; "
                                            "a profile never carries the silent allele"):
        read_familias(_fam(tmp_path, "Ch4-table-4-4.fam", edits))
    del edits[12]
    assert read_familias(_fam(tmp_path, "Ch4-table-4-4.fam", edits)).loci["D3S1358"].alleles[-1] == "silent"


def test_silent_alleles_on_request_turn_the_issues_apparent_exclusion_into_its_closed_form():
    """Issue 10's trio from a long CSV with a ``Silent`` row: mother p/q, child apparently q/q,
    father apparently r/r, no mutation. A match run's H2 is "unrelated to both parents", so its
    LR is P(child | mother, father) / P(child): with the silent allele o, P(child shows q/q |
    parents) = 1/2 * o / (r + 2o) (the mother gives q; the father is r/o with probability
    2ro / (r^2 + 2ro) and then gives o with 1/2) and P(child shows q/q) = q^2 + 2qo, so
    LR = 0.5 * 0.01 / 0.22 / 0.012 = 1.8939 (the issue's paternity PI with the mother known,
    o / ((q + o)(r + 2o)) = 0.4132, is this times P(child | mother) / P(child) = (q + o) / 2 /
    (q^2 + 2qo); the lead's tests check that one). Without the silent allele: an exclusion."""
    g = pd.DataFrame({"sample_id": ["F", "M", "C"], "role": ["reference", "reference", "candidate"],
                      "locus": ["TH01"] * 3, "allele_1": ["8", "6", "7"], "allele_2": ["8", "7", "7"]})
    t = _csv("TH01,6,0.3\nTH01,7,0.1\nTH01,8,0.2\nTH01,9,0.39\nTH01,Silent,0.01\n")
    inputs = mr.assemble_inputs(g, MEMBERS)
    lr = {}
    for on in (True, False):
        params = MatchParameters(silent_alleles=on, mutation={"model": "none"})
        eff, subs = mr.effective_frequencies(inputs, t, floor=params.frequency_floor, silent_alleles=on)
        run = mr.encode_run(inputs, eff, params.mutation_model, theta=params.theta)
        plan = mr.plan_run(run, params)
        results = [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold) for f, c in plan.shards]
        matches = mr.collect_matches(run, results, k=params.k)
        prov = mr.provenance(run, params, subs, started_at=STARTED, plan=plan, matches=matches)
        assert_valid_provenance(prov)
        assert prov["frequency_table"]["silent_alleles"] == ([{"locus": "TH01", "frequency": 0.01}] if on else [])
        lr[on] = 10 ** float(matches["log10_lr"].iat[0])
    p_q, p_r, o = 0.1, 0.2, 0.01
    assert lr[True] == pytest.approx(0.5 * o / (p_r + 2 * o) / (p_q**2 + 2 * p_q * o), rel=1e-12)
    assert lr[True] / ((p_q + o) / 2 / (p_q**2 + 2 * p_q * o)) == pytest.approx(0.41322314, rel=1e-7)
    assert lr[False] == 0.0
