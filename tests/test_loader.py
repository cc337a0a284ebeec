"""Rules the loader follows on a valid cut (the hand-made fixture in tests/fixtures/valid_cut)."""
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.io.spec import TABLES, table_columns

from .conftest import FIXTURE_CUT


def _hashes(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_loading_never_changes_the_cut_files(tmp_path):
    cut_dir = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    before = _hashes(cut_dir)
    load_cut(cut_dir)
    assert _hashes(cut_dir) == before


def test_file_hashes_are_recorded_for_provenance(fixture_cut):
    recorded = dict(zip(fixture_cut.files["file"], fixture_cut.files["sha256"]))
    assert recorded == _hashes(FIXTURE_CUT)


def test_populations_follow_the_registered_criteria(fixture_cut):
    s = fixture_cut.subjects.set_index("subject_id")
    # S03 not RT-PCR confirmed, S04 pregnant, S05 Liao yellow (total 1); S07 screened after cutoff
    assert list(s.index) == ["S01", "S02", "S03", "S04", "S05", "S06"]
    assert s["eligible"].to_dict() == {"S01": True, "S02": True, "S03": False, "S04": False,
                                       "S05": False, "S06": True}
    assert list(s.index[s["enrolled"]]) == ["S01", "S02", "S06"]
    assert list(s.index[s["treated"]]) == ["S01", "S02"]
    assert fixture_cut.population("treated")["subject_id"].tolist() == ["S01", "S02"]


def test_screening_liao_score_uses_the_screening_day_assessment(fixture_cut):
    s = fixture_cut.subjects.set_index("subject_id")
    # S01: RR 26 (3) SpO2 90 (3) O2 (2) T 38.5 (1) SBP 105 (1) HR 115 (2) A (0) age 54 (0) = 12
    # S05: RR 18 (0) SpO2 95 (1) air (0) T 37.0 (0) SBP 120 (0) HR 85 (0) A (0) age 60 (0) = 1
    assert s.at["S01", "liao_total_at_screening"] == 12
    assert s.at["S01", "liao_level_at_screening"] == "red"
    assert s.at["S05", "liao_total_at_screening"] == 1
    assert s.at["S05", "liao_level_at_screening"] == "yellow"


def test_each_failed_criterion_is_recorded(fixture_cut):
    failed = fixture_cut.eligibility[~fixture_cut.eligibility["met"]]
    assert sorted(zip(failed["subject_id"], failed["criterion"])) == [
        ("S03", "rt_pcr_confirmed"), ("S04", "not_pregnant_or_breastfeeding"),
        ("S05", "liao_orange_or_red")]


def test_crp_in_mg_per_litre_is_converted_to_mg_per_decilitre(fixture_cut):
    crp = fixture_cut.labs[fixture_cut.labs["test"] == "CRP"]
    assert crp["value"].tolist() == [15.0, 4.2, 18.0]  # 150 mg/L -> 15 mg/dL
    assert set(crp["unit"]) == {"mg/dL"}
    dq = fixture_cut.data_quality.set_index("issue")
    assert dq.at["CRP recorded in mg/L", "n_rows"] == 1


def test_fio2_given_as_percent_becomes_a_fraction_and_is_reported(fixture_cut):
    assert fixture_cut.blood_gases["fio2"].tolist() == [0.5, 0.4]
    dq = fixture_cut.data_quality.set_index("issue")
    assert dq.at["FiO2 recorded as a percentage (21-100)", "action"] == "divided by 100"


def test_infusion_day_is_day_0_and_later_calendar_days_count_up(fixture_cut):
    v = fixture_cut.vitals.set_index(["subject_id", "measured_at"])["days_since_infusion"]
    assert v[("S01", pd.Timestamp("2020-08-01 08:00"))] == -1
    assert v[("S01", pd.Timestamp("2020-08-03 08:00"))] == 1
    assert pd.isna(v[("S05", pd.Timestamp("2020-08-12 12:00"))])  # never infused
    ae = fixture_cut.adverse_events.set_index("term")["days_since_infusion"]
    assert ae["Fever"] == 0 and ae["Respiratory failure"] == 5


def test_subjects_screened_after_the_cutoff_are_excluded_and_counted(fixture_cut):
    assert "S07" not in set(fixture_cut.subjects["subject_id"])
    assert "S07" not in set(fixture_cut.vitals["subject_id"])
    assert "S07" not in set(fixture_cut.infusions["subject_id"])
    dq = fixture_cut.data_quality.set_index("issue")
    assert dq.at["screened after the cutoff date", "n_rows"] == 1


def test_records_and_dates_after_the_cutoff_are_excluded_and_counted(tmp_path):
    cut_dir = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    meta = (cut_dir / "cut.yaml").read_text().replace("2020-09-30", "2020-08-10")
    (cut_dir / "cut.yaml").write_text(meta)
    cut = load_cut(cut_dir)
    dq = cut.data_quality.set_index(["table", "column"])
    # discharged after 08-10: S01 (08-20), S03 (08-12), S04 (08-25); S02 died 08-15;
    # alive or died after 08-10: S01, S02, S03, S04
    assert dq.at[("subjects", "discharged_on"), "n_rows"] == 3
    assert dq.at[("subjects", "died_on"), "n_rows"] == 1
    assert dq.at[("subjects", "last_known_alive_on"), "n_rows"] == 4
    assert dq.at[("pcr", "collected_on"), "n_rows"] == 2
    s = cut.subjects.set_index("subject_id")
    assert pd.isna(s.at["S02", "died_on"]) and pd.isna(s.at["S01", "discharged_on"])
    assert s.at["S02", "last_known_alive_on"] == pd.Timestamp("2020-08-10")  # died later: alive then
    assert cut.pcr["collected_on"].max() <= pd.Timestamp("2020-08-10")
    assert len(cut.subjects) == 4  # S05 (08-12), S06 and S07 screened later


def test_optional_columns_may_be_left_out(tmp_path):
    cut_dir = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    for name, column in (("subjects.csv", "arm"), ("imaging.csv", "impression")):
        frame = pd.read_csv(cut_dir / name, dtype=str, keep_default_na=False)
        frame.drop(columns=column).to_csv(cut_dir / name, index=False)
    cut = load_cut(cut_dir)
    assert set(cut.subjects["arm"]) == {"MSC 1x10^6 cells/kg"}
    assert cut.imaging["impression"].isna().all()


def test_header_only_files_mean_no_records(tmp_path):
    cut_dir = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    for table in ("imaging", "adverse_events", "blood_gases"):
        header = ",".join(c.column for c in table_columns(table))
        (cut_dir / f"{table}.csv").write_text(header + "\n")
    cut = load_cut(cut_dir)
    assert len(cut.imaging) == len(cut.adverse_events) == len(cut.blood_gases) == 0
    assert "days_since_infusion" in cut.adverse_events


def test_an_xlsx_workbook_gives_the_same_tables_as_the_csv_files(tmp_path, fixture_cut):
    openpyxl = pytest.importorskip("openpyxl")
    cut_dir = tmp_path / "cut"
    cut_dir.mkdir()
    shutil.copy(FIXTURE_CUT / "cut.yaml", cut_dir / "cut.yaml")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for table in TABLES:
        sheet = book.create_sheet(table)
        frame = pd.read_csv(FIXTURE_CUT / f"{table}.csv", dtype=str, keep_default_na=False)
        sheet.append(list(frame.columns))
        for row in frame.itertuples(index=False):
            sheet.append(list(row))
    book.save(cut_dir / "cut.xlsx")
    from_xlsx = load_cut(cut_dir)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(from_xlsx, table), getattr(fixture_cut, table))


