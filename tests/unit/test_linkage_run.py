"""Linked loci in the match run: own shards, joint super-loci, the linkage factor, calibration.

The two-locus likelihood itself is validated against brute force in tests/unit/test_linkage.py;
here the run's plumbing is checked against closed forms of the plumbing: at r = 1/2 the joint
super-locus must give exactly the independent run, parent-only families never change, the
kernel's value is the joint table's entry, the per-locus rows add up to the pair's LR, and the
calibration of a linked family bounds the exact tail (enumerated).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
import pytest

from kinship.app import match_run as mr
from kinship.app.parameters import LinkageParameters, MatchParameters
from kinship.genetics.encoding import UNTYPED, table_row
from kinship.io.frequencies import load_bundled_table
from kinship.likelihood.calibration import tail_bounds
from kinship.likelihood.phenotypes import unrelated_rows
from kinship.matching.compiler import Family
from tests.simulated import child_of, draw_profile

LOCI = ("CSF1PO", "D12S391", "D5S818", "TH01", "vWA")


def _profile(rng, table, loci=LOCI):
    return draw_profile(rng, table, loci)


_child = child_of


@pytest.fixture(scope="module")
def scenario():
    """Sibling, half-sibling, grandparent, uncle and parent families with their true children
    (simulated without linkage: the test is of the plumbing) and unrelated candidates."""
    rng = np.random.default_rng(20261202)
    table = load_bundled_table()
    profiles, families, candidates = {}, [], []
    kinds = [("full_sibling",), ("full_sibling", "full_sibling"), ("paternal_half_sibling",),
             ("paternal_grandfather",), ("maternal_aunt_uncle",)]
    for i, rels in enumerate(kinds * 2):
        f, m = _profile(rng, table), _profile(rng, table)
        others = []
        for j, rel in enumerate(rels):
            sid = f"R-{i}-{j}"
            profiles[sid] = _child(rng, f, m)
            others.append((sid, rel))
        child = f"C-{i}"
        profiles[child] = _child(rng, f, m)
        candidates.append(child)
        families.append(Family("L", f"F-{i:02d}", others=tuple(others)))
    for i in range(4):  # parent-only families
        f, m = _profile(rng, table), _profile(rng, table)
        profiles[f"P-{i}-f"], profiles[f"P-{i}-m"] = f, m
        profiles[f"C-P{i}"] = _child(rng, f, m)
        candidates.append(f"C-P{i}")
        families.append(Family("L", f"F-P{i}", father=f"P-{i}-f", mother=f"P-{i}-m" if i % 2 else None))
    for i in range(20):
        profiles[f"U-{i:02d}"] = _profile(rng, table)
        candidates.append(f"U-{i:02d}")
    # one candidate typed at only one of the two linked loci, one partial at vWA
    profiles["U-00"] = {l: g for l, g in profiles["U-00"].items() if l != "D12S391"}
    profiles["U-01"] = {**profiles["U-01"], "vWA": (profiles["U-01"]["vWA"][0], "?")}
    refs = sorted(s for s in profiles if s not in candidates)
    families.sort(key=lambda f: (f.lab, f.family_id))
    inputs = mr.MatchInputs(profiles, tuple(refs), tuple(sorted(candidates)), tuple(families))
    params = MatchParameters(shard_size=3)
    eff, _ = mr.effective_frequencies(inputs, table, floor=params.frequency_floor)
    return inputs, eff, params


def _run(inputs, eff, params, *, linkage, r=None):
    run = mr.encode_run(inputs, eff, params.mutation_model, theta=params.theta, linkage=linkage)
    if r is not None:
        run = dataclasses.replace(run, linked=tuple(dataclasses.replace(p, recombination_fraction=r) for p in run.linked))
    plan = mr.plan_run(run, params)
    results = [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold) for f, c in plan.shards]
    return run, plan, mr.collect_matches(run, results, k=50)


def test_the_run_links_vwa_d12s391_and_d5s818_csf1po_for_non_parent_families_only(scenario):
    inputs, eff, params = scenario
    run, plan, _ = _run(inputs, eff, params, linkage=LinkageParameters())
    assert [p.name for p in run.linked] == ["CSF1PO~D5S818", "D12S391~vWA"]
    assert [u for u, _ in run.units] == ["CSF1PO~D5S818", "D12S391~vWA", "TH01"]
    assert run.linked_families.tolist() == [not f.is_parentage for f in inputs.families]
    for families, _ in plan.shards:  # a shard holds one layout
        assert len(set(run.linked_families[families].tolist())) == 1
    off = mr.encode_run(inputs, eff, params.mutation_model, theta=0.0, linkage=LinkageParameters(use=False))
    assert off.linked == () and not off.linked_families.any()


def test_at_r_one_half_the_linked_run_is_the_independent_run(scenario):
    inputs, eff, params = scenario
    _, _, plain = _run(inputs, eff, params, linkage=None)
    run, _, half = _run(inputs, eff, params, linkage=LinkageParameters(), r=0.5)
    key = ["candidate_id", "lab", "family_id"]
    merged = plain.merge(half, on=key, suffixes=("", "_half"))
    assert len(merged) == len(plain) == len(half)
    np.testing.assert_allclose(merged["log10_lr_half"], merged["log10_lr"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(half["log10_lr_unlinked"], half["log10_lr"], rtol=0, atol=1e-10)
    assert (merged["n_inconsistent"] == merged["n_inconsistent_half"]).all()


def test_parent_only_families_are_unchanged_and_linked_families_change(scenario):
    inputs, eff, params = scenario
    _, _, plain = _run(inputs, eff, params, linkage=None)
    run, _, linked = _run(inputs, eff, params, linkage=LinkageParameters())
    key = ["candidate_id", "lab", "family_id"]
    merged = plain.merge(linked, on=key, suffixes=("", "_linked"))
    parent = merged["family_kind"].isin(["couple", "father only", "mother only"])
    assert (merged.loc[parent, "log10_lr_linked"] == merged.loc[parent, "log10_lr"]).all()  # byte for byte
    assert (merged["log10_lr_unlinked"] == merged["log10_lr"]).all()  # the unlinked column is the plain run
    moved = (merged.loc[~parent, "log10_lr_linked"] - merged.loc[~parent, "log10_lr"]).abs()
    assert moved.max() > 1e-3  # linkage matters for sibling-type families


def test_the_kernel_value_is_the_joint_table_entry_and_the_rows_add_up(scenario):
    inputs, eff, params = scenario
    run, _, matches = _run(inputs, eff, params, linkage=LinkageParameters())
    fam_col = {(f.lab, f.family_id): i for i, f in enumerate(inputs.families)}
    cand_col = {c: i for i, c in enumerate(inputs.candidate_ids)}
    linked = [i for i in range(len(inputs.families)) if run.linked_families[i]]
    tables = run.family_tables(linked, linked=True)
    rows = matches[matches.family_id.isin([inputs.families[i].family_id for i in linked])]
    assert len(rows) > 10
    g = run.linked_genotypes
    for r in rows.itertuples(index=False):
        c, f = cand_col[r.candidate_id], linked.index(fam_col[(r.lab, r.family_id)])
        direct = sum(float(T[int(table_row(g[c, u], T.shape[0])), f]) for u, T in enumerate(tables.log10_lr))
        assert r.log10_lr == pytest.approx(direct, abs=1e-12)
    detail = mr.pair_loci(run, matches)
    total = detail.groupby(["candidate_id", "lab", "family_id"])["log10_pi"].sum()
    joined = matches.set_index(["candidate_id", "lab", "family_id"])["log10_lr"]
    finite = np.isfinite(joined)
    np.testing.assert_allclose(total[joined.index][finite], joined[finite], atol=1e-9)
    factor_rows = detail[detail.locus.str.contains("~")]
    assert set(factor_rows.locus) == {"CSF1PO~D5S818", "D12S391~vWA"}
    assert set(factor_rows.family_id) <= {inputs.families[i].family_id for i in linked}
    unlinked = detail[~detail.locus.str.contains("~")].groupby(["candidate_id", "lab", "family_id"])["log10_pi"].sum()
    u = matches.set_index(["candidate_id", "lab", "family_id"])["log10_lr_unlinked"]
    np.testing.assert_allclose(unlinked[u.index][finite], u[finite], atol=1e-9)


def test_a_candidate_typed_at_one_linked_locus_gets_that_locus_alone(scenario):
    inputs, eff, params = scenario
    run, _, matches = _run(inputs, eff, params, linkage=LinkageParameters())
    rows = matches[(matches.candidate_id == "U-00") & matches.family_id.str.match(r"F-\d")]
    assert len(rows)
    detail = mr.pair_loci(run, rows)
    factor = detail[detail.locus == "D12S391~vWA"]
    assert (factor["log10_pi"].abs() < 1e-12).all() and not factor["compared"].any()


def test_the_calibration_of_a_linked_family_bounds_the_enumerated_tail(scenario):
    """Exact P(LR >= x | unrelated) by enumerating every genotype at three loci, two linked."""
    inputs, eff, params = scenario
    loci = ("D12S391", "TH01", "vWA")
    sub = mr.MatchInputs({s: {l: g for l, g in p.items() if l in loci} for s, p in inputs.profiles.items()},
                         inputs.reference_ids, inputs.candidate_ids, inputs.families)
    run = mr.encode_run(sub, eff, params.mutation_model, theta=0.0, linkage=LinkageParameters())
    assert [u for u, _ in run.units] == ["D12S391~vWA", "TH01"]
    f = next(i for i, fam in enumerate(sub.families) if fam.family_id == "F-01")
    tables = run.family_tables([f], linked=True)
    h2 = [unrelated_rows(eff[l].afreq) for l in loci]
    n_rows = {l: len(eff[l].alleles) * (len(eff[l].alleles) + 1) // 2 + len(eff[l].alleles) + 1 for l in loci}
    joint = (h2[0][0][:, None] * n_rows["vWA"] + h2[2][0][None, :]).ravel()
    v_joint = tables.log10_lr[0][joint, 0]
    p_joint = np.outer(h2[0][1], h2[2][1]).ravel()
    v_th = tables.log10_lr[1][h2[1][0], 0]
    total = (v_joint[:, None] + v_th[None, :]).ravel()
    prob = (p_joint[:, None] * h2[1][1][None, :]).ravel()
    for x in (1.0, 2.0, 3.0):
        exact = prob[total >= x].sum()
        lower, upper = tail_bounds([v_joint, v_th], [p_joint, h2[1][1]], x)
        assert lower <= exact + 1e-15 and exact <= upper + 1e-15
        assert upper - lower < 0.05
    assert (10.0 ** total * prob).sum() == pytest.approx(1.0, abs=1e-9)  # E[LR | unrelated] = 1


def test_the_provenance_and_the_report_state_the_linked_pairs_and_show_the_factor(scenario):
    from datetime import datetime, timezone

    from kinship.report.html import render_html
    from tests.provenance_check import assert_valid_provenance

    inputs, eff, params = scenario
    run, plan, matches = _run(inputs, eff, params, linkage=params.linkage)
    matches = mr.calibrate(run, matches, threshold=params.threshold, max_expected_unrelated=params.max_expected_unrelated)
    matches = mr.assess(run, matches, prior=params.prior, k=params.k, threshold=params.threshold)
    pairs = mr.reported_pairs(matches)
    detail = mr.pair_loci(run, pairs)
    prov = mr.provenance(run, params, [], started_at=datetime(2026, 12, 2, tzinfo=timezone.utc), plan=plan,
                         matches=matches)
    assert_valid_provenance(prov)
    link = prov["linkage"]
    assert link["used"] and link["n_families_linked"] == int(run.linked_families.sum()) == 10
    vwa = next(p for p in link["pairs"] if p["name"] == "D12S391~vWA")
    assert vwa["distance_cm"] == pytest.approx(27.57129 - 15.63031)
    assert vwa["recombination_fraction"] == pytest.approx(0.5 * (1 - np.exp(-2 * 0.1194098)), abs=1e-12)
    assert prov["parameters"]["linkage"] == {"use": True, "map_function": "haldane", "max_distance_cm": 30.0}
    html = render_html(matches, detail, prov)
    assert "D12S391 and vWA (11.9 cM apart on chromosome 12, recombination fraction 0.106)" in html
    assert 'data-locus="D12S391~vWA"' in html and "the linkage factor" in html
    off = mr.encode_run(inputs, eff, params.mutation_model, theta=0.0, linkage=LinkageParameters(use=False))
    assert mr.linkage_model(off, LinkageParameters(use=False))["used"] is False


def test_a_pedigree_too_large_for_the_two_locus_computation_keeps_independent_loci(scenario):
    inputs, eff, params = scenario
    rng = np.random.default_rng(3)
    table = load_bundled_table()
    f, m = _profile(rng, table), _profile(rng, table)
    profiles = dict(inputs.profiles)
    sibs = []
    for j in range(6):  # 6 typed siblings + the child: 14 meioses > MAX_MEIOSES
        profiles[f"R-BIG-{j}"] = _child(rng, f, m)
        sibs.append((f"R-BIG-{j}", "full_sibling"))
    families = tuple(sorted(inputs.families + (Family("L", "F-BIG", others=tuple(sibs)),),
                            key=lambda x: (x.lab, x.family_id)))
    refs = tuple(sorted(inputs.reference_ids + tuple(s for s, _ in sibs)))
    big = mr.MatchInputs(profiles, refs, inputs.candidate_ids, families)
    eff_big, _ = mr.effective_frequencies(big, table, floor=params.frequency_floor)
    run, plan, matches = _run(big, eff_big, params, linkage=params.linkage)
    k = [f.family_id for f in families].index("F-BIG")
    assert not run.linked_families[k] and run.too_large_to_link == 1
    assert run.linked_families.sum() == 10
    rows = matches[matches.family_id == "F-BIG"]
    assert len(rows) and (rows.log10_lr == rows.log10_lr_unlinked).all()
    assert mr.linkage_model(run, params.linkage)["n_families_too_large"] == 1


def test_the_steps_after_the_merge_give_the_same_bytes_in_chunks_of_two_families(scenario, monkeypatch):
    inputs, eff, params = scenario
    run, _, matches = _run(inputs, eff, params, linkage=params.linkage)

    def after_merge():
        counted = mr.collect_matches(run, [mr.score_shard(run, f, c, k=params.k, threshold=params.threshold)
                                           for f, c in mr.plan_run(run, params).shards], k=50)
        calibrated = mr.calibrate(run, counted, threshold=1.0, max_expected_unrelated=params.max_expected_unrelated)
        return calibrated, mr.pair_loci(run, calibrated)

    whole = after_merge()
    monkeypatch.setattr(mr, "POST_SHARD_FAMILIES", 2)
    chunked = after_merge()
    assert len(whole[0]) > 50 and whole[0]["p_unrelated"].notna().sum() > 10
    for a, b in zip(whole, chunked):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
