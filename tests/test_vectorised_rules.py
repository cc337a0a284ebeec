"""Rules pinned by the vectorised rewrites of issue 15 (same answers as the per-subject loops)."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from msc_analysis.derive.checks import isin
from msc_analysis.endpoints.pcr_negativity import negativity_status
from msc_analysis.endpoints.safety_monitoring import monitoring_boundary


@pytest.mark.parametrize("allowed", [{"A", "C"}, ["A", None], [], [1, 2], ["A", 1], pd.Series(["B", "Q"]),
                                     pd.Index(["D", "D"]), np.array(["C"]), ("B",), {"A": 1}])
def test_isin_gives_the_answer_of_pandas_isin(allowed):
    values = pd.Series(["A", "B", None, "C", "D"], index=[5, 4, 3, 2, 1])
    pd.testing.assert_series_equal(isin(values, allowed), values.isin(allowed))


def test_negativity_rows_follow_the_subjects_not_the_swabs():
    day0 = pd.Timestamp("2020-08-01")
    subjects = pd.DataFrame({"subject_id": ["C", "A", "B"], "arm": "MSC", "treated": True,
                             "infused_on": day0, "died_on": pd.to_datetime([None, None, "2020-08-05"])})
    pcr = pd.DataFrame({"subject_id": ["B", "A", "A", "A", "C", "A"],
                        "days_since_infusion": [0, 5, 0, 3, 2, 3],
                        "result": ["positive", "negative", "positive", "negative", "negative", "inconclusive"]})
    status = negativity_status(subjects, pcr)
    shuffled = negativity_status(subjects, pcr.iloc[::-1])
    assert status["subject_id"].tolist() == ["C", "A", "B"]
    assert status["status"].tolist() == ["excluded: never positive after infusion", "negativity",
                                         "died before negativity"]
    assert status["negativity_day"].iloc[1] == 3.0  # days 3 and 5, one inconclusive swab between them
    pd.testing.assert_frame_equal(status, shuffled)


def test_monitoring_boundary_is_the_smallest_crossing_count_for_every_n():
    rule = dict(prior_a=1, prior_b=1, threshold_prop=0.2, boundary_prob=0.9)
    found = monitoring_boundary(200, **rule)["min_toxicity_to_cross"].tolist()
    for n in range(1, 201):  # across several blocks of the coarse search (64 subjects each)
        crossing = [x for x in range(n + 1) if beta.sf(0.2, 1 + x, 1 + n - x) >= 0.9]
        assert crossing and found[n - 1] == crossing[0]
