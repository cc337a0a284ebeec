"""Malformed data cuts are refused with a message that points at the exact cell.

Every test copies the valid fixture ``tests/fixtures/valid_cut`` (7 subjects; S07 screened
after the cutoff) to a temporary folder, breaks exactly one thing in the copy, and checks that
``load_cut``

* raises ``CutValidationError`` (and nothing else: a crash is a failure),
* names, on one line of the message, the file, the spreadsheet row number (header = row 1,
  first record = row 2) and the column of the problem (file only for file-level problems),
  and lists the same problem in ``err.problems`` / ``err.to_frame()``,
* leaves every byte of every file in the cut unchanged (and adds or removes no file).

The expected rows and columns are written by hand from the fixture and the data dictionary
(docs/data-dictionary.md), not computed by the loader's own code.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from msc_analysis import CutValidationError, Problem, load_cut

FIXTURE = Path(__file__).parent / "fixtures" / "valid_cut"
BOM = b"\xef\xbb\xbf"
TABLE_FILES = ("subjects.csv", "infusions.csv", "vitals.csv", "labs.csv", "blood_gases.csv",
               "pcr.csv", "imaging.csv", "adverse_events.csv")


# --------------------------------------------------------------------------------------------
# helpers: copy, edit one thing, hash, load, and check the message
# --------------------------------------------------------------------------------------------

@pytest.fixture
def cut(tmp_path) -> Path:
    """A fresh copy of the valid fixture cut."""
    dst = tmp_path / "cut"
    shutil.copytree(FIXTURE, dst)
    return dst


def read_rows(cut: Path, file: str) -> list[list[str]]:
    """The CSV as a list of rows; ``rows[r - 1]`` is spreadsheet row ``r`` (header = row 1)."""
    with open(cut / file, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_rows(cut: Path, file: str, rows: list[list[str]], encoding: str = "utf-8",
               bom: bool = False) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (cut / file).write_bytes((BOM if bom else b"") + buf.getvalue().encode(encoding))


def set_cell(cut: Path, file: str, row: int, column: str, value: str) -> None:
    """Replace one cell, addressed by spreadsheet row number and column name."""
    rows = read_rows(cut, file)
    col = rows[0].index(column)
    assert rows[row - 1][col] != value, "the edit must change the cell"
    rows[row - 1][col] = value
    write_rows(cut, file, rows)


def append_row(cut: Path, file: str, line: str) -> int:
    """Append one CSV record (raw text); return its spreadsheet row number."""
    path = cut / file
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    path.write_text(text + line + "\n", encoding="utf-8")
    return len(read_rows(cut, file))


def add_column(cut: Path, file: str, header: str, value: str) -> None:
    """Append a column with the same ``value`` in every record."""
    rows = read_rows(cut, file)
    write_rows(cut, file, [rows[0] + [header]] + [r + [value] for r in rows[1:]])


def drop_column(cut: Path, file: str, column: str) -> None:
    rows = read_rows(cut, file)
    col = rows[0].index(column)
    write_rows(cut, file, [r[:col] + r[col + 1:] for r in rows])


def rename_column(cut: Path, file: str, old: str, new: str) -> None:
    rows = read_rows(cut, file)
    rows[0][rows[0].index(old)] = new
    write_rows(cut, file, rows)


def digests(cut: Path) -> dict[str, str]:
    """sha256 of every file in the cut folder (also catches added or removed files)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(cut.rglob("*")) if p.is_file()}


def refused(cut: Path) -> CutValidationError:
    """Load the cut expecting CutValidationError; check the files were not touched."""
    before = digests(cut)
    with pytest.raises(CutValidationError) as info:
        load_cut(cut)
    assert digests(cut) == before, "the loader changed, added or removed a file in the cut"
    err = info.value
    assert err.problems, "a CutValidationError must list at least one problem"
    assert all(isinstance(p, Problem) for p in err.problems)
    return err


def accepted(cut: Path):
    """Load the cut expecting success; check the files were not touched."""
    before = digests(cut)
    loaded = load_cut(cut)
    assert digests(cut) == before, "the loader changed, added or removed a file in the cut"
    return loaded


