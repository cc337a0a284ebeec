"""The PDF packet a board minutes against: read back with pypdf, it has a cover, contents with
the right page numbers, "Page n of m" and the "Confidential" header on every page, the headline
numbers of the results, and every row of the listings. ``--no-pdf`` skips it; a PDF that cannot be
made leaves the HTML report whole."""
import json
import re
import subprocess
from collections import Counter
import sys
from pathlib import Path

import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.endpoints.changes import compare_cuts
from msc_analysis.run.worker import page_title

from .conftest import FIXTURE_CUT, ROOT
from .helpers import write_notebook

pypdf = pytest.importorskip("pypdf")

CUT_ID = "cut-2020-10-30"
CUTS = ROOT / "data" / "cuts"


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def packet(demo_reports):
    """(report folder, text of every PDF page, outline as [(title, page number)]) of cut-2020-10-30."""
    report = demo_reports / CUT_ID
    reader = pypdf.PdfReader(report / f"{CUT_ID}.pdf")
    pages = [p.extract_text() or "" for p in reader.pages]
    outline = [(item.title, reader.get_destination_page_number(item) + 1)
               for item in reader.outline if not isinstance(item, list)]
    return report, pages, outline


def _section(pages, outline, stem_title: str) -> str:
    """Text of the PDF pages of one report page (from its bookmark to the next)."""
    starts = [n for _, n in outline] + [len(pages) + 1]
    titles = [t for t, _ in outline]
    k = titles.index(stem_title)
    return "\n".join(pages[starts[k] - 1:starts[k + 1] - 1])


def test_every_pdf_page_is_numbered_n_of_m_and_headed_confidential(packet):
    _, pages, _ = packet
    study = load_cut(CUTS / CUT_ID).study_id
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in text, f"PDF page {number}"
        assert f"Confidential - {study} - {CUT_ID}" in text, f"PDF page {number}"


def test_the_cover_names_study_cut_cutoff_synthetic_data_alerts_and_provenance(packet):
    report, pages, _ = packet
    cover = _normalised(pages[0])
    record = json.loads((report / "provenance.json").read_text())
    alerts = json.loads((report / "alerts.json").read_text())
    assert record["study_id"] in cover and CUT_ID in cover and "data cutoff 2020-10-30" in cover
    assert "SYNTHETIC DATA" in cover
    assert alerts and f"Safety alerts ({len(alerts)})" in cover
    assert _normalised(alerts[0]["message"])[:60] in cover
    assert record["fingerprint"] in cover.replace(" ", "")
    assert record["git_commit"].split()[0] in cover.replace(" ", "")
    assert f"msc-analysis {record['kit_version']}" in cover
    assert record["pdf"]["made"] is True


def test_the_contents_list_every_page_in_order_with_the_page_it_starts_on(packet):
    _, pages, outline = packet
    titles = [page_title(json.loads(nb.read_text())) for nb in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))]
    assert [t for t, _ in outline] == titles
    assert "Contents" in pages[1]
    contents = _normalised("\n".join(pages[1:outline[0][1] - 1]))  # from page 2 to the first report page
    for title, number in outline:
        assert re.search(re.escape(_normalised(title)) + r" ?\.+ ?" + str(number) + r"\b", contents), title
        assert _normalised(title)[:40] in _normalised(pages[number - 1]), f"{title} not on PDF page {number}"


def test_headline_numbers_of_the_results_are_in_the_pdf(packet):
    report, pages, outline = packet
    results = pd.read_csv(report / "results" / "00_overview.csv")
    treated = results.loc[(results["measure"] == "subjects") & (results["group"] == "treated"), "estimate"]
    overview = _section(pages, outline, outline[0][0])
    assert re.search(rf"\b{int(treated.iloc[0])}\b", overview)
    deaths = pd.read_csv(report / "results" / "08_safety.csv")
    assert len(deaths)


def test_every_row_of_the_listings_is_in_the_pdf(packet):
    report, pages, outline = packet
    previous, cut = load_cut(CUTS / "cut-2020-09-15"), load_cut(CUTS / CUT_ID)
    titles = [t for t, _ in outline]
    changes = _section(pages, outline, next(t for t in titles if "changed" in t.lower()))
    new_events = compare_cuts(previous, cut)["new_events"]
    assert len(new_events) > 25  # more rows than the on-screen scrolling box shows at once
    shown = Counter(re.findall(r"HCPA-\d+", changes))
    missing = {s: n for s, n in Counter(new_events["subject_id"]).items() if shown[s] < n}
    assert not missing, f"rows of the new-events listing are missing from the PDF (subject: rows): {missing}"
    new_deaths = new_events.loc[new_events["event"] == "death", "subject_id"]
    assert set(new_deaths) <= set(re.findall(r"HCPA-\d+", changes))
    safety = _section(pages, outline, next(t for t in titles if t.lower().startswith("safety")))
    serious = cut.adverse_events.loc[cut.adverse_events["serious"].astype(bool), "subject_id"]
    missing = sorted(set(serious) - set(re.findall(r"HCPA-\d+", safety)))
    assert not missing, f"serious AEs of subjects {missing} are not in the PDF"


