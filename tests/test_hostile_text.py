"""Text from a cut is data everywhere: markup and formula payloads in every free-text field of a
cut render inert on every page and are neutralised in every results CSV.

The report is run once on a copy of the test fixture whose every free-text field
(``subjects.arm``, ``labs.test`` and ``labs.unit`` of tests other than CRP, ``adverse_events.term``,
the ``description`` in ``cut.yaml``) holds HTML and spreadsheet-formula payloads. The cut has two
arms, one named by markup and one by a formula: with several arms the arm names reach the per-arm
tables and the results CSVs, and every notebook still runs. An earlier cut beside it (not run) gives
every subject the formula arm, so ``10_changes`` lists the arms that changed.
"""
import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from msc_analysis.report.results import (neutralise_formula, read_result_file, read_results, restore_formula,
                                         result_rows, write_results)

from .conftest import FIXTURE_CUT

#: Every payload holds ``alert(`` so that a payload turned into live markup can be found.
MARKUP = ['<script>alert("term")</script>', "<img src=x onerror=alert(1)>",
          "\"'><svg onload=alert(2)>", "<iframe src=javascript:alert(3)></iframe>",
          "</td></tr></table><style>body{display:none}</style><b onclick=alert(4)>x"]
FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "@SUM(A1)", "-2+3", "\tTAB=1"]
ARM_MARKUP = '<script>alert("arm")</script><img src=x onerror=alert(5)>'
ARM_FORMULA = '=HYPERLINK("http://x","arm")'
DESCRIPTION = ('<script>alert("description")</script><img src=x onerror=alert(6)> '
               '=HYPERLINK("http://x","y") synthetic? no: a hostile test fixture')
#: A lab test that looks like CRP without being a listed spelling: named in the data-quality table.
LAB_LOOKALIKE = "<img src=x onerror=alert(7)> C-reactive"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _write_hostile_cut(folder: Path, cut_id: str, cutoff: str, arms: list[str]) -> None:
    shutil.copytree(FIXTURE_CUT, folder)
    meta = (FIXTURE_CUT / "cut.yaml").read_text().splitlines()
    keep = [line for line in meta if not line.startswith(("cut_id:", "cutoff_date:", "description:"))]
    (folder / "cut.yaml").write_text("\n".join([f"cut_id: {cut_id}", f"cutoff_date: {cutoff}", *keep,
                                                f"description: {json.dumps(DESCRIPTION)}"]) + "\n")
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["arm"] = [arms[i % len(arms)] for i in range(len(subjects))]
    subjects.to_csv(folder / "subjects.csv", index=False)
    events = pd.read_csv(folder / "adverse_events.csv", dtype=str, keep_default_na=False)
    template = events.iloc[0]  # S01, treated, grade 1, onset the day of the infusion
    extra = [template.copy() for _ in MARKUP + FORMULAS]
    for row, term in zip(extra, MARKUP + FORMULAS):
        row["term"] = term
    events = pd.concat([events, pd.DataFrame(extra)], ignore_index=True)
    events.loc[1, "term"] = MARKUP[1]  # the fatal AE of S02 too (deaths listing)
    events.to_csv(folder / "adverse_events.csv", index=False)
    labs = pd.read_csv(folder / "labs.csv", dtype=str, keep_default_na=False)
    first = labs.iloc[0]
    other = [dict(first, test=test, unit=unit, value="1.0")
             for test, unit in [(MARKUP[0], MARKUP[1]), (FORMULAS[0], FORMULAS[2]), (FORMULAS[3], FORMULAS[1]),
                                (LAB_LOOKALIKE, "mg/L")]]
    pd.concat([labs, pd.DataFrame(other)], ignore_index=True).to_csv(folder / "labs.csv", index=False)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    cuts, out = root / "cuts", root / "reports"
    cuts.mkdir()
    _write_hostile_cut(cuts / "early", "hostile-early", "2020-09-20", [ARM_FORMULA])
    _write_hostile_cut(cuts / "late", "hostile-late", "2020-09-30", [ARM_MARKUP, ARM_FORMULA])
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run", str(cuts / "late"), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"late": out / "hostile-late"}


