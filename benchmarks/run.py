"""Benchmarks of msc-analysis: the runner against the plain papermill loop, and cuts at scale.

Run from the repository root with the kit's environment, on a quiet machine (see
benchmarks/README.md):

    .venv/bin/python benchmarks/run.py --repeats 3 --sizes 1000 10000 100000 --cuts /tmp/msc-bench-cuts

Writes benchmarks/results.json, the results table of benchmarks/README.md, and prints the
table. Each figure is shown with its CPU floor (CPU seconds of the work / cores) and what bounds
the rest (``summary.py``). Performance is measured here, never by timed tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import endpoint_calls
import summary

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO_CUTS = ROOT / "data" / "cuts"
FINAL_DEMO_CUT, PREVIOUS_DEMO_CUT = DEMO_CUTS / "cut-2020-12-30", DEMO_CUTS / "cut-2020-10-30"
TARGETS = {"runner_vs_loop_ratio": 0.30,
           "load_validate_s_10000": 2.0, "full_report_s_10000": 30.0,
           "load_validate_s_100000": 20.0, "endpoints_s_100000": 30.0, "full_report_s_100000": 180.0,
           "peak_rss_gib_100000": 3.0, "page_mb_100000": 5.0, "all_pages_ok_100000": True}

# Runs commands one after the other in a process of its own and reports, as one JSON line: wall
# seconds, CPU seconds and the largest resident set of every process below it (getrusage of its
# children: the CLI, its workers, kernels and PDF process), and each output line with the second
# it arrived. It is a child subreaper, so processes left by a command are still counted.
_WRAP = r"""
import ctypes, json, os, resource, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
start, lines, codes = time.perf_counter(), [], []
for cmd in json.loads(sys.argv[1]):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    for line in proc.stdout:
        lines.append([round(time.perf_counter() - start, 3), line.rstrip()])
    codes.append(proc.wait())
wall = time.perf_counter() - start
deadline = time.monotonic() + 30  # reap what the commands left (kernels end within a second)
while time.monotonic() < deadline:
    try:
        if os.waitpid(-1, os.WNOHANG) == (0, 0):
            time.sleep(0.1)
    except ChildProcessError:
        break
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mib": ru.ru_maxrss / 1024,
                  "returncodes": codes, "lines": lines}))
