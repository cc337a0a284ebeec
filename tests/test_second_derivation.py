"""The kit's headline numbers equal an independent second derivation in R (issue 13, item 10).

``tests/second_derivation/derive_headlines.R`` was written from ``docs/`` and the definition tables
alone, never from the Python of ``msc_analysis``; its committed output,
``tests/second_derivation/headlines_<cut_id>.csv``, holds every registered headline of the three
demo cuts. Each of its rows must equal the kit's committed golden results (``tests/golden``, see
``tests/test_golden_results.py``) to 1e-6 in ``estimate``, ``lower`` and ``upper`` (an empty cell
only equals an empty cell, ``inf`` only ``inf``) and exactly in ``n``. A row whose ``note`` says
"not derived" is skipped, with its note as the reason. When ``Rscript`` is on the machine the script
is run again and must reproduce the committed CSVs; CI needs no R.

To compare with a fresh run of the kit instead of the golden files (for example before ``make
golden``), point ``KIT_RESULTS`` at a folder holding ``<cut_id>/<page>.csv`` or
``<cut_id>/results/<page>.csv`` (the layout of ``msc-analysis run-all``).
"""
import os
import math
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from msc_analysis.report.results import read_result_file

from .conftest import ROOT

SECOND = ROOT / "tests" / "second_derivation"
SCRIPT = SECOND / "derive_headlines.R"
GOLDEN = ROOT / "tests" / "golden"
CUT_IDS = ("cut-2020-09-15", "cut-2020-10-30", "cut-2020-12-30")
R_COLUMNS = ["cut_id", "endpoint", "measure", "group", "day", "estimate", "lower", "upper", "n", "note"]
TOLERANCE = 1e-6
NOT_DERIVED = "not derived"


def read_r_headlines(path) -> pd.DataFrame:
    """One CSV written by ``derive_headlines.R``: numbers as floats (``inf`` kept, empty = NaN), text as text."""
    frame = pd.read_csv(path, dtype={"cut_id": str, "endpoint": str, "measure": str, "group": str, "note": str},
                        keep_default_na=False, na_values={c: [""] for c in ("day", "estimate", "lower", "upper", "n")})
    assert list(frame.columns) == R_COLUMNS, f"{path.name}: columns {list(frame.columns)}"
    for column in ("day", "estimate", "lower", "upper", "n"):
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype(float)
    return frame


def kit_results_dir(cut_id: str):
    """The kit's results of a cut: ``tests/golden/<cut_id>``, or the folder ``KIT_RESULTS`` names."""
    base = Path(os.environ["KIT_RESULTS"]) / cut_id if os.environ.get("KIT_RESULTS") else GOLDEN / cut_id
    return base / "results" if (base / "results").is_dir() else base


def golden_results(cut_id: str) -> pd.DataFrame:
    """Every results file of the kit for a cut (the golden files unless ``KIT_RESULTS`` is set), stacked."""
    files = sorted(kit_results_dir(cut_id).glob("*.csv"))
    assert files, f"no results of the kit in {kit_results_dir(cut_id)}"
    return pd.concat([read_result_file(p) for p in files], ignore_index=True)


def _same_day(a, b) -> bool:
    return (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and float(a) == float(b))


def _close(a, b, tolerance=TOLERANCE) -> bool:
    """Equal to ``tolerance``; NaN only equals NaN, an infinity only the same infinity."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tolerance


def row_differences(r_row, golden: pd.DataFrame) -> list[str]:
    """How the kit's row for ``r_row`` (same endpoint, measure, group, day) differs from it, one line each."""
    where = (f"{r_row['cut_id']} {r_row['endpoint']}/{r_row['measure']} group={r_row['group']!r} "
             f"day={r_row['day']}")
    found = golden[(golden["endpoint"] == r_row["endpoint"]) & (golden["measure"] == r_row["measure"])
                   & (golden["group"] == r_row["group"])
                   & golden["day"].map(lambda d: _same_day(d, r_row["day"]))]
    if len(found) != 1:
        return [f"{where}: {len(found)} rows in the kit's golden results, expected 1"]
    kit = found.iloc[0]
    lines = [f"{where}, {column}: kit {float(kit[column])!r}, R {float(r_row[column])!r}"
             for column in ("estimate", "lower", "upper") if not _close(kit[column], r_row[column])]
    kit_n = None if pd.isna(kit["n"]) else int(kit["n"])
    r_n = None if pd.isna(r_row["n"]) else int(r_row["n"])
    if kit_n != r_n:
        lines.append(f"{where}, n: kit {kit_n}, R {r_n}")
    return lines


