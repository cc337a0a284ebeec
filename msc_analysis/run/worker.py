"""Execute notebooks with papermill and render them as self-contained HTML pages.

The runner starts a few of these workers (``python -m msc_analysis.run.worker``), each
serving one notebook at a time: it reads a JSON spec per line on standard input and answers
with a JSON status line. Keeping the worker alive saves importing papermill and nbconvert for
every notebook; every notebook still gets a fresh kernel, forked from a process that has
already imported the kit (``warm_kernels.py``; ``MSC_ANALYSIS_WARM_KERNELS=0`` starts each
kernel the ordinary way). A worker over its time limit is
killed by the runner and replaced. This is the worker's end of that exchange (:func:`serve`);
the runner's end is ``pool.py``.

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
import signal
import sys
import threading
import time
from importlib import resources
from pathlib import Path

__all__ = ["render_html", "packet_body", "page_title", "page_chrome", "run_spec", "serve", "die_with_parent",
           "INTERRUPTED"]

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


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m msc_analysis.run.worker")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="process id of the runner; the worker dies with it")
    parser.add_argument("--notebooks", default=None, help="folder of the notebooks this worker will run")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = _arguments()
    code = serve(arguments.parent_pid, arguments.notebooks)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # every answer is written and its template has ended: skip tearing down the imports
