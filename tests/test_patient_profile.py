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
    assert "Records of subject S01" in text and "Records of subject S99" not in text
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
