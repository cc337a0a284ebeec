"""Decode and read one CSV table of a cut as text.

Every cell arrives as a string (empty string = missing) with its spreadsheet row number as the
index, so later checks can point at the exact cell. The bytes must be UTF-8 (a byte-order mark
is removed); UTF-16, a workbook under a ``.csv`` name, Latin-1 text, other separators and
records of the wrong width are reported, never guessed at.
"""
from __future__ import annotations

import csv
import io

import pandas as pd

from .problems import Problem

__all__ = ["read_csv", "table_frame"]

_BOM = b"\xef\xbb\xbf"


def read_csv(name: str, data: bytes, problems: list[Problem]) -> pd.DataFrame | None:
    """The CSV table ``name`` as text (index = spreadsheet row number), or None if refused."""
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
    return table_frame(name, header, body, index, problems)


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
