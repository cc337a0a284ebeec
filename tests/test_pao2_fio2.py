"""PaO2/FiO2 endpoint: the ratio of one blood gas, FiO2 percentages, Berlin bands and shifts."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import pao2_fio2

from .test_baseline_and_visits import DAY0, subjects


def gases(*rows):
    """rows: (subject, day, hour, pao2 mmHg, fio2 fraction)."""
    return pd.DataFrame({
        "subject_id": [r[0] for r in rows],
        "collected_at": [DAY0 + pd.Timedelta(days=r[1], hours=r[2]) for r in rows],
        "pao2_mmhg": [float(r[3]) for r in rows], "fio2": [float(r[4]) for r in rows],
        "days_since_infusion": pd.array([r[1] for r in rows], dtype="Int64"),
    })


def test_ratio_uses_the_pao2_and_fio2_of_the_same_gas():
    g = pao2_fio2.pf_ratio(gases(("A", 0, 6, 65, 0.5), ("A", 0, 12, 90, 0.3)))
    assert g["pf_ratio_mmhg"].tolist() == pytest.approx([130.0, 300.0])  # 65/0.5, 90/0.3


def test_fio2_written_as_a_percentage_is_a_fraction_once_loaded(fixture_cut):
    # tests/fixtures/valid_cut: S01 day 7 gas PaO2 80 with FiO2 written "40" -> 0.40 -> P/F 200;
    # baseline (day 0) 65 / 0.5 = 130; change +70, +53.85 %
    b = pao2_fio2.pf_by_visit(fixture_cut.blood_gases, fixture_cut.population("treated"))
    s01 = b[b["subject_id"] == "S01"].set_index("visit")
    assert s01.loc["Baseline", "pf_ratio_mmhg"] == pytest.approx(130.0)
    assert s01.loc["Day 7", "fio2"] == pytest.approx(0.4)
    assert s01.loc["Day 7", "pf_ratio_mmhg"] == pytest.approx(200.0)
    assert s01.loc["Day 7", "pf_ratio_change_mmhg"] == pytest.approx(70.0)
    assert s01.loc["Day 7", "pf_ratio_change_pct"] == pytest.approx(700 / 13)


def test_an_unconverted_percentage_is_refused():
    with pytest.raises(ValueError, match="fraction"):
        pao2_fio2.pf_ratio(gases(("A", 0, 6, 80, 40)))


@pytest.mark.parametrize("pf, band", [
    (300.1, "> 300"), (300.0, "200-300 (mild)"), (200.1, "200-300 (mild)"), (200.0, "100-200 (moderate)"),
    (100.1, "100-200 (moderate)"), (100.0, "<= 100 (severe)"), (45.0, "<= 100 (severe)")])
def test_berlin_bands_put_a_boundary_value_in_the_worse_band(pf, band):
    assert pao2_fio2.berlin_category([pf])[0] == band


def test_missing_ratio_has_no_berlin_band():
    assert pd.isna(pao2_fio2.berlin_category([np.nan])[0])


def test_shift_table_counts_every_subject_once_per_visit():
    # A: baseline 150 (moderate) -> day 7 250 (mild); B: baseline 90 (severe), died day 6;
    # C: no baseline gas, day 7 350 (> 300)
    g = gases(("A", 0, 6, 75, 0.5), ("A", 7, 6, 100, 0.4), ("B", 0, 6, 45, 0.5), ("C", 7, 6, 70, 0.2))
    b = pao2_fio2.pf_by_visit(g, subjects("A", "B", "C", died={"B": 6}))
    shift = pao2_fio2.berlin_shift_table(b, days=[7]).set_index(["baseline_category", "visit_category"])
    n = shift["n_subjects"]
    assert n.sum() == 3
    assert n[("100-200 (moderate)", "200-300 (mild)")] == 1
    assert n[("<= 100 (severe)", "died")] == 1
    assert n[("no baseline", "> 300")] == 1


def test_shift_table_refuses_a_day_without_a_visit():
    b = pao2_fio2.pf_by_visit(gases(("A", 0, 6, 75, 0.5)), subjects("A"))
    with pytest.raises(ValueError, match="no visit"):
        pao2_fio2.berlin_shift_table(b, days=[8])


def test_headline_names_and_units():
    b = pao2_fio2.pf_by_visit(gases(("A", 0, 6, 75, 0.5), ("A", 3, 6, 100, 0.5)), subjects("A"))
    h = pao2_fio2.headline_measures(pao2_fio2.pf_summary(b)).set_index(["measure", "day"])
    # baseline 150, day 3 200: change +50
    assert h.loc[("pf_ratio_median", 0), "estimate"] == pytest.approx(150.0)
    assert h.loc[("pf_ratio_change_median", 3), "estimate"] == pytest.approx(50.0)
    assert set(h["unit"]) == {"mmHg"}


def test_pf_by_visit_does_not_modify_its_inputs():
    g, s = gases(("A", 0, 6, 75, 0.5), ("A", 3, 6, 100, 0.5)), subjects("A")
    g0, s0 = g.copy(), s.copy()
    pao2_fio2.pf_by_visit(g, s)
    pd.testing.assert_frame_equal(g, g0)
    pd.testing.assert_frame_equal(s, s0)


def test_worst_rank_puts_a_death_below_every_pf_change():
    # cutoff day 30: Day 7 window (5-10) closed. Baselines 100 (day 0).
    # A: day 7 P/F 150 (+50); B: day 7 P/F 120 (+20); C died day 6; D discharged day 5, no gas.
    # Scale (lower is worse): died < +20 < +50 < discharged. Median h = 1.5 -> (20 + 50) / 2 = 35;
    # Q1 h = 0.75 between died and +20 -> died; Q3 h = 2.25 between +50 and discharged -> discharged.
    g = gases(("A", 0, 6, 50, 0.5), ("B", 0, 6, 50, 0.5), ("C", 0, 6, 50, 0.5), ("D", 0, 6, 50, 0.5),
              ("A", 7, 6, 60, 0.4), ("B", 7, 6, 60, 0.5))
    s = subjects("A", "B", "C", "D", died={"C": 6}, discharged={"D": 5}, follow_up=30)
    b = pao2_fio2.pf_by_visit(g, s, cutoff_date=DAY0 + pd.Timedelta(days=30))
    w = pao2_fio2.pf_worst_rank(b).set_index("target_day").loc[7]
    assert w["n_ranked"] == 4 and w["died_prop"] == 0.25
    assert w["worst_rank_median"] == pytest.approx(35.0) and w["worst_rank_median_state"] == "value"
    assert w["worst_rank_q1_state"] == "died" and w["worst_rank_q3_state"] == "discharged"
    h = pao2_fio2.headline_measures(pao2_fio2.pf_summary(b), pao2_fio2.pf_worst_rank(b)).set_index(["measure", "day"])
    assert h.loc[("pf_ratio_change_worst_rank_median", 7), "estimate"] == pytest.approx(35.0)
    assert h.loc[("pf_ratio_change_worst_rank_died_prop", 7), "n"] == 4
