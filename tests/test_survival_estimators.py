"""Kaplan-Meier, median, risk table, log-rank and Aalen-Johansen agree with R.

Reference values come from R ``survival`` and ``cmprsk`` via tests/reference/survival_reference.R
(datasets lung, aml, veteran, mgus2 and pbc shipped with R ``survival``, plus hand-made cases);
the inputs R used are stored in tests/reference/survival_reference_inputs.csv.
"""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.stats.competing_risks import (CIF_COLUMNS, competing_risk_table, cumulative_incidence,
                                                cumulative_incidence_quantile)
from msc_analysis.stats.survival import KM_COLUMNS, kaplan_meier, logrank_test, median_survival, risk_table

from .conftest import ROOT

REF = ROOT / "tests" / "reference"
TOL = 1e-6


def _ref(name):
    return pd.read_csv(REF / name, comment="#")


INPUTS = _ref("survival_reference_inputs.csv")


def _case(case, group="all"):
    d = INPUTS[INPUTS["case"] == case]
    return d if group == "all" else d[d["grp"] == group]


def _close_where_r_defined(got, expected):
    got, expected = np.asarray(got, float), np.asarray(expected, float)
    defined = ~np.isnan(expected)
    np.testing.assert_allclose(got[defined], expected[defined], atol=TOL, rtol=0)
    return got[~defined]


# ---- Kaplan-Meier against R survfit(conf.type = "log-log") --------------------------------

KM_CURVES = _ref("km_curves.csv")


