"""Rules of the shared longitudinal derivations: baseline, visit windows, change, summaries.

Every expected number is worked out by hand in the comments.
"""
import math

import numpy as np
import pandas as pd
import pytest

from msc_analysis.derive.baseline import add_change, baseline_rule, baseline_rules, derive_baseline
from msc_analysis.derive.visit_summary import summarise_visits
from msc_analysis.derive.visits import (VISIT_STATUSES, assign_visits, check_windows, family_rule,
                                        longitudinal, subject_course, visit_windows)
from msc_analysis.report.longitudinal_tables import median_measures
from msc_analysis.stats.paired import geometric_mean_ratio_by_visit, signed_rank_by_visit

DAY0 = pd.Timestamp("2020-08-01")


def subjects(*ids, died=None, discharged=None, follow_up=90):
    """Treated subjects infused on DAY0; died/discharged: {id: day}; follow_up: days known alive."""
    died, discharged = died or {}, discharged or {}
    day = lambda d: DAY0 + pd.Timedelta(days=d) if d is not None else pd.NaT  # noqa: E731
    return pd.DataFrame({
        "subject_id": list(ids), "infused_on": [DAY0] * len(ids),
        "died_on": pd.to_datetime([day(died.get(i)) for i in ids]),
        "discharged_on": pd.to_datetime([day(discharged.get(i)) for i in ids]),
        "last_known_alive_on": pd.to_datetime([day(died[i] - 1) if i in died else day(follow_up) for i in ids]),
    })


def values(*rows):
    """rows: (subject, day since infusion, hour of day, value)."""
    return pd.DataFrame({
        "subject_id": [r[0] for r in rows],
        "days_since_infusion": pd.array([r[1] for r in rows], dtype="Int64"),
        "collected_at": [DAY0 + pd.Timedelta(days=r[1], hours=r[2]) for r in rows],
        "value": [float(r[3]) if r[3] is not None else np.nan for r in rows],
    })


def base(v, s, **rule):
    return derive_baseline(v, s, value_column="value", time_column="collected_at", **rule).set_index("subject_id")


WINDOWS = pd.DataFrame({"visit": ["Day 3", "Day 7", "Day 14"], "target_day": [3, 7, 14],
                        "lower_day": [2, 5, 11], "upper_day": [4, 10, 17]})


def visits(v, s, windows=WINDOWS):
    return assign_visits(v, s, windows, value_column="value", time_column="collected_at")


# ------------------------------------------------------------------------------------------ baseline

def test_baseline_is_the_last_value_on_or_before_day_0():
    b = base(values(("A", -2, 6, 10), ("A", -1, 6, 12), ("A", 1, 6, 99)), subjects("A"))
    assert b.loc["A", "baseline_value"] == 12  # day -1 is later than day -2; day 1 is after
    assert b.loc["A", "baseline_days_since_infusion"] == -1


def test_a_value_after_day_0_is_never_a_baseline():
    b = base(values(("A", 1, 6, 10)), subjects("A"))
    assert not b.loc["A", "has_baseline"] and np.isnan(b.loc["A", "baseline_value"])


def test_window_keeps_day_minus_3_and_drops_day_minus_4():
    v = values(("A", -3, 6, 7), ("B", -4, 6, 8))
    b = base(v, subjects("A", "B"), window_days_before=3)
    assert b.loc["A", "has_baseline"] and not b.loc["B", "has_baseline"]
    assert base(v, subjects("A", "B"), window_days_before=4).loc["B", "baseline_value"] == 8


def test_earliest_rule_takes_the_first_value_of_day_0_over_a_later_one_and_day_minus_1():
    v = values(("A", -1, 6, 5), ("A", 0, 18, 30), ("A", 0, 6, 20))  # rows not in time order
    assert base(v, subjects("A"), day0_values="earliest").loc["A", "baseline_value"] == 20


def test_all_rule_takes_the_last_value_of_day_0():
    v = values(("A", -1, 6, 5), ("A", 0, 6, 20), ("A", 0, 18, 30))
    assert base(v, subjects("A"), day0_values="all").loc["A", "baseline_value"] == 30


