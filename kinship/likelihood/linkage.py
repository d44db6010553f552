"""Exact two-locus likelihoods of a family for two linked loci (the missing child's joint table).

Two STR loci on one chromosome (vWA and D12S391, about 12 cM apart on chromosome 12; D5S818
and CSF1PO on chromosome 5: :func:`kinship.genetics.linkage.linked_pairs`) are not inherited
independently: a parent who transmits its paternal allele at one locus transmits its paternal
allele at the other too unless a crossover falls between them, which happens with the
recombination fraction ``r`` (``0 <= r <= 1/2``). Multiplying the two single-locus LRs is then
wrong for relationships in which the same meioses pass both loci to a reference and to the
missing child (siblings, half siblings, avuncular, grandparent-grandchild).

Model (Lander & Green 1987; Lange 2002, *Mathematical and Statistical Methods for Genetic
Analysis*, ch. 7-9; the model of KLINK and pedprobr's ``likelihoodLinked``, Vigeland 2021,
*Pedigree Analysis in R*):

* the inheritance vector ``v`` of a locus has one bit per meiosis of the (pruned) pedigree:
  which of its two alleles (paternal or maternal) the parent transmits;
* the two loci are independent given their inheritance vectors ``v1`` and ``v2``;
* ``P(v1) = 2^-m`` (Mendel, ``m`` meioses), and, with no interference between two loci,
  ``P(v2 | v1) = prod_meioses r^[bits differ] (1 - r)^[bits equal]``;
* given ``v``, the single-locus model of :mod:`kinship.likelihood.peeling` holds with each
  transmission ``(M[x, a] + M[y, a]) / 2`` replaced by the copy ``M[x_source, a]`` of the
  chosen parental allele (mutation per locus, independent between the loci given ``v``);
  founder alleles are drawn from the population independently at the two loci (linkage
  equilibrium), with theta by the same Balding-Nichols partitions within each locus.

So, with ``J_l[v](b, x, y) = P(references at locus l, child alleles (x, y) | v)`` computed
per ``v`` by the allele-level variable elimination of :mod:`kinship.likelihood.peeling`, and
``L_l`` the linear map from an ordered joint to the rows of observations
(:func:`kinship.likelihood.phenotypes.joint_rows`, plus the untyped row, the total),

    P(obs1, obs2, refs) = sum_{v1, v2} P(v1) P(v2 | v1) (L1 J1[v1])(obs1) (L2 J2[v2])(obs2).

The sum over ``v2`` is done by applying the 2x2 kernel ``[[1 - r, r], [r, 1 - r]]`` along
each meiosis axis (the transition matrix is their Kronecker product), and the sum over ``v1``
is a matrix product per family, ``(R1 x V) (V x R2)``. H1 is the pedigree, H2 its
:func:`kinship.likelihood.peeling.unrelated_pedigree` (the child an unrelated founder, the
references related among themselves and so still linked among themselves); the table is
``log10 P(obs1, obs2, refs | H1) - log10 P(obs1, obs2, refs | H2)`` where the candidate is
typed at both loci. Where it is untyped at one, that locus is left out with its references,
as the untyped row of :func:`kinship.likelihood.peeling.pedigree_locus_tables` leaves a locus
out: the row is the single-locus LR of the other locus (the exact two-locus value would differ
slightly when several references are typed, their genotypes at the untyped locus telling about
the inheritance at the typed one); so at ``r = 1/2`` the table is exactly ``T1 + T2``.

Parent-child relationships. Linkage does not change the LR of a family whose references are
only the child's parents (trio, duo): the child's allele at each locus comes from one of the
parent's two alleles, and which one is the parent's phase; with untyped grandparents the
parent's two alleles at each locus are exchangeable founder draws (linkage equilibrium), so
summing over the parent's bit at the second locus given the bit at the first gives the same
as summing independently: the joint equals the product for every ``r``.

Complexity. ``m`` meioses of the pruned pedigree (two per non-founder, the child included),
``V = 2^m`` inheritance vectors. A founder's two alleles are exchangeable, so flipping all the
bits of one founder's meioses changes nothing (the founder-phase symmetry; Lange 2002, ch. 9):
per locus only the canonical vectors of the meioses that matter there are peeled
(``2^{m_l - F}`` single-locus eliminations, F founder parents, each with 2-way transmission
factors: cheaper than the single-locus peeling), then per family ``V R m`` for the transition
on the side with fewer rows and ``2^{m - F} R1 R2`` for the matrix product (``R_l`` table rows).
Memory: the result, ``R1 R2`` float64 per family (vWA x D12S391 at 12 x 25 alleles: 31,941
rows, 256 kB per family); families are chunked so that one chunk's arrays stay near 2^24
elements. The cost per family is about ``2^{m - F}`` eliminations per locus and hypothesis.
Measured at 12 x 25 alleles (vWA x D12S391), with mutation, on one shared core: 1,000 families
of two typed full siblings (untyped parents, ``m = 6``) 5.2 s; 1,000 paternal half siblings
2.3 s; 1,000 mother + paternal grandfather 1.2 s; 100 families with an aunt/uncle on each
side (``m = 10``) 4.2 s; five typed siblings (``m = 12``) about 1.5 s per family.

The cap: ``m <= MAX_MEIOSES = 12`` (4096 vectors); beyond, :class:`PedigreeError`. The
templated families fit: ``n`` full siblings with untyped parents have ``2 (n + 1)`` meioses
(up to five siblings), a half sibling adds 2, grandparents 2 per side (the parent between),
an aunt or uncle 2 (the tests check five siblings; both half siblings with the father; both
sides' grandparents, an aunt and the mother; aunts/uncles on both sides).

Assumptions: linkage equilibrium in the population (haplotype frequencies are products of
allele frequencies), no interference (only two loci), the same ``r`` in both sexes (the map
is sex-averaged), mutation at each locus independent of the other given ``v``, and, with
theta, independent identity-by-descent partitions of the founder alleles at the two loci.
"""

