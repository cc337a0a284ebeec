"""Phase 1 safety monitoring: Beta-binomial posterior and the monitoring boundary.

Hand computations use the identity, for whole-number Beta parameters,
Pr(p > t | p ~ Beta(a, b)) = Pr(Binomial(a + b - 1, t) <= a - 1).
"""
import pandas as pd
import pytest

from msc_analysis.definitions import safety_definitions
from msc_analysis.endpoints import adverse_events as ae
from msc_analysis.endpoints import safety_monitoring as sm

d = pd.to_datetime
RULE = dict(prior_a=1, prior_b=1, threshold_prop=0.2, boundary_prob=0.9)


def test_defaults_are_the_documented_rule():
    m = safety_definitions()["monitoring"]
    assert (m["prior_a"], m["prior_b"], m["threshold_prop"], m["boundary_posterior_prob"]) == (1, 1, 0.2, 0.9)
    assert (m["window_last_day"], m["toxicity_min_grade"]) == (28, 3)
    pd.testing.assert_frame_equal(sm.posterior_from_counts(2, 9), sm.posterior_from_counts(2, 9, **RULE))


def test_posterior_probability_2_of_9_matches_hand_computation():
    # Beta(1 + 2, 1 + 7) = Beta(3, 8): Pr(p > 0.2) = Pr(Bin(10, 0.2) <= 2)
    #   = 0.8^10 + 10 * 0.2 * 0.8^9 + 45 * 0.04 * 0.8^8 = 0.1073741824 + 0.268435456 + 0.301989888
    r = sm.posterior_from_counts(2, 9, **RULE).iloc[0]
    assert r["prob_exceeds_threshold"] == pytest.approx(0.6777995264, abs=1e-9)
    assert (r["posterior_a"], r["posterior_b"]) == (3, 8)
    assert r["posterior_mean_prop"] == pytest.approx(3 / 11)
    assert not r["boundary_crossed"]


def test_boundary_is_crossed_at_4_of_9_and_not_at_3_of_9():
    # 3 of 9: Pr(Bin(10, 0.2) <= 3) = 0.6777995264 + 120 * 0.008 * 0.8^7 = 0.8791261184 < 0.90
    # 4 of 9: ... + 210 * 0.0016 * 0.8^6 = 0.9672065024 >= 0.90
    three = sm.posterior_from_counts(3, 9, **RULE).iloc[0]
    four = sm.posterior_from_counts(4, 9, **RULE).iloc[0]
    assert three["prob_exceeds_threshold"] == pytest.approx(0.8791261184, abs=1e-9)
    assert four["prob_exceeds_threshold"] == pytest.approx(0.9672065024, abs=1e-9)
    assert (bool(three["boundary_crossed"]), bool(four["boundary_crossed"])) == (False, True)


def test_no_evaluable_subject_gives_the_prior():
    # Uniform prior: Pr(p > 0.2) = 0.8, below the 0.9 cut-off.
    r = sm.posterior_from_counts(0, 0, **RULE).iloc[0]
    assert (r["n_evaluable"], bool(r["boundary_crossed"])) == (0, False)
    assert r["prob_exceeds_threshold"] == pytest.approx(0.8)


def test_probability_equal_to_the_cut_off_crosses_the_boundary():
    # Uniform prior, threshold 0.5, nobody evaluable: Pr(p > 0.5) = 0.5 exactly.
    r = sm.posterior_from_counts(0, 0, prior_a=1, prior_b=1, threshold_prop=0.5, boundary_prob=0.5).iloc[0]
    assert r["prob_exceeds_threshold"] == 0.5 and r["boundary_crossed"]


def test_monitoring_boundary_matches_hand_computation():
    # n=1: 1 of 1 -> Beta(2, 1): 1 - 0.2^2 = 0.96 (0 of 1: 0.8^2 = 0.64).
    # n=2: 1 of 2 -> Pr(Bin(3, 0.2) <= 1) = 0.512 + 0.384 = 0.896 < 0.9; 2 of 2 -> 1 - 0.2^3 = 0.992.
    # n=9: 4 (see test above).
    b = sm.monitoring_boundary(9, **RULE)
    assert b["min_toxicity_to_cross"].tolist()[:2] == [1, 2]
    assert b["min_toxicity_to_cross"].iloc[8] == 4
    assert b["prob_exceeds_threshold_at_min"].iloc[1] == pytest.approx(0.992)


def test_boundary_that_cannot_be_crossed_is_missing():
    # With a cut-off of 0.99, 1 of 1 gives 0.96: no count crosses at n = 1.
    b = sm.monitoring_boundary(1, prior_a=1, prior_b=1, threshold_prop=0.2, boundary_prob=0.99)
    assert pd.isna(b["min_toxicity_to_cross"].iloc[0])


