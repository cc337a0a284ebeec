"""The one follow-up derivation (``derive.follow_up``): rules, each on hand-made subjects.

Every subject is infused on 2020-08-01 (day 0) unless said; days below are days since the infusion.
H is the horizon (day 60 unless said). The loader blanks dates after the cutoff; these frames are
made by hand, so they only hold dates on or before the cutoff, except where a test says otherwise.
"""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.derive import follow_up as fu

INFUSED = pd.Timestamp("2020-08-01")


def _day(d):
    return pd.NaT if d is None else INFUSED + pd.Timedelta(days=d)


def _subjects(rows):
    """rows: (id, discharged, died, last known alive) as days since the infusion, or None."""
    return pd.DataFrame([{"subject_id": r[0], "infused_on": INFUSED, "discharged_on": _day(r[1]),
                          "died_on": _day(r[2]), "last_known_alive_on": _day(r[3])} for r in rows])


def _follow(rows, cutoff_day, horizon=60):
    return fu.follow_up(_subjects(rows), _day(cutoff_day), horizon_days=horizon).set_index("subject_id")


def test_a_death_is_followed_to_the_death_and_its_status_is_died_whatever_the_day():
    f = _follow([("early", None, 8, 7), ("late", 10, 70, 69)], 120)
    assert f["follow_up_days"].tolist() == [8, 70]
    assert f["status"].tolist() == ["died", "died"]
    assert f.loc["early", "status_text"] == "died (day 8)"


def test_known_alive_on_day_h_completes_follow_up():
    f = _follow([("A", 10, None, 60), ("B", 10, None, 59)], 120)
    assert f.loc["A", "status"] == "alive, day-60 follow-up complete"
    assert f.loc["B", "status"] == "lost to follow-up"  # day 60 passed by the calendar, known alive to day 59


def test_alive_and_not_followed_to_day_h_is_lost_once_day_h_has_passed_and_in_follow_up_before():
    lost = _follow([("A", 10, None, 25)], 60)   # cutoff exactly on day 60: day 60 has passed by the calendar
    open_ = _follow([("A", 10, None, 25)], 59)  # cutoff on day 59: day 60 is still to come
    assert lost.loc["A", "status_text"] == "lost to follow-up (last known alive day 25)"
    assert open_.loc["A", "status_text"] == "in follow-up (known alive to day 25)"
    assert lost.loc["A", "days_to_cutoff"] == 60 and open_.loc["A", "days_to_cutoff"] == 59


def test_a_discharge_alone_is_a_contact_alive():
    f = _follow([("A", 12, None, None)], 30)
    assert f.loc["A", "known_alive_day"] == 12 and f.loc["A", "follow_up_days"] == 12
    assert f.loc["A", "hospital_status"] == "discharged alive"
    assert f.loc["A", "status_text"] == "in follow-up (known alive to day 12)"


def test_the_later_of_discharge_and_last_date_known_alive_counts():
    f = _follow([("A", 20, None, 15), ("B", 10, None, 40)], 90)
    assert f["known_alive_day"].tolist() == [20, 40]


def test_no_contact_at_all_is_followed_for_0_days_and_said_so():
    f = _follow([("lost", None, None, None)], 90)
    assert f.loc["lost", "follow_up_days"] == 0 and np.isnan(f.loc["lost", "known_alive_day"])
    assert f.loc["lost", "status_text"] == "lost to follow-up (no date known alive)"
    g = _follow([("open", None, None, None)], 20)
    assert g.loc["open", "status_text"] == "in follow-up (no date known alive yet)"


def test_a_last_date_known_alive_after_the_cutoff_is_capped_at_the_cutoff():
    f = _follow([("A", None, None, 75)], 50)  # a date the loader would have blanked, given by hand
    assert f.loc["A", "known_alive_day"] == 50 and f.loc["A", "status"] == "in follow-up"


