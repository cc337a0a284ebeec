"""One source for each subject's status at the cutoff: 00_overview and 03_hospital_stay agree.

Until issue 12, 00_overview ranked "alive, day-60 follow-up complete" above "in hospital", so a
subject still in hospital after day 60 was not counted in hospital there, while 03 (discharge date
missing -> in hospital) counted them: 0 against 1 at the final demo cut. Both pages now take the
hospital status from ``derive.follow_up`` (``overview.status_at_cutoff`` applies it; ``hospital_stay``
derives its follow-up with it).

"Lost to follow-up" is said as such once a subject's follow-up window has closed by the calendar
(cutoff on or after infusion + H days, H = 60, the last registered day) while the last date known
alive is before day H; a subject whose window is still open is "in follow-up".
"""
import re
import shutil

import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.endpoints import hospital_stay, overview

from .conftest import FIXTURE_CUT

INFUSED = pd.Timestamp("2020-08-01")


def _day(d):
    return pd.NaT if d is None else INFUSED + pd.Timedelta(days=d)


def _subjects(rows):
    """rows: (id, discharged, died, last known alive) as days since the infusion (2020-08-01)."""
    return pd.DataFrame([{"subject_id": r[0], "arm": "MSC", "treated": True, "infused_on": INFUSED,
                          "admitted_on": _day(-1), "discharged_on": _day(r[1]), "died_on": _day(r[2]),
                          "last_known_alive_on": _day(r[3])} for r in rows])


def _status(rows, cutoff_day):
    return overview.status_at_cutoff(_subjects(rows), _day(cutoff_day)).set_index("subject_id")


def _old_overview_in_hospital(subjects):
    """Subjects 00_overview counted "in hospital" before issue 12: died and day-60 complete ranked first."""
    t = subjects[subjects["treated"]]
    days = (t["died_on"].fillna(t["last_known_alive_on"]) - t["infused_on"]).dt.days
    return set(t.loc[t["discharged_on"].isna() & ~(days >= 60) & t["died_on"].isna(), "subject_id"])


@pytest.fixture
def in_hospital_after_day_60(tmp_path):
    """The fixture cut with S01 never discharged, known alive on day 74, cutoff 2020-12-30."""
    path = tmp_path / "cut"
    shutil.copytree(FIXTURE_CUT, path)
    subjects = pd.read_csv(path / "subjects.csv", dtype=str, keep_default_na=False)
    s01 = subjects["subject_id"] == "S01"
    subjects.loc[s01, "discharged_on"] = ""
    subjects.loc[s01, "last_known_alive_on"] = "2020-10-15"
    subjects.to_csv(path / "subjects.csv", index=False)
    meta = path / "cut.yaml"
    text = re.sub(r"(?m)^cutoff_date:.*$", "cutoff_date: 2020-12-30", meta.read_text())
    meta.write_text(re.sub(r"(?m)^cut_id:.*$", "cut_id: fixture-in-hospital-day-74", text))
    return load_cut(path)


def test_both_pages_count_a_subject_in_hospital_after_day_60_as_in_hospital(in_hospital_after_day_60):
    cut = in_hospital_after_day_60
    # the old rules disagreed on this cut: 03 said 1 in hospital, 00 said 0
    assert "S01" not in _old_overview_in_hospital(cut.subjects)
    status = overview.status_at_cutoff(cut.subjects, cut.cutoff_date).set_index("subject_id")
    course = hospital_stay.hospital_course(cut.subjects, cut.cutoff_date).set_index("subject_id")
    assert status.loc["S01", "hospital_status"] == course.loc["S01", "hospital_status"] == "in hospital at the cutoff"
    assert status.loc["S01", "status"] == "alive, day-60 follow-up complete"
    counts = overview.status_counts(status.reset_index()).set_index("status")
    in_03 = hospital_stay.status_counts(course.reset_index()).set_index("hospital_status")["n_subjects"]
    assert counts.loc["total", "in hospital at the cutoff"] == in_03["in hospital at the cutoff"]
    assert counts.loc["total"].drop("total").tolist() == in_03.tolist()
    # and the headline rows of 03 say the same
    rows_03 = hospital_stay.headline_measures(course.reset_index()).set_index(["measure", "group"])
    assert rows_03.loc[("subjects", "in hospital at the cutoff"), "estimate"] == in_03["in hospital at the cutoff"]


