"""Command line: ``msc-analysis validate|run|run-all|diff|newest-cut|import-redcap``.

Exit status: 0 success (or nothing to do), 1 some notebook failed or another run holds the
lock, 2 the input is invalid (the message lists every problem; no traceback), 3 (only with
``--fail-on-alert``) the report has a safety alert, 130 or 143
stopped by Ctrl-C or SIGTERM (running notebooks stopped, the unfinished report removed).

Text from a cut is data: everything printed passes through :func:`plain`, so a value cannot
move the cursor, recolour or retitle the terminal.
"""
from __future__ import annotations

import argparse
import math
import re
import signal
import sys
import threading
from collections import defaultdict
from contextlib import contextmanager, suppress
from pathlib import Path

from .io.problems import CutValidationError
from .run.publish import RunLocked, RunRefused

__all__ = ["main", "plain"]

OK, FAILED, INVALID, ALERT = 0, 1, 2, 3
#: Longest time limit per notebook accepted by ``--timeout`` (one week).
MAX_TIMEOUT_S = 7 * 24 * 3600

# ESC sequences (CSI, OSC, DCS/SOS/PM/APC strings, two-character escapes), then any other
# C0/C1 control except newline and tab, DEL, and the bidirectional overrides that reorder text.
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?"
                              r"|[PX^_][^\x1b]*(?:\x1b\\)?|[ -/]*[0-~])")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def plain(text: object) -> str:
    """``text`` without terminal control: escape sequences and control characters removed.

    Newlines and tabs stay; bytes of a file name that are not UTF-8 show as U+FFFD.

    Examples
    --------
    >>> plain("S01\\x1b[2J\\x1b]0;owned\\x07 grade\\r3\\x9b\\n")
    'S01 grade3\\n'
    """
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", str(text))))


def _say(*parts: object, err: bool = False) -> None:
    print(plain(" ".join(str(p) for p in parts)), file=sys.stderr if err else sys.stdout, flush=True)


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT_S):
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0 and at most "
                                         f"{MAX_TIMEOUT_S} (one week), got {text!r}")
    return value


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
        p.add_argument("--jobs", type=_jobs, default=None, help="notebooks run at once (default: CPU cores)")
        p.add_argument("--with-code", action="store_true", help="keep the code cells in the HTML pages")
        p.add_argument("--force", action="store_true", help="run even if the inputs have not changed")
        p.add_argument("--timeout", type=_seconds, default=900, help="time limit per notebook in seconds")
        p.add_argument("--fail-on-alert", action="store_true",
                       help="exit with status 3 when the report has any safety alert")
        p.add_argument("--no-pdf", dest="pdf", action="store_false",
                       help="do not write the PDF packet reports/<cut_id>/<cut_id>.pdf")
        p.add_argument("--notebooks", type=Path, default=None, help=argparse.SUPPRESS)
    p = sub.add_parser("diff", help="what changed between two cuts")
    p.add_argument("cut_a", type=Path, help="the earlier cut")
    p.add_argument("cut_b", type=Path, help="the later cut")
    p = sub.add_parser("newest-cut", help="print the cut folder with the latest cutoff date")
    p.add_argument("cuts_dir", type=Path)
    p = sub.add_parser("import-redcap", help="write a cut from a REDCap export (see docs/redcap.md)",
                       description="Write the cut folder OUT/CUT_ID from a REDCap data dictionary and records "
                       "export (files, or pulled with --api-url) and a mapping, then validate it. Nothing is "
                       "written if anything is wrong.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--dictionary", type=Path, help="the data dictionary CSV as REDCap exports it")
    source.add_argument("--api-url", help="pull the data dictionary and records from this REDCap API URL; "
                        "the token is read from REDCAP_API_TOKEN or --token-file, never from the command line")
    p.add_argument("--records", type=Path, help="the records export: raw, flat CSV (with --dictionary)")
    p.add_argument("--token-file", type=Path, help="file holding the API token, readable only by you (chmod 600)")
    p.add_argument("--mapping", type=Path, required=True, help="the mapping YAML, e.g. data/redcap/mapping.yaml")
    p.add_argument("--cut-id", required=True, help="name of the cut, e.g. cut-2020-12-30")
    p.add_argument("--cutoff", required=True, metavar="YYYY-MM-DD", help="data cutoff date")
    p.add_argument("--out", type=Path, required=True, help="parent folder of the cut folder, e.g. data/cuts")
    p.add_argument("--force", action="store_true", help="replace an existing cut folder of the same name")
    return parser


