"""Kit ladders and the plausible range of a call (kinship.genetics.ladders; issue 9, symptom 2)."""

from __future__ import annotations

import pytest

from kinship.genetics.ladders import GENERIC_RANGE, allele_plausibility, bundled_kits, locus_ladders


def test_ladder_ranges_are_the_union_of_the_kits_bins():
    ladders = locus_ladders()
    # GlobalFiler, NGM SElect, Fusion ... all type these; bins incl. virtual bins
    assert (ladders["TH01"].ladder_min, ladders["TH01"].ladder_max) == ("3", "14")
    assert (ladders["FGA"].ladder_min, ladders["FGA"].ladder_max) == ("12.2", "51.2")
    assert ladders["D22S1045"].period == 3 and ladders["Penta D"].period == 5
    assert "SureID27" in ladders["D6S477"].kits  # the Chinese kit in the definitions
    assert "AMEL" not in ladders  # X / Y are not numeric


def test_the_bundled_kits_are_the_twenty_of_the_definitions():
    kits = bundled_kits()
    assert len(kits) == 20
    assert {"GlobalFiler", "SureID27", "YfilerPlus", "Identifiler"} <= set(kits)
    assert kits["Identifiler"].loci == ("D8S1179", "D21S11", "D7S820", "CSF1PO", "D3S1358", "TH01", "D13S317",
                                        "D16S539", "D2S1338", "D19S433", "vWA", "TPOX", "D18S51", "AMEL",
                                        "D5S818", "FGA")


@pytest.mark.parametrize("locus,allele", [("TH01", "9.3"), ("TH01", "3"), ("FGA", "51.2"), ("D22S1045", "9.2"),
                                          ("Penta D", "2.2"), ("D18S51", "42"), ("AMEL", "X")])
def test_calls_inside_the_ladders_are_ladder_calls(locus, allele):
    assert allele_plausibility(locus, allele) == ("ladder", "")


@pytest.mark.parametrize("locus,allele", [("D18S51", "45"), ("TH01", "2"), ("vWA", "37"), ("FGA", "7")])
def test_calls_just_outside_the_ladders_are_off_ladder_but_plausible(locus, allele):
    verdict, reason = allele_plausibility(locus, allele)
    assert verdict == "off_ladder"
    assert f"allele {allele!r} at {locus} is outside every kit's ladder" in reason


@pytest.mark.parametrize("locus,allele,why", [
    ("TH01", "0", "not a plausible call"),
    ("FGA", "999", "not a plausible call"),
    ("vWA", "12345678901234567", "not a plausible call"),
    ("FGA", "2", "6.25 to 77.25 repeats"),  # "22" cut one byte short
    ("TH01", "9.4", "impossible for a 4-base repeat"),
    ("D22S1045", "15.3", "impossible for a 3-base repeat"),
    ("D6S1043", "0", "no bundled kit ladder"),  # a Chinese-kit locus without ladder data
])
def test_implausible_calls_are_named_with_the_range(locus, allele, why):
    verdict, reason = allele_plausibility(locus, allele)
    assert verdict == "implausible"
    assert why in reason and repr(allele) in reason


def test_a_locus_without_a_ladder_uses_the_generic_range():
    low, high = GENERIC_RANGE
    assert allele_plausibility("D6S1043", f"{high:g}")[0] == "ladder"
    assert allele_plausibility("D6S1043", f"{high + 1:g}")[0] == "implausible"
    assert allele_plausibility("D6S1043", f"{low:g}")[0] == "ladder"
