"""Run every notebook on one cut and publish the report folder.

Notebooks run on ``jobs`` long-lived worker processes (``batch.py``, ``worker.py``), each notebook
with a fresh kernel and a time limit; a notebook whose kernel fails to start is tried again. Notebooks that compare
with the previous cut (they declare ``previous_results_dir``) run after the others, since
they read this run's results. The report is built in a temporary folder and published in
one step; an unchanged cut is not run again unless forced.

Everything a cut folder says is data: its ``cut_id`` becomes a folder name only after it is
checked (:func:`~msc_analysis.run.publish.report_path`), the ``cut.yaml`` of the folders
beside it is read with the strict reader and skipped when it cannot be read, and no link in
a cut folder is followed. Workers die with the runner (``PR_SET_PDEATHSIG``), and an
interrupted run stops them and removes its unfinished report.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import tempfile
import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ..io.cache import CACHE_ENV, kit_fingerprint, read_by_the_loader, read_cut_cache, write_cut_cache
from ..io.meta import META_FILE
from .alerts import read_alerts
from .batch import NotebookResult, declared_parameters, longest_first, run_batch
from .cuts import CutFolder, find_cuts, previous_folder, read_cut_yaml
from .finish import CUT_CACHE_FOLDER, PACKET_BODIES, finish_report
from .previous_results import PREVIOUS_RESULTS_FOLDER, compute_previous_results, schema_v2_results
from .publish import (RunRefused, building_prefix, check_apart, published_record,
                      remove_stale_builds, report_path, restore_interrupted, run_lock)
from .pool import WorkerGroup
from .worker import page_title

__all__ = ["NotebookResult", "RunSummary", "run_cut", "start_workers", "check_out_dir", "default_notebooks_dir",
           "KNOWN_PARAMETERS"]

#: Parameters the runner can give a notebook: paths only, never data or secrets.
KNOWN_PARAMETERS = ("cut_dir", "results_dir", "previous_cut_dir", "previous_results_dir")


@dataclass
class RunSummary:
    cut_id: str
    report_dir: Path
    notebooks: list[NotebookResult] = field(default_factory=list)
    skipped: bool = False
    #: The safety alerts of the published report (see :mod:`~msc_analysis.run.alerts`).
    alerts: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> list[NotebookResult]:
        return [r for r in self.notebooks if not r.ok]


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree this package was installed from, else ``./notebooks``."""
    here = Path(__file__).resolve().parents[2] / "notebooks"
    return here if here.is_dir() else Path("notebooks").resolve()


def check_out_dir(cut_dir: str | Path, out_dir: str | Path) -> None:
    """Refuse (:class:`RunRefused`) a report folder inside the cut folder, a file, or read-only.

    Writes nothing: call it before loading the cut.
    """
    cut_dir, out_dir = Path(cut_dir).resolve(), Path(out_dir).resolve()
    if out_dir == cut_dir or out_dir.is_relative_to(cut_dir):
        raise RunRefused(f"the report folder {out_dir} is inside the cut folder {cut_dir}; a cut folder "
                         "holds only the exported data, so give a report folder outside it with --out")
    existing = next(p for p in (out_dir, *out_dir.parents) if os.path.lexists(p))
    if not existing.is_dir():
        raise RunRefused(f"the report folder {out_dir} cannot be used: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunRefused(f"the report folder {out_dir} cannot be written: {existing} is read-only "
                         "for this user")


