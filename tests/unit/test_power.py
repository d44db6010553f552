"""Power of a family and the next relative (kinship.likelihood.power, kinship.app.power): against
brute-force enumeration of every genotype combination, closed forms and E[LR | unrelated] = 1."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from kinship.app.parameters import MatchParameters
from kinship.app.power import FamilyPower, _relative_locus, _relative_pedigree, _with_relative, family_power, store_family_power, _NEXT_SAMPLE
from kinship.errors import ReuniteInputError
from kinship.genetics.encoding import genotype_alleles, n_genotypes
from kinship.genetics.frequencies import FrequencyTable
from kinship.genetics.mutation import MutationModel
from kinship.io.frequencies import load_bundled_table
from kinship.likelihood.pedigree import pedigree_from_relationships
from kinship.likelihood.phenotypes import unrelated_rows
from kinship.likelihood.power import h1_probabilities, lr_distribution, power
from kinship.matching.compiler import Family, compile_families, encode_profiles
from tests.brute_force import brute_force

TOY = FrequencyTable.from_mapping("toy", {
    "L1": {"8": 0.2, "9": 0.5, "10": 0.3},
    "L2": {"11": 0.6, "12": 0.25, "13": 0.15},
    "L3": {"6": 0.1, "7": 0.4, "8": 0.5},
    "L4": {"5": 0.3, "6": 0.7},
})
TOY_LOCI = ["L1", "L2", "L3"]
PROPORTIONAL = MutationModel("proportional", 0.01, 0.005)  # stationary: the H2 denominator is HWE


def _exact(values_by_locus, probs_by_locus):
    """Every combination of one value per locus: (sums, probabilities)."""
    sums, probs = [], []
    for combo in itertools.product(*[range(len(v)) for v in values_by_locus]):
        sums.append(sum(values_by_locus[l][k] for l, k in enumerate(combo)))
        probs.append(math.prod(probs_by_locus[l][k] for l, k in enumerate(combo)))
    return np.array(sums), np.array(probs)


def _exact_quantile(sums, probs, q):
    order = np.argsort(sums, kind="stable")
    cum = np.cumsum(probs[order])
    return sums[order][np.searchsorted(cum, q - 1e-12)]


def _brute_child_probs(ped, refs_g, afreq, M_m, M_f):
    """P(missing child = g | references) for every complete genotype g, by enumeration."""
    n = afreq.size
    i, j = genotype_alleles(n)
    p_refs = brute_force(ped, refs_g, afreq, M_m, M_f)
    out = []
    for a, b in zip(i, j):
        g = refs_g.copy()
        g[ped.missing] = (a, b)
        out.append(brute_force(ped, g, afreq, M_m, M_f) / p_refs)
    return np.array(out)


def _toy_mother_family():
    profiles = {"M1": {"L1": ("8", "9"), "L2": ("11", "11"), "L3": ("7", "8"), "L4": ("5", "6")}}
    return Family("L", "F1", mother="M1"), profiles


# -- the current family ---------------------------------------------------------------------------


def test_h1_and_h2_distributions_equal_brute_force_enumeration_within_the_grid_bounds():
    family, profiles = _toy_mother_family()
    refs = encode_profiles(profiles, ["M1"], TOY, TOY_LOCI)
    tables = compile_families([family], refs, ["M1"], TOY, TOY_LOCI, PROPORTIONAL)
    ped = pedigree_from_relationships([("M1", "mother")])
    values, h1, h2 = [], [], []
    for li, locus in enumerate(TOY_LOCI):
        lf = TOY[locus]
        rows, pr = unrelated_rows(lf.afreq)
        v = tables.log10_lr[li][rows, 0]
        p1, c = h1_probabilities(v, pr)
        assert c == pytest.approx(1.0, abs=1e-12)  # sum_g P(g | refs) = 1 at every typed locus
        g = np.full((ped.n_members, 2), -1)
        g[ped.index("mother")] = refs[li, 0]
        brute = _brute_child_probs(ped, g, lf.afreq, PROPORTIONAL.matrix(lf.alleles, lf.afreq, "male", locus),
                                   PROPORTIONAL.matrix(lf.alleles, lf.afreq, "female", locus))
        np.testing.assert_allclose(p1, brute, rtol=1e-10, atol=1e-15)
        values.append(v)
        h1.append(brute)
        h2.append(pr)
    s, p_h1 = _exact(values, h1)
    _, p_h2 = _exact(values, h2)
    assert (p_h2 * 10.0 ** s).sum() == pytest.approx(1.0, abs=1e-12)  # E[LR | H2] = 1
    for x in (-3.0, -0.5, 0.0, 0.7, 1.0, 1.4):
        res = power(values, h1, h2, threshold=x, h=1e-3)
        exact_h1, exact_h2 = p_h1[s >= x].sum(), p_h2[s >= x].sum()
        assert res.p_threshold_h1[0] - 1e-12 <= exact_h1 <= res.p_threshold_h1[1] + 1e-12
        assert res.p_threshold_h2[0] - 1e-12 <= exact_h2 <= res.p_threshold_h2[1] + 1e-12
        assert res.p_threshold_h1[1] - res.p_threshold_h1[0] <= p_h1[np.abs(s - x) <= 3.1e-3].sum() + 1e-12
        assert res.expected_lr_h2 == pytest.approx(1.0, abs=1e-12)
        for q, (lo, hi) in res.quantiles_h1.items():
            assert lo - 1e-9 <= _exact_quantile(s, p_h1, q) <= hi + 1e-9


def test_values_on_the_grid_give_exact_tails_and_quantiles():
    rng = np.random.default_rng(7)
    h = 0.25
    values = [rng.integers(-8, 8, size=5) * h for _ in range(3)]
    h1 = [rng.dirichlet(np.ones(5)) for _ in range(3)]
    h2 = [rng.dirichlet(np.ones(5)) for _ in range(3)]
    s, p1 = _exact(values, h1)
    _, p2 = _exact(values, h2)
    for x in np.arange(-6, 6) * h:
        res = power(values, h1, h2, threshold=float(x), h=h)
        assert res.p_threshold_h1[0] == pytest.approx(p1[s >= x - 1e-12].sum(), abs=1e-12)
        assert res.p_threshold_h1[0] == pytest.approx(res.p_threshold_h1[1], abs=1e-12)
        assert res.p_threshold_h2 == pytest.approx((p2[s >= x - 1e-12].sum(),) * 2, abs=1e-12)
    res = power(values, h1, h2, threshold=0.0, h=h, quantiles=(0.1, 0.5, 0.9))
    for q, (lo, hi) in res.quantiles_h1.items():
        assert lo == hi == pytest.approx(_exact_quantile(s, p1, q))
    fft = lr_distribution(values, h1, h=h, method="fft")
    for x in np.arange(-6, 6) * h:
        lo, hi = fft.tail(float(x))
        assert lo - 1e-12 <= p1[s >= x - 1e-12].sum() <= hi + 1e-12 and hi - lo < 1e-9


def test_duo_at_a_fully_informative_locus_gives_the_closed_form():
    # mother a/a, no mutation: the true child is a/x with probability p_x; LR(a/a) = 1/p_a = 10,
    # LR(a/x) = p_x / (2 p_a p_x) = 1/(2 p_a) = 5 for x != a (Brenner): only a/a reaches 10^0.9,
    # with probability p_a under H1 and p_a^2 under H2; every other child has LR 5
    t = FrequencyTable.from_mapping("t", {"TH01": {"6": 0.1, "7": 0.3, "8": 0.6}})
    family = Family("L", "F", mother="M")
    refs = encode_profiles({"M": {"TH01": ("6", "6")}}, ["M"], t, ["TH01"])
    tables = compile_families([family], refs, ["M"], t, ["TH01"], MutationModel("none"))
    rows, pr = unrelated_rows(t["TH01"].afreq)
    v = tables.log10_lr[0][rows, 0]
    p1, _ = h1_probabilities(v, pr)
    res = power([v], [p1], [pr], threshold=0.9, n_candidates=1000)
    assert res.p_threshold_h1 == pytest.approx((0.1, 0.1), abs=1e-12)
    assert res.p_threshold_h2 == pytest.approx((0.01, 0.01), abs=1e-12)
    assert res.expected_false_hits == pytest.approx((10.0, 10.0), abs=1e-9)
    assert res.quantiles_h1[0.5][0] <= math.log10(5.0) <= res.quantiles_h1[0.5][1]
    assert res.quantiles_h1[0.5][1] - res.quantiles_h1[0.5][0] <= 2 * 2e-3


def test_the_calibration_gate_raises_the_support_threshold_to_what_few_unrelated_reach():
    rng = np.random.default_rng(3)
    values = [rng.normal(0, 1.5, size=8) for _ in range(5)]
    h2 = [rng.dirichlet(np.ones(8)) for _ in range(5)]
    h1 = [h1_probabilities(v, p)[0] for v, p in zip(values, h2)]
    s, p2 = _exact(values, h2)
    res = power(values, h1, h2, threshold=1.0, n_candidates=10_000, max_expected_unrelated=0.5)
    assert res.gated and res.support_log10 > 1.0
    # at the support threshold at most 0.5 unrelated are expected; one grid step below, more
    assert 10_000 * p2[s >= res.support_log10 + 2e-3 * 5].sum() <= 0.5
    assert 10_000 * p2[s >= res.support_log10 - 2e-3 * 6].sum() > 0.5
    assert res.p_support_h1[1] <= res.p_threshold_h1[1]


# -- the next relative ----------------------------------------------------------------------------


@pytest.mark.parametrize("relationship, locus", [("father", "L1"), ("full_sibling", "L4")])
def test_next_relative_mixture_equals_enumeration_over_the_relative_and_the_child(relationship, locus):
    family, profiles = _toy_mother_family()
    lf = TOY[locus]
    M_m = PROPORTIONAL.matrix(lf.alleles, lf.afreq, "male", locus)
    M_f = PROPORTIONAL.matrix(lf.alleles, lf.afreq, "female", locus)
    refs = encode_profiles(profiles, ["M1"], TOY, [locus])
    family_r = _with_relative(family, relationship, _NEXT_SAMPLE)
    ped_r, _ = _relative_pedigree(family_r)
    rows, pr = unrelated_rows(lf.afreq)
    v, p1, p2, _ = _relative_locus(family_r, ped_r, refs[0], ["M1"], TOY, locus, PROPORTIONAL, rows, pr)
    # brute force: the pedigree with the relative typed as r and the child as g
    ped = pedigree_from_relationships([("M1", "mother"), ("R", relationship)])
    base = np.full((ped.n_members, 2), -1)
    base[ped.index("mother")] = refs[0, 0]
    r_member = ped.sample_ids.index("R")
    i, j = genotype_alleles(lf.afreq.size)
    p_refs = brute_force(ped, base, lf.afreq, M_m, M_f)
    expect = {}
    for r in range(n_genotypes(lf.afreq.size)):
        g_r = base.copy()
        g_r[r_member] = (i[r], j[r])
        p_r = brute_force(ped, g_r, lf.afreq, M_m, M_f)
        for g in range(n_genotypes(lf.afreq.size)):
            full = g_r.copy()
            full[ped.missing] = (i[g], j[g])
            p_g_r = brute_force(ped, full, lf.afreq, M_m, M_f) / p_r
            t = math.log10(p_g_r / pr[g])  # stationary model: the H2 denominator is HWE
            key = round(t, 9)
            h1_mass, h2_mass = expect.get(key, (0.0, 0.0))
            expect[key] = (h1_mass + p_r / p_refs * p_g_r, h2_mass + p_r / p_refs * pr[g])
    got = {}
    for value, a, b in zip(v, p1, p2):
        key = round(float(value), 9)
        h1_mass, h2_mass = got.get(key, (0.0, 0.0))
        got[key] = (h1_mass + a, h2_mass + b)
    assert sorted(got) == sorted(expect)
    for key in expect:
        assert got[key] == pytest.approx(expect[key], rel=1e-9, abs=1e-15)
    assert sum(b * 10 ** x for x, b in zip(v, p2)) == pytest.approx(1.0, abs=1e-12)  # E[LR | H2] = 1


def test_family_power_of_a_toy_family_matches_enumeration_for_the_next_relative():
    family, profiles = _toy_mother_family()
    params = MatchParameters(mutation={"model": "proportional", "rate_male": 0.01, "rate_female": 0.005})
    fp = family_power(family, profiles, TOY, params.mutation_model, TOY_LOCI[:2], n_candidates=100,
                      parameters=params, relatives=("father", "full_sibling"))
    assert fp.current.expected_lr_h2 == pytest.approx(1.0, abs=1e-12)
    assert sorted(r.relationship for r in fp.next_relatives) == ["father", "full_sibling"]
    refs = encode_profiles(profiles, ["M1"], TOY, TOY_LOCI[:2])
    for rp in fp.next_relatives:
        family_r = _with_relative(family, rp.relationship, _NEXT_SAMPLE)
        ped_r, _ = _relative_pedigree(family_r)
        per = [_relative_locus(family_r, ped_r, refs[li], ["M1"], TOY, locus, params.mutation_model,
                               *unrelated_rows(TOY[locus].afreq)) for li, locus in enumerate(TOY_LOCI[:2])]
        s, p1 = _exact([x[0] for x in per], [x[1] for x in per])
        assert rp.power.expected_lr_h2 == pytest.approx(1.0, abs=1e-12)
        for q, (lo, hi) in rp.power.quantiles_h1.items():
            assert lo - 1e-9 <= _exact_quantile(s, p1, q) <= hi + 1e-9
        # gain bounds contain new minus current
        assert rp.gain[0] <= rp.p_support[1] - fp.p_support[0] + 1e-12


def test_the_other_parent_raises_p_support_on_real_frequencies():
    table = load_bundled_table()
    loci = ["D3S1358", "vWA", "D16S539", "CSF1PO", "TPOX", "D8S1179", "D21S11", "D18S51", "TH01", "FGA",
            "D5S818", "D13S317", "D7S820", "D2S1338", "D19S433"]
    rng = np.random.default_rng(11)
    profile = {}
    for locus in loci:
        lf = table[locus]
        a = rng.choice(lf.afreq.size, 2, p=lf.afreq)
        profile[locus] = tuple(lf.alleles[k] for k in sorted(a))
    params = MatchParameters()
    fp = family_power(Family("L", "F", mother="M"), {"M": profile}, table, params.mutation_model, loci,
                      n_candidates=100_000, parameters=params, relatives=("father", "full_sibling"))
    assert fp.current.gated and fp.current.support_log10 > 4.0  # single parent: the calibration gate
    best = fp.next_relatives[0]
    assert best.relationship == "father" and best.family_kind == "couple"
    assert best.p_support[0] > fp.p_support[1] + 0.05 and best.gain[0] > 0.05
    assert [r.relationship for r in fp.next_relatives] == ["father", "full_sibling"]
    assert fp.not_considered == {}
    assert fp.current.expected_lr_h2 == pytest.approx(1.0, abs=1e-9)
    assert FamilyPower.from_dict(fp.as_dict()) == fp


def test_theta_above_zero_and_unknown_relatives_are_refused():
    family, profiles = _toy_mother_family()
    with pytest.raises(ReuniteInputError, match=r"theta = 0.01; the exact power is computed at theta = 0 only"):
        family_power(family, profiles, TOY, PROPORTIONAL, TOY_LOCI, n_candidates=10,
                     parameters=MatchParameters(theta=0.01))
    with pytest.raises(ReuniteInputError, match=r"relationship\(s\) \['cousin'\] unknown"):
        family_power(family, profiles, TOY, PROPORTIONAL, TOY_LOCI, n_candidates=10,
                     parameters=MatchParameters(), relatives=("cousin",))


# -- the store cache and the command line ---------------------------------------------------------

_STORE_LOCI = ["D3S1358", "vWA", "D16S539", "CSF1PO", "TPOX", "D8S1179", "D21S11", "D18S51", "TH01", "FGA",
               "D5S818", "D13S317"]  # ingestion needs 12 autosomal loci


def _small_store(tmp_path):
    from kinship.app.ingest import ingest_batch
    from kinship.store import Store
    from tests.labs import register_test_labs

    table = load_bundled_table()
    rng = np.random.default_rng(5)
    ids = ["M-1", "C-1", "C-2", "C-3"]
    rows = []
    for sid in ids:
        for locus in _STORE_LOCI:
            lf = table[locus]
            a, b = sorted(rng.choice(lf.afreq.size, 2, p=lf.afreq))
            rows.append(f"{sid},{locus},{lf.alleles[a]},{lf.alleles[b]}\n")
    export = tmp_path / "b.csv"
    export.write_text("sample_id,locus,allele_1,allele_2\n" + "".join(rows))
    manifest = tmp_path / "m.csv"
    manifest.write_text("sample_id,role,family_id,relationship\nM-1,reference,F-1,mother\n"
                        "C-1,candidate,,\nC-2,candidate,,\nC-3,candidate,,\n")
    path = tmp_path / "store.sqlite"
    register_test_labs(path)
    with Store(path) as store:
        ingest_batch(store, export, manifest, lab="L", fmt="tidy")
    return path


def test_store_cache_round_trip_in_sqlite(tmp_path):
    from kinship.store import Store

    path = _small_store(tmp_path)
    with Store(path) as store:
        first, cached = store_family_power(store, "L/F-1", MatchParameters(), relatives=("father",))
        assert not cached and first.current.n_candidates == 3
        again, cached = store_family_power(store, "L/F-1", MatchParameters(), relatives=("father",))
        assert cached and again == first
        other, cached = store_family_power(store, "L/F-1", MatchParameters(max_expected_unrelated=0.5),
                                           relatives=("father",))
        assert not cached and other.parameters_hash != first.parameters_hash
        with pytest.raises(ReuniteInputError, match=r"family L/F-9 is not in the store \(lab L has 1 families"):
            store_family_power(store, "L/F-9")


def test_command_line_prints_the_power_table(tmp_path, capsys):
    from flows import power as power_cli

    path = _small_store(tmp_path)
    text = power_cli.main(["L/F-1", "--store", str(path)])
    assert "## Power and the next relative" in text and "Family L/F-1 (mother only)" in text
    assert "| father | couple |" in text and "P(support | true child):" in text
    assert "(from the store's cache)" in power_cli.main(["L/F-1", "--store", str(path)])
    with pytest.raises(SystemExit) as exit_info:
        power_cli.main(["L/F-2", "--store", str(path)])
    assert exit_info.value.code == 2 and "error: family L/F-2 is not in the store" in capsys.readouterr().err


def test_report_section_escapes_ids(tmp_path):
    from kinship.report.markdown import family_power_markdown
    from kinship.report.formatting import power_rows

    family, profiles = _toy_mother_family()
    fp = family_power(family, profiles, TOY, PROPORTIONAL, TOY_LOCI, n_candidates=10,
                      parameters=MatchParameters(), relatives=("father",))
    record = {**fp.as_dict(), "family_key": "L/<b>F_1</b>"}
    assert "L/\\<b\\>F\\_1\\</b\\>" in family_power_markdown([record])
    import jinja2
    from kinship.report.html import _environment
    html = _environment().from_string("{% for f in power %}{{ f.family }}{% endfor %}").render(power=power_rows([record]))
    assert "&lt;b&gt;F_1&lt;/b&gt;" in html and "<b>" not in html


def test_family_power_rows_round_trip_and_are_replaced_on_both_back_ends(store):
    from kinship.errors import StoreError

    key = {"content_hash": "a" * 64, "parameters_hash": "b" * 64}
    assert store.get_family_power("L", "F1", **key) is None
    store.put_family_power("L", "F1", {"p_support": [0.25, 0.5]}, code_version="0.1.0", **key)
    store.put_family_power("L", "F1", {"p_support": [0.3, 0.31]}, code_version="0.1.0", **key)  # replaced
    assert store.get_family_power("L", "F1", **key) == {"p_support": [0.3, 0.31]}
    assert store.get_family_power("L", "F1", content_hash="c" * 64, parameters_hash="b" * 64) is None
    with pytest.raises(StoreError, match=r"content_hash 'xyz'; expected a sha256 in hex"):
        store.put_family_power("L", "F1", {}, content_hash="xyz", parameters_hash="b" * 64, code_version="0")
    with pytest.raises(StoreError, match=r"the result is not JSON"):
        store.put_family_power("L", "F1", {"p": math.nan}, code_version="0", **key)


def test_a_sibling_family_s_power_uses_the_run_s_linked_pairs_and_r_one_half_is_independence():
    import dataclasses

    from kinship.genetics.linkage import linked_pairs

    table = load_bundled_table()
    loci = ["CSF1PO", "D12S391", "D5S818", "TH01", "vWA"]
    rng = np.random.default_rng(5)
    profile = {}
    for locus in loci:
        lf = table[locus]
        a = rng.choice(lf.afreq.size, 2, p=lf.afreq)
        profile[locus] = tuple(lf.alleles[k] for k in sorted(a))
    family = Family("L", "F", others=(("S", "full_sibling"),))
    params = MatchParameters()
    pairs = linked_pairs(loci)
    assert [p.name for p in pairs] == ["CSF1PO~D5S818", "D12S391~vWA"]

    def current(linked):
        return family_power(family, {"S": profile}, table, params.mutation_model, loci, n_candidates=1000,
                            parameters=params, relatives=(), linked=linked).current

    plain, joint = current(()), current(pairs)
    half = current(tuple(dataclasses.replace(p, recombination_fraction=0.5) for p in pairs))
    assert half.n_loci == joint.n_loci == 3 and plain.n_loci == 5
    for a, b in zip(half.p_threshold_h1 + half.p_threshold_h2, plain.p_threshold_h1 + plain.p_threshold_h2):
        assert a == pytest.approx(b, abs=2e-3)  # the same distribution, gridded over other units
    # E[LR | unrelated] = P(refs | H1) / P(refs | H2) (1 but for the stepwise model's
    # non-stationarity), which linkage does not change for one reference
    assert joint.expected_lr_h2 == pytest.approx(plain.expected_lr_h2, rel=1e-9)
    assert abs(plain.expected_lr_h2 - 1.0) < 2e-3
    # linkage makes two sibs share the pair's alleles together: the true child's LR spreads
    spread = lambda r: r.quantiles_h1[0.95][0] - r.quantiles_h1[0.05][1]  # noqa: E731
    assert spread(joint) > spread(plain)
    parentage = family_power(Family("L", "P", mother="S"), {"S": profile}, table, params.mutation_model, loci,
                             n_candidates=1000, parameters=params, relatives=(), linked=pairs).current
    assert parentage.n_loci == 5  # a parent-child LR keeps independent loci


def test_the_demo_s_next_relative_table_reports_the_best_relative_and_its_gain():
    from reunite_demo.evaluation import format_next_relatives, next_relative_rows

    family, profiles = _toy_mother_family()
    params = MatchParameters(mutation={"model": "proportional", "rate_male": 0.01, "rate_female": 0.005})
    fp = family_power(family, profiles, TOY, params.mutation_model, TOY_LOCI[:2], n_candidates=100,
                      parameters=params, relatives=("father", "full_sibling"))
    (row,) = next_relative_rows([fp])
    best = fp.next_relatives[0]
    assert row["next"].split(" ≈ ")[0] == best.relationship
    assert row["p_support"] == pytest.approx(sum(fp.p_support) / 2)
    assert row["gain"] == pytest.approx(sum(best.gain) / 2) and row["gain"] >= max(sum(r.gain) / 2 for r in fp.next_relatives)
    text = format_next_relatives([row])
    assert f"{fp.family_key}" in text and best.relationship in text and f"{row['gain']:+.3f}" in text
    assert "no inconclusive lead" in format_next_relatives([])
