"""Writing a match run's outputs (:func:`kinship.report.write_all`) on a national run's tables, scaled up.

Two steps, each its own command:

``capture``
    Runs the match flow (:func:`flows.match.match`, ``full=True``, Prefect's ephemeral mode as
    ``bench_national.py`` runs it) on the store of a ``bench_national.py`` work folder, with
    ``report.write_all`` wrapped so that the arguments the flow's ``write_outputs`` task passes
    (``matches``, ``pair_loci``, ``provenance``, ``samples``, ``call_quality``, ``relatives``) are
    pickled to ``WORK/write_all_inputs.pkl`` as they are (dtypes included). The flow's own outputs
    go to ``WORK/out-capture``.
``run``
    Loads that file, scales ``matches`` up to ``--rows`` rows by concatenating copies of it
    whose ``candidate_id`` and ``family_id`` are changed (copy ``k > 0``: ``<id>~k``), so that
    each copy is a run of its own (a family keeps its best 3 candidates, a candidate its one
    best family: the report's tables grow as a larger run's do); copy 0 keeps the ids, so the
    pairs of ``pair_loci`` and ``relatives`` stay its own; the last copy is cut to length. Then it
    calls ``write_all`` the way the flow does, once, in a fresh output folder. Prints the seconds
    (wall, and CPU of all threads), the 1-minute load average after the call, the RSS before it,
    the peak RSS of the process (``ru_maxrss``), the size and sha256 of every file written
    (``--no-sha`` skips the hashes), and with ``--profile FILE`` the cProfile top functions (the
    profile saved to FILE).

Usage::

    .venv/bin/python benchmarks/bench_national.py --families 10000 --children 10000 \\
        --work /tmp/w-write-nat --stages generate,ingest,match_full
    .venv/bin/python benchmarks/bench_outputs.py capture --work /tmp/w-write-nat
    .venv/bin/python benchmarks/bench_outputs.py run --work /tmp/w-write-nat --rows 10000000

``--max-rss-gb`` (default 16) stops the process (exit 3) when its RSS passes that size: the
machine may be shared.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pickle
import pstats
import resource
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

INPUTS = "write_all_inputs.pkl"


def _rss_gb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _watchdog(limit_gb: float) -> None:
    """Exit the process (status 3) as soon as its RSS passes ``limit_gb``."""
    def watch():
        while True:
            if _rss_gb() > limit_gb:
                print(f"RSS passed {limit_gb} GB: stopped", file=sys.stderr, flush=True)
                os._exit(3)
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True).start()


def capture(work: Path) -> None:
    """Run the match flow on ``work``'s store and pickle what it gives ``report.write_all``."""
    import subprocess

    from benchmarks.bench_national import _environment

    env = _environment(work)
    code = (
        "import pickle, sys\n"
        "from pathlib import Path\n"
        "from kinship import report\n"
        "real = report.write_all\n"
        "def keep(out_dir, matches, pair_loci, provenance, **kw):\n"
        f"    Path({str(work / INPUTS)!r}).write_bytes(pickle.dumps((matches, pair_loci, provenance, kw), protocol=5))\n"
        "    return real(out_dir, matches, pair_loci, provenance, **kw)\n"
        "report.write_all = keep\n"
        "from flows.match import match\n"
        f"match(store={str(work / 'store.sqlite')!r}, out_dir={str(work / 'out-capture')!r}, full=True)\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)
    print(f"captured {work / INPUTS}")


def scaled(matches, n_rows: int):
    """``matches`` concatenated with copies of itself (changed ``candidate_id`` and ``family_id``) to
    ``n_rows`` rows."""
    import pandas as pd

    parts, k = [], 0
    while sum(len(p) for p in parts) < n_rows:
        part = matches if k == 0 else matches.assign(candidate_id=matches["candidate_id"] + f"~{k}",
                                                      family_id=matches["family_id"] + f"~{k}")
        parts.append(part)
        k += 1
    out = pd.concat(parts, ignore_index=True).iloc[:n_rows]
    return out.reset_index(drop=True)


def run(work: Path, n_rows: int, *, profile: Path | None, sha: bool, out: Path | None) -> None:
    from kinship import report

    matches, pair_loci, provenance, kw = pickle.loads((work / INPUTS).read_bytes())
    big = scaled(matches, n_rows) if n_rows else matches
    del matches
    out_dir = out or work / "out-bench"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    before = _rss_gb()
    profiler = cProfile.Profile() if profile else None
    t, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    paths = report.write_all(out_dir, big, pair_loci, provenance, **kw)
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"write_all: {len(big):,} matches rows, {len(pair_loci):,} pair_loci rows: {seconds:.1f} s "
          f"({cpu:.1f} s CPU, all threads); RSS before {before:.2f} GB, peak {_peak_rss_gb():.2f} GB; "
          f"load {os.getloadavg()[0]:.1f}")
    for key, path in sorted(paths.items()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if sha else "-"
        print(f"  {path.name:20s} {path.stat().st_size / 2**20:10.1f} MiB  {digest}")
    if profiler:
        profiler.dump_stats(profile)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("step", choices=("capture", "run"))
    parser.add_argument("--work", type=Path, required=True, help="a bench_national.py work folder (match_full done)")
    parser.add_argument("--rows", type=int, default=0, help="matches rows to write (0: the captured frame as it is)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of write_all here and print its top")
    parser.add_argument("--no-sha", dest="sha", action="store_false", help="skip the files' sha256")
    parser.add_argument("--out", type=Path, help="output folder (default WORK/out-bench, replaced)")
    parser.add_argument("--max-rss-gb", type=float, default=16.0)
    args = parser.parse_args()
    work = args.work.resolve()
    _watchdog(args.max_rss_gb)
    if args.step == "capture":
        capture(work)
    else:
        run(work, args.rows, profile=args.profile, sha=args.sha, out=args.out)


if __name__ == "__main__":
    main()
