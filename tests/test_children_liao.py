"""Issue 18: children are eligible, the Liao (NEWS-C) score is an adult score.

Hand-made data; every expected number is computed by hand in the comments from the NEWS-C bands
(docs/reference/liao-2020-score.md).
"""
import shutil

import pandas as pd
import pytest

from msc_analysis import definitions, load_cut
from msc_analysis.derive.liao_score import (adult_score_min_age, children_scored_adult, liao_score,
                                            without_children)
from msc_analysis.derive.populations import screening_liao, site_level_agreement
from msc_analysis.endpoints import liao_improvement as liao
from msc_analysis.endpoints import overview
from msc_analysis.io.problems import CutValidationError
from msc_analysis.report import children_tables
from msc_analysis.report import liao_estimand_tables as le
from msc_analysis.report.results import result_rows

from .conftest import FIXTURE_CUT


def _copy_fixture(tmp_path, edit_vitals=None, edit_subjects=None):
    cut = tmp_path / "cut"
    shutil.copytree(FIXTURE_CUT, cut)
    for name, edit in (("vitals.csv", edit_vitals), ("subjects.csv", edit_subjects)):
        if edit is not None:
            frame = pd.read_csv(cut / name, dtype=str, keep_default_na=False)
            edit(frame).to_csv(cut / name, index=False)
    return cut


def _site_levels(levels: dict):
    def edit(vitals):
        vitals["liao_level_site"] = ""
        for (subject, measured_at), level in levels.items():
            vitals.loc[(vitals["subject_id"] == subject) & (vitals["measured_at"] == measured_at),
                       "liao_level_site"] = level
        return vitals
    return edit


# ------------------------------------------------------------------------------- the age limit

def test_adult_score_age_limit_is_16_years_in_the_definitions():
    assert definitions.liao_adult_score() == {"adult_min_age_years": 16, "exclude_children": False}
    assert adult_score_min_age() == 16.0


def test_child_is_younger_than_the_limit_and_16_is_an_adult():
    subjects = pd.DataFrame({"subject_id": ["A", "B", "C", "D"], "age_years": [15.9, 16.0, 4.0, None]})
    assert children_scored_adult(subjects)["subject_id"].tolist() == ["A", "C"]
    assert without_children(subjects)["subject_id"].tolist() == ["B", "D"]  # missing age is not a child
    assert children_scored_adult(subjects, 18)["subject_id"].tolist() == ["A", "B", "C"]


def test_children_functions_do_not_mutate_their_input():
    subjects = pd.DataFrame({"subject_id": ["A", "B"], "age_years": [8.0, 40.0]})
    before = subjects.copy()
    children_scored_adult(subjects)
    without_children(subjects)
    overview.age_distribution(subjects.assign(screened=True, eligible=True, enrolled=True, treated=True))
    pd.testing.assert_frame_equal(subjects, before)


def test_bad_age_limit_is_refused():
    with pytest.raises(ValueError, match="min_age_years"):
        adult_score_min_age(0)


def test_healthy_five_year_old_is_orange_by_the_adult_bands():
    # RR 26 -> 3 (>=25), SpO2 97 -> 0, air -> 0, 37.0 C -> 0, SBP 100 -> 2 (91-100), HR 105 -> 1 (91-110),
    # alert -> 0, age 5 -> 0: total 6 -> orange (5-6); a normal child meets inclusion 3 by the adult score.
    vitals = pd.DataFrame({"subject_id": ["K"], "measured_at": pd.to_datetime(["2020-08-01 08:00"]),
                           "resp_rate_per_min": [26.0], "spo2_pct": [97.0], "on_oxygen": [False],
                           "temp_c": [37.0], "sbp_mmhg": [100.0], "heart_rate_bpm": [105.0],
                           "consciousness": ["A"]})
    out = liao_score(vitals, pd.DataFrame({"subject_id": ["K"], "age_years": [5]}))
    assert out.loc[0, "liao_total"] == 6
    assert out.loc[0, "liao_level"] == "orange"


def test_exclude_children_defaults_to_the_definitions_and_refuses_other_values():
    assert liao.exclude_children_setting() is False
    assert liao.exclude_children_setting(True) is True
    with pytest.raises(ValueError, match="exclude_children"):
        liao.exclude_children_setting("yes")


# --------------------------------------------------------------------- results rows and tables

def test_children_count_and_rows_without_children_are_labelled_results():
    p = pd.DataFrame({"horizon_day": [28], "n_evaluable": [4], "n_died": [1], "n_improved": [3],
                      "improved_prop": [0.75], "ci95_lower": [0.194], "ci95_upper": [0.994],
                      "not_estimable_reason": [""]})
    cif = pd.DataFrame({"time_days": [28.0], "cumulative_incidence_prop": [0.5], "ci95_lower": [0.2],
                        "ci95_upper": [0.7], "not_estimable_reason": [""]})
    rows = liao.children_measures(1, 5, 16.0, adults_proportions=p, adults_stable_incidence=cif, n_adults=4)
    assert rows["measure"].tolist() == ["children_scored_adult_bands", "improved_prop_adults_only",
                                        "stable_or_discharged_cumulative_incidence_prop_adults_only"]
    assert rows.loc[0, ["estimate", "n"]].tolist() == [1, 5]
    assert rows.loc[1, "n"] == 4 and rows.loc[2, "n"] == 4
    assert all(m.startswith("sensitivity, without children") for m in rows["method"][1:])
    out = result_rows("liao_score", rows)  # every measure is defined in measures.csv
    assert out["estimate"].tolist() == [1.0, 0.75, 0.5]


