"""Exact pedigree likelihoods at one locus, and the missing child's genotype table of a family.

The model (Elston & Stewart 1971; Lange 2002, ch. 7; Egeland, Kling & Mostad 2016, ch. 2;
the same as pedprobr/forrel and Familias with untyped members kept):

* every member ``k`` has a paternal and a maternal allele, two variables over the locus's
  alleles (the run's effective table);
* a founder's alleles are drawn from the population: independently from ``p`` (HWE) when
  ``theta = 0``; with ``theta > 0`` all founder alleles of the pedigree are drawn *jointly* by
  Balding-Nichols sequential sampling (below);
* a non-founder's paternal allele is one of its father's two alleles, each with probability
  1/2, passed through the father's mutation matrix (male rate), its maternal allele likewise
  from the mother (female rate): ``P(c_pat = a | f_pat, f_mat) = (M_m[f_pat, a] + M_m[f_mat, a]) / 2``;
* a typed member's observation is an indicator on the ordered pairs it allows
  (:func:`kinship.likelihood.phenotypes.observed_pairs`): ``{x, y}`` for a complete genotype,
  ``{x, anything}`` for a partial genotype ``x/?``, and ``{x, x}`` or ``{x, silent}`` for an
  apparent homozygote when the run uses a silent allele (whose mutation rates to and from it
  are 0: :meth:`kinship.genetics.mutation.MutationModel.matrix`).

The likelihood of the typed genotypes sums the product of these factors over every untyped
allele variable. It is computed exactly by variable elimination (the allele-level
generalisation of Elston-Stewart peeling, valid for any pedigree, loops included): the
variables are summed out one at a time in a greedy smallest-intermediate order, each step one
``numpy.einsum``, with a leading batch axis over the families of one shape, so that all
families sharing a pedigree shape are computed together (vectorised over families). A
family's cost per locus is about ``n_alleles ** 3`` per untyped connecting member; families are
processed in chunks that bound the largest intermediate array.

theta (Balding & Nichols 1994; NRC II 1996, eq. 4.10). Founder alleles are drawn in sequence,
``P(next = a) = (b_a theta + (1 - theta) p_a) / (1 + (n - 1) theta)`` after ``n`` draws of
which ``b_a`` were ``a``. This urn is a mixture over the set partitions of the founder allele
slots into identity-by-descent classes: each new draw copies one of the ``n`` earlier draws,
chosen uniformly, with probability ``n theta / (1 + (n - 1) theta)``, else it is a fresh draw
from ``p``. A partition with blocks ``B_1 .. B_r`` of the ``N`` founder alleles has probability

    prod_b (1 - theta) theta^(|B_b| - 1) (|B_b| - 1)!  /  prod_{k=0}^{N-1} (1 + (k - 1) theta),

and, given the partition, each block carries one allele drawn from ``p``. So the theta
likelihood is the weighted sum, over all partitions, of HWE likelihoods in which the founder
allele variables of a block are merged into one: exact, with cost Bell(N) times the HWE
cost (N = 4: 15; 6: 203; 8: 4140 partitions; we refuse N > 10). ``theta = 0`` takes the HWE
path directly (only the all-singletons partition has weight, and it is 1).

The family table (:func:`pedigree_locus_tables`) is, for every genotype ``g`` of the missing
child,

    log10 LR(g) = log10 P(g, references | H1) - log10 P(g, references | H2),

H1 = the pedigree, H2 = the missing child an unrelated founder (its alleles drawn from the
same urn as the family's founders) and the references related to each other as in H1
(:func:`unrelated_pedigree`: the peers' convention; a reference related to no other reference
is a founder under H2). With ``theta = 0`` this is
``log10 P(g | references) - log10 P(g)`` with HWE ``P(g)``, the format of
:func:`kinship.likelihood.parentage.family_locus_tables` (which this equals for parent-only families).
With ``theta > 0`` the denominator ``P(g | references, H2)`` depends on the family's typed
alleles, so the table is still one table per family over ``g``: theta costs the matcher
nothing at scoring time, only at compilation (one more elimination per partition).
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache
from typing import Sequence

import numpy as np

from kinship.genetics.encoding import UNKNOWN, UNTYPED, check_allele_pairs
from kinship.errors import PedigreeError
from kinship.likelihood.pedigree import Pedigree
from kinship.likelihood.phenotypes import child_rows, joint_rows, observed_pairs

__all__ = [
    "MAX_THETA_FOUNDER_ALLELES",
    "transmission_tensor",
    "set_partitions",
    "partition_weight",
    "pedigree_likelihood",
    "missing_child_joint",
    "pedigree_locus_tables",
    "unrelated_pedigree",
]

#: Largest number of founder alleles theta > 0 is computed for (Bell(10) = 115975 partitions).
MAX_THETA_FOUNDER_ALLELES = 10
#: Bound on the elements of one intermediate array (chunking over families).
_CHUNK_ELEMENTS = 1 << 23
#: Most typed children of one couple computed by the sibship path (3^S products of vectors per
#: family); a larger sibship takes the general elimination.
MAX_SIBSHIP_CHILDREN = 4
_LETTERS = "abcdefghijklmnopqrstuvwxy"
_BATCH = "z"


def transmission_tensor(M: np.ndarray) -> np.ndarray:
    """``T[x, y, a] = (M[x, a] + M[y, a]) / 2``: a parent x/y transmits a, shape (n, n, n).

    Examples
    --------
    >>> transmission_tensor(np.eye(2))[0, 1].tolist()
    [0.5, 0.5]
    """
    return 0.5 * (M[:, None, :] + M[None, :, :])


def set_partitions(n: int):
    """All set partitions of ``range(n)`` as restricted growth strings (block label per item).

    Examples
    --------
    >>> [tuple(p) for p in set_partitions(3)]
    [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1), (0, 1, 2)]
    """
    if n == 0:
        yield ()
        return
    a = [0] * n

    def rec(k, m):
        if k == n:
            yield tuple(a)
            return
        for v in range(m + 2):
            a[k] = v
            yield from rec(k + 1, max(m, v))

    a[0] = 0
    yield from rec(1, 0)


def partition_weight(labels: Sequence[int], theta: float) -> float:
    """Balding-Nichols probability that founder alleles fall into the given IBD classes.

    Examples
    --------
    One founder: alleles IBD with probability theta (so ``P(a/a) = p_a (theta + (1-theta) p_a)``).

    >>> partition_weight((0, 0), 0.1), partition_weight((0, 1), 0.1)
    (0.1, 0.9)
    """
    n = len(labels)
    den = 1.0
    for k in range(n):
        den *= 1.0 + (k - 1) * theta
    num = 1.0
    for size in (np.bincount(np.asarray(labels, dtype=np.int64)).tolist() if n else []):
        num *= (1.0 - theta) * theta ** (size - 1) * math.factorial(size - 1)
    return float(num / den)


# --------------------------------------------------------------------------------------------
# variable elimination
# --------------------------------------------------------------------------------------------


def _plan(spec: tuple, keep: tuple[int, ...]):
    """Compile a variable-elimination program for factors ``spec`` keeping ``keep``.

    ``spec`` is a tuple of ``(vars, batched)``; a variable may repeat within a factor (merged
    founder alleles under theta: einsum takes the diagonal). The elimination order is greedy:
    always the variable whose elimination makes the smallest new factor. Each step multiplies
    two factors (smallest first) and sums out what no later factor or output needs.

    Returns
    -------
    steps : list of (tuple of int, str)
        Operand slots and einsum subscripts; step ``s`` writes slot ``len(spec) + s``.
    worst : int
        Largest number of variables of an intermediate factor.
    out_batched : bool
    """
    factors = [(tuple(dict.fromkeys(v)), b, k) for k, (v, b) in enumerate(spec)]
    raw = {k: (v, b) for k, (v, b) in enumerate(spec)}
    steps: list[tuple[tuple[int, ...], str]] = []
    worst = 0
    next_slot = len(spec)

    def emit(ops, out_vars):
        nonlocal next_slot, worst
        letters: dict[int, str] = {}
        subs = []
        for slot in ops:
            v, b = raw[slot]
            subs.append((_BATCH if b else "") + "".join(letters.setdefault(u, _LETTERS[len(letters)]) for u in v))
        batched = any(raw[slot][1] for slot in ops)
        out = (_BATCH if batched else "") + "".join(letters[u] for u in out_vars)
        steps.append((tuple(ops), ",".join(subs) + "->" + out))
        raw[next_slot] = (tuple(out_vars), batched)
        worst = max(worst, len(out_vars))
        next_slot += 1
        return next_slot - 1, batched

    def multiply(group, out_set):
        group = sorted(group, key=lambda f: (len(f[0]) + (8 if f[1] else 0), f[2]))
        acc = group[0]
        for k in range(1, len(group)):
            nxt = group[k]
            later = set(out_set).union(*(f[0] for f in group[k + 1 :]))
            vars_ = tuple(u for u in dict.fromkeys(acc[0] + nxt[0]) if u in later)
            slot, b = emit((acc[2], nxt[2]), vars_)
            acc = (vars_, b, slot)
        return acc

    remaining = sorted(set().union(*(f[0] for f in factors)) - set(keep)) if factors else []
    while remaining:
        best = None
        present = set().union(*(f[0] for f in factors))
        remaining = [v for v in remaining if v in present]
        if not remaining:
            break
        for v in remaining:
            touching = [f for f in factors if v in f[0]]
            new = set().union(*(f[0] for f in touching)) - {v}
            cost = (len(new), any(f[1] for f in touching), v)
            if best is None or cost < best[0]:
                best = (cost, v, touching, new)
        _, v, touching, new = best
        rest = [f for f in factors if v not in f[0]]
        need = new & (set(keep).union(*(f[0] for f in rest)) if rest else set(keep))
        if len(touching) == 1:
            slot, b = emit((touching[0][2],), tuple(u for u in touching[0][0] if u in need))
            acc = (raw[slot][0], b, slot)
        else:
            acc = multiply(touching, need | (new - {v}))
            if set(acc[0]) != need:
                slot, b = emit((acc[2],), tuple(u for u in acc[0] if u in need))
                acc = (raw[slot][0], b, slot)
        factors = rest + [acc]
        remaining.remove(v)
    if len(factors) > 1:
        acc = multiply(factors, set(keep))
    else:
        acc = factors[0]
    slot, b = emit((acc[2],), tuple(keep))
    return steps, worst, b


def _run(steps, arrays: list[np.ndarray]) -> np.ndarray:
    arrays = list(arrays)
    for ops, subs in steps:
        arrays.append(np.einsum(subs, *[arrays[k] for k in ops]))
    return arrays[-1]


def _prune(ped: Pedigree, typed_any: np.ndarray, output: int | None) -> list[int]:
    """Members that matter: typed (in some family of the batch) or the output, and their ancestors."""
    need = set(int(k) for k in np.flatnonzero(typed_any))
    if output is not None:
        need.add(output)
    stack = list(need)
    while stack:
        k = stack.pop()
        for p in (ped.father[k], ped.mother[k]):
            if p >= 0 and p not in need:
                need.add(p)
                stack.append(p)
    return sorted(need)


@lru_cache(maxsize=4096)
def _cached_plan(spec: tuple, keep: tuple[int, ...]):
    return _plan(spec, keep)


def _sibship(ped: Pedigree, members: list[int], output: int | None) -> tuple[int, int, list[int]] | None:
    """``(father, mother, children)`` when the members that matter are two founders and children
    of both (the output among them), else None: the shape :func:`_sibship_joint` computes."""
    founders = [k for k in members if ped.father[k] < 0]
    if len(founders) != 2:
        return None
    children = [k for k in members if ped.father[k] >= 0]
    if not children:
        return None
    f, m = ped.father[children[0]], ped.mother[children[0]]
    if {f, m} != set(founders) or any((ped.father[k], ped.mother[k]) != (f, m) for k in children):
        return None
    return f, m, children


def _pair_terms(g: np.ndarray, T: np.ndarray, U: np.ndarray, silent: int | None):
    """An observation's indicator over ordered (paternal, maternal) alleles as a sum of at most
    three outer products, pushed through the parents' transmissions.

    ``E[x, y] = sum_t a_t[x] b_t[y]`` with 0/1 vectors ``a_t``, ``b_t`` (one allele, every
    allele, or every allele but one), so that the child factor
    ``sum_{x,y} E[x, y] T[F, x] U[Mo, y] = sum_t (T a_t)[F] (U b_t)[Mo]`` costs ``n^2`` per term
    instead of ``n^4``. Complete ``x/y``: ``(x, y) + (y, x)`` (one term when ``x = y``, three
    with a silent allele: ``x/x``, ``x/silent``, ``silent/x``); partial ``x/?``: ``(x, every) +
    (every but x, x)``; untyped: the factor 1 (one term of ones, exactly). Every term is a sum of non-negative numbers,
    so an impossible observation gives exactly 0, as in the general elimination.

    Returns
    -------
    left, right : ndarray of float64, shape (3, B, n^2)
        ``T a_t`` and ``U b_t`` per term (zero for unused terms).
    """
    B = g.shape[0]
    n2 = T.shape[0]
    every_t, every_u = T.sum(axis=1), U.sum(axis=1)
    left, right = np.zeros((3, B, n2)), np.zeros((3, B, n2))
    typed = g[:, 0] != UNTYPED
    partial = typed & (g[:, 1] == UNKNOWN)
    full = typed & ~partial
    rows = np.flatnonzero(~typed)  # an untyped child: factor 1 (the transmissions are stochastic)
    left[0, rows], right[0, rows] = 1.0, 1.0
    rows = np.flatnonzero(full)
    x, y = g[rows, 0], g[rows, 1]
    left[0, rows], right[0, rows] = T[:, x].T, U[:, y].T
    het = rows[x != y]
    left[1, het], right[1, het] = T[:, g[het, 1]].T, U[:, g[het, 0]].T
    if silent is not None:
        hom = rows[(x == y) & (x != silent)]
        a = g[hom, 0]
        left[1, hom], right[1, hom] = T[:, a].T, U[:, [silent] * a.size].T
        left[2, hom], right[2, hom] = T[:, [silent] * a.size].T, U[:, a].T
    rows = np.flatnonzero(partial)
    x = g[rows, 0]
    left[0, rows], right[0, rows] = T[:, x].T, every_u
    left[1, rows], right[1, rows] = np.maximum(every_t[None, :] - T[:, x].T, 0.0), U[:, x].T
    return left, right


def _from_parent(M: np.ndarray, source: int | None) -> np.ndarray:
    """``P(child allele = a | parent's ordered alleles (x1, x2))`` as ``(n^2, n)``: through the
    mutation matrix ``M`` from either allele with probability 1/2 (``source`` None), or from
    the given one (0: ``x1``, 1: ``x2``; an inheritance vector, :func:`_joint`'s ``fixed``)."""
    n = M.shape[0]
    if source is None:
        return (0.5 * (M[:, None, :] + M[None, :, :])).reshape(n * n, n)
    return np.broadcast_to(M[:, None, :] if source == 0 else M[None, :, :], (n, n, n)).reshape(n * n, n)


def _push(u: np.ndarray, M: np.ndarray, source: int | None) -> np.ndarray:
    """``u @ _from_parent(M, source)`` for ``u`` of shape (B, n^2), in ``O(B n^2)`` (the
    transmission only looks at one allele at a time)."""
    n = M.shape[0]
    u = u.reshape(u.shape[0], n, n)

    def times_m(w):  # w @ M row by row, in an order that does not depend on the batch (not BLAS)
        return (w[:, :, None] * M[None, :, :]).sum(axis=1)

    if source is None:
        return 0.5 * (times_m(u.sum(axis=2)) + times_m(u.sum(axis=1)))
    return times_m(u.sum(axis=2) if source == 0 else u.sum(axis=1))


def _sibship_joint(ped, genotypes, afreq, M_male, M_female, output, silent, father, mother, children, fixed=None):
    """:func:`_joint` for a couple and their children (:func:`_sibship`), theta = 0.

    Given the father's ordered genotype ``F`` and the mother's ``Mo`` (``n^2`` each), the
    children are independent (Elston & Stewart 1971), so

        P(typed, child = (c, d)) = sum_{F, Mo} P(F) P(Mo) prod_s A_s[F, Mo] T_o[F, c] U_o[Mo, d],

    with ``A_s[F, Mo] = sum_{x,y} E_s[x, y] T_s[F, x] U_s[Mo, y]`` the factor of typed child
    ``s`` (``E_s`` its observation, :func:`kinship.likelihood.phenotypes.observed_pairs`) and
    ``T_s``, ``U_s`` its transmissions from the father and the mother (:func:`_from_parent`: either
    allele with probability 1/2, or the allele an inheritance vector ``fixed`` names; ``o`` is
    the missing child). Each ``A_s`` is a sum of at most three outer products
    (:func:`_pair_terms`); expanding the product over the ``S`` typed children gives ``3^S``
    terms, each an outer product of a father vector and a mother vector, so the joint costs
    about ``3^S n^2`` per family instead of the general elimination's ``n^5`` (the same sum in
    another order; equal to rounding).
    """
    n = afreq.shape[0]
    B = genotypes.shape[0]

    def sources(k):
        if fixed is None:
            return None, None
        return fixed[2 * k] - 2 * father, fixed[2 * k + 1] - 2 * mother

    hwe = np.outer(afreq, afreq).ravel()
    prior_f = np.broadcast_to(hwe, (B, n * n)) * observed_pairs(genotypes[:, father], n, silent).reshape(B, n * n)
    prior_m = np.broadcast_to(hwe, (B, n * n)) * observed_pairs(genotypes[:, mother], n, silent).reshape(B, n * n)
    typed = [k for k in children if k != output and (genotypes[:, k, 0] != UNTYPED).any()]
    terms = []
    for k in typed:
        sf, sm = sources(k)
        terms.append(_pair_terms(genotypes[:, k], _from_parent(M_male, sf), _from_parent(M_female, sm), silent))
    out_f, out_m = sources(output) if output is not None else (None, None)
    total = np.zeros((B, n, n)) if output is not None else np.zeros(B)
    for combo in itertools.product(range(3), repeat=len(typed)):
        u, v = prior_f, prior_m
        for (left, right), t in zip(terms, combo):
            u, v = u * left[t], v * right[t]
        if not (u.any() and v.any()):
            continue
        if output is None:
            total += u.sum(axis=1) * v.sum(axis=1)
        else:
            total += _push(u, M_male, out_f)[:, :, None] * _push(v, M_female, out_m)[:, None, :]
    return total


def _joint(
    ped: Pedigree,
    genotypes: np.ndarray,
    afreq: np.ndarray,
    T_male: np.ndarray,
    T_female: np.ndarray,
    theta: float,
    output: int | None,
    silent: int | None = None,
    fixed: dict[int, int] | None = None,
) -> np.ndarray:
    """P(typed genotypes[, output's ordered alleles]) for a batch: shape (B,) or (B, n, n).

    ``fixed`` conditions on an inheritance vector (Lander & Green 1987; used by
    :mod:`kinship.likelihood.linkage`): it maps every non-founder allele slot (``2k`` paternal,
    ``2k + 1`` maternal) to the parent slot it is a copy of (``2f`` or ``2f + 1`` of the
    father for ``2k``, of the mother for ``2k + 1``). The transmission factor of slot ``2k``
    is then the 2-way ``M[x_source, a]`` instead of ``(M[x_2f, a] + M[x_2f+1, a]) / 2``, and
    ``T_male``, ``T_female`` are the 2-D mutation matrices ``M_male``, ``M_female``.
    """
    n = afreq.shape[0]
    B = genotypes.shape[0]
    typed_any = (genotypes[:, :, 0] != UNTYPED).any(axis=0)
    if output is not None:
        typed_any[output] = False
    members = _prune(ped, typed_any, output)
    founders = [k for k in members if ped.father[k] < 0]
    slots = [v for k in founders for v in (2 * k, 2 * k + 1)]
    if theta > 0.0 and len(slots) > MAX_THETA_FOUNDER_ALLELES:
        raise PedigreeError(
            f"theta > 0 over {len(slots)} founder alleles needs Bell({len(slots)}) partitions; at most "
            f"{MAX_THETA_FOUNDER_ALLELES} founder alleles are supported: use theta = 0 or a smaller pedigree"
        )
    typed_members = [k for k in members if typed_any[k]]

    def structure(labels):
        rep = {s: slots[labels.index(lab)] for s, lab in zip(slots, labels)}
        r = lambda v: rep.get(v, v)  # noqa: E731
        spec = [((block,), False) for block in sorted(set(rep.values()))]
        source: list[object] = [afreq] * len(spec)
        for k in members:
            f, m = ped.father[k], ped.mother[k]
            if f >= 0 and fixed is not None:
                spec.append(((r(fixed[2 * k]), 2 * k), False))
                source.append(T_male)
                spec.append(((r(fixed[2 * k + 1]), 2 * k + 1), False))
                source.append(T_female)
            elif f >= 0:
                spec.append(((r(2 * f), r(2 * f + 1), 2 * k), False))
                source.append(T_male)
                spec.append(((r(2 * m), r(2 * m + 1), 2 * k + 1), False))
                source.append(T_female)
        for k in typed_members:
            spec.append(((r(2 * k), r(2 * k + 1)), True))
            source.append(k)
        keep = tuple(dict.fromkeys((r(2 * output), r(2 * output + 1)))) if output is not None else ()
        return spec, source, keep

    if not members:  # nothing typed and no output: probability 1
        return np.ones(B)
    sibship = _sibship(ped, members, output) if theta == 0.0 else None
    if sibship is not None and sum(typed_any[k] for k in sibship[2]) <= MAX_SIBSHIP_CHILDREN:
        # the mutation matrices: T[x, x, a] = M[x, a] (with ``fixed`` they are given as such)
        idx = np.arange(n)
        M_male, M_female = (T_male, T_female) if fixed is not None else (T_male[idx, idx], T_female[idx, idx])
        # about 6 vectors of n^2 per typed child and family: chunk to bound the memory
        step = max(1, _CHUNK_ELEMENTS // (n * n * (6 * len(sibship[2]) + 4)))
        return np.concatenate([
            _sibship_joint(ped, genotypes[lo:lo + step], afreq, M_male, M_female, output, silent, *sibship,
                           fixed=fixed)
            for lo in range(0, B, step)], axis=0)
    singletons = tuple(range(len(slots)))
    spec0, _, keep0 = structure(singletons)
    _, worst, _ = _cached_plan(tuple(spec0), keep0)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n ** max(worst, len(keep0))))
    partitions = list(set_partitions(len(slots))) if theta > 0.0 else [singletons]
    weights = [partition_weight(lab, theta) if theta > 0.0 else 1.0 for lab in partitions]
    parts = []
    for lo in range(0, B, chunk):
        g = genotypes[lo : lo + chunk]
        nb = g.shape[0]
        evidence = {k: observed_pairs(g[:, k], n, silent) for k in typed_members}
        if theta > 0.0:
            # allele sets of typed founders: a partition that puts incompatible typed founder
            # alleles in one IBD class contributes exactly 0 and is skipped
            has = {}
            # (a partial genotype allows every allele, a homozygote with a silent allele also
            # the silent allele)
            for k in founders:
                h = np.ones((nb, n), dtype=bool)
                t = (g[:, k, 0] != UNTYPED) & (g[:, k, 1] != UNKNOWN)
                if typed_any[k] and t.any():
                    h[t] = False
                    rows = np.flatnonzero(t)
                    h[rows, g[rows, k, 0]] = True
                    h[rows, g[rows, k, 1]] = True
                    if silent is not None:
                        hom = rows[g[rows, k, 0] == g[rows, k, 1]]
                        h[hom, silent] = True
                has[k] = (h, (g[:, k, 0] == g[:, k, 1]) | ~t)
        total = None
        for labels, weight in zip(partitions, weights):
            if weight == 0.0:
                continue
            if theta > 0.0 and len(set(labels)) < len(labels):
                ok = np.ones(nb, dtype=bool)
                for lab in set(labels):
                    in_block = [slots[i] // 2 for i, x in enumerate(labels) if x == lab]
                    if len(in_block) < 2:
                        continue
                    common = np.ones((nb, n), dtype=bool)
                    for k in set(in_block):
                        common &= has[k][0]
                        if in_block.count(k) == 2:
                            ok &= has[k][1]
                    ok &= common.any(axis=1)
                if not ok.any():
                    continue
            spec, source, keep = structure(labels)
            steps, _, batched = _cached_plan(tuple(spec), keep)
            res = _run(steps, [evidence[a] if isinstance(a, int) else a for a in source])
            if not batched:
                res = np.broadcast_to(res, (nb,) + res.shape)
            if output is not None and len(keep) == 1:  # both alleles of the child in one IBD class
                diag = np.zeros((nb, n, n))
                idx = np.arange(n)
                diag[:, idx, idx] = res
                res = diag
            res = weight * res
            total = res if total is None else total + res
        parts.append(total)
    return np.concatenate(parts, axis=0)


def _checked(ped: Pedigree, genotypes, n_alleles: int) -> np.ndarray:
    g = np.asarray(genotypes)
    if g.ndim != 3 or g.shape[1:] != (ped.n_members, 2):
        raise PedigreeError(f"genotypes of shape {g.shape}; expected (n_families, {ped.n_members}, 2)")
    return check_allele_pairs(g, n_alleles)


def pedigree_likelihood(
    ped: Pedigree,
    genotypes: np.ndarray,
    afreq: np.ndarray,
    M_male: np.ndarray,
    M_female: np.ndarray,
    *,
    theta: float = 0.0,
    silent: int | None = None,
) -> np.ndarray:
    """Probability of the typed genotypes of a batch of families with pedigree ``ped``.

    Parameters
    ----------
    ped : Pedigree
        Its ``sample_ids`` are ignored; who is typed is read from ``genotypes``.
    genotypes : ndarray of int, shape (n_families, n_members, 2)
        Allele-index pairs of each member (``schemas/genotype_encoding.v2.json``): complete,
        partial ``(i, -2)`` (``i/?``: the sum over the unknown allele), ``(-1, -1)`` where
        untyped.
    afreq : ndarray of float64, shape (n_alleles,)
    M_male, M_female : ndarray of float64, shape (n_alleles, n_alleles)
        Mutation matrices of transmissions from fathers and from mothers.
    theta : float
        Balding-Nichols coancestry coefficient, ``0 <= theta < 1``.
    silent : int, optional
        Index of the locus's silent allele, if the run uses one: an apparent homozygote
        ``a/a`` is then ``a/a`` or ``a/silent``.

    Returns
    -------
    ndarray of float64, shape (n_families,)

    Raises
    ------
    PedigreeError
        ``genotypes`` of the wrong shape.
    ReuniteInputError
        Invalid allele-index pairs (a pair with one ``-1``: write a partial genotype as
        ``(i, -2)``).

    Examples
    --------
    One founder typed a/b: 2 p_a p_b; typed b/? (a lone person, frequencies 0.8 and 0.2):
    ``2 p_b - p_b^2 = 0.36``.

    >>> from kinship.likelihood.pedigree import pedigree_from_table
    >>> ped = pedigree_from_table([{"id": "x", "sex": "male", "is_missing": True}])
    >>> p = np.array([0.2, 0.8]); I = np.eye(2)
    >>> round(float(pedigree_likelihood(ped, np.array([[[0, 1]]]), p, I, I)[0]), 12)
    0.32
    >>> p = np.array([0.8, 0.2])
    >>> round(float(pedigree_likelihood(ped, np.array([[[1, -2]]]), p, I, I)[0]), 12)
    0.36
    """
    g = _checked(ped, genotypes, afreq.shape[0])
    return _joint(ped, g, afreq, transmission_tensor(M_male), transmission_tensor(M_female), theta, None, silent)


def _child_joint(ped, genotypes, afreq, M_male, M_female, theta, silent) -> np.ndarray:
    """Ordered joint ``P(missing child's alleles = (pat, mat), typed genotypes)``, (B, n, n)."""
    return _joint(ped, genotypes, afreq, transmission_tensor(M_male), transmission_tensor(M_female), theta, ped.missing, silent)


def missing_child_joint(
    ped: Pedigree,
    genotypes: np.ndarray,
    afreq: np.ndarray,
    M_male: np.ndarray,
    M_female: np.ndarray,
    *,
    theta: float = 0.0,
    silent: int | None = None,
) -> np.ndarray:
    """``P(missing child observed as g, typed genotypes)`` for every observation ``g``.

    Parameters
    ----------
    As :func:`pedigree_likelihood`; ``ped.missing`` is the child.

    Returns
    -------
    ndarray of float64, shape (n_families, n_genotypes + n_alleles)
        Table order (``schemas/genotype_encoding.v2.json``): complete genotypes, then the
        partial genotypes ``i/?`` (:func:`kinship.likelihood.phenotypes.joint_rows`). Without a
        silent allele, the sum over the complete genotypes is the probability of the typed
        genotypes alone.
    """
    g = _checked(ped, genotypes, afreq.shape[0])
    return joint_rows(_child_joint(ped, g, afreq, M_male, M_female, theta, silent), silent)


def unrelated_pedigree(ped: Pedigree) -> Pedigree:
    """The H2 pedigree of a family: the missing child unrelated, references kept as related
    to each other as they are, and a reference related to no other reference made a founder.

    This is the peers' convention (forrel ``kinshipLR`` and Familias as used for the oracle:
    H2 holds the typed references with only the relationships among themselves, and the
    candidate). Untyped ancestors that connect a single typed reference to nobody else but the
    missing child are dropped, so such a reference's genotype has HWE probability under H2. With
    a stationary mutation model (none, proportional) this changes nothing; with a
    non-stationary one (equal with unequal frequencies, stepwise) the references' marginal
    then differs slightly between H1 (``p M`` through the untyped ancestors) and H2 (``p``), so
    E[LR | H2] = P(references | H1) / P(references | H2), within a few mutation rates of 1.

    Examples
    --------
    >>> from kinship.likelihood.pedigree import pedigree_from_relationships
    >>> h2 = unrelated_pedigree(pedigree_from_relationships([("S", "full_sibling")]))
    >>> h2.founders == tuple(range(h2.n_members))   # the lone sibling is a founder
    True
    >>> h2 = unrelated_pedigree(pedigree_from_relationships([("S1", "full_sibling"), ("S2", "full_sibling")]))
    >>> [h2.ids[k] for k in h2.founders]             # two siblings keep their shared parents
    ['missing', 'father', 'mother']
    """
    father = list(ped.father)
    mother = list(ped.mother)
    father[ped.missing] = mother[ped.missing] = -1
    typed = set(ped.typed_members)

    def ancestors(k: int) -> set[int]:
        out, stack = set(), [k]
        while stack:
            j = stack.pop()
            for p in (father[j], mother[j]):
                if p >= 0 and p not in out:
                    out.add(p)
                    stack.append(p)
        return out

    changed = True
    while changed:
        changed = False
        for k in sorted(typed):
            anc = ancestors(k)
            if not anc or anc & typed:
                continue
            if any(ancestors(j) & anc for j in typed if j != k):
                continue
            father[k] = mother[k] = -1
            changed = True
    return Pedigree(ped.ids, tuple(father), tuple(mother), ped.sex, ped.sample_ids, ped.missing)


def pedigree_locus_tables(
    ped: Pedigree,
    genotypes: np.ndarray,
    afreq: np.ndarray,
    M_male: np.ndarray,
    M_female: np.ndarray,
    *,
    theta: float = 0.0,
    silent: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log10 LR and inconsistency tables of the missing child of families of one pedigree shape.

    Parameters
    ----------
    ped : Pedigree
        With ``ped.missing`` set; its typed members are the references.
    genotypes : ndarray of int, shape (n_families, n_members, 2)
        Allele-index pairs of every member in each family (``schemas/genotype_encoding.v2.json``:
        partial ``(i, -2)`` allowed; ``(-1, -1)`` for untyped members and for references untyped
        at this locus).
    afreq : ndarray of float64, shape (n_alleles,)
        The run's effective table at this locus (which holds every allele any stored profile
        carries, so every candidate genotype has a row).
    M_male, M_female : ndarray of float64, shape (n_alleles, n_alleles)
    theta : float
    silent : int, optional
        Index of the locus's silent allele, if the run uses one.

    Returns
    -------
    log10_lr : ndarray of float64, shape (n_table_rows, n_families)
        ``log10 P(g, refs | H1) - log10 P(g, refs | H2)`` for every observation ``g`` of the
        candidate in table order (complete genotypes, partial ``i/?``, then the untyped row, 0);
        ``-inf`` where ``g`` is impossible (only without mutation). A family whose references
        are impossible together under the model (0/0) gets an all-zero column and
        ``informative = False``: flagged, never coerced into a number.
    inconsistent : ndarray of int8, shape (n_table_rows, n_families)
        1 where ``g`` is impossible without mutation given the typed relatives (and those are
        consistent with each other without mutation); last row 0.
    informative : ndarray of bool, shape (n_families,)
        False where the references at this locus are impossible together under the model.

    Examples
    --------
    Full sibling typed a/a, candidate a/a: LR = (1 + p_a)^2 / (4 p_a^2) (Weir et al. 2006).

    >>> from kinship.likelihood.pedigree import pedigree_from_relationships
    >>> ped = pedigree_from_relationships([("S", "full_sibling")])
    >>> g = np.full((1, ped.n_members, 2), -1); g[0, ped.index("full_sibling_1")] = 0
    >>> p = np.array([0.2, 0.8]); I = np.eye(2)
    >>> T, inc, ok = pedigree_locus_tables(ped, g, p, I, I)
    >>> round(float(10 ** T[0, 0]), 12), round((1 + .2) ** 2 / (4 * .2 ** 2), 12)
    (9.0, 9.0)
    """
    if ped.missing < 0:
        raise PedigreeError("pedigree has no missing child; mark one member is_missing")
    n = afreq.shape[0]
    genotypes = _checked(ped, genotypes, n).copy()
    genotypes[:, ped.missing] = UNTYPED
    B = genotypes.shape[0]
    J1 = _child_joint(ped, genotypes, afreq, M_male, M_female, theta, silent)
    p1 = joint_rows(J1, silent)
    p_refs = J1.sum(axis=(1, 2))
    h2 = unrelated_pedigree(ped)
    if theta > 0.0:
        J2 = _child_joint(h2, genotypes, afreq, M_male, M_female, theta, silent)
        p2 = joint_rows(J2, silent)
        p_refs_h2 = J2.sum(axis=(1, 2))
    else:
        if h2.father == ped.with_founder(ped.missing).father:
            p_refs_h2 = p_refs
        else:
            p_refs_h2 = pedigree_likelihood(h2, genotypes, afreq, M_male, M_female, silent=silent)
        hwe = child_rows(afreq[None, :], afreq[None, :], silent)[:, 0]
        p2 = p_refs_h2[:, None] * hwe[None, :]
    informative = (p_refs > 0.0) & (p_refs_h2 > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log10_lr = np.log10(p1) - np.log10(p2)
    log10_lr[~informative] = 0.0

    eye = np.eye(n)
    if np.array_equal(M_male, eye) and np.array_equal(M_female, eye) and theta == 0.0:
        plain, plain_ok = p1, p_refs > 0.0
    else:
        J0 = _child_joint(ped, genotypes, afreq, eye, eye, 0.0, silent)
        plain, plain_ok = joint_rows(J0, silent), J0.sum(axis=(1, 2)) > 0.0
    inconsistent = ((plain == 0.0) & plain_ok[:, None]).astype(np.int8)

    log10_lr = np.vstack([log10_lr.T, np.zeros((1, B))])
    inconsistent = np.vstack([inconsistent.T, np.zeros((1, B), dtype=np.int8)])
    return np.ascontiguousarray(log10_lr), np.ascontiguousarray(inconsistent), informative
