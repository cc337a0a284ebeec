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

import csv
import datetime as dt
import difflib
import hashlib
import io
import os
import stat
import zipfile
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

import pandas as pd

from .meta import MAX_META_BYTES, META_FILE, read_meta
from .problems import Problem, visible
from .spec import TABLES, cut_limits, identifier_patterns, table_columns

__all__ = ["RawCut", "read_raw_cut", "FOLDER_NOTE", "README_FILES", "OTHER_WORKBOOKS"]

_BOM = b"\xef\xbb\xbf"
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
    listing = _list_folder(Path(path), problems, notes)
    contents: dict[str, bytes] = {}
    for name, limit in listing.to_read.items():
        data = _read_file(Path(path) / name, name, limit, problems)
        if data is not None:
            contents[name] = data
    files = pd.DataFrame(
        [(name, len(b), hashlib.sha256(b).hexdigest()) for name, b in contents.items()],
        columns=["file", "bytes", "sha256"],
    )
    meta: dict = {}
    if META_FILE in contents:
        meta = read_meta(contents[META_FILE], problems)
    elif META_FILE not in listing.claimed:
        problems.append(Problem(META_FILE, None, None, None, "the file is missing; it must give cut_id, "
                                "study_id and cutoff_date" + listing.hint(META_FILE)))
    workbooks = sorted(n for n in listing.claimed if _is_workbook(n))
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
            tables, sources = _read_workbook(workbooks[0], contents[workbooks[0]],
                                             limits["max_workbook_unpacked_bytes"], problems, notes)
    elif not listing.other_workbooks:  # otherwise the workbook in another format is the message
        for table in TABLES:
            name = f"{table}.csv"
            sources[table] = name
            if name in contents:
                frame = _read_csv(name, contents[name], problems)
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
# the folder: what is there, what is read
# ------------------------------------------------------------------------------------------

@dataclass
class _Listing:
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


def _format_names() -> list[str]:
    return [META_FILE] + [f"{t}.csv" for t in TABLES]


def _is_workbook(name: str) -> bool:
    # '~$cut.xlsx' is the lock file Excel leaves while the workbook is open; '.' files are hidden
    return name.lower().endswith(".xlsx") and not name.startswith(("~$", "."))


def _list_folder(path: Path, problems: list[Problem], notes: list[tuple]) -> _Listing:
    limits = cut_limits()
    listing = _Listing({}, set(), [], {})
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
        elif name == META_FILE or name in _format_names() or name in README_FILES or _is_workbook(name):
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
    has_tables = any(_is_workbook(n) or n.endswith(".csv") for n in listing.claimed)
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
        target = _near_miss(name)
        if target is not None and target not in listing.claimed:
            listing.near.setdefault(target, name)
        hint = f" (did you mean {target}?)" if target else ""
        notes.append((FOLDER_NOTE, visible(name), f"file not part of the cut format{hint}", 1, "not read"))
    return listing


def _near_miss(name: str) -> str | None:
    """The format file name that ``name`` is probably meant to be (other case, typo, extra suffix)."""
    names = _format_names()
    same = [n for n in names if n.lower() == name.lower()]
    if same:
        return same[0]
    close = difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.8)
    return close[0] if close else None


def _read_file(path: Path, name: str, limit: int, problems: list[Problem]) -> bytes | None:
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


# ------------------------------------------------------------------------------------------
# CSV files
# ------------------------------------------------------------------------------------------

def _read_csv(name: str, data: bytes, problems: list[Problem]) -> pd.DataFrame | None:
    if data.startswith(_BOM):  # Excel's "CSV UTF-8" adds a byte-order mark: harmless, removed
        data = data[len(_BOM):]
    why = _not_csv_text(data)
    if why:
        problems.append(Problem(name, None, None, None, why))
        return None
    if not data.strip():
        problems.append(Problem(name, None, None, None,
                                "the file is empty; expected at least the header row"))
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(_encoding_problem(name, data, exc))
        return None
    records = _records(name, text, problems)
    header = records[0][1] if records else None
    if header is None:
        return None  # the first record could not be read: reported
    if not any(f.strip() for f in header):
        problems.append(Problem(name, 1, None, None,
                                "the first line is blank; the header must be on line 1"))
        return None
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolons (;)" if ";" in header[0] else "tabs"
        problems.append(Problem(name, 1, None, None,
                                f"the columns are separated by {sep}, not commas; export the table again "
                                "as 'CSV UTF-8 (comma delimited)'"))
        return None
    width = len(header)
    body, index = [], []
    for number, fields in records[1:]:  # spreadsheet row numbers
        if fields is None or not any(f.strip() for f in fields):
            continue  # unreadable (reported) or blank line
        if len(fields) != width:
            problems.append(Problem(name, number, None, ",".join(fields),
                                    f"expected {width} comma-separated fields like the header, "
                                    f"found {len(fields)}"))
            continue
        body.append(fields)
        index.append(number)
    return _table_frame(name, header, body, index, problems)


