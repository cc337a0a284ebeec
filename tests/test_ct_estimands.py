"""Chest CT headline: improvement against the baseline scan, among subjects evaluable by calendar.

Every expected number is worked out by hand in the comments. Subjects are infused on DAY0; the
CT windows are Day 14 (7-21), Day 28 (22-42), Day 60 (43-75).
"""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import radiology
from msc_analysis.stats.binomial import exact_proportion

from .test_baseline_and_visits import DAY0, subjects
from .test_radiology import scans

CUTOFF = DAY0 + pd.Timedelta(days=50)  # Day 14 and Day 28 windows closed (21, 42 <= 50); Day 60 open (75)


def day(visits, target):
    return visits.set_index("target_day").loc[target]


def cohort():
    # every subject has a baseline scan of 18 on day 0 unless said otherwise
    # A: day 28 score 10 (-8): improved       B: day 28 score 17 (-1): not improved (threshold 2)
    # C: day 28 score 16 (-2): improved (exactly 2)   D: died day 20: not improved at day 28
    # E: discharged day 10, no scan: left out   F: baseline 0, day 28 score 0: not in the population
    # G: no baseline scan: not in the population   H: baseline 1, day 28 score 0: improved (reached 0)
    rows = [(s, 0, 18, None) for s in "ABCDE"] + [("F", 0, 0, None), ("H", 0, 1, None)]
    rows += [("A", 28, 10, "improved"), ("B", 28, 17, "stable"), ("C", 28, 16, "stable"),
             ("F", 28, 0, "stable"), ("G", 28, 12, "improved"), ("H", 28, 0, "improved")]
    s = subjects(*"ABCDEFGH", died={"D": 20}, discharged={"E": 10}, follow_up=50)
    return radiology.ct_by_visit(scans(*rows), s, cutoff_date=CUTOFF)


def test_improvement_compares_with_the_baseline_scan_and_deaths_count_as_not_improved():
    r = day(radiology.improvement_from_baseline(cohort()), 28)
    # population: A B C D E H (F baseline 0, G no baseline); improved A C H; not improved B; died D
    assert (r["n_population"], r["n_improved"], r["n_not_improved"], r["n_died"]) == (6, 3, 1, 1)
    assert (r["n_no_baseline"], r["n_baseline_zero"], r["n_discharged_no_scan"]) == (1, 1, 1)
    assert r["n_evaluable"] == 5 and r["improved_prop"] == pytest.approx(3 / 5)
    ci = exact_proportion(np.array([3]), np.array([5]))
    assert r["ci95_lower"] == pytest.approx(ci["ci95_lower"][0]) and r["ci95_upper"] == pytest.approx(ci["ci95_upper"][0])


def test_a_decrease_below_the_threshold_is_not_improved_and_the_threshold_is_a_parameter():
    r = day(radiology.improvement_from_baseline(cohort(), min_decrease_points=1), 28)
    assert r["n_improved"] == 4  # B's 1-point decrease now counts
    assert radiology.improvement_min_decrease_points() == 2  # definitions/trial.yaml


def test_only_subjects_whose_visit_window_closed_are_evaluable_by_calendar():
    # cutoff day 50: Day 60 (window to day 75) is open for everyone; nobody evaluable there
    r = day(radiology.improvement_from_baseline(cohort()), 60)
    assert r["n_not_evaluable"] == 8 and r["n_evaluable"] == 0 and np.isnan(r["improved_prop"])
    assert r["not_estimable_reason"]


def test_known_so_far_counts_an_early_death_before_the_window_closes():
    # Y died day 30, Z alive with follow-up to day 40 (cutoff 40): the Day 28 window (22-42) is open.
    s = subjects("Y", "Z", died={"Y": 30}, follow_up=40)
    b = radiology.ct_by_visit(scans(("Y", 0, 18, None), ("Z", 0, 18, None), ("Z", 28, 10, "improved")), s,
                              cutoff_date=DAY0 + pd.Timedelta(days=40))
    calendar = day(radiology.improvement_from_baseline(b), 28)
    known = day(radiology.improvement_from_baseline(b, by_calendar=False), 28)
    assert calendar["n_evaluable"] == 0 and calendar["n_not_evaluable"] == 2
    assert (known["n_evaluable"], known["n_improved"], known["n_died"]) == (2, 1, 1)


def test_deaths_alone_are_not_a_proportion():
    s = subjects("D", died={"D": 20})
    b = radiology.ct_by_visit(scans(("D", 0, 18, None)), s, cutoff_date=CUTOFF)
    r = day(radiology.improvement_from_baseline(b), 28)
    assert r["n_died"] == 1 and np.isnan(r["improved_prop"]) and r["not_estimable_reason"] == "no scored scan at this visit"


def test_without_the_cutoff_the_headline_is_refused():
    b = radiology.ct_by_visit(scans(("A", 0, 18, None)), subjects("A"))
    with pytest.raises(ValueError, match="cutoff"):
        radiology.improvement_from_baseline(b)


def test_the_headline_measure_is_against_baseline_and_the_impression_is_secondary():
    b = cohort()
    s = subjects(*"ABCDEFGH", died={"D": 20}, discharged={"E": 10}, follow_up=50)
    im = radiology.impression_by_visit(scans(("A", 28, 10, "improved")), s, cutoff_date=CUTOFF)
    h = radiology.headline_measures(radiology.ct_summary(b), radiology.improvement_proportions(im, by_calendar=True),
                                    radiology.improvement_from_baseline(b),
                                    radiology.improvement_from_baseline(b, by_calendar=False),
                                    radiology.ct_worst_rank(b))
    r = h.set_index(["measure", "day"])
    assert r.loc[("ct_improved_from_baseline_prop", 28), "estimate"] == pytest.approx(3 / 5)
    assert r.loc[("ct_improved_from_baseline_prop", 28), "n"] == 5
    assert "baseline scan" in r.loc[("ct_improved_from_baseline_prop", 28), "method"]
    assert "previous scan" in r.loc[("ct_improved_prop", 28), "method"]
    assert {"ct_score_change_worst_rank_median", "ct_score_change_worst_rank_died_prop",
            "ct_improved_from_baseline_known_prop"} <= set(h["measure"])


def test_the_impression_proportion_by_calendar_leaves_out_open_windows():
    s = subjects("A", "B", follow_up=50)
    s.loc[s["subject_id"] == "B", "infused_on"] = DAY0 + pd.Timedelta(days=20)  # B: 30 days to the cutoff
    im = radiology.impression_by_visit(scans(("A", 28, 10, "improved")), s, cutoff_date=CUTOFF)
    r = day(radiology.improvement_proportions(im, by_calendar=True), 28)
    assert (r["n_not_evaluable"], r["n_improved"], r["n_evaluable"]) == (1, 1, 1)


def test_improvement_from_baseline_does_not_modify_its_input():
    b = cohort()
    b0 = b.copy()
    radiology.improvement_from_baseline(b)
    pd.testing.assert_frame_equal(b, b0)


def test_the_ct_proportion_is_the_count_of_the_per_subject_outcomes():
    b = cohort()
    per_subject = radiology.improvement_from_baseline_by_subject(b)
    r = day(radiology.improvement_from_baseline(b), 28)
    g = per_subject[per_subject["target_day"] == 28]
    assert (r["n_evaluable"], r["n_improved"]) == (int(g["evaluable"].sum()), int(g["improved"].sum()))
    assert not (g["improved"] & ~g["evaluable"]).any()