def test_none_rule_ignores_day_0_and_falls_back_to_day_minus_1():
    v = values(("A", -1, 6, 5), ("A", 0, 6, 20))
    assert base(v, subjects("A"), day0_values="none").loc["A", "baseline_value"] == 5


def test_equal_times_are_ordered_as_the_rows_of_the_table():
    # Two scans dated the same day (date-only table, identical times): "all" takes the later row,
    # "earliest" the earlier row.
    v = values(("A", 0, 0, 15), ("A", 0, 0, 11))
    assert base(v, subjects("A"), day0_values="all").loc["A", "baseline_value"] == 11
    assert base(v, subjects("A"), day0_values="earliest").loc["A", "baseline_value"] == 15


def test_a_missing_value_is_skipped_for_the_previous_one():
    v = values(("A", -2, 6, 9), ("A", 0, 6, None))
    assert base(v, subjects("A")).loc["A", "baseline_value"] == 9


def test_every_subject_is_returned_in_input_order_with_or_without_baseline():
    b = derive_baseline(values(("B", 0, 6, 3)), subjects("C", "B"), value_column="value",
                        time_column="collected_at")
    assert b["subject_id"].tolist() == ["C", "B"]
    assert b["has_baseline"].tolist() == [False, True]


def test_values_of_subjects_outside_the_population_are_ignored():
    b = base(values(("Z", 0, 6, 3)), subjects("A"))
    assert b.index.tolist() == ["A"] and not b.loc["A", "has_baseline"]


def test_baseline_does_not_modify_its_inputs():
    v, s = values(("A", 0, 6, 3), ("A", 0, 18, 4)), subjects("A")
    v0, s0 = v.copy(), s.copy()
    derive_baseline(v, s, value_column="value", time_column="collected_at")
    pd.testing.assert_frame_equal(v, v0)
    pd.testing.assert_frame_equal(s, s0)


@pytest.mark.parametrize("rule", [dict(window_days_before=-1), dict(window_days_before=2.5),
                                  dict(day0_values="latest")])
def test_a_bad_baseline_rule_is_refused(rule):
    with pytest.raises(ValueError):
        base(values(("A", 0, 6, 3)), subjects("A"), **rule)


def test_shipped_baseline_rules_are_3_days_and_earliest_except_ct():
    assert baseline_rule("crp") == {"window_days_before": 3, "day0_values": "earliest"}
    assert baseline_rule("liao") == {"window_days_before": 3, "day0_values": "earliest"}
    assert baseline_rule("ct") == {"window_days_before": 3, "day0_values": "all"}
    assert set(baseline_rules()["family"]) == {"crp", "pao2_fio2", "liao", "ct"}
    with pytest.raises(ValueError):
        baseline_rule("sodium")


# ------------------------------------------------------------------------------------------- change

def test_change_is_value_minus_baseline_and_percent_of_baseline():
    f = add_change(pd.DataFrame({"value": [4.2, 200.0], "baseline_value": [15.0, 130.0]}))
    # 4.2 - 15 = -10.8, -10.8 / 15 = -72 %; 200 - 130 = 70, 70 / 130 = 53.846 %
    assert f["change"].tolist() == pytest.approx([-10.8, 70.0])
    assert f["change_pct"].tolist() == pytest.approx([-72.0, 53.846153846])


def test_percent_change_from_a_zero_baseline_is_missing_not_infinite():
    f = add_change(pd.DataFrame({"value": [3.0], "baseline_value": [0.0]}))
    assert f.loc[0, "change"] == 3.0 and np.isnan(f.loc[0, "change_pct"])


# -------------------------------------------------------------------------------------------- windows

def test_shipped_visit_windows_are_the_default_days():
    for family in ("crp", "pao2_fio2", "liao"):
        assert visit_windows(family)["target_day"].tolist() == [1, 3, 7, 14, 21, 28, 60]
    assert visit_windows("ct")["target_day"].tolist() == [14, 28, 60]


@pytest.mark.parametrize("lower, upper, problem", [
    ([2, 4], [4, 10], "overlap"), ([2, 8], [4, 10], "contain"), ([0, 5], [4, 10], "day 1")])
def test_unusable_windows_are_refused(lower, upper, problem):
    w = pd.DataFrame({"visit": ["Day 3", "Day 7"], "target_day": [3, 7], "lower_day": lower, "upper_day": upper})
    with pytest.raises(ValueError, match=problem):
        check_windows(w)


