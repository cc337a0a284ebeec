"""Overall survival: every treated subject has a time and a status; estimates by hand and plots."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import overall_survival as os_
from msc_analysis.report import survival_plots
from msc_analysis.report.results import result_rows
from msc_analysis.report.survival_tables import format_days, format_days_ci, format_percent_ci

CUTOFF = "2020-10-01"


def _subjects(**overrides):
    d = pd.to_datetime
    frame = pd.DataFrame({
        "subject_id": ["A", "B", "C", "D", "E"],
        "arm": "MSC",
        "treated": [True, True, True, True, False],
        "infused_on": d(["2020-08-01", "2020-08-01", "2020-08-10", "2020-08-20", None]),
        "died_on": d(["2020-08-11", None, None, None, None]),
        "last_known_alive_on": d(["2020-08-10", "2020-09-30", "2020-08-25", None, "2020-08-01"]),
        "discharged_on": d([None, "2020-08-15", "2020-08-20", None, None]),
    })
    return frame.assign(**overrides)


def test_every_treated_subject_has_one_row_with_a_status_and_untreated_are_left_out():
    times = os_.survival_times(_subjects(), CUTOFF)
    assert times["subject_id"].tolist() == ["A", "B", "C", "D"]
    assert times["status"].tolist() == ["died", "censored", "censored", "censored"]
    assert times["reason"].notna().all()


def test_death_is_the_event_in_days_since_the_infusion():
    a = os_.survival_times(_subjects(), CUTOFF).iloc[0]
    assert (a["time_days"], a["event"]) == (10, 1)  # 2020-08-01 -> 2020-08-11


def test_alive_subject_is_censored_at_the_last_date_known_alive():
    c = os_.survival_times(_subjects(), CUTOFF).iloc[2]
    assert (c["time_days"], c["event"], c["reason"]) == (15, 0, "alive at last contact before the cutoff")


def test_censoring_is_at_the_cutoff_when_known_alive_later():
    s = _subjects(last_known_alive_on=pd.to_datetime(["2020-08-10", "2020-12-01", "2020-08-25", None, None]))
    b = os_.survival_times(s, CUTOFF).iloc[1]
    assert (b["time_days"], b["reason"]) == (61, "alive at the cutoff")  # 2020-08-01 -> 2020-10-01


def test_subject_with_no_date_known_alive_is_censored_on_day_0_not_dropped():
    d = os_.survival_times(_subjects(), CUTOFF).iloc[3]
    assert (d["time_days"], d["event"]) == (0, 0)
    assert d["reason"] == "no date known alive after the infusion"


def test_a_discharge_after_the_last_date_known_alive_extends_the_censoring_time():
    # C: last known alive 2020-08-25 (day 15); discharged alive 2020-09-04 (day 25): alive then
    s = _subjects(discharged_on=pd.to_datetime([None, "2020-08-15", "2020-09-04", None, None]))
    c = os_.survival_times(s, CUTOFF).iloc[2]
    assert (c["time_days"], c["event"], c["reason"]) == (25, 0, "alive at last contact before the cutoff")


def test_survival_times_carry_the_shared_follow_up_status_at_the_cutoff():
    # cutoff 2020-10-01: A died; B (day 60 on 2020-09-30, seen to the cutoff) complete; C, infused
    # 2020-08-10, last seen day 15, day 60 falls after the cutoff: in follow-up; D no date known alive
    times = os_.survival_times(_subjects(), CUTOFF)
    assert times["follow_up_status"].astype(str).tolist() == [
        "died", "alive, day-60 follow-up complete", "in follow-up", "in follow-up"]
    assert times["days_to_cutoff"].tolist() == [61, 61, 52, 42]


def test_inputs_are_not_modified():
    s = _subjects()
    before = s.copy()
    times = os_.survival_times(s, CUTOFF)
    frozen = times.copy()
    os_.headline_measures(times)
    os_.swimmer_lanes(times, s)
    pd.testing.assert_frame_equal(s, before)
    pd.testing.assert_frame_equal(times, frozen)


def test_survival_at_day_30_and_median_by_hand():
    # 4 treated: death day 10; censored days 60, 15, 0. Day 10: at risk 3 (A, B, C) -> S = 2/3
    times = os_.survival_times(_subjects(), CUTOFF)
    at = os_.survival_at_days(times, (30, 60)).set_index("day")
    assert at.loc[30, "survival_prop"] == pytest.approx(2 / 3)
    assert at.loc[30, "n_at_risk"] == 1 and at.loc[30, "n"] == 4
    assert os_.median_survival_by_group(times)["median_days"].item() == np.inf  # never below 1/2


def test_risk_table_counts_deaths_and_censored_before_each_day():
    # A died day 10, B censored day 60, C censored day 15, D censored day 0 (no date known alive)
    times = os_.survival_times(_subjects(), CUTOFF)
    table = os_.risk_table_by_group(times, (0, 10, 14, 30, 60)).set_index("day")
    rows = ["n_at_risk", "deaths_before_day", "censored_before_day"]
    # day 0: D (censored on day 0) is still at risk on day 0 and censored before day 1
    assert table.loc[0, rows].tolist() == [4, 0, 0]
    assert table.loc[10, rows].tolist() == [3, 0, 1]  # A dies on day 10: at risk that day
    assert table.loc[14, rows].tolist() == [2, 1, 1]
    assert table.loc[30, rows].tolist() == [1, 1, 2]
    assert table.loc[60, rows].tolist() == [1, 1, 2]  # B followed to day 60 is at risk, not censored before it


def test_single_arm_gives_no_logrank_row_and_arms_get_curves_and_a_test():
    times = os_.survival_times(_subjects(), CUTOFF)
    assert "logrank_p" not in os_.headline_measures(times)["measure"].tolist()
    two = os_.survival_times(_subjects(arm=["X", "X", "Y", "Y", "Y"]), CUTOFF)
    assert [g for g, _ in os_.analysis_groups(two)] == ["all", "X", "Y"]
    assert set(os_.km_curves(two)["group"]) == {"all", "X", "Y"}
    measures = os_.headline_measures(two)
    assert "logrank_p" in measures["measure"].tolist()
    assert set(measures.loc[measures["measure"] == "survival_prop", "group"]) == {"all", "X", "Y"}


def test_an_empty_arm_is_shown_without_estimates():
    times = os_.survival_times(_subjects(), CUTOFF)
    times["arm"] = pd.Categorical(times["arm"], categories=["MSC", "placebo"])
    at = os_.survival_at_days(times, (30,)).set_index("group")
    assert at.loc["placebo", "n"] == 0 and np.isnan(at.loc["placebo", "survival_prop"])
    assert os_.logrank_by_arm(times)["n_groups"].item() == 1  # the empty arm is not compared


def test_no_treated_subjects_gives_empty_tables_and_missing_estimates():
    times = os_.survival_times(_subjects(treated=False), CUTOFF)
    assert len(times) == 0
    head = os_.headline_measures(times)
    assert head.loc[head["measure"] == "survival_prop", "estimate"].isna().all()
    assert head.loc[head["measure"] == "deaths_by_day", "estimate"].item() == 0


def test_headline_measures_fit_the_results_schema():
    rows = result_rows("overall_survival", os_.headline_measures(os_.survival_times(_subjects(), CUTOFF)))
    keyed = rows.set_index(["measure", "day"], drop=False)
    assert {("survival_prop", 30.0), ("survival_prop", 60.0), ("deaths_by_day", 60.0)} <= set(keyed.index)
    assert {"median_days", "n"} <= set(rows["measure"])
    assert rows.loc[rows["measure"] == "n", "estimate"].item() == 4


def test_fixture_cut_survival(fixture_cut):
    # S01 infused 2020-08-02, last seen 2020-09-25: censored day 54; S02 died day 10 of 2 at risk
    times = os_.survival_times(fixture_cut.subjects, fixture_cut.cutoff_date)
    assert times.set_index("subject_id")[["time_days", "event"]].to_dict("index") == {
        "S01": {"time_days": 54.0, "event": 0}, "S02": {"time_days": 10.0, "event": 1}}
    at = os_.survival_at_days(times).set_index("day")
    assert at.loc[30, "survival_prop"] == 0.5
    assert np.isnan(at.loc[60, "survival_prop"])  # nobody followed to day 60
    # S = 1/2 from day 10 to the last follow-up (54): R's midpoint rule gives (10 + 54) / 2
    assert os_.median_survival_by_group(times)["median_days"].item() == 32


def test_swimmer_lanes_keep_only_what_happened_during_follow_up():
    s = _subjects()
    times = os_.survival_times(s, CUTOFF)
    negativity = pd.DataFrame({"subject_id": ["B", "C"], "negativity_day": [7.0, 40.0]})
    lanes = os_.swimmer_lanes(times, s, negativity).set_index("subject_id")
    assert lanes.loc["B", ["discharge_day", "negativity_day"]].tolist() == [14, 7]
    assert np.isnan(lanes.loc["C", "negativity_day"])  # day 40 is after C's censoring on day 15
    assert lanes.loc["A", "death_day"] == 10 and lanes.loc["A", "died"]


def test_swimmer_draws_an_evenly_spaced_sample_of_a_large_trial_and_says_so():
    lanes = pd.DataFrame({"subject_id": [f"S{i:04d}" for i in range(2000)], "end_day": np.arange(2000) % 61,
                          "died": False, "discharge_day": np.nan, "negativity_day": np.nan, "death_day": np.nan})
    shown = survival_plots.select_lanes(lanes, 60)
    assert len(shown) == 60 and shown["end_day"].is_monotonic_decreasing
    assert shown["end_day"].iloc[0] == 60 and shown["end_day"].iloc[-1] == 0  # both ends kept
    fig = survival_plots.swimmer_figure(lanes, max_subjects=60)
    assert "60 of 2000" in fig.axes[0].get_title(loc="left")
    plt.close(fig)


def test_risk_table_is_drawn_under_the_plot_at_the_days_of_its_x_axis():
    times = os_.survival_times(_subjects(), CUTOFF)
    risk = os_.risk_table_by_group(times, (0, 14, 30))
    fig = survival_plots.km_figure(os_.km_curves(times), risk, horizon_days=30)
    plot_ax, table_ax = fig.axes
    assert table_ax.get_xlim() == plot_ax.get_xlim()
    at_risk_row = sorted((t.get_position()[0], t.get_text()) for t in table_ax.texts if t.get_position()[1] == 0)
    assert at_risk_row == [(0, "4"), (14, "2"), (30, "1")]
    drawn = {(t.get_position()[1], t.get_position()[0]): t.get_text() for t in table_ax.texts}
    for i, column in enumerate(survival_plots.KM_RISK_ROWS.values()):  # the rows of the page's table
        assert [drawn[(-i, d)] for d in (0, 14, 30)] == [str(v) for v in risk[column]]
    plt.close(fig)


def test_not_reached_is_shown_as_nr_and_a_missing_number_as_ne_never_a_dash():
    assert format_days_ci(np.inf, 10, np.inf) == "NR (10–NR)"
    assert format_days(np.nan) == "NE"
    assert format_percent_ci(np.nan, np.nan, np.nan, reason="nobody at risk at day 60") == \
        "not estimable: nobody at risk at day 60"


def test_plots_for_a_cut_without_treated_subjects_say_why_instead_of_drawing_empty_axes():
    s = _subjects(treated=False)
    times = os_.survival_times(s, CUTOFF)
    km = survival_plots.km_figure(os_.km_curves(times), os_.risk_table_by_group(times))
    swim = survival_plots.swimmer_figure(os_.swimmer_lanes(times, s))
    for fig in (km, swim):
        (ax,) = fig.axes  # one blank axis holding the sentence: no plot, no risk table
        assert not ax.axison and "not estimable (no subject infused yet)" in ax.texts[0].get_text()
        plt.close(fig)


def test_an_empty_arm_says_why_its_estimates_are_missing():
    times = os_.survival_times(_subjects(), CUTOFF)
    times["arm"] = pd.Categorical(times["arm"], categories=["MSC", "placebo"])
    at = os_.survival_at_days(times, (30,)).set_index("group")
    assert at.loc["placebo", "not_estimable_reason"] == "no subject in this group"
    assert at.loc["MSC", "not_estimable_reason"] == ""
    curve = os_.km_curves(times).set_index("group").loc["placebo"]
    assert np.isnan(curve["survival_prop"]) and curve["not_estimable_reason"] == "no subject in this group"


# Reference values below were computed with R 4.x, survival 3.x (Rscript, November 2026):
#   library(survival)
#   time <- c(3, 5, 5, 8, 10, 12, 15, 20, 22, 30); status <- c(1, 0, 1, 1, 0, 1, 0, 0, 1, 0)
#   summary(survfit(Surv(time, 1 - status) ~ 1, conf.type = "log-log"))$table   # median 20, LCL 5, UCL NA
#   quantile(survfit(Surv(time, status) ~ 1, conf.type = "log-log"), c(.25, .5, .75))
#     # quantile 8 22 NA; lower 3 3 12; upper 22 NA NA
# and, on the demo cuts (time_days, event of survival_times written to CSV):
#   cut-2020-10-30: reverse KM median 38 (19 to NA); quartiles 26, NA, NA (lower 10, 26, NA; upper NA)
#   cut-2020-12-30: reverse KM median 60 (60 to 60); quartiles 35, NA, NA (lower 12, NA, NA; upper NA)
_R_TIME = [3.0, 5, 5, 8, 10, 12, 15, 20, 22, 30]
_R_STATUS = [1, 0, 1, 1, 0, 1, 0, 0, 1, 0]


def test_median_follow_up_by_reverse_kaplan_meier_matches_r_survfit_with_status_reversed():
    from msc_analysis.endpoints.survival_follow_up import reverse_km_follow_up
    t = pd.DataFrame({"arm": "MSC", "time_days": _R_TIME, "event": _R_STATUS})
    row = reverse_km_follow_up(t).iloc[0]
    assert (row["median_days"], row["ci95_lower"], row["ci95_upper"]) == (20.0, 5.0, np.inf)  # R: NA = not reached
    # observed follow-up, deaths included: median of the ten times = (10 + 12) / 2
    assert (row["observed_median_days"], row["observed_min_days"], row["observed_max_days"]) == (11.0, 3.0, 30.0)
    assert row["n_censored"] == 5


def test_survival_quartiles_match_r_quantile_of_survfit():
    q = os_.survival_quantiles(_R_TIME, _R_STATUS)
    assert q["quantile_prop"].tolist() == [0.25, 0.5, 0.75]
    assert q["time_days"].tolist() == [8.0, 22.0, np.inf]
    assert q["ci95_lower"].tolist() == [3.0, 3.0, 12.0]
    assert q["ci95_upper"].tolist() == [22.0, np.inf, np.inf]


def test_survival_quartiles_with_nobody_are_missing_not_zero():
    q = os_.survival_quantiles([], [])
    assert q["time_days"].isna().all() and len(q) == 3
