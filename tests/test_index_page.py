"""The index is the board's first page: alerts, then the key results in words, then the pages; every row in results.html."""
import datetime as dt
import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pandas as pd
import pytest

from msc_analysis.report.results import result_rows, write_results
from msc_analysis.run.index import KEY_PACKAGES, RESULTS_PAGE, provenance, write_index

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.tags, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._skip += tag in ("style", "script", "head")
        self.parts.append("\n")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script", "head")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _visible(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


def _report(tmp_path, cut_id="cut-2020-12-30", alerts=(), pdf=False, description="Synthetic demo cut.", failed=()):
    """A report folder holding the golden results of ``cut_id`` (as schema v2) and its index."""
    stems = []
    for path in sorted((GOLDEN / cut_id).glob("*.csv")):
        if path.stem in failed:
            stems.append(path.stem)
            continue
        frame = pd.read_csv(path)
        if "cut_id" not in frame:
            frame = pd.concat([result_rows(e, rows.drop(columns="endpoint"), cut_id=cut_id)
                               for e, rows in frame.groupby("endpoint", sort=False)], ignore_index=True)
        frame["n"] = frame["n"].fillna(0)
        write_results(frame, tmp_path / "results", path.stem, cut_id=cut_id)
        (tmp_path / f"{path.stem}.html").write_text("page")
        stems.append(path.stem)
    if pdf:
        (tmp_path / f"{cut_id}.pdf").write_bytes(b"%PDF-1.7")
    cut = SimpleNamespace(cut_id=cut_id, study_id="MSC-COVID19-HCPA", cutoff_date=pd.Timestamp("2020-12-30"),
                          description=description, synthetic=True,
                          files=pd.DataFrame({"file": ["subjects.csv"], "bytes": [10], "sha256": ["ab"]}))
    now = dt.datetime(2020, 12, 31, tzinfo=dt.timezone.utc)
    notebooks = [SimpleNamespace(stem=s, ok=s not in failed, error="TypeError: x" if s in failed else "",
                                 error_anchor="", seconds=1.0) for s in stems]
    record = provenance(cut, now, now, "f", [], None)
    return write_index(tmp_path, cut, record, notebooks, list(alerts)).read_text(encoding="utf-8")


def test_alerts_then_key_results_then_pages(tmp_path):
    alert = {"kind": "boundary_crossed", "message": "The monitoring boundary is crossed", "subjects": [],
             "cut_id": "c"}
    page = _report(tmp_path, alerts=[alert])
    box, key, pages = page.index("class='alert'"), page.index("Key results"), page.index("<h2>Pages</h2>")
    assert box < key < pages


def test_key_results_show_the_registered_outcomes_in_words_with_interval_and_n(tmp_path):
    text = _visible(_report(tmp_path))
    key = text[text.index("Key results"):text.index("Pages")]
    assert "treated population (N = 31)" in key
    assert "Overall survival" in key and "77.3% (58.2% to 88.5%)" in key and "95% CI" in key
    assert "Median change in C-reactive protein from baseline" in key and "IQR" in key
    assert "RT-PCR negativity" in key and "Chest CT improved from the baseline scan" in key
    assert "against the previous scan" not in key and "Age >= 65 years" not in key  # secondary and subgroup rows stay on their pages
    assert "survival_prop" not in key and "Subjects with a serious adverse event" not in key
    assert "Data cutoff 2020-12-30" in key


def test_the_index_shows_no_pandas_artefacts_or_scientific_notation(tmp_path):
    page = _report(tmp_path)
    for path in (tmp_path / "index.html", tmp_path / RESULTS_PAGE):
        text = _visible(path.read_text(encoding="utf-8"))
        found = re.findall(r"(?<![\w-])(?:NaN|nan|-?inf|None)(?![\w-])|<NA>|(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+(?![\w.])", text)
        assert not found, f"{path.name}: {found}"
    assert "Content-Security-Policy" in page


def test_every_results_row_is_on_the_results_page_in_words_and_by_name(tmp_path):
    _report(tmp_path)
    text = _visible((tmp_path / RESULTS_PAGE).read_text(encoding="utf-8"))
    assert "toxicity_rate_exceeds_threshold_prob" in text
    assert "Posterior probability that the toxicity rate exceeds the threshold" in text
    assert "1.01 (1.00 to 1.02)" in text or "x 10^6 cells/kg" in text
    assert 'href="index.html"' in (tmp_path / RESULTS_PAGE).read_text(encoding="utf-8")


def test_the_key_results_say_which_pages_failed_to_give_results(tmp_path):
    text = _visible(_report(tmp_path, failed=("03_hospital_stay",)))
    key = text[text.index("Key results"):text.index("Pages")]
    assert "Not shown: the results of 03_hospital_stay" in key and "Median days in hospital" not in key


def test_the_pdf_packet_is_linked_only_when_it_is_there(tmp_path):
    assert "cut-2020-12-30.pdf" not in _report(tmp_path / "a")
    assert "href='cut-2020-12-30.pdf'" in _report(tmp_path / "b", pdf=True)


def test_the_index_escapes_what_comes_from_the_cut(tmp_path):
    page = _report(tmp_path, description="<script>alert(1)</script>",
                   alerts=[{"kind": "new_deaths", "message": "<img src=x onerror=alert(2)>", "subjects": [],
                            "cut_id": "c"}])
    parser = _Text()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert "<script>alert(1)</script>" in _visible(page)


@pytest.mark.parametrize("package", ["great-tables", "weasyprint"])
def test_the_table_and_pdf_packages_are_recorded(package):
    assert package in KEY_PACKAGES
