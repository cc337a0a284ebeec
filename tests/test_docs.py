"""The documentation covers what the code accepts and produces."""
import re

from msc_analysis.io.spec import TABLES, table_columns
from msc_analysis.report.results import RESULT_COLUMNS

from .conftest import ROOT


def _section(doc: str, heading: str) -> str:
    start = doc.index(heading)
    following = doc.find("\n## ", start + len(heading))
    return doc[start: following if following != -1 else None]


def test_data_dictionary_documents_every_column_of_every_table():
    doc = (ROOT / "docs" / "data-dictionary.md").read_text()
    for table in TABLES:
        section = _section(doc, f"## `{table}.csv`")
        documented = re.findall(r"^\| `(\w+)` \|", section, re.M)
        assert documented == [c.column for c in table_columns(table)], table


def test_results_doc_describes_every_results_column():
    doc = (ROOT / "docs" / "results.md").read_text()
    for column in RESULT_COLUMNS:
        assert f"`{column}`" in doc


def test_readme_opens_with_the_two_set_up_commands():
    first_lines = (ROOT / "README.md").read_text().splitlines()[:6]
    assert any(line.startswith("make report") for line in first_lines)
    assert any(line.startswith("make test") for line in first_lines)
