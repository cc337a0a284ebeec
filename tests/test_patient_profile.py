"""Cause of death (cut format v1.1) and patient profiles (issue 14 items 5 and 6)."""
import shutil

import pandas as pd
import pytest

from msc_analysis import CutValidationError, load_cut

from .conftest import FIXTURE_CUT


def _with_causes(tmp_path, causes: dict[str, str]):
    cut_dir = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    frame = pd.read_csv(cut_dir / "subjects.csv", dtype=str, keep_default_na=False)
    frame["death_cause"] = frame["subject_id"].map(causes).fillna("")
    frame.to_csv(cut_dir / "subjects.csv", index=False)
    return cut_dir


def test_a_v1_cut_without_death_cause_loads_with_the_cause_empty(fixture_cut):
    assert "death_cause" in fixture_cut.subjects
    assert fixture_cut.subjects["death_cause"].isna().all()


def test_a_death_without_a_recorded_cause_is_counted_in_the_data_quality_table(fixture_cut):
    dq = fixture_cut.data_quality.set_index(["table", "column"])
    # one death in the fixture (S02, 2020-08-15), no cause recorded
    assert dq.at[("subjects", "death_cause"), "n_rows"] == 1
    assert dq.at[("subjects", "death_cause"), "issue"] == "death without a recorded cause"


def test_a_v1_1_cut_with_a_cause_for_each_death_validates_and_has_no_flag(tmp_path):
    cut = load_cut(_with_causes(tmp_path, {"S02": "COVID-19 respiratory failure"}))
    s = cut.subjects.set_index("subject_id")
    assert s.at["S02", "death_cause"] == "COVID-19 respiratory failure"
    assert s["death_cause"].notna().sum() == 1
    assert not ((cut.data_quality["column"] == "death_cause").any())


def test_a_cause_of_death_on_a_subject_without_a_death_date_is_refused_with_all_problems(tmp_path):
    cut_dir = _with_causes(tmp_path, {"S01": "sepsis", "S06": "cardiac"})
    with pytest.raises(CutValidationError) as err:
        load_cut(cut_dir)
    messages = [str(p) for p in err.value.problems]
    expected = "a cause of death needs a death date (died_on); record the death or leave the cause empty"
    assert messages == [
        f"subjects.csv, row 2, column 'death_cause': value 'sepsis': {expected}",
        f"subjects.csv, row 7, column 'death_cause': value 'cardiac': {expected}"]


def test_a_death_after_the_cutoff_has_no_known_cause_at_the_cutoff(tmp_path):
    cut_dir = _with_causes(tmp_path, {"S02": "sepsis"})
    meta = (cut_dir / "cut.yaml").read_text().replace("2020-09-30", "2020-08-10")
    (cut_dir / "cut.yaml").write_text(meta)
    s = load_cut(cut_dir).subjects.set_index("subject_id")
    assert pd.isna(s.at["S02", "died_on"]) and pd.isna(s.at["S02", "death_cause"])


# ------------------------------------------------------------------------------ patient profiles (item 6)

from msc_analysis.derive.follow_up import follow_up  # noqa: E402
from msc_analysis.endpoints import liao_improvement  # noqa: E402
from msc_analysis.endpoints import patient_profile as pp  # noqa: E402
from msc_analysis.report import profile_tables as pt  # noqa: E402
from msc_analysis.report.page import table_cells  # noqa: E402

from .conftest import ROOT  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "11_patient_profile.ipynb"


def _subjects():
    return pd.DataFrame({"subject_id": ["A", "B", "C", "D", "E"], "treated": [True, True, True, False, True],
                         "died_on": pd.to_datetime(["2020-08-10", None, None, None, "2020-09-01"])})


def _aes():
    return pd.DataFrame({"subject_id": ["B", "C", "E"], "serious": [True, False, True]})


def test_default_profiles_every_treated_subject_who_died_or_had_a_serious_adverse_event():
    sel = pp.select_subjects(_subjects(), _aes())
    assert sel["subject_id"].tolist() == ["A", "B", "E"]
    assert sel["reason"].tolist() == ["died", "serious adverse event", "died; serious adverse event"]
    assert sel["profiled"].all()


def test_all_profiles_every_treated_subject_and_never_an_untreated_one():
    assert pp.select_subjects(_subjects(), _aes(), "all")["subject_id"].tolist() == ["A", "B", "C", "E"]


