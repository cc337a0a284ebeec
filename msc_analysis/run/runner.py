"""Run every notebook on one cut and publish the report folder.

Each notebook runs in its own worker process (``worker.py``), at most ``jobs`` at a time,
with a time limit; a worker whose kernel fails to start is retried. Notebooks that compare
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
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .index import provenance, write_index
from .publish import publish, restore_interrupted, run_lock
from .worker import KERNEL_START_FAILED, render_html

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
            for batch in (first, later):
                with ThreadPoolExecutor(max_workers=jobs) as pool:
                    for result in pool.map(
                            lambda nb: _run_worker(nb, work, params, with_code, timeout_s), batch):
                        done.append(result)
                        state = "ok    " if result.ok else "FAILED"
                        log(f"  [{len(done)}/{total}] {state} {result.stem} ({result.seconds:.0f} s)"
                            + (f": {result.error}" if not result.ok else ""))
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


def _run_worker(notebook: Path, work: Path, params: dict, with_code: bool,
                timeout_s: float) -> NotebookResult:
    declared = _declared_parameters(notebook)
    if declared is None:  # papermill would only warn and run it with the defaults
        return NotebookResult(notebook.stem, False, "the notebook has no cell tagged 'parameters', "
                              "so it cannot be pointed at this cut; it was not run")
    spec_dir = Path(tempfile.mkdtemp(prefix=f".{notebook.stem}.", dir=work))
    status_file = spec_dir / "status.json"
    spec = {"notebook": str(notebook), "out_dir": str(work), "with_code": with_code,
            "parameters": {k: v for k, v in params.items() if k in declared},
            "status_file": str(status_file), "cell_timeout_s": timeout_s}
    (spec_dir / "spec.json").write_text(json.dumps(spec))
    result = NotebookResult(notebook.stem, False)
    try:
        for attempt in range(1, _ATTEMPTS + 1):
            result.attempts = attempt
            proc = subprocess.Popen([sys.executable, "-m", "msc_analysis.run.worker",
                                     str(spec_dir / "spec.json")], start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                result.error = f"stopped after the time limit of {timeout_s:.0f} s"
                result.seconds = timeout_s
                _render_partial(notebook, work, with_code)
                return result
            if code != KERNEL_START_FAILED:
                break
        status = json.loads(status_file.read_text()) if status_file.exists() else {
            "ok": False, "error": f"the worker stopped unexpectedly (exit status {code})"}
        result.ok = bool(status.get("ok"))
        result.error = status.get("error", "")
        result.error_anchor = status.get("error_anchor", "")
        result.seconds = float(status.get("seconds", 0.0))
        return result
    finally:
        shutil.rmtree(spec_dir, ignore_errors=True)


def _render_partial(notebook: Path, work: Path, with_code: bool) -> None:
    executed = work / notebook.name
    if executed.exists():
        try:
            (work / f"{notebook.stem}.html").write_text(render_html(executed, with_code), encoding="utf-8")
        except Exception:  # a half-written notebook may not be readable; the index says why
            pass
