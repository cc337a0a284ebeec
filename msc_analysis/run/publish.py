"""Publishing a finished report folder atomically, and the lock that keeps runs apart.

On Linux the new folder and the old one are exchanged in one step (``renameat2`` with
``RENAME_EXCHANGE``), so ``reports/<cut_id>/`` is at every instant either the complete old
report or the complete new one. Where that call is not available the old folder is renamed
aside first; a run killed between the two renames leaves the old report in
``reports/.<cut_id>.previous/``, which the next run puts back.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

__all__ = ["publish", "run_lock", "RunLocked"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class RunLocked(RuntimeError):
    """Another run is writing the same report."""


@contextmanager
def run_lock(out_dir: Path, cut_id: str):
    """Hold an exclusive lock on ``out_dir/.<cut_id>.lock`` for the duration of a run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f".{cut_id}.lock"
    with open(path, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(f"another msc-analysis run is writing {out_dir / cut_id}; "
                            "wait for it to finish and run again") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def restore_interrupted(final: Path) -> None:
    """Put back a report left aside by a run killed in the middle of a non-atomic publish."""
    aside = final.with_name(f".{final.name}.previous")
    if aside.exists() and not final.exists():
        os.rename(aside, final)
    elif aside.exists():
        shutil.rmtree(aside)


def publish(work: Path, final: Path) -> None:
    """Make the finished folder ``work`` the report at ``final``; remove the old report."""
    restore_interrupted(final)
    if not final.exists():
        os.rename(work, final)
        return
    if _exchange(work, final):
        shutil.rmtree(work)  # ``work`` now holds the old report
        return
    aside = final.with_name(f".{final.name}.previous")
    os.rename(final, aside)
    os.rename(work, final)
    shutil.rmtree(aside)


def _exchange(a: Path, b: Path) -> bool:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    result = libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # file system or kernel without exchange: fall back
    raise OSError(err, os.strerror(err), str(b))
