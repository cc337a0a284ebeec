"""Sensitivity analyses of pages 01 and 02 (issue 13, item 9), each on a hand-computed case.

Overall survival case (cutoff 2020-12-30, everyone infused 2020-10-01, so day 60 has passed for all):

====  =====================================  ==========  ==============
 id   follow-up                              dose        status at cutoff
====  =====================================  ==========  ==============
 A    died day 10                            within      died
 B    last known alive day 20                within      lost to follow-up
 C    last known alive on the cutoff, day 90 outside     complete
 D    last known alive day 70                within      complete
 E    died day 40                            no record   died
====  =====================================  ==========  ==============

Headline Kaplan-Meier: day 10: 5 at risk, 1 death, S = 4/5; B censored on day 20; day 40: 3 at risk
(E, D, C), 1 death, S = 4/5 x 2/3 = 8/15. So S(30) = 0.8 and S(60) = 8/15.
Lost counted as deaths (B dies on day 20): day 20: 4 at risk, S = 4/5 x 3/4 = 0.6; day 40: 3 at risk,
S = 0.6 x 2/3 = 0.4. So S(30) = 0.6, S(60) = 0.4.
Per protocol (A, B, D): day 10: 3 at risk, S = 2/3; nothing else happens. S(30) = S(60) = 2/3, n = 3.
"""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import overall_survival as os_
from msc_analysis.endpoints import pcr_negativity as pn
from msc_analysis.endpoints import pcr_sensitivity as ps
from msc_analysis.endpoints import survival_sensitivity as ss
from msc_analysis.report import survival_tables
from msc_analysis.report.results import result_rows

CUTOFF = "2020-12-30"


def _subjects():
    d = pd.to_datetime
    return pd.DataFrame({
        "subject_id": ["A", "B", "C", "D", "E"], "arm": "MSC", "treated": True,
        "infused_on": d(["2020-10-01"] * 5),
        "died_on": d(["2020-10-11", None, None, None, "2020-11-10"]),
        "discharged_on": pd.NaT,
        "last_known_alive_on": d(["2020-10-10", "2020-10-21", "2020-12-30", "2020-12-10", "2020-11-09"])})


def _doses():
    return pd.DataFrame({"subject_id": ["A", "B", "C", "D"], "within_tolerance": [True, True, False, True],
                         "tolerance_pct": 10.0})


@pytest.fixture
def at():
    times = os_.survival_times(_subjects(), CUTOFF)
    return ss.sensitivity_at_days(times, _doses(), (30, 60)).set_index(["analysis", "day"])


def _loglog_ci(s, var_log_s):
    """Greenwood variance of log S on the log-log scale (as R survfit conf.type = "log-log")."""
    z = 1.959963984540054  # qnorm(0.975)
    se = np.sqrt(var_log_s) / abs(np.log(s))
    centre = np.log(-np.log(s))
    return np.exp(-np.exp(centre + z * se)), np.exp(-np.exp(centre - z * se))


def test_the_hand_made_case_has_one_subject_lost_to_follow_up_at_the_cutoff():
    times = os_.survival_times(_subjects(), CUTOFF)
    assert times["follow_up_status"].astype(str).tolist() == [
        "died", "lost to follow-up", "alive, day-60 follow-up complete", "alive, day-60 follow-up complete", "died"]
    assert times["time_days"].tolist() == [10, 20, 90, 70, 40]


def test_headline_censors_the_lost_subject_at_the_last_contact(at):
    assert at.loc[("headline", 30), "survival_prop"] == pytest.approx(0.8)
    assert at.loc[("headline", 60), "survival_prop"] == pytest.approx(8 / 15)
    lower, upper = _loglog_ci(0.8, 1 / (5 * 4))  # one death among 5 at risk: 0.204 to 0.969
    assert at.loc[("headline", 30), ["ci95_lower", "ci95_upper"]].tolist() == pytest.approx([lower, upper], abs=1e-9)


def test_a_subject_lost_to_follow_up_counts_as_a_death_at_the_last_contact(at):
    assert at.loc[("lost_as_deaths", 30), "survival_prop"] == pytest.approx(0.6)
    assert at.loc[("lost_as_deaths", 60), "survival_prop"] == pytest.approx(0.4)
    assert at.loc[("lost_as_deaths", 30), "n"] == 5 and at.loc[("lost_as_deaths", 30), "n_changed"] == 1
    # Greenwood: deaths on day 10 (5 at risk) and day 20 (4 at risk)
    lower, upper = _loglog_ci(0.6, 1 / (5 * 4) + 1 / (4 * 3))
    assert at.loc[("lost_as_deaths", 30), ["ci95_lower", "ci95_upper"]].tolist() == pytest.approx([lower, upper],
                                                                                                   abs=1e-9)


def test_a_subject_still_in_follow_up_is_not_counted_as_a_death():
    # infused 40 days before the cutoff, last seen on day 5: day 60 is after the cutoff, so "in follow-up"
    s = _subjects().iloc[:1].assign(subject_id="F", died_on=pd.NaT, infused_on=pd.Timestamp("2020-11-20"),
                                    last_known_alive_on=pd.Timestamp("2020-11-25"))
    times = os_.survival_times(s, CUTOFF)
    assert times["follow_up_status"].astype(str).tolist() == ["in follow-up"]
    assert ss.lost_as_deaths(times)["event"].tolist() == [0]


