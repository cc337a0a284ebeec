"""Rules of the worst-rank composite (stats/worst_rank.py): the analysis that does not lose the deaths.

Every expected number is worked out by hand in the comments.
"""
import math

import numpy as np
import pandas as pd
import pytest

from msc_analysis.stats.worst_rank import worst_rank_by_visit, worst_rank_quantile


def frame(statuses, scores, passed=None, has_baseline=None, visit="Day 7", day=7):
    n = len(statuses)
    return pd.DataFrame({"visit": visit, "target_day": day, "status": statuses,
                         "evaluable_by_calendar": [True] * n if passed is None else passed,
                         "has_baseline": [True] * n if has_baseline is None else has_baseline,
                         "score": [np.nan if s is None else float(s) for s in scores]})


def test_death_ranks_worst_and_discharge_best_for_a_value_where_higher_is_worse():
    # CRP-like: scale discharged < 2 < 8 < died; median h = 1.5 between 2 and 8 -> 5
    x, s = [np.nan, 2.0, 8.0, np.nan], ["died", "value", "value", "discharged"]
    assert worst_rank_quantile(x, s, 0.5, higher_is_worse=True) == (5.0, "value")
    assert worst_rank_quantile(x, s, 0.0, higher_is_worse=True)[1] == "discharged"
    assert worst_rank_quantile(x, s, 1.0, higher_is_worse=True)[1] == "died"


def test_death_ranks_below_every_value_where_lower_is_worse():
    # P/F-like: scale died < 100 < 300 < discharged; q1 h = 0.75 between died and 100 -> died
    x, s = [np.nan, 100.0, 300.0, np.nan], ["died", "value", "value", "discharged"]
    assert worst_rank_quantile(x, s, 0.25, higher_is_worse=False)[1] == "died"
    assert worst_rank_quantile(x, s, 0.75, higher_is_worse=False)[1] == "discharged"
    assert worst_rank_quantile(x, s, 0.5, higher_is_worse=False) == (200.0, "value")


def test_the_median_is_died_when_half_or_more_died():
    # scale 3, 4, died, died: h = 1.5 between 4 and died -> died
    q = worst_rank_quantile([np.nan, np.nan, 3.0, 4.0], ["died", "died", "value", "value"], 0.5, higher_is_worse=True)
    assert math.isnan(q[0]) and q[1] == "died"
    # scale 3, 4, died: h = 1 -> 4 exactly
    assert worst_rank_quantile([np.nan, 3.0, 4.0], ["died", "value", "value"], 0.5, higher_is_worse=True) == (4.0, "value")


def test_between_death_and_discharge_the_quantile_is_the_worse_state():
    assert worst_rank_quantile([np.nan, np.nan], ["died", "discharged"], 0.5, higher_is_worse=True)[1] == "died"
    assert worst_rank_quantile([np.nan, np.nan], ["died", "discharged"], 0.5, higher_is_worse=False)[1] == "died"


def test_values_alone_give_the_type_7_quantiles():
    x = [4.0, 1.0, 3.0, 2.0]
    for q in (0.25, 0.5, 0.75):
        assert worst_rank_quantile(x, ["value"] * 4, q, higher_is_worse=True)[0] == pytest.approx(
            pd.Series(x).quantile(q))


def test_only_subjects_whose_window_closed_are_ranked_and_unknown_outcomes_are_counted():
    f = frame(["died", "measured", "measured", "discharged", "lost to follow-up", "no value",
               "follow-up not reached", "died"],
              [None, 4, 6, None, None, None, None, None],
              passed=[True, True, True, True, True, True, False, False])
    r = worst_rank_by_visit(f, "score", higher_is_worse=True).iloc[0]
    # population: the 6 with a closed window (the death with an open window is not counted)
    assert (r["n_subjects"], r["n_not_evaluable"], r["n_evaluable"]) == (8, 2, 6)
    assert (r["n_died"], r["n_measured"], r["n_discharged"], r["n_ranked"]) == (1, 2, 1, 4)
    assert (r["n_lost_to_follow_up"], r["n_no_value"]) == (1, 1)
    assert r["died_prop"] == 0.25  # 1 of the 4 ranked
    # scale: discharged, 4, 6, died -> median 5; Q1 h = 0.75 -> discharged; Q3 h = 2.25 -> died
    assert r["worst_rank_median"] == 5.0 and r["worst_rank_median_state"] == "value"
    assert r["worst_rank_q1_state"] == "discharged" and r["worst_rank_q3_state"] == "died"


def test_a_change_from_baseline_ranks_only_subjects_with_a_baseline():
    f = frame(["died", "measured", "measured"], [None, -3, 2], has_baseline=[True, True, False])
    r = worst_rank_by_visit(f, "score", higher_is_worse=True, require_baseline=True).iloc[0]
    assert (r["n_no_baseline"], r["n_evaluable"], r["n_ranked"]) == (1, 2, 2)
    # scale: -3, died; median h = 0.5 between -3 and died -> died
    assert r["worst_rank_median_state"] == "died" and math.isnan(r["worst_rank_median"])


def test_the_share_died_has_an_exact_interval():
    r = worst_rank_by_visit(frame(["died", "measured"], [None, 1]), "score", higher_is_worse=True).iloc[0]
    # Clopper-Pearson for 1/2: 0.0126 to 0.9874
    assert r["died_prop"] == 0.5
    assert r["died_ci95_lower"] == pytest.approx(0.012579, abs=1e-6)
    assert r["died_ci95_upper"] == pytest.approx(0.987421, abs=1e-6)


def test_nobody_ranked_is_not_estimable_with_a_reason():
    r = worst_rank_by_visit(frame(["lost to follow-up"], [None]), "score", higher_is_worse=True).iloc[0]
    assert r["n_ranked"] == 0 and math.isnan(r["died_prop"]) and r["worst_rank_median_state"] == ""
    assert r["not_estimable_reason"]


def test_the_baseline_row_is_not_ranked_and_a_missing_cutoff_is_refused():
    f = pd.concat([frame(["measured"], [1], visit="Baseline", day=0), frame(["measured"], [2])])
    assert worst_rank_by_visit(f, "score", higher_is_worse=True)["target_day"].tolist() == [7]
    g = frame(["measured"], [1]).assign(evaluable_by_calendar=pd.array([pd.NA], dtype="boolean"))
    with pytest.raises(ValueError, match="cutoff"):
        worst_rank_by_visit(g, "score", higher_is_worse=True)


def test_worst_rank_does_not_modify_its_input():
    f = frame(["died", "measured"], [None, 1])
    f0 = f.copy()
    worst_rank_by_visit(f, "score", higher_is_worse=True)
    pd.testing.assert_frame_equal(f, f0)


def test_without_any_subject_every_visit_is_reported_as_not_estimable():
    empty = frame([], [])
    visits = pd.DataFrame({"visit": ["Baseline", "Day 7", "Day 14"], "target_day": [0, 7, 14]})
    r = worst_rank_by_visit(empty, "score", higher_is_worse=True, visits=visits)
    assert r["target_day"].tolist() == [7, 14] and (r["n_ranked"] == 0).all()
    assert set(r["not_estimable_reason"]) == {"no subject infused yet"} and r["died_prop"].isna().all()
