"""Liao (NEWS-C) improvement: score change by visit, colour improvement, sustained low score."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.derive.liao_score import LIAO_LEVELS
from msc_analysis.endpoints import liao_improvement as liao
from msc_analysis.stats.binomial import exact_proportion

from .test_baseline_and_visits import DAY0, subjects



def scored(*rows, age_points=0):
    """rows: (subject, day, hour, total[, incomplete]); the level follows the total bands."""
    def level(total):
        return "green" if total == 0 else "yellow" if total <= 4 else "orange" if total <= 6 else "red"
    return pd.DataFrame({
        "subject_id": [r[0] for r in rows],
        "measured_at": [DAY0 + pd.Timedelta(days=r[1], hours=r[2]) for r in rows],
        "days_since_infusion": pd.array([r[1] for r in rows], dtype="Int64"),
        "liao_total": [r[3] for r in rows],
        "liao_level": pd.Categorical([level(r[3]) for r in rows], categories=LIAO_LEVELS, ordered=True),
        "incomplete": [bool(r[4]) if len(r) > 4 else False for r in rows],
        "n_parameters_missing": [int(bool(r[4])) if len(r) > 4 else 0 for r in rows],
        "age_points": pd.array([age_points] * len(rows), dtype="Int64"),
    })


# --------------------------------------------------------------------------- score change by visit

def test_the_morning_assessment_of_day_0_is_the_baseline_not_the_evening_one():
    # day 0 08:00 total 8 (before the infusion), 20:00 total 11 (fever after it)
    b = liao.liao_by_visit(scored(("A", 0, 8, 8), ("A", 0, 20, 11), ("A", 7, 8, 3)), subjects("A"))
    a = b.set_index("visit")
    assert a.loc["Baseline", "liao_total"] == 8
    assert a.loc["Day 7", "liao_change"] == -5  # 3 - 8
    assert a.loc["Day 7", "level_change"] == -2  # red -> yellow


def test_incomplete_assessments_are_left_out_unless_asked_for():
    s = scored(("A", 0, 8, 8), ("A", 7, 8, 0, True), ("A", 8, 8, 3))
    default = liao.liao_by_visit(s, subjects("A")).set_index("visit")
    assert default.loc["Day 7", "liao_total"] == 3  # the incomplete day-7 row is skipped: day 8 used
    used = liao.liao_by_visit(s, subjects("A"), include_incomplete=True).set_index("visit")
    assert used.loc["Day 7", "liao_total"] == 0 and bool(used.loc["Day 7", "incomplete"])


def test_score_change_summary_and_headline_by_hand():
    # changes at day 7: A 8 -> 2 (-6), B 5 -> 5 (0), C 8 -> 4 (-4): median -4, Q1 -5, Q3 -2
    s = scored(("A", 0, 8, 8), ("A", 7, 8, 2), ("B", 0, 8, 5), ("B", 7, 8, 5), ("C", 0, 8, 8), ("C", 7, 8, 4))
    b = liao.liao_by_visit(s, subjects("A", "B", "C"))
    h = liao.headline_measures(liao.score_change_summary(b), liao.improvement_proportions(
        liao.level_improvement(s, subjects("A", "B", "C")))).set_index(["measure", "day"])
    r = h.loc[("score_change_median", 7)]
    assert (r["estimate"], r["ci95_lower"], r["ci95_upper"], r["n"]) == (-4, -5, -2, 3)
    t = liao.score_change_tests(b).set_index("visit").loc["Day 7"]
    assert t["n_zero"] == 1 and t["n_nonzero"] == 2


def test_level_distribution_holds_every_subject_with_deaths_and_discharges_as_categories():
    s = scored(("A", 0, 8, 8), ("A", 7, 8, 2), ("B", 0, 8, 8), ("C", 0, 8, 8))
    b = liao.liao_by_visit(s, subjects("A", "B", "C", died={"B": 5}, discharged={"C": 4}))
    d = liao.level_distribution(b)
    day7 = d[d["visit"] == "Day 7"].set_index("category")["n_subjects"]
    assert day7["yellow"] == 1 and day7["died"] == 1 and day7["discharged"] == 1 and day7.sum() == 3
    assert d.groupby("visit")["share_prop"].sum().round(12).eq(1).all()


# ------------------------------------------------------------------------------ colour improvement

def improvement_cases():
    s = scored(
        ("A", 0, 8, 8), ("A", 5, 8, 5),                     # red -> orange on day 5: improved by 7
        ("B", 0, 8, 8), ("B", 3, 8, 2),                     # improved day 3, then died day 10
        ("C", 0, 8, 5), ("C", 5, 8, 6), ("C", 20, 8, 5),    # orange throughout: not improved
        ("D", 5, 8, 2),                                     # no baseline assessment
        ("E", 0, 8, 8), ("E", 4, 8, 8),                     # red, followed only 10 days so far
        ("F", 0, 8, 0), ("F", 6, 8, 0),                     # green baseline cannot fall
    )
    subj = subjects("A", "B", "C", "D", "E", "F", died={"B": 10})
    subj.loc[subj["subject_id"] == "E", "last_known_alive_on"] = DAY0 + pd.Timedelta(days=10)
    return s, subj


def test_each_subject_outcome_by_horizon():
    s, subj = improvement_cases()
    out = liao.level_improvement(s, subj, horizons=(7, 14)).set_index(["subject_id", "horizon_day"])["outcome"]
    assert out[("A", 7)] == "improved" and out[("A", 14)] == "improved"
    assert out[("B", 7)] == "improved" and out[("B", 14)] == "died"
    assert out[("C", 14)] == "not improved"
    assert out[("D", 7)] == "no baseline"
    # no cutoff given: the latest date recorded (day 90) stands in, so day 14 of E has passed
    assert out[("E", 7)] == "not improved" and out[("E", 14)] == "lost to follow-up"
    assert out[("F", 14)] == "not improved"


def test_death_counts_as_not_improved_in_the_proportion():
    s, subj = improvement_cases()
    p = liao.improvement_proportions(liao.level_improvement(s, subj, horizons=(7, 14))).set_index("horizon_day")
    # day 7: evaluable A B C E F = 5, improved A B = 2
    assert (p.loc[7, "n_evaluable"], p.loc[7, "n_improved"], p.loc[7, "n_no_baseline"]) == (5, 2, 1)
    # day 14: E lost to follow-up; evaluable A B C F = 4; improved A = 1; B died counts as not improved
    assert (p.loc[14, "n_evaluable"], p.loc[14, "n_improved"], p.loc[14, "n_died"]) == (4, 1, 1)
    assert p.loc[14, "n_lost_to_follow_up"] == 1 and p.loc[14, "improved_prop"] == 0.25
    assert p.loc[14, "n_not_yet_evaluable"] == 0
    ci = exact_proportion(1, 4).iloc[0]
    assert (p.loc[14, "ci95_lower"], p.loc[14, "ci95_upper"]) == (ci["ci95_lower"], ci["ci95_upper"])


def test_a_subject_not_followed_to_a_day_still_to_come_at_the_cutoff_is_not_yet_evaluable():
    s, subj = improvement_cases()  # E known alive to day 10 only
    cutoff = DAY0 + pd.Timedelta(days=12)  # day 14 of E is after the cutoff: its window is open
    out = liao.level_improvement(s, subj, horizons=(14,), cutoff=cutoff).set_index("subject_id")["outcome"]
    assert out["E"] == "not yet evaluable"


def test_a_subject_not_followed_to_a_day_passed_by_the_cutoff_is_lost_to_follow_up():
    s, subj = improvement_cases()
    for cutoff_day in (14, 120):  # on the day itself, and long after it (the final cut)
        out = liao.level_improvement(s, subj, horizons=(14,), cutoff=DAY0 + pd.Timedelta(days=cutoff_day))
        assert out.set_index("subject_id")["outcome"]["E"] == "lost to follow-up"


def test_the_window_of_each_day_is_judged_by_the_subjects_own_infusion_date():
    s, subj = improvement_cases()
    later = subj["subject_id"] == "E"
    subj.loc[later, "infused_on"] += pd.Timedelta(days=10)  # E infused 10 days after the others
    subj.loc[later, "last_known_alive_on"] += pd.Timedelta(days=10)
    s = s.assign(measured_at=s["measured_at"] + pd.to_timedelta(np.where(s["subject_id"] == "E", 10, 0), unit="D"))
    out = liao.level_improvement(s, subj, horizons=(14,), cutoff=DAY0 + pd.Timedelta(days=20))
    assert out.set_index("subject_id")["outcome"]["E"] == "not yet evaluable"  # 20 - 10 = day 10 < 14


def test_lost_to_follow_up_and_not_yet_evaluable_are_both_left_out_of_the_known_so_far_denominator():
    s, subj = improvement_cases()
    early = liao.improvement_proportions(liao.level_improvement(s, subj, horizons=(7, 14),
                                                                cutoff=DAY0 + pd.Timedelta(days=12)),
                                         denominator="known")
    final = liao.improvement_proportions(liao.level_improvement(s, subj, horizons=(7, 14),
                                                                cutoff=DAY0 + pd.Timedelta(days=200)),
                                         denominator="known")
    e, f = early.set_index("horizon_day"), final.set_index("horizon_day")
    # day 14 at a cutoff on day 12: only B's death is known; A C E F alive, day 14 still to come
    assert (e.loc[14, "n_evaluable"], e.loc[14, "n_not_yet_evaluable"], e.loc[14, "n_lost_to_follow_up"]) == (1, 4, 0)
    assert e.loc[14, "improved_prop"] == 0  # the bias of "known so far": deaths count at once
    assert (f.loc[14, "n_evaluable"], f.loc[14, "n_not_yet_evaluable"], f.loc[14, "n_lost_to_follow_up"]) == (4, 0, 1)


def test_horizons_must_be_whole_days():
    s, subj = improvement_cases()
    with pytest.raises(ValueError):
        liao.level_improvement(s, subj, horizons=(0,))


# ---------------------------------------------------------------------------- sustained low score

def sustained(*rows, died=None, discharged=None, age_points=0, **kw):
    ids = sorted({r[0] for r in rows} | set(died or {}) | set(discharged or {}))
    return liao.sustained_low_score(scored(*rows, age_points=age_points),
                                    subjects(*ids, died=died, discharged=discharged), **kw).set_index("subject_id")


def test_a_low_score_held_24_hours_less_clock_drift_is_sustained():
    # day 3 08:40 -> day 4 08:05 is 23 h 25 min: within the 2 h tolerance; event on day 3
    at = [DAY0 + pd.Timedelta(days=3, hours=8, minutes=40), DAY0 + pd.Timedelta(days=4, hours=8, minutes=5)]
    s = scored(("A", 3, 0, 2), ("A", 4, 0, 1)).assign(measured_at=at)
    r = liao.sustained_low_score(s, subjects("A")).iloc[0]
    assert (r["event"], r["time_days"], r["outcome"]) == (1, 3, "sustained low score")
    assert r["run_start_at"] == at[0] and r["run_confirmed_at"] == at[1]
    # without the tolerance the same two assessments are 35 minutes short of 24 h
    r = liao.sustained_low_score(s, subjects("A"), hold_tolerance_hours=0).iloc[0]
    assert r["event"] == 0


def test_a_single_low_assessment_is_not_sustained():
    r = sustained(("A", 0, 8, 8), ("A", 3, 8, 2), ("A", 3, 20, 6), ("A", 5, 8, 6)).loc["A"]
    assert r["event"] == 0 and r["time_days"] == 5  # censored at the last assessment


def test_a_high_score_breaks_the_run_and_the_next_run_counts():
    r = sustained(("A", 2, 8, 2), ("A", 2, 20, 7), ("A", 3, 8, 1), ("A", 4, 8, 2)).loc["A"]
    assert (r["event"], r["time_days"]) == (1, 3)


def test_death_in_hospital_first_is_the_competing_event():
    r = sustained(("A", 1, 8, 8), ("A", 5, 8, 9), died={"A": 6}).loc["A"]
    assert (r["event"], r["time_days"], r["outcome"]) == (2, 6, "died first")


def test_death_after_discharge_is_censored_at_the_last_assessment():
    r = sustained(("A", 1, 8, 8), ("A", 4, 8, 6), died={"A": 20}, discharged={"A": 4}).loc["A"]
    assert (r["event"], r["time_days"]) == (0, 4) and r["discharged_before_event"]


def test_no_assessment_after_the_infusion_is_censored_at_day_0():
    r = sustained(("A", 0, 8, 8)).loc["A"]
    assert (r["event"], r["time_days"]) == (0, 0)


def test_a_run_starting_after_the_horizon_is_censored_at_the_horizon():
    r = sustained(("A", 61, 8, 1), ("A", 62, 9, 1), horizon_days=60).loc["A"]
    assert (r["event"], r["time_days"]) == (0, 60)


def test_incomplete_assessments_neither_break_nor_extend_a_run():
    r = sustained(("A", 2, 8, 2), ("A", 2, 20, 9, True), ("A", 3, 8, 1)).loc["A"]
    assert (r["event"], r["time_days"]) == (1, 2)
    r = sustained(("A", 2, 8, 2), ("A", 2, 20, 9, True), ("A", 3, 8, 1), include_incomplete=True).loc["A"]
    assert r["event"] == 0


def test_age_points_above_the_threshold_make_a_low_score_impossible():
    r = sustained(("A", 1, 8, 3), ("A", 2, 9, 3), age_points=3).loc["A"]
    assert r["event"] == 0 and not r["low_score_possible"]


def test_hold_must_exceed_its_tolerance():
    with pytest.raises(ValueError):
        sustained(("A", 1, 8, 1), hold_hours=1, hold_tolerance_hours=2)


def test_cumulative_incidence_of_the_sustained_low_score_by_hand():
    # three subjects: event day 3, died day 5, censored day 10. Aalen-Johansen: at day 3
    # S(3-) = 1, 1 event of 3 at risk -> 1/3; no further event of interest -> stays 1/3
    times = pd.DataFrame({"time_days": [3, 5, 10], "event": [1, 2, 0]})
    cif = liao.sustained_low_score_incidence(times, [2, 3, 7])
    assert cif["cumulative_incidence_prop"].tolist() == pytest.approx([0.0, 1 / 3, 1 / 3])
    death = liao.sustained_low_score_incidence(times, [7], cause=2)
    # death at day 5: S(5-) = 2/3, 1 of 2 at risk -> 2/3 * 1/2 = 1/3
    assert death["cumulative_incidence_prop"].iloc[0] == pytest.approx(1 / 3)


# ---------------------------------------------------------------------------------- wiring, purity

def test_the_scoring_switches_reach_the_score(fixture_cut):
    treated = fixture_cut.population("treated")
    with_age = liao.score_assessments(fixture_cut.vitals, treated).set_index("measured_at")
    without = liao.score_assessments(fixture_cut.vitals, treated, age_points=0).set_index("measured_at")
    # S02 is 71: 3 age points with the default, none with age_points=0; S01 (54) unchanged
    s02 = with_age["subject_id"] == "S02"
    assert ((with_age["liao_total"] - without["liao_total"])[s02] == 3).all()
    assert ((with_age["liao_total"] - without["liao_total"])[~s02] == 0).all()


def test_fixture_cut_sustained_low_score(fixture_cut):
    treated = fixture_cut.population("treated")
    t = liao.sustained_low_score(liao.score_assessments(fixture_cut.vitals, treated), treated).set_index("subject_id")
    # S01: one post-infusion assessment (day 1, total 3) then discharged day 18: censored day 1
    # S02: no post-infusion assessment, died in hospital day 10: competing event
    assert (t.loc["S01", "event"], t.loc["S01", "time_days"]) == (0, 1)
    assert (t.loc["S02", "event"], t.loc["S02", "time_days"]) == (2, 10)


def test_improvement_functions_do_not_modify_their_inputs():
    s, subj = improvement_cases()
    s0, subj0 = s.copy(), subj.copy()
    liao.liao_by_visit(s, subj)
    liao.level_improvement(s, subj)
    liao.sustained_low_score(s, subj)
    pd.testing.assert_frame_equal(s, s0)
    pd.testing.assert_frame_equal(subj, subj0)


def test_headline_measures_include_the_incidence_when_given():
    s, subj = improvement_cases()
    times = liao.sustained_low_score(s, subj)
    h = liao.headline_measures(liao.score_change_summary(liao.liao_by_visit(s, subj)),
                               liao.improvement_proportions(liao.level_improvement(s, subj)),
                               liao.sustained_low_score_incidence(times, [7, 14]), "AJ", n_subjects=len(subj))
    assert set(h["measure"]) == {"score_change_median", "improved_prop",
                                 "sustained_low_score_cumulative_incidence_prop"}
    assert (h.loc[h["measure"] == "sustained_low_score_cumulative_incidence_prop", "n"] == 6).all()
    assert np.isfinite(h.loc[h["measure"] == "improved_prop", "estimate"]).all()