class _Stopped(BaseException):
    """SIGINT or SIGTERM arrived; raised in the main thread so that every clean-up runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _stop_on_signals():
    """Turn the first SIGINT or SIGTERM into :class:`_Stopped`; ignore repeats while cleaning up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
        raise _Stopped(signum)

    before = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):
        with suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    commands = {"newest-cut": _newest_cut, "validate": _validate, "run": _run, "run-all": _run_all,
                "diff": _diff, "import-redcap": _import_redcap}
    with _stop_on_signals():
        try:
            return commands[args.command](args)
        except _Stopped as stop:
            _say(f"msc-analysis: stopped by {signal.Signals(stop.signum).name}; running notebooks were "
                 "stopped and an unfinished report was removed (a published report is unchanged)", err=True)
            return 128 + stop.signum
        except (CutValidationError, RunRefused, FileNotFoundError, NotADirectoryError) as err:
            _say(err, err=True)
            return INVALID
        except RunLocked as err:
            _say(err, err=True)
            return FAILED
        except OSError as err:
            _say(f"msc-analysis: {err}", err=True)
            return INVALID
        except Exception as err:  # a bug: say so plainly, without a traceback
            _say(_unexpected(err), err=True)
            return FAILED


def _unexpected(err: Exception) -> str:
    return (f"msc-analysis: unexpected error ({type(err).__name__}: {err}); nothing was published. "
            "This is a bug in msc-analysis: please report it with the command you ran.")


def _newest_cut(args) -> int:
    from .run.cuts import find_cuts

    folders = find_cuts(args.cuts_dir)
    usable = [f for f in folders if not f.problem]
    skipped = [f.path.name for f in folders if f.problem]
    if skipped:
        _say(f"warning: {len(skipped)} folder(s) skipped, their cut.yaml cannot be used: "
             f"{', '.join(skipped[:3])}{', ...' if len(skipped) > 3 else ''} (see msc-analysis run-all)",
             err=True)
    if not usable:
        _say(f"No cut folders (with a valid cut.yaml) in {args.cuts_dir}.", err=True)
        return INVALID
    _say(usable[-1].path)
    return OK


def _validate(args) -> int:
    from .cut import load_cut

    cut = load_cut(args.cut_dir)
    pops = {p: int(cut.subjects[p].sum()) for p in ("screened", "eligible", "enrolled", "treated")}
    _say(f"Cut {cut.cut_id} (cutoff {cut.cutoff_date.date()}) is valid: "
         + ", ".join(f"{n} {p}" for p, n in pops.items()) + ".")
    if len(cut.data_quality):
        _say("Data-quality notes:\n" + cut.data_quality.to_string(index=False))
    return OK


def _run(args) -> int:
    return _run_cut(args.cut_dir, args)[0]


def _run_cut(cut_dir: Path, args) -> tuple[int, str]:
    """Load and run one cut; return its exit status and a one-line outcome."""
    from .cut import load_cut
    from .run.runner import check_out_dir, run_cut, start_workers

    check_out_dir(cut_dir, args.out)
    workers = start_workers(args.notebooks, args.jobs)  # they import the kit while the cut is validated
    try:
        cut = load_cut(cut_dir)
        _say(f"Cut {cut.cut_id} (cutoff {cut.cutoff_date.date()}) from {cut_dir}:")
        summary = run_cut(cut, cut_dir, args.out, notebooks_dir=args.notebooks, jobs=args.jobs,
                          with_code=args.with_code, force=args.force, timeout_s=args.timeout,
                          pdf=getattr(args, "pdf", True), log=_say, warn=lambda line: _say(line, err=True),
                          workers=workers)
    finally:
        workers.kill_all()  # any the run did not use and end (an invalid cut, a refused or skipped run)
    if summary.skipped:
        _say("  unchanged since the last run (same input files, notebooks and kit): nothing to do. "
             "Use --force to run again.")
    for r in summary.failed:
        _say(f"FAILED {r.stem}: {r.error}", err=True)
    for alert in summary.alerts:
        _say(f"SAFETY ALERT: {alert.get('cut_id', cut.cut_id)}: {alert.get('message', '')}")
    _say(f"Report: {summary.report_dir / 'index.html'}")
    packet = summary.report_dir / f"{cut.cut_id}.pdf"
    if getattr(args, "pdf", True) and packet.is_file() and not packet.is_symlink():
        _say(f"PDF packet: {packet}")
    alerted = ALERT if summary.alerts and getattr(args, "fail_on_alert", False) else OK
    alert_note = f"; {len(summary.alerts)} safety alert(s)" if summary.alerts else ""
    if summary.failed:
        return max(FAILED, alerted), (f"failed: {len(summary.failed)} of {len(summary.notebooks)} notebook(s) "
                                      f"({', '.join(r.stem for r in summary.failed)}){alert_note}")
    if summary.skipped:
        return alerted, f"skipped: unchanged since the last run{alert_note}"
    n = len(summary.notebooks)
    return alerted, f"ok: {n} notebook{'s' if n != 1 else ''}{alert_note}"


