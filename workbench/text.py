"""Every text of the workbench that a person reads, as msgids of the ``workbench`` catalogue.

The templates' ``_("...")`` calls are read from the template files (:func:`template_msgids`);
the texts chosen in Python (roles, statuses, conclusions, flags, errors) are listed here or in
the module that chooses them (:func:`python_msgids`). A test checks that both catalogues
(``kinship/locale/{en,zh_CN}/LC_MESSAGES/workbench.po``) translate every one.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ERRORS", "MESSAGES", "template_msgids", "python_msgids", "msgids"]

_TEMPLATES = Path(__file__).parent / "templates"
_CALL = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")

#: Why a decision was refused (:func:`workbench.decisions.check_action`, the decide route).
ERRORS = (
    "Give a reason for the decision.", "Your role may not decide on pairs.",
    "This pair is confirmed; a supervisor must re-open it first.",
    "Name the loci or relatives to type for the re-test.", "Only a supervisor may confirm a pair.",
    "A confirmation must first be proposed by a case manager.",
    "A confirmation needs two people: you proposed it, another supervisor must confirm it.",
    "Only a supervisor may re-open a pair.", "This pair is already open.", "Unknown decision.",
    "This pair's batch was retracted: no new decision can be taken on it.",
    "The latest run did not keep this pair: decide on a pair of the latest run.",
)
#: Titles and messages of the other pages and refusals.
MESSAGES = (
    "Not allowed", "Your role does not give access to this page.", "Form expired",
    "The form's security token did not match; reload the page and try again.", "Not found",
    "No such pair in the latest run.", "No such upload.", "The form expired; try again.",
    "Too many failed sign-ins: this account is locked for 15 minutes.", "Wrong login or password.",
    "Choose a registered lab and a format.", "A file is larger than 200 MB: split the batch.",
    # job states, summary fields and audited pages
    "queued", "running", "done", "failed", "n_rows", "n_landed", "n_untyped", "n_quarantined", "n_warnings",
    "n_samples_landed", "n_genotypes_added", "already_ingested", "file_id", "evidence", "case_report", "pick_list",
    # filter values and parents
    "all", "support", "flagged", "father", "mother", "neither", "both",
)


def template_msgids() -> set[str]:
    """The literal msgids of every ``_("...")`` in the templates."""
    found = set()
    for path in sorted(_TEMPLATES.glob("*.html")):
        for a, b in _CALL.findall(path.read_text(encoding="utf-8")):
            found.add((a or b).replace('\\"', '"').replace("\\'", "'"))
    return found


def python_msgids() -> set[str]:
    """The msgids chosen in Python code."""
    from kinship.genetics.relationships import FAMILY_KINDS, RELATIONSHIPS
    from kinship.store.workbench import DECISION_ACTIONS, ROLES
    from workbench.decisions import FINGERPRINT_MSGIDS, STATUSES
    from workbench.evidence import HYPOTHESES
    from workbench.review import CONFLICTS, ENFSI_BANDS, GBT_WORDING, UNRELATED, conclusion_msgids

    out = {*ERRORS, *MESSAGES, *ROLES, *STATUSES, *DECISION_ACTIONS, *FAMILY_KINDS, *RELATIONSHIPS, *CONFLICTS,
           *FINGERPRINT_MSGIDS, UNRELATED, *(text for _, text in ENFSI_BANDS), *GBT_WORDING.values(),
           *(h for pair in HYPOTHESES.values() for h in pair), *conclusion_msgids()}
    return out


def msgids() -> set[str]:
    """Every msgid of the workbench."""
    return template_msgids() | python_msgids()
