"""The review queue: the supported and flagged pairs of the latest run, their decisions and flags.

Everything here reads the store and arranges what the match run computed; no LR is computed.

Order: strength *after database size* first — the database-aware posterior of the pair (to 6
decimals: past that it saturates and the LR decides)
(``matches.posterior``: the candidate over every family on file and "not on file",
:func:`kinship.matching.posterior.database_posteriors`), then the combined LR (autosomal and
Y-STR, ``log10_lr_total``, else ``log10_lr``), then the ids.

Verbal scale (a secondary reading only): the bands of the ENFSI Guideline for Evaluative
Reporting in Forensic Science (2015), §2.4 table: LR 2–10 weak, 10–100 moderate, 100–1,000
moderately strong, 1,000–10,000 strong, 10,000–1,000,000 very strong, above 1,000,000
extremely strong support. The GB/T 37223-2018 conclusion governs where they differ: ENFSI calls
LR 10³–10⁴ "strong support" where GB/T says inconclusive (support needs CPI ≥ 10,000).

Conflict flags: a child supported for two families (or more), a family supported for more
children than it declares missing (``families.n_missing``), and a child or family already
confirmed with another partner; plus the run's own one-to-one assignment conflict
(``matches.conflict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from kinship.genetics.relationships import FAMILY_KINDS, PARENT_KINDS
from kinship.matching.ranking import conclusion_text
from kinship.store import Store
from workbench.decisions import OPEN_STATUSES, PairState, evidence_fingerprint, pair_state

__all__ = ["ENFSI_BANDS", "UNRELATED", "CONFLICTS", "verbal_scale", "RunView", "load_run_view", "QueueFilter", "filter_queue",
           "conclusion_msgids", "GBT_WORDING", "gbt_wording"]

#: ENFSI (2015) verbal equivalents: (lower bound of log10 LR, msgid); LR below 1 supports the
#: alternative (unrelated), LR 1-2 gives no support either way.
ENFSI_BANDS = (
    (6.0, "extremely strong support"),
    (4.0, "very strong support"),
    (3.0, "strong support"),
    (2.0, "moderately strong support"),
    (1.0, "moderate support"),
    (np.log10(2.0), "weak support"),
    (0.0, "no support either way"),
)


#: The reading of an LR below 1.
UNRELATED = "supports unrelated"
#: The conflict flags of a pair (msgids).
CONFLICTS = ("child supported for two families", "family supported for two children",
             "child already confirmed elsewhere", "family already reunited", "one-to-one assignment conflict")


def verbal_scale(log10_lr: float) -> str:
    """The ENFSI (2015) verbal equivalent of an LR given as log10 (a msgid).

    Examples
    --------
    >>> verbal_scale(3.5), verbal_scale(7.0), verbal_scale(-np.inf)
    ('strong support', 'extremely strong support', 'supports unrelated')
    """
    if not np.isfinite(log10_lr) and log10_lr > 0:
        return "extremely strong support"
    if log10_lr < 0:
        return UNRELATED
    return next(text for bound, text in ENFSI_BANDS if log10_lr >= bound)


#: The GB/T 37223-2018-style conclusion sentence of a case report, by conclusion and family kind
#: (the glossary's sentences; ``kinship/locale/GLOSSARY.md``).
GBT_WORDING = {
    ("support", "father only"): "Based on the available material and the DNA results, the tested man is "
                                "supported as the biological father of the child.",
    ("support", "mother only"): "Based on the available material and the DNA results, the tested woman is "
                                "supported as the biological mother of the child.",
    ("support", "couple"): "Based on the available material and the DNA results, the tested couple are "
                           "supported as the biological parents of the child.",
    ("support", "relatives"): "Based on the available material and the DNA results, the tested relatives are "
                              "supported as biological relatives of the child.",
    ("excluded", "parents"): "Based on the available material and the DNA results, the tested person is "
                             "excluded as a biological parent of the child.",
    ("excluded", "relatives"): "Based on the available material and the DNA results, the tested relatives are "
                               "excluded as biological relatives of the child.",
    ("inconclusive", "any"): "The DNA results do not allow a conclusion; type more loci or further relatives.",
}


def gbt_wording(conclusion: str, family_kind: str) -> str:
    """The case report's conclusion sentence (a msgid) for a pair's conclusion and family kind.

    Examples
    --------
    >>> gbt_wording("support", "siblings").endswith("supported as biological relatives of the child.")
    True
    """
    if conclusion == "inconclusive":
        return GBT_WORDING[("inconclusive", "any")]
    if conclusion == "excluded":
        return GBT_WORDING[("excluded", "parents" if family_kind in PARENT_KINDS else "relatives")]
    return GBT_WORDING[("support", family_kind if family_kind in PARENT_KINDS else "relatives")]


def conclusion_msgids() -> set[str]:
    """Every text :func:`kinship.matching.ranking.conclusion_text` can give (translated by the
    workbench catalogue)."""
    return {conclusion_text(c, k) for c in ("support", "excluded", "inconclusive") for k in FAMILY_KINDS}


@dataclass
class RunView:
    """The latest finished run as the workbench shows it.

    Attributes
    ----------
    run : dict or None
        ``match_runs`` row of the latest finished run (None: no run yet).
    previous : dict or None
        The finished run before it.
    matches : pandas.DataFrame
        Every kept pair of the run, with ``key`` (lab, family, candidate), ``status``,
        ``in_queue`` (supported or flagged), ``new`` (not a queue pair of the previous run),
        ``verbal`` (ENFSI msgid), ``conflicts`` (list of msgids), ``fingerprint``.
    states : dict
        :class:`~workbench.decisions.PairState` of every pair with decisions (even pairs the
        run did not keep).
    reunited_candidates, reunited_families : set
        Candidates and ``(lab, family_id)`` of confirmed pairs.
    """

    run: dict | None
    previous: dict | None
    matches: pd.DataFrame
    states: dict = field(default_factory=dict)
    reunited_candidates: set = field(default_factory=set)
    reunited_families: set = field(default_factory=set)
    lab_names: dict = field(default_factory=dict)


def _finished_runs(store: Store) -> list[dict]:
    runs = store.list_match_runs()
    runs = runs[runs["finished_at"].notna()].sort_values("finished_at", ascending=False)
    return [r for r in runs.to_dict("records")]


def _queue_mask(m: pd.DataFrame) -> pd.Series:
    return (m["conclusion"] == "support") | m["flag"].astype(bool)


def fingerprints(store: Store, run_id: str, pairs: pd.DataFrame) -> list[str]:
    """The evidence fingerprint of each pair (``lab``, ``family_id``, ``candidate_id``,
    ``n_loci_compared``) in the run (``match_run_inputs``)."""
    inputs = store.load_run_inputs(run_id)
    cand = dict(zip(inputs.loc[inputs.entity == "candidate", "entity_id"], inputs.loc[inputs.entity == "candidate", "sha256"]))
    fam_rows = inputs[inputs.entity == "family"]
    fam = dict(zip(zip(fam_rows["lab"], fam_rows["entity_id"]), fam_rows["sha256"]))
    return [evidence_fingerprint(cand.get(c, ""), fam.get((lab, f), ""), n)
            for lab, f, c, n in zip(pairs["lab"], pairs["family_id"], pairs["candidate_id"], pairs["n_loci_compared"])]


def load_run_view(store: Store) -> RunView:
    """Read the latest finished run's pairs, the decisions and the store's samples into a :class:`RunView`."""
    runs = _finished_runs(store)
    lab_names = dict(zip(store.labs()["code"], store.labs()["name"]))
    decisions = store.list_decisions()
    samples = set(store.load_samples()["sample_id"])
    members = store.load_family_members()
    peds = store.load_pedigrees()
    present_families = set(zip(members["lab"], members["family_id"])) | set(zip(peds["lab"], peds["family_id"]))
    if not runs:
        m = pd.DataFrame(columns=["lab", "family_id", "candidate_id", "conclusion", "flag"])
        run, previous = None, None
    else:
        run, previous = runs[0], (runs[1] if len(runs) > 1 else None)
        m = store.load_matches(run["run_id"])
    m = m.copy()
    m["fingerprint"] = fingerprints(store, run["run_id"], m) if run is not None and len(m) else []
    current = {(r.lab, r.family_id, r.candidate_id): r.fingerprint for r in m.itertuples()}
    by_pair: dict[tuple, list[dict]] = {}
    for row in decisions.to_dict("records"):
        by_pair.setdefault((row["lab"], row["family_id"], row["candidate_id"]), []).append(row)
    states = {key: pair_state(rows, current.get(key),
                              present=key[2] in samples and (key[0], key[1]) in present_families)
              for key, rows in by_pair.items()}
    confirmed = [k for k, s in states.items() if s.status == "confirmed"]
    view = RunView(run, previous, m, states, {k[2] for k in confirmed}, {(k[0], k[1]) for k in confirmed}, lab_names)
    if not len(m):
        for col in ("status", "in_queue", "new", "verbal", "conflicts", "strength"):
            m[col] = []
        view.matches = m
        return view
    m["in_queue"] = _queue_mask(m)
    if previous is not None:
        prev = store.load_matches(previous["run_id"])
        prev_keys = set(zip(*(prev.loc[_queue_mask(prev), c] for c in ("lab", "family_id", "candidate_id"))))
    else:
        prev_keys = set()
    keys = list(zip(m["lab"], m["family_id"], m["candidate_id"]))
    m["new"] = [k not in prev_keys for k in keys]
    m["status"] = [states[k].status if k in states else "open" for k in keys]
    total = m["log10_lr_total"].where(m["log10_lr_total"].notna(), m["log10_lr"]) if "log10_lr_total" in m else m["log10_lr"]
    m["strength"] = total
    m["verbal"] = [verbal_scale(float(x)) for x in total]
    q = m[m["in_queue"] & (m["status"] != "rejected")]
    supported = q[q["conclusion"] == "support"]
    per_child = supported.groupby("candidate_id").size()
    per_family = supported.groupby(["lab", "family_id"]).size()
    n_missing = {}
    fams = store.load_families()
    if len(fams):
        n_missing = dict(zip(zip(fams["lab"], fams["family_id"]), fams["n_missing"]))
    flags = []
    for r in m.itertuples():
        f = []
        key = (r.lab, r.family_id, r.candidate_id)
        if r.conclusion == "support" and per_child.get(r.candidate_id, 0) > 1:
            f.append("child supported for two families")
        if r.conclusion == "support" and per_family.get((r.lab, r.family_id), 0) > int(n_missing.get((r.lab, r.family_id), 1)):
            f.append("family supported for two children")
        if r.candidate_id in view.reunited_candidates and states.get(key, PairState()).status != "confirmed":
            f.append("child already confirmed elsewhere")
        if (r.lab, r.family_id) in view.reunited_families and states.get(key, PairState()).status != "confirmed":
            f.append("family already reunited")
        if getattr(r, "conflict", False) is True:
            f.append("one-to-one assignment conflict")
        flags.append(f)
    m["conflicts"] = flags
    view.matches = m
    return view


@dataclass(frozen=True)
class QueueFilter:
    """The review queue's filters (each empty: no filter)."""

    lab: str = ""
    kind: str = ""
    conclusion: str = ""
    new: str = ""  # "1": new since the last run only
    status: str = "open"  # open (every open status) | all | one status
    q: str = ""  # text in the sample or family id
    flagged: str = ""  # "1": conflict flags only


