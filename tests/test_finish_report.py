"""finish_report: the runner's last steps, for an orchestrator that ran the notebooks itself."""
from __future__ import annotations

import datetime as dt
import json

import papermill as pm

from msc_analysis import load_cut
from msc_analysis.run.batch import NotebookResult
from msc_analysis.run.finish import CUT_CACHE_FOLDER, PACKET_BODIES, finish_report
from msc_analysis.run.publish import report_path, run_lock
from msc_analysis.run.worker import page_title, render_html

from .conftest import FIXTURE_CUT
from .helpers import write_notebook


def test_a_build_folder_of_executed_notebooks_is_published_as_the_runner_publishes_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)
    reports, build = tmp_path / "reports", tmp_path / "reports" / ".build"
    (build / "results").mkdir(parents=True)
    (build / CUT_CACHE_FOLDER).mkdir()  # working folders a run leaves in its build
    (build / PACKET_BODIES).mkdir()
    nb = write_notebook(tmp_path / "01_quick.ipynb", "print('a page')")
    pm.execute_notebook(str(nb), str(build / nb.name), parameters={"cut_dir": str(FIXTURE_CUT),
                        "results_dir": str(build / "results")}, kernel_name="python3", progress_bar=False)
    cut = load_cut(FIXTURE_CUT)
    pages = [{"stem": "01_quick", "title": page_title(json.loads((build / nb.name).read_text()))}]
    (build / "01_quick.html").write_text(render_html(build / nb.name, False, {"pages": pages}), encoding="utf-8")
    final = report_path(reports.resolve(), cut.cut_id)
    with run_lock(reports.resolve(), cut.cut_id):
        record, alerts = finish_report(build, final, cut, [NotebookResult("01_quick", ok=True)],
                                       cut_dir=FIXTURE_CUT, started=dt.datetime.now().astimezone(),
                                       fingerprint="orchestrator", pages=pages, pdf=False)
    assert not build.exists() and final.is_dir()
    published = sorted(p.name for p in final.iterdir())
    assert {"01_quick.html", "01_quick.ipynb", "alerts.json", "index.html", "provenance.json"} <= set(published)
    assert CUT_CACHE_FOLDER not in published and PACKET_BODIES not in published
    stored = json.loads((final / "provenance.json").read_text())
    assert stored["fingerprint"] == "orchestrator" and stored["cut_folder"] == str(FIXTURE_CUT)
    assert [n["stem"] for n in stored["notebooks"]] == ["01_quick"] and record["cut_id"] == cut.cut_id
    assert json.loads((final / "alerts.json").read_text()) == alerts
    assert "href='01_quick.html'" in (final / "index.html").read_text()
