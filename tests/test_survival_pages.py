"""Pages 01 and 02: risk tables whose rows add up, lost to follow-up said as such, headline rows with n."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.derive.follow_up import follow_up, state_at_day
from msc_analysis.endpoints import overall_survival as os_
from msc_analysis.endpoints import pcr_follow_up as pf
from msc_analysis.endpoints import pcr_negativity as pn
from msc_analysis.endpoints import survival_follow_up as sf
from msc_analysis.report import follow_up_tables, survival_plots, survival_tables
from msc_analysis.report.results import result_rows

from .conftest import ROOT

DEMO_CUTS = ("cut-2020-09-15", "cut-2020-10-30", "cut-2020-12-30")
DAYS = (0, 7, 14, 21, 28, 30, 45, 60, 90)


@pytest.fixture(scope="module")
def demo():
    return {c: load_cut(ROOT / "data" / "cuts" / c) for c in DEMO_CUTS}


def _times(rows):
    """rows: (subject, infused_on, time_days, event, reason)."""
    frame = pd.DataFrame(rows, columns=["subject_id", "infused_on", "time_days", "event", "reason"])
    return frame.assign(arm="MSC", infused_on=pd.to_datetime(frame["infused_on"]),
                        time_days=frame["time_days"].astype(float))


# ------------------------------------------------------------------ risk tables add up

def test_risk_table_rows_add_up_to_n_on_a_hand_made_case():
    # deaths on days 3 and 7, censorings on days 0, 7 and 60, one subject followed past day 60
    t = _times([("A", "2020-08-01", 3, 1, "death"), ("B", "2020-08-01", 7, 1, "death"),
                ("C", "2020-08-01", 0, 0, "no date known alive after the infusion"),
                ("D", "2020-08-01", 7, 0, "alive at last contact before the cutoff"),
                ("E", "2020-08-01", 60, 0, "alive at the cutoff"), ("F", "2020-08-01", 75, 0, "alive at the cutoff")])
    r = os_.risk_table_by_group(t, (0, 3, 7, 8, 60, 61)).set_index("day")
    assert r["n_at_risk"].tolist() == [6, 5, 4, 2, 2, 1]
    assert r["deaths_before_day"].tolist() == [0, 0, 1, 2, 2, 2]  # the day-7 death counts from day 8
    assert r["censored_before_day"].tolist() == [0, 1, 1, 2, 2, 3]  # censored on day 7: before day 8
    assert (r["n_at_risk"] + r["deaths_before_day"] + r["censored_before_day"] == 6).all()


@pytest.mark.parametrize("cut_id", DEMO_CUTS)
def test_overall_survival_risk_table_adds_up_on_every_demo_cut(demo, cut_id):
    cut = demo[cut_id]
    times = os_.survival_times(cut.subjects, cut.cutoff_date)
    r = os_.risk_table_by_group(times, DAYS)
    assert (r["n_at_risk"] + r["deaths_before_day"] + r["censored_before_day"] == len(times)).all()
    at = os_.survival_at_days(times, (30, 60)).set_index("day")["n_at_risk"]  # the same risk set as the KM
    assert r.set_index("day").loc[[30, 60], "n_at_risk"].tolist() == at.tolist()


def test_at_the_final_cut_censored_before_day_60_is_not_the_number_at_risk(demo):
    cut = demo["cut-2020-12-30"]
    r = os_.risk_table_by_group(os_.survival_times(cut.subjects, cut.cutoff_date)).set_index("day").loc[60]
    assert (r["n_at_risk"], r["deaths_before_day"], r["censored_before_day"]) == (22, 8, 1)


@pytest.mark.parametrize("cut_id", DEMO_CUTS)
def test_pcr_risk_table_adds_up_on_every_demo_cut(demo, cut_id):
    cut = demo[cut_id]
    status = pn.negativity_status(cut.subjects, cut.pcr)
    r = pn.risk_table(status, (0, 7, 14, 21, 28, 40))
    total = r["n_at_risk"] + r["events_before_day"] + r["competing_before_day"] + r["censored_before_day"]
    assert (total == int(status["in_analysis"].sum())).all() and (r["n"] == total).all()


def test_numbers_drawn_under_the_cumulative_incidence_plot_are_the_rows_of_the_table(demo):
    cut = demo["cut-2020-10-30"]
    status = pn.negativity_status(cut.subjects, cut.pcr)
    risk = pn.risk_table(status, (0, 7, 14, 21, 28))
    rows = survival_plots.competing_risk_rows("Negativity", "Death before negativity")
    fig = survival_plots.cumulative_incidence_figure(pn.incidence_curves(status), risk, horizon_days=28, rows=rows,
                                                     title="Figure 2.1 Test")
    table_ax = fig.axes[1]
    assert [t.get_text() for t in table_ax.get_yticklabels()] == list(rows)
    drawn = {(t.get_position()[1], t.get_position()[0]): t.get_text() for t in table_ax.texts}
    shown = survival_tables.risk_cells(risk, rows).set_index("Count")
    for i, label in enumerate(rows):
        assert [drawn[(-i, d)] for d in (0, 7, 14, 21, 28)] == shown.loc[label].tolist()
    assert fig._suptitle.get_text() == "Figure 2.1 Test"
    plt.close(fig)


# ------------------------------------------------------------------ lost to follow-up

def _subjects(rows):
    """rows: (subject, infused_on, died_on, last_known_alive_on), dates as text or None."""
    frame = pd.DataFrame(rows, columns=["subject_id", "infused_on", "died_on", "last_known_alive_on"])
    return frame.assign(arm="MSC", treated=True, discharged_on=pd.NaT,
                        **{c: pd.to_datetime(frame[c]) for c in ("infused_on", "died_on", "last_known_alive_on")})


def _follow_to_60(rows, cutoff="2020-12-30"):
    return sf.follow_up_to_day(os_.survival_times(_subjects(rows), cutoff), 60)


def test_alive_subject_last_seen_before_day_60_after_the_window_closed_is_lost_to_follow_up():
    f = _follow_to_60([("A", "2020-10-28", None, "2020-11-22")]).iloc[0]  # day 60 = 2020-12-27, before the cutoff
    assert f["follow_up"] == "lost to follow-up before day 60"
    assert f["detail"] == "lost to follow-up (last known alive day 25)"


def test_a_subject_whose_window_is_still_open_is_not_yet_followed():
    f = _follow_to_60([("A", "2020-11-15", None, "2020-12-10"), ("B", "2020-11-15", None, "2020-12-30")])
    assert f["follow_up"].tolist() == ["not yet followed to day 60"] * 2  # day 60 = 2021-01-14, after the cutoff
    assert f["detail"].iloc[0] == "not yet followed to day 60 (last known alive day 25)"
    assert f["window_closes_on"].iloc[0] == pd.Timestamp("2021-01-14")


def test_the_window_closes_on_infusion_plus_h_days_inclusive():
    # cutoff on the very day 60: the window has closed; alive at the cutoff means followed to day 60
    f = _follow_to_60([("A", "2020-10-31", None, "2020-12-30"), ("B", "2020-10-31", None, "2020-12-20")])
    assert f["follow_up"].tolist() == ["alive, followed to day 60", "lost to follow-up before day 60"]


def test_deaths_and_no_contact_in_the_follow_up_states():
    f = _follow_to_60([("A", "2020-08-01", "2020-08-11", None), ("B", "2020-08-01", "2020-10-10", None),
                       ("C", "2020-08-01", None, None)])
    assert f["follow_up"].tolist() == ["died by day 60", "died after day 60", "lost to follow-up before day 60"]
    assert f["detail"].iloc[2] == "lost to follow-up (no date known alive after the infusion)"
    summary = sf.follow_up_summary(f)
    assert summary["n_subjects"].tolist() == [1, 1, 0, 1, 0]  # every state listed, zeros included


def test_the_follow_up_state_is_the_shared_state_at_day_h(demo):
    cut = demo["cut-2020-10-30"]
    f = sf.follow_up_to_day(os_.survival_times(cut.subjects, cut.cutoff_date), 60)
    shared = pd.Series(state_at_day(follow_up(cut.subjects, cut.cutoff_date), 60)).astype(str)
    words = {"died by day 60": "died", "died after day 60": "followed", "alive, followed to day 60": "followed",
             "lost to follow-up before day 60": "lost to follow-up", "not yet followed to day 60": "not yet reached"}
    assert f["follow_up"].astype(str).map(words).tolist() == shared.tolist()


def test_final_demo_cut_says_lost_to_follow_up_and_nobody_is_not_yet_followed(demo):
    cut = demo["cut-2020-12-30"]
    f = sf.follow_up_to_day(os_.survival_times(cut.subjects, cut.cutoff_date), 60)
    lost = f[f["follow_up"] == "lost to follow-up before day 60"]
    assert lost["detail"].tolist() == ["lost to follow-up (last known alive day 25)"]
    assert not (f["follow_up"] == "not yet followed to day 60").any()
    listing = follow_up_tables.follow_up_listing(f)
    assert listing["Subject"].tolist() == lost["subject_id"].tolist()


def test_rt_pcr_follow_up_lost_or_not_yet_followed_by_the_window():
    subjects = pd.DataFrame({"subject_id": ["A", "B", "C"], "arm": "MSC", "treated": True,
                             "infused_on": pd.to_datetime(["2020-11-01", "2020-12-20", "2020-11-01"]),
                             "died_on": pd.NaT, "discharged_on": pd.NaT, "last_known_alive_on": pd.NaT})
    pcr = pd.DataFrame({"subject_id": ["A", "A", "A", "B", "B", "C"], "days_since_infusion": [0, 5, 12, 0, 5, 0],
                        "result": ["positive", "positive", "negative", "positive", "positive", "positive"]})
    status = pn.negativity_status(subjects, pcr, horizon_days=28)
    f = pf.follow_up_to_horizon(status, follow_up(subjects, "2020-12-30"), 28).set_index("subject_id")
    assert f.loc["A", "detail"] == "lost to follow-up (last RT-PCR result day 12)"
    assert f.loc["B", "detail"] == "not yet followed to day 28 (last RT-PCR result day 5)"
    assert f.loc["B", "window_closes_on"] == pd.Timestamp("2021-01-17")
    assert f.loc["C", "detail"] == "lost to follow-up (no RT-PCR result after the infusion)"
    summary = pf.status_summary(status, f.reset_index())
    a = summary[summary["follow_up"] == "lost to follow-up before day 28"]
    assert "negative on day N, never confirmed" in a["reason"].tolist()  # no longer "not yet confirmed"


def test_rt_pcr_window_closed_is_evaluable_by_calendar_on_the_cutoff_day_itself():
    subjects = pd.DataFrame({"subject_id": ["A", "B"], "arm": "MSC", "treated": True,
                             "infused_on": pd.to_datetime(["2020-12-02", "2020-12-03"]),  # day 28 = 12-30, 12-31
                             "died_on": pd.NaT, "discharged_on": pd.NaT, "last_known_alive_on": pd.NaT})
    pcr = pd.DataFrame({"subject_id": ["A", "B"], "days_since_infusion": [0, 0], "result": "positive"})
    status = pn.negativity_status(subjects, pcr, horizon_days=28)
    f = pf.follow_up_to_horizon(status, follow_up(subjects, "2020-12-30"), 28)
    assert f["follow_up"].tolist() == ["lost to follow-up before day 28", "not yet followed to day 28"]


def test_follow_up_functions_do_not_modify_their_inputs(demo):
    cut = demo["cut-2020-12-30"]
    times = os_.survival_times(cut.subjects, cut.cutoff_date)
    status = pn.negativity_status(cut.subjects, cut.pcr)
    follow = follow_up(cut.subjects, cut.cutoff_date)
    frozen = [f.copy() for f in (times, status, follow)]
    pf.status_summary(status, pf.follow_up_to_horizon(status, follow))
    sf.follow_up_summary(sf.follow_up_to_day(times))
    for before, after in zip(frozen, (times, status, follow)):
        pd.testing.assert_frame_equal(before, after)


def test_final_demo_cut_has_no_rt_pcr_subject_not_yet_followed(demo):
    cut = demo["cut-2020-12-30"]
    status = pn.negativity_status(cut.subjects, cut.pcr)
    f = pf.follow_up_to_horizon(status, follow_up(cut.subjects, cut.cutoff_date))
    assert not (f["follow_up"] == "not yet followed to day 28").any()
    assert (f["follow_up"] == "lost to follow-up before day 28").sum() == 3


# ------------------------------------------------------------------ headline rows

@pytest.mark.parametrize("cut_id", DEMO_CUTS)
def test_every_headline_row_has_n_and_counts_are_whole(demo, cut_id):
    cut = demo[cut_id]
    times = os_.survival_times(cut.subjects, cut.cutoff_date)
    status = pn.negativity_status(cut.subjects, cut.pcr)
    rows = pd.concat([result_rows("overall_survival", os_.headline_measures(times)),
                      result_rows("pcr_negativity", pn.headline_measures(status))], ignore_index=True)
    assert rows["n"].notna().all()
    counts = rows[rows["unit"] == "subjects"]["estimate"]
    assert len(counts) and (counts == np.round(counts)).all()


# ------------------------------------------------------------------ cells

def test_cells_use_the_shared_formats():
    assert survival_tables.estimate_cell(0.7728, 0.5816, 0.8847) == "77.3% (58.2% to 88.5%)"
    assert survival_tables.median_cell(np.inf, 10, np.inf) == "NR (10 to NR)"
    at = pd.DataFrame({"group": "all", "day": [30.0, 60.0], "n": 4, "n_at_risk": [1, 0],
                       "survival_prop": [2 / 3, np.nan], "ci95_lower": [0.05, np.nan], "ci95_upper": [0.95, np.nan],
                       "not_estimable_reason": ["", "nobody at risk at day 60"]})
    cells = survival_tables.survival_cells(at)
    assert cells.columns.tolist() == ["Day", "Subjects", "At risk on that day", "Survival (95% CI)"]
    assert cells["Survival (95% CI)"].tolist() == ["66.7% (5.0% to 95.0%)", "not estimable: nobody at risk at day 60"]


# ------------------------------------------------------------------ KM plot landmarks and tick labels

def _km_inputs(cut):
    t = os_.survival_times(cut.subjects, cut.cutoff_date)
    return t, os_.risk_table_by_group(t, os_.RISK_TABLE_DAYS)


def test_km_plot_writes_the_day_30_and_60_estimates_and_the_median(demo):
    t, risk = _km_inputs(demo["cut-2020-12-30"])
    fig = survival_plots.km_figure(os_.km_curves(t), risk, landmarks=os_.survival_at_days(t),
                                   medians=os_.median_survival_by_group(t))
    texts = " ".join(c.txt._text.get_text() for c in fig.axes[0].artists if hasattr(c, "txt"))
    plt.close(fig)
    # the headline values of the survival table of page 01 on cut-2020-12-30
    assert "Day 30: 77.3% (58.2% to 88.5%)" in texts and "Day 60: 73.9% (54.5% to 86.0%)" in texts
    assert "Median: NR" in texts and "not reached" in texts


def test_km_plot_tick_labels_of_days_28_and_30_are_aligned_apart(demo):
    t, risk = _km_inputs(demo["cut-2020-12-30"])
    fig = survival_plots.km_figure(os_.km_curves(t), risk)
    fig.canvas.draw()
    labels = {lbl.get_text(): lbl for lbl in fig.axes[0].get_xticklabels()}
    assert labels["28"].get_horizontalalignment() == "right" and labels["30"].get_horizontalalignment() == "left"
    box28 = labels["28"].get_window_extent()
    box30 = labels["30"].get_window_extent()
    plt.close(fig)
    assert box28.x1 < box30.x0  # no overlap


def test_median_table_shows_the_quartiles_beside_the_median(demo):
    t, _ = _km_inputs(demo["cut-2020-12-30"])
    cells = survival_tables.median_quartile_cells(os_.median_survival_by_group(t), os_.quartiles_by_group(t))
    # R: quantile(survfit(Surv(time, event) ~ 1, conf.type = "log-log"), c(.25, .5, .75)): 35 (12 to NA), NA, NA
    assert cells.columns.tolist() == ["Subjects", "Deaths", "25th percentile, days (95% CI)",
                                      "Median, days (95% CI)", "75th percentile, days (95% CI)"]
    assert cells.iloc[0].tolist() == ["31", "8", "35 (12 to NR)", "NR (both limits NR)", "NR (both limits NR)"]


# R: d <- read.csv(<time_days, event of survival_times>); library(survival)
#    summary(survfit(Surv(time_days, 1 - event) ~ 1, data = d, conf.type = "log-log"))$table  (reverse KM median)
#    quantile(survfit(Surv(time_days, event) ~ 1, data = d, conf.type = "log-log"), c(.25, .5, .75))
# NA (not reached) is inf here.
R_FOLLOW_UP = {"cut-2020-09-15": ((19.5, 8.0, 28.0), (np.inf, 4.0, np.inf)),
               "cut-2020-10-30": ((38.0, 19.0, np.inf), (26.0, 10.0, np.inf)),
               "cut-2020-12-30": ((60.0, 60.0, 60.0), (35.0, 12.0, np.inf))}


@pytest.mark.parametrize("cut_id", DEMO_CUTS)
def test_reverse_km_follow_up_and_first_quartile_match_r_on_the_demo_cuts(demo, cut_id):
    t, _ = _km_inputs(demo[cut_id])
    follow, q1 = R_FOLLOW_UP[cut_id]
    row = sf.reverse_km_follow_up(t).iloc[0]
    assert (row["median_days"], row["ci95_lower"], row["ci95_upper"]) == follow
    q = os_.survival_quantiles(t["time_days"], t["event"]).iloc[0]
    assert (q["time_days"], q["ci95_lower"], q["ci95_upper"]) == q1


def test_follow_up_time_cells_put_the_reverse_km_median_beside_the_observed_follow_up(demo):
    t, _ = _km_inputs(demo["cut-2020-10-30"])
    cells = survival_tables.follow_up_time_cells(sf.reverse_km_follow_up(t))
    assert cells.iloc[0].tolist() == ["31", "23", "38 (19 to NR)", "26 (2 to 60)"]
