"""A cut folder cannot make the runner write, move or delete anything outside ``--out``.

Every refusal exits 2 with a plain message (no traceback), leaves the input files byte-identical
and creates nothing outside ``--out``. Names, folders beside the cut and the report folder are
treated as data a site sent, not as instructions.
"""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msc_analysis.cli import plain
from msc_analysis.run.publish import RunRefused, remove_stale_builds
from msc_analysis.run.cuts import find_cuts, previous_cut
from msc_analysis.run.runner import run_cut

from .conftest import FIXTURE_CUT
from .helpers import tree_snapshot, write_notebook

CLI = [sys.executable, "-m", "msc_analysis.cli"]
#: A few hundred bytes that a YAML loader with aliases expands to gigabytes.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi"))


def _cut(folder: Path, cut_id: str = "fixture-valid", cutoff: str = "2020-09-30") -> Path:
    """A copy of the valid fixture cut at ``folder`` with the given cut_id and cutoff date."""
    shutil.copytree(FIXTURE_CUT, folder)
    (folder / "cut.yaml").write_text(f"cut_id: {json.dumps(cut_id)}\nstudy_id: MSC-COVID19-HCPA\n"
                                     f"cutoff_date: {cutoff}\ndescription: hand-made test cut\n")
    return folder


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The fixture cut, loaded from a copy (so that the runner's checks alone are tested)."""
    from msc_analysis import load_cut

    return load_cut(_cut(tmp_path_factory.mktemp("loaded") / "fixture-cut"))


@pytest.fixture
def notebooks(tmp_path):
    """One notebook that runs in a second and fails on a cut whose folder name holds 'fails'."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_quick.ipynb", "import pathlib\nassert 'fails' not in pathlib.Path(cut_dir).name")
    return folder


def _cli(*args) -> subprocess.CompletedProcess:
    args = [*args, "--no-pdf"] if args and args[0] in ("run", "run-all") else list(args)  # the PDF: test_pdf_packet
    proc = subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr + proc.stdout
    return proc


@pytest.fixture
def world(tmp_path):
    """A cuts folder, a report folder with another cut's report, and a victim folder beside them."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("do not touch\n")
    other = tmp_path / "out" / "other-cut"
    other.mkdir(parents=True)
    (other / "index.html").write_text("another cut's report\n")
    (tmp_path / "out" / ".other-cut.building.abcd1234").mkdir()  # another cut's build in progress
    (tmp_path / "cuts").mkdir()
    return tmp_path


def _unchanged_apart_from_out(tmp_path: Path, before: dict) -> None:
    assert tree_snapshot(tmp_path, tmp_path / "out") == before


# --- names become paths only after they are checked ----------------------------------------


@pytest.mark.parametrize("cut_id", ["../victim", "../../victim", "x/../../victim"])
def test_a_cut_id_made_of_dot_dot_steps_cannot_touch_anything_outside_out(world, notebooks, cut_id):
    cut = _cut(world / "cuts" / "c", cut_id)
    before, out_before = tree_snapshot(world, world / "out"), tree_snapshot(world / "out", None)
    proc = _cli("run", cut, "--out", world / "out", "--notebooks", notebooks)
    assert proc.returncode == 2
    assert "cut_id" in proc.stderr
    _unchanged_apart_from_out(world, before)
    assert tree_snapshot(world / "out", None) == out_before


@pytest.mark.parametrize("cut_id", [".", "..", "x" * 300, "*", "other-*", ".hidden", "a b", "-x"])
def test_a_cut_id_that_is_not_a_plain_name_is_refused_and_leaves_every_report_alone(world, notebooks, cut_id):
    cut = _cut(world / "cuts" / "c", cut_id)
    before, out_before = tree_snapshot(world, world / "out"), tree_snapshot(world / "out", None)
    proc = _cli("run", cut, "--out", world / "out", "--notebooks", notebooks)
    assert proc.returncode == 2
    assert "cut_id" in proc.stderr
    _unchanged_apart_from_out(world, before)
    assert tree_snapshot(world / "out", None) == out_before  # no report moved aside, no build removed


@pytest.mark.parametrize("cut_id", ["../victim", ".", "..", "x" * 300, "*", "a/b", "/tmp", "", "a\x1b[2Jb"])
def test_the_runner_refuses_a_bad_cut_id_even_when_the_loader_let_it_through(world, notebooks, loaded,
                                                                             cut_id):
    cut = dataclasses.replace(loaded, cut_id=cut_id)
    before, out_before = tree_snapshot(world, world / "out"), tree_snapshot(world / "out", None)
    with pytest.raises(RunRefused, match="cut_id"):
        run_cut(cut, loaded.path, world / "out", notebooks_dir=notebooks)
    _unchanged_apart_from_out(world, before)
    assert tree_snapshot(world / "out", None) == out_before


def test_stale_build_clean_up_removes_only_this_cuts_own_build_folders(tmp_path):
    out, victim = tmp_path / "out", tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("do not touch\n")
    for name in (".c1.building.abcd1234", ".c1.building.x.building.abcd1234", ".c1-2.building.abcd1234",
                 ".c1.building.notmkdtemp", "c1", ".c1.lock"):
        (out / name).mkdir(parents=True)
    (out / ".c1.building.zzzz9999").symlink_to(victim)
    assert remove_stale_builds(out, "c1*") == []
    assert remove_stale_builds(out, "c1") == [".c1.building.abcd1234"]
    assert sorted(p.name for p in out.iterdir()) == [
        ".c1-2.building.abcd1234", ".c1.building.notmkdtemp", ".c1.building.x.building.abcd1234",
        ".c1.building.zzzz9999", ".c1.lock", "c1"]
    assert (victim / "precious.txt").read_text() == "do not touch\n"


@pytest.mark.parametrize("entry", ["fixture-valid", ".fixture-valid.lock", ".fixture-valid.previous"])
def test_a_link_planted_in_out_under_the_cuts_name_is_refused_and_its_target_left_alone(
        world, notebooks, loaded, entry):
    target = world / "victim" if entry != ".fixture-valid.lock" else world / "victim" / "precious.txt"
    (world / "out" / entry).symlink_to(target)
    before = tree_snapshot(world, world / "out")
    with pytest.raises(RunRefused, match="symbolic link"):
        run_cut(loaded, loaded.path, world / "out", notebooks_dir=notebooks)
    _unchanged_apart_from_out(world, before)
    assert not list((world / "out").glob(".fixture-valid.building.*"))


# --- two folders, one cut_id -----------------------------------------------------------------


def test_run_all_refuses_two_folders_with_one_cut_id_naming_both_and_runs_the_rest(tmp_path, notebooks):
    cuts = tmp_path / "cuts"
    a, b = _cut(cuts / "a", "same"), _cut(cuts / "b", "same", "2020-10-30")
    _cut(cuts / "c", "distinct", "2020-08-30")
    before = tree_snapshot(tmp_path, tmp_path / "out")
    proc = _cli("run-all", cuts, "--out", tmp_path / "out", "--notebooks", notebooks)
    assert proc.returncode == 2
    lines = [line for line in proc.stdout.splitlines() if "'same' is also the cut_id of" in line]
    assert len(lines) == 2 and str(a) in lines[0] + lines[1] and str(b) in lines[0] + lines[1]
    assert f"{cuts / 'c'}: ok" in proc.stdout
    assert not (tmp_path / "out" / "same").exists()
    assert (tmp_path / "out" / "distinct" / "index.html").exists()
    _unchanged_apart_from_out(tmp_path, before)


def test_a_run_does_not_overwrite_a_report_made_from_another_folder_with_the_same_cut_id(tmp_path, notebooks):
    a, b = _cut(tmp_path / "cuts" / "a", "same"), _cut(tmp_path / "elsewhere" / "b", "same")
    out = tmp_path / "out"
    assert _cli("run", a, "--out", out, "--notebooks", notebooks).returncode == 0
    assert json.loads((out / "same" / "provenance.json").read_text())["cut_folder"] == str(a)
    report = tree_snapshot(out / "same", None)
    before = tree_snapshot(tmp_path, out)
    proc = _cli("run", b, "--out", out, "--notebooks", notebooks, "--force")
    assert proc.returncode == 2
    assert f"was made from the cut folder {a}" in proc.stderr and str(b) in proc.stderr
    assert tree_snapshot(out / "same", None) == report
    _unchanged_apart_from_out(tmp_path, before)
    # once the first folder no longer holds that cut (renamed, corrected), the report is replaced
    (a / "cut.yaml").write_text((a / "cut.yaml").read_text().replace('"same"', '"renamed"'))
    assert _cli("run", b, "--out", out, "--notebooks", notebooks).returncode == 0
    assert json.loads((out / "same" / "provenance.json").read_text())["cut_folder"] == str(b)


# --- the report folder -----------------------------------------------------------------------


@pytest.mark.parametrize("inside", [".", "reports", "reports/deeper"])
def test_out_inside_the_cut_folder_or_equal_to_it_is_refused(tmp_path, notebooks, inside):
    cut = _cut(tmp_path / "cut")
    before = tree_snapshot(tmp_path, None)
    proc = _cli("run", cut, "--out", cut / inside, "--notebooks", notebooks)
    assert proc.returncode == 2
    assert "is inside the cut folder" in proc.stderr
    assert tree_snapshot(tmp_path, None) == before


def test_a_report_folder_that_would_be_the_cut_folder_itself_is_refused(tmp_path, notebooks):
    cut = _cut(tmp_path / "cuts" / "fixture-valid")  # the folder is named after its cut_id
    before = tree_snapshot(tmp_path, None)
    proc = _cli("run", cut, "--out", tmp_path / "cuts", "--notebooks", notebooks)
    assert proc.returncode == 2
    assert f"which is (or holds) the cut folder {cut}" in proc.stderr
    assert tree_snapshot(tmp_path, None) == before


@pytest.mark.parametrize("out", ["a-file", "a-file/reports"])
def test_out_that_is_a_file_is_refused_with_a_clear_message(tmp_path, notebooks, out):
    cut = _cut(tmp_path / "cut")
    (tmp_path / "a-file").write_text("not a folder\n")
    before = tree_snapshot(tmp_path, None)
    proc = _cli("run", cut, "--out", tmp_path / out, "--notebooks", notebooks)
    assert proc.returncode == 2
    assert f"{tmp_path / 'a-file'} is a file, not a folder" in proc.stderr
    assert tree_snapshot(tmp_path, None) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_out_is_refused_with_a_clear_message(tmp_path, notebooks):
    cut, out = _cut(tmp_path / "cut"), tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        before = tree_snapshot(tmp_path, None)
        proc = _cli("run", cut, "--out", out, "--notebooks", notebooks)
        assert proc.returncode == 2
        assert "cannot be written" in proc.stderr and "read-only" in proc.stderr
        assert tree_snapshot(tmp_path, None) == before
    finally:
        out.chmod(0o755)


def test_a_report_folder_the_runner_cannot_write_into_is_refused_with_a_clear_message(
        tmp_path, notebooks, loaded, monkeypatch):
    # the same path as a read-only --out, reached even by root: the lock file cannot be created
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if str(path).startswith(str(tmp_path / "out")) and flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(RunRefused, match="cannot write the lock file .* is the report folder writable"):
        run_cut(loaded, loaded.path, tmp_path / "out", notebooks_dir=notebooks)


# --- folders beside the cut ------------------------------------------------------------------


def _hostile_neighbours(cuts: Path, outside: Path) -> list[str]:
    """Folders beside a valid cut whose cut.yaml cannot be used; returns their names."""
    (outside / "secret.txt").write_text("FIRST-LINE-OF-A-SECRET\n")
    os.mkfifo(outside / "fifo")
    bad = {"alias-bomb": ALIAS_BOMB.encode(), "binary": b"\x00\xff\xfe garbage", "no-date": b"cut_id: x\nstudy_id: S\n",
           "yes-study": b"cut_id: y\nstudy_id: yes\ncutoff_date: 2020-01-01\n", "list": b"- 1\n- 2\n",
           "dotdot-id": b"cut_id: '..'\nstudy_id: S\ncutoff_date: 2020-01-01\n", "huge": b"#" * 10_000_000}
    for name, data in bad.items():
        (cuts / name).mkdir()
        (cuts / name / "cut.yaml").write_bytes(data)
    (cuts / "yaml-is-a-folder" / "cut.yaml").mkdir(parents=True)
    (cuts / "yaml-is-a-fifo").mkdir()
    os.mkfifo(cuts / "yaml-is-a-fifo" / "cut.yaml")
    (cuts / "yaml-is-a-link").mkdir()
    (cuts / "yaml-is-a-link" / "cut.yaml").symlink_to(outside / "secret.txt")
    (cuts / "yaml-links-to-a-fifo").mkdir()
    (cuts / "yaml-links-to-a-fifo" / "cut.yaml").symlink_to(outside / "fifo")
    return sorted(bad) + ["yaml-is-a-fifo", "yaml-is-a-folder", "yaml-is-a-link", "yaml-links-to-a-fifo"]


@pytest.fixture
def crowded(tmp_path):
    """``cuts/`` holding one valid cut ("good") among folders with hostile cut.yaml files."""
    outside = tmp_path / "outside"
    outside.mkdir()
    good = _cut(tmp_path / "cuts" / "good", "good")
    names = _hostile_neighbours(tmp_path / "cuts", outside)
    return tmp_path, good, names


def test_a_broken_cut_yaml_beside_the_cut_does_not_stop_its_run(crowded, notebooks):
    tmp_path, good, names = crowded
    before = tree_snapshot(tmp_path, tmp_path / "out")
    proc = _cli("run", good, "--out", tmp_path / "out", "--notebooks", notebooks)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("warning:")
    assert "FIRST-LINE-OF-A-SECRET" not in proc.stdout + proc.stderr
    assert (tmp_path / "out" / "good" / "index.html").exists()
    _unchanged_apart_from_out(tmp_path, before)


def test_newest_cut_skips_a_folder_whose_cut_yaml_cannot_be_read(crowded):
    tmp_path, good, names = crowded
    before = tree_snapshot(tmp_path, None)
    proc = _cli("newest-cut", tmp_path / "cuts")
    assert proc.returncode == 0
    assert proc.stdout == f"{good}\n"
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("warning:")
    assert "FIRST-LINE-OF-A-SECRET" not in proc.stderr
    assert tree_snapshot(tmp_path, None) == before


def test_run_all_carries_on_after_an_invalid_cut(crowded, notebooks):
    tmp_path, good, names = crowded
    cuts = tmp_path / "cuts"
    bad_data = _cut(cuts / "bad-data", "bad-data", "2020-08-30")
    (bad_data / "vitals.csv").write_text((bad_data / "vitals.csv").read_text().replace(
        "S01,2020-08-03T08:00,20,95", "S01,2020-08-03T08:00,20,140"))
    _cut(cuts / "fails", "fails", "2020-08-31")
    before = tree_snapshot(tmp_path, tmp_path / "out")
    proc = _cli("run-all", cuts, "--out", tmp_path / "out", "--notebooks", notebooks)
    assert proc.returncode == 2  # the worst outcome: an invalid cut
    summary = proc.stdout[proc.stdout.index("Outcome of every cut"):].splitlines()[1:]
    outcome = {Path(line.split(": ")[0].strip()).name: line.split(": ", 1)[1] for line in summary}
    assert outcome["bad-data"].startswith("invalid: 1 problem")
    assert outcome["fails"].startswith("failed: 1 of 1 notebook(s) (01_quick)")
    assert outcome["good"] == "ok: 1 notebook"
    for name in names:
        assert outcome[name].startswith("invalid: "), name
    assert "vitals.csv, row 3, column 'spo2_pct'" in proc.stderr
    assert "FIRST-LINE-OF-A-SECRET" not in proc.stdout + proc.stderr
    assert (tmp_path / "out" / "good" / "index.html").exists()
    assert (tmp_path / "out" / "fails" / "index.html").exists()
    _unchanged_apart_from_out(tmp_path, before)


def test_a_sub_folder_links_and_fifos_inside_the_previous_cut_do_not_stop_the_run(tmp_path, notebooks):
    earlier = _cut(tmp_path / "cuts" / "earlier", "earlier", "2020-08-30")
    later = _cut(tmp_path / "cuts" / "later", "later")
    (earlier / "extra").mkdir()
    (earlier / "extra" / "notes.txt").write_text("a sub-folder\n")
    os.mkfifo(tmp_path / "fifo")
    os.mkfifo(earlier / "a-fifo")
    (earlier / "link-to-a-fifo").symlink_to(tmp_path / "fifo")
    (earlier / "link-to-zeros").symlink_to("/dev/zero")
    before = tree_snapshot(tmp_path, tmp_path / "out")
    proc = _cli("run", later, "--out", tmp_path / "out", "--notebooks", notebooks)
    assert proc.returncode == 0, proc.stderr
    _unchanged_apart_from_out(tmp_path, before)


def test_the_previous_cut_is_found_by_cut_id_and_cutoff_date_not_by_folder_name(tmp_path):
    cuts, out = tmp_path / "cuts", tmp_path / "out"
    early = _cut(cuts / "zz-first-export", "early", "2020-08-20")
    late = _cut(cuts / "aa-second-export", "late", "2020-09-30")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_previous.ipynb",
              "import json, pathlib\npathlib.Path(results_dir).mkdir(parents=True, exist_ok=True)\n"
              "pathlib.Path(results_dir, 'seen.json').write_text(json.dumps([previous_cut_dir, "
              "previous_results_dir]))\n"
              # results of schema v2 (a cut_id column): the early report counts as made by this kit
              "pathlib.Path(results_dir, '01_previous.csv').write_text('cut_id,endpoint\\nx,y\\n')",
              parameters='cut_dir = ""\nresults_dir = ""\nprevious_cut_dir = ""\nprevious_results_dir = ""')
    proc = _cli("run-all", cuts, "--out", out, "--notebooks", folder)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "late" / "results" / "seen.json").read_text()) == [
        str(early), str(out / "early" / "results")]
    record = json.loads((out / "late" / "provenance.json").read_text())
    assert (record["previous_cut"], record["previous_cut_folder"]) == ("early", str(early))
    assert json.loads((out / "early" / "results" / "seen.json").read_text()) == ["", ""]
    assert previous_cut(late) == early


