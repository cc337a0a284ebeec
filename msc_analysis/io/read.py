"""Read the raw files of a cut as text, without changing them.

Every cell arrives as a string (empty string = missing) together with its spreadsheet row
number, so later checks can point at the exact cell.

The folder is listed before anything is opened. Only the files the format names are read:
``cut.yaml``, the table CSVs (or one ``.xlsx`` workbook) and a README. Each is opened
read-only, never through a symbolic link, and only after its size (taken from the folder
entry itself) is checked against ``definitions/cut_limits.yaml``. Anything else in the folder
(other files, sub-folders, extra sheets of the workbook) is listed as a data-quality note and
never read or hashed.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .csv_table import read_csv
from .folder import (FOLDER_NOTE, OTHER_WORKBOOKS, README_FILES, file_table, is_workbook, list_folder,
                     read_listed)
from .meta import META_FILE, read_meta
from .problems import Problem
from .spec import TABLES, cut_limits, identifier_patterns, table_columns
from .workbook import read_workbook

# FOLDER_NOTE, README_FILES and OTHER_WORKBOOKS live in .folder; still importable from here.
__all__ = ["RawCut", "read_raw_cut", "FOLDER_NOTE", "README_FILES", "OTHER_WORKBOOKS"]


@dataclass
class RawCut:
    """Text tables of a cut as found on disk, plus what was wrong with them."""

    meta: dict
    tables: dict[str, pd.DataFrame]  # index = spreadsheet row number
    sources: dict[str, str]  # table -> file name used in messages
    files: pd.DataFrame  # file, bytes, sha256 of every file read
    problems: list[Problem]
    #: data-quality rows (table, column, issue, n_rows, action) about what was found but not read
    notes: list[tuple] = field(default_factory=list)


def read_raw_cut(path: Path) -> RawCut:
    """Read ``cut.yaml`` and every table of the cut folder ``path``."""
    problems: list[Problem] = []
    notes: list[tuple] = []
    limits = cut_limits()
    listing = list_folder(Path(path), limits, problems, notes)
    contents = read_listed(Path(path), listing, problems)
    files = file_table(contents)
    meta: dict = {}
    if META_FILE in contents:
        meta = read_meta(contents[META_FILE], problems)
    elif META_FILE not in listing.claimed:
        problems.append(Problem(META_FILE, None, None, None, "the file is missing; it must give cut_id, "
                                "study_id and cutoff_date" + listing.hint(META_FILE)))
    workbooks = sorted(n for n in listing.claimed if is_workbook(n))
    csvs = [f"{t}.csv" for t in TABLES if f"{t}.csv" in listing.claimed]
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    if workbooks and csvs:
        problems.append(Problem(workbooks[0], None, None, None,
                                "a cut holds either CSV files or one .xlsx workbook, not both"))
    elif len(workbooks) > 1:
        problems.append(Problem(", ".join(workbooks), None, None, None,
                                "expected at most one .xlsx workbook in the cut folder"))
    elif workbooks:
        if workbooks[0] in contents:
            tables, sources = read_workbook(workbooks[0], contents[workbooks[0]],
                                            limits["max_workbook_unpacked_bytes"], problems, notes)
    elif not listing.other_workbooks:  # otherwise the workbook in another format is the message
        for table in TABLES:
            name = f"{table}.csv"
            sources[table] = name
            if name in contents:
                frame = read_csv(name, contents[name], problems)
                if frame is not None:
                    tables[table] = frame
            elif name not in listing.claimed:
                problems.append(Problem(name, None, None, None,
                                        "the file is missing" + listing.hint(name) + f"; every cut needs "
                                        f"{name} (a header row alone is fine when there are no records)"))
    for table, frame in list(tables.items()):
        tables[table] = _check_header(table, sources[table], frame, problems)
    return RawCut(meta, tables, sources, files, problems, notes)


# ------------------------------------------------------------------------------------------
# the header
# ------------------------------------------------------------------------------------------

def _check_header(table: str, source: str, frame: pd.DataFrame, problems: list[Problem]):
    specs = table_columns(table)
    known = {c.column for c in specs}
    cols = [str(c).strip() for c in frame.columns]
    frame.columns = cols
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    for c in dupes:
        problems.append(Problem(source, 1, c, None, "the column appears more than once"))
    unknown = [c for c in cols if c not in known]
    for c in unknown:
        identifier = next((what for rx, what in identifier_patterns() if rx.search(c)), None)
        if identifier:
            problems.append(Problem(source, 1, c, None,
                                    f"looks like a direct identifier ({identifier}); reports are shared, "
                                    "so remove this column from the export"))
        else:
            hint = difflib.get_close_matches(c.lower(), sorted(known - set(cols)), n=1, cutoff=0.6)
            problems.append(Problem(source, 1, c, None,
                                    "not a column of the cut format"
                                    + (f"; did you mean '{hint[0]}'?" if hint else
                                       f"; {table} holds: {', '.join(s.column for s in specs)}")))
    for spec in specs:
        if spec.column_required and spec.column not in cols:
            hint = difflib.get_close_matches(spec.column, [c.lower() for c in unknown], n=1, cutoff=0.6)
            near = next((c for c in unknown if c.lower() == hint[0]), None) if hint else None
            problems.append(Problem(source, 1, spec.column, None,
                                    "this required column is missing"
                                    + (f" (found '{near}': a misspelling?)" if near else "")))
    keep = [c for c in dict.fromkeys(cols) if c in known]
    return frame.loc[:, ~frame.columns.duplicated()][keep]
