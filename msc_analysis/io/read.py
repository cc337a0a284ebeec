"""Read the raw files of a cut as text, without changing them.

Every cell arrives as a string (empty string = missing) together with its spreadsheet row
number, so later checks can point at the exact cell. Files are opened read-only.
"""
from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from .problems import Problem
from .spec import TABLES, identifier_patterns, table_columns

__all__ = ["RawCut", "read_raw_cut"]

_BOM = b"\xef\xbb\xbf"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _TextDatesLoader(yaml.SafeLoader):
    """YAML loader that leaves dates as text, so a bad date is reported, not raised."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class RawCut:
    """Text tables of a cut as found on disk, plus what was wrong with them."""

    meta: dict
    tables: dict[str, pd.DataFrame]  # index = spreadsheet row number
    sources: dict[str, str]  # table -> file name used in messages
    files: pd.DataFrame  # file, bytes, sha256
    problems: list[Problem]


def read_raw_cut(path: Path) -> RawCut:
    """Read ``cut.yaml`` and every table of the cut folder ``path``."""
    problems: list[Problem] = []
    contents: dict[str, bytes] = {}
    for f in sorted(p for p in path.iterdir() if p.is_file()):
        with open(f, "rb") as fh:  # read-only: the cut is never written
            contents[f.name] = fh.read()
    files = pd.DataFrame(
        [(name, len(b), hashlib.sha256(b).hexdigest()) for name, b in contents.items()],
        columns=["file", "bytes", "sha256"],
    )
    meta = _read_meta(contents, problems)
    workbooks = sorted(n for n in contents if n.lower().endswith(".xlsx"))
    csvs = {t: f"{t}.csv" for t in TABLES if f"{t}.csv" in contents}
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    if workbooks and csvs:
        problems.append(Problem(workbooks[0], None, None, None,
                                "a cut holds either CSV files or one .xlsx workbook, not both"))
    elif len(workbooks) > 1:
        problems.append(Problem(", ".join(workbooks), None, None, None,
                                "expected at most one .xlsx workbook in the cut folder"))
    elif workbooks:
        tables, sources = _read_workbook(workbooks[0], contents[workbooks[0]], problems)
    else:
        for table in TABLES:
            name = f"{table}.csv"
            sources[table] = name
            if name not in contents:
                problems.append(Problem(name, None, None, None,
                                        f"the file is missing; every cut needs {name} "
                                        "(a header row alone is fine when there are no records)"))
                continue
            frame = _read_csv(name, contents[name], problems)
            if frame is not None:
                tables[table] = frame
    for table, frame in list(tables.items()):
        tables[table] = _check_header(table, sources[table], frame, problems)
    return RawCut(meta, tables, sources, files, problems)


def _read_meta(contents: dict[str, bytes], problems: list[Problem]) -> dict:
    if "cut.yaml" not in contents:
        problems.append(Problem("cut.yaml", None, None, None,
                                "the file is missing; it must give cut_id, study_id and cutoff_date"))
        return {}
    try:
        meta = yaml.load(contents["cut.yaml"].decode("utf-8-sig"), Loader=_TextDatesLoader)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(Problem("cut.yaml", None, None, None, f"not readable as YAML text ({exc})"))
        return {}
    if not isinstance(meta, dict):
        problems.append(Problem("cut.yaml", None, None, None,
                                "expected keys cut_id, study_id, cutoff_date (and optional description)"))
        return {}
    for key in ("cut_id", "study_id", "cutoff_date"):
        if not meta.get(key):
            problems.append(Problem("cut.yaml", None, key, None, "this key is required"))
    cutoff = str(meta.get("cutoff_date") or "")
    if cutoff:
        try:
            if not _ISO_DATE.fullmatch(cutoff):
                raise ValueError(cutoff)
            meta["cutoff_date"] = dt.date.fromisoformat(cutoff)
        except ValueError:
            problems.append(Problem("cut.yaml", None, "cutoff_date", cutoff,
                                    "expected a real date written YYYY-MM-DD, e.g. 2020-10-30"))
    unknown = sorted(set(meta) - {"cut_id", "study_id", "cutoff_date", "description"})
    for key in unknown:
        problems.append(Problem("cut.yaml", None, key, None,
                                "not a known key (expected cut_id, study_id, cutoff_date, description)"))
    return meta


def _read_csv(name: str, data: bytes, problems: list[Problem]) -> pd.DataFrame | None:
    if data.startswith(_BOM):  # Excel's "CSV UTF-8" adds a byte-order mark: harmless, removed
        data = data[len(_BOM):]
    if not data.strip():
        problems.append(Problem(name, None, None, None,
                                "the file is empty; expected at least the header row"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(_encoding_problem(name, data, exc))
        return None
    rows = list(csv.reader(io.StringIO(text)))
    header, width = rows[0], len(rows[0])
    body, index = [], []
    for number, fields in enumerate(rows[1:], start=2):  # spreadsheet row numbers
        if not any(f.strip() for f in fields):
            continue  # blank line
        if len(fields) != width:
            problems.append(Problem(name, number, None, ",".join(fields),
                                    f"expected {width} comma-separated fields like the header, "
                                    f"found {len(fields)}"))
            continue
        body.append(fields)
        index.append(number)
    return pd.DataFrame(body, columns=header, index=pd.Index(index, name="row", dtype="int64"),
                        dtype=str)


def _encoding_problem(name: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    before = data[: exc.start]
    row = before.count(b"\n") + 1
    header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8", "replace")]), [])
    line_start = before.rfind(b"\n") + 1
    line_end = data.find(b"\n", exc.start)
    line = data[line_start: line_end if line_end != -1 else None].decode("latin-1")
    prefix = data[line_start: exc.start].decode("latin-1")
    field = len(next(csv.reader([prefix + "x"]), [""])) - 1  # fields before the bad byte
    cells = next(csv.reader([line.rstrip("\r")]), [])
    column = header[field].strip() if field < len(header) else None
    value = cells[field] if field < len(cells) else line
    return Problem(name, row, column, value,
                   "the file is not UTF-8 text (probably Latin-1/Windows-1252); "
                   "save it as 'CSV UTF-8' and export again")


def _read_workbook(name: str, data: bytes, problems: list[Problem]):
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        problems.append(Problem(name, None, None, None, f"not readable as an .xlsx workbook ({exc})"))
        return {}, {}
    tables, sources = {}, {}
    for table in TABLES:
        source = f"{name}, sheet {table}"
        sources[table] = source
        if table not in book.sheetnames:
            problems.append(Problem(source, None, None, None,
                                    f"the sheet is missing; sheets found: {', '.join(book.sheetnames)}"))
            continue
        rows = list(book[table].iter_rows(values_only=True))
        header = [_cell_text(h, "text") for h in rows[0]] if rows else []
        while header and header[-1] == "":
            header.pop()
        if not header:
            problems.append(Problem(source, None, None, None,
                                    "the sheet is empty; expected at least the header row"))
            continue
        kinds = {c.column: c.type for c in table_columns(table)}
        types = [kinds.get(h.strip(), "text") for h in header]
        body = [[_cell_text(v, k) for v, k in zip(list(r) + [None] * (len(header) - len(r)), types)]
                for r in rows[1:]]
        frame = pd.DataFrame(body, columns=header, dtype=str,
                             index=pd.RangeIndex(2, len(body) + 2, name="row"))
        blank = (frame == "").all(axis=1)
        tables[table] = frame.loc[~blank]
    book.close()
    return tables, sources


def _cell_text(v, kind: str) -> str:
    """An Excel cell as the text a CSV export would hold (real date cells become ISO text).

    A date-time cell in a ``date`` column keeps its time only if it has one, so that the
    parser can refuse it; in a ``datetime`` column it always carries the time.
    """
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        if kind == "datetime" or v.time() != dt.time(0):
            return v.strftime("%Y-%m-%dT%H:%M")
        return v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


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
