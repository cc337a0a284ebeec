"""The checks run on each fuzz case: every outcome must be a report or a clear refusal.

:func:`check_validate` runs ``msc-analysis validate`` in-process and :func:`check_run` runs
``msc-analysis run`` as a subprocess; each returns the exit status and a list of
:class:`Failure`. A case fails if the exit status is not 0 or 2, the output holds a traceback, a
terminal control character or the text of the file outside the cut (:data:`fuzzing.cases.SECRET`),
or a file outside ``--out`` changed, appeared or vanished (compared by :func:`snapshot`).
:func:`pick_run_cases` chooses, from the seed, which validated cases also go through ``run``.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import re
import signal
import subprocess
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

from .cases import SECRET
from .mutations import Case

__all__ = ["CLI", "Failure", "PATH_SENSITIVE", "check_run", "check_validate", "pick_run_cases",
           "snapshot", "write_quick_notebook"]

CLI = [sys.executable, "-m", "msc_analysis.cli"]


def snapshot(folder: Path, skip: Path | None = None) -> dict[str, str]:
    """Every entry under ``folder`` (not following links): file hash, link target or 'dir'."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if skip is None or Path(dirpath, d) != skip]
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = str(p.relative_to(folder))
            if p.is_symlink():
                found[rel] = "link->" + os.readlink(p)
            elif p.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


def _changes(before: dict, after: dict) -> list[str]:
    return ([f"removed {k}" for k in sorted(before.keys() - after.keys())]
            + [f"added {k}" for k in sorted(after.keys() - before.keys())]
            + [f"changed {k}" for k in sorted(before.keys() & after.keys()) if before[k] != after[k]])


@dataclass
class Failure:
    """One finding on one case; failures with the same :attr:`key` are reported together."""

    case: str
    check: str  # what went wrong: exit status, traceback, exception, files changed, ...
    detail: str  # last line of the traceback, or the files
    where: str = ""  # innermost msc_analysis frame

    @property
    def key(self) -> tuple:
        return (self.check, re.sub(r"'[^']*'|\"[^\"]*\"|\d+", "…", self.detail)[:80], self.where)

    def __str__(self) -> str:
        return f"{self.check}: {self.detail} [{self.where}]\n    {self.case}"


class _Timeout(BaseException):
    """Raised by the alarm when validate takes too long (not an Exception, so nothing catches it)."""


def _raise_timeout(*_):
    raise _Timeout()


_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x9b]")


def _where(text: str) -> str:
    frames = re.findall(r'File "([^"]*msc_analysis/[^"]*)", line (\d+), in (\S+)', text)
    if not frames:
        return ""
    path, line, func = frames[-1]
    return f"{path[path.rindex('msc_analysis/'):]}:{line} in {func}"


def _output_failures(case: Case, output: str, code, allowed=(0, 2)) -> list[Failure]:
    found = []
    if code not in allowed:
        lines = output.strip().splitlines() or ["(no output)"]
        said = [ln for ln in lines if ln.startswith("FAILED") or "unexpected error" in ln] or lines[-1:]
        found.append(Failure(case.label, f"exit status {code}", " | ".join(said)[:300], _where(output)))
    if "Traceback" in output:
        tail = [ln for ln in output.splitlines() if ln and not ln.startswith(" ")]
        found.append(Failure(case.label, "traceback in output", tail[-1][:200] if tail else "",
                             _where(output)))
    if SECRET in output:
        found.append(Failure(case.label, "output shows a file outside the cut", SECRET))
    control = _TERMINAL_CONTROL.search(output)
    if control:
        found.append(Failure(case.label, "terminal control character in output", repr(control.group())))
    return found


def _locate(case: Case, output: str) -> str:
    """Where an error that the CLI caught and reported without a traceback was raised: validate
    again, tracing exceptions in msc_analysis frames, and take the innermost frame of the one
    whose type the message names."""
    from msc_analysis.cli import main

    seen: dict[int, tuple[str, str]] = {}

    def local(frame, event, arg):
        if event == "exception" and id(arg[1]) not in seen:
            path = frame.f_code.co_filename
            seen[id(arg[1])] = (type(arg[1]).__name__, f"{path[path.rindex('msc_analysis'):]}:"
                                                        f"{frame.f_lineno} in {frame.f_code.co_name}")
        return local

    def calls(frame, event, arg):
        return local if "msc_analysis" in frame.f_code.co_filename else None

    sys.settrace(calls)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(["validate", str(case.cut)])
    except BaseException:  # noqa: BLE001 - only looking
        pass
    finally:
        sys.settrace(None)
    named = [where for name, where in seen.values() if f"({name}:" in output or f"{name}:" in output]
    return named[-1] if named else ""


