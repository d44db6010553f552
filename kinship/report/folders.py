"""Run folders that appear whole or not at all, readable by their owner only.

A run's outputs are written into a hidden temporary folder beside the final one
(``.<run id>.<random>.partial``, created ``0700`` by :func:`tempfile.mkdtemp`), flushed to disk,
made owner-only (folders ``0700``, files ``0600``) and renamed into place with one
:func:`os.replace`. A crash, a full disk or any exception while writing leaves no run folder and
no truncated file: the temporary folder is removed on every exit path that Python sees
(exceptions, ``KeyboardInterrupt``, ``SystemExit``); one left by a ``kill -9`` or a power cut is
removed the next time the same run folder is written. The rename is atomic because the
temporary folder is in the same parent, hence on the same file system.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PRIVATE_DIR_MODE", "PRIVATE_FILE_MODE", "atomic_folder", "make_private_dirs"]

#: Mode of every folder the project creates for outputs, stores and backups.
PRIVATE_DIR_MODE = 0o700
#: Mode of every output, store and backup file the project writes.
PRIVATE_FILE_MODE = 0o600


def make_private_dirs(folder: str | Path) -> Path:
    """Create ``folder`` and its missing parents, each one ``0700``; existing ones are left as they are.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    Path
        ``folder``.
    """
    folder = Path(folder)
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:  # created meanwhile by another writer
            continue
        os.chmod(path, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    return folder


def _partial_prefix(final: Path) -> str:
    return f".{final.name}."


@contextmanager
def atomic_folder(final: str | Path) -> Iterator[Path]:
    """Yield an empty private temporary folder; on success it becomes ``final``, on failure it goes.

    Parameters
    ----------
    final : str or Path
        The folder to create (e.g. ``out/<run id>``). Its parent is created (``0700``) if
        missing. An existing ``final`` is replaced as a whole.

    Yields
    ------
    Path
        The temporary folder to write into (same parent as ``final``).

    Notes
    -----
    On leaving the block normally, every file is flushed (``fsync``) and set to ``0600``, the
    folder to ``0700``, then renamed to ``final`` and the parent folder is flushed. On any
    exception the temporary folder is removed and the exception propagates; ``final`` is
    untouched.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> with atomic_folder(root / "run-1") as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in root.iterdir()), oct((root / "run-1" / "a.txt").stat().st_mode & 0o777)
    (['run-1'], '0o600')
    """
    final = Path(final)
    parent = make_private_dirs(final.parent)
    for stale in parent.glob(_partial_prefix(final) + "*.partial"):  # left by a killed writer
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=_partial_prefix(final), suffix=".partial", dir=parent))
    try:
        yield tmp
        _seal(tmp)
        if final.exists():
            aside = Path(tempfile.mkdtemp(prefix=_partial_prefix(final), suffix=".partial", dir=parent))
            os.replace(final, aside / final.name)
            os.replace(tmp, final)
            shutil.rmtree(aside, ignore_errors=True)
        else:
            os.replace(tmp, final)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _seal(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            os.chmod(path, PRIVATE_FILE_MODE)
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for name in dirs:
            os.chmod(os.path.join(root, name), PRIVATE_DIR_MODE)
    os.chmod(folder, PRIVATE_DIR_MODE)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
