"""The report's front page and its provenance record."""
from __future__ import annotations

import datetime as dt
import html
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from ..report.results import read_result_file

__all__ = ["provenance", "write_index", "KEY_PACKAGES"]

#: Packages whose versions are recorded with every report.
KEY_PACKAGES = ("msc-analysis", "pandas", "numpy", "scipy", "statsmodels",
                "pandera", "tableone", "matplotlib", "seaborn", "papermill", "nbconvert")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    source = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not available"
    return commit + (" (with uncommitted changes)" if dirty else "")


def provenance(cut, started: dt.datetime, ended: dt.datetime, fingerprint: str,
               notebooks: list[dict], previous: Path | None) -> dict:
    """Everything needed to tell how a report was made, as a JSON-ready dict.

    ``synthetic`` is the cut's explicit ``synthetic`` key (false when the cut has none); it is
    never guessed from the free-text description.
    """
    return {
        "cut_id": cut.cut_id,
        "study_id": cut.study_id,
        "cutoff_date": str(cut.cutoff_date.date()),
        "description": cut.description,
        "synthetic": bool(getattr(cut, "synthetic", False)),
        "input_files": [{"file": r.file, "bytes": int(r.bytes), "sha256": r.sha256}
                        for r in cut.files.itertuples()],
        "previous_cut": previous.name if previous else None,
        "kit_version": _version("msc-analysis"),
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in KEY_PACKAGES},
        "started": started.isoformat(timespec="seconds"),
        "ended": ended.isoformat(timespec="seconds"),
        "fingerprint": fingerprint,
        "notebooks": notebooks,
    }