def _file_digest(path: str) -> bytes:
    """sha256 of a regular file, read without following a link; a marker for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b"(a link, or not readable)"
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"(not a regular file)"
        return hashlib.file_digest(fh, "sha256").digest()


def _hash_folder(h, label: str, folder: Path, only=None) -> None:
    """Add the names and contents of the plain files directly in ``folder`` (nothing followed).

    ``only``, if given, says which file names count: a cut folder's stray files (a huge dump,
    a spreadsheet of names) are never read, here as in the loader.
    """
    try:
        if folder.is_symlink():
            raise NotADirectoryError(folder)
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        h.update(f"{label} (no such folder)\n".encode())
        return
    for entry in entries:
        if entry.is_file(follow_symlinks=False) and (only is None or only(entry.name)):
            h.update(f"{label} ".encode() + os.fsencode(entry.name) + b" " + _file_digest(entry.path))


def _fingerprint(cut, cut_dir: Path, notebooks: list[Path], with_code: bool,
                 previous: CutFolder | None, previous_results: Path | None, pdf: bool = True) -> str:
    h = hashlib.sha256()
    h.update(b"folder " + os.fsencode(cut_dir) + b"\n")
    for row in cut.files.itertuples():
        h.update(f"cut {row.file} {row.sha256}\n".encode("utf-8", "surrogateescape"))
    h.update(f"kit {kit_fingerprint()}\n".encode())
    for nb in notebooks:
        h.update(f"notebook {nb.name} ".encode() + hashlib.sha256(nb.read_bytes()).digest())
    if previous is not None:
        h.update(f"previous {previous.cut_id}\n".encode())
        _hash_folder(h, "previous", previous.path, only=read_by_the_loader)
        _hash_folder(h, "previous results", previous_results)
    h.update(f"with_code={with_code}".encode())
    if not pdf:
        h.update(b" pdf=False")
    return h.hexdigest()


def _made_from_another_folder(final: Path, cut_dir: Path, cut_id: str) -> Path | None:
    """The other cut folder, still holding ``cut_id``, that the report at ``final`` was made from."""
    other = published_record(final).get("cut_folder")
    if not isinstance(other, str) or Path(other) == cut_dir:
        return None
    meta, problems = read_cut_yaml(Path(other) / META_FILE)
    return Path(other) if not problems and meta.get("cut_id") == cut_id else None


def run_cut(cut, cut_dir: Path, out_dir: Path, *, notebooks_dir: Path | None = None,
            jobs: int | None = None, with_code: bool = False, force: bool = False,
            timeout_s: float = 900, pdf: bool = True, log=print, warn=None,
            workers: WorkerGroup | None = None) -> RunSummary:
    """Run every notebook of ``notebooks_dir`` on the validated ``cut``; publish the report.

    Returns a :class:`RunSummary`; ``skipped`` is true when the same inputs, notebooks and
    kit already produced a complete report (use ``force`` to run anyway). ``warn`` (if given)
    is called with one line when folders beside the cut were skipped as unreadable, the
    previous cut is invalid, or the PDF packet could not be made.

    Every page carries the report's chrome (title, index/previous/next links, provenance
    footer). With ``pdf`` the report also holds ``<cut_id>.pdf``, the packet of every page
    (:mod:`~msc_analysis.run.packet`); a PDF that cannot be made is a warning and a note in
    ``provenance.json``, never a failed run. When the previous cut was never reported with this
    kit (no ``results/`` with schema v2 beside this report), its results are computed first,
    in ``.previous-cut/`` of the build folder, which is removed before the report is published.
    The cut is read and validated once: its typed tables (and the previous cut's) are stored in
    ``.cut-cache/`` of the build folder, which the pages read instead of the CSV files
    (:mod:`~msc_analysis.io.cache`; used only while the files and the kit match exactly), and
    which is removed before the report is published. ``workers`` (see :func:`start_workers`):
    workers started ahead by the caller, used and ended by the run; by default the run starts
    its own once it knows it will run.

    Raises
    ------
    RunRefused
        Before anything is written, if the cut_id cannot name a folder, a path would leave
        ``out_dir`` or is a link, ``out_dir`` is unusable or inside a cut folder, or the
        report of this cut_id was made from another cut folder that still holds it.
    RunLocked
        If another run is writing the same report.
    """
    cut_dir, out_dir = Path(cut_dir).resolve(), Path(out_dir).resolve()
    check_out_dir(cut_dir, out_dir)
    final = report_path(out_dir, cut.cut_id)
    report_path(out_dir, cut.cut_id, "aside")
    notebooks = sorted((notebooks_dir or default_notebooks_dir()).glob("[0-9]*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks found in {notebooks_dir or default_notebooks_dir()}")
    try:
        folders = find_cuts(cut_dir.parent)
    except OSError:  # the folder above the cut cannot be listed: there is no previous cut to find
        folders = []
    unreadable = [f.path.name for f in folders if f.problem and f.path != cut_dir]
    if unreadable and warn is not None:
        warn(f"warning: {len(unreadable)} folder(s) beside this cut skipped, their cut.yaml cannot be "
             f"used: {', '.join(unreadable[:3])}{', ...' if len(unreadable) > 3 else ''}")
    previous = previous_folder(cut_dir, cut.cut_id, cut.cutoff_date.date(), folders)
    previous_results = report_path(out_dir, previous.cut_id) / "results" if previous else None
    compute_previous = previous is not None and not schema_v2_results(previous_results)
    check_apart(out_dir, final, [cut_dir] + ([previous.path] if previous else []))
    fingerprint = _fingerprint(cut, cut_dir, notebooks, with_code, previous, previous_results, pdf)
    warn = warn or log
    summary = RunSummary(cut.cut_id, final)
    with run_lock(out_dir, cut.cut_id):
        restore_interrupted(final)
        remove_stale_builds(out_dir, cut.cut_id)  # left by a run that was killed
        other = _made_from_another_folder(final, cut_dir, cut.cut_id)
        if other is not None:
            raise RunRefused(f"the report {final} was made from the cut folder {other}, which has the same "
                             f"cut_id '{cut.cut_id}' as {cut_dir}. Two cut folders must not share a cut_id: "
                             "correct the cut_id in one cut.yaml (or remove the old copy); nothing was written")
        if not force and _unchanged(final, fingerprint):
            summary.skipped = True
            summary.alerts = read_alerts(final)
            return summary
        started = dt.datetime.now().astimezone()
        try:
            work = Path(tempfile.mkdtemp(prefix=building_prefix(cut.cut_id), dir=out_dir))
        except OSError as exc:
            raise RunRefused(f"cannot create a folder in the report folder {out_dir} ({exc.strerror})") from None
        jobs = max(1, jobs or os.cpu_count() or 1)
        workers = workers or start_workers(notebooks_dir, jobs)  # they import while the cut is cached
        try:
            work.chmod(0o755)  # mkdtemp makes it private; reports are meant to be read
            later = [nb for nb in notebooks if "previous_results_dir" in (declared_parameters(nb) or ())]
            first = longest_first([nb for nb in notebooks if nb not in later],
                                  _earlier_seconds(out_dir, cut.cut_id, previous))
            load_previous = _cut_loader(work / CUT_CACHE_FOLDER)
            env = _cache_cuts(work / CUT_CACHE_FOLDER, cut, previous, load_previous, warn)
            previous_usable = previous is not None
            if compute_previous:
                previous_results = compute_previous_results(previous, work / PREVIOUS_RESULTS_FOLDER, first,
                                                            timeout_s, jobs, log, warn, load_previous, env, workers)
                previous_usable = previous_results is not None
            params = {"cut_dir": str(cut_dir), "results_dir": str(work / "results"),
                      "previous_cut_dir": str(previous.path) if previous_usable else "",
                      "previous_results_dir": str(previous_results) if previous_usable else ""}
            pages = [{"stem": nb.stem, "title": _notebook_title(nb)} for nb in notebooks]
            chrome = {"study": cut.study_id, "cut_id": cut.cut_id, "synthetic": bool(getattr(cut, "synthetic", False)),
                      "fingerprint": fingerprint, "kit_version": _kit_version(), "pages": pages}
            total, done = len(notebooks), []
            progress = threading.Lock()

            def report(result):
                with progress:
                    done.append(result)
                    state = "ok    " if result.ok else "FAILED"
                    log(f"  [{len(done)}/{total}] {state} {result.stem} ({result.seconds:.0f} s)"
                        + (f": {result.error}" if not result.ok else ""))

            extra = {"chrome": chrome, "env": env, **({"packet_bodies": str(work / PACKET_BODIES)} if pdf else {})}
            for batch in (first, later):
                run_batch(batch, work, params, with_code, timeout_s, jobs, report, extra, workers)
            workers.close()
            record, summary.alerts = finish_report(
                work, final, cut, done, cut_dir=cut_dir, started=started, fingerprint=fingerprint, pages=pages,
                previous=previous, previous_results=previous_results if previous_usable else None,
                previous_results_computed=bool(compute_previous and previous_usable), pdf=pdf,
                timeout_s=timeout_s, warn=warn, load_previous=load_previous)
            summary.notebooks = sorted(done, key=lambda r: r.stem)
        except BaseException:
            workers.kill_all()
            raise
        finally:
            workers.close()
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return summary


def start_workers(notebooks_dir: Path | None = None, jobs: int | None = None) -> WorkerGroup:
    """Start the workers of a run now (one per job, at most one per notebook), each with its kernel
    template importing the kit: they are ready when the cut is. Call from the thread that runs the
    report; end them with :meth:`~msc_analysis.run.pool.WorkerGroup.kill_all` if it does not run."""
    folder = Path(notebooks_dir or default_notebooks_dir())
    workers = WorkerGroup(folder)
    workers.prestart(min(max(1, jobs or os.cpu_count() or 1), max(1, len(list(folder.glob("[0-9]*.ipynb"))))))
    return workers


def _earlier_seconds(out_dir: Path, cut_id: str, previous: CutFolder | None) -> dict:
    """Seconds per page of this cut's published report, else of the previous cut's (or {})."""
    for report_cut in [cut_id] + ([previous.cut_id] if previous else []):
        try:
            record = published_record(report_path(out_dir, report_cut))
        except RunRefused:
            continue
        try:
            seconds = {str(n["stem"]): n["seconds"] for n in record.get("notebooks", [])}
        except (TypeError, KeyError, AttributeError):
            continue
        if seconds:
            return seconds
    return {}


def _cut_loader(root: Path):
    """``load_cut`` for the runner: from the cut cache under ``root`` when it holds the cut, and
    an invalid cut's error remembered, so that the previous cut is read and validated once per run
    and is not held in memory while the pages run."""
    from ..cut import Cut, load_cut

    errors: dict[Path, Exception] = {}

    def load(path):
        path = Path(path)
        if path in errors:
            raise errors[path]
        cached = read_cut_cache(path, root, Cut)
        if cached is not None:
            return cached
        try:
            return load_cut(path)
        except Exception as exc:  # noqa: BLE001 - given again to every caller, who decides
            errors[path] = exc
            raise

    return load


def _cache_cuts(root: Path, cut, previous: CutFolder | None, load_previous, warn) -> dict:
    """Store the validated cut (and the previous cut, if valid) for the notebooks to read.

    Returns the environment the notebook kernels need to find it (the variable empty if nothing
    could be stored: the pages then read the CSV files themselves, with the same numbers).
    """
    try:
        write_cut_cache(cut, root)
    except (OSError, ValueError) as exc:
        warn(f"warning: the validated cut could not be stored for the pages ({exc}); each page reads "
             "the cut's files itself (slower, same numbers)")
        return {CACHE_ENV: ""}
    if previous is not None:
        try:
            write_cut_cache(load_previous(previous.path), root)
        except Exception:  # noqa: BLE001 - an invalid previous cut is reported where it is used
            pass
    return {CACHE_ENV: str(root)}


def _notebook_title(notebook: Path) -> str:
    try:
        return page_title(json.loads(notebook.read_text(encoding="utf-8"))) or notebook.stem
    except (OSError, ValueError, AttributeError, TypeError):
        return notebook.stem


def _kit_version() -> str:
    try:
        return metadata.version("msc-analysis")
    except metadata.PackageNotFoundError:
        return "not installed"


def _unchanged(final: Path, fingerprint: str) -> bool:
    record = published_record(final)
    try:
        return record.get("fingerprint") == fingerprint and all(n["ok"] for n in record["notebooks"])
    except (TypeError, KeyError, AttributeError):
        return False