def _names(text: str, word: str) -> bool:
    # the name must stand alone: 'temp_c' is not named by 'temp_c.1' or 'temp_c_max'
    return re.search(rf"(?<![\w.]){re.escape(word)}(?![\w]|\.\w)", text) is not None


def reported(err: CutValidationError, file: str, row: int | None = None,
             column: str | None = None, *words: str) -> str:
    """Assert one line of ``str(err)`` names ``file``, ``row N`` and ``column`` (and ``words``).

    The same problem must be in ``err.to_frame()``. Returns the matching message line.
    """
    message = str(err)
    lines = message.splitlines()[1:]  # line 1 is the summary (it holds the cut's path)
    where = [
        line for line in lines
        if file in line
        and (row is None or re.search(rf"\brow {row}\b", line))
        and (column is None or _names(line, column))
    ]
    assert where, (f"no line of the message names file {file!r}"
                   + (f", row {row}" if row is not None else "")
                   + (f", column {column!r}" if column is not None else "")
                   + f":\n{message}")
    hit = [line for line in where if all(w.lower() in line.lower() for w in words)]
    assert hit, f"the line(s) for this cell do not say {words!r}:\n" + "\n".join(where)

    frame = err.to_frame()
    assert list(frame.columns) == ["file", "row", "column", "value", "expected"]
    sel = frame["file"].str.contains(file, regex=False)
    if row is not None:
        sel &= frame["row"].eq(row).fillna(False)
    if column is not None:
        sel &= frame["column"].eq(column).fillna(False)
    assert sel.any(), f"err.to_frame() has no problem at {file}, row {row}, column {column}:\n{frame}"
    return hit[0]


# --------------------------------------------------------------------------------------------
# baseline: the untouched fixture is valid (so every refusal below is caused by the one edit)
# --------------------------------------------------------------------------------------------

def test_untouched_fixture_copy_is_accepted_and_left_unchanged(cut):
    loaded = accepted(cut)
    assert len(loaded.subjects) == 6  # S07 screened after the cutoff is excluded


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file", ["subjects.csv", "vitals.csv", "adverse_events.csv"])
def test_missing_table_file_is_refused_naming_the_file(cut, file):
    (cut / file).unlink()
    reported(refused(cut), file, None, None, "missing")


def test_missing_cut_yaml_is_refused_naming_the_file(cut):
    (cut / "cut.yaml").unlink()
    reported(refused(cut), "cut.yaml", None, None, "missing")


@pytest.mark.parametrize("file", ["subjects.csv", "labs.csv"])
def test_empty_zero_byte_file_is_refused_naming_the_file(cut, file):
    (cut / file).write_bytes(b"")
    reported(refused(cut), file, None, None, "empty")


@pytest.mark.parametrize("file, row, column, value", [
    pytest.param("adverse_events.csv", 3, "term", "Náusea", id="latin1_nausea_in_ae_term"),
    pytest.param("subjects.csv", 4, "arm", "MSC São Paulo", id="latin1_sao_paulo_in_subjects_arm"),
    # a comma inside a quoted cell must not shift the column that is named
    pytest.param("adverse_events.csv", 2, "term", "Febre, náusea", id="latin1_in_quoted_cell_with_comma"),
])
def test_latin1_encoded_file_is_refused_naming_row_and_column(cut, file, row, column, value):
    rows = read_rows(cut, file)
    rows[row - 1][rows[0].index(column)] = value
    write_rows(cut, file, rows, encoding="latin-1")
    assert value.encode("utf-8") not in (cut / file).read_bytes()
    reported(refused(cut), file, row, column, "UTF-8")


def test_utf8_bom_is_accepted_and_bad_cell_is_reported_with_unmangled_column(cut):
    # The bad cell is in the FIRST column, the one whose header a mishandled BOM would mangle.
    rows = read_rows(cut, "vitals.csv")
    rows[3][rows[0].index("subject_id")] = "S99"  # row 4, a subject that does not exist
    write_rows(cut, "vitals.csv", rows, bom=True)
    assert (cut / "vitals.csv").read_bytes().startswith(BOM)
    err = refused(cut)
    reported(err, "vitals.csv", 4, "subject_id", "S99")
    message = str(err)
    assert "\ufeff" not in message and "ï»¿" not in message
    # The BOM itself is not a problem: the only complaint is the unknown subject code.
    assert [(p.file, p.row, p.column) for p in err.problems] == [("vitals.csv", 4, "subject_id")]