#: The pages run no script and load nothing but inline styles and data: images: a second guard
#: behind the escaping of every value (the notebook pages carry the same policy).
_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
        "base-uri 'none'; form-action 'none'")

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;
max-width:72rem;color:#1d2433;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border-bottom:1px solid #e2e5ee;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f4f6fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1b7a35;font-weight:600}.failed{color:#b3261e;font-weight:600}
.note{background:#fff6e0;border:1px solid #e8c66b;padding:.5rem .8rem;border-radius:4px}
.synthetic{background:#fde8e6;border:2px solid #b3261e;padding:.6rem .9rem;border-radius:4px;font-size:1.05rem}
code{font-size:.85rem;word-break:break-all}
.alert{background:#fde8e6;border:3px solid #b3261e;color:#5c0f0a;padding:.4rem 1rem;border-radius:4px;margin:1rem 0}
.alert h2{color:#b3261e;border:none;margin:.3rem 0;font-size:1.3rem}.alert li{margin:.3rem 0;font-weight:600}
"""


def _fmt(x) -> str:
    if pd.isna(x):
        return ""
    x = float(x)
    if x == float("inf"):
        return "NR"
    return f"{x:.0f}" if x.is_integer() and abs(x) >= 1 else f"{x:.3g}"


def _headlines(results: Path) -> str:
    if not results.exists():
        return "<p>No results were written.</p>"
    frame = read_result_file(results)  # the text as written by the notebook, escaped below
    rows = "".join(
        f"<tr><td>{html.escape(str(r.measure))}</td><td>{html.escape(str(r.group))}</td>"
        f"<td class='num'>{_fmt(r.day)}</td><td class='num'>{_fmt(r.estimate)}</td>"
        f"<td class='num'>{_fmt(r.ci95_lower)}{' to ' if pd.notna(r.ci95_lower) else ''}{_fmt(r.ci95_upper)}</td>"
        f"<td class='num'>{_fmt(r.n)}</td><td>{html.escape(str(r.unit))}</td>"
        f"<td>{html.escape(str(r.method))}</td></tr>"
        for r in frame.itertuples())
    return ("<table><tr><th>measure</th><th>group</th><th>day</th><th>estimate</th>"
            "<th>95% CI (or as stated)</th><th>n</th><th>unit</th><th>method</th></tr>"
            f"{rows}</table>")


def _synthetic_banner(record: dict) -> str:
    """A banner when the cut declares ``synthetic: true``; nothing otherwise (no claim either way)."""
    if not record.get("synthetic"):
        return ""
    return ("<p class='synthetic' role='note'><b>SYNTHETIC DATA.</b> This cut is marked "
            "<code>synthetic: true</code>: it was made up for testing or demonstration, and no number "
            "here describes real patients.</p>")


def _alert_box(alerts) -> str:
    """A red box listing every safety alert; nothing when there is none."""
    if not alerts:
        return ""
    items = "".join(f"<li>{html.escape(str(a.get('message', '')))}</li>" for a in alerts)
    return (f"<section class='alert' role='alert' id='safety-alerts'><h2>Safety alerts ({len(alerts)})</h2>"
            f"<ul>{items}</ul><p>Also in <code>alerts.json</code>.</p></section>")


def write_index(work: Path, cut, record: dict, notebooks, alerts=()) -> Path:
    """Write ``index.html``: safety alerts, status of every notebook, headline numbers and provenance.

    Every value that comes from the cut, the run or the file system is HTML-escaped; the
    "Synthetic data" banner comes only from ``record["synthetic"]``.
    """
    esc = html.escape
    status_rows = []
    for r in notebooks:
        page = f"{r.stem}.html"
        has_page = (work / page).exists()
        link = f"<a href='{esc(page)}'>{esc(r.stem)}</a>" if has_page else esc(r.stem)
        if r.ok:
            state = "<span class='ok'>ok</span>"
        else:
            where = (f" (<a href='{esc(page)}#{esc(r.error_anchor)}'>see the failing cell</a>)"
                     if has_page and r.error_anchor else "")
            state = f"<span class='failed'>failed</span>: {esc(r.error)}{where}"
        status_rows.append(f"<tr><td>{link}</td><td>{state}</td><td class='num'>{r.seconds:.0f} s</td></tr>")
    sections = "".join(
        f"<h2 id='{esc(r.stem)}'>{esc(r.stem)}</h2>{_headlines(work / 'results' / f'{r.stem}.csv')}"
        for r in notebooks if r.ok)
    files = "".join(f"<tr><td>{esc(str(f['file']))}</td><td class='num'>{int(f['bytes'])}</td>"
                    f"<td><code>{esc(str(f['sha256']))}</code></td></tr>" for f in record["input_files"])
    packages = ", ".join(f"{esc(k)} {esc(v)}" for k, v in record["packages"].items())
    synthetic = _synthetic_banner(record)
    changes = ""
    if record["previous_cut"] and (work / "10_changes.html").exists():
        changes = (f"<p>What changed since the previous cut, {esc(record['previous_cut'])}: "
                   "<a href='10_changes.html'>new subjects, events, corrected values and the "
                   "movement of every headline number</a>.</p>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>Report for data cut {esc(cut.cut_id)}</title><style>{_CSS}</style></head><body>
<h1>Report for data cut {esc(cut.cut_id)}</h1>
{_alert_box(alerts)}
<p>Study {esc(cut.study_id)}; data cutoff <b>{esc(record['cutoff_date'])}</b>. {esc(record['description'])}</p>
{synthetic}{changes}
<h2>Pages</h2>
<table><tr><th>page</th><th>status</th><th>time</th></tr>{''.join(status_rows)}</table>
<p>Headline numbers of each page follow; the full tables, figures and methods are on the pages.
Each page's numbers are also in <code>results/&lt;page&gt;.csv</code>.</p>
{sections}
<h2>Provenance</h2>
<p>Run from {esc(record['started'])} to {esc(record['ended'])}; msc-analysis {esc(record['kit_version'])},
git commit <code>{esc(record['git_commit'])}</code>; Python {esc(record['python'])}; {packages}.</p>
<p>Previous cut compared with: {esc(record['previous_cut'] or 'none')}.</p>
<table><tr><th>input file</th><th>bytes</th><th>sha256</th></tr>{files}</table>
</body></html>
"""
    path = work / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