def test_family_rule_reads_defaults_and_keeps_overrides():
    r = family_rule("crp", window_days_before=5)
    assert r["window_days_before"] == 5 and r["day0_values"] == "earliest"
    assert r["windows"]["visit"].iloc[0] == "Day 1"


# ------------------------------------------------------------------------------------- visit values

def value_at(table, subject, visit, column="value"):
    return table.set_index(["subject_id", "visit"]).loc[(subject, visit), column]


def test_the_value_nearest_the_target_day_wins():
    t = visits(values(("A", 9, 6, 90), ("A", 6, 6, 60)), subjects("A"))
    assert value_at(t, "A", "Day 7") == 60  # |6-7| = 1 < |9-7| = 2


def test_a_tie_in_distance_goes_to_the_earlier_day():
    t = visits(values(("A", 8, 6, 80), ("A", 6, 6, 60)), subjects("A"))
    assert value_at(t, "A", "Day 7") == 60  # days 6 and 8 are both 1 day away


def test_two_values_on_the_target_day_give_the_earlier_time():
    t = visits(values(("A", 7, 20, 72), ("A", 7, 8, 78)), subjects("A"))
    assert value_at(t, "A", "Day 7") == 78
    assert value_at(t, "A", "Day 7", "collected_at") == DAY0 + pd.Timedelta(days=7, hours=8)


def test_a_value_outside_every_window_is_not_used():
    t = visits(values(("A", 1, 6, 10), ("A", 18, 6, 18)), subjects("A"))
    assert (t["status"] == "measured").sum() == 0


def test_a_value_on_a_window_edge_counts():
    t = visits(values(("A", 10, 6, 100), ("A", 11, 6, 110)), subjects("A"))
    assert value_at(t, "A", "Day 7") == 100 and value_at(t, "A", "Day 14") == 110


def test_missing_visits_say_why():
    s = subjects("dies", "home", "recent", "missed", died={"dies": 9}, discharged={"home": 3}, follow_up=90)
    s.loc[s["subject_id"] == "recent", "last_known_alive_on"] = DAY0 + pd.Timedelta(days=12)
    t = visits(values(("dies", 3, 6, 1.0)), s)
    status = t.set_index(["subject_id", "visit"])["status"]
    assert status[("dies", "Day 3")] == "measured"
    assert status[("dies", "Day 7")] == "died"  # death on day 9 <= window end 10
    assert status[("home", "Day 3")] == "discharged"  # discharged day 3 <= window end 4
    assert status[("recent", "Day 7")] == "no value"  # followed 12 days >= 10
    assert status[("recent", "Day 14")] == "follow-up not reached"  # 12 < window end 17
    assert status[("missed", "Day 14")] == "no value"


def test_a_death_after_discharge_shows_as_death_at_later_visits():
    s = subjects("A", died={"A": 12}, discharged={"A": 3})
    status = visits(values(), s).set_index("visit")["status"]
    assert status["Day 3"] == "discharged" and status["Day 7"] == "discharged" and status["Day 14"] == "died"


def test_a_value_in_the_window_wins_over_a_death_later_in_it():
    t = visits(values(("A", 5, 6, 50)), subjects("A", died={"A": 9}))
    assert value_at(t, "A", "Day 7", "status") == "measured"


def test_subject_course_counts_days_from_the_infusion():
    c = subject_course(subjects("A", "B", died={"A": 10}, discharged={"B": 4}, follow_up=30)).set_index("subject_id")
    assert c.loc["A", "death_day"] == 10 and c.loc["A", "follow_up_days"] == 10
    assert c.loc["B", "discharge_day"] == 4 and c.loc["B", "follow_up_days"] == 30


