"""Follow-up tables shared by the pages, as text cells for :meth:`~.page.Page.table`.

Numbers come from :mod:`msc_analysis.derive.follow_up`; here they only become text (formats of
:mod:`.formats`). Rules in words: ``docs/endpoints/00_overview.md``.
"""
from __future__ import annotations

import pandas as pd

from . import formats

__all__ = ["DAY_STATE_ROWS", "day_state_cells"]

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
