"""Damaged delimited exports: a bad line is marked for quarantine, never misread, and never takes
the rest of the file with it (kinship.io.lines; issue 9, symptoms 1-3 and 9)."""

from __future__ import annotations

import pytest

from kinship.errors import ExportFormatError
from kinship.io.genemapper import parse_genemapper
from kinship.io.lines import MAX_FIELD_CHARS
from kinship.io.tidy import parse_tidy

TIDY = b"sample_id,locus,allele_1,allele_2\nC1,TH01,6,9.3\nC1,vWA,14,16\nC1,FGA,19,22\n"
LONG = b"Sample Name\tMarker\tAllele 1\tAllele 2\nC1\tTH01\t6\t9.3\nC1\tvWA\t14\t16\nC1\tFGA\t19\t22\n"


def _calls(records):
    return [(r.source_line, r.locus, r.allele_1, r.allele_2, r.problem != "") for r in records.itertuples()]


def test_a_tidy_header_naming_allele_1_twice_is_refused_naming_both_columns():
    raw = b"sample_id,locus,allele_1,allele_2,allele_1\nC1,TH01,6,9.3,7\n"
    with pytest.raises(ExportFormatError, match=r"columns 3 \('allele_1'\) and 5 \('allele_1'\) are the same column"):
        parse_tidy(raw, file="dup.csv")


@pytest.mark.parametrize("header", [
    b"Sample Name\tMarker\tAllele 1\tAllele 2\tAllele 1",
    b"Sample Name\tMarker\tMarker\tAllele 1\tAllele 2",
    b"Sample Name\tSample ID\tMarker\tAllele 1\tAllele 2",
])
def test_a_genemapper_header_with_an_ambiguous_column_is_refused(header):
    with pytest.raises(ExportFormatError, match=r"are the same column"):
        parse_genemapper(header + b"\nC1\tC1\tTH01\t6\t9.3\n", file="dup.txt")


def test_repeated_columns_the_reader_ignores_are_harmless():
    raw = b"Sample Name\tTH01\tHeight\tvWA\tHeight\nS1\t6, 9.3\t100, 90\t17, 18\t80, 80\n"
    assert _calls(parse_genemapper(raw)) == [(("2"), "TH01", "6", "9.3", False), ("2", "vWA", "17", "18", False)]


@pytest.mark.parametrize("parse,raw", [(parse_tidy, TIDY), (parse_genemapper, LONG)])
@pytest.mark.parametrize("cut", [1, 3])  # one byte short: "19,2"; just after the delimiter: "19,"
def test_a_file_cut_short_quarantines_its_last_line_and_keeps_the_rest(parse, raw, cut):
    records = parse(raw[:-cut], file="cut.txt")
    assert _calls(records) == [("2", "TH01", "6", "9.3", False), ("3", "vWA", "14", "16", False),
                               ("4", "FGA", "", "", True)]
    assert "no line end after it" in records["problem"].iloc[-1]
    # the whole file, line end included, reads every line
    assert not parse(raw, file="whole.txt")["problem"].any()


@pytest.mark.parametrize("parse,raw,sep", [(parse_tidy, TIDY, b","), (parse_genemapper, LONG, b"\t")])
def test_an_unclosed_quote_quarantines_its_line_only(parse, raw, sep):
    lines = raw.split(b"\n")
    lines[2] = lines[2].replace(b"14", b'"14', 1)  # a quote opened on line 3 and never closed
    records = parse(b"\n".join(lines), file="quote.txt")
    assert _calls(records) == [("2", "TH01", "6", "9.3", False), ("3", "", "", "", True),
                               ("4", "FGA", "19", "22", False)]
    assert "not closed" in records["problem"].iloc[1]


@pytest.mark.parametrize("parse,raw", [(parse_tidy, TIDY), (parse_genemapper, LONG)])
@pytest.mark.parametrize("damage,reason", [(b"1\x004", "NUL byte"), (b"1" * (MAX_FIELD_CHARS * 200), "characters")])
def test_a_nul_byte_or_an_overlong_field_quarantines_its_line_only(parse, raw, damage, reason):
    records = parse(raw.replace(b"14", damage, 1), file="bad.txt")
    assert [r[4] for r in _calls(records)] == [False, True, False]
    assert reason in records["problem"].iloc[1]
    assert records["allele_1"].tolist() == ["6", "", "19"]


def test_a_nul_in_the_header_refuses_the_file():
    with pytest.raises(ExportFormatError, match="line 1 \\(the header\\): the line contains a NUL byte"):
        parse_tidy("sample_id,locus,allele_1,allele_2\n".encode("utf-16-le"), file="utf16.csv")


def test_a_decimal_comma_in_a_wide_genemapper_cell_is_never_read_as_two_calls():
    raw = b"Sample Name\tTH01\tvWA\nS1\t9,3\t17, 18\n"
    records = parse_genemapper(raw, file="wide.txt")
    assert _calls(records) == [("2", "TH01", "", "", True), ("2", "vWA", "17", "18", False)]
    assert "decimal comma" in records["problem"].iloc[0]


# -- the bulk paths of a clean export (issue 9, national-load speed) -------------------------------
def _clean_tidy(seed: int, n: int = 400) -> str:
    import random

    rng = random.Random(seed)
    calls = ["6", "9.3", "14", "", "NA", "OL", "22.2", "x"]
    rows = [f"C{rng.randrange(60)},{rng.choice(['TH01', 'vWA', 'FGA', 'D3S1358'])},{rng.choice(calls)},"
            f"{rng.choice(calls)}" for _ in range(n)]
    for i in rng.sample(range(n), 8):
        rows[i] = rng.choice(["", ",,,", ",", "C1,TH01,,"])  # blank lines and empty calls
    return "sample_id,locus,allele_1,allele_2\n" + "\n".join(rows) + rng.choice(["\n", ""])


@pytest.mark.parametrize("seed", range(12))
def test_the_bulk_split_of_a_clean_file_is_the_line_by_line_split(seed):
    from kinship.io.lines import _CUT_SHORT, Line, _parse, split_delimited

    text = _clean_tidy(seed)
    physical = text.split("\n")
    ends = physical[-1] == ""
    if ends:
        physical.pop()
    expected = []
    for number, raw in enumerate(physical[1:], start=2):
        fields, problem = _parse(raw, ",")
        if not problem and not "".join(fields).strip():
            continue
        if not problem and number == len(physical) and not ends:
            problem = _CUT_SHORT
        expected.append(Line(number, fields, problem))
    assert split_delimited(text, sep=",", file="f.csv") == (["sample_id", "locus", "allele_1", "allele_2"], expected)


@pytest.mark.parametrize("seed", range(12))
def test_the_column_wise_records_of_a_clean_file_are_the_line_by_line_records(seed):
    import pandas as pd

    text = _clean_tidy(seed) + "\n"
    lines = text.split("\n")
    i = next(j for j in range(1 + seed, len(lines)) if "," in lines[j])
    padded = "\n".join(lines[:i] + [lines[i].replace(",", " ,", 1)] + lines[i + 1:])  # a space: the per-line path
    fast, slow = parse_tidy(text.encode(), file="f.csv"), parse_tidy(padded.encode(), file="f.csv")
    assert padded != text
    pd.testing.assert_frame_equal(fast, slow)
    assert (fast["n_alleles_called"] != "2").any() and (fast["allele_1"] == "").any()