def test_utf8_bom_alone_is_accepted(cut):
    for file in TABLE_FILES:
        (cut / file).write_bytes(BOM + (cut / file).read_bytes())
    loaded = accepted(cut)
    assert "subject_id" in loaded.vitals.columns


def test_ragged_row_with_an_extra_field_is_refused_naming_the_row(cut):
    path = cut / "labs.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + ",extra\n"  # row 3
    path.write_text("".join(lines), encoding="utf-8")
    reported(refused(cut), "labs.csv", 3, None)


def test_ragged_row_with_a_missing_field_is_refused_naming_the_row(cut):
    # Row 2 of imaging.csv ends early: 4 fields under a 5-column header (the file is not
    # rectangular), even though the field that is missing is an optional one.
    path = cut / "imaging.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1] == "S01,2020-08-01,CT,15,\n"
    lines[1] = "S01,2020-08-01,CT,15\n"
    path.write_text("".join(lines), encoding="utf-8")
    reported(refused(cut), "imaging.csv", 2, None)


def test_cut_with_both_csv_files_and_a_workbook_is_refused(cut):
    write_workbook(FIXTURE, cut / "cut.xlsx")  # CSVs stay in place
    reported(refused(cut), "cut.xlsx", None, None, "not both")


# --------------------------------------------------------------------------------------------
# cut.yaml
# --------------------------------------------------------------------------------------------

def test_cut_yaml_without_cutoff_date_is_refused(cut):
    path = cut / "cut.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text("".join(l for l in text.splitlines(True) if not l.startswith("cutoff_date")),
                    encoding="utf-8")
    reported(refused(cut), "cut.yaml", None, "cutoff_date", "required")


@pytest.mark.parametrize("bad", [
    pytest.param("2020-09-31", id="september_31"),
    pytest.param("2020-13-01", id="month_13"),
    pytest.param("30/09/2020", id="day_month_year"),
    pytest.param("soon", id="word"),
])
def test_cut_yaml_with_bad_cutoff_date_is_refused(cut, bad):
    path = cut / "cut.yaml"
    text = path.read_text(encoding="utf-8")
    assert "cutoff_date: 2020-09-30" in text
    path.write_text(text.replace("cutoff_date: 2020-09-30", f"cutoff_date: {bad}"), encoding="utf-8")
    reported(refused(cut), "cut.yaml", None, "cutoff_date", bad)


# --------------------------------------------------------------------------------------------
# columns
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file, column", [
    pytest.param("subjects.csv", "sex", id="subjects_without_sex"),
    pytest.param("vitals.csv", "spo2_pct", id="vitals_without_spo2_pct"),
    pytest.param("adverse_events.csv", "grade", id="adverse_events_without_grade"),
    pytest.param("infusions.csv", "infused_on", id="infusions_without_infused_on"),
])
def test_missing_required_column_is_refused_naming_file_and_column(cut, file, column):
    drop_column(cut, file, column)
    reported(refused(cut), file, None, column, "missing")


@pytest.mark.parametrize("file, right, wrong", [
    pytest.param("vitals.csv", "spo2_pct", "sp02_pct", id="sp02_pct_for_spo2_pct"),
    pytest.param("subjects.csv", "last_known_alive_on", "last_known_alive",
                 id="last_known_alive_for_last_known_alive_on"),
    pytest.param("adverse_events.csv", "resolved_on", "resovled_on", id="resovled_on_for_resolved_on"),
])
def test_misspelt_column_is_refused_with_did_you_mean_suggestion(cut, file, right, wrong):
    rename_column(cut, file, right, wrong)
    err = refused(cut)
    line = reported(err, file, 1, wrong, "did you mean")
    assert _names(line, right), f"the suggestion should be {right!r}: {line}"


