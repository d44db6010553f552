"""STR mutation models (Familias / pedmut definitions).

A mutation matrix ``M`` is row-stochastic: ``M[i, j]`` is the probability that a parent's
allele ``i`` is transmitted as allele ``j`` in one meiosis. Rates are per meiosis and differ
by sex: fathers use ``rate_male``, mothers ``rate_female``.

Models (Egeland, Kling & Mostad 2016, *Relationship Inference with Familias and R*, ch. 2.4;
Vigeland 2021, *Pedigree Analysis in R*, ch. 3; identical in pedmut and Familias):

``equal``
    ``M[i, i] = 1 - r``, ``M[i, j] = r / (n - 1)``.
``proportional``
    ``a = r / sum_k p_k (1 - p_k)``, ``M = (1 - a) I + a 1 p^T`` (the expected mutation rate
    under ``p`` is ``r``).
``stepwise`` (Familias "extended stepwise")
    Alleles are grouped by their microvariant digit (``"9.3"`` is in group 3, integers in
    group 0). Within a group the off-diagonal weights are ``range ** |i - j|`` with ``i, j``
    the repeat numbers (not positions in the list), normalised to sum ``r``; ``rate2`` is
    spread evenly over the alleles of all other groups; the diagonal is ``1 - r - rate2``
    (``1 - r`` if no allele is in another group, ``1 - rate2`` if the allele is alone in its
    group).
``none``
    The identity: an inconsistency gives LR 0.

Default parameters, chosen and documented here (no per-locus public table was found as
data; see kinship/data/PROVENANCE.md): stepwise, ``rate_male = 0.002``, ``rate_female = 0.001``
(paternal STR mutations are about 2-4 times as frequent as maternal ones, AABB 2008 annual
report), ``range = 0.1``, ``rate2 = 1e-6``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from kinship.genetics.alleles import SILENT_ALLELE, allele_value
from kinship.errors import MutationModelError

__all__ = [
    "MODELS",
    "MutationModel",
    "mutation_matrix",
    "is_stationary",
    "is_bounded",
    "load_locus_rates",
    "mutation_checks",
]

MODELS = ("none", "equal", "proportional", "stepwise")


@dataclass(frozen=True)
class MutationModel:
    """Mutation model parameters for both sexes.

    Examples
    --------
    >>> MutationModel().describe()
    'stepwise (male 0.002, female 0.001, range 0.1, rate2 1e-06)'
    """

    model: str = "stepwise"
    rate_male: float = 0.002
    rate_female: float = 0.001
    range: float = 0.1
    rate2: float = 1e-6
    #: Per-locus overrides ``((locus, rate_male, rate_female), ...)``; other loci use the
    #: model-wide rates (see :func:`load_locus_rates` and ``kinship/data/mutation_rates.csv``).
    locus_rates: tuple = ()

    def __post_init__(self):
        for row in self.locus_rates:
            if len(row) != 3 or not all(0.0 <= float(r) < 1.0 for r in row[1:]):
                raise MutationModelError(
                    f"per-locus mutation rates {row!r}; expected (locus, rate_male, rate_female) "
                    "with 0 <= rate < 1"
                )
        if self.model not in MODELS:
            raise MutationModelError(
                f"mutation model {self.model!r} is unknown; expected one of {MODELS}"
            )
        for name in ("rate_male", "rate_female", "rate2"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise MutationModelError(f"mutation {name} = {value!r}; expected 0 <= {name} < 1")
        if self.model == "stepwise" and not 0.0 < self.range < 1.0:
            raise MutationModelError(f"stepwise range = {self.range!r}; expected 0 < range < 1")

    def rate(self, sex: str, locus: str | None = None) -> float:
        """Rate per meiosis of a parent of sex ``"male"`` or ``"female"`` (at ``locus``).

        Examples
        --------
        >>> m = MutationModel(locus_rates=(("FGA", 0.004, 0.0015),))
        >>> m.rate("male", "FGA"), m.rate("male", "TH01"), m.rate("female", "FGA")
        (0.004, 0.002, 0.0015)
        """
        for name, male, female in self.locus_rates:
            if name == locus:
                return float(male) if sex == "male" else float(female)
        return self.rate_male if sex == "male" else self.rate_female

    def matrix(self, alleles, afreq, sex: str, locus: str | None = None) -> np.ndarray:
        """The matrix of a parent of sex ``sex`` over the given alleles (at ``locus``).

        Rebuilt from ``alleles``/``afreq`` on every call, so it always matches the run's
        effective table.
        """
        return mutation_matrix(
            alleles, afreq, model=self.model, rate=self.rate(sex, locus), rate2=self.rate2, range=self.range
        )

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        if self.model == "none":
            return "none (no mutation: an inconsistency gives LR 0)"
        text = f"{self.model} (male {self.rate_male:g}, female {self.rate_female:g}"
        if self.model == "stepwise":
            text += f", range {self.range:g}, rate2 {self.rate2:g}"
        if self.locus_rates:
            text += f"; per-locus rates at {len(self.locus_rates)} loci"
        return text + ")"


def mutation_matrix(
    alleles,
    afreq: np.ndarray,
    *,
    model: str,
    rate: float,
    rate2: float = 0.0,
    range: float = 0.1,  # noqa: A002 - the field's name (Familias, pedmut)
) -> np.ndarray:
    """Mutation matrix over ``alleles``.

    Parameters
    ----------
    alleles : sequence of str, length n
        Canonical allele labels (the effective table's allele set).
    afreq : ndarray of float64, shape (n,)
        Allele frequencies (used by ``proportional``).
    model : {"none", "equal", "proportional", "stepwise"}
    rate : float
        Total mutation probability per meiosis.
    rate2 : float
        ``stepwise`` only: probability of mutating into another microvariant group.
    range : float
        ``stepwise`` only: ratio of the probability of a (k+1)-step to a k-step mutation.

    Returns
    -------
    ndarray of float64, shape (n, n)
        Rows sum to 1.

    Raises
    ------
    MutationModelError
        If ``stepwise`` is asked for non-numeric alleles, or a row would be negative.

    Notes
    -----
    A silent (null) allele (label :data:`kinship.genetics.alleles.SILENT_ALLELE`) follows
    Familias's convention: mutation to or from it has probability 0 (its row and column are
    those of the identity; Egeland, Kling & Mostad 2016, on Familias's silent allele). The model
    of the other alleles is built over them alone, with their frequencies renormalised to sum to
    1 (our choice: the silent allele takes no part in their mutation, so it does not enter the
    ``proportional`` model's frequencies either).

    References
    ----------
    Egeland T, Kling D, Mostad P (2016) Relationship Inference with Familias and R, sec. 2.4.
    Vigeland MD (2021) Pedigree Analysis in R, sec. 3.4 (pedmut ``mutationMatrix``).

    Examples
    --------
    >>> M = mutation_matrix(["9", "10", "11"], np.array([.2, .3, .5]), model="equal", rate=0.01)
    >>> M[0].tolist()
    [0.99, 0.005, 0.005]
    >>> M = mutation_matrix(["9", "10", "12"], np.ones(3) / 3, model="stepwise", rate=0.01, range=0.5)
    >>> M[0].round(6).tolist()   # weights 0.5^1 : 0.5^3 for the 1- and 3-step mutations
    [0.99, 0.008, 0.002]
    >>> mutation_matrix(["9", "10", "silent"], np.array([.5, .4, .1]), model="equal", rate=0.01).tolist()
    [[0.99, 0.01, 0.0], [0.01, 0.99, 0.0], [0.0, 0.0, 1.0]]
    """
    n = len(alleles)
    afreq = np.asarray(afreq, dtype=np.float64)
    if SILENT_ALLELE in alleles:
        s = list(alleles).index(SILENT_ALLELE)
        rest = [k for k in np.arange(n).tolist() if k != s]
        M = np.eye(n)
        if rest:
            sub_freq = afreq[rest] / afreq[rest].sum()
            M[np.ix_(rest, rest)] = mutation_matrix(
                [alleles[k] for k in rest], sub_freq, model=model, rate=rate, rate2=rate2, range=range
            )
        return M
    if model == "none" or n == 1:
        return np.eye(n)
    if model == "equal":
        M = np.full((n, n), rate / (n - 1))
        np.fill_diagonal(M, 1.0 - rate)
    elif model == "proportional":
        a = rate / float(np.sum(afreq * (1.0 - afreq)))
        M = a * np.broadcast_to(afreq, (n, n)) + (1.0 - a) * np.eye(n)
    elif model == "stepwise":
        values = [allele_value(a) for a in alleles]
        if any(v is None for v in values):
            bad = [a for a, v in zip(alleles, values) if v is None]
            raise MutationModelError(
                f"stepwise mutation needs numeric alleles; found {bad}; use model 'equal' for "
                "this locus"
            )
        repeats = np.array([v.repeats for v in values], dtype=np.float64)
        group = np.array([v.bases for v in values])
        M = np.zeros((n, n))
        for i, own in enumerate(group):
            same = group == own
            same[i] = False
            other = group != own
            if other.any():
                M[i, other] = rate2 / other.sum()
            if same.any():
                w = range ** np.abs(repeats[same] - repeats[i])
                M[i, same] = rate * w / w.sum()
            M[i, i] = 1.0 - (rate if same.any() else 0.0) - (rate2 if other.any() else 0.0)
    else:
        raise MutationModelError(f"mutation model {model!r} is unknown; expected one of {MODELS}")
    if np.any(M < 0):
        raise MutationModelError(
            f"{model} mutation with rate {rate} over {n} alleles gives negative probabilities; "
            "lower the rate"
        )
    return M


def is_stationary(M: np.ndarray, afreq: np.ndarray, *, rtol: float = 1e-12) -> bool:
    """Whether ``afreq @ M == afreq``: founders' allele frequencies survive a meiosis.

    Examples
    --------
    >>> p = np.array([.2, .3, .5])
    >>> is_stationary(mutation_matrix(["9", "10", "11"], p, model="proportional", rate=0.01), p)
    True
    >>> is_stationary(mutation_matrix(["9", "10", "11"], p, model="equal", rate=0.01), p)
    False
    """
    return bool(np.allclose(afreq @ M, afreq, rtol=rtol, atol=0.0))


def is_bounded(M: np.ndarray, afreq: np.ndarray) -> bool:
    """Whether ``M[i, j] <= p_j`` for every ``i != j`` (pedmut's *bounded* property).

    A bounded model never makes a mutation into ``j`` more likely than drawing ``j`` from the
    population, so an inconsistency explained by mutation can never give an LR above the
    unrelated alternative's (Vigeland 2021, sec. 3.4.3).

    Examples
    --------
    >>> p = np.array([.2, .3, .5])
    >>> is_bounded(mutation_matrix(["9", "10", "11"], p, model="equal", rate=0.01), p)
    True
    """
    off = M - np.diag(np.diag(M))
    return bool(np.all(off <= afreq[None, :] + 1e-15))


def load_locus_rates(path=None) -> tuple:
    """Per-locus default rates from ``kinship/data/mutation_rates.csv`` (or ``path``).

    Returns
    -------
    tuple of (locus, rate_male, rate_female)
        For :attr:`MutationModel.locus_rates`.

    Examples
    --------
    >>> rows = load_locus_rates()
    >>> ("TH01", 0.002, 0.001) in rows
    True
    """
    import csv
    from importlib import resources
    from pathlib import Path

    text = (
        Path(path).read_text(encoding="utf-8")
        if path is not None
        else resources.files("kinship.data").joinpath("mutation_rates.csv").read_text(encoding="utf-8")
    )
    rows = []
    for k, row in enumerate(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")), 2):
        try:
            rows.append((row["locus"], float(row["rate_male"]), float(row["rate_female"])))
        except (KeyError, ValueError, TypeError):
            raise MutationModelError(
                f"mutation rate file line {k}: {row!r}; expected columns locus, rate_male, rate_female "
                "with numbers"
            ) from None
    return tuple(rows)


def mutation_checks(model: MutationModel, table, loci) -> list[dict]:
    """Per locus and sex: whether the model's matrix is stationary and bounded under ``table``.

    Non-stationary models (equal with unequal frequencies, stepwise) make an untyped
    founder's transmitted allele ``p M != p``; the exact likelihood keeps that (the oracle
    convention), and this check reports where it applies.

    Returns
    -------
    list of dict
        ``locus, sex, rate, stationary, bounded``.
    """
    out = []
    for locus in loci:
        lf = table[locus]
        for sex in ("male", "female"):
            M = model.matrix(lf.alleles, lf.afreq, sex, locus)
            out.append(
                {
                    "locus": locus,
                    "sex": sex,
                    "rate": model.rate(sex, locus),
                    "stationary": is_stationary(M, lf.afreq),
                    "bounded": is_bounded(M, lf.afreq),
                }
            )
    return out