def _r_rows():
    for cut_id in CUT_IDS:
        path = SECOND / f"headlines_{cut_id}.csv"
        if not path.exists():
            yield pytest.param(cut_id, None, id=f"{cut_id}/missing")
            continue
        for i, row in read_r_headlines(path).iterrows():
            day = "" if pd.isna(row["day"]) else f"/day{int(row['day'])}"
            yield pytest.param(cut_id, i, id=f"{cut_id}/{row['endpoint']}/{row['measure']}/{row['group']}{day}")


@pytest.mark.parametrize("cut_id, i", list(_r_rows()))
def test_every_headline_of_the_kit_equals_the_independent_r_derivation(cut_id, i):
    path = SECOND / f"headlines_{cut_id}.csv"
    assert i is not None, f"{path} is missing: run Rscript {SCRIPT.relative_to(ROOT)}"
    row = read_r_headlines(path).loc[i]
    if NOT_DERIVED in row["note"]:
        pytest.skip(f"not derived in R: {row['note']}")
    found = row_differences(row, golden_results(cut_id))
    assert not found, "the kit and the R second derivation differ:\n" + "\n".join(found)


def _registered():
    measures = pd.read_csv(ROOT / "msc_analysis" / "definitions" / "measures.csv", dtype=str, keep_default_na=False)
    return measures[measures["registered"] == "yes"]


@pytest.mark.parametrize("cut_id", CUT_IDS)
def test_every_registered_headline_at_each_key_day_has_a_row_in_the_r_derivation(cut_id):
    r = read_r_headlines(SECOND / f"headlines_{cut_id}.csv")
    missing = []
    for _, m in _registered().iterrows():
        rows = r[(r["endpoint"] == m["endpoint"]) & (r["measure"] == m["measure"])]
        days = [float(d) for d in m["key_days"].split("|")] if m["key_days"] else [math.nan]
        missing += [f"{m['endpoint']}/{m['measure']} day {d}" for d in days
                    if not rows["day"].map(lambda x: _same_day(x, d)).any()]
    assert not missing, "registered headlines without an R row (add them, or a row noted 'not derived'):\n" + \
        "\n".join(missing)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed (the committed CSVs are used)")