@pytest.mark.parametrize("column", [
    "name", "nome", "cpf", "date_of_birth", "phone", "email", "address", "prontuario", "mrn",
])
def test_direct_identifier_column_is_refused(cut, column):
    add_column(cut, "subjects.csv", column, "x1")
    reported(refused(cut), "subjects.csv", 1, column, "direct identifier")


@pytest.mark.parametrize("file, column", [
    pytest.param("subjects.csv", "notes", id="subjects_notes"),
    pytest.param("vitals.csv", "comment", id="vitals_comment"),
])
def test_unknown_extra_column_is_refused(cut, file, column):
    add_column(cut, file, column, "ok")
    reported(refused(cut), file, 1, column, "not a column")


def test_duplicated_column_is_refused(cut):
    rows = read_rows(cut, "vitals.csv")
    col = rows[0].index("temp_c")
    write_rows(cut, "vitals.csv", [r + [r[col]] for r in rows])  # a second, identical temp_c
    err = refused(cut)
    reported(err, "vitals.csv", 1, "temp_c", "more than once")
    assert "temp_c.1" not in str(err), "the repeated header must be reported as written in the file"


# --------------------------------------------------------------------------------------------
# values: spellings
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file, row, column, value", [
    pytest.param("subjects.csv", 3, "age_years", "seventy-one", id="text_in_age_years"),
    pytest.param("vitals.csv", 5, "heart_rate_bpm", "high", id="text_in_heart_rate"),
    pytest.param("infusions.csv", 2, "cells_infused", "80 million", id="text_in_cells_infused"),
])
def test_text_in_number_column_is_refused_with_row_and_column(cut, file, row, column, value):
    set_cell(cut, file, row, column, value)
    reported(refused(cut), file, row, column, value)


def test_comma_decimal_12_5_is_refused_with_row_and_column(cut):
    set_cell(cut, "labs.csv", 3, "value", "12,5")  # written quoted, as a CSV export would
    assert '"12,5"' in (cut / "labs.csv").read_text(encoding="utf-8")
    reported(refused(cut), "labs.csv", 3, "value", "12,5", "decimal")


@pytest.mark.parametrize("missing", [pytest.param("NA", id="NA"), pytest.param("-", id="dash"),
                                     pytest.param(".", id="dot")])
def test_missing_written_as_na_dash_or_dot_is_refused(cut, missing):
    set_cell(cut, "vitals.csv", 3, "temp_c", missing)
    reported(refused(cut), "vitals.csv", 3, "temp_c")


def test_boolean_maybe_is_refused_with_row_and_column(cut):
    set_cell(cut, "subjects.csv", 2, "consent_signed", "maybe")
    reported(refused(cut), "subjects.csv", 2, "consent_signed", "maybe", "yes or no")


@pytest.mark.parametrize("spelling", ["Positive", "POSITIVE"])
def test_category_in_other_case_is_accepted(cut, spelling):
    set_cell(cut, "pcr.csv", 2, "result", spelling)
    loaded = accepted(cut)
    assert loaded.pcr["result"].iloc[0] == "positive"


def test_category_abbreviation_pos_is_refused_with_row_and_column(cut):
    set_cell(cut, "pcr.csv", 2, "result", "pos")
    reported(refused(cut), "pcr.csv", 2, "result", "pos")


def test_invalid_subject_code_is_refused_with_row_and_column(cut):
    set_cell(cut, "labs.csv", 4, "subject_id", "Maria S.")  # not a pseudonymous code
    reported(refused(cut), "labs.csv", 4, "subject_id")


# --------------------------------------------------------------------------------------------
# values: dates and times
# --------------------------------------------------------------------------------------------

def test_excel_serial_date_44044_is_refused_mentioning_excel(cut):
    set_cell(cut, "subjects.csv", 2, "screened_on", "44044")
    reported(refused(cut), "subjects.csv", 2, "screened_on", "44044", "Excel")


def test_one_day_month_date_among_iso_dates_is_refused_naming_its_row(cut):
    set_cell(cut, "pcr.csv", 4, "collected_on", "15/08/2020")  # the other rows stay ISO
    err = refused(cut)
    reported(err, "pcr.csv", 4, "collected_on", "15/08/2020")
    assert [(p.file, p.row, p.column) for p in err.problems] == [("pcr.csv", 4, "collected_on")]


