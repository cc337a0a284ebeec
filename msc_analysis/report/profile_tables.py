"""Tables and words of the patient-profile page (11): who is profiled, each subject's summary and listing.

Cells are written here with :mod:`.formats`; the page shows them through
:meth:`~msc_analysis.report.page.Page.table` (the listing with ``listing=True``: never cut short).
"""
from __future__ import annotations

import math

import pandas as pd

from . import formats

__all__ = ["selection_notes", "selection_table", "summary_table", "records_listing", "events_listing", "daily_table",
           "outcome_text", "subject_line", "VITALS_MERGED_NOTE", "EVENTS_NOTE", "DAILY_NOTE", "CODES_NAMED"]

_MILLION = 1e6
#: Footnote of the listing: how the vital signs of one assessment are shown.
VITALS_MERGED_NOTE = ("Vital signs: the Liao (NEWS-C) total and colour level of the assessment, and its SpO2 with "
                      "oxygen or room air, on one row. Time: hours:minutes of the record; a dash where only the "
                      "date is recorded (such a record is placed at the start of its day).")

#: Footnote of the events listing under a profile.
EVENTS_NOTE = ("Every record of the subject that is not a repeated measure: admission, infusion, RT-PCR, CT, adverse "
               "events, discharge and death. Day: days since the infusion (day 0).")
#: Footnote of the daily course under a profile.
DAILY_NOTE = ("One row per day with a vital sign, CRP or blood gas: the worst value of the day (highest Liao score and "
              "worst colour level, lowest SpO2 with the oxygen of that reading, highest CRP, lowest PaO2/FiO2) "
              "and the number of vital-sign assessments (Assessments). Every measurement is drawn in the figure "
              "above and listed, with its time, in the listing of every record at the end of the page. Day: days "
              "since the infusion (day 0); a dash: not measured that day.")
#: Most codes a sentence names; beyond it the sentence counts them and points to the table of the selection.
CODES_NAMED = 40


def _codes(codes) -> str:
    codes = [str(c) for c in codes]
    return ", ".join(codes[:-1]) + " and " + codes[-1] if len(codes) > 1 else "".join(codes)


def selection_notes(selection: pd.DataFrame, which, max_subjects: int) -> list[str]:
    """Sentences for the reader: who is profiled and, plainly, every code not profiled and why.

    ``selection`` is :func:`~msc_analysis.endpoints.patient_profile.select_subjects`.

    >>> sel = pd.DataFrame({"subject_id": ["A", "X"], "in_cut": [True, False], "treated": [True, False],
    ...                     "profiled": [True, False], "reason": ["asked for", "not in this cut"]})
    >>> selection_notes(sel, ["A", "X"], 40)
    ['Profiled: 1 subject (the codes given in the parameter subjects).', 'Unknown subject code: X (not in this cut; check the spelling, e.g. A).']
    """
    shown = int(selection["profiled"].sum())
    if isinstance(which, str) and which == "default":
        whom = "every treated subject who died or had a serious adverse event by the cutoff"
    elif isinstance(which, str) and which == "all":
        whom = "every treated subject"
    else:
        whom = "the codes given in the parameter subjects"
    notes = [f"Profiled: {shown} subject{'s' if shown != 1 else ''} ({whom})."]
    unknown = selection.loc[~selection["in_cut"], "subject_id"].tolist()
    if unknown:
        example = ("codes as written in subjects.csv" if not selection["in_cut"].any()
                   else f"e.g. {selection.loc[selection['in_cut'], 'subject_id'].iloc[0]}")
        notes.append(f"Unknown subject code{'s' if len(unknown) > 1 else ''}: {_codes(unknown)} "
                     f"(not in this cut; check the spelling, {example}).")
    never = selection.loc[selection["in_cut"] & ~selection["treated"], "subject_id"].tolist()
    if never:
        notes.append(f"Not infused, so not profiled (day 0 is the infusion; there is no time axis): {_codes(never)}.")
    left = selection.loc[selection["treated"] & ~selection["profiled"], "subject_id"].tolist()
    if left:
        named = (f": {_codes(left)}" if len(left) <= CODES_NAMED else
                 ", each named, with why, in the table of the subjects selected for a profile below")
        notes.append(f"{len(left)} more subject{'s' if len(left) > 1 else ''} selected but not profiled, to keep "
                     f"the page short (at most {int(max_subjects)}){named}. To see them, give their codes in "
                     "the parameter subjects, or raise max_subjects.")
    return notes