def filter_queue(view: RunView, f: QueueFilter) -> pd.DataFrame:
    """The queue pairs that pass ``f``, in queue order (see the module)."""
    m = view.matches
    if not len(m):
        return m
    m = m[m["in_queue"]]
    if f.lab:
        m = m[m["lab"] == f.lab]
    if f.kind:
        m = m[m["family_kind"] == f.kind]
    if f.conclusion == "flagged":
        m = m[m["flag"].astype(bool)]
    elif f.conclusion:
        m = m[m["conclusion"] == f.conclusion]
    if f.new == "1":
        m = m[m["new"]]
    if f.status == "open":
        m = m[m["status"].isin(OPEN_STATUSES)]
    elif f.status and f.status != "all":
        m = m[m["status"] == f.status]
    if f.q:
        needle = f.q.strip().casefold()
        m = m[m["candidate_id"].str.casefold().str.contains(needle, regex=False)
              | m["family_id"].str.casefold().str.contains(needle, regex=False)]
    if f.flagged == "1":
        m = m[m["conflicts"].map(bool)]
    # beyond 6 digits the posterior saturates (shown as ">= 0.999999"): there the combined LR decides
    posterior = m["posterior"].fillna(-1.0).round(6).clip(upper=0.999999)
    order = pd.DataFrame({"p": -posterior, "s": -m["strength"], "f": m["family_id"], "c": m["candidate_id"]}, index=m.index)
    return m.loc[order.sort_values(["p", "s", "f", "c"]).index]