def test_impossible_calendar_date_2020_02_30_is_refused(cut):
    set_cell(cut, "imaging.csv", 3, "performed_on", "2020-02-30")
    reported(refused(cut), "imaging.csv", 3, "performed_on", "2020-02-30")


def test_datetime_without_time_is_refused_with_row_and_column(cut):
    set_cell(cut, "vitals.csv", 3, "measured_at", "2020-08-03")
    reported(refused(cut), "vitals.csv", 3, "measured_at", "2020-08-03", "time")


def test_datetime_with_time_zone_is_refused_with_row_and_column(cut):
    set_cell(cut, "blood_gases.csv", 2, "collected_at", "2020-08-02T06:30-03:00")
    reported(refused(cut), "blood_gases.csv", 2, "collected_at")


# --------------------------------------------------------------------------------------------
# values: ranges, allowed values, required values, uniqueness
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file, row, column, value", [
    pytest.param("vitals.csv", 3, "spo2_pct", "140", id="spo2_above_100"),
    pytest.param("subjects.csv", 4, "weight_kg", "-90", id="negative_weight"),
    pytest.param("subjects.csv", 5, "age_years", "130", id="age_130"),
    pytest.param("adverse_events.csv", 3, "grade", "6", id="ae_grade_6"),
    pytest.param("imaging.csv", 3, "severity_score", "30", id="ct_score_30"),
    pytest.param("labs.csv", 2, "value", "-1", id="negative_lab_value"),
    pytest.param("adverse_events.csv", 2, "grade", "2.5", id="ae_grade_not_whole"),
])
def test_impossible_value_is_refused_with_row_and_column(cut, file, row, column, value):
    set_cell(cut, file, row, column, value)
    err = refused(cut)
    reported(err, file, row, column, value)
    assert len(err.problems) == 1, f"one broken cell, one problem expected:\n{err}"


def test_crp_in_mg_per_ml_is_refused_with_row_and_column(cut):
    set_cell(cut, "labs.csv", 3, "unit", "mg/mL")
    line = reported(refused(cut), "labs.csv", 3, "unit", "mg/mL")
    assert "mg/L" in line and "mg/dL" in line, line


@pytest.mark.parametrize("file, row, column", [
    pytest.param("subjects.csv", 3, "sex", id="subjects_sex"),
    pytest.param("vitals.csv", 4, "measured_at", id="vitals_measured_at"),
    pytest.param("adverse_events.csv", 2, "grade", id="adverse_events_grade"),
    pytest.param("infusions.csv", 2, "cells_infused", id="infusions_cells_infused"),
    pytest.param("pcr.csv", 5, "result", id="pcr_result"),
])
def test_missing_required_value_is_refused_with_row_and_column(cut, file, row, column):
    set_cell(cut, file, row, column, "")
    reported(refused(cut), file, row, column, "required")


def test_duplicate_subject_id_is_refused_with_row_and_column(cut):
    row = append_row(cut, "subjects.csv",
                     "S05,,61,F,66,2020-08-13,yes,yes,no,no,no,2020-08-12,2020-08-18,,2020-08-18")
    assert row == 9
    err = refused(cut)
    reported(err, "subjects.csv", 9, "subject_id", "S05")
    assert {p.row for p in err.problems if p.column == "subject_id"} <= {6, 9}


# --------------------------------------------------------------------------------------------
# rules across columns and tables
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("file, row", [
    pytest.param("infusions.csv", 2, id="infusions"),
    pytest.param("vitals.csv", 2, id="vitals"),
    pytest.param("labs.csv", 2, id="labs"),
    pytest.param("blood_gases.csv", 3, id="blood_gases"),
    pytest.param("pcr.csv", 5, id="pcr"),
    pytest.param("imaging.csv", 3, id="imaging"),
    pytest.param("adverse_events.csv", 3, id="adverse_events"),
])
def test_row_for_unknown_subject_is_refused_in_every_table(cut, file, row):
    set_cell(cut, file, row, "subject_id", "S99")
    err = refused(cut)
    reported(err, file, row, "subject_id", "S99")
    assert len(err.problems) == 1, str(err)