from __future__ import annotations

import numpy as np

from kinship.errors import PedigreeError
from kinship.genetics.encoding import UNTYPED, n_table_rows
from kinship.likelihood.pedigree import Pedigree
from kinship.likelihood.peeling import _checked, _joint, _prune, unrelated_pedigree
from kinship.likelihood.phenotypes import joint_rows

__all__ = ["MAX_MEIOSES", "meioses", "linkable", "linked_locus_tables"]

#: Largest number of meioses (2 per non-founder of the pruned pedigree) of a linked computation.
MAX_MEIOSES = 12
#: Bound on the elements of the per-chunk arrays (chunking over families).
_CHUNK_ELEMENTS = 1 << 24


def linkable(ped: Pedigree) -> bool:
    """Whether every meiosis of ``ped`` (two per non-founder, the missing child included) fits
    :data:`MAX_MEIOSES`, whatever its members are typed at: then :func:`linked_locus_tables`
    never refuses a family of this shape. A match run scores the linked pairs jointly only for
    such families and keeps independent loci for larger pedigrees (stated in its provenance).

    Examples
    --------
    >>> from kinship.likelihood.pedigree import pedigree_from_relationships
    >>> sibs = lambda n: pedigree_from_relationships([(f"S{i}", "full_sibling") for i in range(n)])
    >>> linkable(sibs(5)), linkable(sibs(6))
    (True, False)
    """
    return 2 * sum(1 for k in range(ped.n_members) if ped.father[k] >= 0) <= MAX_MEIOSES


def meioses(ped: Pedigree, members) -> list[tuple[int, int]]:
    """The meioses of the non-founders among ``members``: ``(child slot, parent member)``.

    Child slot ``2k`` (paternal allele of member ``k``) comes from the father, ``2k + 1`` from
    the mother; in member order.

    Examples
    --------
    >>> from kinship.likelihood.pedigree import pedigree_from_relationships
    >>> ped = pedigree_from_relationships([("S", "full_sibling")])
    >>> meioses(ped, range(ped.n_members))
    [(0, 1), (1, 2), (6, 1), (7, 2)]
    """
    out = []
    for k in sorted(members):
        if ped.father[k] >= 0:
            out.append((2 * k, ped.father[k]))
            out.append((2 * k + 1, ped.mother[k]))
    return out


def _observation_rows(J: np.ndarray, silent: int | None) -> np.ndarray:
    """(B, n, n) ordered joints -> (B, R) observation rows, the untyped row (total) last."""
    return np.concatenate([joint_rows(J, silent), J.sum(axis=(1, 2))[:, None]], axis=1)