def test_a_subject_not_followed_to_a_closed_window_is_lost_to_follow_up():
    # infused DAY0, cutoff day 15: Day 3 (ends 4) and Day 7 (ends 10) have closed, Day 14 (ends 17) not.
    # "gone" known alive to day 6 only; "here" known alive to day 15 (the cutoff).
    s = subjects("gone", "here", follow_up=15)
    s.loc[s["subject_id"] == "gone", "last_known_alive_on"] = DAY0 + pd.Timedelta(days=6)
    t = assign_visits(values(), s, WINDOWS, value_column="value", time_column="collected_at",
                      cutoff_date=DAY0 + pd.Timedelta(days=15))
    status = t.set_index(["subject_id", "visit"])["status"]
    assert status[("gone", "Day 3")] == "no value"  # followed 6 >= 4
    assert status[("gone", "Day 7")] == "lost to follow-up"  # 6 < 10 and day 10 <= cutoff day 15
    assert status[("gone", "Day 14")] == "follow-up not reached"  # window ends day 17 > 15
    assert status[("here", "Day 7")] == "no value" and status[("here", "Day 14")] == "follow-up not reached"
    passed = t.set_index(["subject_id", "visit"])["evaluable_by_calendar"]
    assert passed[("gone", "Day 7")] and not passed[("gone", "Day 14")]
    assert t["window_end_day"].tolist() == [4, 10, 17, 4, 10, 17]


def test_without_a_cutoff_nobody_is_lost_to_follow_up_and_evaluability_is_unknown():
    s = subjects("gone")
    s["last_known_alive_on"] = DAY0 + pd.Timedelta(days=6)
    t = visits(values(), s)
    assert t["status"].tolist() == ["no value", "follow-up not reached", "follow-up not reached"]
    assert t["evaluable_by_calendar"].isna().all()


def test_subject_course_with_a_cutoff_uses_the_follow_up_derivation():
    # B discharged day 4, last known alive day 30 but the cutoff is day 20: followed to day 20.
    s = subjects("A", "B", died={"A": 10}, discharged={"B": 4}, follow_up=30)
    c = subject_course(s, DAY0 + pd.Timedelta(days=20)).set_index("subject_id")
    assert c.loc["A", "follow_up_days"] == 10 and c.loc["B", "follow_up_days"] == 20
    assert c["days_to_cutoff"].tolist() == [20, 20]
    assert subject_course(s)["days_to_cutoff"].isna().all()


def test_summary_counts_lost_to_follow_up_apart_from_not_reached():
    s = subjects("gone", "here", follow_up=15)
    s.loc[s["subject_id"] == "gone", "last_known_alive_on"] = DAY0 + pd.Timedelta(days=6)
    f = longitudinal(values(("gone", 0, 6, 1), ("here", 0, 6, 2)), s, WINDOWS, value_column="value",
                     time_column="collected_at", cutoff_date=DAY0 + pd.Timedelta(days=15))
    m = summarise_visits(f).set_index("visit")
    assert m.loc["Day 7", "n_lost_to_follow_up"] == 1 and m.loc["Day 7", "n_not_reached"] == 0
    assert m.loc["Day 14", "n_lost_to_follow_up"] == 0 and m.loc["Day 14", "n_not_reached"] == 2
    assert f.loc[f["visit"] == "Baseline", "evaluable_by_calendar"].all()


def test_subject_course_refuses_untreated_subjects():
    s = subjects("A")
    s["infused_on"] = pd.NaT
    with pytest.raises(ValueError, match="infused_on"):
        subject_course(s)


# -------------------------------------------------------------------------------------- longitudinal

def long_frame():
    # A: baseline 10 (day 0), day 3 -> 6, day 7 -> 4; B: no baseline, day 3 -> 8; C died day 5.
    v = values(("A", 0, 6, 10), ("A", 3, 6, 6), ("A", 7, 6, 4), ("B", 3, 6, 8), ("C", -1, 6, 20))
    return longitudinal(v, subjects("A", "B", "C", died={"C": 5}), WINDOWS, value_column="value",
                        time_column="collected_at")


def test_longitudinal_has_a_baseline_row_and_one_row_per_visit_for_every_subject():
    f = long_frame()
    assert len(f) == 3 * 4
    assert f.groupby("subject_id")["visit"].apply(list).to_dict()["A"] == ["Baseline", "Day 3", "Day 7", "Day 14"]
    a = f[f["subject_id"] == "A"].set_index("visit")
    assert a.loc["Baseline", "change"] == 0 and a.loc["Day 3", "change"] == -4 and a.loc["Day 7", "change"] == -6
    assert a.loc["Day 7", "change_pct"] == pytest.approx(-60.0)  # -6 / 10


