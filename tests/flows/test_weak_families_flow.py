"""A father-only family and a male child with Y-STRs, from the export to the matches (issue 11):
the Y-STR LR is the closed form, the combined LR is the product, the conclusion and the
posteriors after database size use it, and a female or unrelated child gets what it should."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from flows.ingest import ingest
from flows.match import match
from kinship.genetics.ystr import read_ystr_rates
from kinship.io.frequencies import load_frequency_table
from kinship.likelihood.lineage import haplotype_frequency
from tests.labs import register_test_labs
from tests.provenance_check import assert_run_provenance_valid

LOCI = ["CSF1PO", "D13S317", "D16S539", "D18S51", "D21S11", "D3S1358", "D5S818", "D7S820", "D8S1179",
        "FGA", "TPOX", "vWA", "TH01"]
Y = {"DYS19": ("14", "14"), "DYS390": ("23", "23"), "DYS391": ("10", "10"), "DYS392": ("11", "11"),
     "DYS393": ("12", "12"), "DYS385": ("13", "18")}


def test_y_str_evidence_reaches_the_conclusion_and_the_posteriors(tmp_path):
    table = load_frequency_table("norstr-2023/East Asia")
    rows = ["sample_id,locus,allele_1,allele_2"]
    people = {"F-1": 0, "C-SON": 0, "C-GIRL": 0, "C-OTHER": 1, "C-X": 2}
    for sample, shift in people.items():
        for locus in LOCI:  # father, son and daughter share allele 1 at every locus
            a = table[locus].alleles
            rows.append(f"{sample},{locus},{a[0]},{a[1 + shift]}")
    for sample in ("F-1", "C-SON"):
        rows += [f"{sample},{locus},{a},{b}" for locus, (a, b) in Y.items()]
    other = dict(Y, DYS19=("15", "15"), DYS390=("24", "24"))  # two loci one step off: a mismatching man
    rows += [f"C-OTHER,{locus},{a},{b}" for locus, (a, b) in other.items()]
    (tmp_path / "batch.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "manifest.csv").write_text(
        "sample_id,role,family_id,relationship,sex\nF-1,reference,FAM-1,father,male\n"
        "C-SON,candidate,,,male\nC-GIRL,candidate,,,female\nC-OTHER,candidate,,,male\nC-X,candidate,,,unknown\n")
    store = str(tmp_path / "store.sqlite")
    register_test_labs(store)
    summary = ingest(export=str(tmp_path / "batch.csv"), manifest=str(tmp_path / "manifest.csv"), lab="DEMO-LAB",
                     store=store, fmt="tidy")
    assert summary["n_quarantined"] == 0

    result = match(parameters={"mutation": {"model": "none"}, "y_str": {"step_ratio": 0.0}}, store=store,
                   out_dir=str(tmp_path / "out"))
    written = assert_run_provenance_valid(result)
    assert written["y_str"]["used"] and written["y_str"]["n_male_haplotypes"] == 3
    m = pd.read_parquet(result["paths"]["matches_parquet"]).set_index("candidate_id")
    rates = {r.locus: r.rate for r in read_ystr_rates().loci}
    # son vs father, one meiosis, 6 loci (DYS385 two copies) all matching; the database holds
    # F-1, C-SON and C-OTHER: leaving out the son and the family's father, N = 1 (C-OTHER),
    # and C-OTHER differs, so x = 0
    num = sum(math.log10(1 - rates[l]) for l in Y if l != "DYS385") + 2 * math.log10(1 - rates["DYS385"])
    upper = haplotype_frequency(np.array([0]), np.array([1]))[1][0]
    son = m.loc["C-SON"]
    assert son["log10_lr_y"] == pytest.approx(num - math.log10(upper), abs=1e-12)
    assert (son["n_y_loci_compared"], son["n_y_mismatches"], son["y_steps"]) == (6, 0, 0)
    assert son["log10_lr_total"] == son["log10_lr"] + son["log10_lr_y"]
    # two loci one step off from a father under the single-step model: P = (mu/2)^2 (1 - mu)...
    other = m.loc["C-OTHER"]
    assert (other["n_y_mismatches"], other["y_steps"]) == (2, 2)
    assert other["log10_lr_total"] == other["log10_lr"] + other["log10_lr_y"]
    for girl_or_unknown in ("C-GIRL", "C-X"):
        row = m.loc[girl_or_unknown]
        assert pd.isna(row["log10_lr_y"]) and row["log10_lr_total"] == row["log10_lr"]
    # posteriors after database size: 1 family, 4 candidates, every pair kept (exact)
    w = 0.5 / 1
    d = 0.5 + w * 10.0 ** son["log10_lr_total"]
    assert son["posterior"] == pytest.approx(w * 10.0 ** son["log10_lr_total"] / d, rel=1e-12)
    v = 0.5 / 4
    d_f = 0.5 + v * (10.0 ** m["log10_lr_total"]).sum()
    assert son["family_posterior"] == pytest.approx(v * 10.0 ** son["log10_lr_total"] / d_f, rel=1e-12)
    assert (m["posterior_lower"] == m["posterior"]).all()  # nothing left out


def test_the_match_flow_shows_its_shard_progress_in_prefect(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterType
    from prefect.client.schemas.sorting import FlowRunSort

    table = load_frequency_table("norstr-2023/East Asia")
    rows = ["sample_id,locus,allele_1,allele_2"]
    for k, sample in enumerate(["F-1", "F-2", "F-3", "C-1", "C-2"]):
        rows += [f"{sample},{locus},{table[locus].alleles[k % 3]},{table[locus].alleles[1 + k % 2]}" for locus in LOCI]
    (tmp_path / "batch.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "manifest.csv").write_text(
        "sample_id,role,family_id,relationship,sex\nF-1,reference,FAM-1,father,male\nF-2,reference,FAM-2,mother,female\n"
        "F-3,reference,FAM-3,mother,female\nC-1,candidate,,,male\nC-2,candidate,,,female\n")
    store = str(tmp_path / "store.sqlite")
    register_test_labs(store)
    ingest(export=str(tmp_path / "batch.csv"), manifest=str(tmp_path / "manifest.csv"), lab="DEMO-LAB",
           store=store, fmt="tidy")
    match(parameters={"shard_size": 1}, store=store, out_dir=str(tmp_path / "out"))  # 3 shards
    with get_client(sync_client=True) as client:
        (run,) = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=1)  # the match just run
        (progress,) = client.read_artifacts(artifact_filter=ArtifactFilter(
            type=ArtifactFilterType(any_=["progress"]), flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
    assert progress.data == 100.0 and progress.description == "Family shards scored (of 3)"
