"""A listing too long for its page is written in full to a file of the report, and the page links to it
(issue 15: at 100,000 subjects the AE listing alone has about 200,000 rows)."""
import csv

import pandas as pd
import pytest

from msc_analysis.report import page as page_module
from msc_analysis.report.page import LISTING_ROWS_ON_PAGE, Page, PageParameters


def _rows(n: int, term: str = "Fever") -> pd.DataFrame:
    return pd.DataFrame({"Subject": [f"S{i:05d}" for i in range(n)], "AE term": term, "Grade": 2})


def _read(path):
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_a_listing_over_the_limit_is_written_in_full_and_the_page_links_to_it(tmp_path):
    n = LISTING_ROWS_ON_PAGE + 1
    table = Page(8, None, check=False, results_dir=tmp_path / "results").table(
        _rows(n), "Listing of adverse events", population="treated population", n=n, listing=True)
    html = table.html()
    written = _read(tmp_path / "results" / "listings" / "table-8-1.csv")
    assert written[0] == ["Subject", "AE term", "Grade"]
    assert written[1:] == [[f"S{i:05d}", "Fever", "2"] for i in range(n)]
    assert table.file == "results/listings/table-8-1.csv"
    assert '<a href="results/listings/table-8-1.csv">' in html
    assert f"This listing has {n} rows" in html and "columns: Subject, AE term, Grade" in html
    assert "S00000" not in html and "Table 8.1 Listing of adverse events" in html


def test_a_listing_at_the_limit_stays_on_its_page(tmp_path):
    table = Page(8, None, check=False, results_dir=tmp_path).table(_rows(LISTING_ROWS_ON_PAGE), "Listing",
                                                                     listing=True)
    html = table.html()
    assert table.file == "" and not (tmp_path / "listings").exists()
    assert all(f">S{i:05d}<" in html for i in range(LISTING_ROWS_ON_PAGE))


def test_a_table_that_is_not_a_listing_is_never_moved_to_a_file(tmp_path):
    table = Page(8, None, check=False, results_dir=tmp_path).table(_rows(LISTING_ROWS_ON_PAGE + 1), "By term")
    assert table.file == "" and not (tmp_path / "listings").exists()


def test_without_a_results_folder_every_row_stays_on_the_page():
    n = LISTING_ROWS_ON_PAGE + 1
    table = Page(8, None, check=False).table(_rows(n), "Listing", listing=True)
    assert table.file == "" and f">S{n - 1:05d}<" in table.html()


def test_the_file_is_named_after_the_table_number_never_after_the_data(tmp_path):
    page = Page(11, None, check=False, results_dir=tmp_path)
    page.table(_rows(1), "First table")
    table = page.table(_rows(LISTING_ROWS_ON_PAGE + 1, term="../../x"), "Records of subject ../../evil",
                       listing=True)
    assert table.file == f"{tmp_path.name}/listings/table-11-2.csv"
    assert [p.name for p in (tmp_path / "listings").iterdir()] == ["table-11-2.csv"]


def test_the_file_neutralises_formulas_and_the_page_escapes_every_text(tmp_path):
    rows = _rows(LISTING_ROWS_ON_PAGE + 1, term='=HYPERLINK("http://x","y")')
    rows = rows.rename(columns={"AE term": "<b>term</b>"})
    table = Page(8, None, check=False, results_dir=tmp_path).table(rows, "<i>Listing</i>", listing=True,
                                                                     footnotes=["<script>x</script>"])
    html = table.html()
    assert _read(tmp_path / "listings" / "table-8-1.csv")[1][1] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert "<b>" not in html and "<i>" not in html and "<script>" not in html
    assert "&lt;b&gt;term&lt;/b&gt;" in html


def test_the_results_folder_comes_from_the_page_parameters_when_not_given(tmp_path, monkeypatch):
    given = PageParameters({"results_dir": "../results"}, {"results_dir": str(tmp_path / "out")})
    monkeypatch.setattr(page_module, "check_parameters", lambda: given)
    table = Page(8, None).table(_rows(LISTING_ROWS_ON_PAGE + 1), "Listing", listing=True)
    assert table.file == "out/listings/table-8-1.csv"
    assert (tmp_path / "out" / "listings" / "table-8-1.csv").is_file()


@pytest.mark.parametrize("name", ["../x", "Table 8", "a/b", ""])
def test_a_listing_file_name_made_outside_the_kit_is_refused(tmp_path, name):
    with pytest.raises(ValueError, match="listing file name"):
        page_module.write_listing(_rows(1), tmp_path, name)