def _not_csv_text(data: bytes) -> str | None:
    """Why ``data`` is not CSV text at all (UTF-16, a workbook under a .csv name), or None."""
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (head and head.count(0) * 4 >= len(head)):
        return ("the file is UTF-16 text (Excel's 'Unicode Text'), not UTF-8; save it as "
                "'CSV UTF-8 (comma delimited)'")
    if head.startswith(b"PK\x03\x04"):
        return ("this is a zip archive (an .xlsx workbook saved under a .csv name?), not CSV text; "
                "export the sheet as 'CSV UTF-8 (comma delimited)'")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ("this is an Excel 97-2003 (.xls) file under a .csv name, not CSV text; export the sheet "
                "as 'CSV UTF-8 (comma delimited)'")
    return None


def _records(name: str, text: str, problems: list[Problem]) -> list[tuple[int, list[str] | None]]:
    """Each CSV record with its spreadsheet row number; ``None`` for a record that could not be
    read (reported). Line ends may be LF, CRLF or CR alone (old Mac "CSV" exports)."""
    try:  # the usual case: every record readable
        return list(enumerate(csv.reader(io.StringIO(text, newline="")), start=1))
    except csv.Error:
        pass
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[tuple[int, list[str] | None]] = []
    row = 0
    while True:
        row += 1
        line = reader.line_num
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(name, row, None, None, _csv_error(exc)))
            out.append((row, None))
            if reader.line_num == line:  # no progress: stop rather than loop
                break
            continue
        out.append((row, fields))
    return out


