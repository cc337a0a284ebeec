"""Table 1 describes whoever is there (n, mean (SD), median (Q1 to Q3), min to max; n (%)), says what
nobody has, counts the missing and prints no warnings on the page. Values below are computed by hand."""
import warnings

import numpy as np
import pandas as pd

from msc_analysis.report.tables import baseline_table, continuous_summary

FORBIDDEN = ("nan", "None", "<NA>", "NaN", "inf")
STAT = "Statistic or category"


def _subjects(n, liao_total, liao_level, sex=("F", "M")):
    return pd.DataFrame({"age_years": [50.0, 60.0][:n], "sex": pd.Series(list(sex)[:n], dtype="string"),
                         "weight_kg": [70.0, 80.0][:n], "liao_total_at_screening": liao_total[:n],
                         "liao_level_at_screening": pd.Series(liao_level[:n], dtype="string")})


def _block(table, characteristic):
    """The rows of one variable: its first row and the rows below it with an empty Characteristic."""
    start = table.index[table["Characteristic"] == characteristic][0]
    rows = [start]
    for i in range(start + 1, len(table)):
        if table.loc[i, "Characteristic"] != "":
            break
        rows.append(i)
    return table.loc[rows]


def _text(table):
    return " ".join(table.astype(str).to_numpy().ravel())


def test_a_continuous_variable_shows_n_mean_sd_median_quartiles_and_range():
    # ages 50, 60, 71: mean 181/3 = 60.33; SD sqrt(((-10.33)^2 + (-0.33)^2 + 10.67^2) / 2) = sqrt(110.33) = 10.50;
    # median 60; Q1 (R type 7) = 50 + 0.5 * 10 = 55; Q3 = 60 + 0.5 * 11 = 65.5; one decimal more than recorded
    s = pd.DataFrame({"age_years": [50.0, 60.0, 71.0, np.nan]})
    block = _block(baseline_table(s, "All (N = 4)"), "Age, years")
    assert block[[STAT, "All (N = 4)", "Missing"]].values.tolist() == [
        ["n", "3", "1"], ["Mean (SD)", "60.3 (10.5)", ""], ["Median (Q1 to Q3)", "60.0 (55.0 to 65.5)", ""],
        ["Min to max", "50 to 71", ""]]


def test_continuous_summary_uses_the_n_minus_1_sd_and_type_7_quartiles():
    s = continuous_summary(pd.Series([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]))
    # mean 5; squares of deviations 9+1+1+1+0+0+4+16 = 32; SD sqrt(32/7) = 2.138; Q1: h = 7 * 0.25 = 1.75 -> 4;
    # Q3: h = 5.25 -> 5 + 0.25 * 2 = 5.5
    assert (s["n"], s["mean"], round(s["sd"], 3), s["q1"], s["median"], s["q3"]) == (8, 5.0, 2.138, 4.0, 4.5, 5.5)


def test_baseline_severity_rows_show_with_their_units_and_missing_count():
    s = pd.DataFrame({"crp_mg_dl_baseline": [10.1, 12.3, np.nan], "on_oxygen_baseline": ["yes", None, "no"],
                      "pf_ratio_mmhg_baseline": [213.3333, 188.3333, 143.75]})
    table = baseline_table(s, "T (N = 3)")
    crp = _block(table, "CRP at baseline, mg/dL")
    assert crp[[STAT, "T (N = 3)", "Missing"]].values.tolist()[:2] == [["n", "2", "1"], ["Mean (SD)", "11.20 (1.56)", ""]]
    assert crp["T (N = 3)"].tolist()[3] == "10.1 to 12.3"
    oxygen = _block(table, "Oxygen use at baseline, n (%)")
    assert oxygen[[STAT, "T (N = 3)", "Missing"]].values.tolist() == [["yes", "1 (33.3%)", "1"], ["no", "1 (33.3%)", ""]]
    assert _block(table, "PaO2/FiO2 at baseline, mmHg")["T (N = 3)"].tolist()[2] == "188.3 (166.0 to 200.8)"


def test_a_variable_nobody_has_reads_not_recorded_instead_of_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = baseline_table(_subjects(2, [np.nan, np.nan], [pd.NA, pd.NA]))
    row = _block(table, "Liao (NEWS-C) score at screening, points").iloc[0]
    assert row["Subjects"] == "not recorded for any subject" and row["Missing"] == "2"
    assert not any(word in _text(table).split() for word in FORBIDDEN)
    assert _block(table, "Age, years")["Subjects"].tolist()[2] == "55.0 (52.5 to 57.5)"


def test_a_missing_category_is_counted_as_missing_never_shown_as_a_level_none():
    table = baseline_table(_subjects(2, [3.0, 4.0], ["red", pd.NA], sex=("F", None)))
    sex = _block(table, "Sex, n (%)")
    assert sex[[STAT, "Missing"]].values.tolist() == [["F", "1"]]
    assert "None" not in table[STAT].tolist() and "None" not in _text(table)
    levels = _block(table, "Liao (NEWS-C) level at screening, n (%)")[[STAT, "Missing"]]
    assert levels.values.tolist() == [["red", "1"]]


def test_counts_carry_a_percent_sign_and_a_zero_is_plain():
    table = baseline_table(_subjects(2, [3.0, 4.0], ["red", "red"]))
    assert _block(table, "Sex, n (%)")["Subjects"].tolist() == ["1 (50.0%)", "1 (50.0%)"]
    assert _block(table, "Liao (NEWS-C) level at screening, n (%)")["Subjects"].tolist() == ["2 (100.0%)"]


def test_one_subject_gives_a_table_no_sd_and_no_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = baseline_table(_subjects(1, [3.0], ["red"]), column="Treated (N = 1)")
    assert table.iloc[0]["Treated (N = 1)"] == "1"
    assert _block(table, "Age, years")["Treated (N = 1)"].tolist()[1] == "50.0 (SD not estimable with one value)"
    assert not any(word in _text(table).split() for word in FORBIDDEN)


def test_nobody_in_the_population_gives_n_0():
    table = baseline_table(_subjects(0, [], []))
    assert table.values.tolist() == [["Subjects, n", "", "0", ""]]


def test_the_input_frame_is_not_modified():
    s = _subjects(2, [3.0, np.nan], ["red", pd.NA])
    before = s.copy()
    baseline_table(s)
    pd.testing.assert_frame_equal(s, before)
