"""Notebooks are thin, run as-is on the demo data, and the runner renders them."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from msc_analysis.report.results import RESULT_COLUMNS

from .conftest import FIXTURE_CUT, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CLI = [sys.executable, "-m", "msc_analysis.cli"]


def _cells(path):
    return json.loads(path.read_text())["cells"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_exactly_one_parameters_cell_of_literals(path):
    tagged = [c for c in _cells(path) if "parameters" in c["metadata"].get("tags", [])]
    assert len(tagged) == 1
    source = "".join(tagged[0]["source"])
    for line in source.splitlines():
        # papermill reads "name = value  # comment"; a second "=" (even in the comment) breaks it
        assert line.startswith("#") or (re.fullmatch(r"\w+ = .+", line) and line.count("=") == 1), line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_or_definitions(path):
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert not any(c.get("outputs") for c in code)
    assert not any(re.search(r"^\s*(def|class)\s", "".join(c["source"]), re.M) for c in code)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_as_is_with_its_default_parameters(path, tmp_path):
    """As an investigator opening it in JupyterLab: defaults point at the newest demo cut."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").symlink_to(ROOT / "data")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()
    results = pd.read_csv(tmp_path / "results" / f"{path.stem}.csv")
    assert tuple(results.columns) == RESULT_COLUMNS
    assert len(results) > 0


def test_notebook_defaults_point_at_the_newest_demo_cut():
    from msc_analysis.run import newest_cut

    newest = newest_cut(ROOT / "data" / "cuts").name
    for path in NOTEBOOKS:
        params = "".join(next(c for c in _cells(path) if "parameters" in c["metadata"].get("tags", []))["source"])
        assert f'cut_dir = "../data/cuts/{newest}"' in params, path.name


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    proc = subprocess.run(CLI + ["run", str(FIXTURE_CUT), "--out", str(out), "--no-pdf"],
                          capture_output=True, text=True)
    return proc, out / "fixture-valid"


def test_run_renders_every_notebook_and_says_where_the_report_is(rendered):
    proc, report = rendered
    assert proc.returncode == 0, proc.stderr
    assert f"Report: {report / 'index.html'}" in proc.stdout
    for path in NOTEBOOKS:
        assert (report / f"{path.stem}.html").exists()
        results = pd.read_csv(report / "results" / f"{path.stem}.csv")
        assert tuple(results.columns) == RESULT_COLUMNS


def test_rendered_pages_hide_the_code(rendered):
    _, report = rendered
    page = (report / "00_overview.html").read_text()
    assert "load_cut(" not in page
    assert "Trial flow" in page


def test_overview_results_count_the_populations_of_the_cut(rendered):
    _, report = rendered
    r = pd.read_csv(report / "results" / "00_overview.csv")
    counts = r[r["measure"] == "subjects"].set_index("group")["estimate"].to_dict()
    assert counts == {"screened": 6, "eligible": 3, "enrolled": 3, "treated": 2}
    follow = r[r["measure"] == "follow_up_days_median"].iloc[0]
    # S01: 2020-08-02 -> last seen 2020-09-25 = 54 days; S02: 2020-08-05 -> died 2020-08-15 = 10
    assert (follow["estimate"], follow["lower"], follow["upper"], follow["interval"]) == (32, 21, 43, "iqr")


def test_a_failing_notebook_is_reported_and_the_others_still_run(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "00_overview.ipynb", notebooks)
    bad = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('cut_dir = ""\nresults_dir = ""')
    params.metadata["tags"] = ["parameters"]
    bad.cells = [params, nbformat.v4.new_code_cell("raise RuntimeError('planted failure')")]
    nbformat.write(bad, notebooks / "01_broken.ipynb")
    proc = subprocess.run(CLI + ["run", str(FIXTURE_CUT), "--out", str(tmp_path / "out"), "--no-pdf",
                                 "--notebooks", str(notebooks)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "planted failure" in proc.stderr
    report = tmp_path / "out" / "fixture-valid"
    assert (report / "00_overview.html").exists() and (report / "01_broken.html").exists()
    assert "failed" in (report / "index.html").read_text()
