"""Exact binomial intervals agree with R's binom.test (tests/reference/binomial_reference.R)."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.stats.binomial import exact_proportion

from .conftest import ROOT

REFERENCE = pd.read_csv(ROOT / "tests" / "reference" / "binomial_reference.csv", comment="#",
                        skipinitialspace=True)


def test_exact_interval_matches_r_binom_test_to_1e_9():
    got = exact_proportion(REFERENCE["successes"], REFERENCE["n"])
    np.testing.assert_allclose(got["ci95_lower"], REFERENCE["ci95_lower"], atol=1e-9)
    np.testing.assert_allclose(got["ci95_upper"], REFERENCE["ci95_upper"], atol=1e-9)
    np.testing.assert_array_equal(got["estimate_prop"], REFERENCE["successes"] / REFERENCE["n"])


def test_three_of_ten_by_hand_from_the_beta_quantiles():
    # Clopper-Pearson: lower = Beta(0.025; 3, 8), upper = Beta(0.975; 4, 7)
    from scipy.stats import beta

    r = exact_proportion(3, 10).iloc[0]
    assert r["ci95_lower"] == pytest.approx(beta.ppf(0.025, 3, 8), abs=1e-12)
    assert r["ci95_upper"] == pytest.approx(beta.ppf(0.975, 4, 7), abs=1e-12)


def test_no_subjects_gives_a_missing_estimate_not_an_error():
    r = exact_proportion(0, 0).iloc[0]
    assert np.isnan(r["estimate_prop"]) and r["n"] == 0


def test_more_successes_than_subjects_is_refused():
    with pytest.raises(ValueError):
        exact_proportion(4, 3)
