from __future__ import annotations

import pytest

from kinship.genetics.alleles import allele_sort_key, parse_allele
from kinship.errors import AlleleError, UnknownLocusError
from kinship.genetics.loci import default_catalogue


@pytest.mark.parametrize("raw,label", [("9", "9"), ("9.1", "9.1"), ("9.3", "9.3"), (" 30.2 ", "30.2"), ("012", "12"), ("12.0", "12"), ("x", "X")])
def test_parse_allele_keeps_microvariants_distinct(raw, label):
    assert parse_allele(raw) == label


def test_9_91_93_are_three_alleles_in_order():
    assert sorted(["9.3", "10", "9", "9.1"], key=allele_sort_key) == ["9", "9.1", "9.3", "10"]


def test_off_ladder_is_untyped():
    assert parse_allele("OL") is None and parse_allele("ol") is None


@pytest.mark.parametrize("raw", ["9.30000019", "abc", "", "9.", "-1"])
def test_bad_allele_names_the_value_and_the_fix(raw):
    with pytest.raises(AlleleError, match=r"is not ISFG nomenclature; expected a repeat number"):
        parse_allele(raw, context="sample C-1, TH01")


def test_float_allele_is_refused():
    with pytest.raises(AlleleError, match=r"is a float, expected a string"):
        parse_allele(9.3)


@pytest.mark.parametrize(
    "name,canonical",
    [("Penta D", "Penta D"), ("PENTA_D", "Penta D"), ("pentad", "Penta D"), ("vWA", "vWA"), ("VWA", "vWA"),
     ("th01", "TH01"), ("D8S1179", "D8S1179"), ("Amelogenin", "AMEL"), ("AM", "AMEL"), ("DYS389 I", "DYS389I")],
)
def test_locus_aliases(name, canonical):
    assert default_catalogue().canonical(name) == canonical


def test_unknown_locus_suggests_the_nearest():
    with pytest.raises(UnknownLocusError, match=r"unknown locus 'THO1' \(set3.txt line 4\); did you mean TH01\?"):
        default_catalogue().canonical("THO1", context="set3.txt line 4")


def test_kinds_keep_sex_and_y_markers_out_of_the_lr():
    cat = default_catalogue()
    assert cat.is_autosomal("D21S11") and not cat.is_autosomal("AMEL") and not cat.is_autosomal("DYS391")
