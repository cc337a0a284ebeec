"""Publishing a finished report folder atomically, and the lock that keeps runs apart.

On Linux the new folder and the old one are exchanged in one step (``renameat2`` with
``RENAME_EXCHANGE``), so ``reports/<cut_id>/`` is at every instant either the complete old
report or the complete new one. Where that call is not available the old folder is renamed
aside first; a run killed between the two renames leaves the old report in
``reports/.<cut_id>.previous/``, which the next run puts back.

Every path written here is a direct entry of the report folder named after a checked
``cut_id`` (:func:`report_path`): never a link, never anywhere else. Old build folders are
found by listing the report folder and comparing names, never by a glob built from data.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import re
import shutil
import stat
from contextlib import contextmanager
from pathlib import Path

from ..io.meta import NAME_RULE, check_name

__all__ = ["publish", "run_lock", "report_path", "building_prefix", "remove_stale_builds",
           "restore_interrupted", "published_record", "check_apart", "RunLocked", "RunRefused"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: ``tempfile.mkdtemp`` ends a folder name with 8 of these characters.
_MKDTEMP_SUFFIX = re.compile(r"[a-z0-9_]{8}")
#: A report's provenance.json is a few kilobytes; a larger one is not read.
MAX_RECORD_BYTES = 64 * 1024 * 1024


class RunLocked(RuntimeError):
    """Another run is writing the same report."""


class RunRefused(ValueError):
    """The run was refused before anything was written (a name or a folder cannot be used)."""


def _shown(value: object, limit: int = 70) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def report_path(out_dir: Path, cut_id: str, kind: str = "report") -> Path:
    """The path of one of a cut's entries in ``out_dir``, checked to stay a plain entry of it.

    ``kind`` is ``report`` (``<cut_id>``), ``lock`` (``.<cut_id>.lock``) or ``aside``
    (``.<cut_id>.previous``). ``out_dir`` must be resolved. Raises :class:`RunRefused` if
    ``cut_id`` is not a valid name, or the path would leave ``out_dir`` or is a link.
    """
    if not check_name(cut_id):
        raise RunRefused(f"the cut_id {_shown(cut_id)} cannot name a report folder: expected {NAME_RULE}. "
                         "Correct cut.yaml; nothing was written")
    name = {"report": cut_id, "lock": f".{cut_id}.lock", "aside": f".{cut_id}.previous"}[kind]
    path = out_dir / name
    if path.is_symlink():
        raise RunRefused(f"{path} is a symbolic link; msc-analysis never writes through links. "
                         "Remove the link and run again; nothing was written")
    if (Path(os.path.abspath(path)).parent != out_dir or path.resolve().parent != out_dir
            or os.path.basename(path) != name):
        raise RunRefused(f"{path} would not be inside the report folder {out_dir}; nothing was written")
    return path


def building_prefix(cut_id: str) -> str:
    """Start of the name of the hidden folder a report of ``cut_id`` is built in."""
    return f".{cut_id}.building."


def remove_stale_builds(out_dir: Path, cut_id: str) -> list[str]:
    """Remove the build folders of ``cut_id`` left in ``out_dir`` by a run that was killed.

    Only entries named exactly ``.<cut_id>.building.XXXXXXXX`` (the ``mkdtemp`` suffix) are
    removed, so another cut's builds (``.<cut_id>.building.x.building.XXXXXXXX`` belongs to cut
    ``<cut_id>.building.x``) are never touched. Call it holding the cut's lock. Returns the
    names removed.
    """
    prefix, removed = building_prefix(cut_id), []
    with os.scandir(out_dir) as listing:
        entries = list(listing)
    for entry in entries:
        if (entry.name.startswith(prefix) and _MKDTEMP_SUFFIX.fullmatch(entry.name[len(prefix):])
                and entry.is_dir(follow_symlinks=False)):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
    return removed


def check_apart(out_dir: Path, final: Path, folders: list[Path]) -> None:
    """Refuse a report whose folders would hold, or sit inside, a cut folder it reads."""
    for folder in folders:
        if out_dir.is_relative_to(folder):
            raise RunRefused(f"the report folder {out_dir} is inside the cut folder {folder}; give a "
                             "report folder outside every cut folder with --out")
        for path in (final, final.with_name(f".{final.name}.previous")):
            if folder.is_relative_to(path):
                raise RunRefused(f"the report would be written to {path}, which is (or holds) the cut "
                                 f"folder {folder}; give another report folder with --out")


def published_record(report: Path) -> dict:
    """The provenance.json of a published report ({} if absent or unreadable); no link followed."""
    try:
        fd = os.open(report / "provenance.json", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return {}
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        try:
            record = json.loads(fh.read(MAX_RECORD_BYTES))
        except ValueError:
            return {}
    return record if isinstance(record, dict) else {}


@contextmanager
def run_lock(out_dir: Path, cut_id: str):
    """Hold an exclusive lock on ``out_dir/.<cut_id>.lock`` for the duration of a run."""
    out_dir = Path(out_dir).resolve()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunRefused(f"the report folder {out_dir} cannot be created ({exc.strerror})") from None
    path = report_path(out_dir, cut_id, "lock")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as exc:
        raise RunRefused(f"cannot write the lock file {path} in the report folder ({exc.strerror}); "
                         "is the report folder writable?") from None
    with os.fdopen(fd, "a") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RunRefused(f"{path} is not a regular file; remove it and run again")
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
    for path in (final, aside):
        if path.is_symlink():
            raise RunRefused(f"{path} is a symbolic link; msc-analysis never writes through links. "
                             "Remove the link and run again")
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
