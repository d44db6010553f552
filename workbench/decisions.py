"""A pair's state from the append-only decision audit, and who may do what next.

Decisions are keyed by the pair ``(lab, family_id, candidate_id)``, not by a run, so they
survive every later run. Each row records the *evidence fingerprint* of the run it was taken on
(:func:`evidence_fingerprint`: the run's content hashes of the candidate's profile and of the
family's references, and the number of loci compared). The state is the last row's, except:

* a ``reject`` or ``retest`` taken on other evidence than the latest run's re-opens the pair,
  with the reason (the candidate's profile or the family's references changed: loci or
  relatives typed since);
* a pair whose candidate or family is no longer in the store (its batch retracted, or the
  sample erased) is ``retracted``; its rows stay in the audit.

A confirmation takes two people: a ``propose_confirm`` (case manager or supervisor), then a
``confirm`` by a supervisor who is not the proposer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["PairState", "evidence_fingerprint", "fingerprint_change", "pair_state", "check_action",
           "OPEN_STATUSES", "STATUSES", "FINGERPRINT_MSGIDS"]

#: Every status a pair can be in, and those that keep it in the open queue.
STATUSES = ("open", "proposed", "retest", "reopened", "confirmed", "rejected", "retracted")
OPEN_STATUSES = ("open", "proposed", "retest", "reopened")


#: What :func:`fingerprint_change` can report (msgids).
FINGERPRINT_MSGIDS = ("the candidate's profile changed (loci typed since)",
                      "the family's references changed (relatives or loci typed since)",
                      "more loci compared (%(then)s then, %(now)s now)",
                      "fewer loci compared (%(then)s then, %(now)s now)")


def evidence_fingerprint(candidate_hash: str, family_hash: str, n_loci_compared: int) -> str:
    """The evidence a decision was taken on, as stored in ``decisions.evidence``.

    Examples
    --------
    >>> evidence_fingerprint("ab" * 32, "cd" * 32, 18)
    'c:abababababababab f:cdcdcdcdcdcdcdcd n:18'
    """
    return f"c:{candidate_hash[:16]} f:{family_hash[:16]} n:{int(n_loci_compared)}"


def fingerprint_change(before: str, now: str) -> list[str]:
    """What changed between two fingerprints: ``(msgid, parameters)`` of the workbench catalogue.

    Examples
    --------
    >>> fingerprint_change("c:1 f:2 n:15", "c:1 f:3 n:18")
    [("the family's references changed (relatives or loci typed since)", {}), ('more loci compared (%(then)s then, %(now)s now)', {'then': '15', 'now': '18'})]
    """
    b = dict(part.split(":", 1) for part in before.split())
    n = dict(part.split(":", 1) for part in now.split())
    out = []
    if b.get("c") != n.get("c"):
        out.append(("the candidate's profile changed (loci typed since)", {}))
    if b.get("f") != n.get("f"):
        out.append(("the family's references changed (relatives or loci typed since)", {}))
    if b.get("n") != n.get("n"):
        more = int(n.get("n", 0)) > int(b.get("n", 0))
        out.append(("more loci compared (%(then)s then, %(now)s now)" if more else
                    "fewer loci compared (%(then)s then, %(now)s now)", {"then": b.get("n"), "now": n.get("n")}))
    return out


@dataclass
class PairState:
    """The state of one pair: ``status`` (one of :data:`STATUSES`), the user who proposed a
    confirmation still to be confirmed, the last decision row, and why a pair re-opened."""

    status: str = "open"
    proposed_by: str | None = None
    last: dict | None = None
    reopened_because: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def pair_state(rows: list[dict], current_fingerprint: str | None, *, present: bool = True) -> PairState:
    """The state of a pair from its decision rows (oldest first), the latest run's fingerprint
    of the pair (None: the latest run did not keep the pair) and whether its samples are still
    in the store.

    Examples
    --------
    >>> rows = [{"action": "reject", "evidence": "c:1 f:2 n:15", "decided_by": "cm1"}]
    >>> pair_state(rows, "c:1 f:2 n:15").status
    'rejected'
    >>> s = pair_state(rows, "c:1 f:9 n:15"); s.status, s.reopened_because
    ('reopened', [("the family's references changed (relatives or loci typed since)", {})])
    >>> pair_state(rows, None, present=False).status
    'retracted'
    """
    state = PairState()
    for row in rows:
        action = row["action"]
        state.last = row
        state.reopened_because = []
        if action == "propose_confirm":
            state.status, state.proposed_by = "proposed", row["decided_by"]
        elif action == "confirm":
            state.status, state.proposed_by = "confirmed", None
        elif action == "reject":
            state.status, state.proposed_by = "rejected", None
        elif action == "retest":
            state.status, state.proposed_by = "retest", None
        elif action == "reopen":
            state.status, state.proposed_by = "open", None
    if not present:
        state.status = "retracted"
        return state
    if state.status in ("rejected", "retest") and current_fingerprint and state.last is not None \
            and state.last["evidence"] != current_fingerprint:
        state.reopened_because = fingerprint_change(state.last["evidence"], current_fingerprint)
        state.status = "reopened"
    return state


def check_action(user: dict, action: str, state: PairState, *, reason: str, retest: str) -> str | None:
    """Why ``user`` may not take ``action`` on a pair in ``state`` (a msgid), or None if they may."""
    from workbench.auth import allowed

    if state.status == "retracted":
        return "This pair's batch was retracted: no new decision can be taken on it."
    if not reason.strip():
        return "Give a reason for the decision."
    if action in ("propose_confirm", "reject", "retest"):
        if not allowed(user, "decide"):
            return "Your role may not decide on pairs."
        if state.status == "confirmed":
            return "This pair is confirmed; a supervisor must re-open it first."
        if action == "retest" and not retest.strip():
            return "Name the loci or relatives to type for the re-test."
        return None
    if action == "confirm":
        if not allowed(user, "confirm"):
            return "Only a supervisor may confirm a pair."
        if state.status != "proposed":
            return "A confirmation must first be proposed by a case manager."
        if state.proposed_by == user["login"]:
            return "A confirmation needs two people: you proposed it, another supervisor must confirm it."
        return None
    if action == "reopen":
        if not allowed(user, "confirm"):
            return "Only a supervisor may re-open a pair."
        if state.status not in ("confirmed", "rejected", "retest", "proposed"):
            return "This pair is already open."
        return None
    return "Unknown decision."