def test_a_neighbour_with_the_same_cutoff_date_is_not_the_previous_cut(tmp_path):
    cuts = tmp_path / "cuts"
    early = _cut(cuts / "c", "early", "2020-08-20")
    _cut(cuts / "a", "same-day", "2020-09-30")
    late = _cut(cuts / "b", "late", "2020-09-30")
    _cut(cuts / "d", "after", "2020-10-30")
    assert previous_cut(late) == early
    assert [f.cut_id for f in find_cuts(cuts)] == ["early", "late", "same-day", "after"]


def test_a_neighbour_with_the_same_cut_id_is_not_the_previous_cut(tmp_path):
    cuts = tmp_path / "cuts"
    _cut(cuts / "old-copy", "late", "2020-08-20")
    late = _cut(cuts / "b", "late", "2020-09-30")
    assert previous_cut(late) is None


def test_a_folder_of_cuts_reached_through_a_link_is_listed_but_not_followed(tmp_path):
    real = _cut(tmp_path / "elsewhere" / "real", "real")
    (tmp_path / "cuts").mkdir()
    (tmp_path / "cuts" / "latest").symlink_to(real)
    [found] = find_cuts(tmp_path / "cuts")
    assert found.cut_id == "" and "link" in found.problem


# --- nothing from a cut reaches the terminal as control characters ---------------------------


def test_terminal_output_is_stripped_of_control_characters():
    assert plain("S01\x1b[31mred\x1b[0m\x1b]0;title\x07\x1bP+q\x1b\\ ok\r\x08\x9b\x85\u202e!\n\tend") == \
        "S01red ok!\n\tend"


def test_control_characters_from_a_cut_never_reach_the_terminal(tmp_path):
    cut = _cut(tmp_path / "cut")
    (cut / "labs.csv").write_text((cut / "labs.csv").read_text().replace(
        "S01,2020-08-09T06:00,CRP,4.2,", "S01,2020-08-09T06:00,CRP,\x1b]0;owned\x07\x1b[2J4.2\x9b,"))
    (cut / "cut.yaml").write_text('cut_id: "a\\e[2Jb"\nstudy_id: S\ncutoff_date: 2020-09-30\n')
    before = tree_snapshot(tmp_path, None)
    for command in (["validate", cut], ["run", cut, "--out", tmp_path / "out"]):
        proc = _cli(*command)
        assert proc.returncode == 2
        assert "labs.csv" in proc.stderr
        text = proc.stdout + proc.stderr
        assert not [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f], command
    assert tree_snapshot(tmp_path, None) == before