@pytest.mark.parametrize("case,group", sorted(set(zip(KM_CURVES["case"], KM_CURVES["grp"]))))
def test_kaplan_meier_matches_r_survfit_log_log(case, group):
    ref = KM_CURVES[(KM_CURVES["case"] == case) & (KM_CURVES["grp"] == group)]
    d = _case(case, group)
    got = kaplan_meier(d["time"], d["status"])
    np.testing.assert_array_equal(got["time_days"], ref["time"])
    np.testing.assert_array_equal(got["n_at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(got["n_events"], ref["n_event"])
    np.testing.assert_array_equal(got["n_censored"], ref["n_censor"])
    _close_where_r_defined(got["survival_prop"], ref["surv"])
    for ours, r in (("ci95_lower", "lower"), ("ci95_upper", "upper")):
        undefined_in_r = _close_where_r_defined(got[ours], ref[r])
        # R leaves the interval empty only where S = 1 (we give [1, 1]) or S = 0 (we give NaN too)
        s = got["survival_prop"].to_numpy()[np.isnan(ref[r].to_numpy())]
        assert np.all((s == 1) & (undefined_in_r == 1) | (s == 0) & np.isnan(undefined_in_r))


KM_AT_DAYS = _ref("km_at_days.csv")


@pytest.mark.parametrize("case", sorted(KM_AT_DAYS["case"].unique()))
def test_survival_at_requested_days_and_risk_table_match_r_summary(case):
    ref = KM_AT_DAYS[KM_AT_DAYS["case"] == case]
    d = _case(case)
    got = kaplan_meier(d["time"], d["status"], times=ref["day"])
    for ours, r in (("survival_prop", "surv"), ("ci95_lower", "lower"), ("ci95_upper", "upper")):
        _close_where_r_defined(got[ours], ref[r])
    table = risk_table(d["time"], d["status"], ref["day"])
    np.testing.assert_array_equal(table["n_at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(table["cumulative_events"], ref["cum_events"])
    np.testing.assert_array_equal(table["cumulative_censored"], ref["cum_censored"])


@pytest.mark.parametrize("row", _ref("km_medians.csv").to_dict("records"), ids=lambda r: f"{r['case']}-{r['grp']}")
def test_median_and_its_ci_match_r_quantile_with_not_reached_as_inf(row):
    d = _case(row["case"], row["grp"])
    got = median_survival(d["time"], d["status"]).iloc[0]
    assert got["n"] == row["n"] and got["n_events"] == row["events"]
    # R's NA is "not reached" (inf), except where R's band is NA at every time the curve is
    # below 1 (it falls from 1 straight to 0): then there is no band to read, NaN
    curve = _ref("km_curves.csv").query("case == @row['case'] and grp == @row['grp']")
    no_band = bool((curve["surv"] < 1).any() and curve.loc[curve["surv"] < 1, "lower"].isna().all())
    for ours, r in (("median_days", "median"), ("ci95_lower", "lower"), ("ci95_upper", "upper")):
        expected = row[r] if pd.notna(row[r]) else np.nan if no_band else np.inf
        assert got[ours] == pytest.approx(expected, abs=TOL, nan_ok=True), ours


@pytest.mark.parametrize("row", _ref("logrank.csv").to_dict("records"), ids=lambda r: r["case"])
def test_logrank_matches_r_survdiff(row):
    d = _case(row["case"])
    group = d["grp"]
    if row["case"] == "toy_arms":  # arm C is declared but has nobody: it must be ignored, as R does
        group = pd.Categorical(group, categories=["A", "B", "C"])
    got = logrank_test(d["time"], d["status"], group).iloc[0]
    assert got["n_groups"] == row["n_groups"] and got["df"] == row["df"]
    assert got["chisq"] == pytest.approx(row["chisq"], abs=TOL)
    assert got["p_value"] == pytest.approx(row["p_value"], abs=TOL)


# ---- Kaplan-Meier by hand ------------------------------------------------------------------

def test_tied_events_and_a_censoring_on_the_same_day_are_one_step():
    # day 2: 7 at risk, 2 deaths (1 censored the same day stays at risk) -> S = 5/7
    # day 4: 7 - 3 = 4 at risk, 2 deaths -> S = 5/7 * 2/4 = 5/14; day 9: 1 at risk, 1 death -> 0
    km = kaplan_meier([2, 2, 2, 4, 4, 7, 9], [1, 1, 0, 1, 1, 0, 1])
    assert km["n_at_risk"].tolist() == [7, 4, 2, 1]
    np.testing.assert_allclose(km["survival_prop"], [5 / 7, 5 / 14, 5 / 14, 0])
    assert np.isnan(km["ci95_lower"].iloc[-1])  # S = 0: log-log interval undefined


def test_a_subject_censored_on_the_day_of_an_event_is_still_at_risk_for_it():
    # day 3: 5 at risk (the one censored on day 3 included), 1 death -> 4/5
    km = kaplan_meier([1, 3, 3, 5, 5, 6], [0, 1, 0, 1, 0, 0])
    assert km.loc[km["time_days"] == 3, "n_at_risk"].item() == 5
    assert km.loc[km["time_days"] == 3, "survival_prop"].item() == pytest.approx(0.8)
    assert km.loc[km["time_days"] == 5, "survival_prop"].item() == pytest.approx(0.8 * 2 / 3)


def test_death_on_the_infusion_day_counts_at_day_0():
    # day 0: 6 at risk, 1 death -> 5/6; the subject censored on day 0 leaves after it
    km = kaplan_meier([0, 0, 3, 7, 7, 12], [1, 0, 1, 1, 0, 0], times=[0, 3])
    np.testing.assert_allclose(km["survival_prop"], [5 / 6, 5 / 6 * 3 / 4])


def test_median_is_midpoint_where_the_curve_is_flat_at_one_half():
    # S = 0.75, 0.5, 0.25, 0 on days 1-4: exactly 0.5 between days 2 and 3 -> 2.5 (R)
    assert median_survival([1, 2, 3, 4], [1, 1, 1, 1])["median_days"].item() == 2.5
    # S = 0.5 from day 10 to the last follow-up on day 54 -> (10 + 54) / 2 (R)
    assert median_survival([10, 54], [1, 0])["median_days"].item() == 32


def test_everyone_dead_on_day_0_has_a_real_median_of_0_and_limits_not_estimable_as_in_r():
    # R survival:::findq on x = c(0, 0), y = c(0, 1 - S) = c(0, 1): median (0 + 0) / 2 = 0.
    # The log-log band is NA where S = 0, so y = c(0, NA) for each limit: max(y, na.rm = TRUE) < 0.5
    # and quantile.survfit returns NA. The band is undefined, not "not reached": NaN, never inf.
    got = median_survival([0, 0, 0], [1, 1, 1]).iloc[0]
    assert got["median_days"] == 0
    assert np.isnan(got["ci95_lower"]) and np.isnan(got["ci95_upper"])
    # the same when everyone at risk dies on the first death day after a censoring on day 0
    got = median_survival([0, 4, 4], [0, 1, 1]).iloc[0]
    assert got["median_days"] == 4 and np.isnan(got["ci95_lower"]) and np.isnan(got["ci95_upper"])


def test_a_limit_whose_band_never_reaches_one_half_within_follow_up_stays_not_reached():
    # toy_ties of the R reference: R gives upper = NA; the band is defined up to day 7: inf ("NR")
    got = median_survival([2, 2, 2, 4, 4, 7, 9], [1, 1, 0, 1, 1, 0, 1]).iloc[0]
    assert (got["median_days"], got["ci95_lower"], got["ci95_upper"]) == (4, 2, np.inf)


def test_median_not_reached_is_inf_and_no_subjects_is_nan():
    assert median_survival([5, 8, 8], [0, 0, 0])["median_days"].item() == np.inf
    assert np.isnan(median_survival([], [])["median_days"].item())


def test_curve_before_any_event_is_one_with_interval_one_to_one():
    km = kaplan_meier([5, 8], [1, 0], times=[0, 4])
    assert km[["survival_prop", "ci95_lower", "ci95_upper"]].to_numpy().tolist() == [[1, 1, 1]] * 2


def test_survival_beyond_follow_up_is_missing_unless_everyone_has_died():
    assert np.isnan(kaplan_meier([3, 5], [1, 0], times=[9])["survival_prop"].item())  # last censored
    assert kaplan_meier([3, 5], [1, 1], times=[9])["survival_prop"].item() == 0  # curve reached 0


def test_all_censored_gives_a_flat_curve_and_an_empty_group_gives_no_rows():
    km = kaplan_meier([5, 8, 8], [0, 0, 0])
    assert km["survival_prop"].tolist() == [1, 1]
    empty = kaplan_meier([], [])
    assert list(empty.columns) == list(KM_COLUMNS) and len(empty) == 0
    assert np.isnan(kaplan_meier([], [], times=[30])["survival_prop"].item())


def test_empty_arm_is_ignored_by_the_logrank_test_and_one_arm_gives_no_test():
    arms = pd.Categorical(["A", "A", "B", "B"], categories=["A", "B", "empty"])
    assert logrank_test([1, 2, 3, 4], [1, 1, 1, 0], arms)["n_groups"].item() == 2
    single = logrank_test([1, 2], [1, 0], ["A", "A"]).iloc[0]
    assert single["n_groups"] == 1 and np.isnan(single["p_value"])


def test_risk_table_counts_by_hand():
    # deaths 2, 4, 4; censored 2, 7. Day 5: at risk {7}; events {2, 4, 4}; censored {2}
    table = risk_table([2, 2, 4, 4, 7], [1, 0, 1, 1, 0], [0, 5, 7])
    assert table[["n_at_risk", "cumulative_events", "cumulative_censored"]].to_numpy().tolist() == [
        [5, 0, 0], [1, 3, 1], [1, 3, 2]]


@pytest.mark.parametrize("time,event", [([1, -2], [1, 0]), ([1, np.nan], [1, 0]), ([1, 2], [1, 2]), ([1], [1, 0])])
def test_bad_survival_inputs_are_refused(time, event):
    with pytest.raises(ValueError):
        kaplan_meier(time, event)


def test_inputs_are_not_modified():
    time = pd.Series([3.0, 1.0, 2.0])
    event = pd.Series([1, 0, 1])
    kaplan_meier(time, event, times=[2])
    median_survival(time, event)
    cumulative_incidence(time, event, times=[2])
    assert time.tolist() == [3.0, 1.0, 2.0] and event.tolist() == [1, 0, 1]


# ---- Aalen-Johansen against R survfit multi-state (conf.type = "log-log") and cmprsk ----------

CIF_CURVES = _ref("cif_curves.csv")


@pytest.mark.parametrize("case,cause", sorted(set(zip(CIF_CURVES["case"], CIF_CURVES["cause"]))))
def test_cumulative_incidence_matches_r_survfit_multistate(case, cause):
    ref = CIF_CURVES[(CIF_CURVES["case"] == case) & (CIF_CURVES["cause"] == cause)]
    d = _case(case)
    got = cumulative_incidence(d["time"], d["status"], cause=int(cause))
    assert list(got.columns) == list(CIF_COLUMNS)
    np.testing.assert_array_equal(got["time_days"], ref["time"])
    np.testing.assert_array_equal(got["n_at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(got["n_events"], ref["n_event_cause"])
    np.testing.assert_allclose(got["cumulative_incidence_prop"], ref["pstate"], atol=TOL, rtol=0)
    _close_where_r_defined(got["cumulative_incidence_prop"], ref["cmprsk_est"])  # cmprsk: causes with events
    _interval_matches_r_except_at_zero(got, ref)


def _interval_matches_r_except_at_zero(got, ref):
    """The interval equals R's wherever R gives one (exhausted risk sets included); where R's is
    missing the kit gives [0, 0] if the estimate is 0 (documented), else missing too (F = 1)."""
    for ours, r in (("ci95_lower", "lower"), ("ci95_upper", "upper")):
        _close_where_r_defined(got[ours], ref[r])
    r_missing = ref["lower"].isna().to_numpy()
    f = got["cumulative_incidence_prop"].to_numpy()[r_missing]
    for ours in ("ci95_lower", "ci95_upper"):
        limit = got[ours].to_numpy()[r_missing]
        assert np.all(np.where(f == 0, limit == 0, np.isnan(limit)))


CIF_AT_DAYS = _ref("cif_at_days.csv")


@pytest.mark.parametrize("case,cause", sorted(set(zip(CIF_AT_DAYS["case"], CIF_AT_DAYS["cause"]))))
def test_cumulative_incidence_at_requested_days_matches_r_summary(case, cause):
    ref = CIF_AT_DAYS[(CIF_AT_DAYS["case"] == case) & (CIF_AT_DAYS["cause"] == cause)]
    d = _case(case)
    got = cumulative_incidence(d["time"], d["status"], cause=int(cause), times=ref["day"])
    np.testing.assert_array_equal(got["n_at_risk"], ref["n_risk"])
    np.testing.assert_allclose(got["cumulative_incidence_prop"], ref["pstate"], atol=TOL, rtol=0)
    _interval_matches_r_except_at_zero(got, ref)


def test_cif_interval_differs_from_cmprsk_variance_so_cmprsk_is_not_the_reference():
    # cmprsk's Aalen-type variance is not statsmodels' delta-method one (mgus2, cause 1, day 360)
    ref = CIF_CURVES[(CIF_CURVES["case"] == "mgus2") & (CIF_CURVES["cause"] == 1)]
    r = ref[ref["time"] == ref.loc[ref["time"] <= 360, "time"].max()].iloc[0]
    assert abs(r["cmprsk_var"] - r["std_err"] ** 2) > 1e-5


# ---- Aalen-Johansen by hand ------------------------------------------------------------------

def test_cumulative_incidence_with_ties_by_hand():
    # day 1: 8 at risk, cause 1 -> F1 = 1/8, S = 7/8
    # day 2: 7 at risk, one of each cause -> F1 = 1/8 + 7/8 * 1/7 = 1/4, F2 = 1/8, S = 5/8
    # day 5: 4 at risk (one censored on day 3), cause 1 -> F1 = 1/4 + 5/8 * 1/4 = 13/32
    # day 6: 3 at risk, cause 2 and a censoring -> F2 = 1/8 + (5/8 * 3/4) * 1/3, S = 10/32
    # day 8: 1 at risk, cause 1 -> F1 = 13/32 + 10/32 = 23/32
    time, event = [1, 2, 2, 3, 5, 6, 6, 8], [1, 2, 1, 0, 1, 0, 2, 1]
    f1 = cumulative_incidence(time, event, cause=1)
    np.testing.assert_allclose(f1["cumulative_incidence_prop"], [1 / 8, 1 / 4, 1 / 4, 13 / 32, 13 / 32, 23 / 32])
    assert f1["n_competing"].tolist() == [0, 1, 0, 0, 1, 0]
    assert f1["n_censored"].tolist() == [0, 0, 1, 0, 1, 0]
    f2 = cumulative_incidence(time, event, cause=2, times=[8])
    assert f2["cumulative_incidence_prop"].item() == pytest.approx(1 / 8 + 15 / 32 / 3)


def test_cumulative_incidence_is_not_one_minus_kaplan_meier():
    # events of interest on days 2 and 4, a death on day 3: F1(4) = 1/4 + (1/2)(1/2) = 1/2,
    # whereas 1 - KM with the death censored is 1 - (3/4)(1/2) = 5/8
    f = cumulative_incidence([2, 3, 4, 5], [1, 2, 1, 0], times=[4])["cumulative_incidence_prop"].item()
    km = kaplan_meier([2, 3, 4, 5], [1, 0, 1, 0], times=[4])["survival_prop"].item()
    assert f == pytest.approx(0.5) and 1 - km == pytest.approx(0.625)


def test_counts_at_a_requested_day_are_those_of_that_day():
    out = cumulative_incidence([2, 3, 4, 5], [1, 2, 1, 0], times=[1, 3, 4])
    assert out[["n_at_risk", "n_events", "n_competing", "n_censored"]].to_numpy().tolist() == [
        [4, 0, 0, 0], [3, 0, 1, 0], [2, 1, 0, 0]]


def test_before_any_event_the_incidence_is_zero_with_interval_zero_to_zero():
    out = cumulative_incidence([2, 3], [1, 0], times=[0, 1])
    assert out[["cumulative_incidence_prop", "ci95_lower", "ci95_upper"]].to_numpy().tolist() == [[0, 0, 0]] * 2


def test_beyond_follow_up_the_incidence_is_missing_unless_nobody_remained_at_risk():
    assert np.isnan(cumulative_incidence([2, 3], [1, 0], times=[9])["cumulative_incidence_prop"].item())
    exhausted = cumulative_incidence([2, 3], [1, 2], times=[9]).iloc[0]
    assert exhausted["cumulative_incidence_prop"] == 0.5
    # everyone left at risk had an event on day 3: the interval (IJ standard error) is carried too
    day3 = cumulative_incidence([2, 3], [1, 2]).iloc[-1]
    assert (exhausted["ci95_lower"], exhausted["ci95_upper"]) == (day3["ci95_lower"], day3["ci95_upper"])
    assert 0 < exhausted["ci95_lower"] < 0.5 < exhausted["ci95_upper"] < 1


def test_no_event_of_the_cause_all_censored_and_no_subjects():
    assert cumulative_incidence([1, 2], [2, 0], cause=1)["cumulative_incidence_prop"].tolist() == [0, 0]
    assert cumulative_incidence([1, 2], [0, 0], cause=1)["cumulative_incidence_prop"].tolist() == [0, 0]
    assert cumulative_incidence([1, 2], [1, 0], cause=3)["cumulative_incidence_prop"].tolist() == [0, 0]
    assert len(cumulative_incidence([], [])) == 0
    none = cumulative_incidence([], [], times=[7, 28])
    assert none["n_at_risk"].tolist() == [0, 0] and none["cumulative_incidence_prop"].isna().all()


def test_same_input_gives_the_same_output_no_jitter():
    time, event = [3, 3, 3, 5, 5, 8], [1, 2, 1, 1, 0, 2]
    pd.testing.assert_frame_equal(cumulative_incidence(time, event), cumulative_incidence(time[::-1], event[::-1]))


@pytest.mark.parametrize("kwargs,error", [
    (dict(time_days=[1, -1], event=[1, 0]), ValueError),
    (dict(time_days=[1, 2], event=[1, -1]), ValueError),
    (dict(time_days=[1, 2], event=[1.5, 0]), TypeError),
    (dict(time_days=[1, 2], event=[True, False]), TypeError),
    (dict(time_days=[1, 2], event=[1]), ValueError),
    (dict(time_days=[1, 2], event=[1, 0], cause=0), ValueError),
    (dict(time_days=[1, 2], event=[1, 0], times=[-3]), ValueError),
])
def test_bad_competing_risk_inputs_are_refused(kwargs, error):
    with pytest.raises(error):
        cumulative_incidence(**kwargs)


def test_quantile_of_the_cumulative_incidence_uses_the_r_rule():
    # F = 1/4, 1/2, 3/4, 1 on days 2-5: exactly 1/2 from day 3 to day 4 -> 3.5
    curve = cumulative_incidence([2, 3, 4, 5], [1, 1, 1, 1])
    assert cumulative_incidence_quantile(curve, 0.5) == 3.5
    # F = 1/3 at most (day 2 of 3 subjects, the others censored): never reaches 1/2
    assert cumulative_incidence_quantile(cumulative_incidence([2, 3, 4], [1, 0, 0]), 0.5) == np.inf
    # F = 1/2 from day 2 to the last follow-up on day 3: midpoint, as R
    assert cumulative_incidence_quantile(cumulative_incidence([2, 3], [1, 0]), 0.5) == 2.5


def test_competing_risk_table_counts_by_hand():
    table = competing_risk_table([2, 3, 4, 5], [1, 2, 1, 0], [0, 3, 5])
    assert table.drop(columns="day").to_numpy().tolist() == [[4, 0, 0, 0], [3, 1, 1, 0], [1, 2, 1, 1]]
