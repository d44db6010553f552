"""The Y-STR step of a match run: the Y evidence of each reported pair of a male candidate and a family with a paternal line.

:func:`y_lineage_columns` takes the stored genotypes (all loci), the samples' sex, the run's
families and its reported pairs, and returns the four Y columns of ``schemas/matches.v3.json``
(``log10_lr_y``, ``n_y_loci_compared``, ``n_y_mismatches``, ``y_steps``) with the run's
provenance entry ``y_str``. What does not depend on the pairs (every sample's haplotype, who
is male, the database) is a :class:`MaleHaplotypes`, built at each call, or once by a process
that answers many searches on one store (:class:`kinship.app.search.SearchIndex`). The math is
:mod:`kinship.likelihood.lineage`; how stored genotypes become haplotype slots,
:mod:`kinship.genetics.ystr`.

Who gets a Y comparison (every other pair has the four columns null):

* the **candidate** is male by the store's ``samples.sex``. That column holds the manifest's
  declared sex (``male``/``female``/``unknown``, default ``unknown``); Amelogenin never fills it
  (an Amelogenin call that disagrees with it only flags the sample, ``sex_check``). A
  candidate of unknown or female sex gets no Y comparison, whatever Y loci he was typed at:
  declare the sex in the manifest to have them used;
* the **reference** is a male of the family linked to the missing child by father links only
  (:func:`kinship.likelihood.lineage.paternal_line_meioses` on the family's pedigree: the
  canonical template for manifest relationships, the stored pedigree otherwise): father (1
  meiosis), full brother and paternal half-brother (2), paternal grandfather (2), paternal
  uncle (3); a pedigree's paternal cousins and further. Male means ``samples.sex`` male, a
  relationship that implies it (father, grandfathers), a pedigree member of sex male, or the
  father of a pedigree member. Mother, sisters, maternal relatives and maternal half-siblings
  never are;
* of several such references typed at a Y locus, the one with the **fewest meioses** is used
  (the closest link, where mutation weighs least), then the one typed at more Y loci, then the
  smaller sample id. One reference only: the others' haplotypes are not combined (they would
  mostly repeat the same lineage's evidence).

The database of male haplotypes is every stored sample that is male by the rule above and
typed at one Y locus or more; each pair's frequency count leaves out the candidate himself and
every reference of the family (its own lineage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kinship.genetics.relationships import IMPLIED_SEX
from kinship.genetics.ystr import (
    UNTYPED, YstrRates, compare_slots, default_ystr_rates, label_codes, pair_codes, read_ystr_rates,
)
from kinship.likelihood.lineage import (
    count_haplotype_matches,
    haplotype_frequency,
    DEFAULT_STEP_RATIO,
    log10_lr_bound,
    log10_transmission,
    paternal_line_meioses,
)

__all__ = ["Y_COLUMNS", "MaleHaplotypes", "null_column", "y_evidence", "y_genotypes", "y_haplotypes",
           "y_lineage_columns", "male_samples", "paternal_line_reference"]

#: The Y columns of ``schemas/matches.v3.json`` and their pandas dtypes.
Y_COLUMNS = {"log10_lr_y": "Float64", "n_y_loci_compared": "Int16", "n_y_mismatches": "Int16", "y_steps": "Int16"}

METHOD = ("symmetric stepwise mutation per copy (geometric step size, ratio step_ratio) over the meioses "
          "of the paternal line (exact convolution), divided by the haplotype frequency by counting (x+1)/(N+1) in the "
          "store's male haplotypes without the family's lineage and the candidate, at its one-sided "
          "Clopper-Pearson upper bound")


def male_samples(sex: pd.DataFrame, families) -> set[str]:
    """Sample ids that are male: ``samples.sex``, a relationship implying male, or a pedigree's sex or father role.

    Parameters
    ----------
    sex : DataFrame
        Columns ``sample_id, sex`` (:meth:`kinship.store.Store.load_samples`).
    families : sequence of Family

    Returns
    -------
    set of str
    """
    male = set(sex.loc[sex["sex"] == "male", "sample_id"].tolist())
    for f in families:
        for s, k in f.relationships:
            if IMPLIED_SEX.get(k) == "male":
                male.add(s)
        ped = f.pedigree
        if ped is not None:
            fathers = {ped.father[k] for k in range(ped.n_members)}
            for k, s in enumerate(ped.sample_ids):
                if s is not None and (ped.sex[k] == "male" or k in fathers):
                    male.add(s)
    return male


def paternal_line_reference(family, male: set[str], n_y_typed: dict[str, int]) -> tuple[str, int] | None:
    """The family's paternal-line male reference typed at a Y locus with the fewest meioses to the missing child.

    Parameters
    ----------
    family : Family
    male : set of str
        Male sample ids (:func:`male_samples`).
    n_y_typed : dict of str to int
        Y-STR loci typed per sample.

    Returns
    -------
    (sample_id, meioses) or None
        Ties: more Y loci typed, then the smaller sample id.
    """
    options = []
    if family.pedigree is None:
        if family.father is not None:
            options.append((family.father, 1))
    else:
        ped = family.pedigree
        if ped.missing >= 0:
            for k in ped.typed_members:
                m = paternal_line_meioses(ped.father, ped.missing, k)
                if m is not None and m > 0:
                    options.append((ped.sample_ids[k], m))
    options = [(s, m) for s, m in options if s in male and n_y_typed.get(s, 0) > 0]
    if not options:
        return None
    s, m = min(options, key=lambda o: (o[1], -n_y_typed[o[0]], o[0]))
    return s, m


def _haplotypes(genotypes: pd.DataFrame, rates: YstrRates) -> tuple[list[str], np.ndarray]:
    """Sample ids with a Y locus of the table, and their slot codes, shape (n, 2 n_loci)."""
    names = rates.names
    pos = {n: i for i, n in enumerate(names)}
    y = genotypes[genotypes["locus"].isin(names)]
    sample_idx, ids = pd.factorize(y["sample_id"], sort=True)
    ids = np.asarray(ids, dtype=object)
    code, locus_names = pd.factorize(y["locus"])
    locus_idx = np.array([pos[n] for n in locus_names], dtype=np.int64)[code]
    copies = np.array([r.copies for r in rates.loci], dtype=np.int64)[locus_idx]
    label_idx, labels = pd.factorize(pd.concat([y["allele_1"], y["allele_2"]], ignore_index=True))
    lc = label_codes(labels)[label_idx].reshape(2, -1)
    codes = pair_codes(lc[0], lc[1], copies)
    out = np.full((len(ids), len(names), 2), UNTYPED, dtype=np.int32)
    out[sample_idx, locus_idx] = codes
    for r in rates.loci:
        if r.includes:
            a, b = out[:, pos[r.locus]], out[:, pos[r.includes]]
            single = (a[:, 0] >= 0) & (b[:, 0] >= 0) & (a[:, 1] == b[:, 1]) & (a[:, 1] < 0) & (a[:, 0] >= b[:, 0])
            a0 = np.where(single, a[:, 0] - b[:, 0], UNTYPED)
            out[:, pos[r.locus], 0] = a0
            out[:, pos[r.locus], 1] = np.where(single, a[:, 1], UNTYPED)
    return ids.tolist(), out.reshape(len(ids), 2 * len(names))


@dataclass(frozen=True, eq=False)
class MaleHaplotypes:
    """The store-wide part of the Y-STR step: every sample's Y haplotype slots, who is male, and
    the database of male haplotypes each pair's frequency is counted in.

    It depends on the stored genotypes, the samples' sex, every family of the run (a relationship
    or pedigree role can make a sample male: :func:`male_samples`) and the rate table (its loci),
    not on the pairs; :func:`y_lineage_columns` builds it at each call unless given one, so a
    process answering many searches on one store (:class:`kinship.app.search.SearchIndex`)
    builds it once. Build it with :meth:`of`.

    Attributes
    ----------
    rates : YstrRates
        The rate table whose loci the slots are of.
    ids : list of str
        Sample ids typed at a Y locus of the table, sorted.
    codes : ndarray of int32, shape (len(ids), 2 * n_loci)
        Their haplotype slot codes (:func:`kinship.genetics.ystr.pair_codes`).
    row_of : dict of str to int
        Each id's row of ``codes``.
    n_y_typed : dict of str to int
        Y loci typed per sample of ``ids``.
    male : set of str
        Male sample ids (:func:`male_samples`).
    declared_male : set of str
        Sample ids of ``samples.sex`` male (a candidate is compared only when declared male).
    db_rows : ndarray of int64
        Rows of ``codes`` of the male samples, ascending: the database.
    db_index : dict of int to int
        Each of ``db_rows``' position in the database.
    database : ndarray of int32, shape (len(db_rows), 2 * n_loci)
        The male haplotypes' slot codes (``codes[db_rows]``).
    """

    rates: YstrRates
    ids: list
    codes: np.ndarray
    row_of: dict
    n_y_typed: dict
    male: set
    declared_male: set
    db_rows: np.ndarray
    db_index: dict
    database: np.ndarray

    @classmethod
    def of(cls, genotypes: pd.DataFrame, sex: pd.DataFrame, families, rates: YstrRates | None = None
           ) -> "MaleHaplotypes":
        """The haplotypes of ``genotypes`` (all loci: columns ``sample_id, locus, allele_1,
        allele_2``), ``sex`` (columns ``sample_id, sex``) and every family of the run
        (``inputs.families``), at the loci of ``rates`` (the bundled table by default)."""
        rates = rates or default_ystr_rates()
        n_loci = len(rates.loci)
        ids, codes = _haplotypes(genotypes, rates)
        row_of = {s: i for i, s in enumerate(ids)}
        typed_loci = (codes.reshape(len(ids), n_loci, 2)[:, :, 0] != UNTYPED).sum(axis=1)
        male = male_samples(sex, families)
        db_rows = np.array(sorted(row_of[s] for s in male if s in row_of), dtype=np.int64)
        return cls(rates=rates, ids=ids, codes=codes, row_of=row_of, n_y_typed=dict(zip(ids, typed_loci.tolist())),
                   male=male, declared_male=set(sex.loc[sex["sex"] == "male", "sample_id"].tolist()),
                   db_rows=db_rows, db_index={int(r): i for i, r in enumerate(db_rows)}, database=codes[db_rows])


def y_lineage_columns(
    genotypes: pd.DataFrame,
    sex: pd.DataFrame,
    inputs,
    matches: pd.DataFrame,
    *,
    rates: YstrRates | None = None,
    confidence: float = 0.95,
    step_ratio: float = DEFAULT_STEP_RATIO,
    haplotypes: MaleHaplotypes | None = None,
) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """The Y columns of a run's reported pairs, and the run's ``y_str`` provenance entry.

    Parameters
    ----------
    genotypes : DataFrame
        Stored genotypes, all loci: columns ``sample_id, locus, allele_1, allele_2``
        (:meth:`kinship.store.Store.load_genotypes`).
    sex : DataFrame
        Columns ``sample_id, sex`` (:meth:`kinship.store.Store.load_samples`).
    inputs : MatchInputs
        The run's families (:func:`kinship.app.match_run.assemble_inputs`).
    matches : DataFrame
        Reported pairs: columns ``candidate_id, lab, family_id`` (others are ignored).
    rates : YstrRates, optional
        Y-STR rate table (:func:`kinship.genetics.ystr.read_ystr_rates`; the bundled one by default).
    confidence : float
        One-sided level of the frequency's Clopper-Pearson upper bound.
    step_ratio : float
        Ratio of an (s+1)-step to an s-step mutation (:func:`kinship.likelihood.lineage.stepwise_distribution`;
        0: single-step, where a difference of more steps than meioses reads ``-inf``).
    haplotypes : MaleHaplotypes, optional
        The store-wide haplotypes (:meth:`MaleHaplotypes.of` of these ``genotypes``, ``sex``,
        the whole run's families and ``rates``, whose rate table is then used); built here
        when not given. With them, ``inputs`` need hold only the families of ``matches`` (and
        every candidate): nothing else is read from it.

    Returns
    -------
    columns : DataFrame
        Index of ``matches``; columns :data:`Y_COLUMNS` (``log10_lr_y`` Float64, ``-inf`` for a
        difference the single-step model cannot reach; the counts Int16), null where no Y
        comparison applies (module docstring) or no locus could be compared.
    provenance : dict
        ``{"method", "mutation_rates": {"file", "sha256", "sources"}, "loci", "n_male_haplotypes",
        "frequency": {"estimate", "confidence"}, "n_pairs_compared"}``.
    y_max : ndarray of float64, shape (n_candidates,)
        For each candidate of ``inputs.candidate_ids``, the largest log10 Y-STR LR it could reach
        against any family (:func:`kinship.likelihood.lineage.log10_lr_bound` for a male
        candidate typed at a Y locus, 0 for any other): what bounds the Y evidence of the pairs
        the run did not keep.

    Notes
    -----
    ``log10_lr_y = log10 P(h_c | h_r, m) - log10 upper`` with ``upper`` the Clopper-Pearson bound
    of the counting frequency (:mod:`kinship.likelihood.lineage`). ``n_y_loci_compared`` counts the
    loci compared (typed in both, same copy pattern, whole-repeat differences), ``n_y_mismatches``
    those that differ, ``y_steps`` the repeat steps summed over them.
    """
    if haplotypes is None:
        haplotypes = MaleHaplotypes.of(genotypes, sex, inputs.families, rates)
    rates = haplotypes.rates
    n_loci = len(rates.loci)
    row_of, n_y_typed, male, declared_male = (haplotypes.row_of, haplotypes.n_y_typed, haplotypes.male,
                                              haplotypes.declared_male)
    db_rows, db_index, database = haplotypes.db_rows, haplotypes.db_index, haplotypes.database
    codes = haplotypes.codes

    by_key = {(f.lab, f.family_id): f for f in inputs.families}
    ref_of: dict = {}  # each family's paternal-line reference, found when a pair needs it
    # only pairs of a declared male candidate with a Y haplotype can be compared: those rows are
    # found at once (10^7 kept pairs at national scale), and only they are looked at one by one
    comparable = sorted(declared_male.intersection(row_of))
    rows = np.flatnonzero(matches["candidate_id"].isin(comparable).to_numpy()) if comparable else np.zeros(0, np.int64)
    pair_rows, ref_rows, cand_rows, meioses, excl_q, excl_r = [], [], [], [], [], []
    for i, c, lab, fam in zip(rows.tolist(), matches["candidate_id"].to_numpy(dtype=object)[rows].tolist(),
                              matches["lab"].to_numpy(dtype=object)[rows].tolist(),
                              matches["family_id"].to_numpy(dtype=object)[rows].tolist()):
        if (lab, fam) not in ref_of:
            family = by_key.get((lab, fam))
            ref_of[(lab, fam)] = None if family is None else paternal_line_reference(family, male, n_y_typed)
        ref = ref_of[(lab, fam)]
        if ref is None:
            continue
        q = len(pair_rows)
        pair_rows.append(i)
        ref_rows.append(row_of[ref[0]])
        cand_rows.append(row_of[c])
        meioses.append(ref[1])
        for s in (c, *by_key[(lab, fam)].references):
            if s in row_of and row_of[s] in db_index:
                excl_q.append(q)
                excl_r.append(db_index[row_of[s]])

    out = pd.DataFrame({k: null_column(len(matches), t) for k, t in Y_COLUMNS.items()}, index=matches.index)
    n_compared_pairs = 0
    if pair_rows:
        ref_codes, cand_codes = codes[ref_rows], codes[cand_rows]
        compared, steps = compare_slots(ref_codes, cand_codes, n_loci)
        num = log10_transmission(steps, rates.slot_rates(), np.array(meioses), step_ratio)
        x, n = count_haplotype_matches(database, cand_codes, np.repeat(compared, 2, axis=1),
                                       exclude_query=np.array(excl_q, dtype=np.int64),
                                       exclude_row=np.array(excl_r, dtype=np.int64))
        _, upper = haplotype_frequency(x, n, confidence=confidence)
        locus_steps = np.where(steps < 0, 0, steps).reshape(len(pair_rows), n_loci, 2).sum(axis=2)
        n_comp = compared.sum(axis=1)
        has = n_comp > 0
        n_compared_pairs = int(has.sum())
        idx = matches.index[np.array(pair_rows)[has]]
        out.loc[idx, "log10_lr_y"] = (num - np.log10(upper))[has]
        out.loc[idx, "n_y_loci_compared"] = n_comp[has]
        out.loc[idx, "n_y_mismatches"] = ((locus_steps > 0) & compared).sum(axis=1)[has]
        out.loc[idx, "y_steps"] = locus_steps.sum(axis=1)[has]
    provenance = {
        "method": METHOD,
        "mutation_rates": {"file": rates.file, "sha256": rates.sha256, "sources": rates.sources()},
        "loci": list(rates.names),
        "n_male_haplotypes": int(len(db_rows)),
        "frequency": {"estimate": "counting (x+1)/(N+1), Clopper-Pearson upper bound", "confidence": confidence},
        "n_pairs_compared": n_compared_pairs,
        "step_ratio": step_ratio,
    }
    bound = log10_lr_bound(len(db_rows), confidence=confidence)
    y_max = np.array([bound if (c in declared_male and c in row_of) else 0.0 for c in inputs.candidate_ids])
    return out, provenance, y_max


def null_column(n: int, dtype: str) -> pd.api.extensions.ExtensionArray:
    """``n`` nulls of the nullable ``dtype`` (``"Float64"``, ``"Int16"``), built at once.

    Examples
    --------
    >>> null_column(2, "Int16")
    <IntegerArray>
    [<NA>, <NA>]
    Length: 2, dtype: Int16
    """
    out = pd.array(np.zeros(n, dtype=pd.api.types.pandas_dtype(dtype).numpy_dtype), dtype=dtype)
    out[:] = pd.NA
    return out


def y_genotypes(genotypes: pd.DataFrame, params) -> pd.DataFrame:
    """The rows of ``genotypes`` that :func:`y_evidence` reads: those at a locus of the run's
    Y-STR rate table (none when ``params.use`` is false). A match run keeps these alone
    between loading the profiles and the Y-STR step, not the national genotypes (4 x 10^7 rows
    at 10^6 families); :func:`y_evidence` of them gives what it gives of all the rows.

    Parameters
    ----------
    genotypes : DataFrame
        Stored genotypes, all loci (:meth:`kinship.store.Store.load_genotypes`).
    params : kinship.app.parameters.YstrParameters

    Examples
    --------
    >>> g = pd.DataFrame({"sample_id": ["a", "a"], "locus": ["DYS391", "TH01"], "allele_1": ["10", "6"],
    ...                   "allele_2": ["10", "9.3"]})
    >>> from kinship.app.parameters import YstrParameters
    >>> y_genotypes(g, YstrParameters())["locus"].tolist(), len(y_genotypes(g, YstrParameters(use=False)))
    (['DYS391'], 0)
    """
    if not params.use:
        return genotypes.iloc[:0].copy()
    rates = read_ystr_rates(params.rates_file) if params.rates_file else default_ystr_rates()
    return genotypes[genotypes["locus"].isin(rates.names)].reset_index(drop=True)


def y_evidence(genotypes: pd.DataFrame, samples: pd.DataFrame, inputs, matches: pd.DataFrame, params, *,
               haplotypes: MaleHaplotypes | None = None) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """The match run's Y-STR step: ``matches`` with the Y columns filled, the provenance entry
    ``y_str``, and each candidate's largest possible log10 Y-STR LR (``y_max``).

    Parameters
    ----------
    genotypes : DataFrame
        Stored genotypes, all loci (:meth:`kinship.store.Store.load_genotypes`), or only their
        Y-STR rows (:func:`y_genotypes`).
    samples : DataFrame
        Columns ``sample_id, sex`` at least (:meth:`kinship.store.Store.load_samples`).
    inputs : MatchInputs
    matches : DataFrame
        The run's reported pairs (:func:`kinship.app.match_run.collect_matches`).
    params : kinship.app.parameters.YstrParameters
        ``use`` false: the columns stay null and ``y_max`` is 0.
    haplotypes : MaleHaplotypes, optional
        The store-wide haplotypes, built before with ``params``' rate table (:func:`y_haplotypes`):
        :func:`y_lineage_columns`'s ``haplotypes``.

    Returns
    -------
    matches : DataFrame
        A copy with the :data:`Y_COLUMNS` set (replacing any there).
    provenance : dict
        ``{"used": bool, ...}`` plus, when used, the keys of :func:`y_lineage_columns`'s entry.
    y_max : ndarray of float64, shape (n_candidates,)
    """
    out = matches.copy(deep=False)  # copy-on-write (pandas >= 3): only the Y columns are new
    if not params.use:
        for column, dtype in Y_COLUMNS.items():
            out[column] = null_column(len(out), dtype)
        return out, {"used": False}, np.zeros(len(inputs.candidate_ids))
    rates = None if haplotypes is not None or not params.rates_file else read_ystr_rates(params.rates_file)
    columns, provenance, y_max = y_lineage_columns(
        genotypes, samples[["sample_id", "sex"]], inputs, matches, rates=rates,
        confidence=params.confidence, step_ratio=params.step_ratio, haplotypes=haplotypes)
    for column in Y_COLUMNS:
        out[column] = columns[column]
    return out, {"used": True, **provenance}, y_max


def y_haplotypes(genotypes: pd.DataFrame, samples: pd.DataFrame, families, params) -> MaleHaplotypes | None:
    """The store-wide haplotypes :func:`y_evidence` uses with ``params``
    (:class:`~kinship.app.parameters.YstrParameters`): :meth:`MaleHaplotypes.of` with its rate
    table, or None when ``params.use`` is false (no Y-STR step)."""
    if not params.use:
        return None
    rates = read_ystr_rates(params.rates_file) if params.rates_file else None
    return MaleHaplotypes.of(genotypes, samples[["sample_id", "sex"]], families, rates)
