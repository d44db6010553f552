"""Finished shards of a match run kept on disk, so that a run that stopped half-way resumes.

A national re-match scores hundreds of family shards; a crash, a killed worker or a reboot
after most of them should not cost the whole run again. Each shard's result
(:class:`~kinship.matching.streaming.ShardResult`: global indices and float64 scores, and the
entries' counts and calibration tails when they carry them) is written
as it finishes to ``<folder>/<fingerprint>/shard-<i>.npz`` and read back by the next attempt
of the *same* run: same stored inputs, effective table, parameters, code version and shards
(:func:`run_fingerprint`). Anything else has another fingerprint, so a stale checkpoint is
never read. The run removes its checkpoints once it is finished (:func:`clear`).

Why a shard's result may be reused whatever was merged before it: every entry it holds is
exact (float64, rescored), and an entry it left out because of a candidate floor
(:func:`kinship.matching.streaming.candidate_floor`) is below the ``k``-th best of entries that
are in the final merge too; so the merge of all shards is the same, in any order and from any
mix of fresh and reused shards (tested, ``tests/flows/test_dask.py``).

Files are written whole (a temporary file renamed into place) and owner-only (0600 in 0700
folders); a partly written file from a crash is never a checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

import kinship
from kinship.genetics.frequencies import table_hash
from kinship.matching.streaming import Entries, ShardResult

__all__ = ["run_fingerprint", "load", "save", "load_or_score", "clear"]

_SIDES = ("candidate_best", "family_best", "hits")
_FIELDS = ("candidate", "family", "score")
#: The entries' counts (:class:`~kinship.matching.streaming.Entries`), written when a side has them.
_COUNTS = ("n_compared", "n_inconsistent", "unlinked")
#: The hits' calibration tails, written when a side has them.
_TAIL = "tail"


def run_fingerprint(run, params, shards) -> str:
    """sha256 of everything a run's shard results depend on: the stored inputs (their hash),
    the effective frequency table, the loci and linked pairs, the parameters, the code version
    and the shards (families and candidates of each).

    Parameters
    ----------
    run : kinship.app.match_run.EncodedRun
    params : kinship.app.parameters.MatchParameters
    shards : list of (ndarray, ndarray)
        :attr:`kinship.app.match_run.RunPlan.shards`.
    """
    h = hashlib.sha256()
    h.update(json.dumps({
        "inputs": run.inputs.sha256(), "table": table_hash(run.table), "loci": list(run.loci),
        "linked": [p.name for p in run.linked], "theta": run.theta, "parameters": params.as_dict(),
        "code": kinship.code_version(),
    }, sort_keys=True, default=str).encode())
    for families, candidates in shards:
        h.update(np.asarray(families, dtype=np.int64).tobytes())
        h.update(b"|")
        h.update(np.asarray(candidates, dtype=np.int64).tobytes())
        h.update(b"#")
    return h.hexdigest()


def _path(folder: str | Path, fingerprint: str, index: int) -> Path:
    return Path(folder) / fingerprint / f"shard-{index:06d}.npz"


def load(folder: str | Path, fingerprint: str, index: int) -> ShardResult | None:
    """Shard ``index``'s result of the run ``fingerprint``, or None when it was not finished."""
    path = _path(folder, fingerprint, index)
    if not path.is_file():
        return None
    with np.load(path) as z:
        return ShardResult(*(Entries(*(z[f"{side}.{field}"] for field in _FIELDS),
                                     *(z[f"{side}.{field}"] for field in _COUNTS if f"{side}.{field}" in z.files),
                                     tail=z[f"{side}.{_TAIL}"] if f"{side}.{_TAIL}" in z.files else None)
                             for side in _SIDES))


def save(folder: str | Path, fingerprint: str, index: int, result: ShardResult) -> Path:
    """Write shard ``index``'s result whole (temporary file, then rename) and owner-only."""
    path = _path(folder, fingerprint, index)
    missing = [p for p in (path.parent, *path.parent.parents) if not p.is_dir()]
    for folder in reversed(missing):  # each folder made here owner-only (the output folder too, as
        folder.mkdir(exist_ok=True, mode=0o700)  # kinship.report makes it), an existing one left as it is
        os.chmod(folder, 0o700)
    arrays = {f"{side}.{field}": getattr(getattr(result, side), field) for side in _SIDES for field in _FIELDS}
    arrays.update({f"{side}.{field}": getattr(getattr(result, side), field) for side in _SIDES for field in _COUNTS
                   if getattr(result, side).has_counts})
    arrays.update({f"{side}.{_TAIL}": getattr(result, side).tail for side in _SIDES
                   if getattr(result, side).tail is not None})
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_or_score(folder: str | Path | None, fingerprint: str, index: int, score) -> tuple[ShardResult, bool]:
    """Shard ``index``'s checkpoint if the run already finished it, else ``score()`` saved as one.

    Returns
    -------
    (ShardResult, bool)
        The result, and whether it came from a checkpoint. ``folder`` None: no checkpoints
        (``score()`` alone).
    """
    if folder is None:
        return score(), False
    found = load(folder, fingerprint, index)
    if found is not None:
        return found, True
    result = score()
    save(folder, fingerprint, index, result)
    return result, False


def clear(folder: str | Path, fingerprint: str) -> None:
    """Remove the run's checkpoints (after it is finished), and ``folder`` when it is left
    empty; nothing if there are none."""
    shutil.rmtree(Path(folder) / fingerprint, ignore_errors=True)
    try:
        Path(folder).rmdir()  # only when empty: another run's checkpoints stay
    except OSError:
        pass
