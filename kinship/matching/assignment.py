"""Joint assignment: each child belongs to at most one family, each family has as many missing
children as it declares.

Judged pair by pair, one child can "support" two families and one family two children. The
joint view (dvir's joint identification: Vigeland & Egeland 2021, "Joint DNA-based disaster
victim identification", *Sci. Rep.* 11:13661) scores whole *assignments* instead: sets of
(candidate, family) pairs in which no candidate appears twice and no family more often than
its declared number of missing children.

The model
---------
Pairs that support parentage or are flagged form a bipartite graph; each connected group of it
(candidates and families joined through shared pairs) is solved on its own. Within a group, the
candidate-side model of :mod:`kinship.matching.posterior` gives each pair a weight and each
candidate a weight for "none of the group's families":

    w_cf = (1 - pi_0) / N  LR_cf,
    b_c  = pi_0 + (1 - pi_0) / N  (sum of c's LRs against families outside its group pairs),

(the second sum is the one :func:`~kinship.matching.posterior.database_posteriors` uses, less
the group's pairs, with the pairs not kept at their expectation). Candidates choose
independently under these weights, conditioned on the capacity constraint, so an assignment
``a`` has probability proportional to ``prod_{(c,f) in a} w_cf prod_{c unassigned} b_c`` and a
pair's joint posterior is the total probability of the assignments that contain it. Without
the constraint this is exactly the candidate-side posterior.

Exact and bound
---------------
Groups with at most ``max_assignments`` assignments (the default, 100,000, covers every group of
up to ~16 pairs) are enumerated exactly. Beyond, the joint posterior is replaced by the bound

    P(c -> f) <= w_cf / (w_cf + b_c),

which holds under any constraint: removing ``(c, f)`` from an assignment leaves a valid one with
``c`` unassigned, of probability ``b_c / w_cf`` times as large, so ``P(c unassigned) >=
P(c -> f) b_c / w_cf``, and the two add to at most 1. Such groups are marked not exact and are
always conflicts for review.

A group is a *conflict* when it asks more than it can give: a candidate with pairs to two or
more families, or a family with more pairs than its declared missing children.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["JointAssignment", "MAX_ASSIGNMENTS", "joint_assignment"]

#: Assignments enumerated per group before the bound replaces the exact posterior.
MAX_ASSIGNMENTS = 100_000

_LN10 = np.log(10.0)


@dataclass(frozen=True)
class JointAssignment:
    """Joint posteriors of the pairs given to :func:`joint_assignment`.

    Attributes
    ----------
    group : ndarray of int32, shape (n_pairs,)
        Connected group of each pair, numbered from 1 in the order of each group's first pair.
    posterior : ndarray of float64, shape (n_pairs,)
        Joint posterior (exact), or its upper bound where ``exact`` is false.
    exact : ndarray of bool, shape (n_pairs,)
    conflict : ndarray of bool, shape (n_pairs,)
    n_assignments : ndarray of int64, shape (n_groups,)
        Assignments enumerated per group (0 where the bound was used).
    """

    group: np.ndarray
    posterior: np.ndarray
    exact: np.ndarray
    conflict: np.ndarray
    n_assignments: np.ndarray


def _groups(cand: np.ndarray, fam: np.ndarray) -> np.ndarray:
    """Connected component of each pair in the bipartite candidate-family graph, numbered 1.. in
    the order of each component's first pair (union-find)."""
    n_c = int(cand.max()) + 1 if cand.size else 0
    parent = list(range(n_c + (int(fam.max()) + 1 if fam.size else 0)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c, f in zip(cand.tolist(), fam.tolist()):
        a, b = find(c), find(n_c + f)
        if a != b:
            parent[max(a, b)] = min(a, b)
    number: dict[int, int] = {}
    out = np.empty(cand.size, dtype=np.int32)
    for i, c in enumerate(cand.tolist()):
        out[i] = number.setdefault(find(c), len(number) + 1)
    return out


def _enumerate(edges: list[tuple[int, int, float]], base: dict[int, float], capacity: dict[int, int],
               limit: int) -> tuple[np.ndarray, int] | None:
    """log10 total weight with each edge, over every assignment; None past ``limit`` assignments.

    ``edges``: (candidate, family, log10 w); ``base``: candidate -> log10 b. Returns
    ``(log10 P(edge in assignment)) for each edge, n_assignments``.
    """
    by_cand: dict[int, list[int]] = {}
    for e, (c, _, _) in enumerate(edges):
        by_cand.setdefault(c, []).append(e)
    cands = sorted(by_cand)
    used = {f: 0 for f in capacity}
    chosen: list[int] = []
    log_weights: list[float] = []
    members: list[tuple[int, ...]] = []

    def walk(i: int, log_w: float) -> bool:
        if i == len(cands):
            if len(log_weights) >= limit:
                return False
            log_weights.append(log_w)
            members.append(tuple(chosen))
            return True
        c = cands[i]
        if not walk(i + 1, log_w + base[c]):
            return False
        for e in by_cand[c]:
            f = edges[e][1]
            if used[f] < capacity[f]:
                used[f] += 1
                chosen.append(e)
                ok = walk(i + 1, log_w + edges[e][2])
                chosen.pop()
                used[f] -= 1
                if not ok:
                    return False
        return True

    if not walk(0, 0.0):
        return None
    lw = np.asarray(log_weights) * _LN10
    total = np.logaddexp.reduce(lw)
    with_edge = np.full(len(edges), -np.inf)
    for w, m in zip(lw.tolist(), members):
        for e in m:
            with_edge[e] = np.logaddexp(with_edge[e], w)
    return (with_edge - total) / _LN10, len(log_weights)


def joint_assignment(
    candidate: np.ndarray,
    family: np.ndarray,
    log10_weight: np.ndarray,
    log10_none: np.ndarray,
    n_missing: np.ndarray,
    *,
    max_assignments: int = MAX_ASSIGNMENTS,
) -> JointAssignment:
    """Joint posterior of each pair under the one-to-one constraint, group by group.

    Parameters
    ----------
    candidate, family : ndarray of int, shape (n_pairs,)
        Indices of the pairs to assign jointly (supported and flagged pairs); each pair once.
    log10_weight : ndarray of float64, shape (n_pairs,)
        ``log10 w_cf``: the pair's prior-weighted LR (module docstring).
    log10_none : ndarray of float64, shape (n_candidates,)
        ``log10 b_c`` of each candidate index used: its weight for none of its group's families.
    n_missing : ndarray of int, shape (n_families,)
        Declared missing children of each family index used (>= 1).
    max_assignments : int
        Enumeration limit per group; past it the upper bound is given (``exact`` false).

    Returns
    -------
    JointAssignment

    Examples
    --------
    One candidate supported by two families with equal weight, ``b_c`` equal too: each family
    gets 1/3 (the third: neither); a conflict.

    >>> j = joint_assignment(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 1.0]),
    ...                      np.array([1.0]), np.array([1, 1]))
    >>> j.posterior.round(4).tolist(), j.conflict.tolist(), j.group.tolist()
    ([0.3333, 0.3333], [True, True], [1, 1])

    Two candidates for one family with one missing child: weights 10^2 and 10^1, ``b = 1``.
    Assignments {} (1), {c0} (100), {c1} (10): P(c0) = 100/111.

    >>> j = joint_assignment(np.array([0, 1]), np.array([0, 0]), np.array([2.0, 1.0]),
    ...                      np.array([0.0, 0.0]), np.array([1]))
    >>> j.posterior.round(4).tolist()
    [0.9009, 0.0901]
    """
    candidate = np.asarray(candidate, dtype=np.int64)
    family = np.asarray(family, dtype=np.int64)
    log10_weight = np.asarray(log10_weight, dtype=np.float64)
    group = _groups(candidate, family)
    posterior = np.zeros(candidate.size)
    exact = np.zeros(candidate.size, dtype=bool)
    conflict = np.zeros(candidate.size, dtype=bool)
    n_groups = int(group.max()) if group.size else 0
    n_assignments = np.zeros(n_groups, dtype=np.int64)
    for g in range(1, n_groups + 1):
        rows = np.flatnonzero(group == g)
        cs, fs = candidate[rows], family[rows]
        capacity = {int(f): int(n_missing[f]) for f in np.unique(fs)}
        over = (np.unique(cs).size < cs.size) or any(np.count_nonzero(fs == f) > m for f, m in capacity.items())
        edges = [(int(c), int(f), float(w)) for c, f, w in zip(cs, fs, log10_weight[rows])]
        base = {int(c): float(log10_none[c]) for c in np.unique(cs)}
        solved = _enumerate(edges, base, capacity, max_assignments)
        if solved is None:
            lw = log10_weight[rows] * _LN10
            lb = np.array([base[int(c)] for c in cs]) * _LN10
            posterior[rows] = np.exp(lw - np.logaddexp(lw, lb))
            conflict[rows] = True
        else:
            log10_p, n_assignments[g - 1] = solved
            posterior[rows] = 10.0 ** log10_p
            exact[rows] = True
            conflict[rows] = over
    return JointAssignment(group, posterior, exact, conflict, n_assignments)
