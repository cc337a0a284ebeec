"""The command line speaks plainly and uses exit codes a scheduler can act on."""
import shutil
import subprocess
import sys

import pytest

from msc_analysis.cli import main

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
    proc = subprocess.run(CLI + ["run", str(cut), "--out", str(tmp_path / "out"), "--no-pdf"],
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
        (tmp_path / name / "cut.yaml").write_text(f"cut_id: {name}\nstudy_id: S\ncutoff_date: {cutoff}\n")
    proc = subprocess.run(CLI + ["newest-cut", str(tmp_path)], capture_output=True, text=True)
    assert proc.stdout.strip() == str(tmp_path / "a-late")


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "two", ""])
def test_jobs_must_be_a_whole_number_of_at_least_one(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stop:
        main(["run", str(FIXTURE_CUT), "--out", str(tmp_path / "out"), "--jobs", value])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--jobs: expected a whole number of at least 1" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["-1", "0", "inf", "-inf", "nan", "1e300", "soon"])
def test_timeout_must_be_a_finite_number_of_seconds_above_zero(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stop:
        main(["run-all", str(tmp_path), "--out", str(tmp_path / "out"), f"--timeout={value}"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--timeout: expected a number of seconds above 0" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_missing_folder_of_cuts_is_an_input_error(tmp_path):
    for command in ("run-all", "newest-cut"):
        proc = subprocess.run(CLI + [command, str(tmp_path / "nope")], capture_output=True, text=True)
        assert proc.returncode == 2 and "no such folder" in proc.stderr and "Traceback" not in proc.stderr