"""


def measured(commands: list[list[str]], keep_lines: bool = True) -> dict:
    """Run ``commands`` in sequence under :data:`_WRAP`; wall, CPU, peak memory and output lines."""
    proc = subprocess.run([sys.executable, "-c", _WRAP, json.dumps([[str(c) for c in cmd] for cmd in commands])],
                          check=True, capture_output=True, text=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if not keep_lines:
        result.pop("lines")
    return result


def runner_command(cut: Path, out: Path, *extra: str) -> list[str]:
    return [str(BIN / "msc-analysis"), "run", str(cut), "--out", str(out), "--force", *extra]


def loop_commands(cut: Path, out: Path, previous_cut: Path, previous_results: Path) -> list[list[str]]:
    """What a statistician would write by hand: papermill, then nbconvert, per notebook.

    In the runner's order, with the parameters the runner gives (the previous cut and its
    results only to the pages that declare them), so both do the same work.
    """
    commands = []
    for nb in endpoint_calls.notebook_paths():
        executed = out / nb.name
        params = ["-p", "cut_dir", str(cut), "-p", "results_dir", str(out / "results")]
        if "previous_results_dir" in endpoint_calls.declared_parameters(nb):
            params += ["-p", "previous_cut_dir", str(previous_cut), "-p", "previous_results_dir", str(previous_results)]
        commands += [[str(BIN / "papermill"), str(nb), str(executed), *params, "--cwd", str(nb.parent)],
                     [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)]]
    return commands


def _report_facts(report: Path, run: dict) -> dict:
    """From a published report: its provenance.json (per-notebook seconds, PDF) and file sizes.

    No report (the run was refused or crashed): every page counts as failed, with the run's last line.
    """
    try:
        record = json.loads((report / "provenance.json").read_text())
    except (OSError, ValueError):
        last = run["lines"][-1][1] if run.get("lines") else f"exit status {run['returncodes']}"
        return {"notebooks": {}, "failed_notebooks": [f"(no report: {last})"], "timeline": {},
                "pdf": {"made": False, "seconds": None, "error": "no report", "bytes": None},
                "page_bytes": {}, "other_file_bytes": {}}
    notebooks = {nb["stem"]: {"ok": nb["ok"], "seconds": nb["seconds"], "error": nb.get("error", "")}
                 for nb in record["notebooks"]}
    pages = {p.name: p.stat().st_size for p in sorted(report.glob("*.html"))}
    other = {str(p.relative_to(report)): p.stat().st_size for p in sorted(report.rglob("*"))
             if p.is_file() and p.parent != report}
    pdf = record.get("pdf") or {}
    return {"notebooks": notebooks, "failed_notebooks": [s for s, nb in notebooks.items() if not nb["ok"]],
            "timeline": summary.timeline(run["lines"], notebooks),
            "previous_results_computed": bool(record.get("previous_results_computed")),
            "pdf": {"made": pdf.get("made"), "seconds": pdf.get("seconds"), "error": pdf.get("error"),
                    "bytes": (report / pdf["file"]).stat().st_size if pdf.get("file") else None},
            "page_bytes": pages, "other_file_bytes": other}


def runner_vs_loop(repeats: int, work: Path) -> dict:
    """The loop, the runner and the runner without its PDF packet, alternated ``repeats`` times.

    Both start from a report folder that already holds the previous cut's report (as in routine
    use), so neither computes the previous cut's results.
    """
    reports = work / "reports"
    prepared = measured([runner_command(PREVIOUS_DEMO_CUT, reports, "--no-pdf")])
    if prepared["returncodes"] != [0]:  # the runner would then compute the previous cut's results each time
        raise SystemExit("the report of the previous demo cut failed; nothing measured:\n"
                         + "\n".join(text for _, text in prepared["lines"][-15:]))
    previous_results = reports / PREVIOUS_DEMO_CUT.name / "results"
    runs = {"loop": [], "runner": [], "runner_no_pdf": []}
    for i in range(repeats):  # alternate, so drift in machine load hits all alike
        loop_out = work / f"loop-{i}"
        loop_out.mkdir()
        runs["loop"].append(measured(loop_commands(FINAL_DEMO_CUT, loop_out, PREVIOUS_DEMO_CUT,
                                                   previous_results), keep_lines=False))
        for name, extra in (("runner", ()), ("runner_no_pdf", ("--no-pdf",))):
            run = measured([runner_command(FINAL_DEMO_CUT, reports, *extra)])
            run.update(_report_facts(reports / FINAL_DEMO_CUT.name, run))
            run["lines"] = run["lines"][-20:]
            runs[name].append(run)
    result = {"cut": FINAL_DEMO_CUT.name, "notebooks": len(endpoint_calls.notebook_paths()),
              "previous_report_s": prepared["wall_s"], "runs": runs}
    for name, values in runs.items():
        result[f"{name}_median_s"] = statistics.median(r["wall_s"] for r in values)
        result[f"{name}_median_cpu_s"] = statistics.median(r["cpu_s"] for r in values)
    result["ratio"] = result["runner_median_s"] / result["loop_median_s"]
    result["ratio_no_pdf"] = result["runner_no_pdf_median_s"] / result["loop_median_s"]
    result["loop_failed_commands"] = sum(c != 0 for r in runs["loop"] for c in r["returncodes"])
    return result


_MEASURE = r"""
import json, os, resource, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
t0 = time.perf_counter()
import endpoint_calls as pages
from msc_analysis import load_cut
from msc_analysis.run import previous_cut
pages.import_page_modules()
out = {"import_s": time.perf_counter() - t0}
wall, cpu = time.perf_counter(), time.process_time()
cut = load_cut(sys.argv[1])
out.update(load_validate_s=time.perf_counter() - wall, load_validate_cpu_s=time.process_time() - cpu)
try:
    from msc_analysis.cut import Cut
    from msc_analysis.io import cache
    with tempfile.TemporaryDirectory() as root:
        wall, cpu = time.perf_counter(), time.process_time()
        cache.write_cut_cache(cut, root)
        out.update(cache_write_s=time.perf_counter() - wall, cache_write_cpu_s=time.process_time() - cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        from_cache = cache.read_cut_cache(sys.argv[1], root, Cut)
        out.update(cache_read_s=time.perf_counter() - wall, cache_read_cpu_s=time.process_time() - cpu,
                   cache_used=from_cache is not None)
        del from_cache
except Exception as exc:  # no cache module yet, or another interface: the rest is still measured
    out["cache_error"] = f"{type(exc).__name__}: {exc}"
with tempfile.TemporaryDirectory() as results_dir:
    params = pages.runner_parameters(sys.argv[1], results_dir, previous_cut(sys.argv[1]) or "")
    out["pages"] = pages.time_pages(params, cut=cut)
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def synthetic_cut(n: int, cuts: Path, seed: int = 1) -> tuple[Path, float | None]:
    """The synthetic cut of ``n`` subjects in ``cuts/n<n>/`` (generated there when absent)."""
    folder = cuts / f"n{n}"
    existing = sorted(p for p in folder.glob("*") if (p / "cut.yaml").is_file()) if folder.is_dir() else []
    if existing:
        return existing[0], None
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "msc_analysis.synthetic", "--subjects", str(n), "--seed", str(seed),
                    "--out", str(folder)], check=True, stdout=subprocess.DEVNULL)
    return next(p for p in folder.iterdir() if (p / "cut.yaml").is_file()), time.perf_counter() - start