def test_the_r_script_run_again_reproduces_the_committed_csvs(tmp_path):
    proc = subprocess.run(["Rscript", str(SCRIPT), str(ROOT / "data" / "cuts"), str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"derive_headlines.R failed:\n{proc.stdout}\n{proc.stderr}"
    for cut_id in CUT_IDS:
        committed = read_r_headlines(SECOND / f"headlines_{cut_id}.csv")
        now = read_r_headlines(tmp_path / f"headlines_{cut_id}.csv")
        assert len(committed) == len(now), f"{cut_id}: {len(committed)} rows committed, {len(now)} now"
        for column in R_COLUMNS:
            if column in ("day", "estimate", "lower", "upper", "n"):
                bad = [i for i in range(len(now)) if not _close(committed[column][i], now[column][i], 1e-12)]
            else:
                bad = [i for i in range(len(now)) if committed[column][i] != now[column][i]]
            assert not bad, (f"{cut_id}: column {column} differs from the committed CSV in rows {bad} "
                             f"(rerun the script and commit its output if intended)")


# The comparison must be able to fail.

def _a_row_and_golden():
    golden = read_result_file(GOLDEN / "cut-2020-12-30" / "01_overall_survival.csv")
    kit = golden[(golden["measure"] == "survival_prop") & (golden["day"] == 30)].iloc[0]
    row = pd.Series({"cut_id": "cut-2020-12-30", "endpoint": kit["endpoint"], "measure": kit["measure"],
                     "group": kit["group"], "day": 30.0, "estimate": kit["estimate"], "lower": kit["lower"],
                     "upper": kit["upper"], "n": float(kit["n"]), "note": ""})
    return row, golden


def test_comparison_accepts_a_row_within_1e6_and_reports_one_beyond():
    row, golden = _a_row_and_golden()
    assert row_differences(row.copy(), golden) == []
    close = row.copy()
    close["upper"] += 0.5e-6
    assert row_differences(close, golden) == []
    far = row.copy()
    far["lower"] += 2e-6
    found = row_differences(far, golden)
    assert len(found) == 1 and ", lower: kit " in found[0], found


def test_comparison_reports_a_different_n_a_missing_estimate_and_a_row_the_kit_lacks():
    row, golden = _a_row_and_golden()
    other_n = row.copy()
    other_n["n"] += 1
    assert [line for line in row_differences(other_n, golden) if ", n: kit " in line]
    missing = row.copy()
    missing["estimate"] = math.nan
    assert [line for line in row_differences(missing, golden) if ", estimate: kit " in line]
    unknown_day = row.copy()
    unknown_day["day"] = 31.0
    assert row_differences(unknown_day, golden)[0].endswith("0 rows in the kit's golden results, expected 1")


def test_an_infinite_median_only_equals_an_infinite_median():
    assert _close(math.inf, math.inf) and not _close(math.inf, 1e308) and not _close(math.nan, 0.0)


# The R output itself, checked against numbers worked out by hand from the cut CSVs.

def _r_value(cut_id, measure, day=math.nan):
    r = read_r_headlines(SECOND / f"headlines_{cut_id}.csv")
    row = r[(r["measure"] == measure) & (r["group"] == "all") & r["day"].map(lambda d: _same_day(d, day))]
    assert len(row) == 1, f"{cut_id} {measure} day {day}: {len(row)} rows"
    return row.iloc[0]


def test_r_survival_at_day_30_of_the_first_cut_is_12_of_13_with_the_greenwood_log_log_interval():
    # cut-2020-09-15: 13 treated, one death on day 4 with all 13 at risk, nobody censored before day 4
    row = _r_value("cut-2020-09-15", "survival_prop", 30.0)
    s, v = 12 / 13, 1 / (13 * 12)
    se = math.sqrt(v) / abs(math.log(s))
    lower = math.exp(-math.exp(math.log(-math.log(s)) + 1.959963984540054 * se))
    upper = math.exp(-math.exp(math.log(-math.log(s)) - 1.959963984540054 * se))
    assert (row["estimate"], row["n"]) == (pytest.approx(s, abs=1e-12), 13)
    assert row["lower"] == pytest.approx(lower, abs=1e-12) and row["upper"] == pytest.approx(upper, abs=1e-12)


def test_r_liao_improvement_at_day_28_of_the_first_cut_counts_only_the_three_subjects_infused_28_days_before():
    # infused 28, 37 and 44 days before the cutoff, all three improved: 3/3, Clopper-Pearson lower 0.025^(1/3)
    row = _r_value("cut-2020-09-15", "improved_prop", 28.0)
    assert (row["estimate"], row["n"], row["upper"]) == (1.0, 3, 1.0)
    assert row["lower"] == pytest.approx(0.025 ** (1 / 3), abs=1e-12)


def test_r_hospital_free_days_at_the_primary_completion_cut_is_44_over_the_eight_evaluable_by_calendar():
    # issue 13: 8 infused at least 60 days before 2020-10-30: one death (0) and 36, 36, 43, 45, 47, 53, 53
    values = sorted([0, 45, 43, 53, 53, 36, 36, 47])
    row = _r_value("cut-2020-10-30", "hospital_free_days_median", 60.0)
    assert (row["estimate"], row["lower"], row["upper"], row["n"]) == (44.0, 36.0, 48.5, 8)
    assert (values[3] + values[4]) / 2 == 44.0 and values[5] + 0.25 * (values[6] - values[5]) == 48.5
