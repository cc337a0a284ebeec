"""Decode and read one CSV table of a cut as text.

Every cell arrives as a string (empty string = missing) with its spreadsheet row number as the
index, so later checks can point at the exact cell. The bytes must be UTF-8 (a byte-order mark
is removed); UTF-16, a workbook under a ``.csv`` name, Latin-1 text, other separators and
records of the wrong width are reported, never guessed at.

Two readers give the same frame. The usual file (one record per line, LF or CRLF line ends,
every record as wide as the header) is read by pyarrow's CSV reader, all columns as text;
anything else (quoted line breaks, CR-only line ends, records of another width, NUL bytes,
undecodable bytes, a line longer than Python's field limit) is read record by record with
Python's ``csv`` module, which numbers and reports each record. Lines holding a quote are
read by both and must agree, or the file is read the Python way.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .problems import Problem

__all__ = ["read_csv", "table_frame"]

_BOM = b"\xef\xbb\xbf"
#: The text dtype of every raw column (pandas' default ``str``: Arrow-backed, NaN for missing).
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def read_csv(name: str, data: bytes, problems: list[Problem], fast: bool = True) -> pd.DataFrame | None:
    """The CSV table ``name`` as text (index = spreadsheet row number), or None if refused.

    ``fast=False`` reads every file record by record (the fallback; same result, slower).
    """
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
    parsed = _arrow_records(data) if fast else None
    if parsed is None:
        return _read_records(name, data, problems)
    header, body = parsed
    if _header_refused(name, header, problems):
        return None
    keep = ~_blank_rows(list(body.values()))  # blank lines are skipped, but keep their number
    index = np.arange(2, len(keep) + 2)[keep]
    columns = {i: col.filter(pa.array(keep)) if not keep.all() else col for i, col in body.items()}
    return _frame(name, header, columns, index, problems)


def _read_records(name: str, data: bytes, problems: list[Problem]) -> pd.DataFrame | None:
    """The Python reader: record by record, each unreadable or ragged record reported."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(_encoding_problem(name, data, exc))
        return None
    records = _records(name, text, problems)
    header = records[0][1] if records else None
    if header is None:
        return None  # the first record could not be read: reported
    if _header_refused(name, header, problems):
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
    return table_frame(name, header, body, index, problems)


def _header_refused(name: str, header: list[str], problems: list[Problem]) -> bool:
    if not any(f.strip() for f in header):
        problems.append(Problem(name, 1, None, None,
                                "the first line is blank; the header must be on line 1"))
        return True
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        sep = "semicolons (;)" if ";" in header[0] else "tabs"
        problems.append(Problem(name, 1, None, None,
                                f"the columns are separated by {sep}, not commas; export the table again "
                                "as 'CSV UTF-8 (comma delimited)'"))
        return True
    return False


def _arrow_records(data: bytes) -> tuple[list[str], dict[int, pa.ChunkedArray]] | None:
    """Header and text columns of ``data`` read by pyarrow, or None when the file is not the
    usual kind (then the Python reader reads it): data row ``i`` (0-based) must be line ``i + 2``."""
    if b"\x00" in data or data.count(b"\r") != data.count(b"\r\n"):
        return None  # NUL bytes, or CR-only line ends (also inside quotes): numbered by Python
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], ends + 1))
    if starts[-1] == len(data):
        starts = starts[:-1]  # the file ends with a line break
    stops = np.append(ends, len(data))[: len(starts)]
    if (stops - starts).max() > csv.field_size_limit():
        return None  # a field may be longer than Python's limit: reported by the Python reader
    try:
        first = data[: stops[0]].decode("utf-8")
        width = len(next(csv.reader([first.rstrip("\r")]), []))
        if width == 0:
            return None  # the first line is blank: reported by the Python reader
        names = [f"f{i}" for i in range(width)]
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, UnicodeDecodeError, csv.Error):
        return None  # ragged records, undecodable bytes...: read and reported by Python
    if table.num_rows != len(starts):
        return None  # a record spans lines (a quoted line break): numbered by Python
    if b'"' in data:  # lines with a quote: Python must read them the same way
        quoted = np.unique(np.searchsorted(starts, np.flatnonzero(buf == 34), side="right") - 1)
        arrow = table.take(pa.array(quoted)).to_pylist()
        for line, cells in zip(quoted.tolist(), arrow):
            text = data[starts[line]: stops[line]].decode("utf-8").rstrip("\r")
            try:
                if list(csv.reader([text])) != [[cells[n] for n in names]]:
                    return None
            except csv.Error:
                return None
    header = [table.column(i)[0].as_py() for i in range(width)]
    return header, {i: table.column(i).slice(1) for i in range(width)}


#: RE2 pattern of a cell that Python's ``str.strip()`` empties: only characters for which
#: ``str.isspace()`` is true (tested against Python over every code point).
_BLANK = (r"^[\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
          r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$")


def _blank_rows(columns: list[pa.ChunkedArray]) -> np.ndarray:
    """Rows whose every cell is empty or whitespace (``not any(f.strip() for f in fields)``)."""
    n = len(columns[0]) if columns else 0
    rows = np.arange(n)
    for col in columns:
        if not rows.size:
            break
        part = col if rows.size == n else col.take(pa.array(rows))
        rows = rows[pc.match_substring_regex(part, _BLANK).to_numpy(zero_copy_only=False)]
    blank = np.zeros(n, dtype=bool)
    blank[rows] = True
    return blank


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


def table_frame(source: str, header: list[str], body: list[list[str]], index: list[int],
                problems: list[Problem]) -> pd.DataFrame:
    """Rows of text under ``header`` as a frame; a column without a header but with values is
    refused (one without values, e.g. from a trailing comma, is dropped)."""
    columns = {i: pa.chunked_array([pa.array([fields[i] for fields in body], type=pa.string())])
               for i in range(len(header))}
    return _frame(source, header, columns, np.asarray(index, dtype="int64"), problems)


def _frame(source: str, header: list[str], columns: dict[int, pa.ChunkedArray], index: np.ndarray,
           problems: list[Problem]) -> pd.DataFrame:
    """The frame of the text ``columns`` (position -> cells) under ``header``, rows ``index``."""
    unnamed = [i for i, h in enumerate(header) if not str(h).strip()]
    for i in unnamed:
        filled = np.flatnonzero(~_blank_rows([columns[i]]))
        if filled.size:
            problems.append(Problem(source, 1, None, None,
                                    f"column {_letter(i)} has no header but holds values (from row "
                                    f"{index[filled[0]]}); give it a header of the cut format or delete "
                                    "the column"))
    if unnamed:  # rows holding values only there are dropped too: the column is refused already
        keep = [i for i in range(len(header)) if i not in unnamed]
        header = [header[i] for i in keep]
        filled = ~_blank_rows([columns[i] for i in keep])
        columns = {i: columns[i].filter(pa.array(filled)) for i in keep}
        index = index[filled]
    frame = pd.DataFrame({k: pd.array(col, dtype=TEXT) for k, col in enumerate(columns.values())},
                         index=pd.Index(index, name="row", dtype="int64"))
    frame.columns = header
    return frame


def _letter(i: int) -> str:
    """Spreadsheet column letter of the 0-based column ``i`` (0 -> A, 26 -> AA)."""
    letters = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
