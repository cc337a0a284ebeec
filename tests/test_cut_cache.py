"""The runner validates a cut once and the pages read that validated copy (``io/cache.py``); a copy
that does not match the cut's files and the kit exactly is never used, and it never reaches the report.

These tests assume the kit's own files do not change while they run (the cache is keyed by them).
"""
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import msc_analysis.cut as cut_module
from msc_analysis.cut import Cut, load_cut
from msc_analysis.io import cache
from msc_analysis.io.cache import CACHE_ENV, read_cut_cache, write_cut_cache
from msc_analysis.io.spec import table_columns

from .conftest import FIXTURE_CUT, ROOT
from .helpers import write_notebook

DEMO_CUTS = sorted((ROOT / "data" / "cuts").glob("cut-*"))


def _assert_same_cut(a: Cut, b: Cut) -> None:
    for f in dataclasses.fields(Cut):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, check_index_type=True,
                                          check_column_type=True, obj=f.name)
            assert x.columns.dtype == y.columns.dtype, f.name
        else:
            assert (x, type(x)) == (y, type(y)), f.name
    assert a.cutoff_date.unit == b.cutoff_date.unit


def _sparse_cut(folder):
    """The fixture cut with every optional column left out and five record tables header-only."""
    shutil.copytree(FIXTURE_CUT, folder)
    for table in ("subjects", "vitals", "imaging", "adverse_events"):
        path = folder / f"{table}.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame[[c.column for c in table_columns(table) if c.column_required and c.column in frame]].to_csv(
            path, index=False)
    for table in ("labs", "blood_gases", "pcr", "imaging", "adverse_events"):
        path = folder / f"{table}.csv"
        path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def copied_cut(tmp_path):
    return shutil.copytree(FIXTURE_CUT, tmp_path / "cut")


@pytest.fixture
def csv_reads(monkeypatch):
    """The folders whose files ``load_cut`` read (rather than taking the cut from a cache)."""
    seen = []
    real = cut_module.read_raw_cut
    monkeypatch.setattr(cut_module, "read_raw_cut", lambda path: (seen.append(path), real(path))[1])
    return seen


@pytest.mark.parametrize("folder", DEMO_CUTS + [FIXTURE_CUT, "sparse"], ids=lambda p: getattr(p, "name", p))
def test_cached_cut_equals_loaded_cut(tmp_path, folder):
    folder = _sparse_cut(tmp_path / "sparse") if folder == "sparse" else folder
    loaded = load_cut(folder)
    write_cut_cache(loaded, tmp_path / "cache")
    _assert_same_cut(read_cut_cache(folder, tmp_path / "cache", Cut), loaded)


def test_the_sparse_cut_really_has_empty_tables_and_absent_columns(tmp_path):
    cut = load_cut(_sparse_cut(tmp_path / "sparse"))
    assert cut.adverse_events.empty and cut.imaging.empty and cut.pcr.empty
    assert cut.subjects["arm"].notna().all()  # "arm" left out of the file: filled with the default arm
    assert cut.vitals["liao_level_site"].isna().all()


def test_a_matching_cache_is_used_instead_of_the_csvs(copied_cut, tmp_path, monkeypatch, csv_reads):
    loaded = load_cut(copied_cut)
    write_cut_cache(loaded, tmp_path / "cache")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    csv_reads.clear()
    _assert_same_cut(load_cut(copied_cut), loaded)
    assert csv_reads == []


@pytest.mark.parametrize("change", ["a value corrected", "README added", "README removed", "workbook added"])
def test_stale_cache_is_not_used(copied_cut, tmp_path, monkeypatch, csv_reads, change):
    (copied_cut / "README.md").write_text("Fixture cut.\n", encoding="utf-8")
    write_cut_cache(load_cut(copied_cut), tmp_path / "cache")
    subjects = copied_cut / "subjects.csv"
    if change == "a value corrected":
        subjects.write_text(subjects.read_text(encoding="utf-8").replace("S01,,54,M,80,", "S01,,54,M,81,"),
                            encoding="utf-8")
    elif change == "README added":
        (copied_cut / "README.txt").write_text("More notes.\n", encoding="utf-8")
    elif change == "README removed":
        (copied_cut / "README.md").unlink()
    else:
        (copied_cut / "cut.xlsx").write_bytes(b"not a workbook")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    csv_reads.clear()
    if change == "workbook added":  # the loader refuses CSVs and a workbook together: no cache hides that
        with pytest.raises(cut_module.CutValidationError, match="not both"):
            load_cut(copied_cut)
    else:
        cut = load_cut(copied_cut)
        assert cut.subjects.loc[cut.subjects["subject_id"] == "S01", "weight_kg"].item() == (
            81 if change == "a value corrected" else 80)
    assert csv_reads == [copied_cut]


