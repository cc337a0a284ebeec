"""Execute notebooks with papermill and render them as self-contained HTML pages.

The runner starts a few of these workers (``python -m msc_analysis.run.worker``), each
serving one notebook at a time: it reads a JSON spec per line on standard input and answers
with a JSON status line. Keeping the worker alive saves importing papermill and nbconvert for
every notebook; every notebook still gets a fresh kernel, forked from a process that has
already imported the kit (``warm_kernels.py``; ``MSC_ANALYSIS_WARM_KERNELS=0`` starts each
kernel the ordinary way). A worker over its time limit is
killed by the runner and replaced. Both ends of that exchange live here: :func:`serve` in the
worker, :class:`WorkerProcess` and :class:`WorkerGroup` in the runner.

A worker never outlives the runner: on Linux it asks the kernel to kill it when the runner
thread that started it ends (``PR_SET_PDEATHSIG``), even when the runner is killed with
SIGKILL; its notebook kernel then exits by itself (ipykernel polls its parent, the worker,
and exits within a second of losing it).
"""
from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

__all__ = ["render_html", "packet_body", "page_title", "page_chrome", "run_spec", "serve", "die_with_parent", "WorkerGroup",
           "WorkerProcess", "INTERRUPTED"]

#: Error of a notebook whose run was interrupted (Ctrl-C, SIGTERM).
INTERRUPTED = "the run was interrupted before this notebook finished"


def page_title(nb) -> str:
    """The text of the notebook's first markdown ``# `` heading (the page's title), else "".

    ``nb`` is a notebook node or its JSON as a dict.

    >>> page_title({"cells": [{"cell_type": "code", "source": "# not this"},
    ...                       {"cell_type": "markdown", "source": ["Intro\\n", "# Safety: deaths\\n", "text"]}]})
    'Safety: deaths'
    """
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else source).splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return ""


def _drop_title(nb) -> None:
    """Remove the first markdown ``# `` heading line: the page chrome shows it as the one H1."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.startswith("# "):
                cell.source = "".join(lines[:i] + lines[i + 1:]).lstrip("\n")
                return


def page_chrome(chrome: dict | None, stem: str, title: str) -> dict:
    """What the page template shows around a page: heading, previous/next links, banner, footer.

    ``chrome`` (from the runner) holds ``study``, ``cut_id``, ``synthetic``, ``fingerprint``,
    ``kit_version`` and ``pages`` (the report's pages in order, each ``{"stem", "title"}``).
    Links are relative to the report folder.

    >>> c = page_chrome({"study": "S", "cut_id": "c1", "pages": [{"stem": "00_a", "title": "A"},
    ...                  {"stem": "01_b", "title": "B"}]}, "01_b", "B")
    >>> c["heading"], c["previous"], c["next"]
    ('B - S - c1', {'href': '00_a.html', 'title': 'A'}, None)
    """
    chrome = dict(chrome or {})
    title = title or stem
    parts = [title] + [str(chrome[k]) for k in ("study", "cut_id") if chrome.get(k)]
    pages = [p for p in chrome.get("pages", []) if isinstance(p, dict) and p.get("stem")]
    stems = [p["stem"] for p in pages]
    here = stems.index(stem) if stem in stems else None

    def link(i):
        if here is None or not 0 <= i < len(pages):
            return None
        return {"href": f"{pages[i]['stem']}.html", "title": str(pages[i].get("title") or pages[i]["stem"])}

    return {"heading": " - ".join(parts), "index": "index.html" if chrome else None,
            "previous": link(here - 1) if here is not None else None,
            "next": link(here + 1) if here is not None else None,
            "synthetic": bool(chrome.get("synthetic")), "fingerprint": str(chrome.get("fingerprint", "")),
            "kit_version": str(chrome.get("kit_version", "")), "page": str(title)}


def render_html(executed: Path, with_code: bool, chrome: dict | None = None) -> str:
    """HTML of an executed notebook with nothing loaded from a URL; code hidden unless asked.

    The page is titled "<page title> - <study> - <cut_id>" (the page title is the notebook's
    first ``# `` heading, which the chrome replaces) and, given ``chrome`` (see
    :func:`page_chrome`), carries links to the index and the previous and next pages, the
    synthetic-data banner and a footer with the report's provenance digest and kit version.
    """
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    stem = Path(executed).stem
    page = page_chrome(chrome, stem, page_title(nb))
    _drop_title(nb)
    nb.metadata["title"] = page["heading"]
    exporter = _exporter(bool(with_code), threading.get_ident())
    body, _ = exporter.from_notebook_node(nb, resources={"msc_chrome": page})
    return body


def packet_body(executed: Path) -> str:
    """The body of an executed notebook for the PDF packet: no code, no page chrome, its ``# ``
    title heading removed (the packet heads every page itself); nbconvert's ``basic`` template."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    _drop_title(nb)
    body, _ = _body_exporter(threading.get_ident()).from_notebook_node(nb)
    return body


@functools.lru_cache(maxsize=8)
def _body_exporter(thread: int):
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True)


