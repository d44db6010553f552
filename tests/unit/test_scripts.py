"""``scripts/flow`` runs in the caller's folder: relative paths are the caller's, not the root's."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "flows"


def test_scripts_flow_resolves_relative_paths_against_the_callers_folder(tmp_path):
    for name in ("three_families.txt", "three_families_manifest.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REUNITE_"))}
    env["PREFECT_HOME"] = "prefect-home"  # relative: made absolute under the caller's folder

    def flow(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / "scripts" / "flow"), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    done = flow("labs", "register", "DEMO-LAB", "--name", "Demo lab", "--store", "var/s.sqlite")
    assert done.returncode == 2 and done.stderr.startswith("error: store var/s.sqlite does not exist")
    assert done.stderr.count("\n") == 1 and not (tmp_path / "var").exists()  # a typo makes no store
    done = flow("init", "--store", "var/s.sqlite")
    assert done.returncode == 0, done.stderr
    done = flow("labs", "register", "DEMO-LAB", "--name", "Demo lab", "--store", "var/s.sqlite")
    assert done.returncode == 0, done.stderr
    done = flow("ingest", "three_families.txt", "three_families_manifest.csv", "--lab", "DEMO-LAB",
                "--store", "var/s.sqlite")
    assert done.returncode == 0, done.stderr
    assert "var/s.sqlite" in done.stdout
    assert (tmp_path / "var" / "s.sqlite").is_file() and not (ROOT / "var" / "s.sqlite").exists()
    assert (tmp_path / "prefect-home").is_dir() and not (ROOT / "prefect-home").exists()


def test_scripts_flow_help_and_an_unknown_command():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REUNITE_"))}
    done = subprocess.run([str(ROOT / "scripts" / "flow"), "--help"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "ingest-pedigrees" in done.stdout and "quarantine" in done.stdout
    done = subprocess.run([str(ROOT / "scripts" / "flow"), "pipeline"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "No such command 'pipeline'" in done.stderr and done.stdout == ""
