"""Execute notebooks with papermill and render them as self-contained HTML pages.

The runner starts a few of these workers (``python -m msc_analysis.run.worker``), each
serving one notebook at a time: it reads a JSON spec per line on standard input and answers
with a JSON status line. Keeping the worker alive saves importing papermill and nbconvert for
every notebook; every notebook still gets a fresh kernel. A worker over its time limit is
killed by the runner and replaced.
"""
from __future__ import annotations

import json
import os
import sys
import time
from importlib import resources
from pathlib import Path

__all__ = ["render_html", "run_spec", "serve"]


def render_html(executed: Path, with_code: bool) -> str:
    """HTML of an executed notebook with nothing loaded from a URL; code hidden unless asked."""
    import nbformat
    from nbconvert import HTMLExporter

    templates = resources.files("msc_analysis") / "report" / "templates"
    exporter = HTMLExporter(extra_template_paths=[str(templates)], template_file="offline.html.j2",
                            exclude_input=not with_code, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    return body


def run_spec(spec: dict) -> dict:
    """Execute and render one notebook; return its status.

    ``spec``: ``notebook``, ``out_dir``, ``parameters``, ``with_code``, ``cell_timeout_s``.
    The status holds ``ok``, ``error``, ``error_anchor`` (the failing cell's anchor in the
    page), ``seconds`` and ``retry`` (true when the kernel did not start: worth another try).
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    notebook, out_dir = Path(spec["notebook"]), Path(spec["out_dir"])
    executed = out_dir / notebook.name
    started = time.time()
    status = {"stem": notebook.stem, "ok": False, "error": "", "error_anchor": "", "retry": False}
    try:
        pm.execute_notebook(str(notebook), str(executed), parameters=spec["parameters"],
                            kernel_name="python3", language="python", cwd=str(notebook.parent),
                            progress_bar=False, log_output=False,
                            execution_timeout=spec.get("cell_timeout_s"))
        status["ok"] = True
    except PapermillExecutionError as exc:
        status["error"] = f"{exc.ename}: {exc.evalue}"
        status["error_anchor"] = "papermill-error-cell"
    except Exception as exc:  # the kernel did not start or died
        status["error"] = f"{type(exc).__name__}: {exc}"
        status["retry"] = not _any_cell_ran(executed)
    if executed.exists():
        try:
            (out_dir / f"{notebook.stem}.html").write_text(render_html(executed, spec["with_code"]),
                                                           encoding="utf-8")
        except Exception as exc:  # a page that cannot be rendered is a failure, not a crash
            status.update(ok=False, error=f"the page could not be rendered: {exc}")
    status["seconds"] = round(time.time() - started, 1)
    return status


def _any_cell_ran(executed: Path) -> bool:
    if not executed.exists():
        return False
    nb = json.loads(executed.read_text())
    return any(c.get("execution_count") for c in nb.get("cells", []) if c.get("cell_type") == "code")


def serve() -> int:
    """Answer one JSON spec per input line with one JSON status line, until input ends."""
    # A matplotlib backend set in the environment (e.g. Agg) would reach the kernel and keep
    # every figure out of the page; the kernel's own inline backend must be used.
    os.environ.pop("MPLBACKEND", None)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not garble answers
    import nbconvert  # noqa: F401  (imported once here, used by every notebook)
    import papermill  # noqa: F401

    for line in sys.stdin:
        if line.strip():
            answers.write(json.dumps(run_spec(json.loads(line))) + "\n")
            answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(serve())