def test_a_single_code_given_as_text_profiles_that_subject_only():
    sel = pp.select_subjects(_subjects(), _aes(), "C")
    assert sel["subject_id"].tolist() == ["C"] and sel["profiled"].tolist() == [True]


def test_unknown_and_untreated_codes_are_named_plainly_and_not_profiled():
    sel = pp.select_subjects(_subjects(), _aes(), ["C", "Z", "D"])
    assert sel["profiled"].tolist() == [True, False, False]
    notes = pt.selection_notes(sel, ["C", "Z", "D"], 40)
    assert "Unknown subject code: Z (not in this cut; check the spelling, e.g. C)." in notes
    assert any(n.startswith("Not infused, so not profiled") and n.endswith(": D.") for n in notes)


def test_beyond_max_subjects_the_rest_are_counted_named_and_never_dropped_silently():
    sel = pp.select_subjects(_subjects(), _aes(), "all", max_subjects=2)
    assert sel["profiled"].tolist() == [True, True, False, False]
    assert sel["reason"].iloc[2].endswith("not profiled: beyond the first 2")
    notes = pt.selection_notes(sel, "all", 2)
    assert any(n.startswith("2 more subjects selected but not profiled") and "C and E" in n for n in notes)
    result = pp.headline_measures(sel).iloc[0]
    assert (result["estimate"], result["n"]) == (2, 4)


def test_a_subjects_parameter_that_is_not_text_or_a_list_of_text_is_refused():
    with pytest.raises(ValueError, match="subjects must be"):
        pp.select_subjects(_subjects(), _aes(), 7)


def test_profile_records_put_each_record_on_the_day_since_infusion_axis(fixture_cut):
    before = fixture_cut.subjects.copy()
    r = pp.profile_records(fixture_cut, ["S02"])  # infused 2020-08-05
    assert fixture_cut.subjects.equals(before)
    got = {(k, round(t, 6)) for k, t in zip(r["record"], r["time_days"])}
    assert got == {("Admission", -2.0), ("Infusion", 0.0), ("Liao score", round(-1 + 9.5 / 24, 6)),
                   ("SpO2", round(-1 + 9.5 / 24, 6)), ("CRP", 0.25), ("RT-PCR", 0.0),
                   ("Adverse event", 5.0), ("Death", 10.0)}
    row = r.set_index("record")
    assert row.at["SpO2", "value"] == 88 and row.at["SpO2", "level"] == "on oxygen"
    assert row.at["CRP", "value"] == 18.0 and row.at["RT-PCR", "level"] == "positive"
    ae = row.loc["Adverse event"]
    assert (ae["value"], ae["level"], ae["detail"]) == (5.0, "serious", "Respiratory failure (unrelated)")
    assert pd.isna(ae["end_days"])  # not resolved
    scored = liao_improvement.score_assessments(fixture_cut.vitals, fixture_cut.subjects[fixture_cut.subjects["subject_id"] == "S02"])
    assert row.at["Liao score", "value"] == scored["liao_total"].iloc[0]
    assert row.at["Liao score", "level"] == str(scored["liao_level"].iloc[0])
    assert r["record"].tolist()[:2] == ["Admission", "Liao score"] and r["record"].iloc[-1] == "Death"


def test_crp_in_mg_per_litre_shows_in_mg_per_decilitre_in_the_profile(fixture_cut):
    r = pp.profile_records(fixture_cut, ["S01"])
    crp = r[r["record"] == "CRP"]
    assert crp["value"].tolist() == [15.0, 4.2]  # 150 mg/L / 10; already mg/dL
    pf = r[r["record"] == "PaO2/FiO2"]
    assert pf["value"].tolist() == [130.0, 200.0]  # 65 / 0.5; 80 / 0.40 (FiO2 given as 40 %)


def test_summary_gives_the_dose_per_kg_and_the_outcome_with_cause_not_recorded(fixture_cut):
    s = pp.subject_summaries(fixture_cut.subjects, fixture_cut.infusions,
                             follow_up(fixture_cut.subjects, fixture_cut.cutoff_date), fixture_cut.adverse_events,
                             ["S02"]).iloc[0]
    assert s["dose_cells_per_kg"] == 6.0e7 / 62.5 and s["admission_day"] == -2 and s["death_day"] == 10
    assert (s["n_aes"], s["n_saes"]) == (1, 1)
    assert pt.outcome_text(s) == "died on day 10 (cause not recorded)"


