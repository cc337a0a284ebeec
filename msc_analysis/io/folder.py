"""The cut folder: what is in it, which files are read, and their bytes and hashes.

The folder is listed before anything is opened. Only the files the format names are read:
``cut.yaml``, the table CSVs (or one ``.xlsx`` workbook) and a README. Each is opened
read-only, never through a symbolic link, and only after its size (taken from the folder
entry itself) is checked against ``definitions/cut_limits.yaml``. Anything else in the folder
(other files, sub-folders) is listed as a data-quality note and never read or hashed.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .meta import MAX_META_BYTES, META_FILE
from .problems import Problem, visible
from .spec import TABLES

__all__ = ["FOLDER_NOTE", "README_FILES", "OTHER_WORKBOOKS", "Listing", "format_names", "is_workbook",
           "list_folder", "near_miss", "read_file", "read_listed", "file_table"]

#: ``table`` of the data-quality rows about the folder's files (and the workbook's sheets).
FOLDER_NOTE = "(cut folder)"
README_FILES = ("README.md", "README.txt")
#: Spreadsheet files the loader does not read, and what they are.
OTHER_WORKBOOKS = {
    ".xlsm": "an Excel workbook with macros (.xlsm)",
    ".xlsb": "a binary Excel workbook (.xlsb)",
    ".xls": "an Excel 97-2003 workbook (.xls)",
    ".ods": "an OpenDocument spreadsheet (.ods)",
    ".numbers": "a Numbers spreadsheet (.numbers)",
}
_SAVE_AS = ("save it as an .xlsx workbook (Excel Workbook, without macros) or export each sheet "
            "as 'CSV UTF-8 (comma delimited)'")


@dataclass
class Listing:
    """What :func:`list_folder` found: the files to read and the names of the format found."""

    to_read: dict[str, int]  # file name -> size limit (bytes)
    claimed: set[str]  # names of the format found in the folder (to read, or refused)
    other_workbooks: list[str]  # refused: the tables are in a workbook format the kit does not read
    near: dict[str, str]  # format file name -> a file in the folder that is a near miss of it

    def hint(self, name: str) -> str:
        found = self.near.get(name)
        if found is None:
            return ""
        case = "; file names are case-sensitive" if found.lower() == name.lower() else ""
        return f" (found '{visible(found)}': did you mean {name}?{case})"


def format_names() -> list[str]:
    """The file names of the CSV form of the cut format: ``cut.yaml`` and one CSV per table."""
    return [META_FILE] + [f"{t}.csv" for t in TABLES]


def is_workbook(name: str) -> bool:
    """Whether ``name`` is an .xlsx workbook of the cut (not a lock file or hidden file)."""
    # '~$cut.xlsx' is the lock file Excel leaves while the workbook is open; '.' files are hidden
    return name.lower().endswith(".xlsx") and not name.startswith(("~$", "."))


def list_folder(path: Path, limits: dict, problems: list[Problem], notes: list[tuple]) -> Listing:
    """What is in the cut folder ``path``; ``limits`` as :func:`~msc_analysis.io.spec.cut_limits`."""
    listing = Listing({}, set(), [], {})
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        problems.append(Problem(str(path), None, None, None,
                                f"the cut folder cannot be listed ({exc.strerror})"))
        return listing
    unknown, others = [], []
    for entry in entries:
        name = entry.name
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError as exc:
            listing.claimed.add(name)
            problems.append(Problem(name, None, None, None, f"cannot be read ({exc.strerror})"))
            continue
        if stat.S_ISLNK(info.st_mode):
            listing.claimed.add(name)
            problems.append(Problem(name, None, None, None,
                                    "is a symbolic link; a cut folder must hold its own files, so the "
                                    "link was not followed: copy the file itself into the folder"))
        elif stat.S_ISDIR(info.st_mode):
            notes.append((FOLDER_NOTE, visible(name) + "/", "sub-folder not part of the cut format", 1,
                          "not read"))
        elif not stat.S_ISREG(info.st_mode):
            listing.claimed.add(name)
            problems.append(Problem(name, None, None, None,
                                    "is not a regular file (a pipe, socket or device); not read"))
        elif name == META_FILE or name in format_names() or name in README_FILES or is_workbook(name):
            limit = (MAX_META_BYTES if name == META_FILE else limits["max_readme_bytes"]
                     if name in README_FILES else limits["max_table_file_bytes"])
            listing.claimed.add(name)
            if info.st_size > limit:
                problems.append(Problem(name, None, None, None,
                                        f"the file is {info.st_size:,} bytes; the limit for this file is "
                                        f"{limit:,} bytes (definitions/cut_limits.yaml), so it was not read"))
            else:
                listing.to_read[name] = limit
        elif Path(name).suffix.lower() in OTHER_WORKBOOKS and not name.startswith(("~$", ".")):
            others.append(name)
        else:
            unknown.append(name)
    has_tables = any(is_workbook(n) or n.endswith(".csv") for n in listing.claimed)
    for name in others:
        if has_tables:
            notes.append((FOLDER_NOTE, visible(name), "spreadsheet file not part of the cut format", 1,
                          "not read"))
        else:
            listing.other_workbooks.append(name)
            kind = OTHER_WORKBOOKS[Path(name).suffix.lower()]
            problems.append(Problem(name, None, None, None,
                                    f"the tables are in {kind}, which the kit does not read; {_SAVE_AS}"))
    for name in unknown:
        target = near_miss(name)
        if target is not None and target not in listing.claimed:
            listing.near.setdefault(target, name)
        hint = f" (did you mean {target}?)" if target else ""
        notes.append((FOLDER_NOTE, visible(name), f"file not part of the cut format{hint}", 1, "not read"))
    return listing


def near_miss(name: str) -> str | None:
    """The format file name that ``name`` is probably meant to be (other case, typo, extra suffix)."""
    names = format_names()
    same = [n for n in names if n.lower() == name.lower()]
    if same:
        return same[0]
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.8)
    return close[0] if close else None


def read_file(path: Path, name: str, limit: int, problems: list[Problem]) -> bytes | None:
    """The bytes of ``path``; never through a link, never more than ``limit`` bytes."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        what = ("is a symbolic link; a cut folder must hold its own files" if os.path.islink(path)
                else f"cannot be read ({exc.strerror})")
        problems.append(Problem(name, None, None, None, what))
        return None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):  # replaced between listing and opening
            problems.append(Problem(name, None, None, None, "is not a regular file; not read"))
            return None
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            problems.append(Problem(name, None, None, None, f"cannot be read ({exc.strerror})"))
            return None
    if len(data) > limit:
        problems.append(Problem(name, None, None, None,
                                f"the file is larger than its limit of {limit:,} bytes "
                                "(definitions/cut_limits.yaml)"))
        return None
    return data


def read_listed(path: Path, listing: Listing, problems: list[Problem]) -> dict[str, bytes]:
    """The bytes of every file of ``listing`` to read (file name -> bytes); failures reported."""
    contents: dict[str, bytes] = {}
    for name, limit in listing.to_read.items():
        data = read_file(Path(path) / name, name, limit, problems)
        if data is not None:
            contents[name] = data
    return contents


def file_table(contents: dict[str, bytes]) -> pd.DataFrame:
    """``file``, ``bytes`` and ``sha256`` (hex) of every file read."""
    return pd.DataFrame(
        [(name, len(b), hashlib.sha256(b).hexdigest()) for name, b in contents.items()],
        columns=["file", "bytes", "sha256"],
    )
