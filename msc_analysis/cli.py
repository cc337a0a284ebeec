"""Command line: ``msc-analysis validate|run|newest-cut``.

Exit status: 0 success, 1 some notebook failed, 2 the input was invalid (the message lists
every problem; no traceback).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .io.problems import CutValidationError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="msc-analysis", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate", help="check a cut folder and summarise what it holds")
    p.add_argument("cut_dir", type=Path)
    p = sub.add_parser("run", help="run every notebook on a cut and render the HTML report")
    p.add_argument("cut_dir", type=Path)
    p.add_argument("--out", type=Path, default=Path("reports"), help="report folder (default: reports)")
    p.add_argument("--notebooks", type=Path, default=None, help="folder of notebooks to run")
    p.add_argument("--with-code", action="store_true", help="keep the code cells in the HTML")
    p = sub.add_parser("newest-cut", help="print the cut folder with the latest cutoff date")
    p.add_argument("cuts_dir", type=Path)
    args = parser.parse_args(argv)

    if args.command == "newest-cut":
        from .runner import newest_cut

        print(newest_cut(args.cuts_dir))
        return 0
    from .cut import load_cut

    try:
        cut = load_cut(args.cut_dir)
    except CutValidationError as err:
        print(err, file=sys.stderr)
        return 2
    if args.command == "validate":
        pops = {p: int(cut.subjects[p].sum()) for p in ("screened", "eligible", "enrolled", "treated")}
        print(f"Cut {cut.cut_id} (cutoff {cut.cutoff_date.date()}) is valid: "
              + ", ".join(f"{n} {p}" for p, n in pops.items()) + ".")
        if len(cut.data_quality):
            print("Data-quality notes:\n" + cut.data_quality.to_string(index=False))
        return 0
    from .runner import run_cut

    print(f"Running the notebooks on cut {cut.cut_id} (cutoff {cut.cutoff_date.date()}):")
    final, runs = run_cut(args.cut_dir, cut.cut_id, args.out, args.notebooks, args.with_code)
    failed = [r for r in runs if not r.ok]
    for r in failed:
        print(f"FAILED {r.stem}: {r.error}", file=sys.stderr)
    print(f"Report: {(final / 'index.html').resolve()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