def test_listing_shows_every_record_in_words_without_raw_missing_values(fixture_cut):
    listing = pt.records_listing(pp.profile_records(fixture_cut, ["S02"]))
    assert listing["Record"].tolist() == ["Admission", "Vital signs", "Infusion", "RT-PCR", "CRP", "Adverse event",
                                          "Death"]
    assert listing["Day"].tolist() == ["-2", "-1", "0", "0", "0", "5", "10"]
    assert listing["Time"].tolist()[1] == "09:30" and listing["Time"].tolist()[4] == "06:00"
    assert listing["Result"].iloc[5] == "Respiratory failure (unrelated): grade 5, serious, ongoing at the last record"
    assert "SpO2 88 % (on oxygen)" in listing["Result"].iloc[1]
    cells = table_cells(listing)
    assert not cells.apply(lambda c: c.str.contains(r"\bnan\b|None|<NA>|NaT")).any().any()


def test_the_page_runs_for_one_subject_code_given_as_a_parameter(tmp_path):
    import papermill as pm

    from msc_analysis.run.worker import render_html

    from .test_degenerate_cuts import visible_text

    out = tmp_path / "11_patient_profile.ipynb"
    pm.execute_notebook(str(NOTEBOOK), str(out), cwd=str(ROOT / "notebooks"), progress_bar=False,
                        parameters={"cut_dir": str(FIXTURE_CUT), "results_dir": str(tmp_path / "results"),
                                    "subjects": ["S01", "S99"]})
    page = tmp_path / "11_patient_profile.html"
    page.write_text(render_html(out, False), encoding="utf-8")
    text = visible_text(page)
    assert "Events of subject S01" in text and "Course of subject S01, worst value of each day" in text
    assert "of subject S99" not in text
    assert "Every record of the profiled subjects" in text
    assert "Unknown subject code: S99" in text
    results = pd.read_csv(tmp_path / "results" / "11_patient_profile.csv")
    assert results[["measure", "estimate", "n"]].values.tolist() == [["subjects_profiled", 1, 1]]


def test_no_subject_to_profile_gives_empty_tables_not_an_error(fixture_cut):
    records = pp.profile_records(fixture_cut, [])
    assert len(records) == 0 and list(records.columns) == ["subject_id", "time_days", "end_days", "record", "value",
                                                           "unit", "level", "detail"]
    assert len(pt.records_listing(records)) == 0
    no_one = pp.select_subjects(fixture_cut.subjects.assign(treated=False), fixture_cut.adverse_events)
    assert len(no_one) == 0 and pp.headline_measures(no_one)[["estimate", "n"]].values.tolist() == [[0, 0]]


def _repeated():
    return pd.DataFrame({
        "subject_id": ["A"] * 6 + ["B"],
        "time_days": [0.25, 0.25, 0.75, 0.75, 0.5, 2.1, 0.25],
        "record": ["Liao score", "SpO2", "Liao score", "SpO2", "CRP", "PaO2/FiO2", "Liao score"],
        "value": [9.0, 85.0, 6.0, 91.0, 12.0, 180.0, 3.0],
        "level": ["orange", "on oxygen", "red", "room air", None, None, "yellow"],
        "detail": [None, None, "incomplete assessment", None, None, None, None]})


def test_the_daily_course_gives_the_worst_value_of_each_day_and_keeps_the_input():
    records = _repeated()
    before = records.copy()
    d = pp.daily_worst(records)
    assert records.equals(before)
    assert d[["subject_id", "day"]].values.tolist() == [["A", 0], ["A", 2], ["B", 0]]
    day0 = d.iloc[0]
    # highest score 9 (orange) and worst level red (a single red parameter in the other assessment)
    assert (day0["n_assessments"], day0["liao_max"], day0["liao_level_worst"]) == (2, 9.0, "red")
    assert day0["n_incomplete"] == 1
    assert (day0["spo2_min_pct"], day0["spo2_min_on_oxygen"]) == (85.0, True)
    assert day0["crp_max_mg_dl"] == 12.0 and pd.isna(day0["pf_min_mmhg"])
    day2 = d.iloc[1]
    assert day2["n_assessments"] == 0 and pd.isna(day2["liao_max"]) and day2["pf_min_mmhg"] == 180.0
    cells = pt.daily_table(d)
    assert cells.iloc[0].tolist() == ["0", "2", "9 (red; 1 incomplete)", "85 (on oxygen)", "12.0", "–"]
    assert cells.iloc[1].tolist() == ["2", "0", "–", "–", "–", "180"]


