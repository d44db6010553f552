"""A partial genotype from the export to the report, through the ingest and match flows (issue 10,
item 4): a father typed ``8/-`` at TH01 and a candidate typed ``8/?`` land as partial
genotypes, and their per-locus PIs in ``pair_loci`` are the closed forms (no mutation)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from flows.ingest import ingest
from flows.match import match
from kinship.io.frequencies import load_frequency_table
from tests.labs import register_test_labs

LOCI = ["CSF1PO", "D13S317", "D16S539", "D18S51", "D21S11", "D3S1358", "D5S818", "D7S820", "D8S1179",
        "FGA", "TPOX", "vWA"]


def test_partial_genotypes_reach_pair_loci_with_their_closed_form_pis(tmp_path):
    table = load_frequency_table("norstr-2023/East Asia")
    p8 = float(table["TH01"].afreq[table["TH01"].alleles.index("8")])
    rows = ["sample_id,locus,allele_1,allele_2"]
    for sample, th01 in (("F-1", "8,-"), ("F-2", "8,9"), ("C-1", "8,8"), ("C-2", "8,?")):
        for locus in LOCI:  # the same complete genotype everywhere else: consistent, informative
            a, b = table[locus].alleles[:2]
            rows.append(f"{sample},{locus},{a},{b}")
        rows.append(f"{sample},TH01,{th01}")
    export = tmp_path / "batch.csv"
    export.write_text("\n".join(rows) + "\n")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("sample_id,role,family_id,relationship,sex\n"
                        "F-1,reference,FAM-1,father,male\nF-2,reference,FAM-2,father,male\n"
                        "C-1,candidate,,,male\nC-2,candidate,,,male\n")
    store = str(tmp_path / "store.sqlite")
    register_test_labs(store)
    summary = ingest(export=str(export), manifest=str(manifest), lab="DEMO-LAB", store=store, fmt="tidy")
    assert (summary["n_rows"], summary["n_landed"], summary["n_untyped"], summary["n_quarantined"]) == (52, 52, 0, 0)

    result = match(parameters={"mutation": {"model": "none"}}, store=store, out_dir=str(tmp_path / "out"))
    loci = pd.read_csv(result["paths"]["pair_loci_csv"], dtype={"candidate_genotype": str, "father_genotype": str})
    th01 = loci[loci["locus"] == "TH01"].set_index(["candidate_id", "family_id"])
    # father 8/? and candidate 8/8: t_f(8) = 1 / (2 - p8), so PI = 1 / ((2 - p8) p8)
    row = th01.loc[("C-1", "FAM-1")]
    assert (row["candidate_genotype"], row["father_genotype"]) == ("8/8", "8/?")
    assert row["log10_pi"] == pytest.approx(-math.log10((2 - p8) * p8), abs=1e-12)
    # father 8/9 and candidate 8/?: P(8/? | father) = (1 + p8) / 2, P(8/?) = 2 p8 - p8^2
    row = th01.loc[("C-2", "FAM-2")]
    assert (row["candidate_genotype"], row["father_genotype"]) == ("8/?", "8/9")
    assert row["log10_pi"] == pytest.approx(math.log10((1 + p8) / 2 / (2 * p8 - p8 ** 2)), abs=1e-12)
    assert not row["inconsistent"] and row["compared"]
    html = Path(result["paths"]["report_html"]).read_text(encoding="utf-8")
    assert "8/?" in html
