"""CRP endpoint: values in mg/dL, by visit, change from baseline, headline measures."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import crp

from .test_baseline_and_visits import DAY0, subjects


def labs(*rows):
    """rows: (subject, day, hour, test, value, unit)."""
    return pd.DataFrame({
        "subject_id": [r[0] for r in rows],
        "collected_at": [DAY0 + pd.Timedelta(days=r[1], hours=r[2]) for r in rows],
        "test": [r[3] for r in rows], "value": [float(r[4]) for r in rows], "unit": [r[5] for r in rows],
        "days_since_infusion": pd.array([r[1] for r in rows], dtype="Int64"),
    })


def test_only_crp_rows_are_used():
    v = crp.crp_values(labs(("A", 0, 6, "CRP", 12, "mg/dL"), ("A", 0, 6, "D-DIMER", 900, "ng/mL FEU")))
    assert v["crp_mg_dl"].tolist() == [12.0]


def test_crp_not_in_mg_dl_is_refused():
    with pytest.raises(ValueError, match="mg/dL"):
        crp.crp_values(labs(("A", 0, 6, "CRP", 120, "mg/L")))


def test_crp_reported_in_mg_l_is_divided_by_10_by_the_loader(fixture_cut):
    # tests/fixtures/valid_cut: S01 CRP 150 mg/L on day 0 (2020-08-02 06:00) -> 15 mg/dL
    b = crp.crp_by_visit(fixture_cut.labs, fixture_cut.population("treated"))
    s01 = b[b["subject_id"] == "S01"].set_index("visit")
    assert s01.loc["Baseline", "crp_mg_dl"] == pytest.approx(15.0)
    # day 7: 4.2 mg/dL; change 4.2 - 15 = -10.8; percent -10.8 / 15 = -72 %
    assert s01.loc["Day 7", "crp_change_mg_dl"] == pytest.approx(-10.8)
    assert s01.loc["Day 7", "crp_change_pct"] == pytest.approx(-72.0)


def test_fixture_cut_headline_by_hand(fixture_cut):
    # baselines: S01 15, S02 18 -> median 16.5, quartiles 15.75 and 17.25 (linear)
    # day 7: S01 4.2 (n = 1); S02 died on day 10 (window 5-10) -> shown as died, not imputed
    b = crp.crp_by_visit(fixture_cut.labs, fixture_cut.population("treated"))
    s = crp.crp_summary(b).set_index("visit")
    assert s.loc["Day 7", "n_measured"] == 1 and s.loc["Day 7", "n_died"] == 1
    h = crp.headline_measures(crp.crp_summary(b)).set_index(["measure", "day"])
    base = h.loc[("crp_mg_dl_median", 0)]
    got = (base["estimate"], base["ci95_lower"], base["ci95_upper"], base["n"])
    assert got == pytest.approx((16.5, 15.75, 17.25, 2))
    assert h.loc[("crp_change_mg_dl_median", 7), "estimate"] == pytest.approx(-10.8)
    assert ("crp_change_mg_dl_median", 0) not in h.index  # no change at baseline
    assert set(h.index.get_level_values("day")) == {0, 1, 3, 7, 14, 21, 28, 60}


def test_a_later_crp_on_the_infusion_day_is_not_the_baseline():
    # day -1: 9; day 0 06:00: 12 (earliest of day 0: the baseline); day 0 20:00: 30 (after the infusion)
    b = crp.crp_by_visit(labs(("A", -1, 6, "CRP", 9, "mg/dL"), ("A", 0, 6, "CRP", 12, "mg/dL"),
                              ("A", 0, 20, "CRP", 30, "mg/dL")), subjects("A"))
    assert b.loc[b["visit"] == "Baseline", "crp_mg_dl"].item() == 12


def test_ratio_to_baseline_and_wilcoxon_at_each_visit():
    # A: 10 -> 5 at day 3; B: 8 -> 2 at day 3: ratios 0.5 and 0.25, GMR sqrt(0.125) = 0.3536
    rows = [("A", 0, 6, "CRP", 10, "mg/dL"), ("A", 3, 6, "CRP", 5, "mg/dL"),
            ("B", 0, 6, "CRP", 8, "mg/dL"), ("B", 3, 6, "CRP", 2, "mg/dL")]
    b = crp.crp_by_visit(labs(*rows), subjects("A", "B"))
    r = crp.crp_ratio_to_baseline(b).set_index("visit").loc["Day 3"]
    assert r["geometric_mean_ratio"] == pytest.approx(np.sqrt(0.125)) and r["n_ratio"] == 2
    w = crp.crp_change_tests(b).set_index("visit").loc["Day 3"]
    # changes -5 and -6: two pairs are too few for a p-value (the smallest possible is 0.5)
    assert np.isnan(w["p_value"]) and w["test_method"].startswith("not done: too few pairs")


def test_crp_by_visit_does_not_modify_its_inputs(fixture_cut):
    l, s = fixture_cut.labs.copy(), fixture_cut.population("treated")
    s0 = s.copy()
    crp.crp_by_visit(l, s)
    pd.testing.assert_frame_equal(l, fixture_cut.labs)
    pd.testing.assert_frame_equal(s, s0)


def test_no_treated_subjects_reports_every_visit_as_not_estimable_not_dropped():
    b = crp.crp_by_visit(labs(("A", 0, 6, "CRP", 1, "mg/dL")), subjects("A").iloc[:0])
    summary = crp.crp_summary(b)
    # baseline + the 7 CRP visits (days 1, 3, 7, 14, 21, 28, 60), nobody behind any of them
    assert summary["target_day"].tolist() == [0, 1, 3, 7, 14, 21, 28, 60]
    assert (summary["n_subjects"] == 0).all() and summary["crp_mg_dl_median"].isna().all()
    assert set(summary["crp_mg_dl_not_estimable_reason"]) == {"no subject infused yet"}
    head = crp.headline_measures(summary)
    assert len(b) == 0 and len(head) == 8 + 7 and head["estimate"].isna().all()
    assert head["method"].str.endswith("; not estimable: no subject infused yet").all()


def test_worst_rank_puts_a_death_above_every_crp_change_and_needs_a_closed_window():
    # cutoff day 12: Day 7 (5-10) closed, Day 14 (11-17) open. Baselines 10 mg/dL on day 0.
    # A: day 7 CRP 4 (-6); B: day 7 CRP 12 (+2); C died day 8. Scale: -6 < +2 < died; median h = 1 -> +2.
    rows = [(s, 0, 6, "CRP", 10, "mg/dL") for s in "ABC"] + [("A", 7, 6, "CRP", 4, "mg/dL"),
                                                              ("B", 7, 6, "CRP", 12, "mg/dL")]
    s = subjects("A", "B", "C", died={"C": 8}, follow_up=12)
    b = crp.crp_by_visit(labs(*rows), s, cutoff_date=DAY0 + pd.Timedelta(days=12))
    w = crp.crp_worst_rank(b).set_index("target_day")
    assert w.loc[7, "worst_rank_median"] == 2.0 and w.loc[7, "worst_rank_q3_state"] == "died"
    assert w.loc[14, "n_not_evaluable"] == 3 and w.loc[14, "n_ranked"] == 0


def test_a_subject_not_followed_to_a_closed_window_is_lost_to_follow_up_in_the_summary():
    # A last known alive day 3, cutoff day 12: Day 7 (ends 10) lost to follow-up, Day 14 (ends 17) not reached
    s = subjects("A", follow_up=3)
    b = crp.crp_by_visit(labs(("A", 0, 6, "CRP", 10, "mg/dL")), s, cutoff_date=DAY0 + pd.Timedelta(days=12))
    m = crp.crp_summary(b).set_index("target_day")
    assert m.loc[7, "n_lost_to_follow_up"] == 1 and m.loc[14, "n_not_reached"] == 1
