"""Power of one family, and which relative to type next: the library call behind ``scripts/flow power``.

:func:`family_power` answers, for one family on file, "how likely is this family to find its
child, how many unrelated children would reach its threshold at the store's size, and which
relative should the lab type next to make it decisive?" - the question Familias and forrel
(``LRpower``, ``missingPedPower``) answer by simulation, answered exactly here
(:mod:`kinship.likelihood.power`).

* The family's current tables are compiled by :func:`kinship.matching.compiler.compile_families`,
  the run's own path, so the numbers are those of the LRs a match run gives its pairs.
* Support is what :func:`kinship.app.match_run.calibrate` concludes: CPI >= 10^threshold; for
  a family without a parent on file and a single-parent family, also at most
  ``max_expected_unrelated`` unrelated candidates expected at or above the pair's LR at the
  store's size (the calibration gate: the support threshold rises to the smallest log10 LR at
  which ``n_candidates * P(LR >= x | unrelated) <= max_expected_unrelated``); for a parent family
  (couple, one parent) 3 or more inconsistent loci exclude, which only lowers the lower bound,
  by ``P(>= 3 inconsistent loci | true child)`` (computed exactly, Poisson-binomial over loci).
* Each relative that could be typed next (:data:`NEXT_RELATIVES`: the other parent when it is
  missing, a full sibling, the grandparents on a side whose parent is not typed - with that
  parent typed, a grandparent is independent of the child given the parent and adds nothing)
  is added untyped to the pedigree; ``P(r | references)`` of its genotype comes from the same
  peeling (:func:`kinship.likelihood.peeling.missing_child_joint`, with the relative as the
  output member), the family's tables with the relative typed as each ``r`` from one
  vectorised compile per locus (a batch of families, one per genotype ``r``), and the new
  distribution is the mixture of :func:`kinship.likelihood.power.mixture_locus`. The
  relatives are ranked by their gain in P(support | true child) (midpoint of its bounds, ties
  by relationship order).

Assumptions: the candidate (the true child, or an unrelated child) and the relative to be
typed are typed at every locus of ``loci``, completely; Hardy-Weinberg; the run's linked pairs
(``linked``) as joint super-loci for the current power of a family with relatives other than the
parents, as the run scores it, and every locus independent for the next relatives (given the
references); theta = 0 (refused otherwise: :mod:`kinship.likelihood.power`). A family given as an explicit
PED-style pedigree has no relationship names to add a relative by: only its current power is
computed.

Cost (``benchmarks/power_family.py``, its numbers in ``benchmarks/README.md``): the current
family's part is 56-90 ms for a single-parent family at 20 loci on a shared 2-core VM (about
half of it the run's own ``compile_families``); each next relative costs a compile of one
family per genotype of the relative at every locus and four FFT convolutions: about a second
for a parent, several for a sibling or grandparent. On demand, cached; never for every family
of a run.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np

import kinship
from kinship.errors import ReuniteInputError
from kinship.genetics.encoding import ALLELE_DTYPE, genotype_alleles, n_table_rows
from kinship.genetics.frequencies import FrequencyTable, table_hash
from kinship.genetics.mutation import MutationModel
from kinship.genetics.relationships import PARENT_KINDS, RELATIONSHIPS, SINGLE_PARENT_KINDS
from kinship.likelihood.pedigree import Pedigree, pedigree_from_relationships
from kinship.likelihood.peeling import missing_child_joint
from kinship.likelihood.phenotypes import unrelated_rows
from kinship.likelihood.power import (
    POWER_FLOOR,
    POWER_GRID,
    PowerResult,
    h1_probabilities,
    mixture_locus,
    p_at_least,
    power,
)
from kinship.app.match_run import MatchInputs, assemble_inputs, effective_frequencies, encode_run, entity_hashes
from kinship.io.frequencies import load_frequency_table
from kinship.app.parameters import MatchParameters
from kinship.likelihood.linkage import linkable
from kinship.matching.compiler import Family, compile_families, encode_profiles, linked_units, unit_observations
from kinship.matching.ranking import EXCLUSION_N_INCONSISTENT, SUPPORT_LOG10_CPI

__all__ = [
    "NEXT_RELATIVES",
    "RelativePower",
    "FamilyPower",
    "family_power",
    "store_family_power",
    "power_parameters_hash",
    "family_content_hash",
]

#: Relatives considered for typing next (names of :data:`kinship.genetics.relationships.RELATIONSHIPS`).
NEXT_RELATIVES = (
    "father",
    "mother",
    "full_sibling",
    "paternal_grandfather",
    "paternal_grandmother",
    "maternal_grandfather",
    "maternal_grandmother",
)
_NEXT_SAMPLE = "next-relative"


def _pair(v) -> tuple[float, float]:
    return float(v[0]), float(v[1])


@dataclass(frozen=True)
class RelativePower:
    """The family's power once one more relative is typed.

    Attributes
    ----------
    relationship : str
        One of :data:`NEXT_RELATIVES`.
    family_kind : str
        The family's kind with the relative (:attr:`kinship.matching.compiler.Family.kind`).
    power : PowerResult
    p_support : (float, float)
        P(support | true child) bounds, the inconsistent-loci rule applied where it holds.
    gain : (float, float)
        Bounds on the gain over the current family's ``p_support``.
    """

    relationship: str
    family_kind: str
    power: PowerResult
    p_support: tuple[float, float]
    gain: tuple[float, float]

    def as_dict(self) -> dict:
        return {"relationship": self.relationship, "family_kind": self.family_kind, "power": self.power.as_dict(),
                "p_support": list(self.p_support), "gain": list(self.gain)}

    @classmethod
    def from_dict(cls, d: dict) -> "RelativePower":
        return cls(d["relationship"], d["family_kind"], PowerResult.from_dict(d["power"]), _pair(d["p_support"]),
                   _pair(d["gain"]))


@dataclass(frozen=True)
class FamilyPower:
    """Power of one family and of each relative that could be typed next (ranked by gain).

    Attributes
    ----------
    family_key : str
        ``LAB/FAMILY``.
    family_kind : str
    content_hash : str
        sha256 of the family's content (:func:`kinship.app.match_run.entity_hashes`).
    parameters_hash : str
        sha256 of everything else the numbers depend on (:func:`power_parameters_hash`).
    current : PowerResult
    p_support : (float, float)
        P(support | true child) bounds, the inconsistent-loci rule applied where it holds.
    p_excluded_by_rule : float
        ``P(>= 3 inconsistent loci | true child)`` (0 where the rule does not apply).
    next_relatives : tuple of RelativePower
        Ranked by gain, largest first.
    not_considered : dict of str to str
        Relatives of :data:`NEXT_RELATIVES` left out, with the reason.
    seconds_current, seconds_next : float
        Wall time of the current family's part and of the next relatives' enumeration.
    """

    family_key: str
    family_kind: str
    content_hash: str
    parameters_hash: str
    current: PowerResult
    p_support: tuple[float, float]
    p_excluded_by_rule: float
    next_relatives: tuple[RelativePower, ...]
    not_considered: dict
    seconds_current: float
    seconds_next: float

    def as_dict(self) -> dict:
        """JSON-ready record (the store's ``family_power.result``)."""
        return {
            "family_key": self.family_key, "family_kind": self.family_kind, "content_hash": self.content_hash,
            "parameters_hash": self.parameters_hash, "current": self.current.as_dict(),
            "p_support": list(self.p_support), "p_excluded_by_rule": self.p_excluded_by_rule,
            "next_relatives": [r.as_dict() for r in self.next_relatives], "not_considered": dict(self.not_considered),
            "seconds_current": self.seconds_current, "seconds_next": self.seconds_next,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "FamilyPower":
        """Inverse of :meth:`as_dict`."""
        return cls(
            d["family_key"], d["family_kind"], d["content_hash"], d["parameters_hash"],
            PowerResult.from_dict(d["current"]), _pair(d["p_support"]), float(d["p_excluded_by_rule"]),
            tuple(RelativePower.from_dict(r) for r in d["next_relatives"]), dict(d["not_considered"]),
            float(d["seconds_current"]), float(d["seconds_next"]),
        )


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def family_content_hash(family: Family, profiles: Mapping[str, Mapping[str, tuple[str, str]]]) -> str:
    """The family's entity hash of a match run (:func:`kinship.app.match_run.entity_hashes`)."""
    refs = tuple(sorted(family.references))
    inputs = MatchInputs({s: dict(profiles[s]) for s in refs}, refs, (), (family,))
    return str(entity_hashes(inputs)["sha256"].iloc[0])


def power_parameters_hash(parameters: MatchParameters, table: FrequencyTable, loci: Sequence[str], *,
                          n_candidates: int, relatives: Sequence[str] = NEXT_RELATIVES) -> str:
    """sha256 of what a family's power depends on besides the family: the match parameters
    (:meth:`~kinship.app.parameters.MatchParameters.as_dict`), the effective table's hash, the
    loci, the store's number of candidates, the relatives considered, the grid and the code
    version (``kinship.__version__``).

    Examples
    --------
    >>> from kinship.genetics.frequencies import FrequencyTable
    >>> t = FrequencyTable.from_mapping("t", {"TH01": {"6": 0.3, "9.3": 0.7}})
    >>> a = power_parameters_hash(MatchParameters(), t, ["TH01"], n_candidates=10)
    >>> a == power_parameters_hash(MatchParameters(), t, ["TH01"], n_candidates=11)
    False
    """
    return _digest({
        "parameters": parameters.as_dict(), "table": table_hash(table), "loci": list(loci),
        "n_candidates": int(n_candidates), "relatives": list(relatives), "grid": POWER_GRID,
        "floor": POWER_FLOOR, "version": kinship.__version__,
    })


def _rules(kind: str) -> tuple[bool, bool]:
    """``(gated, inconsistency rule)`` of a family kind, as :func:`kinship.app.match_run.calibrate`."""
    gated = kind not in PARENT_KINDS or kind in SINGLE_PARENT_KINDS
    return gated, kind in PARENT_KINDS


def _with_relative(family: Family, relationship: str, sample_id: str) -> Family:
    if relationship in ("father", "mother") and family.is_parentage:
        return replace(family, **{relationship: sample_id})
    return Family(family.lab, family.family_id, family.father, family.mother,
                  family.others + ((sample_id, relationship),), n_missing=family.n_missing)


def _applicable(family: Family, relationship: str) -> str | None:
    """Why ``relationship`` is not considered for ``family`` (None: it is)."""
    kinds = [k for _, k in family.relationships]
    if family.pedigree is not None and not family.others and not family.is_parentage:
        return "the family is an explicit pedigree: no relationship names to add a relative by"
    if relationship in kinds and relationship != "full_sibling":
        return "already on file"
    if relationship.startswith(("paternal_", "maternal_")):
        parent = "father" if relationship.startswith("paternal_") else "mother"
        if parent in kinds:
            return f"the {parent} is typed: a grandparent on that side adds nothing given the {parent}"
    return None


def _result(values, h1, h2, p_inc, kind, parameters, n_candidates, method):
    gated, rule = _rules(kind)
    res = power(values, h1, h2, threshold=SUPPORT_LOG10_CPI, n_candidates=n_candidates,
                max_expected_unrelated=parameters.max_expected_unrelated if gated else None, method=method)
    p_rule = p_at_least(p_inc, EXCLUSION_N_INCONSISTENT) if rule else 0.0
    lo, hi = res.p_support_h1
    return res, (max(0.0, lo - p_rule), hi), p_rule


def _relative_locus(family_r: Family, ped_r: Pedigree, ref_alleles: np.ndarray, ref_ids, table,
                    locus: str, model: MutationModel, rows: np.ndarray, h2: np.ndarray):
    """Per-locus mixture of the family with relative ``R``: values, H1, H2 and P(inconsistent | H1)."""
    lf = table[locus]
    n = lf.afreq.shape[0]
    M_male = model.matrix(lf.alleles, lf.afreq, "male", locus)
    M_female = model.matrix(lf.alleles, lf.afreq, "female", locus)
    # P(R observed as r | references): the relative as the output member of the same peeling
    g = np.full((1, ped_r.n_members, 2), -1, dtype=np.int64)
    col = {s: k for k, s in enumerate(ref_ids)}
    for m, sid in enumerate(ped_r.sample_ids):
        if sid is not None:
            g[0, m] = ref_alleles[col[sid]]
    joint = missing_child_joint(ped_r, g, lf.afreq, M_male, M_female, silent=lf.silent)[0, rows]
    total = joint.sum()
    if not total > 0.0:  # references impossible together: the compile already warns
        return None
    p_r = joint / total
    keep = np.flatnonzero(p_r > 0.0)
    i, j = genotype_alleles(n)
    r_alleles = np.stack([i[rows[keep]], j[rows[keep]]], axis=1).astype(ALLELE_DTYPE)
    ids = [f"{_NEXT_SAMPLE}-{k}" for k in range(keep.size)]
    fams = [_named_relative(family_r, sid) for sid in ids]
    refs = np.concatenate([ref_alleles[None, :, :], r_alleles[None, :, :]], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an r of weight 0 is never compiled; others are possible
        tables = compile_families(fams, refs, list(ref_ids) + ids, table, [locus], model)
    T = tables.log10_lr[0][rows]  # (n_obs, n_kept)
    I = tables.inconsistent[0][rows]
    values_by_r, h1_by_r, p_inc = [], [], 0.0
    for k in range(keep.size):
        p1, _ = h1_probabilities(T[:, k], h2)
        values_by_r.append(T[:, k])
        h1_by_r.append(p1)
        p_inc += p_r[keep[k]] * float((p1 * I[:, k]).sum())
    v, p1, p2 = mixture_locus(values_by_r, h1_by_r, p_r[keep], h2)
    return v, p1, p2, p_inc


def _named_relative(family_r: Family, sample_id: str) -> Family:
    """``family_r`` (a family with the placeholder relative) with the relative's sample id set."""
    if family_r.is_parentage:
        return replace(family_r, **{k: (sample_id if getattr(family_r, k) == _NEXT_SAMPLE else getattr(family_r, k))
                                    for k in ("father", "mother")})
    others = tuple((sample_id if s == _NEXT_SAMPLE else s, k) for s, k in family_r.others)
    return Family(family_r.lab, family_r.family_id, family_r.father, family_r.mother, others,
                  n_missing=family_r.n_missing)


def _relative_pedigree(family_r: Family) -> tuple[Pedigree, int]:
    """The pedigree of ``family_r`` with its placeholder relative as the (untyped) output member."""
    ped = family_r.pedigree or pedigree_from_relationships(family_r.relationships, context=f"family {family_r.key}")
    k = ped.sample_ids.index(_NEXT_SAMPLE)
    samples = tuple(None if m == k else s for m, s in enumerate(ped.sample_ids))
    return Pedigree(ped.ids, ped.father, ped.mother, ped.sex, samples, k), k


def family_power(
    family: Family,
    profiles: Mapping[str, Mapping[str, tuple[str, str]]],
    table: FrequencyTable,
    model: MutationModel,
    loci: Sequence[str],
    *,
    n_candidates: int,
    parameters: MatchParameters,
    relatives: Sequence[str] = NEXT_RELATIVES,
    linked: Sequence = (),
) -> FamilyPower:
    """Power of one family and of each relative that could be typed next, ranked by gain.

    Parameters
    ----------
    family : Family
    profiles : mapping of sample id to {locus: (allele_1, allele_2)}
        At least the family's references.
    table : FrequencyTable
        The run's effective table (every allele of the profiles in it:
        :func:`kinship.app.match_run.effective_frequencies`).
    model : MutationModel
        The run's mutation model (``parameters.mutation_model``).
    loci : sequence of str
        The run's loci; the candidate and the next relative are taken as typed at all of them.
    n_candidates : int
        Candidates on file (the store's size): the expected false hits and the calibration gate.
    parameters : MatchParameters
        ``theta`` (must be 0), ``max_expected_unrelated``; hashed with the rest.
    relatives : sequence of str
        Relationships to consider typing next (default :data:`NEXT_RELATIVES`).
    linked : sequence of kinship.genetics.linkage.LinkedPair
        The run's linked pairs (:attr:`kinship.app.match_run.EncodedRun.linked`): for a family
        with relatives other than the parents the current power is that of the run's LR, each
        pair one joint super-locus (its H1 probabilities ``10^T * p(g1) p(g2)`` over the joint
        genotypes, exact); the next relatives' part treats every locus independently.

    Returns
    -------
    FamilyPower

    Raises
    ------
    ReuniteInputError
        ``parameters.theta > 0`` (see :mod:`kinship.likelihood.power`), an unknown relationship
        in ``relatives``, ``n_candidates < 0``, or no loci.
    """
    if parameters.theta > 0.0:
        raise ReuniteInputError(
            f"power of family {family.key}: theta = {parameters.theta:g}; the exact power is computed at theta = 0 "
            "only (with theta > 0 the true child's genotype distribution is not 10^LR x Hardy-Weinberg, see "
            "kinship.likelihood.power); fix: run power with --theta 0")
    unknown = [r for r in relatives if r not in RELATIONSHIPS]
    if unknown:
        raise ReuniteInputError(
            f"power of family {family.key}: relationship(s) {unknown} unknown; expected some of {', '.join(RELATIONSHIPS)}")
    if n_candidates < 0:
        raise ReuniteInputError(f"power of family {family.key}: n_candidates = {n_candidates}; expected >= 0")
    if not loci:
        raise ReuniteInputError(f"power of family {family.key}: no loci; expected the run's loci")
    loci = list(loci)
    start = time.perf_counter()
    ref_ids = list(family.references)
    ref_alleles = encode_profiles(profiles, ref_ids, table, loci)  # (n_loci, n_refs, 2)
    obs = [unrelated_rows(table[l].afreq, table[l].silent) for l in loci]
    sizes = [n_table_rows(table[l].afreq.shape[0]) for l in loci]
    kind = family.kind

    def current_power(pairs):
        tables = compile_families([family], ref_alleles, ref_ids, table, loci, model, linked=pairs)
        values, h1, h2, p_inc = [], [], [], []
        for u, (_, members) in enumerate(linked_units(loci, pairs)):
            rows, pr = unit_observations([obs[li] for li in members], [sizes[li] for li in members])
            v = tables.log10_lr[u][rows, 0]
            p1, _ = h1_probabilities(v, pr)
            values.append(v)
            h1.append(p1)
            h2.append(pr)
            # P(unit inconsistent | true child); a linked pair (only in families without both
            # parents, where the inconsistent-loci rule does not apply) counts as one unit
            p_inc.append(float((p1 * (tables.inconsistent[u][rows, 0] > 0)).sum()))
        return _result(values, h1, h2, p_inc, kind, parameters, n_candidates, "direct")

    pairs = tuple(linked) if not family.is_parentage and linkable(family.pedigree) else ()
    current, p_support, p_rule = current_power(pairs)
    # the next relatives are evaluated with every locus independent: their gain is measured
    # against the current family on the same footing
    baseline = current_power(())[1] if pairs else p_support
    seconds_current = time.perf_counter() - start

    start = time.perf_counter()
    out, skipped = [], {}
    for relationship in relatives:
        why = _applicable(family, relationship)
        if why:
            skipped[relationship] = why
            continue
        family_r = _with_relative(family, relationship, _NEXT_SAMPLE)
        ped_r, _ = _relative_pedigree(family_r)
        per_locus = [
            _relative_locus(family_r, ped_r, ref_alleles[li], ref_ids, table, locus, model, rows, pr)
            for li, (locus, (rows, pr)) in enumerate(zip(loci, obs))
        ]
        if any(x is None for x in per_locus):
            skipped[relationship] = "the references are impossible together at some locus under the mutation model"
            continue
        res, p_sup, _ = _result([x[0] for x in per_locus], [x[1] for x in per_locus], [x[2] for x in per_locus],
                                [x[3] for x in per_locus], family_r.kind, parameters, n_candidates, "fft")
        gain = (p_sup[0] - baseline[1], p_sup[1] - baseline[0])
        out.append(RelativePower(relationship, family_r.kind, res, p_sup, gain))
    order = {r: k for k, r in enumerate(RELATIONSHIPS)}
    out.sort(key=lambda r: (-(r.gain[0] + r.gain[1]) / 2.0, order[r.relationship]))
    seconds_next = time.perf_counter() - start
    return FamilyPower(
        family.key, kind, family_content_hash(family, profiles),
        power_parameters_hash(parameters, table, loci, n_candidates=n_candidates, relatives=relatives),
        current, p_support, p_rule, tuple(out), skipped, seconds_current, seconds_next,
    )


def store_family_power(store, family_key: str, parameters: MatchParameters | None = None, *,
                       use_cache: bool = True, relatives: Sequence[str] = NEXT_RELATIVES) -> tuple[FamilyPower, bool]:
    """Power of one stored family, from the store's cache when its hashes match, else computed and cached.

    The family, the run's effective table (the chosen table plus every stored allele it lacks),
    its loci and the number of candidates are those a match run with ``parameters`` would use
    (:func:`kinship.app.match_run.assemble_inputs`, :func:`~kinship.app.match_run.effective_frequencies`,
    :func:`~kinship.app.match_run.encode_run`).

    Parameters
    ----------
    store : kinship.store.Store
    family_key : str
        ``LAB/FAMILY``.
    parameters : MatchParameters, optional
        Default: the defaults.
    use_cache : bool
        Read the cache (the result is always written).
    relatives : sequence of str

    Returns
    -------
    (FamilyPower, bool)
        The result, and whether it came from the cache.

    Raises
    ------
    ReuniteInputError
        ``family_key`` not of the form ``LAB/FAMILY``, or no such family in the store (the message
        lists how many families the lab has); theta > 0.
    """
    parameters = MatchParameters.of(parameters)
    lab, sep, family_id = family_key.partition("/")
    if not sep or not lab or not family_id:
        raise ReuniteInputError(f"family {family_key!r}; expected LAB/FAMILY (e.g. BJ-PSB/F-0001)")
    inputs = assemble_inputs(store.load_genotypes(), store.load_family_members(), store.load_pedigrees(),
                             families=store.load_families())
    found = [f for f in inputs.families if f.lab == lab and f.family_id == family_id]
    if not found:
        n_lab = sum(f.lab == lab for f in inputs.families)
        raise ReuniteInputError(
            f"family {family_key} is not in the store (lab {lab} has {n_lab} families with profiles); "
            "fix: check the lab code and family id (scripts/flow batches list)")
    family = found[0]
    table, _ = effective_frequencies(inputs, load_frequency_table(parameters.table_id),
                                     floor=parameters.frequency_floor, silent_alleles=parameters.silent_alleles)
    run = encode_run(inputs, table, parameters.mutation_model, theta=parameters.theta, linkage=parameters.linkage)
    n_candidates = len(inputs.candidate_ids)
    content = family_content_hash(family, inputs.profiles)
    params_hash = power_parameters_hash(parameters, table, run.loci, n_candidates=n_candidates, relatives=relatives)
    if use_cache:
        cached = store.get_family_power(lab, family_id, content_hash=content, parameters_hash=params_hash)
        if cached is not None:
            return FamilyPower.from_dict(cached), True
    result = family_power(family, inputs.profiles, table, parameters.mutation_model, run.loci,
                          n_candidates=n_candidates, parameters=parameters, relatives=relatives, linked=run.linked)
    store.put_family_power(lab, family_id, result.as_dict(), content_hash=content, parameters_hash=params_hash,
                           code_version=kinship.code_version())
    return result, False
