"""Test-suite options: tests marked ``slow`` run only when asked for (``-m slow``)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow validation: run with `scripts/test -m slow`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def ped_scenario(tmp_path):
    """A family filed as a PED table (typed grandmother and aunt; the missing child's parents
    untyped) plus one couple family, built from real genotypes (1000 Genomes CODIS loci) with
    :func:`kinship.likelihood.simulate.simulate_child`; written as a tidy export, a manifest (v3) and a
    pedigree CSV. Returns paths, the store-shaped frames and the true child of each family."""
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from kinship.genetics.alleles import allele_sort_key
    from kinship.likelihood.simulate import simulate_child

    root = Path(__file__).resolve().parents[1]
    g = pd.read_csv(root / "kinship/data/genotypes/kgp_codis18_east_asia.csv", dtype=str)
    ids = sorted(g["sample"].unique())
    loci = sorted(g["locus"].unique())
    real = {s: {r.locus: (r.allele1, r.allele2) for r in rows.itertuples()} for s, rows in g.groupby("sample")}
    rng = np.random.default_rng(2026)

    def child(father: dict, mother: dict) -> dict:
        out = {}
        for locus in loci:
            labels = sorted({*father[locus], *mother[locus]}, key=allele_sort_key)
            ix = {a: k for k, a in enumerate(labels)}
            f = np.array([[ix[a] for a in father[locus]]], dtype=np.int16)
            m = np.array([[ix[a] for a in mother[locus]]], dtype=np.int16)
            c, _ = simulate_child(f, m, rng)
            out[locus] = tuple(labels[int(a)] for a in c[0])
        return out

    gf, gm, mum, cf, cm = (real[s] for s in ids[:5])
    dad, aunt = child(gf, gm), child(gf, gm)
    profiles = {"R-GM": gm, "R-AUNT": aunt, "R-CF": cf, "R-CM": cm,
                "C-PED": child(dad, mum), "C-CPL": child(cf, cm)}
    profiles.update({f"C-U{k:02d}": real[s] for k, s in enumerate(ids[5:45])})
    rows = []
    for sid, prof in profiles.items():
        for locus in loci:
            a, b = sorted(prof[locus], key=allele_sort_key)
            rows.append((sid, "reference" if sid.startswith("R-") else "candidate", locus, a, b))
    genotypes = pd.DataFrame(rows, columns=["sample_id", "role", "locus", "allele_1", "allele_2"])
    export = tmp_path / "ped_export.csv"
    genotypes[["sample_id", "locus", "allele_1", "allele_2"]].to_csv(export, index=False)
    manifest = tmp_path / "ped_manifest.csv"
    lines = ["sample_id,role,family_id,relationship,sex",
             "R-GM,reference,F-PED,pedigree,female", "R-AUNT,reference,F-PED,pedigree,female",
             "R-CF,reference,F-CPL,father,male", "R-CM,reference,F-CPL,mother,female"]
    lines += [f"{s},candidate,,,unknown" for s in profiles if s.startswith("C-")]
    manifest.write_text("\n".join(lines) + "\n")
    ped = tmp_path / "families.ped.csv"
    ped.write_text(
        "family_id,id,father,mother,sex,sample_id,is_missing\n"
        "F-PED,gf,,,male,,\n"
        "F-PED,gm,,,female,R-GM,\n"
        "F-PED,dad,gf,gm,male,,\n"
        "F-PED,aunt,gf,gm,female,R-AUNT,\n"
        "F-PED,mum,,,female,,\n"
        "F-PED,child,dad,mum,unknown,,true\n"
    )
    members = pd.DataFrame({"lab": "L", "family_id": ["F-CPL", "F-CPL", "F-PED", "F-PED"],
                            "sample_id": ["R-CF", "R-CM", "R-AUNT", "R-GM"],
                            "relationship": ["father", "mother", "pedigree", "pedigree"]})
    pedigrees = pd.DataFrame(
        [("L", "F-PED", p, f, m, s, sid, miss) for p, f, m, s, sid, miss in [
            ("aunt", "gf", "gm", "female", "R-AUNT", False), ("child", "dad", "mum", "unknown", "", True),
            ("dad", "gf", "gm", "male", "", False), ("gf", "", "", "male", "", False),
            ("gm", "", "", "female", "R-GM", False), ("mum", "", "", "female", "", False)]],
        columns=["lab", "family_id", "person_id", "father", "mother", "sex", "sample_id", "is_missing"])
    return {"export": export, "manifest": manifest, "pedigrees_csv": ped, "genotypes": genotypes,
            "members": members, "pedigrees": pedigrees, "truth": {"C-PED": "F-PED", "C-CPL": "F-CPL"}}