def test_crossing_probability_is_exact():
    # Boundary for n = 1, 2, 3 is 1, 2, 2. True rate 0.3:
    # cross at subject 1 with 0.3; otherwise (0.7) the count at subject 2 is at most 1 (< 2);
    # at subject 3 it is 2 only if subjects 2 and 3 both have a toxicity: 0.7 * 0.3 * 0.3 = 0.063.
    r = sm.crossing_probability([0.0, 0.3, 1.0], 3, **RULE)
    assert r["crossing_prob"].tolist() == pytest.approx([0.0, 0.363, 1.0])


def _flagged():
    rows = [
        # subject, grade, serious, related, day
        ("A", 2, True, "possible", 1),       # related + serious -> toxicity
        ("B", 3, False, "probable", 5),      # related + grade 3 -> toxicity
        ("C", 2, False, "definite", 2),      # related but neither serious nor grade >= 3
        ("D", 5, True, "unrelated", 4),      # serious but unrelated
        ("E", 4, True, None, 28),            # not assessed (counts as related), last day of the window
        ("F", 4, True, "possible", 29),      # after the window
        ("G", 4, True, "possible", -1),      # before the infusion
    ]
    f = pd.DataFrame(rows, columns=["subject_id", "grade", "serious", "related", "days_since_infusion"])
    f = f.assign(term="Event", infusion_related=False, days_since_infusion=f["days_since_infusion"].astype("Int64"),
                 related=f["related"].astype("string"))
    return ae.classify_adverse_events(f)


TREATED = pd.DataFrame({"subject_id": list("ABCDEFGH")})


def test_toxicity_is_related_and_serious_or_grade_3_within_the_window():
    tox = sm.toxicity_events(_flagged(), TREATED, window_last_day=28, requires_related=True,
                             if_serious=True, min_grade=3)
    assert tox["subject_id"].tolist() == ["A", "B", "E"]
    assert list(tox.columns) == list(ae.LISTING_COLUMNS)


def test_toxicity_definition_is_a_setting():
    serious_only = sm.toxicity_events(_flagged(), TREATED, window_last_day=28, requires_related=True,
                                      if_serious=True, min_grade=None)
    assert serious_only["subject_id"].tolist() == ["A", "E"]
    any_cause = sm.toxicity_events(_flagged(), TREATED, window_last_day=30, requires_related=False,
                                   if_serious=True, min_grade=3)
    assert any_cause["subject_id"].tolist() == ["A", "B", "D", "E", "F"]
    with pytest.raises(ValueError, match="serious events, a minimum grade"):
        sm.toxicity_events(_flagged(), TREATED, if_serious=False, min_grade=None)


def _followed():
    # Infused 2020-08-01 (day 0).
    return pd.DataFrame({
        "subject_id": ["T", "F28", "F27", "DIED"],
        "infused_on": d(["2020-08-01"] * 4),
        "discharged_on": d([None, "2020-08-20", None, None]),
        "died_on": d([None, None, None, "2020-08-04"]),
        "last_known_alive_on": d(["2020-08-03", "2020-08-29", "2020-08-28", "2020-08-03"]),
    })


def test_evaluable_subjects():
    # cutoff on day 28 (2020-08-29): F27 could have reached day 28 but is known alive to day 27 only
    ev = sm.evaluable_subjects(_followed(), pd.DataFrame({"subject_id": ["T"]}), cutoff_date="2020-08-29",
                               window_last_day=28, evaluable_if_died=True).set_index("subject_id")
    # T: toxicity on day 2 -> evaluable at once; F28 followed to day 28 -> evaluable;
    # F27 followed to day 27 only, day 28 passed -> lost, left out; DIED on day 3 -> follow-up complete.
    assert ev["evaluable_reason"].astype(str).to_dict() == {
        "T": "toxicity", "F28": "followed to the end of the window",
        "F27": "lost to follow-up before the end of the window", "DIED": "died within the window"}
    assert ev["follow_up_days"].tolist() == [2, 28, 27, 3]
    p = sm.posterior_toxicity(ev.reset_index(), **RULE).iloc[0]
    assert (p["n_evaluable"], p["n_toxicity"]) == (3, 1)


def test_a_subject_without_toxicity_waits_for_the_end_of_the_window_but_a_toxicity_counts_at_once():
    # cutoff on day 10: T (toxicity on day 2) counts, the others alive without toxicity wait
    ev = sm.evaluable_subjects(_followed(), pd.DataFrame({"subject_id": ["T"]}), cutoff_date="2020-08-11",
                               window_last_day=28, evaluable_if_died=True).set_index("subject_id")
    assert ev["evaluable_reason"].astype(str).to_dict() == {
        "T": "toxicity", "F28": "not yet evaluable", "F27": "not yet evaluable", "DIED": "died within the window"}
    # 1 toxicity among 2 evaluable: Beta(2, 2), Pr(p > 0.2) = Pr(Bin(3, 0.2) <= 1) = 0.512 + 0.384 = 0.896,
    # where counting every treated subject (1 of 4: Beta(2, 4)) would give Pr(Bin(5, 0.2) <= 1) = 0.73728:
    # the rule pushes the probability up at an interim look (the safe side)
    p = sm.posterior_toxicity(ev.reset_index(), **RULE).iloc[0]
    assert (p["n_evaluable"], p["n_toxicity"]) == (2, 1)
    assert p["prob_exceeds_threshold"] == pytest.approx(0.896)
    assert sm.posterior_from_counts(1, 4, **RULE).iloc[0]["prob_exceeds_threshold"] == pytest.approx(0.73728)


