"""Time frames are trial facts kept once, in definitions/trial.yaml: a change there reaches the
endpoint functions, the notebook's results and its footnotes with no edit of code or notebook."""
import shutil

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from msc_analysis import definitions
from msc_analysis.endpoints import overall_survival
from msc_analysis.report.results import page_time_frames, with_method_note

from .conftest import ROOT

TRIAL = ROOT / "msc_analysis" / "definitions" / "trial.yaml"
REGISTERED = "    report_days: [30, 60]"
AMENDED = "    report_days: [28, 60]"


def _amended_trial_yaml() -> str:
    text = TRIAL.read_text(encoding="utf-8")
    assert text.count(REGISTERED) == 1
    return text.replace(REGISTERED, AMENDED)


@pytest.fixture
def amended_definitions(tmp_path, monkeypatch):
    """The shipped definitions with overall survival reported at day 28 instead of day 30."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    for name in definitions.FILES:
        shutil.copyfile(TRIAL.parent / name, folder / name)
    (folder / "trial.yaml").write_text(_amended_trial_yaml(), encoding="utf-8")
    monkeypatch.setattr(definitions, "_folder", lambda: folder)
    definitions._load.cache_clear()
    yield folder
    definitions._load.cache_clear()


def test_survival_is_reported_at_the_registered_days_by_default(fixture_cut):
    times = overall_survival.survival_times(fixture_cut.subjects, fixture_cut.cutoff_date)
    at = overall_survival.survival_at_days(times)
    assert at["day"].tolist() == [30, 60]


def test_a_changed_time_frame_reaches_the_endpoint_function(fixture_cut, amended_definitions):
    times = overall_survival.survival_times(fixture_cut.subjects, fixture_cut.cutoff_date)
    rows = overall_survival.headline_measures(times)
    assert sorted(rows.loc[rows["measure"] == "survival_prop", "day"]) == [28, 60]
    assert page_time_frames("overall_survival").description == "days reported: 28, 60 as in definitions/trial.yaml"


def test_a_time_frame_the_page_sets_is_named_in_the_note_and_the_method():
    frames = page_time_frames("overall_survival", report_days=(28, 60))
    assert frames.values == {"report_days": (28, 60)}
    assert frames.note == "days reported: 28, 60 set on this page instead of 30, 60 as in definitions/trial.yaml"
    results = with_method_note(pd.DataFrame({"method": ["Kaplan-Meier"]}), frames.note)
    assert results["method"].tolist() == ["Kaplan-Meier; " + frames.note]


def test_a_page_value_equal_to_the_definitions_is_not_an_override():
    assert page_time_frames("overall_survival", report_days=[30, 60]).note == ""


def test_an_unknown_time_frame_is_refused():
    with pytest.raises(ValueError, match="has no time frame"):
        page_time_frames("overall_survival", horizon_days=60)


def test_a_time_frame_that_is_not_a_list_of_days_is_refused(amended_definitions):
    trial = amended_definitions / "trial.yaml"
    trial.write_text(trial.read_text(encoding="utf-8").replace(AMENDED, "    report_days: [60, 28]"),
                     encoding="utf-8")
    with pytest.raises(ValueError, match=r"trial\.yaml: time_frames\.overall_survival\.report_days"):
        definitions.check_folder(amended_definitions)


def test_changing_a_time_frame_in_the_definitions_changes_the_notebook_results_and_footnotes(
        tmp_path, monkeypatch):
    """Day 30 becomes day 28 in a copy of the package's definitions; the notebook is not edited."""
    package = tmp_path / "site" / "msc_analysis"
    shutil.copytree(ROOT / "msc_analysis", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "definitions" / "trial.yaml").write_text(_amended_trial_yaml(), encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))   # the kernel imports the copy
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").symlink_to(ROOT / "data")
    path = ROOT / "notebooks" / "01_overall_survival.ipynb"
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()

    results = pd.read_csv(tmp_path / "results" / "01_overall_survival.csv")
    survival = results[(results["measure"] == "survival_prop") & (results["group"] == "all")]
    assert survival["day"].tolist() == [28, 60]
    assert not results["method"].str.contains("set on this page").any()   # the page overrides nothing
    printed = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                        + o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code"
                        for o in c.get("outputs", []))
    assert "days reported: 28, 60 as in definitions/trial.yaml" in printed
    assert "days reported: 30, 60" not in printed


def test_a_notebook_that_sets_a_time_frame_says_so_on_the_page_and_in_the_method(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "data").symlink_to(ROOT / "data")
    nb = nbformat.read(ROOT / "notebooks" / "01_overall_survival.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "survival_days = None" in params.source
    params.source = params.source.replace("survival_days = None", "survival_days = (28, 60)")
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path / "notebooks")}}).execute()

    note = "days reported: 28, 60 set on this page instead of 30, 60 as in definitions/trial.yaml"
    results = pd.read_csv(tmp_path / "results" / "01_overall_survival.csv")
    assert results.loc[(results["measure"] == "survival_prop") & (results["group"] == "all"), "day"].tolist() == [28, 60]
    assert results["method"].str.endswith("; " + note).all()
    printed = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                        + o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code"
                        for o in c.get("outputs", []))
    assert note in printed
