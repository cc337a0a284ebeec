"""Dose delivered (cells/kg against the 1e6 target) and feasibility."""
import pandas as pd
import pytest

from msc_analysis.endpoints import dose_feasibility as dosing

d = pd.to_datetime

# Dosing weight 80 kg for every subject: target 1e6 cells/kg = 8.0e7 cells.
INFUSIONS = pd.DataFrame({
    "subject_id": ["A", "B", "C", "D"],
    "cells_infused": [8.0e7, 8.8e7, 7.2e7, 9.0e7],   # 1.0, 1.1, 0.9, 1.125 x 1e6 cells/kg
    "weight_kg": [80.0, 80.0, 80.0, 80.0],
})


def test_dose_is_cells_per_kg_of_dosing_weight():
    doses = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=1e6, tolerance_pct=10)
    assert doses["dose_cells_per_kg"].tolist() == pytest.approx([1.0e6, 1.1e6, 0.9e6, 1.125e6])
    assert doses["deviation_pct"].tolist() == pytest.approx([0, 10, -10, 12.5])


def test_tolerance_is_inclusive_at_exactly_ten_percent():
    # 8.8e7 / 80 = 1.1e6 is +10 % (floating point gives 10.000000000000009): within.
    doses = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=1e6, tolerance_pct=10)
    assert doses["within_tolerance"].tolist() == [True, True, True, False]


def test_tolerance_and_target_are_settings():
    wide = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=1e6, tolerance_pct=15)
    assert wide["within_tolerance"].all()
    # Against a target of 2e6 cells/kg, 1e6 is -50 %.
    half = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=2e6, tolerance_pct=10)
    assert half["deviation_pct"].iloc[0] == pytest.approx(-50)


def test_defaults_come_from_the_definitions():
    doses = dosing.dose_delivered(INFUSIONS)
    assert (doses["target_cells_per_kg"].iloc[0], doses["tolerance_pct"].iloc[0]) == (1e6, 10)


def test_dose_summary_and_outside_tolerance():
    doses = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=1e6, tolerance_pct=10)
    s = dosing.dose_summary(doses).iloc[0]
    # Doses 0.9, 1.0, 1.1, 1.125 (x1e6): median (1.0 + 1.1) / 2 = 1.05e6; only D (1.125) is outside, above.
    assert s["dose_cells_per_kg_median"] == pytest.approx(1.05e6)
    assert (s["n_below_tolerance"], s["n_within_tolerance"], s["n_above_tolerance"]) == (0, 3, 1)
    assert dosing.doses_outside_tolerance(doses)["subject_id"].tolist() == ["D"]


def test_outside_tolerance_listing_puts_the_furthest_first():
    inf = pd.DataFrame({"subject_id": ["X", "Y", "Z"], "cells_infused": [6.0e7, 9.6e7, 8.0e7],
                        "weight_kg": [80.0] * 3})
    # X: 0.75e6 (-25 %), Y: 1.2e6 (+20 %), Z on target.
    out = dosing.doses_outside_tolerance(dosing.dose_delivered(inf, target_cells_per_kg=1e6, tolerance_pct=10))
    assert out["subject_id"].tolist() == ["X", "Y"]


SUBJECTS = pd.DataFrame({
    "subject_id": ["A", "B", "C", "D", "E", "F"],
    "enrolled": [True, True, True, True, True, False],
    "treated": [True, True, True, True, False, False],
    "enrolled_on": d(["2020-08-01", "2020-08-01", "2020-08-03", None, "2020-09-20", None]),
    "infused_on": d(["2020-08-01", "2020-08-03", "2020-08-04", "2020-08-05", None, None]),
    "died_on": d([None, None, None, None, None, None]),
})


def test_infused_proportion_is_of_enrolled_subjects():
    doses = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=1e6, tolerance_pct=10)
    p = dosing.feasibility_proportions(SUBJECTS, doses).set_index("measure")
    # 4 of the 5 enrolled were infused (F was not enrolled). Exact upper bound for 4 of 5: 0.975 ** (1 / 5).
    assert (p.loc["infused", "successes"], p.loc["infused", "n"]) == (4, 5)
    assert p.loc["infused", "ci95_upper"] == pytest.approx(0.975 ** 0.2, abs=1e-9)
    # 3 of the 4 infusions within tolerance.
    assert (p.loc["within_tolerance", "successes"], p.loc["within_tolerance", "n"]) == (3, 4)


def test_days_from_enrollment_to_infusion_use_recorded_dates_only():
    delays = dosing.enrollment_to_infusion(SUBJECTS)
    # A same day (0), B 2 days, C 1 day, D no enrollment date (missing, not imputed).
    assert delays["enrollment_to_infusion_days"].tolist()[:3] == [0, 2, 1]
    assert pd.isna(delays["enrollment_to_infusion_days"].iloc[3])
    s = dosing.delay_summary(delays).iloc[0]
    assert (s["n_treated"], s["n_with_enrollment_date"], s["enrollment_to_infusion_days_median"]) == (4, 3, 1)


