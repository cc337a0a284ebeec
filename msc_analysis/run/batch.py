"""Run a batch of notebooks on long-lived worker processes, each with a time limit and retries.

Each notebook runs in a fresh kernel on one of at most ``jobs`` workers (``worker.py``); a
notebook whose kernel fails to start is tried again. Only the parameters a notebook declares in
its ``parameters`` cell are given to it: papermill would only warn about the others.
"""
from __future__ import annotations

import ast
import json
import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .pool import WorkerGroup, WorkerProcess
from .worker import render_html

__all__ = ["NotebookResult", "declared_parameters", "longest_first", "run_batch", "run_notebook"]

_ATTEMPTS = 3


@dataclass
class NotebookResult:
    stem: str
    ok: bool
    error: str = ""
    error_anchor: str = ""
    seconds: float = 0.0
    attempts: int = 1


def declared_parameters(notebook: Path) -> set[str] | None:
    """Names assigned in the notebook's cell tagged ``parameters``; None without such a cell."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    source = next(("".join(c.get("source", "")) for c in cells
                   if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if source is None:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)}


def longest_first(notebooks: list[Path], seconds: dict) -> list[Path]:
    """``notebooks`` with the slowest first, by ``seconds`` (stem -> seconds of an earlier report).

    With two workers, a page that takes three times the others (the patient profiles of a large
    cut) ends the run alone if it starts last; started first, the others run beside it. A
    notebook without an earlier time counts as an average one, except one whose metadata says
    ``"msc_analysis": {"start_first": true}`` (a page known to be long: it goes first); ties keep
    the notebooks' order.

    >>> [p.stem for p in longest_first([Path("00_a"), Path("01_b"), Path("02_c")], {"01_b": 9.0, "02_c": 1.0})]
    ['01_b', '00_a', '02_c']
    """
    known = [float(v) for v in seconds.values() if isinstance(v, (int, float)) and v >= 0]
    typical = sum(known) / len(known) if known else 0.0

    def cost(nb: Path) -> float:
        v = seconds.get(nb.stem)
        if isinstance(v, (int, float)) and v >= 0:
            return float(v)
        return float("inf") if _starts_first(nb) else typical

    return sorted(notebooks, key=lambda nb: -cost(nb))


def _starts_first(notebook: Path) -> bool:
    try:
        meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {}).get("msc_analysis", {})
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(meta, dict) and meta.get("start_first") is True


def run_batch(notebooks: list[Path], work: Path, params: dict, with_code: bool,
              timeout_s: float, jobs: int, report, extra: dict | None = None,
              workers: WorkerGroup | None = None) -> list[NotebookResult]:
    """Run ``notebooks`` on at most ``jobs`` workers; call ``report`` as each one finishes.

    ``extra`` is added to every worker spec (``chrome``, ``results_only``). ``workers``: the
    run's workers (see :meth:`WorkerGroup.prestart`); by default, new ones for this batch.

    If the calling thread is interrupted (Ctrl-C, SIGTERM turned into an exception), every
    worker is killed before the exception goes on.
    """
    if not notebooks:
        return []
    pending = queue.SimpleQueue()
    for nb in notebooks:
        pending.put(nb)
    results, workers = [], workers or WorkerGroup(notebooks[0].parent)

    def drain():
        worker = WorkerProcess(workers)
        try:
            while not workers.cancelled:
                try:
                    nb = pending.get_nowait()
                except queue.Empty:
                    return
                result = run_notebook(worker, nb, work, params, with_code, timeout_s, extra)
                if workers.cancelled:
                    return
                results.append(result)
                report(result)
        finally:
            worker.stop()

    n = max(1, min(jobs, len(notebooks)))
    pool = ThreadPoolExecutor(max_workers=n)
    try:
        for future in [pool.submit(drain) for _ in range(n)]:
            future.result()
    except BaseException:
        workers.kill_all()
        raise
    finally:
        pool.shutdown(wait=True)
    return results


def run_notebook(worker: WorkerProcess, notebook: Path, work: Path, params: dict, with_code: bool,
                  timeout_s: float, extra: dict | None = None) -> NotebookResult:
    declared = declared_parameters(notebook)
    if declared is None:  # papermill would only warn and run it with the defaults
        return NotebookResult(notebook.stem, False, "the notebook has no cell tagged 'parameters', "
                              "so it cannot be pointed at this cut; it was not run")
    spec = {"notebook": str(notebook), "out_dir": str(work), "with_code": with_code,
            "parameters": {k: v for k, v in params.items() if k in declared},
            "cell_timeout_s": timeout_s, **(extra or {})}
    result = NotebookResult(notebook.stem, False)
    for attempt in range(1, _ATTEMPTS + 1):
        result.attempts = attempt
        status = worker.run(spec, timeout_s)
        if status is None:
            result.error = f"stopped after the time limit of {timeout_s:.0f} s"
            result.seconds = timeout_s
            if spec.get("packet_bodies"):  # the PDF packet shows this page as far as it ran
                (Path(spec["packet_bodies"]) / f"{notebook.stem}.html").unlink(missing_ok=True)
            if not spec.get("results_only"):
                _render_partial(notebook, work, with_code, spec.get("chrome"))
            return result
        if not status.get("retry"):
            break
    result.ok = bool(status.get("ok"))
    result.error = str(status.get("error", ""))
    result.error_anchor = str(status.get("error_anchor", ""))
    result.seconds = float(status.get("seconds", 0.0))
    return result


def _render_partial(notebook: Path, work: Path, with_code: bool, chrome: dict | None = None) -> None:
    executed = work / notebook.name
    if executed.exists():
        try:
            (work / f"{notebook.stem}.html").write_text(render_html(executed, with_code, chrome),
                                                        encoding="utf-8")
        except Exception:  # a half-written notebook may not be readable; the index says why
            pass
