"""The SYNTHETIC trial as a REDCap project would export it: a data dictionary and raw records.

The shipped example ``data/redcap/`` (data dictionary, records export) is written from the
same simulated trial as the demo cuts, as a REDCap project of this trial's CRF would hold it on
the final cutoff date (2020-12-30): three events (screening, treatment, follow-up), seven
repeating instruments in the follow-up event, dates entered day first (``date_dmy``, as at the
site) and exported year first, as REDCap's API and default export write them. Command line:
``python -m msc_analysis.synthetic redcap --out data/redcap``.
"""
from __future__ import annotations

import pandas as pd

from ..io.spec import TABLES, table_columns
from .write import _as_text

__all__ = ["DICTIONARY_FIELDS", "EVENTS", "data_dictionary_csv", "records_csv"]

EVENTS = ("screening_arm_1", "treatment_arm_1", "follow_up_arm_1")
_YN = "yesno"
#: The CRF: (field, form, type, label, choices, validation, min, max, identifier, branching).
DICTIONARY_FIELDS = (
    ("record_id", "screening_and_eligibility", "text", "Record ID (the subject code, e.g. HCPA-001)", "", "", "", "", "", ""),
    ("mrn", "screening_and_eligibility", "text", "Medical record number (prontuario)", "", "", "", "", "y", ""),
    ("scr_date", "screening_and_eligibility", "text", "Date of the screening visit", "", "date_dmy", "", "", "", ""),
    ("adm_date", "screening_and_eligibility", "text", "Date of the hospital admission", "", "date_dmy", "", "", "", ""),
    ("pcr_confirmed", "screening_and_eligibility", _YN, "Inclusion 1: COVID-19 confirmed by RT-PCR", "", "", "", "", "", ""),
    ("consent", "screening_and_eligibility", _YN, "Inclusion 2: informed consent signed", "", "", "", "", "", ""),
    ("exclusion", "screening_and_eligibility", "checkbox", "Exclusion criteria present (tick all that apply)",
     "1, Pregnant, planning pregnancy or breastfeeding | 2, HIV, syphilis or another blood-borne infection",
     "", "", "", "", ""),
    ("enrolled", "screening_and_eligibility", _YN, "Enrolled in the study", "", "", "", "", "", ""),
    ("enrol_date", "screening_and_eligibility", "text", "Date of enrollment", "", "date_dmy", "", "", "",
     "[enrolled] = '1'"),
    ("arm", "screening_and_eligibility", "dropdown", "Treatment arm", "1, MSC 1x10^6 cells/kg", "", "", "", "",
     "[enrolled] = '1'"),
    ("age", "demographics", "text", "Age (completed years)", "", "integer", "0", "120", "", ""),
    ("sex", "demographics", "radio", "Sex", "1, Female | 2, Male", "", "", "", "", ""),
    ("weight", "demographics", "text", "Body weight (kg)", "", "number", "0.5", "300", "", ""),
    ("inf_date", "infusion", "text", "Date of the MSC infusion (day 0)", "", "date_dmy", "", "", "", ""),
    ("inf_cells", "infusion", "text", "Viable MSCs infused (total cells, e.g. 72000000)", "", "number", "1", "", "", ""),
    ("inf_weight", "infusion", "text", "Body weight used to calculate the dose (kg)", "", "number", "0.5", "300", "", ""),
    ("vs_datetime", "vital_signs", "text", "Date and time of the assessment", "", "datetime_dmy", "", "", "", ""),
    ("vs_resp_rate", "vital_signs", "text", "Respiratory rate (breaths/min)", "", "number", "1", "80", "", ""),
    ("vs_spo2", "vital_signs", "text", "SpO2 (%)", "", "number", "30", "100", "", ""),
    ("vs_oxygen", "vital_signs", _YN, "On supplemental oxygen", "", "", "", "", "", ""),
    ("vs_temp", "vital_signs", "text", "Temperature (degrees C)", "", "number", "25", "45", "", ""),
    ("vs_sbp", "vital_signs", "text", "Systolic blood pressure (mmHg)", "", "number", "30", "300", "", ""),
    ("vs_hr", "vital_signs", "text", "Heart rate (beats/min)", "", "number", "10", "300", "", ""),
    ("vs_acvpu", "vital_signs", "radio", "Consciousness (ACVPU)",
     "1, Alert | 2, New confusion | 3, Responds to voice | 4, Responds to pain | 5, Unresponsive", "", "", "", "", ""),
    ("lab_datetime", "labs", "text", "Date and time the sample was collected", "", "datetime_dmy", "", "", "", ""),
    ("lab_test", "labs", "dropdown", "Test", "1, CRP (C-reactive protein) | 2, D-dimer", "", "", "", "", ""),
    ("lab_value", "labs", "text", "Result", "", "number", "0", "", "", ""),
    ("lab_unit", "labs", "dropdown", "Unit of the result", "1, mg/dL | 2, mg/L | 3, ng/mL FEU", "", "", "", "", ""),
    ("bg_datetime", "blood_gases", "text", "Date and time of the arterial blood gas", "", "datetime_dmy", "", "", "", ""),
    ("bg_pao2", "blood_gases", "text", "PaO2 (mmHg)", "", "number", "20", "700", "", ""),
    ("bg_fio2", "blood_gases", "text", "FiO2 (fraction, 0.21-1.0)", "", "number", "0.21", "1", "", ""),
    ("pcr_date", "rt_pcr", "text", "Date the swab was collected", "", "date_dmy", "", "", "", ""),
    ("pcr_result", "rt_pcr", "radio", "SARS-CoV-2 RT-PCR result", "1, Positive | 2, Negative | 3, Inconclusive",
     "", "", "", "", ""),
    ("ct_date", "chest_ct", "text", "Date of the chest CT", "", "date_dmy", "", "", "", ""),
    ("ct_score", "chest_ct", "text", "CT severity score (0-25)", "", "integer", "0", "25", "", ""),
    ("ct_impression", "chest_ct", "radio", "Impression compared with the previous scan",
     "1, Improved | 2, Stable | 3, Worsened", "", "", "", "", ""),
    ("ae_term", "adverse_events", "text", "Adverse event term (CTCAE v5.0)", "", "", "", "", "", ""),
    ("ae_onset", "adverse_events", "text", "Date of onset", "", "date_dmy", "", "", "", ""),
    ("ae_resolved", "adverse_events", "text", "Date of resolution (empty if ongoing)", "", "date_dmy", "", "", "", ""),
    ("ae_grade", "adverse_events", "text", "CTCAE v5.0 grade (1-5)", "", "integer", "1", "5", "", ""),
    ("ae_serious", "adverse_events", _YN, "Serious adverse event", "", "", "", "", "", ""),
    ("ae_related", "adverse_events", "radio", "Relationship to the MSC infusion",
     "1, Unrelated | 2, Unlikely | 3, Possible | 4, Probable | 5, Definite", "", "", "", "", ""),
    ("ae_infusion", "adverse_events", _YN, "Infusion reaction", "", "", "", "", "", ""),
    ("out_discharge", "outcome", "text", "Date of discharge alive", "", "date_dmy", "", "", "", ""),
    ("out_death", "outcome", "text", "Date of death", "", "date_dmy", "", "", "", ""),
    ("out_last_alive", "outcome", "text", "Last date known alive", "", "date_dmy", "", "", "", ""),
    ("out_not_infused", "outcome", "notes", "Why an enrolled subject was not infused", "", "", "", "", "",
     "[screening_arm_1][enrolled] = '1'"),
)
_HEADER = ("Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
           "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
           "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
           "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
           "Matrix Ranking?", "Field Annotation")