class _Elements(HTMLParser):
    """Every element, attribute and text node of a page, with the element each text is in."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[tuple[str, str]] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("img", "br", "meta", "link", "input", "hr", "col", "source"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open.pop() != tag:
                pass

    def handle_data(self, data):
        self.texts.append((self._open[-1] if self._open else "", data))


def _parse(path: Path) -> _Elements:
    parser = _Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser


def _pages(reports):
    return sorted(p for folder in reports.values() for p in folder.glob("*.html"))


def _csvs(reports):
    return sorted(p for folder in reports.values() for p in (folder / "results").glob("*.csv"))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _text(page: _Elements) -> str:
    """The visible text of a page, white space squashed (printed text is wrapped)."""
    return _squash("".join(t for tag, t in page.texts if tag not in ("script", "style")))


def test_every_notebook_runs_on_a_cut_full_of_payloads(reports):
    for folder in reports.values():
        record = json.loads((folder / "provenance.json").read_text())
        failed = [(n["stem"], n["error"]) for n in record["notebooks"] if not n["ok"]]
        assert not failed
        assert len(record["notebooks"]) == len(list(folder.glob("[0-9]*.html")))


def test_no_page_holds_an_element_or_attribute_made_by_a_payload(reports):
    for path in _pages(reports):
        page = _parse(path)
        policy = [a.get("content", "") for tag, a in page.tags
                  if tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"]
        assert policy and "default-src 'none'" in policy[0] and "script-src" not in policy[0], path.name
        for tag, attrs in page.tags:
            assert tag not in ("iframe", "svg", "object", "embed", "frame"), (path.name, tag)
            assert not [a for a in attrs if a.startswith("on")], (path.name, tag, attrs)
            assert not any("alert(" in (v or "") for v in attrs.values()), (path.name, tag, attrs)
            if tag == "img":
                assert attrs.get("src", "").startswith("data:image/"), (path.name, attrs)
        live = [(tag, t) for tag, t in page.texts if tag in ("script", "style") and "alert(" in t]
        assert not live, (path.name, live)


def test_the_payloads_read_as_plain_text_on_the_pages(reports):
    late = {p.stem: _text(_parse(p)) for p in reports["late"].glob("*.html")}
    for stem, text in late.items():
        if stem != "10_changes":
            assert _squash(DESCRIPTION) in text, stem  # printed on every page, shown on the index
    for term in MARKUP + FORMULAS:
        assert _squash(term) in late["08_safety"], term
    assert LAB_LOOKALIKE in late["00_overview"]  # named in the data-quality table (a DataFrame display)
    # the arm changed between the cuts (pandas cuts long cells at 50 characters in that table)
    assert ARM_MARKUP[:40] in late["10_changes"] and ARM_FORMULA in late["10_changes"]
    for page in ("01_overall_survival", "index"):  # with two arms, the arms are named in tables
        assert ARM_MARKUP in late[page] and ARM_FORMULA in late[page], page


def test_no_text_cell_of_a_results_csv_starts_like_a_formula(reports):
    assert _csvs(reports)
    for path in _csvs(reports):
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                for column, cell in row.items():
                    try:
                        float(cell)
                        continue  # a number, negative or not, is not a formula
                    except ValueError:
                        pass
                    assert not cell.startswith(FORMULA_START), (path.name, column, cell)


def test_the_formula_arm_is_written_neutralised_and_read_back_as_it_was(reports):
    raw = "".join(p.read_text(encoding="utf-8") for p in (reports["late"] / "results").glob("*.csv"))
    groups = set(read_results(reports["late"] / "results")["group"].dropna())
    assert ARM_FORMULA in groups and ARM_MARKUP in groups
    assert "'" + ARM_FORMULA.replace('"', '""') in raw


def test_the_index_page_escapes_the_description_and_says_synthetic_only_from_the_key(reports):
    record = json.loads((reports["late"] / "provenance.json").read_text())
    text = _text(_parse(reports["late"] / "index.html"))
    assert _squash(DESCRIPTION) in text
    assert record["synthetic"] is True  # the fixture's cut.yaml says synthetic: true
    assert "SYNTHETIC DATA" in text


# --- the rules, on small frames --------------------------------------------------------------

def test_a_page_table_escapes_cells_headers_title_footnotes_and_the_empty_text():
    from msc_analysis.report.page import Page

    page = Page(8, None, check=False)
    html = page.table(pd.DataFrame({"<b>head</b>": ["<script>alert(1)</script>"]}), "<i>title</i>",
                      footnotes=["<img src=x onerror=alert(1)>"]).html()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>" not in html and "&lt;b&gt;head&lt;/b&gt;" in html
    assert "<i>title" not in html and "&lt;i&gt;title&lt;/i&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    empty = page.table(pd.DataFrame({"AE term": pd.Series([], dtype=str)}), "AEs",
                       empty_text="<img src=x onerror=alert(1)>").html()
    assert "<img" not in empty and "&lt;img src=x onerror=alert(1)&gt;" in empty


def test_a_page_table_writes_whole_numbers_without_decimals():
    from msc_analysis.report.page import Page

    html = Page(8, None, check=False).table(pd.DataFrame({"Grade": [3], "Events": [12.0]}), "AEs").html()
    assert ">3<" in html and ">12<" in html and "12.0" not in html


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_a_spreadsheet_would_run_gets_one_apostrophe(text):
    assert neutralise_formula(text) == "'" + text
    assert restore_formula(neutralise_formula(text)) == text


@pytest.mark.parametrize("text", ["mg/dL", "all", "", "'quoted'", "a=b", "'", "''"])
def test_other_text_is_written_as_it_is(text):
    assert neutralise_formula(text) == text
    assert restore_formula(text) == text


@pytest.mark.parametrize("text", ["'=1+1", "''-2", "'@x"])
def test_text_that_already_looks_neutralised_comes_back_unchanged(text):
    assert neutralise_formula(text) == "'" + text
    assert restore_formula(neutralise_formula(text)) == text


def test_results_csv_round_trip_keeps_text_and_leaves_numbers_alone(tmp_path):
    rows = result_rows("crp", pd.DataFrame({
        "measure": ["crp_change_mg_dl_median", "crp_change_mg_dl_median"],
        "group": ['=HYPERLINK("http://x","y")', "all"], "day": [7, 28],
        "estimate": [-2.5, 0.25], "ci95_lower": [-3.0, 0.1], "ci95_upper": [-1.0, 0.4], "n": [5, 4],
        "unit": ["-", "mg/dL"], "method": ["@SUM(A1)", "median"]}), cut_id="c1")
    before = rows.copy()
    path = write_results(rows, tmp_path, "demo", cut_id="c1")
    pd.testing.assert_frame_equal(rows, before)  # the input frame is not modified
    with path.open(newline="") as f:
        written = list(csv.DictReader(f))
    assert written[0]["group"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert written[0]["method"] == "'@SUM(A1)" and written[0]["unit"] == "'-"
    assert written[0]["estimate"] == "-2.5" and written[0]["lower"] == "-3.0"
    back = read_result_file(path)
    assert list(back["group"]) == list(rows["group"]) and list(back["method"]) == list(rows["method"])
    assert list(back["unit"]) == ["-", "mg/dL"]
    assert list(back["estimate"]) == [-2.5, 0.25]


def _index(tmp_path, synthetic, description="Real data from site 01 (not synthetic).", error=""):
    from msc_analysis.run.index import provenance, write_index

    cut = SimpleNamespace(cut_id="c1", study_id="s1", cutoff_date=pd.Timestamp("2020-09-30"),
                          description=description, files=pd.DataFrame({"file": ["<b>x.csv</b>"], "bytes": [1],
                                                                       "sha256": ["ab"]}))
    if synthetic is not None:
        cut.synthetic = synthetic
    now = dt.datetime(2020, 10, 1, tzinfo=dt.timezone.utc)
    notebooks = [SimpleNamespace(stem="01_x", ok=not error, error=error, error_anchor="<i>", seconds=1.0)]
    record = provenance(cut, now, now, "f", [], None)
    return record, write_index(tmp_path, cut, record, notebooks).read_text(encoding="utf-8")


def test_index_banner_comes_from_the_synthetic_key_not_from_the_description(tmp_path):
    record, page = _index(tmp_path, synthetic=False, description="SYNTHETIC? No: real patients.")
    assert record["synthetic"] is False and "SYNTHETIC DATA" not in page
    record, page = _index(tmp_path, synthetic=True, description="Data from site 01.")
    assert record["synthetic"] is True and "SYNTHETIC DATA" in page


def test_index_says_nothing_about_synthetic_data_when_the_cut_has_no_such_key(tmp_path):
    record, page = _index(tmp_path, synthetic=None, description="A synthetic cut, says the text.")
    assert record["synthetic"] is False and "SYNTHETIC DATA" not in page and "real" not in page.lower()


def test_index_escapes_the_description_file_names_and_notebook_errors(tmp_path):
    _, page = _index(tmp_path, synthetic=False, description="<script>alert(1)</script>",
                     error="ValueError: <img src=x onerror=alert(2)>")
    parsed = _Elements()
    parsed.feed(page)
    assert not [t for t, a in parsed.tags if t in ("script", "img", "i")]
    assert not [a for t, attrs in parsed.tags for a in attrs.values() if "<" in (a or "")]
    text = _text(parsed)
    assert "<script>alert(1)</script>" in text and "<img src=x onerror=alert(2)>" in text
    assert "<b>x.csv</b>" in text


def test_an_arm_with_dollar_signs_is_drawn_as_text_not_mathtext(tmp_path):
    from .conftest import ROOT

    _write_hostile_cut(tmp_path / "cut", "dollars", "2020-09-30", [r"$\foo{$ arm", "B"])
    (tmp_path / "nb").mkdir()
    shutil.copy(ROOT / "notebooks" / "01_overall_survival.ipynb", tmp_path / "nb")
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run", str(tmp_path / "cut"), "--out",
                           str(tmp_path / "out"), "--notebooks", str(tmp_path / "nb")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
