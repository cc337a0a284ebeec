"""What a board member reads: every rendered page and the PDF packet of the three demo cuts.

No visible text holds a Python or pandas artefact (``NaN``, ``<NA>``, ``inf``, ``None``, a
"rows x columns" line, an ellipsis row) or a number in scientific notation; every page has its
own title, numbered tables with N and links to the index and its neighbours; and the
``10_changes`` page of ``cut-2020-10-30`` names every death that is new since the previous cut.
"""
import html
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from msc_analysis import load_cut

from .conftest import ROOT

CUTS = ROOT / "data" / "cuts"
DEMO_CUTS = sorted(p.name for p in CUTS.iterdir() if (p / "cut.yaml").exists())

#: What must never be read on a page, with the reason shown when it is.
FORBIDDEN = {
    "NaN / nan": re.compile(r"(?<![\w-])(?:NaN|nan|NaT)(?![\w-])"),
    "<NA>": re.compile(r"<NA>"),
    "inf": re.compile(r"(?<![\w-])-?inf(?![\w-])", re.IGNORECASE),
    "None": re.compile(r"(?<![\w-])None(?![\w-])"),
    "pandas 'rows x columns' line": re.compile(r"\d+\s+rows\s+[×x]\s+\d+\s+columns"),
    "ellipsis row": re.compile(r"^\s*(?:\.\.\.|…)\s*$", re.MULTILINE),
    "scientific notation": re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])"),
    "Python repr": re.compile(r"\{'[a-z_]+': |\bdtype[:=]|Timestamp\('"),
}


class _VisibleText(HTMLParser):
    """The text a browser shows: everything outside <style>, <script> and <head> but the <title>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.title, self._skip, self._in_title = [], "", 0, False

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        self._in_title = tag == "title"
        if tag in ("p", "div", "tr", "br", "li", "h1", "h2", "h3", "td", "th", "pre"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def visible_text(page_html: str) -> tuple[str, str]:
    """(title, visible text) of an HTML page."""
    parser = _VisibleText()
    parser.feed(page_html)
    return parser.title.strip(), "".join(parser.parts)


def forbidden_in(text: str) -> list[str]:
    """Each forbidden pattern found in ``text``, with a few characters around it."""
    found = []
    for what, pattern in FORBIDDEN.items():
        for match in list(pattern.finditer(text))[:3]:
            start, end = max(0, match.start() - 40), match.end() + 40
            found.append(f"{what}: ...{text[start:end]!r}...")
    return found


def test_forbidden_patterns_catch_what_the_board_must_never_read():
    for text in ("n = NaN", "estimate nan", "<NA>", "upper inf", "None", "67 rows × 5 columns",
                 "a\n...\nb", "1e+06 cells", "1.000146e+06", "{'age_points': 3}"):
        assert forbidden_in(text), text
    for text in ("Inflammation", "infusion", "Nonetheless", "None-such", "NE", "NR", "10.5 days",
                 "cut-2020-10-30", "grade 3e", "e-mail"):
        assert not forbidden_in(text), text


def _pages(report):
    return sorted(p for p in report.glob("[0-9]*.html"))


@pytest.mark.parametrize("cut_id", DEMO_CUTS)
def test_no_page_shows_nan_inf_none_truncation_or_scientific_notation(demo_reports, cut_id):
    report = demo_reports / cut_id
    pages = _pages(report)
    assert len(pages) >= 11
    problems = []
    for page in pages + [report / "index.html"]:
        title, text = visible_text(page.read_text(encoding="utf-8"))
        problems += [f"{page.name}: {p}" for p in forbidden_in(title + "\n" + text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cut_id", DEMO_CUTS)
def test_every_page_has_its_own_title_numbered_tables_with_n_and_links_to_index_and_neighbours(demo_reports, cut_id):
    report = demo_reports / cut_id
    pages = _pages(report)
    titles = set()
    for i, page in enumerate(pages):
        source = page.read_text(encoding="utf-8")
        title, text = visible_text(source)
        assert cut_id in title and title != "Notebook", f"{page.name}: tab title {title!r}"
        titles.add(title)
        number = int(page.name[:2])
        assert re.search(rf"Table {number}\.1 ", text), f"{page.name}: no Table {number}.1"
        assert "(N = " in text, f"{page.name}: no table says its N"
        assert 'href="index.html"' in source, f"{page.name}: no link to the index"
        for neighbour in (pages[i - 1] if i else None, pages[i + 1] if i + 1 < len(pages) else None):
            if neighbour is not None:
                assert f'href="{neighbour.name}"' in source, f"{page.name}: no link to {neighbour.name}"
    assert len(titles) == len(pages), "two pages share a tab title"


def test_changes_page_names_every_new_death_of_cut_2020_10_30(demo_reports):
    previous, cut = load_cut(CUTS / "cut-2020-09-15"), load_cut(CUTS / "cut-2020-10-30")
    known_dead = set(previous.subjects.loc[previous.subjects["died_on"].notna(), "subject_id"])
    dead_now = cut.subjects.loc[cut.subjects["died_on"].notna(), "subject_id"]
    new_deaths = sorted(set(dead_now) - known_dead)
    assert len(new_deaths) >= 5  # the case the issue names: 7 new deaths, 5 of them were hidden
    _, text = visible_text((demo_reports / "cut-2020-10-30" / "10_changes.html").read_text(encoding="utf-8"))
    missing = [s for s in new_deaths if s not in text]
    assert not missing, f"10_changes does not name the new deaths {missing}"


def _pdf_text(path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


@pytest.mark.parametrize("cut_id", DEMO_CUTS)
def test_the_pdf_packet_has_numbered_pages_and_no_artefact(demo_reports, cut_id):
    pdf = demo_reports / cut_id / f"{cut_id}.pdf"
    assert pdf.exists(), f"no PDF packet {pdf.name}"
    pages = _pdf_text(pdf)
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text, f"PDF page {number}: no 'Page {number} of {total}'"
        assert f"Confidential - " in text and cut_id in text, f"PDF page {number}: no running header"
    problems = forbidden_in("\n".join(pages))
    assert not problems, "\n".join(problems)
    results = pd.read_csv(demo_reports / cut_id / "results" / "00_overview.csv")
    treated = results.loc[(results["measure"] == "subjects") & (results["group"] == "treated"), "estimate"]
    assert f"{int(treated.iloc[0])}" in "\n".join(pages)
