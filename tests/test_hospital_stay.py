"""Days of hospitalisation: statuses, inpatient days, hospital-free days, discharge alive."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import hospital_stay as hs
from msc_analysis.report.results import result_rows

from .conftest import ROOT

INFUSED = pd.Timestamp("2020-08-01")
CUTOFF = "2020-12-30"


def _day(d):
    return pd.NaT if d is None else INFUSED + pd.Timedelta(days=d)


def _subjects(rows, treated=True):
    """rows: (id, admitted, discharged, died, last known alive) as days since the infusion."""
    return pd.DataFrame([{"subject_id": r[0], "arm": "MSC", "treated": treated, "infused_on": INFUSED,
                          "admitted_on": _day(r[1]), "discharged_on": _day(r[2]), "died_on": _day(r[3]),
                          "last_known_alive_on": _day(r[4])} for r in rows])


ROWS = [
    ("A", -2, 10, None, 60),     # discharged day 10, followed to day 60
    ("B", -1, None, 8, 7),       # died in hospital on day 8
    ("C", -3, None, None, 20),   # still in hospital, last seen day 20
    ("D", -1, 12, 30, 29),       # discharged day 12, died after discharge on day 30
    ("E", 0, 15, None, 40),      # discharged day 15, followed to day 40 only
    ("F", -5, 70, None, 80),     # discharged alive after day 60
]


@pytest.fixture
def course():
    return hs.hospital_course(_subjects(ROWS), CUTOFF).set_index("subject_id")


def test_hospital_status_of_every_treated_subject(course):
    assert course["hospital_status"].tolist() == ["discharged alive", "died in hospital", "in hospital at the cutoff",
                                                  "discharged alive", "discharged alive", "discharged alive"]


def test_inpatient_days_from_admission_and_from_infusion(course):
    assert course.loc["A", ["inpatient_days_from_admission", "inpatient_days_from_infusion"]].tolist() == [12, 10]
    assert course.loc["B", ["inpatient_days_from_admission", "inpatient_days_from_infusion"]].tolist() == [9, 8]
    # still in hospital: days so far, to the last date known alive
    assert course.loc["C", ["inpatient_days_from_admission", "inpatient_days_from_infusion"]].tolist() == [23, 20]


def test_deaths_in_hospital_and_those_still_in_hospital_are_reported_beside_the_discharged(course):
    summary = hs.inpatient_days_summary(course.reset_index())
    admission = summary[summary["counted_from"] == "admission"].set_index("hospital_status")
    assert admission["n"].to_dict() == {"discharged alive": 4, "died in hospital": 1, "in hospital at the cutoff": 1}
    # discharged: 12 (A), 13 (D), 15 (E), 75 (F) -> median 14
    assert admission.loc["discharged alive", "median_days"] == 14
    assert admission.loc["died in hospital", "median_days"] == 9


def test_hospital_free_days_deaths_score_zero_and_unknowns_are_missing(course):
    hfd = course["hospital_free_days"]
    assert hfd["A"] == 50                    # 60 - 10, alive on day 60
    assert hfd["B"] == 0 and hfd["D"] == 0   # died by day 60, in hospital or after discharge
    assert np.isnan(hfd["C"])                # in hospital, followed to day 20 only: not yet known
    # E: alive at day 40, day 60 long before the cutoff: lost to follow-up, said as such
    assert np.isnan(hfd["E"])
    assert course.loc["E", "hospital_free_days_status"] == "lost to follow-up (last known alive day 40)"
    assert course.loc["C", "hospital_free_days_status"] == "lost to follow-up (last known alive day 20)"
    assert hfd["F"] == 0                     # discharged on day 70: in hospital through day 60


def test_a_stay_reaching_day_60_scores_zero_and_a_death_after_day_60_does_not():
    course = hs.hospital_course(_subjects([("G", 0, None, None, 65), ("H", 0, 20, 75, 74)]), CUTOFF)
    assert course["hospital_free_days"].tolist() == [0, 40]


def test_discharge_alive_cumulative_incidence_with_death_in_hospital_competing(course):
    # times: A 10 (discharge), B 8 (death), C 20 (censored), D 12, E 15, F 70 (discharges)
    # day 8: 6 at risk, death -> S = 5/6; day 10: 5 at risk -> F = 5/6 * 1/5 = 1/6
    # day 12: 4 at risk -> F = 1/6 + (4/6) * 1/4 = 2/6; day 15: 3 at risk -> F = 3/6; day 20 censored
    at = hs.discharge_at_days(course.reset_index(), (9, 28)).set_index(["outcome", "time_days"])
    assert at.loc[("died in hospital", 9), "cumulative_incidence_prop"] == pytest.approx(1 / 6)
    assert at.loc[("discharged alive", 28), "cumulative_incidence_prop"] == pytest.approx(0.5)
    assert at.loc[("discharged alive", 28), "n_at_risk"] == 1  # F, still in hospital until day 70


def test_the_observed_median_stay_of_the_discharged_is_a_secondary_row_with_its_iqr(course):
    rows = result_rows("hospital_stay", hs.headline_measures(course.reset_index()))
    stay = rows[rows["measure"] == "inpatient_days_discharged_median"].iloc[0]
    # 12, 13, 15, 75: Q1 = 12.75, Q3 = 30 (linear interpolation)
    assert (stay["estimate"], stay["lower"], stay["upper"], stay["n"], stay["interval"]) == (14, 12.75, 30, 4, "iqr")
    assert stay["method"].startswith("secondary") and "1 died in hospital" in stay["method"]
    assert rows.loc[rows["measure"] == "discharged_alive_prop", "day"].tolist() == [28, 60]
    counts = rows[rows["measure"] == "subjects"].set_index("group")["estimate"].to_dict()
    assert counts == {"discharged alive": 4, "died in hospital": 1, "in hospital at the cutoff": 1}


def test_days_of_hospitalisation_headline_is_the_aalen_johansen_median_to_discharge_alive(course):
    # From admission: A 12 (disch), B 9 (death), C 23 (censored), D 13, E 15, F 75 (disch).
    # 9: 6 at risk, death -> S = 5/6; 12: 5 at risk -> F = 1/6; 13: 4 at risk -> F = 1/6 + 4/6 * 1/4 = 2/6;
    # 15: 3 at risk -> F = 3/6 = 0.5 exactly, and it stays 0.5 until day 75 (C censored at 23, F
    # discharged at 75: F = 1): R's rule gives the midpoint (15 + 75) / 2 = 45.
    rows = result_rows("hospital_stay", hs.headline_measures(course.reset_index())).set_index("measure")
    head = rows.loc["inpatient_days_median"]
    assert (head["estimate"], head["n"], head["group"], head["interval"]) == (45, 6, "all", "ci95")
    assert "Aalen-Johansen" in head["method"] and "1 died in hospital, 1 still in hospital" in head["method"]
    # from the infusion: 10, 8 (death), 20 (censored), 12, 15, 70: the same steps, midpoint (15 + 70) / 2
    assert rows.loc["inpatient_days_from_infusion_median", "estimate"] == 42.5


def test_a_median_to_discharge_alive_not_reached_when_half_die_in_hospital():
    # 2 discharged alive (days 10, 12), 3 died in hospital: F never reaches 0.5 (at most 2/5)
    rows = [("A", -1, 10, None, 60), ("B", -1, 12, None, 60), ("C", -1, None, 5, 4), ("D", -1, None, 6, 5),
            ("E", -1, None, 7, 6)]
    t = hs.time_to_discharge(hs.hospital_course(_subjects(rows), CUTOFF)).set_index("counted_from")
    assert t.loc["admission", "median_days"] == np.inf and t.loc["admission", "n_died_in_hospital"] == 3
    # while the median of the completed stays reads as if all was well: 11 + 1 = 12 days
    course = hs.hospital_course(_subjects(rows), CUTOFF)
    secondary = hs.headline_measures(course).set_index("measure").loc["inpatient_days_discharged_median", "estimate"]
    assert secondary == 12


def test_median_days_to_discharge_alive_and_its_interval_match_r_at_the_demo_cuts():
    """Reference: R 4 survival 3.5.3, survfit(Surv(time, factor(event, 0:2)) ~ 1, conf.type = "log-log"),
    the first time pstate, upper and lower of state 1 reach 0.5 (survival:::findq rule); R's own
    quantile() refuses multi-state fits. Inputs: hospital_course() of each demo cut."""
    from msc_analysis import load_cut

    expected = {"cut-2020-09-15": {"admission": (19, 10, np.inf), "infusion": (17, 9, 24)},
                "cut-2020-10-30": {"admission": (21, 17, np.inf), "infusion": (19, 15, np.inf)},
                "cut-2020-12-30": {"admission": (21, 18, 36), "infusion": (19, 16, 31)}}
    for name, want in expected.items():
        cut = load_cut(ROOT / "data" / "cuts" / name)
        t = hs.time_to_discharge(hs.hospital_course(cut.subjects, cut.cutoff_date)).set_index("counted_from")
        for origin, values in want.items():
            assert tuple(t.loc[origin, ["median_days", "ci95_lower", "ci95_upper"]]) == values, (name, origin)


def test_hospital_free_days_headline_counts_the_subjects_evaluable_by_calendar():
    # infused on day 0 (A-D) or day 30 (E, F); cutoff on day 70: A-D evaluable by calendar at day 60
    rows = [("A", -1, 10, None, 65),     # alive, followed: 50
            ("B", -1, 20, None, 62),     # alive, followed: 40
            ("C", -1, None, 5, 4),       # died day 5: 0
            ("D", -1, 10, None, 30),     # lost to follow-up (last known alive day 30): left out
            ("E", -1, None, 8, 7),       # infused day 30, died on its day 8: known, but not evaluable by calendar
            ("F", -1, 5, None, 35)]      # infused day 30, known alive to its day 35 (< 60): not yet reached
    s = _subjects(rows)
    s.loc[s["subject_id"].isin(["E", "F"]), ["infused_on", "admitted_on", "discharged_on", "died_on",
                                           "last_known_alive_on"]] += pd.Timedelta(days=30)
    course = hs.hospital_course(s, INFUSED + pd.Timedelta(days=70))
    summary = hs.hospital_free_days_summary(course).set_index("analysis")
    head, known = summary.loc["evaluable by calendar"], summary.loc["known so far"]
    assert (head["n_subjects"], head["n"], head["n_died_scored_0"], head["n_lost_to_follow_up"]) == (4, 3, 1, 1)
    assert (head["median_days"], head["q1_days"], head["q3_days"]) == (40, 20, 45)  # 0, 40, 50
    assert (known["n_subjects"], known["n"], known["n_died_scored_0"], known["n_not_yet_reached"]) == (6, 4, 2, 1)
    assert known["median_days"] == 20  # 0, 0, 40, 50
    rows = result_rows("hospital_stay", hs.headline_measures(course)).set_index("measure")
    assert (rows.loc["hospital_free_days_median", "estimate"], rows.loc["hospital_free_days_median", "n"]) == (40, 3)
    assert "1 of them lost to follow-up" in rows.loc["hospital_free_days_median", "method"]
    assert (rows.loc["hospital_free_days_known_median", "estimate"],
            rows.loc["hospital_free_days_known_median", "n"]) == (20, 4)
    assert rows.loc["hospital_free_days_known_median", "method"].startswith("secondary (known so far")


def test_hospital_free_days_at_the_october_cut_read_44_among_the_8_evaluable_and_0_known_so_far():
    from msc_analysis import load_cut

    cut = load_cut(ROOT / "data" / "cuts" / "cut-2020-10-30")
    rows = result_rows("hospital_stay", hs.headline_measures(hs.hospital_course(cut.subjects, cut.cutoff_date)))
    rows = rows.set_index("measure")
    # evaluable by calendar (infused by 2020-08-31): 45, 43, 53, 53, 36, 36, 0 (died day 26), 47
    assert tuple(rows.loc["hospital_free_days_median", ["estimate", "lower", "upper", "n"]]) == (44, 36, 48.5, 8)
    assert tuple(rows.loc["hospital_free_days_known_median", ["estimate", "n"]]) == (0, 15)


def test_missing_admission_date_is_counted_not_dropped():
    course = hs.hospital_course(_subjects([("A", None, 10, None, 60), ("B", -2, 6, None, 60)]), CUTOFF)
    assert np.isnan(course["inpatient_days_from_admission"].iloc[0])
    assert course["inpatient_days_from_infusion"].tolist() == [10, 6]
    summary = hs.inpatient_days_summary(course)
    row = summary[(summary["hospital_status"] == "discharged alive") & (summary["counted_from"] == "admission")]
    assert row[["n", "n_missing", "median_days"]].to_numpy().tolist() == [[2, 1, 8]]


def test_inputs_are_not_modified():
    subjects = _subjects(ROWS)
    before = subjects.copy()
    course = hs.hospital_course(subjects, CUTOFF)
    frozen = course.copy()
    hs.headline_measures(course)
    hs.discharge_curves(course)
    pd.testing.assert_frame_equal(subjects, before)
    pd.testing.assert_frame_equal(course, frozen)


def test_no_treated_subjects_gives_empty_tables():
    course = hs.hospital_course(_subjects(ROWS, treated=False), CUTOFF)
    assert len(course) == 0
    assert hs.status_counts(course)["n_subjects"].tolist() == [0, 0, 0]
    rows = result_rows("hospital_stay", hs.headline_measures(course))
    assert rows.loc[rows["measure"] == "discharged_alive_prop", "estimate"].isna().all()


def test_fixture_cut(fixture_cut):
    # S01 admitted 07-30, infused 08-02, discharged 08-20 -> 21 days from admission, 18 from infusion
    # S02 admitted 08-03, infused 08-05, died in hospital 08-15 -> day 10, hospital-free days 0
    course = hs.hospital_course(fixture_cut.subjects, fixture_cut.cutoff_date).set_index("subject_id")
    assert course.loc["S01", ["inpatient_days_from_admission", "inpatient_days_from_infusion"]].tolist() == [21, 18]
    assert course.loc["S02", ["hospital_status", "end_day", "hospital_free_days"]].tolist() == [
        "died in hospital", 10, 0]
    assert np.isnan(course.loc["S01", "hospital_free_days"])  # last seen day 54: day 60 not reached


def test_risk_table_rows_add_up_to_the_treated_subjects_on_every_day(course):
    risk = hs.risk_table(course.reset_index(), (0, 8, 9, 10, 28, 60, 90))
    parts = risk[["n_at_risk", "events_before_day", "competing_before_day", "censored_before_day"]].sum(axis=1)
    assert (parts == 6).all() and (risk["n"] == 6).all()
    day28 = risk.set_index("day").loc[28.0]
    # at risk on day 28: F (in hospital to day 70); discharged before: A, D, E; died: B; censored: C (day 20)
    assert day28[["n_at_risk", "events_before_day", "competing_before_day", "censored_before_day"]].tolist() == [
        1, 3, 1, 1]
