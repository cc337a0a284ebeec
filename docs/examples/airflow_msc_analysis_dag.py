"""Example Apache Airflow DAG: one msc-analysis report of one cut, one task per notebook.

An EXAMPLE for a coordinating centre that already runs Airflow (2.x with
``apache-airflow-providers-papermill``; Airflow 3 imports noted below). The kit's own runner,
``msc-analysis run``, remains the reference: it makes the same report, with time limits and
retries, and is what the kit's tests check; the publish step here calls the runner's own last
steps (``msc_analysis.run.finish.finish_report``). docs/scaling.md explains every task,
what runs in parallel, where the files go and how a failed notebook keeps the previous report;
``tests/test_orchestration_example.py`` checks this file against the task table there.

Set on the Airflow worker (its environment, or the ``env`` of the Jupyter kernel spec), so that
every notebook kernel reads the validated cut instead of reading the CSV files again::

    MSC_ANALYSIS_CUT_CACHE=/srv/msc-analysis/cut-cache

A cache is used only when it matches the cut folder's files and the installed kit exactly, so a
fixed folder shared by every run and every cut is safe.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pendulum
from airflow import DAG  # Airflow 3: from airflow.sdk import DAG
from airflow.operators.python import PythonOperator  # Airflow 3: airflow.providers.standard.operators.python
from airflow.providers.papermill.operators.papermill import PapermillOperator

# Paths on the Airflow worker (one shared file system for every task of the DAG).
KIT = Path("/srv/msc-analysis/kit")  # a checkout of msc-analysis, installed in the workers' Python
CUT_DIR = Path("/srv/msc-analysis/data/cuts/cut-2020-12-30")  # the cut of this report (read only)
# The previous cut, already reported in REPORTS (by this DAG or msc-analysis run); None if none.
PREVIOUS_CUT_DIR: Path | None = Path("/srv/msc-analysis/data/cuts/cut-2020-10-30")
REPORTS = Path("/srv/msc-analysis/reports")  # published reports: REPORTS/<cut_id>/
PREVIOUS_RESULTS = REPORTS / "cut-2020-10-30" / "results"  # the previous report's results (its cut_id)
BUILD = REPORTS / f".{CUT_DIR.name}.airflow"  # the report being built (same file system as REPORTS)
CUT_CACHE = Path("/srv/msc-analysis/cut-cache")  # the workers' MSC_ANALYSIS_CUT_CACHE (see above)

# The report's notebooks, in the runner's order. Those in COMPARE_WITH_PREVIOUS read the results
# the others wrote in this run, so they run after all of them.
NOTEBOOKS = ("00_overview", "01_overall_survival", "02_pcr_negativity", "03_hospital_stay", "04_crp",
             "05_pao2_fio2", "06_liao_score", "07_radiology", "08_safety", "09_dose_feasibility",
             "10_changes", "11_patient_profile")
COMPARE_WITH_PREVIOUS = ("10_changes",)


def validate_and_cache() -> None:
    """Read and validate the cut once; store it for the notebooks; start an empty build folder.

    An invalid cut raises ``CutValidationError`` listing every problem: the task fails and no
    notebook runs.
    """
    from msc_analysis import load_cut
    from msc_analysis.io.cache import write_cut_cache

    cut = load_cut(CUT_DIR)
    write_cut_cache(cut, CUT_CACHE)
    if PREVIOUS_CUT_DIR is not None:
        write_cut_cache(load_cut(PREVIOUS_CUT_DIR), CUT_CACHE)
    shutil.rmtree(BUILD, ignore_errors=True)
    (BUILD / "results").mkdir(parents=True)


def publish_report() -> None:
    """Render every executed notebook as a page, then the runner's own last steps: provenance,
    safety alerts, the PDF packet, the index, and an atomic publication (``finish_report``).

    Runs only when every notebook task succeeded (Airflow's default trigger rule), so a failed
    notebook leaves the previous report of this cut in place, untouched.
    """
    import datetime as dt
    import json

    from msc_analysis import load_cut
    from msc_analysis.run.batch import NotebookResult
    from msc_analysis.run.cuts import CutFolder
    from msc_analysis.run.finish import finish_report
    from msc_analysis.run.publish import report_path, run_lock
    from msc_analysis.run.worker import page_title, render_html

    cut = load_cut(CUT_DIR)  # from the cache written by validate_and_cache
    pages = [{"stem": stem, "title": page_title(json.loads((BUILD / f"{stem}.ipynb").read_text()))}
             for stem in NOTEBOOKS]
    chrome = {"study": cut.study_id, "cut_id": cut.cut_id, "synthetic": bool(cut.synthetic),
              "fingerprint": "airflow", "kit_version": "", "pages": pages}
    for stem in NOTEBOOKS:
        (BUILD / f"{stem}.html").write_text(render_html(BUILD / f"{stem}.ipynb", False, chrome), encoding="utf-8")
    previous = CutFolder(PREVIOUS_CUT_DIR, load_cut(PREVIOUS_CUT_DIR).cut_id) if PREVIOUS_CUT_DIR else None
    started = dt.datetime.fromtimestamp((BUILD / "results").stat().st_ctime).astimezone()
    with run_lock(REPORTS, cut.cut_id):
        finish_report(BUILD, report_path(REPORTS, cut.cut_id), cut, [NotebookResult(s, ok=True) for s in NOTEBOOKS],
                      cut_dir=CUT_DIR.resolve(), started=started, fingerprint="airflow", pages=pages,
                      previous=previous, previous_results=PREVIOUS_RESULTS if previous else None)


def notebook_parameters(stem: str) -> dict:
    """What the runner gives a notebook: paths only, never data or secrets."""
    parameters = {"cut_dir": str(CUT_DIR), "results_dir": str(BUILD / "results")}
    if stem in COMPARE_WITH_PREVIOUS:
        parameters.update(previous_cut_dir=str(PREVIOUS_CUT_DIR or ""),
                          previous_results_dir=str(PREVIOUS_RESULTS) if PREVIOUS_CUT_DIR else "")
    return parameters


with DAG(dag_id="msc_analysis_report", schedule=None, start_date=pendulum.datetime(2020, 9, 15, tz="UTC"),
         catchup=False, max_active_runs=1, max_active_tasks=2, tags=["msc-analysis"]) as dag:
    validate = PythonOperator(task_id="validate_and_cache", python_callable=validate_and_cache)
    publish_step = PythonOperator(task_id="publish_report", python_callable=publish_report)
    notebooks = {
        stem: PapermillOperator(task_id=stem, input_nb=str(KIT / "notebooks" / f"{stem}.ipynb"),
                                output_nb=str(BUILD / f"{stem}.ipynb"), parameters=notebook_parameters(stem),
                                kernel_name="python3", language_name="python")
        for stem in NOTEBOOKS
    }
    first = [task for stem, task in notebooks.items() if stem not in COMPARE_WITH_PREVIOUS]
    later = [task for stem, task in notebooks.items() if stem in COMPARE_WITH_PREVIOUS]
    validate >> first
    for task in later:
        first >> task
        task >> publish_step
    first >> publish_step
