"""Chest CT endpoint: score change, impression by visit, proportion improved."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.endpoints import radiology
from msc_analysis.stats.binomial import exact_proportion

from .test_baseline_and_visits import DAY0, subjects


def scans(*rows):
    """rows: (subject, day, score or None, impression or None). Dates only, like imaging.csv."""
    return pd.DataFrame({
        "subject_id": [r[0] for r in rows],
        "performed_on": [DAY0 + pd.Timedelta(days=r[1]) for r in rows],
        "modality": "CT",
        "severity_score": pd.array([r[2] for r in rows], dtype="Int64"),
        "impression": pd.array([r[3] for r in rows], dtype="string"),
        "days_since_infusion": pd.array([r[1] for r in rows], dtype="Int64"),
    })


def test_a_scan_dated_day_0_is_the_baseline():
    b = radiology.ct_by_visit(scans(("A", -2, 12, None), ("A", 0, 15, None)), subjects("A"))
    assert b.loc[b["visit"] == "Baseline", "ct_severity_score"].item() == 15


def test_two_scans_on_the_same_date_take_the_later_row_as_baseline():
    b = radiology.ct_by_visit(scans(("A", 0, 15, None), ("A", 0, 11, None)), subjects("A"))
    assert b.loc[b["visit"] == "Baseline", "ct_severity_score"].item() == 11


def test_score_change_by_hand(fixture_cut):
    # tests/fixtures/valid_cut: S01 baseline scan day -1 score 15, day 14 score 8: change -7
    b = radiology.ct_by_visit(fixture_cut.imaging, fixture_cut.population("treated"))
    s01 = b[b["subject_id"] == "S01"].set_index("visit")
    assert s01.loc["Day 14", "ct_score_change"] == -7
    assert s01.loc["Day 14", "ct_score_change_pct"] == pytest.approx(-700 / 15)
    h = radiology.headline_measures(radiology.ct_summary(b), radiology.improvement_proportions(
        radiology.impression_by_visit(fixture_cut.imaging, fixture_cut.population("treated"))))
    r = h.set_index(["measure", "day"]).loc[("ct_score_change_median", 14)]
    assert (r["estimate"], r["n"]) == (-7, 1)


def test_a_missing_scan_is_not_assessed_never_stable():
    # A: scan at day 14 "stable"; B: alive, no scan; C: scan without an impression; D died day 5
    im = radiology.impression_by_visit(
        scans(("A", 14, 9, "stable"), ("C", 15, 10, None)), subjects("A", "B", "C", "D", died={"D": 5}))
    cat = im[im["target_day"] == 14].set_index("subject_id")["impression_category"]
    assert cat["A"] == "stable"
    assert cat["B"] == "not assessed (no scan)"
    assert cat["C"] == "impression not recorded"
    assert cat["D"] == "died"


def test_proportion_improved_counts_deaths_as_not_improved_and_leaves_out_not_assessed():
    # day 14: improved A, B; stable C; worsened D; E died; F no scan; G scan not read
    rows = [("A", 14, 5, "improved"), ("B", 13, 6, "improved"), ("C", 14, 9, "stable"),
            ("D", 12, 14, "worsened"), ("G", 14, 7, None)]
    subj = subjects("A", "B", "C", "D", "E", "F", "G", died={"E": 9})
    p = radiology.improvement_proportions(radiology.impression_by_visit(scans(*rows), subj)).set_index("target_day")
    # evaluable = A B C D (read) + E (died) = 5; improved 2 -> 0.4
    assert (p.loc[14, "n_evaluable"], p.loc[14, "n_improved"], p.loc[14, "n_not_assessed"],
            p.loc[14, "n_not_recorded"]) == (5, 2, 1, 1)
    ci = exact_proportion(2, 5).iloc[0]
    assert p.loc[14, "improved_prop"] == 0.4 and p.loc[14, "ci95_lower"] == ci["ci95_lower"]
    without = radiology.improvement_proportions(radiology.impression_by_visit(scans(*rows), subj),
                                                deaths_as_not_improved=False).set_index("target_day")
    assert without.loc[14, "n_evaluable"] == 4


def test_no_read_scan_at_a_visit_gives_no_estimate_rather_than_zero():
    p = radiology.improvement_proportions(radiology.impression_by_visit(
        scans(("A", 14, 5, "improved")), subjects("A", "B", died={"B": 40}))).set_index("target_day")
    # day 60: A not assessed, B died: no read scan -> not estimated
    assert np.isnan(p.loc[60, "improved_prop"]) and p.loc[60, "n_died"] == 1


def test_impression_shift_counts_each_subject_once():
    rows = [("A", 14, 5, "improved"), ("A", 28, 4, "stable"), ("B", 14, 9, "worsened")]
    im = radiology.impression_by_visit(scans(*rows), subjects("A", "B", died={"B": 20}))
    shift = radiology.impression_shift(im, 14, 28).set_index(["from_category", "to_category"])["n_subjects"]
    assert shift.sum() == 2
    assert shift[("improved", "stable")] == 1 and shift[("worsened", "died")] == 1


def test_impression_counts_share_sums_to_one_at_each_visit():
    im = radiology.impression_by_visit(scans(("A", 14, 5, "improved")), subjects("A", "B"))
    c = radiology.impression_counts(im)
    assert c.groupby("visit")["share_prop"].sum().round(12).eq(1).all()
    assert c.groupby("visit")["n_subjects"].sum().eq(2).all()


def test_an_unknown_impression_is_refused():
    with pytest.raises(ValueError, match="impression"):
        radiology.impression_by_visit(scans(("A", 14, 5, "better")), subjects("A"))


def test_radiology_functions_do_not_modify_their_inputs():
    s, subj = scans(("A", 0, 15, None), ("A", 14, 9, "improved")), subjects("A")
    s0, subj0 = s.copy(), subj.copy()
    radiology.ct_by_visit(s, subj)
    radiology.impression_by_visit(s, subj)
    pd.testing.assert_frame_equal(s, s0)
    pd.testing.assert_frame_equal(subj, subj0)