def test_without_any_enrollment_date_the_delay_is_not_computed():
    delays = dosing.enrollment_to_infusion(SUBJECTS.assign(enrolled_on=pd.NaT))
    s = dosing.delay_summary(delays).iloc[0]
    assert not s["computable"] and pd.isna(s["enrollment_to_infusion_days_median"])
    doses = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=1e6, tolerance_pct=10)
    h = dosing.headline_measures(doses, dosing.feasibility_proportions(SUBJECTS, doses), delays)
    row = h.set_index("measure").loc["enrollment_to_infusion_days_median"]
    assert pd.isna(row["estimate"]) and row["n"] == 0 and "not computable" in row["method"]


def test_not_infused_listing():
    out = dosing.not_infused_listing(SUBJECTS, pd.Timestamp("2020-09-30"))
    # E enrolled 2020-09-20, not infused: 10 days before the cutoff.
    assert out[["subject_id", "days_enrolled_before_cutoff"]].values.tolist() == [["E", 10]]


NOT_INFUSED = pd.DataFrame({
    "subject_id": ["P", "Q", "R", "S", "T"],
    "enrolled": True, "treated": False,
    # cutoff 2020-12-30: P 118 days, Q 7 days (the last day of the window), R 8 days, S 2 days (died), T no date.
    "enrolled_on": d(["2020-09-03", "2020-12-23", "2020-12-22", "2020-12-28", None]),
    "died_on": d([None, None, None, "2020-12-29", None]),
    "not_infused_reason": pd.array(["withdrew consent", None, "  ", None, None], dtype="string"),
})
CUTOFF = pd.Timestamp("2020-12-30")


def test_a_subject_enrolled_long_before_the_cutoff_is_not_infused_never_may_still_be():
    out = dosing.not_infused_listing(NOT_INFUSED, CUTOFF, infusion_window_days=7).set_index("subject_id")
    assert out.loc["P", "status"] == "not infused (118 days since enrollment)"
    assert out.loc["R", "status"] == "not infused (8 days since enrollment)"
    assert not out.loc[["P", "R"], "may_still_be_infused"].any()
    assert not any("may still be infused" in s for s in out.loc[["P", "R", "S", "T"], "status"])


def test_only_a_subject_enrolled_within_the_window_may_still_be_infused():
    out = dosing.not_infused_listing(NOT_INFUSED, CUTOFF, infusion_window_days=7).set_index("subject_id")
    assert out.loc["Q", "status"] == "may still be infused (enrolled 7 days before the cutoff)"
    assert out["may_still_be_infused"].tolist() == [False, True, False, False, False]


def test_a_dead_subject_or_one_without_an_enrollment_date_is_not_said_to_be_infusable():
    out = dosing.not_infused_listing(NOT_INFUSED, CUTOFF, infusion_window_days=7).set_index("subject_id")
    assert out.loc["S", "status"] == "not infused (died)"
    assert out.loc["T", "status"] == "not infused (enrollment date not recorded)"


def test_the_window_comes_from_safety_yaml():
    from msc_analysis.definitions import safety_definitions

    window = safety_definitions()["dose"]["infusion_window_days"]
    assert window == 7
    default = dosing.not_infused_listing(NOT_INFUSED, CUTOFF)
    assert default["status"].tolist() == dosing.not_infused_listing(NOT_INFUSED, CUTOFF,
                                                                     infusion_window_days=window)["status"].tolist()
    # A wider window makes R (8 days) infusable, never P (118 days).
    wide = dosing.not_infused_listing(NOT_INFUSED, CUTOFF, infusion_window_days=10).set_index("subject_id")
    assert wide.loc["R", "may_still_be_infused"] and not wide.loc["P", "may_still_be_infused"]


@pytest.mark.parametrize("window", [-1, 2.5, True])
def test_a_bad_window_raises(window):
    with pytest.raises(ValueError, match="infusion_window_days"):
        dosing.not_infused_listing(NOT_INFUSED, CUTOFF, infusion_window_days=window)


def test_the_reason_is_kept_and_missing_or_blank_reads_reason_not_recorded():
    from msc_analysis.report.dose_tables import format_not_infused

    out = dosing.not_infused_listing(NOT_INFUSED, CUTOFF, infusion_window_days=7)
    assert out["not_infused_reason"].iloc[0] == "withdrew consent" and out["not_infused_reason"].iloc[1:].isna().all()
    table = format_not_infused(out).set_index("Subject")
    assert table.loc["P", "Reason not infused"] == "withdrew consent"
    assert (table.loc[["Q", "R", "S", "T"], "Reason not infused"] == "reason not recorded").all()
    assert table.loc["P", "Status at the cutoff"] == "not infused (118 days since enrollment)"


