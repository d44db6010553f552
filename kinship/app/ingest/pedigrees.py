"""Families filed as a PED-style pedigree table: validated against the store, then stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from kinship.errors import ReuniteInputError
from kinship.io.pedigree import read_pedigree_csv

if TYPE_CHECKING:
    from kinship.store import Store

__all__ = ["PedigreeIngestSummary", "ingest_pedigrees"]


@dataclass(frozen=True)
class PedigreeIngestSummary:
    """What one :func:`ingest_pedigrees` call did.

    Attributes
    ----------
    file_name, file_sha256 : str
        The pedigree CSV (name without folder) and the SHA-256 of its bytes.
    lab : str
        The lab that filed the families.
    family_ids : list of str
        Families of the file, in file order.
    n_families, n_members, n_typed : int
        Families, members and typed members (references) of the file.
    n_families_added : int
        Families new to the store; the rest were stored already with the same pedigree.
    """

    file_name: str
    file_sha256: str
    lab: str
    family_ids: list[str]
    n_families: int
    n_members: int
    n_typed: int
    n_families_added: int


def ingest_pedigrees(store: Store, path: str | Path, *, lab: str) -> PedigreeIngestSummary:
    """Store the families of a PED-style pedigree CSV (:mod:`kinship.io.pedigree`) of ``lab``.

    Each family is validated as a pedigree (:func:`kinship.io.pedigree.read_pedigree_csv`),
    every typed member's ``sample_id`` must be a reference already in the store (ingest the
    relatives' export first; their manifest rows name the family with relationship
    ``pedigree``, ``schemas/manifest.v3.json``), and then all families land in one transaction
    (:meth:`kinship.store.Store.save_pedigrees`). Re-ingesting the same file adds nothing; a
    different pedigree under a stored family id is refused.

    Parameters
    ----------
    store : kinship.store.Store
        Target store, holding the families' references.
    path : str or pathlib.Path
        The pedigree CSV.
    lab : str
        The lab that filed the families, a registered lab code (family ids are scoped by lab).

    Returns
    -------
    PedigreeIngestSummary
        What the file held and how many families were new to the store.

    Raises
    ------
    PedigreeError
        The file is not a valid pedigree table (the reader's message: line, value, fix).
    ReuniteInputError
        A typed member's sample is not a stored reference, or the family's references are
        filed in the manifest with another relationship than ``pedigree``.
    StoreError
        A family is stored already with a different pedigree (nothing is written), or ``lab``
        is not a registered lab.
    """
    lab = store.check_lab(lab)
    path = Path(path)
    data = path.read_bytes()
    pedigrees = read_pedigree_csv(path, data=data)
    rows = []
    for family_id, ped in pedigrees.items():
        for k, person in enumerate(ped.ids):
            rows.append({
                "family_id": family_id, "person_id": person,
                "father": ped.ids[ped.father[k]] if ped.father[k] >= 0 else "",
                "mother": ped.ids[ped.mother[k]] if ped.mother[k] >= 0 else "",
                "sex": ped.sex[k], "sample_id": ped.sample_ids[k], "is_missing": k == ped.missing,
            })
    stored = store.stored_samples(r["sample_id"] for r in rows if r["sample_id"])
    for r in rows:
        sid = r["sample_id"]
        if sid and (sid not in stored or stored[sid]["role"] != "reference"):
            found = "is not in the store" if sid not in stored else f"is stored as a {stored[sid]['role']}"
            raise ReuniteInputError(
                f"{path.name}: family {lab}/{r['family_id']}, member {r['person_id']!r}: sample {sid} "
                f"{found}; expected a stored reference profile; fix: ingest the relatives' profiles "
                "first (export + manifest, relationship 'pedigree'), then the pedigree table"
            )
    members = store.stored_family_members((lab, f) for f in pedigrees)
    for (_, family_id), filed in sorted(members.items()):
        other = sorted({m["relationship"] for m in filed} - {"pedigree"})
        if other:
            raise ReuniteInputError(
                f"{path.name}: family {lab}/{family_id} is filed in the manifest with relationship(s) "
                f"{other}; expected only 'pedigree' for a family given as a pedigree table; fix: file "
                "the pedigree under another family id, or its references with relationship 'pedigree'"
            )
    added = store.save_pedigrees(pd.DataFrame(rows), lab=lab)
    return PedigreeIngestSummary(
        file_name=path.name,
        file_sha256=hashlib.sha256(data).hexdigest(),
        lab=lab,
        family_ids=list(pedigrees),
        n_families=len(pedigrees),
        n_members=len(rows),
        n_typed=sum(1 for r in rows if r["sample_id"]),
        n_families_added=added,
    )
