"""Liao (NEWS-C) estimands of issue 13: colour improvement among the subjects evaluable by calendar
(the "known so far" figure as a secondary row), clinical stability or discharge alive with death
competing (the pre-specified sustained low score as a sensitivity row), incomplete assessments as a
sensitivity analysis. Hand-made subjects and the demo cuts' numbers quoted in the issue."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.endpoints import liao_improvement as liao
from msc_analysis.stats.binomial import exact_proportion

from .conftest import ROOT
from .test_baseline_and_visits import DAY0
from .test_liao_improvement import scored

CUTS = ROOT / "data" / "cuts"


def subjects_infused(**rows):
    """rows: id=(infusion day, died day or None, discharged day or None, last known alive day), days from DAY0."""
    def at(d):
        return DAY0 + pd.Timedelta(days=d) if d is not None else pd.NaT
    ids = list(rows)
    return pd.DataFrame({
        "subject_id": ids, "infused_on": pd.to_datetime([at(rows[i][0]) for i in ids]),
        "died_on": pd.to_datetime([at(rows[i][1]) for i in ids]),
        "discharged_on": pd.to_datetime([at(rows[i][2]) for i in ids]),
        "last_known_alive_on": pd.to_datetime([at(rows[i][3]) for i in ids])})


def calendar_cases():
    """Cutoff on DAY0 + 30; horizon 28.

    A infused day 0, improved day 5, followed to day 30: improved, evaluable by calendar.
    B infused day 0, died day 10: evaluable, counted as not improved.
    C infused day 20, died day 25 (day 5 after its infusion): day 28 after the cutoff; known so far only.
    D infused day 20, improved on its day 3, alive: not yet evaluable (day 28 after the cutoff).
    E infused day 0, last known alive day 12, never improved: lost to follow-up (day 28 passed).
    """
    subj = subjects_infused(A=(0, None, 15, 30), B=(0, 10, None, 9), C=(20, 25, None, 24),
                            D=(20, None, None, 30), E=(0, None, None, 12))
    s = scored(("A", 0, 8, 8), ("A", 5, 8, 5), ("B", 0, 8, 8), ("B", 5, 8, 8), ("C", 0, 8, 8),
               ("D", 0, 8, 8), ("D", 3, 8, 5), ("E", 0, 8, 8), ("E", 6, 8, 8))
    infusion = subj.set_index("subject_id")["infused_on"] - DAY0
    shift = s["subject_id"].map(infusion)
    return s.assign(measured_at=s["measured_at"] + shift), subj, DAY0 + pd.Timedelta(days=30)


def test_the_headline_counts_subjects_evaluable_by_calendar_deaths_and_survivors_alike():
    s, subj, cutoff = calendar_cases()
    per = liao.level_improvement(s, subj, horizons=(28,), cutoff=cutoff).set_index("subject_id")
    assert per["outcome"].astype(str).to_dict() == {"A": "improved", "B": "died", "C": "died",
                                                    "D": "not yet evaluable", "E": "lost to follow-up"}
    assert per["evaluable_by_calendar"].to_dict() == {"A": True, "B": True, "C": False, "D": False, "E": True}
    assert per["evaluable"].to_dict() == {"A": True, "B": True, "C": False, "D": False, "E": False}
    p = liao.improvement_proportions(per.reset_index()).iloc[0]
    # A improved, B died: 1/2; C and D infused 10 days before the cutoff, E lost: all left out
    assert (p["n_evaluable"], p["n_improved"], p["n_died"]) == (2, 1, 1)
    assert (p["n_not_yet_evaluable"], p["n_lost_to_follow_up"], p["n_no_baseline"]) == (2, 1, 0)
    assert p["n_not_yet_evaluable"] + p["n_lost_to_follow_up"] + p["n_evaluable"] == p["n_subjects"] == 5
    assert p["improved_prop"] == 0.5
    ci = exact_proportion(1, 2).iloc[0]
    assert (p["ci95_lower"], p["ci95_upper"]) == (ci["ci95_lower"], ci["ci95_upper"])


def test_a_death_of_a_subject_infused_too_recently_counts_only_known_so_far():
    s, subj, cutoff = calendar_cases()
    per = liao.level_improvement(s, subj, horizons=(28,), cutoff=cutoff)
    known = liao.improvement_proportions(per, denominator="known").iloc[0]
    # A improved, B and C died (C known at once), D not yet followed to day 28, E lost: 1/3
    assert (known["n_evaluable"], known["n_improved"], known["n_died"]) == (3, 1, 2)
    assert (known["n_not_yet_evaluable"], known["n_lost_to_follow_up"]) == (1, 1)
    assert known["improved_prop"] == pytest.approx(1 / 3)


def test_an_unknown_denominator_is_refused():
    s, subj, cutoff = calendar_cases()
    with pytest.raises(ValueError):
        liao.improvement_proportions(liao.level_improvement(s, subj, horizons=(28,), cutoff=cutoff),
                                     denominator="all")


def test_headline_rows_carry_the_secondary_and_the_sensitivity_with_their_own_names():
    s, subj, cutoff = calendar_cases()
    per = liao.level_improvement(s, subj, horizons=(28,), cutoff=cutoff)
    summary = liao.score_change_summary(liao.liao_by_visit(s, subj))
    calendar = liao.improvement_proportions(per)
    known = liao.improvement_proportions(per, denominator="known")
    h = liao.headline_measures(summary, calendar, known=known, incomplete_sensitivity=calendar)
    rows = h.set_index("measure")
    assert rows.loc["improved_prop", "n"] == 2 and rows.loc["improved_known_prop", "n"] == 3
    assert "evaluable by calendar" in rows.loc["improved_prop", "method"]
    assert rows.loc["improved_known_prop", "method"].startswith("known so far")
    assert rows.loc["improved_incl_incomplete_prop", "method"].startswith("sensitivity, including incomplete")
    flipped = liao.headline_measures(summary, calendar, incomplete_sensitivity=calendar, include_incomplete=True)
    assert "improved_excl_incomplete_prop" in set(flipped["measure"])


def test_incomplete_assessments_can_change_the_improvement():
    # the only lower level of A is on an incomplete assessment (a vital sign missing)
    subj = subjects_infused(A=(0, None, None, 40))
    s = scored(("A", 0, 8, 8), ("A", 5, 8, 4, True), ("A", 6, 8, 8))
    default = liao.level_improvement(s, subj, horizons=(28,), cutoff=DAY0 + pd.Timedelta(days=40))
    used = liao.level_improvement(s, subj, horizons=(28,), cutoff=DAY0 + pd.Timedelta(days=40),
                                  include_incomplete=True)
    assert default["outcome"].astype(str).tolist() == ["not improved"]
    assert used["outcome"].astype(str).tolist() == ["improved"]


# ------------------------------------------------------------- clinical stability or discharge alive

def stable(*rows, subj, cutoff=DAY0 + pd.Timedelta(days=90), age_points=3, **kw):
    return liao.stable_or_discharged(scored(*rows, age_points=age_points), subj, cutoff, **kw).set_index("subject_id")


def test_a_subject_aged_65_or_more_can_reach_stability_on_the_score_without_age():
    # totals 5 with 3 age points: age-free total 2, held 24 h from day 4; the pre-specified rule never fires
    subj = subjects_infused(A=(0, None, None, 90))
    rows = (("A", 0, 8, 9), ("A", 4, 8, 5), ("A", 5, 8, 5))
    r = stable(*rows, subj=subj).loc["A"]
    assert (r["event"], r["time_days"], r["first_event"]) == (1, 4, "low score held")
    old = liao.sustained_low_score(scored(*rows, age_points=3), subj).iloc[0]
    assert old["event"] == 0 and not old["low_score_possible"]


def test_discharge_alive_is_success_at_the_discharge_day_not_censoring():
    subj = subjects_infused(A=(0, None, 9, 90))
    r = stable(("A", 0, 8, 9), ("A", 4, 8, 7), ("A", 8, 8, 7), subj=subj).loc["A"]
    assert (r["event"], r["time_days"], r["first_event"], r["outcome"]) == (1, 9, "discharged alive",
                                                                             "stable or discharged alive")


def test_the_earlier_of_stability_and_discharge_is_the_event_day():
    subj = subjects_infused(A=(0, None, 12, 90))
    r = stable(("A", 0, 8, 9), ("A", 6, 8, 3), ("A", 7, 8, 3), subj=subj).loc["A"]  # age-free 0 from day 6
    assert (r["event"], r["time_days"], r["first_event"], r["run_start_day"]) == (1, 6, "low score held", 6)


def test_death_before_stability_or_discharge_competes_and_a_death_after_discharge_does_not():
    subj = subjects_infused(A=(0, 8, None, 7), B=(0, 20, 10, 19))
    r = stable(("A", 0, 8, 9), ("A", 4, 8, 9), ("B", 0, 8, 9), ("B", 4, 8, 9), subj=subj)
    assert (r.loc["A", "event"], r.loc["A", "time_days"], r.loc["A", "outcome"]) == (2, 8, "died first")
    assert (r.loc["B", "event"], r.loc["B", "time_days"]) == (1, 10)


def test_a_subject_in_hospital_at_the_cutoff_is_censored_at_the_last_day_known_alive():
    subj = subjects_infused(A=(0, None, None, 40))
    r = stable(("A", 0, 8, 9), ("A", 30, 8, 9), subj=subj, cutoff=DAY0 + pd.Timedelta(days=35)).loc["A"]
    assert (r["event"], r["time_days"]) == (0, 35)  # known alive to day 40, capped at the cutoff (day 35)
    r = stable(("A", 0, 8, 9), ("A", 30, 8, 9), subj=subj, cutoff=DAY0 + pd.Timedelta(days=200)).loc["A"]
    assert (r["event"], r["time_days"]) == (0, 40)


def test_stability_or_discharge_after_the_horizon_is_censored_at_the_horizon():
    subj = subjects_infused(A=(0, None, 70, 90))
    r = stable(("A", 0, 8, 9), ("A", 65, 8, 2), ("A", 66, 9, 2), subj=subj, horizon_days=60).loc["A"]
    assert (r["event"], r["time_days"]) == (0, 60)


def test_cumulative_incidence_of_stability_or_discharge_by_hand():
    # A discharged day 5, B stable from day 3, C died day 7, D censored (cutoff) day 10.
    # Aalen-Johansen: day 3: 1/4; day 5: S(5-) = 3/4, 1 of 3 -> 1/4 + 1/4 = 1/2; stays 1/2 (death competes)
    subj = subjects_infused(A=(0, None, 5, 90), B=(0, None, None, 90), C=(0, 7, None, 6), D=(0, None, None, 90))
    t = stable(("B", 0, 8, 9), ("B", 3, 8, 4), ("B", 4, 8, 3), ("D", 0, 8, 9), ("D", 2, 8, 9), subj=subj,
               cutoff=DAY0 + pd.Timedelta(days=10)).reset_index()
    assert t.set_index("subject_id")["time_days"].to_dict() == {"A": 5, "B": 3, "C": 7, "D": 10}
    cif = liao.sustained_low_score_incidence(t, [3, 5, 7, 10])
    assert cif["cumulative_incidence_prop"].tolist() == pytest.approx([0.25, 0.5, 0.5, 0.5])
    death = liao.sustained_low_score_incidence(t, [10], cause=2)
    assert death["cumulative_incidence_prop"].iloc[0] == pytest.approx(0.25)  # S(7-) = 1/2, 1 of 2


def test_stable_or_discharged_does_not_modify_its_inputs():
    subj = subjects_infused(A=(0, None, 9, 90))
    s = scored(("A", 0, 8, 9), ("A", 4, 8, 7), age_points=3)
    s0, subj0 = s.copy(), subj.copy()
    liao.stable_or_discharged(s, subj, DAY0 + pd.Timedelta(days=90))
    liao.level_improvement(s, subj, cutoff=DAY0 + pd.Timedelta(days=90))
    pd.testing.assert_frame_equal(s, s0)
    pd.testing.assert_frame_equal(subj, subj0)


# ------------------------------------------------------------------------ the demo cuts (issue 13)

def demo(cut_id):
    cut = load_cut(CUTS / cut_id)
    treated = cut.population("treated")
    return cut, treated, liao.score_assessments(cut.vitals, treated)


def test_at_the_october_cut_day_60_improvement_is_7_of_8_by_calendar_and_7_of_15_known_so_far():
    cut, treated, s = demo("cut-2020-10-30")
    per = liao.level_improvement(s, treated, horizons=(60,), cutoff=cut.cutoff_date)
    headline = liao.improvement_proportions(per).iloc[0]
    known = liao.improvement_proportions(per, denominator="known").iloc[0]
    assert (headline["n_improved"], headline["n_evaluable"]) == (7, 8)
    assert round(headline["improved_prop"], 2) == 0.88
    assert (known["n_improved"], known["n_evaluable"], known["n_died"]) == (7, 15, 8)


def test_at_the_final_cut_death_first_reaches_the_share_who_died_when_discharge_is_a_success():
    cut, treated, s = demo("cut-2020-12-30")
    t = liao.stable_or_discharged(s, treated, cut.cutoff_date)
    died = int((t["event"] == 2).sum())
    assert died == 8 and (t["event"] == 0).sum() == 0  # nobody censored: the curves are plain proportions
    death = liao.sustained_low_score_incidence(t, [60], cause=2)["cumulative_incidence_prop"].iloc[0]
    assert death == pytest.approx(8 / 31)
    success = liao.sustained_low_score_incidence(t, [60])["cumulative_incidence_prop"].iloc[0]
    assert success == pytest.approx(23 / 31)
    assert np.all(t.loc[t["event"] == 1, "time_days"] <= 60)


def test_without_a_cutoff_the_latest_recorded_date_stands_in_as_a_lower_bound():
    from msc_analysis.endpoints.liao_sustained import cutoff_or_latest_date
    subj = subjects_infused(A=(0, None, 9, 40), B=(5, 20, None, 19))
    assert cutoff_or_latest_date(subj) == DAY0 + pd.Timedelta(days=40)
    assert cutoff_or_latest_date(subj, "2020-12-30") == pd.Timestamp("2020-12-30")
    assert cutoff_or_latest_date(subj.iloc[:0]) == pd.Timestamp(0)