def test_hospital_status_is_read_from_discharge_and_death_dates_only():
    s = _status([("home", 10, None, 20), ("home then died", 10, 30, 29), ("died in", None, 8, 7),
                 ("still in", None, None, 90), ("still in, not seen", None, None, 5)], 120)
    assert s["hospital_status"].tolist() == ["discharged alive", "discharged alive", "died in hospital",
                                             "in hospital at the cutoff", "in hospital at the cutoff"]


def test_a_discharge_on_the_cutoff_day_counts_as_a_discharge():
    s = _status([("A", 20, None, 20)], 20)
    assert s.loc["A", "hospital_status"] == "discharged alive"


def test_alive_before_day_60_with_the_window_closed_is_lost_to_follow_up():
    s = _status([("A", 10, None, 25)], 60)  # cutoff on day 60: the window has closed
    assert s.loc["A", "status"] == "lost to follow-up"
    assert s.loc["A", "status_text"] == "lost to follow-up (last known alive day 25)"


def test_alive_before_day_60_with_the_window_still_open_is_in_follow_up():
    s = _status([("A", 10, None, 25)], 59)  # cutoff on day 59: day 60 is still to come
    assert s.loc["A", "status"] == "in follow-up"
    assert s.loc["A", "status_text"] == "in follow-up (known alive to day 25)"


def test_a_subject_not_seen_for_weeks_but_inside_the_window_is_in_follow_up_not_lost():
    s = _status([("A", 5, None, 6)], 50)
    assert s.loc["A", "status"] == "in follow-up"


def test_known_alive_on_day_60_completes_follow_up_and_a_death_stays_a_death():
    s = _status([("done", 10, None, 60), ("died late", 10, 70, 69), ("died early", None, 8, 7)], 120)
    assert s["status"].tolist() == ["alive, day-60 follow-up complete", "died", "died"]
    assert s.loc["died early", "status_text"] == "died (day 8)"


def test_lost_without_any_date_known_alive_says_so():
    s = _status([("A", None, None, None)], 90)
    assert s.loc["A", "status_text"] == "lost to follow-up (no date known alive)"


def test_hospital_free_days_use_the_same_lost_to_follow_up_wording():
    subjects = _subjects([("lost", 10, None, 25), ("open", 10, None, 25)])
    subjects.loc[1, "infused_on"] = _day(30)  # infused 30 days later: its day 60 is after the cutoff
    subjects.loc[1, "last_known_alive_on"] = _day(55)
    course = hospital_stay.hospital_course(subjects, _day(70)).set_index("subject_id")
    assert course.loc["lost", "hospital_free_days_status"] == "lost to follow-up (last known alive day 25)"
    assert course.loc["open", "hospital_free_days_status"] == "in follow-up (known alive to day 25)"
    summary = hospital_stay.hospital_free_days_summary(course.reset_index()).set_index("analysis")
    # the headline counts "lost" (day 60 has passed) and leaves it out; "open" is not evaluable by calendar
    assert summary.loc["evaluable by calendar", ["n_subjects", "n_lost_to_follow_up", "n"]].tolist() == [1, 1, 0]
    assert summary.loc["known so far", ["n_lost_to_follow_up", "n_not_yet_reached", "n"]].tolist() == [1, 1, 0]


def test_status_counts_cross_follow_up_and_hospital_status_and_add_up_to_n():
    s = _status([("A", 10, None, 60), ("B", None, 8, 7), ("C", None, None, 90), ("D", 10, None, 25)], 120)
    counts = overview.status_counts(s.reset_index()).set_index("status")
    assert counts.loc["total", "total"] == 4
    assert counts.loc["lost to follow-up", "discharged alive"] == 1
    assert counts.loc["alive, day-60 follow-up complete", "in hospital at the cutoff"] == 1
    assert counts.drop(index="total")["total"].sum() == 4


def test_the_status_does_not_modify_its_input():
    subjects = _subjects([("A", 10, None, 25)])
    before = subjects.copy()
    overview.status_at_cutoff(subjects, _day(90))
    pd.testing.assert_frame_equal(subjects, before)


def test_no_treated_subject_gives_an_empty_status_and_zero_counts():
    s = _subjects([("A", 10, None, 25)]).assign(treated=False)
    status = overview.status_at_cutoff(s, _day(90))
    assert len(status) == 0
    assert overview.status_counts(status).set_index("status").loc["total", "total"] == 0
