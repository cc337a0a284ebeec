"""Mortality watch: hand-computed Beta posteriors (integer Beta tails via the binomial identity
Pr(Beta(a, b) > t) = Pr(Binomial(a + b - 1, t) <= a - 1))."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import mortality_watch as mw

RULE = dict(prior_a=1, prior_b=1, reference_rate_prop=0.257, boundary_prob=0.9)


def _follow(death, fu, to_cutoff):
    return pd.DataFrame({"subject_id": [f"S{i}" for i in range(len(death))], "death_day": death,
                         "follow_up_days": fu, "days_to_cutoff": to_cutoff})


def test_death_on_day_30_counts_and_day_31_does_not():
    ev = mw.mortality_evaluable(_follow([30.0, 31.0], [30.0, 31.0], [90, 90]), day=30)
    assert ev["died_by_day"].tolist() == [True, False]
    assert ev["evaluable"].tolist() == [True, True]


def test_early_death_counts_before_day_30_is_reached_by_calendar():
    ev = mw.mortality_evaluable(_follow([5.0, np.nan], [5.0, 9.0], [10, 10]), day=30)
    assert ev["evaluable"].tolist() == [True, False]
    assert ev["evaluable_reason"].astype(str).tolist() == ["died by the day", "not yet evaluable"]


def test_lost_to_follow_up_is_left_out_and_counted():
    ev = mw.mortality_evaluable(_follow([np.nan, np.nan], [12.0, 40.0], [60, 60]), day=30)
    post = mw.mortality_posterior(ev, **RULE).iloc[0]
    assert (post["n_evaluable"], post["n_deaths"], post["n_lost_to_follow_up"]) == (1, 0, 1)


def test_one_death_of_three_gives_hand_computed_posterior():
    # Beta(2, 3): Pr(p > 0.257) = 0.743^4 + 4 * 0.257 * 0.743^3 = 0.726415
    ev = mw.mortality_evaluable(_follow([3.0, np.nan, np.nan], [3.0, 35.0, 30.0], [40, 40, 40]), day=30)
    post = mw.mortality_posterior(ev, **RULE).iloc[0]
    assert (post["posterior_a"], post["posterior_b"]) == (2, 3)
    assert post["prob_exceeds_reference"] == pytest.approx(0.726415, abs=1e-6)
    assert post["posterior_mean_prop"] == pytest.approx(0.4)
    assert not post["boundary_crossed"]


def test_no_evaluable_subject_gives_the_prior():
    ev = mw.mortality_evaluable(_follow([np.nan], [2.0], [2]), day=30)
    assert mw.mortality_posterior(ev, **RULE)["prob_exceeds_reference"].iloc[0] == pytest.approx(0.743)


def test_three_deaths_of_three_cross_the_boundary():
    # Beta(4, 1): Pr(p > 0.257) = 1 - 0.257^4 = 0.995638
    ev = mw.mortality_evaluable(_follow([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [40, 40, 40]), day=30)
    post = mw.mortality_posterior(ev, **RULE).iloc[0]
    assert post["prob_exceeds_reference"] == pytest.approx(1 - 0.257 ** 4, abs=1e-9)
    assert post["boundary_crossed"]


def test_operating_characteristics_one_subject_crosses_only_with_a_death():
    # Beta(2, 1) after 1 of 1: Pr(p > 0.257) = 1 - 0.257^2 = 0.934 >= 0.9
    oc = mw.mortality_crossing_probability([0.1, 0.5], 1, **RULE)
    assert oc["crossing_prob"].tolist() == pytest.approx([0.1, 0.5])


def test_default_rule_names_its_source():
    rule = mw.mortality_rule()
    assert rule["reference_rate_prop"] == 0.257 and rule["day"] == 30
    assert "RECOVERY" in rule["reference_source"]


def test_inputs_are_not_modified():
    f = _follow([3.0, np.nan], [3.0, 35.0], [40, 40])
    before = f.copy()
    ev = mw.mortality_evaluable(f, day=30)
    ev_before = ev.copy()
    mw.mortality_posterior(ev, **RULE)
    pd.testing.assert_frame_equal(f, before)
    pd.testing.assert_frame_equal(ev, ev_before)


def test_headline_measures_name_the_rule():
    ev = mw.mortality_evaluable(_follow([3.0, np.nan], [3.0, 35.0], [40, 40]), day=30)
    m = mw.mortality_headline_measures(mw.mortality_posterior(ev, **RULE), day=30)
    assert m["measure"].tolist() == ["mortality_30d_exceeds_reference_prob", "mortality_watch_boundary_crossed",
                                     "mortality_30d_posterior_mean_prop", "mortality_30d_deaths"]
    assert set(m["n"]) == {2}


def test_a_reference_rate_outside_0_1_is_refused_naming_the_key():
    from importlib import resources

    from msc_analysis.definitions.checks import PARSERS
    text = resources.files("msc_analysis.definitions").joinpath("safety.yaml").read_text()
    assert "reference_rate_prop: 0.257" in text
    with pytest.raises(ValueError, match="mortality_watch.reference_rate_prop"):
        PARSERS["safety.yaml"](text.replace("reference_rate_prop: 0.257", "reference_rate_prop: 25.7"),
                               "safety.yaml")
