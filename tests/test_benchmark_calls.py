"""The benchmark runs exactly the notebooks' code: read from the notebooks, never repeated by hand.

``benchmarks/endpoint_calls.py`` executes each notebook's code cells in-process (figures not
drawn) so that ``benchmarks/run.py`` can time each page at scale. These tests hold it to the
notebooks: the source it compiles is the notebooks' code cells, every notebook is a page, an
edited notebook is what the benchmark then runs, and on the fixture cut each page writes the
same results CSV as ``msc-analysis run``.
"""
import importlib
import json
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.report.results import read_result_file

from .conftest import FIXTURE_CUT, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def _code_after_parameters(path):
    """A notebook's code cells after its parameters cell, read independently with nbformat."""
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    start = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    return [c.source for c in code[start + 1:]]


@pytest.fixture(scope="module")
def pages():
    """``benchmarks/endpoint_calls.py``, imported as ``benchmarks/run.py`` imports it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(ROOT / "benchmarks"))
        yield importlib.import_module("endpoint_calls")


@pytest.fixture(scope="module")
def benchmarked(pages, tmp_path_factory):
    """Every page run by the benchmark on the fixture cut (one shared loaded cut, as run.py does),
    recording each source it compiles."""
    results = tmp_path_factory.mktemp("benchmark") / "results"
    compiled = {}
    real_compile = compile

    def recording_compile(source, filename, mode, *args, **kwargs):
        compiled.setdefault(filename.strip("<>").split(" ")[0], []).append(source)
        return real_compile(source, filename, mode, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pages, "compile", recording_compile, raising=False)
        timings = pages.time_pages(pages.runner_parameters(FIXTURE_CUT, results), cut=load_cut(FIXTURE_CUT))
    return results, compiled, timings


@pytest.fixture(scope="module")
def runner_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run", str(FIXTURE_CUT), "--out", str(out), "--no-pdf"],
                          capture_output=True, text=True)
    return out / "fixture-valid" / "results", proc.stdout + proc.stderr


def test_benchmark_times_every_notebook_once(benchmarked):
    _, _, timings = benchmarked
    assert sorted(timings) == [p.stem for p in NOTEBOOKS]


def test_pages_that_read_this_runs_results_come_last_as_in_the_runner(pages):
    order = [p.stem for p in pages.notebook_paths()]
    later = [p.stem for p in NOTEBOOKS if "previous_results_dir" in pages.declared_parameters(p)]
    assert later and order[-len(later):] == later


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_benchmark_compiles_exactly_the_notebooks_code_cells(path, benchmarked):
    """The parameters cell (defaults, then the runner's values injected) and then every later
    code cell, character for character, in order; nothing else."""
    _, compiled, _ = benchmarked
    parameters = next(c.source for c in nbformat.read(path, as_version=4).cells
                      if "parameters" in c.metadata.get("tags", []))
    assert compiled[path.stem] == [parameters, *_code_after_parameters(path)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_benchmark_page_writes_the_same_results_as_the_runner(path, benchmarked, runner_results):
    results, _, _ = benchmarked
    by_runner, runner_output = runner_results
    assert (by_runner / f"{path.stem}.csv").exists(), runner_output
    pd.testing.assert_frame_equal(read_result_file(results / f"{path.stem}.csv"),
                                  read_result_file(by_runner / f"{path.stem}.csv"))


def test_an_edited_notebook_is_what_the_benchmark_runs(pages, tmp_path):
    """No copy of the call sequence to keep in step: a cell added to a notebook is run."""
    notebook = json.loads((ROOT / "notebooks" / "09_dose_feasibility.ipynb").read_text())
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                              "source": ["seen_by_benchmark = (cut_dir, len(doses))"]})
    (tmp_path / "notebooks").mkdir()
    edited = tmp_path / "notebooks" / "09_dose_feasibility.ipynb"
    edited.write_text(json.dumps(notebook))
    params = pages.runner_parameters(FIXTURE_CUT, tmp_path / "results")
    namespace = pages.run_page(edited, params)
    assert namespace["seen_by_benchmark"] == (str(FIXTURE_CUT.resolve()), len(namespace["doses"]))
