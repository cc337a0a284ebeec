"""The tables of the ``10_changes`` page in words: records per table, changed values, new subjects and events.

Each function takes a frame of :func:`msc_analysis.endpoints.changes.compare_cuts` (this layer
knows no endpoint: it takes the frames) and returns text cells for
:meth:`~msc_analysis.report.page.Page.table`; every row is kept (the page shows listings in
full). :func:`previous_results` reads the previous cut's results and says plainly why they
cannot be compared when they cannot.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import formats
from .results import OldResultsError, read_results

__all__ = ["TABLE_WORDS", "record_counts_table", "changed_values_table", "new_subjects_table",
           "new_events_table", "previous_results"]

#: How each table of a cut reads on the page.
TABLE_WORDS = {"subjects": "Subjects", "vitals": "Vital signs", "labs": "Laboratory values",
               "pcr": "RT-PCR results", "blood_gases": "Blood gases", "imaging": "Chest imaging",
               "adverse_events": "Adverse events", "infusions": "Infusions"}


def _words(table: str) -> str:
    return TABLE_WORDS.get(str(table), str(table).replace("_", " ").capitalize())


def _date(value) -> str:
    if formats.is_missing(value):
        return formats.DASH
    value = pd.Timestamp(value)
    return str(value.date()) if value == value.normalize() else value.strftime("%Y-%m-%d %H:%M")


def _first_upper(value) -> str:
    text = str(value)
    return text[:1].upper() + text[1:]


def _day(value) -> str:
    return "not infused" if formats.is_missing(value) else formats.days(value)


def _text(value) -> str:
    return formats.DASH if formats.is_missing(value) or str(value) == "" else str(value)


def record_counts_table(counts: pd.DataFrame) -> pd.DataFrame:
    """``record_counts`` in words: table, records in the previous cut, in this cut, new, no longer present.

    >>> record_counts_table(pd.DataFrame({"table": ["pcr"], "records_before": [3], "records_after": [5],
    ...                                   "records_new": [2], "records_removed": [0]})).iloc[0].tolist()
    ['RT-PCR results', '3', '5', '2', '0']
    """
    return pd.DataFrame({
        "Table": [_words(t) for t in counts["table"]],
        "Records, previous cut": [formats.count(v) for v in counts["records_before"]],
        "Records, this cut": [formats.count(v) for v in counts["records_after"]],
        "New records": [formats.count(v) for v in counts["records_new"]],
        "Records no longer present": [formats.count(v) for v in counts["records_removed"]],
    })


def changed_values_table(values: pd.DataFrame) -> pd.DataFrame:
    """``changed_values`` in words, in its order (corrections first): kind, table, subject, record, field,
    value in the previous cut, in this cut, change."""
    return pd.DataFrame({
        "Kind": formats.each(values["kind"], _first_upper),
        "Table": formats.each(values["table"], _words),
        "Subject": values["subject_id"].astype(str),
        "Record": formats.each(values["record"], _text),
        "Field": values["field"].astype(str),
        "Previous cut": formats.each(values["value_before"], _text),
        "This cut": formats.each(values["value_after"], _text),
        "Change": values["change"].astype(str),
    })


def new_subjects_table(subjects: pd.DataFrame) -> pd.DataFrame:
    """``new_subjects`` in words: subject, screened on, enrolled, treated (yes / no)."""
    def yes(v):
        return formats.DASH if formats.is_missing(v) else ("yes" if bool(v) else "no")
    return pd.DataFrame({
        "Subject": subjects["subject_id"].astype(str),
        "Screened on": formats.each(subjects["screened_on"], _date),
        "Enrolled": formats.each(subjects["enrolled"], yes),
        "Treated": formats.each(subjects["treated"], yes),
    })


def new_events_table(events: pd.DataFrame, event: str | None = None) -> pd.DataFrame:
    """``new_events`` in words (only ``event`` when given): event, subject, date, day since infusion, detail.

    A subject never infused has no day since infusion ("not infused"). With ``event`` the
    Event column is left out, and so is Detail when no row has one (deaths).
    """
    rows = events if event is None else events[events["event"] == event]
    out = pd.DataFrame({
        "Event": formats.each(rows["event"], _first_upper),
        "Subject": rows["subject_id"].astype(str),
        "Date": formats.each(rows["date"], _date),
        "Day since infusion": formats.each(rows["days_since_infusion"], _day),
        "Detail": formats.each(rows["detail"], _text),
    }).reset_index(drop=True)
    if event is not None:
        out = out.drop(columns=["Event"] + (["Detail"] if (out["Detail"] == formats.DASH).all() else []))
    return out


def previous_results(results_dir, previous_cut_id: str | None) -> tuple[pd.DataFrame | None, str]:
    """The previous cut's results (schema v2) and "", or None and the reason they are not there.

    Parameters
    ----------
    results_dir : str or Path
        The previous cut's results folder ("" when none was given).
    previous_cut_id : str or None
        The previous cut (None: there is none).
    """
    if previous_cut_id is None:
        return None, "There is no previous cut: nothing to compare with."
    where = str(results_dir or "")
    if not where or not Path(where).is_dir():
        return None, (f"Not computed: the results of the previous cut {previous_cut_id} are not available "
                      "to this run, so the movement of the headline numbers cannot be shown.")
    try:
        frame = read_results(where)
    except OldResultsError:
        return None, (f"Not computed: the results of the previous cut {previous_cut_id} were written by an "
                      "older version of the kit (results schema v1); run that cut again to compare.")
    if frame.empty:
        return None, (f"Not computed: the previous cut {previous_cut_id} has no results files, so the "
                      "movement of the headline numbers cannot be shown.")
    return frame, ""
