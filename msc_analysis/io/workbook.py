"""Read the tables of a cut from one ``.xlsx`` workbook, one sheet per table.

Each sheet becomes the text a CSV export of it would hold (real date cells become ISO text);
formulas are used only through the result saved with them. The workbook's unpacked size is
checked against ``definitions/cut_limits.yaml`` before it is opened. Sheets that are not
tables of the cut format are listed as data-quality notes and never read.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from itertools import zip_longest

import pandas as pd

from .csv_table import table_frame
from .folder import FOLDER_NOTE
from .problems import Problem, visible
from .spec import TABLES, table_columns

__all__ = ["read_workbook"]


def read_workbook(name: str, data: bytes, unpacked_limit: int, problems: list[Problem],
                  notes: list[tuple]):
    """The tables of the workbook ``name`` (table -> frame) and their sources (table -> name used
    in messages); refused whole if it unpacks to more than ``unpacked_limit`` bytes."""
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
    return table_frame(source, header, body, index, problems)


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
