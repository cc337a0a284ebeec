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


ENDPOINT_DOCS = {"overview": "00_overview", "overall_survival": "01_overall_survival",
                 "pcr_negativity": "02_pcr_negativity", "hospital_stay": "03_hospital_stay", "crp": "04_crp",
                 "pao2_fio2": "05_pao2_fio2", "liao_score": "06_liao_score", "radiology": "07_radiology",
                 "adverse_events": "08_safety", "safety_monitoring": "08_safety",
                 "dose_feasibility": "09_dose_feasibility"}


def test_every_registered_headline_has_a_written_estimand_in_its_endpoint_doc():
    from msc_analysis import definitions

    measures = definitions.measures()
    registered = measures[measures["registered"] == "yes"]
    assert len(registered) >= 8
    for r in registered.itertuples():
        doc = (ROOT / "docs" / "endpoints" / f"{ENDPOINT_DOCS[r.endpoint]}.md").read_text()
        headings = re.findall(r"^#{2,4} .*Estimand.*$", doc, re.M)
        assert any(f"`{r.measure}`" in h for h in headings), (r.endpoint, r.measure)


def test_every_endpoint_doc_states_its_estimands_in_ich_e9_r1_terms():
    for stem in sorted(set(ENDPOINT_DOCS.values())):
        doc = (ROOT / "docs" / "endpoints" / f"{stem}.md").read_text()
        assert re.search(r"^#{2,4} .*Estimand", doc, re.M), stem
        estimands = doc[re.search(r"^#{2,4} .*Estimand", doc, re.M).start():]
        for term in ("opulation", "ntercurrent", "ummary"):
            assert term in estimands, (stem, term)
