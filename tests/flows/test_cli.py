"""``reunite`` (flows/cli.py): every command has ``--help``; every mistake of issue 14 is a short
message (one ``error:`` line) and a non-zero exit; ``--json`` and ``--debug``; a real ingest, match
and quarantine on the three-family batch."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

import flows.cli
import flows.ingest
import flows.match
from flows.cli import app, main
from kinship.app.parameters import option_fields
from kinship.store import Store
from tests.labs import TEST_LABS

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"
EXPORT, MANIFEST = str(DATA / "three_families.txt"), str(DATA / "three_families_manifest.csv")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """``reunite ARGV``: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return info.value.code, out, err


def refused(code: int, out: str, err: str, status: int = 2) -> str:
    """The one ``error:`` line of a refused command (nothing on stdout, no traceback)."""
    assert code == status, err
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def _never(*args, **kwargs):
    raise AssertionError("the flow was called")


@pytest.fixture
def empty_store(tmp_path):
    target = tmp_path / "s.sqlite"
    with Store(target) as store:
        store.register_lab("DEMO-LAB", TEST_LABS["DEMO-LAB"])
    return str(target)


COMMANDS = [[], ["init"], ["ingest"], ["ingest-pedigrees"], ["match"], ["power"], ["backup"], ["restore"],
            ["labs", "register"], ["labs", "list"], ["kits", "register"], ["kits", "list"], ["batches", "list"],
            ["batches", "retract"], ["samples", "erase"], ["quarantine", "list"], ["quarantine", "export"], ["search"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "reunite")
def test_every_command_has_help(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: reunite")


def test_match_help_has_every_parameter_of_the_model_prior_and_mutation_included():
    text = CliRunner().invoke(app, ["match", "--help"], terminal_width=200).output
    for option, _, info in option_fields():
        assert option in text, option
    for option in ("--prior-family-not-on-file", "--prior-child-not-on-file", "--mutation-model",
                   "--mutation-rate-male", "--mutation-rate-female", "--mutation-range", "--mutation-rate2"):
        assert option in text


def test_generated_options_build_the_match_parameters():
    params = flows.cli.match_parameters({"theta": 0.01, "mutation_rate_male": 0.003, "prior_family_not_on_file": 0.3,
                                         "y_str_use": False, "linkage_map_function": "kosambi", "k": None})
    assert (params.theta, params.mutation.rate_male, params.prior.family_not_on_file) == (0.01, 0.003, 0.3)
    assert params.y_str.use is False and params.linkage.map_function == "kosambi" and params.k == 10


def test_an_unknown_command_is_one_line(capsys):
    err = refused(*run(capsys, "pipeline"))
    assert "No such command 'pipeline'" in err and "reunite --help" in err


def test_a_typo_in_store_is_refused_and_creates_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(flows.match, "run_match", _never)
    monkeypatch.setattr(flows.ingest, "ingest", _never)
    typo = tmp_path / "var" / "reunit.sqlite"
    for argv in (["match"], ["ingest", EXPORT, MANIFEST, "--lab", "DEMO-LAB"], ["labs", "list"],
                 ["quarantine", "list", "1"], ["batches", "list"], ["power", "DEMO-LAB/F-012"]):
        err = refused(*run(capsys, *argv, "--store", str(typo)))
        assert f"store {typo} does not exist" in err and "reunite init" in err, argv
    assert not typo.exists() and not typo.parent.exists()


def test_init_creates_a_store_and_says_so(capsys, tmp_path):
    target = tmp_path / "new" / "s.sqlite"
    code, out, err = run(capsys, "init", "--store", str(target), "--json")
    assert code == 0 and json.loads(out)["created"] is True and target.is_file()
    code, out, err = run(capsys, "init", "--store", str(target))
    assert code == 0 and "is ready" in out


def test_a_bad_parameter_is_one_line_before_the_store_is_looked_at(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(flows.match, "run_match", _never)
    err = refused(*run(capsys, "match", "--theta", "1", "--store", str(tmp_path / "none.sqlite")))
    assert "theta" in err and "0 <= theta < 1" in err
    err = refused(*run(capsys, "match", "--k", "abc"))
    assert "--k" in err and "reunite match --help" in err
    err = refused(*run(capsys, "match", "--linkage-map-function", "morgan"))
    assert "haldane" in err


def test_a_match_with_nothing_to_compare_is_refused(capsys, empty_store, monkeypatch):
    monkeypatch.setattr(flows.match, "run_match", _never)
    err = refused(*run(capsys, "match", "--store", empty_store))
    assert "0 candidates and 0 families" in err and "nothing to match" in err


def test_a_missing_export_is_one_line_and_never_reaches_the_flow(capsys, empty_store, monkeypatch):
    monkeypatch.setattr(flows.ingest, "ingest", _never)
    err = refused(*run(capsys, "ingest", "missing.txt", MANIFEST, "--lab", "DEMO-LAB", "--store", empty_store))
    assert "export missing.txt: no such file" in err
    err = refused(*run(capsys, "ingest", EXPORT, "missing.csv", "--lab", "DEMO-LAB", "--store", empty_store))
    assert "manifest missing.csv: no such file" in err
    err = refused(*run(capsys, "ingest-pedigrees", "missing.csv", "--lab", "DEMO-LAB", "--store", empty_store))
    assert "pedigree missing.csv: no such file" in err


def test_a_personal_lab_and_a_free_text_reason_are_refused_without_repeating_them(capsys, empty_store, monkeypatch):
    monkeypatch.setattr(flows.ingest, "ingest", _never)
    err = refused(*run(capsys, "ingest", EXPORT, MANIFEST, "--lab", "张伟13800138000", "--store", empty_store))
    assert "张" not in err and "13800138000" not in err
    err = refused(*run(capsys, "batches", "retract", "1", "--by", "OP-1", "--why", "张伟 asked", "--store", empty_store))
    assert "张" not in err and "not a reason code" in err
    err = refused(*run(capsys, "ingest", EXPORT, MANIFEST, "--lab", "DEMO-LAB", "--fmt", "genemapper",
                       "--min-q", "0.5", "--store", empty_store))
    assert "for --fmt vcf" in err


def test_an_unknown_batch_in_quarantine_is_refused(capsys, empty_store):
    err = refused(*run(capsys, "quarantine", "list", "7", "--store", empty_store))
    assert "no batch with file_id 7" in err and "batches list" in err


def test_debug_shows_the_traceback_and_an_unexpected_failure_exits_1(capsys, empty_store, monkeypatch):
    code, out, err = run(capsys, "--debug", "match", "--store", empty_store + ".typo")
    assert code == 2 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("error: store")

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(flows.cli, "_store_counts", broken)
    err = refused(*run(capsys, "match", "--store", empty_store), status=1)
    assert err == "error: RuntimeError: disk on fire (run again with --debug for the traceback)\n"
    code, out, err = run(capsys, "match", "--debug", "--store", empty_store)
    assert code == 1 and "Traceback" in err and "disk on fire" in err


def test_labs_and_kits_register_and_list_with_json(capsys, empty_store):
    code, out, _ = run(capsys, "labs", "register", "BJ-PSB", "--name", "北京市公安局物证鉴定中心", "--store", empty_store)
    assert code == 0 and out == "lab BJ-PSB registered (北京市公安局物证鉴定中心)\n"
    code, out, _ = run(capsys, "labs", "list", "--json", "--store", empty_store)
    assert code == 0 and {"code": "BJ-PSB", "name": "北京市公安局物证鉴定中心"} in json.loads(out)
    code, out, _ = run(capsys, "kits", "register", "AGCU EX22", "--loci", "D3S1358,vWA,FGA", "--store", empty_store)
    assert code == 0 and "3 loci" in out
    code, out, _ = run(capsys, "--json", "kits", "list", "--store", empty_store)
    kits = {row["name"]: row for row in json.loads(out)}
    assert kits["AGCU EX22"]["n_loci"] == 3 and kits["AGCU EX22"]["source"] != "bundled"
    code, out, _ = run(capsys, "kits", "register", "Bad Kit", "--loci", "NOT-A-LOCUS", "--store", empty_store)
    assert code == 2


def _bad_batch(tmp_path: Path) -> tuple[str, str]:
    """The three-family batch with one allele that is no allele: one quarantined row."""
    lines = Path(EXPORT).read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("R-0017\tD3S1358"))
    lines[i] = "R-0017\tD3S1358\t=HYPERLINK(1)\t16"
    export = tmp_path / "bad.txt"
    export.write_text("\n".join(lines) + "\n")
    return str(export), MANIFEST


def test_ingest_match_and_quarantine_end_to_end(capsys, empty_store, tmp_path, monkeypatch):
    export, manifest = _bad_batch(tmp_path)
    code, out, err = run(capsys, "ingest", export, manifest, "--lab", "DEMO-LAB", "--store", empty_store)
    assert code == 0, err
    assert "1 quarantined" in out and f"reunite quarantine list 1 --store {empty_store}" in out
    assert len(out) < 1000 and "HYPERLINK" not in out  # a short summary, never the raw value

    code, out, err = run(capsys, "quarantine", "list", "1", "--store", empty_store)
    assert code == 0 and "R-0017" in out and "D3S1358" in out and "1 quarantined rows" in out
    assert "HYPERLINK" not in out  # the raw value stays off the screen
    code, out, _ = run(capsys, "quarantine", "list", "1", "--json", "--store", empty_store)
    (row,) = json.loads(out)
    assert (row["sample_id"], row["locus"], row["source"]) == ("R-0017", "D3S1358", "export")
    target = tmp_path / "q.csv"
    code, out, _ = run(capsys, "quarantine", "export", "1", "--out", str(target), "--store", empty_store)
    assert code == 0 and out == f"1 quarantined rows of batch 1 written to {target}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    (written,) = list(csv.DictReader(target.open()))
    assert written["sample_id"] == "R-0017" and written["value"].startswith("'=HYPERLINK")  # escaped for spreadsheets

    seen = []
    real = flows.match.run_match

    def watched(*args, **kwargs):  # the progress hook the command line installs is called per shard
        flows.match._cli_progress = lambda done, total: seen.append((done, total))
        try:
            return real(*args, **kwargs)
        finally:
            flows.match._cli_progress = None

    monkeypatch.setattr(flows.match, "run_match", watched)
    code, out, err = run(capsys, "match", "--store", empty_store, "--out-dir", str(tmp_path / "out"), "--json",
                         "--prior-family-not-on-file", "0.3", "--mutation-rate-male", "0.003")
    assert code == 0, err
    result = json.loads(out)
    assert (result["n_candidates"], result["n_families"]) == (6, 3)
    assert Path(result["paths"]["report_html"]).is_file()
    assert seen and seen[-1][0] == seen[-1][1] >= 1
    with Store(empty_store) as store:
        recorded = store.latest_match_run()
    assert recorded["run_id"] == result["run_id"]
    assert recorded["parameters"]["prior"]["family_not_on_file"] == 0.3
    assert recorded["parameters"]["mutation"]["rate_male"] == 0.003

    code, out, err = run(capsys, "match", "--store", empty_store, "--out-dir", str(tmp_path / "out"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("match run run-") and "6 candidates x 3 families" in lines[0]
    assert lines[1].startswith("open this report: ") and lines[1].endswith("report.html")

    table = tmp_path / "f097.csv"  # a refusal inside the flow (a task's error) is one line too, not a traceback
    table.write_text("locus,allele,frequency\nTH01,6,0.3\nTH01,7,0.3\nTH01,9.3,0.37\n")
    code, out, err = run(capsys, "match", "--store", empty_store, "--out-dir", str(tmp_path / "out"),
                         "--table-id", str(table))
    assert code == 2 and out == "" and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and "TH01" in lines[-1] and "0.97" in lines[-1]
    assert len(lines) <= 2, err


def test_the_progress_bar_moves_with_the_flow_hook_on_a_terminal(monkeypatch):
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(flows.cli.sys, "stderr", screen)
    with flows.cli._bar("match", flows.match, "_cli_progress"):
        assert flows.match._cli_progress is not None
        flows.match._cli_progress(1, 4)
        flows.match._cli_progress(4, 4)
    assert flows.match._cli_progress is None and "4/4" in screen.getvalue()


def test_ingest_pedigrees_prints_one_line_and_json_for_scripts(capsys, ped_scenario, tmp_path):
    from tests.labs import register_test_labs

    s = ped_scenario
    store = str(tmp_path / "store.sqlite")
    register_test_labs(store)
    code, out, err = run(capsys, "ingest", str(s["export"]), str(s["manifest"]), "--lab", "L", "--fmt", "tidy",
                         "--store", store, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["n_quarantined"] == 0 and summary["file_id"] == 1
    assert not any(isinstance(v, (list, dict)) for v in summary.values())  # counts and ids, no records
    code, out, err = run(capsys, "ingest-pedigrees", str(s["pedigrees_csv"]), "--lab", "L", "--store", store)
    assert code == 0, err
    assert out.count("\n") == 1 and "{" not in out and "families 1" in out and "typed 2" in out
    code, out, err = run(capsys, "ingest-pedigrees", str(s["pedigrees_csv"]), "--lab", "L", "--store", store, "--json")
    assert code == 0 and json.loads(out)["n_families"] == 1


def test_a_batch_that_lands_nothing_is_recorded_and_exits_2(capsys, empty_store, tmp_path):
    """Every manifest row refers to a lab that is not the batch's: the rows are quarantined, the
    batch recorded, and the command says so in one error line with exit status 2."""
    rows = Path(MANIFEST).read_text().splitlines()
    manifest = tmp_path / "other_lab.csv"
    manifest.write_text("\n".join([rows[0], *(r.replace("DEMO-LAB", "OTHER-LAB") for r in rows[1:])]) + "\n")
    code, out, err = run(capsys, "ingest", EXPORT, str(manifest), "--lab", "DEMO-LAB", "--store", empty_store)
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("error: batch ") and "landed no sample" in lines[-1]
    assert "reunite quarantine list 1" in lines[-1] and "R-0017" not in err  # counts and rules, no ids
    with Store(empty_store) as store:
        assert len(store.load_samples()) == 0 and len(store.list_batches()) == 1
