"""Aalen-Johansen intervals where the risk set is exhausted, and quantiles of a cumulative
incidence curve with their intervals, agree with R ``survival``.

Reference values: tests/reference/cif_exhausted_reference.R (``survfit`` multi-state,
``conf.type = "log-log"``; quantiles by ``quantile.survfit`` on ``1 - F``), which writes
cif_exhausted_inputs.csv, cif_exhausted_curves.csv, cif_exhausted_at_days.csv and
cif_quantiles.csv. Cases: the demo cuts (discharge alive with death in hospital competing;
RT-PCR negativity with death competing) and hand-made cases with ties and censoring.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from statsmodels.duration.survfunc import CumIncidenceRight

from msc_analysis import load_cut
from msc_analysis.endpoints import pcr_negativity
from msc_analysis.endpoints.hospital_stay import hospital_course
from msc_analysis.stats import competing_risks
from msc_analysis.stats.competing_risks import cumulative_incidence, cumulative_incidence_quantiles

from .conftest import ROOT

REF = ROOT / "tests" / "reference"
TOL = 1e-6  # the issue asks for 1e-4; the kit agrees with R to 1e-6


def _ref(name):
    return pd.read_csv(REF / name, comment="#")


INPUTS = _ref("cif_exhausted_inputs.csv")
CURVES = _ref("cif_exhausted_curves.csv")
AT_DAYS = _ref("cif_exhausted_at_days.csv")
QUANTILES = _ref("cif_quantiles.csv")
SURVIVAL_INPUTS = _ref("survival_reference_inputs.csv")


def _case(case, inputs=INPUTS):
    return inputs[inputs["case"] == case]


def _close(got, expected):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(expected, float), atol=TOL, rtol=0)


def _exhausted(d) -> bool:
    curve = cumulative_incidence(d["time"], d["status"])
    return bool((curve["n_at_risk"] == curve["n_events"] + curve["n_competing"]).any())


# ---- intervals against R survfit -----------------------------------------------------------

@pytest.mark.parametrize("case,cause", sorted(set(zip(CURVES["case"], CURVES["cause"]))))
def test_cif_interval_matches_r_survfit_when_everyone_at_risk_has_the_event(case, cause):
    ref = CURVES[(CURVES["case"] == case) & (CURVES["cause"] == cause)]
    got = cumulative_incidence(_case(case)["time"], _case(case)["status"], cause=int(cause))
    np.testing.assert_array_equal(got["time_days"], ref["time"])
    np.testing.assert_array_equal(got["n_at_risk"], ref["n_risk"])
    np.testing.assert_array_equal(got["n_events"], ref["n_event_cause"])
    np.testing.assert_array_equal(got["n_competing"], ref["n_event_other"])
    _close(got["cumulative_incidence_prop"], ref["pstate"])
    r_defined = ref["lower"].notna().to_numpy()
    for ours, r in (("ci95_lower", "lower"), ("ci95_upper", "upper")):
        _close(got[ours][r_defined], ref[r][r_defined])  # every interval R gives, the kit gives
    f = got["cumulative_incidence_prop"].to_numpy()[~r_defined]
    assert np.all((f == 0) | (f == 1))  # R's interval is missing only at F = 0 and F = 1


@pytest.mark.parametrize("case,cause", sorted(set(zip(AT_DAYS["case"], AT_DAYS["cause"]))))
def test_cif_interval_at_requested_days_matches_r_summary_after_the_risk_set_is_exhausted(case, cause):
    ref = AT_DAYS[(AT_DAYS["case"] == case) & (AT_DAYS["cause"] == cause)]
    got = cumulative_incidence(_case(case)["time"], _case(case)["status"], cause=int(cause), times=ref["day"])
    np.testing.assert_array_equal(got["n_at_risk"], ref["n_risk"])
    # R extends the last value beyond follow-up; the kit only when nobody was censored last
    estimable = got["cumulative_incidence_prop"].notna().to_numpy()
    _close(got["cumulative_incidence_prop"][estimable], ref["pstate"][estimable])
    both = estimable & ref["lower"].notna().to_numpy()
    for ours, r in (("ci95_lower", "lower"), ("ci95_upper", "upper")):
        _close(got[ours][both], ref[r][both])
        # where R has no interval: the kit's is [0, 0] at F = 0 (documented) and missing at F = 1
        f = got["cumulative_incidence_prop"].to_numpy()[estimable & ~both]
        limit = got[ours].to_numpy()[estimable & ~both]
        assert np.all(np.where(f == 0, limit == 0, (f == 1) & np.isnan(limit)))


def test_exhausted_cases_are_really_exhausted():
    for case in ("hospital_2020_09_15", "hospital_2020_10_30", "liao_sustained_2020_12_30", "exhausted_ties_censoring",
                 "exhausted_single_last", "exhausted_to_one"):
        assert _exhausted(_case(case)), case


def test_standard_error_is_r_survfit_infinitesimal_jackknife_at_every_time():
    for (case, cause), ref in CURVES.groupby(["case", "cause"]):
        d = _case(case)
        time, code = d["time"].to_numpy(float), d["status"].to_numpy(int)
        se = competing_risks._ij_standard_error(time, code, int(cause), np.unique(time))
        _close(se, ref["std_err"])


def test_ij_standard_error_equals_statsmodels_delta_method_where_that_is_defined():
    # one method everywhere: where statsmodels' error is defined (not 0/0) the IJ error equals it
    for case in SURVIVAL_INPUTS.loc[SURVIVAL_INPUTS["case"].str.startswith(("cr_", "mgus2", "pbc")), "case"].unique():
        d = _case(case, SURVIVAL_INPUTS)
        time, code = d["time"].to_numpy(float), d["status"].to_numpy(int)
        with warnings.catch_warnings():  # statsmodels' 0/0 where the risk set is exhausted
            warnings.simplefilter("ignore", RuntimeWarning)
            fit = CumIncidenceRight(time, code)
        for cause in (1, 2):
            if code.max() < cause:
                continue
            delta = np.asarray(fit.cinc_se[cause - 1], float)
            ij = competing_risks._ij_standard_error(time, code, cause, np.unique(time))
            defined = np.isfinite(delta)
            _close(ij[defined], delta[defined])


def test_discharge_alive_by_day_28_and_60_of_cut_2020_09_15_is_r_0_923_from_0_566_to_0_989():
    cut = load_cut(ROOT / "data" / "cuts" / "cut-2020-09-15")
    course = hospital_course(cut.subjects, cut.cutoff_date)
    stored = _case("hospital_2020_09_15")
    # the R script holds the inputs as derived from the cut; they must still be what the kit derives
    np.testing.assert_array_equal(course["time_days"].to_numpy(float), stored["time"].to_numpy(float))
    np.testing.assert_array_equal(course["event"].to_numpy(int), stored["status"].to_numpy(int))
    got = cumulative_incidence(course["time_days"], course["event"], cause=1, times=[28, 60])
    for row in got.itertuples():
        assert (round(row.cumulative_incidence_prop, 3), round(row.ci95_lower, 3), round(row.ci95_upper, 3)) == (
            0.923, 0.566, 0.989)


def test_liao_sustained_low_score_by_day_60_of_cut_2020_12_30_is_r_0_627_from_0_394_to_0_791():
    # the second case (the Liao definition before issue 13, inputs stored by the R script)
    d = _case("liao_sustained_2020_12_30")
    got = cumulative_incidence(d["time"], d["status"], cause=1, times=[60]).iloc[0]
    assert (round(got["cumulative_incidence_prop"], 3), round(got["ci95_lower"], 3), round(got["ci95_upper"], 3)) == (
        0.627, 0.394, 0.791)


def test_exhausted_interval_by_hand():
    # days 1, 2, 2 with causes 1, 2, 1. Day 1: F1 = 1/3; influences of the three subjects on F1
    # are 2/9, -1/9, -1/9 -> var = 6/81. Day 2 (everyone at risk has an event): F1 = 2/3, the
    # influences become 1/9, -2/9, 1/9 -> var = 6/81 again (R std.err 0.2721655)
    got = cumulative_incidence([1, 2, 2], [1, 2, 1])
    se = np.sqrt(6 / 81)
    z = norm.ppf(0.975)
    for f, row in zip((1 / 3, 2 / 3), got.itertuples()):
        shift = z * se / (f * np.log(f))
        lower = np.exp(-np.exp(np.log(-np.log(f)) - shift))
        upper = np.exp(-np.exp(np.log(-np.log(f)) + shift))
        assert (row.cumulative_incidence_prop, row.ci95_lower, row.ci95_upper) == pytest.approx((f, lower, upper))
    assert got["ci95_lower"].iloc[-1] == pytest.approx(0.0540734267865168, abs=TOL)  # R


def test_interval_is_missing_where_the_incidence_is_one_as_in_r():
    got = cumulative_incidence([1, 2, 3, 3], [0, 1, 1, 1]).iloc[-1]
    assert got["cumulative_incidence_prop"] == 1
    assert np.isnan(got["ci95_lower"]) and np.isnan(got["ci95_upper"])


# ---- quantiles (the median) against R's quantile rule ---------------------------------------

def _undefined_band(curve, band):
    above = curve["cumulative_incidence_prop"] > 0
    return bool(above.any() and curve.loc[above, band].isna().all())


@pytest.mark.parametrize("case,cause", sorted(set(zip(QUANTILES["case"], QUANTILES["cause"]))))
def test_cif_quantiles_and_their_intervals_match_r_quantile_survfit(case, cause):
    ref = QUANTILES[(QUANTILES["case"] == case) & (QUANTILES["cause"] == cause)]
    curve = cumulative_incidence(_case(case)["time"], _case(case)["status"], cause=int(cause))
    got = cumulative_incidence_quantiles(curve, ref["p"].tolist())
    np.testing.assert_array_equal(got["p"], ref["p"])
    for ours, r, band in (("quantile_days", "quantile", "cumulative_incidence_prop"),
                          ("ci95_lower", "lower", "ci95_upper"), ("ci95_upper", "upper", "ci95_lower")):
        # R's NA is "not reached" (inf) unless the band is missing wherever F > 0 (NaN)
        missing = np.nan if _undefined_band(curve, band) else np.inf
        expected = ref[r].fillna(missing).to_numpy(float)
        np.testing.assert_allclose(got[ours].to_numpy(float), expected, atol=TOL, rtol=0, err_msg=ours)


def test_median_is_the_midpoint_where_the_incidence_stays_at_one_half():
    got = cumulative_incidence_quantiles(cumulative_incidence([2, 3], [1, 0]), [0.5]).iloc[0]
    assert got["quantile_days"] == 2.5 and got["ci95_lower"] == 2 and got["ci95_upper"] == np.inf


def test_quantile_limits_are_not_estimable_when_the_incidence_jumps_from_zero_to_one():
    got = cumulative_incidence_quantiles(cumulative_incidence([4, 4], [1, 1])).iloc[0]
    assert got["quantile_days"] == 4 and np.isnan(got["ci95_lower"]) and np.isnan(got["ci95_upper"])


def test_quantiles_of_an_empty_curve_are_missing_and_bad_levels_are_refused():
    assert cumulative_incidence_quantiles(cumulative_incidence([], []), [0.5]).iloc[0, 1:].isna().all()
    for bad in ([0], [1.5], [np.nan]):
        with pytest.raises(ValueError):
            cumulative_incidence_quantiles(cumulative_incidence([1], [1]), bad)


def test_quantiles_do_not_modify_the_curve():
    curve = cumulative_incidence([2, 3, 4, 5], [1, 2, 1, 0])
    before = curve.copy()
    cumulative_incidence_quantiles(curve, [0.25, 0.5])
    pd.testing.assert_frame_equal(curve, before)


# ---- the median time to RT-PCR negativity carries R's interval -----------------------------

@pytest.mark.parametrize("cut_id", ["cut-2020-09-15", "cut-2020-10-30", "cut-2020-12-30"])
@pytest.mark.parametrize("rule", ["two_consecutive", "first_negative"])
def test_median_time_to_negativity_and_its_interval_match_r(cut_id, rule):
    cut = load_cut(ROOT / "data" / "cuts" / cut_id)
    status = pcr_negativity.negativity_status(cut.subjects, cut.pcr, confirmation=rule)
    case = f"pcr_{cut_id[4:].replace('-', '_')}_{rule}"
    stored = _case(case)
    analysed = status[status["in_analysis"]]
    np.testing.assert_array_equal(analysed["time_days"].to_numpy(float), stored["time"].to_numpy(float))
    np.testing.assert_array_equal(analysed["event"].astype(int).to_numpy(), stored["status"].to_numpy(int))
    ref = QUANTILES[(QUANTILES["case"] == case) & (QUANTILES["cause"] == 1) & (QUANTILES["p"] == 0.5)].iloc[0]
    got = pcr_negativity.median_negativity(status).iloc[0]
    assert got["median_days"] == pytest.approx(ref["quantile"], abs=TOL)
    assert got["ci95_lower"] == pytest.approx(ref["lower"], abs=TOL)
    assert got["ci95_upper"] == pytest.approx(ref["upper"] if pd.notna(ref["upper"]) else np.inf, abs=TOL)
