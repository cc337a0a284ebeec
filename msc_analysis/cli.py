"""Command line: ``msc-analysis validate|run|run-all|diff|newest-cut``.

Exit status: 0 success (or nothing to do), 1 some notebook failed or another run holds the
lock, 2 the input is invalid (the message lists every problem; no traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .io.problems import CutValidationError

__all__ = ["main"]

OK, FAILED, INVALID = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="msc-analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check a cut folder and summarise what it holds")
    p.add_argument("cut_dir", type=Path)
    for name, help_text in (("run", "run every notebook on one cut and publish its HTML report"),
                            ("run-all", "run every cut in a folder of cuts, oldest first")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("cut_dir" if name == "run" else "cuts_dir", type=Path)
        p.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default: reports)")
        p.add_argument("--jobs", type=int, default=None, help="notebooks run at once (default: CPU cores)")
        p.add_argument("--with-code", action="store_true", help="keep the code cells in the HTML pages")
        p.add_argument("--force", action="store_true", help="run even if the inputs have not changed")
        p.add_argument("--timeout", type=float, default=900, help="time limit per notebook in seconds")
        p.add_argument("--notebooks", type=Path, default=None, help=argparse.SUPPRESS)
    p = sub.add_parser("diff", help="what changed between two cuts")
    p.add_argument("cut_a", type=Path, help="the earlier cut")
    p.add_argument("cut_b", type=Path, help="the later cut")
    p = sub.add_parser("newest-cut", help="print the cut folder with the latest cutoff date")
    p.add_argument("cuts_dir", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "newest-cut":
            from .run import newest_cut

            print(newest_cut(args.cuts_dir))
            return OK
        if args.command == "validate":
            return _validate(args.cut_dir)
        if args.command == "run":
            return _run(args.cut_dir, args)
        if args.command == "run-all":
            from .run.runner import _cuts

            cuts = [p for _, p in _cuts(args.cuts_dir)]
            if not cuts:
                print(f"No cut folders (with a cut.yaml) in {args.cuts_dir}.", file=sys.stderr)
                return INVALID
            return max(_run(cut, args) for cut in cuts)
        if args.command == "diff":
            return _diff(args.cut_a, args.cut_b)
    except CutValidationError as err:
        print(err, file=sys.stderr)
        return INVALID
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return INVALID
    return OK


def _validate(cut_dir: Path) -> int:
    from .cut import load_cut

    cut = load_cut(cut_dir)
    pops = {p: int(cut.subjects[p].sum()) for p in ("screened", "eligible", "enrolled", "treated")}
    print(f"Cut {cut.cut_id} (cutoff {cut.cutoff_date.date()}) is valid: "
          + ", ".join(f"{n} {p}" for p, n in pops.items()) + ".")
    if len(cut.data_quality):
        print("Data-quality notes:\n" + cut.data_quality.to_string(index=False))
    return OK


def _run(cut_dir: Path, args) -> int:
    from .cut import load_cut
    from .run import run_cut
    from .run.publish import RunLocked

    try:
        cut = load_cut(cut_dir)
    except CutValidationError as err:
        print(err, file=sys.stderr)
        return INVALID
    print(f"Cut {cut.cut_id} (cutoff {cut.cutoff_date.date()}):", flush=True)
    try:
        summary = run_cut(cut, cut_dir, args.out, notebooks_dir=args.notebooks, jobs=args.jobs,
                          with_code=args.with_code, force=args.force, timeout_s=args.timeout,
                          log=lambda line: print(line, flush=True))
    except RunLocked as err:
        print(err, file=sys.stderr)
        return FAILED
    if summary.skipped:
        print("  unchanged since the last run (same input files, notebooks and kit): nothing to do. "
              "Use --force to run again.")
    for r in summary.failed:
        print(f"FAILED {r.stem}: {r.error}", file=sys.stderr)
    print(f"Report: {summary.report_dir / 'index.html'}")
    return FAILED if summary.failed else OK


def _diff(cut_a: Path, cut_b: Path) -> int:
    from .cut import load_cut
    from .endpoints.changes import compare_cuts

    changes = compare_cuts(load_cut(cut_a), load_cut(cut_b))
    for name, frame in changes.items():
        print(f"\n{name.replace('_', ' ').capitalize()} ({len(frame)}):")
        print(frame.to_string(index=False) if len(frame) else "  none")
    return OK


if __name__ == "__main__":
    sys.exit(main())
