"""Run every notebook on one cut and publish the report folder.

Notebooks run on ``jobs`` long-lived worker processes (``worker.py``), each notebook with a
fresh kernel and a time limit; a notebook whose kernel fails to start is tried again. Notebooks that compare
with the previous cut (they declare ``previous_results_dir``) run after the others, since
they read this run's results. The report is built in a temporary folder and published in
one step; an unchanged cut is not run again unless forced.
"""
from __future__ import annotations

import ast
import datetime as dt
import hashlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .index import provenance, write_index
from .publish import publish, restore_interrupted, run_lock
from .worker import render_html

__all__ = ["NotebookResult", "RunSummary", "run_cut", "newest_cut", "previous_cut",
           "default_notebooks_dir", "KNOWN_PARAMETERS"]

#: Parameters the runner can give a notebook: paths only, never data or secrets.
KNOWN_PARAMETERS = ("cut_dir", "results_dir", "previous_cut_dir", "previous_results_dir")
_ATTEMPTS = 3


@dataclass
class NotebookResult:
    stem: str
    ok: bool
    error: str = ""
    error_anchor: str = ""
    seconds: float = 0.0
    attempts: int = 1


@dataclass
class RunSummary:
    cut_id: str
    report_dir: Path
    notebooks: list[NotebookResult] = field(default_factory=list)
    skipped: bool = False

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.notebooks if not r.ok]


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree this package was installed from, else ``./notebooks``."""
    here = Path(__file__).resolve().parents[2] / "notebooks"
    return here if here.is_dir() else Path("notebooks").resolve()


def _cuts(cuts_dir: Path) -> list[tuple[str, Path]]:
    import yaml

    found = []
    for meta in Path(cuts_dir).glob("*/cut.yaml"):
        with open(meta, encoding="utf-8-sig") as fh:
            found.append((str((yaml.safe_load(fh) or {}).get("cutoff_date", "")), meta.parent))
    return sorted(found)


def newest_cut(cuts_dir: str | Path) -> Path:
    """The cut folder in ``cuts_dir`` with the latest ``cutoff_date`` in its cut.yaml."""
    found = _cuts(Path(cuts_dir))
    if not found:
        raise FileNotFoundError(f"no cut folders (with a cut.yaml) in {cuts_dir}")
    return found[-1][1]


def previous_cut(cut_dir: str | Path) -> Path | None:
    """The cut beside ``cut_dir`` with the latest cutoff date before its own, if any."""
    cut_dir = Path(cut_dir).resolve()
    found = [(c, p.resolve()) for c, p in _cuts(cut_dir.parent)]
    mine = next((c for c, p in found if p == cut_dir), None)
    earlier = [p for c, p in found if mine is not None and c < mine]
    return earlier[-1] if earlier else None


def _declared_parameters(notebook: Path) -> set[str] | None:
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


def _fingerprint(cut, notebooks: list[Path], with_code: bool, previous: Path | None) -> str:
    h = hashlib.sha256()
    for row in cut.files.itertuples():
        h.update(f"cut {row.file} {row.sha256}\n".encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(f"kit {path.relative_to(package)} ".encode() + hashlib.sha256(path.read_bytes()).digest())
    for nb in notebooks:
        h.update(f"notebook {nb.name} ".encode() + hashlib.sha256(nb.read_bytes()).digest())
    if previous is not None:
        for path in sorted(previous.iterdir()):
            h.update(f"previous {path.name} ".encode() + hashlib.sha256(path.read_bytes()).digest())
    h.update(f"with_code={with_code}".encode())
    return h.hexdigest()


def run_cut(cut, cut_dir: Path, out_dir: Path, *, notebooks_dir: Path | None = None,
            jobs: int | None = None, with_code: bool = False, force: bool = False,
            timeout_s: float = 900, log=print) -> RunSummary:
    """Run every notebook of ``notebooks_dir`` on the validated ``cut``; publish the report.

    Returns a :class:`RunSummary`; ``skipped`` is true when the same inputs, notebooks and
    kit already produced a complete report (use ``force`` to run anyway).
    """
    cut_dir, out_dir = Path(cut_dir).resolve(), Path(out_dir).resolve()
    notebooks = sorted((notebooks_dir or default_notebooks_dir()).glob("[0-9]*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {notebooks_dir or default_notebooks_dir()}")
    final = out_dir / cut.cut_id
    previous = previous_cut(cut_dir)
    previous_results = out_dir / previous.name / "results" if previous else None
    fingerprint = _fingerprint(cut, notebooks, with_code, previous)
    summary = RunSummary(cut.cut_id, final)
    with run_lock(out_dir, cut.cut_id):
        restore_interrupted(final)
        for stale in out_dir.glob(f".{cut.cut_id}.building.*"):  # left by a run that was killed
            shutil.rmtree(stale, ignore_errors=True)
        if not force and _unchanged(final, fingerprint):
            summary.skipped = True
            return summary
        started = dt.datetime.now().astimezone()
        work = Path(tempfile.mkdtemp(prefix=f".{cut.cut_id}.building.", dir=out_dir))
        work.chmod(0o755)  # mkdtemp makes it private; reports are meant to be read
        try:
            params = {"cut_dir": str(cut_dir), "results_dir": str(work / "results"),
                      "previous_cut_dir": str(previous) if previous else "",
                      "previous_results_dir": str(previous_results) if previous else ""}
            later = [nb for nb in notebooks if "previous_results_dir" in (_declared_parameters(nb) or ())]
            first = [nb for nb in notebooks if nb not in later]
            jobs = max(1, jobs or os.cpu_count() or 1)
            total, done = len(notebooks), []
            progress = threading.Lock()

            def report(result):
                with progress:
                    done.append(result)
                    state = "ok    " if result.ok else "FAILED"
                    log(f"  [{len(done)}/{total}] {state} {result.stem} ({result.seconds:.0f} s)"
                        + (f": {result.error}" if not result.ok else ""))

            for batch in (first, later):
                _run_batch(batch, work, params, with_code, timeout_s, jobs, report)
            summary.notebooks = sorted(done, key=lambda r: r.stem)
            record = provenance(cut, started, dt.datetime.now().astimezone(), fingerprint,
                                [asdict(r) for r in summary.notebooks], previous)
            (work / "provenance.json").write_text(json.dumps(record, indent=2, default=str))
            write_index(work, cut, record, summary.notebooks)
            publish(work, final)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return summary


def _unchanged(final: Path, fingerprint: str) -> bool:
    try:
        record = json.loads((final / "provenance.json").read_text())
    except (OSError, ValueError):
        return False
    return record.get("fingerprint") == fingerprint and all(n["ok"] for n in record["notebooks"])


class _Worker:
    """One long-lived worker process (``worker.py``) that runs notebooks one at a time."""

    def __init__(self):
        self.proc = None

    def _start(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "msc_analysis.run.worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, start_new_session=True)

    def run(self, spec: dict, timeout_s: float) -> dict | None:
        """The notebook's status, or None if it ran out of time (the worker is then killed)."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
        line = self.proc.stdout.readline() if ready else ""
        if not ready:
            self.stop(kill=True)
            return None
        if not line:  # the worker died
            self.stop(kill=True)
            return {"ok": False, "error": "the worker process stopped unexpectedly", "retry": True}
        return json.loads(line)

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        if kill:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self.proc.stdin.close()
        self.proc.wait()
        self.proc = None


