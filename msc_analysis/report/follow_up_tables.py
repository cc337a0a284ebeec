"""Follow-up tables shared by the pages, as text cells for :meth:`~.page.Page.table`.

Numbers come from :mod:`msc_analysis.derive.follow_up`; here they only become text (formats of
:mod:`.formats`). Rules in words: ``docs/endpoints/00_overview.md``.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["DAY_STATE_ROWS", "day_state_cells", "follow_up_cells", "follow_up_listing", "days_range"]

#: Rows of :func:`day_state_cells`: label -> column of ``derive.follow_up.day_state_counts``.
DAY_STATE_ROWS = {
    "Evaluable by calendar (infused at least that many days before the cutoff)": "n_evaluable_by_calendar",
    "Died on or before the day": "n_died",
    "Alive and followed to the day (or died after it)": "n_followed",
    "Lost to follow-up (the day has passed, not followed to it)": "n_lost_to_follow_up",
    "Day not yet reached at the cutoff": "n_not_yet_reached",
}


def day_state_cells(counts: pd.DataFrame) -> pd.DataFrame:
    """The state of the treated subjects at each day (``derive.follow_up.day_state_counts``): one row
    per count, one column per day. The last four rows add up to the treated subjects on every day;
    the first counts the subjects a day-H headline uses.

    >>> c = pd.DataFrame({"day": [28, 60], "n_subjects": [4, 4], "n_evaluable_by_calendar": [4, 3],
    ...     "n_died": [1, 1], "n_followed": [3, 1], "n_lost_to_follow_up": [0, 1], "n_not_yet_reached": [0, 1]})
    >>> day_state_cells(c).iloc[[0, 4]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['Evaluable by calendar (infused at least that many days before the cutoff)', '4', '3'],
     ['Day not yet reached at the cutoff', '0', '1']]
    """
    out = pd.DataFrame({"": list(DAY_STATE_ROWS)})
    for _, r in counts.iterrows():
        out[f"Day {formats.days(r['day'])}"] = [formats.count(r[column]) for column in DAY_STATE_ROWS.values()]
    return out


def days_range(median, low, high) -> str:
    """``median (low to high)`` in days; the median alone when the range is one day, a dash when missing.

    >>> days_range(11.0, 3.0, 30.0), days_range(4.0, 4.0, 4.0)
    ('11 (3 to 30)', '4')
    """
    if formats.is_missing(median):
        return formats.DASH
    if low == high:
        return formats.days(median)
    return f"{formats.days(median)} ({formats.days(low)} to {formats.days(high)})"


def follow_up_cells(summary: pd.DataFrame, n: int) -> pd.DataFrame:
    """Follow-up states (:func:`~msc_analysis.endpoints.overall_survival.follow_up_summary`) as
    cells: Follow-up, Subjects (n (%) of ``n``), Day of death or last known alive, median (range)."""
    return pd.DataFrame({
        "Follow-up": summary["follow_up"].astype(str).map(lambda s: s[:1].upper() + s[1:]),
        "Subjects": [formats.count_pct(k, n) for k in summary["n_subjects"]],
        "Day of death or last known alive, median (range)": [
            days_range(m, lo, hi) for m, lo, hi in
            zip(summary["median_time_days"], summary["min_time_days"], summary["max_time_days"])]})


def follow_up_listing(follow: pd.DataFrame) -> pd.DataFrame:
    """The subjects of ``follow`` (``follow_up_to_day`` of overall survival or ``follow_up_to_horizon``
    of RT-PCR negativity) lost to follow-up or not yet followed to the end of the window, one row
    each, by subject: Subject, Follow-up window closes on, Follow-up (the ``detail``).

    >>> f = pd.DataFrame({"subject_id": ["B", "A"], "window_closes_on": pd.to_datetime(["2020-12-27", "2020-11-01"]),
    ...     "follow_up": ["lost to follow-up before day 60", "alive, followed to day 60"],
    ...     "detail": ["lost to follow-up (last known alive day 25)", "last known alive day 60"]})
    >>> follow_up_listing(f).values.tolist()
    [['B', '2020-12-27', 'lost to follow-up (last known alive day 25)']]
    """
    state = follow["follow_up"].astype(str)
    shown = follow[state.str.startswith("lost to follow-up") | state.str.startswith("not yet followed")]
    shown = shown.sort_values("subject_id")
    return pd.DataFrame({"Subject": shown["subject_id"].astype(str),
                         "Follow-up window closes on": pd.to_datetime(shown["window_closes_on"]).dt.strftime("%Y-%m-%d"),
                         "Follow-up": shown["detail"].astype(str)}).reset_index(drop=True)