def test_without_the_reason_column_every_reason_is_not_recorded():
    from msc_analysis.report.dose_tables import format_not_infused

    out = dosing.not_infused_listing(NOT_INFUSED.drop(columns="not_infused_reason"), CUTOFF)
    assert out["not_infused_reason"].isna().all()
    assert set(format_not_infused(out)["Reason not infused"]) == {"reason not recorded"}


def test_a_cut_may_give_the_reason_in_the_optional_subjects_column(tmp_path):
    import shutil

    from msc_analysis import load_cut

    from .conftest import FIXTURE_CUT

    cut_dir = tmp_path / "cut"
    shutil.copytree(FIXTURE_CUT, cut_dir)
    subjects = pd.read_csv(cut_dir / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["not_infused_reason"] = subjects["subject_id"].map({"S06": "clinical worsening before the infusion"})
    subjects.to_csv(cut_dir / "subjects.csv", index=False)
    cut = load_cut(cut_dir)
    out = dosing.not_infused_listing(cut.subjects, cut.cutoff_date).set_index("subject_id")
    assert out.loc["S06", "not_infused_reason"] == "clinical worsening before the infusion"
    # Without the column (the fixture as it is) the cut loads too, with no reason.
    assert dosing.not_infused_listing(load_cut(FIXTURE_CUT).subjects, cut.cutoff_date)["not_infused_reason"].isna().all()


def test_headline_measures():
    doses = dosing.dose_delivered(INFUSIONS, target_cells_per_kg=1e6, tolerance_pct=10)
    h = dosing.headline_measures(doses, dosing.feasibility_proportions(SUBJECTS, doses),
                                 dosing.enrollment_to_infusion(SUBJECTS)).set_index("measure")
    assert h.loc["dose_cells_per_kg_median", "estimate"] == pytest.approx(1.05e6)
    assert h.loc["within_tolerance_prop", "estimate"] == 0.75
    assert (h.loc["infused_prop", "estimate"], h.loc["infused_prop", "n"]) == (0.8, 5)
    assert "interquartile" in h.loc["dose_cells_per_kg_median", "method"]


def test_nobody_infused_gives_missing_values_not_errors():
    doses = dosing.dose_delivered(INFUSIONS.iloc[0:0])
    subjects = SUBJECTS.assign(treated=False)
    p = dosing.feasibility_proportions(subjects, doses).set_index("measure")
    assert p.loc["infused", "estimate_prop"] == 0 and pd.isna(p.loc["within_tolerance", "estimate_prop"])
    h = dosing.headline_measures(doses, p.reset_index(), dosing.enrollment_to_infusion(subjects))
    assert h["estimate"].iloc[0] != h["estimate"].iloc[0]        # NaN median dose


def test_inputs_are_not_modified():
    inf, subj = INFUSIONS.copy(), SUBJECTS.copy()
    doses = dosing.dose_delivered(INFUSIONS)
    dosing.feasibility_proportions(SUBJECTS, doses)
    dosing.enrollment_to_infusion(SUBJECTS)
    dosing.not_infused_listing(SUBJECTS, pd.Timestamp("2020-09-30"))
    pd.testing.assert_frame_equal(INFUSIONS, inf)
    pd.testing.assert_frame_equal(SUBJECTS, subj)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="weight_kg must be positive"):
        dosing.dose_delivered(INFUSIONS.assign(weight_kg=0.0))
    with pytest.raises(ValueError, match="tolerance_pct"):
        dosing.dose_delivered(INFUSIONS, tolerance_pct=-1)
    with pytest.raises(ValueError, match="target_cells_per_kg"):
        dosing.dose_delivered(INFUSIONS, target_cells_per_kg=0)
    with pytest.raises(ValueError, match="cells_infused"):
        dosing.dose_delivered(INFUSIONS.drop(columns="cells_infused"))


def test_fixture_cut(fixture_cut):
    doses = dosing.dose_delivered(fixture_cut.infusions)
    # S01 8.0e7 / 80 = 1.0e6; S02 6.0e7 / 62.5 = 0.96e6 (-4 %); S07's infusion is after the cutoff.
    assert dict(zip(doses["subject_id"], doses["dose_cells_per_kg"])) == pytest.approx({"S01": 1.0e6, "S02": 0.96e6})
    p = dosing.feasibility_proportions(fixture_cut.subjects, doses).set_index("measure")
    # Enrolled: S01, S02, S06; S06 not infused.
    assert (p.loc["infused", "successes"], p.loc["infused", "n"]) == (2, 3)
    # The fixture has no enrollment dates: the delay cannot be computed.
    assert not dosing.delay_summary(dosing.enrollment_to_infusion(fixture_cut.subjects)).iloc[0]["computable"]


def test_delay_figure_says_when_the_delay_cannot_be_computed():
    import matplotlib.pyplot as plt

    from msc_analysis.report.dose_plots import delay_figure

    fig = delay_figure(dosing.enrollment_to_infusion(SUBJECTS.assign(enrolled_on=pd.NaT)))
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    assert "cannot be computed" in texts
