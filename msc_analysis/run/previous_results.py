"""The previous cut's results, for the comparison pages, when it was never reported with this kit.

A previous report counts only when every results CSV of it is schema v2 (has ``cut_id``);
otherwise the first batch of notebooks runs on the previous cut, results only and no pages, in a
subfolder of the build folder that is removed before the report is published.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from .batch import run_batch
from .cuts import CutFolder

__all__ = ["PREVIOUS_RESULTS_FOLDER", "schema_v2_results", "compute_previous_results"]

#: Build-folder subfolder where the results of a never-reported previous cut are computed.
PREVIOUS_RESULTS_FOLDER = ".previous-cut"


def schema_v2_results(results: Path | None) -> bool:
    """True when ``results`` is a folder of results CSVs that all have a ``cut_id`` column (schema v2).

    A report made by an older kit (schema v1, no ``cut_id``), or none at all, gives False: its
    previous estimates are then computed again. No link is followed; only the header line is read.
    """
    if results is None or results.is_symlink() or not results.is_dir():
        return False
    try:
        with os.scandir(results) as listing:
            files = [e.path for e in listing if e.name.endswith(".csv") and e.is_file(follow_symlinks=False)]
    except OSError:
        return False
    if not files:
        return False
    for path in files:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            with os.fdopen(fd, "rb") as fh:
                header = fh.readline(64 * 1024).decode("utf-8-sig", "replace")
        except OSError:
            return False
        if "cut_id" not in next(csv.reader([header]), []):
            return False
    return True


def compute_previous_results(previous: CutFolder, folder: Path, notebooks: list[Path], timeout_s: float,
                             jobs: int, log, warn, load=None, env: dict | None = None, workers=None) -> Path | None:
    """Run ``notebooks`` on the previous cut, results only, into ``folder/results``; None if it is invalid.

    ``load`` (default :func:`~msc_analysis.cut.load_cut`) loads the previous cut to check it; ``env``
    is given to the notebook kernels (the runner's cut cache, see :mod:`~msc_analysis.io.cache`);
    ``workers``: the run's workers (:class:`~msc_analysis.run.pool.WorkerGroup`).
    """
    if load is None:
        from ..cut import load_cut as load

    try:
        load(previous.path)
    except Exception as exc:  # an invalid previous cut must not stop the report of this one
        problems = getattr(exc, "problems", None)
        why = f"{len(problems)} problem(s) in its files" if problems else type(exc).__name__
        warn(f"warning: the previous cut {previous.cut_id} ({previous.path}) is invalid ({why}; see msc-analysis "
             "validate), so this report is not compared with any previous cut")
        return None
    log(f"  the previous cut {previous.cut_id} was never reported with this kit: computing its results "
        f"({len(notebooks)} notebook(s), no pages) to compare with")
    folder.mkdir()
    results = folder / "results"
    params = {"cut_dir": str(previous.path), "results_dir": str(results), "previous_cut_dir": "",
              "previous_results_dir": ""}
    failed = []
    run_batch(notebooks, folder, params, False, timeout_s, jobs,
              lambda r: failed.append(r.stem) if not r.ok else None, {"results_only": True, "env": env or {}},
              workers)
    if failed:
        warn(f"warning: {len(failed)} notebook(s) failed on the previous cut {previous.cut_id} "
             f"({', '.join(sorted(failed))}); their previous estimates are missing from the comparison")
    return results
