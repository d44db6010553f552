"""The cache of families' power (``family_power``): :class:`PowerTables`, part of :class:`kinship.store.Store`.

A row holds the JSON of one :class:`kinship.app.power.FamilyPower` (probabilities, quantiles and
the ranked next relatives; no genotypes, no names), keyed by ``(lab, family_id, content_hash,
parameters_hash)``: a family whose references change, or a run whose parameters, table, loci
or store size change, misses the cache and is recomputed (nothing stale is ever read).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.store.engine import StoreBase
from kinship.store.tables import family_power

__all__ = ["PowerTables"]


class PowerTables(StoreBase):
    """Reading and writing the ``family_power`` cache of :class:`kinship.store.Store`."""

    def get_family_power(self, lab: str, family_id: str, *, content_hash: str, parameters_hash: str) -> dict | None:
        """The cached result of a family at these hashes, or None.

        Examples
        --------
        >>> from kinship.store import Store
        >>> with Store("sqlite://") as s:
        ...     s.put_family_power("L", "F1", {"p": [0.5, 0.6]}, content_hash="a" * 64, parameters_hash="b" * 64,
        ...                        code_version="0.1.0")
        ...     s.get_family_power("L", "F1", content_hash="a" * 64, parameters_hash="b" * 64)
        {'p': [0.5, 0.6]}
        """
        q = sa.select(family_power.c.result).where(
            family_power.c.lab == lab, family_power.c.family_id == family_id,
            family_power.c.content_hash == content_hash, family_power.c.parameters_hash == parameters_hash)
        with self.engine.connect() as c:
            row = c.execute(q).scalar_one_or_none()
        return None if row is None else json.loads(row)

    def put_family_power(self, lab: str, family_id: str, result: dict, *, content_hash: str, parameters_hash: str,
                         code_version: str, when: datetime | None = None) -> None:
        """Store (or replace) the result of a family at these hashes.

        Raises
        ------
        StoreError
            A hash that is not 64 hex digits, or a result that is not JSON (NaN included).
        """
        for name, value in (("content_hash", content_hash), ("parameters_hash", parameters_hash)):
            if len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
                raise StoreError(f"family power of {lab}/{family_id}: {name} {value!r}; expected a sha256 in hex "
                                 "(64 lowercase hex digits)")
        try:
            text = json.dumps(result, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"family power of {lab}/{family_id}: the result is not JSON ({exc}); expected "
                             "FamilyPower.as_dict()") from None
        key = {"lab": lab, "family_id": family_id, "content_hash": content_hash, "parameters_hash": parameters_hash}
        row = {**key, "result": text, "code_version": code_version, "created_at": when or datetime.now(timezone.utc)}
        with self.begin() as c:
            c.execute(sa.delete(family_power).where(*(family_power.c[k] == v for k, v in key.items())))
            c.execute(sa.insert(family_power).values(**row))
