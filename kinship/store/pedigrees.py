"""Pedigree table of the store: families filed as a PED-style pedigree (``family_pedigrees``).

:class:`PedigreeTables` is the part of :class:`kinship.store.Store` that stores and reads them;
:func:`kinship.app.ingest.ingest_pedigrees` validates a pedigree file before it lands here. A
stored pedigree is never overwritten.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.store.engine import StoreBase, chunks
from kinship.store.tables import family_pedigrees

__all__ = ["PEDIGREE_COLUMNS", "PedigreeTables"]

#: Columns of :meth:`Store.save_pedigrees` / :meth:`Store.load_pedigrees`.
PEDIGREE_COLUMNS = ["lab", "family_id", "person_id", "father", "mother", "sex", "sample_id", "is_missing"]


class PedigreeTables(StoreBase):
    """Storing and reading pedigrees: the ``family_pedigrees`` table of :class:`kinship.store.Store`."""

    def save_pedigrees(self, frame: pd.DataFrame, *, lab: str) -> int:
        """Store the pedigrees of some families of ``lab``, atomically.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per pedigree member: ``family_id``, ``person_id`` (or ``id``, the PED
            name), ``father``, ``mother`` (member ids of the same family; empty, ``None`` or
            ``"0"`` for a founder), ``sex`` (``male``/``female``/``unknown``), ``sample_id``
            (the typed reference; empty or null for an untyped member), ``is_missing``
            (bool: the missing child). Other columns are ignored. Rows are validated as a
            pedigree by the caller (:func:`kinship.app.ingest.ingest_pedigrees`).
        lab : str
            The lab that filed the families (family ids are scoped by lab).

        Returns
        -------
        int
            Number of families written; a family stored already with the same pedigree is
            left as it is (not counted).

        Raises
        ------
        StoreError
            A missing column or empty id, or a family already stored with a different pedigree
            (a stored pedigree is never overwritten). Nothing is written then.
        """
        rows = self._pedigree_rows(frame, lab=lab)
        by_family: dict[str, set[tuple]] = {}
        for r in rows:
            by_family.setdefault(r["family_id"], set()).add(_pedigree_key(r))
        with self.write_transaction() as conn:
            stored: dict[str, set[tuple]] = {}
            t = family_pedigrees
            for chunk in chunks(sorted(by_family)):
                q = sa.select(t).where(t.c.lab == lab, t.c.family_id.in_(chunk))
                for row in conn.execute(q).mappings():
                    stored.setdefault(row["family_id"], set()).add(_pedigree_key(row))
            changed = sorted(f for f in by_family if f in stored and stored[f] != by_family[f])
            if changed:
                raise StoreError(
                    f"pedigree of family {lab}/{changed[0]} differs from the one stored in store "
                    f"{self.describe()} (families {changed}); expected the stored pedigree or a new "
                    "family id; fix: a stored pedigree is never overwritten - file the corrected "
                    "pedigree under a new family id, or remove the family from the table"
                )
            new = [r for r in rows if r["family_id"] not in stored]
            for chunk in chunks(new, 5000):
                conn.execute(t.insert(), chunk)
        return len({r["family_id"] for r in new})

    def _pedigree_rows(self, frame: pd.DataFrame, *, lab: str) -> list[dict]:
        if "person_id" not in frame.columns and "id" in frame.columns:
            frame = frame.rename(columns={"id": "person_id"})
        required = [c for c in PEDIGREE_COLUMNS if c != "lab"]
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise StoreError(
                f"pedigrees of lab {lab!r}: missing column(s) {missing}; expected columns {required}; "
                "fix: read the table with kinship.io.pedigree.read_pedigree_csv"
            )

        def text(v) -> str:
            return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip()

        rows, seen = [], set()
        for i, r in enumerate(frame[required].itertuples(index=False)):
            row = {"lab": lab, "family_id": text(r.family_id), "person_id": text(r.person_id)}
            if not lab or not row["family_id"] or not row["person_id"]:
                raise StoreError(
                    f"pedigrees of lab {lab!r}, row {i}: empty lab, family_id or person_id; "
                    "fix: give every member its family id and member id"
                )
            key = (row["family_id"], row["person_id"])
            if key in seen:
                raise StoreError(
                    f"pedigrees of lab {lab!r}: member {key[1]!r} of family {key[0]} occurs twice; "
                    "fix: give each member one row"
                )
            seen.add(key)
            for col in ("father", "mother"):
                v = text(getattr(r, col))
                row[col] = "" if v in ("0", "NA") else v
            row["sex"] = text(r.sex) or "unknown"
            row["sample_id"] = text(r.sample_id) or None
            flag = r.is_missing
            if isinstance(flag, str):
                flag = flag.strip().lower() in ("1", "true", "yes", "y")
            row["is_missing"] = bool(False if flag is None or (not isinstance(flag, str) and pd.isna(flag)) else flag)
            rows.append(row)
        return rows

    def load_pedigrees(self) -> pd.DataFrame:
        """Members of every family stored as a pedigree.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`PEDIGREE_COLUMNS`: ``is_missing`` bool, the rest ``str``
            (``father``/``mother`` ``""`` for a founder, ``sample_id`` ``""`` for an untyped
            member); sorted by ``lab, family_id, person_id``. The family key is
            ``(lab, family_id)``.
        """
        t = family_pedigrees
        q = sa.select(*(t.c[c] for c in PEDIGREE_COLUMNS)).order_by(t.c.lab, t.c.family_id, t.c.person_id)
        frame = self._frame(q, PEDIGREE_COLUMNS, text=PEDIGREE_COLUMNS[:-1])
        frame["is_missing"] = frame["is_missing"].astype(bool)
        return frame


def _pedigree_key(row) -> tuple:
    """A stored or new pedigree row as a comparable tuple (``sample_id`` None = untyped)."""
    return (row["person_id"], row["father"], row["mother"], row["sex"], row["sample_id"] or None,
            bool(row["is_missing"]))