def test_a_discharge_counts_as_a_contact_alive():
    # F28 known alive on day 19 (discharge) only: at a cutoff on day 19 it is followed to day 19
    s = _followed().assign(last_known_alive_on=d(["2020-08-03", None, "2020-08-28", "2020-08-03"]))
    ev = sm.evaluable_subjects(s, pd.DataFrame({"subject_id": []}), cutoff_date="2020-08-20",
                               window_last_day=28).set_index("subject_id")
    assert ev.loc["F28", "follow_up_days"] == 19 and ev.loc["F28", "evaluable_reason"] == "not yet evaluable"


def test_deaths_in_the_window_can_be_left_out():
    ev = sm.evaluable_subjects(_followed(), pd.DataFrame({"subject_id": []}), cutoff_date="2020-08-29",
                               window_last_day=28, evaluable_if_died=False).set_index("subject_id")
    assert not ev.loc["DIED", "evaluable"]


def test_headline_measures():
    h = sm.headline_measures(sm.posterior_from_counts(4, 9, **RULE), window_last_day=28).set_index("measure")
    assert h.loc["toxicity_rate_exceeds_threshold_prob", "estimate"] == pytest.approx(0.9672065024, abs=1e-9)
    assert h.loc["monitoring_boundary_crossed", "estimate"] == 1
    assert (h["n"] == 9).all()
    assert h.loc["toxicity_rate_posterior_mean_prop", "estimate"] == pytest.approx(5 / 11)


def test_inputs_are_not_modified():
    flagged, followed = _flagged(), _followed()
    f0, s0 = flagged.copy(), followed.copy()
    tox = sm.toxicity_events(flagged, TREATED)
    sm.evaluable_subjects(followed, tox, cutoff_date="2020-08-29")
    pd.testing.assert_frame_equal(flagged, f0)
    pd.testing.assert_frame_equal(followed, s0)


@pytest.mark.parametrize("kwargs", [dict(prior_a=0), dict(threshold_prop=1.2), dict(boundary_prob=1.0)])
def test_bad_rule_raises(kwargs):
    with pytest.raises(ValueError):
        sm.posterior_from_counts(1, 2, **{**RULE, **kwargs})


def test_bad_counts_raise():
    with pytest.raises(ValueError, match="n_toxicity <= n_evaluable"):
        sm.posterior_from_counts(3, 2, **RULE)
    with pytest.raises(ValueError, match="n_max"):
        sm.monitoring_boundary(0, **RULE)
    with pytest.raises(ValueError, match="true_rate_prop"):
        sm.crossing_probability(1.5, 3, **RULE)


def test_fixture_cut_has_two_evaluable_subjects_without_toxicity(fixture_cut):
    treated = fixture_cut.population("treated")
    flagged = ae.classify_adverse_events(fixture_cut.adverse_events)
    ev = sm.evaluable_subjects(treated, sm.toxicity_events(flagged, treated), cutoff_date=fixture_cut.cutoff_date)
    # S01 followed 54 days, fever grade 1 (not serious): evaluable, no toxicity.
    # S02 died on day 10 of unrelated respiratory failure: evaluable, no toxicity.
    p = sm.posterior_toxicity(ev).iloc[0]
    # Beta(1, 3): Pr(p > 0.2) = 0.8^3 = 0.512
    assert (p["n_evaluable"], p["n_toxicity"]) == (2, 0)
    assert p["prob_exceeds_threshold"] == pytest.approx(0.512)


def test_banner_says_plainly_whether_the_boundary_is_crossed():
    from msc_analysis.report.safety_tables import monitoring_banner

    assert "MONITORING BOUNDARY CROSSED" in monitoring_banner(sm.posterior_from_counts(4, 9, **RULE))
    calm = monitoring_banner(sm.posterior_from_counts(3, 9, **RULE))
    assert "not crossed" in calm and "0.879" in calm and "3 of 9 evaluable" in calm
    assert "prior" in monitoring_banner(sm.posterior_from_counts(0, 0, **RULE))


def test_monitoring_boundary_is_the_smallest_crossing_count_at_every_n():
    # Brute force: every count 0..n at every n up to 300 (the search narrows from every 64th n down).
    from scipy.stats import beta

    b = sm.monitoring_boundary(300, **RULE)
    for n in range(1, 301):
        crossing = [x for x in range(n + 1) if beta.sf(0.2, 1 + x, 1 + n - x) >= 0.9]
        assert b["min_toxicity_to_cross"].iloc[n - 1] == crossing[0]