def test_the_input_tables_are_typed(fixture_cut):
    s = fixture_cut.subjects
    assert s["screened_on"].dtype.kind == "M"
    assert s["rt_pcr_confirmed"].dtype == "boolean"
    assert s["age_years"].dtype == "float64"
    assert fixture_cut.imaging["severity_score"].dtype == "Int64"
    assert fixture_cut.cutoff_date == pd.Timestamp("2020-09-30")


def test_enrollment_date_is_optional_and_typed_as_a_date(fixture_cut):
    assert fixture_cut.subjects["enrolled_on"].dtype.kind == "M"
    assert fixture_cut.subjects["enrolled_on"].isna().all()


def test_infusion_before_enrollment_is_refused(tmp_path):
    from msc_analysis import CutValidationError

    cut_dir = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    frame = pd.read_csv(cut_dir / "subjects.csv", dtype=str, keep_default_na=False)
    frame.insert(11, "enrolled_on", ["2020-08-03", "2020-08-04", "", "", "", "2020-09-01", "2020-10-02"])
    frame.to_csv(cut_dir / "subjects.csv", index=False)
    with pytest.raises(CutValidationError) as err:
        load_cut(cut_dir)
    assert [str(p) for p in err.value.problems] == [
        "infusions.csv, row 2, column 'infused_on': value '2020-08-02': "
        "cannot be before enrollment (2020-08-03)"]