def _csv_rows(cut: Path) -> int:
    rows = 0
    for f in cut.glob("*.csv"):
        with f.open("rb") as fh:
            rows += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    return rows


def scale(n: int, cuts: Path, work: Path, full_report: bool) -> dict:
    cut, generate_s = synthetic_cut(n, cuts)
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(cut), str(Path(__file__).parent)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"measuring {cut} failed:\n{proc.stderr[-3000:]}")
    result = {"subjects": n, "cut": str(cut), "csv_rows": _csv_rows(cut), "generate_s": generate_s,
              **json.loads(proc.stdout.strip().splitlines()[-1])}
    result["endpoints_s"] = sum(p["wall_s"] for p in result["pages"].values())
    result["endpoints_cpu_s"] = sum(p["cpu_s"] for p in result["pages"].values())
    if full_report:  # HTML pages only (as the target was set, before the PDF packet), then as a user runs it
        reports = work / f"reports-{n}"
        for key, extra in (("report_html", ("--no-pdf",)), ("report", ())):
            run = measured([runner_command(cut, reports, *extra)])
            run.update(_report_facts(reports / cut.name, run))
            run["lines"] = run["lines"][-20:]
            result[key] = run
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternations of the loop and the runner")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--cuts", type=Path, default=None,
                        help="keep the synthetic cuts in CUTS/n<size>/ (reused when present; default: "
                             "generated in a temporary folder)")
    parser.add_argument("--skip-loop", action="store_true", help="skip the runner-vs-loop comparison")
    parser.add_argument("--skip-report", action="store_true", help="skip the full reports at scale")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.json")
    parser.add_argument("--readme", type=Path, default=Path(__file__).parent / "README.md",
                        help="README whose results section is rewritten")
    parser.add_argument("--no-readme", dest="readme", action="store_const", const=None)
    parser.add_argument("--note", default="", help="a line recorded with the results (e.g. how quiet the machine was)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    results = {"machine": {"cpus": cores, "python": platform.python_version(), "platform": platform.platform()},
               "command": "benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
               "note": args.note, "targets": TARGETS, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with tempfile.TemporaryDirectory(prefix="msc-bench-") as tmp:
        tmp = Path(tmp)
        if not args.skip_loop:
            (tmp / "demo").mkdir()
            results["runner_vs_loop"] = runner_vs_loop(args.repeats, tmp / "demo")
        results["scale"] = [scale(n, args.cuts or tmp / "cuts", tmp, not args.skip_report) for n in args.sizes]
    results["ended"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["summary"] = summary.rows(results, cores)
    args.out.write_text(json.dumps(results, indent=2))
    print(summary.table(results["summary"]))
    print(f"written: {args.out}")
    if args.readme is not None:
        summary.write_readme(args.readme, results)
        print(f"written: {args.readme} (results section)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
