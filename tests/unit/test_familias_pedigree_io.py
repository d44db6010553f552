"""Familias .fam import, PED-style CSV pedigrees, per-locus mutation rates, the κ index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kinship.errors import MutationModelError, PedigreeError
from kinship.io.familias import read_familias
from kinship.io.pedigree import read_pedigree_csv
from kinship.likelihood.kappa import kappa_lr
from kinship.genetics.mutation import MutationModel, load_locus_rates, mutation_checks
from kinship.genetics.frequencies import FrequencyTable
from kinship.likelihood.peeling import pedigree_likelihood

FAM = Path(__file__).parents[1] / "data" / "familias"


def test_familias_file_gives_persons_pedigrees_frequencies_and_models():
    f = read_familias(FAM / "Ch4-table-4-4.fam")
    assert [n for n, _ in f.persons] == ["V1", "V2", "R", "EF"]
    assert list(f.pedigrees) == [f"H{k}" for k in range(1, 8)] and len(f.loci) == 21
    assert f.theta == 0.0 and not f.has_dvi
    locus = f.loci["D3S1358"]
    assert locus.afreq.sum() == pytest.approx(1.0, abs=1e-3)
    assert set(f.genotypes["V1"]) <= set(f.loci)
    # every hypothesis is a valid pedigree whose likelihood is computable at every locus
    h5 = f.pedigree("H5", "EF")
    h1 = f.pedigree("H1", "EF")
    lr = 1.0
    for name, lf in f.loci.items():
        index = {a: k for k, a in enumerate(lf.alleles)}
        Mm, Mf = lf.matrices()
        lik = []
        for ped in (h1, h5):
            g = np.full((1, ped.n_members, 2), -1)
            for person, loci in f.genotypes.items():
                if name in loci:
                    g[0, ped.index(person)] = sorted(index[a] for a in loci[name])
            lik.append(pedigree_likelihood(ped, g, lf.afreq, Mm, Mf)[0])
        lr *= lik[0] / lik[1]
    assert np.isfinite(lr) and lr >= 0


def test_familias_dvi_example_database():
    f = read_familias(FAM / "dvi-example.fam")
    assert f.has_dvi and f.loci["L1"].database_size == 2500


def test_familias_errors_name_the_line(tmp_path):
    bad = tmp_path / "x.fam"
    bad.write_text("hello\n")
    with pytest.raises(PedigreeError, match="line 1: expected 'Output from Familias"):
        read_familias(bad)


PED = b"""family_id,id,father,mother,sex,sample_id,is_missing
F-9,gf,,,male,R-0201,
F-9,gm,,,female,,
F-9,dad,gf,gm,male,,
F-9,mum,,,female,R-0202,
F-9,child,dad,mum,unknown,,true
F-10,a,,,1,R-1,
F-10,b,,,2,,
F-10,c,a,b,0,,1
"""


def test_ped_csv_reads_one_pedigree_per_family():
    peds = read_pedigree_csv("families.csv", data=PED)
    assert list(peds) == ["F-9", "F-10"]
    assert peds["F-9"].references == ("R-0201", "R-0202")
    assert peds["F-10"].sex == ("male", "female", "unknown")


@pytest.mark.parametrize("text,message", [
    (b"family_id,id,father,sex\nF,a,,male\n", r"lacks columns \['mother'\]"),
    (b"family_id,id,father,mother,sex,name\nF,a,,,male,Li\n", r"unknown columns \['name'\]"),
    (b"family_id,id,father,mother,sex,is_missing\nF,a,,,male,1\nF,a,,,male,\n", "line 3: member id 'a' of family F already used on line 2"),
    (b"family_id,id,father,mother,sex,is_missing\nF,c,zz,m,male,1\nF,m,,,female,\n", "father 'zz' of member 'c' is not a member id"),
])  # fmt: skip
def test_ped_csv_errors(text, message):
    with pytest.raises(PedigreeError, match=message):
        read_pedigree_csv("families.csv", data=text)


def test_per_locus_rates_override_and_checks():
    rates = load_locus_rates()
    assert len(rates) > 20 and all(r[1] == 0.002 and r[2] == 0.001 for r in rates)
    model = MutationModel("equal", 0.002, 0.001, locus_rates=(("TH01", 0.01, 0.004),))
    assert model.rate("male", "TH01") == 0.01 and model.rate("female", "FGA") == 0.001
    table = FrequencyTable.from_mapping("t", {"TH01": {"6": 0.2, "7": 0.3, "9.3": 0.5}}, normalise=False)
    checks = mutation_checks(model, table, ["TH01"])
    assert [c["rate"] for c in checks] == [0.01, 0.004]
    assert {c["stationary"] for c in checks} == {False} and {c["bounded"] for c in checks} == {True}
    with pytest.raises(MutationModelError, match="per-locus mutation rates"):
        MutationModel(locus_rates=(("TH01", 2.0, 0.1),))


def test_kappa_lr_combines_loci_in_log10():
    p = [np.array([0.1, 0.9]), np.array([0.5, 0.5])]
    per, total = kappa_lr(np.array([[0, 0], [0, 1]]), np.array([[0, 0], [-1, -1]]), p, "parent_child")
    assert per[1] == 0.0 and 10 ** total == pytest.approx(10.0)
