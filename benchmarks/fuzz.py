"""Fuzz msc-analysis with random mutations of the demo cuts: every outcome must be a report or a
clear refusal.

From the three committed demo cuts and ``tests/fixtures/valid_cut``, each case copies one cut
into a fresh folder and applies one to three mutations drawn with ``random.Random(f"{seed}:{case}")``
(so any case can be rebuilt on its own): bytes and encodings, cells, rows and headers, files and
symlinks, ``cut.yaml``, sheets (after converting the cut to an ``.xlsx`` workbook), and degenerate
but possibly valid data (no infusion yet, one subject, an early cutoff, ...). Then
``msc-analysis validate`` runs in-process and, for a few cases, ``msc-analysis run`` as a
subprocess, and the outcome is checked:

- exit status 0 (valid) or 2 (refused with a message); never 1, never an uncaught exception;
- no ``Traceback`` and no terminal control character in the output, and nothing of the file
  outside the cut that a symlink points to;
- the case folder and its parent byte-identical afterwards (no file changed, added or removed),
  except ``--out``.

Long opt-in run (``make fuzz``; ``tests/test_fuzz.py`` runs a short one in ``make test``)::

    .venv/bin/python benchmarks/fuzz.py --cases 2000 --seed 7
    .venv/bin/python benchmarks/fuzz.py --cases 500 --seed 7 --runs 6 --notebooks notebooks
    .venv/bin/python benchmarks/fuzz.py --seed 7 --case 123 --keep /tmp/case123   # rebuild one case

Prints each distinct failure once (check, last line of the error, innermost msc_analysis frame)
with the cases that hit it; exit status 1 if there was any failure.

The engine lives next to this file in ``fuzzing/``: ``fuzzing.mutations`` and ``fuzzing.cases``
(how a case is made), ``fuzzing.checks`` (what is checked). This file only drives them.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

# ``fuzzing`` is imported as a top-level package: run as a script, Python puts this folder
# (benchmarks/) first on sys.path; tests/test_fuzz.py puts it there before importing this module.
from fuzzing.cases import make_case
from fuzzing.checks import Failure, check_run, check_validate, pick_run_cases, write_quick_notebook

__all__ = ["fuzz", "main", "summary"]


def _discard(root: Path, keep: Path | None) -> None:
    """Remove a case folder, first copying it into ``keep`` (if given) to look at later."""
    if keep:
        shutil.copytree(root, keep / root.name, symlinks=True, dirs_exist_ok=True)
    shutil.rmtree(root)


def fuzz(seed: int, cases: range, runs: int, work: Path, keep: Path | None = None,
         log=print, notebooks: Path | None = None) -> list[Failure]:
    """Validate every case (and ``run`` ``runs`` of them, with the notebooks in ``notebooks``,
    by default one small notebook); return every failure found."""
    failures, outcomes = [], {}
    start = time.time()
    for n in cases:
        case = make_case(seed, n, work / f"case{n:05d}")
        code, found = check_validate(case)
        outcomes[n] = (code, case.mutations)
        failures += found
        _discard(case.root, keep if found else None)
        if log and (n - cases.start + 1) % 100 == 0:
            log(f"  {n - cases.start + 1}/{len(cases)} cases, {len(failures)} failures, "
                f"{time.time() - start:.0f} s")
    notebooks = notebooks or write_quick_notebook(work / "notebooks")
    for n in pick_run_cases(outcomes, seed, runs):
        case = make_case(seed, n, work / f"run{n:05d}")
        started = time.time()
        code, found = check_run(case, notebooks)
        if log:
            log(f"  run case {n}: exit {code} in {time.time() - started:.0f} s; {case.mutations}")
        failures += found
        _discard(case.root, keep if found else None)
    return failures


def summary(failures: list[Failure]) -> str:
    """Each distinct failure once (by :attr:`Failure.key`), most frequent first, with its cases."""
    groups: dict[tuple, list[Failure]] = {}
    for f in failures:
        groups.setdefault(f.key, []).append(f)
    lines = [f"{len(failures)} failures, {len(groups)} distinct:"]
    for same in sorted(groups.values(), key=len, reverse=True):
        numbers = sorted({int(re.search(r"case=(\d+)", f.case).group(1)) for f in same})
        lines.append(f"- {len(same)}x {same[0]}\n    all cases: {', '.join(map(str, numbers[:40]))}"
                     + (" ..." if len(numbers) > 40 else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="number of cases (default 2000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first", type=int, default=0, help="number of the first case")
    parser.add_argument("--case", type=int, default=None, help="build and check only this case")
    parser.add_argument("--runs", type=int, default=10, help="cases also given to `run` (default 10)")
    parser.add_argument("--keep", type=Path, default=None, help="copy failing cases into this folder")
    parser.add_argument("--notebooks", type=Path, default=None,
                        help="notebooks for `run` (default: one small notebook; notebooks/ runs the real "
                             "report)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.case is not None:
        with tempfile.TemporaryDirectory() as tmp:
            case = make_case(args.seed, args.case, Path(tmp) / f"case{args.case:05d}")
            print(case.label)
            code, found = check_validate(case)
            print(f"validate: exit {code}")
            if args.runs:
                notebooks = args.notebooks.resolve() if args.notebooks else None
                rc, more = check_run(case, notebooks or write_quick_notebook(Path(tmp) / "notebooks"))
                print(f"run: exit {rc}")
                found += more
            if args.keep:
                shutil.copytree(case.root, args.keep, symlinks=True, dirs_exist_ok=True)
            print("\n".join(map(str, found)) or "ok")
            return 1 if found else 0
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    print(f"fuzz: seed {args.seed}, cases {args.first} to {args.first + args.cases - 1}, {args.runs} runs")
    with tempfile.TemporaryDirectory(prefix="msc-fuzz-") as tmp:
        failures = fuzz(args.seed, range(args.first, args.first + args.cases), args.runs, Path(tmp),
                        args.keep, notebooks=args.notebooks.resolve() if args.notebooks else None)
    print(summary(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