def test_unknown_subjects_in_several_tables_are_all_reported(cut):
    places = [("vitals.csv", 4), ("labs.csv", 3), ("pcr.csv", 2), ("adverse_events.csv", 2)]
    for file, row in places:
        set_cell(cut, file, row, "subject_id", "X42")
    err = refused(cut)
    for file, row in places:
        reported(err, file, row, "subject_id", "X42")
    assert len(err.problems) == len(places), str(err)


def test_discharge_before_admission_is_refused(cut):
    set_cell(cut, "subjects.csv", 2, "discharged_on", "2020-07-29")  # S01 admitted 2020-07-30
    reported(refused(cut), "subjects.csv", 2, "discharged_on", "2020-07-29")


def test_death_before_infusion_is_refused(cut):
    # S02 died on 2020-08-15; an infusion dated after that is impossible.
    set_cell(cut, "infusions.csv", 3, "infused_on", "2020-08-20")
    reported(refused(cut), "subjects.csv", 3, "died_on", "infusion")


def test_ae_resolved_before_onset_is_refused(cut):
    set_cell(cut, "adverse_events.csv", 2, "resolved_on", "2020-08-01")  # onset 2020-08-02
    reported(refused(cut), "adverse_events.csv", 2, "resolved_on", "2020-08-01")


@pytest.mark.parametrize("edit_file, edit_row, edit_column, value, file, row, column", [
    pytest.param("infusions.csv", 2, "infused_on", "2020-07-31",
                 "infusions.csv", 2, "infused_on", id="infusion_before_screening"),
    pytest.param("subjects.csv", 4, "died_on", "2020-08-05",
                 "subjects.csv", 4, "died_on", id="death_before_screening"),
    pytest.param("subjects.csv", 3, "died_on", "2020-08-10",
                 "subjects.csv", 3, "died_on", id="death_before_last_known_alive"),
    pytest.param("subjects.csv", 3, "discharged_on", "2020-08-16",
                 "subjects.csv", 3, "died_on", id="discharge_after_death"),
])
def test_other_date_order_rules_are_enforced(cut, edit_file, edit_row, edit_column, value,
                                             file, row, column):
    set_cell(cut, edit_file, edit_row, edit_column, value)
    reported(refused(cut), file, row, column)


def test_fio2_of_5_is_refused_as_ambiguous(cut):
    set_cell(cut, "blood_gases.csv", 2, "fio2", "5")
    err = refused(cut)
    reported(err, "blood_gases.csv", 2, "fio2", "5")
    assert len(err.problems) == 1, str(err)


def test_pregnancy_yes_for_sex_m_is_refused(cut):
    set_cell(cut, "subjects.csv", 2, "pregnant_or_breastfeeding", "yes")  # S01 is M
    reported(refused(cut), "subjects.csv", 2, "pregnant_or_breastfeeding", "sex")


def test_two_infusions_for_one_subject_are_refused(cut):
    row = append_row(cut, "infusions.csv", "S01,2020-08-09,8.0e7,80")
    assert row == 5
    err = refused(cut)
    reported(err, "infusions.csv", row, "subject_id", "S01")
    reported(err, "infusions.csv", 2, "subject_id", "S01")


def test_infusion_for_non_enrolled_subject_is_refused(cut):
    row = append_row(cut, "infusions.csv", "S03,2020-08-07,9.0e7,90")  # S03: enrolled = no
    err = refused(cut)
    reported(err, "infusions.csv", row, "subject_id", "enrolled")
    assert len(err.problems) == 1, str(err)


# --------------------------------------------------------------------------------------------
# .xlsx workbook
# --------------------------------------------------------------------------------------------

