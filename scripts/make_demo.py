"""Generate the demo lab batch (data/demo) from the bundled 1000 Genomes genotypes.

Usage: ``.venv/bin/python scripts/make_demo.py [--seed 20261130] [--out data/demo]``. The same
seed gives byte-identical files; see data/demo/README.md and :mod:`reunite_demo.batch`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reunite_demo.batch import DEMO_SEED, write_demo_batch

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and write the batch."""
    parser = argparse.ArgumentParser(description="Generate the demo lab batch (seeded, deterministic).")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"random seed (default {DEMO_SEED})")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "demo", help="output folder (default data/demo)")
    args = parser.parse_args(argv)
    for path in write_demo_batch(args.out, seed=args.seed):
        n_lines = path.read_bytes().count(b"\n")
        print(f"wrote {path} ({n_lines} lines)")


if __name__ == "__main__":
    main()
