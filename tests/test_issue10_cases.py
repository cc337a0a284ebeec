"""Issue 10, case by case: the cases of the issue that no other test file checks end to end.

Each test gives the command line one careless or hostile cut and checks what the acceptance of
issue 10 asks: exit 0 with a correct report, or exit 2 with a message naming the file, row or key
and the problem; never a traceback; the input files byte-identical afterwards; nothing created,
changed or removed outside ``--out``. ``run`` uses a one-cell notebook (plus the real
``10_changes`` where the previous cut matters) except where the case is about the real pages.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from msc_analysis.cli import main

from .conftest import FIXTURE_CUT, ROOT
from .helpers import tree_snapshot, write_notebook
from .test_degenerate_cuts import visible_text

CLI = [sys.executable, "-m", "msc_analysis.cli"]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
#: Files at least this large are compared by size and time stamps only (never read by the test).
BIG = 64 * 2 ** 20
#: 14 levels of nine aliases each (about 580 bytes): 9**14 values if a loader expanded it.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, n in zip("abcdefghijklm", "bcdefghijklmn"))


# ---------------------------------------------------------------------------------------- helpers

def _cut(folder: Path, cut_id: str = "c1", cutoff: str = "2020-09-30", extra: str = "") -> Path:
    """A copy of the valid fixture cut at ``folder`` with this cut_id and cutoff date."""
    shutil.copytree(FIXTURE_CUT, folder)
    (folder / "cut.yaml").write_text(f"cut_id: {json.dumps(cut_id)}\nstudy_id: MSC-COVID19-HCPA\n"
                                     f"cutoff_date: {cutoff}\n{extra}", encoding="utf-8")
    return folder


def _no_infusion_yet(folder: Path) -> Path:
    """Keep only the header of infusions.csv: a first interim cut taken before any infusion."""
    path = folder / "infusions.csv"
    path.write_text(path.read_text(encoding="utf-8").splitlines(keepends=True)[0], encoding="utf-8")
    return folder


def _cli(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    args = [*args, "--no-pdf"] if args and args[0] in ("run", "run-all") else list(args)  # the PDF: test_pdf_packet
    proc = subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def _main(capsys, *args) -> tuple[int, str, str]:
    """``msc-analysis ARGS`` in-process: exit status, stdout, stderr."""
    args = [*args, "--no-pdf"] if args and args[0] in ("run", "run-all") else list(args)
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _quick_notebook(folder: Path) -> Path:
    """``folder/01_quick.ipynb``: loads the cut, writes one result (treated subjects + 40)."""
    folder.mkdir(exist_ok=True)
    write_notebook(folder / "01_quick.ipynb",
                   "import pandas as pd\nfrom msc_analysis import load_cut\n"
                   "from msc_analysis.report.results import result_rows, write_results\n"
                   "cut = load_cut(cut_dir)\n"
                   "write_results(result_rows('overview', pd.DataFrame({'measure': ['subjects'], 'group': ['treated'], "
                   "'estimate': [int(cut.subjects['treated'].sum()) + 40], 'n': [int(cut.subjects['treated'].sum()) + 40], "
                   "'unit': ['subjects'], 'method': ['count']})), results_dir, '01_quick', cut_id=cut.cut_id)")
    return folder


@pytest.fixture
def quick(tmp_path) -> Path:
    return _quick_notebook(tmp_path / "notebooks")


@pytest.fixture
def quick_and_changes(tmp_path) -> Path:
    folder = _quick_notebook(tmp_path / "notebooks")
    shutil.copy(ROOT / "notebooks" / "10_changes.ipynb", folder)
    return folder


def _outcomes(stdout: str) -> dict[str, str]:
    summary = stdout[stdout.index("Outcome of every cut"):].splitlines()[1:]
    return {Path(line.split(": ")[0].strip()).name: line.split(": ", 1)[1] for line in summary}


# ------------------------------------------------------------- cut_id checked before it is a path

@pytest.mark.parametrize("cut_id", ["../victim", "../../victim", "x/../../victim", ".", "..", "x" * 300,
                                    "*", "other-*", "a/b", ".hidden"])
def test_validate_refuses_a_cut_id_that_is_not_a_plain_name_naming_cut_yaml_and_cut_id(tmp_path, capsys, cut_id):
    cut = _cut(tmp_path / "cut", cut_id)
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    code, out, err = _main(capsys, "validate", cut)
    assert code == 2, out + err
    line = next((x for x in err.splitlines() if "cut.yaml" in x and "'cut_id'" in x), None)
    assert line is not None and "letters, digits" in line, err
    assert "is valid" not in out
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


def test_validate_refuses_a_cut_yaml_of_nested_aliases_at_once(tmp_path):
    cut = _cut(tmp_path / "cut")
    (cut / "cut.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    assert 500 < len(ALIAS_BOMB.encode()) < 700
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    start = time.monotonic()
    proc = _cli("validate", cut, timeout=120)
    assert time.monotonic() - start < 60
    assert proc.returncode == 2
    assert any("cut.yaml" in x and "aliases" in x for x in proc.stderr.splitlines()), proc.stderr
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


def test_run_on_a_cut_yaml_of_nested_aliases_is_refused_and_writes_nothing(tmp_path, quick):
    cut = _cut(tmp_path / "cut")
    (cut / "cut.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    proc = _cli("run", cut, "--out", tmp_path / "out", "--notebooks", quick, timeout=120)
    assert proc.returncode == 2
    assert "cut.yaml" in proc.stderr and "aliases" in proc.stderr
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before  # not even an empty --out


# ----------------------------------------------------------- the banner comes from the key alone

@pytest.mark.parametrize("extra, banner", [
    pytest.param("description: Real patients' data from site 01, not synthetic.\n", False, id="real_no_key"),
    pytest.param("synthetic: false\ndescription: SYNTHETIC? No, real data from site 01.\n", False,
                 id="synthetic_false_description_says_synthetic"),
    pytest.param("synthetic: true\ndescription: Data from site 01.\n", True, id="synthetic_true"),
])
def test_run_puts_the_synthetic_banner_on_the_report_only_for_synthetic_true(tmp_path, quick, extra, banner):
    cut = _cut(tmp_path / "cut", extra=extra)
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    proc = _cli("run", cut, "--out", tmp_path / "out", "--notebooks", quick)
    assert proc.returncode == 0, proc.stderr
    report = tmp_path / "out" / "c1"
    assert ("SYNTHETIC DATA" in visible_text(report / "index.html")) is banner
    assert json.loads((report / "provenance.json").read_text())["synthetic"] is banner
    assert tree_snapshot(tmp_path, tmp_path / "out", big_bytes=BIG) == before


# ------------------------------------------------------------------------- a cut with no infusion

def test_validate_accepts_a_cut_with_no_infusion_yet_and_says_0_treated(tmp_path, capsys):
    cut = _no_infusion_yet(_cut(tmp_path / "cut"))
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    code, out, err = _main(capsys, "validate", cut)
    assert code == 0, err
    assert "6 screened, 3 eligible, 3 enrolled, 0 treated" in out
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


@pytest.mark.parametrize("order", ["none_then_infused", "infused_then_none", "none_then_none"])
def test_diff_with_a_cut_with_no_infusion_yet_lists_the_infusions_added_or_removed(tmp_path, capsys, order):
    none = _no_infusion_yet(_cut(tmp_path / "none", "none", "2020-09-29"))
    infused = _cut(tmp_path / "infused", "infused")
    a, b = {"none_then_infused": (none, infused), "infused_then_none": (infused, none),
            "none_then_none": (none, none)}[order]
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    code, out, err = _main(capsys, "diff", a, b)
    assert code == 0, err
    counts = out[out.index("Record counts"):].splitlines()
    infusions = next(line.split() for line in counts if line.split()[:1] == ["infusions"])
    expected = {"none_then_infused": ["0", "2", "2", "0"], "infused_then_none": ["2", "0", "0", "2"],
                "none_then_none": ["0", "0", "0", "0"]}[order]
    assert infusions[1:] == expected, out
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


@pytest.fixture(scope="module")
def no_infusion_first(tmp_path_factory):
    """run-all over two cuts: the first (folder zz-first-export, cut_id first) has no infusion yet,
    the second (folder aa-second-export, cut_id second) is the fixture. Folder names sort the other
    way round from the cutoff dates, so a previous cut found by folder name would be wrong."""
    root = tmp_path_factory.mktemp("no_infusion_first")
    cuts, out = root / "cuts", root / "out"
    first = _no_infusion_yet(_cut(cuts / "zz-first-export", "first", "2020-09-29"))
    second = _cut(cuts / "aa-second-export", "second", "2020-09-30")
    notebooks = _quick_notebook(root / "notebooks")
    shutil.copy(ROOT / "notebooks" / "10_changes.ipynb", notebooks)
    before = tree_snapshot(root, out, big_bytes=BIG)
    proc = _cli("run-all", cuts, "--out", out, "--notebooks", notebooks)
    return {"proc": proc, "root": root, "out": out, "first": first, "second": second, "before": before}


def test_run_all_runs_a_cut_with_no_infusion_yet_and_carries_on_to_the_later_cut(no_infusion_first):
    world = no_infusion_first
    proc = world["proc"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outcome = _outcomes(proc.stdout)
    # both cuts ran (the first may carry safety alerts: every death and SAE is new at a first cut)
    assert set(outcome) == {"zz-first-export", "aa-second-export"}
    assert all(text.startswith("ok: 2 notebooks") for text in outcome.values()), outcome
    for cut_id in ("first", "second"):
        record = json.loads((world["out"] / cut_id / "provenance.json").read_text())
        assert all(n["ok"] for n in record["notebooks"]), record["notebooks"]
    assert tree_snapshot(world["root"], world["out"], big_bytes=BIG) == world["before"]


def test_the_report_of_a_cut_with_no_infusion_yet_says_so(no_infusion_first):
    out = no_infusion_first["out"]
    assert (out / "first" / "results" / "01_quick.csv").read_text().count(",40,") == 2  # 0 treated + 40
    text = visible_text(out / "first" / "10_changes.html")
    assert "NOTE: no subject infused yet at this cutoff (2020-09-29)" in text


def test_the_changes_page_finds_the_previous_cuts_estimates_when_folder_names_differ_from_cut_ids(
        no_infusion_first):
    out = no_infusion_first["out"]
    record = json.loads((out / "second" / "provenance.json").read_text())
    assert record["previous_cut"] == "first"
    assert record["previous_cut_folder"] == str(no_infusion_first["first"])
    text = visible_text(out / "second" / "10_changes.html")
    assert "Compared with: first (cutoff 2020-09-29)." in text
    # the earlier cut's estimate (0 treated + 40) beside this cut's (2 treated + 40)
    assert re.search(r"Subjects in the population\s+treated\s+–\s+40\s+42\s+\+2", text), text[text.find("Movement"):][:800]


# ----------------------------------------------------------------- cutoff before every screening

def _before_every_screening(tmp_path: Path) -> Path:
    return _cut(tmp_path / "early-cut", "too-early", "2020-01-05")


def test_validate_accepts_a_cutoff_before_every_screening_date_and_says_0_screened(tmp_path, capsys):
    cut = _before_every_screening(tmp_path)
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    code, out, err = _main(capsys, "validate", cut)
    assert code == 0, err
    assert "0 screened, 0 eligible, 0 enrolled, 0 treated" in out
    assert "screened after the cutoff date" in out
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


@pytest.mark.parametrize("order", ["empty_then_full", "full_then_empty", "empty_then_empty"])
def test_diff_with_a_cut_whose_cutoff_is_before_every_screening_date_exits_0(tmp_path, capsys, order):
    empty = _before_every_screening(tmp_path)
    full = _cut(tmp_path / "full", "full")
    a, b = {"empty_then_full": (empty, full), "full_then_empty": (full, empty),
            "empty_then_empty": (empty, empty)}[order]
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    code, out, err = _main(capsys, "diff", a, b)
    assert code == 0, err
    assert "Record counts" in out
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


def test_run_of_a_cut_whose_cutoff_is_before_every_screening_date_gives_every_page(tmp_path):
    """The real pages: a cut with no subject yet gives a report, every page without an error."""
    cut = _before_every_screening(tmp_path)
    out = tmp_path / "out"
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    proc = _cli("run", cut, "--out", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = out / "too-early"
    record = json.loads((report / "provenance.json").read_text())
    assert [n["stem"] for n in record["notebooks"] if not n["ok"]] == []
    for stem in NOTEBOOKS:
        text = visible_text(report / f"{stem}.html")
        assert not re.search(r"\b[A-Z]\w*Error\b", text), stem
        assert not re.search(r"\bNaN\b|<NA>|0\.0 \(0\.0 to 0\.0\)", text), stem
    assert tree_snapshot(tmp_path, out, big_bytes=BIG) == before


# ---------------------------------------------------------- other inputs that used to crash

def _field_over_128_kib(cut: Path) -> None:
    path = cut / "adverse_events.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Respiratory failure", "x" * (200 * 1024)),
                    encoding="utf-8")


def _cr_only(cut: Path) -> None:
    for path in cut.glob("*.csv"):
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))


def _integer_1e30(cut: Path) -> None:
    path = cut / "adverse_events.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("2020-08-10,,5,", "2020-08-10,,1e30,"),
                    encoding="utf-8")


@pytest.mark.parametrize("change, code, where", [
    pytest.param(_field_over_128_kib, 2, ("adverse_events.csv", "row 3", "KiB"), id="field_over_128_kib"),
    pytest.param(_cr_only, 0, ("is valid",), id="cr_only_line_ends"),
    pytest.param(_integer_1e30, 2, ("adverse_events.csv", "row 3", "'grade'", "1e30"), id="integer_1e30"),
])
def test_validate_gives_a_clear_answer_for_inputs_that_used_to_crash(tmp_path, capsys, change, code, where):
    cut = _cut(tmp_path / "cut")
    change(cut)
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    status, out, err = _main(capsys, "validate", cut)
    assert status == code, out + err
    text = out if code == 0 else err
    assert any(all(w in line for w in where) for line in text.splitlines()), text[:2000]
    assert len(err) < 5000  # the 200 KiB value is not printed
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


def test_run_of_a_cut_with_cr_only_line_ends_gives_the_same_results_as_the_original(tmp_path, quick):
    plain, mac = _cut(tmp_path / "cuts" / "plain", "plain"), _cut(tmp_path / "elsewhere" / "mac", "mac")
    _cr_only(mac)
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    for cut in (plain, mac):
        proc = _cli("run", cut, "--out", tmp_path / "out", "--notebooks", quick)
        assert proc.returncode == 0, proc.stderr
    results = [pd.read_csv(tmp_path / "out" / c / "results" / "01_quick.csv") for c in ("plain", "mac")]
    assert results[0]["cut_id"].tolist() == ["plain"] and results[1]["cut_id"].tolist() == ["mac"]
    pd.testing.assert_frame_equal(results[0].drop(columns="cut_id"), results[1].drop(columns="cut_id"))
    assert results[0]["estimate"].tolist() == [42]
    assert tree_snapshot(tmp_path, tmp_path / "out", big_bytes=BIG) == before


# ------------------------------------------------------------------- a sub-folder in the previous cut

def test_a_sub_folder_inside_the_previous_cut_does_not_stop_the_changes_page(tmp_path, quick_and_changes):
    earlier = _cut(tmp_path / "cuts" / "earlier", "earlier", "2020-08-30")
    later = _cut(tmp_path / "cuts" / "later", "later")
    (earlier / "old" / "deeper").mkdir(parents=True)
    (earlier / "old" / "subjects.csv").write_text("garbage\n")
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    proc = _cli("run", later, "--out", tmp_path / "out", "--notebooks", quick_and_changes)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = visible_text(tmp_path / "out" / "later" / "10_changes.html")
    assert "Compared with: earlier (cutoff 2020-08-30)." in text
    assert tree_snapshot(tmp_path, tmp_path / "out", big_bytes=BIG) == before


# ------------------------------------------------------------------------------ the report folder

def test_a_read_only_out_is_refused_with_exit_2_naming_the_folder(tmp_path, capsys, monkeypatch, quick):
    # chmod 555 does not stop root; access(2) says "not writable" on a read-only mount even for root,
    # and that is what this stands for.
    cut, out = _cut(tmp_path / "cut"), tmp_path / "out"
    out.mkdir()
    real_access = os.access

    def read_only(path, mode, *args, **kwargs):
        if Path(path).resolve() == out.resolve() and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", read_only)
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    code, _, err = _main(capsys, "run", cut, "--out", out, "--notebooks", quick)
    assert code == 2
    assert f"{out} cannot be written" in err and "read-only" in err
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


@pytest.mark.parametrize("value", ["-1", "inf", "nan", "0"])
def test_run_refuses_a_timeout_that_is_not_a_positive_finite_number(tmp_path, capsys, quick, value):
    cut = _cut(tmp_path / "cut")
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    with pytest.raises(SystemExit) as stop:
        main(["run", str(cut), "--out", str(tmp_path / "out"), "--notebooks", str(quick), f"--timeout={value}"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--timeout: expected a number of seconds above 0" in err and "Traceback" not in err
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


def test_run_all_with_out_inside_one_of_the_cut_folders_runs_nothing(tmp_path, quick):
    cuts = tmp_path / "cuts"
    a = _cut(cuts / "a", "a", "2020-09-29")
    _cut(cuts / "b", "b")
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    proc = _cli("run-all", cuts, "--out", a / "reports", "--notebooks", quick)
    assert proc.returncode == 2
    outcome = _outcomes(proc.stdout)
    assert set(outcome) == {"a", "b"}
    for name in ("a", "b"):
        assert outcome[name].startswith("refused: the report folder") and "is inside the cut folder" in outcome[name]
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before  # no reports folder made inside cut a


# ---------------------------------------------------------------------- a stray multi-GB file

def _sparse(path: Path, size: int = 3 * 2 ** 30) -> Path:
    """A sparse file of ``size`` bytes (no disk used), with an access time of 0: reading any byte
    of it moves the access time (relatime updates an access time older than the modification)."""
    with open(path, "wb") as fh:
        fh.truncate(size)
    os.utime(path, (0, path.stat().st_mtime))
    return path


def test_validate_lists_a_stray_multi_gigabyte_file_without_reading_it(tmp_path, capsys):
    cut = _cut(tmp_path / "cut")
    dump = _sparse(cut / "dump.bin")
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    start = time.monotonic()
    code, out, err = _main(capsys, "validate", cut)
    assert code == 0, err
    assert time.monotonic() - start < 30
    assert any("dump.bin" in line and "not read" in line for line in out.splitlines()), out
    assert dump.stat().st_atime == 0, "validate read the stray file"
    assert tree_snapshot(tmp_path, big_bytes=BIG) == before


def test_run_never_reads_a_stray_multi_gigabyte_file_in_the_cut_or_in_the_previous_cut(tmp_path, quick):
    earlier = _cut(tmp_path / "cuts" / "earlier", "earlier", "2020-08-30")
    later = _cut(tmp_path / "cuts" / "later", "later")
    strays = [_sparse(earlier / "dump.bin"), _sparse(later / "dump.bin")]
    before = tree_snapshot(tmp_path, big_bytes=BIG)
    proc = _cli("run", later, "--out", tmp_path / "out", "--notebooks", quick)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "out" / "later" / "provenance.json").read_text())["previous_cut"] == "earlier"
    assert [p.stat().st_atime for p in strays] == [0, 0], \
        "a stray file was read: " + ", ".join(str(p) for p in strays if p.stat().st_atime != 0)
    assert tree_snapshot(tmp_path, tmp_path / "out", big_bytes=BIG) == before
