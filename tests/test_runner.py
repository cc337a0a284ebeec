"""The runner is safe for scheduled runs: it skips unchanged cuts, keeps the previous report
when killed, refuses to run twice at once, and publishes self-contained pages."""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from msc_analysis import load_cut
from msc_analysis.endpoints.changes import compare_cuts
from msc_analysis.run.publish import run_lock

from .conftest import FIXTURE_CUT, ROOT
from .helpers import write_notebook

CLI = [sys.executable, "-m", "msc_analysis.cli"]


def _write_results_code(stem: str) -> str:
    return ("import pandas as pd\nfrom msc_analysis.report.results import result_rows, write_results\n"
            "write_results(result_rows('overview', pd.DataFrame({'measure': ['subjects'], 'estimate': [1], "
            f"'n': [1], 'unit': ['subjects'], 'method': ['m']}})), results_dir, '{stem}')\n"
            "import matplotlib.pyplot as plt\nplt.plot([0, 1], [0, 1]);")


@pytest.fixture
def quick_notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_quick.ipynb", _write_results_code("01_quick"))
    return folder


def _run(cut, out, notebooks, *extra, **kwargs):
    extra = extra if "--no-pdf" in extra else (*extra, "--no-pdf")  # the PDF has its own tests (test_pdf_packet)
    return subprocess.run(CLI + ["run", str(cut), "--out", str(out), "--notebooks", str(notebooks), *extra],
                          capture_output=True, text=True, **kwargs)


def _tree_hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_rerun_of_an_unchanged_cut_is_skipped_unless_forced(tmp_path, quick_notebooks):
    out = tmp_path / "reports"
    assert _run(FIXTURE_CUT, out, quick_notebooks).returncode == 0
    before = _tree_hashes(out / "fixture-valid")
    again = _run(FIXTURE_CUT, out, quick_notebooks)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    assert _tree_hashes(out / "fixture-valid") == before
    forced = _run(FIXTURE_CUT, out, quick_notebooks, "--force")
    assert forced.returncode == 0 and "[1/1] ok" in forced.stdout


def test_a_changed_notebook_makes_the_cut_run_again(tmp_path, quick_notebooks):
    out = tmp_path / "reports"
    assert _run(FIXTURE_CUT, out, quick_notebooks).returncode == 0
    write_notebook(quick_notebooks / "02_more.ipynb", _write_results_code("02_more"))
    again = _run(FIXTURE_CUT, out, quick_notebooks)
    assert "[2/2]" in again.stdout and (out / "fixture-valid" / "02_more.html").exists()


