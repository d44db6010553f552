"""The lab code and kit name of a batch, checked before anything records them.

A lab or kit given to an ingest call is written to the store and, by an orchestrator, to its
own database of run parameters; a value that is not an ASCII code (a name, a phone number
typed into ``--lab``) must be refused before either sees it, and the refusal never repeats it.
"""

from __future__ import annotations

from kinship.errors import ReuniteInputError
from kinship.store.catalogue import KIT_NAME_PATTERN as _KIT_NAME_RE
from kinship.store.catalogue import MAX_KIT_NAME, described_value, is_kit_name, is_pseudonymous_id

__all__ = ["LAB_CODE_PATTERN", "KIT_NAME_PATTERN", "MAX_LABEL_LENGTH", "check_batch_labels"]

#: A lab code: the ``lab``/``sample_id`` pattern of ``schemas/manifest.v5.json`` (a test keeps
#: them equal; written here so that a flow signature can carry it without reading a file at import).
LAB_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/+-]*$"
#: A kit name: :data:`kinship.store.catalogue.KIT_NAME_PATTERN`.
KIT_NAME_PATTERN = _KIT_NAME_RE.pattern
#: Longest lab code and kit name, in characters (the catalogue's kit-name width).
MAX_LABEL_LENGTH = MAX_KIT_NAME


def check_batch_labels(lab: str, kit: str | None = None) -> None:
    """Refuse a lab code or kit name that is not ASCII code-shaped, without repeating it.

    Parameters
    ----------
    lab : str
        The batch's lab code (``--lab``): :data:`LAB_CODE_PATTERN`, at most 64 characters.
    kit : str, optional
        The batch's kit name (``--kit``): :data:`KIT_NAME_PATTERN`, at most 64 characters.

    Raises
    ------
    ReuniteInputError
        One line naming the argument and its length only (it may be personal data).

    Examples
    --------
    >>> check_batch_labels("LAB1", "GlobalFiler")
    >>> check_batch_labels("张伟13800138000")
    Traceback (most recent call last):
    ...
    kinship.errors.ReuniteInputError: lab (a value of 13 characters that is not an ASCII code; not repeated here) is not a lab code; expected ASCII matching ^[A-Za-z0-9][A-Za-z0-9._:/+-]*$, at most 64 characters; fix: give the lab's registered short code (scripts/flow labs list)
    """
    if not isinstance(lab, str) or not is_pseudonymous_id(lab):
        raise ReuniteInputError(
            f"lab {described_value(str(lab))} is not a lab code; expected ASCII matching {LAB_CODE_PATTERN}, at most "
            f"{MAX_LABEL_LENGTH} characters; fix: give the lab's registered short code (scripts/flow labs list)")
    if kit is None:
        return
    if not isinstance(kit, str) or not is_kit_name(kit):
        raise ReuniteInputError(
            f"kit {described_value(str(kit))} is not a kit name; expected ASCII matching {KIT_NAME_PATTERN}, at most "
            f"{MAX_LABEL_LENGTH} characters; fix: give the kit's catalogue name (scripts/flow kits list)")