_REPEATING = {"vitals": "vital_signs", "labs": "labs", "blood_gases": "blood_gases", "pcr": "rt_pcr",
              "imaging": "chest_ct", "adverse_events": "adverse_events"}
#: cut column -> REDCap field, per table (subject_id is the record id).
_FIELDS = {
    "subjects": {"arm": "arm", "age_years": "age", "sex": "sex", "weight_kg": "weight", "screened_on": "scr_date",
                 "rt_pcr_confirmed": "pcr_confirmed", "consent_signed": "consent",
                 "pregnant_or_breastfeeding": "exclusion___1", "hiv_or_syphilis": "exclusion___2",
                 "enrolled": "enrolled", "enrolled_on": "enrol_date", "admitted_on": "adm_date",
                 "discharged_on": "out_discharge", "died_on": "out_death", "last_known_alive_on": "out_last_alive",
                 "not_infused_reason": "out_not_infused"},
    "infusions": {"infused_on": "inf_date", "cells_infused": "inf_cells", "weight_kg": "inf_weight"},
    "vitals": {"measured_at": "vs_datetime", "resp_rate_per_min": "vs_resp_rate", "spo2_pct": "vs_spo2",
               "on_oxygen": "vs_oxygen", "temp_c": "vs_temp", "sbp_mmhg": "vs_sbp", "heart_rate_bpm": "vs_hr",
               "consciousness": "vs_acvpu"},
    "labs": {"collected_at": "lab_datetime", "test": "lab_test", "value": "lab_value", "unit": "lab_unit"},
    "blood_gases": {"collected_at": "bg_datetime", "pao2_mmhg": "bg_pao2", "fio2": "bg_fio2"},
    "pcr": {"collected_on": "pcr_date", "result": "pcr_result"},
    "imaging": {"performed_on": "ct_date", "severity_score": "ct_score", "impression": "ct_impression"},
    "adverse_events": {"term": "ae_term", "onset_on": "ae_onset", "resolved_on": "ae_resolved", "grade": "ae_grade",
                       "serious": "ae_serious", "related": "ae_related", "infusion_related": "ae_infusion"},
}
#: Cut values -> REDCap codes of the choice fields.
_CODES = {"arm": {"MSC 1x10^6 cells/kg": "1"}, "sex": {"F": "1", "M": "2"},
          "vs_acvpu": {v: str(i) for i, v in enumerate("ACVPU", 1)},
          "lab_test": {"CRP": "1", "D-DIMER": "2"}, "lab_unit": {"mg/dL": "1", "mg/L": "2", "ng/mL FEU": "3"},
          "pcr_result": {"positive": "1", "negative": "2", "inconclusive": "3"},
          "ct_impression": {"improved": "1", "stable": "2", "worsened": "3"},
          "ae_related": {v: str(i) for i, v in enumerate(("unrelated", "unlikely", "possible", "probable", "definite"), 1)}}


