"""Run the endpoint notebooks on one cut with papermill and render them as HTML.

The output for a cut is built in a temporary folder next to its destination and swapped
in only when the run is complete, so the previous report survives a crash. A notebook that
fails is reported (and its partly executed page kept) without stopping the others.
"""
from __future__ import annotations

import datetime as dt
import html
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["NotebookRun", "default_notebooks_dir", "run_cut", "newest_cut"]


@dataclass(frozen=True)
class NotebookRun:
    stem: str
    ok: bool
    error: str = ""


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree this package was installed from, else ``./notebooks``."""
    here = Path(__file__).resolve().parents[1] / "notebooks"
    return here if here.is_dir() else Path("notebooks").resolve()


def newest_cut(cuts_dir: str | Path) -> Path:
    """The cut folder in ``cuts_dir`` with the latest ``cutoff_date`` in its cut.yaml."""
    import yaml

    found = []
    for meta in Path(cuts_dir).glob("*/cut.yaml"):
        with open(meta, encoding="utf-8-sig") as fh:
            found.append((str(yaml.safe_load(fh).get("cutoff_date", "")), meta.parent))
    if not found:
        raise FileNotFoundError(f"no cut folders (with a cut.yaml) in {cuts_dir}")
    return max(found)[1]


def run_cut(cut_dir: Path, cut_id: str, out_dir: Path, notebooks_dir: Path | None = None,
            with_code: bool = False, log=print) -> tuple[Path, list[NotebookRun]]:
    """Execute every notebook on the cut; publish ``out_dir/<cut_id>/``; return it and the runs."""
    notebooks_dir = notebooks_dir or default_notebooks_dir()
    notebooks = sorted(notebooks_dir.glob("[0-9]*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {notebooks_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / cut_id
    work = Path(tempfile.mkdtemp(prefix=f".{cut_id}.", dir=out_dir))
    work.chmod(0o755)  # mkdtemp makes it private; the report is meant to be read by others
    started = dt.datetime.now().astimezone()
    runs = []
    try:
        for nb in notebooks:
            log(f"  running {nb.name} ...")
            runs.append(_run_one(nb, cut_dir.resolve(), work, with_code))
            log(f"  {'ok    ' if runs[-1].ok else 'FAILED'} {nb.name}")
        _write_index(work, cut_id, runs, started)
        _publish(work, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final, runs


def _run_one(nb: Path, cut_dir: Path, work: Path, with_code: bool) -> NotebookRun:
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    executed = work / nb.name
    params = {"cut_dir": str(cut_dir), "results_dir": str(work / "results")}
    error = ""
    try:
        pm.execute_notebook(str(nb), str(executed), parameters=params, kernel_name="python3", language="python",
                            cwd=str(nb.parent), progress_bar=False, log_output=False)
    except Exception as exc:  # papermill raises PapermillExecutionError and kernel errors
        error = f"{type(exc).__name__}: {getattr(exc, 'evalue', exc)}"
    if executed.exists():
        exporter = HTMLExporter(exclude_input=not with_code, exclude_input_prompt=True,
                                exclude_output_prompt=True)
        body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
        (work / f"{nb.stem}.html").write_text(body, encoding="utf-8")
    return NotebookRun(nb.stem, not error, error)


def _write_index(work: Path, cut_id: str, runs: list[NotebookRun], started: dt.datetime) -> None:
    rows = "\n".join(
        f"<tr><td><a href='{r.stem}.html'>{html.escape(r.stem)}</a></td>"
        f"<td>{'ok' if r.ok else 'failed: ' + html.escape(r.error)}</td></tr>" for r in runs)
    page = (f"<!doctype html><meta charset='utf-8'><title>{html.escape(cut_id)}</title>"
            f"<h1>Report for data cut {html.escape(cut_id)}</h1>"
            f"<p>Run started {started:%Y-%m-%d %H:%M %Z} with Python {sys.version.split()[0]}.</p>"
            f"<table><tr><th>notebook</th><th>status</th></tr>{rows}</table>")
    (work / "index.html").write_text(page, encoding="utf-8")


def _publish(work: Path, final: Path) -> None:
    """Swap the finished folder in; the previous report is removed only afterwards."""
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(work, final)
    shutil.rmtree(old, ignore_errors=True)
