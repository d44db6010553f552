"""Pedigrees of a missing child and the typed relatives who look for it.

A :class:`Pedigree` is a list of members (ids, father, mother, sex), founders having neither
parent, with the members who are typed references carrying their ``sample_id`` and one member
marked as the ``missing`` child (the abducted child; a candidate's genotype is evaluated in its
place). Untyped connecting members (the untyped father of a typed full sibling, the untyped
parent between a grandparent and the missing child) are members with ``sample_id = None``.

Pedigrees come from two places:

* :func:`pedigree_from_relationships` - the manifest's relationship kinds
  (:data:`kinship.genetics.relationships.RELATIONSHIPS`), placed on a canonical template around the missing child, so that two
  families with the same multiset of relationship kinds have the same *shape* (and their tables
  are compiled together, vectorised over families);
* :func:`pedigree_from_table` - any pedigree as a PED-style table (``id, father, mother, sex,
  sample_id, is_missing``); read from CSV by :func:`kinship.io.pedigree.read_pedigree_csv`.

Nothing here computes probabilities: see :mod:`kinship.likelihood.peeling`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from kinship.errors import PedigreeError
from kinship.genetics.relationships import (
    RELATIONSHIPS,
    SEXES,
    SINGLE_RELATIONSHIPS,
)

__all__ = [
    "Pedigree",
    "pedigree_from_relationships",
    "pedigree_from_table",
]



@dataclass(frozen=True)
class Pedigree:
    """A pedigree with typed members and one missing child.

    Attributes
    ----------
    ids : tuple of str, length n_members
        Member ids, unique.
    father, mother : tuple of int, length n_members
        Index of each member's father and mother in ``ids``; ``-1`` for a founder (both or
        neither parent must be given).
    sex : tuple of str
        ``"male"``, ``"female"`` or ``"unknown"`` (a father must not be ``"female"``, a mother
        not ``"male"``). Transmission from a father uses the male mutation rate, from a mother
        the female rate, whatever the recorded sex.
    sample_ids : tuple of (str or None)
        Sample id of each typed member; ``None`` for an untyped one.
    missing : int
        Index of the missing child (never typed), or ``-1`` for a pedigree without one.

    Examples
    --------
    >>> ped = pedigree_from_relationships([("S-1", "full_sibling")])
    >>> ped.ids
    ('missing', 'father', 'mother', 'full_sibling_1')
    >>> ped.founders, ped.typed_members
    ((1, 2), (3,))
    """

    ids: tuple[str, ...]
    father: tuple[int, ...]
    mother: tuple[int, ...]
    sex: tuple[str, ...]
    sample_ids: tuple[str | None, ...]
    missing: int = -1

    def __post_init__(self):
        n = len(self.ids)
        for name in ("father", "mother", "sex", "sample_ids"):
            if len(getattr(self, name)) != n:
                raise PedigreeError(f"pedigree {name} has {len(getattr(self, name))} entries for {n} members")
        dup = [i for i, c in Counter(self.ids).items() if c > 1]
        if dup:
            raise PedigreeError(f"pedigree member ids {dup} occur more than once; give each member one id")
        typed = [s for s in self.sample_ids if s is not None]
        dup = [s for s, c in Counter(typed).items() if c > 1]
        if dup:
            raise PedigreeError(f"samples {dup} are placed on more than one pedigree member; a person is one member")
        for k in range(n):
            f, m = self.father[k], self.mother[k]
            if (f < 0) != (m < 0):
                raise PedigreeError(
                    f"pedigree member {self.ids[k]!r} has only one parent; give both or neither "
                    "(add an untyped member for the unknown parent)"
                )
            if f >= n or m >= n:
                raise PedigreeError(f"pedigree member {self.ids[k]!r} has a parent index out of range")
            if f >= 0 and self.sex[f] == "female":
                raise PedigreeError(f"{self.ids[f]!r} is the father of {self.ids[k]!r} but has sex 'female'; correct the sex or the father")
            if m >= 0 and self.sex[m] == "male":
                raise PedigreeError(f"{self.ids[m]!r} is the mother of {self.ids[k]!r} but has sex 'male'; correct the sex or the mother")
            if self.sex[k] not in SEXES:
                raise PedigreeError(f"pedigree member {self.ids[k]!r} has sex {self.sex[k]!r}; expected one of {SEXES}")
        if self.missing >= n:
            raise PedigreeError("pedigree missing index out of range")
        if self.missing >= 0 and self.sample_ids[self.missing] is not None:
            raise PedigreeError(
                f"the missing child {self.ids[self.missing]!r} is typed as {self.sample_ids[self.missing]!r}; "
                "the missing child is never a reference"
            )
        self.order  # raises on a cycle

    @property
    def n_members(self) -> int:
        return len(self.ids)

    @property
    def founders(self) -> tuple[int, ...]:
        return tuple(k for k in range(self.n_members) if self.father[k] < 0)

    @property
    def typed_members(self) -> tuple[int, ...]:
        return tuple(k for k, s in enumerate(self.sample_ids) if s is not None)

    @property
    def references(self) -> tuple[str, ...]:
        """Sample ids of the typed members, in member order."""
        return tuple(s for s in self.sample_ids if s is not None)

    @property
    def order(self) -> tuple[int, ...]:
        """Members with parents before children.

        Raises
        ------
        PedigreeError
            If someone is their own ancestor.
        """
        done: list[int] = []
        placed = [False] * self.n_members
        while len(done) < self.n_members:
            progressed = False
            for k in range(self.n_members):
                if placed[k]:
                    continue
                f, m = self.father[k], self.mother[k]
                if f < 0 or (placed[f] and placed[m]):
                    placed[k] = True
                    done.append(k)
                    progressed = True
            if not progressed:
                stuck = [self.ids[k] for k in range(self.n_members) if not placed[k]]
                raise PedigreeError(f"pedigree has a cycle through members {stuck}; someone is their own ancestor")
        return tuple(done)

    @property
    def shape(self) -> tuple:
        """Hashable structure (parents, missing index, typed mask), without ids or sample ids.

        Families of the same shape are compiled together, vectorised over families.
        """
        return (self.father, self.mother, self.missing, tuple(s is not None for s in self.sample_ids))

    def index(self, member_id: str) -> int:
        return self.ids.index(member_id)

    def with_founder(self, k: int) -> "Pedigree":
        """The same pedigree with member ``k`` made a founder (H2: the candidate is unrelated)."""
        father = list(self.father)
        mother = list(self.mother)
        father[k] = mother[k] = -1
        return Pedigree(self.ids, tuple(father), tuple(mother), self.sex, self.sample_ids, self.missing)

    def relatives_text(self) -> str:
        """The typed members and their member ids, for reports: ``"S-1 (full_sibling_1)"``."""
        return ", ".join(f"{self.sample_ids[k]} ({self.ids[k]})" for k in self.typed_members)


def pedigree_from_relationships(
    references: Iterable[tuple[str, str]],
    *,
    sexes: Mapping[str, str] | None = None,
    context: str = "family",
) -> Pedigree:
    """Canonical pedigree of a missing child from its references' relationship kinds.

    The template always holds ``missing``, ``father`` and ``mother`` (untyped if not on file);
    full siblings are further children of both; a paternal (maternal) half sibling is a child
    of the father (mother) and an untyped other parent of their own; grandparents are the
    parents of ``father`` or ``mother`` (both added, untyped if not on file, when either is
    given or an aunt/uncle on that side is); an aunt/uncle is a further child of those
    grandparents. Members are named by kind and number (``full_sibling_1``); typed members of
    one kind are numbered in the order given.

    Parameters
    ----------
    references : iterable of (sample_id, relationship)
        ``relationship`` one of :data:`RELATIONSHIPS`.
    sexes : mapping sample_id -> sex, optional
        Recorded sex of the references (only used for kinds that do not imply one).
    context : str
        Named in error messages (e.g. ``"family DEMO-LAB/F-001"``).

    Raises
    ------
    PedigreeError
        Unknown kind, two references of a single kind (two fathers), or no reference.

    Examples
    --------
    >>> ped = pedigree_from_relationships([("G-1", "paternal_grandfather"), ("M-1", "mother")])
    >>> [ped.ids[k] for k in ped.typed_members]
    ['mother', 'paternal_grandfather']
    >>> ped.ids[ped.father[ped.index("father")]]
    'paternal_grandfather'
    """
    sexes = sexes or {}
    by_kind: dict[str, list[str]] = {k: [] for k in RELATIONSHIPS}
    refs = list(references)
    if not refs:
        raise PedigreeError(f"{context} has no typed reference; a family needs at least one")
    for sample_id, kind in refs:
        if kind not in by_kind:
            raise PedigreeError(
                f"{context}: relationship {kind!r} of {sample_id} is unknown; expected one of "
                f"{', '.join(RELATIONSHIPS)} (or give the family as a PED-style pedigree table)"
            )
        by_kind[kind].append(sample_id)
    for kind in SINGLE_RELATIONSHIPS:
        if len(by_kind[kind]) > 1:
            raise PedigreeError(
                f"{context} has {len(by_kind[kind])} references of kind {kind!r} "
                f"({', '.join(by_kind[kind])}); a child has one {kind.replace('_', ' ')}; correct the manifest"
            )

    ids: list[str] = []
    fa: list[int] = []
    mo: list[int] = []
    sx: list[str] = []
    samples: list[str | None] = []

    def add(member_id, father=-1, mother=-1, sex="unknown", sample=None) -> int:
        ids.append(member_id)
        fa.append(father)
        mo.append(mother)
        sx.append(sex)
        samples.append(sample)
        return len(ids) - 1

    def one(kind):
        return by_kind[kind][0] if by_kind[kind] else None

    def recorded_sex(sample):
        s = sexes.get(sample, "unknown") if sample else "unknown"
        return s if s in SEXES else "unknown"

    missing = add("missing")
    father = add("father", sex="male", sample=one("father"))
    mother = add("mother", sex="female", sample=one("mother"))
    for side, parent in (("paternal", father), ("maternal", mother)):
        kinds = (f"{side}_grandfather", f"{side}_grandmother", f"{side}_aunt_uncle")
        if any(by_kind[k] for k in kinds):
            gf = add(f"{side}_grandfather", sex="male", sample=one(f"{side}_grandfather"))
            gm = add(f"{side}_grandmother", sex="female", sample=one(f"{side}_grandmother"))
            fa[parent], mo[parent] = gf, gm
            for n, s in enumerate(by_kind[f"{side}_aunt_uncle"], 1):
                add(f"{side}_aunt_uncle_{n}", gf, gm, recorded_sex(s), s)
    fa[missing], mo[missing] = father, mother
    for n, s in enumerate(by_kind["full_sibling"], 1):
        add(f"full_sibling_{n}", father, mother, recorded_sex(s), s)
    for n, s in enumerate(by_kind["paternal_half_sibling"], 1):
        other = add(f"paternal_half_sibling_{n}_mother", sex="female")
        add(f"paternal_half_sibling_{n}", father, other, recorded_sex(s), s)
    for n, s in enumerate(by_kind["maternal_half_sibling"], 1):
        other = add(f"maternal_half_sibling_{n}_father", sex="male")
        add(f"maternal_half_sibling_{n}", other, mother, recorded_sex(s), s)
    return Pedigree(tuple(ids), tuple(fa), tuple(mo), tuple(sx), tuple(samples), missing)


def pedigree_from_table(rows: Sequence[Mapping[str, object]], *, context: str = "pedigree") -> Pedigree:
    """Pedigree from PED-style rows ``id, father, mother, sex[, sample_id, is_missing]``.

    ``father``/``mother`` are member ids or empty (``None``, ``""``, ``"0"``) for a founder;
    ``sex`` is ``male``/``female``/``unknown`` (also ``1``/``2``/``0`` as in PED files);
    ``sample_id`` marks a typed member; exactly one row has ``is_missing`` true.

    Raises
    ------
    PedigreeError
        Unknown parent id, one parent only, no or several missing members, a cycle.

    Examples
    --------
    >>> ped = pedigree_from_table([
    ...     {"id": "gf", "father": "", "mother": "", "sex": "male", "sample_id": "R-1"},
    ...     {"id": "gm", "father": "", "mother": "", "sex": "female"},
    ...     {"id": "p", "father": "gf", "mother": "gm", "sex": "female"},
    ...     {"id": "x", "father": "", "mother": "", "sex": "male"},
    ...     {"id": "c", "father": "x", "mother": "p", "sex": "male", "is_missing": True}])
    >>> ped.missing, ped.references
    (4, ('R-1',))
    """
    ids = [str(r["id"]).strip() for r in rows]
    pos = {i: k for k, i in enumerate(ids)}
    fa, mo, sx, samples, missing = [], [], [], [], []
    sex_codes = {"1": "male", "2": "female", "0": "unknown", "m": "male", "f": "female", "": "unknown"}
    for k, r in enumerate(rows):
        parents = []
        for col in ("father", "mother"):
            v = r.get(col)
            v = "" if v is None else str(v).strip()
            if v in ("", "0", "NA"):
                parents.append(-1)
            elif v not in pos:
                raise PedigreeError(
                    f"{context}: {col} {v!r} of member {ids[k]!r} is not a member id; add a row for {v!r} "
                    "or leave the column empty for a founder"
                )
            else:
                parents.append(pos[v])
        fa.append(parents[0])
        mo.append(parents[1])
        s = str(r.get("sex") or "").strip().lower()
        s = sex_codes.get(s, s)
        if s not in SEXES:
            raise PedigreeError(f"{context}: sex {r.get('sex')!r} of member {ids[k]!r}; expected male, female or unknown (or 1/2/0)")
        sx.append(s)
        sid = r.get("sample_id")
        sid = None if sid is None or str(sid).strip() in ("", "NA") else str(sid).strip()
        samples.append(sid)
        flag = r.get("is_missing")
        if isinstance(flag, str):
            flag = flag.strip().lower() in ("1", "true", "yes", "y")
        if flag:
            missing.append(k)
    if len(missing) != 1:
        raise PedigreeError(
            f"{context}: {len(missing)} members are marked is_missing; mark exactly one member (the missing child)"
        )
    return Pedigree(tuple(ids), tuple(fa), tuple(mo), tuple(sx), tuple(samples), missing[0])
