"""The frequency-table policy through the match flow (issue 10, item 6): a renormalised locus and
a locus the table lacks are in the written provenance and report; a table that covers none of
the typed loci fails the run with a clear error (before: a numpy ValueError in the kernel)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows.ingest import ingest
from flows.match import match
from kinship.errors import FrequencyTableError
from tests.labs import register_test_labs
from tests.provenance_check import assert_run_provenance_valid

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"


@pytest.fixture(scope="module")
def three_families(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("freq")
    store = str(tmp / "store.sqlite")
    register_test_labs(store)
    summary = ingest(export=str(DATA / "three_families.txt"), manifest=str(DATA / "three_families_manifest.csv"),
                     lab="DEMO-LAB", store=store)
    assert (summary["n_rows"], summary["n_landed"], summary["n_quarantined"]) == (190, 190, 0)
    return tmp, store


def _table(tmp: Path, name: str, keep) -> str:
    """norSTR 2023 East Asia (the bundled default) as a long CSV, rows filtered/edited by ``keep``."""
    t = pd.read_csv(ROOT / "kinship/data/frequencies/norstr_2023.csv", dtype=str, keep_default_na=False)
    t = keep(t[t["population"] == "East Asia"].drop(columns="population").reset_index(drop=True))
    path = tmp / name
    t.to_csv(path, index=False)
    return str(path)


def test_renormalised_and_left_out_loci_reach_the_written_provenance_and_report(three_families):
    tmp, store = three_families

    def edit(t):
        t = t[t["locus"] != "D13S317"].copy()
        th01 = t.index[t["locus"] == "TH01"]
        scale = 0.995  # TH01 sums to 0.995: within 1 ± 0.01, beyond rounding
        t.loc[th01, "frequency"] = [repr(float(f) * scale) for f in t.loc[th01, "frequency"]]
        return t

    with pytest.warns(UserWarning, match="locus TH01 sum to 0.995"):
        result = match(parameters={"table_id": _table(tmp, "edited.csv", edit)}, store=store,
                       out_dir=str(tmp / "out"))
    written = assert_run_provenance_valid(result)
    assert written["schema"] == "reunite/provenance/4"
    [renormalised] = written["frequency_table"]["renormalised"]
    assert renormalised["locus"] == "TH01" and renormalised["sum"] == pytest.approx(0.995, abs=1e-9)
    assert written["frequency_table"]["silent_alleles"] == [] and written["parameters"]["silent_alleles"] is False
    assert list(written["inputs"]["loci_left_out"]) == ["D13S317"] and "D13S317" not in written["inputs"]["loci"]
    html = Path(result["paths"]["report_html"]).read_text(encoding="utf-8")
    summary = html[html.index('<section id="summary">'):html.index('<section id="supported">')]
    assert "Left out because the frequency table lacks them (1): D13S317." in summary
    assert "TH01 (sum 0.995)" in summary and "Silent alleles not used" in summary


def test_a_table_with_none_of_the_typed_loci_fails_the_run_clearly(three_families):
    tmp, store = three_families
    path = _table(tmp, "penta_only.csv", lambda t: t[t["locus"] == "Penta E"])
    with pytest.raises(FrequencyTableError, match=r"gives frequencies for none of the \d+ loci typed in the store"):
        match(parameters={"table_id": path}, store=store, out_dir=str(tmp / "out2"))