def test_evaluable_by_calendar_is_infused_at_least_h_days_before_the_cutoff_whatever_happened():
    s = _subjects([("died", None, 5, 4), ("alive", 10, None, 30), ("late", 10, None, 30)])
    s.loc[2, ["infused_on", "discharged_on", "last_known_alive_on"]] += pd.Timedelta(days=1)
    f = fu.follow_up(s, _day(60))
    assert fu.evaluable_by_calendar(f, 60).tolist() == [True, True, False]
    assert f["days_to_cutoff"].tolist() == [60, 60, 59]


def test_state_at_day_h_for_each_kind_of_subject():
    rows = [("died by H", None, 20, 19), ("death after H", 10, 70, 69), ("complete", 10, None, 65),
            ("lost", 10, None, 30), ("no contact", None, None, None)]
    f = _follow(rows, 90).reset_index()
    state = fu.state_at_day(f, 60)
    assert list(state) == ["died", "followed", "followed", "lost to follow-up", "lost to follow-up"]
    # the same subjects at day 20: a death on day 20 is a death by day 20; the others are followed
    assert list(fu.state_at_day(f, 20)) == ["died", "followed", "followed", "followed", "lost to follow-up"]


def test_day_h_after_the_cutoff_is_not_yet_reached_unless_the_subject_died_by_it():
    f = _follow([("died", None, 10, 9), ("alive", 10, None, 40)], 40).reset_index()
    assert list(fu.state_at_day(f, 60)) == ["died", "not yet reached"]


def test_day_state_counts_add_up_to_the_subjects_on_every_day():
    rows = [("a", None, 20, 19), ("b", 10, 70, 69), ("c", 10, None, 65), ("d", 10, None, 30), ("e", None, None, None)]
    counts = fu.day_state_counts(_follow(rows, 90).reset_index(), [28, 60, 100]).set_index("day")
    parts = counts[["n_died", "n_followed", "n_lost_to_follow_up", "n_not_yet_reached"]].sum(axis=1)
    assert (parts == counts["n_subjects"]).all() and (counts["n_subjects"] == 5).all()
    assert counts.loc[60].tolist() == [5, 5, 1, 2, 2, 0]
    # day 100 is after the cutoff (day 90): nobody is evaluable by calendar
    assert counts.loc[100, ["n_evaluable_by_calendar", "n_died", "n_not_yet_reached"]].tolist() == [0, 2, 3]


def test_horizon_sets_the_status_and_its_words():
    f = _follow([("A", 10, None, 30)], 40, horizon=28)
    assert f.loc["A", "status_text"] == "alive, day-28 follow-up complete"


def test_hospital_status_at_the_cutoff():
    f = _follow([("home", 10, None, 20), ("home then died", 10, 30, 29), ("died in", None, 8, 7),
                 ("still in", None, None, 90)], 120)
    assert f["hospital_status"].tolist() == ["discharged alive", "discharged alive", "died in hospital",
                                             "in hospital at the cutoff"]


def test_only_treated_subjects_are_kept_when_a_treated_column_is_given():
    s = _subjects([("A", 10, None, 20), ("B", None, None, None)]).assign(treated=[True, False])
    s.loc[1, "infused_on"] = pd.NaT
    assert fu.follow_up(s, _day(90))["subject_id"].tolist() == ["A"]


def test_a_subject_without_an_infusion_date_is_refused():
    s = _subjects([("A", 10, None, 20)])
    s.loc[0, "infused_on"] = pd.NaT
    with pytest.raises(ValueError, match="infused_on"):
        fu.follow_up(s, _day(90))


def test_the_input_is_not_modified():
    s = _subjects([("A", 10, None, 20), ("B", None, 5, 4)])
    before = s.copy()
    f = fu.follow_up(s, _day(90))
    frozen = f.copy()
    fu.state_at_day(f, 60)
    fu.day_state_counts(f, [28, 60])
    pd.testing.assert_frame_equal(s, before)
    pd.testing.assert_frame_equal(f, frozen)