def test_cache_of_another_folder_is_not_used(tmp_path, monkeypatch, csv_reads):
    a = shutil.copytree(FIXTURE_CUT, tmp_path / "a")
    b = shutil.copytree(FIXTURE_CUT, tmp_path / "b")  # the same files, in another folder
    written = write_cut_cache(load_cut(a), tmp_path / "cache")
    shutil.copytree(written, cache._entry(tmp_path / "cache", b.resolve()))  # even where b's would be
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    csv_reads.clear()
    assert load_cut(b).path == b
    assert csv_reads == [b]


def test_cache_from_another_kit_is_not_used(copied_cut, tmp_path, monkeypatch, csv_reads):
    write_cut_cache(load_cut(copied_cut), tmp_path / "cache")
    monkeypatch.setattr(cache, "kit_fingerprint", lambda: "0" * 64)  # a kit edited since
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    csv_reads.clear()
    load_cut(copied_cut)
    assert csv_reads == [copied_cut]


@pytest.mark.parametrize("damage", ["manifest not JSON", "another format version", "table truncated",
                                    "table missing", "column type changed"])
def test_unreadable_cache_falls_back_to_the_csvs(copied_cut, tmp_path, monkeypatch, csv_reads, damage):
    loaded = load_cut(copied_cut)
    entry = write_cut_cache(loaded, tmp_path / "cache")
    manifest = json.loads((entry / "manifest.json").read_text())
    if damage == "manifest not JSON":
        (entry / "manifest.json").write_text("{", encoding="utf-8")
    elif damage == "another format version":
        manifest["format_version"] += 1
    elif damage == "table truncated":
        data = (entry / "labs.arrow").read_bytes()
        (entry / "labs.arrow").write_bytes(data[: len(data) // 2])
    elif damage == "table missing":
        (entry / "pcr.arrow").unlink()
    else:
        manifest["tables"]["subjects"][2] = "int64"  # age_years was written as float64
    if damage in ("another format version", "column type changed"):
        (entry / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    csv_reads.clear()
    _assert_same_cut(load_cut(copied_cut), loaded)
    assert csv_reads == [copied_cut]


def test_without_the_runner_no_cache_is_read(copied_cut, tmp_path, monkeypatch, csv_reads):
    write_cut_cache(load_cut(copied_cut), tmp_path / "cache")
    monkeypatch.delenv(CACHE_ENV, raising=False)
    csv_reads.clear()
    load_cut(copied_cut)
    assert csv_reads == [copied_cut]


@pytest.mark.filterwarnings("ignore:The DataFrame has column names of mixed type")
def test_a_cut_that_does_not_read_back_equal_is_not_stored(copied_cut, tmp_path):
    cut = load_cut(copied_cut)
    odd = dataclasses.replace(cut, labs=cut.labs.rename(columns={"value": 7}))  # Arrow names columns by text
    with pytest.raises(ValueError, match="does not read back equal.*labs"):
        write_cut_cache(odd, tmp_path / "cache")
    assert not any(p.name != "cache" for p in (tmp_path / "cache").rglob("*") if p.is_dir())


# ------------------------------------------------------------------------------------------
# under the runner
# ------------------------------------------------------------------------------------------

_PAGE = """
import os
import msc_analysis.cut as m
read = []
real = m.read_raw_cut
m.read_raw_cut = lambda path: (read.append(str(path)), real(path))[1]
cut = m.load_cut(cut_dir)
assert os.environ.get("MSC_ANALYSIS_CUT_CACHE"), "the runner gave this page no cut cache"
assert not read, f"the page read the cut's files: {read}"
print("subjects:", len(cut.subjects))
"""


@pytest.fixture(scope="module")
def cached_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cached-run")
    notebooks = root / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_cached.ipynb", _PAGE)
    out = root / "reports"
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run", str(FIXTURE_CUT), "--out", str(out),
                           "--notebooks", str(notebooks), "--no-pdf"], capture_output=True, text=True)
    return proc, out


def test_a_page_run_by_the_runner_gets_the_cut_from_the_cache(cached_run):
    proc, out = cached_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((out / "fixture-valid" / "provenance.json").read_text())
    assert [(n["stem"], n["ok"], n["error"]) for n in record["notebooks"]] == [("01_cached", True, "")]


def test_report_folder_holds_no_cache(cached_run):
    proc, out = cached_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "fixture-valid" / "01_cached.html").is_file()
    left = [p for p in out.rglob("*") if p.suffix == ".arrow" or "cut-cache" in p.name]
    assert left == []
    assert not [p.name for p in out.iterdir() if ".building" in p.name]


