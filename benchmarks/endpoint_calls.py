"""Each endpoint page's code, read from its notebook and run in-process (figures not drawn).

Used by benchmarks/run.py to time each endpoint at scale. Nothing here repeats a notebook: a
page is the code cells after the notebook's ``parameters`` cell, executed as they stand, in
one namespace, after the parameters cell and the parameters the runner would inject (as
papermill does). So the benchmark cannot drift from the notebooks;
``tests/test_benchmark_calls.py`` checks that the executed source is the notebooks' code and
that a page writes the same results CSV as ``msc-analysis run``.

What differs from a kernel is only what is not the page's computation:

- figures are built on the Agg backend and closed after each cell, never rendered to PNG;
- the value of a cell's last expression is computed but not displayed (no HTML rendering),
  and printed text is discarded;
- with ``cut=`` given, ``load_cut`` of that cut's folder returns the already loaded cut, so
  that loading is timed once (``load_validate_s``), not once per page. Pages do not modify
  the cut (the test runs every page on one shared cut and compares with the runner).
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def notebook_paths(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The report's notebooks (``NN_*.ipynb``), in the order the runner runs them.

    Pages that compare with the previous cut (they declare ``previous_results_dir``) come
    last, since they read this run's results.
    """
    paths = sorted(Path(notebooks_dir).glob("[0-9]*.ipynb"))
    return sorted(paths, key=lambda p: "previous_results_dir" in declared_parameters(p))


def _code_cells(path: Path) -> list[dict]:
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if c.get("cell_type") == "code"]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _is_parameters(cell: dict) -> bool:
    return "parameters" in cell.get("metadata", {}).get("tags", [])


def parameters_source(path: Path) -> str:
    """Source of the notebook's one cell tagged ``parameters``."""
    tagged = [_source(c) for c in _code_cells(path) if _is_parameters(c)]
    if len(tagged) != 1:
        raise ValueError(f"{path}: {len(tagged)} cells tagged 'parameters'; expected exactly one")
    return tagged[0]


def declared_parameters(path: Path) -> set[str]:
    """Names assigned in the notebook's parameters cell."""
    tree = ast.parse(parameters_source(path))
    return {t.id for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def page_cells(path: Path) -> list[str]:
    """Source of every code cell after the parameters cell, as the notebook holds it."""
    cells = _code_cells(path)
    start = next(i for i, c in enumerate(cells) if _is_parameters(c))
    return [_source(c) for c in cells[start + 1:]]


def runner_parameters(cut_dir, results_dir, previous_cut_dir="", previous_results_dir="") -> dict:
    """The parameters ``msc-analysis run`` gives every notebook: absolute paths, "" for none."""
    def absolute(folder):
        return str(Path(folder).resolve()) if folder else ""

    return {"cut_dir": absolute(cut_dir), "results_dir": absolute(results_dir),
            "previous_cut_dir": absolute(previous_cut_dir),
            "previous_results_dir": absolute(previous_results_dir)}


@contextlib.contextmanager
def _page_context(path: Path, cut):
    """cwd = the notebook's folder (as the runner), output discarded, Agg, shared cut."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import msc_analysis

    real_load_cut = msc_analysis.load_cut
    loaded = Path(cut.path).resolve() if cut is not None and getattr(cut, "path", None) else None

    def load_cut(cut_dir, *args, **kwargs):
        if loaded is not None and not args and not kwargs and Path(cut_dir).resolve() == loaded:
            return cut
        return real_load_cut(cut_dir, *args, **kwargs)

    old_cwd = os.getcwd()
    try:
        os.chdir(path.parent)
        if cut is not None:
            msc_analysis.load_cut = load_cut
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        msc_analysis.load_cut = real_load_cut
        os.chdir(old_cwd)


def run_page(path: Path, parameters: dict, *, cut=None) -> dict:
    """Execute one notebook's page in-process; return its namespace.

    Runs the parameters cell, then assigns ``parameters`` (as papermill's injected cell), then
    every later code cell, each compiled as written, closing all figures after each cell.
    ``cut``: an already loaded cut, returned by the page's ``load_cut`` of that cut's folder.
    An exception in a cell propagates (its traceback names the notebook and cell).
    """
    import matplotlib.pyplot as plt

    path = Path(path).resolve()
    namespace = {"__name__": "__main__"}
    with _page_context(path, cut):
        exec(compile(parameters_source(path), f"<{path.stem} parameters>", "exec"), namespace)
        namespace.update(parameters)
        for i, source in enumerate(page_cells(path), 1):
            try:
                exec(compile(source, f"<{path.stem} cell {i}>", "exec"), namespace)
            finally:
                plt.close("all")
    return namespace


def import_page_modules(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """Import every module the pages import, so that no page's time includes first imports."""
    import importlib

    names = set()
    for path in notebook_paths(notebooks_dir):
        for source in page_cells(path):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module)
                    names.update(f"{node.module}.{alias.name}" for alias in node.names)
    imported = []
    for name in sorted(names):
        try:
            importlib.import_module(name)
        except ImportError:  # a name imported from a module, not a module itself
            continue
        imported.append(name)
    return imported


def time_pages(parameters: dict, *, cut=None, notebooks_dir: Path = NOTEBOOKS_DIR) -> dict[str, dict]:
    """Seconds taken by each page, run in the runner's order.

    Returns notebook stem -> ``{"wall_s", "cpu_s"}``: elapsed seconds and CPU seconds of this
    process (all its threads), so that a busy machine shows as wall above CPU.
    """
    timings = {}
    for path in notebook_paths(notebooks_dir):
        wall, cpu = time.perf_counter(), time.process_time()
        run_page(path, parameters, cut=cut)
        timings[path.stem] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    return timings


if __name__ == "__main__":  # python benchmarks/endpoint_calls.py CUT_DIR RESULTS_DIR
    from msc_analysis import load_cut as _load

    import_page_modules()
    _cut = _load(sys.argv[1])
    for _name, _s in time_pages(runner_parameters(sys.argv[1], sys.argv[2]), cut=_cut).items():
        print(f"{_name:<28} {_s['wall_s']:6.2f} s ({_s['cpu_s']:.2f} s CPU)")
