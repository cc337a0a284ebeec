"""The PDF packet of a report: cover, contents, then every page, numbered as one document.

A board minutes against a fixed document: ``reports/<cut_id>/<cut_id>.pdf`` holds a cover
(study, cut, data cutoff, synthetic-data notice, the safety alerts, the status of every page,
provenance), a table of contents with page numbers, then every page of the report in notebook
order. Every PDF page is headed "Confidential - <study> - <cut_id>" and footed "Page n of m".

It is made with WeasyPrint (CSS paged media) from the executed notebooks of the run, rendered
again without code by nbconvert's ``basic`` template (the page body only) and joined in one
print document with one print stylesheet. Listings that scroll in a box on screen print in
full. Images are ``data:`` URIs; WeasyPrint is never allowed to fetch anything else
(:class:`DataOnlyFetcher`). Every value from the cut or the run is HTML-escaped here; the
pages' own HTML was escaped where the pages were made.
"""
from __future__ import annotations

import argparse
import html
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

from weasyprint import HTML, URLFetcher

from .worker import packet_body

__all__ = ["build_packet", "packet_html", "shared_table_styles", "DataOnlyFetcher", "PRINT_CSS", "main"]

#: Print stylesheet of the packet. The running header and footer are margin boxes.
PRINT_CSS = """
@page { size: A4; margin: 22mm 14mm 20mm 14mm;
  @top-left { content: element(running-header); width: 100%; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font: 8.5pt sans-serif; color: #333; }
  @bottom-left { content: element(running-footer); }
}
@page cover { @bottom-left { content: none; } }
html { font: 9.5pt "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d2433; }
body { margin: 0; }
.running-header { position: running(running-header); font: 8.5pt sans-serif; color: #333;
  border-bottom: .5pt solid #999; width: 100%; padding-bottom: 1mm; }
.running-footer { position: running(running-footer); font: 7.5pt sans-serif; color: #555; }
.cover { page: cover; break-after: page; }
.cover h1 { font-size: 20pt; margin: 8mm 0 2mm; }
.cover .subtitle { font-size: 12pt; margin: 0 0 6mm; }
.cover table.facts td, .cover table.facts th { text-align: left; vertical-align: top; padding: 1mm 3mm 1mm 0;
  border: none; }
.cover code, .provenance code { font-size: 7.5pt; word-break: break-all; }
.synthetic { border: 1.5pt solid #b3261e; background: #fde8e6; padding: 2mm 3mm; margin: 4mm 0; }
.alerts { border: 2pt solid #b3261e; padding: 1mm 4mm; margin: 4mm 0; color: #5c0f0a; }
.alerts h2 { color: #b3261e; font-size: 12pt; margin: 2mm 0; border: none; }
.no-alerts { border: 1pt solid #1b7a35; padding: 2mm 3mm; margin: 4mm 0; }
.failed { color: #b3261e; font-weight: bold; }
.contents { break-after: page; }
.contents h1 { font-size: 16pt; }
.contents ol { list-style: none; padding: 0; margin: 0; }
.contents li { margin: 1.2mm 0; }
.contents li.table { margin: .4mm 0 .4mm 6mm; font-size: 8.5pt; color: #333; }
.contents a { color: inherit; text-decoration: none; }
.contents a::after { content: leader('.') target-counter(attr(href url), page); }
section.report-page { break-before: page; }
section.report-page > h1.page-title { font-size: 15pt; margin: 0 0 3mm; border-bottom: 1pt solid #1d2433;
  padding-bottom: 1mm; bookmark-level: 1; }
h1 { font-size: 14pt; bookmark-level: none; } h2 { font-size: 12pt; bookmark-level: none; }
h3, h4 { font-size: 10.5pt; bookmark-level: none; }
h1, h2, h3, h4 { break-after: avoid; }
a { color: #1a4d8f; }
img, svg { max-width: 100%; height: auto; break-inside: avoid; }
pre { white-space: pre-wrap; word-wrap: break-word; font-size: 8pt; }
table { border-collapse: collapse; max-width: 100%; }
th, td { padding: .6mm 1.5mm; vertical-align: top; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
/* great_tables containers: a listing that scrolls in a box on screen prints every row */
div[id^="tbl-"] { height: auto !important; max-height: none !important; overflow: visible !important;
  overflow-x: visible !important; overflow-y: visible !important; }
div[id^="tbl-"] table { width: 100% !important; font-size: 8pt !important; }
div[id^="tbl-"] .gt_title { bookmark-level: 2; bookmark-label: content(text); }
.jp-OutputArea-output, .jp-RenderedHTMLCommon { overflow: visible !important; max-height: none !important; }
.jp-Cell { margin: 0 0 2mm; }
.jp-InputPrompt, .jp-OutputPrompt, a.anchor-link { display: none; }
.msc-text { margin: 1mm 0 2mm; }
.ansi-red-fg, .ansi-red-intense-fg { color: #b3261e; }
.ansi-green-fg { color: #1b7a35; } .ansi-bold { font-weight: bold; }
"""

