"""The Liao page's reference document is in the repository, agrees with the definitions, and is cited."""
import json
import re
from pathlib import Path

import pytest

from msc_analysis import definitions
from msc_analysis.report import liao_tables

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / liao_tables.REFERENCE_DOCUMENT
NOTEBOOK = ROOT / "notebooks" / "06_liao_score.ipynb"


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def notebook_sources() -> list[str]:
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]]


def test_the_reference_document_is_in_the_repository_and_names_the_paper():
    text = doc_text()
    assert "Intensive Care Med" in text and "10.1007/s00134-020-05954-2" in text
    assert "Liao X, Wang B, Kang Y" in text


def test_the_switch_table_of_the_document_gives_the_documented_defaults():
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", doc_text(), flags=re.M))
    documented = liao_tables.documented_switch_defaults()
    assert set(rows) == set(documented)
    for name, default in documented.items():
        word = {True: "true", False: "false"}.get(default, str(default)) if isinstance(default, bool) else str(default)
        assert rows[name].strip() == word, name


@pytest.mark.parametrize("parameter", ["resp_rate", "temperature", "sbp", "heart_rate"])
def test_every_published_band_of_the_definitions_is_in_the_document(parameter):
    bands = definitions.liao_news_c_bands()
    line = next(l for l in doc_text().splitlines() if l.startswith("| " + {
        "resp_rate": "respiratory rate", "temperature": "temperature", "sbp": "systolic",
        "heart_rate": "heart rate"}[parameter]))
    cells = [c.strip() for c in line.split("|")[2:-1]]
    for band, points in bands.loc[bands["parameter"] == parameter, ["published_band", "points"]].itertuples(index=False):
        text = band.replace("-", "–").replace(">=", "≥").replace("<=", "≤")
        # points 3 2 1 0 1 2 3 by column: low bands left of 0, high bands right of it
        columns = [i for i, c in enumerate(cells) if c == text]
        assert columns, (parameter, band)
        assert all(abs(3 - i) == int(points) for i in columns), (parameter, band, points)


def test_the_page_cites_the_document_by_repository_path_and_names_the_paper():
    intro = notebook_sources()[0]
    assert liao_tables.REFERENCE_DOCUMENT in intro and "Intensive Care Med" in intro
    assert "shared/reference" not in "".join(notebook_sources())  # the old path outside the repository


def test_the_page_parameters_default_to_the_documented_switches():
    parameters = next(s for s in notebook_sources() if s.startswith("# Parameters (papermill replaces this cell)"))
    for name, default in liao_tables.documented_switch_defaults().items():
        assert re.search(rf"^{name} = {re.escape(repr(default)).replace(chr(39), '[' + chr(39) + chr(34) + ']')}",
                         parameters, flags=re.M), name


def test_the_exclude_children_parameter_defaults_to_the_definitions():
    parameters = next(s for s in notebook_sources() if s.startswith("# Parameters (papermill replaces this cell)"))
    default = definitions.liao_adult_score()["exclude_children"]
    assert re.search(rf"^exclude_children = {default!r}  # ", parameters, flags=re.M)
