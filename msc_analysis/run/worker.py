"""Execute one notebook with papermill and render it as a self-contained HTML page.

Run as a separate process by the runner (``python -m msc_analysis.run.worker SPEC.json``) so
that a notebook over its time limit can be stopped without touching the others. The outcome
is written to the JSON file named in the spec. Exit status 75 means the kernel could not be
started (the runner retries); anything else is final.
"""
from __future__ import annotations

import json
import os
import sys
import time
from importlib import resources
from pathlib import Path

__all__ = ["render_html", "main", "KERNEL_START_FAILED"]

KERNEL_START_FAILED = 75  # EX_TEMPFAIL


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


def main(spec_path: str) -> int:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # A matplotlib backend set in the environment (e.g. Agg) would reach the kernel and keep
    # every figure out of the page; the kernel's own inline backend must be used.
    os.environ.pop("MPLBACKEND", None)
    spec = json.loads(Path(spec_path).read_text())
    notebook, out_dir = Path(spec["notebook"]), Path(spec["out_dir"])
    executed = out_dir / notebook.name
    started = time.time()
    status = {"stem": notebook.stem, "ok": False, "error": "", "error_anchor": ""}
    code = 0
    try:
        pm.execute_notebook(str(notebook), str(executed), parameters=spec["parameters"],
                            kernel_name="python3", language="python", cwd=str(notebook.parent),
                            progress_bar=False, log_output=False,
                            execution_timeout=spec.get("cell_timeout_s"))
        status["ok"] = True
    except PapermillExecutionError as exc:
        status["error"] = f"{exc.ename}: {exc.evalue}"
        status["error_anchor"] = "papermill-error-cell"
    except Exception as exc:  # the kernel did not start or died: worth another try
        status["error"] = f"{type(exc).__name__}: {exc}"
        code = KERNEL_START_FAILED if not _any_cell_ran(executed) else 0
    if executed.exists():
        (out_dir / f"{notebook.stem}.html").write_text(render_html(executed, spec["with_code"]),
                                                       encoding="utf-8")
    status["seconds"] = round(time.time() - started, 1)
    Path(spec["status_file"]).write_text(json.dumps(status))
    return code


def _any_cell_ran(executed: Path) -> bool:
    if not executed.exists():
        return False
    nb = json.loads(executed.read_text())
    return any(c.get("execution_count") for c in nb.get("cells", []) if c.get("cell_type") == "code")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
