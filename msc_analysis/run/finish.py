"""The last steps of a report: provenance, safety alerts, PDF packet, index, then publication.

:func:`finish_report` is what ``msc-analysis run`` does once every notebook has run, and what
an orchestrator's publish step calls after running the notebooks itself (see
``docs/scaling.md``), so that both publish the same report.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .alerts import ALERTS_FILE, run_alerts
from .cuts import CutFolder
from .index import provenance, write_index
from .previous_results import PREVIOUS_RESULTS_FOLDER
from .publish import publish

__all__ = ["finish_report", "CUT_CACHE_FOLDER", "PACKET_BODIES"]

#: Build-folder subfolder holding the validated cuts the notebooks read (:mod:`~msc_analysis.io.cache`).
CUT_CACHE_FOLDER = ".cut-cache"
#: Build-folder subfolder where the workers leave each page's PDF packet body.
PACKET_BODIES = ".packet-bodies"


def finish_report(work: Path, final: Path, cut, results: list, *, cut_dir: Path, started: dt.datetime,
                  fingerprint: str, pages: list[dict], previous: CutFolder | None = None,
                  previous_results: Path | None = None, previous_results_computed: bool = False,
                  pdf: bool = True, timeout_s: float = 900, warn=print, load_previous=None) -> tuple[dict, list[dict]]:
    """Finish the report built in ``work`` (executed notebooks and their HTML pages) and publish it as ``final``.

    Writes ``provenance.json`` (``results``: one :class:`~msc_analysis.run.batch.NotebookResult`
    per notebook run), the safety alerts (``alerts.json``, compared with the ``previous`` cut and
    its ``previous_results`` when given), the PDF packet (``pdf``; at most ``timeout_s``, a
    failure is a warning), ``index.html``; removes the working subfolders (cut cache, previous
    cut's results, packet bodies) and publishes ``work`` as ``final`` in one step
    (:func:`~msc_analysis.run.publish.publish`). Call it holding
    :func:`~msc_analysis.run.publish.run_lock` for the cut. ``pages`` are the report's pages in
    order (``stem``, ``title``); ``load_previous`` reads the previous cut (default ``load_cut``).
    Returns the provenance record and the alerts.
    """
    work = Path(work)
    results = sorted(results, key=lambda r: r.stem)
    record = provenance(cut, started, dt.datetime.now().astimezone(), fingerprint, [asdict(r) for r in results],
                        previous.path if previous else None)
    record.update(cut_folder=str(cut_dir), previous_cut=previous.cut_id if previous else None,
                  previous_cut_folder=str(previous.path) if previous else None,
                  previous_results_computed=bool(previous_results_computed))
    (work / "provenance.json").write_text(json.dumps(record, indent=2, default=str))
    alerts = run_alerts(cut, work, previous, previous_results, [r.stem for r in results if not r.ok],
                        warn if previous_results is not None else None, load_previous)
    shutil.rmtree(work / CUT_CACHE_FOLDER, ignore_errors=True)  # not part of the report
    (work / ALERTS_FILE).write_text(json.dumps(alerts, indent=2), encoding="utf-8")
    shutil.rmtree(work / PREVIOUS_RESULTS_FOLDER, ignore_errors=True)  # not part of the report
    if pdf:
        record["pdf"] = _make_packet(work, cut, record, results, alerts, pages, warn, timeout_s)
        (work / "provenance.json").write_text(json.dumps(record, indent=2, default=str))
    shutil.rmtree(work / PACKET_BODIES, ignore_errors=True)  # not part of the report
    write_index(work, cut, record, results, alerts)
    publish(work, final)
    return record, alerts


def _make_packet(work: Path, cut, record: dict, results: list, alerts: list[dict], pages: list[dict], warn,
                 timeout_s: float) -> dict:
    """Write ``<cut_id>.pdf`` in ``work`` (in a separate process, at most ``timeout_s``).

    On any failure (WeasyPrint missing or failing, the time limit, the process killed) warn in
    one line and carry on: the HTML report stands without its PDF.
    """
    started = time.monotonic()
    name = f"{cut.cut_id}.pdf"
    spec_path = work / ".packet.json"
    spec = {"work": str(work), "pdf": str(work / name), "cut": {"study_id": cut.study_id, "cut_id": cut.cut_id},
            "record": record, "notebooks": [{"stem": r.stem, "ok": r.ok, "error": r.error} for r in results],
            "alerts": alerts, "pages": pages, "parent_pid": os.getpid(), "bodies": str(work / PACKET_BODIES)}
    error = ""
    try:
        spec_path.write_text(json.dumps(spec, default=str), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "msc_analysis.run.packet", str(spec_path)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            error = lines[-1].strip() if lines else f"the PDF process ended with status {proc.returncode}"
        elif not (work / name).is_file():
            error = "the PDF process wrote no file"
    except subprocess.TimeoutExpired:
        error = f"stopped after the time limit of {timeout_s:.0f} s"
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    finally:
        spec_path.unlink(missing_ok=True)
    seconds = round(time.monotonic() - started, 1)
    if error:
        error = error[:300]
        warn(f"warning: the PDF packet {name} could not be made ({error}); the HTML report is complete")
        (work / name).unlink(missing_ok=True)
        return {"file": None, "made": False, "error": error, "seconds": seconds}
    return {"file": name, "made": True, "error": "", "seconds": seconds}
