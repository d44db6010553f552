"""Ingest a PED-style pedigree table: families whose relatives are placed by their pedigree.

Run after the relatives' export + manifest (manifest relationship ``pedigree``):
``scripts/flow ingest_pedigrees PED.csv --lab LAB``.
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.retries import IO_RETRIES
from flows.settings import store_location
from kinship.app.ingest import ingest_pedigrees as ingest_pedigree_table
from kinship.store import Store


@task(**IO_RETRIES, cache_policy=NO_CACHE)
def land_pedigrees(store: str, pedigrees: str, lab: str):
    return ingest_pedigree_table(Store(store), pedigrees, lab=lab)


@flow(name="ingest-pedigrees", log_prints=True)
def ingest_pedigrees(pedigrees: str, lab: str, store: str | None = None) -> dict:
    """Store the families of the PED-style CSV ``pedigrees`` (columns family_id, id, father,
    mother, sex, sample_id, is_missing) for ``lab``; every typed member must be a stored
    reference. Returns the summary (families, members, typed, families added)."""
    return asdict(land_pedigrees(store_location(store), pedigrees, lab))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=ingest_pedigrees.__doc__)
    parser.add_argument("pedigrees", help="PED-style pedigree CSV")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--store")
    args = parser.parse_args()
    print(ingest_pedigrees(**vars(args)))