def test_a_run_killed_mid_way_leaves_the_previous_report_byte_identical(tmp_path, quick_notebooks):
    out = tmp_path / "reports"
    assert _run(FIXTURE_CUT, out, quick_notebooks).returncode == 0
    before = _tree_hashes(out / "fixture-valid")
    write_notebook(quick_notebooks / "02_slow.ipynb", "import time\ntime.sleep(120)")
    proc = subprocess.Popen(CLI + ["run", str(FIXTURE_CUT), "--out", str(out), "--notebooks",
                                   str(quick_notebooks), "--force"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until the new report is half built
        if any(out.glob(".fixture-valid.building.*/01_quick.html")):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the run never started building")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _tree_hashes(out / "fixture-valid") == before
    # the next run cleans up what the killed one left behind
    (quick_notebooks / "02_slow.ipynb").unlink()
    assert _run(FIXTURE_CUT, out, quick_notebooks, "--force").returncode == 0
    assert not list(out.glob(".fixture-valid.building.*"))


def test_a_second_run_on_the_same_cut_is_refused_while_one_holds_the_lock(tmp_path, quick_notebooks):
    out = tmp_path / "reports"
    with run_lock(out, "fixture-valid"):
        proc = _run(FIXTURE_CUT, out, quick_notebooks)
    assert proc.returncode == 1
    assert "another msc-analysis run is writing" in proc.stderr
    assert not (out / "fixture-valid").exists()


def test_a_notebook_over_its_time_limit_is_stopped_and_reported(tmp_path, quick_notebooks):
    write_notebook(quick_notebooks / "02_slow.ipynb", "import time\ntime.sleep(120)")
    start = time.time()
    proc = _run(FIXTURE_CUT, tmp_path / "reports", quick_notebooks, "--timeout", "20")
    assert time.time() - start < 100
    assert proc.returncode == 1
    assert "time limit" in proc.stderr
    assert (tmp_path / "reports" / "fixture-valid" / "01_quick.html").exists()


class _Loads(HTMLParser):
    """Collects every attribute that makes a browser fetch something."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action") and value:
                self.urls.append((tag, name, value))


def _external(url: str) -> bool:
    return bool(re.match(r"^\s*([a-z][a-z0-9+.-]*:|//)", url, re.I)) and not url.strip().startswith("data:")


def test_rendered_pages_load_nothing_from_outside(tmp_path, quick_notebooks):
    shutil.copy(ROOT / "notebooks" / "00_overview.ipynb", quick_notebooks)
    out = tmp_path / "reports"
    assert _run(FIXTURE_CUT, out, quick_notebooks).returncode == 0
    pages = sorted((out / "fixture-valid").glob("*.html"))
    assert {p.name for p in pages} >= {"00_overview.html", "01_quick.html", "index.html"}
    for page in pages:
        text = page.read_text()
        parser = _Loads()
        parser.feed(text)
        external = [u for u in parser.urls if _external(u[2])]
        assert not external, (page.name, external[:5])
        css_urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", text) + re.findall(r"@import\s+['\"]([^'\"]+)", text)
        assert not [u for u in css_urls if _external(u)], page.name
        assert "<script src" not in text


def test_the_diff_finds_a_planted_correction(tmp_path):
    earlier = shutil.copytree(FIXTURE_CUT, tmp_path / "a")
    later = shutil.copytree(FIXTURE_CUT, tmp_path / "b")
    text = (later / "labs.csv").read_text().replace("S02,2020-08-05T06:00,CRP,18.0", "S02,2020-08-05T06:00,CRP,8.0")
    (later / "labs.csv").write_text(text)
    changed = compare_cuts(load_cut(earlier), load_cut(later))["changed_values"]
    assert changed.to_dict("records") == [{
        "table": "labs", "subject_id": "S02", "record": "2020-08-05T06:00 CRP", "field": "value",
        "value_before": "18", "value_after": "8", "change": "changed", "kind": "correction"}]
    proc = subprocess.run(CLI + ["diff", str(earlier), str(later)], capture_output=True, text=True)
    assert proc.returncode == 0 and "correction" in proc.stdout


def test_the_diff_lists_new_events_and_treats_outcome_dates_as_follow_up(tmp_path):
    earlier = shutil.copytree(FIXTURE_CUT, tmp_path / "a")
    later = shutil.copytree(FIXTURE_CUT, tmp_path / "b")
    (earlier / "subjects.csv").write_text((earlier / "subjects.csv").read_text().replace(
        "2020-08-03,,2020-08-15,2020-08-14", "2020-08-03,,,2020-08-14"))
    (earlier / "pcr.csv").write_text("".join((earlier / "pcr.csv").read_text().splitlines(True)[:-2]))
    # before S02 died, the respiratory failure could not yet be grade 5 (fatal)
    (earlier / "adverse_events.csv").write_text((earlier / "adverse_events.csv").read_text().replace(
        "2020-08-10,,5,", "2020-08-10,,4,"))
    compared = compare_cuts(load_cut(earlier), load_cut(later))
    events = compared["new_events"][["event", "subject_id", "days_since_infusion"]].values.tolist()
    # S02 died 2020-08-15 (infused 08-05: day 10); S01 negative swab 08-15 (infused 08-02: day 13)
    assert events == [["death", "S02", 10], ["negative RT-PCR", "S01", 13]]
    changed = compared["changed_values"]
    assert ["died_on", "added", "follow-up update"] in changed[["field", "change", "kind"]].values.tolist()


def test_run_all_reports_every_cut_and_links_the_changes_page(tmp_path, quick_notebooks):
    cuts = tmp_path / "cuts"
    for name, cutoff in (("early", "2020-08-20"), ("late", "2020-09-30")):
        folder = shutil.copytree(FIXTURE_CUT, cuts / name)
        (folder / "cut.yaml").write_text(f"cut_id: {name}\nstudy_id: X\ncutoff_date: {cutoff}\n"
                                         "description: SYNTHETIC test cut\n")
    shutil.copy(ROOT / "notebooks" / "10_changes.ipynb", quick_notebooks)
    proc = subprocess.run(CLI + ["run-all", str(cuts), "--out", str(tmp_path / "out"),
                                 "--notebooks", str(quick_notebooks)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    index = (tmp_path / "out" / "late" / "index.html").read_text()
    assert "What changed since the previous cut, early" in index
    assert "href='10_changes.html'" in index


def test_a_notebook_without_a_parameters_cell_is_not_run_and_is_reported(tmp_path, quick_notebooks):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("cut_dir = 'somewhere else'")]
    nbformat.write(nb, quick_notebooks / "02_untagged.ipynb")
    proc = _run(FIXTURE_CUT, tmp_path / "reports", quick_notebooks)
    assert proc.returncode == 1
    assert "no cell tagged 'parameters'" in proc.stderr


def test_a_notebook_whose_kernel_failed_to_start_is_retried(tmp_path, monkeypatch, quick_notebooks):
    from msc_analysis.run import batch
    from msc_analysis.run.pool import WorkerProcess

    real_run, attempts = WorkerProcess.run, []

    def first_kernel_fails(self, spec, timeout_s):
        attempts.append(spec["notebook"])
        if len(attempts) == 1:
            return {"ok": False, "error": "RuntimeError: Kernel died before replying", "retry": True}
        return real_run(self, spec, timeout_s)

    monkeypatch.setattr(WorkerProcess, "run", first_kernel_fails)
    work = tmp_path / "work"
    work.mkdir()
    worker = WorkerProcess()
    try:
        result = batch.run_notebook(worker, quick_notebooks / "01_quick.ipynb", work,
                                    {"cut_dir": str(FIXTURE_CUT), "results_dir": str(work / "results")},
                                    with_code=False, timeout_s=300)
    finally:
        worker.stop()
    assert len(attempts) == 2
    assert result.ok and result.attempts == 2


def _marked_processes(marker: str) -> list[str]:
    """Command lines, with the process name, of the live processes whose environment holds ``marker``
    (NAME=value). A kernel forked from the worker's template (warm_kernels.py) has the template's
    command line and the name "ipykernel"."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # a zombie has ended; it only waits to be reaped
            if marker.encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                             + f" [{(proc / 'comm').read_text().strip()}]")
        except (OSError, IndexError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_a_killed_or_interrupted_runner_takes_its_workers_and_kernels_with_it(tmp_path, quick_notebooks, how):
    name, value = "MSC_ANALYSIS_TEST_RUN", uuid.uuid4().hex
    marker = f"{name}={value}"
    write_notebook(quick_notebooks / "02_slow.ipynb", "import time\ntime.sleep(300)")
    out = tmp_path / "reports"
    proc = subprocess.Popen(CLI + ["run", str(FIXTURE_CUT), "--out", str(out), "--notebooks",
                                   str(quick_notebooks), "--jobs", "2"],
                            env={**os.environ, name: value}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not any("ipykernel" in c for c in _marked_processes(marker)):
            assert proc.poll() is None and time.time() < deadline, "no notebook kernel started"
            time.sleep(0.2)
        os.kill(proc.pid, getattr(signal, how))  # the runner only, not its process group
        _, stderr = proc.communicate(timeout=60)
        deadline = time.time() + 10
        while _marked_processes(marker) and time.time() < deadline:
            time.sleep(0.2)
        assert _marked_processes(marker) == []
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not (out / "fixture-valid").exists()
    if how != "SIGKILL":  # a catchable signal: a plain message, and the unfinished report removed
        assert proc.returncode == 128 + getattr(signal, how)
        assert f"stopped by {how}" in stderr and "Traceback" not in stderr
        assert not list(out.glob(".fixture-valid.building.*"))


def test_a_misspelt_parameter_fails_the_page_naming_it_and_the_real_parameters(tmp_path):
    from msc_analysis.run.runner import NotebookResult
    from msc_analysis.run.pool import WorkerProcess

    nb = write_notebook(tmp_path / "06_switch.ipynb",
                        "from msc_analysis.report.page import Page\npage = Page(6, None)\nprint('ran')",
                        parameters="# Parameters (papermill replaces this cell). Paths and settings only.\n"
                                   "cut_dir = ''\nresults_dir = ''\nage_points = 3")
    out = tmp_path / "out"
    out.mkdir()
    spec = {"notebook": str(nb), "out_dir": str(out), "with_code": False, "cell_timeout_s": 120,
            "parameters": {"cut_dir": str(FIXTURE_CUT), "results_dir": str(out), "age_point": 0}}
    worker = WorkerProcess()  # the runner's path: a worker process answering one JSON line
    try:
        status = worker.run(spec, 300)
    finally:
        worker.stop()
    assert status["ok"] is False and status["error_anchor"] == "papermill-error-cell"
    assert "'age_point'" in status["error"]
    assert "its parameters are: age_points, cut_dir, results_dir" in status["error"]
    assert "\n" not in status["error"]  # one line on the run's output and in the index
    assert (out / "06_switch.html").exists()  # the failing page is still rendered up to its failing cell
    assert "ran" not in (out / "06_switch.ipynb").read_text().split("age_point", 1)[1].split("UnknownParameter")[0]
    result = NotebookResult("06_switch", False, status["error"])
    assert "age_point" in result.error


def _two_cuts(tmp_path, later_change=None):
    cuts = tmp_path / "cuts"
    for name, cutoff in (("early", "2020-08-20"), ("late", "2020-09-30")):
        folder = shutil.copytree(FIXTURE_CUT, cuts / name)
        (folder / "cut.yaml").write_text(f"cut_id: {name}\nstudy_id: X\ncutoff_date: {cutoff}\n"
                                         "description: SYNTHETIC test cut\n")
    return cuts


_COMPARING = ("import pandas as pd\nfrom pathlib import Path\n"
              "from msc_analysis.report.results import result_rows, write_results\n"
              "files = sorted(Path(previous_results_dir).glob('*.csv')) if previous_results_dir else []\n"
              "before = pd.concat([pd.read_csv(f) for f in files]) if files else pd.DataFrame()\n"
              "write_results(result_rows('overview', pd.DataFrame({'measure': ['subjects'], 'group': ['previous'], "
              "'estimate': [len(before)], 'n': [len(before)], 'unit': ['subjects'], "
              "'method': [str(previous_results_dir)]})), results_dir, '10_compare')\n")


def test_a_previous_cut_never_reported_is_computed_for_the_comparison(tmp_path, quick_notebooks):
    cuts = _two_cuts(tmp_path)
    write_notebook(quick_notebooks / "10_compare.ipynb", _COMPARING,
                   parameters='cut_dir = ""\nresults_dir = ""\nprevious_cut_dir = ""\nprevious_results_dir = ""')
    out = tmp_path / "out"
    proc = _run(cuts / "late", out, quick_notebooks, "--no-pdf")
    assert proc.returncode == 0, proc.stderr
    assert "the previous cut early was never reported with this kit: computing its results" in proc.stdout
    assert not (out / "early").exists()  # computed for the comparison, never published
    report = out / "late"
    compare = (report / "results" / "10_compare.csv").read_text()
    assert ",subjects,previous,,1," in compare  # the 01_quick row of the previous cut
    assert ".previous-cut" in compare  # it was read from the build folder's subfolder...
    assert not (report / ".previous-cut").exists()  # ...which is not published
    assert "previous_results_computed\": true" in (report / "provenance.json").read_text()


def test_an_invalid_previous_cut_is_left_out_with_one_warning(tmp_path, quick_notebooks):
    cuts = _two_cuts(tmp_path)
    (cuts / "early" / "labs.csv").write_text("this,is,not\nthe,labs,table\n")
    write_notebook(quick_notebooks / "10_compare.ipynb", _COMPARING,
                   parameters='cut_dir = ""\nresults_dir = ""\nprevious_cut_dir = ""\nprevious_results_dir = ""')
    proc = _run(cuts / "late", tmp_path / "out", quick_notebooks, "--no-pdf")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "previous cut early" in line]
    assert len(warnings) == 1 and "is invalid" in warnings[0], proc.stderr
    compare = (tmp_path / "out" / "late" / "results" / "10_compare.csv").read_text()
    assert ",subjects,previous,,0," in compare


def test_pages_carry_title_navigation_banner_and_provenance_footer(tmp_path, quick_notebooks):
    import json

    cuts = _two_cuts(tmp_path)
    (cuts / "late" / "cut.yaml").write_text("cut_id: late\nstudy_id: X-1\ncutoff_date: 2020-09-30\n"
                                            "synthetic: true\ndescription: SYNTHETIC test cut\n")
    write_notebook(quick_notebooks / "00_first.ipynb", "print('first')")
    nb = nbformat.read(quick_notebooks / "01_quick.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# Quick & <small>\n\nIntro text."))
    nbformat.write(nb, quick_notebooks / "01_quick.ipynb")
    write_notebook(quick_notebooks / "02_last.ipynb", "print('last')")
    out = tmp_path / "out"
    assert _run(cuts / "late", out, quick_notebooks, "--no-pdf").returncode == 0
    page = (out / "late" / "01_quick.html").read_text()
    record = json.loads((out / "late" / "provenance.json").read_text())
    assert "<title>Quick &amp; &lt;small&gt; - X-1 - late</title>" in page
    assert page.count("<h1") == 1 and ">Quick &amp; &lt;small&gt; - X-1 - late</h1>" in page
    assert "Intro text." in page
    assert page.count('href="index.html"') >= 2
    assert page.count('href="00_first.html"') == 2 and page.count('href="02_last.html"') == 2
    assert "SYNTHETIC DATA." in page
    assert record["fingerprint"] in page and record["kit_version"] in page
    assert "Content-Security-Policy" in page
    first = (out / "late" / "00_first.html").read_text()
    assert "<title>00_first - X-1 - late</title>" in first and "msc-previous" not in first


def test_the_workers_started_ahead_serve_every_batch_of_a_run(tmp_path, quick_notebooks, monkeypatch):
    from msc_analysis.run import runner
    from msc_analysis.run.pool import WorkerGroup

    write_notebook(quick_notebooks / "10_compare.ipynb", "print('after the others')",  # a batch of its own
                   parameters='cut_dir = ""\nresults_dir = ""\nprevious_cut_dir = ""\nprevious_results_dir = ""')
    started, real_start = [], WorkerGroup.start

    def counted(self):
        started.append(1)
        return real_start(self)

    monkeypatch.setattr(WorkerGroup, "start", counted)
    summary = runner.run_cut(load_cut(FIXTURE_CUT), FIXTURE_CUT, tmp_path / "out", notebooks_dir=quick_notebooks,
                             jobs=2, pdf=False, log=lambda line: None)
    assert [r.stem for r in summary.notebooks] == ["01_quick", "10_compare"] and not summary.failed
    assert len(started) == 2  # two workers for both batches, not two more for 10_compare


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_workers_started_while_an_invalid_cut_is_validated_do_not_outlive_the_command(tmp_path, quick_notebooks):
    name, value = "MSC_ANALYSIS_TEST_RUN", uuid.uuid4().hex
    bad = tmp_path / "cut"
    shutil.copytree(FIXTURE_CUT, bad)
    (bad / "subjects.csv").write_text("not,a,subjects,file\n")
    proc = _run(bad, tmp_path / "out", quick_notebooks, env={**os.environ, name: value})
    assert proc.returncode == 2 and "cannot be used" in proc.stderr + proc.stdout
    deadline = time.time() + 10
    while _marked_processes(f"{name}={value}") and time.time() < deadline:
        time.sleep(0.2)
    assert _marked_processes(f"{name}={value}") == []


def test_pages_run_slowest_first_by_the_last_report_and_a_long_page_goes_first_without_one(tmp_path):
    from msc_analysis.run.batch import longest_first

    paths = [write_notebook(tmp_path / f"{stem}.ipynb", "pass") for stem in ("00_a", "01_b", "11_long")]
    nb = json.loads(paths[2].read_text())
    nb["metadata"]["msc_analysis"] = {"start_first": True}
    paths[2].write_text(json.dumps(nb))
    assert [p.stem for p in longest_first(paths, {})] == ["11_long", "00_a", "01_b"]
    assert [p.stem for p in longest_first(paths, {"00_a": 2.0, "01_b": 9.0, "11_long": 4.0})] == \
        ["01_b", "11_long", "00_a"]  # an earlier report's times come before the hint
