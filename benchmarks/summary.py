"""The benchmark's summary: each figure against its target, its CPU floor, and what bounds the rest.

The **CPU floor** of a figure is the CPU work it needs divided by the cores: what it would take
if that work were spread perfectly over every core and nothing else ran. For a full report the
work is the sum of the per-notebook seconds in the report's ``provenance.json`` (each notebook:
kernel start-up, imports, its computations, drawing its figures, writing its page); for the
endpoint computations it is the CPU seconds of each page's code (``endpoint_calls.py``); for
loading it is the CPU seconds of ``load_cut``. Whatever a figure takes above its floor is
spent in serial steps (start-up and validation, writing the cache, the PDF packet, the index)
or waiting; :func:`timeline` splits a report's wall time into those steps from the times at
which the runner printed its lines.
"""
from __future__ import annotations

import re
import statistics
from pathlib import Path

BEGIN, END = "<!-- results:begin (written by benchmarks/run.py) -->", "<!-- results:end -->"
_DONE = re.compile(r"\[\d+/\d+\] (?:ok|FAILED) +(\S+) \(")


def timeline(lines: list[list], notebooks: dict) -> dict:
    """Split one ``msc-analysis run`` into its phases, in seconds since the command started.

    ``lines``: ``[seconds, text]`` of each line the command printed; ``notebooks``: stem ->
    ``{"seconds", ...}`` from provenance.json. The runner prints ``Cut ...`` once the cut is
    loaded and validated, ``[k/N] ok <stem> (...)`` as each notebook ends, and ``Report: ...``
    once the report is published; a notebook started its ``seconds`` before its line.
    """
    t_cut = next((t for t, text in lines if text.startswith("Cut ")), None)
    ended = {}
    for t, text in lines:
        match = _DONE.search(text)
        if match and match.group(1) in notebooks:
            ended[match.group(1)] = t
    t_report = next((t for t, text in lines if text.startswith("Report: ")), None)
    if t_cut is None or not ended:
        return {}
    start = max(t_cut, min(t - notebooks[stem]["seconds"] for stem, t in ended.items()))
    end = max(ended.values())
    return {"start_and_validation_s": t_cut, "before_notebooks_s": start - t_cut, "notebooks_s": end - start,
            "after_notebooks_s": (t_report or end) - end,
            "notebook_seconds_sum": sum(nb["seconds"] for nb in notebooks.values())}


def _row(what, measured, target=None, met=None, floor=None, x_floor=None, bounded_by=""):
    return {"what": what, "measured": measured, "target": target, "met": met,
            "floor": floor, "x_floor": x_floor, "bounded_by": bounded_by}


def _s(seconds) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s" if seconds < 100 else f"{seconds:.0f} s"


def _report_rest(run: dict, compute_cpu_s: float | None) -> str:
    tl, pdf = run.get("timeline") or {}, run.get("pdf") or {}
    if not tl:
        return "no timeline (the runner's output was not recognised)"
    compute = f"; their code {_s(compute_cpu_s)} CPU" if compute_cpu_s is not None else ""
    before = ("fingerprint, cache, workers' imports" + (", the previous cut's results"
                                                       if run.get("previous_results_computed") else ""))
    return (f"all its processes {_s(run['cpu_s'])} CPU; "
            f"start-up and validation {_s(tl['start_and_validation_s'])}; before the notebooks ({before}) "
            f"{_s(tl['before_notebooks_s'])}; notebooks {_s(tl['notebooks_s'])} "
            f"({len(run['notebooks'])} kernels, {_s(tl['notebook_seconds_sum'])} in all{compute}; the rest is "
            f"kernel start-ups, drawing figures and tables, and HTML); after them (alerts, PDF packet "
            f"{_s(pdf.get('seconds'))}, index, publish) {_s(tl['after_notebooks_s'])}"
            + (f"; FAILED pages: {', '.join(run['failed_notebooks'])}" if run.get("failed_notebooks") else ""))