_TABLE_TITLE = re.compile(r'<div id="(tbl-[0-9]+-[0-9]+)"')
#: A great_tables container (no class of its own) opening with the table's own ``<style>``.
_TABLE_STYLE = re.compile(r'(<div id="(tbl-[0-9]+-[0-9]+)")((?:\s+(?!class=)[\w-]+="[^"]*")*>\s*)'
                          r'<style>(.*?)</style>', re.S)
_GT_TITLE = re.compile(r'class="gt_heading gt_title[^"]*"[^>]*>(.*?)</t[dh]>', re.S)
_TAG = re.compile(r"<[^>]+>")


class DataOnlyFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that refuses every URL but ``data:``: the packet loads nothing.

    >>> DataOnlyFetcher().fetch("https://example.org/x.png")
    Traceback (most recent call last):
    ...
    ValueError: the PDF packet loads nothing from outside the report: refused https://example.org/x.png
    >>> DataOnlyFetcher().fetch("data:text/plain,ok").read()
    b'ok'
    """

    def __init__(self):
        super().__init__(allowed_protocols=("data",), allow_redirects=False, fail_on_errors=False)

    def fetch(self, url, headers=None):
        if not str(url).lower().startswith("data:"):
            raise ValueError(f"the PDF packet loads nothing from outside the report: refused {str(url)[:80]}")
        return super().fetch(url, headers)


def shared_table_styles(bodies: dict[str, str]) -> tuple[dict[str, str], str]:
    """The page bodies with every table's copy of the great_tables stylesheet replaced by one shared copy.

    great_tables gives each table its own ``<style>``, the same rules scoped by the table's id
    (``#tbl-4-1 .gt_col_heading``). With a hundred tables WeasyPrint checks every cell against
    every copy, which took most of the packet's time. Each distinct stylesheet is kept once,
    scoped by a class added to the tables that used it (``.msc-gt-0 .gt_col_heading``); the
    rules, their order and what they apply to are unchanged. Returns the new bodies and the
    shared stylesheet, to be placed after the print stylesheet.

    >>> body = '<div id="tbl-1-1" style="x"><style>#tbl-1-1 p { margin: 0; }</style><table></table></div>'
    >>> bodies, css = shared_table_styles({"a": body, "b": body.replace("1-1", "2-1")})
    >>> bodies["b"], css
    ('<div id="tbl-2-1" class="msc-gt-0" style="x"><table></table></div>', '.msc-gt-0 p { margin: 0; }')
    """
    variants: dict[str, int] = {}

    def shared(match):
        opening, table_id, rest, css = match.groups()
        scoped = re.sub("#" + re.escape(table_id) + r"(?![\w-])", "\0", css)
        k = variants.setdefault(scoped, len(variants))
        return f'{opening} class="msc-gt-{k}"{rest}'

    out = {stem: _TABLE_STYLE.sub(shared, body) for stem, body in bodies.items()}
    css = "\n".join(scoped.replace("\0", f".msc-gt-{k}") for scoped, k in variants.items())
    return out, css


def _tables_of(body: str) -> list[tuple[str, str]]:
    """(id, title text) of every numbered great_tables table in a page body, in order."""
    found = []
    starts = [(m.start(), m.group(1)) for m in _TABLE_TITLE.finditer(body)]
    for k, (start, table_id) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(body)
        title = _GT_TITLE.search(body, start, end)
        if title:
            found.append((table_id, html.unescape(_TAG.sub("", title.group(1))).strip()))
    return found


def packet_html(cut, record: dict, notebooks, alerts, pages: list[dict], bodies: dict[str, str],
                table_css: str = "") -> str:
    """The print document: cover, contents, then the body of every page (``bodies`` by stem).

    ``notebooks`` are the run's results (``stem``, ``ok``, ``error``); ``pages`` the report's
    pages in order (``stem``, ``title``); a page without a body is listed as not rendered.
    ``table_css`` (see :func:`shared_table_styles`) follows the print stylesheet.
    """
    esc = html.escape
    study, cut_id = str(cut.study_id), str(cut.cut_id)
    status = {r.stem: r for r in notebooks}
    failed = [r for r in notebooks if not r.ok]
    synthetic = ("<p class='synthetic'><b>SYNTHETIC DATA.</b> This cut is marked <code>synthetic: true</code>: "
                 "it was made up for testing or demonstration, and no number here describes real patients.</p>"
                 if record.get("synthetic") else "")
    if alerts:
        items = "".join(f"<li>{esc(str(a.get('message', '')))}</li>" for a in alerts)
        alert_box = f"<section class='alerts'><h2>Safety alerts ({len(alerts)})</h2><ul>{items}</ul></section>"
    else:
        alert_box = "<p class='no-alerts'>No safety alerts at this cut.</p>"
    status_rows = []
    for p in pages:
        r = status.get(p["stem"])
        if r is None:
            state = "<span class='failed'>not run</span>"
        elif r.ok:
            state = "ok"
        else:
            state = f"<span class='failed'>FAILED</span>: {esc(str(r.error))} (included as far as it ran)"
        status_rows.append(f"<tr><td>{esc(p['title'])}</td><td>{state}</td></tr>")
    failed_note = (f"<p class='failed'>{len(failed)} page(s) failed: "
                   f"{esc(', '.join(r.stem for r in failed))}. They are included as far as they ran.</p>"
                   if failed else "")
    cutoff = esc(str(record.get("cutoff_date", "")))
    made = f"{esc(str(record.get('ended', '')))} (run started {esc(str(record.get('started', '')))})"
    cover = f"""<section class="cover">
<h1>{esc(study)}</h1>
<p class="subtitle">Interim report, data cut <b>{esc(cut_id)}</b>, data cutoff <b>{cutoff}</b></p>
<p>{esc(str(record.get('description') or ''))}</p>
{synthetic}{alert_box}{failed_note}
<table class="facts"><tr><th>Page</th><th>Status</th></tr>{''.join(status_rows)}</table>
<h2>Provenance</h2>
<table class="facts provenance">
<tr><th>Provenance digest</th><td><code>{esc(str(record.get('fingerprint', '')))}</code></td></tr>
<tr><th>Kit version</th><td>msc-analysis {esc(str(record.get('kit_version', '')))}</td></tr>
<tr><th>Git commit</th><td><code>{esc(str(record.get('git_commit', '')))}</code></td></tr>
<tr><th>Created</th><td>{made}</td></tr>
<tr><th>Previous cut compared with</th><td>{esc(str(record.get('previous_cut') or 'none'))}</td></tr>
</table>
<p>The HTML pages of this report (<code>index.html</code> and one page per notebook) hold the same content;
the input files and their hashes are listed in the report's <code>provenance.json</code>.</p>
</section>"""
    contents, sections = [], []
    for p in pages:
        stem, title = p["stem"], str(p["title"])
        anchor = f"page-{stem}"
        r = status.get(stem)
        mark = "" if r is not None and r.ok else " <span class='failed'>(failed)</span>"
        contents.append(f"<li><a href='#{esc(anchor)}'>{esc(title)}{mark}</a></li>")
        body = bodies.get(stem)
        if body is None:
            body = "<p class='failed'>This page was not rendered.</p>"
        else:
            contents.extend(f"<li class='table'><a href='#{esc(t_id)}'>{esc(t_title)}</a></li>"
                            for t_id, t_title in _tables_of(body))
        failed_banner = ("" if r is not None and r.ok else
                         f"<p class='failed'>This page failed: {esc(str(r.error) if r else 'it was not run')}. "
                         "It is shown as far as it ran.</p>")
        sections.append(f"<section class='report-page' id='{esc(anchor)}'>"
                        f"<h1 class='page-title'>{esc(title)}</h1>{failed_banner}{body}</section>")
    header = f"Confidential - {esc(study)} - {esc(cut_id)}"
    footer = (f"{esc(cut_id)}, data cutoff {esc(str(record.get('cutoff_date', '')))}"
              f"{' - SYNTHETIC DATA' if record.get('synthetic') else ''}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(study)} - {esc(cut_id)}</title>
<style>{PRINT_CSS}</style>{f"<style>{table_css}</style>" if table_css else ""}</head><body>
<div class="running-header">{header}</div><div class="running-footer">{footer}</div>
{cover}
<section class="contents"><h1>Contents</h1><ol>{''.join(contents)}</ol></section>
{''.join(sections)}
</body></html>"""


def build_packet(work: Path, pdf_path: Path, cut, record: dict, notebooks, alerts, pages: list[dict],
                 bodies_dir: Path | None = None) -> Path:
    """Write the PDF packet of the report being built in ``work`` to ``pdf_path``.

    Every page whose executed notebook is in ``work`` is included, failed ones as far as they
    ran. A page's body is read from ``bodies_dir/<stem>.html`` when its worker wrote it there
    (:func:`~msc_analysis.run.worker.packet_body`, made as each page finished), else made now.
    Raises whatever rendering raises; the runner turns that into a warning.
    """
    bodies = {}
    for p in pages:
        executed = Path(work) / f"{p['stem']}.ipynb"
        made = Path(bodies_dir) / f"{p['stem']}.html" if bodies_dir else None
        if made is not None and made.is_file() and not made.is_symlink():
            bodies[p["stem"]] = made.read_text(encoding="utf-8")
        elif executed.exists():
            bodies[p["stem"]] = packet_body(executed)
    bodies, table_css = shared_table_styles(bodies)
    document = packet_html(cut, record, notebooks, alerts, pages, bodies, table_css)
    HTML(string=document, url_fetcher=DataOnlyFetcher(), base_url=None).write_pdf(str(pdf_path))
    return pdf_path


def main(argv: list[str] | None = None) -> int:
    """``python -m msc_analysis.run.packet SPEC``: build the packet described by the JSON file SPEC.

    The runner makes the PDF in this separate process, with a time limit, so that a huge or
    broken packet can neither stall nor crash the publication of the HTML report. SPEC holds
    ``work``, ``pdf``, ``cut`` (``study_id``, ``cut_id``), ``record``, ``notebooks`` (``stem``,
    ``ok``, ``error``), ``alerts``, ``pages``, ``parent_pid`` and ``bodies`` (optional: the folder
    of the page bodies the workers made).
    """
    parser = argparse.ArgumentParser(prog="python -m msc_analysis.run.packet")
    parser.add_argument("spec", type=Path)
    spec = json.loads(parser.parse_args(argv).spec.read_text(encoding="utf-8"))
    from .worker import die_with_parent

    die_with_parent(spec.get("parent_pid"))
    build_packet(Path(spec["work"]), Path(spec["pdf"]), SimpleNamespace(**spec["cut"]), spec["record"],
                 [SimpleNamespace(**n) for n in spec["notebooks"]], spec["alerts"], spec["pages"],
                 Path(spec["bodies"]) if spec.get("bodies") else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
