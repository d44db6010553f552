"""Ingest a PED-style pedigree table: families whose relatives are placed by their pedigree.

Run after the relatives' export + manifest (manifest relationship ``pedigree``):
``scripts/flow ingest_pedigrees PED.csv --lab LAB``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.ingest import LabCode
from flows.observe import pedigree_run_name, timed
from flows.retries import IO_RETRIES
from flows.settings import store_location
from kinship.app.ingest import ingest_pedigrees as ingest_pedigree_table
from kinship.app.ingest.labels import check_batch_labels
from kinship.errors import ReuniteInputError
from kinship.store import Store


@task(**IO_RETRIES, cache_policy=NO_CACHE)
def land_pedigrees(store: str, pedigrees: str, lab: str):
    with timed("lab %s: pedigree table stored", lab) as note:
        summary = ingest_pedigree_table(Store(store), pedigrees, lab=lab)
        note["text"] = ": " + ", ".join(f"{value} {key}" for key, value in asdict(summary).items()
                                        if isinstance(value, int) and not isinstance(value, bool))
    return summary


@flow(name="ingest-pedigrees", log_prints=True, flow_run_name=pedigree_run_name)
def ingest_pedigrees(pedigrees: str, lab: LabCode, store: str | None = None) -> dict:
    """Store the families of a PED-style pedigree table for a lab; profiles first.

    Every typed member must be a stored reference. Returns the summary (families, members,
    typed, families added).

    Args:
        pedigrees: Path of the PED-style CSV on the machine that runs the flow (the worker's
            file system, not your browser's), columns family_id, id, father, mother, sex,
            sample_id, is_missing.
        lab: Registered lab code of the families, ASCII (scripts/flow labs list).
        store: SQLite path or SQLAlchemy URL of the store on the worker; empty: $REUNITE_STORE,
            else var/reunite.sqlite under the working directory.
    """
    return asdict(land_pedigrees(store_location(store), pedigrees, lab))


def main(argv: list[str] | None = None) -> dict:
    """The argparse front end of ``reunite ingest-pedigrees`` (:mod:`flows.cli` is the command
    line; this one is kept for callers in Python): run the flow and return its summary.

    A ``--lab`` that is not an ASCII code is refused with one line on stderr and exit status 2
    before the flow is called, so that it is never recorded as a run parameter.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="scripts/flow ingest_pedigrees",
        description="Store the families of a PED-style pedigree CSV (columns family_id, id, father, mother, "
                    "sex, sample_id, is_missing); every typed member must be a stored reference.")
    parser.add_argument("pedigrees", help="PED-style pedigree CSV")
    parser.add_argument("--lab", required=True, help="registered lab code of the families, ASCII (scripts/flow labs list)")
    parser.add_argument("--store", help="SQLite path or SQLAlchemy URL of the store (default: $REUNITE_STORE, "
                                        "else var/reunite.sqlite)")
    args = parser.parse_args(argv)
    try:
        check_batch_labels(args.lab)
    except ReuniteInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    return ingest_pedigrees(**vars(args))


if __name__ == "__main__":
    # `python -m flows.ingest_pedigrees` is `reunite ingest-pedigrees` (flows/cli.py): one command line, one output
    from flows.cli import main as reunite

    reunite(["ingest-pedigrees", *sys.argv[1:]])