def _cell(text: str):
    """A CSV cell as a spreadsheet user would type it: numbers and dates as real cells."""
    if text == "":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.datetime.strptime(text, "%Y-%m-%d")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", text):
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M")
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def write_workbook(source: Path, target: Path, edits: dict | None = None) -> None:
    """One sheet per fixture CSV, named like the file; ``edits[(sheet, row, column)] = value``."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.remove(book.active)
    for file in TABLE_FILES:
        sheet = book.create_sheet(file.removesuffix(".csv"))
        rows = read_rows(source, file)
        for r, values in enumerate(rows, start=1):
            for c, text in enumerate(values, start=1):
                sheet.cell(row=r, column=c, value=text if r == 1 else _cell(text))
        for (name, row, column), value in (edits or {}).items():
            if name == sheet.title:
                sheet.cell(row=row, column=rows[0].index(column) + 1, value=value)
    book.save(target)


def _workbook_cut(cut: Path, edits: dict | None = None) -> None:
    write_workbook(FIXTURE, cut / "cut.xlsx", edits)
    for file in TABLE_FILES:
        (cut / file).unlink()


def test_clean_workbook_is_accepted(cut):
    _workbook_cut(cut)
    loaded = accepted(cut)
    assert len(loaded.subjects) == 6


def test_workbook_datetime_cell_at_midnight_is_accepted(cut):
    # A real date-and-time cell at 00:00 is a valid time of day, not a date without time.
    _workbook_cut(cut, {("vitals", 3, "measured_at"): dt.datetime(2020, 8, 3, 0, 0)})
    loaded = accepted(cut)
    assert (loaded.vitals["measured_at"] == dt.datetime(2020, 8, 3, 0, 0)).any()


def test_workbook_with_bad_value_names_sheet_row_and_column(cut):
    _workbook_cut(cut, {("vitals", 3, "spo2_pct"): 140})
    err = refused(cut)
    reported(err, "cut.xlsx", 3, "spo2_pct", "vitals", "140")
    assert len(err.problems) == 1, str(err)


# --------------------------------------------------------------------------------------------
# everything at once, and the command line
# --------------------------------------------------------------------------------------------

def test_several_problems_in_several_files_are_all_reported_in_one_error(cut):
    set_cell(cut, "vitals.csv", 3, "spo2_pct", "140")
    set_cell(cut, "adverse_events.csv", 3, "grade", "6")
    set_cell(cut, "labs.csv", 4, "unit", "mg/mL")
    set_cell(cut, "subjects.csv", 4, "discharged_on", "2020-08-04")  # S03, never infused
    set_cell(cut, "imaging.csv", 2, "subject_id", "S99")
    set_cell(cut, "infusions.csv", 4, "infused_on", "44107")
    (cut / "pcr.csv").unlink()
    err = refused(cut)
    expected = [
        ("vitals.csv", 3, "spo2_pct"),
        ("adverse_events.csv", 3, "grade"),
        ("labs.csv", 4, "unit"),
        ("subjects.csv", 4, "discharged_on"),
        ("imaging.csv", 2, "subject_id"),
        ("infusions.csv", 4, "infused_on"),
        ("pcr.csv", None, None),
    ]
    for file, row, column in expected:
        reported(err, file, row, column)
    assert len(err.problems) == len(expected), str(err)
    assert f"{len(expected)} problems" in str(err)
    assert len(err.to_frame()) == len(expected)


def _cli_commands():
    script = Path(sys.executable).with_name("msc-analysis")
    return [
        pytest.param([str(script)], id="console_script",
                     marks=pytest.mark.skipif(not script.exists(), reason="msc-analysis not installed")),
        pytest.param([sys.executable, "-m", "msc_analysis.cli"], id="python_m"),
    ]


@pytest.mark.parametrize("command", _cli_commands())
def test_cli_validate_exits_2_without_traceback_naming_file_row_and_column(cut, command):
    set_cell(cut, "vitals.csv", 3, "spo2_pct", "140")
    before = digests(cut)
    done = subprocess.run(command + ["validate", str(cut)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    line = next((l for l in done.stderr.splitlines()
                 if "vitals.csv" in l and re.search(r"\brow 3\b", l) and _names(l, "spo2_pct")), None)
    assert line is not None, f"stderr does not name vitals.csv, row 3, spo2_pct:\n{done.stderr}"
    assert digests(cut) == before