def test_summary_counts_every_subject_at_every_visit_and_those_without_baseline():
    s = summarise_visits(long_frame()).set_index("visit")
    assert (s["n_subjects"] == 3).all() and (s["n_no_baseline"] == 1).all()
    assert s.loc["Day 3", "n_measured"] == 2 and s.loc["Day 3", "n_change"] == 1  # B has no baseline
    assert s.loc["Day 7", "n_died"] == 1  # C died on day 5
    assert s.loc["Day 3", "value_median"] == 7.0  # median of 6 and 8
    assert s.loc["Day 3", "change_median"] == -4.0
    assert np.isnan(s.loc["Baseline", "change_median"]) and s.loc["Baseline", "n_change"] == 0


def test_quartiles_use_linear_interpolation():
    f = pd.DataFrame({"visit": "Day 3", "target_day": 3, "status": "measured", "has_baseline": True,
                      "value": [1.0, 2.0, 3.0, 4.0], "change": [0.0] * 4})
    s = summarise_visits(f).iloc[0]
    # positions (n-1)p: 0.75 -> 1.75; 1.5 -> 2.5; 2.25 -> 3.25
    assert (s["value_q1"], s["value_median"], s["value_q3"]) == (1.75, 2.5, 3.25)


def test_empty_population_gives_empty_tables_not_errors():
    f = longitudinal(values(("A", 0, 6, 1)), subjects("A").iloc[:0], WINDOWS, value_column="value",
                     time_column="collected_at")
    assert len(f) == 0 and len(summarise_visits(f)) == 0 and len(signed_rank_by_visit(f)) == 0


def test_longitudinal_does_not_modify_its_inputs():
    v, s = values(("A", 0, 6, 10), ("A", 3, 6, 6)), subjects("A")
    v0, s0 = v.copy(), s.copy()
    longitudinal(v, s, WINDOWS, value_column="value", time_column="collected_at")
    pd.testing.assert_frame_equal(v, v0)
    pd.testing.assert_frame_equal(s, s0)


def test_median_measures_put_the_iqr_in_the_ci_columns_and_keep_empty_visits():
    s = summarise_visits(long_frame())
    rows = median_measures(s, "value", measure="m", unit="u", n_column="n_measured", what="x",
                           include_baseline=True).set_index("day")
    assert rows.loc[0, "estimate"] == 15.0 and rows.loc[0, "n"] == 2  # baselines 10 (A) and 20 (C)
    assert rows.loc[0, "ci95_lower"] == 12.5 and rows.loc[0, "ci95_upper"] == 17.5
    assert np.isnan(rows.loc[14, "estimate"]) and rows.loc[14, "n"] == 0
    assert "interquartile" in rows.loc[0, "method"]


# ------------------------------------------------------------------------------------ tests of change

def changes(*d):
    return pd.DataFrame({"visit": "Day 7", "target_day": 7, "status": "measured", "has_baseline": True,
                         "change": list(d)})


def test_signed_rank_drops_zero_changes_and_uses_the_exact_distribution():
    r = signed_rank_by_visit(changes(-3.0, -1.0, -2.0, -6.0, -4.0, -5.0, 0.0)).iloc[0]
    # zero dropped; ranks 1..6 all negative: W+ = 0; exact two-sided p = 2 * (1 / 2^6) = 0.03125
    assert (r["n_pairs"], r["n_zero"], r["n_nonzero"]) == (7, 1, 6)
    assert r["wilcoxon_statistic"] == 0 and r["p_value"] == pytest.approx(0.03125)
    assert r["test_method"] == "exact"


def test_no_wilcoxon_p_value_below_six_non_zero_changes():
    # with 5 non-zero changes the smallest two-sided exact p is 2 / 2^5 = 0.0625: never shown
    r = signed_rank_by_visit(changes(-3.0, -1.0, -2.0, -4.0, -5.0, 0.0, 0.0)).iloc[0]
    assert (r["n_pairs"], r["n_nonzero"]) == (7, 5)
    assert np.isnan(r["p_value"]) and np.isnan(r["wilcoxon_statistic"])
    assert r["test_method"] == "not done: too few pairs (5 non-zero changes; at least 6 needed)"
    one = signed_rank_by_visit(changes(2.0)).iloc[0]
    assert np.isnan(one["p_value"]) and one["test_method"].startswith("not done: too few pairs")