def check_validate(case: Case, timeout_s: int = 60) -> tuple[int | None, list[Failure]]:
    """``msc-analysis validate`` in-process on the case's cut; returns (exit status, failures)."""
    from msc_analysis.cli import main

    before = snapshot(case.root)
    out, code, failures = io.StringIO(), None, []
    old_handler = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.alarm(timeout_s)
    cwd = os.getcwd()
    try:
        os.chdir(case.root)  # anything written relative to the working folder shows up in the snapshot
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings():
            warnings.simplefilter("default")
            code = main(["validate", str(case.cut)])
    except SystemExit as exc:
        code = exc.code
    except _Timeout:
        failures.append(Failure(case.label, "no answer", f"validate took over {timeout_s} s"))
    except BaseException as exc:  # noqa: BLE001 - any exception escaping main is a finding
        tb = "".join(traceback.format_exception(exc))
        failures.append(Failure(case.label, "uncaught exception",
                                f"{type(exc).__name__}: {str(exc)[:160]}", _where(tb)))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_handler)
        os.chdir(cwd)
    if code is not None:
        found = _output_failures(case, out.getvalue(), code)
        for f in found:
            f.where = f.where or (_locate(case, out.getvalue()) if code == 1 else "")
        failures += found
    failures += [Failure(case.label, "validate changed files", c)
                 for c in _changes(before, snapshot(case.root))]
    return code, failures


def write_quick_notebook(folder: Path) -> Path:
    """One small notebook that loads the cut and writes one result: enough to exercise ``run``."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('cut_dir = ""\nresults_dir = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import pandas as pd\nfrom msc_analysis import load_cut\n"
        "from msc_analysis.report.results import result_rows, write_results\ncut = load_cut(cut_dir)\n"
        "write_results(result_rows('overview', pd.DataFrame({'measure': ['subjects'], 'group': ['screened'], "
        "'estimate': [len(cut.subjects)], 'n': [len(cut.subjects)], 'unit': ['subjects'], 'method': ['count']})), "
        "results_dir, '01_quick', cut_id=cut.cut_id)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "01_quick.ipynb")
    return folder


def check_run(case: Case, notebooks: Path, timeout_s: int = 300) -> tuple[int | None, list[Failure]]:
    """``msc-analysis run CUT --out <case>/out`` as a subprocess: exit 0 or 2, nothing outside --out."""
    out = case.root / "out"
    before, neighbours = snapshot(case.root, skip=out), snapshot(case.root.parent, skip=case.root)
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.Popen(CLI + ["run", str(case.cut), "--out", str(out), "--notebooks", str(notebooks)],
                            cwd=case.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, errors="replace", start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return None, [Failure(case.label, "no answer", f"run took over {timeout_s} s")]
    failures = _output_failures(case, output, proc.returncode)
    failures += [Failure(case.label, "run changed files outside --out", c)
                 for c in _changes(before, snapshot(case.root, skip=out))
                 + _changes(neighbours, snapshot(case.root.parent, skip=case.root))]
    return proc.returncode, failures


PATH_SENSITIVE = ("yaml: hostile-cut_id", "files: symlink", "files: sub-folder", "files: neighbour",
                  "files: wrong-case", "files: extra-file", "degenerate:")


def pick_run_cases(outcomes: dict[int, tuple], seed: int, k: int) -> list[int]:
    """``k`` case numbers for ``run``, fixed by the seed: half valid (first those that could lead a
    path out of ``--out`` or hold degenerate data), half refused; topped up from either when short."""
    rng = random.Random(f"{seed}:run")
    valid = sorted(n for n, (code, _) in outcomes.items() if code == 0)
    refused = sorted(n for n, (code, _) in outcomes.items() if code == 2)
    rng.shuffle(valid)
    rng.shuffle(refused)
    valid.sort(key=lambda n: not any(m.startswith(PATH_SENSITIVE) for m in outcomes[n][1]))
    chosen = valid[: k - k // 2] + refused[: k // 2]
    rest = [n for n in valid + refused if n not in chosen]
    return sorted(chosen + rest[: k - len(chosen)])