def selection_table(selection: pd.DataFrame) -> pd.DataFrame:
    """Subject | Died | Serious adverse event | Profiled | Why: one row per subject selected or code asked for."""
    yes_no = {True: "yes", False: "no"}
    return pd.DataFrame({
        "Subject": selection["subject_id"].astype(str),
        "Died": [yes_no[bool(v)] if k else formats.DASH for v, k in zip(selection["died"], selection["in_cut"])],
        "Serious adverse event": [yes_no[bool(v)] if k else formats.DASH
                                  for v, k in zip(selection["had_sae"], selection["in_cut"])],
        "Profiled": [yes_no[bool(v)] for v in selection["profiled"]],
        "Why": selection["reason"].astype(str),
    })


def outcome_text(row) -> str:
    """The outcome of one summary row in words, e.g. "died on day 26 (cause not recorded)".

    >>> outcome_text({"death_day": 26.0, "death_cause": None, "discharge_day": float("nan"), "status_text": "died"})
    'died on day 26 (cause not recorded)'
    >>> outcome_text({"death_day": float("nan"), "death_cause": None, "discharge_day": 17.0,
    ...               "status_text": "alive, day-60 follow-up complete"})
    'discharged alive on day 17; alive, day-60 follow-up complete'
    """
    if not formats.is_missing(row["death_day"]):
        cause = row["death_cause"] if not formats.is_missing(row["death_cause"]) else "cause not recorded"
        text = f"died on day {formats.days(row['death_day'])} ({cause})"
        if not formats.is_missing(row["discharge_day"]):
            text = f"discharged alive on day {formats.days(row['discharge_day'])}; " + text
        return text
    stay = ("discharged alive on day " + formats.days(row["discharge_day"])
            if not formats.is_missing(row["discharge_day"]) else "in hospital at the last record")
    return f"{stay}; {row['status_text']}"


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per subject of :func:`~msc_analysis.endpoints.patient_profile.subject_summaries`, in words."""
    return pd.DataFrame({
        "Subject": summary["subject_id"].astype(str),
        "Age (years)": [formats.count(v) for v in summary["age_years"]],
        "Sex": summary["sex"].map({"F": "female", "M": "male"}).fillna(formats.DASH),
        "Liao level at screening": summary["liao_level_at_screening"].fillna(formats.DASH).astype(str),
        "Dose (10^6 cells/kg)": [formats.number(v / _MILLION, 2) if not formats.is_missing(v) else formats.DASH
                                 for v in summary["dose_cells_per_kg"]],
        "Infused on": [str(pd.Timestamp(v).date()) for v in summary["infused_on"]],
        "Admitted (day)": [formats.days(v) if not formats.is_missing(v) else formats.DASH
                           for v in summary["admission_day"]],
        "Outcome at the cutoff": [outcome_text(r) for r in summary.to_dict("records")],
        "Adverse events (serious)": [f"{int(a)} ({int(s)})" for a, s in zip(summary["n_aes"], summary["n_saes"])],
    })


def _time(t: float, dated_only: bool) -> str:
    if dated_only:
        return formats.DASH
    minutes = int(round((t - math.floor(t)) * 24 * 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}" if minutes < 24 * 60 else "24:00"


_DATED_ONLY = {"Admission", "Infusion", "RT-PCR", "CT score", "Adverse event", "Discharge", "Death"}


def _result(r) -> str:
    kind, value, unit, level, detail = r["record"], r["value"], r["unit"], r["level"], r["detail"]
    missing = formats.is_missing
    if kind == "Adverse event":
        end = ("ongoing at the last record" if missing(r["end_days"])
               else f"resolved day {formats.days(math.floor(r['end_days']))}")
        return f"{detail}: grade {formats.count(value)}, {level}, {end}"
    if kind == "Death":
        return f"cause: {detail}" if not missing(detail) else "cause not recorded"
    if kind in ("Admission", "Infusion", "Discharge"):
        return formats.DASH
    if kind == "RT-PCR":
        return str(level) if not missing(level) else formats.DASH
    decimals = {"CRP": 1, "PaO2/FiO2": 0, "SpO2": 0, "Liao score": 0, "CT score": 0}[kind]
    text = formats.number(value, decimals) + ("" if unit == "points" else f" {unit}")
    extra = [str(x) for x in (level, detail) if not missing(x)]
    return text + (f" ({', '.join(extra)})" if extra else "")


def records_listing(records: pd.DataFrame, *, subject: bool = False) -> pd.DataFrame:
    """Day | Time | Record | Result: every record, in time order (one row per record).

    ``records`` are rows of :func:`~msc_analysis.endpoints.patient_profile.profile_records`. The
    Liao score and the SpO2 of one vital-sign assessment share a row ("Vital signs"). With
    ``subject``, a first column Subject (for the records of several subjects).
    """
    rows = []
    records = records.sort_values("subject_id", kind="stable", key=lambda c: pd.Series(pd.factorize(c)[0], c.index))
    who = records["subject_id"].astype(str).tolist()
    for k, r in enumerate(records.to_dict("records")):
        t = r["time_days"]
        day = formats.count(math.floor(t))
        time = _time(t, r["record"] in _DATED_ONLY)
        result = _result(r)
        if (r["record"] == "SpO2" and rows and rows[-1][4] == t and rows[-1][2] == "Vital signs"
                and rows[-1][5] == who[k]):
            rows[-1][3] += "; SpO2 " + result
            continue
        if r["record"] == "Liao score":
            rows.append([day, time, "Vital signs", "Liao score " + result, t, who[k]])
        elif r["record"] == "SpO2":
            rows.append([day, time, "Vital signs", "SpO2 " + result, t, who[k]])
        else:
            rows.append([day, time, r["record"], result, t, who[k]])
    frame = pd.DataFrame(rows, columns=["Day", "Time", "Record", "Result", "_t", "Subject"]).drop(columns="_t")
    return frame[["Subject", "Day", "Time", "Record", "Result"]] if subject else frame.drop(columns="Subject")


def events_listing(records: pd.DataFrame, repeated: tuple[str, ...]) -> pd.DataFrame:
    """Day | Record | Result: every record of one subject except the repeated measures (see :data:`EVENTS_NOTE`).

    ``repeated`` names the records that are repeated measures (the endpoint's
    ``patient_profile.REPEATED_MEASURES``; the report layer knows no endpoint). These records carry a
    date only, so the listing has no column of times.
    """
    return records_listing(records[~records["record"].isin(list(repeated))]).drop(columns="Time")


def daily_table(daily: pd.DataFrame) -> pd.DataFrame:
    """The worst values of each day in words, from :func:`~msc_analysis.endpoints.patient_profile.daily_worst`.

    >>> d = pd.DataFrame({"day": [0], "n_assessments": [2], "liao_max": [7.0], "liao_level_worst": ["red"],
    ...                   "n_incomplete": [1], "spo2_min_pct": [90.0], "spo2_min_on_oxygen": [True],
    ...                   "crp_max_mg_dl": [float("nan")], "pf_min_mmhg": [180.4]})
    >>> daily_table(d).iloc[0].tolist()
    ['0', '2', '7 (red; 1 incomplete)', '90 (on oxygen)', '–', '180']
    """
    def liao(score, level, incomplete):
        if formats.is_missing(score):
            return formats.DASH
        extra = [str(level)] if not formats.is_missing(level) else []
        extra += [f"{int(incomplete)} incomplete"] if incomplete else []
        return formats.number(score, 0) + (f" ({'; '.join(extra)})" if extra else "")

    def spo2(value, oxygen):
        if formats.is_missing(value):
            return formats.DASH
        return formats.number(value, 0) + ("" if formats.is_missing(oxygen) else
                                           " (on oxygen)" if oxygen else " (room air)")

    def value(v, decimals):
        return formats.DASH if formats.is_missing(v) else formats.number(v, decimals)

    return pd.DataFrame({
        "Day": [formats.count(d) for d in daily["day"]],
        "Assessments": [formats.count(n) for n in daily["n_assessments"]],
        "Liao score, highest (worst level)": [liao(*a) for a in zip(daily["liao_max"], daily["liao_level_worst"],
                                                                    daily["n_incomplete"])],
        "SpO2 %, lowest": [spo2(*a) for a in zip(daily["spo2_min_pct"], daily["spo2_min_on_oxygen"])],
        "CRP mg/dL, highest": [value(v, 1) for v in daily["crp_max_mg_dl"]],
        "PaO2/FiO2 mmHg, lowest": [value(v, 0) for v in daily["pf_min_mmhg"]],
    })


def subject_line(row) -> str:
    """One line about a subject of the summary, e.g. "72 years, male; dose 0.92 x 10^6 cells/kg; died on day 26 ...".

    >>> subject_line({"age_years": 72, "sex": "M", "dose_cells_per_kg": 9.2e5, "death_day": 26.0,
    ...               "death_cause": "sepsis", "discharge_day": float("nan"), "status_text": "died (day 26)"})
    '72 years, male; dose 0.92 x 10^6 cells/kg; died on day 26 (sepsis)'
    """
    sex = {"F": "female", "M": "male"}.get(row["sex"], "sex not recorded")
    dose = ("dose not recorded" if formats.is_missing(row["dose_cells_per_kg"])
            else f"dose {formats.number(row['dose_cells_per_kg'] / _MILLION, 2)} x 10^6 cells/kg")
    return f"{formats.count(row['age_years'])} years, {sex}; {dose}; {outcome_text(row)}"