def _scale_rows(s: dict, targets: dict, cores: int) -> list[dict]:
    n, rows = s["subjects"], []

    def target(key):
        return targets.get(f"{key}_{n}")

    def shown(key):
        return None if target(key) is None else _s(target(key))

    def check(value, key, below=True):
        limit = target(key)
        return None if limit is None else (value <= limit if below else value == limit)

    label = f"{n:,} subjects ({s['csv_rows']:,} CSV rows)"
    floor = s["load_validate_cpu_s"] / cores
    cache = (f"; writing the cache {_s(s['cache_write_s'])}, reading it {_s(s['cache_read_s'])}"
             if "cache_write_s" in s else "; no cache module")
    rows.append(_row(f"{label}: load and validate", _s(s["load_validate_s"]), shown("load_validate_s"),
                     check(s["load_validate_s"], "load_validate_s"), _s(floor), s["load_validate_s"] / floor,
                     f"one process, serial: {_s(s['load_validate_cpu_s'])} CPU{cache}"))
    largest = max(s["pages"], key=lambda k: s["pages"][k]["wall_s"])
    floor = s["endpoints_cpu_s"] / cores
    rows.append(_row(f"{label}: all endpoint computations", _s(s["endpoints_s"]), shown("endpoints_s"),
                     check(s["endpoints_s"], "endpoints_s"), _s(floor), s["endpoints_s"] / floor,
                     f"pages one after another in one process; largest {largest} "
                     f"{_s(s['pages'][largest]['wall_s'])}"))
    run, html = s.get("report"), s.get("report_html")
    peak = max([r["peak_rss_mib"] for r in (run, html) if r] or [s["peak_rss_mib"]]) / 1024
    for report, what, held in ((html, "full report, HTML pages only (--no-pdf)", True),
                               (run, "full report with its PDF packet", html is None)):
        if not report:
            continue
        floor = report["timeline"].get("notebook_seconds_sum", 0) / cores or None
        rest = _report_rest(report, s["endpoints_cpu_s"])
        if not held and html is not None:
            rest = "no target (the PDF packet came after the target was set; the row above is held to it); " + rest
        rows.append(_row(f"{label}: {what}", _s(report["wall_s"]), shown("full_report_s") if held else None,
                         check(report["wall_s"], "full_report_s") if held else None, _s(floor),
                         floor and report["wall_s"] / floor, rest))
    where = (f"largest process of the report (command, workers, kernels, PDF); loading and every page's code "
             f"in one process: {s['peak_rss_mib'] / 1024:.2f} GiB" if run
             else "loading and every page's code in one process (no full report run)")
    rows.append(_row(f"{label}: peak memory of any process", f"{peak:.2f} GiB",
                     target("peak_rss_gib") and f"{target('peak_rss_gib')} GiB", check(peak, "peak_rss_gib"),
                     bounded_by=where))
    if run and run["page_bytes"]:
        pages = run["page_bytes"]
        name = max(pages, key=pages.get)
        mb = pages[name] / 1e6
        rows.append(_row(f"{label}: largest page", f"{mb:.2f} MB ({name})",
                         target("page_mb") and f"{target('page_mb')} MB", check(mb, "page_mb"),
                         bounded_by=f"PDF packet {run['pdf']['bytes'] or 0:,} bytes; "
                                    f"{len(run['other_file_bytes'])} other files"))
    if run:
        ok = [stem for stem, nb in run["notebooks"].items() if nb["ok"]]
        rows.append(_row(f"{label}: pages ok", f"{len(ok)} of {len(run['notebooks'])}",
                         "all" if target("all_pages_ok") else None,
                         None if target("all_pages_ok") is None else not run["failed_notebooks"],
                         bounded_by="failed: " + (", ".join(run["failed_notebooks"]) or "none")))
    return rows


def rows(results: dict, cores: int) -> list[dict]:
    """One row per figure: measured, target, met, CPU floor, measured / floor, what bounds the rest."""
    targets, out = results["targets"], []
    rl = results.get("runner_vs_loop")
    if rl:
        loop = rl["loop_median_s"]
        for name, ratio, label in (("runner_no_pdf", rl["ratio_no_pdf"], "HTML pages only, as the loop"),
                                   ("runner", rl["ratio"], "with its PDF packet")):
            runs = rl["runs"][name]
            median = statistics.median(r["wall_s"] for r in runs)
            typical = min(runs, key=lambda r: abs(r["wall_s"] - median))
            floor = typical["timeline"].get("notebook_seconds_sum", 0) / cores or None
            held = name == "runner_no_pdf"  # like for like: the loop makes no PDF packet
            out.append(_row(f"demo cut {rl['cut']}: runner ({label}) / plain loop",
                            f"{median:.1f} s / {loop:.1f} s = {ratio:.2f}",
                            f"{targets['runner_vs_loop_ratio']}" if held else None,
                            ratio <= targets["runner_vs_loop_ratio"] if held else None, _s(floor),
                            floor and median / floor,
                            ("" if held else "no target (the loop makes no PDF; the row above is held to it); ")
                            + f"the loop: {_s(rl['loop_median_cpu_s'])} CPU; the runner: "
                            + _report_rest(typical, None)
                            + (f"; {rl['loop_failed_commands']} loop commands failed" if rl["loop_failed_commands"]
                               else "")))
    for s in results.get("scale", []):
        out.extend(_scale_rows(s, targets, cores))
    return out


def _cells(row: dict) -> list[str]:
    met = {True: "yes", False: "**NO**", None: ""}[row["met"]]
    x = "" if not row["x_floor"] else f"{row['x_floor']:.1f}x"
    return [row["what"], row["measured"], row["target"] or "", met, row["floor"] or "", x, row["bounded_by"]]


HEADER = ["what", "measured", "target", "met", "CPU floor", "x floor", "what bounds the rest"]


def table(summary_rows: list[dict]) -> str:
    """The rows as plain text for the terminal (the last column wrapped under its row)."""
    lines = []
    for row in summary_rows:
        what, measured, target, met, floor, x, rest = _cells(row)
        met = met.replace("*", "")
        lines.append(f"{what:<62} {measured:>26}  target {target or '-':>8} {met:>4}  floor {floor or '-':>7} {x:>6}")
        if rest:
            lines.append(f"    {rest}")
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """The README's results section: when, where and how measured, then the table."""
    m = results["machine"]
    head = [f"Measured {results['started']} to {results.get('ended', '?')} on {m['cpus']} cores "
            f"(Python {m['python']}) with `{results.get('command', 'benchmarks/run.py')}`. Every figure is "
            "wall time; the CPU floor is the CPU work / cores (see above)."
            + (f" Note: {results['note']}" if results.get("note") else ""), "",
            "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    body = ["| " + " | ".join(c.replace("|", "/") for c in _cells(r)) + " |" for r in results["summary"]]
    return "\n".join(head + body)


def write_readme(path: Path, results: dict) -> None:
    """Replace the text between :data:`BEGIN` and :data:`END` in ``path`` with :func:`markdown`."""
    text = Path(path).read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path} has no results section ({BEGIN} ... {END}); nothing written there")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    Path(path).write_text(f"{before}{BEGIN}\n{markdown(results)}\n{END}{after}", encoding="utf-8")
