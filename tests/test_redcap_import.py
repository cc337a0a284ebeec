"""Rules for ``msc-analysis import-redcap``: from a REDCap export to a cut (issue 16)."""
from __future__ import annotations

import pandas as pd
import pytest

from msc_analysis import load_cut
from msc_analysis.cli import main
from msc_analysis.io.spec import TABLES
from msc_analysis.redcap import RedcapImportError, import_redcap
from msc_analysis.synthetic.__main__ import main as synthetic_main
from .conftest import ROOT

EXAMPLE = ROOT / "data" / "redcap"
DEMO_CUT = ROOT / "data" / "cuts" / "cut-2020-12-30"
DD, RECORDS, MAPPING = (EXAMPLE / n for n in ("data_dictionary.csv", "records.csv", "mapping.yaml"))


def _import(out, records=RECORDS, mapping=MAPPING, cut_id="cut-2020-12-30", **kw):
    return import_redcap(DD, records, mapping, cut_id, "2020-12-30", out, **kw)


def _records() -> pd.DataFrame:
    return pd.read_csv(RECORDS, dtype=str, keep_default_na=False)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode()


def _cell(frame, record, event, column, value, instrument=""):
    rows = (frame["record_id"] == record) & (frame["redcap_event_name"] == event)
    rows &= frame["redcap_repeat_instrument"] == instrument
    index = frame.index[rows][0]
    frame.loc[index, column] = value
    return index + 2  # line of the export


def test_round_trip_gives_the_demo_cut_byte_for_byte(tmp_path):
    folder = _import(tmp_path)
    for table in TABLES:
        assert (folder / f"{table}.csv").read_bytes() == (DEMO_CUT / f"{table}.csv").read_bytes(), table
    imported, demo = load_cut(folder), load_cut(DEMO_CUT)
    for table in (*TABLES, "eligibility", "data_quality"):
        pd.testing.assert_frame_equal(getattr(imported, table), getattr(demo, table), obj=table)