def _run_batch(notebooks: list[Path], work: Path, params: dict, with_code: bool,
               timeout_s: float, jobs: int, report) -> list[NotebookResult]:
    """Run ``notebooks`` on at most ``jobs`` workers; call ``report`` as each one finishes."""
    if not notebooks:
        return []
    pending = queue.SimpleQueue()
    for nb in notebooks:
        pending.put(nb)
    results = []

    def drain():
        worker = _Worker()
        try:
            while True:
                try:
                    nb = pending.get_nowait()
                except queue.Empty:
                    return
                result = _run_notebook(worker, nb, work, params, with_code, timeout_s)
                results.append(result)
                report(result)
        finally:
            worker.stop()

    workers = max(1, min(jobs, len(notebooks)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(drain) for _ in range(workers)]:
            future.result()
    return results


def _run_notebook(worker: _Worker, notebook: Path, work: Path, params: dict, with_code: bool,
                  timeout_s: float) -> NotebookResult:
    declared = _declared_parameters(notebook)
    if declared is None:  # papermill would only warn and run it with the defaults
        return NotebookResult(notebook.stem, False, "the notebook has no cell tagged 'parameters', "
                              "so it cannot be pointed at this cut; it was not run")
    spec = {"notebook": str(notebook), "out_dir": str(work), "with_code": with_code,
            "parameters": {k: v for k, v in params.items() if k in declared},
            "cell_timeout_s": timeout_s}
    result = NotebookResult(notebook.stem, False)
    for attempt in range(1, _ATTEMPTS + 1):
        result.attempts = attempt
        status = worker.run(spec, timeout_s)
        if status is None:
            result.error = f"stopped after the time limit of {timeout_s:.0f} s"
            result.seconds = timeout_s
            _render_partial(notebook, work, with_code)
            return result
        if not status.get("retry"):
            break
    result.ok = bool(status.get("ok"))
    result.error = status.get("error", "")
    result.error_anchor = status.get("error_anchor", "")
    result.seconds = float(status.get("seconds", 0.0))
    return result


def _render_partial(notebook: Path, work: Path, with_code: bool) -> None:
    executed = work / notebook.name
    if executed.exists():
        try:
            (work / f"{notebook.stem}.html").write_text(render_html(executed, with_code), encoding="utf-8")
        except Exception:  # a half-written notebook may not be readable; the index says why
            pass
