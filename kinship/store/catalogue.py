"""Catalogues of the store: registered labs and kits, and the store's pseudonym secret.

:class:`CatalogueTables` is the part of :class:`kinship.store.Store` that keeps what an
ingestion may name:

* **labs** - a lab is registered once, by an ASCII **code** (the pattern of the manifest's ids,
  ``schemas/manifest.v5.json``), which is what every other table stores, and a **display name**
  that may be Chinese (``"北京市公安局物证鉴定中心"``). ``--lab`` and a manifest ``lab`` cell
  must name a registered code.
* **kits** - the catalogue is the bundled strvalidator kits
  (:func:`kinship.genetics.ladders.bundled_kits`) plus kits registered by name and loci (Chinese
  kits such as Goldeneye 20A, AGCU EX22 or Huaxia Platinum are not in the bundled list). A kit
  name is ASCII (letters, digits, space and ``._+()/-``); it is matched ignoring case.
* **the pseudonym secret** - a random 256-bit value created with the store (migration 0005,
  table ``store_secrets``), the key of :meth:`CatalogueTables.pseudonym`: an id that fails the
  id pattern (a name, a phone number) is stored only as ``h:`` + the first 16 hex digits of
  HMAC-SHA256(secret, id). The same id gives the same pseudonym in one store (so a lab can be
  told "line 7, h:3f2a..."), and nothing outside the store can recompute it. The secret is never
  returned by a listing, never logged, and never written to a plain (unencrypted) backup
  (:func:`kinship.store.backup.backup_store`; an encrypted backup keeps it). A store without a
  secret (restored from a plain backup) gets a new one on first use, so the pseudonyms made after
  that differ from the earlier ones.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timezone
from functools import lru_cache

import pandas as pd
import sqlalchemy as sa

from kinship.errors import StoreError
from kinship.genetics.ladders import bundled_kits
from kinship.genetics.loci import default_catalogue
from kinship.store.engine import StoreBase
from kinship.store.tables import kits, labs, store_secrets
from schemas import load_schema

__all__ = [
    "PSEUDONYM_PREFIX",
    "KIT_NAME_PATTERN",
    "MAX_DISPLAY_NAME",
    "id_pattern",
    "is_kit_name",
    "is_pseudonymous_id",
    "described_value",
    "CatalogueTables",
]

#: Prefix of a stored pseudonym (``h:`` + 16 hex digits).
PSEUDONYM_PREFIX = "h:"
#: A kit name: ASCII letters, digits, space and ``._+()/-``, starting with a letter or digit.
KIT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._+()/-]*$")
#: Longest kit name, in characters (``kits.kit``).
MAX_KIT_NAME = 64
#: Longest display name of a lab, in characters.
MAX_DISPLAY_NAME = 128
_SECRET = "id_pseudonym_salt"


@lru_cache(maxsize=1)
def id_pattern() -> tuple[re.Pattern, int]:
    """The pattern and the longest length of a pseudonymous id (``schemas/manifest.v5.json``).

    Returns
    -------
    (re.Pattern, int)
        The compiled ``sample_id`` pattern and its ``maxLength``.
    """
    prop = load_schema("manifest.v5")["properties"]["sample_id"]
    return re.compile(prop["pattern"]), int(prop["maxLength"])


def is_pseudonymous_id(text: str) -> bool:
    """Whether ``text`` is an id the store may keep as written (the manifest's id pattern).

    Examples
    --------
    >>> is_pseudonymous_id("C-0042"), is_pseudonymous_id("张伟 13800138000"), is_pseudonymous_id("")
    (True, False, False)
    """
    pattern, max_length = id_pattern()
    return bool(text) and len(text) <= max_length and pattern.match(text) is not None


def is_kit_name(text: str) -> bool:
    """Whether ``text`` is shaped like a kit name (:data:`KIT_NAME_PATTERN`, at most 64 characters).

    Such a text may be shown and stored as written: it is ASCII letters, digits and a few signs.

    Examples
    --------
    >>> is_kit_name("Goldeneye 20A"), is_kit_name("赵敏 13600136000"), is_kit_name("")
    (True, False, False)
    """
    return bool(text) and len(text) <= MAX_KIT_NAME and KIT_NAME_PATTERN.match(text) is not None


def _kit_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def described_value(value: str) -> str:
    """``value`` quoted when it is an id-shaped text, else only its length (it may be personal data).

    Examples
    --------
    >>> described_value("LAB-1"), described_value("张伟13800138000")
    ("'LAB-1'", '(a value of 13 characters that is not an ASCII code; not repeated here)')
    """
    if is_pseudonymous_id(value):
        return repr(value)
    return f"(a value of {len(value)} characters that is not an ASCII code; not repeated here)"


def _described_kit(value: str) -> str:
    """A kit name quoted when it is kit-name shaped, else only its length."""
    if is_kit_name(value):
        return repr(value)
    return described_value(value)


class CatalogueTables(StoreBase):
    """Registered labs and kits and the pseudonym secret: the catalogues of :class:`kinship.store.Store`."""

    # -- the pseudonym secret ----------------------------------------------------------------
    def _pseudonym_key(self) -> bytes:
        """The pseudonym secret, created (256 random bits) if the store has none.

        A store restored from a plain backup has no secret (a plain backup leaves it out): the
        new one makes different pseudonyms from those made before the backup.
        """
        key = getattr(self, "_pseudonym_key_cache", None)
        if key is None:
            query = sa.select(store_secrets.c.value).where(store_secrets.c.secret == _SECRET)
            with self.engine.connect() as c:
                value = c.execute(query).scalar()
            if value is None:
                with self.write_transaction() as conn:  # serialised: two first users make one secret
                    value = conn.execute(query).scalar()
                    if value is None:
                        value = secrets.token_hex(32)
                        conn.execute(store_secrets.insert().values(secret=_SECRET, value=value))
            key = self._pseudonym_key_cache = bytes.fromhex(value)
        return key

    def pseudonym(self, text: str) -> str:
        """The stored form of an id that fails the id pattern: ``h:`` + 16 hex digits.

        HMAC-SHA256 keyed by the store's secret, over the UTF-8 bytes of ``text``; the first 64
        bits, in hex. Deterministic within one store, not computable outside it.

        Parameters
        ----------
        text : str
            The raw id (any text).

        Returns
        -------
        str
            18 characters, e.g. ``"h:3f2a9c0d1e4b5a67"``.
        """
        digest = hmac.new(self._pseudonym_key(), text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX + digest[:16]

    # -- labs ----------------------------------------------------------------------------------
    def register_lab(self, code: str, name: str) -> dict:
        """Register a lab: its ASCII code and its display name (idempotent).

        Parameters
        ----------
        code : str
            The lab code stored in every table (the id pattern of ``schemas/manifest.v5.json``,
            at most 64 characters), e.g. ``"BJ-PSB"``.
        name : str
            Display name, any script (Chinese allowed), 1 to 128 characters, no control characters.

        Returns
        -------
        dict
            The ``labs`` row (``code, name, registered_at``); the stored one when the lab was
            registered before with the same name.

        Raises
        ------
        StoreError
            If the code does not match the pattern, the name is empty, too long or holds control
            characters, or the code is registered with another name.

        Examples
        --------
        >>> from kinship.store import Store
        >>> with Store("sqlite://") as store:
        ...     row = store.register_lab("BJ-PSB", "北京市公安局")
        ...     store.lab_codes(), store.labs()["name"].tolist()
        (['BJ-PSB'], ['北京市公安局'])
        """
        code, name = str(code), str(name).strip()
        pattern, max_length = id_pattern()
        if not is_pseudonymous_id(code):
            raise StoreError(
                f"lab code {described_value(code)} is not a lab code; expected ASCII matching {pattern.pattern} "
                f"(at most {max_length} characters); fix: give a short ASCII code (e.g. BJ-PSB) and put the "
                "lab's full name in --name"
            )
        bad = [ch for ch in name if unicodedata.category(ch).startswith("C")]
        if not name or len(name) > MAX_DISPLAY_NAME or bad:
            raise StoreError(
                f"display name of lab {code!r} has {len(name)} characters ({len(bad)} control characters); "
                f"expected 1 to {MAX_DISPLAY_NAME} printable characters (any script); fix: give the lab's name"
            )
        with self.write_transaction() as conn:
            stored = conn.execute(sa.select(labs).where(labs.c.code == code)).mappings().first()
            if stored is not None:
                if stored["name"] != name:
                    raise StoreError(
                        f"lab {code!r} is registered already, under another display name; expected the same "
                        "name for a repeated registration; fix: keep the registered name (scripts/flow labs list)"
                    )
                return dict(stored)
            row = {"code": code, "name": name, "registered_at": datetime.now(timezone.utc)}
            conn.execute(labs.insert().values(**row))
        return row

    def lab_codes(self) -> list[str]:
        """Codes of the registered labs, sorted."""
        with self.engine.connect() as c:
            return sorted(c.execute(sa.select(labs.c.code)).scalars())

    def labs(self) -> pd.DataFrame:
        """The registered labs: columns ``code, name`` (str) and ``registered_at`` (UTC), by code."""
        frame = self._frame(sa.select(labs.c.code, labs.c.name, labs.c.registered_at).order_by(labs.c.code),
                            ["code", "name", "registered_at"], text=["code", "name"])
        frame["registered_at"] = pd.to_datetime(frame["registered_at"], utc=True)
        return frame

    def check_lab(self, code: str) -> str:
        """``code`` if it is a registered lab; else a :class:`StoreError` naming the registered ones.

        Raises
        ------
        StoreError
            If the lab is not registered (the message lists the registered codes and how to
            register one).
        """
        registered = self.lab_codes()
        if code not in registered:
            raise StoreError(
                f"lab {described_value(code)} is not registered; expected one of {registered or '(none yet)'}; fix: "
                "correct --lab, or register the lab first: scripts/flow labs register CODE --name NAME "
                "(Store.register_lab)"
            )
        return code

    # -- kits ----------------------------------------------------------------------------------
    def register_kit(self, name: str, loci: Iterable[str]) -> dict:
        """Register a typing kit by name and the loci it types (idempotent).

        Parameters
        ----------
        name : str
            Kit name, ASCII letters, digits, space and ``._+()/-`` (at most 64 characters), e.g.
            ``"Goldeneye 20A"``; not a bundled kit's name (compared ignoring case).
        loci : iterable of str
            Loci the kit types, any catalogue name or alias (``kinship/data/loci.csv``); stored
            canonical, in the given order, without repeats.

        Returns
        -------
        dict
            The ``kits`` row (``name, loci, registered_at``).

        Raises
        ------
        StoreError
            If the name is malformed, is a bundled kit, or is registered with other loci, or if
            no locus is given.
        UnknownLocusError
            If a locus is not in the catalogue.

        Examples
        --------
        >>> from kinship.store import Store
        >>> with Store("sqlite://") as store:
        ...     row = store.register_kit("AGCU EX22", ["D3S1358", "vWA", "FGA"])
        ...     row["loci"], "AGCU EX22" in store.kit_names(), "GlobalFiler" in store.kit_names()
        ('D3S1358,vWA,FGA', True, True)
        """
        name = " ".join(str(name).split())
        if not KIT_NAME_PATTERN.match(name) or len(name) > 64:
            raise StoreError(
                f"kit name {_described_kit(name)} is not a kit name; expected ASCII matching {KIT_NAME_PATTERN.pattern} "
                "(at most 64 characters); fix: give the kit's product name, e.g. 'Goldeneye 20A'"
            )
        bundled = {_kit_key(k): k for k in bundled_kits()}
        if _kit_key(name) in bundled:
            raise StoreError(
                f"kit {name!r} is the bundled kit {bundled[_kit_key(name)]!r} (kinship/data/kits/strvalidator_kit.txt); "
                "expected a kit not in that list; fix: use the bundled kit, nothing to register"
            )
        catalogue = default_catalogue()
        canonical = list(dict.fromkeys(catalogue.canonical(str(locus).strip(), context=f"kit {name}")
                                       for locus in loci if str(locus).strip()))
        if not canonical:
            raise StoreError(f"kit {name!r}: no locus given; expected the loci it types; fix: pass --loci L1,L2,...")
        text = ",".join(canonical)
        with self.write_transaction() as conn:
            stored = conn.execute(sa.select(kits)).mappings().all()
            same = next(({"name": r["kit"], "loci": r["loci"], "registered_at": r["registered_at"]}
                         for r in stored if _kit_key(r["kit"]) == _kit_key(name)), None)
            if same is not None:
                if same["loci"] != text:
                    raise StoreError(
                        f"kit {same['name']!r} is registered already with loci {same['loci']}; found {text}; "
                        "fix: register the other loci under another kit name (e.g. with a version suffix)"
                    )
                return same
            row = {"name": name, "loci": text, "registered_at": datetime.now(timezone.utc)}
            conn.execute(kits.insert().values(kit=name, loci=text, registered_at=row["registered_at"]))
        return row

    def kit_names(self) -> list[str]:
        """Names of every kit of the catalogue: bundled and registered, sorted."""
        with self.engine.connect() as c:
            registered = list(c.execute(sa.select(kits.c.kit)).scalars())
        return sorted({*bundled_kits(), *registered})

    def kits(self) -> pd.DataFrame:
        """The kit catalogue: columns ``name, source`` (``bundled`` | ``registered``), ``n_loci``, ``loci``.

        ``loci`` is the canonical loci joined by ``","``; sorted by ``name``.
        """
        rows = [{"name": k.name, "source": "bundled", "n_loci": len(k.loci), "loci": ",".join(k.loci)}
                for k in bundled_kits().values()]
        with self.engine.connect() as c:
            for r in c.execute(sa.select(kits.c.kit, kits.c.loci)):
                rows.append({"name": r.kit, "source": "registered", "n_loci": len(r.loci.split(",")), "loci": r.loci})
        return pd.DataFrame(rows, columns=["name", "source", "n_loci", "loci"]).sort_values(
            "name", key=lambda s: s.str.casefold()).reset_index(drop=True)

    def check_kit(self, name: str) -> str:
        """The catalogue's spelling of kit ``name`` (matched ignoring case); else a :class:`StoreError`.

        Raises
        ------
        StoreError
            If the kit is in neither the bundled nor the registered kits (the message lists them
            and how to register one).
        """
        known = {_kit_key(k): k for k in self.kit_names()}
        found = known.get(_kit_key(str(name)))
        if found is None:
            raise StoreError(
                f"kit {_described_kit(str(name))} is not in the kit catalogue; expected one of {sorted(known.values())}; "
                "fix: correct --kit, or register the kit with its loci: scripts/flow kits register NAME "
                "--loci LOCUS,LOCUS,... (Store.register_kit)"
            )
        return found
