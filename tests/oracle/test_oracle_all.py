"""All 181 peer oracle cases (forrel::kinshipLR and Familias, exact convention) at rel 1e-9.

Two routes, both must agree with the oracle per locus and in total:

* the general likelihood ratio P(data | H1) / P(data | H2) of the case's two pedigrees
  (:func:`kinship.likelihood.peeling.pedigree_likelihood`, theta and mutation by sex) - every case,
  including trio_mother_known whose H2 is "another man is the father";
* the matcher's route: the family compiled into the missing child's table
  (:func:`kinship.matching.compiler.compile_families`, explicit pedigree, theta) and the candidate's
  genotype looked up - every case whose H2 is "C is unrelated to the rest" (all but
  trio_mother_known).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kinship.genetics.frequencies import FrequencyTable
from kinship.matching.reference import score_all_pairs
from kinship.genetics.mutation import MutationModel
from kinship.likelihood.pedigree import Pedigree, pedigree_from_table
from kinship.likelihood.peeling import pedigree_likelihood
from kinship.matching.compiler import Family, candidate_genotype_index, compile_families, encode_profiles

DATA = Path(__file__).parents[1] / "data" / "oracle"
CASES = json.loads((DATA / "oracle_cases.json").read_text())["cases"]
RESULTS = pd.read_csv(DATA / "oracle_results.csv")


def model_of(case) -> MutationModel:
    m = case["mutation"]
    return MutationModel(
        model=m["model"], rate_male=m["rate_male"], rate_female=m["rate_female"],
        rate2=m.get("rate2") or 0.0, range=m.get("range") or 0.5,
    )  # fmt: skip


def pedigree_of(persons, *, typed=(), missing="C") -> Pedigree:
    rows = [
        {"id": p["id"], "father": p["father"] or "", "mother": p["mother"] or "", "sex": p["sex"],
         "sample_id": p["id"] if p["id"] in typed else "", "is_missing": p["id"] == missing}
        for p in persons
    ]  # fmt: skip
    return pedigree_from_table(rows)


def general_lr(case) -> dict[str, float]:
    """Per-locus LR by the two pedigrees' likelihoods."""
    model = model_of(case)
    h1, h2 = (pedigree_of(case["hypotheses"][h]) for h in ("H1", "H2"))
    out = {}
    for locus in case["loci"]:
        alleles = list(locus["afreq"])
        p = np.array([locus["afreq"][a] for a in alleles])
        index = {a: k for k, a in enumerate(alleles)}
        M_male, M_female = model.matrix(alleles, p, "male"), model.matrix(alleles, p, "female")
        lik = []
        for ped in (h1, h2):
            g = np.full((1, ped.n_members, 2), -1)
            for pid, gt in locus["genotypes"].items():
                g[0, ped.index(pid)] = sorted(index[a] for a in gt)
            lik.append(pedigree_likelihood(ped, g, p, M_male, M_female, theta=case["theta"])[0])
        out[locus["name"]] = lik[0] / lik[1]
    return out


def matcher_lr(case) -> tuple[dict[str, float], float]:
    """Per-locus LR and combined log10 LR through compile_families and the kernel."""
    refs = [t for t in case["typed"] if t != "C"]
    ped = pedigree_of(case["hypotheses"]["H1"], typed=refs)
    loci = [l["name"] for l in case["loci"]]
    table = FrequencyTable.from_mapping(case["case_id"], {l["name"]: l["afreq"] for l in case["loci"]}, normalise=False)
    profiles: dict = {}
    for l in case["loci"]:
        for pid, g in l["genotypes"].items():
            profiles.setdefault(pid, {})[l["name"]] = tuple(g)
    family = Family("oracle", case["case_id"], pedigree=ped)
    tables = compile_families([family], encode_profiles(profiles, refs, table, loci), refs, table, loci,
                              model_of(case), theta=case["theta"])
    cand = candidate_genotype_index(encode_profiles(profiles, ["C"], table, loci))
    per_locus = {l: 10.0 ** T[cand[0, k], 0] for k, (l, T) in enumerate(zip(loci, tables.log10_lr))}
    return per_locus, float(score_all_pairs(tables, cand).log10_lr[0, 0])


def assert_close(ours: float, oracle: float, what: str) -> None:
    if oracle == 0:
        assert abs(ours) <= 1e-12, what
    else:
        assert ours == pytest.approx(oracle, rel=1e-9, abs=0), what


def test_all_181_cases_are_there():
    assert len(CASES) == 181
    assert set(RESULTS.case_id) == {c["case_id"] for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c["case_id"] for c in CASES])
def test_oracle_case(case):
    rows = RESULTS[RESULTS.case_id == case["case_id"]].set_index("locus")
    general = general_lr(case)
    for locus, lr in general.items():
        assert_close(lr, rows.loc[locus, "lr_forrel"], f"{case['case_id']} {locus} (general)")
        assert_close(lr, rows.loc[locus, "lr_familias"], f"{case['case_id']} {locus} (general, Familias)")
    total = rows.loc["TOTAL"]
    assert_close(math.prod(general.values()), total.lr_forrel, f"{case['case_id']} TOTAL (general)")
    if case["relationship"] == "trio_mother_known":
        return  # H2 is "another man is the father", not "unrelated": not a family-table LR
    per_locus, total_log10 = matcher_lr(case)
    typed_c = {l["name"] for l in case["loci"] if "C" in l["genotypes"]}
    for locus, lr in per_locus.items():
        if locus in typed_c:
            assert_close(lr, rows.loc[locus, "lr_forrel"], f"{case['case_id']} {locus} (matcher)")
        else:
            # an untyped candidate contributes exactly 1 in the matcher; the peers' value there is
            # P(references | H1) / P(references | H2), 1 up to the non-stationary-model effect
            assert lr == 1.0
            assert rows.loc[locus, "lr_forrel"] == pytest.approx(1.0, rel=1e-2)
    expected = sum(rows.loc[l, "log10lr_forrel"] for l in typed_c)
    if total.lr_forrel == 0:
        assert total_log10 == -math.inf
    else:
        assert total_log10 == pytest.approx(expected, rel=1e-9, abs=1e-12)
