"""Day 0 is the infusion: whole calendar days since the infusion date."""
from __future__ import annotations

import pandas as pd

__all__ = ["add_days_since_infusion"]


def add_days_since_infusion(table: pd.DataFrame, infusions: pd.DataFrame, date_column: str) -> pd.DataFrame:
    """Add ``days_since_infusion``: calendar days from the infusion date, infusion day = 0.

    Parameters
    ----------
    table : DataFrame
        Must hold ``subject_id`` and ``date_column`` (date or date-time).
    infusions : DataFrame
        ``subject_id``, ``infused_on`` (one row per treated subject).
    date_column : str
        The column whose calendar date is compared with the infusion date; the time of day
        is ignored (a value at 23:59 on the infusion day is day 0).

    Returns
    -------
    DataFrame
        A copy of ``table`` with ``days_since_infusion`` (Int64; missing for subjects not
        infused). Negative values are before the infusion.

    Examples
    --------
    >>> inf = pd.DataFrame({"subject_id": ["A"], "infused_on": pd.to_datetime(["2020-08-01"])})
    >>> t = pd.DataFrame({"subject_id": ["A", "A", "B"],
    ...                   "measured_at": pd.to_datetime(["2020-07-31 23:00", "2020-08-03 01:00", "2020-08-02 00:00"])})
    >>> add_days_since_infusion(t, inf, "measured_at")["days_since_infusion"].tolist()
    [-1, 2, <NA>]
    """
    # A join, not Series.map: pandas' map fails on an empty mapping of dates (a cut in which
    # nobody has been infused yet).
    day0 = table[["subject_id"]].merge(infusions[["subject_id", "infused_on"]], on="subject_id",
                                       how="left")["infused_on"].set_axis(table.index)
    days = (table[date_column].dt.normalize() - day0.astype(table[date_column].dtype)).dt.days
    return table.assign(days_since_infusion=days.astype("Int64"))
