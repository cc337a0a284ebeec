"""The report's front page and its provenance record.

``index.html`` is the first page a safety board reads. From the top: the safety alerts, the key
results (the registered outcomes in words, with interval and n, from ``definitions/measures.csv``),
the pages with their status, a link to the PDF packet, then provenance. Every headline row of every
page, in words and by machine name, is on its own page ``results.html``.
"""
from __future__ import annotations

import datetime as dt
import html
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

from ..report import formats
from ..report.headlines import headline_footnotes, headline_table, key_results, key_results_table, plain_method
from ..report.page import Table, table_cells
from ..report.results import read_result_file

__all__ = ["provenance", "write_index", "write_results_page", "KEY_PACKAGES", "RESULTS_PAGE"]

#: The page holding every results row of the report.
RESULTS_PAGE = "results.html"

#: Packages whose versions are recorded with every report.
KEY_PACKAGES = ("msc-analysis", "pandas", "numpy", "scipy", "statsmodels",
                "pandera", "tableone", "matplotlib", "seaborn", "papermill", "nbconvert",
                "great-tables", "weasyprint")


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
.synthetic{background:#fde8e6;border:2px solid #b3261e;padding:.35rem .8rem;border-radius:4px;font-size:.95rem;margin:.5rem 0}
code{font-size:.85rem;word-break:break-all}
.alert{background:#fde8e6;border:3px solid #b3261e;color:#5c0f0a;padding:.4rem 1rem;border-radius:4px;margin:1rem 0}
.alert h2{color:#b3261e;border:none;margin:.3rem 0;font-size:1.3rem}.alert li{margin:.3rem 0;font-weight:600}
"""


def _page_results(work: Path, notebooks) -> list[tuple[str, pd.DataFrame | None, str]]:
    """(page, its results or None, why not) for every page that ran."""
    out = []
    for r in notebooks:
        if not r.ok:
            continue
        path = work / "results" / f"{r.stem}.csv"
        if not path.exists():
            out.append((r.stem, None, "No results were written."))
            continue
        try:
            out.append((r.stem, read_result_file(path), ""))
        except (OSError, ValueError) as exc:
            out.append((r.stem, None, f"The results file cannot be read: {exc}"))
    return out


def _cutoff_note(cut, record: dict) -> str:
    return f"Data cutoff {record['cutoff_date']} (cut {cut.cut_id})."


def _key_results(cut, record: dict, pages, failed=()) -> str:
    """The key results table: the registered outcomes in words, with interval and n; ``failed``
    names the pages whose results are missing."""
    frames = [f.assign(_page=stem) for stem, f, _ in pages if f is not None and len(f)]
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if results.empty:
        return "<p><b>No key results:</b> no page wrote results.</p>"
    treated = results[(results["endpoint"] == "overview") & (results["measure"] == "subjects")
                      & (results["group"] == "treated")]["estimate"]
    heading = "Key results: registered outcomes of the trial"
    if len(treated) and not formats.is_missing(treated.iloc[0]):
        heading += f", treated population (N = {formats.count(treated.iloc[0])})"
    cells = key_results_table(results.drop(columns="_page"), results["_page"])
    notes = headline_footnotes(key_results(results.drop(columns="_page")))
    notes = ["Registered outcomes as in the trial's registry record (primary: overall survival; secondary: "
             "CRP, days in hospital, PaO2/FiO2, Liao score, chest CT, RT-PCR negativity), at the days chosen in "
             "definitions/measures.csv (key_days); every day and every other measure is on the page named in the "
             "last column and in results.html.", "Day = days since the infusion (day 0)."] + notes
    notes += _marker_notes(cells)
    missing = [str(f) for f in failed] + [stem for stem, f, _ in pages if f is None]
    if missing:
        notes.insert(0, f"Not shown: the results of {', '.join(missing)}, which wrote none (see the safety alerts "
                        "and the pages' status).")
    notes.append(_cutoff_note(cut, record))
    return Table(table_cells(cells), heading, notes, "key-results", empty_text="No registered outcome was reported.").html()


def _marker_notes(cells: pd.DataFrame) -> list[str]:
    """The note of each marker word (NE, NR, –) a table of ``cells`` shows."""
    shown = set(cells.astype(str).to_numpy().ravel())
    words = {w for cell in shown for w in cell.replace("(", " ").replace(")", " ").split()}
    return [note for marker, note in formats.MARKER_NOTES.items() if marker in words]


def write_results_page(work: Path, cut, record: dict, notebooks) -> Path:
    """Write ``results.html``: every headline row of every page, in words and by machine name."""
    esc = html.escape
    sections = []
    for stem, frame, why in _page_results(work, notebooks):
        if frame is None or frame.empty:
            sections.append(f"<h2 id='{esc(stem)}'>{esc(stem)}</h2><p>{esc(why or 'No results rows.')}</p>")
            continue
        cells = headline_table(frame)
        cells.insert(1, "Measure (machine name)", frame["measure"].astype(str).to_numpy())
        cells["Method"] = [plain_method(m) for m in frame["method"]]
        notes = headline_footnotes(frame) + _marker_notes(cells) + [f"Machine-readable: results/{stem}.csv (schema v2, docs/results.md).",
                                             _cutoff_note(cut, record)]
        table = Table(table_cells(cells), f"Headline results of {stem}", notes, f"results-{stem}", listing=True)
        sections.append(f"<h2 id='{esc(stem)}'><a href='{esc(stem)}.html'>{esc(stem)}</a></h2>{table.html()}")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>All headline results - {esc(cut.study_id)} - {esc(cut.cut_id)}</title><style>{_CSS}</style></head><body>
<p><a href="index.html">Back to the index</a></p>
<h1>All headline results - {esc(cut.study_id)} - {esc(cut.cut_id)}</h1>
<p>Study {esc(cut.study_id)}; data cutoff <b>{esc(record['cutoff_date'])}</b>. {esc(record['description'])}</p>
{_synthetic_banner(record)}
<p>Every headline row each page wrote, in words, with the machine name of its measure and how it was made.
The same rows are in <code>results/&lt;page&gt;.csv</code>.</p>
{''.join(sections)}
</body></html>
"""
    path = work / RESULTS_PAGE
    path.write_text(page, encoding="utf-8")
    return path


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
    """Write ``index.html`` (and ``results.html``): safety alerts, key results, the status of every
    page, the PDF packet when it is there, and provenance.

    Every value that comes from the cut, the run or the file system is HTML-escaped (tables by
    great_tables); the "Synthetic data" banner comes only from ``record["synthetic"]``.
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
    pages = _page_results(work, notebooks)
    write_results_page(work, cut, record, notebooks)
    files = "".join(f"<tr><td>{esc(str(f['file']))}</td><td class='num'>{int(f['bytes'])}</td>"
                    f"<td><code>{esc(str(f['sha256']))}</code></td></tr>" for f in record["input_files"])
    packages = ", ".join(f"{esc(k)} {esc(v)}" for k, v in record["packages"].items())
    synthetic = _synthetic_banner(record)
    changes = ""
    if record["previous_cut"] and (work / "10_changes.html").exists():
        changes = (f"<p>What changed since the previous cut, {esc(record['previous_cut'])}: "
                   "<a href='10_changes.html'>new subjects, events, corrected values and the "
                   "movement of every headline number</a>.</p>")
    pdf_name = f"{cut.cut_id}.pdf"
    pdf = (f"<p class='packet'><b>PDF packet:</b> <a href='{esc(pdf_name)}'>{esc(pdf_name)}</a> "
           "(cover, contents and every page, numbered for the minutes).</p>" if (work / pdf_name).is_file() else "")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>Report for data cut {esc(cut.cut_id)} - {esc(cut.study_id)}</title><style>{_CSS}</style></head><body>
<h1>Report for data cut {esc(cut.cut_id)}</h1>
<p class='cutline'>Study {esc(cut.study_id)}; data cutoff <b>{esc(record['cutoff_date'])}</b>.</p>
{synthetic}{_alert_box(alerts)}
{_key_results(cut, record, pages, [r.stem for r in notebooks if not r.ok])}
{pdf}
<p>{esc(record['description'])}</p>
{changes}
<h2>Pages</h2>
<table><tr><th>page</th><th>status</th><th>time</th></tr>{''.join(status_rows)}</table>
<p>The full tables, figures and methods are on the pages. Every headline row of every page, in words and
by machine name: <a href='{RESULTS_PAGE}'>all headline results</a>; as data: <code>results/&lt;page&gt;.csv</code>
(schema v2, described in docs/results.md).</p>
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
