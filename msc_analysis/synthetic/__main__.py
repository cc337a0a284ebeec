"""Command line: ``python -m msc_analysis.synthetic``.

One cut of a new simulated trial::

    python -m msc_analysis.synthetic --subjects 1000 --seed 1 --out DIR [--cutoff 2020-09-30]

The three demo cuts of one trial::

    python -m msc_analysis.synthetic demo --out data/cuts

The demo trial as a REDCap project exports it (data dictionary and records, for import-redcap)::

    python -m msc_analysis.synthetic redcap --out data/redcap
"""
from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys

from .cutoff import cut_at, last_follow_up
from .demo import demo_cuts
from .trial import simulate_trial
from .write import write_cut

PROG = "python -m msc_analysis.synthetic"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        parser = argparse.ArgumentParser(
            prog=f"{PROG} demo", description="Write the three SYNTHETIC demo cuts of one simulated trial "
            "(cut-2020-09-15, cut-2020-10-30, cut-2020-12-30) into OUT.")
        parser.add_argument("--out", required=True, help="parent folder of the cut folders, e.g. data/cuts")
        args = parser.parse_args(argv[1:])
        command = f"{PROG} demo --out {shlex.quote(args.out)}"
        for cut_id, cutoff, description, tables in demo_cuts():
            print(write_cut(tables, args.out, cut_id, cutoff, description, command))
        return 0

    if argv[:1] == ["redcap"]:
        return _redcap(argv[1:])

    parser = argparse.ArgumentParser(
        prog=PROG, description="Simulate one SYNTHETIC trial and write one cut of it into OUT/<cut_id>.",
        epilog=f"The three committed demo cuts: {PROG} demo --out data/cuts")
    parser.add_argument("--subjects", type=int, required=True, help="number of screened subjects")
    parser.add_argument("--seed", type=int, required=True, help="random seed (same seed, same files)")
    parser.add_argument("--out", required=True, help="parent folder of the cut folder")
    parser.add_argument("--cutoff", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                        help="cutoff date (default: the day after the last follow-up, so everything "
                             "is visible); the cut_id then ends in the date")
    args = parser.parse_args(argv)
    if args.subjects < 1:
        parser.error("--subjects must be at least 1")
    trial = simulate_trial(args.subjects, args.seed)
    cutoff = args.cutoff or last_follow_up(trial) + dt.timedelta(days=1)
    cut_id = f"synthetic-n{args.subjects}-s{args.seed}" + (f"-{cutoff.isoformat()}" if args.cutoff else "")
    command = f"{PROG} --subjects {args.subjects} --seed {args.seed} --out {shlex.quote(args.out)}"
    command += f" --cutoff {cutoff.isoformat()}" if args.cutoff else ""
    description = (f"SYNTHETIC data, not real patients: {args.subjects} simulated screened subjects "
                   f"(seed {args.seed}) of a simulated single-arm trial of one IV infusion of allogeneic "
                   f"MSCs, 1x10^6 cells/kg, for severe COVID-19; data known on {cutoff.isoformat()}"
                   + ("." if args.cutoff else " (after the last follow-up: complete data)."))
    print(write_cut(cut_at(trial, cutoff), args.out, cut_id, cutoff, description, command))
    return 0


def _redcap(argv: list[str]) -> int:
    """Write data_dictionary.csv and records.csv of the demo trial's REDCap project into OUT."""
    from pathlib import Path

    from .redcap_export import data_dictionary_csv, records_csv

    parser = argparse.ArgumentParser(
        prog=f"{PROG} redcap", description="Write the SYNTHETIC demo trial as its REDCap project would export "
        "it on the final cutoff (the data of cut-2020-12-30): data_dictionary.csv and records.csv in OUT.")
    parser.add_argument("--out", required=True, help="folder of the files, e.g. data/redcap")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = demo_cuts()[-1][3]
    for name, text in (("data_dictionary.csv", data_dictionary_csv()), ("records.csv", records_csv(tables))):
        (out / name).write_text(text, encoding="utf-8", newline="")
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
