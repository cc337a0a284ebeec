"""Table 1 describes whoever is there, says what nobody has, and prints no warnings on the page."""
import warnings

import numpy as np
import pandas as pd

from msc_analysis.report.tables import baseline_table


def _subjects(n, liao_total, liao_level):
    return pd.DataFrame({"age_years": [50.0, 60.0][:n], "sex": ["F", "M"][:n], "weight_kg": [70.0, 80.0][:n],
                         "liao_total_at_screening": liao_total[:n],
                         "liao_level_at_screening": pd.Series(liao_level[:n], dtype="string")})


def test_a_variable_nobody_has_reads_not_recorded_instead_of_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = baseline_table(_subjects(2, [np.nan, np.nan], [pd.NA, pd.NA]))
    row = table.loc[("Liao (NEWS-C) score at screening, points", "")]
    assert list(row) == ["2", "not recorded for any subject"]
    assert "nan" not in table.to_string()
    assert table.loc[("Age, years, median [Q1,Q3]", ""), "Overall"] == "55.0 [52.5,57.5]"


def test_one_subject_gives_a_table_and_no_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = baseline_table(_subjects(1, [3.0], ["red"]))
    assert str(table.loc[("n", ""), "Overall"]) == "1"
    assert table.loc[("Liao (NEWS-C) level at screening, n (%)", "red"), "Overall"] == "1 (100.0)"


def test_nobody_in_the_population_gives_n_0():
    table = baseline_table(_subjects(0, [], []))
    assert table.to_dict("list") == {"Overall": ["0"]}
