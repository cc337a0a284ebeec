"""Issue 17 item 4: the doc sentences an independent reader found ambiguous, each pinned by one rule
on hand-made data (docs: stats/competing_risks, 06_liao_score, 03_hospital_stay, stats/paired)."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import hospital_stay, liao_improvement, liao_sustained
from msc_analysis.stats.competing_risks import cumulative_incidence
from msc_analysis.stats.paired import signed_rank_by_visit

d = pd.to_datetime


# (a) competing risks: reading the curve after the last observed time -------------------------------

def test_cumulative_incidence_after_the_last_time_is_carried_forward_when_it_ended_with_events_only():
    # 3 subjects: cause 1 on day 2 (1/3), competing on day 3, cause 1 on day 4 with the last subject at risk:
    # 1/3 + (1/3)(1/1) = 2/3; the last time at risk (day 4) ended with an event and no censoring
    out = cumulative_incidence([2, 3, 4], [1, 2, 1], times=[4, 10])
    assert out["cumulative_incidence_prop"].tolist() == pytest.approx([2 / 3, 2 / 3], abs=1e-12)
    # ended with a competing event and an event, still no censoring: carried forward too
    out = cumulative_incidence([2, 3, 4, 4], [1, 2, 2, 1], times=[10])
    assert out["cumulative_incidence_prop"].tolist() == [0.5]


def test_cumulative_incidence_after_the_last_time_is_missing_when_it_ended_with_a_censoring():
    # day 4: an event and a censoring (nobody remains at risk after it either way): not carried forward
    out = cumulative_incidence([2, 3, 4, 4], [1, 2, 1, 0], times=[4, 10])
    assert out["cumulative_incidence_prop"].iloc[0] == 0.5 and np.isnan(out["cumulative_incidence_prop"].iloc[1])
    # the last subject censored alone on day 5: missing from day 6 on
    assert np.isnan(cumulative_incidence([2, 3, 4, 5], [1, 2, 1, 0], times=[6])["cumulative_incidence_prop"].item())


# (b) Liao sustained low score: the hold may be completed after day 60 -----------------------------------

def _scored(rows):
    """rows: (subject, measured_at, days_since_infusion, liao_total)."""
    f = pd.DataFrame(rows, columns=["subject_id", "measured_at", "days_since_infusion", "liao_total"])
    return f.assign(measured_at=d(f["measured_at"]), liao_level="green", incomplete=False, age_points=0,
                    n_vital_signs=7, n_parameters_missing=0)


def _subjects(ids, infused="2020-08-01", **cols):
    base = {"subject_id": ids, "arm": "MSC", "treated": True, "infused_on": d(infused), "admitted_on": d(infused),
            "died_on": pd.NaT, "discharged_on": pd.NaT, "last_known_alive_on": d("2020-11-01")}
    return pd.DataFrame({**base, **cols})


def test_a_low_run_starting_on_day_60_held_into_day_61_is_an_event_on_day_60():
    # infused 2020-08-01: day 59 = 2020-09-29, day 60 = 2020-09-30, day 61 = 2020-10-01
    scored = _scored([("A", "2020-09-29 08:00", 59, 5), ("A", "2020-09-30 08:00", 60, 1),
                      ("A", "2020-10-01 08:00", 61, 1)])
    out = liao_sustained.sustained_low_score(scored, _subjects(["A"]), low_score_max=2, horizon_days=60)
    assert out[["time_days", "event"]].values.tolist() == [[60, 1]]
    assert out["run_confirmed_at"].item() == d("2020-10-01 08:00")


def test_a_low_run_starting_on_day_61_is_not_an_event_by_day_60():
    scored = _scored([("B", "2020-09-30 08:00", 60, 5), ("B", "2020-10-01 08:00", 61, 1),
                      ("B", "2020-10-02 08:00", 62, 1)])
    out = liao_sustained.sustained_low_score(scored, _subjects(["B"]), low_score_max=2, horizon_days=60)
    assert out[["time_days", "event"]].values.tolist() == [[60, 0]]  # censored at the horizon


# (c) hospital-free days: a death in hospital after day 60 scores 0 -----------------------------------

def test_a_subject_in_hospital_on_day_60_who_dies_in_hospital_after_day_60_scores_0_hospital_free_days():
    # infused 2020-08-01, never discharged, died in hospital on day 70 (2020-10-10)
    s = _subjects(["C"], died_on=d(["2020-10-10"]), last_known_alive_on=d(["2020-10-09"]))
    out = hospital_stay.hospital_course(s, "2020-12-30", horizon_days=60)
    assert out["hospital_free_days"].tolist() == [0.0]


# (d) Liao baseline: incomplete assessments are dropped before the baseline rule -------------------------

def test_an_incomplete_last_pre_infusion_assessment_is_dropped_and_the_previous_complete_one_is_baseline():
    # infused 2020-08-02: day -1 complete (8, red); day 0 06:00 incomplete (3, a lower bound)
    scored = _scored([("D", "2020-08-01 08:00", -1, 8), ("D", "2020-08-02 06:00", 0, 3)]).assign(
        liao_level=["red", "yellow"], incomplete=[False, True], n_parameters_missing=[0, 2])
    s = _subjects(["D"], infused="2020-08-02")
    base = liao_improvement.liao_by_visit(scored, s)
    assert base.loc[base["target_day"] == 0, "liao_total_baseline"].tolist() == [8.0]
    with_incomplete = liao_improvement.liao_by_visit(scored, s, include_incomplete=True)
    assert with_incomplete.loc[with_incomplete["target_day"] == 0, "liao_total_baseline"].tolist() == [3.0]


# (e) Wilcoxon: the exact test only for untied changes ------------------------------------------------

def _changes(values):
    return pd.DataFrame({"visit": "Day 7", "target_day": 7, "status": "measured", "has_baseline": True,
                         "change": values})


def test_untied_changes_use_the_exact_wilcoxon_distribution():
    # six negative changes, all absolute values different: W+ = 0, two-sided exact p = 2 / 2**6
    out = signed_rank_by_visit(_changes([-1.0, -2, -3, -4, -5, -6])).iloc[0]
    assert out["test_method"] == "exact" and out["p_value"] == 2 / 64


def test_tied_absolute_changes_use_the_exact_permutation_distribution_not_the_exact_test():
    # |-1| = |1|: a tie in absolute value (opposite signs count as tied); and two equal changes
    for values in ([-1.0, 1, -2, -3, -4, -5], [-1.0, -1, -2, -3, -4, -5]):
        out = signed_rank_by_visit(_changes(values)).iloc[0]
        assert out["test_method"] == "exact permutation (ties)"
    # all six negative with a tie: only the all-negative and all-positive sign patterns are as extreme: 2 / 64
    assert signed_rank_by_visit(_changes([-1.0, -1, -2, -3, -4, -5]))["p_value"].item() == 2 / 64
