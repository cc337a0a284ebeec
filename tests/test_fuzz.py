"""Careless and hostile input, at random: mutated demo cuts end in a report or a clear refusal.

A short, fixed run of the fuzzer in ``benchmarks/fuzz.py`` (``make fuzz`` runs thousands of
cases): each case copies one demo cut (or the test fixture) and damages its bytes, cells, rows,
files, ``cut.yaml`` or, converted to ``.xlsx``, its sheets. ``msc-analysis validate`` runs on every
case in-process, ``msc-analysis run`` on a few as a subprocess with one small notebook.
"""
import importlib

from .conftest import ROOT

SEED = 20201030
CASES = 300  # about 30-60 s of validate on 2 cores
RUNS = 4  # `run` subprocesses (about 10 s each): 2 cuts that validate, 2 that do not


def _fuzzer(monkeypatch):
    """``benchmarks/fuzz.py`` and its ``fuzzing/`` package, imported the way the command line
    finds them: with ``benchmarks/`` first on ``sys.path`` (only for this test; nothing installed)."""
    monkeypatch.syspath_prepend(ROOT / "benchmarks")
    return importlib.import_module("fuzz")


def test_random_mutations_of_the_demo_cuts_end_in_a_report_or_a_clear_refusal(tmp_path, monkeypatch):
    """Exit 0 or 2, never a traceback or an escaping exception, the cut's files byte-identical
    (none added or removed), and nothing written outside ``--out``."""
    fuzz = _fuzzer(monkeypatch)
    failures = fuzz.fuzz(SEED, range(CASES), RUNS, tmp_path, log=None)
    assert not failures, (
        f"seed {SEED}, cases 0 to {CASES - 1}: rebuild one case with\n"
        f"  .venv/bin/python benchmarks/fuzz.py --seed {SEED} --case N --keep /tmp/caseN\n"
        + fuzz.summary(failures))