def test_per_protocol_keeps_only_doses_within_tolerance_and_drops_subjects_without_a_dose(at):
    times = os_.survival_times(_subjects(), CUTOFF)
    assert ss.per_protocol(times, _doses())["subject_id"].tolist() == ["A", "B", "D"]
    assert at.loc[("per_protocol", 30), "survival_prop"] == pytest.approx(2 / 3)
    assert at.loc[("per_protocol", 60), "survival_prop"] == pytest.approx(2 / 3)
    assert at.loc[("per_protocol", 60), ["n", "n_at_risk", "n_changed"]].tolist() == [3, 1, 2]


def test_an_empty_per_protocol_set_says_why_it_is_not_estimable():
    times = os_.survival_times(_subjects(), CUTOFF)
    at = ss.sensitivity_at_days(times, _doses().assign(within_tolerance=False), (30,))
    row = at[at["analysis"] == "per_protocol"].iloc[0]
    assert np.isnan(row["survival_prop"]) and row["not_estimable_reason"] == "no subject in this analysis"


def test_sensitivity_rows_are_results_measures_with_their_own_n(at):
    rows = result_rows("overall_survival", ss.sensitivity_measures(at.reset_index()))
    assert rows["measure"].tolist() == ["survival_prop_lost_as_deaths"] * 2 + ["survival_prop_per_protocol"] * 2
    assert rows["n"].tolist() == [5, 5, 3, 3]
    assert rows["estimate"].tolist() == pytest.approx([0.6, 0.4, 2 / 3, 2 / 3])
    assert "counted as deaths" in rows["method"].iloc[0] and "per protocol" in rows["method"].iloc[2]


def test_sensitivity_table_names_each_analysis_and_how_many_subjects_it_touched(at):
    cells = survival_tables.sensitivity_cells(at.reset_index())
    assert cells.columns.tolist() == ["Analysis", "Day", "Subjects", "At risk on that day", "Survival (95% CI)"]
    assert cells["Analysis"].iloc[2].endswith("(1 subject lost to follow-up)")
    assert cells["Analysis"].iloc[4] == "Sensitivity: per protocol, dose within 10% of the target (2 subjects left out)"
    assert cells["Survival (95% CI)"].iloc[5].startswith("66.7% (")


def test_inputs_are_not_modified():
    times = os_.survival_times(_subjects(), CUTOFF)
    frozen, doses = times.copy(), _doses()
    ss.sensitivity_at_days(times, doses)
    pd.testing.assert_frame_equal(times, frozen)
    pd.testing.assert_frame_equal(doses, _doses())


# ------------------------------------------------------------------ RT-PCR: subjects never positive
# A: positive day 0, negative days 3 and 5 -> negative day 3.  B: negative day 0, 4 and 6: never positive
# (excluded by default; included: negative day 4).  C: positive days 0 and 10, died day 12 (competing).
# D: positive days 0 and 7, censored day 7.
# Excluded (n = 3): day 3, 3 at risk, 1 negative -> 1/3, and nothing more by day 28.
# Included (n = 4): day 3, 4 at risk -> 1/4; day 4, 3 at risk -> 1/4 + 3/4 x 1/3 = 1/2.

def _pcr_case():
    subjects = pd.DataFrame({"subject_id": list("ABCD"), "arm": "MSC", "treated": True,
                             "infused_on": pd.Timestamp("2020-08-01"),
                             "died_on": pd.to_datetime([None, None, "2020-08-13", None])})
    rows = [("A", 0, "positive"), ("A", 3, "negative"), ("A", 5, "negative"), ("B", 0, "negative"),
            ("B", 4, "negative"), ("B", 6, "negative"), ("C", 0, "positive"), ("C", 10, "positive"),
            ("D", 0, "positive"), ("D", 7, "positive")]
    return subjects, pd.DataFrame(rows, columns=["subject_id", "days_since_infusion", "result"])


def test_never_positive_subjects_are_included_in_the_sensitivity_analysis_by_default():
    subjects, pcr = _pcr_case()
    headline = pn.headline_measures(pn.negativity_status(subjects, pcr), (28,))
    sens = ps.never_positive_sensitivity(subjects, pcr)
    rows = ps.never_positive_measures(sens, (28,))
    assert headline.iloc[0][["estimate", "n"]].tolist() == pytest.approx([1 / 3, 3])
    assert rows["measure"].tolist() == ["cumulative_incidence_prop_never_positive_included"]
    assert rows.iloc[0][["estimate", "n"]].tolist() == pytest.approx([0.5, 4])
    assert "never positive after the infusion included at risk" in rows["method"].iloc[0]


def test_when_the_page_includes_them_the_sensitivity_analysis_excludes_them():
    subjects, pcr = _pcr_case()
    sens = ps.never_positive_sensitivity(subjects, pcr, never_positive="include")
    assert ps.never_positive_setting(sens) == "exclude"
    rows = result_rows("pcr_negativity", ps.never_positive_measures(sens, (28,)))
    assert rows["measure"].tolist() == ["cumulative_incidence_prop_never_positive_excluded"]
    assert rows.iloc[0][["estimate", "n"]].tolist() == pytest.approx([1 / 3, 3])
    assert "(1 left out)" in rows["method"].iloc[0]


def test_a_bad_never_positive_setting_is_refused():
    subjects, pcr = _pcr_case()
    with pytest.raises(ValueError):
        ps.never_positive_sensitivity(subjects, pcr, never_positive="drop")
