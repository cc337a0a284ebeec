"""The command line speaks plainly and uses exit codes a scheduler can act on."""
import shutil
import subprocess
import sys

from .conftest import FIXTURE_CUT, ROOT

CLI = [sys.executable, "-m", "msc_analysis.cli"]


def test_validate_summarises_a_valid_cut_and_exits_0():
    proc = subprocess.run(CLI + ["validate", str(FIXTURE_CUT)], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "6 screened, 3 eligible, 3 enrolled, 2 treated" in proc.stdout


def test_an_invalid_cut_exits_2_without_a_traceback_and_runs_nothing(tmp_path):
    cut = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    text = (cut / "vitals.csv").read_text().replace("S01,2020-08-03T08:00,20,95", "S01,2020-08-03T08:00,20,140")
    (cut / "vitals.csv").write_text(text)
    proc = subprocess.run(CLI + ["run", str(cut), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "vitals.csv, row 3, column 'spo2_pct': value '140'" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_missing_folder_is_an_input_error(tmp_path):
    proc = subprocess.run(CLI + ["validate", str(tmp_path / "nope")], capture_output=True, text=True)
    assert proc.returncode == 2 and "no such folder" in proc.stderr


def test_newest_cut_is_chosen_by_cutoff_date(tmp_path):
    for name, cutoff in (("b-early", "2020-09-15"), ("a-late", "2020-12-30")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cut.yaml").write_text(f"cut_id: {name}\ncutoff_date: {cutoff}\n")
    proc = subprocess.run(CLI + ["newest-cut", str(tmp_path)], capture_output=True, text=True)
    assert proc.stdout.strip() == str(tmp_path / "a-late")
