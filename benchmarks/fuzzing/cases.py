"""How a fuzz case is made: copy one base cut, apply one to three mutations drawn from the seed.

Case ``number`` of ``seed`` is built from ``random.Random(f"{seed}:{number}")`` alone, so any case
can be rebuilt on its own. Besides the drawing (:func:`make_case`), this module holds the
mutations of the folder as a whole: files and symlinks (:func:`m_files`) and the conversion of the
cut to an ``.xlsx`` workbook with damaged sheets (:func:`m_workbook`). The mutations of what is
inside the files live in :mod:`fuzzing.mutations`.
"""
from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import zipfile
from pathlib import Path

from .mutations import (Case, csv_rows, m_bytes, m_cell, m_degenerate, m_header_cell, m_rows,
                        m_yaml)

__all__ = ["BASES", "FAMILIES", "ORDER", "ROOT", "SECRET", "m_files", "m_workbook", "make_case",
           "to_workbook"]

ROOT = Path(__file__).resolve().parents[2]  # the repository: benchmarks/fuzzing/cases.py
BASES = {p.name: p for p in [*sorted((ROOT / "data" / "cuts").glob("cut-*")),
                             ROOT / "tests" / "fixtures" / "valid_cut"]}
SECRET = "SECRET-FIRST-LINE-of-a-file-outside-the-cut"  # first line of outside/secret.txt


# ------------------------------------------------------------------------------------- files
def m_files(case: Case, rng: random.Random) -> str:
    kind = rng.choice(["delete-table", "delete-yaml", "extra-file", "wrong-case", "symlink-table",
                       "symlink-yaml", "symlink-extra", "symlink-dangling", "symlink-dir", "sub-folder",
                       "empty-table", "stray-big-file", "neighbour-broken", "neighbour-same-id",
                       "table-is-folder"])
    csvs = sorted(case.cut.glob("*.csv"))
    target = rng.choice(csvs) if csvs else case.cut / "subjects.csv"
    outside = case.root / "outside"
    if kind == "delete-table":
        target.unlink(missing_ok=True)
    elif kind == "delete-yaml":
        (case.cut / "cut.yaml").unlink(missing_ok=True)
    elif kind == "extra-file":
        name, data = rng.choice([("names.csv", "name,cpf\nJoão Silva,123.456.789-09\n".encode()),
                                 (".DS_Store", bytes(range(256))), ("~$subjects.xlsx", b"\x00" * 165),
                                 ("subjects.csv.bak", b"x,y\n1,2\n"), ("notes.txt", "nota ção\n".encode()),
                                 ("subjects (1).csv", b"subject_id\nS99\n")])
        (case.cut / name).write_bytes(data)
        target = case.cut / name
    elif kind == "wrong-case" and not target.exists():
        kind += " (no CSV to rename)"
    elif kind == "wrong-case":
        new = rng.choice([target.stem.capitalize() + ".csv", target.name.upper(), target.stem + ".CSV",
                          target.stem + " .csv"])
        target.rename(case.cut / new)
        target = case.cut / new
    elif kind in ("symlink-table", "symlink-yaml", "symlink-extra"):
        link = case.cut / {"symlink-table": target.name, "symlink-yaml": "cut.yaml"}.get(kind, "extra.csv")
        dest = outside / (link.name if rng.random() < 0.5 and link.exists() else "secret.txt")
        if dest.name != "secret.txt":
            shutil.copyfile(link, dest)
        link.unlink(missing_ok=True)
        link.symlink_to(dest if rng.random() < 0.5 else os.path.relpath(dest, case.cut))
    elif kind == "symlink-dangling":
        (case.cut / "gone.csv").symlink_to(case.root / "no-such-file")
    elif kind == "symlink-dir":
        (case.cut / "up").symlink_to(rng.choice([case.root, case.cut, outside]))
    elif kind == "sub-folder":
        sub = case.cut / rng.choice(["old", "subjects", ".git", "cut-2020-09-15"])
        sub.mkdir()
        if csvs and rng.random() < 0.5:
            shutil.copy(target, sub / target.name)
        if rng.random() < 0.3:
            (sub / "cut.yaml").write_text("cut_id: nested\n")
    elif kind == "empty-table":
        target.write_bytes(b"")
    elif kind == "stray-big-file":
        (case.cut / "dump.bin").write_bytes(random.Random(case.number).randbytes(2 * 2**20))
    elif kind == "neighbour-broken":
        (case.cut.parent / "broken").mkdir()
        (case.cut.parent / "broken" / "cut.yaml").write_bytes(rng.choice([b"cut_id: [\n", b"\xff\xfe\x00",
                                                                           b"- a\n", b""]))
    elif kind == "neighbour-same-id":
        shutil.copytree(case.cut, case.cut.parent / (case.cut.name + "-copy"), symlinks=True)
    elif kind == "table-is-folder":
        target.unlink(missing_ok=True)
        target.mkdir()
    return f"files: {kind} {target.name}"


