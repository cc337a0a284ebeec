"""Time to RT-PCR negativity: the rules of docs/endpoints/02_pcr_negativity.md, one test each."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import pcr_negativity as pn
from msc_analysis.report.results import result_rows


def _subjects(ids, died_day=None, treated=True):
    infused = pd.Timestamp("2020-08-01")
    died = [None if d is None else infused + pd.Timedelta(days=d) for d in (died_day or [None] * len(ids))]
    return pd.DataFrame({"subject_id": ids, "arm": "MSC", "treated": treated,
                         "infused_on": [infused] * len(ids), "died_on": pd.to_datetime(died)})


def _pcr(rows):
    """rows: (subject, day, result) with result p / n / i."""
    words = {"p": "positive", "n": "negative", "i": "inconclusive"}
    return pd.DataFrame([{"subject_id": s, "days_since_infusion": d, "result": words[r]} for s, d, r in rows],
                        columns=["subject_id", "days_since_infusion", "result"])


def _one(results, died_day=None, **kwargs):
    """Status of a single subject A whose results are 'day:r' strings."""
    rows = [("A", int(x.split(":")[0]), x.split(":")[1]) for x in results.split()]
    return pn.negativity_status(_subjects(["A"], [died_day]), _pcr(rows), **kwargs).iloc[0]


def test_negativity_is_the_first_of_two_consecutive_negatives():
    r = _one("0:p 3:p 6:n 9:n")
    assert (r["negativity_day"], r["time_days"], r["event"], r["status"]) == (6, 6, 1, "negativity")


def test_an_inconclusive_result_between_two_negatives_neither_breaks_nor_counts():
    assert _one("0:p 5:n 7:i 9:n")["negativity_day"] == 5
    unconfirmed = _one("0:p 5:n 7:i")  # the inconclusive does not confirm the negative
    assert unconfirmed["event"] == 0 and unconfirmed["time_days"] == 5
    assert "not yet confirmed" in unconfirmed["reason"]


def test_a_positive_between_two_negatives_breaks_the_pair():
    r = _one("0:p 4:n 6:p 8:n 10:n")
    assert r["first_negative_day"] == 4 and r["negativity_day"] == 8


def test_first_negative_rule_is_available():
    r = _one("0:p 4:n 6:p 8:n 10:n", confirmation="first_negative")
    assert r["negativity_day"] == 4 and r["negativity_rule"] == "first negative RT-PCR result"


def test_a_day_with_a_positive_and_a_negative_swab_is_positive():
    rows = [("A", 0, "p"), ("A", 3, "n"), ("A", 3, "p"), ("A", 5, "n"), ("A", 7, "n")]
    assert pn.negativity_status(_subjects(["A"]), _pcr(rows)).iloc[0]["negativity_day"] == 5


def test_death_before_negativity_is_a_competing_event_on_the_day_of_death():
    r = _one("0:p 4:p", died_day=9)
    assert (r["time_days"], r["event"], r["status"]) == (9, 2, "died before negativity")


def test_negativity_on_the_day_of_death_counts_as_negativity():
    assert _one("0:p 5:n 9:n", died_day=5)["event"] == 1


def test_a_death_after_day_28_is_not_a_competing_event():
    r = _one("0:p 10:p", died_day=35)
    assert (r["time_days"], r["event"]) == (10, 0)


def test_censoring_is_at_the_last_result_or_at_day_28():
    assert _one("0:p 4:p 8:p")["time_days"] == 8
    late = _one("0:p 20:p 30:p 33:n 35:n")  # still positive on day 28, negativity after the window
    assert (late["time_days"], late["event"], late["reason"]) == (28, 0, "not negative by day 28")


def test_an_inconclusive_last_swab_does_not_extend_follow_up():
    assert _one("0:p 4:p 8:i")["time_days"] == 4


def test_a_negative_confirmed_after_day_28_is_dated_by_the_first_negative():
    r = _one("0:p 27:n 31:n")
    assert (r["time_days"], r["event"]) == (27, 1)


def test_never_positive_after_infusion_is_excluded_by_default_and_listed():
    r = _one("-2:n 3:n 6:n")
    assert r["status"] == "excluded: never positive after infusion" and not r["in_analysis"]
    assert pd.isna(r["event"]) and np.isnan(r["time_days"])
    kept = _one("-2:n 3:n 6:n", never_positive="include")
    assert kept["in_analysis"] and (kept["time_days"], kept["event"]) == (3, 1)


def test_the_status_says_which_never_positive_setting_made_it():
    p = _pcr([("A", 0, "n"), ("A", 3, "n"), ("A", 5, "n")])
    assert pn.negativity_status(_subjects(["A"]), p)["never_positive"].tolist() == ["exclude"]
    included = pn.negativity_status(_subjects(["A"]), p, never_positive="include").iloc[0]
    assert (included["never_positive"], included["negativity_day"], included["in_analysis"]) == ("include", 3, True)


def test_a_negative_baseline_then_a_positive_is_at_risk():
    r = _one("0:n 3:p 7:n 9:n")
    assert r["in_analysis"] and r["negativity_day"] == 7


def test_a_positive_result_before_the_infusion_makes_the_subject_at_risk():
    r = _one("-3:p 2:n 4:n")
    assert (r["baseline_result"], r["negativity_day"]) == ("positive", 2)


def test_a_subject_without_any_result_stays_at_risk_and_is_censored_on_day_0():
    status = pn.negativity_status(_subjects(["A", "B"], [None, 6]), _pcr([("A", 0, "p")]))
    b = status.set_index("subject_id").loc["B"]
    assert b["in_analysis"] and (b["time_days"], b["event"]) == (6, 2)  # died day 6: competing
    none = pn.negativity_status(_subjects(["B"]), _pcr([])).iloc[0]
    assert (none["time_days"], none["event"], none["baseline_result"]) == (0, 0, "none")


def test_every_treated_subject_has_a_row_and_untreated_are_left_out():
    subjects = pd.concat([_subjects(["A", "B"]), _subjects(["C"], treated=False)], ignore_index=True)
    status = pn.negativity_status(subjects, _pcr([("A", 0, "p"), ("C", 0, "p")]))
    assert status["subject_id"].tolist() == ["A", "B"]
    assert status["status"].notna().all() and status["reason"].str.len().gt(0).all()


def test_inputs_are_not_modified():
    subjects = _subjects(["A", "B"], [None, 8])
    pcr = _pcr([("A", 0, "p"), ("A", 3, "n"), ("A", 5, "n"), ("B", 0, "p")])
    before = (subjects.copy(), pcr.copy())
    status = pn.negativity_status(subjects, pcr)
    frozen = status.copy()
    pn.headline_measures(status)
    pn.incidence_curves(status)
    pd.testing.assert_frame_equal(subjects, before[0])
    pd.testing.assert_frame_equal(pcr, before[1])
    pd.testing.assert_frame_equal(status, frozen)


def test_cumulative_incidence_by_hand_with_death_competing():
    # A negative day 3; B dies day 5; C negative day 10; D censored day 12 (last result)
    # day 3: 4 at risk -> F = 1/4, S = 3/4; day 5: death, S = 1/2; day 10: 2 at risk -> F = 1/4 + 1/2 * 1/2
    subjects = _subjects(["A", "B", "C", "D"], [None, 5, None, None])
    pcr = _pcr([("A", 0, "p"), ("A", 3, "n"), ("A", 6, "n"), ("B", 0, "p"), ("C", 0, "p"), ("C", 10, "n"),
                ("C", 12, "n"), ("D", 0, "p"), ("D", 12, "p")])
    status = pn.negativity_status(subjects, pcr)
    inc = pn.incidence_at_days(status, (7, 12, 14)).set_index(["outcome", "time_days"])
    assert inc.loc[("RT-PCR negativity", 7), "cumulative_incidence_prop"] == pytest.approx(0.25)
    assert inc.loc[("RT-PCR negativity", 12), "cumulative_incidence_prop"] == pytest.approx(0.5)
    assert inc.loc[("death before negativity", 12), "cumulative_incidence_prop"] == pytest.approx(0.25)
    # day 14 is after the last follow-up (D censored on day 12): not estimable
    assert np.isnan(inc.loc[("RT-PCR negativity", 14), "cumulative_incidence_prop"])
    # F reaches exactly 1/2 on day 10 and stays there to the last follow-up on day 12: (10 + 12) / 2
    assert pn.median_negativity(status)["median_days"].item() == 11


def test_no_negativity_gives_zero_incidence_and_a_median_not_reached():
    status = pn.negativity_status(_subjects(["A", "B"]), _pcr([("A", 0, "p"), ("A", 9, "p"), ("B", 0, "p")]))
    head = pn.headline_measures(status).set_index(["measure", "day"])
    assert head.loc[("cumulative_incidence_prop", 7), "estimate"] == 0
    assert head.xs("median_days", level="measure")["estimate"].item() == np.inf


def test_no_treated_subjects_gives_empty_tables():
    status = pn.negativity_status(_subjects(["A"], treated=False), _pcr([]))
    assert len(status) == 0
    head = result_rows("pcr_negativity", pn.headline_measures(status))
    assert head.loc[head["measure"] == "cumulative_incidence_prop", "estimate"].isna().all()


def test_headline_measures_fit_the_results_schema_with_a_sensitivity_prefix():
    status = pn.negativity_status(_subjects(["A"]), _pcr([("A", 0, "p"), ("A", 3, "n")]),
                                  confirmation="first_negative")
    rows = result_rows("pcr_negativity", pn.headline_measures(status, prefix="sensitivity_"))
    days = rows.loc[rows["measure"] == "sensitivity_cumulative_incidence_prop", "day"].tolist()
    assert days == [7, 14, 21, 28]
    assert "first negative" in rows["method"].iloc[0]


@pytest.mark.parametrize("kwargs", [dict(confirmation="three"), dict(never_positive="drop"), dict(horizon_days=0)])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        pn.negativity_status(_subjects(["A"]), _pcr([]), **kwargs)


def test_fixture_cut(fixture_cut):
    # S01: positive day 0, negative days 10 and 13 -> negativity day 10; S02: died day 10, no negative
    status = pn.negativity_status(fixture_cut.subjects, fixture_cut.pcr).set_index("subject_id")
    assert status.loc["S01", ["time_days", "event"]].tolist() == [10, 1]
    assert status.loc["S02", ["time_days", "event"]].tolist() == [10, 2]