def data_dictionary_csv() -> str:
    """The project's data dictionary as REDCap exports it (CSV text)."""
    rows = [(f, form, "", kind, label, choices, "", valid, lo, hi, ident, branch, "", "", "", "", "", "")
            for f, form, kind, label, choices, valid, lo, hi, ident, branch in DICTIONARY_FIELDS]
    return pd.DataFrame(rows, columns=_HEADER).to_csv(index=False, lineterminator="\n")


def records_csv(tables: dict[str, pd.DataFrame]) -> str:
    """The raw, flat records export (CSV text) of the cut ``tables`` (typed, as :func:`cut_at` gives).

    One row per record and event, and one per instance of a repeating instrument; values
    in REDCap's raw form (codes for choices, 1/0 for yes/no and checkboxes, dates YYYY-MM-DD).
    """
    text = {t: pd.DataFrame({s.column: _as_text(tables[t][s.column], s.type) for s in table_columns(t)
                             if s.column in tables[t]}) for t in TABLES}
    order = {sid: i for i, sid in enumerate(text["subjects"]["subject_id"])}
    parts = [_rows(text["subjects"], "subjects", "screening_arm_1", 0,
                   ("screening_and_eligibility", "demographics"), ("discharged_on", "died_on",
                                                                  "last_known_alive_on", "not_infused_reason")),
             _rows(text["infusions"], "infusions", "treatment_arm_1", 1, ("infusion",)),
             _rows(text["subjects"], "subjects", "follow_up_arm_1", 2, ("outcome",),
                   keep=("discharged_on", "died_on", "last_known_alive_on", "not_infused_reason"))]
    for k, (table, form) in enumerate(_REPEATING.items()):
        part = _rows(text[table], table, "follow_up_arm_1", 3 + k, (form,))
        part["redcap_repeat_instrument"] = form
        part["redcap_repeat_instance"] = (part.groupby("record_id").cumcount() + 1).astype(str)
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    n = len(text["subjects"])
    rows.loc[rows["redcap_event_name"] == "screening_arm_1", "mrn"] = [
        str(1_000_000 + (i * 7_919) % 8_999_999) for i in range(n)]  # an invented medical record number
    rows["_order"] = rows["record_id"].map(order)
    rows = rows.sort_values(["_order", "_block"], kind="stable")
    columns = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    form = None
    for f, f_form, kind, _, choices, *_ in DICTIONARY_FIELDS[1:]:
        if f_form != form and form is not None:
            columns.append(f"{form}_complete")
        form = f_form
        columns += ([f"{f}___{c.split(',')[0].strip()}" for c in choices.split("|")] if kind == "checkbox" else [f])
    columns.append(f"{form}_complete")
    return rows.reindex(columns=columns).fillna("").to_csv(index=False, lineterminator="\n")


def _rows(frame: pd.DataFrame, table: str, event: str, block: int, forms: tuple, drop: tuple = (),
          keep: tuple | None = None) -> pd.DataFrame:
    fields = {c: f for c, f in _FIELDS[table].items() if c not in drop and (keep is None or c in keep)}
    out = pd.DataFrame({"record_id": frame["subject_id"], "redcap_event_name": event,
                        "redcap_repeat_instrument": "", "redcap_repeat_instance": "", "_block": block})
    for column, field in fields.items():
        values = frame[column]
        base = field.split("___")[0]
        kind, valid = next((k, v) for f, _, k, _, _, v, *_ in DICTIONARY_FIELDS if f == base)
        if kind in (_YN, "checkbox"):
            values = values.map({"yes": "1", "no": "0", "": ""})
        elif base in _CODES:
            values = values.map({**_CODES[base], "": ""})
        elif valid.startswith("datetime"):
            values = values.str.replace("T", " ", regex=False)
        if values.isna().any():
            raise ValueError(f"{table}.{column}: a value with no REDCap code")
        out[field] = values.to_numpy()
    for form in forms:
        out[f"{form}_complete"] = "2"
    return out
