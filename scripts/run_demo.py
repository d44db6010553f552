"""Run the pipeline flow on the committed demo batch and score it against the truth file.

Usage: ``scripts/demo [--store PATH] [--out DIR]`` (see README). The truth file is read here,
after the pipeline has finished, never by the pipeline.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from flows.pipeline import pipeline
from kinship.app.power import store_family_power
from kinship.store import Store
from reunite_demo.evaluation import (DEMO_NEXT_RELATIVES, format_next_relatives, format_summary, next_relative_rows,
                                     score_against_truth, undecided_leads)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
BATCHES = [
    {"export": str(DEMO / "references.txt"), "manifest": str(DEMO / "references_manifest.csv"), "lab": "DEMO-LAB"},
    {"export": str(DEMO / "candidates.txt"), "manifest": str(DEMO / "candidates_manifest.csv"), "lab": "DEMO-LAB"},
]

#: The demo's one lab, registered by the pipeline before the batches (idempotent).
DEMO_LABS = {"DEMO-LAB": "Demo lab (synthetic batch from real Han Chinese genotypes)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", default=str(ROOT / "var" / "demo.sqlite"), help="SQLite path or SQLAlchemy URL")
    parser.add_argument("--out", default=str(ROOT / "out" / "demo"), help="folder for the report")
    args = parser.parse_args()

    result = pipeline(batches=BATCHES, store=args.store, out_dir=args.out, labs=DEMO_LABS)
    for summary in result["ingestion"]:
        print(
            f"ingested {Path(summary['export_name']).name}: {summary['n_rows']} rows, "
            f"{summary['n_landed']} landed, {summary['n_quarantined']} quarantined"
            + (" (already ingested: nothing added)" if summary["already_ingested"] else "")
        )
    paths = result["paths"]
    matches = pd.read_parquet(paths["matches_parquet"])
    truth = pd.read_csv(DEMO / "truth.csv", dtype=str, keep_default_na=False)
    score = score_against_truth(matches, truth)
    print()
    print(f"open this report: {paths['report_html']}")
    print(f"match run {result['provenance']['run_id']}; ranked pairs: {paths['matches_parquet']} (and .csv)\n")
    print(format_summary(score))
    # which relative to type next for the families the run could not decide (cached in the store)
    with Store(args.store) as store:
        results = [store_family_power(store, key, relatives=DEMO_NEXT_RELATIVES)[0] for key in undecided_leads(matches)]
    print()
    print(format_next_relatives(next_relative_rows(results)))


if __name__ == "__main__":
    main()