def _founder_flips(ped: Pedigree, all_meioses) -> list[tuple[int, int]]:
    """Per founder parent: (bit of its first meiosis, bit mask of all its meioses).

    A founder's two alleles are exchangeable (drawn alike, observed unordered), so flipping
    every bit of one founder's meioses leaves the probabilities unchanged (the founder-phase
    symmetry of Lander-Green; Lange 2002, ch. 9): inheritance vectors are computed for the
    canonical representatives only, whose first bit from each founder is 0.
    """
    m = len(all_meioses)
    out: dict[int, list[int]] = {}
    for i, (_, parent) in enumerate(all_meioses):
        if ped.father[parent] < 0:
            out.setdefault(parent, []).append(i)
    return [(1 << (m - 1 - bits[0]), sum(1 << (m - 1 - b) for b in bits)) for bits in out.values()]


def _canonical(m: int, flips) -> np.ndarray:
    """The canonical representative of every inheritance vector under the founder flips."""
    v = np.arange(1 << m)
    for first, mask in flips:
        v = np.where(v & first, v ^ mask, v)
    return v


def _locus_rows(ped, genotypes, afreq, M_male, M_female, theta, silent, all_meioses) -> np.ndarray:
    """Observation rows of the child per inheritance vector: shape (2^m, B, R).

    Bit ``i`` (most significant first) of a vector index is meiosis ``all_meioses[i]``: 0 the
    parent's paternal allele, 1 its maternal allele. Only the meioses of the members that
    matter at this locus, and only canonical vectors (:func:`_founder_flips`), are computed;
    the rows do not depend on the other bits.
    """
    typed_any = (genotypes[:, :, 0] != UNTYPED).any(axis=0)
    typed_any[ped.missing] = False
    here = set(_prune(ped, typed_any, ped.missing))
    rel = [i for i, (slot, _) in enumerate(all_meioses) if slot // 2 in here]
    m = len(all_meioses)
    v = _canonical(m, _founder_flips(ped, all_meioses))
    code = np.zeros(1 << m, dtype=np.int64)
    for j, i in enumerate(rel):
        code |= ((v >> (m - 1 - i)) & 1) << (len(rel) - 1 - j)
    needed, index = np.unique(code, return_inverse=True)
    sub = []
    for c in needed.tolist():
        fixed = {}
        for j, i in enumerate(rel):
            slot, parent = all_meioses[i]
            fixed[slot] = 2 * parent + ((c >> (len(rel) - 1 - j)) & 1)
        J = _joint(ped, genotypes, afreq, M_male, M_female, theta, ped.missing, silent, fixed=fixed)
        sub.append(_observation_rows(J, silent))
    return np.stack(sub)[index.reshape(-1)]


def _combine(X1: np.ndarray, X2: np.ndarray, m: int, r: float, flips) -> np.ndarray:
    """``sum_{v1, v2} 2^-m P(v2 | v1) X1[v1, b, i] X2[v2, b, j]``, shape (B, R1, R2).

    ``Y[v1] = sum_v2 P(v2 | v1) X2[v2]`` applies ``[[1 - r, r], [r, 1 - r]]`` along each
    meiosis axis; ``X1`` and ``Y`` are invariant under the founder flips (the transition
    depends on ``v1 xor v2`` only), so the sum over ``v1`` runs over the canonical vectors and
    is multiplied by ``2^F``, F founder parents.
    """
    V = X1.shape[0]
    canon = np.flatnonzero(_canonical(m, flips) == np.arange(V))
    K = np.array([[1.0 - r, r], [r, 1.0 - r]])

    def transition(X):
        Y = X.reshape((2,) * m + (-1,))
        for axis in range(m):
            Y = np.moveaxis(np.tensordot(K, Y, axes=([1], [axis])), 0, axis)
        return Y.reshape(X.shape)[canon]

    # the transition matrix is symmetric: apply it to the side with fewer rows
    if X1.shape[2] <= X2.shape[2]:
        A, C = transition(X1), X2[canon]
    else:
        A, C = X1[canon], transition(X2)
    out = np.matmul(np.ascontiguousarray(A.transpose(1, 2, 0)), np.ascontiguousarray(C.transpose(1, 0, 2)))
    return out * (0.5**m * 2 ** len(flips))


def _pedigree_meioses(ped: Pedigree, g1: np.ndarray, g2: np.ndarray) -> list[tuple[int, int]]:
    """Meioses of ``ped`` pruned to the child and the members typed at either locus."""
    typed = ((g1[:, :, 0] != UNTYPED) | (g2[:, :, 0] != UNTYPED)).any(axis=0)
    typed[ped.missing] = False
    members = _prune(ped, typed, ped.missing)
    mei = meioses(ped, members)
    if len(mei) > MAX_MEIOSES:
        raise PedigreeError(
            f"a linked-loci likelihood over a pedigree of {len(members)} relevant members has "
            f"{len(mei)} meioses (2^{len(mei)} inheritance vectors); at most {MAX_MEIOSES} are "
            "supported: treat the two loci as independent for this family shape (drop the linked "
            "pair for it) or leave out references connected through long untyped lines"
        )
    return mei


def _single(X: np.ndarray) -> np.ndarray:
    """Single-locus rows ``P(obs, refs)`` from per-vector rows: the mean over vectors, (B, R)."""
    return X.mean(axis=0)


def linked_locus_tables(
    ped: Pedigree,
    genotypes_1: np.ndarray,
    genotypes_2: np.ndarray,
    afreq_1: np.ndarray,
    afreq_2: np.ndarray,
    M_male_1: np.ndarray,
    M_female_1: np.ndarray,
    M_male_2: np.ndarray,
    M_female_2: np.ndarray,
    r: float,
    *,
    theta: float = 0.0,
    silent_1: int | None = None,
    silent_2: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint log10 LR table of the missing child over two linked loci, for families of one shape.

    Parameters
    ----------
    ped : Pedigree
        With ``ped.missing`` set; its typed members are the references.
    genotypes_1, genotypes_2 : ndarray of int, shape (n_families, n_members, 2)
        Allele-index pairs of every member at locus 1 and locus 2 (as
        :func:`kinship.likelihood.peeling.pedigree_locus_tables`: partial ``(i, -2)``,
        ``(-1, -1)`` untyped).
    afreq_1, afreq_2 : ndarray of float64, shape (n1,), (n2,)
        The run's effective tables at the two loci.
    M_male_1, M_female_1 : ndarray of float64, shape (n1, n1)
    M_male_2, M_female_2 : ndarray of float64, shape (n2, n2)
        Mutation matrices of transmissions from fathers and from mothers at each locus.
    r : float
        Recombination fraction between the loci, ``0 <= r <= 1/2``, the same in both sexes
        (from a sex-averaged map: :mod:`kinship.genetics.linkage`).
    theta : float
        Balding-Nichols coancestry coefficient (partitions within each locus).
    silent_1, silent_2 : int, optional
        Index of each locus's silent allele, if the run uses one.

    Returns
    -------
    log10_lr : ndarray of float64, shape (R1 * R2, n_families)
        ``R_l = n_table_rows(n_l)``; joint row ``row1 * R2 + row2`` (``row_l`` the
        single-locus table row of the candidate's observation at locus ``l``, untyped last):
        ``log10 P(obs1, obs2, refs | H1) - log10 P(obs1, obs2, refs | H2)``, the references
        at both loci included (they are linked among themselves too). A locus at which the
        candidate is untyped is left out with its references, as the untyped row (0) of
        ``pedigree_locus_tables`` leaves a locus out: a row with one locus untyped is the
        single-locus LR of the other locus (``T_l[row_l]``), the last row (both untyped) is 0.
        So at ``r = 1/2`` the table is ``T1[row1] + T2[row2]`` exactly. ``-inf`` where
        impossible; an all-zero column where the references are impossible together
        (``informative = False``).
    inconsistent : ndarray of int8, shape (R1 * R2, n_families)
        ``I1[row1] + I2[row2]`` from the single-locus tables of ``pedigree_locus_tables``.
    informative : ndarray of bool, shape (n_families,)
        False where the references are impossible together under H1 or H2 (at either locus,
        or at the two together: with ``r = 0`` two loci can each be possible alone and not
        together).

    Raises
    ------
    PedigreeError
        ``ped`` without a missing child, genotypes of the wrong shape, ``r`` out of range, or
        more than :data:`MAX_MEIOSES` meioses.

    Examples
    --------
    Full sibling typed a/a at both loci, candidate a/a at both: at ``r = 1/2`` the product of
    the single-locus LRs ``((1 + p_a)^2 / (4 p_a^2))^2 = 81``; fully linked (``r = 0``) the
    two loci act as one locus whose allele a~a has frequency ``p_a^2``:
    ``(1 + 0.04)^2 / (4 * 0.04^2) = 169``.

    >>> from kinship.likelihood.pedigree import pedigree_from_relationships
    >>> ped = pedigree_from_relationships([("S", "full_sibling")])
    >>> g = np.full((1, ped.n_members, 2), -1); g[0, ped.index("full_sibling_1")] = 0
    >>> p = np.array([0.2, 0.8]); I = np.eye(2)
    >>> [round(float(10 ** linked_locus_tables(ped, g, g, p, p, I, I, I, I, r)[0][0, 0]), 9)
    ...  for r in (0.5, 0.0)]
    [81.0, 169.0]
    """
    if ped.missing < 0:
        raise PedigreeError("pedigree has no missing child; mark one member is_missing")
    if not (0.0 <= float(r) <= 0.5):
        raise PedigreeError(f"recombination fraction {r!r} out of range; expected 0 <= r <= 1/2")
    r = float(r)
    n1, n2 = afreq_1.shape[0], afreq_2.shape[0]
    g1 = _checked(ped, genotypes_1, n1).copy()
    g2 = _checked(ped, genotypes_2, n2).copy()
    if g1.shape[0] != g2.shape[0]:
        raise PedigreeError(
            f"genotypes_1 has {g1.shape[0]} families and genotypes_2 {g2.shape[0]}; give the same families at both loci"
        )
    g1[:, ped.missing] = UNTYPED
    g2[:, ped.missing] = UNTYPED
    B = g1.shape[0]
    R1, R2 = n_table_rows(n1), n_table_rows(n2)
    h2 = unrelated_pedigree(ped)
    mei1, mei2 = _pedigree_meioses(ped, g1, g2), _pedigree_meioses(h2, g1, g2)
    m1, m2 = len(mei1), len(mei2)
    loci = (
        (g1, afreq_1, M_male_1, M_female_1, silent_1, R1),
        (g2, afreq_2, M_male_2, M_female_2, silent_2, R2),
    )
    log10_lr = np.zeros((R1 * R2, B))
    inconsistent = np.zeros((R1 * R2, B), dtype=np.int8)
    informative = np.zeros(B, dtype=bool)
    per_family = ((1 << m1) + (1 << m2)) * (R1 + R2) + 3 * R1 * R2
    chunk = max(1, _CHUNK_ELEMENTS // per_family)
    for lo in range(0, B, chunk):
        s = slice(lo, lo + chunk)
        X, T, inc, ok = [], [], [], None
        for g, afreq, Mm, Mf, silent, R in loci:
            X_h1 = _locus_rows(ped, g[s], afreq, Mm, Mf, theta, silent, mei1)
            X_h2 = _locus_rows(h2, g[s], afreq, Mm, Mf, theta, silent, mei2)
            S_h1, S_h2 = _single(X_h1), _single(X_h2)
            # the single-locus table, as pedigree_locus_tables
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.log10(S_h1) - np.log10(S_h2)
            t[:, -1] = 0.0
            here = (S_h1[:, -1] > 0.0) & (S_h2[:, -1] > 0.0)
            ok = here if ok is None else ok & here
            eye = np.eye(afreq.shape[0])
            if np.array_equal(Mm, eye) and np.array_equal(Mf, eye) and theta == 0.0:
                plain = S_h1
            else:
                plain = _single(_locus_rows(ped, g[s], afreq, eye, eye, 0.0, silent, mei1))
            bad = (plain == 0.0) & (plain[:, -1:] > 0.0)
            bad[:, -1] = False
            X.append((X_h1, X_h2))
            T.append(t)
            inc.append(bad.astype(np.int8))
        P1 = _combine(X[0][0], X[1][0], m1, r, _founder_flips(ped, mei1))
        P2 = _combine(X[0][1], X[1][1], m2, r, _founder_flips(h2, mei2))
        ok &= (P1[:, -1, -1] > 0.0) & (P2[:, -1, -1] > 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = np.log10(P1 / P2)
        # the candidate untyped at a locus: that locus is left out with its references
        lr[:, :, -1] = T[0]
        lr[:, -1, :] = T[1]
        lr[~ok] = 0.0
        nb = lr.shape[0]
        log10_lr[:, s] = lr.reshape(nb, R1 * R2).T
        inconsistent[:, s] = (inc[0][:, :, None] + inc[1][:, None, :]).reshape(nb, R1 * R2).T
        informative[s] = ok
    return log10_lr, inconsistent, informative
