from __future__ import annotations

import io

import numpy as np
import pytest

from kinship.genetics.encoding import genotype_alleles, genotype_index, n_genotypes
from kinship.errors import FrequencyTableError, MutationModelError
from kinship.genetics.frequencies import FrequencyTable, effective_table, table_hash
from kinship.io.frequencies import load_bundled_table, read_frequency_csv
from kinship.genetics.mutation import MutationModel, is_stationary, mutation_matrix
from schemas import load_schema


def test_genotype_index_matches_the_schema_examples():
    for ex in load_schema("genotype_encoding.v1")["genotype_index"]["examples"]:
        assert genotype_index(np.array([ex["i"], ex["j"]])) == ex["index"]
        assert genotype_index(np.array([ex["j"], ex["i"]])) == ex["index"]


def test_genotype_alleles_inverts_the_index():
    i, j = genotype_alleles(12)
    assert np.array_equal(genotype_index(np.stack([i, j], axis=1)), np.arange(n_genotypes(12)))


def test_bundled_default_table_is_norstr_east_asia_with_40_loci():
    t = load_bundled_table()
    assert len(t.loci) == 40
    for lf in t.loci.values():
        assert lf.afreq.sum() == pytest.approx(1.0, abs=1e-12)
    assert t["TH01"].alleles[:5] == ("5", "6", "7", "8", "8.3")


def test_nist_table_carries_n_and_uses_5_over_2n():
    t = load_bundled_table("nist1036/Asian")
    assert t["TH01"].n_individuals == 97
    eff, subs = effective_table(t, {"TH01": ["13.3"]})
    assert subs[0].frequency == pytest.approx(5 / (2 * 97))
    assert eff["TH01"].afreq.sum() == pytest.approx(1.0, abs=1e-12)


def test_effective_table_reports_every_substitution_and_hash_is_stable():
    t = FrequencyTable.from_mapping("toy", {"TPOX": {"8": 0.6, "11": 0.4}, "TH01": {"6": 1.0}})
    eff1, subs = effective_table(t, {"TPOX": {"9", "8"}, "TH01": {"9.3"}, "FGA": {"22"}})
    assert [(s.locus, s.allele, s.frequency) for s in subs] == [("TH01", "9.3", 0.001), ("TPOX", "9", 0.001)]
    eff2, _ = effective_table(t, {"TH01": ["9.3"], "TPOX": ["9"]})
    assert table_hash(eff1) == table_hash(eff2) != table_hash(t)


def test_frequency_csv_errors_name_the_row():
    bad = io.StringIO("locus,allele,frequency\nTH01,6,0.5\nTH01,9.3,zero\n")
    with pytest.raises(FrequencyTableError, match=r"line 3: frequency 'zero' of TH01 allele 9.3 is not a number"):
        read_frequency_csv(bad, name="t")
    several = io.StringIO("population,locus,allele,frequency\nA,TH01,6,1\nB,TH01,6,1\n")
    with pytest.raises(FrequencyTableError, match=r"holds populations \['A', 'B'\]; choose one"):
        read_frequency_csv(several, name="t")


ALLELES = ["9", "9.3", "10", "11", "12", "13.3"]
P = np.array([0.1, 0.2, 0.3, 0.2, 0.15, 0.05])


@pytest.mark.parametrize("model", ["equal", "proportional", "stepwise"])
def test_rows_sum_to_one(model):
    M = mutation_matrix(ALLELES, P, model=model, rate=0.01, rate2=0.001, range=0.5)
    assert np.allclose(M.sum(axis=1), 1.0, atol=1e-15)
    assert np.all(M >= 0)


def test_stepwise_by_hand():
    M = mutation_matrix(ALLELES, P, model="stepwise", rate=0.01, rate2=0.001, range=0.5)
    # Allele 10: integer group {9, 10, 11, 12}; weights 0.5^1, 0.5^1, 0.5^2 -> 0.4, 0.4, 0.2 of r;
    # the two microvariants (9.3, 13.3) share rate2.
    assert M[2, 0] == pytest.approx(0.004) and M[2, 3] == pytest.approx(0.004) and M[2, 4] == pytest.approx(0.002)
    assert M[2, 1] == pytest.approx(0.0005) and M[2, 5] == pytest.approx(0.0005)
    assert M[2, 2] == pytest.approx(1 - 0.01 - 0.001)
    # 9.3 and 13.3 are one group, 4 repeats apart: all of r goes to the other .3 allele.
    assert M[1, 5] == pytest.approx(0.01) and M[1, 1] == pytest.approx(1 - 0.011)


def test_stepwise_needs_numeric_alleles():
    with pytest.raises(MutationModelError, match=r"stepwise mutation needs numeric alleles; found \['X', 'Y'\]"):
        mutation_matrix(["X", "Y"], np.array([0.5, 0.5]), model="stepwise", rate=0.01)


def test_proportional_is_stationary_and_equal_is_not():
    assert is_stationary(mutation_matrix(ALLELES, P, model="proportional", rate=0.01), P)
    assert not is_stationary(mutation_matrix(ALLELES, P, model="equal", rate=0.01), P)


def test_model_validation_message():
    with pytest.raises(MutationModelError, match=r"mutation rate_male = 1.5; expected 0 <= rate_male < 1"):
        MutationModel(rate_male=1.5)
