"""Subject codes looked up by position (issue 15): the same answers as pandas, faster."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.derive.checks import positions
from msc_analysis.endpoints.ae_coding import code_adverse_events
from msc_analysis.endpoints.subgroups import subgroup_membership


def test_positions_match_pandas_get_indexer_with_absent_and_missing_codes():
    rng = np.random.default_rng(3)
    codes = pd.Series([f"MSC-{i:04d}" for i in rng.permutation(500)], dtype="str")
    values = pd.Series(rng.choice([*codes, "MSC-9999", None], size=3000), dtype="str")
    expected = pd.Index(codes).get_indexer(values)
    assert (positions(values, codes) == expected).all()
    assert (expected == -1).sum() > 0


def test_positions_compare_codes_as_text_whatever_their_storage():
    assert positions(pd.Series([2, 7, 3]), pd.Series(["3", "2"], dtype=object)).tolist() == [1, -1, 0]


def test_positions_refuse_repeated_codes():
    with pytest.raises(ValueError, match="unique"):
        positions(pd.Series(["A"]), pd.Series(["A", "B", "A"]))


def test_each_missing_ae_term_is_worded_as_given():
    ae = pd.DataFrame({"term": pd.Series(["pyrexia", None, "pyrexia", "Feverish"], dtype=object)})
    assert code_adverse_events(ae)["pt"].tolist() == ["Fever", "None", "Fever", "Feverish"]


def test_subgroup_values_are_worded_per_value_whole_numbers_without_decimals():
    defs = pd.DataFrame({"variable": "age", "variable_label": "Age", "column": "age_years",
                         "subgroup": ["under_65", "65_and_over"], "label": ["Age < 65 years", "Age >= 65 years"],
                         "values": "", "lower": [None, 65], "upper": [65, None]})
    s = pd.DataFrame({"subject_id": list("ABCDE"), "age_years": [40.0, 65.5, None, 40.0, 70.0]})
    assert subgroup_membership(s, defs)["value"].tolist() == ["40", "65.5", "", "40", "70"]


def test_row_order_is_the_stable_lexicographic_order_of_its_keys():
    from msc_analysis.derive.checks import row_order

    rng = np.random.default_rng(5)
    subject, day = rng.integers(0, 50, 2000), rng.integers(-3, 30, 2000)
    at = np.datetime64("2020-08-01T08:00:00") + rng.integers(0, 4, 2000) * np.timedelta64(1, "h")
    assert (row_order(subject, day, at) == np.lexsort((at, day, subject))).all()


def test_row_order_declines_keys_it_cannot_pack():
    from msc_analysis.derive.checks import row_order

    assert row_order(np.array([0.5, 1.5])) is None
    assert row_order(np.array(["2020-08-01", "NaT"], dtype="datetime64[s]")) is None
    assert row_order(np.array([-2 ** 40, 2 ** 40]), np.array([-2 ** 40, 2 ** 40])) is None