@functools.lru_cache(maxsize=8)
def _exporter(with_code: bool, thread: int):
    """The page exporter, made once per worker (and thread): compiling its template costs more
    than rendering a page."""
    from nbconvert import HTMLExporter

    templates = resources.files("msc_analysis") / "report" / "templates"
    return HTMLExporter(extra_template_paths=[str(templates)], template_file="offline.html.j2",
                        exclude_input=not with_code, exclude_input_prompt=True,
                        exclude_output_prompt=True, embed_images=True)


def run_spec(spec: dict) -> dict:
    """Execute and render one notebook; return its status.

    ``spec``: ``notebook``, ``out_dir``, ``parameters``, ``with_code``, ``cell_timeout_s``,
    ``chrome`` (optional, see :func:`page_chrome`), ``results_only`` (optional: execute
    only, no HTML page; used to compute a previous cut's results), ``env`` (optional:
    environment variables for this notebook's kernel only, e.g. the runner's cut cache) and
    ``packet_bodies`` (optional: a folder for the page's PDF packet body, :func:`packet_body`).
    The status holds ``ok``, ``error``, ``error_anchor`` (the failing cell's anchor in the
    page), ``seconds`` and ``retry`` (true when the kernel did not start: worth another try).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .warm_kernels import WarmKernelManager

    notebook, out_dir = Path(spec["notebook"]), Path(spec["out_dir"])
    executed = out_dir / notebook.name
    started = time.time()
    status = {"stem": notebook.stem, "ok": False, "error": "", "error_anchor": "", "retry": False}
    env = {str(k): str(v) for k, v in (spec.get("env") or {}).items()}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel papermill starts inherits this process's environment
    try:
        pm.execute_notebook(str(notebook), str(executed), parameters=spec["parameters"],
                            kernel_name="python3", language="python", cwd=str(notebook.parent),
                            progress_bar=False, log_output=False,
                            execution_timeout=spec.get("cell_timeout_s"),
                            **({"kernel_manager_class": WarmKernelManager} if _warm_kernels() else {}))
        status["ok"] = True
    except PapermillExecutionError as exc:
        status["error"] = f"{exc.ename}: {exc.evalue}"
        status["error_anchor"] = "papermill-error-cell"
    except Exception as exc:  # the kernel did not start or died
        status["error"] = f"{type(exc).__name__}: {exc}"
        status["retry"] = not _any_cell_ran(executed)
    finally:  # the worker serves other notebooks and runs: this one's environment goes
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if executed.exists() and not spec.get("results_only"):
        try:
            (out_dir / f"{notebook.stem}.html").write_text(
                render_html(executed, spec["with_code"], spec.get("chrome")), encoding="utf-8")
        except Exception as exc:  # a page that cannot be rendered is a failure, not a crash
            status.update(ok=False, error=f"the page could not be rendered: {exc}")
        if spec.get("packet_bodies"):  # the PDF packet's copy, made now beside the other pages
            _write_packet_body(executed, Path(spec["packet_bodies"]))
    status["seconds"] = round(time.time() - started, 1)
    return status


def _write_packet_body(executed: Path, folder: Path) -> None:
    """Write :func:`packet_body` to ``folder/<stem>.html`` whole or not at all (the packet makes
    a missing one itself)."""
    target = folder / f"{executed.stem}.html"
    partial = folder / f".{executed.stem}.{os.getpid()}.partial"
    try:
        folder.mkdir(exist_ok=True)
        target.unlink(missing_ok=True)  # a retried notebook: never the first attempt's body
        partial.write_text(packet_body(executed), encoding="utf-8")
        partial.replace(target)
    except Exception:  # noqa: BLE001 - the packet renders this page itself
        partial.unlink(missing_ok=True)


def _warm_kernels() -> bool:
    return os.environ.get("MSC_ANALYSIS_WARM_KERNELS", "1") != "0"


def _any_cell_ran(executed: Path) -> bool:
    if not executed.exists():
        return False
    nb = json.loads(executed.read_text())
    return any(c.get("execution_count") for c in nb.get("cells", []) if c.get("cell_type") == "code")


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None) -> None:
    """Have this process killed when its parent ends; exit now if ``parent_pid`` already has.

    Linux only (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere the worker still ends when
    the runner's end of its input pipe closes, after the notebook it is running.
    """
    libc_name = ctypes.util.find_library("c")
    prctl = getattr(ctypes.CDLL(libc_name), "prctl", None) if libc_name else None
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent_pid and os.getppid() != parent_pid:  # the runner died before the request took effect
        os._exit(1)


def serve(parent_pid: int | None = None, notebook_dir: str | None = None) -> int:
    """Answer one JSON spec per input line with one JSON status line, until input ends.

    ``notebook_dir``: the notebooks this worker will run; their kernels' template starts now
    and imports what they import while the first one is sent.
    """
    die_with_parent(parent_pid)
    # A matplotlib backend set in the environment (e.g. Agg) would reach the kernel and keep
    # every figure out of the page; the kernel's own inline backend must be used.
    os.environ.pop("MPLBACKEND", None)
    if _warm_kernels():
        from .warm_kernels import template

        template(Path(notebook_dir) if notebook_dir else None)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not garble answers
    import nbconvert  # noqa: F401  (imported once here, used by every notebook)
    import papermill  # noqa: F401

    for line in sys.stdin:
        if line.strip():
            answers.write(json.dumps(run_spec(json.loads(line))) + "\n")
            answers.flush()
    if _warm_kernels():
        from .warm_kernels import close_template

        close_template()
    return 0


class WorkerGroup:
    """The worker processes of a run, so that an interrupted run can stop them all at once.

    A worker is asked (``--parent-pid``) to die with the thread that started it
    (``PR_SET_PDEATHSIG``). Workers started ahead (:meth:`prestart`, by the runner's own thread,
    which outlives them) start importing while the runner prepares, and serve every batch of the
    run (the previous cut's results, the pages, then the pages that compare cuts); a worker a
    batch's pool thread had to start is stopped by that thread, which outlives it.
    """

    def __init__(self, notebook_dir: Path | None = None):
        self._lock = threading.Lock()
        self._procs: set[subprocess.Popen] = set()
        self._kept: set[subprocess.Popen] = set()  # started ahead: serve every batch
        self._idle: list[subprocess.Popen] = []
        self.cancelled = False
        self.notebook_dir = notebook_dir

    def prestart(self, n: int) -> None:
        """Start ``n`` workers now, to serve every batch; call from a thread that outlives the run."""
        for _ in range(n):
            proc = self.start()
            if proc is None:
                return
            with self._lock:
                self._kept.add(proc)
                self._idle.append(proc)

    def take(self) -> subprocess.Popen | None:
        """An idle worker started ahead, else a new one."""
        with self._lock:
            while self._idle:
                proc = self._idle.pop(0)
                if proc.poll() is None:
                    return proc
        return self.start()

    def give_back(self, proc: subprocess.Popen) -> bool:
        """Keep a worker started ahead for the next batch (True); False: stop it."""
        with self._lock:
            if proc in self._kept and proc.poll() is None and not self.cancelled:
                self._idle.append(proc)
                return True
            return False

    def close(self) -> None:
        """Stop the idle workers started ahead, after their kernels."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._kept.difference_update(idle)
        for proc in idle:
            WorkerProcess(self, proc).stop()

    def start(self) -> subprocess.Popen | None:
        with self._lock:
            if self.cancelled:
                return None
            proc = subprocess.Popen([sys.executable, "-m", "msc_analysis.run.worker",
                                     "--parent-pid", str(os.getpid())]
                                    + (["--notebooks", str(self.notebook_dir)] if self.notebook_dir else []),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, start_new_session=True)
            self._procs.add(proc)
            return proc

    def forget(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)
            self._kept.discard(proc)

    def kill_all(self) -> None:
        """Stop every worker now (its kernel follows it: ipykernel exits when its parent dies)."""
        with self._lock:
            self.cancelled = True
            for proc in self._procs:
                _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class WorkerProcess:
    """One long-lived worker process (``worker.py``) that runs notebooks one at a time."""

    def __init__(self, workers: WorkerGroup | None = None, proc: subprocess.Popen | None = None):
        self.proc = proc
        self.workers = workers or WorkerGroup()

    def run(self, spec: dict, timeout_s: float) -> dict | None:
        """The notebook's status, or None if it ran out of time (the worker is then killed)."""
        if self.proc is None or self.proc.poll() is not None:
            self.stop(kill=True)
            self.proc = self.workers.take()
            if self.proc is None:
                return {"ok": False, "error": INTERRUPTED, "retry": False}
        try:
            self.proc.stdin.write(json.dumps(spec) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout_s)
            line = self.proc.stdout.readline() if ready else ""
        except OSError:  # the worker died before reading the spec
            ready, line = True, ""
        if not ready:
            self.stop(kill=True)
            return None
        try:
            return json.loads(line)
        except ValueError:  # no line: the worker died (or was stopped)
            self.stop(kill=True)
            if self.workers.cancelled:
                return {"ok": False, "error": INTERRUPTED, "retry": False}
            return {"ok": False, "error": "the worker process stopped unexpectedly", "retry": True}

    def stop(self, kill: bool = False) -> None:
        proc, self.proc = self.proc, None
        if proc is None or (not kill and self.workers.give_back(proc)):
            return
        if kill:
            _kill_group(proc)
        else:
            try:
                proc.stdin.close()
            except OSError:
                _kill_group(proc)
        proc.wait()
        self.workers.forget(proc)


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m msc_analysis.run.worker")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="process id of the runner; the worker dies with it")
    parser.add_argument("--notebooks", default=None, help="folder of the notebooks this worker will run")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = _arguments()
    sys.exit(serve(arguments.parent_pid, arguments.notebooks))
