"""The search flow: one child or one family against the store gives the last run's numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flows.pipeline import pipeline
from flows.search import search
from kinship.errors import ReuniteInputError
from tests.labs import TEST_LABS

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "flows"


@pytest.fixture(scope="module")
def matched(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    store = str(tmp / "store.sqlite")
    batch = {"export": str(DATA / "three_families.txt"), "manifest": str(DATA / "three_families_manifest.csv"),
             "lab": "DEMO-LAB"}
    result = pipeline(batches=[batch], store=store, out_dir=str(tmp / "out"), labs={"DEMO-LAB": TEST_LABS["DEMO-LAB"]})
    return store, result["provenance"]["run_id"], pd.read_parquet(result["paths"]["matches_parquet"])


def test_a_child_search_finds_its_family_with_the_runs_scores(matched):
    store, run_id, matches = matched
    truth = pd.read_csv(DATA / "three_families_truth.csv", dtype=str)
    for row in truth.itertuples():
        found = search(candidate_id=row.candidate_id, store=store)
        assert found["parameters_from"] == f"match run {run_id}"
        got = pd.DataFrame(found["matches"])
        assert got.at[0, "family_id"] == row.family_id and got.at[0, "conclusion"] == "support"
        run_rows = matches[matches.candidate_id == row.candidate_id].set_index(["lab", "family_id"])
        for pair in got.itertuples():
            assert pair.log10_lr == run_rows.loc[(pair.lab, pair.family_id), "log10_lr"]  # bit for bit
            assert pair.rank_for_candidate == run_rows.loc[(pair.lab, pair.family_id), "rank_for_candidate"]


def test_a_family_search_ranks_its_child_first(matched):
    store, _, matches = matched
    truth = pd.read_csv(DATA / "three_families_truth.csv", dtype=str)
    row = truth.iloc[0]
    found = pd.DataFrame(search(family=f"DEMO-LAB/{row.family_id}", store=store)["matches"])
    assert found.at[0, "candidate_id"] == row.candidate_id and found.at[0, "rank_for_family"] == 1
    assert found["rank_for_candidate"].isna().all()


def test_an_unknown_child_is_refused(matched):
    store, _, _ = matched
    with pytest.raises(ReuniteInputError, match="no candidate of that sample id"):
        search(candidate_id="NOT-A-CHILD", store=store)


def test_reunite_search_prints_the_ranked_families_and_json_for_scripts(matched, capsys):
    import json

    from flows.cli import main

    store, run_id, matches = matched
    truth = pd.read_csv(DATA / "three_families_truth.csv", dtype=str)
    row = truth.iloc[0]
    with pytest.raises(SystemExit) as info:
        main(["search", "--candidate", row.candidate_id, "--store", store, "--top", "2"])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"search of candidate {row.candidate_id}: ") and f"match run {run_id}" in lines[0]
    assert lines[3].split()[:2] == ["1", f"DEMO-LAB/{row.family_id}"] and "support" in lines[3]
    assert "more; --top N or --json for all" in out
    with pytest.raises(SystemExit) as info:
        main(["search", "--family", f"DEMO-LAB/{row.family_id}", "--store", store, "--json"])
    found = json.loads(capsys.readouterr().out)
    assert found["matches"][0]["candidate_id"] == row.candidate_id
    with pytest.raises(SystemExit) as info:
        main(["search", "--store", store])
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == "" and err.startswith("error: ") and "expected either one candidate" in err


def test_reunite_search_of_an_unknown_child_is_one_line_without_a_traceback(matched, capfd):
    """Also what Prefect's own console handlers write (captured at the file descriptor)."""
    from flows.cli import main

    store, _, _ = matched
    capfd.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["search", "--candidate", "C-9999", "--store", store])
    out, err = capfd.readouterr()
    assert info.value.code == 2 and out == ""
    assert "Traceback" not in err and "ERROR" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: candidate C-9999: no candidate of that sample id"), err