def test_shipped_example_is_what_the_generator_writes(tmp_path):
    assert synthetic_main(["redcap", "--out", str(tmp_path)]) == 0
    for name in ("data_dictionary.csv", "records.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_export_given_as_bytes_gives_the_same_cut(tmp_path):
    folder = import_redcap(DD.read_bytes(), RECORDS.read_bytes(), MAPPING.read_bytes(), "c1", "2020-12-30",
                           tmp_path)
    assert (folder / "vitals.csv").read_bytes() == (DEMO_CUT / "vitals.csv").read_bytes()


def test_identifier_and_unmapped_fields_are_not_carried_over(tmp_path):
    folder = _import(tmp_path)
    mrns = [m for m in _records()["mrn"] if m]
    text = "".join(p.read_text(encoding="utf-8") for p in folder.iterdir())
    assert len(mrns) == 40 and not any(m in text for m in mrns)


def test_mutated_export_lists_every_problem_at_once_and_writes_nothing(tmp_path, capsys):
    frame = _records()
    code_line = _cell(frame, "HCPA-003", "screening_arm_1", "sex", "7")
    date_line = _cell(frame, "HCPA-004", "screening_arm_1", "scr_date", "31/12/2020")
    extra = frame.iloc[[0]].assign(redcap_event_name="baseline_arm_2")
    frame = pd.concat([frame, extra], ignore_index=True)
    (tmp_path / "records.csv").write_bytes(_csv(frame))
    mapping = MAPPING.read_text().replace("      not_infused_reason:", "      death_cause: {field: mrn}\n"
                                                                     "      not_infused_reason:")
    (tmp_path / "mapping.yaml").write_text(mapping)
    out = tmp_path / "cuts"
    out.mkdir()
    status = main(["import-redcap", "--dictionary", str(DD), "--records", str(tmp_path / "records.csv"),
                   "--mapping", str(tmp_path / "mapping.yaml"), "--cut-id", "c1", "--cutoff", "2020-12-30",
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("The REDCap export cannot be imported: 4 problems found.")
    lines = err.splitlines()
    assert any(f"line {code_line}, record HCPA-003, event screening_arm_1, field 'sex': value '7': an unknown "
               "choice code" in x for x in lines)
    assert any(f"line {date_line}, record HCPA-004, event screening_arm_1, field 'scr_date': value '31/12/2020'"
               in x and "YYYY-MM-DD" in x for x in lines)
    assert any(f"line {len(frame) + 1}, record HCPA-001, event baseline_arm_2, field 'redcap_event_name'" in x
               and "an event the mapping does not know" in x for x in lines)
    assert any("death_cause: value 'mrn'" in x and "identifier" in x for x in lines)
    assert list(out.iterdir()) == []


def test_existing_cut_folder_is_kept_without_force_and_replaced_with_it(tmp_path):
    folder = tmp_path / "c1"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(RedcapImportError, match="never overwritten unless you add --force"):
        _import(tmp_path, cut_id="c1")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    _import(tmp_path, cut_id="c1", force=True)
    assert not (folder / "notes.txt").exists() and (folder / "subjects.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1"]


def test_record_id_that_is_not_a_subject_code_is_refused(tmp_path):
    frame = _records()
    frame.loc[frame["record_id"] == "HCPA-007", "record_id"] = "Maria Silva"
    with pytest.raises(RedcapImportError, match="record Maria Silva.*not a subject code.*name another field"):
        _import(tmp_path, records=_csv(frame))
    assert list(tmp_path.iterdir()) == []


def test_subject_code_can_come_from_another_field(tmp_path):
    frame = _records()
    frame["record_id"] = frame["record_id"].str.replace("HCPA-", "")  # REDCap's auto-numbered ids
    frame.loc[frame["redcap_event_name"] == "screening_arm_1", "mrn"] = _records()["record_id"]
    dd = pd.read_csv(DD, dtype=str, keep_default_na=False)
    dd.loc[dd["Variable / Field Name"] == "mrn", ["Field Label", "Identifier?"]] = ["Subject code", ""]
    mapping = MAPPING.read_text().replace("subject_code: {field: record_id}",
                                          "subject_code: {field: mrn, event: screening_arm_1}")
    folder = import_redcap(_csv(dd), _csv(frame), mapping.encode(), "c1", "2020-12-30", tmp_path)
    assert (folder / "labs.csv").read_bytes() == (DEMO_CUT / "labs.csv").read_bytes()


def test_problem_found_in_the_written_cut_is_placed_in_the_export(tmp_path):
    frame = _records()
    line = int(frame.index[frame["redcap_repeat_instrument"] == "vital_signs"][2]) + 2
    frame.loc[line - 2, "vs_spo2"] = "150"
    with pytest.raises(RedcapImportError) as err:
        _import(tmp_path, records=_csv(frame))
    record, instance = frame.loc[line - 2, ["record_id", "redcap_repeat_instance"]]
    assert (f"records export, line {line}, record {record}, event follow_up_arm_1, instance {instance}, field "
            "'vs_spo2': value '150': in the cut column vitals.spo2_pct: expected a number from 30 to 100"
            ) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_dates_exported_day_first_are_read_day_first(tmp_path):
    frame = _records()
    for column in ("scr_date", "adm_date", "enrol_date", "inf_date", "pcr_date", "ct_date", "ae_onset",
                   "ae_resolved", "out_discharge", "out_death", "out_last_alive"):
        frame[column] = frame[column].str.replace(r"(\d{4})-(\d{2})-(\d{2})", r"\3/\2/\1", regex=True)
    for column in ("vs_datetime", "lab_datetime", "bg_datetime"):
        frame[column] = frame[column].str.replace(r"(\d{4})-(\d{2})-(\d{2})", r"\3/\2/\1", regex=True)
    mapping = MAPPING.read_text().replace("dates_exported_as: YMD", "dates_exported_as: DMY")
    folder = import_redcap(DD, _csv(frame), mapping.encode(), "c1", "2020-12-30", tmp_path)
    for table in TABLES:
        assert (folder / f"{table}.csv").read_bytes() == (DEMO_CUT / f"{table}.csv").read_bytes(), table
    with pytest.raises(RedcapImportError, match="value '2020-07-28': expected a real date written DD/MM/YYYY"):
        import_redcap(DD, RECORDS, mapping.encode(), "c2", "2020-12-30", tmp_path)


def test_impossible_date_is_refused(tmp_path):
    frame = _records()
    _cell(frame, "HCPA-002", "screening_arm_1", "scr_date", "2020-02-30")
    with pytest.raises(RedcapImportError, match="record HCPA-002.*'scr_date': value '2020-02-30': expected a real"):
        _import(tmp_path, records=_csv(frame))


@pytest.mark.parametrize("change, message", [
    ("categories: {1: F, 2: M}", "choice code 2 ('Male') of sex has no category"),
    ("{field: weight}", "not a field of the data dictionary"),
    ("{field: age}", "this field is text (integer); the cut column needs a dropdown or radio"),
])
def test_mapping_is_checked_against_the_dictionary(tmp_path, change, message):
    new = {"categories: {1: F, 2: M}": "categories: {1: F}", "{field: weight}": "{field: weight_at_screening}",
           "{field: age}": "{field: age}"}[change]
    mapping = MAPPING.read_text().replace(change, new)
    if change == "{field: age}":
        mapping = mapping.replace("sex: {field: sex, categories: {1: F, 2: M}}", "sex: {field: age}")
    with pytest.raises(RedcapImportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _import(tmp_path, mapping=mapping.encode())


@pytest.mark.parametrize("text, message", [
    ("study_id: A\nstudy_id: B\n", "more than once"),
    ("x: &a [1]\ny: *a\n", "aliases"),
])
def test_mapping_is_read_strictly(tmp_path, text, message):
    with pytest.raises(RedcapImportError, match=message):
        _import(tmp_path, mapping=text.encode())


def test_unknown_repeating_instrument_is_refused(tmp_path):
    frame = _records()
    frame.loc[frame["redcap_repeat_instrument"] == "chest_ct", "redcap_repeat_instrument"] = "chest_xray"
    with pytest.raises(RedcapImportError, match="value 'chest_xray': a repeating instrument the mapping does not"):
        _import(tmp_path, records=_csv(frame))


def test_invalid_cut_id_and_cutoff_are_refused_with_the_rest(tmp_path):
    with pytest.raises(RedcapImportError, match=r"(?s)2 problems.*--cut-id.*--cutoff"):
        import_redcap(DD, RECORDS, MAPPING, "../x", "30/12/2020", tmp_path)


def test_cli_says_where_the_cut_is_and_what_the_validation_said(tmp_path, capsys):
    args = ["import-redcap", "--dictionary", str(DD), "--records", str(RECORDS), "--mapping", str(MAPPING),
            "--cut-id", "c1", "--cutoff", "2020-12-30", "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"into {tmp_path / 'c1'}." in out and "Cut c1 (cutoff 2020-12-30) is valid: 40 screened" in out
    assert main(args) == 2 and "add --force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0


def test_cli_api_error_exits_2_with_its_message(tmp_path, monkeypatch, capsys):
    from msc_analysis.redcap import api

    def refuse(*args, **kwargs):
        raise api.RedcapApiError("the REDCap server at https://redcap.example.org/api/ cannot be reached")

    monkeypatch.setattr(api, "export_project", refuse)
    monkeypatch.setenv("REDCAP_API_TOKEN", "0123456789ABCDEF0123456789ABCDEF")
    status = main(["import-redcap", "--api-url", "https://redcap.example.org/api/", "--mapping", str(MAPPING),
                   "--cut-id", "c1", "--cutoff", "2020-12-30", "--out", str(tmp_path)])
    assert status == 2 and "cannot be reached" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_dictionary_with_the_apis_column_names_gives_the_same_cut(tmp_path):
    dd = pd.read_csv(DD, dtype=str, keep_default_na=False)
    dd.columns = ["field_name", "form_name", "section_header", "field_type", "field_label",
                  "select_choices_or_calculations", "field_note", "text_validation_type_or_show_slider_number",
                  "text_validation_min", "text_validation_max", "identifier", "branching_logic", "required_field",
                  "custom_alignment", "question_number", "matrix_group_name", "matrix_ranking", "field_annotation"]
    folder = import_redcap(_csv(dd), RECORDS, MAPPING, "c1", "2020-12-30", tmp_path)
    assert (folder / "subjects.csv").read_bytes() == (DEMO_CUT / "subjects.csv").read_bytes()


def test_date_column_from_a_field_without_date_validation_is_refused(tmp_path):
    mapping = MAPPING.read_text().replace("screened_on: {field: scr_date}", "screened_on: {field: out_not_infused, "
                                          "event: follow_up_arm_1}")
    with pytest.raises(RedcapImportError, match="this field is notes; the cut column needs a text field validated "
                       "as a date"):
        _import(tmp_path, mapping=mapping.encode())
    assert list(tmp_path.iterdir()) == []
