"""Table cells written once per distinct value read exactly as cells written one by one (issue 15)."""
import numpy as np
import pandas as pd
import pytest

from msc_analysis.report import formats
from msc_analysis.report.cells import _text, marker_notes, table_cells


def _typed(value) -> str:
    """A cell that shows the value's type too, so that merging two different values would show."""
    return f"{type(value).__name__}:{value!r}"


COLUMNS = {
    "float with signed zero and missing": pd.Series([0.0, -0.0, np.nan, 2.5, 0.0, np.nan]),
    "whole floats": pd.Series([3.0, 3.0, 12.0, 1e16, float("inf"), -np.inf]),
    "integers": pd.Series([1, 2, 1, 2, 3, 1]),
    "nullable integers": pd.Series([1, None, 1, 4, None, 4], dtype="Int64"),
    "booleans": pd.Series([True, False, True, True, False, True]),
    "nullable booleans": pd.Series([True, None, False, True, None, False], dtype="boolean"),
    "nullable floats": pd.Series([0.5, None, 0.5, -0.0, 0.0, 1.0], dtype="Float64"),
    "mixed objects": pd.Series([True, 1, 1.0, "1", None, np.nan], dtype=object),
    "text with missing": pd.Series(["a", None, "a", "nan", " NA ", "\x1c-inf\n"], dtype="str"),
    "text with NA": pd.Series(["a", None, "a", "information", "None", "b"], dtype="string"),
    "objects with None and NaN": pd.Series(["a", None, np.nan, "a", pd.NA, "b"], dtype=object),
    "dates": pd.Series(pd.to_datetime(["2020-05-01", None, "2020-05-01 10:30", "2020-05-01", None, "2020-06-02"],
                                      format="ISO8601")),
    "categories": pd.Series(["x", "y", None, "x", "y", "x"], dtype="category"),
}


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_each_writes_every_value_as_one_by_one(name):
    values = COLUMNS[name]
    assert formats.each(values, _typed) == [_typed(v) for v in values]


def _one_by_one(frame: pd.DataFrame, decimals: int) -> pd.DataFrame:
    out = frame.astype(object)
    for i in range(out.shape[1]):
        out.isetitem(i, [_text(v, decimals) for v in out.iloc[:, i]])
    return out


@pytest.mark.parametrize("rows", [6, 0])
def test_table_cells_read_as_cells_written_one_by_one(rows):
    frame = pd.DataFrame(COLUMNS).iloc[:rows]
    pd.testing.assert_frame_equal(table_cells(frame, 2), _one_by_one(frame, 2), check_exact=True)


def test_a_marker_in_one_cell_of_a_long_listing_gets_its_note():
    cells = pd.DataFrame({"Subject": [f"S{i}" for i in range(2000)], "Day": ["3"] * 1999 + [formats.NE],
                          "Term": ["NEUTROPENIA"] * 2000})
    assert marker_notes(cells) == [formats.MARKER_NOTES[formats.NE]]
