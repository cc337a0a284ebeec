"""Which folders hold cuts: the newest cut, and the previous one, found from each cut.yaml alone.

A folder is looked at through its ``cut.yaml`` only (read strictly by :mod:`msc_analysis.io.meta`),
never loaded, and never followed through a link, so that a broken neighbour cannot stop a run.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from ..io.meta import META_FILE, check_name, read_meta_file

__all__ = ["CutFolder", "find_cuts", "newest_cut", "previous_cut", "previous_folder", "read_cut_yaml"]


@dataclass(frozen=True)
class CutFolder:
    """A folder holding a ``cut.yaml``, as seen before its cut is loaded.

    ``problem`` says why the folder cannot be used (its cut.yaml is unreadable or invalid,
    or the folder is a link); it is empty when ``cut_id`` and ``cutoff_date`` are valid.
    """

    path: Path
    cut_id: str = ""
    cutoff_date: dt.date | None = None
    problem: str = ""


def find_cuts(cuts_dir: str | Path) -> list[CutFolder]:
    """Every sub-folder of ``cuts_dir`` holding a cut.yaml: usable ones oldest first, then the others.

    Usable folders are ordered by cutoff date, then cut_id, then folder name. A folder whose
    cut.yaml cannot be read, or that is a link to another folder, is listed with its
    ``problem``; it is never followed or loaded. Raises FileNotFoundError if ``cuts_dir`` is
    not a folder.
    """
    cuts_dir = Path(cuts_dir).resolve()
    if not cuts_dir.is_dir():
        raise FileNotFoundError(f"{cuts_dir}: no such folder; expected a folder of cut folders")
    usable, unusable = [], []
    with os.scandir(cuts_dir) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        path, meta_path = Path(entry.path), Path(entry.path) / META_FILE
        if entry.is_symlink():
            if os.path.isdir(path) and os.path.lexists(meta_path):
                unusable.append(CutFolder(path, problem="a link to another folder; cut folders are "
                                          "not followed through links"))
            continue
        if not entry.is_dir(follow_symlinks=False) or not os.path.lexists(meta_path):
            continue
        meta, problems = read_cut_yaml(meta_path)
        if problems or not check_name(meta.get("cut_id")) or not isinstance(meta.get("cutoff_date"), dt.date):
            what = "; ".join(problems[:2]) or "cut.yaml: no valid cut_id and cutoff_date"
            more = f" (and {len(problems) - 2} more problems)" if len(problems) > 2 else ""
            unusable.append(CutFolder(path, problem=what + more))
        else:
            usable.append(CutFolder(path, meta["cut_id"], meta["cutoff_date"]))
    return sorted(usable, key=lambda f: (f.cutoff_date, f.cut_id, f.path.name)) + unusable


def read_cut_yaml(path: Path) -> tuple[dict, list[str]]:
    """:func:`read_meta_file`, with anything it could not cope with turned into a problem."""
    try:
        meta, problems = read_meta_file(path)
    except Exception as exc:  # e.g. a folder named cut.yaml: never let a neighbour stop a run
        return {}, [f"{META_FILE}: cannot be read ({type(exc).__name__}: {exc})"]
    return meta, [str(p) for p in problems]


def newest_cut(cuts_dir: str | Path) -> Path:
    """The cut folder in ``cuts_dir`` with the latest ``cutoff_date`` in its cut.yaml."""
    found = [f for f in find_cuts(cuts_dir) if not f.problem]
    if not found:
        raise FileNotFoundError(f"no cut folders (with a valid cut.yaml) in {cuts_dir}")
    return found[-1].path


def previous_cut(cut_dir: str | Path) -> Path | None:
    """The cut beside ``cut_dir`` with the latest cutoff date before its own, if any."""
    cut_dir = Path(cut_dir).resolve()
    meta, problems = read_cut_yaml(cut_dir / META_FILE)
    if problems:
        return None
    found = previous_folder(cut_dir, meta["cut_id"], meta["cutoff_date"], find_cuts(cut_dir.parent))
    return found.path if found else None


def previous_folder(cut_dir: Path, cut_id: str, cutoff: dt.date, folders: list[CutFolder]) -> CutFolder | None:
    """The usable folder with another cut_id and the latest cutoff date strictly before ``cutoff``."""
    earlier = [f for f in folders if not f.problem and f.path != cut_dir and f.cut_id != cut_id
               and f.cutoff_date < cutoff]
    return earlier[-1] if earlier else None  # ``folders`` is ordered by cutoff date
