"""The README's Prefect recipe, run as written against a real Prefect server on 127.0.0.1.

The fenced block after the ``prefect-recipe`` marker in README.md is run by bash from the
repository root, with changes that a fresh machine does not need: a free port instead of
4200, temporary PREFECT_HOME, REUNITE_STORE and REUNITE_OUT (the clone's own store and outputs
stay untouched), PYTHONPATH set to this checkout, and a worker that polls every second instead
of every 15. The servers and
workers it starts in the background are stopped afterwards. The match must find the demo's true
couple-child pairs (the same check as the demo acceptance test).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from reunite_demo.evaluation import score_against_truth

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- prefect-recipe:"


def readme_recipe() -> str:
    """The bash block that follows the recipe marker in README.md, as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(MARKER):]
    block = re.search(r"```bash\n(.*?)```", after, re.S)
    assert block, "README.md: no ```bash block after the prefect-recipe marker"
    return block.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(pids: list[int]) -> None:
    for pid in reversed(pids):  # the worker first, then the server
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        for _ in range(100):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.killpg(pid, signal.SIGKILL)


def test_the_readme_prefect_recipe_finds_the_demo_pairs(tmp_path):
    port = _free_port()
    recipe = readme_recipe()
    assert "references.txt" in recipe and "candidates.txt" in recipe and "match/match" in recipe
    script = recipe.replace("4200", str(port))
    # each background command records its process id (its own process group: set -m), to stop it after
    script = re.sub(r"&[ \t]*(#.*)?$", r'& echo $! >> "$RECIPE_PIDS"', script, flags=re.M)
    pids_file = tmp_path / "pids"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "REUNITE_"))}
    env.update({
        "PREFECT_HOME": str(tmp_path / "prefect"), "REUNITE_STORE": str(tmp_path / "var" / "reunite.sqlite"),
        "REUNITE_OUT": str(tmp_path / "out"), "RECIPE_PIDS": str(pids_file),
        "PREFECT_SERVER_API_PORT": str(port), "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "COLUMNS": "200",  # --watch's log lines unwrapped
        "PYTHONPATH": str(ROOT),  # this checkout's code, wherever the environment's editable install points
    })
    (tmp_path / "var").mkdir()
    started = time.monotonic()
    # output to a file, not a pipe: the server and the worker keep the script's stdout open
    log = tmp_path / "recipe.log"
    try:
        with log.open("w") as sink:
            done = subprocess.run(["bash", "-c", "set -m -euo pipefail\n" + script], cwd=ROOT, env=env,
                                  stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT, timeout=420)
    finally:
        pids = [int(p) for p in pids_file.read_text().split()] if pids_file.exists() else []
        _stop(pids)
    output = log.read_text()
    assert done.returncode == 0, output[-6000:]
    assert len(pids) == 2  # the server and the worker
    assert output.count("Flow run finished successfully in 'Completed'") == 3, output[-6000:]
    # the match run's log, streamed by --watch: counts of the demo, no genotype
    assert re.search(r"inputs assembled: 200 candidates, \d+ references, \d+ families", output), output[-6000:]
    [run_dir] = [p for p in (tmp_path / "out").iterdir() if p.name.startswith("run-")]
    matches = pd.read_parquet(run_dir / "matches.parquet")
    truth = pd.read_csv(ROOT / "data" / "demo" / "truth.csv", dtype=str, keep_default_na=False)
    couple = score_against_truth(matches, truth)["couple"]
    assert couple["true_pairs"] == 45 and couple["ranked_first_and_supported"] == 45
    assert couple["unrelated_supported"] == 0
    match_log = output[output.index("Creating flow run for deployment 'match/match'"):]
    print("\n".join(line for line in match_log.splitlines() if line.startswith("▪")))
    print(f"README recipe: {time.monotonic() - started:.0f} s")
