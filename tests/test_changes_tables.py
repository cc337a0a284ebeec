"""10_changes: every new event listed, headline movement in words, and "not computed" said plainly."""
import pandas as pd

from msc_analysis import load_cut
from msc_analysis.endpoints import changes
from msc_analysis.report import changes_tables as tables
from msc_analysis.report.headlines import movement_table
from msc_analysis.report.results import V1_COLUMNS, result_rows, write_results

from .conftest import ROOT

CUTS = ROOT / "data" / "cuts"


def _results(survival, deaths, n):
    return result_rows("overall_survival", pd.DataFrame({
        "measure": ["survival_prop", "deaths_by_day"], "day": [30, 60], "estimate": [survival, deaths],
        "ci95_lower": [survival - 0.2, None], "ci95_upper": [survival + 0.1, None], "n": [n, n],
        "unit": ["proportion", "subjects"], "method": ["KM", "count"]}), cut_id="c")


def test_every_new_death_of_cut_2020_10_30_is_a_row_of_the_new_deaths_table():
    before, after = load_cut(CUTS / "cut-2020-09-15"), load_cut(CUTS / "cut-2020-10-30")
    events = changes.compare_cuts(before, after)["new_events"]
    deaths = tables.new_events_table(events, "death")
    known = set(before.subjects.loc[before.subjects["died_on"].notna(), "subject_id"])
    now = set(after.subjects.loc[after.subjects["died_on"].notna(), "subject_id"])
    assert sorted(deaths["Subject"]) == sorted(now - known) and len(deaths) == 7
    assert len(tables.new_events_table(events)) == len(events)  # no row is left out


def test_headline_measures_fill_n_with_the_subjects_of_this_cut():
    after = load_cut(CUTS / "cut-2020-10-30")
    rows = changes.headline_measures(changes.compare_cuts(None, after), len(after.subjects))
    assert (rows["n"] == len(after.subjects)).all()
    written = result_rows("changes", rows)
    assert written["n"].notna().all()


def test_headline_movement_keeps_both_intervals_and_the_change():
    moved = changes.headline_movement(_results(0.5, 1, 13), _results(0.6, 8, 31))
    row = moved[moved["measure"] == "survival_prop"].iloc[0]
    assert (row["lower_before"], row["upper_after"], row["interval"]) == (0.3, 0.7, "ci95")
    assert row["change"] == 0.6 - 0.5


def test_movement_reads_in_words_with_labels_and_percentage_points():
    table = movement_table(changes.headline_movement(_results(0.5, 1, 13), _results(0.6, 8, 31)))
    survival = table[table["Measure"] == "Overall survival"].iloc[0]
    assert survival["Previous cut"] == "50.0% (30.0% to 60.0%)" and survival["This cut"] == "60.0% (40.0% to 70.0%)"
    assert survival["Change"] == "+10.0 percentage points" and survival["n (previous, this)"] == "13, 31"
    deaths = table[table["Measure"] != "Overall survival"].iloc[0]
    assert (deaths["Previous cut"], deaths["This cut"], deaths["Change"]) == ("1", "8", "+7")


def test_a_measure_only_one_cut_has_shows_a_dash_on_the_other_side():
    table = movement_table(changes.headline_movement(_results(0.5, 1, 13).iloc[:1], _results(0.6, 8, 31)))
    deaths = table[table["Measure"] != "Overall survival"].iloc[0]
    assert (deaths["Previous cut"], deaths["Change"]) == ("–", "–")


def test_previous_results_say_plainly_why_they_are_missing(tmp_path):
    assert tables.previous_results("", None)[1].startswith("There is no previous cut")
    frame, why = tables.previous_results("", "cut-a")
    assert frame is None and why.startswith("Not computed") and "cut-a" in why
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "01_x.csv").write_text(",".join(V1_COLUMNS) + "\noverall_survival,n,all,,1,,,1,subjects,c\n")
    frame, why = tables.previous_results(tmp_path / "old", "cut-a")
    assert frame is None and "older version of the kit" in why
    write_results(_results(0.5, 1, 13), tmp_path / "new", "01_x")
    frame, why = tables.previous_results(tmp_path / "new", "cut-a")
    assert why == "" and len(frame) == 2


def test_a_subject_never_infused_has_no_day_since_infusion():
    events = pd.DataFrame({"event": ["death"], "subject_id": ["S1"], "date": [pd.Timestamp("2020-09-01")],
                           "days_since_infusion": pd.array([pd.NA], dtype="Int64"), "detail": [""]})
    assert tables.new_events_table(events).iloc[0].tolist() == ["Death", "S1", "2020-09-01", "not infused", "–"]