def _run_all(args) -> int:
    from .run.cuts import find_cuts

    folders = find_cuts(args.cuts_dir)
    if not folders:
        _say(f"No cut folders (with a cut.yaml) in {args.cuts_dir}.", err=True)
        return INVALID
    by_id = defaultdict(list)
    for f in folders:
        if not f.problem:
            by_id[f.cut_id].append(f.path)
    outcomes = []
    for folder in folders:
        shared = [str(p) for p in by_id.get(folder.cut_id, []) if p != folder.path]
        if folder.problem:
            status, outcome = INVALID, f"invalid: {folder.problem}"
        elif shared:
            status, outcome = INVALID, (f"invalid: its cut_id '{folder.cut_id}' is also the cut_id of "
                                        f"{', '.join(shared)}; give every cut folder its own cut_id. "
                                        "Neither was run")
        else:
            status, outcome = _run_one_of_many(folder.path, args)
        outcomes.append((folder.path, status, outcome))
    _say(f"\nOutcome of every cut in {args.cuts_dir}:")
    for path, _, outcome in outcomes:
        _say(f"  {path}: {outcome}")
    return max(status for _, status, _ in outcomes)


def _run_one_of_many(cut_dir: Path, args) -> tuple[int, str]:
    """:func:`_run_cut` for ``run-all``: whatever goes wrong with this cut, the next one runs."""
    try:
        return _run_cut(cut_dir, args)
    except CutValidationError as err:
        _say(err, err=True)
        return INVALID, f"invalid: {len(err.problems)} problem(s) in its files (listed above)"
    except (RunRefused, FileNotFoundError, NotADirectoryError) as err:
        _say(err, err=True)
        return INVALID, f"refused: {err}"
    except RunLocked as err:
        _say(err, err=True)
        return FAILED, f"not run: {err}"
    except OSError as err:
        _say(f"msc-analysis: {err}", err=True)
        return INVALID, f"refused: {err}"
    except Exception as err:  # a bug: report it and go on with the next cut
        _say(_unexpected(err), err=True)
        return FAILED, f"failed: unexpected error ({type(err).__name__})"


def _import_redcap(args) -> int:
    from .redcap.write import import_and_load

    if args.api_url is None:
        if args.records is None or args.token_file is not None:
            _say("msc-analysis import-redcap: give --dictionary with --records, or --api-url (with "
                 "--token-file or REDCAP_API_TOKEN)", err=True)
            return INVALID
        dictionary, records, source = args.dictionary, args.records, f"{args.dictionary} and {args.records}"
    else:
        if args.records is not None:
            _say("msc-analysis import-redcap: --records is for files; with --api-url both are pulled", err=True)
            return INVALID
        from .redcap.api import RedcapApiError, export_project, read_token
        try:
            dictionary, records = export_project(args.api_url, read_token(args.token_file))
        except RedcapApiError as err:
            _say(f"msc-analysis import-redcap: {err}", err=True)
            return INVALID
        source = "the REDCap API"
    path, cut = import_and_load(dictionary, records, args.mapping, args.cut_id, args.cutoff, args.out,
                                force=args.force)
    pops = {p: int(cut.subjects[p].sum()) for p in ("screened", "eligible", "enrolled", "treated")}
    _say(f"Imported {source} into {path}.")
    _say(f"Cut {cut.cut_id} (cutoff {cut.cutoff_date.date()}) is valid: "
         + ", ".join(f"{n} {p}" for p, n in pops.items()) + ".")
    if len(cut.data_quality):
        _say("Data-quality notes:\n" + cut.data_quality.to_string(index=False))
    _say(f"Next: msc-analysis run {path}")
    return OK


def _diff(args) -> int:
    from .cut import load_cut
    from .endpoints.changes import compare_cuts

    changes = compare_cuts(load_cut(args.cut_a), load_cut(args.cut_b))
    for name, frame in changes.items():
        _say(f"\n{name.replace('_', ' ').capitalize()} ({len(frame)}):")
        _say(frame.to_string(index=False) if len(frame) else "  none")
    return OK


if __name__ == "__main__":
    sys.exit(main())
