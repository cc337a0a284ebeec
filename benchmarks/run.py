"""Benchmarks of msc-analysis: the runner against the plain papermill loop, and cuts at scale.

Run from the repository root with the kit's environment (see benchmarks/README.md):

    .venv/bin/python benchmarks/run.py                 # runner vs loop + 1,000 and 10,000 subjects
    .venv/bin/python benchmarks/run.py --repeats 5 --sizes 1000 10000 100000

Writes benchmarks/results.json and prints a table. Performance is measured here, never by
timed tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FINAL_DEMO_CUT = ROOT / "data" / "cuts" / "cut-2020-12-30"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
TARGETS = {"runner_vs_loop_ratio": 0.40, "load_validate_s_10000": 10.0, "endpoints_s_10000": 15.0,
           "full_report_s_10000": 90.0, "peak_rss_gib": 4.0, "page_mb": 5.0}


def _timed(cmd: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def plain_loop(cut: Path, out: Path) -> float:
    """What a statistician would write by hand: papermill, then nbconvert, per notebook."""
    start = time.perf_counter()
    for nb in NOTEBOOKS:
        executed = out / nb.name
        subprocess.run([str(BIN / "papermill"), str(nb), str(executed), "-p", "cut_dir", str(cut),
                        "-p", "results_dir", str(out / "results"), "--cwd", str(nb.parent)],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(executed)],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def runner(cut: Path, out: Path) -> float:
    return _timed([str(BIN / "msc-analysis"), "run", str(cut), "--out", str(out), "--force"])


def runner_vs_loop(repeats: int) -> dict:
    loop_s, runner_s = [], []
    for _ in range(repeats):  # alternate, so drift in machine load hits both alike
        with tempfile.TemporaryDirectory() as tmp:
            loop_s.append(plain_loop(FINAL_DEMO_CUT, Path(tmp)))
        with tempfile.TemporaryDirectory() as tmp:
            runner_s.append(runner(FINAL_DEMO_CUT, Path(tmp)))
    loop_m, runner_m = statistics.median(loop_s), statistics.median(runner_s)
    return {"notebooks": len(NOTEBOOKS), "loop_s": loop_s, "runner_s": runner_s,
            "loop_median_s": loop_m, "runner_median_s": runner_m, "ratio": runner_m / loop_m}


_MEASURE = r"""
import json, resource, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
t0 = time.perf_counter()
import endpoint_calls as pages
from msc_analysis import load_cut
from msc_analysis.run import previous_cut
pages.import_page_modules()
t1 = time.perf_counter()
cut = load_cut(sys.argv[1])
t2 = time.perf_counter()
with tempfile.TemporaryDirectory() as results_dir:
    params = pages.runner_parameters(sys.argv[1], results_dir, previous_cut(sys.argv[1]) or "")
    timings = pages.time_pages(params, cut=cut)
print(json.dumps({"import_s": t1 - t0, "load_validate_s": t2 - t1, "endpoints_s": timings,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def scale(n: int, seed: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gen_s = _timed([sys.executable, "-m", "msc_analysis.synthetic", "--subjects", str(n),
                        "--seed", str(seed), "--out", str(tmp / "cuts")])
        cut = next((tmp / "cuts").iterdir())
        proc = subprocess.run([sys.executable, "-c", _MEASURE, str(cut), str(Path(__file__).parent)],
                              check=True, capture_output=True, text=True)
        measured = json.loads(proc.stdout.strip().splitlines()[-1])
        report_s = runner(cut, tmp / "reports")
        # the largest resident set of any child process waited for so far (workers, kernels)
        children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        pages = {p.name: p.stat().st_size for p in sorted((tmp / "reports" / cut.name).glob("*.html"))}
        index = (tmp / "reports" / cut.name / "provenance.json").read_text()
        failed = [nb["stem"] for nb in json.loads(index)["notebooks"] if not nb["ok"]]
        rows = sum(max(0, len(f.read_text().splitlines()) - 1) for f in cut.glob("*.csv"))
    return {"subjects": n, "csv_rows": rows, "generate_s": gen_s, **measured,
            "endpoints_total_s": sum(measured["endpoints_s"].values()),
            "full_report_s": report_s, "failed_notebooks": failed,
            "peak_rss_mib_any_process": max(measured["peak_rss_mib"], children_peak / 1024),
            "page_bytes": pages, "largest_page_mb": max(pages.values()) / 2**20}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="alternations of runner and loop")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--skip-loop", action="store_true", help="skip the runner-vs-loop comparison")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args(argv)
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "platform": platform.platform()},
               "targets": TARGETS, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if not args.skip_loop:
        results["runner_vs_loop"] = runner_vs_loop(args.repeats)
        r = results["runner_vs_loop"]
        print(f"runner vs plain loop on {FINAL_DEMO_CUT.name} ({r['notebooks']} notebooks): "
              f"runner {r['runner_median_s']:.1f} s, loop {r['loop_median_s']:.1f} s, "
              f"ratio {r['ratio']:.2f} (target <= {TARGETS['runner_vs_loop_ratio']})")
    results["scale"] = []
    for n in args.sizes:
        s = scale(n)
        results["scale"].append(s)
        print(f"{n:>7} subjects ({s['csv_rows']} rows): load+validate {s['load_validate_s']:.1f} s, "
              f"endpoints {s['endpoints_total_s']:.1f} s, full report {s['full_report_s']:.0f} s, "
              f"peak RSS {s['peak_rss_mib_any_process']:.0f} MiB, largest page "
              f"{s['largest_page_mb']:.2f} MB" + (f", FAILED: {s['failed_notebooks']}" if s["failed_notebooks"] else ""))
        for name, sec in s["endpoints_s"].items():
            print(f"          {name:<28} {sec:6.2f} s")
    args.out.write_text(json.dumps(results, indent=2))
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