def test_the_previous_cut_is_read_from_the_cache_too(tmp_path):
    cuts = tmp_path / "cuts"
    for name, cutoff in (("early", "2020-08-20"), ("late", "2020-09-30")):
        folder = shutil.copytree(FIXTURE_CUT, cuts / name)
        (folder / "cut.yaml").write_text(f"cut_id: {name}\nstudy_id: X\ncutoff_date: {cutoff}\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "01_cached.ipynb", _PAGE)  # also run on "early", never reported before
    write_notebook(notebooks / "10_previous.ipynb", _PAGE.replace("load_cut(cut_dir)", "load_cut(previous_cut_dir)"),
                   parameters='cut_dir = ""\nresults_dir = ""\nprevious_cut_dir = ""\nprevious_results_dir = ""')
    out = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "run", str(cuts / "late"), "--out", str(out),
                           "--notebooks", str(notebooks), "--no-pdf"], capture_output=True, text=True)
    assert proc.returncode == 0 and "warning" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    record = json.loads((out / "late" / "provenance.json").read_text())
    assert record["previous_cut"] == "early" and record["previous_results_computed"]
    assert [(n["stem"], n["ok"], n["error"]) for n in record["notebooks"]] == [
        ("01_cached", True, ""), ("10_previous", True, "")]


def test_a_notebook_environment_does_not_outlive_it(tmp_path, monkeypatch):
    from msc_analysis.run.worker import run_spec

    monkeypatch.delenv("MSC_TEST_ONLY_HERE", raising=False)
    nb = write_notebook(tmp_path / "01_env.ipynb", 'import os\nassert os.environ["MSC_TEST_ONLY_HERE"] == "yes"')
    status = run_spec({"notebook": str(nb), "out_dir": str(tmp_path), "parameters": {}, "with_code": False,
                       "results_only": True, "env": {"MSC_TEST_ONLY_HERE": "yes"}})
    assert status["ok"], status["error"]
    assert "MSC_TEST_ONLY_HERE" not in os.environ


# ------------------------------------------------------------------------------------------
# the PDF packet shares the tables' stylesheet (the runner's other large cost)
# ------------------------------------------------------------------------------------------

def test_the_packet_keeps_one_scoped_copy_of_each_distinct_table_stylesheet():
    from msc_analysis.run.packet import shared_table_styles

    def table(table_id, width="auto", attrs=' style="x"'):
        return (f'<div id="{table_id}"{attrs}><style>#{table_id} .gt_table {{ width: {width}; }} '
                f'#{table_id} p {{ margin: 0; }}</style><table></table></div>')

    bodies = {"a": table("tbl-1-1") + table("tbl-1-10"), "b": table("tbl-2-1", "100%"),
              "c": table("tbl-3-1", attrs=' class="mine"')}
    out, css = shared_table_styles(bodies)
    assert out["a"] == ('<div id="tbl-1-1" class="msc-gt-0" style="x"><table></table></div>'
                        '<div id="tbl-1-10" class="msc-gt-0" style="x"><table></table></div>')
    assert out["b"] == '<div id="tbl-2-1" class="msc-gt-1" style="x"><table></table></div>'
    assert out["c"] == bodies["c"]  # a container with a class of its own keeps its own stylesheet
    assert css.splitlines() == [
        ".msc-gt-0 .gt_table { width: auto; } .msc-gt-0 p { margin: 0; }",
        ".msc-gt-1 .gt_table { width: 100%; } .msc-gt-1 p { margin: 0; }"]