def test_signed_rank_with_ties_uses_the_exact_permutation_distribution():
    d = [-1.0, -1.0, 2.0, -3.0, -4.0, -5.0]
    r = signed_rank_by_visit(changes(*d)).iloc[0]
    # ranks 1.5, 1.5, 3, 4, 5, 6; W+ = 3 (only the +2); over the 64 equally likely sign patterns
    # count those whose W+ is as far from the mean 10.5 as 3 or further, both sides
    ranks = np.array([1.5, 1.5, 3, 4, 5, 6])
    w_plus = np.array([ranks[[(m >> i) & 1 == 1 for i in range(6)]].sum() for m in range(64)])
    expected = np.mean(np.abs(w_plus - 10.5) >= abs(3 - 10.5) - 1e-9)
    assert r["wilcoxon_statistic"] == 3 and r["p_value"] == pytest.approx(expected)
    assert r["test_method"] == "exact permutation (ties)"


def test_signed_rank_on_many_tied_changes_uses_the_normal_approximation():
    r = signed_rank_by_visit(changes(*([-1.0] * 30 + [2.0] * 30))).iloc[0]
    assert r["test_method"] == "normal approximation" and 0 < r["p_value"] < 1


def test_changes_equal_on_paper_are_tied_despite_rounding():
    # 0.3 - 0.1 and 0.2 differ in binary floating point; rounded they tie
    r = signed_rank_by_visit(changes(0.3 - 0.1, 0.2, -1.0, -2.0, -3.0, -4.0)).iloc[0]
    assert r["test_method"] == "exact permutation (ties)"


def test_signed_rank_without_any_non_zero_change_is_not_done():
    r = signed_rank_by_visit(changes(0.0, 0.0)).iloc[0]
    assert np.isnan(r["p_value"]) and r["test_method"].startswith("not done")


def test_geometric_mean_ratio_and_its_t_interval_by_hand():
    f = pd.DataFrame({"visit": "Day 7", "target_day": 7, "status": "measured", "has_baseline": True,
                      "value": [4.0, 16.0, 3.0], "baseline_value": [4.0, 4.0, 0.0]})
    r = geometric_mean_ratio_by_visit(f).iloc[0]
    # ratios 1 and 4 (the zero baseline is left out): log mean = ln 2 -> GMR 2;
    # sd of (0, ln 4) = ln 4 / sqrt 2, se = sd / sqrt 2 = ln 2; t(0.975, 1) = tan(0.475 pi)
    t = math.tan(0.475 * math.pi)
    assert (r["n_pairs"], r["n_nonpositive"], r["n_ratio"]) == (3, 1, 2)
    assert r["geometric_mean_ratio"] == pytest.approx(2.0)
    assert r["ci95_lower"] == pytest.approx(2 ** (1 - t)) and r["ci95_upper"] == pytest.approx(2 ** (1 + t))


def test_geometric_mean_ratio_of_one_pair_has_no_interval():
    f = pd.DataFrame({"visit": "Day 7", "target_day": 7, "status": "measured", "has_baseline": True,
                      "value": [2.0], "baseline_value": [4.0]})
    r = geometric_mean_ratio_by_visit(f).iloc[0]
    assert r["geometric_mean_ratio"] == pytest.approx(0.5) and np.isnan(r["ci95_lower"])


def test_visit_statuses_are_documented_in_order():
    assert VISIT_STATUSES == ("measured", "died", "discharged", "lost to follow-up", "follow-up not reached",
                              "no value")


def test_every_summary_says_how_many_subjects_lacked_a_baseline():
    f = long_frame()  # B has no baseline
    assert (signed_rank_by_visit(f)["n_no_baseline"] == 1).all()
    assert (geometric_mean_ratio_by_visit(f)["n_no_baseline"] == 1).all()
    rows = median_measures(summarise_visits(f), "change", measure="m", unit="u", n_column="n_change",
                           what="x", include_baseline=False)
    assert rows["method"].str.contains("1 of 3 subjects had none").all()
