"""Peer oracle (forrel::kinshipLR and Familias, exact convention) for duos and trios.

The 53 cases of tests/data/oracle (copied from ../shared/oracle) with relationship
duo_parent_child or trio_both_parents, theta 0 and mutation none, equal or stepwise must agree
per locus and in total at relative error 1e-9 (absolute 1e-12 where the LR is 0).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel
from kinship.matching.compiler import Family, candidate_genotype_index, compile_families, encode_profiles
from kinship.matching.reference import score_all_pairs

DATA = Path(__file__).parents[1] / "data" / "oracle"
CASES = json.loads((DATA / "oracle_cases.json").read_text())["cases"]
RESULTS = pd.read_csv(DATA / "oracle_results.csv")
PARENTAGE = [
    c
    for c in CASES
    if c["relationship"] in ("duo_parent_child", "trio_both_parents")
    and c["theta"] == 0
    and c["mutation"]["model"] in ("none", "equal", "stepwise")
]


def case_lr(case):
    """Per-locus log10 LR of the candidate C against the family of the case's typed parents."""
    people = {p["id"]: p for p in case["hypotheses"]["H1"]}
    child = people["C"]
    father = child["father"] if not child["father"].startswith("u_") else None
    mother = child["mother"] if not child["mother"].startswith("u_") else None
    m = case["mutation"]
    model = MutationModel(
        model=m["model"],
        rate_male=m["rate_male"],
        rate_female=m["rate_female"],
        rate2=m.get("rate2") or 0.0,
        range=m.get("range") or 0.5,
    )
    loci = [l["name"] for l in case["loci"]]
    table = FrequencyTable.from_mapping(
        case["case_id"], {l["name"]: l["afreq"] for l in case["loci"]}, normalise=False
    )
    profiles = {}
    for l in case["loci"]:
        for pid, g in l["genotypes"].items():
            profiles.setdefault(pid, {})[l["name"]] = tuple(g)
    refs = [p for p in (father, mother) if p]
    ref_alleles = encode_profiles(profiles, refs, table, loci)
    tables = compile_families([Family("oracle", case["case_id"], father, mother)], ref_alleles, refs, table, loci, model)
    cand = candidate_genotype_index(encode_profiles(profiles, ["C"], table, loci))
    per_locus = np.array([T[cand[0, k], 0] for k, T in enumerate(tables.log10_lr)])
    total = score_all_pairs(tables, cand).log10_lr[0, 0]
    return dict(zip(loci, per_locus)), total


def assert_lr_close(ours_log10, oracle_lr, what):
    ours = 10.0 ** ours_log10 if np.isfinite(ours_log10) else 0.0
    if oracle_lr == 0:
        assert ours <= 1e-12, what
    else:
        assert ours == pytest.approx(oracle_lr, rel=1e-9, abs=0), what


def test_the_53_cases_are_there():
    assert len(PARENTAGE) == 53


@pytest.mark.parametrize("case", PARENTAGE, ids=[c["case_id"] for c in PARENTAGE])
def test_oracle_case(case):
    per_locus, total = case_lr(case)
    rows = RESULTS[RESULTS.case_id == case["case_id"]]
    for row in rows.itertuples():
        if row.locus == "TOTAL":
            expected = row.lr_forrel
            if expected == 0:
                assert total == -math.inf
            else:
                assert total == pytest.approx(row.log10lr_forrel, rel=1e-9, abs=1e-12)
                assert_lr_close(total, expected, f"{case['case_id']} TOTAL")
        else:
            assert_lr_close(per_locus[row.locus], row.lr_forrel, f"{case['case_id']} {row.locus}")