# --------------------------------------------------------------------------------- workbooks
def to_workbook(case: Case, rng: random.Random):
    """Replace the CSV files by one .xlsx workbook (values as text, or typed like Excel would)."""
    import datetime as dt

    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    typed = rng.random() < 0.5
    book = openpyxl.Workbook()
    book.remove(book.active)
    for path in sorted(case.cut.glob("*.csv")):
        sheet = book.create_sheet(path.stem[:31])
        for row in csv_rows(path):
            out = []
            for v in row:
                v = ILLEGAL_CHARACTERS_RE.sub("?", v)
                if typed and re.fullmatch(r"-?\d+(\.\d+)?(e\d+)?", v):
                    v = float(v)
                elif typed and re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d)?", v):
                    with contextlib.suppress(ValueError):  # 2020-02-30 stays text
                        v = dt.datetime.fromisoformat(v)
                elif v.startswith("="):
                    v = "'" + v  # a formula only where a workbook mutation puts one
                out.append(v)
            sheet.append(out)
        path.unlink()
    return book, f"workbook ({'typed' if typed else 'text'} cells)"


def _rewrite_zip(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as src:
        items = [(i, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in items:
            dst.writestr(info, edit(info.filename, data))


def m_workbook(case: Case, rng: random.Random) -> str:
    book, what = to_workbook(case, rng)
    kind = rng.choice(["none", "formula-no-cache", "wrong-dimension", "no-dimension", "extra-sheet",
                       "missing-sheet", "unlabelled-column", "sheet-case", "error-cell", "odd-cell",
                       "merged", "far-cell", "hidden-sheet", "xlsm", "plus-csv", "corrupt"])
    sheets = [s for s in book.worksheets if s.max_row > 1] or book.worksheets
    sheet = rng.choice(sheets)
    row, col = rng.randint(2, max(2, sheet.max_row)), rng.randint(1, sheet.max_column)
    if kind == "formula-no-cache":
        sheet.cell(row, col).value = rng.choice(["=1+1", "=TODAY()", "=A2", '=HYPERLINK("x","y")'])
    elif kind == "extra-sheet":
        extra = book.create_sheet(rng.choice(["names", "Sheet1", "notes", "subjects_old"]))
        extra.append(["name", "cpf"])
        extra.append(["João Silva", "123.456.789-09"])
    elif kind == "missing-sheet":
        book.remove(sheet)
    elif kind == "unlabelled-column":
        for r in range(2, sheet.max_row + 1):
            sheet.cell(r, sheet.max_column + (1 if r == 2 else 0), "x")
    elif kind == "sheet-case":
        sheet.title = rng.choice([sheet.title.capitalize(), " " + sheet.title, sheet.title.upper()])
    elif kind == "error-cell":
        sheet.cell(row, col).value = "#DIV/0!"
        sheet.cell(row, col).data_type = "e"
    elif kind == "odd-cell":
        import datetime as dt
        sheet.cell(row, col).value = rng.choice([True, 10**30, -1.5, dt.datetime(1, 1, 1),
                                                 dt.time(14, 30), dt.timedelta(days=3), 1e30])
    elif kind == "merged" and sheet.max_row > 2:
        sheet.merge_cells(start_row=2, start_column=1, end_row=3, end_column=2)
    elif kind == "far-cell":
        sheet.cell(rng.choice([5000, sheet.max_row + 3]), rng.choice([1, 60]), "x")
    elif kind == "hidden-sheet":
        sheet.sheet_state = "hidden"
    names = ["data.xlsm"] if kind == "xlsm" else ["cut.xlsx", "data.XLSX", "export.xlsx"]
    name = case.cut / rng.choice(names)
    book.save(name)
    if kind in ("wrong-dimension", "no-dimension"):
        def edit(filename, data):
            if not filename.startswith("xl/worksheets/sheet"):
                return data
            new = b"" if kind == "no-dimension" else b'<dimension ref="A1:B2"/>'
            return re.sub(rb"<dimension ref=\"[^\"]*\"/>", new, data)
        _rewrite_zip(name, edit)
    elif kind == "corrupt":
        data = bytearray(name.read_bytes())
        del data[rng.randrange(len(data)):]
        name.write_bytes(bytes(data))
    elif kind == "plus-csv":
        (case.cut / "pcr.csv").write_text("subject_id,collected_on,result\n")
    return f"{what}: {kind} {sheet.title!r} R{row}C{col}"


FAMILIES = [("degenerate", m_degenerate, 3), ("cell", m_cell, 6), ("header", m_header_cell, 1),
            ("rows", m_rows, 3), ("bytes", m_bytes, 3),
            ("yaml", m_yaml, 3), ("files", m_files, 3), ("workbook", m_workbook, 3)]
ORDER = ["degenerate", "yaml", "cell", "header", "rows", "bytes", "workbook", "files"]


def make_case(seed: int, number: int, root: Path) -> Case:
    """Build case ``number`` of ``seed`` under ``root`` (which must not exist yet)."""
    rng = random.Random(f"{seed}:{number}")
    base = rng.choice(sorted(BASES))
    folder = rng.choice([base, base, "cut-under-test"])
    case = Case(seed, number, root, root / "cuts" / folder, base)
    shutil.copytree(BASES[base], case.cut)
    (root / "outside").mkdir()
    (root / "outside" / "secret.txt").write_text(f"{SECRET},cpf\nJoão,123.456.789-09\n")
    names = [n for n, _, _ in FAMILIES]
    picked = set(rng.choices(names, weights=[w for _, _, w in FAMILIES], k=rng.choice([1, 1, 1, 2, 2, 3])))
    funcs = {n: f for n, f, _ in FAMILIES}
    for name in sorted(picked, key=ORDER.index):
        case.mutations.append(funcs[name](case, rng))
    return case

