"""Careless and hostile cuts: a clear refusal or a load, never a crash, a leak or a silent loss.

Issue 10. As in ``test_malformed_cuts.py`` every test copies the valid fixture, changes one
thing and checks that ``load_cut`` either raises ``CutValidationError`` naming file, row, column
and problem, or loads and says in the data-quality table what it did; the files of the cut are
byte-identical afterwards. Expected rows are written by hand from the fixture.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from msc_analysis import CutValidationError, load_cut
from msc_analysis.endpoints.adverse_events import adverse_events_by_term, classify_adverse_events
from msc_analysis.io import read as read_module
from msc_analysis.io.meta import MAX_META_BYTES
from msc_analysis.io.problems import Problem, visible
from msc_analysis.io.spec import canonical_lab_test, lab_test_names, lab_units

from .test_malformed_cuts import (FIXTURE, TABLE_FILES, accepted, add_column, append_row, cut,  # noqa: F401
                                  digests, read_rows, refused, reported, set_cell, write_rows,
                                  write_workbook)

SECRET = "SECRET-first-line-of-a-file-outside-the-cut"


def dq(loaded, table: str | None = None) -> pd.DataFrame:
    frame = loaded.data_quality
    return frame if table is None else frame[frame["table"] == table]


def dq_says(loaded, table: str, *words: str) -> pd.Series:
    """The one data-quality row of ``table`` whose issue and action hold every word."""
    frame = dq(loaded, table)
    text = (frame["column"].astype(str) + " " + frame["issue"] + " " + frame["action"]).str.lower()
    hit = frame[text.map(lambda t: all(w.lower() in t for w in words))]
    assert len(hit) == 1, f"no single data-quality row of {table} says {words}:\n{loaded.data_quality}"
    return hit.iloc[0]


def only_problems(err: CutValidationError, file: str) -> list[Problem]:
    return [p for p in err.problems if p.file == file]


def _workbook(cut: Path, edits: dict | None = None, name: str = "cut.xlsx") -> Path:
    target = cut / name
    write_workbook(FIXTURE, target, edits)
    for file in TABLE_FILES:
        (cut / file).unlink()
    return target


def _rewrite_workbook_xml(path: Path, change) -> None:
    """Apply ``change(part_name, xml_bytes) -> bytes`` to every part of an .xlsx."""
    with zipfile.ZipFile(path) as src:
        parts = [(info, change(info.filename, src.read(info.filename))) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in parts:
            dst.writestr(info, data)


# --------------------------------------------------------------------------------------------
# files in the cut folder
# --------------------------------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path) -> Path:
    secret = tmp_path / "outside.csv"
    secret.write_text(SECRET + "\nsecond line\n", encoding="utf-8")
    return secret


@pytest.mark.parametrize("name", ["subjects.csv", "cut.yaml", "notes.txt"])
def test_symbolic_link_is_refused_without_showing_what_it_points_to(cut, outside, name):
    if (cut / name).exists():
        (cut / name).unlink()
    (cut / name).symlink_to(outside)
    err = refused(cut)
    reported(err, name, None, None, "symbolic link")
    assert SECRET not in str(err) and str(outside) not in str(err)
    assert not any(SECRET in str(p.value) for p in err.problems)
    assert not any("missing" in p.expected for p in only_problems(err, name))


def test_symbolic_link_to_a_folder_outside_is_refused(cut, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (cut / "old").symlink_to(tmp_path / "elsewhere")
    reported(refused(cut), "old", None, None, "symbolic link")


def test_file_not_named_by_the_format_is_listed_and_never_read(cut):
    extra = cut / "patients.csv"
    extra.write_text("nome,cpf\nMaria da Silva,123.456.789-00\n", encoding="utf-8")
    before = digests(cut)
    os.utime(extra, (0, extra.stat().st_mtime))  # reading it would move the access time (relatime)
    loaded = load_cut(cut)
    assert extra.stat().st_atime == 0
    assert digests(cut) == before
    row = dq_says(loaded, "(cut folder)", "patients.csv", "not part of the cut format", "not read")
    assert row["n_rows"] == 1
    assert "patients.csv" not in set(loaded.files["file"])
    assert "Maria" not in loaded.data_quality.to_string()


def test_stray_multi_gigabyte_file_is_listed_without_being_read(cut):
    with open(cut / "dump.bin", "wb") as fh:  # sparse: 3 GiB long, no disk used
        fh.truncate(3 * 2 ** 30)
    loaded = load_cut(cut)  # (not accepted(): that would hash 3 GiB)
    dq_says(loaded, "(cut folder)", "dump.bin", "not read")


def test_sub_folder_is_listed_and_never_read(cut):
    (cut / "old").mkdir()
    (cut / "old" / "subjects.csv").write_text("garbage\n", encoding="utf-8")
    loaded = accepted(cut)
    dq_says(loaded, "(cut folder)", "old/", "sub-folder", "not read")


def test_readme_belongs_to_the_cut_and_is_not_listed(cut):
    (cut / "README.md").write_text("# a cut\n", encoding="utf-8")
    loaded = accepted(cut)
    assert "README.md" in set(loaded.files["file"])
    assert dq(loaded, "(cut folder)").empty


def test_excel_lock_file_is_listed_and_not_taken_for_a_second_workbook(cut):
    _workbook(cut)
    (cut / "~$cut.xlsx").write_bytes(b"\x00lock")
    loaded = accepted(cut)
    dq_says(loaded, "(cut folder)", "~$cut.xlsx", "not read")


def test_table_file_over_the_size_limit_is_refused_without_being_read(cut, monkeypatch):
    limits = {**read_module.cut_limits(), "max_table_file_bytes": 300}
    monkeypatch.setattr(read_module, "cut_limits", lambda: limits)
    assert (cut / "vitals.csv").stat().st_size > 300
    err = refused(cut)
    line = reported(err, "vitals.csv", None, None, "limit", "not read")
    assert "300" in line
    assert only_problems(err, "vitals.csv") and len(only_problems(err, "vitals.csv")) == 1


def test_table_file_over_2_gib_is_refused_from_its_size_alone(cut):
    (cut / "labs.csv").unlink()
    with open(cut / "labs.csv", "wb") as fh:  # sparse 3 GiB: refused before any byte is read
        fh.truncate(3 * 2 ** 30)
    with pytest.raises(CutValidationError) as info:
        load_cut(cut)
    reported(info.value, "labs.csv", None, None, "limit")


def test_cut_yaml_over_its_size_limit_is_refused_without_being_read(cut):
    path = cut / "cut.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "#" * (MAX_META_BYTES + 10) + "\n", encoding="utf-8")
    reported(refused(cut), "cut.yaml", None, None, "limit")


@pytest.mark.parametrize("wrong, right", [
    ("Subjects.csv", "subjects.csv"),
    ("LABS.CSV", "labs.csv"),
    ("adverse_event.csv", "adverse_events.csv"),
    ("cut.yaml.txt", "cut.yaml"),
])
def test_file_name_near_a_format_name_gets_a_did_you_mean_hint(cut, wrong, right):
    (cut / right).rename(cut / wrong)
    err = refused(cut)
    reported(err, right, None, None, "missing", f"did you mean {right}?", wrong)


@pytest.mark.parametrize("suffix", [".xlsm", ".xls", ".ods"])
def test_workbook_in_another_format_gets_one_message_not_eight_missing_files(cut, suffix):
    _workbook(cut, name=f"cut{suffix}")
    err = refused(cut)
    assert len(err.problems) == 1, str(err)
    reported(err, f"cut{suffix}", None, None, "save it as an .xlsx", "CSV")


def test_workbook_in_another_format_next_to_the_csv_files_is_listed_not_read(cut):
    write_workbook(FIXTURE, cut / "working copy.xlsm")
    loaded = accepted(cut)
    dq_says(loaded, "(cut folder)", "working copy.xlsm", "not read")


# --------------------------------------------------------------------------------------------
# .xlsx workbooks
# --------------------------------------------------------------------------------------------

def test_workbook_formula_without_saved_result_is_refused_naming_sheet_and_cell(cut):
    _workbook(cut, {("subjects", 3, "died_on"): "=DATE(2020,8,15)"})
    err = refused(cut)
    reported(err, "cut.xlsx", 3, "died_on", "sheet subjects", "formula", "saved result")


def test_workbook_formula_with_saved_result_is_read_as_its_result(cut):
    book = _workbook(cut, {("infusions", 2, "weight_kg"): "=40*2"})
    _rewrite_workbook_xml(book, lambda name, xml: xml.replace(b"<f>40*2</f><v />", b"<f>40*2</f><v>80</v>")
                          if name.startswith("xl/worksheets/") else xml)
    loaded = accepted(cut)
    assert loaded.infusions["weight_kg"].tolist()[0] == 80
    assert dq_says(loaded, "infusions", "formula", "saved")["n_rows"] == 1


def test_workbook_error_cell_is_refused_naming_sheet_and_cell(cut):
    _workbook(cut, {("labs", 2, "value"): "#DIV/0!"})
    reported(refused(cut), "cut.xlsx", 2, "value", "sheet labs", "#DIV/0!", "error")


def test_workbook_sheet_is_read_over_its_real_used_range_not_its_stored_dimension(cut, fixture_cut):
    book = _workbook(cut)
    _rewrite_workbook_xml(book, lambda name, xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', xml)
                          if name.startswith("xl/worksheets/") else xml)
    assert b'ref="A1:B2"' in zipfile.ZipFile(book).read("xl/worksheets/sheet3.xml")
    loaded = accepted(cut)
    for table in ("subjects", "vitals", "labs", "adverse_events"):
        assert len(getattr(loaded, table)) == len(getattr(fixture_cut, table)), table
    assert loaded.vitals["consciousness"].notna().all()


def test_workbook_column_without_header_is_refused_as_in_csv(cut):
    openpyxl = pytest.importorskip("openpyxl")
    book = _workbook(cut)
    wb = openpyxl.load_workbook(book)
    sheet = wb["vitals"]
    sheet.cell(row=4, column=sheet.max_column + 2, value="Maria da Silva")
    wb.save(book)
    err = refused(cut)
    reported(err, "cut.xlsx", 1, None, "sheet vitals", "no header", "row 4")
    assert "Maria" not in str(err)


def test_csv_column_without_header_is_refused(cut):
    add_column(cut, "vitals.csv", "", "x")
    err = refused(cut)
    reported(err, "vitals.csv", 1, None, "no header")
    assert len(err.problems) == 1, str(err)


def test_empty_column_without_header_from_trailing_commas_is_accepted(cut):
    add_column(cut, "vitals.csv", "", "")
    accepted(cut)


def test_workbook_sheet_with_a_blank_first_row_gives_one_clear_message(cut):
    openpyxl = pytest.importorskip("openpyxl")
    book = _workbook(cut)
    wb = openpyxl.load_workbook(book)
    wb["pcr"].insert_rows(1)
    wb.save(book)
    err = refused(cut)
    reported(err, "cut.xlsx", 1, None, "sheet pcr", "first row is blank")
    assert len(err.problems) == 1, str(err)


def test_extra_sheet_is_listed_and_never_read(cut):
    openpyxl = pytest.importorskip("openpyxl")
    book = _workbook(cut)
    wb = openpyxl.load_workbook(book)
    extra = wb.create_sheet("contatos")
    extra.append(["nome", "cpf"])
    extra.append(["Maria da Silva", "123.456.789-00"])
    wb.save(book)
    loaded = accepted(cut)
    dq_says(loaded, "(cut folder)", "sheet contatos", "not part of the cut format", "not read")
    assert "Maria" not in loaded.data_quality.to_string()


# --------------------------------------------------------------------------------------------
# repeated records
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file, row", [
    ("subjects.csv", 2), ("infusions.csv", 2), ("vitals.csv", 3), ("labs.csv", 2),
    ("blood_gases.csv", 2), ("pcr.csv", 3), ("imaging.csv", 2), ("adverse_events.csv", 2),
])
def test_exact_duplicate_row_is_kept_once_and_reported(cut, fixture_cut, file, row):
    rows = read_rows(cut, file)
    write_rows(cut, file, rows + [rows[row - 1]])
    new_row = len(rows) + 1
    loaded = accepted(cut)
    table = file.removesuffix(".csv")
    assert len(getattr(loaded, table)) == len(getattr(fixture_cut, table))
    note = dq_says(loaded, table, "repeating an earlier row", "kept once")
    assert note["n_rows"] == 1 and f"{new_row} = {row}" in note["issue"]


def test_duplicated_adverse_event_row_does_not_raise_ae_counts(cut, fixture_cut):
    rows = read_rows(cut, "adverse_events.csv")
    write_rows(cut, "adverse_events.csv", rows + [rows[1], rows[2]])
    loaded = accepted(cut)

    def by_term(c):
        return adverse_events_by_term(classify_adverse_events(c.adverse_events), c.population("treated"))

    pd.testing.assert_frame_equal(by_term(loaded), by_term(fixture_cut))


def test_same_adverse_event_with_term_in_other_case_is_kept_once(cut, fixture_cut):
    append_row(cut, "adverse_events.csv", "S01,FEVER,2020-08-02,2020-08-03,1,no,possible,yes")
    loaded = accepted(cut)
    assert len(loaded.adverse_events) == len(fixture_cut.adverse_events)
    dq_says(loaded, "adverse_events", "repeating", "kept once")


@pytest.mark.parametrize("file, line, column, first_row", [
    pytest.param("pcr.csv", "S01,2020-08-02,negative", "result", 2, id="two_results_for_one_swab"),
    pytest.param("labs.csv", "S01,2020-08-02T06:00,CRP,160,mg/L", "value", 2, id="lab_value_twice"),
    pytest.param("labs.csv", "S01,2020-08-02T06:00,PCR,9,mg/dL", "value", 2,
                 id="lab_value_twice_under_another_spelling"),
    pytest.param("adverse_events.csv", "S01,Fever,2020-08-02,2020-08-03,2,no,possible,yes", "grade", 2,
                 id="same_ae_other_grade"),
    pytest.param("vitals.csv", "S01,2020-08-01T08:00,26,91,yes,38.5,105,115,A", "spo2_pct", 2,
                 id="two_vitals_at_one_time"),
    pytest.param("blood_gases.csv", "S01,2020-08-02T06:30,70,0.5", "pao2_mmhg", 2,
                 id="two_blood_gases_at_one_time"),
    pytest.param("imaging.csv", "S01,2020-08-01,CT,12,", "severity_score", 2, id="two_scans_one_day"),
])
def test_two_rows_for_one_record_with_different_values_are_refused_naming_both_rows(
        cut, file, line, column, first_row):
    rows = read_rows(cut, file)
    assert rows[first_row - 1][:2] == line.split(",")[:2], "the new row must repeat the record key"
    new_row = append_row(cut, file, line)
    err = refused(cut)
    reported(err, file, new_row, column, f"row {first_row}", "one row per")
    assert len(err.problems) == 1, str(err)


def test_lab_result_entered_in_mg_per_l_and_again_in_mg_per_dl_is_kept_once(cut, fixture_cut):
    append_row(cut, "labs.csv", "S01,2020-08-02T06:00,CRP,15,mg/dL")  # row 2 is 150 mg/L
    loaded = accepted(cut)
    assert loaded.labs["value"].tolist() == fixture_cut.labs["value"].tolist()
    dq_says(loaded, "labs", "repeating", "kept once")


# --------------------------------------------------------------------------------------------
# lab test names
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [
    "PCR", "hs-CRP", "hsCRP", "C-reactive protein", "proteina C reativa", "Proteína C-reativa",
    "proteína C reativa", "PROTEÍNA  C  REATIVA", "crp", "hs\u2013CRP",
])
def test_crp_spelling_is_counted_as_crp_with_a_data_quality_row(cut, fixture_cut, spelling):
    set_cell(cut, "labs.csv", 3, "test", spelling)
    loaded = accepted(cut)
    crp = loaded.labs[loaded.labs["test"] == "CRP"]
    assert crp["value"].tolist() == [15.0, 4.2, 18.0]
    row = dq_says(loaded, "labs", f"written '{spelling}'", "counted as CRP")
    assert row["n_rows"] == 1


def test_hs_crp_data_quality_row_says_it_is_the_high_sensitivity_assay(cut):
    set_cell(cut, "labs.csv", 3, "test", "hs-CRP")
    dq_says(accepted(cut), "labs", "hs-CRP", "high-sensitivity", "counted as CRP")


@pytest.mark.parametrize("spelling", ["CRP quantitativa", "Prot. C reativa", "C reactive prot"])
def test_unlisted_test_that_looks_like_crp_is_reported_not_silently_another_test(cut, spelling):
    set_cell(cut, "labs.csv", 3, "test", spelling)
    loaded = accepted(cut)
    assert loaded.labs[loaded.labs["test"] == "CRP"]["value"].tolist() == [15.0, 18.0]
    row = dq_says(loaded, "labs", spelling, "looks like CRP", "not counted as CRP")
    assert row["n_rows"] == 1


def test_other_test_names_are_kept_without_a_note(cut):
    append_row(cut, "labs.csv", "S01,2020-08-02T06:00,ferritin,900,ng/mL")
    loaded = accepted(cut)
    assert "ferritin" in set(loaded.labs["test"])
    assert dq(loaded, "labs")["column"].ne("test").all()


def test_crp_spelling_in_a_wrong_unit_is_refused(cut):
    set_cell(cut, "labs.csv", 3, "test", "PCR")
    set_cell(cut, "labs.csv", 3, "unit", "mg/mL")
    reported(refused(cut), "labs.csv", 3, "unit", "not allowed for CRP", "PCR")


def test_every_test_in_the_synonym_table_has_units_and_each_spelling_maps_to_itself():
    names = lab_test_names()
    assert set(names["test"]) <= set(lab_units()["test"])
    assert canonical_lab_test(names["spelling"]).tolist() == names["test"].tolist()


# --------------------------------------------------------------------------------------------
# inputs that used to crash
# --------------------------------------------------------------------------------------------

def test_csv_field_over_128_kib_is_refused_naming_the_row(cut):
    set_cell(cut, "adverse_events.csv", 3, "term", "x" * (200 * 1024))
    err = refused(cut)
    line = reported(err, "adverse_events.csv", 3, None, "KiB")
    assert len(line) < 400


def test_unclosed_quote_is_refused_naming_a_row(cut):
    path = cut / "vitals.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace("S01,", 'S01,"', 1)
    path.write_text("".join(lines), encoding="utf-8")
    reported(refused(cut), "vitals.csv", 3, None)


def test_csv_files_with_cr_only_line_ends_are_read(cut, fixture_cut):
    for file in TABLE_FILES:
        path = cut / file
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    loaded = accepted(cut)
    for table in ("subjects", "vitals", "labs", "adverse_events"):
        pd.testing.assert_frame_equal(getattr(loaded, table), getattr(fixture_cut, table))


def test_crlf_line_ends_are_read(cut, fixture_cut):
    for file in TABLE_FILES:
        path = cut / file
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    pd.testing.assert_frame_equal(accepted(cut).vitals, fixture_cut.vitals)


@pytest.mark.parametrize("file, row, column", [
    ("imaging.csv", 3, "severity_score"),
    ("adverse_events.csv", 2, "grade"),
])
def test_integer_column_holding_1e30_is_refused(cut, file, row, column):
    set_cell(cut, file, row, column, "1e30")
    err = refused(cut)
    reported(err, file, row, column, "1e30", "whole number")
    assert len(err.problems) == 1, str(err)


def test_cutoff_before_every_screening_date_loads_with_no_subjects(cut):
    path = cut / "cut.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("2020-09-30", "2020-01-05"), encoding="utf-8")
    loaded = accepted(cut)
    assert len(loaded.subjects) == 0 and len(loaded.vitals) == 0 and len(loaded.adverse_events) == 0
    assert loaded.population("treated").empty
    assert dq_says(loaded, "subjects", "screened after the cutoff")["n_rows"] == 7


def test_cut_with_no_infusion_yet_loads(cut):
    rows = read_rows(cut, "infusions.csv")
    write_rows(cut, "infusions.csv", rows[:1])
    loaded = accepted(cut)
    assert loaded.population("treated").empty
    assert len(loaded.subjects) == 6
    assert loaded.vitals["days_since_infusion"].isna().all()


def test_blank_first_line_gives_one_clear_message(cut):
    path = cut / "vitals.csv"
    path.write_bytes(b"\n" + path.read_bytes())
    err = refused(cut)
    reported(err, "vitals.csv", 1, None, "first line is blank", "header must be on line 1")
    assert len(err.problems) == 1, str(err)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_file_is_refused_saying_utf16(cut, encoding):
    path = cut / "subjects.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    err = refused(cut)
    line = reported(err, "subjects.csv", None, None, "UTF-16", "CSV UTF-8")
    assert "Latin-1" not in line
    assert len(err.problems) == 1, str(err)


def test_semicolon_separated_file_gets_one_clear_message(cut):
    path = cut / "labs.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    err = refused(cut)
    reported(err, "labs.csv", 1, None, "semicolons", "comma")
    assert len(err.problems) == 1, str(err)


def test_latin1_file_with_cr_only_line_ends_names_the_row(cut):
    rows = read_rows(cut, "adverse_events.csv")
    rows[2][rows[0].index("term")] = "Náusea"
    write_rows(cut, "adverse_events.csv", rows, encoding="latin-1")
    path = cut / "adverse_events.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    reported(refused(cut), "adverse_events.csv", 3, "term", "UTF-8")


@pytest.mark.parametrize("payload", ["Fever\x1b[2J\x1b[31m", "Fever\u202egnp.exe", "Fever\x07\x00"])
def test_control_characters_in_a_value_are_refused_and_shown_escaped(cut, payload):
    set_cell(cut, "adverse_events.csv", 2, "term", payload)
    err = refused(cut)
    line = reported(err, "adverse_events.csv", 2, "term", "control character")
    assert line.isprintable(), line
    assert visible(payload) in line
    assert next(p for p in err.problems if p.column == "term").value == payload  # raw value kept


def test_problem_text_shows_control_characters_escaped_and_keeps_the_raw_value():
    problem = Problem("a\x1b.csv", 2, "te\u202erm", "x\x1b[2Jy\x00", "expected text")
    assert str(problem) == "a\\x1b.csv, row 2, column 'te\\u202erm': value 'x\\x1b[2Jy\\x00': expected text"
    assert problem.value == "x\x1b[2Jy\x00"
    assert visible("São Paulo, 12\u00a0mg") == "São Paulo, 12\u00a0mg"  # printable text unchanged


def test_control_characters_in_a_header_are_shown_escaped(cut):
    add_column(cut, "vitals.csv", "note\x1b]0;owned\x07", "x")
    err = refused(cut)
    assert all(line.isprintable() for line in str(err).splitlines())
    assert "\\x1b" in str(err)


# --------------------------------------------------------------------------------------------
# lesser checks: implausible dates, grade 5 without death, cut.yaml through the loader
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file, row, column, value", [
    ("pcr.csv", 3, "collected_on", "0001-08-05"),
    ("pcr.csv", 3, "collected_on", "0000-01-01"),
    ("subjects.csv", 2, "screened_on", "1920-08-01"),
    ("vitals.csv", 3, "measured_at", "1020-08-03T08:00"),
])
def test_date_before_the_earliest_plausible_date_is_refused(cut, file, row, column, value):
    set_cell(cut, file, row, column, value)
    err = refused(cut)
    reported(err, file, row, column, value, "earliest plausible date", "2019-12-01")
    assert len(err.problems) == 1, str(err)


def test_grade_5_adverse_event_for_a_subject_without_death_date_is_refused(cut):
    set_cell(cut, "adverse_events.csv", 2, "grade", "5")  # S01 is alive
    err = refused(cut)
    reported(err, "adverse_events.csv", 2, "grade", "grade 5", "death", "died_on")
    assert len(err.problems) == 1, str(err)


def test_grade_5_adverse_event_of_a_subject_who_died_is_accepted(fixture_cut):
    ae = fixture_cut.adverse_events
    assert (ae.loc[ae["grade"] == 5, "subject_id"] == "S02").all()


@pytest.mark.parametrize("edit, key", [
    pytest.param(lambda t: t + "cut_id: again\n", "cut_id", id="duplicate_key"),
    pytest.param(lambda t: t.replace("study_id: MSC-COVID19-HCPA", "study_id: yes"), "study_id",
                 id="study_id_yes"),
    pytest.param(lambda t: t.replace("cut_id: fixture-valid", "cut_id: ../../elsewhere"), "cut_id",
                 id="cut_id_path"),
])
def test_cut_yaml_read_strictly_through_the_loader(cut, edit, key):
    path = cut / "cut.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    reported(refused(cut), "cut.yaml", None, key)


def test_synthetic_key_reaches_the_cut(cut, fixture_cut):
    path = cut / "cut.yaml"
    text = re.sub(r"(?m)^synthetic:.*\n", "", path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    assert accepted(cut).synthetic is False
    path.write_text(text + "synthetic: true\n", encoding="utf-8")
    assert accepted(cut).synthetic is True


# --------------------------------------------------------------------------------------------
# the command line: exit 2, no traceback, nothing raw on the terminal
# --------------------------------------------------------------------------------------------

def _symlinked_subjects(cut: Path, outside: Path) -> None:
    (cut / "subjects.csv").unlink()
    (cut / "subjects.csv").symlink_to(outside)


def _escape_in_term(cut: Path, outside: Path) -> None:
    set_cell(cut, "adverse_events.csv", 2, "term", "Fever\x1b[2J")


def _xlsm(cut: Path, outside: Path) -> None:
    _workbook(cut, name="cut.xlsm")


def _blank_first_line(cut: Path, outside: Path) -> None:
    (cut / "labs.csv").write_bytes(b"\n" + (cut / "labs.csv").read_bytes())


@pytest.mark.parametrize("change, file", [
    pytest.param(_symlinked_subjects, "subjects.csv", id="symlink"),
    pytest.param(_escape_in_term, "adverse_events.csv", id="escape_sequence"),
    pytest.param(_xlsm, "cut.xlsm", id="xlsm"),
    pytest.param(_blank_first_line, "labs.csv", id="blank_first_line"),
])
def test_cli_validate_refuses_hostile_cut_with_exit_2_and_no_traceback(cut, outside, change, file):
    change(cut, outside)
    before = digests(cut)
    done = subprocess.run([sys.executable, "-m", "msc_analysis.cli", "validate", str(cut)],
                          capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert SECRET not in output and "\x1b" not in output
    assert file in done.stderr
    assert digests(cut) == before