def test_children_note_says_how_many_children_a_result_includes():
    assert le.children_note(0, 31, 16.0).startswith("Children: 0 of the 31 treated subjects are younger than 16")
    assert "included here" in le.children_note(2, 31, 16.0)
    assert "left out" in le.children_note(2, 31, 16.0, excluded=True)


# --------------------------------------------------------------- the site-assessed level (loader)

def test_cut_without_site_level_loads_as_before(fixture_cut):
    s = fixture_cut.subjects.set_index("subject_id")
    assert (s["liao_level_source_at_screening"] == "computed").all()
    assert s["liao_level_site_at_screening"].isna().all()
    # S05: RR 18 -> 0, SpO2 95 -> 1, the rest 0, age 60 -> 0: total 1, yellow, not eligible
    assert s.loc["S05", "liao_level_at_screening"] == "yellow" and not s.loc["S05", "eligible"]
    assert s["eligible"].tolist() == [True, True, False, False, False, True]  # S07: screened after the cutoff


def test_site_level_validates_and_is_used_for_eligibility(tmp_path):
    cut = load_cut(_copy_fixture(tmp_path, edit_vitals=_site_levels({
        ("S05", "2020-08-12T12:00"): "Orange",  # computed yellow (total 1); the site says orange
        ("S01", "2020-08-01T08:00"): "yellow",  # computed red (total 12); the site says yellow
        ("S02", "2020-08-04T09:30"): "red"})))  # computed red: agrees
    s = cut.subjects.set_index("subject_id")
    assert s.loc["S05", "liao_level_at_screening"] == "orange"
    assert s.loc["S05", "liao_level_computed_at_screening"] == "yellow"
    assert s.loc["S05", "liao_level_source_at_screening"] == "site"
    assert bool(s.loc["S05", "eligible"])  # all other criteria met
    assert s.loc["S01", "liao_level_at_screening"] == "yellow" and not s.loc["S01", "eligible"]
    assert s.loc["S03", "liao_level_source_at_screening"] == "computed"
    agreement = site_level_agreement(cut.subjects)
    assert agreement.values.tolist() == [["yellow", "orange", 1, False, False],
                                         ["red", "yellow", 1, False, False],
                                         ["red", "red", 1, True, True]]
    assert le.site_agreement_table(agreement)["Subjects"].tolist() == ["1", "1", "1"]


def test_unknown_site_level_is_refused_by_the_loader(tmp_path):
    with pytest.raises(CutValidationError, match="liao_level_site"):
        load_cut(_copy_fixture(tmp_path, edit_vitals=_site_levels({("S05", "2020-08-12T12:00"): "purple"})))


def test_site_level_alone_counts_as_a_screening_assessment():
    subjects = pd.DataFrame({"subject_id": ["K"], "screened_on": pd.to_datetime(["2020-08-01"]), "age_years": [7]})
    vitals = pd.DataFrame({"subject_id": ["K"], "measured_at": pd.to_datetime(["2020-08-01 09:00"]),
                           "resp_rate_per_min": [None], "spo2_pct": [None], "on_oxygen": pd.array([None], "boolean"),
                           "temp_c": [None], "sbp_mmhg": [None], "heart_rate_bpm": [None],
                           "consciousness": [None], "liao_level_site": ["red"]})
    out = screening_liao(subjects, vitals.astype({c: float for c in ("resp_rate_per_min", "spo2_pct", "temp_c",
                                                                     "sbp_mmhg", "heart_rate_bpm")}))
    assert out.loc[0, "liao_level_at_screening"] == "red"
    assert pd.isna(out.loc[0, "liao_level_computed_at_screening"])
    assert pd.isna(out.loc[0, "liao_total_at_screening"])


# ------------------------------------------------------------------------------------ overview

def test_overview_counts_children_and_those_eligible_by_the_adult_score(tmp_path):
    # S06 made 6 years old: RR 22 -> 2, SpO2 93 -> 2, oxygen -> 2, 37.5 -> 0, SBP 118 -> 0, HR 95 -> 1,
    # alert -> 0: total 7, red by the adult bands -> eligible (enrolled, not treated by the cutoff).
    def six(subjects):
        subjects.loc[subjects["subject_id"] == "S06", "age_years"] = "6"
        return subjects
    cut = load_cut(_copy_fixture(tmp_path, edit_subjects=six))
    ages = overview.age_distribution(cut.subjects)
    assert ages["age_band"].tolist() == ["children (under 16)", "16 to 64", "65 or more", "age not recorded"]
    assert ages["n_screened"].tolist() == [1, 4, 1, 0]  # S07 screened after the cutoff: not in the cut
    assert ages["n_eligible"].tolist() == [1, 1, 1, 0]
    levels = overview.eligibility_by_liao_level(cut.subjects).set_index("liao_level")
    assert levels.loc["red", ["n_children_screened", "n_children_eligible",
                              "n_children_eligible_by_adult_score"]].tolist() == [1, 1, 1]
    assert levels["n_screened"].sum() == 6
    measures = overview.children_overview_measures(cut.subjects).set_index("measure")
    assert measures["estimate"].tolist() == [1, 0, 1]
    assert "1 screened, 1 eligible, 1 of them" in children_tables.children_overview_note(levels, 16)
    # the same child with a red level assessed at the site did not qualify by the adult score
    cut = load_cut(_copy_fixture(tmp_path / "b", edit_subjects=six,
                                 edit_vitals=_site_levels({("S06", "2020-09-01T07:00"): "red"})))
    levels = overview.eligibility_by_liao_level(cut.subjects).set_index("liao_level")
    assert levels.loc["red", ["n_children_eligible", "n_children_eligible_by_adult_score"]].tolist() == [1, 0]