@pytest.mark.parametrize("column, value, expected", [
    ("admitted_on", "2020-08-03", "cannot be before the hospital admission (2020-08-03)"),
    ("discharged_on", "2020-08-01", "cannot be after the discharge (2020-08-01)"),
])
def test_the_infusion_must_fall_within_the_admission(tmp_path, column, value, expected):
    from msc_analysis import CutValidationError

    cut_dir = shutil.copytree(FIXTURE_CUT, tmp_path / "cut")
    frame = pd.read_csv(cut_dir / "subjects.csv", dtype=str, keep_default_na=False)
    frame.loc[0, column] = value  # S01, infused 2020-08-02, screened 2020-08-01
    if column == "admitted_on":
        frame.loc[0, "screened_on"] = "2020-08-01"
    frame.to_csv(cut_dir / "subjects.csv", index=False)
    with pytest.raises(CutValidationError) as err:
        load_cut(cut_dir)
    messages = [str(p) for p in err.value.problems]
    assert f"infusions.csv, row 2, column 'infused_on': value '2020-08-02': {expected}" in messages


def test_a_screening_row_without_any_vital_sign_leaves_the_liao_level_unknown_not_green():
    from msc_analysis.derive.populations import screening_liao

    subjects = pd.DataFrame({"subject_id": ["A", "B"], "age_years": [50.0, 50.0],
                             "screened_on": pd.to_datetime(["2020-08-01", "2020-08-01"])})
    empty = {"resp_rate_per_min": np.nan, "spo2_pct": np.nan, "on_oxygen": pd.NA, "temp_c": np.nan,
             "sbp_mmhg": np.nan, "heart_rate_bpm": np.nan, "consciousness": pd.NA}
    full = {"resp_rate_per_min": 26.0, "spo2_pct": 90.0, "on_oxygen": True, "temp_c": 38.5,
            "sbp_mmhg": 120.0, "heart_rate_bpm": 100.0, "consciousness": "A"}
    vitals = pd.DataFrame([
        {"subject_id": "A", "measured_at": pd.Timestamp("2020-08-01 09:00"), **full},
        {"subject_id": "A", "measured_at": pd.Timestamp("2020-08-01 18:00"), **empty},  # later, but empty
        {"subject_id": "B", "measured_at": pd.Timestamp("2020-08-01 10:00"), **empty},
    ]).astype({"on_oxygen": "boolean", "consciousness": "string"})
    got = screening_liao(subjects, vitals).set_index("subject_id")
    # A is scored from the 09:00 assessment (RR 26: 3, SpO2 90: 3, O2: 2, 38.5: 1, HR 100: 1, age 50: 0)
    assert got.loc["A", "liao_total_at_screening"] == 10
    assert not got.loc["A", "liao_incomplete_at_screening"]
    assert "B" not in got.index  # no assessment: level unknown, never a lower-bound green