def test_the_events_listing_has_every_event_and_no_repeated_measure(fixture_cut):
    records = pp.profile_records(fixture_cut, ["S02"])
    events = pt.events_listing(records, pp.REPEATED_MEASURES)
    assert events["Record"].tolist() == ["Admission", "Infusion", "RT-PCR", "Adverse event", "Death"]
    assert list(events.columns) == ["Day", "Record", "Result"]
    assert len(events) + len(pp.daily_worst(records)) > 0
    kept = records[~records["record"].isin(pp.REPEATED_MEASURES)]
    assert len(events) == len(kept)


def test_the_listing_of_every_record_names_each_row_s_subject_and_never_merges_two_subjects():
    records = pd.DataFrame({"subject_id": ["A", "A", "A", "B"], "time_days": [0.25, 0.25, 0.5, 0.25],
                            "end_days": float("nan"), "record": ["Liao score", "SpO2", "CRP", "SpO2"],
                            "value": [9.0, 85.0, 12.0, 88.0], "unit": ["points", "%", "mg/dL", "%"],
                            "level": ["orange", "on oxygen", None, "room air"], "detail": None})
    records = records.iloc[[0, 1, 2, 3]]
    listing = pt.records_listing(records, subject=True)
    assert list(listing.columns) == ["Subject", "Day", "Time", "Record", "Result"]
    assert listing.values.tolist() == [
        ["A", "0", "06:00", "Vital signs", "Liao score 9 (orange); SpO2 85 % (on oxygen)"],
        ["A", "0", "12:00", "CRP", "12.0 mg/dL"],
        ["B", "0", "06:00", "Vital signs", "SpO2 88 % (room air)"]]
    # the same B reading right after A's assessment of the same time is not merged into A's row
    same_time = pt.records_listing(records.iloc[[0, 1, 3]], subject=True)
    assert same_time["Subject"].tolist() == ["A", "B"]


def test_beyond_forty_codes_the_note_counts_the_subjects_not_profiled_and_points_to_the_table():
    n = pt.CODES_NAMED + 3
    subjects = pd.DataFrame({"subject_id": [f"S{i:03d}" for i in range(n)], "treated": True,
                             "died_on": pd.Timestamp("2020-08-10")})
    sel = pp.select_subjects(subjects, _aes().iloc[:0], max_subjects=2)
    note = [x for x in pt.selection_notes(sel, "default", 2) if "not profiled" in x][0]
    assert note.startswith(f"{n - 2} more subjects selected but not profiled")
    assert "in the table of the subjects selected for a profile" in note and "S010" not in note
    few = [x for x in pt.selection_notes(pp.select_subjects(subjects.iloc[:5], _aes().iloc[:0], max_subjects=2),
                                         "default", 2) if "not profiled" in x][0]
    assert few.endswith("S002, S003 and S004. To see them, give their codes in the parameter subjects, "
                        "or raise max_subjects.")


def test_every_panel_of_a_profile_shares_one_day_axis_and_the_footnote_is_under_it(fixture_cut):
    import matplotlib.pyplot as plt

    from msc_analysis.report import profile_plots

    note = "Population: treated (n = 1). " + "word " * 80
    fig = profile_plots.profile_figure(pp.profile_records(fixture_cut, ["S02"]), "Figure 11.1 S02", "", note)
    try:
        limits = {ax.get_xlim() for ax in fig.axes}
        assert len(limits) == 1 and min(limits)[0] < -2 and min(limits)[1] > 10  # admission day -2, death day 10
        fig.canvas.draw()
        labelled = [any(t.get_visible() and t.get_text() for t in ax.get_xticklabels()) for ax in fig.axes]
        assert labelled == [False, False, False, False, True]  # the days are written once, under the last panel
        footnote = [t for t in fig.texts if t.get_text().startswith("Population")][0]
        assert footnote.get_text().count("\n") >= 1  # wrapped across the figure, not cut
        assert footnote.get_text().replace("\n", " ").split() == note.split()
    finally:
        plt.close(fig)
