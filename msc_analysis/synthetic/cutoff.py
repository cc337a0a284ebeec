"""What was known at a cutoff date, and entry errors that a later cut corrects.

A cut of the simulated trial keeps subjects screened on or before the cutoff, records dated
on or before it, and blanks outcomes that had not happened yet. Between two cuts of one trial
the only differences are then *follow-up updates* (:data:`FOLLOW_UP_UPDATES`) and the
*corrections* this module can inject.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ..io.spec import RECORD_DATES, RECORD_KEYS

__all__ = ["cut_at", "last_follow_up", "Correction", "with_entry_errors", "ROW_KEYS", "FOLLOW_UP_UPDATES"]

#: The date that makes a record known (the record belongs to cuts on or after it).
_KNOWN_FROM = RECORD_DATES
#: Columns that identify a row across cuts (unique within a table).
ROW_KEYS = RECORD_KEYS
#: Cells that may legitimately change from an earlier cut to a later one as follow-up
#: accrues: the outcome dates (blank until they happen), the last date known alive (grows),
#: and an adverse event's grade (4 until the death that makes it grade 5 is known).
FOLLOW_UP_UPDATES = {
    "subjects": ("discharged_on", "died_on", "last_known_alive_on"),
    "adverse_events": ("resolved_on", "grade"),
}


def cut_at(trial: dict[str, pd.DataFrame], cutoff_date: dt.date | str) -> dict[str, pd.DataFrame]:
    """The trial as known on ``cutoff_date``.

    Parameters
    ----------
    trial : dict of DataFrame
        Output of :func:`~msc_analysis.synthetic.trial.simulate_trial` (full follow-up).
    cutoff_date : date or ISO string
        Last day whose data are in the cut.

    Returns
    -------
    dict of DataFrame
        Same tables and columns, copies (``trial`` is not modified): subjects screened on or
        before the cutoff; records whose date (see ``_KNOWN_FROM``) is on or before it;
        ``discharged_on``, ``died_on`` and ``resolved_on`` after the cutoff blanked;
        ``last_known_alive_on`` capped at the cutoff (a vital-status sweep at each cut); a
        grade-5 adverse event whose death is after the cutoff shown as grade 4.
    """
    cutoff = pd.Timestamp(cutoff_date)
    before_next_day = cutoff + pd.Timedelta(days=1)
    out = {name: frame.loc[frame[_KNOWN_FROM[name]] < before_next_day].reset_index(drop=True)
           for name, frame in trial.items()}
    subjects = out["subjects"]
    for column in ("discharged_on", "died_on"):
        subjects[column] = subjects[column].where(subjects[column] <= cutoff)
    subjects["last_known_alive_on"] = subjects["last_known_alive_on"].clip(upper=cutoff)
    ae = out["adverse_events"]
    death_unknown = ~ae["subject_id"].isin(subjects.loc[subjects["died_on"].notna(), "subject_id"])
    ae["grade"] = ae["grade"].where(~((ae["grade"] == 5) & death_unknown), 4)
    ae["resolved_on"] = ae["resolved_on"].where(ae["resolved_on"] <= cutoff)
    return out


def last_follow_up(trial: dict[str, pd.DataFrame]) -> dt.date:
    """The latest date anywhere in ``trial`` (a cutoff after it shows every record)."""
    latest = [frame[c].max() for frame in trial.values() for c in frame.columns
              if pd.api.types.is_datetime64_any_dtype(frame[c]) and frame[c].notna().any()]
    return max(latest).date()


@dataclass(frozen=True)
class Correction:
    """One cell that was entered wrongly and corrected later.

    ``row`` is the index label of the row in the trial table; ``recorded`` is the wrong value
    that earlier cuts carry, ``corrected`` the true value, ``why`` the kind of entry error.
    """

    table: str
    row: int
    column: str
    recorded: object
    corrected: object
    why: str

    def describe(self, trial: dict[str, pd.DataFrame]) -> str:
        """One sentence naming the row by its key (for the cut description)."""
        key = trial[self.table].loc[self.row, list(ROW_KEYS[self.table])]
        where = ", ".join(f"{k} {_text(v)}" for k, v in key.items())
        return (f"{self.table}.{self.column} of the row with {where} corrected from {_text(self.recorded)} "
                f"to {_text(self.corrected)} ({self.why})")


def _text(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d" if value == value.normalize() else "%Y-%m-%dT%H:%M")
    return f"{value:g}" if isinstance(value, float) else str(value)


def with_entry_errors(trial: dict[str, pd.DataFrame], corrections: list[Correction]) -> dict[str, pd.DataFrame]:
    """A copy of ``trial`` in which each correction's cell holds the wrong (recorded) value."""
    out = dict(trial)
    for c in corrections:
        if out[c.table].at[c.row, c.column] != c.corrected:
            raise ValueError(f"{c.table}.{c.column} row {c.row} does not hold {c.corrected!r}")
        frame = out[c.table].copy()
        frame.loc[c.row, c.column] = c.recorded
        out[c.table] = frame
    return out
