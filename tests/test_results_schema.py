"""Results files, schema v2: every measure has words, counts are integers, n is filled, v1 files are refused plainly."""
import csv
import re

import pandas as pd
import pytest

from msc_analysis import definitions
from msc_analysis.report import headlines
from msc_analysis.report.results import (RESULT_COLUMNS, V1_COLUMNS, OldResultsError, UnknownMeasureError,
                                         read_result_file, read_results, result_rows, write_results)

from .conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("*/*.csv"))


def _rows(**extra) -> pd.DataFrame:
    base = {"measure": ["survival_prop", "deaths_by_day"], "group": ["all", "all"], "day": [30, 60],
            "estimate": [0.77, 8.0], "ci95_lower": [0.58, None], "ci95_upper": [0.88, None], "n": [31, 31],
            "unit": ["proportion", "subjects"], "method": ["KM", "count"]}
    base.update(extra)
    return pd.DataFrame(base)


# --- labels as data ----------------------------------------------------------------------------

def test_every_measure_of_the_golden_results_has_a_label():
    known = set(zip(definitions.measures()["endpoint"], definitions.measures()["measure"]))
    written = {(r["endpoint"], r["measure"]) for path in GOLDEN_FILES for r in csv.DictReader(path.open())}
    missing = sorted(written - known)
    assert not missing, f"measures written to results without a row in definitions/measures.csv: {missing}"


def test_every_measure_row_has_label_unit_words_and_a_known_format():
    m = definitions.measures()
    assert (m["label"] != "").all() and (m["unit_label"] != "").all()
    assert set(m["format"]) <= set(definitions.MEASURE_FORMATS)
    assert set(m["interval"]) <= set(definitions.MEASURE_INTERVALS)


def test_the_registered_outcomes_of_the_trial_record_are_marked_registered():
    m = definitions.measures()
    registered = set(zip(m.loc[m["registered"] == "yes", "endpoint"], m.loc[m["registered"] == "yes", "measure"]))
    for endpoint in ("overall_survival", "crp", "hospital_stay", "pao2_fio2", "liao_score", "radiology",
                     "pcr_negativity"):
        assert any(e == endpoint for e, _ in registered), endpoint
    assert ("overall_survival", "survival_prop") in registered


def test_result_rows_refuses_a_measure_without_a_label():
    with pytest.raises(UnknownMeasureError, match=r"'survival_propp'.*definitions/measures.csv"):
        result_rows("overall_survival", _rows(measure=["survival_propp", "deaths_by_day"]))


def test_write_results_refuses_a_measure_without_a_label(tmp_path):
    rows = result_rows("overall_survival", _rows())
    rows.loc[1, "measure"] = "made_up"
    with pytest.raises(UnknownMeasureError, match="made_up"):
        write_results(rows, tmp_path, "01_x")


# --- schema v2 ---------------------------------------------------------------------------------

def test_result_rows_maps_ci95_columns_to_lower_upper_and_names_the_interval():
    r = result_rows("overall_survival", _rows(), cut_id="c1")
    assert list(r.columns) == list(RESULT_COLUMNS)
    assert r["lower"].tolist()[0] == 0.58 and r["upper"].tolist()[0] == 0.88
    assert r["interval"].tolist() == ["ci95", ""]  # empty where both limits are missing
    assert r["cut_id"].tolist() == ["c1", "c1"]


def test_the_interval_comes_from_the_measures_table_unless_the_rows_say():
    frame = pd.DataFrame({"measure": ["crp_change_mg_dl_median"], "day": [7], "estimate": [-10.0],
                          "lower": [-11.9], "upper": [-7.7], "n": [30], "unit": ["mg/dL"], "method": ["median"]})
    assert result_rows("crp", frame)["interval"].tolist() == ["iqr"]
    assert result_rows("crp", frame.assign(interval="ci95"))["interval"].tolist() == ["ci95"]
    with pytest.raises(ValueError, match="interval"):
        result_rows("crp", frame.assign(interval="sd"))


def test_a_count_that_is_not_whole_is_refused():
    with pytest.raises(ValueError, match="whole numbers"):
        result_rows("overall_survival", _rows(estimate=[0.77, 8.5]))


def test_counts_are_written_as_integers_and_read_back(tmp_path):
    path = write_results(result_rows("overall_survival", _rows()), tmp_path, "01_x", cut_id="c1")
    written = list(csv.DictReader(path.open()))
    assert [w["estimate"] for w in written] == ["0.77", "8"]
    assert [w["day"] for w in written] == ["30", "60"] and [w["n"] for w in written] == ["31", "31"]
    assert [w["cut_id"] for w in written] == ["c1", "c1"]
    back = read_result_file(path)
    assert back["estimate"].tolist() == [0.77, 8.0] and back["interval"].tolist() == ["ci95", ""]
    assert str(back["n"].dtype) == "Int64"


def test_not_reached_stays_inf_in_the_file(tmp_path):
    frame = pd.DataFrame({"measure": ["median_days"], "estimate": [float("inf")], "ci95_lower": [20.0],
                          "ci95_upper": [float("inf")], "n": [31], "unit": ["days"], "method": ["KM median"]})
    back = read_result_file(write_results(result_rows("overall_survival", frame), tmp_path, "01_x", cut_id="c"))
    assert back["estimate"].tolist() == [float("inf")] and back["upper"].tolist() == [float("inf")]


def test_a_v1_file_is_said_to_come_from_an_older_kit(tmp_path):
    (tmp_path / "01_x.csv").write_text(",".join(V1_COLUMNS) + "\noverall_survival,n,all,,31,,,31,subjects,count\n")
    with pytest.raises(OldResultsError, match="older version of msc-analysis"):
        read_results(tmp_path)


def test_write_results_does_not_change_its_input(tmp_path):
    rows = result_rows("overall_survival", _rows())
    before = rows.copy()
    write_results(rows, tmp_path, "01_x", cut_id="c1")
    pd.testing.assert_frame_equal(rows, before)


# --- what the golden results hold ----------------------------------------------------------------

def _golden_v2(path) -> pd.DataFrame:
    return read_result_file(path)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_golden_row_has_n(path):
    frame = pd.read_csv(path)
    assert frame["n"].notna().all(), f"rows without n: {frame.loc[frame['n'].isna(), 'measure'].unique().tolist()}"


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_golden_row_reads_in_words_without_artefacts(path):
    table = headlines.headline_table(_golden_v2(path))
    text = " ".join(table.astype(str).to_numpy().ravel())
    found = re.findall(r"(?<![\w-])(?:nan|NaN|-?inf|None)(?![\w-])|<NA>|\de[+-]\d|\w+_(?:prop|median)\b", text)
    assert not found, f"{found} in {text[:300]}"


def test_fill_cut_id_fills_only_empty_cut_ids_and_refuses_another_cut(tmp_path):
    from msc_analysis.report.results import fill_cut_id

    write_results(result_rows("overall_survival", _rows()), tmp_path, "01_x")
    assert fill_cut_id(tmp_path, "c9") == [tmp_path / "01_x.csv"]
    assert set(read_results(tmp_path)["cut_id"]) == {"c9"}
    assert fill_cut_id(tmp_path, "c9") == []
    with pytest.raises(ValueError, match="c9"):
        fill_cut_id(tmp_path, "other")