def _csv_error(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        limit = csv.field_size_limit()
        return (f"a field is longer than {limit // 1024} KiB, which no value of the cut format is "
                "(an opening quote \" without its closing quote joins the following lines into one field)")
    return f"not readable as CSV ({exc})"


def _encoding_problem(name: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    # Latin-1 maps each byte to one character, so character positions are byte positions.
    text = data.decode("latin-1")
    row = column = value = None
    try:
        before = list(csv.reader(io.StringIO(text[: exc.start] + "x", newline="")))
        row, field_no = len(before), len(before[-1]) - 1  # fields before the bad byte
        records = csv.reader(io.StringIO(text, newline=""))
        header = next(records, [])
        cells = header if row == 1 else next((r for i, r in enumerate(records, start=2) if i == row), [])
        column = header[field_no].strip() if field_no < len(header) else None
        value = cells[field_no] if field_no < len(cells) else None
    except csv.Error:
        pass
    return Problem(name, row, column, value,
                   "the file is not UTF-8 text (probably Latin-1/Windows-1252); "
                   "save it as 'CSV UTF-8' and export again")


def _table_frame(source: str, header: list[str], body: list[list[str]], index: list[int],
                 problems: list[Problem]) -> pd.DataFrame:
    """Rows of text under ``header`` as a frame; a column without a header but with values is
    refused (one without values, e.g. from a trailing comma, is dropped)."""
    unnamed = [i for i, h in enumerate(header) if not str(h).strip()]
    for i in unnamed:
        first = next((row for row, fields in zip(index, body) if fields[i].strip()), None)
        if first is not None:
            problems.append(Problem(source, 1, None, None,
                                    f"column {_letter(i)} has no header but holds values (from row "
                                    f"{first}); give it a header of the cut format or delete the column"))
    if unnamed:  # rows holding values only there are dropped too: the column is refused already
        keep = [i for i in range(len(header)) if i not in unnamed]
        header = [header[i] for i in keep]
        rows = [(row, [fields[i] for i in keep]) for row, fields in zip(index, body)]
        rows = [(row, fields) for row, fields in rows if any(f.strip() for f in fields)]
        index, body = [row for row, _ in rows], [fields for _, fields in rows]
    return pd.DataFrame(body, columns=header, index=pd.Index(index, name="row", dtype="int64"),
                        dtype=str)


def _letter(i: int) -> str:
    """Spreadsheet column letter of the 0-based column ``i`` (0 -> A, 26 -> AA)."""
    letters = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# ------------------------------------------------------------------------------------------
# .xlsx workbook
# ------------------------------------------------------------------------------------------

def _read_workbook(name: str, data: bytes, unpacked_limit: int, problems: list[Problem],
                   notes: list[tuple]):
    import openpyxl

    def refuse(what):
        problems.append(Problem(name, None, None, None, what))
        return {}, {}

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return refuse("not readable as an .xlsx workbook (not a valid zip archive); save it again as .xlsx")
    if unpacked > unpacked_limit:
        return refuse(f"the workbook unpacks to {unpacked:,} bytes, over the limit of {unpacked_limit:,} "
                      "(definitions/cut_limits.yaml); not read")
    try:  # once for the formulas, once for the results saved with them
        formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        values = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        return refuse(f"not readable as an .xlsx workbook ({type(exc).__name__}: {exc})")
    tables, sources = {}, {}
    try:
        for sheet in formulas.sheetnames:
            if sheet not in TABLES:
                notes.append((FOLDER_NOTE, f"{visible(name)}, sheet {visible(sheet)}",
                              "sheet not part of the cut format", 1, "not read"))
        for table in TABLES:
            source = f"{name}, sheet {table}"
            sources[table] = source
            if table not in formulas.sheetnames:
                near = [s for s in formulas.sheetnames if s.strip().lower() == table]
                hint = f"did you mean '{near[0]}'? sheet names are case-sensitive; " if near else ""
                problems.append(Problem(source, None, None, None,
                                        f"the sheet is missing; {hint}sheets found: "
                                        f"{', '.join(formulas.sheetnames)}"))
                continue
            try:
                frame = _read_sheet(table, source, formulas[table], values[table], problems, notes)
            except Exception as exc:  # a damaged sheet fails while it is parsed (read-only mode)
                problems.append(Problem(source, None, None, None,
                                        f"the sheet cannot be read ({type(exc).__name__}: {exc})"))
                continue
            if frame is not None:
                tables[table] = frame
    finally:
        formulas.close()
        values.close()
    return tables, sources


def _read_sheet(table: str, source: str, ws_formulas, ws_values, problems: list[Problem],
                notes: list[tuple]) -> pd.DataFrame | None:
    """One sheet as text rows, read over its real used range (not its stored dimension)."""
    from openpyxl.utils import get_column_letter

    if not hasattr(ws_formulas, "iter_rows"):
        problems.append(Problem(source, None, None, None, "is a chart sheet, not a table"))
        return None
    ws_formulas.reset_dimensions()  # the stored <dimension> may understate the used range
    ws_values.reset_dimensions()
    kinds = {c.column: c.type for c in table_columns(table)}
    header: list[str] = []
    types: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    computed = 0
    for r, (cells_f, cells_v) in enumerate(zip_longest(ws_formulas.iter_rows(), ws_values.iter_rows(),
                                                       fillvalue=()), start=1):
        texts = []
        for c, (cf, cv) in enumerate(zip_longest(cells_f, cells_v)):
            value = getattr(cv, "value", None)
            where = header[c] if c < len(header) and header[c] else get_column_letter(c + 1)
            if getattr(cf, "data_type", None) == "f":
                if value is None:
                    problems.append(Problem(source, r, where, str(cf.value),
                                            "the cell holds a formula without a saved result, so its "
                                            "value cannot be read; open and save the workbook in Excel "
                                            "(or paste the values) and export again"))
                    texts.append("")
                    continue
                computed += 1
            if getattr(cv, "data_type", None) == "e":
                problems.append(Problem(source, r, where, str(value),
                                        "the cell holds a spreadsheet error; correct it and export again"))
                texts.append("")
                continue
            texts.append(_cell_text(value, types[c] if c < len(types) else "text"))
        if r == 1:
            header = [t.strip() for t in texts]
            types = [kinds.get(h, "text") for h in header]
        elif any(texts):  # blank rows are skipped, as blank lines in a CSV
            rows.append((r, texts))
    width = max([_used(header)] + [_used(t) for _, t in rows])
    header = header[:width]
    if not any(header):
        problems.append(Problem(source, 1 if rows else None, None, None,
                                "the first row is blank; the header must be on row 1" if rows else
                                "the sheet is empty; expected at least the header row"))
        return None
    header += [""] * (width - len(header))
    body = [(t + [""] * (width - len(t)))[:width] for _, t in rows]
    index = [r for r, _ in rows]
    if computed:
        notes.append((table, "(formulas)", "cells computed by a spreadsheet formula", computed,
                      "the result saved in the workbook was used"))
    return _table_frame(source, header, body, index, problems)


def _used(texts: list[str]) -> int:
    """Number of cells up to the last one that is not empty."""
    n = len(texts)
    while n and not texts[n - 1]:
        n -= 1
    return n


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
