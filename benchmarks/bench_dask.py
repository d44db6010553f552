"""The match flow on a process-based Dask cluster against a real Prefect server (issue 12, item 7).

Starts ``prefect server start`` on 127.0.0.1 (a fresh ``PREFECT_HOME`` under ``--work``), copies
``--store`` twice, runs a full match on threads on one copy and on a ``LocalCluster`` of
``--workers`` worker processes on the other, and compares the outputs' bytes::

    .venv/bin/python benchmarks/bench_dask.py --store /tmp/nat-1e4/store.sqlite --work /tmp/daskm

(``/tmp/nat-1e4/store.sqlite`` is the store ``bench_national.py --families 10000 --children 10000
--work /tmp/nat-1e4`` leaves.) The two runs see the same previous run, so their ``is_new`` agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--store", required=True, help="a SQLite store with profiles (it is copied, not changed)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=4317)
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    (work / "prefect").mkdir(parents=True)
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(args.port)], env=env, stdout=open(work / "server.log", "w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{args.port}/api"
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(f"{api}/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        os.environ.update(PREFECT_HOME=str(work / "prefect"), PREFECT_API_URL=api,
                          PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
        for name in ("threads", "dask"):
            shutil.copy(args.store, work / f"{name}.sqlite")
        from distributed import LocalCluster

        from flows.match import run_match

        t = time.perf_counter()
        a = run_match(store=str(work / "threads.sqlite"), out_dir=str(work / "out-threads"), full=True)
        threads_s = time.perf_counter() - t
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            t = time.perf_counter()
            b = run_match(dask_address=cluster.scheduler_address, store=str(work / "dask.sqlite"),
                          out_dir=str(work / "out-dask"), full=True)
            dask_s = time.perf_counter() - t
        same = {name: Path(a["paths"][name]).read_bytes() == Path(b["paths"][name]).read_bytes()
                for name in ("matches_csv", "pair_loci_csv")}
        matches = Path(a["paths"]["matches_csv"]).read_bytes()
        print(json.dumps({"threads_s": round(threads_s, 1), "dask_s": round(dask_s, 1), "workers": args.workers,
                          "identical": same, "matches_rows": matches.count(b"\n") - 1,
                          "matches_sha256": hashlib.sha256(matches).hexdigest(),
                          "pairs_scored": a["provenance"]["comparison"].get("n_pairs_scored_now"),
                          "loadavg": os.getloadavg()}))
    finally:
        os.killpg(server.pid, 15)


if __name__ == "__main__":
    main()