def _quick(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_quick.ipynb", "print('quick')")
    return folder


def test_no_pdf_skips_the_packet_and_the_default_writes_it(tmp_path):
    notebooks = _quick(tmp_path)
    run = [sys.executable, "-m", "msc_analysis.cli", "run", str(FIXTURE_CUT), "--notebooks", str(notebooks)]
    skipped = subprocess.run(run + ["--out", str(tmp_path / "a"), "--no-pdf"], capture_output=True, text=True)
    assert skipped.returncode == 0, skipped.stderr
    assert not list((tmp_path / "a" / "fixture-valid").glob("*.pdf"))
    assert "PDF packet" not in skipped.stdout
    made = subprocess.run(run + ["--out", str(tmp_path / "b")], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    pdf = tmp_path / "b" / "fixture-valid" / "fixture-valid.pdf"
    assert pdf.exists() and f"PDF packet: {pdf}" in made.stdout
    text = [p.extract_text() for p in pypdf.PdfReader(pdf).pages]
    assert "Contents" in text[1] and all(f"of {len(text)}" in t for t in text)


def test_a_pdf_that_cannot_be_made_is_a_warning_and_the_html_report_stands(tmp_path, monkeypatch):
    from msc_analysis.run import finish, runner

    real_run = subprocess.run

    def broken(command, *args, **kwargs):  # the packet process fails as WeasyPrint would without Pango
        if "msc_analysis.run.packet" in command:
            return subprocess.CompletedProcess(command, 1, "", "Traceback ...\nOSError: no fonts on this machine\n")
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(finish.subprocess, "run", broken)
    warnings = []
    summary = runner.run_cut(load_cut(FIXTURE_CUT), FIXTURE_CUT, tmp_path / "out", notebooks_dir=_quick(tmp_path),
                             log=lambda line: None, warn=warnings.append)
    report = tmp_path / "out" / "fixture-valid"
    assert not summary.failed and (report / "index.html").exists() and (report / "01_quick.html").exists()
    assert not list(report.glob("*.pdf"))
    assert len(warnings) == 1 and "the PDF packet fixture-valid.pdf could not be made" in warnings[0]
    assert "no fonts on this machine" in warnings[0]
    record = json.loads((report / "provenance.json").read_text())
    assert record["pdf"]["made"] is False and "no fonts" in record["pdf"]["error"]


def test_the_packet_fetches_nothing_but_data_uris(tmp_path):
    from types import SimpleNamespace

    from msc_analysis.run.packet import DataOnlyFetcher, packet_html

    asked = []

    class Recording(DataOnlyFetcher):
        def fetch(self, url, headers=None):
            asked.append(url)
            return super().fetch(url, headers)

    body = ('<img src="http://127.0.0.1:9/x.png"><img src="file:///etc/passwd">'
            '<link rel="stylesheet" href="https://example.org/s.css">'
            '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk'
            '+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==">')
    document = packet_html(SimpleNamespace(study_id="S", cut_id="c1"), {},
                           [SimpleNamespace(stem="01_x", ok=True, error="")], [], [{"stem": "01_x", "title": "X"}],
                           {"01_x": body})
    from weasyprint import HTML

    HTML(string=document, url_fetcher=Recording()).write_pdf(tmp_path / "x.pdf")
    assert (tmp_path / "x.pdf").stat().st_size > 0
    assert any(u.startswith("http://") for u in asked)  # asked, and refused


def test_the_packet_uses_each_page_body_its_worker_made_and_makes_the_missing_ones(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from msc_analysis.run import packet

    work, bodies = tmp_path / "work", tmp_path / "work" / ".packet-bodies"
    bodies.mkdir(parents=True)
    for stem in ("01_a", "02_b"):
        write_notebook(work / f"{stem}.ipynb", f"print('{stem} made from the notebook')")
    (bodies / "01_a.html").write_text("<p>01_a made by its worker</p>", encoding="utf-8")
    documents = []

    class Captured:  # WeasyPrint's HTML, keeping the document instead of laying it out
        def __init__(self, string, **kwargs):
            documents.append(string)

        def write_pdf(self, target):
            Path(target).write_bytes(b"%PDF-")

    monkeypatch.setattr(packet, "HTML", Captured)
    pages = [{"stem": "01_a", "title": "A"}, {"stem": "02_b", "title": "B"}]
    results = [SimpleNamespace(stem=p["stem"], ok=True, error="") for p in pages]
    packet.build_packet(work, tmp_path / "p.pdf", SimpleNamespace(study_id="S", cut_id="c1"), {}, results, [],
                        pages, bodies)
    assert "01_a made by its worker" in documents[0]
    assert "01_a made from the notebook" not in documents[0]
    page_b = documents[0].split("id='page-02_b'", 1)[1]  # rendered now, from its executed notebook by nbconvert
    assert "celltag_parameters" in page_b and "worker" not in page_b
