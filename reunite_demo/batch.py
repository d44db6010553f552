"""The demo lab batch: real 1000 Genomes parents, simulated abducted children.

The demo batch is what one lab (``DEMO-LAB``) would submit: a GeneMapper ID-X export and a
manifest of *references* (the typed parents of abducted children) and an export and a manifest
of *candidates* (profiles of rescued children), plus two truth files the pipeline never reads.

Composition (see :data:`DEMO_COMPOSITION`), built from the bundled 1000 Genomes CODIS-18
genotypes (``kinship/data/genotypes/kgp_codis18_east_asia.csv``):

* 70 families drawn from the 208 Han Chinese (CHB + CHS): 50 couples, 10 fathers only and
  10 mothers only. A single parent's partner is a further Han person of the other sex who is
  used only to simulate the child (untyped, appears nowhere else). Fathers are ``male`` and
  mothers ``female`` in the source's ``gender`` column.
* Each family's abducted child is simulated from the two real parents with
  :func:`kinship.likelihood.simulate.simulate_child`, *with mutation*: per-locus matrices of
  :class:`kinship.genetics.mutation.MutationModel` (default: stepwise, male 0.002, female 0.001,
  range 0.1, rate2 1e-6) over the effective table = norSTR 2023 East Asia + every allele
  observed in the bundled East Asian genotypes. The child's sex is a fair coin.
* 200 candidates: the children of 45 couples and of 15 single parents (60 of 70), every Han
  person not used for a family (68), and 24 people each of JPT, KHV and CDX (72), all real
  and related to no family.

Issue 11 adds, without changing any autosomal draw of the above (two further generators,
``default_rng(seed + Y_SEED_OFFSET)`` and ``default_rng(seed + LINKAGE_SEED_OFFSET)``):

* a **simulated Y-STR haplotype** (Yfiler Plus-type kit, :mod:`reunite_demo.yhaplotypes`;
  simulated, not a real population sample) for every man: founders (real fathers, grandfathers,
  unrelated men) from the founder model, sons and brothers by transmission from their father
  with single-step mutation at the rates of ``kinship/data/ystr_mutation_rates.csv``; written
  after the man's autosomal rows in the exports, summarised per son in ``truth_y.csv``;
* the sibling families' siblings and children **re-drawn at vWA and D12S391 with linkage**
  (:data:`LINKED_PAIR`, Haldane r from the bundled map: :func:`linked_pair_recombination_fraction`; each real parent's phase a fair
  coin; :func:`kinship.likelihood.simulate.simulate_linked_child`), replacing the unlinked
  draw of those two loci only.

Identifiers are pseudonymous: references ``R-0001``..., candidates ``C-0001``..., families
``F-001``...; each id series is assigned in a random order so that neither the id nor the
file order reveals a family, a kind or a truth.

Determinism: inputs are sorted before any draw, every draw comes from one
``numpy.random.default_rng(seed)`` in a fixed order, and files are written as LF-terminated
UTF-8 text holding no floats, so the same seed gives byte-identical files (for a given NumPy
bit-generator stream, stable across NumPy 2.x releases for the methods used here).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from kinship.genetics.alleles import allele_sort_key, normalise_allele
from kinship.errors import ReuniteInputError
from kinship.genetics.frequencies import FrequencyTable, effective_table
from kinship.io.frequencies import load_bundled_table
from kinship.genetics.mutation import MutationModel
from kinship.matching.compiler import Profile, encode_profiles
from kinship.genetics.linkage import haldane, linkage_map
from kinship.likelihood.simulate import simulate_child, simulate_linked_child
from kinship.report.spreadsheet import spreadsheet_safe
from reunite_demo.yhaplotypes import YUnits, draw_founder, transmit, y_calls, y_units

__all__ = [
    "DemoRelative",
    "DEMO_SEED",
    "DEMO_LAB",
    "DEMO_KIT",
    "DEMO_TABLE",
    "DEMO_COMPOSITION",
    "KIT_LOCUS_ORDER",
    "SEX_LOCUS",
    "Y_SEED_OFFSET",
    "LINKAGE_SEED_OFFSET",
    "LINKED_PAIR",
    "linked_pair_recombination_fraction",
    "DEMO_FILES",
    "Person",
    "DemoFamily",
    "DemoCandidate",
    "DemoBatch",
    "read_kgp_genotypes",
    "amelogenin",
    "build_demo_batch",
    "render_demo_files",
    "write_demo_batch",
]

#: Seed of the committed batch in ``data/demo``.
DEMO_SEED = 20261130
#: Lab and kit written in the manifests.
DEMO_LAB = "DEMO-LAB"
DEMO_KIT = "GlobalFiler"
#: Frequency table the effective table of the simulation is built on.
DEMO_TABLE = "norstr-2023/East Asia"
#: Sex marker written first for every sample.
SEX_LOCUS = "AMEL"
#: The Y haplotypes and the linked vWA-D12S391 transmissions come from generators of their own,
#: ``default_rng(seed + offset)``, so that every draw of the autosomal batch is unchanged.
Y_SEED_OFFSET = 1
LINKAGE_SEED_OFFSET = 2
#: The linked pair of the kit simulated with linkage in the sibling families: 11.94 cM apart on
#: chromosome 12 in the bundled KLINK 50-marker map (:func:`kinship.genetics.linkage.linkage_map`),
#: Haldane r = 0.1062 (:func:`linked_pair_recombination_fraction`).
LINKED_PAIR = ("vWA", "D12S391")
#: The 18 CODIS loci of the 1000 Genomes call set in GlobalFiler dye order (blue, green,
#: yellow, red, purple); GlobalFiler's D16S539, D21S11, SE33, DYS391 and Yindel are not in
#: the call set and are not written.
KIT_LOCUS_ORDER = (
    "D3S1358", "vWA", "CSF1PO", "TPOX",
    "D8S1179", "D18S51",
    "D2S441", "D19S433", "TH01", "FGA",
    "D22S1045", "D5S818", "D13S317", "D7S820",
    "D10S1248", "D1S1656", "D12S391", "D2S1338",
)  # fmt: skip
#: Populations of the families (Han Chinese) and of the further unrelated candidates, in the
#: order they are drawn from.
FAMILY_POPULATIONS = ("CHB", "CHS")
OTHER_POPULATIONS = ("JPT", "KHV", "CDX")
#: Counts of the batch.
DEMO_COMPOSITION = {
    "couple": 50,
    "father_only": 10,
    "mother_only": 10,
    "rescued_couple": 45,
    "rescued_single": 15,
    # families without both parents on file (issue 3), every child rescued:
    "one_sibling": 3,          # one typed full sibling; both parents real, untyped
    "two_siblings": 3,         # two typed full siblings
    "mother_paternal_grandparents": 3,   # mother + father's parents; father simulated, untyped
    "father_maternal_grandparents": 3,   # father + mother's parents; mother simulated, untyped
    "n_candidates": 200,
}
#: Files written by :func:`write_demo_batch`, in writing order.
DEMO_FILES = (
    "references.txt",
    "references_manifest.csv",
    "candidates.txt",
    "candidates_manifest.csv",
    "truth.csv",
    "truth_families.csv",
    "truth_y.csv",
)
_GENOTYPES = "data/genotypes/kgp_codis18_east_asia.csv"
_EXPORT_HEADER = ("Sample Name", "Marker", "Allele 1", "Allele 2")
_MANIFEST_COLUMNS = ("sample_id", "role", "family_id", "relationship", "sex", "lab", "kit")
_TRUTH_COLUMNS = (
    "candidate_id", "truth", "lab", "family_id", "family_kind", "n_mutations", "mutated_loci", "source",
)  # fmt: skip
_FAMILY_COLUMNS = (
    "lab", "family_id", "family_kind", "father_source", "mother_source", "father_reference_id",
    "mother_reference_id", "child_sex", "child_n_mutations", "child_mutated_loci",
    "child_rescued", "child_candidate_id", "relatives",
)  # fmt: skip
_Y_TRUTH_COLUMNS = (
    "lab", "family_id", "family_kind", "child_sex", "child_candidate_id", "y_reference_id",
    "y_reference_relationship", "y_meioses", "n_y_mutations", "n_y_differing_units",
)  # fmt: skip


def linked_pair_recombination_fraction() -> float:
    """Haldane recombination fraction of :data:`LINKED_PAIR` from the bundled sex-averaged map.

    Examples
    --------
    >>> round(linked_pair_recombination_fraction(), 6)
    0.106222
    """
    position = linkage_map()
    return haldane(abs(position[LINKED_PAIR[1]].cM - position[LINKED_PAIR[0]].cM))


@dataclass(frozen=True)
class Person:
    """One real person of the 1000 Genomes call set.

    Attributes
    ----------
    sample_id : str
        1000 Genomes sample id, e.g. ``"HG00403"`` (never written to an export or manifest).
    population : str
        1000 Genomes population code (``CHB``, ``CHS``, ``JPT``, ``KHV``, ``CDX``).
    sex : {"male", "female"}
        The source's ``gender`` column.
    profile : mapping of str to (str, str)
        Canonical allele labels per canonical locus, sorted within the pair.
    """

    sample_id: str
    population: str
    sex: str
    profile: Profile

    @property
    def source(self) -> str:
        """Provenance label ``"<sample id>/<population>"``, e.g. ``"HG00403/CHS"``."""
        return f"{self.sample_id}/{self.population}"


@dataclass(frozen=True)
class DemoRelative:
    """A typed relative other than a parent (a simulated sibling or a real grandparent).

    Attributes
    ----------
    relationship : str
        Manifest relationship kind (``full_sibling``, ``paternal_grandfather``, ...).
    person : Person
        A real grandparent, or a simulated sibling (``sample_id`` ``"simulated"``).
    reference_id : str or None
        Pseudonymous reference id (assigned with the parents' ids).
    y : ndarray of int64, shape (n_units,), or None
        Simulated Y haplotype of a male relative (:mod:`reunite_demo.yhaplotypes`).
    y_mutations : int
        Y units that mutated in his own meiosis (0 for a founder).
    """

    relationship: str
    person: Person
    reference_id: str | None = None
    y: np.ndarray | None = None
    y_mutations: int = 0


@dataclass(frozen=True)
class DemoFamily:
    """One family: the parents of an abducted child and the simulated child.

    Attributes
    ----------
    family_id : str
        ``"F-001"`` ...
    kind : {"couple", "father_only", "mother_only", "siblings", "parent_grandparents"}
    father, mother : Person
        Both parents; in a single-parent family one of them is untyped (not filed); in a
        siblings family both are real and untyped; in a parent + grandparents family the
        parent between the grandparents and the child is simulated (``sample_id``
        ``"simulated"``) and untyped.
    father_reference_id, mother_reference_id : str or None
        Pseudonymous reference ids of the typed parents; ``None`` for the untyped partner.
    child_profile : mapping of str to (str, str)
        The simulated child at the 18 loci.
    child_sex : {"male", "female"}
    mutated_loci : tuple of str
        Loci where a transmitted allele mutated, in :data:`KIT_LOCUS_ORDER`, one entry per
        mutated allele (a locus appears twice if both alleles mutated).
    relatives : tuple of DemoRelative
    father_y : ndarray of int64, shape (n_units,), or None
        The father's simulated Y haplotype (typed or not; real or simulated father).
    child_y : ndarray of int64, shape (n_units,), or None
        A male child's Y haplotype, passed from ``father_y`` with mutation.
    child_y_mutations : int
        Y units that mutated from the father to the child.
    """

    family_id: str
    kind: str
    father: Person
    mother: Person
    father_reference_id: str | None
    mother_reference_id: str | None
    child_profile: Profile
    child_sex: str
    mutated_loci: tuple[str, ...]
    relatives: tuple[DemoRelative, ...] = ()
    father_y: np.ndarray | None = None
    child_y: np.ndarray | None = None
    child_y_mutations: int = 0

    @property
    def n_mutations(self) -> int:
        """Number of mutated alleles in the child."""
        return len(self.mutated_loci)


@dataclass(frozen=True)
class DemoCandidate:
    """One rescued child's profile.

    Attributes
    ----------
    candidate_id : str
        ``"C-0001"`` ...
    sex : {"male", "female"}
    profile : mapping of str to (str, str)
    family_id : str or None
        The family whose child this is; ``None`` for a person related to no family.
    person : Person or None
        The real person for an unrelated candidate; ``None`` for a simulated child.
    y : ndarray of int64, shape (n_units,), or None
        Y haplotype of a male candidate.
    """

    candidate_id: str
    sex: str
    profile: Profile
    family_id: str | None = None
    person: Person | None = None
    y: np.ndarray | None = None


@dataclass(frozen=True)
class DemoBatch:
    """The demo batch before it is written.

    Attributes
    ----------
    seed : int
    families : tuple of DemoFamily
        In family-id order.
    candidates : tuple of DemoCandidate
        In candidate-id order.
    table_name : str
        Name of the effective table the mutation matrices were built on.
    model : MutationModel
    y_units : YUnits
        The simulated Y kit's units (:func:`reunite_demo.yhaplotypes.y_units`).
    """

    seed: int
    families: tuple[DemoFamily, ...]
    candidates: tuple[DemoCandidate, ...]
    table_name: str
    model: MutationModel
    y_units: YUnits

    def child_candidate_ids(self) -> dict[str, str]:
        """Family id -> candidate id of its rescued child (families with a rescued child only)."""
        return {c.family_id: c.candidate_id for c in self.candidates if c.family_id is not None}


def read_kgp_genotypes(source: str | Path | None = None) -> dict[str, Person]:
    """Read the 1000 Genomes CODIS-18 genotype table.

    Parameters
    ----------
    source : str or pathlib.Path, optional
        CSV with columns ``sample, population, super_pop, gender, locus, allele1, allele2``
        (further columns ignored). Default: the bundled
        ``kinship/data/genotypes/kgp_codis18_east_asia.csv``.

    Returns
    -------
    dict of str to Person
        Keyed by 1000 Genomes sample id, in sorted id order.

    Raises
    ------
    ReuniteInputError
        If a person lacks one of :data:`KIT_LOCUS_ORDER`, has a locus twice, or has a
        ``gender`` other than ``male``/``female``.
    AlleleError
        If an allele is not ISFG nomenclature.

    Examples
    --------
    >>> people = read_kgp_genotypes()
    >>> len(people), people["HG00759"].population, people["HG00759"].profile["TH01"]
    (504, 'CDX', ('7', '9.3'))
    """
    if source is None:
        text = resources.files("kinship").joinpath(_GENOTYPES).read_text(encoding="utf-8")
        name = _GENOTYPES
    else:
        text = Path(source).read_text(encoding="utf-8")
        name = str(source)
    info: dict[str, tuple[str, str]] = {}
    profiles: dict[str, dict[str, tuple[str, str]]] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        sample_id, locus = row["sample"], row["locus"]
        if row["gender"] not in ("male", "female"):
            raise ReuniteInputError(
                f"{name} line {line}: gender {row['gender']!r} of sample {sample_id}; expected "
                "'male' or 'female'"
            )
        info.setdefault(sample_id, (row["population"], row["gender"]))
        profile = profiles.setdefault(sample_id, {})
        if locus in profile:
            raise ReuniteInputError(f"{name} line {line}: sample {sample_id} has locus {locus} twice")
        pair = sorted((normalise_allele(row["allele1"]), normalise_allele(row["allele2"])), key=allele_sort_key)
        profile[locus] = (pair[0], pair[1])
    people = {}
    for sample_id in sorted(profiles):
        missing = [locus for locus in KIT_LOCUS_ORDER if locus not in profiles[sample_id]]
        if missing:
            raise ReuniteInputError(
                f"{name}: sample {sample_id} lacks loci {missing}; the demo needs all of "
                f"{list(KIT_LOCUS_ORDER)}"
            )
        population, sex = info[sample_id]
        profile = {locus: profiles[sample_id][locus] for locus in KIT_LOCUS_ORDER}
        people[sample_id] = Person(sample_id, population, sex, profile)
    return people


def amelogenin(sex: str) -> tuple[str, str]:
    """Amelogenin call of a person of sex ``sex``.

    Examples
    --------
    >>> amelogenin("male"), amelogenin("female")
    (('X', 'Y'), ('X', 'X'))
    """
    return ("X", "Y") if sex == "male" else ("X", "X")


def _pick(rng: np.random.Generator, items: list, n: int, what: str) -> tuple[list, list]:
    """Draw ``n`` of ``items`` (already sorted) without replacement: (drawn, rest), drawn in draw order."""
    if len(items) < n:
        raise ReuniteInputError(f"demo batch needs {n} {what}; only {len(items)} are available")
    order = rng.permutation(len(items))
    return [items[i] for i in order[:n]], [items[i] for i in sorted(order[n:])]


def _profile_from_indices(alleles: np.ndarray, table: FrequencyTable) -> dict[str, tuple[str, str]]:
    """Profile from an int16 (n_loci, 2) allele-index array over :data:`KIT_LOCUS_ORDER`."""
    return {
        locus: (table[locus].alleles[int(alleles[li, 0])], table[locus].alleles[int(alleles[li, 1])])
        for li, locus in enumerate(KIT_LOCUS_ORDER)
    }


def build_demo_batch(
    people: Mapping[str, Person],
    *,
    seed: int = DEMO_SEED,
    model: MutationModel | None = None,
    table: FrequencyTable | None = None,
) -> DemoBatch:
    """Draw the families, simulate their children and assemble the candidates.

    Draw order (one generator, ``numpy.random.default_rng(seed)``): Han males, Han females
    (each a permutation of the sorted ids; the first 50 + 10 + 10 are couple fathers,
    fathers-only, untyped partners of mothers-only, and likewise for females); the family kind
    order; each child in family order (sex, then :func:`~kinship.likelihood.simulate.simulate_child`);
    the rescued couples' and single parents' children; 24 people of each of JPT, KHV, CDX;
    the reference-id order; the candidate-id order. The linked pair of the sibling families
    (after each sibling family's unlinked draws) and the Y haplotypes (after all families,
    :func:`_with_y_haplotypes`) come from their own generators, so none of these draws moves.

    Parameters
    ----------
    people : mapping of str to Person
        :func:`read_kgp_genotypes`.
    seed : int
        Seed of ``numpy.random.default_rng``.
    model : MutationModel, optional
        Default ``MutationModel()`` (stepwise, male 0.002, female 0.001, range 0.1, rate2 1e-6).
    table : FrequencyTable, optional
        Base frequency table, default :data:`DEMO_TABLE`; the matrices are built on its
        effective table with every allele of ``people`` added (:func:`~kinship.genetics.frequencies.effective_table`:
        5/(2N), or the floor 0.001 where the table gives no N; renormalised).

    Returns
    -------
    DemoBatch

    Raises
    ------
    ReuniteInputError
        If ``people`` has too few Han males or females, or too few people of the other
        populations, for :data:`DEMO_COMPOSITION`.

    Examples
    --------
    >>> batch = build_demo_batch(read_kgp_genotypes(), seed=1)
    >>> len(batch.families), len(batch.candidates), len(batch.child_candidate_ids())
    (82, 200, 72)
    >>> {f.father.sex for f in batch.families}, {f.mother.sex for f in batch.families}
    ({'male'}, {'female'})
    >>> sorted({r.relationship for f in batch.families for r in f.relatives})[:2]
    ['full_sibling', 'maternal_grandfather']
    """
    model = model or MutationModel()
    comp = DEMO_COMPOSITION
    observed: dict[str, set[str]] = {}
    for person in people.values():
        for locus, pair in person.profile.items():
            observed.setdefault(locus, set()).update(pair)
    eff, _ = effective_table(table or load_bundled_table(DEMO_TABLE), observed)
    m_father = [model.matrix(eff[l].alleles, eff[l].afreq, "male") for l in KIT_LOCUS_ORDER]
    m_mother = [model.matrix(eff[l].alleles, eff[l].afreq, "female") for l in KIT_LOCUS_ORDER]

    pool = [people[sample_id] for sample_id in sorted(people)]  # draws never depend on input order
    rng = np.random.default_rng(seed)
    han = [p for p in pool if p.population in FAMILY_POPULATIONS]
    n_slots = comp["couple"] + comp["father_only"] + comp["mother_only"]
    males, han_rest_m = _pick(rng, [p for p in han if p.sex == "male"], n_slots, "Han males")
    females, han_rest_f = _pick(rng, [p for p in han if p.sex == "female"], n_slots, "Han females")
    n_c, n_f = comp["couple"], comp["father_only"]
    # Slots: [0, n_c) couples, [n_c, n_c + n_f) father only, the rest mother only; the male of
    # a mother-only slot and the female of a father-only slot are the untyped partners.
    slot_kind = ["couple"] * n_c + ["father_only"] * n_f + ["mother_only"] * comp["mother_only"]
    slot_order = rng.permutation(n_slots)  # family k gets slot slot_order[k]

    parents = [p for s in range(n_slots) for p in (males[s], females[s])]
    parent_arrays = encode_profiles(
        {p.sample_id: p.profile for p in parents}, [p.sample_id for p in parents], eff, KIT_LOCUS_ORDER
    )
    drafts = []  # families without reference ids yet
    for k, slot in enumerate(slot_order.tolist()):
        child_sex = "male" if rng.random() < 0.5 else "female"
        child, mutated = simulate_child(
            parent_arrays[:, 2 * slot], parent_arrays[:, 2 * slot + 1], rng, M_male=m_father, M_female=m_mother
        )
        drafts.append(
            DemoFamily(
                family_id=f"F-{k + 1:03d}",
                kind=slot_kind[slot],
                father=males[slot],
                mother=females[slot],
                father_reference_id=None,
                mother_reference_id=None,
                child_profile=_profile_from_indices(child, eff),
                child_sex=child_sex,
                mutated_loci=tuple(
                    locus for li, locus in enumerate(KIT_LOCUS_ORDER) for _ in range(int(mutated[li].sum()))
                ),
            )
        )

    rescued_couples, _ = _pick(rng, [f for f in drafts if f.kind == "couple"], comp["rescued_couple"], "couples")
    rescued_singles, _ = _pick(
        rng, [f for f in drafts if f.kind != "couple"], comp["rescued_single"], "single parents"
    )
    rescued_ids = {f.family_id for f in rescued_couples + rescued_singles}

    # Families without both parents on file (drawn after the parentage families, so those stay
    # as they were): real founders from the unused Han people, relatives simulated with mutation.
    n_sib = comp["one_sibling"] + comp["two_siblings"]
    n_mgp, n_fgp = comp["mother_paternal_grandparents"], comp["father_maternal_grandparents"]
    extra_m, han_rest_m = _pick(rng, han_rest_m, n_sib + n_mgp + 2 * n_fgp, "further Han males")
    extra_f, han_rest_f = _pick(rng, han_rest_f, n_sib + 2 * n_mgp + n_fgp, "further Han females")
    extra_people = extra_m + extra_f
    extra_arrays = encode_profiles(
        {p.sample_id: p.profile for p in extra_people}, [p.sample_id for p in extra_people], eff, KIT_LOCUS_ORDER
    )
    arr = {p.sample_id: extra_arrays[:, k] for k, p in enumerate(extra_people)}

    def child_of(father_arr, mother_arr):
        c, mut = simulate_child(father_arr, mother_arr, rng, M_male=m_father, M_female=m_mother)
        return c, mut

    def simulated(sex, alleles):
        return Person("simulated", "-", sex, _profile_from_indices(alleles, eff))

    # Siblings at the linked pair: the founders' phase and each meiosis's origins come from a
    # generator of their own (module docstring), overwriting the two loci of the unlinked draw.
    lrng = np.random.default_rng(seed + LINKAGE_SEED_OFFSET)
    pair_idx = [KIT_LOCUS_ORDER.index(locus) for locus in LINKED_PAIR]
    r_link = linked_pair_recombination_fraction()
    pair_m_father = [m_father[i] for i in pair_idx]
    pair_m_mother = [m_mother[i] for i in pair_idx]

    def phased(alleles):
        """The founder's genotypes at the linked pair with a random phase (fair coin)."""
        pair = np.array(alleles[pair_idx], dtype=np.int16)
        if lrng.random() < 0.5:
            pair[1] = pair[1, ::-1]
        return pair

    def linked(alleles, mutated, phase_f, phase_m):
        c, mut = simulate_linked_child(phase_f, phase_m, lrng, r=r_link, M_male=pair_m_father, M_female=pair_m_mother)
        alleles, mutated = alleles.copy(), mutated.copy()
        alleles[pair_idx] = np.sort(c, axis=1)
        mutated[pair_idx] = mut
        return alleles, mutated

    im = iter(extra_m)
    jf = iter(extra_f)
    for k in range(n_sib + n_mgp + n_fgp):
        fid = f"F-{len(drafts) + 1:03d}"
        if k < n_sib:
            father, mother = next(im), next(jf)
            n_typed = 1 if k < comp["one_sibling"] else 2
            sibs = []
            for _ in range(n_typed):
                sib_sex = "male" if rng.random() < 0.5 else "female"
                sibs.append((sib_sex, *child_of(arr[father.sample_id], arr[mother.sample_id])))
            child_sex = "male" if rng.random() < 0.5 else "female"
            child, mutated = child_of(arr[father.sample_id], arr[mother.sample_id])
            phase_f, phase_m = phased(arr[father.sample_id]), phased(arr[mother.sample_id])
            relatives = [
                DemoRelative("full_sibling", simulated(sib_sex, linked(sib, sib_mut, phase_f, phase_m)[0]))
                for sib_sex, sib, sib_mut in sibs
            ]
            child, mutated = linked(child, mutated, phase_f, phase_m)
            kind = "siblings"
        elif k < n_sib + n_mgp:
            gf, gm, mother = next(im), next(jf), next(jf)
            father_alleles, _ = child_of(arr[gf.sample_id], arr[gm.sample_id])
            father = simulated("male", father_alleles)
            child_sex = "male" if rng.random() < 0.5 else "female"
            child, mutated = child_of(father_alleles, arr[mother.sample_id])
            relatives = [DemoRelative("paternal_grandfather", gf), DemoRelative("paternal_grandmother", gm)]
            kind = "parent_grandparents"
        else:
            gf, gm, father = next(im), next(jf), next(im)
            mother_alleles, _ = child_of(arr[gf.sample_id], arr[gm.sample_id])
            mother = simulated("female", mother_alleles)
            child_sex = "male" if rng.random() < 0.5 else "female"
            child, mutated = child_of(arr[father.sample_id], mother_alleles)
            relatives = [DemoRelative("maternal_grandfather", gf), DemoRelative("maternal_grandmother", gm)]
            kind = "parent_grandparents"
        drafts.append(
            DemoFamily(
                family_id=fid, kind=kind, father=father, mother=mother,
                father_reference_id=None, mother_reference_id=None,
                child_profile=_profile_from_indices(child, eff), child_sex=child_sex,
                mutated_loci=tuple(
                    locus for li, locus in enumerate(KIT_LOCUS_ORDER) for _ in range(int(mutated[li].sum()))
                ),
                relatives=tuple(relatives),
            )
        )  # fmt: skip
        rescued_ids.add(fid)

    unrelated = sorted(han_rest_m + han_rest_f, key=lambda p: p.sample_id)
    n_other = comp["n_candidates"] - len(rescued_ids) - len(unrelated)
    per_population = [n_other // len(OTHER_POPULATIONS)] * len(OTHER_POPULATIONS)
    for i in range(n_other % len(OTHER_POPULATIONS)):
        per_population[i] += 1
    for population, n in zip(OTHER_POPULATIONS, per_population):
        drawn, _ = _pick(rng, [p for p in pool if p.population == population], n, population)
        unrelated += sorted(drawn, key=lambda p: p.sample_id)

    units = y_units()
    drafts, unrelated_y = _with_y_haplotypes(drafts, unrelated, units, np.random.default_rng(seed + Y_SEED_OFFSET))

    # Reference ids: typed parents in (family, relationship) order get ids in random order.
    typed = sorted(
        [(f.family_id, "father") for f in drafts if f.kind in ("couple", "father_only") or _typed_parent(f) == "father"]
        + [(f.family_id, "mother") for f in drafts if f.kind in ("couple", "mother_only") or _typed_parent(f) == "mother"]
        + [(f.family_id, f"{r.relationship}:{n}") for f in drafts for n, r in enumerate(f.relatives)]
    )
    ref_order = rng.permutation(len(typed)).tolist()
    reference_id = {typed[j]: f"R-{i + 1:04d}" for i, j in enumerate(ref_order)}
    families = tuple(
        replace(
            f,
            father_reference_id=reference_id.get((f.family_id, "father")),
            mother_reference_id=reference_id.get((f.family_id, "mother")),
            relatives=tuple(
                replace(r, reference_id=reference_id[(f.family_id, f"{r.relationship}:{n}")])
                for n, r in enumerate(f.relatives)
            ),
        )
        for f in drafts
    )

    entries = [(f.family_id, f.child_sex, f.child_profile, None, f.child_y) for f in drafts if f.family_id in rescued_ids]
    entries += [(None, p.sex, p.profile, p, y) for p, y in zip(unrelated, unrelated_y)]
    cand_order = rng.permutation(len(entries)).tolist()
    candidates = tuple(
        DemoCandidate(f"C-{i + 1:04d}", sex, profile, family_id, person, y)
        for i, (family_id, sex, profile, person, y) in enumerate(entries[j] for j in cand_order)
    )
    return DemoBatch(seed, families, candidates, eff.name, model, units)


def _with_y_haplotypes(
    drafts: list[DemoFamily], unrelated: list[Person], units: YUnits, yrng: np.random.Generator
) -> tuple[list[DemoFamily], list[np.ndarray | None]]:
    """Give every man of the batch a simulated Y haplotype (:mod:`reunite_demo.yhaplotypes`).

    Draw order (``yrng`` only): per family in family order, the paternal line from its founder
    down (a real father, or the paternal grandfather and then the simulated father), then
    each male typed relative of the family in order (a full brother inherits from the father,
    a maternal grandfather is a founder of his own line), then a male child; then each male
    unrelated candidate in ``unrelated`` order, a founder. Women get ``None``.
    """
    out = []
    for f in drafts:
        grandfather = next((r for r in f.relatives if r.relationship == "paternal_grandfather"), None)
        relatives = []
        if grandfather is not None:
            gf_y = draw_founder(units, yrng)
            father_y, _ = transmit(gf_y, units, yrng)
        else:
            father_y = draw_founder(units, yrng)
        for r in f.relatives:
            if r.person.sex != "male":
                relatives.append(r)
            elif r.relationship == "paternal_grandfather":
                relatives.append(replace(r, y=gf_y))
            elif r.relationship == "full_sibling":
                y, n_mut = transmit(father_y, units, yrng)
                relatives.append(replace(r, y=y, y_mutations=n_mut))
            else:  # a maternal grandfather: another lineage
                relatives.append(replace(r, y=draw_founder(units, yrng)))
        child_y, n_child = transmit(father_y, units, yrng) if f.child_sex == "male" else (None, 0)
        out.append(replace(f, relatives=tuple(relatives), father_y=father_y, child_y=child_y, child_y_mutations=n_child))
    unrelated_y = [draw_founder(units, yrng) if p.sex == "male" else None for p in unrelated]
    return out, unrelated_y


def _typed_parent(f: DemoFamily) -> str | None:
    """The parent on file of a parent + grandparents family (the one that is a real person)."""
    if f.kind != "parent_grandparents":
        return None
    return "mother" if f.father.sample_id == "simulated" else "father"


def _export(samples: Iterable[tuple[str, str, Profile, np.ndarray | None]], units: YUnits) -> bytes:
    """GeneMapper ID-X genotype table: one row per (sample, locus), AMEL first, homozygotes
    twice; then a man's Y loci (one call at a single-copy locus, Allele 2 empty; two at a
    two-copy locus)."""
    lines = ["\t".join(_EXPORT_HEADER)]
    for sample_id, sex, profile, y in samples:
        lines.append("\t".join((sample_id, SEX_LOCUS, *amelogenin(sex))))
        lines.extend("\t".join((sample_id, locus, *profile[locus])) for locus in KIT_LOCUS_ORDER)
        if y is not None:
            lines.extend("\t".join((sample_id, locus, calls[0], calls[1] if len(calls) > 1 else ""))
                         for locus, calls in y_calls(y, units))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _csv(columns: tuple[str, ...], rows: Iterable[Mapping[str, object]]) -> bytes:
    """CSV text with LF line ends; every value is written as given (``None`` -> empty), except
    that a text value a spreadsheet would read as a formula gets a ``'`` in front
    (:func:`kinship.report.spreadsheet.spreadsheet_safe`); numbers are written as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        return str(value)
    return spreadsheet_safe(str(value))


def render_demo_files(batch: DemoBatch) -> dict[str, bytes]:
    """The contents of the demo files, keyed by file name (:data:`DEMO_FILES`).

    ``references.txt`` / ``candidates.txt``
        GeneMapper ID-X genotype tables (tab-delimited, header ``Sample Name, Marker,
        Allele 1, Allele 2``), samples in id order, loci ``AMEL`` then
        :data:`KIT_LOCUS_ORDER`, alleles in ladder order, a homozygote written twice.
    ``references_manifest.csv`` / ``candidates_manifest.csv``
        ``sample_id, role, family_id, relationship, sex, lab, kit`` (``schemas/manifest.v3.json``).
    ``truth.csv``
        One row per candidate: ``candidate_id, truth (child_of_family | unrelated), lab,
        family_id, family_kind, n_mutations, mutated_loci`` (``;``-separated, one entry per
        mutated allele), ``source`` (``"simulated"`` or ``"<1000G id>/<population>"``).
    ``truth_families.csv``
        One row per family: parents' sources (the untyped partner suffixed ``" untyped"``),
        reference ids, the child's sex and mutations, whether and as whom it was rescued.

    Examples
    --------
    >>> files = render_demo_files(build_demo_batch(read_kgp_genotypes(), seed=1))
    >>> files["references.txt"].decode().splitlines()[0].split("\\t")
    ['Sample Name', 'Marker', 'Allele 1', 'Allele 2']
    >>> len(files["candidates.txt"].decode().splitlines())   # header + 200 x 19 loci + 86 men x 25 Y loci
    5951
    """
    refs = [
        (ref_id, relationship, parent, y)
        for f in batch.families
        for ref_id, relationship, parent, y in (
            (f.father_reference_id, "father", f.father, f.father_y),
            (f.mother_reference_id, "mother", f.mother, None),
        )
        if ref_id is not None
    ]
    refs += [(r.reference_id, r.relationship, r.person, r.y) for f in batch.families for r in f.relatives]
    refs.sort(key=lambda ref: ref[0])
    family_of = {
        ref_id: f.family_id
        for f in batch.families
        for ref_id in (f.father_reference_id, f.mother_reference_id, *(r.reference_id for r in f.relatives))
        if ref_id
    }
    ref_manifest = [
        {"sample_id": ref_id, "role": "reference", "family_id": family_of[ref_id], "relationship": relationship,
         "sex": parent.sex, "lab": DEMO_LAB, "kit": DEMO_KIT}
        for ref_id, relationship, parent, _ in refs
    ]  # fmt: skip
    cand_manifest = [
        {"sample_id": c.candidate_id, "role": "candidate", "sex": c.sex, "lab": DEMO_LAB, "kit": DEMO_KIT}
        for c in batch.candidates
    ]
    by_family = {f.family_id: f for f in batch.families}
    truth = []
    for c in batch.candidates:
        if c.family_id is None:
            truth.append({"candidate_id": c.candidate_id, "truth": "unrelated", "lab": DEMO_LAB, "source": c.person.source})
            continue
        family = by_family[c.family_id]
        truth.append(
            {"candidate_id": c.candidate_id, "truth": "child_of_family", "lab": DEMO_LAB,
             "family_id": family.family_id, "family_kind": family.kind, "n_mutations": family.n_mutations,
             "mutated_loci": ";".join(family.mutated_loci), "source": "simulated"}
        )  # fmt: skip
    rescued = batch.child_candidate_ids()
    truth_families = [
        {"lab": DEMO_LAB, "family_id": f.family_id, "family_kind": f.kind,
         "father_source": f.father.source + ("" if f.father_reference_id else " untyped"),
         "mother_source": f.mother.source + ("" if f.mother_reference_id else " untyped"),
         "father_reference_id": f.father_reference_id, "mother_reference_id": f.mother_reference_id,
         "child_sex": f.child_sex, "child_n_mutations": f.n_mutations,
         "child_mutated_loci": ";".join(f.mutated_loci),
         "child_rescued": "true" if f.family_id in rescued else "false",
         "child_candidate_id": rescued.get(f.family_id),
         "relatives": ";".join(f"{r.reference_id}:{r.relationship}:{r.person.source}" for r in f.relatives)}
        for f in batch.families
    ]  # fmt: skip
    truth_y = []
    for f in batch.families:
        ref = _y_reference(f)
        if ref is None or f.child_sex != "male":
            continue
        ref_id, relationship, ref_y, meioses, n_mut = ref
        truth_y.append(
            {"lab": DEMO_LAB, "family_id": f.family_id, "family_kind": f.kind, "child_sex": f.child_sex,
             "child_candidate_id": rescued.get(f.family_id), "y_reference_id": ref_id,
             "y_reference_relationship": relationship, "y_meioses": meioses,
             "n_y_mutations": n_mut + f.child_y_mutations,
             "n_y_differing_units": int(np.count_nonzero(ref_y != f.child_y))}
        )  # fmt: skip
    return {
        "references.txt": _export(((ref_id, parent.sex, parent.profile, y) for ref_id, _, parent, y in refs), batch.y_units),
        "references_manifest.csv": _csv(_MANIFEST_COLUMNS, ref_manifest),
        "candidates.txt": _export(((c.candidate_id, c.sex, c.profile, c.y) for c in batch.candidates), batch.y_units),
        "candidates_manifest.csv": _csv(_MANIFEST_COLUMNS, cand_manifest),
        "truth.csv": _csv(_TRUTH_COLUMNS, truth),
        "truth_families.csv": _csv(_FAMILY_COLUMNS, truth_families),
        "truth_y.csv": _csv(_Y_TRUTH_COLUMNS, truth_y),
    }


def _y_reference(f: DemoFamily) -> tuple[str, str, np.ndarray, int, int] | None:
    """The family's closest typed paternal-line man: (reference id, relationship, Y haplotype,
    meioses to the missing child, Y mutations on his side of the line), or None.

    The father (1 meiosis) before a full brother or the paternal grandfather (2 meioses; the
    first in reference-id order among brothers); the mutations on his side are the brother's
    own meiosis from the father, or the simulated father's from the grandfather.
    """
    if f.father_reference_id is not None:
        return f.father_reference_id, "father", f.father_y, 1, 0
    for r in sorted((r for r in f.relatives if r.y is not None and r.relationship != "maternal_grandfather"),
                    key=lambda r: r.reference_id or ""):
        if r.relationship == "full_sibling":
            return r.reference_id, r.relationship, r.y, 2, r.y_mutations
        if r.relationship == "paternal_grandfather":
            return r.reference_id, r.relationship, r.y, 2, int(np.count_nonzero(r.y != f.father_y))
    return None


def write_demo_batch(out_dir: str | Path, *, seed: int = DEMO_SEED) -> list[Path]:
    """Build the demo batch from the bundled genotypes and write its files.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder to write into (created if needed); files of the same names are replaced,
        other files (e.g. ``README.md``) are left alone.
    seed : int
        Seed of the batch; :data:`DEMO_SEED` gives the committed ``data/demo``.

    Returns
    -------
    list of pathlib.Path
        The written files, in :data:`DEMO_FILES` order.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = render_demo_files(build_demo_batch(read_kgp_genotypes(), seed=seed))
    paths = []
    for name in DEMO_FILES:
        path = out_dir / name
        path.write_bytes(files[name])
        paths.append(path)
    return paths
