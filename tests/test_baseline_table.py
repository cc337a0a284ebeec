"""Table 1 describes whoever is there, says what nobody has, and prints no warnings on the page."""
import warnings

import numpy as np
import pandas as pd

from msc_analysis.report.tables import baseline_table

FORBIDDEN = ("nan", "None", "<NA>", "NaN")


def _subjects(n, liao_total, liao_level, sex=("F", "M")):
    return pd.DataFrame({"age_years": [50.0, 60.0][:n], "sex": pd.Series(list(sex)[:n], dtype="string"),
                         "weight_kg": [70.0, 80.0][:n], "liao_total_at_screening": liao_total[:n],
                         "liao_level_at_screening": pd.Series(liao_level[:n], dtype="string")})


def _row(table, characteristic):
    return table[table["Characteristic"] == characteristic].iloc[0]


def _text(table):
    return " ".join(table.astype(str).to_numpy().ravel())


def test_a_variable_nobody_has_reads_not_recorded_instead_of_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = baseline_table(_subjects(2, [np.nan, np.nan], [pd.NA, pd.NA]))
    row = _row(table, "Liao (NEWS-C) score at screening, points")
    assert row["Subjects"] == "not recorded for any subject" and row["Missing"] == "2"
    assert not any(word in _text(table).split() for word in FORBIDDEN)
    assert _row(table, "Age, years, median [Q1, Q3]")["Subjects"] == "55.0 [52.5, 57.5]"


def test_a_missing_category_is_counted_as_missing_never_shown_as_a_level_none():
    table = baseline_table(_subjects(2, [3.0, 4.0], ["red", pd.NA], sex=("F", None)))
    sex = table[table["Characteristic"].eq("Sex, n (%)").cumsum().astype(bool)].iloc[:2]
    assert sex["Category"].tolist()[0] == "F" and sex["Missing"].tolist()[0] == "1"
    assert "None" not in table["Category"].tolist() and "None" not in _text(table)
    levels = table.loc[table["Characteristic"].eq("Liao (NEWS-C) level at screening, n (%)"), ["Category", "Missing"]]
    assert levels.values.tolist() == [["red", "1"]]


def test_counts_carry_a_percent_sign_and_a_zero_is_plain():
    table = baseline_table(_subjects(2, [3.0, 4.0], ["red", "red"]))
    assert _row(table, "Sex, n (%)")["Subjects"] == "1 (50.0%)"
    assert _row(table, "Liao (NEWS-C) level at screening, n (%)")["Subjects"] == "2 (100.0%)"


def test_one_subject_gives_a_table_and_no_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = baseline_table(_subjects(1, [3.0], ["red"]), column="Treated (N = 1)")
    assert _row(table, "Subjects, n")["Treated (N = 1)"] == "1"
    assert _row(table, "Liao (NEWS-C) level at screening, n (%)")["Treated (N = 1)"] == "1 (100.0%)"


def test_nobody_in_the_population_gives_n_0():
    table = baseline_table(_subjects(0, [], []))
    assert table.values.tolist() == [["Subjects, n", "", "0", ""]]
